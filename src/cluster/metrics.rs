//! What a run records: the event log (like `kubectl get events`), sampled gauges in long form,
//! latency histograms and counters. Filled by the components as the run goes; written to files
//! by [`crate::experiment`].

use std::collections::BTreeMap;
use std::sync::Arc;

use hdrhistogram::Histogram;

use crate::engine::{SimDuration, SimTime};

/// One row of `events.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// When it happened.
    pub time: SimTime,
    /// Row number in the log (0-based), a tie-breaker for rows at the same time.
    pub seq: u64,
    /// Object kind (`Pod`, `Node`, `ReplicaSet`, `Deployment`, `Timeline`).
    pub kind: &'static str,
    /// Object (`namespace/name`, or the node name).
    pub object: String,
    /// Reason, upstream spelling where one exists (`Scheduled`, `FailedScheduling`, `Pulled`).
    pub reason: &'static str,
    /// Human message.
    pub message: String,
}

/// One row of `timeseries.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleRow {
    /// Sample time.
    pub time: SimTime,
    /// Metric name (see `docs/OUTPUTS.md`).
    pub metric: &'static str,
    /// Object the value is about (`""` for cluster-wide values); one shared copy per name
    /// ([`NameInterner`]), as a long run has millions of rows but a few thousand names.
    pub object: Arc<str>,
    /// Value.
    pub value: f64,
}

/// A set of names each stored once, handed out as shared [`Arc<str>`]s. It is only looked up,
/// never iterated, so its hash order cannot reach any output.
#[derive(Default)]
pub struct NameInterner {
    names: std::collections::HashSet<Arc<str>>,
}

impl NameInterner {
    /// The shared copy of `name`, stored on first use.
    pub fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(a) = self.names.get(name) {
            return Arc::clone(a);
        }
        let a: Arc<str> = Arc::from(name);
        self.names.insert(Arc::clone(&a));
        a
    }

    /// How many distinct names are stored.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when no name is stored.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

impl std::fmt::Debug for NameInterner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NameInterner")
            .field("names", &self.names.len())
            .finish()
    }
}

/// Latency histogram in nanoseconds, with 3 significant digits (mergeable).
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    hist: Histogram<u64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            hist: Histogram::new(3).expect("3 significant digits is a valid precision"),
        }
    }
}

impl LatencyHistogram {
    /// Record one latency.
    pub fn record(&mut self, d: SimDuration) {
        // Values above the auto-resized range cannot occur: the histogram grows as needed.
        let _ = self.hist.record(d.as_nanos().max(1));
    }

    /// Record `n` occurrences of one latency (the fluid traffic model's weighted quantiles).
    pub fn record_n(&mut self, d: SimDuration, n: u64) {
        if n > 0 {
            let _ = self.hist.record_n(d.as_nanos().max(1), n);
        }
    }

    /// Number of recorded values.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// The `q`-quantile (0..=1) in seconds, or 0 when empty.
    pub fn quantile_secs(&self, q: f64) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        self.hist.value_at_quantile(q) as f64 / 1e9
    }

    /// Mean in seconds, or 0 when empty.
    pub fn mean_secs(&self) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        self.hist.mean() / 1e9
    }

    /// Forget every recorded value.
    pub fn reset(&mut self) {
        self.hist.reset();
    }

    /// The values recorded since `earlier` was a copy of this histogram (a window).
    pub fn since(&self, earlier: &LatencyHistogram) -> LatencyHistogram {
        let mut hist = self.hist.clone();
        // `earlier` is a past state of the same histogram, so every count is covered.
        let _ = hist.subtract(&earlier.hist);
        LatencyHistogram { hist }
    }

    /// Add every value of `other`.
    pub fn add(&mut self, other: &LatencyHistogram) {
        let _ = self.hist.add(&other.hist);
    }

    /// Largest value in seconds, or 0 when empty.
    pub fn max_secs(&self) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        self.hist.max() as f64 / 1e9
    }
}

/// Counters kept over the run (all are totals since the start).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Pods created.
    pub pods_created: u64,
    /// Pods bound to a node.
    pub pods_scheduled: u64,
    /// Pods that reached Ready for the first time.
    pub pods_started: u64,
    /// Pods removed from the store.
    pub pods_deleted: u64,
    /// Scheduling attempts that found no node.
    pub failed_scheduling: u64,
    /// Nodes registered (including those present at the start).
    pub nodes_added: u64,
    /// Nodes deleted.
    pub nodes_removed: u64,
    /// API writes committed.
    pub api_writes: u64,
    /// Evictions the Eviction API allowed.
    pub evictions: u64,
    /// Evictions the Eviction API refused (a PodDisruptionBudget would be violated).
    pub evictions_blocked: u64,
    /// Pods deleted by the taint eviction controller (NoExecute taints).
    pub taint_evictions: u64,
    /// Container restarts by the kubelet (after a crash, an OOM kill or a probe kill).
    pub container_restarts: u64,
    /// Containers that exited with a non-zero code on their own (crashes).
    pub container_crashes: u64,
    /// Containers killed by the OOM killer.
    pub oom_kills: u64,
    /// Containers killed after a failed liveness or startup probe.
    pub probe_kills: u64,
    /// Pods that ended `Succeeded`.
    pub pods_succeeded: u64,
    /// Pods that ended `Failed`.
    pub pods_failed: u64,
}

/// Everything recorded during a run.
#[derive(Debug, Default)]
pub struct Recorder {
    /// The event log.
    pub events: Vec<EventRow>,
    /// Sampled gauges.
    pub samples: Vec<SampleRow>,
    /// Pod created -> bound.
    pub scheduling_latency: LatencyHistogram,
    /// Pod created -> first Ready.
    pub startup_latency: LatencyHistogram,
    /// Totals.
    pub counters: Counters,
    /// Deployment rollouts: new ReplicaSet created -> rollout complete.
    pub rollout_durations: LatencyHistogram,
    /// Node-hours by pool (pool name, or `""` for nodes without a pool) — closed intervals only;
    /// open ones are added at the end of the run.
    pub node_seconds: BTreeMap<String, f64>,
    /// Cost so far in currency units (closed node lifetimes only).
    pub cost: f64,
    /// Request traffic: per source counts, failures and latencies.
    pub traffic: crate::cluster::traffic::stats::TrafficRecord,
    /// Scheduling attempts recorded for `kubesim explain` (only for the pod asked about).
    pub explanations: Vec<crate::cluster::scheduler::explain::Explanation>,
    /// The latest FailedScheduling message of each pod not scheduled since (`namespace/name`).
    pub pending_reasons: BTreeMap<String, String>,
    /// What a trace replay records (see [`crate::cluster::trace`]).
    pub trace: crate::cluster::trace::TraceStats,
    /// Which rows the event log keeps (default: all).
    pub event_level: EventLevel,
    /// One record per injected failure (crash, zone outage, partition, kubelet stop), in
    /// order.
    pub failures: Vec<FailureRecord>,
    /// One record per update of a Rollout's (or Deployment's) pod template, in start order.
    pub updates: Vec<crate::cluster::argo::record::UpdateRecord>,
    /// Analysis measurements taken (all Rollouts).
    pub analysis_measurements: u64,
    /// One record per Job that finished (complete or failed), in the order they finished.
    pub jobs: Vec<JobRecord>,
    /// What the autoscalers did (HPA, KEDA, cluster autoscaler).
    pub autoscaling: crate::cluster::autoscaling::AutoscalingRecord,
    /// What the StatefulSets, CronJobs and leader elections did.
    pub stateful: crate::cluster::stateful_record::StatefulRecord,
    /// Every eviction the Eviction API allowed, with the PDB status it saw (for `--check`).
    pub evictions: Vec<crate::cluster::disruption::EvictionRecord>,
    /// The object names of [`Recorder::samples`], each stored once.
    pub sample_names: NameInterner,
    /// What the summary needs from the time series, kept as the rows are recorded, so that
    /// the rows themselves may be streamed out of [`Recorder::samples`] as the run goes.
    pub sample_aggregates: SampleAggregates,
}

/// Running aggregates of the time series that `summary.json` reports. They are updated where
/// the rows are recorded (the sampler), so they stay right when the runner moves the rows out
/// of [`Recorder::samples`] to a file during the run.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleAggregates {
    /// Largest `nodes.total` sampled (0 before any sample).
    pub nodes_peak: f64,
    /// Sum of the `cluster.cpu_requested_ratio` samples, in sample order (starts at `-0.0`,
    /// as `f64`'s `Sum` does, so the result is the same as summing the rows).
    pub cpu_requested_ratio_sum: f64,
    /// Number of `cluster.cpu_requested_ratio` samples.
    pub cpu_requested_ratio_count: u64,
}

impl Default for SampleAggregates {
    fn default() -> Self {
        SampleAggregates {
            nodes_peak: 0.0,
            cpu_requested_ratio_sum: -0.0,
            cpu_requested_ratio_count: 0,
        }
    }
}

impl SampleAggregates {
    /// Account one `nodes.total` sample.
    pub fn nodes_total(&mut self, v: f64) {
        self.nodes_peak = self.nodes_peak.max(v);
    }

    /// Account one `cluster.cpu_requested_ratio` sample.
    pub fn cpu_requested_ratio(&mut self, v: f64) {
        self.cpu_requested_ratio_sum += v;
        self.cpu_requested_ratio_count += 1;
    }

    /// Mean of the `cluster.cpu_requested_ratio` samples, or `None` before the first.
    pub fn cpu_requested_ratio_mean(&self) -> Option<f64> {
        (self.cpu_requested_ratio_count > 0)
            .then(|| self.cpu_requested_ratio_sum / self.cpu_requested_ratio_count as f64)
    }
}

/// How one Job ended.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRecord {
    /// `metadata.name`.
    pub name: String,
    /// `namespace/name`.
    pub key: String,
    /// `status.startTime`.
    pub start: SimTime,
    /// `status.completionTime` (or when the `Failed` condition was set).
    pub end: SimTime,
    /// Condition and reason.
    pub outcome: crate::cluster::controllers::job::JobOutcome,
    /// `status.succeeded` at the end.
    pub succeeded: i32,
    /// `status.failed` at the end.
    pub failed: i32,
    /// For a work-queue Job (`Behavior` `spec.workQueue`): when its last task finished.
    pub queue_drained_at: Option<SimTime>,
}

/// What one injected failure did: when it was detected, when the first replacement pod became
/// Ready, and when its workloads were whole again.
#[derive(Clone, Debug, PartialEq)]
pub struct FailureRecord {
    /// Timeline verb (`crashNode`, `zoneOutage`, `partition`, `kubeletStop`).
    pub kind: &'static str,
    /// Node or zone.
    pub target: String,
    /// When it happened.
    pub at: SimTime,
    /// Nodes it hit.
    pub nodes: Vec<String>,
    /// Workloads (`Deployment ns/name` or `ReplicaSet ns/name`) that had pods there.
    pub workloads: Vec<String>,
    /// Active pods bound to those nodes at the time.
    pub pods_lost: u64,
    /// When the first of its nodes was marked `Ready=Unknown`.
    pub detected_at: Option<SimTime>,
    /// When the first pod created after the failure for one of its workloads became Ready.
    pub first_replacement_at: Option<SimTime>,
    /// When, after a replacement, every workload had all its replicas Ready again.
    pub recovered_at: Option<SimTime>,
}

impl Recorder {
    /// Append an event-log row.
    pub fn event(
        &mut self,
        time: SimTime,
        kind: &'static str,
        object: impl Into<String>,
        reason: &'static str,
        message: impl Into<String>,
    ) {
        if !self.records(kind, reason) {
            return;
        }
        let seq = self.events.len() as u64;
        self.events.push(EventRow {
            time,
            seq,
            kind,
            object: object.into(),
            reason,
            message: message.into(),
        });
    }

    /// True if an event-log row of `kind` with `reason` would be kept at the configured
    /// [`EventLevel`]. Hot paths ask first, so that they build the row's object name and message
    /// (allocations, formatting) only when the row is kept; [`Recorder::event`] asks too.
    pub fn records(&self, kind: &str, reason: &str) -> bool {
        match self.event_level {
            EventLevel::All => true,
            EventLevel::Warnings => kind == "Timeline" || is_warning(reason),
            EventLevel::None => false,
        }
    }

    /// Append a sample row.
    pub fn sample(&mut self, time: SimTime, metric: &'static str, object: &str, value: f64) {
        self.samples.push(SampleRow {
            time,
            metric,
            object: self.sample_names.intern(object),
            value,
        });
    }

    /// Account a node's lifetime from `from` to `to` at `price_per_hour`.
    pub fn node_lifetime(&mut self, pool: &str, from: SimTime, to: SimTime, price_per_hour: f64) {
        let secs = to.saturating_since(from).as_secs_f64();
        *self.node_seconds.entry(pool.to_string()).or_insert(0.0) += secs;
        self.cost += secs / 3600.0 * price_per_hour;
    }
}

impl Recorder {
    /// A node was marked not ready: the first such mark of an open failure's node is its
    /// detection.
    pub fn node_not_ready(&mut self, node: &str, now: SimTime) {
        for f in &mut self.failures {
            if f.detected_at.is_none() && now >= f.at && f.nodes.iter().any(|n| n == node) {
                f.detected_at = Some(now);
            }
        }
    }

    /// A pod of `workload` created at `created` became Ready at `now`: a replacement for every
    /// failure of that workload that happened before it was created.
    pub fn replacement_ready(&mut self, workload: &str, created: SimTime, now: SimTime) {
        for f in &mut self.failures {
            if f.first_replacement_at.is_none()
                && created >= f.at
                && f.workloads.iter().any(|w| w == workload)
            {
                f.first_replacement_at = Some(now);
            }
        }
    }
}

/// Which rows the event log (`events.csv`) keeps. A trace of a million pods logs several rows
/// per pod at `All`; `Warnings` keeps only what went wrong.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EventLevel {
    /// Every state change (the default).
    #[default]
    All,
    /// Only warnings: `FailedScheduling`, evictions, node failures and other reasons that
    /// `kubectl get events` shows with type `Warning` (see [`is_warning`]).
    Warnings,
    /// No rows.
    None,
}

/// True for reasons upstream emits as `Warning` events (or that kubesim logs for a failure):
/// `FailedScheduling`, `EvictionBlocked`, `NodeNotReady`, `NodeNotSchedulable`, `TaintAdded`,
/// `Evicted`, `Killing`, `PodGC`, `BackOff`, `Unhealthy`, `RemovingNode`,
/// `TaintManagerEviction`, and a client circuit breaker's `BreakerOpened`. (At [`EventLevel::Warnings`] rows of kind `Timeline` are kept too.)
pub fn is_warning(reason: &str) -> bool {
    matches!(
        reason,
        "FailedScheduling"
            | "EvictionBlocked"
            | "NodeNotReady"
            | "NodeNotSchedulable"
            | "TaintAdded"
            | "Evicted"
            | "Killing"
            | "PodGC"
            | "BackOff"
            | "Unhealthy"
            | "RemovingNode"
            | "TaintManagerEviction"
            | "BreakerOpened"
    )
}
