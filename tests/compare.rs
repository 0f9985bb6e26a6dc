//! `kubesim compare` thresholds and exit codes, and `kubesim report` redrawing a run.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn kubesim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kubesim"))
}

fn run(scenario: &Path, out: &Path) {
    let o = kubesim()
        .arg("run")
        .arg(scenario)
        .args(["--no-report", "--out"])
        .arg(out)
        .output()
        .expect("runs");
    assert!(
        o.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn compare(a: &Path, b: &Path, rules: &[&str]) -> Output {
    let mut c = kubesim();
    c.arg("compare").arg(a).arg(b);
    for r in rules {
        c.args(["--fail-if", r]);
    }
    c.output().expect("runs")
}

#[test]
fn compare_exit_codes_and_report_redraw() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    run(Path::new("scenarios/quickstart.yaml"), &a);
    // Candidate: one node fewer, so the scale-up leaves pods Pending.
    let text = fs::read_to_string("scenarios/quickstart.yaml")
        .expect("read")
        .replace("count: 3\n", "count: 2\n");
    let f = tmp.path().join("fewer.yaml");
    fs::write(&f, text).expect("write");
    run(&f, &b);

    let o = compare(&a, &a, &["pods.end.unscheduled > 0", "cost.total > +1%"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = compare(&a, &b, &["pods.end.unscheduled > 0"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("REGRESSION pods.end.unscheduled > 0"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("pods.end.unscheduled") && l.contains("n/a")),
        "{out}"
    );
    // Fewer nodes cost less: a cost threshold holds, a relative one on failed scheduling breaks.
    let o = compare(&a, &b, &["cost.total > +5%"]);
    assert_eq!(o.status.code(), Some(0));
    let o = compare(&a, &b, &["pods.failed_scheduling > +100%"]);
    assert_eq!(o.status.code(), Some(1));
    // Bad rules and unknown metrics are usage errors.
    let o = compare(&a, &b, &["pods.end.unscheduled >> 0"]);
    assert_eq!(o.status.code(), Some(2));
    let o = compare(&a, &b, &["pods.end.unschedule > 0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("did you mean"));
    let o = kubesim()
        .args(["compare"])
        .arg(&a)
        .arg(tmp.path())
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));

    // `kubesim report` redraws from the files alone.
    assert!(!a.join("report.html").exists());
    let o = kubesim().arg("report").arg(&a).output().expect("runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(a.join("report.html").is_file());
    assert!(a.join("plots/timeseries.svg").is_file() && a.join("plots/timeseries.png").is_file());
}
