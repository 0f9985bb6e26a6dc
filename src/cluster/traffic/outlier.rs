//! Envoy outlier detection (consecutive 5xx), as Istio's `DestinationRule`
//! `trafficPolicy.outlierDetection` configures it: a pure state machine over the hosts of one
//! upstream cluster (a Service's endpoints).
//!
//! Upstream (Envoy `config.cluster.v3.OutlierDetection` and the architecture overview
//! "Outlier detection", ejection algorithm):
//! - a host that returns `consecutive_5xx` (default 5) server errors in a row is an outlier and
//!   is ejected at once (consecutive 5xx detection runs inline, not at the interval);
//! - if no host is ejected, the outlier is always ejected; otherwise only while the ejected
//!   share `100 * ejected / hosts` is below `max_ejection_percent` (default 10);
//! - a host stays ejected `base_ejection_time` (default 30 s) times the number of times it has
//!   been ejected, capped by `max_ejection_time` (default 300 s); it returns to service at the
//!   first ejection sweep (every `interval`, default 10 s) after that time;
//! - each sweep that finds a host in service lowers its ejection multiplier by one (Envoy's
//!   ejection-time back-off), so a host that stays healthy is forgiven step by step;
//! - a success resets the consecutive counter.

use crate::cluster::spec::OutlierDetectionSpec;
use crate::engine::{SimDuration, SimTime};

/// Envoy's default `max_ejection_time`: 300 s.
pub const MAX_EJECTION_TIME: SimDuration = SimDuration::from_secs(300);

/// The detector's view of one host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostState {
    /// 5xx responses in a row.
    pub consecutive_5xx: u32,
    /// When it was ejected, if it is ejected now.
    pub ejected_at: Option<SimTime>,
    /// Ejection multiplier: times ejected, minus sweeps spent healthy since.
    pub multiplier: u32,
}

/// Outlier detection over hosts numbered `0..n` (the caller's ids).
#[derive(Clone, Debug)]
pub struct OutlierDetector {
    cfg: OutlierDetectionSpec,
    hosts: Vec<HostState>,
    ejected: u32,
}

impl OutlierDetector {
    /// A detector with `cfg` and no hosts yet.
    pub fn new(cfg: OutlierDetectionSpec) -> Self {
        OutlierDetector {
            cfg,
            hosts: Vec::new(),
            ejected: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &OutlierDetectionSpec {
        &self.cfg
    }

    fn host_mut(&mut self, host: u32) -> &mut HostState {
        let i = host as usize;
        if i >= self.hosts.len() {
            self.hosts.resize(i + 1, HostState::default());
        }
        &mut self.hosts[i]
    }

    /// The state of `host`.
    pub fn host(&self, host: u32) -> HostState {
        self.hosts.get(host as usize).copied().unwrap_or_default()
    }

    /// True if `host` is ejected now.
    #[inline]
    pub fn is_ejected(&self, host: u32) -> bool {
        self.hosts
            .get(host as usize)
            .is_some_and(|h| h.ejected_at.is_some())
    }

    /// Number of hosts ejected now.
    pub fn ejected_count(&self) -> u32 {
        self.ejected
    }

    /// Record a response of `host` at `now` (`server_error`: a 5xx, a reset or a refused
    /// connection), with `total_hosts` hosts in the cluster. Returns true if this response
    /// ejected the host.
    pub fn record(
        &mut self,
        host: u32,
        server_error: bool,
        now: SimTime,
        total_hosts: u32,
    ) -> bool {
        let threshold = self.cfg.consecutive_5xx;
        let ejected_now = self.ejected;
        let max_pct = u64::from(self.cfg.max_ejection_percent);
        let h = self.host_mut(host);
        if !server_error {
            h.consecutive_5xx = 0;
            return false;
        }
        h.consecutive_5xx = h.consecutive_5xx.saturating_add(1);
        if threshold == 0 || h.consecutive_5xx < threshold || h.ejected_at.is_some() {
            return false;
        }
        h.consecutive_5xx = 0;
        let total = u64::from(total_hosts.max(1));
        let allowed = ejected_now == 0 || 100 * u64::from(ejected_now) < max_pct * total;
        if !allowed {
            return false;
        }
        h.ejected_at = Some(now);
        h.multiplier = h.multiplier.saturating_add(1);
        self.ejected += 1;
        true
    }

    /// How long `host` stays ejected for its current multiplier.
    pub fn ejection_time(&self, host: u32) -> SimDuration {
        let m = u64::from(self.host(host).multiplier.max(1));
        SimDuration::from_nanos(self.cfg.base_ejection_time.as_nanos().saturating_mul(m))
            .min(MAX_EJECTION_TIME.max(self.cfg.base_ejection_time))
    }

    /// The interval sweep at `now`: returns every host returned to service (in id order) and
    /// lowers the multiplier of hosts in service.
    pub fn sweep(&mut self, now: SimTime, unejected: &mut Vec<u32>) {
        for i in 0..self.hosts.len() {
            let host = i as u32;
            match self.hosts[i].ejected_at {
                Some(at) => {
                    if now.saturating_since(at) >= self.ejection_time(host) {
                        self.hosts[i].ejected_at = None;
                        self.hosts[i].consecutive_5xx = 0;
                        self.ejected -= 1;
                        unejected.push(host);
                    }
                }
                None => {
                    self.hosts[i].multiplier = self.hosts[i].multiplier.saturating_sub(1);
                }
            }
        }
    }

    /// Forget `host` (it left the cluster); an ejected host stops counting as ejected.
    pub fn remove(&mut self, host: u32) {
        if let Some(h) = self.hosts.get_mut(host as usize) {
            if h.ejected_at.is_some() {
                self.ejected -= 1;
            }
            *h = HostState::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SimTime {
        SimTime(s * 1_000_000_000)
    }

    /// (step, expected ejected after it). A step is `(host, server_error, time_s)`.
    #[test]
    fn consecutive_5xx_table() {
        type Case = (
            &'static str,
            u32,
            &'static [(u32, bool, u64)],
            &'static [bool],
        );
        let cases: &[Case] = &[
            (
                "four errors do not eject",
                10,
                &[(0, true, 0); 4],
                &[false; 4],
            ),
            (
                "the fifth in a row ejects",
                10,
                &[(0, true, 0); 5],
                &[false, false, false, false, true],
            ),
            (
                "a success resets the count",
                10,
                &[
                    (0, true, 0),
                    (0, true, 0),
                    (0, true, 0),
                    (0, true, 0),
                    (0, false, 0),
                    (0, true, 0),
                ],
                &[false; 6],
            ),
            (
                "10% of 10 hosts: a second host is not ejected",
                10,
                &[
                    (0, true, 0),
                    (0, true, 0),
                    (0, true, 0),
                    (0, true, 0),
                    (0, true, 0),
                    (1, true, 0),
                    (1, true, 0),
                    (1, true, 0),
                    (1, true, 0),
                    (1, true, 0),
                ],
                &[
                    false, false, false, false, true, false, false, false, false, false,
                ],
            ),
            (
                "at least one host is ejected even of 2 (10% of 2 < 1)",
                2,
                &[(1, true, 0); 5],
                &[false, false, false, false, true],
            ),
            (
                "30 hosts: 10% allows a second and third, not a fourth",
                30,
                &[
                    (0, true, 0),
                    (0, true, 0),
                    (0, true, 0),
                    (0, true, 0),
                    (0, true, 0),
                    (1, true, 0),
                    (1, true, 0),
                    (1, true, 0),
                    (1, true, 0),
                    (1, true, 0),
                    (2, true, 0),
                    (2, true, 0),
                    (2, true, 0),
                    (2, true, 0),
                    (2, true, 0),
                    (3, true, 0),
                    (3, true, 0),
                    (3, true, 0),
                    (3, true, 0),
                    (3, true, 0),
                ],
                &[
                    false, false, false, false, true, false, false, false, false, true, false,
                    false, false, false, true, false, false, false, false, false,
                ],
            ),
        ];
        for (name, total, steps, want) in cases {
            let mut d = OutlierDetector::new(OutlierDetectionSpec::default());
            for (i, ((host, err, s), w)) in steps.iter().zip(want.iter()).enumerate() {
                assert_eq!(d.record(*host, *err, t(*s), *total), *w, "{name}: step {i}");
            }
        }
    }

    #[test]
    fn ejection_time_grows_and_sweep_returns_hosts() {
        let mut d = OutlierDetector::new(OutlierDetectionSpec::default());
        let mut back = Vec::new();
        for _ in 0..5 {
            d.record(0, true, t(0), 10);
        }
        assert!(d.is_ejected(0));
        assert_eq!(d.ejection_time(0), SimDuration::from_secs(30));
        // Table: (sweep time, host back in service after it).
        for (s, in_service) in [(10, false), (20, false), (30, true)] {
            d.sweep(t(s), &mut back);
            assert_eq!(!d.is_ejected(0), in_service, "sweep at {s}s");
        }
        assert_eq!(back, vec![0]);
        // Ejected again right away: multiplier 2 -> 60 s.
        for _ in 0..5 {
            d.record(0, true, t(31), 10);
        }
        assert_eq!(d.host(0).multiplier, 2);
        assert_eq!(d.ejection_time(0), SimDuration::from_secs(60));
        d.sweep(t(80), &mut back);
        assert!(d.is_ejected(0));
        d.sweep(t(91), &mut back);
        assert!(!d.is_ejected(0));
        // Two healthy sweeps bring the multiplier back to 0.
        d.sweep(t(101), &mut back);
        d.sweep(t(111), &mut back);
        assert_eq!(d.host(0).multiplier, 0);
    }

    #[test]
    fn ejection_time_is_capped_at_300s() {
        let mut d = OutlierDetector::new(OutlierDetectionSpec::default());
        d.host_mut(0).multiplier = 50;
        assert_eq!(d.ejection_time(0), MAX_EJECTION_TIME);
    }

    #[test]
    fn remove_forgets_an_ejected_host() {
        let mut d = OutlierDetector::new(OutlierDetectionSpec::default());
        for _ in 0..5 {
            d.record(3, true, t(0), 10);
        }
        assert_eq!(d.ejected_count(), 1);
        d.remove(3);
        assert_eq!(d.ejected_count(), 0);
        assert!(!d.is_ejected(3));
    }
}
