//! What the traffic model records per traffic source: request counts, failures by cause,
//! latency histograms, queue waits.

use crate::cluster::metrics::LatencyHistogram;
use crate::engine::SimDuration;

/// Why a request (or one try of it) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureCause {
    /// The client's per-try timeout expired.
    Timeout,
    /// The pod answered with a 5xx.
    ServerError,
    /// Refused for lack of room: the client's connection pool limit (Envoy `upstream_rq_pending_overflow`,
    /// 503) or the pod's queue limit.
    Overflow,
    /// The Service had no endpoint (503 `no healthy upstream`).
    NoEndpoints,
    /// The pod was gone or went away mid-request (connection refused or reset).
    Reset,
    /// The client's `clientBreaker` (resilience4j) refused the request: open, or half-open
    /// with its trial calls taken (`CallNotPermittedException`). Nothing was sent.
    NotPermitted,
}

impl FailureCause {
    /// Every cause, in output order.
    pub const ALL: [FailureCause; 6] = [
        FailureCause::Timeout,
        FailureCause::ServerError,
        FailureCause::Overflow,
        FailureCause::NoEndpoints,
        FailureCause::Reset,
        FailureCause::NotPermitted,
    ];

    /// Name in outputs.
    pub fn as_str(&self) -> &'static str {
        match self {
            FailureCause::Timeout => "timeout",
            FailureCause::ServerError => "5xx",
            FailureCause::Overflow => "overflow",
            FailureCause::NoEndpoints => "no_endpoints",
            FailureCause::Reset => "reset",
            FailureCause::NotPermitted => "not_permitted",
        }
    }

    /// Index in [`FailureCause::ALL`] (and in [`TrafficStats::failed`]).
    pub fn index(self) -> usize {
        FailureCause::ALL
            .iter()
            .position(|c| *c == self)
            .unwrap_or(0)
    }

    /// True for causes Envoy's outlier detection counts as a server error of the host.
    pub fn is_host_error(&self) -> bool {
        matches!(self, FailureCause::ServerError | FailureCause::Reset)
    }
}

/// Successes in an interval from which the next interval adds its histogram to the total
/// instead of recording each success twice (see [`TrafficStats::record_success`]).
const MERGE_MIN_RECORDS: u64 = 2048;

/// Totals of one traffic source over the run.
#[derive(Clone, Debug, Default)]
pub struct TrafficStats {
    /// The `Traffic` document's name.
    pub name: String,
    /// The Service it sends to (`namespace/name`).
    pub service: String,
    /// Requests issued.
    pub requests: u64,
    /// Requests answered with success (after any retries).
    pub succeeded: u64,
    /// Requests that failed for good, by [`FailureCause::ALL`] index (cause of the last try).
    pub failed: [u64; 6],
    /// Tries sent (first tries and retries).
    pub tries: u64,
    /// Retries sent.
    pub retries: u64,
    /// End-to-end latency of successful requests (first try sent -> response). Complete
    /// after each sample and at the end of the run; in between it may lack the values of the
    /// current sample interval (see [`TrafficStats::record_success`]).
    pub latency: LatencyHistogram,
    /// Sum of the times tries waited in a pod's queue before a worker took them (every try a
    /// worker took, 0 for those served at once), ns.
    pub wait_sum_ns: u128,
    /// Number of queue waits summed.
    pub waits: u64,
    /// Of those, the tries that found every worker busy and waited (for P(wait)).
    pub waited: u64,
    /// Requests issued but not finished.
    pub in_flight: u64,
    /// Latency of successes since the last sample (reset by the sampler).
    pub interval_latency: LatencyHistogram,
    /// In the current sample interval, successes are recorded in both `latency` and
    /// `interval_latency`; when `false` (the default), only in `interval_latency`, which is
    /// added to `latency` when the interval ends (see [`TrafficStats::record_success`]).
    pub record_total_directly: bool,
    /// Requests abandoned by their caller before they ended (graph calls still out when
    /// their stage was decided); neither succeeded nor failed.
    pub cancelled: u64,
    /// Retries the client's circuit breaker refused (`maxRetries` outstanding already; Envoy
    /// `upstream_rq_retry_overflow`); each such request failed.
    pub retry_overflow: u64,
    /// What the client's `clientBreaker` did (all zero without one).
    pub breaker: BreakerStats,
}

/// State changes of one client's `clientBreaker` over the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BreakerStats {
    /// Transitions to OPEN.
    pub opened: u64,
    /// Transitions to HALF_OPEN.
    pub half_opened: u64,
    /// Transitions to CLOSED.
    pub closed: u64,
    /// The current state's `State.getOrder()` (0 closed, 1 open, 2 half-open).
    pub state: u8,
    /// When the current state began.
    pub since: crate::engine::SimTime,
    /// Time spent OPEN in states already left, ns.
    pub open_ns: u64,
}

impl BreakerStats {
    /// Account a transition to `to` (a `State.getOrder()` value) at `now`.
    pub fn transition(&mut self, to: u8, now: crate::engine::SimTime) {
        if self.state == 1 {
            self.open_ns += now.saturating_since(self.since).as_nanos();
        }
        match to {
            0 => self.closed += 1,
            1 => self.opened += 1,
            _ => self.half_opened += 1,
        }
        self.state = to;
        self.since = now;
    }

    /// Total time OPEN up to `end`, ns.
    pub fn open_ns_until(&self, end: crate::engine::SimTime) -> u64 {
        self.open_ns
            + if self.state == 1 {
                end.saturating_since(self.since).as_nanos()
            } else {
                0
            }
    }
}

impl TrafficStats {
    /// Requests that failed for good.
    pub fn failed_total(&self) -> u64 {
        self.failed.iter().sum()
    }

    /// Share of the tries a worker took that had to wait for it (0 when none): an
    /// estimate of Erlang C's P(wait).
    pub fn wait_probability(&self) -> f64 {
        if self.waits == 0 {
            0.0
        } else {
            self.waited as f64 / self.waits as f64
        }
    }

    /// Requests issued that are accounted for: succeeded + failed + cancelled + in flight
    /// (the conservation law says this equals `requests`).
    pub fn accounted(&self) -> u64 {
        self.succeeded + self.failed_total() + self.cancelled + self.in_flight
    }

    /// Mean queue wait in seconds (exact), 0 when none.
    pub fn mean_wait_secs(&self) -> f64 {
        if self.waits == 0 {
            0.0
        } else {
            self.wait_sum_ns as f64 / self.waits as f64 / 1e9
        }
    }

    /// Record the latency of one successful request.
    ///
    /// Each success must reach both histograms, and an `hdrhistogram` record costs about as
    /// much as the rest of a request's bookkeeping. When the last interval had many successes,
    /// this one records into `interval_latency` only, and [`end_interval`](Self::end_interval)
    /// adds it to `latency` in one pass over its counters; with few successes per interval
    /// (fine sampling, low rates) that pass would cost more than it saves, so both are recorded
    /// directly. The histograms end up identical either way: the same counts, and the same
    /// minimum, maximum and total (`Histogram::add` keeps them as the records would).
    #[inline]
    pub fn record_success(&mut self, d: SimDuration) {
        self.interval_latency.record(d);
        if self.record_total_directly {
            self.latency.record(d);
        }
    }

    /// [`record_success`](Self::record_success) for `n` successes of latency `d` (the fluid
    /// model's weighted records).
    pub fn record_success_n(&mut self, d: SimDuration, n: u64) {
        self.interval_latency.record_n(d, n);
        if self.record_total_directly {
            self.latency.record_n(d, n);
        }
    }

    /// Ends a sample interval: returns the interval's `(p50, p99)` latency in seconds, brings
    /// `latency` up to date, clears `interval_latency`, and picks how the next interval records
    /// (see [`record_success`](Self::record_success)).
    pub fn end_interval(&mut self) -> (f64, f64) {
        let p99 = self.interval_latency.quantile_secs(0.99);
        let p50 = self.interval_latency.quantile_secs(0.5);
        self.merge_interval();
        // Adding costs a pass over the interval histogram's counters (about 25,000 for
        // latencies up to seconds), a record about 60 instructions: merge when the interval
        // saves a few thousand records. Adding an empty histogram costs nothing, so an interval
        // without successes (the sample at time zero, idle spells) keeps merging.
        self.record_total_directly =
            (1..MERGE_MIN_RECORDS).contains(&self.interval_latency.count());
        self.interval_latency.reset();
        (p50, p99)
    }

    /// Adds the current interval's values to `latency` if they are not in it yet (end of the
    /// run); afterwards successes are recorded directly again.
    pub fn end_run(&mut self) {
        self.merge_interval();
        self.record_total_directly = true;
    }

    /// `latency += interval_latency`, unless the interval recorded directly.
    fn merge_interval(&mut self) {
        if !self.record_total_directly {
            self.latency.add(&self.interval_latency);
            // Its values are in `latency` now; recording directly until the interval ends
            // keeps them from being added twice.
            self.record_total_directly = true;
        }
    }

    /// Record one queue wait.
    #[inline]
    pub fn record_wait(&mut self, d: SimDuration) {
        self.wait_sum_ns += u128::from(d.as_nanos());
        self.waits += 1;
        self.waited += u64::from(d.as_nanos() > 0);
    }
}

/// Everything the traffic model records (part of [`crate::cluster::metrics::Recorder`]).
#[derive(Clone, Debug, Default)]
pub struct TrafficRecord {
    /// Per traffic source, in [`crate::cluster::spec::ClusterSpec::traffic`] order.
    pub sources: Vec<TrafficStats>,
    /// Outlier ejections performed (all Services).
    pub ejections: u64,
    /// Per call edge of the request graphs, in
    /// [`crate::cluster::request_graph_spec::RequestGraphs::edges`] order.
    pub edges: Vec<TrafficStats>,
    /// Per version (workload, image) of the pods that served, in first-seen order.
    pub versions: Vec<VersionStats>,
}

impl TrafficRecord {
    /// Brings every source's and call edge's `latency` up to date at the end of a run (see
    /// [`TrafficStats::record_success`]).
    pub fn end_run(&mut self) {
        for st in self.sources.iter_mut().chain(self.edges.iter_mut()) {
            st.end_run();
        }
    }

    /// The stats of client `client`: sources first, then call edges.
    #[inline]
    pub fn client_mut(&mut self, client: u32) -> &mut TrafficStats {
        let i = client as usize;
        let n = self.sources.len();
        if i < n {
            &mut self.sources[i]
        } else {
            &mut self.edges[i - n]
        }
    }
}

/// What the pods of one version (workload and first container's image) served.
#[derive(Clone, Debug, Default)]
pub struct VersionStats {
    /// Workload (Deployment, Rollout or ReplicaSet name).
    pub workload: String,
    /// Image.
    pub image: String,
    /// Tries served (a worker finished them), whether or not the client still waited.
    pub served: u64,
    /// Of which answered with a 5xx.
    pub errors: u64,
    /// Latency of the tries whose answer reached the client: sent to answered.
    pub latency: LatencyHistogram,
}
