//! Endpoint membership, shared by the request and the fluid traffic modes: which servers
//! (pods) are ready endpoints of which Service, as the EndpointSlice controller decides it.
//!
//! The controller (pkg/controller/endpointslice) puts a pod in a Service's slice when the
//! Service's selector matches it and, for a ready endpoint, the pod is Ready and not
//! terminating. It runs inside kube-controller-manager, so only under its leader: while none
//! leads, memberships stay as they were and kube-proxy keeps sending tries to pods that
//! left; a new leader's first sync lists everything again ([`EndpointBook::resync`]).
//! kube-proxy learns a change one API write and one watch delivery later: the book sends
//! itself a [`TrafficEvent::Endpoint`] after that delay, and each mode applies it to its own
//! endpoint lists.

use std::collections::BTreeMap;

use crate::cluster::events::Event;
use crate::cluster::objects::{Pod, PodId};
use crate::cluster::spec::{ClusterSpec, Labels};
use crate::cluster::state::ClusterState;
use crate::engine::{Context, SimDuration};

use super::TrafficEvent;

/// What decides a pod's membership of one Service.
#[derive(Debug)]
struct Selection {
    namespace: String,
    selector: Labels,
    /// `rollouts-pod-template-hash` the Rollout controller added to the selector, if any.
    hash: Option<String>,
    /// A `LeaderElection` governs the Service: only `leader`'s pod is an endpoint.
    singleton: bool,
    /// The leader's pod of a singleton Service (`None` during a failover).
    leader: Option<PodId>,
}

/// The EndpointSlice controller's decisions for every Service and server of a traffic
/// component. Servers are numbered by the component in the order it adds them
/// ([`EndpointBook::add_server`]); a server outlives its pod's deletion (its index stays valid)
/// but is no longer the pod's current server.
#[derive(Debug)]
pub(super) struct EndpointBook {
    services: Vec<Selection>,
    /// The current server of each live pod.
    server_of_pod: BTreeMap<PodId, u32>,
    /// The pod of each server.
    pods: Vec<PodId>,
    /// The Services each server is an endpoint of, as last decided (Service indices).
    member: Vec<Vec<u32>>,
    /// From a membership decision to kube-proxy knowing it: one API write and one watch
    /// delivery.
    delay: SimDuration,
}

impl EndpointBook {
    /// The book for `spec`'s Services, with no servers yet.
    pub(super) fn new(spec: &ClusterSpec) -> EndpointBook {
        let mut services: Vec<Selection> = spec
            .services
            .iter()
            .map(|s| Selection {
                namespace: s.namespace.clone(),
                selector: s.selector.clone(),
                hash: None,
                singleton: false,
                leader: None,
            })
            .collect();
        for e in &spec.stateful.leader_elections {
            if let Some(s) = e.service.and_then(|i| services.get_mut(i)) {
                s.singleton = true;
            }
        }
        EndpointBook {
            services,
            server_of_pod: BTreeMap::new(),
            pods: Vec::new(),
            member: Vec::new(),
            delay: spec.control_plane.api_write_latency + spec.control_plane.watch_delay,
        }
    }

    /// The current server of `pod`, if it has one.
    pub(super) fn server_of(&self, pod: PodId) -> Option<u32> {
        self.server_of_pod.get(&pod).copied()
    }

    /// Numbers a new server for `pod` (the next index) and makes it the pod's current server.
    pub(super) fn add_server(&mut self, pod: PodId) -> u32 {
        let s = self.pods.len() as u32;
        self.pods.push(pod);
        self.member.push(Vec::new());
        self.server_of_pod.insert(pod, s);
        s
    }

    /// True if `svc`'s selector (namespace and labels, not readiness) matches `p`.
    pub(super) fn may_select(&self, svc: usize, p: &Pod) -> bool {
        let s = &self.services[svc];
        p.namespace == s.namespace
            && !s.selector.is_empty()
            && s.selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
    }

    /// True if some Service's selector matches `p`.
    pub(super) fn any_may_select(&self, p: &Pod) -> bool {
        (0..self.services.len()).any(|s| self.may_select(s, p))
    }

    /// True if `p` is a ready endpoint of Service `svc`: selected (with any hash the Rollout
    /// controller added), Ready, not terminating, and the leader if a `LeaderElection`
    /// governs the Service.
    pub(super) fn selects(&self, svc: usize, p: &Pod) -> bool {
        let s = &self.services[svc];
        self.may_select(svc, p)
            && s.hash.as_ref().is_none_or(|h| {
                p.labels.get(crate::cluster::argo::spec::ROLLOUT_HASH_LABEL) == Some(h)
            })
            && p.is_ready()
            && !p.is_terminating()
            && (!s.singleton || s.leader == Some(p.id))
    }

    /// `server`'s pod changed (`deleted`: it is gone): its membership of every Service is
    /// decided again, under a controller-manager leader; a deleted pod's server stops being
    /// its current one.
    pub(super) fn pod_changed(
        &mut self,
        server: u32,
        deleted: bool,
        state: &ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let id = self.pods[server as usize];
        if state.leadership.controller_manager {
            let pod = state.store.pods.get(&id);
            for svc in 0..self.services.len() {
                let ready = !deleted && pod.is_some_and(|p| self.selects(svc, p));
                self.set_member(server, svc, ready, ctx);
            }
        }
        if deleted {
            self.server_of_pod.remove(&id);
        }
    }

    /// The Rollout controller set (or cleared) the hash in Service `svc`'s selector; the
    /// membership of every live pod is decided again.
    pub(super) fn set_hash(
        &mut self,
        svc: usize,
        hash: Option<String>,
        state: &ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        self.services[svc].hash = hash;
        self.resync_service(svc, state, ctx);
    }

    /// Singleton Service `svc` has a new leader (`None`: none during a failover); the
    /// membership of every live pod is decided again. An unknown Service is ignored.
    pub(super) fn set_leader(
        &mut self,
        svc: usize,
        leader: Option<PodId>,
        state: &ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let Some(s) = self.services.get_mut(svc) else {
            return;
        };
        s.leader = leader;
        self.resync_service(svc, state, ctx);
    }

    /// Every live pod's membership of `svc`, decided again (in pod id order), if a
    /// controller-manager leader runs the EndpointSlice controller; otherwise [`Self::resync`]
    /// catches up later.
    fn resync_service(&mut self, svc: usize, state: &ClusterState, ctx: &mut Context<'_, Event>) {
        if !state.leadership.controller_manager {
            return;
        }
        let live: Vec<(PodId, u32)> = self.server_of_pod.iter().map(|(p, s)| (*p, *s)).collect();
        for (pod, server) in live {
            let ready = state
                .store
                .pods
                .get(&pod)
                .is_some_and(|p| self.selects(svc, p));
            self.set_member(server, svc, ready, ctx);
        }
    }

    /// A new kube-controller-manager leader starts the EndpointSlice controller, whose first
    /// sync lists every Service and pod (its informers' initial list queues every Service):
    /// every server's membership is decided again from the store, so pods that changed or were
    /// deleted while no leader ran (their slices stale, kube-proxy still sending them tries)
    /// leave or join now.
    pub(super) fn resync(&mut self, state: &ClusterState, ctx: &mut Context<'_, Event>) {
        for server in 0..self.pods.len() {
            let pod = state.store.pods.get(&self.pods[server]);
            for svc in 0..self.services.len() {
                let ready = pod.is_some_and(|p| self.selects(svc, p));
                self.set_member(server as u32, svc, ready, ctx);
            }
        }
    }

    /// Records `server`'s membership of `svc`; a change reaches kube-proxy (this component's
    /// [`TrafficEvent::Endpoint`]) after the EndpointSlice write and watch.
    fn set_member(&mut self, server: u32, svc: usize, ready: bool, ctx: &mut Context<'_, Event>) {
        let member = &mut self.member[server as usize];
        let was = member.contains(&(svc as u32));
        if ready == was {
            return;
        }
        if ready {
            member.push(svc as u32);
        } else {
            member.retain(|&x| x != svc as u32);
        }
        ctx.send_self(
            self.delay,
            Event::Traffic(TrafficEvent::Endpoint {
                service: svc as u32,
                server,
                ready,
            }),
        );
    }
}
