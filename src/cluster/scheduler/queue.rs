//! The scheduling queue (upstream `internal/queue/scheduling_queue.go`): activeQ ordered by
//! PrioritySort (higher priority first, then earlier enqueue), backoffQ (a failed pod waits
//! `podInitialBackoffSeconds` doubling per attempt up to `podMaxBackoffSeconds`), and the
//! unschedulable pods, moved back on cluster events that may make them schedulable.
//!
//! Which unschedulable pods an event moves follows upstream's QueueingHints
//! (`backend/queue/scheduling_queue.go` `MoveAllToActiveOrBackoffQueue` ->
//! `movePodsToActiveOrBackoffQueue`, which asks the hint functions of the plugins that rejected
//! the pod, `pInfo.UnschedulablePlugins`): a pod that only NodeResourcesFit rejected is kept
//! in an index by its requests, so an assigned pod's deletion moves only the pods that the
//! freed node can now hold (see [`SchedulingQueue::move_for_freed`]) without visiting the
//! others; pods rejected by any other plugin are moved on every cluster event. Pods left
//! unschedulable for `podMaxInUnschedulablePodsDuration` (5 min) are flushed back
//! (`flushUnschedulablePodsLeftover`), in time order, so the flush visits only the due pods.
//!
//! The layout keeps every step O(1) or O(log n) without per-pod tree nodes: each pod has a
//! slot indexed by its id (pod ids are dense: the API server numbers pods as it creates them)
//! saying where it is (activeQ with its sequence number, backoffQ with its expiry, or
//! unschedulable since when), its attempts, and its position in the set of unschedulable
//! pods of its request shape. activeQ and backoffQ are binary heaps and the leftover-flush
//! order a FIFO (pods fail in time order), all three with lazy deletion: an entry counts only
//! while the pod's slot still says it is there. A move takes a request shape's whole set at
//! once. The order pods leave each queue is the one the sorted sets of upstream's queues give.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use crate::cluster::objects::PodId;
use crate::cluster::spec::Resources;
use crate::engine::{SimDuration, SimTime};

/// Where a pod is in the queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Place {
    /// In no queue (not queued yet, popped for its cycle, bound or deleted).
    #[default]
    Out,
    /// In activeQ, with its enqueue sequence number.
    Active(u64),
    /// In backoffQ until this time.
    Backoff(SimTime),
    /// Unschedulable since this time (its last attempt).
    Unschedulable(SimTime),
}

/// One pod's queue state.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    place: Place,
    /// Failed attempts (0: none since the pod was queued).
    attempts: u32,
    /// Time of the last failed attempt (valid when `attempts > 0`).
    last: SimTime,
    /// While unschedulable: its set in [`SchedulingQueue::sets`] (0: rejected by some other
    /// plugin; else a request shape rejected by NodeResourcesFit alone) and its index there.
    set: u32,
    pos: u32,
}

/// The queue.
#[derive(Debug)]
pub struct SchedulingQueue {
    /// Per pod id.
    slots: Vec<Slot>,
    /// activeQ: (priority, Reverse(sequence)), highest first; lazy (see the module doc).
    active: BinaryHeap<(i32, Reverse<u64>, PodId)>,
    /// backoffQ by (expiry, pod), earliest first; lazy.
    backoff: BinaryHeap<Reverse<(SimTime, PodId)>>,
    /// Pods in backoffQ.
    backoff_count: usize,
    /// Unschedulable pods by the time they were last tried (for the leftover flush); lazy.
    unschedulable_by_time: VecDeque<(SimTime, PodId)>,
    /// Unschedulable pods.
    unschedulable_count: usize,
    /// Unschedulable pods per set: 0 holds those rejected by some other plugin than
    /// NodeResourcesFit (any cluster event moves them), each other set those NodeResourcesFit
    /// alone rejected with one request shape (see `shapes`). Unordered.
    sets: Vec<Vec<PodId>>,
    /// Request shape (cpu millicores, memory bytes) -> its set index.
    shapes: BTreeMap<(i64, i64), u32>,
    /// Reused buffers of the pods and sets one move takes out.
    moving: Vec<PodId>,
    taking: Vec<u32>,
    seq: u64,
    initial: SimDuration,
    max: SimDuration,
}

impl SchedulingQueue {
    /// A queue with the given backoff bounds.
    pub fn new(initial: SimDuration, max: SimDuration) -> Self {
        SchedulingQueue {
            slots: Vec::new(),
            active: BinaryHeap::new(),
            backoff: BinaryHeap::new(),
            backoff_count: 0,
            unschedulable_by_time: VecDeque::new(),
            unschedulable_count: 0,
            sets: vec![Vec::new()],
            shapes: BTreeMap::new(),
            moving: Vec::new(),
            taking: Vec::new(),
            seq: 0,
            initial,
            max,
        }
    }

    /// Upstream `calculateBackoffDuration`: initial, doubled per further attempt, capped.
    pub fn backoff_duration(&self, attempts: u32) -> SimDuration {
        let mut d = self.initial;
        for _ in 1..attempts {
            if d.as_nanos() > self.max.as_nanos() - d.as_nanos() {
                return self.max;
            }
            d = SimDuration::from_nanos(d.as_nanos() * 2);
        }
        d
    }

    fn slot(&self, id: PodId) -> Slot {
        usize::try_from(id.0)
            .ok()
            .and_then(|i| self.slots.get(i))
            .copied()
            .unwrap_or_default()
    }

    fn slot_mut(&mut self, id: PodId) -> &mut Slot {
        let i = usize::try_from(id.0).expect("pod ids fit in memory");
        if i >= self.slots.len() {
            self.slots.resize(i + 1, Slot::default());
        }
        &mut self.slots[i]
    }

    /// True if the pod is in any queue.
    pub fn contains(&self, id: PodId) -> bool {
        self.slot(id).place != Place::Out
    }

    /// Add a new pod to activeQ.
    pub fn add(&mut self, id: PodId, priority: i32) {
        if self.contains(id) {
            return;
        }
        self.push_active(id, priority);
    }

    fn push_active(&mut self, id: PodId, priority: i32) {
        self.seq += 1;
        let seq = self.seq;
        self.slot_mut(id).place = Place::Active(seq);
        self.active.push((priority, Reverse(seq), id));
    }

    /// Pop the head of activeQ.
    pub fn pop(&mut self) -> Option<PodId> {
        while let Some((_, Reverse(seq), id)) = self.active.pop() {
            if self.slot(id).place == Place::Active(seq) {
                self.slot_mut(id).place = Place::Out;
                return Some(id);
            }
        }
        None
    }

    /// Forget a pod entirely (bound or deleted).
    pub fn delete(&mut self, id: PodId) {
        match self.slot(id).place {
            Place::Out | Place::Active(_) => {}
            Place::Backoff(_) => self.backoff_count -= 1,
            Place::Unschedulable(_) => {
                self.take_unschedulable(id);
            }
        }
        if let Some(s) = usize::try_from(id.0)
            .ok()
            .and_then(|i| self.slots.get_mut(i))
        {
            *s = Slot::default();
        }
    }

    /// Remove `id` from the unschedulable pods and its set; true if it was there.
    fn take_unschedulable(&mut self, id: PodId) -> bool {
        let s = self.slot(id);
        if !matches!(s.place, Place::Unschedulable(_)) {
            return false;
        }
        let set = &mut self.sets[s.set as usize];
        set.swap_remove(s.pos as usize);
        if let Some(&moved) = set.get(s.pos as usize) {
            self.slot_mut(moved).pos = s.pos;
        }
        self.slot_mut(id).place = Place::Out;
        self.unschedulable_count -= 1;
        true
    }

    /// Record an attempt that failed at `now`; with `moved` (a cluster event came during the
    /// cycle) the pod goes to backoffQ, else to the unschedulable pods. `fit_only` carries
    /// the pod's requests when NodeResourcesFit was the only plugin that rejected it (its
    /// `UnschedulablePlugins`), so that assigned-pod deletions move it only when it may fit.
    pub fn failed(&mut self, id: PodId, now: SimTime, moved: bool, fit_only: Option<Resources>) {
        let s = self.slot_mut(id);
        s.attempts += 1;
        s.last = now;
        self.take_unschedulable(id);
        if moved {
            self.requeue(id, now, 0);
        } else {
            let set = match fit_only {
                Some(r) => {
                    let next = self.sets.len() as u32;
                    let k = *self
                        .shapes
                        .entry((r.cpu_milli, r.memory_bytes))
                        .or_insert(next);
                    if k == next {
                        self.sets.push(Vec::new());
                    }
                    k
                }
                None => 0,
            };
            let pos = self.sets[set as usize].len() as u32;
            self.sets[set as usize].push(id);
            let s = self.slot_mut(id);
            s.place = Place::Unschedulable(now);
            s.set = set;
            s.pos = pos;
            self.unschedulable_count += 1;
            self.unschedulable_by_time.push_back((now, id));
        }
    }

    fn requeue(&mut self, id: PodId, now: SimTime, priority: i32) {
        let s = self.slot(id);
        let (n, last) = if s.attempts == 0 {
            (0, now)
        } else {
            (s.attempts, s.last)
        };
        let expiry = last + self.backoff_duration(n.max(1));
        if expiry > now {
            self.slot_mut(id).place = Place::Backoff(expiry);
            self.backoff.push(Reverse((expiry, id)));
            self.backoff_count += 1;
        } else {
            self.push_active(id, priority);
        }
    }

    /// Requeue the pods in `self.moving`, taken out of the unschedulable pods already, in
    /// pod-id order.
    fn requeue_moving(&mut self, now: SimTime, priority: impl Fn(PodId) -> i32) {
        let mut moving = std::mem::take(&mut self.moving);
        moving.sort_unstable();
        for &id in &moving {
            self.requeue(id, now, priority(id));
        }
        moving.clear();
        self.moving = moving;
    }

    /// Take set `k` out whole into `self.moving`.
    fn take_set(&mut self, k: u32) {
        let set = std::mem::take(&mut self.sets[k as usize]);
        for &id in &set {
            self.slot_mut(id).place = Place::Out;
        }
        self.unschedulable_count -= set.len();
        self.moving.extend_from_slice(&set);
        // Keep the allocation for the set's next members.
        let mut set = set;
        set.clear();
        self.sets[k as usize] = set;
    }

    /// A cluster event: move every unschedulable pod to backoffQ or activeQ
    /// (`MoveAllToActiveOrBackoffQueue`); `priority` looks up a pod's priority.
    pub fn move_all(&mut self, now: SimTime, priority: impl Fn(PodId) -> i32) {
        self.moving.clear();
        for k in 0..self.sets.len() as u32 {
            self.take_set(k);
        }
        self.unschedulable_by_time.clear();
        self.requeue_moving(now, priority);
    }

    /// An assigned pod left a node (deleted, or terminal) and the node now has `free`
    /// (allocatable minus requested, `pods` = pod slots left): move the pods some other plugin
    /// rejected (their hints are not evaluated: Queue), and of the pods NodeResourcesFit alone
    /// rejected, those whose requests fit in `free`. Moved pods enter the queues in pod-id
    /// order, as [`SchedulingQueue::move_all`] moves them.
    ///
    /// NodeResourcesFit's hint (`fit.go` `isSchedulableAfterPodEvent`) returns Queue for any
    /// deletion of a scheduled pod; kubesim narrows it to the pods that now fit on the freed
    /// node, as upstream's hint does for a pod scale-down (`isResourceScaleDown`) and a node
    /// change (`isSchedulableAfterNodeChange` -> `isFit`): a pod that does not fit there
    /// fails again, since no other node changed (every other change is its own event). The
    /// moves skipped are attempts that would fail again; the 5-minute leftover flush still
    /// retries every pod. Each request shape that fits moves as a whole.
    pub fn move_for_freed(
        &mut self,
        now: SimTime,
        free: Resources,
        priority: impl Fn(PodId) -> i32,
    ) {
        self.moving.clear();
        self.take_set(0);
        if free.pods >= 1 {
            let mut taking = std::mem::take(&mut self.taking);
            taking.clear();
            for (&(cpu, mem), &k) in self.shapes.range(..=(free.cpu_milli.max(0), i64::MAX)) {
                if (cpu <= 0 || cpu <= free.cpu_milli)
                    && (mem <= 0 || mem <= free.memory_bytes)
                    && !self.sets[k as usize].is_empty()
                {
                    taking.push(k);
                }
            }
            for &k in &taking {
                self.take_set(k);
            }
            self.taking = taking;
        }
        self.requeue_moving(now, priority);
    }

    /// Move pods whose backoff expired to activeQ (`flushBackoffQCompleted`).
    pub fn flush_backoff(&mut self, now: SimTime, priority: impl Fn(PodId) -> i32) {
        while let Some(&Reverse((t, id))) = self.backoff.peek() {
            if t > now {
                break;
            }
            self.backoff.pop();
            if self.slot(id).place == Place::Backoff(t) {
                self.backoff_count -= 1;
                self.push_active(id, priority(id));
            }
        }
    }

    /// Move pods unschedulable for at least `max_wait` back (`flushUnschedulablePodsLeftover`).
    pub fn flush_unschedulable(
        &mut self,
        now: SimTime,
        max_wait: SimDuration,
        priority: impl Fn(PodId) -> i32,
    ) {
        self.moving.clear();
        while let Some(&(t, id)) = self.unschedulable_by_time.front() {
            if now.saturating_since(t) < max_wait {
                break;
            }
            self.unschedulable_by_time.pop_front();
            if self.slot(id).place == Place::Unschedulable(t) && self.take_unschedulable(id) {
                self.moving.push(id);
            }
        }
        self.requeue_moving(now, priority);
    }

    /// Pods waiting in backoffQ.
    pub fn backoff_len(&self) -> usize {
        self.backoff_count
    }

    /// Unschedulable pods.
    pub fn unschedulable_len(&self) -> usize {
        self.unschedulable_count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn priority_then_fifo() {
        let mut q = SchedulingQueue::new(SimDuration::from_secs(1), SimDuration::from_secs(10));
        q.add(PodId(1), 0);
        q.add(PodId(2), 10);
        q.add(PodId(3), 0);
        q.add(PodId(4), 10);
        let order: Vec<u64> = std::iter::from_fn(|| q.pop()).map(|p| p.0).collect();
        assert_eq!(order, vec![2, 4, 1, 3]);
    }

    #[test]
    fn backoff_doubles_to_max() {
        let q = SchedulingQueue::new(SimDuration::from_secs(1), SimDuration::from_secs(10));
        let secs: Vec<u64> = (1..=6)
            .map(|a| q.backoff_duration(a).as_nanos() / 1_000_000_000)
            .collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn moved_pod_waits_its_backoff() {
        let mut q = SchedulingQueue::new(SimDuration::from_secs(1), SimDuration::from_secs(10));
        let t0 = SimTime::ZERO;
        q.add(PodId(1), 0);
        assert_eq!(q.pop(), Some(PodId(1)));
        q.failed(PodId(1), t0, false, None);
        assert_eq!(q.unschedulable_len(), 1);
        q.move_all(t0 + SimDuration::from_millis(500), |_| 0);
        assert_eq!(q.backoff_len(), 1);
        assert_eq!(q.pop(), None);
        q.flush_backoff(t0 + SimDuration::from_secs(1), |_| 0);
        assert_eq!(q.pop(), Some(PodId(1)));
    }
    fn res(cpu: i64, mem: i64, pods: i64) -> Resources {
        Resources {
            cpu_milli: cpu,
            memory_bytes: mem,
            pods,
        }
    }

    #[test]
    fn freed_node_moves_only_pods_that_fit_there() {
        // (pod, requests if Fit alone rejected it) -> moved by a deletion freeing 2000m / 4
        // bytes with one pod slot.
        let cases = [
            (1, Some(res(1000, 4, 1)), true),
            (2, Some(res(2000, 5, 1)), false),
            (3, Some(res(3000, 1, 1)), false),
            (4, None, true),
            (5, Some(res(0, 0, 1)), true),
        ];
        let mut q = SchedulingQueue::new(SimDuration::from_secs(1), SimDuration::from_secs(10));
        let t0 = SimTime::ZERO;
        for (id, fit, _) in cases {
            q.add(PodId(id), 0);
            assert_eq!(q.pop(), Some(PodId(id)));
            q.failed(PodId(id), t0, false, fit);
        }
        let later = t0 + SimDuration::from_secs(60);
        q.move_for_freed(later, res(2000, 4, 1), |_| 0);
        let moved: Vec<u64> = std::iter::from_fn(|| q.pop()).map(|p| p.0).collect();
        let want: Vec<u64> = cases.iter().filter(|c| c.2).map(|c| c.0).collect();
        assert_eq!(moved, want);
        assert_eq!(q.unschedulable_len(), 2);
        // No pod slot left: nothing that Fit rejected moves.
        q.move_for_freed(later, res(64000, 1 << 40, 0), |_| 0);
        assert_eq!(q.unschedulable_len(), 2);
        // The leftover flush takes the rest once they waited long enough.
        q.flush_unschedulable(later, SimDuration::from_secs(300), |_| 0);
        assert_eq!(q.unschedulable_len(), 2);
        q.flush_unschedulable(
            t0 + SimDuration::from_secs(300),
            SimDuration::from_secs(300),
            |_| 0,
        );
        assert_eq!(q.unschedulable_len(), 0);
        let rest: Vec<u64> = std::iter::from_fn(|| q.pop()).map(|p| p.0).collect();
        assert_eq!(rest, vec![2, 3]);
    }

    /// The queue as upstream's sorted sets describe it (one ordered collection per queue,
    /// entries removed eagerly): the reference the slot-and-heap layout must match.
    #[derive(Default)]
    struct Reference {
        active: Vec<(PodId, i32, u64)>,
        backoff: BTreeSet<(SimTime, PodId)>,
        unschedulable: BTreeMap<PodId, (SimTime, Option<(i64, i64)>)>,
        attempts: BTreeMap<PodId, (u32, SimTime)>,
        seq: u64,
    }

    impl Reference {
        fn contains(&self, id: PodId) -> bool {
            self.active.iter().any(|a| a.0 == id)
                || self.backoff.iter().any(|b| b.1 == id)
                || self.unschedulable.contains_key(&id)
        }
        fn push(&mut self, id: PodId, prio: i32) {
            self.seq += 1;
            self.active.push((id, prio, self.seq));
        }
        fn pop(&mut self) -> Option<PodId> {
            let k = (0..self.active.len())
                .max_by_key(|&k| (self.active[k].1, Reverse(self.active[k].2)))?;
            Some(self.active.remove(k).0)
        }
        fn delete(&mut self, id: PodId) {
            self.active.retain(|a| a.0 != id);
            self.backoff.retain(|b| b.1 != id);
            self.unschedulable.remove(&id);
            self.attempts.remove(&id);
        }
        fn requeue(&mut self, q: &SchedulingQueue, id: PodId, now: SimTime, prio: i32) {
            let (n, last) = self.attempts.get(&id).copied().unwrap_or((0, now));
            let expiry = last + q.backoff_duration(n.max(1));
            if expiry > now {
                self.backoff.insert((expiry, id));
            } else {
                self.push(id, prio);
            }
        }
        fn take(&mut self, q: &SchedulingQueue, ids: Vec<PodId>, now: SimTime) {
            for id in ids {
                self.unschedulable.remove(&id);
                self.requeue(q, id, now, prio_of(id));
            }
        }
    }

    fn prio_of(id: PodId) -> i32 {
        (id.0 % 3) as i32 * 10
    }

    #[derive(Clone, Debug)]
    enum Op {
        Add(u64),
        Pop,
        Delete(u64),
        /// Fail the pod in its cycle after `ms`; moved; NodeResourcesFit alone with (cpu, mem).
        Fail(u64, bool, Option<(i64, i64)>),
        MoveAll,
        Freed(i64, i64, i64),
        Backoff,
        Leftover,
        Wait(u64),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        let shape = prop_oneof![
            Just(None),
            (0i64..4, 0i64..4).prop_map(|(c, m)| Some((c * 500, m)))
        ];
        prop_oneof![
            (1u64..10).prop_map(Op::Add),
            Just(Op::Pop),
            Just(Op::Pop),
            (1u64..10).prop_map(Op::Delete),
            (0u64..3000, any::<bool>(), shape).prop_map(|(ms, m, s)| Op::Fail(ms, m, s)),
            Just(Op::MoveAll),
            (0i64..2000, 0i64..4, 0i64..2).prop_map(|(c, m, p)| Op::Freed(c, m, p)),
            Just(Op::Backoff),
            Just(Op::Leftover),
            (0u64..20_000).prop_map(Op::Wait),
        ]
    }

    proptest::proptest! {
        #[test]
        fn matches_the_sorted_set_reference(ops in proptest::collection::vec(op(), 1..200)) {
            let mut q = SchedulingQueue::new(SimDuration::from_secs(1), SimDuration::from_secs(10));
            let mut r = Reference::default();
            let mut now = SimTime::ZERO;
            let mut in_cycle: Option<PodId> = None;
            let wait = SimDuration::from_secs(5);
            for op in ops {
                match op {
                    Op::Add(i) => {
                        let id = PodId(i);
                        if in_cycle != Some(id) {
                            q.add(id, prio_of(id));
                            if !r.contains(id) {
                                r.push(id, prio_of(id));
                            }
                        }
                    }
                    Op::Pop => {
                        if in_cycle.is_none() {
                            let got = q.pop();
                            proptest::prop_assert_eq!(got, r.pop());
                            in_cycle = got;
                        }
                    }
                    Op::Delete(i) => {
                        let id = PodId(i);
                        q.delete(id);
                        r.delete(id);
                        if in_cycle == Some(id) {
                            in_cycle = None;
                        }
                    }
                    Op::Fail(ms, moved, shape) => {
                        if let Some(id) = in_cycle.take() {
                            now += SimDuration::from_millis(ms);
                            let fit = shape.map(|(c, m)| res(c, m, 1));
                            q.failed(id, now, moved, fit);
                            let e = r.attempts.entry(id).or_insert((0, now));
                            e.0 += 1;
                            e.1 = now;
                            if moved {
                                r.requeue(&q, id, now, 0);
                            } else {
                                r.unschedulable.insert(id, (now, shape));
                            }
                        }
                    }
                    Op::MoveAll => {
                        q.move_all(now, prio_of);
                        let ids: Vec<PodId> = r.unschedulable.keys().copied().collect();
                        r.take(&q, ids, now);
                    }
                    Op::Freed(c, m, p) => {
                        q.move_for_freed(now, res(c, m, p), prio_of);
                        let ids: Vec<PodId> = r
                            .unschedulable
                            .iter()
                            .filter(|(_, (_, s))| match s {
                                None => true,
                                Some((sc, sm)) => {
                                    p >= 1 && (*sc <= 0 || *sc <= c) && (*sm <= 0 || *sm <= m)
                                }
                            })
                            .map(|(id, _)| *id)
                            .collect();
                        r.take(&q, ids, now);
                    }
                    Op::Backoff => {
                        q.flush_backoff(now, prio_of);
                        while let Some(&(t, id)) = r.backoff.iter().next() {
                            if t > now {
                                break;
                            }
                            r.backoff.remove(&(t, id));
                            r.push(id, prio_of(id));
                        }
                    }
                    Op::Leftover => {
                        q.flush_unschedulable(now, wait, prio_of);
                        let ids: Vec<PodId> = r
                            .unschedulable
                            .iter()
                            .filter(|(_, (t, _))| now.saturating_since(*t) >= wait)
                            .map(|(id, _)| *id)
                            .collect();
                        r.take(&q, ids, now);
                    }
                    Op::Wait(ms) => now += SimDuration::from_millis(ms),
                }
                proptest::prop_assert_eq!(q.backoff_len(), r.backoff.len());
                proptest::prop_assert_eq!(q.unschedulable_len(), r.unschedulable.len());
                for i in 0..10 {
                    proptest::prop_assert_eq!(q.contains(PodId(i)), r.contains(PodId(i)));
                }
            }
            // Drain: the same pods leave in the same order.
            if in_cycle.is_none() {
                now += SimDuration::from_secs(3600);
                q.move_all(now, prio_of);
                let ids: Vec<PodId> = r.unschedulable.keys().copied().collect();
                r.take(&q, ids, now);
                q.flush_backoff(now, prio_of);
                while let Some((t, id)) = r.backoff.pop_first() {
                    let _ = t;
                    r.push(id, prio_of(id));
                }
                let got: Vec<PodId> = std::iter::from_fn(|| q.pop()).collect();
                let want: Vec<PodId> = std::iter::from_fn(|| r.pop()).collect();
                proptest::prop_assert_eq!(got, want);
            }
        }
    }
}
