//! NodeResourcesFit (LeastAllocated / MostAllocated over cpu and memory) and
//! NodeResourcesBalancedAllocation (over cpu and memory) scored together over runs of
//! consecutive nodes, from the snapshot's `f64` columns ([`ResourceColumns`]), in a loop
//! without branches that the compiler turns into packed (SIMD) arithmetic.
//!
//! The scores are exactly upstream's (`least_allocated.go`, `most_allocated.go`,
//! `balanced_allocation.go`, as `noderesources` computes them with Go's integer truncation and
//! float math), because every step is exact in `f64` on the inputs it is used for:
//!
//! - Fit: integers below `2^53` are exact in `f64`, and so are their sums, differences and
//!   products while they stay below it. The allocatable is at most `2^45` and the requests
//!   below `2^52` ([`ResourceColumns::exact`], [`BatchScore::new`]), so
//!   `max(alloc - (nz + pod), 0) * 100` (or `min(nz + pod, alloc) * 100`) is exact and below
//!   `2^52`, as is the weighted sum of the two resource scores. Go's truncating division
//!   `n / d` is then [`exact_div`]: `n * (1/d)` rounded to an integer is the quotient's
//!   integer part or one more (the estimate's relative error is about `2^-52`, the quotient at
//!   most 101), and the exact product with `d` (below `101 * 2^45 < 2^52`) says which.
//! - BalancedAllocation: the same IEEE operations in the same order as the scalar code
//!   (`(requested + pod) / allocatable`, capped at 1, `|f1 - f2| / 2`, `(1 - std) * 100`
//!   truncated); the requested sum is an exact integer, so converting it before or after the
//!   addition gives the same `f64`. IEEE operations are correctly rounded whether packed or
//!   not (and Rust does not contract them into fused multiply-adds). The truncation of a
//!   value in `50..=100` is [`floor`]: rounded by adding and subtracting `2^52`, then one less
//!   if that went up.
//! - The weighted total `fit * wf + balanced * wb` with plugin weights up to `2^40` in
//!   magnitude is below `2^48`: exact, and read back as an integer from its bits
//!   ([`to_i64`]).
//!
//! No step converts between integers and floats per node: the loop is packed additions,
//! multiplications, two divisions (BalancedAllocation's fractions), comparisons and masks.

use crate::cluster::scheduler::resource_columns::{EXACT_REQUEST_MAX, ResourceColumns};
use crate::cluster::spec::Resources;

/// Largest plugin weight (in magnitude) the batched total takes (see the module doc).
const MAX_PLUGIN_WEIGHT: i64 = 1 << 40;

/// Largest resource weight of NodeResourcesFit the batched loop takes: the weighted sum of
/// the two resource scores stays below `100 * 2 * 2^44 < 2^52`.
const MAX_RESOURCE_WEIGHT: i64 = 1 << 44;

/// One cycle's constants of the batched Fit + BalancedAllocation score: the pod's requests,
/// the resource weights and the plugin weights, as `f64`.
#[derive(Clone, Copy, Debug)]
pub struct BatchScore {
    /// MostAllocated (true) or LeastAllocated.
    most: bool,
    /// The pod's non-zero cpu request (millicores), for Fit.
    pod_nz_cpu: f64,
    /// The pod's non-zero memory request (bytes), for Fit.
    pod_nz_mem: f64,
    /// The pod's cpu request (millicores), for BalancedAllocation.
    pod_cpu: f64,
    /// The pod's memory request (bytes), for BalancedAllocation.
    pod_mem: f64,
    /// Fit's cpu weight.
    w_cpu: f64,
    /// Fit's memory weight.
    w_mem: f64,
    /// `w_cpu + w_mem` (at least 2).
    w_sum: f64,
    /// `1 / w_sum`, rounded.
    inv_w_sum: f64,
    /// NodeResourcesFit's plugin weight.
    fit_weight: f64,
    /// NodeResourcesBalancedAllocation's plugin weight.
    balanced_weight: f64,
}

impl BatchScore {
    /// The constants for a pod with non-zero requests `pod_nz` and requests `pod`, Fit scoring
    /// with MostAllocated (`most`) or LeastAllocated over cpu and memory with weights
    /// `(w_cpu, w_mem)`, and the plugin weights; `None` when the batched arithmetic would not
    /// be exact (weights or requests out of its range).
    pub fn new(
        most: bool,
        (w_cpu, w_mem): (i64, i64),
        pod_nz: &Resources,
        pod: &Resources,
        fit_weight: i64,
        balanced_weight: i64,
    ) -> Option<BatchScore> {
        let req = |v: i64| (0..=EXACT_REQUEST_MAX).contains(&v);
        let rw = |v: i64| (0..=MAX_RESOURCE_WEIGHT).contains(&v);
        let pw = |v: i64| (-MAX_PLUGIN_WEIGHT..=MAX_PLUGIN_WEIGHT).contains(&v);
        let ok = req(pod_nz.cpu_milli)
            && req(pod_nz.memory_bytes)
            && req(pod.cpu_milli)
            && req(pod.memory_bytes)
            && rw(w_cpu)
            && rw(w_mem)
            && w_cpu + w_mem >= 2
            && pw(fit_weight)
            && pw(balanced_weight);
        let w_sum = (w_cpu + w_mem) as f64;
        ok.then_some(BatchScore {
            most,
            pod_nz_cpu: pod_nz.cpu_milli as f64,
            pod_nz_mem: pod_nz.memory_bytes as f64,
            pod_cpu: pod.cpu_milli as f64,
            pod_mem: pod.memory_bytes as f64,
            w_cpu: w_cpu as f64,
            w_mem: w_mem as f64,
            w_sum,
            inv_w_sum: 1.0 / w_sum,
            fit_weight: fit_weight as f64,
            balanced_weight: balanced_weight as f64,
        })
    }

    /// Add `fit_weight * fit score + balanced_weight * balanced score` of node `from + k` to
    /// `totals[k]`, for every `k` in `0..totals.len()`. Every one of those nodes must be
    /// [`ResourceColumns::exact`] (the caller checks [`ResourceColumns::inexact`] is 0).
    pub fn add_run(&self, c: &ResourceColumns, from: usize, totals: &mut [i64]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above), the only requirement of
            // calling a function compiled with `target_feature(enable = "avx2")`.
            unsafe {
                if self.most {
                    self.run_avx2::<true>(c, from, totals);
                } else {
                    self.run_avx2::<false>(c, from, totals);
                }
            }
            return;
        }
        if self.most {
            self.run::<true>(c, from, totals);
        } else {
            self.run::<false>(c, from, totals);
        }
    }

    /// [`BatchScore::run`] compiled for AVX2 (four `f64` per instruction instead of two).
    /// The same IEEE operations in the same order, so the same results: the `avx2` feature
    /// adds no fused multiply-add, and Rust never contracts `a * b + c` into one.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline(never)]
    fn run_avx2<const MOST: bool>(&self, c: &ResourceColumns, from: usize, totals: &mut [i64]) {
        self.run::<MOST>(c, from, totals);
    }

    /// [`BatchScore::add_run`] for one strategy (inlined into each instruction-set version).
    #[inline(always)]
    fn run<const MOST: bool>(&self, c: &ResourceColumns, from: usize, totals: &mut [i64]) {
        let n = totals.len();
        let to = from + n;
        let (ac, am) = (&c.alloc_cpu[from..to], &c.alloc_mem[from..to]);
        let (zc, zm) = (&c.nz_cpu[from..to], &c.nz_mem[from..to]);
        let (rc, rm) = (&c.req_cpu[from..to], &c.req_mem[from..to]);
        let (ic, im) = (&c.inv_cpu[from..to], &c.inv_mem[from..to]);
        let s = *self;
        for j in 0..n {
            let (ac, am) = (ac[j], am[j]);
            // Fit: (alloc - requested) * 100 / alloc, 0 when over (least); requested capped
            // at alloc * 100 / alloc (most); the weighted mean of the two, all truncated.
            let (xc, xm) = (zc[j] + s.pod_nz_cpu, zm[j] + s.pod_nz_mem);
            let (nc, nm) = if MOST {
                (min(xc, ac) * 100.0, min(xm, am) * 100.0)
            } else {
                (max(ac - xc, 0.0) * 100.0, max(am - xm, 0.0) * 100.0)
            };
            let qc = exact_div(nc, ac, ic[j]);
            let qm = exact_div(nm, am, im[j]);
            let fit = exact_div(qc * s.w_cpu + qm * s.w_mem, s.w_sum, s.inv_w_sum);
            // BalancedAllocation: (1 - |fc - fm| / 2) * 100, truncated.
            let fc = min((rc[j] + s.pod_cpu) / ac, 1.0);
            let fm = min((rm[j] + s.pod_mem) / am, 1.0);
            let std = ((fc - fm) / 2.0).abs();
            let balanced = floor((1.0 - std) * 100.0);
            totals[j] += to_i64(fit * s.fit_weight + balanced * s.balanced_weight);
        }
    }
}

/// `a` if `a < b`, else `b` (one packed comparison; no NaN handling needed here).
#[inline(always)]
fn min(a: f64, b: f64) -> f64 {
    if a < b { a } else { b }
}

/// `a` if `a > b`, else `b`.
#[inline(always)]
fn max(a: f64, b: f64) -> f64 {
    if a > b { a } else { b }
}

/// `2^52`: adding it to a non-negative `f64` below `2^52` rounds it to an integer (the sum's
/// unit in the last place is 1), and subtracting it again gives that integer exactly.
const ROUND: f64 = (1u64 << 52) as f64;

/// `x` rounded to the nearest integer (ties to even), for `0 <= x < 2^52`: two packed
/// additions, no conversion.
#[inline(always)]
fn round(x: f64) -> f64 {
    (x + ROUND) - ROUND
}

/// `floor(x)` (= Go's truncation toward zero) for `0 <= x < 2^52`.
#[inline(always)]
fn floor(x: f64) -> f64 {
    let r = round(x);
    r - if r > x { 1.0 } else { 0.0 }
}

/// `1.5 * 2^52`: for an integer `t` with `|t| < 2^51`, `t + 1.5 * 2^52` is exact, and its bit
/// pattern is that of `1.5 * 2^52` plus `t`.
const TO_INT: f64 = (3u64 << 51) as f64;

/// The integer `t` (`|t| < 2^51`, an exact integer) as `i64`, by its bits: packed integer
/// arithmetic instead of a conversion per lane.
#[inline(always)]
fn to_i64(t: f64) -> i64 {
    (t + TO_INT).to_bits() as i64 - TO_INT.to_bits() as i64
}

/// Go's `n / d` of non-negative integers `n <= 101 * d`, `2 <= d <= 2^45`, given `inv`
/// = `1 / d` rounded: the estimate `n * inv` is within about `2^-45` of the quotient `n / d`,
/// so rounded to the nearest integer it is the quotient's integer part `q` or `q + 1`; the
/// exact product `q' * d` (below `101 * 2^45 < 2^52`) says which.
#[inline(always)]
pub fn exact_div(n: f64, d: f64, inv: f64) -> f64 {
    let q = round(n * inv);
    q - if q * d > n { 1.0 } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::scheduler::framework::NodeResourceRow;
    use crate::cluster::scheduler::resource_columns::EXACT_ALLOC_MAX as ALLOC_MAX;
    use proptest::prelude::*;

    #[test]
    fn exact_div_table() {
        // (n, d): quotients near and at integers, the largest inputs.
        let big = ALLOC_MAX as f64;
        let cases = [
            (0.0, 2.0),
            (1.0, 2.0),
            (2.0, 2.0),
            (100.0 * 3.0, 3.0),
            (100.0 * 3.0 - 1.0, 3.0),
            (100.0 * big, big),
            (100.0 * big - 1.0, big),
            (99.0 * big + 1.0, big),
            (100.0 * (big - 1.0), big - 1.0),
            (6_400_000.0, 64_000.0),
            (6_399_999.0, 64_000.0),
        ];
        for (n, d) in cases {
            let want = ((n as i64) / (d as i64)) as f64;
            assert_eq!(exact_div(n, d, 1.0 / d), want, "{n} / {d}");
        }
    }

    #[test]
    fn floor_and_to_i64_table() {
        let below = |x: f64| f64::from_bits(x.to_bits() - 1);
        let cases = [
            (0.0, 0.0),
            (0.5, 0.0),
            (1.5, 1.0),
            (2.5, 2.0),
            (50.0, 50.0),
            (87.5, 87.0),
            (below(100.0), 99.0),
            (100.0, 100.0),
            (below(1.0), 0.0),
            ((1u64 << 51) as f64 + 0.5, (1u64 << 51) as f64),
        ];
        for (x, want) in cases {
            assert_eq!(floor(x), want, "floor({x})");
            assert_eq!(floor(x), x.trunc(), "trunc({x})");
        }
        for t in [
            0i64,
            1,
            -1,
            100,
            -100,
            12_345,
            (1 << 48) - 1,
            -(1 << 48),
            (1 << 51) - 1,
        ] {
            assert_eq!(to_i64(t as f64), t);
        }
    }

    proptest! {
        #[test]
        fn floor_is_trunc(x in 0.0f64..(1u64 << 52) as f64) {
            prop_assert_eq!(floor(x), x.trunc());
        }

        #[test]
        fn to_i64_is_the_integer(t in -(1i64 << 51) + 1..(1i64 << 51)) {
            prop_assert_eq!(to_i64(t as f64), t);
        }

        #[test]
        fn exact_div_is_go_division(d in 2i64..=ALLOC_MAX, frac in 0u64..=(1 << 20), off in -2i64..=2) {
            // n = about frac / 2^20 of 100 * d, nudged around multiples of d.
            let top = 100 * d;
            let base = ((top as u128 * frac as u128) >> 20) as i64;
            let n = (base - base % d + off).clamp(0, top);
            let got = exact_div(n as f64, d as f64, 1.0 / d as f64);
            prop_assert_eq!(got, (n / d) as f64);
        }
    }

    /// A row and pod drawn from the ranges the batched loop takes.
    fn row_strategy() -> impl Strategy<Value = (i64, i64, i64, i64, i64, i64)> {
        (
            prop_oneof![2i64..=256_000, Just(64_000i64), 2i64..=ALLOC_MAX],
            prop_oneof![2i64..=(1 << 40), Just(256i64 << 30), 2i64..=ALLOC_MAX],
            0u32..=3,
            0u32..=3,
            any::<u64>(),
            any::<u64>(),
        )
            .prop_map(|(ac, am, sc, sm, r1, r2)| {
                // Requested up to (1 + scale/2) times the allocatable: often over it.
                let pick = |cap: i64, scale: u32, r: u64| {
                    let max = (cap as u128 * (2 + scale as u128) / 2).min(1 << 51) as u64;
                    (r % (max + 1)) as i64
                };
                let (rc, rm) = (pick(ac, sc, r1), pick(am, sm, r2));
                // Non-zero requested: at least the requested.
                let (zc, zm) = (rc + (r2 % 1000) as i64, rm + (r1 % (1 << 30)) as i64);
                (ac, am, rc, rm, zc, zm)
            })
    }

    fn res(cpu: i64, mem: i64) -> Resources {
        Resources {
            cpu_milli: cpu,
            memory_bytes: mem,
            pods: 0,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn batch_equals_scalar_reference(
            rows in prop::collection::vec(row_strategy(), 1..40),
            most in any::<bool>(),
            (w_cpu, w_mem) in prop_oneof![Just((1i64, 1i64)), (0i64..=5, 2i64..=5), (0i64..=MAX_RESOURCE_WEIGHT, 2i64..=MAX_RESOURCE_WEIGHT)],
            (pc, pm) in (0i64..=16_000, 0i64..=(64i64 << 30)),
            (wf, wb) in prop_oneof![Just((1i64, 1i64)), (-MAX_PLUGIN_WEIGHT..=MAX_PLUGIN_WEIGHT, -MAX_PLUGIN_WEIGHT..=MAX_PLUGIN_WEIGHT)],
            start in 0usize..4,
        ) {
            use crate::cluster::scheduler::plugins::noderesources::{balanced_score, strategy_score};
            use crate::cluster::scheduling_spec::{ResourceWeight, ScoringStrategy};
            let pod = res(pc, pm);
            let pod_nz = res(if pc == 0 { 100 } else { pc }, if pm == 0 { 200 << 20 } else { pm });
            let mut cols = ResourceColumns::default();
            let mut want = Vec::new();
            let strategy = if most { ScoringStrategy::MostAllocated } else { ScoringStrategy::LeastAllocated };
            let weights = [
                ResourceWeight { name: "cpu".into(), weight: w_cpu },
                ResourceWeight { name: "memory".into(), weight: w_mem },
            ];
            // A few rows before the run start, so `from` is exercised.
            for _ in 0..start {
                cols.push(&NodeResourceRow::new(&res(1000, 1000), &res(0, 0), &res(0, 0)));
            }
            for &(ac, am, rc, rm, zc, zm) in &rows {
                let alloc = res(ac, am);
                let row = NodeResourceRow::new(&alloc, &res(rc, rm), &res(zc, zm));
                prop_assert!(ResourceColumns::exact(&row));
                cols.push(&row);
                let fit = strategy_score(&strategy, &weights, &res(zc, zm), &pod_nz, &alloc);
                let fr = [
                    ((rc + pc) as f64 / ac as f64).min(1.0),
                    ((rm + pm) as f64 / am as f64).min(1.0),
                ];
                want.push(7 + fit * wf + balanced_score(&fr) * wb);
            }
            let batch = BatchScore::new(most, (w_cpu, w_mem), &pod_nz, &pod, wf, wb).expect("in range");
            let mut totals = vec![7i64; rows.len()];
            batch.add_run(&cols, start, &mut totals);
            prop_assert_eq!(totals, want);
        }
    }

    #[test]
    fn out_of_range_inputs_are_refused() {
        let r = res(1000, 1000);
        assert!(BatchScore::new(false, (1, 1), &r, &r, 1, 1).is_some());
        assert!(
            BatchScore::new(false, (1, 0), &r, &r, 1, 1).is_none(),
            "weight sum 1"
        );
        assert!(BatchScore::new(false, (-1, 3), &r, &r, 1, 1).is_none());
        assert!(BatchScore::new(false, (MAX_RESOURCE_WEIGHT + 1, 1), &r, &r, 1, 1).is_none());
        assert!(BatchScore::new(true, (1, 1), &res(-1, 0), &r, 1, 1).is_none());
        assert!(BatchScore::new(true, (1, 1), &r, &res(0, 1 << 52), 1, 1).is_none());
        assert!(BatchScore::new(true, (1, 1), &r, &r, MAX_PLUGIN_WEIGHT + 1, 1).is_none());
        assert!(BatchScore::new(true, (1, 1), &r, &r, 1, -MAX_PLUGIN_WEIGHT - 1).is_none());
    }
}
