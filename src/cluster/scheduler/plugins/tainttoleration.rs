//! TaintToleration (`plugins/tainttoleration/taint_toleration.go`): Filter rejects a node with
//! an untolerated NoSchedule or NoExecute taint; Score counts untolerated PreferNoSchedule taints
//! and NormalizeScore reverses them (fewer is better).

use crate::cluster::scheduler::framework::{
    CycleContext, MAX_NODE_SCORE, Plugin, Reason, default_normalize_score,
};
use crate::cluster::spec::{Taint, TaintEffect, Toleration, TolerationOperator};

/// Upstream `Toleration.ToleratesTaint` (`core/v1/toleration.go`).
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if t.effect.is_some_and(|e| e != taint.effect) {
        return false;
    }
    if !t.key.is_empty() && t.key != taint.key {
        return false;
    }
    match t.operator {
        TolerationOperator::Exists => true,
        TolerationOperator::Equal => t.value == taint.value,
    }
}

/// The TaintToleration plugin.
#[derive(Debug, Default)]
pub struct TaintToleration;

impl Plugin for TaintToleration {
    fn name(&self) -> &str {
        "TaintToleration"
    }

    fn filter_node_local(&self) -> bool {
        true
    }

    /// No node has a taint: nothing to reject.
    fn filter_skipped(&self, cx: &CycleContext<'_>) -> bool {
        cx.snapshot.tainted_nodes == 0
    }

    /// No node has a taint: every node scores 0, normalized to 100.
    fn score_uniform(&self, cx: &CycleContext<'_>) -> bool {
        cx.snapshot.tainted_nodes == 0
    }

    fn score_all(&self, cx: &CycleContext<'_>, feasible: &[usize], out: &mut Vec<i64>) {
        out.extend(feasible.iter().map(|&i| {
            if cx.snapshot.nodes[i].taints.is_empty() {
                0
            } else {
                self.score(cx, i)
            }
        }));
    }

    fn filter(&self, cx: &CycleContext<'_>, node: usize, reasons: &mut Vec<Reason>) -> bool {
        let tols = &cx.pod.template.tolerations;
        let bad = cx.snapshot.nodes[node].taints.iter().find(|taint| {
            matches!(
                taint.effect,
                TaintEffect::NoSchedule | TaintEffect::NoExecute
            ) && !tols.iter().any(|t| tolerates(t, taint))
        });
        match bad {
            None => true,
            Some(taint) => {
                // "node(s) had untolerated taint {%s: %s}"
                reasons.push(Reason::Owned(format!(
                    "node(s) had untolerated taint {{{}: {}}}",
                    taint.key, taint.value
                )));
                false
            }
        }
    }

    fn score(&self, cx: &CycleContext<'_>, node: usize) -> i64 {
        // Only tolerations with effect PreferNoSchedule or empty count (getAllTolerationPreferNoSchedule).
        let tols = &cx.pod.template.tolerations;
        cx.snapshot.nodes[node]
            .taints
            .iter()
            .filter(|taint| {
                taint.effect == TaintEffect::PreferNoSchedule
                    && !tols.iter().any(|t| {
                        matches!(t.effect, None | Some(TaintEffect::PreferNoSchedule))
                            && tolerates(t, taint)
                    })
            })
            .count() as i64
    }

    fn normalize(&self, _cx: &CycleContext<'_>, _f: &[usize], scores: &mut [i64]) {
        default_normalize_score(MAX_NODE_SCORE, true, scores);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(k: &str, v: &str, e: TaintEffect) -> Taint {
        Taint {
            key: k.into(),
            value: v.into(),
            effect: e,
        }
    }

    #[test]
    fn tolerates_table() {
        let eq = |k: &str, v: &str, e: Option<TaintEffect>| Toleration {
            key: k.into(),
            operator: TolerationOperator::Equal,
            value: v.into(),
            effect: e,
            toleration_seconds: None,
        };
        let ex = |k: &str, e: Option<TaintEffect>| Toleration {
            key: k.into(),
            operator: TolerationOperator::Exists,
            value: String::new(),
            effect: e,
            toleration_seconds: None,
        };
        let t = taint("dedicated", "user1", TaintEffect::NoSchedule);
        // Cases of core/v1 toleration_test.go TestTolerationToleratesTaint.
        assert!(tolerates(
            &eq("dedicated", "user1", Some(TaintEffect::NoSchedule)),
            &t
        ));
        assert!(!tolerates(
            &eq("dedicated", "user2", Some(TaintEffect::NoSchedule)),
            &t
        ));
        assert!(!tolerates(
            &eq("dedicated", "user1", Some(TaintEffect::NoExecute)),
            &t
        ));
        assert!(tolerates(&eq("dedicated", "user1", None), &t));
        assert!(tolerates(&ex("dedicated", None), &t));
        assert!(tolerates(&ex("", None), &t));
        assert!(!tolerates(&ex("other", None), &t));
    }

    #[test]
    fn normalize_reverses() {
        // taint_toleration_test.go TestTaintTolerationScore "the more intolerable taints a
        // node has, the lower score it gets": raw 0, 1, 2 untolerated -> 100, 50, 0.
        let mut s = [0, 1, 2];
        default_normalize_score(MAX_NODE_SCORE, true, &mut s);
        assert_eq!(s, [100, 50, 0]);
    }
}
