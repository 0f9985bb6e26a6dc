//! selectHost (upstream `schedule_one.go` `selectHost`): the node with the highest total
//! score, ties broken by reservoir sampling (the `k`-th node found tied with the best so far
//! replaces it with probability `1/k`), one random draw per tie, in node order.

use rand::RngExt;

use crate::engine::SimRng;

/// Totals compared at once while looking for the next one at least as high as the best.
const BLOCK: usize = 16;

/// Index into `totals` (not empty) of the selected node. Blocks of [`BLOCK`] totals all
/// below the best so far are skipped with one packed test (they change neither the best nor
/// the ties, and draw nothing); in the others, a bit mask marks the totals at least as high
/// as the best so far, and only those are visited, in order, with upstream's comparisons. A total left out is below the best at the time of the mask, and the best only
/// grows, so upstream's loop would neither take it nor draw for it: the draws are the same.
///
/// Compiled for AVX2 too (64-bit integer compares four at a time, which SSE2 does not have),
/// chosen at run time: the same comparisons and draws either way.
pub fn select_host(totals: &[i64], rng: &mut SimRng) -> usize {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above), the only requirement of calling
        // a function compiled with `target_feature(enable = "avx2")`.
        return unsafe { select_host_avx2(totals, rng) };
    }
    select_host_generic(totals, rng)
}

/// [`select_host`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline(never)]
fn select_host_avx2(totals: &[i64], rng: &mut SimRng) -> usize {
    select_host_generic(totals, rng)
}

/// [`select_host`] (inlined into each instruction-set version).
#[inline(always)]
fn select_host_generic(totals: &[i64], rng: &mut SimRng) -> usize {
    let nf = totals.len();
    let mut best = 0;
    let mut best_total = totals[0];
    let mut ties = 1u32;
    let mut k = 1;
    while k < nf {
        let end = (k + BLOCK).min(nf);
        let block = &totals[k..end];
        // Most blocks are all below the best: one packed test skips them.
        if block.len() == BLOCK && block.iter().fold(true, |all, &t| all & (t < best_total)) {
            k = end;
            continue;
        }
        let mut mask = at_least(block, best_total);
        while mask != 0 {
            let j = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let t = block[j];
            if t > best_total {
                best = k + j;
                best_total = t;
                ties = 1;
            } else if t == best_total {
                ties += 1;
                if rng.random_range(0..ties) == 0 {
                    best = k + j;
                }
            }
        }
        k = end;
    }
    best
}

/// Bit `j` set when `block[j] >= best` (`block` at most [`BLOCK`] long).
#[inline(always)]
fn at_least(block: &[i64], best: i64) -> u32 {
    let mut mask = 0u32;
    if let Ok(b) = <&[i64; BLOCK]>::try_from(block) {
        for (j, &t) in b.iter().enumerate() {
            mask |= u32::from(t >= best) << j;
        }
    } else {
        for (j, &t) in block.iter().enumerate() {
            mask |= u32::from(t >= best) << j;
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream_rng;

    /// Upstream's loop as it reads, the reference.
    fn reference(totals: &[i64], rng: &mut SimRng) -> usize {
        let mut best = 0;
        let mut ties = 1u32;
        for k in 1..totals.len() {
            if totals[k] > totals[best] {
                best = k;
                ties = 1;
            } else if totals[k] == totals[best] {
                ties += 1;
                if rng.random_range(0..ties) == 0 {
                    best = k;
                }
            }
        }
        best
    }

    #[test]
    fn same_choice_and_draws_as_the_plain_loop() {
        // Totals with few distinct values (many ties), rising and falling runs, every
        // length around the block size; both loops draw from equal streams, which must still
        // be equal afterwards.
        let mut draw = stream_rng(3, "totals");
        for case in 0..3000u64 {
            let n = 1 + draw.random_range(0..70usize);
            let spread = 1 + draw.random_range(0..6i64);
            let mut totals: Vec<i64> = (0..n).map(|_| draw.random_range(0..spread)).collect();
            if case.is_multiple_of(3) {
                totals.sort_unstable();
            }
            let (mut a, mut b) = (stream_rng(case, "select"), stream_rng(case, "select"));
            assert_eq!(
                select_host(&totals, &mut a),
                reference(&totals, &mut b),
                "{totals:?}"
            );
            assert_eq!(
                a.random::<u64>(),
                b.random::<u64>(),
                "same draws: {totals:?}"
            );
            // The portable copy too (`select_host` runs the AVX2 one where the CPU has it).
            let (mut a, mut b) = (stream_rng(case, "select"), stream_rng(case, "select"));
            assert_eq!(
                select_host_generic(&totals, &mut a),
                reference(&totals, &mut b),
                "{totals:?}"
            );
            assert_eq!(a.random::<u64>(), b.random::<u64>(), "{totals:?}");
        }
    }

    #[test]
    fn highest_total_wins() {
        let mut rng = stream_rng(1, "select");
        let mut totals = vec![5i64; 40];
        totals[33] = 6;
        assert_eq!(select_host(&totals, &mut rng), 33);
        assert_eq!(select_host(&[9], &mut rng), 0);
    }
}
