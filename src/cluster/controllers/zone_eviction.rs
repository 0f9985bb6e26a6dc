//! The node lifecycle controller's eviction pacing, as upstream
//! `pkg/controller/nodelifecycle/node_lifecycle_controller.go`: each zone's state
//! (`ComputeZoneState`), the tainting rate that state allows (`setLimiterInZone`,
//! `ReducedQPSFunc`, `HealthyQPSFunc`, `handleDisruption`) and the token-bucket limiter with a
//! burst of 1 (`flowcontrol.NewTokenBucketRateLimiter(qps, evictionRateLimiterBurst = 1)`).

use crate::engine::{SimDuration, SimTime};

/// Health of one zone (upstream `ZoneState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ZoneState {
    /// Fewer than the threshold of nodes are not ready.
    Normal,
    /// More than 2 nodes and at least `unhealthyZoneThreshold` of them are not ready.
    PartialDisruption,
    /// No node of the zone is ready.
    FullDisruption,
}

/// Upstream `ComputeZoneState`: full disruption when no node is ready (and some are not),
/// partial when more than 2 nodes are not ready and they are at least `threshold` of the zone.
pub fn compute_zone_state(ready: u32, not_ready: u32, threshold: f64) -> ZoneState {
    if ready == 0 && not_ready > 0 {
        ZoneState::FullDisruption
    } else if not_ready > 2 && f64::from(not_ready) / f64::from(not_ready + ready) >= threshold {
        ZoneState::PartialDisruption
    } else {
        ZoneState::Normal
    }
}

/// Tainting rate (nodes per second) for a zone. When every zone is fully disrupted the
/// controller assumes its own connectivity is at fault and stops (`handleDisruption`: 0);
/// otherwise a normal or fully disrupted zone gets `eviction_rate` (`HealthyQPSFunc`), a
/// partially disrupted one `secondary_rate` if it has more than `large_cluster_threshold`
/// nodes, else 0 (`ReducedQPSFunc`).
pub fn zone_rate(
    state: ZoneState,
    zone_size: u32,
    all_fully_disrupted: bool,
    eviction_rate: f64,
    secondary_rate: f64,
    large_cluster_threshold: u32,
) -> f64 {
    if all_fully_disrupted {
        return 0.0;
    }
    match state {
        ZoneState::Normal | ZoneState::FullDisruption => eviction_rate,
        ZoneState::PartialDisruption => {
            if zone_size > large_cluster_threshold {
                secondary_rate
            } else {
                0.0
            }
        }
    }
}

/// A token bucket of one token refilled at `rate` per second: one acceptance per `1/rate`
/// seconds at most; a rate of 0 never accepts (upstream swaps in a never-accepting limiter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenBucket {
    /// Time to refill the token; `None` = rate 0, never accepts.
    period: Option<SimDuration>,
    /// When the token is (or was) full again.
    full_at: SimTime,
}

impl TokenBucket {
    /// A full bucket refilled at `rate` tokens per second.
    pub fn new(rate: f64) -> Self {
        TokenBucket {
            period: Self::period_of(rate),
            full_at: SimTime::ZERO,
        }
    }

    fn period_of(rate: f64) -> Option<SimDuration> {
        if rate > 0.0 && rate.is_finite() {
            Some(SimDuration::from_secs_f64(1.0 / rate))
        } else {
            None
        }
    }

    /// Change the rate, keeping the current fill (upstream `SwapLimiter` starts a fresh, full
    /// bucket only when the rate changes).
    pub fn set_rate(&mut self, rate: f64, now: SimTime) {
        let p = Self::period_of(rate);
        if p != self.period {
            self.period = p;
            self.full_at = now;
        }
    }

    /// Take the token if it is there at `now`.
    pub fn try_accept(&mut self, now: SimTime) -> bool {
        match self.period {
            Some(p) if now >= self.full_at => {
                self.full_at = now + p;
                true
            }
            _ => false,
        }
    }

    /// When the next token is available (`None` if never).
    pub fn next_available(&self, now: SimTime) -> Option<SimTime> {
        self.period.map(|_| self.full_at.max(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_state_table() {
        use ZoneState::*;
        // (ready, not_ready, expected) with threshold 0.55
        let cases = [
            (3, 0, Normal),
            (0, 0, Normal),
            (0, 1, FullDisruption),
            (0, 5, FullDisruption),
            (1, 2, Normal),
            (2, 3, PartialDisruption),
            (3, 3, Normal),
            (1, 3, PartialDisruption),
            (9, 11, PartialDisruption),
            (10, 10, Normal),
        ];
        for (r, n, want) in cases {
            assert_eq!(
                compute_zone_state(r, n, 0.55),
                want,
                "ready {r} not ready {n}"
            );
        }
    }

    #[test]
    fn zone_rate_table() {
        use ZoneState::*;
        // (state, size, all full, expected)
        let cases = [
            (Normal, 10, false, 0.1),
            (FullDisruption, 10, false, 0.1),
            (PartialDisruption, 10, false, 0.0),
            (PartialDisruption, 50, false, 0.0),
            (PartialDisruption, 51, false, 0.01),
            (FullDisruption, 10, true, 0.0),
            (Normal, 10, true, 0.0),
        ];
        for (st, size, all, want) in cases {
            assert_eq!(
                zone_rate(st, size, all, 0.1, 0.01, 50),
                want,
                "{st:?} {size} {all}"
            );
        }
    }

    #[test]
    fn token_bucket_paces_one_per_period() {
        let s = |x: u64| SimTime(x * 1_000_000_000);
        let mut b = TokenBucket::new(0.1);
        assert!(b.try_accept(s(0)));
        assert!(!b.try_accept(s(0)));
        assert!(!b.try_accept(s(9)));
        assert_eq!(b.next_available(s(9)), Some(s(10)));
        assert!(b.try_accept(s(10)));
        // Idle time does not accumulate more than one token.
        assert!(b.try_accept(s(100)));
        assert!(!b.try_accept(s(105)));
        b.set_rate(0.0, s(105));
        assert!(!b.try_accept(s(1000)));
        assert_eq!(b.next_available(s(1000)), None);
        b.set_rate(1.0, s(1000));
        assert!(b.try_accept(s(1000)));
        assert!(b.try_accept(s(1001)));
    }
}
