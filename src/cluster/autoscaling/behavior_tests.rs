//! Cases from upstream's `pkg/controller/podautoscaler/horizontal_test.go`
//! (`TestScalingWithRules`, built with its `generateScalingRules(pods, podsPeriod, percent,
//! percentPeriod, stabilizationWindow)` helper) and the sequences of the HPA documentation
//! (kubernetes.io, "Horizontal Pod Autoscaling", section "Configurable scaling behavior").

use super::*;
use crate::cluster::autoscaling_spec::ScalingPolicy;

fn at(s: u64) -> SimTime {
    SimTime(s * 1_000_000_000)
}

/// Upstream's `generateScalingRules`.
fn rules(
    pods: i32,
    pods_period: i32,
    percent: i32,
    percent_period: i32,
    window: i32,
) -> ScalingRules {
    let mut policies = Vec::new();
    if pods != 0 {
        policies.push(ScalingPolicy {
            kind: ScalingPolicyType::Pods,
            value: pods,
            period_seconds: pods_period,
        });
    }
    if percent != 0 {
        policies.push(ScalingPolicy {
            kind: ScalingPolicyType::Percent,
            value: percent,
            period_seconds: percent_period,
        });
    }
    ScalingRules {
        stabilization_window_seconds: Some(window),
        select_policy: SelectPolicy::Max,
        policies,
    }
}

#[test]
fn scaling_with_rules_table() {
    // (case name in TestScalingWithRules, up rules, down rules, min, max, current, desired,
    //  expected, limit)
    let cases = [
        (
            "scaleUp with default behavior",
            rules(0, 0, 100, 15, 30),
            rules(0, 0, 100, 15, 30),
            1,
            1000,
            10,
            50,
            20,
            Limit::Rate,
        ),
        (
            "scaleUp with pods policy larger than percent policy",
            rules(100, 60, 100, 60, 0),
            rules(2, 60, 1, 60, 300),
            1,
            1000,
            10,
            500,
            110,
            Limit::Rate,
        ),
        (
            "scaleUp with percent policy larger than pods policy",
            rules(2, 60, 100, 60, 0),
            rules(2, 60, 1, 60, 300),
            1,
            1000,
            10,
            500,
            20,
            Limit::Rate,
        ),
        (
            "scaleUp with spec MaxReplicas limitation with large pod policy",
            rules(100, 60, 0, 0, 0),
            rules(2, 60, 1, 60, 300),
            1,
            1000,
            10,
            50,
            50,
            Limit::None,
        ),
        (
            "scaleUp with spec MaxReplicas limitation",
            rules(100, 60, 0, 0, 0),
            rules(2, 60, 1, 60, 300),
            1,
            30,
            10,
            500,
            30,
            Limit::MinMax,
        ),
        (
            "scaleDown with default behavior",
            rules(0, 0, 100, 15, 30),
            rules(0, 0, 100, 15, 30),
            1,
            1000,
            10,
            5,
            5,
            Limit::None,
        ),
        (
            "scaleDown with pods policy larger than percent policy",
            rules(2, 60, 1, 60, 0),
            rules(20, 60, 1, 60, 300),
            1,
            1000,
            100,
            2,
            80,
            Limit::Rate,
        ),
        (
            "scaleDown with percent policy larger than pods policy",
            rules(2, 60, 1, 60, 0),
            rules(2, 60, 1, 60, 300),
            1,
            1000,
            100,
            2,
            98,
            Limit::Rate,
        ),
        (
            "scaleDown with spec MinReplicas limitation",
            rules(2, 60, 1, 60, 0),
            rules(100, 60, 0, 0, 300),
            3,
            1000,
            10,
            0,
            3,
            Limit::MinMax,
        ),
    ];
    for (name, up, down, min, max, current, desired, want, limit) in cases {
        let b = HpaBehavior {
            scale_up: up,
            scale_down: down,
        };
        let mut h = HpaHistory::default();
        let got = h.normalize_with_behavior(
            &b,
            current,
            desired,
            min,
            max,
            SimDuration::from_secs(300),
            at(1000),
        );
        assert_eq!(got, (want, limit), "{name}");
    }
}

#[test]
fn scale_up_limit_counts_the_period_events() {
    // Upstream TestCalculateScaleUpLimitWithScalingRules-style: 4 pods were added 10 s ago,
    // the period (60 s) starts at 6 replicas, so Pods 4 allows 10 now and Percent 100 % 12.
    let up = [ScaleEvent {
        change: 4,
        at: at(990),
        outdated: false,
    }];
    let r = rules(4, 60, 100, 60, 0);
    assert_eq!(scale_up_limit(10, &up, &[], &r, at(1000)), 12);
    let mut min = r.clone();
    min.select_policy = SelectPolicy::Min;
    assert_eq!(scale_up_limit(10, &up, &[], &min, at(1000)), 10);
    let mut off = r;
    off.select_policy = SelectPolicy::Disabled;
    assert_eq!(scale_up_limit(10, &up, &[], &off, at(1000)), 10);
    // Events older than the period do not count.
    assert_eq!(
        scale_up_limit(10, &up, &[], &rules(4, 5, 0, 0, 0), at(1000)),
        14
    );
}

/// Drive the normalization every 15 s with a constant recommendation, as the controller does,
/// returning the replica counts written.
fn drive(b: &HpaBehavior, start: i32, desired: i32, min: i32, max: i32, syncs: usize) -> Vec<i32> {
    let mut h = HpaHistory::default();
    let mut current = start;
    let mut out = vec![current];
    for k in 0..syncs {
        let now = at(1000 + 15 * k as u64);
        let (n, _) = h.normalize_with_behavior(
            b,
            current,
            desired,
            min,
            max,
            SimDuration::from_secs(300),
            now,
        );
        if n != current {
            h.store_scale_event(b, current, n, now);
            current = n;
        }
        out.push(current);
    }
    out
}

#[test]
fn docs_default_scale_up_sequence() {
    // Defaults (behavior present but empty): 1 -> 5 -> 10 -> 20 -> 40 ... every 15 s
    // (max of +4 pods and +100 %).
    let b = HpaBehavior {
        scale_up: ScalingRules::default_scale_up(),
        scale_down: ScalingRules::default_scale_down(),
    };
    assert_eq!(drive(&b, 1, 100, 1, 100, 5), vec![1, 5, 10, 20, 40, 80]);
}

#[test]
fn docs_scale_down_from_80_with_policies() {
    // Docs example: scaleDown policies Pods 4 / 60 s and Percent 10 / 60 s (select Max, no
    // window): 80 -> 72 at once (10 % = 8 > 4), held for the period, then 72 -> 64 (10 % of
    // 72 truncated) after 60 s.
    let b = HpaBehavior {
        scale_up: ScalingRules::default_scale_up(),
        scale_down: ScalingRules {
            stabilization_window_seconds: Some(0),
            select_policy: SelectPolicy::Max,
            policies: vec![
                ScalingPolicy {
                    kind: ScalingPolicyType::Pods,
                    value: 4,
                    period_seconds: 60,
                },
                ScalingPolicy {
                    kind: ScalingPolicyType::Percent,
                    value: 10,
                    period_seconds: 60,
                },
            ],
        },
    };
    let seq = drive(&b, 80, 10, 1, 100, 9);
    assert_eq!(seq, vec![80, 72, 72, 72, 72, 64, 64, 64, 64, 57]);
}

#[test]
fn default_scale_down_waits_for_the_300s_window() {
    // Steady at 80 with recommendations of 80, then the load drops to a recommendation of 10:
    // the scale-down window keeps 80 until the last recommendation of 80 is 300 s old.
    let b = HpaBehavior {
        scale_up: ScalingRules::default_scale_up(),
        scale_down: ScalingRules::default_scale_down(),
    };
    let mut h = HpaHistory::default();
    let w = SimDuration::from_secs(300);
    for k in 0..4u64 {
        let (n, _) = h.normalize_with_behavior(&b, 80, 80, 1, 100, w, at(15 * k));
        assert_eq!(n, 80);
    }
    // The last 80 was recommended at 45 s.
    let mut current = 80;
    let mut first_down = None;
    for k in 4..40u64 {
        let now = at(15 * k);
        let (n, _) = h.normalize_with_behavior(&b, current, 10, 1, 100, w, now);
        if n != current {
            h.store_scale_event(&b, current, n, now);
            first_down.get_or_insert((k * 15, n));
            current = n;
        }
    }
    // 45 s + 300 s = 345 s is the first sync where 80 is out of the window: sync at 345 s.
    assert_eq!(first_down, Some((345, 10)));
}

#[test]
fn legacy_normalization_without_behavior() {
    // convertDesiredReplicasWithRules: at most max(2 * current, 4) per sync: 1 -> 4 -> 8 -> 16.
    let mut h = HpaHistory::default();
    let w = SimDuration::from_secs(300);
    let mut current = 1;
    let mut seq = vec![current];
    for k in 0..3u64 {
        let (n, limit) = h.normalize_legacy(current, 100, 1, 100, w, at(15 * k));
        assert_eq!(limit, Limit::Rate);
        current = n;
        seq.push(n);
    }
    assert_eq!(seq, vec![1, 4, 8, 16]);
    // stabilizeRecommendation: the largest recommendation of the last 300 s wins on the way
    // down.
    let mut h = HpaHistory::default();
    assert_eq!(h.normalize_legacy(10, 10, 1, 100, w, at(0)).0, 10);
    assert_eq!(h.normalize_legacy(10, 3, 1, 100, w, at(100)).0, 10);
    assert_eq!(h.normalize_legacy(10, 3, 1, 100, w, at(301)).0, 3);
    // Clamped to minReplicas.
    assert_eq!(
        HpaHistory::default().normalize_legacy(5, 0, 2, 100, w, at(0)),
        (2, Limit::MinMax)
    );
}
