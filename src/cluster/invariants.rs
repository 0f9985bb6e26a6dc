//! Model invariants, checked by `kubesim run --check` as the run goes: a breach means a bug in
//! the model, and the run stops with the first one found.

use std::collections::BTreeMap;

use crate::cluster::spec::Resources;
use crate::cluster::state::ClusterState;
use crate::engine::SimTime;

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// When it was found.
    pub at: SimTime,
    /// What is wrong.
    pub message: String,
}

/// Check every invariant of `state` at `now`:
///
/// - no node's bound requests exceed its allocatable (the scheduler never over-commits);
/// - each node's aggregate equals the sum of the requests of the pods it lists, and each of
///   those pods names that node (a pod is on at most one node);
/// - pods are conserved: created - deleted = pods in the store;
/// - the ReplicaSet ownership index lists exactly the pods that name that owner, and the
///   per-owner active / ready counts equal a recount.
pub fn check(state: &ClusterState, now: SimTime) -> Result<(), Violation> {
    let fail = |message: String| Err(Violation { at: now, message });
    let store = &state.store;
    for node in store.nodes.values() {
        if !node.requested.fits_within(&node.allocatable) {
            return fail(format!(
                "node {} is over its allocatable: requested {:?}, allocatable {:?}",
                node.name, node.requested, node.allocatable
            ));
        }
        let mut sum = Resources::default();
        for id in &node.pods {
            let Some(pod) = store.pods.get(id) else {
                return fail(format!(
                    "node {} lists pod {id:?}, which does not exist",
                    node.name
                ));
            };
            if pod.node.as_deref() != Some(node.name.as_str()) {
                return fail(format!(
                    "node {} lists pod {}, which is bound to {:?}",
                    node.name,
                    pod.key(),
                    pod.node
                ));
            }
            sum = sum.add(&pod.requests);
        }
        if sum != node.requested {
            return fail(format!(
                "node {} aggregate {:?} differs from its pods' sum {sum:?}",
                node.name, node.requested
            ));
        }
    }
    for pod in store.pods.values() {
        if let Some(n) = &pod.node
            && let Some(node) = store.nodes.get(n)
            && !node.pods.contains(&pod.id)
            && !pod.phase.is_terminal()
        {
            return fail(format!(
                "pod {} is bound to {n}, which does not list it",
                pod.key()
            ));
        }
    }
    let c = &state.recorder.counters;
    if c.pods_created < c.pods_deleted || c.pods_created - c.pods_deleted != store.pods.len() as u64
    {
        return fail(format!(
            "pods not conserved: {} created - {} deleted != {} in the store",
            c.pods_created,
            c.pods_deleted,
            store.pods.len()
        ));
    }
    let mut by_owner: BTreeMap<&str, usize> = BTreeMap::new();
    for pod in store.pods.values() {
        if let Some(o) = &pod.owner {
            *by_owner.entry(o.key.as_str()).or_insert(0) += 1;
        }
    }
    let mut counts: BTreeMap<&str, crate::cluster::state::OwnerCounts> = BTreeMap::new();
    for pod in store.pods.values() {
        if let Some(o) = &pod.owner
            && pod.is_active()
        {
            let c = counts.entry(o.key.as_str()).or_default();
            c.active += 1;
            c.ready += i32::from(pod.is_ready());
        }
    }
    let kept: BTreeMap<&str, crate::cluster::state::OwnerCounts> = store
        .owner_counts
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    if counts != kept {
        return fail(format!(
            "per-owner pod counts {kept:?} differ from the pods {counts:?}"
        ));
    }
    for (owner, ids) in &store.pods_by_owner {
        if by_owner.get(owner.as_str()).copied().unwrap_or(0) != ids.len() {
            return fail(format!(
                "owner index of {owner} lists {} pods, the store has {:?}",
                ids.len(),
                by_owner.get(owner.as_str())
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::events::ApiWrite;
    use crate::cluster::spec::{ClusterSpec, ControlPlaneSpec, NodeSpec};
    use crate::engine::SimDuration;
    use std::sync::Arc;

    fn state_with_node() -> ClusterState {
        let spec = ClusterSpec {
            name: "t".into(),
            seed: 1,
            duration: SimDuration::from_secs(1),
            sample_every: SimDuration::from_secs(1),
            control_plane: ControlPlaneSpec::default(),
            node_pools: vec![],
            nodes: vec![],
            deployments: vec![],
            replica_sets: vec![],
            behaviors: Default::default(),
            timeline: vec![],
            expectations: vec![],
            ignored_fields: vec![],
            priority_classes: vec![],
            scheduler: crate::cluster::spec::SchedulerConfigSpec::default(),
            pod_disruption_budgets: vec![],
            jobs: vec![],
            argo: Default::default(),
            trace: None,
            autoscaling: Default::default(),
            stateful: Default::default(),
            services: vec![],
            traffic: vec![],
            destination_rules: vec![],
        };
        let mut state = ClusterState::new(Arc::new(spec));
        let node = NodeSpec {
            name: "n".into(),
            labels: Default::default(),
            taints: vec![],
            allocatable: Resources {
                cpu_milli: 1000,
                memory_bytes: 1 << 30,
                pods: 10,
            },
            unschedulable: false,
            pool: None,
            price_per_hour: 0.0,
        };
        let mut out = Vec::new();
        state.apply(
            ApiWrite::CreateNode(Box::new(node)),
            SimTime::ZERO,
            &mut || "x".into(),
            &mut out,
        );
        state
    }

    #[test]
    fn a_consistent_state_passes() {
        assert_eq!(check(&state_with_node(), SimTime::ZERO), Ok(()));
    }

    #[test]
    fn an_over_committed_node_is_caught() {
        let mut s = state_with_node();
        if let Some(n) = s.store.nodes.get_mut("n") {
            n.requested.cpu_milli = 1500;
        }
        let v = check(&s, SimTime(7)).expect_err("over-commit must be caught");
        assert!(
            v.message.contains("node n is over its allocatable"),
            "{}",
            v.message
        );
        assert_eq!(v.at, SimTime(7));
    }

    #[test]
    fn a_wrong_aggregate_and_lost_pods_are_caught() {
        let mut s = state_with_node();
        if let Some(n) = s.store.nodes.get_mut("n") {
            n.requested.cpu_milli = 10;
        }
        assert!(
            check(&s, SimTime::ZERO)
                .expect_err("aggregate")
                .message
                .contains("aggregate")
        );
        let mut s = state_with_node();
        s.recorder.counters.pods_created = 3;
        assert!(
            check(&s, SimTime::ZERO)
                .expect_err("conservation")
                .message
                .contains("not conserved")
        );
    }
}
