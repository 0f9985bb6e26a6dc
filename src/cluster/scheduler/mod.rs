//! The first kube-scheduler: a priority-ordered active queue, an unschedulable set that cluster
//! events (node added or changed, assigned pod deleted) and a periodic flush move back, one
//! scheduling cycle at a time with a configurable latency, and binding through the API server.
//!
//! Filters: NodeUnschedulable, NodeName, NodeAffinity (nodeSelector), NodeResourcesFit; score:
//! NodeResourcesFit LeastAllocated; ties broken by upstream's reservoir sampling from the
//! scheduler's own random stream.

pub mod plugins;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use rand::RngExt;

use crate::cluster::apiserver;
use crate::cluster::events::{ApiWrite, Change, Event, ObjectRef, SchedulerTimer, WatchEvent};
use crate::cluster::objects::{ObjectKind, Pod, PodId};
use crate::cluster::spec::Resources;
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, SimDuration, SimTime};
use plugins::{FILTERS, FilterReason, NodeInfo, least_allocated_score};

/// Name pods must carry in `spec.schedulerName` for this scheduler to place them.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// How often the unschedulable set is checked for pods that waited long enough (upstream
/// `flushUnschedulablePodsLeftover` runs every 30 s).
const FLUSH_PERIOD: SimDuration = SimDuration::from_secs(30);

/// The scheduler component.
#[derive(Debug, Default)]
pub struct Scheduler {
    /// activeQ: (higher priority first, then first enqueued) — upstream PrioritySort.
    active: BTreeSet<(Reverse<i32>, u64, PodId)>,
    /// Where each queued pod sits in `active`.
    queued: BTreeMap<PodId, (Reverse<i32>, u64)>,
    /// Unschedulable pods and when they became so.
    unschedulable: BTreeMap<PodId, SimTime>,
    /// Pods assumed onto a node whose binding has not been observed: (node, requests, non-zero).
    assumed: BTreeMap<PodId, (String, Resources, Resources)>,
    /// Sum of assumed requests per node.
    assumed_by_node: BTreeMap<String, (Resources, Resources)>,
    /// Pod in the current cycle.
    in_cycle: Option<PodId>,
    enqueue_seq: u64,
    flush_armed: bool,
}

impl Scheduler {
    /// A new scheduler.
    pub fn new() -> Self {
        Self::default()
    }

    fn enqueue(&mut self, pod: &Pod) {
        if self.queued.contains_key(&pod.id) || self.in_cycle == Some(pod.id) {
            return;
        }
        self.unschedulable.remove(&pod.id);
        let key = (Reverse(pod.template.priority), self.enqueue_seq);
        self.enqueue_seq += 1;
        self.active.insert((key.0, key.1, pod.id));
        self.queued.insert(pod.id, key);
    }

    fn dequeue(&mut self, id: PodId) {
        if let Some((p, s)) = self.queued.remove(&id) {
            self.active.remove(&(p, s, id));
        }
        self.unschedulable.remove(&id);
    }

    fn forget_assumed(&mut self, id: PodId) {
        if let Some((node, r, nz)) = self.assumed.remove(&id)
            && let Some(e) = self.assumed_by_node.get_mut(&node)
        {
            e.0 = e.0.sub(&r);
            e.1 = e.1.sub(&nz);
            if e.0.pods == 0 {
                self.assumed_by_node.remove(&node);
            }
        }
    }

    /// Move every unschedulable pod back to the active queue (a cluster event may have made
    /// room).
    fn move_all_to_active(&mut self, state: &ClusterState) {
        let ids: Vec<PodId> = self.unschedulable.keys().copied().collect();
        for id in ids {
            self.unschedulable.remove(&id);
            if let Some(pod) = state.store.pods.get(&id) {
                self.enqueue(pod);
            }
        }
    }

    fn maybe_start_cycle(&mut self, state: &ClusterState, ctx: &mut Context<'_, Event>) {
        if self.in_cycle.is_some() {
            return;
        }
        while let Some(&(p, s, id)) = self.active.iter().next() {
            self.active.remove(&(p, s, id));
            self.queued.remove(&id);
            let Some(pod) = state.store.pods.get(&id) else {
                continue;
            };
            if pod.node.is_some() || pod.deletion_timestamp.is_some() {
                continue;
            }
            self.in_cycle = Some(id);
            ctx.send_self(
                state.control_plane.scheduling_latency,
                Event::Scheduler(SchedulerTimer::CycleDone),
            );
            return;
        }
    }

    /// Run filters and scores for `pod` over all nodes; the chosen node or the failure reasons.
    fn place(
        &self,
        pod: &Pod,
        state: &ClusterState,
        ctx: &mut Context<'_, Event>,
    ) -> Result<String, (usize, BTreeMap<FilterReason, usize>)> {
        let mut reasons: BTreeMap<FilterReason, usize> = BTreeMap::new();
        let mut best: Option<(&str, i64)> = None;
        let mut ties = 0u32;
        for node in state.store.nodes.values() {
            let (assumed, assumed_non_zero) = self
                .assumed_by_node
                .get(&node.name)
                .copied()
                .unwrap_or_default();
            let info = NodeInfo {
                node,
                assumed,
                assumed_non_zero,
            };
            let verdict = if !node.ready {
                Err(FilterReason::NotReady)
            } else {
                FILTERS.iter().try_for_each(|f| f(pod, &info))
            };
            if let Err(r) = verdict {
                *reasons.entry(r).or_insert(0) += 1;
                continue;
            }
            let score = least_allocated_score(pod, &info);
            // Upstream selectHost: reservoir sampling among the nodes with the top score.
            match best {
                None => {
                    best = Some((&node.name, score));
                    ties = 1;
                }
                Some((_, s)) if score > s => {
                    best = Some((&node.name, score));
                    ties = 1;
                }
                Some((_, s)) if score == s => {
                    ties += 1;
                    if ctx.rng().random_range(0..ties) == 0 {
                        best = Some((&node.name, score));
                    }
                }
                Some(_) => {}
            }
        }
        match best {
            Some((n, _)) => Ok(n.to_string()),
            None => Err((state.store.nodes.len(), reasons)),
        }
    }

    fn finish_cycle(&mut self, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let Some(id) = self.in_cycle.take() else {
            return;
        };
        let now = ctx.now();
        let Some(pod) = state.store.pods.get(&id) else {
            return;
        };
        if pod.node.is_some() || pod.deletion_timestamp.is_some() {
            return;
        }
        match self.place(pod, state, ctx) {
            Ok(node) => {
                let e = self.assumed_by_node.entry(node.clone()).or_default();
                e.0 = e.0.add(&pod.requests);
                e.1 = e.1.add(&pod.non_zero_requests);
                self.assumed
                    .insert(id, (node.clone(), pod.requests, pod.non_zero_requests));
                apiserver::write(ctx, state, ApiWrite::BindPod { id, node });
            }
            Err((n, reasons)) => {
                // Upstream FitError.Error(): "0/N nodes are available: <count> <reason>, ...."
                // with the "<count> <reason>" strings sorted.
                let mut parts: Vec<String> = reasons
                    .iter()
                    .map(|(r, c)| format!("{c} {}", r.message()))
                    .collect();
                parts.sort();
                let msg = format!("0/{n} nodes are available: {}.", parts.join(", "));
                let key = pod.key();
                state.recorder.counters.failed_scheduling += 1;
                state
                    .recorder
                    .event(now, "Pod", key, "FailedScheduling", msg);
                self.unschedulable.insert(id, now);
                if !self.flush_armed {
                    self.flush_armed = true;
                    ctx.send_self(
                        FLUSH_PERIOD,
                        Event::Scheduler(SchedulerTimer::FlushUnschedulable),
                    );
                }
            }
        }
    }

    fn on_watch(&mut self, w: &WatchEvent, state: &ClusterState) {
        match (w.kind, &w.object) {
            (ObjectKind::Pod, ObjectRef::Pod { id, node, .. }) => match w.change {
                Change::Added | Change::Modified => {
                    let Some(pod) = state.store.pods.get(id) else {
                        return;
                    };
                    if pod.node.is_some() {
                        self.forget_assumed(*id);
                        self.dequeue(*id);
                    } else if pod.deletion_timestamp.is_some() {
                        self.dequeue(*id);
                    } else if w.change == Change::Added
                        && pod.template.scheduler_name == DEFAULT_SCHEDULER_NAME
                    {
                        self.enqueue(pod);
                    }
                }
                Change::Deleted => {
                    self.dequeue(*id);
                    self.forget_assumed(*id);
                    if node.is_some() {
                        // AssignedPodDelete may free room for unschedulable pods.
                        self.move_all_to_active(state);
                    }
                }
            },
            (ObjectKind::Node, _) => match w.change {
                Change::Added | Change::Modified => self.move_all_to_active(state),
                Change::Deleted => {}
            },
            _ => {}
        }
    }
}

impl Component<Event, ClusterState> for Scheduler {
    fn name(&self) -> &str {
        "scheduler"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match event {
            Event::Watch(w) => self.on_watch(&w, state),
            Event::Scheduler(SchedulerTimer::CycleDone) => self.finish_cycle(state, ctx),
            Event::Scheduler(SchedulerTimer::FlushUnschedulable) => {
                // Upstream podMaxInUnschedulablePodsDuration: pods unschedulable for longer are
                // retried even without a cluster event.
                let now = ctx.now();
                let retry = state.control_plane.unschedulable_retry;
                let due: Vec<PodId> = self
                    .unschedulable
                    .iter()
                    .filter(|(_, since)| now.saturating_since(**since) >= retry)
                    .map(|(id, _)| *id)
                    .collect();
                for id in due {
                    self.unschedulable.remove(&id);
                    if let Some(pod) = state.store.pods.get(&id) {
                        self.enqueue(pod);
                    }
                }
                self.flush_armed = !self.unschedulable.is_empty();
                if self.flush_armed {
                    ctx.send_self(
                        FLUSH_PERIOD,
                        Event::Scheduler(SchedulerTimer::FlushUnschedulable),
                    );
                }
            }
            _ => {}
        }
        self.maybe_start_cycle(state, ctx);
    }
}
