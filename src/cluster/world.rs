//! Building a cluster simulation from a [`ClusterSpec`] and running it.
//!
//! At time zero, in this order (same-instant events are FIFO): every node registers, then every
//! Deployment and stand-alone ReplicaSet is created, then every PodDisruptionBudget, then the
//! first metrics sample is taken (seeing the time-zero commits), then timeline entries due at
//! zero fire, then the node lifecycle controller's first monitor pass. A replayed trace's
//! nodes due at zero register right after the scenario's nodes.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::cluster::apiserver::ApiServer;
use crate::cluster::autoscaling::AutoscalingTimer;
use crate::cluster::autoscaling::cluster_autoscaler::ClusterAutoscaler;
use crate::cluster::autoscaling::hpa::HpaController;
use crate::cluster::autoscaling::keda::{self, KedaOperator};
use crate::cluster::controllers::deployment::DeploymentController;
use crate::cluster::controllers::nodelifecycle::NodeLifecycleController;
use crate::cluster::controllers::nodes::NodeController;
use crate::cluster::controllers::replicaset::ReplicaSetController;
use crate::cluster::controllers::tainteviction::TaintEvictionController;
use crate::cluster::drain::Drainer;
use crate::cluster::events::{ApiWrite, ControllerTimer, Event};
use crate::cluster::kubelet::Kubelets;
use crate::cluster::metrics::Recorder;
use crate::cluster::objects::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetStatus};
use crate::cluster::sampler::Sampler;
use crate::cluster::scheduler::Scheduler;
use crate::cluster::scheduler::framework::Registry;
use crate::cluster::spec::ClusterSpec;
use crate::cluster::state::{ClusterState, Store};
use crate::cluster::timeline::Timeline;
use crate::cluster::trace::{TraceReplayer, TraceSources, TraceTimer};
use crate::cluster::traffic::stats::TrafficStats;
use crate::cluster::wiring::Wiring;
use crate::engine::{SimTime, Simulation};

/// A cluster simulation ready to run.
pub struct World {
    sim: Simulation<Event, ClusterState>,
    end: SimTime,
}

/// What a finished (or stopped) run leaves behind.
#[derive(Debug)]
pub struct RunOutput {
    /// The scenario.
    pub spec: Arc<ClusterSpec>,
    /// Everything recorded.
    pub recorder: Recorder,
    /// The store at the end.
    pub store: Store,
    /// Simulated time reached.
    pub end_time: SimTime,
    /// Events processed.
    pub events_processed: u64,
    /// Hash of the event trace (time, seq, target of every event), for determinism checks.
    pub trace_hash: u64,
}

/// How to build a [`World`] beyond its spec: the scheduler plugin registry (built-in plus a
/// library user's custom plugins) and the pod whose scheduling attempts are recorded for
/// `kubesim explain`.
#[derive(Debug, Default)]
pub struct WorldOptions {
    /// Plugins the scenario's scheduler profiles may name; `None` = the built-in ones.
    pub registry: Option<Registry>,
    /// Pod to explain: `namespace/name`, `name`, or a prefix of either (the first pod that
    /// matches is followed); `None` records nothing.
    pub explain: Option<String>,
}

impl World {
    /// Build the simulation for `spec` (its seed, its duration) with the built-in scheduler
    /// plugins. Panics if a scheduler profile names a plugin that is not built in: use
    /// [`World::with_options`] with a [`Registry`] holding it.
    pub fn new(spec: Arc<ClusterSpec>) -> World {
        match World::with_options(spec, &WorldOptions::default()) {
            Ok(w) => w,
            Err(e) => panic!("{e}; build the world with World::with_options and a Registry"),
        }
    }

    /// Build the simulation for `spec` with `options`. `Err` names a plugin of a scheduler
    /// profile that the registry does not hold.
    pub fn with_options(spec: Arc<ClusterSpec>, options: &WorldOptions) -> Result<World, String> {
        Self::with_options_and_trace(spec, options, None)
    }

    /// Build the simulation for `spec`, replaying the workload trace read from `trace` (the
    /// sources the scenario layer opened for `spec.trace`). Trace nodes due at time zero
    /// register with the scenario's nodes, before the first sample; later node events and pod
    /// arrivals are pulled from the sources as virtual time reaches them.
    pub fn with_trace(spec: Arc<ClusterSpec>, trace: Option<TraceSources>) -> World {
        match World::with_options_and_trace(spec, &WorldOptions::default(), trace) {
            Ok(w) => w,
            Err(e) => panic!("{e}; build the world with World::with_options and a Registry"),
        }
    }

    /// [`World::with_options`] with a workload trace to replay.
    pub fn with_options_and_trace(
        spec: Arc<ClusterSpec>,
        options: &WorldOptions,
        trace: Option<TraceSources>,
    ) -> Result<World, String> {
        let builtins;
        let registry = match &options.registry {
            Some(r) => r,
            None => {
                builtins = Registry::with_builtins();
                &builtins
            }
        };
        let scheduler = Scheduler::with_config(&spec.scheduler, registry, options.explain.clone())
            .map_err(|name| {
                let known: Vec<&str> = registry.names().collect();
                format!(
                    "scheduler plugin {name:?} is not registered; registered plugins: {}",
                    known.join(", ")
                )
            })?;
        let wiring = Wiring::new();
        let end = SimTime::ZERO + spec.duration;
        let mut sim = Simulation::new(spec.seed, ClusterState::new(Arc::clone(&spec)));
        let pools: BTreeMap<String, u32> = spec
            .node_pools
            .iter()
            .map(|p| (p.name.clone(), p.count))
            .collect();
        // The HPAs: the scenario's, then one per ScaledObject (KEDA creates them).
        let hpas: Vec<_> = spec
            .autoscaling
            .hpas
            .iter()
            .cloned()
            .chain(spec.autoscaling.scaled_objects.iter().map(keda::hpa_for))
            .collect();
        let ids = [
            sim.add_component(Box::new(ApiServer::new(wiring))),
            sim.add_component(Box::new(scheduler)),
            sim.add_component(Box::new(ReplicaSetController::new())),
            sim.add_component(Box::new(DeploymentController::new())),
            sim.add_component(Box::new(Kubelets::new(spec.seed))),
            sim.add_component(Box::new(NodeController::new(pools))),
            sim.add_component(Box::new(Timeline::new(spec.timeline.clone()))),
            sim.add_component(Box::new(Sampler::new(spec.sample_every, end))),
            sim.add_component(Box::new(NodeLifecycleController::new())),
            sim.add_component(Box::new(TaintEvictionController::new())),
            sim.add_component(Box::new(Drainer::new())),
            sim.add_component(crate::cluster::traffic::fluid::component(&spec, end)),
            sim.add_component(Box::new(
                crate::cluster::controllers::job::JobController::new(&spec.jobs),
            )),
            sim.add_component(Box::new(
                crate::cluster::argo::controller::RolloutController::new(&spec.argo.rollouts),
            )),
        ];
        let (namespace, workload) = spec
            .trace
            .as_ref()
            .map(|t| (t.namespace.clone(), t.name.clone()))
            .unwrap_or_default();
        let mut replayer = TraceReplayer::new(trace, namespace, workload, end);
        if let Some(t) = &spec.trace {
            sim.state_mut().recorder.event_level = t.events;
        }
        let (first_pod, first_node, initial_nodes) = replayer.prime(sim.state_mut());
        let trace_id = sim.add_component(Box::new(replayer));
        // The autoscalers come after the trace replayer (ids in `Wiring::ORDER`).
        let autoscaler_ids = [
            sim.add_component(Box::new(HpaController::new(
                hpas.clone(),
                spec.autoscaling.hpa_controller.clone(),
            ))),
            sim.add_component(Box::new(KedaOperator::new(
                &spec.autoscaling.scaled_objects,
            ))),
            sim.add_component(Box::new(ClusterAutoscaler::new(
                spec.autoscaling.node_groups.clone(),
                spec.autoscaling.cluster_autoscaler.clone(),
                &spec.scheduler,
            ))),
        ];
        debug_assert_eq!(
            autoscaler_ids,
            [wiring.hpa, wiring.keda, wiring.cluster_autoscaler]
        );
        // StatefulSets, CronJobs and leader elections come after the autoscalers.
        let st = &spec.stateful;
        let control_plane = control_plane_electors(&spec);
        let control_plane_events = control_plane.initial_events();
        sim.state_mut().recorder.stateful.control_plane = control_plane.records();
        let stateful_ids = [
            sim.add_component(Box::new(
                crate::cluster::controllers::statefulset::StatefulSetController::new(),
            )),
            sim.add_component(Box::new(
                crate::cluster::controllers::cronjob::CronJobController::new(&st.cron_jobs),
            )),
            sim.add_component(Box::new(
                crate::cluster::leader_election::LeaderElections::new(&st.leader_elections)
                    .with_control_plane(control_plane),
            )),
        ];
        debug_assert_eq!(
            stateful_ids,
            [wiring.statefulset, wiring.cronjob, wiring.leader_election]
        );
        sim.state_mut().recorder.stateful.elections =
            crate::cluster::leader_election::LeaderElections::records(&st.leader_elections);
        sim.state_mut().recorder.stateful.cron_jobs =
            crate::cluster::controllers::cronjob::CronJobController::records(&st.cron_jobs);
        debug_assert_eq!(
            ids,
            [
                wiring.api,
                wiring.scheduler,
                wiring.replicaset,
                wiring.deployment,
                wiring.kubelet,
                wiring.nodes,
                wiring.timeline,
                wiring.sampler,
                wiring.node_lifecycle,
                wiring.taint_eviction,
                wiring.drain,
                wiring.traffic,
                wiring.job,
                wiring.argo
            ]
        );
        debug_assert_eq!(trace_id, wiring.trace);

        let t0 = SimTime::ZERO;
        for j in &spec.jobs {
            sim.schedule(
                t0,
                wiring.job,
                Event::Controller(crate::cluster::events::ControllerTimer::Reconcile(j.key())),
            );
        }
        for n in &spec.nodes {
            sim.schedule(
                t0,
                wiring.api,
                Event::Api(ApiWrite::CreateNode(Box::new(n.clone()))),
            );
        }
        for n in initial_nodes {
            sim.schedule(t0, wiring.api, Event::Api(ApiWrite::CreateNode(n)));
        }
        if let Some(at) = first_node {
            sim.schedule(at, wiring.trace, Event::Trace(TraceTimer::NodeEventDue));
        }
        if let Some(at) = first_pod {
            sim.schedule(at, wiring.trace, Event::Trace(TraceTimer::PodArrives));
        }
        for d in &spec.deployments {
            let obj = Deployment {
                name: d.name.clone(),
                namespace: d.namespace.clone(),
                replicas: d.replicas,
                selector: d.selector.clone(),
                template: Arc::new(d.template.clone()),
                strategy: d.strategy,
                min_ready_seconds: d.min_ready_seconds,
                revision_history_limit: d.revision_history_limit,
                status: DeploymentStatus::default(),
                progress_deadline_seconds: d.progress_deadline_seconds,
                paused: d.paused,
            };
            sim.schedule(
                t0,
                wiring.api,
                Event::Api(ApiWrite::CreateDeployment(Box::new(obj))),
            );
        }
        for r in &spec.replica_sets {
            let obj = ReplicaSet {
                name: r.name.clone(),
                namespace: r.namespace.clone(),
                owner: None,
                workload: r.name.clone(),
                replicas: r.replicas,
                selector: r.selector.clone(),
                template: Arc::new(r.template.clone()),
                template_hash: String::new(),
                min_ready_seconds: r.min_ready_seconds,
                revision: 0,
                created_at: t0,
                status: ReplicaSetStatus::default(),
                desired_replicas: None,
                max_replicas: None,
            };
            sim.schedule(
                t0,
                wiring.api,
                Event::Api(ApiWrite::CreateReplicaSet(Box::new(obj))),
            );
        }
        for s in &spec.stateful.stateful_sets {
            let template = Arc::new(s.template.clone());
            let revision =
                crate::cluster::controllers::statefulset::revision_name(&s.name, &template);
            let obj = crate::cluster::stateful_objects::StatefulSet {
                name: s.name.clone(),
                namespace: s.namespace.clone(),
                replicas: s.replicas,
                selector: s.selector.clone(),
                template: Arc::clone(&template),
                pod_management_policy: s.pod_management_policy,
                update_strategy: s.update_strategy,
                min_ready_seconds: s.min_ready_seconds,
                volume_claim_templates: s.volume_claim_templates.clone(),
                update_revision: revision.clone(),
                current_revision: revision,
                current_template: template,
                created_at: t0,
                status: Default::default(),
            };
            sim.schedule(
                t0,
                wiring.api,
                Event::Api(ApiWrite::CreateStatefulSet(Box::new(obj))),
            );
        }
        for b in &spec.pod_disruption_budgets {
            sim.schedule(
                t0,
                wiring.api,
                Event::Api(ApiWrite::CreatePodDisruptionBudget(Box::new(b.clone()))),
            );
        }
        // Rollouts create their first ReplicaSet, after the Deployments and ReplicaSets.
        for e in
            crate::cluster::argo::controller::RolloutController::initial_events(&spec.argo.rollouts)
        {
            sim.schedule(t0, wiring.argo, Event::Argo(e));
        }
        sim.schedule(t0, wiring.sampler, Event::Sample);
        sim.state_mut().recorder.traffic.sources = spec
            .traffic
            .iter()
            .map(|t| {
                let s = &spec.services[t.service];
                TrafficStats {
                    name: t.name.clone(),
                    service: format!("{}/{}", s.namespace, s.name),
                    ..TrafficStats::default()
                }
            })
            .collect();
        sim.state_mut().recorder.traffic.edges = spec
            .request_graphs
            .edges
            .iter()
            .map(|e| {
                let s = &spec.services[e.callee];
                TrafficStats {
                    name: e.name.clone(),
                    service: format!("{}/{}", s.namespace, s.name),
                    ..TrafficStats::default()
                }
            })
            .collect();
        for (at, e) in crate::cluster::traffic::fluid::initial_events(&spec) {
            sim.schedule(at, wiring.traffic, Event::Traffic(e));
        }
        for (i, e) in spec.timeline.iter().enumerate() {
            sim.schedule(e.at, wiring.timeline, Event::Timeline(i));
        }
        // CronJobs sync at time zero (their first run is the first scheduled time after it);
        // leader elections scan for candidates from time zero, every retry period.
        for i in 0..spec.stateful.cron_jobs.len() {
            sim.schedule(
                t0,
                wiring.cronjob,
                Event::Stateful(crate::cluster::stateful_events::StatefulEvent::CronTick(
                    i as u32,
                )),
            );
        }
        // The control-plane replicas' first attempts (replica 0 of each holds the lease).
        for e in control_plane_events {
            sim.schedule(t0, wiring.leader_election, Event::Stateful(e));
        }
        for i in 0..spec.stateful.leader_elections.len() {
            sim.schedule(
                t0,
                wiring.leader_election,
                Event::Stateful(crate::cluster::stateful_events::StatefulEvent::LeaseScan(
                    i as u32,
                )),
            );
        }
        // The node lifecycle controller's first monitor pass; it then runs every
        // `nodeMonitorPeriod`.
        sim.schedule(
            t0,
            wiring.node_lifecycle,
            Event::Controller(ControllerTimer::MonitorNodes),
        );

        // Autoscalers: the HPA controller's first sync after one sync period, KEDA's first poll
        // of each ScaledObject after its polling interval, the cluster autoscaler's first loop
        // after one scan interval.
        let a = &spec.autoscaling;
        if !hpas.is_empty() {
            sim.schedule(
                t0 + a.hpa_controller.sync_period,
                wiring.hpa,
                Event::Autoscaling(AutoscalingTimer::HpaSync),
            );
        }
        for (i, so) in a.scaled_objects.iter().enumerate() {
            sim.schedule(
                t0 + so.polling_interval,
                wiring.keda,
                Event::Autoscaling(AutoscalingTimer::KedaPoll(i as u32)),
            );
        }
        // Prometheus' first scrape of each metrics adapter an HPA reads, at time zero.
        for (i, h) in hpas.iter().enumerate() {
            if crate::cluster::autoscaling::adapter::adapter_for(&spec, h).is_some() {
                sim.schedule(
                    t0,
                    wiring.hpa,
                    Event::Autoscaling(AutoscalingTimer::AdapterScrape(i as u32)),
                );
            }
        }
        if !a.node_groups.is_empty() {
            sim.schedule(
                t0 + a.cluster_autoscaler.scan_interval,
                wiring.cluster_autoscaler,
                Event::Autoscaling(AutoscalingTimer::CaScan),
            );
        }
        sim.state_mut().recorder.autoscaling.active = !hpas.is_empty() || !a.node_groups.is_empty();

        // The fingerprint of (time, seq, target) of every event, kept by the engine itself.
        sim.enable_trace_hash();
        Ok(World { sim, end })
    }

    /// The end of the run (start + duration).
    pub fn end(&self) -> SimTime {
        self.end
    }

    /// Current simulated time.
    pub fn now(&self) -> SimTime {
        self.sim.now()
    }

    /// Events processed so far.
    pub fn events_processed(&self) -> u64 {
        self.sim.events_processed()
    }

    /// The shared state (read-only), e.g. to stream new event-log rows.
    pub fn state(&self) -> &ClusterState {
        self.sim.state()
    }

    /// Advance to `until` (capped at the end), processing at most `max_events` events; returns
    /// true if the event limit stopped it first.
    pub fn advance(&mut self, until: SimTime, max_events: u64) -> bool {
        let until = until.min(self.end);
        let (_, hit) = self.sim.run_until_limited(until, max_events);
        hit
    }

    /// True once the end of the run is reached.
    pub fn is_done(&self) -> bool {
        self.sim.now() >= self.end
    }

    /// Add a library user's own component (a custom controller, an operator) to the run. It
    /// gets the next free id, after the built-in components of [`Wiring::ORDER`], and its own
    /// random stream derived from (seed, its name), like every component. It receives the
    /// events sent to its id: wake it up with [`World::schedule`] and let it re-arm itself
    /// (`Context::send_self`), for example with `Event::Controller(ControllerTimer::Reconcile
    /// (key))`; it reads and changes the cluster through the shared state and API writes
    /// (`cluster::apiserver::write`), as the built-in controllers do. Built-in components do
    /// not send it watch events. Add components before the first [`World::advance`].
    pub fn add_component(
        &mut self,
        component: Box<dyn crate::engine::Component<Event, ClusterState>>,
    ) -> crate::engine::ComponentId {
        self.sim.add_component(component)
    }

    /// Deliver `event` to component `target` at time `at` (not before the current time).
    pub fn schedule(
        &mut self,
        at: SimTime,
        target: crate::engine::ComponentId,
        event: Event,
    ) -> crate::engine::EventId {
        self.sim.schedule(at.max(self.sim.now()), target, event)
    }

    /// Hand the time-series rows recorded since the last call to `sink`, in order, and drop
    /// them from the recorder (its buffer is kept), so that a long run need not hold every row
    /// in memory. The cluster writes no file: the runner passes a sink that does
    /// ([`crate::experiment::run::SampleSink`]). The aggregates the summary needs stay in
    /// [`Recorder::sample_aggregates`]. Does nothing (and does not call `sink`) when no row is
    /// waiting.
    pub fn drain_samples(&mut self, sink: &mut dyn FnMut(&[crate::cluster::metrics::SampleRow])) {
        let rows = &mut self.sim.state_mut().recorder.samples;
        if !rows.is_empty() {
            sink(rows);
            rows.clear();
        }
    }

    /// Close the run: account the nodes still alive up to the current time.
    pub fn finish(self) -> RunOutput {
        let end_time = self.sim.now();
        let events_processed = self.sim.events_processed();
        let trace_hash = self.sim.trace_hash().unwrap_or_default();
        let spec = Arc::clone(&self.sim.state().spec);
        let mut state = self.sim.into_state();
        let alive: Vec<(String, SimTime, f64)> = state
            .store
            .nodes
            .values()
            .map(|n| {
                (
                    n.pool.clone().unwrap_or_default(),
                    n.created_at,
                    n.price_per_hour,
                )
            })
            .collect();
        for (pool, from, price) in alive {
            state.recorder.node_lifetime(&pool, from, end_time, price);
        }
        // The request latencies of the last sample interval (`TrafficStats::record_success`).
        state.recorder.traffic.end_run();
        RunOutput {
            spec,
            recorder: state.recorder,
            store: state.store,
            end_time,
            events_processed,
            trace_hash,
        }
    }
}

/// The electors of the control-plane components that need one: several replicas with leader
/// election, or a timeline `killLeader` naming the component.
fn control_plane_electors(
    spec: &ClusterSpec,
) -> crate::cluster::control_plane::ControlPlaneElections {
    use crate::cluster::control_plane::{ControlPlaneComponent, elector_needed};
    let active: Vec<_> = ControlPlaneComponent::ALL
        .into_iter()
        .map(|c| {
            let s = match c {
                ControlPlaneComponent::KubeScheduler => &spec.control_plane.kube_scheduler,
                ControlPlaneComponent::KubeControllerManager => {
                    &spec.control_plane.kube_controller_manager
                }
            };
            let killed = spec.timeline.iter().any(|e| {
                matches!(&e.action, crate::cluster::spec::TimelineAction::KillLeader { election }
                    if election == c.name())
            });
            (c, s.clone(), killed)
        })
        .filter(|(_, s, killed)| elector_needed(s, *killed))
        .map(|(c, s, _)| (c, s))
        .collect();
    crate::cluster::control_plane::ControlPlaneElections::new(&active)
}
