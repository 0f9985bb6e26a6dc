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

/// A distribution prepared for many draws (the traffic model's service times): what
/// [`sample`] recomputes on every call is computed once. Draws are bit-identical to
/// [`sample`]'s for the same generator state.
#[derive(Clone, Debug)]
pub enum Sampler {
    /// Always this duration (a constant, or an exponential whose rate is not a number).
    Fixed(SimDuration),
    /// Exponential: a standard exponential draw times `lambda_inverse` seconds, where
    /// `lambda_inverse = 1 / (1 / mean)` exactly as `rand_distr::Exp::new` computes it.
    Exponential {
        /// Mean in seconds, as `Exp` rounds it.
        lambda_inverse: f64,
    },
    /// Any other distribution, drawn by [`sample`].
    Other(Distribution),
}

impl Sampler {
    /// Prepare `d`.
    pub fn new(d: &Distribution) -> Sampler {
        match d {
            Distribution::Constant(v) => Sampler::Fixed(*v),
            Distribution::Exponential { mean } => {
                if mean.as_nanos() == 0 {
                    return Sampler::Fixed(SimDuration::ZERO);
                }
                let lambda = 1.0 / mean.as_secs_f64();
                if lambda.is_sign_negative() || lambda.is_nan() {
                    return Sampler::Fixed(*mean);
                }
                Sampler::Exponential {
                    lambda_inverse: 1.0 / lambda,
                }
            }
            other => Sampler::Other(other.clone()),
        }
    }

    /// Draw one duration.
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> SimDuration {
        match self {
            Sampler::Fixed(v) => *v,
            Sampler::Exponential { lambda_inverse } => {
                let x: f64 = rand_distr::Exp1.sample(rng);
                SimDuration::from_secs_f64(x * lambda_inverse)
            }
            Sampler::Other(d) => sample(d, rng),
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

    #[test]
    fn sampler_draws_are_identical_to_sample() {
        let table = [
            Distribution::Constant(SimDuration::from_millis(7)),
            Distribution::Exponential {
                mean: SimDuration::from_millis(40),
            },
            Distribution::Exponential {
                mean: SimDuration::from_nanos(3),
            },
            Distribution::Exponential {
                mean: SimDuration::ZERO,
            },
            Distribution::LogNormal {
                median: SimDuration::from_millis(20),
                p99: SimDuration::from_millis(150),
            },
            Distribution::Uniform {
                min: SimDuration::from_millis(1),
                max: SimDuration::from_millis(9),
            },
        ];
        for d in &table {
            let s = Sampler::new(d);
            let (mut a, mut b) = (stream_rng(3, "x"), stream_rng(3, "x"));
            for _ in 0..10_000 {
                assert_eq!(s.sample(&mut a), sample(d, &mut b), "{d:?}");
            }
        }
    }
}
