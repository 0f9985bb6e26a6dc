//! The shipped autoscaling scenarios show what they claim: the HPA follows a diurnal load with
//! a visible lag (`patterns/hpa-diurnal.yaml`), KEDA scales a queue's workers from and to zero
//! (`patterns/event-driven-autoscaling.yaml`), the cluster autoscaler adds nodes within scan
//! interval + provisioning delay and removes idle ones after 10 minutes
//! (`patterns/cluster-autoscaler.yaml`), and the Black Friday what-if reports its bill
//! (`capacity/black-friday.yaml`). Their summaries are pinned in `golden.rs`.

use std::path::Path;
use std::sync::Arc;

use kubesim::experiment::{self, Limits, RunResult, Summary};
use kubesim::scenario;

fn run(path: &str) -> (RunResult, Summary) {
    let loaded = scenario::load_path(Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
    let result = experiment::run(Arc::new(loaded.spec), Limits::default(), &mut |_| {});
    let summary = Summary::of(&result);
    assert!(
        summary.expectations_passed,
        "{path}: {:?}",
        summary.expectations
    );
    (result, summary)
}

/// `(time in s, object and message)` of the event-log rows with this reason.
fn rows(r: &RunResult, reason: &str) -> Vec<(f64, String)> {
    r.output
        .recorder
        .events
        .iter()
        .filter(|e| e.reason == reason)
        .map(|e| (e.time.as_secs_f64(), format!("{} {}", e.object, e.message)))
        .collect()
}

/// `(time in s, value)` of a sampled metric for one object.
fn series(r: &RunResult, metric: &str, object: &str) -> Vec<(f64, f64)> {
    r.output
        .recorder
        .samples
        .iter()
        .filter(|s| s.metric == metric && &*s.object == object)
        .map(|s| (s.time.as_secs_f64(), s.value))
        .collect()
}

/// The replica count a `SuccessfulRescale` message sets.
fn new_size(message: &str) -> i32 {
    message
        .split("New size: ")
        .nth(1)
        .and_then(|m| m.split(';').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no size in {message}"))
}

fn metric(s: &Summary, key: &str) -> f64 {
    *s.metrics
        .get(key)
        .unwrap_or_else(|| panic!("summary has no {key}"))
}

#[test]
fn hpa_follows_the_diurnal_curve_with_a_lag() {
    let (r, _) = run("scenarios/patterns/hpa-diurnal.yaml");
    // The scenario's curve: 8 CPU x (1 + 0.8 cos(2 pi (t - 18 h) / 24 h)); the ideal size at
    // 70 % of 500m is demand / 350m.
    let ideal = |t: f64| {
        let load = 8000.0
            * (1.0 + 0.8 * (2.0 * std::f64::consts::PI * (t - 18.0 * 3600.0) / 86_400.0).cos());
        load / 350.0
    };
    let current = series(&r, "hpa.current_replicas", "default/web");
    assert!(current.len() > 5000, "{} syncs", current.len());
    // The replicas are at their peak at the load's peak (18:00), and bottom out around its
    // trough (06:00).
    let max = current.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    assert!((40.0..=44.0).contains(&max), "peak of {max} replicas");
    let at_max: Vec<f64> = current
        .iter()
        .filter(|(_, v)| *v == max)
        .map(|(t, _)| *t)
        .collect();
    let (first, last) = (at_max[0], at_max[at_max.len() - 1]);
    assert!(
        first <= 18.0 * 3600.0 && last >= 18.0 * 3600.0,
        "at the peak from {first} s to {last} s"
    );
    let (t_min, min) = current
        .iter()
        .copied()
        .filter(|(t, _)| *t > 3600.0)
        .fold((0.0, f64::MAX), |a, b| if b.1 < a.1 { b } else { a });
    assert!((4.0..=6.0).contains(&min), "trough of {min} replicas");
    assert!(
        (3.0 * 3600.0..=9.0 * 3600.0).contains(&t_min),
        "trough at {t_min} s"
    );
    // The lag on the way down (the tolerance makes it step by about 10 %, so a handful of
    // scale-downs): each scale-down after the peak to n replicas comes well after the ideal
    // size fell to n (the integer rounding of the utilization lets a recommendation of n
    // come a little before the continuous ideal reaches n), on average by more than the 300 s
    // stabilization window.
    let rescales = rows(&r, "SuccessfulRescale");
    let mut lags = Vec::new();
    let mut last = 0;
    for (t, m) in &rescales {
        let n = new_size(m);
        if *t > 18.0 * 3600.0 && n < last {
            let mut ti = 18.0 * 3600.0;
            while ideal(ti) > f64::from(n) {
                ti += 1.0;
            }
            lags.push(t - ti);
        }
        last = n;
    }
    assert!(lags.len() >= 4, "{} scale-downs after the peak", lags.len());
    let min_lag = lags.iter().copied().fold(f64::MAX, f64::min);
    let mean_lag = lags.iter().sum::<f64>() / lags.len() as f64;
    assert!(min_lag > 60.0, "scale-down lags {lags:?}");
    assert!(
        mean_lag >= 300.0,
        "mean scale-down lag {mean_lag} s: {lags:?}"
    );
    // And on the way up the HPA never runs ahead of the load: a scale-up to n comes after the
    // ideal size passed n (1 - tolerance), i.e. the metric showed the need.
    let mut last = 0;
    for (t, m) in &rescales {
        let n = new_size(m);
        if *t > 6.0 * 3600.0 && *t < 18.0 * 3600.0 && n > last && last > 0 {
            assert!(
                ideal(*t) >= f64::from(n) * 0.85,
                "scale-up to {n} at {t} s with an ideal of {}",
                ideal(*t)
            );
        }
        last = n;
    }
}

#[test]
fn keda_scales_the_queue_workers_from_and_to_zero() {
    let (r, s) = run("scenarios/patterns/event-driven-autoscaling.yaml");
    let on = rows(&r, "KEDAScaleTargetActivated");
    let off = rows(&r, "KEDAScaleTargetDeactivated");
    assert_eq!((on.len(), off.len()), (2, 2), "{on:?} {off:?}");
    // Messages start at 120 s and 1080 s; the next 15 s poll sees them.
    assert!((120.0..=150.0).contains(&on[0].0), "{on:?}");
    assert!((1080.0..=1110.0).contains(&on[1].0), "{on:?}");
    // Back to zero after the queue drains (after 480 s and 1260 s) plus the 120 s cooldown.
    assert!(off[0].0 >= 480.0 + 120.0 && off[0].0 < on[1].0, "{off:?}");
    assert!(off[1].0 >= 1260.0 + 120.0, "{off:?}");
    assert!(off.iter().all(|(_, m)| m.ends_with("to 0")), "{off:?}");
    // In between, the HPA KEDA created sizes the workers on the queue: 12 messages/s at
    // 400 ms need at least 5 busy workers, and the backlog drives it further.
    let sizes: Vec<i32> = rows(&r, "SuccessfulRescale")
        .iter()
        .filter(|(t, m)| *t < 600.0 && m.contains("keda-hpa-worker"))
        .map(|(_, m)| new_size(m))
        .collect();
    assert!(
        sizes.iter().any(|n| *n >= 6),
        "first burst rescales: {sizes:?}"
    );
    let queue = series(&r, "keda.trigger_value", "default/worker:s1");
    let peak_queue = queue.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    assert!(peak_queue >= 4.0, "queue length peaked at {peak_queue}");
    assert_eq!(
        r.output
            .store
            .deployments
            .get("default/worker")
            .unwrap()
            .replicas,
        0
    );
    // Scaling from zero has a cost: messages that arrived before the first worker was Ready
    // found no endpoint. They are few (one poll interval and a start-up), and later ones are
    // all served.
    let lost = metric(&s, "traffic.producer.failed.no_endpoints");
    assert!(lost > 0.0 && lost < 400.0, "{lost} lost");
}

#[test]
fn cluster_autoscaler_adds_nodes_within_scan_plus_provisioning_and_removes_idle_ones() {
    let (r, s) = run("scenarios/patterns/cluster-autoscaler.yaml");
    let t_fail = rows(&r, "FailedScheduling")
        .first()
        .expect("pods unschedulable")
        .0;
    assert!((120.0..121.0).contains(&t_fail), "{t_fail}");
    let ups = rows(&r, "ScaledUpGroup");
    assert_eq!(ups.len(), 1, "{ups:?}");
    let t_up = ups[0].0;
    // Within one scan interval (10 s) of the pods becoming unschedulable.
    assert!(
        t_up >= t_fail && t_up <= t_fail + 10.0,
        "{t_up} vs {t_fail}"
    );
    assert!(ups[0].1.contains("size to 5 instead of 2"), "{ups:?}");
    // The nodes register after the 2 minute provisioning delay, and the pods bind then.
    let reg: Vec<_> = rows(&r, "RegisteredNode")
        .into_iter()
        .filter(|(t, _)| *t > 0.0)
        .collect();
    assert_eq!(reg.len(), 3, "{reg:?}");
    for (t, n) in &reg {
        assert!((t_up + 120.0..=t_up + 121.0).contains(t), "{n} at {t}");
    }
    let unscheduled = series(&r, "pods.unscheduled", "");
    let cleared = unscheduled
        .iter()
        .find(|(t, v)| *t > t_fail && *v == 0.0)
        .expect("pending pods placed")
        .0;
    assert!(
        cleared <= t_fail + 10.0 + 120.0 + 10.0 + 10.0,
        "pending until {cleared}"
    );
    // Idle after 480 s: removed 10 minutes after they became unneeded, not before.
    let removed = rows(&r, "RemovingNode");
    assert_eq!(removed.len(), 3, "{removed:?}");
    for (t, n) in &removed {
        assert!(
            (480.0 + 600.0..=480.0 + 600.0 + 30.0).contains(t),
            "{n} at {t}"
        );
    }
    assert_eq!(metric(&s, "nodes.end"), 2.0);
}

#[test]
fn black_friday_reports_nodes_and_the_bill() {
    let (r, s) = run("scenarios/capacity/black-friday.yaml");
    // The sale outgrows the three nodes: the HPA scales the shop past 30 replicas and the
    // cluster autoscaler adds cheap `general` nodes (price expander), never `premium` ones.
    let sizes: Vec<i32> = rows(&r, "SuccessfulRescale")
        .iter()
        .map(|(_, m)| new_size(m))
        .collect();
    assert!(sizes.iter().any(|n| *n >= 30), "{sizes:?}");
    let peak = metric(&s, "nodes.peak");
    assert!(peak > 3.0, "peak {peak} nodes");
    let ups = rows(&r, "ScaledUpGroup");
    assert!(!ups.is_empty());
    assert!(
        ups.iter()
            .all(|(_, m)| m.contains("general") && !m.contains("premium")),
        "{ups:?}"
    );
    assert!(metric(&s, "autoscaling.ca_nodes_removed") > 0.0);
    assert!(metric(&s, "nodes.end") < peak);
    // The bill: cost per million requests is the run's cost over its requests.
    let requests: u64 = r
        .output
        .recorder
        .traffic
        .sources
        .iter()
        .map(|x| x.requests)
        .sum();
    assert!(requests > 250_000, "{requests} requests");
    let cost = metric(&s, "cost.total");
    assert!((s.cost - cost).abs() < 1e-9);
    let per_million = metric(&s, "cost.per_million_requests");
    assert!(
        (per_million - cost / requests as f64 * 1e6).abs() < 1e-9,
        "{per_million} vs {cost} / {requests}"
    );
    // Three nodes for an hour at least, twelve at most.
    assert!((3.0 * 0.19..=12.0 * 0.19).contains(&cost), "cost {cost}");
    let idle = metric(&s, "cost.idle_cpu_fraction");
    assert!((0.0..1.0).contains(&idle), "{idle}");
}
