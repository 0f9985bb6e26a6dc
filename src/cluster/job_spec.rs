//! Spec types for `batch/v1` Job and kubesim's work-queue model (`Behavior` `spec.workQueue`).
//! Re-exported from [`crate::cluster::spec`].

use crate::cluster::spec::{Distribution, PodTemplateSpec};

/// `spec.completionMode` of a Job (upstream `batch/v1` `CompletionMode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CompletionMode {
    /// Pods are interchangeable; the Job completes after `completions` successes (the default).
    #[default]
    NonIndexed,
    /// Each pod gets a completion index `0..completions`; the Job completes when every index
    /// has a succeeded pod.
    Indexed,
}

impl CompletionMode {
    /// Upstream spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            CompletionMode::NonIndexed => "NonIndexed",
            CompletionMode::Indexed => "Indexed",
        }
    }
}

/// A `batch/v1` Job, with upstream's defaults applied (`pkg/apis/batch/v1/defaults.go`).
#[derive(Clone, Debug, PartialEq)]
pub struct JobSpec {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `spec.parallelism`: most pods running at once (default 1).
    pub parallelism: i32,
    /// `spec.completions`: successes needed; `None` = the work-queue Job (done once any pod
    /// succeeded and none is left running). Defaults to 1 when parallelism is not set either
    /// (upstream `SetDefaults_Job`).
    pub completions: Option<i32>,
    /// `spec.backoffLimit`: failures tolerated before the Job fails (default 6).
    pub backoff_limit: i32,
    /// `spec.activeDeadlineSeconds`: seconds from the Job's start after which it fails.
    pub active_deadline_seconds: Option<i64>,
    /// `spec.completionMode`.
    pub completion_mode: CompletionMode,
    /// `spec.template` (restartPolicy `OnFailure` or `Never`).
    pub template: PodTemplateSpec,
}

impl JobSpec {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// A queue of tasks the pods of a workload drain (kubesim `Behavior` `spec.workQueue`): each
/// running worker takes the next task when free, works on it for its duration, and exits with
/// code 0 once the queue is empty (the "work queue with pod-to-pod coordination" pattern of
/// the Kubernetes Job docs). kubesim's own model.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkQueueSpec {
    /// `tasks`: number of tasks in the queue at the start.
    pub tasks: u32,
    /// `duration`: how long one task takes; sampled once per task at the start of the run.
    pub duration: Distribution,
}
