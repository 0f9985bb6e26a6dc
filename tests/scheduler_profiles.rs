//! Scheduler profiles from a `KubeSchedulerConfiguration` document: two profiles place one
//! workload differently (LeastAllocated spreads, MostAllocated packs), and `kubesim explain`
//! prints one attempt in the documented JSON shape.

use std::collections::BTreeSet;
use std::sync::Arc;

use kubesim::cluster::scheduling_spec::ScoringStrategy;
use kubesim::cluster::world::World;

fn scenario(scheduler_name: &str) -> String {
    format!(
        r#"apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {{name: profiles}}
spec: {{seed: 3, duration: 1m}}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {{name: pool}}
spec: {{count: 4, capacity: {{cpu: "4", memory: 16Gi}}}}
---
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packer
  plugins:
    score:
      disabled: [{{name: PodTopologySpread}}, {{name: NodeResourcesBalancedAllocation}}]
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources: [{{name: cpu, weight: 1}}, {{name: memory, weight: 1}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 4
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      schedulerName: {scheduler_name}
      containers: [{{name: web, image: "web:v1", resources: {{requests: {{cpu: "1", memory: 1Gi}}}}}}]
"#
    )
}

fn nodes_used(scheduler_name: &str) -> BTreeSet<String> {
    let loaded = kubesim::scenario::load_str("p.yaml", &scenario(scheduler_name)).expect("valid");
    let mut world = World::new(Arc::new(loaded.spec));
    let end = world.end();
    world.advance(end, u64::MAX);
    let out = world.finish();
    let placed: Vec<String> = out
        .store
        .pods
        .values()
        .filter_map(|p| p.node.clone())
        .collect();
    assert_eq!(placed.len(), 4);
    placed.into_iter().collect()
}

#[test]
fn two_profiles_place_one_workload_differently() {
    assert_eq!(
        nodes_used("default-scheduler").len(),
        4,
        "LeastAllocated spreads"
    );
    assert_eq!(nodes_used("bin-packer").len(), 1, "MostAllocated packs");
}

#[test]
fn the_profile_document_is_merged_with_the_defaults() {
    let loaded = kubesim::scenario::load_str("p.yaml", &scenario("bin-packer")).expect("valid");
    let s = &loaded.spec.scheduler;
    assert_eq!(s.profiles.len(), 2);
    let bp = &s.profiles["bin-packer"];
    assert_eq!(bp.fit_strategy, ScoringStrategy::MostAllocated);
    let scores: Vec<&str> = bp.score.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        scores,
        [
            "TaintToleration",
            "NodeAffinity",
            "NodeResourcesFit",
            "InterPodAffinity",
            "ImageLocality"
        ]
    );
    assert_eq!(bp.score[0].1, 3, "default weights kept");
    assert!(bp.preemption);
    assert_eq!(
        s.profiles["default-scheduler"],
        kubesim::cluster::spec::SchedulerProfileSpec::default_profile("default-scheduler")
    );
}

#[test]
fn explain_prints_the_documented_json_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("p.yaml");
    std::fs::write(&path, scenario("bin-packer")).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args([
            "explain",
            path.to_str().expect("utf-8"),
            "--pod",
            "default/web-",
            "--json",
        ])
        .output()
        .expect("run kubesim");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["at_s", "nodes", "pod", "selected"]);
    assert!(v["pod"].as_str().expect("pod").starts_with("default/web-"));
    let selected = v["selected"].as_str().expect("selected");
    let nodes = v["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 4);
    let best = nodes
        .iter()
        .map(|n| n["total"].as_i64().expect("total"))
        .max()
        .expect("nodes");
    for n in nodes {
        assert_eq!(n["feasible"], true);
        assert!(n["reasons"].as_array().expect("reasons").is_empty());
        let fit = &n["scores"]["NodeResourcesFit"];
        assert_eq!(fit["weighted"], fit["normalized"], "weight 1");
        let sum: i64 = n["scores"]
            .as_object()
            .expect("scores")
            .values()
            .map(|s| s["weighted"].as_i64().expect("weighted"))
            .sum();
        assert_eq!(n["total"].as_i64(), Some(sum));
        if n["node"] == selected {
            assert_eq!(
                n["total"].as_i64(),
                Some(best),
                "the selected node has the top total"
            );
        }
    }
}
