//! Workload-trace replay: a small neutral trace gives the expected completions and delays;
//! each importer's sample file gives its known results; a malformed row names file:line and
//! the column.

use std::path::Path;
use std::sync::Arc;

use kubesim::experiment::summary::Summary;
use kubesim::experiment::{Limits, RunResult, run};
use kubesim::scenario::load_path;

fn replay(dir: &str) -> (RunResult, Summary) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/trace")
        .join(dir)
        .join("scenario.yaml");
    let loaded = load_path(&path).unwrap_or_else(|e| panic!("{e}"));
    let result = run(
        Arc::new(loaded.spec),
        Limits {
            check: true,
            ..Limits::default()
        },
        &mut |_| {},
    );
    assert!(result.violation.is_none(), "{:?}", result.violation);
    let summary = Summary::of(&result);
    (result, summary)
}

fn near(v: f64, want: f64) {
    assert!(
        (v - want).abs() < 0.05,
        "got {v}, want {want} (within 0.05)"
    );
}

#[test]
fn small_neutral_trace_completes_with_expected_delays() {
    let (result, s) = replay("neutral");
    let t = s.trace.expect("trace summary");
    // p2 has priority 5 and p1 priority 0: DefaultPreemption evicts p1 (it never finishes), so
    // two of the three pods succeed.
    assert_eq!((t.pods_arrived, t.pods_bound, t.pods_succeeded), (3, 3, 2));
    assert_eq!(t.pods_pending_at_end, 0);
    assert!(t.exhausted);
    // p0 and p1 bind at once (watch 10 ms + cycle 1 ms + bind write 5 ms); p2 needs a whole
    // node: it preempts p1 at 20.011 s and binds once p1 has terminated, at ~21.05 s.
    near(t.scheduling_delay_seconds.p50, 0.016);
    near(t.scheduling_delay_seconds.max, 1.047);
    // p0 started at 0.026 s and ran 100 s: the last completion.
    near(t.makespan_s, 100.031);
    assert_eq!(t.unschedulable_by_reason.get("Insufficient cpu"), Some(&1));
    // Terminal pods released their nodes.
    for n in result.output.store.nodes.values() {
        assert_eq!(n.requested.cpu_milli, 0, "{}", n.name);
        assert!(n.pods.is_empty());
    }
    let reasons: Vec<&str> = result
        .output
        .recorder
        .events
        .iter()
        .map(|e| e.reason)
        .collect();
    assert_eq!(reasons.iter().filter(|r| **r == "Completed").count(), 2);
    assert_eq!(reasons.iter().filter(|r| **r == "Preempted").count(), 1);
}

#[test]
fn alibaba_v2017_sample() {
    let (result, s) = replay("alibaba-v2017");
    let t = s.trace.expect("trace summary");
    // 4 instances: one Running (skipped); the 8-CPU one waits for a 2-CPU one to end.
    assert_eq!((t.pods_arrived, t.pods_succeeded), (3, 3));
    assert_eq!(t.node_events, 3);
    near(t.scheduling_delay_seconds.max, 57.047);
    near(t.makespan_s, 121.031);
    // server_event: 8 CPUs, memory 0.5 of a 64 GiB machine; m-2 is removed at 300 s.
    let m1 = &result.output.store.nodes["m-1"];
    assert_eq!(m1.allocatable.cpu_milli, 8000);
    assert_eq!(m1.allocatable.memory_bytes, 32 << 30);
    assert!(!result.output.store.nodes.contains_key("m-2"));
}

#[test]
fn alibaba_v2018_sample() {
    let (result, s) = replay("alibaba-v2018");
    let t = s.trace.expect("trace summary");
    assert_eq!((t.pods_arrived, t.pods_succeeded), (3, 3));
    assert_eq!(t.node_events, 2);
    near(t.scheduling_delay_seconds.max, 0.016);
    // First arrival 10 s, last completion ins_d: 15.026 + 120 s.
    near(t.makespan_s, 125.031);
    let m2 = &result.output.store.nodes["m_2"];
    assert_eq!(m2.allocatable.cpu_milli, 96_000);
    assert_eq!(m2.allocatable.memory_bytes, 256 << 30);
}

#[test]
fn google_2019_sample() {
    let (result, s) = replay("google-2019");
    let t = s.trace.expect("trace summary");
    // Collection 8's instance was killed before it was scheduled: dropped.
    assert_eq!((t.pods_arrived, t.pods_succeeded), (2, 2));
    near(t.scheduling_delay_seconds.max, 0.016);
    // Submitted at 1 s; instance 1 ran 90 s (SCHEDULE 2.5 s -> FINISH 92.5 s).
    near(t.makespan_s, 90.031);
    let m = &result.output.store.nodes["m-100"];
    assert_eq!(m.allocatable.cpu_milli, 16_000);
    assert_eq!(m.allocatable.memory_bytes, 64 << 30);
}

#[test]
fn malformed_row_stops_the_run_naming_file_line_and_column() {
    let (result, s) = replay("bad");
    let e = result.input_error.expect("an input error");
    assert!(
        e.ends_with("pods.csv:3: column `cpu`: expected a whole number >= 0, found \"lots\""),
        "{e}"
    );
    assert!(s.partial);
    assert_eq!(s.trace.expect("trace").pods_arrived, 1);
}

#[test]
fn missing_column_is_a_load_error() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/trace/bad/missing-column.yaml");
    let e = load_path(&path).expect_err("missing column").to_string();
    assert!(
        e.contains("nodes.csv:1: column `id`: missing column"),
        "{e}"
    );
}
