//! Limits on a scenario's size, so that a typo (`replicas: 100000` in forty Deployments, an
//! HPA `maxReplicas` with three zeros too many) is refused with a located error instead of
//! exhausting memory mid-run. The defaults are generous (well above the largest scenarios in
//! docs/PERFORMANCE.md); `--max-pods N --max-nodes N` on `kubesim run`, `validate`, `explain` and
//! `sweep` raise or lower them.
//!
//! Per-field caps (`spec.replicas` at most 1,000,000, a NodePool `count` at most 100,000,
//! `spec.duration` at most 365d) are separate and fixed: they are checked where the field is
//! read.

use super::reader::{Loc, R};

/// Default for [`SizeLimits::max_pods`].
pub const DEFAULT_MAX_PODS: u64 = 1_000_000;

/// Default for [`SizeLimits::max_nodes`] (the same as the per-pool cap).
pub const DEFAULT_MAX_NODES: u64 = super::kubesim_docs::MAX_NODES;

/// How large a scenario the loader accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeLimits {
    /// Most pods the workloads may ask for together: the sum over Deployments, ReplicaSets,
    /// Rollouts and Jobs of the most replicas each may want during the run (its `replicas`,
    /// any Timeline `scale` of it, its HPA's or ScaledObject's `maxReplicas`; a Job's
    /// `parallelism`).
    pub max_pods: u64,
    /// Most nodes the scenario may have at once: Node manifests, NodePool counts (or their
    /// autoscaling `max`) and every Timeline `addNodes`.
    pub max_nodes: u64,
}

impl Default for SizeLimits {
    fn default() -> SizeLimits {
        SizeLimits {
            max_pods: DEFAULT_MAX_PODS,
            max_nodes: DEFAULT_MAX_NODES,
        }
    }
}

/// Add up `items` (a count and where it was asked for); over `limit`, fail at the item that
/// asks for the most (the first of equals). `what` names the unit (`pods`), `flag` the CLI flag
/// that raises the limit.
pub(crate) fn check_total(items: &[(u64, &Loc)], limit: u64, what: &str, flag: &str) -> R<()> {
    let total = items.iter().fold(0u64, |t, (n, _)| t.saturating_add(*n));
    if total <= limit {
        return Ok(());
    }
    let Some((most, loc)) = items
        .iter()
        .copied()
        .reduce(|a, b| if b.0 > a.0 { b } else { a })
    else {
        return Ok(());
    };
    Err(loc.err(format!(
        "too many {what}: the scenario may ask for {total} {what} in all, {most} of them here; at most {limit} are allowed (raise the limit with {flag} N)"
    )))
}
