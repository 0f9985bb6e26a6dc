//! NodeResourcesFit and NodeResourcesBalancedAllocation (`plugins/noderesources`): the Filter
//! (`fit.go` `fitsRequest`) and the scoring strategies LeastAllocated, MostAllocated and
//! RequestedToCapacityRatio (`least_allocated.go`, `most_allocated.go`,
//! `requested_to_capacity_ratio.go`), and the balanced-allocation score
//! (`balanced_allocation.go`), with Go's integer truncation.

use crate::cluster::scheduler::framework::{
    CycleContext, MAX_NODE_SCORE, NodeInfo, Plugin, Reason,
};
use crate::cluster::scheduling_spec::{ResourceWeight, ScoringStrategy};
use crate::cluster::spec::Resources;

/// Upstream `MaxCustomPriorityScore`: shape scores are 0..=10, scaled by 10.
const MAX_CUSTOM_PRIORITY_SCORE: i64 = 10;
/// Upstream `maxUtilization`.
const MAX_UTILIZATION: i64 = 100;

/// Upstream `leastRequestedScore`: `(capacity - requested) * 100 / capacity`; 0 when the
/// request exceeds capacity or capacity is 0.
pub fn least_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 || requested > capacity {
        return 0;
    }
    (capacity - requested) * MAX_NODE_SCORE / capacity
}

/// Upstream `mostRequestedScore`: `requested * 100 / capacity`, requested capped at capacity.
pub fn most_requested_score(requested: i64, capacity: i64) -> i64 {
    if capacity == 0 {
        return 0;
    }
    requested.min(capacity) * MAX_NODE_SCORE / capacity
}

/// Upstream `buildBrokenLinearFunction` over `(utilization, score)` points (scores already
/// scaled to 0..=100).
pub fn broken_linear(shape: &[(i64, i64)], p: i64) -> i64 {
    for i in 0..shape.len() {
        if p <= shape[i].0 {
            if i == 0 {
                return shape[0].1;
            }
            let (u0, s0) = shape[i - 1];
            let (u1, s1) = shape[i];
            return s0 + (s1 - s0) * (p - u0) / (u1 - u0);
        }
    }
    shape.last().map(|s| s.1).unwrap_or(0)
}

/// A scored resource, resolved from its name once when the plugin is built (no string
/// comparison per node). Resources kubesim does not model score as capacity 0 (skipped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ResourceKind {
    Cpu,
    Memory,
    Unmodelled,
}

impl ResourceKind {
    fn of(name: &str) -> ResourceKind {
        match name {
            "cpu" => ResourceKind::Cpu,
            "memory" => ResourceKind::Memory,
            _ => ResourceKind::Unmodelled,
        }
    }
}

/// Resolve `(name, weight)` pairs to kinds.
fn kinds(resources: &[ResourceWeight]) -> Vec<(ResourceKind, i64)> {
    resources
        .iter()
        .map(|r| (ResourceKind::of(&r.name), r.weight))
        .collect()
}

/// `(requested, allocatable)` of one resource after adding the pod.
#[inline]
fn pair(
    kind: ResourceKind,
    node_req: &Resources,
    pod_req: &Resources,
    alloc: &Resources,
) -> (i64, i64) {
    match kind {
        ResourceKind::Cpu => (node_req.cpu_milli + pod_req.cpu_milli, alloc.cpu_milli),
        ResourceKind::Memory => (
            node_req.memory_bytes + pod_req.memory_bytes,
            alloc.memory_bytes,
        ),
        ResourceKind::Unmodelled => (0, 0),
    }
}

/// Upstream's shape points scaled to 0..=100 (`MaxCustomPriorityScore` 10 -> x10).
fn scaled_shape(strategy: &ScoringStrategy) -> Vec<(i64, i64)> {
    match strategy {
        ScoringStrategy::RequestedToCapacityRatio { shape } => shape
            .iter()
            .map(|(u, s)| (*u, s * (MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE)))
            .collect(),
        _ => Vec::new(),
    }
}

/// Score of one node under `strategy` over `resources` (upstream
/// `resourceAllocationScorer.score` with the strategy's scorer), from the node's non-zero
/// requested, the pod's non-zero request and the allocatable.
pub fn strategy_score(
    strategy: &ScoringStrategy,
    resources: &[ResourceWeight],
    node_req: &Resources,
    pod_req: &Resources,
    alloc: &Resources,
) -> i64 {
    score_resolved(
        strategy,
        &scaled_shape(strategy),
        &kinds(resources),
        node_req,
        pod_req,
        alloc,
    )
}

/// [`strategy_score`] with the resources and the shape resolved beforehand.
#[inline]
fn score_resolved(
    strategy: &ScoringStrategy,
    scaled: &[(i64, i64)],
    resources: &[(ResourceKind, i64)],
    node_req: &Resources,
    pod_req: &Resources,
    alloc: &Resources,
) -> i64 {
    let mut node_score = 0i64;
    let mut weight_sum = 0i64;
    for &(kind, weight) in resources {
        let (req, cap) = pair(kind, node_req, pod_req, alloc);
        if cap == 0 {
            continue;
        }
        let s = match strategy {
            ScoringStrategy::LeastAllocated => least_requested_score(req, cap),
            ScoringStrategy::MostAllocated => most_requested_score(req, cap),
            ScoringStrategy::RequestedToCapacityRatio { .. } => {
                if req > cap {
                    broken_linear(scaled, MAX_UTILIZATION)
                } else {
                    broken_linear(scaled, req * MAX_UTILIZATION / cap)
                }
            }
        };
        node_score += s * weight;
        weight_sum += weight;
    }
    if weight_sum == 0 {
        return 0;
    }
    match strategy {
        // requested_to_capacity_ratio.go: math.Round(nodeScore / weightSum).
        ScoringStrategy::RequestedToCapacityRatio { .. } => {
            (node_score as f64 / weight_sum as f64).round() as i64
        }
        _ => node_score / weight_sum,
    }
}

/// [`score_resolved`] for LeastAllocated and MostAllocated with the per-resource scorer `f`
/// given (`(requested, capacity) -> score`), so a loop over nodes matches the strategy once.
#[inline(always)]
fn weighted_score(
    resources: &[(ResourceKind, i64)],
    node_req: &Resources,
    pod_req: &Resources,
    alloc: &Resources,
    f: impl Fn(i64, i64) -> i64,
) -> i64 {
    let mut node_score = 0i64;
    let mut weight_sum = 0i64;
    for &(kind, weight) in resources {
        let (req, cap) = pair(kind, node_req, pod_req, alloc);
        if cap == 0 {
            continue;
        }
        node_score += f(req, cap) * weight;
        weight_sum += weight;
    }
    if weight_sum == 0 {
        return 0;
    }
    node_score / weight_sum
}

/// Upstream `balancedResourceScorer`: `(1 - std) * 100` truncated, where std is the standard
/// deviation of the requested fractions (each capped at 1); with two resources `|f1 - f2| / 2`.
pub fn balanced_score(fractions: &[f64]) -> i64 {
    let n = fractions.len();
    let std = if n == 2 {
        ((fractions[0] - fractions[1]) / 2.0).abs()
    } else if n > 2 {
        let mean = fractions.iter().sum::<f64>() / n as f64;
        let sum: f64 = fractions.iter().map(|f| (f - mean) * (f - mean)).sum();
        (sum / n as f64).sqrt()
    } else {
        0.0
    };
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

/// The NodeResourcesFit plugin.
#[derive(Debug)]
pub struct Fit {
    strategy: ScoringStrategy,
    /// The scored resources, resolved.
    kinds: Vec<(ResourceKind, i64)>,
    /// The RequestedToCapacityRatio shape scaled to 0..=100 (empty for other strategies).
    scaled: Vec<(i64, i64)>,
}

impl Fit {
    /// A Fit plugin scoring with `strategy` over `resources`.
    pub fn new(strategy: ScoringStrategy, resources: &[ResourceWeight]) -> Self {
        Fit {
            scaled: scaled_shape(&strategy),
            kinds: kinds(resources),
            strategy,
        }
    }
}

impl Plugin for Fit {
    fn name(&self) -> &str {
        "NodeResourcesFit"
    }

    fn filter_node_local(&self) -> bool {
        true
    }

    /// Upstream `fitsRequest`: pod count first, then every insufficient resource.
    fn filter(&self, cx: &CycleContext<'_>, node: usize, reasons: &mut Vec<Reason>) -> bool {
        let n = &cx.snapshot.nodes[node];
        let alloc = n.allocatable;
        let used = n.requested;
        let before = reasons.len();
        if used.pods + 1 > alloc.pods {
            reasons.push(Reason::Borrowed("Too many pods"));
        }
        let r = cx.pod.requests;
        if r.cpu_milli > 0 && r.cpu_milli > alloc.cpu_milli - used.cpu_milli {
            reasons.push(Reason::Borrowed("Insufficient cpu"));
        }
        if r.memory_bytes > 0 && r.memory_bytes > alloc.memory_bytes - used.memory_bytes {
            reasons.push(Reason::Borrowed("Insufficient memory"));
        }
        reasons.len() == before
    }

    fn score_all(&self, cx: &CycleContext<'_>, feasible: &[usize], out: &mut Vec<i64>) {
        let nodes = &cx.snapshot.nodes;
        let pod = &cx.pod.non_zero_requests;
        let kinds = &self.kinds[..];
        match self.strategy {
            ScoringStrategy::LeastAllocated => out.extend(feasible.iter().map(|&i| {
                let n = &nodes[i];
                weighted_score(
                    kinds,
                    &n.non_zero_requested,
                    pod,
                    &n.allocatable,
                    least_requested_score,
                )
            })),
            ScoringStrategy::MostAllocated => out.extend(feasible.iter().map(|&i| {
                let n = &nodes[i];
                weighted_score(
                    kinds,
                    &n.non_zero_requested,
                    pod,
                    &n.allocatable,
                    most_requested_score,
                )
            })),
            ScoringStrategy::RequestedToCapacityRatio { .. } => {
                out.extend(feasible.iter().map(|&i| self.score(cx, i)))
            }
        }
    }

    fn score(&self, cx: &CycleContext<'_>, node: usize) -> i64 {
        let n = &cx.snapshot.nodes[node];
        score_resolved(
            &self.strategy,
            &self.scaled,
            &self.kinds,
            &n.non_zero_requested,
            &cx.pod.non_zero_requests,
            &n.allocatable,
        )
    }
}

/// The NodeResourcesBalancedAllocation plugin (uses the real requests, not the non-zero
/// defaults: `useRequested: true` upstream).
#[derive(Debug)]
pub struct BalancedAllocation {
    /// The resources, resolved (weights are not used by this plugin).
    kinds: Vec<(ResourceKind, i64)>,
}

impl BalancedAllocation {
    /// Over `resources`.
    pub fn new(resources: &[ResourceWeight]) -> Self {
        BalancedAllocation {
            kinds: kinds(resources),
        }
    }
}

impl Plugin for BalancedAllocation {
    fn name(&self) -> &str {
        "NodeResourcesBalancedAllocation"
    }

    fn score(&self, cx: &CycleContext<'_>, node: usize) -> i64 {
        self.node_score(&cx.snapshot.nodes[node], &cx.pod.requests)
    }

    fn score_all(&self, cx: &CycleContext<'_>, feasible: &[usize], out: &mut Vec<i64>) {
        let nodes = &cx.snapshot.nodes;
        let pod = &cx.pod.requests;
        out.extend(feasible.iter().map(|&i| self.node_score(&nodes[i], pod)));
    }
}

impl BalancedAllocation {
    /// Score of node `n` for a pod requesting `pod`.
    #[inline]
    fn node_score(&self, n: &NodeInfo, pod: &Resources) -> i64 {
        let mut fr = [0f64; 2];
        let mut k = 0;
        for &(kind, _) in &self.kinds {
            let (req, cap) = pair(kind, &n.requested, pod, &n.allocatable);
            if cap == 0 || k == fr.len() {
                continue;
            }
            fr[k] = (req as f64 / cap as f64).min(1.0);
            k += 1;
        }
        balanced_score(&fr[..k])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm() -> Vec<ResourceWeight> {
        vec![
            ResourceWeight {
                name: "cpu".into(),
                weight: 1,
            },
            ResourceWeight {
                name: "memory".into(),
                weight: 1,
            },
        ]
    }

    fn res(cpu: i64, mem: i64) -> Resources {
        Resources {
            cpu_milli: cpu,
            memory_bytes: mem,
            pods: 0,
        }
    }

    #[test]
    fn least_allocated_table() {
        // least_allocated_test.go TestLeastAllocatedScoringStrategy "nothing scheduled,
        // resources requested, differently sized nodes": pod 3000m / 5000; node1 4000m/10000,
        // node2 6000m/10000 -> node1 cpu (4000-3000)*100/4000 = 25, mem (10000-5000)*100/10000
        // = 50 -> 37; node2 cpu 50, mem 50 -> 50.
        let s = ScoringStrategy::LeastAllocated;
        let pod = res(3000, 5000);
        assert_eq!(
            strategy_score(&s, &cm(), &res(0, 0), &pod, &res(4000, 10000)),
            37
        );
        assert_eq!(
            strategy_score(&s, &cm(), &res(0, 0), &pod, &res(6000, 10000)),
            50
        );
        // "resources requested with more than the node": 0 for that resource.
        assert_eq!(
            strategy_score(&s, &cm(), &res(0, 0), &res(8000, 0), &res(4000, 10000)),
            50
        );
    }

    #[test]
    fn most_allocated_table() {
        // most_allocated_test.go "nothing scheduled, resources requested, differently sized
        // nodes": node1 cpu 3000*100/4000 = 75, mem 5000*100/10000 = 50 -> 62; node2 50, 50 -> 50.
        let s = ScoringStrategy::MostAllocated;
        let pod = res(3000, 5000);
        assert_eq!(
            strategy_score(&s, &cm(), &res(0, 0), &pod, &res(4000, 10000)),
            62
        );
        assert_eq!(
            strategy_score(&s, &cm(), &res(0, 0), &pod, &res(6000, 10000)),
            50
        );
    }

    #[test]
    fn requested_to_capacity_ratio_table() {
        // requested_to_capacity_ratio_test.go "nothing scheduled, resources requested,
        // differently sized nodes" with shape {0:10, 100:0}: node1 cpu 3000/4000 = 75% -> 25,
        // mem 50% -> 50 -> round(37.5) = 38; node2 50, 50 -> 50.
        let s = ScoringStrategy::RequestedToCapacityRatio {
            shape: vec![(0, 10), (100, 0)],
        };
        let pod = res(3000, 5000);
        assert_eq!(
            strategy_score(&s, &cm(), &res(0, 0), &pod, &res(4000, 10000)),
            38
        );
        assert_eq!(
            strategy_score(&s, &cm(), &res(0, 0), &pod, &res(6000, 10000)),
            50
        );
    }

    #[test]
    fn broken_linear_table() {
        // Upstream's formula with Go truncation toward zero: on (10, 10)-(90, 9) the slope
        // -1/80 truncates to no change until 90; on (0, 0)-(100, 100) it is the identity.
        let shape = [(10, 10), (90, 9)];
        let cases = [(0, 10), (10, 10), (15, 10), (89, 10), (90, 9), (100, 9)];
        for (p, want) in cases {
            assert_eq!(broken_linear(&shape, p), want, "p={p}");
        }
        let shape = [(0, 0), (50, 80), (100, 100)];
        let cases = [(0, 0), (25, 40), (50, 80), (75, 90), (99, 99)];
        for (p, want) in cases {
            assert_eq!(broken_linear(&shape, p), want, "p={p}");
        }
    }

    #[test]
    fn balanced_table() {
        // balanced_allocation_test.go "nothing scheduled, resources requested, differently
        // sized nodes": node1 cpu 3000/4000 = 0.75, mem 5000/10000 = 0.5 -> (1 - 0.125) * 100
        // = 87; node2 0.5, 0.5 -> 100.
        assert_eq!(balanced_score(&[0.75, 0.5]), 87);
        assert_eq!(balanced_score(&[0.5, 0.5]), 100);
        assert_eq!(balanced_score(&[1.0, 0.0]), 50);
        assert_eq!(balanced_score(&[0.3]), 100);
    }
}
