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
///   per-owner active / ready counts equal a recount;
/// - requests are conserved ([`check_requests`]).
pub fn check(state: &ClusterState, now: SimTime) -> Result<(), Violation> {
    let fail = |message: String| Err(Violation { at: now, message });
    check_requests(state, now)?;
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
    check_evictions(state).map_err(|message| Violation { at: now, message })?;
    Ok(())
}

/// No voluntary eviction violates a PodDisruptionBudget: every eviction the Eviction API allowed
/// is recorded, and for each one of a pod that had not finished, at most one PDB selected the
/// pod, and its budget still held after the eviction: the healthy pods left (`currentHealthy`,
/// less the pod if it was Ready) are at least `desiredHealthy`, and a Ready pod went only with
/// `disruptionsAllowed > 0` (`pkg/registry/core/pod/storage/eviction.go`).
pub fn check_evictions(state: &ClusterState) -> Result<(), String> {
    let rec = &state.recorder;
    if rec.counters.evictions != rec.evictions.len() as u64 {
        return Err(format!(
            "{} evictions counted but {} recorded: an eviction bypassed the Eviction API's record",
            rec.counters.evictions,
            rec.evictions.len()
        ));
    }
    for e in &rec.evictions {
        if e.pod_terminal {
            continue;
        }
        if e.pdbs > 1 {
            return Err(format!(
                "pod {} was evicted at {} although {} PodDisruptionBudgets select it",
                e.pod, e.at, e.pdbs
            ));
        }
        let Some((name, st)) = &e.budget else {
            continue;
        };
        let left = st.current_healthy - i32::from(e.pod_ready);
        if left < st.desired_healthy || (e.pod_ready && st.disruptions_allowed <= 0) {
            return Err(format!(
                "eviction of pod {} at {} violated PodDisruptionBudget {name}: {} healthy, {} desired, {} disruptions allowed, pod Ready: {}",
                e.pod,
                e.at,
                st.current_healthy,
                st.desired_healthy,
                st.disruptions_allowed,
                e.pod_ready
            ));
        }
    }
    Ok(())
}

/// Requests are conserved, for every traffic source and every request-graph call edge:
/// requests in = succeeded + failed + cancelled + in flight (DESIGN §7: "requests in = out +
/// in flight"; `cancelled` are graph calls abandoned by their caller).
pub fn check_requests(state: &ClusterState, now: SimTime) -> Result<(), Violation> {
    let t = &state.recorder.traffic;
    for (kind, st) in t
        .sources
        .iter()
        .map(|s| ("traffic source", s))
        .chain(t.edges.iter().map(|s| ("call edge", s)))
    {
        if st.requests != st.accounted() {
            return Err(Violation {
                at: now,
                message: format!(
                    "requests not conserved for {kind} {}: {} in != {} succeeded + {} failed + \
                     {} cancelled + {} in flight",
                    st.name,
                    st.requests,
                    st.succeeded,
                    st.failed_total(),
                    st.cancelled,
                    st.in_flight
                ),
            });
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
            request_graphs: Default::default(),
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
    fn an_eviction_through_a_spent_budget_is_caught() {
        use crate::cluster::disruption::{EvictionRecord, PdbStatus};
        let mut s = state_with_node();
        let status = |healthy, desired| PdbStatus {
            expected_pods: 3,
            current_healthy: healthy,
            desired_healthy: desired,
            disruptions_allowed: (healthy - desired).max(0),
        };
        let record = |ready, terminal, pdbs, healthy, desired| EvictionRecord {
            at: SimTime(5),
            pod: "default/p".into(),
            pod_ready: ready,
            pod_terminal: terminal,
            pdbs,
            budget: Some(("pdb".into(), status(healthy, desired))),
        };
        // (record, holds): a Ready pod needs a disruption to spare; a pod not Ready needs the
        // budget met; a finished pod may always go; two PDBs never.
        let table = [
            (record(true, false, 1, 3, 2), true),
            (record(true, false, 1, 2, 2), false),
            (record(false, false, 1, 2, 2), true),
            (record(false, false, 1, 1, 2), false),
            (record(true, true, 1, 0, 2), true),
            (record(true, false, 2, 3, 1), false),
        ];
        for (r, holds) in table {
            s.recorder.evictions = vec![r.clone()];
            s.recorder.counters.evictions = 1;
            let got = check(&s, SimTime(9));
            assert_eq!(got.is_ok(), holds, "{r:?}: {got:?}");
        }
        s.recorder.counters.evictions = 2;
        let v = check(&s, SimTime(9)).expect_err("a counted eviction without a record");
        assert!(v.message.contains("bypassed"), "{}", v.message);
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

    #[test]
    fn lost_requests_are_caught() {
        use crate::cluster::traffic::stats::TrafficStats;
        let mut s = state_with_node();
        s.recorder.traffic.sources.push(TrafficStats {
            name: "users".into(),
            requests: 10,
            succeeded: 6,
            failed: [1, 0, 0, 0, 0, 0],
            in_flight: 3,
            ..TrafficStats::default()
        });
        s.recorder.traffic.edges.push(TrafficStats {
            name: "a->b".into(),
            requests: 5,
            succeeded: 3,
            cancelled: 2,
            ..TrafficStats::default()
        });
        assert!(check(&s, SimTime::ZERO).is_ok());
        s.recorder.traffic.edges[0].cancelled = 1;
        let v = check(&s, SimTime(3)).expect_err("lost call");
        assert_eq!(
            v.message,
            "requests not conserved for call edge a->b: 5 in != 3 succeeded + 0 failed + 1 \
             cancelled + 0 in flight"
        );
        s.recorder.traffic.edges[0].cancelled = 2;
        s.recorder.traffic.sources[0].in_flight = 2;
        assert!(check(&s, SimTime(3)).is_err());
    }
}
