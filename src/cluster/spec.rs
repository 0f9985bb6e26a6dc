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
        }
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
    /// Node heartbeat period (kubelet `nodeStatusUpdateFrequency`, 10 s).
    pub node_status_update_frequency: SimDuration,
}

impl Default for ControlPlaneSpec {
    fn default() -> Self {
        ControlPlaneSpec {
            api_write_latency: SimDuration::from_millis(5),
            watch_delay: SimDuration::from_millis(10),
            scheduling_latency: SimDuration::from_millis(1),
            unschedulable_retry: SimDuration::from_secs(300),
            node_status_update_frequency: SimDuration::from_secs(10),
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
    /// PriorityClasses (`scheduling.k8s.io/v1`), in file order.
    pub priority_classes: Vec<PriorityClassSpec>,
    /// The scheduler's configuration (profiles from a `KubeSchedulerConfiguration` document,
    /// or upstream's defaults).
    pub scheduler: SchedulerConfigSpec,
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
