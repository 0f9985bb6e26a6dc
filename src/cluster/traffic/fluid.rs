//! The fluid traffic mode (`Traffic` `spec.mode: fluid`): no per-request events. Between two
//! instants where something changes — a metric sample, an endpoint joining or leaving, a pod's
//! process starting or stopping, a rate step — and at most every `fluidStep` (default: the
//! sampling interval), each pod's load and latency come from queueing formulas
//! ([`super::fluid_station`]) over that piece of time.
//!
//! ## Model, per piece `[t0, t1)`
//!
//! - **Offered load.** Each source offers `lambda(t)` requests per second, its rate function
//!   (`rate`, `steps`, `rateTrace`, `diurnal`: [`super::arrivals::rate_at`]) at the piece's
//!   midpoint; pieces are cut at every rate step, so a step is exact and a diurnal curve is
//!   integrated by the midpoint rule. An Argo Rollouts canary split sends its weight to the
//!   canary Service.
//! - **Balancing.** A Service's tries are split in equal shares over the endpoints kube-proxy
//!   knows (same endpoint delay as the request mode): the expectation of random (iptables) and
//!   round robin (IPVS). Least request sends more to less busy pods, but in steady state with
//!   identical pods its shares are equal too, so it is taken as equal shares.
//! - **Arrival variability** at a pod (`ca2`, the squared coefficient of variation of the
//!   inter-arrival times): 1 for Poisson; for constant arrivals 0 under round robin and
//!   `1 - 1/n` under random or least request over `n` endpoints (random thinning of a regular
//!   stream); several sources at one pod: their rate-weighted mean.
//! - **Pods** are stations ([`super::fluid_station::Station`]): `c` = the Behavior's
//!   `concurrency`, service-time moments from its `serviceTime`, its `queueLimit`; Erlang C
//!   (with the Allen–Cunneen correction) in equilibrium, the pointwise stationary fluid flow
//!   (a mean number of tries in the pod that relaxes towards equilibrium, or grows in
//!   overload) out of it. A pod whose process is gone but is still an endpoint answers every
//!   try with a reset (and loses its queue). Pods whose states agree within 2.4e-4 are solved
//!   once, as one group.
//! - **A try** to a pod is refused with the pod's refusal probability (`overflow`); otherwise
//!   its response time is `R = W + S + 2 networkLatency + sidecar latency`; it times out with
//!   probability `P(R > timeout)` (`timeout`; the pod still does the work); otherwise it
//!   answers with a 5xx with probability `errorRate`, else succeeds with latency `R | R <=
//!   timeout`.
//! - **Retries.** With per-try failure probability `p`, a request makes `1 + p + ... + p^r`
//!   tries (`r` = `retries`), which adds to the pods' load; `p` and the load are solved together
//!   by fixed-point iteration. A request fails with probability `p^(r+1)`, and the cause of its
//!   last try splits the failures (`p^r q_cause`). A success after `k` retries has `k` failed
//!   tries and `k` back-offs before it: their mean durations (a timed-out try lasts `timeout`,
//!   a 5xx its mean response time, a refusal or reset a network round trip; the n-th back-off
//!   half of Envoy's `min(base 2^n, 10 base)`) shift its latency.
//! - **Counts.** Requests, successes and failures are the fluid totals, rounded; `in_flight` is
//!   Little's law, `lambda * E[min(R, timeout)]` per try, so `requests = succeeded + failed +
//!   in_flight` holds at every sample. Latency histograms record the success distribution at
//!   118 quantile levels (1% bins to p99, then 0.1% and 0.01% bins), with fractional counts
//!   carried to the next piece, so percentiles over the run are those of the time-weighted
//!   mixture. CPU per try times the tries served gives each pod's CPU usage (HPA).
//!
//! Not modelled (refused when the scenario loads): closed-loop sources, client circuit
//! breakers, request graphs, DestinationRule outlier detection and connection-pool limits.
//! Per version, served tries and 5xx are counted but no latency is recorded.

use std::collections::BTreeMap;

use crate::cluster::events::{Change, Event, ObjectRef, WatchEvent};
use crate::cluster::objects::{ObjectKind, PodId};
use crate::cluster::spec::{ArrivalProcess, ClusterSpec, LoadBalancer, ServingSpec, TrafficSpec};
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, SimDuration, SimTime};

use super::endpoints::EndpointBook;
use super::fluid_station::{Load, ServiceDist, Station, invert, levels};
use super::stats::FailureCause;
use super::{Traffic, TrafficEvent, arrivals};

/// Most fixed-point iterations between retry load and failure probability per piece.
const MAX_ITERATIONS: usize = 60;

/// True if the scenario's traffic runs in fluid mode (all its sources share one mode).
pub fn is_fluid(spec: &ClusterSpec) -> bool {
    spec.traffic.first().is_some_and(|t| t.mode.is_fluid())
}

/// The traffic component for `spec`: the request model, or the fluid model when the
/// scenario's `Traffic` documents say `mode: fluid`. `end` is the end of the run.
pub fn component(spec: &ClusterSpec, end: SimTime) -> Box<dyn Component<Event, ClusterState>> {
    if is_fluid(spec) {
        Box::new(FluidTraffic::new(spec, end))
    } else {
        Box::new(Traffic::new(spec, end))
    }
}

/// The traffic events to schedule at time zero for `spec`: the request model's
/// ([`Traffic::initial_events`]), or, in fluid mode, the first `Sample` and, when the run's
/// end is not a sampling instant, a `Start` at the end that integrates the last piece.
pub fn initial_events(spec: &ClusterSpec) -> Vec<(SimTime, TrafficEvent)> {
    if !is_fluid(spec) {
        return Traffic::initial_events(spec);
    }
    let mut v = vec![(SimTime::ZERO, TrafficEvent::Sample)];
    let every = spec.sample_every.as_nanos();
    let end = spec.duration.as_nanos();
    if every == 0 || !end.is_multiple_of(every) {
        v.push((SimTime::ZERO + spec.duration, TrafficEvent::Start(0)));
    }
    v
}

/// A pod's serving behaviour as a station.
#[derive(Debug)]
struct Profile {
    station: Station,
    /// Application plus sidecar CPU per try, ns.
    cpu_per_try: f64,
    error_rate: f64,
    /// Sidecar latency, seconds.
    sidecar: f64,
}

impl Profile {
    fn of(s: &ServingSpec) -> Profile {
        let sc = s.sidecar.unwrap_or_default();
        Profile {
            station: Station {
                servers: s.concurrency.max(1),
                service: ServiceDist::of(&s.service_time),
                queue_limit: s.queue_limit,
            },
            cpu_per_try: (s.cpu_per_request.as_nanos() + sc.cpu_per_request.as_nanos()) as f64,
            error_rate: s.error_rate,
            sidecar: sc.latency.as_secs_f64(),
        }
    }
}

/// A pod as a fluid server.
#[derive(Debug)]
struct Server {
    pod: PodId,
    profile: u32,
    running: bool,
    /// Mean tries in the pod (the fluid state of an unbounded queue).
    in_system: f64,
    /// CPU consumed since the start, ns.
    cpu_ns: f64,
    cpu_at_last_sample: f64,
}

/// A Service as kube-proxy sees it.
#[derive(Debug)]
struct Svc {
    key: String,
    /// Server ids of the endpoints, ascending.
    endpoints: Vec<u32>,
    lb: Option<LoadBalancer>,
    split: Option<(u32, u32)>,
}

/// Running totals of one source, as fluid (fractional) counts.
#[derive(Debug, Default)]
struct Totals {
    arrivals: f64,
    succeeded: f64,
    failed: [f64; 5],
    tries: f64,
    retries: f64,
    wait_sum: f64,
    waits: f64,
    waited: f64,
    /// Requests in flight now (Little's law over the last piece).
    in_flight: f64,
    /// Fractional histogram counts not yet recorded, per (attempt, level).
    carry: Vec<f64>,
}

/// Stations with the same profile, load and state: computed once.
#[derive(Debug, Clone, Copy)]
struct Group {
    profile: u32,
    running: bool,
    load: Load,
    pods: u32,
}

/// What one source's tries meet over a piece.
#[derive(Debug, Default, Clone)]
struct Meets {
    /// Share of its tries going to each group's pods.
    weight: Vec<f64>,
    /// Per-try probability of each failure cause ([`FailureCause::ALL`] order).
    q: [f64; 5],
}

/// The network solved for one piece.
struct Solved {
    groups: Vec<Group>,
    meets: Vec<Meets>,
    /// Group of each endpoint (server id).
    group_of: BTreeMap<u32, usize>,
}

/// The fluid traffic component.
pub struct FluidTraffic {
    sources: Vec<TrafficSpec>,
    services: Vec<Svc>,
    servers: Vec<Server>,
    /// Which servers are ready endpoints of which Service (the EndpointSlice controller).
    endpoints: EndpointBook,
    profiles: Vec<Profile>,
    profile_ids: BTreeMap<(String, String), u32>,
    /// Served and 5xx tries per profile (version), fluid counts.
    version_totals: Vec<(f64, f64)>,
    totals: Vec<Totals>,
    sample_every: SimDuration,
    step: SimDuration,
    end: SimTime,
    /// Integrated up to here.
    done_to: SimTime,
    /// Every rate step of every source, ascending.
    cuts: Vec<SimTime>,
    levels: Vec<(f64, f64)>,
    /// Scratch: per server, tries per second and its `ca2`-weighted sum.
    lam: Vec<f64>,
    lam_ca: Vec<f64>,
}

impl std::fmt::Debug for FluidTraffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FluidTraffic")
            .field("sources", &self.sources.len())
            .field("servers", &self.servers.len())
            .finish()
    }
}

impl FluidTraffic {
    /// The fluid model of `spec`'s traffic; `end` is the end of the run.
    pub fn new(spec: &ClusterSpec, end: SimTime) -> FluidTraffic {
        let mut services: Vec<Svc> = spec
            .services
            .iter()
            .map(|s| Svc {
                key: format!("{}/{}", s.namespace, s.name),
                endpoints: Vec::new(),
                lb: None,
                split: None,
            })
            .collect();
        for dr in &spec.destination_rules {
            services[dr.service].lb = dr.load_balancer;
        }
        let step = spec
            .traffic
            .iter()
            .filter_map(|t| match t.mode {
                crate::cluster::spec::TrafficMode::Fluid { step } => step,
                crate::cluster::spec::TrafficMode::Request => None,
            })
            .min()
            .unwrap_or(spec.sample_every);
        let mut cuts: Vec<SimTime> = spec
            .traffic
            .iter()
            .flat_map(|t| t.steps.iter().map(|s| s.at))
            .collect();
        cuts.sort();
        cuts.dedup();
        let levels = levels();
        FluidTraffic {
            totals: spec
                .traffic
                .iter()
                .map(|t| Totals {
                    carry: vec![0.0; levels.len() * (t.retries as usize + 1)],
                    ..Totals::default()
                })
                .collect(),
            sources: spec.traffic.clone(),
            services,
            servers: Vec::new(),
            endpoints: EndpointBook::new(spec),
            profiles: Vec::new(),
            profile_ids: BTreeMap::new(),
            version_totals: Vec::new(),
            sample_every: spec.sample_every,
            step: if step.as_nanos() == 0 {
                SimDuration::from_secs(10)
            } else {
                step
            },
            end,
            done_to: SimTime::ZERO,
            cuts,
            levels,
            lam: Vec::new(),
            lam_ca: Vec::new(),
        }
    }

    // ----- integration -------------------------------------------------------------------

    /// Integrate from where the model stands up to `now`, in pieces cut at rate steps and at
    /// most `step` long, then publish the totals.
    fn advance_to(&mut self, now: SimTime, state: &mut ClusterState) {
        if now <= self.done_to {
            return;
        }
        while self.done_to < now {
            let a = self.done_to;
            let mut b = (a + self.step).min(now);
            let i = self.cuts.partition_point(|&c| c <= a);
            if let Some(&c) = self.cuts.get(i)
                && c < b
            {
                b = c;
            }
            self.piece(a, b, state);
            self.done_to = b;
        }
        self.publish(state);
    }

    /// The share of a source's tries to `svc` and its canary Service.
    fn routes(&self, svc: u32) -> [(u32, f64); 2] {
        match self.services[svc as usize].split {
            Some((canary, w)) if w > 0 => {
                let w = f64::from(w.min(100)) / 100.0;
                [(svc, 1.0 - w), (canary, w)]
            }
            _ => [(svc, 1.0), (svc, 0.0)],
        }
    }

    /// Arrival `ca2` of source `i`'s tries at one pod of `svc`.
    fn ca2(&self, i: usize, svc: u32) -> f64 {
        let s = &self.sources[i];
        match s.arrival {
            ArrivalProcess::Constant => {
                let n = self.services[svc as usize].endpoints.len().max(1) as f64;
                match self.services[svc as usize].lb.unwrap_or(s.load_balancer) {
                    LoadBalancer::RoundRobin => 0.0,
                    _ => 1.0 - 1.0 / n,
                }
            }
            _ => 1.0,
        }
    }

    /// The stations of every endpoint under tries at `tries[i]` per second from each source:
    /// groups of identical pods, and what each source's tries meet.
    fn solve(&mut self, tries: &[f64], dt: f64) -> Solved {
        let n = self.servers.len();
        self.lam.clear();
        self.lam.resize(n, 0.0);
        self.lam_ca.clear();
        self.lam_ca.resize(n, 0.0);
        for (i, src) in self.sources.iter().enumerate() {
            for (svc, share) in self.routes(src.service as u32) {
                let e = &self.services[svc as usize].endpoints;
                if share <= 0.0 || e.is_empty() {
                    continue;
                }
                let per = tries[i] * share / e.len() as f64;
                let ca = self.ca2(i, svc);
                for &s in e {
                    self.lam[s as usize] += per;
                    self.lam_ca[s as usize] += per * ca;
                }
            }
        }
        let mut groups: Vec<Group> = Vec::new();
        let mut index: BTreeMap<(u32, bool, u64, u64, u64), usize> = BTreeMap::new();
        let mut group_of: BTreeMap<u32, usize> = BTreeMap::new();
        for svc in &self.services {
            for &s in &svc.endpoints {
                if group_of.contains_key(&s) {
                    continue;
                }
                let sv = &self.servers[s as usize];
                let lam = self.lam[s as usize];
                let ca2 = if lam > 0.0 {
                    self.lam_ca[s as usize] / lam
                } else {
                    1.0
                };
                // Pods whose states agree to 12 bits of mantissa (2.4e-4) share one group,
                // and leave the piece in its state.
                let key = (
                    sv.profile,
                    sv.running,
                    lam.to_bits(),
                    ca2.to_bits(),
                    sv.in_system.to_bits() >> 40,
                );
                let g = *index.entry(key).or_insert_with(|| {
                    let load = if sv.running {
                        self.profiles[sv.profile as usize]
                            .station
                            .load(lam, ca2, sv.in_system, dt)
                    } else {
                        Load::default()
                    };
                    groups.push(Group {
                        profile: sv.profile,
                        running: sv.running,
                        load,
                        pods: 0,
                    });
                    groups.len() - 1
                });
                groups[g].pods += 1;
                group_of.insert(s, g);
            }
        }
        let mut meets = Vec::with_capacity(self.sources.len());
        for src in &self.sources {
            let mut m = Meets {
                weight: vec![0.0; groups.len()],
                q: [0.0; 5],
            };
            for (svc, share) in self.routes(src.service as u32) {
                if share <= 0.0 {
                    continue;
                }
                let e = &self.services[svc as usize].endpoints;
                if e.is_empty() {
                    m.q[cause_index(FailureCause::NoEndpoints)] += share;
                    continue;
                }
                let w = share / e.len() as f64;
                for s in e {
                    m.weight[group_of[s]] += w;
                }
            }
            for (g, gr) in groups.iter().enumerate() {
                let w = m.weight[g];
                if w <= 0.0 {
                    continue;
                }
                if !gr.running {
                    m.q[cause_index(FailureCause::Reset)] += w;
                    continue;
                }
                let p = &self.profiles[gr.profile as usize];
                let refused = gr.load.refused;
                m.q[cause_index(FailureCause::Overflow)] += w * refused;
                let answered = w * (1.0 - refused);
                let late = match src.timeout {
                    Some(t) => {
                        let d = 2.0 * src.network_latency.as_secs_f64() + p.sidecar;
                        1.0 - gr
                            .load
                            .wait
                            .response_cdf(&p.station.service, d, t.as_secs_f64())
                    }
                    None => 0.0,
                };
                m.q[cause_index(FailureCause::Timeout)] += answered * late;
                m.q[cause_index(FailureCause::ServerError)] +=
                    answered * (1.0 - late) * p.error_rate;
            }
            meets.push(m);
        }
        Solved {
            groups,
            meets,
            group_of,
        }
    }

    /// One piece `[a, b)`: solve the network, then account it.
    fn piece(&mut self, a: SimTime, b: SimTime, state: &mut ClusterState) {
        let dt = b.saturating_since(a).as_secs_f64();
        if dt <= 0.0 || self.sources.is_empty() {
            return;
        }
        let mid = a + SimDuration::from_nanos(b.saturating_since(a).as_nanos() / 2);
        let lambda: Vec<f64> = self
            .sources
            .iter()
            .map(|s| arrivals::rate_at(s, mid).max(0.0))
            .collect();
        let retries: Vec<u32> = self.sources.iter().map(|s| s.retries).collect();
        let mut p = vec![0.0f64; self.sources.len()];
        let mut tries: Vec<f64> = lambda.clone();
        let mut solved = self.solve(&tries, dt);
        if retries.iter().any(|&r| r > 0) {
            for it in 0..MAX_ITERATIONS {
                let next: Vec<f64> = solved
                    .meets
                    .iter()
                    .map(|m| m.q.iter().sum::<f64>())
                    .collect();
                let moved = next
                    .iter()
                    .zip(&p)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f64::max);
                // Damped after a few rounds, so an oscillation settles.
                p = if it < 8 {
                    next
                } else {
                    p.iter().zip(&next).map(|(a, b)| 0.5 * (a + b)).collect()
                };
                if moved < 1e-10 {
                    break;
                }
                for i in 0..tries.len() {
                    tries[i] = lambda[i] * geometric(p[i], retries[i]);
                }
                solved = self.solve(&tries, dt);
            }
        }
        let Solved {
            groups,
            meets,
            group_of,
        } = solved;
        // Pods: CPU, backlog, versions.
        for (&s, &g) in &group_of {
            let sv = &mut self.servers[s as usize];
            let prof = &self.profiles[sv.profile as usize];
            let load = groups[g].load;
            let served = load.served * dt;
            sv.cpu_ns += served * prof.cpu_per_try;
            sv.in_system = if sv.running { load.in_system } else { 0.0 };
            let v = &mut self.version_totals[sv.profile as usize];
            v.0 += served;
            v.1 += served * prof.error_rate;
        }
        // Sources.
        for i in 0..self.sources.len() {
            self.account(i, lambda[i], tries[i], &groups, &meets[i], dt, state);
        }
    }

    /// Account source `i` over a piece of `dt` seconds: `lambda` requests and `tries` tries
    /// per second meeting `m`.
    #[allow(clippy::too_many_arguments)]
    fn account(
        &mut self,
        i: usize,
        lambda: f64,
        tries: f64,
        groups: &[Group],
        m: &Meets,
        dt: f64,
        state: &mut ClusterState,
    ) {
        let src = &self.sources[i];
        let r = src.retries;
        let p: f64 = m.q.iter().sum::<f64>().clamp(0.0, 1.0);
        let requests = lambda * dt;
        let last_fail = p.powi(r as i32);
        let t = &mut self.totals[i];
        t.arrivals += requests;
        t.tries += tries * dt;
        t.retries += (tries - lambda).max(0.0) * dt;
        for (c, q) in m.q.iter().enumerate() {
            t.failed[c] += requests * last_fail * q;
        }
        let ok = requests * (1.0 - last_fail * p);
        t.succeeded += ok;
        // Queue waits of the tries a worker took; Little's law for what is in flight.
        let net = 2.0 * src.network_latency.as_secs_f64();
        let timeout = src.timeout.map(|d| d.as_secs_f64());
        let mut in_flight = 0.0;
        let mut ok_weight = 0.0; // P(success) of a try
        let mut mean_r = 0.0; // mean response time over answered tries
        let mut answered_w = 0.0;
        for (g, gr) in groups.iter().enumerate() {
            let w = m.weight[g];
            if w <= 0.0 || !gr.running {
                continue;
            }
            let prof = &self.profiles[gr.profile as usize];
            let acc = w * (1.0 - gr.load.refused);
            let wait = &gr.load.wait;
            let n = tries * dt * acc;
            t.waits += n;
            t.wait_sum += n * wait.mean();
            t.waited += n * wait.p_wait();
            let r_mean = wait.mean() + prof.station.service.mean() + net + prof.sidecar;
            let held = timeout.map_or(r_mean, |x| r_mean.min(x));
            in_flight += tries * acc * held;
            mean_r += acc * r_mean;
            answered_w += acc;
            let within = match timeout {
                Some(x) => wait.response_cdf(&prof.station.service, net + prof.sidecar, x),
                None => 1.0,
            };
            ok_weight += acc * within * (1.0 - prof.error_rate);
        }
        // Refusals and resets hold a try for a network round trip.
        in_flight += tries * (1.0 - answered_w).max(0.0) * net;
        t.in_flight = in_flight;
        if ok <= 0.0 || ok_weight <= 0.0 {
            return;
        }
        // Mean length of a failed try, and the latency shift of a success after k retries.
        let mean_r = if answered_w > 0.0 {
            mean_r / answered_w
        } else {
            0.0
        };
        let qt = m.q[cause_index(FailureCause::Timeout)];
        let qe = m.q[cause_index(FailureCause::ServerError)];
        let failed_len = if p > 0.0 {
            (qt * timeout.unwrap_or(0.0) + qe * mean_r + (p - qt - qe).max(0.0) * net) / p
        } else {
            0.0
        };
        let base = src.retry_backoff.as_secs_f64();
        // The success distribution of one try: mixture over groups, truncated at the timeout.
        let parts: Vec<(f64, &Group)> = groups
            .iter()
            .enumerate()
            .filter(|(g, gr)| m.weight[*g] > 0.0 && gr.running)
            .map(|(g, gr)| {
                let prof = &self.profiles[gr.profile as usize];
                (
                    m.weight[g] * (1.0 - gr.load.refused) * (1.0 - prof.error_rate),
                    gr,
                )
            })
            .collect();
        let profiles = &self.profiles;
        let prepared: Vec<(f64, f64, super::fluid_station::Prepared<'_>)> = parts
            .iter()
            .map(|(w, gr)| {
                let prof = &profiles[gr.profile as usize];
                (
                    *w,
                    net + prof.sidecar,
                    gr.load.wait.prepare(&prof.station.service),
                )
            })
            .collect();
        let cdf = |x: f64| -> f64 {
            prepared
                .iter()
                .map(|(w, d, p)| w * p.cdf(*d, x))
                .sum::<f64>()
        };
        let hi = parts
            .iter()
            .map(|(_, gr)| {
                let prof = &profiles[gr.profile as usize];
                gr.load
                    .wait
                    .response_bound(&prof.station.service, net + prof.sidecar)
            })
            .fold(0.0, f64::max);
        let hi = timeout.map_or(hi, |x| x.min(hi));
        let top = cdf(hi).max(1e-300);
        let mut lo = 0.0;
        let mut xs = Vec::with_capacity(self.levels.len());
        for &(u, _) in &self.levels {
            let x = invert(cdf, u * top, lo, hi);
            xs.push(x);
            lo = x;
        }
        let stats = state.recorder.traffic.client_mut(i as u32);
        let n_levels = self.levels.len();
        let mut shift = 0.0;
        let denom = 1.0 - p.powi(r as i32 + 1);
        for k in 0..=r as usize {
            let share = if denom > 0.0 {
                p.powi(k as i32) * (1.0 - p) / denom
            } else {
                0.0
            };
            let weight = ok * share;
            if weight > 1e-12 {
                for (l, &(_, lw)) in self.levels.iter().enumerate() {
                    let c = &mut t.carry[k * n_levels + l];
                    *c += weight * lw;
                    let whole = c.floor();
                    if whole >= 1.0 {
                        *c -= whole;
                        let d = SimDuration::from_secs_f64(xs[l] + shift);
                        stats.record_success_n(d, whole as u64);
                    }
                }
            }
            let upper = (base * f64::from(1u32 << (k as u32).min(20))).min(base * 10.0);
            shift += failed_len + upper / 2.0;
        }
    }

    /// Write the fluid totals into the recorder as whole counts: `requests` is the arrivals
    /// rounded, `in_flight` Little's law (at most `requests`), and the finished requests are
    /// split by the fluid shares, so `requests = succeeded + failed + in_flight`.
    fn publish(&mut self, state: &mut ClusterState) {
        for (i, t) in self.totals.iter().enumerate() {
            let st = state.recorder.traffic.client_mut(i as u32);
            let requests = t.arrivals.round() as u64;
            let in_flight = (t.in_flight.round() as u64).min(requests);
            let finished = requests - in_flight;
            let fluid_finished = t.succeeded + t.failed.iter().sum::<f64>();
            let k = if fluid_finished > 0.0 {
                finished as f64 / fluid_finished
            } else {
                0.0
            };
            let mut failed = [0u64; FailureCause::ALL.len()];
            for (c, f) in t.failed.iter().enumerate() {
                failed[c] = (f * k).floor() as u64;
            }
            let failed_total: u64 = failed.iter().sum();
            st.requests = requests;
            st.in_flight = in_flight;
            st.failed = failed;
            st.succeeded = finished.saturating_sub(failed_total);
            st.tries = t.tries.round() as u64;
            st.retries = t.retries.round() as u64;
            st.wait_sum_ns = (t.wait_sum * 1e9).max(0.0) as u128;
            st.waits = t.waits.round() as u64;
            st.waited = t.waited.round() as u64;
        }
        for (v, &(served, errors)) in self.version_totals.iter().enumerate() {
            if let Some(x) = state.recorder.traffic.versions.get_mut(v) {
                x.served = served.round() as u64;
                x.errors = errors.round() as u64;
            }
        }
    }

    // ----- pods and endpoints (as in the request model) ----------------------------------

    fn profile_for(&mut self, workload: &str, image: &str, state: &mut ClusterState) -> u32 {
        let key = (workload.to_string(), image.to_string());
        if let Some(&p) = self.profile_ids.get(&key) {
            return p;
        }
        let b = state.behavior(workload);
        let id = self.profiles.len() as u32;
        self.profiles.push(Profile::of(b.serving_for(image)));
        self.profile_ids.insert(key, id);
        self.version_totals.push((0.0, 0.0));
        state
            .recorder
            .traffic
            .versions
            .push(super::stats::VersionStats {
                workload: workload.to_string(),
                image: image.to_string(),
                ..Default::default()
            });
        id
    }

    fn pod_changed(
        &mut self,
        w: &WatchEvent,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let ObjectRef::Pod { id, .. } = &w.object else {
            return;
        };
        let id = *id;
        let server = match self.endpoints.server_of(id) {
            Some(s) => s,
            None => {
                let Some(pod) = state.store.pods.get(&id) else {
                    return;
                };
                // Pods no Service could select never carry traffic.
                if !self.endpoints.any_may_select(pod) {
                    return;
                }
                let image = pod
                    .template
                    .containers
                    .first()
                    .map(|c| c.image.clone())
                    .unwrap_or_default();
                let workload = pod.workload.clone();
                let profile = self.profile_for(&workload, &image, state);
                let s = self.endpoints.add_server(id);
                debug_assert_eq!(s as usize, self.servers.len());
                self.servers.push(Server {
                    pod: id,
                    profile,
                    running: false,
                    in_system: 0.0,
                    cpu_ns: 0.0,
                    cpu_at_last_sample: 0.0,
                });
                s
            }
        };
        let running = w.change != Change::Deleted
            && state
                .store
                .pods
                .get(&id)
                .is_some_and(|p| p.started_at.is_some() && !p.phase.is_terminal());
        if running != self.servers[server as usize].running {
            // An endpoint whose process stops (or starts) changes what its tries meet.
            if self
                .services
                .iter()
                .any(|s| s.endpoints.binary_search(&server).is_ok())
            {
                self.advance_to(ctx.now(), state);
            }
            let sv = &mut self.servers[server as usize];
            sv.running = running;
            if !running {
                sv.in_system = 0.0;
            }
        }
        self.endpoints
            .pod_changed(server, w.change == Change::Deleted, state, ctx);
    }

    /// A Service was patched (Rollout controller): new selector hash and canary split.
    fn service_changed(
        &mut self,
        w: &WatchEvent,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let ObjectRef::Named(key) = &w.object else {
            return;
        };
        let Some(svc) = self.services.iter().position(|s| s.key == *key) else {
            return;
        };
        self.advance_to(ctx.now(), state);
        let route = state
            .store
            .service_routes
            .get(&svc)
            .cloned()
            .unwrap_or_default();
        self.services[svc].split = route
            .canary
            .map(|(c, w)| (c as u32, w.clamp(0, 100) as u32));
        self.endpoints.set_hash(svc, route.hash, state, ctx);
    }

    fn endpoint(
        &mut self,
        service: u32,
        server: u32,
        ready: bool,
        state: &mut ClusterState,
        now: SimTime,
    ) {
        self.advance_to(now, state);
        let s = &mut self.services[service as usize];
        match s.endpoints.binary_search(&server) {
            Ok(i) if !ready => {
                s.endpoints.remove(i);
            }
            Err(i) if ready => s.endpoints.insert(i, server),
            _ => {}
        }
    }

    // ----- sampling ------------------------------------------------------------------------

    /// The request model's gauges, from the fluid state.
    fn sample(&mut self, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        self.advance_to(now, state);
        let secs = self.sample_every.as_secs_f64();
        let rec = &mut state.recorder;
        for s in &self.services {
            rec.sample(now, "service.endpoints", &s.key, s.endpoints.len() as f64);
            rec.sample(now, "service.ejected", &s.key, 0.0);
        }
        for st in &mut rec.traffic.sources {
            let name = rec.sample_names.intern(&st.name);
            let (p50, p99) = st.end_interval();
            for (metric, v) in [
                ("traffic.requests", st.requests as f64),
                ("traffic.succeeded", st.succeeded as f64),
                ("traffic.failed", st.failed_total() as f64),
                ("traffic.in_flight", st.in_flight as f64),
                ("traffic.latency_p50", p50),
                ("traffic.latency_p99", p99),
            ] {
                rec.samples.push(crate::cluster::metrics::SampleRow {
                    time: now,
                    metric,
                    object: std::sync::Arc::clone(&name),
                    value: v,
                });
            }
        }
        // Per pod CPU usage over the last interval, millicores (what metrics-server reports).
        for (i, sv) in self.servers.iter_mut().enumerate() {
            let used = sv.cpu_ns - sv.cpu_at_last_sample;
            sv.cpu_at_last_sample = sv.cpu_ns;
            if self.endpoints.server_of(sv.pod) != Some(i as u32) {
                continue;
            }
            let milli = if secs > 0.0 {
                used / 1e9 / secs * 1000.0
            } else {
                0.0
            };
            state.pod_cpu_usage.insert(sv.pod, milli);
            if let Some(p) = state.store.pods.get(&sv.pod) {
                let key = p.key();
                state
                    .recorder
                    .sample(now, "pod.cpu_usage_millicores", &key, milli);
            }
        }
        state
            .pod_cpu_usage
            .retain(|id, _| state.store.pods.contains_key(id));
        let next = now + self.sample_every;
        if self.sample_every.as_nanos() > 0 && next <= self.end {
            ctx.send_self(self.sample_every, Event::Traffic(TrafficEvent::Sample));
        }
    }
}

/// `1 + p + ... + p^r`: tries per request with per-try failure probability `p`.
fn geometric(p: f64, r: u32) -> f64 {
    let mut s = 1.0;
    let mut x = 1.0;
    for _ in 0..r {
        x *= p;
        s += x;
    }
    s
}

fn cause_index(c: FailureCause) -> usize {
    FailureCause::ALL.iter().position(|x| *x == c).unwrap_or(0)
}

impl Component<Event, ClusterState> for FluidTraffic {
    fn name(&self) -> &str {
        "traffic"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match event {
            Event::Traffic(TrafficEvent::Sample) => self.sample(state, ctx),
            // In fluid mode `Start` integrates up to now (the run's last piece).
            Event::Traffic(TrafficEvent::Start(_)) => self.advance_to(ctx.now(), state),
            Event::Traffic(TrafficEvent::Endpoint {
                service,
                server,
                ready,
            }) => self.endpoint(service, server, ready, state, ctx.now()),
            Event::Traffic(_) => {}
            Event::Watch(w) if w.kind == ObjectKind::Pod && !self.services.is_empty() => {
                self.pod_changed(&w, state, ctx)
            }
            Event::Watch(w) if w.kind == ObjectKind::Service => {
                self.service_changed(&w, state, ctx)
            }
            Event::Controller(crate::cluster::events::ControllerTimer::StartedLeading)
                if !self.services.is_empty() =>
            {
                self.endpoints.resync(state, ctx)
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometric_sums_the_tries() {
        assert_eq!(geometric(0.0, 3), 1.0);
        assert_eq!(geometric(0.5, 2), 1.75);
        assert_eq!(geometric(1.0, 4), 5.0);
    }
}
