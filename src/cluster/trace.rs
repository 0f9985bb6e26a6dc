//! Workload-trace replay: bare pods arriving at recorded times, each running for a recorded
//! duration once started, on nodes that come and go at recorded times.
//!
//! The model knows nothing of files. A trace reaches it as two pull-based sources in time
//! order, [`PodArrivals`] and [`NodeEvents`], which the scenario layer implements over CSV
//! files and reads lazily: the [`TraceReplayer`] component holds exactly one look-ahead pod and
//! one look-ahead node event, and pulls the next only when the previous one fires, so a trace
//! of millions of pods runs in memory bounded by what is live in the cluster.
//!
//! A trace pod is a bare pod (no owner): it is committed by the API server at its arrival time
//! (the trace records creation times, so no client write latency is added), scheduled like any
//! pod, and once its containers have started the kubelet lets it run for its duration and then
//! reports it `Succeeded` ([`crate::cluster::kubelet`]). A terminal pod no longer holds its
//! node's resources. Terminated pods are garbage-collected as upstream PodGC's `gcTerminated`
//! does (`pkg/controller/podgc/gc_controller.go`): every `gcCheckPeriod` (20 s), when more than
//! `--terminated-pod-gc-threshold` (12,500) terminated pods exist, the oldest by creation are
//! force-deleted down to the threshold.
//!
//! A source error (a malformed row) stops the replay: it is kept in [`TraceStats::error`] and
//! the run is stopped, so the run's outputs are partial and the CLI exits 2.

use std::fmt;

use crate::cluster::events::{ApiWrite, Event};
use crate::cluster::metrics::LatencyHistogram;
use crate::cluster::objects::{Pod, PodId, PodPhase};
use crate::cluster::spec::{ContainerSpec, Labels, NodeSpec, PodTemplateSpec, Resources};
use crate::cluster::state::ClusterState;
use crate::engine::{Component, Context, SimDuration, SimTime};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Upstream PodGC `gcCheckPeriod` (20 s).
pub const GC_CHECK_PERIOD: SimDuration = SimDuration::from_secs(20);

/// Upstream kube-controller-manager `--terminated-pod-gc-threshold` default (12,500).
pub const TERMINATED_POD_GC_THRESHOLD: usize = 12_500;

/// The image trace pods run (one image, so each node pulls it once).
pub const TRACE_IMAGE: &str = "kubesim.dev/trace-task";

/// A trace to replay, as the scenario's `Trace` document describes it. The model never opens
/// the files it names: the scenario layer turns it into [`TraceSources`].
#[derive(Clone, Debug, PartialEq)]
pub struct TraceSpec {
    /// The document's name; trace pods take the `Behavior` whose `workload` is this name.
    pub name: String,
    /// Namespace of the trace pods (default `default`).
    pub namespace: String,
    /// Format of the files: `neutral`, `alibaba-v2017`, `alibaba-v2018` or `google-2019`.
    pub format: String,
    /// Files by role (`nodes`, `pods`, `machines`, `tasks`, `instances`, `machineEvents`,
    /// `instanceEvents`, `collectionEvents`), resolved against the scenario's folder.
    pub files: BTreeMap<String, std::path::PathBuf>,
    /// The machine a normalized trace's units refer to (Alibaba, Google): CPU in millicores
    /// and memory in bytes of a machine whose normalized capacity is 1 (100 in Alibaba v2018).
    pub machine: Resources,
    /// Pods a node admits (`status.allocatable.pods`) for trace nodes (default 110).
    pub max_pods: i64,
    /// Record the per-node gauges (`node.*`) in `timeseries.csv` (default false for traces:
    /// 1,000 nodes x 3 gauges per sample dominate the output).
    pub node_metrics: bool,
    /// Which rows `events.csv` keeps during the replay.
    pub events: crate::cluster::metrics::EventLevel,
}

/// One pod of a trace, as a source yields it.
#[derive(Clone, Debug, PartialEq)]
pub struct TracePod {
    /// Trace identifier, used as the pod name (unique within the trace).
    pub id: String,
    /// Arrival (creation) time.
    pub arrival: SimTime,
    /// CPU request in millicores.
    pub cpu_milli: i64,
    /// Memory request in bytes.
    pub memory_bytes: i64,
    /// How long the pod runs once its containers have started.
    pub duration: SimDuration,
    /// `spec.priority` (0 if the trace has none).
    pub priority: i32,
    /// Group or owner in the trace (job, collection), kept as the `kubesim.dev/group` label.
    pub group: Option<String>,
}

/// A change to the set of nodes, as a source yields it.
#[derive(Clone, Debug, PartialEq)]
pub enum TraceNodeEvent {
    /// A node registers at this time.
    Add {
        /// When.
        at: SimTime,
        /// The node.
        node: Box<NodeSpec>,
    },
    /// The node with this name is deleted at this time (its pods are lost, as a machine
    /// removal; PodGC deletes them after the quarantine).
    Remove {
        /// When.
        at: SimTime,
        /// Node name.
        name: String,
    },
}

impl TraceNodeEvent {
    /// When the event happens.
    pub fn at(&self) -> SimTime {
        match self {
            TraceNodeEvent::Add { at, .. } | TraceNodeEvent::Remove { at, .. } => *at,
        }
    }
}

/// A malformed trace row, or a trace that cannot be read: where and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    /// File the row is in (as named in the scenario).
    pub file: String,
    /// 1-based line number (0 if the error is not about one line).
    pub line: u64,
    /// Column name (empty if the error is not about one column).
    pub column: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column.is_empty()) {
            (0, _) => write!(f, "{}: {}", self.file, self.message),
            (l, true) => write!(f, "{}:{l}: {}", self.file, self.message),
            (l, false) => write!(
                f,
                "{}:{l}: column `{}`: {}",
                self.file, self.column, self.message
            ),
        }
    }
}

impl std::error::Error for TraceError {}

/// Pods of a trace in arrival order (non-decreasing `arrival`), pulled one at a time.
pub trait PodArrivals {
    /// The next pod, an error for a malformed row, or `None` at the end of the trace.
    fn next_pod(&mut self) -> Option<Result<TracePod, TraceError>>;
}

/// Node additions and removals of a trace in time order, pulled one at a time.
pub trait NodeEvents {
    /// The next node event, an error for a malformed row, or `None` at the end.
    fn next_node_event(&mut self) -> Option<Result<TraceNodeEvent, TraceError>>;
}

/// The sources of one trace, opened by the scenario layer.
pub struct TraceSources {
    /// Pod arrivals.
    pub pods: Box<dyn PodArrivals>,
    /// Node events.
    pub nodes: Box<dyn NodeEvents>,
}

impl fmt::Debug for TraceSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TraceSources")
    }
}

/// What a replay records (summarised in `summary.json` under `trace`).
#[derive(Clone, Debug, Default)]
pub struct TraceStats {
    /// True when the run replays a trace.
    pub active: bool,
    /// Pods created from the trace.
    pub pods_arrived: u64,
    /// Pods bound to a node.
    pub pods_bound: u64,
    /// Pods that ran their duration and Succeeded.
    pub pods_succeeded: u64,
    /// Pods that ended `Failed` (a Behavior made them crash).
    pub pods_failed: u64,
    /// Node events applied (additions and removals).
    pub node_events: u64,
    /// First arrival.
    pub first_arrival: Option<SimTime>,
    /// Last arrival.
    pub last_arrival: Option<SimTime>,
    /// Last time a trace pod Succeeded.
    pub last_completion: Option<SimTime>,
    /// Scheduling delay of trace pods: arrival (creation) to bind.
    pub scheduling_delay: LatencyHistogram,
    /// Failed scheduling attempts of trace pods by reason (the reasons of upstream's
    /// `FitError`, e.g. `Insufficient cpu`): how many failed attempts named each.
    pub unschedulable_by_reason: BTreeMap<String, u64>,
    /// Failed scheduling attempts of trace pods.
    pub failed_attempts: u64,
    /// Terminated pods removed by PodGC's threshold.
    pub pods_garbage_collected: u64,
    /// The source error that stopped the replay, if any.
    pub error: Option<TraceError>,
    /// True once both sources are exhausted.
    pub exhausted: bool,
    /// The last message [`TraceStats::record_failure`] parsed and its reasons: a pod that
    /// fails again for the same reasons is counted without parsing the message again.
    last_failure: Option<(String, Vec<String>)>,
}

impl TraceStats {
    /// Count one failed scheduling attempt from its `FitError` message
    /// (`0/N nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated taint ....`).
    pub fn record_failure(&mut self, message: &str) {
        self.failed_attempts += 1;
        if let Some((last, reasons)) = &self.last_failure
            && last == message
        {
            for r in reasons {
                match self.unschedulable_by_reason.get_mut(r) {
                    Some(c) => *c += 1,
                    None => {
                        self.unschedulable_by_reason.insert(r.clone(), 1);
                    }
                }
            }
            return;
        }
        let mut reasons = Vec::new();
        let Some((_, list)) = message.split_once(": ") else {
            self.last_failure = Some((message.to_string(), reasons));
            return;
        };
        let list = list.trim_end_matches('.');
        for part in list.split(", ") {
            let reason = part
                .split_once(' ')
                .filter(|(n, _)| n.chars().all(|c| c.is_ascii_digit()))
                .map_or(part, |(_, r)| r);
            if reason.is_empty() {
                continue;
            }
            // Counted in place once the reason is known (no key allocated per attempt).
            match self.unschedulable_by_reason.get_mut(reason) {
                Some(c) => *c += 1,
                None => {
                    self.unschedulable_by_reason.insert(reason.to_string(), 1);
                }
            }
            reasons.push(reason.to_string());
        }
        self.last_failure = Some((message.to_string(), reasons));
    }

    /// A trace pod reached a terminal phase at `now`.
    pub fn pods_finished(&mut self, succeeded: bool, now: SimTime) {
        if succeeded {
            self.pods_succeeded += 1;
        } else {
            self.pods_failed += 1;
        }
        self.last_completion = Some(now);
    }

    /// Makespan: first arrival to last completion (zero if nothing completed).
    pub fn makespan(&self) -> SimDuration {
        match (self.first_arrival, self.last_completion) {
            (Some(a), Some(c)) => c.saturating_since(a),
            _ => SimDuration::ZERO,
        }
    }
}

/// Timers of the trace replayer.
#[derive(Clone, Copy, Debug)]
pub enum TraceTimer {
    /// The look-ahead pod arrives now.
    PodArrives,
    /// The look-ahead node event is due now.
    NodeEventDue,
    /// PodGC's `gcTerminated` pass.
    GcTerminated,
}

/// The component that replays a trace.
pub struct TraceReplayer {
    sources: Option<TraceSources>,
    next_pod: Option<TracePod>,
    next_node: Option<TraceNodeEvent>,
    namespace: String,
    workload: String,
    end: SimTime,
    gc_armed: bool,
    pods_done: bool,
    nodes_done: bool,
    /// Templates of the pods replayed so far by (CPU millicores, memory bytes, priority,
    /// group), shared by the pods that have the same (at most [`TEMPLATE_CACHE_LIMIT`]).
    templates: BTreeMap<TemplateKey, Arc<PodTemplateSpec>>,
}

/// What a trace pod's template is made of: (CPU millicores, memory bytes, priority, group).
type TemplateKey = (i64, i64, i32, Option<String>);

/// Most templates the replayer keeps for sharing (a trace with more distinct request sizes
/// starts the cache afresh when it is full).
const TEMPLATE_CACHE_LIMIT: usize = 4096;

impl fmt::Debug for TraceReplayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceReplayer")
            .field("workload", &self.workload)
            .finish()
    }
}

impl TraceReplayer {
    /// A replayer of `sources` (or an idle one for `None`); pods go to `namespace` and take the
    /// `Behavior` of `workload`; nothing is replayed after `end`.
    pub fn new(
        sources: Option<TraceSources>,
        namespace: String,
        workload: String,
        end: SimTime,
    ) -> Self {
        TraceReplayer {
            sources,
            next_pod: None,
            next_node: None,
            namespace,
            workload,
            end,
            gc_armed: false,
            pods_done: false,
            nodes_done: false,
            templates: BTreeMap::new(),
        }
    }

    /// Pull the first pod and the node events: the nodes added at time zero are returned (the
    /// world builder registers them with the scenario's nodes), and when the first pod and
    /// the first later node event are due (to be scheduled by the world builder). A source
    /// error is kept in [`TraceStats::error`].
    pub fn prime(
        &mut self,
        state: &mut ClusterState,
    ) -> (Option<SimTime>, Option<SimTime>, Vec<Box<NodeSpec>>) {
        state.recorder.trace.active = self.sources.is_some();
        let p = self.pull_pod(state, SimTime::ZERO);
        let mut initial = Vec::new();
        let mut n = self.pull_node(state, SimTime::ZERO);
        while n == Some(SimTime::ZERO)
            && let Some(TraceNodeEvent::Add { .. }) = &self.next_node
        {
            if let Some(TraceNodeEvent::Add { node, .. }) = self.next_node.take() {
                state.recorder.trace.node_events += 1;
                initial.push(node);
            }
            n = self.pull_node(state, SimTime::ZERO);
        }
        (p, n, initial)
    }

    fn fail(&mut self, state: &mut ClusterState, e: TraceError) {
        if state.recorder.trace.error.is_none() {
            state.recorder.trace.error = Some(e);
        }
        self.pods_done = true;
        self.nodes_done = true;
        self.next_pod = None;
        self.next_node = None;
    }

    fn pull_pod(&mut self, state: &mut ClusterState, now: SimTime) -> Option<SimTime> {
        let src = self.sources.as_mut()?;
        match src.pods.next_pod() {
            None => {
                self.pods_done = true;
                self.mark_exhausted(state);
                None
            }
            Some(Err(e)) => {
                self.fail(state, e);
                None
            }
            Some(Ok(p)) => {
                let at = p.arrival.max(now);
                self.next_pod = Some(p);
                (at <= self.end).then_some(at)
            }
        }
    }

    fn pull_node(&mut self, state: &mut ClusterState, now: SimTime) -> Option<SimTime> {
        let src = self.sources.as_mut()?;
        match src.nodes.next_node_event() {
            None => {
                self.nodes_done = true;
                self.mark_exhausted(state);
                None
            }
            Some(Err(e)) => {
                self.fail(state, e);
                None
            }
            Some(Ok(n)) => {
                let at = n.at().max(now);
                self.next_node = Some(n);
                (at <= self.end).then_some(at)
            }
        }
    }

    fn mark_exhausted(&self, state: &mut ClusterState) {
        if self.pods_done && self.nodes_done && state.recorder.trace.error.is_none() {
            state.recorder.trace.exhausted = true;
        }
    }

    /// The pod object for a trace pod.
    pub fn pod_object(&self, p: &TracePod) -> Pod {
        let template = Self::template(p);
        self.pod_with(p.clone(), template)
    }

    /// The pod object for a trace pod, its template shared with the earlier pods of the same
    /// requests, priority and group (the template holds nothing else of the pod; the store
    /// never compares templates by address), so that a pod's arrival allocates only its own
    /// fields.
    fn pod_object_cached(&mut self, p: TracePod) -> Pod {
        let key = (p.cpu_milli, p.memory_bytes, p.priority, p.group.clone());
        let template = match self.templates.get(&key) {
            Some(t) => Arc::clone(t),
            None => {
                // Bounded: a trace with ever-new request sizes starts the cache afresh.
                if self.templates.len() >= TEMPLATE_CACHE_LIMIT {
                    self.templates.clear();
                }
                let t = Self::template(&p);
                self.templates.insert(key, Arc::clone(&t));
                t
            }
        };
        self.pod_with(p, template)
    }

    /// A trace pod's template: one container with the pod's requests.
    fn template(p: &TracePod) -> Arc<PodTemplateSpec> {
        let requests = Resources {
            cpu_milli: p.cpu_milli,
            memory_bytes: p.memory_bytes,
            pods: 0,
        };
        let mut labels = Labels::new();
        if let Some(g) = &p.group {
            labels.insert("kubesim.dev/group".to_string(), g.clone());
        }
        let template = PodTemplateSpec {
            labels,
            containers: vec![ContainerSpec {
                name: "task".to_string(),
                image: TRACE_IMAGE.to_string(),
                requests,
                limits: Resources::default(),
                probes: Default::default(),
            }],
            priority: p.priority,
            // A batch task: it runs once (a Behavior-made crash ends it Failed).
            restart_policy: crate::cluster::lifecycle_spec::RestartPolicy::Never,
            ..PodTemplateSpec::default()
        };
        Arc::new(template)
    }

    /// The pod object for trace pod `p` with `template`.
    fn pod_with(&self, p: TracePod, template: Arc<PodTemplateSpec>) -> Pod {
        Pod {
            id: PodId(0),
            name: p.id,
            namespace: self.namespace.clone(),
            labels: template.labels.clone(),
            owner: None,
            workload: self.workload.clone(),
            requests: template.pod_requests(),
            non_zero_requests: template.non_zero_requests(),
            template,
            node: None,
            phase: PodPhase::Pending,
            created_at: SimTime::ZERO,
            scheduled_at: None,
            started_at: None,
            ready_since: None,
            deletion_timestamp: None,
            restart_count: 0,
            run_for: Some(p.duration),
        }
    }

    fn arrive(&mut self, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let Some(p) = self.next_pod.take() else {
            return;
        };
        let pod = self.pod_object_cached(p);
        let t = &mut state.recorder.trace;
        t.pods_arrived += 1;
        t.first_arrival.get_or_insert(now);
        t.last_arrival = Some(now);
        // Committed now: the trace's arrival is the creation time.
        ctx.send(
            crate::cluster::wiring::Wiring::new().api,
            SimDuration::ZERO,
            Event::Api(ApiWrite::CreatePod {
                pod: Box::new(pod),
                generate_name: String::new(),
            }),
        );
        if !self.gc_armed {
            self.gc_armed = true;
            ctx.send_self(GC_CHECK_PERIOD, Event::Trace(TraceTimer::GcTerminated));
        }
        if let Some(at) = self.pull_pod(state, now) {
            ctx.send_at(ctx.self_id(), at, Event::Trace(TraceTimer::PodArrives));
        }
        if state.recorder.trace.error.is_some() {
            ctx.stop();
        }
    }

    fn node_event(&mut self, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let Some(e) = self.next_node.take() else {
            return;
        };
        state.recorder.trace.node_events += 1;
        let write = match e {
            TraceNodeEvent::Add { node, .. } => ApiWrite::CreateNode(node),
            TraceNodeEvent::Remove { name, .. } => ApiWrite::DeleteNode { name },
        };
        ctx.send(
            crate::cluster::wiring::Wiring::new().api,
            SimDuration::ZERO,
            Event::Api(write),
        );
        if let Some(at) = self.pull_node(state, now) {
            ctx.send_at(ctx.self_id(), at, Event::Trace(TraceTimer::NodeEventDue));
        }
        if state.recorder.trace.error.is_some() {
            ctx.stop();
        }
    }

    /// PodGC `gcTerminated`: force-delete the oldest terminated pods beyond the threshold.
    fn gc_terminated(&mut self, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let excess = state
            .store
            .terminated
            .len()
            .saturating_sub(TERMINATED_POD_GC_THRESHOLD);
        let victims: Vec<PodId> = state
            .store
            .terminated
            .keys()
            .take(excess)
            .copied()
            .collect();
        for id in victims {
            state.recorder.trace.pods_garbage_collected += 1;
            ctx.send(
                crate::cluster::wiring::Wiring::new().api,
                SimDuration::ZERO,
                Event::Api(ApiWrite::RemovePod { id }),
            );
        }
        let live = !(self.pods_done && self.nodes_done)
            || state.store.terminated.len() > TERMINATED_POD_GC_THRESHOLD;
        if live && ctx.now() + GC_CHECK_PERIOD <= self.end {
            ctx.send_self(GC_CHECK_PERIOD, Event::Trace(TraceTimer::GcTerminated));
        } else {
            self.gc_armed = false;
        }
    }
}

impl Component<Event, ClusterState> for TraceReplayer {
    fn name(&self) -> &str {
        "trace"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        if let Event::Trace(t) = event {
            match t {
                TraceTimer::PodArrives => self.arrive(state, ctx),
                TraceTimer::NodeEventDue => self.node_event(state, ctx),
                TraceTimer::GcTerminated => self.gc_terminated(state, ctx),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_reasons_are_counted_from_fit_errors() {
        let mut s = TraceStats::default();
        s.record_failure("0/5 nodes are available: 2 Insufficient memory, 3 Insufficient cpu.");
        s.record_failure("0/5 nodes are available: 5 Insufficient cpu.");
        assert_eq!(s.failed_attempts, 2);
        assert_eq!(s.unschedulable_by_reason["Insufficient cpu"], 2);
        assert_eq!(s.unschedulable_by_reason["Insufficient memory"], 1);
        // The same message again (counted from the kept reasons), then the first one again.
        s.record_failure("0/5 nodes are available: 5 Insufficient cpu.");
        s.record_failure("0/5 nodes are available: 2 Insufficient memory, 3 Insufficient cpu.");
        s.record_failure("0/5 nodes are available: 2 Insufficient memory, 3 Insufficient cpu.");
        assert_eq!(s.failed_attempts, 5);
        assert_eq!(s.unschedulable_by_reason["Insufficient cpu"], 5);
        assert_eq!(s.unschedulable_by_reason["Insufficient memory"], 3);
    }

    #[test]
    fn pods_of_the_same_shape_share_their_template() {
        let mut r = TraceReplayer::new(None, "ns".into(), "w".into(), SimTime::ZERO);
        let pod = |id: &str, cpu: i64, group: Option<&str>| TracePod {
            id: id.into(),
            arrival: SimTime::ZERO,
            cpu_milli: cpu,
            memory_bytes: 1 << 30,
            duration: SimDuration::from_secs(5),
            priority: 0,
            group: group.map(str::to_string),
        };
        let a = r.pod_object_cached(pod("a", 500, Some("g")));
        let b = r.pod_object_cached(pod("b", 500, Some("g")));
        let c = r.pod_object_cached(pod("c", 500, None));
        let d = r.pod_object_cached(pod("d", 700, Some("g")));
        assert!(Arc::ptr_eq(&a.template, &b.template));
        assert!(!Arc::ptr_eq(&a.template, &c.template));
        assert!(!Arc::ptr_eq(&a.template, &d.template));
        // The same pod as built afresh.
        for (p, got) in [(pod("b", 500, Some("g")), &b), (pod("c", 500, None), &c)] {
            let want = r.pod_object(&p);
            assert_eq!(format!("{want:?}"), format!("{got:?}"));
        }
        assert_eq!(b.name, "b");
        assert_eq!(
            b.labels.get("kubesim.dev/group").map(String::as_str),
            Some("g")
        );
        assert_eq!(d.requests.cpu_milli, 700);
    }

    #[test]
    fn error_display_names_file_line_and_column() {
        let e = TraceError {
            file: "pods.csv".into(),
            line: 7,
            column: "cpu".into(),
            message: "expected an integer".into(),
        };
        assert_eq!(
            e.to_string(),
            "pods.csv:7: column `cpu`: expected an integer"
        );
    }
}
