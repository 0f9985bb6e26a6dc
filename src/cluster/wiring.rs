//! Which component has which id, and who watches what. Components are added to the simulation
//! in the order of [`Wiring::ORDER`], so their ids are known before any is built.

use crate::cluster::events::Change;
use crate::cluster::objects::ObjectKind;
use crate::engine::ComponentId;

/// Component ids of a cluster run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wiring {
    /// The API server.
    pub api: ComponentId,
    /// The scheduler.
    pub scheduler: ComponentId,
    /// The ReplicaSet controller.
    pub replicaset: ComponentId,
    /// The Deployment controller.
    pub deployment: ComponentId,
    /// The kubelets of all nodes.
    pub kubelet: ComponentId,
    /// The pod garbage collector and node provisioner.
    pub nodes: ComponentId,
    /// The timeline.
    pub timeline: ComponentId,
    /// The metrics sampler.
    pub sampler: ComponentId,
    /// The node lifecycle controller (heartbeats, `Ready=Unknown`, NoExecute taints).
    pub node_lifecycle: ComponentId,
    /// The taint eviction controller.
    pub taint_eviction: ComponentId,
    /// The `kubectl drain` client.
    pub drain: ComponentId,
    /// The request-traffic model (Services, endpoints, pods as servers, clients).
    pub traffic: ComponentId,
    /// The Job controller.
    pub job: ComponentId,
    /// The Argo Rollouts controller.
    pub argo: ComponentId,
    /// The workload-trace replayer (`cluster::trace`).
    pub trace: ComponentId,
    /// The HorizontalPodAutoscaler controller.
    pub hpa: ComponentId,
    /// The KEDA operator (ScaledObjects).
    pub keda: ComponentId,
    /// The cluster autoscaler.
    pub cluster_autoscaler: ComponentId,
    /// The StatefulSet controller.
    pub statefulset: ComponentId,
    /// The CronJob controller.
    pub cronjob: ComponentId,
    /// The leader elections of workloads (their candidates' client-go elector loops).
    pub leader_election: ComponentId,
}

impl Wiring {
    /// Component names in the order they are added (ids 0, 1, 2, ...). The names also seed the
    /// components' random streams, so they are part of the determinism contract.
    pub const ORDER: [&'static str; 21] = [
        "apiserver",
        "scheduler",
        "replicaset-controller",
        "deployment-controller",
        "kubelet",
        "node-controller",
        "timeline",
        "sampler",
        "node-lifecycle-controller",
        "taint-eviction-controller",
        "drain",
        "traffic",
        "job-controller",
        "argo-rollouts-controller",
        "trace",
        "horizontal-pod-autoscaler",
        "keda-operator",
        "cluster-autoscaler",
        "statefulset-controller",
        "cronjob-controller",
        "leader-election",
    ];

    /// The fixed wiring.
    pub const fn new() -> Self {
        Wiring {
            api: ComponentId(0),
            scheduler: ComponentId(1),
            replicaset: ComponentId(2),
            deployment: ComponentId(3),
            kubelet: ComponentId(4),
            nodes: ComponentId(5),
            timeline: ComponentId(6),
            sampler: ComponentId(7),
            node_lifecycle: ComponentId(8),
            taint_eviction: ComponentId(9),
            drain: ComponentId(10),
            traffic: ComponentId(11),
            job: ComponentId(12),
            argo: ComponentId(13),
            trace: ComponentId(14),
            hpa: ComponentId(15),
            keda: ComponentId(16),
            cluster_autoscaler: ComponentId(17),
            statefulset: ComponentId(18),
            cronjob: ComponentId(19),
            leader_election: ComponentId(20),
        }
    }

    /// True if the StatefulSet controller watches this change: its informer sees only pods
    /// owned by a StatefulSet (`owner_is_statefulset`), so other runs' event streams are
    /// unchanged by it.
    pub fn statefulset_watches(kind: ObjectKind, owner_is_statefulset: bool) -> bool {
        kind == ObjectKind::Pod && owner_is_statefulset
    }

    /// True if a pod change reaches `target`'s pod handlers (`owned`: the pod has a
    /// controlling owner). Upstream's Deployment controller registers only a DeleteFunc on
    /// its pod informer (Recreate waits for old pods to be gone;
    /// pkg/controller/deployment/deployment_controller.go), and the ReplicaSet and Job
    /// controllers resolve a pod's controllerRef first (replica_set.go / job_controller.go
    /// `addPod` / `updatePod` / `deletePod`; kubesim does not model orphan adoption), so those
    /// deliveries would be handled as no-ops. Not scheduling them changes no state, draw or
    /// output other than `events_processed` and `trace_hash`: a trace pod (no owner) makes
    /// 7 writes, each once 21 deliveries fewer than 49.
    pub fn pod_watch_reaches(&self, target: ComponentId, change: Change, owned: bool) -> bool {
        if target == self.deployment {
            owned && change == Change::Deleted
        } else if target == self.replicaset || target == self.job {
            owned
        } else {
            true
        }
    }

    /// True if a pod change reaches `target`, by what the write changed: `bound` (the pod is
    /// bound to a node after the write), `status_only` (the write changed only the pod's
    /// status: phase, `Ready`, restart count) and `services` (the run has Services). A
    /// delivery this returns `false` for would be handled as a no-op, so not scheduling it
    /// changes nothing but `events_processed` and `trace_hash`:
    /// - the kubelet watches only the pods bound to its node (pkg/kubelet/config/apiserver.go
    ///   `NewSourceApiserver`: field selector `spec.nodeName`), and a change of status only is
    ///   no update for it (pkg/kubelet/config/config.go `checkAndUpdatePod`: the status is
    ///   copied, nothing is synced); the kubelet wrote that status itself, or, for a node
    ///   lifecycle `MarkPodsNotReady`, the kubelet is cut off;
    /// - the taint eviction controller's `PodUpdated` returns at once when neither the pod's
    ///   node name nor its tolerations changed, and its `handlePodUpdate` when the pod has no
    ///   node (pkg/controller/tainteviction/taint_eviction.go);
    /// - the traffic model's endpoints are those of Services (the EndpointSlice controller
    ///   maps a pod to the Services selecting it and queues nothing without one:
    ///   pkg/controller/endpointslice/endpointslice_controller.go `onPodUpdate`).
    ///
    /// Deletions always reach these watchers.
    pub fn pod_change_reaches(
        &self,
        target: ComponentId,
        change: Change,
        bound: bool,
        status_only: bool,
        services: bool,
    ) -> bool {
        if target == self.traffic {
            services
        } else if change == Change::Deleted {
            true
        } else if target == self.kubelet || target == self.taint_eviction {
            bound && !status_only
        } else {
            true
        }
    }

    /// The components that watch objects of `kind`, in delivery order.
    pub fn watchers(&self, kind: ObjectKind) -> &'static [ComponentId] {
        const W: Wiring = Wiring::new();
        match kind {
            ObjectKind::Pod => &[
                W.scheduler,
                W.replicaset,
                W.kubelet,
                W.deployment,
                W.taint_eviction,
                W.traffic,
                W.job,
            ],
            ObjectKind::Node => &[W.scheduler, W.kubelet, W.nodes, W.taint_eviction],
            ObjectKind::ReplicaSet => &[W.replicaset, W.deployment, W.argo],
            ObjectKind::Deployment => &[W.deployment],
            // The Eviction API reads PDBs at commit; nothing else watches them.
            ObjectKind::PodDisruptionBudget => &[],
            ObjectKind::Service => &[W.traffic],
            ObjectKind::StatefulSet => &[W.statefulset],
        }
    }
}

impl Default for Wiring {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pod_change_reaches`, by watcher, change and what the write changed.
    #[test]
    fn pod_change_reaches_table() {
        let w = Wiring::new();
        // (target, change, bound, status_only, services, reaches)
        let rows = [
            // The kubelet: only bound pods, and not a change of status only.
            (w.kubelet, Change::Added, false, false, false, false),
            (w.kubelet, Change::Modified, true, false, false, true),
            (w.kubelet, Change::Modified, true, true, false, false),
            (w.kubelet, Change::Modified, false, false, true, false),
            (w.kubelet, Change::Deleted, false, false, false, true),
            (w.kubelet, Change::Deleted, true, true, false, true),
            // The taint eviction controller: the same.
            (w.taint_eviction, Change::Added, false, false, true, false),
            (w.taint_eviction, Change::Modified, true, false, false, true),
            (w.taint_eviction, Change::Modified, true, true, true, false),
            (w.taint_eviction, Change::Deleted, true, false, false, true),
            // The traffic model: every change, when the run has Services.
            (w.traffic, Change::Added, false, false, true, true),
            (w.traffic, Change::Modified, true, true, true, true),
            (w.traffic, Change::Modified, true, true, false, false),
            (w.traffic, Change::Deleted, true, false, false, false),
            // Others: unfiltered here.
            (w.scheduler, Change::Added, false, false, false, true),
            (w.scheduler, Change::Modified, true, true, false, true),
            (w.replicaset, Change::Modified, true, true, false, true),
            (w.job, Change::Modified, true, true, false, true),
        ];
        for (target, change, bound, status_only, services, want) in rows {
            assert_eq!(
                w.pod_change_reaches(target, change, bound, status_only, services),
                want,
                "target {target:?} {change:?} bound {bound} status_only {status_only} services {services}"
            );
        }
    }
}
