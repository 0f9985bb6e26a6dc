//! The traffic model against queueing theory: an M/M/c queue run through the real traffic code
//! (Service, endpoints through the watch, a pod with c workers) gives Erlang C's mean wait, and
//! requests are conserved (issued = succeeded + failed + in flight).

use std::sync::Arc;

use kubesim::cluster::traffic::theory::{erlang_c_mean_wait, erlang_c_wait_probability, mmc_spec};
use kubesim::cluster::world::World;
use kubesim::engine::{SimDuration, SimTime};

fn run_mmc(c: u32, lambda: f64, mu: f64, secs: u64, seed: u64) -> (f64, u64, u64, u64, u64) {
    let spec = Arc::new(mmc_spec(c, lambda, mu, SimDuration::from_secs(secs), seed));
    let mut w = World::new(spec);
    w.advance(SimTime(secs * 1_000_000_000), u64::MAX);
    let out = w.finish();
    let st = &out.recorder.traffic.sources[0];
    (
        st.mean_wait_secs(),
        st.requests,
        st.succeeded,
        st.failed_total(),
        st.in_flight,
    )
}

#[test]
fn mm4_rho_09_mean_wait_matches_erlang_c() {
    // 200,000 s at 3.6/s is about 720,000 requests; at rho = 0.9 the mean wait of such a run
    // has a relative standard error of a few percent, so 8% is a tolerance that a correct model
    // passes with this fixed seed and a wrong one (e.g. random balancing over single servers,
    // Wq = 9 s) fails by far. The 2% agreement is shown by the longer `mmc` bench.
    let want = erlang_c_mean_wait(4, 3.6, 1.0);
    let (got, ..) = run_mmc(4, 3.6, 1.0, 200_000, 1);
    let err = (got - want).abs() / want;
    assert!(
        err < 0.08,
        "Wq {got:.4} s vs Erlang C {want:.4} s ({:.1}%)",
        err * 100.0
    );
}

#[test]
fn mm1_rho_05_mean_wait_matches_theory() {
    let want = erlang_c_mean_wait(1, 0.5, 1.0); // rho / (mu - lambda) = 1 s
    let (got, ..) = run_mmc(1, 0.5, 1.0, 200_000, 2);
    let err = (got - want).abs() / want;
    assert!(err < 0.06, "Wq {got:.4} s vs {want:.4} s");
}

#[test]
fn requests_are_conserved() {
    let (_, requests, ok, failed, in_flight) = run_mmc(2, 1.5, 1.0, 2_000, 3);
    assert!(requests > 2_500);
    assert_eq!(requests, ok + failed + in_flight);
}

/// Run M/M/c and also sample the number of requests in the system every `every_s` seconds
/// from `warmup_s` on: returns (P(wait) measured, time-average L sampled, arrival rate
/// measured, mean sojourn time W measured from the latency histogram).
fn run_mmc_sampled(
    c: u32,
    lambda: f64,
    mu: f64,
    secs: u64,
    warmup_s: u64,
    every_s: f64,
    seed: u64,
) -> (f64, f64, f64, f64) {
    let spec = Arc::new(mmc_spec(c, lambda, mu, SimDuration::from_secs(secs), seed));
    let mut w = World::new(spec);
    let step = (every_s * 1e9) as u64;
    let mut t = warmup_s * 1_000_000_000;
    w.advance(SimTime(t), u64::MAX);
    let requests_at_warmup = w.state().recorder.traffic.sources[0].requests;
    let (mut sum, mut n) = (0.0, 0u64);
    while t + step <= secs * 1_000_000_000 {
        t += step;
        w.advance(SimTime(t), u64::MAX);
        sum += w.state().recorder.traffic.sources[0].in_flight as f64;
        n += 1;
    }
    let out = w.finish();
    let st = &out.recorder.traffic.sources[0];
    let lambda_hat = (st.requests - requests_at_warmup) as f64 / (secs - warmup_s) as f64;
    (
        st.wait_probability(),
        sum / n as f64,
        lambda_hat,
        st.latency.mean_secs(),
    )
}

#[test]
fn wait_probability_matches_erlang_c() {
    // P(wait) is a proportion over ~720,000 (M/M/4) and ~400,000 (M/M/2) arrivals; successive
    // arrivals are correlated through the queue, which inflates the binomial standard error
    // (~0.0005) by the relaxation time of the queue, to about 0.5% relative at rho = 0.9
    // over this run (measured spread across seeds: under 1%). 2% is the bound and
    // separates a correct model from e.g. one that counts tries served at once as waiting
    // (P = 1) or forgets the zero waits (P = 1 too), or balances randomly over c single
    // servers (P = rho = 0.9 instead of 0.788). Measured with these seeds: 0.7930 vs 0.7878 (0.7%) and
    // 0.3346 vs 0.3333 (0.4%).
    for (c, lambda, secs, seed) in [(4, 3.6, 200_000, 11), (2, 1.0, 200_000, 12)] {
        let want = erlang_c_wait_probability(c, lambda);
        let spec = Arc::new(mmc_spec(c, lambda, 1.0, SimDuration::from_secs(secs), seed));
        let mut w = World::new(spec);
        w.advance(SimTime(secs * 1_000_000_000), u64::MAX);
        let out = w.finish();
        let got = out.recorder.traffic.sources[0].wait_probability();
        let err = (got - want).abs() / want;
        assert!(
            err < 0.02,
            "M/M/{c} lambda {lambda}: P(wait) {got:.4} vs Erlang C {want:.4} ({:.2}%)",
            err * 100.0
        );
    }
}

#[test]
fn littles_law_holds() {
    // L = lambda W on one sample path: L is the time average of requests in the system
    // (sampled every 0.5 s, 200,000 samples), lambda the measured arrival rate and W the mean
    // sojourn time (hdrhistogram mean, 0.1% resolution). At rho = 0.75 the number in system
    // relaxes in a few seconds, so 200,000 samples over 100,000 s give a relative standard
    // error of L near 0.5%: 2% holds with margin. L also matches M/M/c theory,
    // lambda (Wq + 1/mu) from Erlang C, within 3% (lambda-hat and W each carry ~1%). Measured
    // with this seed: L 3.3796, lambda W 3.3782 (0.04%), theory 3.4286 (1.4%).
    let (c, lambda, mu) = (2, 1.5, 1.0);
    let (_, l, lambda_hat, w) = run_mmc_sampled(c, lambda, mu, 100_000, 100, 0.5, 21);
    let err = (l - lambda_hat * w).abs() / l;
    assert!(
        err < 0.02,
        "L {l:.4} vs lambda W {:.4} ({:.2}%)",
        lambda_hat * w,
        err * 100.0
    );
    let theory = lambda * (erlang_c_mean_wait(c, lambda, mu) + 1.0 / mu);
    let err = (l - theory).abs() / theory;
    assert!(
        err < 0.03,
        "L {l:.4} vs M/M/{c} {theory:.4} ({:.2}%)",
        err * 100.0
    );
}
