//! [`PodMap`]: a map keyed by [`PodId`] with the interface and the iteration order (ascending
//! id) of a `BTreeMap<PodId, V>`, built for the per-pod hot path.
//!
//! Pod ids are handed out densely in creation order (`Store::next_pod_id`), and a pod lives a
//! short while compared with the run, so the live ids sit in a window that slides forwards. The
//! map keeps, for each id of that window, the slot of its value (4 bytes per id) and the values
//! in a slab whose free slots are reused: a lookup is two array reads instead of a walk down a
//! B-tree, and the values never move when others come and go.

use std::collections::VecDeque;

use crate::cluster::objects::{Pod, PodId};

/// Marks an id of the window with no value.
const EMPTY: u32 = u32::MAX;

/// A map from pod id to `V`, iterated in ascending id order (as a `BTreeMap<PodId, V>`).
#[derive(Clone, Debug)]
pub struct PodMap<V> {
    /// Id of `slots[0]`: every id below it is absent.
    base: u64,
    /// Slab slot of each id from `base` on, or [`EMPTY`]; never ends with `EMPTY`, never
    /// starts with `EMPTY`.
    slots: VecDeque<u32>,
    /// The values, with their ids (`None`: a free slot).
    slab: Vec<Option<(PodId, V)>>,
    /// Free slots of `slab`, the last freed first.
    free: Vec<u32>,
    /// Values held.
    len: usize,
}

impl<V> Default for PodMap<V> {
    fn default() -> Self {
        PodMap {
            base: 0,
            slots: VecDeque::new(),
            slab: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }
}

impl<V> PodMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the map holds no value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The slab slot of `id`, if it has a value.
    #[inline]
    fn slot(&self, id: &PodId) -> Option<usize> {
        let i = id.0.checked_sub(self.base)?;
        let s = *self.slots.get(usize::try_from(i).ok()?)?;
        (s != EMPTY).then_some(s as usize)
    }

    /// The value of `id`.
    #[inline]
    pub fn get(&self, id: &PodId) -> Option<&V> {
        let s = self.slot(id)?;
        self.slab[s].as_ref().map(|(_, v)| v)
    }

    /// The value of `id`, mutably.
    #[inline]
    pub fn get_mut(&mut self, id: &PodId) -> Option<&mut V> {
        let s = self.slot(id)?;
        self.slab[s].as_mut().map(|(_, v)| v)
    }

    /// True if `id` has a value.
    #[inline]
    pub fn contains_key(&self, id: &PodId) -> bool {
        self.slot(id).is_some()
    }

    /// Set the value of `id`, returning the one it replaces.
    pub fn insert(&mut self, id: PodId, value: V) -> Option<V> {
        if let Some(s) = self.slot(&id) {
            return self.slab[s].replace((id, value)).map(|(_, v)| v);
        }
        let s = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some((id, value));
                s
            }
            None => {
                let s = u32::try_from(self.slab.len()).expect("more than 2^32 - 1 pods held");
                assert!(s != EMPTY, "more than 2^32 - 1 pods held");
                self.slab.push(Some((id, value)));
                s
            }
        };
        if self.slots.is_empty() {
            self.base = id.0;
        } else if id.0 < self.base {
            // An id before the window: widen it at the front.
            for _ in id.0..self.base {
                self.slots.push_front(EMPTY);
            }
            self.base = id.0;
        }
        let i = usize::try_from(id.0 - self.base).expect("pod id window too wide");
        if i >= self.slots.len() {
            self.slots.resize(i + 1, EMPTY);
        }
        self.slots[i] = s;
        self.len += 1;
        None
    }

    /// Remove the value of `id` and return it.
    pub fn remove(&mut self, id: &PodId) -> Option<V> {
        let s = self.slot(id)?;
        let i = (id.0 - self.base) as usize;
        self.slots[i] = EMPTY;
        // Keep the window tight: no empty id at either end.
        while self.slots.front() == Some(&EMPTY) {
            self.slots.pop_front();
            self.base += 1;
        }
        while self.slots.back() == Some(&EMPTY) {
            self.slots.pop_back();
        }
        self.free.push(s as u32);
        self.len -= 1;
        self.slab[s].take().map(|(_, v)| v)
    }

    /// The `(id, value)` pairs in ascending id order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&PodId, &V)> + '_ {
        self.slots
            .iter()
            .filter(|s| **s != EMPTY)
            .filter_map(|s| self.slab[*s as usize].as_ref().map(|(id, v)| (id, v)))
    }

    /// The values in ascending id order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }

    /// The ids in ascending order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &PodId> + '_ {
        self.iter().map(|(id, _)| id)
    }
}

impl<V> std::ops::Index<&PodId> for PodMap<V> {
    type Output = V;

    /// The value of `id`; panics if there is none (as `BTreeMap`'s indexing).
    fn index(&self, id: &PodId) -> &V {
        self.get(id).expect("no value for this pod id")
    }
}

/// Pods by id, as the scheduler's plugins read them ([`crate::cluster::scheduler::framework::CycleContext::pods`]):
/// the store's [`PodMap`], or a `BTreeMap` in tests.
pub trait PodLookup {
    /// The pod with this id.
    fn get(&self, id: &PodId) -> Option<&Pod>;
}

impl PodLookup for PodMap<Pod> {
    fn get(&self, id: &PodId) -> Option<&Pod> {
        PodMap::get(self, id)
    }
}

impl PodLookup for std::collections::BTreeMap<PodId, Pod> {
    fn get(&self, id: &PodId) -> Option<&Pod> {
        std::collections::BTreeMap::get(self, id)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A tiny deterministic generator for the model check below.
    fn lcg(x: &mut u64) -> u64 {
        *x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *x >> 33
    }

    /// Random inserts and removes (mostly of recent ids, sometimes of any) behave exactly as a
    /// `BTreeMap<PodId, _>`: same answers, same length, same iteration order.
    #[test]
    fn behaves_as_a_btreemap() {
        let mut m: PodMap<u64> = PodMap::new();
        let mut b: BTreeMap<PodId, u64> = BTreeMap::new();
        let mut x = 7;
        let mut next = 0u64;
        for step in 0..20_000u64 {
            let r = lcg(&mut x) % 10;
            if r < 5 {
                let id = PodId(next);
                next += 1;
                assert_eq!(m.insert(id, step), b.insert(id, step));
            } else if r < 9 && next > 0 {
                // Remove one of the last 50 ids (some already gone).
                let id = PodId(next.saturating_sub(1 + lcg(&mut x) % 50));
                assert_eq!(m.remove(&id), b.remove(&id));
            } else if next > 0 {
                // Touch any id: replace or remove, or insert an old id again.
                let id = PodId(lcg(&mut x) % next);
                match lcg(&mut x) % 3 {
                    0 => assert_eq!(m.remove(&id), b.remove(&id)),
                    1 => assert_eq!(m.insert(id, step), b.insert(id, step)),
                    _ => {
                        if let (Some(v), Some(w)) = (m.get_mut(&id), b.get_mut(&id)) {
                            *v += 1;
                            *w += 1;
                        }
                    }
                }
            }
            let id = PodId(lcg(&mut x) % (next + 2));
            assert_eq!(m.get(&id), b.get(&id));
            assert_eq!(m.contains_key(&id), b.contains_key(&id));
            assert_eq!(m.len(), b.len());
            assert_eq!(m.is_empty(), b.is_empty());
            if step % 997 == 0 {
                assert!(m.iter().eq(b.iter()));
                assert!(m.values().rev().eq(b.values().rev()));
                assert!(m.keys().eq(b.keys()));
            }
        }
        assert!(m.iter().eq(b.iter()));
    }

    /// Ids inserted below the window widen it at the front; emptied ends shrink it.
    #[test]
    fn window_grows_and_shrinks_at_both_ends() {
        let mut m = PodMap::new();
        m.insert(PodId(10), 'a');
        m.insert(PodId(3), 'b');
        m.insert(PodId(12), 'c');
        assert_eq!(
            m.keys().copied().collect::<Vec<_>>(),
            [PodId(3), PodId(10), PodId(12)]
        );
        assert_eq!(m.remove(&PodId(3)), Some('b'));
        assert_eq!(m.remove(&PodId(12)), Some('c'));
        assert_eq!((m.base, m.slots.len()), (10, 1));
        assert_eq!(m.remove(&PodId(10)), Some('a'));
        assert!(m.is_empty() && m.slots.is_empty());
        assert_eq!(m.get(&PodId(10)), None);
        // Slots are reused.
        m.insert(PodId(20), 'd');
        assert_eq!(m.slab.len(), 3);
    }
}
