//! Kubernetes manifests: `v1` Node, `apps/v1` Deployment and ReplicaSet, and the pod template
//! they share, with upstream field names, defaults and validation messages.
//!
//! Upstream references (Kubernetes v1.32):
//! - defaults: `pkg/apis/apps/v1/defaults.go` (`SetDefaults_Deployment`: replicas 1, strategy
//!   RollingUpdate 25% / 25%, revisionHistoryLimit 10, progressDeadlineSeconds 600;
//!   `SetDefaults_ReplicaSet`: replicas 1) and `pkg/apis/core/v1/defaults.go`
//!   (`SetDefaults_PodSpec`: terminationGracePeriodSeconds 30, schedulerName
//!   `default-scheduler`; `SetDefaults_Pod`: a container's requests default to its limits).
//! - validation: `pkg/apis/apps/validation/validation.go` (`ValidateDeploymentSpec`,
//!   `ValidateRollingUpdateDeployment`: "may not be 0 when `maxSurge` is 0", "`selector` does not
//!   match template `labels`") and `pkg/apis/core/validation/validation.go` (tolerations, taints,
//!   resource requirements).
//! - kubelet: a node without `pods` capacity gets 110 (`--max-pods` default).

use crate::cluster::spec::RestartPolicy;
use crate::cluster::spec::{
    ContainerSpec, DeploymentSpec, DeploymentStrategy, IntOrPercent, LabelSelector,
    LabelSelectorRequirement, Labels, NodeSpec, PodTemplateSpec, ReplicaSetSpec, Resources,
    SelectorOperator, Taint, TaintEffect, Toleration, TolerationOperator,
};
use crate::engine::SimDuration;

use super::quantity::{format_bytes, format_cpu_millis};
use super::reader::{Cx, Fields, Loc, Map, R, Val, check_dns_label, check_dns_subdomain, join};
use super::yaml::{Node, Pos};

/// Largest `spec.replicas` kubesim accepts (DESIGN §7: absurd values are refused).
pub(crate) const MAX_REPLICAS: i64 = 1_000_000;

/// Default pods capacity of a node (kubelet `--max-pods`).
pub(crate) const DEFAULT_MAX_PODS: i64 = 110;

/// `metadata` of a Kubernetes object: name, namespace and labels are read, annotations and the
/// server-populated fields (as in `kubectl get -o yaml` output) are accepted silently.
pub(crate) const OBJECT_META: Fields = Fields {
    read: &["name", "namespace", "labels"],
    warn: &[],
    silent: &[
        "annotations",
        "generateName",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "ownerReferences",
        "finalizers",
        "managedFields",
        "selfLink",
    ],
};

/// The metadata of a document.
pub(crate) struct Meta {
    pub name: String,
    /// Where `metadata.name` was written.
    pub name_loc: Loc,
    pub namespace: String,
    pub labels: Labels,
}

/// Read `metadata` (required) with `fields`, check the name (an RFC 1123 subdomain, as upstream
/// object names) and set the document label to `Kind/name` (the caller has already set a
/// provisional label from the raw tree).
pub(crate) fn read_meta(cx: &mut Cx, doc: &Map, fields: &Fields, kind: &str) -> R<Meta> {
    let mv = doc.req(cx, "metadata")?;
    let m = mv.map(cx, fields)?;
    let name_v = m.req(cx, "name")?;
    let name = name_v.string(cx)?;
    if let Err(msg) = check_dns_subdomain(&name) {
        return Err(name_v.err(cx, format!("invalid name {name:?}: {msg}")));
    }
    cx.label = format!("{kind}/{name}");
    let name_loc = name_v.loc(cx);
    let namespace = match m.get("namespace") {
        Some(v) => {
            let ns = v.string(cx)?;
            if let Err(msg) = check_dns_label(&ns) {
                return Err(v.err(cx, format!("invalid namespace {ns:?}: {msg}")));
            }
            ns
        }
        None => "default".to_string(),
    };
    let labels = match m.get("labels") {
        Some(v) => v.labels(cx)?,
        None => Labels::new(),
    };
    Ok(Meta {
        name,
        name_loc,
        namespace,
        labels,
    })
}

// ---------------------------------------------------------------------------------------------
// Node

const NODE_DOC: Fields = Fields {
    read: &["apiVersion", "kind", "metadata", "spec", "status"],
    warn: &[],
    silent: &[],
};
const NODE_SPEC: Fields = Fields {
    read: &["taints", "unschedulable"],
    warn: &["configSource"],
    silent: &["podCIDR", "podCIDRs", "providerID", "externalID"],
};
const NODE_STATUS: Fields = Fields {
    read: &["allocatable", "capacity"],
    warn: &[],
    silent: &[
        "addresses",
        "conditions",
        "config",
        "daemonEndpoints",
        "declaredFeatures",
        "features",
        "images",
        "nodeInfo",
        "phase",
        "runtimeHandlers",
        "volumesAttached",
        "volumesInUse",
    ],
};
const TAINT: Fields = Fields {
    read: &["key", "value", "effect"],
    warn: &[],
    silent: &["timeAdded"],
};

/// The document fields of a Node.
pub(crate) fn node_doc_fields() -> &'static Fields {
    &NODE_DOC
}

/// A `v1` Node manifest.
pub(crate) fn read_node(cx: &mut Cx, doc: &Map, meta: Meta) -> R<NodeSpec> {
    let mut taints = Vec::new();
    let mut unschedulable = false;
    if let Some(sv) = doc.get("spec") {
        let spec = sv.map(cx, &NODE_SPEC)?;
        if let Some(v) = spec.get("taints") {
            taints = read_taints(cx, &v)?;
        }
        if let Some(v) = spec.get("unschedulable") {
            unschedulable = v.bool(cx)?;
        }
    }
    // Allocatable wins over capacity, resource by resource.
    let mut cpu: Option<i64> = None;
    let mut memory: Option<i64> = None;
    let mut pods: Option<i64> = None;
    let status = match doc.get("status") {
        Some(v) => Some(v.map(cx, &NODE_STATUS)?),
        None => None,
    };
    if let Some(status) = &status {
        for key in ["capacity", "allocatable"] {
            let Some(list) = status.get(key) else {
                continue;
            };
            for (name, _, v) in list.pairs(cx)? {
                match name.as_str() {
                    "cpu" => cpu = Some(v.cpu_milli(cx)?),
                    "memory" => memory = Some(v.whole_quantity(cx)?),
                    "pods" => pods = Some(v.whole_quantity(cx)?),
                    // ephemeral-storage, hugepages-*, extended resources: not simulated.
                    _ => {}
                }
            }
        }
    }
    let missing = |what: &str| {
        let pos = status.as_ref().map(|s| s.pos).unwrap_or(doc.pos);
        cx.err(
            pos,
            &format!("status.allocatable.{what}"),
            format!(
                "a node needs {what}: set status.allocatable.{what} or status.capacity.{what} to more than 0"
            ),
        )
    };
    let cpu_milli = cpu.filter(|c| *c > 0).ok_or_else(|| missing("cpu"))?;
    let memory_bytes = memory.filter(|m| *m > 0).ok_or_else(|| missing("memory"))?;
    let pods = match pods {
        Some(0) => return Err(missing("pods")),
        Some(p) => p,
        None => DEFAULT_MAX_PODS,
    };
    let mut labels = meta.labels;
    labels
        .entry("kubernetes.io/hostname".to_string())
        .or_insert_with(|| meta.name.clone());
    Ok(NodeSpec {
        name: meta.name,
        labels,
        taints,
        allocatable: Resources {
            cpu_milli,
            memory_bytes,
            pods,
        },
        unschedulable,
        pool: None,
        price_per_hour: 0.0,
    })
}

const TAINT_EFFECTS: &[&str] = &["NoSchedule", "PreferNoSchedule", "NoExecute"];

fn taint_effect(name: &str) -> TaintEffect {
    match name {
        "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
        "NoExecute" => TaintEffect::NoExecute,
        _ => TaintEffect::NoSchedule,
    }
}

/// A list of taints (`spec.taints` of a Node, `spec.taints` of a NodePool).
pub(crate) fn read_taints(cx: &mut Cx, v: &Val) -> R<Vec<Taint>> {
    let mut out: Vec<Taint> = Vec::new();
    for item in v.seq(cx)? {
        let t = item.map(cx, &TAINT)?;
        let key_v = t.req(cx, "key")?;
        let key = key_v.string(cx)?;
        if let Err(msg) = super::reader::check_label_key(&key) {
            return Err(key_v.err(cx, format!("invalid taint key {key:?}: {msg}")));
        }
        let value = match t.get("value") {
            Some(v) => {
                let s = v.string(cx)?;
                if let Err(msg) = super::reader::check_label_value(&s) {
                    return Err(v.err(cx, format!("invalid taint value {s:?}: {msg}")));
                }
                s
            }
            None => String::new(),
        };
        let effect = taint_effect(t.req(cx, "effect")?.one_of(cx, TAINT_EFFECTS)?);
        if out.iter().any(|o| o.key == key && o.effect == effect) {
            return Err(item.err(
                cx,
                format!("taints must be unique by key and effect pair: {key} with effect {effect:?} is repeated"),
            ));
        }
        out.push(Taint { key, value, effect });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Workloads

const WORKLOAD_DOC: Fields = Fields {
    read: &["apiVersion", "kind", "metadata", "spec"],
    warn: &["status"],
    silent: &[],
};
const DEPLOYMENT_SPEC: Fields = Fields::read(&[
    "replicas",
    "selector",
    "template",
    "strategy",
    "minReadySeconds",
    "revisionHistoryLimit",
    "progressDeadlineSeconds",
    "paused",
]);
const REPLICASET_SPEC: Fields =
    Fields::read(&["replicas", "selector", "template", "minReadySeconds"]);
const SELECTOR: Fields = Fields::read(&["matchLabels", "matchExpressions"]);
const REQUIREMENT: Fields = Fields::read(&["key", "operator", "values"]);
const STRATEGY: Fields = Fields::read(&["type", "rollingUpdate"]);
const ROLLING_UPDATE: Fields = Fields::read(&["maxSurge", "maxUnavailable"]);

/// The document fields of a Deployment or ReplicaSet.
pub(crate) fn workload_doc_fields() -> &'static Fields {
    &WORKLOAD_DOC
}

/// An `apps/v1` Deployment.
pub(crate) fn read_deployment(cx: &mut Cx, doc: &Map, meta: Meta) -> R<DeploymentSpec> {
    let spec = doc.req(cx, "spec")?.map(cx, &DEPLOYMENT_SPEC)?;
    let common = read_workload_spec(cx, &spec)?;
    let strategy = match spec.get("strategy") {
        Some(v) => read_strategy(cx, &v)?,
        None => DeploymentStrategy::RollingUpdate {
            max_surge: IntOrPercent::Percent(25),
            max_unavailable: IntOrPercent::Percent(25),
        },
    };
    let revision_history_limit = match spec.get("revisionHistoryLimit") {
        Some(v) => v.i32_min(cx, 0)?,
        None => 10,
    };
    let progress_deadline_seconds = match spec.get("progressDeadlineSeconds") {
        Some(v) => {
            let p = v.i32_min(cx, 1)?;
            if p <= common.min_ready_seconds {
                return Err(v.err(cx, "must be greater than minReadySeconds"));
            }
            p
        }
        None => 600,
    };
    let paused = match spec.get("paused") {
        Some(v) => v.bool(cx)?,
        None => false,
    };
    Ok(DeploymentSpec {
        name: meta.name,
        namespace: meta.namespace,
        replicas: common.replicas,
        selector: common.selector,
        template: common.template,
        strategy,
        min_ready_seconds: common.min_ready_seconds,
        revision_history_limit,
        progress_deadline_seconds,
        paused,
    })
}

/// An `apps/v1` ReplicaSet.
pub(crate) fn read_replica_set(cx: &mut Cx, doc: &Map, meta: Meta) -> R<ReplicaSetSpec> {
    let spec = doc.req(cx, "spec")?.map(cx, &REPLICASET_SPEC)?;
    let common = read_workload_spec(cx, &spec)?;
    Ok(ReplicaSetSpec {
        name: meta.name,
        namespace: meta.namespace,
        replicas: common.replicas,
        selector: common.selector,
        template: common.template,
        min_ready_seconds: common.min_ready_seconds,
    })
}

pub(crate) struct WorkloadCommon {
    pub replicas: i32,
    pub selector: LabelSelector,
    pub template: PodTemplateSpec,
    pub min_ready_seconds: i32,
}

pub(crate) fn read_workload_spec(cx: &mut Cx, spec: &Map) -> R<WorkloadCommon> {
    let replicas = match spec.get("replicas") {
        Some(v) => {
            let r = v.int_in(cx, 0, MAX_REPLICAS)?;
            i32::try_from(r).map_err(|_| v.err(cx, "out of range"))?
        }
        None => 1,
    };
    let selector_v = spec.req(cx, "selector")?;
    let selector = read_selector(cx, &selector_v)?;
    if selector.match_labels.is_empty() && selector.match_expressions.is_empty() {
        return Err(selector_v.err(cx, "empty selector is invalid for deployment"));
    }
    let template_v = spec.req(cx, "template")?;
    let (template, labels_at) = read_template(cx, &template_v)?;
    if !selector.matches(&template.labels) {
        return Err(cx.err(
            labels_at,
            &join(&template_v.path, "metadata.labels"),
            "`selector` does not match template `labels`",
        ));
    }
    let min_ready_seconds = match spec.get("minReadySeconds") {
        Some(v) => v.i32_min(cx, 0)?,
        None => 0,
    };
    Ok(WorkloadCommon {
        replicas,
        selector,
        template,
        min_ready_seconds,
    })
}

const SELECTOR_OPS: &[&str] = &["In", "NotIn", "Exists", "DoesNotExist"];

/// A `metav1.LabelSelector`.
pub(crate) fn read_selector(cx: &mut Cx, v: &Val) -> R<LabelSelector> {
    let m = v.map(cx, &SELECTOR)?;
    let match_labels = match m.get("matchLabels") {
        Some(v) => v.labels(cx)?,
        None => Labels::new(),
    };
    let mut match_expressions = Vec::new();
    if let Some(list) = m.get("matchExpressions") {
        for item in list.seq(cx)? {
            let r = item.map(cx, &REQUIREMENT)?;
            let key_v = r.req(cx, "key")?;
            let key = key_v.string(cx)?;
            if let Err(msg) = super::reader::check_label_key(&key) {
                return Err(key_v.err(cx, format!("invalid label key {key:?}: {msg}")));
            }
            let op_v = r.req(cx, "operator")?;
            let operator = match op_v.one_of(cx, SELECTOR_OPS)? {
                "In" => SelectorOperator::In,
                "NotIn" => SelectorOperator::NotIn,
                "Exists" => SelectorOperator::Exists,
                _ => SelectorOperator::DoesNotExist,
            };
            let values = match r.get("values") {
                Some(v) => v.strings(cx)?,
                None => Vec::new(),
            };
            let needs_values = matches!(operator, SelectorOperator::In | SelectorOperator::NotIn);
            if needs_values && values.is_empty() {
                let at = r.get("values").map(|v| v.pos()).unwrap_or(r.pos);
                return Err(cx.err(
                    at,
                    &join(&r.path, "values"),
                    "must be specified when `operator` is 'In' or 'NotIn'",
                ));
            }
            if !needs_values && !values.is_empty() {
                let at = r.get("values").map(|v| v.pos()).unwrap_or(r.pos);
                return Err(cx.err(
                    at,
                    &join(&r.path, "values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                ));
            }
            match_expressions.push(LabelSelectorRequirement {
                key,
                operator,
                values,
            });
        }
    }
    Ok(LabelSelector {
        match_labels,
        match_expressions,
    })
}

fn read_strategy(cx: &mut Cx, v: &Val) -> R<DeploymentStrategy> {
    let m = v.map(cx, &STRATEGY)?;
    let kind = match m.get("type") {
        Some(t) => t.one_of(cx, &["RollingUpdate", "Recreate"])?,
        None => "RollingUpdate",
    };
    let rolling = m.get("rollingUpdate");
    if kind == "Recreate" {
        if let Some(r) = rolling {
            return Err(r.err(
                cx,
                "may not be specified when strategy `type` is 'Recreate'",
            ));
        }
        return Ok(DeploymentStrategy::Recreate);
    }
    let mut max_surge = IntOrPercent::Percent(25);
    let mut max_unavailable = IntOrPercent::Percent(25);
    let mut unavailable_at: Option<Val> = None;
    if let Some(r) = rolling {
        let ru = r.map(cx, &ROLLING_UPDATE)?;
        if let Some(s) = ru.get("maxSurge") {
            max_surge = int_or_percent(cx, &s)?;
        }
        if let Some(u) = ru.get("maxUnavailable") {
            max_unavailable = int_or_percent(cx, &u)?;
            if let IntOrPercent::Percent(p) = max_unavailable
                && p > 100
            {
                return Err(u.err(cx, "must not be greater than 100%"));
            }
            unavailable_at = Some(u);
        }
        let zero = |x: IntOrPercent| matches!(x, IntOrPercent::Int(0) | IntOrPercent::Percent(0));
        if zero(max_surge) && zero(max_unavailable) {
            let at = unavailable_at.unwrap_or(r);
            return Err(at.err(cx, "may not be 0 when `maxSurge` is 0"));
        }
    }
    Ok(DeploymentStrategy::RollingUpdate {
        max_surge,
        max_unavailable,
    })
}

/// An `intstr.IntOrString` that is a count or a percentage (`5` or `"25%"`), not negative.
pub(crate) fn int_or_percent(cx: &Cx, v: &Val) -> R<IntOrPercent> {
    const WHAT: &str = "an integer or a percentage such as 25%";
    let (n, pct) = match v.node() {
        Node::Int(i) => (*i, false),
        Node::String(s) => match s.strip_suffix('%').map(str::parse::<i128>) {
            Some(Ok(p)) => (p, true),
            _ => return Err(v.expected(cx, WHAT)),
        },
        _ => return Err(v.expected(cx, WHAT)),
    };
    if n < 0 {
        return Err(v.err(cx, "value should not be negative"));
    }
    let n = i32::try_from(n).map_err(|_| v.err(cx, format!("must be at most {}", i32::MAX)))?;
    Ok(if pct {
        IntOrPercent::Percent(n)
    } else {
        IntOrPercent::Int(n)
    })
}

// ---------------------------------------------------------------------------------------------
// Pod template

const TEMPLATE: Fields = Fields::read(&["metadata", "spec"]);
const TEMPLATE_META: Fields = Fields {
    read: &["labels", "annotations"],
    warn: &[],
    silent: &[
        "name",
        "namespace",
        "generateName",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "ownerReferences",
        "finalizers",
        "managedFields",
        "selfLink",
    ],
};
const POD_SPEC: Fields = Fields {
    read: &[
        "containers",
        "initContainers",
        "nodeSelector",
        "nodeName",
        "tolerations",
        "priority",
        "terminationGracePeriodSeconds",
        "schedulerName",
        "restartPolicy",
        "affinity",
        "topologySpreadConstraints",
        "priorityClassName",
        "preemptionPolicy",
    ],
    warn: &[
        "volumes",
        "securityContext",
        "serviceAccountName",
        "serviceAccount",
        "activeDeadlineSeconds",
        "automountServiceAccountToken",
        "ephemeralContainers",
        "hostIPC",
        "hostNetwork",
        "hostPID",
        "hostUsers",
        "os",
        "overhead",
        "readinessGates",
        "resourceClaims",
        "resources",
        "runtimeClassName",
        "schedulingGates",
        "shareProcessNamespace",
    ],
    silent: &[
        "dnsConfig",
        "dnsPolicy",
        "enableServiceLinks",
        "hostAliases",
        "hostname",
        "imagePullSecrets",
        "setHostnameAsFQDN",
        "subdomain",
    ],
};
const CONTAINER: Fields = Fields {
    read: &[
        "name",
        "image",
        "resources",
        "livenessProbe",
        "readinessProbe",
        "startupProbe",
    ],
    warn: &[
        "command",
        "args",
        "env",
        "envFrom",
        "ports",
        "volumeMounts",
        "volumeDevices",
        "securityContext",
        "imagePullPolicy",
        "lifecycle",
        "resizePolicy",
        "restartPolicy",
    ],
    silent: &[
        "terminationMessagePath",
        "terminationMessagePolicy",
        "stdin",
        "stdinOnce",
        "tty",
        "workingDir",
    ],
};
const RESOURCES: Fields = Fields {
    read: &["requests", "limits"],
    warn: &["claims"],
    silent: &[],
};
const TOLERATION: Fields =
    Fields::read(&["key", "operator", "value", "effect", "tolerationSeconds"]);

/// A pod template; also returns where its labels were written (for the selector check).
/// Its `restartPolicy` must be `Always`, as for every workload but Job.
pub(crate) fn read_template(cx: &mut Cx, v: &Val) -> R<(PodTemplateSpec, Pos)> {
    read_template_with(cx, v, &["Always"])
}

/// A pod template whose `restartPolicy` may be one of `restart_policies`.
pub(crate) fn read_template_with(
    cx: &mut Cx,
    v: &Val,
    restart_policies: &[&'static str],
) -> R<(PodTemplateSpec, Pos)> {
    let t = v.map(cx, &TEMPLATE)?;
    let mut labels = Labels::new();
    let mut annotations = Labels::new();
    let mut labels_at = t.key_pos("metadata").unwrap_or(t.pos);
    if let Some(mv) = t.get("metadata") {
        let m = mv.map(cx, &TEMPLATE_META)?;
        if let Some(lv) = m.get("labels") {
            labels_at = lv.pos();
            labels = lv.labels(cx)?;
        }
        if let Some(av) = m.get("annotations") {
            annotations = read_annotations(cx, &av)?;
        }
    }
    let spec = t.req(cx, "spec")?.map(cx, &POD_SPEC)?;
    let containers_v = spec.req(cx, "containers")?;
    let mut containers = Vec::new();
    for c in containers_v.seq(cx)? {
        containers.push(read_container(cx, &c)?);
    }
    if containers.is_empty() {
        return Err(containers_v.err(cx, "at least one container is required"));
    }
    let mut init_containers = Vec::new();
    if let Some(list) = spec.get("initContainers") {
        for c in list.seq(cx)? {
            init_containers.push(read_container(cx, &c)?);
        }
    }
    // Container names are unique across containers and init containers (upstream
    // `validateContainers` / `validateInitContainers`).
    let mut seen: Vec<&str> = Vec::new();
    for (i, c) in init_containers.iter().chain(containers.iter()).enumerate() {
        if seen.contains(&c.name.as_str()) {
            let (list, idx) = if i < init_containers.len() {
                ("initContainers", i)
            } else {
                ("containers", i - init_containers.len())
            };
            let path = format!("{}[{idx}].name", join(&spec.path, list));
            let pos = spec
                .get(list)
                .and_then(|l| match &l.y.node {
                    Node::Seq(items) => items.get(idx).and_then(|y| y.get("name")).map(|y| y.pos),
                    _ => None,
                })
                .unwrap_or(spec.pos);
            return Err(cx.err(pos, &path, format!("duplicate container name {:?}", c.name)));
        }
        seen.push(&c.name);
    }
    let restart_policy = match spec.get("restartPolicy") {
        // Workload pod templates must restart always (upstream `ValidatePodTemplateSpecForRC`),
        // Job templates OnFailure or Never (`validateJobSpec`): the caller says which.
        Some(rp) => match rp.one_of(cx, restart_policies)? {
            "OnFailure" => RestartPolicy::OnFailure,
            "Never" => RestartPolicy::Never,
            _ => RestartPolicy::Always,
        },
        None => match restart_policies.first() {
            Some(&"OnFailure") => RestartPolicy::OnFailure,
            Some(&"Never") => RestartPolicy::Never,
            _ => RestartPolicy::Always,
        },
    };
    let node_selector = match spec.get("nodeSelector") {
        Some(v) => v.labels(cx)?,
        None => Labels::new(),
    };
    let node_name = match spec.get("nodeName") {
        Some(v) => Some(v.nonempty_string(cx)?),
        None => None,
    };
    let mut tolerations = Vec::new();
    if let Some(list) = spec.get("tolerations") {
        for item in list.seq(cx)? {
            tolerations.push(read_toleration(cx, &item)?);
        }
    }
    let priority = match spec.get("priority") {
        Some(v) => {
            let p = v.int_in(cx, i64::from(i32::MIN), i64::from(i32::MAX))?;
            i32::try_from(p).map_err(|_| v.err(cx, "out of range"))?
        }
        None => 0,
    };
    let affinity = match spec.get("affinity") {
        Some(v) => super::scheduling::read_affinity(cx, &v)?,
        None => Default::default(),
    };
    let topology_spread_constraints = match spec.get("topologySpreadConstraints") {
        Some(v) => super::scheduling::read_spread_constraints(cx, &v, false)?,
        None => Vec::new(),
    };
    let priority_class_name = match spec.get("priorityClassName") {
        Some(v) => {
            let n = v.string(cx)?;
            if !n.is_empty()
                && let Err(msg) = check_dns_subdomain(&n)
            {
                return Err(v.err(cx, format!("invalid priorityClassName {n:?}: {msg}")));
            }
            (!n.is_empty()).then_some(n)
        }
        None => None,
    };
    let preemption_policy = match spec.get("preemptionPolicy") {
        Some(v) => Some(super::scheduling::read_preemption_policy(cx, &v)?),
        None => None,
    };
    let termination_grace_period = match spec.get("terminationGracePeriodSeconds") {
        Some(v) => {
            let s = v.int_in(cx, 0, i64::MAX)?;
            SimDuration::from_secs(s.unsigned_abs())
        }
        None => SimDuration::from_secs(30),
    };
    let scheduler_name = match spec.get("schedulerName") {
        Some(v) => v.nonempty_string(cx)?,
        None => "default-scheduler".to_string(),
    };
    Ok((
        PodTemplateSpec {
            labels,
            containers,
            init_containers,
            node_selector,
            node_name,
            tolerations,
            priority,
            termination_grace_period,
            scheduler_name,
            restart_policy,
            affinity,
            topology_spread_constraints,
            priority_class_name,
            preemption_policy: preemption_policy.unwrap_or_default(),
            annotations,
        },
        labels_at,
    ))
}

/// `metadata.annotations`: a mapping of string keys to string values (numbers and booleans
/// must be quoted, as the API server requires strings).
pub(crate) fn read_annotations(cx: &mut Cx, v: &Val) -> R<Labels> {
    let mut out = Labels::new();
    for (key, _, value) in v.pairs(cx)? {
        out.insert(key, value.string(cx)?);
    }
    Ok(out)
}

fn read_container(cx: &mut Cx, v: &Val) -> R<ContainerSpec> {
    let c = v.map(cx, &CONTAINER)?;
    let name_v = c.req(cx, "name")?;
    let name = name_v.string(cx)?;
    if let Err(msg) = check_dns_label(&name) {
        return Err(name_v.err(cx, format!("invalid container name {name:?}: {msg}")));
    }
    let image = c.req(cx, "image")?.nonempty_string(cx)?;
    let mut requests = Resources::default();
    let mut limits = Resources::default();
    if let Some(rv) = c.get("resources") {
        let r = rv.map(cx, &RESOURCES)?;
        let req = match r.get("requests") {
            Some(v) => read_resource_list(cx, &v)?,
            None => ResourceList::default(),
        };
        let lim = match r.get("limits") {
            Some(v) => read_resource_list(cx, &v)?,
            None => ResourceList::default(),
        };
        // Upstream `SetDefaults_Pod`: a resource with a limit and no request gets request = limit.
        requests.cpu_milli = req.cpu.or(lim.cpu).unwrap_or(0);
        requests.memory_bytes = req.memory.or(lim.memory).unwrap_or(0);
        limits.cpu_milli = lim.cpu.unwrap_or(0);
        limits.memory_bytes = lim.memory.unwrap_or(0);
        if let (Some(rq), Some(l)) = (req.cpu, lim.cpu)
            && rq > l
        {
            let at = r.get("requests").and_then(|x| field_of(&x, "cpu"));
            return Err(at.unwrap_or_else(|| rv.clone()).err(
                cx,
                format!(
                    "must be less than or equal to cpu limit of {}",
                    format_cpu_millis(l)
                ),
            ));
        }
        if let (Some(rq), Some(l)) = (req.memory, lim.memory)
            && rq > l
        {
            let at = r.get("requests").and_then(|x| field_of(&x, "memory"));
            return Err(at.unwrap_or_else(|| rv.clone()).err(
                cx,
                format!(
                    "must be less than or equal to memory limit of {}",
                    format_bytes(l)
                ),
            ));
        }
    }
    let probes = super::probes::read_probes(cx, &c)?;
    Ok(ContainerSpec {
        name,
        image,
        requests,
        limits,
        probes,
    })
}

fn field_of<'y>(v: &Val<'y>, key: &str) -> Option<Val<'y>> {
    match &v.y.node {
        Node::Map(entries) => {
            entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, y)| Val {
                    y,
                    path: join(&v.path, key),
                })
        }
        _ => None,
    }
}

#[derive(Default)]
struct ResourceList {
    cpu: Option<i64>,
    memory: Option<i64>,
}

/// A `ResourceList` (`requests` / `limits`): cpu and memory are read; other resources
/// (`ephemeral-storage`, `hugepages-*`, extended resources such as `nvidia.com/gpu`) are a warning.
fn read_resource_list(cx: &mut Cx, v: &Val) -> R<ResourceList> {
    let mut out = ResourceList::default();
    for (name, key_pos, q) in v.pairs(cx)? {
        match name.as_str() {
            "cpu" => out.cpu = Some(q.cpu_milli(cx)?),
            "memory" => out.memory = Some(q.whole_quantity(cx)?),
            _ => {
                q.quantity(cx)?;
                cx.warn(
                    key_pos,
                    &q.path,
                    format!("resource {name:?} is not simulated; ignored"),
                );
            }
        }
    }
    Ok(out)
}

const TOLERATION_OPS: &[&str] = &["Equal", "Exists"];

fn read_toleration(cx: &mut Cx, v: &Val) -> R<Toleration> {
    let t = v.map(cx, &TOLERATION)?;
    let key = match t.get("key") {
        Some(k) => {
            let s = k.string(cx)?;
            if !s.is_empty()
                && let Err(msg) = super::reader::check_label_key(&s)
            {
                return Err(k.err(cx, format!("invalid toleration key {s:?}: {msg}")));
            }
            s
        }
        None => String::new(),
    };
    let operator = match t.get("operator") {
        Some(o) => match o.one_of(cx, TOLERATION_OPS)? {
            "Exists" => TolerationOperator::Exists,
            _ => TolerationOperator::Equal,
        },
        None => TolerationOperator::Equal,
    };
    let value = match t.get("value") {
        Some(x) => x.string(cx)?,
        None => String::new(),
    };
    if key.is_empty() && operator == TolerationOperator::Equal {
        let at = t.get("operator").map(|o| o.pos()).unwrap_or(t.pos);
        return Err(cx.err(
            at,
            &join(&t.path, "operator"),
            "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
        ));
    }
    if operator == TolerationOperator::Exists && !value.is_empty() {
        let at = t.get("value").map(|o| o.pos()).unwrap_or(t.pos);
        return Err(cx.err(
            at,
            &join(&t.path, "value"),
            "value must be empty when `operator` is 'Exists'",
        ));
    }
    let effect = match t.get("effect") {
        Some(e) => {
            let s = e.string(cx)?;
            if s.is_empty() {
                None
            } else {
                Some(taint_effect(e.one_of(cx, TAINT_EFFECTS)?))
            }
        }
        None => None,
    };
    let toleration_seconds = match t.get("tolerationSeconds") {
        Some(s) => {
            if effect != Some(TaintEffect::NoExecute) {
                return Err(s.err(
                    cx,
                    "effect must be 'NoExecute' when `tolerationSeconds` is set",
                ));
            }
            Some(s.int_in(cx, i64::MIN, i64::MAX)?)
        }
        None => None,
    };
    Ok(Toleration {
        key,
        operator,
        value,
        effect,
        toleration_seconds,
    })
}
