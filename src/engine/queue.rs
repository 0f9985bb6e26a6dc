//! The future-event list, [`EventQueue`]: a short sorted array while few events are pending,
//! a monotone radix heap of 16-byte `Copy` entries otherwise, payloads in a slab, and O(1) lazy
//! cancellation.

use super::component::ComponentId;
use super::time::SimTime;

/// Handle to a scheduled event, used to cancel it: the payload's slab slot and that slot's
/// generation. `Copy`, 8 bytes.
///
/// An id stays harmless after its event fired or was cancelled: cancelling it returns `false`,
/// even if the slot now holds another event (the generation differs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventId {
    slot: u32,
    generation: u32,
}

/// A stored entry: 16 bytes. Live iff `generation` equals its slot's current generation.
#[derive(Clone, Copy, Debug)]
struct Entry {
    time: u64,
    slot: u32,
    generation: u32,
}

/// End of the free list.
const NIL: u32 = u32::MAX;
/// Compaction never triggers below this many dead entries.
const COMPACT_MIN: usize = 1024;
/// Bits per radix digit: each level of the radix heap splits on this many bits of the time.
const DIGIT_BITS: usize = 6;
/// Buckets per level (one per digit value).
const DIGITS: usize = 1 << DIGIT_BITS;
/// Levels needed to cover a `u64` time.
const LEVELS: usize = 64usize.div_ceil(DIGIT_BITS);
/// Radix buckets besides the current run.
const BUCKETS: usize = LEVELS * DIGITS;
/// `u64` words in the non-empty-bucket bitmap.
const MASK_WORDS: usize = BUCKETS.div_ceil(64);
// `EventQueue::nonempty_words` has one bit per mask word.
const _: () = assert!(MASK_WORDS <= 32);
// One mask word per level: bucket `(level, digit)`'s bit is bit `digit` of word `level`, which
// `EventQueue::place` sets without computing the flat bucket index's quotient and remainder.
const _: () = assert!(DIGITS == 64 && MASK_WORDS == LEVELS);
/// The sorted array (small mode) holds at most this many entries; one more live event moves
/// every entry into the radix heap.
const SMALL_MAX: usize = 32;
/// The radix heap goes back to the sorted array when it holds at most this many entries (dead
/// ones included) as its current run runs out. Well below [`SMALL_MAX`], so that a queue
/// whose size hovers around one threshold does not switch at every event.
const SMALL_MIN: usize = 8;

/// The bucket of an entry due at `time` when the radix base is `last <= time`, as
/// `(level, digit)`: `None` for `time == last` (the current run), otherwise level = index of
/// the highest digit in which they differ, and, within the level, `time`'s value of that digit.
/// The bucket's flat index is `level * DIGITS + digit`. Buckets are thus ordered: every time in
/// bucket `i` is earlier than every time in bucket `j > i`, and equal times always share a
/// bucket.
#[inline]
fn bucket_of(time: u64, last: u64) -> Option<(usize, usize)> {
    let x = time ^ last;
    if x == 0 {
        return None;
    }
    let level = (63 - x.leading_zeros() as usize) / DIGIT_BITS;
    let digit = (time >> (level * DIGIT_BITS)) as usize & (DIGITS - 1);
    Some((level, digit))
}

/// A radix bucket with at most this many entries becomes the current run when it is the lowest
/// (sorted by time) instead of being spread over lower buckets. Measured on the hold model
/// (`peers hold`, CPU ms for 3 x 10^6 events): 8 / 16 / 32 / 64 gave 177 / 161 / 140 / 140 at
/// 10^3 pending and 246 / 252 / 239 / 233 at 10^5 (without runs: 189 and 281).
const RUN_MAX: usize = 32;
/// An event scheduled inside the current run shifts at most this many later run entries;
/// beyond that, those entries move back to the radix buckets.
const RUN_SHIFT_MAX: usize = 32;

mod run_sort;
use run_sort::sort_run_into;

/// Slots of the lowest bucket to prefetch after a pop (if it holds no more entries than this).
const PREFETCH_MAX: usize = 4;

/// Prefetches the cache line holding `p` (a hint: no effect on behaviour; `p` need not be
/// valid). Measured on the hold model: +20% throughput with 10^6 pending, neutral with 10^3
/// and 10^5.
#[inline(always)]
#[allow(unsafe_code)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch is only a hint to the cache; it never faults, whatever the
        // address, and reads or writes no program-visible memory. SSE is part of the x86_64
        // baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// An event popped by [`EventQueue::pop_header_until`] whose payload is still in the queue.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Popped {
    /// When it is due.
    pub(crate) time: SimTime,
    /// Its `seq`.
    pub(crate) seq: u64,
    /// The component it is addressed to.
    pub(crate) target: ComponentId,
    /// Its slab slot.
    slot: u32,
}

/// `Slot::seq` of a free slot (no event gets this `seq`: it would be the 2^64-th).
const FREE: u64 = u64::MAX;

/// One slab slot: 16 bytes plus the payload (24 for a `u64` payload).
///
/// The payload is a `MaybeUninit`, initialised exactly while the slot is occupied (`seq !=
/// FREE`): an `Option` would do the same with a tag check, but its tag, read apart from the
/// rest, made every move of a popped payload a copy from offset 1, and the handler's loads of
/// the event's fields then stalled on those misaligned stores.
#[derive(Debug)]
struct Slot<E> {
    /// Bumped every time the slot is freed; an entry/id is live iff its generation matches.
    generation: u32,
    /// While occupied: the target component's id; while free: the next free slot (or `NIL`).
    link: u32,
    /// While occupied: the event's `seq`; while free: [`FREE`].
    seq: u64,
    /// The event, initialised iff `seq != FREE`.
    payload: std::mem::MaybeUninit<E>,
}

/// The future-event list of a simulation: events of payload type `E`, each addressed to a
/// [`ComponentId`] and due at a [`SimTime`].
///
/// # Ordering
///
/// Events pop in ascending `(time, seq)` order, where `seq` is a queue-wide counter taken when
/// the event is scheduled. Events for the same instant therefore pop first-in first-out, and the
/// order never depends on payloads, addresses or hashing.
///
/// # Why a radix heap, not `std::collections::BinaryHeap`
///
/// DESIGN.md §9 names a `BinaryHeap` of `(time, seq)` keys with lazy cancellation. That was
/// built first and measured with the hold model (`benches/engine_hold.rs`, through
/// `Simulation`) on the 2-core reference machine: about 11 M events/s with 10^3 pending, 4–5 M
/// with 10^5 and 1.1–1.4 M with 10^6, well short of the 9 M target at 10^5, because each pop
/// sifts through ~17 levels of a heap that no longer fits in cache. The `hold/binary_heap_keys`
/// bench keeps a `BinaryHeap` of bare keys (no payloads at all) as a reference: it is still
/// slower at 10^5 than this whole queue. A 4-ary implicit heap of `(time, seq)` keys with
/// branch-free child selection (measured in the sixth round, docs/PERFORMANCE.md) was no
/// faster than this queue at 10^3 pending even without payloads, and slower beyond.
///
/// An event queue is *monotone* (nothing is scheduled before the last popped time), which is
/// what a radix heap (Ahuja, Mehlhorn, Orlin & Tarjan, 1990) exploits: entries only move
/// between buckets by sequential appends, and each entry moves a bounded number of times.
/// Here the radix is 2^6 (a "multi-level bucket" radix heap), so an entry moves at most 11
/// times and in practice two or three.
///
/// # Few pending events: a sorted array
///
/// A simulation with few pending events (an M/M/c queue through the traffic code has about
/// eight: the next arrival, one completion per busy worker, a few controller timers) spends
/// most of a radix heap's work on its bookkeeping: bucket index, bitmap bits, moving the lone
/// entry of the lowest bucket to the current run. So while at most 32 entries are stored,
/// the queue is a plain array of entries sorted by `(time, seq)` from last to first: pop takes
/// the last entry, and schedule scans from the end past the entries due at or before the new
/// time and inserts there. The new event has the largest `seq` so far, so it belongs after
/// every stored entry with the same time: the array stays in `(time, seq)` order without
/// storing `seq` in the entries. With 33 entries (after dropping dead ones) every entry moves
/// to the radix heap in pop order, which keeps equal-time entries in `seq` order; when the
/// radix heap's current run runs out with at most 8 entries stored, the live ones move
/// back, sorted by `(time, seq)` (each live slot keeps its `seq`). The two thresholds are far
/// apart so that a queue hovering near one of them does not switch at every event. Pop order
/// is the same in both modes: `(time, seq)`.
///
/// # How the radix heap works
///
/// - `last` is the radix base: no stored entry is earlier. The *current run* holds the next
///   entries to pop, sorted by `(time, seq)`; every bucket entry is later than all of them.
///   Otherwise, with `d` the most significant 6-bit digit in which an entry's time `t` and
///   `last` differ, it is in bucket `(d, digit d of t)`. Every time in a lower bucket (by
///   level, then digit) is earlier than every time in a higher one, and equal times always
///   share a bucket (or the run). A bitmap of non-empty buckets finds the lowest one with a
///   few `trailing_zeros`.
/// - Pop takes from the current run front to back. When it is exhausted, the lowest
///   non-empty bucket is scanned for its minimum time `m`, and `last` becomes `m` (which keeps
///   every other bucket's entries where they are: their position relative to `m` is
///   unchanged). A bucket of at most 32 entries then *becomes* the current run, sorted
///   (stably) by time; a larger one's entries move to strictly lower levels (those due at `m`
///   to the current run). Without runs, an entry went through every level between its
///   scheduling distance and the event spacing (with 10^3 pending and holds of about 1 s,
///   three moves and a one-entry refill per event); a small bucket sorted in place costs less.
/// - Scheduling at or after the run's last time places the entry in its bucket (at `last`,
///   into the run); scheduling inside the run's span (after `last`, e.g. a zero delay while
///   the run holds later entries) inserts it into the run after the entries due at or before
///   it. If that would shift more than 32 later run entries, those move to their buckets
///   instead (they are after `last`, and before every other bucket's entries).
/// - Same-time FIFO without storing `seq` in the entries: equal-time entries always share a
///   bucket or the run, every bucket is appended to in `seq` order, moves and the run's sort
///   are stable, and an insert into the run goes after its equal times, so equal-time entries
///   pop in `seq` order.
/// - Entries are 16 bytes: `(time, slot, generation)`. Payloads, targets and `seq` live in a
///   slab (a `Vec` of slots with a free list). Freeing a slot bumps its generation, so an entry
///   or [`EventId`] whose generation no longer matches is *dead*: cancelled, fired, or stale. A
///   slot whose generation would reach `u32::MAX` is retired instead of reused, so a
///   `(slot, generation)` pair is never handed out twice.
/// - Cancellation frees the slot (dropping the payload) in O(1) and leaves the entry, which is
///   skipped when it reaches the front of the current run. When dead entries outnumber live ones (and
///   exceed 1024), all buckets are compacted in O(n), so stored entries stay bounded by about
///   twice the live count.
/// - Memory: 16 bytes per stored entry plus one slot per pending event; bucket vectors keep
///   their capacity for reuse.
///
/// # Time never goes backwards
///
/// The queue remembers the time of the last popped event. Scheduling before it is a bug in the
/// caller: debug builds panic, release builds clamp the time to the last popped time (so the
/// event fires "now", after everything already scheduled for now).
///
/// Scheduling at or after the last popped time is always allowed. In the rare case that this
/// is earlier than the radix base (possible only after [`peek_time`](Self::peek_time) or
/// [`pop_until`](Self::pop_until) skipped cancelled entries beyond the last popped time), the
/// buckets are rebuilt around the new time in O(n). Inside a [`Simulation`](super::Simulation)
/// this cannot happen during handlers or after `run_until`; at most once after
/// `run_until_limited` stops on its event limit and events are then scheduled from outside.
#[derive(Debug)]
pub struct EventQueue<E> {
    /// Small mode: the entries are in `sorted`, the radix heap (`current`, `buckets`) is empty.
    small: bool,
    /// Small mode's entries, in descending `(time, seq)` order: the next to pop is the last.
    sorted: Vec<Entry>,
    /// Radix base: every stored entry has `time >= last`.
    last: u64,
    /// The current run: the next entries to pop, in `(time, seq)` order, all at or after
    /// `last` and before every bucket's entries; `current[..head]` are consumed.
    current: Vec<Entry>,
    head: usize,
    /// `buckets[level * DIGITS + digit]`; see [`bucket_of`].
    buckets: Box<[Vec<Entry>]>,
    /// Bit `i` (of the concatenated words) set iff `buckets[i]` is non-empty.
    nonempty: [u64; MASK_WORDS],
    /// Bit `w` set iff `nonempty[w] != 0`, so the lowest non-empty bucket takes two
    /// `trailing_zeros` instead of a scan of the words.
    nonempty_words: u32,
    slots: Vec<Slot<E>>,
    free_head: u32,
    /// Next `seq` to hand out; also the number of events ever scheduled.
    next_seq: u64,
    /// Time of the last popped event: scheduling earlier is a bug.
    floor: u64,
    /// Minimum number of dead entries before compaction is considered.
    compact_min: usize,
    /// [`SMALL_MAX`] and [`SMALL_MIN`] (fields so that tests can vary them).
    small_max: usize,
    small_min: usize,
    /// [`RUN_MAX`] and [`RUN_SHIFT_MAX`] (fields so that tests can vary them).
    run_max: usize,
    run_shift_max: usize,
    /// Events popped so far. With [`cancelled`](Self::cancelled) and `next_seq` it gives the
    /// live count ([`len`](Self::len)), so scheduling updates no counter but `next_seq` and a
    /// pop only this one.
    popped: u64,
    /// Events cancelled so far (each counted once: a cancel of a stale id does not count).
    cancelled: u64,
    /// Dead entries stored (cancelled, not yet skipped or compacted away); stored entries are
    /// [`len`](Self::len) live ones plus these.
    dead: usize,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Drop for EventQueue<E> {
    /// Drops the payloads of the events still pending (the occupied slots).
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // During a panic's unwinding the pending payloads are leaked instead (safe): should a
        // panic ever come between `take_slot` marking a slot occupied and the payload's write
        // (today nothing between them can panic), dropping that slot would read uninitialised
        // memory.
        if std::thread::panicking() {
            return;
        }
        for s in &mut self.slots {
            if s.seq != FREE {
                // SAFETY: an occupied slot's payload is initialised, and it is dropped once:
                // the slots go away with the queue.
                unsafe { s.payload.assume_init_drop() }
            }
        }
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty queue with room for `n` pending events in the payload slab before
    /// reallocating.
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            small: true,
            sorted: Vec::new(),
            last: 0,
            current: Vec::new(),
            head: 0,
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            nonempty: [0; MASK_WORDS],
            nonempty_words: 0,
            slots: Vec::with_capacity(n),
            free_head: NIL,
            next_seq: 0,
            floor: 0,
            compact_min: COMPACT_MIN,
            small_max: SMALL_MAX,
            small_min: SMALL_MIN,
            run_max: RUN_MAX,
            run_shift_max: RUN_SHIFT_MAX,
            popped: 0,
            cancelled: 0,
            dead: 0,
        }
    }

    /// Schedules `payload` for `target` at `time` and returns an id that can cancel it.
    ///
    /// The event gets the next global `seq`, so it fires after every event already scheduled
    /// for the same `time`. `time` must not be earlier than the last popped event's time: that
    /// panics in debug builds and is clamped to the last popped time in release builds.
    #[inline(always)]
    pub fn schedule(&mut self, time: SimTime, target: ComponentId, payload: E) -> EventId {
        let mut time = time.0;
        if time < self.floor {
            debug_assert!(
                false,
                "event scheduled in the past: {time} ns < last popped {} ns",
                self.floor
            );
            time = self.floor;
        }
        self.schedule_from_floor(SimTime(time), target, payload)
    }

    /// [`schedule`](Self::schedule) for a `time` at or after the last popped event's time
    /// ([`last_popped_time`](Self::last_popped_time)), so that there is nothing to clamp: the
    /// simulation's own scheduling paths, whose times are at or after `now`, which is never
    /// before the last popped time. Debug builds check it.
    #[inline(always)]
    pub(crate) fn schedule_from_floor(
        &mut self,
        time: SimTime,
        target: ComponentId,
        payload: E,
    ) -> EventId {
        self.schedule_inner::<false>(time, target, payload)
    }

    /// [`schedule_from_floor`](Self::schedule_from_floor) from a handler of the event just
    /// popped (no [`peek_time`](Self::peek_time) since that pop): then the radix base is at or
    /// before the popped event's time (the pop took the earliest stored entry, which is at or
    /// after it, and only a peek moves it beyond), so the new event cannot be before it, and
    /// the test for a rebuild is left out. Debug builds check it.
    #[inline(always)]
    pub(crate) fn schedule_in_handler(
        &mut self,
        time: SimTime,
        target: ComponentId,
        payload: E,
    ) -> EventId {
        self.schedule_inner::<true>(time, target, payload)
    }

    /// [`schedule_from_floor`](Self::schedule_from_floor), and with `IN_HANDLER`
    /// [`schedule_in_handler`](Self::schedule_in_handler).
    #[inline(always)]
    #[allow(unsafe_code)]
    fn schedule_inner<const IN_HANDLER: bool>(
        &mut self,
        time: SimTime,
        target: ComponentId,
        payload: E,
    ) -> EventId {
        debug_assert!(
            time.0 >= self.floor,
            "event scheduled in the past: {} ns < last popped {} ns",
            time.0,
            self.floor
        );
        // The payload is stored here, in the caller, which builds it in place in its slot:
        // passing it by reference to a function that is not inlined made that function copy
        // the whole event from the caller's stack, with loads that stalled on the caller's
        // narrower, just-made stores. It is stored before the entry is filed, while the slot's
        // address is at hand.
        let (slot, generation) = self.take_slot(target);
        debug_assert!((slot as usize) < self.slots.len());
        // SAFETY: `take_slot` just handed out `slot`, taken from the free list or pushed by
        // `alloc_new`, so it indexes `slots` (which never shrinks). The slot was free (its
        // payload uninitialised) and `take_slot` marked it occupied.
        unsafe { self.slots.get_unchecked_mut(slot as usize) }
            .payload
            .write(payload);
        self.file::<IN_HANDLER>(Entry {
            time: time.0,
            slot,
            generation,
        });
        EventId { slot, generation }
    }

    /// Takes a slot for a new event addressed to `target` (off the free list, or a new one)
    /// and marks it occupied, with the event's `seq`, its payload left uninitialised. Returns
    /// `(slot, generation)`.
    #[inline(always)]
    #[allow(unsafe_code)]
    fn take_slot(&mut self, target: ComponentId) -> (u32, u32) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.free_head != NIL {
            let idx = self.free_head;
            debug_assert!((idx as usize) < self.slots.len());
            // SAFETY: the free list holds only indices of slots that `release` freed, all in
            // `slots`, which never shrinks.
            let s = unsafe { self.slots.get_unchecked_mut(idx as usize) };
            debug_assert!(s.seq == FREE, "a slot on the free list is free");
            self.free_head = s.link;
            s.link = target.0;
            s.seq = seq;
            (idx, s.generation)
        } else {
            self.alloc_new(target, seq)
        }
    }

    /// Files a new event's entry `e` (due at or after the last popped time), in small mode's
    /// array or in the radix heap. With `IN_HANDLER`, `e` is known not to be before the radix
    /// base (see [`schedule_in_handler`](Self::schedule_in_handler)).
    #[inline(always)]
    #[allow(unsafe_code)]
    fn file<const IN_HANDLER: bool>(&mut self, e: Entry) {
        let time = e.time;
        if self.small && self.sorted.len() >= self.small_max {
            self.small_full();
        }
        debug_assert!(
            !IN_HANDLER || self.small || time >= self.last,
            "scheduled from a handler before the radix base"
        );
        if self.small {
            // After every entry due at or before `time` (their `seq` is smaller): those are a
            // suffix of the array (descending order); they move up by one and `e` goes below
            // them. Every entry is visited, each moving up or staying by an index computed
            // from its comparison, so that no branch depends on the times: a loop that stopped
            // at the first later entry mispredicted its exit on almost every call.
            let v = &mut self.sorted;
            v.push(e);
            let s = v.as_mut_slice();
            let mut k = s.len() - 1;
            for i in (1..s.len()).rev() {
                debug_assert!(i < s.len());
                // SAFETY: `1 <= i < s.len()` and `up` is 0 or 1, so `i - 1`, `i` and `i - up`
                // index `s` (bounds checks the compiler kept inside the loop).
                let up = usize::from(unsafe { s.get_unchecked(i - 1) }.time <= time);
                unsafe { *s.get_unchecked_mut(i) = *s.get_unchecked(i - up) };
                k -= up;
            }
            debug_assert!(k < s.len());
            // SAFETY: `k` starts at `s.len() - 1` and goes down by at most one per index in
            // `1..s.len()`, so it ends in `0..s.len()`.
            unsafe { *s.get_unchecked_mut(k) = e };
        } else if !IN_HANDLER && time < self.last {
            self.rebase(time);
            self.place(e);
        } else if self.head < self.current.len()
            && self.current.last().is_some_and(|r| time <= r.time)
        {
            // Not after every entry of the current run (`current[head..]`, non-empty, whose
            // last entry is `current`'s): it goes into the run.
            self.insert_into_run(e);
        } else {
            self.place(e);
        }
    }

    /// Cancels a pending event in O(1): its payload is dropped now and its entry is skipped
    /// later. Returns `true` if the event was pending, `false` if it already fired, was already
    /// cancelled, or `id` is otherwise stale.
    #[allow(unsafe_code)]
    pub fn cancel(&mut self, id: EventId) -> bool {
        match self.slots.get(id.slot as usize) {
            // A matching generation means the event is pending for an id of this queue; the
            // `seq` test also turns away an id of another queue that matches a free slot.
            Some(s) if s.generation == id.generation && s.seq != FREE => {}
            _ => return false,
        }
        // SAFETY: slot `id.slot` is in `slots` and occupied, checked just above.
        drop(unsafe { self.release(id.slot) });
        self.cancelled += 1;
        // Its entry stays stored until it is skipped or compacted away.
        self.dead += 1;
        self.maybe_compact();
        true
    }

    /// Pops the next live event in `(time, seq)` order, skipping cancelled ones, as
    /// `(time, seq, target, payload)`.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, u64, ComponentId, E)> {
        self.pop_until(SimTime::MAX)
    }

    /// Like [`pop`](Self::pop), but only if the next live event is due at or before `until`;
    /// otherwise returns `None` and leaves every live event pending.
    #[inline]
    pub fn pop_until(&mut self, until: SimTime) -> Option<(SimTime, u64, ComponentId, E)> {
        let p = self.pop_header_until(until)?;
        // SAFETY: `p` was just popped from this queue.
        #[allow(unsafe_code)]
        let payload = unsafe { self.take_popped(p) };
        Some((p.time, p.seq, p.target, payload))
    }

    /// Like [`pop_until`](Self::pop_until), but leaves the payload in its slot: the caller must
    /// take it with [`take_popped`](Self::take_popped) before any other call on the queue.
    /// Lets the simulation move the payload once, from its slot straight into the handler's
    /// argument, instead of through a returned tuple (for a large event type those copies,
    /// and the store-forwarding stalls between them, were a tenth of the dispatch time).
    #[inline]
    #[allow(unsafe_code)]
    pub(crate) fn pop_header_until(&mut self, until: SimTime) -> Option<Popped> {
        let e = self.take_next(until.0)?;
        self.popped += 1;
        self.floor = e.time;
        // SAFETY: `e` was a stored entry, so its slot indexes `slots` (see `slot_unchecked`).
        let s = unsafe { self.slot_unchecked(e.slot) };
        let p = Popped {
            time: SimTime(e.time),
            seq: s.seq,
            target: ComponentId(s.link),
            slot: e.slot,
        };
        self.prefetch_next();
        Some(p)
    }

    /// Removes and returns the next live entry if it is due at or before `until` (dropping
    /// dead entries in front of it); otherwise changes no live event and returns `None`.
    /// The common case (a live entry next: the last of small mode's array, or the next of the
    /// radix heap's current run) is inline and tests each thing once.
    #[inline(always)]
    fn take_next(&mut self, until: u64) -> Option<Entry> {
        if self.small {
            if let Some(&e) = self.sorted.last()
                && self.is_live(e)
            {
                if e.time > until {
                    return None;
                }
                self.sorted.pop();
                return Some(e);
            }
        } else if let Some(&e) = self.current.get(self.head)
            && self.is_live(e)
        {
            if e.time > until {
                return None;
            }
            self.head += 1;
            return Some(e);
        }
        self.take_next_slow(until)
    }

    /// [`take_next`](Self::take_next) past dead entries or an exhausted run.
    #[inline(never)]
    fn take_next_slow(&mut self, until: u64) -> Option<Entry> {
        if !self.advance_slow(until) {
            return None;
        }
        if self.small {
            self.sorted.pop()
        } else {
            let e = self.current.get(self.head).copied();
            self.head += 1;
            e
        }
    }

    /// `true` if stored entry `e` is live (its slot's generation still matches).
    #[inline(always)]
    #[allow(unsafe_code)]
    fn is_live(&self, e: Entry) -> bool {
        // SAFETY: `e` is a stored entry, so its slot indexes `slots` (see `slot_unchecked`).
        unsafe { self.slot_unchecked(e.slot) }.generation == e.generation
    }

    /// Slot `idx`, without a bounds check.
    ///
    /// # Safety
    ///
    /// `idx < self.slots.len()`. It holds for the slot of every entry and [`Popped`] of this
    /// queue: an entry is made only by `schedule_inner`, with a slot just taken from the free
    /// list or pushed by `alloc_new`, and `slots` never shrinks.
    #[inline(always)]
    #[allow(unsafe_code)]
    unsafe fn slot_unchecked(&self, idx: u32) -> &Slot<E> {
        debug_assert!((idx as usize) < self.slots.len(), "slot {idx} out of range");
        // SAFETY: in range, by the caller's contract.
        unsafe { self.slots.get_unchecked(idx as usize) }
    }

    /// The payload of the event `p` just popped by [`pop_header_until`](Self::pop_header_until);
    /// frees its slot.
    ///
    /// # Safety
    ///
    /// `p` was returned by this queue's [`pop_header_until`](Self::pop_header_until), and no
    /// other call on the queue but [`popped_payload`](Self::popped_payload) was made since (so
    /// its slot is in range and still holds the payload).
    #[inline]
    #[allow(unsafe_code)]
    pub(crate) unsafe fn take_popped(&mut self, p: Popped) -> E {
        // SAFETY: a just-popped event's slot is in `slots` (it was a stored entry's) and
        // occupied: its entry was live, and nothing freed the slot since.
        unsafe { self.release(p.slot) }
    }

    /// The payload of the event `p` just popped by [`pop_header_until`](Self::pop_header_until),
    /// still in its slot (for the observer, before [`take_popped`](Self::take_popped)).
    #[inline]
    #[allow(unsafe_code)]
    pub(crate) fn popped_payload(&self, p: &Popped) -> &E {
        let s = &self.slots[p.slot as usize];
        assert!(s.seq != FREE, "a popped slot holds its payload until taken");
        // SAFETY: the slot is occupied (`seq != FREE`), so its payload is initialised.
        unsafe { s.payload.assume_init_ref() }
    }

    /// Hints the CPU to start loading the slab slot of the probable next event, so that the
    /// cache miss overlaps with the caller's handling of this one. Purely a performance hint:
    /// the addresses are computed without a bounds check (a prefetch never faults).
    #[inline]
    fn prefetch_next(&self) {
        let slots = self.slots.as_ptr();
        if self.small {
            // Few slots, all recently touched: nothing to gain.
        } else if let Some(e) = self.current.get(self.head) {
            prefetch(slots.wrapping_add(e.slot as usize));
        } else if let Some(i) = self.lowest_bucket() {
            let b = &self.buckets[i];
            if b.len() <= PREFETCH_MAX {
                for e in b {
                    prefetch(slots.wrapping_add(e.slot as usize));
                }
            }
        }
    }

    /// The time of the next live event (discarding cancelled entries in front of it).
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        if !self.advance(u64::MAX) {
            return None;
        }
        let next = if self.small {
            self.sorted.last()
        } else {
            self.current.get(self.head)
        };
        Some(SimTime(next.expect("advance found an entry").time))
    }

    /// Number of live pending events (cancelled ones are not counted).
    #[inline]
    pub fn len(&self) -> usize {
        // At most the number of slots, which fits a `u32`.
        (self.next_seq - self.popped - self.cancelled) as usize
    }

    /// `true` if no live event is pending.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of events popped since the queue was created.
    #[inline]
    pub(crate) fn popped(&self) -> u64 {
        self.popped
    }

    /// Entries stored (live and dead), excluding consumed ones.
    #[inline]
    fn stored(&self) -> usize {
        self.len() + self.dead
    }

    /// The time of the last popped event (the earliest time that may still be scheduled).
    #[inline]
    pub fn last_popped_time(&self) -> SimTime {
        SimTime(self.floor)
    }

    /// Takes a new slot for an event (none is free); returns `(slot, generation)`.
    #[cold]
    #[inline(never)]
    fn alloc_new(&mut self, target: ComponentId, seq: u64) -> (u32, u32) {
        let idx = u32::try_from(self.slots.len())
            .ok()
            .filter(|&i| i != NIL)
            .expect("more than 2^32 - 1 pending events");
        self.slots.push(Slot {
            generation: 0,
            link: target.0,
            seq,
            payload: std::mem::MaybeUninit::uninit(),
        });
        (idx, 0)
    }

    /// Frees an occupied slot: bumps its generation (killing its entry and ids), returns its
    /// payload, and puts it on the free list unless its generation is exhausted.
    ///
    /// # Safety
    ///
    /// Slot `idx` is in `slots` and occupied (`seq != FREE`).
    #[inline]
    #[allow(unsafe_code)]
    unsafe fn release(&mut self, idx: u32) -> E {
        debug_assert!((idx as usize) < self.slots.len(), "slot {idx} out of range");
        // SAFETY: in range, by the caller's contract.
        let s = unsafe { self.slots.get_unchecked_mut(idx as usize) };
        debug_assert!(s.seq != FREE, "live slot holds a payload");
        s.seq = FREE;
        // SAFETY: the slot was occupied (`seq != FREE`), so its payload is initialised; it is
        // now marked free, so the payload is read out exactly once and never dropped in place.
        let payload = unsafe { s.payload.assume_init_read() };
        s.generation += 1;
        if s.generation != u32::MAX {
            s.link = self.free_head;
            self.free_head = idx;
        } else {
            s.link = NIL; // retired: never reused
        }
        payload
    }

    /// Appends an entry (with `time >= last`) to its radix bucket. The bitmaps are indexed by
    /// level and digit directly (the level's mask word is the level itself, the digit its bit),
    /// not through the flat index's quotient and remainder by 64.
    #[inline]
    fn place(&mut self, e: Entry) {
        match bucket_of(e.time, self.last) {
            None => self.current.push(e),
            Some((level, digit)) => {
                self.buckets[level * DIGITS + digit].push(e);
                self.nonempty[level] |= 1 << digit;
                self.nonempty_words |= 1 << level;
            }
        }
    }

    /// The lowest non-empty bucket, if any.
    #[inline]
    fn lowest_bucket(&self) -> Option<usize> {
        if self.nonempty_words == 0 {
            return None;
        }
        let w = self.nonempty_words.trailing_zeros() as usize;
        Some(w * 64 + self.nonempty[w].trailing_zeros() as usize)
    }

    /// Makes the next live entry the next to take (the last of `sorted` in small mode,
    /// `current[head]` otherwise), provided its time is at most `until`, dropping dead entries
    /// in front of it. Returns `false` (changing no live event) if there is none.
    #[inline]
    fn advance(&mut self, until: u64) -> bool {
        // The common case inline: a live entry next (the last of small mode's array, or the
        // next of the radix heap's current run).
        let next = if self.small {
            self.sorted.last()
        } else {
            self.current.get(self.head)
        };
        if let Some(&e) = next
            && self.is_live(e)
        {
            return e.time <= until;
        }
        self.advance_slow(until)
    }

    /// [`advance`](Self::advance) past dead entries, in either mode.
    fn advance_slow(&mut self, until: u64) -> bool {
        loop {
            if self.small {
                while let Some(&e) = self.sorted.last() {
                    if self.slots[e.slot as usize].generation == e.generation {
                        return e.time <= until;
                    }
                    // Dead: cancelled after it was scheduled.
                    self.sorted.pop();
                    self.dead -= 1;
                }
                return false;
            }
            while let Some(e) = self.current.get(self.head) {
                if self.slots[e.slot as usize].generation == e.generation {
                    return e.time <= until;
                }
                // Dead: cancelled after it was scheduled.
                self.head += 1;
                self.dead -= 1;
            }
            if !self.refill(until) {
                return false;
            }
        }
    }

    /// The current run is exhausted: makes the lowest non-empty bucket the new run (at most
    /// [`RUN_MAX`] entries) or moves its entries due at its minimum time into the run, unless
    /// that minimum is after `until`, or, if few entries are left, switches to small mode.
    /// Returns `false` if nothing was moved.
    fn refill(&mut self, until: u64) -> bool {
        self.current.clear();
        self.head = 0;
        if self.stored() <= self.small_min {
            self.switch_to_small();
            return true;
        }
        let Some(i) = self.lowest_bucket() else {
            return false;
        };
        // A lone entry (the common case when few events are pending) goes straight to the
        // current run: it is the minimum.
        if let [e] = self.buckets[i][..] {
            if e.time > until {
                return false;
            }
            self.buckets[i].clear();
            self.clear_bucket_bit(i);
            self.last = e.time;
            self.current.push(e);
            return true;
        }
        let m = self.buckets[i]
            .iter()
            .map(|e| e.time)
            .min()
            .expect("non-empty bucket");
        if m > until {
            return false;
        }
        self.clear_bucket_bit(i);
        self.last = m;
        let n = self.buckets[i].len();
        if n <= self.run_max {
            // A few entries: they become the current run, sorted by time. The bucket is in
            // `seq` order among equal times and the sort keeps that order (stable, or keyed
            // by the position in the bucket), so the run is in `(time, seq)` order. Every
            // other bucket is after all of them.
            if n > RUN_MAX || !sort_run_into(&mut self.current, &self.buckets[i], m) {
                std::mem::swap(&mut self.current, &mut self.buckets[i]);
                self.current.sort_by_key(|e| e.time);
            }
            self.buckets[i].clear();
            return true;
        }
        // Every entry shares bucket i's digits with m, so it moves to a lower level (or to the
        // current run); entries in other buckets keep their place relative to m. Bucket i
        // is taken out meanwhile (nothing is placed into it) and put back empty, keeping its
        // allocation; a plain slice iteration instead of `drain` spares the latter's
        // bookkeeping.
        let mut src = std::mem::take(&mut self.buckets[i]);
        for &e in &src {
            self.place(e);
        }
        src.clear();
        self.buckets[i] = src;
        true
    }

    /// Files an entry due before the end of the current run (`last <= e.time <= ` the run's
    /// last time) into the run, after every run entry due at or before it (their `seq` is
    /// smaller). If more than [`RUN_SHIFT_MAX`] run entries are due after it, those move to the
    /// radix buckets instead of shifting (they are after `e.time >= last`, so they have a
    /// bucket, and still before every other bucket's entries), and `e` ends the run.
    #[cold]
    fn insert_into_run(&mut self, e: Entry) {
        let len = self.current.len();
        let run = &self.current[self.head..];
        // Index (in `current`) of the first run entry due after `e`.
        let pos = self.head + run.partition_point(|x| x.time <= e.time);
        if len - pos <= self.run_shift_max {
            self.current.insert(pos, e);
            return;
        }
        for k in pos..len {
            let x = self.current[k];
            // `x.time > e.time >= last`: a bucket, never the current run.
            self.place(x);
        }
        self.current.truncate(pos);
        self.current.push(e);
    }

    /// Marks bucket `i` empty in the bitmaps.
    #[inline]
    fn clear_bucket_bit(&mut self, i: usize) {
        self.nonempty[i / 64] &= !(1 << (i % 64));
        if self.nonempty[i / 64] == 0 {
            self.nonempty_words &= !(1 << (i / 64));
        }
    }

    /// Small mode's array is full: drops its dead entries, and if that does not make room,
    /// moves every entry to the radix heap (in pop order, so equal times stay in `seq` order).
    #[cold]
    fn small_full(&mut self) {
        let slots = &self.slots;
        self.sorted
            .retain(|e| slots[e.slot as usize].generation == e.generation);
        self.dead = 0;
        if self.sorted.len() < self.small_max {
            return;
        }
        self.small = false;
        // Every stored time is at or after the last popped one.
        self.last = self.floor;
        let mut v = std::mem::take(&mut self.sorted);
        for &e in v.iter().rev() {
            self.place(e);
        }
        v.clear();
        self.sorted = v; // keep the allocation
    }

    /// The radix heap (its current run exhausted) holds few entries: moves the live ones
    /// to small mode's array, sorted by `(time, seq)` (a live entry's slot holds its `seq`).
    #[cold]
    fn switch_to_small(&mut self) {
        let mut v = std::mem::take(&mut self.sorted);
        let slots = &self.slots;
        // Only the non-empty buckets, from the bitmaps.
        let mut words = self.nonempty_words;
        while words != 0 {
            let w = words.trailing_zeros() as usize;
            words &= words - 1;
            let mut bits = self.nonempty[w];
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                v.extend(
                    self.buckets[i]
                        .drain(..)
                        .filter(|e| slots[e.slot as usize].generation == e.generation),
                );
            }
        }
        self.nonempty = [0; MASK_WORDS];
        self.nonempty_words = 0;
        // Descending: the next to pop last.
        v.sort_unstable_by_key(|e| std::cmp::Reverse((e.time, slots[e.slot as usize].seq)));
        self.dead = 0;
        self.sorted = v;
        self.small = true;
    }

    /// Rebuilds the buckets around a new, earlier radix base `time` (rare; see module docs).
    /// Equal-time entries keep their relative (`seq`) order.
    #[cold]
    fn rebase(&mut self, time: u64) {
        let mut all = Vec::with_capacity(self.stored());
        all.extend(self.current.drain(self.head..));
        for b in self.buckets.iter_mut() {
            all.append(b);
        }
        self.current.clear();
        self.head = 0;
        self.nonempty = [0; MASK_WORDS];
        self.nonempty_words = 0;
        self.last = time;
        for e in all {
            self.place(e);
        }
    }

    /// Drops dead entries from every bucket when they dominate.
    fn maybe_compact(&mut self) {
        let dead = self.dead;
        if dead > self.len() && dead > self.compact_min {
            let slots = &self.slots;
            let alive = |e: &Entry| slots[e.slot as usize].generation == e.generation;
            self.sorted.retain(alive);
            self.current.drain(..self.head);
            self.head = 0;
            self.current.retain(alive);
            for (i, b) in self.buckets.iter_mut().enumerate() {
                b.retain(alive);
                if b.is_empty() {
                    self.nonempty[i / 64] &= !(1 << (i % 64));
                    if self.nonempty[i / 64] == 0 {
                        self.nonempty_words &= !(1 << (i / 64));
                    }
                }
            }
            self.dead = 0;
        }
    }

    /// Number of entries physically stored, dead ones included (for tests).
    #[cfg(test)]
    fn stored_len(&self) -> usize {
        self.stored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const C: ComponentId = ComponentId(0);

    fn drain<E>(q: &mut EventQueue<E>) -> Vec<(u64, u64, E)> {
        std::iter::from_fn(|| q.pop().map(|(t, s, _, e)| (t.0, s, e))).collect()
    }

    /// A payload that counts its drops.
    #[derive(Debug)]
    struct Counted(u32, std::rc::Rc<std::cell::Cell<u32>>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.1.set(self.1.get() + 1);
        }
    }

    #[test]
    fn every_payload_is_dropped_exactly_once() {
        // Popped payloads are dropped by the caller, cancelled ones by `cancel`, pending ones
        // with the queue; in both modes (33 pending events switch to the radix heap).
        for n in [5u32, 40, 300] {
            let drops = std::rc::Rc::new(std::cell::Cell::new(0));
            let mut q = EventQueue::new();
            let ids: Vec<_> = (0..n)
                .map(|i| q.schedule(SimTime(u64::from(i % 7)), C, Counted(i, drops.clone())))
                .collect();
            for id in ids.iter().step_by(3) {
                assert!(q.cancel(*id));
            }
            let cancelled = ids.len().div_ceil(3) as u32;
            assert_eq!(drops.get(), cancelled);
            let mut popped = 0;
            for _ in 0..n / 3 {
                let (_, _, _, e) = q.pop().expect("pending");
                assert!(e.0 % 3 != 0, "a cancelled event popped");
                popped += 1;
            }
            assert_eq!(drops.get(), cancelled + popped);
            // Reused slots: schedule a few more before dropping the queue.
            for i in 0..4 {
                q.schedule(SimTime(10), C, Counted(1000 + i, drops.clone()));
            }
            drop(q);
            assert_eq!(drops.get(), n + 4, "n = {n}");
        }
    }

    #[test]
    fn entries_ids_and_slots_are_small() {
        assert_eq!(std::mem::size_of::<Entry>(), 16);
        assert_eq!(std::mem::size_of::<EventId>(), 8);
        assert_eq!(std::mem::size_of::<Slot<u64>>(), 24);
    }

    #[test]
    fn pops_in_time_then_fifo_order() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(5), C, "a");
        q.schedule(SimTime(1), ComponentId(3), "b");
        q.schedule(SimTime(5), C, "c");
        q.schedule(SimTime(0), C, "d");
        q.schedule(SimTime(5), C, "e");
        assert_eq!(q.len(), 5);
        assert_eq!(q.peek_time(), Some(SimTime(0)));
        let (t, s, target, e) = q.pop().unwrap();
        assert_eq!((t, s, target, e), (SimTime(0), 3, C, "d"));
        let (_, _, target, _) = q.pop().unwrap();
        assert_eq!(target, ComponentId(3));
        let rest: Vec<_> = drain(&mut q).into_iter().map(|x| x.2).collect();
        assert_eq!(rest, ["a", "c", "e"]);
        assert!(q.is_empty());
        assert_eq!(q.pop(), None);
        assert_eq!(q.peek_time(), None);
    }

    #[test]
    fn cancel_before_and_after_fire() {
        let mut q = EventQueue::new();
        let a = q.schedule(SimTime(1), C, 1);
        let b = q.schedule(SimTime(2), C, 2);
        let c = q.schedule(SimTime(3), C, 3);
        assert!(q.cancel(b));
        assert!(!q.cancel(b), "double cancel");
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop().map(|x| x.3), Some(1));
        assert!(!q.cancel(a), "already fired");
        assert_eq!(q.peek_time(), Some(SimTime(3)));
        assert_eq!(q.pop().map(|x| x.3), Some(3));
        assert!(!q.cancel(c));
        assert!(q.is_empty());
    }

    #[test]
    fn stale_id_cannot_cancel_reused_slot() {
        let mut q = EventQueue::new();
        let old = q.schedule(SimTime(1), C, "old");
        assert!(q.cancel(old));
        let new = q.schedule(SimTime(1), C, "new");
        assert_eq!(new.slot, old.slot, "slot is reused");
        assert!(!q.cancel(old), "stale id must not cancel the new event");
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop().map(|x| x.3), Some("new"));
        // And after firing, the fired event's id is stale too.
        let newer = q.schedule(SimTime(2), C, "newer");
        assert_eq!(newer.slot, old.slot);
        assert!(!q.cancel(new));
        assert!(!q.cancel(old));
        assert!(q.cancel(newer));
        assert!(q.is_empty());
    }

    #[test]
    fn compaction_keeps_order_and_count() {
        let mut q = EventQueue::new();
        let n = 10_000u64;
        let ids: Vec<_> = (0..n).map(|i| q.schedule(SimTime(n - i), C, i)).collect();
        // Cancel all but every 10th: compaction must kick in along the way.
        for (i, id) in ids.iter().enumerate() {
            if i % 10 != 0 {
                assert!(q.cancel(*id));
            }
        }
        assert_eq!(q.len(), 1_000);
        assert!(
            q.stored_len() <= 2 * q.len() + COMPACT_MIN + 1,
            "{}",
            q.stored_len()
        );
        let got: Vec<u64> = drain(&mut q).into_iter().map(|x| x.2).collect();
        let mut want: Vec<u64> = (0..n).filter(|i| i % 10 == 0).collect();
        want.reverse(); // scheduled at decreasing times
        assert_eq!(got, want);
    }

    #[test]
    fn pop_until_respects_bound() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(10), C, 'a');
        let x = q.schedule(SimTime(5), C, 'x');
        q.cancel(x);
        assert_eq!(q.pop_until(SimTime(9)), None);
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop_until(SimTime(10)).map(|e| e.3), Some('a'));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "in the past")]
    fn scheduling_in_the_past_panics_in_debug() {
        let mut q = EventQueue::new();
        q.schedule(SimTime(10), C, ());
        q.pop();
        q.schedule(SimTime(9), C, ());
    }

    #[test]
    fn schedule_before_radix_base_after_skipping_cancelled() {
        // peek/pop_until may move the radix base past cancelled entries; scheduling between the
        // last popped time and that base must still be accepted and ordered correctly.
        let mut q = EventQueue::new();
        q.schedule(SimTime(10), C, 'a');
        let dead = q.schedule(SimTime(1_000), C, 'x');
        q.schedule(SimTime(5_000), C, 'z');
        assert_eq!(q.pop().map(|e| e.3), Some('a'));
        assert!(q.cancel(dead));
        assert_eq!(q.peek_time(), Some(SimTime(5_000)));
        assert_eq!(q.pop_until(SimTime(4_000)), None);
        q.schedule(SimTime(10), C, 'b'); // == last popped time: allowed
        q.schedule(SimTime(2_000), C, 'c');
        q.schedule(SimTime(5_000), C, 'y'); // same time as 'z', scheduled later
        let got: Vec<_> = drain(&mut q).into_iter().map(|x| (x.0, x.2)).collect();
        assert_eq!(got, [(10, 'b'), (2_000, 'c'), (5_000, 'z'), (5_000, 'y')]);
    }

    #[test]
    fn same_time_fifo_survives_redistribution() {
        let mut q = EventQueue::new();
        // Interleave far-future ties with near events so the ties are moved between buckets
        // several times before they are due.
        let far = 1u64 << 40;
        let mut n = 0;
        for round in 0..50u64 {
            q.schedule(SimTime(far), C, (far, n));
            n += 1;
            q.schedule(SimTime(round * 1_000 + 7), C, (0, n));
            n += 1;
            let (t, ..) = q.pop().unwrap();
            q.schedule(t + crate::engine::SimDuration(3), C, (1, n));
            n += 1;
        }
        let all = drain(&mut q);
        assert!(all.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
        let ties: Vec<_> = all.iter().filter(|x| x.0 == far).map(|x| x.2.1).collect();
        assert_eq!(ties.len(), 50);
        assert!(
            ties.windows(2).all(|w| w[0] < w[1]),
            "FIFO among equal times"
        );
    }

    #[test]
    fn exhausted_generation_retires_slot() {
        let mut q = EventQueue::new();
        let a = q.schedule(SimTime(1), C, 1);
        q.slots[a.slot as usize].generation = u32::MAX - 1;
        let a = EventId {
            slot: a.slot,
            generation: u32::MAX - 1,
        };
        // The entry's generation no longer matches (we forged it), so it is dead; the forged id
        // is live and cancels it, which exhausts the generation and retires the slot.
        assert!(q.cancel(a));
        assert_eq!(q.slots[a.slot as usize].generation, u32::MAX);
        let b = q.schedule(SimTime(2), C, 2);
        assert_ne!(b.slot, a.slot, "retired slot is not reused");
        assert!(!q.cancel(a));
        assert_eq!(
            drain(&mut q).into_iter().map(|x| x.2).collect::<Vec<_>>(),
            [2]
        );
    }

    #[test]
    fn switches_between_sorted_array_and_radix_heap_keeping_order() {
        let mut q = EventQueue::new();
        assert!(q.small);
        // Ties and distinct times, scheduled out of order: 100 entries force the radix heap.
        for i in 0..100u64 {
            q.schedule(SimTime((i * 7) % 13), C, i);
        }
        assert!(!q.small);
        let mut got = Vec::new();
        while q.len() > 3 {
            got.push(q.pop().unwrap());
        }
        // Back below SMALL_MIN: the next refill moved the rest to the sorted array.
        assert!(q.small);
        // Schedule ties with what is left, then drain.
        let t = got.last().unwrap().0;
        q.schedule(t, C, 1000);
        q.schedule(SimTime(12), C, 1001);
        got.extend(
            drain(&mut q)
                .into_iter()
                .map(|(t, s, e)| (SimTime(t), s, C, e)),
        );
        assert_eq!(got.len(), 102);
        assert!(got.windows(2).all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
        let at12: Vec<u64> = got
            .iter()
            .filter(|x| x.0 == SimTime(12))
            .map(|x| x.3)
            .collect();
        assert_eq!(
            at12.last(),
            Some(&1001),
            "FIFO among ties across the switches"
        );
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// Schedule at last popped time + delta.
        Schedule(u64),
        /// Cancel the k-th id ever returned (modulo the count).
        Cancel(usize),
        Pop,
        /// Pop only if due at or before last popped time + delta.
        PopUntil(u64),
        Peek,
    }

    /// Deltas over many magnitudes: ties, small gaps, and gaps spanning many radix buckets.
    fn delta() -> impl Strategy<Value = u64> {
        prop_oneof![
            0u64..3,
            0u64..1_000,
            (0u32..=62).prop_flat_map(|bits| 0u64..(1u64 << bits)),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => delta().prop_map(Op::Schedule),
            3 => any::<usize>().prop_map(Op::Cancel),
            2 => Just(Op::Pop),
            1 => delta().prop_map(Op::PopUntil),
            1 => Just(Op::Peek),
        ]
    }

    /// Runs `ops` against the queue and against a sorted-`Vec` reference model, comparing every
    /// observable result.
    fn check_against_model(
        ops: Vec<Op>,
        compact_min: usize,
        small: (usize, usize),
        run: (usize, usize),
    ) -> Result<(), TestCaseError> {
        let mut q = EventQueue::new();
        q.compact_min = compact_min;
        (q.small_max, q.small_min) = small;
        (q.run_max, q.run_shift_max) = run;
        // Reference: live entries (time, seq, payload) and every id ever issued.
        let mut model: Vec<(u64, u64, u32)> = Vec::new();
        let mut ids: Vec<(EventId, u64)> = Vec::new(); // (id, seq)
        let mut now = 0u64; // last popped time
        let mut next_payload = 0u32;
        // An event was popped and nothing but schedules and cancels followed (as in a
        // handler): schedule through `schedule_in_handler` then.
        let mut in_handler = false;
        for op in ops {
            match op {
                Op::Schedule(d) => {
                    let (time, target) = (
                        SimTime(now.saturating_add(d)),
                        ComponentId(next_payload % 3),
                    );
                    let id = if in_handler {
                        q.schedule_in_handler(time, target, next_payload)
                    } else {
                        q.schedule(time, target, next_payload)
                    };
                    let seq = ids.len() as u64; // one seq per schedule, from 0
                    model.push((now.saturating_add(d), seq, next_payload));
                    ids.push((id, seq));
                    next_payload += 1;
                }
                Op::Cancel(k) => {
                    if ids.is_empty() {
                        continue;
                    }
                    let (id, seq) = ids[k % ids.len()];
                    let pos = model.iter().position(|e| e.1 == seq);
                    prop_assert_eq!(q.cancel(id), pos.is_some());
                    if let Some(p) = pos {
                        model.remove(p);
                        // Right after a cancel, dead keys are bounded by compaction.
                        let dead = q.stored_len() - q.len();
                        prop_assert!(
                            dead <= q.len().max(compact_min),
                            "dead {} live {}",
                            dead,
                            q.len()
                        );
                    }
                }
                Op::Pop => {
                    model.sort();
                    let want = if model.is_empty() {
                        None
                    } else {
                        Some(model.remove(0))
                    };
                    let got = q.pop();
                    prop_assert_eq!(
                        got.map(|(t, s, c, e)| (t.0, s, c, e)),
                        want.map(|(t, s, e)| (t, s, ComponentId(e % 3), e))
                    );
                    in_handler = want.is_some();
                    if let Some((t, ..)) = want {
                        now = t;
                    }
                }
                Op::PopUntil(d) => {
                    model.sort();
                    let bound = now.saturating_add(d);
                    let want = match model.first() {
                        Some(e) if e.0 <= bound => Some(model.remove(0)),
                        _ => None,
                    };
                    let got = q.pop_until(SimTime(bound));
                    prop_assert_eq!(
                        got.map(|(t, s, c, e)| (t.0, s, c, e)),
                        want.map(|(t, s, e)| (t, s, ComponentId(e % 3), e))
                    );
                    in_handler = want.is_some();
                    if let Some((t, ..)) = want {
                        now = t;
                    }
                }
                Op::Peek => {
                    in_handler = false;
                    let want = model.iter().map(|e| e.0).min().map(SimTime);
                    prop_assert_eq!(q.peek_time(), want);
                }
            }
            prop_assert_eq!(q.len(), model.len());
            prop_assert_eq!(q.is_empty(), model.is_empty());
        }
        model.sort();
        let rest = drain(&mut q);
        prop_assert_eq!(rest, model);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// The queue behaves exactly like a sorted Vec of live (time, seq, payload) entries.
        #[test]
        fn matches_reference_model(
            ops in proptest::collection::vec(op(), 0..400),
            compact_min in 0usize..8,
            small in (1usize..40).prop_flat_map(|max| (Just(max), 0..max)),
            run in (0usize..40, 0usize..40),
        ) {
            check_against_model(ops, compact_min, small, run)?;
        }

        /// A hold-like workload on the radix heap (tens to hundreds pending, so runs of
        /// several sizes form), with bursts of ties, events inside the current run and
        /// cancellations, against a `BinaryHeap` of `(time, seq)` keys with lazy deletion.
        #[test]
        fn hold_workload_matches_binary_heap(
            prefill in proptest::collection::vec(delta(), 33..300),
            steps in proptest::collection::vec(
                (proptest::collection::vec(delta(), 0..4), 0usize..4, any::<usize>()),
                0..600,
            ),
            run in (0usize..40, 0usize..40),
        ) {
            use std::cmp::Reverse;
            use std::collections::{BTreeMap, BinaryHeap};
            let mut q = EventQueue::new();
            (q.run_max, q.run_shift_max) = run;
            q.compact_min = 4;
            let mut heap = BinaryHeap::new();
            // seq -> id of every live event.
            let mut live: BTreeMap<u64, EventId> = BTreeMap::new();
            let mut seq = 0u64;
            for d in prefill {
                let id = q.schedule(SimTime(d), C, seq);
                heap.push(Reverse((d, seq)));
                live.insert(seq, id);
                seq += 1;
            }
            for (deltas, cancels, pick) in steps {
                // Pop the next live key from the reference.
                let want = loop {
                    match heap.pop() {
                        Some(Reverse((t, s))) if live.contains_key(&s) => break Some((t, s)),
                        Some(_) => continue,
                        None => break None,
                    }
                };
                let got = q.pop().map(|(t, s, _, p)| {
                    assert_eq!(s, p, "payload travels with its event");
                    (t.0, s)
                });
                prop_assert_eq!(got, want);
                let Some((t, s)) = want else { break };
                live.remove(&s);
                let now = t;
                for d in deltas {
                    let time = now.saturating_add(d);
                    let id = q.schedule_in_handler(SimTime(time), C, seq);
                    heap.push(Reverse((time, seq)));
                    live.insert(seq, id);
                    seq += 1;
                }
                for k in 0..cancels {
                    if live.is_empty() {
                        break;
                    }
                    let victim = *live
                        .keys()
                        .nth(pick.wrapping_add(k * 7919) % live.len())
                        .expect("non-empty");
                    prop_assert!(q.cancel(live.remove(&victim).expect("live")));
                }
                prop_assert_eq!(q.len(), live.len());
            }
            let rest: Vec<(u64, u64)> = drain(&mut q).into_iter().map(|x| (x.0, x.1)).collect();
            let mut want: Vec<(u64, u64)> = heap
                .into_iter()
                .map(|Reverse(k)| k)
                .filter(|k| live.contains_key(&k.1))
                .collect();
            want.sort_unstable();
            prop_assert_eq!(rest, want);
        }
    }
}
