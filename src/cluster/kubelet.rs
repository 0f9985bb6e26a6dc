//! The kubelets of all nodes, as one component with one random stream per node (derived from
//! (seed, `kubelet/<node>`), so adding a node never shifts another node's draws).
//!
//! Per pod bound to its node, a kubelet pulls the images the node lacks, starts the containers,
//! and reports Ready, each step taking a time drawn from the workload's `Behavior`. Image pulls
//! on one node run one at a time, as the kubelet's default `serializeImagePulls: true`
//! (kubelet config reference). A pod marked for deletion is killed: the process exits after its
//! `shutdown` time, or is SIGKILLed at `terminationGracePeriodSeconds`, whichever is first; then
//! the kubelet removes the pod object.
//!
//! Faults ([`Fault`]): a crashed node's containers die and its kubelet stops heartbeating; a
//! disconnected one (partition, kubelet stopped) keeps its containers running but neither
//! heartbeats, nor sees the API, nor reports status. When the node is back the kubelet renews
//! its Lease (posting `Ready`) and resyncs with the API: pods deleted meanwhile are removed (or
//! killed, if still running), running pods report Ready again, and after a crash the remaining
//! pods' containers are restarted (`restartCount` + 1). A slow node's kubelet steps take
//! `factor` times as long.
//!
//! A pod with its own run time (`run_for`, a trace pod) exits with code 0 that long after its
//! container started, like a Behavior's `runTime`.

use std::collections::BTreeMap;

use crate::cluster::apiserver;
use crate::cluster::crashloop::CrashLoopBackOff;
use crate::cluster::distribution::sample;
use crate::cluster::events::{
    ApiWrite, Change, ContainerExit, Event, Fault, KubeletTimer, ObjectRef, WatchEvent,
};
use crate::cluster::objects::{ObjectKind, PodId};
use crate::cluster::probe::{self, Health};
use crate::cluster::spec::Distribution;
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, EventId, SimDuration, SimRng, SimTime, stream_rng};

/// Where a pod is in its kubelet lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// An init container is pulling or running (they run one at a time, in order).
    Init,
    Pulling,
    Starting,
    WaitingReady,
    Running,
    Terminating,
    /// The container exited; waiting for CrashLoopBackOff to run out.
    BackOff,
}

#[derive(Debug)]
struct PodTrack {
    /// Slot of the node's agent in [`Kubelets::agents`].
    node: u32,
    stage: Stage,
    /// The next lifecycle step (pull, start, ready, restart, termination).
    timer: Option<EventId>,
    /// Pending outcomes of the current run: readiness lost, container exit.
    extra: Vec<EventId>,
    /// The container's restart back-off.
    backoff: CrashLoopBackOff,
    /// When the current run of the container started.
    run_started: SimTime,
    /// True while the kubelet reports the pod Ready.
    ready: bool,
    /// The work-queue task the container is working on (its duration), if any.
    task: Option<SimDuration>,
}

impl PodTrack {
    fn cancel_all(&mut self, ctx: &mut Context<'_, Event>) {
        if let Some(t) = self.timer.take() {
            ctx.cancel(t);
        }
        for t in self.extra.drain(..) {
            ctx.cancel(t);
        }
    }
}

#[derive(Debug)]
struct NodeAgent {
    /// Node name.
    name: String,
    rng: SimRng,
    /// Image -> time it is (or will be) present on the node.
    images: BTreeMap<String, SimTime>,
    /// When the serialized image puller is free.
    puller_free_at: SimTime,
    /// False while the machine is crashed.
    up: bool,
    /// False while the kubelet cannot reach the API server (crash, partition, kubelet stopped).
    connected: bool,
    /// Slow-down factor of every kubelet step (1 = normal).
    slow: f64,
}

impl NodeAgent {
    /// When `image` is (or will be) present on the node, and whether a pull had to be started
    /// for it now (queued behind the pulls in progress: `serializeImagePulls: true`).
    fn ensure_image(&mut self, image: &str, pull: &Distribution, now: SimTime) -> (SimTime, bool) {
        if let Some(t) = self.images.get(image) {
            return (*t, false);
        }
        let start = self.puller_free_at.max(now);
        let d = sample(pull, &mut self.rng);
        let done = start + self.stretch(d);
        self.puller_free_at = done;
        self.images.insert(image.to_string(), done);
        (done, true)
    }

    /// A duration drawn for this node, stretched by its slow-down factor.
    fn stretch(&self, d: SimDuration) -> SimDuration {
        if self.slow == 1.0 {
            d
        } else {
            SimDuration::from_secs_f64(d.as_secs_f64() * self.slow)
        }
    }
}

/// The kubelet component.
#[derive(Debug)]
pub struct Kubelets {
    seed: u64,
    /// The behaviour of a workload without a `Behavior` document
    /// ([`crate::cluster::spec::BehaviorSpec::default_for`]), kept so that the hot paths
    /// borrow a behaviour instead of cloning one per pod step.
    default_behavior: crate::cluster::spec::BehaviorSpec,
    /// Slot of each node's agent in `agents`, by node name (looked up, never iterated; see
    /// [`crate::cluster::node_map::WordHasher`]).
    nodes: std::collections::HashMap<
        String,
        u32,
        std::hash::BuildHasherDefault<crate::cluster::node_map::WordHasher>,
    >,
    /// Node agents by slot (`None`: a deleted node's slot, reused by the next node), so that a
    /// pod's steps reach their node's agent by index instead of by name.
    agents: Vec<Option<NodeAgent>>,
    /// Free slots of `agents`, the last freed first.
    free_slots: Vec<u32>,
    pods: crate::cluster::pod_map::PodMap<PodTrack>,
}

/// The agent in `slot`, if that slot holds one.
fn agent_at(agents: &mut [Option<NodeAgent>], slot: u32) -> Option<&mut NodeAgent> {
    agents.get_mut(slot as usize).and_then(Option::as_mut)
}

impl Kubelets {
    /// Kubelets whose per-node streams derive from `seed`.
    pub fn new(seed: u64) -> Self {
        Kubelets {
            seed,
            default_behavior: crate::cluster::spec::BehaviorSpec::default_for(""),
            nodes: Default::default(),
            agents: Vec::new(),
            free_slots: Vec::new(),
            pods: crate::cluster::pod_map::PodMap::new(),
        }
    }

    /// A pod was bound to this node: run its init containers one after another, then pull the
    /// regular containers' images and start them.
    fn start_pod(
        &mut self,
        id: PodId,
        node: &str,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let Some(&slot) = self.nodes.get(node) else {
            return;
        };
        self.start_pod_at(id, slot, state, ctx);
    }

    /// [`Kubelets::start_pod`] on the node whose agent is in `slot`.
    fn start_pod_at(
        &mut self,
        id: PodId,
        slot: u32,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let Some(pod) = state.store.pods.get(&id) else {
            return;
        };
        if agent_at(&mut self.agents, slot).is_none() {
            return;
        }
        let has_init = !pod.template.init_containers.is_empty();
        self.pods.insert(
            id,
            PodTrack {
                node: slot,
                stage: if has_init {
                    Stage::Init
                } else {
                    Stage::Pulling
                },
                timer: None,
                extra: Vec::new(),
                backoff: CrashLoopBackOff::new(),
                run_started: ctx.now(),
                ready: false,
                task: None,
            },
        );
        if has_init {
            self.run_init(id, 0, state, ctx);
        } else {
            self.pull_app_images(id, state, ctx);
        }
    }

    /// Start init container `index` of pod `id`: pull its image if the node lacks it (through
    /// the serialized puller), then run it for its `Behavior` run time, after which
    /// `InitContainerDone` fires. Upstream's kubelet starts init containers one at a time, in
    /// order, each only after the previous one exited successfully, and pulls a container's
    /// image when it starts that container (`kuberuntime_manager.go` `computePodActions` /
    /// `findNextInitContainerToRun`, `startContainer` -> `EnsureImageExists`; kubernetes.io
    /// "Init Containers"). kubesim's init containers always exit with code 0.
    fn run_init(
        &mut self,
        id: PodId,
        index: usize,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let Some(track) = self.pods.get_mut(&id) else {
            return;
        };
        let (Some(pod), Some(agent)) = (
            state.store.pods.get(&id),
            agent_at(&mut self.agents, track.node),
        ) else {
            return;
        };
        let Some(c) = pod.template.init_containers.get(index) else {
            return;
        };
        let now = ctx.now();
        let behavior = state
            .behaviors
            .get(&pod.workload)
            .unwrap_or(&self.default_behavior);
        let (present_at, pulled) = agent.ensure_image(&c.image, &behavior.image_pull, now);
        let run = sample(&behavior.init_run_time(&c.name), &mut agent.rng);
        let done = present_at + agent.stretch(run);
        if pulled && state.recorder.records("Pod", "Pulling") {
            state.recorder.event(
                now,
                "Pod",
                pod.key(),
                "Pulling",
                format!("Pulling image \"{}\"", c.image),
            );
        }
        track.stage = Stage::Init;
        track.run_started = present_at;
        track.timer = Some(ctx.send_at(
            ctx.self_id(),
            done,
            Event::Kubelet(KubeletTimer::InitContainerDone(id, index)),
        ));
    }

    /// Init container `index` of pod `id` exited with code 0: start the next one, or, after
    /// the last, the regular containers.
    fn init_done(
        &mut self,
        id: PodId,
        index: usize,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        let Some(track) = self.pods.get_mut(&id) else {
            return;
        };
        if track.stage != Stage::Init {
            return;
        }
        track.timer = None;
        let Some(pod) = state.store.pods.get(&id) else {
            return;
        };
        let ran = now.saturating_since(track.run_started).as_secs_f64();
        let count = pod.template.init_containers.len();
        if let Some(c) = pod.template.init_containers.get(index)
            && state.recorder.records("Pod", "Completed")
        {
            state.recorder.event(
                now,
                "Pod",
                pod.key(),
                "Completed",
                format!(
                    "Init container {} terminated with exit code 0 after {ran:.1}s ({}/{count})",
                    c.name,
                    index + 1
                ),
            );
        }
        if index + 1 < count {
            self.run_init(id, index + 1, state, ctx);
        } else {
            self.pull_app_images(id, state, ctx);
        }
    }

    /// Pull the images of pod `id`'s regular containers that the node lacks (serialized), then
    /// fire `ImagesPulled`.
    fn pull_app_images(
        &mut self,
        id: PodId,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let Some(track) = self.pods.get_mut(&id) else {
            return;
        };
        let (Some(pod), Some(agent)) = (
            state.store.pods.get(&id),
            agent_at(&mut self.agents, track.node),
        ) else {
            return;
        };
        let now = ctx.now();
        let behavior = state
            .behaviors
            .get(&pod.workload)
            .unwrap_or(&self.default_behavior);
        let mut ready_at = now;
        let mut pulled: Vec<&str> = Vec::new();
        for c in &pod.template.containers {
            let (at, new) = agent.ensure_image(&c.image, &behavior.image_pull, now);
            if new {
                pulled.push(&c.image);
            }
            ready_at = ready_at.max(at);
        }
        if !pulled.is_empty() && state.recorder.records("Pod", "Pulling") {
            state.recorder.event(
                now,
                "Pod",
                pod.key(),
                "Pulling",
                format!("Pulling image \"{}\"", pulled.join("\", \"")),
            );
        }
        track.stage = Stage::Pulling;
        track.timer = Some(ctx.send_at(
            ctx.self_id(),
            ready_at,
            Event::Kubelet(KubeletTimer::ImagesPulled(id)),
        ));
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
        track.cancel_all(ctx);
        let Some(pod) = state.store.pods.get(&id) else {
            return;
        };
        let started = matches!(track.stage, Stage::WaitingReady | Stage::Running);
        let delay = match (started, agent_at(&mut self.agents, track.node)) {
            (true, Some(agent)) => {
                let behavior = state
                    .behaviors
                    .get(&pod.workload)
                    .unwrap_or(&self.default_behavior);
                let d = sample(&behavior.shutdown, &mut agent.rng);
                agent.stretch(d).min(pod.template.termination_grace_period)
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
                let (Some(pod), Some(agent)) = (
                    state.store.pods.get(&id),
                    agent_at(&mut self.agents, track.node),
                ) else {
                    return;
                };
                let behavior = state
                    .behaviors
                    .get(&pod.workload)
                    .unwrap_or(&self.default_behavior);
                let d = sample(&behavior.startup, &mut agent.rng);
                let d = agent.stretch(d);
                track.stage = Stage::Starting;
                track.timer =
                    Some(ctx.send_self(d, Event::Kubelet(KubeletTimer::ContainersStarted(id))));
            }
            KubeletTimer::ContainersStarted(id) => {
                let Some(track) = self.pods.get_mut(&id) else {
                    return;
                };
                let (Some(pod), Some(agent)) = (
                    state.store.pods.get(&id),
                    agent_at(&mut self.agents, track.node),
                ) else {
                    return;
                };
                let behavior = state
                    .behaviors
                    .get(&pod.workload)
                    .unwrap_or(&self.default_behavior);
                let d = sample(&behavior.readiness, &mut agent.rng);
                let d = agent.stretch(d);
                let connected = agent.connected;
                if state.recorder.records("Pod", "Started") {
                    state.recorder.event(
                        now,
                        "Pod",
                        pod.key(),
                        "Started",
                        format!("Started containers on {}", agent.name),
                    );
                }
                track.stage = Stage::WaitingReady;
                track.run_started = now;
                let mut run = plan_run(pod, behavior, now, now + d, &mut agent.rng);
                // A work-queue worker exits with code 0 when the queue is empty, not after
                // `runTime`: it takes its first task now.
                if state.task_queues.contains_key(&pod.workload) {
                    if run
                        .exit
                        .is_some_and(|(_, why)| why == ContainerExit::Completed)
                    {
                        run.exit = None;
                    }
                    let e = ctx.send_self(
                        SimDuration::ZERO,
                        Event::Kubelet(KubeletTimer::NextTask(id)),
                    );
                    track.extra.push(e);
                }
                let exit_at = run.exit.map(|(t, _)| t);
                let before_exit = |t: SimTime| exit_at.is_none_or(|e| t < e);
                track.timer = run.ready_at.filter(|t| before_exit(*t)).map(|t| {
                    ctx.send_at(ctx.self_id(), t, Event::Kubelet(KubeletTimer::Ready(id)))
                });
                if let Some(t) = run.unready_at.filter(|t| before_exit(*t)) {
                    let e =
                        ctx.send_at(ctx.self_id(), t, Event::Kubelet(KubeletTimer::Unready(id)));
                    track.extra.push(e);
                }
                if let Some((t, why)) = run.exit {
                    let e = ctx.send_at(
                        ctx.self_id(),
                        t,
                        Event::Kubelet(KubeletTimer::Exited(id, why)),
                    );
                    track.extra.push(e);
                }
                if connected {
                    apiserver::write(ctx, state, ApiWrite::PodStarted { id });
                }
            }
            KubeletTimer::Ready(id) => {
                let Some(track) = self.pods.get_mut(&id) else {
                    return;
                };
                track.stage = Stage::Running;
                track.timer = None;
                track.ready = true;
                let slot = track.node;
                if self.connected_at(slot) {
                    apiserver::write(ctx, state, ApiWrite::PodReady { id, ready: true });
                }
            }
            KubeletTimer::Terminated(id) => {
                let mut connected = true;
                if let Some(track) = self.pods.remove(&id) {
                    connected = self.connected_at(track.node);
                    if let Some(pod) = state.store.pods.get(&id)
                        && state.recorder.records("Pod", "Terminated")
                    {
                        state.recorder.event(
                            now,
                            "Pod",
                            pod.key(),
                            "Terminated",
                            format!(
                                "Containers exited on {}",
                                self.agents[track.node as usize]
                                    .as_ref()
                                    .map_or("", |a| a.name.as_str())
                            ),
                        );
                    }
                }
                if connected {
                    apiserver::write(ctx, state, ApiWrite::RemovePod { id });
                }
            }
            KubeletTimer::Unready(id) => {
                let Some(track) = self.pods.get_mut(&id) else {
                    return;
                };
                track.ready = false;
                let slot = track.node;
                if let Some(pod) = state.store.pods.get(&id) {
                    state.recorder.event(
                        now,
                        "Pod",
                        pod.key(),
                        "Unhealthy",
                        "Readiness probe failed",
                    );
                }
                if self.connected_at(slot) {
                    apiserver::write(ctx, state, ApiWrite::PodReady { id, ready: false });
                }
            }
            KubeletTimer::Exited(id, why) => self.on_exit(id, why, state, ctx),
            KubeletTimer::NextTask(id) => self.next_task(id, state, ctx),
            KubeletTimer::InitContainerDone(id, index) => self.init_done(id, index, state, ctx),
            KubeletTimer::Restart(id) => {
                let Some(track) = self.pods.get_mut(&id) else {
                    return;
                };
                let (Some(pod), Some(agent)) = (
                    state.store.pods.get(&id),
                    agent_at(&mut self.agents, track.node),
                ) else {
                    return;
                };
                let behavior = state
                    .behaviors
                    .get(&pod.workload)
                    .unwrap_or(&self.default_behavior);
                let d = sample(&behavior.startup, &mut agent.rng);
                let d = agent.stretch(d);
                let connected = agent.connected;
                track.stage = Stage::Starting;
                track.timer =
                    Some(ctx.send_self(d, Event::Kubelet(KubeletTimer::ContainersStarted(id))));
                state.recorder.counters.container_restarts += 1;
                if connected {
                    apiserver::write(ctx, state, ApiWrite::PodRestarted { id });
                }
            }
        }
    }

    /// The main container of pod `id` exited (`why`): restart it after CrashLoopBackOff if
    /// the pod's `restartPolicy` says so, else report the pod terminal.
    /// A work-queue worker is free: finish its task, then take the next or exit with code 0.
    fn next_task(&mut self, id: PodId, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let Some(track) = self.pods.get_mut(&id) else {
            return;
        };
        if !matches!(track.stage, Stage::WaitingReady | Stage::Running) {
            return;
        }
        let Some(pod) = state.store.pods.get(&id) else {
            return;
        };
        let Some(queue) = state.task_queues.get_mut(&pod.workload) else {
            return;
        };
        if track.task.take().is_some() {
            queue.finish(now);
        }
        match queue.take() {
            Some(d) => {
                track.task = Some(d);
                let e = ctx.send_self(d, Event::Kubelet(KubeletTimer::NextTask(id)));
                track.extra.push(e);
            }
            None => self.on_exit(id, ContainerExit::Completed, state, ctx),
        }
    }

    fn on_exit(
        &mut self,
        id: PodId,
        why: ContainerExit,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        let Some(track) = self.pods.get_mut(&id) else {
            return;
        };
        if !matches!(track.stage, Stage::WaitingReady | Stage::Running) {
            return;
        }
        let connected = self
            .agents
            .get(track.node as usize)
            .and_then(Option::as_ref)
            .is_some_and(|a| a.up && a.connected);
        track.cancel_all(ctx);
        let was_ready = std::mem::replace(&mut track.ready, false);
        let task = track.task.take();
        let Some(pod) = state.store.pods.get(&id) else {
            return;
        };
        if let Some(d) = task
            && let Some(q) = state.task_queues.get_mut(&pod.workload)
        {
            q.give_back(d);
        }
        // The event-log rows' object and container names, built only when a row is kept.
        let log = |reason: &str| state.recorder.records("Pod", reason);
        let named = log(why.reason())
            || (pod.template.restart_policy.restarts(why.failed()) && log("BackOff"))
            || (matches!(why, ContainerExit::Liveness | ContainerExit::Startup)
                && (log("Unhealthy") || log("Killing")));
        let (key, container) = if named {
            let container = pod
                .template
                .containers
                .first()
                .map(|c| c.name.clone())
                .unwrap_or_default();
            (pod.key(), container)
        } else {
            (String::new(), String::new())
        };
        let policy = pod.template.restart_policy;
        let ran = now.saturating_since(track.run_started).as_secs_f64();
        let c = &mut state.recorder.counters;
        match why {
            ContainerExit::Liveness | ContainerExit::Startup => c.probe_kills += 1,
            ContainerExit::OomKilled => c.oom_kills += 1,
            ContainerExit::Error => c.container_crashes += 1,
            ContainerExit::Completed => {}
        }
        if let ContainerExit::Liveness | ContainerExit::Startup = why {
            let probe = if why == ContainerExit::Liveness {
                "Liveness"
            } else {
                "Startup"
            };
            if state.recorder.records("Pod", "Unhealthy") {
                state.recorder.event(
                    now,
                    "Pod",
                    key.clone(),
                    "Unhealthy",
                    format!("{probe} probe failed"),
                );
            }
            if state.recorder.records("Pod", "Killing") {
                state.recorder.event(
                    now,
                    "Pod",
                    key.clone(),
                    "Killing",
                    format!(
                        "Container {container} failed {} probe, will be restarted",
                        probe.to_lowercase()
                    ),
                );
            }
        }
        let code = match why {
            ContainerExit::Completed => 0,
            ContainerExit::Error => 1,
            ContainerExit::OomKilled | ContainerExit::Liveness | ContainerExit::Startup => 137,
        };
        if state.recorder.records("Pod", why.reason()) {
            state.recorder.event(
                now,
                "Pod",
                key.clone(),
                why.reason(),
                format!("Container {container} terminated with exit code {code} after {ran:.1}s"),
            );
        }
        if was_ready && connected {
            apiserver::write(ctx, state, ApiWrite::PodReady { id, ready: false });
        }
        let Some(track) = self.pods.get_mut(&id) else {
            return;
        };
        if policy.restarts(why.failed()) {
            let at = track.backoff.restart_at(now);
            if at > now && state.recorder.records("Pod", "BackOff") {
                state.recorder.event(
                    now,
                    "Pod",
                    key.clone(),
                    "BackOff",
                    format!(
                        "Back-off {} restarting failed container {container} in pod {key}",
                        at.saturating_since(now)
                    ),
                );
            }
            track.stage = Stage::BackOff;
            track.timer =
                Some(ctx.send_at(ctx.self_id(), at, Event::Kubelet(KubeletTimer::Restart(id))));
        } else {
            self.pods.remove(&id);
            if connected {
                apiserver::write(
                    ctx,
                    state,
                    ApiWrite::PodFinished {
                        id,
                        succeeded: !why.failed(),
                    },
                );
            }
        }
    }

    fn on_watch(&mut self, w: &WatchEvent, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match (w.kind, &w.object, w.change) {
            (ObjectKind::Node, ObjectRef::Named(name), Change::Added) => {
                let rng = stream_rng(self.seed, &format!("kubelet/{name}"));
                let agent = NodeAgent {
                    name: name.clone(),
                    rng,
                    images: BTreeMap::new(),
                    puller_free_at: SimTime::ZERO,
                    up: true,
                    connected: true,
                    slow: 1.0,
                };
                // A node registered again under its name gets a fresh agent in its slot.
                let slot = match self.nodes.get(name) {
                    Some(&slot) => slot,
                    None => {
                        let slot = self.free_slots.pop().unwrap_or_else(|| {
                            self.agents.push(None);
                            (self.agents.len() - 1) as u32
                        });
                        self.nodes.insert(name.clone(), slot);
                        slot
                    }
                };
                self.agents[slot as usize] = Some(agent);
            }
            (ObjectKind::Node, ObjectRef::Named(name), Change::Deleted) => {
                // The machine is gone: its containers stop with it. PodGC deletes the pods.
                let Some(slot) = self.nodes.remove(name) else {
                    return;
                };
                self.agents[slot as usize] = None;
                self.free_slots.push(slot);
                let gone: Vec<PodId> = self
                    .pods
                    .iter()
                    .filter(|(_, t)| t.node == slot)
                    .map(|(id, _)| *id)
                    .collect();
                for id in gone {
                    if let Some(mut t) = self.pods.remove(&id) {
                        t.cancel_all(ctx);
                    }
                }
            }
            (ObjectKind::Pod, ObjectRef::Pod { id, .. }, Change::Deleted) => {
                if let Some(mut t) = self.pods.remove(id) {
                    t.cancel_all(ctx);
                }
            }
            (ObjectKind::Pod, ObjectRef::Pod { id, .. }, _) => {
                let Some(pod) = state.store.pods.get(id) else {
                    return;
                };
                // Nothing to do for a pod already tracked here or already started, unless it is
                // being deleted (checked first: it spares the node lookups below on most pod
                // updates).
                if pod.deletion_timestamp.is_none()
                    && (pod.started_at.is_some() || self.pods.contains_key(id))
                {
                    return;
                }
                // The node's agent, looked up once.
                let Some(&slot) = pod.node.as_deref().and_then(|n| self.nodes.get(n)) else {
                    return;
                };
                if !self.connected_at(slot) {
                    // A crashed or cut-off kubelet does not see the change; it resyncs when
                    // it is back.
                    return;
                }
                if pod.deletion_timestamp.is_some() {
                    self.terminate(*id, state, ctx);
                } else if !self.pods.contains_key(id) && pod.started_at.is_none() {
                    self.start_pod_at(*id, slot, state, ctx);
                }
            }
            _ => {}
        }
    }
}

impl Kubelets {
    /// True if the kubelet of the node whose agent is in `slot` is up and reaches the API
    /// server.
    fn connected_at(&self, slot: u32) -> bool {
        self.agents
            .get(slot as usize)
            .and_then(Option::as_ref)
            .is_some_and(|a| a.up && a.connected)
    }

    /// The agent of the node called `node`.
    fn agent_mut(&mut self, node: &str) -> Option<&mut NodeAgent> {
        let slot = *self.nodes.get(node)?;
        agent_at(&mut self.agents, slot)
    }

    fn on_fault(&mut self, f: Fault, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let freq = state.control_plane.node_status_update_frequency;
        match f {
            Fault::Crash(_) | Fault::Disconnect(_) => {
                let (crash, node) = match f {
                    Fault::Crash(n) => (true, n),
                    Fault::Disconnect(n) => (false, n),
                    _ => return,
                };
                let Some(&slot) = self.nodes.get(&node) else {
                    return;
                };
                let Some(agent) = agent_at(&mut self.agents, slot) else {
                    return;
                };
                agent.connected = false;
                // Renewals stop: the stored Lease keeps its last renewal. This is the absence
                // of writes, not a write.
                if let Some(n) = state.store.nodes.get_mut(&node) {
                    n.lease.stop(now, freq);
                    state.store.node_health_version += 1;
                }
                if crash {
                    agent.up = false;
                    agent.puller_free_at = now;
                    // Images already pulled stay on disk; pulls in progress are lost.
                    agent.images.retain(|_, t| *t <= now);
                    let gone: Vec<PodId> = self
                        .pods
                        .iter()
                        .filter(|(_, t)| t.node == slot)
                        .map(|(id, _)| *id)
                        .collect();
                    for id in gone {
                        if let Some(mut t) = self.pods.remove(&id) {
                            t.cancel_all(ctx);
                        }
                    }
                }
            }
            Fault::Recover(node) => {
                let Some(agent) = self.agent_mut(&node) else {
                    return;
                };
                if agent.up && agent.connected {
                    return;
                }
                let crashed = !agent.up;
                agent.up = true;
                agent.connected = true;
                apiserver::write(ctx, state, ApiWrite::RenewLease { node: node.clone() });
                self.resync(&node, crashed, state, ctx);
            }
            Fault::Slow { node, factor } => {
                if let Some(agent) = self.agent_mut(&node) {
                    agent.slow = factor;
                }
            }
            Fault::ApiServerDown(_) => {}
        }
    }

    /// Bring the kubelet's view of `node` back in line with the API after a crash or a
    /// disconnection.
    fn resync(
        &mut self,
        node: &str,
        crashed: bool,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        // Pods deleted from the API meanwhile: stop tracking (their containers are killed).
        let slot = self.nodes.get(node).copied();
        let stale: Vec<PodId> = self
            .pods
            .iter()
            .filter(|(id, t)| Some(t.node) == slot && !state.store.pods.contains_key(id))
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            if let Some(mut t) = self.pods.remove(&id) {
                t.cancel_all(ctx);
            }
        }
        let bound: Vec<PodId> = state
            .store
            .nodes
            .get(node)
            .map(|n| n.pods.iter().copied().collect())
            .unwrap_or_default();
        for id in bound {
            let Some(pod) = state.store.pods.get(&id) else {
                continue;
            };
            let terminating = pod.deletion_timestamp.is_some();
            let started = pod.started_at.is_some();
            let ready = pod.is_ready();
            let phase_pending = pod.phase == crate::cluster::objects::PodPhase::Pending;
            match self.pods.get(&id).map(|t| t.stage) {
                Some(Stage::Running) if !self.pods.get(&id).is_some_and(|t| t.ready) => {
                    if ready {
                        apiserver::write(ctx, state, ApiWrite::PodReady { id, ready: false });
                    }
                }
                Some(_) if terminating => self.terminate(id, state, ctx),
                None if terminating => {
                    apiserver::write(ctx, state, ApiWrite::RemovePod { id });
                }
                Some(Stage::Running) => {
                    if !ready {
                        apiserver::write(ctx, state, ApiWrite::PodReady { id, ready: true });
                    }
                }
                Some(Stage::WaitingReady) => {
                    if phase_pending {
                        apiserver::write(ctx, state, ApiWrite::PodStarted { id });
                    }
                }
                Some(_) => {}
                None => {
                    if started && crashed {
                        apiserver::write(ctx, state, ApiWrite::PodRestarted { id });
                    }
                    self.start_pod(id, node, state, ctx);
                }
            }
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
            Event::Fault(f) => self.on_fault(f, state, ctx),
            _ => {}
        }
    }
}

/// What one run of a pod's main container does, from its start (kubesim's failure model plus
/// the kubelet's probes).
struct RunPlan {
    /// When the pod becomes Ready.
    ready_at: Option<SimTime>,
    /// When the readiness probe fails for good afterwards.
    unready_at: Option<SimTime>,
    /// When and why the container stops on its own (crash, OOM, probe kill, completion).
    exit: Option<(SimTime, ContainerExit)>,
}

/// Plan the run of `pod`'s main container started at `start`, which answers from `up_at` on.
/// Draws from `rng` only for the failure behaviours the Behavior sets, so workloads without
/// them draw exactly as before.
fn plan_run(
    pod: &crate::cluster::objects::Pod,
    behavior: &crate::cluster::spec::BehaviorSpec,
    start: SimTime,
    up_at: SimTime,
    rng: &mut SimRng,
) -> RunPlan {
    let main = pod.template.containers.first();
    let image = main.map(|c| c.image.as_str()).unwrap_or("");
    let health = behavior.health_for(image);
    let probes = main.map(|c| c.probes).unwrap_or_default();
    let mut exit: Option<(SimTime, ContainerExit)> = None;
    let mut earliest = |t: SimTime, why: ContainerExit| {
        if exit.is_none_or(|(e, _)| t < e) {
            exit = Some((t, why));
        }
    };
    if health.crash_on_start {
        earliest(start, ContainerExit::Error);
    }
    if let Some(mean) = health.mean_time_between_crashes {
        earliest(
            start + sample(&Distribution::Exponential { mean }, rng),
            ContainerExit::Error,
        );
    }
    // Memory in use grows linearly from `initial`; the kernel kills the container the moment
    // it exceeds the limit (cgroup memory.max).
    let limit = main.map(|c| c.limits.memory_bytes).unwrap_or(0);
    if limit > 0 {
        if health.memory_initial > limit {
            earliest(start, ContainerExit::OomKilled);
        } else if health.memory_leak_per_sec > 0.0 {
            let secs = (limit - health.memory_initial) as f64 / health.memory_leak_per_sec;
            earliest(
                start + SimDuration::from_secs_f64(secs),
                ContainerExit::OomKilled,
            );
        }
    }
    if let Some(rt) = &health.run_time {
        earliest(start + sample(rt, rng), ContainerExit::Completed);
    }
    // A pod with its own run time (a trace pod) completes after it, exit code 0.
    if let Some(d) = pod.run_for {
        earliest(start + d, ContainerExit::Completed);
    }
    let down_at = health
        .mean_time_to_hang
        .map(|mean| start + sample(&Distribution::Exponential { mean }, rng));
    let alive = Health {
        up_at: (!health.crash_on_start).then_some(up_at),
        down_at,
    };
    let ready = if health.never_ready {
        Health {
            up_at: None,
            down_at: None,
        }
    } else {
        alive
    };
    let plan = probe::plan(&probes, start, alive, ready);
    if let Some((t, kind)) = plan.kill {
        let why = if kind == probe::ProbeKind::Startup {
            ContainerExit::Startup
        } else {
            ContainerExit::Liveness
        };
        earliest(t, why);
    }
    RunPlan {
        ready_at: plan.ready_at,
        unready_at: plan.unready_at,
        exit,
    }
}
