//! The Deployment controller (upstream `pkg/controller/deployment`), first version: one
//! ReplicaSet per pod-template hash, named `<deployment>-<hash>`; the current one is scaled to
//! `spec.replicas` and older ones to zero; ReplicaSets beyond `revisionHistoryLimit` with no
//! replicas are deleted; status is the sum over its ReplicaSets. The timed rolling-update
//! arithmetic (maxSurge / maxUnavailable) comes with the rollouts work.

use std::sync::Arc;

use crate::cluster::apiserver;
use crate::cluster::controllers::workqueue::WorkQueue;
use crate::cluster::events::{ApiWrite, Change, ControllerTimer, Event, ObjectRef, WatchEvent};
use crate::cluster::objects::{
    Deployment, DeploymentStatus, ObjectKind, OwnerRef, ReplicaSet, ReplicaSetStatus, with_label,
};
use crate::cluster::spec::PodTemplateSpec;
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, SimTime};

/// Label carrying the template hash (upstream `DefaultDeploymentUniqueLabelKey`).
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

/// Characters upstream `rand.SafeEncodeString` maps to.
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The pod-template hash, as upstream `controller.ComputeHash`: FNV-1a 32 over the template,
/// printed in decimal, each digit byte mapped through `SafeEncodeString`. kubesim hashes its own
/// stable rendering of the template, so the values differ from a real cluster's but are stable
/// across runs and platforms.
pub fn compute_hash(template: &PodTemplateSpec) -> String {
    let text = format!("{template:?}");
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

/// The Deployment controller component.
#[derive(Debug, Default)]
pub struct DeploymentController {
    queue: WorkQueue,
}

impl DeploymentController {
    /// A new controller.
    pub fn new() -> Self {
        Self::default()
    }

    fn new_replica_set(d: &Deployment, hash: &str, revision: u64) -> ReplicaSet {
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
            replicas: d.replicas,
            selector,
            template: Arc::new(template),
            template_hash: hash.to_string(),
            min_ready_seconds: d.min_ready_seconds,
            revision,
            created_at: SimTime::ZERO,
            status: ReplicaSetStatus::default(),
        }
    }

    fn reconcile(&mut self, key: &str, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let Some(d) = state.store.deployments.get(key) else {
            return;
        };
        let hash = compute_hash(&d.template);
        let owned: Vec<&ReplicaSet> = state
            .store
            .replica_sets
            .values()
            .filter(|rs| rs.owner.as_ref().is_some_and(|o| o.key == key))
            .collect();
        let mut writes = Vec::new();
        let current = owned.iter().find(|rs| rs.template_hash == hash);
        match current {
            None => {
                let revision = owned.iter().map(|rs| rs.revision).max().unwrap_or(0) + 1;
                let rs = Self::new_replica_set(d, &hash, revision);
                state.recorder.event(
                    now,
                    "Deployment",
                    key.to_string(),
                    "ScalingReplicaSet",
                    format!(
                        "Scaled up replica set {} from 0 to {}",
                        rs.name, rs.replicas
                    ),
                );
                writes.push(ApiWrite::CreateReplicaSet(Box::new(rs)));
            }
            Some(rs) if rs.replicas != d.replicas => {
                let verb = if d.replicas > rs.replicas {
                    "up"
                } else {
                    "down"
                };
                state.recorder.event(
                    now,
                    "Deployment",
                    key.to_string(),
                    "ScalingReplicaSet",
                    format!(
                        "Scaled {verb} replica set {} from {} to {}",
                        rs.name, rs.replicas, d.replicas
                    ),
                );
                writes.push(ApiWrite::ScaleReplicaSet {
                    key: rs.key(),
                    replicas: d.replicas,
                });
            }
            Some(_) => {}
        }
        let mut old: Vec<&&ReplicaSet> =
            owned.iter().filter(|rs| rs.template_hash != hash).collect();
        for rs in &old {
            if rs.replicas != 0 {
                state.recorder.event(
                    now,
                    "Deployment",
                    key.to_string(),
                    "ScalingReplicaSet",
                    format!(
                        "Scaled down replica set {} from {} to 0",
                        rs.name, rs.replicas
                    ),
                );
                writes.push(ApiWrite::ScaleReplicaSet {
                    key: rs.key(),
                    replicas: 0,
                });
            }
        }
        // History cleanup (upstream cleanupDeployment): oldest first, only empty ones.
        old.sort_by_key(|rs| rs.revision);
        let limit = d.revision_history_limit.max(0) as usize;
        if old.len() > limit {
            for rs in old.iter().take(old.len() - limit) {
                if rs.replicas == 0 && rs.status.replicas == 0 {
                    writes.push(ApiWrite::DeleteReplicaSet { key: rs.key() });
                }
            }
        }
        let status = DeploymentStatus {
            replicas: owned.iter().map(|rs| rs.status.replicas).sum(),
            updated_replicas: current.map_or(0, |rs| rs.status.replicas),
            ready_replicas: owned.iter().map(|rs| rs.status.ready_replicas).sum(),
            available_replicas: owned.iter().map(|rs| rs.status.available_replicas).sum(),
        };
        if d.status != status {
            writes.push(ApiWrite::DeploymentStatus {
                key: key.to_string(),
                status,
            });
        }
        for w in writes {
            apiserver::write(ctx, state, w);
        }
    }

    fn on_watch(&mut self, w: &WatchEvent, state: &ClusterState, ctx: &mut Context<'_, Event>) {
        let ObjectRef::Named(key) = &w.object else {
            return;
        };
        match w.kind {
            ObjectKind::Deployment if w.change != Change::Deleted => self.queue.add(key, ctx),
            ObjectKind::ReplicaSet => {
                let owner = state
                    .store
                    .replica_sets
                    .get(key)
                    .and_then(|rs| rs.owner.clone());
                if let Some(o) = owner {
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
                self.reconcile(&key, state, ctx);
            }
            _ => {}
        }
    }
}
