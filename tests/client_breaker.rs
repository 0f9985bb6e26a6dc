//! The resilience4j client circuit breaker (`clientBreaker` on a Traffic source or a request-graph
//! call), end to end through the loader and the run: the shipped pattern with and without it,
//! and a breaker on a call edge.

use std::sync::Arc;

use kubesim::cluster::world::RunOutput;
use kubesim::experiment::{self, Limits, Summary};
use kubesim::scenario::load_str;

const PATTERN: &str = "scenarios/patterns/client-circuit-breaker.yaml";

fn run_text(name: &str, text: &str) -> (Summary, RunOutput) {
    let loaded = load_str(name, text).expect("scenario loads");
    let limits = Limits {
        check: true,
        ..Limits::default()
    };
    let result = experiment::run(Arc::new(loaded.spec), limits, &mut |_| {});
    assert!(result.violation.is_none(), "{:?}", result.violation);
    let s = Summary::of(&result);
    (s, result.output)
}

/// The last sampled value of `metric` for `object` at or before `t` seconds.
fn sample_at(out: &RunOutput, metric: &str, object: &str, t: f64) -> f64 {
    out.recorder
        .samples
        .iter()
        .rev()
        .find(|r| r.metric == metric && &*r.object == object && r.time.as_secs_f64() <= t)
        .map(|r| r.value)
        .unwrap_or_else(|| panic!("no sample {metric} {object} at {t}"))
}

#[test]
fn the_client_breaker_fails_fast_and_lets_the_downstream_recover() {
    let with = std::fs::read_to_string(PATTERN).expect("shipped scenario");
    let without: String = with
        .lines()
        .filter(|l| !l.contains("clientBreaker:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(with, without);
    let (a, out_a) = run_text(PATTERN, &with);
    let (b, out_b) = run_text(PATTERN, &without);
    let (ta, tb) = (&a.traffic["shop"], &b.traffic["shop"]);

    // Requests fail fast instead of waiting for their timeouts, and inventory gets a fraction
    // of the tries (no retry storm).
    let (to_a, to_b) = (ta.failed_by_cause["timeout"], tb.failed_by_cause["timeout"]);
    assert!(to_a * 5 < to_b, "timeouts with {to_a} vs without {to_b}");
    assert!(
        ta.tries * 2 < tb.tries,
        "tries {} vs {}",
        ta.tries,
        tb.tries
    );
    assert!(
        ta.latency_seconds.p99 < 0.5 * tb.latency_seconds.p99,
        "p99 with {} vs without {}",
        ta.latency_seconds.p99,
        tb.latency_seconds.p99
    );
    assert!(ta.error_rate < 0.5 * tb.error_rate);
    assert!(ta.failed_by_cause["not_permitted"] > 1_000);
    // The cause and the breaker block exist only for a client with a breaker.
    assert!(!tb.failed_by_cause.contains_key("not_permitted"));
    assert!(tb.client_breaker.is_none());
    assert!(!b.metrics.contains_key("traffic.shop.breaker.opened"));

    // The breaker opened during the capacity loss (1 to 3 minutes), never before it, and
    // closed for good within seconds of the capacity coming back.
    let br = ta.client_breaker.as_ref().expect("breaker summary");
    assert!(br.opened >= 1 && br.closed == br.opened, "{br:?}");
    assert_eq!(br.state_at_end, "CLOSED");
    assert_eq!(br.not_permitted, ta.failed_by_cause["not_permitted"]);
    let rows: Vec<_> = out_a
        .recorder
        .events
        .iter()
        .filter(|e| e.kind == "CircuitBreaker")
        .collect();
    assert_eq!(rows.len() as u64, br.opened + br.half_opened + br.closed);
    let first_open = rows[0].time.as_secs_f64();
    assert_eq!(rows[0].reason, "BreakerOpened");
    assert!(
        (60.0..75.0).contains(&first_open),
        "first opened at {first_open}"
    );
    let last = rows.last().expect("transitions");
    assert_eq!(last.reason, "BreakerClosed");
    let closed_at = last.time.as_secs_f64();
    assert!((180.0..200.0).contains(&closed_at), "closed at {closed_at}");

    // Recovery: with the breaker, not one request fails in the last four minutes; without it
    // the retries keep the downstream saturated (a metastable failure) and nearly all fail.
    let failed_late = |out: &RunOutput| {
        sample_at(out, "traffic.failed", "shop", 480.0)
            - sample_at(out, "traffic.failed", "shop", 240.0)
    };
    assert_eq!(failed_late(&out_a), 0.0);
    assert!(failed_late(&out_b) > 30_000.0, "{}", failed_late(&out_b));
    // The state gauge: open at some sample during the loss, closed at the end.
    let state_samples: Vec<f64> = out_a
        .recorder
        .samples
        .iter()
        .filter(|r| r.metric == "breaker.state" && &*r.object == "shop")
        .map(|r| r.value)
        .collect();
    assert!(state_samples.contains(&1.0));
    assert_eq!(state_samples.last(), Some(&0.0));
    assert!(
        out_b
            .recorder
            .samples
            .iter()
            .all(|r| r.metric != "breaker.state")
    );
}

const GRAPH: &str = r#"
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: edge-breaker}
spec: {seed: 5, duration: 110s, sampleEvery: 10s}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: general}
spec: {count: 1, capacity: {cpu: "8", memory: 16Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: front}
spec:
  replicas: 1
  selector: {matchLabels: {app: front}}
  template:
    metadata: {labels: {app: front}}
    spec: {containers: [{name: front, image: "front:v1"}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: back}
spec:
  replicas: 1
  selector: {matchLabels: {app: back}}
  template:
    metadata: {labels: {app: back}}
    spec: {containers: [{name: back, image: "back:v1"}]}
---
apiVersion: v1
kind: Service
metadata: {name: front}
spec: {selector: {app: front}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: back}
spec: {selector: {app: back}, ports: [{port: 80}]}
---
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {name: front}
spec: {startup: 1s, serving: {serviceTime: {constant: 1ms}, concurrency: 100}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {name: back}
spec: {startup: 1s, serving: {serviceTime: {constant: 1ms}, concurrency: 100, errorRate: 1}}
---
apiVersion: kubesim.dev/v1alpha1
kind: RequestGraph
metadata: {name: front}
spec:
  service: front
  stages:
  - calls:
    - service: back
      clientBreaker:
        slidingWindowType: TIME_BASED
        slidingWindowSize: 5
        minimumNumberOfCalls: 20
        waitDurationInOpenState: 20s
        permittedNumberOfCallsInHalfOpenState: 3
        automaticTransitionFromOpenToHalfOpenEnabled: true
---
apiVersion: kubesim.dev/v1alpha1
kind: Traffic
metadata: {name: users}
spec: {service: front, rate: 0, steps: [{at: 30s, rate: 50/s}]}
"#;

#[test]
fn a_call_edge_breaker_opens_on_5xx_and_half_opens_by_timer() {
    let (s, out) = run_text("edge-breaker.yaml", GRAPH);
    let g = s.request_graph.as_ref().expect("graph summary");
    let edge = &g.calls["front->back"];
    let br = edge.client_breaker.as_ref().expect("edge breaker summary");
    // Every call fails (errorRate 1): the breaker opens at the 20th call, then every 20 s an
    // automatic half-open lets 3 trial calls through, which fail and reopen it.
    assert!(br.opened >= 3, "{br:?}");
    assert_eq!(br.half_opened, br.opened - 1, "{br:?}");
    assert_eq!(br.closed, 0);
    assert_eq!(
        edge.failed_by_cause["5xx"],
        20 + 3 * br.half_opened,
        "{edge:?}"
    );
    assert!(edge.failed_by_cause["not_permitted"] > 3_000);
    assert_eq!(
        s.metrics["graph.call.front->back.breaker.opened"],
        br.opened as f64
    );
    // The automatic transition happens on the timer, exactly 20 s after opening.
    let t: Vec<f64> = out
        .recorder
        .events
        .iter()
        .filter(|e| e.kind == "CircuitBreaker")
        .map(|e| e.time.as_secs_f64())
        .collect();
    assert!((t[1] - t[0] - 20.0).abs() < 1e-9, "{t:?}");
    // The source's own requests fail with the 5xx its handler answers.
    assert!(
        !s.traffic["users"]
            .failed_by_cause
            .contains_key("not_permitted")
    );
}

#[test]
fn client_breaker_fields_parse_with_resilience4j_defaults() {
    use kubesim::cluster::traffic::client_breaker::{ClientBreakerSpec, SlidingWindowType};
    let base = std::fs::read_to_string(PATTERN).expect("shipped scenario");
    let with = |b: &str| base.replace("clientBreaker: {waitDurationInOpenState: 10s}", b);
    let spec = |b: &str| {
        load_str("b.yaml", &with(b))
            .map(|l| l.spec.traffic[0].client_breaker)
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        spec("clientBreaker: {}"),
        Ok(Some(ClientBreakerSpec::default()))
    );
    let all = "clientBreaker: {failureRateThreshold: 37.5, slowCallRateThreshold: 80, \
               slowCallDurationThreshold: 2s, permittedNumberOfCallsInHalfOpenState: 4, \
               maxWaitDurationInHalfOpenState: 30s, slidingWindowType: TIME_BASED, \
               slidingWindowSize: 20, minimumNumberOfCalls: 5, waitDurationInOpenState: 15s, \
               automaticTransitionFromOpenToHalfOpenEnabled: true}";
    let got = spec(all).expect("loads").expect("breaker");
    assert_eq!(
        got,
        ClientBreakerSpec {
            failure_rate_threshold: 3750,
            slow_call_rate_threshold: 8000,
            slow_call_duration_threshold: kubesim::engine::SimDuration::from_secs(2),
            permitted_number_of_calls_in_half_open_state: 4,
            max_wait_duration_in_half_open_state: kubesim::engine::SimDuration::from_secs(30),
            sliding_window_type: SlidingWindowType::TimeBased,
            sliding_window_size: 20,
            minimum_number_of_calls: 5,
            wait_duration_in_open_state: kubesim::engine::SimDuration::from_secs(15),
            automatic_transition_from_open_to_half_open_enabled: true,
        }
    );
    // Refused where resilience4j's builder throws (and thresholds with more than 2 decimals).
    for (b, msg) in [
        ("clientBreaker: {failureRateThreshold: 0}", "greater than 0"),
        (
            "clientBreaker: {slowCallRateThreshold: 100.5}",
            "at most 100",
        ),
        (
            "clientBreaker: {failureRateThreshold: 33.333}",
            "two decimals",
        ),
        (
            "clientBreaker: {minimumNumberOfCalls: 0}",
            "greater than or equal to 1",
        ),
        (
            "clientBreaker: {permittedNumberOfCallsInHalfOpenState: 0}",
            "greater than or equal to 1",
        ),
        (
            "clientBreaker: {slowCallDurationThreshold: 0}",
            "greater than 0",
        ),
        (
            "clientBreaker: {maxWaitDurationInHalfOpenState: 10us}",
            "at least 1ms",
        ),
        (
            "clientBreaker: {automaticTransitionFromOpenToHalfOpenEnabled: \"yes\"}",
            "boolean",
        ),
    ] {
        let e = spec(b).expect_err(b);
        assert!(
            e.contains("spec.clientBreaker.") && e.contains(msg),
            "{b}: {e}"
        );
    }
}
