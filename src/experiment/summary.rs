//! `summary.json`: stable keys describing a run (documented in `docs/OUTPUTS.md`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cluster::objects::PodPhase;
use crate::cluster::spec::ExpectBound;
use crate::experiment::run::RunResult;

/// Version of the output format; bumped when a key or column changes meaning.
pub const FORMAT_VERSION: u32 = 1;

/// Percentiles of a latency, in seconds.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Percentiles {
    /// Number of samples.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

/// Versions of what produced the run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Versions {
    /// kubesim version.
    pub kubesim: String,
    /// Output format version.
    pub format: u32,
}

/// Outcome of one expectation.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ExpectationResult {
    /// Metric key.
    pub metric: String,
    /// `below`, `above` or `equals`.
    pub op: &'static str,
    /// The bound.
    pub bound: f64,
    /// The metric's value (`null` if the metric does not exist).
    pub value: Option<f64>,
    /// Whether it held.
    pub passed: bool,
    /// Where the expectation was written.
    pub source: String,
}

/// The whole summary.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Master seed.
    pub seed: u64,
    /// Versions.
    pub versions: Versions,
    /// True if the run stopped before its end.
    pub partial: bool,
    /// Why it stopped early (`null` when complete).
    pub partial_reason: Option<String>,
    /// Scenario duration, seconds.
    pub duration_s: f64,
    /// Simulated time reached, seconds.
    pub simulated_s: f64,
    /// Events processed by the engine.
    pub events_processed: u64,
    /// Hash of the event trace, hex (equal for equal runs).
    pub trace_hash: String,
    /// Every scalar metric, by key (the keys expectations name).
    pub metrics: BTreeMap<String, f64>,
    /// Pod created -> bound, seconds.
    pub scheduling_latency_seconds: Percentiles,
    /// Pod created -> first Ready, seconds.
    pub pod_startup_seconds: Percentiles,
    /// Node-hours by pool.
    pub node_hours: BTreeMap<String, f64>,
    /// Total cost in currency units (node-hours x pricePerHour).
    pub cost: f64,
    /// Expectations and their outcome.
    pub expectations: Vec<ExpectationResult>,
    /// True if every expectation held.
    pub expectations_passed: bool,
    /// Fields the scenario set that kubesim does not simulate (`path at file:line:col`).
    pub ignored_fields: Vec<String>,
    /// Pods still pending (not bound, not terminating) at the end, `namespace/name` to the
    /// message of their last FailedScheduling attempt (upstream's `FitError`, e.g.
    /// `0/50 nodes are available: 30 Insufficient cpu, ...`); pods never attempted are absent.
    pub pending_pods: BTreeMap<String, String>,
    /// Request traffic per `Traffic` source (omitted when the scenario has none).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub traffic: BTreeMap<String, TrafficSummary>,
    /// One entry per injected failure (crash, zone outage, partition, kubelet stop).
    pub failures: Vec<FailureSummary>,
    /// One entry per update of a pod template (Deployment rollouts, Argo Rollouts updates),
    /// omitted when there is none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub updates: Vec<crate::experiment::rollout_summary::UpdateSummary>,
    /// Requests served per version (workload and image), omitted without traffic.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub served_by_version: Vec<crate::experiment::rollout_summary::VersionSummary>,
    /// What a workload-trace replay did (absent without a `Trace` document).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceSummary>,
    /// One entry per `LeaderElection` (omitted when there is none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub leader_elections: Vec<crate::experiment::stateful_summary::LeaderElectionSummary>,
    /// Request graphs: end-to-end latency per entry Service and per call edge (absent
    /// without a `RequestGraph` document).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_graph: Option<RequestGraphSummary>,
}

/// What the request graphs did.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RequestGraphSummary {
    /// Per entry Service (`namespace/name`, a Service some `Traffic` source sends to):
    /// end-to-end latency of the successful requests of all its sources, seconds.
    pub entry_services: BTreeMap<String, RequestLatency>,
    /// Per call edge (`caller->callee`, `#2`... for repeated calls of one pair): the calls as
    /// a client saw them (a call's latency runs from its first try to its answer, retries
    /// included).
    pub calls: BTreeMap<String, TrafficSummary>,
}

/// What a workload-trace replay did.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TraceSummary {
    /// Trace format.
    pub format: String,
    /// Pods created from the trace.
    pub pods_arrived: u64,
    /// Trace pods bound to a node.
    pub pods_bound: u64,
    /// Trace pods that ran their duration and Succeeded.
    pub pods_succeeded: u64,
    /// Trace pods still unscheduled at the end of the run.
    pub pods_pending_at_end: u64,
    /// Node additions and removals applied.
    pub node_events: u64,
    /// True if the whole trace was read before the run ended.
    pub exhausted: bool,
    /// Scheduling delay (arrival -> bound), seconds.
    pub scheduling_delay_seconds: Percentiles,
    /// First arrival to last completion, seconds.
    pub makespan_s: f64,
    /// Failed scheduling attempts of trace pods.
    pub failed_attempts: u64,
    /// Failed scheduling attempts by reason (each attempt counts once per reason it named).
    pub unschedulable_by_reason: BTreeMap<String, u64>,
    /// Terminated pods removed by PodGC's threshold.
    pub pods_garbage_collected: u64,
}

/// What one injected failure did (times in seconds from the failure; `null` if it never
/// happened during the run).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FailureSummary {
    /// Timeline verb.
    pub kind: String,
    /// Node or zone.
    pub target: String,
    /// When it happened (seconds since the start).
    pub at_s: f64,
    /// Active pods on the failed nodes.
    pub pods_lost: u64,
    /// Failure -> first node marked `Ready=Unknown`.
    pub time_to_detect_s: Option<f64>,
    /// Failure -> first replacement pod Ready.
    pub time_to_first_replacement_s: Option<f64>,
    /// Failure -> every affected workload fully Ready again.
    pub time_to_full_recovery_s: Option<f64>,
}

/// Request latency percentiles of one traffic source, in seconds.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RequestLatency {
    /// Successful requests measured.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Maximum.
    pub max: f64,
}

/// What one `Traffic` source saw over the run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TrafficSummary {
    /// Target Service, `namespace/name`.
    pub service: String,
    /// Requests issued.
    pub requests: u64,
    /// Requests that succeeded (after retries).
    pub succeeded: u64,
    /// Requests that failed for good.
    pub failed: u64,
    /// Failed requests by the cause of their last try.
    pub failed_by_cause: BTreeMap<&'static str, u64>,
    /// Requests still in flight at the end.
    pub in_flight: u64,
    /// Tries sent (first tries plus retries).
    pub tries: u64,
    /// Retries sent.
    pub retries: u64,
    /// Failed / finished requests (0 when none finished).
    pub error_rate: f64,
    /// Successful requests per simulated second.
    pub throughput_per_s: f64,
    /// End-to-end latency of successful requests.
    pub latency_seconds: RequestLatency,
    /// Exact mean time tries waited in a pod's queue, seconds.
    pub mean_queue_wait_seconds: f64,
    /// Requests abandoned by their caller (graph calls cancelled when their stage was
    /// decided); omitted when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub cancelled: u64,
    /// Retries refused by the client's circuit breaker (`maxRetries`); omitted when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub retry_overflow: u64,
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

/// The summary of one client (a source or a call edge) over `secs` simulated seconds.
fn client_summary(st: &crate::cluster::traffic::stats::TrafficStats, secs: f64) -> TrafficSummary {
    use crate::cluster::traffic::stats::FailureCause;
    let failed = st.failed_total();
    let finished = st.succeeded + failed;
    TrafficSummary {
        service: st.service.clone(),
        requests: st.requests,
        succeeded: st.succeeded,
        failed,
        failed_by_cause: FailureCause::ALL
            .iter()
            .zip(st.failed)
            .map(|(c, n)| (c.as_str(), n))
            .collect(),
        in_flight: st.in_flight,
        tries: st.tries,
        retries: st.retries,
        error_rate: if finished == 0 {
            0.0
        } else {
            failed as f64 / finished as f64
        },
        throughput_per_s: if secs > 0.0 {
            st.succeeded as f64 / secs
        } else {
            0.0
        },
        latency_seconds: request_latency(&st.latency),
        mean_queue_wait_seconds: st.mean_wait_secs(),
        cancelled: st.cancelled,
        retry_overflow: st.retry_overflow,
    }
}

/// The request-graph part of the summary (`None` without graphs), and its scalar metrics
/// (`graph.entry.<service>.latency.<q>`, `graph.call.<edge>.{error_rate,latency.<q>}`) into `m`.
fn request_graph_summary(
    result: &RunResult,
    m: &mut BTreeMap<String, f64>,
) -> Option<RequestGraphSummary> {
    let out = &result.output;
    if out.spec.request_graphs.graphs.is_empty() {
        return None;
    }
    let rec = &out.recorder.traffic;
    let secs = out.end_time.as_secs_f64();
    let mut entry: BTreeMap<String, crate::cluster::metrics::LatencyHistogram> = BTreeMap::new();
    for st in &rec.sources {
        entry
            .entry(st.service.clone())
            .or_default()
            .add(&st.latency);
    }
    let put = |m: &mut BTreeMap<String, f64>, p: &str, l: &RequestLatency| {
        for (k, v) in [
            ("mean", l.mean),
            ("p50", l.p50),
            ("p90", l.p90),
            ("p99", l.p99),
            ("p999", l.p999),
            ("max", l.max),
        ] {
            m.insert(format!("{p}.latency.{k}"), v);
        }
    };
    let entry_services: BTreeMap<String, RequestLatency> = entry
        .iter()
        .map(|(k, h)| (k.clone(), request_latency(h)))
        .collect();
    for (k, l) in &entry_services {
        put(m, &format!("graph.entry.{k}"), l);
    }
    let mut calls = BTreeMap::new();
    for st in &rec.edges {
        let t = client_summary(st, secs);
        let p = format!("graph.call.{}", st.name);
        m.insert(format!("{p}.error_rate"), t.error_rate);
        m.insert(format!("{p}.cancelled"), t.cancelled as f64);
        put(m, &p, &t.latency_seconds);
        calls.insert(st.name.clone(), t);
    }
    Some(RequestGraphSummary {
        entry_services,
        calls,
    })
}

fn request_latency(h: &crate::cluster::metrics::LatencyHistogram) -> RequestLatency {
    RequestLatency {
        count: h.count(),
        mean: h.mean_secs(),
        p50: h.quantile_secs(0.5),
        p90: h.quantile_secs(0.9),
        p99: h.quantile_secs(0.99),
        p999: h.quantile_secs(0.999),
        max: h.max_secs(),
    }
}

/// The traffic part of the summary, and its scalar metrics into `m`.
fn traffic_summary(
    result: &RunResult,
    m: &mut BTreeMap<String, f64>,
) -> BTreeMap<String, TrafficSummary> {
    let out = &result.output;
    let rec = &out.recorder.traffic;
    let secs = out.end_time.as_secs_f64();
    let mut all = BTreeMap::new();
    if !rec.sources.is_empty() {
        m.insert("traffic.ejections".into(), rec.ejections as f64);
    }
    for st in &rec.sources {
        let t = client_summary(st, secs);
        let p = |k: &str| format!("traffic.{}.{k}", st.name);
        m.insert(p("requests"), t.requests as f64);
        m.insert(p("succeeded"), t.succeeded as f64);
        m.insert(p("failed"), t.failed as f64);
        for (c, n) in &t.failed_by_cause {
            m.insert(p(&format!("failed.{c}")), *n as f64);
        }
        m.insert(p("retries"), t.retries as f64);
        m.insert(p("error_rate"), t.error_rate);
        m.insert(p("throughput"), t.throughput_per_s);
        m.insert(p("queue_wait.mean"), t.mean_queue_wait_seconds);
        let l = &t.latency_seconds;
        for (k, v) in [
            ("mean", l.mean),
            ("p50", l.p50),
            ("p90", l.p90),
            ("p99", l.p99),
            ("p999", l.p999),
            ("max", l.max),
        ] {
            m.insert(p(&format!("latency.{k}")), v);
        }
        all.insert(st.name.clone(), t);
    }
    all
}

fn percentiles(h: &crate::cluster::metrics::LatencyHistogram) -> Percentiles {
    Percentiles {
        count: h.count(),
        mean: h.mean_secs(),
        p50: h.quantile_secs(0.5),
        p90: h.quantile_secs(0.9),
        p99: h.quantile_secs(0.99),
        max: h.max_secs(),
    }
}

impl Summary {
    /// Build the summary of a run and evaluate its expectations.
    pub fn of(result: &RunResult) -> Summary {
        let out = &result.output;
        let rec = &out.recorder;
        let c = &rec.counters;
        let mut m: BTreeMap<String, f64> = BTreeMap::new();
        let mut put = |k: &str, v: f64| {
            m.insert(k.to_string(), v);
        };
        put("pods.created", c.pods_created as f64);
        put("pods.scheduled", c.pods_scheduled as f64);
        put("pods.started", c.pods_started as f64);
        put("pods.deleted", c.pods_deleted as f64);
        put("pods.failed_scheduling", c.failed_scheduling as f64);
        for phase in PodPhase::ALL {
            let n = out.store.pods.values().filter(|p| p.phase == phase).count();
            put(
                &format!("pods.end.{}", phase.as_str().to_lowercase()),
                n as f64,
            );
        }
        put(
            "pods.end.ready",
            out.store.pods.values().filter(|p| p.is_ready()).count() as f64,
        );
        put(
            "pods.end.unscheduled",
            out.store.pods.values().filter(|p| p.node.is_none()).count() as f64,
        );
        put("nodes.added", c.nodes_added as f64);
        put("nodes.removed", c.nodes_removed as f64);
        put("nodes.end", out.store.nodes.len() as f64);
        put("api.writes", c.api_writes as f64);
        let sched = percentiles(&rec.scheduling_latency);
        let start = percentiles(&rec.startup_latency);
        for (name, p) in [
            ("scheduling_latency_seconds", &sched),
            ("pod_startup_seconds", &start),
        ] {
            put(&format!("{name}.mean"), p.mean);
            put(&format!("{name}.p50"), p.p50);
            put(&format!("{name}.p90"), p.p90);
            put(&format!("{name}.p99"), p.p99);
            put(&format!("{name}.max"), p.max);
        }
        put("cost.total", rec.cost);
        put("rollouts.completed", rec.rollout_durations.count() as f64);
        put(
            "rollout_duration_seconds.max",
            rec.rollout_durations.max_secs(),
        );
        put(
            "rollout_duration_seconds.mean",
            rec.rollout_durations.mean_secs(),
        );
        put("evictions", c.evictions as f64);
        put("evictions.blocked", c.evictions_blocked as f64);
        put("pods.taint_evicted", c.taint_evictions as f64);
        put("containers.restarts", c.container_restarts as f64);
        put("containers.crashes", c.container_crashes as f64);
        put("containers.oom_killed", c.oom_kills as f64);
        put("containers.probe_killed", c.probe_kills as f64);
        put("pods.succeeded", c.pods_succeeded as f64);
        put("pods.failed", c.pods_failed as f64);
        // Jobs: how many ended each way, and per Job its duration (startTime to completion or
        // failure) and, for work-queue Jobs, the makespan (startTime to the last task done).
        if !out.spec.jobs.is_empty() {
            let done = |o| rec.jobs.iter().filter(|j| j.outcome == o).count() as f64;
            use crate::cluster::controllers::job::JobOutcome;
            put("jobs.completed", done(JobOutcome::Complete));
            put(
                "jobs.failed",
                done(JobOutcome::BackoffLimitExceeded) + done(JobOutcome::DeadlineExceeded),
            );
        }
        // Per-Job keys for the scenario's Jobs (a CronJob's runs are summed under `cronjob.`).
        for j in rec
            .jobs
            .iter()
            .filter(|j| out.spec.jobs.iter().any(|s| s.key() == j.key))
        {
            let d = j.end.saturating_since(j.start).as_secs_f64();
            put(&format!("job.{}.duration_s", j.name), d);
            put(&format!("job.{}.succeeded", j.name), f64::from(j.succeeded));
            put(&format!("job.{}.failed", j.name), f64::from(j.failed));
            if let Some(t) = j.queue_drained_at {
                put(
                    &format!("job.{}.makespan_s", j.name),
                    t.saturating_since(j.start).as_secs_f64(),
                );
            }
        }
        let failures: Vec<FailureSummary> = rec
            .failures
            .iter()
            .map(|f| {
                let since = |t: Option<crate::engine::SimTime>| {
                    t.map(|t| t.saturating_since(f.at).as_secs_f64())
                };
                FailureSummary {
                    kind: f.kind.to_string(),
                    target: f.target.clone(),
                    at_s: f.at.as_secs_f64(),
                    pods_lost: f.pods_lost,
                    time_to_detect_s: since(f.detected_at),
                    time_to_first_replacement_s: since(f.first_replacement_at),
                    time_to_full_recovery_s: since(f.recovered_at),
                }
            })
            .collect();
        if !failures.is_empty() {
            put("failures.count", failures.len() as f64);
        }
        for (i, f) in failures.iter().enumerate() {
            put(&format!("failure.{i}.pods_lost"), f.pods_lost as f64);
            for (k, v) in [
                ("time_to_detect_s", f.time_to_detect_s),
                ("time_to_first_replacement_s", f.time_to_first_replacement_s),
                ("time_to_full_recovery_s", f.time_to_full_recovery_s),
            ] {
                if let Some(v) = v {
                    put(&format!("failure.{i}.{k}"), v);
                }
            }
        }
        for d in out.store.deployments.values() {
            put(
                &format!("deployment.{}.ready_replicas", d.name),
                f64::from(d.status.ready_replicas),
            );
            put(
                &format!("deployment.{}.available_replicas", d.name),
                f64::from(d.status.available_replicas),
            );
        }
        let traffic = traffic_summary(result, &mut m);
        let request_graph = request_graph_summary(result, &mut m);
        let (updates, served_by_version) =
            crate::experiment::rollout_summary::rollout_summary(rec, out.end_time, &mut m);
        let trace = out.spec.trace.as_ref().map(|spec| {
            let t = &rec.trace;
            let pending = out
                .store
                .pods
                .values()
                .filter(|p| p.run_for.is_some() && p.node.is_none())
                .count() as u64;
            let delay = percentiles(&t.scheduling_delay);
            m.insert("trace.pods_arrived".into(), t.pods_arrived as f64);
            m.insert("trace.pods_succeeded".into(), t.pods_succeeded as f64);
            m.insert("trace.pods_pending_at_end".into(), pending as f64);
            m.insert("trace.makespan_s".into(), t.makespan().as_secs_f64());
            m.insert("trace.scheduling_delay.p50".into(), delay.p50);
            m.insert("trace.scheduling_delay.p90".into(), delay.p90);
            m.insert("trace.scheduling_delay.p99".into(), delay.p99);
            m.insert("trace.scheduling_delay.max".into(), delay.max);
            m.insert("trace.failed_attempts".into(), t.failed_attempts as f64);
            TraceSummary {
                format: spec.format.clone(),
                pods_arrived: t.pods_arrived,
                pods_bound: t.pods_bound,
                pods_succeeded: t.pods_succeeded,
                pods_pending_at_end: pending,
                node_events: t.node_events,
                exhausted: t.exhausted,
                scheduling_delay_seconds: delay,
                makespan_s: t.makespan().as_secs_f64(),
                failed_attempts: t.failed_attempts,
                unschedulable_by_reason: t.unschedulable_by_reason.clone(),
                pods_garbage_collected: t.pods_garbage_collected,
            }
        });
        autoscaling_summary(result, &mut m);
        let leader_elections = crate::experiment::stateful_summary::stateful_summary(out, &mut m);
        let expectations: Vec<ExpectationResult> = out
            .spec
            .expectations
            .iter()
            .map(|e| {
                let value = m.get(&e.metric).copied();
                let (op, bound, passed) = match e.bound {
                    ExpectBound::Below(b) => ("below", b, value.is_some_and(|v| v < b)),
                    ExpectBound::Above(b) => ("above", b, value.is_some_and(|v| v > b)),
                    ExpectBound::Equals(b) => {
                        ("equals", b, value.is_some_and(|v| (v - b).abs() <= 1e-9))
                    }
                };
                ExpectationResult {
                    metric: e.metric.clone(),
                    op,
                    bound,
                    value,
                    passed,
                    source: e.source.clone(),
                }
            })
            .collect();
        Summary {
            scenario: out.spec.name.clone(),
            seed: out.spec.seed,
            versions: Versions {
                kubesim: env!("CARGO_PKG_VERSION").to_string(),
                format: FORMAT_VERSION,
            },
            partial: result.partial.is_some(),
            partial_reason: result.partial.clone(),
            duration_s: out.spec.duration.as_secs_f64(),
            simulated_s: out.end_time.as_secs_f64(),
            events_processed: out.events_processed,
            trace_hash: format!("{:016x}", out.trace_hash),
            node_hours: rec
                .node_seconds
                .iter()
                .map(|(k, v)| (k.clone(), v / 3600.0))
                .collect(),
            cost: rec.cost,
            expectations_passed: expectations.iter().all(|e| e.passed),
            expectations,
            metrics: m,
            scheduling_latency_seconds: sched,
            pod_startup_seconds: start,
            traffic,
            request_graph,
            ignored_fields: out
                .spec
                .ignored_fields
                .iter()
                .map(|f| format!("{} at {}", f.path, f.location))
                .collect(),
            pending_pods: out
                .store
                .pods
                .values()
                .filter(|p| p.node.is_none() && p.deletion_timestamp.is_none())
                .filter_map(|p| {
                    let key = p.key();
                    rec.pending_reasons.get(&key).map(|m| (key, m.clone()))
                })
                .collect(),
            failures,
            updates,
            served_by_version,
            trace,
            leader_elections,
        }
    }
}

/// The autoscaling keys of `metrics` (only when the scenario has an HPA, a ScaledObject or a
/// node group): rescales, node-group changes, time pods waited for capacity, cost per million
/// requests and idle capacity.
fn autoscaling_summary(result: &RunResult, m: &mut BTreeMap<String, f64>) {
    let rec = &result.output.recorder;
    let a = &rec.autoscaling;
    if !a.active {
        return;
    }
    let mut put = |k: &str, v: f64| {
        m.insert(k.to_string(), v);
    };
    put("autoscaling.hpa_scale_ups", a.hpa_scale_ups as f64);
    put("autoscaling.hpa_scale_downs", a.hpa_scale_downs as f64);
    put("autoscaling.keda_activations", a.keda_activations as f64);
    put(
        "autoscaling.keda_deactivations",
        a.keda_deactivations as f64,
    );
    put("autoscaling.ca_scale_ups", a.ca_scale_ups as f64);
    put(
        "autoscaling.ca_nodes_requested",
        a.ca_nodes_requested as f64,
    );
    put("autoscaling.ca_nodes_failed", a.ca_nodes_failed as f64);
    put("autoscaling.ca_nodes_removed", a.ca_nodes_removed as f64);
    let p = percentiles(&a.pending_for_capacity);
    put("pending_for_capacity_seconds.count", p.count as f64);
    put("pending_for_capacity_seconds.mean", p.mean);
    put("pending_for_capacity_seconds.p99", p.p99);
    put("pending_for_capacity_seconds.max", p.max);
    // Peak node count over the samples (kept as they were taken: the rows themselves may have
    // been streamed to timeseries.csv).
    let agg = &rec.sample_aggregates;
    put("nodes.peak", agg.nodes_peak);
    // Idle capacity: the time-average of the CPU nobody requested, and its share of the bill.
    if let Some(mean) = agg.cpu_requested_ratio_mean() {
        let idle = 1.0 - mean;
        put("cost.idle_cpu_fraction", idle);
        put("cost.idle", rec.cost * idle);
    }
    let requests: u64 = rec.traffic.sources.iter().map(|s| s.requests).sum();
    if requests > 0 {
        put(
            "cost.per_million_requests",
            rec.cost / requests as f64 * 1e6,
        );
    }
}
