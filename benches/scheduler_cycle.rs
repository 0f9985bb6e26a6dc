//! One kube-scheduler cycle (PreFilter, Filter with percentageOfNodesToScore, PreScore, Score,
//! NormalizeScore, selectHost) for one pending pod of a Deployment, with upstream's default
//! profile, on clusters of 100 / 1,000 / 5,000 nodes that already run two pods of that
//! Deployment per node (so PodTopologySpread's default constraints and the resource plugins
//! see a populated cluster).
//!
//! The cluster is built by running a scenario through the whole model; the measured call is
//! [`Scheduler::try_schedule`], the code the scheduler component runs for each queued pod
//! (its snapshot is built once, as the component keeps it up to date incrementally).
//!
//! The `scheduler_cycle_bare` group schedules the same pod without its owner: like a trace
//! replay's pods, it has no PodTopologySpread default constraints, so the cycle is the
//! per-node work of NodeResourcesFit's filter and the resource scores (with
//! percentageOfNodesToScore: 100, 420 and 500 nodes are filtered and scored).
//!
//! Run: `cargo bench --bench scheduler_cycle -- --warm-up-time 1 --measurement-time 3 --noplot`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kubesim::cluster::objects::PodId;
use kubesim::cluster::scheduler::Scheduler;
use kubesim::cluster::world::World;
use kubesim::engine::stream_rng;

fn scenario(nodes: usize) -> String {
    format!(
        r#"apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {{name: cycle}}
spec: {{seed: 1, duration: 30s, sampleEvery: 30s}}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {{name: big}}
spec: {{count: {nodes}, zones: [a, b, c], capacity: {{cpu: "32", memory: 128Gi, pods: 110}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: batch}}
spec:
  replicas: {pods}
  selector: {{matchLabels: {{app: batch}}}}
  template:
    metadata: {{labels: {{app: batch}}}}
    spec:
      containers: [{{name: w, image: "batch:v1", resources: {{requests: {{cpu: 100m, memory: 256Mi}}}}}}]
"#,
        pods = nodes * 2
    )
}

fn bench(c: &mut Criterion) {
    cycles(c, "scheduler_cycle", false);
    cycles(c, "scheduler_cycle_bare", true);
}

/// One group: a cycle at 100 / 1,000 / 5,000 nodes (`bare`: the pod without its owner).
fn cycles(c: &mut Criterion, group: &str, bare: bool) {
    let mut g = c.benchmark_group(group);
    for nodes in [100usize, 1_000, 5_000] {
        let loaded = kubesim::scenario::load_str("cycle.yaml", &scenario(nodes)).expect("valid");
        let mut world = World::new(Arc::new(loaded.spec));
        let end = world.end();
        world.advance(end, u64::MAX);
        let state = world.state();
        let placed = state
            .store
            .pods
            .values()
            .filter(|p| p.node.is_some())
            .count();
        assert_eq!(placed, nodes * 2, "the cluster is populated");
        let mut pod = state.store.pods.values().next().expect("a pod").clone();
        pod.id = PodId(u64::MAX);
        pod.name = "batch-pending".into();
        pod.node = None;
        if bare {
            pod.owner = None;
        }
        let mut sched = Scheduler::new();
        let mut rng = stream_rng(1, "bench");
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::from_parameter(nodes), &nodes, |b, _| {
            b.iter(|| black_box(sched.try_schedule(&pod, state, &mut rng).expect("fits")))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
