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

#[derive(Debug)]
struct ZoneQueue {
    queue: VecDeque<String>,
    limiter: TokenBucket,
}

/// The node lifecycle controller component.
#[derive(Debug, Default)]
pub struct NodeLifecycleController {
    health: BTreeMap<String, Health>,
    zones: BTreeMap<String, ZoneQueue>,
    zone_states: BTreeMap<String, ZoneState>,
    queue_timer_at: Option<SimTime>,
}

impl NodeLifecycleController {
    /// A new controller (the world sends it its first `MonitorNodes` at time zero).
    pub fn new() -> Self {
        Self::default()
    }

    fn monitor(&mut self, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let cp = state.control_plane.clone();
        ctx.send_self(
            cp.node_monitor_period,
            Event::Controller(ControllerTimer::MonitorNodes),
        );
        if state.api_down_until.is_some_and(|t| now < t) {
            return;
        }
        // One ordered pass over the nodes and the health records together (both sorted by
        // name): records of deleted nodes are dropped, new nodes get one, and no per-node map
        // lookup or allocation is needed for the nodes already known.
        let mut old = std::mem::take(&mut self.health).into_iter().peekable();
        let mut health: Vec<(String, Health)> = Vec::with_capacity(state.store.nodes.len());
        let mut writes: Vec<ApiWrite> = Vec::new();
        // (zone, ready, not ready), in first-seen order; sorted into a map below.
        let mut zone_counts: Vec<(&str, u32, u32)> = Vec::new();
        let store = &state.store;
        for (name, node) in &store.nodes {
            while old.peek().is_some_and(|(k, _)| k < name) {
                old.next();
            }
            let renew = node.lease.renew_time(now, cp.node_status_update_frequency);
            let mut h = match old.next_if(|(k, _)| k == name) {
                Some((k, h)) => (k, h),
                None => (
                    name.clone(),
                    Health {
                        last_renew: renew,
                        probe: now,
                    },
                ),
            };
            if renew != h.1.last_renew {
                h.1.last_renew = renew;
                h.1.probe = now;
            }
            let stale = now.saturating_since(h.1.probe) > cp.node_monitor_grace_period;
            health.push(h);
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
            let zone = node.labels.get(ZONE_LABEL).map_or("", String::as_str);
            let c = match zone_counts.iter_mut().position(|z| z.0 == zone) {
                Some(i) => &mut zone_counts[i],
                None => {
                    zone_counts.push((zone, 0, 0));
                    zone_counts.last_mut().expect("just pushed")
                }
            };
            if ready {
                c.1 += 1;
            } else {
                c.2 += 1;
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
        // Sorted by name already: a bulk build.
        self.health = health.into_iter().collect();
        let counts: BTreeMap<String, (u32, u32)> = zone_counts
            .into_iter()
            .map(|(z, r, n)| (z.to_string(), (r, n)))
            .collect();
        // handleDisruption: zone states and rates.
        let all_full = !counts.is_empty()
            && counts.values().all(|(r, n)| {
                compute_zone_state(*r, *n, cp.unhealthy_zone_threshold) == ZoneState::FullDisruption
            });
        for (zone, (r, n)) in &counts {
            let st = compute_zone_state(*r, *n, cp.unhealthy_zone_threshold);
            let prev = self.zone_states.insert(zone.clone(), st);
            if prev.is_some_and(|p| p != st) || (prev.is_none() && st != ZoneState::Normal) {
                state.recorder.event(
                    now,
                    "Zone",
                    zone.clone(),
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
        for w in writes {
            apiserver::write(ctx, state, w);
        }
        self.drain_queues(state, ctx);
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
