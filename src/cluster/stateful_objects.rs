//! API objects of the stateful workloads as the store holds them: the StatefulSet (with its
//! two revisions) and the PersistentVolumeClaims its replicas own.

use std::sync::Arc;

use crate::cluster::spec::{LabelSelector, PodTemplateSpec};
use crate::cluster::stateful_spec::{PodManagementPolicy, StatefulSetUpdateStrategy};
use crate::engine::SimTime;

/// Status of a StatefulSet, as upstream `StatefulSetStatus`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatefulSetStatus {
    /// Pods created by the controller and not terminal or being deleted.
    pub replicas: i32,
    /// Of which Ready.
    pub ready_replicas: i32,
    /// Of which Ready for `minReadySeconds`.
    pub available_replicas: i32,
    /// Of which at the current revision.
    pub current_replicas: i32,
    /// Of which at the update revision.
    pub updated_replicas: i32,
}

/// An `apps/v1` StatefulSet. Its pod template history is kept as upstream's
/// ControllerRevisions would: the current revision (what pods below the partition run) and the
/// update revision (the template as last written).
#[derive(Clone, Debug)]
pub struct StatefulSet {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `spec.replicas`.
    pub replicas: i32,
    /// `spec.selector`.
    pub selector: LabelSelector,
    /// `spec.template`: the update revision's template.
    pub template: Arc<PodTemplateSpec>,
    /// `spec.podManagementPolicy`.
    pub pod_management_policy: PodManagementPolicy,
    /// `spec.updateStrategy`.
    pub update_strategy: StatefulSetUpdateStrategy,
    /// `spec.minReadySeconds`.
    pub min_ready_seconds: i32,
    /// `spec.volumeClaimTemplates[].metadata.name`.
    pub volume_claim_templates: Vec<String>,
    /// `status.updateRevision`: `<name>-<hash of template>`.
    pub update_revision: String,
    /// `status.currentRevision`.
    pub current_revision: String,
    /// The current revision's template.
    pub current_template: Arc<PodTemplateSpec>,
    /// `metadata.creationTimestamp`.
    pub created_at: SimTime,
    /// `status`.
    pub status: StatefulSetStatus,
}

impl StatefulSet {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// A PersistentVolumeClaim of a StatefulSet replica, bound (with `WaitForFirstConsumer`
/// volume binding) when its first pod was scheduled: the provisioned volume lives in that
/// node's zone, and its `nodeAffinity` keeps every later pod of the replica there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeClaim {
    /// Node the first consumer was scheduled on.
    pub node: String,
    /// That node's `topology.kubernetes.io/zone`, if it has one.
    pub zone: Option<String>,
    /// When the claim was bound.
    pub bound_at: SimTime,
}
