//! The node lifecycle controller (upstream `pkg/controller/nodelifecycle`), the part that
//! watches heartbeats.
//!
//! Every `nodeMonitorPeriod` (5 s) it reads each node's Lease. When `renewTime` changed since
//! the last pass it records the local probe time; a node whose probe time is more than
//! `nodeMonitorGracePeriod` (50 s) old gets `Ready=Unknown` and its pods `Ready=False`
//! (`MarkPodsNotReady`). A not-ready node is queued for the
//! `node.kubernetes.io/unreachable:NoExecute` taint in its zone's queue, which takes nodes at
//! the zone's rate (a token bucket; [`super::zone_eviction`]): 0.1 nodes/s normally, less or
//! none when the zone is partially disrupted, none when every zone is down. A node whose kubelet
//! posts `Ready` again loses the taint at once. The taint eviction controller
//! ([`super::tainteviction`]) then deletes the pods whose tolerations run out.
//!
//! While the API server refuses writes (timeline `apiServerDown`) the controller makes no
//! decisions, as its writes would fail.

use std::collections::{BTreeMap, VecDeque};

use crate::cluster::apiserver;
use crate::cluster::controllers::zone_eviction::{
    TokenBucket, ZoneState, compute_zone_state, zone_rate,
};
use crate::cluster::events::{ApiWrite, ControllerTimer, Event};
use crate::cluster::spec::{Taint, TaintEffect};
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, SimTime};

/// Taint key of a node whose `Ready` condition is `Unknown` (upstream `TaintNodeUnreachable`).
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// Taint key of a node whose `Ready` condition is `False` (upstream `TaintNodeNotReady`).
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
/// Node label naming its zone.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

#[derive(Clone, Copy, Debug)]
struct Health {
    last_renew: SimTime,
    probe: SimTime,
}

/// A pass at `now` reads a Lease whose `renewTime` is `renew` (upstream `tryUpdateNodeHealth`:
/// a node seen for the first time, or whose `renewTime` changed, gets `now` as probe time).
fn observe(health: &mut Option<Health>, renew: SimTime, now: SimTime) -> &mut Health {
    let h = health.get_or_insert(Health {
        last_renew: renew,
        probe: now,
    });
    if renew != h.last_renew {
        h.last_renew = renew;
        h.probe = now;
    }
    h
}

#[derive(Debug)]
struct ZoneQueue {
    queue: VecDeque<String>,
    limiter: TokenBucket,
}

/// What the controller keeps per node, in [`crate::cluster::state::Store::nodes`] order.
#[derive(Debug)]
struct NodeEntry {
    name: String,
    /// The node's Lease as last read, its `renewTime` then, and the time before which that
    /// `renewTime` stays the same (the next renewal), so that most passes compare instead of
    /// computing the renewal schedule.
    renew_cache: Option<(crate::cluster::objects::NodeLease, SimTime, SimTime)>,
    /// `None` for a node not yet seen by a pass.
    health: Option<Health>,
    /// Index of the node's zone label in [`NodeLifecycleController::zone_names`].
    zone: usize,
}

/// The node lifecycle controller component.
#[derive(Debug, Default)]
pub struct NodeLifecycleController {
    /// One entry per node, aligned with the store's nodes while `aligned_with` is the store's
    /// `node_set_version` (so the per-node pass compares no names and reads no labels).
    health: Vec<NodeEntry>,
    aligned_with: Option<u64>,
    /// Zone label values seen, indexed by [`NodeEntry::zone`].
    zone_names: Vec<String>,
    zones: BTreeMap<String, ZoneQueue>,
    /// The last computed state of each zone, indexed like `zone_names` (`None` before the
    /// zone's first pass).
    zone_states: Vec<Option<ZoneState>>,
    queue_timer_at: Option<SimTime>,
    /// Indices into `zone_names`, sorted by name: the order zones are handled in.
    zone_order: Vec<usize>,
    /// The pass's (ready, not ready) counts by zone index, kept to reuse the allocation.
    zone_counts: Vec<(u32, u32)>,
    /// Set while every node is parked (see [`Parked`]): passes then skip the per-node loop.
    parked: Option<Parked>,
}

/// Every node was, at the last full pass, Ready, untainted, fresh and renewing its Lease at
/// least once per grace period, no zone queue held a node, and since then no node's health
/// inputs (`ready`, `taints`, `lease`) changed and no node was added or removed.
///
/// Such a pass changes nothing but each node's probe record: it counts every node as ready
/// in its zone (the counts, so the zone states and rates, are those of the last full pass),
/// queues and taints nothing. The probe records follow from the Lease schedule alone, so the
/// passes in between only note their times and [`NodeLifecycleController::unpark`] brings
/// every record up to date before the next full pass (upstream `tryUpdateNodeHealth` records
/// the probe time of the first pass that sees a new `renewTime`; with renewals every
/// `nodeStatusUpdateFrequency` <= `nodeMonitorGracePeriod` that probe is never older than the
/// grace period, so no parked node can turn stale).
#[derive(Debug)]
struct Parked {
    /// [`crate::cluster::state::Store::node_health_version`] at the last full pass.
    health_version: u64,
    /// Times of the passes since the last full pass, ascending, less those more than one
    /// renewal interval older than the newest (see [`Parked::note`]).
    passes: VecDeque<SimTime>,
}

impl Parked {
    /// Note a pass at `now`. A record brought up to date takes as probe time the first pass
    /// at or after its node's last `renewTime`, which is later than `now - frequency` for a
    /// renewing Lease, so passes before that are dropped (a long quiet run keeps a few).
    fn note(&mut self, now: SimTime, frequency: crate::engine::SimDuration) {
        self.passes.push_back(now);
        let horizon = SimTime(now.as_nanos().saturating_sub(frequency.as_nanos()));
        while self.passes.front().is_some_and(|&t| t < horizon) {
            self.passes.pop_front();
        }
    }
}

impl NodeLifecycleController {
    /// A new controller (the world sends it its first `MonitorNodes` at time zero).
    pub fn new() -> Self {
        Self::default()
    }

    fn monitor(&mut self, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        ctx.send_self(
            state.control_plane.node_monitor_period,
            Event::Controller(ControllerTimer::MonitorNodes),
        );
        if state.api_down_until.is_some_and(|t| now < t) {
            return;
        }
        if let Some(p) = &mut self.parked {
            let store = &state.store;
            if p.health_version == store.node_health_version
                && self.aligned_with == Some(store.node_set_version)
            {
                #[cfg(debug_assertions)]
                for ((name, node), e) in store.nodes.iter().zip(self.health.iter()) {
                    debug_assert!(
                        node.ready
                            && node.taints.is_empty()
                            && e.renew_cache.is_some_and(|(l, _, _)| l == node.lease),
                        "node {name} changed without a node_health_version bump"
                    );
                }
                p.note(now, state.control_plane.node_status_update_frequency);
                return;
            }
        }
        let cp = state.control_plane.clone();
        self.unpark(cp.node_status_update_frequency);
        self.align(state);
        // Whether every node took the quiet branch and can be parked after this pass.
        let mut all_quiet = true;
        let mut writes: Vec<ApiWrite> = Vec::new();
        // (ready, not ready) by zone index.
        let mut zone_counts = std::mem::take(&mut self.zone_counts);
        zone_counts.clear();
        zone_counts.resize(self.zone_names.len(), (0, 0));
        let store = &state.store;
        // While no zone queue holds a node, a Ready node without taints that is not stale
        // only counts as ready in its zone (nothing to dequeue, no taint to remove).
        let mut queued = self.zones.values().any(|q| !q.queue.is_empty());
        for ((name, node), e) in store.nodes.iter().zip(self.health.iter_mut()) {
            debug_assert_eq!(name, &e.name, "node entries out of step with the store");
            let renew = match e.renew_cache {
                Some((lease, renew, until)) if lease == node.lease && now < until => renew,
                _ => {
                    let freq = cp.node_status_update_frequency;
                    let renew = node.lease.renew_time(now, freq);
                    // A renewing lease's `renewTime` moves at the next renewal; a stopped one
                    // keeps it (until the lease is written again).
                    let until = if node.lease.renewing && freq.as_nanos() > 0 {
                        SimTime(renew.as_nanos().saturating_add(freq.as_nanos()))
                    } else {
                        SimTime(u64::MAX)
                    };
                    e.renew_cache = Some((node.lease, renew, until));
                    renew
                }
            };
            let h = observe(&mut e.health, renew, now);
            let stale = now.saturating_since(h.probe) > cp.node_monitor_grace_period;
            if node.ready && !stale && !queued && node.taints.is_empty() {
                zone_counts[e.zone].0 += 1;
                // Parkable: the Lease renews at least once per grace period from a schedule
                // that started before this pass (see `Parked`).
                all_quiet &= node.lease.renewing
                    && node.lease.anchor < now
                    && cp.node_status_update_frequency.as_nanos() > 0
                    && cp.node_status_update_frequency <= cp.node_monitor_grace_period;
                continue;
            }
            all_quiet = false;
            let mut ready = node.ready;
            if ready && stale {
                ready = false;
                writes.push(ApiWrite::SetNodeReady {
                    name: name.clone(),
                    ready: false,
                });
                // MarkPodsNotReady.
                for id in &node.pods {
                    if store.pods.get(id).is_some_and(|p| p.is_ready()) {
                        writes.push(ApiWrite::PodReady {
                            id: *id,
                            ready: false,
                        });
                    }
                }
            }
            let zone = self.zone_names[e.zone].as_str();
            debug_assert_eq!(zone, node.labels.get(ZONE_LABEL).map_or("", String::as_str));
            let c = &mut zone_counts[e.zone];
            if ready {
                c.0 += 1;
            } else {
                c.1 += 1;
            }
            let tainted = node
                .taints
                .iter()
                .any(|t| t.key == TAINT_UNREACHABLE && t.effect == TaintEffect::NoExecute);
            if !ready && !tainted {
                let q = self
                    .zones
                    .entry(zone.to_string())
                    .or_insert_with(|| ZoneQueue {
                        queue: VecDeque::new(),
                        limiter: TokenBucket::new(cp.node_eviction_rate),
                    });
                if !q.queue.contains(name) {
                    q.queue.push_back(name.clone());
                }
                queued = true;
            } else if ready {
                if let Some(q) = self.zones.get_mut(zone) {
                    q.queue.retain(|n| n != name);
                }
                if tainted {
                    writes.push(ApiWrite::RemoveNodeTaint {
                        name: name.clone(),
                        key: TAINT_UNREACHABLE.into(),
                        effect: TaintEffect::NoExecute,
                    });
                }
            }
        }
        // Only zones with at least one node, by name. Zone names are only ever added (by
        // `align`), so their order is sorted again only then, and a pass neither copies,
        // compares nor allocates names (this pass runs every 5 s even in a one-node cluster).
        if self.zone_order.len() != self.zone_names.len() {
            let names = &self.zone_names;
            self.zone_order = (0..names.len()).collect();
            self.zone_order.sort_by(|&a, &b| names[a].cmp(&names[b]));
            self.zone_states.resize(names.len(), None);
        }
        let with_nodes = |i: &&usize| {
            let (r, n) = zone_counts[**i];
            r + n > 0
        };
        // handleDisruption: zone states and rates.
        let all_full = self.zone_order.iter().any(|i| with_nodes(&i))
            && self.zone_order.iter().filter(with_nodes).all(|&i| {
                let (r, n) = zone_counts[i];
                compute_zone_state(r, n, cp.unhealthy_zone_threshold) == ZoneState::FullDisruption
            });
        for &i in self.zone_order.iter().filter(with_nodes) {
            let (r, n) = zone_counts[i];
            let zone = self.zone_names[i].as_str();
            let st = compute_zone_state(r, n, cp.unhealthy_zone_threshold);
            let prev = self.zone_states[i].replace(st);
            if prev.is_some_and(|p| p != st) || (prev.is_none() && st != ZoneState::Normal) {
                state.recorder.event(
                    now,
                    "Zone",
                    zone.to_string(),
                    "ZoneStateChanged",
                    format!("zone {zone:?} is now {st:?} ({r} ready, {n} not ready)"),
                );
            }
            let rate = zone_rate(
                st,
                r + n,
                all_full,
                cp.node_eviction_rate,
                cp.secondary_node_eviction_rate,
                cp.large_cluster_size_threshold,
            );
            if let Some(q) = self.zones.get_mut(zone) {
                q.limiter.set_rate(rate, now);
            }
        }
        self.zone_counts = zone_counts;
        let health_version = state.store.node_health_version;
        all_quiet &= writes.is_empty();
        for w in writes {
            apiserver::write(ctx, state, w);
        }
        self.drain_queues(state, ctx);
        if all_quiet && self.zones.values().all(|q| q.queue.is_empty()) {
            self.parked = Some(Parked {
                health_version,
                passes: VecDeque::new(),
            });
        }
    }

    /// Bring every parked node's probe record to what the passes since the last full pass
    /// would have made it, and leave the parked state. A record changes only if the node's
    /// `renewTime` moved: then it holds the last `renewTime` and, as probe time, the first of
    /// those passes that saw it (upstream `tryUpdateNodeHealth` sets the probe timestamp when
    /// the Lease's `renewTime` differs from the saved one).
    fn unpark(&mut self, frequency: crate::engine::SimDuration) {
        let Some(p) = self.parked.take() else {
            return;
        };
        let Some(&last) = p.passes.back() else {
            return;
        };
        for e in &mut self.health {
            let (Some((lease, _, _)), Some(h)) = (e.renew_cache, e.health.as_mut()) else {
                continue;
            };
            let renew = lease.renew_time(last, frequency);
            if renew != h.last_renew {
                h.last_renew = renew;
                // `renew <= last`, so some pass is at or after it.
                let i = p.passes.partition_point(|&t| t < renew);
                h.probe = p.passes[i];
            }
        }
    }

    /// Re-align the per-node entries with the store's nodes after nodes were added or removed:
    /// entries of deleted nodes are dropped, new nodes get one (probed at the next pass), and each
    /// node's zone label is resolved to an index once.
    fn align(&mut self, state: &ClusterState) {
        let store = &state.store;
        if self.aligned_with == Some(store.node_set_version)
            && self.health.len() == store.nodes.len()
        {
            return;
        }
        let mut old = std::mem::take(&mut self.health).into_iter().peekable();
        let mut health = Vec::with_capacity(store.nodes.len());
        for (name, node) in &store.nodes {
            while old.peek().is_some_and(|e| &e.name < name) {
                old.next();
            }
            let zone_label = node.labels.get(ZONE_LABEL).map_or("", String::as_str);
            let zone = match self.zone_names.iter().position(|z| z == zone_label) {
                Some(i) => i,
                None => {
                    self.zone_names.push(zone_label.to_string());
                    self.zone_names.len() - 1
                }
            };
            let health_of = old.next_if(|e| &e.name == name).and_then(|e| e.health);
            health.push(NodeEntry {
                name: name.clone(),
                renew_cache: None,
                health: health_of,
                zone,
            });
        }
        self.health = health;
        self.aligned_with = Some(store.node_set_version);
    }

    /// Taint queued nodes as the zones' limiters allow; arm a timer for the next token.
    fn drain_queues(&mut self, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let mut next: Option<SimTime> = None;
        let mut writes: Vec<ApiWrite> = Vec::new();
        for q in self.zones.values_mut() {
            while let Some(name) = q.queue.front().cloned() {
                // The monitor pass removes nodes that became ready again; the `Ready=Unknown`
                // write of this pass may not be committed yet.
                let still = state.store.nodes.get(&name).is_some_and(|n| {
                    !n.taints
                        .iter()
                        .any(|t| t.key == TAINT_UNREACHABLE && t.effect == TaintEffect::NoExecute)
                });
                if !still {
                    q.queue.pop_front();
                    continue;
                }
                if !q.limiter.try_accept(now) {
                    if let Some(t) = q.limiter.next_available(now) {
                        next = Some(next.map_or(t, |x: SimTime| x.min(t)));
                    }
                    break;
                }
                q.queue.pop_front();
                writes.push(ApiWrite::AddNodeTaint {
                    name,
                    taint: Taint {
                        key: TAINT_UNREACHABLE.into(),
                        value: String::new(),
                        effect: TaintEffect::NoExecute,
                    },
                });
            }
        }
        for w in writes {
            apiserver::write(ctx, state, w);
        }
        if let Some(t) = next
            && self.queue_timer_at.is_none_or(|a| a <= now || t < a)
        {
            self.queue_timer_at = Some(t);
            ctx.send_at(
                ctx.self_id(),
                t,
                Event::Controller(ControllerTimer::TaintQueue),
            );
        }
    }
}

impl Component<Event, ClusterState> for NodeLifecycleController {
    fn name(&self) -> &str {
        "node-lifecycle-controller"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match event {
            // Without a kube-controller-manager leader nobody monitors nodes; the pass keeps
            // its period so the next leader's first pass comes within one period.
            Event::Controller(ControllerTimer::MonitorNodes)
                if !state.leadership.controller_manager =>
            {
                ctx.send_self(
                    state.control_plane.node_monitor_period,
                    Event::Controller(ControllerTimer::MonitorNodes),
                );
            }
            Event::Controller(ControllerTimer::TaintQueue)
                if !state.leadership.controller_manager =>
            {
                self.queue_timer_at = None;
            }
            // A fresh process has no node health data: its first pass takes every node's
            // lease as just observed (upstream `nodeHealthMap` starts empty, so each node gets
            // a full grace period again).
            Event::Controller(ControllerTimer::StartedLeading) => {
                self.parked = None;
                for e in &mut self.health {
                    e.health = None;
                }
            }
            Event::Controller(ControllerTimer::MonitorNodes) => self.monitor(state, ctx),
            Event::Controller(ControllerTimer::TaintQueue) => {
                if self.queue_timer_at.is_some_and(|t| t <= ctx.now()) {
                    self.queue_timer_at = None;
                }
                self.drain_queues(state, ctx);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::objects::NodeLease;
    use crate::engine::SimDuration;

    /// A small deterministic generator for the model check (xorshift64*).
    struct Gen(u64);
    impl Gen {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
        }
    }

    /// Parking a node at a pass and bringing its record up to date after any number of
    /// passes (regular, or with gaps as while the API server is down or nobody leads) gives
    /// the record that observing the Lease at every one of those passes gives, though only the
    /// passes of the last renewal interval are kept, and no such pass would have found the node
    /// stale.
    #[test]
    fn unpark_matches_observing_every_pass() {
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        for case in 0..2_000 {
            let f = SimDuration::from_secs(1 + g.below(12));
            let grace = f + SimDuration::from_secs(g.below(40));
            let anchor = SimTime(g.below(30) * 1_000_000_000);
            let lease = NodeLease {
                renewing: true,
                anchor,
            };
            // The full pass that parks the node, after the anchor.
            let mut now = anchor + SimDuration::from_secs(1 + g.below(20));
            let mut stepped = None;
            // Passes before it (the record it is parked with).
            let mut t = anchor;
            for _ in 0..g.below(4) {
                t += SimDuration::from_secs(1 + g.below(5));
                if t < now {
                    observe(&mut stepped, lease.renew_time(t, f), t);
                }
            }
            observe(&mut stepped, lease.renew_time(now, f), now);
            let mut c = NodeLifecycleController::default();
            c.health.push(NodeEntry {
                name: "n".into(),
                renew_cache: Some((lease, lease.renew_time(now, f), SimTime(u64::MAX))),
                health: stepped,
                zone: 0,
            });
            let mut p = Parked {
                health_version: 0,
                passes: VecDeque::new(),
            };
            let mut kept_max = 0;
            for _ in 0..g.below(40) {
                let period = if g.below(8) == 0 { 1 + g.below(120) } else { 5 };
                now += SimDuration::from_secs(period);
                let h = observe(&mut stepped, lease.renew_time(now, f), now);
                assert!(
                    now.saturating_since(h.probe) <= grace,
                    "case {case}: a parked node would turn stale"
                );
                p.note(now, f);
                kept_max = kept_max.max(p.passes.len());
            }
            // Only the passes of the last renewal interval are kept.
            assert!(
                kept_max as u64 <= f.as_nanos() / 1_000_000_000 + 2,
                "case {case}"
            );
            c.parked = Some(p);
            c.unpark(f);
            assert!(c.parked.is_none());
            let (want, got) = (stepped.unwrap(), c.health[0].health.unwrap());
            assert_eq!(
                (want.last_renew, want.probe),
                (got.last_renew, got.probe),
                "case {case}"
            );
        }
    }
}
