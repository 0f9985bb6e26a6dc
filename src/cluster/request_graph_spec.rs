//! Validated specs of the request-level resilience and service-graph features: the calls a
//! Service's handler makes to other Services (kubesim `RequestGraph` documents), the client-side
//! circuit breaker of a traffic source or a call (Envoy's `circuit_breakers` thresholds), the
//! cost of a sidecar proxy in a serving pod, and the cost of an ambassador proxying a pod's
//! outbound calls.

use crate::cluster::spec::LoadBalancer;
use crate::engine::SimDuration;

/// Envoy's circuit-breaker thresholds for one upstream cluster, as the client's proxy applies
/// them (`config.cluster.v3.CircuitBreakers.Thresholds`). kubesim has no connection model, so
/// `max_connections` and `max_requests` both bound the tries in flight to the Service; tries
/// beyond that wait in the client's pending queue (up to `max_pending_requests`, else 503
/// `overflow`), and a retry is only scheduled while fewer than `max_retries` retries of this
/// client are outstanding (else the request fails with its last try's cause: Envoy's
/// `upstream_rq_retry_overflow`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CircuitBreakerSpec {
    /// `max_connections`: most connections to the upstream cluster (Envoy default 1024).
    pub max_connections: u32,
    /// `max_pending_requests`: most tries waiting for a connection (Envoy default 1024).
    pub max_pending_requests: u32,
    /// `max_requests`: most tries in flight to the upstream cluster (Envoy default 1024).
    pub max_requests: u32,
    /// `max_retries`: most retries outstanding at once (Envoy default 3).
    pub max_retries: u32,
}

impl Default for CircuitBreakerSpec {
    /// Envoy's defaults (`config.cluster.v3.CircuitBreakers.Thresholds`: "If not specified,
    /// the default is 1024" for connections, pending and requests, 3 for retries).
    fn default() -> Self {
        CircuitBreakerSpec {
            max_connections: 1024,
            max_pending_requests: 1024,
            max_requests: 1024,
            max_retries: 3,
        }
    }
}

impl CircuitBreakerSpec {
    /// Most tries in flight at once: `min(max_connections, max_requests)`.
    pub fn max_active(&self) -> u32 {
        self.max_connections.min(self.max_requests)
    }
}

/// The cost of a sidecar proxy (a service mesh's Envoy) in a serving pod, per request it
/// forwards to the application container. Its resource requests are those of the sidecar
/// container in the pod template, summed by the scheduler like any container.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SidecarSpec {
    /// Latency the proxy adds to each try on its way in to the application, ns.
    pub latency: SimDuration,
    /// CPU time the proxy spends per try, ns of CPU (added to the pod's CPU usage).
    pub cpu_per_request: SimDuration,
}

/// The cost of an ambassador in a serving pod: a helper container that proxies the
/// application's *outbound* calls (the calls of its Service's `RequestGraph`) to other Services
/// — a shard-aware Redis or database proxy (twemproxy, mcrouter), or a local Envoy adding
/// retries, timeouts and connection pooling (Burns & Oppenheimer, "Design patterns for
/// container-based distributed systems", 2016). Inbound requests do not pass through it. What
/// the ambassador does for a call (its retries, timeout, breaker, balancing) is the call's own
/// client in the `RequestGraph`; its resource requests are those of the ambassador container in
/// the pod template, summed by the scheduler like any container.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AmbassadorSpec {
    /// Latency the ambassador adds to each outbound call, once per call (the hop from the
    /// application to the ambassador and its processing; the ambassador's own retries do not
    /// pay it again), ns.
    pub latency: SimDuration,
    /// CPU time the ambassador spends per outbound call, ns of CPU (added to the calling pod's
    /// CPU usage when the call is made).
    pub cpu_per_call: SimDuration,
}

/// One call a Service's handler makes to another Service: a client of its own, with per-call
/// timeout, retries and optional circuit breaker.
#[derive(Clone, Debug, PartialEq)]
pub struct CallSpec {
    /// Index of the called Service in [`crate::cluster::spec::ClusterSpec::services`].
    pub service: usize,
    /// Per-try timeout; `None` = none.
    pub timeout: Option<SimDuration>,
    /// Retries after a failed try. Default 0.
    pub retries: u32,
    /// Base of the fully jittered exponential retry back-off (Envoy default 25 ms).
    pub retry_backoff: SimDuration,
    /// Endpoint picking when no DestinationRule overrides it.
    pub load_balancer: LoadBalancer,
    /// One-way network latency of each try and response.
    pub network_latency: SimDuration,
    /// Client-side circuit breaker, if any.
    pub circuit_breaker: Option<CircuitBreakerSpec>,
    /// Application-level circuit breaker (resilience4j), if any.
    pub client_breaker: Option<crate::cluster::traffic::client_breaker::ClientBreakerSpec>,
    /// Index of this call's edge in [`RequestGraphs::edges`].
    pub edge: usize,
}

/// One stage of a handler: its calls are sent together (a fan-out when there are several) and
/// the stage completes when `complete` of them have succeeded; it fails as soon as that can no
/// longer happen. Calls still out when the stage ends are cancelled.
#[derive(Clone, Debug, PartialEq)]
pub struct CallStageSpec {
    /// The calls, at least one.
    pub calls: Vec<CallSpec>,
    /// Successes needed, `1..=calls.len()` (`calls.len()` = all of n).
    pub complete: u32,
}

/// The calls the handler of one Service makes, stage after stage, once the pod has done its
/// own work for a request; the response leaves when the last stage completes (or with a 5xx
/// when a stage fails).
#[derive(Clone, Debug, PartialEq)]
pub struct RequestGraphSpec {
    /// The `RequestGraph` document's name.
    pub name: String,
    /// Index of the calling Service.
    pub service: usize,
    /// Stages, in order.
    pub stages: Vec<CallStageSpec>,
}

/// A call edge, as the summary reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallEdgeSpec {
    /// `caller->callee` (Service names), with `#2`, `#3`... for a second call of the same pair.
    pub name: String,
    /// Calling Service index.
    pub caller: usize,
    /// Called Service index.
    pub callee: usize,
}

/// Every request graph of a scenario (no cycle: checked by the loader).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestGraphs {
    /// One per calling Service, in file order.
    pub graphs: Vec<RequestGraphSpec>,
    /// Every call site, indexed by [`CallSpec::edge`].
    pub edges: Vec<CallEdgeSpec>,
}
