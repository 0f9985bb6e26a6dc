//! `kubectl drain` as a client: the timeline's `drainNode` cordons the node, then this component
//! asks the Eviction API to evict every pod still on it. An eviction a PodDisruptionBudget
//! refuses (429) is retried after 5 s, as kubectl does (`k8s.io/kubectl/pkg/drain`: "will retry
//! after 5s"). The drain ends when no pod is left on the node (terminating pods included, as
//! kubectl waits for deletion).

use std::collections::BTreeSet;

use crate::cluster::apiserver;
use crate::cluster::events::{ApiWrite, ControllerTimer, Event};
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, SimDuration};

/// kubectl drain's wait before retrying a refused eviction.
pub const EVICTION_RETRY: SimDuration = SimDuration::from_secs(5);

/// The drain client component.
#[derive(Debug, Default)]
pub struct Drainer {
    active: BTreeSet<String>,
}

impl Drainer {
    /// A new drainer.
    pub fn new() -> Self {
        Self::default()
    }

    fn step(&mut self, node: &str, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let Some(n) = state.store.nodes.get(node) else {
            self.active.remove(node);
            return;
        };
        self.active.insert(node.to_string());
        let pods: Vec<_> = n
            .pods
            .iter()
            .filter_map(|id| state.store.pods.get(id))
            .collect();
        if pods.is_empty() {
            self.active.remove(node);
            state.recorder.event(
                now,
                "Node",
                node.to_string(),
                "Drained",
                format!("node {node} drained"),
            );
            return;
        }
        let to_evict: Vec<_> = pods
            .iter()
            .filter(|p| p.deletion_timestamp.is_none())
            .map(|p| p.id)
            .collect();
        for id in to_evict {
            apiserver::write(
                ctx,
                state,
                ApiWrite::EvictPod {
                    id,
                    by: format!("drain of node {node}"),
                },
            );
        }
        ctx.send_self(
            EVICTION_RETRY,
            Event::Controller(ControllerTimer::Drain(node.to_string())),
        );
    }
}

impl Component<Event, ClusterState> for Drainer {
    fn name(&self) -> &str {
        "drain"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        if let Event::Controller(ControllerTimer::Drain(node)) = event {
            self.step(&node, state, ctx);
        }
    }
}
