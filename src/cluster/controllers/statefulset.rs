//! The StatefulSet controller (upstream `pkg/controller/statefulset/stateful_set_control.go`
//! `updateStatefulSet`, and `stateful_set_utils.go`).
//!
//! Each replica has a stable identity: ordinal `i` in `0..replicas`, pod name `<set>-<i>`
//! (`getPodName`), labels `statefulset.kubernetes.io/pod-name` and
//! `apps.kubernetes.io/pod-index`, and one PersistentVolumeClaim per volume claim template,
//! `<template>-<set>-<i>` (`getPersistentVolumeClaimName`). One pass of `reconcile`:
//!
//! 1. Replicas (ordinals below `spec.replicas`), lowest first: a Failed or Succeeded pod is
//!    deleted and created again with the same name; a missing pod is created (from the
//!    current revision below the partition, else the update revision:
//!    `newVersionedStatefulSetPod`). With `OrderedReady` ("monotonic") the pass stops after a
//!    creation, at a terminating pod, and at a pod that is not Running and Available
//!    (Ready for `minReadySeconds`).
//! 2. Condemned pods (ordinals at or above `spec.replicas`), highest first: with
//!    `OrderedReady` one at a time, and only while every other pod is healthy; with
//!    `Parallel` all at once.
//! 3. `RollingUpdate`: from the highest ordinal down to the partition, the first pod not at
//!    the update revision is deleted (it comes back at the new revision on a later pass);
//!    the update waits while any of those pods is not healthy.
//!
//! Zone-bound volumes: when a replica's pod is first bound to a node, its claims are bound to
//! volumes provisioned in that node's zone (`WaitForFirstConsumer`); every later pod of the
//! replica gets a required node affinity on `topology.kubernetes.io/zone` for that zone, as a
//! zonal PersistentVolume's `nodeAffinity` constrains it through the scheduler's
//! VolumeBinding filter. So after a zone outage the replica stays Pending until its zone is
//! back: the localized-storage problem.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::cluster::apiserver;
use crate::cluster::controllers::deployment::compute_hash;
use crate::cluster::controllers::nodelifecycle::ZONE_LABEL;
use crate::cluster::controllers::workqueue::WorkQueue;
use crate::cluster::events::{ApiWrite, Change, ControllerTimer, Event, ObjectRef, WatchEvent};
use crate::cluster::objects::{ObjectKind, OwnerRef, Pod, PodId, PodPhase};
use crate::cluster::scheduling_spec::{
    NodeSelectorOperator, NodeSelectorRequirement, NodeSelectorTerm,
};
use crate::cluster::spec::PodTemplateSpec;
use crate::cluster::state::ClusterState;
use crate::cluster::stateful_objects::{StatefulSet, StatefulSetStatus, VolumeClaim};
use crate::cluster::stateful_spec::{PodManagementPolicy, StatefulSetUpdateStrategy};
use crate::engine::{Component, Context, SimDuration, SimTime};

/// Pod label naming the revision a pod was created from (upstream
/// `apps.ControllerRevisionHashLabelKey`).
pub const REVISION_LABEL: &str = "controller-revision-hash";
/// Pod label holding the pod's name (upstream `apps.StatefulSetPodNameLabel`).
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
/// Pod label holding the ordinal (upstream `apps.PodIndexLabel`).
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

/// The revision name of `template` for the set `name`: `<name>-<hash>`, as upstream names
/// ControllerRevisions.
pub fn revision_name(name: &str, template: &PodTemplateSpec) -> String {
    format!("{name}-{}", compute_hash(template))
}

/// The pod name of ordinal `ordinal` (upstream `getPodName`).
pub fn pod_name(set: &str, ordinal: i32) -> String {
    format!("{set}-{ordinal}")
}

/// The ordinal of a pod of `set` from its name (upstream `getParentNameAndOrdinal`), or
/// `None` if the name is not `<set>-<int>`.
pub fn ordinal_of(set: &str, pod: &str) -> Option<i32> {
    let rest = pod.strip_prefix(set)?.strip_prefix('-')?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

/// The claim name of ordinal `ordinal` for the claim template `template` (upstream
/// `getPersistentVolumeClaimName`).
pub fn claim_name(template: &str, set: &str, ordinal: i32) -> String {
    format!("{template}-{set}-{ordinal}")
}

/// The template ordinal `ordinal` is created from (upstream `newVersionedStatefulSetPod`):
/// under a RollingUpdate, ordinals below the partition keep the current revision.
pub fn uses_current_revision(set: &StatefulSet, ordinal: i32) -> bool {
    match set.update_strategy {
        StatefulSetUpdateStrategy::RollingUpdate { partition } => {
            set.current_revision != set.update_revision && ordinal < partition
        }
        StatefulSetUpdateStrategy::OnDelete => false,
    }
}

/// `template` with a required node affinity to `zone` ANDed into every required term (or as
/// the only term), as the scheduler combines a pod's affinity with its volumes' node affinity.
pub fn pin_to_zone(template: &PodTemplateSpec, zone: &str) -> PodTemplateSpec {
    let mut t = template.clone();
    let req = NodeSelectorRequirement {
        key: ZONE_LABEL.to_string(),
        operator: NodeSelectorOperator::In,
        values: vec![zone.to_string()],
    };
    match &mut t.affinity.node_affinity.required {
        Some(terms) if !terms.is_empty() => {
            for term in terms.iter_mut() {
                term.match_expressions.push(req.clone());
            }
        }
        slot => {
            *slot = Some(vec![NodeSelectorTerm {
                match_expressions: vec![req],
                match_fields: Vec::new(),
            }]);
        }
    }
    t
}

/// What one reconcile pass decided (pure: `plan` reads only the pods it is given).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Ordinals to create, in order.
    pub create: Vec<i32>,
    /// Pods to delete (failed replicas, condemned pods, pods to update), in order.
    pub delete: Vec<PodId>,
    /// The earliest time a pod waiting for `minReadySeconds` becomes available, to look again.
    pub recheck_at: Option<SimTime>,
}

/// A pod of the set as `plan` sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaView {
    /// Pod id.
    pub id: PodId,
    /// Ordinal.
    pub ordinal: i32,
    /// Phase.
    pub phase: PodPhase,
    /// Deletion requested.
    pub terminating: bool,
    /// When it became Ready, if it is.
    pub ready_since: Option<SimTime>,
    /// Its `controller-revision-hash` label.
    pub revision: String,
}

impl ReplicaView {
    fn running_and_available(&self, min_ready_seconds: i32, now: SimTime) -> bool {
        self.phase == PodPhase::Running
            && !self.terminating
            && self.ready_since.is_some_and(|t| {
                now.saturating_since(t) >= SimDuration::from_secs(min_ready_seconds.max(0) as u64)
            })
    }

    fn available_at(&self, min_ready_seconds: i32) -> Option<SimTime> {
        self.ready_since
            .map(|t| t + SimDuration::from_secs(min_ready_seconds.max(0) as u64))
    }
}

/// One pass of upstream `updateStatefulSet` over `pods` (the set's pods with their ordinals;
/// at most one per ordinal), at `now`.
pub fn plan(set: &StatefulSet, pods: &[ReplicaView], now: SimTime) -> Plan {
    let monotonic = set.pod_management_policy == PodManagementPolicy::OrderedReady;
    let mrs = set.min_ready_seconds;
    let by_ord: BTreeMap<i32, &ReplicaView> = pods.iter().map(|p| (p.ordinal, p)).collect();
    let mut out = Plan::default();
    let wait = |p: &ReplicaView, out: &mut Plan| {
        if p.ready_since.is_some()
            && let Some(t) = p.available_at(mrs)
            && t > now
        {
            out.recheck_at = Some(out.recheck_at.map_or(t, |x| x.min(t)));
        }
    };
    // The first unhealthy pod, in ordinal order (upstream `firstUnhealthyPod`).
    let unhealthy = pods
        .iter()
        .filter(|p| !p.running_and_available(mrs, now))
        .min_by_key(|p| p.ordinal)
        .map(|p| p.id);
    // 1. Replicas.
    for ord in 0..set.replicas {
        match by_ord.get(&ord) {
            None => {
                out.create.push(ord);
                if monotonic {
                    return out;
                }
            }
            Some(p) if p.phase.is_terminal() => {
                // Failed (or Succeeded) pods are deleted and recreated with the same name.
                out.delete.push(p.id);
                out.create.push(ord);
                if monotonic {
                    return out;
                }
            }
            Some(p) if p.terminating => {
                if monotonic {
                    return out;
                }
            }
            Some(p) if !p.running_and_available(mrs, now) => {
                wait(p, &mut out);
                if monotonic {
                    return out;
                }
            }
            Some(_) => {}
        }
    }
    // 2. Condemned pods, highest ordinal first.
    let mut condemned: Vec<&ReplicaView> =
        pods.iter().filter(|p| p.ordinal >= set.replicas).collect();
    condemned.sort_by_key(|p| std::cmp::Reverse(p.ordinal));
    for p in condemned {
        if p.terminating {
            if monotonic {
                return out;
            }
            continue;
        }
        if monotonic && unhealthy.is_some_and(|u| u != p.id) {
            return out;
        }
        out.delete.push(p.id);
        if monotonic {
            return out;
        }
    }
    // 3. Rolling update from the highest ordinal down to the partition.
    let StatefulSetUpdateStrategy::RollingUpdate { partition } = set.update_strategy else {
        return out;
    };
    let mut ord = set.replicas - 1;
    while ord >= partition.max(0) {
        let Some(p) = by_ord.get(&ord) else {
            return out;
        };
        if p.revision != set.update_revision && !p.terminating {
            out.delete.push(p.id);
            return out;
        }
        if !p.running_and_available(mrs, now) {
            wait(p, &mut out);
            return out;
        }
        ord -= 1;
    }
    out
}

/// The StatefulSet controller component.
#[derive(Debug, Default)]
pub struct StatefulSetController {
    queue: WorkQueue,
    /// Pod creations sent but not yet seen, per set (upstream expectations).
    pending: BTreeMap<String, i64>,
}

impl StatefulSetController {
    /// A new controller.
    pub fn new() -> Self {
        Self::default()
    }

    fn new_pod(set: &StatefulSet, ordinal: i32, state: &ClusterState) -> Pod {
        let current = uses_current_revision(set, ordinal);
        let (template, revision) = if current {
            (&set.current_template, set.current_revision.clone())
        } else {
            (&set.template, set.update_revision.clone())
        };
        let name = pod_name(&set.name, ordinal);
        // A zone-bound claim keeps the replica in its volume's zone.
        let zone = set.volume_claim_templates.iter().find_map(|c| {
            let key = format!("{}/{}", set.namespace, claim_name(c, &set.name, ordinal));
            state
                .store
                .volume_claims
                .get(&key)
                .and_then(|v| v.zone.clone())
        });
        let mut t: PodTemplateSpec = match &zone {
            Some(z) => pin_to_zone(template, z),
            None => (**template).clone(),
        };
        t.labels.insert(REVISION_LABEL.into(), revision);
        t.labels.insert(POD_NAME_LABEL.into(), name.clone());
        t.labels.insert(POD_INDEX_LABEL.into(), ordinal.to_string());
        let t = Arc::new(t);
        Pod {
            id: PodId(0),
            name,
            namespace: set.namespace.clone(),
            labels: t.labels.clone(),
            owner: Some(OwnerRef {
                kind: "StatefulSet",
                key: set.key(),
            }),
            workload: set.name.clone(),
            requests: t.pod_requests(),
            non_zero_requests: t.non_zero_requests(),
            template: t,
            node: None,
            phase: PodPhase::Pending,
            created_at: SimTime::ZERO,
            scheduled_at: None,
            started_at: None,
            ready_since: None,
            deletion_timestamp: None,
            restart_count: 0,
            run_for: None,
        }
    }

    fn views(set: &StatefulSet, state: &ClusterState) -> Vec<ReplicaView> {
        let mut by_ord: BTreeMap<i32, ReplicaView> = BTreeMap::new();
        for id in state
            .store
            .pods_by_owner
            .get(&set.key())
            .into_iter()
            .flatten()
        {
            let Some(p) = state.store.pods.get(id) else {
                continue;
            };
            let Some(ordinal) = ordinal_of(&set.name, &p.name) else {
                continue;
            };
            let v = ReplicaView {
                id: *id,
                ordinal,
                phase: p.phase,
                terminating: p.is_terminating(),
                ready_since: p.ready_since,
                revision: p.labels.get(REVISION_LABEL).cloned().unwrap_or_default(),
            };
            // Two pods of one ordinal (the old one terminating): the newer one counts.
            by_ord.insert(ordinal, v);
        }
        by_ord.into_values().collect()
    }

    fn reconcile(&mut self, key: &str, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let Some(set) = state.store.stateful_sets.get(key) else {
            return;
        };
        let views = Self::views(set, state);
        // Status (upstream `computeReplicaStatus`).
        let mut st = StatefulSetStatus::default();
        for v in views
            .iter()
            .filter(|v| !v.terminating && !v.phase.is_terminal())
        {
            st.replicas += 1;
            if v.ready_since.is_some() {
                st.ready_replicas += 1;
            }
            if v.running_and_available(set.min_ready_seconds, now) {
                st.available_replicas += 1;
            }
            if v.revision == set.current_revision {
                st.current_replicas += 1;
            }
            if v.revision == set.update_revision {
                st.updated_replicas += 1;
            }
        }
        let rolling = matches!(
            set.update_strategy,
            StatefulSetUpdateStrategy::RollingUpdate { .. }
        );
        let rollout_complete = rolling
            && st.updated_replicas == set.replicas
            && st.ready_replicas == set.replicas
            && st.replicas == set.replicas;
        if st != set.status || (rollout_complete && set.current_revision != set.update_revision) {
            apiserver::write(
                ctx,
                state,
                ApiWrite::StatefulSetStatus {
                    key: key.to_string(),
                    status: st,
                    rollout_complete,
                },
            );
        }
        if self.pending.get(key).copied().unwrap_or(0) > 0 {
            return;
        }
        let p = plan(set, &views, now);
        if let Some(t) = p.recheck_at {
            self.queue.add_after(key, t.saturating_since(now), ctx);
        }
        let by = format!("StatefulSet {key}");
        let mut writes = Vec::new();
        for id in &p.delete {
            if let Some(pod) = state.store.pods.get(id) {
                state.recorder.event(
                    now,
                    "StatefulSet",
                    key.to_string(),
                    "SuccessfulDelete",
                    format!(
                        "delete Pod {} in StatefulSet {} successful",
                        pod.name, set.name
                    ),
                );
            }
            writes.push(ApiWrite::DeletePod {
                id: *id,
                by: by.clone(),
            });
        }
        for ord in &p.create {
            let pod = Self::new_pod(set, *ord, state);
            state.recorder.event(
                now,
                "StatefulSet",
                key.to_string(),
                "SuccessfulCreate",
                format!(
                    "create Pod {} in StatefulSet {} successful",
                    pod.name, set.name
                ),
            );
            writes.push(ApiWrite::CreatePod {
                pod: Box::new(pod),
                generate_name: String::new(),
            });
        }
        *self.pending.entry(key.to_string()).or_default() += p.create.len() as i64;
        for w in writes {
            apiserver::write(ctx, state, w);
        }
    }

    fn on_watch(&mut self, w: &WatchEvent, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match (w.kind, &w.object) {
            (ObjectKind::StatefulSet, ObjectRef::Named(key)) => self.queue.add(key, ctx),
            (
                ObjectKind::Pod,
                ObjectRef::Pod {
                    id,
                    owner: Some(owner),
                    node,
                },
            ) => {
                let Some(set) = state.store.stateful_sets.get(owner) else {
                    return;
                };
                if w.change == Change::Added
                    && let Some(n) = self.pending.get_mut(owner)
                {
                    *n -= 1;
                }
                // First scheduling of a replica: bind its claims in the node's zone.
                if let (Some(node), Some(pod)) = (node, state.store.pods.get(id))
                    && let Some(ordinal) = ordinal_of(&set.name, &pod.name)
                {
                    let zone = state
                        .store
                        .nodes
                        .get(node)
                        .and_then(|n| n.labels.get(ZONE_LABEL).cloned());
                    let claims: Vec<String> = set
                        .volume_claim_templates
                        .iter()
                        .map(|c| format!("{}/{}", set.namespace, claim_name(c, &set.name, ordinal)))
                        .filter(|k| !state.store.volume_claims.contains_key(k))
                        .collect();
                    for claim in claims {
                        apiserver::write(
                            ctx,
                            state,
                            ApiWrite::BindVolumeClaim {
                                claim,
                                binding: VolumeClaim {
                                    node: node.to_string(),
                                    zone: zone.clone(),
                                    bound_at: ctx.now(),
                                },
                            },
                        );
                    }
                }
                let owner = owner.clone();
                self.queue.add(&owner, ctx);
            }
            _ => {}
        }
    }
}

impl Component<Event, ClusterState> for StatefulSetController {
    fn name(&self) -> &str {
        "statefulset-controller"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match event {
            Event::Watch(w) => self.on_watch(&w, state, ctx),
            Event::Controller(ControllerTimer::Reconcile(key)) => {
                self.queue.done(&key);
                // Only kube-controller-manager's leader reconciles (`cluster::control_plane`).
                if state.leadership.controller_manager {
                    self.reconcile(&key, state, ctx);
                }
            }
            // A fresh leader starts the controller: the informer's initial list queues every
            // object.
            Event::Controller(ControllerTimer::StartedLeading) => {
                let keys: Vec<String> = state.store.stateful_sets.keys().cloned().collect();
                for k in keys {
                    self.queue.add(&k, ctx);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(replicas: i32, policy: PodManagementPolicy, partition: i32) -> StatefulSet {
        let t = Arc::new(PodTemplateSpec::default());
        StatefulSet {
            name: "db".into(),
            namespace: "default".into(),
            replicas,
            selector: Default::default(),
            template: Arc::clone(&t),
            pod_management_policy: policy,
            update_strategy: StatefulSetUpdateStrategy::RollingUpdate { partition },
            min_ready_seconds: 0,
            volume_claim_templates: vec![],
            update_revision: "db-new".into(),
            current_revision: "db-old".into(),
            current_template: t,
            created_at: SimTime::ZERO,
            status: Default::default(),
        }
    }

    fn pod(ordinal: i32, phase: PodPhase, ready: bool, rev: &str) -> ReplicaView {
        ReplicaView {
            id: PodId(100 + ordinal as u64),
            ordinal,
            phase,
            terminating: false,
            ready_since: ready.then_some(SimTime::ZERO),
            revision: rev.into(),
        }
    }

    const R: PodPhase = PodPhase::Running;
    const P: PodPhase = PodPhase::Pending;

    #[test]
    fn names_and_ordinals() {
        assert_eq!(pod_name("web", 3), "web-3");
        for (set, pod, want) in [
            ("web", "web-0", Some(0)),
            ("web", "web-12", Some(12)),
            ("web", "web-x", None),
            ("web", "web-", None),
            ("web", "webs-1", None),
            ("my-db", "my-db-2", Some(2)),
        ] {
            assert_eq!(ordinal_of(set, pod), want, "{pod}");
        }
        assert_eq!(claim_name("data", "db", 1), "data-db-1");
    }

    #[test]
    fn ordered_ready_creates_one_at_a_time_in_order() {
        let s = set(3, PodManagementPolicy::OrderedReady, 0);
        // (existing pods, expected creations, expected deletions)
        let new = "db-new";
        let cases: Vec<(Vec<ReplicaView>, Vec<i32>, Vec<u64>)> = vec![
            (vec![], vec![0], vec![]),
            // db-0 not Ready yet: wait.
            (vec![pod(0, P, false, new)], vec![], vec![]),
            (vec![pod(0, R, false, new)], vec![], vec![]),
            (vec![pod(0, R, true, new)], vec![1], vec![]),
            (
                vec![pod(0, R, true, new), pod(1, R, true, new)],
                vec![2],
                vec![],
            ),
            // A failed db-0 is deleted and recreated; nothing else moves.
            (
                vec![pod(0, PodPhase::Failed, false, new), pod(1, R, true, new)],
                vec![0],
                vec![100],
            ),
            // A missing middle ordinal is recreated before anything else.
            (
                vec![pod(0, R, true, new), pod(2, R, true, new)],
                vec![1],
                vec![],
            ),
        ];
        for (i, (pods, create, delete)) in cases.into_iter().enumerate() {
            let p = plan(&s, &pods, SimTime::ZERO);
            assert_eq!(p.create, create, "case {i}");
            assert_eq!(
                p.delete,
                delete.into_iter().map(PodId).collect::<Vec<_>>(),
                "case {i}"
            );
        }
    }

    #[test]
    fn parallel_creates_all_at_once() {
        let s = set(3, PodManagementPolicy::Parallel, 0);
        let p = plan(&s, &[pod(1, P, false, "db-new")], SimTime::ZERO);
        assert_eq!(p.create, vec![0, 2]);
    }

    #[test]
    fn scale_down_removes_the_highest_ordinal_first_one_at_a_time() {
        let new = "db-new";
        let s = set(1, PodManagementPolicy::OrderedReady, 0);
        let all = vec![
            pod(0, R, true, new),
            pod(1, R, true, new),
            pod(2, R, true, new),
        ];
        assert_eq!(plan(&s, &all, SimTime::ZERO).delete, vec![PodId(102)]);
        // While db-2 terminates, db-1 waits.
        let mut t = all.clone();
        t[2].terminating = true;
        assert!(plan(&s, &t, SimTime::ZERO).delete.is_empty());
        // An unhealthy db-0 blocks the scale-down.
        let mut u = all.clone();
        u[0].ready_since = None;
        assert!(plan(&s, &u, SimTime::ZERO).delete.is_empty());
        // Parallel deletes both at once.
        let s = set(1, PodManagementPolicy::Parallel, 0);
        assert_eq!(
            plan(&s, &all, SimTime::ZERO).delete,
            vec![PodId(102), PodId(101)]
        );
    }

    #[test]
    fn rolling_update_goes_down_from_the_top_and_stops_at_the_partition() {
        let (old, new) = ("db-old", "db-new");
        // (partition, pods' revisions and readiness, expected deletion)
        let cases: Vec<(i32, Vec<ReplicaView>, Option<u64>)> = vec![
            (
                0,
                vec![
                    pod(0, R, true, old),
                    pod(1, R, true, old),
                    pod(2, R, true, old),
                ],
                Some(102),
            ),
            // db-2 updated but not Ready: wait.
            (
                0,
                vec![
                    pod(0, R, true, old),
                    pod(1, R, true, old),
                    pod(2, R, false, new),
                ],
                None,
            ),
            (
                0,
                vec![
                    pod(0, R, true, old),
                    pod(1, R, true, old),
                    pod(2, R, true, new),
                ],
                Some(101),
            ),
            // Partition 2: only db-2 is updated.
            (
                2,
                vec![
                    pod(0, R, true, old),
                    pod(1, R, true, old),
                    pod(2, R, true, old),
                ],
                Some(102),
            ),
            (
                2,
                vec![
                    pod(0, R, true, old),
                    pod(1, R, true, old),
                    pod(2, R, true, new),
                ],
                None,
            ),
            (
                0,
                vec![
                    pod(0, R, true, new),
                    pod(1, R, true, new),
                    pod(2, R, true, new),
                ],
                None,
            ),
        ];
        for (i, (partition, pods, want)) in cases.into_iter().enumerate() {
            let s = set(3, PodManagementPolicy::OrderedReady, partition);
            let p = plan(&s, &pods, SimTime::ZERO);
            assert_eq!(
                p.delete,
                want.into_iter().map(PodId).collect::<Vec<_>>(),
                "case {i}"
            );
            assert!(p.create.is_empty(), "case {i}");
        }
        // OnDelete never deletes for an update.
        let mut s = set(3, PodManagementPolicy::OrderedReady, 0);
        s.update_strategy = StatefulSetUpdateStrategy::OnDelete;
        let pods = vec![
            pod(0, R, true, old),
            pod(1, R, true, old),
            pod(2, R, true, old),
        ];
        assert!(plan(&s, &pods, SimTime::ZERO).delete.is_empty());
    }

    #[test]
    fn below_the_partition_new_pods_keep_the_current_revision() {
        let s = set(3, PodManagementPolicy::OrderedReady, 2);
        assert!(uses_current_revision(&s, 0));
        assert!(uses_current_revision(&s, 1));
        assert!(!uses_current_revision(&s, 2));
    }

    #[test]
    fn min_ready_seconds_holds_the_next_creation_and_asks_for_a_recheck() {
        let mut s = set(2, PodManagementPolicy::OrderedReady, 0);
        s.min_ready_seconds = 10;
        let p0 = pod(0, R, true, "db-new");
        let p = plan(&s, std::slice::from_ref(&p0), SimTime(5_000_000_000));
        assert!(p.create.is_empty());
        assert_eq!(p.recheck_at, Some(SimTime(10_000_000_000)));
        let p = plan(&s, &[p0], SimTime(10_000_000_000));
        assert_eq!(p.create, vec![1]);
    }

    #[test]
    fn pin_to_zone_ands_into_every_required_term() {
        let t = PodTemplateSpec::default();
        let z = pin_to_zone(&t, "b");
        let terms = z.affinity.node_affinity.required.clone().unwrap();
        assert_eq!(terms.len(), 1);
        assert_eq!(terms[0].match_expressions[0].values, vec!["b".to_string()]);
        let zz = pin_to_zone(&z, "b");
        assert_eq!(
            zz.affinity.node_affinity.required.unwrap()[0]
                .match_expressions
                .len(),
            2
        );
    }
}
