//! Request graphs, client-side circuit breakers, sidecar cost and rate traces, end to end
//! through the loader and the run: each test asserts the effect the feature exists for.

use std::path::Path;
use std::sync::Arc;

use kubesim::experiment::{self, Limits, Summary};
use kubesim::scenario::{self, load_str};

fn run_text(name: &str, text: &str, check: bool) -> Summary {
    let loaded = load_str(name, text).expect("scenario loads");
    let limits = Limits {
        check,
        ..Limits::default()
    };
    let result = experiment::run(Arc::new(loaded.spec), limits, &mut |_| {});
    assert!(result.violation.is_none(), "{:?}", result.violation);
    Summary::of(&result)
}

fn shipped(path: &str) -> String {
    std::fs::read_to_string(path).expect("shipped scenario")
}

#[test]
fn k_of_n_gather_has_a_lower_tail_than_all_of_n() {
    // Same seed, same pods, same shards: the only difference is `complete: 3` of 4.
    let s = run_text(
        "scatter-gather.yaml",
        &shipped("scenarios/patterns/scatter-gather.yaml"),
        true,
    );
    let all = &s.traffic["all-users"].latency_seconds;
    let quorum = &s.traffic["quorum-users"].latency_seconds;
    assert!(all.count > 5_000 && quorum.count > 5_000);
    assert!(
        quorum.p99 < 0.75 * all.p99,
        "k-of-n p99 {} vs all-of-n p99 {}",
        quorum.p99,
        all.p99
    );
    assert!(quorum.p50 < all.p50);
    let g = s.request_graph.as_ref().expect("request graph summary");
    assert_eq!(g.calls.len(), 8);
    // All-of-n cancels nothing unless a call fails; k-of-n cancels about one call in four.
    let q = &g.calls["gather-quorum->shard"];
    assert!(q.cancelled > q.requests / 8, "{q:?}");
    assert_eq!(g.calls["gather-all->shard"].cancelled, 0);
    for t in g.calls.values() {
        assert_eq!(
            t.requests,
            t.succeeded + t.failed + t.cancelled + t.in_flight
        );
    }
    assert!(g.entry_services.contains_key("default/gather-all"));
}

#[test]
fn the_circuit_breaker_contains_the_retry_storm() {
    let with = shipped("scenarios/patterns/circuit-breaker.yaml");
    let without: String = with
        .lines()
        .filter(|l| !l.contains("circuitBreaker:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(with, without);
    let a = run_text("circuit-breaker.yaml", &with, true);
    let b = run_text("circuit-breaker.yaml", &without, true);
    let (a, b) = (&a.traffic["users"], &b.traffic["users"]);
    assert!(
        a.error_rate < 0.5 * b.error_rate,
        "error rate with breaker {} vs without {}",
        a.error_rate,
        b.error_rate
    );
    assert!(a.latency_seconds.p99 < b.latency_seconds.p99);
    assert!(a.succeeded > 2 * b.succeeded);
    assert!(a.retry_overflow > 0 && b.retry_overflow == 0);
    assert!(a.failed_by_cause["overflow"] > 0 && b.failed_by_cause["overflow"] == 0);
}

const BASE: &str = "apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: g}
spec: {duration: 2m, seed: 1}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: pool}
spec: {count: 2, capacity: {cpu: \"8\", memory: 16Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: \"web:v1\"}]
---
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {selector: {app: web}}
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {selector: {app: web}}
---
apiVersion: v1
kind: Service
metadata: {name: c}
spec: {selector: {app: web}}
---
";

#[test]
fn a_cycle_in_the_request_graph_is_refused_with_its_location() {
    let text = format!(
        "{BASE}apiVersion: kubesim.dev/v1alpha1
kind: RequestGraph
metadata: {{name: a}}
spec:
  service: a
  stages: [{{calls: [{{service: b}}]}}]
---
apiVersion: kubesim.dev/v1alpha1
kind: RequestGraph
metadata: {{name: b}}
spec:
  service: b
  stages:
  - calls: [{{service: c}}]
---
apiVersion: kubesim.dev/v1alpha1
kind: RequestGraph
metadata: {{name: c}}
spec:
  service: c
  stages:
  - calls: [{{service: a}}]
"
    );
    let e = load_str("graph.yaml", &text).expect_err("cycle");
    assert_eq!(
        e.to_string(),
        "graph.yaml:57:23: RequestGraph/c: spec.stages[0].calls[0].service: the request graph \
         has a cycle: a -> b -> c -> a"
    );
    // A self-call is a cycle too; a diamond (a -> b, a -> c, b -> c) is not.
    let self_call = format!(
        "{BASE}apiVersion: kubesim.dev/v1alpha1
kind: RequestGraph
metadata: {{name: a}}
spec: {{service: a, stages: [{{calls: [{{service: a}}]}}]}}
"
    );
    let e = load_str("graph.yaml", &self_call).expect_err("self call");
    assert!(e.to_string().ends_with("has a cycle: a -> a"), "{e}");
    let diamond = format!(
        "{BASE}apiVersion: kubesim.dev/v1alpha1
kind: RequestGraph
metadata: {{name: a}}
spec: {{service: a, stages: [{{calls: [{{service: b}}, {{service: c}}], complete: 1}}]}}
---
apiVersion: kubesim.dev/v1alpha1
kind: RequestGraph
metadata: {{name: b}}
spec: {{service: b, stages: [{{calls: [{{service: c}}]}}]}}
"
    );
    assert!(load_str("graph.yaml", &diamond).is_ok());
}

#[test]
fn request_graph_input_errors_are_located() {
    let table: &[(&str, &str)] = &[
        (
            "spec: {service: a, stages: [{calls: [{service: b}], complete: 2}]}",
            "graph.yaml:39:63: RequestGraph/g: spec.stages[0].complete: must be at most 1, found 2",
        ),
        (
            "spec: {service: a, stages: [{calls: [{service: nope}]}]}",
            "graph.yaml:39:48: RequestGraph/g: spec.stages[0].calls[0].service: no Service \
             named \"nope\"",
        ),
        (
            "spec: {service: a, stages: []}",
            "graph.yaml:39:28: RequestGraph/g: spec.stages: needs at least one stage",
        ),
    ];
    for (spec, want) in table {
        let text = format!(
            "{BASE}apiVersion: kubesim.dev/v1alpha1\nkind: RequestGraph\nmetadata: {{name: g}}\n{spec}\n"
        );
        let e = load_str("graph.yaml", &text).expect_err(spec);
        assert!(e.to_string().starts_with(want), "{spec}:\n{e}\nwant {want}");
    }
}

/// A one-Service scenario with `web` behind Service `a`, its Behavior given by `serving`.
fn sidecar_scenario(serving: &str, sidecar_container: bool) -> String {
    let extra = if sidecar_container {
        ", {name: istio-proxy, image: \"proxyv2:1.24\", resources: {requests: {cpu: 100m, memory: 128Mi}}}"
    } else {
        ""
    };
    format!(
        "apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {{name: s}}
spec: {{duration: 2m, seed: 4, sampleEvery: 10s}}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {{name: pool}}
spec: {{count: 1, capacity: {{cpu: \"8\", memory: 16Gi}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: \"web:v1\", resources: {{requests: {{cpu: 500m, memory: 256Mi}}}}}}{extra}]
---
apiVersion: v1
kind: Service
metadata: {{name: a}}
spec: {{selector: {{app: web}}}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {{name: web}}
spec: {{serving: {serving}}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Traffic
metadata: {{name: users}}
spec: {{service: a, rate: 50/s}}
"
    )
}

#[test]
fn a_sidecar_costs_latency_cpu_and_requests() {
    let plain = sidecar_scenario(
        "{serviceTime: 10ms, concurrency: 8, cpuPerRequest: 10ms}",
        false,
    );
    let mesh = sidecar_scenario(
        "{serviceTime: 10ms, concurrency: 8, cpuPerRequest: 10ms, sidecar: {latency: 3ms, cpuPerRequest: 2ms}}",
        true,
    );
    // The sidecar container's requests are part of the pod's (the scheduler sums containers).
    let loaded = load_str("mesh.yaml", &mesh).expect("loads");
    let r = loaded.spec.deployments[0].template.pod_requests();
    assert_eq!((r.cpu_milli, r.memory_bytes), (600, 384 << 20));
    let run = |name: &str, text: &str| {
        let loaded = load_str(name, text).expect("loads");
        let limits = Limits {
            check: true,
            ..Limits::default()
        };
        experiment::run(Arc::new(loaded.spec), limits, &mut |_| {})
    };
    let (ra, rb) = (run("plain.yaml", &plain), run("mesh.yaml", &mesh));
    let (a, b) = (Summary::of(&ra), Summary::of(&rb));
    let (la, lb) = (
        &a.traffic["users"].latency_seconds,
        &b.traffic["users"].latency_seconds,
    );
    // Constant service time: the sidecar adds exactly its 3 ms to every request (within the
    // histogram's 0.1% resolution).
    assert!((la.p50 - 0.010).abs() < 1e-4, "{}", la.p50);
    assert!((lb.p50 - 0.013).abs() < 1e-4, "{}", lb.p50);
    // CPU: 10 ms per request without, 12 ms with the sidecar, for about the same requests.
    let cpu = |r: &experiment::RunResult| -> f64 {
        r.output
            .recorder
            .samples
            .iter()
            .filter(|s| s.metric == "pod.cpu_usage_millicores")
            .map(|s| s.value)
            .sum()
    };
    let per_request =
        |r: &experiment::RunResult, s: &Summary| cpu(r) / s.traffic["users"].succeeded as f64;
    let ratio = per_request(&rb, &b) / per_request(&ra, &a);
    assert!((ratio - 1.2).abs() < 0.03, "{ratio}");
}

#[test]
fn a_rate_trace_drives_the_arrivals() {
    let dir = std::env::temp_dir().join(format!("kubesim-rate-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("rates.csv"), "time,rate\n0,0\n10s,100\n70,0\n").expect("csv");
    let text = sidecar_scenario("{serviceTime: 1ms, concurrency: 8}", false).replace(
        "spec: {service: a, rate: 50/s}",
        "spec: {service: a, rateTrace: rates.csv}",
    );
    let path = dir.join("s.yaml");
    std::fs::write(&path, &text).expect("yaml");
    let loaded = scenario::load_path(&path).expect("loads");
    let result = experiment::run(Arc::new(loaded.spec), Limits::default(), &mut |_| {});
    let s = Summary::of(&result);
    // 60 s at 100/s: 6,000 expected, Poisson sd ~77.
    let n = s.traffic["users"].requests as f64;
    assert!((n - 6_000.0).abs() < 400.0, "{n}");
    // A bad row is refused with the CSV file, line and column.
    std::fs::write(dir.join("rates.csv"), "time,rate\n0,0\n10s, fast\n").expect("csv");
    let e = scenario::load_path(&path).expect_err("bad rate");
    let csv = dir.join("rates.csv").display().to_string();
    assert!(
        e.to_string()
            .starts_with(&format!("{csv}:3:6: column rate: ")),
        "{e}"
    );
    std::fs::remove_file(dir.join("rates.csv")).expect("rm");
    let e = scenario::load_path(&path).expect_err("missing file");
    assert!(
        e.to_string()
            .contains("spec.rateTrace: cannot read the rate trace"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!Path::new(&csv).exists());
}
