//! A resilience4j-style client circuit breaker (closed / open / half-open): a pure state
//! machine over integer virtual time, with resilience4j's `CircuitBreakerConfig` parameters and
//! defaults. The traffic model asks it for permission before a request leaves the client and
//! tells it each request's outcome and duration.
//!
//! Upstream (resilience4j-circuitbreaker `CircuitBreakerConfig`, `CircuitBreakerStateMachine`,
//! `CircuitBreakerMetrics`; resilience4j-core `FixedSizeSlidingWindowMetrics`,
//! `SlidingTimeWindowMetrics`, `SnapshotImpl`; the resilience4j "CircuitBreaker" docs):
//!
//! - **Defaults**: `failureRateThreshold` 50 %, `slowCallRateThreshold` 100 %,
//!   `slowCallDurationThreshold` 60 s, `permittedNumberOfCallsInHalfOpenState` 10,
//!   `maxWaitDurationInHalfOpenState` 0 (wait for the permitted calls), `slidingWindowType`
//!   `COUNT_BASED`, `slidingWindowSize` 100, `minimumNumberOfCalls` 100,
//!   `waitDurationInOpenState` 60 s, `automaticTransitionFromOpenToHalfOpenEnabled` false.
//! - **Closed**: every call is permitted. Each outcome is recorded in the sliding window; a call
//!   is *slow* when its duration is strictly greater than `slowCallDurationThreshold`. Once the
//!   window holds at least `minimumNumberOfCalls` calls (for a count-based window, at most
//!   `slidingWindowSize`: upstream uses `min(minimumNumberOfCalls, slidingWindowSize)`), the
//!   breaker opens when the failure rate is *equal to or greater than* `failureRateThreshold`,
//!   or the slow-call rate equal to or greater than `slowCallRateThreshold`. Below the minimum
//!   it never opens, even if every call failed.
//! - **Open**: every call is refused (`CallNotPermittedException`) until
//!   `waitDurationInOpenState` (whole milliseconds: upstream converts it with `toMillis()`) has
//!   passed; the first call *strictly after* that instant (`Instant.isAfter`) moves the breaker
//!   to half-open and takes one of its permits. With
//!   `automaticTransitionFromOpenToHalfOpenEnabled` the move happens at that instant by a timer
//!   instead. Outcomes of calls permitted earlier still arrive and are recorded in the window
//!   that tripped, without any transition.
//! - **Half-open**: a fresh count-based window of `permittedNumberOfCallsInHalfOpenState` calls
//!   (which is also its minimum). Exactly that many calls are permitted, more are refused; when
//!   that many outcomes are recorded the breaker opens again if a rate is at or over its
//!   threshold, else it closes (with a fresh sliding window). With
//!   `maxWaitDurationInHalfOpenState` >= 1 ms it opens again when that time passes first. A call
//!   abandoned by its caller gives its permit back (`releasePermission`, as resilience4j's gRPC
//!   and Kotlin integrations do on cancellation) and records nothing. Upstream records every
//!   outcome in the current state's window, so a call permitted while closed that ends during
//!   half-open counts among the trial outcomes too.
//! - **Time-based window**: `slidingWindowSize` one-second buckets, one per epoch second of
//!   virtual time (`now / 1 s`); a call recorded in second `s` counts until the window has moved
//!   to second `s + slidingWindowSize` (the bucket is reused and subtracted then), exactly as
//!   `SlidingTimeWindowMetrics` moves its head bucket.
//!
//! **Integer rates.** Thresholds are kept in hundredths of a percent (`5000` = 50 %), so a
//! YAML threshold may have two decimals. The check `failed * 10000 >= threshold * calls` is
//! exact. Upstream computes `failed * 100.0f / calls` in `float` and compares it with a `float`
//! threshold; the two agree unless the exact rate lies within `float` rounding (a relative
//! 2^-24, about 6e-6 percentage points near 100) of the threshold without equalling it. The
//! exact rate then differs from the threshold by at least `1 / (100 * calls)` percentage
//! points, so they can only disagree for windows of more than about 16,000 calls with a
//! fractional threshold, or more than about 260,000 calls with a whole-percent one.

use crate::engine::{SimDuration, SimTime};

/// resilience4j's `slidingWindowType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlidingWindowType {
    /// `COUNT_BASED`: the outcomes of the last `slidingWindowSize` calls (the default).
    CountBased,
    /// `TIME_BASED`: the outcomes of the calls of the last `slidingWindowSize` seconds.
    TimeBased,
}

/// A client's `clientBreaker`: resilience4j's `CircuitBreakerConfig` (the parameters kubesim
/// models), validated by the scenario loader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientBreakerSpec {
    /// `failureRateThreshold`, in hundredths of a percent (`1..=10000`; default 5000 = 50 %).
    pub failure_rate_threshold: u32,
    /// `slowCallRateThreshold`, in hundredths of a percent (`1..=10000`; default 10000).
    pub slow_call_rate_threshold: u32,
    /// `slowCallDurationThreshold`: a call that takes longer is slow (default 60 s, >= 1 ns).
    pub slow_call_duration_threshold: SimDuration,
    /// `permittedNumberOfCallsInHalfOpenState` (default 10, >= 1).
    pub permitted_number_of_calls_in_half_open_state: u32,
    /// `maxWaitDurationInHalfOpenState`: 0 (the default) waits for the permitted calls;
    /// otherwise the breaker opens again after this long in half-open.
    pub max_wait_duration_in_half_open_state: SimDuration,
    /// `slidingWindowType` (default count-based).
    pub sliding_window_type: SlidingWindowType,
    /// `slidingWindowSize`: calls (count-based) or seconds (time-based); default 100, >= 1.
    pub sliding_window_size: u32,
    /// `minimumNumberOfCalls` before a rate is computed (default 100, >= 1).
    pub minimum_number_of_calls: u32,
    /// `waitDurationInOpenState` (default 60 s, >= 1 ms).
    pub wait_duration_in_open_state: SimDuration,
    /// `automaticTransitionFromOpenToHalfOpenEnabled` (default false).
    pub automatic_transition_from_open_to_half_open_enabled: bool,
}

impl Default for ClientBreakerSpec {
    /// resilience4j's defaults (`CircuitBreakerConfig.DEFAULT_*`).
    fn default() -> Self {
        ClientBreakerSpec {
            failure_rate_threshold: 5000,
            slow_call_rate_threshold: 10000,
            slow_call_duration_threshold: SimDuration::from_secs(60),
            permitted_number_of_calls_in_half_open_state: 10,
            max_wait_duration_in_half_open_state: SimDuration::ZERO,
            sliding_window_type: SlidingWindowType::CountBased,
            sliding_window_size: 100,
            minimum_number_of_calls: 100,
            wait_duration_in_open_state: SimDuration::from_secs(60),
            automatic_transition_from_open_to_half_open_enabled: false,
        }
    }
}

/// A breaker state; [`BreakerState::order`] is resilience4j's `State.getOrder()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls pass; outcomes are measured.
    Closed,
    /// Calls are refused.
    Open,
    /// A few trial calls pass.
    HalfOpen,
}

impl BreakerState {
    /// resilience4j's `State.getOrder()`: CLOSED 0, OPEN 1, HALF_OPEN 2 (the value of the
    /// `breaker.state` gauge).
    pub fn order(self) -> u8 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::Open => 1,
            BreakerState::HalfOpen => 2,
        }
    }

    /// Upstream's name: `CLOSED`, `OPEN`, `HALF_OPEN`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "CLOSED",
            BreakerState::Open => "OPEN",
            BreakerState::HalfOpen => "HALF_OPEN",
        }
    }
}

/// Why a transition happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransitionCause {
    /// A rate reached its threshold (closed or half-open -> open).
    ThresholdsExceeded,
    /// The half-open trial calls were below the thresholds (half-open -> closed).
    BelowThresholds,
    /// `waitDurationInOpenState` passed (open -> half-open).
    WaitElapsed,
    /// `maxWaitDurationInHalfOpenState` passed (half-open -> open).
    MaxWaitInHalfOpen,
}

/// A state change, with the window's counts that decided it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// State before.
    pub from: BreakerState,
    /// State after.
    pub to: BreakerState,
    /// Why.
    pub cause: TransitionCause,
    /// Calls in the deciding window (0 for timed transitions).
    pub calls: u32,
    /// Failed calls among them.
    pub failed: u32,
    /// Slow calls among them.
    pub slow: u32,
}

impl Transition {
    /// A one-line description for the event log, in resilience4j's words ("changed state from
    /// CLOSED to OPEN") plus the rates that decided it.
    pub fn describe(&self, name: &str, cfg: &ClientBreakerSpec) -> String {
        let mut s = format!(
            "CircuitBreaker '{name}' changed state from {} to {}",
            self.from.as_str(),
            self.to.as_str()
        );
        let pct = |x: u32| format!("{}.{:02}%", x / 100, x % 100);
        match self.cause {
            TransitionCause::ThresholdsExceeded | TransitionCause::BelowThresholds => {
                let c = u64::from(self.calls.max(1));
                let rate = |n: u32| (u64::from(n) * 10000 / c) as u32;
                s.push_str(&format!(
                    ": failure rate {} (threshold {}), slow-call rate {} (threshold {}) over {} calls",
                    pct(rate(self.failed)),
                    pct(cfg.failure_rate_threshold),
                    pct(rate(self.slow)),
                    pct(cfg.slow_call_rate_threshold),
                    self.calls
                ));
            }
            TransitionCause::WaitElapsed => s.push_str(": waitDurationInOpenState elapsed"),
            TransitionCause::MaxWaitInHalfOpen => {
                s.push_str(": maxWaitDurationInHalfOpenState elapsed")
            }
        }
        s
    }
}

/// Aggregated outcomes: calls, failed calls, slow calls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Calls recorded.
    pub calls: u32,
    /// Of which failed.
    pub failed: u32,
    /// Of which slow (successful or failed).
    pub slow: u32,
}

impl Counts {
    fn add(&mut self, failed: bool, slow: bool) {
        self.calls += 1;
        self.failed += u32::from(failed);
        self.slow += u32::from(slow);
    }

    fn sub(&mut self, o: Counts) {
        self.calls -= o.calls;
        self.failed -= o.failed;
        self.slow -= o.slow;
    }
}

/// Slot bits of a count-based window.
const PRESENT: u8 = 1;
const FAILED: u8 = 2;
const SLOW: u8 = 4;
const NANOS_PER_SEC: u64 = 1_000_000_000;
const NANOS_PER_MILLI: u64 = 1_000_000;

/// A sliding window, allocated once.
#[derive(Clone, Debug)]
enum Window {
    /// The last `ring.len()` outcomes (`FixedSizeSlidingWindowMetrics`).
    Count {
        ring: Vec<u8>,
        head: usize,
        total: Counts,
    },
    /// One bucket per second over the last `buckets.len()` seconds
    /// (`SlidingTimeWindowMetrics`); `head` holds second `head_sec`.
    Time {
        buckets: Vec<Counts>,
        head: usize,
        head_sec: u64,
        total: Counts,
    },
}

impl Window {
    fn new(kind: SlidingWindowType, size: u32, now: SimTime) -> Window {
        let n = size.max(1) as usize;
        match kind {
            SlidingWindowType::CountBased => Window::Count {
                ring: vec![0; n],
                head: 0,
                total: Counts::default(),
            },
            SlidingWindowType::TimeBased => Window::Time {
                buckets: vec![Counts::default(); n],
                head: 0,
                head_sec: now.as_nanos() / NANOS_PER_SEC,
                total: Counts::default(),
            },
        }
    }

    /// Empty the window (a fresh metrics object upstream), its head at `now`.
    fn reset(&mut self, now: SimTime) {
        match self {
            Window::Count { ring, head, total } => {
                ring.fill(0);
                *head = 0;
                *total = Counts::default();
            }
            Window::Time {
                buckets,
                head,
                head_sec,
                total,
            } => {
                buckets.fill(Counts::default());
                *head = 0;
                *head_sec = now.as_nanos() / NANOS_PER_SEC;
                *total = Counts::default();
            }
        }
    }

    /// Move a time window's head to the second of `now`, evicting the buckets it passes.
    fn advance(&mut self, now: SimTime) {
        if let Window::Time {
            buckets,
            head,
            head_sec,
            total,
        } = self
        {
            let sec = now.as_nanos() / NANOS_PER_SEC;
            if sec <= *head_sec {
                return;
            }
            let n = buckets.len();
            let steps = (sec - *head_sec).min(n as u64);
            for _ in 0..steps {
                *head = (*head + 1) % n;
                total.sub(buckets[*head]);
                buckets[*head] = Counts::default();
            }
            *head_sec = sec;
        }
    }

    /// Record one outcome at `now`; the window's totals after it.
    fn record(&mut self, now: SimTime, failed: bool, slow: bool) -> Counts {
        self.advance(now);
        match self {
            Window::Count { ring, head, total } => {
                *head = (*head + 1) % ring.len();
                let old = ring[*head];
                if old & PRESENT != 0 {
                    total.sub(Counts {
                        calls: 1,
                        failed: u32::from(old & FAILED != 0),
                        slow: u32::from(old & SLOW != 0),
                    });
                }
                ring[*head] =
                    PRESENT | if failed { FAILED } else { 0 } | if slow { SLOW } else { 0 };
                total.add(failed, slow);
                *total
            }
            Window::Time {
                buckets,
                head,
                total,
                ..
            } => {
                buckets[*head].add(failed, slow);
                total.add(failed, slow);
                *total
            }
        }
    }

    /// The totals at `now`.
    fn snapshot(&mut self, now: SimTime) -> Counts {
        self.advance(now);
        match self {
            Window::Count { total, .. } | Window::Time { total, .. } => *total,
        }
    }
}

/// The outcome of a threshold check (`CircuitBreakerMetrics.Result`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    BelowMinimumCalls,
    Below,
    Exceeded,
}

/// `rate >= threshold` exactly, the rate being `part / calls` in percent and the threshold in
/// hundredths of a percent.
fn at_or_over(part: u32, calls: u32, threshold: u32) -> bool {
    u64::from(part) * 10_000 >= u64::from(threshold) * u64::from(calls)
}

/// A duration truncated to whole milliseconds (upstream's `Duration.toMillis()`).
fn whole_millis(d: SimDuration) -> SimDuration {
    SimDuration::from_nanos(d.as_nanos() / NANOS_PER_MILLI * NANOS_PER_MILLI)
}

/// One client's circuit breaker.
#[derive(Clone, Debug)]
pub struct ClientBreaker {
    cfg: ClientBreakerSpec,
    state: BreakerState,
    /// The configured window (closed state).
    closed: Window,
    /// The half-open window: count-based, `permittedNumberOfCallsInHalfOpenState` calls.
    half_open: Window,
    /// The open state records into the half-open window (it tripped there), else the closed.
    open_from_half_open: bool,
    /// `min(minimumNumberOfCalls, slidingWindowSize)` for count-based windows.
    minimum_closed: u32,
    /// Half-open permits left.
    permits: u32,
    /// Open: calls are permitted strictly after this instant.
    retry_after: SimTime,
    /// Deadline of a timed transition of the current state, if any.
    deadline: Option<SimTime>,
    /// Bumped at every transition (a timer from an earlier state is stale).
    epoch: u32,
}

impl ClientBreaker {
    /// A closed breaker with `cfg`, created at `now`.
    pub fn new(cfg: ClientBreakerSpec, now: SimTime) -> ClientBreaker {
        let minimum_closed = match cfg.sliding_window_type {
            SlidingWindowType::CountBased => {
                cfg.minimum_number_of_calls.min(cfg.sliding_window_size)
            }
            SlidingWindowType::TimeBased => cfg.minimum_number_of_calls,
        };
        ClientBreaker {
            cfg,
            state: BreakerState::Closed,
            closed: Window::new(cfg.sliding_window_type, cfg.sliding_window_size, now),
            half_open: Window::new(
                SlidingWindowType::CountBased,
                cfg.permitted_number_of_calls_in_half_open_state,
                now,
            ),
            open_from_half_open: false,
            minimum_closed,
            permits: 0,
            retry_after: now,
            deadline: None,
            epoch: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientBreakerSpec {
        &self.cfg
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// The pending timed transition, `(when, epoch)`: the caller calls [`Self::on_timer`] then
    /// with that epoch. `None` when the current state has none.
    pub fn timer(&self) -> Option<(SimTime, u32)> {
        self.deadline.map(|t| (t, self.epoch))
    }

    /// Ask to send a call at `now` (`tryAcquirePermission`). Returns whether it is permitted,
    /// and the transition this caused (open -> half-open once the wait has passed).
    pub fn try_acquire(&mut self, now: SimTime) -> (bool, Option<Transition>) {
        match self.state {
            BreakerState::Closed => (true, None),
            BreakerState::Open => {
                if now > self.retry_after {
                    let t = self.enter_half_open(now, TransitionCause::WaitElapsed);
                    (self.take_permit(), Some(t))
                } else {
                    (false, None)
                }
            }
            BreakerState::HalfOpen => (self.take_permit(), None),
        }
    }

    fn take_permit(&mut self) -> bool {
        if self.permits > 0 {
            self.permits -= 1;
            true
        } else {
            false
        }
    }

    /// A permitted call was abandoned without an outcome (`releasePermission`): half-open gets
    /// its permit back; otherwise nothing happens.
    pub fn release(&mut self) {
        if self.state == BreakerState::HalfOpen {
            self.permits += 1;
        }
    }

    /// A permitted call ended at `now` after `duration`, failed or not (`onError` /
    /// `onSuccess`). Returns the transition it caused, if any.
    pub fn on_result(
        &mut self,
        now: SimTime,
        duration: SimDuration,
        failed: bool,
    ) -> Option<Transition> {
        let slow = duration > self.cfg.slow_call_duration_threshold;
        match self.state {
            BreakerState::Closed => {
                let c = self.closed.record(now, failed, slow);
                match self.check(c, self.minimum_closed) {
                    Check::Exceeded => Some(self.enter_open(now, false, c)),
                    _ => None,
                }
            }
            BreakerState::HalfOpen => {
                let min = self.cfg.permitted_number_of_calls_in_half_open_state;
                let c = self.half_open.record(now, failed, slow);
                match self.check(c, min) {
                    Check::Exceeded => Some(self.enter_open(now, true, c)),
                    Check::Below => Some(self.enter_closed(now, c)),
                    Check::BelowMinimumCalls => None,
                }
            }
            BreakerState::Open => {
                // Recorded in the window that tripped, no transition (OpenState.onError).
                if self.open_from_half_open {
                    self.half_open.record(now, failed, slow);
                } else {
                    self.closed.record(now, failed, slow);
                }
                None
            }
        }
    }

    /// The timer `(when, epoch)` from [`Self::timer`] fired at `now`: the automatic open ->
    /// half-open move, or half-open -> open after `maxWaitDurationInHalfOpenState`. A stale
    /// epoch does nothing.
    pub fn on_timer(&mut self, now: SimTime, epoch: u32) -> Option<Transition> {
        if epoch != self.epoch || self.deadline.is_none_or(|d| now < d) {
            return None;
        }
        match self.state {
            BreakerState::Open => Some(self.enter_half_open(now, TransitionCause::WaitElapsed)),
            BreakerState::HalfOpen => {
                let mut t = self.enter_open(now, true, Counts::default());
                t.cause = TransitionCause::MaxWaitInHalfOpen;
                Some(t)
            }
            BreakerState::Closed => None,
        }
    }

    /// The failure rate of the current state's window at `now`, in hundredths of a percent, or
    /// `None` below the minimum number of calls (upstream's `getFailureRate()` returns -1).
    pub fn failure_rate(&mut self, now: SimTime) -> Option<u32> {
        let (c, min) = match self.state {
            BreakerState::Closed => (self.closed.snapshot(now), self.minimum_closed),
            BreakerState::HalfOpen => (
                self.half_open.snapshot(now),
                self.cfg.permitted_number_of_calls_in_half_open_state,
            ),
            BreakerState::Open if self.open_from_half_open => (
                self.half_open.snapshot(now),
                self.cfg.permitted_number_of_calls_in_half_open_state,
            ),
            BreakerState::Open => (self.closed.snapshot(now), self.minimum_closed),
        };
        if c.calls == 0 || c.calls < min {
            return None;
        }
        Some((u64::from(c.failed) * 10_000 / u64::from(c.calls)) as u32)
    }

    fn check(&self, c: Counts, minimum: u32) -> Check {
        if c.calls == 0 || c.calls < minimum {
            return Check::BelowMinimumCalls;
        }
        if at_or_over(c.failed, c.calls, self.cfg.failure_rate_threshold)
            || at_or_over(c.slow, c.calls, self.cfg.slow_call_rate_threshold)
        {
            Check::Exceeded
        } else {
            Check::Below
        }
    }

    fn enter_open(&mut self, now: SimTime, from_half_open: bool, c: Counts) -> Transition {
        let from = self.state;
        self.state = BreakerState::Open;
        self.epoch = self.epoch.wrapping_add(1);
        self.open_from_half_open = from_half_open;
        let wait = whole_millis(self.cfg.wait_duration_in_open_state);
        self.retry_after = now + wait;
        self.deadline = self
            .cfg
            .automatic_transition_from_open_to_half_open_enabled
            .then_some(self.retry_after);
        Transition {
            from,
            to: BreakerState::Open,
            cause: TransitionCause::ThresholdsExceeded,
            calls: c.calls,
            failed: c.failed,
            slow: c.slow,
        }
    }

    fn enter_half_open(&mut self, now: SimTime, cause: TransitionCause) -> Transition {
        let from = self.state;
        self.state = BreakerState::HalfOpen;
        self.epoch = self.epoch.wrapping_add(1);
        self.half_open.reset(now);
        self.permits = self.cfg.permitted_number_of_calls_in_half_open_state;
        let max_wait = whole_millis(self.cfg.max_wait_duration_in_half_open_state);
        self.deadline = (max_wait.as_nanos() > 0).then(|| now + max_wait);
        Transition {
            from,
            to: BreakerState::HalfOpen,
            cause,
            calls: 0,
            failed: 0,
            slow: 0,
        }
    }

    fn enter_closed(&mut self, now: SimTime, c: Counts) -> Transition {
        let from = self.state;
        self.state = BreakerState::Closed;
        self.epoch = self.epoch.wrapping_add(1);
        self.closed.reset(now);
        self.deadline = None;
        Transition {
            from,
            to: BreakerState::Closed,
            cause: TransitionCause::BelowThresholds,
            calls: c.calls,
            failed: c.failed,
            slow: c.slow,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;

    fn t(ns: u64) -> SimTime {
        SimTime(ns)
    }

    fn cfg() -> ClientBreakerSpec {
        ClientBreakerSpec {
            sliding_window_size: 10,
            minimum_number_of_calls: 10,
            permitted_number_of_calls_in_half_open_state: 3,
            wait_duration_in_open_state: SimDuration::from_secs(5),
            ..ClientBreakerSpec::default()
        }
    }

    /// Record `outcomes` (true = failed) at `now`, each taking 1 ms; the transitions.
    fn feed(b: &mut ClientBreaker, now: SimTime, outcomes: &[bool]) -> Vec<Transition> {
        let mut out = Vec::new();
        for &f in outcomes {
            let (ok, tr) = b.try_acquire(now);
            assert!(ok, "a call was refused while feeding");
            out.extend(tr);
            out.extend(b.on_result(now, SimDuration::from_millis(1), f));
        }
        out
    }

    #[test]
    fn defaults_are_resilience4j_defaults() {
        let d = ClientBreakerSpec::default();
        assert_eq!(d.failure_rate_threshold, 5000);
        assert_eq!(d.slow_call_rate_threshold, 10000);
        assert_eq!(d.slow_call_duration_threshold, SimDuration::from_secs(60));
        assert_eq!(d.permitted_number_of_calls_in_half_open_state, 10);
        assert_eq!(d.max_wait_duration_in_half_open_state, SimDuration::ZERO);
        assert_eq!(d.sliding_window_type, SlidingWindowType::CountBased);
        assert_eq!(d.sliding_window_size, 100);
        assert_eq!(d.minimum_number_of_calls, 100);
        assert_eq!(d.wait_duration_in_open_state, SimDuration::from_secs(60));
        assert!(!d.automatic_transition_from_open_to_half_open_enabled);
    }

    #[test]
    fn closed_opens_at_the_threshold_after_the_minimum_calls_only() {
        // (failures then successes in that order, minimum calls, threshold, opens after call n)
        type Case = (&'static str, Vec<bool>, u32, u32, Option<usize>);
        let cases: &[Case] = &[
            ("all fail, 9 < minimum 10", vec![true; 9], 10, 5000, None),
            (
                "all fail, opens at the 10th",
                vec![true; 10],
                10,
                5000,
                Some(10),
            ),
            (
                "5 of 10 failed = 50% >= 50%",
                [vec![false; 5], vec![true; 5]].concat(),
                10,
                5000,
                Some(10),
            ),
            (
                "4 of 10 failed = 40% < 50%",
                [vec![false; 6], vec![true; 4]].concat(),
                10,
                5000,
                None,
            ),
            (
                "threshold 40.01%: 4 of 10 is below",
                [vec![false; 6], vec![true; 4]].concat(),
                10,
                4001,
                None,
            ),
            (
                "minimum 4: 2 of 4 failed opens at the 4th",
                vec![false, true, false, true],
                4,
                5000,
                Some(4),
            ),
            (
                "minimum above the window is clamped to the window (10)",
                vec![true; 10],
                1000,
                5000,
                Some(10),
            ),
            (
                "threshold 100%: all must fail",
                vec![true; 10],
                10,
                10000,
                Some(10),
            ),
        ];
        for (name, outcomes, min, thr, want) in cases {
            let mut b = ClientBreaker::new(
                ClientBreakerSpec {
                    minimum_number_of_calls: *min,
                    failure_rate_threshold: *thr,
                    ..cfg()
                },
                t(0),
            );
            let mut opened_at = None;
            for (i, &f) in outcomes.iter().enumerate() {
                assert!(b.try_acquire(t(0)).0, "{name}: refused while closed");
                if let Some(tr) = b.on_result(t(0), SimDuration::from_millis(1), f) {
                    assert_eq!((tr.from, tr.to), (BreakerState::Closed, BreakerState::Open));
                    assert_eq!(tr.cause, TransitionCause::ThresholdsExceeded);
                    opened_at.get_or_insert(i + 1);
                }
            }
            assert_eq!(opened_at, *want, "{name}");
        }
    }

    #[test]
    fn count_window_forgets_the_oldest_outcome() {
        let mut b = ClientBreaker::new(cfg(), t(0));
        // 4 failures, then 6 successes: 40%, closed. Then new outcomes push the oldest out.
        assert!(feed(&mut b, t(0), &[true, true, true, true]).is_empty());
        assert!(feed(&mut b, t(0), &[false; 6]).is_empty());
        assert_eq!(b.failure_rate(t(0)), Some(4000));
        // Two successes replace the two oldest failures: 2 of 10.
        assert!(feed(&mut b, t(0), &[false; 2]).is_empty());
        assert_eq!(b.failure_rate(t(0)), Some(2000));
        // Three failures replace the other two failures and a success: 3 of 10.
        assert!(feed(&mut b, t(0), &[true; 3]).is_empty());
        assert_eq!(b.failure_rate(t(0)), Some(3000));
        assert!(feed(&mut b, t(0), &[true]).is_empty()); // 4 of 10
        let tr = feed(&mut b, t(0), &[true]); // 5 of 10 = 50%
        assert_eq!(tr.len(), 1);
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn slow_call_rate_opens_and_slow_means_strictly_longer() {
        let cases: &[(&str, u64, u32, bool)] = &[
            (
                "10 calls of exactly the threshold are not slow",
                100 * MS,
                5000,
                false,
            ),
            (
                "10 calls 1 ns over are slow: 100% >= 50%",
                100 * MS + 1,
                5000,
                true,
            ),
            (
                "default 100%: every call slow opens",
                100 * MS + 1,
                10000,
                true,
            ),
        ];
        for (name, dur, thr, opens) in cases {
            let mut b = ClientBreaker::new(
                ClientBreakerSpec {
                    slow_call_duration_threshold: SimDuration::from_millis(100),
                    slow_call_rate_threshold: *thr,
                    ..cfg()
                },
                t(0),
            );
            let mut tr = None;
            for _ in 0..10 {
                b.try_acquire(t(0));
                tr = tr.or(b.on_result(t(0), SimDuration::from_nanos(*dur), false));
            }
            assert_eq!(tr.is_some(), *opens, "{name}");
            if let Some(tr) = tr {
                assert_eq!(tr.slow, 10, "{name}");
                assert_eq!(tr.failed, 0, "{name}");
            }
        }
        // 9 slow + 1 fast at 100%: not open.
        let mut b = ClientBreaker::new(
            ClientBreakerSpec {
                slow_call_duration_threshold: SimDuration::from_millis(100),
                ..cfg()
            },
            t(0),
        );
        for i in 0..10 {
            b.try_acquire(t(0));
            let d = if i == 0 { 1 } else { 200 } * MS;
            assert!(
                b.on_result(t(0), SimDuration::from_nanos(d), false)
                    .is_none()
            );
        }
        assert_eq!(b.state(), BreakerState::Closed);
    }

    fn open_breaker(c: ClientBreakerSpec, at: SimTime) -> ClientBreaker {
        let mut b = ClientBreaker::new(c, at);
        let n = c.minimum_number_of_calls.min(c.sliding_window_size) as usize;
        let tr = feed(&mut b, at, &vec![true; n]);
        assert_eq!(tr.last().map(|t| t.to), Some(BreakerState::Open));
        b
    }

    #[test]
    fn open_refuses_until_strictly_after_the_wait() {
        let mut b = open_breaker(cfg(), t(S));
        // (time, permitted, state after)
        let steps: &[(u64, bool, BreakerState)] = &[
            (S + 1, false, BreakerState::Open),
            (3 * S, false, BreakerState::Open),
            (6 * S, false, BreakerState::Open), // exactly opened + 5 s: not after
            (6 * S + 1, true, BreakerState::HalfOpen),
        ];
        for &(at, ok, st) in steps {
            let (p, tr) = b.try_acquire(t(at));
            assert_eq!((p, b.state()), (ok, st), "at {at} ns");
            if ok {
                let tr = tr.expect("open -> half-open");
                assert_eq!(tr.cause, TransitionCause::WaitElapsed);
            }
        }
        // No timer without automatic transition.
        let b = open_breaker(cfg(), t(0));
        assert_eq!(b.timer(), None);
    }

    #[test]
    fn wait_in_open_is_whole_milliseconds() {
        let c = ClientBreakerSpec {
            wait_duration_in_open_state: SimDuration::from_nanos(2 * MS + 999_999),
            ..cfg()
        };
        let mut b = open_breaker(c, t(0));
        assert!(!b.try_acquire(t(2 * MS)).0);
        assert!(b.try_acquire(t(2 * MS + 1)).0);
    }

    #[test]
    fn half_open_permits_exactly_n_then_closes_or_reopens() {
        // (outcomes of the 3 trial calls, state after)
        let cases: &[(&[bool], BreakerState)] = &[
            (&[false, false, false], BreakerState::Closed),
            (&[false, false, true], BreakerState::Closed), // 33% < 50%
            (&[false, true, true], BreakerState::Open),    // 66% >= 50%
            (&[true, true, true], BreakerState::Open),
        ];
        for (outcomes, want) in cases {
            let mut b = open_breaker(cfg(), t(0));
            let now = t(6 * S);
            for _ in 0..3 {
                assert!(b.try_acquire(now).0);
            }
            assert_eq!(b.state(), BreakerState::HalfOpen);
            // The fourth is refused.
            assert_eq!(b.try_acquire(now), (false, None));
            let mut last = None;
            for (i, &f) in outcomes.iter().enumerate() {
                let tr = b.on_result(now, SimDuration::from_millis(1), f);
                if i < 2 {
                    assert!(tr.is_none(), "decided before the third outcome");
                }
                last = tr;
            }
            let tr = last.expect("third outcome decides");
            assert_eq!((tr.from, tr.to), (BreakerState::HalfOpen, *want));
            assert_eq!(b.state(), *want);
            if *want == BreakerState::Closed {
                // A fresh window: 9 failures do not reopen (minimum 10).
                assert!(feed(&mut b, now, &[true; 9]).is_empty());
            } else {
                // Open again for the full wait.
                assert!(!b.try_acquire(now + SimDuration::from_secs(5)).0);
                assert!(b.try_acquire(now + SimDuration::from_nanos(5 * S + 1)).0);
            }
        }
    }

    #[test]
    fn released_permits_return_in_half_open() {
        let mut b = open_breaker(cfg(), t(0));
        let now = t(6 * S);
        for _ in 0..3 {
            assert!(b.try_acquire(now).0);
        }
        assert!(!b.try_acquire(now).0);
        b.release();
        assert!(b.try_acquire(now).0);
        // Released in closed state: nothing.
        let mut c = ClientBreaker::new(cfg(), t(0));
        c.release();
        assert_eq!(c.state(), BreakerState::Closed);
    }

    #[test]
    fn results_in_open_are_recorded_without_transition() {
        let mut b = open_breaker(cfg(), t(0));
        assert_eq!(b.failure_rate(t(0)), Some(10000));
        for _ in 0..10 {
            assert!(
                b.on_result(t(1), SimDuration::from_millis(1), false)
                    .is_none()
            );
        }
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.failure_rate(t(1)), Some(0));
    }

    #[test]
    fn timers_automatic_half_open_and_max_wait_in_half_open() {
        let c = ClientBreakerSpec {
            automatic_transition_from_open_to_half_open_enabled: true,
            max_wait_duration_in_half_open_state: SimDuration::from_secs(2),
            ..cfg()
        };
        let mut b = open_breaker(c, t(S));
        let (at, epoch) = b.timer().expect("automatic transition timer");
        assert_eq!(at, t(6 * S));
        assert!(b.on_timer(t(6 * S - 1), epoch).is_none(), "early");
        assert!(b.on_timer(at, epoch.wrapping_add(1)).is_none(), "stale");
        let tr = b.on_timer(at, epoch).expect("open -> half-open");
        assert_eq!(
            (tr.from, tr.to),
            (BreakerState::Open, BreakerState::HalfOpen)
        );
        let (at2, e2) = b.timer().expect("max wait timer");
        assert_eq!(at2, t(8 * S));
        // Only one trial call comes; the max wait reopens.
        assert!(b.try_acquire(t(7 * S)).0);
        assert!(b.on_result(t(7 * S), SimDuration::ZERO, false).is_none());
        let tr = b.on_timer(at2, e2).expect("half-open -> open");
        assert_eq!(tr.cause, TransitionCause::MaxWaitInHalfOpen);
        assert_eq!(b.state(), BreakerState::Open);
        // The old epoch's timer is now stale.
        assert!(b.on_timer(at2, e2).is_none());
    }

    #[test]
    fn time_based_window_forgets_calls_older_than_the_window() {
        let c = ClientBreakerSpec {
            sliding_window_type: SlidingWindowType::TimeBased,
            sliding_window_size: 10, // seconds
            minimum_number_of_calls: 5,
            ..cfg()
        };
        // (second, failed, expected failure rate after, state after)
        let steps: &[(u64, bool, Option<u32>, BreakerState)] = &[
            (0, true, None, BreakerState::Closed),
            (1, true, None, BreakerState::Closed),
            (2, false, None, BreakerState::Closed),
            (3, false, None, BreakerState::Closed),
            (4, false, Some(4000), BreakerState::Closed),
            // Second 10: the bucket of second 0 (one failure) has left the window.
            (10, false, Some(2000), BreakerState::Closed),
            // Second 11: second 1's failure leaves too; 4 successes + this failure = 5 calls.
            (11, true, Some(2000), BreakerState::Closed),
            (11, true, Some(3333), BreakerState::Closed),
            (11, true, Some(4285), BreakerState::Closed),
            (11, true, None, BreakerState::Open),
        ];
        let mut b = ClientBreaker::new(c, t(0));
        for (i, &(sec, f, rate, st)) in steps.iter().enumerate() {
            let now = t(sec * S + 500 * MS);
            assert!(b.try_acquire(now).0, "step {i}");
            b.on_result(now, SimDuration::from_millis(1), f);
            assert_eq!(b.state(), st, "step {i}");
            if st == BreakerState::Closed {
                assert_eq!(b.failure_rate(now), rate, "step {i}");
            }
        }
        // A window left idle longer than its size is empty.
        let mut b = ClientBreaker::new(c, t(0));
        feed(&mut b, t(0), &[false; 4]);
        assert_eq!(b.failure_rate(t(100 * S)), None);
        assert_eq!(b.closed.snapshot(t(100 * S)), Counts::default());
    }

    #[test]
    fn time_based_minimum_is_not_clamped_to_the_window() {
        let c = ClientBreakerSpec {
            sliding_window_type: SlidingWindowType::TimeBased,
            sliding_window_size: 2,
            minimum_number_of_calls: 20,
            ..cfg()
        };
        let mut b = ClientBreaker::new(c, t(0));
        assert!(feed(&mut b, t(0), &[true; 19]).is_empty());
        assert_eq!(feed(&mut b, t(0), &[true]).len(), 1);
    }

    #[test]
    fn threshold_compare_is_exact() {
        // (failed, calls, threshold in 1/100 %, at or over)
        let cases = [
            (1, 3, 3333, true),  // 33.333..% >= 33.33%
            (1, 3, 3334, false), // < 33.34%
            (1, 2, 5000, true),
            (49, 100, 5000, false),
            (0, 5, 1, false),
            (5, 5, 10000, true),
        ];
        for (f, c, thr, want) in cases {
            assert_eq!(at_or_over(f, c, thr), want, "{f}/{c} vs {thr}");
        }
    }

    #[test]
    fn describe_names_states_and_rates() {
        let tr = Transition {
            from: BreakerState::Closed,
            to: BreakerState::Open,
            cause: TransitionCause::ThresholdsExceeded,
            calls: 100,
            failed: 62,
            slow: 0,
        };
        let s = tr.describe("users", &ClientBreakerSpec::default());
        assert_eq!(
            s,
            "CircuitBreaker 'users' changed state from CLOSED to OPEN: failure rate 62.00% (threshold 50.00%), slow-call rate 0.00% (threshold 100.00%) over 100 calls"
        );
    }
}
