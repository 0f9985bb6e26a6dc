//! The scheduling framework: the scheduler's node snapshot ([`Snapshot`], upstream's scheduler
//! cache + `NodeInfo`), the [`Plugin`] trait with upstream's extension points (PreFilter,
//! Filter, PreScore, Score, NormalizeScore), the plugin [`Registry`] (custom plugins are
//! registered here by name) and one profile's instantiated plugins ([`Framework`]).
//!
//! Upstream: `pkg/scheduler/framework/interface.go`, `framework/types.go` (NodeInfo),
//! `framework/runtime/framework.go` (RunFilterPlugins stops at the first failing plugin;
//! RunScorePlugins multiplies normalized scores by the plugin weight).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::cluster::objects::{Pod, PodId};
use crate::cluster::spec::{LabelSelector, Labels, Resources, SchedulerProfileSpec, Taint};
use crate::cluster::state::Store;

use super::placed::PlacedPods;
use super::resource_columns::ResourceColumns;
use super::topology::{NO_DOMAIN, TopologyIndex};

/// Highest score a plugin gives after normalization (upstream `framework.MaxNodeScore`).
pub const MAX_NODE_SCORE: i64 = 100;

/// A reason a filter rejected a node, upstream's wording ("Insufficient cpu").
pub type Reason = Cow<'static, str>;

/// The label every node carries with its name (`v1.LabelHostname`).
pub const LABEL_HOSTNAME: &str = "kubernetes.io/hostname";

/// Size kubesim assumes for every container image, in bytes, for ImageLocality (kubesim has no
/// image sizes; upstream reads them from `node.status.images`). A modelling assumption.
pub const ASSUMED_IMAGE_SIZE: i64 = 250 * 1024 * 1024;

/// What the scheduler knows of one node (upstream `framework.NodeInfo`): the node's own fields
/// plus the pods bound or assumed onto it.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    /// Node name.
    pub name: String,
    /// Node labels.
    pub labels: Labels,
    /// Node taints, plus `node.kubernetes.io/not-ready:NoSchedule` while the node is not Ready
    /// (as the node lifecycle controller adds it).
    pub taints: Vec<Taint>,
    /// `status.allocatable`.
    pub allocatable: Resources,
    /// `spec.unschedulable`.
    pub unschedulable: bool,
    /// `NodeInfo.Requested`: sum of the requests of its pods (`pods` counts them).
    pub requested: Resources,
    /// `NodeInfo.NonZeroRequested`: the same with the non-zero defaults (100m, 200Mi).
    pub non_zero_requested: Resources,
    /// Pods bound or assumed onto the node, in pod-id order (a sorted vector: pod ids grow,
    /// so a placement appends, and a node holds at most a few hundred pods).
    pub pods: Vec<PodId>,
    /// Images present on the node, from the pods placed on it: ids into
    /// [`Snapshot::image_ids`] (interned normalized names), sorted.
    pub images: Vec<ImageId>,
}

/// The resource numbers of one node the NodeResourcesFit filter and the resource scores read,
/// packed in one row so that the per-node loops of a scheduling cycle read one contiguous
/// record instead of chasing a [`NodeInfo`] (name, labels, taints, pod set):
/// [`Snapshot::resources`] holds one per node, aligned with [`Snapshot::nodes`], kept equal to
/// the node's `allocatable`, `requested` and `non_zero_requested` by [`Snapshot::push_node`],
/// [`Snapshot::add_pod`] and [`Snapshot::remove_pod`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct NodeResourceRow {
    /// `allocatable.cpu_milli` (millicores).
    pub alloc_cpu: i64,
    /// `allocatable.memory_bytes` (bytes).
    pub alloc_mem: i64,
    /// `allocatable.pods`.
    pub alloc_pods: i64,
    /// `requested.cpu_milli` (millicores).
    pub req_cpu: i64,
    /// `requested.memory_bytes` (bytes).
    pub req_mem: i64,
    /// `requested.pods` (pods placed).
    pub req_pods: i64,
    /// `non_zero_requested.cpu_milli` (millicores).
    pub nz_cpu: i64,
    /// `non_zero_requested.memory_bytes` (bytes).
    pub nz_mem: i64,
    /// `alloc_cpu as f64` (exact: see `fast`), for BalancedAllocation's fractions.
    pub alloc_cpu_f: f64,
    /// `alloc_mem as f64`, the same.
    pub alloc_mem_f: f64,
    /// Exact division by `alloc_cpu` (valid when `fast`).
    pub div_cpu: Divisor,
    /// Exact division by `alloc_mem` (valid when `fast`).
    pub div_mem: Divisor,
    /// True when both allocatable cpu and memory are in `2..=2^45` and the (non-zero)
    /// requested cpu and memory are not negative: the resource scores of this node then take
    /// their fixed-formula path (every dividend below `2^52`, see [`Divisor`]).
    pub fast: bool,
}

/// Largest allocatable (of cpu in millicores or memory in bytes) a node's resource scores
/// take the fixed-formula path for: `100 * 2^45 < 2^52`, the dividends [`Divisor`] is exact on.
const FAST_ALLOC_MAX: i64 = 1 << 45;

impl NodeResourceRow {
    /// The row of a node with these numbers.
    pub fn new(allocatable: &Resources, requested: &Resources, non_zero: &Resources) -> Self {
        let mut row = NodeResourceRow {
            alloc_cpu: allocatable.cpu_milli,
            alloc_mem: allocatable.memory_bytes,
            alloc_pods: allocatable.pods,
            req_cpu: requested.cpu_milli,
            req_mem: requested.memory_bytes,
            req_pods: requested.pods,
            nz_cpu: non_zero.cpu_milli,
            nz_mem: non_zero.memory_bytes,
            alloc_cpu_f: allocatable.cpu_milli as f64,
            alloc_mem_f: allocatable.memory_bytes as f64,
            div_cpu: Divisor::new(allocatable.cpu_milli).unwrap_or_default(),
            div_mem: Divisor::new(allocatable.memory_bytes).unwrap_or_default(),
            fast: false,
        };
        row.fast = row.is_fast();
        row
    }

    fn is_fast(&self) -> bool {
        let alloc = |v: i64| (2..=FAST_ALLOC_MAX).contains(&v);
        alloc(self.alloc_cpu)
            && alloc(self.alloc_mem)
            && self.req_cpu >= 0
            && self.req_mem >= 0
            && self.nz_cpu >= 0
            && self.nz_mem >= 0
    }

    /// Count a pod's requests and non-zero requests in (`add`) or out of the row.
    fn apply(&mut self, requests: &Resources, non_zero: &Resources, add: bool) {
        let s = if add { 1 } else { -1 };
        self.req_cpu += s * requests.cpu_milli;
        self.req_mem += s * requests.memory_bytes;
        self.req_pods += s * requests.pods;
        self.nz_cpu += s * non_zero.cpu_milli;
        self.nz_mem += s * non_zero.memory_bytes;
        self.fast = self.is_fast();
    }
}

/// Exact unsigned division by a fixed divisor `d` (`2 <= d < 2^63`) of any dividend below
/// `2^52`, by one multiplication: `n / d = (n * magic) >> (64 + shift)` with
/// `s = 64 + shift = max(64, 52 + ceil(log2 d))` and `magic = floor(2^s / d) + 1` (which fits in
/// 64 bits). Why it is exact: write `magic * d = 2^s + e` with `0 < e <= d`; then
/// `n * magic / 2^s = n / d + n * e / (d * 2^s)`, and `n * e < 2^52 * 2^ceil(log2 d) <= 2^s`,
/// so the excess is below `1 / d`, too little to reach the next integer (the fractional part of
/// `n / d` is at most `(d - 1) / d`). The resource scores divide by each node's allocatable
/// millions of times; a hardware 64-bit division costs tens of cycles, this a few.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Divisor {
    /// `floor(2^s / d) + 1`.
    magic: u64,
    /// `s - 64`.
    shift: u32,
}

impl Divisor {
    /// Dividends below this are divided exactly.
    pub const DIVIDEND_LIMIT: u64 = 1 << 52;

    /// The divider by `d`; `None` unless `2 <= d < 2^63`.
    pub fn new(d: i64) -> Option<Divisor> {
        if d < 2 {
            return None;
        }
        let d = d as u64;
        let ceil_log2 = 64 - (d - 1).leading_zeros();
        let s = 64u32.max(52 + ceil_log2);
        let magic = ((1u128 << s) / u128::from(d) + 1) as u64;
        Some(Divisor {
            magic,
            shift: s - 64,
        })
    }

    /// `n / d` for `n < 2^52` ([`Divisor::DIVIDEND_LIMIT`]; not checked).
    #[inline(always)]
    pub fn divide(self, n: u64) -> u64 {
        ((u128::from(n) * u128::from(self.magic)) >> 64) as u64 >> self.shift
    }
}

/// An interned normalized image name: index into [`Snapshot::image_nodes`], assigned in the
/// order images are first seen by [`Snapshot::image_id`].
pub type ImageId = u32;

/// What the snapshot remembers of a placed pod, so it can be removed after the pod is gone.
#[derive(Clone, Debug)]
pub struct PlacedPod {
    /// Index of its node in [`Snapshot::nodes`].
    pub node: usize,
    /// Namespace.
    pub namespace: String,
    /// Labels.
    pub labels: Labels,
    /// Requests counted.
    pub requests: Resources,
    /// Non-zero requests counted.
    pub non_zero: Resources,
    /// Priority.
    pub priority: i32,
    /// Whether it is terminating (no longer counted by selector-based plugins).
    pub terminating: bool,
}

/// Counts of the pods matching one (namespace, selector) per node and per topology domain,
/// maintained incrementally so PodTopologySpread does not rescan every pod each cycle.
#[derive(Clone, Debug)]
pub struct SelectorCounts {
    /// Namespace the selected pods must be in.
    pub namespace: String,
    /// The selector.
    pub selector: LabelSelector,
    /// Matching (non-terminating) pods per node index.
    pub per_node: Vec<u32>,
    /// Per topology key, as (index into [`Snapshot::topologies`], matching pods per domain
    /// id): every domain of the nodes that carry the key (zero included).
    pub per_domain: Vec<(usize, Vec<i64>)>,
}

/// The scheduler's view of the cluster (upstream scheduler cache + snapshot): nodes in name
/// order (the order filters visit them, from a rotating start index), and the pods placed on
/// them, including assumed pods whose binding has not been observed yet.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Nodes in name order.
    pub nodes: Vec<NodeInfo>,
    /// Node index by name.
    pub index: BTreeMap<String, usize>,
    /// Pods placed on a node, by pod id.
    pub placed: PlacedPods,
    /// Interned normalized image names (ImageLocality compares ids, not strings, per node).
    pub image_ids: BTreeMap<String, ImageId>,
    /// Number of nodes holding each image, by [`ImageId`].
    pub image_nodes: Vec<u32>,
    /// Nodes with at least one taint (the not-ready taint included), kept by
    /// [`Snapshot::build`] and [`Snapshot::push_node`]: when 0, TaintToleration has nothing
    /// to check or score.
    pub tainted_nodes: usize,
    /// Nodes with `spec.unschedulable`, kept like [`Snapshot::tainted_nodes`].
    pub unschedulable_nodes: usize,
    /// Bumped by every change to a node's pods ([`Snapshot::add_pod`],
    /// [`Snapshot::remove_pod`]); `node_versions[i]` is its value at node `i`'s last change.
    pub version: u64,
    /// Per node, [`Snapshot::version`] when its pods last changed (aligned with `nodes`).
    pub node_versions: Vec<u64>,
    /// Placed pods per priority value (DefaultPreemption finds no victim anywhere when no
    /// placed pod has a lower priority than the preemptor).
    pub priorities: BTreeMap<i32, u32>,
    /// Selector-count caches (few: one per distinct workload selector asked for).
    pub selectors: Vec<SelectorCounts>,
    /// Placed pods that have pod affinity or anti-affinity terms.
    pub affinity_pods: BTreeSet<PodId>,
    /// Topology domains per key asked for (few: the keys of the spread constraints seen),
    /// kept aligned with `nodes` by [`Snapshot::push_node`]; see [`Snapshot::topology`].
    pub topologies: Vec<TopologyIndex>,
    /// Per [`ImageId`], a bitset over node indices of the nodes holding the image (bit
    /// `i % 64` of word `i / 64`; missing words are 0): ImageLocality tests a node with one
    /// load instead of searching its [`NodeInfo::images`].
    pub image_holders: Vec<Vec<u64>>,
    /// Per node (aligned with `nodes`): its resource numbers packed for the filter and score
    /// loops (see [`NodeResourceRow`]).
    pub resources: Vec<NodeResourceRow>,
    /// Image ids by the image name as a container spells it (before normalization), so
    /// placing a pod does not normalize (and allocate) its images' names again.
    pub raw_image_ids: BTreeMap<String, ImageId>,
    /// Per node (aligned with `nodes`): the numbers of `resources` as `f64` columns, for the
    /// batched resource scores (see [`ResourceColumns`]).
    pub columns: ResourceColumns,
}

/// Upstream `normalizedImageName`: an image without a tag gets `:latest`.
pub fn normalized_image_name(image: &str) -> Cow<'_, str> {
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains(':') || last.contains('@') {
        Cow::Borrowed(image)
    } else {
        Cow::Owned(format!("{image}:latest"))
    }
}

impl Snapshot {
    /// Build from the store, then place `assumed` pods (pod, node name) on top.
    pub fn build(store: &Store, assumed: &BTreeMap<PodId, String>) -> Snapshot {
        let mut s = Snapshot::default();
        for (i, n) in store.nodes.values().enumerate() {
            let mut taints = n.taints.clone();
            if !n.ready {
                taints.push(Taint {
                    key: "node.kubernetes.io/not-ready".into(),
                    value: String::new(),
                    effect: crate::cluster::spec::TaintEffect::NoSchedule,
                });
            }
            let pushed = s.push_node(NodeInfo {
                name: n.name.clone(),
                labels: n.labels.clone(),
                taints,
                allocatable: n.allocatable,
                unschedulable: n.unschedulable,
                requested: Resources::default(),
                non_zero_requested: Resources::default(),
                pods: Vec::new(),
                images: Vec::new(),
            });
            debug_assert_eq!(pushed, i);
        }
        for n in store.nodes.values() {
            for id in &n.pods {
                if let Some(p) = store.pods.get(id) {
                    s.add_pod(p, &n.name);
                }
            }
        }
        for (id, node) in assumed {
            if let Some(p) = store.pods.get(id)
                && !s.placed.contains_key(id)
            {
                s.add_pod(p, node);
            }
        }
        s
    }

    /// Append a node (indexed by name) and count it in the node summaries; returns its index.
    pub fn push_node(&mut self, node: NodeInfo) -> usize {
        let i = self.nodes.len();
        self.tainted_nodes += usize::from(!node.taints.is_empty());
        self.unschedulable_nodes += usize::from(node.unschedulable);
        self.index.insert(node.name.clone(), i);
        if self.topologies.iter().any(|t| t.node_domain.len() != i) {
            // Nodes were taken out behind the index's back (the cluster autoscaler's trial
            // nodes): rebuild the domains, and the counts keyed by them, on next use.
            self.topologies.clear();
            self.selectors.clear();
        }
        for t in &mut self.topologies {
            t.push(&node);
        }
        // A node index can be reused after a trial node was popped: it holds no image yet.
        for bits in &mut self.image_holders {
            if let Some(w) = bits.get_mut(i / 64) {
                *w &= !(1 << (i % 64));
            }
        }
        for sc in &mut self.selectors {
            sc.per_node.push(0);
            for (t, counts) in &mut sc.per_domain {
                counts.resize(self.topologies[*t].len(), 0);
            }
        }
        // Rows of nodes taken out behind the index's back (see above) are dropped first.
        self.resources.truncate(i);
        self.node_versions.truncate(i);
        self.columns.truncate(i);
        let row =
            NodeResourceRow::new(&node.allocatable, &node.requested, &node.non_zero_requested);
        self.resources.push(row);
        self.columns.push(&row);
        self.nodes.push(node);
        self.node_versions.push(self.version);
        i
    }

    /// The lowest priority of a placed pod (`None` if no pod is placed).
    pub fn lowest_priority(&self) -> Option<i32> {
        self.priorities.keys().next().copied()
    }

    /// The id of a normalized image name, interning it on first use.
    pub fn image_id(&mut self, normalized: &str) -> ImageId {
        if let Some(&id) = self.image_ids.get(normalized) {
            return id;
        }
        let id = self.image_nodes.len() as ImageId;
        self.image_ids.insert(normalized.to_string(), id);
        self.image_nodes.push(0);
        self.image_holders.push(Vec::new());
        id
    }

    /// True if node `i` holds image `id` (see [`Snapshot::image_holders`]).
    #[inline]
    pub fn node_has_image(&self, id: ImageId, i: usize) -> bool {
        self.image_holders[id as usize]
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Record that node `i`'s pods changed.
    fn touch(&mut self, i: usize) {
        self.version += 1;
        if let Some(v) = self.node_versions.get_mut(i) {
            *v = self.version;
        }
    }

    /// Place `pod` on `node` (assume or observed binding). No-op if already placed or the node
    /// is unknown.
    pub fn add_pod(&mut self, pod: &Pod, node: &str) {
        if self.placed.contains_key(&pod.id) {
            return;
        }
        let Some(&i) = self.index.get(node) else {
            return;
        };
        self.place(pod, i);
    }

    /// [`Snapshot::add_pod`] onto the node at index `i` (no search by name). No-op if the pod
    /// is already placed or there is no such node.
    pub fn add_pod_at(&mut self, pod: &Pod, i: usize) {
        if i < self.nodes.len() && !self.placed.contains_key(&pod.id) {
            self.place(pod, i);
        }
    }

    /// Place `pod` (not placed yet) on node `i` (a valid index).
    fn place(&mut self, pod: &Pod, i: usize) {
        self.touch(i);
        let all = pod
            .template
            .init_containers
            .iter()
            .chain(&pod.template.containers);
        for c in all {
            let id = match self.raw_image_ids.get(c.image.as_str()) {
                Some(&id) => id,
                None => {
                    let id = self.image_id(&normalized_image_name(&c.image));
                    self.raw_image_ids.insert(c.image.clone(), id);
                    id
                }
            };
            let images = &mut self.nodes[i].images;
            if let Err(at) = images.binary_search(&id) {
                images.insert(at, id);
                self.image_nodes[id as usize] += 1;
                let bits = &mut self.image_holders[id as usize];
                if bits.len() <= i / 64 {
                    bits.resize(i / 64 + 1, 0);
                }
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        let n = &mut self.nodes[i];
        n.requested = n.requested.add(&pod.requests);
        n.non_zero_requested = n.non_zero_requested.add(&pod.non_zero_requests);
        if let Err(at) = n.pods.binary_search(&pod.id) {
            n.pods.insert(at, pod.id);
        }
        self.resources[i].apply(&pod.requests, &pod.non_zero_requests, true);
        self.columns.set(i, &self.resources[i]);
        let terminating = pod.deletion_timestamp.is_some();
        if !terminating {
            for sc in &mut self.selectors {
                if sc.namespace == pod.namespace && sc.selector.matches(&pod.labels) {
                    bump(sc, &self.topologies, i, 1);
                }
            }
        }
        let aff = &pod.template.affinity;
        if !aff.pod_affinity.is_empty() || !aff.pod_anti_affinity.is_empty() {
            self.affinity_pods.insert(pod.id);
        }
        *self.priorities.entry(pod.template.priority).or_insert(0) += 1;
        self.placed.insert(
            pod.id,
            PlacedPod {
                node: i,
                namespace: pod.namespace.clone(),
                labels: pod.labels.clone(),
                requests: pod.requests,
                non_zero: pod.non_zero_requests,
                priority: pod.template.priority,
                terminating,
            },
        );
    }

    /// The pod started terminating: selector-based plugins stop counting it (its resources
    /// stay counted until it is removed, as upstream).
    pub fn mark_terminating(&mut self, id: PodId) {
        let Some(p) = self.placed.get_mut(&id) else {
            return;
        };
        if p.terminating {
            return;
        }
        p.terminating = true;
        let (i, ns, labels) = (p.node, p.namespace.as_str(), &p.labels);
        for sc in &mut self.selectors {
            if sc.namespace == ns && sc.selector.matches(labels) {
                bump(sc, &self.topologies, i, -1);
            }
        }
    }

    /// Remove a pod (deleted, or an assumed pod whose binding failed): the index of the node
    /// it was placed on, `None` if it was not placed. One search of the placed pods: a pod
    /// that was not terminating yet stops being counted by the selector counts here, as
    /// [`Snapshot::mark_terminating`] does.
    pub fn remove_pod(&mut self, id: PodId) -> Option<usize> {
        let p = self.placed.remove(&id)?;
        if !p.terminating {
            for sc in &mut self.selectors {
                if sc.namespace == p.namespace && sc.selector.matches(&p.labels) {
                    bump(sc, &self.topologies, p.node, -1);
                }
            }
        }
        if !self.affinity_pods.is_empty() {
            self.affinity_pods.remove(&id);
        }
        self.touch(p.node);
        if let Some(c) = self.priorities.get_mut(&p.priority) {
            *c -= 1;
            if *c == 0 {
                self.priorities.remove(&p.priority);
            }
        }
        let n = &mut self.nodes[p.node];
        n.requested = n.requested.sub(&p.requests);
        n.non_zero_requested = n.non_zero_requested.sub(&p.non_zero);
        if let Ok(at) = n.pods.binary_search(&id) {
            n.pods.remove(at);
        }
        self.resources[p.node].apply(&p.requests, &p.non_zero, false);
        self.columns.set(p.node, &self.resources[p.node]);
        Some(p.node)
    }

    /// Index of the counts for (namespace, selector), creating and filling it on first use.
    pub fn selector_counts(&mut self, namespace: &str, selector: &LabelSelector) -> usize {
        if let Some(i) = self
            .selectors
            .iter()
            .position(|s| s.namespace == namespace && s.selector == *selector)
        {
            return i;
        }
        let mut sc = SelectorCounts {
            namespace: namespace.to_string(),
            selector: selector.clone(),
            per_node: vec![0; self.nodes.len()],
            per_domain: Vec::new(),
        };
        for p in self.placed.values() {
            if !p.terminating && p.namespace == namespace && selector.matches(&p.labels) {
                sc.per_node[p.node] += 1;
            }
        }
        self.selectors.push(sc);
        self.selectors.len() - 1
    }

    /// Index into `selectors[sel].per_domain` of the domain counts for `key`, creating it.
    pub fn domain_counts(&mut self, sel: usize, key: &str) -> usize {
        let t = self.topology(key);
        let sc = &mut self.selectors[sel];
        if let Some(i) = sc.per_domain.iter().position(|(k, _)| *k == t) {
            return i;
        }
        let topo = &self.topologies[t];
        let mut counts = vec![0i64; topo.len()];
        for (i, &d) in topo.node_domain.iter().enumerate() {
            if d != NO_DOMAIN {
                counts[d as usize] += i64::from(sc.per_node[i]);
            }
        }
        sc.per_domain.push((t, counts));
        sc.per_domain.len() - 1
    }

    /// Index into [`Snapshot::topologies`] of the domains of `key`, building it on first use.
    pub fn topology(&mut self, key: &str) -> usize {
        let n = self.nodes.len();
        if self.topologies.iter().any(|t| t.node_domain.len() != n) {
            // Nodes were taken out behind the index's back (see `push_node`).
            self.topologies.clear();
            for sc in &mut self.selectors {
                sc.per_domain.clear();
            }
        }
        if let Some(t) = self.topologies.iter().position(|t| t.key == key) {
            return t;
        }
        self.topologies.push(TopologyIndex::build(key, &self.nodes));
        self.topologies.len() - 1
    }
}

fn bump(sc: &mut SelectorCounts, topologies: &[TopologyIndex], i: usize, d: i32) {
    sc.per_node[i] = sc.per_node[i].saturating_add_signed(d);
    for (t, counts) in &mut sc.per_domain {
        let dom = topologies[*t].node_domain[i];
        if dom != NO_DOMAIN {
            counts[dom as usize] += i64::from(d);
        }
    }
}

/// What every plugin call sees: the pod being scheduled, the snapshot, and the store's pods.
pub struct CycleContext<'a> {
    /// The pod being scheduled.
    pub pod: &'a Pod,
    /// The scheduler's snapshot.
    pub snapshot: &'a Snapshot,
    /// The API server's pods (for plugins that look at other pods' specs).
    pub pods: &'a dyn crate::cluster::pod_map::PodLookup,
}

/// A scheduler plugin. A plugin implements the extension points it needs; the defaults do
/// nothing. PreFilter / PreScore compute the plugin's cycle state (kept in the plugin value and
/// overwritten every cycle); Filter / Score are then pure functions of (pod, node, that state).
pub trait Plugin {
    /// Registered name, e.g. `NodeResourcesFit`.
    fn name(&self) -> &str;

    /// PreFilter: compute cycle state; `Err(reason)` rejects the pod on every node.
    fn pre_filter(&mut self, _cx: &CycleContext<'_>) -> Result<(), Reason> {
        Ok(())
    }

    /// Filter: true if the node at `node` fits; else push the reasons and return false.
    fn filter(&self, _cx: &CycleContext<'_>, _node: usize, _reasons: &mut Vec<Reason>) -> bool {
        true
    }

    /// PreScore over the feasible nodes.
    fn pre_score(&mut self, _cx: &CycleContext<'_>, _feasible: &[usize]) {}

    /// Score of one feasible node (raw, before normalization).
    fn score(&self, _cx: &CycleContext<'_>, _node: usize) -> i64 {
        0
    }

    /// Score every feasible node: push the raw scores of `feasible`, in order, onto `out`
    /// (empty on entry). The default calls [`Plugin::score`] per node; built-in plugins
    /// override it with one loop over the nodes (the same arithmetic, no call per node).
    fn score_all(&self, cx: &CycleContext<'_>, feasible: &[usize], out: &mut Vec<i64>) {
        out.extend(feasible.iter().map(|&i| self.score(cx, i)));
    }

    /// After PreScore: true if every feasible node gets the same normalized score in this
    /// cycle (for example, no node has a taint for TaintToleration to count). Adding the same
    /// amount to every node's total changes neither the highest total nor the set of nodes
    /// tied on it, so selectHost picks the same node with the same random draws: the framework
    /// then leaves the plugin out of the totals (it still scores it for `kubesim explain`).
    fn score_uniform(&self, _cx: &CycleContext<'_>) -> bool {
        false
    }

    /// NormalizeScore: rewrite `scores` (aligned with `feasible`) into 0..=100.
    fn normalize(&self, _cx: &CycleContext<'_>, _feasible: &[usize], _scores: &mut [i64]) {}

    /// Extra per-cycle data the plugin needs built in the snapshot before PreFilter / PreScore
    /// (selector counts); called with mutable access before the cycle.
    fn prepare(&mut self, _pod: &Pod, _snapshot: &mut Snapshot, _store: &Store) {}

    /// After PreFilter: true if Filter accepts every node in this cycle (upstream's PreFilter
    /// `Skip` status, `framework/runtime/framework.go` `RunPreFilterPlugins` recording
    /// `SkipFilterPlugins`, or nothing to check), so the framework does not call Filter.
    fn filter_skipped(&self, _cx: &CycleContext<'_>) -> bool {
        false
    }

    /// True if Filter's verdict on a node depends only on that node's [`NodeInfo`] and the
    /// pod's own spec (not on other nodes or on pods elsewhere), so it can change only when
    /// that node changes: the scheduler may then keep a failed attempt's verdicts (see
    /// `fit_cache`). False unless a plugin says so.
    fn filter_node_local(&self) -> bool {
        false
    }

    /// After PreScore: true if every node scores 0 after normalization in this cycle
    /// (upstream's PreScore `Skip` status, `RunPreScorePlugins` recording
    /// `SkipScorePlugins`), so the framework does not call Score and NormalizeScore.
    fn score_skipped(&self, _cx: &CycleContext<'_>) -> bool {
        false
    }

    /// The built-in NodeResourcesFit or NodeResourcesBalancedAllocation plugin behind this
    /// trait object, if it is one: the scheduler then runs its Filter and Score in loops over
    /// [`Snapshot::resources`] (`noderesources::ResourcePlugin`). `None` for every other plugin.
    fn node_resources(&self) -> Option<super::plugins::noderesources::ResourcePlugin<'_>> {
        None
    }
}

/// Builds a plugin for a profile.
pub type PluginFactory = Box<dyn Fn(&SchedulerProfileSpec) -> Box<dyn Plugin>>;

/// The extension points a registered plugin implements, used when a profile enables it at
/// `multiPoint` (upstream discovers them by interface; a Rust trait object cannot say which
/// default methods it overrides, so the registration declares them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtensionPoints {
    /// PreFilter + Filter.
    pub filter: bool,
    /// PreScore + Score + NormalizeScore.
    pub score: bool,
}

impl ExtensionPoints {
    /// Filter only.
    pub const FILTER: ExtensionPoints = ExtensionPoints {
        filter: true,
        score: false,
    };
    /// Score only.
    pub const SCORE: ExtensionPoints = ExtensionPoints {
        filter: false,
        score: true,
    };
    /// Filter and Score.
    pub const FILTER_AND_SCORE: ExtensionPoints = ExtensionPoints {
        filter: true,
        score: true,
    };
}

/// Plugins by name: the built-in ones, and custom ones a library user registers.
pub struct Registry {
    factories: BTreeMap<String, (ExtensionPoints, PluginFactory)>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.factories.keys()).finish()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::with_builtins()
    }
}

impl Registry {
    /// The built-in plugins.
    pub fn with_builtins() -> Self {
        let mut r = Registry {
            factories: BTreeMap::new(),
        };
        super::plugins::register_builtins(&mut r);
        r
    }

    /// Register (or replace) a plugin factory under `name`, implementing Filter and Score
    /// (see [`Registry::register_plugin`] to declare fewer extension points).
    pub fn register(
        &mut self,
        name: &str,
        factory: impl Fn(&SchedulerProfileSpec) -> Box<dyn Plugin> + 'static,
    ) {
        self.register_plugin(name, ExtensionPoints::FILTER_AND_SCORE, factory);
    }

    /// Register (or replace) a plugin factory under `name` with the extension points it
    /// implements; a profile then uses it by name (in `filter`, `score` or `multiPoint`).
    pub fn register_plugin(
        &mut self,
        name: &str,
        points: ExtensionPoints,
        factory: impl Fn(&SchedulerProfileSpec) -> Box<dyn Plugin> + 'static,
    ) {
        self.factories
            .insert(name.to_string(), (points, Box::new(factory)));
    }

    /// The extension points `name` was registered with.
    pub fn points(&self, name: &str) -> Option<ExtensionPoints> {
        self.factories.get(name).map(|(p, _)| *p)
    }

    /// Registered names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.factories.keys().map(String::as_str)
    }

    /// True if a plugin of this name is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.factories.contains_key(name)
    }

    /// Instantiate `name` for `profile`.
    pub fn build(&self, name: &str, profile: &SchedulerProfileSpec) -> Option<Box<dyn Plugin>> {
        self.factories.get(name).map(|(_, f)| f(profile))
    }
}

/// One profile's plugins, instantiated.
pub struct Framework {
    /// The profile.
    pub profile: SchedulerProfileSpec,
    /// Filter plugins in order (their PreFilter runs first).
    pub filters: Vec<Box<dyn Plugin>>,
    /// Score plugins with their weights.
    pub scores: Vec<(Box<dyn Plugin>, i64)>,
}

impl fmt::Debug for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Framework")
            .field("profile", &self.profile.scheduler_name)
            .finish()
    }
}

impl Framework {
    /// Instantiate `profile`'s plugins from `registry` (custom `multiPoint` plugins go to the
    /// points their registration declares, after the built-in ones); `Err(name)` for a plugin
    /// the registry does not know.
    pub fn new(profile: &SchedulerProfileSpec, registry: &Registry) -> Result<Framework, String> {
        let mut filter_names = profile.filter.clone();
        let mut score_names = profile.score.clone();
        for p in &profile.custom_multi_point {
            let points = registry.points(&p.name).ok_or_else(|| p.name.clone())?;
            if points.filter && !filter_names.contains(&p.name) {
                filter_names.push(p.name.clone());
            }
            if points.score && !score_names.iter().any(|(n, _)| *n == p.name) {
                score_names.push((p.name.clone(), p.weight.unwrap_or(1)));
            }
        }
        let mut filters = Vec::new();
        for n in &filter_names {
            filters.push(registry.build(n, profile).ok_or_else(|| n.clone())?);
        }
        let mut scores = Vec::new();
        for (n, w) in &score_names {
            scores.push((registry.build(n, profile).ok_or_else(|| n.clone())?, *w));
        }
        Ok(Framework {
            profile: profile.clone(),
            filters,
            scores,
        })
    }
}

/// Upstream `numFeasibleNodesToFind` (`pkg/scheduler/schedule_one.go`): all nodes below 100;
/// else `percentage` of them (adaptive when 0: `max(5, 50 - n/125)` %), at least 100.
pub fn num_feasible_nodes_to_find(percentage: i32, num_all_nodes: usize) -> usize {
    const MIN_FEASIBLE_NODES_TO_FIND: i64 = 100;
    const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: i64 = 5;
    let n = num_all_nodes as i64;
    if n < MIN_FEASIBLE_NODES_TO_FIND || percentage >= 100 {
        return num_all_nodes;
    }
    let mut p = i64::from(percentage);
    if p <= 0 {
        p = (50 - n / 125).max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND);
    }
    let num = n * p / 100;
    num.max(MIN_FEASIBLE_NODES_TO_FIND) as usize
}

/// Upstream `helper.DefaultNormalizeScore`: scale to 0..=`max` by the highest score
/// (reversed if asked); all zero stays 0 (or becomes `max` when reversed).
pub fn default_normalize_score(max: i64, reverse: bool, scores: &mut [i64]) {
    let max_count = scores.iter().copied().max().unwrap_or(0).max(0);
    if max_count == 0 {
        if reverse {
            scores.iter_mut().for_each(|s| *s = max);
        }
        return;
    }
    for s in scores.iter_mut() {
        let mut v = max * *s / max_count;
        if reverse {
            v = max - v;
        }
        *s = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn num_feasible_nodes_table() {
        // (percentage, nodes, expected), from upstream's formula in schedule_one.go.
        let cases = [
            (0, 10, 10),
            (40, 10, 10),
            (0, 1000, 420),
            (40, 1000, 400),
            (0, 6000, 300),
            (40, 6000, 2400),
            (0, 5000, 500),
            (0, 100, 100),
            (1, 1000, 100),
        ];
        for (p, n, want) in cases {
            assert_eq!(num_feasible_nodes_to_find(p, n), want, "p={p} n={n}");
        }
    }

    #[test]
    fn default_normalize_table() {
        let mut s = [0, 1, 2, 4];
        default_normalize_score(100, false, &mut s);
        assert_eq!(s, [0, 25, 50, 100]);
        let mut s = [0, 1, 2, 4];
        default_normalize_score(100, true, &mut s);
        assert_eq!(s, [100, 75, 50, 0]);
        let mut s = [0, 0];
        default_normalize_score(100, true, &mut s);
        assert_eq!(s, [100, 100]);
    }

    #[test]
    fn add_pod_at_places_like_add_pod() {
        let node = |name: &str| NodeInfo {
            name: name.into(),
            labels: Default::default(),
            taints: Vec::new(),
            allocatable: Resources {
                cpu_milli: 4000,
                memory_bytes: 8000,
                pods: 110,
            },
            unschedulable: false,
            requested: Resources::default(),
            non_zero_requested: Resources::default(),
            pods: Vec::new(),
            images: Vec::new(),
        };
        let (mut a, mut b) = (Snapshot::default(), Snapshot::default());
        for s in [&mut a, &mut b] {
            s.push_node(node("a"));
            s.push_node(node("b"));
        }
        let mut pod = super::super::tests_support::pod();
        pod.requests = Resources {
            cpu_milli: 500,
            memory_bytes: 700,
            pods: 1,
        };
        a.add_pod(&pod, "b");
        b.add_pod_at(&pod, 1);
        b.add_pod_at(&pod, 0);
        b.add_pod_at(&pod, 7);
        assert_eq!(a.resources, b.resources, "placed once, on node 1");
        assert_eq!(a.columns.free_cpu, b.columns.free_cpu);
        assert_eq!(b.placed[&pod.id].node, 1);
        assert_eq!(
            (a.version, a.node_versions.clone()),
            (b.version, b.node_versions.clone())
        );
        assert_eq!(b.remove_pod(pod.id), Some(1));
        assert_eq!(b.remove_pod(pod.id), None);
        assert_eq!(
            b.resources[1],
            NodeResourceRow::new(
                &node("b").allocatable,
                &Resources::default(),
                &Resources::default()
            )
        );
    }

    #[test]
    fn image_names() {
        assert_eq!(normalized_image_name("nginx"), "nginx:latest");
        assert_eq!(normalized_image_name("nginx:1.2"), "nginx:1.2");
        assert_eq!(
            normalized_image_name("reg:5000/nginx"),
            "reg:5000/nginx:latest"
        );
    }
}
