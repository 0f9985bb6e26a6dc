//! ImageLocality (`plugins/imagelocality/image_locality.go`): prefer nodes that already hold
//! the pod's images, weighted by how widely each image is spread. kubesim has no image sizes
//! and assumes [`ASSUMED_IMAGE_SIZE`] for every image; a node holds the images of the pods
//! placed on it.

use crate::cluster::scheduler::framework::{
    ASSUMED_IMAGE_SIZE, CycleContext, ImageId, MAX_NODE_SCORE, NodeInfo, Plugin,
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
}

impl ImageLocality {
    /// Score of node `n`.
    #[inline]
    fn node_score(&self, n: &NodeInfo) -> i64 {
        let sum: i64 = self
            .images
            .iter()
            .filter(|(id, _)| id.is_some_and(|id| n.images.binary_search(&id).is_ok()))
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
            let img = normalized_image_name(&c.image);
            let id = s.image_ids.get(img.as_ref()).copied();
            let num = id.map_or(0, |id| s.image_nodes[id as usize]);
            self.uniform &= num == 0 || num as usize == s.nodes.len();
            let score = scaled_image_score(ASSUMED_IMAGE_SIZE, num, s.nodes.len());
            self.images.push((id, score));
        }
        self.containers = (t.init_containers.len() + t.containers.len()) as i64;
    }

    fn score(&self, cx: &CycleContext<'_>, node: usize) -> i64 {
        self.node_score(&cx.snapshot.nodes[node])
    }

    fn score_all(&self, cx: &CycleContext<'_>, feasible: &[usize], out: &mut Vec<i64>) {
        let nodes = &cx.snapshot.nodes;
        out.extend(feasible.iter().map(|&i| self.node_score(&nodes[i])));
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
}
