//! API objects as the model stores them: Node, Pod, ReplicaSet, Deployment.
//!
//! They carry the fields the model acts on, with upstream names. Times are [`SimTime`] (ns since
//! the start of the run); resources are in millicores and bytes ([`Resources`]).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::cluster::spec::{
    DeploymentStrategy, LabelSelector, Labels, PodTemplateSpec, Resources, Taint,
};
use crate::engine::SimTime;

/// Identity of a pod for the whole run (never reused). Ordered by creation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodId(pub u64);

/// Pod phase, as upstream `core/v1` `PodPhase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PodPhase {
    /// Accepted but not all containers are running (includes unscheduled and image pull).
    Pending,
    /// Bound to a node and every container has started.
    Running,
    /// All containers terminated successfully.
    Succeeded,
    /// All containers terminated and at least one failed.
    Failed,
    /// The node's state is not known to the control plane.
    Unknown,
}

impl PodPhase {
    /// All phases in a fixed order (used for sampling).
    pub const ALL: [PodPhase; 5] = [
        PodPhase::Pending,
        PodPhase::Running,
        PodPhase::Succeeded,
        PodPhase::Failed,
        PodPhase::Unknown,
    ];

    /// Upstream spelling of the phase.
    pub fn as_str(&self) -> &'static str {
        match self {
            PodPhase::Pending => "Pending",
            PodPhase::Running => "Running",
            PodPhase::Succeeded => "Succeeded",
            PodPhase::Failed => "Failed",
            PodPhase::Unknown => "Unknown",
        }
    }

    /// True for `Succeeded` and `Failed`.
    pub fn is_terminal(&self) -> bool {
        matches!(self, PodPhase::Succeeded | PodPhase::Failed)
    }
}

/// The kind of the object that owns a pod or ReplicaSet (`metadata.ownerReferences[0]`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OwnerRef {
    /// Owner kind, e.g. `ReplicaSet`.
    pub kind: &'static str,
    /// Owner key (`namespace/name`).
    pub key: String,
}

/// A Pod.
#[derive(Clone, Debug)]
pub struct Pod {
    /// Run-unique id.
    pub id: PodId,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.labels` (template labels plus `pod-template-hash`).
    pub labels: Labels,
    /// Controlling owner, if any.
    pub owner: Option<OwnerRef>,
    /// Name of the workload whose `Behavior` applies (the Deployment, or the ReplicaSet).
    pub workload: String,
    /// The pod spec it was created from (shared with its siblings).
    pub template: Arc<PodTemplateSpec>,
    /// Effective requests as the scheduler counts them (`pods` = 1).
    pub requests: Resources,
    /// Requests with upstream's non-zero defaults, as the scoring plugins count them.
    pub non_zero_requests: Resources,
    /// `spec.nodeName` once bound.
    pub node: Option<String>,
    /// `status.phase`.
    pub phase: PodPhase,
    /// `metadata.creationTimestamp`.
    pub created_at: SimTime,
    /// When the `PodScheduled` condition became true.
    pub scheduled_at: Option<SimTime>,
    /// When all containers started (phase became Running).
    pub started_at: Option<SimTime>,
    /// When the `Ready` condition last became true; `None` while not ready.
    pub ready_since: Option<SimTime>,
    /// `metadata.deletionTimestamp`: set when deletion was requested; the pod is Terminating.
    pub deletion_timestamp: Option<SimTime>,
    /// `status.containerStatuses[].restartCount` summed.
    pub restart_count: u32,
    /// For a pod that runs to completion (a trace pod): how long its containers run once
    /// started, after which the kubelet reports it `Succeeded`. `None` = runs until deleted.
    pub run_for: Option<crate::engine::SimDuration>,
}

impl Pod {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// True once the `Ready` condition holds.
    pub fn is_ready(&self) -> bool {
        self.ready_since.is_some()
    }

    /// True while deletion has been requested but the pod still exists.
    pub fn is_terminating(&self) -> bool {
        self.deletion_timestamp.is_some()
    }

    /// Upstream `controller.IsPodActive`: not terminal and not being deleted.
    pub fn is_active(&self) -> bool {
        !self.phase.is_terminal() && self.deletion_timestamp.is_none()
    }

    /// Upstream `podutil.IsPodAvailable`: ready for at least `min_ready_seconds` at `now`.
    pub fn is_available(&self, min_ready_seconds: i32, now: SimTime) -> bool {
        match self.ready_since {
            None => false,
            Some(since) => {
                min_ready_seconds <= 0
                    || now.saturating_since(since).as_nanos()
                        >= (min_ready_seconds as u64) * 1_000_000_000
            }
        }
    }
}

/// A Node, with the scheduler-relevant aggregate of the pods bound to it.
#[derive(Clone, Debug)]
pub struct Node {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: Labels,
    /// `spec.taints`.
    pub taints: Vec<Taint>,
    /// `status.allocatable`.
    pub allocatable: Resources,
    /// `spec.unschedulable` (cordoned).
    pub unschedulable: bool,
    /// `Ready` condition.
    pub ready: bool,
    /// Pool the node came from, if any.
    pub pool: Option<String>,
    /// Price per hour (currency units).
    pub price_per_hour: f64,
    /// When the node registered.
    pub created_at: SimTime,
    /// Sum of the requests of the non-terminal pods bound to the node (what
    /// `NodeInfo.Requested` holds upstream).
    pub requested: Resources,
    /// The same with upstream's non-zero defaults (`NodeInfo.NonZeroRequested`), for scoring.
    pub non_zero_requested: Resources,
    /// Non-terminal pods bound to the node (ascending ids, as a `BTreeSet<PodId>`).
    pub pods: crate::cluster::pod_set::PodIdSet,
    /// The node's Lease in `kube-node-lease` (the kubelet's heartbeat).
    pub lease: NodeLease,
}

/// A node's Lease (`coordination.k8s.io/v1`, namespace `kube-node-lease`), the heartbeat the
/// node lifecycle controller watches.
///
/// A healthy kubelet renews it every `nodeStatusUpdateFrequency`. Rather than one API write per
/// renewal (which nothing but the node lifecycle controller reads, and that only at its
/// monitor passes), the store keeps the renewal schedule: while `renewing`, `spec.renewTime` at
/// time `t` is the last renewal `anchor + k * frequency <= t`. When the kubelet stops
/// (crash, partition, kubelet stopped) renewals stop and `anchor` freezes at the last renewal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeLease {
    /// True while the kubelet renews the lease.
    pub renewing: bool,
    /// The first renewal of the current schedule, or the last renewal once stopped.
    pub anchor: SimTime,
}

impl NodeLease {
    /// `spec.renewTime` as the store holds it at `now`.
    pub fn renew_time(&self, now: SimTime, frequency: crate::engine::SimDuration) -> SimTime {
        if !self.renewing || now <= self.anchor || frequency.as_nanos() == 0 {
            return self.anchor;
        }
        let since = now.saturating_since(self.anchor).as_nanos();
        let f = frequency.as_nanos();
        SimTime(self.anchor.as_nanos() + since / f * f)
    }

    /// Renewals stop at `now`: the lease keeps its last renewal.
    pub fn stop(&mut self, now: SimTime, frequency: crate::engine::SimDuration) {
        self.anchor = self.renew_time(now, frequency);
        self.renewing = false;
    }
}

/// Status of a ReplicaSet, as upstream `ReplicaSetStatus`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplicaSetStatus {
    /// Active (non-terminating, non-terminal) pods.
    pub replicas: i32,
    /// Of which Ready.
    pub ready_replicas: i32,
    /// Of which available (ready for `minReadySeconds`).
    pub available_replicas: i32,
}

/// A ReplicaSet.
#[derive(Clone, Debug)]
pub struct ReplicaSet {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// Owning Deployment, if any.
    pub owner: Option<OwnerRef>,
    /// Workload name for `Behavior` lookup.
    pub workload: String,
    /// `spec.replicas`.
    pub replicas: i32,
    /// `spec.selector`.
    pub selector: LabelSelector,
    /// `spec.template` (labels include `pod-template-hash` when owned by a Deployment).
    pub template: Arc<PodTemplateSpec>,
    /// `pod-template-hash` label value ("" for stand-alone ReplicaSets).
    pub template_hash: String,
    /// `spec.minReadySeconds`.
    pub min_ready_seconds: i32,
    /// `metadata.annotations["deployment.kubernetes.io/revision"]`.
    pub revision: u64,
    /// `metadata.creationTimestamp`.
    pub created_at: SimTime,
    /// `status`.
    pub status: ReplicaSetStatus,
    /// `deployment.kubernetes.io/desired-replicas` annotation: the owning Deployment's
    /// `spec.replicas` when the controller last sized this ReplicaSet.
    pub desired_replicas: Option<i32>,
    /// `deployment.kubernetes.io/max-replicas` annotation: replicas + maxSurge at that time.
    pub max_replicas: Option<i32>,
}

impl ReplicaSet {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// Status of a Deployment, as upstream `DeploymentStatus`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeploymentStatus {
    /// Active pods of all its ReplicaSets.
    pub replicas: i32,
    /// Active pods of the current ReplicaSet.
    pub updated_replicas: i32,
    /// Ready pods.
    pub ready_replicas: i32,
    /// Available pods.
    pub available_replicas: i32,
}

/// A Deployment.
#[derive(Clone, Debug)]
pub struct Deployment {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `spec.replicas`.
    pub replicas: i32,
    /// `spec.selector`.
    pub selector: LabelSelector,
    /// `spec.template`.
    pub template: Arc<PodTemplateSpec>,
    /// `spec.strategy`.
    pub strategy: DeploymentStrategy,
    /// `spec.minReadySeconds`.
    pub min_ready_seconds: i32,
    /// `spec.revisionHistoryLimit`.
    pub revision_history_limit: i32,
    /// `status`.
    pub status: DeploymentStatus,
    /// `spec.progressDeadlineSeconds`.
    pub progress_deadline_seconds: i32,
    /// `spec.paused`.
    pub paused: bool,
}

impl Deployment {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// Kinds of objects the API server stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    /// `v1` Node.
    Node,
    /// `v1` Pod.
    Pod,
    /// `apps/v1` ReplicaSet.
    ReplicaSet,
    /// `apps/v1` Deployment.
    Deployment,
    /// `policy/v1` PodDisruptionBudget.
    PodDisruptionBudget,
    /// `v1` Service (only changes made by the Rollout controller are committed).
    Service,
    /// `apps/v1` StatefulSet.
    StatefulSet,
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::Node => "Node",
            ObjectKind::Pod => "Pod",
            ObjectKind::ReplicaSet => "ReplicaSet",
            ObjectKind::Deployment => "Deployment",
            ObjectKind::PodDisruptionBudget => "PodDisruptionBudget",
            ObjectKind::Service => "Service",
            ObjectKind::StatefulSet => "StatefulSet",
        })
    }
}

/// Labels map helper: a copy of `labels` with one more pair.
pub fn with_label(labels: &Labels, key: &str, value: &str) -> Labels {
    let mut l: BTreeMap<String, String> = labels.clone();
    l.insert(key.to_string(), value.to_string());
    l
}

#[cfg(test)]
mod lease_tests {
    use super::*;
    use crate::engine::SimDuration;

    #[test]
    fn renew_time_follows_the_schedule_and_freezes_when_stopped() {
        let f = SimDuration::from_secs(10);
        let t = |s: u64| SimTime(s * 1_000_000_000);
        let mut l = NodeLease {
            renewing: true,
            anchor: t(3),
        };
        // (now, expected renewTime)
        for (now, want) in [(0, 3), (3, 3), (12, 3), (13, 13), (29, 23), (33, 33)] {
            assert_eq!(l.renew_time(t(now), f), t(want), "now {now}");
        }
        l.stop(t(47), f);
        assert!(!l.renewing);
        assert_eq!(l.renew_time(t(500), f), t(43));
    }
}
