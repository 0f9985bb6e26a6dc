//! The nodes' resource numbers as `f64` columns (a structure of arrays), for the batched
//! NodeResourcesFit + NodeResourcesBalancedAllocation score loop
//! (`plugins::noderesources_batch`): one contiguous array per quantity, so the loop over a run
//! of consecutive nodes reads each column as a stream and compiles to packed (SIMD) arithmetic
//! without gathers, conversions or branches.
//!
//! Every value is the corresponding integer of [`NodeResourceRow`] converted to `f64`. A row is
//! *exact* when every one of its values is an integer the batched arithmetic handles without
//! rounding (see [`ResourceColumns::exact`]); [`ResourceColumns::inexact`] counts the rows that
//! are not, and the scheduler scores with the integer code of `noderesources` whenever it is
//! not 0.

use super::framework::NodeResourceRow;

/// Largest allocatable cpu (millicores) or memory (bytes) of an exact row: `100 * 2^45 < 2^52`,
/// so `(allocatable - requested) * 100` and `101 * allocatable` are exact in `f64`.
pub const EXACT_ALLOC_MAX: i64 = 1 << 45;

/// Largest requested / non-zero requested value of an exact row, and of a pod's request in
/// the batched loop: the sum of two of them stays below `2^53`, so it is exact in `f64`.
pub const EXACT_REQUEST_MAX: i64 = (1 << 52) - 1;

/// Per node (aligned with [`Snapshot::nodes`](super::framework::Snapshot::nodes)): the
/// resource numbers of its [`NodeResourceRow`] as `f64`, one vector per quantity.
#[derive(Clone, Debug, Default)]
pub struct ResourceColumns {
    /// `allocatable.cpu_milli` (millicores).
    pub alloc_cpu: Vec<f64>,
    /// `allocatable.memory_bytes` (bytes).
    pub alloc_mem: Vec<f64>,
    /// `non_zero_requested.cpu_milli` (millicores).
    pub nz_cpu: Vec<f64>,
    /// `non_zero_requested.memory_bytes` (bytes).
    pub nz_mem: Vec<f64>,
    /// `requested.cpu_milli` (millicores).
    pub req_cpu: Vec<f64>,
    /// `requested.memory_bytes` (bytes).
    pub req_mem: Vec<f64>,
    /// `1 / alloc_cpu` rounded (an estimate the batched integer division corrects).
    pub inv_cpu: Vec<f64>,
    /// `1 / alloc_mem` rounded, the same.
    pub inv_mem: Vec<f64>,
    /// `alloc_cpu - req_cpu` of the integer row (wrapping), the free millicores the
    /// NodeResourcesFit filter compares a request with.
    pub free_cpu: Vec<i64>,
    /// `alloc_mem - req_mem` of the integer row (wrapping), the free bytes.
    pub free_mem: Vec<i64>,
    /// `req_pods < alloc_pods`: room for one more pod.
    pub pod_room: Vec<bool>,
    /// Per node: whether its row is [`ResourceColumns::exact`].
    exact: Vec<bool>,
    /// Nodes whose row is not exact.
    inexact: usize,
}

impl ResourceColumns {
    /// True if the batched arithmetic is exact on `row`: allocatable cpu and memory in
    /// `2..=2^45`, requested and non-zero requested cpu and memory in `0..2^52`.
    pub fn exact(row: &NodeResourceRow) -> bool {
        let alloc = |v: i64| (2..=EXACT_ALLOC_MAX).contains(&v);
        let req = |v: i64| (0..=EXACT_REQUEST_MAX).contains(&v);
        alloc(row.alloc_cpu)
            && alloc(row.alloc_mem)
            && req(row.req_cpu)
            && req(row.req_mem)
            && req(row.nz_cpu)
            && req(row.nz_mem)
    }

    /// Nodes held.
    pub fn len(&self) -> usize {
        self.exact.len()
    }

    /// True if no node is held.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty()
    }

    /// Nodes whose row is not exact (the batched loop is used only when this is 0).
    pub fn inexact(&self) -> usize {
        self.inexact
    }

    /// Keep the first `n` nodes only (nodes taken out at the end of the snapshot).
    pub fn truncate(&mut self, n: usize) {
        while self.exact.len() > n {
            if self.exact.pop() == Some(false) {
                self.inexact -= 1;
            }
        }
        for c in self.columns_mut() {
            c.truncate(n);
        }
        self.free_cpu.truncate(n);
        self.free_mem.truncate(n);
        self.pod_room.truncate(n);
    }

    /// Append the node of `row`.
    pub fn push(&mut self, row: &NodeResourceRow) {
        for c in self.columns_mut() {
            c.push(0.0);
        }
        self.free_cpu.push(0);
        self.free_mem.push(0);
        self.pod_room.push(false);
        self.exact.push(true);
        self.set(self.exact.len() - 1, row);
    }

    /// Node `i`'s row is now `row`.
    pub fn set(&mut self, i: usize, row: &NodeResourceRow) {
        let exact = Self::exact(row);
        match (self.exact[i], exact) {
            (true, false) => self.inexact += 1,
            (false, true) => self.inexact -= 1,
            _ => {}
        }
        self.exact[i] = exact;
        self.alloc_cpu[i] = row.alloc_cpu as f64;
        self.alloc_mem[i] = row.alloc_mem as f64;
        self.nz_cpu[i] = row.nz_cpu as f64;
        self.nz_mem[i] = row.nz_mem as f64;
        self.req_cpu[i] = row.req_cpu as f64;
        self.req_mem[i] = row.req_mem as f64;
        self.inv_cpu[i] = 1.0 / row.alloc_cpu as f64;
        self.inv_mem[i] = 1.0 / row.alloc_mem as f64;
        self.free_cpu[i] = row.alloc_cpu.wrapping_sub(row.req_cpu);
        self.free_mem[i] = row.alloc_mem.wrapping_sub(row.req_mem);
        self.pod_room[i] = row.req_pods < row.alloc_pods;
    }

    /// The value columns, in field order.
    fn columns_mut(&mut self) -> [&mut Vec<f64>; 8] {
        [
            &mut self.alloc_cpu,
            &mut self.alloc_mem,
            &mut self.nz_cpu,
            &mut self.nz_mem,
            &mut self.req_cpu,
            &mut self.req_mem,
            &mut self.inv_cpu,
            &mut self.inv_mem,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::spec::Resources;

    fn row(alloc: (i64, i64), req: (i64, i64), nz: (i64, i64)) -> NodeResourceRow {
        let r = |(c, m): (i64, i64)| Resources {
            cpu_milli: c,
            memory_bytes: m,
            pods: 0,
        };
        NodeResourceRow::new(&r(alloc), &r(req), &r(nz))
    }

    #[test]
    fn exact_rows_table() {
        // (row, exact)
        let cases = [
            (row((64_000, 1 << 38), (0, 0), (0, 0)), true),
            (row((2, 2), (1, 1), (1, 1)), true),
            (row((1 << 45, 1 << 45), (1 << 40, 0), (1 << 40, 0)), true),
            (row((1, 1 << 30), (0, 0), (0, 0)), false),
            (row((0, 1 << 30), (0, 0), (0, 0)), false),
            (row((64_000, (1 << 45) + 1), (0, 0), (0, 0)), false),
            (row((64_000, 1 << 30), (-1, 0), (0, 0)), false),
            (row((64_000, 1 << 30), (0, 0), (0, 1 << 52)), false),
            (row((64_000, 1 << 30), (0, EXACT_REQUEST_MAX), (0, 0)), true),
        ];
        for (k, (r, want)) in cases.iter().enumerate() {
            assert_eq!(ResourceColumns::exact(r), *want, "case {k}");
        }
    }

    #[test]
    fn columns_follow_rows_and_count_inexact_ones() {
        let mut c = ResourceColumns::default();
        let good = row((4000, 8000), (1000, 2000), (1100, 2200));
        let bad = row((0, 8000), (0, 0), (0, 0));
        c.push(&good);
        c.push(&bad);
        c.push(&good);
        assert_eq!((c.len(), c.inexact()), (3, 1));
        assert_eq!(c.alloc_cpu, [4000.0, 0.0, 4000.0]);
        assert_eq!(c.nz_mem, [2200.0, 0.0, 2200.0]);
        assert_eq!(c.req_cpu[2], 1000.0);
        assert_eq!(c.inv_mem[0], 1.0 / 8000.0);
        // The rows of `row` have no pod slots (allocatable pods 0).
        assert_eq!(
            (c.free_cpu[0], c.free_mem[0], c.pod_room[0]),
            (3000, 6000, false)
        );
        c.set(1, &good);
        assert_eq!(c.inexact(), 0);
        c.set(0, &bad);
        c.set(2, &bad);
        assert_eq!(c.inexact(), 2);
        c.truncate(1);
        assert_eq!((c.len(), c.inexact()), (1, 1));
        assert_eq!(c.alloc_cpu.len(), 1);
        c.truncate(0);
        assert!(c.is_empty());
        assert_eq!(c.inexact(), 0);
    }
}
