//! The HPA replica calculator, a pure function of the pods, their metrics and the target, as
//! upstream's `pkg/controller/podautoscaler/replica_calculator.go` (`GetResourceReplicas`,
//! `calcPlainMetricReplicas`, `groupPods`, `GetExternalMetricReplicas`,
//! `GetExternalPerPodMetricReplicas`) and `metrics/utilization.go`
//! (`GetResourceUtilizationRatio`, `GetMetricUsageRatio`).
//!
//! Values are milli-units (`int64` as upstream's `MilliValue`); utilization is an integer
//! percent truncated as Go's integer division; ratios and replica counts use `f64` and `ceil`
//! as upstream's `math.Ceil`.

use crate::engine::{SimDuration, SimTime};

/// What the calculator needs to know of one pod selected by the target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PodSample {
    /// `deletionTimestamp` set, or phase `Failed`: ignored entirely.
    pub deleted_or_failed: bool,
    /// Phase `Pending`: counted as unready.
    pub pending: bool,
    /// `status.startTime` (when the kubelet accepted the pod).
    pub start_time: Option<SimTime>,
    /// The `Ready` condition: `(status, lastTransitionTime)`, `None` if the pod has none.
    pub ready: Option<(bool, SimTime)>,
    /// The pod's request of the resource (sum over containers), milli-units; `None` when a
    /// container has no request (the calculation then fails, as upstream).
    pub request: Option<i64>,
    /// The pod's metric, if the metrics API has one: `(value, timestamp)`.
    pub metric: Option<(i64, SimTime)>,
}

/// The calculator's settings (kube-controller-manager flags) and the clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CalcConfig {
    /// `--horizontal-pod-autoscaler-tolerance` (0.1).
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (5 m).
    pub cpu_initialization_period: SimDuration,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (30 s).
    pub initial_readiness_delay: SimDuration,
    /// The window each metric sample covers (metrics-server's `window`).
    pub metric_window: SimDuration,
    /// Now.
    pub now: SimTime,
}

/// How `groupPods` classified a pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Counted, with its metric.
    Ready,
    /// Pending, or (CPU) not ready / still initializing: left out, counted as 0 % on a scale-up.
    Unready,
    /// No metric: counted as 100 % (of request or target) on a scale-down, 0 % on a scale-up.
    Missing,
    /// Being deleted or failed: left out entirely.
    Ignored,
}

/// Why no recommendation could be computed (upstream's error strings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalcError(pub String);

/// Upstream `groupPods`. `cpu` selects the CPU-specific readiness rules (Resource metric on
/// `cpu`).
pub fn group_pods(pods: &[PodSample], cpu: bool, cfg: &CalcConfig) -> Vec<Group> {
    pods.iter()
        .map(|p| {
            if p.deleted_or_failed {
                return Group::Ignored;
            }
            if p.pending {
                return Group::Unready;
            }
            let Some((_, ts)) = p.metric else {
                return Group::Missing;
            };
            if cpu {
                let unready = match (p.ready, p.start_time) {
                    (Some((status, transition)), Some(start)) => {
                        if start + cfg.cpu_initialization_period > cfg.now {
                            // Within the initialization period: ignore the sample if the pod is
                            // unready or one window has not passed since its last transition.
                            !status || ts < transition + cfg.metric_window
                        } else {
                            // Ignore it if the pod is unready and has never been ready.
                            !status && start + cfg.initial_readiness_delay > transition
                        }
                    }
                    _ => true,
                };
                if unready {
                    return Group::Unready;
                }
            }
            Group::Ready
        })
        .collect()
}

/// Upstream `GetResourceUtilizationRatio`: `(ratio, utilization %, raw average)` over the pods
/// with a value; utilization is `sum(values) * 100 / sum(requests)` truncated.
fn utilization_ratio(
    values: &[(i64, i64)],
    target_utilization: i32,
) -> Result<(f64, i32, i64), CalcError> {
    let (mut total, mut requests) = (0i64, 0i64);
    for (v, r) in values {
        total += v;
        requests += r;
    }
    if requests == 0 || values.is_empty() {
        return Err(CalcError("no metrics returned matched known pods".into()));
    }
    let utilization = (total * 100 / requests) as i32;
    Ok((
        f64::from(utilization) / f64::from(target_utilization),
        utilization,
        total / values.len() as i64,
    ))
}

/// Upstream `GetMetricUsageRatio`: `(ratio, average)` with the average truncated.
fn usage_ratio(values: &[i64], target: i64) -> (f64, i64) {
    let total: i64 = values.iter().sum();
    let avg = total / values.len().max(1) as i64;
    (avg as f64 / target as f64, avg)
}

/// What a Resource utilization calculation returns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResourceResult {
    /// Recommended replicas.
    pub replicas: i32,
    /// Current utilization, percent of requests (truncated).
    pub utilization: i32,
    /// Current average value per pod, milli-units.
    pub raw: i64,
}

/// Upstream `GetResourceReplicas`: a Resource metric with a `Utilization` target.
pub fn resource_replicas(
    current: i32,
    target_utilization: i32,
    pods: &[PodSample],
    cpu: bool,
    cfg: &CalcConfig,
) -> Result<ResourceResult, CalcError> {
    if pods.is_empty() {
        return Err(CalcError(
            "no pods returned by selector while calculating replica count".into(),
        ));
    }
    let groups = group_pods(pods, cpu, cfg);
    let ready_count = groups.iter().filter(|g| **g == Group::Ready).count();
    let has_unready = groups.contains(&Group::Unready);
    let has_missing = groups.contains(&Group::Missing);
    let mut values: Vec<(usize, i64)> = pods
        .iter()
        .zip(&groups)
        .enumerate()
        .filter(|(_, (_, g))| **g == Group::Ready)
        .filter_map(|(i, (p, _))| p.metric.map(|(v, _)| (i, v)))
        .collect();
    if values.is_empty() {
        return Err(CalcError(
            "did not receive metrics for targeted pods (pods might be unready)".into(),
        ));
    }
    // Upstream `calculateRequests`: every selected pod needs a request.
    let mut requests = Vec::with_capacity(pods.len());
    for p in pods {
        match p.request {
            Some(r) => requests.push(r),
            None => {
                let resource = if cpu { "cpu" } else { "memory" };
                return Err(CalcError(format!("missing request for {resource}")));
            }
        }
    }
    let with_req = |vals: &[(usize, i64)]| -> Vec<(i64, i64)> {
        vals.iter().map(|(i, v)| (*v, requests[*i])).collect()
    };
    let (ratio, utilization, raw) = utilization_ratio(&with_req(&values), target_utilization)?;
    let scale_up_with_unready = has_unready && ratio > 1.0;
    if !scale_up_with_unready && !has_missing {
        if (1.0 - ratio).abs() <= cfg.tolerance {
            return Ok(ResourceResult {
                replicas: current,
                utilization,
                raw,
            });
        }
        return Ok(ResourceResult {
            replicas: (ratio * ready_count as f64).ceil() as i32,
            utilization,
            raw,
        });
    }
    for (i, g) in groups.iter().enumerate() {
        match g {
            // On a scale-down missing pods use 100 % of their request, on a scale-up 0 %.
            Group::Missing if ratio < 1.0 => values.push((i, requests[i])),
            Group::Missing if ratio > 1.0 => values.push((i, 0)),
            Group::Unready if scale_up_with_unready => values.push((i, 0)),
            _ => {}
        }
    }
    let (new_ratio, _, _) = utilization_ratio(&with_req(&values), target_utilization)?;
    let same = ResourceResult {
        replicas: current,
        utilization,
        raw,
    };
    if (1.0 - new_ratio).abs() <= cfg.tolerance
        || (ratio < 1.0 && new_ratio > 1.0)
        || (ratio > 1.0 && new_ratio < 1.0)
    {
        return Ok(same);
    }
    let replicas = (new_ratio * values.len() as f64).ceil() as i32;
    if (new_ratio < 1.0 && replicas > current) || (new_ratio > 1.0 && replicas < current) {
        return Ok(same);
    }
    Ok(ResourceResult {
        replicas,
        utilization,
        raw,
    })
}

/// Upstream `calcPlainMetricReplicas`: Pods metrics and Resource metrics with an `AverageValue`
/// target. Returns `(replicas, current average)`.
pub fn plain_replicas(
    current: i32,
    target: i64,
    pods: &[PodSample],
    cpu: bool,
    cfg: &CalcConfig,
) -> Result<(i32, i64), CalcError> {
    if pods.is_empty() {
        return Err(CalcError(
            "no pods returned by selector while calculating replica count".into(),
        ));
    }
    let groups = group_pods(pods, cpu, cfg);
    let ready_count = groups.iter().filter(|g| **g == Group::Ready).count();
    let has_unready = groups.contains(&Group::Unready);
    let has_missing = groups.contains(&Group::Missing);
    let mut values: Vec<i64> = pods
        .iter()
        .zip(&groups)
        .filter(|(_, g)| **g == Group::Ready)
        .filter_map(|(p, _)| p.metric.map(|(v, _)| v))
        .collect();
    if values.is_empty() {
        return Err(CalcError(
            "did not receive metrics for targeted pods (pods might be unready)".into(),
        ));
    }
    let (ratio, usage) = usage_ratio(&values, target);
    let scale_up_with_unready = has_unready && ratio > 1.0;
    if !scale_up_with_unready && !has_missing {
        if (1.0 - ratio).abs() <= cfg.tolerance {
            return Ok((current, usage));
        }
        return Ok(((ratio * ready_count as f64).ceil() as i32, usage));
    }
    for g in &groups {
        match g {
            // On a scale-down missing pods are at the target, on a scale-up at 0.
            Group::Missing if ratio < 1.0 => values.push(target),
            Group::Missing => values.push(0),
            Group::Unready if scale_up_with_unready => values.push(0),
            _ => {}
        }
    }
    let (new_ratio, _) = usage_ratio(&values, target);
    if (1.0 - new_ratio).abs() <= cfg.tolerance
        || (ratio < 1.0 && new_ratio > 1.0)
        || (ratio > 1.0 && new_ratio < 1.0)
    {
        return Ok((current, usage));
    }
    let replicas = (new_ratio * values.len() as f64).ceil() as i32;
    if (new_ratio < 1.0 && replicas > current) || (new_ratio > 1.0 && replicas < current) {
        return Ok((current, usage));
    }
    Ok((replicas, usage))
}

/// Upstream `GetExternalMetricReplicas` with `getUsageRatioReplicaCount`: an External metric
/// with a `Value` target. `total` is the sum of the metric's series; `ready_pods` the pods that
/// are Running and Ready. Returns `(replicas, usage)`.
pub fn external_value_replicas(
    current: i32,
    target: i64,
    total: i64,
    ready_pods: i64,
    tolerance: f64,
) -> (i32, i64) {
    let ratio = total as f64 / target as f64;
    if current != 0 {
        if (1.0 - ratio).abs() <= tolerance {
            return (current, total);
        }
        ((ratio * ready_pods as f64).ceil() as i32, total)
    } else {
        // Scale to zero or n pods depending on the ratio.
        (ratio.ceil() as i32, total)
    }
}

/// Upstream `GetExternalPerPodMetricReplicas`: an External metric with an `AverageValue`
/// target; `status_replicas` is the target's current replica count. Returns
/// `(replicas, usage per pod)`.
pub fn external_per_pod_replicas(
    status_replicas: i32,
    target_per_pod: i64,
    total: i64,
    tolerance: f64,
) -> (i32, i64) {
    let mut replicas = status_replicas;
    let ratio = total as f64 / (target_per_pod as f64 * f64::from(status_replicas));
    if (1.0 - ratio).abs() > tolerance {
        replicas = (total as f64 / target_per_pod as f64).ceil() as i32;
    }
    let usage = if status_replicas > 0 {
        (total as f64 / f64::from(status_replicas)).ceil() as i64
    } else {
        total
    };
    (replicas, usage)
}

/// Upstream `GetObjectMetricReplicas`: an Object metric with a `Value` target. The object's
/// value `usage` against `target` gives `usageRatio`, then `getUsageRatioReplicaCount` as for
/// an External metric: within the tolerance no change, else `ceil(ratio * ready pods)`, and
/// from 0 replicas `ceil(ratio)`. Returns `(replicas, usage)`.
pub fn object_value_replicas(
    current: i32,
    target: i64,
    usage: i64,
    ready_pods: i64,
    tolerance: f64,
) -> (i32, i64) {
    // The same arithmetic as `GetExternalMetricReplicas` (both call
    // `getUsageRatioReplicaCount`).
    external_value_replicas(current, target, usage, ready_pods, tolerance)
}

/// Upstream `GetObjectPerPodMetricReplicas`: an Object metric with an `AverageValue` target:
/// `usageRatio = usage / (target * statusReplicas)`; outside the tolerance
/// `ceil(usage / target)`; the reported usage is `ceil(usage / statusReplicas)`. Returns
/// `(replicas, usage per pod)`.
pub fn object_per_pod_replicas(
    status_replicas: i32,
    target_per_pod: i64,
    usage: i64,
    tolerance: f64,
) -> (i32, i64) {
    // The same arithmetic as `GetExternalPerPodMetricReplicas`.
    external_per_pod_replicas(status_replicas, target_per_pod, usage, tolerance)
}

#[cfg(test)]
#[path = "replicas_tests.rs"]
mod tests;
