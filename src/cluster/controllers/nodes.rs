//! Node housekeeping: provisioning nodes of a pool (the cloud side of "add a node": the node
//! registers after the pool's provisioning delay) and the pod garbage collector's orphan sweep
//! (upstream `pkg/controller/podgc`: pods bound to a node that no longer exists are
//! force-deleted once the node has been gone for the 40 s quarantine).

use std::collections::BTreeMap;

use crate::cluster::apiserver;
use crate::cluster::events::{ApiWrite, Change, ControllerTimer, Event, ObjectRef, WatchEvent};
use crate::cluster::objects::{ObjectKind, PodId};
use crate::cluster::spec::expand_pool;
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, SimDuration};

/// Upstream podgc `quarantineTime`.
pub const ORPHAN_QUARANTINE: SimDuration = SimDuration::from_secs(40);

/// The node housekeeping component.
#[derive(Debug, Default)]
pub struct NodeController {
    /// Next node index per pool (pools start with `count` nodes, indices 0..count).
    next_index: BTreeMap<String, u32>,
}

impl NodeController {
    /// A controller knowing the initial size of each pool.
    pub fn new(next_index: BTreeMap<String, u32>) -> Self {
        NodeController { next_index }
    }

    fn on_timer(
        &mut self,
        t: ControllerTimer,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        match t {
            ControllerTimer::ProvisionNodes { pool, count } => {
                let Some(spec) = state
                    .spec
                    .node_pools
                    .iter()
                    .find(|p| p.name == pool)
                    .cloned()
                else {
                    return;
                };
                let first = self.next_index.get(&pool).copied().unwrap_or(spec.count);
                self.next_index.insert(pool, first + count);
                for node in expand_pool(&spec, first, count) {
                    apiserver::write(ctx, state, ApiWrite::CreateNode(Box::new(node)));
                }
            }
            ControllerTimer::GcOrphans => {
                let orphans: Vec<PodId> = state
                    .store
                    .pods
                    .values()
                    .filter(|p| {
                        p.node
                            .as_ref()
                            .is_some_and(|n| !state.store.nodes.contains_key(n))
                    })
                    .map(|p| p.id)
                    .collect();
                let now = ctx.now();
                for id in orphans {
                    if let Some(p) = state.store.pods.get(&id) {
                        state.recorder.event(
                            now,
                            "Pod",
                            p.key(),
                            "PodGC",
                            "Deleted orphaned pod: its node no longer exists",
                        );
                    }
                    apiserver::write(ctx, state, ApiWrite::RemovePod { id });
                }
            }
            ControllerTimer::Reconcile(_)
            | ControllerTimer::MonitorNodes
            | ControllerTimer::TaintQueue
            | ControllerTimer::TaintEvict(_)
            | ControllerTimer::Drain(_)
            | ControllerTimer::StartedLeading => {}
        }
    }

    fn on_watch(&mut self, w: &WatchEvent, ctx: &mut Context<'_, Event>) {
        if let (ObjectKind::Node, ObjectRef::Named(_), Change::Deleted) =
            (w.kind, &w.object, w.change)
        {
            ctx.send_self(
                ORPHAN_QUARANTINE,
                Event::Controller(ControllerTimer::GcOrphans),
            );
        }
    }
}

impl Component<Event, ClusterState> for NodeController {
    fn name(&self) -> &str {
        "node-controller"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match event {
            Event::Watch(w) => self.on_watch(&w, ctx),
            // PodGC is a kube-controller-manager loop: nothing without a leader; a fresh
            // leader looks for orphans when it starts.
            Event::Controller(ControllerTimer::GcOrphans)
                if !state.leadership.controller_manager => {}
            Event::Controller(ControllerTimer::StartedLeading) => {
                ctx.send_self(
                    crate::engine::SimDuration::ZERO,
                    Event::Controller(ControllerTimer::GcOrphans),
                );
            }
            Event::Controller(t) => self.on_timer(t, state, ctx),
            _ => {}
        }
    }
}
