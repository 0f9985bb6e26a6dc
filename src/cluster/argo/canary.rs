//! The canary replica arithmetic of Argo Rollouts, as pure functions over ReplicaSet sizes:
//! upstream `utils/replicaset/canary.go` (argo-rollouts v1.7: `CalculateReplicaCountsForBasicCanary`,
//! `approximateWeightedCanaryStableReplicaCounts`, `adjustReplicaWithinLimits`,
//! `GetReplicasForScaleDown`, `CalculateReplicaCountsForTrafficRoutedCanary`).
//!
//! With weight `w` and `replicas` r, the canary wants the count whose share of r (or of r + 1
//! when surge is allowed) is closest to w, and never 0 for a weight of 1..=99 (upstream
//! `approximateWeightedCanaryStableReplicaCounts`). With traffic routing the canary wants
//! `ceil(r * w / 100)` pods and the stable keeps all r until the update completes (the traffic
//! split is done by the mesh, not by pod counts).

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

/// Upstream `approximateWeightedCanaryStableReplicaCounts`: the `(canary, stable)` counts whose
/// canary share is closest to `weight`, summing to `replicas` or, when surge is allowed,
/// `replicas + 1`; for a weight of 1..=99 with more than one pod neither is 0. A floor and a
/// ceiling equally far from the weight pick the larger canary.
pub fn approximate_counts(replicas: i32, weight: i32, max_surge: i32) -> (i32, i32) {
    if replicas == 0 {
        return (0, 0);
    }
    let n = i64::from(replicas) * i64::from(weight);
    let ceil = ((n + 99).div_euclid(100)) as i32;
    let floor = n.div_euclid(100) as i32;
    let tied = |total: i32| (i64::from(total) * i64::from(weight)).rem_euclid(100) == 50;
    let zero_allowed = weight == 100 || weight == 0 || (replicas == 1 && max_surge == 0);
    let mut options: Vec<(i32, i32)> = Vec::new();
    if ceil < replicas || zero_allowed {
        options.push((ceil, replicas));
    }
    if !tied(replicas) && (floor != 0 || zero_allowed) {
        options.push((floor, replicas));
    }
    if max_surge > 0 {
        options.push((ceil, replicas + 1));
        if !tied(replicas + 1) && (floor != 0 || zero_allowed) {
            options.push((floor, replicas + 1));
        }
    }
    let delta = |(c, t): (i32, i32)| (f64::from(c * 100) / f64::from(t) - f64::from(weight)).abs();
    let Some(&first) = options.first() else {
        return (0, replicas);
    };
    let mut best = first;
    for &o in &options[1..] {
        if delta(o) < delta(best) {
            best = o;
        }
    }
    (best.0, best.1 - best.0)
}

/// The end state of the current step, `(new, stable)`: with traffic routing, `ceil(replicas *
/// weight / 100)` canary pods and a full stable (upstream
/// `CalculateReplicaCountsForTrafficRoutedCanary` without `dynamicStableScale`); otherwise
/// [`approximate_counts`]. Without a distinct stable ReplicaSet the new one takes everything.
pub fn desired_counts(p: &CanaryParams, stable_exists: bool) -> (i32, i32) {
    if p.traffic_routing {
        let canary = if stable_exists {
            ceil_pct(p.replicas, p.weight)
        } else {
            p.replicas
        };
        return (canary, p.replicas);
    }
    if !stable_exists {
        return (p.replicas, 0);
    }
    approximate_counts(p.replicas, p.weight, p.max_surge())
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

/// Upstream `calculateScaleDownReplicaCount`.
fn scale_down_count(rs: Option<RsCount>, desired: i32, scale_down: i32, current: i32) -> i32 {
    match rs {
        Some(rs) if rs.replicas > desired => desired.max(rs.replicas - scale_down),
        _ => current,
    }
}

/// Upstream `adjustReplicaWithinLimits`: keep the pair within `max_allowed` pods (taken from the
/// ReplicaSet being drained) and at least `min_available` available (given back to the other).
/// Returns `(drain_count, adjust_count)`.
fn adjust_within_limits(
    drain: Option<RsCount>,
    adjust: Option<RsCount>,
    mut drain_count: i32,
    mut adjust_count: i32,
    max_allowed: i32,
    min_available: i32,
) -> (i32, i32) {
    let mut over = (adjust_count + drain_count - max_allowed).max(0);
    let mut available = drain.map_or(0, |d| d.available.min(drain_count));
    if let Some(a) = adjust {
        adjust_count -= over;
        available += a.available.min(adjust_count);
        let extra = (a.available - adjust_count).max(0);
        let needed = (min_available - available).max(0);
        adjust_count += extra.min(needed);
        over = (adjust_count + drain_count - max_allowed).max(0);
        drain_count -= over;
    }
    (drain_count, adjust_count)
}

/// Upstream `CalculateReplicaCountsForBasicCanary` (and, with traffic routing,
/// `CalculateReplicaCountsForTrafficRoutedCanary`): the next `(new, stable)` sizes on the way to
/// [`desired_counts`], scaling up within `replicas + maxSurge` (stable first) and down while
/// at least `replicas - maxUnavailable` stay available (old ReplicaSets, sized `old_replicas`
/// in total, go first). `stable` is `None` when there is no stable ReplicaSet distinct from the
/// new one.
pub fn replica_counts(
    p: &CanaryParams,
    new: Option<RsCount>,
    stable: Option<RsCount>,
    old_replicas: i32,
) -> (i32, i32) {
    let r = p.replicas;
    if p.traffic_routing {
        return desired_counts(p, stable.is_some());
    }
    let max_surge = p.max_surge();
    let (mut desired_new, mut desired_stable) = approximate_counts(r, p.weight, max_surge);
    let mut new_count = new.map_or(0, |n| n.replicas);
    let mut stable_count = 0;
    match stable {
        Some(s) => stable_count = s.replicas,
        None => {
            desired_new = r;
            desired_stable = 0;
        }
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
    let scale_down = to_scale_down - min_available;
    if !increasing {
        new_count = scale_down_count(new, desired_new, scale_down, new_count);
        (new_count, stable_count) = adjust_within_limits(
            new,
            stable,
            new_count,
            stable_count,
            max_allowed,
            min_available,
        );
    } else if stable.is_some() {
        stable_count = scale_down_count(stable, desired_stable, scale_down, stable_count);
        (stable_count, new_count) = adjust_within_limits(
            stable,
            new,
            stable_count,
            new_count,
            max_allowed,
            min_available,
        );
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

    /// Every case of upstream's `TestCalculateReplicaCountsForCanary`
    /// (`utils/replicaset/canary_test.go`) without `setCanaryScale`: (replicas, weight,
    /// maxSurge, maxUnavailable, stable spec/available, canary spec/available, older
    /// ReplicaSet replicas) -> (stable, canary).
    #[test]
    fn upstream_cases() {
        #[allow(clippy::type_complexity)]
        let cases: &[(
            i32,
            i32,
            IntOrPercent,
            IntOrPercent,
            (i32, i32),
            (i32, i32),
            i32,
            (i32, i32),
        )] = &[
            (
                10,
                100,
                IntOrPercent::Int(3),
                IntOrPercent::Int(0),
                (7, 8),
                (6, 3),
                0,
                (7, 6),
            ),
            (
                10,
                20,
                IntOrPercent::Int(2),
                IntOrPercent::Int(0),
                (10, 10),
                (0, 0),
                0,
                (10, 2),
            ),
            (
                10,
                20,
                IntOrPercent::Percent(20),
                IntOrPercent::Int(0),
                (10, 10),
                (0, 0),
                0,
                (10, 2),
            ),
            (
                10,
                20,
                IntOrPercent::Percent(20),
                IntOrPercent::Int(0),
                (10, 10),
                (2, 2),
                0,
                (8, 2),
            ),
            (
                10,
                30,
                IntOrPercent::Int(2),
                IntOrPercent::Int(0),
                (10, 10),
                (0, 0),
                0,
                (10, 2),
            ),
            (
                10,
                20,
                IntOrPercent::Int(0),
                IntOrPercent::Int(2),
                (10, 10),
                (0, 0),
                0,
                (8, 0),
            ),
            (
                10,
                20,
                IntOrPercent::Int(0),
                IntOrPercent::Percent(20),
                (10, 10),
                (0, 0),
                0,
                (8, 0),
            ),
            (
                10,
                30,
                IntOrPercent::Int(0),
                IntOrPercent::Int(2),
                (10, 10),
                (0, 0),
                0,
                (8, 0),
            ),
            (
                10,
                50,
                IntOrPercent::Int(2),
                IntOrPercent::Int(1),
                (10, 10),
                (0, 0),
                0,
                (9, 2),
            ),
            (
                10,
                0,
                IntOrPercent::Int(1),
                IntOrPercent::Int(1),
                (10, 10),
                (1, 1),
                0,
                (10, 0),
            ),
            (
                10,
                100,
                IntOrPercent::Int(1),
                IntOrPercent::Int(1),
                (1, 1),
                (10, 10),
                0,
                (0, 10),
            ),
            (
                1,
                20,
                IntOrPercent::Int(1),
                IntOrPercent::Int(0),
                (1, 1),
                (0, 0),
                0,
                (1, 1),
            ),
            (
                1,
                90,
                IntOrPercent::Int(1),
                IntOrPercent::Int(0),
                (1, 1),
                (0, 0),
                0,
                (1, 1),
            ),
            (
                1,
                49,
                IntOrPercent::Int(0),
                IntOrPercent::Int(1),
                (1, 1),
                (0, 0),
                0,
                (1, 0),
            ),
            (
                1,
                51,
                IntOrPercent::Int(0),
                IntOrPercent::Int(1),
                (1, 1),
                (0, 0),
                0,
                (0, 0),
            ),
            (
                1,
                51,
                IntOrPercent::Int(0),
                IntOrPercent::Int(1),
                (0, 0),
                (0, 0),
                0,
                (0, 1),
            ),
            (
                10,
                30,
                IntOrPercent::Int(1),
                IntOrPercent::Int(0),
                (1, 1),
                (0, 0),
                3,
                (7, 1),
            ),
            (
                10,
                30,
                IntOrPercent::Int(0),
                IntOrPercent::Int(3),
                (8, 5),
                (4, 4),
                0,
                (7, 3),
            ),
            (
                10,
                100,
                IntOrPercent::Int(1),
                IntOrPercent::Int(0),
                (10, 2),
                (10, 8),
                0,
                (2, 9),
            ),
            (
                10,
                30,
                IntOrPercent::Int(0),
                IntOrPercent::Int(1),
                (8, 6),
                (4, 2),
                3,
                (8, 4),
            ),
            (
                10,
                5,
                IntOrPercent::Int(0),
                IntOrPercent::Int(1),
                (10, 10),
                (0, 0),
                0,
                (9, 0),
            ),
            (
                10,
                5,
                IntOrPercent::Int(0),
                IntOrPercent::Int(1),
                (9, 9),
                (0, 0),
                0,
                (9, 1),
            ),
            (
                10,
                10,
                IntOrPercent::Percent(0),
                IntOrPercent::Percent(0),
                (10, 10),
                (0, 0),
                0,
                (9, 0),
            ),
            (
                4,
                100,
                IntOrPercent::Int(1),
                IntOrPercent::Int(0),
                (4, 1),
                (0, 0),
                0,
                (4, 1),
            ),
            (
                3,
                99,
                IntOrPercent::Int(0),
                IntOrPercent::Int(2),
                (3, 3),
                (0, 0),
                0,
                (1, 0),
            ),
            (
                3,
                99,
                IntOrPercent::Int(0),
                IntOrPercent::Int(2),
                (1, 1),
                (0, 0),
                0,
                (1, 2),
            ),
            (
                4,
                100,
                IntOrPercent::Int(1),
                IntOrPercent::Int(0),
                (4, 1),
                (1, 1),
                0,
                (3, 1),
            ),
            (
                4,
                0,
                IntOrPercent::Int(1),
                IntOrPercent::Int(0),
                (0, 0),
                (4, 4),
                0,
                (1, 4),
            ),
            (
                4,
                0,
                IntOrPercent::Int(1),
                IntOrPercent::Int(0),
                (1, 0),
                (4, 4),
                0,
                (1, 4),
            ),
            (
                4,
                0,
                IntOrPercent::Int(1),
                IntOrPercent::Int(0),
                (1, 1),
                (4, 4),
                0,
                (1, 3),
            ),
        ];
        for &(r, w, surge, unav, (ss, sa), (cs, ca), old, want) in cases {
            let params = CanaryParams {
                replicas: r,
                weight: w,
                max_surge: surge,
                max_unavailable: unav,
                traffic_routing: false,
            };
            let (new, stable) = replica_counts(
                &params,
                Some(RsCount {
                    replicas: cs,
                    available: ca,
                }),
                Some(RsCount {
                    replicas: ss,
                    available: sa,
                }),
                old,
            );
            assert_eq!(
                (stable, new),
                want,
                "replicas {r} weight {w} stable {ss}/{sa} canary {cs}/{ca}"
            );
        }
    }

    #[test]
    fn desired_counts_approximate_the_weight() {
        assert_eq!(desired_counts(&p(10, 10, 1, 0), true), (1, 9));
        assert_eq!(desired_counts(&p(5, 10, 1, 0), true), (1, 5));
        assert_eq!(desired_counts(&p(3, 50, 1, 0), true), (2, 2));
        assert_eq!(desired_counts(&p(10, 100, 1, 0), true), (10, 0));
        assert_eq!(desired_counts(&p(10, 30, 1, 0), false), (10, 0));
        let mut tr = p(10, 20, 1, 0);
        tr.traffic_routing = true;
        assert_eq!(desired_counts(&tr, true), (2, 10));
        assert_eq!(replica_counts(&tr, None, None, 0), (10, 10));
    }

    #[test]
    fn old_replica_sets_are_scaled_down_first() {
        // While an older ReplicaSet still has replicas, nothing is scaled down here.
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
