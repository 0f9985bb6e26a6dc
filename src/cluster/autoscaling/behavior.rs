//! HPA normalization: from the metrics' recommendation to the replica count written, as
//! upstream's `pkg/controller/podautoscaler/horizontal.go`:
//!
//! - without `spec.behavior`: `normalizeDesiredReplicas` — `stabilizeRecommendation` (the
//!   largest recommendation of the last `--horizontal-pod-autoscaler-downscale-stabilization`,
//!   5 min) then `convertDesiredReplicasWithRules` (at most `max(2 * current, 4)` on a
//!   scale-up: `scaleUpLimitFactor` 2, `scaleUpLimitMinimum` 4);
//! - with it: `normalizeDesiredReplicasWithBehaviors` — `stabilizeRecommendationWithBehaviors`
//!   (up and down windows) then `convertDesiredReplicasWithBehaviorRate` with
//!   `calculateScaleUpLimitWithScalingRules` / `calculateScaleDownLimitWithBehaviors` over the
//!   scale events of each policy's period; `storeScaleEvent` records each change.
//!
//! The history of one HPA ([`HpaHistory`]) is its state; everything is a function of it, the
//! arguments and `now`.

use crate::cluster::autoscaling_spec::{
    HpaBehavior, ScalingPolicyType, ScalingRules, SelectPolicy,
};
use crate::engine::{SimDuration, SimTime};

/// Upstream `scaleUpLimitFactor`.
pub const SCALE_UP_LIMIT_FACTOR: f64 = 2.0;
/// Upstream `scaleUpLimitMinimum`.
pub const SCALE_UP_LIMIT_MINIMUM: f64 = 4.0;

/// One replica change (upstream `timestampedScaleEvent`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScaleEvent {
    /// Replicas added (or removed, for a scale-down event), positive.
    pub change: i32,
    /// When.
    pub at: SimTime,
    /// Older than the longest policy period: may be overwritten.
    pub outdated: bool,
}

/// The state upstream keeps per HPA key: recommendations and scale events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HpaHistory {
    /// `recommendations[key]`: `(replicas, at)`.
    pub recommendations: Vec<(i32, SimTime)>,
    /// `scaleUpEvents[key]`.
    pub scale_up_events: Vec<ScaleEvent>,
    /// `scaleDownEvents[key]`.
    pub scale_down_events: Vec<ScaleEvent>,
}

fn secs(s: i32) -> SimDuration {
    SimDuration::from_secs(u64::try_from(s.max(0)).unwrap_or(0))
}

/// `t - d`, or `None` before the start of the run (then nothing is "before" the cutoff).
fn cutoff(now: SimTime, d: SimDuration) -> Option<SimTime> {
    now.as_nanos().checked_sub(d.as_nanos()).map(SimTime)
}

/// `rec.timestamp.After(cutoff)`.
fn after(t: SimTime, cut: Option<SimTime>) -> bool {
    cut.is_none_or(|c| t > c)
}

/// `rec.timestamp.Before(cutoff)`.
fn before(t: SimTime, cut: Option<SimTime>) -> bool {
    cut.is_some_and(|c| t < c)
}

/// Upstream `getReplicasChangePerPeriod`: replicas changed by events within the period.
pub fn replicas_change_per_period(period_seconds: i32, events: &[ScaleEvent], now: SimTime) -> i32 {
    let cut = cutoff(now, secs(period_seconds));
    events
        .iter()
        .filter(|e| after(e.at, cut))
        .map(|e| e.change)
        .sum()
}

/// Upstream `calculateScaleUpLimitWithScalingRules`.
pub fn scale_up_limit(
    current: i32,
    up: &[ScaleEvent],
    down: &[ScaleEvent],
    rules: &ScalingRules,
    now: SimTime,
) -> i32 {
    let (mut result, pick): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => (i32::MAX, std::cmp::min),
        SelectPolicy::Max => (i32::MIN, std::cmp::max),
    };
    for p in &rules.policies {
        let added = replicas_change_per_period(p.period_seconds, up, now);
        let deleted = replicas_change_per_period(p.period_seconds, down, now);
        let start = current - added + deleted;
        let proposed = match p.kind {
            ScalingPolicyType::Pods => start + p.value,
            // Rounded up so a small percentage still adds a pod.
            ScalingPolicyType::Percent => {
                (f64::from(start) * (1.0 + f64::from(p.value) / 100.0)).ceil() as i32
            }
        };
        result = pick(result, proposed);
    }
    result
}

/// Upstream `calculateScaleDownLimitWithBehaviors`.
pub fn scale_down_limit(
    current: i32,
    up: &[ScaleEvent],
    down: &[ScaleEvent],
    rules: &ScalingRules,
    now: SimTime,
) -> i32 {
    let (mut result, pick): (i32, fn(i32, i32) -> i32) = match rules.select_policy {
        SelectPolicy::Disabled => return current,
        SelectPolicy::Min => (i32::MIN, std::cmp::max),
        SelectPolicy::Max => (i32::MAX, std::cmp::min),
    };
    for p in &rules.policies {
        let added = replicas_change_per_period(p.period_seconds, up, now);
        let deleted = replicas_change_per_period(p.period_seconds, down, now);
        let start = current - added + deleted;
        let proposed = match p.kind {
            ScalingPolicyType::Pods => start - p.value,
            // Truncated, as Go's int32 conversion.
            ScalingPolicyType::Percent => {
                (f64::from(start) * (1.0 - f64::from(p.value) / 100.0)) as i32
            }
        };
        result = pick(result, proposed);
    }
    result
}

/// Why the normalized count differs from the recommendation (upstream condition reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Within every bound (`DesiredWithinRange`).
    None,
    /// `TooFewReplicas` / `TooManyReplicas`: clamped to min / max.
    MinMax,
    /// `ScaleUpLimit` / `ScaleDownLimit`: a rate policy held it back.
    Rate,
}

impl HpaHistory {
    /// Upstream `stabilizeRecommendation` (no `behavior`): the largest recommendation within
    /// `window`; records this one (overwriting the last old sample found, else appending).
    pub fn stabilize_legacy(&mut self, desired: i32, window: SimDuration, now: SimTime) -> i32 {
        let cut = cutoff(now, window);
        let mut max = desired;
        let mut old: Option<usize> = None;
        for (i, (r, t)) in self.recommendations.iter().enumerate() {
            if before(*t, cut) {
                old = Some(i);
            } else if *r > max {
                max = *r;
            }
        }
        match old {
            Some(i) => self.recommendations[i] = (desired, now),
            None => self.recommendations.push((desired, now)),
        }
        max
    }

    /// Upstream `normalizeDesiredReplicas`: legacy stabilization, then
    /// `convertDesiredReplicasWithRules`.
    pub fn normalize_legacy(
        &mut self,
        current: i32,
        desired: i32,
        min: i32,
        max: i32,
        window: SimDuration,
        now: SimTime,
    ) -> (i32, Limit) {
        let stabilized = self.stabilize_legacy(desired, window, now);
        let up_limit =
            (SCALE_UP_LIMIT_FACTOR * f64::from(current)).max(SCALE_UP_LIMIT_MINIMUM) as i32;
        let (max_allowed, max_reason) = if max > up_limit {
            (up_limit, Limit::Rate)
        } else {
            (max, Limit::MinMax)
        };
        if stabilized < min {
            (min, Limit::MinMax)
        } else if stabilized > max_allowed {
            (max_allowed, max_reason)
        } else {
            (stabilized, Limit::None)
        }
    }

    /// Upstream `stabilizeRecommendationWithBehaviors`: bring the recommendation within the
    /// lowest of the scale-up window and the highest of the scale-down window.
    pub fn stabilize_with_behavior(
        &mut self,
        current: i32,
        desired: i32,
        up_window: SimDuration,
        down_window: SimDuration,
        now: SimTime,
    ) -> i32 {
        let up_cut = cutoff(now, up_window);
        let down_cut = cutoff(now, down_window);
        let (mut up_rec, mut down_rec) = (desired, desired);
        let mut found = false;
        for rec in &mut self.recommendations {
            if after(rec.1, up_cut) {
                up_rec = up_rec.min(rec.0);
            }
            if after(rec.1, down_cut) {
                down_rec = down_rec.max(rec.0);
            }
            if before(rec.1, up_cut) && before(rec.1, down_cut) {
                found = true;
                *rec = (desired, now);
            }
        }
        let mut r = current;
        if r < up_rec {
            r = up_rec;
        }
        if r > down_rec {
            r = down_rec;
        }
        if !found {
            self.recommendations.push((desired, now));
        }
        r
    }

    /// Upstream `normalizeDesiredReplicasWithBehaviors`: stabilization, then the rate policies
    /// (`convertDesiredReplicasWithBehaviorRate`) and min / max. `downscale_window` is the
    /// controller's default for a scale-down window left unset.
    #[allow(clippy::too_many_arguments)]
    pub fn normalize_with_behavior(
        &mut self,
        b: &HpaBehavior,
        current: i32,
        desired: i32,
        min: i32,
        max: i32,
        downscale_window: SimDuration,
        now: SimTime,
    ) -> (i32, Limit) {
        let up_window = secs(b.scale_up.stabilization_window_seconds.unwrap_or(0));
        let down_window = b
            .scale_down
            .stabilization_window_seconds
            .map(secs)
            .unwrap_or(downscale_window);
        let stabilized =
            self.stabilize_with_behavior(current, desired, up_window, down_window, now);
        if stabilized > current {
            let mut limit = scale_up_limit(
                current,
                &self.scale_up_events,
                &self.scale_down_events,
                &b.scale_up,
                now,
            );
            if limit < current {
                limit = current;
            }
            let (max_allowed, reason) = if max > limit {
                (limit, Limit::Rate)
            } else {
                (max, Limit::MinMax)
            };
            if stabilized > max_allowed {
                return (max_allowed, reason);
            }
        } else if stabilized < current {
            let mut limit = scale_down_limit(
                current,
                &self.scale_up_events,
                &self.scale_down_events,
                &b.scale_down,
                now,
            );
            if limit > current {
                limit = current;
            }
            let (min_allowed, reason) = if min < limit {
                (limit, Limit::Rate)
            } else {
                (min, Limit::MinMax)
            };
            if stabilized < min_allowed {
                return (min_allowed, reason);
            }
        }
        (stabilized, Limit::None)
    }

    /// Upstream `storeScaleEvent` (only with a `behavior`): mark events older than the longest
    /// policy period outdated, then overwrite the first outdated one or append.
    pub fn store_scale_event(&mut self, b: &HpaBehavior, prev: i32, new: i32, now: SimTime) {
        let (events, rules, change) = if new > prev {
            (&mut self.scale_up_events, &b.scale_up, new - prev)
        } else {
            (&mut self.scale_down_events, &b.scale_down, prev - new)
        };
        let longest = rules
            .policies
            .iter()
            .map(|p| p.period_seconds)
            .max()
            .unwrap_or(0);
        let cut = cutoff(now, secs(longest));
        for e in events.iter_mut() {
            if before(e.at, cut) {
                e.outdated = true;
            }
        }
        let ev = ScaleEvent {
            change,
            at: now,
            outdated: false,
        };
        match events.iter_mut().find(|e| e.outdated) {
            Some(slot) => *slot = ev,
            None => events.push(ev),
        }
    }
}

#[cfg(test)]
#[path = "behavior_tests.rs"]
mod tests;
