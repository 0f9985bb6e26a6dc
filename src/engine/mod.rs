//! # engine: virtual time, the event queue, components and seeded random streams
//!
//! A small, general discrete-event simulation kernel. It knows nothing of Kubernetes: the
//! `cluster` layer supplies the event type `E`, the shared state `S` and the components.
//!
//! - [`SimTime`] / [`SimDuration`]: integer nanoseconds, saturating arithmetic.
//! - [`EventQueue`]: the future-event list, a monotone radix heap of 16-byte entries with
//!   payloads in a slab and O(1) lazy cancellation by [`EventId`] (see its docs for why
//!   not a `BinaryHeap`).
//! - [`Component`] + [`Context`]: a participant and what its handler may do (send, cancel, draw
//!   random numbers, stop).
//! - [`Simulation`]: owns all of the above and the shared state and dispatches events.
//! - [`stream_rng`] / [`SimRng`]: per-component ChaCha8 streams; [`TraceHasher`]: a portable
//!   FNV-1a 64 fingerprint for event traces.
//!
//! ## Ordering contract
//!
//! 1. Events are dispatched in ascending `(time, seq)` order. `time` is a [`SimTime`]
//!    (nanoseconds since the start of the run); `seq` is a counter global to the queue, taken
//!    when the event is scheduled. Events for the same instant are therefore first-in
//!    first-out, and a zero-delay send from a handler fires after everything already scheduled
//!    for that instant.
//! 2. Time never goes backwards: the clock jumps to each dispatched event's time, and
//!    scheduling before the current time is a bug (debug builds panic; release builds clamp the
//!    event to the current time).
//! 3. Cancelled events are never dispatched and never observed; cancelling does not consume or
//!    reorder any other event's `seq`.
//! 4. The observer ([`Simulation::set_observer`]) sees every dispatched event, in dispatch order,
//!    just before its handler runs.
//!
//! ## Determinism contract
//!
//! 1. A run is a pure function of: the master seed, the components (their names, behaviour and
//!    registration order) and the events scheduled from outside, in scheduling order.
//! 2. Each component draws only from its own [`SimRng`], derived from (master seed, component
//!    name) by [`stream_rng`] with fixed, portable algorithms, so adding or removing a component
//!    leaves the others' draws unchanged, and results are identical across platforms and
//!    releases.
//! 3. The engine uses no wall clock, no OS entropy, no threads, no hash-ordered iteration and no
//!    `std` `DefaultHasher`; [`TraceHasher`] is the portable hash for comparing runs.

mod component;
mod queue;
mod rng;
mod sim;
mod time;
mod trace;

pub use component::{Component, ComponentId, Context};
pub use queue::{EventId, EventQueue};
pub use rng::{SimRng, stream_rng};
pub use sim::{Observer, Simulation, StepOutcome};
pub use time::{SimDuration, SimTime};
pub use trace::TraceHasher;
