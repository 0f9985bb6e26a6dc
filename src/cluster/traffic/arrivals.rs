//! Open-loop arrival times: the rate of a source at a time (base rate from its steps, diurnal
//! modulation) and the next arrival after a time (Poisson by thinning, or constant spacing).

use rand::RngExt;

use crate::cluster::spec::{ArrivalProcess, TrafficSpec};
use crate::engine::{SimDuration, SimRng, SimTime};

const DAY_NS: f64 = 86_400e9;

/// The base rate (requests per second) in force at `t`: the last step at or before `t`, else
/// the source's `rate`.
pub fn base_rate(spec: &TrafficSpec, t: SimTime) -> f64 {
    spec.steps
        .iter()
        .take_while(|s| s.at <= t)
        .last()
        .map_or(spec.rate, |s| s.rate)
}

/// The first step strictly after `t`, if any.
fn next_step(spec: &TrafficSpec, t: SimTime) -> Option<SimTime> {
    spec.steps.iter().find(|s| s.at > t).map(|s| s.at)
}

/// The diurnal factor at `t`: `1 + amplitude * cos(2 pi (t - peakAt) / 24 h)`, or 1.
pub fn diurnal_factor(spec: &TrafficSpec, t: SimTime) -> f64 {
    match spec.diurnal {
        None => 1.0,
        Some(d) => {
            let phase = (t.as_nanos() as f64 - d.peak_at.as_nanos() as f64) / DAY_NS;
            1.0 + d.amplitude * (std::f64::consts::TAU * phase).cos()
        }
    }
}

/// The instantaneous rate (requests per second) at `t`.
pub fn rate_at(spec: &TrafficSpec, t: SimTime) -> f64 {
    base_rate(spec, t) * diurnal_factor(spec, t)
}

/// The next open-loop arrival strictly after `now`, or `None` if no request will ever come.
///
/// Poisson: thinning (Lewis–Shedler) against the bound `base * (1 + amplitude)` of the current
/// step; a candidate beyond the next step restarts from that step (exact, by memorylessness).
/// Constant: one request every `1 / rate(now)` seconds.
pub fn next_arrival(spec: &TrafficSpec, now: SimTime, rng: &mut SimRng) -> Option<SimTime> {
    let amp = spec.diurnal.map_or(0.0, |d| d.amplitude);
    let mut t = now;
    loop {
        let base = base_rate(spec, t);
        let step = next_step(spec, t);
        if base <= 0.0 {
            t = step?;
            if matches!(spec.arrival, ArrivalProcess::Constant) {
                return Some(t);
            }
            continue;
        }
        let cand = match spec.arrival {
            ArrivalProcess::Constant => {
                let r = rate_at(spec, t).max(base * 1e-9);
                return Some(t + gap(1.0 / r));
            }
            _ => poisson_candidate(t, base * (1.0 + amp), rng),
        };
        if let Some(s) = step
            && cand >= s
        {
            t = s;
            continue;
        }
        if amp == 0.0 {
            return Some(cand);
        }
        let x = rng.random::<f64>() * base * (1.0 + amp);
        // Accept iff x < rate_at(cand). The rate never falls below `base * (1 - amp)` (cand is
        // before the next step, so its base rate is `base`; `cos >= -1`, and rounding is
        // monotone), so below that the answer is yes without the `cos`: the same decision.
        if (amp > 0.0 && x < base * (1.0 - amp)) || x < rate_at(spec, cand) {
            return Some(cand);
        }
        t = cand;
    }
}

/// The rate of a source whose arrivals are a plain Poisson process (Poisson, no rate steps, no
/// diurnal swing, a positive rate), for which [`next_arrival`] is exactly
/// [`poisson_candidate`]`(now, rate)`; `None` for every other source.
pub fn plain_poisson_rate(spec: &TrafficSpec) -> Option<f64> {
    let amp = spec.diurnal.map_or(0.0, |d| d.amplitude);
    (matches!(spec.arrival, ArrivalProcess::Poisson)
        && spec.steps.is_empty()
        && amp == 0.0
        && spec.rate > 0.0)
        .then_some(spec.rate * (1.0 + amp))
}

/// The next candidate of a Poisson process of rate `bound` (per second) after `t`: one uniform
/// draw, `t - ln(1 - u) / bound` seconds, at least 1 ns later.
#[inline]
pub fn poisson_candidate(t: SimTime, bound: f64, rng: &mut SimRng) -> SimTime {
    let u: f64 = rng.random::<f64>();
    t + gap(-(1.0 - u).ln() / bound)
}

/// A gap of `secs` seconds, at least 1 ns so time always advances.
fn gap(secs: f64) -> SimDuration {
    SimDuration::from_nanos(((secs * 1e9) as u64).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::spec::{Diurnal, LoadBalancer, RateStep};
    use crate::engine::stream_rng;

    fn spec(rate: f64, arrival: ArrivalProcess) -> TrafficSpec {
        TrafficSpec {
            name: "t".into(),
            service: 0,
            rate,
            arrival,
            diurnal: None,
            steps: vec![],
            timeout: None,
            retries: 0,
            retry_backoff: SimDuration::from_millis(25),
            load_balancer: LoadBalancer::Random,
            network_latency: SimDuration::ZERO,
            circuit_breaker: None,
            client_breaker: None,
            mode: Default::default(),
        }
    }

    fn count(s: &TrafficSpec, from: u64, to: u64) -> u64 {
        let mut rng = stream_rng(5, "arrivals");
        let mut t = SimTime(from * 1_000_000_000);
        let end = SimTime(to * 1_000_000_000);
        let mut n = 0;
        while let Some(next) = next_arrival(s, t, &mut rng) {
            if next > end {
                break;
            }
            n += 1;
            t = next;
        }
        n
    }

    #[test]
    fn plain_poisson_shortcut_draws_the_same_times() {
        let s = spec(3.6, ArrivalProcess::Poisson);
        let bound = plain_poisson_rate(&s).expect("plain Poisson");
        let mut a = stream_rng(9, "arrivals");
        let mut b = stream_rng(9, "arrivals");
        let (mut ta, mut tb) = (SimTime::ZERO, SimTime::ZERO);
        for _ in 0..10_000 {
            ta = next_arrival(&s, ta, &mut a).unwrap();
            tb = poisson_candidate(tb, bound, &mut b);
            assert_eq!(ta, tb);
        }
        let mut d = s.clone();
        d.diurnal = Some(Diurnal {
            amplitude: 0.5,
            peak_at: SimDuration::ZERO,
        });
        assert_eq!(plain_poisson_rate(&d), None);
        assert_eq!(
            plain_poisson_rate(&spec(4.0, ArrivalProcess::Constant)),
            None
        );
    }

    #[test]
    fn thinning_shortcut_keeps_the_accept_decisions() {
        // The same thinning without the shortcut, written out: every arrival time must match.
        let mut s = spec(100.0, ArrivalProcess::Poisson);
        s.diurnal = Some(Diurnal {
            amplitude: 0.6,
            peak_at: SimDuration::from_secs(20 * 3600),
        });
        let mut a = stream_rng(3, "arrivals");
        let mut b = stream_rng(3, "arrivals");
        let (mut ta, mut tb) = (SimTime::ZERO, SimTime::ZERO);
        let bound = 100.0 * 1.6;
        for _ in 0..20_000 {
            ta = next_arrival(&s, ta, &mut a).unwrap();
            tb = loop {
                let cand = poisson_candidate(tb, bound, &mut b);
                if b.random::<f64>() * 100.0 * 1.6 < rate_at(&s, cand) {
                    break cand;
                }
                tb = cand;
            };
            assert_eq!(ta, tb);
        }
    }

    #[test]
    fn poisson_mean_rate() {
        let n = count(&spec(50.0, ArrivalProcess::Poisson), 0, 2000);
        // 100,000 expected; sd ~316.
        assert!((n as f64 - 100_000.0).abs() < 1500.0, "{n}");
    }

    #[test]
    fn constant_is_exact() {
        assert_eq!(count(&spec(4.0, ArrivalProcess::Constant), 0, 10), 40);
    }

    #[test]
    fn steps_change_the_rate() {
        let mut s = spec(10.0, ArrivalProcess::Poisson);
        s.steps = vec![
            RateStep {
                at: SimTime(100_000_000_000),
                rate: 0.0,
            },
            RateStep {
                at: SimTime(200_000_000_000),
                rate: 100.0,
            },
        ];
        assert_eq!(base_rate(&s, SimTime(150_000_000_000)), 0.0);
        assert_eq!(count(&s, 100, 200), 0);
        let high = count(&s, 200, 300) as f64;
        assert!((high - 10_000.0).abs() < 500.0, "{high}");
    }

    #[test]
    fn diurnal_peak_and_trough() {
        let mut s = spec(100.0, ArrivalProcess::Poisson);
        s.diurnal = Some(Diurnal {
            amplitude: 0.5,
            peak_at: SimDuration::from_secs(20 * 3600),
        });
        let h = |x: u64| SimTime(x * 3_600_000_000_000);
        assert!((rate_at(&s, h(20)) - 150.0).abs() < 1e-9);
        assert!((rate_at(&s, h(8)) - 50.0).abs() < 1e-9);
        let peak = count(&s, 20 * 3600 - 300, 20 * 3600 + 300) as f64;
        let trough = count(&s, 8 * 3600 - 300, 8 * 3600 + 300) as f64;
        assert!((peak / 600.0 - 150.0).abs() < 5.0, "{peak}");
        assert!((trough / 600.0 - 50.0).abs() < 3.0, "{trough}");
    }
}
