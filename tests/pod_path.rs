//! The per-pod path's shortcuts keep the model's behaviour: the store's count of nodes with a
//! `NoExecute` taint follows every node write (the taint eviction controller trusts it to skip
//! pods in O(1)), and the event log's rows at each level do not depend on the hot paths
//! building their messages only for rows that are kept.

use std::sync::Arc;

use std::path::Path;

use kubesim::cluster::events::{ApiWrite, WatchEvent};
use kubesim::cluster::spec::{Taint, TaintEffect};
use kubesim::cluster::state::{ClusterState, has_no_execute};
use kubesim::engine::SimTime;
use kubesim::experiment::{Limits, run};
use kubesim::scenario::{self, load_path};

const NODES: &str = r#"
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: taints}
spec: {seed: 3, duration: 10m}
---
apiVersion: v1
kind: Node
metadata: {name: a}
spec:
  taints: [{key: dedicated, value: batch, effect: NoExecute}]
status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
---
apiVersion: v1
kind: Node
metadata: {name: b}
status: {allocatable: {cpu: "4", memory: 8Gi, pods: "110"}}
"#;

/// What the count should be: the nodes holding a `NoExecute` taint, counted afresh.
fn recount(state: &ClusterState) -> usize {
    state
        .store
        .nodes
        .values()
        .filter(|n| has_no_execute(&n.taints))
        .count()
}

fn taint(key: &str, effect: TaintEffect) -> Taint {
    Taint {
        key: key.into(),
        value: String::new(),
        effect,
    }
}

#[test]
fn no_execute_count_follows_every_node_write() {
    let loaded = scenario::load_str("taints.yaml", NODES).unwrap_or_else(|e| panic!("{e}"));
    let spec = Arc::new(loaded.spec);
    let mut state = ClusterState::new(Arc::clone(&spec));
    let mut out: Vec<WatchEvent> = Vec::new();
    let mut suffix = || "x".to_string();
    let writes = vec![
        (ApiWrite::CreateNode(Box::new(spec.nodes[0].clone())), 1),
        (ApiWrite::CreateNode(Box::new(spec.nodes[1].clone())), 1),
        // Registering a node twice changes nothing.
        (ApiWrite::CreateNode(Box::new(spec.nodes[0].clone())), 1),
        // A NoSchedule taint is not counted.
        (
            ApiWrite::AddNodeTaint {
                name: "b".into(),
                taint: taint("k", TaintEffect::NoSchedule),
            },
            1,
        ),
        (
            ApiWrite::AddNodeTaint {
                name: "b".into(),
                taint: taint("node.kubernetes.io/unreachable", TaintEffect::NoExecute),
            },
            2,
        ),
        // A second NoExecute taint on a counted node.
        (
            ApiWrite::AddNodeTaint {
                name: "b".into(),
                taint: taint("k", TaintEffect::NoExecute),
            },
            2,
        ),
        (
            ApiWrite::RemoveNodeTaint {
                name: "b".into(),
                key: "node.kubernetes.io/unreachable".into(),
                effect: TaintEffect::NoExecute,
            },
            2,
        ),
        (
            ApiWrite::RemoveNodeTaint {
                name: "b".into(),
                key: "k".into(),
                effect: TaintEffect::NoExecute,
            },
            1,
        ),
        // Removing a taint that is not there.
        (
            ApiWrite::RemoveNodeTaint {
                name: "b".into(),
                key: "k".into(),
                effect: TaintEffect::NoExecute,
            },
            1,
        ),
        (
            ApiWrite::RemoveNodeTaint {
                name: "b".into(),
                key: "k".into(),
                effect: TaintEffect::NoSchedule,
            },
            1,
        ),
        (ApiWrite::DeleteNode { name: "a".into() }, 0),
        (ApiWrite::DeleteNode { name: "b".into() }, 0),
    ];
    for (i, (w, want)) in writes.into_iter().enumerate() {
        let what = format!("{w:?}");
        state.apply(w, SimTime(i as u64), &mut suffix, &mut out);
        assert_eq!(state.store.no_execute_tainted_nodes, want, "after {what}");
        assert_eq!(recount(&state), want, "after {what}");
    }
}

/// The event-log rows of the crashing scenario run with `events: <level>`, as
/// `time kind object reason message` (without `seq`, which counts kept rows).
fn rows_at(level: &str) -> Vec<String> {
    // One folder for every level: the timeline's rows name the scenario file.
    let dir = std::env::temp_dir().join(format!("kubesim-pod-path-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/trace/neutral");
    for f in ["nodes.csv", "pods.csv"] {
        std::fs::copy(data.join(f), dir.join(f)).expect("copy trace file");
    }
    let path = dir.join("scenario.yaml");
    std::fs::write(&path, CRASHING.replace("LEVEL", level)).expect("write scenario");
    let loaded = load_path(&path).unwrap_or_else(|e| panic!("{e}"));
    let result = run(Arc::new(loaded.spec), Limits::default(), &mut |_| {});
    std::fs::remove_dir_all(&dir).ok();
    result
        .output
        .recorder
        .events
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {} {}",
                e.time.as_nanos(),
                e.kind,
                e.object,
                e.reason,
                e.message
            )
        })
        .collect()
}

/// A trace (three pods on two nodes) beside a Deployment whose containers crash and restart,
/// on a pool with a node that crashes: kubelet, API server and node rows of every kind.
const CRASHING: &str = r#"
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: crashing}
spec: {seed: 5, duration: 20m}
---
apiVersion: kubesim.dev/v1alpha1
kind: Trace
metadata: {name: small}
spec:
  format: neutral
  files: {nodes: nodes.csv, pods: pods.csv}
  events: LEVEL
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: p}
spec: {count: 3, capacity: {cpu: "4", memory: 8Gi, pods: 110}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "web:v1", resources: {requests: {cpu: 100m, memory: 64Mi}}}]
---
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {name: web}
spec: {workload: web, failures: {meanTimeBetweenCrashes: 120s}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {name: t}
spec: [{at: 5m, crashNode: {node: p-0}}, {at: 12m, scale: {deployment: web, replicas: 1}}]
"#;

#[test]
fn warnings_are_the_warning_rows_of_a_full_log() {
    let all = rows_at("all");
    for reason in [
        " BackOff ",
        " Scheduled ",
        " Started ",
        " Error ",
        " Succeeded ",
    ] {
        assert!(
            all.iter().any(|r| r.contains(reason)),
            "the scenario must log{reason}rows"
        );
    }
    let expected: Vec<&String> = all
        .iter()
        .filter(|r| {
            let f: Vec<&str> = r.splitn(5, ' ').collect();
            f[1] == "Timeline" || kubesim::cluster::metrics::is_warning(f[3])
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(rows_at("warnings").iter().collect::<Vec<_>>(), expected);
    assert!(rows_at("none").is_empty());
}
