//! Queueing formulas of the fluid traffic mode ([`super::fluid`]): one pod as a multi-server
//! station over one integration piece, and the distribution of a try's response time.
//!
//! ## The station
//!
//! A pod with `c` workers (its `concurrency`), service times `S` of mean `E[S] = 1 / mu` and
//! squared coefficient of variation `cs2 = Var S / E[S]^2`, tries arriving at `lambda` per
//! second with squared coefficient of variation `ca2` of their inter-arrival times (1 for
//! Poisson), offered load `a = lambda / mu` Erlangs, utilisation `rho = a / c`:
//!
//! - **Unbounded queue, in equilibrium**: Erlang C. `P(wait) = C(c, a)` (computed with the
//!   stable Erlang B recursion `B(k) = a B(k-1) / (k + a B(k-1))`, `C = B / (1 - rho (1 - B))`);
//!   `Wq = C / (c mu - lambda)` for M/M/c, times the Allen–Cunneen factor `(ca2 + cs2) / 2` for
//!   M/G/c (exact for M/M/c, and for M/G/1 it is Pollaczek–Khinchine). The wait of a try that
//!   waits is exponential with mean `Wq / P(wait)` (for M/M/c exactly: rate `c mu - lambda`).
//! - **Unbounded queue, out of equilibrium** (load changed, overload): the pointwise
//!   stationary fluid flow approximation (Wang, Chen, Ding and Kanefsky 1996). The state is
//!   `x`, the mean number of tries in the pod; its stationary relation with the utilisation,
//!   `L(rho) = c rho + C(c, c rho) rho / (1 - rho) (ca2 + cs2) / 2`, is inverted to give the
//!   pod's effective utilisation `rho(x) < 1`, and `dx/dt = lambda - c mu rho(x)`. Integrated by
//!   backward Euler in sub-steps of at most 1 s (each solved for `rho` by safeguarded Newton:
//!   `L(rho) + h c mu rho = x + h lambda`), so it is stable at any step; in overload `x` grows by about
//!   `(lambda - c mu) dt` and the wait, `Lq / (c mu rho)`, with it. At each sub-step the wait
//!   is Erlang C's at `rho(x)` (`Wq = Lq / throughput`); over the piece, `P(wait)` and `Wq` are
//!   their sub-step means. In equilibrium this is the formula above exactly.
//! - **Queue limit `K`** (`queueLimit`): the M/M/c/K birth–death chain (states `0..=c+K`,
//!   births `lambda`, deaths `min(n, c) mu`), exact for exponential service at any `rho`: a try
//!   is refused (overflow) with probability `pi(c + K)`; `P(wait) = sum_{n=c}^{c+K-1} pi(n) /
//!   (1 - pi(c+K))`; `Wq = Lq / lambda_accepted` (Little); the Allen–Cunneen factor applies to
//!   `Wq` as above, and the wait of a try that waits is taken as exponential with its mean.
//!   Limits above [`FINITE_QUEUE_MAX`] are treated as unbounded.
//!
//! ## Response time
//!
//! A try's response time is `R = W + S + d`, `d` a constant (network latency both ways plus
//! the sidecar's). Its distribution function is computed exactly for exponential and constant
//! service times (hypoexponential and shifted exponential), and for log-normal and uniform
//! ones by a 64-point quadrature over the quantiles of `S`; percentiles are found by bisection.

use crate::cluster::spec::Distribution;

/// Queue limits above this are treated as unbounded (the M/M/c/K chain would be long and
/// its refusal probability is then nil for any `rho < 1`).
pub const FINITE_QUEUE_MAX: u32 = 100_000;

/// Longest backward-Euler sub-step of the fluid flow, seconds.
const SUBSTEP: f64 = 1.0;

/// Most sub-steps per piece.
const MAX_SUBSTEPS: usize = 600;

/// Quadrature points over the quantiles of a service time without a closed-form convolution.
const NODES: usize = 64;

/// z-score of the 99th percentile of the standard normal distribution.
const Z_99: f64 = 2.326_347_874_040_841;

/// A service-time distribution in seconds, with what the formulas need of it.
#[derive(Clone, Debug, PartialEq)]
pub enum ServiceDist {
    /// Always `s` seconds.
    Constant(f64),
    /// Exponential with this mean, seconds.
    Exponential(f64),
    /// Log-normal: `ln S ~ N(mu, sigma^2)`; `nodes` are its quantiles at `(j + 0.5) / 64`.
    LogNormal {
        /// Mean of `ln S`.
        mu: f64,
        /// Standard deviation of `ln S`.
        sigma: f64,
        /// Quadrature nodes, seconds.
        nodes: Vec<f64>,
    },
    /// Uniform on `[a, b]` seconds; `nodes` as for log-normal.
    Uniform {
        /// Lower bound.
        a: f64,
        /// Upper bound.
        b: f64,
        /// Quadrature nodes, seconds.
        nodes: Vec<f64>,
    },
}

impl ServiceDist {
    /// From a `Behavior` distribution (log-normal from its median and p99, as
    /// `cluster::distribution::sample` draws it).
    pub fn of(d: &Distribution) -> ServiceDist {
        match d {
            Distribution::Constant(v) => ServiceDist::Constant(v.as_secs_f64()),
            Distribution::Exponential { mean } => {
                if mean.as_nanos() == 0 {
                    ServiceDist::Constant(0.0)
                } else {
                    ServiceDist::Exponential(mean.as_secs_f64())
                }
            }
            Distribution::LogNormal { median, p99 } => {
                let m = median.as_secs_f64();
                if m <= 0.0 {
                    return ServiceDist::Constant(0.0);
                }
                let mu = m.ln();
                let sigma = (p99.as_secs_f64().max(m).ln() - mu) / Z_99;
                if sigma <= 0.0 {
                    return ServiceDist::Constant(m);
                }
                let nodes = (0..NODES)
                    .map(|j| (mu + sigma * normal_quantile((j as f64 + 0.5) / NODES as f64)).exp())
                    .collect();
                ServiceDist::LogNormal { mu, sigma, nodes }
            }
            Distribution::Uniform { min, max } => {
                let (a, b) = (min.as_secs_f64(), max.as_secs_f64().max(min.as_secs_f64()));
                if b <= a {
                    return ServiceDist::Constant(a);
                }
                let nodes = (0..NODES)
                    .map(|j| a + (b - a) * (j as f64 + 0.5) / NODES as f64)
                    .collect();
                ServiceDist::Uniform { a, b, nodes }
            }
        }
    }

    /// Mean, seconds.
    pub fn mean(&self) -> f64 {
        match self {
            ServiceDist::Constant(s) => *s,
            ServiceDist::Exponential(m) => *m,
            ServiceDist::LogNormal { mu, sigma, .. } => (mu + sigma * sigma / 2.0).exp(),
            ServiceDist::Uniform { a, b, .. } => (a + b) / 2.0,
        }
    }

    /// Squared coefficient of variation `Var S / E[S]^2` (0 for a zero mean).
    pub fn scv(&self) -> f64 {
        match self {
            ServiceDist::Constant(_) => 0.0,
            ServiceDist::Exponential(_) => 1.0,
            ServiceDist::LogNormal { sigma, .. } => (sigma * sigma).exp() - 1.0,
            ServiceDist::Uniform { a, b, .. } => {
                let m = (a + b) / 2.0;
                if m <= 0.0 {
                    0.0
                } else {
                    (b - a) * (b - a) / 12.0 / (m * m)
                }
            }
        }
    }

    /// `P(S <= x)`.
    pub fn cdf(&self, x: f64) -> f64 {
        match self {
            ServiceDist::Constant(s) => f64::from(u8::from(x >= *s)),
            ServiceDist::Exponential(m) => {
                if x <= 0.0 {
                    0.0
                } else {
                    1.0 - (-x / m).exp()
                }
            }
            ServiceDist::LogNormal { mu, sigma, .. } => {
                if x <= 0.0 {
                    0.0
                } else {
                    normal_cdf((x.ln() - mu) / sigma)
                }
            }
            ServiceDist::Uniform { a, b, .. } => ((x - a) / (b - a)).clamp(0.0, 1.0),
        }
    }

    /// The `u`-quantile (`0 <= u < 1`), seconds.
    pub fn quantile(&self, u: f64) -> f64 {
        match self {
            ServiceDist::Constant(s) => *s,
            ServiceDist::Exponential(m) => -m * (1.0 - u).ln(),
            ServiceDist::LogNormal { mu, sigma, .. } => (mu + sigma * normal_quantile(u)).exp(),
            ServiceDist::Uniform { a, b, .. } => a + (b - a) * u,
        }
    }

    /// `P(E + S <= y)` for `E` exponential with mean `m_e` independent of `S`.
    fn cdf_plus_exp(&self, y: f64, m_e: f64) -> f64 {
        if y <= 0.0 {
            return 0.0;
        }
        let theta = 1.0 / m_e;
        match self {
            ServiceDist::Constant(s) => {
                if y < *s {
                    0.0
                } else {
                    1.0 - (-theta * (y - s)).exp()
                }
            }
            ServiceDist::Exponential(m) => {
                let mu = 1.0 / m;
                if ((theta - mu) / mu).abs() < 1e-9 {
                    // Erlang-2.
                    1.0 - (-mu * y).exp() * (1.0 + mu * y)
                } else {
                    // Hypoexponential with rates theta and mu.
                    1.0 - (theta * (-mu * y).exp() - mu * (-theta * y).exp()) / (theta - mu)
                }
            }
            ServiceDist::LogNormal { nodes, .. } | ServiceDist::Uniform { nodes, .. } => {
                let sum: f64 = nodes
                    .iter()
                    .filter(|&&s| s < y)
                    .map(|&s| 1.0 - (-theta * (y - s)).exp())
                    .sum();
                sum / nodes.len() as f64
            }
        }
    }
}

/// Standard normal distribution function, from the complementary error function (Numerical
/// Recipes' Chebyshev fit `erfcc`, fractional error below 1.2e-7).
pub fn normal_cdf(z: f64) -> f64 {
    let x = -z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let y = t
        * (-x * x - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    let erfc = if x >= 0.0 { y } else { 2.0 - y };
    0.5 * erfc
}

/// Inverse of the standard normal distribution function (Acklam's rational approximation,
/// relative error below 1.2e-9), for `0 < p < 1`.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let low = 0.024_25;
    if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    }
}

/// Erlang C: the probability that an arrival waits in an M/M/c queue with offered load `a`
/// Erlangs (`a < c`), by the Erlang B recursion (stable for any `c`).
pub fn erlang_c(c: u32, a: f64) -> f64 {
    if a <= 0.0 {
        return 0.0;
    }
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let rho = a / f64::from(c);
    b / (1.0 - rho * (1.0 - b))
}

/// The waiting time of an accepted try: 0 with probability `1 - exp_weight - fixed_weight`,
/// exponential with mean `exp_mean` with probability `exp_weight`, exactly `fixed` seconds with
/// probability `fixed_weight`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Wait {
    /// Probability of an exponential wait.
    pub exp_weight: f64,
    /// Its mean, seconds.
    pub exp_mean: f64,
    /// Probability of a fixed wait.
    pub fixed_weight: f64,
    /// Its length, seconds.
    pub fixed: f64,
}

impl Wait {
    /// Mean wait, seconds.
    pub fn mean(&self) -> f64 {
        self.exp_weight * self.exp_mean + self.fixed_weight * self.fixed
    }

    /// Probability of waiting at all.
    pub fn p_wait(&self) -> f64 {
        let f = if self.fixed > 0.0 {
            self.fixed_weight
        } else {
            0.0
        };
        let e = if self.exp_mean > 0.0 {
            self.exp_weight
        } else {
            0.0
        };
        e + f
    }

    /// `P(W + S + d <= x)`: the distribution function of a try's response time.
    pub fn response_cdf(&self, s: &ServiceDist, d: f64, x: f64) -> f64 {
        let y = x - d;
        if y < 0.0 {
            return 0.0;
        }
        let (we, wf) = (self.exp_weight, self.fixed_weight);
        let mut p = (1.0 - we - wf).max(0.0) * s.cdf(y);
        if we > 0.0 {
            p += we
                * if self.exp_mean > 0.0 {
                    s.cdf_plus_exp(y, self.exp_mean)
                } else {
                    s.cdf(y)
                };
        }
        if wf > 0.0 {
            p += wf * s.cdf(y - self.fixed);
        }
        p.clamp(0.0, 1.0)
    }

    /// The response-time distribution function prepared for many evaluations: for log-normal
    /// and uniform service times the quadrature sum `sum_j (1 - exp(-theta (y - s_j)))` over
    /// nodes below `y` is kept as running decayed sums, so one evaluation costs one `exp`.
    pub fn prepare<'a>(&self, s: &'a ServiceDist) -> Prepared<'a> {
        let mut decay = Vec::new();
        if self.exp_weight > 0.0
            && self.exp_mean > 0.0
            && let ServiceDist::LogNormal { nodes, .. } | ServiceDist::Uniform { nodes, .. } = s
        {
            // decay[k] = sum_{j < k} exp(-theta (s_{k-1} - s_j)), nodes ascending.
            let theta = 1.0 / self.exp_mean;
            decay.reserve(nodes.len() + 1);
            decay.push(0.0);
            for k in 0..nodes.len() {
                let prev = if k == 0 {
                    0.0
                } else {
                    decay[k] * (-theta * (nodes[k] - nodes[k - 1])).exp()
                };
                decay.push(1.0 + prev);
            }
        }
        Prepared {
            wait: *self,
            service: s,
            decay,
        }
    }

    /// An upper bound of the response time's `1 - 1e-7` quantile, for bisection.
    pub fn response_bound(&self, s: &ServiceDist, d: f64) -> f64 {
        let w = self.fixed.max(self.exp_mean * 18.0);
        d + w + s.quantile(1.0 - 1e-7).max(s.mean()) + 1e-9
    }
}

/// A response-time distribution function ready for many evaluations ([`Wait::prepare`]).
#[derive(Debug)]
pub struct Prepared<'a> {
    wait: Wait,
    service: &'a ServiceDist,
    /// Running decayed sums over the quadrature nodes (empty when not needed).
    decay: Vec<f64>,
}

impl Prepared<'_> {
    /// `P(W + S + d <= x)`, as [`Wait::response_cdf`].
    pub fn cdf(&self, d: f64, x: f64) -> f64 {
        let nodes = match self.service {
            ServiceDist::LogNormal { nodes, .. } | ServiceDist::Uniform { nodes, .. }
                if !self.decay.is_empty() =>
            {
                nodes
            }
            _ => return self.wait.response_cdf(self.service, d, x),
        };
        let y = x - d;
        if y <= 0.0 {
            return 0.0;
        }
        let w = &self.wait;
        let s = self.service;
        let mut p = (1.0 - w.exp_weight - w.fixed_weight).max(0.0) * s.cdf(y);
        // Nodes strictly below y.
        let k = nodes.partition_point(|&v| v < y);
        if k > 0 {
            let theta = 1.0 / w.exp_mean;
            let tail = (-theta * (y - nodes[k - 1])).exp() * self.decay[k];
            p += w.exp_weight * (k as f64 - tail) / nodes.len() as f64;
        }
        if w.fixed_weight > 0.0 {
            p += w.fixed_weight * s.cdf(y - w.fixed);
        }
        p.clamp(0.0, 1.0)
    }
}

/// A pod as a queueing station.
#[derive(Clone, Debug, PartialEq)]
pub struct Station {
    /// Workers (`concurrency`), at least 1.
    pub servers: u32,
    /// Service time.
    pub service: ServiceDist,
    /// Most tries waiting; `None` = unbounded.
    pub queue_limit: Option<u32>,
}

/// What a station does over one piece of `dt` seconds with tries arriving at `lambda` per
/// second and `in_system` tries in it at its start.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Load {
    /// Tries a worker completes per second (mean over the piece).
    pub served: f64,
    /// Probability that an arriving try is refused (queue full).
    pub refused: f64,
    /// Mean busy workers over the piece.
    pub busy: f64,
    /// Waiting time of an accepted try.
    pub wait: Wait,
    /// Mean tries waiting over the piece.
    pub queued: f64,
    /// Tries in the station (in service and waiting) at the end of the piece (unbounded
    /// queue; 0 with a queue limit).
    pub in_system: f64,
}

impl Station {
    /// The station's load over `dt` seconds; `ca2` is the squared coefficient of variation of
    /// the inter-arrival times (1 = Poisson).
    pub fn load(&self, lambda: f64, ca2: f64, in_system: f64, dt: f64) -> Load {
        let es = self.service.mean();
        let c = f64::from(self.servers.max(1));
        if lambda <= 0.0 && in_system <= 0.0 {
            return Load::default();
        }
        if es <= 0.0 {
            return Load {
                served: lambda,
                ..Load::default()
            };
        }
        let mu = 1.0 / es;
        let cap = c * mu;
        let ac = (ca2 + self.service.scv()) / 2.0;
        if let Some(k) = self.queue_limit
            && k <= FINITE_QUEUE_MAX
        {
            return self.finite(lambda, mu, k, ac);
        }
        let rho_now = lambda / cap;
        let l_of = |rho: f64| self.in_system(rho, ac);
        // At equilibrium already (or nothing to relax): the stationary formulas.
        if rho_now < 1.0 {
            let x_eq = l_of(rho_now);
            if (in_system - x_eq).abs() <= 1e-9 * (1.0 + x_eq) {
                return self.stationary_at(rho_now, mu, ac, x_eq);
            }
        }
        // Pointwise stationary fluid flow: backward Euler steps of dx/dt = lambda - c mu rho(x),
        // each solved for rho in [0, 1): L(rho) + h c mu rho = x + h lambda.
        let n = ((dt / SUBSTEP).ceil() as usize).clamp(1, MAX_SUBSTEPS);
        let h = dt / n as f64;
        let mut x = in_system.max(0.0);
        let mut acc = Load::default();
        let mut rho = rho_now.min(0.999);
        for _ in 0..n {
            let target = x + h * lambda;
            rho = solve_increasing(|r| l_of(r) + h * cap * r - target, rho);
            x = l_of(rho);
            let st = self.stationary_at(rho, mu, ac, x);
            acc.served += st.served;
            acc.busy += st.busy;
            acc.queued += st.queued;
            acc.wait.exp_weight += st.wait.exp_weight;
            acc.wait.exp_mean += st.wait.mean();
        }
        let k = n as f64;
        let pw = acc.wait.exp_weight / k;
        let wq = acc.wait.exp_mean / k;
        Load {
            served: acc.served / k,
            refused: 0.0,
            busy: acc.busy / k,
            wait: if pw > 0.0 && wq > 0.0 {
                Wait {
                    exp_weight: pw,
                    exp_mean: wq / pw,
                    ..Wait::default()
                }
            } else {
                Wait::default()
            },
            queued: acc.queued / k,
            in_system: x,
        }
    }

    /// The station in equilibrium under `lambda` tries per second (below capacity, or any
    /// load with a queue limit): the stationary formulas, exactly.
    pub fn equilibrium(&self, lambda: f64, ca2: f64) -> Load {
        let es = self.service.mean();
        let x = if es > 0.0 {
            let rho = lambda * es / f64::from(self.servers.max(1));
            self.in_system(rho, (ca2 + self.service.scv()) / 2.0)
        } else {
            0.0
        };
        self.load(lambda, ca2, x, 1.0)
    }

    /// Mean tries in the station (in service and waiting) at utilisation `rho < 1`:
    /// `L = c rho + Lq`, `Lq = C(c, c rho) rho / (1 - rho) (ca2 + cs2) / 2`.
    pub fn in_system(&self, rho: f64, ac: f64) -> f64 {
        if rho <= 0.0 {
            return 0.0;
        }
        let c = f64::from(self.servers.max(1));
        let rho = rho.min(1.0 - 1e-15);
        c * rho + erlang_c(self.servers.max(1), c * rho) * rho / (1.0 - rho) * ac
    }

    /// The station in equilibrium at utilisation `rho < 1` with `x` tries in it.
    fn stationary_at(&self, rho: f64, mu: f64, ac: f64, x: f64) -> Load {
        let c = f64::from(self.servers.max(1));
        let served = c * mu * rho;
        let pw = erlang_c(self.servers.max(1), c * rho);
        let lq = (x - c * rho).max(0.0);
        let wq = if served > 0.0 { lq / served } else { 0.0 };
        let _ = ac;
        Load {
            served,
            refused: 0.0,
            busy: c * rho,
            wait: if pw > 0.0 && wq > 0.0 {
                Wait {
                    exp_weight: pw,
                    exp_mean: wq / pw,
                    ..Wait::default()
                }
            } else {
                Wait::default()
            },
            queued: lq,
            in_system: x,
        }
    }

    /// M/M/c/K: `k` waiting places.
    fn finite(&self, lambda: f64, mu: f64, k: u32, ac: f64) -> Load {
        let c = self.servers.max(1);
        let n = (c + k) as usize;
        let a = lambda / mu;
        // log of the unnormalised probabilities.
        let mut lp = Vec::with_capacity(n + 1);
        lp.push(0.0f64);
        for i in 1..=n {
            let deaths = f64::from((i as u32).min(c));
            let prev = lp[i - 1];
            lp.push(prev + a.ln() - deaths.ln());
        }
        let top = lp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = lp.iter().map(|l| (l - top).exp()).collect();
        let total: f64 = w.iter().sum();
        let pi = |i: usize| w[i] / total;
        let refused = pi(n);
        let accepted = lambda * (1.0 - refused);
        let cu = c as usize;
        let waiting: f64 = (cu..n).map(pi).sum::<f64>() / (1.0 - refused).max(1e-300);
        let lq: f64 = (cu + 1..=n).map(|i| (i - cu) as f64 * pi(i)).sum();
        let busy: f64 = (0..=n).map(|i| i.min(cu) as f64 * pi(i)).sum();
        let wq = if accepted > 0.0 {
            lq / accepted * ac
        } else {
            0.0
        };
        let wait = if waiting > 0.0 && wq > 0.0 {
            Wait {
                exp_weight: waiting.min(1.0),
                exp_mean: wq / waiting.min(1.0),
                ..Wait::default()
            }
        } else {
            Wait::default()
        };
        Load {
            served: accepted,
            refused,
            busy,
            wait,
            queued: lq,
            in_system: 0.0,
        }
    }
}

/// The root in `[0, 1)` of `f`, increasing with `f(0) <= 0` and `f -> infinity` at 1:
/// Newton steps from `start` (numerical derivative), kept inside a shrinking bracket and
/// replaced by bisection when they leave it; stops at a bracket or step below 1e-14.
fn solve_increasing(f: impl Fn(f64) -> f64, start: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    if f(0.0) >= 0.0 {
        return 0.0;
    }
    let mut r = start.clamp(0.0, 1.0 - 1e-12);
    for _ in 0..100 {
        let v = f(r);
        if v == 0.0 {
            return r;
        }
        if v > 0.0 {
            hi = r;
        } else {
            lo = r;
        }
        if hi - lo < 1e-14 {
            break;
        }
        let eps = 1e-7 * (1.0 - r).max(1e-9);
        let slope = (f(r + eps) - v) / eps;
        let next = if slope > 0.0 { r - v / slope } else { f64::NAN };
        let next = if next.is_finite() && next > lo && next < hi {
            next
        } else {
            0.5 * (lo + hi)
        };
        if (next - r).abs() < 1e-14 {
            r = next;
            break;
        }
        r = next;
    }
    r
}

/// Quantile levels (bin midpoints) and their weights used to record a response-time
/// distribution into a latency histogram: 99 bins of 1% up to 0.99, 9 of 0.1% up to 0.999, 9
/// of 0.01% up to 0.9999, and the last 0.01%.
pub fn levels() -> Vec<(f64, f64)> {
    let mut v = Vec::with_capacity(118);
    for i in 0..99 {
        v.push(((i as f64 + 0.5) / 100.0, 0.01));
    }
    for i in 0..9 {
        v.push((0.99 + (i as f64 + 0.5) / 1000.0, 0.001));
    }
    for i in 0..9 {
        v.push((0.999 + (i as f64 + 0.5) / 10_000.0, 0.0001));
    }
    v.push((0.99995, 0.0001));
    v
}

/// The smallest `x` with `cdf(x) >= u` within `[lo, hi]`, by bisection (relative precision
/// 1e-7 of `hi`).
pub fn invert(cdf: impl Fn(f64) -> f64, u: f64, mut lo: f64, mut hi: f64) -> f64 {
    if cdf(lo) >= u {
        return lo;
    }
    let tol = hi * 1e-7 + 1e-12;
    while hi - lo > tol {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) >= u {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::traffic::theory::{erlang_c_mean_wait, erlang_c_wait_probability};
    use crate::engine::SimDuration;

    fn exp_station(c: u32, mean: f64) -> Station {
        Station {
            servers: c,
            service: ServiceDist::Exponential(mean),
            queue_limit: None,
        }
    }

    #[test]
    fn erlang_c_matches_the_closed_form() {
        for (c, a) in [
            (1, 0.5),
            (1, 0.9),
            (4, 2.0),
            (4, 3.6),
            (16, 8.0),
            (16, 14.4),
        ] {
            let x = erlang_c(c, a);
            let y = erlang_c_wait_probability(c, a);
            assert!((x - y).abs() < 1e-12, "c={c} a={a}: {x} vs {y}");
        }
        // Large c stays finite (the closed form overflows).
        let big = erlang_c(5000, 4900.0);
        assert!(big.is_finite() && big > 0.0 && big < 1.0, "{big}");
    }

    #[test]
    fn mmc_load_is_erlang_c_exactly() {
        // (c, rho): mean wait, P(wait) and throughput of M/M/c.
        for c in [1u32, 4, 16] {
            for rho in [0.5, 0.9] {
                let mu = 10.0;
                let lambda = rho * f64::from(c) * mu;
                let l = exp_station(c, 1.0 / mu).equilibrium(lambda, 1.0);
                let wq = erlang_c_mean_wait(c, lambda, mu);
                let pw = erlang_c_wait_probability(c, lambda / mu);
                assert!(
                    (l.wait.mean() - wq).abs() < 1e-12 * wq.max(1.0),
                    "c={c} rho={rho}"
                );
                assert!((l.wait.p_wait() - pw).abs() < 1e-12, "c={c} rho={rho}");
                assert!((l.served - lambda).abs() < 1e-12);
                assert!((l.busy - lambda / mu).abs() < 1e-12);
                // The conditional wait is exponential with rate c mu - lambda.
                let rate = f64::from(c) * mu - lambda;
                assert!((l.wait.exp_mean - 1.0 / rate).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn md1_is_pollaczek_khinchine() {
        // M/D/1: Wq = rho S / (2 (1 - rho)).
        let s = 0.1;
        let st = Station {
            servers: 1,
            service: ServiceDist::Constant(s),
            queue_limit: None,
        };
        for rho in [0.3, 0.8] {
            let l = st.equilibrium(rho / s, 1.0);
            let pk = rho * s / (2.0 * (1.0 - rho));
            assert!((l.wait.mean() - pk).abs() < 1e-12, "{}", l.wait.mean());
        }
    }

    #[test]
    fn overload_builds_a_backlog_and_drains_it() {
        let st = exp_station(2, 0.1); // capacity 20/s
        let l = st.load(30.0, 1.0, 0.0, 10.0);
        assert!(l.served > 19.0 && l.served <= 20.0, "{}", l.served);
        assert!(
            l.in_system > 100.0 && l.in_system < 108.0,
            "{}",
            l.in_system
        );
        // Mean wait of the piece: about the mean backlog over the capacity.
        assert!(
            l.wait.mean() > 1.5 && l.wait.mean() < 3.0,
            "{}",
            l.wait.mean()
        );
        // Then 10/s: drains at about 10/s and settles at L(0.5) = 4/3 within 20 s.
        let d = st.load(10.0, 1.0, l.in_system, 20.0);
        assert!(d.served > 14.0 && d.served < 16.0, "{}", d.served);
        assert!((d.in_system - 4.0 / 3.0).abs() < 0.2, "{}", d.in_system);
        // In equilibrium: the stationary value, exactly.
        let e = st.load(10.0, 1.0, st.in_system(0.5, 1.0), 20.0);
        assert!((e.in_system - 4.0 / 3.0).abs() < 1e-12);
        assert_eq!(e.served, 10.0);
    }

    #[test]
    fn finite_queue_refuses_the_excess() {
        // M/M/1/K with K = 0 waiting places is Erlang B: refused = a / (1 + a).
        let st = Station {
            servers: 1,
            service: ServiceDist::Exponential(0.1),
            queue_limit: Some(0),
        };
        let l = st.load(10.0, 1.0, 0.0, 1.0);
        assert!((l.refused - 0.5).abs() < 1e-12);
        assert!((l.served - 5.0).abs() < 1e-12);
        // Overloaded with a queue: throughput tends to capacity.
        let st = Station {
            queue_limit: Some(50),
            ..st
        };
        let l = st.load(30.0, 1.0, 0.0, 1.0);
        assert!((l.served - 10.0).abs() < 1e-6, "{}", l.served);
        assert!((l.refused - 2.0 / 3.0).abs() < 1e-6);
        // A large limit at rho < 1 is the unbounded queue.
        let st = Station {
            queue_limit: Some(2000),
            servers: 4,
            ..st
        };
        let u = exp_station(4, 0.1).equilibrium(36.0, 1.0);
        let f = st.load(36.0, 1.0, 0.0, 1.0);
        assert!((f.wait.mean() - u.wait.mean()).abs() < 1e-9);
        assert!(f.refused < 1e-12);
    }

    #[test]
    fn response_percentiles_of_mm1() {
        // M/M/1: the response time is exponential with rate mu - lambda.
        let st = exp_station(1, 0.1);
        let l = st.equilibrium(5.0, 1.0);
        let s = &st.service;
        for q in [0.5, 0.9, 0.99, 0.999] {
            let x = invert(|x| l.wait.response_cdf(s, 0.0, x), q, 0.0, 10.0);
            let exact = -(1.0 - q).ln() / 5.0;
            assert!((x - exact).abs() < 1e-5, "q={q}: {x} vs {exact}");
        }
    }

    #[test]
    fn prepared_cdf_equals_the_direct_sum() {
        let ln = ServiceDist::of(&Distribution::LogNormal {
            median: SimDuration::from_millis(20),
            p99: SimDuration::from_millis(100),
        });
        let un = ServiceDist::of(&Distribution::Uniform {
            min: SimDuration::from_millis(10),
            max: SimDuration::from_millis(30),
        });
        let w = Wait {
            exp_weight: 0.6,
            exp_mean: 0.015,
            fixed_weight: 0.1,
            fixed: 0.02,
        };
        for s in [
            &ln,
            &un,
            &ServiceDist::Exponential(0.02),
            &ServiceDist::Constant(0.02),
        ] {
            let p = w.prepare(s);
            for i in 0..200 {
                let x = i as f64 * 0.002;
                let (a, b) = (p.cdf(0.001, x), w.response_cdf(s, 0.001, x));
                assert!((a - b).abs() < 1e-12, "{s:?} x={x}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn the_root_finder_is_exact() {
        for target in [0.0, 0.3, 0.9, 0.999_999] {
            for start in [0.0, 0.5, 0.99] {
                let r = solve_increasing(|r| r / (1.0 - r) - target / (1.0 - target), start);
                assert!((r - target).abs() < 1e-12, "{target} from {start}: {r}");
            }
        }
    }

    #[test]
    fn service_moments_and_quantiles() {
        let ln = ServiceDist::of(&Distribution::LogNormal {
            median: SimDuration::from_millis(20),
            p99: SimDuration::from_millis(100),
        });
        assert!((ln.quantile(0.5) - 0.02).abs() < 1e-9);
        assert!((ln.quantile(0.99) - 0.1).abs() < 1e-6);
        assert!((ln.cdf(0.1) - 0.99).abs() < 1e-6);
        let u = ServiceDist::of(&Distribution::Uniform {
            min: SimDuration::from_millis(10),
            max: SimDuration::from_millis(30),
        });
        assert!((u.mean() - 0.02).abs() < 1e-12);
        assert!((u.scv() - (0.02f64 * 0.02 / 12.0) / 0.0004).abs() < 1e-12);
        for p in [1e-6, 0.01, 0.3, 0.5, 0.9, 0.999] {
            assert!((normal_cdf(normal_quantile(p)) - p).abs() < 1e-6 * p.max(0.01));
        }
        assert_eq!(levels().iter().map(|l| l.1).sum::<f64>().round(), 1.0);
    }
}
