//! Failures and self-healing end to end: a node crash with default timings, a drain held back
//! by a PodDisruptionBudget, a partition, and the loader's fault verbs and PDB checks.

use std::path::Path;
use std::sync::Arc;

use kubesim::cluster::disruption::pdb_status;
use kubesim::cluster::world::{RunOutput, World};
use kubesim::engine::SimTime;
use kubesim::scenario;

fn world(path: &str) -> World {
    let loaded = scenario::load_path(Path::new(path)).expect("shipped scenario loads");
    World::new(Arc::new(loaded.spec))
}

fn run(path: &str) -> RunOutput {
    let mut w = world(path);
    let end = w.end();
    w.advance(end, u64::MAX);
    w.finish()
}

fn secs(t: SimTime) -> f64 {
    t.as_secs_f64()
}

/// Time of the first event-log row with this reason (and object prefix).
fn first(out: &RunOutput, reason: &str, object_prefix: &str) -> Option<f64> {
    out.recorder
        .events
        .iter()
        .find(|e| e.reason == reason && e.object.starts_with(object_prefix))
        .map(|e| secs(e.time))
}

#[test]
fn node_crash_with_default_timings_replaces_pods_about_350s_later() {
    let out = run("scenarios/failures/node-crash.yaml");
    let crash = first(&out, "CrashNode", "").expect("crash fired");
    // Detection: the last heartbeat is at most nodeStatusUpdateFrequency (10 s) before the
    // crash, the grace period is 50 s and the monitor runs every 5 s.
    let detect = first(&out, "NodeNotReady", "general-0").expect("node marked not ready") - crash;
    assert!((40.0..=60.1).contains(&detect), "detected after {detect} s");
    // Replacements: 300 s of DefaultTolerationSeconds after the taint.
    let evict = first(&out, "TaintManagerEviction", "").expect("pods evicted") - crash;
    assert!((340.0..=361.0).contains(&evict), "evicted after {evict} s");
    let replacement = out
        .store
        .pods
        .values()
        .map(|p| secs(p.created_at))
        .filter(|t| *t > crash)
        .fold(f64::INFINITY, f64::min)
        - crash;
    // "About 350 s (50 + 300) after the crash, within one controller period."
    assert!(
        (345.0..=366.0).contains(&replacement),
        "first replacement created {replacement} s after the crash"
    );
    // Nothing was replaced before that.
    let created_early = out
        .recorder
        .events
        .iter()
        .filter(|e| e.reason == "SuccessfulCreate" && secs(e.time) > crash)
        .all(|e| secs(e.time) - crash >= 340.0);
    assert!(created_early);
    assert_eq!(out.recorder.failures.len(), 1);
    let f = &out.recorder.failures[0];
    assert_eq!(f.pods_lost, 2);
    assert!(f.recovered_at.is_some());
    // Every replacement runs on a surviving node.
    for p in out
        .store
        .pods
        .values()
        .filter(|p| p.deletion_timestamp.is_none())
    {
        assert_ne!(p.node.as_deref(), Some("general-0"));
    }
}

#[test]
fn drain_waits_for_the_pdb_and_never_violates_it() {
    let mut w = world("scenarios/failures/drain-with-pdb.yaml");
    let end = w.end();
    let mut evictions = 0;
    let mut steps = 0u64;
    while !w.is_done() {
        if w.advance(end, 1) {
            steps += 1;
        } else {
            break;
        }
        let st = w.state();
        let now = st.recorder.counters.evictions;
        if now != evictions {
            evictions = now;
            // Just after each voluntary eviction, every budget still holds.
            for b in st.store.pdbs.values() {
                let s = pdb_status(b, &st.store);
                assert!(
                    s.current_healthy >= s.desired_healthy,
                    "eviction #{now} left {} healthy pods, budget {} needs {}",
                    s.current_healthy,
                    b.name,
                    s.desired_healthy
                );
            }
        }
    }
    assert!(steps > 0);
    let out = w.finish();
    let evicted: Vec<f64> = out
        .recorder
        .events
        .iter()
        .filter(|e| e.reason == "Evicted")
        .map(|e| secs(e.time))
        .collect();
    assert_eq!(evicted.len(), 2, "both pods evicted");
    let blocked = out.recorder.counters.evictions_blocked;
    assert!(blocked > 0, "the second eviction was refused at first");
    // The second eviction happened after the first replacement became Ready, within one
    // retry period (5 s).
    let replacement_ready = out
        .store
        .pods
        .values()
        .filter(|p| p.node.as_deref() == Some("new-0"))
        .filter_map(|p| p.ready_since)
        .map(secs)
        .fold(f64::INFINITY, f64::min);
    assert!(evicted[1] >= replacement_ready - 1e-9 || evicted[1] > evicted[0] + 5.0);
    assert!(
        evicted[1] - replacement_ready <= 5.0 + 1e-9,
        "second eviction at {} long after the replacement was Ready",
        evicted[1]
    );
    assert!(
        first(&out, "Drained", "old-0").is_some(),
        "the node drained"
    );
    assert!(out.store.nodes["old-0"].pods.is_empty());
    assert!(out.store.nodes["old-0"].unschedulable);
}

#[test]
fn partitioned_pods_keep_running_until_the_partition_heals() {
    let out = run("scenarios/failures/partition.yaml");
    let heal = first(&out, "RecoverNode", "general-1").expect("partition healed");
    // The evicted pods' containers exit only once the kubelet sees the deletion.
    let terminated: Vec<f64> = out
        .recorder
        .events
        .iter()
        .filter(|e| e.reason == "Terminated")
        .map(|e| secs(e.time))
        .collect();
    assert!(!terminated.is_empty());
    assert!(
        terminated.iter().all(|t| *t >= heal),
        "{terminated:?} before {heal}"
    );
    // The 30 s toleration moves `cache` ~270 s before `api`.
    let cache = first(&out, "TaintManagerEviction", "default/cache").expect("cache evicted");
    let api = first(&out, "TaintManagerEviction", "default/api").expect("api evicted");
    assert!((265.0..=275.0).contains(&(api - cache)), "{cache} {api}");
    assert!(out.store.nodes["general-1"].ready);
    assert!(out.store.nodes["general-1"].taints.is_empty());
}

#[test]
fn api_server_down_delays_writes_until_it_is_back() {
    let yaml = r#"
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: api-down}
spec: {duration: 3m}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: p}
spec: {count: 2, capacity: {cpu: "4", memory: 8Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "web:v1"}]
---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {name: t}
spec:
- {at: 30s, apiServerDown: {for: 60s}}
- {at: 40s, scale: {deployment: web, replicas: 4}}
"#;
    let loaded = scenario::load_str("api-down.yaml", yaml).expect("loads");
    let mut w = World::new(Arc::new(loaded.spec));
    let end = w.end();
    w.advance(end, u64::MAX);
    let out = w.finish();
    // The scale (sent at 40 s) lands when the API server is back at 90 s; no node went
    // NotReady meanwhile.
    let scaled = first(&out, "ScalingReplicaSet", "default/web")
        .into_iter()
        .chain(
            out.recorder
                .events
                .iter()
                .filter(|e| e.reason == "ScalingReplicaSet")
                .map(|e| secs(e.time)),
        )
        .fold(0.0, f64::max);
    assert!(scaled >= 90.0, "scaled at {scaled}");
    assert!(first(&out, "NodeNotReady", "").is_none());
    assert_eq!(
        out.store.deployments["default/web"].status.ready_replicas,
        4
    );
}

#[test]
fn loader_reads_fault_verbs_and_pdbs_with_located_errors() {
    let base = r#"
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: t}
spec: {duration: 10m}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: p}
spec: {count: 2, zones: [a, b], capacity: {cpu: "4", memory: 8Gi}}
"#;
    let ok = format!(
        "{base}---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: b}}
spec: {{maxUnavailable: 25%, selector: {{matchLabels: {{app: x}}}}}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {{name: t}}
spec:
- {{at: 1m, crashNode: {{node: p-0}}}}
- {{at: 2m, recoverNode: {{node: p-0}}}}
- {{at: 3m, zoneOutage: {{zone: b, for: 1m}}}}
- {{at: 4m, partition: {{node: p-1, for: 30s}}}}
- {{at: 5m, kubeletStop: {{node: p-1}}}}
- {{at: 6m, apiServerDown: {{for: 10s}}}}
- {{at: 7m, slowNode: {{node: p-0, factor: 3, for: 1m}}}}
- {{at: 8m, drainNode: {{node: p-0}}}}
"
    );
    let loaded = scenario::load_str("ok.yaml", &ok).expect("loads");
    assert_eq!(loaded.spec.timeline.len(), 8);
    assert_eq!(loaded.spec.pod_disruption_budgets.len(), 1);

    let cases = [
        (
            "- {at: 1m, zoneOutage: {zone: q, for: 1m}}",
            "ok.yaml:16:31: Timeline/t: spec[0].zoneOutage.zone: no zone named \"q\"; known: a, b (did you mean \"a\"?)",
        ),
        (
            "- {at: 1m, zoneOutage: {zone: a}}",
            "spec[0].zoneOutage.for: required field is missing",
        ),
        (
            "- {at: 1m, slowNode: {node: p-0, factor: 0.5}}",
            "spec[0].slowNode.factor: must be from 1 to 1000",
        ),
        (
            "- {at: 1m, killLeader: {}}",
            "spec[0].killLeader.election: required field is missing",
        ),
        (
            "- {at: 1m, crashNode: {node: p-9}}",
            "no node named \"p-9\"",
        ),
    ];
    for (entry, want) in cases {
        let text = format!(
            "{base}---\napiVersion: kubesim.dev/v1alpha1\nkind: Timeline\nmetadata: {{name: t}}\nspec:\n{entry}\n"
        );
        let err = scenario::load_str("ok.yaml", &text)
            .expect_err(entry)
            .to_string();
        assert!(err.contains(want), "{entry}: got {err}");
    }
    let pdb_cases = [
        (
            "{minAvailable: 1, maxUnavailable: 1}",
            "minAvailable and maxUnavailable cannot be both set",
        ),
        (
            "{selector: {matchLabels: {app: x}}}",
            "give exactly one of minAvailable, maxUnavailable",
        ),
        ("{minAvailable: 150%}", "must not be greater than 100%"),
        ("{minAvailable: -1}", "should not be negative"),
        ("{minAvailble: 1}", "did you mean \"minAvailable\""),
    ];
    for (spec, want) in pdb_cases {
        let text = format!(
            "{base}---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: b}}\nspec: {spec}\n"
        );
        let err = scenario::load_str("pdb.yaml", &text)
            .expect_err(spec)
            .to_string();
        assert!(err.contains(want), "{spec}: got {err}");
    }
}

#[test]
fn control_plane_timings_are_overridable() {
    let text = std::fs::read_to_string("scenarios/failures/node-crash.yaml").expect("file");
    let text = text.replace(
        "  sampleEvery: 10s\n",
        "  sampleEvery: 10s\n  controlPlane: {nodeMonitorGracePeriod: 20s, defaultUnreachableTolerationSeconds: 30}\n",
    );
    let loaded = scenario::load_str("fast.yaml", &text).expect("loads");
    assert_eq!(
        loaded
            .spec
            .control_plane
            .default_unreachable_toleration_seconds,
        30
    );
    let mut w = World::new(Arc::new(loaded.spec));
    let end = w.end();
    w.advance(end, u64::MAX);
    let out = w.finish();
    let crash = first(&out, "CrashNode", "").expect("crash");
    let evict = first(&out, "TaintManagerEviction", "").expect("evicted") - crash;
    // 20 s grace (+ up to 10 s heartbeat phase + 5 s monitor period) + 30 s toleration.
    assert!((50.0..=66.0).contains(&evict), "evicted after {evict} s");
}
