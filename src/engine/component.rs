//! Components (the simulation's participants) and the [`Context`] a handler acts through.

use super::queue::{EventId, EventQueue};
use super::rng::SimRng;
use super::time::{SimDuration, SimTime};

/// Identifies a registered component: its index in registration order (0, 1, 2, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComponentId(pub u32);

/// A simulation participant: it receives events addressed to it, one at a time, in
/// `(time, seq)` order.
///
/// `E` is the event type (a closed enum), `S` the shared world state, handed to every handler
/// as `&mut S`. A component reacts only through its arguments: it mutates the state, schedules
/// or cancels events and draws random numbers through the [`Context`]. It must not use wall
/// clocks, OS entropy or iteration over hash containers (see the determinism contract in
/// [`crate::engine`]).
pub trait Component<E, S> {
    /// The component's stable, unique name (e.g. `"scheduler"`, `"kubelet/node-7"`). Its random
    /// stream is derived from this name, so renaming a component changes its draws.
    fn name(&self) -> &str;

    /// Handles one event due now (`ctx.now()`).
    fn handle(&mut self, event: E, state: &mut S, ctx: &mut Context<'_, E>);
}

/// What a handler can do besides touching the shared state: read the clock, send and cancel
/// events, draw from its own random stream, and stop the run.
///
/// Borrows the simulation's event queue and stop flag ([`Core`]) and the handling component's
/// RNG for the duration of one event; creating it costs nothing (no allocation: three words
/// written per event).
pub struct Context<'a, E> {
    pub(crate) core: &'a mut Core<E>,
    pub(crate) rng: &'a mut SimRng,
    pub(crate) self_id: ComponentId,
}

/// The part of a [`Simulation`](super::Simulation) that handlers act on besides their own
/// random streams: the event queue and the stop flag, side by side so that a [`Context`] needs
/// one pointer for both.
pub(crate) struct Core<E> {
    /// The future-event list. Its last popped time is the current time while a handler runs.
    pub(crate) queue: EventQueue<E>,
    /// Set by [`Context::stop`].
    pub(crate) stopped: bool,
}

impl<'a, E> Context<'a, E> {
    /// The current virtual time: the time of the event being handled (the queue's last
    /// popped time: handlers cannot pop).
    #[inline]
    pub fn now(&self) -> SimTime {
        self.core.queue.last_popped_time()
    }

    /// The id of the component handling the event.
    #[inline]
    pub fn self_id(&self) -> ComponentId {
        self.self_id
    }

    /// Sends `event` to `target`, due `delay` from now (a zero delay means "now, after every
    /// event already scheduled for now"). Returns an id that can cancel it.
    #[inline]
    pub fn send(&mut self, target: ComponentId, delay: SimDuration, event: E) -> EventId {
        // `now + delay` saturates, so it is never before now, the last popped time.
        let time = self.now() + delay;
        self.core.queue.schedule_in_handler(time, target, event)
    }

    /// Sends `event` to `target`, due at the absolute `time`, which must not be before
    /// [`now`](Self::now) (debug builds panic; release builds clamp to now).
    #[inline]
    pub fn send_at(&mut self, target: ComponentId, time: SimTime, event: E) -> EventId {
        let now = self.now();
        debug_assert!(time >= now, "send_at into the past: {time:?} < now {now:?}");
        self.core
            .queue
            .schedule_in_handler(time.max(now), target, event)
    }

    /// Sends `event` to the handling component itself, due `delay` from now (a timer).
    #[inline]
    pub fn send_self(&mut self, delay: SimDuration, event: E) -> EventId {
        let time = self.now() + delay;
        self.core
            .queue
            .schedule_in_handler(time, self.self_id, event)
    }

    /// Cancels a pending event; `true` if it was pending, `false` if it already fired or was
    /// cancelled.
    #[inline]
    pub fn cancel(&mut self, id: EventId) -> bool {
        self.core.queue.cancel(id)
    }

    /// This component's own random stream (derived from the master seed and its name).
    #[inline]
    pub fn rng(&mut self) -> &mut SimRng {
        self.rng
    }

    /// Asks the simulation to stop after this event: no further event is processed, and
    /// [`Simulation::is_stopped`](super::Simulation::is_stopped) becomes `true`.
    #[inline]
    pub fn stop(&mut self) {
        self.core.stopped = true;
    }
}
