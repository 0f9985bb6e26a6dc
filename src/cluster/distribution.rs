//! Sampling the duration distributions of `Behavior` documents.

use rand::RngExt;
use rand_distr::{Distribution as _, Exp, LogNormal};

use crate::cluster::spec::Distribution;
use crate::engine::{SimDuration, SimRng};

/// z-score of the 99th percentile of the standard normal distribution.
const Z_99: f64 = 2.326_347_874_040_841;

/// Draw one duration from `d` using `rng`.
///
/// Log-normal: with median `m` and 99th percentile `p`, `mu = ln m` and
/// `sigma = (ln p - ln m) / z_0.99`; e.g. median 2 s, p99 10 s gives sigma = 0.692.
pub fn sample(d: &Distribution, rng: &mut SimRng) -> SimDuration {
    match d {
        Distribution::Constant(v) => *v,
        Distribution::Uniform { min, max } => {
            if max <= min {
                *min
            } else {
                SimDuration::from_nanos(rng.random_range(min.as_nanos()..=max.as_nanos()))
            }
        }
        Distribution::Exponential { mean } => {
            if mean.as_nanos() == 0 {
                return SimDuration::ZERO;
            }
            match Exp::new(1.0 / mean.as_secs_f64()) {
                Ok(e) => SimDuration::from_secs_f64(e.sample(rng)),
                Err(_) => *mean,
            }
        }
        Distribution::LogNormal { median, p99 } => {
            if median.as_nanos() == 0 {
                return SimDuration::ZERO;
            }
            let mu = median.as_secs_f64().ln();
            let sigma = ((p99.as_secs_f64().max(median.as_secs_f64())).ln() - mu) / Z_99;
            match LogNormal::new(mu, sigma) {
                Ok(l) => SimDuration::from_secs_f64(l.sample(rng)),
                Err(_) => *median,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream_rng;

    fn mean_of(d: &Distribution, n: u32) -> f64 {
        let mut rng = stream_rng(7, "test");
        (0..n)
            .map(|_| sample(d, &mut rng).as_secs_f64())
            .sum::<f64>()
            / n as f64
    }

    #[test]
    fn constant_is_constant() {
        let d = Distribution::Constant(SimDuration::from_millis(250));
        assert_eq!(mean_of(&d, 10), 0.25);
    }

    #[test]
    fn uniform_mean_and_bounds() {
        let d = Distribution::Uniform {
            min: SimDuration::from_secs(2),
            max: SimDuration::from_secs(8),
        };
        let mut rng = stream_rng(1, "u");
        for _ in 0..1000 {
            let v = sample(&d, &mut rng);
            assert!(v >= SimDuration::from_secs(2) && v <= SimDuration::from_secs(8));
        }
        assert!((mean_of(&d, 20_000) - 5.0).abs() < 0.05);
    }

    #[test]
    fn exponential_mean() {
        let d = Distribution::Exponential {
            mean: SimDuration::from_secs(3),
        };
        assert!((mean_of(&d, 50_000) - 3.0).abs() < 0.06);
    }

    #[test]
    fn lognormal_median_and_p99() {
        let d = Distribution::LogNormal {
            median: SimDuration::from_secs(2),
            p99: SimDuration::from_secs(10),
        };
        let mut rng = stream_rng(3, "l");
        let mut v: Vec<f64> = (0..40_000)
            .map(|_| sample(&d, &mut rng).as_secs_f64())
            .collect();
        v.sort_by(|a, b| a.total_cmp(b));
        let median = v[v.len() / 2];
        let p99 = v[v.len() * 99 / 100];
        assert!((median - 2.0).abs() < 0.06, "median {median}");
        assert!((p99 - 10.0).abs() < 0.8, "p99 {p99}");
    }
}
