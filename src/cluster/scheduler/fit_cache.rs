//! The FitError cache: the per-node filter verdicts of the last failed scheduling attempt of
//! each request shape, brought up to date node by node instead of filtering every node again.
//!
//! When a pod fits no node, its attempt visits every node (upstream `findNodesThatFitPod`
//! stops early only once it has found `numFeasibleNodesToFind` feasible nodes) and records why
//! each was rejected; the FitError message counts those reasons. In an over-committed cluster
//! the same pods are retried over and over (upstream moves them back on every event that may
//! make them schedulable, and retries them every `podMaxInUnschedulablePodsDuration`), and
//! each retry repeats that full pass although few nodes changed since the last one.
//!
//! This cache keeps, per request shape (profile, cpu, memory) of pods whose filters are all
//! node-local ([`Plugin::filter_node_local`]: the verdict on a node depends only on that node
//! and the pod's own spec), each node's rejecting plugin and reasons, with
//! [`Snapshot::version`] at the time. A later attempt of the same shape re-filters only the
//! nodes whose pods changed since ([`Snapshot::node_versions`]); if one of them now fits, the
//! entry is dropped and the attempt runs in full, else the attempt fails with exactly the
//! message, rejected-node list and start index a full pass would give (every node visited,
//! in the same order). Scheduling decisions are unchanged: the cache only skips re-filtering
//! nodes whose filter inputs are unchanged. The snapshot being rebuilt (a node added, removed
//! or changed) clears the cache.
//!
//! A cached failure is cheap in O(1) of the nodes when nothing changed: the FitError message
//! is kept formatted until a node's reasons change, and the rejected-node list (node, plugin)
//! is not built at all; instead the entry counts the nodes each filter plugin rejected, which
//! is all that the unschedulable plugins (QueueingHints) and PostFilter's shortcut
//! ([`super::preemption::without_victims`]) need. Only a PostFilter dry run asks for the list
//! ([`FitCache::fill_failed`]).

use std::collections::BTreeMap;

use super::framework::{CycleContext, Plugin, Reason};

/// Most reasons one node-local filter gives for one node (NodeResourcesFit: too many pods,
/// insufficient cpu, insufficient memory).
const MAX_REASONS: usize = 3;

/// Cache key: scheduler profile (its index in name order), cpu millicores and memory bytes
/// requested.
pub type ShapeKey = (usize, i64, i64);

/// The verdicts of one request shape.
#[derive(Debug)]
pub struct Entry {
    /// [`Snapshot::version`](super::framework::Snapshot::version) the verdicts are valid at.
    version: u64,
    /// The filter plugins that ran (PreFilter did not say Skip), by index.
    active: Vec<usize>,
    /// Per node: index of the filter plugin that rejected it.
    rejected_by: Vec<usize>,
    /// Per node: its reasons.
    reasons: Vec<[Option<Reason>; MAX_REASONS]>,
    /// Nodes per reason (the FitError counts).
    counts: BTreeMap<Reason, usize>,
    /// Per filter plugin index: how many nodes it rejected.
    by_filter: Vec<usize>,
    /// The FitError message of `counts`, once formatted (dropped when `counts` change).
    message: Option<String>,
}

/// The cache (see the module documentation).
#[derive(Debug, Default)]
pub struct FitCache {
    entries: BTreeMap<ShapeKey, Entry>,
    /// Reused per-node reasons buffer.
    buf: Vec<Reason>,
}

/// Outcome of [`FitCache::lookup`].
pub enum Lookup<'a> {
    /// Every node still rejects the pod: the FitError message (upstream `FitError.Error()`).
    Unschedulable(&'a str),
    /// No entry, or a node may now fit: run the attempt in full.
    Miss,
}

/// Run the `active` filters on `node`: `None` if it fits, else the rejecting filter's index,
/// with its reasons in `buf`.
fn filter_node(
    filters: &[Box<dyn Plugin>],
    active: &[usize],
    cx: &CycleContext<'_>,
    node: usize,
    buf: &mut Vec<Reason>,
) -> Option<usize> {
    buf.clear();
    active
        .iter()
        .copied()
        .find(|&k| !filters[k].filter(cx, node, buf))
}

/// Add (`add`) or take away one node's reasons from `counts`.
fn count(counts: &mut BTreeMap<Reason, usize>, reasons: &[Option<Reason>], add: bool) {
    for r in reasons.iter().flatten() {
        if add {
            *counts.entry(r.clone()).or_insert(0) += 1;
        } else if let Some(c) = counts.get_mut(r) {
            *c -= 1;
            if *c == 0 {
                counts.remove(r);
            }
        }
    }
}

impl FitCache {
    /// Forget everything (the snapshot was rebuilt).
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if no entry is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The key for `cx.pod` if its attempt can be cached: the pod carries nothing the
    /// node-local filters read besides its requests (no tolerations, nodeSelector, required
    /// node affinity or nodeName), and every active filter is node-local. `profile` is the
    /// index of the pod's scheduler profile.
    pub fn key(
        profile: usize,
        cx: &CycleContext<'_>,
        filters: &[Box<dyn Plugin>],
        active: &[usize],
    ) -> Option<ShapeKey> {
        let t = &cx.pod.template;
        let plain = t.tolerations.is_empty()
            && t.node_selector.is_empty()
            && t.affinity.node_affinity.required.is_none()
            && t.node_name.is_none();
        (plain && active.iter().all(|&k| filters[k].filter_node_local())).then_some((
            profile,
            cx.pod.requests.cpu_milli,
            cx.pod.requests.memory_bytes,
        ))
    }

    /// Bring the entry for `key` up to date with the snapshot in `cx` (re-filtering the nodes
    /// changed since it was made) and say whether every node still rejects the pod, with the
    /// FitError message a full pass would give. The rejected-node list of that pass is
    /// [`FitCache::fill_failed`]; the number of nodes each filter rejected,
    /// [`FitCache::rejected_by_filter`].
    pub fn lookup(
        &mut self,
        key: &ShapeKey,
        cx: &CycleContext<'_>,
        filters: &[Box<dyn Plugin>],
        active: &[usize],
    ) -> Lookup<'_> {
        if !self.refresh(key, cx, filters, active) {
            self.entries.remove(key);
            return Lookup::Miss;
        }
        let Some(e) = self.entries.get_mut(key) else {
            return Lookup::Miss;
        };
        let n = e.rejected_by.len();
        let counts = &e.counts;
        Lookup::Unschedulable(e.message.get_or_insert_with(|| super::fit_error(n, counts)))
    }

    /// Per filter plugin index, how many nodes it rejected in `key`'s entry (the last
    /// [`FitCache::lookup`] or [`FitCache::insert`]); `None` without an entry.
    pub fn rejected_by_filter(&self, key: &ShapeKey) -> Option<&[usize]> {
        self.entries.get(key).map(|e| e.by_filter.as_slice())
    }

    /// Fill `failed` with (node, rejecting filter) for every node of `key`'s entry in visiting
    /// order from `start` (node `start`, `start + 1`, ..., wrapping), as a full pass that
    /// started there records them. Empty without an entry.
    pub fn fill_failed(&self, key: &ShapeKey, start: usize, failed: &mut Vec<(usize, usize)>) {
        failed.clear();
        let Some(e) = self.entries.get(key) else {
            return;
        };
        let n = e.rejected_by.len();
        let start = if n == 0 { 0 } else { start % n };
        let by = &e.rejected_by;
        failed.extend((start..n).map(|i| (i, by[i])));
        failed.extend((0..start).map(|i| (i, by[i])));
    }

    /// Re-filter the nodes of `key`'s entry changed since it was made; false if there is no
    /// usable entry or some node now fits.
    fn refresh(
        &mut self,
        key: &ShapeKey,
        cx: &CycleContext<'_>,
        filters: &[Box<dyn Plugin>],
        active: &[usize],
    ) -> bool {
        let Some(e) = self.entries.get_mut(key) else {
            return false;
        };
        let s = cx.snapshot;
        let n = s.nodes.len();
        if e.active != active || e.rejected_by.len() != n {
            return false;
        }
        if e.version == s.version {
            return true;
        }
        for i in 0..n {
            if s.node_versions[i] <= e.version {
                continue;
            }
            let verdict = filter_node(filters, active, cx, i, &mut self.buf);
            // The node fits now (or gave more reasons than kept): full pass.
            let Some(k) = verdict.filter(|_| self.buf.len() <= MAX_REASONS) else {
                return false;
            };
            let mut rs: [Option<Reason>; MAX_REASONS] = Default::default();
            for (slot, r) in rs.iter_mut().zip(self.buf.drain(..)) {
                *slot = Some(r);
            }
            if rs != e.reasons[i] {
                count(&mut e.counts, &e.reasons[i], false);
                count(&mut e.counts, &rs, true);
                e.reasons[i] = rs;
                e.message = None;
            }
            e.by_filter[e.rejected_by[i]] -= 1;
            e.by_filter[k] += 1;
            e.rejected_by[i] = k;
        }
        e.version = s.version;
        true
    }

    /// After a full pass in which no node fit: record every node's verdict for `key`.
    pub fn insert(
        &mut self,
        key: ShapeKey,
        cx: &CycleContext<'_>,
        filters: &[Box<dyn Plugin>],
        active: &[usize],
    ) {
        let n = cx.snapshot.nodes.len();
        let mut e = Entry {
            version: cx.snapshot.version,
            active: active.to_vec(),
            rejected_by: Vec::with_capacity(n),
            reasons: Vec::with_capacity(n),
            counts: BTreeMap::new(),
            by_filter: vec![0; filters.len()],
            message: None,
        };
        for i in 0..n {
            let verdict = filter_node(filters, active, cx, i, &mut self.buf);
            let Some(k) = verdict.filter(|_| self.buf.len() <= MAX_REASONS) else {
                return;
            };
            let mut rs: [Option<Reason>; MAX_REASONS] = Default::default();
            for (slot, r) in rs.iter_mut().zip(self.buf.drain(..)) {
                *slot = Some(r);
            }
            count(&mut e.counts, &rs, true);
            e.reasons.push(rs);
            e.by_filter[k] += 1;
            e.rejected_by.push(k);
        }
        self.entries.insert(key, e);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::cluster::objects::{Pod, PodId};
    use crate::cluster::scheduler::framework::{Framework, NodeInfo, Registry, Snapshot};
    use crate::cluster::scheduler::tests_support::pod;
    use crate::cluster::scheduling_spec::SchedulerProfileSpec;
    use crate::cluster::spec::{PodTemplateSpec, Resources, Taint, TaintEffect};

    fn res(cpu: i64, mem: i64) -> Resources {
        Resources {
            cpu_milli: cpu,
            memory_bytes: mem,
            pods: 0,
        }
    }

    fn node(name: &str, cpu: i64, tainted: bool) -> NodeInfo {
        NodeInfo {
            name: name.into(),
            labels: Default::default(),
            taints: if tainted {
                vec![Taint {
                    key: "dedicated".into(),
                    value: "gpu".into(),
                    effect: TaintEffect::NoSchedule,
                }]
            } else {
                Vec::new()
            },
            allocatable: Resources {
                cpu_milli: cpu,
                memory_bytes: 1000,
                pods: 110,
            },
            unschedulable: false,
            requested: Resources::default(),
            non_zero_requested: Resources::default(),
            pods: Vec::new(),
            images: Vec::new(),
        }
    }

    fn pod_with(id: u64, r: Resources) -> Pod {
        let mut p = pod();
        p.id = PodId(id);
        p.template = Arc::new(PodTemplateSpec {
            scheduler_name: "default-scheduler".into(),
            ..PodTemplateSpec::default()
        });
        p.requests = r;
        p
    }

    /// Reason counts and (node, rejecting plugin) in visiting order.
    type FullPass = (BTreeMap<Reason, usize>, Vec<(usize, usize)>);

    /// The counts and (node, plugin) list of a full pass, as `schedule_pod` records them.
    fn full_pass(
        fw: &Framework,
        active: &[usize],
        cx: &CycleContext<'_>,
        start: usize,
    ) -> Option<FullPass> {
        let n = cx.snapshot.nodes.len();
        let mut counts = BTreeMap::new();
        let mut failed = Vec::new();
        let mut buf = Vec::new();
        for j in 0..n {
            let i = (start + j) % n;
            let k = filter_node(&fw.filters, active, cx, i, &mut buf)?;
            failed.push((i, k));
            for r in buf.drain(..) {
                *counts.entry(r).or_insert(0) += 1;
            }
        }
        Some((counts, failed))
    }

    #[test]
    fn cached_verdicts_match_a_full_pass_as_nodes_change() {
        let profile = SchedulerProfileSpec::default_profile("default-scheduler");
        let fw = Framework::new(&profile, &Registry::with_builtins()).unwrap();
        let mut s = Snapshot::default();
        s.push_node(node("a", 1000, false));
        s.push_node(node("b", 2000, true));
        s.push_node(node("c", 1600, false));
        let placed = pod_with(1, res(800, 900));
        s.add_pod(&placed, "a");
        let filler = pod_with(3, res(100, 950));
        s.add_pod(&filler, "c");
        let pods = BTreeMap::new();
        let big = pod_with(2, res(1600, 200));
        let mut cache = FitCache::default();
        let mut failed = Vec::new();
        let cx = CycleContext {
            pod: &big,
            snapshot: &s,
            pods: &pods,
        };
        // The filters schedule_pod runs (PreFilter did not say Skip).
        let active: Vec<usize> = (0..fw.filters.len())
            .filter(|&k| !fw.filters[k].filter_skipped(&cx))
            .collect();
        let key =
            FitCache::key(0, &cx, &fw.filters, &active).expect("plain pod, node-local filters");
        assert!(matches!(
            cache.lookup(&key, &cx, &fw.filters, &active),
            Lookup::Miss
        ));
        cache.insert(key, &cx, &fw.filters, &active);
        assert_eq!(cache.len(), 1);
        // Steps: (node to change, add (true) or remove a pod, pod) -> cached answer equals a
        // full pass; a node that now fits makes a miss.
        let small = pod_with(4, res(50, 10));
        let steps: [(&str, bool, &Pod, bool); 3] = [
            ("a", true, &small, true),
            ("a", false, &placed, true),
            ("c", false, &filler, false),
        ];
        for (k, (n, add, p, still_failing)) in steps.into_iter().enumerate() {
            if add {
                s.add_pod(p, n);
            } else {
                s.remove_pod(p.id);
            }
            let cx = CycleContext {
                pod: &big,
                snapshot: &s,
                pods: &pods,
            };
            let start = k % 3;
            let want = full_pass(&fw, &active, &cx, start);
            match cache.lookup(&key, &cx, &fw.filters, &active) {
                Lookup::Unschedulable(msg) => {
                    let (wc, wf) = want.expect("a full pass fails too");
                    assert!(still_failing, "step {k}");
                    assert_eq!(
                        msg,
                        crate::cluster::scheduler::fit_error(3, &wc),
                        "step {k}"
                    );
                    cache.fill_failed(&key, start, &mut failed);
                    assert_eq!(failed, wf, "step {k}");
                    let mut by_filter = vec![0; fw.filters.len()];
                    for &(_, f) in &wf {
                        by_filter[f] += 1;
                    }
                    assert_eq!(
                        cache.rejected_by_filter(&key),
                        Some(by_filter.as_slice()),
                        "step {k}"
                    );
                }
                Lookup::Miss => {
                    assert!(!still_failing && want.is_none(), "step {k}");
                    assert!(cache.is_empty());
                }
            }
        }
    }
}
