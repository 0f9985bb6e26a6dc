//! `Scenario` `spec.controlPlane.kubeScheduler` / `kubeControllerManager`: replicas of a
//! control-plane component and its `leaderElection` block, spelled as upstream's
//! `LeaderElectionConfiguration` (`k8s.io/component-base/config/v1alpha1`, embedded in
//! KubeSchedulerConfiguration and KubeControllerManagerConfiguration `generic`), with
//! `RecommendedDefaultLeaderElectionConfiguration`'s defaults (leaderElect true, 15 s, 10 s,
//! 2 s) and client-go `NewLeaderElector`'s checks (leaseDuration > renewDeadline >
//! JitterFactor x retryPeriod).

use crate::cluster::control_plane::ControlPlaneComponentSpec;

use super::reader::{Cx, Fields, R, Val};

/// The fields of a component's block.
pub(crate) const COMPONENT: Fields = Fields::read(&["replicas", "leaderElection"]);
const LEADER_ELECTION: Fields = Fields {
    read: &[
        "leaderElect",
        "leaseDuration",
        "renewDeadline",
        "retryPeriod",
    ],
    warn: &[],
    // The lock's kind, name and namespace change nothing in the model.
    silent: &["resourceLock", "resourceName", "resourceNamespace"],
};

/// Most replicas of one control-plane component (an HA control plane has 3 or 5).
const MAX_REPLICAS: i64 = 100;

/// Read one component's block.
pub(crate) fn read_component(cx: &mut Cx, v: &Val) -> R<ControlPlaneComponentSpec> {
    let m = v.map(cx, &COMPONENT)?;
    let mut out = ControlPlaneComponentSpec::default();
    if let Some(r) = m.get("replicas") {
        out.replicas = r.int_in(cx, 1, MAX_REPLICAS)? as u32;
    }
    if let Some(le) = m.get("leaderElection") {
        read_leader_election(cx, &le, &mut out)?;
    }
    Ok(out)
}

/// Read a `leaderElection` block (`LeaderElectionConfiguration`) into `out`'s election
/// fields (the replicas are left alone).
pub(crate) fn read_leader_election(
    cx: &mut Cx,
    le: &Val,
    out: &mut ControlPlaneComponentSpec,
) -> R<()> {
    let l = le.map(cx, &LEADER_ELECTION)?;
    if let Some(b) = l.get("leaderElect") {
        out.leader_elect = b.bool(cx)?;
    }
    for (key, slot) in [
        ("leaseDuration", &mut out.lease_duration),
        ("renewDeadline", &mut out.renew_deadline),
        ("retryPeriod", &mut out.retry_period),
    ] {
        if let Some(d) = l.get(key) {
            *slot = d.positive_duration(cx)?;
        }
    }
    if out.lease_duration <= out.renew_deadline {
        let at = l.get("leaseDuration").unwrap_or(le.clone());
        return Err(at.err(cx, "leaseDuration must be greater than renewDeadline"));
    }
    let jittered = out.retry_period.as_secs_f64() * crate::cluster::leader_election::JITTER_FACTOR;
    if out.renew_deadline.as_secs_f64() <= jittered {
        let at = l.get("renewDeadline").unwrap_or(le.clone());
        return Err(at.err(
            cx,
            format!("renewDeadline must be greater than retryPeriod*JitterFactor ({jittered} s)"),
        ));
    }
    Ok(())
}
