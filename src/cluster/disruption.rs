//! PodDisruptionBudget arithmetic, as upstream's disruption controller
//! (`pkg/controller/disruption/disruption.go`: `getExpectedPodCount`, `countHealthyPods`,
//! `updatePdbStatus`) and the Eviction API's check (`pkg/registry/core/pod/storage/eviction.go`).
//!
//! The pure part ([`desired_healthy`], [`disruptions_allowed`], [`eviction_verdict`]) is
//! separated from reading the store ([`pdb_status`]).

use std::collections::BTreeMap;

use crate::cluster::objects::Pod;
use crate::cluster::spec::{DisruptionBudget, IntOrPercent, PodDisruptionBudgetSpec};
use crate::cluster::state::Store;

/// `intstr.GetScaledValueFromIntOrPercent(v, total, roundUp)`: an int as is, a percent of
/// `total` rounded up or down.
pub fn scaled(v: IntOrPercent, total: i32, round_up: bool) -> i32 {
    match v {
        IntOrPercent::Int(n) => n,
        IntOrPercent::Percent(p) => {
            let num = i64::from(p) * i64::from(total);
            let q = if round_up {
                (num + 99).div_euclid(100)
            } else {
                num.div_euclid(100)
            };
            q as i32
        }
    }
}

/// Upstream `getExpectedPodCount`'s `desiredHealthy`: `minAvailable` (percent of `expected`
/// rounded up), or `expected - maxUnavailable` (percent rounded up), never below 0.
pub fn desired_healthy(budget: DisruptionBudget, expected: i32) -> i32 {
    match budget {
        DisruptionBudget::MinAvailable(v) => scaled(v, expected, true),
        DisruptionBudget::MaxUnavailable(v) => (expected - scaled(v, expected, true)).max(0),
    }
}

/// Upstream `updatePdbStatus`: `currentHealthy - desiredHealthy`, 0 when negative or when no
/// pod is expected.
pub fn disruptions_allowed(current_healthy: i32, desired_healthy: i32, expected: i32) -> i32 {
    if expected <= 0 {
        return 0;
    }
    (current_healthy - desired_healthy).max(0)
}

/// A PDB's status as the disruption controller would write it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PdbStatus {
    /// `status.expectedPods`.
    pub expected_pods: i32,
    /// `status.currentHealthy`: matching pods that are Ready and not being deleted.
    pub current_healthy: i32,
    /// `status.desiredHealthy`.
    pub desired_healthy: i32,
    /// `status.disruptionsAllowed`.
    pub disruptions_allowed: i32,
}

/// True if the PDB selects `pod` (same namespace, selector matches).
pub fn selects(pdb: &PodDisruptionBudgetSpec, pod: &Pod) -> bool {
    pod.namespace == pdb.namespace && pdb.selector.matches(&pod.labels)
}

/// The status of `pdb` from the store. The expected count is the number of matching pods for
/// an integer `minAvailable`, else the summed `spec.replicas` of the pods' controllers (the
/// Deployment owning a ReplicaSet, or the ReplicaSet), as upstream's `getExpectedScale`.
pub fn pdb_status(pdb: &PodDisruptionBudgetSpec, store: &Store) -> PdbStatus {
    let pods: Vec<&Pod> = store.pods.values().filter(|p| selects(pdb, p)).collect();
    let current_healthy = pods
        .iter()
        .filter(|p| p.is_ready() && p.deletion_timestamp.is_none())
        .count() as i32;
    let expected = match pdb.budget {
        DisruptionBudget::MinAvailable(IntOrPercent::Int(_)) => pods.len() as i32,
        _ => {
            let mut scales: BTreeMap<String, i32> = BTreeMap::new();
            for p in &pods {
                let Some(o) = &p.owner else { continue };
                let Some(rs) = store.replica_sets.get(&o.key) else {
                    continue;
                };
                match rs
                    .owner
                    .as_ref()
                    .and_then(|d| store.deployments.get(&d.key))
                {
                    Some(d) => scales.insert(d.key(), d.replicas),
                    None => scales.insert(rs.key(), rs.replicas),
                };
            }
            scales.values().sum()
        }
    };
    let desired = desired_healthy(pdb.budget, expected);
    PdbStatus {
        expected_pods: expected,
        current_healthy,
        desired_healthy: desired,
        disruptions_allowed: disruptions_allowed(current_healthy, desired, expected),
    }
}

/// What the Eviction API answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvictionVerdict {
    /// The pod may be deleted.
    Allowed,
    /// 429: "Cannot evict pod as it would violate the pod's disruption budget."
    Blocked,
}

/// The Eviction API's decision for one pod under one PDB's status: a terminal pod may always
/// go; a pod that is not Ready may go while the budget is met (`currentHealthy >=
/// desiredHealthy`, upstream's default `unhealthyPodEvictionPolicy: IfHealthyBudget`); a Ready
/// pod needs `disruptionsAllowed > 0`.
pub fn eviction_verdict(
    pod_terminal: bool,
    pod_ready: bool,
    status: &PdbStatus,
) -> EvictionVerdict {
    if pod_terminal {
        return EvictionVerdict::Allowed;
    }
    if !pod_ready {
        return if status.current_healthy >= status.desired_healthy {
            EvictionVerdict::Allowed
        } else {
            EvictionVerdict::Blocked
        };
    }
    if status.disruptions_allowed > 0 {
        EvictionVerdict::Allowed
    } else {
        EvictionVerdict::Blocked
    }
}

/// One eviction the Eviction API allowed, with the PodDisruptionBudget status it was decided
/// on, kept for `--check` ([`crate::cluster::invariants`]: no voluntary eviction violates a
/// PDB).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvictionRecord {
    /// When the eviction was allowed.
    pub at: crate::engine::SimTime,
    /// The evicted pod, `namespace/name`.
    pub pod: String,
    /// The pod was Ready (counted in `currentHealthy`) when evicted.
    pub pod_ready: bool,
    /// The pod had finished (Succeeded or Failed): always evictable.
    pub pod_terminal: bool,
    /// How many PDBs selected the pod (upstream refuses more than one).
    pub pdbs: usize,
    /// The one selecting PDB's name and status just before the eviction, if any.
    pub budget: Option<(String, PdbStatus)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use IntOrPercent::{Int, Percent};

    #[test]
    fn scaled_table() {
        // (value, total, round_up, expected)
        let cases = [
            (Int(3), 10, true, 3),
            (Percent(25), 10, true, 3),
            (Percent(25), 10, false, 2),
            (Percent(50), 3, true, 2),
            (Percent(50), 3, false, 1),
            (Percent(100), 7, true, 7),
            (Percent(0), 7, true, 0),
            (Percent(10), 0, true, 0),
        ];
        for (v, total, up, want) in cases {
            assert_eq!(scaled(v, total, up), want, "{v:?} of {total} up={up}");
        }
    }

    #[test]
    fn desired_healthy_table() {
        use DisruptionBudget::{MaxUnavailable, MinAvailable};
        // (budget, expected, desired)
        let cases = [
            (MinAvailable(Int(2)), 3, 2),
            (MinAvailable(Int(5)), 3, 5),
            (MinAvailable(Percent(50)), 3, 2),
            (MinAvailable(Percent(100)), 4, 4),
            (MaxUnavailable(Int(1)), 3, 2),
            (MaxUnavailable(Int(5)), 3, 0),
            (MaxUnavailable(Percent(25)), 10, 7),
            (MaxUnavailable(Percent(0)), 4, 4),
        ];
        for (b, e, want) in cases {
            assert_eq!(desired_healthy(b, e), want, "{b:?} expected {e}");
        }
    }

    #[test]
    fn disruptions_allowed_table() {
        // (healthy, desired, expected, allowed)
        let cases = [
            (3, 2, 3, 1),
            (2, 2, 3, 0),
            (1, 2, 3, 0),
            (5, 0, 5, 5),
            (0, 0, 0, 0),
            (2, 0, 0, 0),
        ];
        for (h, d, e, want) in cases {
            assert_eq!(disruptions_allowed(h, d, e), want, "{h} {d} {e}");
        }
    }

    #[test]
    fn eviction_verdict_table() {
        let st = |healthy, desired| PdbStatus {
            expected_pods: 3,
            current_healthy: healthy,
            desired_healthy: desired,
            disruptions_allowed: disruptions_allowed(healthy, desired, 3),
        };
        use EvictionVerdict::{Allowed, Blocked};
        // (terminal, ready, healthy, desired, verdict)
        let cases = [
            (false, true, 3, 2, Allowed),
            (false, true, 2, 2, Blocked),
            (false, true, 1, 2, Blocked),
            (false, false, 2, 2, Allowed),
            (false, false, 1, 2, Blocked),
            (true, false, 0, 2, Allowed),
            (true, true, 2, 2, Allowed),
        ];
        for (terminal, ready, h, d, want) in cases {
            assert_eq!(
                eviction_verdict(terminal, ready, &st(h, d)),
                want,
                "terminal={terminal} ready={ready} healthy={h} desired={d}"
            );
        }
    }
}
