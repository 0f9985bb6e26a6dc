//! InterPodAffinity (`plugins/interpodaffinity/{filtering,scoring}.go`).
//!
//! Filter: the incoming pod's required affinity terms must each have a matching pod in the
//! node's domain (or, as upstream, no pod anywhere matches and the pod matches its own terms);
//! no required anti-affinity term may have a matching pod in the node's domain; and no existing
//! pod's required anti-affinity term may select the incoming pod in the node's domain.
//! Score: per domain, + weight for each existing pod matching a preferred affinity term of the
//! incoming pod, - weight for anti-affinity, and symmetrically for existing pods' preferred
//! terms (and their required affinity terms with `hardPodAffinityWeight` 1); normalized
//! `100 * (s - min) / (max - min)`. The work is done only when some pod has such terms.

use std::collections::BTreeMap;

use crate::cluster::objects::Pod;
use crate::cluster::scheduler::framework::{CycleContext, MAX_NODE_SCORE, Plugin, Reason};
use crate::cluster::spec::PodAffinityTerm;

/// Upstream default `hardPodAffinityWeight`.
const HARD_POD_AFFINITY_WEIGHT: i64 = 1;

/// (topology key, value) -> count.
type Domains = BTreeMap<(String, String), i64>;

/// The InterPodAffinity plugin.
#[derive(Debug, Default)]
pub struct InterPodAffinity {
    affinity: Vec<Domains>,
    affinity_any: bool,
    anti: Domains,
    existing_anti: Domains,
    scores: Domains,
    active: bool,
}

fn count_terms(
    terms: &[&PodAffinityTerm],
    pod: &Pod,
    cx: &CycleContext<'_>,
    per_term: &mut Vec<Domains>,
) {
    per_term.clear();
    if terms.is_empty() {
        // Most pods have no required (anti-)affinity: skip the scan of every placed pod.
        return;
    }
    per_term.resize(terms.len(), Domains::new());
    for p in cx.snapshot.placed.values() {
        if p.terminating {
            continue;
        }
        let node = &cx.snapshot.nodes[p.node];
        for (i, t) in terms.iter().enumerate() {
            if t.selects(&pod.namespace, &p.namespace, &p.labels)
                && let Some(v) = node.labels.get(&t.topology_key)
            {
                *per_term[i]
                    .entry((t.topology_key.clone(), v.clone()))
                    .or_insert(0) += 1;
            }
        }
    }
}

impl Plugin for InterPodAffinity {
    fn name(&self) -> &str {
        "InterPodAffinity"
    }

    /// Upstream PreFilter returns Skip when the pod has no required (anti-)affinity and no
    /// existing pod's required anti-affinity selects it (`filtering.go`).
    fn filter_skipped(&self, cx: &CycleContext<'_>) -> bool {
        let aff = &cx.pod.template.affinity;
        aff.pod_affinity.required.is_empty()
            && aff.pod_anti_affinity.required.is_empty()
            && self.existing_anti.is_empty()
    }

    /// Upstream PreScore returns Skip when neither the pod nor any placed pod has affinity
    /// terms (`scoring.go`).
    fn score_skipped(&self, _cx: &CycleContext<'_>) -> bool {
        !self.active
    }

    fn pre_filter(&mut self, cx: &CycleContext<'_>) -> Result<(), Reason> {
        let pod = cx.pod;
        let aff = &pod.template.affinity;
        // (Clearing an empty map still drops and rebuilds it: most cycles have nothing here.)
        if !self.anti.is_empty() {
            self.anti.clear();
        }
        if !self.existing_anti.is_empty() {
            self.existing_anti.clear();
        }
        self.affinity.clear();
        let req: Vec<&PodAffinityTerm> = aff.pod_affinity.required.iter().collect();
        count_terms(&req, pod, cx, &mut self.affinity);
        self.affinity_any = self.affinity.iter().any(|d| !d.is_empty());
        let anti: Vec<&PodAffinityTerm> = aff.pod_anti_affinity.required.iter().collect();
        let mut per = Vec::new();
        count_terms(&anti, pod, cx, &mut per);
        for d in per {
            for (k, c) in d {
                *self.anti.entry(k).or_insert(0) += c;
            }
        }
        for id in &cx.snapshot.affinity_pods {
            let (Some(p), Some(placed)) = (cx.pods.get(id), cx.snapshot.placed.get(id)) else {
                continue;
            };
            let node = &cx.snapshot.nodes[placed.node];
            for t in &p.template.affinity.pod_anti_affinity.required {
                if t.selects(&p.namespace, &pod.namespace, &pod.labels)
                    && let Some(v) = node.labels.get(&t.topology_key)
                {
                    *self
                        .existing_anti
                        .entry((t.topology_key.clone(), v.clone()))
                        .or_insert(0) += 1;
                }
            }
        }
        Ok(())
    }

    fn filter(&self, cx: &CycleContext<'_>, node: usize, reasons: &mut Vec<Reason>) -> bool {
        let n = &cx.snapshot.nodes[node];
        let dom = |key: &str| n.labels.get(key).map(|v| (key.to_string(), v.clone()));
        let pod = cx.pod;
        for (k, _) in self.existing_anti.iter() {
            if n.labels.get(&k.0) == Some(&k.1) {
                reasons.push(Reason::Borrowed(
                    "node(s) didn't satisfy existing pods anti-affinity rules",
                ));
                return false;
            }
        }
        for t in &pod.template.affinity.pod_anti_affinity.required {
            if let Some(d) = dom(&t.topology_key)
                && self.anti.get(&d).copied().unwrap_or(0) > 0
            {
                reasons.push(Reason::Borrowed(
                    "node(s) didn't match pod anti-affinity rules",
                ));
                return false;
            }
        }
        let req = &pod.template.affinity.pod_affinity.required;
        if !req.is_empty() {
            let ok = req.iter().enumerate().all(|(i, t)| {
                dom(&t.topology_key)
                    .is_some_and(|d| self.affinity[i].get(&d).copied().unwrap_or(0) > 0)
            });
            // Upstream: if no pod matches any term anywhere and the pod matches all its own
            // terms, the first pod of a group may go to any node with the topology keys.
            let self_ok = !self.affinity_any
                && req.iter().all(|t| {
                    t.selects(&pod.namespace, &pod.namespace, &pod.labels)
                        && n.labels.contains_key(&t.topology_key)
                });
            if !ok && !self_ok {
                reasons.push(Reason::Borrowed("node(s) didn't match pod affinity rules"));
                return false;
            }
        }
        true
    }

    fn pre_score(&mut self, cx: &CycleContext<'_>, _feasible: &[usize]) {
        if !self.scores.is_empty() {
            self.scores.clear();
        }
        let pod = cx.pod;
        let aff = &pod.template.affinity;
        let has_own =
            !aff.pod_affinity.preferred.is_empty() || !aff.pod_anti_affinity.preferred.is_empty();
        self.active = has_own || !cx.snapshot.affinity_pods.is_empty();
        if !self.active {
            return;
        }
        let mut add = |key: &str, v: Option<&String>, w: i64| {
            if let Some(v) = v {
                *self.scores.entry((key.to_string(), v.clone())).or_insert(0) += w;
            }
        };
        if has_own {
            for p in cx.snapshot.placed.values() {
                if p.terminating {
                    continue;
                }
                let node = &cx.snapshot.nodes[p.node];
                for wt in &aff.pod_affinity.preferred {
                    if wt.term.selects(&pod.namespace, &p.namespace, &p.labels) {
                        add(
                            &wt.term.topology_key,
                            node.labels.get(&wt.term.topology_key),
                            i64::from(wt.weight),
                        );
                    }
                }
                for wt in &aff.pod_anti_affinity.preferred {
                    if wt.term.selects(&pod.namespace, &p.namespace, &p.labels) {
                        add(
                            &wt.term.topology_key,
                            node.labels.get(&wt.term.topology_key),
                            -i64::from(wt.weight),
                        );
                    }
                }
            }
        }
        for id in &cx.snapshot.affinity_pods {
            let (Some(p), Some(placed)) = (cx.pods.get(id), cx.snapshot.placed.get(id)) else {
                continue;
            };
            let node = &cx.snapshot.nodes[placed.node];
            let a = &p.template.affinity;
            for t in &a.pod_affinity.required {
                if t.selects(&p.namespace, &pod.namespace, &pod.labels) {
                    add(
                        &t.topology_key,
                        node.labels.get(&t.topology_key),
                        HARD_POD_AFFINITY_WEIGHT,
                    );
                }
            }
            for wt in &a.pod_affinity.preferred {
                if wt.term.selects(&p.namespace, &pod.namespace, &pod.labels) {
                    add(
                        &wt.term.topology_key,
                        node.labels.get(&wt.term.topology_key),
                        i64::from(wt.weight),
                    );
                }
            }
            for wt in &a.pod_anti_affinity.preferred {
                if wt.term.selects(&p.namespace, &pod.namespace, &pod.labels) {
                    add(
                        &wt.term.topology_key,
                        node.labels.get(&wt.term.topology_key),
                        -i64::from(wt.weight),
                    );
                }
            }
        }
    }

    fn score(&self, cx: &CycleContext<'_>, node: usize) -> i64 {
        if !self.active || self.scores.is_empty() {
            return 0;
        }
        let n = &cx.snapshot.nodes[node];
        self.scores
            .iter()
            .filter(|((k, v), _)| n.labels.get(k) == Some(v))
            .map(|(_, s)| *s)
            .sum()
    }

    fn normalize(&self, _cx: &CycleContext<'_>, _f: &[usize], scores: &mut [i64]) {
        if !self.active {
            return;
        }
        let min = scores.iter().copied().min().unwrap_or(0);
        let max = scores.iter().copied().max().unwrap_or(0);
        let diff = max - min;
        for s in scores.iter_mut() {
            *s = if diff > 0 {
                (MAX_NODE_SCORE as f64 * ((*s - min) as f64 / diff as f64)) as i64
            } else {
                0
            };
        }
    }
}
