//! StatefulSets end to end: OrderedReady creation order and timing, Parallel creation, the
//! partitioned rolling update, zone-bound volumes after a zone outage, and the loader's
//! errors.

use std::sync::Arc;

use kubesim::cluster::objects::Pod;
use kubesim::cluster::world::{RunOutput, World};
use kubesim::engine::SimTime;
use kubesim::scenario::{load_path, load_str};

const HEAD: &str = "apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: s}
spec: {seed: 3, duration: 10m}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: pool}
spec: {count: 3, zones: [a, b, c], capacity: {cpu: \"8\", memory: 16Gi}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {name: db}
spec: {imagePull: 1s, startup: 2s, readiness: 3s}
---
";

fn sts(extra: &str) -> String {
    format!(
        "{HEAD}apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: db}}}}
{extra}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      containers: [{{name: db, image: \"db:v1\", resources: {{requests: {{cpu: 100m}}}}}}]
"
    )
}

fn run_until(yaml: &str, until_s: u64) -> (World, RunOutput) {
    let loaded = load_str("t.yaml", yaml).expect("loads");
    let spec = Arc::new(loaded.spec);
    let mut w = World::new(Arc::clone(&spec));
    w.advance(SimTime(until_s * 1_000_000_000), u64::MAX);
    let mut w2 = World::new(spec);
    let end = w2.end();
    w2.advance(end, u64::MAX);
    (w, w2.finish())
}

fn pod<'a>(out: &'a RunOutput, name: &str) -> &'a Pod {
    out.store
        .pods
        .values()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no pod {name}"))
}

#[test]
fn ordered_ready_creates_each_replica_after_the_previous_is_ready() {
    let (_, out) = run_until(&sts(""), 0);
    let mut prev_ready: Option<SimTime> = None;
    for i in 0..3 {
        let p = pod(&out, &format!("db-{i}"));
        assert_eq!(
            p.labels.get("apps.kubernetes.io/pod-index"),
            Some(&i.to_string())
        );
        let ready = p.ready_since.expect("ready at the end");
        if let Some(r) = prev_ready {
            // Created after the previous one became Ready (plus watch and write latencies,
            // well under a second).
            assert!(
                p.created_at > r,
                "db-{i} created before db-{} was Ready",
                i - 1
            );
            assert!(p.created_at.saturating_since(r).as_secs_f64() < 1.0);
        }
        // (Pull 1 s, unless the node has the image) + start 2 s + readiness 3 s.
        let startup = ready.saturating_since(p.created_at).as_secs_f64();
        assert!((5.0..7.0).contains(&startup), "db-{i} took {startup} s");
        prev_ready = Some(ready);
    }
    let s = out.store.stateful_sets.get("default/db").unwrap();
    assert_eq!(s.status.ready_replicas, 3);
}

#[test]
fn parallel_creates_every_replica_at_once() {
    let (_, out) = run_until(&sts("  podManagementPolicy: Parallel"), 0);
    let created: Vec<SimTime> = (0..3)
        .map(|i| pod(&out, &format!("db-{i}")).created_at)
        .collect();
    assert!(created.iter().all(|t| *t == created[0]), "{created:?}");
}

#[test]
fn a_partitioned_rolling_update_stops_at_the_partition_then_goes_down_from_the_top() {
    let yaml = format!(
        "{}---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {{name: t}}
spec:
- {{at: 1m, updateStatefulSet: {{statefulSet: db, image: \"db:v2\", partition: 2}}}}
- {{at: 3m, updateStatefulSet: {{statefulSet: db, partition: 0}}}}
",
        sts("")
    );
    let (mid, out) = run_until(&yaml, 150);
    let image = |p: &Pod| p.template.containers[0].image.clone();
    let s = mid.state();
    let mid_image = |n: &str| {
        s.store
            .pods
            .values()
            .find(|p| p.name == n && p.deletion_timestamp.is_none())
            .map(|p| p.template.containers[0].image.clone())
    };
    // At 2.5 min only db-2 (at and above the partition) runs the new image.
    assert_eq!(mid_image("db-2").as_deref(), Some("db:v2"));
    assert_eq!(mid_image("db-1").as_deref(), Some("db:v1"));
    assert_eq!(mid_image("db-0").as_deref(), Some("db:v1"));
    // At the end every replica is updated, db-1 before db-0.
    for i in 0..3 {
        assert_eq!(image(pod(&out, &format!("db-{i}"))), "db:v2");
    }
    assert!(pod(&out, "db-1").created_at < pod(&out, "db-0").created_at);
    assert!(pod(&out, "db-1").created_at > SimTime(180 * 1_000_000_000));
    let set = out.store.stateful_sets.get("default/db").unwrap();
    assert_eq!(set.current_revision, set.update_revision);
    assert_eq!(set.status.updated_replicas, 3);
}

#[test]
fn scale_down_removes_the_highest_ordinal_first() {
    let yaml = format!(
        "{}---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {{name: t}}
spec:
- {{at: 1m, updateStatefulSet: {{statefulSet: db, replicas: 1}}}}
",
        sts("")
    );
    let (_, out) = run_until(&yaml, 0);
    let names: Vec<&str> = out.store.pods.values().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["db-0"]);
    let deletes: Vec<&str> = out
        .recorder
        .events
        .iter()
        .filter(|e| e.reason == "SuccessfulDelete" && e.kind == "StatefulSet")
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(deletes.len(), 2);
    assert!(
        deletes[0].contains("db-2") && deletes[1].contains("db-1"),
        "{deletes:?}"
    );
}

#[test]
fn after_its_zone_goes_down_the_replica_stays_pending_while_the_deployment_moves() {
    let loaded = load_path(std::path::Path::new(
        "scenarios/failures/statefulset-zone-outage.yaml",
    ))
    .unwrap();
    let spec = Arc::new(loaded.spec);
    let mut w = World::new(Arc::clone(&spec));
    // 25 min: zone b's machines were deleted at 10 min, new ones come at 30 min.
    w.advance(SimTime(25 * 60 * 1_000_000_000), u64::MAX);
    let s = w.state();
    let claim = s
        .store
        .volume_claims
        .get("default/data-db-2")
        .expect("bound");
    assert_eq!(claim.zone.as_deref(), Some("b"));
    let db2 = s
        .store
        .pods
        .values()
        .find(|p| p.name == "db-2")
        .expect("db-2 recreated");
    assert!(db2.node.is_none(), "db-2 should be Pending");
    let terms = db2
        .template
        .affinity
        .node_affinity
        .required
        .clone()
        .unwrap();
    assert!(terms.iter().all(|t| {
        t.match_expressions
            .iter()
            .any(|r| r.key == "topology.kubernetes.io/zone" && r.values == vec!["b".to_string()])
    }));
    let shop = s.store.deployments.get("default/shop").unwrap();
    assert_eq!(shop.status.ready_replicas, 6, "the Deployment moved");
    // Once zone b has machines again, db-2 runs there.
    let end = w.end();
    w.advance(end, u64::MAX);
    let out = w.finish();
    let db2 = pod(&out, "db-2");
    let node = out.store.nodes.get(db2.node.as_ref().unwrap()).unwrap();
    assert_eq!(
        node.labels
            .get("topology.kubernetes.io/zone")
            .map(String::as_str),
        Some("b")
    );
    assert!(db2.is_ready());
}

#[test]
fn loader_errors_are_located_with_suggestions() {
    let e = load_str("t.yaml", &sts("  podManagementPolicy: Ordered"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("t.yaml:") && e.contains("podManagementPolicy"),
        "{e}"
    );
    assert!(e.contains("OrderedReady"), "{e}");
    let e = load_str(
        "t.yaml",
        &sts("  updateStrategy: {type: OnDelete, rollingUpdate: {partition: 1}}"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("rollingUpdate may only be set"), "{e}");
    let e = load_str(
        "t.yaml",
        &format!(
            "{}---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {{name: t}}
spec:
- {{at: 1m, updateStatefulSet: {{statefulSet: dB, replicas: 1}}}}
",
            sts("")
        ),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("dB") && e.contains("db"), "{e}");
}
