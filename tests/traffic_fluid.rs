//! The fluid traffic mode (`Traffic` `spec.mode: fluid`) end to end: through the world it
//! reproduces Erlang C for M/M/c, conserves requests at every sample, feeds the HPA, agrees
//! with the request mode on the shipped comparison scenario, and refuses what it does not
//! model with a located error.

use std::sync::Arc;

use kubesim::cluster::spec::TrafficMode;
use kubesim::cluster::traffic::theory::{erlang_c_mean_wait, erlang_c_wait_probability, mmc_spec};
use kubesim::cluster::world::World;
use kubesim::engine::{SimDuration, SimTime};
use kubesim::experiment::{self, Limits, Summary};
use kubesim::scenario::load_str;

const SEC: u64 = 1_000_000_000;

/// M/M/c in fluid mode, sampled every 10 s: (mean wait, P(wait), throughput) over `[t1, t2]`
/// seconds, from the recorder's totals at both instants.
fn fluid_mmc(c: u32, rho: f64, t1: u64, t2: u64) -> (f64, f64, f64) {
    let mu = 10.0;
    let lambda = rho * f64::from(c) * mu;
    let mut spec = mmc_spec(c, lambda, mu, SimDuration::from_secs(t2), 1);
    spec.sample_every = SimDuration::from_secs(10);
    spec.traffic[0].mode = TrafficMode::Fluid { step: None };
    let mut w = World::new(Arc::new(spec));
    w.advance(SimTime(t1 * SEC), u64::MAX);
    let a = w.state().recorder.traffic.sources[0].clone();
    w.advance(SimTime(t2 * SEC), u64::MAX);
    // Fluid mode schedules no per-request event: a handful of events per sample.
    assert!(
        w.events_processed() < 10 * t2 / 10 + 200,
        "{}",
        w.events_processed()
    );
    let out = w.finish();
    let b = &out.recorder.traffic.sources[0];
    let waits = (b.waits - a.waits) as f64;
    let wait = (b.wait_sum_ns - a.wait_sum_ns) as f64 / 1e9 / waits;
    let p_wait = (b.waited - a.waited) as f64 / waits;
    let throughput = (b.succeeded - a.succeeded) as f64 / (t2 - t1) as f64;
    (wait, p_wait, throughput)
}

#[test]
fn fluid_mmc_reproduces_erlang_c() {
    // After the start-up transient (the queue fills from empty), every piece is in
    // equilibrium and the formulas are Erlang C's exactly; what is left is the rounding of the
    // published counts (about 1e-5 here).
    for c in [1u32, 4, 16] {
        for rho in [0.5, 0.9] {
            let (mu, lambda) = (10.0, rho * f64::from(c) * 10.0);
            let (wait, p_wait, throughput) = fluid_mmc(c, rho, 3_600, 7_200);
            let want = erlang_c_mean_wait(c, lambda, mu);
            let pw = erlang_c_wait_probability(c, lambda / mu);
            assert!(
                (wait - want).abs() / want < 1e-4,
                "c={c} rho={rho}: Wq {wait} vs Erlang C {want}"
            );
            assert!(
                (p_wait - pw).abs() < 1e-4,
                "c={c} rho={rho}: P(wait) {p_wait} vs {pw}"
            );
            assert!(
                (throughput - lambda).abs() / lambda < 1e-3,
                "c={c} rho={rho}: throughput {throughput} vs {lambda}"
            );
        }
    }
}

fn shipped() -> String {
    std::fs::read_to_string("scenarios/capacity/fluid-vs-request.yaml").expect("shipped scenario")
}

fn run(text: &str) -> (Summary, experiment::RunResult) {
    let loaded = load_str("fluid-vs-request.yaml", text).expect("scenario loads");
    let result = experiment::run(Arc::new(loaded.spec), Limits::default(), &mut |_| {});
    (Summary::of(&result), result)
}

#[test]
fn fluid_requests_are_conserved_at_every_sample() {
    let (s, result) = run(&shipped());
    let rec = &result.output.recorder;
    let series = |metric: &str| -> Vec<(u64, f64)> {
        rec.samples
            .iter()
            .filter(|r| r.metric == metric && &*r.object == "clients")
            .map(|r| (r.time.as_nanos(), r.value))
            .collect()
    };
    let req = series("traffic.requests");
    let ok = series("traffic.succeeded");
    let failed = series("traffic.failed");
    let in_flight = series("traffic.in_flight");
    assert_eq!(req.len(), 121, "a sample every 15 s over 30 min");
    for i in 0..req.len() {
        assert_eq!(
            req[i].1,
            ok[i].1 + failed[i].1 + in_flight[i].1,
            "at {} s",
            req[i].0 / SEC
        );
    }
    // The arrivals are the integral of the rate: 80/s for 10 min, 300/s, then 80/s.
    let t = &s.traffic["clients"];
    assert_eq!(t.requests, 80 * 600 + 300 * 600 + 80 * 600);
    // Counts grow and never go back.
    assert!(req.windows(2).all(|w| w[0].1 <= w[1].1));
    assert!(ok.windows(2).all(|w| w[0].1 <= w[1].1));
}

#[test]
fn the_hpa_scales_on_fluid_cpu_usage() {
    let (s, result) = run(&shipped());
    let rec = &result.output.recorder;
    // Pod CPU usage is CPU per request times the tries the pod served: at 80 req/s over 4
    // pods, 20 ms each, 400 millicores per pod.
    let at_5m: Vec<f64> = rec
        .samples
        .iter()
        .filter(|r| r.metric == "pod.cpu_usage_millicores" && r.time == SimTime(300 * SEC))
        .map(|r| r.value)
        .collect();
    assert_eq!(at_5m.len(), 4);
    for v in &at_5m {
        assert!((v - 400.0).abs() < 10.0, "{v}");
    }
    // The surge to 300 req/s needs 300 x 0.02 / 0.6 = 10 pods at the 60 % target: the HPA
    // scales up, and back down after the surge.
    let created = s.metrics["pods.created"];
    assert!(created >= 10.0, "pods created {created}");
    let replicas: Vec<f64> = rec
        .samples
        .iter()
        .filter(|r| r.metric == "deployment.replicas" && &*r.object == "default/api")
        .map(|r| r.value)
        .collect();
    let peak = replicas.iter().copied().fold(0.0, f64::max);
    assert!(peak >= 10.0, "peak replicas {peak}");
}

#[test]
fn fluid_agrees_with_the_request_mode_on_the_shipped_scenario() {
    let (fluid, _) = run(&shipped());
    let (request, _) = run(&shipped().replace("  mode: fluid\n", "  mode: request\n"));
    let (f, r) = (&fluid.traffic["clients"], &request.traffic["clients"]);
    let rel = |a: f64, b: f64| (a - b).abs() / b;
    assert!(rel(f.throughput_per_s, r.throughput_per_s) < 0.01);
    assert!(rel(f.latency_seconds.p50, r.latency_seconds.p50) < 0.03);
    assert!(rel(f.latency_seconds.p99, r.latency_seconds.p99) < 0.05);
    // The surge overloads the pods until the HPA adds some: a transient, where the fluid
    // model is least exact; the error rate still agrees within a quarter.
    assert!(
        rel(f.error_rate, r.error_rate) < 0.25,
        "{} vs {}",
        f.error_rate,
        r.error_rate
    );
}

#[test]
fn what_fluid_mode_does_not_model_is_refused_with_its_location() {
    let base = shipped();
    let graph = "---\napiVersion: kubesim.dev/v1alpha1\nkind: RequestGraph\nmetadata: {name: g}\nspec: {service: api, stages: [{calls: [{service: api2}]}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: api2}\nspec: {selector: {app: api}}\n";
    let singleton = "---\napiVersion: kubesim.dev/v1alpha1\nkind: LeaderElection\nmetadata: {name: le}\nspec: {service: api, workload: api}\n";
    let second = "---\napiVersion: kubesim.dev/v1alpha1\nkind: Traffic\nmetadata: {name: more}\nspec: {service: api, rate: 5/s}\n";
    let cases: Vec<(String, &str)> = vec![
        (
            base.replace("  rate: 80/s\n", "  users: 10\n"),
            "fluid-vs-request.yaml:76:10: Traffic/clients: spec.users: a closed-loop source (users) cannot run in fluid mode; use mode: request",
        ),
        (
            base.replace("  mode: fluid\n", "  mode: fluent\n"),
            "fluid-vs-request.yaml:75:9: Traffic/clients: spec.mode: unsupported value \"fluent\"; supported values: request, fluid",
        ),
        (
            base.replace("  mode: fluid\n", "  mode: request\n  fluidStep: 1s\n"),
            "fluid-vs-request.yaml:76:14: Traffic/clients: spec.fluidStep: fluidStep needs mode: fluid",
        ),
        (
            base.replace("  mode: fluid\n", "  mode: fluid\n  fluidStep: 0s\n"),
            "fluid-vs-request.yaml:76:14: Traffic/clients: spec.fluidStep: must be greater than 0",
        ),
        (
            format!("{base}{second}"),
            "fluid-vs-request.yaml:86:18: Traffic/more: metadata.name: every Traffic of a scenario uses the same mode: this one is request, Traffic/clients (at fluid-vs-request.yaml:75:9) is fluid",
        ),
        (
            format!("{base}{graph}"),
            "fluid-vs-request.yaml:87:17: RequestGraph/g: spec.service: request graphs are not modelled in fluid traffic mode (Traffic/clients sets mode: fluid at fluid-vs-request.yaml:75:9); use mode: request",
        ),
        (
            format!("{base}{singleton}"),
            "fluid-vs-request.yaml:87:17: LeaderElection/le: spec.service: a LeaderElection's singleton service is not modelled in fluid traffic mode (Traffic/clients sets mode: fluid at fluid-vs-request.yaml:75:9); use mode: request",
        ),
    ];
    for (text, want) in cases {
        let e = load_str("fluid-vs-request.yaml", &text).expect_err(want);
        let got = e.to_string();
        assert!(got.starts_with(want), "got:\n{got}\nwant:\n{want}");
    }
}
