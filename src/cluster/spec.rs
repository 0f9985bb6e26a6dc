//! The validated, typed description of a cluster run: what [`crate::scenario`] produces from
//! YAML and what [`crate::cluster::world`] builds a simulation from.
//!
//! Every value here is already checked (non-negative counts, resolved references) and in model
//! units: CPU in millicores, memory in bytes, time in nanoseconds ([`SimDuration`]). Nothing in
//! this module reads files or text.

use std::collections::BTreeMap;

use crate::engine::{SimDuration, SimTime};

pub use crate::cluster::scheduling_spec::{
    Affinity, NodeAffinity, NodeInclusionPolicy, NodeSelectorOperator, NodeSelectorRequirement,
    NodeSelectorTerm, PodAffinityRules, PodAffinityTerm, PreemptionPolicy, PreferredSchedulingTerm,
    PriorityClassSpec, SchedulerConfigSpec, SchedulerProfileSpec, TopologySpreadConstraint,
    UnsatisfiableConstraintAction, WeightedPodAffinityTerm,
};

pub use crate::cluster::job_spec::{CompletionMode, JobSpec, WorkQueueSpec};
pub use crate::cluster::lifecycle_spec::{ContainerProbes, HealthSpec, ProbeSpec, RestartPolicy};

/// Label set of an object (`metadata.labels`), ordered by key.
pub type Labels = BTreeMap<String, String>;

/// A bundle of resource amounts, in model units.
///
/// `cpu_milli` is millicores (`500m` = 500, `2` = 2000), `memory_bytes` is bytes
/// (`1Gi` = 1073741824), `pods` is a count (only meaningful as node capacity).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resources {
    /// CPU in millicores.
    pub cpu_milli: i64,
    /// Memory in bytes.
    pub memory_bytes: i64,
    /// Number of pods (node capacity only; a pod counts as 1).
    pub pods: i64,
}

impl Resources {
    /// Component-wise sum.
    pub fn add(&self, other: &Resources) -> Resources {
        Resources {
            cpu_milli: self.cpu_milli + other.cpu_milli,
            memory_bytes: self.memory_bytes + other.memory_bytes,
            pods: self.pods + other.pods,
        }
    }

    /// Component-wise difference (may go negative; callers check).
    pub fn sub(&self, other: &Resources) -> Resources {
        Resources {
            cpu_milli: self.cpu_milli - other.cpu_milli,
            memory_bytes: self.memory_bytes - other.memory_bytes,
            pods: self.pods - other.pods,
        }
    }

    /// True if every component of `self` is at most the same component of `limit`.
    pub fn fits_within(&self, limit: &Resources) -> bool {
        self.cpu_milli <= limit.cpu_milli
            && self.memory_bytes <= limit.memory_bytes
            && self.pods <= limit.pods
    }
}

/// Effect of a taint (`spec.taints[].effect`), as upstream `core/v1` `TaintEffect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaintEffect {
    /// Do not schedule new pods that do not tolerate the taint.
    NoSchedule,
    /// Try not to schedule pods that do not tolerate the taint.
    PreferNoSchedule,
    /// Evict running pods that do not tolerate the taint.
    NoExecute,
}

/// A node taint (`spec.taints[]`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Taint {
    /// Taint key.
    pub key: String,
    /// Taint value (empty when absent).
    pub value: String,
    /// Taint effect.
    pub effect: TaintEffect,
}

/// Toleration operator, as upstream `core/v1` `TolerationOperator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TolerationOperator {
    /// Key and value must both match (the default).
    Equal,
    /// Key must match (or be empty for all keys); value is ignored.
    Exists,
}

/// A pod toleration (`spec.tolerations[]`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Toleration {
    /// Key to match; empty with `Exists` matches every key.
    pub key: String,
    /// Match operator.
    pub operator: TolerationOperator,
    /// Value to match with `Equal`.
    pub value: String,
    /// Effect to match; `None` matches every effect.
    pub effect: Option<TaintEffect>,
    /// For `NoExecute`: how long the pod stays bound after the taint appears; `None` = forever.
    pub toleration_seconds: Option<i64>,
}

/// One node to create, as from a `v1` Node manifest or expanded from a `NodePool`.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeSpec {
    /// Node name (`metadata.name`), unique in the cluster.
    pub name: String,
    /// Node labels, including `kubernetes.io/hostname` and, if the node has a zone,
    /// `topology.kubernetes.io/zone`.
    pub labels: Labels,
    /// Taints on the node.
    pub taints: Vec<Taint>,
    /// Allocatable resources (`status.allocatable`, or `status.capacity` when absent).
    pub allocatable: Resources,
    /// `spec.unschedulable` (cordoned).
    pub unschedulable: bool,
    /// Name of the `NodePool` the node belongs to, if any.
    pub pool: Option<String>,
    /// Price of the node in currency units per hour (0 when unknown).
    pub price_per_hour: f64,
}

/// A `NodePool` (kubesim document): a template for identical nodes, named `<pool>-<index>`.
#[derive(Clone, Debug, PartialEq)]
pub struct NodePoolSpec {
    /// Pool name.
    pub name: String,
    /// Number of nodes at the start of the run.
    pub count: u32,
    /// Zones the nodes are spread over round-robin (`topology.kubernetes.io/zone`); empty = none.
    pub zones: Vec<String>,
    /// Allocatable resources of each node.
    pub capacity: Resources,
    /// Extra labels on each node.
    pub labels: Labels,
    /// Taints on each node.
    pub taints: Vec<Taint>,
    /// Time from "add a node" to the node registering with the API server.
    pub provisioning_delay: SimDuration,
    /// Price of one node in currency units per hour.
    pub price_per_hour: f64,
}

/// One container of a pod template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Container name.
    pub name: String,
    /// Image reference, e.g. `shop:v1`.
    pub image: String,
    /// `resources.requests` (pods field is 0). When only limits are given, requests default to
    /// the limits, as upstream.
    pub requests: Resources,
    /// `resources.limits` (0 = no limit).
    pub limits: Resources,
    /// `livenessProbe`, `readinessProbe`, `startupProbe`.
    pub probes: ContainerProbes,
}

/// A pod template (`spec.template` of a workload).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodTemplateSpec {
    /// Pod labels.
    pub labels: Labels,
    /// Regular containers.
    pub containers: Vec<ContainerSpec>,
    /// Init containers (run one after another before the regular containers).
    pub init_containers: Vec<ContainerSpec>,
    /// `spec.nodeSelector`.
    pub node_selector: Labels,
    /// `spec.nodeName`, if the template pins pods to a node.
    pub node_name: Option<String>,
    /// `spec.tolerations`.
    pub tolerations: Vec<Toleration>,
    /// `spec.priority` resolved from `priorityClassName` (0 by default).
    pub priority: i32,
    /// `spec.terminationGracePeriodSeconds`, default 30 s as upstream.
    pub termination_grace_period: SimDuration,
    /// `spec.schedulerName`, default `default-scheduler`.
    pub scheduler_name: String,
    /// `spec.affinity` (empty when absent).
    pub affinity: Affinity,
    /// `spec.topologySpreadConstraints`.
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// `spec.priorityClassName`, if set (its value is already resolved into `priority`).
    pub priority_class_name: Option<String>,
    /// `spec.preemptionPolicy`, from the pod or its PriorityClass (default
    /// PreemptLowerPriority).
    pub preemption_policy: PreemptionPolicy,
    /// `spec.restartPolicy` (default Always).
    pub restart_policy: RestartPolicy,
    /// `metadata.annotations` of the template. kubesim reads no annotation's meaning, but they
    /// are part of the template, so changing one (the `checksum/config` pattern, `kubectl
    /// rollout restart`'s `kubectl.kubernetes.io/restartedAt`) rolls a Deployment.
    pub annotations: Labels,
}

impl Default for PodTemplateSpec {
    /// An empty template with upstream's defaults (grace period 30 s, `default-scheduler`).
    fn default() -> Self {
        PodTemplateSpec {
            labels: Labels::new(),
            containers: Vec::new(),
            init_containers: Vec::new(),
            node_selector: Labels::new(),
            node_name: None,
            tolerations: Vec::new(),
            priority: 0,
            termination_grace_period: SimDuration::from_secs(30),
            scheduler_name: "default-scheduler".to_string(),
            affinity: Affinity::default(),
            topology_spread_constraints: Vec::new(),
            priority_class_name: None,
            preemption_policy: PreemptionPolicy::default(),
            restart_policy: RestartPolicy::default(),
            annotations: Labels::new(),
        }
    }
}

impl PodTemplateSpec {
    /// The pod's effective request as the scheduler counts it: the sum over regular containers,
    /// raised to the largest init container request per resource (upstream
    /// `resource.PodRequests`), plus one pod.
    pub fn pod_requests(&self) -> Resources {
        let mut sum = Resources::default();
        for c in &self.containers {
            sum = sum.add(&c.requests);
        }
        for c in &self.init_containers {
            sum.cpu_milli = sum.cpu_milli.max(c.requests.cpu_milli);
            sum.memory_bytes = sum.memory_bytes.max(c.requests.memory_bytes);
        }
        sum.pods = 1;
        sum
    }

    /// The request the scheduler's scoring plugins count: as [`Self::pod_requests`], but a
    /// container without a CPU request counts 100m and one without a memory request 200 MiB
    /// (upstream `pkg/scheduler/util/pod_resources.go`: `DefaultMilliCPURequest`,
    /// `DefaultMemoryRequest`). kubesim cannot tell an explicit `0` from an absent request and
    /// treats both as absent.
    pub fn non_zero_requests(&self) -> Resources {
        const DEFAULT_MILLI_CPU: i64 = 100;
        const DEFAULT_MEMORY: i64 = 200 * 1024 * 1024;
        let nz = |c: &ContainerSpec| Resources {
            cpu_milli: if c.requests.cpu_milli == 0 {
                DEFAULT_MILLI_CPU
            } else {
                c.requests.cpu_milli
            },
            memory_bytes: if c.requests.memory_bytes == 0 {
                DEFAULT_MEMORY
            } else {
                c.requests.memory_bytes
            },
            pods: 0,
        };
        let mut sum = Resources::default();
        for c in &self.containers {
            sum = sum.add(&nz(c));
        }
        for c in &self.init_containers {
            let r = nz(c);
            sum.cpu_milli = sum.cpu_milli.max(r.cpu_milli);
            sum.memory_bytes = sum.memory_bytes.max(r.memory_bytes);
        }
        sum.pods = 1;
        sum
    }
}

/// A label selector (`spec.selector`): `matchLabels` and `matchExpressions` ANDed together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    /// `matchLabels`: every pair must be present.
    pub match_labels: Labels,
    /// `matchExpressions`.
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One `matchExpressions` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelSelectorRequirement {
    /// Label key.
    pub key: String,
    /// Operator.
    pub operator: SelectorOperator,
    /// Values for `In` / `NotIn`.
    pub values: Vec<String>,
}

/// Label selector operator, as upstream `metav1.LabelSelectorOperator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectorOperator {
    /// Label value is one of the values.
    In,
    /// Label is absent or its value is none of the values.
    NotIn,
    /// Label is present.
    Exists,
    /// Label is absent.
    DoesNotExist,
}

impl LabelSelector {
    /// True if `labels` satisfy every requirement. An empty selector matches everything, as
    /// upstream `metav1.LabelSelectorAsSelector`.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| {
                let got = labels.get(&r.key);
                match r.operator {
                    SelectorOperator::In => got.is_some_and(|v| r.values.contains(v)),
                    SelectorOperator::NotIn => got.is_none_or(|v| !r.values.contains(v)),
                    SelectorOperator::Exists => got.is_some(),
                    SelectorOperator::DoesNotExist => got.is_none(),
                }
            })
    }
}

/// Deployment strategy (`spec.strategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeploymentStrategy {
    /// Kill all old pods before creating new ones.
    Recreate,
    /// Rolling update with surge and unavailability bounds.
    RollingUpdate {
        /// `maxSurge`, resolved later against replicas (rounded up).
        max_surge: IntOrPercent,
        /// `maxUnavailable`, resolved later against replicas (rounded down).
        max_unavailable: IntOrPercent,
    },
}

/// A Kubernetes `IntOrString` that is either an absolute count or a percentage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntOrPercent {
    /// An absolute number.
    Int(i32),
    /// A percentage (e.g. `25%` = 25).
    Percent(i32),
}

/// An `apps/v1` Deployment.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentSpec {
    /// Name (`metadata.name`).
    pub name: String,
    /// Namespace (`metadata.namespace`, default `default`).
    pub namespace: String,
    /// `spec.replicas` (default 1).
    pub replicas: i32,
    /// `spec.selector`.
    pub selector: LabelSelector,
    /// `spec.template`.
    pub template: PodTemplateSpec,
    /// `spec.strategy` (default RollingUpdate 25% / 25%).
    pub strategy: DeploymentStrategy,
    /// `spec.minReadySeconds` (default 0).
    pub min_ready_seconds: i32,
    /// `spec.revisionHistoryLimit` (default 10).
    pub revision_history_limit: i32,
    /// `spec.progressDeadlineSeconds` (default 600).
    pub progress_deadline_seconds: i32,
    /// `spec.paused`.
    pub paused: bool,
}

/// An `apps/v1` ReplicaSet given directly as a manifest (not owned by a Deployment).
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaSetSpec {
    /// Name (`metadata.name`).
    pub name: String,
    /// Namespace (default `default`).
    pub namespace: String,
    /// `spec.replicas` (default 1).
    pub replicas: i32,
    /// `spec.selector`.
    pub selector: LabelSelector,
    /// `spec.template`.
    pub template: PodTemplateSpec,
    /// `spec.minReadySeconds`.
    pub min_ready_seconds: i32,
}

/// A random duration, sampled by the model from a component's own stream.
#[derive(Clone, Debug, PartialEq)]
pub enum Distribution {
    /// Always the same value.
    Constant(SimDuration),
    /// Uniform between `min` and `max` inclusive.
    Uniform {
        /// Lower bound.
        min: SimDuration,
        /// Upper bound.
        max: SimDuration,
    },
    /// Exponential with the given mean.
    Exponential {
        /// Mean.
        mean: SimDuration,
    },
    /// Log-normal given by its median and its 99th percentile (p99 >= median).
    LogNormal {
        /// Median (50th percentile).
        median: SimDuration,
        /// 99th percentile.
        p99: SimDuration,
    },
}

/// How a workload's pods behave where Kubernetes says nothing (kubesim `Behavior` document).
/// Applies to pods whose owning workload has the given name, or, when `image` is set, whose
/// first container uses that image.
#[derive(Clone, Debug, PartialEq)]
pub struct BehaviorSpec {
    /// Name of the Behavior document.
    pub name: String,
    /// Workload (Deployment / ReplicaSet) name this behaviour applies to.
    pub workload: String,
    /// Image pull time when the image is not yet on the node.
    pub image_pull: Distribution,
    /// Container start-up time, from image present to process running.
    pub startup: Distribution,
    /// Time from running to Ready (readiness).
    pub readiness: Distribution,
    /// Time the process takes to exit after SIGTERM; capped by the grace period.
    pub shutdown: Distribution,
    /// How the pods serve requests (`spec.serving`), for every image without its own entry.
    pub serving: ServingSpec,
    /// Per image version overrides (`spec.versions[]`): `(image, serving)`, in file order; a
    /// pod whose first container runs `image` serves with that entry.
    pub serving_by_image: Vec<(String, ServingSpec)>,
    /// How the containers fail (`spec.failures`), for every image without its own entry.
    pub health: HealthSpec,
    /// Per image version overrides of `health` (`spec.versions[]`), in file order.
    pub health_by_image: Vec<(String, HealthSpec)>,
    /// The queue of tasks the workload's pods drain (`spec.workQueue`), if any.
    pub work_queue: Option<WorkQueueSpec>,
    /// How long each init container runs before it exits with code 0
    /// (`spec.initContainers`: container name -> duration), in file order. An init container
    /// without an entry exits as soon as it started (zero run time).
    pub init_containers: Vec<(String, Distribution)>,
}

impl BehaviorSpec {
    /// The behaviour of a workload without a `Behavior` document: image pull 5 s ± (uniform
    /// 2–8 s), start-up 2 s, ready 1 s after start, 1 s to shut down. These are kubesim's
    /// documented defaults, not Kubernetes'.
    pub fn default_for(workload: &str) -> BehaviorSpec {
        BehaviorSpec {
            name: String::new(),
            workload: workload.to_string(),
            image_pull: Distribution::Uniform {
                min: SimDuration::from_secs(2),
                max: SimDuration::from_secs(8),
            },
            startup: Distribution::Constant(SimDuration::from_secs(2)),
            readiness: Distribution::Constant(SimDuration::from_secs(1)),
            shutdown: Distribution::Constant(SimDuration::from_secs(1)),
            serving: ServingSpec::default(),
            serving_by_image: Vec::new(),
            health: HealthSpec::default(),
            health_by_image: Vec::new(),
            work_queue: None,
            init_containers: Vec::new(),
        }
    }

    /// The run time of the init container named `name` (zero when the Behavior gives none).
    pub fn init_run_time(&self, name: &str) -> Distribution {
        self.init_containers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.clone())
            .unwrap_or(Distribution::Constant(SimDuration::ZERO))
    }

    /// How a pod whose first container runs `image` fails.
    pub fn health_for(&self, image: &str) -> &HealthSpec {
        self.health_by_image
            .iter()
            .find(|(i, _)| i == image)
            .map(|(_, s)| s)
            .unwrap_or(&self.health)
    }

    /// The serving behaviour of a pod whose first container runs `image`.
    pub fn serving_for(&self, image: &str) -> &ServingSpec {
        self.serving_by_image
            .iter()
            .find(|(i, _)| i == image)
            .map(|(_, s)| s)
            .unwrap_or(&self.serving)
    }
}

/// Control-plane timings (kubesim `Scenario` `spec.controlPlane`).
#[derive(Clone, Debug, PartialEq)]
pub struct ControlPlaneSpec {
    /// Latency of one API server write (etcd commit), default 5 ms.
    pub api_write_latency: SimDuration,
    /// Delay from a committed write to a watcher seeing it, default 10 ms.
    pub watch_delay: SimDuration,
    /// Time the scheduler spends on one pod's scheduling cycle, default 1 ms.
    pub scheduling_latency: SimDuration,
    /// How long an unschedulable pod waits before it is retried without a cluster event
    /// (upstream `podMaxInUnschedulablePodsDuration`, 5 min).
    pub unschedulable_retry: SimDuration,
    /// Node heartbeat period (kubelet `nodeStatusUpdateFrequency`, 10 s): the node's Lease is
    /// renewed this often.
    pub node_status_update_frequency: SimDuration,
    /// How often the node lifecycle controller checks node heartbeats
    /// (kube-controller-manager `--node-monitor-period`, 5 s).
    pub node_monitor_period: SimDuration,
    /// How long a node may go without a heartbeat before its `Ready` condition becomes
    /// `Unknown` (`--node-monitor-grace-period`, 50 s since Kubernetes 1.32).
    pub node_monitor_grace_period: SimDuration,
    /// Nodes tainted for eviction per second in a healthy zone (`--node-eviction-rate`, 0.1).
    pub node_eviction_rate: f64,
    /// The same in a partially disrupted zone of a large cluster
    /// (`--secondary-node-eviction-rate`, 0.01).
    pub secondary_node_eviction_rate: f64,
    /// Zones with at most this many nodes stop evicting when partially disrupted
    /// (`--large-cluster-size-threshold`, 50).
    pub large_cluster_size_threshold: u32,
    /// Fraction of NotReady nodes (with more than 2) that makes a zone partially disrupted
    /// (`--unhealthy-zone-threshold`, 0.55).
    pub unhealthy_zone_threshold: f64,
    /// `tolerationSeconds` the DefaultTolerationSeconds admission plugin gives every pod for
    /// `node.kubernetes.io/not-ready:NoExecute` (`--default-not-ready-toleration-seconds`, 300).
    pub default_not_ready_toleration_seconds: i64,
    /// The same for `node.kubernetes.io/unreachable:NoExecute`
    /// (`--default-unreachable-toleration-seconds`, 300).
    pub default_unreachable_toleration_seconds: i64,
    /// kube-scheduler's replicas and leader election (`kubeScheduler`).
    pub kube_scheduler: crate::cluster::control_plane::ControlPlaneComponentSpec,
    /// kube-controller-manager's replicas and leader election (`kubeControllerManager`).
    pub kube_controller_manager: crate::cluster::control_plane::ControlPlaneComponentSpec,
}

impl Default for ControlPlaneSpec {
    fn default() -> Self {
        ControlPlaneSpec {
            api_write_latency: SimDuration::from_millis(5),
            watch_delay: SimDuration::from_millis(10),
            scheduling_latency: SimDuration::from_millis(1),
            unschedulable_retry: SimDuration::from_secs(300),
            node_status_update_frequency: SimDuration::from_secs(10),
            node_monitor_period: SimDuration::from_secs(5),
            node_monitor_grace_period: SimDuration::from_secs(50),
            node_eviction_rate: 0.1,
            secondary_node_eviction_rate: 0.01,
            large_cluster_size_threshold: 50,
            unhealthy_zone_threshold: 0.55,
            default_not_ready_toleration_seconds: 300,
            default_unreachable_toleration_seconds: 300,
            kube_scheduler: Default::default(),
            kube_controller_manager: Default::default(),
        }
    }
}

/// One thing the `Timeline` does at a moment of the run.
#[derive(Clone, Debug, PartialEq)]
pub enum TimelineAction {
    /// Set a Deployment's `spec.replicas` (like `kubectl scale`).
    ScaleDeployment {
        /// Deployment name.
        deployment: String,
        /// New replica count.
        replicas: i32,
    },
    /// Set a Deployment's container image (like `kubectl set image`): a new pod template.
    SetImage {
        /// Deployment name.
        deployment: String,
        /// Container name; `None` = the first container.
        container: Option<String>,
        /// New image.
        image: String,
    },
    /// Add `count` nodes to a pool; they register after the pool's provisioning delay.
    AddNodes {
        /// Pool name.
        pool: String,
        /// Number of nodes.
        count: u32,
    },
    /// Delete a node object; its pods are deleted with it (like `kubectl delete node`).
    RemoveNode {
        /// Node name.
        node: String,
    },
    /// A `kubectl rollout` operation.
    Rollout {
        /// Deployment name.
        deployment: String,
        /// What to do.
        op: RolloutOp,
    },
    /// Set or clear `spec.unschedulable` on a node (`kubectl cordon` / `uncordon`).
    Cordon {
        /// Node name.
        node: String,
        /// True to cordon, false to uncordon.
        unschedulable: bool,
    },
    /// The machine stops: its containers die and its kubelet stops heartbeating.
    CrashNode {
        /// Node name.
        node: String,
    },
    /// A crashed (or partitioned, or kubelet-stopped) node comes back: the kubelet heartbeats
    /// again, removes the pods deleted meanwhile and restarts the others.
    RecoverNode {
        /// Node name.
        node: String,
    },
    /// Every node of a zone crashes, and recovers after `duration`.
    ZoneOutage {
        /// Zone (`topology.kubernetes.io/zone`).
        zone: String,
        /// How long the outage lasts.
        duration: SimDuration,
    },
    /// The node is cut off from the control plane: no heartbeats, no watch, but its containers
    /// keep running. Heals after `duration` if given (else at a `recoverNode`).
    Partition {
        /// Node name.
        node: String,
        /// How long; `None` = until `recoverNode`.
        duration: Option<SimDuration>,
    },
    /// The kubelet process stops: as a partition (no heartbeats, no reaction to the API), the
    /// containers keep running. Restarts after `duration` if given (else at `recoverNode`).
    KubeletStop {
        /// Node name.
        node: String,
        /// How long; `None` = until `recoverNode`.
        duration: Option<SimDuration>,
    },
    /// The API server accepts no writes for `duration`: clients retry, and their writes land
    /// when it is back (nothing new schedules; running pods continue).
    ApiServerDown {
        /// How long.
        duration: SimDuration,
    },
    /// The node's kubelet works `factor` times slower (image pulls, start-up, readiness,
    /// shutdown), for `duration` if given.
    SlowNode {
        /// Node name.
        node: String,
        /// Slow-down factor, at least 1.
        factor: f64,
        /// How long; `None` = until the end of the run.
        duration: Option<SimDuration>,
    },
    /// `kubectl drain`: cordon the node, then evict its pods through the Eviction API, which
    /// honours PodDisruptionBudgets; blocked evictions are retried every 5 s.
    DrainNode {
        /// Node name.
        node: String,
    },
    /// A `kubectl argo rollouts` command on a Rollout (promote, abort, retry, pause, resume,
    /// set image).
    Argo {
        /// Rollout name.
        rollout: String,
        /// The command.
        command: crate::cluster::argo::spec::ArgoCommand,
    },
    /// Kill the process of the current leader of a `LeaderElection` (its container exits
    /// with an error; the kubelet restarts it). It does not release the lease.
    KillLeader {
        /// The LeaderElection (Lease) name.
        election: String,
    },
    /// Change a StatefulSet (`kubectl scale`, `kubectl set image`, `kubectl patch` of
    /// `spec.updateStrategy.rollingUpdate.partition`).
    UpdateStatefulSet {
        /// StatefulSet name.
        stateful_set: String,
        /// New `spec.replicas`.
        replicas: Option<i32>,
        /// Container name for `image`; `None` = the first container.
        container: Option<String>,
        /// New image of that container (a new update revision).
        image: Option<String>,
        /// New partition.
        partition: Option<i32>,
    },
    /// Merge annotations into a Deployment's pod template (`kubectl patch deployment D -p
    /// '{"spec":{"template":{"metadata":{"annotations":{...}}}}}'`): a new template hash, so
    /// the Deployment rolls, unless every value is already set. This is how a ConfigMap or
    /// Secret change reaches the pods in the `checksum/config` pattern.
    UpdateTemplate {
        /// Deployment name.
        deployment: String,
        /// Annotations to set (key -> value).
        annotations: Labels,
    },
}

impl TimelineAction {
    /// How long the action lasts when it undoes itself (outage, partition, ...), else `None`.
    pub fn duration(&self) -> Option<SimDuration> {
        match self {
            TimelineAction::ZoneOutage { duration, .. }
            | TimelineAction::ApiServerDown { duration } => Some(*duration),
            TimelineAction::Partition { duration, .. }
            | TimelineAction::KubeletStop { duration, .. }
            | TimelineAction::SlowNode { duration, .. } => *duration,
            _ => None,
        }
    }
}

/// A `kubectl rollout` operation on a Deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RolloutOp {
    /// `kubectl rollout undo [--to-revision N]`: put back the pod template of revision N, or of
    /// the revision before the current one.
    Undo {
        /// Revision to go back to; `None` = the previous one.
        to_revision: Option<u64>,
    },
    /// `kubectl rollout pause`: template changes no longer roll out.
    Pause,
    /// `kubectl rollout resume`.
    Resume,
}

/// A timeline entry: at `at`, do `action`.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineEntry {
    /// When, from the start of the run.
    pub at: SimTime,
    /// What.
    pub action: TimelineAction,
    /// Where it was written (`file:line:column`), for messages and the event log.
    pub source: String,
}

/// Comparison of an expectation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ExpectBound {
    /// The metric must be strictly below the value.
    Below(f64),
    /// The metric must be strictly above the value.
    Above(f64),
    /// The metric must equal the value (within 1e-9).
    Equals(f64),
}

/// An expectation checked at the end of the run (`Scenario` `spec.expect[]`); a failed one makes
/// `kubesim run` exit with code 1. `metric` names a key of `summary.json`'s `metrics` object.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// Metric key, e.g. `pods.pending` or `pod_startup_seconds.p99`.
    pub metric: String,
    /// Bound to check.
    pub bound: ExpectBound,
    /// Where it was written (`file:line:column`).
    pub source: String,
}

/// A field the loader read but the model does not simulate (reported as a warning).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoredField {
    /// `file:line:column`.
    pub location: String,
    /// Field path, e.g. `Deployment/web: spec.template.spec.affinity`.
    pub path: String,
}

/// Everything a run needs: the validated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterSpec {
    /// Scenario name.
    pub name: String,
    /// Master seed.
    pub seed: u64,
    /// Simulated duration of the run.
    pub duration: SimDuration,
    /// Interval between metric samples in `timeseries.csv`.
    pub sample_every: SimDuration,
    /// Control-plane timings.
    pub control_plane: ControlPlaneSpec,
    /// Node pools, in file order.
    pub node_pools: Vec<NodePoolSpec>,
    /// Nodes present at the start (from Node manifests, then pools expanded in order).
    pub nodes: Vec<NodeSpec>,
    /// Deployments, in file order.
    pub deployments: Vec<DeploymentSpec>,
    /// Stand-alone ReplicaSets, in file order.
    pub replica_sets: Vec<ReplicaSetSpec>,
    /// Behaviours keyed by workload name.
    pub behaviors: BTreeMap<String, BehaviorSpec>,
    /// Timeline entries sorted by time (stable: file order within one instant).
    pub timeline: Vec<TimelineEntry>,
    /// Expectations.
    pub expectations: Vec<Expectation>,
    /// Fields read but not simulated.
    pub ignored_fields: Vec<IgnoredField>,
    /// `v1` Services, in file order.
    pub services: Vec<ServiceSpec>,
    /// Traffic sources (kubesim `Traffic` documents), in file order.
    pub traffic: Vec<TrafficSpec>,
    /// Istio DestinationRules, in file order (at most one per Service).
    pub destination_rules: Vec<DestinationRuleSpec>,
    /// PriorityClasses (`scheduling.k8s.io/v1`), in file order.
    pub priority_classes: Vec<PriorityClassSpec>,
    /// The scheduler's configuration (profiles from a `KubeSchedulerConfiguration` document,
    /// or upstream's defaults).
    pub scheduler: SchedulerConfigSpec,
    /// PodDisruptionBudgets, in file order.
    pub pod_disruption_budgets: Vec<PodDisruptionBudgetSpec>,
    /// `batch/v1` Jobs, in file order.
    pub jobs: Vec<JobSpec>,
    /// Argo Rollouts objects (`Rollout`, `AnalysisTemplate`).
    pub argo: crate::cluster::argo::spec::ArgoSpec,
    /// The workload trace to replay (a kubesim `Trace` document), if any.
    pub trace: Option<crate::cluster::trace::TraceSpec>,
    /// Autoscalers: HPAs, KEDA ScaledObjects, the cluster autoscaler's node groups and options.
    pub autoscaling: crate::cluster::autoscaling_spec::AutoscalingSpec,
    /// StatefulSets, CronJobs and leader elections.
    pub stateful: crate::cluster::stateful_spec::StatefulSpec,
    /// Request graphs: the calls each Service's handler makes (kubesim `RequestGraph`).
    pub request_graphs: crate::cluster::request_graph_spec::RequestGraphs,
}

/// A `policy/v1` PodDisruptionBudget.
#[derive(Clone, Debug, PartialEq)]
pub struct PodDisruptionBudgetSpec {
    /// Name.
    pub name: String,
    /// Namespace (default `default`).
    pub namespace: String,
    /// `spec.selector`: the pods it protects (same namespace).
    pub selector: LabelSelector,
    /// `spec.minAvailable` or `spec.maxUnavailable` (exactly one).
    pub budget: DisruptionBudget,
}

/// What a PodDisruptionBudget guarantees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisruptionBudget {
    /// `minAvailable`: at least this many (or this percent, rounded up) healthy pods.
    MinAvailable(IntOrPercent),
    /// `maxUnavailable`: at most this many (or this percent, rounded up) unhealthy pods.
    MaxUnavailable(IntOrPercent),
}

impl ClusterSpec {
    /// The behaviour of the workload `name`: its `Behavior` document or the defaults.
    pub fn behavior_for(&self, workload: &str) -> BehaviorSpec {
        self.behaviors
            .get(workload)
            .cloned()
            .unwrap_or_else(|| BehaviorSpec::default_for(workload))
    }
}

/// Expand a pool into `count` nodes named `<pool>-<first_index + i>`, zones round-robin.
pub fn expand_pool(pool: &NodePoolSpec, first_index: u32, count: u32) -> Vec<NodeSpec> {
    (first_index..first_index + count)
        .map(|i| {
            let name = format!("{}-{}", pool.name, i);
            let mut labels = pool.labels.clone();
            labels.insert("kubernetes.io/hostname".into(), name.clone());
            labels.insert("kubesim.dev/pool".into(), pool.name.clone());
            if !pool.zones.is_empty() {
                let zone = &pool.zones[i as usize % pool.zones.len()];
                labels.insert("topology.kubernetes.io/zone".into(), zone.clone());
            }
            NodeSpec {
                name,
                labels,
                taints: pool.taints.clone(),
                allocatable: pool.capacity,
                unschedulable: false,
                pool: Some(pool.name.clone()),
                price_per_hour: pool.price_per_hour,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Request traffic (Services, serving behaviour, traffic sources, DestinationRules)

/// How a pod serves requests (kubesim `Behavior` `spec.serving`): a pool of `concurrency`
/// workers in front of a FIFO queue. kubesim's own model: Kubernetes says nothing about it.
#[derive(Clone, Debug, PartialEq)]
pub struct ServingSpec {
    /// Time one request occupies one worker.
    pub service_time: Distribution,
    /// Requests served at once (workers), at least 1. Default 1.
    pub concurrency: u32,
    /// Most requests waiting for a worker; a request that finds the queue full is refused with
    /// a 503 (cause `overflow`). `None` = unbounded (the default).
    pub queue_limit: Option<u32>,
    /// CPU time one request consumes (ns of CPU), which makes the pod's CPU usage. Default 0.
    pub cpu_per_request: SimDuration,
    /// Probability that a served request answers with a 5xx (0..=1). Default 0.
    pub error_rate: f64,
    /// Cost of a sidecar proxy in front of the application, if the pods have one.
    pub sidecar: Option<crate::cluster::request_graph_spec::SidecarSpec>,
    /// Cost of an ambassador proxying the application's outbound calls, if the pods have one.
    pub ambassador: Option<crate::cluster::request_graph_spec::AmbassadorSpec>,
    /// The metrics adapter that exports the pods' request counter for the custom metrics API,
    /// if the pods have one.
    pub metrics_adapter: Option<crate::cluster::autoscaling_spec::MetricsAdapterSpec>,
}

impl Default for ServingSpec {
    /// 10 ms constant service time, one worker, unbounded queue, no CPU cost, no errors.
    fn default() -> Self {
        ServingSpec {
            service_time: Distribution::Constant(SimDuration::from_millis(10)),
            concurrency: 1,
            queue_limit: None,
            cpu_per_request: SimDuration::ZERO,
            error_rate: 0.0,
            sidecar: None,
            ambassador: None,
            metrics_adapter: None,
        }
    }
}

/// One port of a Service (`spec.ports[]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePort {
    /// `name` (may be empty when the Service has one port).
    pub name: String,
    /// `port`, 1..=65535.
    pub port: i32,
    /// `targetPort` as given (a number or a container port name); defaults to `port`.
    pub target_port: String,
    /// `protocol`: `TCP` (default), `UDP` or `SCTP`.
    pub protocol: String,
}

/// A `v1` Service: a selector over pods whose Ready members are its endpoints.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceSpec {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `spec.selector` (`matchLabels` semantics; empty selects no pods, as upstream: a Service
    /// without a selector gets no EndpointSlices from the controller).
    pub selector: Labels,
    /// `spec.ports`.
    pub ports: Vec<ServicePort>,
}

/// How a client picks an endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadBalancer {
    /// Uniformly at random: kube-proxy's iptables mode (`statistic --mode random` rules).
    Random,
    /// In turn: kube-proxy's IPVS mode (default scheduler `rr`), Istio `ROUND_ROBIN`.
    RoundRobin,
    /// Envoy's least request with the default `choice_count` 2: the less busy of two random
    /// endpoints (Istio `LEAST_REQUEST`).
    LeastRequest,
}

/// How a client's requests arrive (open loop) or are issued (closed loop).
#[derive(Clone, Debug, PartialEq)]
pub enum ArrivalProcess {
    /// Poisson arrivals with mean `rate` per second (possibly modulated, see [`TrafficSpec`]).
    Poisson,
    /// One request every `1 / rate` seconds.
    Constant,
    /// Closed loop: `users` clients, each sends a request, waits for its outcome, thinks for
    /// `think_time`, and sends the next.
    ClosedLoop {
        /// Number of users.
        users: u32,
        /// Think time between a response and the next request.
        think_time: Distribution,
    },
}

/// A diurnal modulation of the rate: `rate * (1 + amplitude * cos(2 pi (t - peak_at) / 24h))`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Diurnal {
    /// Relative swing, 0..=1.
    pub amplitude: f64,
    /// Time of day of the peak (from the start of the run, modulo 24 h).
    pub peak_at: SimDuration,
}

/// A rate change: from `at` on, the base rate is `rate` per second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateStep {
    /// When, from the start of the run.
    pub at: SimTime,
    /// New base rate, requests per second.
    pub rate: f64,
}

/// A traffic source (kubesim `Traffic` document): requests to one Service.
#[derive(Clone, Debug, PartialEq)]
pub struct TrafficSpec {
    /// Document name; metrics are reported under it.
    pub name: String,
    /// Index of the target Service in [`ClusterSpec::services`].
    pub service: usize,
    /// Base rate, requests per second (open loop; unused for closed loop).
    pub rate: f64,
    /// Arrival process.
    pub arrival: ArrivalProcess,
    /// Diurnal modulation, if any.
    pub diurnal: Option<Diurnal>,
    /// Rate changes (steps and bursts), sorted by time.
    pub steps: Vec<RateStep>,
    /// Per-try timeout; `None` = none (Istio's default: no route timeout).
    pub timeout: Option<SimDuration>,
    /// Retries after a failed try (5xx, overflow, timeout, reset). Default 0.
    pub retries: u32,
    /// Base interval of the exponential retry back-off (Envoy default 25 ms); the n-th retry
    /// waits uniformly in `[0, min(base * 2^n, 10 * base))` (Envoy's fully jittered back-off).
    pub retry_backoff: SimDuration,
    /// Load balancing when no DestinationRule overrides it.
    pub load_balancer: LoadBalancer,
    /// One-way network latency added to each try (and to each response). Default 0.
    pub network_latency: SimDuration,
    /// Client-side circuit breaker (Envoy thresholds), if any.
    pub circuit_breaker: Option<crate::cluster::request_graph_spec::CircuitBreakerSpec>,
    /// Application-level circuit breaker (resilience4j `CircuitBreakerConfig`), if any: it
    /// decides, per request, before the proxy's retries and thresholds.
    pub client_breaker: Option<crate::cluster::traffic::client_breaker::ClientBreakerSpec>,
    /// How the traffic is simulated: per request (default) or as a fluid (queueing formulas
    /// per interval). Every source of a scenario has the same mode.
    pub mode: TrafficMode,
}

/// How the traffic model runs (kubesim `Traffic` `spec.mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum TrafficMode {
    /// Every request is simulated: arrivals, queues, timeouts and retries as events.
    #[default]
    Request,
    /// No per-request events: every `step` (at most; also at every endpoint change and
    /// sample), each pod's load and latency come from queueing formulas
    /// (`cluster::traffic::fluid`).
    Fluid {
        /// Longest integration step; `None` = the scenario's sampling interval.
        step: Option<SimDuration>,
    },
}

impl TrafficMode {
    /// True for [`TrafficMode::Fluid`].
    pub fn is_fluid(&self) -> bool {
        matches!(self, TrafficMode::Fluid { .. })
    }
}

/// Istio `DestinationRule` `trafficPolicy.outlierDetection`, with Envoy's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutlierDetectionSpec {
    /// `consecutive5xxErrors`: 5xx in a row that eject a host (Envoy default 5; 0 disables).
    pub consecutive_5xx: u32,
    /// `interval` between ejection sweeps (default 10 s).
    pub interval: SimDuration,
    /// `baseEjectionTime`, multiplied by the number of ejections (default 30 s).
    pub base_ejection_time: SimDuration,
    /// `maxEjectionPercent` of hosts that may be ejected (Envoy default 10; at least one host
    /// may always be ejected).
    pub max_ejection_percent: u32,
}

impl Default for OutlierDetectionSpec {
    /// Envoy's defaults (`config.cluster.v3.OutlierDetection`): consecutive_5xx 5, interval
    /// 10 s, base_ejection_time 30 s, max_ejection_percent 10.
    fn default() -> Self {
        OutlierDetectionSpec {
            consecutive_5xx: 5,
            interval: SimDuration::from_secs(10),
            base_ejection_time: SimDuration::from_secs(30),
            max_ejection_percent: 10,
        }
    }
}

/// Istio `DestinationRule` (`networking.istio.io/v1`) for one Service host.
#[derive(Clone, Debug, PartialEq)]
pub struct DestinationRuleSpec {
    /// `metadata.name`.
    pub name: String,
    /// Index of the Service `spec.host` names, in [`ClusterSpec::services`].
    pub service: usize,
    /// `trafficPolicy.loadBalancer.simple`, if set.
    pub load_balancer: Option<LoadBalancer>,
    /// `trafficPolicy.outlierDetection`, if set.
    pub outlier_detection: Option<OutlierDetectionSpec>,
    /// `connectionPool.http.http2MaxRequests`: most requests in flight to the Service from the
    /// client; more are refused with 503 (`overflow`). Istio default 2^32-1.
    pub max_requests: u32,
    /// `connectionPool.http.http1MaxPendingRequests`, counted here together with
    /// `max_requests` (kubesim has no connection model). Istio default 2^32-1.
    pub max_pending_requests: u32,
}
