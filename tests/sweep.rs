//! Sweeps through the binary: identical bytes for any --jobs, sharded + merged equals
//! unsharded, resume after a kill, bad input.

use std::fs;
use std::path::Path;
use std::process::Command;

const SWEEP: &str = "scenarios/sweeps/quickstart-capacity.yaml";
const FILES: [&str; 3] = ["sweep.json", "results.csv", "aggregate.csv"];

fn kubesim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kubesim"))
}

fn sweep(out: &Path, extra: &[&str]) -> std::process::Output {
    let o = kubesim()
        .args(["sweep", SWEEP, "--no-report", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .expect("runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn same_files(a: &Path, b: &Path) {
    for f in FILES {
        let x = fs::read(a.join(f)).expect("read a");
        let y = fs::read(b.join(f)).expect("read b");
        assert!(
            x == y,
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn jobs_shards_merge_and_resume_give_identical_bytes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let one = tmp.path().join("one");
    let two = tmp.path().join("two");
    sweep(&one, &["--jobs", "1"]);
    sweep(&two, &["--jobs", "2"]);
    same_files(&one, &two);

    let results = fs::read_to_string(one.join("results.csv")).expect("results");
    assert_eq!(results.lines().count(), 1 + 6 * 3, "header + 18 runs");
    let agg = fs::read_to_string(one.join("aggregate.csv")).expect("aggregate");
    assert!(agg.starts_with("point,NodePool/general:spec.count,"));
    assert_eq!(
        agg.lines().count(),
        1 + 6 * 5,
        "header + 6 points x 5 metrics"
    );
    // With 2 nodes and 1-CPU shop pods, the scale-up cannot all fit.
    assert!(
        agg.lines()
            .any(|l| l.starts_with("1,2,1,pods.end.unscheduled,3,") && !l.contains(",0,0,0,0")),
        "{agg}"
    );

    // Shards with auto index from the environment, as in a Kubernetes Indexed Job.
    let mut shards = Vec::new();
    for i in 0..3 {
        let d = tmp.path().join(format!("shard{i}"));
        let o = kubesim()
            .args([
                "sweep",
                SWEEP,
                "--no-report",
                "--jobs",
                "1",
                "--shard",
                "auto/3",
                "--out",
            ])
            .arg(&d)
            .env("JOB_COMPLETION_INDEX", i.to_string())
            .output()
            .expect("runs");
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        shards.push(d);
    }
    // Two of three shards are not the whole sweep.
    let o = kubesim()
        .args(["merge", "--no-report", "--out"])
        .arg(tmp.path().join("partial"))
        .args(&shards[..2])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("run the missing shards"));
    let merged = tmp.path().join("merged");
    let o = kubesim()
        .args(["merge", "--no-report", "--out"])
        .arg(&merged)
        .args(&shards)
        .output()
        .expect("runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    same_files(&one, &merged);

    // A kill mid-sweep: the journal holds 7 whole rows and a torn 8th; results not written.
    let killed = tmp.path().join("killed");
    fs::create_dir_all(&killed).expect("mkdir");
    fs::copy(one.join("sweep.json"), killed.join("sweep.json")).expect("copy");
    let journal = fs::read_to_string(two.join("journal.csv")).expect("journal");
    let lines: Vec<&str> = journal.lines().collect();
    let mut cut = lines[..8].join("\n");
    cut.push('\n');
    cut.push_str(&lines[8][..lines[8].len() / 2]);
    fs::write(killed.join("journal.csv"), cut).expect("write");
    let o = sweep(&killed, &["--jobs", "2"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("18 runs (7 resumed, 11 run now)"),
        "{stdout}"
    );
    same_files(&one, &killed);
    let resumed = fs::read_to_string(killed.join("journal.csv")).expect("journal");
    assert_eq!(
        resumed.lines().count(),
        19,
        "torn line dropped, no run twice"
    );

    // Running again finds everything done.
    let o = sweep(&killed, &["--jobs", "2"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("(18 resumed, 0 run now)"));
}

#[test]
fn another_sweep_in_the_same_folder_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("o");
    let text = fs::read_to_string(SWEEP).expect("read");
    let small = tmp.path().join("small.yaml");
    let quick = fs::canonicalize("scenarios/quickstart.yaml").expect("abs");
    fs::write(
        &small,
        text.replace("../quickstart.yaml", &quick.display().to_string())
            .replace("replications: 3", "replications: 1")
            .replace("[2, 3, 4]", "[3]"),
    )
    .expect("write");
    let o = kubesim()
        .args(["sweep", "--no-report", "--out"])
        .arg(&out)
        .arg(&small)
        .output()
        .expect("runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = kubesim()
        .args(["sweep", SWEEP, "--no-report", "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("another sweep"));
}

#[test]
fn bad_sweep_input_exits_2_with_location() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let text = fs::read_to_string(SWEEP).expect("read");
    let quick = fs::canonicalize("scenarios/quickstart.yaml").expect("abs");
    let base = text.replace("../quickstart.yaml", &quick.display().to_string());
    for (from, to, want) in [
        (
            "NodePool/general:",
            "NodePool/generl:",
            "did you mean \"NodePool/general\"?",
        ),
        ("[2, 3, 4]", "[2, -1]", "sweep point 2"),
    ] {
        let f = tmp.path().join("bad.yaml");
        fs::write(&f, base.replace(from, to)).expect("write");
        let o = kubesim()
            .args(["sweep", "--no-report", "--out"])
            .arg(tmp.path().join("o"))
            .arg(&f)
            .output()
            .expect("runs");
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{err}");
    }
    let o = kubesim()
        .args(["sweep", SWEEP, "--shard", "3/3"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
}
