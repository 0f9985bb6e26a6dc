//! The binary: exit codes, output files, partial runs.

use std::fs;
use std::process::Command;

fn kubesim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kubesim"))
}

#[test]
fn run_writes_the_three_files_and_exits_0() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("out");
    let o = kubesim()
        .args(["run", "scenarios/quickstart.yaml", "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    for f in ["events.csv", "timeseries.csv", "summary.json"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let events = fs::read_to_string(out.join("events.csv")).expect("events");
    assert!(events.starts_with("time_s,seq,kind,object,reason,message\n"));
    let series = fs::read_to_string(out.join("timeseries.csv")).expect("series");
    assert!(series.starts_with("time_s,metric,object,value\n"));
}

#[test]
fn trace_narrates_to_stderr() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = kubesim()
        .args([
            "run",
            "scenarios/quickstart.yaml",
            "--trace",
            "--duration",
            "1m",
            "--out",
        ])
        .arg(tmp.path())
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.lines().any(|l| l.starts_with("00:00:")
            && l.contains(" Pod default/shop-")
            && l.contains(" Scheduled Successfully assigned to general-")),
        "no narrated Scheduled line in:\n{err}"
    );
}

#[test]
fn max_events_gives_a_partial_summary() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = kubesim()
        .args([
            "run",
            "scenarios/quickstart.yaml",
            "--max-events",
            "200",
            "--out",
        ])
        .arg(tmp.path())
        .output()
        .expect("runs");
    let summary: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(tmp.path().join("summary.json")).expect("summary"),
    )
    .expect("json");
    assert_eq!(summary["partial"], true);
    assert_eq!(summary["events_processed"], 200);
    assert!(String::from_utf8_lossy(&o.stderr).contains("partial"));
}

#[test]
fn bad_input_exits_2_with_location() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let f = tmp.path().join("bad.yaml");
    fs::write(
        &f,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replcas: 3\n",
    )
    .expect("write");
    for cmd in ["run", "validate"] {
        let o = kubesim().arg(cmd).arg(&f).output().expect("runs");
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("bad.yaml:5:3"), "{cmd}: {err}");
        assert!(err.contains("replicas"), "{cmd}: no suggestion in {err}");
    }
    let o = kubesim()
        .args(["run", "--no-such-flag"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn failed_expectation_exits_1() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let text = fs::read_to_string("scenarios/quickstart.yaml")
        .expect("read")
        .replace("equals: 12", "equals: 13");
    let f = tmp.path().join("q.yaml");
    fs::write(&f, text).expect("write");
    let o = kubesim()
        .arg("run")
        .arg(&f)
        .arg("--out")
        .arg(tmp.path().join("o"))
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("FAILED"));
}

#[test]
fn validate_accepts_the_quickstart() {
    let o = kubesim()
        .args(["validate", "scenarios/quickstart.yaml"])
        .output()
        .expect("runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("ok"));
}

#[test]
fn check_mode_passes_on_the_quickstart_and_max_wall_cuts_a_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = kubesim()
        .args(["run", "scenarios/quickstart.yaml", "--check", "--out"])
        .arg(tmp.path().join("a"))
        .output()
        .expect("runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = kubesim()
        .args([
            "run",
            "scenarios/quickstart.yaml",
            "--max-wall",
            "1ns",
            "--out",
        ])
        .arg(tmp.path().join("b"))
        .output()
        .expect("runs");
    let summary: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(tmp.path().join("b/summary.json")).expect("summary"),
    )
    .expect("json");
    assert_eq!(summary["partial"], true);
    assert!(
        summary["partial_reason"]
            .as_str()
            .unwrap_or("")
            .contains("--max-wall")
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("partial"));
    let o = kubesim()
        .args(["run", "scenarios/quickstart.yaml", "--max-wall", "soon"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
}
