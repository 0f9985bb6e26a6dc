//! Autoscaling documents: `autoscaling/v2` HorizontalPodAutoscaler, KEDA `ScaledObject`
//! (`keda.sh/v1alpha1`), and the autoscaling parts of kubesim documents (`NodePool`
//! `spec.autoscaling`, `Scenario` `spec.clusterAutoscaler` / `spec.horizontalPodAutoscaler`,
//! `Behavior` `spec.cpuLoad`). References (target Deployments, Services) are resolved in
//! [`super::load`].
//!
//! Upstream references: HPA fields, defaults and validation from `autoscaling/v2`
//! (`pkg/apis/autoscaling/v2/defaults.go`: `minReplicas` 1, metrics default to CPU at 80 %
//! utilization, behavior defaults via `GenerateHPAScaleUpRules` / `GenerateHPAScaleDownRules`;
//! `pkg/apis/autoscaling/validation`: `maxReplicas >= minReplicas`, `periodSeconds` 1..=1800,
//! `stabilizationWindowSeconds` 0..=3600, policy `value > 0`). ScaledObject fields and
//! defaults from KEDA's "ScaledObject specification" (`pollingInterval` 30, `cooldownPeriod`
//! 300, `minReplicaCount` 0, `maxReplicaCount` 100).

use crate::cluster::autoscaling_spec::{
    ClusterAutoscalerSpec, CpuLoad, Expander, HpaBehavior, HpaControllerSpec, HpaSpec, KedaTrigger,
    MetricSource, MetricSpec, MetricTarget, NodeGroupSpec, ScaledObjectSpec, ScalingPolicy,
    ScalingPolicyType, ScalingRules, SelectPolicy,
};
use crate::cluster::spec::Diurnal;
use crate::engine::{SimDuration, SimTime};

use super::kubesim_docs::{MAX_NODES, Ref};
use super::manifests::{MAX_REPLICAS, Meta};
use super::reader::{Cx, Fields, Map, R, Val};
use super::yaml::Node;

/// A reference to a Service inside a metric or trigger, resolved later.
pub(crate) struct ServiceRef {
    /// Index of the metric (HPA) or trigger (ScaledObject).
    pub index: usize,
    pub service: Ref,
}

// ---------------------------------------------------------------------------------------------
// HorizontalPodAutoscaler

/// Top-level fields of an HPA.
pub(crate) const HPA_DOC: Fields = Fields {
    read: &["apiVersion", "kind", "metadata", "spec"],
    warn: &[],
    silent: &["status"],
};
const HPA_SPEC: Fields = Fields::read(&[
    "scaleTargetRef",
    "minReplicas",
    "maxReplicas",
    "metrics",
    "behavior",
]);
const TARGET_REF: Fields = Fields::read(&["apiVersion", "kind", "name"]);
const METRIC: Fields = Fields::read(&[
    "type",
    "resource",
    "pods",
    "external",
    "object",
    "containerResource",
]);
const RESOURCE_METRIC: Fields = Fields::read(&["name", "target"]);
const NAMED_METRIC: Fields = Fields::read(&["metric", "target"]);
const OBJECT_METRIC: Fields = Fields::read(&["describedObject", "metric", "target"]);
const DESCRIBED_OBJECT: Fields = Fields::read(&["apiVersion", "kind", "name"]);
const OBJECT_METRIC_ID: Fields = Fields {
    read: &["name"],
    warn: &["selector"],
    silent: &[],
};
const METRIC_ID: Fields = Fields::read(&["name", "selector"]);
const METRIC_SELECTOR: Fields = Fields {
    read: &["matchLabels"],
    warn: &["matchExpressions"],
    silent: &[],
};
const TARGET: Fields = Fields::read(&["type", "averageUtilization", "averageValue", "value"]);
const BEHAVIOR: Fields = Fields::read(&["scaleUp", "scaleDown"]);
const RULES: Fields = Fields {
    read: &["stabilizationWindowSeconds", "selectPolicy", "policies"],
    warn: &["tolerance"],
    silent: &[],
};
const POLICY: Fields = Fields::read(&["type", "value", "periodSeconds"]);

/// An HPA, its target and Service references not yet resolved.
pub(crate) struct HpaDoc {
    pub spec: HpaSpec,
    pub target: Ref,
    pub services: Vec<ServiceRef>,
}

/// A metric value in milli-units (a quantity: `100`, `500m`, `"1.5"`).
fn milli(cx: &Cx, v: &Val) -> R<i64> {
    let q = v.quantity(cx)?;
    let m = q.milli_value().map_err(|e| v.err(cx, e.to_string()))?;
    if m <= 0 {
        return Err(v.err(cx, "must be greater than 0"));
    }
    Ok(m)
}

fn read_target(cx: &mut Cx, v: &Val, allow_utilization: bool) -> R<MetricTarget> {
    let m = v.map(cx, &TARGET)?;
    let ty_v = m.req(cx, "type")?;
    let ty = ty_v.one_of(cx, &["Utilization", "AverageValue", "Value"])?;
    let (key, t) = match ty {
        "Utilization" => {
            if !allow_utilization {
                return Err(ty_v.err(cx, "Utilization is only valid for Resource metrics"));
            }
            let u = m.req(cx, "averageUtilization")?;
            let x = u.int_in(cx, 1, i64::from(i32::MAX))? as i32;
            ("averageUtilization", MetricTarget::Utilization(x))
        }
        "AverageValue" => (
            "averageValue",
            MetricTarget::AverageValue(milli(cx, &m.req(cx, "averageValue")?)?),
        ),
        _ => (
            "value",
            MetricTarget::Value(milli(cx, &m.req(cx, "value")?)?),
        ),
    };
    for other in ["averageUtilization", "averageValue", "value"] {
        if other != key
            && let Some(o) = m.get(other)
        {
            return Err(o.err(cx, format!("must not be set when type is {ty}")));
        }
    }
    Ok(t)
}

/// The Service named by `selector.matchLabels.service` of a metric identifier.
fn service_label(cx: &mut Cx, id: &Map, id_v: &Val) -> R<Ref> {
    let Some(sel_v) = id.get("selector") else {
        return Err(id_v.err(cx, "selector.matchLabels.service is required: it names the Service whose requests are measured"));
    };
    let sel = sel_v.map(cx, &METRIC_SELECTOR)?;
    let ml_v = sel.req(cx, "matchLabels")?;
    let pairs = ml_v.pairs(cx)?;
    let Some((k, kpos, v)) = pairs.first() else {
        return Err(ml_v.err(cx, "matchLabels.service is required"));
    };
    if k != "service" {
        return Err(cx.err(
            *kpos,
            &v.path,
            format!("unknown metric label {k:?}; kubesim's metrics have one label, service"),
        ));
    }
    if let Some((k2, kpos2, v2)) = pairs.get(1) {
        return Err(cx.err(
            *kpos2,
            &v2.path,
            format!("unknown metric label {k2:?}; kubesim's metrics have one label, service"),
        ));
    }
    Ok(Ref {
        name: v.nonempty_string(cx)?,
        loc: v.loc(cx),
    })
}

const METRIC_NAMES: &[&str] = &["requests_per_second", "requests_in_flight"];

fn read_metric(
    cx: &mut Cx,
    v: &Val,
    index: usize,
    services: &mut Vec<ServiceRef>,
) -> R<Option<MetricSpec>> {
    let m = v.map(cx, &METRIC)?;
    let ty_v = m.req(cx, "type")?;
    let ty = ty_v.one_of(
        cx,
        &[
            "Resource",
            "Pods",
            "External",
            "Object",
            "ContainerResource",
        ],
    )?;
    match ty {
        "Resource" => {
            let r_v = m.req(cx, "resource")?;
            let r = r_v.map(cx, &RESOURCE_METRIC)?;
            let name_v = r.req(cx, "name")?;
            let name = name_v.one_of(cx, &["cpu", "memory"])?;
            let target = read_target(cx, &r.req(cx, "target")?, true)?;
            if let MetricTarget::Value(_) = target {
                return Err(r_v.err(
                    cx,
                    "a Resource metric target must be Utilization or AverageValue",
                ));
            }
            let source = if name == "memory" {
                MetricSource::ResourceMemory
            } else {
                MetricSource::ResourceCpu
            };
            Ok(Some(MetricSpec {
                source,
                target,
                name: name.into(),
            }))
        }
        "Pods" => {
            let p_v = m.req(cx, "pods")?;
            let p = p_v.map(cx, &NAMED_METRIC)?;
            let id_v = p.req(cx, "metric")?;
            let id = id_v.map(cx, &METRIC_ID)?;
            let name_v = id.req(cx, "name")?;
            name_v.one_of(cx, &["requests_per_second"])?;
            let target = read_target(cx, &p.req(cx, "target")?, false)?;
            let MetricTarget::AverageValue(_) = target else {
                return Err(p_v.err(cx, "a Pods metric target must be AverageValue"));
            };
            Ok(Some(MetricSpec {
                source: MetricSource::PodsRequestRate,
                target,
                name: "requests_per_second".into(),
            }))
        }
        "External" => {
            let e_v = m.req(cx, "external")?;
            let e = e_v.map(cx, &NAMED_METRIC)?;
            let id_v = e.req(cx, "metric")?;
            let id = id_v.map(cx, &METRIC_ID)?;
            let name = id.req(cx, "name")?.one_of(cx, METRIC_NAMES)?;
            let service = service_label(cx, &id, &id_v)?;
            let target = read_target(cx, &e.req(cx, "target")?, false)?;
            services.push(ServiceRef { index, service });
            let source = if name == "requests_per_second" {
                MetricSource::ExternalRequestRate { service: 0 }
            } else {
                MetricSource::ExternalInFlight { service: 0 }
            };
            Ok(Some(MetricSpec {
                source,
                target,
                name: name.into(),
            }))
        }
        "Object" => {
            // autoscaling/v2 ObjectMetricSource: describedObject, metric, target (Value or
            // AverageValue, `pkg/apis/autoscaling/validation` validateObjectSource).
            let o_v = m.req(cx, "object")?;
            let o = o_v.map(cx, &OBJECT_METRIC)?;
            let d_v = o.req(cx, "describedObject")?;
            let d = d_v.map(cx, &DESCRIBED_OBJECT)?;
            let kind_v = d.req(cx, "kind")?;
            let kind = kind_v.nonempty_string(cx)?;
            let obj_name_v = d.req(cx, "name")?;
            let obj_name = obj_name_v.nonempty_string(cx)?;
            let id_v = o.req(cx, "metric")?;
            let id = id_v.map(cx, &OBJECT_METRIC_ID)?;
            let name_v = id.req(cx, "name")?;
            let target = read_target(cx, &o.req(cx, "target")?, false)?;
            if kind != "Service" {
                cx.warn(
                    kind_v.pos(),
                    &kind_v.path,
                    format!(
                        "Object metrics of kind {kind} are not simulated (kubesim serves a Service's); this metric is ignored"
                    ),
                );
                return Ok(None);
            }
            if let Some(av) = d.get("apiVersion")
                && av.nonempty_string(cx)? != "v1"
            {
                return Err(av.err(cx, "a Service's apiVersion is v1"));
            }
            let name = name_v.one_of(cx, METRIC_NAMES)?;
            services.push(ServiceRef {
                index,
                service: Ref {
                    name: obj_name,
                    loc: obj_name_v.loc(cx),
                },
            });
            let source = if name == "requests_per_second" {
                MetricSource::ObjectRequestRate { service: 0 }
            } else {
                MetricSource::ObjectInFlight { service: 0 }
            };
            Ok(Some(MetricSpec {
                source,
                target,
                name: name.into(),
            }))
        }
        _ => {
            cx.warn(
                ty_v.pos(),
                &ty_v.path,
                format!("{ty} metrics are not simulated; this metric is ignored"),
            );
            Ok(None)
        }
    }
}

fn read_rules(cx: &mut Cx, v: &Val, mut rules: ScalingRules) -> R<ScalingRules> {
    let m = v.map(cx, &RULES)?;
    if let Some(w) = m.get("stabilizationWindowSeconds") {
        rules.stabilization_window_seconds = Some(w.int_in(cx, 0, 3600)? as i32);
    }
    if let Some(s) = m.get("selectPolicy") {
        rules.select_policy = match s.one_of(cx, &["Max", "Min", "Disabled"])? {
            "Max" => SelectPolicy::Max,
            "Min" => SelectPolicy::Min,
            _ => SelectPolicy::Disabled,
        };
    }
    if let Some(list) = m.get("policies") {
        let items = list.seq(cx)?;
        if items.is_empty() {
            return Err(list.err(cx, "must have at least one policy"));
        }
        let mut ps = Vec::new();
        for item in items {
            let p = item.map(cx, &POLICY)?;
            let kind = match p.req(cx, "type")?.one_of(cx, &["Pods", "Percent"])? {
                "Pods" => ScalingPolicyType::Pods,
                _ => ScalingPolicyType::Percent,
            };
            let value = p.req(cx, "value")?.int_in(cx, 1, i64::from(i32::MAX))? as i32;
            let period_seconds = p.req(cx, "periodSeconds")?.int_in(cx, 1, 1800)? as i32;
            ps.push(ScalingPolicy {
                kind,
                value,
                period_seconds,
            });
        }
        rules.policies = ps;
    }
    Ok(rules)
}

/// `spec.behavior`: unset rules take upstream's defaults.
pub(crate) fn read_behavior(cx: &mut Cx, v: &Val) -> R<HpaBehavior> {
    let m = v.map(cx, &BEHAVIOR)?;
    let scale_up = match m.get("scaleUp") {
        Some(u) => read_rules(cx, &u, ScalingRules::default_scale_up())?,
        None => ScalingRules::default_scale_up(),
    };
    let scale_down = match m.get("scaleDown") {
        Some(d) => read_rules(cx, &d, ScalingRules::default_scale_down())?,
        None => ScalingRules::default_scale_down(),
    };
    Ok(HpaBehavior {
        scale_up,
        scale_down,
    })
}

/// An `autoscaling/v2` HorizontalPodAutoscaler whose `scaleTargetRef` is an `apps/v1`
/// Deployment.
pub(crate) fn read_hpa(cx: &mut Cx, doc: &Map, meta: Meta) -> R<HpaDoc> {
    let spec_v = doc.req(cx, "spec")?;
    let spec = spec_v.map(cx, &HPA_SPEC)?;
    let tr_v = spec.req(cx, "scaleTargetRef")?;
    let tr = tr_v.map(cx, &TARGET_REF)?;
    let kind_v = tr.req(cx, "kind")?;
    kind_v.one_of(cx, &["Deployment"])?;
    if let Some(a) = tr.get("apiVersion") {
        a.one_of(cx, &["apps/v1"])?;
    }
    let name_v = tr.req(cx, "name")?;
    let target = Ref {
        name: name_v.nonempty_string(cx)?,
        loc: name_v.loc(cx),
    };
    let min_replicas = match spec.get("minReplicas") {
        Some(v) => v.int_in(cx, 1, MAX_REPLICAS)? as i32,
        None => 1,
    };
    let max_v = spec.req(cx, "maxReplicas")?;
    let max_replicas = max_v.int_in(cx, 1, MAX_REPLICAS)? as i32;
    if max_replicas < min_replicas {
        return Err(max_v.err(
            cx,
            format!("must be greater than or equal to `minReplicas` ({min_replicas})"),
        ));
    }
    let mut metrics = Vec::new();
    let mut services = Vec::new();
    match spec.get("metrics") {
        Some(list) => {
            for item in list.seq(cx)? {
                if let Some(m) = read_metric(cx, &item, metrics.len(), &mut services)? {
                    metrics.push(m);
                }
            }
        }
        // Upstream's defaulting: CPU at 80 % utilization.
        None => metrics.push(MetricSpec {
            source: MetricSource::ResourceCpu,
            target: MetricTarget::Utilization(80),
            name: "cpu".into(),
        }),
    }
    let behavior = match spec.get("behavior") {
        Some(v) => Some(read_behavior(cx, &v)?),
        None => None,
    };
    Ok(HpaDoc {
        spec: HpaSpec {
            name: meta.name,
            namespace: meta.namespace,
            target: target.name.clone(),
            min_replicas,
            max_replicas,
            metrics,
            behavior,
        },
        target,
        services,
    })
}

// ---------------------------------------------------------------------------------------------
// KEDA ScaledObject

/// Top-level fields of a ScaledObject.
pub(crate) const SCALED_OBJECT_DOC: Fields = Fields {
    read: &["apiVersion", "kind", "metadata", "spec"],
    warn: &[],
    silent: &["status"],
};
const SO_SPEC: Fields = Fields {
    read: &[
        "scaleTargetRef",
        "pollingInterval",
        "cooldownPeriod",
        "idleReplicaCount",
        "minReplicaCount",
        "maxReplicaCount",
        "advanced",
        "triggers",
    ],
    warn: &["initialCooldownPeriod", "fallback"],
    silent: &[],
};
const SO_TARGET: Fields = Fields {
    read: &["name", "kind", "apiVersion"],
    warn: &["envSourceContainerName"],
    silent: &[],
};
const ADVANCED: Fields = Fields {
    read: &["horizontalPodAutoscalerConfig"],
    warn: &["restoreToOriginalReplicaCount", "scalingModifiers"],
    silent: &[],
};
const HPA_CONFIG: Fields = Fields {
    read: &["behavior"],
    warn: &[],
    silent: &["name"],
};
const TRIGGER: Fields = Fields {
    read: &["type", "metadata", "metricType"],
    warn: &[],
    silent: &["name", "authenticationRef", "useCachedMetrics"],
};
const TRIGGER_TYPES: &[&str] = &["kubesim-request-rate", "kubesim-queue-length"];
const RATE_META: Fields = Fields::read(&["service", "targetValue", "activationTargetValue"]);
const QUEUE_META: Fields = Fields::read(&["service", "queueLength", "activationQueueLength"]);

/// A ScaledObject, its target and Service references not yet resolved.
pub(crate) struct ScaledObjectDoc {
    pub spec: ScaledObjectSpec,
    pub target: Ref,
    pub services: Vec<ServiceRef>,
}

/// A KEDA metadata number: a string (as KEDA writes them) or a number; milli-units.
fn meta_milli(cx: &Cx, v: &Val, allow_zero: bool) -> R<i64> {
    let q = match v.node() {
        Node::String(s) => {
            super::quantity::parse_quantity(s).map_err(|e| v.err(cx, e.to_string()))?
        }
        _ => v.quantity(cx)?,
    };
    let m = q.milli_value().map_err(|e| v.err(cx, e.to_string()))?;
    if m < 0 || (m == 0 && !allow_zero) {
        return Err(v.err(
            cx,
            if allow_zero {
                "must be greater than or equal to 0"
            } else {
                "must be greater than 0"
            },
        ));
    }
    Ok(m)
}

fn seconds(cx: &Cx, v: &Val) -> R<SimDuration> {
    Ok(SimDuration::from_secs(
        v.int_in(cx, 0, 365 * 24 * 3600)? as u64
    ))
}

/// A KEDA `ScaledObject` on a Deployment, with kubesim's two trigger types.
pub(crate) fn read_scaled_object(cx: &mut Cx, doc: &Map, meta: Meta) -> R<ScaledObjectDoc> {
    let spec_v = doc.req(cx, "spec")?;
    let spec = spec_v.map(cx, &SO_SPEC)?;
    let tr = spec.req(cx, "scaleTargetRef")?.map(cx, &SO_TARGET)?;
    if let Some(k) = tr.get("kind") {
        k.one_of(cx, &["Deployment"])?;
    }
    if let Some(a) = tr.get("apiVersion") {
        a.one_of(cx, &["apps/v1"])?;
    }
    let name_v = tr.req(cx, "name")?;
    let target = Ref {
        name: name_v.nonempty_string(cx)?,
        loc: name_v.loc(cx),
    };
    let polling_interval = match spec.get("pollingInterval") {
        Some(v) => {
            let d = seconds(cx, &v)?;
            if d == SimDuration::ZERO {
                return Err(v.err(cx, "must be greater than 0"));
            }
            d
        }
        None => SimDuration::from_secs(30),
    };
    let cooldown_period = match spec.get("cooldownPeriod") {
        Some(v) => seconds(cx, &v)?,
        None => SimDuration::from_secs(300),
    };
    let min_replicas = match spec.get("minReplicaCount") {
        Some(v) => v.int_in(cx, 0, MAX_REPLICAS)? as i32,
        None => 0,
    };
    let max_v = spec.get("maxReplicaCount");
    let max_replicas = match &max_v {
        Some(v) => v.int_in(cx, 1, MAX_REPLICAS)? as i32,
        None => 100,
    };
    if max_replicas < min_replicas {
        let at = max_v.as_ref().unwrap_or(&spec_v);
        return Err(at.err(cx, format!("maxReplicaCount ({max_replicas}) must be greater than or equal to minReplicaCount ({min_replicas})")));
    }
    let idle_replicas = match spec.get("idleReplicaCount") {
        Some(v) => {
            let i = v.int_in(cx, 0, MAX_REPLICAS)? as i32;
            if i >= min_replicas {
                return Err(v.err(
                    cx,
                    format!("must be less than minReplicaCount ({min_replicas})"),
                ));
            }
            Some(i)
        }
        None => None,
    };
    let mut behavior = None;
    if let Some(a) = spec.get("advanced") {
        let a = a.map(cx, &ADVANCED)?;
        if let Some(h) = a.get("horizontalPodAutoscalerConfig") {
            let h = h.map(cx, &HPA_CONFIG)?;
            if let Some(b) = h.get("behavior") {
                behavior = Some(read_behavior(cx, &b)?);
            }
        }
    }
    let trig_v = spec.req(cx, "triggers")?;
    let items = trig_v.seq(cx)?;
    if items.is_empty() {
        return Err(trig_v.err(cx, "must have at least one trigger"));
    }
    let mut triggers = Vec::new();
    let mut services = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let t = item.map(cx, &TRIGGER)?;
        let ty = t.req(cx, "type")?.one_of(cx, TRIGGER_TYPES)?;
        if let Some(mt) = t.get("metricType") {
            mt.one_of(cx, &["AverageValue"])?;
        }
        let md_v = t.req(cx, "metadata")?;
        let (kind, target, activation, service) = if ty == "kubesim-request-rate" {
            let md = md_v.map(cx, &RATE_META)?;
            let s = md.req(cx, "service")?;
            let service = Ref {
                name: s.nonempty_string(cx)?,
                loc: s.loc(cx),
            };
            let target = meta_milli(cx, &md.req(cx, "targetValue")?, false)?;
            let activation = match md.get("activationTargetValue") {
                Some(v) => meta_milli(cx, &v, true)?,
                None => 0,
            };
            (
                crate::cluster::autoscaling_spec::KedaTriggerKind::RequestRate { service: 0 },
                target,
                activation,
                service,
            )
        } else {
            let md = md_v.map(cx, &QUEUE_META)?;
            let s = md.req(cx, "service")?;
            let service = Ref {
                name: s.nonempty_string(cx)?,
                loc: s.loc(cx),
            };
            let target = meta_milli(cx, &md.req(cx, "queueLength")?, false)?;
            let activation = match md.get("activationQueueLength") {
                Some(v) => meta_milli(cx, &v, true)?,
                None => 0,
            };
            (
                crate::cluster::autoscaling_spec::KedaTriggerKind::QueueLength { service: 0 },
                target,
                activation,
                service,
            )
        };
        services.push(ServiceRef { index: i, service });
        triggers.push(KedaTrigger {
            kind,
            target,
            activation,
        });
    }
    Ok(ScaledObjectDoc {
        spec: ScaledObjectSpec {
            name: meta.name,
            namespace: meta.namespace,
            target: target.name.clone(),
            polling_interval,
            cooldown_period,
            min_replicas,
            max_replicas,
            idle_replicas,
            triggers,
            behavior,
        },
        target,
        services,
    })
}

// ---------------------------------------------------------------------------------------------
// kubesim parts

const POOL_AUTOSCALING: Fields = Fields::read(&["min", "max", "failureProbability", "priority"]);

/// `NodePool` `spec.autoscaling`: `{min, max, failureProbability, priority}`.
pub(crate) fn read_pool_autoscaling(
    cx: &mut Cx,
    v: &Val,
    pool: &str,
    count: u32,
) -> R<NodeGroupSpec> {
    let a = v.map(cx, &POOL_AUTOSCALING)?;
    let min_v = a.req(cx, "min")?;
    let min = min_v.int_in(cx, 0, MAX_NODES as i64)? as u32;
    let max_v = a.req(cx, "max")?;
    let max = max_v.int_in(cx, 0, MAX_NODES as i64)? as u32;
    if max < min {
        return Err(max_v.err(cx, format!("must be greater than or equal to min ({min})")));
    }
    if count > max {
        return Err(max_v.err(cx, format!("must be at least the pool's count ({count})")));
    }
    let failure_probability = match a.get("failureProbability") {
        Some(p) => {
            let x = p.number(cx)?;
            if !(0.0..=1.0).contains(&x) {
                return Err(p.err(cx, "must be between 0 and 1"));
            }
            x
        }
        None => 0.0,
    };
    let priority = match a.get("priority") {
        Some(p) => p.int_in(cx, i64::from(i32::MIN), i64::from(i32::MAX))? as i32,
        None => 0,
    };
    Ok(NodeGroupSpec {
        pool: pool.to_string(),
        min,
        max,
        failure_probability,
        priority,
    })
}

const CA: Fields = Fields::read(&[
    "scanInterval",
    "expander",
    "scaleDownEnabled",
    "scaleDownUtilizationThreshold",
    "scaleDownUnneededTime",
    "scaleDownDelayAfterAdd",
    "scaleDownDelayAfterFailure",
    "maxNodeProvisionTime",
    "maxGracefulTerminationSec",
    "newPodScaleUpDelay",
    "maxEmptyBulkDelete",
    "initialNodeGroupBackoffDuration",
    "maxNodeGroupBackoffDuration",
]);

/// `Scenario` `spec.clusterAutoscaler`: upstream's flags in camelCase.
pub(crate) fn read_cluster_autoscaler(cx: &mut Cx, v: &Val) -> R<ClusterAutoscalerSpec> {
    let m = v.map(cx, &CA)?;
    let mut c = ClusterAutoscalerSpec::default();
    if let Some(x) = m.get("scanInterval") {
        c.scan_interval = x.positive_duration(cx)?;
    }
    if let Some(x) = m.get("expander") {
        c.expander = match x.one_of(cx, &["random", "least-waste", "priority", "price"])? {
            "random" => Expander::Random,
            "least-waste" => Expander::LeastWaste,
            "priority" => Expander::Priority,
            _ => Expander::Price,
        };
    }
    if let Some(x) = m.get("scaleDownEnabled") {
        c.scale_down_enabled = x.bool(cx)?;
    }
    if let Some(x) = m.get("scaleDownUtilizationThreshold") {
        let t = x.number(cx)?;
        if !(0.0..=1.0).contains(&t) {
            return Err(x.err(cx, "must be between 0 and 1"));
        }
        c.scale_down_utilization_threshold = t;
    }
    for (key, slot) in [
        ("scaleDownUnneededTime", &mut c.scale_down_unneeded_time),
        ("scaleDownDelayAfterAdd", &mut c.scale_down_delay_after_add),
        (
            "scaleDownDelayAfterFailure",
            &mut c.scale_down_delay_after_failure,
        ),
        ("maxNodeProvisionTime", &mut c.max_node_provision_time),
        ("newPodScaleUpDelay", &mut c.new_pod_scale_up_delay),
        ("initialNodeGroupBackoffDuration", &mut c.initial_backoff),
        ("maxNodeGroupBackoffDuration", &mut c.max_backoff),
    ] {
        if let Some(x) = m.get(key) {
            *slot = x.duration(cx)?;
        }
    }
    if let Some(x) = m.get("maxGracefulTerminationSec") {
        c.max_graceful_termination = seconds(cx, &x)?;
    }
    if let Some(x) = m.get("maxEmptyBulkDelete") {
        c.max_empty_bulk_delete = x.int_in(cx, 1, 100_000)? as u32;
    }
    Ok(c)
}

const HPA_CONTROLLER: Fields = Fields::read(&[
    "syncPeriod",
    "tolerance",
    "cpuInitializationPeriod",
    "initialReadinessDelay",
    "downscaleStabilization",
]);

/// `Scenario` `spec.horizontalPodAutoscaler`: kube-controller-manager's HPA flags.
pub(crate) fn read_hpa_controller(cx: &mut Cx, v: &Val) -> R<HpaControllerSpec> {
    let m = v.map(cx, &HPA_CONTROLLER)?;
    let mut c = HpaControllerSpec::default();
    if let Some(x) = m.get("syncPeriod") {
        c.sync_period = x.positive_duration(cx)?;
    }
    if let Some(x) = m.get("tolerance") {
        let t = x.number(cx)?;
        if !(0.0..1.0).contains(&t) {
            return Err(x.err(cx, "must be at least 0 and below 1"));
        }
        c.tolerance = t;
    }
    if let Some(x) = m.get("cpuInitializationPeriod") {
        c.cpu_initialization_period = x.duration(cx)?;
    }
    if let Some(x) = m.get("initialReadinessDelay") {
        c.initial_readiness_delay = x.duration(cx)?;
    }
    if let Some(x) = m.get("downscaleStabilization") {
        c.downscale_stabilization = x.duration(cx)?;
    }
    Ok(c)
}

const CPU_LOAD: Fields = Fields::read(&["total", "diurnal", "steps"]);
const CPU_DIURNAL: Fields = Fields::read(&["amplitude", "peakAt"]);
const CPU_STEP: Fields = Fields::read(&["at", "total"]);

/// `Behavior` `spec.cpuLoad`: `{total: 2000m, diurnal: {amplitude, peakAt}, steps: [{at,
/// total}]}` — the workload's total CPU demand, shared by its Ready pods.
pub(crate) fn read_cpu_load(cx: &mut Cx, v: &Val) -> R<CpuLoad> {
    let m = v.map(cx, &CPU_LOAD)?;
    let total_milli = m.req(cx, "total")?.cpu_milli(cx)? as f64;
    let diurnal = match m.get("diurnal") {
        Some(d) => {
            let d = d.map(cx, &CPU_DIURNAL)?;
            let av = d.req(cx, "amplitude")?;
            let amplitude = av.number(cx)?;
            if !(0.0..=1.0).contains(&amplitude) {
                return Err(av.err(cx, "must be between 0 and 1"));
            }
            let peak_at = match d.get("peakAt") {
                Some(p) => p.duration(cx)?,
                None => SimDuration::ZERO,
            };
            Some(Diurnal { amplitude, peak_at })
        }
        None => None,
    };
    let mut steps: Vec<(SimTime, f64)> = Vec::new();
    if let Some(list) = m.get("steps") {
        for item in list.seq(cx)? {
            let s = item.map(cx, &CPU_STEP)?;
            let at_v = s.req(cx, "at")?;
            let at = SimTime(at_v.duration(cx)?.0);
            if steps.last().is_some_and(|(p, _)| at < *p) {
                return Err(at_v.err(cx, "steps must be in time order"));
            }
            steps.push((at, s.req(cx, "total")?.cpu_milli(cx)? as f64));
        }
    }
    Ok(CpuLoad {
        total_milli,
        diurnal,
        steps,
    })
}
