//! The cluster autoscaler, after upstream's `kubernetes/autoscaler/cluster-autoscaler`
//! (`core/static_autoscaler.go` `RunOnce`, `FAQ.md` "How does scale-up work?" / "How does
//! scale-down work?"). Node groups are `NodePool`s with `autoscaling: {min, max}`. Every
//! `--scan-interval` (10 s):
//!
//! 1. **Upcoming nodes.** A requested node registers after its pool's `provisioningDelay`;
//!    one that fails (probability `failureProbability`) never does, and after
//!    `--max-node-provision-time` (15 m) the group is given up on and backed off (5 m,
//!    doubling to 30 m).
//! 2. **Scale-up.** Pods the scheduler found unschedulable (older than
//!    `--new-pod-scale-up-delay`) that would not fit on an existing or upcoming node are
//!    bin-packed onto template nodes of each group that is below its max and not backed off
//!    (upstream's `BinpackingNodeEstimator`: pods largest first, first fit, a new node when
//!    none fits), using the scheduler's own filter plugins ([`super::simulator`]). The
//!    `--expander` picks one option: `random`, `least-waste` (least idle CPU + memory
//!    fraction), `priority` (highest pool priority) or `price` (cheapest node-hours per CPU
//!    placed). The group grows by the option's node count (capped at its max).
//! 3. **Scale-down** (when no scale-up happened this loop). A node of a group above its min
//!    is unneeded when its utilization — the larger of requested CPU and memory over
//!    allocatable — is below `--scale-down-utilization-threshold` (0.5) and each of its pods
//!    can move: it has a controller, its PodDisruptionBudget allows the disruption, and it
//!    fits on another node (simulated, with the pods of nodes already found unneeded moved
//!    first). A node unneeded for `--scale-down-unneeded-time` (10 m) is removed, unless a
//!    scale-up happened in the last `--scale-down-delay-after-add` (10 m) or a scale-down
//!    failed in the last `--scale-down-delay-after-failure` (3 m): empty nodes up to
//!    `--max-empty-bulk-delete` (10) at once, else one non-empty node at a time, which is
//!    tainted `ToBeDeletedByClusterAutoscaler:NoSchedule` and drained through the Eviction API
//!    (retried every 5 s; given up after `--max-graceful-termination-sec`, 600 s) before the
//!    Node is deleted.

use std::collections::BTreeMap;

use rand::RngExt;

use crate::cluster::apiserver;
use crate::cluster::autoscaling::AutoscalingTimer;
use crate::cluster::autoscaling::simulator::{
    FitChecker, TO_BE_DELETED_TAINT, add_node, template_node, to_be_deleted_taint,
};
use crate::cluster::autoscaling_spec::{ClusterAutoscalerSpec, Expander, NodeGroupSpec};
use crate::cluster::events::{ApiWrite, ControllerTimer, Event};
use crate::cluster::objects::{Pod, PodId};
use crate::cluster::scheduler::framework::Snapshot;
use crate::cluster::spec::{NodePoolSpec, TaintEffect};
use crate::cluster::state::ClusterState;
use crate::cluster::wiring::Wiring;
use crate::engine::{Component, Context, SimDuration, SimTime};

/// How often a drain retries refused evictions (as `kubectl drain`).
pub const DRAIN_RETRY: SimDuration = SimDuration::from_secs(5);

#[derive(Clone, Debug)]
struct Upcoming {
    pool: String,
    requested_at: SimTime,
    registers_at: SimTime,
    fails: bool,
}

/// One way to help the pending pods: `nodes` new nodes of group `group`.
#[derive(Clone, Debug)]
struct ScaleUpOption {
    group: usize,
    nodes: u32,
    pods: Vec<PodId>,
    /// Idle CPU + memory fraction of the new nodes after placing the pods.
    waste: f64,
    /// Price of the new nodes per hour per CPU core placed.
    price: f64,
}

/// The cluster autoscaler component.
pub struct ClusterAutoscaler {
    cfg: ClusterAutoscalerSpec,
    groups: Vec<NodeGroupSpec>,
    checker: FitChecker,
    upcoming: Vec<Upcoming>,
    /// Per pool: back-off until, and the last back-off duration.
    backoff: BTreeMap<String, (SimTime, SimDuration)>,
    last_scale_up: Option<SimTime>,
    last_scale_down_failure: Option<SimTime>,
    /// Nodes found unneeded, since when.
    unneeded: BTreeMap<String, SimTime>,
    /// Nodes being drained, since when.
    deleting: BTreeMap<String, SimTime>,
    /// Pods seen unschedulable and not yet bound: their creation time.
    waiting: BTreeMap<PodId, SimTime>,
    drain_armed: bool,
}

impl std::fmt::Debug for ClusterAutoscaler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterAutoscaler")
            .field("groups", &self.groups.len())
            .finish()
    }
}

/// Upstream's utilization of a node: the larger of requested CPU and memory over allocatable.
pub fn node_utilization(
    requested: &crate::cluster::spec::Resources,
    alloc: &crate::cluster::spec::Resources,
) -> f64 {
    let r = |a: i64, b: i64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
    r(requested.cpu_milli, alloc.cpu_milli).max(r(requested.memory_bytes, alloc.memory_bytes))
}

impl ClusterAutoscaler {
    /// A cluster autoscaler for `groups` with options `cfg`, checking fits with the profiles of
    /// `scheduler`.
    pub fn new(
        groups: Vec<NodeGroupSpec>,
        cfg: ClusterAutoscalerSpec,
        scheduler: &crate::cluster::spec::SchedulerConfigSpec,
    ) -> Self {
        ClusterAutoscaler {
            cfg,
            groups,
            checker: FitChecker::new(scheduler),
            upcoming: Vec::new(),
            backoff: BTreeMap::new(),
            last_scale_up: None,
            last_scale_down_failure: None,
            unneeded: BTreeMap::new(),
            deleting: BTreeMap::new(),
            waiting: BTreeMap::new(),
            drain_armed: false,
        }
    }

    /// True if there is a node group (else the component stays idle).
    pub fn is_active(&self) -> bool {
        !self.groups.is_empty()
    }

    fn pool<'a>(state: &'a ClusterState, name: &str) -> Option<&'a NodePoolSpec> {
        state.spec.node_pools.iter().find(|p| p.name == name)
    }

    /// Nodes of `pool` registered plus upcoming.
    fn target_size(&self, state: &ClusterState, pool: &str) -> u32 {
        let registered = state
            .store
            .nodes
            .values()
            .filter(|n| n.pool.as_deref() == Some(pool) && !self.deleting.contains_key(&n.name))
            .count() as u32;
        registered + self.upcoming.iter().filter(|u| u.pool == pool).count() as u32
    }

    fn scan(&mut self, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        ctx.send_self(
            self.cfg.scan_interval,
            Event::Autoscaling(AutoscalingTimer::CaScan),
        );
        self.update_upcoming(state, now);
        // Pods waiting for capacity: record those bound since, forget those gone.
        let mut done = Vec::new();
        for (id, created) in &self.waiting {
            match state.store.pods.get(id) {
                None => done.push(*id),
                Some(p) => {
                    if let Some(at) = p.scheduled_at {
                        state
                            .recorder
                            .autoscaling
                            .pending_for_capacity
                            .record(at.saturating_since(*created));
                        done.push(*id);
                    }
                }
            }
        }
        for id in done {
            self.waiting.remove(&id);
        }
        let pending: Vec<PodId> = state
            .store
            .pods
            .values()
            .filter(|p| {
                p.node.is_none()
                    && p.deletion_timestamp.is_none()
                    && p.created_at + self.cfg.new_pod_scale_up_delay <= now
                    && state.recorder.pending_reasons.contains_key(&p.key())
            })
            .map(|p| p.id)
            .collect();
        for id in &pending {
            if let Some(p) = state.store.pods.get(id) {
                self.waiting.entry(*id).or_insert(p.created_at);
            }
        }
        let scaled_up = !pending.is_empty() && self.scale_up(&pending, state, ctx, now);
        if !scaled_up && self.cfg.scale_down_enabled {
            self.scale_down(state, ctx, now);
        }
        let rec = &mut state.recorder;
        rec.sample(now, "ca.upcoming_nodes", "", self.upcoming.len() as f64);
        rec.sample(now, "ca.unneeded_nodes", "", self.unneeded.len() as f64);
        rec.sample(now, "ca.pending_pods", "", pending.len() as f64);
    }

    fn update_upcoming(&mut self, state: &mut ClusterState, now: SimTime) {
        let max_time = self.cfg.max_node_provision_time;
        let mut kept = Vec::with_capacity(self.upcoming.len());
        for u in std::mem::take(&mut self.upcoming) {
            if !u.fails && now > u.registers_at {
                continue;
            }
            if u.fails && now >= u.requested_at + max_time {
                state.recorder.autoscaling.ca_nodes_failed += 1;
                let (until, d) = match self.backoff.get(&u.pool) {
                    Some((_, d)) => {
                        let d = SimDuration::from_nanos(
                            (d.as_nanos() * 2).min(self.cfg.max_backoff.as_nanos()),
                        );
                        (now + d, d)
                    }
                    None => (now + self.cfg.initial_backoff, self.cfg.initial_backoff),
                };
                self.backoff.insert(u.pool.clone(), (until, d));
                state.recorder.event(
                    now,
                    "NodePool",
                    u.pool.clone(),
                    "FailedToScaleUpGroup",
                    format!(
                        "Scale-up timed out for node group {}: a node did not register within {}s; backing off for {}s",
                        u.pool,
                        max_time.as_secs_f64(),
                        d.as_secs_f64()
                    ),
                );
                continue;
            }
            kept.push(u);
        }
        self.upcoming = kept;
    }

    /// Pods sorted as the estimator takes them: largest request first, then creation order.
    fn by_size<'a>(state: &'a ClusterState, ids: &[PodId]) -> Vec<&'a Pod> {
        let mut pods: Vec<&Pod> = ids.iter().filter_map(|i| state.store.pods.get(i)).collect();
        pods.sort_by(|a, b| {
            (b.requests.cpu_milli, b.requests.memory_bytes, a.id).cmp(&(
                a.requests.cpu_milli,
                a.requests.memory_bytes,
                b.id,
            ))
        });
        pods
    }

    fn scale_up(
        &mut self,
        pending: &[PodId],
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
        now: SimTime,
    ) -> bool {
        let mut snap = Snapshot::build(&state.store, &BTreeMap::new());
        for (k, u) in self.upcoming.iter().enumerate() {
            if let Some(pool) = Self::pool(state, &u.pool) {
                add_node(
                    &mut snap,
                    template_node(pool, &format!("upcoming-{k}-{}", u.pool), k),
                );
            }
        }
        // Pods that fit on an existing or upcoming node do not need a new one.
        let all: Vec<usize> = (0..snap.nodes.len())
            .filter(|&i| !self.deleting.contains_key(&snap.nodes[i].name))
            .collect();
        let mut remaining: Vec<PodId> = Vec::new();
        for pod in Self::by_size(state, pending) {
            match self.checker.first_fit(pod, &mut snap, &state.store, &all) {
                Some(i) => {
                    let name = snap.nodes[i].name.clone();
                    snap.add_pod(pod, &name);
                }
                None => remaining.push(pod.id),
            }
        }
        if remaining.is_empty() {
            return false;
        }
        let mut options = Vec::new();
        for (g, group) in self.groups.iter().enumerate() {
            if self
                .backoff
                .get(&group.pool)
                .is_some_and(|(until, _)| now < *until)
            {
                continue;
            }
            let size = self.target_size(state, &group.pool);
            if size >= group.max {
                continue;
            }
            let Some(pool) = Self::pool(state, &group.pool) else {
                continue;
            };
            let room = group.max - size;
            let mut s = snap.clone();
            let mut new_nodes: Vec<usize> = Vec::new();
            let mut helped = Vec::new();
            let (mut cpu_used, mut mem_used) = (0i64, 0i64);
            for pod in Self::by_size(state, &remaining) {
                if let Some(i) = self
                    .checker
                    .first_fit(pod, &mut s, &state.store, &new_nodes)
                {
                    let name = s.nodes[i].name.clone();
                    s.add_pod(pod, &name);
                } else {
                    if new_nodes.len() as u32 >= room {
                        continue;
                    }
                    let name = format!("template-{}-{}", group.pool, new_nodes.len());
                    let i = add_node(
                        &mut s,
                        template_node(pool, &name, size as usize + new_nodes.len()),
                    );
                    if self
                        .checker
                        .first_fit(pod, &mut s, &state.store, &[i])
                        .is_none()
                    {
                        // The pod does not fit even on an empty node of this group.
                        s.index.remove(&name);
                        s.nodes.pop();
                        s.selectors.clear();
                        continue;
                    }
                    s.add_pod(pod, &name);
                    new_nodes.push(i);
                }
                cpu_used += pod.requests.cpu_milli;
                mem_used += pod.requests.memory_bytes;
                helped.push(pod.id);
            }
            if helped.is_empty() {
                continue;
            }
            let n = new_nodes.len() as i64;
            let (cpu_cap, mem_cap) = (pool.capacity.cpu_milli * n, pool.capacity.memory_bytes * n);
            let frac = |used: i64, cap: i64| {
                if cap > 0 {
                    (cap - used) as f64 / cap as f64
                } else {
                    0.0
                }
            };
            options.push(ScaleUpOption {
                group: g,
                nodes: new_nodes.len() as u32,
                pods: helped,
                waste: frac(cpu_used, cpu_cap) + frac(mem_used, mem_cap),
                price: pool.price_per_hour * n as f64 / (cpu_used.max(1) as f64 / 1000.0),
            });
        }
        if options.is_empty() {
            for id in &remaining {
                if let Some(p) = state.store.pods.get(id) {
                    state.recorder.event(
                        now,
                        "Pod",
                        p.key(),
                        "NotTriggerScaleUp",
                        "pod didn't trigger scale-up: no node group can fit it or all are at their maximum size",
                    );
                }
            }
            return false;
        }
        let best = self.expand(&options, ctx);
        let o = options[best].clone();
        let group = self.groups[o.group].clone();
        let Some(pool) = Self::pool(state, &group.pool).cloned() else {
            return false;
        };
        let size = self.target_size(state, &group.pool);
        let count = o.nodes.min(group.max - size);
        let mut ok = 0u32;
        for _ in 0..count {
            let fails = group.failure_probability > 0.0
                && ctx.rng().random::<f64>() < group.failure_probability;
            self.upcoming.push(Upcoming {
                pool: group.pool.clone(),
                requested_at: now,
                registers_at: now + pool.provisioning_delay + state.control_plane.api_write_latency,
                fails,
            });
            ok += u32::from(!fails);
        }
        if ok > 0 {
            ctx.send(
                Wiring::new().nodes,
                pool.provisioning_delay,
                Event::Controller(ControllerTimer::ProvisionNodes {
                    pool: group.pool.clone(),
                    count: ok,
                }),
            );
        }
        let a = &mut state.recorder.autoscaling;
        a.ca_scale_ups += 1;
        a.ca_nodes_requested += u64::from(count);
        self.last_scale_up = Some(now);
        let msg = format!(
            "{} {}->{} (max: {})",
            group.pool,
            size,
            size + count,
            group.max
        );
        state.recorder.event(
            now,
            "NodePool",
            group.pool.clone(),
            "ScaledUpGroup",
            format!(
                "Scale-up: setting group {} size to {} instead of {} (max: {})",
                group.pool,
                size + count,
                size,
                group.max
            ),
        );
        for id in &o.pods {
            if let Some(p) = state.store.pods.get(id) {
                state.recorder.event(
                    now,
                    "Pod",
                    p.key(),
                    "TriggeredScaleUp",
                    format!("pod triggered scale-up: [{{{msg}}}]"),
                );
            }
        }
        true
    }

    /// The option the expander picks (ties broken at random).
    fn expand(&self, options: &[ScaleUpOption], ctx: &mut Context<'_, Event>) -> usize {
        let key = |o: &ScaleUpOption| -> f64 {
            match self.cfg.expander {
                Expander::Random => 0.0,
                Expander::LeastWaste => o.waste,
                Expander::Priority => -f64::from(self.groups[o.group].priority),
                Expander::Price => o.price,
            }
        };
        let best = options.iter().map(key).fold(f64::INFINITY, f64::min);
        let ties: Vec<usize> = options
            .iter()
            .enumerate()
            .filter(|(_, o)| (key(o) - best).abs() <= 1e-12)
            .map(|(i, _)| i)
            .collect();
        if ties.len() == 1 {
            return ties[0];
        }
        ties[ctx.rng().random_range(0..ties.len())]
    }

    fn scale_down(&mut self, state: &mut ClusterState, ctx: &mut Context<'_, Event>, now: SimTime) {
        use crate::cluster::disruption::{pdb_status, selects};
        let mut snap = Snapshot::build(&state.store, &BTreeMap::new());
        let mut removed_per_group: BTreeMap<String, u32> = BTreeMap::new();
        for n in self.deleting.keys() {
            if let Some(p) = state.store.nodes.get(n).and_then(|n| n.pool.clone()) {
                *removed_per_group.entry(p).or_insert(0) += 1;
            }
        }
        let mut excluded: Vec<String> = self.deleting.keys().cloned().collect();
        let mut unneeded: BTreeMap<String, SimTime> = BTreeMap::new();
        let names: Vec<String> = state.store.nodes.keys().cloned().collect();
        let pdbs: Vec<_> = state
            .store
            .pdbs
            .values()
            .map(|b| (b, pdb_status(b, &state.store).disruptions_allowed))
            .collect();
        for name in names {
            if excluded.contains(&name) {
                continue;
            }
            let node = &state.store.nodes[&name];
            let Some(pool) = node.pool.clone() else {
                continue;
            };
            let Some(group) = self.groups.iter().find(|g| g.pool == pool) else {
                continue;
            };
            if !node.ready || node.unschedulable {
                continue;
            }
            let registered = state
                .store
                .nodes
                .values()
                .filter(|n| n.pool.as_deref() == Some(pool.as_str()))
                .count() as u32;
            let removing = removed_per_group.get(&pool).copied().unwrap_or(0);
            if registered.saturating_sub(removing) <= group.min {
                continue;
            }
            if node_utilization(&node.requested, &node.allocatable)
                >= self.cfg.scale_down_utilization_threshold
            {
                continue;
            }
            // Every pod must be able to move.
            let pods: Vec<&Pod> = node
                .pods
                .iter()
                .filter_map(|id| state.store.pods.get(id))
                .filter(|p| p.is_active())
                .collect();
            let movable = pods.iter().all(|p| {
                p.owner.is_some()
                    && pdbs
                        .iter()
                        .filter(|(b, _)| selects(b, p))
                        .all(|(b, allowed)| {
                            let here = pods.iter().filter(|q| selects(b, q)).count() as i32;
                            *allowed >= here
                        })
            });
            if !movable {
                continue;
            }
            let dest: Vec<usize> = (0..snap.nodes.len())
                .filter(|&i| {
                    let n = &snap.nodes[i].name;
                    *n != name && !excluded.contains(n)
                })
                .collect();
            let mut trial = snap.clone();
            let mut fits = true;
            for p in &pods {
                trial.remove_pod(p.id);
                match self.checker.first_fit(p, &mut trial, &state.store, &dest) {
                    Some(i) => {
                        let dn = trial.nodes[i].name.clone();
                        trial.add_pod(p, &dn);
                    }
                    None => {
                        fits = false;
                        break;
                    }
                }
            }
            if !fits {
                continue;
            }
            snap = trial;
            excluded.push(name.clone());
            *removed_per_group.entry(pool).or_insert(0) += 1;
            let since = self.unneeded.get(&name).copied().unwrap_or(now);
            unneeded.insert(name, since);
        }
        self.unneeded = unneeded;
        let cooldown = self
            .last_scale_up
            .is_some_and(|t| now < t + self.cfg.scale_down_delay_after_add)
            || self
                .last_scale_down_failure
                .is_some_and(|t| now < t + self.cfg.scale_down_delay_after_failure);
        if cooldown {
            return;
        }
        let ripe: Vec<String> = self
            .unneeded
            .iter()
            .filter(|(_, since)| now.saturating_since(**since) >= self.cfg.scale_down_unneeded_time)
            .map(|(n, _)| n.clone())
            .collect();
        let empty: Vec<String> = ripe
            .iter()
            .filter(|n| {
                state.store.nodes[*n]
                    .pods
                    .iter()
                    .filter_map(|id| state.store.pods.get(id))
                    .all(|p| !p.is_active())
            })
            .take(self.cfg.max_empty_bulk_delete as usize)
            .cloned()
            .collect();
        if !empty.is_empty() {
            for n in empty {
                self.unneeded.remove(&n);
                state.recorder.event(
                    now,
                    "Node",
                    n.clone(),
                    "ScaleDownEmpty",
                    format!("Scale-down: removing empty node {n}"),
                );
                apiserver::write(
                    ctx,
                    state,
                    ApiWrite::AddNodeTaint {
                        name: n.clone(),
                        taint: to_be_deleted_taint(),
                    },
                );
                apiserver::write(ctx, state, ApiWrite::DeleteNode { name: n });
                state.recorder.autoscaling.ca_nodes_removed += 1;
            }
            return;
        }
        if !self.deleting.is_empty() {
            return;
        }
        let Some(n) = ripe.into_iter().next() else {
            return;
        };
        self.unneeded.remove(&n);
        let node = &state.store.nodes[&n];
        let util = node_utilization(&node.requested, &node.allocatable);
        state.recorder.event(
            now,
            "Node",
            n.clone(),
            "ScaleDown",
            format!("Scale-down: removing node {n}, utilization: {util:.3}, pods to reschedule"),
        );
        apiserver::write(
            ctx,
            state,
            ApiWrite::AddNodeTaint {
                name: n.clone(),
                taint: to_be_deleted_taint(),
            },
        );
        self.deleting.insert(n, now);
        self.drain(state, ctx);
    }

    /// Evict the pods of the nodes being deleted; delete a node once it is empty; give up on a
    /// node after `max_graceful_termination`.
    fn drain(&mut self, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let nodes: Vec<(String, SimTime)> =
            self.deleting.iter().map(|(k, v)| (k.clone(), *v)).collect();
        for (name, since) in nodes {
            let Some(node) = state.store.nodes.get(&name) else {
                self.deleting.remove(&name);
                continue;
            };
            let pods: Vec<&Pod> = node
                .pods
                .iter()
                .filter_map(|id| state.store.pods.get(id))
                .collect();
            if pods.is_empty() {
                self.deleting.remove(&name);
                apiserver::write(ctx, state, ApiWrite::DeleteNode { name });
                state.recorder.autoscaling.ca_nodes_removed += 1;
                continue;
            }
            if now.saturating_since(since) >= self.cfg.max_graceful_termination {
                self.deleting.remove(&name);
                self.last_scale_down_failure = Some(now);
                state.recorder.event(
                    now,
                    "Node",
                    name.clone(),
                    "ScaleDownFailed",
                    "failed to drain the node in time; aborting scale-down",
                );
                apiserver::write(
                    ctx,
                    state,
                    ApiWrite::RemoveNodeTaint {
                        name,
                        key: TO_BE_DELETED_TAINT.into(),
                        effect: TaintEffect::NoSchedule,
                    },
                );
                continue;
            }
            let ids: Vec<PodId> = pods
                .iter()
                .filter(|p| p.deletion_timestamp.is_none())
                .map(|p| p.id)
                .collect();
            for id in ids {
                apiserver::write(
                    ctx,
                    state,
                    ApiWrite::EvictPod {
                        id,
                        by: "cluster-autoscaler".into(),
                    },
                );
            }
        }
        if !self.deleting.is_empty() && !self.drain_armed {
            self.drain_armed = true;
            ctx.send_self(DRAIN_RETRY, Event::Autoscaling(AutoscalingTimer::CaDrain));
        }
    }
}

impl Component<Event, ClusterState> for ClusterAutoscaler {
    fn name(&self) -> &str {
        "cluster-autoscaler"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match event {
            Event::Autoscaling(AutoscalingTimer::CaScan) => self.scan(state, ctx),
            Event::Autoscaling(AutoscalingTimer::CaDrain) => {
                self.drain_armed = false;
                self.drain(state, ctx);
            }
            _ => {}
        }
    }
}
