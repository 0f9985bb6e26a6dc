//! DefaultPreemption end to end: a high-priority pod that does not fit evicts the
//! lowest-priority pod it needs and lands on the node; `preemptionPolicy: Never` and equal
//! priorities do not preempt (upstream `default_preemption_test.go` cases
//! "pod preempts lower priority pod", "preemptionPolicy=Never", "no victims").

use std::sync::Arc;

use kubesim::cluster::world::World;

/// One 4-CPU node full of `low` pods (4 x 1 CPU); at 30 s the `high` Deployment is scaled to 1.
fn scenario(high_class: &str) -> String {
    format!(
        r#"apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {{name: preempt}}
spec: {{seed: 5, duration: 3m}}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {{name: pool}}
spec: {{count: 1, capacity: {{cpu: "4", memory: 16Gi}}}}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {{name: low}}
value: 100
globalDefault: true
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {{name: high}}
value: 1000
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {{name: polite}}
value: 1000
preemptionPolicy: Never
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: low}}
spec:
  replicas: 4
  selector: {{matchLabels: {{app: low}}}}
  template:
    metadata: {{labels: {{app: low}}}}
    spec:
      containers: [{{name: c, image: "low:v1", resources: {{requests: {{cpu: "1"}}}}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: high}}
spec:
  replicas: 0
  selector: {{matchLabels: {{app: high}}}}
  template:
    metadata: {{labels: {{app: high}}}}
    spec:
      priorityClassName: {high_class}
      containers: [{{name: c, image: "high:v1", resources: {{requests: {{cpu: "1"}}}}}}]
---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {{name: t}}
spec: [{{at: 30s, scale: {{deployment: high, replicas: 1}}}}]
"#
    )
}

/// Load `yaml` and run it to its end; the finished world's store and recorder.
fn run_to_end(yaml: &str) -> kubesim::cluster::world::RunOutput {
    let loaded = kubesim::scenario::load_str("p.yaml", yaml).expect("valid");
    let mut world = World::new(Arc::new(loaded.spec));
    let end = world.end();
    world.advance(end, u64::MAX);
    world.finish()
}

struct Outcome {
    high_bound: bool,
    preempted: usize,
    messages: Vec<String>,
}

fn run(high_class: &str) -> Outcome {
    let out = run_to_end(&scenario(high_class));
    let high_bound = out
        .store
        .pods
        .values()
        .any(|p| p.workload == "high" && p.node.is_some());
    let preempted = out
        .recorder
        .events
        .iter()
        .filter(|e| e.reason == "Preempted")
        .count();
    let messages = out
        .recorder
        .events
        .iter()
        .filter(|e| e.reason == "FailedScheduling" && e.object.contains("high-"))
        .map(|e| e.message.clone())
        .collect();
    Outcome {
        high_bound,
        preempted,
        messages,
    }
}

#[test]
fn a_higher_priority_pod_preempts_one_victim() {
    let o = run("high");
    assert_eq!(o.preempted, 1, "exactly the one victim needed");
    assert!(o.high_bound, "the preemptor lands once the victim is gone");
    assert_eq!(
        o.messages[0], "0/1 nodes are available: 1 Insufficient cpu.",
        "the first attempt nominates the node (no preemption failure message)"
    );
}

#[test]
fn preemption_policy_never_does_not_preempt() {
    let o = run("polite");
    assert_eq!(o.preempted, 0);
    assert!(!o.high_bound);
    assert_eq!(
        o.messages[0],
        "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
    );
}

#[test]
fn equal_priority_finds_no_victims() {
    let o = run("low");
    assert_eq!(o.preempted, 0);
    assert!(!o.high_bound);
    assert_eq!(
        o.messages[0],
        "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
    );
}

/// Two 4-CPU pools, `a` and `b`, each full of one Deployment's 1-CPU pods (`on-a`, `on-b`);
/// `pdb` is a PodDisruptionBudget document (or empty). At 30 s a higher-priority pod that fits
/// nowhere arrives: both nodes are candidates with one victim each, equal on every other
/// criterion, so the budget decides (upstream `pickOneNodeForPreemption`: fewest PDB
/// violations first; `default_preemption_test.go` "pod with PDB").
fn two_nodes(pdb: &str) -> String {
    let mut docs = String::from(
        r#"apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: preempt-pdb}
spec: {seed: 5, duration: 3m}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: low}
value: 100
globalDefault: true
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: high}
spec:
  replicas: 0
  selector: {matchLabels: {app: high}}
  template:
    metadata: {labels: {app: high}}
    spec:
      priorityClassName: high
      containers: [{name: c, image: "high:v1", resources: {requests: {cpu: "1"}}}]
---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {name: t}
spec: [{at: 30s, scale: {deployment: high, replicas: 1}}]
"#,
    );
    for pool in ["a", "b"] {
        docs.push_str(&format!(
            r#"---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {{name: {pool}}}
spec: {{count: 1, capacity: {{cpu: "4", memory: 16Gi}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: on-{pool}}}
spec:
  replicas: 4
  selector: {{matchLabels: {{app: on-{pool}}}}}
  template:
    metadata: {{labels: {{app: on-{pool}}}}}
    spec:
      nodeSelector: {{kubesim.dev/pool: {pool}}}
      containers: [{{name: c, image: "low:v1", resources: {{requests: {{cpu: "1"}}}}}}]
"#
        ));
    }
    docs.push_str(pdb);
    docs
}

fn budget(app: &str, min_available: u32) -> String {
    format!(
        r#"---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: guard-{app}}}
spec:
  minAvailable: {min_available}
  selector: {{matchLabels: {{app: {app}}}}}
"#
    )
}

/// The workloads whose pods were preempted, in event order.
fn preempted_workloads(yaml: &str) -> Vec<String> {
    let out = run_to_end(yaml);
    out.recorder
        .events
        .iter()
        .filter(|e| e.reason == "Preempted")
        .map(|e| {
            let name = e.object.rsplit('/').next().unwrap_or_default();
            if name.starts_with("on-a-") {
                "on-a"
            } else {
                "on-b"
            }
            .to_string()
        })
        .collect()
}

#[test]
fn preemption_avoids_the_node_whose_victim_would_violate_a_budget() {
    // A budget with no disruption allowed on either workload steers the victim to the other.
    assert_eq!(
        preempted_workloads(&two_nodes(&budget("on-a", 4))),
        vec!["on-b"]
    );
    assert_eq!(
        preempted_workloads(&two_nodes(&budget("on-b", 4))),
        vec!["on-a"]
    );
    // A budget that still allows a disruption does not count as violated: either node may go,
    // and the choice is the same as with no budget at all.
    assert_eq!(
        preempted_workloads(&two_nodes(&budget("on-a", 3))),
        preempted_workloads(&two_nodes(""))
    );
}

#[test]
fn preemption_is_best_effort_when_every_victim_violates_a_budget() {
    // Upstream preempts anyway (PDBs are best-effort for the scheduler): one victim, not zero.
    let both = format!("{}{}", budget("on-a", 4), budget("on-b", 4));
    assert_eq!(preempted_workloads(&two_nodes(&both)).len(), 1);
}

/// A 4-CPU node holds `a` (priority 100, 1 CPU, exits 1 s after SIGTERM), `b` (priority 150,
/// 1 CPU, exits after 60 s) and `c` (priority 300, 2 CPU). `late` (priority 100, 1 CPU) is
/// pending from 20 s and can preempt nothing. At 30 s `high` (priority 1000, 2 CPU) preempts
/// `a` and `b` and is nominated to the node. When `a` is gone (about 31 s) one CPU is free:
/// without the nomination counting, `late` would take it and `high` would have to preempt
/// again when `b` exits; upstream (`RunFilterPluginsWithNominatedPods`) keeps the room for
/// `high`, which binds once `b` is gone.
const NOMINATED: &str = r#"apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: nominated}
spec: {seed: 3, duration: 3m}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: pool}
spec: {count: 1, capacity: {cpu: "4", memory: 16Gi}}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: p100}
value: 100
globalDefault: true
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: p150}
value: 150
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: p300}
value: 300
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: p1000}
value: 1000
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: a}
spec:
  replicas: 1
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      containers: [{name: c, image: "a:v1", resources: {requests: {cpu: "1"}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: b}
spec:
  replicas: 1
  selector: {matchLabels: {app: b}}
  template:
    metadata: {labels: {app: b}}
    spec:
      priorityClassName: p150
      terminationGracePeriodSeconds: 90
      containers: [{name: c, image: "b:v1", resources: {requests: {cpu: "1"}}}]
---
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {name: b}
spec: {shutdown: 60s}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: c}
spec:
  replicas: 1
  selector: {matchLabels: {app: c}}
  template:
    metadata: {labels: {app: c}}
    spec:
      priorityClassName: p300
      containers: [{name: c, image: "c:v1", resources: {requests: {cpu: "2"}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: late}
spec:
  replicas: 0
  selector: {matchLabels: {app: late}}
  template:
    metadata: {labels: {app: late}}
    spec:
      containers: [{name: c, image: "late:v1", resources: {requests: {cpu: "1"}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: high}
spec:
  replicas: 0
  selector: {matchLabels: {app: high}}
  template:
    metadata: {labels: {app: high}}
    spec:
      priorityClassName: p1000
      containers: [{name: c, image: "high:v1", resources: {requests: {cpu: "2"}}}]
---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {name: t}
spec:
- {at: 20s, scale: {deployment: late, replicas: 1}}
- {at: 30s, scale: {deployment: high, replicas: 1}}
"#;

#[test]
fn a_nominated_pod_keeps_its_room_from_lower_priority_pods() {
    let out = run_to_end(NOMINATED);
    let preempted: Vec<&str> = out
        .recorder
        .events
        .iter()
        .filter(|e| e.reason == "Preempted")
        .map(|e| e.object.as_str())
        .collect();
    assert_eq!(preempted.len(), 2, "a and b only: {preempted:?}");
    let bound = |w: &str| {
        out.store
            .pods
            .values()
            .filter(|p| p.workload == w && p.node.is_some())
            .count()
    };
    assert_eq!(bound("high"), 1, "the preemptor lands once b has exited");
    assert_eq!(bound("late"), 0, "late never takes the nominated room");
    let high = out
        .store
        .pods
        .values()
        .find(|p| p.workload == "high")
        .expect("high pod");
    let bound_at = high.scheduled_at.expect("bound").as_secs_f64();
    assert!(
        (85.0..100.0).contains(&bound_at),
        "bound after b's 60 s shutdown, got {bound_at} s"
    );
}
