//! What the StatefulSets, CronJobs and leader elections did, for `summary.json` and the time
//! series (held by [`crate::cluster::metrics::Recorder::stateful`]).
//!
//! Time-series metrics (object in brackets): `statefulset.replicas`,
//! `statefulset.ready_replicas`, `statefulset.updated_replicas` [namespace/name],
//! `statefulset.pending_pods` [namespace/name] (its pods not bound to a node),
//! `leader.has_leader` [election] (1 while some candidate holds the lease as its live leader),
//! `leader.transitions` [election], `cronjob.active` [namespace/name] (its Jobs running).

use crate::cluster::state::ClusterState;
use crate::engine::SimTime;

/// One failover of a leader election: the leader stopped, and (maybe) another took over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failover {
    /// The leader's last sign of life: the moment `killLeader` killed it, or else its last
    /// successful lease renewal.
    pub lost_at: SimTime,
    /// Why: `killLeader`, `renewFailed` (it could not reach the API server within its renew
    /// deadline), `podGone` (its pod was deleted, stopped being Ready or its node stopped).
    pub cause: &'static str,
    /// The identity of the leader that stopped.
    pub old_leader: String,
    /// When the next leader acquired the lease (`None` if no one had by the end).
    pub acquired_at: Option<SimTime>,
    /// The identity of the next leader.
    pub new_leader: Option<String>,
}

/// The history of one leader election.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderRecord {
    /// The Lease, `namespace/name`.
    pub lease: String,
    /// The candidates' workload.
    pub workload: String,
    /// The current leader's identity, if one leads.
    pub leader: Option<String>,
    /// When the first leader acquired the lease.
    pub first_acquired_at: Option<SimTime>,
    /// `spec.leaseTransitions`: changes of holder.
    pub transitions: u32,
    /// Failovers, in order.
    pub failovers: Vec<Failover>,
}

impl LeaderRecord {
    /// Seconds without a leader from the first acquisition to `end` (gaps still open at the
    /// end count up to `end`).
    pub fn no_leader_seconds(&self, end: SimTime) -> f64 {
        self.failovers
            .iter()
            .map(|f| {
                f.acquired_at
                    .unwrap_or(end)
                    .saturating_since(f.lost_at)
                    .as_secs_f64()
            })
            .sum()
    }
}

/// The history of one CronJob.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CronRecord {
    /// `namespace/name`.
    pub key: String,
    /// Jobs created.
    pub jobs_created: u32,
    /// Runs skipped by `concurrencyPolicy: Forbid`.
    pub skipped_forbid: u32,
    /// Runs skipped because they were later than `startingDeadlineSeconds`.
    pub missed_deadline: u32,
    /// Active Jobs deleted by `concurrencyPolicy: Replace`.
    pub replaced: u32,
    /// Its Jobs that completed.
    pub jobs_succeeded: u32,
    /// Its Jobs that failed.
    pub jobs_failed: u32,
    /// Finished Jobs deleted by the history limits.
    pub jobs_deleted: u32,
    /// Jobs active now.
    pub active: u32,
}

/// Everything recorded about stateful workloads.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatefulRecord {
    /// One per `LeaderElection`, in scenario order.
    pub elections: Vec<LeaderRecord>,
    /// One per CronJob, in scenario order.
    pub cron_jobs: Vec<CronRecord>,
    /// One per control-plane component that runs an elector (`cluster::control_plane`).
    pub control_plane: Vec<crate::cluster::control_plane::ControlPlaneRecord>,
}

/// Record the stateful-workload gauges at `now` (called by the sampler).
pub fn sample(state: &mut ClusterState, now: SimTime) {
    let store = &state.store;
    let rec = &mut state.recorder;
    for (key, s) in &store.stateful_sets {
        rec.sample(now, "statefulset.replicas", key, f64::from(s.replicas));
        rec.sample(
            now,
            "statefulset.ready_replicas",
            key,
            f64::from(s.status.ready_replicas),
        );
        rec.sample(
            now,
            "statefulset.updated_replicas",
            key,
            f64::from(s.status.updated_replicas),
        );
        let pending = store
            .pods_by_owner
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|id| store.pods.get(id))
            .filter(|p| p.node.is_none() && !p.is_terminating())
            .count();
        rec.sample(now, "statefulset.pending_pods", key, pending as f64);
    }
    let elections = std::mem::take(&mut rec.stateful.elections);
    for e in &elections {
        rec.sample(
            now,
            "leader.has_leader",
            &e.lease,
            f64::from(u8::from(e.leader.is_some())),
        );
        rec.sample(
            now,
            "leader.transitions",
            &e.lease,
            f64::from(e.transitions),
        );
    }
    rec.stateful.elections = elections;
    let crons = std::mem::take(&mut rec.stateful.cron_jobs);
    for c in &crons {
        rec.sample(now, "cronjob.active", &c.key, f64::from(c.active));
    }
    rec.stateful.cron_jobs = crons;
    crate::cluster::control_plane::sample(state, now);
}
