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
        }
    }
}
