//! The sampler: every `sampleEvery` it records the cluster's gauges into the time series.
//!
//! Metrics (object in brackets): `pods.phase` [phase], `pods.unscheduled`, `pods.ready`,
//! `pods.terminating`, `nodes.total`, `nodes.ready`, `nodes.unschedulable`,
//! `cluster.cpu_requested_ratio`, `cluster.memory_requested_ratio`, `node.cpu_requested_ratio`
//! [node], `node.memory_requested_ratio` [node], `node.pods` [node], `deployment.replicas`,
//! `deployment.ready_replicas`, `deployment.available_replicas` [namespace/name],
//! `cost.total` (currency units accrued so far), `pdb.disruptions_allowed`,
//! `pdb.current_healthy` [namespace/name], `failures.unrecovered` (once a failure happened).

use crate::cluster::events::Event;
use crate::cluster::objects::PodPhase;
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, SimDuration, SimTime};

/// The sampler component.
#[derive(Debug)]
pub struct Sampler {
    every: SimDuration,
    end: SimTime,
}

impl Sampler {
    /// A sampler taking a sample every `every` up to and including `end`.
    pub fn new(every: SimDuration, end: SimTime) -> Self {
        Sampler { every, end }
    }
}

/// Record one sample of every gauge at `now`.
pub fn sample_all(state: &mut ClusterState, now: SimTime) {
    let store = &state.store;
    let rec = &mut state.recorder;
    // Kept up to date by the API server after every write (walking every pod here cost about
    // 9% of a 100,000-pod trace replay); debug builds check them against a full count.
    let g = &store.pod_gauges;
    debug_assert_eq!(
        g.totals(),
        crate::cluster::pod_gauges::PodGauges::count(store.pods.values()),
        "incremental pod gauges drifted from the store"
    );
    let (by_phase, unscheduled, ready, terminating) =
        (g.by_phase, g.unscheduled, g.ready, g.terminating);
    for (i, phase) in PodPhase::ALL.iter().enumerate() {
        rec.sample(now, "pods.phase", phase.as_str(), by_phase[i] as f64);
    }
    rec.sample(now, "pods.unscheduled", "", unscheduled as f64);
    rec.sample(now, "pods.ready", "", ready as f64);
    rec.sample(now, "pods.terminating", "", terminating as f64);
    let ratio = |a: i64, b: i64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    let (mut cpu_req, mut cpu_alloc, mut mem_req, mut mem_alloc) = (0i64, 0i64, 0i64, 0i64);
    let (mut nready, mut nunsched) = (0u64, 0u64);
    for n in store.nodes.values() {
        cpu_req += n.requested.cpu_milli;
        cpu_alloc += n.allocatable.cpu_milli;
        mem_req += n.requested.memory_bytes;
        mem_alloc += n.allocatable.memory_bytes;
        nready += u64::from(n.ready);
        nunsched += u64::from(n.unschedulable);
    }
    rec.sample(now, "nodes.total", "", store.nodes.len() as f64);
    rec.sample_aggregates.nodes_total(store.nodes.len() as f64);
    rec.sample(now, "nodes.ready", "", nready as f64);
    rec.sample(now, "nodes.unschedulable", "", nunsched as f64);
    rec.sample(
        now,
        "cluster.cpu_requested_ratio",
        "",
        ratio(cpu_req, cpu_alloc),
    );
    rec.sample_aggregates
        .cpu_requested_ratio(ratio(cpu_req, cpu_alloc));
    rec.sample(
        now,
        "cluster.memory_requested_ratio",
        "",
        ratio(mem_req, mem_alloc),
    );
    let per_node = state.spec.trace.as_ref().is_none_or(|t| t.node_metrics);
    for n in store.nodes.values().filter(|_| per_node) {
        rec.sample(
            now,
            "node.cpu_requested_ratio",
            &n.name,
            ratio(n.requested.cpu_milli, n.allocatable.cpu_milli),
        );
        rec.sample(
            now,
            "node.memory_requested_ratio",
            &n.name,
            ratio(n.requested.memory_bytes, n.allocatable.memory_bytes),
        );
        rec.sample(now, "node.pods", &n.name, n.pods.len() as f64);
    }
    for d in store.deployments.values() {
        let key = d.key();
        rec.sample(now, "deployment.replicas", &key, f64::from(d.replicas));
        rec.sample(
            now,
            "deployment.ready_replicas",
            &key,
            f64::from(d.status.ready_replicas),
        );
        rec.sample(
            now,
            "deployment.available_replicas",
            &key,
            f64::from(d.status.available_replicas),
        );
    }
    let open_cost: f64 = store
        .nodes
        .values()
        .map(|n| now.saturating_since(n.created_at).as_secs_f64() / 3600.0 * n.price_per_hour)
        .sum();
    rec.sample(now, "cost.total", "", rec.cost + open_cost);
    for (key, b) in &store.pdbs {
        let st = crate::cluster::disruption::pdb_status(b, store);
        rec.sample(
            now,
            "pdb.disruptions_allowed",
            key,
            f64::from(st.disruptions_allowed),
        );
        rec.sample(
            now,
            "pdb.current_healthy",
            key,
            f64::from(st.current_healthy),
        );
    }
    if !rec.failures.is_empty() {
        let open = rec
            .failures
            .iter()
            .filter(|f| f.at <= now && f.recovered_at.is_none_or(|t| t > now))
            .count();
        rec.sample(now, "failures.unrecovered", "", open as f64);
    }
    crate::cluster::stateful_record::sample(state, now);
}

impl Component<Event, ClusterState> for Sampler {
    fn name(&self) -> &str {
        "sampler"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        if let Event::Sample = event {
            let now = ctx.now();
            sample_all(state, now);
            let next = now + self.every;
            if self.every.as_nanos() > 0 && next <= self.end {
                ctx.send_self(self.every, Event::Sample);
            }
        }
    }
}
