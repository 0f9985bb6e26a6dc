//! "Would this pod fit there?" for the cluster autoscaler, answered by the scheduler's own
//! filter plugins (PreFilter + Filter of the pod's profile) on a [`Snapshot`] that may hold
//! hypothetical nodes — upstream's `cluster-autoscaler/simulator` runs the scheduler framework
//! on a cluster snapshot the same way (`SchedulerBasedPredicateChecker`).
//!
//! A template node of a pool ([`template_node`]) is what `expand_pool` would create, with a
//! name no real node has; adding one ([`add_node`]) clears the snapshot's selector caches so
//! plugins that count pods per topology domain see it.

use std::collections::BTreeMap;

use crate::cluster::objects::Pod;
use crate::cluster::scheduler::framework::{
    CycleContext, Framework, NodeInfo, Reason, Registry, Snapshot,
};
use crate::cluster::spec::{NodePoolSpec, SchedulerConfigSpec, Taint, TaintEffect};
use crate::cluster::state::Store;

/// The taint upstream's cluster autoscaler puts on a node it is deleting.
pub const TO_BE_DELETED_TAINT: &str = "ToBeDeletedByClusterAutoscaler";

/// The filter plugins of each scheduler profile.
pub struct FitChecker {
    profiles: BTreeMap<String, Framework>,
    reasons: Vec<Reason>,
}

impl std::fmt::Debug for FitChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FitChecker")
            .field("profiles", &self.profiles.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl FitChecker {
    /// Instantiate the profiles of `config` with the built-in plugins (a custom plugin the
    /// registry does not know is skipped: its profile then has no such filter).
    pub fn new(config: &SchedulerConfigSpec) -> Self {
        let registry = Registry::with_builtins();
        let mut profiles = BTreeMap::new();
        for (name, p) in &config.profiles {
            let mut p = p.clone();
            p.filter.retain(|f| registry.contains(f));
            p.score.retain(|(s, _)| registry.contains(s));
            if let Ok(fw) = Framework::new(&p, &registry) {
                profiles.insert(name.clone(), fw);
            }
        }
        FitChecker {
            profiles,
            reasons: Vec::new(),
        }
    }

    /// The first node of `candidates` (indices into `snap.nodes`, in order) on which `pod`
    /// passes PreFilter and every Filter of its profile, or `None`.
    pub fn first_fit(
        &mut self,
        pod: &Pod,
        snap: &mut Snapshot,
        store: &Store,
        candidates: &[usize],
    ) -> Option<usize> {
        let fw = self.profiles.get_mut(&pod.template.scheduler_name)?;
        for p in fw.filters.iter_mut() {
            p.prepare(pod, snap, store);
        }
        let cx = CycleContext {
            pod,
            snapshot: snap,
            pods: &store.pods,
        };
        for p in fw.filters.iter_mut() {
            if p.pre_filter(&cx).is_err() {
                return None;
            }
        }
        candidates.iter().copied().find(|&i| {
            self.reasons.clear();
            fw.filters
                .iter()
                .all(|p| p.filter(&cx, i, &mut self.reasons))
        })
    }
}

/// A node of `pool` as it would register, named `name`.
pub fn template_node(pool: &NodePoolSpec, name: &str, zone_index: usize) -> NodeInfo {
    let mut labels = pool.labels.clone();
    labels.insert("kubernetes.io/hostname".into(), name.to_string());
    labels.insert("kubesim.dev/pool".into(), pool.name.clone());
    if !pool.zones.is_empty() {
        labels.insert(
            "topology.kubernetes.io/zone".into(),
            pool.zones[zone_index % pool.zones.len()].clone(),
        );
    }
    NodeInfo {
        name: name.to_string(),
        labels,
        taints: pool.taints.clone(),
        allocatable: pool.capacity,
        unschedulable: false,
        requested: Default::default(),
        non_zero_requested: Default::default(),
        pods: Vec::new(),
        images: Vec::new(),
    }
}

/// Add a node to the snapshot; returns its index. Clears the selector caches (rebuilt on use).
pub fn add_node(snap: &mut Snapshot, node: NodeInfo) -> usize {
    let i = snap.push_node(node);
    snap.selectors.clear();
    i
}

/// The `ToBeDeletedByClusterAutoscaler:NoSchedule` taint.
pub fn to_be_deleted_taint() -> Taint {
    Taint {
        key: TO_BE_DELETED_TAINT.into(),
        value: String::new(),
        effect: TaintEffect::NoSchedule,
    }
}
