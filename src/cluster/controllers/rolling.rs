//! The Deployment controller's replica arithmetic, as pure functions over ReplicaSet sizes:
//! upstream `pkg/controller/deployment/rolling.go` (reconcileNewReplicaSet,
//! reconcileOldReplicaSets, cleanupUnhealthyReplicas, scaleDownOldReplicaSetsForRollingUpdate),
//! `sync.go` (scale: proportional scaling) and `util/deployment_util.go` (ResolveFenceposts,
//! NewRSNewReplicas, GetProportion). Each function returns the new `spec.replicas` it wants;
//! the controller writes them through the API server.

use crate::cluster::spec::IntOrPercent;

/// One ReplicaSet as the arithmetic sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsSize {
    /// Identifies the ReplicaSet to the caller (its key).
    pub key: String,
    /// `spec.replicas`.
    pub replicas: i32,
    /// `status.availableReplicas`.
    pub available: i32,
    /// Creation order (smaller = older); ties by key.
    pub created: u64,
    /// `deployment.kubernetes.io/max-replicas` annotation, if set.
    pub max_replicas_annotation: Option<i32>,
}

/// Upstream `intstr.GetScaledValueFromIntOrPercent`: a percentage of `total`, rounded up or
/// down. Example: 25% of 10 = 2.5 -> 3 rounded up (maxSurge), 2 rounded down (maxUnavailable).
pub fn scaled_value(v: IntOrPercent, total: i32, round_up: bool) -> i32 {
    match v {
        IntOrPercent::Int(i) => i,
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

/// Upstream `ResolveFenceposts`: (maxSurge rounded up, maxUnavailable rounded down); both zero
/// becomes maxUnavailable 1 so a rollout can always progress.
pub fn resolve_fenceposts(
    max_surge: IntOrPercent,
    max_unavailable: IntOrPercent,
    desired: i32,
) -> (i32, i32) {
    let surge = scaled_value(max_surge, desired, true);
    let mut unavailable = scaled_value(max_unavailable, desired, false);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable)
}

/// Upstream `MaxUnavailable`: resolved maxUnavailable, capped at replicas; 0 for 0 replicas.
pub fn max_unavailable(replicas: i32, max_surge: IntOrPercent, max_unav: IntOrPercent) -> i32 {
    if replicas == 0 {
        return 0;
    }
    resolve_fenceposts(max_surge, max_unav, replicas)
        .1
        .min(replicas)
}

/// Upstream `MaxSurge`.
pub fn max_surge(replicas: i32, max_surge: IntOrPercent, max_unav: IntOrPercent) -> i32 {
    resolve_fenceposts(max_surge, max_unav, replicas).0
}

/// A Deployment's rolling-update parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rolling {
    /// `spec.replicas`.
    pub replicas: i32,
    /// `maxSurge`.
    pub max_surge: IntOrPercent,
    /// `maxUnavailable`.
    pub max_unavailable: IntOrPercent,
}

/// Upstream `NewRSNewReplicas` (RollingUpdate): the new ReplicaSet grows while the total of all
/// ReplicaSets' `spec.replicas` stays within replicas + maxSurge.
pub fn new_rs_new_replicas(d: Rolling, all_total: i32, new_replicas: i32) -> i32 {
    let surge = max_surge(d.replicas, d.max_surge, d.max_unavailable);
    let max_total = d.replicas + surge;
    if all_total >= max_total {
        return new_replicas;
    }
    let up = (max_total - all_total).min(d.replicas - new_replicas);
    new_replicas + up
}

/// Upstream `reconcileNewReplicaSet`: the new ReplicaSet's size, or `None` if unchanged.
pub fn reconcile_new(d: Rolling, all: &[RsSize], new: &RsSize) -> Option<i32> {
    if new.replicas == d.replicas {
        return None;
    }
    if new.replicas > d.replicas {
        return Some(d.replicas);
    }
    let total: i32 = all.iter().map(|r| r.replicas).sum();
    let n = new_rs_new_replicas(d, total, new.replicas);
    (n != new.replicas).then_some(n)
}

fn oldest_first(old: &mut [RsSize]) {
    old.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.key.cmp(&b.key)));
}

/// Upstream `cleanupUnhealthyReplicas`: scale old ReplicaSets down by their unavailable
/// replicas, oldest first, at most `max_cleanup` in total. Updates `old` in place; returns the
/// number removed.
pub fn cleanup_unhealthy(old: &mut [RsSize], max_cleanup: i32) -> i32 {
    oldest_first(old);
    let mut total = 0;
    for rs in old.iter_mut() {
        if total >= max_cleanup {
            break;
        }
        if rs.replicas == 0 || rs.replicas == rs.available {
            continue;
        }
        let down = (max_cleanup - total).min(rs.replicas - rs.available);
        rs.replicas -= down;
        total += down;
    }
    total
}

/// Upstream `scaleDownOldReplicaSetsForRollingUpdate`: scale old ReplicaSets down, oldest first,
/// by as many as keep at least replicas - maxUnavailable available. `available_all` is the sum
/// of `status.availableReplicas` over all ReplicaSets. Updates `old`; returns the number removed.
pub fn scale_down_old(d: Rolling, old: &mut [RsSize], available_all: i32) -> i32 {
    let min_available = d.replicas - max_unavailable(d.replicas, d.max_surge, d.max_unavailable);
    if available_all <= min_available {
        return 0;
    }
    oldest_first(old);
    let target = available_all - min_available;
    let mut total = 0;
    for rs in old.iter_mut() {
        if total >= target {
            break;
        }
        if rs.replicas == 0 {
            continue;
        }
        let down = rs.replicas.min(target - total);
        rs.replicas -= down;
        total += down;
    }
    total
}

/// Upstream `reconcileOldReplicaSets`: new sizes of the old ReplicaSets (only those that
/// change), given all ReplicaSets (old and new) and the new one.
pub fn reconcile_old(d: Rolling, old: &[RsSize], new: &RsSize) -> Vec<(String, i32)> {
    let old_count: i32 = old.iter().map(|r| r.replicas).sum();
    if old_count == 0 {
        return vec![];
    }
    let all_count = old_count + new.replicas;
    let min_available = d.replicas - max_unavailable(d.replicas, d.max_surge, d.max_unavailable);
    let new_unavailable = new.replicas - new.available;
    let max_scaled_down = all_count - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return vec![];
    }
    let mut work: Vec<RsSize> = old.to_vec();
    cleanup_unhealthy(&mut work, max_scaled_down);
    let available_all: i32 = old.iter().map(|r| r.available).sum::<i32>() + new.available;
    scale_down_old(d, &mut work, available_all);
    changed(old, &work)
}

fn changed(before: &[RsSize], after: &[RsSize]) -> Vec<(String, i32)> {
    let mut out: Vec<(String, i32)> = after
        .iter()
        .filter(|a| {
            before
                .iter()
                .any(|b| b.key == a.key && b.replicas != a.replicas)
        })
        .map(|a| (a.key.clone(), a.replicas))
        .collect();
    out.sort();
    out
}

/// Go's `math.Round` to int32 (half away from zero), as `integer.RoundToInt32`.
fn round_to_i32(x: f64) -> i32 {
    x.round() as i32
}

/// Upstream `getReplicaSetFraction`: how many replicas `rs` gains (or loses) when the
/// Deployment becomes `d` during a rollout, in proportion to its share of the previous size.
fn fraction(rs: &RsSize, d: Rolling, status_replicas: i32) -> i32 {
    if d.replicas == 0 {
        return -rs.replicas;
    }
    let deployment_replicas = d.replicas + max_surge(d.replicas, d.max_surge, d.max_unavailable);
    let annotated = rs.max_replicas_annotation.unwrap_or(status_replicas);
    if annotated == 0 {
        return 0;
    }
    let size = f64::from(rs.replicas) * f64::from(deployment_replicas) / f64::from(annotated);
    round_to_i32(size) - rs.replicas
}

/// Upstream `scale()` for a rolling Deployment scaled in the middle of a rollout
/// (proportional scaling): the new sizes of the active ReplicaSets. `active` are the
/// ReplicaSets with replicas > 0 (new and old); `status_replicas` is the Deployment's
/// `status.replicas`. Returns only the sizes that change.
///
/// Example (upstream docs): 10 replicas, maxSurge 3, mid-rollout at 8 old + 5 new, scaled to
/// 15: allowed 18, 5 to add, 5 * 8/13 -> 3 to old, 2 to new: 11 old + 7 new.
pub fn proportional_scale(
    d: Rolling,
    active: &[RsSize],
    status_replicas: i32,
) -> Vec<(String, i32)> {
    let total: i32 = active.iter().map(|r| r.replicas).sum();
    let allowed = if d.replicas > 0 {
        d.replicas + max_surge(d.replicas, d.max_surge, d.max_unavailable)
    } else {
        0
    };
    let to_add = allowed - total;
    let mut order: Vec<RsSize> = active.to_vec();
    if to_add > 0 {
        // ReplicaSetsBySizeNewer: larger first, then newer first.
        order.sort_by(|a, b| {
            b.replicas
                .cmp(&a.replicas)
                .then(b.created.cmp(&a.created))
                .then(a.key.cmp(&b.key))
        });
    } else if to_add < 0 {
        // ReplicaSetsBySizeOlder: larger first, then older first.
        order.sort_by(|a, b| {
            b.replicas
                .cmp(&a.replicas)
                .then(a.created.cmp(&b.created))
                .then(a.key.cmp(&b.key))
        });
    }
    let mut added = 0;
    let mut sizes: Vec<i32> = Vec::with_capacity(order.len());
    for rs in &order {
        if to_add != 0 && rs.replicas != 0 && to_add != added {
            let f = fraction(rs, d, status_replicas);
            let allowed_left = to_add - added;
            let p = if to_add > 0 {
                f.min(allowed_left)
            } else {
                f.max(allowed_left)
            };
            sizes.push(rs.replicas + p);
            added += p;
        } else {
            sizes.push(rs.replicas);
        }
    }
    if to_add != 0 && !sizes.is_empty() {
        sizes[0] = (sizes[0] + to_add - added).max(0);
    }
    let after: Vec<RsSize> = order
        .iter()
        .zip(sizes)
        .map(|(rs, s)| RsSize {
            replicas: s,
            ..rs.clone()
        })
        .collect();
    changed(active, &after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use IntOrPercent::{Int, Percent};

    fn rs(key: &str, replicas: i32, available: i32, created: u64) -> RsSize {
        RsSize {
            key: key.into(),
            replicas,
            available,
            created,
            max_replicas_annotation: None,
        }
    }

    fn d(replicas: i32, surge: IntOrPercent, unav: IntOrPercent) -> Rolling {
        Rolling {
            replicas,
            max_surge: surge,
            max_unavailable: unav,
        }
    }

    #[test]
    fn fenceposts() {
        // (replicas, surge, unavailable, want surge, want unavailable)
        let cases = [
            (10, Percent(25), Percent(25), 3, 2),
            (4, Percent(25), Percent(25), 1, 1),
            (1, Percent(25), Percent(25), 1, 0),
            (3, Int(1), Int(0), 1, 0),
            (4, Int(0), Int(1), 0, 1),
            (10, Int(0), Int(0), 0, 1),
            // Both zero at 0 replicas: upstream still forces maxUnavailable 1.
            (0, Percent(25), Percent(25), 0, 1),
        ];
        for (n, s, u, ws, wu) in cases {
            assert_eq!(
                resolve_fenceposts(s, u, n),
                (ws, wu),
                "replicas {n} {s:?} {u:?}"
            );
        }
    }

    /// Upstream rolling_test.go TestDeploymentController_reconcileNewReplicaSet (maxUnavailable 0).
    #[test]
    fn reconcile_new_replica_set_upstream_table() {
        // (deployment replicas, maxSurge, old replicas, new replicas, expected new or None)
        let cases = [
            (10, 0, 10, 0, None),
            (10, 2, 10, 0, Some(2)),
            (10, 2, 5, 0, Some(7)),
            (10, 2, 10, 2, None),
            (10, 2, 2, 11, Some(10)),
        ];
        for (i, (n, surge, old, new, want)) in cases.into_iter().enumerate() {
            let newrs = rs("new", new, 0, 2);
            let all = [newrs.clone(), rs("old", old, 0, 1)];
            assert_eq!(
                reconcile_new(d(n, Int(surge), Int(0)), &all, &newrs),
                want,
                "case {i}"
            );
        }
    }

    /// Upstream rolling_test.go TestDeploymentController_reconcileOldReplicaSets (maxSurge 0).
    #[test]
    fn reconcile_old_replica_sets_upstream_table() {
        // (replicas, maxUnavailable, old, new, ready old, ready new, expected old or None)
        let cases = [
            (10, 0, 10, 0, 10, 0, Some(9)),
            (10, 2, 10, 0, 10, 0, Some(8)),
            (10, 2, 10, 0, 8, 0, Some(8)),
            (10, 2, 10, 0, 9, 0, Some(8)),
            (10, 2, 8, 2, 8, 0, None),
        ];
        for (i, (n, unav, old, new, ro, rn, want)) in cases.into_iter().enumerate() {
            let got = reconcile_old(
                d(n, Int(0), Int(unav)),
                &[rs("old", old, ro, 1)],
                &rs("new", new, rn, 2),
            );
            assert_eq!(got.first().map(|x| x.1), want, "case {i}");
        }
    }

    /// Upstream rolling_test.go TestDeploymentController_cleanupUnhealthyReplicas.
    #[test]
    fn cleanup_unhealthy_upstream_table() {
        // (old replicas, ready, max cleanup, expected cleaned)
        for (old, ready, max, want) in [(10, 8, 1, 1), (10, 8, 3, 2), (10, 8, 0, 0), (10, 10, 3, 0)]
        {
            let mut v = [rs("old", old, ready, 1)];
            assert_eq!(cleanup_unhealthy(&mut v, max), want);
        }
    }

    /// Upstream rolling_test.go TestDeploymentController_scaleDownOldReplicaSetsForRollingUpdate.
    #[test]
    fn scale_down_old_upstream_table() {
        // (replicas, maxUnavailable, ready, old, expected old or None)
        let cases = [
            (10, 0, 10, 10, Some(9)),
            (10, 2, 10, 10, Some(8)),
            (10, 2, 8, 10, None),
            (10, 2, 10, 0, None),
            (10, 2, 1, 10, None),
        ];
        for (i, (n, unav, ready, old, want)) in cases.into_iter().enumerate() {
            let mut v = [rs("old", old, ready, 1)];
            let removed = scale_down_old(d(n, Int(0), Int(unav)), &mut v, ready);
            assert_eq!((removed > 0).then_some(v[0].replicas), want, "case {i}");
        }
    }

    #[test]
    fn proportional_scaling_docs_example() {
        // kubernetes.io "Proportional scaling": 10 replicas, maxSurge 3, maxUnavailable 2;
        // mid-rollout 8 old + 5 new; scaled to 15 -> 18 allowed: old 11, new 7.
        let mut old = rs("old", 8, 8, 1);
        old.max_replicas_annotation = Some(13);
        let mut new = rs("new", 5, 0, 2);
        new.max_replicas_annotation = Some(13);
        let got = proportional_scale(d(15, Int(3), Int(2)), &[old, new], 13);
        assert_eq!(got, vec![("new".to_string(), 7), ("old".to_string(), 11)]);
    }
}
