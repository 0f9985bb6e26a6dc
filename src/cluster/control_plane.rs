//! Leader election of the control plane's own components: kube-scheduler and
//! kube-controller-manager each run `replicas` processes, and only the one holding the
//! component's Lease (`kube-system/kube-scheduler`, `kube-system/kube-controller-manager`)
//! works.
//!
//! Upstream both binaries run client-go's `leaderelection` with the component-base defaults
//! (`k8s.io/component-base/config/v1alpha1/defaults.go`
//! `RecommendedDefaultLeaderElectionConfiguration`: `leaderElect: true`, `leaseDuration: 15s`,
//! `renewDeadline: 10s`, `retryPeriod: 2s`, applied by `SetDefaults_KubeSchedulerConfiguration`
//! and `SetDefaults_KubeControllerManagerConfiguration`). What a process does around the
//! election, as `cmd/kube-scheduler/app/server.go` and
//! `cmd/kube-controller-manager/app/controllermanager.go` run it:
//!
//! - kube-scheduler starts its informers (so its scheduling queue fills) before the election,
//!   and starts scheduling in `OnStartedLeading`; kube-controller-manager builds its informers
//!   and starts every controller only in `OnStartedLeading` (a fresh process lists everything).
//! - `OnStoppedLeading` exits the process (`klog.FlushAndExit(1)`); as a static pod (kubeadm)
//!   the kubelet restarts it with CrashLoopBackOff ([`crate::cluster::crashloop`]: the first
//!   restart at once, then 10 s doubling), and the restarted process is a new candidate with a
//!   new identity (`<hostname>_<uuid>`), so even a single replica waits a full
//!   `leaseDuration` for its own old lease to expire.
//!
//! kubesim models one scheduler component and one instance of each controller; the flag
//! [`Leadership`] in the shared state says whether the current process of each component
//! leads, the components check it at their entry points, and the elector sends them a
//! `StartedLeading` wake-up when a process acquires the lease. The candidates run the same
//! acquire / renew loop as a workload's [`crate::cluster::leader_election`] (`step`). The
//! control-plane hosts (`control-plane-<i>`, replica `i` of each component) are not modelled
//! nodes: a replica dies only by the timeline's `killLeader`, and it cannot renew while the API
//! server is down (`apiServerDown` longer than `retryPeriod + renewDeadline` makes the leader
//! exit, as upstream).
//!
//! With one replica that is never killed the lease is held from time zero and never lost, so
//! kubesim runs no elector for it (no events, outputs as without leader election).

use crate::cluster::crashloop::CrashLoopBackOff;
use crate::cluster::events::{ControllerTimer, Event, SchedulerTimer};
use crate::cluster::leader_election::{self, LeaseRecord, Observation, Transition};
use crate::cluster::objects::PodId;
use crate::cluster::state::ClusterState;
use crate::cluster::stateful_events::StatefulEvent;
use crate::cluster::stateful_record::{Failover, LeaderRecord};
use crate::cluster::wiring::Wiring;
use crate::engine::{Context, SimDuration, SimTime};

/// A control-plane component that runs under leader election.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ControlPlaneComponent {
    /// kube-scheduler (Lease `kube-system/kube-scheduler`).
    KubeScheduler,
    /// kube-controller-manager (Lease `kube-system/kube-controller-manager`).
    KubeControllerManager,
}

impl ControlPlaneComponent {
    /// Both, in index order.
    pub const ALL: [ControlPlaneComponent; 2] = [
        ControlPlaneComponent::KubeScheduler,
        ControlPlaneComponent::KubeControllerManager,
    ];

    /// Upstream binary name, also the Lease's name and the `killLeader` target.
    pub fn name(self) -> &'static str {
        match self {
            ControlPlaneComponent::KubeScheduler => "kube-scheduler",
            ControlPlaneComponent::KubeControllerManager => "kube-controller-manager",
        }
    }

    /// The component named `name` (`kube-scheduler`, `kube-controller-manager`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// Replicas and leader election of one control-plane component (kubesim `Scenario`
/// `spec.controlPlane.kubeScheduler` / `kubeControllerManager`).
#[derive(Clone, Debug, PartialEq)]
pub struct ControlPlaneComponentSpec {
    /// Processes running (control-plane hosts), at least 1; default 1.
    pub replicas: u32,
    /// `leaderElection.leaderElect` (default true). Without it every replica works at once
    /// upstream; kubesim then runs the component as one always-working process.
    pub leader_elect: bool,
    /// `leaderElection.leaseDuration` (default 15 s).
    pub lease_duration: SimDuration,
    /// `leaderElection.renewDeadline` (default 10 s).
    pub renew_deadline: SimDuration,
    /// `leaderElection.retryPeriod` (default 2 s).
    pub retry_period: SimDuration,
}

impl Default for ControlPlaneComponentSpec {
    fn default() -> Self {
        // component-base `RecommendedDefaultLeaderElectionConfiguration`.
        ControlPlaneComponentSpec {
            replicas: 1,
            leader_elect: true,
            lease_duration: SimDuration::from_secs(15),
            renew_deadline: SimDuration::from_secs(10),
            retry_period: SimDuration::from_secs(2),
        }
    }
}

/// Whether the current process of each control-plane component leads (and so works). Held
/// in [`ClusterState::leadership`]; both true when no elector runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leadership {
    /// kube-scheduler runs scheduling cycles.
    pub scheduler: bool,
    /// kube-controller-manager's controllers reconcile.
    pub controller_manager: bool,
}

impl Default for Leadership {
    fn default() -> Self {
        Leadership {
            scheduler: true,
            controller_manager: true,
        }
    }
}

impl Leadership {
    fn set(&mut self, c: ControlPlaneComponent, leading: bool) {
        match c {
            ControlPlaneComponent::KubeScheduler => self.scheduler = leading,
            ControlPlaneComponent::KubeControllerManager => self.controller_manager = leading,
        }
    }
}

/// What the run saw of one failover of a control-plane component, beyond the
/// [`Failover`] itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GapEffect {
    /// kube-scheduler: pods created between the loss and the acquisition that were still
    /// unbound at the acquisition (their scheduling waited for the new leader).
    pub gap_pods: Vec<PodId>,
    /// kube-controller-manager: pods the Deployments, stand-alone ReplicaSets and
    /// StatefulSets lacked at the acquisition (`spec.replicas` minus active pods, summed over
    /// those short).
    pub pods_missing: u32,
    /// kube-controller-manager: those workloads short of pods at the acquisition.
    pub workloads_behind: u32,
}

/// The history of one control-plane component's election.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ControlPlaneRecord {
    /// `kube-scheduler` or `kube-controller-manager`.
    pub component: &'static str,
    /// Replicas.
    pub replicas: u32,
    /// The Lease's history (`lease` is `kube-system/<component>`).
    pub election: LeaderRecord,
    /// One per failover, aligned with `election.failovers`.
    pub effects: Vec<GapEffect>,
}

#[derive(Debug)]
struct Replica {
    host: String,
    incarnation: u32,
    identity: String,
    alive: bool,
    seen: Observation,
    leading: bool,
    last_success: SimTime,
    backoff: CrashLoopBackOff,
}

#[derive(Debug)]
struct ComponentElection {
    component: ControlPlaneComponent,
    spec: ControlPlaneComponentSpec,
    lease: LeaseRecord,
    replicas: Vec<Replica>,
}

/// The electors of the control-plane components that run one (hosted by the leader-election
/// component, whose random stream draws their jitter).
#[derive(Debug, Default)]
pub struct ControlPlaneElections {
    elections: Vec<ComponentElection>,
}

/// True if the component needs an elector: several replicas with leader election, or a
/// timeline that kills its leader.
pub fn elector_needed(spec: &ControlPlaneComponentSpec, killed: bool) -> bool {
    spec.leader_elect && (spec.replicas > 1 || killed)
}

impl ControlPlaneElections {
    /// Electors for the components in `active` (with their specs). Replica 0 of each holds
    /// the lease at time zero (the cluster was running before the scenario starts).
    pub fn new(active: &[(ControlPlaneComponent, ControlPlaneComponentSpec)]) -> Self {
        let elections = active
            .iter()
            .map(|(c, spec)| {
                let replicas: Vec<Replica> = (0..spec.replicas.max(1))
                    .map(|i| {
                        let host = format!("control-plane-{i}");
                        Replica {
                            identity: format!("{host}_1"),
                            host,
                            incarnation: 1,
                            alive: true,
                            seen: Observation::default(),
                            leading: false,
                            last_success: SimTime::ZERO,
                            backoff: CrashLoopBackOff::new(),
                        }
                    })
                    .collect();
                let mut e = ComponentElection {
                    component: *c,
                    spec: spec.clone(),
                    lease: LeaseRecord::default(),
                    replicas,
                };
                let first = &mut e.replicas[0];
                leader_election::try_acquire_or_renew(
                    &mut e.lease,
                    &mut first.seen,
                    &first.identity,
                    SimTime::ZERO,
                    spec.lease_duration,
                );
                first.leading = true;
                e
            })
            .collect();
        ControlPlaneElections { elections }
    }

    /// The records to put in the recorder before the run (the first replica leads from time
    /// zero, so [`Leadership`] starts true).
    pub fn records(&self) -> Vec<ControlPlaneRecord> {
        self.elections
            .iter()
            .map(|e| ControlPlaneRecord {
                component: e.component.name(),
                replicas: e.spec.replicas,
                election: LeaderRecord {
                    lease: format!("kube-system/{}", e.component.name()),
                    workload: e.component.name().to_string(),
                    leader: Some(e.replicas[0].identity.clone()),
                    first_acquired_at: Some(SimTime::ZERO),
                    ..LeaderRecord::default()
                },
                effects: Vec::new(),
            })
            .collect()
    }

    /// The first attempt of every replica, at time zero (events for the leader-election
    /// component).
    pub fn initial_events(&self) -> Vec<StatefulEvent> {
        let mut out = Vec::new();
        for (i, e) in self.elections.iter().enumerate() {
            for (r, rep) in e.replicas.iter().enumerate() {
                out.push(StatefulEvent::ControlPlaneTry {
                    election: i as u32,
                    replica: r as u32,
                    incarnation: rep.incarnation,
                });
            }
        }
        out
    }

    /// The elector of component `name`, if one runs.
    fn position(&self, name: &str) -> Option<usize> {
        self.elections
            .iter()
            .position(|e| e.component.name() == name)
    }

    /// True if `name` is a component with an elector (a `killLeader` target).
    pub fn handles(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    fn record(state: &mut ClusterState, i: usize) -> Option<&mut ControlPlaneRecord> {
        state.recorder.stateful.control_plane.get_mut(i)
    }

    /// Replica `r`'s process stops leading (it died or gave up) at `now`; its last sign of
    /// life was `at`.
    fn lost(
        &mut self,
        i: usize,
        r: usize,
        at: SimTime,
        cause: &'static str,
        state: &mut ClusterState,
        now: SimTime,
    ) {
        let Some(e) = self.elections.get_mut(i) else {
            return;
        };
        let rep = &mut e.replicas[r];
        rep.leading = false;
        let identity = rep.identity.clone();
        state.leadership.set(e.component, false);
        let lease = format!("kube-system/{}", e.component.name());
        if let Some(rec) = Self::record(state, i) {
            rec.election.leader = None;
            rec.election.failovers.push(Failover {
                lost_at: at,
                cause,
                old_leader: identity.clone(),
                acquired_at: None,
                new_leader: None,
            });
            rec.effects.push(GapEffect::default());
        }
        state.recorder.event(
            now,
            "Lease",
            lease,
            "LeaderLost",
            format!(
                "{identity} stopped leading ({cause}); {} does nothing until a standby takes the lease",
                e.component.name()
            ),
        );
    }

    fn acquired(
        &mut self,
        i: usize,
        r: usize,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        let Some(e) = self.elections.get_mut(i) else {
            return;
        };
        let identity = e.replicas[r].identity.clone();
        let component = e.component;
        let transitions = e.lease.transitions;
        state.leadership.set(component, true);
        let mut effect = gap_effect(component, state);
        // Only pods created during the gap count as delayed by it.
        let open_since = state
            .recorder
            .stateful
            .control_plane
            .get(i)
            .and_then(|r| r.election.failovers.last())
            .filter(|f| f.acquired_at.is_none())
            .map(|f| f.lost_at);
        if let Some(lost_at) = open_since {
            effect.gap_pods.retain(|id| {
                state
                    .store
                    .pods
                    .get(id)
                    .is_some_and(|p| p.created_at >= lost_at)
            });
        }
        let mut gap = None;
        if let Some(rec) = Self::record(state, i) {
            rec.election.transitions = transitions;
            rec.election.leader = Some(identity.clone());
            if let Some(f) = rec.election.failovers.last_mut()
                && f.acquired_at.is_none()
            {
                f.acquired_at = Some(now);
                f.new_leader = Some(identity.clone());
                gap = Some(now.saturating_since(f.lost_at));
                if let Some(x) = rec.effects.last_mut() {
                    *x = effect;
                }
            }
        }
        let msg = match gap {
            Some(g) => format!(
                "{identity} became leader of {} ({} s without a leader)",
                component.name(),
                g.as_secs_f64()
            ),
            None => format!("{identity} became leader of {}", component.name()),
        };
        state.recorder.event(
            now,
            "Lease",
            format!("kube-system/{}", component.name()),
            "LeaderElection",
            msg,
        );
        // OnStartedLeading: the scheduler starts its loop; a fresh kube-controller-manager
        // starts every controller (each lists its objects).
        let w = Wiring::new();
        match component {
            ControlPlaneComponent::KubeScheduler => {
                ctx.send(
                    w.scheduler,
                    SimDuration::ZERO,
                    Event::Scheduler(SchedulerTimer::StartedLeading),
                );
            }
            ControlPlaneComponent::KubeControllerManager => {
                for id in [
                    w.replicaset,
                    w.deployment,
                    w.job,
                    w.statefulset,
                    w.cronjob,
                    w.node_lifecycle,
                    w.taint_eviction,
                    w.nodes,
                    w.hpa,
                    // The EndpointSlice controller (kept by the traffic component).
                    w.traffic,
                ] {
                    ctx.send(
                        id,
                        SimDuration::ZERO,
                        Event::Controller(ControllerTimer::StartedLeading),
                    );
                }
            }
        }
    }

    /// Replica `r`'s process exits at `now` (killed, or it lost the lease): the kubelet
    /// restarts its static pod after the CrashLoopBackOff delay.
    fn exit(&mut self, i: usize, r: usize, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let Some(rep) = self
            .elections
            .get_mut(i)
            .and_then(|e| e.replicas.get_mut(r))
        else {
            return;
        };
        rep.alive = false;
        let at = rep.backoff.restart_at(now);
        ctx.send_self(
            at.saturating_since(now),
            Event::Stateful(StatefulEvent::ControlPlaneRestart {
                election: i as u32,
                replica: r as u32,
            }),
        );
    }

    /// The kubelet restarted replica `r`: a new process (new identity) joins as a candidate.
    pub fn restart(&mut self, i: usize, r: usize, ctx: &mut Context<'_, Event>) {
        let Some(rep) = self
            .elections
            .get_mut(i)
            .and_then(|e| e.replicas.get_mut(r))
        else {
            return;
        };
        rep.incarnation += 1;
        rep.identity = format!("{}_{}", rep.host, rep.incarnation);
        rep.alive = true;
        rep.seen = Observation::default();
        rep.leading = false;
        ctx.send_self(
            SimDuration::ZERO,
            Event::Stateful(StatefulEvent::ControlPlaneTry {
                election: i as u32,
                replica: r as u32,
                incarnation: rep.incarnation,
            }),
        );
    }

    /// Replica `r` (process `incarnation`) runs `tryAcquireOrRenew`.
    pub fn try_once(
        &mut self,
        i: usize,
        r: usize,
        incarnation: u32,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        let Some(e) = self.elections.get_mut(i) else {
            return;
        };
        let spec = e.spec.clone();
        let Some(rep) = e.replicas.get_mut(r) else {
            return;
        };
        if !rep.alive || rep.incarnation != incarnation {
            return;
        }
        let reachable = state.api_down_until.is_none_or(|t| now >= t);
        let timing = leader_election::Timing {
            lease_duration: spec.lease_duration,
            renew_deadline: spec.renew_deadline,
            retry_period: spec.retry_period,
        };
        let transition = leader_election::step(
            &mut e.lease,
            &mut rep.seen,
            &mut rep.leading,
            &mut rep.last_success,
            &rep.identity,
            reachable,
            now,
            &timing,
        );
        let leading = rep.leading;
        match transition {
            Transition::StartedLeading => self.acquired(i, r, state, ctx),
            Transition::StoppedLeading(at) => {
                // OnStoppedLeading: the process exits.
                self.lost(i, r, at, "renewFailed", state, now);
                self.exit(i, r, ctx);
                return;
            }
            Transition::None => {}
        }
        let wait = leader_election::next_wait(leading, spec.retry_period, ctx.rng());
        ctx.send_self(
            wait,
            Event::Stateful(StatefulEvent::ControlPlaneTry {
                election: i as u32,
                replica: r as u32,
                incarnation,
            }),
        );
    }

    /// Timeline `killLeader` of component `name`: its leader's process dies without
    /// releasing the lease.
    pub fn kill_leader(
        &mut self,
        name: &str,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        let Some(i) = self.position(name) else {
            return;
        };
        let lease = format!("kube-system/{name}");
        let Some(r) = self.elections[i].replicas.iter().position(|x| x.leading) else {
            state.recorder.event(
                now,
                "Lease",
                lease,
                "KillLeader",
                "no leader to kill".to_string(),
            );
            return;
        };
        let identity = self.elections[i].replicas[r].identity.clone();
        state.recorder.event(
            now,
            "Lease",
            lease,
            "KillLeader",
            format!("killed the leader {identity}"),
        );
        self.lost(i, r, now, "killLeader", state, now);
        self.exit(i, r, ctx);
    }
}

/// What a gap left behind for `component`, measured at the acquisition.
fn gap_effect(component: ControlPlaneComponent, state: &ClusterState) -> GapEffect {
    let store = &state.store;
    match component {
        ControlPlaneComponent::KubeScheduler => GapEffect {
            gap_pods: store
                .pods
                .values()
                .filter(|p| p.node.is_none() && p.is_active())
                .map(|p| p.id)
                .collect(),
            ..GapEffect::default()
        },
        ControlPlaneComponent::KubeControllerManager => {
            let mut effect = GapEffect::default();
            let active = |key: &str| store.owner_counts.get(key).map_or(0, |c| c.active);
            // Deployments count the pods of all their ReplicaSets; a stand-alone ReplicaSet
            // and a StatefulSet their own.
            let deployments = store.deployments.iter().map(|(k, d)| {
                let have: i32 = store
                    .replica_sets
                    .iter()
                    .filter(|(_, rs)| rs.owner.as_ref().is_some_and(|o| &o.key == k))
                    .map(|(rk, _)| active(rk))
                    .sum();
                (d.replicas, have)
            });
            let replica_sets = store
                .replica_sets
                .iter()
                .filter(|(_, rs)| rs.owner.is_none())
                .map(|(k, rs)| (rs.replicas, active(k)));
            let stateful_sets = store
                .stateful_sets
                .iter()
                .map(|(k, s)| (s.replicas, active(k)));
            for (wanted, have) in deployments.chain(replica_sets).chain(stateful_sets) {
                let short = wanted - have;
                if short > 0 {
                    effect.pods_missing += short as u32;
                    effect.workloads_behind += 1;
                }
            }
            effect
        }
    }
}

/// Record the control-plane gauges at `now` (called by the sampler): `control_plane.has_leader`
/// and `control_plane.transitions`, object the component name, for the components with an
/// elector.
pub fn sample(state: &mut ClusterState, now: SimTime) {
    let rec = &mut state.recorder;
    let records = std::mem::take(&mut rec.stateful.control_plane);
    for c in &records {
        rec.sample(
            now,
            "control_plane.has_leader",
            c.component,
            f64::from(u8::from(c.election.leader.is_some())),
        );
        rec.sample(
            now,
            "control_plane.transitions",
            c.component,
            f64::from(c.election.transitions),
        );
    }
    rec.stateful.control_plane = records;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_elector_runs_only_where_a_leader_can_change() {
        let spec = |replicas, leader_elect| ControlPlaneComponentSpec {
            replicas,
            leader_elect,
            ..ControlPlaneComponentSpec::default()
        };
        // (replicas, leaderElect, killed by the timeline, elector)
        let cases = [
            (1, true, false, false),
            (1, true, true, true),
            (3, true, false, true),
            (3, false, true, false),
            (1, false, false, false),
        ];
        for (r, le, killed, want) in cases {
            assert_eq!(
                elector_needed(&spec(r, le), killed),
                want,
                "{r} {le} {killed}"
            );
        }
    }

    #[test]
    fn replica_zero_holds_the_lease_from_time_zero() {
        let e = ControlPlaneElections::new(&[(
            ControlPlaneComponent::KubeControllerManager,
            ControlPlaneComponentSpec {
                replicas: 3,
                ..ControlPlaneComponentSpec::default()
            },
        )]);
        let r = e.records();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].component, "kube-controller-manager");
        assert_eq!(r[0].election.lease, "kube-system/kube-controller-manager");
        assert_eq!(r[0].election.leader.as_deref(), Some("control-plane-0_1"));
        assert_eq!(e.initial_events().len(), 3);
        assert!(e.handles("kube-controller-manager"));
        assert!(!e.handles("kube-scheduler"));
        assert_eq!(
            ControlPlaneComponent::from_name("kube-scheduler"),
            Some(ControlPlaneComponent::KubeScheduler)
        );
    }
}
