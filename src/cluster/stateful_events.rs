//! Events of the stateful-workload subsystem: leader-election timers, CronJob timers, and the
//! Job commands the CronJob controller sends to the Job controller (which owns the Job
//! objects). Carried by [`crate::cluster::events::Event::Stateful`].

use crate::cluster::controllers::job::JobOutcome;
use crate::cluster::objects::PodId;
use crate::cluster::spec::JobSpec;

/// One event of the stateful-workload subsystem.
#[derive(Clone, Debug)]
pub enum StatefulEvent {
    /// Leader election: look for new candidates of election `election` (index in
    /// `StatefulSpec::leader_elections`). Emitted and consumed by the leader-election
    /// component, every retry period.
    LeaseScan(u32),
    /// Leader election: candidate `pod` (process `incarnation`) runs `tryAcquireOrRenew`.
    /// Emitted and consumed by the leader-election component.
    LeaseTry {
        /// Election index.
        election: u32,
        /// The candidate's pod.
        pod: PodId,
        /// Which run of the candidate's process (a restarted container is a new process with
        /// a new identity).
        incarnation: u32,
    },
    /// Timeline `killLeader`: the current leader's process is killed. Emitted by the
    /// timeline; consumed by the leader-election component.
    KillLeader(String),
    /// A CronJob's next scheduled time (index in `StatefulSpec::cron_jobs`). Emitted and
    /// consumed by the CronJob controller.
    CronTick(u32),
    /// Create a Job (a CronJob run). Emitted by the CronJob controller; consumed by the Job
    /// controller.
    CreateJob {
        /// The Job (its name is the run's).
        spec: Box<JobSpec>,
        /// The workload whose `Behavior` its pods follow (the CronJob's name).
        workload: String,
    },
    /// Delete a Job and its pods (background propagation). Emitted by the CronJob controller
    /// (history limits, `Replace`); consumed by the Job controller.
    DeleteJob(String),
    /// A Job created by a CronJob finished. Emitted by the Job controller after the watch
    /// delay; consumed by the CronJob controller.
    JobFinished {
        /// `namespace/name` of the Job.
        key: String,
        /// How it ended.
        outcome: JobOutcome,
    },
    /// Control-plane leader election: replica `replica` (process `incarnation`) of the
    /// component with elector `election` (`cluster::control_plane`) runs `tryAcquireOrRenew`.
    /// Emitted and consumed by the leader-election component.
    ControlPlaneTry {
        /// Elector index.
        election: u32,
        /// Replica index (host `control-plane-<replica>`).
        replica: u32,
        /// Which run of the replica's process.
        incarnation: u32,
    },
    /// Control-plane leader election: the kubelet restarts the static pod of a replica whose
    /// process exited (after its CrashLoopBackOff delay). Emitted and consumed by the
    /// leader-election component.
    ControlPlaneRestart {
        /// Elector index.
        election: u32,
        /// Replica index.
        replica: u32,
    },
}
