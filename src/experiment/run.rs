//! Running one scenario to its end, or until a guard stops it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::cluster::invariants::{self, Violation};
use crate::cluster::metrics::{EventRow, SampleRow};
use crate::cluster::spec::ClusterSpec;
use crate::cluster::world::{RunOutput, World, WorldOptions};
use crate::engine::{SimDuration, SimTime};

/// Guards and checks on a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    /// Stop after this many events (the run is then partial).
    pub max_events: Option<u64>,
    /// Stop once this much wall-clock time has passed (checked between slices; the run is then
    /// partial). Wall time never enters the model: it only decides where the run is cut.
    pub max_wall: Option<Duration>,
    /// Verify the model's invariants ([`invariants::check`]) after every simulated second.
    pub check: bool,
}

/// What a progress callback sees after each slice of simulated time.
#[derive(Debug)]
pub struct Progress<'a> {
    /// Simulated time reached.
    pub now: SimTime,
    /// End of the run.
    pub end: SimTime,
    /// Event-log rows added since the previous callback.
    pub new_events: &'a [EventRow],
    /// Events processed so far.
    pub events_processed: u64,
}

/// A finished or stopped run.
#[derive(Debug)]
pub struct RunResult {
    /// What the model recorded.
    pub output: RunOutput,
    /// Why the run stopped early, if it did (outputs are then partial).
    pub partial: Option<String>,
    /// The invariant `--check` found broken, if any (the run stopped there).
    pub violation: Option<Violation>,
    /// Bad input found while running (a malformed trace row: `file:line: column ...`); the run
    /// stopped there and is partial. The CLI exits 2.
    pub input_error: Option<String>,
}

/// Number of slices a run is cut into for progress reporting.
const SLICES: u64 = 200;

/// Slice length under `--check`: invariants are verified at least every simulated second.
const CHECK_EVERY: SimDuration = SimDuration::from_secs(1);

/// Run `spec` to its end, calling `on_progress` after each of about 200 slices of simulated
/// time (the slicing does not change the run: events are processed in the same order).
pub fn run(
    spec: Arc<ClusterSpec>,
    limits: Limits,
    on_progress: &mut dyn FnMut(&Progress<'_>),
) -> RunResult {
    match run_with(spec, &WorldOptions::default(), limits, on_progress) {
        Ok(r) => r,
        Err(e) => panic!("{e}; use experiment::run_with with a Registry"),
    }
}

/// As [`run`], with a scheduler plugin registry and an explained pod ([`WorldOptions`]).
/// `Err` names a scheduler plugin the registry does not hold.
pub fn run_with(
    spec: Arc<ClusterSpec>,
    options: &WorldOptions,
    limits: Limits,
    on_progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<RunResult, String> {
    run_until_stopped(spec, options, limits, &AtomicBool::new(false), on_progress)
}

/// Events processed between two looks at the stop flag (and at `--max-wall`), so a stop request
/// is honoured within a bounded number of events even when one progress slice is long. Cutting
/// [`World::advance`] at an event count does not change the run.
const STOP_POLL_EVENTS: u64 = 1 << 16;

/// The reason recorded in `summary.json` (`partial_reason`) when a run is stopped through its
/// stop flag: it starts with the word `interrupted`.
pub fn interrupted_reason(now: SimTime) -> String {
    format!("interrupted (stop requested, e.g. Ctrl-C) at simulated time {now}")
}

/// As [`run_with`], and the run stops at the next event boundary once `stop` is set (by a
/// Ctrl-C handler in the CLI, or another thread): the result is then partial, with a reason
/// starting with `interrupted` ([`interrupted_reason`]). The flag is read only here, between
/// batches of events: the model never sees it, so a run that is not stopped is unchanged.
pub fn run_until_stopped(
    spec: Arc<ClusterSpec>,
    options: &WorldOptions,
    limits: Limits,
    stop: &AtomicBool,
    on_progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<RunResult, String> {
    run_inner(spec, options, limits, stop, None, on_progress)
}

/// Where a run's time-series rows go while it runs (see [`run_streaming`]).
pub trait SampleSink {
    /// Take the next `rows` of the time series, in the order they were recorded.
    fn write_rows(&mut self, rows: &[SampleRow]);
}

/// As [`run_until_stopped`], but the time-series rows are handed to `sink` as the run goes
/// (after every batch of at most [`STOP_POLL_EVENTS`] events, and once more at the end,
/// whether the run finished or was cut short) instead of being kept in the recorder: memory
/// then no longer grows with the run's length (a 24 h run of 1,000 nodes records about 9 M
/// rows). The result's `recorder.samples` is empty; the summary reads the aggregates it needs
/// from `recorder.sample_aggregates`. The run itself is unchanged.
pub fn run_streaming(
    spec: Arc<ClusterSpec>,
    options: &WorldOptions,
    limits: Limits,
    stop: &AtomicBool,
    sink: &mut dyn SampleSink,
    on_progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<RunResult, String> {
    run_inner(spec, options, limits, stop, Some(sink), on_progress)
}

/// Moves the rows recorded so far to `sink`, if there is one.
fn drain(world: &mut World, sink: &mut Option<&mut dyn SampleSink>) {
    if let Some(s) = sink.as_deref_mut() {
        world.drain_samples(&mut |rows| s.write_rows(rows));
    }
}

fn run_inner(
    spec: Arc<ClusterSpec>,
    options: &WorldOptions,
    limits: Limits,
    stop: &AtomicBool,
    mut sink: Option<&mut dyn SampleSink>,
    on_progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<RunResult, String> {
    let started = Instant::now();
    // A trace is opened here (the scenario layer reads the files; the model pulls rows).
    let mut input_error = None;
    let sources = match &spec.trace {
        Some(t) => match crate::scenario::trace::open(t) {
            Ok(s) => Some(s),
            Err(e) => {
                input_error = Some(e.to_string());
                None
            }
        },
        None => None,
    };
    let mut world = World::with_options_and_trace(spec, options, sources)?;
    if let Some(e) = &input_error {
        drain(&mut world, &mut sink);
        return Ok(RunResult {
            output: world.finish(),
            partial: Some(format!("trace could not be opened: {e}")),
            violation: None,
            input_error,
        });
    }
    let end = world.end();
    let mut slice = SimDuration::from_nanos((end.as_nanos() / SLICES).max(1));
    if limits.check && slice > CHECK_EVERY {
        slice = CHECK_EVERY;
    }
    let mut reported = 0usize;
    let mut partial = None;
    let mut violation = None;
    let mut last_report = SimTime::ZERO;
    let report_every = SimDuration::from_nanos((end.as_nanos() / SLICES).max(1));
    loop {
        let remaining = match limits.max_events {
            Some(m) => m.saturating_sub(world.events_processed()),
            None => u64::MAX,
        };
        let target = if world.now() + slice > end {
            end
        } else {
            world.now() + slice
        };
        // Advance to `target` in batches of events, looking at the stop flag and the wall clock
        // between batches.
        let mut hit = false;
        let mut stopped = false;
        let mut wall_hit = false;
        let mut left = remaining;
        loop {
            let before = world.events_processed();
            let batch = left.min(STOP_POLL_EVENTS);
            let cut = world.advance(target, batch);
            drain(&mut world, &mut sink);
            left = left.saturating_sub(world.events_processed() - before);
            if cut && left == 0 {
                hit = true;
                break;
            }
            if stop.load(Ordering::Relaxed) {
                stopped = true;
                break;
            }
            if !cut {
                break;
            }
            if let Some(w) = limits.max_wall
                && started.elapsed() >= w
            {
                wall_hit = true;
                break;
            }
        }
        if limits.check
            && let Err(v) = invariants::check(world.state(), world.now())
        {
            partial = Some(format!("invariant violated at {}: {}", v.at, v.message));
            violation = Some(v);
        }
        let done = world.is_done();
        if done
            || hit
            || stopped
            || wall_hit
            || violation.is_some()
            || world.now().saturating_since(last_report) >= report_every
        {
            last_report = world.now();
            let events = &world.state().recorder.events;
            on_progress(&Progress {
                now: world.now(),
                end,
                new_events: &events[reported..],
                events_processed: world.events_processed(),
            });
            reported = events.len();
        }
        if violation.is_some() {
            break;
        }
        if let Some(e) = &world.state().recorder.trace.error {
            partial = Some(format!("trace replay stopped: {e}"));
            input_error = Some(e.to_string());
            break;
        }
        if hit {
            partial = Some(format!(
                "stopped by --max-events {} at simulated time {}",
                limits.max_events.unwrap_or(0),
                world.now()
            ));
            break;
        }
        if !done && (stopped || stop.load(Ordering::Relaxed)) {
            partial = Some(interrupted_reason(world.now()));
            break;
        }
        if done {
            break;
        }
        if let Some(w) = limits.max_wall
            && (wall_hit || started.elapsed() >= w)
        {
            partial = Some(format!(
                "stopped by --max-wall {:.3}s at simulated time {}",
                w.as_secs_f64(),
                world.now()
            ));
            break;
        }
    }
    drain(&mut world, &mut sink);
    Ok(RunResult {
        output: world.finish(),
        partial,
        violation,
        input_error,
    })
}
