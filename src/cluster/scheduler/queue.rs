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

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use priority_queue::PriorityQueue;

use crate::cluster::objects::PodId;
use crate::cluster::spec::Resources;
use crate::engine::{SimDuration, SimTime};

/// The queue.
#[derive(Debug)]
pub struct SchedulingQueue {
    active: PriorityQueue<PodId, (i32, Reverse<u64>)>,
    backoff: BTreeSet<(SimTime, PodId)>,
    backoff_at: BTreeMap<PodId, SimTime>,
    /// Unschedulable pods: when they were last tried, and their requests if NodeResourcesFit
    /// alone rejected them (else `None`: any cluster event moves them).
    unschedulable: BTreeMap<PodId, (SimTime, Option<Resources>)>,
    /// Unschedulable pods by the time they were last tried (for the leftover flush).
    unschedulable_by_time: BTreeSet<(SimTime, PodId)>,
    /// Unschedulable pods rejected by NodeResourcesFit alone, by (cpu millicores, memory
    /// bytes) requested.
    fit_only: BTreeMap<(i64, i64), BTreeSet<PodId>>,
    /// Unschedulable pods rejected by some other plugin.
    others: BTreeSet<PodId>,
    /// Reused buffer of the pods one move takes out.
    moving: Vec<PodId>,
    /// Attempts and last attempt time per pod.
    attempts: BTreeMap<PodId, (u32, SimTime)>,
    seq: u64,
    initial: SimDuration,
    max: SimDuration,
}

impl SchedulingQueue {
    /// A queue with the given backoff bounds.
    pub fn new(initial: SimDuration, max: SimDuration) -> Self {
        SchedulingQueue {
            active: PriorityQueue::new(),
            backoff: BTreeSet::new(),
            backoff_at: BTreeMap::new(),
            unschedulable: BTreeMap::new(),
            unschedulable_by_time: BTreeSet::new(),
            fit_only: BTreeMap::new(),
            others: BTreeSet::new(),
            moving: Vec::new(),
            attempts: BTreeMap::new(),
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

    /// True if the pod is in any queue.
    pub fn contains(&self, id: PodId) -> bool {
        self.active.get(&id).is_some()
            || self.backoff_at.contains_key(&id)
            || self.unschedulable.contains_key(&id)
    }

    /// Add a new pod to activeQ.
    pub fn add(&mut self, id: PodId, priority: i32) {
        if self.contains(id) {
            return;
        }
        self.seq += 1;
        self.active.push(id, (priority, Reverse(self.seq)));
    }

    /// Pop the head of activeQ.
    pub fn pop(&mut self) -> Option<PodId> {
        self.active.pop().map(|(id, _)| id)
    }

    /// Forget a pod entirely (bound or deleted).
    pub fn delete(&mut self, id: PodId) {
        self.active.remove(&id);
        if let Some(t) = self.backoff_at.remove(&id) {
            self.backoff.remove(&(t, id));
        }
        self.take_unschedulable(id);
        self.attempts.remove(&id);
    }

    /// Remove `id` from the unschedulable pods and their indexes; true if it was there.
    fn take_unschedulable(&mut self, id: PodId) -> bool {
        let Some((t, fit)) = self.unschedulable.remove(&id) else {
            return false;
        };
        self.unschedulable_by_time.remove(&(t, id));
        match fit {
            Some(r) => {
                let key = (r.cpu_milli, r.memory_bytes);
                if let Some(set) = self.fit_only.get_mut(&key) {
                    set.remove(&id);
                    if set.is_empty() {
                        self.fit_only.remove(&key);
                    }
                }
            }
            None => {
                self.others.remove(&id);
            }
        }
        true
    }

    /// Record an attempt that failed at `now`; with `moved` (a cluster event came during the
    /// cycle) the pod goes to backoffQ, else to the unschedulable pods. `fit_only` carries
    /// the pod's requests when NodeResourcesFit was the only plugin that rejected it (its
    /// `UnschedulablePlugins`), so that assigned-pod deletions move it only when it may fit.
    pub fn failed(&mut self, id: PodId, now: SimTime, moved: bool, fit_only: Option<Resources>) {
        let e = self.attempts.entry(id).or_insert((0, now));
        e.0 += 1;
        e.1 = now;
        if moved {
            self.requeue(id, now, 0);
        } else {
            self.take_unschedulable(id);
            self.unschedulable.insert(id, (now, fit_only));
            self.unschedulable_by_time.insert((now, id));
            match fit_only {
                Some(r) => {
                    self.fit_only
                        .entry((r.cpu_milli, r.memory_bytes))
                        .or_default()
                        .insert(id);
                }
                None => {
                    self.others.insert(id);
                }
            }
        }
    }

    fn requeue(&mut self, id: PodId, now: SimTime, priority: i32) {
        let (n, last) = self.attempts.get(&id).copied().unwrap_or((0, now));
        let expiry = last + self.backoff_duration(n.max(1));
        if expiry > now {
            self.backoff.insert((expiry, id));
            self.backoff_at.insert(id, expiry);
        } else {
            self.seq += 1;
            self.active.push(id, (priority, Reverse(self.seq)));
        }
    }

    /// A cluster event: move every unschedulable pod to backoffQ or activeQ
    /// (`MoveAllToActiveOrBackoffQueue`); `priority` looks up a pod's priority.
    pub fn move_all(&mut self, now: SimTime, priority: impl Fn(PodId) -> i32) {
        let ids: Vec<PodId> = self.unschedulable.keys().copied().collect();
        self.unschedulable.clear();
        self.unschedulable_by_time.clear();
        self.fit_only.clear();
        self.others.clear();
        for id in ids {
            self.requeue(id, now, priority(id));
        }
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
    /// retries every pod.
    pub fn move_for_freed(
        &mut self,
        now: SimTime,
        free: Resources,
        priority: impl Fn(PodId) -> i32,
    ) {
        let mut moving = std::mem::take(&mut self.moving);
        moving.clear();
        moving.extend(self.others.iter().copied());
        if free.pods >= 1 {
            for (&(cpu, mem), set) in self.fit_only.range(..=(free.cpu_milli.max(0), i64::MAX)) {
                if (cpu <= 0 || cpu <= free.cpu_milli) && (mem <= 0 || mem <= free.memory_bytes) {
                    moving.extend(set.iter().copied());
                }
            }
        }
        moving.sort_unstable();
        for &id in &moving {
            self.take_unschedulable(id);
            self.requeue(id, now, priority(id));
        }
        self.moving = moving;
    }

    /// Move pods whose backoff expired to activeQ (`flushBackoffQCompleted`).
    pub fn flush_backoff(&mut self, now: SimTime, priority: impl Fn(PodId) -> i32) {
        while let Some(&(t, id)) = self.backoff.iter().next() {
            if t > now {
                break;
            }
            self.backoff.remove(&(t, id));
            self.backoff_at.remove(&id);
            self.seq += 1;
            self.active.push(id, (priority(id), Reverse(self.seq)));
        }
    }

    /// Move pods unschedulable for at least `max_wait` back (`flushUnschedulablePodsLeftover`).
    pub fn flush_unschedulable(
        &mut self,
        now: SimTime,
        max_wait: SimDuration,
        priority: impl Fn(PodId) -> i32,
    ) {
        let mut due = std::mem::take(&mut self.moving);
        due.clear();
        for &(t, id) in &self.unschedulable_by_time {
            if now.saturating_since(t) < max_wait {
                break;
            }
            due.push(id);
        }
        due.sort_unstable();
        for &id in &due {
            self.take_unschedulable(id);
            self.requeue(id, now, priority(id));
        }
        self.moving = due;
    }

    /// Pods waiting in backoffQ.
    pub fn backoff_len(&self) -> usize {
        self.backoff.len()
    }

    /// Unschedulable pods.
    pub fn unschedulable_len(&self) -> usize {
        self.unschedulable.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
