//! The shared cluster state handed to every component: the API server's object store (with its
//! `resourceVersion`), the run's configuration, and the [`Recorder`].
//!
//! Components read the store directly, as from an always-fresh informer cache, but change it only
//! by sending an [`ApiWrite`] to the API server, which commits it after the write latency and
//! tells watchers after the watch delay. So a controller reacts to a change no earlier than
//! `watchDelay` after it was committed, as in a real cluster.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::cluster::events::{ApiWrite, Change, ObjectRef, WatchEvent};
use crate::cluster::metrics::Recorder;
use crate::cluster::objects::{Deployment, Node, ObjectKind, Pod, PodId, PodPhase, ReplicaSet};
use crate::cluster::spec::{BehaviorSpec, ClusterSpec, ControlPlaneSpec};
use crate::engine::SimTime;

/// The API server's object store.
#[derive(Debug, Default)]
pub struct Store {
    /// Global `resourceVersion`: incremented on every committed write.
    pub resource_version: u64,
    /// Nodes by name.
    pub nodes: crate::cluster::node_map::NodeMap,
    /// Pods by id (creation order).
    pub pods: crate::cluster::pod_map::PodMap<Pod>,
    /// ReplicaSets by `namespace/name`.
    pub replica_sets: BTreeMap<String, ReplicaSet>,
    /// Deployments by `namespace/name`.
    pub deployments: BTreeMap<String, Deployment>,
    /// Next pod id to assign.
    pub next_pod_id: u64,
    /// Pods by controlling owner key (`namespace/name`), an index maintained on every write.
    pub pods_by_owner: BTreeMap<String, std::collections::BTreeSet<PodId>>,
    /// Active and ready pod counts by controlling owner key, maintained after every write from
    /// the pods the write touched (so a controller can read its status in O(1) instead of
    /// scanning its pods).
    pub owner_counts: BTreeMap<String, OwnerCounts>,
    /// What each owned pod last contributed to [`Store::owner_counts`]: (active, active and
    /// ready).
    pub pod_contribution: BTreeMap<PodId, (bool, bool)>,
    /// PodDisruptionBudgets by `namespace/name`.
    pub pdbs: BTreeMap<String, crate::cluster::spec::PodDisruptionBudgetSpec>,
    /// Rollout-controller patches of Services, by index in `ClusterSpec::services`.
    pub service_routes: BTreeMap<usize, crate::cluster::argo::spec::ServiceRoute>,
    /// Terminated (`Succeeded`) pods still in the store, oldest first (ids are creation
    /// order), for PodGC's terminated-pod threshold. A [`crate::cluster::pod_map::PodMap`]
    /// (ascending ids, as a `BTreeSet<PodId>`): each pod's finish and removal is an array
    /// write instead of a B-tree insert and remove.
    pub terminated: crate::cluster::pod_map::PodMap<()>,
    /// StatefulSets by `namespace/name`.
    pub stateful_sets: BTreeMap<String, crate::cluster::stateful_objects::StatefulSet>,
    /// StatefulSet replicas' PersistentVolumeClaims by `namespace/claim-name`, once bound.
    pub volume_claims: BTreeMap<String, crate::cluster::stateful_objects::VolumeClaim>,
    /// Pod counts by phase and condition for the sampler, maintained after every write from
    /// the pods the write touched.
    pub pod_gauges: crate::cluster::pod_gauges::PodGauges,
    /// Incremented whenever a node is added or removed (node labels do not change after
    /// registration), so a controller can keep per-node data aligned with [`Store::nodes`].
    pub node_set_version: u64,
    /// Incremented whenever a pod is added to or removed from [`Store::pods`] (a pod's
    /// namespace and labels do not change while it is stored), so a controller can keep the
    /// ids of the pods a selector matches instead of matching every pod each time.
    pub pod_set_version: u64,
    /// Nodes with at least one `NoExecute` taint, maintained on every node write, so that the
    /// taint eviction controller can tell in O(1) that no pod has anything to fear.
    pub no_execute_tainted_nodes: usize,
    /// Incremented whenever a node's `ready`, `taints` or `lease` may have changed (and when
    /// a node is added or removed), so that the node lifecycle controller can tell that no
    /// node's health inputs changed since its last pass without reading every node. Whoever
    /// changes one of those fields of a stored node must increment it.
    pub node_health_version: u64,
}

/// True if `taints` hold a `NoExecute` taint.
pub fn has_no_execute(taints: &[crate::cluster::spec::Taint]) -> bool {
    taints
        .iter()
        .any(|t| t.effect == crate::cluster::spec::TaintEffect::NoExecute)
}

/// Pods of one owner, counted as the ReplicaSet controller counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OwnerCounts {
    /// Active pods (upstream `IsPodActive`: not terminal, not being deleted).
    pub active: i32,
    /// Active pods whose `Ready` condition holds.
    pub ready: i32,
}

/// Everything the components share.
#[derive(Debug)]
pub struct ClusterState {
    /// The object store.
    pub store: Store,
    /// Control-plane timings.
    pub control_plane: ControlPlaneSpec,
    /// The validated scenario the run was built from.
    pub spec: Arc<ClusterSpec>,
    /// Behaviours by workload name.
    pub behaviors: BTreeMap<String, BehaviorSpec>,
    /// What the run records.
    pub recorder: Recorder,
    /// While the API server refuses writes (timeline `apiServerDown`): when it is back.
    pub api_down_until: Option<SimTime>,
    /// CPU usage of each pod that serves traffic over the last sampling interval, in millicores
    /// (like metrics-server's `PodMetrics`); written by the traffic model at every sample.
    pub pod_cpu_usage: BTreeMap<PodId, f64>,
    /// Work queues (`Behavior` `spec.workQueue`) by workload name.
    pub task_queues: BTreeMap<String, crate::cluster::work_queue::TaskQueue>,
    /// Whether kube-scheduler and kube-controller-manager have a leader (a process that
    /// works); see `cluster::control_plane`.
    pub leadership: crate::cluster::control_plane::Leadership,
}

impl ClusterState {
    /// A state with an empty store for `spec`.
    pub fn new(spec: Arc<ClusterSpec>) -> Self {
        let task_queues = crate::cluster::work_queue::queues_for(&spec);
        ClusterState {
            store: Store::default(),
            control_plane: spec.control_plane.clone(),
            behaviors: spec.behaviors.clone(),
            spec,
            recorder: Recorder::default(),
            api_down_until: None,
            pod_cpu_usage: BTreeMap::new(),
            task_queues,
            leadership: Default::default(),
        }
    }

    /// The store key (`namespace/name`) of the Deployment called `name` (first namespace in
    /// order if several).
    pub fn deployment_key(&self, name: &str) -> Option<String> {
        self.store
            .deployments
            .values()
            .find(|d| d.name == name)
            .map(|d| d.key())
    }

    /// The behaviour for a workload (its `Behavior` document or the defaults).
    pub fn behavior(&self, workload: &str) -> BehaviorSpec {
        self.behaviors
            .get(workload)
            .cloned()
            .unwrap_or_else(|| BehaviorSpec::default_for(workload))
    }

    fn notify(
        &mut self,
        out: &mut Vec<WatchEvent>,
        kind: ObjectKind,
        object: ObjectRef,
        change: Change,
    ) {
        self.store.resource_version += 1;
        self.recorder.counters.api_writes += 1;
        out.push(WatchEvent {
            kind,
            object,
            change,
            resource_version: self.store.resource_version,
        });
    }

    /// The watch event reference of `pod`; its node name is the store's shared copy of the
    /// node's name (no allocation per event while the node exists).
    fn pod_ref(nodes: &crate::cluster::node_map::NodeMap, pod: &Pod) -> ObjectRef {
        ObjectRef::Pod {
            id: pod.id,
            owner: pod.owner.as_ref().map(|o| o.key.clone()),
            node: pod.node.as_deref().map(|n| nodes.shared_name(n)),
        }
    }

    /// Commit one write at `now`, appending the resulting watch events to `out`. A write whose
    /// object no longer exists (for example a status update for a pod deleted meanwhile) is
    /// dropped, as a conflict would be upstream. `name_suffix` supplies the random part of a
    /// generated pod name.
    pub fn apply(
        &mut self,
        write: ApiWrite,
        now: SimTime,
        name_suffix: &mut dyn FnMut() -> String,
        out: &mut Vec<WatchEvent>,
    ) {
        let first = out.len();
        self.apply_write(write, now, name_suffix, out);
        // Index loop: `recount_pod` needs `&mut self` while `out` is read (no allocation).
        let mut i = first;
        while i < out.len() {
            if let ObjectRef::Pod { id, owner, .. } = &out[i].object {
                let id = *id;
                self.store.pod_gauges.update(id, self.store.pods.get(&id));
                if let Some(owner) = owner {
                    self.recount_pod(id, owner);
                }
            }
            i += 1;
        }
    }

    /// Bring [`Store::owner_counts`] up to date for one pod that a write touched.
    fn recount_pod(&mut self, id: PodId, owner: &str) {
        let now = self
            .store
            .pods
            .get(&id)
            .map(|p| (p.is_active(), p.is_active() && p.is_ready()));
        let before = match now {
            Some(c) => self.store.pod_contribution.insert(id, c),
            None => self.store.pod_contribution.remove(&id),
        }
        .unwrap_or((false, false));
        let after = now.unwrap_or((false, false));
        if before == after {
            return;
        }
        let c = self
            .store
            .owner_counts
            .entry(owner.to_string())
            .or_default();
        c.active += i32::from(after.0) - i32::from(before.0);
        c.ready += i32::from(after.1) - i32::from(before.1);
        if *c == OwnerCounts::default() {
            self.store.owner_counts.remove(owner);
        }
    }

    fn apply_write(
        &mut self,
        write: ApiWrite,
        now: SimTime,
        name_suffix: &mut dyn FnMut() -> String,
        out: &mut Vec<WatchEvent>,
    ) {
        match write {
            ApiWrite::CreatePod {
                mut pod,
                generate_name,
            } => {
                let id = PodId(self.store.next_pod_id);
                self.store.next_pod_id += 1;
                pod.id = id;
                // A generated name that collides is retried with a new suffix, as the apiserver's
                // generateName does (AlreadyExists -> retry).
                // A pod with a fixed name (empty `generate_name`, e.g. a trace pod) keeps it.
                if !generate_name.is_empty() || pod.name.is_empty() {
                    pod.name = format!("{generate_name}{}", name_suffix());
                }
                pod.created_at = now;
                self.recorder.counters.pods_created += 1;
                let r = Self::pod_ref(&self.store.nodes, &pod);
                if let Some(o) = &pod.owner {
                    self.store
                        .pods_by_owner
                        .entry(o.key.clone())
                        .or_default()
                        .insert(id);
                }
                self.store.pods.insert(id, *pod);
                self.store.pod_set_version += 1;
                self.notify(out, ObjectKind::Pod, r, Change::Added);
            }
            ApiWrite::DeletePod { id, by } => {
                let Some(pod) = self.store.pods.get_mut(&id) else {
                    return;
                };
                if pod.deletion_timestamp.is_some() {
                    return;
                }
                // Upstream: a pod not bound to a node, or already terminal, is deleted at once
                // (pkg/registry/core/pod/strategy.go CheckGracefulDelete).
                if pod.node.is_none() || pod.phase.is_terminal() {
                    if self.recorder.records("Pod", "Deleted") {
                        let key = pod.key();
                        self.recorder
                            .event(now, "Pod", key, "Deleted", format!("deleted by {by}"));
                    }
                    self.remove_pod(id, out);
                    return;
                }
                pod.deletion_timestamp = Some(now);
                let r = Self::pod_ref(&self.store.nodes, pod);
                if self.recorder.records("Pod", "Killing") {
                    let key = pod.key();
                    self.recorder.event(
                        now,
                        "Pod",
                        key,
                        "Killing",
                        format!("graceful deletion requested by {by}"),
                    );
                }
                self.notify(out, ObjectKind::Pod, r, Change::Modified);
            }
            ApiWrite::RemovePod { id } => self.remove_pod(id, out),
            ApiWrite::BindPod { id, node } => {
                let Some(pod) = self.store.pods.get_mut(&id) else {
                    return;
                };
                if pod.node.is_some() || pod.deletion_timestamp.is_some() {
                    return;
                }
                let Some(n) = self.store.nodes.get_mut(&node) else {
                    return;
                };
                n.requested = n.requested.add(&pod.requests);
                n.non_zero_requested = n.non_zero_requested.add(&pod.non_zero_requests);
                n.pods.insert(id);
                pod.node = Some(node);
                pod.scheduled_at = Some(now);
                self.recorder.counters.pods_scheduled += 1;
                self.recorder
                    .scheduling_latency
                    .record(now.saturating_since(pod.created_at));
                if pod.run_for.is_some() && self.recorder.trace.active {
                    self.recorder.trace.pods_bound += 1;
                    self.recorder
                        .trace
                        .scheduling_delay
                        .record(now.saturating_since(pod.created_at));
                }
                let r = Self::pod_ref(&self.store.nodes, pod);
                if self.recorder.records("Pod", "Scheduled") {
                    let key = pod.key();
                    self.recorder.event(
                        now,
                        "Pod",
                        key,
                        "Scheduled",
                        format!(
                            "Successfully assigned to {}",
                            pod.node.as_deref().unwrap_or_default()
                        ),
                    );
                }
                self.notify(out, ObjectKind::Pod, r, Change::Modified);
            }
            ApiWrite::PodStarted { id } => {
                let Some(pod) = self.store.pods.get_mut(&id) else {
                    return;
                };
                if pod.phase != PodPhase::Pending {
                    return;
                }
                pod.phase = PodPhase::Running;
                pod.started_at = Some(now);
                let r = Self::pod_ref(&self.store.nodes, pod);
                self.notify(out, ObjectKind::Pod, r, Change::Modified);
            }
            ApiWrite::PodReady { id, ready } => {
                let Some(pod) = self.store.pods.get_mut(&id) else {
                    return;
                };
                if pod.is_ready() == ready {
                    return;
                }
                if ready {
                    pod.ready_since = Some(now);
                    if pod.restart_count == 0 && pod.started_at.is_some() {
                        self.recorder.counters.pods_started += 1;
                        self.recorder
                            .startup_latency
                            .record(now.saturating_since(pod.created_at));
                    }
                } else {
                    pod.ready_since = None;
                }
                let r = Self::pod_ref(&self.store.nodes, pod);
                let (owner, created) = (pod.owner.clone(), pod.created_at);
                if ready
                    && !self.recorder.failures.is_empty()
                    && let Some(w) = owner.and_then(|o| self.workload_key(&o.key))
                {
                    self.recorder.replacement_ready(&w, created, now);
                }
                self.notify(out, ObjectKind::Pod, r, Change::Modified);
            }
            ApiWrite::CreateReplicaSet(mut rs) => {
                let key = rs.key();
                if self.store.replica_sets.contains_key(&key) {
                    return;
                }
                rs.created_at = now;
                self.store.replica_sets.insert(key.clone(), *rs);
                self.notify(
                    out,
                    ObjectKind::ReplicaSet,
                    ObjectRef::Named(key),
                    Change::Added,
                );
            }
            ApiWrite::ScaleReplicaSet { key, replicas } => {
                let Some(rs) = self.store.replica_sets.get_mut(&key) else {
                    return;
                };
                if rs.replicas == replicas {
                    return;
                }
                rs.replicas = replicas;
                self.notify(
                    out,
                    ObjectKind::ReplicaSet,
                    ObjectRef::Named(key),
                    Change::Modified,
                );
            }
            ApiWrite::ScaleOwnedReplicaSet {
                key,
                replicas,
                desired,
                max,
            } => {
                let Some(rs) = self.store.replica_sets.get_mut(&key) else {
                    return;
                };
                if rs.replicas == replicas
                    && rs.desired_replicas == Some(desired)
                    && rs.max_replicas == Some(max)
                {
                    return;
                }
                rs.replicas = replicas;
                rs.desired_replicas = Some(desired);
                rs.max_replicas = Some(max);
                self.notify(
                    out,
                    ObjectKind::ReplicaSet,
                    ObjectRef::Named(key),
                    Change::Modified,
                );
            }
            ApiWrite::ReplicaSetStatus { key, status } => {
                let Some(rs) = self.store.replica_sets.get_mut(&key) else {
                    return;
                };
                if rs.status == status {
                    return;
                }
                rs.status = status;
                self.check_recovery(now);
                self.notify(
                    out,
                    ObjectKind::ReplicaSet,
                    ObjectRef::Named(key),
                    Change::Modified,
                );
            }
            ApiWrite::DeleteReplicaSet { key } => {
                if self.store.replica_sets.remove(&key).is_some() {
                    self.notify(
                        out,
                        ObjectKind::ReplicaSet,
                        ObjectRef::Named(key),
                        Change::Deleted,
                    );
                }
            }
            ApiWrite::CreateDeployment(d) => {
                let key = d.key();
                if self.store.deployments.contains_key(&key) {
                    return;
                }
                self.store.deployments.insert(key.clone(), *d);
                self.notify(
                    out,
                    ObjectKind::Deployment,
                    ObjectRef::Named(key),
                    Change::Added,
                );
            }
            ApiWrite::UpdateDeployment {
                key,
                replicas,
                template,
            } => {
                let Some(d) = self.store.deployments.get_mut(&key) else {
                    return;
                };
                if let Some(r) = replicas {
                    d.replicas = r;
                }
                if let Some(t) = template {
                    d.template = t;
                }
                self.notify(
                    out,
                    ObjectKind::Deployment,
                    ObjectRef::Named(key),
                    Change::Modified,
                );
            }
            ApiWrite::SetDeploymentPaused { key, paused } => {
                let Some(d) = self.store.deployments.get_mut(&key) else {
                    return;
                };
                if d.paused == paused {
                    return;
                }
                d.paused = paused;
                self.notify(
                    out,
                    ObjectKind::Deployment,
                    ObjectRef::Named(key),
                    Change::Modified,
                );
            }
            ApiWrite::DeploymentStatus { key, status } => {
                let Some(d) = self.store.deployments.get_mut(&key) else {
                    return;
                };
                if d.status == status {
                    return;
                }
                d.status = status;
                self.check_recovery(now);
                self.notify(
                    out,
                    ObjectKind::Deployment,
                    ObjectRef::Named(key),
                    Change::Modified,
                );
            }
            ApiWrite::CreateNode(spec) => {
                if self.store.nodes.contains_key(&spec.name) {
                    return;
                }
                let name = spec.name.clone();
                let node = Node {
                    name: spec.name,
                    labels: spec.labels,
                    taints: spec.taints,
                    allocatable: spec.allocatable,
                    unschedulable: spec.unschedulable,
                    ready: true,
                    pool: spec.pool,
                    price_per_hour: spec.price_per_hour,
                    created_at: now,
                    requested: Default::default(),
                    non_zero_requested: Default::default(),
                    pods: Default::default(),
                    lease: crate::cluster::objects::NodeLease {
                        renewing: true,
                        anchor: now,
                    },
                };
                self.store.no_execute_tainted_nodes += usize::from(has_no_execute(&node.taints));
                self.store.nodes.insert(name.clone(), node);
                self.store.node_set_version += 1;
                self.store.node_health_version += 1;
                self.recorder.counters.nodes_added += 1;
                self.recorder.event(
                    now,
                    "Node",
                    name.clone(),
                    "RegisteredNode",
                    format!("Node {name} registered"),
                );
                self.notify(out, ObjectKind::Node, ObjectRef::Named(name), Change::Added);
            }
            ApiWrite::DeleteNode { name } => {
                let Some(node) = self.store.nodes.remove(&name) else {
                    return;
                };
                self.store.no_execute_tainted_nodes -= usize::from(has_no_execute(&node.taints));
                self.store.node_set_version += 1;
                self.store.node_health_version += 1;
                self.recorder.counters.nodes_removed += 1;
                self.recorder.node_lifetime(
                    node.pool.as_deref().unwrap_or(""),
                    node.created_at,
                    now,
                    node.price_per_hour,
                );
                self.recorder.event(
                    now,
                    "Node",
                    name.clone(),
                    "RemovingNode",
                    format!("Node {name} deleted"),
                );
                self.notify(
                    out,
                    ObjectKind::Node,
                    ObjectRef::Named(name),
                    Change::Deleted,
                );
            }
            ApiWrite::SetUnschedulable {
                name,
                unschedulable,
            } => {
                let Some(node) = self.store.nodes.get_mut(&name) else {
                    return;
                };
                if node.unschedulable == unschedulable {
                    return;
                }
                node.unschedulable = unschedulable;
                let reason = if unschedulable {
                    "NodeNotSchedulable"
                } else {
                    "NodeSchedulable"
                };
                self.recorder.event(
                    now,
                    "Node",
                    name.clone(),
                    reason,
                    format!("Node {name} status is now: {reason}"),
                );
                self.notify(
                    out,
                    ObjectKind::Node,
                    ObjectRef::Named(name),
                    Change::Modified,
                );
            }
            ApiWrite::RenewLease { node } => {
                let Some(n) = self.store.nodes.get_mut(&node) else {
                    return;
                };
                n.lease = crate::cluster::objects::NodeLease {
                    renewing: true,
                    anchor: now,
                };
                self.store.node_health_version += 1;
                if !n.ready {
                    n.ready = true;
                    self.recorder.event(
                        now,
                        "Node",
                        node.clone(),
                        "NodeReady",
                        format!("Node {node} status is now: NodeReady"),
                    );
                    self.notify(
                        out,
                        ObjectKind::Node,
                        ObjectRef::Named(node),
                        Change::Modified,
                    );
                }
            }
            ApiWrite::SetNodeReady { name, ready } => {
                let Some(n) = self.store.nodes.get_mut(&name) else {
                    return;
                };
                if n.ready == ready {
                    return;
                }
                n.ready = ready;
                self.store.node_health_version += 1;
                let reason = if ready { "NodeReady" } else { "NodeNotReady" };
                self.recorder.event(
                    now,
                    "Node",
                    name.clone(),
                    reason,
                    format!("Node {name} status is now: {reason}"),
                );
                if !ready {
                    self.recorder.node_not_ready(&name, now);
                }
                self.notify(
                    out,
                    ObjectKind::Node,
                    ObjectRef::Named(name),
                    Change::Modified,
                );
            }
            ApiWrite::AddNodeTaint { name, taint } => {
                let Some(n) = self.store.nodes.get_mut(&name) else {
                    return;
                };
                if n.taints
                    .iter()
                    .any(|t| t.key == taint.key && t.effect == taint.effect)
                {
                    return;
                }
                self.recorder.event(
                    now,
                    "Node",
                    name.clone(),
                    "TaintAdded",
                    format!(
                        "Added taint {}:{:?} to node {name}",
                        taint.key, taint.effect
                    ),
                );
                let had = has_no_execute(&n.taints);
                n.taints.push(taint);
                self.store.node_health_version += 1;
                if !had && has_no_execute(&n.taints) {
                    self.store.no_execute_tainted_nodes += 1;
                }
                self.notify(
                    out,
                    ObjectKind::Node,
                    ObjectRef::Named(name),
                    Change::Modified,
                );
            }
            ApiWrite::RemoveNodeTaint { name, key, effect } => {
                let Some(n) = self.store.nodes.get_mut(&name) else {
                    return;
                };
                let before = n.taints.len();
                n.taints.retain(|t| !(t.key == key && t.effect == effect));
                if n.taints.len() == before {
                    return;
                }
                self.store.node_health_version += 1;
                if effect == crate::cluster::spec::TaintEffect::NoExecute
                    && !has_no_execute(&n.taints)
                {
                    self.store.no_execute_tainted_nodes -= 1;
                }
                self.recorder.event(
                    now,
                    "Node",
                    name.clone(),
                    "TaintRemoved",
                    format!("Removed taint {key}:{effect:?} from node {name}"),
                );
                self.notify(
                    out,
                    ObjectKind::Node,
                    ObjectRef::Named(name),
                    Change::Modified,
                );
            }
            ApiWrite::EvictPod { id, by } => {
                use crate::cluster::disruption::{
                    EvictionVerdict, eviction_verdict, pdb_status, selects,
                };
                let Some(pod) = self.store.pods.get(&id) else {
                    return;
                };
                if pod.deletion_timestamp.is_some() {
                    return;
                }
                let pdbs: Vec<&crate::cluster::spec::PodDisruptionBudgetSpec> = self
                    .store
                    .pdbs
                    .values()
                    .filter(|b| selects(b, pod))
                    .collect();
                // Upstream refuses a pod covered by more than one PDB (500); kubesim blocks it
                // the same way, so a drain keeps retrying and reports it.
                let record = crate::cluster::disruption::EvictionRecord {
                    at: now,
                    pod: pod.key(),
                    pod_ready: pod.is_ready(),
                    pod_terminal: pod.phase.is_terminal(),
                    pdbs: pdbs.len(),
                    budget: pdbs
                        .first()
                        .map(|b| (b.name.clone(), pdb_status(b, &self.store))),
                };
                let blocked = if pdbs.len() > 1 {
                    Some("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.".to_string())
                } else if let Some(b) = pdbs.first() {
                    let st = pdb_status(b, &self.store);
                    match eviction_verdict(pod.phase.is_terminal(), pod.is_ready(), &st) {
                        EvictionVerdict::Allowed => None,
                        EvictionVerdict::Blocked => Some(format!(
                            "Cannot evict pod as it would violate the pod's disruption budget. The disruption budget {} needs {} healthy pods and has {} currently",
                            b.name, st.desired_healthy, st.current_healthy
                        )),
                    }
                } else {
                    None
                };
                let key = pod.key();
                match blocked {
                    Some(msg) => {
                        self.recorder.counters.evictions_blocked += 1;
                        self.recorder.event(now, "Pod", key, "EvictionBlocked", msg);
                    }
                    None => {
                        self.recorder.counters.evictions += 1;
                        self.recorder.evictions.push(record);
                        self.recorder.event(
                            now,
                            "Pod",
                            key,
                            "Evicted",
                            format!("Evicted through the Eviction API by {by}"),
                        );
                        self.apply(ApiWrite::DeletePod { id, by }, now, name_suffix, out);
                    }
                }
            }
            ApiWrite::PodRestarted { id } => {
                let Some(pod) = self.store.pods.get_mut(&id) else {
                    return;
                };
                pod.restart_count += 1;
                pod.ready_since = None;
                let r = Self::pod_ref(&self.store.nodes, pod);
                self.notify(out, ObjectKind::Pod, r, Change::Modified);
            }
            ApiWrite::PodFinished { id, succeeded } => {
                let Some(pod) = self.store.pods.get_mut(&id) else {
                    return;
                };
                if pod.phase.is_terminal() {
                    return;
                }
                pod.phase = if succeeded {
                    PodPhase::Succeeded
                } else {
                    PodPhase::Failed
                };
                pod.ready_since = None;
                self.store.terminated.insert(id, ());
                if pod.run_for.is_some() && self.recorder.trace.active {
                    self.recorder.trace.pods_finished(succeeded, now);
                }
                if succeeded {
                    self.recorder.counters.pods_succeeded += 1;
                } else {
                    self.recorder.counters.pods_failed += 1;
                }
                let phase = if succeeded { "Succeeded" } else { "Failed" };
                let key = self.recorder.records("Pod", phase).then(|| pod.key());
                let (requests, nz) = (pod.requests, pod.non_zero_requests);
                let r = Self::pod_ref(&self.store.nodes, pod);
                // A terminal pod no longer holds its node's resources (upstream: the scheduler
                // cache and kubelet admission count only non-terminal pods).
                if let ObjectRef::Pod {
                    node: Some(node), ..
                } = &r
                    && let Some(n) = self.store.nodes.get_mut(node)
                    && n.pods.remove(&id)
                {
                    n.requested = n.requested.sub(&requests);
                    n.non_zero_requested = n.non_zero_requested.sub(&nz);
                }
                if let Some(key) = key {
                    self.recorder.event(
                        now,
                        "Pod",
                        key,
                        phase,
                        format!("Pod phase is now {phase}"),
                    );
                }
                self.notify(out, ObjectKind::Pod, r, Change::Modified);
            }
            ApiWrite::CreatePodDisruptionBudget(b) => {
                let key = format!("{}/{}", b.namespace, b.name);
                if self.store.pdbs.contains_key(&key) {
                    return;
                }
                self.store.pdbs.insert(key.clone(), *b);
                self.notify(
                    out,
                    ObjectKind::PodDisruptionBudget,
                    ObjectRef::Named(key),
                    Change::Added,
                );
            }
            w @ (ApiWrite::CreateStatefulSet(_)
            | ApiWrite::UpdateStatefulSet { .. }
            | ApiWrite::StatefulSetStatus { .. }
            | ApiWrite::BindVolumeClaim { .. }) => self.apply_stateful(w, now, out),
            ApiWrite::SetServiceRoute { service, route } => {
                let Some(svc) = self.spec.services.get(service) else {
                    return;
                };
                if self.store.service_routes.get(&service) == Some(&route) {
                    return;
                }
                let key = format!("{}/{}", svc.namespace, svc.name);
                let what = match (&route.hash, route.canary) {
                    (Some(h), Some((_, w))) => format!("selector hash {h}, canary weight {w}%"),
                    (Some(h), None) => format!("selector hash {h}"),
                    (None, Some((_, w))) => format!("canary weight {w}%"),
                    (None, None) => "selector as written".to_string(),
                };
                self.recorder
                    .event(now, "Service", key.clone(), "ServiceUpdated", what);
                self.store.service_routes.insert(service, route);
                self.notify(
                    out,
                    ObjectKind::Service,
                    ObjectRef::Named(key),
                    Change::Modified,
                );
            }
        }
    }

    fn remove_pod(&mut self, id: PodId, out: &mut Vec<WatchEvent>) {
        let Some(pod) = self.store.pods.remove(&id) else {
            return;
        };
        self.store.pod_set_version += 1;
        self.store.terminated.remove(&id);
        if let Some(node) = pod.node.as_ref().and_then(|n| self.store.nodes.get_mut(n))
            && node.pods.remove(&id)
        {
            node.requested = node.requested.sub(&pod.requests);
            node.non_zero_requested = node.non_zero_requested.sub(&pod.non_zero_requests);
        }
        if let Some(o) = &pod.owner
            && let Some(set) = self.store.pods_by_owner.get_mut(&o.key)
        {
            set.remove(&id);
            if set.is_empty() {
                self.store.pods_by_owner.remove(&o.key);
            }
        }
        self.recorder.counters.pods_deleted += 1;
        let r = Self::pod_ref(&self.store.nodes, &pod);
        self.notify(out, ObjectKind::Pod, r, Change::Deleted);
    }
}

impl ClusterState {
    /// The workload a ReplicaSet belongs to, for failure metrics: `Deployment ns/name` when a
    /// Deployment owns it, else `ReplicaSet ns/name`.
    pub fn workload_key(&self, rs_key: &str) -> Option<String> {
        let Some(rs) = self.store.replica_sets.get(rs_key) else {
            // A StatefulSet owns its pods directly.
            return self
                .store
                .stateful_sets
                .contains_key(rs_key)
                .then(|| format!("StatefulSet {rs_key}"));
        };
        Some(match &rs.owner {
            Some(d) => format!("Deployment {}", d.key),
            None => format!("ReplicaSet {rs_key}"),
        })
    }

    /// Open a failure record for a fault hitting `nodes` at `now`: the pods bound there (not
    /// terminal, not already being deleted) are the pods lost; their workloads must get back
    /// to full readiness for the failure to count as recovered.
    pub fn record_failure(
        &mut self,
        kind: &'static str,
        target: &str,
        nodes: Vec<String>,
        now: SimTime,
    ) {
        let mut pods_lost = 0u64;
        let mut workloads: Vec<String> = Vec::new();
        for n in &nodes {
            let Some(node) = self.store.nodes.get(n) else {
                continue;
            };
            for id in &node.pods {
                let Some(p) = self.store.pods.get(id) else {
                    continue;
                };
                if !p.is_active() {
                    continue;
                }
                pods_lost += 1;
                if let Some(w) = p.owner.as_ref().and_then(|o| self.workload_key(&o.key))
                    && !workloads.contains(&w)
                {
                    workloads.push(w);
                }
            }
        }
        workloads.sort();
        self.recorder
            .failures
            .push(crate::cluster::metrics::FailureRecord {
                kind,
                target: target.to_string(),
                at: now,
                nodes,
                workloads,
                pods_lost,
                detected_at: None,
                first_replacement_at: None,
                recovered_at: None,
            });
    }

    /// Close every failure whose replacements have started and whose workloads are all fully
    /// Ready again (`status.readyReplicas >= spec.replicas`).
    fn check_recovery(&mut self, now: SimTime) {
        let store = &self.store;
        for f in &mut self.recorder.failures {
            if f.recovered_at.is_some() || f.first_replacement_at.is_none() {
                continue;
            }
            let all = f.workloads.iter().all(|w| {
                if let Some(k) = w.strip_prefix("Deployment ") {
                    store
                        .deployments
                        .get(k)
                        .is_none_or(|d| d.status.ready_replicas >= d.replicas)
                } else if let Some(k) = w.strip_prefix("StatefulSet ") {
                    store
                        .stateful_sets
                        .get(k)
                        .is_none_or(|s| s.status.ready_replicas >= s.replicas)
                } else if let Some(k) = w.strip_prefix("ReplicaSet ") {
                    store
                        .replica_sets
                        .get(k)
                        .is_none_or(|r| r.status.ready_replicas >= r.replicas)
                } else {
                    true
                }
            });
            if all {
                f.recovered_at = Some(now);
            }
        }
    }
}

impl ClusterState {
    /// Commit a StatefulSet or volume-claim write.
    fn apply_stateful(&mut self, write: ApiWrite, now: SimTime, out: &mut Vec<WatchEvent>) {
        match write {
            ApiWrite::CreateStatefulSet(mut s) => {
                let key = s.key();
                if self.store.stateful_sets.contains_key(&key) {
                    return;
                }
                s.created_at = now;
                self.store.stateful_sets.insert(key.clone(), *s);
                self.notify(
                    out,
                    ObjectKind::StatefulSet,
                    ObjectRef::Named(key),
                    Change::Added,
                );
            }
            ApiWrite::UpdateStatefulSet {
                key,
                replicas,
                template,
                partition,
            } => {
                let Some(s) = self.store.stateful_sets.get_mut(&key) else {
                    return;
                };
                if let Some(r) = replicas {
                    s.replicas = r;
                }
                if let Some(t) = template {
                    s.update_revision =
                        crate::cluster::controllers::statefulset::revision_name(&s.name, &t);
                    s.template = t;
                }
                if let (
                    Some(p),
                    crate::cluster::stateful_spec::StatefulSetUpdateStrategy::RollingUpdate {
                        partition,
                    },
                ) = (partition, &mut s.update_strategy)
                {
                    *partition = p;
                }
                self.notify(
                    out,
                    ObjectKind::StatefulSet,
                    ObjectRef::Named(key),
                    Change::Modified,
                );
            }
            ApiWrite::StatefulSetStatus {
                key,
                status,
                rollout_complete,
            } => {
                let Some(s) = self.store.stateful_sets.get_mut(&key) else {
                    return;
                };
                let complete = rollout_complete && s.current_revision != s.update_revision;
                if s.status == status && !complete {
                    return;
                }
                s.status = status;
                if complete {
                    s.current_revision = s.update_revision.clone();
                    s.current_template = std::sync::Arc::clone(&s.template);
                    self.recorder.event(
                        now,
                        "StatefulSet",
                        key.clone(),
                        "RollingUpdateComplete",
                        format!("update to revision {} complete", s.update_revision),
                    );
                }
                self.check_recovery(now);
                self.notify(
                    out,
                    ObjectKind::StatefulSet,
                    ObjectRef::Named(key),
                    Change::Modified,
                );
            }
            ApiWrite::BindVolumeClaim { claim, binding } => {
                if self.store.volume_claims.contains_key(&claim) {
                    return;
                }
                let where_ = match &binding.zone {
                    Some(z) => format!("zone {z} (node {})", binding.node),
                    None => format!("node {}", binding.node),
                };
                self.recorder.event(
                    now,
                    "PersistentVolumeClaim",
                    claim.clone(),
                    "ProvisioningSucceeded",
                    format!("volume provisioned in {where_} for the first consumer"),
                );
                self.store.volume_claims.insert(claim, binding);
                // Nothing watches claims: the StatefulSet controller reads them when it
                // creates a replica's pod.
                self.store.resource_version += 1;
                self.recorder.counters.api_writes += 1;
            }
            _ => {}
        }
    }
}
