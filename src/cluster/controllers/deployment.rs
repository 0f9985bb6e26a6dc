//! The Deployment controller (upstream `pkg/controller/deployment`): one ReplicaSet per
//! pod-template hash, named `<deployment>-<hash>`, sized by the rollout strategy's arithmetic
//! ([`rolling`]):
//!
//! - a scaling event (the Deployment's replicas differ from its ReplicaSets'
//!   `desired-replicas` annotation) or a paused Deployment: `sync` — proportional scaling;
//! - `RollingUpdate`: grow the new ReplicaSet within replicas + maxSurge, shrink old ones while
//!   at least replicas - maxUnavailable stay available (unhealthy old pods first);
//! - `Recreate`: scale every old ReplicaSet to zero, wait until their pods are gone, then
//!   create the new one at full size.
//!
//! When the rollout completes, ReplicaSets beyond `revisionHistoryLimit` with no pods are
//! deleted, and a rollout that makes no progress for `progressDeadlineSeconds` is reported
//! (`ProgressDeadlineExceeded`).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::cluster::apiserver;
use crate::cluster::argo::record::UpdateRecord;
use crate::cluster::controllers::rolling::{self, Rolling, RsSize};
use crate::cluster::controllers::workqueue::WorkQueue;
use crate::cluster::events::{ApiWrite, Change, ControllerTimer, Event, ObjectRef, WatchEvent};
use crate::cluster::metrics::Recorder;
use crate::cluster::objects::{
    Deployment, DeploymentStatus, ObjectKind, OwnerRef, ReplicaSet, ReplicaSetStatus, with_label,
};
use crate::cluster::spec::{DeploymentStrategy, IntOrPercent, PodTemplateSpec};
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, SimDuration, SimTime};

/// Label carrying the template hash (upstream `DefaultDeploymentUniqueLabelKey`).
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

/// Characters upstream `rand.SafeEncodeString` maps to.
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The pod-template hash, as upstream `controller.ComputeHash`: FNV-1a 32 over the template,
/// printed in decimal, each digit byte mapped through `SafeEncodeString`. kubesim hashes its own
/// stable rendering of the template, so the values differ from a real cluster's but are stable
/// across runs and platforms.
pub fn compute_hash(template: &PodTemplateSpec) -> String {
    let mut text = format!("{template:?}");
    // A template without annotations hashes as before annotations were part of the model, so
    // existing ReplicaSet names (and the runs' event logs) stay the same.
    if template.annotations.is_empty()
        && let Some(head) = text.strip_suffix(", annotations: {} }")
    {
        text = format!("{head} }}");
    }
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h.to_string()
        .bytes()
        .map(|b| ALPHANUMS[b as usize % ALPHANUMS.len()] as char)
        .collect()
}

/// Progress of one rollout (a new ReplicaSet being brought up).
#[derive(Debug, Clone)]
struct RolloutTrack {
    /// The new ReplicaSet's hash.
    hash: String,
    /// When the rollout started.
    started: SimTime,
    /// Last time it progressed (new ReplicaSet scaled up or more pods available).
    last_progress: SimTime,
    /// Available pods of the new ReplicaSet at the last progress.
    last_available: i32,
    /// Whether the deadline was already reported.
    deadline_reported: bool,
    /// Index of its record in `Recorder::updates`.
    update: Option<usize>,
}

/// The Deployment controller component.
#[derive(Debug, Default)]
pub struct DeploymentController {
    queue: WorkQueue,
    rollouts: BTreeMap<String, RolloutTrack>,
}

fn rolling_params(d: &Deployment) -> Rolling {
    match d.strategy {
        DeploymentStrategy::RollingUpdate {
            max_surge,
            max_unavailable,
        } => Rolling {
            replicas: d.replicas,
            max_surge,
            max_unavailable,
        },
        // Recreate has neither surge nor unavailability bounds (upstream MaxSurge/MaxUnavailable
        // return 0 for non-rolling Deployments).
        DeploymentStrategy::Recreate => Rolling {
            replicas: d.replicas,
            max_surge: IntOrPercent::Int(0),
            max_unavailable: IntOrPercent::Int(0),
        },
    }
}

fn size(rs: &ReplicaSet) -> RsSize {
    RsSize {
        key: rs.key(),
        replicas: rs.replicas,
        available: rs.status.available_replicas,
        created: rs.revision,
        max_replicas_annotation: rs.max_replicas,
    }
}

impl DeploymentController {
    /// A new controller.
    pub fn new() -> Self {
        Self::default()
    }

    fn new_replica_set(
        d: &Deployment,
        hash: &str,
        revision: u64,
        replicas: i32,
        max: i32,
    ) -> ReplicaSet {
        let mut template = (*d.template).clone();
        template.labels = with_label(&template.labels, POD_TEMPLATE_HASH_LABEL, hash);
        let mut selector = d.selector.clone();
        selector
            .match_labels
            .insert(POD_TEMPLATE_HASH_LABEL.into(), hash.into());
        ReplicaSet {
            name: format!("{}-{hash}", d.name),
            namespace: d.namespace.clone(),
            owner: Some(OwnerRef {
                kind: "Deployment",
                key: d.key(),
            }),
            workload: d.name.clone(),
            replicas,
            selector,
            template: Arc::new(template),
            template_hash: hash.to_string(),
            min_ready_seconds: d.min_ready_seconds,
            revision,
            created_at: SimTime::ZERO,
            status: ReplicaSetStatus::default(),
            desired_replicas: Some(d.replicas),
            max_replicas: Some(max),
        }
    }

    fn reconcile(&mut self, key: &str, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let Some(d) = state.store.deployments.get(key) else {
            self.rollouts.remove(key);
            return;
        };
        let hash = compute_hash(&d.template);
        let mut owned: Vec<&ReplicaSet> = state
            .store
            .replica_sets
            .values()
            .filter(|rs| rs.owner.as_ref().is_some_and(|o| o.key == key))
            .collect();
        owned.sort_by_key(|rs| rs.revision);
        let new_rs = owned.iter().copied().find(|rs| rs.template_hash == hash);
        let old: Vec<&ReplicaSet> = owned
            .iter()
            .copied()
            .filter(|rs| rs.template_hash != hash)
            .collect();
        let params = rolling_params(d);
        let max_total =
            d.replicas + rolling::max_surge(d.replicas, params.max_surge, params.max_unavailable);
        let mut writes: Vec<ApiWrite> = Vec::new();
        let mut log: Vec<String> = Vec::new();
        let scale =
            |rs: &ReplicaSet, to: i32, writes: &mut Vec<ApiWrite>, log: &mut Vec<String>| {
                if rs.replicas != to {
                    let verb = if to > rs.replicas { "up" } else { "down" };
                    log.push(format!(
                        "Scaled {verb} replica set {} from {} to {to}",
                        rs.name, rs.replicas
                    ));
                }
                writes.push(ApiWrite::ScaleOwnedReplicaSet {
                    key: rs.key(),
                    replicas: to,
                    desired: d.replicas,
                    max: max_total,
                });
            };

        let active: Vec<&ReplicaSet> = owned.iter().copied().filter(|rs| rs.replicas > 0).collect();
        let scaling_event = active
            .iter()
            .any(|rs| rs.desired_replicas.is_some_and(|x| x != d.replicas));
        if d.paused || scaling_event {
            // Upstream sync() -> scale().
            self.sync_scale(d, new_rs, &active, params, &mut |rs, to| {
                scale(rs, to, &mut writes, &mut log)
            });
        } else {
            match d.strategy {
                DeploymentStrategy::Recreate => {
                    let old_active: Vec<&&ReplicaSet> =
                        old.iter().filter(|rs| rs.replicas > 0).collect();
                    let old_pods = old.iter().any(|rs| {
                        rs.status.replicas > 0
                            || state
                                .store
                                .pods_by_owner
                                .get(&rs.key())
                                .is_some_and(|s| !s.is_empty())
                    });
                    if !old_active.is_empty() {
                        for rs in old_active {
                            scale(rs, 0, &mut writes, &mut log);
                        }
                    } else if !old_pods {
                        match new_rs {
                            None => writes.push(
                                self.create(d, &hash, &owned, d.replicas, max_total, now, &mut log),
                            ),
                            Some(rs) if rs.replicas != d.replicas => {
                                scale(rs, d.replicas, &mut writes, &mut log)
                            }
                            Some(_) => {}
                        }
                    }
                }
                DeploymentStrategy::RollingUpdate { .. } => match new_rs {
                    None => {
                        let old_total: i32 = old.iter().map(|rs| rs.replicas).sum();
                        let n = rolling::new_rs_new_replicas(params, old_total, 0);
                        writes.push(self.create(d, &hash, &owned, n, max_total, now, &mut log));
                    }
                    Some(new) => {
                        let all: Vec<RsSize> = owned.iter().map(|rs| size(rs)).collect();
                        if let Some(n) = rolling::reconcile_new(params, &all, &size(new)) {
                            scale(new, n, &mut writes, &mut log);
                        } else {
                            let olds: Vec<RsSize> = old.iter().map(|rs| size(rs)).collect();
                            for (k, n) in rolling::reconcile_old(params, &olds, &size(new)) {
                                if let Some(rs) = old.iter().find(|rs| rs.key() == k) {
                                    scale(rs, n, &mut writes, &mut log);
                                }
                            }
                        }
                    }
                },
            }
        }

        // Status (upstream calculateStatus).
        let status = DeploymentStatus {
            replicas: owned.iter().map(|rs| rs.status.replicas).sum(),
            updated_replicas: new_rs.map_or(0, |rs| rs.status.replicas),
            ready_replicas: owned.iter().map(|rs| rs.status.ready_replicas).sum(),
            available_replicas: owned.iter().map(|rs| rs.status.available_replicas).sum(),
        };
        // Upstream DeploymentComplete: every replica updated and available, none old left.
        let complete = new_rs.is_some()
            && status.updated_replicas == d.replicas
            && status.replicas == d.replicas
            && status.available_replicas == d.replicas
            && old.iter().all(|rs| rs.replicas == 0);
        if complete {
            // History cleanup (upstream cleanupDeployment): oldest first, only empty ones.
            let limit = d.revision_history_limit.max(0) as usize;
            let empty: Vec<&&ReplicaSet> = old
                .iter()
                .filter(|rs| rs.replicas == 0 && rs.status.replicas == 0)
                .collect();
            if empty.len() > limit {
                for rs in empty.iter().take(empty.len() - limit) {
                    writes.push(ApiWrite::DeleteReplicaSet { key: rs.key() });
                }
            }
        }
        // A rollout to an existing ReplicaSet (rollback) is tracked from here.
        if !complete
            && let Some(n) = new_rs
            && old.iter().any(|rs| rs.replicas > 0)
            && self
                .rollouts
                .get(key)
                .is_none_or(|t| t.hash != n.template_hash)
        {
            self.rollouts.insert(
                key.to_string(),
                RolloutTrack {
                    hash: n.template_hash.clone(),
                    started: now,
                    last_progress: now,
                    last_available: n.status.available_replicas,
                    deadline_reported: false,
                    update: None,
                },
            );
        }
        self.track_update(key, d, &owned, new_rs, complete, now, &mut state.recorder);
        self.track_progress(key, d, new_rs, complete, now, &mut state.recorder, ctx);
        if d.status != status {
            writes.push(ApiWrite::DeploymentStatus {
                key: key.to_string(),
                status,
            });
        }
        for m in log {
            state
                .recorder
                .event(now, "Deployment", key.to_string(), "ScalingReplicaSet", m);
        }
        for w in writes {
            apiserver::write(ctx, state, w);
        }
    }

    /// Upstream `scale()`: the only active (or newest) ReplicaSet takes the full count; with a
    /// saturated new ReplicaSet old ones go to zero; otherwise proportional scaling.
    fn sync_scale(
        &self,
        d: &Deployment,
        new_rs: Option<&ReplicaSet>,
        active: &[&ReplicaSet],
        params: Rolling,
        scale: &mut dyn FnMut(&ReplicaSet, i32),
    ) {
        let target = match (active.len(), new_rs) {
            (1, _) => Some(active[0]),
            (0, Some(n)) => Some(n),
            _ => None,
        };
        if let Some(rs) = target {
            if rs.replicas != d.replicas || rs.desired_replicas != Some(d.replicas) {
                scale(rs, d.replicas);
            }
            return;
        }
        // IsSaturated: the new ReplicaSet has every replica available.
        if let Some(n) = new_rs
            && n.replicas == d.replicas
            && n.status.available_replicas == d.replicas
        {
            for rs in active
                .iter()
                .filter(|rs| rs.template_hash != n.template_hash)
            {
                scale(rs, 0);
            }
            return;
        }
        if matches!(d.strategy, DeploymentStrategy::RollingUpdate { .. }) {
            let sizes: Vec<RsSize> = active.iter().map(|rs| size(rs)).collect();
            let changes = rolling::proportional_scale(params, &sizes, d.status.replicas);
            for rs in active {
                let to = changes
                    .iter()
                    .find(|(k, _)| *k == rs.key())
                    .map_or(rs.replicas, |c| c.1);
                scale(rs, to);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        d: &Deployment,
        hash: &str,
        owned: &[&ReplicaSet],
        replicas: i32,
        max: i32,
        now: SimTime,
        log: &mut Vec<String>,
    ) -> ApiWrite {
        let revision = owned.iter().map(|rs| rs.revision).max().unwrap_or(0) + 1;
        let rs = Self::new_replica_set(d, hash, revision, replicas, max);
        log.push(format!(
            "Scaled up replica set {} from 0 to {replicas}",
            rs.name
        ));
        self.rollouts.insert(
            d.key(),
            RolloutTrack {
                hash: hash.to_string(),
                started: now,
                last_progress: now,
                last_available: 0,
                deadline_reported: false,
                update: None,
            },
        );
        ApiWrite::CreateReplicaSet(Box::new(rs))
    }

    /// Update records (`Recorder::updates`): start one with each rollout, observe the pods at
    /// every reconcile, close it when the rollout completes or another replaces it.
    #[allow(clippy::too_many_arguments)]
    fn track_update(
        &mut self,
        key: &str,
        d: &Deployment,
        owned: &[&ReplicaSet],
        new_rs: Option<&ReplicaSet>,
        complete: bool,
        now: SimTime,
        recorder: &mut Recorder,
    ) {
        let image = |t: &PodTemplateSpec| {
            t.containers
                .first()
                .map(|c| c.image.clone())
                .unwrap_or_default()
        };
        let pods: i32 = owned.iter().map(|rs| rs.status.replicas).sum();
        let available: i32 = owned.iter().map(|rs| rs.status.available_replicas).sum();
        let Some(track) = self.rollouts.get_mut(key) else {
            return;
        };
        if track.update.is_none() {
            // The first ReplicaSet of a Deployment is not an update.
            if owned.len() < 2 {
                return;
            }
            // A new update ends the records of the earlier ones.
            let versions = &recorder.traffic.versions;
            for rec in recorder
                .updates
                .iter_mut()
                .filter(|r| r.kind == "Deployment" && r.object == key)
            {
                rec.stop_counting(versions);
                rec.finish(now, "Superseded");
            }
            let from = owned
                .iter()
                .filter(|rs| rs.template_hash != track.hash)
                .max_by_key(|rs| rs.revision)
                .map(|rs| image(&rs.template))
                .unwrap_or_default();
            let strategy = match d.strategy {
                DeploymentStrategy::Recreate => "Recreate",
                DeploymentStrategy::RollingUpdate { .. } => "RollingUpdate",
            };
            let mut rec = UpdateRecord::start(
                "Deployment",
                key.to_string(),
                strategy,
                from,
                image(&d.template),
                d.replicas,
                now,
                pods,
                available,
            );
            rec.count_from(&d.name, &recorder.traffic.versions);
            recorder.updates.push(rec);
            track.update = Some(recorder.updates.len() - 1);
        }
        let Some(u) = track.update else {
            return;
        };
        if new_rs.is_none_or(|rs| rs.template_hash != track.hash) {
            return;
        }
        let rec = &mut recorder.updates[u];
        rec.observe(now, pods, available);
        rec.refresh(&recorder.traffic.versions);
        if complete {
            rec.finish(now, "Completed");
        }
    }

    /// Progress accounting (upstream Progressing condition): record rollout completion and
    /// duration, and report a rollout that made no progress for progressDeadlineSeconds.
    #[allow(clippy::too_many_arguments)]
    fn track_progress(
        &mut self,
        key: &str,
        d: &Deployment,
        new_rs: Option<&ReplicaSet>,
        complete: bool,
        now: SimTime,
        recorder: &mut Recorder,
        ctx: &mut Context<'_, Event>,
    ) {
        let Some(track) = self.rollouts.get_mut(key) else {
            return;
        };
        let Some(new) = new_rs.filter(|rs| rs.template_hash == track.hash) else {
            return;
        };
        if complete {
            let took = now.saturating_since(track.started);
            recorder.event(
                now,
                "Deployment",
                key.to_string(),
                "NewReplicaSetAvailable",
                format!(
                    "ReplicaSet \"{}\" has successfully progressed in {took}.",
                    new.name
                ),
            );
            recorder.rollout_durations.record(took);
            self.rollouts.remove(key);
            return;
        }
        if new.status.available_replicas > track.last_available {
            track.last_available = new.status.available_replicas;
            track.last_progress = now;
        }
        let deadline = SimDuration::from_secs(d.progress_deadline_seconds.max(0) as u64);
        if !track.deadline_reported && now.saturating_since(track.last_progress) >= deadline {
            track.deadline_reported = true;
            recorder.event(
                now,
                "Deployment",
                key.to_string(),
                "ProgressDeadlineExceeded",
                format!("ReplicaSet \"{}\" has timed out progressing.", new.name),
            );
        } else if !track.deadline_reported {
            // Upstream requeues the Deployment to check the deadline when it would pass.
            let due = track.last_progress + deadline;
            self.queue.add_after(key, due.saturating_since(now), ctx);
        }
    }

    fn on_watch(&mut self, w: &WatchEvent, state: &ClusterState, ctx: &mut Context<'_, Event>) {
        match (&w.object, w.kind) {
            (ObjectRef::Named(key), ObjectKind::Deployment) if w.change != Change::Deleted => {
                self.queue.add(key, ctx)
            }
            (ObjectRef::Named(key), ObjectKind::ReplicaSet) => {
                let owner = state
                    .store
                    .replica_sets
                    .get(key)
                    .and_then(|rs| rs.owner.clone());
                if let Some(o) = owner {
                    self.queue.add(&o.key, ctx);
                }
            }
            // Recreate waits for old pods to be gone.
            (
                ObjectRef::Pod {
                    owner: Some(owner), ..
                },
                ObjectKind::Pod,
            ) if w.change == Change::Deleted => {
                let d = state
                    .store
                    .replica_sets
                    .get(owner)
                    .and_then(|rs| rs.owner.clone());
                if let Some(o) = d {
                    self.queue.add(&o.key, ctx);
                }
            }
            _ => {}
        }
    }
}

impl Component<Event, ClusterState> for DeploymentController {
    fn name(&self) -> &str {
        "deployment-controller"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match event {
            Event::Watch(w) => self.on_watch(&w, state, ctx),
            Event::Controller(ControllerTimer::Reconcile(key)) => {
                self.queue.done(&key);
                // Only kube-controller-manager's leader reconciles (`cluster::control_plane`).
                if state.leadership.controller_manager {
                    self.reconcile(&key, state, ctx);
                }
            }
            // A fresh leader starts the controller: the informer's initial list queues every
            // object.
            Event::Controller(ControllerTimer::StartedLeading) => {
                let keys: Vec<String> = state.store.deployments.keys().cloned().collect();
                for k in keys {
                    self.queue.add(&k, ctx);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod annotation_hash_tests {
    use super::*;

    #[test]
    fn template_annotations_are_part_of_the_hash() {
        let base = PodTemplateSpec::default();
        let mut a = base.clone();
        a.annotations
            .insert("checksum/config".into(), "3f9a61c2".into());
        let mut b = base.clone();
        b.annotations
            .insert("checksum/config".into(), "7c04e9d5".into());
        // (template, other, same hash?)
        let cases = [
            (&base, &base, true),
            (&a, &a.clone(), true),
            (&base, &a, false),
            (&a, &b, false),
        ];
        for (i, (x, y, same)) in cases.iter().enumerate() {
            assert_eq!(compute_hash(x) == compute_hash(y), *same, "case {i}");
        }
    }
}
