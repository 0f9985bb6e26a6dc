//! The snapshot's placed pods ([`Snapshot::placed`](super::framework::Snapshot::placed)),
//! found by pod id without a tree search: pod ids are dense (the API server numbers pods as
//! it creates them), so a vector indexed by id holds each placed pod's position in an
//! unordered vector of the pods themselves. Every pod event of the scheduler looks a pod up
//! here (is it placed, on which node), and placing or removing one moves no tree node.
//!
//! Ids from [`DENSE_IDS`] on (not made by the API server: benchmarks and tests build pods
//! with arbitrary ids) are kept in a map instead, so the index never grows past that.

use std::collections::BTreeMap;

use crate::cluster::objects::PodId;
use crate::cluster::scheduler::framework::PlacedPod;

/// Pod ids below this are indexed by a vector (4 bytes per id up to the largest placed).
const DENSE_IDS: u64 = 1 << 26;

/// Placed pods by id: insertion, removal and lookup in O(1) (amortized) for ids below
/// [`DENSE_IDS`].
#[derive(Clone, Debug, Default)]
pub struct PlacedPods {
    /// Per pod id below [`DENSE_IDS`]: 1 + its index in `pods`, or 0 when not placed.
    dense: Vec<u32>,
    /// Positions in `pods` of the placed pods with larger ids.
    sparse: BTreeMap<PodId, u32>,
    /// The placed pods with their ids, in no particular order.
    pods: Vec<(PodId, PlacedPod)>,
}

impl PlacedPods {
    /// Position in `pods` of `id`, if placed.
    fn position(&self, id: PodId) -> Option<usize> {
        if id.0 < DENSE_IDS {
            match self.dense.get(id.0 as usize) {
                Some(&s) if s > 0 => Some(s as usize - 1),
                _ => None,
            }
        } else {
            self.sparse.get(&id).map(|&s| s as usize)
        }
    }

    /// Record that `id`'s pod is at position `at` of `pods` (`None`: not placed).
    fn set_position(&mut self, id: PodId, at: Option<usize>) {
        if id.0 < DENSE_IDS {
            let i = id.0 as usize;
            if self.dense.len() <= i {
                self.dense.resize(i + 1, 0);
            }
            self.dense[i] = at.map_or(0, |a| a as u32 + 1);
        } else {
            match at {
                Some(a) => {
                    self.sparse.insert(id, a as u32);
                }
                None => {
                    self.sparse.remove(&id);
                }
            }
        }
    }

    /// The placed pod `id`, if it is placed.
    pub fn get(&self, id: &PodId) -> Option<&PlacedPod> {
        self.position(*id).map(|at| &self.pods[at].1)
    }

    /// The placed pod `id`, mutable, if it is placed.
    pub fn get_mut(&mut self, id: &PodId) -> Option<&mut PlacedPod> {
        self.position(*id).map(|at| &mut self.pods[at].1)
    }

    /// True if pod `id` is placed.
    pub fn contains_key(&self, id: &PodId) -> bool {
        self.position(*id).is_some()
    }

    /// Place pod `id` (replacing its earlier record, if any).
    pub fn insert(&mut self, id: PodId, placed: PlacedPod) {
        match self.position(id) {
            Some(at) => self.pods[at].1 = placed,
            None => {
                self.pods.push((id, placed));
                self.set_position(id, Some(self.pods.len() - 1));
            }
        }
    }

    /// Take pod `id` out; its record if it was placed.
    pub fn remove(&mut self, id: &PodId) -> Option<PlacedPod> {
        let at = self.position(*id)?;
        self.set_position(*id, None);
        let (_, placed) = self.pods.swap_remove(at);
        if let Some(&(moved, _)) = self.pods.get(at) {
            self.set_position(moved, Some(at));
        }
        Some(placed)
    }

    /// The placed pods, in no particular order (every caller sums over them).
    pub fn values(&self) -> impl Iterator<Item = &PlacedPod> {
        self.pods.iter().map(|(_, p)| p)
    }

    /// Number of placed pods.
    pub fn len(&self) -> usize {
        self.pods.len()
    }

    /// True when no pod is placed.
    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }
}

impl std::ops::Index<&PodId> for PlacedPods {
    type Output = PlacedPod;

    /// The placed pod `id`; panics if it is not placed (as `BTreeMap`'s index does).
    fn index(&self, id: &PodId) -> &PlacedPod {
        self.get(id).expect("pod is placed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::spec::Resources;
    use proptest::prelude::*;

    fn placed(node: usize) -> PlacedPod {
        PlacedPod {
            node,
            namespace: "default".into(),
            labels: Default::default(),
            requests: Resources::default(),
            non_zero: Resources::default(),
            priority: 0,
            terminating: false,
        }
    }

    proptest! {
        /// Random inserts, removals and lookups (dense and sparse ids) agree with a
        /// `BTreeMap`, and `values` holds the same pods.
        #[test]
        fn matches_a_btree_map(ops in proptest::collection::vec((0u8..3, 0u64..40, any::<bool>(), 0usize..1000), 1..300)) {
            let mut p = PlacedPods::default();
            let mut r: BTreeMap<PodId, PlacedPod> = BTreeMap::new();
            for (op, id, big, node) in ops {
                let id = PodId(if big { u64::MAX - id } else { id });
                match op {
                    0 => {
                        p.insert(id, placed(node));
                        r.insert(id, placed(node));
                    }
                    1 => {
                        prop_assert_eq!(p.remove(&id).map(|x| x.node), r.remove(&id).map(|x| x.node));
                    }
                    _ => {
                        if let Some(x) = p.get_mut(&id) {
                            x.terminating = !x.terminating;
                        }
                        if let Some(x) = r.get_mut(&id) {
                            x.terminating = !x.terminating;
                        }
                    }
                }
                prop_assert_eq!(p.len(), r.len());
                prop_assert_eq!(p.is_empty(), r.is_empty());
                for k in 0..40 {
                    for id in [PodId(k), PodId(u64::MAX - k)] {
                        prop_assert_eq!(p.contains_key(&id), r.contains_key(&id));
                        prop_assert_eq!(
                            p.get(&id).map(|x| (x.node, x.terminating)),
                            r.get(&id).map(|x| (x.node, x.terminating))
                        );
                    }
                }
                let mut a: Vec<(usize, bool)> = p.values().map(|x| (x.node, x.terminating)).collect();
                let mut b: Vec<(usize, bool)> = r.values().map(|x| (x.node, x.terminating)).collect();
                a.sort();
                b.sort();
                prop_assert_eq!(a, b);
            }
        }
    }
}
