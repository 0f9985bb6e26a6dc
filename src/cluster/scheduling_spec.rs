//! Scheduling-related parts of a pod spec and of the scheduler's configuration, with upstream
//! names: `affinity` (node affinity, pod affinity and anti-affinity), `topologySpreadConstraints`,
//! `preemptionPolicy`, `PriorityClass`, and the `KubeSchedulerConfiguration` profiles.
//!
//! Upstream: `k8s.io/api/core/v1/types.go` (Affinity, NodeSelectorTerm, PodAffinityTerm,
//! TopologySpreadConstraint), `k8s.io/api/scheduling/v1` (PriorityClass) and
//! `pkg/scheduler/apis/config/v1` (KubeSchedulerConfiguration, defaults in `default_plugins.go`).

use std::collections::BTreeMap;

use crate::cluster::spec::{LabelSelector, Labels};

/// Operator of a node selector requirement (`core/v1` `NodeSelectorOperator`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeSelectorOperator {
    /// The label value is one of the values.
    In,
    /// The label is absent or its value is none of the values.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
    /// The label value, parsed as an integer, is greater than the single value.
    Gt,
    /// The label value, parsed as an integer, is less than the single value.
    Lt,
}

/// One `matchExpressions` (or `matchFields`) entry of a node selector term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSelectorRequirement {
    /// Label key (for `matchFields`, only `metadata.name`).
    pub key: String,
    /// Operator.
    pub operator: NodeSelectorOperator,
    /// Values.
    pub values: Vec<String>,
}

impl NodeSelectorRequirement {
    /// True if the value `got` of the key (None = absent) satisfies the requirement, as upstream
    /// `labels.Requirement.Matches` (Gt/Lt parse both sides as integers; a parse failure is no
    /// match).
    pub fn matches_value(&self, got: Option<&str>) -> bool {
        match self.operator {
            NodeSelectorOperator::In => got.is_some_and(|v| self.values.iter().any(|x| x == v)),
            NodeSelectorOperator::NotIn => got.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            NodeSelectorOperator::Exists => got.is_some(),
            NodeSelectorOperator::DoesNotExist => got.is_none(),
            NodeSelectorOperator::Gt | NodeSelectorOperator::Lt => {
                let (Some(v), Some(bound)) = (got, self.values.first()) else {
                    return false;
                };
                let (Ok(v), Ok(bound)) = (v.parse::<i64>(), bound.parse::<i64>()) else {
                    return false;
                };
                if self.operator == NodeSelectorOperator::Gt {
                    v > bound
                } else {
                    v < bound
                }
            }
        }
    }
}

/// A node selector term: its requirements are ANDed; an empty term matches no node (upstream
/// `nodeaffinity.NewNodeSelector`: "an empty term selects no objects").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSelectorTerm {
    /// `matchExpressions` over node labels.
    pub match_expressions: Vec<NodeSelectorRequirement>,
    /// `matchFields` (only `metadata.name` is a valid key).
    pub match_fields: Vec<NodeSelectorRequirement>,
}

impl NodeSelectorTerm {
    /// True if a node with `name` and `labels` satisfies the term.
    pub fn matches(&self, name: &str, labels: &Labels) -> bool {
        if self.match_expressions.is_empty() && self.match_fields.is_empty() {
            return false;
        }
        self.match_expressions
            .iter()
            .all(|r| r.matches_value(labels.get(&r.key).map(String::as_str)))
            && self
                .match_fields
                .iter()
                .all(|r| r.matches_value(Some(name)))
    }
}

/// `preferredDuringSchedulingIgnoredDuringExecution[]` of node affinity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreferredSchedulingTerm {
    /// Weight 1..=100.
    pub weight: i32,
    /// The term.
    pub preference: NodeSelectorTerm,
}

/// `affinity.nodeAffinity`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeAffinity {
    /// `requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms` (ORed); `None` when
    /// absent (no requirement).
    pub required: Option<Vec<NodeSelectorTerm>>,
    /// `preferredDuringSchedulingIgnoredDuringExecution`.
    pub preferred: Vec<PreferredSchedulingTerm>,
}

/// A pod affinity term (`core/v1` `PodAffinityTerm`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodAffinityTerm {
    /// `labelSelector`; `None` matches no pod (upstream: a nil selector selects nothing).
    pub label_selector: Option<LabelSelector>,
    /// `namespaces`; empty = the pod's own namespace.
    pub namespaces: Vec<String>,
    /// `topologyKey`: node label defining the domain.
    pub topology_key: String,
}

impl PodAffinityTerm {
    /// True if a pod in `namespace` with `labels` is selected by this term, for an incoming pod
    /// in `own_namespace`.
    pub fn selects(&self, own_namespace: &str, namespace: &str, labels: &Labels) -> bool {
        let ns_ok = if self.namespaces.is_empty() {
            namespace == own_namespace
        } else {
            self.namespaces.iter().any(|n| n == namespace)
        };
        ns_ok
            && self
                .label_selector
                .as_ref()
                .is_some_and(|s| s.matches(labels))
    }
}

/// A weighted pod affinity term (`preferredDuringScheduling...[]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightedPodAffinityTerm {
    /// Weight 1..=100.
    pub weight: i32,
    /// The term.
    pub term: PodAffinityTerm,
}

/// `affinity.podAffinity` or `affinity.podAntiAffinity`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodAffinityRules {
    /// `requiredDuringSchedulingIgnoredDuringExecution`.
    pub required: Vec<PodAffinityTerm>,
    /// `preferredDuringSchedulingIgnoredDuringExecution`.
    pub preferred: Vec<WeightedPodAffinityTerm>,
}

impl PodAffinityRules {
    /// True if there is no term at all.
    pub fn is_empty(&self) -> bool {
        self.required.is_empty() && self.preferred.is_empty()
    }
}

/// `spec.affinity`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Affinity {
    /// `nodeAffinity`.
    pub node_affinity: NodeAffinity,
    /// `podAffinity`.
    pub pod_affinity: PodAffinityRules,
    /// `podAntiAffinity`.
    pub pod_anti_affinity: PodAffinityRules,
}

/// `whenUnsatisfiable` of a topology spread constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnsatisfiableConstraintAction {
    /// A hard constraint: the PodTopologySpread filter enforces it.
    DoNotSchedule,
    /// A soft constraint: the PodTopologySpread score prefers nodes that reduce the skew.
    ScheduleAnyway,
}

/// `nodeAffinityPolicy` / `nodeTaintsPolicy` of a topology spread constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeInclusionPolicy {
    /// Nodes that do not satisfy the pod's node affinity / taints are left out of the skew.
    Honor,
    /// All nodes are counted.
    Ignore,
}

/// A `spec.topologySpreadConstraints[]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopologySpreadConstraint {
    /// `maxSkew` (>= 1).
    pub max_skew: i32,
    /// `topologyKey`.
    pub topology_key: String,
    /// `whenUnsatisfiable`.
    pub when_unsatisfiable: UnsatisfiableConstraintAction,
    /// `labelSelector`; `None` selects no pod.
    pub label_selector: Option<LabelSelector>,
    /// `minDomains` (only with DoNotSchedule); `None` = 1.
    pub min_domains: Option<i32>,
    /// `matchLabelKeys`: the pod's values of these keys are ANDed into the selector.
    pub match_label_keys: Vec<String>,
    /// `nodeAffinityPolicy` (default Honor).
    pub node_affinity_policy: NodeInclusionPolicy,
    /// `nodeTaintsPolicy` (default Ignore).
    pub node_taints_policy: NodeInclusionPolicy,
}

/// `spec.preemptionPolicy` (from the pod or its PriorityClass).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PreemptionPolicy {
    /// The pod may preempt lower-priority pods (the default).
    #[default]
    PreemptLowerPriority,
    /// The pod never preempts.
    Never,
}

/// A `scheduling.k8s.io/v1` PriorityClass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorityClassSpec {
    /// `metadata.name`.
    pub name: String,
    /// `value`.
    pub value: i32,
    /// `globalDefault`: pods without `priorityClassName` get this class.
    pub global_default: bool,
    /// `preemptionPolicy` (default PreemptLowerPriority).
    pub preemption_policy: PreemptionPolicy,
}

/// Scoring strategy of NodeResourcesFit (`NodeResourcesFitArgs.scoringStrategy.type`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScoringStrategy {
    /// Prefer the least requested nodes (the default).
    LeastAllocated,
    /// Prefer the most requested nodes (bin packing).
    MostAllocated,
    /// A broken-linear function of utilization: `(utilization %, score 0..=10)` points,
    /// utilization increasing.
    RequestedToCapacityRatio {
        /// `requestedToCapacityRatio.shape`.
        shape: Vec<(i64, i64)>,
    },
}

/// A resource and its weight in a scoring strategy (`ResourceSpec`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceWeight {
    /// `cpu` or `memory` (other resources are not simulated).
    pub name: String,
    /// Weight (>= 1).
    pub weight: i64,
}

/// One plugin entry of a profile: name and, for score plugins, weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginRef {
    /// Plugin name, e.g. `NodeResourcesFit` or a custom plugin's registered name.
    pub name: String,
    /// Score weight (`None` = the plugin's default weight, 1 for custom plugins).
    pub weight: Option<i64>,
}

/// A scheduler profile (`KubeSchedulerConfiguration.profiles[]`), already merged with the
/// default plugin set as upstream `mergePlugins` does: `filter` and `score` are the final lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedulerProfileSpec {
    /// `schedulerName`.
    pub scheduler_name: String,
    /// Filter plugins in order (PreFilter runs for the same plugins).
    pub filter: Vec<String>,
    /// Score plugins in order with their weights.
    pub score: Vec<(String, i64)>,
    /// Whether DefaultPreemption (PostFilter) is enabled.
    pub preemption: bool,
    /// NodeResourcesFit scoring strategy.
    pub fit_strategy: ScoringStrategy,
    /// NodeResourcesFit scoring resources and weights.
    pub fit_resources: Vec<ResourceWeight>,
    /// NodeResourcesBalancedAllocation resources.
    pub balanced_resources: Vec<ResourceWeight>,
    /// PodTopologySpread `defaultConstraints` (None = the system defaults).
    pub default_spread_constraints: Option<Vec<TopologySpreadConstraint>>,
    /// Per-profile `percentageOfNodesToScore` (None = the configuration's value).
    pub percentage_of_nodes_to_score: Option<i32>,
    /// Plugins enabled at `multiPoint` that are not built in (custom plugins): the scheduler
    /// adds each to the filter and/or score list according to the extension points its
    /// registration declares, after the built-in ones.
    pub custom_multi_point: Vec<PluginRef>,
}

/// The filter plugins of upstream's default profile, in order
/// (`pkg/scheduler/apis/config/v1/default_plugins.go`, v1.32; plugins for volumes, ports and DRA
/// are not simulated).
pub const DEFAULT_FILTERS: &[&str] = &[
    "NodeUnschedulable",
    "NodeName",
    "TaintToleration",
    "NodeAffinity",
    "NodeResourcesFit",
    "PodTopologySpread",
    "InterPodAffinity",
];

/// The score plugins of upstream's default profile with their default weights
/// (`default_plugins.go`: TaintToleration 3, NodeAffinity 2, NodeResourcesFit 1,
/// PodTopologySpread 2, InterPodAffinity 2, NodeResourcesBalancedAllocation 1, ImageLocality 1).
pub const DEFAULT_SCORES: &[(&str, i64)] = &[
    ("TaintToleration", 3),
    ("NodeAffinity", 2),
    ("NodeResourcesFit", 1),
    ("PodTopologySpread", 2),
    ("InterPodAffinity", 2),
    ("NodeResourcesBalancedAllocation", 1),
    ("ImageLocality", 1),
];

impl SchedulerProfileSpec {
    /// Upstream's default profile for `scheduler_name`.
    pub fn default_profile(scheduler_name: &str) -> Self {
        let cpu_mem = vec![
            ResourceWeight {
                name: "cpu".into(),
                weight: 1,
            },
            ResourceWeight {
                name: "memory".into(),
                weight: 1,
            },
        ];
        SchedulerProfileSpec {
            scheduler_name: scheduler_name.to_string(),
            filter: DEFAULT_FILTERS.iter().map(|s| s.to_string()).collect(),
            score: DEFAULT_SCORES
                .iter()
                .map(|(n, w)| (n.to_string(), *w))
                .collect(),
            preemption: true,
            fit_strategy: ScoringStrategy::LeastAllocated,
            fit_resources: cpu_mem.clone(),
            balanced_resources: cpu_mem,
            default_spread_constraints: None,
            percentage_of_nodes_to_score: None,
            custom_multi_point: Vec::new(),
        }
    }
}

/// The scheduler's configuration (`KubeSchedulerConfiguration`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedulerConfigSpec {
    /// Profiles by scheduler name (at least `default-scheduler`).
    pub profiles: BTreeMap<String, SchedulerProfileSpec>,
    /// `percentageOfNodesToScore`; 0 = adaptive (upstream default).
    pub percentage_of_nodes_to_score: i32,
    /// `podInitialBackoffSeconds` (default 1).
    pub pod_initial_backoff_seconds: i64,
    /// `podMaxBackoffSeconds` (default 10).
    pub pod_max_backoff_seconds: i64,
}

impl Default for SchedulerConfigSpec {
    fn default() -> Self {
        let mut profiles = BTreeMap::new();
        profiles.insert(
            "default-scheduler".to_string(),
            SchedulerProfileSpec::default_profile("default-scheduler"),
        );
        SchedulerConfigSpec {
            profiles,
            percentage_of_nodes_to_score: 0,
            pod_initial_backoff_seconds: 1,
            pod_max_backoff_seconds: 10,
        }
    }
}
