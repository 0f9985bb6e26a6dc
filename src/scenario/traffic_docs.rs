//! Request-traffic documents: `v1` Service, kubesim `Traffic`, Istio `DestinationRule`
//! (`networking.istio.io/v1`), and the `serving` part of `Behavior`. References between them
//! (a Traffic's Service, a DestinationRule's host) are resolved in [`super::load`].
//!
//! Upstream references: Service fields from `core/v1` `ServiceSpec` (defaults
//! `pkg/apis/core/v1/defaults.go`: `protocol` TCP, `targetPort` = `port`); DestinationRule
//! fields and defaults from Istio's `networking/v1` reference (`ConnectionPoolSettings`:
//! `maxConnections`, `http1MaxPendingRequests` and `http2MaxRequests` default 2^32-1;
//! `OutlierDetection`: `consecutive5xxErrors` 5, `interval` 10s, `baseEjectionTime` 30s,
//! `maxEjectionPercent` 10, which are Envoy's defaults too).

use crate::cluster::autoscaling_spec::MetricsAdapterSpec;
use crate::cluster::request_graph_spec::{AmbassadorSpec, CircuitBreakerSpec, SidecarSpec};
use crate::cluster::spec::{
    ArrivalProcess, Distribution, Diurnal, LoadBalancer, OutlierDetectionSpec, RateStep,
    ServicePort, ServiceSpec, ServingSpec, TrafficMode,
};
use crate::cluster::traffic::client_breaker::{ClientBreakerSpec, SlidingWindowType};
use crate::engine::{SimDuration, SimTime};

use super::duration::{format_duration, parse_rate_per_second};
use super::kubesim_docs::{Ref, read_distribution};
use super::manifests::Meta;
use super::reader::{Cx, Fields, Map, R, Val};
use super::yaml::Node;

// ---------------------------------------------------------------------------------------------
// v1 Service

/// Top-level fields of a Service manifest.
pub(crate) const SERVICE_DOC: Fields = Fields {
    read: &["apiVersion", "kind", "metadata", "spec"],
    warn: &[],
    silent: &["status"],
};
const SERVICE_SPEC: Fields = Fields {
    read: &["selector", "ports"],
    warn: &[
        "sessionAffinity",
        "sessionAffinityConfig",
        "externalTrafficPolicy",
        "internalTrafficPolicy",
        "publishNotReadyAddresses",
        "trafficDistribution",
        "externalName",
    ],
    silent: &[
        "type",
        "clusterIP",
        "clusterIPs",
        "externalIPs",
        "ipFamilies",
        "ipFamilyPolicy",
        "loadBalancerIP",
        "loadBalancerClass",
        "loadBalancerSourceRanges",
        "allocateLoadBalancerNodePorts",
        "healthCheckNodePort",
    ],
};
const SERVICE_PORT: Fields = Fields {
    read: &["name", "port", "targetPort", "protocol"],
    warn: &[],
    silent: &["nodePort", "appProtocol"],
};

/// A `v1` Service manifest.
pub(crate) fn read_service(cx: &mut Cx, doc: &Map, meta: Meta) -> R<ServiceSpec> {
    let spec_v = doc.req(cx, "spec")?;
    let spec = spec_v.map(cx, &SERVICE_SPEC)?;
    let selector = match spec.get("selector") {
        Some(v) => v.labels(cx)?,
        None => Default::default(),
    };
    let mut ports = Vec::new();
    if let Some(list) = spec.get("ports") {
        let items = list.seq(cx)?;
        let many = items.len() > 1;
        for item in items {
            let m = item.map(cx, &SERVICE_PORT)?;
            let name = match m.get("name") {
                Some(v) => v.string(cx)?,
                None => String::new(),
            };
            if many && name.is_empty() {
                return Err(item.err(
                    cx,
                    "a Service with more than one port needs a name for each (spec.ports[].name)",
                ));
            }
            let port = m.req(cx, "port")?.int_in(cx, 1, 65535)? as i32;
            let target_port = match m.get("targetPort") {
                Some(v) => match v.node() {
                    Node::Int(_) => v.int_in(cx, 1, 65535)?.to_string(),
                    _ => v.nonempty_string(cx)?,
                },
                None => port.to_string(),
            };
            let protocol = match m.get("protocol") {
                Some(v) => v.one_of(cx, &["TCP", "UDP", "SCTP"])?.to_string(),
                None => "TCP".to_string(),
            };
            ports.push(ServicePort {
                name,
                port,
                target_port,
                protocol,
            });
        }
    }
    Ok(ServiceSpec {
        name: meta.name,
        namespace: meta.namespace,
        selector,
        ports,
    })
}

// ---------------------------------------------------------------------------------------------
// Traffic

const TRAFFIC_SPEC: Fields = Fields::read(&[
    "service",
    "rate",
    "arrival",
    "diurnal",
    "steps",
    "users",
    "thinkTime",
    "timeout",
    "retries",
    "retryBackoff",
    "loadBalancer",
    "networkLatency",
    "circuitBreaker",
    "rateTrace",
    "clientBreaker",
    "mode",
    "fluidStep",
]);
/// Fields of a client's `circuitBreaker` (Envoy `circuit_breakers.thresholds`, camelCase).
pub(crate) const CIRCUIT_BREAKER: Fields = Fields::read(&[
    "maxConnections",
    "maxPendingRequests",
    "maxRequests",
    "maxRetries",
]);
const DIURNAL: Fields = Fields::read(&["amplitude", "peakAt"]);
const STEP: Fields = Fields::read(&["at", "rate"]);

/// Most retries one client (a `Traffic` source or a `RequestGraph` call) may ask for.
const MAX_RETRIES: i64 = 100;
/// Most closed-loop users of one source.
const MAX_USERS: i64 = 10_000_000;

/// A `Traffic` document; `service` is resolved later.
pub(crate) struct TrafficDoc {
    pub name: String,
    pub service: Ref,
    pub rate: f64,
    pub arrival: ArrivalProcess,
    pub diurnal: Option<Diurnal>,
    pub steps: Vec<RateStep>,
    pub steps_loc: Vec<super::reader::Loc>,
    pub timeout: Option<SimDuration>,
    pub retries: u32,
    pub retry_backoff: SimDuration,
    pub load_balancer: LoadBalancer,
    pub network_latency: SimDuration,
    pub circuit_breaker: Option<CircuitBreakerSpec>,
    /// `rateTrace`: the CSV file (relative to the scenario file's folder) and where it was
    /// named; read when the run's duration is known.
    pub rate_trace: Option<(std::path::PathBuf, super::reader::Loc)>,
    /// `clientBreaker`: the application's resilience4j circuit breaker.
    pub client_breaker: Option<ClientBreakerSpec>,
    /// `mode` (request or fluid, with `fluidStep`).
    pub mode: TrafficMode,
    /// Where `mode` was written, if it was.
    pub mode_loc: Option<super::reader::Loc>,
}

/// A client's `circuitBreaker`: Envoy's thresholds, each defaulting to Envoy's value
/// (1024 / 1024 / 1024 / 3).
pub(crate) fn read_circuit_breaker(cx: &mut Cx, v: &Val) -> R<CircuitBreakerSpec> {
    let m = v.map(cx, &CIRCUIT_BREAKER)?;
    let mut cb = CircuitBreakerSpec::default();
    let field = |cx: &mut Cx, k: &str| -> R<Option<u32>> {
        match m.get(k) {
            Some(v) => Ok(Some(v.int_in(cx, 0, i64::from(u32::MAX))? as u32)),
            None => Ok(None),
        }
    };
    if let Some(x) = field(cx, "maxConnections")? {
        cb.max_connections = x;
    }
    if let Some(x) = field(cx, "maxPendingRequests")? {
        cb.max_pending_requests = x;
    }
    if let Some(x) = field(cx, "maxRequests")? {
        cb.max_requests = x;
    }
    if let Some(x) = field(cx, "maxRetries")? {
        cb.max_retries = x;
    }
    if cb.max_active() == 0 {
        return Err(v.err(cx, "maxConnections and maxRequests must be at least 1"));
    }
    Ok(cb)
}

/// Fields of a client's `clientBreaker`: resilience4j `CircuitBreakerConfig` (the names of its
/// Spring Boot / YAML configuration properties).
pub(crate) const CLIENT_BREAKER: Fields = Fields::read(&[
    "failureRateThreshold",
    "slowCallRateThreshold",
    "slowCallDurationThreshold",
    "permittedNumberOfCallsInHalfOpenState",
    "maxWaitDurationInHalfOpenState",
    "slidingWindowType",
    "slidingWindowSize",
    "minimumNumberOfCalls",
    "waitDurationInOpenState",
    "automaticTransitionFromOpenToHalfOpenEnabled",
]);

/// Largest `slidingWindowSize` and `permittedNumberOfCallsInHalfOpenState` kubesim accepts (its
/// windows are allocated up front, one byte per call or one bucket per second).
const MAX_BREAKER_WINDOW: i64 = 1_000_000;

/// A resilience4j rate threshold: a percentage greater than 0 and at most 100 (upstream's
/// `IllegalArgumentException` bounds), with at most two decimals; in hundredths of a percent.
fn read_percent_threshold(cx: &Cx, v: &Val) -> R<u32> {
    let x = v.number(cx)?;
    if !x.is_finite() || x <= 0.0 || x > 100.0 {
        return Err(v.err(
            cx,
            "must be a percentage greater than 0 and at most 100 (resilience4j's bounds)",
        ));
    }
    let centi = (x * 100.0).round();
    if (x * 100.0 - centi).abs() > 1e-6 {
        return Err(v.err(cx, "at most two decimals (e.g. 50 or 37.5)"));
    }
    Ok(centi as u32)
}

/// A client's `clientBreaker`: resilience4j's `CircuitBreakerConfig`, each field defaulting to
/// upstream's value (see [`ClientBreakerSpec::default`]) and refused where upstream's builder
/// throws.
pub(crate) fn read_client_breaker(cx: &mut Cx, v: &Val) -> R<ClientBreakerSpec> {
    let m = v.map(cx, &CLIENT_BREAKER)?;
    let mut b = ClientBreakerSpec::default();
    if let Some(x) = m.get("failureRateThreshold") {
        b.failure_rate_threshold = read_percent_threshold(cx, &x)?;
    }
    if let Some(x) = m.get("slowCallRateThreshold") {
        b.slow_call_rate_threshold = read_percent_threshold(cx, &x)?;
    }
    if let Some(x) = m.get("slowCallDurationThreshold") {
        b.slow_call_duration_threshold = x.positive_duration(cx)?;
    }
    if let Some(x) = m.get("permittedNumberOfCallsInHalfOpenState") {
        b.permitted_number_of_calls_in_half_open_state =
            x.int_in(cx, 1, MAX_BREAKER_WINDOW)? as u32;
    }
    let one_ms = SimDuration::from_millis(1);
    if let Some(x) = m.get("maxWaitDurationInHalfOpenState") {
        let d = x.duration(cx)?;
        if d != SimDuration::ZERO && d < one_ms {
            return Err(x.err(
                cx,
                "must be 0 (wait for the permitted calls) or at least 1ms",
            ));
        }
        b.max_wait_duration_in_half_open_state = d;
    }
    if let Some(x) = m.get("slidingWindowType") {
        b.sliding_window_type = match x.one_of(cx, &["COUNT_BASED", "TIME_BASED"])? {
            "TIME_BASED" => SlidingWindowType::TimeBased,
            _ => SlidingWindowType::CountBased,
        };
    }
    if let Some(x) = m.get("slidingWindowSize") {
        b.sliding_window_size = x.int_in(cx, 1, MAX_BREAKER_WINDOW)? as u32;
    }
    if let Some(x) = m.get("minimumNumberOfCalls") {
        b.minimum_number_of_calls = x.int_in(cx, 1, i64::from(i32::MAX))? as u32;
    }
    if let Some(x) = m.get("waitDurationInOpenState") {
        let d = x.duration(cx)?;
        if d < one_ms {
            return Err(x.err(
                cx,
                "must be at least 1ms (resilience4j counts it in whole milliseconds)",
            ));
        }
        b.wait_duration_in_open_state = d;
    }
    if let Some(x) = m.get("automaticTransitionFromOpenToHalfOpenEnabled") {
        b.automatic_transition_from_open_to_half_open_enabled = x.bool(cx)?;
    }
    Ok(b)
}

/// A rate: `800/s`, `30/m`, `5` (per second), or a YAML number (per second).
fn read_rate(cx: &Cx, v: &Val) -> R<f64> {
    let r = match v.node() {
        Node::String(s) => parse_rate_per_second(s).map_err(|e| v.err(cx, e.to_string()))?,
        Node::Int(_) | Node::Float(_) => v.number(cx)?,
        _ => return Err(v.expected(cx, "a rate such as 800/s, 30/m or 5")),
    };
    if !r.is_finite() || r < 0.0 {
        return Err(v.err(cx, "must be a non-negative rate"));
    }
    if r > 1e9 {
        return Err(v.err(cx, "must be at most 1e9 per second"));
    }
    Ok(r)
}

/// How a client sends its requests, as a `Traffic` and a `RequestGraph` call both write it:
/// its timeout, retries, load balancing, network latency and circuit breakers.
pub(crate) struct ClientDoc {
    /// `timeout`: a try's deadline; none when absent.
    pub timeout: Option<SimDuration>,
    /// `retries`: tries after the first (default 0).
    pub retries: u32,
    /// `retryBackoff`: base of the exponential backoff between tries (default 25 ms).
    pub retry_backoff: SimDuration,
    /// `loadBalancer` (default `random`, as kube-proxy's iptables mode).
    pub load_balancer: LoadBalancer,
    /// `networkLatency`: added to each try (default 0).
    pub network_latency: SimDuration,
    /// `circuitBreaker`: Envoy's thresholds.
    pub circuit_breaker: Option<CircuitBreakerSpec>,
    /// `clientBreaker`: the application's resilience4j breaker.
    pub client_breaker: Option<ClientBreakerSpec>,
}

/// Read a client's fields from `m` (a `Traffic` spec or a `RequestGraph` call).
pub(crate) fn read_client(cx: &mut Cx, m: &Map) -> R<ClientDoc> {
    let timeout = match m.get("timeout") {
        Some(v) => Some(v.positive_duration(cx)?),
        None => None,
    };
    let retries = match m.get("retries") {
        Some(v) => v.int_in(cx, 0, MAX_RETRIES)? as u32,
        None => 0,
    };
    let retry_backoff = match m.get("retryBackoff") {
        Some(v) => v.duration(cx)?,
        None => SimDuration::from_millis(25),
    };
    let load_balancer = match m.get("loadBalancer") {
        Some(v) => match v.one_of(cx, &["random", "roundRobin", "leastRequest"])? {
            "roundRobin" => LoadBalancer::RoundRobin,
            "leastRequest" => LoadBalancer::LeastRequest,
            _ => LoadBalancer::Random,
        },
        None => LoadBalancer::Random,
    };
    let network_latency = match m.get("networkLatency") {
        Some(v) => v.duration(cx)?,
        None => SimDuration::ZERO,
    };
    let circuit_breaker = match m.get("circuitBreaker") {
        Some(v) => Some(read_circuit_breaker(cx, &v)?),
        None => None,
    };
    let client_breaker = match m.get("clientBreaker") {
        Some(v) => Some(read_client_breaker(cx, &v)?),
        None => None,
    };
    Ok(ClientDoc {
        timeout,
        retries,
        retry_backoff,
        load_balancer,
        network_latency,
        circuit_breaker,
        client_breaker,
    })
}

pub(crate) fn read_traffic(cx: &mut Cx, doc: &Map, meta: Meta) -> R<TrafficDoc> {
    let spec_v = doc.req(cx, "spec")?;
    let spec = spec_v.map(cx, &TRAFFIC_SPEC)?;
    let sv = spec.req(cx, "service")?;
    let service = Ref {
        name: sv.nonempty_string(cx)?,
        loc: sv.loc(cx),
    };
    let users = match spec.get("users") {
        Some(v) => Some(v.int_in(cx, 1, MAX_USERS)? as u32),
        None => None,
    };
    let rate_v = spec.get("rate");
    let rate_trace = match spec.get("rateTrace") {
        Some(v) => {
            if users.is_some() {
                return Err(v.err(cx, "a closed-loop source (users) has no rate trace"));
            }
            if let Some(st) = spec.get("steps") {
                return Err(st.err(cx, "give either steps or rateTrace, not both"));
            }
            let rel = v.nonempty_string(cx)?;
            let base = std::path::Path::new(&cx.src.name)
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default();
            Some((base.join(rel), v.loc(cx)))
        }
        None => None,
    };
    let arrival = match (users, &rate_v) {
        (Some(users), None) => {
            let think_time = match spec.get("thinkTime") {
                Some(v) => read_distribution(cx, &v)?,
                None => Distribution::Constant(SimDuration::from_secs(1)),
            };
            if let Some(v) = spec.get("arrival") {
                return Err(v.err(cx, "a closed-loop source (users) has no arrival process"));
            }
            ArrivalProcess::ClosedLoop { users, think_time }
        }
        (Some(_), Some(r)) => {
            return Err(r.err(
                cx,
                "give either rate (open loop) or users (closed loop), not both",
            ));
        }
        (None, None) if rate_trace.is_none() => return Err(spec.missing(cx, "rate")),
        (None, _) => {
            if let Some(v) = spec.get("thinkTime") {
                return Err(v.err(cx, "thinkTime needs users (a closed-loop source)"));
            }
            match spec.get("arrival") {
                Some(v) => match v.one_of(cx, &["poisson", "constant"])? {
                    "constant" => ArrivalProcess::Constant,
                    _ => ArrivalProcess::Poisson,
                },
                None => ArrivalProcess::Poisson,
            }
        }
    };
    let rate = match &rate_v {
        Some(v) => read_rate(cx, v)?,
        None => 0.0,
    };
    let diurnal = match spec.get("diurnal") {
        Some(v) => {
            let m = v.map(cx, &DIURNAL)?;
            let av = m.req(cx, "amplitude")?;
            let amplitude = av.number(cx)?;
            if !(0.0..=1.0).contains(&amplitude) {
                return Err(av.err(cx, "must be between 0 and 1"));
            }
            let peak_at = match m.get("peakAt") {
                Some(p) => p.duration(cx)?,
                None => SimDuration::ZERO,
            };
            Some(Diurnal { amplitude, peak_at })
        }
        None => None,
    };
    let mut steps = Vec::new();
    let mut steps_loc = Vec::new();
    if let Some(list) = spec.get("steps") {
        for item in list.seq(cx)? {
            let m = item.map(cx, &STEP)?;
            let at_v = m.req(cx, "at")?;
            let at = at_v.duration(cx)?;
            let rate = read_rate(cx, &m.req(cx, "rate")?)?;
            if let Some(prev) = steps.last().map(|s: &RateStep| s.at)
                && SimTime(at.0) < prev
            {
                return Err(at_v.err(cx, "steps must be in time order"));
            }
            steps.push(RateStep {
                at: SimTime(at.0),
                rate,
            });
            steps_loc.push(at_v.loc(cx));
        }
    }
    let ClientDoc {
        timeout,
        retries,
        retry_backoff,
        load_balancer,
        network_latency,
        circuit_breaker,
        client_breaker,
    } = read_client(cx, &spec)?;
    let (mode, mode_loc) = read_mode(cx, &spec)?;
    if mode.is_fluid() {
        // The fluid model is open loop and has no per-client state (see `traffic::fluid`).
        if let Some(v) = spec.get("users") {
            return Err(v.err(
                cx,
                "a closed-loop source (users) cannot run in fluid mode; use mode: request",
            ));
        }
        if let Some(v) = spec.get("circuitBreaker") {
            return Err(v.err(
                cx,
                "the client circuit breaker is not modelled in fluid mode; use mode: request",
            ));
        }
        if let Some(v) = spec.get("clientBreaker") {
            return Err(v.err(
                cx,
                "the application's circuit breaker (clientBreaker) is not modelled in fluid mode; use mode: request",
            ));
        }
    }
    Ok(TrafficDoc {
        name: meta.name,
        service,
        rate,
        arrival,
        diurnal,
        steps,
        steps_loc,
        timeout,
        retries,
        retry_backoff,
        load_balancer,
        network_latency,
        circuit_breaker,
        rate_trace,
        client_breaker,
        mode,
        mode_loc,
    })
}

/// `spec.mode` (`request` | `fluid`) and `spec.fluidStep` (fluid mode only) of a `Traffic`.
fn read_mode(cx: &mut Cx, spec: &Map) -> R<(TrafficMode, Option<super::reader::Loc>)> {
    let (fluid, loc) = match spec.get("mode") {
        Some(v) => (
            v.one_of(cx, &["request", "fluid"])? == "fluid",
            Some(v.loc(cx)),
        ),
        None => (false, None),
    };
    let step = match spec.get("fluidStep") {
        Some(v) if !fluid => {
            return Err(v.err(cx, "fluidStep needs mode: fluid"));
        }
        Some(v) => Some(v.positive_duration(cx)?),
        None => None,
    };
    let mode = if fluid {
        TrafficMode::Fluid { step }
    } else {
        TrafficMode::Request
    };
    Ok((mode, loc))
}

// ---------------------------------------------------------------------------------------------
// Istio DestinationRule

pub(crate) const DESTINATION_RULE_DOC: Fields = Fields {
    read: &["apiVersion", "kind", "metadata", "spec"],
    warn: &[],
    silent: &["status"],
};
const DR_SPEC: Fields = Fields {
    read: &["host", "trafficPolicy"],
    warn: &["subsets", "workloadSelector"],
    silent: &["exportTo"],
};
const TRAFFIC_POLICY: Fields = Fields {
    read: &["loadBalancer", "connectionPool", "outlierDetection"],
    warn: &[
        "portLevelSettings",
        "tls",
        "tunnel",
        "proxyProtocol",
        "retryBudget",
    ],
    silent: &[],
};
const LB: Fields = Fields {
    read: &["simple"],
    warn: &[
        "consistentHash",
        "localityLbSetting",
        "warmupDurationSecs",
        "warmup",
    ],
    silent: &[],
};
const POOL: Fields = Fields::read(&["tcp", "http"]);
const POOL_TCP: Fields = Fields {
    read: &["maxConnections"],
    warn: &[
        "connectTimeout",
        "tcpKeepalive",
        "maxConnectionDuration",
        "idleTimeout",
    ],
    silent: &[],
};
const POOL_HTTP: Fields = Fields {
    read: &["http1MaxPendingRequests", "http2MaxRequests"],
    warn: &[
        "maxRequestsPerConnection",
        "maxRetries",
        "idleTimeout",
        "h2UpgradePolicy",
        "useClientProtocol",
        "maxConcurrentStreams",
    ],
    silent: &[],
};
const OUTLIER: Fields = Fields {
    read: &[
        "consecutive5xxErrors",
        "interval",
        "baseEjectionTime",
        "maxEjectionPercent",
    ],
    warn: &[
        "consecutiveGatewayErrors",
        "consecutiveLocalOriginFailures",
        "splitExternalLocalOriginErrors",
        "minHealthPercent",
        "consecutiveErrors",
    ],
    silent: &[],
};

/// Istio's default for the connection-pool limits: 2^32-1.
const ISTIO_UNLIMITED: u32 = u32::MAX;

/// A DestinationRule; `host` is resolved later.
pub(crate) struct DestinationRuleDoc {
    pub name: String,
    pub namespace: String,
    pub host: Ref,
    pub load_balancer: Option<LoadBalancer>,
    pub outlier_detection: Option<OutlierDetectionSpec>,
    pub max_requests: u32,
    pub max_pending_requests: u32,
}

fn read_u32_limit(cx: &Cx, v: &Val) -> R<u32> {
    Ok(v.int_in(cx, 1, i64::from(u32::MAX))? as u32)
}

pub(crate) fn read_destination_rule(cx: &mut Cx, doc: &Map, meta: Meta) -> R<DestinationRuleDoc> {
    let spec = doc.req(cx, "spec")?.map(cx, &DR_SPEC)?;
    let hv = spec.req(cx, "host")?;
    let host = Ref {
        name: hv.nonempty_string(cx)?,
        loc: hv.loc(cx),
    };
    let mut out = DestinationRuleDoc {
        name: meta.name,
        namespace: meta.namespace,
        host,
        load_balancer: None,
        outlier_detection: None,
        max_requests: ISTIO_UNLIMITED,
        max_pending_requests: ISTIO_UNLIMITED,
    };
    let Some(tp) = spec.get("trafficPolicy") else {
        return Ok(out);
    };
    let tp = tp.map(cx, &TRAFFIC_POLICY)?;
    if let Some(v) = tp.get("loadBalancer") {
        let m = v.map(cx, &LB)?;
        if let Some(s) = m.get("simple") {
            out.load_balancer = Some(
                match s.one_of(
                    cx,
                    &[
                        "ROUND_ROBIN",
                        "LEAST_REQUEST",
                        "LEAST_CONN",
                        "RANDOM",
                        "UNSPECIFIED",
                    ],
                )? {
                    "ROUND_ROBIN" => LoadBalancer::RoundRobin,
                    "RANDOM" => LoadBalancer::Random,
                    // LEAST_CONN is Istio's deprecated alias of LEAST_REQUEST; UNSPECIFIED
                    // lets Istio choose, and its default is LEAST_REQUEST.
                    _ => LoadBalancer::LeastRequest,
                },
            );
        }
    }
    if let Some(v) = tp.get("connectionPool") {
        let m = v.map(cx, &POOL)?;
        let mut max_conn = ISTIO_UNLIMITED;
        let mut max_req = ISTIO_UNLIMITED;
        if let Some(t) = m.get("tcp") {
            let t = t.map(cx, &POOL_TCP)?;
            if let Some(v) = t.get("maxConnections") {
                max_conn = read_u32_limit(cx, &v)?;
            }
        }
        if let Some(h) = m.get("http") {
            let h = h.map(cx, &POOL_HTTP)?;
            if let Some(v) = h.get("http1MaxPendingRequests") {
                out.max_pending_requests = read_u32_limit(cx, &v)?;
            }
            if let Some(v) = h.get("http2MaxRequests") {
                max_req = read_u32_limit(cx, &v)?;
            }
        }
        out.max_requests = max_conn.min(max_req);
    }
    if let Some(v) = tp.get("outlierDetection") {
        let m = v.map(cx, &OUTLIER)?;
        let mut od = OutlierDetectionSpec::default();
        if let Some(v) = m.get("consecutive5xxErrors") {
            od.consecutive_5xx = v.int_in(cx, 0, i64::from(u32::MAX))? as u32;
        }
        if let Some(v) = m.get("interval") {
            od.interval = v.positive_duration(cx)?;
        }
        if let Some(v) = m.get("baseEjectionTime") {
            od.base_ejection_time = v.positive_duration(cx)?;
        }
        if let Some(v) = m.get("maxEjectionPercent") {
            od.max_ejection_percent = v.int_in(cx, 0, 100)? as u32;
        }
        out.outlier_detection = Some(od);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Behavior: serving

/// Fields of `Behavior` `spec.serving` (and of each `spec.versions[]` entry, plus `image`).
pub(crate) const SERVING: Fields = Fields::read(&[
    "serviceTime",
    "concurrency",
    "queueLimit",
    "cpuPerRequest",
    "errorRate",
    "sidecar",
    "ambassador",
    "metricsAdapter",
]);
const SIDECAR: Fields = Fields::read(&["latency", "cpuPerRequest"]);
const AMBASSADOR: Fields = Fields::read(&["latency", "cpuPerCall"]);
const METRICS_ADAPTER: Fields = Fields::read(&["scrapeInterval", "rateWindow", "cpuPerRequest"]);
const VERSION: Fields = Fields::read(&[
    "image",
    "serviceTime",
    "concurrency",
    "queueLimit",
    "cpuPerRequest",
    "errorRate",
    "sidecar",
    "ambassador",
    "metricsAdapter",
    // Failure fields, read by `health_docs`.
    "crashOnStart",
    "meanTimeBetweenCrashes",
    "meanTimeToHang",
    "neverReady",
    "memoryLeak",
    "runTime",
]);

fn read_serving_fields(cx: &mut Cx, m: &Map, mut s: ServingSpec) -> R<ServingSpec> {
    if let Some(v) = m.get("serviceTime") {
        s.service_time = read_distribution(cx, &v)?;
    }
    if let Some(v) = m.get("concurrency") {
        s.concurrency = v.int_in(cx, 1, 1_000_000)? as u32;
    }
    if let Some(v) = m.get("queueLimit") {
        s.queue_limit = Some(v.int_in(cx, 0, i64::from(u32::MAX - 1))? as u32);
    }
    if let Some(v) = m.get("cpuPerRequest") {
        s.cpu_per_request = v.duration(cx)?;
    }
    if let Some(v) = m.get("errorRate") {
        let e = v.number(cx)?;
        if !(0.0..=1.0).contains(&e) {
            return Err(v.err(cx, "must be between 0 and 1"));
        }
        s.error_rate = e;
    }
    if let Some(v) = m.get("sidecar") {
        let sm = v.map(cx, &SIDECAR)?;
        let mut sc = SidecarSpec::default();
        if let Some(x) = sm.get("latency") {
            sc.latency = x.duration(cx)?;
        }
        if let Some(x) = sm.get("cpuPerRequest") {
            sc.cpu_per_request = x.duration(cx)?;
        }
        s.sidecar = Some(sc);
    }
    if let Some(v) = m.get("ambassador") {
        let am = v.map(cx, &AMBASSADOR)?;
        let mut a = AmbassadorSpec::default();
        if let Some(x) = am.get("latency") {
            a.latency = x.duration(cx)?;
        }
        if let Some(x) = am.get("cpuPerCall") {
            a.cpu_per_call = x.duration(cx)?;
        }
        s.ambassador = Some(a);
    }
    if let Some(v) = m.get("metricsAdapter") {
        s.metrics_adapter = Some(read_metrics_adapter(cx, &v)?);
    }
    Ok(s)
}

/// `serving.metricsAdapter`: Prometheus' scrape interval, the adapter's `rate()` range (longer
/// than two scrape intervals, so that it always holds the two finished scrapes a rate needs)
/// and the CPU per request.
fn read_metrics_adapter(cx: &mut Cx, v: &Val) -> R<MetricsAdapterSpec> {
    let m = v.map(cx, &METRICS_ADAPTER)?;
    let mut a = MetricsAdapterSpec::default();
    if let Some(x) = m.get("scrapeInterval") {
        a.scrape_interval = x.positive_duration(cx)?;
    }
    let window = m.get("rateWindow");
    if let Some(x) = &window {
        a.rate_window = x.positive_duration(cx)?;
    }
    if let Some(x) = m.get("cpuPerRequest") {
        a.cpu_per_request = x.duration(cx)?;
    }
    if a.rate_window.as_nanos() <= 2 * a.scrape_interval.as_nanos() {
        let msg = format!(
            "the rate window ({}) must be longer than two scrape intervals ({}): rate() needs two samples in its range",
            format_duration(a.rate_window.as_nanos()),
            format_duration(a.scrape_interval.as_nanos()),
        );
        return Err(match &window {
            Some(x) => x.err(cx, msg),
            None => v.err(cx, msg),
        });
    }
    Ok(a)
}

/// `spec.serving` of a Behavior.
pub(crate) fn read_serving(cx: &mut Cx, v: &Val) -> R<ServingSpec> {
    let m = v.map(cx, &SERVING)?;
    read_serving_fields(cx, &m, ServingSpec::default())
}

/// `spec.versions[]` of a Behavior: per image, fields not given inherit from `base`.
pub(crate) fn read_versions(
    cx: &mut Cx,
    v: &Val,
    base: &ServingSpec,
) -> R<Vec<(String, ServingSpec)>> {
    let mut out: Vec<(String, ServingSpec)> = Vec::new();
    for item in v.seq(cx)? {
        let m = item.map(cx, &VERSION)?;
        let iv = m.req(cx, "image")?;
        let image = iv.nonempty_string(cx)?;
        if out.iter().any(|(i, _)| *i == image) {
            return Err(iv.err(cx, format!("image {image:?} is listed twice")));
        }
        let s = read_serving_fields(cx, &m, base.clone())?;
        out.push((image, s));
    }
    Ok(out)
}
