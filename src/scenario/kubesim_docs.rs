//! kubesim documents (`apiVersion: kubesim.dev/v1alpha1`): `Scenario`, `NodePool`, `Behavior`,
//! `Timeline`. Each is read into a typed value plus the places of its cross-document references,
//! which [`super::load`] resolves once every document is read.

use crate::cluster::spec::{
    BehaviorSpec, ControlPlaneSpec, Distribution, ExpectBound, Expectation, Labels, NodePoolSpec,
    Resources,
};
use crate::engine::SimDuration;

use super::manifests::{DEFAULT_MAX_PODS, Meta, read_taints};
use super::reader::{Cx, Fields, Loc, Map, R, Val, check_label_value, join, unknown_key};

/// Longest scenario kubesim runs: 365 days.
pub(crate) const MAX_DURATION: SimDuration = SimDuration::from_secs(365 * 24 * 3600);

/// Most metric samples a run may take (`duration / sampleEvery`).
pub(crate) const MAX_SAMPLES: u64 = 10_000_000;

/// Most nodes in a scenario: at the start plus every `addNodes` (DESIGN §7).
pub(crate) const MAX_NODES: u64 = 100_000;

/// The top-level fields of every kubesim document.
pub(crate) const KUBESIM_DOC: Fields = Fields::read(&["apiVersion", "kind", "metadata", "spec"]);

/// `metadata` of a kubesim document.
pub(crate) const KUBESIM_META: Fields = Fields {
    read: &["name"],
    warn: &[],
    silent: &["labels", "annotations"],
};

/// A name that refers to another object, with where it was written.
#[derive(Clone, Debug)]
pub(crate) struct Ref {
    pub name: String,
    pub loc: Loc,
}

pub(crate) fn read_ref(cx: &Cx, v: &Val) -> R<Ref> {
    Ok(Ref {
        name: v.nonempty_string(cx)?,
        loc: v.loc(cx),
    })
}

// ---------------------------------------------------------------------------------------------
// Scenario

const SCENARIO_SPEC: Fields = Fields::read(&[
    "seed",
    "duration",
    "sampleEvery",
    "controlPlane",
    "expect",
    "clusterAutoscaler",
    "horizontalPodAutoscaler",
]);
const CONTROL_PLANE: Fields = Fields::read(&[
    "apiWriteLatency",
    "watchDelay",
    "schedulingLatency",
    "unschedulableRetry",
    "nodeStatusUpdateFrequency",
    "nodeMonitorPeriod",
    "nodeMonitorGracePeriod",
    "nodeEvictionRate",
    "secondaryNodeEvictionRate",
    "largeClusterSizeThreshold",
    "unhealthyZoneThreshold",
    "defaultNotReadyTolerationSeconds",
    "defaultUnreachableTolerationSeconds",
    "kubeScheduler",
    "kubeControllerManager",
]);
const EXPECT: Fields = Fields::read(&["metric", "below", "above", "equals"]);

/// A `Scenario` document.
pub(crate) struct ScenarioDoc {
    pub name: String,
    pub seed: u64,
    pub duration: SimDuration,
    pub sample_every: SimDuration,
    pub control_plane: ControlPlaneSpec,
    pub expectations: Vec<Expectation>,
    pub cluster_autoscaler: crate::cluster::autoscaling_spec::ClusterAutoscalerSpec,
    pub hpa_controller: crate::cluster::autoscaling_spec::HpaControllerSpec,
    /// Where `spec.controlPlane.kubeScheduler.leaderElection` was written, if it was (a
    /// KubeSchedulerConfiguration may not set it too).
    pub kube_scheduler_election_at: Option<super::reader::Loc>,
}

pub(crate) fn read_scenario(cx: &mut Cx, doc: &Map, meta: Meta) -> R<ScenarioDoc> {
    let spec = doc.req(cx, "spec")?.map(cx, &SCENARIO_SPEC)?;
    let seed = match spec.get("seed") {
        Some(v) => {
            let s = v.int(cx)?;
            u64::try_from(s).map_err(|_| {
                v.err(
                    cx,
                    format!("must be an integer from 0 to {}, found {s}", u64::MAX),
                )
            })?
        }
        None => 1,
    };
    let dv = spec.req(cx, "duration")?;
    let duration = dv.positive_duration(cx)?;
    if duration > MAX_DURATION {
        return Err(dv.err(cx, "must be at most 365d"));
    }
    let sample_every = match spec.get("sampleEvery") {
        Some(v) => {
            let s = v.positive_duration(cx)?;
            if duration.0 / s.0 > MAX_SAMPLES {
                return Err(v.err(
                    cx,
                    format!("too small: the run would take more than {MAX_SAMPLES} samples"),
                ));
            }
            s
        }
        None => SimDuration::from_secs(10),
    };
    let mut control_plane = ControlPlaneSpec::default();
    let mut kube_scheduler_election_at = None;
    if let Some(v) = spec.get("controlPlane") {
        let cp = v.map(cx, &CONTROL_PLANE)?;
        if let Some(v) = cp.get("apiWriteLatency") {
            control_plane.api_write_latency = v.duration(cx)?;
        }
        if let Some(v) = cp.get("watchDelay") {
            control_plane.watch_delay = v.duration(cx)?;
        }
        if let Some(v) = cp.get("schedulingLatency") {
            control_plane.scheduling_latency = v.duration(cx)?;
        }
        if let Some(v) = cp.get("unschedulableRetry") {
            control_plane.unschedulable_retry = v.positive_duration(cx)?;
        }
        if let Some(v) = cp.get("nodeStatusUpdateFrequency") {
            control_plane.node_status_update_frequency = v.positive_duration(cx)?;
        }
        if let Some(v) = cp.get("nodeMonitorPeriod") {
            control_plane.node_monitor_period = v.positive_duration(cx)?;
        }
        if let Some(v) = cp.get("nodeMonitorGracePeriod") {
            control_plane.node_monitor_grace_period = v.positive_duration(cx)?;
        }
        for (key, slot) in [
            ("nodeEvictionRate", &mut control_plane.node_eviction_rate),
            (
                "secondaryNodeEvictionRate",
                &mut control_plane.secondary_node_eviction_rate,
            ),
        ] {
            if let Some(v) = cp.get(key) {
                let x = v.number(cx)?;
                if !(0.0..=1e6).contains(&x) {
                    return Err(v.err(cx, "must be from 0 to 1000000 (nodes per second)"));
                }
                *slot = x;
            }
        }
        if let Some(v) = cp.get("largeClusterSizeThreshold") {
            control_plane.large_cluster_size_threshold =
                v.int_in(cx, 0, i64::from(u32::MAX))? as u32;
        }
        if let Some(v) = cp.get("unhealthyZoneThreshold") {
            let x = v.number(cx)?;
            if !(x > 0.0 && x <= 1.0) {
                return Err(v.err(cx, "must be more than 0 and at most 1"));
            }
            control_plane.unhealthy_zone_threshold = x;
        }
        for (key, slot) in [
            (
                "defaultNotReadyTolerationSeconds",
                &mut control_plane.default_not_ready_toleration_seconds,
            ),
            (
                "defaultUnreachableTolerationSeconds",
                &mut control_plane.default_unreachable_toleration_seconds,
            ),
        ] {
            if let Some(v) = cp.get(key) {
                *slot = v.int_in(cx, 0, 365 * 24 * 3600)?;
            }
        }
        if let Some(v) = cp.get("kubeScheduler") {
            control_plane.kube_scheduler = super::control_plane_docs::read_component(cx, &v)?;
            kube_scheduler_election_at = v
                .map(cx, &super::control_plane_docs::COMPONENT)?
                .get("leaderElection")
                .map(|le| le.loc(cx));
        }
        if let Some(v) = cp.get("kubeControllerManager") {
            control_plane.kube_controller_manager =
                super::control_plane_docs::read_component(cx, &v)?;
        }
    }
    let mut expectations = Vec::new();
    if let Some(list) = spec.get("expect") {
        for item in list.seq(cx)? {
            expectations.push(read_expectation(cx, &item)?);
        }
    }
    let cluster_autoscaler = match spec.get("clusterAutoscaler") {
        Some(v) => super::autoscaling_docs::read_cluster_autoscaler(cx, &v)?,
        None => Default::default(),
    };
    let hpa_controller = match spec.get("horizontalPodAutoscaler") {
        Some(v) => super::autoscaling_docs::read_hpa_controller(cx, &v)?,
        None => Default::default(),
    };
    Ok(ScenarioDoc {
        name: meta.name,
        seed,
        duration,
        sample_every,
        control_plane,
        expectations,
        cluster_autoscaler,
        hpa_controller,
        kube_scheduler_election_at,
    })
}

fn read_expectation(cx: &mut Cx, item: &Val) -> R<Expectation> {
    use super::yaml::Node;
    let m = item.map(cx, &EXPECT)?;
    let metric = m.req(cx, "metric")?.nonempty_string(cx)?;
    let mut bound: Option<ExpectBound> = None;
    for key in ["below", "above", "equals"] {
        let Some(v) = m.get(key) else {
            continue;
        };
        if bound.is_some() {
            return Err(cx.err(
                m.key_pos(key).unwrap_or(v.pos()),
                &v.path,
                "give exactly one of below, above, equals",
            ));
        }
        // A number, or a duration string meaning seconds (`below: 250ms` is 0.25).
        let x = match v.node() {
            Node::String(_) => v.duration(cx)?.0 as f64 / 1e9,
            _ => v.number(cx)?,
        };
        bound = Some(match key {
            "below" => ExpectBound::Below(x),
            "above" => ExpectBound::Above(x),
            _ => ExpectBound::Equals(x),
        });
    }
    let Some(bound) = bound else {
        return Err(item.err(cx, "give exactly one of below, above, equals"));
    };
    Ok(Expectation {
        metric,
        bound,
        source: cx.location(item.pos()),
    })
}

// ---------------------------------------------------------------------------------------------
// NodePool

const NODE_POOL_SPEC: Fields = Fields {
    read: &[
        "count",
        "zones",
        "capacity",
        "labels",
        "taints",
        "provisioningDelay",
        "pricePerHour",
        "autoscaling",
    ],
    warn: &[],
    silent: &[],
};
const CAPACITY: Fields = Fields::read(&["cpu", "memory", "pods"]);
/// A `NodePool` document, and its node group when it has `spec.autoscaling`.
pub(crate) fn read_node_pool(
    cx: &mut Cx,
    doc: &Map,
    meta: Meta,
) -> R<(
    NodePoolSpec,
    Option<crate::cluster::autoscaling_spec::NodeGroupSpec>,
)> {
    let spec = doc.req(cx, "spec")?.map(cx, &NODE_POOL_SPEC)?;
    let count_v = spec.req(cx, "count")?;
    let count = u32::try_from(count_v.int_in(cx, 0, MAX_NODES as i64)?)
        .map_err(|_| count_v.err(cx, "out of range"))?;
    let mut zones = Vec::new();
    if let Some(list) = spec.get("zones") {
        for z in list.seq(cx)? {
            let name = z.nonempty_string(cx)?;
            if let Err(msg) = check_label_value(&name) {
                return Err(z.err(cx, format!("invalid zone {name:?}: {msg}")));
            }
            zones.push(name);
        }
    }
    let cap_v = spec.req(cx, "capacity")?;
    let cap = cap_v.map(cx, &CAPACITY)?;
    let cpu_v = cap.req(cx, "cpu")?;
    let cpu_milli = cpu_v.cpu_milli(cx)?;
    if cpu_milli == 0 {
        return Err(cpu_v.err(cx, "must be greater than 0"));
    }
    let mem_v = cap.req(cx, "memory")?;
    let memory_bytes = mem_v.whole_quantity(cx)?;
    if memory_bytes == 0 {
        return Err(mem_v.err(cx, "must be greater than 0"));
    }
    let pods = match cap.get("pods") {
        Some(v) => {
            let p = v.whole_quantity(cx)?;
            if p == 0 {
                return Err(v.err(cx, "must be greater than 0"));
            }
            p
        }
        None => DEFAULT_MAX_PODS,
    };
    let labels = match spec.get("labels") {
        Some(v) => v.labels(cx)?,
        None => Labels::new(),
    };
    let taints = match spec.get("taints") {
        Some(v) => read_taints(cx, &v)?,
        None => Vec::new(),
    };
    let provisioning_delay = match spec.get("provisioningDelay") {
        Some(v) => v.duration(cx)?,
        None => SimDuration::ZERO,
    };
    let price_per_hour = match spec.get("pricePerHour") {
        Some(v) => {
            let p = v.number(cx)?;
            if p < 0.0 {
                return Err(v.err(cx, "must be greater than or equal to 0"));
            }
            p
        }
        None => 0.0,
    };
    let group = match spec.get("autoscaling") {
        Some(v) => Some(super::autoscaling_docs::read_pool_autoscaling(
            cx, &v, &meta.name, count,
        )?),
        None => None,
    };
    let pool = NodePoolSpec {
        name: meta.name,
        count,
        zones,
        capacity: Resources {
            cpu_milli,
            memory_bytes,
            pods,
        },
        labels,
        taints,
        provisioning_delay,
        price_per_hour,
    };
    Ok((pool, group))
}

// ---------------------------------------------------------------------------------------------
// Behavior

const BEHAVIOR_SPEC: Fields = Fields::read(&[
    "workload",
    "imagePull",
    "startup",
    "readiness",
    "shutdown",
    "serving",
    "versions",
    "failures",
    "workQueue",
    "cpuLoad",
    "initContainers",
]);
const WORK_QUEUE: Fields = Fields::read(&["tasks", "duration"]);
const DISTRIBUTIONS: &[&str] = &["constant", "uniform", "exponential", "lognormal"];
const UNIFORM: Fields = Fields::read(&["min", "max"]);
const EXPONENTIAL: Fields = Fields::read(&["mean"]);
const LOGNORMAL: Fields = Fields::read(&["median", "p99"]);

/// A `Behavior` document, its workload reference not yet resolved.
pub(crate) struct BehaviorDoc {
    pub spec: BehaviorSpec,
    pub workload: Ref,
    /// `spec.cpuLoad`, if set.
    pub cpu_load: Option<crate::cluster::autoscaling_spec::CpuLoad>,
    /// Where each `spec.initContainers` key was written (same order as
    /// `spec.init_containers`), to check the names against the workload's template.
    pub init_locs: Vec<super::reader::Loc>,
}

pub(crate) fn read_behavior(cx: &mut Cx, doc: &Map, meta: Meta) -> R<BehaviorDoc> {
    let spec_v = doc.get("spec");
    let spec = match &spec_v {
        Some(v) => Some(v.map(cx, &BEHAVIOR_SPEC)?),
        None => None,
    };
    let field = |key: &str| spec.as_ref().and_then(|s| s.get(key));
    let workload = match field("workload") {
        Some(v) => read_ref(cx, &v)?,
        None => Ref {
            name: meta.name.clone(),
            loc: meta.name_loc.clone(),
        },
    };
    let mut b = BehaviorSpec::default_for(&workload.name);
    b.name = meta.name;
    if let Some(v) = field("imagePull") {
        b.image_pull = read_distribution(cx, &v)?;
    }
    if let Some(v) = field("startup") {
        b.startup = read_distribution(cx, &v)?;
    }
    if let Some(v) = field("readiness") {
        b.readiness = read_distribution(cx, &v)?;
    }
    if let Some(v) = field("shutdown") {
        b.shutdown = read_distribution(cx, &v)?;
    }
    if let Some(v) = field("serving") {
        b.serving = super::traffic_docs::read_serving(cx, &v)?;
    }
    if let Some(v) = field("versions") {
        b.serving_by_image = super::traffic_docs::read_versions(cx, &v, &b.serving)?;
    }
    if let Some(v) = field("failures") {
        b.health = super::health_docs::read_failures(cx, &v)?;
    }
    if let Some(v) = field("versions") {
        b.health_by_image = super::health_docs::read_version_health(cx, &v, &b.health)?;
    }
    if let Some(v) = field("workQueue") {
        let m = v.map(cx, &WORK_QUEUE)?;
        let tasks = m.req(cx, "tasks")?.int_in(cx, 0, 10_000_000)? as u32;
        let duration = read_distribution(cx, &m.req(cx, "duration")?)?;
        b.work_queue = Some(crate::cluster::spec::WorkQueueSpec { tasks, duration });
    }
    let cpu_load = match field("cpuLoad") {
        Some(v) => Some(super::autoscaling_docs::read_cpu_load(cx, &v)?),
        None => None,
    };
    // `initContainers: {name: duration}`: how long each init container runs (exit code 0).
    let mut init_locs = Vec::new();
    if let Some(v) = field("initContainers") {
        for (name, pos, d) in v.pairs(cx)? {
            let run = read_distribution(cx, &d)?;
            init_locs.push(cx.loc(pos, &d.path));
            b.init_containers.push((name, run));
        }
    }
    Ok(BehaviorDoc {
        spec: b,
        workload,
        cpu_load,
        init_locs,
    })
}

/// A duration distribution: a duration string (constant) or a one-key mapping
/// `constant` | `uniform {min, max}` | `exponential {mean}` | `lognormal {median, p99}`.
pub(crate) fn read_distribution(cx: &mut Cx, v: &Val) -> R<Distribution> {
    use super::yaml::Node;
    let entries = match v.node() {
        Node::Map(entries) => entries,
        Node::String(_) | Node::Int(_) | Node::Float(_) => {
            return Ok(Distribution::Constant(v.duration(cx)?));
        }
        _ => {
            return Err(v.expected(
                cx,
                "a duration or one of {constant: D}, {uniform: {min: D, max: D}}, {exponential: {mean: D}}, {lognormal: {median: D, p99: D}}",
            ));
        }
    };
    let mut found: Option<(&str, Val)> = None;
    for (k, value) in entries {
        let Some(key) = k.as_str() else {
            return Err(cx.err(
                k.pos,
                &v.path,
                format!("expected a distribution name, found {}", k.node.describe()),
            ));
        };
        let path = join(&v.path, key);
        let Some(name) = DISTRIBUTIONS.iter().find(|d| **d == key) else {
            return Err(unknown_key(
                cx,
                k.pos,
                &path,
                key,
                DISTRIBUTIONS.iter().copied(),
            ));
        };
        if found.is_some() {
            return Err(cx.err(
                k.pos,
                &path,
                "a distribution has exactly one of constant, uniform, exponential, lognormal",
            ));
        }
        found = Some((name, Val { y: value, path }));
    }
    let Some((name, body)) = found else {
        return Err(v.err(
            cx,
            "expected one of constant, uniform, exponential, lognormal",
        ));
    };
    match name {
        "constant" => Ok(Distribution::Constant(body.duration(cx)?)),
        "uniform" => {
            let m = body.map(cx, &UNIFORM)?;
            let min = m.req(cx, "min")?.duration(cx)?;
            let max_v = m.req(cx, "max")?;
            let max = max_v.duration(cx)?;
            if max < min {
                return Err(max_v.err(cx, "must be greater than or equal to min"));
            }
            Ok(Distribution::Uniform { min, max })
        }
        "exponential" => {
            let m = body.map(cx, &EXPONENTIAL)?;
            let mean = m.req(cx, "mean")?.positive_duration(cx)?;
            Ok(Distribution::Exponential { mean })
        }
        _ => {
            let m = body.map(cx, &LOGNORMAL)?;
            let median = m.req(cx, "median")?.positive_duration(cx)?;
            let p99_v = m.req(cx, "p99")?;
            let p99 = p99_v.duration(cx)?;
            if p99 < median {
                return Err(p99_v.err(cx, "must be greater than or equal to median"));
            }
            Ok(Distribution::LogNormal { median, p99 })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Timeline

/// Verbs a timeline entry may use.
pub(crate) const TIMELINE_VERBS: &[&str] = &[
    "scale",
    "setImage",
    "addNodes",
    "removeNode",
    "cordon",
    "uncordon",
    "rollout",
    "crashNode",
    "recoverNode",
    "zoneOutage",
    "partition",
    "kubeletStop",
    "apiServerDown",
    "slowNode",
    "drainNode",
    "argo",
    "killLeader",
    "updateStatefulSet",
    "updateTemplate",
];

/// Verbs from the design that are not implemented yet: a clear error, not "unknown field".
pub(crate) const UNSUPPORTED_VERBS: &[&str] = &["load"];

const SCALE: Fields = Fields::read(&["deployment", "replicas"]);
const SET_IMAGE: Fields = Fields::read(&["deployment", "container", "image"]);
const ADD_NODES: Fields = Fields::read(&["pool", "count"]);
const NODE_REF: Fields = Fields::read(&["node"]);
const NODE_FOR: Fields = Fields::read(&["node", "for"]);
const ZONE_OUTAGE: Fields = Fields::read(&["zone", "for"]);
const API_DOWN: Fields = Fields::read(&["for"]);
const SLOW_NODE: Fields = Fields::read(&["node", "factor", "for"]);
/// Largest `slowNode` factor.
const MAX_SLOW_FACTOR: f64 = 1000.0;
const ROLLOUT: Fields = Fields::read(&["deployment", "action", "toRevision"]);

const ARGO: Fields = Fields::read(&["rollout", "action", "image", "container"]);
const KILL_LEADER: Fields = Fields::read(&["election"]);
const UPDATE_STATEFULSET: Fields =
    Fields::read(&["statefulSet", "replicas", "image", "container", "partition"]);
const UPDATE_TEMPLATE: Fields = Fields::read(&["deployment", "annotations"]);
/// `argo.action` values (`kubectl argo rollouts <action>`).
const ARGO_ACTIONS: &[&str] = &["promote", "abort", "retry", "pause", "resume", "setImage"];

/// `rollout.action` values (`kubectl rollout <action>`).
const ROLLOUT_ACTIONS: &[&str] = &["undo", "pause", "resume"];

/// A timeline action whose references are not yet resolved.
pub(crate) enum RawAction {
    Scale {
        deployment: Ref,
        replicas: i32,
    },
    SetImage {
        deployment: Ref,
        container: Option<Ref>,
        image: String,
    },
    AddNodes {
        pool: Ref,
        count: u32,
    },
    RemoveNode {
        node: Ref,
    },
    Cordon {
        node: Ref,
        unschedulable: bool,
    },
    /// `crashNode`, `recoverNode`, `partition`, `kubeletStop`, `slowNode`, `drainNode`.
    NodeFault {
        verb: &'static str,
        node: Ref,
        duration: Option<SimDuration>,
        factor: f64,
    },
    ZoneOutage {
        zone: Ref,
        duration: SimDuration,
    },
    ApiServerDown {
        duration: SimDuration,
    },
    Rollout {
        deployment: Ref,
        op: crate::cluster::spec::RolloutOp,
    },
    Argo {
        rollout: Ref,
        command: crate::cluster::argo::spec::ArgoCommand,
    },
    KillLeader {
        election: Ref,
    },
    UpdateStatefulSet {
        stateful_set: Ref,
        replicas: Option<i32>,
        container: Option<Ref>,
        image: Option<String>,
        partition: Option<i32>,
    },
    UpdateTemplate {
        deployment: Ref,
        annotations: crate::cluster::spec::Labels,
    },
}

/// A timeline entry as read.
pub(crate) struct RawEntry {
    pub at: SimDuration,
    pub at_loc: Loc,
    pub action: RawAction,
    /// `file:line:col` of the entry.
    pub source: String,
}

/// A `Timeline` document: its `spec` is the list of entries.
pub(crate) fn read_timeline(cx: &mut Cx, doc: &Map) -> R<Vec<RawEntry>> {
    let Some(spec) = doc.get("spec") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for item in spec.seq(cx)? {
        out.push(read_entry(cx, &item)?);
    }
    Ok(out)
}

fn read_entry(cx: &mut Cx, item: &Val) -> R<RawEntry> {
    use super::yaml::Node;
    let entries = match item.node() {
        Node::Map(entries) => entries,
        _ => {
            return Err(item.expected(cx, "a mapping such as {at: 1h, scale: {...}}"));
        }
    };
    let mut verb: Option<(&str, Val)> = None;
    let mut at_v: Option<Val> = None;
    for (k, value) in entries {
        let Some(key) = k.as_str() else {
            return Err(cx.err(
                k.pos,
                &item.path,
                format!("expected a field name, found {}", k.node.describe()),
            ));
        };
        let path = join(&item.path, key);
        if key == "at" {
            at_v = Some(Val { y: value, path });
            continue;
        }
        if UNSUPPORTED_VERBS.contains(&key) {
            return Err(cx.err(
                k.pos,
                &path,
                format!(
                    "timeline verb {key:?} is not supported yet; supported verbs: {}",
                    TIMELINE_VERBS.join(", ")
                ),
            ));
        }
        let Some(name) = TIMELINE_VERBS.iter().find(|v| **v == key) else {
            let valid = std::iter::once("at")
                .chain(TIMELINE_VERBS.iter().copied())
                .chain(UNSUPPORTED_VERBS.iter().copied());
            return Err(unknown_key(cx, k.pos, &path, key, valid));
        };
        if let Some((first, _)) = &verb {
            return Err(cx.err(
                k.pos,
                &path,
                format!(
                    "a timeline entry has exactly one action, and this one already has {first:?}"
                ),
            ));
        }
        verb = Some((name, Val { y: value, path }));
    }
    let Some(at_v) = at_v.filter(|v| !matches!(v.node(), Node::Null)) else {
        return Err(cx.err(
            item.pos(),
            &join(&item.path, "at"),
            "required field is missing",
        ));
    };
    let at = at_v.duration(cx)?;
    let Some((name, body)) = verb else {
        return Err(item.err(
            cx,
            format!("expected an action: one of {}", TIMELINE_VERBS.join(", ")),
        ));
    };
    let action = match name {
        "scale" => {
            let m = body.map(cx, &SCALE)?;
            let deployment = read_ref(cx, &m.req(cx, "deployment")?)?;
            let rv = m.req(cx, "replicas")?;
            let replicas = i32::try_from(rv.int_in(cx, 0, super::manifests::MAX_REPLICAS)?)
                .map_err(|_| rv.err(cx, "out of range"))?;
            RawAction::Scale {
                deployment,
                replicas,
            }
        }
        "setImage" => {
            let m = body.map(cx, &SET_IMAGE)?;
            let deployment = read_ref(cx, &m.req(cx, "deployment")?)?;
            let container = match m.get("container") {
                Some(c) => Some(read_ref(cx, &c)?),
                None => None,
            };
            let image = m.req(cx, "image")?.nonempty_string(cx)?;
            RawAction::SetImage {
                deployment,
                container,
                image,
            }
        }
        "addNodes" => {
            let m = body.map(cx, &ADD_NODES)?;
            let pool = read_ref(cx, &m.req(cx, "pool")?)?;
            let cv = m.req(cx, "count")?;
            let count = u32::try_from(cv.int_in(cx, 1, MAX_NODES as i64)?)
                .map_err(|_| cv.err(cx, "out of range"))?;
            RawAction::AddNodes { pool, count }
        }
        "removeNode" => {
            let m = body.map(cx, &NODE_REF)?;
            RawAction::RemoveNode {
                node: read_ref(cx, &m.req(cx, "node")?)?,
            }
        }
        "rollout" => {
            let m = body.map(cx, &ROLLOUT)?;
            let deployment = read_ref(cx, &m.req(cx, "deployment")?)?;
            let av = m.req(cx, "action")?;
            let action = av.nonempty_string(cx)?;
            let to_revision = match m.get("toRevision") {
                Some(v) => Some(v.int_in(cx, 1, i64::MAX)? as u64),
                None => None,
            };
            use crate::cluster::spec::RolloutOp;
            let op = match action.as_str() {
                "undo" => RolloutOp::Undo { to_revision },
                "pause" | "resume" if to_revision.is_some() => {
                    return Err(av.err(cx, "toRevision is only valid with action undo"));
                }
                "pause" => RolloutOp::Pause,
                "resume" => RolloutOp::Resume,
                other => {
                    return Err(av
                        .err(
                            cx,
                            format!(
                                "unknown rollout action {other:?}; expected one of {}",
                                ROLLOUT_ACTIONS.join(", ")
                            ),
                        )
                        .with_suggestion(crate::scenario::error::suggest(
                            other,
                            ROLLOUT_ACTIONS.iter().copied(),
                        )));
                }
            };
            RawAction::Rollout { deployment, op }
        }
        "argo" => {
            use crate::cluster::argo::spec::ArgoCommand;
            let m = body.map(cx, &ARGO)?;
            let rollout = read_ref(cx, &m.req(cx, "rollout")?)?;
            let av = m.req(cx, "action")?;
            let action = av.one_of(cx, ARGO_ACTIONS)?;
            let image = m.get("image");
            let container = m.get("container");
            if action != "setImage"
                && let Some(v) = image.as_ref().or(container.as_ref())
            {
                return Err(v.err(
                    cx,
                    "image and container are only valid with action setImage",
                ));
            }
            let command = match action {
                "promote" => ArgoCommand::Promote,
                "abort" => ArgoCommand::Abort,
                "retry" => ArgoCommand::Retry,
                "pause" => ArgoCommand::Pause,
                "resume" => ArgoCommand::Resume,
                _ => ArgoCommand::SetImage {
                    container: match container {
                        Some(c) => Some(c.nonempty_string(cx)?),
                        None => None,
                    },
                    image: m.req(cx, "image")?.nonempty_string(cx)?,
                },
            };
            RawAction::Argo { rollout, command }
        }
        "updateTemplate" => {
            let m = body.map(cx, &UPDATE_TEMPLATE)?;
            let deployment = read_ref(cx, &m.req(cx, "deployment")?)?;
            let av = m.req(cx, "annotations")?;
            let annotations = super::manifests::read_annotations(cx, &av)?;
            if annotations.is_empty() {
                return Err(av.err(cx, "at least one annotation is required"));
            }
            RawAction::UpdateTemplate {
                deployment,
                annotations,
            }
        }
        "cordon" | "uncordon" => {
            let m = body.map(cx, &NODE_REF)?;
            RawAction::Cordon {
                node: read_ref(cx, &m.req(cx, "node")?)?,
                unschedulable: name == "cordon",
            }
        }
        "crashNode" | "recoverNode" | "drainNode" => {
            let m = body.map(cx, &NODE_REF)?;
            RawAction::NodeFault {
                verb: name,
                node: read_ref(cx, &m.req(cx, "node")?)?,
                duration: None,
                factor: 1.0,
            }
        }
        "partition" | "kubeletStop" => {
            let m = body.map(cx, &NODE_FOR)?;
            let duration = match m.get("for") {
                Some(v) => Some(v.positive_duration(cx)?),
                None => None,
            };
            RawAction::NodeFault {
                verb: name,
                node: read_ref(cx, &m.req(cx, "node")?)?,
                duration,
                factor: 1.0,
            }
        }
        "slowNode" => {
            let m = body.map(cx, &SLOW_NODE)?;
            let fv = m.req(cx, "factor")?;
            let factor = fv.number(cx)?;
            if !(1.0..=MAX_SLOW_FACTOR).contains(&factor) {
                return Err(fv.err(cx, format!("must be from 1 to {MAX_SLOW_FACTOR}")));
            }
            let duration = match m.get("for") {
                Some(v) => Some(v.positive_duration(cx)?),
                None => None,
            };
            RawAction::NodeFault {
                verb: name,
                node: read_ref(cx, &m.req(cx, "node")?)?,
                duration,
                factor,
            }
        }
        "killLeader" => {
            let m = body.map(cx, &KILL_LEADER)?;
            RawAction::KillLeader {
                election: read_ref(cx, &m.req(cx, "election")?)?,
            }
        }
        "updateStatefulSet" => {
            let m = body.map(cx, &UPDATE_STATEFULSET)?;
            let stateful_set = read_ref(cx, &m.req(cx, "statefulSet")?)?;
            let replicas = match m.get("replicas") {
                Some(v) => Some(
                    i32::try_from(v.int_in(cx, 0, super::manifests::MAX_REPLICAS)?)
                        .map_err(|_| v.err(cx, "out of range"))?,
                ),
                None => None,
            };
            let image = match m.get("image") {
                Some(v) => Some(v.nonempty_string(cx)?),
                None => None,
            };
            let container = match m.get("container") {
                Some(c) if image.is_none() => {
                    return Err(c.err(cx, "container is only valid with image"));
                }
                Some(c) => Some(read_ref(cx, &c)?),
                None => None,
            };
            let partition = match m.get("partition") {
                Some(v) => Some(v.i32_min(cx, 0)?),
                None => None,
            };
            if replicas.is_none() && image.is_none() && partition.is_none() {
                return Err(body.err(cx, "expected at least one of replicas, image, partition"));
            }
            RawAction::UpdateStatefulSet {
                stateful_set,
                replicas,
                container,
                image,
                partition,
            }
        }
        "zoneOutage" => {
            let m = body.map(cx, &ZONE_OUTAGE)?;
            RawAction::ZoneOutage {
                zone: read_ref(cx, &m.req(cx, "zone")?)?,
                duration: m.req(cx, "for")?.positive_duration(cx)?,
            }
        }
        _ => {
            let m = body.map(cx, &API_DOWN)?;
            RawAction::ApiServerDown {
                duration: m.req(cx, "for")?.positive_duration(cx)?,
            }
        }
    };
    Ok(RawEntry {
        at,
        at_loc: at_v.loc(cx),
        action,
        source: cx.location(item.pos()),
    })
}
