//! Container probes (`livenessProbe`, `readinessProbe`, `startupProbe`) as the kubelet's prober
//! runs them, computed in closed form from when the container answers.
//!
//! Upstream (`pkg/kubelet/prober/worker.go`): one worker per probe ticks every
//! `periodSeconds` from the container's start; a tick earlier than `initialDelaySeconds` after
//! the start does nothing; a result changes the probe's state only after `successThreshold`
//! successes or `failureThreshold` failures in a row. Liveness and readiness do not run until
//! the startup probe (if any) has succeeded. A failed liveness or startup probe kills the
//! container (then restarted per `restartPolicy`); a failed readiness probe clears `Ready`.
//!
//! The container's health is kubesim's (from `Behavior`): it answers from `up_at` on (start-up
//! done) and stops answering at `down_at` (the process hangs); before `up_at` a probe is refused
//! at once, after `down_at` it fails when `timeoutSeconds` runs out. The prober has no jitter
//! here (upstream sleeps a random part of a period only right after a kubelet restart).

use crate::engine::{SimDuration, SimTime};

/// One probe's timing (`core/v1` `Probe`), with upstream's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeSpec {
    /// `initialDelaySeconds` (default 0).
    pub initial_delay: SimDuration,
    /// `periodSeconds` (default 10 s, at least 1 s).
    pub period: SimDuration,
    /// `timeoutSeconds` (default 1 s, at least 1 s).
    pub timeout: SimDuration,
    /// `successThreshold` (default 1; must be 1 for liveness and startup).
    pub success_threshold: u32,
    /// `failureThreshold` (default 3).
    pub failure_threshold: u32,
}

impl Default for ProbeSpec {
    /// Upstream `SetDefaults_Probe`: period 10 s, timeout 1 s, thresholds 1 and 3.
    fn default() -> Self {
        ProbeSpec {
            initial_delay: SimDuration::ZERO,
            period: SimDuration::from_secs(10),
            timeout: SimDuration::from_secs(1),
            success_threshold: 1,
            failure_threshold: 3,
        }
    }
}

/// The probes of one container.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContainerProbes {
    /// `livenessProbe`.
    pub liveness: Option<ProbeSpec>,
    /// `readinessProbe`.
    pub readiness: Option<ProbeSpec>,
    /// `startupProbe`.
    pub startup: Option<ProbeSpec>,
}

/// When a container answers probes: from `up_at` (never if `None`) until `down_at` (forever if
/// `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Health {
    /// First instant the container answers.
    pub up_at: Option<SimTime>,
    /// First instant it no longer answers (it hung).
    pub down_at: Option<SimTime>,
}

impl Health {
    fn ok(&self, t: SimTime) -> bool {
        self.up_at.is_some_and(|u| t >= u) && self.down_at.is_none_or(|d| t < d)
    }
}

impl ProbeSpec {
    /// The first tick at or after `not_before` that probes: `start + k * period` with
    /// `k * period >= initialDelay`.
    pub fn first_tick(&self, start: SimTime, not_before: SimTime) -> SimTime {
        let p = self.period.as_nanos().max(1);
        let k_delay = self.initial_delay.as_nanos().div_ceil(p);
        let k_after = not_before.saturating_since(start).as_nanos().div_ceil(p);
        SimTime(start.as_nanos() + k_delay.max(k_after) * p)
    }

    /// When the probe, ticking from `start` and counting from `not_before`, first has
    /// `threshold` results in a row equal to `want` (true = success), given `health`; `None`
    /// if never. A failure from a hung container is known `timeout` after its tick.
    pub fn streak(
        &self,
        start: SimTime,
        not_before: SimTime,
        health: Health,
        want: bool,
        threshold: u32,
    ) -> Option<SimTime> {
        let p = self.period.as_nanos().max(1);
        let th = u64::from(threshold.max(1));
        // Health is piecewise constant on [start, up), [up, down), [down, inf): at most three
        // intervals; look for `th` ticks in a row inside one interval with the wanted value.
        let mut cuts: Vec<SimTime> = vec![start];
        if let Some(u) = health.up_at {
            cuts.push(u.max(start));
            if let Some(d) = health.down_at {
                cuts.push(d.max(u).max(start));
            }
        }
        cuts.push(SimTime(u64::MAX));
        for w in cuts.windows(2) {
            let (from, to) = (w[0], w[1]);
            if from >= to || health.ok(from) != want {
                continue;
            }
            let first = self.first_tick(start, from.max(not_before));
            let last = first.as_nanos().checked_add((th - 1) * p)?;
            if last < to.as_nanos() {
                let hung = health.down_at.is_some_and(|d| SimTime(last) >= d);
                let extra = if !want && hung {
                    self.timeout
                } else {
                    SimDuration::ZERO
                };
                return Some(SimTime(last) + extra);
            }
        }
        None
    }
}

/// What the probes of one run of a container (from `start`) lead to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbePlan {
    /// When the pod's `Ready` condition becomes true (`None` = never in this run).
    pub ready_at: Option<SimTime>,
    /// When, after `ready_at`, the readiness probe fails for good (`None` = never).
    pub unready_at: Option<SimTime>,
    /// When a liveness or startup probe failure kills the container, and which probe.
    pub kill: Option<(SimTime, ProbeKind)>,
}

/// Which probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    /// `livenessProbe`.
    Liveness,
    /// `readinessProbe`.
    Readiness,
    /// `startupProbe`.
    Startup,
}

impl ProbeKind {
    /// Upstream spelling in event messages (`Liveness probe failed`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
            ProbeKind::Startup => "Startup",
        }
    }
}

/// Plan one run of a container started at `start`: `alive` says when it answers liveness and
/// startup probes, `ready` when it answers the readiness probe (the same, unless the version
/// never becomes ready). Without a readiness probe the pod is Ready once started-up
/// (`alive.up_at`, after the startup probe passed), as the kubelet treats a container with no
/// readiness probe as ready.
pub fn plan(probes: &ContainerProbes, start: SimTime, alive: Health, ready: Health) -> ProbePlan {
    // Startup probe: liveness and readiness wait for it.
    let mut kill: Option<(SimTime, ProbeKind)> = None;
    let startup_done = match &probes.startup {
        None => Some(start),
        Some(s) => {
            let pass = s.streak(start, start, alive, true, 1);
            let fail = s.streak(start, start, alive, false, s.failure_threshold);
            match (pass, fail) {
                (Some(p), Some(f)) if f < p => {
                    kill = Some((f, ProbeKind::Startup));
                    None
                }
                (None, Some(f)) => {
                    kill = Some((f, ProbeKind::Startup));
                    None
                }
                (p, _) => p,
            }
        }
    };
    let Some(done) = startup_done else {
        return ProbePlan {
            ready_at: None,
            unready_at: None,
            kill,
        };
    };
    if let Some(l) = &probes.liveness
        && let Some(f) = l.streak(start, done, alive, false, l.failure_threshold)
    {
        kill = Some((f, ProbeKind::Liveness));
    }
    let (ready_at, unready_at) = match &probes.readiness {
        None => (alive.up_at.map(|u| u.max(done)), None),
        Some(r) => {
            let at = r.streak(start, done, ready, true, r.success_threshold);
            let un = at.and_then(|a| r.streak(start, a, ready, false, r.failure_threshold));
            (at, un)
        }
    };
    // Nothing happens after the container is killed.
    let before_kill = |t: Option<SimTime>| t.filter(|t| kill.is_none_or(|(k, _)| *t < k));
    ProbePlan {
        ready_at: before_kill(ready_at),
        unready_at: before_kill(unready_at),
        kill,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SimTime {
        SimTime(s * 1_000_000_000)
    }
    fn d(s: u64) -> SimDuration {
        SimDuration::from_secs(s)
    }
    fn probe(delay: u64, period: u64, success: u32, failure: u32) -> ProbeSpec {
        ProbeSpec {
            initial_delay: d(delay),
            period: d(period),
            timeout: d(1),
            success_threshold: success,
            failure_threshold: failure,
        }
    }
    fn health(up: Option<u64>, down: Option<u64>) -> Health {
        Health {
            up_at: up.map(t),
            down_at: down.map(t),
        }
    }

    #[test]
    fn first_tick_respects_initial_delay_and_not_before() {
        // (delay, period, start, not_before, expected)
        let cases = [
            (0, 10, 0, 0, 0),
            (5, 10, 0, 0, 10),
            (10, 10, 0, 0, 10),
            (0, 10, 3, 3, 3),
            (0, 10, 3, 4, 13),
            (15, 5, 100, 0, 115),
            (15, 5, 100, 121, 125),
        ];
        for (delay, period, start, nb, want) in cases {
            assert_eq!(
                probe(delay, period, 1, 3).first_tick(t(start), t(nb)),
                t(want),
                "delay {delay} period {period} start {start} not_before {nb}"
            );
        }
    }

    #[test]
    fn streak_table() {
        // (probe, health, not_before, want, threshold, expected)
        let p = probe(0, 10, 1, 3);
        let cases: Vec<(ProbeSpec, Health, u64, bool, u32, Option<u64>)> = vec![
            // Answers from 25 s: first success at the 30 s tick.
            (p, health(Some(25), None), 0, true, 1, Some(30)),
            // Two successes in a row needed: 40 s.
            (p, health(Some(25), None), 0, true, 2, Some(40)),
            // Never answers: never succeeds; fails 3 in a row at 0, 10, 20 -> 20 s.
            (p, health(None, None), 0, true, 1, None),
            (p, health(None, None), 0, false, 3, Some(20)),
            // Up at 25: only 0, 10, 20 fail -> exactly 3 failures -> 20 s.
            (p, health(Some(25), None), 0, false, 3, Some(20)),
            // Up at 15: 0 and 10 fail, 20 succeeds: no three failures before the hang.
            (p, health(Some(15), None), 0, false, 3, None),
            // Hangs at 100: failing ticks 100, 110, 120 -> 120 + timeout 1 s.
            (p, health(Some(15), Some(100)), 0, false, 3, Some(121)),
            // Counting only from 50 (after startup): the hang at 95 -> ticks 100, 110, 120.
            (p, health(Some(0), Some(95)), 50, false, 3, Some(121)),
            // With an initial delay of 30 s, the early failures do not count.
            (
                probe(30, 10, 1, 3),
                health(Some(25), None),
                0,
                false,
                3,
                None,
            ),
        ];
        for (i, (pr, h, nb, want, th, exp)) in cases.into_iter().enumerate() {
            assert_eq!(pr.streak(t(0), t(nb), h, want, th), exp.map(t), "case {i}");
        }
    }

    #[test]
    fn no_probes_ready_when_up() {
        let h = health(Some(7), None);
        let plan = plan(&ContainerProbes::default(), t(0), h, h);
        assert_eq!(
            plan,
            ProbePlan {
                ready_at: Some(t(7)),
                unready_at: None,
                kill: None
            }
        );
    }

    #[test]
    fn liveness_kills_a_slow_starter_without_startup_probe() {
        // Up after 45 s; liveness every 10 s, 3 failures: killed at 20 s, never ready.
        let probes = ContainerProbes {
            liveness: Some(probe(0, 10, 1, 3)),
            ..Default::default()
        };
        let h = health(Some(45), None);
        let p = plan(&probes, t(0), h, h);
        assert_eq!(p.kill, Some((t(20), ProbeKind::Liveness)));
        assert_eq!(p.ready_at, None);
        // The same with a startup probe allowing 30 x 2 s: startup passes at 46, ready then.
        let probes = ContainerProbes {
            liveness: Some(probe(0, 10, 1, 3)),
            startup: Some(probe(0, 2, 1, 30)),
            ..Default::default()
        };
        let p = plan(&probes, t(0), h, h);
        assert_eq!(p.kill, None);
        assert_eq!(p.ready_at, Some(t(46)));
    }

    #[test]
    fn startup_probe_gives_up() {
        // Up after 100 s, startup allows 3 x 10 s: killed at the 20 s tick.
        let probes = ContainerProbes {
            startup: Some(probe(0, 10, 1, 3)),
            ..Default::default()
        };
        let h = health(Some(100), None);
        let p = plan(&probes, t(0), h, h);
        assert_eq!(p.kill, Some((t(20), ProbeKind::Startup)));
        assert_eq!(p.ready_at, None);
    }

    #[test]
    fn readiness_follows_a_hang_and_never_ready() {
        let probes = ContainerProbes {
            readiness: Some(probe(5, 5, 2, 3)),
            ..Default::default()
        };
        // Up at 12: successes at 15 and 20 -> ready 20; hangs at 60: 60, 65, 70 fail -> 71.
        let h = health(Some(12), Some(60));
        let p = plan(&probes, t(0), h, h);
        assert_eq!(p.ready_at, Some(t(20)));
        assert_eq!(p.unready_at, Some(t(71)));
        assert_eq!(p.kill, None);
        // A version that never becomes ready: alive but never Ready.
        let never = health(None, None);
        let p = plan(&probes, t(0), h, never);
        assert_eq!((p.ready_at, p.unready_at), (None, None));
    }
}
