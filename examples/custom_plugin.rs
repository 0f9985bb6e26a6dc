//! Your own scheduling policy, end to end: register a custom Score plugin by name, use it from a
//! `KubeSchedulerConfiguration` profile in the scenario, run, and see where the pods landed.
//!
//! The policy here, `PreferSpot`, prefers nodes labelled `lifecycle: spot` (cheaper capacity),
//! scoring them 100 and the others 0, with weight 5 so it outweighs the default
//! LeastAllocated / spreading scores. A team regression-tests a policy like this by running its
//! scenarios with and without the plugin (or across versions of it) and comparing placements.
//!
//! Run it with `cargo run --release --example custom_plugin`.

use std::collections::BTreeMap;
use std::sync::Arc;

use kubesim::cluster::scheduler::framework::{CycleContext, ExtensionPoints, Plugin, Registry};
use kubesim::cluster::world::{World, WorldOptions};

/// The custom plugin: Score 100 for spot nodes, 0 for the others.
struct PreferSpot;

impl Plugin for PreferSpot {
    fn name(&self) -> &str {
        "PreferSpot"
    }

    fn score(&self, cx: &CycleContext<'_>, node: usize) -> i64 {
        let labels = &cx.snapshot.nodes[node].labels;
        if labels.get("lifecycle").map(String::as_str) == Some("spot") {
            100
        } else {
            0
        }
    }
}

/// The scenario: two pools of three nodes (on-demand and spot), one Deployment of 6 pods with
/// `schedulerName: spot-first`; the profile `spot-first` adds `PreferSpot` to the defaults.
/// With `use_plugin = false` the profile is the default one under that name.
pub fn scenario(use_plugin: bool) -> String {
    let plugins = if use_plugin {
        "  plugins:\n    multiPoint:\n      enabled: [{name: PreferSpot, weight: 5}]\n"
    } else {
        ""
    };
    format!(
        r#"apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {{name: custom-plugin}}
spec: {{seed: 1, duration: 2m}}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {{name: ondemand}}
spec: {{count: 3, capacity: {{cpu: "8", memory: 32Gi}}}}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {{name: spot}}
spec: {{count: 3, capacity: {{cpu: "8", memory: 32Gi}}, labels: {{lifecycle: spot}}}}
---
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: spot-first
{plugins}---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: batch}}
spec:
  replicas: 6
  selector: {{matchLabels: {{app: batch}}}}
  template:
    metadata: {{labels: {{app: batch}}}}
    spec:
      schedulerName: spot-first
      containers: [{{name: w, image: "batch:v1", resources: {{requests: {{cpu: 500m, memory: 1Gi}}}}}}]
"#
    )
}

/// A registry with the built-in plugins and `PreferSpot` (a Score plugin).
pub fn registry() -> Registry {
    let mut r = Registry::with_builtins();
    r.register_plugin("PreferSpot", ExtensionPoints::SCORE, |_profile| {
        Box::new(PreferSpot)
    });
    r
}

/// Run the scenario; pods per node pool at the end.
pub fn placement(use_plugin: bool) -> BTreeMap<String, usize> {
    let loaded = kubesim::scenario::load_str("custom-plugin.yaml", &scenario(use_plugin))
        .expect("the example scenario is valid");
    let options = WorldOptions {
        registry: Some(registry()),
        explain: None,
    };
    let mut world =
        World::with_options(Arc::new(loaded.spec), &options).expect("PreferSpot is registered");
    let end = world.end();
    world.advance(end, u64::MAX);
    let out = world.finish();
    let mut per_pool = BTreeMap::new();
    for pod in out.store.pods.values() {
        if let Some(node) = &pod.node {
            let pool = out.store.nodes.get(node).and_then(|n| n.pool.clone());
            *per_pool.entry(pool.unwrap_or_default()).or_insert(0) += 1;
        }
    }
    per_pool
}

#[allow(dead_code)]
fn main() {
    println!("without PreferSpot: {:?}", placement(false));
    println!("with PreferSpot:    {:?}", placement(true));
}
