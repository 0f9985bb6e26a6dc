//! NodeAffinity (`plugins/nodeaffinity/node_affinity.go`): Filter requires `nodeSelector` and
//! any one of the required node selector terms; Score sums the weights of the matching
//! preferred terms, normalized by the highest (`DefaultNormalizeScore`, not reversed).

use crate::cluster::objects::Pod;
use crate::cluster::scheduler::framework::{
    CycleContext, MAX_NODE_SCORE, NodeInfo, Plugin, Reason, default_normalize_score,
};

/// True if `node` satisfies the pod's `nodeSelector` and required node affinity (upstream
/// `nodeaffinity.GetRequiredNodeAffinity(pod).Match(node)`).
pub fn required_matches(pod: &Pod, node: &NodeInfo) -> bool {
    let t = &pod.template;
    if !t
        .node_selector
        .iter()
        .all(|(k, v)| node.labels.get(k) == Some(v))
    {
        return false;
    }
    match &t.affinity.node_affinity.required {
        None => true,
        Some(terms) => terms
            .iter()
            .any(|term| term.matches(&node.name, &node.labels)),
    }
}

/// The NodeAffinity plugin.
#[derive(Debug)]
pub struct NodeAffinity;

impl Plugin for NodeAffinity {
    fn name(&self) -> &str {
        "NodeAffinity"
    }

    fn filter_node_local(&self) -> bool {
        true
    }

    /// Upstream PreFilter returns Skip when the pod has no nodeSelector and no required node
    /// affinity (`node_affinity.go`).
    fn filter_skipped(&self, cx: &CycleContext<'_>) -> bool {
        let t = &cx.pod.template;
        t.node_selector.is_empty() && t.affinity.node_affinity.required.is_none()
    }

    /// Upstream PreScore returns Skip when the pod has no preferred node affinity terms.
    fn score_skipped(&self, cx: &CycleContext<'_>) -> bool {
        cx.pod.template.affinity.node_affinity.preferred.is_empty()
    }

    fn filter(&self, cx: &CycleContext<'_>, node: usize, reasons: &mut Vec<Reason>) -> bool {
        if required_matches(cx.pod, &cx.snapshot.nodes[node]) {
            return true;
        }
        // nodeaffinity.ErrReasonPod
        reasons.push(Reason::Borrowed(
            "node(s) didn't match Pod's node affinity/selector",
        ));
        false
    }

    fn score(&self, cx: &CycleContext<'_>, node: usize) -> i64 {
        let n = &cx.snapshot.nodes[node];
        cx.pod
            .template
            .affinity
            .node_affinity
            .preferred
            .iter()
            .filter(|p| p.preference.matches(&n.name, &n.labels))
            .map(|p| i64::from(p.weight))
            .sum()
    }

    fn normalize(&self, _cx: &CycleContext<'_>, _f: &[usize], scores: &mut [i64]) {
        default_normalize_score(MAX_NODE_SCORE, false, scores);
    }
}

#[cfg(test)]
mod tests {
    use crate::cluster::spec::*;

    fn req(key: &str, op: NodeSelectorOperator, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: op,
            values: values.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn operators_table() {
        use NodeSelectorOperator::*;
        let labels: Labels = [("foo", "bar"), ("kernel", "5")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        // (requirement, matches) — node_affinity_test.go TestNodeAffinity cases for In, NotIn,
        // Exists, DoesNotExist, Gt, Lt.
        let cases = [
            (req("foo", In, &["bar", "value2"]), true),
            (req("foo", In, &["value1"]), false),
            (req("foo", NotIn, &["value1"]), true),
            (req("foo", NotIn, &["bar"]), false),
            (req("foo", Exists, &[]), true),
            (req("zzz", DoesNotExist, &[]), true),
            (req("kernel", Gt, &["4"]), true),
            (req("kernel", Lt, &["4"]), false),
            (req("foo", Gt, &["4"]), false),
        ];
        for (r, want) in cases {
            let term = NodeSelectorTerm {
                match_expressions: vec![r.clone()],
                match_fields: vec![],
            };
            assert_eq!(term.matches("n1", &labels), want, "{r:?}");
        }
        // An empty term matches nothing; matchFields on metadata.name.
        assert!(!NodeSelectorTerm::default().matches("n1", &labels));
        let by_name = NodeSelectorTerm {
            match_expressions: vec![],
            match_fields: vec![req("metadata.name", In, &["n1"])],
        };
        assert!(by_name.matches("n1", &labels));
        assert!(!by_name.matches("n2", &labels));
    }
}
