//! M/M/c (c = 4, rho = 0.9, mu = 1) through the real traffic code: a Service over one pod with
//! 4 workers, exponential service times, Poisson arrivals (DESIGN §6: >= 10 M events/s and a
//! mean wait within 2% of Erlang C, Wq = 1.9694 s).
//!
//! Criterion times 200,000 simulated seconds (about 1.44 M events); the throughput it reports
//! is in engine events per second. Before that, one long run (5,000,000 simulated seconds,
//! about 36 M events) prints the measured mean wait against Erlang C and its events/s.

use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kubesim::cluster::traffic::theory::{erlang_c_mean_wait, mmc_spec};
use kubesim::cluster::world::World;
use kubesim::engine::{SimDuration, SimTime};

const C: u32 = 4;
const MU: f64 = 1.0;
const LAMBDA: f64 = 3.6;

fn run(secs: u64, seed: u64) -> (u64, f64) {
    let spec = Arc::new(mmc_spec(C, LAMBDA, MU, SimDuration::from_secs(secs), seed));
    let mut w = World::new(spec);
    w.advance(SimTime(secs * 1_000_000_000), u64::MAX);
    let out = w.finish();
    (
        out.events_processed,
        out.recorder.traffic.sources[0].mean_wait_secs(),
    )
}

fn bench(c: &mut Criterion) {
    let want = erlang_c_mean_wait(C, LAMBDA, MU);
    let t = Instant::now();
    let (events, got) = run(5_000_000, 42);
    let wall = t.elapsed().as_secs_f64();
    println!(
        "mmc long run: {events} events in {wall:.2} s = {:.1} M events/s; Wq {got:.4} s vs Erlang C {want:.4} s ({:+.2}%)",
        events as f64 / wall / 1e6,
        (got - want) / want * 100.0
    );
    let (events, _) = run(200_000, 1);
    let mut g = c.benchmark_group("mmc");
    g.throughput(Throughput::Elements(events));
    g.sample_size(10);
    g.bench_function("c4_rho0.9_200k_s", |b| b.iter(|| run(200_000, 1)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
