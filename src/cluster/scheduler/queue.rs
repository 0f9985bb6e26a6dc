//! The scheduling queue (upstream `internal/queue/scheduling_queue.go`): activeQ ordered by
//! PrioritySort (higher priority first, then earlier enqueue), backoffQ (a failed pod waits
//! `podInitialBackoffSeconds` doubling per attempt up to `podMaxBackoffSeconds`), and the
//! unschedulable pods, moved back on cluster events.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use priority_queue::PriorityQueue;

use crate::cluster::objects::PodId;
use crate::engine::{SimDuration, SimTime};

/// The queue.
#[derive(Debug)]
pub struct SchedulingQueue {
    active: PriorityQueue<PodId, (i32, Reverse<u64>)>,
    backoff: BTreeSet<(SimTime, PodId)>,
    backoff_at: BTreeMap<PodId, SimTime>,
    /// Unschedulable pods: when they were last tried.
    unschedulable: BTreeMap<PodId, SimTime>,
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
        self.unschedulable.remove(&id);
        self.attempts.remove(&id);
    }

    /// Record an attempt that failed at `now`; with `moved` (a cluster event came during the
    /// cycle) the pod goes to backoffQ, else to the unschedulable pods.
    pub fn failed(&mut self, id: PodId, now: SimTime, moved: bool) {
        let e = self.attempts.entry(id).or_insert((0, now));
        e.0 += 1;
        e.1 = now;
        if moved {
            self.requeue(id, now, 0);
        } else {
            self.unschedulable.insert(id, now);
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
        for id in ids {
            self.requeue(id, now, priority(id));
        }
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
        let due: Vec<PodId> = self
            .unschedulable
            .iter()
            .filter(|(_, t)| now.saturating_since(**t) >= max_wait)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.unschedulable.remove(&id);
            self.requeue(id, now, priority(id));
        }
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
        q.failed(PodId(1), t0, false);
        assert_eq!(q.unschedulable_len(), 1);
        q.move_all(t0 + SimDuration::from_millis(500), |_| 0);
        assert_eq!(q.backoff_len(), 1);
        assert_eq!(q.pop(), None);
        q.flush_backoff(t0 + SimDuration::from_secs(1), |_| 0);
        assert_eq!(q.pop(), Some(PodId(1)));
    }
}
