//! The kubelet's container lifecycle end to end: the CrashLoopBackOff delay sequence of a
//! version that dies at start, OOM kills of a leaking container, probe kills, restartPolicy in
//! the loader.

use std::path::Path;
use std::sync::Arc;

use kubesim::cluster::spec::{ProbeSpec, RestartPolicy};
use kubesim::cluster::world::{RunOutput, World};
use kubesim::engine::SimDuration;
use kubesim::scenario::{self, load_str};

fn run(path: &str) -> RunOutput {
    let loaded = scenario::load_path(Path::new(path)).expect("shipped scenario loads");
    let mut w = World::new(Arc::new(loaded.spec));
    let end = w.end();
    w.advance(end, u64::MAX);
    w.finish()
}

/// `(time s, message)` of the event rows with `reason` about objects starting with `prefix`.
fn rows(out: &RunOutput, reason: &str, prefix: &str) -> Vec<(f64, String)> {
    out.recorder
        .events
        .iter()
        .filter(|e| e.reason == reason && e.object.starts_with(prefix))
        .map(|e| (e.time.as_secs_f64(), e.message.clone()))
        .collect()
}

#[test]
fn crash_loop_back_off_follows_the_upstream_delay_sequence() {
    let out = run("scenarios/failures/crash-loop.yaml");
    let exits = rows(&out, "Error", "default/api-");
    assert!(exits.len() >= 8, "{exits:?}");
    // Start-up takes 2 s (Behavior default) and the container dies as it starts, so the gap
    // between two exits is the back-off plus 2 s: 0, 10, 20, 40, 80, 160, 300, 300.
    let gaps: Vec<f64> = exits.windows(2).map(|w| w[1].0 - w[0].0 - 2.0).collect();
    let want = [0.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0];
    for (i, w) in want.iter().enumerate() {
        assert!(
            (gaps[i] - w).abs() < 1e-6,
            "gap {i}: {} (all {gaps:?})",
            gaps[i]
        );
    }
    let backoffs: Vec<String> = rows(&out, "BackOff", "default/api-")
        .into_iter()
        .map(|(_, m)| m.split_whitespace().nth(1).unwrap_or("").to_string())
        .collect();
    assert_eq!(backoffs[..6], ["10s", "20s", "40s", "1m20s", "2m40s", "5m"]);
    // The crashing pod's restarts are visible on the pod object; the rollout stalls with the
    // old pods Ready.
    let crashing = out
        .store
        .pods
        .values()
        .find(|p| p.template.containers[0].image == "api:v2")
        .expect("a v2 pod");
    assert!(crashing.restart_count >= 7, "{}", crashing.restart_count);
    assert!(!crashing.is_ready());
    let d = out
        .store
        .deployments
        .values()
        .find(|d| d.name == "api")
        .unwrap();
    assert_eq!(d.status.ready_replicas, 3);
}

#[test]
fn a_leaking_container_is_oom_killed_when_it_passes_its_limit() {
    let out = run("scenarios/failures/crash-loop.yaml");
    let kills = rows(&out, "OOMKilled", "default/cache-");
    assert!(kills.len() >= 2, "{kills:?}");
    // (256 Mi - 32 Mi) at 20 Mi/min: 11.2 min = 672 s of running each time; having run more
    // than 10 minutes, the back-off starts over and the restart is immediate.
    for (_, m) in &kills {
        assert!(m.ends_with("after 672.0s"), "{m}");
    }
    assert!(rows(&out, "BackOff", "default/cache-").is_empty());
    assert_eq!(out.recorder.counters.oom_kills, kills.len() as u64);
}

#[test]
fn a_hung_worker_is_killed_by_its_liveness_probe() {
    let out = run("scenarios/failures/crash-loop.yaml");
    let kills = rows(&out, "Killing", "default/worker-");
    assert!(!kills.is_empty());
    assert!(kills.iter().all(|(_, m)| m.contains("failed")));
    assert!(out.recorder.counters.probe_kills >= kills.len() as u64 - 1);
}

const PRE: &str = "apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: s}
spec: {duration: 1m}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: pool}
spec: {count: 1, capacity: {cpu: \"4\", memory: 8Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
";

#[test]
fn probes_are_read_with_upstream_defaults() {
    let text = format!(
        "{PRE}      containers:\n      - name: web\n        image: web:v1\n        readinessProbe: {{httpGet: {{path: /, port: 80}}, initialDelaySeconds: 5, successThreshold: 2}}\n        livenessProbe: {{exec: {{command: [true]}}, periodSeconds: 0}}\n"
    );
    let l = load_str("p.yaml", &text).expect("loads");
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let c = &l.spec.deployments[0].template.containers[0];
    let r = c.probes.readiness.expect("readiness");
    assert_eq!(r.initial_delay, SimDuration::from_secs(5));
    assert_eq!(r.success_threshold, 2);
    assert_eq!(r.period, SimDuration::from_secs(10));
    assert_eq!(c.probes.liveness, Some(ProbeSpec::default()));
    assert_eq!(c.probes.startup, None);
    assert_eq!(
        l.spec.deployments[0].template.restart_policy,
        RestartPolicy::Always
    );
}

#[test]
fn bad_probes_and_restart_policies_are_refused() {
    let live = format!(
        "{PRE}      containers:\n      - name: web\n        image: web:v1\n        livenessProbe: {{successThreshold: 2}}\n"
    );
    let e = load_str("p.yaml", &live).unwrap_err().to_string();
    assert!(
        e.contains("p.yaml:22:43:") && e.contains("livenessProbe.successThreshold: must be 1"),
        "{e}"
    );
    let rp = format!(
        "{PRE}      restartPolicy: Never\n      containers: [{{name: web, image: web:v1}}]\n"
    );
    let e = load_str("p.yaml", &rp).unwrap_err().to_string();
    assert!(e.contains("spec.template.spec.restartPolicy"), "{e}");
    let typo = format!(
        "{PRE}      containers:\n      - name: web\n        image: web:v1\n        readinessProbe: {{periodSecond: 2}}\n"
    );
    let e = load_str("p.yaml", &typo).unwrap_err().to_string();
    assert!(e.contains("did you mean \"periodSeconds\""), "{e}");
}

#[test]
fn behavior_failures_are_read_per_version() {
    let text = format!(
        "{PRE}      containers: [{{name: web, image: web:v1}}]\n---\napiVersion: kubesim.dev/v1alpha1\nkind: Behavior\nmetadata: {{name: web}}\nspec:\n  failures: {{meanTimeBetweenCrashes: 1h, memoryLeak: {{rate: 10Mi/min}}}}\n  versions:\n  - {{image: web:v2, crashOnStart: true}}\n  - {{image: web:v3, neverReady: true, memoryLeak: {{rate: 1Gi/h, initial: 100Mi}}}}\n"
    );
    let l = load_str("b.yaml", &text).expect("loads");
    let b = &l.spec.behaviors["web"];
    assert_eq!(
        b.health.mean_time_between_crashes,
        Some(SimDuration::from_secs(3600))
    );
    assert!((b.health.memory_leak_per_sec - 10.0 * 1048576.0 / 60.0).abs() < 1e-6);
    let v2 = b.health_for("web:v2");
    assert!(v2.crash_on_start && v2.mean_time_between_crashes.is_some());
    let v3 = b.health_for("web:v3");
    assert!(v3.never_ready && !v3.crash_on_start);
    assert_eq!(v3.memory_initial, 100 << 20);
    assert!((v3.memory_leak_per_sec - 1073741824.0 / 3600.0).abs() < 1e-6);
    assert!(!b.health_for("web:v1").crash_on_start);
    let bad = text.replace("10Mi/min", "10Mi/fortnight");
    let e = load_str("b.yaml", &bad).unwrap_err().to_string();
    assert!(e.contains("spec.failures.memoryLeak.rate"), "{e}");
}
