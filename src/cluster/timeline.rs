//! The timeline: the scenario's scripted actions, each fired at its time through the same API
//! writes a user's `kubectl` would make.

use std::sync::Arc;

use crate::cluster::apiserver;
use crate::cluster::controllers::deployment::{POD_TEMPLATE_HASH_LABEL, compute_hash};
use crate::cluster::events::{ApiWrite, ControllerTimer, Event};
use crate::cluster::spec::{PodTemplateSpec, RolloutOp, TimelineAction, TimelineEntry};
use crate::cluster::state::ClusterState;
use crate::cluster::wiring::Wiring;
use crate::engine::{Component, Context};

/// The pod template `kubectl rollout undo` puts back (upstream `rollback` in
/// `pkg/controller/deployment/rollback.go`): revision `to`, or the newest revision older than
/// the current template's; the `pod-template-hash` label is removed.
fn rollback_template(
    state: &ClusterState,
    key: &str,
    to: Option<u64>,
) -> Option<Arc<PodTemplateSpec>> {
    let d = state.store.deployments.get(key)?;
    let current = compute_hash(&d.template);
    let owned: Vec<_> = state
        .store
        .replica_sets
        .values()
        .filter(|rs| rs.owner.as_ref().is_some_and(|o| o.key == key))
        .collect();
    let current_rev = owned
        .iter()
        .find(|rs| rs.template_hash == current)
        .map_or(u64::MAX, |rs| rs.revision);
    let target = match to {
        Some(r) => owned.iter().find(|rs| rs.revision == r)?,
        None => owned
            .iter()
            .filter(|rs| rs.revision < current_rev)
            .max_by_key(|rs| rs.revision)?,
    };
    let mut t = (*target.template).clone();
    t.labels.remove(POD_TEMPLATE_HASH_LABEL);
    Some(Arc::new(t))
}

/// The timeline component.
#[derive(Debug)]
pub struct Timeline {
    entries: Vec<TimelineEntry>,
}

impl Timeline {
    /// A timeline of `entries` (the world schedules `Event::Timeline(i)` for each).
    pub fn new(entries: Vec<TimelineEntry>) -> Self {
        Timeline { entries }
    }

    fn fire(&self, i: usize, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let Some(entry) = self.entries.get(i) else {
            return;
        };
        let now = ctx.now();
        match &entry.action {
            TimelineAction::ScaleDeployment {
                deployment,
                replicas,
            } => {
                let Some(key) = state.deployment_key(deployment) else {
                    return;
                };
                state.recorder.event(
                    now,
                    "Timeline",
                    key.clone(),
                    "Scale",
                    format!(
                        "scale deployment {deployment} to {replicas} replicas ({})",
                        entry.source
                    ),
                );
                apiserver::write(
                    ctx,
                    state,
                    ApiWrite::UpdateDeployment {
                        key,
                        replicas: Some(*replicas),
                        template: None,
                    },
                );
            }
            TimelineAction::SetImage {
                deployment,
                container,
                image,
            } => {
                let Some(key) = state.deployment_key(deployment) else {
                    return;
                };
                let Some(d) = state.store.deployments.get(&key) else {
                    return;
                };
                let mut t = (*d.template).clone();
                let idx = match container {
                    Some(c) => t.containers.iter().position(|x| &x.name == c),
                    None => {
                        if t.containers.is_empty() {
                            None
                        } else {
                            Some(0)
                        }
                    }
                };
                let Some(idx) = idx else { return };
                t.containers[idx].image = image.clone();
                state.recorder.event(
                    now,
                    "Timeline",
                    key.clone(),
                    "SetImage",
                    format!(
                        "set image of {deployment} container {} to {image} ({})",
                        t.containers[idx].name, entry.source
                    ),
                );
                apiserver::write(
                    ctx,
                    state,
                    ApiWrite::UpdateDeployment {
                        key,
                        replicas: None,
                        template: Some(Arc::new(t)),
                    },
                );
            }
            TimelineAction::AddNodes { pool, count } => {
                let delay = state
                    .spec
                    .node_pools
                    .iter()
                    .find(|p| &p.name == pool)
                    .map(|p| p.provisioning_delay)
                    .unwrap_or_default();
                state.recorder.event(
                    now,
                    "Timeline",
                    pool.clone(),
                    "AddNodes",
                    format!(
                        "add {count} node(s) to pool {pool}, ready after {delay} ({})",
                        entry.source
                    ),
                );
                ctx.send(
                    Wiring::new().nodes,
                    delay,
                    Event::Controller(ControllerTimer::ProvisionNodes {
                        pool: pool.clone(),
                        count: *count,
                    }),
                );
            }
            TimelineAction::RemoveNode { node } => {
                state.recorder.event(
                    now,
                    "Timeline",
                    node.clone(),
                    "RemoveNode",
                    format!("delete node {node} ({})", entry.source),
                );
                apiserver::write(ctx, state, ApiWrite::DeleteNode { name: node.clone() });
            }
            TimelineAction::Rollout { deployment, op } => {
                let Some(key) = state.deployment_key(deployment) else {
                    return;
                };
                let write = match op {
                    RolloutOp::Pause => ApiWrite::SetDeploymentPaused {
                        key: key.clone(),
                        paused: true,
                    },
                    RolloutOp::Resume => ApiWrite::SetDeploymentPaused {
                        key: key.clone(),
                        paused: false,
                    },
                    RolloutOp::Undo { to_revision } => {
                        match rollback_template(state, &key, *to_revision) {
                            Some(t) => ApiWrite::UpdateDeployment {
                                key: key.clone(),
                                replicas: None,
                                template: Some(t),
                            },
                            None => {
                                state.recorder.event(
                                    now,
                                    "Timeline",
                                    key,
                                    "DeploymentRollbackRevisionNotFound",
                                    format!(
                                        "unable to find a revision to roll back to ({})",
                                        entry.source
                                    ),
                                );
                                return;
                            }
                        }
                    }
                };
                let what = match op {
                    RolloutOp::Pause => "pause".to_string(),
                    RolloutOp::Resume => "resume".to_string(),
                    RolloutOp::Undo {
                        to_revision: Some(r),
                    } => format!("undo to revision {r}"),
                    RolloutOp::Undo { to_revision: None } => "undo".to_string(),
                };
                state.recorder.event(
                    now,
                    "Timeline",
                    key,
                    "Rollout",
                    format!("rollout {what} deployment {deployment} ({})", entry.source),
                );
                apiserver::write(ctx, state, write);
            }
            TimelineAction::Cordon {
                node,
                unschedulable,
            } => {
                let verb = if *unschedulable { "cordon" } else { "uncordon" };
                state.recorder.event(
                    now,
                    "Timeline",
                    node.clone(),
                    if *unschedulable { "Cordon" } else { "Uncordon" },
                    format!("{verb} node {node} ({})", entry.source),
                );
                apiserver::write(
                    ctx,
                    state,
                    ApiWrite::SetUnschedulable {
                        name: node.clone(),
                        unschedulable: *unschedulable,
                    },
                );
            }
        }
    }
}

impl Component<Event, ClusterState> for Timeline {
    fn name(&self) -> &str {
        "timeline"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        if let Event::Timeline(i) = event {
            self.fire(i, state, ctx);
        }
    }
}
