//! The kube-scheduler: a scheduling queue (activeQ by priority, backoffQ, unschedulable pods
//! moved back on cluster events), one scheduling cycle at a time with a configurable latency,
//! profiles of plugins run through the framework's extension points, and binding through the
//! API server.
//!
//! Upstream: `pkg/scheduler/schedule_one.go` (`schedulePod`, `findNodesThatFitPod` with
//! `numFeasibleNodesToFind` and the rotating `nextStartNodeIndex`, `prioritizeNodes`,
//! `selectHost` with reservoir sampling among the top scores) and
//! `framework/runtime/framework.go`.

pub mod explain;
pub mod fit_cache;
pub mod framework;
pub mod placed;
pub mod plugins;
pub mod preemption;
pub mod queue;
pub mod resource_columns;
pub mod select_host;
pub mod topology;

#[cfg(test)]
pub(crate) mod tests_support;

use std::collections::BTreeMap;

use rand::RngExt;

use crate::cluster::apiserver;
use crate::cluster::events::{ApiWrite, Change, Event, ObjectRef, SchedulerTimer, WatchEvent};
use crate::cluster::objects::{ObjectKind, Pod, PodId};
use crate::cluster::spec::SchedulerConfigSpec;
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, SimDuration, SimRng};
use explain::{Explanation, NodeVerdict, PluginScore};
use fit_cache::FitCache;
use framework::{CycleContext, Framework, Reason, Registry, Snapshot, num_feasible_nodes_to_find};
use plugins::noderesources::{self, FitRequest, ResourcePlugin};
use queue::SchedulingQueue;

/// Name pods carry in `spec.schedulerName` for the default profile.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";

/// Period of the unschedulable-pods flush (upstream `flushUnschedulablePodsLeftover`, 30 s).
const FLUSH_PERIOD: SimDuration = SimDuration::from_secs(30);
/// Period of the backoffQ flush (upstream `flushBackoffQCompleted`, 1 s).
const BACKOFF_FLUSH_PERIOD: SimDuration = SimDuration::from_secs(1);

/// The scheduler component.
pub struct Scheduler {
    queue: SchedulingQueue,
    profiles: BTreeMap<String, Framework>,
    config: SchedulerConfigSpec,
    snapshot: Snapshot,
    snapshot_dirty: bool,
    /// Assumed pods: node name.
    assumed: BTreeMap<PodId, String>,
    in_cycle: Option<PodId>,
    cycle: u64,
    move_request_cycle: u64,
    next_start_node_index: usize,
    flush_armed: bool,
    backoff_armed: bool,
    explain: Option<String>,
    /// The pod being explained, once the first pod matching `explain` was attempted.
    explain_pod: Option<PodId>,
    /// Nominated node of pods that preempted others (upstream `status.nominatedNodeName`).
    nominated: BTreeMap<PodId, String>,
    /// Nodes rejected in the last cycle with the index of the filter plugin that rejected them.
    failed_nodes: Vec<(usize, usize)>,
    /// The last cycle failed from the FitError cache: its key and start node. `failed_nodes`
    /// is then empty and stands for that entry's list ([`FitCache::fill_failed`]).
    failed_cached: Option<(fit_cache::ShapeKey, usize)>,
    /// PostFilter's last "no victims" message.
    no_victims: preemption::NoVictimsMessage,
    // Reused buffers (no per-node allocation per cycle).
    /// Indices of the filter plugins run this cycle (PreFilter did not say Skip).
    active_filters: Vec<usize>,
    feasible: Vec<usize>,
    reasons: Vec<Reason>,
    scores: Vec<i64>,
    totals: Vec<i64>,
    /// Verdicts of the last failed attempt per request shape (see [`fit_cache`]).
    fit_cache: FitCache,
    /// Reused buffer of the pod key (`namespace/name`) of the cycle being finished.
    key_buf: String,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("profiles", &self.profiles.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Default for Scheduler {
    fn default() -> Self {
        Self::new()
    }
}

impl Scheduler {
    /// A scheduler with upstream's default configuration and the built-in plugins.
    pub fn new() -> Self {
        Self::with_config(
            &SchedulerConfigSpec::default(),
            &Registry::with_builtins(),
            None,
        )
        .expect("the default profile uses built-in plugins only")
    }

    /// A scheduler for `config` with plugins from `registry`; `explain` names a pod
    /// (`namespace/name`) whose attempts are recorded for `kubesim explain`. `Err` names a
    /// plugin the registry does not know.
    pub fn with_config(
        config: &SchedulerConfigSpec,
        registry: &Registry,
        explain: Option<String>,
    ) -> Result<Self, String> {
        let mut profiles = BTreeMap::new();
        for (name, p) in &config.profiles {
            profiles.insert(name.clone(), Framework::new(p, registry)?);
        }
        Ok(Scheduler {
            queue: SchedulingQueue::new(
                SimDuration::from_secs(config.pod_initial_backoff_seconds.max(0) as u64),
                SimDuration::from_secs(config.pod_max_backoff_seconds.max(0) as u64),
            ),
            profiles,
            config: config.clone(),
            snapshot: Snapshot::default(),
            snapshot_dirty: true,
            assumed: BTreeMap::new(),
            in_cycle: None,
            cycle: 0,
            move_request_cycle: 0,
            next_start_node_index: 0,
            flush_armed: false,
            backoff_armed: false,
            explain,
            explain_pod: None,
            nominated: BTreeMap::new(),
            failed_nodes: Vec::new(),
            failed_cached: None,
            no_victims: preemption::NoVictimsMessage::default(),
            active_filters: Vec::new(),
            feasible: Vec::new(),
            reasons: Vec::new(),
            scores: Vec::new(),
            totals: Vec::new(),
            fit_cache: FitCache::default(),
            key_buf: String::new(),
        })
    }

    /// One scheduling cycle of `pod` against the cluster in `state` (PreFilter, Filter with
    /// percentageOfNodesToScore, PreScore, Score, NormalizeScore, selectHost), without
    /// assuming or binding the result: the chosen node's name, or the FailedScheduling message.
    /// For benchmarks and tools; the component runs the same code for every queued pod.
    pub fn try_schedule(
        &mut self,
        pod: &Pod,
        state: &ClusterState,
        rng: &mut SimRng,
    ) -> Result<String, String> {
        if self.snapshot_dirty {
            self.snapshot = Snapshot::build(&state.store, &self.assumed);
            self.snapshot_dirty = false;
            self.fit_cache.clear();
        }
        let i = self.schedule_pod(pod, state, rng, &mut None)?;
        Ok(self.snapshot.nodes[i].name.clone())
    }

    fn priority_of(state: &ClusterState) -> impl Fn(PodId) -> i32 + '_ {
        |id| state.store.pods.get(&id).map_or(0, |p| p.template.priority)
    }

    fn on_cluster_event(&mut self, state: &ClusterState, ctx: &mut Context<'_, Event>) {
        self.move_request_cycle = self.cycle;
        self.queue.move_all(ctx.now(), Self::priority_of(state));
        self.arm_backoff(ctx);
    }

    /// An assigned pod left `node` (deleted, or terminal: upstream's AssignedPodDelete):
    /// move the unschedulable pods its hints say may now fit (see
    /// [`SchedulingQueue::move_for_freed`]); every pod if the snapshot is being rebuilt.
    /// `at` is the index the snapshot had placed the pod at, if it had (checked against
    /// `node`'s name: one string comparison instead of a search of the node index).
    fn on_assigned_pod_freed(
        &mut self,
        node: &str,
        at: Option<usize>,
        state: &ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        if self.queue.unschedulable_len() == 0 {
            // No unschedulable pod: the move (`move_for_freed`, or `move_all` while the
            // snapshot is being rebuilt) has nothing to take, so neither the node's free room
            // (a search by name when the pod was no longer placed) nor the shapes are looked
            // at. What stays is what an event does to the pod in its cycle (it goes to
            // backoffQ if it fails) and the backoff timer.
            self.move_request_cycle = self.cycle;
            self.arm_backoff(ctx);
            return;
        }
        let free = if self.snapshot_dirty {
            None
        } else {
            let nodes = &self.snapshot.nodes;
            at.filter(|&i| nodes.get(i).is_some_and(|n| n.name == node))
                .or_else(|| self.snapshot.index.get(node).copied())
                .map(|i| {
                    let n = &self.snapshot.nodes[i];
                    n.allocatable.sub(&n.requested)
                })
        };
        let Some(free) = free else {
            self.on_cluster_event(state, ctx);
            return;
        };
        // A pod in its cycle now is not in the unschedulable pods: if it fails, it goes to
        // backoffQ (upstream: an event during the cycle; its hints are not evaluated here).
        self.move_request_cycle = self.cycle;
        self.queue
            .move_for_freed(ctx.now(), free, Self::priority_of(state));
        self.arm_backoff(ctx);
    }

    fn arm_backoff(&mut self, ctx: &mut Context<'_, Event>) {
        if !self.backoff_armed && self.queue.backoff_len() > 0 {
            self.backoff_armed = true;
            ctx.send_self(
                BACKOFF_FLUSH_PERIOD,
                Event::Scheduler(SchedulerTimer::FlushBackoff),
            );
        }
    }

    fn maybe_start_cycle(&mut self, state: &ClusterState, ctx: &mut Context<'_, Event>) {
        // Only the process holding the kube-scheduler Lease schedules (`cluster::control_plane`).
        if self.in_cycle.is_some() || !state.leadership.scheduler {
            return;
        }
        while let Some(id) = self.queue.pop() {
            let Some(pod) = state.store.pods.get(&id) else {
                continue;
            };
            if pod.node.is_some() || pod.deletion_timestamp.is_some() {
                continue;
            }
            self.in_cycle = Some(id);
            self.cycle += 1;
            ctx.send_self(
                state.control_plane.scheduling_latency,
                Event::Scheduler(SchedulerTimer::CycleDone),
            );
            return;
        }
    }

    /// Run one scheduling cycle for `pod`: the chosen node index, or the failure message.
    fn schedule_pod(
        &mut self,
        pod: &Pod,
        state: &ClusterState,
        rng: &mut SimRng,
        record: &mut Option<Explanation>,
    ) -> Result<usize, String> {
        self.failed_cached = None;
        let profile = self
            .profiles
            .keys()
            .position(|k| *k == pod.template.scheduler_name)
            .unwrap_or(0);
        let fw = self
            .profiles
            .get_mut(&pod.template.scheduler_name)
            .expect("pods of unknown profiles are not queued");
        let n_all = self.snapshot.nodes.len();
        self.failed_nodes.clear();
        if n_all == 0 {
            return Err("0/0 nodes are available: no nodes available to schedule pods.".into());
        }
        // Upstream `RunFilterPluginsWithNominatedPods`: pods nominated to a node by an earlier
        // preemption, of at least this pod's priority, count on that node while filtering, so
        // a lower-priority pod cannot take the room being freed for them. Upstream adds them
        // to a per-node copy and also filters without them (for inter-pod affinity to them);
        // kubesim adds them to the snapshot for the filter phase and takes them out again
        // before scoring, which upstream also does without them.
        let reserved = nominated_to_count(&self.nominated, pod, &state.store);
        for (p, node) in &reserved {
            self.snapshot.add_pod(p, node);
        }
        for p in fw.filters.iter_mut() {
            p.prepare(pod, &mut self.snapshot, &state.store);
        }
        if reserved.is_empty() {
            for (p, _) in fw.scores.iter_mut() {
                p.prepare(pod, &mut self.snapshot, &state.store);
            }
        }
        let cx = CycleContext {
            pod,
            snapshot: &self.snapshot,
            pods: &state.store.pods,
        };
        let mut counts: BTreeMap<Reason, usize> = BTreeMap::new();
        self.failed_nodes.clear();
        for (k, p) in fw.filters.iter_mut().enumerate() {
            if let Err(r) = p.pre_filter(&cx) {
                counts.insert(r, n_all);
                self.failed_nodes.extend((0..n_all).map(|i| (i, k)));
                for (p, _) in &reserved {
                    self.snapshot.remove_pod(p.id);
                }
                return Err(fit_error(n_all, &counts));
            }
        }
        // Filters whose PreFilter said Skip are not run (they accept every node).
        self.active_filters.clear();
        for (k, p) in fw.filters.iter().enumerate() {
            if !p.filter_skipped(&cx) {
                self.active_filters.push(k);
            }
        }
        let percentage = fw
            .profile
            .percentage_of_nodes_to_score
            .unwrap_or(self.config.percentage_of_nodes_to_score);
        let to_find = num_feasible_nodes_to_find(percentage, n_all);
        self.feasible.clear();
        let start = self.next_start_node_index % n_all;
        // A shape whose last attempt fit no node: re-filter only the nodes changed since.
        let cache_key = if record.is_none() {
            FitCache::key(profile, &cx, &fw.filters, &self.active_filters)
        } else {
            None
        };
        if let Some(key) = &cache_key
            && let fit_cache::Lookup::Unschedulable(msg) =
                self.fit_cache
                    .lookup(key, &cx, &fw.filters, &self.active_filters)
        {
            let msg = msg.to_string();
            self.failed_cached = Some((*key, start));
            self.next_start_node_index = start;
            for (p, _) in &reserved {
                self.snapshot.remove_pod(p.id);
            }
            return Err(msg);
        }
        let mut processed = 0;
        // Only NodeResourcesFit filters (the common case): one loop over the nodes' resource
        // rows, asking the plugin for its reasons only on the nodes it rejects.
        let fit_only = match self.active_filters[..] {
            [k] if record.is_none() => fw.filters[k]
                .node_resources()
                .is_some_and(|r| matches!(r, ResourcePlugin::Fit(_)))
                .then_some(k),
            _ => None,
        };
        if let Some(k) = fit_only {
            let columns = &cx.snapshot.columns;
            debug_assert_eq!(columns.len(), n_all);
            let request = FitRequest::new(&pod.requests);
            // Nodes start.., then ..start, until `to_find` fit.
            'visit: for (mut i, end) in [(start, n_all), (0, start)] {
                while i < end {
                    let next = request.scan_columns(columns, i, end, to_find, &mut self.feasible);
                    processed += next - i;
                    if self.feasible.len() >= to_find {
                        break 'visit;
                    }
                    if next == end {
                        break;
                    }
                    // Node `next` does not fit: the plugin's reasons.
                    processed += 1;
                    self.reasons.clear();
                    let fits = fw.filters[k].filter(&cx, next, &mut self.reasons);
                    debug_assert!(!fits, "FitRequest::fits agrees with Fit::filter");
                    self.failed_nodes.push((next, k));
                    for r in self.reasons.drain(..) {
                        *counts.entry(r).or_insert(0) += 1;
                    }
                    i = next + 1;
                }
            }
        }
        let mut i = start;
        for _ in 0..n_all {
            if self.feasible.len() >= to_find || fit_only.is_some() {
                break;
            }
            let visit = i;
            i = if i + 1 == n_all { 0 } else { i + 1 };
            let i = visit;
            processed += 1;
            self.reasons.clear();
            let mut ok = true;
            let mut failed_by = "";
            for &k in &self.active_filters {
                let p = &fw.filters[k];
                if !p.filter(&cx, i, &mut self.reasons) {
                    ok = false;
                    failed_by = p.name();
                    self.failed_nodes.push((i, k));
                    break;
                }
            }
            if ok {
                self.feasible.push(i);
            } else {
                for r in self.reasons.drain(..) {
                    if let Some(rec) = record.as_mut() {
                        let v = rec
                            .nodes
                            .iter_mut()
                            .rev()
                            .find(|v| v.node == cx.snapshot.nodes[i].name);
                        let text = format!("{failed_by}: {r}");
                        match v {
                            Some(v) => v.reasons.push(text),
                            None => rec.nodes.push(NodeVerdict {
                                node: cx.snapshot.nodes[i].name.clone(),
                                feasible: false,
                                reasons: vec![text],
                                scores: Vec::new(),
                                total: 0,
                            }),
                        }
                    }
                    *counts.entry(r).or_insert(0) += 1;
                }
            }
            if ok && let Some(rec) = record.as_mut() {
                rec.nodes.push(NodeVerdict {
                    node: cx.snapshot.nodes[i].name.clone(),
                    feasible: true,
                    reasons: Vec::new(),
                    scores: Vec::new(),
                    total: 0,
                });
            }
        }
        self.next_start_node_index = (start + processed) % n_all;
        if !reserved.is_empty() {
            for (p, _) in &reserved {
                self.snapshot.remove_pod(p.id);
            }
            if self.feasible.len() > 1 {
                for (p, _) in fw.scores.iter_mut() {
                    p.prepare(pod, &mut self.snapshot, &state.store);
                }
            }
        }
        let cx = CycleContext {
            pod,
            snapshot: &self.snapshot,
            pods: &state.store.pods,
        };
        if self.feasible.is_empty() {
            if let Some(key) = cache_key {
                self.fit_cache
                    .insert(key, &cx, &fw.filters, &self.active_filters);
            }
            return Err(fit_error(n_all, &counts));
        }
        if self.feasible.len() == 1 {
            return Ok(self.feasible[0]);
        }
        // Score.
        let nf = self.feasible.len();
        self.totals.clear();
        self.totals.resize(nf, 0);
        // NodeResourcesFit and BalancedAllocation both enabled: scored together in one loop
        // over the feasible nodes after the other plugins (see `add_fit_and_balanced`).
        let mut fused = None;
        if record.is_none() {
            let mut fit = None;
            let mut balanced = None;
            for (k, (p, w)) in fw.scores.iter().enumerate() {
                match p.node_resources() {
                    Some(ResourcePlugin::Fit(_)) if fit.is_none() => fit = Some((k, *w)),
                    Some(ResourcePlugin::Balanced(_)) if balanced.is_none() => {
                        balanced = Some((k, *w))
                    }
                    _ => {}
                }
            }
            if let (Some(f), Some(b)) = (fit, balanced)
                && !fw.scores[f.0].0.score_skipped(&cx)
                && !fw.scores[b.0].0.score_skipped(&cx)
            {
                fused = Some((f, b));
            }
        }
        for (k, (p, w)) in fw.scores.iter_mut().enumerate() {
            p.pre_score(&cx, &self.feasible);
            // PreScore said Skip: every node scores 0 (kept in an explanation, which lists
            // every score plugin).
            if record.is_none() && (p.score_skipped(&cx) || p.score_uniform(&cx)) {
                continue;
            }
            if fused.is_some_and(|((f, _), (b, _))| k == f || k == b) {
                continue;
            }
            self.scores.clear();
            p.score_all(&cx, &self.feasible, &mut self.scores);
            debug_assert_eq!(self.scores.len(), nf, "{} score_all", p.name());
            let raw: Option<Vec<i64>> = record.as_ref().map(|_| self.scores.clone());
            p.normalize(&cx, &self.feasible, &mut self.scores);
            for (t, s) in self.totals.iter_mut().zip(&self.scores) {
                *t += *s * *w;
            }
            if let (Some(rec), Some(raw)) = (record.as_mut(), raw) {
                for (k, &i) in self.feasible.iter().enumerate() {
                    let name = &cx.snapshot.nodes[i].name;
                    if let Some(v) = rec.nodes.iter_mut().find(|v| v.node == *name) {
                        v.scores.push(PluginScore {
                            plugin: p.name().to_string(),
                            raw: raw[k],
                            normalized: self.scores[k],
                            weighted: self.scores[k] * *w,
                        });
                        v.total += self.scores[k] * *w;
                    }
                }
            }
        }
        if let Some(((f, wf), (b, wb))) = fused {
            let (Some(ResourcePlugin::Fit(fit)), Some(ResourcePlugin::Balanced(balanced))) = (
                fw.scores[f].0.node_resources(),
                fw.scores[b].0.node_resources(),
            ) else {
                unreachable!("found above")
            };
            if !noderesources::add_fit_and_balanced(
                (fit, wf),
                (balanced, wb),
                &cx,
                &self.feasible,
                &mut self.totals,
            ) {
                for k in [f, b] {
                    let (p, w) = &fw.scores[k];
                    self.scores.clear();
                    p.score_all(&cx, &self.feasible, &mut self.scores);
                    p.normalize(&cx, &self.feasible, &mut self.scores);
                    for (t, s) in self.totals.iter_mut().zip(&self.scores) {
                        *t += *s * *w;
                    }
                }
            }
        }
        // selectHost: reservoir sampling among the top totals.
        let best = select_host::select_host(&self.totals[..nf], rng);
        Ok(self.feasible[best])
    }

    fn finish_cycle(&mut self, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let Some(id) = self.in_cycle.take() else {
            return;
        };
        if !state.leadership.scheduler {
            // The process died during the cycle: nothing is bound; the next leader's queue
            // holds the pod (`started_leading`).
            return;
        }
        let now = ctx.now();
        let Some(pod) = state.store.pods.get(&id) else {
            return;
        };
        if pod.node.is_some() || pod.deletion_timestamp.is_some() {
            return;
        }
        if self.snapshot_dirty {
            self.snapshot = Snapshot::build(&state.store, &self.assumed);
            self.snapshot_dirty = false;
            self.fit_cache.clear();
        }
        // The pod's `namespace/name` (`Pod::key`), built in a reused buffer: a successful
        // cycle needs it only to clear the pod's pending reason.
        let mut key = std::mem::take(&mut self.key_buf);
        key.clear();
        key.push_str(&pod.namespace);
        key.push('/');
        key.push_str(&pod.name);
        let explained = match (self.explain_pod, &self.explain) {
            (Some(e), _) => e == id,
            (None, Some(target)) if explain_matches(target, &key, &pod.name) => {
                self.explain_pod = Some(id);
                true
            }
            _ => false,
        };
        let mut record = explained.then(|| Explanation {
            pod: key.clone(),
            at: now,
            selected: None,
            nodes: Vec::new(),
            message: None,
        });
        let result = self.schedule_pod(pod, state, ctx.rng(), &mut record);
        match result {
            Ok(i) => {
                let node = self.snapshot.nodes[i].name.clone();
                self.snapshot.add_pod_at(pod, i);
                self.assumed.insert(id, node.clone());
                self.nominated.remove(&id);
                if let Some(r) = record.as_mut() {
                    r.selected = Some(node.clone());
                }
                if !state.recorder.pending_reasons.is_empty() {
                    state.recorder.pending_reasons.remove(key.as_str());
                }
                apiserver::write(ctx, state, ApiWrite::BindPod { id, node });
            }
            Err(mut msg) => {
                let is_trace_pod = pod.run_for.is_some();
                // UnschedulablePlugins = {NodeResourcesFit} when Fit rejected every node.
                let fit_only = self
                    .profiles
                    .get(&pod.template.scheduler_name)
                    .filter(|fw| {
                        let fit = fw
                            .filters
                            .iter()
                            .position(|p| p.name() == "NodeResourcesFit");
                        match &self.failed_cached {
                            // Every node was rejected: by Fit alone if no other plugin
                            // rejected one.
                            Some((key, _)) => fit.is_some_and(|f| {
                                self.fit_cache.rejected_by_filter(key).is_some_and(|c| {
                                    c.iter().enumerate().all(|(k, &n)| k == f || n == 0)
                                })
                            }),
                            None => {
                                !self.failed_nodes.is_empty()
                                    && self.failed_nodes.iter().all(|&(_, k)| Some(k) == fit)
                            }
                        }
                    })
                    .map(|_| pod.requests);
                if let Some(m) = self.post_filter(id, now, state, ctx) {
                    msg.push_str(" preemption: ");
                    msg.push_str(&m);
                }
                if let Some(r) = record.as_mut() {
                    r.message = Some(msg.clone());
                }
                state.recorder.counters.failed_scheduling += 1;
                if is_trace_pod && state.recorder.trace.active {
                    state.recorder.trace.record_failure(&msg);
                }
                // The pod's last reason: replaced in place when it was pending already.
                match state.recorder.pending_reasons.get_mut(key.as_str()) {
                    Some(m) if *m == msg => {}
                    Some(m) => m.clone_from(&msg),
                    None => {
                        state
                            .recorder
                            .pending_reasons
                            .insert(key.clone(), msg.clone());
                    }
                }
                state
                    .recorder
                    .event(now, "Pod", key.clone(), "FailedScheduling", msg);
                let moved = self.move_request_cycle >= self.cycle;
                self.queue.failed(id, now, moved, fit_only);
                self.arm_backoff(ctx);
                if !self.flush_armed {
                    self.flush_armed = true;
                    ctx.send_self(
                        FLUSH_PERIOD,
                        Event::Scheduler(SchedulerTimer::FlushUnschedulable),
                    );
                }
            }
        }
        if let Some(r) = record {
            state.recorder.explanations.push(r);
        }
        self.key_buf = key;
    }

    /// PostFilter (DefaultPreemption, when the profile enables it) after a failed cycle: on
    /// success the victims are deleted through the API server and the pod is nominated to the
    /// node; else upstream's preemption message to append to the FailedScheduling one.
    fn post_filter(
        &mut self,
        id: PodId,
        now: crate::engine::SimTime,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) -> Option<String> {
        let pod = state.store.pods.get(&id)?;
        let fw = self.profiles.get_mut(&pod.template.scheduler_name)?;
        // Nodes rejected, and how many by a plugin preemption cannot help (from the FitError
        // cache's counts when the attempt failed from it, without listing the nodes).
        let (n_failed, n_unresolvable) = match &self.failed_cached {
            Some((key, _)) => {
                let by = self.fit_cache.rejected_by_filter(key).unwrap_or(&[]);
                let unres = by
                    .iter()
                    .zip(&fw.filters)
                    .filter(|(_, p)| preemption::unresolvable(p.name()))
                    .map(|(&n, _)| n)
                    .sum();
                (by.iter().sum(), unres)
            }
            None => {
                let unres = self
                    .failed_nodes
                    .iter()
                    .filter(|&&(_, k)| preemption::unresolvable(fw.filters[k].name()))
                    .count();
                (self.failed_nodes.len(), unres)
            }
        };
        if !fw.profile.preemption || n_failed == 0 {
            return None;
        }
        let offset = ctx.rng().random_range(0..n_failed.max(1));
        // Not eligible, or no lower-priority pod anywhere: the answer without a dry run.
        if let Some(m) = preemption::without_victims(
            pod,
            self.nominated.get(&pod.id).map(String::as_str),
            n_failed,
            n_unresolvable,
            &self.snapshot,
            &state.store,
            &mut self.no_victims,
        ) {
            return Some(m);
        }
        let pod = &pod.clone();
        if let Some((key, start)) = self.failed_cached.take() {
            self.fit_cache
                .fill_failed(&key, start, &mut self.failed_nodes);
        }
        let names: Vec<String> = fw.filters.iter().map(|p| p.name().to_string()).collect();
        let failed: Vec<(usize, &str)> = self
            .failed_nodes
            .iter()
            .map(|&(i, k)| (i, names[k].as_str()))
            .collect();
        // The dry run filters with the nominated pods too (upstream `SelectVictimsOnNode`
        // calls `RunFilterPluginsWithNominatedPods`): room kept for a higher-priority
        // preemptor cannot be won by evicting lower-priority pods.
        let reserved = nominated_to_count(&self.nominated, pod, &state.store);
        for (p, node) in &reserved {
            self.snapshot.add_pod(p, node);
        }
        let result = preemption::post_filter(
            pod,
            self.nominated.get(&pod.id).map(String::as_str),
            &failed,
            offset,
            &mut fw.filters,
            &mut self.snapshot,
            &state.store,
        );
        for (p, _) in &reserved {
            self.snapshot.remove_pod(p.id);
        }
        match result {
            preemption::PostFilterResult::Unschedulable(m) => Some(m),
            preemption::PostFilterResult::Nominate { node, victims } => {
                let node = self.snapshot.nodes[node].name.clone();
                let key = pod.key();
                for v in victims {
                    if let Some(victim) = state.store.pods.get(&v) {
                        let vkey = victim.key();
                        state.recorder.event(
                            now,
                            "Pod",
                            vkey,
                            "Preempted",
                            format!("Preempted by pod {key} on node {node}"),
                        );
                    }
                    apiserver::write(
                        ctx,
                        state,
                        ApiWrite::DeletePod {
                            id: v,
                            by: format!("Pod {key} (preemption)"),
                        },
                    );
                }
                self.nominated.insert(pod.id, node);
                None
            }
        }
    }

    /// This process acquired the kube-scheduler Lease (`OnStartedLeading`). It is a fresh
    /// process that ran as a standby: its informers filled its queue with every pending pod,
    /// none attempted yet (no backoff, no unschedulable pods), and its cache holds no assumed
    /// pods. `status.nominatedNodeName` is in the API and stays.
    fn started_leading(&mut self, state: &ClusterState) {
        self.queue = SchedulingQueue::new(
            SimDuration::from_secs(self.config.pod_initial_backoff_seconds.max(0) as u64),
            SimDuration::from_secs(self.config.pod_max_backoff_seconds.max(0) as u64),
        );
        for p in state.store.pods.values() {
            if p.node.is_none()
                && p.deletion_timestamp.is_none()
                && !p.phase.is_terminal()
                && self.profiles.contains_key(&p.template.scheduler_name)
            {
                self.queue.add(p.id, p.template.priority);
            }
        }
        self.assumed.clear();
        self.snapshot_dirty = true;
        self.in_cycle = None;
    }

    /// Take pod `id` out of the snapshot unless it is being rebuilt; the index of the node the
    /// snapshot had placed it on, if it had.
    fn remove_placed(&mut self, id: PodId) -> Option<usize> {
        if self.snapshot_dirty {
            self.snapshot.placed.get(&id).map(|p| p.node)
        } else {
            self.snapshot.remove_pod(id)
        }
    }

    fn on_watch(&mut self, w: &WatchEvent, state: &ClusterState, ctx: &mut Context<'_, Event>) {
        match (w.kind, &w.object) {
            (ObjectKind::Pod, ObjectRef::Pod { id, node, .. }) => match w.change {
                Change::Added | Change::Modified => {
                    let Some(pod) = state.store.pods.get(id) else {
                        return;
                    };
                    if pod.phase.is_terminal() {
                        // A pod that finished no longer counts on its node (upstream's cache
                        // drops terminal pods): like an assigned pod's deletion, it may free
                        // room.
                        self.queue.delete(*id);
                        self.assumed.remove(id);
                        let at = self.remove_placed(*id);
                        if let Some(n) = &pod.node {
                            self.on_assigned_pod_freed(n, at, state, ctx);
                        }
                        return;
                    }
                    if let Some(n) = &pod.node {
                        self.queue.delete(*id);
                        self.assumed.remove(id);
                        if !self.snapshot_dirty {
                            self.snapshot.add_pod(pod, n);
                        }
                        if pod.deletion_timestamp.is_some() && !self.snapshot_dirty {
                            self.snapshot.mark_terminating(*id);
                        }
                    } else if pod.deletion_timestamp.is_some() {
                        self.queue.delete(*id);
                    } else if w.change == Change::Added
                        && self.profiles.contains_key(&pod.template.scheduler_name)
                    {
                        self.queue.add(*id, pod.template.priority);
                    }
                }
                Change::Deleted => {
                    self.queue.delete(*id);
                    self.nominated.remove(id);
                    self.assumed.remove(id);
                    let at = self.remove_placed(*id);
                    if let Some(n) = node {
                        // AssignedPodDelete may free room for unschedulable pods.
                        self.on_assigned_pod_freed(n, at, state, ctx);
                    }
                }
            },
            (ObjectKind::Node, _) => {
                self.snapshot_dirty = true;
                if w.change != Change::Deleted {
                    self.on_cluster_event(state, ctx);
                }
            }
            _ => {}
        }
    }
}

/// The pods nominated to a node (`status.nominatedNodeName`) that count against `pod` there:
/// not `pod` itself, still unbound and not being deleted, and of at least its priority
/// (upstream `addGENominatedPods`), with their node names, in pod-id order.
fn nominated_to_count<'s>(
    nominated: &BTreeMap<PodId, String>,
    pod: &Pod,
    store: &'s crate::cluster::state::Store,
) -> Vec<(&'s Pod, String)> {
    nominated
        .iter()
        .filter(|(id, _)| **id != pod.id)
        .filter_map(|(id, node)| store.pods.get(id).map(|p| (p, node)))
        .filter(|(p, _)| {
            p.node.is_none()
                && p.deletion_timestamp.is_none()
                && p.template.priority >= pod.template.priority
        })
        .map(|(p, node)| (p, node.clone()))
        .collect()
}

/// True if the `kubesim explain` target (`namespace/name`, `name`, or a prefix of either)
/// names the pod with `key` (`namespace/name`) and `name`.
pub fn explain_matches(target: &str, key: &str, name: &str) -> bool {
    if target.contains('/') {
        key.starts_with(target)
    } else {
        name.starts_with(target)
    }
}

/// Upstream `FitError.Error()`: "0/N nodes are available: <count> <reason>, ...." with the
/// "<count> <reason>" strings sorted.
fn fit_error(n: usize, counts: &BTreeMap<Reason, usize>) -> String {
    let mut parts: Vec<String> = counts.iter().map(|(r, c)| format!("{c} {r}")).collect();
    parts.sort();
    format!("0/{n} nodes are available: {}.", parts.join(", "))
}

impl Component<Event, ClusterState> for Scheduler {
    fn name(&self) -> &str {
        "scheduler"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match event {
            Event::Watch(w) => self.on_watch(&w, state, ctx),
            Event::Scheduler(SchedulerTimer::CycleDone) => self.finish_cycle(state, ctx),
            Event::Scheduler(SchedulerTimer::StartedLeading) => self.started_leading(state),
            Event::Scheduler(SchedulerTimer::FlushUnschedulable) => {
                let now = ctx.now();
                let retry = state.control_plane.unschedulable_retry;
                self.queue
                    .flush_unschedulable(now, retry, Self::priority_of(state));
                self.arm_backoff(ctx);
                self.flush_armed = self.queue.unschedulable_len() > 0;
                if self.flush_armed {
                    ctx.send_self(
                        FLUSH_PERIOD,
                        Event::Scheduler(SchedulerTimer::FlushUnschedulable),
                    );
                }
            }
            Event::Scheduler(SchedulerTimer::FlushBackoff) => {
                self.backoff_armed = false;
                self.queue
                    .flush_backoff(ctx.now(), Self::priority_of(state));
                self.arm_backoff(ctx);
            }
            _ => {}
        }
        self.maybe_start_cycle(state, ctx);
    }
}
