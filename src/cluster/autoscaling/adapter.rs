//! The custom-metrics pipeline behind an HPA's `Pods` metric `requests_per_second` when the
//! target's pods carry a metrics adapter (`Behavior` `spec.serving.metricsAdapter`, see
//! [`MetricsAdapterSpec`]): Prometheus scrapes the request counter the adapter exports every
//! `scrapeInterval`, and prometheus-adapter answers the HPA's query with
//! `rate(http_requests_total[rateWindow])` evaluated when the HPA asks. So the HPA sees the
//! rate of the last `rateWindow`, as of the last scrape: it reacts to a change later than to the
//! instantaneous rate kubesim serves without an adapter.
//!
//! kubesim counts requests per Service; the scraped counter is the requests the `Traffic`
//! sources sent to the Services selecting the target's pods, and each Ready pod's value is the
//! rate split evenly over the Ready endpoints (as the direct `requests_per_second`). Prometheus
//! would rate each pod's own counter, so a new pod would have no value until it had been
//! scraped twice; kubesim gives it its share at once.
//!
//! The rate is Prometheus' `rate()` (`promql/functions.go` `extrapolatedRate`): the increase
//! between the first and the last sample in the range, corrected for counter resets,
//! extrapolated towards the range's ends — to an end when the sample is within 1.1 average
//! sample intervals of it, else by half an interval, and not below where the counter would
//! have been zero — and divided by the range in seconds. Fewer than two samples in the range
//! give no value.

use std::collections::VecDeque;

use crate::cluster::autoscaling_spec::{HpaSpec, MetricSource, MetricsAdapterSpec};
use crate::cluster::spec::ClusterSpec;
use crate::engine::SimTime;

/// Prometheus' `rate()` of a counter over the range `(end - range, end]`: `samples` are
/// `(time, value)` in time order, seconds; only those in the range count. `None` with fewer
/// than two samples in the range or a range of zero.
pub fn prometheus_rate(samples: &[(f64, f64)], end: f64, range: f64) -> Option<f64> {
    let start = end - range;
    let inside: Vec<(f64, f64)> = samples
        .iter()
        .copied()
        .filter(|&(t, _)| t > start && t <= end)
        .collect();
    if inside.len() < 2 || range <= 0.0 {
        return None;
    }
    let (first, last) = (inside[0], inside[inside.len() - 1]);
    // The increase, adding back what a counter reset lost.
    let mut increase = last.1 - first.1;
    for w in inside.windows(2) {
        if w[1].1 < w[0].1 {
            increase += w[0].1;
        }
    }
    let sampled = last.0 - first.0;
    if sampled <= 0.0 {
        return None;
    }
    let average = sampled / (inside.len() - 1) as f64;
    let mut to_start = first.0 - start;
    let mut to_end = end - last.0;
    // A counter does not extrapolate below zero.
    if increase > 0.0 && first.1 >= 0.0 {
        let to_zero = sampled * (first.1 / increase);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = average * 1.1;
    if to_start >= threshold {
        to_start = average / 2.0;
    }
    if to_end >= threshold {
        to_end = average / 2.0;
    }
    let extrapolated = sampled + to_start + to_end;
    Some(increase * extrapolated / sampled / range)
}

/// The scraped samples of one Service's request counter, and the adapter's query over them.
#[derive(Clone, Debug)]
pub struct ScrapedCounter {
    /// The pipeline's configuration.
    pub spec: MetricsAdapterSpec,
    /// Index of the Service whose requests the counter counts.
    pub service: usize,
    /// `(time, counter)` of the scrapes still inside the rate window, oldest first (seconds).
    samples: VecDeque<(f64, f64)>,
}

impl ScrapedCounter {
    /// An empty pipeline for the requests of Service `service`.
    pub fn new(spec: MetricsAdapterSpec, service: usize) -> Self {
        ScrapedCounter {
            spec,
            service,
            samples: VecDeque::new(),
        }
    }

    /// Prometheus scrapes the counter at `now`: it reads `value`.
    pub fn scrape(&mut self, now: SimTime, value: u64) {
        let t = now.as_nanos() as f64 / 1e9;
        self.samples.push_back((t, value as f64));
        let keep_from = t - self.spec.rate_window.as_secs_f64();
        while self.samples.front().is_some_and(|&(s, _)| s <= keep_from) {
            self.samples.pop_front();
        }
    }

    /// `rate(counter[rateWindow])` evaluated at `now`, per second; `None` until two scrapes
    /// lie in the window. A scrape taken at the very instant `now` is not seen yet (it is
    /// being ingested), whichever of the two events came first.
    pub fn rate_at(&self, now: SimTime) -> Option<f64> {
        let t = now.as_nanos() as f64 / 1e9;
        let samples: Vec<(f64, f64)> = self
            .samples
            .iter()
            .copied()
            .filter(|&(s, _)| s < t)
            .collect();
        prometheus_rate(&samples, t, self.spec.rate_window.as_secs_f64())
    }
}

/// The metrics adapter behind `hpa`'s `Pods` metric `requests_per_second`, if it has that
/// metric and its target Deployment's pods (their first container's image, as the run starts)
/// have a `metricsAdapter` in their Behavior.
pub fn adapter_for(spec: &ClusterSpec, hpa: &HpaSpec) -> Option<MetricsAdapterSpec> {
    if !hpa
        .metrics
        .iter()
        .any(|m| m.source == MetricSource::PodsRequestRate)
    {
        return None;
    }
    let d = spec
        .deployments
        .iter()
        .find(|d| d.name == hpa.target && d.namespace == hpa.namespace)?;
    let image = &d.template.containers.first()?.image;
    let b = spec.behaviors.get(&d.name)?;
    b.serving_for(image).metrics_adapter
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimDuration;

    /// One table row: (samples, end, range, expected rate).
    type Case = (&'static [(f64, f64)], f64, f64, Option<f64>);

    /// Table: (samples, end, range, expected rate), checked against Prometheus' arithmetic.
    #[test]
    fn prometheus_rate_extrapolates_like_promql() {
        let cases: &[Case] = &[
            // Fewer than two samples: no value.
            (&[], 60.0, 60.0, None),
            (&[(30.0, 100.0)], 60.0, 60.0, None),
            // Samples at the range's ends (within 1.1 intervals): extrapolated to the ends.
            // 15 s apart from 15 to 60 over (0, 60]: 100/s, the counter far from zero.
            (
                &[
                    (15.0, 10_000.0),
                    (30.0, 11_500.0),
                    (45.0, 13_000.0),
                    (60.0, 14_500.0),
                ],
                60.0,
                60.0,
                Some(100.0),
            ),
            // The first sample far from the start (2 intervals): extrapolated by half an
            // interval only. Samples 30 and 45 over (0, 45]: increase 1500 over 15 s sampled,
            // extrapolated to 15 + 7.5 + 0 = 22.5 s, divided by 45 s: 50/s.
            (
                &[(30.0, 10_000.0), (45.0, 11_500.0)],
                45.0,
                45.0,
                Some(1500.0 * 22.5 / 15.0 / 45.0),
            ),
            // A counter starting near zero is not extrapolated below zero: from 0 to 300 in
            // 30 s, 10/s; zero was reached 0 s before the first sample, so nothing is added
            // at the start; the end is 0 s away. 300 / 60.
            (&[(30.0, 0.0), (60.0, 300.0)], 60.0, 60.0, Some(5.0)),
            // A counter reset: 100 -> 150, reset, 0 -> 30: increase 50 + 30 = 80 over 30 s
            // sampled; the first sample 5 s after the start (within 1.1 x 10 s) extrapolates
            // to it: 80 x 35 / 30 / 35.
            (
                &[(30.0, 100.0), (45.0, 150.0), (52.5, 0.0), (60.0, 30.0)],
                60.0,
                35.0,
                Some(80.0 * 35.0 / 30.0 / 35.0),
            ),
            // Samples outside the range are ignored (the range is left-open).
            (
                &[(0.0, 0.0), (30.0, 3000.0), (60.0, 6000.0)],
                60.0,
                30.0,
                None,
            ),
        ];
        for (i, (samples, end, range, want)) in cases.iter().enumerate() {
            let got = prometheus_rate(samples, *end, *range);
            match (got, want) {
                (None, None) => {}
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-9, "case {i}: {g} != {w}"),
                _ => panic!("case {i}: {got:?} != {want:?}"),
            }
        }
    }

    #[test]
    fn the_scraped_rate_lags_a_step_by_the_window() {
        let spec = MetricsAdapterSpec {
            scrape_interval: SimDuration::from_secs(15),
            rate_window: SimDuration::from_secs(60),
            cpu_per_request: SimDuration::ZERO,
        };
        let mut c = ScrapedCounter::new(spec, 0);
        // 10/s until 120 s, then 50/s; scrapes every 15 s.
        let count = |t: u64| {
            if t <= 120 {
                10 * t
            } else {
                1200 + 50 * (t - 120)
            }
        };
        let at = |s: u64| SimTime(s * 1_000_000_000);
        assert_eq!(c.rate_at(at(0)), None);
        let mut seen = Vec::new();
        let mut at_instant = Vec::new();
        for k in 0..=16 {
            let t = 15 * k;
            c.scrape(at(t), count(t));
            // A read at the scrape's very instant does not see it; one just after does.
            at_instant.push(c.rate_at(at(t)));
            seen.push((t, c.rate_at(SimTime(at(t).as_nanos() + 1))));
        }
        // The first scrape after the step (135 s): not seen at its instant, seen just after.
        assert!(
            (at_instant[9].unwrap() - 10.0).abs() < 1e-9,
            "{at_instant:?}"
        );
        assert!(seen[9].1.unwrap() > 10.0, "{seen:?}");
        // One scrape: no rate yet.
        assert_eq!(seen[0].1, None);
        // Before the step, 10/s.
        assert!((seen[8].1.unwrap() - 10.0).abs() < 1e-9, "{seen:?}");
        // 30 s after the step the window still holds the old rate: samples at 105..150 s,
        // 1050 -> 2700, extrapolated over the 60 s window.
        let mid = seen[10].1.unwrap();
        assert!((mid - 1650.0 / 45.0).abs() < 1e-9, "{seen:?}");
        // One window after the step, the new rate.
        assert!((seen[12].1.unwrap() - 50.0).abs() < 1e-9, "{seen:?}");
        // Only the window's scrapes are kept.
        assert!(c.samples.len() <= 4, "{:?}", c.samples);
    }
}
