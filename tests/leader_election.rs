//! Leader election end to end: the first leader, the failover gap after `killLeader` and
//! after the leader's node is cut off (about leaseDuration plus a retry period), and the
//! loader's checks.

mod common;

use common::run;
use kubesim::scenario::load_str;

fn scenario(seed: u64, timeline: &str) -> String {
    format!(
        "apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {{name: s}}
spec: {{seed: {seed}, duration: 6m}}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {{name: pool}}
spec: {{count: 3, capacity: {{cpu: \"4\", memory: 16Gi}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: ctl}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: ctl}}}}
  template:
    metadata: {{labels: {{app: ctl}}}}
    spec:
      topologySpreadConstraints:
      - {{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule,
         labelSelector: {{matchLabels: {{app: ctl}}}}}}
      containers: [{{name: ctl, image: \"ctl:v1\", resources: {{requests: {{cpu: 100m}}}}}}]
---
apiVersion: kubesim.dev/v1alpha1
kind: LeaderElection
metadata: {{name: lease}}
spec: {{workload: ctl}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {{name: t}}
spec:
{timeline}
"
    )
}

#[test]
fn kill_leader_failover_gap_is_about_lease_duration_plus_retry() {
    for seed in 1..=6 {
        let out = run(&scenario(seed, "- {at: 2m, killLeader: {election: lease}}"));
        let e = &out.recorder.stateful.elections[0];
        assert!(
            e.first_acquired_at.is_some(),
            "seed {seed}: no first leader"
        );
        assert_eq!(e.failovers.len(), 1, "seed {seed}");
        let f = &e.failovers[0];
        assert_eq!(f.cause, "killLeader");
        let gap = f
            .acquired_at
            .expect("a standby took over")
            .saturating_since(f.lost_at)
            .as_secs_f64();
        // The standbys saw the last renewal (at most one retry period before the kill) at
        // most 2.2 retry periods after it, wait leaseDuration (15 s) from then, and try every
        // 2-4.4 s: 15 - 2 <= gap <= 15 + 4.4 + 4.4.
        assert!((13.0..=23.8).contains(&gap), "seed {seed}: gap {gap}");
        assert_ne!(f.new_leader, Some(f.old_leader.clone()));
        assert!(e.leader.is_some(), "seed {seed}: leader at the end");
        assert_eq!(e.transitions, 1);
    }
}

#[test]
fn a_cut_off_leader_gives_up_after_its_renew_deadline_and_a_standby_takes_over() {
    // Find the first leader's node, then cut that node off in a second run (same seed, so
    // the same leader).
    let out = run(&scenario(4, "- {at: 5m, killLeader: {election: lease}}"));
    let leader = out.recorder.stateful.elections[0].failovers[0]
        .old_leader
        .clone();
    let pod = leader.rsplit_once('_').unwrap().0;
    let node = out
        .store
        .pods
        .values()
        .find(|p| p.name == pod)
        .and_then(|p| p.node.clone())
        .unwrap();
    let out = run(&scenario(
        4,
        &format!("- {{at: 2m, partition: {{node: {node}, for: 2m}}}}"),
    ));
    let e = &out.recorder.stateful.elections[0];
    let f = &e.failovers[0];
    assert_eq!(f.old_leader, leader);
    assert_eq!(f.cause, "renewFailed");
    let lost = f.lost_at.as_secs_f64();
    // Its last renewal was within one retry period before the partition.
    assert!((118.0..=120.0).contains(&lost), "lost at {lost}");
    let gap = f
        .acquired_at
        .unwrap()
        .saturating_since(f.lost_at)
        .as_secs_f64();
    assert!((15.0..=23.8).contains(&gap), "gap {gap}");
    // The LeaderLost event comes renewDeadline after the poll that started one retry period
    // after the last renewal.
    let lost_event = out
        .recorder
        .events
        .iter()
        .find(|r| r.reason == "LeaderLost")
        .unwrap();
    assert!((lost_event.time.as_secs_f64() - (lost + 12.0)).abs() < 1e-6);
}

#[test]
fn no_leader_without_ready_candidates_and_bad_timings_are_refused() {
    let bad = scenario(1, "- {at: 2m, killLeader: {election: lease}}").replace(
        "spec: {workload: ctl}",
        "spec: {workload: ctl, leaseDuration: 10s, renewDeadline: 10s}",
    );
    let e = load_str("t.yaml", &bad).unwrap_err().to_string();
    assert!(
        e.contains("leaseDuration must be greater than renewDeadline"),
        "{e}"
    );
    let bad = scenario(1, "- {at: 2m, killLeader: {election: lease}}")
        .replace("spec: {workload: ctl}", "spec: {workload: ctrl}");
    let e = load_str("t.yaml", &bad).unwrap_err().to_string();
    assert!(e.contains("ctrl") && e.contains("ctl"), "{e}");
    let bad = scenario(1, "- {at: 2m, killLeader: {election: leas}}");
    let e = load_str("t.yaml", &bad).unwrap_err().to_string();
    assert!(e.contains("leas") && e.contains("lease"), "{e}");
}
