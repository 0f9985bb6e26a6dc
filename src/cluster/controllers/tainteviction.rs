//! The taint eviction controller (upstream `pkg/controller/tainteviction`, formerly the
//! NoExecuteTaintManager): when a node has `NoExecute` taints, each of its pods that does not
//! tolerate them all is deleted at once; a pod that tolerates them all is deleted after the
//! smallest `tolerationSeconds` among the matching tolerations (never, if none has one).
//! Removing the taints cancels pending deletions.
//!
//! Every pod also tolerates `node.kubernetes.io/not-ready` and `node.kubernetes.io/unreachable`
//! `NoExecute` for 300 s unless it has its own toleration for them: upstream's
//! `DefaultTolerationSeconds` admission plugin adds these to every pod at creation
//! (`plugin/pkg/admission/defaulttolerationseconds`); kubesim applies them here, which is the
//! same for every decision the controller makes.

use std::collections::BTreeMap;

use crate::cluster::apiserver;
use crate::cluster::controllers::nodelifecycle::{TAINT_NOT_READY, TAINT_UNREACHABLE};
use crate::cluster::events::{ApiWrite, Change, ControllerTimer, Event, ObjectRef, WatchEvent};
use crate::cluster::objects::{ObjectKind, PodId};
use crate::cluster::spec::{Taint, TaintEffect, Toleration, TolerationOperator};
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, EventId, SimDuration, SimTime};

/// Upstream `Toleration.ToleratesTaint`: effects match (empty = all), keys match (empty key
/// with `Exists` = all), and for `Equal` the values match.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if t.effect.is_some_and(|e| e != taint.effect) {
        return false;
    }
    if !t.key.is_empty() && t.key != taint.key {
        return false;
    }
    match t.operator {
        TolerationOperator::Exists => true,
        TolerationOperator::Equal => t.value == taint.value,
    }
}

/// How long a pod with `tolerations` may stay on a node with `NoExecute` `taints`:
/// `Some(ZERO)` = evict now (a taint is not tolerated), `Some(d)` = after `d` (the smallest
/// `tolerationSeconds` of the matching tolerations, negative counting as 0), `None` = never.
/// `defaults` are the `(key, seconds)` tolerations DefaultTolerationSeconds adds when the pod
/// has none for that key.
pub fn toleration_time(
    tolerations: &[Toleration],
    taints: &[Taint],
    defaults: &[(&str, i64)],
) -> Option<SimDuration> {
    let mut min: Option<i64> = None;
    for taint in taints.iter().filter(|t| t.effect == TaintEffect::NoExecute) {
        let matching: Vec<Option<i64>> = tolerations
            .iter()
            .filter(|t| tolerates(t, taint))
            .map(|t| t.toleration_seconds)
            .collect();
        let matching = if matching.is_empty() {
            match defaults.iter().find(|(k, _)| *k == taint.key) {
                Some((_, s)) => vec![Some(*s)],
                None => return Some(SimDuration::ZERO),
            }
        } else {
            matching
        };
        for s in matching.into_iter().flatten() {
            min = Some(min.map_or(s, |m| m.min(s)));
        }
    }
    min.map(|s| SimDuration::from_secs(s.max(0) as u64))
}

#[derive(Debug)]
struct Scheduled {
    created: SimTime,
    fire_at: SimTime,
    timer: EventId,
}

/// The taint eviction controller component.
#[derive(Debug, Default)]
pub struct TaintEvictionController {
    pending: BTreeMap<PodId, Scheduled>,
}

impl TaintEvictionController {
    /// A new controller.
    pub fn new() -> Self {
        Self::default()
    }

    fn cancel(&mut self, id: PodId, ctx: &mut Context<'_, Event>) {
        if let Some(s) = self.pending.remove(&id) {
            ctx.cancel(s.timer);
        }
    }

    /// Upstream `processPodOnNode`.
    fn process_pod(&mut self, id: PodId, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        // No node has a `NoExecute` taint: no pod waits for an eviction (the outcome of every
        // branch below is then `cancel`), decided without looking the pod or its node up.
        if state.store.no_execute_tainted_nodes == 0 {
            self.cancel(id, ctx);
            return;
        }
        let now = ctx.now();
        let Some(pod) = state.store.pods.get(&id) else {
            self.cancel(id, ctx);
            return;
        };
        let Some(node) = pod.node.as_ref().and_then(|n| state.store.nodes.get(n)) else {
            self.cancel(id, ctx);
            return;
        };
        if pod.deletion_timestamp.is_some() || !pod.is_active() {
            self.cancel(id, ctx);
            return;
        }
        let cp = &state.control_plane;
        let defaults = [
            (TAINT_NOT_READY, cp.default_not_ready_toleration_seconds),
            (TAINT_UNREACHABLE, cp.default_unreachable_toleration_seconds),
        ];
        let has_no_execute = node
            .taints
            .iter()
            .any(|t| t.effect == TaintEffect::NoExecute);
        let wait = if has_no_execute {
            toleration_time(&pod.template.tolerations, &node.taints, &defaults)
        } else {
            None
        };
        let Some(wait) = wait else {
            self.cancel(id, ctx);
            return;
        };
        // The pod's clock starts when it was first found on a tainted node (upstream keeps the
        // work item's `CreatedAt` across updates).
        let created = self.pending.get(&id).map_or(now, |s| s.created);
        let fire_at = (created + wait).max(now);
        if self.pending.get(&id).is_some_and(|s| s.fire_at == fire_at) {
            return;
        }
        self.cancel(id, ctx);
        let timer = ctx.send_at(
            ctx.self_id(),
            fire_at,
            Event::Controller(ControllerTimer::TaintEvict(id)),
        );
        self.pending.insert(
            id,
            Scheduled {
                created,
                fire_at,
                timer,
            },
        );
    }

    fn evict(&mut self, id: PodId, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        self.pending.remove(&id);
        let Some(pod) = state.store.pods.get(&id) else {
            return;
        };
        if pod.deletion_timestamp.is_some() {
            return;
        }
        state.recorder.counters.taint_evictions += 1;
        state.recorder.event(
            ctx.now(),
            "Pod",
            pod.key(),
            "TaintManagerEviction",
            format!("Marking for deletion Pod {}", pod.key()),
        );
        apiserver::write(
            ctx,
            state,
            ApiWrite::DeletePod {
                id,
                by: "taint-eviction-controller".into(),
            },
        );
    }

    fn on_watch(&mut self, w: &WatchEvent, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match (w.kind, &w.object, w.change) {
            (ObjectKind::Node, ObjectRef::Named(name), Change::Added | Change::Modified) => {
                let pods: Vec<PodId> = state
                    .store
                    .nodes
                    .get(name)
                    .map(|n| n.pods.iter().copied().collect())
                    .unwrap_or_default();
                for id in pods {
                    self.process_pod(id, state, ctx);
                }
            }
            (ObjectKind::Pod, ObjectRef::Pod { id, .. }, Change::Deleted) => self.cancel(*id, ctx),
            (
                ObjectKind::Pod,
                ObjectRef::Pod {
                    id, node: Some(_), ..
                },
                _,
            ) => self.process_pod(*id, state, ctx),
            _ => {}
        }
    }
}

impl Component<Event, ClusterState> for TaintEvictionController {
    fn name(&self) -> &str {
        "taint-eviction-controller"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match event {
            // Without a kube-controller-manager leader nothing is watched or evicted.
            Event::Watch(_) if !state.leadership.controller_manager => {}
            Event::Controller(ControllerTimer::TaintEvict(id))
                if !state.leadership.controller_manager =>
            {
                self.pending.remove(&id);
            }
            // A fresh process processes every pod on a node: the toleration clock of a pod
            // on a tainted node starts again now (upstream `processPodOnNode` with no work
            // item yet).
            Event::Controller(ControllerTimer::StartedLeading) => {
                for s in std::mem::take(&mut self.pending).into_values() {
                    ctx.cancel(s.timer);
                }
                let bound: Vec<PodId> = state
                    .store
                    .nodes
                    .values()
                    .flat_map(|n| n.pods.iter().copied())
                    .collect();
                for id in bound {
                    self.process_pod(id, state, ctx);
                }
            }
            Event::Watch(w) => self.on_watch(&w, state, ctx),
            Event::Controller(ControllerTimer::TaintEvict(id)) => self.evict(id, state, ctx),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, value: &str, effect: TaintEffect) -> Taint {
        Taint {
            key: key.into(),
            value: value.into(),
            effect,
        }
    }

    fn tol(
        key: &str,
        op: TolerationOperator,
        value: &str,
        effect: Option<TaintEffect>,
        secs: Option<i64>,
    ) -> Toleration {
        Toleration {
            key: key.into(),
            operator: op,
            value: value.into(),
            effect,
            toleration_seconds: secs,
        }
    }

    #[test]
    fn tolerates_table() {
        use TaintEffect::*;
        use TolerationOperator::*;
        let t = taint("k", "v", NoExecute);
        // (toleration, expected)
        let cases = [
            (tol("k", Equal, "v", Some(NoExecute), None), true),
            (tol("k", Equal, "w", Some(NoExecute), None), false),
            (tol("k", Exists, "", Some(NoExecute), None), true),
            (tol("k", Exists, "", None, None), true),
            (tol("", Exists, "", None, None), true),
            (tol("k", Exists, "", Some(NoSchedule), None), false),
            (tol("other", Exists, "", None, None), false),
        ];
        for (i, (tl, want)) in cases.iter().enumerate() {
            assert_eq!(tolerates(tl, &t), *want, "case {i}");
        }
    }

    #[test]
    fn toleration_time_table() {
        use TaintEffect::*;
        use TolerationOperator::*;
        let unreachable = taint(TAINT_UNREACHABLE, "", NoExecute);
        let other = taint("dedicated", "gpu", NoExecute);
        let soft = taint("soft", "", NoSchedule);
        let defaults = [(TAINT_NOT_READY, 300), (TAINT_UNREACHABLE, 300)];
        let s = |x: u64| Some(SimDuration::from_secs(x));
        // (tolerations, taints, expected)
        let cases: Vec<(Vec<Toleration>, Vec<Taint>, Option<SimDuration>)> = vec![
            // DefaultTolerationSeconds: 300 s.
            (vec![], vec![unreachable.clone()], s(300)),
            // The pod's own toleration wins over the default.
            (
                vec![tol(
                    TAINT_UNREACHABLE,
                    Exists,
                    "",
                    Some(NoExecute),
                    Some(30),
                )],
                vec![unreachable.clone()],
                s(30),
            ),
            // Tolerated forever.
            (
                vec![tol(TAINT_UNREACHABLE, Exists, "", Some(NoExecute), None)],
                vec![unreachable.clone()],
                None,
            ),
            // An untolerated taint evicts at once.
            (vec![], vec![unreachable.clone(), other.clone()], s(0)),
            // Smallest of several.
            (
                vec![tol("dedicated", Equal, "gpu", Some(NoExecute), Some(60))],
                vec![unreachable.clone(), other.clone()],
                s(60),
            ),
            // Negative counts as 0.
            (
                vec![tol("dedicated", Exists, "", None, Some(-5))],
                vec![other.clone()],
                s(0),
            ),
            // NoSchedule taints do not evict.
            (vec![], vec![soft], None),
        ];
        for (i, (tols, taints, want)) in cases.iter().enumerate() {
            assert_eq!(toleration_time(tols, taints, &defaults), *want, "case {i}");
        }
    }
}
