//! The HorizontalPodAutoscaler controller, as upstream's
//! `pkg/controller/podautoscaler/horizontal.go` `reconcileAutoscaler`: every sync period
//! (15 s) each HPA reads its Deployment's `spec.replicas` (the scale subresource), and
//!
//! - does nothing when the Deployment has 0 replicas and `minReplicas` is not 0 (scaling
//!   disabled — how KEDA's scale to zero works);
//! - moves the count into `[minReplicas, maxReplicas]` when it is outside;
//! - else computes one proposal per metric ([`super::replicas`]), keeps the largest
//!   (`computeReplicasForMetrics`; if every metric fails, or one fails and the others propose
//!   a scale-down, it does not scale), and normalizes it ([`super::behavior`]).
//!
//! A change is written through the API (`UpdateDeployment`) and logged as upstream's
//! `SuccessfulRescale` event. Every sync records `hpa.desired_replicas`,
//! `hpa.current_replicas` and each metric's current value (`hpa.metric`).
//!
//! A `Pods` metric `requests_per_second` whose target's pods carry a metrics adapter is read
//! through the adapter's pipeline ([`super::adapter`]): the controller keeps the scrapes of
//! the request counters (one `AdapterScrape` timer per such HPA, every `scrapeInterval` from
//! time zero) and evaluates the adapter's `rate()` when it syncs.

use std::collections::BTreeMap;

use crate::cluster::apiserver;
use crate::cluster::autoscaling::AutoscalingTimer;
use crate::cluster::autoscaling::adapter::{ScrapedCounter, adapter_for};
use crate::cluster::autoscaling::behavior::HpaHistory;
use crate::cluster::autoscaling::metrics::{
    RateMeter, pod_cpu, pod_memory, pod_memory_sample, pod_request_rates, pod_sample,
    selected_pods, service_in_flight, service_requests, services_selecting,
};
use crate::cluster::autoscaling::replicas::{
    CalcConfig, external_per_pod_replicas, external_value_replicas, object_per_pod_replicas,
    object_value_replicas, plain_replicas, resource_replicas,
};
use crate::cluster::autoscaling_spec::{
    HpaControllerSpec, HpaSpec, MetricSource, MetricSpec, MetricTarget,
};
use crate::cluster::events::{ApiWrite, Event};
use crate::cluster::objects::PodPhase;
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, SimTime};

struct Hpa {
    spec: HpaSpec,
    key: String,
    history: HpaHistory,
    rates: RateMeter,
    /// The scraped request counters of the Services selecting the target's pods, when they
    /// carry a metrics adapter (set at the first scrape).
    adapter: Option<Vec<ScrapedCounter>>,
    /// The pods the target's selector matched at the last sync, with what they depend on.
    pods: PodCache,
}

/// The ids of the pods a selector matched, valid while the store's pod set (its
/// [`crate::cluster::state::Store::pod_set_version`] and size), the namespace and the selector
/// are those it was computed for: a pod's namespace and labels do not change while it is
/// stored. Listing a target's pods then costs one lookup per selected pod instead of a label
/// match of every pod (2 HPAs x 3,700 pods every 15 s in the 24 h scale run).
#[derive(Debug, Default)]
struct PodCache {
    key: Option<(u64, usize, String, crate::cluster::spec::LabelSelector)>,
    ids: Vec<crate::cluster::objects::PodId>,
}

impl PodCache {
    /// The pods of `namespace` that `selector` matches, in creation order: exactly
    /// [`selected_pods`].
    fn pods<'a>(
        &mut self,
        state: &'a ClusterState,
        namespace: &str,
        selector: &crate::cluster::spec::LabelSelector,
    ) -> Vec<&'a crate::cluster::objects::Pod> {
        let store = &state.store;
        let fresh = self.key.as_ref().is_some_and(|(v, n, ns, sel)| {
            *v == store.pod_set_version
                && *n == store.pods.len()
                && ns == namespace
                && sel == selector
        });
        if !fresh {
            let pods = selected_pods(state, namespace, selector);
            self.ids = pods.iter().map(|p| p.id).collect();
            self.key = Some((
                store.pod_set_version,
                store.pods.len(),
                namespace.to_string(),
                selector.clone(),
            ));
            return pods;
        }
        let pods: Vec<_> = self
            .ids
            .iter()
            .filter_map(|id| store.pods.get(id))
            .collect();
        debug_assert_eq!(
            pods.iter().map(|p| p.id).collect::<Vec<_>>(),
            selected_pods(state, namespace, selector)
                .iter()
                .map(|p| p.id)
                .collect::<Vec<_>>(),
            "HPA pod cache out of date"
        );
        pods
    }
}

/// The HPA controller component.
pub struct HpaController {
    hpas: Vec<Hpa>,
    config: HpaControllerSpec,
}

impl std::fmt::Debug for HpaController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HpaController")
            .field("hpas", &self.hpas.len())
            .finish()
    }
}

/// One metric's outcome: `(proposal, current value)` or an error message.
type Proposal = Result<(i32, f64), String>;

impl HpaController {
    /// A controller for `hpas` (the scenario's, then the ones KEDA owns).
    pub fn new(hpas: Vec<HpaSpec>, config: HpaControllerSpec) -> Self {
        HpaController {
            hpas: hpas
                .into_iter()
                .map(|spec| Hpa {
                    key: format!("{}/{}", spec.namespace, spec.name),
                    spec,
                    history: HpaHistory::default(),
                    rates: RateMeter::default(),
                    adapter: None,
                    pods: PodCache::default(),
                })
                .collect(),
            config,
        }
    }

    /// True if there is anything to do (else no timer is scheduled).
    pub fn is_active(&self) -> bool {
        !self.hpas.is_empty()
    }

    fn sync_all(&mut self, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        // The HPA controller is a kube-controller-manager loop: no leader, no sync (the
        // period keeps its phase).
        let hpas = if state.leadership.controller_manager {
            self.hpas.len()
        } else {
            0
        };
        for i in 0..hpas {
            self.sync(i, state, ctx, now);
        }
        ctx.send_self(
            self.config.sync_period,
            Event::Autoscaling(AutoscalingTimer::HpaSync),
        );
    }

    fn metric(
        cfg: &CalcConfig,
        h: &mut Hpa,
        m: &MetricSpec,
        current: i32,
        state: &ClusterState,
        now: SimTime,
    ) -> Proposal {
        let ns = h.spec.namespace.clone();
        let dkey = format!("{ns}/{}", h.spec.target);
        let Some(d) = state.store.deployments.get(&dkey) else {
            return Err("the target Deployment does not exist".into());
        };
        let pods = h.pods.pods(state, &ns, &d.selector);
        let err = |e: super::replicas::CalcError| e.0;
        match (&m.source, m.target) {
            (MetricSource::ResourceCpu, MetricTarget::Utilization(u)) => {
                let samples: Vec<_> = pods
                    .iter()
                    .map(|p| pod_sample(p, pod_cpu(state, p, now), true))
                    .collect();
                let r = resource_replicas(current, u, &samples, true, cfg).map_err(err)?;
                Ok((r.replicas, f64::from(r.utilization)))
            }
            (MetricSource::ResourceCpu, MetricTarget::AverageValue(v)) => {
                let samples: Vec<_> = pods
                    .iter()
                    .map(|p| pod_sample(p, pod_cpu(state, p, now), false))
                    .collect();
                let (r, u) = plain_replicas(current, v, &samples, true, cfg).map_err(err)?;
                Ok((r, u as f64 / 1000.0))
            }
            (MetricSource::ResourceMemory, MetricTarget::Utilization(u)) => {
                // Memory has no readiness or initialization rules (upstream groupPods applies
                // them to CPU only).
                let samples: Vec<_> = pods
                    .iter()
                    .map(|p| pod_memory_sample(p, pod_memory(state, p, now), true))
                    .collect();
                let r = resource_replicas(current, u, &samples, false, cfg).map_err(err)?;
                Ok((r.replicas, f64::from(r.utilization)))
            }
            (MetricSource::ResourceMemory, MetricTarget::AverageValue(v)) => {
                let samples: Vec<_> = pods
                    .iter()
                    .map(|p| pod_memory_sample(p, pod_memory(state, p, now), false))
                    .collect();
                let (r, u) = plain_replicas(current, v, &samples, false, cfg).map_err(err)?;
                // Reported in bytes.
                Ok((r, u as f64 / 1000.0))
            }
            (
                MetricSource::ObjectRequestRate { service }
                | MetricSource::ObjectInFlight { service },
                target,
            ) => {
                let value = match m.source {
                    MetricSource::ObjectRequestRate { .. } => h.rates.rate(state, *service, now),
                    _ => service_in_flight(state, *service) as f64,
                };
                let usage = (value * 1000.0).round() as i64;
                match target {
                    // Upstream GetObjectMetricReplicas: ready pods of the target's selector.
                    MetricTarget::Value(t) => {
                        let ready = pods
                            .iter()
                            .filter(|p| p.phase == PodPhase::Running && p.is_ready())
                            .count() as i64;
                        let (r, _) = object_value_replicas(current, t, usage, ready, cfg.tolerance);
                        Ok((r, value))
                    }
                    // Upstream GetObjectPerPodMetricReplicas with the scale's status replicas.
                    MetricTarget::AverageValue(t) => {
                        let (r, _) = object_per_pod_replicas(current, t, usage, cfg.tolerance);
                        Ok((r, value))
                    }
                    MetricTarget::Utilization(_) => {
                        Err("invalid target for an Object metric".into())
                    }
                }
            }
            (MetricSource::PodsRequestRate, MetricTarget::AverageValue(v)) => {
                let rates: BTreeMap<usize, f64> = match &h.adapter {
                    // Through the metrics adapter: `rate()` over the scrapes.
                    Some(counters) => {
                        let mut rates = BTreeMap::new();
                        for c in counters {
                            let Some(r) = c.rate_at(now) else {
                                return Err(format!(
                                    "unable to get metric {}: fewer than two scrapes in the adapter's rate window",
                                    m.name
                                ));
                            };
                            rates.insert(c.service, r);
                        }
                        rates
                    }
                    None => services_selecting(state, &ns, &d.template.labels)
                        .iter()
                        .map(|&s| (s, h.rates.rate(state, s, now)))
                        .collect(),
                };
                let per_pod = pod_request_rates(state, &pods, &rates);
                let ts = now;
                let samples: Vec<_> = pods
                    .iter()
                    .zip(per_pod)
                    .map(|(p, r)| {
                        pod_sample(p, r.map(|r| ((r * 1000.0).round() as i64, ts)), false)
                    })
                    .collect();
                let (r, u) = plain_replicas(current, v, &samples, false, cfg).map_err(err)?;
                Ok((r, u as f64 / 1000.0))
            }
            (
                MetricSource::ExternalRequestRate { service }
                | MetricSource::ExternalInFlight { service },
                target,
            ) => {
                let value = match m.source {
                    MetricSource::ExternalRequestRate { .. } => h.rates.rate(state, *service, now),
                    _ => service_in_flight(state, *service) as f64,
                };
                let total = (value * 1000.0).round() as i64;
                match target {
                    MetricTarget::Value(t) => {
                        let ready = pods
                            .iter()
                            .filter(|p| p.phase == PodPhase::Running && p.is_ready())
                            .count() as i64;
                        if pods.is_empty() && current != 0 {
                            return Err(
                                "no pods returned by selector while calculating replica count"
                                    .into(),
                            );
                        }
                        let (r, _) =
                            external_value_replicas(current, t, total, ready, cfg.tolerance);
                        Ok((r, value))
                    }
                    MetricTarget::AverageValue(t) => {
                        let (r, _) = external_per_pod_replicas(current, t, total, cfg.tolerance);
                        Ok((r, value))
                    }
                    MetricTarget::Utilization(_) => {
                        Err("invalid target for an External metric".into())
                    }
                }
            }
            _ => Err("unsupported metric target".into()),
        }
    }

    fn sync(
        &mut self,
        i: usize,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
        now: SimTime,
    ) {
        let cfg = CalcConfig {
            tolerance: self.config.tolerance,
            cpu_initialization_period: self.config.cpu_initialization_period,
            initial_readiness_delay: self.config.initial_readiness_delay,
            metric_window: state.spec.sample_every,
            now,
        };
        let window = self.config.downscale_stabilization;
        let h = &mut self.hpas[i];
        let dkey = format!("{}/{}", h.spec.namespace, h.spec.target);
        let Some(d) = state.store.deployments.get(&dkey) else {
            return;
        };
        let current = d.replicas;
        // Upstream `recordInitialRecommendation` (pkg/controller/podautoscaler/horizontal.go,
        // called by reconcileAutoscaler before anything else): an HPA's first reconcile seeds
        // its recommendations with the target's current replicas. So a scale-down from, say,
        // 10 replicas waits out the whole stabilization window (300 s by default) from the
        // HPA's first sync, however low the first metrics are.
        if h.history.recommendations.is_empty() {
            h.history.recommendations.push((current, now));
        }
        let (min, max) = (h.spec.min_replicas, h.spec.max_replicas);
        if current == 0 && min != 0 {
            // ScalingActive=False (ScalingDisabled): scaling is disabled at 0 replicas.
            state
                .recorder
                .sample(now, "hpa.desired_replicas", &h.key, 0.0);
            state
                .recorder
                .sample(now, "hpa.current_replicas", &h.key, 0.0);
            return;
        }
        let (desired, reason) = if current > max {
            (
                max,
                "Current number of replicas above Spec.MaxReplicas".to_string(),
            )
        } else if current < min {
            (
                min,
                "Current number of replicas below Spec.MinReplicas".to_string(),
            )
        } else {
            let metrics = h.spec.metrics.clone();
            let mut best: Option<(i32, String)> = None;
            let mut invalid = 0usize;
            let mut first_err = String::new();
            for m in &metrics {
                match Self::metric(&cfg, h, m, current, state, now) {
                    Ok((r, v)) => {
                        state.recorder.sample(
                            now,
                            "hpa.metric",
                            &format!("{}:{}", h.key, m.name),
                            v,
                        );
                        if best.as_ref().is_none_or(|(b, _)| r > *b) {
                            best = Some((r, m.name.clone()));
                        }
                    }
                    Err(e) => {
                        invalid += 1;
                        if first_err.is_empty() {
                            first_err = e;
                        }
                    }
                }
            }
            let failed = match &best {
                None => true,
                Some((r, _)) => invalid > 0 && *r < current,
            };
            if failed {
                state.recorder.event(
                    now,
                    "HorizontalPodAutoscaler",
                    h.key.clone(),
                    "FailedGetResourceMetric",
                    format!(
                        "invalid metrics ({invalid} invalid out of {}): {first_err}",
                        metrics.len()
                    ),
                );
                state
                    .recorder
                    .sample(now, "hpa.desired_replicas", &h.key, f64::from(current));
                state
                    .recorder
                    .sample(now, "hpa.current_replicas", &h.key, f64::from(current));
                return;
            }
            let (proposal, metric_name) = best.unwrap_or((current, String::new()));
            let (n, _) = match &h.spec.behavior {
                None => h
                    .history
                    .normalize_legacy(current, proposal, min, max, window, now),
                Some(b) => h
                    .history
                    .normalize_with_behavior(b, current, proposal, min, max, window, now),
            };
            let dir = if n > current { "above" } else { "below" };
            (n, format!("{metric_name} {dir} target"))
        };
        state
            .recorder
            .sample(now, "hpa.desired_replicas", &h.key, f64::from(desired));
        state
            .recorder
            .sample(now, "hpa.current_replicas", &h.key, f64::from(current));
        if desired == current {
            return;
        }
        if let Some(b) = &h.spec.behavior {
            h.history.store_scale_event(b, current, desired, now);
        }
        if desired > current {
            state.recorder.autoscaling.hpa_scale_ups += 1;
        } else {
            state.recorder.autoscaling.hpa_scale_downs += 1;
        }
        state.recorder.event(
            now,
            "HorizontalPodAutoscaler",
            h.key.clone(),
            "SuccessfulRescale",
            format!("New size: {desired}; reason: {reason}"),
        );
        apiserver::write(
            ctx,
            state,
            ApiWrite::UpdateDeployment {
                key: dkey,
                replicas: Some(desired),
                template: None,
            },
        );
    }
}

impl HpaController {
    /// Prometheus scrapes the metrics adapter behind HPA `i`: record each Service's request
    /// counter, then scrape again after `scrapeInterval`. An HPA without an adapter ignores
    /// the timer.
    fn scrape(&mut self, i: usize, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let Some(h) = self.hpas.get_mut(i) else {
            return;
        };
        if h.adapter.is_none() {
            let Some(spec) = adapter_for(&state.spec, &h.spec) else {
                return;
            };
            let Some(d) = state
                .spec
                .deployments
                .iter()
                .find(|d| d.name == h.spec.target && d.namespace == h.spec.namespace)
            else {
                return;
            };
            let services = services_selecting(state, &h.spec.namespace, &d.template.labels);
            h.adapter = Some(
                services
                    .into_iter()
                    .map(|s| ScrapedCounter::new(spec, s))
                    .collect(),
            );
        }
        let now = ctx.now();
        let mut every = None;
        for c in h.adapter.iter_mut().flatten() {
            c.scrape(now, service_requests(state, c.service));
            every = Some(c.spec.scrape_interval);
        }
        if let Some(e) = every {
            ctx.send_self(
                e,
                Event::Autoscaling(AutoscalingTimer::AdapterScrape(i as u32)),
            );
        }
    }
}

impl Component<Event, ClusterState> for HpaController {
    fn name(&self) -> &str {
        "horizontal-pod-autoscaler"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match event {
            Event::Autoscaling(AutoscalingTimer::HpaSync) => self.sync_all(state, ctx),
            Event::Autoscaling(AutoscalingTimer::AdapterScrape(i)) => {
                self.scrape(i as usize, state, ctx)
            }
            // A fresh kube-controller-manager: upstream's HorizontalController keeps its
            // recommendations and scale events in memory only, so they start over; at its
            // first reconcile `recordInitialRecommendation` (in `sync`) seeds them with the
            // target's current replicas, so a scale-down waits a whole stabilization window
            // again.
            Event::Controller(crate::cluster::events::ControllerTimer::StartedLeading) => {
                for h in &mut self.hpas {
                    h.history = HpaHistory::default();
                }
            }
            _ => {}
        }
    }
}
