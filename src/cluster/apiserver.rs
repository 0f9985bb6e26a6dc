//! The API server: the hub every component writes through. It commits each write (the write
//! already waited the etcd latency on its way in), bumps `resourceVersion`, and delivers the
//! change to the kind's watchers after the watch delay.

use rand::RngExt;

use crate::cluster::events::{ApiWrite, Event};
use crate::cluster::state::ClusterState;
use crate::cluster::wiring::Wiring;
use crate::engine::{Component, Context, SimRng};

/// Characters of generated name suffixes, as upstream `k8s.io/apimachinery/pkg/util/rand`
/// (`alphanums`: no vowels, no confusable digits).
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Length of the suffix upstream appends for `generateName` (`randomLength = 5`, `names.go`).
const GENERATE_NAME_SUFFIX_LEN: usize = 5;

/// A random `generateName` suffix, e.g. `x2k4z`.
pub fn random_suffix(rng: &mut SimRng) -> String {
    (0..GENERATE_NAME_SUFFIX_LEN)
        .map(|_| ALPHANUMS[rng.random_range(0..ALPHANUMS.len())] as char)
        .collect()
}

/// The API server component.
#[derive(Debug, Default)]
pub struct ApiServer {
    wiring: Wiring,
    scratch: Vec<crate::cluster::events::WatchEvent>,
}

impl ApiServer {
    /// A new API server.
    pub fn new(wiring: Wiring) -> Self {
        ApiServer {
            wiring,
            scratch: Vec::new(),
        }
    }

    fn commit(&mut self, write: ApiWrite, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let mut out = std::mem::take(&mut self.scratch);
        // A write of the pod's status only (reported by its kubelet, or `MarkPodsNotReady`).
        let status_only = matches!(
            write,
            ApiWrite::PodStarted { .. }
                | ApiWrite::PodReady { .. }
                | ApiWrite::PodRestarted { .. }
                | ApiWrite::PodFinished { .. }
        );
        let services = !state.spec.services.is_empty();
        {
            let rng = ctx.rng();
            let mut suffix = || random_suffix(rng);
            state.apply(write, now, &mut suffix, &mut out);
        }
        let delay = state.control_plane.watch_delay;
        for w in out.drain(..) {
            // The StatefulSet controller's filtered pod informer.
            let statefulset = !state.store.stateful_sets.is_empty()
                && matches!(&w.object, crate::cluster::events::ObjectRef::Pod { owner: Some(o), .. }
                    if Wiring::statefulset_watches(w.kind, state.store.stateful_sets.contains_key(o)));
            let pod = match &w.object {
                crate::cluster::events::ObjectRef::Pod { owner, node, .. } => {
                    Some((owner.is_some(), node.is_some()))
                }
                crate::cluster::events::ObjectRef::Named(_) => None,
            };
            let wiring = &self.wiring;
            // Every watcher gets its copy; the last one gets the event itself (one clone fewer).
            let mut targets = wiring
                .watchers(w.kind)
                .iter()
                .copied()
                .filter(|t| {
                    pod.is_none_or(|(owned, bound)| {
                        wiring.pod_watch_reaches(*t, w.change, owned)
                            && wiring.pod_change_reaches(*t, w.change, bound, status_only, services)
                    })
                })
                .chain(statefulset.then_some(wiring.statefulset))
                .peekable();
            while let Some(target) = targets.next() {
                if targets.peek().is_some() {
                    ctx.send(target, delay, Event::Watch(w.clone()));
                } else {
                    ctx.send(target, delay, Event::Watch(w));
                    break;
                }
            }
        }
        self.scratch = out;
    }
}

impl Component<Event, ClusterState> for ApiServer {
    fn name(&self) -> &str {
        "apiserver"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match event {
            Event::Api(write) => match state.api_down_until {
                // Down (timeline `apiServerDown`): the write fails and its client retries; it
                // lands when the API server is back, in the order it was first sent.
                Some(until) if ctx.now() < until => {
                    ctx.send_at(ctx.self_id(), until, Event::Api(write));
                }
                _ => self.commit(write, state, ctx),
            },
            Event::Fault(crate::cluster::events::Fault::ApiServerDown(until)) => {
                state.api_down_until = Some(until);
            }
            _ => {}
        }
    }
}

/// Send a write to the API server; it commits after the configured write latency.
pub fn write(ctx: &mut Context<'_, Event>, state: &ClusterState, write: ApiWrite) {
    let w = Wiring::new();
    ctx.send(
        w.api,
        state.control_plane.api_write_latency,
        Event::Api(write),
    );
}
