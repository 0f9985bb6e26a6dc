//! ImageLocality (`plugins/imagelocality/image_locality.go`): prefer nodes that already hold
//! the pod's images, weighted by how widely each image is spread. kubesim has no image sizes
//! and assumes [`ASSUMED_IMAGE_SIZE`] for every image; a node holds the images of the pods
//! placed on it.

use crate::cluster::scheduler::framework::{
    ASSUMED_IMAGE_SIZE, CycleContext, ImageId, MAX_NODE_SCORE, Plugin, Snapshot,
    normalized_image_name,
};

const MB: i64 = 1024 * 1024;
/// Upstream `minThreshold` (23 MB).
const MIN_THRESHOLD: i64 = 23 * MB;
/// Upstream `maxContainerThreshold` (1000 MB per container).
const MAX_CONTAINER_THRESHOLD: i64 = 1000 * MB;

/// Upstream `calculatePriority`: clamp the summed image score to
/// [23 MB, 1000 MB x containers] and scale it to 0..=100 (integer division).
pub fn calculate_priority(sum_scores: i64, num_containers: i64) -> i64 {
    let max_threshold = MAX_CONTAINER_THRESHOLD * num_containers;
    let s = sum_scores.clamp(MIN_THRESHOLD, max_threshold.max(MIN_THRESHOLD));
    if max_threshold <= MIN_THRESHOLD {
        return 0;
    }
    MAX_NODE_SCORE * (s - MIN_THRESHOLD) / (max_threshold - MIN_THRESHOLD)
}

/// Upstream `scaledImageScore`: `int64(size * numNodes / totalNodes)` (float, truncated).
pub fn scaled_image_score(size: i64, num_nodes: u32, total_nodes: usize) -> i64 {
    let spread = f64::from(num_nodes) / total_nodes as f64;
    (size as f64 * spread) as i64
}

/// The ImageLocality plugin. PreScore computes each of the pod's images' scaled score once
/// (interned image id, node count); Score then only checks which image ids the node holds.
#[derive(Debug, Default)]
pub struct ImageLocality {
    /// (image id, `scaledImageScore`) for the pod's containers, in order; `None` for an image
    /// no node holds (it adds nothing on any node).
    images: Vec<(Option<ImageId>, i64)>,
    /// Containers of the pod (init containers included).
    containers: i64,
    /// True if every node holds either all or none of each of the pod's images.
    uniform: bool,
    /// The ids of the entries of `images` that some node holds (at most
    /// [`MAX_TABLE_IMAGES`], else empty and `table` unused).
    held: Vec<ImageId>,
    /// Score of a node by which of `held` it holds: entry `m` is for the node holding exactly
    /// the images of bitmask `m` (bit `k` = `held[k]`), `calculate_priority` of their sum,
    /// computed once per cycle instead of once per node.
    table: Vec<i64>,
}

/// Most images a pod may have for [`ImageLocality`] to tabulate its scores (2^6 entries).
const MAX_TABLE_IMAGES: usize = 6;

impl ImageLocality {
    /// Score of node `i` of `s`.
    #[inline]
    fn node_score(&self, s: &Snapshot, i: usize) -> i64 {
        if !self.table.is_empty() {
            let mut m = 0;
            for (k, &id) in self.held.iter().enumerate() {
                m |= usize::from(s.node_has_image(id, i)) << k;
            }
            return self.table[m];
        }
        let sum: i64 = self
            .images
            .iter()
            .filter(|(id, _)| id.is_some_and(|id| s.node_has_image(id, i)))
            .map(|(_, score)| score)
            .sum();
        calculate_priority(sum, self.containers)
    }
}

impl Plugin for ImageLocality {
    fn name(&self) -> &str {
        "ImageLocality"
    }

    fn pre_score(&mut self, cx: &CycleContext<'_>, _feasible: &[usize]) {
        let s = cx.snapshot;
        let t = &cx.pod.template;
        self.images.clear();
        self.uniform = true;
        for c in t.init_containers.iter().chain(&t.containers) {
            // The id of the image as the container spells it, when a placed pod's container
            // spelled it so (no normalized name to build); else by its normalized name.
            let id = match s.raw_image_ids.get(c.image.as_str()) {
                Some(&id) => Some(id),
                None => s
                    .image_ids
                    .get(normalized_image_name(&c.image).as_ref())
                    .copied(),
            };
            let num = id.map_or(0, |id| s.image_nodes[id as usize]);
            self.uniform &= num == 0 || num as usize == s.nodes.len();
            let score = scaled_image_score(ASSUMED_IMAGE_SIZE, num, s.nodes.len());
            self.images.push((id, score));
        }
        self.containers = (t.init_containers.len() + t.containers.len()) as i64;
        self.held.clear();
        self.table.clear();
        let present = || {
            self.images
                .iter()
                .filter_map(|&(id, sc)| id.map(|id| (id, sc)))
        };
        if present().count() <= MAX_TABLE_IMAGES {
            self.held.extend(present().map(|(id, _)| id));
            let mut scores = [0i64; MAX_TABLE_IMAGES];
            let mut n = 0;
            for (_, sc) in present() {
                scores[n] = sc;
                n += 1;
            }
            for m in 0..1usize << n {
                let sum: i64 = (0..n)
                    .filter(|k| m & (1 << k) != 0)
                    .map(|k| scores[k])
                    .sum();
                self.table.push(calculate_priority(sum, self.containers));
            }
        }
    }

    fn score(&self, cx: &CycleContext<'_>, node: usize) -> i64 {
        self.node_score(cx.snapshot, node)
    }

    fn score_all(&self, cx: &CycleContext<'_>, feasible: &[usize], out: &mut Vec<i64>) {
        let s = cx.snapshot;
        if let ([id], [none, held]) = (&self.held[..], &self.table[..]) {
            // One image (the common pod): its holder bits pick one of two scores.
            let bits = &s.image_holders[*id as usize];
            out.extend(feasible.iter().map(|&i| {
                if bits.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0) {
                    *held
                } else {
                    *none
                }
            }));
            return;
        }
        out.extend(feasible.iter().map(|&i| self.node_score(s, i)));
    }

    /// Every image of the pod is on all nodes or on none: every node scores the same.
    fn score_uniform(&self, _cx: &CycleContext<'_>) -> bool {
        self.uniform
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_table() {
        // Worked from upstream's formula: a 40 MB image on 1 of 2 nodes -> 20 MB, below the
        // 23 MB threshold -> 0; a 300 MB image on 1 of 2 nodes -> 150 MB:
        // 100 * (150 - 23) / (1000 - 23) = 12 (integer).
        assert_eq!(calculate_priority(scaled_image_score(40 * MB, 1, 2), 1), 0);
        assert_eq!(
            calculate_priority(scaled_image_score(300 * MB, 1, 2), 1),
            12
        );
        // 2000 MB on every node with one container: clamped to 1000 MB -> 100.
        assert_eq!(
            calculate_priority(scaled_image_score(2000 * MB, 2, 2), 1),
            100
        );
    }

    #[test]
    fn image_holders_follow_placed_pods() {
        use crate::cluster::scheduler::framework::NodeInfo;
        use crate::cluster::spec::{ContainerSpec, Resources};
        use std::sync::Arc;
        let mut s = Snapshot::default();
        // 70 nodes: the bitset spans two words.
        for k in 0..70 {
            s.push_node(NodeInfo {
                name: format!("n{k:02}"),
                labels: Default::default(),
                taints: Vec::new(),
                allocatable: Resources::default(),
                unschedulable: false,
                requested: Resources::default(),
                non_zero_requested: Resources::default(),
                pods: Default::default(),
                images: Vec::new(),
            });
        }
        let mut pod = crate::cluster::scheduler::tests_support::pod();
        let mut t = (*pod.template).clone();
        t.containers = vec![ContainerSpec {
            name: "w".into(),
            image: "web".into(),
            requests: Resources::default(),
            limits: Resources::default(),
            probes: Default::default(),
        }];
        pod.template = Arc::new(t);
        let on = [
            "n03", "n10", "n11", "n12", "n13", "n14", "n15", "n16", "n65", "n69",
        ];
        for (k, node) in on.iter().enumerate() {
            pod.id = crate::cluster::objects::PodId(k as u64);
            s.add_pod(&pod, node);
        }
        let id = s.image_ids["web:latest"];
        let holders: Vec<usize> = (0..70).filter(|&i| s.node_has_image(id, i)).collect();
        assert_eq!(holders, vec![3, 10, 11, 12, 13, 14, 15, 16, 65, 69]);
        for (i, n) in s.nodes.iter().enumerate() {
            assert_eq!(n.images.contains(&id), s.node_has_image(id, i));
        }
        // Score: 250 MB x 10/70 = 35.7 MB on a holder -> 100 * (35.7 - 23) / 977 = 1; 0 on
        // other nodes.
        let mut pl = ImageLocality::default();
        let pods = std::collections::BTreeMap::new();
        let cx = CycleContext {
            pod: &pod,
            snapshot: &s,
            pods: &pods,
        };
        pl.pre_score(&cx, &[]);
        assert!(!pl.score_uniform(&cx));
        let mut out = Vec::new();
        pl.score_all(&cx, &[3, 4, 69], &mut out);
        assert_eq!(out, vec![1, 0, 1]);
        assert_eq!(pl.score(&cx, 65), 1);
        // Without the per-cycle table (more than MAX_TABLE_IMAGES images): the same scores.
        pl.table.clear();
        let mut direct = Vec::new();
        pl.score_all(&cx, &[3, 4, 69], &mut direct);
        assert_eq!(direct, out);
    }
}
