//! NodeResourcesFit and NodeResourcesBalancedAllocation (`plugins/noderesources`): the Filter
//! (`fit.go` `fitsRequest`) and the scoring strategies LeastAllocated, MostAllocated and
//! RequestedToCapacityRatio (`least_allocated.go`, `most_allocated.go`,
//! `requested_to_capacity_ratio.go`), and the balanced-allocation score
//! (`balanced_allocation.go`), with Go's integer truncation.

use crate::cluster::scheduler::framework::{
    CycleContext, Divisor, MAX_NODE_SCORE, NodeResourceRow, Plugin, Reason,
};
use crate::cluster::scheduler::plugins::noderesources_batch::BatchScore;
use crate::cluster::scheduler::resource_columns::ResourceColumns;
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

/// The pod's requests as the NodeResourcesFit filter checks them against a
/// [`NodeResourceRow`]: a resource the pod does not request (0) is not checked (upstream
/// `fitsRequest` skips zero requests), encoded as `i64::MIN` so one comparison decides.
#[derive(Clone, Copy, Debug)]
pub struct FitRequest {
    /// CPU to fit in the free millicores (`i64::MIN`: not checked).
    cpu: i64,
    /// Memory to fit in the free bytes (`i64::MIN`: not checked).
    mem: i64,
}

impl FitRequest {
    /// The requests of a pod requesting `requests`.
    pub fn new(requests: &Resources) -> Self {
        let check = |v: i64| if v > 0 { v } else { i64::MIN };
        FitRequest {
            cpu: check(requests.cpu_milli),
            mem: check(requests.memory_bytes),
        }
    }

    /// True if the NodeResourcesFit filter accepts the node of `row` (room for one more pod,
    /// and for every requested resource); [`Fit::filter`] gives the reasons when it does not.
    #[inline(always)]
    pub fn fits(&self, row: &NodeResourceRow) -> bool {
        // `requested.pods + 1 > allocatable.pods` rejects.
        (row.req_pods < row.alloc_pods)
            & (self.cpu <= row.alloc_cpu - row.req_cpu)
            & (self.mem <= row.alloc_mem - row.req_mem)
    }

    /// The Filter loop over nodes `from..to` (indices into `rows`): push each node that
    /// [`fits`](FitRequest::fits) onto `feasible`, in order, and stop at the first that does
    /// not, or once `feasible` holds `to_find` nodes, or at `to`; returns where it stopped
    /// (the nodes before it were visited and fit). The scheduler runs
    /// [`scan_columns`](FitRequest::scan_columns); this row-by-row loop is the reference the
    /// tests hold it to.
    #[cfg(test)]
    pub fn scan(
        &self,
        rows: &[NodeResourceRow],
        from: usize,
        to: usize,
        to_find: usize,
        feasible: &mut Vec<usize>,
    ) -> usize {
        let room = to_find.saturating_sub(feasible.len());
        let end = to.min(from.saturating_add(room));
        let mut i = from;
        for row in &rows[from..end] {
            if !self.fits(row) {
                break;
            }
            i += 1;
        }
        feasible.extend(from..i);
        i
    }

    /// [`FitRequest::fits`] on node `i` of `c` (the same comparisons on the columns).
    #[inline(always)]
    fn fits_column(&self, c: &ResourceColumns, i: usize) -> bool {
        c.pod_room[i] & (self.cpu <= c.free_cpu[i]) & (self.mem <= c.free_mem[i])
    }

    /// [`FitRequest::scan`] over the snapshot's [`ResourceColumns`]: blocks of
    /// [`SCAN_BLOCK`] nodes are checked without a branch per node, then node by node from
    /// the first block with a node that does not fit. The same result as `scan`.
    #[inline]
    pub fn scan_columns(
        &self,
        c: &ResourceColumns,
        from: usize,
        to: usize,
        to_find: usize,
        feasible: &mut Vec<usize>,
    ) -> usize {
        let room = to_find.saturating_sub(feasible.len());
        let end = to.min(from.saturating_add(room));
        let (room_, cpu, mem) = (
            &c.pod_room[from..end],
            &c.free_cpu[from..end],
            &c.free_mem[from..end],
        );
        let mut i = from + self.fitting_blocks(room_, cpu, mem);
        while i < end && self.fits_column(c, i) {
            i += 1;
        }
        // feasible.extend(from..i), as a loop that compiles to packed stores.
        let base = feasible.len();
        feasible.resize(base + (i - from), 0);
        for (j, v) in feasible[base..].iter_mut().enumerate() {
            *v = from + j;
        }
        i
    }
}

/// Nodes [`FitRequest::scan_columns`] checks at once.
const SCAN_BLOCK: usize = 16;

impl FitRequest {
    /// How many of the nodes whose room, free cpu and free memory columns are `room`, `cpu`
    /// and `mem` fit, counted in whole blocks of [`SCAN_BLOCK`] from the first, up to the
    /// first block with a node that does not fit. Compiled for AVX2 too (64-bit integer
    /// compares four at a time, which SSE2 does not have), chosen at run time: integer
    /// comparisons, so the same answer either way.
    fn fitting_blocks(&self, room: &[bool], cpu: &[i64], mem: &[i64]) -> usize {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above), the only requirement of
            // calling a function compiled with `target_feature(enable = "avx2")`.
            return unsafe { self.fitting_blocks_avx2(room, cpu, mem) };
        }
        self.fitting_blocks_generic(room, cpu, mem)
    }

    /// [`FitRequest::fitting_blocks`] compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline(never)]
    fn fitting_blocks_avx2(&self, room: &[bool], cpu: &[i64], mem: &[i64]) -> usize {
        self.fitting_blocks_generic(room, cpu, mem)
    }

    /// [`FitRequest::fitting_blocks`], without a branch per node (inlined into each
    /// instruction-set version).
    #[inline(always)]
    fn fitting_blocks_generic(&self, room: &[bool], cpu: &[i64], mem: &[i64]) -> usize {
        let blocks = room
            .chunks_exact(SCAN_BLOCK)
            .zip(cpu.chunks_exact(SCAN_BLOCK))
            .zip(mem.chunks_exact(SCAN_BLOCK));
        let mut n = 0;
        for ((r, c), m) in blocks {
            let mut all = true;
            for j in 0..SCAN_BLOCK {
                all &= r[j] & (self.cpu <= c[j]) & (self.mem <= m[j]);
            }
            if !all {
                break;
            }
            n += SCAN_BLOCK;
        }
        n
    }
}

/// A NodeResourcesFit or BalancedAllocation plugin seen through [`Plugin::node_resources`].
#[derive(Clone, Copy, Debug)]
pub enum ResourcePlugin<'a> {
    /// NodeResourcesFit.
    Fit(&'a Fit),
    /// NodeResourcesBalancedAllocation.
    Balanced(&'a BalancedAllocation),
}

/// The weights of cpu and memory when the scored resources are exactly cpu and memory (in
/// either order, resources kubesim does not model left out: they always score as capacity 0,
/// skipped), so a node with both capacities scores with one fixed formula.
fn cpu_memory(kinds: &[(ResourceKind, i64)]) -> Option<(i64, i64)> {
    let modelled: Vec<_> = kinds
        .iter()
        .filter(|(k, _)| *k != ResourceKind::Unmodelled)
        .collect();
    match modelled[..] {
        [(ResourceKind::Cpu, c), (ResourceKind::Memory, m)]
        | [(ResourceKind::Memory, m), (ResourceKind::Cpu, c)] => Some((*c, *m)),
        _ => None,
    }
}

/// The NodeResourcesFit plugin.
#[derive(Debug)]
pub struct Fit {
    strategy: ScoringStrategy,
    /// The scored resources, resolved.
    kinds: Vec<(ResourceKind, i64)>,
    /// The RequestedToCapacityRatio shape scaled to 0..=100 (empty for other strategies).
    scaled: Vec<(i64, i64)>,
    /// When the scored resources are cpu and memory with weights `>= 0` summing to at least 2:
    /// `(cpu weight, memory weight, division by their sum)`, the fixed formula of
    /// [`Fit::row_score`].
    cpu_memory: Option<(i64, i64, Divisor)>,
}

impl Fit {
    /// A Fit plugin scoring with `strategy` over `resources`.
    pub fn new(strategy: ScoringStrategy, resources: &[ResourceWeight]) -> Self {
        let kinds = kinds(resources);
        let cpu_memory = cpu_memory(&kinds)
            .filter(|&(c, m)| (0..=1 << 44).contains(&c) && (0..=1 << 44).contains(&m))
            .and_then(|(c, m)| Some((c, m, Divisor::new(c + m)?)));
        Fit {
            scaled: scaled_shape(&strategy),
            kinds,
            strategy,
            cpu_memory,
        }
    }

    /// Raw score of the node of `row` for a pod whose non-zero requests are
    /// `(pod_cpu, pod_mem)`, under LeastAllocated (`MOST == false`) or MostAllocated: the
    /// arithmetic of [`score_resolved`]. On a [`NodeResourceRow::fast`] row with cpu and memory
    /// scored, every dividend is in `0..2^52` (`0 <= requested`, allocatable `<= 2^45`) and the
    /// divisions are done by [`Divisor`], exactly; else Go's divisions themselves.
    #[inline(always)]
    fn row_score<const MOST: bool>(
        &self,
        row: &NodeResourceRow,
        pod_cpu: i64,
        pod_mem: i64,
    ) -> i64 {
        if let Some((wc, wm, mean)) = self.cpu_memory
            && row.fast
            && (pod_cpu | pod_mem) >= 0
        {
            let one = |req: i64, cap: i64, div: Divisor| -> i64 {
                // least: (cap - req) * 100 / cap, 0 when req > cap; most: req capped at cap.
                let n = if MOST {
                    req.min(cap)
                } else {
                    (cap - req).max(0)
                };
                div.divide((n * MAX_NODE_SCORE) as u64) as i64
            };
            let s = one(row.nz_cpu + pod_cpu, row.alloc_cpu, row.div_cpu) * wc
                + one(row.nz_mem + pod_mem, row.alloc_mem, row.div_mem) * wm;
            return mean.divide(s as u64) as i64;
        }
        self.row_score_general(row, pod_cpu, pod_mem, MOST)
    }

    /// [`Fit::row_score`] for any row and resource list, with Go's divisions.
    #[cold]
    #[inline(never)]
    fn row_score_general(
        &self,
        row: &NodeResourceRow,
        pod_cpu: i64,
        pod_mem: i64,
        most: bool,
    ) -> i64 {
        let mut node_score = 0i64;
        let mut weight_sum = 0i64;
        for &(kind, weight) in &self.kinds {
            let (req, cap) = match kind {
                ResourceKind::Cpu => (row.nz_cpu + pod_cpu, row.alloc_cpu),
                ResourceKind::Memory => (row.nz_mem + pod_mem, row.alloc_mem),
                ResourceKind::Unmodelled => continue,
            };
            if cap == 0 {
                continue;
            }
            let s = if most {
                most_requested_score(req, cap)
            } else {
                least_requested_score(req, cap)
            };
            node_score += s * weight;
            weight_sum += weight;
        }
        if weight_sum == 0 {
            return 0;
        }
        node_score / weight_sum
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
        let row = &cx.snapshot.resources[node];
        let before = reasons.len();
        if row.req_pods + 1 > row.alloc_pods {
            reasons.push(Reason::Borrowed("Too many pods"));
        }
        let r = cx.pod.requests;
        if r.cpu_milli > 0 && r.cpu_milli > row.alloc_cpu - row.req_cpu {
            reasons.push(Reason::Borrowed("Insufficient cpu"));
        }
        if r.memory_bytes > 0 && r.memory_bytes > row.alloc_mem - row.req_mem {
            reasons.push(Reason::Borrowed("Insufficient memory"));
        }
        reasons.len() == before
    }

    fn score_all(&self, cx: &CycleContext<'_>, feasible: &[usize], out: &mut Vec<i64>) {
        let rows = &cx.snapshot.resources[..];
        let pod = &cx.pod.non_zero_requests;
        let (pc, pm) = (pod.cpu_milli, pod.memory_bytes);
        match self.strategy {
            ScoringStrategy::LeastAllocated => out.extend(
                feasible
                    .iter()
                    .map(|&i| self.row_score::<false>(&rows[i], pc, pm)),
            ),
            ScoringStrategy::MostAllocated => out.extend(
                feasible
                    .iter()
                    .map(|&i| self.row_score::<true>(&rows[i], pc, pm)),
            ),
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

    fn node_resources(&self) -> Option<ResourcePlugin<'_>> {
        Some(ResourcePlugin::Fit(self))
    }
}

/// The NodeResourcesBalancedAllocation plugin (uses the real requests, not the non-zero
/// defaults: `useRequested: true` upstream).
#[derive(Debug)]
pub struct BalancedAllocation {
    /// The resources, resolved (weights are not used by this plugin).
    kinds: Vec<(ResourceKind, i64)>,
    /// True when the resources are exactly cpu and memory (see [`cpu_memory`]).
    cpu_memory: bool,
}

impl BalancedAllocation {
    /// Over `resources`.
    pub fn new(resources: &[ResourceWeight]) -> Self {
        let kinds = kinds(resources);
        BalancedAllocation {
            cpu_memory: cpu_memory(&kinds).is_some(),
            kinds,
        }
    }
}

impl Plugin for BalancedAllocation {
    fn name(&self) -> &str {
        "NodeResourcesBalancedAllocation"
    }

    fn score(&self, cx: &CycleContext<'_>, node: usize) -> i64 {
        self.row_score(&cx.snapshot.resources[node], &cx.pod.requests)
    }

    fn score_all(&self, cx: &CycleContext<'_>, feasible: &[usize], out: &mut Vec<i64>) {
        let rows = &cx.snapshot.resources[..];
        let pod = &cx.pod.requests;
        out.extend(feasible.iter().map(|&i| self.row_score(&rows[i], pod)));
    }

    fn node_resources(&self) -> Option<ResourcePlugin<'_>> {
        Some(ResourcePlugin::Balanced(self))
    }
}

impl BalancedAllocation {
    /// Score of the node of `row` for a pod requesting `pod`.
    #[inline(always)]
    fn row_score(&self, row: &NodeResourceRow, pod: &Resources) -> i64 {
        if self.cpu_memory && row.alloc_cpu != 0 && row.alloc_mem != 0 {
            // `fraction`'s arithmetic with the allocatable already converted (the same f64:
            // `alloc_*_f` is `alloc_* as f64`), and `min(1.0)` as one comparison (the
            // fraction is never NaN: its divisor is not 0). The order of the two does not
            // matter: |a - b| = |b - a|.
            let capped = |x: f64| if x < 1.0 { x } else { 1.0 };
            let fc = capped((row.req_cpu + pod.cpu_milli) as f64 / row.alloc_cpu_f);
            let fm = capped((row.req_mem + pod.memory_bytes) as f64 / row.alloc_mem_f);
            return balanced_score(&[fc, fm]);
        }
        self.row_score_general(row, pod)
    }

    /// [`BalancedAllocation::row_score`] for any row and resource list.
    #[cold]
    #[inline(never)]
    fn row_score_general(&self, row: &NodeResourceRow, pod: &Resources) -> i64 {
        let fraction = |(req, cap): (i64, i64)| (req as f64 / cap as f64).min(1.0);
        let mut fr = [0f64; 2];
        let mut k = 0;
        for &(kind, _) in &self.kinds {
            let pair = match kind {
                ResourceKind::Cpu => (row.req_cpu + pod.cpu_milli, row.alloc_cpu),
                ResourceKind::Memory => (row.req_mem + pod.memory_bytes, row.alloc_mem),
                ResourceKind::Unmodelled => (0, 0),
            };
            if pair.1 == 0 || k == fr.len() {
                continue;
            }
            fr[k] = fraction(pair);
            k += 1;
        }
        balanced_score(&fr[..k])
    }
}

/// How many of the first values of `v` (not empty) are `v[0], v[0] + 1, ...`. `v` is a list
/// of feasible nodes from the filter: increasing, except for at most one wrap to indices
/// below `v[0]` (the scan restarts at node 0). Then `v[m] == v[0] + m` holds exactly for `m`
/// in a prefix (before the wrap `v[m] - v[0] - m` never decreases and starts at 0; after it,
/// `v[m] < v[0]`), so the end of the prefix is found by bisection: one comparison when the
/// whole list is one run, about `log2(len)` otherwise, instead of one per node.
fn consecutive(v: &[usize]) -> usize {
    let first = v[0];
    let run = |m: usize| v[m] == first.wrapping_add(m);
    let last = v.len() - 1;
    if run(last) {
        return v.len();
    }
    // run(lo) holds, run(hi) does not.
    let (mut lo, mut hi) = (0, last);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if run(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo + 1
}

/// NodeResourcesFit's and NodeResourcesBalancedAllocation's scores in one loop over the
/// feasible nodes: add `fit_weight * fit score + balanced_weight * balanced score` of each
/// `feasible[k]` to `totals[k]` (neither plugin normalizes, so these are the weighted
/// normalized scores the framework would add one plugin after the other; integer sums do not
/// depend on the order). False, with `totals` untouched, if Fit scores with
/// RequestedToCapacityRatio (the caller then scores the plugins one by one).
pub fn add_fit_and_balanced(
    fit: (&Fit, i64),
    balanced: (&BalancedAllocation, i64),
    cx: &CycleContext<'_>,
    feasible: &[usize],
    totals: &mut [i64],
) -> bool {
    let most = match fit.0.strategy {
        ScoringStrategy::LeastAllocated => false,
        ScoringStrategy::MostAllocated => true,
        ScoringStrategy::RequestedToCapacityRatio { .. } => return false,
    };
    let nz = &cx.pod.non_zero_requests;
    let req = &cx.pod.requests;
    let (f, wf) = fit;
    let (b, wb) = balanced;
    // Cpu and memory scored by both, every node's numbers exact in f64: the batched loop over
    // each run of consecutive feasible nodes (the same scores, see `noderesources_batch`).
    let columns = &cx.snapshot.columns;
    if let Some((wc, wm, _)) = f.cpu_memory
        && b.cpu_memory
        && columns.inexact() == 0
        && columns.len() == cx.snapshot.nodes.len()
        && let Some(batch) = BatchScore::new(most, (wc, wm), nz, req, wf, wb)
    {
        let mut k = 0;
        while k < feasible.len() {
            let from = feasible[k];
            let end = k + consecutive(&feasible[k..]);
            batch.add_run(columns, from, &mut totals[k..end]);
            k = end;
        }
        return true;
    }
    let rows = &cx.snapshot.resources[..];
    let pairs = totals.iter_mut().zip(feasible);
    if most {
        for (t, &i) in pairs {
            let row = &rows[i];
            let s = f.row_score::<true>(row, nz.cpu_milli, nz.memory_bytes) * wf
                + b.row_score(row, req) * wb;
            *t += s;
        }
    } else {
        for (t, &i) in pairs {
            let row = &rows[i];
            let s = f.row_score::<false>(row, nz.cpu_milli, nz.memory_bytes) * wf
                + b.row_score(row, req) * wb;
            *t += s;
        }
    }
    true
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

    /// A deterministic stream of pseudo-random numbers (64-bit LCG, high bits).
    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 11
    }

    #[test]
    fn divisor_is_exact() {
        // Divisors of every size from 2 to 2^63 - 1, dividends below 2^52: edges, exact
        // multiples and one below them (where a rounded reciprocal would be one off), random.
        let limit = Divisor::DIVIDEND_LIMIT;
        let mut st = 1u64;
        let mut divisors = vec![2i64, 3, 7, 100, 1000, 4096, 4097, 64_000, 274_877_906_944];
        divisors.extend([(1 << 45) - 1, 1 << 45, (1 << 52) - 1, 1 << 52, i64::MAX]);
        for bits in 2..63 {
            for _ in 0..200 {
                divisors.push((lcg(&mut st) % (1u64 << bits)).max(2) as i64);
            }
        }
        assert_eq!(Divisor::new(1), None);
        assert_eq!(Divisor::new(0), None);
        assert_eq!(Divisor::new(-5), None);
        for d in divisors {
            let div = Divisor::new(d).expect("d >= 2");
            let du = d as u64;
            let check = |n: u64| assert_eq!(div.divide(n), n / du, "{n} / {d}");
            for n in [
                0,
                1,
                du - 1,
                du,
                du + 1,
                limit - 1,
                limit - 1 - (limit - 1) % du,
            ] {
                if n < limit {
                    check(n);
                }
            }
            for _ in 0..200 {
                let n = lcg(&mut st) % limit;
                check(n);
                let q = n / du;
                check(q * du);
                if q > 0 {
                    check(q * du - 1);
                }
                // The scores' dividends: (cap - req) * 100 with 0 <= req <= cap <= 2^45.
                if d <= 1 << 45 {
                    let free = lcg(&mut st) % (du + 1);
                    check(free * 100);
                }
            }
        }
    }

    /// A row with allocatable (cpu, mem), requested (cpu, mem, pods) and non-zero requested.
    fn row(alloc: (i64, i64), req: (i64, i64), nz: (i64, i64)) -> NodeResourceRow {
        NodeResourceRow::new(
            &Resources {
                cpu_milli: alloc.0,
                memory_bytes: alloc.1,
                pods: 110,
            },
            &res(req.0, req.1),
            &res(nz.0, nz.1),
        )
    }

    #[test]
    fn row_scores_match_the_reference_arithmetic() {
        // Fit's and BalancedAllocation's per-row scores (fast path for cpu + memory, the
        // general loop for other resource lists, zero capacities, requests over capacity)
        // against `strategy_score` / `balanced_score` on the same numbers.
        let weights: [&[(&str, i64)]; 5] = [
            &[("cpu", 1), ("memory", 1)],
            &[("memory", 3), ("cpu", 2)],
            &[("cpu", 1), ("nvidia.com/gpu", 4), ("memory", 5)],
            &[("cpu", 7)],
            &[("memory", 0), ("cpu", 0)],
        ];
        let mut st = 7u64;
        for w in weights {
            let rw: Vec<ResourceWeight> = w
                .iter()
                .map(|(n, w)| ResourceWeight {
                    name: (*n).into(),
                    weight: *w,
                })
                .collect();
            let strategies = [
                ScoringStrategy::LeastAllocated,
                ScoringStrategy::MostAllocated,
            ];
            for s in strategies {
                let fit = Fit::new(s.clone(), &rw);
                let bal = BalancedAllocation::new(&rw);
                for _ in 0..20_000 {
                    let mut pick = |max: u64| (lcg(&mut st) % (max + 1)) as i64;
                    let cap_cpu = if pick(20) == 0 { 0 } else { pick(128_000) };
                    let cap_mem = match pick(20) {
                        0 => 0,
                        // Past the fixed formula's range (2^45): Go's divisions.
                        1 => pick(1 << 50),
                        _ => pick(1 << 39),
                    };
                    // Up to 1.5x the capacity, so some requests exceed it.
                    let req = (pick(cap_cpu as u64 * 3 / 2), pick(cap_mem as u64 * 3 / 2));
                    let nz = (pick(cap_cpu as u64 * 3 / 2), pick(cap_mem as u64 * 3 / 2));
                    let pod = res(pick(8_000), pick(1 << 34));
                    let pod_nz = res(pod.cpu_milli.max(100), pod.memory_bytes.max(200 << 20));
                    let r = row((cap_cpu, cap_mem), req, nz);
                    let alloc = Resources {
                        cpu_milli: cap_cpu,
                        memory_bytes: cap_mem,
                        pods: 110,
                    };
                    let want = strategy_score(&s, &rw, &res(nz.0, nz.1), &pod_nz, &alloc);
                    let got = match s {
                        ScoringStrategy::MostAllocated => {
                            fit.row_score::<true>(&r, pod_nz.cpu_milli, pod_nz.memory_bytes)
                        }
                        _ => fit.row_score::<false>(&r, pod_nz.cpu_milli, pod_nz.memory_bytes),
                    };
                    assert_eq!(got, want, "{s:?} {w:?} {r:?} {pod_nz:?}");
                    // BalancedAllocation: the first two modelled resources with a capacity.
                    let mut fr = Vec::new();
                    for (name, _) in w {
                        let (q, c) = match *name {
                            "cpu" => (req.0 + pod.cpu_milli, cap_cpu),
                            "memory" => (req.1 + pod.memory_bytes, cap_mem),
                            _ => (0, 0),
                        };
                        if c != 0 && fr.len() < 2 {
                            fr.push((q as f64 / c as f64).min(1.0));
                        }
                    }
                    assert_eq!(bal.row_score(&r, &pod), balanced_score(&fr), "{w:?} {r:?}");
                }
            }
        }
    }

    #[test]
    fn fit_request_agrees_with_the_filter_reasons() {
        // FitRequest::fits is true exactly when Fit::filter gives no reason, zero requests
        // included (not checked, as upstream's fitsRequest).
        use crate::cluster::scheduler::framework::{CycleContext, NodeInfo, Snapshot};
        let fit = Fit::new(ScoringStrategy::LeastAllocated, &cm());
        let mut snap = Snapshot::default();
        let mut nodes = Vec::new();
        for (cpu, mem, pods, used_pods) in [
            (4000, 8000, 110, 0),
            (4000, 8000, 1, 1),
            (0, 0, 110, 0),
            (1000, 1000, 110, 109),
        ] {
            nodes.push(snap.push_node(NodeInfo {
                name: format!("n{}", nodes.len()),
                labels: Default::default(),
                taints: Vec::new(),
                allocatable: Resources {
                    cpu_milli: cpu,
                    memory_bytes: mem,
                    pods,
                },
                unschedulable: false,
                requested: Resources {
                    cpu_milli: cpu / 2,
                    memory_bytes: mem / 2,
                    pods: used_pods,
                },
                non_zero_requested: Resources::default(),
                pods: Default::default(),
                images: Vec::new(),
            }));
        }
        let pods = crate::cluster::pod_map::PodMap::new();
        for (cpu, mem) in [(0, 0), (2000, 0), (2001, 0), (0, 4001), (1, 1), (500, 500)] {
            let mut p = crate::cluster::scheduler::tests_support::pod();
            p.requests = res(cpu, mem);
            let cx = CycleContext {
                pod: &p,
                snapshot: &snap,
                pods: &pods,
            };
            let req = FitRequest::new(&p.requests);
            for &i in &nodes {
                let mut reasons = Vec::new();
                let ok = fit.filter(&cx, i, &mut reasons);
                assert_eq!(ok, reasons.is_empty());
                assert_eq!(req.fits(&snap.resources[i]), ok, "pod {cpu}/{mem} node {i}");
            }
        }
        // scan: stops at the first node that does not fit (node 1: no pod slot left), at
        // `to_find`, or at the end of the range.
        let req = FitRequest::new(&res(500, 500));
        let rows = &snap.resources;
        let mut feasible = Vec::new();
        assert_eq!(req.scan(rows, 0, 4, 10, &mut feasible), 1);
        assert_eq!(feasible, [0]);
        assert_eq!(
            req.scan(rows, 2, 4, 10, &mut feasible),
            2,
            "node 2 has no cpu"
        );
        assert_eq!(req.scan(rows, 3, 4, 10, &mut feasible), 4);
        assert_eq!(feasible, [0, 3]);
        assert_eq!(req.scan(rows, 0, 4, 3, &mut feasible), 1);
        assert_eq!(req.scan(rows, 0, 4, 2, &mut feasible), 0, "already full");
        assert_eq!(feasible, [0, 3, 0]);
    }

    #[test]
    fn scan_columns_agrees_with_scan() {
        // Random clusters of 0..80 nodes, many of them full: the column scan stops at the
        // same node, with the same feasible list, as the row scan, from every start.
        use crate::cluster::scheduler::framework::{NodeInfo, Snapshot};
        let mut st = 11u64;
        for _ in 0..300 {
            let mut snap = Snapshot::default();
            let n = (lcg(&mut st) % 80) as usize;
            let full_every = 1 + lcg(&mut st) % 40;
            for k in 0..n {
                let full = lcg(&mut st).is_multiple_of(full_every);
                let pods = if lcg(&mut st).is_multiple_of(30) {
                    3
                } else {
                    0
                };
                let used = if full {
                    4000
                } else {
                    (lcg(&mut st) % 3000) as i64
                };
                snap.push_node(NodeInfo {
                    name: format!("n{k:03}"),
                    labels: Default::default(),
                    taints: Vec::new(),
                    allocatable: Resources {
                        cpu_milli: 4000,
                        memory_bytes: 8000,
                        pods: 3,
                    },
                    unschedulable: false,
                    requested: Resources {
                        cpu_milli: used,
                        memory_bytes: used * 2,
                        pods,
                    },
                    non_zero_requested: Resources::default(),
                    pods: Default::default(),
                    images: Vec::new(),
                });
            }
            let req = FitRequest::new(&res(
                (lcg(&mut st) % 1500) as i64,
                (lcg(&mut st) % 3000) as i64,
            ));
            for from in 0..=n {
                let to_find = (lcg(&mut st) % 100) as usize;
                let (mut a, mut b) = (vec![7], vec![7]);
                let got = req.scan_columns(&snap.columns, from, n, to_find, &mut a);
                let want = req.scan(&snap.resources, from, n, to_find, &mut b);
                assert_eq!((got, &a), (want, &b), "from {from} of {n}");
                // The portable block check agrees with the one `scan_columns` ran.
                let c = &snap.columns;
                let (r, cpu, mem) = (
                    &c.pod_room[from..],
                    &c.free_cpu[from..],
                    &c.free_mem[from..],
                );
                assert_eq!(
                    req.fitting_blocks_generic(r, cpu, mem),
                    req.fitting_blocks(r, cpu, mem),
                    "from {from} of {n}"
                );
            }
        }
    }

    #[test]
    fn consecutive_table() {
        let run: Vec<usize> = (5..45).collect();
        assert_eq!(consecutive(&run), 40);
        for cut in [1, 15, 16, 17, 33, 39] {
            // A node left out (a gap), or the scan wrapping to node 0.
            let mut v = run.clone();
            for x in &mut v[cut..] {
                *x += 2;
            }
            assert_eq!(consecutive(&v), cut, "gap at {cut}");
            let mut v = run.clone();
            for (k, x) in v[cut..].iter_mut().enumerate() {
                *x = k;
            }
            assert_eq!(consecutive(&v), cut, "wrap at {cut}");
        }
        assert_eq!(consecutive(&[3]), 1);
        assert_eq!(consecutive(&[9, 10, 0, 1]), 2);
        assert_eq!(consecutive(&[9, 10, 11, 0]), 3);
        assert_eq!(consecutive(&[9, 11, 12, 13]), 1);
    }

    proptest::proptest! {
        /// On lists shaped like the filter's feasible nodes (increasing from a start, then
        /// increasing again from below it), the bisection finds the run one-by-one counting
        /// finds.
        #[test]
        fn consecutive_matches_counting(
            n in 1usize..300,
            start in 0usize..300,
            keep in proptest::collection::vec(proptest::bool::weighted(0.9), 300),
        ) {
            let start = start % n;
            let v: Vec<usize> = (start..n)
                .chain(0..start)
                .filter(|&i| keep[i])
                .collect();
            if !v.is_empty() {
                let mut m = 0;
                while m < v.len() && v[m] == v[0] + m {
                    m += 1;
                }
                proptest::prop_assert_eq!(consecutive(&v), m);
                for k in 1..v.len() {
                    let mut m = 0;
                    while k + m < v.len() && v[k + m] == v[k] + m {
                        m += 1;
                    }
                    proptest::prop_assert_eq!(consecutive(&v[k..]), m);
                }
            }
        }
    }
}
