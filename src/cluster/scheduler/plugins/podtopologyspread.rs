//! PodTopologySpread (`plugins/podtopologyspread/{filtering,scoring,common}.go`).
//!
//! Filter (DoNotSchedule constraints): `skew = matching pods in the node's domain + (1 if the
//! pod matches its own selector) - min over domains` must not exceed `maxSkew`; the min is 0
//! while fewer than `minDomains` domains exist. Score (ScheduleAnyway constraints, or the
//! cluster default constraints for a pod without any): per constraint
//! `count * log(domains + 2) + (maxSkew - 1)`, rounded; NormalizeScore
//! `100 * (max + min - s) / max`. Counts come from the snapshot's incremental selector counts.
//! The default constraints use the selector of the pod's owning ReplicaSet (upstream
//! `DefaultSelector` from Services, ReplicaSets and StatefulSets selecting the pod).

use std::collections::BTreeMap;

use crate::cluster::objects::Pod;
use crate::cluster::scheduler::framework::{
    CycleContext, LABEL_HOSTNAME, MAX_NODE_SCORE, Plugin, Reason, Snapshot,
};
use crate::cluster::spec::{
    LabelSelector, NodeInclusionPolicy, SelectorOperator, TopologySpreadConstraint,
    UnsatisfiableConstraintAction,
};
use crate::cluster::state::Store;

use super::nodeaffinity::required_matches;
use super::tainttoleration::tolerates;

/// Upstream `systemDefaultConstraints`: hostname maxSkew 3 and zone maxSkew 5, ScheduleAnyway.
pub fn system_default_constraints() -> Vec<TopologySpreadConstraint> {
    let c = |key: &str, skew: i32| TopologySpreadConstraint {
        max_skew: skew,
        topology_key: key.to_string(),
        when_unsatisfiable: UnsatisfiableConstraintAction::ScheduleAnyway,
        label_selector: None,
        min_domains: None,
        match_label_keys: Vec::new(),
        node_affinity_policy: NodeInclusionPolicy::Honor,
        node_taints_policy: NodeInclusionPolicy::Ignore,
    };
    vec![c(LABEL_HOSTNAME, 3), c("topology.kubernetes.io/zone", 5)]
}

/// A constraint resolved for one cycle.
#[derive(Clone, Debug)]
struct Resolved {
    key: String,
    max_skew: i64,
    min_domains: i64,
    self_match: i64,
    sel: usize,
    dom: usize,
    affinity_policy: NodeInclusionPolicy,
    taints_policy: NodeInclusionPolicy,
}

/// The PodTopologySpread plugin.
#[derive(Debug)]
pub struct PodTopologySpread {
    defaults: Vec<TopologySpreadConstraint>,
    hard: Vec<Resolved>,
    soft: Vec<Resolved>,
    /// Filter state: per hard constraint, matching pods per eligible domain and the minimum.
    hard_counts: Vec<(BTreeMap<String, i64>, i64)>,
    /// Score state: per soft constraint, counts per domain of the feasible nodes, and weight.
    soft_counts: Vec<(BTreeMap<String, i64>, f64)>,
    require_all: bool,
}

impl PodTopologySpread {
    /// With the profile's default constraints (`None` = the system defaults).
    pub fn new(defaults: Option<Vec<TopologySpreadConstraint>>) -> Self {
        PodTopologySpread {
            defaults: defaults.unwrap_or_else(system_default_constraints),
            hard: Vec::new(),
            soft: Vec::new(),
            hard_counts: Vec::new(),
            soft_counts: Vec::new(),
            require_all: true,
        }
    }

    fn eligible(&self, c: &Resolved, pod: &Pod, s: &Snapshot, n: usize) -> bool {
        let node = &s.nodes[n];
        if c.affinity_policy == NodeInclusionPolicy::Honor && !required_matches(pod, node) {
            return false;
        }
        if c.taints_policy == NodeInclusionPolicy::Honor
            && node.taints.iter().any(|t| {
                matches!(
                    t.effect,
                    crate::cluster::spec::TaintEffect::NoSchedule
                        | crate::cluster::spec::TaintEffect::NoExecute
                ) && !pod.template.tolerations.iter().any(|tol| tolerates(tol, t))
            })
        {
            return false;
        }
        true
    }
}

/// The selector of a constraint with `matchLabelKeys` merged in, or the owner's selector for
/// default constraints.
fn constraint_selector(c: &TopologySpreadConstraint, pod: &Pod) -> Option<LabelSelector> {
    let mut sel = c.label_selector.clone()?;
    for k in &c.match_label_keys {
        if let Some(v) = pod.labels.get(k) {
            sel.match_expressions
                .push(crate::cluster::spec::LabelSelectorRequirement {
                    key: k.clone(),
                    operator: SelectorOperator::In,
                    values: vec![v.clone()],
                });
        }
    }
    Some(sel)
}

impl Plugin for PodTopologySpread {
    fn name(&self) -> &str {
        "PodTopologySpread"
    }

    /// Upstream PreFilter returns Skip when the pod has no hard constraints
    /// (`filtering.go`).
    fn filter_skipped(&self, _cx: &CycleContext<'_>) -> bool {
        self.hard.is_empty()
    }

    /// Upstream PreScore returns Skip when the pod has no soft constraints (`scoring.go`).
    fn score_skipped(&self, _cx: &CycleContext<'_>) -> bool {
        self.soft.is_empty()
    }

    fn prepare(&mut self, pod: &Pod, s: &mut Snapshot, store: &Store) {
        self.hard.clear();
        self.soft.clear();
        let explicit = &pod.template.topology_spread_constraints;
        self.require_all = !explicit.is_empty();
        let list: Vec<(TopologySpreadConstraint, LabelSelector)> = if explicit.is_empty() {
            // Default constraints: the owner's selector (ReplicaSet). A pod without an owner
            // selector gets none (upstream: empty selector -> no default constraints).
            let owner_sel = pod
                .owner
                .as_ref()
                .filter(|o| o.kind == "ReplicaSet")
                .and_then(|o| store.replica_sets.get(&o.key))
                .map(|rs| rs.selector.clone());
            match owner_sel {
                Some(sel) if !sel.match_labels.is_empty() || !sel.match_expressions.is_empty() => {
                    self.defaults
                        .iter()
                        .map(|c| (c.clone(), sel.clone()))
                        .collect()
                }
                _ => Vec::new(),
            }
        } else {
            explicit
                .iter()
                .filter_map(|c| constraint_selector(c, pod).map(|s| (c.clone(), s)))
                .collect()
        };
        for (c, sel) in list {
            let si = s.selector_counts(&pod.namespace, &sel);
            let di = s.domain_counts(si, &c.topology_key);
            let r = Resolved {
                key: c.topology_key.clone(),
                max_skew: i64::from(c.max_skew),
                min_domains: i64::from(c.min_domains.unwrap_or(1)),
                self_match: i64::from(sel.matches(&pod.labels)),
                sel: si,
                dom: di,
                affinity_policy: c.node_affinity_policy,
                taints_policy: c.node_taints_policy,
            };
            match c.when_unsatisfiable {
                UnsatisfiableConstraintAction::DoNotSchedule => self.hard.push(r),
                UnsatisfiableConstraintAction::ScheduleAnyway => self.soft.push(r),
            }
        }
    }

    fn pre_filter(&mut self, cx: &CycleContext<'_>) -> Result<(), Reason> {
        self.hard_counts.clear();
        let s = cx.snapshot;
        let fast = cx.pod.template.node_selector.is_empty()
            && cx.pod.template.affinity.node_affinity.required.is_none();
        for c in &self.hard {
            let sc = &s.selectors[c.sel];
            let mut m: BTreeMap<String, i64> = BTreeMap::new();
            let all_taints_ignored = c.taints_policy == NodeInclusionPolicy::Ignore;
            if fast && all_taints_ignored && c.key != LABEL_HOSTNAME && self.hard.len() == 1 {
                m = sc.per_domain[c.dom].1.clone();
            } else {
                for (i, n) in s.nodes.iter().enumerate() {
                    // Nodes lacking any constraint key are left out (nodeLabelsMatchSpreadConstraints).
                    if !self.hard.iter().all(|h| n.labels.contains_key(&h.key))
                        || !self.eligible(c, cx.pod, s, i)
                    {
                        continue;
                    }
                    let v = &n.labels[&c.key];
                    *m.entry(v.clone()).or_insert(0) += i64::from(sc.per_node[i]);
                }
            }
            let min = m.values().copied().min().unwrap_or(0);
            self.hard_counts.push((m, min));
        }
        Ok(())
    }

    fn filter(&self, cx: &CycleContext<'_>, node: usize, reasons: &mut Vec<Reason>) -> bool {
        let n = &cx.snapshot.nodes[node];
        for (c, (m, min)) in self.hard.iter().zip(&self.hard_counts) {
            let Some(v) = n.labels.get(&c.key) else {
                reasons.push(Reason::Borrowed(
                    "node(s) didn't match pod topology spread constraints (missing required label)",
                ));
                return false;
            };
            let mut min_match = *min;
            if (m.len() as i64) < c.min_domains {
                min_match = 0;
            }
            let match_num = m.get(v).copied().unwrap_or(0);
            if match_num + c.self_match - min_match > c.max_skew {
                reasons.push(Reason::Borrowed(
                    "node(s) didn't match pod topology spread constraints",
                ));
                return false;
            }
        }
        true
    }

    fn pre_score(&mut self, cx: &CycleContext<'_>, feasible: &[usize]) {
        self.soft_counts.clear();
        let s = cx.snapshot;
        let fast = cx.pod.template.node_selector.is_empty()
            && cx.pod.template.affinity.node_affinity.required.is_none();
        let ignored = |i: usize| {
            self.require_all
                && !self
                    .soft
                    .iter()
                    .all(|c| s.nodes[i].labels.contains_key(&c.key))
        };
        let considered = feasible.iter().filter(|&&i| !ignored(i)).count();
        for c in &self.soft {
            let mut m: BTreeMap<String, i64> = BTreeMap::new();
            let size = if c.key == LABEL_HOSTNAME {
                considered
            } else {
                for &i in feasible {
                    if ignored(i) {
                        continue;
                    }
                    if let Some(v) = s.nodes[i].labels.get(&c.key)
                        && !m.contains_key(v)
                    {
                        m.insert(v.clone(), 0);
                    }
                }
                let sc = &s.selectors[c.sel];
                let keys_ok = self
                    .soft
                    .iter()
                    .all(|o| o.key == c.key || o.key == LABEL_HOSTNAME);
                if fast && c.taints_policy == NodeInclusionPolicy::Ignore && keys_ok {
                    for (v, cnt) in m.iter_mut() {
                        *cnt = sc.per_domain[c.dom].1.get(v).copied().unwrap_or(0);
                    }
                } else {
                    for (i, n) in s.nodes.iter().enumerate() {
                        if ignored(i) || !self.eligible(c, cx.pod, s, i) {
                            continue;
                        }
                        if let Some(v) = n.labels.get(&c.key)
                            && let Some(cnt) = m.get_mut(v)
                        {
                            *cnt += i64::from(sc.per_node[i]);
                        }
                    }
                }
                m.len()
            };
            // topologyNormalizingWeight: log(size + 2).
            self.soft_counts.push((m, ((size + 2) as f64).ln()));
        }
    }

    fn score(&self, cx: &CycleContext<'_>, node: usize) -> i64 {
        let s = cx.snapshot;
        let n = &s.nodes[node];
        if self.require_all && !self.soft.iter().all(|c| n.labels.contains_key(&c.key)) {
            return -1; // ignored node, zeroed by normalize
        }
        let mut score = 0f64;
        for (c, (m, w)) in self.soft.iter().zip(&self.soft_counts) {
            let Some(v) = n.labels.get(&c.key) else {
                continue;
            };
            let cnt = if c.key == LABEL_HOSTNAME {
                i64::from(s.selectors[c.sel].per_node[node])
            } else {
                m.get(v).copied().unwrap_or(0)
            };
            // scoreForCount
            score += cnt as f64 * w + (c.max_skew - 1) as f64;
        }
        score.round() as i64
    }

    fn normalize(&self, _cx: &CycleContext<'_>, _f: &[usize], scores: &mut [i64]) {
        if self.soft.is_empty() {
            scores.iter_mut().for_each(|s| *s = 0);
            return;
        }
        let mut min = i64::MAX;
        let mut max = 0i64;
        for &s in scores.iter() {
            if s < 0 {
                continue;
            }
            min = min.min(s);
            max = max.max(s);
        }
        for s in scores.iter_mut() {
            if *s < 0 {
                *s = 0;
            } else if max == 0 {
                *s = MAX_NODE_SCORE;
            } else {
                *s = MAX_NODE_SCORE * (max + min - *s) / max;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_formula() {
        // scoring_test.go TestPodTopologySpreadScore "one constraint on node, all 4 nodes are
        // candidates": raw counts after scoreForCount with maxSkew 1 and weight log(4+2) on
        // 0,1,2,3 matching pods -> 0, 2, 4, 5 (rounded) -> 100, 60, 20, 0.
        let w = (6f64).ln();
        let raw: Vec<i64> = (0..4).map(|c| (c as f64 * w).round() as i64).collect();
        assert_eq!(raw, vec![0, 2, 4, 5]);
        let p = PodTopologySpread::new(None);
        let mut p = p;
        p.soft.push(Resolved {
            key: LABEL_HOSTNAME.into(),
            max_skew: 1,
            min_domains: 1,
            self_match: 1,
            sel: 0,
            dom: 0,
            affinity_policy: NodeInclusionPolicy::Honor,
            taints_policy: NodeInclusionPolicy::Ignore,
        });
        let mut s = raw.clone();
        let snap = Snapshot::default();
        let pods = BTreeMap::new();
        let pod = crate::cluster::scheduler::tests_support::pod();
        let cx = CycleContext {
            pod: &pod,
            snapshot: &snap,
            pods: &pods,
        };
        p.normalize(&cx, &[], &mut s);
        assert_eq!(s, vec![100, 60, 20, 0]);
    }
}
