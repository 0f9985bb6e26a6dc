//! NodeName and NodeUnschedulable (`plugins/nodename`, `plugins/nodeunschedulable`).

use crate::cluster::scheduler::framework::{CycleContext, Plugin, Reason};
use crate::cluster::spec::{Taint, TaintEffect};

use super::tainttoleration::tolerates;

/// NodeName filter: a pod with `spec.nodeName` fits only that node.
#[derive(Debug)]
pub struct NodeName;

impl Plugin for NodeName {
    fn name(&self) -> &str {
        "NodeName"
    }
    fn filter_node_local(&self) -> bool {
        true
    }
    /// A pod without `spec.nodeName` fits every node: nothing to check.
    fn filter_skipped(&self, cx: &CycleContext<'_>) -> bool {
        cx.pod.template.node_name.is_none()
    }
    fn filter(&self, cx: &CycleContext<'_>, node: usize, reasons: &mut Vec<Reason>) -> bool {
        match &cx.pod.template.node_name {
            Some(n) if *n != cx.snapshot.nodes[node].name => {
                // nodename.ErrReason
                reasons.push(Reason::Borrowed(
                    "node(s) didn't match the requested node name",
                ));
                false
            }
            _ => true,
        }
    }
}

/// NodeUnschedulable filter: a cordoned node takes only pods tolerating
/// `node.kubernetes.io/unschedulable:NoSchedule`.
#[derive(Debug)]
pub struct NodeUnschedulable;

impl Plugin for NodeUnschedulable {
    fn name(&self) -> &str {
        "NodeUnschedulable"
    }
    fn filter_node_local(&self) -> bool {
        true
    }
    /// No node is cordoned: nothing to reject.
    fn filter_skipped(&self, cx: &CycleContext<'_>) -> bool {
        cx.snapshot.unschedulable_nodes == 0
    }
    fn filter(&self, cx: &CycleContext<'_>, node: usize, reasons: &mut Vec<Reason>) -> bool {
        if !cx.snapshot.nodes[node].unschedulable {
            return true;
        }
        let taint = Taint {
            key: "node.kubernetes.io/unschedulable".into(),
            value: String::new(),
            effect: TaintEffect::NoSchedule,
        };
        if cx
            .pod
            .template
            .tolerations
            .iter()
            .any(|t| tolerates(t, &taint))
        {
            return true;
        }
        // nodeunschedulable.ErrReasonUnschedulable
        reasons.push(Reason::Borrowed("node(s) were unschedulable"));
        false
    }
}
