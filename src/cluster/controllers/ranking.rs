//! Which pods a ReplicaSet deletes first when it scales down: upstream's `ActivePodsWithRanks`
//! ordering (`pkg/controller/controller_utils.go`, `Less`), with `LogarithmicScaleDown` (on by
//! default since v1.22). Pods that sort first are deleted first.

use std::cmp::Ordering;

use crate::cluster::objects::{Pod, PodPhase};
use crate::engine::SimTime;

/// Ordinal of a phase for ordering: Pending < Unknown < Running (upstream `podPhaseToOrdinal`).
fn phase_ordinal(p: PodPhase) -> u8 {
    match p {
        PodPhase::Pending => 0,
        PodPhase::Unknown => 1,
        PodPhase::Running => 2,
        PodPhase::Succeeded | PodPhase::Failed => 3,
    }
}

/// Upstream `logarithmicRankDiff`: compares `floor(log2(age in ns))` of two timestamps, so pods
/// of similar age (same power-of-two bucket) count as equally old.
pub fn logarithmic_rank_diff(t1: SimTime, t2: SimTime, now: SimTime) -> i64 {
    let rank = |t: SimTime| -> i64 {
        let d = now.saturating_since(t).as_nanos();
        if d > 0 {
            63 - i64::from(d.leading_zeros())
        } else {
            -1
        }
    };
    rank(t1) - rank(t2)
}

/// A pod and its rank: the number of active pods of the same controller on its node.
#[derive(Clone, Copy, Debug)]
pub struct Ranked<'a> {
    /// The pod.
    pub pod: &'a Pod,
    /// Related pods on the same node (higher = doubled up = deleted sooner).
    pub rank: usize,
}

/// Upstream `ActivePodsWithRanks.Less` as an [`Ordering`] (`Less` = delete `a` before `b`).
pub fn compare(a: &Ranked<'_>, b: &Ranked<'_>, now: SimTime) -> Ordering {
    let (pa, pb) = (a.pod, b.pod);
    // 1. Unassigned < assigned.
    if pa.node != pb.node && (pa.node.is_none() || pb.node.is_none()) {
        return if pa.node.is_none() {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    // 2. Pending < Unknown < Running.
    let (oa, ob) = (phase_ordinal(pa.phase), phase_ordinal(pb.phase));
    if oa != ob {
        return oa.cmp(&ob);
    }
    // 3. Not ready < ready.
    if pa.is_ready() != pb.is_ready() {
        return if pa.is_ready() {
            Ordering::Greater
        } else {
            Ordering::Less
        };
    }
    // 4. pod-deletion-cost: kubesim pods carry none (all 0).
    // 5. Doubled up (higher rank) < not.
    if a.rank != b.rank {
        return b.rank.cmp(&a.rank);
    }
    // 6. Ready for less time < more time, in logarithmic buckets; same bucket -> UID order,
    //    where kubesim's UID stand-in is the pod name (random suffix).
    if let (Some(ra), Some(rb)) = (pa.ready_since, pb.ready_since)
        && ra != rb
    {
        let diff = logarithmic_rank_diff(ra, rb, now);
        if diff == 0 {
            return pa.name.cmp(&pb.name);
        }
        return if diff < 0 {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    // 7. Higher restart count < lower.
    if pa.restart_count != pb.restart_count {
        return pb.restart_count.cmp(&pa.restart_count);
    }
    // 8. Newer < older, logarithmic buckets again.
    if pa.created_at != pb.created_at {
        let diff = logarithmic_rank_diff(pa.created_at, pb.created_at, now);
        if diff == 0 {
            return pa.name.cmp(&pb.name);
        }
        return if diff < 0 {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    Ordering::Equal
}

/// Sort `ranked` for deletion (first = deleted first) by [`compare`], stably.
///
/// [`compare`] is upstream's `Less`, which is not transitive: steps 6 and 8 break ties inside
/// a logarithmic bucket by UID (here the pod name), and pods with *equal* ready times skip
/// step 6. Pods A and B ready at the same instant, C ready a moment later in the same bucket,
/// can give A < B by creation time, B < C and C < A by name. Go's `sort.Sort` accepts such an
/// order; Rust's `slice::sort_by` may panic on it. This merge sort never panics, and for a
/// consistent order it gives exactly `sort_by`'s result (the one stable order), so runs
/// whose pods order consistently are unchanged.
pub fn sort_for_deletion(ranked: &mut [Ranked<'_>], now: SimTime) {
    let mut buf = ranked.to_vec();
    merge_sort(ranked, &mut buf, now);
}

/// Top-down merge sort of `v` using `buf` (same length) as scratch.
fn merge_sort<'a>(v: &mut [Ranked<'a>], buf: &mut [Ranked<'a>], now: SimTime) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let mid = n / 2;
    {
        let (lo, hi) = v.split_at_mut(mid);
        let (blo, bhi) = buf.split_at_mut(mid);
        merge_sort(lo, blo, now);
        merge_sort(hi, bhi, now);
    }
    buf[..n].copy_from_slice(v);
    let (mut i, mut j) = (0, mid);
    for slot in v.iter_mut() {
        // Take from the right run only when it is strictly first: equal elements keep
        // their left-run (earlier) position, which makes the sort stable.
        let take_right = j < n && (i >= mid || compare(&buf[j], &buf[i], now) == Ordering::Less);
        if take_right {
            *slot = buf[j];
            j += 1;
        } else {
            *slot = buf[i];
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::objects::PodId;
    use crate::cluster::spec::{PodTemplateSpec, Resources};
    use crate::engine::SimDuration;
    use std::sync::Arc;

    fn pod(
        name: &str,
        node: Option<&str>,
        phase: PodPhase,
        ready_s: Option<u64>,
        created_s: u64,
    ) -> Pod {
        Pod {
            id: PodId(0),
            name: name.into(),
            namespace: "default".into(),
            labels: Default::default(),
            owner: None,
            workload: "w".into(),
            template: Arc::new(PodTemplateSpec {
                labels: Default::default(),
                containers: vec![],
                init_containers: vec![],
                node_selector: Default::default(),
                node_name: None,
                tolerations: vec![],
                priority: 0,
                termination_grace_period: SimDuration::from_secs(30),
                scheduler_name: "default-scheduler".into(),
                ..PodTemplateSpec::default()
            }),
            requests: Resources::default(),
            non_zero_requests: Resources::default(),
            node: node.map(String::from),
            phase,
            created_at: SimTime(created_s * 1_000_000_000),
            scheduled_at: None,
            started_at: None,
            ready_since: ready_s.map(|s| SimTime(s * 1_000_000_000)),
            deletion_timestamp: None,
            restart_count: 0,
            run_for: None,
        }
    }

    #[test]
    fn deletion_order_table() {
        let now = SimTime(10_000 * 1_000_000_000);
        // (a, rank a, b, rank b, expected ordering of a vs b)
        let cases = [
            (
                pod("a", None, PodPhase::Pending, None, 1),
                0,
                pod("b", Some("n"), PodPhase::Pending, None, 1),
                0,
                Ordering::Less,
            ),
            (
                pod("a", Some("n"), PodPhase::Running, None, 1),
                0,
                pod("b", Some("n"), PodPhase::Pending, None, 1),
                0,
                Ordering::Greater,
            ),
            (
                pod("a", Some("n"), PodPhase::Running, Some(5), 1),
                0,
                pod("b", Some("n"), PodPhase::Running, None, 1),
                0,
                Ordering::Greater,
            ),
            (
                pod("a", Some("n"), PodPhase::Running, Some(5), 1),
                2,
                pod("b", Some("m"), PodPhase::Running, Some(5), 1),
                1,
                Ordering::Less,
            ),
            // ready 9000 s ago vs 10 s ago: the newer-ready one goes first
            (
                pod("a", Some("n"), PodPhase::Running, Some(1000), 1),
                1,
                pod("b", Some("n"), PodPhase::Running, Some(9990), 1),
                1,
                Ordering::Greater,
            ),
            // ready 9990 s vs 9991 s ago fall in the same log2 bucket: name order
            (
                pod("b", Some("n"), PodPhase::Running, Some(9), 1),
                1,
                pod("a", Some("n"), PodPhase::Running, Some(10), 1),
                1,
                Ordering::Greater,
            ),
            // newer created first
            (
                pod("a", Some("n"), PodPhase::Running, None, 9000),
                1,
                pod("b", Some("n"), PodPhase::Running, None, 1),
                1,
                Ordering::Less,
            ),
        ];
        for (i, (a, ra, b, rb, want)) in cases.iter().enumerate() {
            let got = compare(
                &Ranked { pod: a, rank: *ra },
                &Ranked { pod: b, rank: *rb },
                now,
            );
            assert_eq!(got, *want, "case {i}");
        }
    }

    #[test]
    fn sort_for_deletion_survives_an_intransitive_order_and_matches_sort_by_otherwise() {
        let now = SimTime(100_000 * 1_000_000_000);
        // A and B ready at the same instant (step 6 skipped: step 8 says A, created later,
        // goes first); C ready 1 s later, same bucket as both: name order puts B before C and
        // C before A. A cycle: A < B < C < A.
        let a = pod("z-a", Some("n"), PodPhase::Running, Some(50_000), 40_000);
        let b = pod("a-b", Some("n"), PodPhase::Running, Some(50_000), 1);
        let c = pod("m-c", Some("n"), PodPhase::Running, Some(50_001), 30_000);
        let r = |p| Ranked { pod: p, rank: 1 };
        assert_eq!(compare(&r(&a), &r(&b), now), Ordering::Less);
        assert_eq!(compare(&r(&b), &r(&c), now), Ordering::Less);
        assert_eq!(compare(&r(&c), &r(&a), now), Ordering::Less);
        let mut v: Vec<Ranked<'_>> = [&a, &b, &c, &a, &c, &b, &b].iter().map(|p| r(p)).collect();
        sort_for_deletion(&mut v, now);
        assert_eq!(v.len(), 7);

        // A consistent order: same result as the library's stable sort.
        let pods: Vec<Pod> = (0..40u64)
            .map(|i| {
                let phase = if i % 5 == 0 {
                    PodPhase::Pending
                } else {
                    PodPhase::Running
                };
                let node = if i % 7 == 0 { None } else { Some("n") };
                pod(
                    &format!("p{:02}", (i * 17) % 40),
                    node,
                    phase,
                    None,
                    (i * 37) % 11,
                )
            })
            .collect();
        let ranked: Vec<Ranked<'_>> = pods
            .iter()
            .enumerate()
            .map(|(i, p)| Ranked {
                pod: p,
                rank: i % 3,
            })
            .collect();
        let mut want = ranked.clone();
        want.sort_by(|x, y| compare(x, y, now));
        let mut got = ranked;
        sort_for_deletion(&mut got, now);
        let names = |v: &[Ranked<'_>]| v.iter().map(|r| r.pod.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&got), names(&want));
    }

    #[test]
    fn log_rank_buckets() {
        let now = SimTime(1 << 40);
        assert_eq!(
            logarithmic_rank_diff(SimTime((1 << 40) - 8), SimTime((1 << 40) - 9), now),
            0
        );
        assert_eq!(
            logarithmic_rank_diff(SimTime((1 << 40) - 16), SimTime((1 << 40) - 8), now),
            1
        );
        assert_eq!(logarithmic_rank_diff(now, SimTime(0), now), -1 - 40);
    }
}
