//! The first scheduler's plugins, pure functions of (pod, node view) with upstream's names and
//! integer arithmetic: NodeName, NodeUnschedulable, NodeAffinity (nodeSelector only),
//! NodeResourcesFit (filter, and the LeastAllocated score).

use crate::cluster::objects::{Node, Pod};
use crate::cluster::spec::Resources;

/// Highest score a plugin gives (upstream `framework.MaxNodeScore`).
pub const MAX_NODE_SCORE: i64 = 100;

/// What the scheduler knows of a node during one cycle: the stored node plus the requests of
/// pods it has assumed onto the node but whose binding has not been observed yet.
#[derive(Clone, Copy, Debug)]
pub struct NodeInfo<'a> {
    /// The node.
    pub node: &'a Node,
    /// Requests of assumed pods (`pods` counts them).
    pub assumed: Resources,
    /// Non-zero requests of assumed pods.
    pub assumed_non_zero: Resources,
}

impl NodeInfo<'_> {
    /// `NodeInfo.Requested` upstream: bound plus assumed.
    pub fn requested(&self) -> Resources {
        self.node.requested.add(&self.assumed)
    }

    /// `NodeInfo.NonZeroRequested` upstream.
    pub fn non_zero_requested(&self) -> Resources {
        self.node.non_zero_requested.add(&self.assumed_non_zero)
    }
}

/// Why a filter rejected a node: upstream's reason strings, which `FailedScheduling` events
/// count ("0/3 nodes are available: 3 Insufficient cpu.").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FilterReason {
    /// NodeName: the pod names another node.
    NodeName,
    /// NodeUnschedulable: the node is cordoned.
    Unschedulable,
    /// NodeAffinity: nodeSelector does not match.
    NodeAffinity,
    /// NodeResourcesFit: pod count.
    TooManyPods,
    /// NodeResourcesFit: CPU.
    InsufficientCpu,
    /// NodeResourcesFit: memory.
    InsufficientMemory,
    /// The node is not Ready.
    NotReady,
}

impl FilterReason {
    /// Upstream message.
    pub fn message(&self) -> &'static str {
        match self {
            // plugins/nodename: ErrReason
            FilterReason::NodeName => "node(s) didn't match the requested node name",
            // plugins/nodeunschedulable: ErrReasonUnschedulable
            FilterReason::Unschedulable => "node(s) were unschedulable",
            // plugins/nodeaffinity: ErrReasonPod
            FilterReason::NodeAffinity => "node(s) didn't match Pod's node affinity/selector",
            // plugins/noderesources/fit.go: "Too many pods", "Insufficient <resource>"
            FilterReason::TooManyPods => "Too many pods",
            FilterReason::InsufficientCpu => "Insufficient cpu",
            FilterReason::InsufficientMemory => "Insufficient memory",
            FilterReason::NotReady => {
                "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
            }
        }
    }
}

/// NodeName filter: a pod with `spec.nodeName` fits only that node.
pub fn node_name(pod: &Pod, info: &NodeInfo<'_>) -> Result<(), FilterReason> {
    match &pod.template.node_name {
        Some(n) if *n != info.node.name => Err(FilterReason::NodeName),
        _ => Ok(()),
    }
}

/// NodeUnschedulable filter: a cordoned node takes no pods (tolerations of
/// `node.kubernetes.io/unschedulable` are honoured).
pub fn node_unschedulable(pod: &Pod, info: &NodeInfo<'_>) -> Result<(), FilterReason> {
    if !info.node.unschedulable {
        return Ok(());
    }
    let tolerated = pod.template.tolerations.iter().any(|t| {
        (t.key == "node.kubernetes.io/unschedulable" || t.key.is_empty())
            && matches!(
                t.effect,
                None | Some(crate::cluster::spec::TaintEffect::NoSchedule)
            )
            && t.operator == crate::cluster::spec::TolerationOperator::Exists
    });
    if tolerated {
        Ok(())
    } else {
        Err(FilterReason::Unschedulable)
    }
}

/// NodeAffinity filter, the `nodeSelector` part: every pair must be among the node's labels.
pub fn node_affinity(pod: &Pod, info: &NodeInfo<'_>) -> Result<(), FilterReason> {
    let ok = pod
        .template
        .node_selector
        .iter()
        .all(|(k, v)| info.node.labels.get(k) == Some(v));
    if ok {
        Ok(())
    } else {
        Err(FilterReason::NodeAffinity)
    }
}

/// NodeResourcesFit filter (upstream `fitsRequest`): pod count, then CPU, then memory; the first
/// shortfall is reported (upstream reports all; the first is enough for the event message).
pub fn node_resources_fit(pod: &Pod, info: &NodeInfo<'_>) -> Result<(), FilterReason> {
    let alloc = info.node.allocatable;
    let req = info.requested();
    if req.pods + 1 > alloc.pods {
        return Err(FilterReason::TooManyPods);
    }
    let r = pod.requests;
    if r.cpu_milli > 0 && r.cpu_milli > alloc.cpu_milli - req.cpu_milli {
        return Err(FilterReason::InsufficientCpu);
    }
    if r.memory_bytes > 0 && r.memory_bytes > alloc.memory_bytes - req.memory_bytes {
        return Err(FilterReason::InsufficientMemory);
    }
    Ok(())
}

/// Upstream `leastRequestedScore`: `(capacity - requested) * 100 / capacity`, 0 when the
/// request exceeds capacity; integer division truncates as in Go.
pub fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

/// NodeResourcesFit score with the default `LeastAllocated` strategy over cpu and memory with
/// weight 1 each (upstream `noderesources/least_allocated.go`): the weighted mean of
/// [`least_requested_score`] of (node non-zero requested + pod non-zero request).
///
/// Example: 4000m node with 1000m requested, pod asks 500m: cpu score (4000-1500)*100/4000 = 62;
/// memory 8Gi with 2Gi + 1Gi: (8-3)*100/8 = 62 (62.5 truncated); node score (62+62)/2 = 62.
pub fn least_allocated_score(pod: &Pod, info: &NodeInfo<'_>) -> i64 {
    let nz = info.non_zero_requested();
    let alloc = info.node.allocatable;
    let cpu = least_requested_score(
        nz.cpu_milli + pod.non_zero_requests.cpu_milli,
        alloc.cpu_milli,
    );
    let mem = least_requested_score(
        nz.memory_bytes + pod.non_zero_requests.memory_bytes,
        alloc.memory_bytes,
    );
    (cpu + mem) / 2
}

/// A filter plugin: `Ok` if the node fits the pod, else why not.
pub type FilterFn = fn(&Pod, &NodeInfo<'_>) -> Result<(), FilterReason>;

/// The filters of the first scheduler, in upstream's default-profile order.
pub const FILTERS: &[FilterFn] = &[
    node_unschedulable,
    node_name,
    node_affinity,
    node_resources_fit,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_requested_table() {
        // (requested, capacity, expected)
        let cases = [
            (0, 4000, 100),
            (1500, 4000, 62),
            (4000, 4000, 0),
            (4001, 4000, 0),
            (1, 3, 66),
            (0, 0, 0),
        ];
        for (r, c, want) in cases {
            assert_eq!(
                least_requested_score(r, c),
                want,
                "requested {r} capacity {c}"
            );
        }
    }
}
