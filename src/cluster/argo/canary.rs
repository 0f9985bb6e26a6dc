//! The canary replica arithmetic of Argo Rollouts, as pure functions over ReplicaSet sizes:
//! upstream `utils/replicaset/canary.go` (`DesiredReplicaCountsForCanary`,
//! `CalculateReplicaCountsForCanary`, `GetReplicasForScaleDown`, `extraReplicaAdded`).
//!
//! With weight `w` and `replicas` r, the canary wants `ceil(r * w / 100)` pods and the stable
//! `ceil(r * (100 - w) / 100)` — both rounded up, so that neither is 0 unless w is 0 or 100,
//! which may need one extra pod of surge. With traffic routing the stable keeps all r pods
//! until the update completes (the traffic split is done by the mesh, not by pod counts).

use crate::cluster::controllers::rolling::resolve_fenceposts;
use crate::cluster::spec::IntOrPercent;

/// One ReplicaSet as the arithmetic sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RsCount {
    /// `spec.replicas`.
    pub replicas: i32,
    /// `status.availableReplicas`.
    pub available: i32,
}

/// A canary's replica parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CanaryParams {
    /// `spec.replicas`.
    pub replicas: i32,
    /// Current weight, 0..=100.
    pub weight: i32,
    /// `maxSurge`.
    pub max_surge: IntOrPercent,
    /// `maxUnavailable`.
    pub max_unavailable: IntOrPercent,
    /// `trafficRouting` is set.
    pub traffic_routing: bool,
}

impl CanaryParams {
    /// Resolved maxSurge (rounded up), as upstream `MaxSurge(rollout)`.
    pub fn max_surge(&self) -> i32 {
        resolve_fenceposts(self.max_surge, self.max_unavailable, self.replicas).0
    }

    /// Resolved maxUnavailable (rounded down, at most replicas), as upstream
    /// `MaxUnavailable(rollout)`.
    pub fn max_unavailable(&self) -> i32 {
        if self.replicas == 0 {
            return 0;
        }
        resolve_fenceposts(self.max_surge, self.max_unavailable, self.replicas)
            .1
            .min(self.replicas)
    }
}

fn ceil_pct(r: i32, pct: i32) -> i32 {
    let n = i64::from(r) * i64::from(pct);
    ((n + 99).div_euclid(100)) as i32
}

/// Upstream `DesiredReplicaCountsForCanary`: the end state of the current step, `(new, stable)`.
/// Without a distinct stable ReplicaSet the new one takes everything.
pub fn desired_counts(p: &CanaryParams, stable_exists: bool) -> (i32, i32) {
    let (mut new, mut stable) = (
        ceil_pct(p.replicas, p.weight),
        ceil_pct(p.replicas, 100 - p.weight),
    );
    if !stable_exists {
        new = p.replicas;
        stable = 0;
    }
    if p.traffic_routing {
        stable = p.replicas;
    }
    (new, stable)
}

/// Upstream `GetReplicasForScaleDown`: what a ReplicaSet counts as available when deciding how
/// much may be scaled down.
fn replicas_for_scale_down(rs: Option<RsCount>, ignore_availability: bool) -> i32 {
    match rs {
        None => 0,
        Some(rs) if rs.replicas < rs.available => rs.replicas,
        Some(rs) if ignore_availability => rs.replicas,
        Some(rs) => rs.available,
    }
}

/// Upstream `CalculateReplicaCountsForCanary`: the next `(new, stable)` sizes on the way to
/// [`desired_counts`], scaling up within `replicas + maxSurge` (stable first) and down while
/// at least `replicas - maxUnavailable` stay available (old ReplicaSets, sized
/// `old_replicas` in total, go first). `stable` is `None` when there is no stable ReplicaSet
/// distinct from the new one.
pub fn replica_counts(
    p: &CanaryParams,
    new: Option<RsCount>,
    stable: Option<RsCount>,
    old_replicas: i32,
) -> (i32, i32) {
    let r = p.replicas;
    let mut desired_stable = ceil_pct(r, 100 - p.weight);
    let mut desired_new = ceil_pct(r, p.weight);
    if p.traffic_routing {
        return (desired_new, r);
    }
    let mut new_count = new.map_or(0, |n| n.replicas);
    let mut stable_count = 0;
    match stable {
        Some(s) => stable_count = s.replicas,
        None => {
            desired_new = r;
            desired_stable = 0;
        }
    }
    let mut max_surge = p.max_surge();
    // extraReplicaAdded: both counts were rounded up.
    if (i64::from(r) * i64::from(p.weight)) % 100 != 0 {
        max_surge += 1;
    }
    let max_allowed = r + max_surge;
    let total = old_replicas + new.map_or(0, |n| n.replicas) + stable.map_or(0, |s| s.replicas);
    let mut scale_up = max_allowed - total;
    if let Some(s) = stable
        && s.replicas < desired_stable
        && scale_up > 0
    {
        if s.replicas + scale_up < desired_stable {
            stable_count = s.replicas + scale_up;
            scale_up = 0;
        } else {
            stable_count = desired_stable;
            scale_up -= desired_stable - s.replicas;
        }
    }
    if let Some(n) = new
        && n.replicas < desired_new
        && scale_up > 0
    {
        new_count = if n.replicas + scale_up < desired_new {
            n.replicas + scale_up
        } else {
            desired_new
        };
    }
    if old_replicas > 0 {
        return (new_count, stable_count);
    }
    let min_available = r - p.max_unavailable();
    let increasing = new.is_none_or(|n| desired_new >= n.replicas);
    let to_scale_down =
        replicas_for_scale_down(new, !increasing) + replicas_for_scale_down(stable, increasing);
    if to_scale_down <= min_available {
        return (new_count, stable_count);
    }
    let mut scale_down = to_scale_down - min_available;
    if let Some(n) = new
        && n.replicas > desired_new
    {
        if n.replicas - scale_down < desired_new {
            new_count = desired_new;
            scale_down -= n.replicas - desired_new;
        } else {
            new_count = n.replicas - scale_down;
            scale_down = 0;
        }
    }
    if let Some(s) = stable
        && s.replicas > desired_stable
    {
        stable_count = if s.replicas - scale_down < desired_stable {
            desired_stable
        } else {
            s.replicas - scale_down
        };
    }
    (new_count, stable_count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(replicas: i32, weight: i32, surge: i32, unavailable: i32) -> CanaryParams {
        CanaryParams {
            replicas,
            weight,
            max_surge: IntOrPercent::Int(surge),
            max_unavailable: IntOrPercent::Int(unavailable),
            traffic_routing: false,
        }
    }

    /// The examples of upstream's `CalculateReplicaCountsForCanary` doc comment and
    /// `TestCalculateReplicaCountsForCanary` (`utils/replicaset/canary_test.go`): (replicas,
    /// weight, new replicas/available, stable replicas/available, surge, unavailable) ->
    /// (new, stable).
    #[test]
    fn upstream_cases() {
        #[allow(clippy::type_complexity)]
        let cases: &[(i32, i32, (i32, i32), (i32, i32), i32, i32, (i32, i32))] = &[
            (10, 10, (0, 0), (10, 10), 1, 1, (1, 9)),
            (10, 30, (0, 0), (10, 10), 3, 0, (3, 10)),
            (10, 30, (0, 0), (10, 10), 0, 5, (0, 7)),
            (10, 5, (0, 0), (10, 10), 1, 1, (1, 9)),
            (1, 5, (0, 0), (1, 1), 1, 0, (1, 1)),
            (1, 95, (0, 0), (1, 1), 1, 0, (1, 1)),
            // Scale up the stable before the canary.
            (10, 30, (1, 1), (7, 7), 0, 1, (1, 9)),
            // Already at the step's end state.
            (10, 50, (5, 5), (5, 5), 1, 0, (5, 5)),
            // Next step: surge first, then scale the stable down as the canary becomes available.
            (10, 80, (5, 5), (5, 5), 1, 0, (6, 5)),
            (10, 80, (6, 6), (5, 5), 1, 0, (6, 4)),
            // Abort (weight 0): the canary goes down while the stable comes back.
            (10, 0, (5, 5), (5, 5), 2, 0, (5, 7)),
            (10, 0, (5, 5), (7, 7), 2, 0, (2, 10)),
            (10, 0, (2, 2), (10, 10), 2, 0, (0, 10)),
        ];
        for &(r, w, (nr, na), (sr, sa), surge, unav, want) in cases {
            let got = replica_counts(
                &p(r, w, surge, unav),
                Some(RsCount {
                    replicas: nr,
                    available: na,
                }),
                Some(RsCount {
                    replicas: sr,
                    available: sa,
                }),
                0,
            );
            assert_eq!(got, want, "replicas {r} weight {w} new {nr} stable {sr}");
        }
    }

    #[test]
    fn desired_counts_round_both_up() {
        assert_eq!(desired_counts(&p(10, 10, 1, 0), true), (1, 9));
        assert_eq!(desired_counts(&p(5, 10, 1, 0), true), (1, 5));
        assert_eq!(desired_counts(&p(3, 50, 1, 0), true), (2, 2));
        assert_eq!(desired_counts(&p(10, 100, 1, 0), true), (10, 0));
        assert_eq!(desired_counts(&p(10, 30, 1, 0), false), (10, 0));
        let mut tr = p(10, 20, 1, 0);
        tr.traffic_routing = true;
        assert_eq!(desired_counts(&tr, true), (2, 10));
        assert_eq!(replica_counts(&tr, None, None, 0), (2, 10));
    }

    #[test]
    fn old_replica_sets_are_scaled_down_first() {
        // While an older ReplicaSet still has pods, nothing is scaled down here.
        let got = replica_counts(
            &p(10, 50, 2, 2),
            Some(RsCount {
                replicas: 3,
                available: 3,
            }),
            Some(RsCount {
                replicas: 8,
                available: 8,
            }),
            1,
        );
        assert_eq!(got, (3, 8));
    }

    #[test]
    fn never_below_min_available_nor_above_max_surge() {
        // Walk a canary to 100% from every weight; at each step the arithmetic's sizes must
        // respect the bounds when every pod becomes available at once.
        for r in 1..=12 {
            for w in [0, 10, 25, 33, 50, 75, 100] {
                let params = p(r, w, 1, 1);
                let (mut n, mut s) = (0, r);
                for _ in 0..100 {
                    let (nn, ns) = replica_counts(
                        &params,
                        Some(RsCount {
                            replicas: n,
                            available: n,
                        }),
                        Some(RsCount {
                            replicas: s,
                            available: s,
                        }),
                        0,
                    );
                    let extra = i32::from((r * w) % 100 != 0);
                    assert!(nn + ns <= r + 1 + extra, "r {r} w {w}: {nn}+{ns}");
                    assert!(
                        nn.min(n) + ns.min(s) >= (r - 1).min(n + s),
                        "r {r} w {w}: {n},{s} -> {nn},{ns}"
                    );
                    if (nn, ns) == (n, s) {
                        break;
                    }
                    (n, s) = (nn, ns);
                }
                assert_eq!((n, s), desired_counts(&params, true), "r {r} w {w}");
            }
        }
    }
}
