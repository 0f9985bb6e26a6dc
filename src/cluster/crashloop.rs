//! CrashLoopBackOff: how long the kubelet waits before restarting a container that exited, as a
//! pure state machine.
//!
//! Upstream, the kubelet keeps one `flowcontrol.Backoff` entry per container
//! (`pkg/kubelet/kuberuntime/kuberuntime_manager.go` `doBackOff`, with
//! `backOffPeriod = 10 * time.Second` and `MaxContainerBackOff = 300 * time.Second` from
//! `pkg/kubelet/kubelet.go`), and `client-go/util/flowcontrol/backoff.go` gives the arithmetic:
//!
//! - when the container exits (at `finishedAt`), the kubelet restarts it at once unless it is
//!   "in back-off since" `finishedAt`: an entry exists, has not expired, and
//!   `now - finishedAt < backoff`. So the first restart is immediate, and a later one waits until
//!   `finishedAt + backoff`;
//! - at each restart, `Next`: a missing or expired entry starts at 10 s, otherwise the delay
//!   doubles, capped at 300 s; `lastUpdate` becomes the restart time;
//! - an entry expires when `finishedAt - lastUpdate > 2 * max` (`hasExpired`): a container that
//!   ran for more than 10 minutes since its last restart starts over ("reset after 10 minutes
//!   running", as the pod-lifecycle docs say).
//!
//! So the restart delays of a container that crashes right after every start are 0, 10, 20,
//! 40, 80, 160, 300, 300, ... seconds. kubesim restarts exactly when the back-off runs out
//! (upstream's pod worker re-syncs on its own schedule, up to a few seconds later) and has no
//! jitter (upstream's kubelet uses none for this back-off).

use crate::engine::{SimDuration, SimTime};

/// Upstream `backOffPeriod`: the first non-zero restart delay, 10 s.
pub const INITIAL_BACKOFF: SimDuration = SimDuration::from_secs(10);
/// Upstream `MaxContainerBackOff`: the cap of the restart delay, 300 s.
pub const MAX_BACKOFF: SimDuration = SimDuration::from_secs(300);

/// One container's back-off entry (`flowcontrol.backoffEntry`), or none yet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrashLoopBackOff {
    /// `(backoff, lastUpdate)` once the container has been restarted at least once.
    entry: Option<(SimDuration, SimTime)>,
    /// The initial delay (10 s upstream).
    initial: Option<SimDuration>,
    /// The cap (300 s upstream).
    max: Option<SimDuration>,
}

impl CrashLoopBackOff {
    /// A fresh state with upstream's 10 s initial delay and 300 s cap.
    pub fn new() -> Self {
        CrashLoopBackOff::default()
    }

    /// A fresh state with other bounds (`initial` <= `max`), e.g. the kubelet's
    /// `crashLoopBackOff.maxContainerRestartPeriod`.
    pub fn with_bounds(initial: SimDuration, max: SimDuration) -> Self {
        CrashLoopBackOff {
            entry: None,
            initial: Some(initial),
            max: Some(max.max(initial)),
        }
    }

    fn initial(&self) -> SimDuration {
        self.initial.unwrap_or(INITIAL_BACKOFF)
    }

    fn max(&self) -> SimDuration {
        self.max.unwrap_or(MAX_BACKOFF)
    }

    /// Upstream `hasExpired`: more than twice the cap since the last restart.
    fn expired(&self, finished_at: SimTime, last_update: SimTime) -> bool {
        finished_at.saturating_since(last_update).as_nanos() > 2 * self.max().as_nanos()
    }

    /// The container exited at `finished_at`: when the kubelet restarts it. Updates the entry
    /// as upstream's `Next` does at that restart.
    pub fn restart_at(&mut self, finished_at: SimTime) -> SimTime {
        let (initial, max) = (self.initial(), self.max());
        match self.entry {
            Some((backoff, last)) if !self.expired(finished_at, last) => {
                // In back-off since `finishedAt`: wait it out, then `Next` doubles it.
                let at = finished_at + backoff;
                let doubled = SimDuration::from_nanos(backoff.as_nanos().saturating_mul(2));
                self.entry = Some((doubled.min(max), at));
                at
            }
            _ => {
                // No entry, or an expired one: restart now with a fresh entry.
                self.entry = Some((initial, finished_at));
                finished_at
            }
        }
    }

    /// The delay the next exit would wait if it happened at `finished_at`, without changing
    /// the state (what `kubectl describe` shows as `back-off 20s`).
    pub fn peek_delay(&self, finished_at: SimTime) -> SimDuration {
        let mut c = *self;
        c.restart_at(finished_at).saturating_since(finished_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SimTime {
        SimTime(s * 1_000_000_000)
    }

    /// A container that exits `run` seconds after every start: the delays before each restart.
    fn delays(run: u64, exits: usize) -> Vec<u64> {
        let mut b = CrashLoopBackOff::new();
        let mut start = t(0);
        let mut out = Vec::new();
        for _ in 0..exits {
            let finished = start + SimDuration::from_secs(run);
            let restart = b.restart_at(finished);
            out.push(restart.saturating_since(finished).as_nanos() / 1_000_000_000);
            start = restart;
        }
        out
    }

    #[test]
    fn the_upstream_delay_sequence_for_a_container_that_dies_at_once() {
        assert_eq!(
            delays(0, 10),
            vec![0, 10, 20, 40, 80, 160, 300, 300, 300, 300]
        );
    }

    #[test]
    fn table_of_run_times() {
        // (seconds each run lasts, expected delays): running up to 600 s since the last
        // restart keeps the entry (600 is not "more than" 2 * 300); beyond, it resets.
        let cases: &[(u64, &[u64])] = &[
            (1, &[0, 10, 20, 40, 80, 160, 300, 300]),
            (30, &[0, 10, 20, 40, 80, 160, 300, 300]),
            (599, &[0, 10, 20, 40, 80, 160, 300, 300]),
            (600, &[0, 10, 20, 40, 80, 160, 300, 300]),
            (601, &[0, 0, 0, 0, 0]),
            (3600, &[0, 0, 0]),
        ];
        for (run, want) in cases {
            assert_eq!(delays(*run, want.len()), want.to_vec(), "run {run}s");
        }
    }

    #[test]
    fn a_long_healthy_run_resets_the_back_off() {
        let mut b = CrashLoopBackOff::new();
        // Four quick crashes: 0, 10, 20, 40.
        let mut now = t(0);
        for want in [0, 10, 20, 40] {
            let r = b.restart_at(now);
            assert_eq!(r.saturating_since(now), SimDuration::from_secs(want));
            now = r;
        }
        assert_eq!(b.peek_delay(now), SimDuration::from_secs(80));
        // Runs 10 min 1 s: the next crash restarts at once, then 10 s again.
        let finished = now + SimDuration::from_secs(601);
        assert_eq!(b.restart_at(finished), finished);
        assert_eq!(b.peek_delay(finished), SimDuration::from_secs(10));
    }

    #[test]
    fn custom_bounds_cap_the_delay() {
        let mut b =
            CrashLoopBackOff::with_bounds(SimDuration::from_secs(1), SimDuration::from_secs(5));
        let mut now = t(0);
        let mut got = Vec::new();
        for _ in 0..6 {
            let r = b.restart_at(now);
            got.push(r.saturating_since(now).as_nanos() / 1_000_000_000);
            now = r;
        }
        assert_eq!(got, vec![0, 1, 2, 4, 5, 5]);
    }

    #[test]
    fn peek_does_not_change_the_state() {
        let mut b = CrashLoopBackOff::new();
        assert_eq!(b.peek_delay(t(5)), SimDuration::ZERO);
        assert_eq!(b.peek_delay(t(5)), SimDuration::ZERO);
        assert_eq!(b.restart_at(t(5)), t(5));
        assert_eq!(b.peek_delay(t(6)), SimDuration::from_secs(10));
        assert_eq!(b.restart_at(t(6)), t(16));
    }
}
