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
