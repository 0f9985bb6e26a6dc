//! The CronJob controller (upstream `pkg/controller/cronjob/cronjob_controllerv2.go`
//! `syncCronJob`, and `utils.go` `mostRecentScheduleTime`).
//!
//! A sync runs at every scheduled time and whenever one of the CronJob's Jobs finishes. It
//! finds the most recent scheduled time after the last one it started (or the run's start),
//! and then, as upstream:
//! - `suspend`: nothing starts;
//! - later than `startingDeadlineSeconds` after that time: skipped (`MissSchedule`), which can
//!   happen only when the controller could not act on time (the API server was down);
//! - `Forbid` with a Job still active: skipped (`JobAlreadyActive`) — and because the last
//!   schedule time does not advance, the missed run starts as soon as the active Job
//!   finishes, unless its starting deadline has passed by then;
//! - `Replace` with active Jobs: they are deleted (`SuccessfulDelete`) and the new one starts;
//! - otherwise the Job `<cronjob>-<scheduled time in minutes>` is created (`getJobName`)
//!   through the Job controller.
//!
//! Finished Jobs beyond `successfulJobsHistoryLimit` / `failedJobsHistoryLimit` are deleted,
//! oldest first (`cleanupFinishedJobs`). More than 100 missed times since the last run is
//! reported (`TooManyMissedTimes`) and only the most recent one considered.

use std::collections::BTreeSet;

use crate::cluster::controllers::job::JobOutcome;
use crate::cluster::events::Event;
use crate::cluster::state::ClusterState;
use crate::cluster::stateful_events::StatefulEvent;
use crate::cluster::stateful_record::CronRecord;
use crate::cluster::stateful_spec::{ConcurrencyPolicy, CronJobSpec};
use crate::cluster::wiring::Wiring;
use crate::engine::{Component, Context, EventId, SimDuration, SimTime};

/// Upstream's limit on missed start times counted before it reports `TooManyMissedTimes`.
pub const MAX_MISSED_TIMES: u32 = 100;

/// The most recent time `spec.schedule` fired in `(after, now]`, and how many times it fired
/// there (upstream `mostRecentScheduleTime`); `None` if it did not fire.
pub fn most_recent_schedule_time(
    spec: &CronJobSpec,
    after: SimTime,
    now: SimTime,
) -> Option<(SimTime, u32)> {
    let mut t = after;
    let mut last = None;
    let mut n = 0u32;
    while let Some(next) = spec.schedule.next_after(t) {
        if next > now {
            break;
        }
        last = Some(next);
        n = n.saturating_add(1);
        t = next;
    }
    last.map(|l| (l, n))
}

/// What a sync decides for one scheduled time (pure).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Start a Job for the scheduled time (after deleting the active ones with `Replace`).
    Start {
        /// Delete the active Jobs first.
        replace: bool,
    },
    /// `suspend` is set.
    Suspended,
    /// Too late: past `startingDeadlineSeconds`.
    MissedDeadline,
    /// `Forbid` and a Job is active.
    Forbidden,
}

/// The decision for a run scheduled at `scheduled`, synced at `now`, with `active` Jobs.
pub fn decide(spec: &CronJobSpec, scheduled: SimTime, now: SimTime, active: usize) -> Decision {
    if spec.suspend {
        return Decision::Suspended;
    }
    if let Some(d) = spec.starting_deadline_seconds
        && scheduled + SimDuration::from_secs(d.max(0) as u64) < now
    {
        return Decision::MissedDeadline;
    }
    match spec.concurrency_policy {
        ConcurrencyPolicy::Forbid if active > 0 => Decision::Forbidden,
        ConcurrencyPolicy::Replace => Decision::Start {
            replace: active > 0,
        },
        _ => Decision::Start { replace: false },
    }
}

#[derive(Debug)]
struct Cron {
    spec: CronJobSpec,
    /// `status.lastScheduleTime`.
    last_schedule: Option<SimTime>,
    /// The last scheduled time reported as past its starting deadline (reported once).
    last_missed: Option<SimTime>,
    /// The last scheduled time held back by `Forbid` (reported once).
    last_forbidden: Option<SimTime>,
    /// `status.active`: Job keys.
    active: BTreeSet<String>,
    /// Finished Jobs still kept: (scheduled time, key, succeeded).
    finished: Vec<(SimTime, String, bool)>,
    /// Scheduled time of each Job created, by key.
    started: Vec<(String, SimTime)>,
    /// The pending timer for the next scheduled time.
    timer: Option<EventId>,
}

/// The CronJob controller component.
#[derive(Debug)]
pub struct CronJobController {
    crons: Vec<Cron>,
}

impl CronJobController {
    /// A controller for `specs`; the world schedules each one's first sync at time zero.
    pub fn new(specs: &[CronJobSpec]) -> Self {
        CronJobController {
            crons: specs
                .iter()
                .map(|s| Cron {
                    spec: s.clone(),
                    last_schedule: None,
                    last_missed: None,
                    last_forbidden: None,
                    active: BTreeSet::new(),
                    finished: Vec::new(),
                    started: Vec::new(),
                    timer: None,
                })
                .collect(),
        }
    }

    /// The records the controller fills, one per CronJob.
    pub fn records(specs: &[CronJobSpec]) -> Vec<CronRecord> {
        specs
            .iter()
            .map(|s| CronRecord {
                key: s.key(),
                ..CronRecord::default()
            })
            .collect()
    }

    fn sync(&mut self, i: usize, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let w = Wiring::new();
        let Some(c) = self.crons.get_mut(i) else {
            return;
        };
        if let Some(t) = c.timer.take() {
            ctx.cancel(t);
        }
        // Without a kube-controller-manager leader nothing syncs; the next leader syncs
        // every CronJob when it starts (`StartedLeading`).
        if !state.leadership.controller_manager {
            return;
        }
        // The API server refuses writes: the sync fails and is retried when it is back.
        if let Some(until) = state.api_down_until.filter(|u| now < *u) {
            c.timer = Some(ctx.send_at(
                ctx.self_id(),
                until,
                Event::Stateful(StatefulEvent::CronTick(i as u32)),
            ));
            return;
        }
        let key = c.spec.key();
        let after = c.last_schedule.unwrap_or(SimTime::ZERO);
        if let Some((scheduled, missed)) = most_recent_schedule_time(&c.spec, after, now) {
            // A skipped time is reported once, but looked at again at every sync: a run
            // Forbid held back starts when the active Job is gone, deadline permitting.
            let first_miss = c.last_missed != Some(scheduled);
            let first_forbid = c.last_forbidden != Some(scheduled);
            if missed > MAX_MISSED_TIMES {
                state.recorder.event(
                    now,
                    "CronJob",
                    key.clone(),
                    "TooManyMissedTimes",
                    format!("too many missed start times: {missed}"),
                );
            }
            let rec = state.recorder.stateful.cron_jobs.get_mut(i);
            match decide(&c.spec, scheduled, now, c.active.len()) {
                Decision::Suspended => {}
                Decision::MissedDeadline if first_miss => {
                    c.last_missed = Some(scheduled);
                    if let Some(r) = rec {
                        r.missed_deadline += 1;
                    }
                    state.recorder.event(
                        now,
                        "CronJob",
                        key.clone(),
                        "MissSchedule",
                        format!(
                            "Missed scheduled time to start a job: {} s",
                            scheduled.as_secs_f64()
                        ),
                    );
                }
                Decision::MissedDeadline => {}
                Decision::Forbidden if !first_forbid => {}
                Decision::Forbidden => {
                    c.last_forbidden = Some(scheduled);
                    if let Some(r) = rec {
                        r.skipped_forbid += 1;
                    }
                    state.recorder.event(
                        now,
                        "CronJob",
                        key.clone(),
                        "JobAlreadyActive",
                        "Not starting job because prior execution is running and concurrency policy is Forbid".to_string(),
                    );
                }
                Decision::Start { replace } => {
                    let mut replaced = 0;
                    if replace {
                        for job in std::mem::take(&mut c.active) {
                            replaced += 1;
                            state.recorder.event(
                                now,
                                "CronJob",
                                key.clone(),
                                "SuccessfulDelete",
                                format!("Deleted job {}", job.rsplit('/').next().unwrap_or(&job)),
                            );
                            ctx.send(
                                w.job,
                                state.control_plane.api_write_latency,
                                Event::Stateful(StatefulEvent::DeleteJob(job)),
                            );
                        }
                    }
                    let minutes = scheduled.as_nanos() / 60_000_000_000;
                    let mut job = c.spec.job_template.clone();
                    job.name = format!("{}-{minutes}", c.spec.name);
                    let job_key = job.key();
                    state.recorder.event(
                        now,
                        "CronJob",
                        key.clone(),
                        "SuccessfulCreate",
                        format!("Created job {}", job.name),
                    );
                    c.active.insert(job_key.clone());
                    c.started.push((job_key, scheduled));
                    c.last_schedule = Some(scheduled);
                    ctx.send(
                        w.job,
                        state.control_plane.api_write_latency,
                        Event::Stateful(StatefulEvent::CreateJob {
                            spec: Box::new(job),
                            workload: c.spec.name.clone(),
                        }),
                    );
                    if let Some(r) = state.recorder.stateful.cron_jobs.get_mut(i) {
                        r.jobs_created += 1;
                        r.replaced += replaced;
                    }
                }
            }
        }
        if let Some(r) = state.recorder.stateful.cron_jobs.get_mut(i) {
            r.active = c.active.len() as u32;
        }
        // Requeue at the next scheduled time.
        if !c.spec.suspend
            && let Some(next) = c.spec.schedule.next_after(now)
        {
            c.timer = Some(ctx.send_at(
                ctx.self_id(),
                next,
                Event::Stateful(StatefulEvent::CronTick(i as u32)),
            ));
        }
    }

    fn job_finished(
        &mut self,
        job: &str,
        outcome: JobOutcome,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        let Some(i) = self.crons.iter().position(|c| c.active.contains(job)) else {
            return;
        };
        let c = &mut self.crons[i];
        c.active.remove(job);
        let ok = outcome == JobOutcome::Complete;
        let scheduled = c
            .started
            .iter()
            .find(|(k, _)| k == job)
            .map_or(now, |(_, t)| *t);
        c.finished.push((scheduled, job.to_string(), ok));
        let key = c.spec.key();
        state.recorder.event(
            now,
            "CronJob",
            key.clone(),
            "SawCompletedJob",
            format!("Saw completed job: {job}, condition: {}", outcome.as_str()),
        );
        if let Some(r) = state.recorder.stateful.cron_jobs.get_mut(i) {
            if ok {
                r.jobs_succeeded += 1;
            } else {
                r.jobs_failed += 1;
            }
        }
        // History limits: oldest first.
        c.finished.sort_by_key(|(t, _, _)| *t);
        for (succeeded, limit) in [
            (true, c.spec.successful_jobs_history_limit),
            (false, c.spec.failed_jobs_history_limit),
        ] {
            let of_kind: Vec<String> = c
                .finished
                .iter()
                .filter(|(_, _, s)| *s == succeeded)
                .map(|(_, k, _)| k.clone())
                .collect();
            let excess = of_kind.len().saturating_sub(limit.max(0) as usize);
            for k in of_kind.into_iter().take(excess) {
                c.finished.retain(|(_, x, _)| *x != k);
                state.recorder.event(
                    now,
                    "CronJob",
                    key.clone(),
                    "SuccessfulDelete",
                    format!("Deleted job {}", k.rsplit('/').next().unwrap_or(&k)),
                );
                if let Some(r) = state.recorder.stateful.cron_jobs.get_mut(i) {
                    r.jobs_deleted += 1;
                }
                ctx.send(
                    Wiring::new().job,
                    state.control_plane.api_write_latency,
                    Event::Stateful(StatefulEvent::DeleteJob(k)),
                );
            }
        }
        self.sync(i, state, ctx);
    }
}

impl Component<Event, ClusterState> for CronJobController {
    fn name(&self) -> &str {
        "cronjob-controller"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match event {
            Event::Stateful(StatefulEvent::CronTick(i)) => {
                if let Some(c) = self.crons.get_mut(i as usize) {
                    c.timer = None;
                }
                self.sync(i as usize, state, ctx);
            }
            Event::Stateful(StatefulEvent::JobFinished { key, outcome }) => {
                self.job_finished(&key, outcome, state, ctx)
            }
            // A fresh leader starts the controller: every CronJob is synced (missed runs
            // within their starting deadline are made up, as upstream).
            Event::Controller(crate::cluster::events::ControllerTimer::StartedLeading) => {
                for i in 0..self.crons.len() {
                    self.sync(i, state, ctx);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::cron::CronSchedule;
    use crate::cluster::spec::{CompletionMode, JobSpec, PodTemplateSpec};

    fn spec(schedule: &str, policy: ConcurrencyPolicy, deadline: Option<i64>) -> CronJobSpec {
        CronJobSpec {
            name: "backup".into(),
            namespace: "default".into(),
            schedule_text: schedule.into(),
            schedule: CronSchedule::parse(schedule).unwrap(),
            concurrency_policy: policy,
            starting_deadline_seconds: deadline,
            successful_jobs_history_limit: 3,
            failed_jobs_history_limit: 1,
            suspend: false,
            job_template: JobSpec {
                name: "backup".into(),
                namespace: "default".into(),
                parallelism: 1,
                completions: Some(1),
                backoff_limit: 6,
                active_deadline_seconds: None,
                completion_mode: CompletionMode::NonIndexed,
                template: PodTemplateSpec::default(),
            },
        }
    }

    fn m(x: u64) -> SimTime {
        SimTime(x * 60_000_000_000)
    }

    #[test]
    fn most_recent_schedule_time_counts_the_missed_ones() {
        let s = spec("*/5 * * * *", ConcurrencyPolicy::Allow, None);
        // (after, now, expected)
        for (after, now, want) in [
            (0, 4, None),
            (0, 5, Some((m(5), 1))),
            (0, 17, Some((m(15), 3))),
            (5, 9, None),
            (5, 10, Some((m(10), 1))),
        ] {
            assert_eq!(
                most_recent_schedule_time(&s, m(after), m(now)),
                want,
                "after {after} now {now}"
            );
        }
    }

    #[test]
    fn concurrency_policies_and_deadlines() {
        use ConcurrencyPolicy::*;
        // (policy, deadline s, scheduled min, now min, active jobs, decision)
        let cases = [
            (Allow, None, 5, 5, 0, Decision::Start { replace: false }),
            (Allow, None, 5, 5, 2, Decision::Start { replace: false }),
            (Forbid, None, 5, 5, 0, Decision::Start { replace: false }),
            (Forbid, None, 5, 5, 1, Decision::Forbidden),
            // Forbid without a deadline: the missed run starts late once the Job finished.
            (Forbid, None, 5, 9, 0, Decision::Start { replace: false }),
            (Replace, None, 5, 5, 1, Decision::Start { replace: true }),
            (Replace, None, 5, 5, 0, Decision::Start { replace: false }),
            (Allow, Some(60), 5, 6, 0, Decision::Start { replace: false }),
            (Allow, Some(60), 5, 7, 0, Decision::MissedDeadline),
            (Forbid, Some(30), 5, 9, 0, Decision::MissedDeadline),
        ];
        for (i, (policy, deadline, sched, now, active, want)) in cases.into_iter().enumerate() {
            let s = spec("*/5 * * * *", policy, deadline);
            assert_eq!(decide(&s, m(sched), m(now), active), want, "case {i}");
        }
        let mut s = spec("*/5 * * * *", Allow, None);
        s.suspend = true;
        assert_eq!(decide(&s, m(5), m(5), 0), Decision::Suspended);
    }
}
