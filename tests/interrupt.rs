//! Stopping a run from outside: a stop flag (what Ctrl-C sets) cuts a run at an event boundary
//! and marks it partial; SIGINT to `kubesim run` writes partial outputs and exits 130; SIGKILL
//! leaves no half-written file under a final name.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kubesim::cluster::world::WorldOptions;
use kubesim::experiment::{Limits, run, run_until_stopped};
use kubesim::scenario::load_str;

/// A day of request traffic: long enough (tens of millions of events) that a run is still
/// going when the signal comes, and it prints event-log rows from its first progress slice.
const LONG: &str = "apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: long}
spec: {seed: 3, duration: 24h, sampleEvery: 1m}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: pool}
spec: {count: 4, capacity: {cpu: \"8\", memory: 32Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  replicas: 8
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers: [{name: shop, image: \"shop:v1\", resources: {requests: {cpu: 500m, memory: 256Mi}}}]
---
apiVersion: v1
kind: Service
metadata: {name: shop}
spec: {selector: {app: shop}, ports: [{port: 80}]}
---
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {name: shop}
spec:
  serving: {serviceTime: {exponential: {mean: 10ms}}, concurrency: 4}
---
apiVersion: kubesim.dev/v1alpha1
kind: Traffic
metadata: {name: users}
spec: {service: shop, rate: 200/s}
";

/// A short scenario for the in-process tests.
fn short() -> String {
    LONG.replace("duration: 24h", "duration: 10m")
}

#[test]
fn a_stop_flag_set_before_the_run_stops_it_at_once() {
    let spec = Arc::new(load_str("s.yaml", &short()).expect("valid").spec);
    let stop = AtomicBool::new(true);
    let r = run_until_stopped(
        spec,
        &WorldOptions::default(),
        Limits::default(),
        &stop,
        &mut |_| {},
    )
    .expect("runs");
    let reason = r.partial.expect("partial");
    assert!(reason.starts_with("interrupted"), "{reason}");
    assert!(r.output.end_time.as_nanos() < 10 * 60 * 1_000_000_000);
}

#[test]
fn a_stop_mid_run_cuts_it_and_an_unset_flag_changes_nothing() {
    let spec = Arc::new(load_str("s.yaml", &short()).expect("valid").spec);
    let full = run(Arc::clone(&spec), Limits::default(), &mut |_| {});
    assert!(full.partial.is_none());
    // An unset flag: the same run, event for event.
    let never = AtomicBool::new(false);
    let same = run_until_stopped(
        Arc::clone(&spec),
        &WorldOptions::default(),
        Limits::default(),
        &never,
        &mut |_| {},
    )
    .expect("runs");
    assert!(same.partial.is_none());
    assert_eq!(same.output.events_processed, full.output.events_processed);
    assert_eq!(same.output.trace_hash, full.output.trace_hash);
    // Set from the progress callback (as a signal would, between slices).
    let stop = AtomicBool::new(false);
    let mut slices = 0;
    let cut = run_until_stopped(
        spec,
        &WorldOptions::default(),
        Limits::default(),
        &stop,
        &mut |_| {
            slices += 1;
            if slices == 20 {
                stop.store(true, Ordering::SeqCst);
            }
        },
    )
    .expect("runs");
    let reason = cut.partial.expect("partial");
    assert!(reason.starts_with("interrupted"), "{reason}");
    assert!(cut.output.events_processed < full.output.events_processed);
    assert!(cut.output.events_processed > 0);
}

/// Start `kubesim run --trace` on [`LONG`] and wait until it has printed its first event-log
/// row (so it is running, with its signal handler in place).
fn start(dir: &Path) -> (Child, std::thread::JoinHandle<String>) {
    let scenario = dir.join("long.yaml");
    std::fs::write(&scenario, LONG).expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(["run", "--trace", "--no-report", "--out"])
        .arg(dir.join("out"))
        .arg(&scenario)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut tail = String::new();
        let mut first = true;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if first {
                first = false;
                let _ = tx.send(());
            }
            if !line.starts_with(char::is_numeric) {
                tail.push_str(&line);
                tail.push('\n');
            }
        }
        tail
    });
    if rx.recv_timeout(Duration::from_secs(120)).is_err() {
        let _ = child.kill();
        panic!("kubesim printed nothing in 120 s");
    }
    (child, reader)
}

/// Wait for `child` for at most `limit`; kill it and fail if it is still running.
fn wait_for(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("kubesim did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigint_writes_partial_outputs_and_exits_130() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut child, reader) = start(tmp.path());
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let status = wait_for(&mut child, Duration::from_secs(120));
    let stderr = reader.join().expect("reader");
    assert_eq!(status.code(), Some(130), "stderr: {stderr}");
    let out = tmp.path().join("out");
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("summary.json")).expect("summary.json written"),
    )
    .expect("summary.json is whole JSON");
    assert_eq!(summary["partial"], serde_json::Value::Bool(true));
    let reason = summary["partial_reason"].as_str().expect("reason");
    assert!(reason.starts_with("interrupted"), "{reason}");
    let events = std::fs::read_to_string(out.join("events.csv")).expect("events.csv");
    assert!(events.starts_with("time_s,seq,kind,object,reason,message\n"));
    assert!(events.lines().count() > 1, "the events so far are flushed");
    assert!(std::fs::read(out.join("timeseries.csv")).is_ok());
    assert!(stderr.contains("run is partial: interrupted"), "{stderr}");
}

#[test]
fn sigkill_leaves_no_output_that_looks_whole() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut child, reader) = start(tmp.path());
    child.kill().expect("SIGKILL");
    let status = wait_for(&mut child, Duration::from_secs(60));
    let _ = reader.join();
    assert_eq!(status.code(), None, "killed by a signal");
    let out = tmp.path().join("out");
    // The run was cut before its end: no output file under its final name. (Temporary
    // `.name.tmp` files may be left; they never look whole.)
    for name in ["events.csv", "timeseries.csv", "summary.json"] {
        assert!(
            !out.join(name).exists(),
            "{name} exists after SIGKILL mid-run"
        );
    }
}

/// A sweep stopped part-way journals only its finished runs; running it again resumes and
/// gives the same bytes as an uninterrupted sweep.
#[test]
fn an_interrupted_sweep_keeps_finished_runs_and_resumes() {
    use kubesim::experiment::{Shard, SweepOptions, run_sweep, run_sweep_until_stopped};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec =
        kubesim::scenario::load_sweep(&root.join("scenarios/sweeps/quickstart-capacity.yaml"))
            .expect("sweep");
    let tmp = tempfile::tempdir().expect("tempdir");
    let options = SweepOptions {
        jobs: 1,
        shard: Shard::ALL,
    };
    let whole = tmp.path().join("whole");
    let w = run_sweep(&spec, &whole, options, &|_| {}).expect("sweep");
    assert!(!w.interrupted);

    let cut = tmp.path().join("cut");
    let stop = AtomicBool::new(false);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let first = run_sweep_until_stopped(&spec, &cut, options, &stop, &|_| {
        if done.fetch_add(1, Ordering::SeqCst) + 1 == 4 {
            stop.store(true, Ordering::SeqCst);
        }
    })
    .expect("sweep");
    assert!(first.interrupted);
    assert_eq!(first.runs_executed, 4);
    let results = std::fs::read_to_string(cut.join("results.csv")).expect("results");
    assert_eq!(results.lines().count(), 1 + 4, "header + the finished runs");

    let second = run_sweep(&spec, &cut, options, &|_| {}).expect("resume");
    assert!(!second.interrupted);
    assert_eq!(second.runs_resumed, 4);
    for f in ["sweep.json", "results.csv", "aggregate.csv"] {
        assert_eq!(
            std::fs::read(whole.join(f)).expect("whole"),
            std::fs::read(cut.join(f)).expect("cut"),
            "{f}"
        );
    }
}
