//! The scheduling parts of manifests: a pod's `affinity` and `topologySpreadConstraints`,
//! `scheduling.k8s.io/v1` PriorityClass, and the `kubescheduler.config.k8s.io/v1`
//! `KubeSchedulerConfiguration` document (profiles, plugins, pluginConfig).
//!
//! Upstream references (Kubernetes v1.32):
//! - `pkg/apis/core/validation/validation.go`: `validateNodeSelectorRequirement`
//!   ("must be specified when `operator` is 'In' or 'NotIn'", "must be specified single value
//!   when `operator` is 'Lt' or 'Gt'"), `validateNodeFieldSelectorRequirement` (only
//!   `metadata.name`), `validatePodAffinityTerm` (`topologyKey` "can not be empty"),
//!   `validateTopologySpreadConstraints` (maxSkew "must be greater than zero", minDomains only
//!   with DoNotSchedule, unique {topologyKey, whenUnsatisfiable}).
//! - `pkg/apis/scheduling/validation/validation.go` (user-defined values at most 1000000000) and
//!   `plugin/pkg/admission/priority/admission.go` (resolution of `priorityClassName`).
//! - `pkg/scheduler/apis/config/v1/default_plugins.go` (`mergePlugins`, `mergePluginSet`) and
//!   `pkg/scheduler/apis/config/validation` (weights, scoring strategy, shape).

use crate::cluster::scheduling_spec::{
    DEFAULT_FILTERS, DEFAULT_SCORES, PluginRef, ResourceWeight, ScoringStrategy,
};
use crate::cluster::spec::{
    Affinity, NodeAffinity, NodeInclusionPolicy, NodeSelectorOperator, NodeSelectorRequirement,
    NodeSelectorTerm, PodAffinityRules, PodAffinityTerm, PreemptionPolicy, PreferredSchedulingTerm,
    PriorityClassSpec, SchedulerProfileSpec, TopologySpreadConstraint,
    UnsatisfiableConstraintAction, WeightedPodAffinityTerm,
};

use crate::cluster::spec::{PodTemplateSpec, SchedulerConfigSpec};

use super::error::suggest;
use super::manifests::read_selector;
use super::reader::{Cx, Fields, Loc, Map, R, Val, check_label_key, join};
use super::yaml::{Node, Yaml};

// ---------------------------------------------------------------------------------------------
// affinity

const AFFINITY: Fields = Fields::read(&["nodeAffinity", "podAffinity", "podAntiAffinity"]);
const NODE_AFFINITY: Fields = Fields::read(&[
    "requiredDuringSchedulingIgnoredDuringExecution",
    "preferredDuringSchedulingIgnoredDuringExecution",
]);
const NODE_SELECTOR: Fields = Fields::read(&["nodeSelectorTerms"]);
const NODE_SELECTOR_TERM: Fields = Fields::read(&["matchExpressions", "matchFields"]);
const NODE_REQUIREMENT: Fields = Fields::read(&["key", "operator", "values"]);
const PREFERRED_TERM: Fields = Fields::read(&["weight", "preference"]);
const POD_AFFINITY: Fields = Fields::read(&[
    "requiredDuringSchedulingIgnoredDuringExecution",
    "preferredDuringSchedulingIgnoredDuringExecution",
]);
const POD_AFFINITY_TERM: Fields = Fields {
    read: &["labelSelector", "namespaces", "topologyKey"],
    warn: &["namespaceSelector", "matchLabelKeys", "mismatchLabelKeys"],
    silent: &[],
};
const WEIGHTED_POD_AFFINITY_TERM: Fields = Fields::read(&["weight", "podAffinityTerm"]);

const NODE_SELECTOR_OPS: &[&str] = &["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"];

/// `spec.affinity` of a pod template.
pub(crate) fn read_affinity(cx: &mut Cx, v: &Val) -> R<Affinity> {
    let m = v.map(cx, &AFFINITY)?;
    let mut out = Affinity::default();
    if let Some(na) = m.get("nodeAffinity") {
        out.node_affinity = read_node_affinity(cx, &na)?;
    }
    if let Some(pa) = m.get("podAffinity") {
        out.pod_affinity = read_pod_affinity(cx, &pa)?;
    }
    if let Some(pa) = m.get("podAntiAffinity") {
        out.pod_anti_affinity = read_pod_affinity(cx, &pa)?;
    }
    Ok(out)
}

fn read_node_affinity(cx: &mut Cx, v: &Val) -> R<NodeAffinity> {
    let m = v.map(cx, &NODE_AFFINITY)?;
    let mut out = NodeAffinity::default();
    if let Some(r) = m.get("requiredDuringSchedulingIgnoredDuringExecution") {
        let sel = r.map(cx, &NODE_SELECTOR)?;
        let terms_v = sel.req(cx, "nodeSelectorTerms")?;
        let mut terms = Vec::new();
        for t in terms_v.seq(cx)? {
            terms.push(read_node_selector_term(cx, &t)?);
        }
        if terms.is_empty() {
            return Err(terms_v.err(cx, "must have at least one node selector term"));
        }
        out.required = Some(terms);
    }
    if let Some(p) = m.get("preferredDuringSchedulingIgnoredDuringExecution") {
        for item in p.seq(cx)? {
            let t = item.map(cx, &PREFERRED_TERM)?;
            let weight = read_weight(cx, &t)?;
            let preference = read_node_selector_term(cx, &t.req(cx, "preference")?)?;
            out.preferred
                .push(PreferredSchedulingTerm { weight, preference });
        }
    }
    Ok(out)
}

/// `weight` of a preferred term: required, 1..=100 (upstream "must be in the range 1-100").
fn read_weight(cx: &mut Cx, t: &Map) -> R<i32> {
    let w = t.req(cx, "weight")?;
    let n = w.int(cx)?;
    if !(1..=100).contains(&n) {
        return Err(w.err(cx, format!("must be in the range 1-100, found {n}")));
    }
    Ok(n as i32)
}

fn read_node_selector_term(cx: &mut Cx, v: &Val) -> R<NodeSelectorTerm> {
    let m = v.map(cx, &NODE_SELECTOR_TERM)?;
    let mut out = NodeSelectorTerm::default();
    if let Some(list) = m.get("matchExpressions") {
        for item in list.seq(cx)? {
            out.match_expressions
                .push(read_node_requirement(cx, &item, false)?);
        }
    }
    if let Some(list) = m.get("matchFields") {
        for item in list.seq(cx)? {
            out.match_fields
                .push(read_node_requirement(cx, &item, true)?);
        }
    }
    Ok(out)
}

fn read_node_requirement(cx: &mut Cx, v: &Val, field: bool) -> R<NodeSelectorRequirement> {
    let r = v.map(cx, &NODE_REQUIREMENT)?;
    let key_v = r.req(cx, "key")?;
    let key = key_v.string(cx)?;
    if field {
        // Upstream `validateNodeFieldSelectorRequirement`: only `metadata.name`.
        if key != "metadata.name" {
            return Err(key_v
                .err(
                    cx,
                    format!("not a valid field selector key {key:?}; supported: metadata.name"),
                )
                .with_suggestion(Some("metadata.name".to_string())));
        }
    } else if let Err(msg) = check_label_key(&key) {
        return Err(key_v.err(cx, format!("invalid label key {key:?}: {msg}")));
    }
    let op_v = r.req(cx, "operator")?;
    let allowed: &[&'static str] = if field {
        &["In", "NotIn"]
    } else {
        NODE_SELECTOR_OPS
    };
    let operator = match op_v.one_of(cx, allowed)? {
        "In" => NodeSelectorOperator::In,
        "NotIn" => NodeSelectorOperator::NotIn,
        "Exists" => NodeSelectorOperator::Exists,
        "DoesNotExist" => NodeSelectorOperator::DoesNotExist,
        "Gt" => NodeSelectorOperator::Gt,
        _ => NodeSelectorOperator::Lt,
    };
    let values = match r.get("values") {
        Some(x) => x.strings(cx)?,
        None => Vec::new(),
    };
    let at = r.get("values").map(|x| x.pos()).unwrap_or(r.pos);
    let path = join(&r.path, "values");
    let bad = |msg: &str| Err(cx.err(at, &path, msg.to_string()));
    match operator {
        _ if field && values.len() != 1 => {
            return bad(
                "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
            );
        }
        NodeSelectorOperator::In | NodeSelectorOperator::NotIn if values.is_empty() => {
            return bad("must be specified when `operator` is 'In' or 'NotIn'");
        }
        NodeSelectorOperator::Exists | NodeSelectorOperator::DoesNotExist if !values.is_empty() => {
            return bad("may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
        }
        NodeSelectorOperator::Gt | NodeSelectorOperator::Lt => {
            if values.len() != 1 {
                return bad("must be specified single value when `operator` is 'Lt' or 'Gt'");
            }
            if values[0].parse::<i64>().is_err() {
                return bad(&format!(
                    "{:?} is not an integer; `operator` 'Gt' and 'Lt' compare integers",
                    values[0]
                ));
            }
        }
        _ => {}
    }
    Ok(NodeSelectorRequirement {
        key,
        operator,
        values,
    })
}

fn read_pod_affinity(cx: &mut Cx, v: &Val) -> R<PodAffinityRules> {
    let m = v.map(cx, &POD_AFFINITY)?;
    let mut out = PodAffinityRules::default();
    if let Some(list) = m.get("requiredDuringSchedulingIgnoredDuringExecution") {
        for item in list.seq(cx)? {
            out.required.push(read_pod_affinity_term(cx, &item)?);
        }
    }
    if let Some(list) = m.get("preferredDuringSchedulingIgnoredDuringExecution") {
        for item in list.seq(cx)? {
            let t = item.map(cx, &WEIGHTED_POD_AFFINITY_TERM)?;
            let weight = read_weight(cx, &t)?;
            let term = read_pod_affinity_term(cx, &t.req(cx, "podAffinityTerm")?)?;
            out.preferred.push(WeightedPodAffinityTerm { weight, term });
        }
    }
    Ok(out)
}

fn read_pod_affinity_term(cx: &mut Cx, v: &Val) -> R<PodAffinityTerm> {
    let m = v.map(cx, &POD_AFFINITY_TERM)?;
    let label_selector = match m.get("labelSelector") {
        Some(s) => Some(read_selector(cx, &s)?),
        None => None,
    };
    let namespaces = match m.get("namespaces") {
        Some(n) => n.strings(cx)?,
        None => Vec::new(),
    };
    let topology_key = read_topology_key(cx, &m)?;
    Ok(PodAffinityTerm {
        label_selector,
        namespaces,
        topology_key,
    })
}

/// A required, non-empty `topologyKey` that is a valid label key.
fn read_topology_key(cx: &mut Cx, m: &Map) -> R<String> {
    let k = m.req(cx, "topologyKey")?;
    let key = k.string(cx)?;
    if key.is_empty() {
        return Err(k.err(cx, "can not be empty"));
    }
    if let Err(msg) = check_label_key(&key) {
        return Err(k.err(cx, format!("invalid label key {key:?}: {msg}")));
    }
    Ok(key)
}

// ---------------------------------------------------------------------------------------------
// topologySpreadConstraints

const SPREAD: Fields = Fields::read(&[
    "maxSkew",
    "topologyKey",
    "whenUnsatisfiable",
    "labelSelector",
    "minDomains",
    "matchLabelKeys",
    "nodeAffinityPolicy",
    "nodeTaintsPolicy",
]);

/// `spec.topologySpreadConstraints` of a pod template (also PodTopologySpread's
/// `defaultConstraints`, which may not have a `labelSelector`).
pub(crate) fn read_spread_constraints(
    cx: &mut Cx,
    v: &Val,
    defaults: bool,
) -> R<Vec<TopologySpreadConstraint>> {
    let mut out: Vec<TopologySpreadConstraint> = Vec::new();
    for item in v.seq(cx)? {
        let m = item.map(cx, &SPREAD)?;
        let skew_v = m.req(cx, "maxSkew")?;
        let max_skew = skew_v.int(cx)?;
        if max_skew <= 0 {
            return Err(skew_v.err(cx, format!("must be greater than zero, found {max_skew}")));
        }
        let max_skew =
            i32::try_from(max_skew).map_err(|_| skew_v.err(cx, "out of range for int32"))?;
        let topology_key = read_topology_key(cx, &m)?;
        let wu = m.req(cx, "whenUnsatisfiable")?;
        let when_unsatisfiable = match wu.one_of(cx, &["DoNotSchedule", "ScheduleAnyway"])? {
            "DoNotSchedule" => UnsatisfiableConstraintAction::DoNotSchedule,
            _ => UnsatisfiableConstraintAction::ScheduleAnyway,
        };
        let label_selector = match m.get("labelSelector") {
            Some(s) if defaults => {
                return Err(s.err(
                    cx,
                    "defaultConstraints may not have a labelSelector (it is taken from the pod's workload)",
                ));
            }
            Some(s) => Some(read_selector(cx, &s)?),
            None => None,
        };
        let min_domains = match m.get("minDomains") {
            Some(d) => {
                let n = d.int(cx)?;
                if n <= 0 {
                    return Err(d.err(cx, format!("must be greater than 0, found {n}")));
                }
                if when_unsatisfiable != UnsatisfiableConstraintAction::DoNotSchedule {
                    return Err(d.err(
                        cx,
                        "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway",
                    ));
                }
                Some(i32::try_from(n).map_err(|_| d.err(cx, "out of range for int32"))?)
            }
            None => None,
        };
        let match_label_keys = match m.get("matchLabelKeys") {
            Some(k) => {
                let keys = k.strings(cx)?;
                for (i, key) in keys.iter().enumerate() {
                    let in_selector = label_selector.as_ref().is_some_and(|s| {
                        s.match_labels.contains_key(key)
                            || s.match_expressions.iter().any(|e| e.key == *key)
                    });
                    let at = k.seq(cx)?[i].clone();
                    if let Err(msg) = check_label_key(key) {
                        return Err(at.err(cx, format!("invalid label key {key:?}: {msg}")));
                    }
                    if in_selector {
                        return Err(at.err(cx, "exists in both matchLabelKeys and labelSelector"));
                    }
                }
                keys
            }
            None => Vec::new(),
        };
        let policy = |cx: &mut Cx, key: &str, default: NodeInclusionPolicy| -> R<_> {
            Ok(match m.get(key) {
                Some(p) => match p.one_of(cx, &["Honor", "Ignore"])? {
                    "Honor" => NodeInclusionPolicy::Honor,
                    _ => NodeInclusionPolicy::Ignore,
                },
                None => default,
            })
        };
        let node_affinity_policy = policy(cx, "nodeAffinityPolicy", NodeInclusionPolicy::Honor)?;
        let node_taints_policy = policy(cx, "nodeTaintsPolicy", NodeInclusionPolicy::Ignore)?;
        if out
            .iter()
            .any(|c| c.topology_key == topology_key && c.when_unsatisfiable == when_unsatisfiable)
        {
            return Err(item.err(
                cx,
                format!(
                    "Duplicate value: {{{topology_key:?}, {:?}}}: a topologyKey and whenUnsatisfiable pair may appear once",
                    when_unsatisfiable
                ),
            ));
        }
        out.push(TopologySpreadConstraint {
            max_skew,
            topology_key,
            when_unsatisfiable,
            label_selector,
            min_domains,
            match_label_keys,
            node_affinity_policy,
            node_taints_policy,
        });
    }
    Ok(out)
}

/// `preemptionPolicy` of a pod or a PriorityClass.
pub(crate) fn read_preemption_policy(cx: &mut Cx, v: &Val) -> R<PreemptionPolicy> {
    Ok(match v.one_of(cx, &["PreemptLowerPriority", "Never"])? {
        "Never" => PreemptionPolicy::Never,
        _ => PreemptionPolicy::PreemptLowerPriority,
    })
}

// ---------------------------------------------------------------------------------------------
// PriorityClass

/// Highest value of a user-defined PriorityClass (upstream `HighestUserDefinablePriority`).
pub(crate) const HIGHEST_USER_DEFINABLE_PRIORITY: i64 = 1_000_000_000;

const PRIORITY_CLASS_DOC: Fields = Fields {
    read: &[
        "apiVersion",
        "kind",
        "metadata",
        "value",
        "globalDefault",
        "preemptionPolicy",
    ],
    warn: &[],
    silent: &["description"],
};

/// The document fields of a PriorityClass.
pub(crate) fn priority_class_doc_fields() -> &'static Fields {
    &PRIORITY_CLASS_DOC
}

/// A `scheduling.k8s.io/v1` PriorityClass (its metadata already read).
pub(crate) fn read_priority_class(cx: &mut Cx, doc: &Map, name: String) -> R<PriorityClassSpec> {
    let v = doc.req(cx, "value")?;
    let value = v.int(cx)?;
    if name.starts_with("system-") {
        return Err(cx.err(
            doc.key_pos("metadata").unwrap_or(doc.pos),
            "metadata.name",
            "priority class names with 'system-' prefix are reserved (system-cluster-critical and system-node-critical are built in)",
        ));
    }
    if value > i128::from(HIGHEST_USER_DEFINABLE_PRIORITY) {
        return Err(v.err(
            cx,
            format!(
                "maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}, found {value}"
            ),
        ));
    }
    let value =
        i32::try_from(value).map_err(|_| v.err(cx, format!("out of range for int32: {value}")))?;
    let global_default = match doc.get("globalDefault") {
        Some(g) => g.bool(cx)?,
        None => false,
    };
    let preemption_policy = match doc.get("preemptionPolicy") {
        Some(p) => read_preemption_policy(cx, &p)?,
        None => PreemptionPolicy::PreemptLowerPriority,
    };
    Ok(PriorityClassSpec {
        name,
        value,
        global_default,
        preemption_policy,
    })
}

/// The two built-in classes (upstream `SystemPriorityClasses`).
pub(crate) fn system_priority_classes() -> [PriorityClassSpec; 2] {
    [
        PriorityClassSpec {
            name: "system-node-critical".into(),
            value: 2_000_001_000,
            global_default: false,
            preemption_policy: PreemptionPolicy::PreemptLowerPriority,
        },
        PriorityClassSpec {
            name: "system-cluster-critical".into(),
            value: 2_000_000_000,
            global_default: false,
            preemption_policy: PreemptionPolicy::PreemptLowerPriority,
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// KubeSchedulerConfiguration

/// apiVersion of the scheduler configuration document.
pub(crate) const SCHEDULER_CONFIG_API: &str = "kubescheduler.config.k8s.io/v1";

const CONFIG_DOC: Fields = Fields {
    read: &[
        "apiVersion",
        "kind",
        "profiles",
        "percentageOfNodesToScore",
        "podInitialBackoffSeconds",
        "podMaxBackoffSeconds",
        "leaderElection",
    ],
    warn: &["extenders", "parallelism"],
    silent: &[
        "metadata",
        "clientConnection",
        "healthzBindAddress",
        "metricsBindAddress",
        "enableProfiling",
        "enableContentionProfiling",
        "delayCacheUntilActive",
    ],
};
const PROFILE: Fields = Fields::read(&[
    "schedulerName",
    "plugins",
    "pluginConfig",
    "percentageOfNodesToScore",
]);
/// Extension points of `plugins`. kubesim runs PreFilter/Filter, PostFilter, PreScore/Score;
/// the others are accepted (their upstream plugins have no simulated effect).
const PLUGINS: Fields = Fields {
    read: &[
        "multiPoint",
        "preFilter",
        "filter",
        "postFilter",
        "preScore",
        "score",
    ],
    warn: &[],
    silent: &[
        "preEnqueue",
        "queueSort",
        "reserve",
        "permit",
        "preBind",
        "bind",
        "postBind",
    ],
};
const PLUGIN_SET: Fields = Fields::read(&["enabled", "disabled"]);
const PLUGIN: Fields = Fields::read(&["name", "weight"]);
const PLUGIN_CONFIG: Fields = Fields::read(&["name", "args"]);
const FIT_ARGS: Fields = Fields {
    read: &["scoringStrategy"],
    warn: &["ignoredResources", "ignoredResourceGroups"],
    silent: &["apiVersion", "kind"],
};
const STRATEGY: Fields = Fields::read(&["type", "resources", "requestedToCapacityRatio"]);
const RESOURCE: Fields = Fields::read(&["name", "weight"]);
const RTCR: Fields = Fields::read(&["shape"]);
const SHAPE_POINT: Fields = Fields::read(&["utilization", "score"]);
const BALANCED_ARGS: Fields = Fields {
    read: &["resources"],
    warn: &[],
    silent: &["apiVersion", "kind"],
};
const SPREAD_ARGS: Fields = Fields {
    read: &["defaultConstraints", "defaultingType"],
    warn: &[],
    silent: &["apiVersion", "kind"],
};

/// Plugins of upstream's default profile that kubesim accepts in a profile but does not
/// simulate (no volumes, ports, DRA or gates in the model; sorting and binding are built in).
const NOT_SIMULATED_PLUGINS: &[&str] = &[
    "SchedulingGates",
    "PrioritySort",
    "NodePorts",
    "VolumeRestrictions",
    "NodeVolumeLimits",
    "VolumeBinding",
    "VolumeZone",
    "DynamicResources",
    "DefaultBinder",
];

/// The extension points of a built-in plugin that kubesim runs: (filter, score, postFilter).
fn builtin_points(name: &str) -> Option<(bool, bool, bool)> {
    if name == "DefaultPreemption" {
        return Some((false, false, true));
    }
    let f = DEFAULT_FILTERS.contains(&name);
    let s = DEFAULT_SCORES.iter().any(|(n, _)| *n == name)
        || name == "NodeResourcesBalancedAllocation"
        || name == "ImageLocality";
    if f || s || NOT_SIMULATED_PLUGINS.contains(&name) {
        Some((f, s, false))
    } else {
        None
    }
}

/// One `enabled` / `disabled` set as written.
#[derive(Default)]
struct PluginSet {
    enabled: Vec<PluginRef>,
    disabled: Vec<String>,
}

fn read_plugin_set(cx: &mut Cx, v: &Val, weights: bool) -> R<PluginSet> {
    let m = v.map(cx, &PLUGIN_SET)?;
    let mut out = PluginSet::default();
    if let Some(list) = m.get("enabled") {
        for item in list.seq(cx)? {
            let p = item.map(cx, &PLUGIN)?;
            let name = p.req(cx, "name")?.nonempty_string(cx)?;
            let weight = match p.get("weight") {
                Some(w) if weights => {
                    // Upstream `validatePluginConfig`/`ValidateKubeSchedulerConfiguration`:
                    // score weights are 1..=100 (0 means "the default").
                    let n = w.int_in(cx, 0, 100)?;
                    (n > 0).then_some(n)
                }
                Some(w) => {
                    w.int(cx)?;
                    None
                }
                None => None,
            };
            out.enabled.push(PluginRef { name, weight });
        }
    }
    if let Some(list) = m.get("disabled") {
        for item in list.seq(cx)? {
            let p = item.map(cx, &PLUGIN)?;
            out.disabled.push(p.req(cx, "name")?.nonempty_string(cx)?);
        }
    }
    Ok(out)
}

/// Upstream `mergePluginSet`: drop the defaults that are disabled (all of them for `*`), a
/// custom entry naming a default replaces it in place, the other custom entries follow.
fn merge_plugin_set(defaults: &[PluginRef], custom: &PluginSet) -> Vec<PluginRef> {
    let all = custom.disabled.iter().any(|d| d == "*");
    let mut used = vec![false; custom.enabled.len()];
    let mut out = Vec::new();
    if !all {
        for d in defaults {
            if custom.disabled.contains(&d.name) {
                continue;
            }
            match custom.enabled.iter().position(|c| c.name == d.name) {
                Some(i) => {
                    used[i] = true;
                    out.push(custom.enabled[i].clone());
                }
                None => out.push(d.clone()),
            }
        }
    }
    for (i, c) in custom.enabled.iter().enumerate() {
        if !used[i] {
            out.push(c.clone());
        }
    }
    out
}

/// Upstream's v1 default `multiPoint` set (`getDefaultPlugins`), the simulated plugins in order.
fn default_multi_point() -> Vec<PluginRef> {
    let p = |n: &str, w: Option<i64>| PluginRef {
        name: n.to_string(),
        weight: w,
    };
    vec![
        p("SchedulingGates", None),
        p("PrioritySort", None),
        p("NodeUnschedulable", None),
        p("NodeName", None),
        p("TaintToleration", Some(3)),
        p("NodeAffinity", Some(2)),
        p("NodePorts", None),
        p("NodeResourcesFit", Some(1)),
        p("VolumeRestrictions", None),
        p("NodeVolumeLimits", None),
        p("VolumeBinding", None),
        p("VolumeZone", None),
        p("PodTopologySpread", Some(2)),
        p("InterPodAffinity", Some(2)),
        p("DefaultPreemption", None),
        p("NodeResourcesBalancedAllocation", Some(1)),
        p("ImageLocality", Some(1)),
        p("DefaultBinder", None),
    ]
}

/// Where a profile's plugin names were written, for the cross-check against the registry.
#[derive(Clone, Debug)]
pub(crate) struct ProfileDoc {
    pub profile: SchedulerProfileSpec,
    /// Where `schedulerName` (or the profile) was written.
    pub loc: Loc,
}

/// The whole `KubeSchedulerConfiguration`: profiles in order, and the global settings.
pub(crate) struct SchedulerConfigDoc {
    pub profiles: Vec<ProfileDoc>,
    pub percentage_of_nodes_to_score: i32,
    pub pod_initial_backoff_seconds: i64,
    pub pod_max_backoff_seconds: i64,
    /// `leaderElection` (kube-scheduler's Lease), with where it was written.
    pub leader_election: Option<(
        crate::cluster::control_plane::ControlPlaneComponentSpec,
        Loc,
    )>,
}

/// The document fields of a KubeSchedulerConfiguration.
pub(crate) fn scheduler_config_doc_fields() -> &'static Fields {
    &CONFIG_DOC
}

fn read_percentage(cx: &mut Cx, v: &Val) -> R<i32> {
    // Upstream validation: 0..=100 (0 = adaptive).
    Ok(v.int_in(cx, 0, 100)? as i32)
}

/// Read a `kubescheduler.config.k8s.io/v1` KubeSchedulerConfiguration.
pub(crate) fn read_scheduler_config(cx: &mut Cx, doc: &Map) -> R<SchedulerConfigDoc> {
    let percentage_of_nodes_to_score = match doc.get("percentageOfNodesToScore") {
        Some(v) => read_percentage(cx, &v)?,
        None => 0,
    };
    let pod_initial_backoff_seconds = match doc.get("podInitialBackoffSeconds") {
        Some(v) => v.int_in(cx, 1, 3600)?,
        None => 1,
    };
    let pod_max_backoff_seconds = match doc.get("podMaxBackoffSeconds") {
        Some(v) => {
            let n = v.int_in(cx, 1, 3600)?;
            if n < pod_initial_backoff_seconds {
                return Err(v.err(
                    cx,
                    "must be greater than or equal to podInitialBackoffSeconds",
                ));
            }
            n
        }
        None => 10.max(pod_initial_backoff_seconds),
    };
    let leader_election = match doc.get("leaderElection") {
        Some(v) => {
            let mut spec = crate::cluster::control_plane::ControlPlaneComponentSpec::default();
            super::control_plane_docs::read_leader_election(cx, &v, &mut spec)?;
            Some((spec, v.loc(cx)))
        }
        None => None,
    };
    let mut profiles: Vec<ProfileDoc> = Vec::new();
    if let Some(list) = doc.get("profiles") {
        for item in list.seq(cx)? {
            let p = read_profile(cx, &item)?;
            if let Some(first) = profiles
                .iter()
                .find(|q| q.profile.scheduler_name == p.profile.scheduler_name)
            {
                return Err(p.loc.err(format!(
                    "duplicate schedulerName {:?} (first at {})",
                    p.profile.scheduler_name,
                    first.loc.at()
                )));
            }
            profiles.push(p);
        }
    }
    Ok(SchedulerConfigDoc {
        profiles,
        percentage_of_nodes_to_score,
        pod_initial_backoff_seconds,
        pod_max_backoff_seconds,
        leader_election,
    })
}

fn read_profile(cx: &mut Cx, v: &Val) -> R<ProfileDoc> {
    let m = v.map(cx, &PROFILE)?;
    let (scheduler_name, loc) = match m.get("schedulerName") {
        Some(n) => (n.nonempty_string(cx)?, n.loc(cx)),
        None => ("default-scheduler".to_string(), v.loc(cx)),
    };
    let mut profile = SchedulerProfileSpec::default_profile(&scheduler_name);
    if let Some(p) = m.get("percentageOfNodesToScore") {
        profile.percentage_of_nodes_to_score = Some(read_percentage(cx, &p)?);
    }
    // Plugins: merge each extension point with the defaults, then expand multiPoint.
    let mut sets: [(&str, PluginSet); 6] = [
        ("multiPoint", PluginSet::default()),
        ("preFilter", PluginSet::default()),
        ("filter", PluginSet::default()),
        ("postFilter", PluginSet::default()),
        ("preScore", PluginSet::default()),
        ("score", PluginSet::default()),
    ];
    if let Some(pv) = m.get("plugins") {
        let pm = pv.map(cx, &PLUGINS)?;
        for (key, set) in sets.iter_mut() {
            if let Some(s) = pm.get(key) {
                *set = read_plugin_set(cx, &s, *key == "multiPoint" || *key == "score")?;
            }
        }
    }
    let [mp, pre_filter, filter, post_filter, _pre_score, score] = &sets;
    let multi = merge_plugin_set(&default_multi_point(), &mp.1);
    let disabled_at =
        |set: &PluginSet, name: &str| set.disabled.iter().any(|d| d == "*" || d == name);
    // Filter (PreFilter runs for the same plugins): explicit entries first, then multiPoint
    // ones not disabled at this point (upstream `expandMultiPointPlugins`).
    let mut filters: Vec<String> = Vec::new();
    for p in filter.1.enabled.iter().chain(&pre_filter.1.enabled) {
        if !filters.contains(&p.name) {
            filters.push(p.name.clone());
        }
    }
    let mut scores: Vec<(String, i64)> = Vec::new();
    for p in &score.1.enabled {
        if !scores.iter().any(|(n, _)| *n == p.name) {
            let default_w = multi
                .iter()
                .find(|m| m.name == p.name)
                .and_then(|m| m.weight);
            scores.push((p.name.clone(), p.weight.or(default_w).unwrap_or(1)));
        }
    }
    let mut preemption = post_filter
        .1
        .enabled
        .iter()
        .any(|p| p.name == "DefaultPreemption");
    let mut custom_multi_point = Vec::new();
    for p in &multi {
        match builtin_points(&p.name) {
            Some((f, s, pf)) => {
                if f && !disabled_at(&filter.1, &p.name) && !filters.contains(&p.name) {
                    filters.push(p.name.clone());
                }
                if s && !disabled_at(&score.1, &p.name) && !scores.iter().any(|(n, _)| *n == p.name)
                {
                    scores.push((p.name.clone(), p.weight.unwrap_or(1)));
                }
                if pf && !disabled_at(&post_filter.1, &p.name) {
                    preemption = true;
                }
            }
            None => custom_multi_point.push(p.clone()),
        }
    }
    filters.retain(|n| !NOT_SIMULATED_PLUGINS.contains(&n.as_str()));
    scores.retain(|(n, _)| !NOT_SIMULATED_PLUGINS.contains(&n.as_str()));
    profile.filter = filters;
    profile.score = scores;
    profile.preemption = preemption;
    profile.custom_multi_point = custom_multi_point;
    if let Some(list) = m.get("pluginConfig") {
        let mut seen: Vec<String> = Vec::new();
        for item in list.seq(cx)? {
            let pc = item.map(cx, &PLUGIN_CONFIG)?;
            let name_v = pc.req(cx, "name")?;
            let name = name_v.nonempty_string(cx)?;
            if seen.contains(&name) {
                return Err(name_v.err(cx, format!("repeated config for plugin {name:?}")));
            }
            seen.push(name.clone());
            let Some(args) = pc.get("args") else {
                continue;
            };
            match name.as_str() {
                "NodeResourcesFit" => read_fit_args(cx, &args, &mut profile)?,
                "NodeResourcesBalancedAllocation" => {
                    let a = args.map(cx, &BALANCED_ARGS)?;
                    if let Some(r) = a.get("resources") {
                        profile.balanced_resources = read_resources(cx, &r)?;
                    }
                }
                "PodTopologySpread" => {
                    let a = args.map(cx, &SPREAD_ARGS)?;
                    let list = match a.get("defaultConstraints") {
                        Some(c) => Some(read_spread_constraints(cx, &c, true)?),
                        None => None,
                    };
                    let ty = match a.get("defaultingType") {
                        Some(t) => t.one_of(cx, &["System", "List"])?,
                        // Upstream v1 default: System.
                        None => "System",
                    };
                    if ty == "System" {
                        if let (Some(l), Some(c)) = (&list, a.get("defaultConstraints"))
                            && !l.is_empty()
                        {
                            return Err(c.err(
                                cx,
                                "when .defaultingType is \"System\", .defaultConstraints must be empty",
                            ));
                        }
                        profile.default_spread_constraints = None;
                    } else {
                        profile.default_spread_constraints = Some(list.unwrap_or_default());
                    }
                }
                _ => {
                    // Arguments of other plugins (custom ones included) are not simulated.
                    cx.warn(
                        args.pos(),
                        &args.path,
                        format!("arguments of plugin {name:?} are not simulated; ignored"),
                    );
                }
            }
        }
    }
    Ok(ProfileDoc { profile, loc })
}

fn read_fit_args(cx: &mut Cx, v: &Val, profile: &mut SchedulerProfileSpec) -> R<()> {
    let a = v.map(cx, &FIT_ARGS)?;
    let Some(sv) = a.get("scoringStrategy") else {
        return Ok(());
    };
    let s = sv.map(cx, &STRATEGY)?;
    let ty = match s.get("type") {
        Some(t) => t.one_of(
            cx,
            &[
                "LeastAllocated",
                "MostAllocated",
                "RequestedToCapacityRatio",
            ],
        )?,
        None => "LeastAllocated",
    };
    if let Some(r) = s.get("resources") {
        profile.fit_resources = read_resources(cx, &r)?;
    }
    let rtcr = s.get("requestedToCapacityRatio");
    profile.fit_strategy = match ty {
        "MostAllocated" => ScoringStrategy::MostAllocated,
        "RequestedToCapacityRatio" => {
            let Some(rv) = rtcr else {
                return Err(s.missing(cx, "requestedToCapacityRatio"));
            };
            let r = rv.map(cx, &RTCR)?;
            let shape_v = r.req(cx, "shape")?;
            let mut shape: Vec<(i64, i64)> = Vec::new();
            for pt in shape_v.seq(cx)? {
                let p = pt.map(cx, &SHAPE_POINT)?;
                let u_v = p.req(cx, "utilization")?;
                let u = u_v.int_in(cx, 0, 100)?;
                // Upstream `validateFunctionShape`: score 0..=MaxCustomPriorityScore (10).
                let sc = p.req(cx, "score")?.int_in(cx, 0, 10)?;
                if let Some((prev, _)) = shape.last()
                    && u <= *prev
                {
                    return Err(
                        u_v.err(cx, "utilization values must be sorted in increasing order")
                    );
                }
                shape.push((u, sc));
            }
            if shape.is_empty() {
                return Err(shape_v.err(cx, "at least one point must be specified"));
            }
            ScoringStrategy::RequestedToCapacityRatio { shape }
        }
        _ => ScoringStrategy::LeastAllocated,
    };
    Ok(())
}

fn read_resources(cx: &mut Cx, v: &Val) -> R<Vec<ResourceWeight>> {
    let mut out: Vec<ResourceWeight> = Vec::new();
    for item in v.seq(cx)? {
        let r = item.map(cx, &RESOURCE)?;
        let name_v = r.req(cx, "name")?;
        let name = name_v.nonempty_string(cx)?;
        // Upstream `validateResources`: weight 1..=100.
        let weight = match r.get("weight") {
            Some(w) => w.int_in(cx, 1, 100)?,
            None => 1,
        };
        if name != "cpu" && name != "memory" {
            cx.warn(
                name_v.pos(),
                &name_v.path,
                format!("resource {name:?} is not simulated; ignored"),
            );
            continue;
        }
        out.push(ResourceWeight { name, weight });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Cross-document resolution

/// Where a workload's pod template wrote its priority and scheduler fields, for messages of
/// the cross-document checks.
#[derive(Clone, Debug)]
pub(crate) struct PriorityRefs {
    /// `spec.template`.
    pub template: Loc,
    /// `spec.template.spec.priorityClassName`.
    pub class: Option<Loc>,
    /// `spec.template.spec.priority`.
    pub priority: Option<Loc>,
    /// `spec.template.spec.preemptionPolicy`.
    pub preemption_policy: Option<Loc>,
    /// `spec.template.spec.schedulerName`.
    pub scheduler_name: Option<Loc>,
}

/// Locate the priority fields of a workload document (`spec.template.spec.*`).
pub(crate) fn priority_refs(cx: &Cx, doc: &Yaml) -> PriorityRefs {
    let template = doc.get("spec").and_then(|s| s.get("template"));
    let pod = template.and_then(|t| t.get("spec"));
    let at = |key: &str| {
        pod.and_then(|p| p.get(key))
            .filter(|y| !matches!(y.node, Node::Null))
            .map(|y| cx.loc(y.pos, &format!("spec.template.spec.{key}")))
    };
    PriorityRefs {
        template: cx.loc(template.map_or(doc.pos, |t| t.pos), "spec.template"),
        class: at("priorityClassName"),
        priority: at("priority"),
        preemption_policy: at("preemptionPolicy"),
        scheduler_name: at("schedulerName"),
    }
}

fn policy_name(p: PreemptionPolicy) -> &'static str {
    match p {
        PreemptionPolicy::PreemptLowerPriority => "PreemptLowerPriority",
        PreemptionPolicy::Never => "Never",
    }
}

/// The Priority admission plugin (`plugin/pkg/admission/priority/admission.go`, `admitPod`):
/// the named class (user-defined or built-in) or else the global default class gives the
/// pod's priority and preemptionPolicy; without either, priority 0. A `priority` or
/// `preemptionPolicy` written in the template that differs from the computed one is refused.
pub(crate) fn resolve_priority(
    t: &mut PodTemplateSpec,
    refs: &PriorityRefs,
    classes: &[PriorityClassSpec],
) -> R<()> {
    let system = system_priority_classes();
    let class = match &t.priority_class_name {
        Some(name) => {
            let found = classes
                .iter()
                .chain(system.iter())
                .find(|c| c.name == *name);
            match found {
                Some(c) => Some(c.clone()),
                None => {
                    let loc = refs.class.clone().unwrap_or_else(|| refs.template.clone());
                    let known = classes.iter().chain(system.iter()).map(|c| c.name.as_str());
                    return Err(loc
                        .err(format!("no PriorityClass with name {name:?} was found"))
                        .with_suggestion(suggest(name, known)));
                }
            }
        }
        None => classes.iter().find(|c| c.global_default).cloned(),
    };
    let (priority, policy) = match &class {
        Some(c) => (c.value, c.preemption_policy),
        None => (0, PreemptionPolicy::PreemptLowerPriority),
    };
    if let Some(loc) = &refs.priority
        && t.priority != priority
    {
        return Err(loc.err(format!(
            "the integer value of priority ({}) must not be provided in pod spec; priority admission controller computed {priority} from the given PriorityClass name",
            t.priority
        )));
    }
    if let Some(loc) = &refs.preemption_policy
        && t.preemption_policy != policy
    {
        return Err(loc.err(format!(
            "the string value of PreemptionPolicy ({}) must not be provided in pod spec; priority admission controller computed {} from the given PriorityClass name",
            policy_name(t.preemption_policy),
            policy_name(policy)
        )));
    }
    t.priority = priority;
    t.preemption_policy = policy;
    if let Some(c) = class {
        t.priority_class_name = Some(c.name);
    }
    Ok(())
}

/// The scheduler configuration of the run: upstream's defaults, with the document's profiles
/// (when a document lists profiles, only those exist, as upstream).
pub(crate) fn apply_scheduler_config(doc: Option<SchedulerConfigDoc>) -> SchedulerConfigSpec {
    let mut out = SchedulerConfigSpec::default();
    let Some(doc) = doc else {
        return out;
    };
    out.percentage_of_nodes_to_score = doc.percentage_of_nodes_to_score;
    out.pod_initial_backoff_seconds = doc.pod_initial_backoff_seconds;
    out.pod_max_backoff_seconds = doc.pod_max_backoff_seconds;
    if !doc.profiles.is_empty() {
        out.profiles.clear();
        for p in doc.profiles {
            out.profiles
                .insert(p.profile.scheduler_name.clone(), p.profile);
        }
    }
    out
}
