//! `policy/v1` PodDisruptionBudget manifests.

use crate::cluster::spec::{
    DisruptionBudget, IntOrPercent, LabelSelector, PodDisruptionBudgetSpec,
};

use super::manifests::{Meta, int_or_percent, read_selector};
use super::reader::{Cx, Fields, Map, R};

/// Top-level fields of a PodDisruptionBudget.
pub(crate) const PDB_DOC: Fields = Fields {
    read: &["apiVersion", "kind", "metadata", "spec"],
    warn: &["status"],
    silent: &[],
};
const PDB_SPEC: Fields = Fields {
    read: &["minAvailable", "maxUnavailable", "selector"],
    warn: &[],
    silent: &["unhealthyPodEvictionPolicy"],
};

/// A `policy/v1` PodDisruptionBudget: exactly one of `minAvailable` / `maxUnavailable` (an
/// integer or a percentage of at most 100%); `selector` selects the pods of its namespace (no
/// selector selects none, as in `policy/v1`).
pub(crate) fn read_pdb(cx: &mut Cx, doc: &Map, meta: Meta) -> R<PodDisruptionBudgetSpec> {
    let spec_v = doc.req(cx, "spec")?;
    let spec = spec_v.map(cx, &PDB_SPEC)?;
    if let Some(v) = spec.get("unhealthyPodEvictionPolicy") {
        let p = v.one_of(cx, &["IfHealthyBudget", "AlwaysAllow"])?;
        if p == "AlwaysAllow" {
            cx.warn(
                v.pos(),
                &v.path,
                "unhealthyPodEvictionPolicy AlwaysAllow is not simulated; IfHealthyBudget is used",
            );
        }
    }
    let read = |cx: &mut Cx, key: &str| -> R<Option<IntOrPercent>> {
        match spec.get(key) {
            None => Ok(None),
            Some(v) => {
                let x = int_or_percent(cx, &v)?;
                if let IntOrPercent::Percent(p) = x
                    && p > 100
                {
                    return Err(v.err(cx, "must not be greater than 100%"));
                }
                Ok(Some(x))
            }
        }
    };
    let min = read(cx, "minAvailable")?;
    let max = read(cx, "maxUnavailable")?;
    let budget = match (min, max) {
        (Some(m), None) => DisruptionBudget::MinAvailable(m),
        (None, Some(m)) => DisruptionBudget::MaxUnavailable(m),
        (Some(_), Some(_)) => {
            let at = spec.key_pos("maxUnavailable").unwrap_or(spec_v.pos());
            return Err(cx.err(
                at,
                &format!("{}.maxUnavailable", spec_v.path),
                "minAvailable and maxUnavailable cannot be both set",
            ));
        }
        (None, None) => {
            return Err(spec_v.err(cx, "give exactly one of minAvailable, maxUnavailable"));
        }
    };
    let selector = match spec.get("selector") {
        Some(v) => read_selector(cx, &v)?,
        // policy/v1: a null selector selects no pods.
        None => LabelSelector {
            match_labels: [("kubesim.dev/selects-nothing".to_string(), String::new())]
                .into_iter()
                .collect(),
            match_expressions: vec![crate::cluster::spec::LabelSelectorRequirement {
                key: "kubesim.dev/selects-nothing".into(),
                operator: crate::cluster::spec::SelectorOperator::DoesNotExist,
                values: vec![],
            }],
        },
    };
    Ok(PodDisruptionBudgetSpec {
        name: meta.name,
        namespace: meta.namespace,
        selector,
        budget,
    })
}
