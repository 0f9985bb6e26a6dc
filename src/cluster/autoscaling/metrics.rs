//! The metrics APIs as the autoscalers see them, read from the shared state.
//!
//! - **Resource metrics** (metrics-server): a pod's CPU usage over the last sample interval,
//!   from the traffic model (`ClusterState::pod_cpu_usage`), or, for a workload with a
//!   `cpuLoad` curve, the curve's total shared evenly by the workload's Running and Ready pods
//!   (a Running pod that is not Ready uses 0). The sample's timestamp is the last multiple of
//!   the scenario's `sampleEvery` (when the traffic model samples) and its window is
//!   `sampleEvery`; before the first sample there is none.
//! - **Request rates** per Service: requests the `Traffic` sources sent to it, over the time
//!   since the reader's previous look ([`RateMeter`]).
//! - **Requests in flight** per Service: requests of its sources not yet answered.

use std::collections::BTreeMap;

use crate::cluster::autoscaling::replicas::PodSample;
use crate::cluster::objects::{Pod, PodPhase};
use crate::cluster::spec::LabelSelector;
use crate::cluster::state::ClusterState;
use crate::engine::{SimDuration, SimTime};

/// The time of the latest metrics sample at `now` (multiples of `every`, none at time zero).
pub fn last_sample_time(now: SimTime, every: SimDuration) -> Option<SimTime> {
    let e = every.as_nanos();
    if e == 0 || now.as_nanos() < e {
        return None;
    }
    Some(SimTime(now.as_nanos() / e * e))
}

/// The pods of `namespace` matched by `selector`, in creation order.
pub fn selected_pods<'a>(
    state: &'a ClusterState,
    namespace: &str,
    selector: &LabelSelector,
) -> Vec<&'a Pod> {
    state
        .store
        .pods
        .values()
        .filter(|p| p.namespace == namespace && selector.matches(&p.labels))
        .collect()
}

/// A pod's CPU usage in millicores as metrics-server would report it at `now`, with the
/// sample's timestamp.
pub fn pod_cpu(state: &ClusterState, pod: &Pod, now: SimTime) -> Option<(i64, SimTime)> {
    let ts = last_sample_time(now, state.spec.sample_every)?;
    if pod.phase != PodPhase::Running {
        return None;
    }
    if let Some(v) = state.pod_cpu_usage.get(&pod.id) {
        return Some((v.round() as i64, ts));
    }
    let load = state.spec.autoscaling.cpu_load.get(&pod.workload)?;
    if !pod.is_ready() {
        return Some((0, ts));
    }
    let ready = state
        .store
        .pods
        .values()
        .filter(|p| p.workload == pod.workload && p.is_ready() && p.is_active())
        .count()
        .max(1);
    Some(((load.total_at(ts) / ready as f64).round() as i64, ts))
}

/// The calculator's view of `pod`, with `metric` as its metric. The pod's `startTime` is when
/// it was bound (the kubelet accepts it then); its Ready condition changed when it last became
/// Ready, or, never ready, when it was bound (the kubelet posts `Ready=False` at once).
pub fn pod_sample(pod: &Pod, metric: Option<(i64, SimTime)>, cpu_request: bool) -> PodSample {
    let request = if cpu_request {
        let cs = &pod.template.containers;
        if cs.iter().all(|c| c.requests.cpu_milli > 0) {
            Some(cs.iter().map(|c| c.requests.cpu_milli).sum())
        } else {
            None
        }
    } else {
        Some(0)
    };
    PodSample {
        deleted_or_failed: pod.deletion_timestamp.is_some() || pod.phase == PodPhase::Failed,
        pending: pod.phase == PodPhase::Pending,
        start_time: pod.scheduled_at,
        ready: pod
            .ready_since
            .map(|t| (true, t))
            .or_else(|| pod.scheduled_at.map(|t| (false, t))),
        request,
        metric,
    }
}

/// Requests the `Traffic` sources have sent to Service `service` since the start.
pub fn service_requests(state: &ClusterState, service: usize) -> u64 {
    state
        .spec
        .traffic
        .iter()
        .zip(&state.recorder.traffic.sources)
        .filter(|(t, _)| t.service == service)
        .map(|(_, s)| s.requests)
        .sum()
}

/// Requests to Service `service` not yet answered (queued, in service or backing off).
pub fn service_in_flight(state: &ClusterState, service: usize) -> u64 {
    state
        .spec
        .traffic
        .iter()
        .zip(&state.recorder.traffic.sources)
        .filter(|(t, _)| t.service == service)
        .map(|(_, s)| s.in_flight)
        .sum()
}

/// Request rate per Service between successive reads.
#[derive(Clone, Debug, Default)]
pub struct RateMeter {
    /// Per Service: (requests at the last read, its time, the rate it returned).
    last: BTreeMap<usize, (u64, SimTime, f64)>,
}

impl RateMeter {
    /// Requests per second to `service` since the previous read at an earlier time (since the
    /// start on the first read); a second read at the same instant returns the same rate.
    pub fn rate(&mut self, state: &ClusterState, service: usize, now: SimTime) -> f64 {
        let total = service_requests(state, service);
        let (prev, since, last_rate) =
            self.last
                .get(&service)
                .copied()
                .unwrap_or((0, SimTime::ZERO, 0.0));
        if since == now && self.last.contains_key(&service) {
            return last_rate;
        }
        let dt = now.saturating_since(since).as_secs_f64();
        let rate = if dt > 0.0 {
            total.saturating_sub(prev) as f64 / dt
        } else {
            0.0
        };
        self.last.insert(service, (total, now, rate));
        rate
    }
}

/// Each Ready pod's share of its Services' request rates (`rates` by Service index): a
/// Service's rate split evenly over its Ready endpoints. Not-Ready Running pods get 0, others
/// none.
pub fn pod_request_rates(
    state: &ClusterState,
    pods: &[&Pod],
    rates: &BTreeMap<usize, f64>,
) -> Vec<Option<f64>> {
    let services = &state.spec.services;
    let endpoints: BTreeMap<usize, usize> = rates
        .keys()
        .map(|&i| {
            let s = &services[i];
            let n = state
                .store
                .pods
                .values()
                .filter(|p| {
                    p.namespace == s.namespace
                        && p.is_ready()
                        && p.is_active()
                        && !s.selector.is_empty()
                        && s.selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
                })
                .count();
            (i, n)
        })
        .collect();
    pods.iter()
        .map(|p| {
            if p.phase != PodPhase::Running {
                return None;
            }
            if !p.is_ready() {
                return Some(0.0);
            }
            let mut r = 0.0;
            for (&i, rate) in rates {
                let s = &services[i];
                let selects = p.namespace == s.namespace
                    && !s.selector.is_empty()
                    && s.selector.iter().all(|(k, v)| p.labels.get(k) == Some(v));
                if selects {
                    r += rate / endpoints[&i].max(1) as f64;
                }
            }
            Some(r)
        })
        .collect()
}

/// The Services whose selector matches any pod of the template labels (for Pods metrics).
pub fn services_selecting(
    state: &ClusterState,
    namespace: &str,
    labels: &crate::cluster::spec::Labels,
) -> Vec<usize> {
    state
        .spec
        .services
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            s.namespace == namespace
                && !s.selector.is_empty()
                && s.selector.iter().all(|(k, v)| labels.get(k) == Some(v))
        })
        .map(|(i, _)| i)
        .collect()
}

/// A pod's memory in use as metrics-server would report it at `now`, in milli-bytes (upstream
/// reads every resource with `MilliValue`), with the sample's timestamp. kubesim's memory
/// model is the Behavior's `memoryLeak`: `initial` plus `rate` times the time since the pod's
/// containers started, at most the first container's memory limit when it has one (the kernel
/// kills it there). Only Running pods have a value.
pub fn pod_memory(state: &ClusterState, pod: &Pod, now: SimTime) -> Option<(i64, SimTime)> {
    let ts = last_sample_time(now, state.spec.sample_every)?;
    if pod.phase != PodPhase::Running {
        return None;
    }
    let started = pod.started_at?;
    let main = pod.template.containers.first()?;
    let (initial, rate) = match state.spec.behaviors.get(&pod.workload) {
        Some(b) => {
            let h = b.health_for(&main.image);
            (h.memory_initial, h.memory_leak_per_sec)
        }
        None => (0, 0.0),
    };
    let secs = ts.saturating_since(started).as_secs_f64();
    let mut bytes = initial as f64 + rate * secs;
    if main.limits.memory_bytes > 0 {
        bytes = bytes.min(main.limits.memory_bytes as f64);
    }
    Some(((bytes * 1000.0).round() as i64, ts))
}

/// The calculator's view of `pod` for a memory metric: as [`pod_sample`], with the pod's memory
/// request (sum over containers, milli-bytes) when `with_request`, or `None` when a container
/// has none (upstream `calculatePodRequests`: "missing request for memory").
pub fn pod_memory_sample(
    pod: &Pod,
    metric: Option<(i64, SimTime)>,
    with_request: bool,
) -> PodSample {
    let mut s = pod_sample(pod, metric, false);
    if with_request {
        let cs = &pod.template.containers;
        s.request = if cs.iter().all(|c| c.requests.memory_bytes > 0) {
            Some(cs.iter().map(|c| c.requests.memory_bytes * 1000).sum())
        } else {
            None
        };
    }
    s
}
