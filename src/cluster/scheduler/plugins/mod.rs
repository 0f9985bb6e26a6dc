//! The built-in plugins, with upstream's names and arithmetic
//! (`pkg/scheduler/framework/plugins/*`, v1.32).

pub mod imagelocality;
pub mod interpodaffinity;
pub mod node_basic;
pub mod nodeaffinity;
pub mod noderesources;
pub mod noderesources_batch;
pub mod podtopologyspread;
pub mod tainttoleration;

use super::framework::Registry;

/// Register every built-in plugin in `r`.
pub fn register_builtins(r: &mut Registry) {
    r.register("NodeName", |_| Box::new(node_basic::NodeName));
    r.register("NodeUnschedulable", |_| {
        Box::new(node_basic::NodeUnschedulable)
    });
    r.register("TaintToleration", |_| {
        Box::new(tainttoleration::TaintToleration)
    });
    r.register("NodeAffinity", |_| Box::new(nodeaffinity::NodeAffinity));
    r.register("NodeResourcesFit", |p| {
        Box::new(noderesources::Fit::new(
            p.fit_strategy.clone(),
            &p.fit_resources,
        ))
    });
    r.register("NodeResourcesBalancedAllocation", |p| {
        Box::new(noderesources::BalancedAllocation::new(
            &p.balanced_resources,
        ))
    });
    r.register("ImageLocality", |_| {
        Box::new(imagelocality::ImageLocality::default())
    });
    r.register("PodTopologySpread", |p| {
        Box::new(podtopologyspread::PodTopologySpread::new(
            p.default_spread_constraints.clone(),
        ))
    });
    r.register("InterPodAffinity", |_| {
        Box::new(interpodaffinity::InterPodAffinity::default())
    });
}
