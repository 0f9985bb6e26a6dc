//! The kubelets of all nodes, as one component with one random stream per node (derived from
//! (seed, `kubelet/<node>`), so adding a node never shifts another node's draws).
//!
//! Per pod bound to its node, a kubelet pulls the images the node lacks, starts the containers,
//! and reports Ready, each step taking a time drawn from the workload's `Behavior`. Image pulls
//! on one node run one at a time, as the kubelet's default `serializeImagePulls: true`
//! (kubelet config reference). A pod marked for deletion is killed: the process exits after its
//! `shutdown` time, or is SIGKILLed at `terminationGracePeriodSeconds`, whichever is first; then
//! the kubelet removes the pod object.

use std::collections::BTreeMap;

use crate::cluster::apiserver;
use crate::cluster::distribution::sample;
use crate::cluster::events::{ApiWrite, Change, Event, KubeletTimer, ObjectRef, WatchEvent};
use crate::cluster::objects::{ObjectKind, PodId};
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, EventId, SimRng, SimTime, stream_rng};

/// Where a pod is in its kubelet lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Pulling,
    Starting,
    WaitingReady,
    Running,
    Terminating,
}

#[derive(Debug)]
struct PodTrack {
    node: String,
    stage: Stage,
    timer: Option<EventId>,
}

#[derive(Debug)]
struct NodeAgent {
    rng: SimRng,
    /// Image -> time it is (or will be) present on the node.
    images: BTreeMap<String, SimTime>,
    /// When the serialized image puller is free.
    puller_free_at: SimTime,
}

/// The kubelet component.
#[derive(Debug)]
pub struct Kubelets {
    seed: u64,
    nodes: BTreeMap<String, NodeAgent>,
    pods: BTreeMap<PodId, PodTrack>,
}

impl Kubelets {
    /// Kubelets whose per-node streams derive from `seed`.
    pub fn new(seed: u64) -> Self {
        Kubelets {
            seed,
            nodes: BTreeMap::new(),
            pods: BTreeMap::new(),
        }
    }

    fn start_pod(
        &mut self,
        id: PodId,
        node: &str,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let Some(pod) = state.store.pods.get(&id) else {
            return;
        };
        let Some(agent) = self.nodes.get_mut(node) else {
            return;
        };
        let now = ctx.now();
        let behavior = state.behavior(&pod.workload);
        let mut ready_at = now;
        let mut pulled: Vec<&str> = Vec::new();
        for c in pod
            .template
            .init_containers
            .iter()
            .chain(pod.template.containers.iter())
        {
            let at = match agent.images.get(&c.image) {
                Some(t) => *t,
                None => {
                    let start = agent.puller_free_at.max(now);
                    let done = start + sample(&behavior.image_pull, &mut agent.rng);
                    agent.puller_free_at = done;
                    agent.images.insert(c.image.clone(), done);
                    pulled.push(&c.image);
                    done
                }
            };
            ready_at = ready_at.max(at);
        }
        let key = pod.key();
        if !pulled.is_empty() {
            state.recorder.event(
                now,
                "Pod",
                key.clone(),
                "Pulling",
                format!("Pulling image \"{}\"", pulled.join("\", \"")),
            );
        }
        let timer = ctx.send_at(
            ctx.self_id(),
            ready_at,
            Event::Kubelet(KubeletTimer::ImagesPulled(id)),
        );
        self.pods.insert(
            id,
            PodTrack {
                node: node.to_string(),
                stage: Stage::Pulling,
                timer: Some(timer),
            },
        );
    }

    fn terminate(&mut self, id: PodId, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let Some(track) = self.pods.get_mut(&id) else {
            // Never started here (e.g. node gone): nothing to kill.
            apiserver::write(ctx, state, ApiWrite::RemovePod { id });
            return;
        };
        if track.stage == Stage::Terminating {
            return;
        }
        if let Some(t) = track.timer.take() {
            ctx.cancel(t);
        }
        let Some(pod) = state.store.pods.get(&id) else {
            return;
        };
        let started = matches!(track.stage, Stage::WaitingReady | Stage::Running);
        let delay = match (started, self.nodes.get_mut(&track.node)) {
            (true, Some(agent)) => {
                let behavior = state.behavior(&pod.workload);
                sample(&behavior.shutdown, &mut agent.rng)
                    .min(pod.template.termination_grace_period)
            }
            _ => crate::engine::SimDuration::ZERO,
        };
        track.stage = Stage::Terminating;
        track.timer = Some(ctx.send_self(delay, Event::Kubelet(KubeletTimer::Terminated(id))));
    }

    fn on_timer(
        &mut self,
        t: KubeletTimer,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        match t {
            KubeletTimer::ImagesPulled(id) => {
                let Some(track) = self.pods.get_mut(&id) else {
                    return;
                };
                let (Some(pod), Some(agent)) =
                    (state.store.pods.get(&id), self.nodes.get_mut(&track.node))
                else {
                    return;
                };
                let behavior = state.behavior(&pod.workload);
                let d = sample(&behavior.startup, &mut agent.rng);
                track.stage = Stage::Starting;
                track.timer =
                    Some(ctx.send_self(d, Event::Kubelet(KubeletTimer::ContainersStarted(id))));
            }
            KubeletTimer::ContainersStarted(id) => {
                let Some(track) = self.pods.get_mut(&id) else {
                    return;
                };
                let (Some(pod), Some(agent)) =
                    (state.store.pods.get(&id), self.nodes.get_mut(&track.node))
                else {
                    return;
                };
                let behavior = state.behavior(&pod.workload);
                let d = sample(&behavior.readiness, &mut agent.rng);
                state.recorder.event(
                    now,
                    "Pod",
                    pod.key(),
                    "Started",
                    format!("Started containers on {}", track.node),
                );
                track.stage = Stage::WaitingReady;
                track.timer = Some(ctx.send_self(d, Event::Kubelet(KubeletTimer::Ready(id))));
                apiserver::write(ctx, state, ApiWrite::PodStarted { id });
            }
            KubeletTimer::Ready(id) => {
                let Some(track) = self.pods.get_mut(&id) else {
                    return;
                };
                track.stage = Stage::Running;
                track.timer = None;
                apiserver::write(ctx, state, ApiWrite::PodReady { id, ready: true });
            }
            KubeletTimer::Terminated(id) => {
                if let (Some(track), Some(pod)) = (self.pods.remove(&id), state.store.pods.get(&id))
                {
                    state.recorder.event(
                        now,
                        "Pod",
                        pod.key(),
                        "Terminated",
                        format!("Containers exited on {}", track.node),
                    );
                }
                apiserver::write(ctx, state, ApiWrite::RemovePod { id });
            }
        }
    }

    fn on_watch(&mut self, w: &WatchEvent, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match (w.kind, &w.object, w.change) {
            (ObjectKind::Node, ObjectRef::Named(name), Change::Added) => {
                let rng = stream_rng(self.seed, &format!("kubelet/{name}"));
                self.nodes.insert(
                    name.clone(),
                    NodeAgent {
                        rng,
                        images: BTreeMap::new(),
                        puller_free_at: SimTime::ZERO,
                    },
                );
            }
            (ObjectKind::Node, ObjectRef::Named(name), Change::Deleted) => {
                // The machine is gone: its containers stop with it. PodGC deletes the pods.
                self.nodes.remove(name);
                let gone: Vec<PodId> = self
                    .pods
                    .iter()
                    .filter(|(_, t)| &t.node == name)
                    .map(|(id, _)| *id)
                    .collect();
                for id in gone {
                    if let Some(t) = self.pods.remove(&id).and_then(|t| t.timer) {
                        ctx.cancel(t);
                    }
                }
            }
            (ObjectKind::Pod, ObjectRef::Pod { id, .. }, Change::Deleted) => {
                if let Some(t) = self.pods.remove(id).and_then(|t| t.timer) {
                    ctx.cancel(t);
                }
            }
            (ObjectKind::Pod, ObjectRef::Pod { id, .. }, _) => {
                let Some(pod) = state.store.pods.get(id) else {
                    return;
                };
                let Some(node) = pod.node.clone() else { return };
                if !self.nodes.contains_key(&node) {
                    return;
                }
                if pod.deletion_timestamp.is_some() {
                    self.terminate(*id, state, ctx);
                } else if !self.pods.contains_key(id) && pod.started_at.is_none() {
                    self.start_pod(*id, &node, state, ctx);
                }
            }
            _ => {}
        }
    }
}

impl Component<Event, ClusterState> for Kubelets {
    fn name(&self) -> &str {
        "kubelet"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match event {
            Event::Watch(w) => self.on_watch(&w, state, ctx),
            Event::Kubelet(t) => self.on_timer(t, state, ctx),
            _ => {}
        }
    }
}
