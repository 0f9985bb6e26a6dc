//! Small statistics for sweeps and comparisons: mean, sample standard deviation, Student's t
//! confidence intervals. Only `+ - * /` and `sqrt` are used (all correctly rounded in IEEE 754),
//! so the numbers are the same on every platform.

/// Two-sided 95% quantiles of Student's t, `t(0.975, df)` for `df = 1..=30` (standard tables,
/// e.g. NIST/SEMATECH e-Handbook of Statistical Methods, table 1.3.6.7.2).
const T975: [f64; 30] = [
    12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157,
    2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922,
    2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831,
    2.048407, 2.045230, 2.042272,
];

/// `t(0.975, df)`: the multiplier of the standard error for a two-sided 95% interval with `df`
/// degrees of freedom. A fractional `df` (Welch) is rounded down, which widens the interval
/// slightly. Above 30 the Cornish–Fisher expansion around the normal quantile 1.959964 is used
/// (error below 1e-5). `df < 1` gives infinity.
pub fn t975(df: f64) -> f64 {
    if df.is_nan() || df < 1.0 {
        return f64::INFINITY;
    }
    let d = df.floor();
    if d <= 30.0 {
        return T975[(d as usize).saturating_sub(1).min(29)];
    }
    let z = 1.959_963_984_540_054_f64;
    let z2 = z * z;
    let z3 = z2 * z;
    let z5 = z3 * z2;
    let z7 = z5 * z2;
    let z9 = z7 * z2;
    let g1 = (z3 + z) / 4.0;
    let g2 = (5.0 * z5 + 16.0 * z3 + 3.0 * z) / 96.0;
    let g3 = (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / 384.0;
    let g4 = (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / 92160.0;
    z + g1 / d + g2 / (d * d) + g3 / (d * d * d) + g4 / (d * d * d * d)
}

/// Mean, sample standard deviation and 95% confidence interval of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Number of values.
    pub n: usize,
    /// Arithmetic mean (NaN when `n == 0`).
    pub mean: f64,
    /// Sample standard deviation (divisor `n - 1`); `None` when `n < 2`.
    pub sd: Option<f64>,
    /// Half-width of the 95% Student's t interval, `t(0.975, n-1) * sd / sqrt(n)`; `None` when
    /// `n < 2`.
    pub half_width: Option<f64>,
}

/// The [`Estimate`] of `values`, summed in the given order.
pub fn estimate(values: &[f64]) -> Estimate {
    let n = values.len();
    if n == 0 {
        return Estimate {
            n,
            mean: f64::NAN,
            sd: None,
            half_width: None,
        };
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Estimate {
            n,
            mean,
            sd: None,
            half_width: None,
        };
    }
    let ss: f64 = values.iter().map(|x| (x - mean) * (x - mean)).sum();
    let sd = (ss / (n - 1) as f64).sqrt();
    Estimate {
        n,
        mean,
        sd: Some(sd),
        half_width: Some(t975((n - 1) as f64) * sd / (n as f64).sqrt()),
    }
}

/// 95% Welch interval half-width for the difference of the means of two samples, or `None`
/// when either has fewer than two values. Degrees of freedom by Welch–Satterthwaite.
pub fn welch_half_width(a: &Estimate, b: &Estimate) -> Option<f64> {
    let (sa, sb) = (a.sd?, b.sd?);
    let va = sa * sa / a.n as f64;
    let vb = sb * sb / b.n as f64;
    let se2 = va + vb;
    if se2 == 0.0 {
        return Some(0.0);
    }
    let df = se2 * se2 / (va * va / (a.n as f64 - 1.0) + vb * vb / (b.n as f64 - 1.0));
    Some(t975(df) * se2.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles() {
        // (df, t) from the standard table; > 30 checked against the expansion's error bound.
        let cases = [
            (1.0, 12.706205),
            (2.0, 4.302653),
            (9.0, 2.262157),
            (2.7, 4.302653),
            (30.0, 2.042272),
            (40.0, 2.021075),
            (60.0, 2.000298),
            (120.0, 1.979930),
            (1e9, 1.959964),
        ];
        for (df, want) in cases {
            assert!(
                (t975(df) - want).abs() < 2e-5,
                "df {df}: {} vs {want}",
                t975(df)
            );
        }
        assert!(t975(0.5).is_infinite());
    }

    #[test]
    fn estimates() {
        let e = estimate(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(e.n, 8);
        assert_eq!(e.mean, 5.0);
        let sd = e.sd.expect("sd");
        assert!((sd - 2.138_089_935).abs() < 1e-9);
        let hw = e.half_width.expect("hw");
        assert!((hw - 2.364624 * sd / 8f64.sqrt()).abs() < 1e-12);
        assert_eq!(estimate(&[3.0]).sd, None);
        assert!(estimate(&[]).mean.is_nan());
        let same = estimate(&[1.0, 1.0, 1.0]);
        assert_eq!(welch_half_width(&same, &same), Some(0.0));
        let a = estimate(&[1.0, 2.0, 3.0]);
        let b = estimate(&[2.0, 4.0, 6.0, 8.0]);
        // va = 1/3, vb = 6.6667/4; df = (2)^2 / ((1/9)/2 + (2.7778)/3) = 4 / 0.98148 = 4.07 -> 4.
        let hw = welch_half_width(&a, &b).expect("hw");
        assert!((hw - 2.776445 * 2f64.sqrt()).abs() < 1e-9, "{hw}");
    }
}
