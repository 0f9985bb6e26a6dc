//! The Argo Rollouts controller: one reconcile loop per `Rollout`, owning ReplicaSets like a
//! Deployment (one per pod-template hash, pods labelled `rollouts-pod-template-hash`), sized by
//! the canary arithmetic ([`super::canary`]) or the blue-green rules, with analysis runs
//! ([`super::analysis`]) reading the traffic model's per-version counters.
//!
//! Upstream references (argo-rollouts v1.7): `rollout/canary.go` (steps, promotion when the
//! last step is done, abort), `utils/replicaset/canary.go` (replica counts), `rollout/
//! trafficrouting.go` (the weight moves to a step's `setWeight` only once the canary
//! ReplicaSet is available at its size; abort sets it to 0 at once), `rollout/bluegreen.go` and
//! `rollout/service.go` (preview and active Services switch selectors;
//! `scaleDownDelaySeconds`, `autoPromotionSeconds`), `analysis/analysis.go` (measurements).
//!
//! Model choices where the simulator differs from a real cluster:
//! - the Rollout object lives in this controller, not in the API server's store; Timeline
//!   commands reach it `apiWriteLatency + watchDelay` after they are issued, as a patch and its
//!   watch would;
//! - its ReplicaSets, pods and Service selector changes go through the API server as usual;
//! - ReplicaSets older than both the stable and the canary one are scaled to 0 at once;
//! - the VirtualService weight is applied with the Service selector change (one write).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::cluster::apiserver;
use crate::cluster::argo::analysis::{
    AnalysisPhase, MetricTally, measurement_phase, metric_phase, run_phase,
};
use crate::cluster::argo::canary::{CanaryParams, RsCount, replica_counts};
use crate::cluster::argo::record::UpdateRecord;
use crate::cluster::argo::spec::{
    ArgoCommand, CanaryStep, MetricKind, ROLLOUT_HASH_LABEL, RolloutSpec, RolloutStrategy,
    ServiceRoute, VersionSelector,
};
use crate::cluster::controllers::deployment::compute_hash;
use crate::cluster::events::{ApiWrite, Change, Event, ObjectRef, WatchEvent};
use crate::cluster::metrics::LatencyHistogram;
use crate::cluster::objects::{ObjectKind, OwnerRef, ReplicaSet, ReplicaSetStatus, with_label};
use crate::cluster::spec::PodTemplateSpec;
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, SimDuration, SimTime};

/// Owner kind of a Rollout's ReplicaSets.
pub const ROLLOUT_KIND: &str = "Rollout";

/// Retry interval after a measurement error when the metric has no interval (upstream
/// `defaults.DefaultErrorRetryInterval`, 10 s).
const ERROR_RETRY: SimDuration = SimDuration::from_secs(10);

/// Events of the Rollout controller (emitted by itself, and by the timeline for commands).
#[derive(Clone, Debug)]
pub enum ArgoEvent {
    /// Reconcile the Rollout with this index (timers: pause ends, delays, analysis results).
    Reconcile(u32),
    /// A user command for the Rollout with this index (from the Timeline).
    Command {
        /// Rollout index.
        rollout: u32,
        /// What.
        command: ArgoCommand,
    },
    /// Take a measurement of a metric of an analysis run.
    Measure {
        /// Rollout index.
        rollout: u32,
        /// Run id (stale runs are ignored).
        run: u32,
        /// Metric index within the run.
        metric: u32,
    },
}

/// Cumulative counters of a set of versions at one instant.
#[derive(Clone, Debug, Default)]
struct Snapshot {
    at: SimTime,
    served: u64,
    errors: u64,
    latency: LatencyHistogram,
}

#[derive(Debug)]
struct RunMetric {
    template: usize,
    metric: usize,
    tally: MetricTally,
    phase: AnalysisPhase,
    last: Snapshot,
}

#[derive(Debug)]
struct Run {
    id: u32,
    name: String,
    metrics: Vec<RunMetric>,
}

impl Run {
    fn phase(&self) -> AnalysisPhase {
        run_phase(&self.metrics.iter().map(|m| m.phase).collect::<Vec<_>>())
    }
}

#[derive(Debug)]
struct RolloutState {
    spec: RolloutSpec,
    key: String,
    template: Arc<PodTemplateSpec>,
    stable_hash: Option<String>,
    step: usize,
    abort: bool,
    aborted_at: Option<SimTime>,
    user_paused: bool,
    pause_start: Option<SimTime>,
    promote: bool,
    paused_reported: bool,
    step_run: Option<Run>,
    background_run: Option<Run>,
    /// Current VirtualService weight (traffic routing).
    weight: i32,
    /// Blue-green: when the new ReplicaSet became fully available.
    available_at: Option<SimTime>,
    /// ReplicaSets kept until a time (scale-down delays).
    scale_down_at: BTreeMap<String, SimTime>,
    /// Routes last written, per Service index.
    routes: BTreeMap<usize, ServiceRoute>,
    /// Index of the current update's record in the recorder.
    update: Option<usize>,
    /// Progress of the current update: (last time it progressed, new pods available then,
    /// step then, deadline reported).
    progress: (SimTime, i32, usize, bool),
}

/// The Rollout controller component.
#[derive(Debug, Default)]
pub struct RolloutController {
    rollouts: Vec<RolloutState>,
    next_run: u32,
}

fn first_image(t: &PodTemplateSpec) -> String {
    t.containers
        .first()
        .map(|c| c.image.clone())
        .unwrap_or_default()
}

fn secs(s: i32) -> SimDuration {
    SimDuration::from_secs(s.max(0) as u64)
}

impl RolloutController {
    /// A controller for the scenario's Rollouts.
    pub fn new(rollouts: &[RolloutSpec]) -> Self {
        RolloutController {
            rollouts: rollouts
                .iter()
                .map(|r| RolloutState {
                    key: format!("{}/{}", r.namespace, r.name),
                    template: Arc::new(r.template.clone()),
                    spec: r.clone(),
                    stable_hash: None,
                    step: 0,
                    abort: false,
                    aborted_at: None,
                    user_paused: r.paused,
                    pause_start: None,
                    promote: false,
                    paused_reported: false,
                    step_run: None,
                    background_run: None,
                    weight: 0,
                    available_at: None,
                    scale_down_at: BTreeMap::new(),
                    routes: BTreeMap::new(),
                    update: None,
                    progress: (SimTime::ZERO, 0, 0, false),
                })
                .collect(),
            next_run: 0,
        }
    }

    /// Events to schedule at time zero: one reconcile per Rollout (it creates the first
    /// ReplicaSet).
    pub fn initial_events(rollouts: &[RolloutSpec]) -> Vec<ArgoEvent> {
        (0..rollouts.len() as u32)
            .map(ArgoEvent::Reconcile)
            .collect()
    }

    fn event(state: &mut ClusterState, now: SimTime, key: &str, reason: &'static str, m: String) {
        state
            .recorder
            .event(now, ROLLOUT_KIND, key.to_string(), reason, m);
    }

    /// The cumulative counters of the pods of `images` of workload `w`.
    fn snapshot(state: &ClusterState, w: &str, images: &[String], now: SimTime) -> Snapshot {
        let mut s = Snapshot {
            at: now,
            ..Snapshot::default()
        };
        let mut first = true;
        for v in &state.recorder.traffic.versions {
            if v.workload == w && images.contains(&v.image) {
                s.served += v.served;
                s.errors += v.errors;
                if first {
                    s.latency = v.latency.clone();
                    first = false;
                } else {
                    s.latency.add(&v.latency);
                }
            }
        }
        s
    }

    fn reconcile(&mut self, i: usize, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let r = &mut self.rollouts[i];
        let key = r.key.clone();
        let hash = compute_hash(&r.template);
        let mut owned: Vec<ReplicaSet> = state
            .store
            .replica_sets
            .values()
            .filter(|rs| {
                rs.owner
                    .as_ref()
                    .is_some_and(|o| o.kind == ROLLOUT_KIND && o.key == key)
            })
            .cloned()
            .collect();
        owned.sort_by_key(|rs| rs.revision);
        let replicas = r.spec.replicas;
        let mut writes: Vec<ApiWrite> = Vec::new();

        // The first ReplicaSet becomes the stable one at once, with no steps.
        if owned.is_empty() {
            if r.stable_hash.is_none() {
                r.stable_hash = Some(hash.clone());
                let rs = new_replica_set(r, &hash, 1, replicas);
                Self::event(
                    state,
                    now,
                    &key,
                    "RolloutUpdated",
                    format!("Created ReplicaSet {} ({replicas} replicas)", rs.name),
                );
                writes.push(ApiWrite::CreateReplicaSet(Box::new(rs)));
                self.write_routes(i, &hash, &hash, 0, state, &mut writes);
            }
            return flush(ctx, state, writes);
        }
        let Some(stable_hash) = self.rollouts[i].stable_hash.clone() else {
            return;
        };
        let r = &mut self.rollouts[i];
        let pods: i32 = owned.iter().map(|rs| rs.status.replicas).sum();
        let available: i32 = owned.iter().map(|rs| rs.status.available_replicas).sum();
        let new_rs = owned.iter().find(|rs| rs.template_hash == hash).cloned();

        // A new template: a new ReplicaSet and a new update.
        let Some(new_rs) = new_rs else {
            let revision = owned.iter().map(|rs| rs.revision).max().unwrap_or(0) + 1;
            let size = match &r.spec.strategy {
                RolloutStrategy::Canary(_) => 0,
                RolloutStrategy::BlueGreen(bg) => bg.preview_replica_count.unwrap_or(replicas),
            };
            let rs = new_replica_set(r, &hash, revision, size);
            Self::event(
                state,
                now,
                &key,
                "RolloutUpdated",
                format!(
                    "Rollout updated to revision {revision}: created ReplicaSet {} ({})",
                    rs.name,
                    first_image(&r.template)
                ),
            );
            writes.push(ApiWrite::CreateReplicaSet(Box::new(rs)));
            r.update = None;
            let versions = &state.recorder.traffic.versions;
            for rec in state
                .recorder
                .updates
                .iter_mut()
                .filter(|x| x.kind == ROLLOUT_KIND && x.object == key)
            {
                rec.stop_counting(versions);
                rec.finish(now, "Superseded");
            }
            r.step = 0;
            r.abort = false;
            r.aborted_at = None;
            r.pause_start = None;
            r.promote = false;
            r.paused_reported = false;
            r.step_run = None;
            r.background_run = None;
            r.available_at = None;
            if hash != stable_hash {
                let from = owned
                    .iter()
                    .find(|rs| rs.template_hash == stable_hash)
                    .map(|rs| first_image(&rs.template))
                    .unwrap_or_default();
                let strategy = match r.spec.strategy {
                    RolloutStrategy::Canary(_) => "canary",
                    RolloutStrategy::BlueGreen(_) => "blueGreen",
                };
                let mut rec = UpdateRecord::start(
                    ROLLOUT_KIND,
                    key.clone(),
                    strategy,
                    from,
                    first_image(&r.template),
                    replicas,
                    now,
                    pods,
                    available,
                );
                rec.count_from(&r.spec.name, &state.recorder.traffic.versions);
                r.progress = (now, 0, 0, false);
                state.recorder.updates.push(rec);
                r.update = Some(state.recorder.updates.len() - 1);
            }
            return flush(ctx, state, writes);
        };
        if let Some(u) = r.update {
            let rec = &mut state.recorder.updates[u];
            rec.observe(now, pods, available);
            rec.refresh(&state.recorder.traffic.versions);
            // progressDeadlineSeconds (upstream `rollout/sync.go` calculateRolloutConditions):
            // more new pods available, a new step, a pause or an abort count as progress.
            let new_available = owned
                .iter()
                .find(|rs| rs.template_hash == hash)
                .map_or(0, |rs| rs.status.available_replicas);
            let waiting = r.abort || r.user_paused || r.pause_start.is_some();
            if waiting || new_available > r.progress.1 || r.step != r.progress.2 {
                r.progress = (now, new_available, r.step, r.progress.3);
            }
            let deadline = r.progress.0 + secs(r.spec.progress_deadline_seconds);
            if !r.progress.3 && now >= deadline {
                r.progress.3 = true;
                let name = format!("{}-{hash}", r.spec.name);
                Self::event(
                    state,
                    now,
                    &key,
                    "ProgressDeadlineExceeded",
                    format!("ReplicaSet \"{name}\" has timed out progressing."),
                );
            } else if !r.progress.3 {
                ctx.send_self(
                    deadline.saturating_since(now),
                    Event::Argo(ArgoEvent::Reconcile(i as u32)),
                );
            }
        }
        let stable_rs = owned
            .iter()
            .find(|rs| rs.template_hash == stable_hash)
            .cloned();
        let scale =
            |rs: &ReplicaSet, to: i32, writes: &mut Vec<ApiWrite>, log: &mut Vec<String>| {
                if rs.replicas != to {
                    let verb = if to > rs.replicas { "up" } else { "down" };
                    log.push(format!(
                        "Scaled {verb} ReplicaSet {} from {} to {to}",
                        rs.name, rs.replicas
                    ));
                    writes.push(ApiWrite::ScaleReplicaSet {
                        key: rs.key(),
                        replicas: to,
                    });
                }
            };
        let mut log: Vec<String> = Vec::new();

        if hash == stable_hash {
            // Steady state (or back to the stable template): the stable ReplicaSet takes all
            // replicas; others go after their scale-down delay.
            scale(&new_rs, replicas, &mut writes, &mut log);
            let mut others_left = false;
            for rs in owned.iter().filter(|rs| rs.template_hash != hash) {
                if rs.status.replicas > 0 {
                    others_left = true;
                }
                if rs.replicas == 0 {
                    continue;
                }
                match r.scale_down_at.get(&rs.key()) {
                    Some(&t) if now < t => {
                        ctx.send_self(
                            t.saturating_since(now),
                            Event::Argo(ArgoEvent::Reconcile(i as u32)),
                        );
                    }
                    _ => scale(rs, 0, &mut writes, &mut log),
                }
            }
            r.weight = 0;
            if let Some(u) = r.update
                && !others_left
                && new_rs.status.available_replicas == replicas
            {
                let rec = &mut state.recorder.updates[u];
                let outcome = if rec.aborted_at.is_some() {
                    "Aborted"
                } else if first_image(&new_rs.template) == rec.to_image {
                    "Completed"
                } else {
                    "RolledBack"
                };
                rec.finish(now, outcome);
                let took = now.saturating_since(rec.started);
                if outcome == "Completed" {
                    state.recorder.rollout_durations.record(took);
                }
                r.update = None;
                Self::event(
                    state,
                    now,
                    &key,
                    "RolloutCompleted",
                    format!(
                        "Rollout completed update to revision {} ({outcome}) in {took}",
                        new_rs.revision
                    ),
                );
            }
            self.write_routes(i, &hash, &hash, 0, state, &mut writes);
            self.log(state, now, &key, log);
            self.cleanup_history(i, &owned, &hash, &mut writes);
            return flush(ctx, state, writes);
        }

        match self.rollouts[i].spec.strategy.clone() {
            RolloutStrategy::Canary(cs) => {
                self.reconcile_canary(
                    i,
                    &cs,
                    &owned,
                    &new_rs,
                    stable_rs.as_ref(),
                    &hash,
                    &stable_hash,
                    now,
                    state,
                    ctx,
                    &mut writes,
                    &mut log,
                );
            }
            RolloutStrategy::BlueGreen(bg) => {
                self.reconcile_blue_green(
                    i,
                    &bg,
                    &owned,
                    &new_rs,
                    stable_rs.as_ref(),
                    &hash,
                    &stable_hash,
                    now,
                    state,
                    ctx,
                    &mut writes,
                    &mut log,
                );
            }
        }
        self.log(state, now, &key, log);
        flush(ctx, state, writes);
    }

    fn log(&self, state: &mut ClusterState, now: SimTime, key: &str, log: Vec<String>) {
        for m in log {
            Self::event(state, now, key, "ScalingReplicaSet", m);
        }
    }

    /// Delete old ReplicaSets with no pods beyond `revisionHistoryLimit`, oldest first.
    fn cleanup_history(
        &self,
        i: usize,
        owned: &[ReplicaSet],
        hash: &str,
        writes: &mut Vec<ApiWrite>,
    ) {
        let limit = self.rollouts[i].spec.revision_history_limit.max(0) as usize;
        let empty: Vec<&ReplicaSet> = owned
            .iter()
            .filter(|rs| rs.template_hash != hash && rs.replicas == 0 && rs.status.replicas == 0)
            .collect();
        if empty.len() > limit {
            for rs in empty.iter().take(empty.len() - limit) {
                writes.push(ApiWrite::DeleteReplicaSet { key: rs.key() });
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn reconcile_canary(
        &mut self,
        i: usize,
        cs: &crate::cluster::argo::spec::CanarySpec,
        owned: &[ReplicaSet],
        new_rs: &ReplicaSet,
        stable_rs: Option<&ReplicaSet>,
        hash: &str,
        stable_hash: &str,
        now: SimTime,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
        writes: &mut Vec<ApiWrite>,
        log: &mut Vec<String>,
    ) {
        let key = self.rollouts[i].key.clone();
        let replicas = self.rollouts[i].spec.replicas;
        // Background analysis from its starting step.
        if let Some(bg) = &cs.analysis {
            let r = &self.rollouts[i];
            if !r.abort && r.background_run.is_none() && r.step >= bg.starting_step {
                let run = self.start_run(i, &bg.templates, "background", now, state, ctx);
                self.rollouts[i].background_run = Some(run);
            }
        }
        if self.rollouts[i]
            .background_run
            .as_ref()
            .is_some_and(|b| matches!(b.phase(), AnalysisPhase::Failed | AnalysisPhase::Error))
            && !self.rollouts[i].abort
        {
            self.abort(i, "background analysis failed", now, state);
        }
        let r = &self.rollouts[i];
        let weight = if r.abort {
            0
        } else if r.step >= cs.steps.len() {
            100
        } else {
            cs.steps[..=r.step]
                .iter()
                .rev()
                .find_map(|s| match s {
                    CanaryStep::SetWeight(w) => Some(*w),
                    _ => None,
                })
                .unwrap_or(0)
        };
        let params = CanaryParams {
            replicas,
            weight,
            max_surge: cs.max_surge,
            max_unavailable: cs.max_unavailable,
            traffic_routing: cs.traffic_routing,
        };
        let count = |rs: &ReplicaSet| RsCount {
            replicas: rs.replicas,
            available: rs.status.available_replicas,
        };
        let old: Vec<&ReplicaSet> = owned
            .iter()
            .filter(|rs| rs.template_hash != hash && rs.template_hash != stable_hash)
            .collect();
        let old_total: i32 = old.iter().map(|rs| rs.replicas).sum();
        let (mut new_count, stable_count) = replica_counts(
            &params,
            Some(count(new_rs)),
            stable_rs.map(count),
            old_total,
        );
        // With traffic routing an aborted canary is kept for abortScaleDownDelaySeconds.
        if let (true, Some(at)) = (cs.traffic_routing && r.abort, r.aborted_at) {
            let until = at + secs(cs.abort_scale_down_delay_seconds);
            if now < until {
                new_count = new_rs.replicas;
                ctx.send_self(
                    until.saturating_since(now),
                    Event::Argo(ArgoEvent::Reconcile(i as u32)),
                );
            }
        }
        scale_rs(new_rs, new_count, writes, log);
        if let Some(s) = stable_rs {
            scale_rs(s, stable_count, writes, log);
        }
        for rs in &old {
            scale_rs(rs, 0, writes, log);
        }
        let at_desired = new_rs.replicas == new_count
            && new_count
                == crate::cluster::argo::canary::desired_counts(&params, stable_rs.is_some()).0
            && new_rs.status.available_replicas == new_count;
        let stable_at_desired = cs.traffic_routing
            || stable_rs.is_none_or(|s| {
                s.replicas == stable_count && s.status.available_replicas == stable_count
            });
        let old_gone = old.iter().all(|rs| rs.status.available_replicas == 0);
        // Traffic routing: the weight moves once the canary is at its size; abort: at once.
        let r = &mut self.rollouts[i];
        if cs.traffic_routing {
            if r.abort {
                r.weight = 0;
            } else if at_desired {
                r.weight = weight;
            }
        }
        let w = r.weight;
        self.write_routes(i, stable_hash, hash, w, state, writes);
        let r = &self.rollouts[i];
        if r.abort {
            if new_rs.replicas == 0
                && new_rs.status.replicas == 0
                && let Some(u) = r.update
                && state.recorder.updates[u].finished.is_none()
            {
                state.recorder.updates[u].finish(now, "Aborted");
            }
            return;
        }
        // All steps done: the canary becomes the stable version once fully available.
        if r.step >= cs.steps.len() {
            if at_desired && new_rs.status.available_replicas == replicas {
                self.promote_to_stable(
                    i,
                    hash,
                    stable_rs,
                    cs.traffic_routing.then_some(cs.scale_down_delay_seconds),
                    now,
                    state,
                    ctx,
                );
            }
            return;
        }
        if r.user_paused {
            return;
        }
        let step = cs.steps[r.step].clone();
        let done = match step.clone() {
            CanaryStep::SetWeight(w) => {
                at_desired
                    && stable_at_desired
                    && old_gone
                    && (!cs.traffic_routing || r.weight == w)
            }
            CanaryStep::Pause(d) => {
                let r = &mut self.rollouts[i];
                let start = *r.pause_start.get_or_insert(now);
                if r.promote {
                    true
                } else if let Some(d) = d {
                    if now >= start + d {
                        true
                    } else {
                        if start == now {
                            Self::event(
                                state,
                                now,
                                &key,
                                "RolloutPaused",
                                format!("Rollout is paused for {d} (step {})", r.step + 1),
                            );
                            ctx.send_self(d, Event::Argo(ArgoEvent::Reconcile(i as u32)));
                        }
                        false
                    }
                } else {
                    if !r.paused_reported {
                        r.paused_reported = true;
                        Self::event(
                            state,
                            now,
                            &key,
                            "RolloutPaused",
                            format!("Rollout is paused until promoted (step {})", r.step + 1),
                        );
                    }
                    false
                }
            }
            CanaryStep::Analysis(templates) => {
                if self.rollouts[i].step_run.is_none() {
                    let run = self.start_run(i, &templates, "step", now, state, ctx);
                    self.rollouts[i].step_run = Some(run);
                }
                let r = &mut self.rollouts[i];
                match r.step_run.as_ref().map(|x| x.phase()) {
                    Some(AnalysisPhase::Successful) => true,
                    Some(AnalysisPhase::Failed | AnalysisPhase::Error) => {
                        let name = r
                            .step_run
                            .as_ref()
                            .map(|x| x.name.clone())
                            .unwrap_or_default();
                        self.abort(i, &format!("analysis run {name} failed"), now, state);
                        ctx.send_self(
                            SimDuration::ZERO,
                            Event::Argo(ArgoEvent::Reconcile(i as u32)),
                        );
                        false
                    }
                    Some(AnalysisPhase::Inconclusive) => {
                        if r.promote {
                            true
                        } else {
                            if !r.paused_reported {
                                r.paused_reported = true;
                                Self::event(
                                    state,
                                    now,
                                    &key,
                                    "RolloutPaused",
                                    "analysis inconclusive: paused until promoted".into(),
                                );
                            }
                            false
                        }
                    }
                    _ => false,
                }
            }
        };
        if done {
            let r = &mut self.rollouts[i];
            Self::event(
                state,
                now,
                &key,
                "RolloutStepCompleted",
                format!(
                    "Rollout step {}/{} completed ({})",
                    r.step + 1,
                    cs.steps.len(),
                    step_name(&step)
                ),
            );
            r.step += 1;
            r.pause_start = None;
            r.promote = false;
            r.paused_reported = false;
            r.step_run = None;
            ctx.send_self(
                SimDuration::ZERO,
                Event::Argo(ArgoEvent::Reconcile(i as u32)),
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn reconcile_blue_green(
        &mut self,
        i: usize,
        bg: &crate::cluster::argo::spec::BlueGreenSpec,
        owned: &[ReplicaSet],
        new_rs: &ReplicaSet,
        stable_rs: Option<&ReplicaSet>,
        hash: &str,
        stable_hash: &str,
        now: SimTime,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
        writes: &mut Vec<ApiWrite>,
        log: &mut Vec<String>,
    ) {
        let key = self.rollouts[i].key.clone();
        let replicas = self.rollouts[i].spec.replicas;
        for rs in owned
            .iter()
            .filter(|rs| rs.template_hash != hash && rs.template_hash != stable_hash)
        {
            scale_rs(rs, 0, writes, log);
        }
        if let Some(s) = stable_rs {
            scale_rs(s, replicas, writes, log);
        }
        let r = &mut self.rollouts[i];
        if r.abort {
            // The active Service stays on the stable version; the new ReplicaSet goes after
            // abortScaleDownDelaySeconds.
            let until = r.aborted_at.unwrap_or(now) + secs(bg.abort_scale_down_delay_seconds);
            if now < until {
                ctx.send_self(
                    until.saturating_since(now),
                    Event::Argo(ArgoEvent::Reconcile(i as u32)),
                );
            } else {
                scale_rs(new_rs, 0, writes, log);
                if new_rs.status.replicas == 0
                    && let Some(u) = r.update
                    && state.recorder.updates[u].finished.is_none()
                {
                    state.recorder.updates[u].finish(now, "Aborted");
                }
            }
            self.write_bg_routes(i, bg, stable_hash, stable_hash, state, writes);
            return;
        }
        let preview = bg.preview_replica_count.unwrap_or(replicas);
        let size = if r.promote { replicas } else { preview };
        scale_rs(new_rs, size, writes, log);
        let ready = new_rs.replicas == size && new_rs.status.available_replicas == size;
        if !ready {
            self.write_bg_routes(i, bg, stable_hash, stable_hash, state, writes);
            return;
        }
        // The preview Service points at the new version once it is available.
        self.write_bg_routes(i, bg, stable_hash, hash, state, writes);
        let r = &mut self.rollouts[i];
        let since = *r.available_at.get_or_insert(now);
        let promote = if r.promote {
            true
        } else if bg.auto_promotion_enabled && !r.user_paused {
            let at = since + secs(bg.auto_promotion_seconds);
            if now >= at {
                true
            } else {
                ctx.send_self(
                    at.saturating_since(now),
                    Event::Argo(ArgoEvent::Reconcile(i as u32)),
                );
                false
            }
        } else {
            if !r.paused_reported {
                r.paused_reported = true;
                Self::event(
                    state,
                    now,
                    &key,
                    "RolloutPaused",
                    "Rollout is paused until promoted (blue-green preview ready)".into(),
                );
            }
            false
        };
        if promote && size == replicas {
            self.promote_to_stable(
                i,
                hash,
                stable_rs,
                Some(bg.scale_down_delay_seconds),
                now,
                state,
                ctx,
            );
            self.write_bg_routes(i, bg, hash, hash, state, writes);
        } else if promote {
            // previewReplicaCount < replicas: scale up to full size first.
            self.rollouts[i].promote = true;
            ctx.send_self(
                SimDuration::ZERO,
                Event::Argo(ArgoEvent::Reconcile(i as u32)),
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn promote_to_stable(
        &mut self,
        i: usize,
        hash: &str,
        stable_rs: Option<&ReplicaSet>,
        delay: Option<i32>,
        now: SimTime,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let r = &mut self.rollouts[i];
        r.stable_hash = Some(hash.to_string());
        r.step_run = None;
        r.background_run = None;
        r.promote = false;
        if let (Some(s), Some(d)) = (stable_rs, delay) {
            r.scale_down_at.insert(s.key(), now + secs(d));
        }
        let key = r.key.clone();
        Self::event(
            state,
            now,
            &key,
            "RolloutPromoted",
            format!(
                "Rollout promoted: ReplicaSet {}-{hash} is now stable",
                r.spec.name
            ),
        );
        ctx.send_self(
            SimDuration::ZERO,
            Event::Argo(ArgoEvent::Reconcile(i as u32)),
        );
    }

    fn abort(&mut self, i: usize, why: &str, now: SimTime, state: &mut ClusterState) {
        let r = &mut self.rollouts[i];
        if r.abort {
            return;
        }
        r.abort = true;
        r.aborted_at = Some(now);
        r.step_run = None;
        r.background_run = None;
        r.promote = false;
        let key = r.key.clone();
        if let Some(u) = r.update {
            let rec = &mut state.recorder.updates[u];
            rec.aborted_at = Some(now);
            rec.stop_counting(&state.recorder.traffic.versions);
        }
        Self::event(
            state,
            now,
            &key,
            "RolloutAborted",
            format!("Rollout aborted: {why}; traffic back to the stable version"),
        );
    }

    fn write_routes(
        &mut self,
        i: usize,
        stable_hash: &str,
        canary_hash: &str,
        weight: i32,
        state: &mut ClusterState,
        writes: &mut Vec<ApiWrite>,
    ) {
        let RolloutStrategy::Canary(cs) = &self.rollouts[i].spec.strategy else {
            return self.write_bg_routes_owned(i, stable_hash, canary_hash, state, writes);
        };
        let (stable, canary, tr) = (cs.stable_service, cs.canary_service, cs.traffic_routing);
        if let Some(s) = stable {
            let route = ServiceRoute {
                hash: Some(stable_hash.to_string()),
                canary: match (tr, canary) {
                    (true, Some(c)) => Some((c, weight)),
                    _ => None,
                },
            };
            self.set_route(i, s, route, writes);
        }
        if let Some(c) = canary {
            let route = ServiceRoute {
                hash: Some(canary_hash.to_string()),
                canary: None,
            };
            self.set_route(i, c, route, writes);
        }
    }

    fn write_bg_routes_owned(
        &mut self,
        i: usize,
        active: &str,
        preview: &str,
        state: &mut ClusterState,
        writes: &mut Vec<ApiWrite>,
    ) {
        if let RolloutStrategy::BlueGreen(bg) = self.rollouts[i].spec.strategy.clone() {
            self.write_bg_routes(i, &bg, active, preview, state, writes);
        }
    }

    fn write_bg_routes(
        &mut self,
        i: usize,
        bg: &crate::cluster::argo::spec::BlueGreenSpec,
        active: &str,
        preview: &str,
        _state: &mut ClusterState,
        writes: &mut Vec<ApiWrite>,
    ) {
        let route = |h: &str| ServiceRoute {
            hash: Some(h.to_string()),
            canary: None,
        };
        self.set_route(i, bg.active_service, route(active), writes);
        if let Some(p) = bg.preview_service {
            self.set_route(i, p, route(preview), writes);
        }
    }

    fn set_route(
        &mut self,
        i: usize,
        service: usize,
        route: ServiceRoute,
        writes: &mut Vec<ApiWrite>,
    ) {
        let r = &mut self.rollouts[i];
        if r.routes.get(&service) == Some(&route) {
            return;
        }
        r.routes.insert(service, route.clone());
        writes.push(ApiWrite::SetServiceRoute { service, route });
    }

    fn start_run(
        &mut self,
        i: usize,
        templates: &[usize],
        what: &str,
        now: SimTime,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) -> Run {
        let id = self.next_run;
        self.next_run += 1;
        let spec = Arc::clone(&state.spec);
        let r = &self.rollouts[i];
        let names: Vec<&str> = templates
            .iter()
            .map(|&t| spec.argo.analysis_templates[t].name.as_str())
            .collect();
        let name = format!("{}-{}-{id}", r.spec.name, names.join("-"));
        let mut metrics = Vec::new();
        for &t in templates {
            for (m, ms) in spec.argo.analysis_templates[t].metrics.iter().enumerate() {
                let last = self.snapshot_for(i, ms.query.version, now, state);
                let first = ms.initial_delay + ms.interval.unwrap_or(SimDuration::ZERO);
                ctx.send_self(
                    first,
                    Event::Argo(ArgoEvent::Measure {
                        rollout: i as u32,
                        run: id,
                        metric: metrics.len() as u32,
                    }),
                );
                metrics.push(RunMetric {
                    template: t,
                    metric: m,
                    tally: MetricTally::default(),
                    phase: AnalysisPhase::Running,
                    last,
                });
            }
        }
        let key = self.rollouts[i].key.clone();
        Self::event(
            state,
            now,
            &key,
            "AnalysisRunStarted",
            format!("{what} analysis run {name} started ({})", names.join(", ")),
        );
        Run { id, name, metrics }
    }

    fn snapshot_for(
        &self,
        i: usize,
        v: VersionSelector,
        now: SimTime,
        state: &ClusterState,
    ) -> Snapshot {
        let r = &self.rollouts[i];
        let canary = first_image(&r.template);
        let stable = state
            .store
            .replica_sets
            .values()
            .find(|rs| {
                rs.owner
                    .as_ref()
                    .is_some_and(|o| o.kind == ROLLOUT_KIND && o.key == r.key)
                    && Some(&rs.template_hash) == r.stable_hash.as_ref()
            })
            .map(|rs| first_image(&rs.template))
            .unwrap_or_default();
        let images = match v {
            VersionSelector::Canary => vec![canary],
            VersionSelector::Stable => vec![stable],
            VersionSelector::All => {
                if canary == stable {
                    vec![canary]
                } else {
                    vec![canary, stable]
                }
            }
        };
        Self::snapshot(state, &r.spec.name, &images, now)
    }

    fn measure(
        &mut self,
        i: usize,
        run: u32,
        m: usize,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        let spec = Arc::clone(&state.spec);
        let is_step = self.rollouts[i]
            .step_run
            .as_ref()
            .is_some_and(|x| x.id == run);
        let is_bg = self.rollouts[i]
            .background_run
            .as_ref()
            .is_some_and(|x| x.id == run);
        if !is_step && !is_bg {
            return;
        }
        let (t, mi) = {
            let r = &self.rollouts[i];
            let run_ref = if is_step {
                r.step_run.as_ref()
            } else {
                r.background_run.as_ref()
            };
            let Some(rm) = run_ref.and_then(|x| x.metrics.get(m)) else {
                return;
            };
            (rm.template, rm.metric)
        };
        let ms = &spec.argo.analysis_templates[t].metrics[mi];
        let cur = self.snapshot_for(i, ms.query.version, now, state);
        let r = &mut self.rollouts[i];
        let run_mut = if is_step {
            r.step_run.as_mut()
        } else {
            r.background_run.as_mut()
        };
        let Some(run_mut) = run_mut else { return };
        let run_name = run_mut.name.clone();
        let rm = &mut run_mut.metrics[m];
        let served = cur.served.saturating_sub(rm.last.served);
        let errors = cur.errors.saturating_sub(rm.last.errors);
        let window = cur.latency.since(&rm.last.latency);
        let dt = now.saturating_since(rm.last.at).as_secs_f64();
        let value = match ms.query.metric {
            MetricKind::ErrorRate => (served > 0).then(|| errors as f64 / served as f64),
            MetricKind::LatencyP99 => (window.count() > 0).then(|| window.quantile_secs(0.99)),
            MetricKind::LatencyP50 => (window.count() > 0).then(|| window.quantile_secs(0.5)),
            MetricKind::RequestRate => (dt > 0.0).then(|| served as f64 / dt),
        };
        rm.last = cur;
        let phase = measurement_phase(
            value,
            ms.success_condition.as_ref(),
            ms.failure_condition.as_ref(),
        );
        rm.tally.add(phase);
        let count = match (ms.count, ms.interval) {
            (Some(c), _) => Some(c),
            (None, None) => Some(1),
            (None, Some(_)) => None,
        };
        rm.phase = metric_phase(
            &rm.tally,
            count,
            ms.failure_limit,
            ms.inconclusive_limit,
            ms.consecutive_error_limit,
        );
        let metric_phase_now = rm.phase;
        let n = rm.tally.count;
        let key = r.key.clone();
        let shown = value.map_or("no data".to_string(), |v| format!("{v:.4}"));
        state.recorder.event(
            now,
            "AnalysisRun",
            format!("{}/{run_name}", self.rollouts[i].spec.namespace),
            "MetricMeasured",
            format!(
                "metric {} measurement {n}: result {shown} -> {} (metric {})",
                ms.name,
                phase.as_str(),
                metric_phase_now.as_str()
            ),
        );
        state.recorder.analysis_measurements += 1;
        if metric_phase_now == AnalysisPhase::Running {
            // Without an interval only an error keeps a metric running: retry after 10 s.
            let next = ms.interval.unwrap_or(ERROR_RETRY);
            ctx.send_self(
                next,
                Event::Argo(ArgoEvent::Measure {
                    rollout: i as u32,
                    run,
                    metric: m as u32,
                }),
            );
        } else {
            let r = &self.rollouts[i];
            let run_ref = if is_step {
                r.step_run.as_ref()
            } else {
                r.background_run.as_ref()
            };
            if let Some(x) = run_ref {
                let p = x.phase();
                if p != AnalysisPhase::Running {
                    Self::event(
                        state,
                        now,
                        &key,
                        "AnalysisRunCompleted",
                        format!("analysis run {run_name} {}", p.as_str()),
                    );
                }
            }
            ctx.send_self(
                SimDuration::ZERO,
                Event::Argo(ArgoEvent::Reconcile(i as u32)),
            );
        }
    }

    fn command(
        &mut self,
        i: usize,
        c: ArgoCommand,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        let key = self.rollouts[i].key.clone();
        match c {
            ArgoCommand::Promote => {
                self.rollouts[i].promote = true;
                Self::event(
                    state,
                    now,
                    &key,
                    "RolloutPromote",
                    "promote requested".into(),
                );
            }
            ArgoCommand::Abort => self.abort(i, "abort requested", now, state),
            ArgoCommand::Retry => {
                let r = &mut self.rollouts[i];
                if r.abort {
                    r.abort = false;
                    r.aborted_at = None;
                    r.step = 0;
                    r.pause_start = None;
                    r.paused_reported = false;
                    r.available_at = None;
                    Self::event(
                        state,
                        now,
                        &key,
                        "RolloutRetry",
                        "retry requested: the update starts again from step 1".into(),
                    );
                }
            }
            ArgoCommand::Pause => self.rollouts[i].user_paused = true,
            ArgoCommand::Resume => self.rollouts[i].user_paused = false,
            ArgoCommand::SetImage { container, image } => {
                let r = &mut self.rollouts[i];
                let mut t = (*r.template).clone();
                let idx = match &container {
                    Some(c) => t.containers.iter().position(|x| &x.name == c),
                    None => (!t.containers.is_empty()).then_some(0),
                };
                let Some(idx) = idx else { return };
                t.containers[idx].image = image.clone();
                r.template = Arc::new(t);
                Self::event(
                    state,
                    now,
                    &key,
                    "RolloutUpdated",
                    format!(
                        "set image of container {} to {image}",
                        r.template.containers[idx].name
                    ),
                );
            }
        }
        self.reconcile(i, state, ctx);
    }

    fn on_watch(&mut self, w: &WatchEvent, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        if w.kind != ObjectKind::ReplicaSet || w.change == Change::Deleted {
            return;
        }
        let ObjectRef::Named(key) = &w.object else {
            return;
        };
        let owner = state
            .store
            .replica_sets
            .get(key)
            .and_then(|rs| rs.owner.clone())
            .filter(|o| o.kind == ROLLOUT_KIND);
        if let Some(o) = owner
            && let Some(i) = self.rollouts.iter().position(|r| r.key == o.key)
        {
            self.reconcile(i, state, ctx);
        }
    }
}

fn step_name(s: &CanaryStep) -> String {
    match s {
        CanaryStep::SetWeight(w) => format!("setWeight {w}"),
        CanaryStep::Pause(Some(d)) => format!("pause {d}"),
        CanaryStep::Pause(None) => "pause".into(),
        CanaryStep::Analysis(_) => "analysis".into(),
    }
}

fn scale_rs(rs: &ReplicaSet, to: i32, writes: &mut Vec<ApiWrite>, log: &mut Vec<String>) {
    if rs.replicas != to {
        let verb = if to > rs.replicas { "up" } else { "down" };
        log.push(format!(
            "Scaled {verb} ReplicaSet {} from {} to {to}",
            rs.name, rs.replicas
        ));
        writes.push(ApiWrite::ScaleReplicaSet {
            key: rs.key(),
            replicas: to,
        });
    }
}

fn flush(ctx: &mut Context<'_, Event>, state: &mut ClusterState, writes: Vec<ApiWrite>) {
    for w in writes {
        apiserver::write(ctx, state, w);
    }
}

/// A ReplicaSet of Rollout `r` for template hash `hash`: named `<rollout>-<hash>`, its pods
/// labelled `rollouts-pod-template-hash: <hash>`.
fn new_replica_set(r: &RolloutState, hash: &str, revision: u64, replicas: i32) -> ReplicaSet {
    let mut template = (*r.template).clone();
    template.labels = with_label(&template.labels, ROLLOUT_HASH_LABEL, hash);
    let mut selector = r.spec.selector.clone();
    selector
        .match_labels
        .insert(ROLLOUT_HASH_LABEL.into(), hash.into());
    ReplicaSet {
        name: format!("{}-{hash}", r.spec.name),
        namespace: r.spec.namespace.clone(),
        owner: Some(OwnerRef {
            kind: ROLLOUT_KIND,
            key: r.key.clone(),
        }),
        workload: r.spec.name.clone(),
        replicas,
        selector,
        template: Arc::new(template),
        template_hash: hash.to_string(),
        min_ready_seconds: r.spec.min_ready_seconds,
        revision,
        created_at: SimTime::ZERO,
        status: ReplicaSetStatus::default(),
        desired_replicas: None,
        max_replicas: None,
    }
}

impl Component<Event, ClusterState> for RolloutController {
    fn name(&self) -> &str {
        "argo-rollouts-controller"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match event {
            Event::Watch(w) => self.on_watch(&w, state, ctx),
            Event::Argo(ArgoEvent::Reconcile(i)) if (i as usize) < self.rollouts.len() => {
                self.reconcile(i as usize, state, ctx)
            }
            Event::Argo(ArgoEvent::Command { rollout, command })
                if (rollout as usize) < self.rollouts.len() =>
            {
                self.command(rollout as usize, command, state, ctx)
            }
            Event::Argo(ArgoEvent::Measure {
                rollout,
                run,
                metric,
            }) if (rollout as usize) < self.rollouts.len() => {
                self.measure(rollout as usize, run, metric as usize, state, ctx)
            }
            _ => {}
        }
    }
}
