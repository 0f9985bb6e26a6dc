//! Seeded random-number streams: one independent, portable stream per component.
//!
//! Every component draws only from its own [`SimRng`], derived by [`stream_rng`] from the run's
//! master seed and the component's stable name. Adding, removing or reordering components
//! therefore never changes another component's draws, and the derivation uses only fixed
//! algorithms (FNV-1a 64 and the ChaCha8 cipher), so the same (seed, name) gives the same
//! numbers on every platform and every release of kubesim (a pinned test guards this).

use rand::SeedableRng;

use super::trace::{FNV_OFFSET, fnv1a64};

/// The generator every component uses: ChaCha with 8 rounds, portable and reproducible.
pub type SimRng = rand::rngs::ChaCha8Rng;

/// A second FNV-1a basis (the 64-bit golden-ratio constant), so the name contributes two
/// differently-started 64-bit hashes (128 bits) to the key.
const SECOND_BASIS: u64 = 0x9e37_79b9_7f4a_7c15;

/// Derives the independent random stream of the component called `name` in a run with
/// `master_seed`.
///
/// The 32-byte ChaCha key is, as four little-endian `u64` words:
/// `[master_seed, fnv1a64(name), fnv1a64_from(0x9e3779b97f4a7c15, name), len(name)]`.
/// Distinct (seed, name) pairs therefore get distinct keys (barring a 128-bit hash collision
/// between two names of the same length), and ChaCha makes streams from distinct keys
/// statistically independent. This derivation is part of the determinism contract: changing it
/// changes every run's output.
pub fn stream_rng(master_seed: u64, name: &str) -> SimRng {
    let bytes = name.as_bytes();
    let words = [
        master_seed,
        fnv1a64(FNV_OFFSET, bytes),
        fnv1a64(SECOND_BASIS, bytes),
        bytes.len() as u64,
    ];
    let mut seed = [0u8; 32];
    for (chunk, w) in seed.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    SimRng::from_seed(seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    fn first(seed: u64, name: &str, n: usize) -> Vec<u64> {
        let mut r = stream_rng(seed, name);
        (0..n).map(|_| r.random::<u64>()).collect()
    }

    #[test]
    fn same_seed_and_name_same_sequence() {
        assert_eq!(first(42, "scheduler", 16), first(42, "scheduler", 16));
    }

    #[test]
    fn different_names_or_seeds_differ() {
        let base = first(42, "scheduler", 4);
        assert_ne!(base, first(42, "scheduler2", 4));
        assert_ne!(base, first(42, "Scheduler", 4));
        assert_ne!(base, first(43, "scheduler", 4));
        assert_ne!(first(42, "", 4), first(42, "\0", 4));
        assert_ne!(
            first(42, "kubelet/node-1", 4),
            first(42, "kubelet/node-2", 4)
        );
    }

    #[test]
    fn pinned_first_value() {
        // If this fails, the stream derivation or the generator changed: every run's output
        // changes with it. Only update the constant deliberately, with a changelog entry.
        let v = stream_rng(42, "scheduler").random::<u64>();
        assert_eq!(v, PINNED_42_SCHEDULER, "got {v:#018x}");
    }

    const PINNED_42_SCHEDULER: u64 = 0x1811_0a49_0964_c0e1;
}
