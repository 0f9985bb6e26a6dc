//! Argo Rollouts documents (`argoproj.io/v1alpha1`): `Rollout` (canary and blue-green
//! strategies) and `AnalysisTemplate`, with Argo's field names and defaults
//! (`pkg/apis/rollouts/v1alpha1/types.go`, `analysis_types.go`, `utils/defaults/defaults.go`)
//! and its validation messages where it has them (`pkg/apis/rollouts/validation`). References
//! (Services, templates) are resolved by [`resolve_rollouts`].

use crate::cluster::argo::analysis::Condition;
use crate::cluster::argo::spec::{
    AnalysisTemplateSpec, BackgroundAnalysis, BlueGreenSpec, CanarySpec, CanaryStep, MetricKind,
    MetricQuery, MetricSpec, RolloutSpec, RolloutStrategy, VersionSelector,
};
use crate::cluster::spec::{IntOrPercent, ServiceSpec};
use crate::engine::SimDuration;

use super::error::suggest;
use super::kubesim_docs::{Ref, read_ref};
use super::manifests::{Meta, int_or_percent, read_workload_spec};
use super::reader::{Cx, Fields, Map, R, Val};
use super::yaml::Node;

/// Top-level fields of a Rollout or AnalysisTemplate.
pub(crate) const ARGO_DOC: Fields = Fields {
    read: &["apiVersion", "kind", "metadata", "spec"],
    warn: &["status"],
    silent: &[],
};
const ROLLOUT_SPEC: Fields = Fields {
    read: &[
        "replicas",
        "selector",
        "template",
        "minReadySeconds",
        "revisionHistoryLimit",
        "progressDeadlineSeconds",
        "paused",
        "strategy",
    ],
    warn: &[
        "workloadRef",
        "progressDeadlineAbort",
        "restartAt",
        "rollbackWindow",
        "analysis",
    ],
    silent: &[],
};
const STRATEGY: Fields = Fields::read(&["canary", "blueGreen"]);
const CANARY: Fields = Fields {
    read: &[
        "steps",
        "maxSurge",
        "maxUnavailable",
        "canaryService",
        "stableService",
        "trafficRouting",
        "scaleDownDelaySeconds",
        "abortScaleDownDelaySeconds",
        "analysis",
    ],
    warn: &[
        "canaryMetadata",
        "stableMetadata",
        "antiAffinity",
        "scaleDownDelayRevisionLimit",
        "dynamicStableScale",
        "minPodsPerReplicaSet",
        "pingPong",
        "replicaProgressThreshold",
    ],
    silent: &[],
};
const TRAFFIC_ROUTING: Fields = Fields {
    read: &[
        "istio",
        "nginx",
        "smi",
        "alb",
        "ambassador",
        "traefik",
        "apisix",
        "appMesh",
        "plugins",
    ],
    warn: &["managedRoutes", "maxTrafficWeight"],
    silent: &[],
};
const STEP_KINDS: &[&str] = &["setWeight", "pause", "analysis"];
const UNSUPPORTED_STEPS: &[&str] = &[
    "setCanaryScale",
    "experiment",
    "setHeaderRoute",
    "setMirrorRoute",
    "plugin",
];
const PAUSE: Fields = Fields::read(&["duration"]);
const STEP_ANALYSIS: Fields = Fields {
    read: &["templates"],
    warn: &[
        "args",
        "dryRun",
        "measurementRetention",
        "analysisRunMetadata",
    ],
    silent: &[],
};
const BACKGROUND_ANALYSIS: Fields = Fields {
    read: &["templates", "startingStep"],
    warn: &[
        "args",
        "dryRun",
        "measurementRetention",
        "analysisRunMetadata",
    ],
    silent: &[],
};
const TEMPLATE_REF: Fields = Fields::read(&["templateName", "clusterScope"]);
const BLUE_GREEN: Fields = Fields {
    read: &[
        "activeService",
        "previewService",
        "autoPromotionEnabled",
        "autoPromotionSeconds",
        "scaleDownDelaySeconds",
        "abortScaleDownDelaySeconds",
        "previewReplicaCount",
    ],
    warn: &[
        "prePromotionAnalysis",
        "postPromotionAnalysis",
        "antiAffinity",
        "previewMetadata",
        "activeMetadata",
        "scaleDownDelayRevisionLimit",
    ],
    silent: &[],
};
const TEMPLATE_SPEC: Fields = Fields {
    read: &["metrics"],
    warn: &["args", "dryRun", "measurementRetention"],
    silent: &[],
};
const METRIC: Fields = Fields::read(&[
    "name",
    "interval",
    "initialDelay",
    "count",
    "successCondition",
    "failureCondition",
    "failureLimit",
    "inconclusiveLimit",
    "consecutiveErrorLimit",
    "provider",
]);
/// Argo's metric providers: kubesim reads only its own (`kubesim`).
const PROVIDERS: &[&str] = &[
    "kubesim",
    "prometheus",
    "datadog",
    "newRelic",
    "wavefront",
    "kayenta",
    "web",
    "job",
    "cloudWatch",
    "graphite",
    "influxdb",
    "skywalking",
    "plugin",
];
const KUBESIM_PROVIDER: Fields = Fields::read(&["metric", "version"]);
const METRICS: &[&str] = &["errorRate", "latencyP99", "latencyP50", "requestRate"];
const VERSIONS: &[&str] = &["canary", "stable", "all"];

/// A Rollout's strategy with its references not yet resolved.
pub(crate) enum RawStrategy {
    Canary {
        spec: CanarySpec,
        steps: Vec<RawStep>,
        canary_service: Option<Ref>,
        stable_service: Option<Ref>,
        analysis: Option<(Vec<Ref>, usize)>,
    },
    BlueGreen {
        spec: BlueGreenSpec,
        active: Ref,
        preview: Option<Ref>,
    },
}

/// A canary step with its template references not yet resolved.
pub(crate) enum RawStep {
    Ready(CanaryStep),
    Analysis(Vec<Ref>),
}

/// A `Rollout` document as read.
pub(crate) struct RolloutDoc {
    /// Everything but the strategy (a placeholder until resolved).
    pub spec: RolloutSpec,
    pub strategy: RawStrategy,
}

fn nonneg_i32(cx: &Cx, v: &Val) -> R<i32> {
    Ok(v.int_in(cx, 0, i64::from(i32::MAX))? as i32)
}

/// A duration given as seconds (an integer) or a string with units (`30s`, `1h`), as Argo's
/// `DurationString` / `intstr` pause durations.
fn seconds_or_duration(cx: &Cx, v: &Val) -> R<SimDuration> {
    match v.node() {
        Node::Int(_) => Ok(SimDuration::from_secs(v.int_in(cx, 0, 365 * 86_400)? as u64)),
        _ => v.duration(cx),
    }
}

/// An `argoproj.io/v1alpha1` Rollout.
pub(crate) fn read_rollout(cx: &mut Cx, doc: &Map, meta: Meta) -> R<RolloutDoc> {
    let spec_v = doc.req(cx, "spec")?;
    let spec = spec_v.map(cx, &ROLLOUT_SPEC)?;
    let common = read_workload_spec(cx, &spec)?;
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
    let sv = spec.req(cx, "strategy")?;
    let st = sv.map(cx, &STRATEGY)?;
    let strategy = match (st.get("canary"), st.get("blueGreen")) {
        (Some(_), Some(b)) => {
            return Err(b.err(cx, "only one of canary or blueGreen may be given"));
        }
        (Some(c), None) => read_canary(cx, &c, common.replicas)?,
        (None, Some(b)) => read_blue_green(cx, &b)?,
        (None, None) => {
            return Err(sv.err(cx, "a strategy is required: canary or blueGreen"));
        }
    };
    let placeholder = RolloutStrategy::BlueGreen(BlueGreenSpec {
        active_service: 0,
        preview_service: None,
        auto_promotion_enabled: true,
        auto_promotion_seconds: 0,
        scale_down_delay_seconds: 30,
        abort_scale_down_delay_seconds: 30,
        preview_replica_count: None,
    });
    Ok(RolloutDoc {
        spec: RolloutSpec {
            name: meta.name,
            namespace: meta.namespace,
            replicas: common.replicas,
            selector: common.selector,
            template: common.template,
            min_ready_seconds: common.min_ready_seconds,
            revision_history_limit,
            progress_deadline_seconds,
            paused,
            strategy: placeholder,
        },
        strategy,
    })
}

fn template_refs(cx: &mut Cx, v: &Val) -> R<Vec<Ref>> {
    let mut out = Vec::new();
    let items = v.seq(cx)?;
    if items.is_empty() {
        return Err(v.err(cx, "at least one template is required"));
    }
    for item in items {
        let m = item.map(cx, &TEMPLATE_REF)?;
        if let Some(c) = m.get("clusterScope")
            && c.bool(cx)?
        {
            return Err(c.err(
                cx,
                "ClusterAnalysisTemplate is not simulated; use an AnalysisTemplate",
            ));
        }
        out.push(read_ref(cx, &m.req(cx, "templateName")?)?);
    }
    Ok(out)
}

fn read_canary(cx: &mut Cx, v: &Val, replicas: i32) -> R<RawStrategy> {
    let m = v.map(cx, &CANARY)?;
    let _ = replicas;
    let mut max_surge = IntOrPercent::Percent(25);
    let mut max_unavailable = IntOrPercent::Percent(25);
    if let Some(s) = m.get("maxSurge") {
        max_surge = int_or_percent(cx, &s)?;
    }
    if let Some(u) = m.get("maxUnavailable") {
        max_unavailable = int_or_percent(cx, &u)?;
        if let IntOrPercent::Percent(p) = max_unavailable
            && p > 100
        {
            return Err(u.err(cx, "must not be greater than 100%"));
        }
    }
    let zero = |x: IntOrPercent| matches!(x, IntOrPercent::Int(0) | IntOrPercent::Percent(0));
    if zero(max_surge) && zero(max_unavailable) {
        let at = m.get("maxUnavailable").unwrap_or(v.clone());
        // Argo's validation: InvalidMaxSurgeMaxUnavailable.
        return Err(at.err(cx, "maxSurge and maxUnavailable cannot both be zero"));
    }
    let canary_service = match m.get("canaryService") {
        Some(v) => Some(read_ref(cx, &v)?),
        None => None,
    };
    let stable_service = match m.get("stableService") {
        Some(v) => Some(read_ref(cx, &v)?),
        None => None,
    };
    let traffic_routing = match m.get("trafficRouting") {
        Some(tv) => {
            let t = tv.map(cx, &TRAFFIC_ROUTING)?;
            if TRAFFIC_ROUTING.read.iter().all(|k| t.get(k).is_none()) {
                return Err(tv.err(
                    cx,
                    format!(
                        "trafficRouting needs a provider: one of {}",
                        TRAFFIC_ROUTING.read.join(", ")
                    ),
                ));
            }
            if canary_service.is_none() || stable_service.is_none() {
                // Argo's validation: "canary service and stable service must be set when using
                // traffic routing".
                return Err(tv.err(
                    cx,
                    "canaryService and stableService are required with trafficRouting",
                ));
            }
            Some(tv.loc(cx))
        }
        None => None,
    };
    let delay = |cx: &Cx, key: &str| -> R<i32> {
        match m.get(key) {
            Some(v) => nonneg_i32(cx, &v),
            None => Ok(30),
        }
    };
    let scale_down_delay_seconds = delay(cx, "scaleDownDelaySeconds")?;
    let abort_scale_down_delay_seconds = delay(cx, "abortScaleDownDelaySeconds")?;
    let mut steps = Vec::new();
    if let Some(list) = m.get("steps") {
        for item in list.seq(cx)? {
            steps.push(read_step(cx, &item)?);
        }
    }
    let analysis = match m.get("analysis") {
        Some(a) => {
            let am = a.map(cx, &BACKGROUND_ANALYSIS)?;
            let templates = template_refs(cx, &am.req(cx, "templates")?)?;
            let starting = match am.get("startingStep") {
                Some(s) => {
                    let n = s.int_in(cx, 0, i64::from(i32::MAX))? as usize;
                    if n > steps.len() {
                        return Err(s.err(
                            cx,
                            format!("must be at most the number of steps ({})", steps.len()),
                        ));
                    }
                    n
                }
                None => 0,
            };
            Some((templates, starting))
        }
        None => None,
    };
    Ok(RawStrategy::Canary {
        spec: CanarySpec {
            steps: Vec::new(),
            max_surge,
            max_unavailable,
            canary_service: None,
            stable_service: None,
            traffic_routing: traffic_routing.is_some(),
            scale_down_delay_seconds,
            abort_scale_down_delay_seconds,
            analysis: None,
        },
        steps,
        canary_service,
        stable_service,
        analysis,
    })
}

fn read_step(cx: &mut Cx, item: &Val) -> R<RawStep> {
    let entries = match item.node() {
        Node::Map(e) => e,
        _ => return Err(item.expected(cx, "a mapping such as {setWeight: 20}")),
    };
    let mut found: Option<(&str, Val)> = None;
    for (k, value) in entries {
        let Some(key) = k.as_str() else {
            return Err(cx.err(k.pos, &item.path, "expected a step name"));
        };
        let path = super::reader::join(&item.path, key);
        if UNSUPPORTED_STEPS.contains(&key) {
            return Err(cx.err(
                k.pos,
                &path,
                format!(
                    "canary step {key:?} is not simulated; supported steps: {}",
                    STEP_KINDS.join(", ")
                ),
            ));
        }
        let Some(name) = STEP_KINDS.iter().find(|s| **s == key) else {
            return Err(super::reader::unknown_key(
                cx,
                k.pos,
                &path,
                key,
                STEP_KINDS.iter().chain(UNSUPPORTED_STEPS).copied(),
            ));
        };
        if let Some((first, _)) = &found {
            return Err(cx.err(
                k.pos,
                &path,
                format!("a step has exactly one of setWeight, pause, analysis; this one already has {first:?}"),
            ));
        }
        found = Some((name, Val { y: value, path }));
    }
    let Some((name, body)) = found else {
        return Err(item.err(cx, "expected one of setWeight, pause, analysis"));
    };
    Ok(match name {
        "setWeight" => RawStep::Ready(CanaryStep::SetWeight(body.int_in(cx, 0, 100)? as i32)),
        "pause" => {
            let p = body.map(cx, &PAUSE)?;
            RawStep::Ready(CanaryStep::Pause(match p.get("duration") {
                Some(d) => Some(seconds_or_duration(cx, &d)?),
                None => None,
            }))
        }
        _ => {
            let a = body.map(cx, &STEP_ANALYSIS)?;
            RawStep::Analysis(template_refs(cx, &a.req(cx, "templates")?)?)
        }
    })
}

fn read_blue_green(cx: &mut Cx, v: &Val) -> R<RawStrategy> {
    let m = v.map(cx, &BLUE_GREEN)?;
    let active = read_ref(cx, &m.req(cx, "activeService")?)?;
    let preview = match m.get("previewService") {
        Some(p) => Some(read_ref(cx, &p)?),
        None => None,
    };
    if let Some(p) = &preview
        && p.name == active.name
    {
        // Argo's validation: DuplicatedServicesBlueGreenMessage.
        return Err(p.loc.err("previewService must not be the activeService"));
    }
    let int = |cx: &Cx, key: &str, default: i32| -> R<i32> {
        match m.get(key) {
            Some(v) => nonneg_i32(cx, &v),
            None => Ok(default),
        }
    };
    let auto_promotion_enabled = match m.get("autoPromotionEnabled") {
        Some(b) => b.bool(cx)?,
        None => true,
    };
    let preview_replica_count = match m.get("previewReplicaCount") {
        Some(p) => Some(p.int_in(cx, 1, super::manifests::MAX_REPLICAS)? as i32),
        None => None,
    };
    Ok(RawStrategy::BlueGreen {
        spec: BlueGreenSpec {
            active_service: 0,
            preview_service: None,
            auto_promotion_enabled,
            auto_promotion_seconds: int(cx, "autoPromotionSeconds", 0)?,
            scale_down_delay_seconds: int(cx, "scaleDownDelaySeconds", 30)?,
            abort_scale_down_delay_seconds: int(cx, "abortScaleDownDelaySeconds", 30)?,
            preview_replica_count,
        },
        active,
        preview,
    })
}

/// An `argoproj.io/v1alpha1` AnalysisTemplate.
pub(crate) fn read_analysis_template(
    cx: &mut Cx,
    doc: &Map,
    meta: Meta,
) -> R<AnalysisTemplateSpec> {
    let spec_v = doc.req(cx, "spec")?;
    let spec = spec_v.map(cx, &TEMPLATE_SPEC)?;
    let list = spec.req(cx, "metrics")?;
    let items = list.seq(cx)?;
    if items.is_empty() {
        return Err(list.err(cx, "at least one metric is required"));
    }
    let mut metrics: Vec<MetricSpec> = Vec::new();
    for item in items {
        let m = item.map(cx, &METRIC)?;
        let name_v = m.req(cx, "name")?;
        let name = name_v.nonempty_string(cx)?;
        if metrics.iter().any(|x| x.name == name) {
            return Err(name_v.err(cx, format!("duplicate metric name {name:?}")));
        }
        let interval = match m.get("interval") {
            Some(v) => Some(v.positive_duration(cx)?),
            None => None,
        };
        let initial_delay = match m.get("initialDelay") {
            Some(v) => v.duration(cx)?,
            None => SimDuration::ZERO,
        };
        let count = match m.get("count") {
            Some(v) => match v.int_in(cx, 0, 1_000_000)? {
                0 => None,
                n => Some(n as u32),
            },
            None => None,
        };
        let cond = |cx: &Cx, key: &str| -> R<Option<Condition>> {
            match m.get(key) {
                Some(v) => {
                    let text = v.nonempty_string(cx)?;
                    Condition::parse(&text)
                        .map(Some)
                        .map_err(|e| v.err(cx, format!("invalid condition {text:?}: {e}")))
                }
                None => Ok(None),
            }
        };
        let success_condition = cond(cx, "successCondition")?;
        let failure_condition = cond(cx, "failureCondition")?;
        let limit = |cx: &Cx, key: &str, default: i32| -> R<i32> {
            match m.get(key) {
                Some(v) => nonneg_i32(cx, &v),
                None => Ok(default),
            }
        };
        let failure_limit = limit(cx, "failureLimit", 0)?;
        let inconclusive_limit = limit(cx, "inconclusiveLimit", 0)?;
        let consecutive_error_limit = limit(cx, "consecutiveErrorLimit", 4)?;
        let pv = m.req(cx, "provider")?;
        let query = read_provider(cx, &pv)?;
        metrics.push(MetricSpec {
            name,
            interval,
            initial_delay,
            count,
            success_condition,
            failure_condition,
            failure_limit,
            inconclusive_limit,
            consecutive_error_limit,
            query,
        });
    }
    Ok(AnalysisTemplateSpec {
        name: meta.name,
        metrics,
    })
}

fn read_provider(cx: &mut Cx, v: &Val) -> R<MetricQuery> {
    let entries = match v.node() {
        Node::Map(e) if !e.is_empty() => e,
        _ => {
            return Err(v.expected(
                cx,
                "a mapping with one provider, e.g. {kubesim: {metric: errorRate}}",
            ));
        }
    };
    let (k, body) = &entries[0];
    let key = k.as_str().unwrap_or("");
    let path = super::reader::join(&v.path, key);
    if entries.len() > 1 {
        return Err(cx.err(
            entries[1].0.pos,
            &v.path,
            "a metric has exactly one provider",
        ));
    }
    if key != "kubesim" {
        if PROVIDERS.contains(&key) {
            return Err(cx.err(
                k.pos,
                &path,
                format!("metric provider {key:?} is not simulated; use provider.kubesim (metric: errorRate, latencyP99, latencyP50 or requestRate)"),
            ));
        }
        return Err(super::reader::unknown_key(
            cx,
            k.pos,
            &path,
            key,
            PROVIDERS.iter().copied(),
        ));
    }
    let b = Val { y: body, path };
    let p = b.map(cx, &KUBESIM_PROVIDER)?;
    let metric = match p.req(cx, "metric")?.one_of(cx, METRICS)? {
        "errorRate" => MetricKind::ErrorRate,
        "latencyP99" => MetricKind::LatencyP99,
        "latencyP50" => MetricKind::LatencyP50,
        _ => MetricKind::RequestRate,
    };
    let version = match p.get("version") {
        Some(x) => match x.one_of(cx, VERSIONS)? {
            "stable" => VersionSelector::Stable,
            "all" => VersionSelector::All,
            _ => VersionSelector::Canary,
        },
        None => VersionSelector::Canary,
    };
    Ok(MetricQuery { metric, version })
}

/// Resolve Services (in the Rollout's namespace) and AnalysisTemplates by name.
pub(crate) fn resolve_rollouts(
    docs: Vec<RolloutDoc>,
    services: &[ServiceSpec],
    templates: &[AnalysisTemplateSpec],
) -> R<Vec<RolloutSpec>> {
    let mut out = Vec::new();
    for d in docs {
        let ns = d.spec.namespace.clone();
        let svc = |r: &Ref| -> R<usize> {
            services
                .iter()
                .position(|s| s.name == r.name && s.namespace == ns)
                .ok_or_else(|| {
                    let known: Vec<&str> = services
                        .iter()
                        .filter(|s| s.namespace == ns)
                        .map(|s| s.name.as_str())
                        .collect();
                    r.loc
                        .err(format!(
                            "no Service named {:?} in namespace {ns}; known: {}",
                            r.name,
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            }
                        ))
                        .with_suggestion(suggest(&r.name, known.iter().copied()))
                })
        };
        let tmpl = |refs: &[Ref]| -> R<Vec<usize>> {
            refs.iter()
                .map(|r| {
                    templates
                        .iter()
                        .position(|t| t.name == r.name)
                        .ok_or_else(|| {
                            r.loc
                                .err(format!("no AnalysisTemplate named {:?}", r.name))
                                .with_suggestion(suggest(
                                    &r.name,
                                    templates.iter().map(|t| t.name.as_str()),
                                ))
                        })
                })
                .collect()
        };
        let strategy = match d.strategy {
            RawStrategy::Canary {
                mut spec,
                steps,
                canary_service,
                stable_service,
                analysis,
            } => {
                spec.canary_service = canary_service.as_ref().map(&svc).transpose()?;
                spec.stable_service = stable_service.as_ref().map(&svc).transpose()?;
                if let (Some(c), Some(s), Some(r)) =
                    (spec.canary_service, spec.stable_service, &canary_service)
                    && c == s
                {
                    // Argo's validation: DuplicatedServicesCanaryMessage.
                    return Err(r.loc.err("canaryService must not be the stableService"));
                }
                for s in steps {
                    spec.steps.push(match s {
                        RawStep::Ready(x) => x,
                        RawStep::Analysis(refs) => CanaryStep::Analysis(tmpl(&refs)?),
                    });
                }
                spec.analysis = match analysis {
                    Some((refs, starting_step)) => Some(BackgroundAnalysis {
                        templates: tmpl(&refs)?,
                        starting_step,
                    }),
                    None => None,
                };
                RolloutStrategy::Canary(spec)
            }
            RawStrategy::BlueGreen {
                mut spec,
                active,
                preview,
            } => {
                spec.active_service = svc(&active)?;
                spec.preview_service = preview.as_ref().map(&svc).transpose()?;
                RolloutStrategy::BlueGreen(spec)
            }
        };
        out.push(RolloutSpec { strategy, ..d.spec });
    }
    Ok(out)
}
