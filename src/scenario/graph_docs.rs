//! kubesim `RequestGraph` documents: the calls the handler of one Service makes to other
//! Services, stage after stage (a stage of several calls is a parallel fan-out that completes
//! on all of them or on the first `complete` successes). Service names are resolved, and the
//! graph checked for cycles, by [`resolve_request_graphs`] once every document is read.

use std::collections::BTreeMap;

use crate::cluster::request_graph_spec::{
    CallEdgeSpec, CallSpec, CallStageSpec, CircuitBreakerSpec, RequestGraphSpec, RequestGraphs,
};
use crate::cluster::spec::{LoadBalancer, ServiceSpec};
use crate::engine::SimDuration;

use super::kubesim_docs::Ref;
use super::manifests::Meta;
use super::reader::{Cx, Fields, Loc, Map, R, Val};
use super::traffic_docs::{ClientDoc, read_client};

const GRAPH_SPEC: Fields = Fields::read(&["service", "stages"]);
const STAGE: Fields = Fields::read(&["calls", "complete"]);
const CALL: Fields = Fields::read(&[
    "service",
    "timeout",
    "retries",
    "retryBackoff",
    "loadBalancer",
    "networkLatency",
    "circuitBreaker",
    "clientBreaker",
]);

/// Most stages of one graph, and calls of one stage.
const MAX_STAGES: usize = 1_000;
const MAX_CALLS: usize = 10_000;

/// One call as written; `service` is resolved later.
pub(crate) struct CallDoc {
    pub service: Ref,
    pub timeout: Option<SimDuration>,
    pub retries: u32,
    pub retry_backoff: SimDuration,
    pub load_balancer: LoadBalancer,
    pub network_latency: SimDuration,
    pub circuit_breaker: Option<CircuitBreakerSpec>,
    pub client_breaker: Option<crate::cluster::traffic::client_breaker::ClientBreakerSpec>,
}

/// One stage as written.
pub(crate) struct StageDoc {
    pub calls: Vec<CallDoc>,
    pub complete: u32,
}

/// A `RequestGraph` document.
pub(crate) struct RequestGraphDoc {
    pub name: String,
    pub service: Ref,
    pub stages: Vec<StageDoc>,
}

fn read_call(cx: &mut Cx, v: &Val) -> R<CallDoc> {
    let m = v.map(cx, &CALL)?;
    let sv = m.req(cx, "service")?;
    let service = Ref {
        name: sv.nonempty_string(cx)?,
        loc: sv.loc(cx),
    };
    let ClientDoc {
        timeout,
        retries,
        retry_backoff,
        load_balancer,
        network_latency,
        circuit_breaker,
        client_breaker,
    } = read_client(cx, &m)?;
    Ok(CallDoc {
        service,
        timeout,
        retries,
        retry_backoff,
        load_balancer,
        network_latency,
        circuit_breaker,
        client_breaker,
    })
}

/// Read a `RequestGraph` document.
pub(crate) fn read_request_graph(cx: &mut Cx, doc: &Map, meta: Meta) -> R<RequestGraphDoc> {
    let spec_v = doc.req(cx, "spec")?;
    let spec = spec_v.map(cx, &GRAPH_SPEC)?;
    let sv = spec.req(cx, "service")?;
    let service = Ref {
        name: sv.nonempty_string(cx)?,
        loc: sv.loc(cx),
    };
    let stages_v = spec.req(cx, "stages")?;
    let items = stages_v.seq(cx)?;
    if items.is_empty() {
        return Err(stages_v.err(cx, "needs at least one stage"));
    }
    if items.len() > MAX_STAGES {
        return Err(stages_v.err(cx, format!("at most {MAX_STAGES} stages")));
    }
    let mut stages = Vec::new();
    for item in items {
        let m = item.map(cx, &STAGE)?;
        let cv = m.req(cx, "calls")?;
        let list = cv.seq(cx)?;
        if list.is_empty() {
            return Err(cv.err(cx, "needs at least one call"));
        }
        if list.len() > MAX_CALLS {
            return Err(cv.err(cx, format!("at most {MAX_CALLS} calls")));
        }
        let mut calls = Vec::new();
        for c in list {
            calls.push(read_call(cx, &c)?);
        }
        let n = calls.len() as i64;
        let complete = match m.get("complete") {
            Some(v) => v.int_in(cx, 1, n)? as u32,
            None => n as u32,
        };
        stages.push(StageDoc { calls, complete });
    }
    Ok(RequestGraphDoc {
        name: meta.name,
        service,
        stages,
    })
}

/// Resolve the Service names of every graph against `services`, refuse a second graph for a
/// Service, and refuse cycles: a call that leads back to a Service already on the path is an
/// error at that call's `service` field, naming the cycle.
pub(crate) fn resolve_request_graphs(
    docs: &[(&RequestGraphDoc, &Loc)],
    services: &[ServiceSpec],
    unknown: impl Fn(&Ref) -> super::error::ScenarioError,
) -> R<RequestGraphs> {
    let index = |r: &Ref| -> R<usize> {
        services
            .iter()
            .position(|s| s.name == r.name)
            .ok_or_else(|| unknown(r))
    };
    let mut out = RequestGraphs::default();
    let mut graph_of: BTreeMap<usize, (usize, Loc)> = BTreeMap::new();
    // Per graph: the calls' callee indices and locations, in file order.
    let mut calls_of: Vec<Vec<(usize, Loc)>> = Vec::new();
    let mut pair_count: BTreeMap<(usize, usize), u32> = BTreeMap::new();
    for (d, _) in docs {
        let caller = index(&d.service)?;
        if let Some((_, first)) = graph_of.get(&caller) {
            return Err(d.service.loc.err(format!(
                "Service {:?} already has a RequestGraph (at {})",
                d.service.name,
                first.at()
            )));
        }
        graph_of.insert(caller, (out.graphs.len(), d.service.loc.clone()));
        let mut stages = Vec::new();
        let mut edges_here = Vec::new();
        for st in &d.stages {
            let mut calls = Vec::new();
            for c in &st.calls {
                let callee = index(&c.service)?;
                let k = pair_count.entry((caller, callee)).or_insert(0);
                *k += 1;
                let mut name = format!("{}->{}", services[caller].name, services[callee].name);
                if *k > 1 {
                    name.push_str(&format!("#{k}"));
                }
                let edge = out.edges.len();
                out.edges.push(CallEdgeSpec {
                    name,
                    caller,
                    callee,
                });
                edges_here.push((callee, c.service.loc.clone()));
                calls.push(CallSpec {
                    service: callee,
                    timeout: c.timeout,
                    retries: c.retries,
                    retry_backoff: c.retry_backoff,
                    load_balancer: c.load_balancer,
                    network_latency: c.network_latency,
                    circuit_breaker: c.circuit_breaker,
                    client_breaker: c.client_breaker,
                    edge,
                });
            }
            stages.push(CallStageSpec {
                calls,
                complete: st.complete,
            });
        }
        calls_of.push(edges_here);
        out.graphs.push(RequestGraphSpec {
            name: d.name.clone(),
            service: caller,
            stages,
        });
    }
    // Depth-first search from every graph in file order; `on_path` holds the Services of the
    // current call chain.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; services.len()];
    for g in 0..out.graphs.len() {
        let start = out.graphs[g].service;
        if mark[start] != Mark::New {
            continue;
        }
        // Stack of (service, next call index); path of services.
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::OnPath;
        while let Some(&mut (svc, ref mut next)) = stack.last_mut() {
            let calls: &[(usize, Loc)] = graph_of
                .get(&svc)
                .map_or(&[], |(gi, _)| calls_of[*gi].as_slice());
            if *next >= calls.len() {
                mark[svc] = Mark::Done;
                stack.pop();
                continue;
            }
            let (callee, loc) = &calls[*next];
            *next += 1;
            match mark[*callee] {
                Mark::Done => {}
                Mark::New => {
                    mark[*callee] = Mark::OnPath;
                    stack.push((*callee, 0));
                }
                Mark::OnPath => {
                    let from = stack.iter().position(|(s, _)| s == callee).unwrap_or(0);
                    let mut names: Vec<&str> = stack[from..]
                        .iter()
                        .map(|(s, _)| services[*s].name.as_str())
                        .collect();
                    names.push(services[*callee].name.as_str());
                    return Err(loc.err(format!(
                        "the request graph has a cycle: {}",
                        names.join(" -> ")
                    )));
                }
            }
        }
    }
    Ok(out)
}
