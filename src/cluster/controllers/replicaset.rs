//! The ReplicaSet controller (upstream `pkg/controller/replicaset`): keeps `spec.replicas`
//! active pods, creating from the template or deleting in [`ranking`] order, with
//! expectations so that a reconcile never acts twice on writes still in flight; writes status.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::cluster::apiserver;
use crate::cluster::controllers::ranking::{Ranked, sort_for_deletion};
use crate::cluster::controllers::workqueue::WorkQueue;
use crate::cluster::events::{ApiWrite, Change, ControllerTimer, Event, ObjectRef, WatchEvent};
use crate::cluster::objects::{
    ObjectKind, OwnerRef, Pod, PodId, PodPhase, ReplicaSet, ReplicaSetStatus,
};
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, SimDuration, SimTime};

/// Most pods one reconcile creates or deletes (upstream `BurstReplicas = 500`).
pub const BURST_REPLICAS: usize = 500;

/// Writes a ReplicaSet is waiting to see (upstream `ControllerExpectations`).
#[derive(Debug, Default, Clone)]
struct Expectations {
    adds: i64,
    dels: std::collections::BTreeSet<PodId>,
}

impl Expectations {
    fn satisfied(&self) -> bool {
        self.adds <= 0 && self.dels.is_empty()
    }
}

/// The ReplicaSet controller component.
#[derive(Debug, Default)]
pub struct ReplicaSetController {
    queue: WorkQueue,
    expectations: BTreeMap<String, Expectations>,
}

/// A new pod object from a ReplicaSet's template.
pub fn pod_from_template(rs: &ReplicaSet) -> Pod {
    let t: &Arc<_> = &rs.template;
    Pod {
        id: PodId(0),
        name: String::new(),
        namespace: rs.namespace.clone(),
        labels: t.labels.clone(),
        owner: Some(OwnerRef {
            kind: "ReplicaSet",
            key: rs.key(),
        }),
        workload: rs.workload.clone(),
        template: Arc::clone(t),
        requests: t.pod_requests(),
        non_zero_requests: t.non_zero_requests(),
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

impl ReplicaSetController {
    /// A new controller.
    pub fn new() -> Self {
        Self::default()
    }

    fn reconcile(&mut self, key: &str, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let Some(rs) = state.store.replica_sets.get(key) else {
            self.expectations.remove(key);
            return;
        };
        // The active pods, listed only when needed (a scale-down ranks them; minReadySeconds
        // needs their ready times). Otherwise the store's per-owner counts answer in O(1): with
        // 150,000 pods in one ReplicaSet, listing them on every pod event is quadratic.
        let counts = state
            .store
            .owner_counts
            .get(key)
            .copied()
            .unwrap_or_default();
        let list_active = || -> Vec<&Pod> {
            state
                .store
                .pods_by_owner
                .get(key)
                .into_iter()
                .flatten()
                .filter_map(|id| state.store.pods.get(id))
                .filter(|p| p.is_active())
                .collect()
        };
        let available_replicas = if rs.min_ready_seconds <= 0 {
            counts.ready
        } else {
            list_active()
                .iter()
                .filter(|p| p.is_available(rs.min_ready_seconds, now))
                .count() as i32
        };
        let status = ReplicaSetStatus {
            replicas: counts.active,
            ready_replicas: counts.ready,
            available_replicas,
        };
        // Ready but not yet available pods become available later: look again then
        // (upstream: AddAfter(key, minReadySeconds)).
        if status.ready_replicas > status.available_replicas && rs.min_ready_seconds > 0 {
            self.queue.add_after(
                key,
                SimDuration::from_secs(rs.min_ready_seconds as u64),
                ctx,
            );
        }

        let satisfied = self.expectations.get(key).is_none_or(|e| e.satisfied());
        let diff = i64::from(counts.active) - i64::from(rs.replicas);
        let mut writes: Vec<ApiWrite> = Vec::new();
        if satisfied && diff < 0 {
            let n = ((-diff) as usize).min(BURST_REPLICAS);
            let prefix = format!("{}-", rs.name);
            for _ in 0..n {
                writes.push(ApiWrite::CreatePod {
                    pod: Box::new(pod_from_template(rs)),
                    generate_name: prefix.clone(),
                });
            }
            self.expectations.entry(key.to_string()).or_default().adds = n as i64;
            state.recorder.event(
                now,
                "ReplicaSet",
                key.to_string(),
                "SuccessfulCreate",
                format!("Creating {n} pod(s)"),
            );
        } else if satisfied && diff > 0 {
            let n = (diff as usize).min(BURST_REPLICAS);
            let active = list_active();
            // Rank = active pods of this ReplicaSet on the same node (upstream
            // getPodsRankedByRelatedPodsOnSameNode).
            let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
            for p in &active {
                if let Some(n) = &p.node {
                    *per_node.entry(n.as_str()).or_insert(0) += 1;
                }
            }
            let mut ranked: Vec<Ranked<'_>> = active
                .iter()
                .map(|p| Ranked {
                    pod: p,
                    rank: p.node.as_deref().map_or(0, |n| per_node[n]),
                })
                .collect();
            sort_for_deletion(&mut ranked, now);
            let victims: Vec<(PodId, String)> = ranked
                .iter()
                .take(n)
                .map(|r| (r.pod.id, r.pod.key()))
                .collect();
            let exp = self.expectations.entry(key.to_string()).or_default();
            let by = format!("ReplicaSet {key}");
            for (id, pod_key) in victims {
                exp.dels.insert(id);
                state.recorder.event(
                    now,
                    "ReplicaSet",
                    key.to_string(),
                    "SuccessfulDelete",
                    format!("Deleted pod: {pod_key}"),
                );
                writes.push(ApiWrite::DeletePod { id, by: by.clone() });
            }
        }
        let status_changed = state
            .store
            .replica_sets
            .get(key)
            .is_some_and(|rs| rs.status != status);
        for w in writes {
            apiserver::write(ctx, state, w);
        }
        if status_changed {
            apiserver::write(
                ctx,
                state,
                ApiWrite::ReplicaSetStatus {
                    key: key.to_string(),
                    status,
                },
            );
        }
    }

    fn on_watch(&mut self, w: &WatchEvent, state: &ClusterState, ctx: &mut Context<'_, Event>) {
        match (&w.object, w.kind) {
            (ObjectRef::Named(key), ObjectKind::ReplicaSet) => {
                if w.change == Change::Deleted {
                    self.expectations.remove(key);
                } else {
                    self.queue.add(key, ctx);
                }
            }
            (
                ObjectRef::Pod {
                    id,
                    owner: Some(owner),
                    ..
                },
                ObjectKind::Pod,
            ) => {
                if let Some(exp) = self.expectations.get_mut(owner) {
                    match w.change {
                        Change::Added => exp.adds -= 1,
                        Change::Deleted => {
                            exp.dels.remove(id);
                        }
                        Change::Modified => {
                            if state
                                .store
                                .pods
                                .get(id)
                                .is_some_and(|p| p.deletion_timestamp.is_some())
                            {
                                exp.dels.remove(id);
                            }
                        }
                    }
                }
                if state.store.replica_sets.contains_key(owner) {
                    self.queue.add(owner, ctx);
                }
            }
            _ => {}
        }
    }
}

impl Component<Event, ClusterState> for ReplicaSetController {
    fn name(&self) -> &str {
        "replicaset-controller"
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
                let keys: Vec<String> = state.store.replica_sets.keys().cloned().collect();
                for k in keys {
                    self.queue.add(&k, ctx);
                }
            }
            _ => {}
        }
    }
}
