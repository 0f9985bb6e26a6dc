//! Topology domains of the snapshot's nodes, per topology key: each distinct value of the
//! label (`topology.kubernetes.io/zone: a`, `kubernetes.io/hostname: node-7`) gets a small
//! integer id, and every node remembers the id of its domain. Plugins that count pods per
//! domain (PodTopologySpread) then index vectors by domain id instead of comparing label
//! strings per node per cycle.
//!
//! Upstream keys its per-cycle maps by `topologyPair{key, value}`
//! (`plugins/podtopologyspread/common.go`); a domain id stands for the value of one key.

use std::collections::BTreeMap;

use super::framework::NodeInfo;

/// A domain id: index into [`TopologyIndex::values`].
pub type DomainId = u32;

/// What [`TopologyIndex::node_domain`] holds for a node without the key.
pub const NO_DOMAIN: DomainId = DomainId::MAX;

/// The domains of one topology key over the snapshot's nodes.
#[derive(Clone, Debug)]
pub struct TopologyIndex {
    /// The label key (e.g. `topology.kubernetes.io/zone`).
    pub key: String,
    /// Domain values by id, in the order first seen over the nodes (node index order).
    pub values: Vec<String>,
    /// Domain id of each value.
    ids: BTreeMap<String, DomainId>,
    /// Per node (aligned with the snapshot's nodes): its domain id, or [`NO_DOMAIN`] if the
    /// node lacks the label.
    pub node_domain: Vec<DomainId>,
}

impl TopologyIndex {
    /// The index of `key` over `nodes`.
    pub fn build(key: &str, nodes: &[NodeInfo]) -> TopologyIndex {
        let mut t = TopologyIndex {
            key: key.to_string(),
            values: Vec::new(),
            ids: BTreeMap::new(),
            node_domain: Vec::with_capacity(nodes.len()),
        };
        for n in nodes {
            t.push(n);
        }
        t
    }

    /// Append one node (the next node index); returns its domain id.
    pub fn push(&mut self, node: &NodeInfo) -> DomainId {
        let d = match node.labels.get(&self.key) {
            None => NO_DOMAIN,
            Some(v) => match self.ids.get(v) {
                Some(&d) => d,
                None => {
                    let d = self.values.len() as DomainId;
                    self.values.push(v.clone());
                    self.ids.insert(v.clone(), d);
                    d
                }
            },
        };
        self.node_domain.push(d);
        d
    }

    /// Number of domains (distinct values among the nodes that carry the key).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True if no node carries the key.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Domain of node `i` (`None` if it lacks the key).
    pub fn domain(&self, i: usize) -> Option<DomainId> {
        match self.node_domain[i] {
            NO_DOMAIN => None,
            d => Some(d),
        }
    }

    /// Id of the domain with label value `v`, if some node carries it.
    pub fn id(&self, v: &str) -> Option<DomainId> {
        self.ids.get(v).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::spec::Resources;

    fn node(name: &str, zone: Option<&str>) -> NodeInfo {
        let mut labels = crate::cluster::spec::Labels::new();
        labels.insert("kubernetes.io/hostname".into(), name.into());
        if let Some(z) = zone {
            labels.insert("topology.kubernetes.io/zone".into(), z.into());
        }
        NodeInfo {
            name: name.into(),
            labels,
            taints: Vec::new(),
            allocatable: Resources::default(),
            unschedulable: false,
            requested: Resources::default(),
            non_zero_requested: Resources::default(),
            pods: Vec::new(),
            images: Vec::new(),
        }
    }

    #[test]
    fn domains_in_first_seen_order_and_missing_labels() {
        let nodes = [
            node("n0", Some("b")),
            node("n1", None),
            node("n2", Some("a")),
            node("n3", Some("b")),
        ];
        let t = TopologyIndex::build("topology.kubernetes.io/zone", &nodes);
        assert_eq!(t.values, vec!["b".to_string(), "a".to_string()]);
        assert_eq!(t.node_domain, vec![0, NO_DOMAIN, 1, 0]);
        assert_eq!(t.len(), 2);
        assert_eq!(t.domain(1), None);
        assert_eq!(t.domain(2), Some(1));
        assert_eq!(t.id("a"), Some(1));
        assert_eq!(t.id("c"), None);
        let mut t = t;
        assert_eq!(t.push(&node("n4", Some("c"))), 2);
        assert_eq!(t.push(&node("n5", Some("a"))), 1);
        let h = TopologyIndex::build("kubernetes.io/hostname", &nodes);
        assert_eq!(h.len(), 4);
        assert!(TopologyIndex::build("missing", &nodes).is_empty());
    }
}
