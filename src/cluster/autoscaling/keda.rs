//! KEDA's operator for `ScaledObject`s (`keda.sh/v1alpha1`), the subset kubesim serves.
//!
//! As KEDA documents it ("Scaling Deployments, StatefulSets & Custom Resources", keda.sh):
//! KEDA owns an HPA for each ScaledObject (named `keda-hpa-<name>`, `minReplicas =
//! max(minReplicaCount, 1)`, `maxReplicas = maxReplicaCount`, one External `AverageValue`
//! metric per trigger named `s<i>-<metric>`), which scales between 1 and N; KEDA itself handles
//! 0 <-> 1: every `pollingInterval` (30 s) it asks each trigger whether it is active (its value
//! above the activation threshold, default 0). Active at 0 replicas (or at
//! `idleReplicaCount`): scale to `max(minReplicaCount, 1)`. No trigger active for
//! `cooldownPeriod` (300 s) since the last active one, and `minReplicaCount` 0: scale to 0
//! (or `idleReplicaCount`). A target that was never active is scaled to its minimum at the
//! first poll (the cooldown only applies after a trigger fired).

use crate::cluster::apiserver;
use crate::cluster::autoscaling::AutoscalingTimer;
use crate::cluster::autoscaling::metrics::{RateMeter, service_in_flight};
use crate::cluster::autoscaling_spec::{
    HpaSpec, KedaTriggerKind, MetricSource, MetricSpec, MetricTarget, ScaledObjectSpec,
};
use crate::cluster::events::{ApiWrite, Event};
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, SimTime};

/// The HPA KEDA creates for a ScaledObject.
pub fn hpa_for(so: &ScaledObjectSpec) -> HpaSpec {
    HpaSpec {
        name: format!("keda-hpa-{}", so.name),
        namespace: so.namespace.clone(),
        target: so.target.clone(),
        min_replicas: so.min_replicas.max(1),
        max_replicas: so.max_replicas,
        metrics: so
            .triggers
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let (source, name) = match t.kind {
                    KedaTriggerKind::RequestRate { service } => (
                        MetricSource::ExternalRequestRate { service },
                        "requests_per_second",
                    ),
                    KedaTriggerKind::QueueLength { service } => (
                        MetricSource::ExternalInFlight { service },
                        "requests_in_flight",
                    ),
                };
                MetricSpec {
                    source,
                    target: MetricTarget::AverageValue(t.target),
                    name: format!("s{i}-{name}"),
                }
            })
            .collect(),
        behavior: so.behavior.clone(),
    }
}

struct Scaled {
    spec: ScaledObjectSpec,
    key: String,
    last_active: Option<SimTime>,
    rates: RateMeter,
}

/// The KEDA operator component.
pub struct KedaOperator {
    objects: Vec<Scaled>,
}

impl std::fmt::Debug for KedaOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KedaOperator")
            .field("objects", &self.objects.len())
            .finish()
    }
}

impl KedaOperator {
    /// An operator for the scenario's ScaledObjects.
    pub fn new(objects: &[ScaledObjectSpec]) -> Self {
        KedaOperator {
            objects: objects
                .iter()
                .map(|s| Scaled {
                    key: format!("{}/{}", s.namespace, s.name),
                    spec: s.clone(),
                    last_active: None,
                    rates: RateMeter::default(),
                })
                .collect(),
        }
    }

    fn poll(&mut self, i: usize, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let so = &mut self.objects[i];
        ctx.send_self(
            so.spec.polling_interval,
            Event::Autoscaling(AutoscalingTimer::KedaPoll(i as u32)),
        );
        let dkey = format!("{}/{}", so.spec.namespace, so.spec.target);
        let Some(d) = state.store.deployments.get(&dkey) else {
            return;
        };
        let current = d.replicas;
        let mut active = false;
        for (k, t) in so.spec.triggers.iter().enumerate() {
            let value = match t.kind {
                KedaTriggerKind::RequestRate { service } => so.rates.rate(state, service, now),
                KedaTriggerKind::QueueLength { service } => {
                    service_in_flight(state, service) as f64
                }
            };
            state.recorder.sample(
                now,
                "keda.trigger_value",
                &format!("{}:s{k}", so.key),
                value,
            );
            if (value * 1000.0).round() as i64 > t.activation {
                active = true;
            }
        }
        state
            .recorder
            .sample(now, "keda.active", &so.key, if active { 1.0 } else { 0.0 });
        let idle = so.spec.idle_replicas.unwrap_or(0);
        let min = so.spec.min_replicas;
        let target = if active {
            so.last_active = Some(now);
            (current == 0 || (so.spec.idle_replicas.is_some() && current == idle))
                .then_some(min.max(1))
        } else if current > idle && min == 0 {
            let cooled = so
                .last_active
                .is_none_or(|t| now >= t + so.spec.cooldown_period);
            cooled.then_some(idle)
        } else {
            None
        };
        let Some(target) = target.filter(|t| *t != current) else {
            return;
        };
        let (reason, msg) = if target > current {
            state.recorder.autoscaling.keda_activations += 1;
            (
                "KEDAScaleTargetActivated",
                format!("Scaled {dkey} from {current} to {target}"),
            )
        } else {
            state.recorder.autoscaling.keda_deactivations += 1;
            (
                "KEDAScaleTargetDeactivated",
                format!("Deactivated {dkey} from {current} to {target}"),
            )
        };
        state
            .recorder
            .event(now, "ScaledObject", so.key.clone(), reason, msg);
        apiserver::write(
            ctx,
            state,
            ApiWrite::UpdateDeployment {
                key: dkey,
                replicas: Some(target),
                template: None,
            },
        );
    }
}

impl Component<Event, ClusterState> for KedaOperator {
    fn name(&self) -> &str {
        "keda-operator"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        if let Event::Autoscaling(AutoscalingTimer::KedaPoll(i)) = event
            && (i as usize) < self.objects.len()
        {
            self.poll(i as usize, state, ctx);
        }
    }
}
