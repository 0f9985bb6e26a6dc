//! The closed event type of the cluster model: one sub-enum per subsystem, so every `match` is
//! exhaustive. Each variant says who emits it and who consumes it.

use std::sync::Arc;

use crate::cluster::objects::{
    DeploymentStatus, ObjectKind, Pod, PodId, ReplicaSet, ReplicaSetStatus,
};
use crate::cluster::spec::{NodeSpec, PodTemplateSpec};

/// Every event of a cluster run.
#[derive(Clone, Debug)]
pub enum Event {
    /// A write request. Emitted by the scheduler, controllers, kubelet and timeline with the
    /// API write latency as delay; consumed by the API server, which commits it.
    Api(ApiWrite),
    /// A committed change. Emitted by the API server after the watch delay; consumed by every
    /// component that watches that kind.
    Watch(WatchEvent),
    /// Scheduler timers. Emitted and consumed by the scheduler.
    Scheduler(SchedulerTimer),
    /// Kubelet timers (container lifecycle steps). Emitted and consumed by the kubelet.
    Kubelet(KubeletTimer),
    /// Controller work-queue timers. Emitted and consumed by each controller.
    Controller(ControllerTimer),
    /// The timeline's entry with this index is due. Emitted at build time; consumed by the
    /// timeline component.
    Timeline(usize),
    /// Take a metrics sample. Emitted and consumed by the sampler.
    Sample,
    /// Request traffic: arrivals, completions, timeouts, retries, endpoint updates, outlier
    /// sweeps. Emitted and consumed by the traffic component (`cluster::traffic`).
    Traffic(crate::cluster::traffic::TrafficEvent),
    /// A fault injected by the timeline. Emitted by the timeline; consumed by the kubelet
    /// (node faults) and the API server (`ApiServerDown`).
    Fault(Fault),
    /// The timeline entry with this index ends (an outage or partition with a duration).
    /// Emitted and consumed by the timeline.
    TimelineEnd(usize),
    /// Argo Rollouts: reconcile timers and measurements (emitted and consumed by the Rollout
    /// controller) and user commands (emitted by the timeline).
    Argo(crate::cluster::argo::controller::ArgoEvent),
    /// Trace replay timers (next arrival, next node event, PodGC of terminated pods). Emitted
    /// and consumed by the trace replayer (`cluster::trace`).
    Trace(crate::cluster::trace::TraceTimer),
    /// Autoscaler timers. Emitted and consumed by the HPA controller, the KEDA operator and
    /// the cluster autoscaler (`cluster::autoscaling`).
    Autoscaling(crate::cluster::autoscaling::AutoscalingTimer),
    /// StatefulSet, CronJob and leader-election events (`cluster::stateful_events`).
    Stateful(crate::cluster::stateful_events::StatefulEvent),
}

/// A fault the timeline injects.
#[derive(Clone, Debug)]
pub enum Fault {
    /// The machine stops: containers die, no heartbeats. Consumed by the kubelet.
    Crash(String),
    /// The kubelet loses the control plane (partition, or the kubelet process stopped):
    /// containers keep running, no heartbeats, no watch. Consumed by the kubelet.
    Disconnect(String),
    /// The node is back (after a crash or a disconnect). Consumed by the kubelet.
    Recover(String),
    /// The node's kubelet steps take `factor` times as long (1 = normal). Consumed by the
    /// kubelet.
    Slow {
        /// Node name.
        node: String,
        /// Slow-down factor.
        factor: f64,
    },
    /// The API server refuses writes until the given time; clients retry then. Consumed by the
    /// API server.
    ApiServerDown(crate::engine::SimTime),
}

/// A write to the API server's store.
#[derive(Clone, Debug)]
pub enum ApiWrite {
    /// Create a pod; the API server assigns its id and, from `generate_name`, its name
    /// (upstream `metadata.generateName`: prefix + 5 random characters).
    CreatePod {
        /// The pod, with `id` and `name` still to be filled in.
        pod: Box<Pod>,
        /// Name prefix, e.g. `web-5d8f7c9b4-`.
        generate_name: String,
    },
    /// Request graceful deletion (sets `deletionTimestamp`); a pod that is not bound to a node
    /// or already terminal is removed at once, as the apiserver does.
    DeletePod {
        /// Pod.
        id: PodId,
        /// Who asked, for the event log (`ReplicaSet default/web-abc`).
        by: String,
    },
    /// Remove the pod object for good (the kubelet finished terminating it, or PodGC
    /// force-deletes an orphan).
    RemovePod {
        /// Pod.
        id: PodId,
    },
    /// Bind a pod to a node (`pods/binding`).
    BindPod {
        /// Pod.
        id: PodId,
        /// Node name.
        node: String,
    },
    /// The kubelet reports all containers started (phase Running).
    PodStarted {
        /// Pod.
        id: PodId,
    },
    /// The kubelet reports the Ready condition.
    PodReady {
        /// Pod.
        id: PodId,
        /// New value of the condition.
        ready: bool,
    },
    /// Create a ReplicaSet.
    CreateReplicaSet(Box<ReplicaSet>),
    /// Set a ReplicaSet's `spec.replicas`.
    ScaleReplicaSet {
        /// `namespace/name`.
        key: String,
        /// New replica count.
        replicas: i32,
    },
    /// Write a ReplicaSet's status.
    ReplicaSetStatus {
        /// `namespace/name`.
        key: String,
        /// New status.
        status: ReplicaSetStatus,
    },
    /// Delete a ReplicaSet (history cleanup).
    DeleteReplicaSet {
        /// `namespace/name`.
        key: String,
    },
    /// Create a Deployment (scenario objects at the start of the run).
    CreateDeployment(Box<crate::cluster::objects::Deployment>),
    /// Change a Deployment's spec (scale or new template).
    UpdateDeployment {
        /// `namespace/name`.
        key: String,
        /// New `spec.replicas`, if changed.
        replicas: Option<i32>,
        /// New `spec.template`, if changed.
        template: Option<Arc<PodTemplateSpec>>,
    },
    /// Write a Deployment's status.
    DeploymentStatus {
        /// `namespace/name`.
        key: String,
        /// New status.
        status: DeploymentStatus,
    },
    /// Size a Deployment's ReplicaSet and set its replica annotations (upstream
    /// `scaleReplicaSet` with `SetReplicasAnnotations`).
    ScaleOwnedReplicaSet {
        /// `namespace/name`.
        key: String,
        /// New `spec.replicas`.
        replicas: i32,
        /// `desired-replicas` annotation.
        desired: i32,
        /// `max-replicas` annotation.
        max: i32,
    },
    /// Set a Deployment's `spec.paused`.
    SetDeploymentPaused {
        /// `namespace/name`.
        key: String,
        /// New value.
        paused: bool,
    },
    /// Register a node.
    CreateNode(Box<NodeSpec>),
    /// Delete a node object.
    DeleteNode {
        /// Node name.
        name: String,
    },
    /// Set `spec.unschedulable`.
    SetUnschedulable {
        /// Node name.
        name: String,
        /// New value.
        unschedulable: bool,
    },
    /// The kubelet renews its node's Lease and, from now on, keeps renewing it every
    /// `nodeStatusUpdateFrequency` (see [`crate::cluster::objects::NodeLease`]). Also posts
    /// `Ready=True` if the node was not ready.
    RenewLease {
        /// Node name.
        node: String,
    },
    /// The node lifecycle controller sets the node's `Ready` condition (`false` = `Unknown`).
    SetNodeReady {
        /// Node name.
        name: String,
        /// New value.
        ready: bool,
    },
    /// Add a taint to a node (no-op if the key and effect are already there).
    AddNodeTaint {
        /// Node name.
        name: String,
        /// The taint.
        taint: crate::cluster::spec::Taint,
    },
    /// Remove the taint with this key and effect from a node.
    RemoveNodeTaint {
        /// Node name.
        name: String,
        /// Taint key.
        key: String,
        /// Taint effect.
        effect: crate::cluster::spec::TaintEffect,
    },
    /// The Eviction API (`pods/eviction`): delete the pod gracefully unless a
    /// PodDisruptionBudget forbids it (then the write is refused, as upstream's 429).
    EvictPod {
        /// Pod.
        id: PodId,
        /// Who asked, for the event log.
        by: String,
    },
    /// The kubelet restarted the pod's containers (after a node reboot): `restartCount` + 1.
    PodRestarted {
        /// Pod.
        id: PodId,
    },
    /// Create a PodDisruptionBudget.
    CreatePodDisruptionBudget(Box<crate::cluster::spec::PodDisruptionBudgetSpec>),
    /// Patch a Service (index in `ClusterSpec::services`): the Rollout controller's selector
    /// hash and traffic weight (emitted by the Rollout controller).
    SetServiceRoute {
        /// Service index.
        service: usize,
        /// The route.
        route: crate::cluster::argo::spec::ServiceRoute,
    },
    /// The kubelet reports the pod terminal (its container exited and `restartPolicy` does not
    /// restart it): phase `Succeeded` or `Failed`; the node's resources are released.
    PodFinished {
        /// Pod.
        id: PodId,
        /// True for `Succeeded` (exit code 0), false for `Failed`.
        succeeded: bool,
    },
    /// Create a StatefulSet (scenario objects at the start of the run).
    CreateStatefulSet(Box<crate::cluster::stateful_objects::StatefulSet>),
    /// Change a StatefulSet's spec (`kubectl scale`, `set image`, `patch` of the partition).
    UpdateStatefulSet {
        /// `namespace/name`.
        key: String,
        /// New `spec.replicas`, if changed.
        replicas: Option<i32>,
        /// New `spec.template`, if changed (a new update revision).
        template: Option<Arc<PodTemplateSpec>>,
        /// New `spec.updateStrategy.rollingUpdate.partition`, if changed.
        partition: Option<i32>,
    },
    /// Write a StatefulSet's status; `rollout_complete` also makes the update revision the
    /// current one (upstream `completeRollingUpdate`).
    StatefulSetStatus {
        /// `namespace/name`.
        key: String,
        /// New status.
        status: crate::cluster::stateful_objects::StatefulSetStatus,
        /// True when every replica runs the update revision and is Ready.
        rollout_complete: bool,
    },
    /// Bind a StatefulSet replica's PersistentVolumeClaim to a volume provisioned in the zone
    /// of the node its pod was scheduled on (no-op if already bound). Emitted by the
    /// StatefulSet controller when it sees the pod bound.
    BindVolumeClaim {
        /// `namespace/claim-name`.
        claim: String,
        /// The claim's binding.
        binding: crate::cluster::stateful_objects::VolumeClaim,
    },
}

/// How an object changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Created.
    Added,
    /// Updated.
    Modified,
    /// Removed from the store.
    Deleted,
}

/// Which object a watch event is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectRef {
    /// A pod, with what watchers need once it is gone: owner key and node.
    Pod {
        /// Pod id.
        id: PodId,
        /// Controlling owner's key (`namespace/name`), if any.
        owner: Option<String>,
        /// Node it is bound to, if any (shared: a watch event is cloned once per watcher).
        node: Option<Arc<str>>,
    },
    /// A named object: node name, or `namespace/name` for namespaced kinds.
    Named(String),
}

/// A committed change, as a watch delivers it.
#[derive(Clone, Debug)]
pub struct WatchEvent {
    /// Object kind.
    pub kind: ObjectKind,
    /// Object.
    pub object: ObjectRef,
    /// Kind of change.
    pub change: Change,
    /// The store's `resourceVersion` after the change.
    pub resource_version: u64,
}

/// Scheduler timers.
#[derive(Clone, Copy, Debug)]
pub enum SchedulerTimer {
    /// The current scheduling cycle ends: place the pod at the head of the queue.
    CycleDone,
    /// Move every unschedulable pod back to the active queue (periodic flush).
    FlushUnschedulable,
    /// Move pods whose backoff expired from backoffQ to activeQ (every second while any wait).
    FlushBackoff,
    /// This scheduler process acquired the `kube-scheduler` Lease (client-go
    /// `OnStartedLeading`): start scheduling. Emitted by the leader-election component
    /// (`cluster::control_plane`).
    StartedLeading,
}

/// Kubelet timers: one container-lifecycle step of one pod finished.
#[derive(Clone, Copy, Debug)]
pub enum KubeletTimer {
    /// All images of the pod are present.
    ImagesPulled(PodId),
    /// All containers started.
    ContainersStarted(PodId),
    /// The pod passed readiness.
    Ready(PodId),
    /// The containers exited after SIGTERM (or the grace period ran out).
    Terminated(PodId),
    /// The readiness probe failed `failureThreshold` times in a row: the pod is no longer
    /// Ready.
    Unready(PodId),
    /// The main container exited on its own (or was killed by a probe or the OOM killer).
    Exited(PodId, ContainerExit),
    /// CrashLoopBackOff ran out: start the container again.
    Restart(PodId),
    /// A work-queue worker is free (just started, or finished its task): take the next task
    /// or exit with code 0 (`cluster::work_queue`).
    NextTask(PodId),
    /// Init container number `.1` (0-based, in `spec.initContainers` order) exited with code
    /// 0: start the next one, or the regular containers after the last.
    InitContainerDone(PodId, usize),
}

/// Why a container stopped (its `lastState.terminated.reason`, or the probe that killed it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerExit {
    /// Exit code 0 (a batch run finished).
    Completed,
    /// Non-zero exit code (a crash).
    Error,
    /// Killed by the kernel: memory usage passed the container's limit (exit code 137).
    OomKilled,
    /// Killed by the kubelet after the liveness probe failed.
    Liveness,
    /// Killed by the kubelet after the startup probe failed.
    Startup,
}

impl ContainerExit {
    /// True unless the container exited with code 0.
    pub fn failed(&self) -> bool {
        !matches!(self, ContainerExit::Completed)
    }

    /// Upstream `lastState.terminated.reason` spelling (`Completed`, `Error`, `OOMKilled`); a
    /// probe kill shows as `Error` upstream (exit code 137 or 143), named here after the probe.
    pub fn reason(&self) -> &'static str {
        match self {
            ContainerExit::Completed => "Completed",
            ContainerExit::Error => "Error",
            ContainerExit::OomKilled => "OOMKilled",
            ContainerExit::Liveness => "LivenessProbeFailed",
            ContainerExit::Startup => "StartupProbeFailed",
        }
    }
}

/// Controller timers.
#[derive(Clone, Debug)]
pub enum ControllerTimer {
    /// Reconcile the object with this key.
    Reconcile(String),
    /// PodGC: delete pods bound to nodes that no longer exist.
    GcOrphans,
    /// Add nodes of a pool once their provisioning delay has passed.
    ProvisionNodes {
        /// Pool name.
        pool: String,
        /// Number of nodes.
        count: u32,
    },
    /// Node lifecycle controller: one `monitorNodeHealth` pass (every `nodeMonitorPeriod`).
    MonitorNodes,
    /// Node lifecycle controller: the zone tainting queue may take the next node.
    TaintQueue,
    /// Taint eviction controller: a pod's `tolerationSeconds` ran out.
    TaintEvict(PodId),
    /// Drain (kubectl): try to evict the node's remaining pods again.
    Drain(String),
    /// A fresh kube-controller-manager process acquired its Lease (client-go
    /// `OnStartedLeading`): the controller starts and lists its objects. Emitted by the
    /// leader-election component (`cluster::control_plane`) to every controller of
    /// kube-controller-manager.
    StartedLeading,
}
