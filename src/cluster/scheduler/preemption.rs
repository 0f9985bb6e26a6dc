//! DefaultPreemption, the PostFilter plugin: when no node fits a pod, find nodes where
//! evicting lower-priority pods would make it fit, pick one, and name the victims.
//!
//! Upstream: `pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go`
//! (`SelectVictimsOnNode`, `PodEligibleToPreemptOthers`, `calculateNumCandidates` with
//! `minCandidateNodesPercentage` 10 and `minCandidateNodesAbsolute` 100) and
//! `pkg/scheduler/framework/preemption/preemption.go` (`DryRunPreemption` from a random offset,
//! `pickOneNodeForPreemption`).
//!
//! PodDisruptionBudgets are honoured as upstream does, best-effort: the budgets'
//! `disruptionsAllowed` is read once per preemption attempt ([`pdb_allowances`], upstream
//! `getPodDisruptionBudgets` in `Evaluator.Preempt`), victims whose eviction would take a
//! budget below zero are reprieved first ([`filter_pods_with_pdb_violation`]), and the node
//! with the fewest such victims wins. Preemption still deletes a violating victim when nothing
//! else makes room: the scheduler does not go through the Eviction API.

use std::collections::BTreeMap;

use crate::cluster::disruption::pdb_status;
use crate::cluster::objects::{Pod, PodId};
use crate::cluster::spec::{PodDisruptionBudgetSpec, PreemptionPolicy};
use crate::cluster::state::Store;
use crate::engine::SimTime;

use super::framework::{CycleContext, Plugin, Reason, Snapshot};

/// Upstream `minCandidateNodesPercentage` (DefaultPreemptionArgs default).
pub const MIN_CANDIDATE_NODES_PERCENTAGE: usize = 10;
/// Upstream `minCandidateNodesAbsolute` (DefaultPreemptionArgs default).
pub const MIN_CANDIDATE_NODES_ABSOLUTE: usize = 100;

/// Filter plugins whose failure preemption cannot fix (upstream returns
/// `UnschedulableAndUnresolvable` from them): the node is not a candidate.
pub fn unresolvable(plugin: &str) -> bool {
    !matches!(
        plugin,
        "NodeResourcesFit" | "PodTopologySpread" | "InterPodAffinity"
    )
}

/// A node where preemption would make the pod fit, with its victims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Node index in the snapshot.
    pub node: usize,
    /// Pods to evict, most important first.
    pub victims: Vec<PodId>,
    /// Victims whose eviction would violate a PodDisruptionBudget.
    pub num_pdb_violations: usize,
}

/// The outcome of PostFilter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostFilterResult {
    /// Evict `victims` and nominate `node` for the pod.
    Nominate {
        /// Node index.
        node: usize,
        /// Victims.
        victims: Vec<PodId>,
    },
    /// Preemption did not help; upstream's message (appended to the FailedScheduling one).
    Unschedulable(String),
}

/// Upstream `calculateNumCandidates`: 10% of the nodes, at least 100, at most all.
pub fn num_candidates(num_nodes: usize) -> usize {
    (num_nodes * MIN_CANDIDATE_NODES_PERCENTAGE / 100)
        .max(MIN_CANDIDATE_NODES_ABSOLUTE)
        .min(num_nodes)
}

/// A PodDisruptionBudget as preemption sees it: the budget and its `status.disruptionsAllowed`
/// (pods) at the start of the attempt.
#[derive(Clone, Copy, Debug)]
pub struct PdbAllowance<'a> {
    /// The budget.
    pub pdb: &'a PodDisruptionBudgetSpec,
    /// `status.disruptionsAllowed`: how many more of its pods may be disrupted now.
    pub allowed: i32,
}

/// Every PodDisruptionBudget in the store with its `disruptionsAllowed`, as the disruption
/// controller would report it now (name order).
pub fn pdb_allowances(store: &Store) -> Vec<PdbAllowance<'_>> {
    store
        .pdbs
        .values()
        .map(|pdb| PdbAllowance {
            pdb,
            allowed: pdb_status(pdb, store).disruptions_allowed,
        })
        .collect()
}

/// Upstream `filterPodsWithPDBViolation`: split `pods` (kept in order) into those whose
/// eviction would take some matching budget below zero and the others. Each matching budget's
/// allowance is decremented per pod, so with `disruptionsAllowed: 1` and three matching pods
/// the first is non-violating and the next two are violating. A budget in another namespace,
/// one with an empty selector (upstream: matches nothing) and a pod without labels never
/// match; a pod already being deleted was disrupted already (upstream finds it in
/// `status.disruptedPods`) and does not decrement.
pub fn filter_pods_with_pdb_violation<'p>(
    pods: &[&'p Pod],
    pdbs: &[PdbAllowance<'_>],
) -> (Vec<&'p Pod>, Vec<&'p Pod>) {
    let mut allowed: Vec<i32> = pdbs.iter().map(|b| b.allowed).collect();
    let mut violating = Vec::new();
    let mut non_violating = Vec::new();
    for &pod in pods {
        let mut violated = false;
        if !pod.labels.is_empty() {
            for (k, b) in pdbs.iter().enumerate() {
                let sel = &b.pdb.selector;
                if b.pdb.namespace != pod.namespace
                    || (sel.match_labels.is_empty() && sel.match_expressions.is_empty())
                    || !sel.matches(&pod.labels)
                    || pod.deletion_timestamp.is_some()
                {
                    continue;
                }
                allowed[k] -= 1;
                if allowed[k] < 0 {
                    violated = true;
                }
            }
        }
        if violated {
            violating.push(pod);
        } else {
            non_violating.push(pod);
        }
    }
    (violating, non_violating)
}

/// Upstream `util.MoreImportantPod`: higher priority, then earlier start time.
fn more_important(a: &Pod, b: &Pod) -> std::cmp::Ordering {
    b.template
        .priority
        .cmp(&a.template.priority)
        .then_with(|| start_time(a).cmp(&start_time(b)))
}

/// Upstream `GetPodStartTime` (`status.startTime`, set when the kubelet takes the pod).
fn start_time(p: &Pod) -> SimTime {
    p.scheduled_at.or(p.started_at).unwrap_or(p.created_at)
}

/// Run every filter's prepare + PreFilter, then Filter on `node`: does `pod` fit there now?
fn fits(
    pod: &Pod,
    node: usize,
    filters: &mut [Box<dyn Plugin>],
    snapshot: &mut Snapshot,
    store: &Store,
    reasons: &mut Vec<Reason>,
) -> bool {
    for p in filters.iter_mut() {
        p.prepare(pod, snapshot, store);
    }
    let cx = CycleContext {
        pod,
        snapshot,
        pods: &store.pods,
    };
    for p in filters.iter_mut() {
        if p.pre_filter(&cx).is_err() {
            return false;
        }
    }
    reasons.clear();
    filters.iter().all(|p| p.filter(&cx, node, reasons))
}

/// Upstream `SelectVictimsOnNode`: remove every lower-priority pod from the node; if the pod
/// then fits, add them back most important first, keeping out only those without which it
/// does not fit. PDB-violating pods are reprieved first, and those that stay victims are
/// counted. The snapshot is restored before returning.
pub fn select_victims_on_node(
    pod: &Pod,
    node: usize,
    filters: &mut [Box<dyn Plugin>],
    snapshot: &mut Snapshot,
    store: &Store,
    pdbs: &[PdbAllowance<'_>],
) -> Option<Candidate> {
    let prio = pod.template.priority;
    let mut potential: Vec<&Pod> = snapshot.nodes[node]
        .pods
        .iter()
        .filter_map(|id| store.pods.get(id))
        .filter(|p| p.template.priority < prio)
        .collect();
    if potential.is_empty() {
        return None;
    }
    potential.sort_by(|a, b| more_important(a, b));
    let node_name = snapshot.nodes[node].name.clone();
    for p in &potential {
        snapshot.remove_pod(p.id);
    }
    let mut reasons = Vec::new();
    let mut victims: Vec<&Pod> = Vec::new();
    let mut num_pdb_violations = 0;
    if fits(pod, node, filters, snapshot, store, &mut reasons) {
        // Reprieve: PDB-violating victims first, then the others (both most important first).
        let (violating, rest) = filter_pods_with_pdb_violation(&potential, pdbs);
        let mixed = !violating.is_empty() && !rest.is_empty();
        for (p, is_violating) in violating
            .into_iter()
            .map(|p| (p, true))
            .chain(rest.into_iter().map(|p| (p, false)))
        {
            snapshot.add_pod(p, &node_name);
            if !fits(pod, node, filters, snapshot, store, &mut reasons) {
                snapshot.remove_pod(p.id);
                victims.push(p);
                num_pdb_violations += usize::from(is_violating);
            }
        }
        // Upstream re-sorts the victims by importance when both groups were present.
        if mixed {
            victims.sort_by(|a, b| more_important(a, b));
        }
    } else {
        for p in &potential {
            snapshot.add_pod(p, &node_name);
        }
        return None;
    }
    // Restore the victims.
    for p in &victims {
        snapshot.add_pod(p, &node_name);
    }
    if victims.is_empty() {
        return None;
    }
    Some(Candidate {
        node,
        victims: victims.iter().map(|p| p.id).collect(),
        num_pdb_violations,
    })
}

/// Upstream `pickOneNodeForPreemption`: fewest PDB violations, then the lowest highest-victim
/// priority, then the smallest sum of victim priorities (each shifted by 2^31 so all are
/// positive), then the fewest victims, then the latest start time of the highest-priority
/// victims, then the first.
pub fn pick_one_node(candidates: &[Candidate], store: &Store) -> Option<usize> {
    let prio = |id: &PodId| store.pods.get(id).map_or(0, |p| p.template.priority);
    let key = |c: &Candidate| {
        let highest = c.victims.iter().map(prio).max().unwrap_or(i32::MIN);
        let sum: i64 = c
            .victims
            .iter()
            .map(|id| i64::from(prio(id)) + i64::from(i32::MAX) + 1)
            .sum();
        // Earliest start time among the highest-priority victims; later is better.
        let earliest = c
            .victims
            .iter()
            .filter(|id| prio(id) == highest)
            .filter_map(|id| store.pods.get(id).map(start_time))
            .min()
            .unwrap_or(SimTime::ZERO);
        (
            c.num_pdb_violations,
            highest,
            sum,
            c.victims.len(),
            std::cmp::Reverse(earliest),
        )
    };
    let mut best: Option<(usize, _)> = None;
    for (i, c) in candidates.iter().enumerate() {
        let k = key(c);
        if best.as_ref().is_none_or(|(_, bk)| k < *bk) {
            best = Some((i, k));
        }
    }
    best.map(|(i, _)| i)
}

/// Upstream `PodEligibleToPreemptOthers`: not with `preemptionPolicy: Never`, nor while a
/// lower-priority pod on the node it was nominated to is still terminating (its earlier
/// preemption is under way).
pub fn eligible(
    pod: &Pod,
    nominated: Option<&str>,
    snapshot: &Snapshot,
    store: &Store,
) -> Result<(), String> {
    if pod.template.preemption_policy == PreemptionPolicy::Never {
        return Err("not eligible due to preemptionPolicy=Never.".into());
    }
    if let Some(n) = nominated
        && let Some(&i) = snapshot.index.get(n)
    {
        let waiting = snapshot.nodes[i].pods.iter().any(|id| {
            snapshot.placed.get(id).is_some_and(|p| p.terminating)
                && store
                    .pods
                    .get(id)
                    .is_some_and(|p| p.template.priority < pod.template.priority)
        });
        if waiting {
            return Err("not eligible due to a terminating pod on the nominated node.".into());
        }
    }
    Ok(())
}

/// PostFilter: `failed` lists every node with the filter plugin that rejected it; `offset` is
/// the random start of the dry run (upstream draws it from the scheduler's random source).
pub fn post_filter(
    pod: &Pod,
    nominated: Option<&str>,
    failed: &[(usize, &str)],
    offset: usize,
    filters: &mut [Box<dyn Plugin>],
    snapshot: &mut Snapshot,
    store: &Store,
) -> PostFilterResult {
    if let Err(msg) = eligible(pod, nominated, snapshot, store) {
        return PostFilterResult::Unschedulable(msg);
    }
    let n_all = snapshot.nodes.len();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let potential: Vec<usize> = failed
        .iter()
        .filter(|(_, plugin)| {
            if unresolvable(plugin) {
                *counts
                    .entry("Preemption is not helpful for scheduling")
                    .or_insert(0) += 1;
                false
            } else {
                true
            }
        })
        .map(|(i, _)| *i)
        .collect();
    // No placed pod has a lower priority than the pod: SelectVictimsOnNode finds no victim
    // on any node, so every potential node counts as "No preemption victims found" without
    // visiting its pods (the result of the loop below, which would leave the snapshot and
    // the plugins' state as they are).
    if snapshot
        .lowest_priority()
        .is_none_or(|p| p >= pod.template.priority)
    {
        if !potential.is_empty() {
            *counts
                .entry("No preemption victims found for incoming pod")
                .or_insert(0) += potential.len();
        }
        return unschedulable(n_all, &counts);
    }
    let want = num_candidates(potential.len().max(1));
    let pdbs = pdb_allowances(store);
    let mut candidates = Vec::new();
    for k in 0..potential.len() {
        if candidates.len() >= want {
            break;
        }
        let i = potential[(offset + k) % potential.len()];
        match select_victims_on_node(pod, i, filters, snapshot, store, &pdbs) {
            Some(c) => candidates.push(c),
            None => {
                *counts
                    .entry("No preemption victims found for incoming pod")
                    .or_insert(0) += 1
            }
        }
    }
    // Restore the plugins' cycle state for the snapshot as it is.
    for p in filters.iter_mut() {
        p.prepare(pod, snapshot, store);
    }
    match pick_one_node(&candidates, store) {
        Some(best) => PostFilterResult::Nominate {
            node: candidates[best].node,
            victims: candidates[best].victims.clone(),
        },
        None => unschedulable(n_all, &counts),
    }
}

/// Upstream's preemption FitError: "0/N nodes are available: <count> <reason>, ...." with the
/// parts sorted.
fn unschedulable(n_all: usize, counts: &BTreeMap<&'static str, usize>) -> PostFilterResult {
    PostFilterResult::Unschedulable(message(n_all, counts))
}

fn message(n_all: usize, counts: &BTreeMap<&'static str, usize>) -> String {
    let mut parts: Vec<String> = counts.iter().map(|(r, c)| format!("{c} {r}")).collect();
    parts.sort();
    format!("0/{n_all} nodes are available: {}.", parts.join(", "))
}

/// The last "no victims" message of [`without_victims`], kept formatted with its node counts
/// (all nodes, rejected unresolvably, rejected in all): failed attempts in a row mostly give
/// the same one.
#[derive(Debug, Default)]
pub struct NoVictimsMessage(Option<((usize, usize, usize), String)>);

/// [`post_filter`]'s message when it can be told without visiting any node: the pod is not
/// eligible, or no placed pod has a lower priority (SelectVictimsOnNode finds no victim
/// anywhere). `failed` nodes were rejected, `unres` of them by a filter plugin for which
/// [`unresolvable`] holds; `memo` keeps the last message formatted. `None` when some node
/// may have victims: run [`post_filter`].
pub fn without_victims(
    pod: &Pod,
    nominated: Option<&str>,
    failed: usize,
    unres: usize,
    snapshot: &Snapshot,
    store: &Store,
    memo: &mut NoVictimsMessage,
) -> Option<String> {
    if let Err(msg) = eligible(pod, nominated, snapshot, store) {
        return Some(msg);
    }
    if snapshot
        .lowest_priority()
        .is_some_and(|p| p < pod.template.priority)
    {
        return None;
    }
    let n_all = snapshot.nodes.len();
    if let Some((k, m)) = &memo.0
        && *k == (n_all, unres, failed)
    {
        return Some(m.clone());
    }
    let mut counts = BTreeMap::new();
    if unres > 0 {
        counts.insert("Preemption is not helpful for scheduling", unres);
    }
    if failed > unres {
        counts.insert(
            "No preemption victims found for incoming pod",
            failed - unres,
        );
    }
    let m = message(n_all, &counts);
    memo.0 = Some(((n_all, unres, failed), m.clone()));
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::scheduler::tests_support::pod;
    use std::sync::Arc;

    fn store(pods: &[(u32, i32, u64)]) -> Store {
        let mut s = Store::default();
        for &(id, prio, started) in pods {
            let mut p = pod();
            p.id = PodId(id.into());
            let mut t = (*p.template).clone();
            t.priority = prio;
            p.template = Arc::new(t);
            p.scheduled_at = Some(SimTime(started));
            s.pods.insert(p.id, p);
        }
        s
    }

    fn cand(node: usize, victims: &[u32], pdb: usize) -> Candidate {
        Candidate {
            node,
            victims: victims.iter().map(|&v| PodId(v.into())).collect(),
            num_pdb_violations: pdb,
        }
    }

    #[test]
    fn pick_one_node_table() {
        // Pods: (id, priority, start time); upstream `TestPickOneNodeForPreemption` criteria.
        let s = store(&[
            (1, 10, 5),
            (2, 20, 5),
            (3, 10, 5),
            (4, 10, 9),
            (5, 5, 1),
            (6, 5, 1),
        ]);
        let cases: &[(&str, Vec<Candidate>, usize)] = &[
            (
                "fewer PDB violations first",
                vec![cand(0, &[1], 1), cand(1, &[2], 0)],
                1,
            ),
            (
                "lowest highest-priority victim",
                vec![cand(0, &[2], 0), cand(1, &[1], 0)],
                1,
            ),
            (
                "smallest sum of priorities",
                vec![cand(0, &[1, 3], 0), cand(1, &[1, 5], 0)],
                1,
            ),
            (
                "fewer victims win through the 2^31 shift of the sum",
                vec![cand(0, &[5, 6, 1], 0), cand(1, &[3, 5], 0)],
                1,
            ),
            (
                "latest start of the highest-priority victims",
                vec![cand(0, &[1], 0), cand(1, &[4], 0)],
                1,
            ),
            (
                "first of equals",
                vec![cand(0, &[1], 0), cand(1, &[3], 0)],
                0,
            ),
        ];
        for (name, cands, want) in cases {
            assert_eq!(pick_one_node(cands, &s), Some(*want), "{name}");
        }
        assert_eq!(pick_one_node(&[], &s), None);
    }

    fn labelled(id: u64, app: &str, ns: &str, deleting: bool) -> Pod {
        let mut p = pod();
        p.id = PodId(id);
        p.namespace = ns.into();
        if !app.is_empty() {
            p.labels.insert("app".into(), app.into());
        }
        if deleting {
            p.deletion_timestamp = Some(SimTime(1));
        }
        p
    }

    fn budget(ns: &str, app: Option<&str>) -> PodDisruptionBudgetSpec {
        use crate::cluster::spec::{DisruptionBudget, IntOrPercent, LabelSelector};
        let mut selector = LabelSelector::default();
        if let Some(a) = app {
            selector.match_labels.insert("app".into(), a.into());
        }
        PodDisruptionBudgetSpec {
            name: "b".into(),
            namespace: ns.into(),
            selector,
            budget: DisruptionBudget::MinAvailable(IntOrPercent::Int(1)),
        }
    }

    #[test]
    fn filter_pods_with_pdb_violation_table() {
        // Upstream `filterPodsWithPDBViolation`; each row: pods (app label, namespace, being
        // deleted), budgets (namespace, selector app, disruptionsAllowed), violating pod ids.
        type Row = (
            &'static str,
            Vec<(&'static str, &'static str, bool)>,
            Vec<(&'static str, Option<&'static str>, i32)>,
            Vec<u64>,
        );
        let rows: Vec<Row> = vec![
            (
                "allowance 1: the first matching pod fits, the next two violate",
                vec![("a", "default", false); 3],
                vec![("default", Some("a"), 1)],
                vec![1, 2],
            ),
            (
                "allowance 0: every matching pod violates",
                vec![("a", "default", false), ("x", "default", false)],
                vec![("default", Some("a"), 0)],
                vec![0],
            ),
            (
                "another namespace's budget does not apply",
                vec![("a", "default", false)],
                vec![("other", Some("a"), 0)],
                vec![],
            ),
            (
                "an empty selector matches nothing",
                vec![("a", "default", false)],
                vec![("default", None, 0)],
                vec![],
            ),
            (
                "a pod without labels matches nothing",
                vec![("", "default", false)],
                vec![("default", None, 0)],
                vec![],
            ),
            (
                "a pod already being deleted was disrupted already",
                vec![("a", "default", true), ("a", "default", false)],
                vec![("default", Some("a"), 1)],
                vec![],
            ),
            (
                "two budgets: violating either is enough",
                vec![("a", "default", false)],
                vec![("default", Some("a"), 5), ("default", Some("a"), 0)],
                vec![0],
            ),
        ];
        for (name, pods, budgets, want) in rows {
            let pods: Vec<Pod> = pods
                .iter()
                .enumerate()
                .map(|(i, &(app, ns, del))| labelled(i as u64, app, ns, del))
                .collect();
            let refs: Vec<&Pod> = pods.iter().collect();
            let specs: Vec<PodDisruptionBudgetSpec> = budgets
                .iter()
                .map(|&(ns, app, _)| budget(ns, app))
                .collect();
            let allowances: Vec<PdbAllowance<'_>> = specs
                .iter()
                .zip(&budgets)
                .map(|(pdb, &(_, _, allowed))| PdbAllowance { pdb, allowed })
                .collect();
            let (violating, rest) = filter_pods_with_pdb_violation(&refs, &allowances);
            let got: Vec<u64> = violating.iter().map(|p| p.id.0).collect();
            assert_eq!(got, want, "{name}");
            assert_eq!(violating.len() + rest.len(), pods.len(), "{name}");
        }
    }

    #[test]
    fn num_candidates_table() {
        // calculateNumCandidates: 10% of nodes, at least 100, at most all.
        for (n, want) in [(5, 5), (100, 100), (500, 100), (2000, 200), (5000, 500)] {
            assert_eq!(num_candidates(n), want, "n={n}");
        }
    }

    #[test]
    fn resolvable_plugins() {
        assert!(!unresolvable("NodeResourcesFit"));
        assert!(unresolvable("TaintToleration"));
        assert!(unresolvable("NodeAffinity"));
    }
}
