//! The timeline: the scenario's scripted actions, each fired at its time through the same API
//! writes a user's `kubectl` would make.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::cluster::apiserver;
use crate::cluster::controllers::deployment::{POD_TEMPLATE_HASH_LABEL, compute_hash};
use crate::cluster::controllers::nodelifecycle::ZONE_LABEL;
use crate::cluster::events::{ApiWrite, ControllerTimer, Event, Fault};
use crate::cluster::spec::{PodTemplateSpec, RolloutOp, TimelineAction, TimelineEntry};
use crate::cluster::state::ClusterState;
use crate::cluster::wiring::Wiring;
use crate::engine::{Component, Context, SimDuration};

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
    /// Nodes each running zone outage took down (entry index -> nodes), to bring back.
    outages: BTreeMap<usize, Vec<String>>,
}

impl Timeline {
    /// A timeline of `entries` (the world schedules `Event::Timeline(i)` for each).
    pub fn new(entries: Vec<TimelineEntry>) -> Self {
        Timeline {
            entries,
            outages: BTreeMap::new(),
        }
    }

    fn fire(&mut self, i: usize, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let Some(entry) = self.entries.get(i) else {
            return;
        };
        let now = ctx.now();
        let w = Wiring::new();
        if let Some(d) = entry.action.duration() {
            ctx.send_self(d, Event::TimelineEnd(i));
        }
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
            TimelineAction::CrashNode { node } => {
                state.recorder.event(
                    now,
                    "Timeline",
                    node.clone(),
                    "CrashNode",
                    format!("node {node} crashes ({})", entry.source),
                );
                state.record_failure("crashNode", node, vec![node.clone()], now);
                ctx.send(
                    w.kubelet,
                    SimDuration::ZERO,
                    Event::Fault(Fault::Crash(node.clone())),
                );
            }
            TimelineAction::RecoverNode { node } => {
                state.recorder.event(
                    now,
                    "Timeline",
                    node.clone(),
                    "RecoverNode",
                    format!("node {node} is back ({})", entry.source),
                );
                ctx.send(
                    w.kubelet,
                    SimDuration::ZERO,
                    Event::Fault(Fault::Recover(node.clone())),
                );
            }
            TimelineAction::KillLeader { election } => {
                state.recorder.event(
                    now,
                    "Timeline",
                    election.clone(),
                    "KillLeader",
                    format!("kill the leader of {election} ({})", entry.source),
                );
                ctx.send(
                    w.leader_election,
                    SimDuration::ZERO,
                    Event::Stateful(crate::cluster::stateful_events::StatefulEvent::KillLeader(
                        election.clone(),
                    )),
                );
            }
            TimelineAction::UpdateStatefulSet {
                stateful_set,
                replicas,
                container,
                image,
                partition,
            } => {
                let Some(set) = state
                    .store
                    .stateful_sets
                    .values()
                    .find(|s| &s.name == stateful_set)
                else {
                    return;
                };
                let key = set.key();
                let template = match image {
                    Some(image) => {
                        let mut t = (*set.template).clone();
                        let idx = match container {
                            Some(c) => t.containers.iter().position(|x| &x.name == c),
                            None => (!t.containers.is_empty()).then_some(0),
                        };
                        let Some(idx) = idx else { return };
                        t.containers[idx].image = image.clone();
                        Some(Arc::new(t))
                    }
                    None => None,
                };
                let mut what = Vec::new();
                if let Some(r) = replicas {
                    what.push(format!("replicas {r}"));
                }
                if let Some(i) = image {
                    what.push(format!("image {i}"));
                }
                if let Some(p) = partition {
                    what.push(format!("partition {p}"));
                }
                state.recorder.event(
                    now,
                    "Timeline",
                    key.clone(),
                    "UpdateStatefulSet",
                    format!(
                        "update statefulset {stateful_set}: {} ({})",
                        what.join(", "),
                        entry.source
                    ),
                );
                apiserver::write(
                    ctx,
                    state,
                    ApiWrite::UpdateStatefulSet {
                        key,
                        replicas: *replicas,
                        template,
                        partition: *partition,
                    },
                );
            }
            TimelineAction::ZoneOutage { zone, duration } => {
                let nodes: Vec<String> = state
                    .store
                    .nodes
                    .values()
                    .filter(|n| n.labels.get(ZONE_LABEL) == Some(zone))
                    .map(|n| n.name.clone())
                    .collect();
                state.recorder.event(
                    now,
                    "Timeline",
                    zone.clone(),
                    "ZoneOutage",
                    format!(
                        "zone {zone} goes down for {duration}: {} node(s) ({})",
                        nodes.len(),
                        entry.source
                    ),
                );
                state.record_failure("zoneOutage", zone, nodes.clone(), now);
                for n in &nodes {
                    ctx.send(
                        w.kubelet,
                        SimDuration::ZERO,
                        Event::Fault(Fault::Crash(n.clone())),
                    );
                }
                self.outages.insert(i, nodes);
            }
            TimelineAction::Partition { node, .. } | TimelineAction::KubeletStop { node, .. } => {
                let (verb, reason, what) = match &entry.action {
                    TimelineAction::Partition { .. } => (
                        "partition",
                        "Partition",
                        "is cut off from the control plane",
                    ),
                    _ => ("kubeletStop", "KubeletStop", "kubelet stops"),
                };
                state.recorder.event(
                    now,
                    "Timeline",
                    node.clone(),
                    reason,
                    format!("node {node} {what} ({})", entry.source),
                );
                state.record_failure(verb, node, vec![node.clone()], now);
                ctx.send(
                    w.kubelet,
                    SimDuration::ZERO,
                    Event::Fault(Fault::Disconnect(node.clone())),
                );
            }
            TimelineAction::ApiServerDown { duration } => {
                state.recorder.event(
                    now,
                    "Timeline",
                    "apiserver",
                    "ApiServerDown",
                    format!(
                        "the API server refuses writes for {duration} ({})",
                        entry.source
                    ),
                );
                ctx.send(
                    w.api,
                    SimDuration::ZERO,
                    Event::Fault(Fault::ApiServerDown(now + *duration)),
                );
            }
            TimelineAction::SlowNode { node, factor, .. } => {
                state.recorder.event(
                    now,
                    "Timeline",
                    node.clone(),
                    "SlowNode",
                    format!("node {node} works {factor}x slower ({})", entry.source),
                );
                ctx.send(
                    w.kubelet,
                    SimDuration::ZERO,
                    Event::Fault(Fault::Slow {
                        node: node.clone(),
                        factor: *factor,
                    }),
                );
            }
            TimelineAction::Argo { rollout, command } => {
                let Some(idx) = state
                    .spec
                    .argo
                    .rollouts
                    .iter()
                    .position(|r| &r.name == rollout)
                else {
                    return;
                };
                let key = {
                    let r = &state.spec.argo.rollouts[idx];
                    format!("{}/{}", r.namespace, r.name)
                };
                state.recorder.event(
                    now,
                    "Timeline",
                    key,
                    "ArgoCommand",
                    format!(
                        "kubectl argo rollouts {} {rollout} ({})",
                        command.describe(),
                        entry.source
                    ),
                );
                // The patch commits after the write latency; the controller sees it a watch
                // delay later.
                let delay = state.control_plane.api_write_latency + state.control_plane.watch_delay;
                ctx.send(
                    w.argo,
                    delay,
                    Event::Argo(crate::cluster::argo::controller::ArgoEvent::Command {
                        rollout: idx as u32,
                        command: command.clone(),
                    }),
                );
            }
            TimelineAction::DrainNode { node } => {
                state.recorder.event(
                    now,
                    "Timeline",
                    node.clone(),
                    "DrainNode",
                    format!("drain node {node} ({})", entry.source),
                );
                apiserver::write(
                    ctx,
                    state,
                    ApiWrite::SetUnschedulable {
                        name: node.clone(),
                        unschedulable: true,
                    },
                );
                ctx.send(
                    w.drain,
                    SimDuration::ZERO,
                    Event::Controller(ControllerTimer::Drain(node.clone())),
                );
            }
            TimelineAction::UpdateTemplate {
                deployment,
                annotations,
            } => {
                let Some(key) = state.deployment_key(deployment) else {
                    return;
                };
                let Some(d) = state.store.deployments.get(&key) else {
                    return;
                };
                let mut t = (*d.template).clone();
                for (k, v) in annotations {
                    t.annotations.insert(k.clone(), v.clone());
                }
                let set: Vec<String> = annotations
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                state.recorder.event(
                    now,
                    "Timeline",
                    key.clone(),
                    "UpdateTemplate",
                    format!(
                        "annotate the pod template of {deployment}: {} ({})",
                        set.join(", "),
                        entry.source
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
        }
    }

    /// The end of a timed entry (outage, partition, ...).
    fn end(&mut self, i: usize, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let Some(entry) = self.entries.get(i) else {
            return;
        };
        let now = ctx.now();
        let w = Wiring::new();
        let recover = |ctx: &mut Context<'_, Event>, n: &str| {
            ctx.send(
                w.kubelet,
                SimDuration::ZERO,
                Event::Fault(Fault::Recover(n.to_string())),
            );
        };
        match &entry.action {
            TimelineAction::ZoneOutage { zone, .. } => {
                let nodes = self.outages.remove(&i).unwrap_or_default();
                state.recorder.event(
                    now,
                    "Timeline",
                    zone.clone(),
                    "ZoneRecovered",
                    format!("zone {zone} is back ({})", entry.source),
                );
                for n in &nodes {
                    recover(ctx, n);
                }
            }
            TimelineAction::Partition { node, .. } | TimelineAction::KubeletStop { node, .. } => {
                state.recorder.event(
                    now,
                    "Timeline",
                    node.clone(),
                    "RecoverNode",
                    format!("node {node} is back ({})", entry.source),
                );
                recover(ctx, node);
            }
            TimelineAction::ApiServerDown { .. } => {
                state.recorder.event(
                    now,
                    "Timeline",
                    "apiserver",
                    "ApiServerUp",
                    format!("the API server accepts writes again ({})", entry.source),
                );
            }
            TimelineAction::SlowNode { node, .. } => {
                state.recorder.event(
                    now,
                    "Timeline",
                    node.clone(),
                    "SlowNodeEnd",
                    format!("node {node} works at normal speed again ({})", entry.source),
                );
                ctx.send(
                    w.kubelet,
                    SimDuration::ZERO,
                    Event::Fault(Fault::Slow {
                        node: node.clone(),
                        factor: 1.0,
                    }),
                );
            }
            _ => {}
        }
    }
}

impl Component<Event, ClusterState> for Timeline {
    fn name(&self) -> &str {
        "timeline"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match event {
            Event::Timeline(i) => self.fire(i, state, ctx),
            Event::TimelineEnd(i) => self.end(i, state, ctx),
            _ => {}
        }
    }
}
