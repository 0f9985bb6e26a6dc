//! Jobs end to end: the loader's Job defaults and errors, the work-queue makespan against
//! parallelism, backoffLimit, activeDeadlineSeconds, and Indexed completion.

mod common;

use common::run;
use kubesim::cluster::controllers::job::JobOutcome;
use kubesim::cluster::spec::CompletionMode;
use kubesim::scenario::load_str;

const HEAD: &str = "apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: s}
spec: {seed: 3, duration: 2h}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: pool}
spec: {count: 2, capacity: {cpu: \"8\", memory: 16Gi}}
---
";

/// A Job document `q` with extra spec lines, restartPolicy `policy`, and a Behavior body.
fn job(spec_extra: &str, policy: &str, behavior: &str) -> String {
    format!(
        "{HEAD}apiVersion: batch/v1
kind: Job
metadata: {{name: q}}
spec:
{spec_extra}
  template:
    spec:
      restartPolicy: {policy}
      containers: [{{name: q, image: \"q:v1\", resources: {{requests: {{cpu: 100m}}}}}}]
---
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {{name: q}}
spec:
  imagePull: 1s
  startup: 1s
{behavior}
"
    )
}

const QUEUE: &str = "  workQueue: {tasks: 40, duration: 60s}";

fn makespan(parallelism: u32) -> f64 {
    let out = run(&job(
        &format!("  parallelism: {parallelism}"),
        "OnFailure",
        QUEUE,
    ));
    let j = &out.recorder.jobs[0];
    assert_eq!(j.outcome, JobOutcome::Complete);
    assert_eq!(j.succeeded, parallelism as i32, "every worker exits 0");
    j.queue_drained_at
        .expect("queue drained")
        .saturating_since(j.start)
        .as_secs_f64()
}

#[test]
fn work_queue_makespan_with_4_workers_is_about_a_quarter_of_1() {
    let one = makespan(1);
    let four = makespan(4);
    // 40 tasks of 60 s: 2400 s alone, 600 s with four workers, plus a few seconds of start-up.
    assert!((2400.0..2420.0).contains(&one), "p=1 makespan {one}");
    assert!((600.0..620.0).contains(&four), "p=4 makespan {four}");
    let ratio = four / one;
    assert!((0.24..0.27).contains(&ratio), "ratio {ratio}");
}

#[test]
fn backoff_limit_stops_a_job_whose_pods_always_fail() {
    let out = run(&job(
        "  backoffLimit: 3",
        "Never",
        "  failures: {crashOnStart: true}",
    ));
    let j = &out.recorder.jobs[0];
    assert_eq!(j.outcome, JobOutcome::BackoffLimitExceeded);
    assert_eq!(j.failed, 4, "backoffLimit 3: the fourth failure ends it");
    assert_eq!(
        out.store.pods.len(),
        4,
        "no pod created after the Job failed"
    );
    // Replacements wait 10, 20, 40 s after each failure (plus ~2 s to start).
    let creates: Vec<f64> = out
        .recorder
        .events
        .iter()
        .filter(|e| e.reason == "SuccessfulCreate")
        .map(|e| e.time.as_secs_f64())
        .collect();
    let gaps: Vec<f64> = creates.windows(2).map(|w| w[1] - w[0]).collect();
    for (gap, backoff) in gaps.iter().zip([10.0, 20.0, 40.0]) {
        assert!(
            (backoff..backoff + 4.0).contains(gap),
            "gaps {gaps:?} after back-offs"
        );
    }
}

#[test]
fn on_failure_restarts_count_against_the_backoff_limit() {
    let out = run(&job(
        "  backoffLimit: 2",
        "OnFailure",
        "  failures: {crashOnStart: true}",
    ));
    let j = &out.recorder.jobs[0];
    assert_eq!(j.outcome, JobOutcome::BackoffLimitExceeded);
    assert_eq!(out.store.pods.values().filter(|p| p.is_active()).count(), 0);
}

#[test]
fn active_deadline_fails_the_job_and_deletes_its_pods() {
    let out = run(&job(
        "  activeDeadlineSeconds: 100\n  parallelism: 2\n  completions: 4",
        "Never",
        "  failures: {runTime: 1h}",
    ));
    let j = &out.recorder.jobs[0];
    assert_eq!(j.outcome, JobOutcome::DeadlineExceeded);
    assert_eq!(j.end.saturating_since(j.start).as_secs_f64(), 100.0);
    assert!(out.store.pods.values().all(|p| !p.is_active()));
    assert_eq!(out.store.pods.len(), 0, "deleted pods are gone");
}

#[test]
fn indexed_job_runs_each_index_once_with_indexed_names() {
    let out = run(&job(
        "  completions: 5\n  parallelism: 2\n  completionMode: Indexed",
        "Never",
        "  failures: {runTime: 30s}",
    ));
    let j = &out.recorder.jobs[0];
    assert_eq!(j.outcome, JobOutcome::Complete);
    assert_eq!(j.succeeded, 5);
    let mut idx: Vec<String> = out
        .store
        .pods
        .values()
        .map(|p| {
            let i = &p.labels["batch.kubernetes.io/job-completion-index"];
            assert!(p.name.starts_with(&format!("q-{i}-")), "name {}", p.name);
            i.clone()
        })
        .collect();
    idx.sort();
    assert_eq!(idx, ["0", "1", "2", "3", "4"]);
    // Two at a time, 30 s each: three waves.
    let d = j.end.saturating_since(j.start).as_secs_f64();
    assert!((90.0..110.0).contains(&d), "duration {d}");
}

#[test]
fn job_defaults_follow_upstream() {
    let loaded = load_str("t.yaml", &job("  backoffLimit: 6", "Never", "")).expect("loads");
    let j = &loaded.spec.jobs[0];
    assert_eq!(
        (j.parallelism, j.completions, j.backoff_limit),
        (1, Some(1), 6)
    );
    assert_eq!(j.completion_mode, CompletionMode::NonIndexed);
    assert_eq!(j.active_deadline_seconds, None);
    let loaded = load_str("t.yaml", &job("  parallelism: 3", "OnFailure", "")).expect("loads");
    let j = &loaded.spec.jobs[0];
    assert_eq!((j.parallelism, j.completions), (3, None));
}

#[test]
fn bad_jobs_give_exact_messages() {
    let missing_policy = format!(
        "{HEAD}apiVersion: batch/v1
kind: Job
metadata: {{name: q}}
spec:
  template:
    spec:
      containers: [{{name: q, image: \"q:v1\"}}]
"
    );
    let cases: Vec<(String, &str)> = vec![
        (
            job("  parallelism: -1", "Never", ""),
            "t.yaml:15:16: Job/q: spec.parallelism: must be greater than or equal to 0, found -1",
        ),
        (
            job("  backoffLimit: x", "Never", ""),
            "t.yaml:15:17: Job/q: spec.backoffLimit: expected an integer, found string \"x\"",
        ),
        (
            job("  activeDeadlineSeconds: 0", "Never", ""),
            "t.yaml:15:26: Job/q: spec.activeDeadlineSeconds: must be greater than or equal to 1, found 0",
        ),
        (
            job("  parallelism: 2\n  completionMode: Indexed", "Never", ""),
            "t.yaml:16:19: Job/q: spec.completionMode: when completion mode is Indexed, spec.completions is required",
        ),
        (
            job("  completionMode: Ordered", "Never", ""),
            "t.yaml:15:19: Job/q: spec.completionMode: unsupported value \"Ordered\"; supported values: NonIndexed, Indexed",
        ),
        (
            job("", "Always", ""),
            "t.yaml:18:22: Job/q: spec.template.spec.restartPolicy: unsupported value \"Always\"; supported values: OnFailure, Never",
        ),
        (
            missing_policy,
            "t.yaml:17:7: Job/q: spec.template.spec.restartPolicy: required field is missing: a Job's pods must use restartPolicy OnFailure or Never",
        ),
        (
            job("  paralelism: 2", "Never", ""),
            "t.yaml:15:3: Job/q: spec.paralelism: unknown field \"paralelism\" (did you mean \"parallelism\"?)",
        ),
    ];
    for (yaml, want) in cases {
        let e = load_str("t.yaml", &yaml).expect_err("bad Job refused");
        let got = e.to_string();
        assert_eq!(got, want);
    }
}
