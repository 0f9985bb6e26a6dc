//! [`Simulation`]: owns the clock, the event queue, the components with their random streams,
//! and the shared state, and dispatches events one at a time.

use super::component::{Component, ComponentId, Context, Core};
use super::queue::{EventId, EventQueue, Popped};
use super::rng::{SimRng, stream_rng};
use super::time::SimTime;
use super::trace::TraceHasher;

/// The result of one [`Simulation::step`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// One event was dispatched (its handler may have called [`Context::stop`]; check
    /// [`Simulation::is_stopped`]).
    Processed,
    /// No live event is pending; nothing was done.
    Empty,
    /// The simulation had already been stopped; nothing was done.
    Stopped,
}

/// A per-event observer, see [`Simulation::set_observer`]: called with
/// `(time, seq, target, &event)` just before each event is dispatched.
pub type Observer<E> = Box<dyn FnMut(SimTime, u64, ComponentId, &E)>;

/// A registered component with its random stream, side by side so that dispatch can borrow
/// both at once.
struct Entry<E, S> {
    component: Box<dyn Component<E, S>>,
    rng: SimRng,
}

/// A discrete-event simulation over events `E` and shared state `S`.
///
/// Events are dispatched in `(time, seq)` order (see [`EventQueue`]); the clock jumps to each
/// event's time and never goes backwards. Given the same master seed, the same components
/// (same names, registered in the same order) and the same initial events, a run is exactly
/// reproducible.
pub struct Simulation<E, S> {
    /// The event queue and the stop flag. The queue's pop count is the number of events
    /// dispatched, and its last popped time the time of the last one.
    core: Core<E>,
    entries: Vec<Entry<E, S>>,
    state: S,
    master_seed: u64,
    /// The bound of the last completed [`run_until`](Self::run_until) (zero before): the clock
    /// is the later of this and the last dispatched event's time.
    bound: SimTime,
    observer: Option<Observer<E>>,
    /// The built-in trace fingerprint, see [`Simulation::enable_trace_hash`].
    trace: Option<TraceHasher>,
    /// `observer` or `trace` is set: one test per event when neither is.
    hooked: bool,
}

impl<E, S> Simulation<E, S> {
    /// A simulation at time zero with no components, no events, and the given master seed and
    /// initial shared state.
    pub fn new(master_seed: u64, state: S) -> Self {
        Simulation {
            core: Core {
                queue: EventQueue::new(),
                stopped: false,
            },
            entries: Vec::new(),
            state,
            master_seed,
            bound: SimTime::ZERO,
            observer: None,
            trace: None,
            hooked: false,
        }
    }

    /// Registers a component and returns its id (ids are handed out 0, 1, 2, ... in
    /// registration order). Its random stream is `stream_rng(master_seed, component.name())`.
    /// Names should be unique: two components with the same name would draw identical numbers.
    pub fn add_component(&mut self, component: Box<dyn Component<E, S>>) -> ComponentId {
        let id = u32::try_from(self.entries.len()).expect("more than 2^32 components");
        let rng = stream_rng(self.master_seed, component.name());
        self.entries.push(Entry { component, rng });
        ComponentId(id)
    }

    /// Schedules `event` for `target` at `time` from outside any handler (initial events,
    /// timeline actions). `time` must not be before [`now`](Self::now): debug builds panic,
    /// release builds clamp to now. Panics if `target` is not registered.
    pub fn schedule(&mut self, time: SimTime, target: ComponentId, event: E) -> EventId {
        assert!(
            (target.0 as usize) < self.entries.len(),
            "schedule: unknown component {target:?}"
        );
        let now = self.now();
        debug_assert!(
            time >= now,
            "schedule into the past: {time:?} < now {now:?}"
        );
        // Now is never before the last popped time.
        self.core
            .queue
            .schedule_from_floor(time.max(now), target, event)
    }

    /// Cancels a pending event; `true` if it was pending.
    pub fn cancel(&mut self, id: EventId) -> bool {
        self.core.queue.cancel(id)
    }

    /// The current virtual time: the time of the last dispatched event, or the bound of the
    /// last completed [`run_until`](Self::run_until), whichever is later.
    pub fn now(&self) -> SimTime {
        self.bound.max(self.core.queue.last_popped_time())
    }

    /// The shared state.
    pub fn state(&self) -> &S {
        &self.state
    }

    /// The shared state, mutably (for setup and for inspection between runs).
    pub fn state_mut(&mut self) -> &mut S {
        &mut self.state
    }

    /// Consumes the simulation and returns the shared state.
    pub fn into_state(self) -> S {
        self.state
    }

    /// Total number of events dispatched since the simulation was created.
    pub fn events_processed(&self) -> u64 {
        // Every pop is dispatched.
        self.core.queue.popped()
    }

    /// Number of live pending events.
    pub fn pending(&self) -> usize {
        self.core.queue.len()
    }

    /// Installs an observer called for every event just before it is dispatched, with
    /// `(time, seq, target, &event)`; replaces any previous observer. Used for event logs and
    /// trace hashing.
    pub fn set_observer(&mut self, f: Observer<E>) {
        self.observer = Some(f);
        self.hooked = true;
    }

    /// Starts fingerprinting the event trace: from now on, every dispatched event feeds its
    /// time (ns), `seq` and target id, in that order, each with [`TraceHasher::write_word`],
    /// into a [`TraceHasher`] kept by the simulation (read it with
    /// [`trace_hash`](Self::trace_hash)). The same as an observer doing so, without the cost
    /// of a boxed closure call per event. Calling it again restarts the fingerprint.
    pub fn enable_trace_hash(&mut self) {
        self.trace = Some(TraceHasher::new());
        self.hooked = true;
    }

    /// The trace fingerprint so far ([`TraceHasher::finish`]), or `None` if
    /// [`enable_trace_hash`](Self::enable_trace_hash) was never called.
    pub fn trace_hash(&self) -> Option<u64> {
        self.trace.map(|h| h.finish())
    }

    /// Dispatches the next event, if any, and if the simulation is not stopped.
    #[inline]
    pub fn step(&mut self) -> StepOutcome {
        if self.core.stopped {
            return StepOutcome::Stopped;
        }
        match self.core.queue.pop_header_until(SimTime::MAX) {
            Some(p) => {
                self.dispatch(p);
                StepOutcome::Processed
            }
            None => StepOutcome::Empty,
        }
    }

    /// Dispatches every event due at or before `until`, in order, unless a handler stops the
    /// run. Then, if not stopped, advances the clock to `until` (never backwards). Returns the
    /// number of events dispatched in this call.
    pub fn run_until(&mut self, until: SimTime) -> u64 {
        self.run_until_limited(until, u64::MAX).0
    }

    /// Like [`run_until`](Self::run_until), but dispatches at most `max_events` events in this
    /// call. Returns `(dispatched, hit_limit)`, where `hit_limit` is `true` if the limit ended
    /// the call while events due at or before `until` were still pending; in that case (as
    /// when stopped) the clock stays at the last dispatched event's time.
    pub fn run_until_limited(&mut self, until: SimTime, max_events: u64) -> (u64, bool) {
        let mut n = 0u64;
        while !self.core.stopped {
            if n == max_events {
                let more = self.core.queue.peek_time().is_some_and(|t| t <= until);
                if more {
                    return (n, true);
                }
                break;
            }
            match self.core.queue.pop_header_until(until) {
                Some(p) => {
                    self.dispatch(p);
                    n += 1;
                }
                None => break,
            }
        }
        if !self.core.stopped && until > self.now() {
            self.bound = until;
        }
        (n, false)
    }

    /// `true` once a handler has called [`Context::stop`].
    pub fn is_stopped(&self) -> bool {
        self.core.stopped
    }

    /// The name of a registered component. Panics if `id` is not registered.
    pub fn component_name(&self, id: ComponentId) -> &str {
        self.entries[id.0 as usize].component.name()
    }

    /// The master seed the component streams are derived from.
    pub fn master_seed(&self) -> u64 {
        self.master_seed
    }

    /// Hands one popped event to its target's handler, moving the payload once, from the
    /// queue's slot straight into the handler's argument (the observer sees it in its slot).
    /// No allocation. The clock and the event count need no update: both are the queue's
    /// (its last popped time and its pop count).
    #[inline]
    #[allow(unsafe_code)]
    fn dispatch(&mut self, p: Popped) {
        let target = p.target;
        if self.hooked {
            self.run_hooks(&p);
        }
        let Some(Entry { component, rng }) = self.entries.get_mut(target.0 as usize) else {
            panic!("event for unknown component {target:?}");
        };
        // The payload is taken in the argument list, so that it moves from its slot into the
        // argument directly: a local in between costs a second copy of the whole event, whose
        // loads stall on the first copy's differently aligned stores.
        component.handle(
            // SAFETY: `p` was just popped from this queue (by `step` or `run_until_limited`),
            // and only `popped_payload` was called on it since (by the observer).
            unsafe { self.core.queue.take_popped(p) },
            &mut self.state,
            &mut Context {
                core: &mut self.core,
                rng,
                self_id: target,
            },
        );
    }

    /// Feeds the event just popped to the trace fingerprint and the observer, whichever are
    /// set.
    #[inline]
    fn run_hooks(&mut self, p: &Popped) {
        let (time, seq, target) = (p.time, p.seq, p.target);
        if let Some(h) = self.trace.as_mut() {
            h.write_word(time.as_nanos());
            h.write_word(seq);
            h.write_word(u64::from(target.0));
        }
        if let Some(obs) = self.observer.as_mut() {
            obs(time, seq, target, self.core.queue.popped_payload(p));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{SimDuration, TraceHasher};
    use rand::RngExt;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[derive(Debug, Clone, PartialEq)]
    enum Ev {
        Ping(u32),
        Pong(u32),
    }

    #[derive(Default)]
    struct World {
        log: Vec<(u64, &'static str, u32)>,
        trace: TraceHasher,
    }

    /// Answers each `Ping(n)` with a `Pong(n)` after a random 1–10 ms, and each `Pong(n)` with
    /// `Ping(n + 1)` after 5 ms, until `limit`.
    struct Player {
        name: &'static str,
        peer: ComponentId,
        limit: u32,
    }

    impl Component<Ev, World> for Player {
        fn name(&self) -> &str {
            self.name
        }
        fn handle(&mut self, event: Ev, w: &mut World, ctx: &mut Context<'_, Ev>) {
            let n = match event {
                Ev::Ping(n) | Ev::Pong(n) => n,
            };
            w.log.push((ctx.now().0, self.name, n));
            w.trace.write_u64(ctx.now().0);
            w.trace.write_str(self.name);
            w.trace.write_u32(n);
            if n >= self.limit {
                return;
            }
            match event {
                Ev::Ping(n) => {
                    let ms = ctx.rng().random_range(1..=10u64);
                    w.trace.write_u64(ms);
                    ctx.send(self.peer, SimDuration::from_millis(ms), Ev::Pong(n));
                }
                Ev::Pong(n) => {
                    ctx.send(self.peer, SimDuration::from_millis(5), Ev::Ping(n + 1));
                }
            }
        }
    }

    fn ping_pong(seed: u64, limit: u32) -> Simulation<Ev, World> {
        let mut sim = Simulation::new(seed, World::default());
        let a = sim.add_component(Box::new(Player {
            name: "alice",
            peer: ComponentId(1),
            limit,
        }));
        let b = sim.add_component(Box::new(Player {
            name: "bob",
            peer: a,
            limit,
        }));
        assert_eq!((a, b), (ComponentId(0), ComponentId(1)));
        sim.schedule(SimTime::ZERO, b, Ev::Ping(0));
        sim
    }

    #[test]
    fn ping_pong_alternates() {
        let mut sim = ping_pong(1, 3);
        assert_eq!(sim.component_name(ComponentId(0)), "alice");
        assert_eq!(sim.component_name(ComponentId(1)), "bob");
        while sim.step() == StepOutcome::Processed {}
        assert_eq!(sim.step(), StepOutcome::Empty);
        let w = sim.state();
        let who: Vec<_> = w.log.iter().map(|e| (e.1, e.2)).collect();
        assert_eq!(
            who,
            [
                ("bob", 0),
                ("alice", 0),
                ("bob", 1),
                ("alice", 1),
                ("bob", 2),
                ("alice", 2),
                ("bob", 3)
            ]
        );
        assert!(w.log.windows(2).all(|p| p[0].0 < p[1].0), "time increases");
        assert_eq!(sim.events_processed(), 7);
        assert_eq!(sim.pending(), 0);
        assert_eq!(sim.now().0, w.log.last().unwrap().0);
    }

    #[test]
    fn observer_sees_every_event_in_order() {
        let mut sim = ping_pong(7, 50);
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s2 = Rc::clone(&seen);
        sim.set_observer(Box::new(move |t, seq, target, ev: &Ev| {
            s2.borrow_mut().push((t, seq, target, ev.clone()));
        }));
        // An extra same-time pair to check FIFO among ties, plus a cancelled one.
        sim.schedule(SimTime(3), ComponentId(0), Ev::Pong(1000));
        let x = sim.schedule(SimTime(3), ComponentId(0), Ev::Pong(2000));
        sim.schedule(SimTime(3), ComponentId(1), Ev::Pong(1001));
        assert!(sim.cancel(x));
        assert!(!sim.cancel(x));
        sim.run_until(SimTime::MAX);
        let seen = seen.borrow();
        assert_eq!(seen.len() as u64, sim.events_processed());
        assert!(seen.windows(2).all(|p| (p[0].0, p[0].1) < (p[1].0, p[1].1)));
        let at3: Vec<_> = seen.iter().filter(|e| e.0 == SimTime(3)).collect();
        assert_eq!(at3.len(), 2);
        assert_eq!((at3[0].2, &at3[0].3), (ComponentId(0), &Ev::Pong(1000)));
        assert_eq!((at3[1].2, &at3[1].3), (ComponentId(1), &Ev::Pong(1001)));
        assert!(!seen.iter().any(|e| e.3 == Ev::Pong(2000)));
    }

    #[test]
    fn run_until_respects_bound_and_sets_now() {
        let mut sim = ping_pong(3, 1_000);
        let bound = SimTime(SimDuration::from_millis(100).0);
        let n = sim.run_until(bound);
        assert!(n > 0);
        assert_eq!(sim.now(), bound);
        assert!(sim.state().log.iter().all(|e| e.0 <= bound.0));
        assert_eq!(sim.state().log.len() as u64, n);
        assert_eq!(sim.pending(), 1);
        // Nothing due: the clock still advances, never backwards.
        let n2 = sim.run_until(SimTime(bound.0 + 1));
        let due_next = sim.state().log.len() as u64 - n;
        assert_eq!(n2, due_next);
        assert_eq!(sim.run_until(SimTime(5)), 0);
        assert!(sim.now() >= SimTime(bound.0 + 1));

        // Limited: stops after max_events with work remaining.
        let mut sim = ping_pong(3, 1_000);
        let (k, hit) = sim.run_until_limited(bound, 3);
        assert_eq!((k, hit), (3, true));
        assert_eq!(
            sim.now().0,
            sim.state().log[2].0,
            "clock stays at last event"
        );
        let (k2, hit2) = sim.run_until_limited(bound, u64::MAX);
        assert!(!hit2);
        assert_eq!(k + k2, n);
        assert_eq!(sim.now(), bound);
        // Exactly enough budget: not reported as hitting the limit.
        let mut sim = ping_pong(3, 1_000);
        assert_eq!(sim.run_until_limited(bound, n), (n, false));
        assert_eq!(sim.now(), bound);
    }

    struct Stopper;
    impl Component<u32, Vec<u32>> for Stopper {
        fn name(&self) -> &str {
            "stopper"
        }
        fn handle(&mut self, ev: u32, s: &mut Vec<u32>, ctx: &mut Context<'_, u32>) {
            s.push(ev);
            assert_eq!(ctx.self_id(), ComponentId(0));
            if ev == 3 {
                ctx.stop();
            }
            ctx.send_self(SimDuration::from_secs(1), ev + 1);
            let id = ctx.send_at(ComponentId(0), ctx.now() + SimDuration(1), 999);
            assert!(ctx.cancel(id));
        }
    }

    #[test]
    fn stop_halts_after_current_event() {
        let mut sim = Simulation::new(0, Vec::new());
        let c = sim.add_component(Box::new(Stopper));
        sim.schedule(SimTime::ZERO, c, 0);
        let n = sim.run_until(SimTime(SimDuration::from_secs(100).0));
        assert_eq!(n, 4);
        assert!(sim.is_stopped());
        assert_eq!(
            sim.now(),
            SimTime(SimDuration::from_secs(3).0),
            "clock not advanced"
        );
        assert_eq!(sim.step(), StepOutcome::Stopped);
        assert_eq!(sim.run_until(SimTime::MAX), 0);
        assert_eq!(sim.pending(), 1);
        assert_eq!(sim.into_state(), [0, 1, 2, 3]);
    }

    #[test]
    fn same_seed_same_trace_other_seed_differs() {
        let run = |seed| {
            let mut sim = ping_pong(seed, 500);
            let obs = Rc::new(RefCell::new(TraceHasher::new()));
            let o2 = Rc::clone(&obs);
            sim.set_observer(Box::new(move |t, seq, target, _ev: &Ev| {
                let mut h = o2.borrow_mut();
                h.write_u64(t.0);
                h.write_u64(seq);
                h.write_u32(target.0);
            }));
            sim.run_until(SimTime::MAX);
            let observed = obs.borrow().finish();
            (observed, sim.state().trace.finish())
        };
        assert_eq!(run(42), run(42));
        let (a, b) = run(42);
        let (c, d) = run(43);
        assert_ne!(a, c);
        assert_ne!(b, d);
    }

    #[test]
    fn built_in_trace_hash_equals_an_observer_doing_the_same() {
        let mut sim = ping_pong(9, 200);
        assert_eq!(sim.trace_hash(), None);
        sim.enable_trace_hash();
        let obs = Rc::new(RefCell::new(TraceHasher::new()));
        let o2 = Rc::clone(&obs);
        sim.set_observer(Box::new(move |t, seq, target, _ev: &Ev| {
            let mut h = o2.borrow_mut();
            h.write_word(t.as_nanos());
            h.write_word(seq);
            h.write_word(u64::from(target.0));
        }));
        sim.run_until(SimTime::MAX);
        let want = obs.borrow().finish();
        assert_ne!(want, TraceHasher::new().finish());
        assert_eq!(sim.trace_hash(), Some(want));
    }

    #[test]
    #[should_panic(expected = "unknown component")]
    fn schedule_to_unknown_component_panics() {
        let mut sim: Simulation<u32, ()> = Simulation::new(0, ());
        sim.schedule(SimTime::ZERO, ComponentId(0), 1);
    }
}
