//! Running one scenario to its end, or until a guard stops it.

use std::sync::Arc;

use crate::cluster::metrics::EventRow;
use crate::cluster::spec::ClusterSpec;
use crate::cluster::world::{RunOutput, World};
use crate::engine::{SimDuration, SimTime};

/// Guards on a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limits {
    /// Stop after this many events (the run is then partial).
    pub max_events: Option<u64>,
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
}

/// Number of slices a run is cut into for progress reporting.
const SLICES: u64 = 200;

/// Run `spec` to its end, calling `on_progress` after each of about 200 slices of simulated
/// time (the slicing does not change the run: events are processed in the same order).
pub fn run(
    spec: Arc<ClusterSpec>,
    limits: Limits,
    on_progress: &mut dyn FnMut(&Progress<'_>),
) -> RunResult {
    let mut world = World::new(spec);
    let end = world.end();
    let slice = SimDuration::from_nanos((end.as_nanos() / SLICES).max(1));
    let mut reported = 0usize;
    let mut partial = None;
    loop {
        let budget = match limits.max_events {
            Some(m) => m.saturating_sub(world.events_processed()),
            None => u64::MAX,
        };
        let target = if world.now() + slice > end {
            end
        } else {
            world.now() + slice
        };
        let hit = world.advance(target, budget);
        let events = &world.state().recorder.events;
        on_progress(&Progress {
            now: world.now(),
            end,
            new_events: &events[reported..],
            events_processed: world.events_processed(),
        });
        reported = events.len();
        if hit {
            partial = Some(format!(
                "stopped by --max-events {} at simulated time {}",
                limits.max_events.unwrap_or(0),
                world.now()
            ));
            break;
        }
        if world.is_done() {
            break;
        }
    }
    RunResult {
        output: world.finish(),
        partial,
    }
}
