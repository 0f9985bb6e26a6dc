//! Spec types for `apps/v1` StatefulSet, `batch/v1` CronJob and kubesim's `LeaderElection`
//! document, with upstream's defaults applied by the scenario reader. Held by
//! [`crate::cluster::spec::ClusterSpec::stateful`].

use crate::cluster::cron::CronSchedule;
use crate::cluster::spec::{JobSpec, LabelSelector, PodTemplateSpec};
use crate::engine::SimDuration;

/// `spec.podManagementPolicy` of a StatefulSet (upstream `apps/v1`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PodManagementPolicy {
    /// Pods are created in ordinal order, each once the previous is Running and Ready, and
    /// removed in reverse order, one at a time (the default).
    #[default]
    OrderedReady,
    /// Pods are created and deleted all at once.
    Parallel,
}

/// `spec.updateStrategy` of a StatefulSet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatefulSetUpdateStrategy {
    /// Pods with an ordinal `>= partition` are replaced, highest ordinal first, each once the
    /// previous replacement is Ready (the default, partition 0).
    RollingUpdate {
        /// `rollingUpdate.partition`.
        partition: i32,
    },
    /// Pods are replaced only when something else deletes them.
    OnDelete,
}

impl Default for StatefulSetUpdateStrategy {
    fn default() -> Self {
        StatefulSetUpdateStrategy::RollingUpdate { partition: 0 }
    }
}

/// An `apps/v1` StatefulSet.
#[derive(Clone, Debug, PartialEq)]
pub struct StatefulSetSpec {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `spec.replicas` (default 1).
    pub replicas: i32,
    /// `spec.selector`.
    pub selector: LabelSelector,
    /// `spec.template`.
    pub template: PodTemplateSpec,
    /// `spec.serviceName` (the governing headless Service; recorded, not simulated).
    pub service_name: String,
    /// `spec.podManagementPolicy`.
    pub pod_management_policy: PodManagementPolicy,
    /// `spec.updateStrategy`.
    pub update_strategy: StatefulSetUpdateStrategy,
    /// `spec.minReadySeconds`.
    pub min_ready_seconds: i32,
    /// `spec.volumeClaimTemplates[].metadata.name`: each replica gets one claim per template,
    /// `<template>-<set>-<ordinal>`, bound to the zone of the node it is first scheduled on.
    pub volume_claim_templates: Vec<String>,
}

impl StatefulSetSpec {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// `spec.concurrencyPolicy` of a CronJob.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConcurrencyPolicy {
    /// Jobs may run concurrently (the default).
    #[default]
    Allow,
    /// A run is skipped while the previous Job is still active.
    Forbid,
    /// The active Job is deleted and replaced by the new run.
    Replace,
}

impl ConcurrencyPolicy {
    /// Upstream spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            ConcurrencyPolicy::Allow => "Allow",
            ConcurrencyPolicy::Forbid => "Forbid",
            ConcurrencyPolicy::Replace => "Replace",
        }
    }
}

/// A `batch/v1` CronJob, with upstream's defaults (`pkg/apis/batch/v1/defaults.go`
/// `SetDefaults_CronJob`: concurrencyPolicy Allow, suspend false, successfulJobsHistoryLimit 3,
/// failedJobsHistoryLimit 1).
#[derive(Clone, Debug, PartialEq)]
pub struct CronJobSpec {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `spec.schedule` as written.
    pub schedule_text: String,
    /// `spec.schedule` parsed.
    pub schedule: CronSchedule,
    /// `spec.concurrencyPolicy`.
    pub concurrency_policy: ConcurrencyPolicy,
    /// `spec.startingDeadlineSeconds`: a run more than this late is skipped.
    pub starting_deadline_seconds: Option<i64>,
    /// `spec.successfulJobsHistoryLimit`.
    pub successful_jobs_history_limit: i32,
    /// `spec.failedJobsHistoryLimit`.
    pub failed_jobs_history_limit: i32,
    /// `spec.suspend`.
    pub suspend: bool,
    /// `spec.jobTemplate.spec`, as a Job spec named after the CronJob (each run's Job gets
    /// its own name).
    pub job_template: JobSpec,
}

impl CronJobSpec {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// A Lease-based leader election among the Ready pods of a workload (kubesim document
/// `LeaderElection`), with client-go's `leaderelection` semantics.
#[derive(Clone, Debug, PartialEq)]
pub struct LeaderElectionSpec {
    /// `metadata.name`: the Lease's name.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `spec.workload`: the Deployment or StatefulSet whose pods are the candidates.
    pub workload: String,
    /// `spec.leaseDuration` (default 15 s): how long a candidate waits, from its last
    /// observation of a change, before taking over a lease that is not renewed.
    pub lease_duration: SimDuration,
    /// `spec.renewDeadline` (default 10 s): how long the leader keeps trying to renew before
    /// it gives up leadership.
    pub renew_deadline: SimDuration,
    /// `spec.retryPeriod` (default 2 s): between two attempts to acquire or renew.
    pub retry_period: SimDuration,
    /// `spec.service`: a Service of the workload that only the leader serves (index in
    /// `ClusterSpec::services`, resolved by the loader); during a failover it has no
    /// endpoint.
    pub service: Option<usize>,
}

impl LeaderElectionSpec {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// The StatefulSets, CronJobs and leader elections of a scenario.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatefulSpec {
    /// StatefulSets.
    pub stateful_sets: Vec<StatefulSetSpec>,
    /// CronJobs.
    pub cron_jobs: Vec<CronJobSpec>,
    /// Leader elections.
    pub leader_elections: Vec<LeaderElectionSpec>,
}
