//! [`NodeMap`]: the store's nodes by name, with the interface and the iteration order (by name)
//! of a `BTreeMap<String, Node>`, and lookups by name that hash the name once instead of
//! comparing it with a dozen others on the way down a B-tree (the per-pod path looks a node up
//! by name at every bind, finish and removal).
//!
//! The nodes sit in a slab (stable slots, free slots reused); `order` holds the slots sorted by
//! name for iteration, and `index` maps a name to its slot. `index` is a hash map that is never
//! iterated, hashed with [`WordHasher`] (a fixed, portable function; no random keys), so
//! nothing about it can reach a run's results but its speed.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::cluster::objects::Node;

/// FNV-1a 64 over the bytes written (portable, unkeyed).
#[derive(Clone, Copy, Debug)]
pub struct FnvHasher(u64);

impl Default for FnvHasher {
    fn default() -> Self {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// A hasher for short keys that are looked up, never iterated (node names): eight bytes per
/// step (FxHash's rotate, xor and multiply) and a final avalanche (murmur3's `fmix64`), so
/// that names differing only in their last characters still spread over a table's low bits.
/// Fixed and portable (no random keys) like [`FnvHasher`], and about eight times fewer
/// dependent multiplies than it on a node name; only a map's speed depends on it.
#[derive(Clone, Copy, Debug, Default)]
pub struct WordHasher(u64);

impl WordHasher {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for WordHasher {
    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        // The length tells "a" from "a\0".
        self.add(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 56));
    }
}

/// Nodes by name, iterated in name order (as a `BTreeMap<String, Node>`).
#[derive(Clone, Debug, Default)]
pub struct NodeMap {
    /// Names and nodes by slot (`None`: a free slot).
    slab: Vec<Option<(String, Node)>>,
    /// Free slots of `slab`, the last freed first.
    free: Vec<u32>,
    /// Occupied slots, sorted by name.
    order: Vec<u32>,
    /// Slot of each name (looked up, never iterated).
    index: HashMap<String, u32, BuildHasherDefault<WordHasher>>,
    /// Each slot's name as a shared string (`None`: a free slot), handed out by
    /// [`NodeMap::shared_name`] so that a pod's watch events need not copy its node's name.
    shared: Vec<Option<std::sync::Arc<str>>>,
}

impl NodeMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True if there is no node.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    fn entry(&self, slot: u32) -> &(String, Node) {
        self.slab[slot as usize]
            .as_ref()
            .expect("an ordered slot holds a node")
    }

    /// Position of `name` in `order` (`Err`: where it would go).
    fn position(&self, name: &str) -> Result<usize, usize> {
        self.order
            .binary_search_by(|s| self.entry(*s).0.as_str().cmp(name))
    }

    /// The node called `name`.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&Node> {
        let s = *self.index.get(name)?;
        self.slab[s as usize].as_ref().map(|(_, n)| n)
    }

    /// The node called `name`, mutably.
    #[inline]
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Node> {
        let s = *self.index.get(name)?;
        self.slab[s as usize].as_mut().map(|(_, n)| n)
    }

    /// The name `name` as a shared string: the node's own copy when there is a node called
    /// `name` (no allocation), else a new one.
    #[inline]
    pub fn shared_name(&self, name: &str) -> std::sync::Arc<str> {
        match self.index.get(name) {
            Some(&s) => self.shared[s as usize]
                .clone()
                .expect("an indexed slot has a name"),
            None => std::sync::Arc::from(name),
        }
    }

    /// True if there is a node called `name`.
    #[inline]
    pub fn contains_key(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Set the node called `name`, returning the one it replaces.
    pub fn insert(&mut self, name: String, node: Node) -> Option<Node> {
        if let Some(&s) = self.index.get(name.as_str()) {
            // Same name: its shared copy stays.
            return self.slab[s as usize].replace((name, node)).map(|(_, n)| n);
        }
        let at = self.position(&name).unwrap_err();
        let s = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slab.push(None);
                self.shared.push(None);
                u32::try_from(self.slab.len() - 1).expect("more than 2^32 nodes")
            }
        };
        self.index.insert(name.clone(), s);
        self.shared[s as usize] = Some(std::sync::Arc::from(name.as_str()));
        self.slab[s as usize] = Some((name, node));
        self.order.insert(at, s);
        None
    }

    /// Remove the node called `name` and return it.
    pub fn remove(&mut self, name: &str) -> Option<Node> {
        let s = self.index.remove(name)?;
        if let Ok(at) = self.position(name) {
            self.order.remove(at);
        }
        self.free.push(s);
        self.shared[s as usize] = None;
        self.slab[s as usize].take().map(|(_, n)| n)
    }

    /// `(name, node)` pairs in name order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            map: self,
            slots: self.order.iter(),
        }
    }

    /// Names in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.iter().map(|(k, _)| k)
    }

    /// Nodes in name order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Node> + ExactSizeIterator {
        self.iter().map(|(_, v)| v)
    }
}

/// The `(name, node)` pairs of a [`NodeMap`], in name order.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    map: &'a NodeMap,
    slots: std::slice::Iter<'a, u32>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a String, &'a Node);

    fn next(&mut self) -> Option<Self::Item> {
        let (name, node) = self.map.entry(*self.slots.next()?);
        Some((name, node))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.slots.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let (name, node) = self.map.entry(*self.slots.next_back()?);
        Some((name, node))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a NodeMap {
    type Item = (&'a String, &'a Node);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl std::ops::Index<&str> for NodeMap {
    type Output = Node;

    /// The node called `name`; panics if there is none (as `BTreeMap`'s indexing).
    fn index(&self, name: &str) -> &Node {
        self.get(name).expect("no node of this name")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::cluster::objects::NodeLease;
    use crate::engine::SimTime;

    fn node(name: &str, price: f64) -> Node {
        Node {
            name: name.to_string(),
            labels: Default::default(),
            taints: Vec::new(),
            allocatable: Default::default(),
            unschedulable: false,
            ready: true,
            pool: None,
            price_per_hour: price,
            created_at: SimTime::ZERO,
            requested: Default::default(),
            non_zero_requested: Default::default(),
            pods: Default::default(),
            lease: NodeLease {
                renewing: true,
                anchor: SimTime::ZERO,
            },
        }
    }

    /// Inserts, replacements and removals in a scrambled name order answer and iterate exactly
    /// as a `BTreeMap<String, Node>`.
    #[test]
    fn behaves_as_a_btreemap() {
        let mut m = NodeMap::new();
        let mut b: BTreeMap<String, Node> = BTreeMap::new();
        let mut x: u64 = 11;
        for step in 0..3000u32 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let name = format!("node-{:03}", (x >> 33) % 200);
            let price = f64::from(step);
            if (x >> 20).is_multiple_of(3) {
                let (r, s) = (m.remove(&name), b.remove(&name));
                assert_eq!(r.map(|n| n.price_per_hour), s.map(|n| n.price_per_hour));
            } else {
                let (r, s) = (
                    m.insert(name.clone(), node(&name, price)),
                    b.insert(name.clone(), node(&name, price)),
                );
                assert_eq!(r.map(|n| n.price_per_hour), s.map(|n| n.price_per_hour));
            }
            if let (Some(a), Some(c)) = (m.get_mut(&name), b.get_mut(&name)) {
                a.ready = !a.ready;
                c.ready = !c.ready;
            }
            assert_eq!(m.len(), b.len());
            assert_eq!(m.contains_key(&name), b.contains_key(&name));
            // The shared name spells the name, and is the node's one copy while it exists.
            let (s1, s2) = (m.shared_name(&name), m.shared_name(&name));
            assert_eq!(&*s1, name.as_str());
            assert_eq!(std::sync::Arc::ptr_eq(&s1, &s2), m.contains_key(&name));
            assert_eq!(
                m.get(&name).map(|n| (n.price_per_hour, n.ready)),
                b.get(&name).map(|n| (n.price_per_hour, n.ready))
            );
        }
        let got: Vec<(String, f64, bool)> = m
            .iter()
            .map(|(k, n)| (k.clone(), n.price_per_hour, n.ready))
            .collect();
        let want: Vec<(String, f64, bool)> = b
            .iter()
            .map(|(k, n)| (k.clone(), n.price_per_hour, n.ready))
            .collect();
        assert_eq!(got, want);
        assert!(m.keys().rev().eq(b.keys().rev()));
        assert_eq!(m.values().len(), b.len());
        assert_eq!((&m).into_iter().count(), b.len());
    }

    /// The word hasher is a function of the bytes alone, tells apart names that differ in one
    /// character, in length only or in their trailing zeros, and spreads a run of numbered
    /// node names over the low bits a table indexes by.
    #[test]
    fn word_hasher_separates_and_spreads_names() {
        use std::hash::Hash;
        let h = |s: &str| {
            let mut f = WordHasher::default();
            s.hash(&mut f);
            f.finish()
        };
        assert_eq!(h("node-0001"), h("node-0001"));
        let mut seen = std::collections::BTreeSet::new();
        for s in [
            "",
            "a",
            "a\0",
            "b",
            "node-0",
            "node-00",
            "node-0000000",
            "node-00000000",
        ] {
            assert!(seen.insert(h(s)), "{s:?} collides");
        }
        // 1,000 numbered names over 1,024 buckets (a table's low 10 bits): no bucket holds
        // more than a handful.
        let mut buckets = [0u32; 1024];
        for i in 0..1000 {
            buckets[(h(&format!("node-{i:04}")) & 1023) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|&n| n <= 7),
            "{:?}",
            buckets.iter().max()
        );
    }

    /// FNV-1a 64 of known inputs (reference values of the published test vectors).
    #[test]
    fn fnv1a_vectors() {
        let h = |s: &str| {
            let mut f = FnvHasher::default();
            f.write(s.as_bytes());
            f.finish()
        };
        assert_eq!(h(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(h("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(h("foobar"), 0x8594_4171_f739_67e8);
    }
}
