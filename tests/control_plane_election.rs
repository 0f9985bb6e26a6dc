//! Leader election of kube-scheduler and kube-controller-manager: the no-leader gap after
//! `killLeader` (about leaseDuration, plus up to two jittered retry periods), nothing binding
//! or reconciling during it, a single replica that restarts as a new process, an API server
//! outage longer than the renew deadline, and the loader's checks.

mod common;

use common::run;
use kubesim::cluster::stateful_record::Failover;
use kubesim::cluster::world::RunOutput;
use kubesim::engine::SimTime;
use kubesim::scenario::load_str;

/// A 3-node cluster with `web` at 4 replicas; `control_plane` is the Scenario's
/// `spec.controlPlane` (flow mapping), `timeline` the Timeline entries.
fn scenario(seed: u64, control_plane: &str, timeline: &str) -> String {
    format!(
        "apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {{name: s}}
spec: {{seed: {seed}, duration: 3m, sampleEvery: 1s, controlPlane: {control_plane}}}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {{name: pool}}
spec: {{count: 3, capacity: {{cpu: \"8\", memory: 32Gi}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 4
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: \"web:v1\", resources: {{requests: {{cpu: 100m}}}}}}]
---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {{name: t}}
spec:
{timeline}
"
    )
}

/// The single failover of `component`, and its gap in seconds.
fn only_failover(out: &RunOutput, component: &str) -> (Failover, f64) {
    let rec = out
        .recorder
        .stateful
        .control_plane
        .iter()
        .find(|c| c.component == component)
        .expect("the component has an elector");
    assert_eq!(rec.election.failovers.len(), 1, "{component}");
    let f = rec.election.failovers[0].clone();
    let gap = f
        .acquired_at
        .expect("a standby took over")
        .saturating_since(f.lost_at)
        .as_secs_f64();
    (f, gap)
}

/// Every gap after a `killLeader` lies in [leaseDuration - retryPeriod, leaseDuration +
/// 2 x 1.2 x 2 x retryPeriod... ]: the killed leader last renewed at most one retry period
/// before the kill; a standby sees that renewal at its next try (at most `retryPeriod x 2.2`
/// later), takes over once it has not changed for `leaseDuration`, at its first try after
/// that (at most `retryPeriod x 2.2` later again).
const GAP_MIN: f64 = 15.0 - 2.0;
const GAP_MAX: f64 = 15.0 + 2.0 * 2.2 * 2.0;

#[test]
fn no_pod_binds_while_the_scheduler_has_no_leader() {
    let mut gaps = Vec::new();
    for seed in 1..=10 {
        let out = run(&scenario(
            seed,
            "{kubeScheduler: {replicas: 3}}",
            "- {at: 60s, killLeader: {election: kube-scheduler}}\n\
             - {at: 61s, scale: {deployment: web, replicas: 10}}",
        ));
        let (f, gap) = only_failover(&out, "kube-scheduler");
        gaps.push(gap);
        assert_eq!(f.cause, "killLeader");
        assert_eq!(f.lost_at, SimTime(60_000_000_000));
        assert!((GAP_MIN..=GAP_MAX).contains(&gap), "seed {seed}: gap {gap}");
        let acquired = f.acquired_at.unwrap();
        assert_ne!(f.new_leader.as_deref(), Some(f.old_leader.as_str()));
        // Nothing is bound during the gap...
        let bound_in_gap = out
            .recorder
            .events
            .iter()
            .filter(|e| e.reason == "Scheduled" && e.time > f.lost_at && e.time < acquired)
            .count();
        assert_eq!(bound_in_gap, 0, "seed {seed}");
        // ...the 6 pods created during it wait for the new leader, which binds them all.
        let gap_pods: Vec<_> = out
            .store
            .pods
            .values()
            .filter(|p| p.created_at > f.lost_at && p.created_at < acquired)
            .collect();
        assert_eq!(gap_pods.len(), 6, "seed {seed}");
        for p in &gap_pods {
            let at = p.scheduled_at.expect("bound after the failover");
            assert!(at >= acquired, "seed {seed}: {} bound at {at:?}", p.name);
        }
        let rec = &out.recorder.stateful.control_plane[0];
        assert_eq!(rec.effects[0].gap_pods.len(), 6);
        // The time series shows the gap.
        let no_leader: Vec<f64> = out
            .recorder
            .samples
            .iter()
            .filter(|s| s.metric == "control_plane.has_leader" && s.value == 0.0)
            .map(|s| s.time.as_secs_f64())
            .collect();
        assert!(!no_leader.is_empty(), "seed {seed}");
        assert!(
            no_leader
                .iter()
                .all(|t| *t >= 60.0 && *t <= acquired.as_secs_f64()),
            "seed {seed}: {no_leader:?}"
        );
    }
    // The seeds do not all give the same gap (the standbys' jitter).
    assert!(gaps.iter().any(|g| (g - gaps[0]).abs() > 0.1), "{gaps:?}");
}

#[test]
fn no_replica_set_creates_pods_while_the_controller_manager_has_no_leader() {
    for seed in 1..=10 {
        let out = run(&scenario(
            seed,
            "{kubeControllerManager: {replicas: 3}}",
            "- {at: 60s, killLeader: {election: kube-controller-manager}}\n\
             - {at: 61s, scale: {deployment: web, replicas: 9}}",
        ));
        let (f, gap) = only_failover(&out, "kube-controller-manager");
        assert!((GAP_MIN..=GAP_MAX).contains(&gap), "seed {seed}: gap {gap}");
        let acquired = f.acquired_at.unwrap();
        let created_in_gap = out
            .store
            .pods
            .values()
            .filter(|p| p.created_at > f.lost_at && p.created_at < acquired)
            .count();
        assert_eq!(created_in_gap, 0, "seed {seed}");
        let reconciled_in_gap = out
            .recorder
            .events
            .iter()
            .filter(|e| {
                matches!(e.reason, "SuccessfulCreate" | "ScalingReplicaSet")
                    && e.time > f.lost_at
                    && e.time < acquired
            })
            .count();
        assert_eq!(reconciled_in_gap, 0, "seed {seed}");
        // The new leader lists everything and catches up: 5 pods, all created after it
        // started.
        let after = out
            .store
            .pods
            .values()
            .filter(|p| p.created_at >= acquired)
            .count();
        assert_eq!(after, 5, "seed {seed}");
        let effect = &out.recorder.stateful.control_plane[0].effects[0];
        assert_eq!((effect.pods_missing, effect.workloads_behind), (5, 1));
        let d = out.store.deployments.values().next().unwrap();
        assert_eq!(d.status.ready_replicas, 9, "seed {seed}");
    }
}

#[test]
fn a_single_scheduler_restarts_as_a_new_process_and_waits_for_its_own_lease() {
    // One replica (the default): the kubelet restarts the static pod at once (the first
    // CrashLoopBackOff restart), but the new process has a new identity, so it waits a full
    // leaseDuration from when it first reads the lease.
    for seed in 1..=5 {
        let out = run(&scenario(
            seed,
            "{}",
            "- {at: 60s, killLeader: {election: kube-scheduler}}\n\
             - {at: 61s, scale: {deployment: web, replicas: 6}}",
        ));
        let (f, gap) = only_failover(&out, "kube-scheduler");
        assert_eq!(f.old_leader, "control-plane-0_1");
        assert_eq!(f.new_leader.as_deref(), Some("control-plane-0_2"));
        assert!(
            (15.0..=15.0 + 2.2 * 2.0).contains(&gap),
            "seed {seed}: {gap}"
        );
        let acquired = f.acquired_at.unwrap();
        assert!(
            out.recorder
                .events
                .iter()
                .all(|e| !(e.reason == "Scheduled" && e.time > f.lost_at && e.time < acquired)),
            "seed {seed}"
        );
        assert_eq!(
            out.store.pods.values().filter(|p| p.node.is_none()).count(),
            0
        );
    }
}

#[test]
fn one_replica_not_killed_runs_no_elector() {
    let out = run(&scenario(
        1,
        "{kubeScheduler: {replicas: 1}, kubeControllerManager: {replicas: 3, leaderElection: {leaderElect: false}}}",
        "- {at: 61s, scale: {deployment: web, replicas: 6}}",
    ));
    assert!(out.recorder.stateful.control_plane.is_empty());
    assert!(
        !out.recorder
            .samples
            .iter()
            .any(|s| s.metric.starts_with("control_plane."))
    );
}

#[test]
fn an_api_server_outage_longer_than_the_renew_deadline_makes_the_leader_exit() {
    // The leader cannot renew from 60 s; its renew poll gives up retryPeriod + renewDeadline
    // after its last renewal, and the process exits. Nobody can acquire while the API server
    // is down; once it is back, a candidate takes over after leaseDuration.
    let out = run(&scenario(
        3,
        "{kubeScheduler: {replicas: 3}}",
        "- {at: 60s, apiServerDown: {for: 30s}}",
    ));
    let (f, _) = only_failover(&out, "kube-scheduler");
    assert_eq!(f.cause, "renewFailed");
    let lost = f.lost_at.as_secs_f64();
    assert!((58.0..=60.0).contains(&lost), "lost at {lost}");
    let lost_event = out
        .recorder
        .events
        .iter()
        .find(|e| e.reason == "LeaderLost")
        .unwrap();
    assert!((lost_event.time.as_secs_f64() - (lost + 12.0)).abs() < 1e-6);
    let acquired = f.acquired_at.unwrap().as_secs_f64();
    assert!((105.0..=90.0 + GAP_MAX).contains(&acquired), "{acquired}");
}

#[test]
fn bad_control_plane_settings_are_refused() {
    let ok = "- {at: 60s, killLeader: {election: kube-scheduler}}";
    for (cp, want) in [
        ("{kubeScheduler: {replicas: 0}}", "replicas"),
        (
            "{kubeScheduler: {leaderElection: {leaseDuration: 10s}}}",
            "leaseDuration must be greater than renewDeadline",
        ),
        (
            "{kubeControllerManager: {leaderElection: {retryPeriod: 9s}}}",
            "renewDeadline must be greater than retryPeriod*JitterFactor",
        ),
        ("{kubeSchedular: {replicas: 3}}", "kubeScheduler"),
        (
            "{kubeScheduler: {leaderElection: {leaseDurations: 20s}}}",
            "leaseDuration",
        ),
    ] {
        let e = load_str("t.yaml", &scenario(1, cp, ok))
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{cp}: {e}");
    }
    let e = load_str(
        "t.yaml",
        &scenario(
            1,
            "{}",
            "- {at: 60s, killLeader: {election: kube-schedulr}}",
        ),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("kube-scheduler"), "{e}");
    let e = load_str(
        "t.yaml",
        &scenario(
            1,
            "{kubeScheduler: {leaderElection: {leaderElect: false}}}",
            ok,
        ),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("no leader to kill"), "{e}");
    let reserved = format!(
        "{}---
apiVersion: kubesim.dev/v1alpha1
kind: LeaderElection
metadata: {{name: kube-scheduler}}
spec: {{workload: web}}
",
        scenario(1, "{}", ok)
    );
    let e = load_str("t.yaml", &reserved).unwrap_err().to_string();
    assert!(e.contains("reserved"), "{e}");
}

/// Three `ctl` replicas elect a leader; the Service `ctl` is the singleton's front door.
/// Traffic starts at 60 s (50 req/s, no retries); the leader is killed at 90 s.
fn singleton(seed: u64, governed: bool) -> String {
    let service = if governed { ", service: ctl" } else { "" };
    format!(
        "apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {{name: s}}
spec: {{seed: {seed}, duration: 3m}}
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
      containers: [{{name: ctl, image: \"ctl:v1\", resources: {{requests: {{cpu: 100m}}}}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: ctl}}
spec: {{selector: {{app: ctl}}, ports: [{{port: 80}}]}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {{name: ctl}}
spec: {{startup: 2s, readiness: 1s, serving: {{serviceTime: 5ms, concurrency: 4}}}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Traffic
metadata: {{name: users}}
spec: {{service: ctl, rate: 0/s, steps: [{{at: 60s, rate: 50/s}}], timeout: 1s}}
---
apiVersion: kubesim.dev/v1alpha1
kind: LeaderElection
metadata: {{name: lease}}
spec: {{workload: ctl{service}}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {{name: t}}
spec:
- {{at: 90s, killLeader: {{election: lease}}}}
"
    )
}

#[test]
fn a_singleton_service_has_no_endpoint_while_its_election_has_no_leader() {
    for seed in 1..=3 {
        let out = run(&singleton(seed, true));
        let e = &out.recorder.stateful.elections[0];
        let f = &e.failovers[0];
        let gap = f
            .acquired_at
            .unwrap()
            .saturating_since(f.lost_at)
            .as_secs_f64();
        let t = &out.recorder.traffic.sources[0];
        // Cause order: timeout, 5xx, overflow, no endpoints, reset.
        let no_endpoints = t.failed[3];
        // About 50 req/s for the gap (the endpoint changes reach the proxy a little after
        // the leader changes), and nothing else fails.
        let expected = 50.0 * gap;
        assert!(
            (no_endpoints as f64 - expected).abs() < 0.2 * expected,
            "seed {seed}: {no_endpoints} failed for a {gap} s gap"
        );
        assert!(
            t.failed_total() - no_endpoints <= 1,
            "seed {seed}: {:?}",
            t.failed
        );
        // Without `service` every Ready replica serves: the kill costs at most the requests
        // in flight at the killed pod.
        let out = run(&singleton(seed, false));
        let t = &out.recorder.traffic.sources[0];
        assert_eq!(t.failed[3], 0, "seed {seed}");
    }
    let e = load_str(
        "t.yaml",
        &singleton(1, true).replace("service: ctl}", "service: ctrl}"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("ctrl") && e.contains("ctl"), "{e}");
}

/// `web` at 6 replicas of 100m under an HPA targeting 50% CPU; its CPU load drops from 300m
/// to 60m at 60 s, so the HPA wants 2 replicas, held back by the 300 s scale-down
/// stabilization window.
fn hpa_scale_down(timeline: &str) -> String {
    format!(
        "apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {{name: s}}
spec: {{seed: 1, duration: 12m, controlPlane: {{kubeControllerManager: {{replicas: 2}}}}}}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {{name: pool}}
spec: {{count: 2, capacity: {{cpu: \"4\", memory: 16Gi}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 6
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: \"web:v1\", resources: {{requests: {{cpu: 100m}}}}}}]
---
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {{name: web}}
spec:
  cpuLoad: {{total: 300m, steps: [{{at: 60s, total: 60m}}]}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: web}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}
  minReplicas: 1
  maxReplicas: 10
  metrics:
  - type: Resource
    resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 50}}}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {{name: t}}
spec: {timeline}
"
    )
}

/// When the HPA first scaled `web` down, s.
fn first_scale_down(out: &RunOutput) -> f64 {
    out.recorder
        .events
        .iter()
        .find(|e| e.reason == "SuccessfulRescale")
        .map(|e| e.time.as_secs_f64())
        .expect("the HPA scaled down")
}

#[test]
fn a_fresh_controller_manager_restarts_the_hpa_stabilization_window() {
    let calm = run(&hpa_scale_down("[]"));
    let failover = run(&hpa_scale_down(
        "[{at: 200s, killLeader: {election: kube-controller-manager}}]",
    ));
    let (f, _) = only_failover(&failover, "kube-controller-manager");
    let acquired = f.acquired_at.unwrap().as_secs_f64();
    let (a, b) = (first_scale_down(&calm), first_scale_down(&failover));
    // Without the failover the window runs from the first low recommendation (about 75 s);
    // the new leader starts it again from the current replicas when it starts.
    assert!((340.0..400.0).contains(&a), "calm: {a}");
    assert!(b >= acquired + 300.0, "after a failover at {acquired}: {b}");
}

#[test]
fn a_kube_scheduler_configuration_sets_the_scheduler_election() {
    let config = "---
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection: {leaderElect: true, leaseDuration: 30s, renewDeadline: 20s, retryPeriod: 4s,
                 resourceLock: leases, resourceName: kube-scheduler, resourceNamespace: kube-system}
";
    let yaml = format!(
        "{}{config}",
        scenario(
            2,
            "{kubeScheduler: {replicas: 3}}",
            "- {at: 60s, killLeader: {election: kube-scheduler}}"
        )
    );
    let loaded = load_str("t.yaml", &yaml).expect("loads");
    let s = &loaded.spec.control_plane.kube_scheduler;
    assert_eq!((s.replicas, s.lease_duration.as_secs_f64()), (3, 30.0));
    let out = run(&yaml);
    let (_, gap) = only_failover(&out, "kube-scheduler");
    // leaseDuration 30 s, retryPeriod 4 s.
    assert!(
        (30.0 - 4.0..=30.0 + 2.0 * 2.2 * 4.0).contains(&gap),
        "{gap}"
    );
    // Set in both places: refused.
    let both = format!(
        "{}{config}",
        scenario(
            2,
            "{kubeScheduler: {replicas: 3, leaderElection: {leaseDuration: 20s}}}",
            "- {at: 60s, killLeader: {election: kube-scheduler}}"
        )
    );
    let e = load_str("t.yaml", &both).unwrap_err().to_string();
    assert!(e.contains("set it in one place"), "{e}");
}
