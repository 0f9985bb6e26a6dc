//! CronJobs end to end: runs start at the scheduled minutes through the Job controller,
//! Forbid skips while a run is active, Replace deletes it, the history limits, suspend, and
//! the loader's schedule errors.

mod common;

use common::run;
use kubesim::cluster::world::RunOutput;
use kubesim::scenario::load_str;

fn cron(spec_extra: &str, run_time: &str, duration: &str) -> String {
    format!(
        "apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {{name: s}}
spec: {{seed: 2, duration: {duration}}}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {{name: pool}}
spec: {{count: 2, capacity: {{cpu: \"8\", memory: 16Gi}}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {{name: c}}
spec:
{spec_extra}
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{{name: c, image: \"c:v1\", resources: {{requests: {{cpu: 100m}}}}}}]
---
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {{name: c}}
spec:
  imagePull: 1s
  startup: 1s
  failures: {{runTime: {run_time}}}
"
    )
}

fn created(out: &RunOutput) -> Vec<(f64, String)> {
    out.recorder
        .events
        .iter()
        .filter(|e| e.kind == "CronJob" && e.reason == "SuccessfulCreate")
        .map(|e| (e.time.as_secs_f64(), e.message.clone()))
        .collect()
}

#[test]
fn runs_start_at_the_scheduled_minutes_and_complete_through_the_job_controller() {
    let out = run(&cron("  schedule: \"*/10 * * * *\"", "30s", "35m"));
    let c = created(&out);
    assert_eq!(
        c,
        vec![
            (600.0, "Created job c-10".to_string()),
            (1200.0, "Created job c-20".to_string()),
            (1800.0, "Created job c-30".to_string()),
        ]
    );
    let r = &out.recorder.stateful.cron_jobs[0];
    assert_eq!((r.jobs_created, r.jobs_succeeded, r.active), (3, 3, 0));
    // The Jobs' pods follow the CronJob's Behavior (30 s run).
    let job = out.recorder.jobs.iter().find(|j| j.name == "c-10").unwrap();
    let d = job.end.saturating_since(job.start).as_secs_f64();
    assert!((32.0..33.0).contains(&d), "c-10 took {d} s");
}

#[test]
fn forbid_skips_a_run_while_the_previous_is_active() {
    let out = run(&cron(
        "  schedule: \"*/5 * * * *\"\n  concurrencyPolicy: Forbid\n  startingDeadlineSeconds: 30",
        "7m",
        "31m",
    ));
    // Runs at 5, 15, 25 min; 10, 20, 30 are skipped while one runs, and the late start after
    // it finishes is past the 30 s deadline.
    let at: Vec<f64> = created(&out).iter().map(|c| c.0).collect();
    assert_eq!(at, vec![300.0, 900.0, 1500.0]);
    let r = &out.recorder.stateful.cron_jobs[0];
    assert_eq!(r.skipped_forbid, 3);
    assert_eq!(r.missed_deadline, 2);
    // Never two of its Jobs at once.
    let mut spans: Vec<(f64, f64)> = out
        .recorder
        .jobs
        .iter()
        .map(|j| (j.start.as_secs_f64(), j.end.as_secs_f64()))
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    for w in spans.windows(2) {
        assert!(w[1].0 >= w[0].1, "overlap {w:?}");
    }
}

#[test]
fn forbid_without_a_deadline_starts_the_held_back_run_when_the_active_one_ends() {
    let out = run(&cron(
        "  schedule: \"*/5 * * * *\"\n  concurrencyPolicy: Forbid",
        "7m",
        "14m",
    ));
    let c = created(&out);
    assert_eq!(c.len(), 2);
    assert_eq!(c[1].1, "Created job c-10");
    // c-5 ran from about 300 s for 7 min (+ start-up): c-10 starts then, late.
    assert!((720.0..735.0).contains(&c[1].0), "{c:?}");
}

#[test]
fn replace_deletes_the_active_job_and_allow_overlaps() {
    let out = run(&cron(
        "  schedule: \"*/5 * * * *\"\n  concurrencyPolicy: Replace",
        "7m",
        "16m",
    ));
    let r = &out.recorder.stateful.cron_jobs[0];
    assert_eq!((r.jobs_created, r.replaced, r.jobs_succeeded), (3, 2, 0));
    // Allow: c-5 (done at about 12 min), c-10 and c-15 run side by side.
    let out = run(&cron("  schedule: \"*/5 * * * *\"", "7m", "16m"));
    let r = &out.recorder.stateful.cron_jobs[0];
    assert_eq!((r.jobs_created, r.replaced, r.jobs_succeeded), (3, 0, 1));
    assert_eq!(r.active, 2);
}

#[test]
fn history_limits_keep_the_newest_finished_jobs() {
    let out = run(&cron(
        "  schedule: \"* * * * *\"\n  successfulJobsHistoryLimit: 2",
        "10s",
        "6m",
    ));
    let r = &out.recorder.stateful.cron_jobs[0];
    assert_eq!(r.jobs_succeeded, 5);
    assert_eq!(r.jobs_deleted, 3);
    let deleted: Vec<&str> = out
        .recorder
        .events
        .iter()
        .filter(|e| e.kind == "CronJob" && e.reason == "SuccessfulDelete")
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(
        deleted,
        vec!["Deleted job c-1", "Deleted job c-2", "Deleted job c-3"]
    );
}

#[test]
fn suspend_starts_nothing() {
    let out = run(&cron(
        "  schedule: \"* * * * *\"\n  suspend: true",
        "10s",
        "5m",
    ));
    assert!(created(&out).is_empty());
    assert_eq!(out.store.pods.len(), 0);
}

#[test]
fn a_bad_schedule_is_a_located_error() {
    let e = load_str("t.yaml", &cron("  schedule: \"*/5 * * *\"", "10s", "5m"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("t.yaml:") && e.contains("spec.schedule"), "{e}");
    assert!(e.contains("expected 5 fields"), "{e}");
    let e = load_str("t.yaml", &cron("  schedule: \"61 * * * *\"", "10s", "5m"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("minute field: 61 is out of range 0-59"), "{e}");
    let e = load_str(
        "t.yaml",
        &cron(
            "  schedule: \"* * * * *\"\n  concurrencyPolicy: Forbidden",
            "10s",
            "5m",
        ),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("Forbid"), "{e}");
}
