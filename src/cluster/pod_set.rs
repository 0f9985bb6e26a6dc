//! [`PodIdSet`]: a node's bound pods, with the interface and the iteration order (ascending
//! id) of a `BTreeSet<PodId>`, kept as one sorted array.
//!
//! A node holds tens of pods (110 at most by default, `maxPods`), and every bind adds one and
//! every finish or removal takes one away: in a sorted array that is a short search and a move
//! of a few cache lines, with no tree node to allocate, free or chase. Pods are mostly bound
//! in creation (id) order, so an insert usually lands at the end.

use crate::cluster::objects::PodId;

/// A set of pod ids in ascending order (as a `BTreeSet<PodId>`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PodIdSet {
    /// The ids, ascending, without duplicates.
    ids: Vec<PodId>,
}

impl PodIdSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True if the set holds no id.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Add `id`; false if it was already there.
    pub fn insert(&mut self, id: PodId) -> bool {
        if self.ids.last().is_none_or(|l| *l < id) {
            self.ids.push(id);
            return true;
        }
        match self.ids.binary_search(&id) {
            Ok(_) => false,
            Err(at) => {
                self.ids.insert(at, id);
                true
            }
        }
    }

    /// Remove `id`; false if it was not there.
    pub fn remove(&mut self, id: &PodId) -> bool {
        match self.ids.binary_search(id) {
            Ok(at) => {
                self.ids.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    /// True if `id` is in the set.
    pub fn contains(&self, id: &PodId) -> bool {
        self.ids.binary_search(id).is_ok()
    }

    /// The ids in ascending order.
    pub fn iter(&self) -> std::slice::Iter<'_, PodId> {
        self.ids.iter()
    }
}

impl<'a> IntoIterator for &'a PodIdSet {
    type Item = &'a PodId;
    type IntoIter = std::slice::Iter<'a, PodId>;

    fn into_iter(self) -> Self::IntoIter {
        self.ids.iter()
    }
}

impl std::fmt::Debug for PodIdSet {
    /// As a `BTreeSet`'s: `{PodId(1), PodId(4)}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.ids.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Inserts and removals in a scrambled order answer and iterate exactly as a
    /// `BTreeSet<PodId>`, and print the same.
    #[test]
    fn behaves_as_a_btreeset() {
        let mut s = PodIdSet::new();
        let mut b: BTreeSet<PodId> = BTreeSet::new();
        let mut x: u64 = 7;
        for step in 0..20_000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // Mostly ascending ids (binds in creation order), some out of order.
            let id = if (x >> 40).is_multiple_of(4) {
                PodId((x >> 33) % 300)
            } else {
                PodId(step / 50 + 250)
            };
            if (x >> 20).is_multiple_of(3) {
                assert_eq!(s.remove(&id), b.remove(&id), "remove {id:?}");
            } else {
                assert_eq!(s.insert(id), b.insert(id), "insert {id:?}");
            }
            assert_eq!(s.len(), b.len());
            assert_eq!(s.is_empty(), b.is_empty());
            assert_eq!(s.contains(&id), b.contains(&id));
        }
        assert!(s.iter().eq(b.iter()));
        assert!((&s).into_iter().eq(&b));
        assert_eq!(format!("{s:?}"), format!("{b:?}"));
    }
}
