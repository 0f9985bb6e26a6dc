//! Lease-based leader election among a workload's pods, as client-go's
//! `tools/leaderelection/leaderelection.go` runs it in each candidate process.
//!
//! Every Running and Ready pod of the workload runs an elector with a unique identity (pod
//! name plus a per-process suffix, as kube-scheduler and kube-controller-manager use
//! `hostname_<uuid>`; a restarted container is a new process and a new identity). An elector:
//!
//! - `acquire`: calls `tryAcquireOrRenew` at once and then every `retryPeriod` with jitter
//!   factor 1.2 (`wait.JitterUntil`: each wait is `retryPeriod * (1 + 1.2 * U[0,1))`) until it
//!   holds the lease;
//! - `renew`: as leader, calls it every `retryPeriod`; when no renewal has succeeded for
//!   `renewDeadline` (the poll that starts `retryPeriod` after the last success times out),
//!   it stops leading.
//!
//! `tryAcquireOrRenew` reads the Lease; when the record differs from the one this elector saw
//! last, it notes the local time (`observedTime`). If another identity holds the lease and
//! `observedTime + leaseDuration` is still ahead, it fails; otherwise it writes itself as
//! holder (`acquireTime` and `leaseTransitions` change when the holder changes) with
//! `renewTime = now`. A candidate therefore takes over a dead leader's lease between
//! `leaseDuration` and `leaseDuration + 2.2 * retryPeriod` after that leader's last renewal
//! (plus up to one jittered period before it first observed that renewal).
//!
//! The Lease update is an optimistic-concurrency write at the API server; kubesim applies it
//! at the attempt's instant (the write latency is milliseconds against a 2 s retry period).
//! An attempt fails while the API server is down, and while the candidate's node does not
//! reach the control plane (its kubelet is not renewing the node lease: crashed, partitioned
//! or stopped — kubesim cannot tell a stopped kubelet from a cut network here).

use std::collections::BTreeMap;

use rand::RngExt;

use crate::cluster::events::{ContainerExit, Event, KubeletTimer};
use crate::cluster::objects::{PodId, PodPhase};
use crate::cluster::state::ClusterState;
use crate::cluster::stateful_events::StatefulEvent;
use crate::cluster::stateful_record::{Failover, LeaderRecord};
use crate::cluster::stateful_spec::LeaderElectionSpec;
use crate::cluster::wiring::Wiring;
use crate::engine::{Component, Context, SimDuration, SimTime};

/// client-go `JitterFactor` of the acquire loop.
pub const JITTER_FACTOR: f64 = 1.2;

/// The Lease object (`coordination.k8s.io/v1`), as the election writes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaseRecord {
    /// `holderIdentity`.
    pub holder: Option<String>,
    /// `acquireTime`.
    pub acquire_time: SimTime,
    /// `renewTime`.
    pub renew_time: SimTime,
    /// `leaseTransitions`.
    pub transitions: u32,
    /// `resourceVersion` of the record (changes on every write).
    pub version: u64,
}

/// One elector's view of the lease (client-go `observedRecord`, `observedTime`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// Version of the record last seen.
    pub version: u64,
    /// Local time it was first seen.
    pub time: SimTime,
}

/// The outcome of one `tryAcquireOrRenew`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// The elector holds the lease (acquired or renewed).
    Held,
    /// Another identity holds a lease that has not expired in this elector's view.
    HeldByOther,
}

/// client-go `tryAcquireOrRenew` for `me` at `now` (the API server is reachable).
pub fn try_acquire_or_renew(
    lease: &mut LeaseRecord,
    seen: &mut Observation,
    me: &str,
    now: SimTime,
    lease_duration: SimDuration,
) -> Attempt {
    if seen.version != lease.version {
        *seen = Observation {
            version: lease.version,
            time: now,
        };
    }
    if let Some(h) = &lease.holder
        && h != me
        && seen.time + lease_duration > now
    {
        return Attempt::HeldByOther;
    }
    if lease.holder.as_deref() != Some(me) {
        if lease.holder.is_some() {
            lease.transitions += 1;
        }
        lease.holder = Some(me.to_string());
        lease.acquire_time = now;
    }
    lease.renew_time = now;
    lease.version += 1;
    *seen = Observation {
        version: lease.version,
        time: now,
    };
    Attempt::Held
}

/// Tell the traffic model who leads a singleton Service (`LeaderElection` `spec.service`):
/// only that pod is its endpoint; `None` during a failover.
fn tell_service(service: Option<usize>, pod: Option<PodId>, ctx: &mut Context<'_, Event>) {
    if let Some(service) = service {
        ctx.send(
            Wiring::new().traffic,
            SimDuration::ZERO,
            Event::Traffic(crate::cluster::traffic::TrafficEvent::Leader {
                service: service as u32,
                pod,
            }),
        );
    }
}

/// The three timings of a client-go elector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// `leaseDuration`: a standby takes over a lease not renewed for this long (from when it
    /// last saw the record change).
    pub lease_duration: SimDuration,
    /// `renewDeadline`: the leader stops leading when it could not renew for this long.
    pub renew_deadline: SimDuration,
    /// `retryPeriod`: between two attempts.
    pub retry_period: SimDuration,
}

/// What one attempt changed for the elector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Nothing (still leading, or still a standby).
    None,
    /// It acquired the lease (client-go `OnStartedLeading`).
    StartedLeading,
    /// It gave up leading (client-go `OnStoppedLeading`); the time is its last successful
    /// renewal.
    StoppedLeading(SimTime),
}

/// One iteration of client-go's `acquire` / `renew` loop for an elector holding `seen`,
/// `leading` and `last_success`: `tryAcquireOrRenew` when the API server is `reachable`, and,
/// for a leader that failed, the renew deadline (the renew poll starts `retryPeriod` after the
/// last success and gives up `renewDeadline` later).
#[allow(clippy::too_many_arguments)]
pub fn step(
    lease: &mut LeaseRecord,
    seen: &mut Observation,
    leading: &mut bool,
    last_success: &mut SimTime,
    me: &str,
    reachable: bool,
    now: SimTime,
    timing: &Timing,
) -> Transition {
    let outcome =
        reachable.then(|| try_acquire_or_renew(lease, seen, me, now, timing.lease_duration));
    match outcome {
        Some(Attempt::Held) => {
            *last_success = now;
            if *leading {
                Transition::None
            } else {
                *leading = true;
                Transition::StartedLeading
            }
        }
        _ => {
            if *leading && now >= *last_success + timing.retry_period + timing.renew_deadline {
                *leading = false;
                Transition::StoppedLeading(*last_success)
            } else {
                Transition::None
            }
        }
    }
}

/// The wait before the next attempt: `retryPeriod` for a leader (`renew`), and
/// `retryPeriod * (1 + 1.2 U[0,1))` for a standby (`acquire`, `wait.JitterUntil`); draws from
/// `rng` only for a standby.
pub fn next_wait(
    leading: bool,
    retry_period: SimDuration,
    rng: &mut crate::engine::SimRng,
) -> SimDuration {
    if leading {
        retry_period
    } else {
        let u: f64 = rng.random();
        SimDuration::from_secs_f64(retry_period.as_secs_f64() * (1.0 + JITTER_FACTOR * u))
    }
}

#[derive(Debug)]
struct Candidate {
    identity: String,
    incarnation: u32,
    seen: Observation,
    leading: bool,
    /// Last successful acquire or renew.
    last_success: SimTime,
    /// `ready_since` of the pod when this process started, to tell a restarted container.
    ready_since: SimTime,
}

#[derive(Debug)]
struct Election {
    spec: LeaderElectionSpec,
    lease: LeaseRecord,
    candidates: BTreeMap<PodId, Candidate>,
    /// Processes started per pod (the identity suffix).
    incarnations: BTreeMap<PodId, u32>,
    /// Pods whose process `killLeader` killed, with the `ready_since` it had: the pod is a
    /// candidate again only once it became Ready anew (its container restarted).
    killed: BTreeMap<PodId, Option<SimTime>>,
}

/// The leader-election component: every election's electors.
#[derive(Debug)]
pub struct LeaderElections {
    elections: Vec<Election>,
    /// The electors of kube-scheduler and kube-controller-manager (`cluster::control_plane`).
    control_plane: crate::cluster::control_plane::ControlPlaneElections,
}

impl LeaderElections {
    /// The elections of `specs`; the world schedules each one's first scan at time zero.
    pub fn new(specs: &[LeaderElectionSpec]) -> Self {
        LeaderElections {
            elections: specs
                .iter()
                .map(|s| Election {
                    spec: s.clone(),
                    lease: LeaseRecord::default(),
                    candidates: BTreeMap::new(),
                    incarnations: BTreeMap::new(),
                    killed: BTreeMap::new(),
                })
                .collect(),
            control_plane: Default::default(),
        }
    }

    /// The same component also running the control-plane components' electors.
    pub fn with_control_plane(
        mut self,
        control_plane: crate::cluster::control_plane::ControlPlaneElections,
    ) -> Self {
        self.control_plane = control_plane;
        self
    }

    /// The records the component fills, one per election (the world puts them in the
    /// recorder before the run).
    pub fn records(specs: &[LeaderElectionSpec]) -> Vec<LeaderRecord> {
        specs
            .iter()
            .map(|s| LeaderRecord {
                lease: s.key(),
                workload: s.workload.clone(),
                ..LeaderRecord::default()
            })
            .collect()
    }

    /// True if `pod`'s process is running and may take part: a Running, Ready, active pod of
    /// the workload, not killed since it last became Ready.
    fn alive(e: &Election, id: PodId, state: &ClusterState) -> bool {
        let Some(p) = state.store.pods.get(&id) else {
            return false;
        };
        p.workload == e.spec.workload
            && p.namespace == e.spec.namespace
            && p.is_active()
            && p.phase == PodPhase::Running
            && p.is_ready()
            && e.killed.get(&id).is_none_or(|r| *r != p.ready_since)
    }

    /// True if the pod's node reaches the control plane and the API server takes writes.
    fn reachable(id: PodId, state: &ClusterState, now: SimTime) -> bool {
        if state.api_down_until.is_some_and(|t| now < t) {
            return false;
        }
        let Some(node) = state.store.pods.get(&id).and_then(|p| p.node.as_ref()) else {
            return false;
        };
        state
            .store
            .nodes
            .get(node)
            .is_some_and(|n| n.lease.renewing)
    }

    fn scan(&mut self, i: usize, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let Some(e) = self.elections.get_mut(i) else {
            return;
        };
        let now = ctx.now();
        let ids: Vec<PodId> = state
            .store
            .pods
            .values()
            .filter(|p| p.workload == e.spec.workload && p.namespace == e.spec.namespace)
            .map(|p| p.id)
            .collect();
        for id in ids {
            if e.candidates.contains_key(&id) || !Self::alive(e, id, state) {
                continue;
            }
            let Some(p) = state.store.pods.get(&id) else {
                continue;
            };
            let n = e.incarnations.entry(id).or_insert(0);
            *n += 1;
            let incarnation = *n;
            e.candidates.insert(
                id,
                Candidate {
                    identity: format!("{}_{incarnation}", p.name),
                    incarnation,
                    seen: Observation::default(),
                    leading: false,
                    last_success: SimTime::ZERO,
                    ready_since: p.ready_since.unwrap_or(now),
                },
            );
            ctx.send_self(
                SimDuration::ZERO,
                Event::Stateful(StatefulEvent::LeaseTry {
                    election: i as u32,
                    pod: id,
                    incarnation,
                }),
            );
        }
        ctx.send_self(
            e.spec.retry_period,
            Event::Stateful(StatefulEvent::LeaseScan(i as u32)),
        );
    }

    /// The leader `identity` stopped leading.
    fn lost(
        state: &mut ClusterState,
        i: usize,
        identity: &str,
        at: SimTime,
        cause: &'static str,
        now: SimTime,
    ) {
        let Some(r) = state.recorder.stateful.elections.get_mut(i) else {
            return;
        };
        if r.leader.as_deref() != Some(identity) {
            return;
        }
        r.leader = None;
        r.failovers.push(Failover {
            lost_at: at,
            cause,
            old_leader: identity.to_string(),
            acquired_at: None,
            new_leader: None,
        });
        let lease = r.lease.clone();
        state.recorder.event(
            now,
            "Lease",
            lease,
            "LeaderLost",
            format!("{identity} stopped leading ({cause})"),
        );
    }

    fn acquired(
        state: &mut ClusterState,
        i: usize,
        identity: &str,
        transitions: u32,
        now: SimTime,
    ) {
        let Some(r) = state.recorder.stateful.elections.get_mut(i) else {
            return;
        };
        r.transitions = transitions;
        r.leader = Some(identity.to_string());
        r.first_acquired_at.get_or_insert(now);
        let mut gap = None;
        if let Some(f) = r.failovers.last_mut()
            && f.acquired_at.is_none()
        {
            f.acquired_at = Some(now);
            f.new_leader = Some(identity.to_string());
            gap = Some(now.saturating_since(f.lost_at));
        }
        let lease = r.lease.clone();
        let msg = match gap {
            Some(g) => format!(
                "{identity} became leader ({} s without a leader)",
                g.as_secs_f64()
            ),
            None => format!("{identity} became leader"),
        };
        state
            .recorder
            .event(now, "Lease", lease, "LeaderElection", msg);
    }

    fn try_once(
        &mut self,
        i: usize,
        id: PodId,
        incarnation: u32,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        let Some(e) = self.elections.get_mut(i) else {
            return;
        };
        match e.candidates.get(&id) {
            Some(c) if c.incarnation == incarnation => {}
            _ => return,
        }
        let alive = Self::alive(e, id, state)
            && state
                .store
                .pods
                .get(&id)
                .and_then(|p| p.ready_since)
                .is_some_and(|r| e.candidates.get(&id).is_some_and(|c| c.ready_since == r));
        if !alive {
            if let Some(c) = e.candidates.remove(&id)
                && c.leading
            {
                Self::lost(state, i, &c.identity, c.last_success, "podGone", now);
                tell_service(e.spec.service, None, ctx);
            }
            return;
        }
        let reachable = Self::reachable(id, state, now);
        let spec = e.spec.clone();
        let Some(c) = e.candidates.get_mut(&id) else {
            return;
        };
        let timing = Timing {
            lease_duration: spec.lease_duration,
            renew_deadline: spec.renew_deadline,
            retry_period: spec.retry_period,
        };
        let transition = step(
            &mut e.lease,
            &mut c.seen,
            &mut c.leading,
            &mut c.last_success,
            &c.identity,
            reachable,
            now,
            &timing,
        );
        match transition {
            Transition::StartedLeading => {
                let (ident, tr) = (c.identity.clone(), e.lease.transitions);
                // A previous leader that never noticed it lost the lease (cut off):
                // its failover ends now.
                let stale = state
                    .recorder
                    .stateful
                    .elections
                    .get(i)
                    .and_then(|r| r.leader.clone())
                    .filter(|l| *l != ident);
                if let Some(old) = stale {
                    let at = e
                        .candidates
                        .values()
                        .find(|x| x.identity == old)
                        .map_or(now, |x| x.last_success);
                    Self::lost(state, i, &old, at, "renewFailed", now);
                }
                Self::acquired(state, i, &ident, tr, now);
                tell_service(spec.service, Some(id), ctx);
            }
            Transition::StoppedLeading(at) => {
                let ident = c.identity.clone();
                Self::lost(state, i, &ident, at, "renewFailed", now);
                tell_service(spec.service, None, ctx);
            }
            Transition::None => {}
        }
        let Some(c) = e.candidates.get(&id) else {
            return;
        };
        let wait = next_wait(c.leading, spec.retry_period, ctx.rng());
        ctx.send_self(
            wait,
            Event::Stateful(StatefulEvent::LeaseTry {
                election: i as u32,
                pod: id,
                incarnation,
            }),
        );
    }

    fn kill_leader(&mut self, name: &str, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        let now = ctx.now();
        let Some(i) = self.elections.iter().position(|e| e.spec.name == name) else {
            return;
        };
        let e = &mut self.elections[i];
        let leader = e
            .candidates
            .iter()
            .find(|(_, c)| c.leading)
            .map(|(id, c)| (*id, c.identity.clone()));
        let Some((id, identity)) = leader else {
            state.recorder.event(
                now,
                "Lease",
                e.spec.key(),
                "KillLeader",
                "no leader to kill".to_string(),
            );
            return;
        };
        e.candidates.remove(&id);
        let ready_since = state.store.pods.get(&id).and_then(|p| p.ready_since);
        e.killed.insert(id, ready_since);
        state.recorder.event(
            now,
            "Lease",
            e.spec.key(),
            "KillLeader",
            format!("killed the leader {identity}"),
        );
        Self::lost(state, i, &identity, now, "killLeader", now);
        tell_service(e.spec.service, None, ctx);
        // The leader's process dies: its container exits with an error and the kubelet
        // restarts it (CrashLoopBackOff).
        ctx.send(
            Wiring::new().kubelet,
            SimDuration::ZERO,
            Event::Kubelet(KubeletTimer::Exited(id, ContainerExit::Error)),
        );
    }
}

impl Component<Event, ClusterState> for LeaderElections {
    fn name(&self) -> &str {
        "leader-election"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        match event {
            Event::Stateful(StatefulEvent::LeaseScan(i)) => self.scan(i as usize, state, ctx),
            Event::Stateful(StatefulEvent::LeaseTry {
                election,
                pod,
                incarnation,
            }) => self.try_once(election as usize, pod, incarnation, state, ctx),
            Event::Stateful(StatefulEvent::KillLeader(name)) => {
                if self.control_plane.handles(&name) {
                    self.control_plane.kill_leader(&name, state, ctx);
                } else {
                    self.kill_leader(&name, state, ctx);
                }
            }
            Event::Stateful(StatefulEvent::ControlPlaneTry {
                election,
                replica,
                incarnation,
            }) => self.control_plane.try_once(
                election as usize,
                replica as usize,
                incarnation,
                state,
                ctx,
            ),
            Event::Stateful(StatefulEvent::ControlPlaneRestart { election, replica }) => self
                .control_plane
                .restart(election as usize, replica as usize, ctx),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: u64) -> SimTime {
        SimTime(x * 1_000_000_000)
    }

    #[test]
    fn acquisition_waits_lease_duration_from_the_last_observed_change() {
        let d = SimDuration::from_secs(15);
        let mut lease = LeaseRecord::default();
        let (mut a, mut b) = (Observation::default(), Observation::default());
        // a acquires the free lease at 0 and renews at 2; b observes at 1 and 3.
        // (who, time, expected outcome)
        let steps = [
            ("a", 0, Attempt::Held),
            ("b", 1, Attempt::HeldByOther),
            ("a", 2, Attempt::Held),
            ("b", 3, Attempt::HeldByOther),
            // a dies after its renewal at 2. b saw that renewal at 3: expiry at 18.
            ("b", 17, Attempt::HeldByOther),
            ("b", 18, Attempt::Held),
        ];
        for (who, t, want) in steps {
            let seen = if who == "a" { &mut a } else { &mut b };
            assert_eq!(
                try_acquire_or_renew(&mut lease, seen, who, s(t), d),
                want,
                "{who} at {t}"
            );
        }
        assert_eq!(lease.holder.as_deref(), Some("b"));
        assert_eq!(lease.acquire_time, s(18));
        assert_eq!(lease.transitions, 1);
    }

    #[test]
    fn step_starts_renews_and_gives_up_after_the_renew_deadline() {
        let timing = Timing {
            lease_duration: SimDuration::from_secs(15),
            renew_deadline: SimDuration::from_secs(10),
            retry_period: SimDuration::from_secs(2),
        };
        let mut lease = LeaseRecord::default();
        let mut seen = Observation::default();
        let (mut leading, mut last) = (false, SimTime::ZERO);
        // (time, API server reachable, expected transition, leading after)
        let steps = [
            (0, true, Transition::StartedLeading, true),
            (2, true, Transition::None, true),
            (4, false, Transition::None, true),
            // The renew poll started at 4 (one retry period after the success at 2) and
            // gives up at 14.
            (13, false, Transition::None, true),
            (14, false, Transition::StoppedLeading(s(2)), false),
            (16, false, Transition::None, false),
            // Still the holder in the record: it may take the lease again.
            (18, true, Transition::StartedLeading, true),
        ];
        for (t, reachable, want, after) in steps {
            let got = step(
                &mut lease,
                &mut seen,
                &mut leading,
                &mut last,
                "a",
                reachable,
                s(t),
                &timing,
            );
            assert_eq!((got, leading), (want, after), "at {t}");
        }
    }

    #[test]
    fn a_leader_waits_one_retry_period_a_standby_a_jittered_one() {
        let mut rng = crate::engine::stream_rng(1, "t");
        let p = SimDuration::from_secs(2);
        assert_eq!(next_wait(true, p, &mut rng), p);
        for _ in 0..100 {
            let w = next_wait(false, p, &mut rng).as_secs_f64();
            assert!((2.0..2.0 * (1.0 + JITTER_FACTOR)).contains(&w), "{w}");
        }
    }

    #[test]
    fn a_holder_renews_whatever_the_expiry() {
        let d = SimDuration::from_secs(15);
        let mut lease = LeaseRecord::default();
        let mut a = Observation::default();
        assert_eq!(
            try_acquire_or_renew(&mut lease, &mut a, "a", s(0), d),
            Attempt::Held
        );
        assert_eq!(
            try_acquire_or_renew(&mut lease, &mut a, "a", s(100), d),
            Attempt::Held
        );
        assert_eq!(lease.acquire_time, s(0));
        assert_eq!(lease.renew_time, s(100));
        assert_eq!(lease.transitions, 0);
    }

    #[test]
    fn a_candidate_that_never_saw_the_record_waits_a_full_lease_duration() {
        // The record was written long ago, but b sees it first at 50: b must wait until 65
        // (client-go trusts only its own clock).
        let d = SimDuration::from_secs(15);
        let mut lease = LeaseRecord {
            holder: Some("a".into()),
            version: 7,
            ..LeaseRecord::default()
        };
        let mut b = Observation::default();
        for (t, want) in [
            (50, Attempt::HeldByOther),
            (64, Attempt::HeldByOther),
            (65, Attempt::Held),
        ] {
            assert_eq!(
                try_acquire_or_renew(&mut lease, &mut b, "b", s(t), d),
                want,
                "at {t}"
            );
        }
    }
}
