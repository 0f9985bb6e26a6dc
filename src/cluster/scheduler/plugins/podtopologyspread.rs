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

use std::borrow::Cow;

use crate::cluster::objects::Pod;
use crate::cluster::scheduler::framework::{
    CycleContext, LABEL_HOSTNAME, MAX_NODE_SCORE, Plugin, Reason, Snapshot,
};
use crate::cluster::scheduler::topology::{DomainId, NO_DOMAIN};
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
    /// The topology key is `kubernetes.io/hostname` (upstream counts those per node in Score).
    hostname: bool,
    max_skew: i64,
    min_domains: i64,
    self_match: i64,
    /// Index into the snapshot's `selectors`.
    sel: usize,
    /// Index into that selector's `per_domain`.
    dom: usize,
    /// Index into the snapshot's `topologies` (the key's domains).
    topo: usize,
    affinity_policy: NodeInclusionPolicy,
    taints_policy: NodeInclusionPolicy,
}

/// Filter state of one DoNotSchedule constraint (upstream `preFilterState`): matching pods per
/// domain id of the eligible nodes (`None` for a domain no eligible node is in), the number of
/// such domains, and the minimum count over them.
#[derive(Clone, Debug, Default)]
struct HardCounts {
    counts: Vec<Option<i64>>,
    domains: i64,
    min: i64,
}

/// Score state of one ScheduleAnyway constraint (upstream `preScoreState`): matching pods per
/// domain id (0 for domains of no considered feasible node; unused for hostname), and the
/// topologyNormalizingWeight.
#[derive(Clone, Debug, Default)]
struct SoftCounts {
    counts: Vec<i64>,
    weight: f64,
}

/// The PodTopologySpread plugin.
#[derive(Debug)]
pub struct PodTopologySpread {
    defaults: Vec<TopologySpreadConstraint>,
    hard: Vec<Resolved>,
    soft: Vec<Resolved>,
    /// Filter state, aligned with `hard`.
    hard_counts: Vec<HardCounts>,
    /// Score state, aligned with `soft`.
    soft_counts: Vec<SoftCounts>,
    require_all: bool,
    /// The default constraints are the system defaults (`defaultingType: System`), not a
    /// profile's `List`.
    system_defaulted: bool,
    /// Per node, for this cycle: the pod's node affinity / selector matches it (filled only
    /// when a constraint honours node affinity and the pod has any).
    affinity_ok: Vec<bool>,
    /// Per node, for this cycle: the pod tolerates its NoSchedule / NoExecute taints (filled
    /// only when a constraint honours taints and some node has taints).
    taints_ok: Vec<bool>,
}

impl PodTopologySpread {
    /// With the profile's default constraints (`None` = the system defaults).
    pub fn new(defaults: Option<Vec<TopologySpreadConstraint>>) -> Self {
        PodTopologySpread {
            system_defaulted: defaults.is_none(),
            defaults: defaults.unwrap_or_else(system_default_constraints),
            hard: Vec::new(),
            soft: Vec::new(),
            hard_counts: Vec::new(),
            soft_counts: Vec::new(),
            require_all: true,
            affinity_ok: Vec::new(),
            taints_ok: Vec::new(),
        }
    }

    /// Fill `affinity_ok` / `taints_ok` for the `constraints` about to be evaluated (upstream
    /// `MatchNodeInclusionPolicies`), each once per node rather than per node per constraint.
    fn fill_eligibility(&mut self, cx: &CycleContext<'_>, hard: bool) {
        let s = cx.snapshot;
        let pod = cx.pod;
        let list = if hard { &self.hard } else { &self.soft };
        let has_affinity = !pod.template.node_selector.is_empty()
            || pod.template.affinity.node_affinity.required.is_some();
        self.affinity_ok.clear();
        if has_affinity
            && list
                .iter()
                .any(|c| c.affinity_policy == NodeInclusionPolicy::Honor)
        {
            self.affinity_ok
                .extend(s.nodes.iter().map(|n| required_matches(pod, n)));
        }
        self.taints_ok.clear();
        if s.tainted_nodes > 0
            && list
                .iter()
                .any(|c| c.taints_policy == NodeInclusionPolicy::Honor)
        {
            self.taints_ok.extend(s.nodes.iter().map(|n| {
                !n.taints.iter().any(|t| {
                    matches!(
                        t.effect,
                        crate::cluster::spec::TaintEffect::NoSchedule
                            | crate::cluster::spec::TaintEffect::NoExecute
                    ) && !pod.template.tolerations.iter().any(|tol| tolerates(tol, t))
                })
            }));
        }
    }

    /// Node `n` counts for constraint `c` (its node inclusion policies), after
    /// [`PodTopologySpread::fill_eligibility`].
    fn eligible(&self, c: &Resolved, n: usize) -> bool {
        let affinity = c.affinity_policy == NodeInclusionPolicy::Ignore
            || self.affinity_ok.is_empty()
            || self.affinity_ok[n];
        let taints = c.taints_policy == NodeInclusionPolicy::Ignore
            || self.taints_ok.is_empty()
            || self.taints_ok[n];
        affinity && taints
    }

    /// Resolve constraint `c` whose (namespace, selector) counts are `selectors[si]` and whose
    /// selector matches the pod itself if `self_match`, creating its domain counts.
    fn resolve(
        c: &TopologySpreadConstraint,
        si: usize,
        self_match: bool,
        s: &mut Snapshot,
    ) -> Resolved {
        let di = s.domain_counts(si, &c.topology_key);
        Resolved {
            hostname: c.topology_key == LABEL_HOSTNAME,
            max_skew: i64::from(c.max_skew),
            min_domains: i64::from(c.min_domains.unwrap_or(1)),
            self_match: i64::from(self_match),
            sel: si,
            dom: di,
            topo: s.selectors[si].per_domain[di].0,
            affinity_policy: c.node_affinity_policy,
            taints_policy: c.node_taints_policy,
        }
    }
}

/// The selector of a constraint with `matchLabelKeys` merged in (`None` without a selector).
fn constraint_selector<'c>(
    c: &'c TopologySpreadConstraint,
    pod: &Pod,
) -> Option<Cow<'c, LabelSelector>> {
    let base = c.label_selector.as_ref()?;
    if c.match_label_keys.is_empty() {
        return Some(Cow::Borrowed(base));
    }
    let mut sel = base.clone();
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
    Some(Cow::Owned(sel))
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
        let mut hard = std::mem::take(&mut self.hard);
        let mut soft = std::mem::take(&mut self.soft);
        hard.clear();
        soft.clear();
        let mut push = |c: &TopologySpreadConstraint, r: Resolved| match c.when_unsatisfiable {
            UnsatisfiableConstraintAction::DoNotSchedule => hard.push(r),
            UnsatisfiableConstraintAction::ScheduleAnyway => soft.push(r),
        };
        let explicit = &pod.template.topology_spread_constraints;
        // Upstream scoring.go (PreScore): "Only require that nodes have all the topology labels
        // if using non-system-default spreading rules. This allows nodes that don't have a zone
        // label to still have hostname spreading." A profile's `List` defaults require them.
        self.require_all = !explicit.is_empty() || !self.system_defaulted;
        if explicit.is_empty() {
            // Default constraints: the owner's selector (ReplicaSet). A pod without an owner
            // selector gets none (upstream: empty selector -> no default constraints).
            let owner_sel = pod
                .owner
                .as_ref()
                .filter(|o| o.kind == "ReplicaSet")
                .and_then(|o| store.replica_sets.get(&o.key))
                .map(|rs| &rs.selector);
            if let Some(sel) = owner_sel
                && (!sel.match_labels.is_empty() || !sel.match_expressions.is_empty())
            {
                // One selector for every default constraint: count and match it once.
                let si = s.selector_counts(&pod.namespace, sel);
                let self_match = sel.matches(&pod.labels);
                for c in &self.defaults {
                    push(c, Self::resolve(c, si, self_match, s));
                }
            }
        } else {
            for c in explicit {
                if let Some(sel) = constraint_selector(c, pod) {
                    let si = s.selector_counts(&pod.namespace, &sel);
                    push(c, Self::resolve(c, si, sel.matches(&pod.labels), s));
                }
            }
        }
        self.hard = hard;
        self.soft = soft;
    }

    fn pre_filter(&mut self, cx: &CycleContext<'_>) -> Result<(), Reason> {
        self.hard_counts.clear();
        if self.hard.is_empty() {
            return Ok(());
        }
        let s = cx.snapshot;
        let fast = cx.pod.template.node_selector.is_empty()
            && cx.pod.template.affinity.node_affinity.required.is_none();
        self.fill_eligibility(cx, true);
        let mut states = std::mem::take(&mut self.hard_counts);
        for c in &self.hard {
            let sc = &s.selectors[c.sel];
            let topo = &s.topologies[c.topo];
            let mut m: Vec<Option<i64>> = vec![None; topo.len()];
            let all_taints_ignored = c.taints_policy == NodeInclusionPolicy::Ignore;
            if fast && all_taints_ignored && !c.hostname && self.hard.len() == 1 {
                for (slot, &n) in m.iter_mut().zip(&sc.per_domain[c.dom].1) {
                    *slot = Some(n);
                }
            } else {
                for (i, &d) in topo.node_domain.iter().enumerate() {
                    // Nodes lacking any constraint key are left out (nodeLabelsMatchSpreadConstraints).
                    if !self
                        .hard
                        .iter()
                        .all(|h| s.topologies[h.topo].node_domain[i] != NO_DOMAIN)
                        || !self.eligible(c, i)
                    {
                        continue;
                    }
                    *m[d as usize].get_or_insert(0) += i64::from(sc.per_node[i]);
                }
            }
            let domains = m.iter().flatten().count() as i64;
            let min = m.iter().flatten().copied().min().unwrap_or(0);
            states.push(HardCounts {
                counts: m,
                domains,
                min,
            });
        }
        self.hard_counts = states;
        Ok(())
    }

    fn filter(&self, cx: &CycleContext<'_>, node: usize, reasons: &mut Vec<Reason>) -> bool {
        let s = cx.snapshot;
        for (c, h) in self.hard.iter().zip(&self.hard_counts) {
            let Some(d) = s.topologies[c.topo].domain(node) else {
                reasons.push(Reason::Borrowed(
                    "node(s) didn't match pod topology spread constraints (missing required label)",
                ));
                return false;
            };
            let mut min_match = h.min;
            if h.domains < c.min_domains {
                min_match = 0;
            }
            let match_num = h.counts[d as usize].unwrap_or(0);
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
        if self.soft.is_empty() {
            return;
        }
        let s = cx.snapshot;
        let fast = cx.pod.template.node_selector.is_empty()
            && cx.pod.template.affinity.node_affinity.required.is_none();
        self.fill_eligibility(cx, false);
        let soft = &self.soft;
        let require_all = self.require_all;
        // Nodes without every constraint's key are ignored when the pod's own constraints
        // are used (upstream `requireAllTopologies`).
        let ignored = |i: usize| {
            require_all
                && soft
                    .iter()
                    .any(|c| s.topologies[c.topo].node_domain[i] == NO_DOMAIN)
        };
        let considered = feasible.iter().filter(|&&i| !ignored(i)).count();
        let mut states = std::mem::take(&mut self.soft_counts);
        let mut present: Vec<bool> = Vec::new();
        for c in soft {
            let mut counts: Vec<i64> = Vec::new();
            let size = if c.hostname {
                considered
            } else {
                let topo = &s.topologies[c.topo];
                present.clear();
                present.resize(topo.len(), false);
                counts.resize(topo.len(), 0);
                let mut size = 0;
                for &i in feasible {
                    if ignored(i) {
                        continue;
                    }
                    let d = topo.node_domain[i];
                    if d != NO_DOMAIN && !present[d as usize] {
                        present[d as usize] = true;
                        size += 1;
                    }
                }
                let sc = &s.selectors[c.sel];
                let keys_ok = soft.iter().all(|o| o.topo == c.topo || o.hostname);
                if fast && c.taints_policy == NodeInclusionPolicy::Ignore && keys_ok {
                    for ((cnt, &p), &n) in
                        counts.iter_mut().zip(&present).zip(&sc.per_domain[c.dom].1)
                    {
                        if p {
                            *cnt = n;
                        }
                    }
                } else {
                    for (i, &d) in topo.node_domain.iter().enumerate() {
                        if d == NO_DOMAIN
                            || !present[d as usize]
                            || ignored(i)
                            || !self.eligible(c, i)
                        {
                            continue;
                        }
                        counts[d as usize] += i64::from(sc.per_node[i]);
                    }
                }
                size
            };
            // topologyNormalizingWeight: log(size + 2).
            states.push(SoftCounts {
                counts,
                weight: ((size + 2) as f64).ln(),
            });
        }
        self.soft_counts = states;
    }

    fn score(&self, cx: &CycleContext<'_>, node: usize) -> i64 {
        let mut out = Vec::with_capacity(1);
        self.score_all(cx, &[node], &mut out);
        out[0]
    }

    /// Upstream `Score` per feasible node: an ignored node scores -1 (zeroed by normalize);
    /// else the rounded sum of `scoreForCount` over the constraints whose key the node has,
    /// with the node's own matching pods for hostname and its domain's count otherwise.
    fn score_all(&self, cx: &CycleContext<'_>, feasible: &[usize], out: &mut Vec<i64>) {
        let s = cx.snapshot;
        /// One constraint's inputs, looked up once per cycle.
        struct Term<'a> {
            node_domain: &'a [DomainId],
            /// Hostname: the node's own matching pods (`scoreForCount` computed per node).
            per_node: Option<&'a [u32]>,
            /// Otherwise `scoreForCount` of each domain's count, computed once per domain
            /// (the same floating-point operations, so the same values).
            per_domain: Vec<f64>,
            weight: f64,
            skew: f64,
        }
        let terms: Vec<Term<'_>> = self
            .soft
            .iter()
            .zip(&self.soft_counts)
            .map(|(c, st)| {
                let skew = (c.max_skew - 1) as f64;
                Term {
                    node_domain: &s.topologies[c.topo].node_domain,
                    per_node: c.hostname.then(|| &s.selectors[c.sel].per_node[..]),
                    per_domain: if c.hostname {
                        Vec::new()
                    } else {
                        st.counts
                            .iter()
                            .map(|&n| n as f64 * st.weight + skew)
                            .collect()
                    },
                    weight: st.weight,
                    skew,
                }
            })
            .collect();
        let require_all = self.require_all;
        // The system default constraints' shape (hostname, then another key, no ignored
        // nodes): the loop below with the two terms spelled out.
        if let [h, z] = &terms[..]
            && let Some(per_node) = h.per_node
            && z.per_node.is_none()
            && !require_all
        {
            let (zd, zt) = (z.node_domain, &z.per_domain[..]);
            out.extend(feasible.iter().map(|&i| {
                let mut score = 0f64;
                if h.node_domain[i] != NO_DOMAIN {
                    score += f64::from(per_node[i]) * h.weight + h.skew;
                }
                let d = zd[i];
                if d != NO_DOMAIN {
                    score += zt[d as usize];
                }
                round_half_away(score)
            }));
            return;
        }
        out.extend(feasible.iter().map(|&i| {
            if require_all && terms.iter().any(|t| t.node_domain[i] == NO_DOMAIN) {
                return -1; // ignored node, zeroed by normalize
            }
            let mut score = 0f64;
            for t in &terms {
                let d = t.node_domain[i];
                if d == NO_DOMAIN {
                    continue;
                }
                // scoreForCount: cnt * weight + (maxSkew - 1).
                score += match t.per_node {
                    Some(p) => f64::from(p[i]) * t.weight + t.skew,
                    None => t.per_domain[d as usize],
                };
            }
            round_half_away(score)
        }));
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
        if max > 0 && max - min < 4096 {
            // The same integer arithmetic, once per distinct raw score.
            let table: Vec<i64> = (min..=max)
                .map(|s| MAX_NODE_SCORE * (max + min - s) / max)
                .collect();
            for s in scores.iter_mut() {
                *s = if *s < 0 {
                    0
                } else {
                    table[(*s - min) as usize]
                };
            }
            return;
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

/// `x.round() as i64` (Go's `math.Round`: half away from zero) without the libm call: the
/// fraction `x - trunc(x)` is exact below 2^52, so comparing it with 0.5 rounds alike.
#[inline]
fn round_half_away(x: f64) -> i64 {
    const EXACT: f64 = 4_503_599_627_370_496.0; // 2^52
    if x.is_nan() || x.abs() >= EXACT {
        return x.round() as i64;
    }
    let t = x as i64;
    let frac = x - t as f64;
    if frac >= 0.5 {
        t + 1
    } else if frac <= -0.5 {
        t - 1
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_half_away_matches_f64_round() {
        let w = (5002f64).ln();
        let mut xs = vec![
            0.0,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            -0.5,
            -1.5,
            -2.4,
            2.4999,
            1e15 + 0.5,
            4.6e15,
            1e300,
            -1e300,
            f64::NAN,
            f64::INFINITY,
        ];
        for c in 0..2000 {
            xs.push(c as f64 * w + 2.0);
            xs.push(c as f64 * (5f64).ln() + 4.0 + c as f64 * w);
            xs.push(c as f64 / 8.0);
            xs.push(-(c as f64) / 8.0);
        }
        for x in xs {
            assert_eq!(round_half_away(x), x.round() as i64, "{x}");
        }
    }

    #[test]
    fn normalize_table_equals_formula() {
        let mut p = PodTopologySpread::new(None);
        p.require_all = false;
        p.soft.push(Resolved {
            hostname: true,
            max_skew: 1,
            min_domains: 1,
            self_match: 1,
            sel: 0,
            dom: 0,
            topo: 0,
            affinity_policy: NodeInclusionPolicy::Honor,
            taints_policy: NodeInclusionPolicy::Ignore,
        });
        let snap = Snapshot::default();
        let pods = std::collections::BTreeMap::new();
        let pod = crate::cluster::scheduler::tests_support::pod();
        let cx = CycleContext {
            pod: &pod,
            snapshot: &snap,
            pods: &pods,
        };
        // Small ranges take the table, a wide one the per-node division; both are upstream's
        // `MaxNodeScore * (max + min - s) / max` with ignored (-1) nodes at 0.
        for raw in [
            vec![-1, 7, 9, 12, 7, -1, 30],
            vec![0, 0, 0],
            vec![3, 3],
            vec![5, 100_000, 42, -1],
        ] {
            let mut got = raw.clone();
            p.normalize(&cx, &[], &mut got);
            let ok: Vec<i64> = raw.iter().copied().filter(|&s| s >= 0).collect();
            let (min, max) = (*ok.iter().min().unwrap(), *ok.iter().max().unwrap());
            let want: Vec<i64> = raw
                .iter()
                .map(|&s| match s {
                    s if s < 0 => 0,
                    _ if max == 0 => MAX_NODE_SCORE,
                    s => MAX_NODE_SCORE * (max + min - s) / max,
                })
                .collect();
            assert_eq!(got, want, "{raw:?}");
        }
    }

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
            hostname: true,
            max_skew: 1,
            min_domains: 1,
            self_match: 1,
            sel: 0,
            dom: 0,
            topo: 0,
            affinity_policy: NodeInclusionPolicy::Honor,
            taints_policy: NodeInclusionPolicy::Ignore,
        });
        let mut s = raw.clone();
        let snap = Snapshot::default();
        let pods = std::collections::BTreeMap::new();
        let pod = crate::cluster::scheduler::tests_support::pod();
        let cx = CycleContext {
            pod: &pod,
            snapshot: &snap,
            pods: &pods,
        };
        p.normalize(&cx, &[], &mut s);
        assert_eq!(s, vec![100, 60, 20, 0]);
    }

    // ---- Table tests from upstream `scoring_test.go` `TestPodTopologySpreadScore` and
    // `filtering_test.go`, run through the snapshot's incremental counts. ----

    use crate::cluster::objects::PodId;
    use crate::cluster::scheduler::framework::NodeInfo;
    use crate::cluster::spec::{LabelSelectorRequirement, Labels, Resources};
    use std::sync::Arc;

    type Kv<'a> = &'a [(&'a str, &'a str)];

    fn labels(kv: Kv<'_>) -> Labels {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn exists(key: &str) -> LabelSelector {
        LabelSelector {
            match_labels: Labels::new(),
            match_expressions: vec![LabelSelectorRequirement {
                key: key.into(),
                operator: SelectorOperator::Exists,
                values: Vec::new(),
            }],
        }
    }

    fn constraint(
        skew: i32,
        key: &str,
        action: UnsatisfiableConstraintAction,
        sel: LabelSelector,
    ) -> TopologySpreadConstraint {
        TopologySpreadConstraint {
            max_skew: skew,
            topology_key: key.into(),
            when_unsatisfiable: action,
            label_selector: Some(sel),
            min_domains: None,
            match_label_keys: Vec::new(),
            node_affinity_policy: NodeInclusionPolicy::Honor,
            node_taints_policy: NodeInclusionPolicy::Ignore,
        }
    }

    fn soft(skew: i32, key: &str, sel: &str) -> TopologySpreadConstraint {
        constraint(
            skew,
            key,
            UnsatisfiableConstraintAction::ScheduleAnyway,
            exists(sel),
        )
    }

    fn hard(skew: i32, key: &str, sel: &str) -> TopologySpreadConstraint {
        constraint(
            skew,
            key,
            UnsatisfiableConstraintAction::DoNotSchedule,
            exists(sel),
        )
    }

    /// An existing pod: node, labels, namespace, terminating.
    type Existing<'a> = (&'a str, Kv<'a>, &'a str, bool);

    fn snapshot(nodes: &[(&str, Kv<'_>)], existing: &[Existing<'_>]) -> Snapshot {
        let mut s = Snapshot::default();
        for (name, kv) in nodes {
            s.push_node(NodeInfo {
                name: name.to_string(),
                labels: labels(kv),
                taints: Vec::new(),
                allocatable: Resources::default(),
                unschedulable: false,
                requested: Resources::default(),
                non_zero_requested: Resources::default(),
                pods: Vec::new(),
                images: Vec::new(),
            });
        }
        for (k, (node, kv, ns, terminating)) in existing.iter().enumerate() {
            let mut p = crate::cluster::scheduler::tests_support::pod();
            p.id = PodId(100 + k as u64);
            p.labels = labels(kv);
            p.namespace = ns.to_string();
            if *terminating {
                p.deletion_timestamp = Some(crate::engine::SimTime::ZERO);
            }
            s.add_pod(&p, node);
        }
        s
    }

    fn incoming(kv: Kv<'_>, constraints: Vec<TopologySpreadConstraint>) -> Pod {
        let mut p = crate::cluster::scheduler::tests_support::pod();
        p.labels = labels(kv);
        let mut t = (*p.template).clone();
        t.topology_spread_constraints = constraints;
        p.template = Arc::new(t);
        p
    }

    /// Normalized scores of the `candidates` (node names).
    fn scores(s: &mut Snapshot, pod: &Pod, candidates: &[&str]) -> Vec<i64> {
        let mut pl = PodTopologySpread::new(None);
        pl.prepare(pod, s, &Store::default());
        let feasible: Vec<usize> = candidates.iter().map(|n| s.index[*n]).collect();
        let pods = std::collections::BTreeMap::new();
        let cx = CycleContext {
            pod,
            snapshot: s,
            pods: &pods,
        };
        pl.pre_score(&cx, &feasible);
        let mut out = Vec::new();
        pl.score_all(&cx, &feasible, &mut out);
        let one: Vec<i64> = feasible.iter().map(|&i| pl.score(&cx, i)).collect();
        assert_eq!(one, out, "score and score_all agree");
        pl.normalize(&cx, &feasible, &mut out);
        out
    }

    const H: &str = LABEL_HOSTNAME;
    const FOO: &[(&str, &str)] = &[("foo", "")];
    const BAR: &[(&str, &str)] = &[("bar", "")];
    const FOOBAR: &[(&str, &str)] = &[("foo", ""), ("bar", "")];

    /// A store with ReplicaSet `default/rs` selecting `sel`, and an incoming pod labelled
    /// `FOO`, without constraints of its own, owned by it (so the default constraints apply).
    fn owned_by_replica_set(sel: &LabelSelector) -> (Store, Pod) {
        let mut store = Store::default();
        let rs = crate::cluster::objects::ReplicaSet {
            name: "rs".into(),
            namespace: "default".into(),
            owner: None,
            workload: "w".into(),
            replicas: 1,
            selector: sel.clone(),
            template: Arc::new(Default::default()),
            template_hash: "h".into(),
            min_ready_seconds: 0,
            revision: 1,
            created_at: crate::engine::SimTime::ZERO,
            status: Default::default(),
            desired_replicas: None,
            max_replicas: None,
        };
        store.replica_sets.insert("default/rs".into(), rs);
        let mut owned = incoming(FOO, Vec::new());
        owned.owner = Some(crate::cluster::objects::OwnerRef {
            kind: "ReplicaSet",
            key: "default/rs".into(),
        });
        (store, owned)
    }

    fn on(node: &'static str, kv: Kv<'static>) -> Existing<'static> {
        (node, kv, "default", false)
    }

    #[test]
    fn upstream_score_table() {
        let host = |n: &'static str| -> Vec<(&'static str, &'static str)> { vec![(H, n)] };
        let zh = |z: &'static str, n: &'static str| vec![("zone", z), (H, n)];
        struct Case {
            name: &'static str,
            nodes: Vec<(&'static str, Vec<(&'static str, &'static str)>)>,
            existing: Vec<Existing<'static>>,
            candidates: Vec<&'static str>,
            pod_labels: Kv<'static>,
            constraints: Vec<TopologySpreadConstraint>,
            want: Vec<i64>,
        }
        let four = || {
            vec![
                ("node-a", host("node-a")),
                ("node-b", host("node-b")),
                ("node-c", host("node-c")),
                ("node-d", host("node-d")),
            ]
        };
        let spread = |counts: &[(&'static str, usize)]| -> Vec<Existing<'static>> {
            counts
                .iter()
                .flat_map(|&(n, c)| std::iter::repeat_n(on(n, FOO), c))
                .collect()
        };
        let zones4 = || {
            vec![
                ("node-a", zh("zone1", "node-a")),
                ("node-b", zh("zone1", "node-b")),
                ("node-x", zh("zone2", "node-x")),
                ("node-y", zh("zone2", "node-y")),
            ]
        };
        let cases = vec![
            Case {
                name: "one constraint on node, no existing pods",
                nodes: four()[..2].to_vec(),
                existing: vec![],
                candidates: vec!["node-a", "node-b"],
                pod_labels: FOO,
                constraints: vec![soft(1, H, "foo")],
                want: vec![100, 100],
            },
            Case {
                name: "one constraint on node, all 4 nodes are candidates",
                nodes: four(),
                existing: spread(&[("node-a", 2), ("node-b", 1), ("node-d", 3)]),
                candidates: vec!["node-a", "node-b", "node-c", "node-d"],
                pod_labels: FOO,
                constraints: vec![soft(1, H, "foo")],
                want: vec![20, 60, 100, 0],
            },
            Case {
                name: "one constraint on node, all 4 nodes are candidates, maxSkew=2",
                nodes: four(),
                existing: spread(&[("node-a", 2), ("node-b", 1), ("node-d", 3)]),
                candidates: vec!["node-a", "node-b", "node-c", "node-d"],
                pod_labels: FOO,
                constraints: vec![soft(2, H, "foo")],
                want: vec![33, 66, 100, 16],
            },
            Case {
                name: "one constraint on node, all 4 nodes are candidates, maxSkew=3",
                nodes: four(),
                existing: spread(&[("node-a", 4), ("node-b", 3), ("node-c", 2), ("node-d", 1)]),
                candidates: vec!["node-a", "node-b", "node-c", "node-d"],
                pod_labels: FOO,
                constraints: vec![soft(3, H, "foo")],
                want: vec![44, 66, 77, 100],
            },
            Case {
                name: "one constraint on node, 3 out of 4 nodes are candidates",
                nodes: vec![
                    ("node-a", host("node-a")),
                    ("node-b", host("node-b")),
                    ("node-x", host("node-x")),
                    ("node-y", host("node-y")),
                ],
                existing: spread(&[("node-a", 4), ("node-b", 2), ("node-x", 1), ("node-y", 3)]),
                candidates: vec!["node-a", "node-b", "node-x"],
                pod_labels: FOO,
                constraints: vec![soft(1, H, "foo")],
                want: vec![33, 83, 100],
            },
            Case {
                name: "one constraint on node, 3 out of 4 nodes are candidates, one node doesn't match topology key",
                nodes: vec![
                    ("node-a", host("node-a")),
                    ("node-b", vec![("n", "node-b")]),
                    ("node-x", host("node-x")),
                    ("node-y", host("node-y")),
                ],
                existing: spread(&[("node-a", 4), ("node-b", 2), ("node-x", 1), ("node-y", 3)]),
                candidates: vec!["node-a", "node-b", "node-x"],
                pod_labels: FOO,
                constraints: vec![soft(1, H, "foo")],
                want: vec![16, 0, 100],
            },
            Case {
                name: "one constraint on zone, 3 out of 4 nodes are candidates",
                nodes: zones4(),
                existing: spread(&[("node-a", 4), ("node-b", 2), ("node-x", 1), ("node-y", 3)]),
                candidates: vec!["node-a", "node-b", "node-x"],
                pod_labels: FOO,
                constraints: vec![soft(1, "zone", "foo")],
                want: vec![75, 75, 100],
            },
            Case {
                name: "two Constraints on zone and node, 2 out of 4 nodes are candidates",
                nodes: zones4(),
                existing: spread(&[("node-a", 2), ("node-b", 1), ("node-x", 2), ("node-y", 4)]),
                candidates: vec!["node-a", "node-x"],
                pod_labels: FOO,
                constraints: vec![soft(1, "zone", "foo"), soft(1, H, "foo")],
                want: vec![100, 63],
            },
            Case {
                name: "two Constraints on zone, 2 out of 4 nodes are candidates",
                nodes: vec![
                    ("node-a", vec![("zone", "zone1")]),
                    ("node-b", vec![("zone", "zone1")]),
                    ("node-x", vec![("zone", "zone2")]),
                    ("node-y", vec![("zone", "zone2")]),
                ],
                existing: vec![
                    on("node-a", FOOBAR),
                    on("node-a", FOO),
                    on("node-b", FOOBAR),
                    on("node-y", FOO),
                    on("node-y", FOOBAR),
                    on("node-y", FOO),
                ],
                candidates: vec!["node-a", "node-x"],
                pod_labels: FOOBAR,
                constraints: vec![soft(1, "zone", "foo"), soft(1, "zone", "bar")],
                want: vec![85, 100],
            },
            Case {
                name: "two Constraints on zone and node, with different labelSelectors",
                nodes: zones4(),
                existing: vec![
                    on("node-a", FOO),
                    on("node-b", FOOBAR),
                    on("node-y", FOO),
                    on("node-y", BAR),
                ],
                candidates: vec!["node-a", "node-b", "node-x", "node-y"],
                pod_labels: FOOBAR,
                constraints: vec![soft(1, "zone", "foo"), soft(1, H, "bar")],
                want: vec![60, 20, 100, 60],
            },
            Case {
                name: "two Constraints on zone and node, with different labelSelectors, some nodes have 0 pods",
                nodes: zones4(),
                existing: vec![on("node-b", BAR), on("node-x", FOO), on("node-y", FOOBAR)],
                candidates: vec!["node-a", "node-b", "node-x", "node-y"],
                pod_labels: FOOBAR,
                constraints: vec![soft(1, "zone", "foo"), soft(1, H, "bar")],
                want: vec![100, 60, 40, 0],
            },
            Case {
                name: "two Constraints on zone and node, with different labelSelectors, 3 out of 4 nodes are candidates",
                nodes: zones4(),
                existing: vec![
                    on("node-a", FOO),
                    on("node-b", FOOBAR),
                    on("node-y", FOO),
                    on("node-y", BAR),
                ],
                candidates: vec!["node-a", "node-b", "node-x"],
                pod_labels: FOOBAR,
                constraints: vec![soft(1, "zone", "foo"), soft(1, H, "bar")],
                want: vec![50, 25, 100],
            },
            Case {
                name: "existing pods in a different namespace do not count",
                nodes: four()[..2].to_vec(),
                existing: vec![
                    ("node-a", FOO, "ns1", false),
                    on("node-a", FOO),
                    on("node-b", FOO),
                    on("node-b", FOO),
                ],
                candidates: vec!["node-a", "node-b"],
                pod_labels: FOO,
                constraints: vec![soft(1, H, "foo")],
                want: vec![100, 33],
            },
            Case {
                name: "terminating Pods should be excluded",
                nodes: four()[..2].to_vec(),
                existing: vec![("node-a", FOO, "default", true), on("node-b", FOO)],
                candidates: vec!["node-a", "node-b"],
                pod_labels: FOO,
                constraints: vec![soft(1, H, "foo")],
                want: vec![100, 0],
            },
        ];
        for c in cases {
            let nodes: Vec<(&str, Kv<'_>)> = c.nodes.iter().map(|(n, l)| (*n, &l[..])).collect();
            let mut s = snapshot(&nodes, &c.existing);
            let pod = incoming(c.pod_labels, c.constraints);
            assert_eq!(scores(&mut s, &pod, &c.candidates), c.want, "{}", c.name);
        }
    }

    /// Filter verdicts per node name.
    fn filter_all(s: &mut Snapshot, pod: &Pod) -> Vec<bool> {
        let mut pl = PodTopologySpread::new(None);
        pl.prepare(pod, s, &Store::default());
        let pods = std::collections::BTreeMap::new();
        let cx = CycleContext {
            pod,
            snapshot: s,
            pods: &pods,
        };
        pl.pre_filter(&cx).unwrap();
        let mut reasons = Vec::new();
        (0..s.nodes.len())
            .map(|i| pl.filter(&cx, i, &mut reasons))
            .collect()
    }

    #[test]
    fn upstream_filter_table() {
        // filtering_test.go TestSingleConstraint / TestMultipleConstraints, zones 1 and 2
        // with nodes a, b / x, y.
        let nodes: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("node-a", vec![("zone", "zone1"), (H, "node-a")]),
            ("node-b", vec![("zone", "zone1"), (H, "node-b")]),
            ("node-x", vec![("zone", "zone2"), (H, "node-x")]),
            ("node-y", vec![("zone", "zone2"), (H, "node-y")]),
        ];
        let nodes: Vec<(&str, Kv<'_>)> = nodes.iter().map(|(n, l)| (*n, &l[..])).collect();
        // "pods spread across zones as 3/3, all nodes fit"
        let existing = [
            on("node-a", FOO),
            on("node-b", FOO),
            on("node-b", FOO),
            on("node-x", FOO),
            on("node-y", FOO),
            on("node-y", FOO),
        ];
        let mut s = snapshot(&nodes, &existing);
        let pod = incoming(FOO, vec![hard(1, "zone", "foo")]);
        assert_eq!(filter_all(&mut s, &pod), vec![true; 4]);
        // "pods spread across zones as 1/2 due to absence of label 'zone' on node-b":
        // node-b has no zone, so it is rejected with a missing label.
        let nodes2: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("node-a", vec![("zone", "zone1"), (H, "node-a")]),
            ("node-b", vec![("zon", "zone1"), (H, "node-b")]),
            ("node-x", vec![("zone", "zone2"), (H, "node-x")]),
            ("node-y", vec![("zone", "zone2"), (H, "node-y")]),
        ];
        let nodes2: Vec<(&str, Kv<'_>)> = nodes2.iter().map(|(n, l)| (*n, &l[..])).collect();
        let existing = [on("node-a", FOO), on("node-x", FOO), on("node-y", FOO)];
        let mut s = snapshot(&nodes2, &existing);
        assert_eq!(filter_all(&mut s, &pod), vec![true, false, false, false]);
        // "pods spread across nodes as 2/1/0/3, only node-x fits" (hostname, maxSkew 1).
        let existing = [
            on("node-a", FOO),
            on("node-a", FOO),
            on("node-b", FOO),
            on("node-y", FOO),
            on("node-y", FOO),
            on("node-y", FOO),
        ];
        let mut s = snapshot(&nodes, &existing);
        let pod = incoming(FOO, vec![hard(1, H, "foo")]);
        assert_eq!(filter_all(&mut s, &pod), vec![false, false, true, false]);
        // "incoming pod doesn't match itself": skew counts without the +1.
        let pod = incoming(BAR, vec![hard(1, H, "foo")]);
        assert_eq!(filter_all(&mut s, &pod), vec![false, true, true, false]);
        // "two Constraints on zone and node, spreads = [3/3, 2/1/0/3]": only node-x fits.
        let existing = [
            on("node-a", FOO),
            on("node-a", FOO),
            on("node-b", FOO),
            on("node-y", FOO),
            on("node-y", FOO),
            on("node-y", FOO),
        ];
        let mut s = snapshot(&nodes, &existing);
        let pod = incoming(FOO, vec![hard(1, "zone", "foo"), hard(1, H, "foo")]);
        assert_eq!(filter_all(&mut s, &pod), vec![false, false, true, false]);
        // minDomains 3 with 2 zones: the global minimum counts as 0, so 3/3 rejects all.
        let existing = [
            on("node-a", FOO),
            on("node-a", FOO),
            on("node-b", FOO),
            on("node-x", FOO),
            on("node-y", FOO),
            on("node-y", FOO),
        ];
        let mut s = snapshot(&nodes, &existing);
        let mut c = hard(3, "zone", "foo");
        c.min_domains = Some(3);
        let pod = incoming(FOO, vec![c]);
        assert_eq!(filter_all(&mut s, &pod), vec![false; 4]);
    }

    #[test]
    fn incremental_counts_equal_a_recount() {
        // The snapshot's per-domain counts, kept on add / terminate / remove, equal counting
        // the placed pods afresh (what upstream's PreScore does every cycle).
        let nodes: Vec<(&str, Vec<(&str, &str)>)> = vec![
            ("n0", vec![("zone", "a"), (H, "n0")]),
            ("n1", vec![("zone", "b"), (H, "n1")]),
            ("n2", vec![(H, "n2")]),
            ("n3", vec![("zone", "a"), (H, "n3")]),
        ];
        let nodes: Vec<(&str, Kv<'_>)> = nodes.iter().map(|(n, l)| (*n, &l[..])).collect();
        let mut s = snapshot(&nodes, &[]);
        let sel = exists("foo");
        let si = s.selector_counts("default", &sel);
        let di = s.domain_counts(si, "zone");
        let mut next = 0u64;
        let mut add = |s: &mut Snapshot, node: &str, kv: Kv<'_>| {
            let mut p = crate::cluster::scheduler::tests_support::pod();
            next += 1;
            p.id = PodId(next);
            p.labels = labels(kv);
            s.add_pod(&p, node);
            p.id
        };
        let a = add(&mut s, "n0", FOO);
        let _ = add(&mut s, "n1", FOO);
        let c = add(&mut s, "n2", FOO);
        let _ = add(&mut s, "n3", BAR);
        let e = add(&mut s, "n3", FOO);
        s.mark_terminating(a);
        s.remove_pod(c);
        s.remove_pod(e);
        let _ = add(&mut s, "n0", FOOBAR);
        let recount = |s: &Snapshot| -> Vec<i64> {
            let t = &s.topologies[s.selectors[si].per_domain[di].0];
            let mut v = vec![0i64; t.len()];
            for p in s.placed.values() {
                if !p.terminating
                    && sel.matches(&p.labels)
                    && let Some(d) = t.domain(p.node)
                {
                    v[d as usize] += 1;
                }
            }
            v
        };
        assert_eq!(s.selectors[si].per_domain[di].1, recount(&s));
        assert_eq!(s.selectors[si].per_domain[di].1, vec![1, 1]);
        assert_eq!(s.selectors[si].per_node, vec![1, 1, 0, 0]);
    }

    #[test]
    fn system_defaults_equal_the_same_explicit_constraints() {
        // The default constraints (owner ReplicaSet's selector; the specialised two-term loop)
        // score like the same constraints written on the pod when every node has both keys.
        let nodes: Vec<(&str, Vec<(&str, &str)>)> = vec![
            (
                "node-a",
                vec![("topology.kubernetes.io/zone", "z1"), (H, "node-a")],
            ),
            (
                "node-b",
                vec![("topology.kubernetes.io/zone", "z1"), (H, "node-b")],
            ),
            (
                "node-c",
                vec![("topology.kubernetes.io/zone", "z2"), (H, "node-c")],
            ),
            (
                "node-d",
                vec![("topology.kubernetes.io/zone", "z3"), (H, "node-d")],
            ),
            (
                "node-e",
                vec![("topology.kubernetes.io/zone", "z3"), (H, "node-e")],
            ),
        ];
        let nodes: Vec<(&str, Kv<'_>)> = nodes.iter().map(|(n, l)| (*n, &l[..])).collect();
        let mut existing = Vec::new();
        for (n, c) in [("node-a", 7), ("node-b", 3), ("node-c", 2), ("node-d", 1)] {
            existing.extend(std::iter::repeat_n(on(n, FOO), c));
        }
        let sel = LabelSelector {
            match_labels: labels(FOO),
            match_expressions: Vec::new(),
        };
        let (store, owned) = owned_by_replica_set(&sel);
        let explicit = incoming(
            FOO,
            system_default_constraints()
                .into_iter()
                .map(|mut c| {
                    c.label_selector = Some(sel.clone());
                    c
                })
                .collect(),
        );
        let run = |pod: &Pod, store: &Store| {
            let mut s = snapshot(&nodes, &existing);
            let mut pl = PodTopologySpread::new(None);
            pl.prepare(pod, &mut s, store);
            let feasible = [0, 1, 2, 3, 4];
            let pods = std::collections::BTreeMap::new();
            let cx = CycleContext {
                pod,
                snapshot: &s,
                pods: &pods,
            };
            pl.pre_score(&cx, &feasible);
            let mut out = Vec::new();
            pl.score_all(&cx, &feasible, &mut out);
            out
        };
        let defaults = run(&owned, &store);
        assert_eq!(defaults, run(&explicit, &store));
        assert_eq!(defaults.len(), 5);
        assert!(defaults[0] > defaults[4], "{defaults:?}");
    }

    #[test]
    fn only_system_defaults_score_nodes_missing_a_topology_key() {
        // node-c has no zone label. Under the system defaults it still gets hostname spreading
        // (upstream requireAllTopologies is false); under the same constraints as a profile's
        // `List` defaults or written on the pod, it is ignored (scores 0 after normalize).
        let nodes: Vec<(&str, Vec<(&str, &str)>)> = vec![
            (
                "node-a",
                vec![("topology.kubernetes.io/zone", "z1"), (H, "node-a")],
            ),
            (
                "node-b",
                vec![("topology.kubernetes.io/zone", "z2"), (H, "node-b")],
            ),
            ("node-c", vec![(H, "node-c")]),
        ];
        let nodes: Vec<(&str, Kv<'_>)> = nodes.iter().map(|(n, l)| (*n, &l[..])).collect();
        let existing = vec![on("node-a", FOO), on("node-a", FOO), on("node-b", FOO)];
        let sel = LabelSelector {
            match_labels: labels(FOO),
            match_expressions: Vec::new(),
        };
        let (store, owned) = owned_by_replica_set(&sel);
        let run = |defaults: Option<Vec<TopologySpreadConstraint>>| {
            let mut s = snapshot(&nodes, &existing);
            let mut pl = PodTopologySpread::new(defaults);
            pl.prepare(&owned, &mut s, &store);
            let feasible = [0, 1, 2];
            let pods = std::collections::BTreeMap::new();
            let cx = CycleContext {
                pod: &owned,
                snapshot: &s,
                pods: &pods,
            };
            pl.pre_score(&cx, &feasible);
            let mut out = Vec::new();
            pl.score_all(&cx, &feasible, &mut out);
            pl.normalize(&cx, &feasible, &mut out);
            out
        };
        let system = run(None);
        let listed = run(Some(system_default_constraints()));
        // Hostname spreading: the empty node-c is the best place under the system defaults.
        assert!(system[2] > system[0] && system[2] > 0, "{system:?}");
        assert_eq!(listed[2], 0, "{listed:?}");
        assert!(listed[1] > listed[0], "{listed:?}");
    }
}
