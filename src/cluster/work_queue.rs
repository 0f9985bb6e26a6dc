//! The work-queue pattern (kubesim `Behavior` `spec.workQueue`): a queue of tasks shared by
//! the pods of one workload. A running worker takes the next task when free (the kubelet asks
//! [`TaskQueue::take`]), works on it for its duration, and its container exits with code 0
//! when the queue is empty. A task whose worker failed mid-task goes back to the head of the
//! queue (an unacknowledged message is redelivered, as in RabbitMQ or Redis-list queues with a
//! processing list; the Kubernetes docs' "Coarse Parallel Processing Using a Work Queue").

use std::collections::{BTreeMap, VecDeque};

use crate::cluster::distribution::sample;
use crate::cluster::spec::ClusterSpec;
use crate::engine::{SimDuration, SimTime, stream_rng};

/// The run-time state of one workload's queue.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskQueue {
    /// Durations of the tasks not yet taken, head first.
    pub pending: VecDeque<SimDuration>,
    /// Tasks in the queue at the start.
    pub total: u32,
    /// Tasks finished so far.
    pub done: u32,
    /// When the last task finished (the end of the makespan), once all are done.
    pub drained_at: Option<SimTime>,
}

impl TaskQueue {
    /// Take the next task (its duration), or `None` when the queue is empty.
    pub fn take(&mut self) -> Option<SimDuration> {
        self.pending.pop_front()
    }

    /// A worker finished a task at `now`.
    pub fn finish(&mut self, now: SimTime) {
        self.done += 1;
        if self.done >= self.total {
            self.drained_at = Some(now);
        }
    }

    /// A worker failed while working on a task of `duration`: the task is redelivered first.
    pub fn give_back(&mut self, duration: SimDuration) {
        self.pending.push_front(duration);
    }
}

/// The queues of `spec`'s workloads, keyed by workload name. Task durations are drawn once, at
/// the start, from the stream `work-queue/<workload>`, so they do not depend on which pod
/// takes which task.
pub fn queues_for(spec: &ClusterSpec) -> BTreeMap<String, TaskQueue> {
    let mut out = BTreeMap::new();
    for (workload, b) in &spec.behaviors {
        if let Some(wq) = &b.work_queue {
            let mut rng = stream_rng(spec.seed, &format!("work-queue/{workload}"));
            let pending = (0..wq.tasks)
                .map(|_| sample(&wq.duration, &mut rng))
                .collect();
            out.insert(
                workload.clone(),
                TaskQueue {
                    pending,
                    total: wq.tasks,
                    done: 0,
                    drained_at: (wq.tasks == 0).then_some(SimTime::ZERO),
                },
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_finish_and_give_back() {
        let s = SimDuration::from_secs;
        let mut q = TaskQueue {
            pending: [s(1), s(2)].into_iter().collect(),
            total: 2,
            ..Default::default()
        };
        assert_eq!(q.take(), Some(s(1)));
        q.give_back(s(1));
        assert_eq!(q.take(), Some(s(1)));
        q.finish(SimTime(5));
        assert_eq!(q.drained_at, None);
        assert_eq!(q.take(), Some(s(2)));
        assert_eq!(q.take(), None);
        q.finish(SimTime(9));
        assert_eq!(q.drained_at, Some(SimTime(9)));
    }
}
