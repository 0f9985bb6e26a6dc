//! The StatefulSet, CronJob and leader-election part of `summary.json` (documented in
//! `docs/OUTPUTS.md`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cluster::world::RunOutput;
use crate::engine::SimTime;

/// One failover of a leader election.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FailoverSummary {
    /// The old leader's last sign of life (the `killLeader` instant, or its last renewal), s.
    pub lost_at_s: f64,
    /// `killLeader`, `renewFailed` or `podGone`.
    pub cause: String,
    /// Identity of the leader that stopped (`<pod>_<process>`).
    pub old_leader: String,
    /// When the next leader acquired the lease, s (`null` if none had by the end).
    pub acquired_at_s: Option<f64>,
    /// Identity of the next leader.
    pub new_leader: Option<String>,
    /// Time without a leader, s (`null` while still open at the end).
    pub gap_s: Option<f64>,
}

/// One leader election.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LeaderElectionSummary {
    /// The Lease, `namespace/name`.
    pub lease: String,
    /// The candidates' workload.
    pub workload: String,
    /// When the first leader acquired the lease, s.
    pub first_acquired_at_s: Option<f64>,
    /// `leaseTransitions` at the end.
    pub transitions: u32,
    /// The leader at the end, if any.
    pub leader_at_end: Option<String>,
    /// Failovers in order.
    pub failovers: Vec<FailoverSummary>,
    /// Longest failover gap, s (0 without failovers).
    pub max_gap_s: f64,
    /// Total time without a leader after the first acquisition, s.
    pub no_leader_s: f64,
}

/// The leader-election summaries, and the StatefulSet, CronJob and leader-election keys of
/// `metrics`.
pub fn stateful_summary(
    out: &RunOutput,
    m: &mut BTreeMap<String, f64>,
) -> Vec<LeaderElectionSummary> {
    let mut put = |k: String, v: f64| {
        m.insert(k, v);
    };
    for s in out.store.stateful_sets.values() {
        let n = &s.name;
        put(format!("statefulset.{n}.replicas"), f64::from(s.replicas));
        put(
            format!("statefulset.{n}.ready_replicas"),
            f64::from(s.status.ready_replicas),
        );
        put(
            format!("statefulset.{n}.updated_replicas"),
            f64::from(s.status.updated_replicas),
        );
        let pending = out
            .store
            .pods_by_owner
            .get(&s.key())
            .into_iter()
            .flatten()
            .filter_map(|id| out.store.pods.get(id))
            .filter(|p| p.node.is_none() && !p.is_terminating())
            .count();
        put(format!("statefulset.{n}.pending_pods"), pending as f64);
    }
    let rec = &out.recorder.stateful;
    for (spec, c) in out.spec.stateful.cron_jobs.iter().zip(&rec.cron_jobs) {
        let n = &spec.name;
        for (k, v) in [
            ("jobs_created", c.jobs_created),
            ("jobs_succeeded", c.jobs_succeeded),
            ("jobs_failed", c.jobs_failed),
            ("skipped_forbid", c.skipped_forbid),
            ("missed_deadline", c.missed_deadline),
            ("replaced", c.replaced),
            ("active", c.active),
        ] {
            put(format!("cronjob.{n}.{k}"), f64::from(v));
        }
    }
    let end = out.end_time;
    let secs = |t: SimTime| t.as_secs_f64();
    let mut list = Vec::new();
    for (spec, e) in out
        .spec
        .stateful
        .leader_elections
        .iter()
        .zip(&rec.elections)
    {
        let failovers: Vec<FailoverSummary> = e
            .failovers
            .iter()
            .map(|f| FailoverSummary {
                lost_at_s: secs(f.lost_at),
                cause: f.cause.to_string(),
                old_leader: f.old_leader.clone(),
                acquired_at_s: f.acquired_at.map(secs),
                new_leader: f.new_leader.clone(),
                gap_s: f
                    .acquired_at
                    .map(|a| a.saturating_since(f.lost_at).as_secs_f64()),
            })
            .collect();
        let max_gap_s = failovers
            .iter()
            .map(|f| {
                f.gap_s
                    .unwrap_or_else(|| (secs(end) - f.lost_at_s).max(0.0))
            })
            .fold(0.0, f64::max);
        let no_leader_s = e.no_leader_seconds(end);
        let n = &spec.name;
        put(format!("leader.{n}.failovers"), failovers.len() as f64);
        put(format!("leader.{n}.max_gap_s"), max_gap_s);
        put(format!("leader.{n}.no_leader_s"), no_leader_s);
        put(format!("leader.{n}.transitions"), f64::from(e.transitions));
        put(
            format!("leader.{n}.has_leader_at_end"),
            f64::from(u8::from(e.leader.is_some())),
        );
        list.push(LeaderElectionSummary {
            lease: e.lease.clone(),
            workload: e.workload.clone(),
            first_acquired_at_s: e.first_acquired_at.map(secs),
            transitions: e.transitions,
            leader_at_end: e.leader.clone(),
            failovers,
            max_gap_s,
            no_leader_s,
        });
    }
    list
}

/// One failover of a control-plane component: the [`FailoverSummary`] and what the gap did.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ControlPlaneFailoverSummary {
    /// The failover itself (`old_leader` / `new_leader` are `control-plane-<i>_<process>`).
    #[serde(flatten)]
    pub failover: FailoverSummary,
    /// kube-scheduler: pods created during the gap that waited for the new leader.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap_pods: Option<u64>,
    /// kube-scheduler: the longest of those pods' scheduling delay (creation to binding), s;
    /// `null` if none of them was bound by the end (or none still exists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap_pods_max_scheduling_delay_s: Option<f64>,
    /// kube-scheduler: their mean scheduling delay, s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap_pods_mean_scheduling_delay_s: Option<f64>,
    /// kube-controller-manager: pods the Deployments, stand-alone ReplicaSets and
    /// StatefulSets lacked when the new leader started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pods_missing_at_acquire: Option<u32>,
    /// kube-controller-manager: those workloads short of pods then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workloads_behind_at_acquire: Option<u32>,
}

/// One control-plane component's leader election.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ControlPlaneSummary {
    /// `kube-scheduler` or `kube-controller-manager`.
    pub component: String,
    /// Replicas.
    pub replicas: u32,
    /// `leaseTransitions` at the end.
    pub transitions: u32,
    /// The leader at the end, if any.
    pub leader_at_end: Option<String>,
    /// Failovers in order.
    pub failovers: Vec<ControlPlaneFailoverSummary>,
    /// Longest time without a leader, s (0 without failovers).
    pub max_gap_s: f64,
    /// Total time without a leader, s.
    pub no_leader_s: f64,
}

/// The control-plane leader-election summaries and their `metrics` keys
/// (`control_plane.<component>.*`).
pub fn control_plane_summary(
    out: &RunOutput,
    m: &mut BTreeMap<String, f64>,
) -> Vec<ControlPlaneSummary> {
    let end = out.end_time;
    let secs = |t: SimTime| t.as_secs_f64();
    let scheduler = crate::cluster::control_plane::ControlPlaneComponent::KubeScheduler.name();
    let mut list = Vec::new();
    for c in &out.recorder.stateful.control_plane {
        let e = &c.election;
        let mut failovers = Vec::new();
        let (mut gap_pods_total, mut delay_max) = (0u64, 0.0f64);
        let mut missing_max = 0u32;
        for (f, effect) in e.failovers.iter().zip(&c.effects) {
            let failover = FailoverSummary {
                lost_at_s: secs(f.lost_at),
                cause: f.cause.to_string(),
                old_leader: f.old_leader.clone(),
                acquired_at_s: f.acquired_at.map(secs),
                new_leader: f.new_leader.clone(),
                gap_s: f
                    .acquired_at
                    .map(|a| a.saturating_since(f.lost_at).as_secs_f64()),
            };
            let mut s = ControlPlaneFailoverSummary {
                failover,
                gap_pods: None,
                gap_pods_max_scheduling_delay_s: None,
                gap_pods_mean_scheduling_delay_s: None,
                pods_missing_at_acquire: None,
                workloads_behind_at_acquire: None,
            };
            if c.component == scheduler {
                let delays: Vec<f64> = effect
                    .gap_pods
                    .iter()
                    .filter_map(|id| out.store.pods.get(id))
                    .filter_map(|p| {
                        p.scheduled_at
                            .map(|b| b.saturating_since(p.created_at).as_secs_f64())
                    })
                    .collect();
                gap_pods_total += effect.gap_pods.len() as u64;
                s.gap_pods = Some(effect.gap_pods.len() as u64);
                if !delays.is_empty() {
                    let max = delays.iter().copied().fold(0.0, f64::max);
                    delay_max = delay_max.max(max);
                    s.gap_pods_max_scheduling_delay_s = Some(max);
                    s.gap_pods_mean_scheduling_delay_s =
                        Some(delays.iter().sum::<f64>() / delays.len() as f64);
                }
            } else if f.acquired_at.is_some() {
                missing_max = missing_max.max(effect.pods_missing);
                s.pods_missing_at_acquire = Some(effect.pods_missing);
                s.workloads_behind_at_acquire = Some(effect.workloads_behind);
            }
            failovers.push(s);
        }
        let max_gap_s = failovers
            .iter()
            .map(|f| {
                f.failover
                    .gap_s
                    .unwrap_or_else(|| (secs(end) - f.failover.lost_at_s).max(0.0))
            })
            .fold(0.0, f64::max);
        let no_leader_s = e.no_leader_seconds(end);
        let n = c.component;
        let mut put = |k: &str, v: f64| {
            m.insert(format!("control_plane.{n}.{k}"), v);
        };
        put("failovers", failovers.len() as f64);
        put("max_gap_s", max_gap_s);
        put("no_leader_s", no_leader_s);
        put("transitions", f64::from(e.transitions));
        put("has_leader_at_end", f64::from(u8::from(e.leader.is_some())));
        if n == scheduler {
            put("gap_pods", gap_pods_total as f64);
            put("gap_pods_max_scheduling_delay_s", delay_max);
        } else {
            put("pods_missing_at_acquire_max", f64::from(missing_max));
        }
        list.push(ControlPlaneSummary {
            component: n.to_string(),
            replicas: c.replicas,
            transitions: e.transitions,
            leader_at_end: e.leader.clone(),
            failovers,
            max_gap_s,
            no_leader_s,
        });
    }
    list
}
