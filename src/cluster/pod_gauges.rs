//! The pod gauges the sampler records (`pods.phase`, `pods.unscheduled`, `pods.ready`,
//! `pods.terminating`), kept up to date after every API write instead of counted by walking
//! every pod at each sample.

use crate::cluster::objects::{Pod, PodId, PodPhase};

/// Pod counts by phase and condition, maintained by the API server from the pods each write
/// touched (see [`crate::cluster::state::ClusterState::apply`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodGauges {
    /// Pods in the store by phase, in [`PodPhase::ALL`] order.
    pub by_phase: [u64; 5],
    /// Pods not bound to a node.
    pub unscheduled: u64,
    /// Pods whose `Ready` condition holds.
    pub ready: u64,
    /// Pods being deleted (deletion requested, still in the store).
    pub terminating: u64,
    /// What each pod (indexed by its dense [`PodId`]) last contributed, encoded by
    /// [`PodGauges::encode`]; 0 for a pod not (or no longer) in the store.
    last: Vec<u8>,
}

const PRESENT: u8 = 0x80;
const UNSCHEDULED: u8 = 0x40;
const READY: u8 = 0x20;
const TERMINATING: u8 = 0x10;
const PHASE: u8 = 0x07;

impl PodGauges {
    /// Counts for a store holding exactly `pods` (used to check the incremental counts).
    pub fn count<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> Self {
        let mut g = PodGauges::default();
        for p in pods {
            g.add(Self::encode(p), 1);
        }
        g.last.clear();
        g
    }

    /// The same counts without the per-pod bookkeeping, for comparison with [`Self::count`].
    pub fn totals(&self) -> Self {
        PodGauges {
            last: Vec::new(),
            ..self.clone()
        }
    }

    /// Bring the counts up to date for pod `id`, now `pod` (`None`: no longer in the store).
    pub fn update(&mut self, id: PodId, pod: Option<&Pod>) {
        let now = pod.map_or(0, Self::encode);
        let i = usize::try_from(id.0).unwrap_or(usize::MAX);
        if i >= self.last.len() {
            if now == 0 {
                return;
            }
            self.last.resize(i + 1, 0);
        }
        let before = std::mem::replace(&mut self.last[i], now);
        if before != now {
            self.add(before, -1);
            self.add(now, 1);
        }
    }

    fn encode(p: &Pod) -> u8 {
        let phase = PodPhase::ALL
            .iter()
            .position(|x| *x == p.phase)
            .unwrap_or(0) as u8;
        let mut c = PRESENT | phase;
        if p.node.is_none() {
            c |= UNSCHEDULED;
        }
        if p.is_ready() {
            c |= READY;
        }
        if p.is_terminating() {
            c |= TERMINATING;
        }
        c
    }

    fn add(&mut self, code: u8, sign: i64) {
        if code & PRESENT == 0 {
            return;
        }
        let f = |v: &mut u64, on: bool| {
            if on {
                *v = v.wrapping_add_signed(sign);
            }
        };
        f(&mut self.by_phase[usize::from(code & PHASE)], true);
        f(&mut self.unscheduled, code & UNSCHEDULED != 0);
        f(&mut self.ready, code & READY != 0);
        f(&mut self.terminating, code & TERMINATING != 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(id: u64, phase: PodPhase, node: bool, ready: bool, deleting: bool) -> Pod {
        let mut p = crate::cluster::scheduler::tests_support::pod();
        p.id = PodId(id);
        p.phase = phase;
        p.node = node.then(|| "n1".to_string());
        p.ready_since = ready.then_some(crate::engine::SimTime::ZERO);
        p.deletion_timestamp = deleting.then_some(crate::engine::SimTime::ZERO);
        p
    }

    #[test]
    fn incremental_counts_match_a_full_count_through_a_pod_lifecycle() {
        let mut g = PodGauges::default();
        let mut store: std::collections::BTreeMap<u64, Pod> = Default::default();
        // (pod id, its (phase, bound, ready, being deleted), or None once removed).
        type Step = (u64, Option<(PodPhase, bool, bool, bool)>);
        let steps: &[Step] = &[
            (0, Some((PodPhase::Pending, false, false, false))),
            (3, Some((PodPhase::Pending, false, false, false))),
            (0, Some((PodPhase::Pending, true, false, false))),
            (0, Some((PodPhase::Running, true, false, false))),
            (0, Some((PodPhase::Running, true, true, false))),
            (3, None),
            (0, Some((PodPhase::Running, true, true, true))),
            (7, None),
            (0, Some((PodPhase::Succeeded, true, false, true))),
            (5, Some((PodPhase::Failed, true, false, false))),
            (0, None),
        ];
        for &(id, s) in steps {
            match s {
                Some((ph, n, r, d)) => {
                    store.insert(id, pod(id, ph, n, r, d));
                }
                None => {
                    store.remove(&id);
                }
            }
            g.update(PodId(id), store.get(&id));
            assert_eq!(
                g.totals(),
                PodGauges::count(store.values()),
                "after pod {id}"
            );
        }
        assert_eq!(g.by_phase, [0, 0, 0, 1, 0]);
    }
}
