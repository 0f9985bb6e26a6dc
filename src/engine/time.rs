//! Virtual time: [`SimTime`] (an instant) and [`SimDuration`] (a span), both integer
//! nanoseconds.
//!
//! All arithmetic saturates instead of wrapping or panicking, so a run can never produce a time
//! that goes backwards through overflow. Floating-point seconds appear only at the edges
//! ([`SimDuration::from_secs_f64`], [`SimTime::as_secs_f64`]) for sampling distributions and for
//! writing output.

use std::fmt;
use std::ops::{Add, AddAssign, Mul, Sub};

const NANOS_PER_MICRO: u64 = 1_000;
const NANOS_PER_MILLI: u64 = 1_000_000;
const NANOS_PER_SEC: u64 = 1_000_000_000;
const NANOS_PER_MIN: u64 = 60 * NANOS_PER_SEC;
const NANOS_PER_HOUR: u64 = 60 * NANOS_PER_MIN;

/// An instant of virtual time: nanoseconds since the start of the simulation.
///
/// Ordered, hashable and `Copy`. `SimTime(0)` is the start of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub u64);

/// A span of virtual time in nanoseconds. Never negative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of the simulation (0 ns).
    pub const ZERO: SimTime = SimTime(0);
    /// The latest representable instant (`u64::MAX` ns, about 584 years); used as "never".
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// Nanoseconds since the start of the simulation.
    #[inline]
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds since the start of the simulation, as a float (for output and plotting only).
    #[inline]
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// The span from `earlier` to `self`, or [`SimDuration::ZERO`] if `earlier` is later.
    #[inline]
    pub const fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// The empty span (0 ns).
    pub const ZERO: SimDuration = SimDuration(0);
    /// The longest representable span (`u64::MAX` ns).
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    /// A span of `n` nanoseconds.
    #[inline]
    pub const fn from_nanos(n: u64) -> Self {
        SimDuration(n)
    }

    /// A span of `us` microseconds (saturating at [`SimDuration::MAX`]).
    #[inline]
    pub const fn from_micros(us: u64) -> Self {
        SimDuration(us.saturating_mul(NANOS_PER_MICRO))
    }

    /// A span of `ms` milliseconds (saturating at [`SimDuration::MAX`]).
    #[inline]
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms.saturating_mul(NANOS_PER_MILLI))
    }

    /// A span of `s` seconds (saturating at [`SimDuration::MAX`]).
    #[inline]
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s.saturating_mul(NANOS_PER_SEC))
    }

    /// A span of `secs` seconds, rounded to the nearest nanosecond (ties away from zero).
    ///
    /// Negative values and NaN give [`SimDuration::ZERO`]; values too large (including
    /// +infinity) saturate at [`SimDuration::MAX`]. This is how sampled distribution values in
    /// seconds become virtual time.
    #[inline]
    #[allow(unsafe_code)]
    pub fn from_secs_f64(secs: f64) -> Self {
        /// 2^53: from here on every `f64` is an integer.
        const TWO_POW_53: f64 = 9_007_199_254_740_992.0;
        let ns = secs * NANOS_PER_SEC as f64;
        // Round half away from zero without `f64::round`, which is a libm call on the baseline
        // x86_64 target and shows up in the event loop.
        if ns > 0.0 && ns < TWO_POW_53 {
            // The common case, first: `ns` fits an `i64`, whose truncating conversion is one
            // instruction (the saturating `u64` one below is a sequence of two conversions and
            // a select). Its fraction `ns - whole` is exact; rounding up is computed without a
            // branch: for sampled values it is up or down at random, so a branch on it
            // mispredicted half the time (in the `hold/draw_only` loop the draw took 20-28 ns
            // with the branch, 8 ns without).
            // SAFETY: `0 < ns < 2^53`, so its truncation is finite and fits an `i64`: the
            // unchecked conversion is the bare instruction, without the saturating `as`
            // conversion's range tests, which the compiler does not drop on its own.
            let whole = unsafe { ns.to_int_unchecked::<i64>() };
            let up = ns - whole as f64 >= 0.5;
            return SimDuration(whole as u64 + u64::from(up));
        }
        if ns.is_nan() || ns <= 0.0 {
            return SimDuration::ZERO;
        }
        // At or above 2^53 `ns` is already an integer (nothing to round); `as` saturates at
        // u64::MAX (+infinity included).
        SimDuration(ns as u64)
    }

    /// The span in nanoseconds.
    #[inline]
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The span in seconds, as a float.
    #[inline]
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// `self - other`, or [`SimDuration::ZERO`] if `other` is longer.
    #[inline]
    pub const fn saturating_sub(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_sub(other.0))
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    /// The instant `rhs` after `self`, saturating at [`SimTime::MAX`].
    #[inline]
    fn add(self, rhs: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    #[inline]
    fn add_assign(&mut self, rhs: SimDuration) {
        *self = *self + rhs;
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    /// The span from `rhs` to `self`; [`SimDuration::ZERO`] if `rhs` is later (saturating).
    #[inline]
    fn sub(self, rhs: SimTime) -> SimDuration {
        self.saturating_since(rhs)
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    /// The sum of two spans, saturating at [`SimDuration::MAX`].
    #[inline]
    fn add(self, rhs: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for SimDuration {
    #[inline]
    fn add_assign(&mut self, rhs: SimDuration) {
        *self = *self + rhs;
    }
}

impl Mul<u64> for SimDuration {
    type Output = SimDuration;
    /// The span repeated `rhs` times, saturating at [`SimDuration::MAX`].
    #[inline]
    fn mul(self, rhs: u64) -> SimDuration {
        SimDuration(self.0.saturating_mul(rhs))
    }
}

impl From<std::time::Duration> for SimDuration {
    /// Converts a std duration (e.g. parsed by `humantime`), saturating at [`SimDuration::MAX`].
    fn from(d: std::time::Duration) -> Self {
        SimDuration(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }
}

impl fmt::Display for SimTime {
    /// Formats as `HH:MM:SS.mmm` since the start of the run. Hours are not wrapped at 24 (a
    /// 26-hour run shows `26:00:01.250`) and are at least two digits. Sub-millisecond parts are
    /// truncated, not rounded, so the text never shows a time later than the real one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        let h = ns / NANOS_PER_HOUR;
        let m = (ns % NANOS_PER_HOUR) / NANOS_PER_MIN;
        let s = (ns % NANOS_PER_MIN) / NANOS_PER_SEC;
        let ms = (ns % NANOS_PER_SEC) / NANOS_PER_MILLI;
        write!(f, "{h:02}:{m:02}:{s:02}.{ms:03}")
    }
}

/// Writes `whole` followed by the non-zero digits of `frac / 10^digits` (trailing zeros
/// trimmed), then `unit`: `(1, 500, 3, "s")` gives `1.5s`.
fn write_decimal(
    f: &mut fmt::Formatter<'_>,
    whole: u64,
    frac: u64,
    digits: usize,
    unit: &str,
) -> fmt::Result {
    if frac == 0 {
        return write!(f, "{whole}{unit}");
    }
    let (mut frac, mut digits) = (frac, digits);
    while frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    write!(f, "{whole}.{frac:0digits$}{unit}")
}

impl fmt::Display for SimDuration {
    /// A short, exact, human form: `0s`, `750ns`, `1.5us`, `250ms`, `1.5s`, `2m30s`, `1h`,
    /// `26h0m1.25s`. Below one minute a single unit with an exact decimal fraction is used; from
    /// one minute on, hours/minutes/seconds, where zero trailing components are omitted and
    /// seconds may carry an exact decimal fraction. No information is lost.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns == 0 {
            return f.write_str("0s");
        }
        if ns < NANOS_PER_MICRO {
            return write!(f, "{ns}ns");
        }
        if ns < NANOS_PER_MILLI {
            return write_decimal(f, ns / NANOS_PER_MICRO, ns % NANOS_PER_MICRO, 3, "us");
        }
        if ns < NANOS_PER_SEC {
            return write_decimal(f, ns / NANOS_PER_MILLI, ns % NANOS_PER_MILLI, 6, "ms");
        }
        if ns < NANOS_PER_MIN {
            return write_decimal(f, ns / NANOS_PER_SEC, ns % NANOS_PER_SEC, 9, "s");
        }
        let h = ns / NANOS_PER_HOUR;
        let m = (ns % NANOS_PER_HOUR) / NANOS_PER_MIN;
        let rest = ns % NANOS_PER_MIN; // seconds part, in ns
        if h > 0 {
            write!(f, "{h}h")?;
            if m == 0 && rest == 0 {
                return Ok(());
            }
            write!(f, "{m}m")?;
        } else {
            write!(f, "{m}m")?;
        }
        if rest == 0 {
            return Ok(());
        }
        write_decimal(f, rest / NANOS_PER_SEC, rest % NANOS_PER_SEC, 9, "s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_and_units() {
        assert_eq!(SimDuration::from_micros(3).as_nanos(), 3_000);
        assert_eq!(SimDuration::from_millis(3).as_nanos(), 3_000_000);
        assert_eq!(SimDuration::from_secs(3).as_nanos(), 3_000_000_000);
        assert_eq!(SimDuration::from_secs(u64::MAX), SimDuration::MAX);
        assert_eq!(
            SimDuration::from_secs_f64(1.5),
            SimDuration::from_millis(1500)
        );
        assert_eq!(SimDuration::from_secs_f64(1e-9 * 0.5), SimDuration(1)); // ties away
        assert_eq!(SimDuration::from_secs_f64(1e-9 * 0.49), SimDuration(0));
        assert_eq!(SimDuration::from_secs_f64(-2.0), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(f64::NAN), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(f64::INFINITY), SimDuration::MAX);
        assert_eq!(SimDuration::from_secs_f64(1e300), SimDuration::MAX);
        assert_eq!(SimDuration::from_secs_f64(-0.0), SimDuration::ZERO);
        assert_eq!(SimDuration::from_secs_f64(2.5e-9), SimDuration(3));
        assert_eq!(SimDuration::from_secs_f64(0.1), SimDuration(100_000_000));
        assert_eq!(
            SimDuration::from_secs_f64(1.0000000014),
            SimDuration(1_000_000_001)
        );
        assert_eq!(
            SimDuration::from_secs_f64(1.0000000016),
            SimDuration(1_000_000_002)
        );
        // Agrees with f64::round over a sweep of magnitudes.
        let mut x: f64 = 1e-10;
        while x < 1e10 {
            for v in [x, x * 1.37, x * 2.5, x * 7.77] {
                let want = (v * 1e9).round() as u64;
                assert_eq!(SimDuration::from_secs_f64(v).0, want, "{v}");
            }
            x *= 10.0;
        }
        assert_eq!(SimDuration::from_secs(2).as_secs_f64(), 2.0);
        assert_eq!(SimTime(2_500_000_000).as_secs_f64(), 2.5);
        let d: SimDuration = std::time::Duration::from_millis(7).into();
        assert_eq!(d, SimDuration::from_millis(7));
    }

    /// The rounding as it was before the `i64` shortcut, kept as the reference.
    fn from_secs_f64_reference(secs: f64) -> u64 {
        let ns = secs * NANOS_PER_SEC as f64;
        if ns.is_nan() || ns <= 0.0 {
            return 0;
        }
        let whole = ns as u64;
        if ns - (whole as f64) >= 0.5 {
            whole.saturating_add(1)
        } else {
            whole
        }
    }

    #[test]
    fn from_secs_f64_matches_the_reference_everywhere() {
        // Around 2^53 ns (where the shortcut stops), 2^63 and 2^64 ns, halves and their
        // neighbours, and a deterministic spread of bit patterns over every magnitude.
        let mut values = vec![
            0.0,
            0.5e-9,
            1.5e-9,
            2.5e-9,
            9_007_199.254_740_992,
            1.8e10,
            1.9e10,
        ];
        for e in [50, 52, 53, 54, 62, 63, 64, 65] {
            let ns = 2f64.powi(e);
            for d in [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0] {
                let v = (ns + d) / 1e9;
                values.extend([
                    v,
                    f64::from_bits(v.to_bits() - 1),
                    f64::from_bits(v.to_bits() + 1),
                ]);
            }
        }
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Exponents of 1e-12 s .. 1e12 s, any mantissa.
            let bits = ((983 + (x >> 52) % 80) << 52) | (x & ((1 << 52) - 1));
            values.push(f64::from_bits(bits));
        }
        for v in values {
            assert_eq!(
                SimDuration::from_secs_f64(v).0,
                from_secs_f64_reference(v),
                "{v:e}"
            );
        }
    }

    #[test]
    fn from_secs_f64_edge_cases() {
        // (seconds, nanoseconds): signed zeros, negatives, NaNs of both signs, infinities,
        // subnormals, halves of a nanosecond and their neighbours one ulp away, the largest
        // value below a half, 2^53 ns (where the `i64` shortcut stops) and its neighbours,
        // and the `u64` limit.
        let two53 = 2f64.powi(53);
        let below_half = f64::from_bits(0.5f64.to_bits() - 1); // 0.49999999999999994
        let cases: Vec<(f64, u64)> = vec![
            (0.0, 0),
            (-0.0, 0),
            (-1e-9, 0),
            (-1e300, 0),
            (f64::NEG_INFINITY, 0),
            (f64::NAN, 0),
            (-f64::NAN, 0),
            (f64::from_bits(1), 0),
            (f64::MIN_POSITIVE, 0),
            (f64::INFINITY, u64::MAX),
            (f64::MAX, u64::MAX),
            (below_half / 1e9, 0),
            (0.5 / 1e9, 1),
            (1.5 / 1e9, 2),
            (2.5 / 1e9, 3),
            ((two53 - 2.0) / 1e9, 9_007_199_254_740_991),
            (two53 / 1e9, 9_007_199_254_740_992),
            ((two53 + 2.0) / 1e9, 9_007_199_254_740_994),
            (18_446_744_073.709_55, 18_446_744_073_709_549_568),
            (18_446_744_073.709_553, u64::MAX),
        ];
        for (secs, want) in cases {
            assert_eq!(SimDuration::from_secs_f64(secs).0, want, "{secs:e}");
            assert_eq!(from_secs_f64_reference(secs), want, "reference, {secs:e}");
        }
        // Exact halves of a nanosecond (`ns` computed exactly) round away from zero, and the
        // values one ulp either side round down and up.
        for k in [0u64, 1, 2, 7, 1_000_000, (1 << 52) - 1] {
            let half = k as f64 + 0.5;
            let (lo, hi) = (
                f64::from_bits(half.to_bits() - 1),
                f64::from_bits(half.to_bits() + 1),
            );
            // Seconds whose product with 1e9 is exactly `half` (or its neighbours), found
            // by stepping the quotient by ulps until it is.
            for (ns, want) in [(half, k + 1), (lo, k), (hi, k + 1)] {
                let mut secs = ns / 1e9;
                for _ in 0..8 {
                    match (secs * 1e9).partial_cmp(&ns) {
                        Some(std::cmp::Ordering::Less) => secs = f64::from_bits(secs.to_bits() + 1),
                        Some(std::cmp::Ordering::Greater) => {
                            secs = f64::from_bits(secs.to_bits() - 1)
                        }
                        _ => break,
                    }
                }
                if secs * 1e9 == ns {
                    assert_eq!(SimDuration::from_secs_f64(secs).0, want, "{ns} ns");
                }
                assert_eq!(
                    SimDuration::from_secs_f64(secs).0,
                    from_secs_f64_reference(secs),
                    "{secs:e}"
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]
        /// Every bit pattern (NaNs, infinities, negatives and subnormals included) converts
        /// exactly as the reference does.
        #[test]
        fn from_secs_f64_matches_the_reference_on_any_bits(bits in proptest::prelude::any::<u64>()) {
            let v = f64::from_bits(bits);
            proptest::prop_assert_eq!(SimDuration::from_secs_f64(v).0, from_secs_f64_reference(v));
        }

        /// Values of a few ulps around the halves of a nanosecond, over the whole range of
        /// the shortcut (up to 2^53 ns) and beyond.
        #[test]
        fn from_secs_f64_matches_the_reference_near_halves(
            k in 0u64..(1 << 55),
            ulps in -4i64..=4,
        ) {
            let secs = (k as f64 + 0.5) / 1e9;
            let v = f64::from_bits(secs.to_bits().wrapping_add_signed(ulps));
            proptest::prop_assert_eq!(SimDuration::from_secs_f64(v).0, from_secs_f64_reference(v));
        }
    }

    #[test]
    fn arithmetic_saturates() {
        let t = SimTime(10);
        assert_eq!(t + SimDuration(5), SimTime(15));
        assert_eq!(SimTime::MAX + SimDuration(5), SimTime::MAX);
        assert_eq!(SimTime(15) - SimTime(10), SimDuration(5));
        assert_eq!(SimTime(10) - SimTime(15), SimDuration::ZERO);
        assert_eq!(SimTime(15).saturating_since(SimTime(10)), SimDuration(5));
        assert_eq!(SimDuration(3) + SimDuration(4), SimDuration(7));
        assert_eq!(SimDuration::MAX + SimDuration(4), SimDuration::MAX);
        assert_eq!(SimDuration(3) * 4, SimDuration(12));
        assert_eq!(SimDuration::MAX * 2, SimDuration::MAX);
        let mut t2 = SimTime::ZERO;
        t2 += SimDuration(9);
        assert_eq!(t2, SimTime(9));
    }

    #[test]
    fn display_sim_time() {
        let table: &[(u64, &str)] = &[
            (0, "00:00:00.000"),
            (999_999, "00:00:00.000"),
            (1_000_000, "00:00:00.001"),
            (1_250_000_000, "00:00:01.250"),
            (61 * NANOS_PER_SEC, "00:01:01.000"),
            (NANOS_PER_HOUR - 1, "00:59:59.999"),
            (26 * NANOS_PER_HOUR + 1_250_000_000, "26:00:01.250"),
            (100 * NANOS_PER_HOUR, "100:00:00.000"),
        ];
        for &(ns, want) in table {
            assert_eq!(SimTime(ns).to_string(), want, "{ns} ns");
        }
    }

    #[test]
    fn display_sim_duration() {
        let table: &[(u64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (999, "999ns"),
            (1_000, "1us"),
            (1_500, "1.5us"),
            (250 * NANOS_PER_MILLI, "250ms"),
            (1_000_001, "1.000001ms"),
            (NANOS_PER_SEC, "1s"),
            (1_500 * NANOS_PER_MILLI, "1.5s"),
            (NANOS_PER_SEC + 1, "1.000000001s"),
            (59 * NANOS_PER_SEC, "59s"),
            (60 * NANOS_PER_SEC, "1m"),
            (150 * NANOS_PER_SEC, "2m30s"),
            (90 * NANOS_PER_SEC + 500 * NANOS_PER_MILLI, "1m30.5s"),
            (NANOS_PER_HOUR, "1h"),
            (NANOS_PER_HOUR + 5 * NANOS_PER_SEC, "1h0m5s"),
            (NANOS_PER_HOUR + 30 * NANOS_PER_MIN, "1h30m"),
            (26 * NANOS_PER_HOUR + 1_250 * NANOS_PER_MILLI, "26h0m1.25s"),
        ];
        for &(ns, want) in table {
            assert_eq!(SimDuration(ns).to_string(), want, "{ns} ns");
        }
    }
}
