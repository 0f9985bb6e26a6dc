//! The Job controller (upstream `pkg/controller/job/job_controller.go`, `syncJob`): keeps
//! `min(parallelism, completions - succeeded)` active pods, counts succeeded and failed pods
//! (a pod deleted before it finished counts as failed, as with upstream's pod-tracking
//! finalizers), waits the pod-failure back-off before replacing failed pods, and ends the Job
//! `Complete`, or `Failed` with reason `BackoffLimitExceeded` or `DeadlineExceeded` (then its
//! active pods are deleted). Indexed Jobs give each pod a completion index (label
//! `batch.kubernetes.io/job-completion-index`, pod name `<job>-<index>-<suffix>`) and complete
//! when every index has a succeeded pod.
//!
//! Jobs come from the scenario at the start of the run; their object (spec and status) lives
//! in this controller, the only writer of Job status, and is reported through the recorder
//! ([`crate::cluster::metrics::JobRecord`]) and the event log.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::cluster::apiserver;
use crate::cluster::controllers::workqueue::WorkQueue;
use crate::cluster::events::{ApiWrite, Change, ControllerTimer, Event, ObjectRef, WatchEvent};
use crate::cluster::metrics::JobRecord;
use crate::cluster::objects::{ObjectKind, OwnerRef, Pod, PodId, PodPhase};
use crate::cluster::spec::{CompletionMode, JobSpec, PodTemplateSpec, RestartPolicy};
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, SimDuration, SimTime};

/// Pod label and annotation holding an Indexed Job pod's completion index (upstream
/// `batch.kubernetes.io/job-completion-index`).
pub const COMPLETION_INDEX_LABEL: &str = "batch.kubernetes.io/job-completion-index";

/// First delay before a failed pod is replaced (upstream `DefaultJobPodFailureBackOff`, 10 s).
pub const POD_FAILURE_BACKOFF: SimDuration = SimDuration::from_secs(10);

/// Cap of the pod-failure back-off: "exponential back-off delay (10s, 20s, 40s ...) capped at
/// six minutes" (kubernetes.io, Jobs, "Pod backoff failure policy").
pub const MAX_POD_FAILURE_BACKOFF: SimDuration = SimDuration::from_secs(360);

/// How long after the last pod failure new pods may be created, given `failures` failures
/// since the last success (upstream `backoff_utils.go` `getRemainingTime`: 10 s · 2^(n-1),
/// capped). Zero failures: no wait.
pub fn pod_failure_backoff(failures: u32) -> SimDuration {
    if failures == 0 {
        return SimDuration::ZERO;
    }
    let cap = MAX_POD_FAILURE_BACKOFF.as_nanos();
    let shift = (failures - 1).min(32);
    let d = POD_FAILURE_BACKOFF.as_nanos().saturating_mul(1u64 << shift);
    SimDuration::from_nanos(d.min(cap))
}

/// How a Job ended (its `Complete` or `Failed` condition and reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    /// Condition `Complete`.
    Complete,
    /// Condition `Failed`, reason `BackoffLimitExceeded`.
    BackoffLimitExceeded,
    /// Condition `Failed`, reason `DeadlineExceeded`.
    DeadlineExceeded,
}

impl JobOutcome {
    /// Upstream spelling: the condition reason (`Complete` for success).
    pub fn as_str(&self) -> &'static str {
        match self {
            JobOutcome::Complete => "Complete",
            JobOutcome::BackoffLimitExceeded => "BackoffLimitExceeded",
            JobOutcome::DeadlineExceeded => "DeadlineExceeded",
        }
    }
}

/// One Job as the controller tracks it (spec and status).
#[derive(Debug)]
struct JobRun {
    spec: JobSpec,
    template: Arc<PodTemplateSpec>,
    /// `status.startTime`.
    start: Option<SimTime>,
    /// `status.succeeded`.
    succeeded: i32,
    /// `status.failed`.
    failed: i32,
    /// Pods already counted (terminal, or deleted before finishing).
    counted: BTreeSet<PodId>,
    /// `status.completedIndexes`.
    completed_indexes: BTreeSet<i32>,
    /// Failures since the last success, and when the last one was seen (the back-off).
    failures_since_success: u32,
    last_failure: SimTime,
    /// Pod creations sent but not yet seen (upstream expectations).
    pending_adds: i64,
    /// Set once the Job has a `Complete` or `Failed` condition.
    finished: bool,
    /// The workload whose `Behavior` its pods follow (the Job, or its CronJob).
    workload: String,
    /// True for a Job a CronJob created: the CronJob controller is told when it finishes.
    from_cron: bool,
}

/// The Job controller component.
#[derive(Debug, Default)]
pub struct JobController {
    queue: WorkQueue,
    jobs: BTreeMap<String, JobRun>,
}

impl JobController {
    /// A controller for the scenario's Jobs; each is first reconciled at time zero (the
    /// world schedules it).
    pub fn new(specs: &[JobSpec]) -> Self {
        let jobs = specs
            .iter()
            .map(|s| {
                (
                    s.key(),
                    JobRun {
                        spec: s.clone(),
                        template: Arc::new(s.template.clone()),
                        start: None,
                        succeeded: 0,
                        failed: 0,
                        counted: BTreeSet::new(),
                        completed_indexes: BTreeSet::new(),
                        failures_since_success: 0,
                        last_failure: SimTime::ZERO,
                        pending_adds: 0,
                        finished: false,
                        workload: s.name.clone(),
                        from_cron: false,
                    },
                )
            })
            .collect();
        JobController {
            queue: WorkQueue::default(),
            jobs,
        }
    }

    fn pod_from_template(job: &JobRun, index: Option<i32>) -> Pod {
        let t = &job.template;
        let mut labels = t.labels.clone();
        // Upstream adds `batch.kubernetes.io/job-name` and, for Indexed Jobs, the index label.
        labels.insert("batch.kubernetes.io/job-name".into(), job.spec.name.clone());
        if let Some(i) = index {
            labels.insert(COMPLETION_INDEX_LABEL.into(), i.to_string());
        }
        Pod {
            id: PodId(0),
            name: String::new(),
            namespace: job.spec.namespace.clone(),
            labels,
            owner: Some(OwnerRef {
                kind: "Job",
                key: job.spec.key(),
            }),
            workload: job.workload.clone(),
            template: Arc::clone(t),
            requests: t.pod_requests(),
            non_zero_requests: t.non_zero_requests(),
            node: None,
            phase: PodPhase::Pending,
            created_at: SimTime::ZERO,
            scheduled_at: None,
            started_at: None,
            ready_since: None,
            deletion_timestamp: None,
            restart_count: 0,
            run_for: None,
        }
    }

    fn reconcile(&mut self, key: &str, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let Some(job) = self.jobs.get_mut(key) else {
            return;
        };
        if job.finished {
            return;
        }
        let start = *job.start.get_or_insert_with(|| {
            if let Some(d) = job.spec.active_deadline_seconds {
                // Look again when the deadline passes (upstream `AddAfter`).
                self.queue
                    .add_after(key, SimDuration::from_secs(d as u64), ctx);
            }
            now
        });
        // Count pods that finished since the last pass.
        let mut active: Vec<(PodId, Option<i32>)> = Vec::new();
        let mut restarts: i64 = 0;
        for id in state.store.pods_by_owner.get(key).into_iter().flatten() {
            let Some(p) = state.store.pods.get(id) else {
                continue;
            };
            let index = p
                .labels
                .get(COMPLETION_INDEX_LABEL)
                .and_then(|v| v.parse::<i32>().ok());
            match p.phase {
                PodPhase::Succeeded if job.counted.insert(*id) => {
                    job.succeeded += 1;
                    job.failures_since_success = 0;
                    if let Some(i) = index {
                        job.completed_indexes.insert(i);
                    }
                }
                PodPhase::Failed if job.counted.insert(*id) => {
                    job.failed += 1;
                    job.failures_since_success += 1;
                    job.last_failure = now;
                }
                _ if p.is_active() => {
                    active.push((*id, index));
                    restarts += i64::from(p.restart_count);
                }
                _ => {}
            }
        }
        let spec = &job.spec;
        // backoffLimit: failed pods, or with OnFailure the container restarts of the active
        // pods (upstream `pastBackoffLimitOnFailure`).
        let on_failure_past = spec.template.restart_policy == RestartPolicy::OnFailure
            && if spec.backoff_limit == 0 {
                restarts > 0
            } else {
                restarts >= i64::from(spec.backoff_limit)
            };
        let past_limit = job.failed > spec.backoff_limit || on_failure_past;
        let past_deadline = spec
            .active_deadline_seconds
            .is_some_and(|d| now >= start + SimDuration::from_secs(d as u64));
        let done = match (spec.completion_mode, spec.completions) {
            (CompletionMode::Indexed, Some(c)) => job.completed_indexes.len() as i32 >= c,
            (_, Some(c)) => job.succeeded >= c,
            (_, None) => job.succeeded > 0 && active.is_empty(),
        };
        let outcome = if done {
            Some(JobOutcome::Complete)
        } else if past_limit {
            Some(JobOutcome::BackoffLimitExceeded)
        } else if past_deadline {
            Some(JobOutcome::DeadlineExceeded)
        } else {
            None
        };
        if let Some(outcome) = outcome {
            job.finished = true;
            let (reason, message) = match outcome {
                JobOutcome::Complete => ("Completed", "Job completed".to_string()),
                JobOutcome::BackoffLimitExceeded => (
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit".to_string(),
                ),
                JobOutcome::DeadlineExceeded => (
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline".to_string(),
                ),
            };
            state
                .recorder
                .event(now, "Job", key.to_string(), reason, message);
            state.recorder.jobs.push(JobRecord {
                name: spec.name.clone(),
                key: key.to_string(),
                start,
                end: now,
                outcome,
                succeeded: job.succeeded,
                failed: job.failed,
                queue_drained_at: state.task_queues.get(&spec.name).and_then(|q| q.drained_at),
            });
            if job.from_cron {
                ctx.send(
                    crate::cluster::wiring::Wiring::new().cronjob,
                    state.control_plane.watch_delay,
                    Event::Stateful(
                        crate::cluster::stateful_events::StatefulEvent::JobFinished {
                            key: key.to_string(),
                            outcome,
                        },
                    ),
                );
            }
            // A finished Job's active pods are deleted (upstream `deleteActivePods`).
            let by = format!("Job {key}");
            for (id, _) in active {
                apiserver::write(ctx, state, ApiWrite::DeletePod { id, by: by.clone() });
            }
            return;
        }
        if job.pending_adds > 0 {
            return;
        }
        let n_active = active.len() as i32;
        let want = match spec.completions {
            // A work-queue Job: once one pod succeeded, no new ones (upstream `syncJob`).
            None if job.succeeded > 0 => n_active,
            None => spec.parallelism,
            Some(c) => spec.parallelism.min(c - job.succeeded).max(0),
        };
        let diff = want - n_active;
        if diff <= 0 {
            return;
        }
        let ready_at = job.last_failure + pod_failure_backoff(job.failures_since_success);
        if ready_at > now {
            self.queue
                .add_after(key, ready_at.saturating_since(now), ctx);
            return;
        }
        let indexes: Vec<Option<i32>> = match (spec.completion_mode, spec.completions) {
            (CompletionMode::Indexed, Some(c)) => {
                let busy: BTreeSet<i32> = active.iter().filter_map(|(_, i)| *i).collect();
                (0..c)
                    .filter(|i| !job.completed_indexes.contains(i) && !busy.contains(i))
                    .take(diff as usize)
                    .map(Some)
                    .collect()
            }
            _ => vec![None; diff as usize],
        };
        job.pending_adds = indexes.len() as i64;
        let mut writes = Vec::new();
        for index in &indexes {
            let prefix = match index {
                Some(i) => format!("{}-{i}-", spec.name),
                None => format!("{}-", spec.name),
            };
            writes.push(ApiWrite::CreatePod {
                pod: Box::new(Self::pod_from_template(job, *index)),
                generate_name: prefix,
            });
        }
        if !writes.is_empty() {
            state.recorder.event(
                now,
                "Job",
                key.to_string(),
                "SuccessfulCreate",
                format!("Creating {} pod(s)", writes.len()),
            );
        }
        for w in writes {
            apiserver::write(ctx, state, w);
        }
    }

    fn on_watch(&mut self, w: &WatchEvent, ctx: &mut Context<'_, Event>) {
        let (
            ObjectRef::Pod {
                id,
                owner: Some(owner),
                ..
            },
            ObjectKind::Pod,
        ) = (&w.object, w.kind)
        else {
            return;
        };
        let Some(job) = self.jobs.get_mut(owner) else {
            return;
        };
        match w.change {
            Change::Added => job.pending_adds -= 1,
            // Deleted before it finished: a failure (upstream counts such pods as failed
            // through its tracking finalizer).
            Change::Deleted if !job.finished && job.counted.insert(*id) => {
                job.failed += 1;
                job.failures_since_success += 1;
                job.last_failure = ctx.now();
            }
            _ => {}
        }
        self.queue.add(owner, ctx);
    }
}

impl Component<Event, ClusterState> for JobController {
    fn name(&self) -> &str {
        "job-controller"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match event {
            Event::Watch(w) => self.on_watch(&w, ctx),
            Event::Controller(ControllerTimer::Reconcile(key)) => {
                self.queue.done(&key);
                // Only kube-controller-manager's leader reconciles (`cluster::control_plane`).
                if state.leadership.controller_manager {
                    self.reconcile(&key, state, ctx);
                }
            }
            // A fresh leader starts the controller: the informer's initial list queues every
            // object.
            Event::Controller(ControllerTimer::StartedLeading) => {
                let keys: Vec<String> = self.jobs.keys().cloned().collect();
                for k in keys {
                    self.queue.add(&k, ctx);
                }
            }
            Event::Stateful(crate::cluster::stateful_events::StatefulEvent::CreateJob {
                spec,
                workload,
            }) => {
                let key = spec.key();
                if self.jobs.contains_key(&key) {
                    return;
                }
                let template = Arc::new(spec.template.clone());
                self.jobs.insert(
                    key.clone(),
                    JobRun {
                        spec: *spec,
                        template,
                        start: None,
                        succeeded: 0,
                        failed: 0,
                        counted: BTreeSet::new(),
                        completed_indexes: BTreeSet::new(),
                        failures_since_success: 0,
                        last_failure: SimTime::ZERO,
                        pending_adds: 0,
                        finished: false,
                        workload,
                        from_cron: true,
                    },
                );
                self.queue.add(&key, ctx);
            }
            // A Job deleted (by its CronJob): its pods go with it (background propagation).
            Event::Stateful(crate::cluster::stateful_events::StatefulEvent::DeleteJob(key)) => {
                if self.jobs.remove(&key).is_none() {
                    return;
                }
                let by = format!("Job {key}");
                let ids: Vec<PodId> = state
                    .store
                    .pods_by_owner
                    .get(&key)
                    .into_iter()
                    .flatten()
                    .copied()
                    .collect();
                for id in ids {
                    apiserver::write(ctx, state, ApiWrite::DeletePod { id, by: by.clone() });
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_failure_backoff_doubles_from_10s_to_a_6_minute_cap() {
        // (failures since the last success, delay in seconds)
        for (n, want) in [
            (0, 0),
            (1, 10),
            (2, 20),
            (3, 40),
            (4, 80),
            (5, 160),
            (6, 320),
            (7, 360),
            (40, 360),
        ] {
            assert_eq!(
                pod_failure_backoff(n),
                SimDuration::from_secs(want),
                "n={n}"
            );
        }
    }
}
