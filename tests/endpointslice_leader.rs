//! The EndpointSlice controller is part of kube-controller-manager: while the controller
//! manager has no leader, EndpointSlices are not updated, so kube-proxy keeps sending tries to
//! pods that are terminating; the new leader's first sync brings the endpoints up to date.

mod common;

use common::run;
use kubesim::cluster::world::RunOutput;

/// Two nodes, `web` at 4 replicas behind a Service with steady traffic; the containers take
/// 60 s to start, so replacements of deleted pods are not endpoints for the first minute.
/// At 121 s node `pool-0` is drained (`kubectl drain`: its pods evicted through the Eviction
/// API, which needs no controller); `kill` kills the controller manager's leader 1 s before.
/// `mode` is the Traffic's `spec.mode` (`request` or `fluid`).
fn scenario(kill: bool, mode: &str) -> String {
    let kill_entry = if kill {
        "- {at: 120s, killLeader: {election: kube-controller-manager}}\n"
    } else {
        ""
    };
    format!(
        "apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {{name: s}}
spec:
  seed: 3
  duration: 4m
  sampleEvery: 1s
  controlPlane:
    kubeControllerManager:
      replicas: 3
      leaderElection: {{leaderElect: true, leaseDuration: 15s, renewDeadline: 10s, retryPeriod: 2s}}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {{name: pool}}
spec: {{count: 2, capacity: {{cpu: \"8\", memory: 32Gi}}}}
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
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {{name: web}}
spec:
  startup: 60s
  serving:
    serviceTime: {{exponential: {{mean: 10ms}}}}
    concurrency: 4
---
apiVersion: kubesim.dev/v1alpha1
kind: Traffic
metadata: {{name: users}}
spec:
  service: web
  rate: 50/s
  timeout: 1s
  mode: {mode}
---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {{name: t}}
spec:
{kill_entry}- {{at: 121s, drainNode: {{node: pool-0}}}}
"
    )
}

/// kube-proxy's endpoint count of `default/web` sampled at `t` seconds.
fn endpoints_at(out: &RunOutput, t: f64) -> f64 {
    out.recorder
        .samples
        .iter()
        .rev()
        .find(|r| {
            r.metric == "service.endpoints"
                && &*r.object == "default/web"
                && r.time.as_secs_f64() <= t
        })
        .map(|r| r.value)
        .unwrap_or_else(|| panic!("no endpoint sample at {t} s"))
}

/// The endpoint counts at 119 s, 130 s (just after the drain) and 170 s (after a standby has
/// led for a while), with and without the controller manager's leader killed.
fn check(mode: &str) {
    let with_leader = run(&scenario(false, mode));
    let without_leader = run(&scenario(true, mode));
    let before = endpoints_at(&with_leader, 119.0);
    assert_eq!(
        before, 4.0,
        "all four pods are endpoints before the incident ({mode})"
    );
    assert_eq!(endpoints_at(&without_leader, 119.0), 4.0);
    // With a leader, the evicted (terminating) pods leave the EndpointSlice within the watch
    // delays.
    let removed = endpoints_at(&with_leader, 130.0);
    assert!(removed < before, "{mode}: {removed}");
    // Without one, the EndpointSlice stays as it was: kube-proxy still has the evicted pods.
    assert_eq!(endpoints_at(&without_leader, 130.0), before, "{mode}");
    // A standby takes the lease within about 25 s; its first sync removes them. The
    // replacements take 60 s to start, so they are not endpoints yet.
    assert_eq!(endpoints_at(&without_leader, 170.0), removed, "{mode}");
}

#[test]
fn endpoints_of_evicted_pods_stay_until_a_controller_manager_leads_again() {
    check("request");
}

#[test]
fn fluid_mode_endpoints_wait_for_a_controller_manager_leader_too() {
    check("fluid");
}
