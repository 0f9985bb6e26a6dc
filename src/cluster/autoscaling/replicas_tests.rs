//! Cases from upstream's `pkg/controller/podautoscaler/replica_calculator_test.go`, each named
//! after its Go test. Upstream's pods have two containers each; the per-pod values here are
//! the per-container ones (requests and usage scale alike, so ratios are the same).
//! Times follow upstream's fixtures: "cool" pods started 3 min ago, "hot" ones 1 min ago,
//! with the test calculator's 2 min CPU initialization period and 10 s readiness delay; a
//! not-ready pod's condition changed when it started.

use super::*;

const T: u64 = 3_600;

fn at(s: u64) -> SimTime {
    SimTime(s * 1_000_000_000)
}

fn cfg() -> CalcConfig {
    CalcConfig {
        tolerance: 0.1,
        cpu_initialization_period: SimDuration::from_secs(120),
        initial_readiness_delay: SimDuration::from_secs(10),
        metric_window: SimDuration::from_secs(60),
        now: at(T),
    }
}

#[derive(Clone, Copy)]
enum P {
    /// Running, Ready, started 3 min ago.
    Cool,
    /// Running, Ready, started 1 min ago (inside the CPU initialization period).
    Hot,
    /// Running, not Ready, started 3 min ago.
    NotReady,
    /// Running, not Ready, started 1 min ago (inside the CPU initialization period).
    HotNotReady,
    /// Pending.
    Pending,
    /// Failed.
    Failed,
    /// Running but being deleted.
    Deleted,
}

/// Pods with requests of 1 CPU and the given levels (missing metrics past the end of `levels`).
fn pods(kinds: &[P], levels: &[i64]) -> Vec<PodSample> {
    kinds
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let start = match k {
                P::Hot | P::HotNotReady => at(T - 60),
                _ => at(T - 180),
            };
            let ready = !matches!(k, P::NotReady | P::HotNotReady | P::Pending | P::Failed);
            PodSample {
                deleted_or_failed: matches!(k, P::Failed | P::Deleted),
                pending: matches!(k, P::Pending),
                start_time: Some(start),
                ready: Some((ready, start)),
                request: Some(1000),
                // metrics-server's sample is a little older than now (scrape lag).
                metric: levels.get(i).map(|v| (*v, at(T - 5))),
            }
        })
        .collect()
}

/// A table row: (upstream test, current, pods, levels, target, expected replicas, expected
/// utilization or usage).
type Case<T> = (&'static str, i32, Vec<P>, Vec<i64>, T, i32, T);

fn cool(n: usize) -> Vec<P> {
    vec![P::Cool; n]
}

#[test]
fn resource_utilization_cases() {
    use P::*;
    // (upstream test, current, pods, levels, target %, expected replicas, expected utilization)
    let cases: Vec<Case<i32>> = vec![
        (
            "TestReplicaCalcScaleUp",
            3,
            cool(3),
            vec![300, 500, 700],
            30,
            5,
            50,
        ),
        (
            "TestReplicaCalcScaleUpUnreadyLessScale",
            3,
            vec![NotReady, Cool, Cool],
            vec![300, 500, 700],
            30,
            4,
            60,
        ),
        (
            "TestReplicaCalcScaleUpHotCpuLessScale",
            3,
            vec![Hot, Cool, Cool],
            vec![300, 500, 700],
            30,
            4,
            60,
        ),
        (
            "TestReplicaCalcScaleUpUnreadyNoScale",
            3,
            vec![Cool, NotReady, NotReady],
            vec![400, 500, 700],
            30,
            3,
            40,
        ),
        (
            "TestReplicaCalcScaleDown",
            5,
            cool(5),
            vec![100, 300, 500, 250, 250],
            50,
            3,
            28,
        ),
        (
            "TestReplicaCalcScaleDownIncludeUnreadyPods",
            5,
            vec![Cool, Cool, Cool, NotReady, NotReady],
            vec![100, 300, 500, 250, 250],
            50,
            2,
            30,
        ),
        (
            "TestReplicaCalcScaleDownExcludeUnscheduledPods",
            5,
            vec![Cool, Pending, Pending, Pending, Pending],
            vec![100],
            50,
            1,
            10,
        ),
        (
            "TestReplicaCalcScaleDownIgnoreHotCpuPods",
            5,
            vec![Cool, Cool, Cool, Hot, Hot],
            vec![100, 300, 500, 250, 250],
            50,
            2,
            30,
        ),
        (
            "TestReplicaCalcScaleDownIgnoresFailedPods",
            5,
            vec![Cool, Cool, Cool, Cool, Cool, Failed, Failed],
            vec![100, 300, 500, 250, 250],
            50,
            3,
            28,
        ),
        (
            "TestReplicaCalcScaleDownIgnoresDeletionPods",
            5,
            vec![Cool, Cool, Cool, Cool, Cool, Deleted, Deleted],
            vec![100, 300, 500, 250, 250],
            50,
            3,
            28,
        ),
        (
            "TestReplicaCalcMissingMetrics",
            4,
            cool(4),
            vec![400, 95],
            100,
            3,
            24,
        ),
        (
            "TestReplicaCalcMissingMetricsNoChangeEq",
            2,
            cool(2),
            vec![1000],
            100,
            2,
            100,
        ),
        (
            "TestReplicaCalcMissingMetricsNoChangeGt",
            2,
            cool(2),
            vec![1900],
            100,
            2,
            190,
        ),
        (
            "TestReplicaCalcMissingMetricsNoChangeLt",
            2,
            cool(2),
            vec![600],
            100,
            2,
            60,
        ),
        (
            "TestReplicaCalcMissingMetricsUnreadyChange",
            3,
            vec![NotReady, Cool, Cool],
            vec![100, 450],
            50,
            3,
            45,
        ),
        (
            "TestReplicaCalcMissingMetricsHotCpuNoChange",
            3,
            vec![Hot, Cool, Cool],
            vec![100, 450],
            50,
            3,
            45,
        ),
        (
            "TestReplicaCalcMissingMetricsUnreadyScaleUp",
            3,
            vec![NotReady, Cool, Cool],
            vec![100, 2000],
            50,
            4,
            200,
        ),
        (
            "TestReplicaCalcScaleHotCpuNoScale",
            3,
            vec![Cool, HotNotReady, HotNotReady],
            vec![400, 500, 700],
            30,
            3,
            40,
        ),
        (
            "TestReplicaCalcScaleUpIgnoresFailedPods",
            2,
            vec![Cool, Cool, Failed, Failed],
            vec![500, 700],
            30,
            4,
            60,
        ),
        (
            "TestReplicaCalcScaleUpIgnoresDeletionPods",
            2,
            vec![Cool, Cool, Deleted, Deleted],
            vec![500, 700],
            30,
            4,
            60,
        ),
        (
            "TestReplicaCalcMissingMetricsHotCpuScaleUp",
            3,
            vec![HotNotReady, Cool, Cool],
            vec![100, 2000],
            50,
            4,
            200,
        ),
        (
            // Metrics of pods the selector does not return are not counted.
            "TestReplicaCalcSuperfluousMetrics",
            4,
            cool(4),
            vec![4000, 9500, 3000, 7000, 3200, 2000],
            100,
            24,
            587,
        ),
        (
            // A surge pod without a metric yet: counted at 100 % on the way down, which would
            // turn the scale-down into a scale-up, so no change.
            "TestReplicaCalcDuringRollingUpdateWithMaxSurge",
            2,
            cool(3),
            vec![100, 100],
            50,
            2,
            10,
        ),
        (
            "TestReplicaCalcMissingMetricsUnreadyScaleDown",
            4,
            vec![NotReady, Cool, Cool, Cool],
            vec![100, 100, 100],
            50,
            3,
            10,
        ),
    ];
    for (name, current, kinds, levels, target, want, want_util) in cases {
        let r = resource_replicas(current, target, &pods(&kinds, &levels), true, &cfg())
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(r.replicas, want, "{name}");
        assert_eq!(r.utilization, want_util, "{name}");
    }
}

#[test]
fn resource_tolerance_with_mixed_requests() {
    // TestReplicaCalcTolerance: requests 0.9, 1.0, 1.1; usage 1010, 1030, 1020; target 100 %
    // -> utilization 102 (3060 * 100 / 3000), within tolerance.
    let mut p = pods(&cool(3), &[1010, 1030, 1020]);
    p[0].request = Some(900);
    p[2].request = Some(1100);
    let r = resource_replicas(3, 100, &p, true, &cfg()).unwrap();
    assert_eq!((r.replicas, r.utilization), (3, 102));
}

#[test]
fn resource_errors() {
    // TestReplicaCalcEmptyCPURequest: a pod without a CPU request.
    let mut p = pods(&cool(1), &[200]);
    p[0].request = None;
    let e = resource_replicas(1, 100, &p, true, &cfg()).unwrap_err();
    assert!(e.0.starts_with("missing request for"), "{e:?}");
    // No pods selected.
    assert!(resource_replicas(1, 100, &[], true, &cfg()).is_err());
    // TestReplicaCalcEmptyMetrics: no metrics at all.
    assert!(resource_replicas(4, 100, &pods(&cool(3), &[]), true, &cfg()).is_err());
    // Every pod unready: no metrics for ready pods.
    let p = pods(&[P::NotReady, P::NotReady], &[100, 100]);
    assert!(resource_replicas(2, 50, &p, true, &cfg()).is_err());
}

#[test]
fn plain_metric_cases() {
    use P::*;
    // (upstream test, current, pods, levels, target, expected replicas, expected usage)
    let cases: Vec<Case<i64>> = vec![
        (
            "TestReplicaCalcScaleUpCM",
            3,
            cool(3),
            vec![20000, 10000, 30000],
            15000,
            4,
            20000,
        ),
        (
            "TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale",
            3,
            vec![Cool, Cool, NotReady],
            vec![50000, 10000, 30000],
            15000,
            6,
            30000,
        ),
        (
            // A Pods metric has no CPU readiness rules: the unready hot pods count.
            "TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown",
            3,
            vec![HotNotReady, Cool, HotNotReady],
            vec![50000, 15000, 30000],
            15000,
            7,
            31666,
        ),
        (
            "TestReplicaCalcScaleDownCM",
            5,
            cool(5),
            vec![12000; 5],
            20000,
            3,
            12000,
        ),
        (
            "TestReplicaCalcToleranceCM",
            3,
            cool(3),
            vec![20000, 21000, 21000],
            20000,
            3,
            20666,
        ),
    ];
    for (name, current, kinds, levels, target, want, want_usage) in cases {
        // Pods metrics: no CPU readiness rules.
        let (r, u) = plain_replicas(current, target, &pods(&kinds, &levels), false, &cfg())
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!((r, u), (want, want_usage), "{name}");
    }
}

#[test]
fn external_cases() {
    // (upstream test, current, total, target, ready pods, expected replicas)
    let cases = [
        ("TestReplicaCalcScaleUpCMExternal", 1, 8600, 4400, 1, 2),
        (
            "TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods",
            3,
            8600,
            4400,
            1,
            2,
        ),
        ("TestReplicaCalcScaleDownCMExternal", 5, 8600, 14334, 5, 3),
        ("TestReplicaCalcToleranceCMExternal", 3, 8600, 8888, 3, 3),
    ];
    for (name, current, total, target, ready, want) in cases {
        let (r, u) = external_value_replicas(current, target, total, ready, 0.1);
        assert_eq!((r, u), (want, total), "{name}");
    }
    // Scale from zero: ceil(ratio).
    assert_eq!(external_value_replicas(0, 4400, 8600, 0, 0.1).0, 2);
    assert_eq!(external_value_replicas(0, 4400, 0, 0, 0.1).0, 0);
    // (upstream test, current, total, per-pod target, expected replicas, expected usage)
    let per_pod = [
        (
            "TestReplicaCalcScaleUpPerPodCMExternal",
            3,
            8600,
            2150,
            4,
            2867,
        ),
        (
            "TestReplicaCalcScaleDownPerPodCMExternal",
            5,
            8600,
            2867,
            3,
            1720,
        ),
        (
            "TestReplicaCalcTolerancePerPodCMExternal",
            3,
            8600,
            2900,
            3,
            2867,
        ),
    ];
    for (name, current, total, target, want, usage) in per_pod {
        assert_eq!(
            external_per_pod_replicas(current, target, total, 0.1),
            (want, usage),
            "{name}"
        );
    }
}

#[test]
fn grouping_rules() {
    let c = cfg();
    // Never-ready pod past the initialization period whose condition changed within the
    // readiness delay of its start: unready.
    let mut p = pods(&[P::NotReady], &[100])[0];
    assert_eq!(group_pods(&[p], true, &c), vec![Group::Unready]);
    // Not ready but it was ready once (transition well after start): counted.
    p.ready = Some((false, at(T - 100)));
    assert_eq!(group_pods(&[p], true, &c), vec![Group::Ready]);
    // The same pod for a Pods metric: no CPU rules, counted.
    let q = pods(&[P::NotReady], &[100])[0];
    assert_eq!(group_pods(&[q], false, &c), vec![Group::Ready]);
    // Hot pod whose metric window starts after its transition: counted.
    let mut h = pods(&[P::Hot], &[100])[0];
    h.ready = Some((true, at(T - 120)));
    assert_eq!(group_pods(&[h], true, &c), vec![Group::Ready]);
    // No start time: unready.
    let mut s = pods(&cool(1), &[100])[0];
    s.start_time = None;
    assert_eq!(group_pods(&[s], true, &c), vec![Group::Unready]);
}

#[test]
fn resource_computed_tolerance() {
    // TestReplicaCalcComputedToleranceAlgImplementation: 10 pods using 150m each, requesting
    // 300m on average (jittered), so 50 % of requests. A target just past the tolerance
    // (1 / (2 * 0.9) + 0.01 -> 56 %) scales down to ceil(50 / 56 * 10) = 9; a target inside it
    // (+ 0.004 -> 55 %) does not scale.
    let requests = [400, 200, 310, 290, 302, 298, 301, 299, 300, 300];
    let mut p = pods(&cool(10), &[150; 10]);
    for (pod, r) in p.iter_mut().zip(requests) {
        pod.request = Some(r);
    }
    let requested_to_used = 2.0f64;
    let past = ((1.0 / (requested_to_used * 0.9)).abs() + 0.01) * 100.0;
    let r = resource_replicas(10, past as i32, &p, true, &cfg()).unwrap();
    assert_eq!((r.replicas, r.utilization), (9, 50));
    let inside = ((1.0 / (requested_to_used * 0.9)).abs() + 0.004) * 100.0;
    let r = resource_replicas(10, inside as i32, &p, true, &cfg()).unwrap();
    assert_eq!((r.replicas, r.utilization), (10, 50));
}

#[test]
fn object_cases() {
    // Object metric, Value target: (upstream test, current, object's value, target, ready
    // pods, expected replicas).
    let cases = [
        ("TestReplicaCalcScaleUpCMObject", 3, 20000, 15000, 3, 4),
        (
            // If unready pods counted, 15 replicas.
            "TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods",
            3,
            50000,
            10000,
            1,
            5,
        ),
        ("TestReplicaCalcScaleDownCMObject", 5, 12000, 20000, 5, 3),
        ("TestReplicaCalcToleranceCMObject", 3, 20666, 20000, 3, 3),
    ];
    for (name, current, usage, target, ready, want) in cases {
        assert_eq!(
            object_value_replicas(current, target, usage, ready, 0.1),
            (want, usage),
            "{name}"
        );
    }
    // Object metric, AverageValue target: (upstream test, current, value, per-pod target,
    // expected replicas, expected usage per pod).
    let per_pod = [
        (
            "TestReplicaCalcScaleUpCMPerPodObject",
            3,
            20000,
            5000,
            4,
            6667,
        ),
        (
            "TestReplicaCalcScaleDownPerPodCMObject",
            5,
            6000,
            2000,
            3,
            1200,
        ),
        (
            "TestReplicaCalcTolerancePerPodCMObject",
            4,
            20166,
            5000,
            4,
            5042,
        ),
    ];
    for (name, current, usage, target, want, want_usage) in per_pod {
        assert_eq!(
            object_per_pod_replicas(current, target, usage, 0.1),
            (want, want_usage),
            "{name}"
        );
    }
}

#[test]
fn memory_utilization_has_no_cpu_readiness_rules() {
    // groupPods applies the initialization period and readiness rules to CPU only
    // (TestGroupPods "count in a ready pod - memory"): a not-ready pod's memory counts.
    let p = pods(&[P::NotReady, P::HotNotReady, P::Cool], &[600, 600, 600]);
    let r = resource_replicas(3, 50, &p, false, &cfg()).unwrap();
    // 1800 * 100 / 3000 = 60 % against 50 %: ratio 1.2, ceil(1.2 * 3) = 4.
    assert_eq!((r.replicas, r.utilization), (4, 60));
    // The same pods on CPU: only the cool one counts, the two unready at 0 on a scale-up.
    let r = resource_replicas(3, 50, &p, true, &cfg()).unwrap();
    assert_eq!((r.replicas, r.utilization), (3, 60));
}
