//! The classic "hold" model of event-queue benchmarking.
//!
//! N events are pending (N = 10^3, 10^5, 10^6), with exponentially distributed times (mean 1 s).
//! Each step pops the earliest event and schedules one new event at now + Exp(1 s), so the queue
//! size stays at N. Two variants:
//!
//! - `hold/simulation/N`: through [`Simulation`] with one component, so dispatch (the virtual
//!   handler call, the `Context`, the component's own ChaCha8 stream) is included;
//! - `hold/queue/N`: the bare [`EventQueue`], with the same ChaCha8 + `Exp1` draw per event;
//! - `hold/binary_heap_keys/N`: for reference, a `std::collections::BinaryHeap` of bare
//!   `(time, seq)` keys (no payloads, no cancellation) with the same draws: the design the
//!   engine's radix-heap queue replaced (see the `engine::queue` module docs);
//! - `hold/draw_only`: the ChaCha8 + `Exp1` draw alone, the floor under all of the above.
//!
//! Each measured iteration processes [`BATCH`] events; throughput is reported in events/s.
//! The design target is >= 9 M events/s at N = 10^5 on one thread.
//!
//! Run: `cargo bench --bench engine_hold -- --warm-up-time 1 --measurement-time 3`

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kubesim::engine::{
    Component, ComponentId, Context, EventQueue, SimDuration, SimRng, SimTime, Simulation,
    StepOutcome, stream_rng,
};
use rand::RngExt;
use rand_distr::Exp1;

/// Events processed per measured iteration.
const BATCH: u64 = 100_000;
/// Pending-event counts.
const SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];

/// One Exp(mean 1 s) delay.
#[inline]
fn exp_delay(rng: &mut SimRng) -> SimDuration {
    let x: f64 = rng.sample(Exp1);
    SimDuration::from_secs_f64(x)
}

/// The single component: on each event, reschedules itself Exp(1 s) later.
struct Hold;

impl Component<u64, u64> for Hold {
    fn name(&self) -> &str {
        "hold"
    }

    #[inline]
    fn handle(&mut self, event: u64, handled: &mut u64, ctx: &mut Context<'_, u64>) {
        *handled += 1;
        let d = exp_delay(ctx.rng());
        ctx.send_self(d, event.wrapping_add(1));
    }
}

fn bench_simulation(c: &mut Criterion) {
    let mut g = c.benchmark_group("hold/simulation");
    g.throughput(Throughput::Elements(BATCH));
    for &n in &SIZES {
        let mut sim: Simulation<u64, u64> = Simulation::new(1, 0);
        let id = sim.add_component(Box::new(Hold));
        let mut rng = stream_rng(1, "prefill");
        for i in 0..n {
            sim.schedule(SimTime::ZERO + exp_delay(&mut rng), id, i as u64);
        }
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    for _ in 0..BATCH {
                        let out = sim.step();
                        debug_assert_eq!(out, StepOutcome::Processed);
                        black_box(out);
                    }
                }
                start.elapsed()
            });
        });
        assert_eq!(sim.pending(), n);
        black_box(sim.state());
    }
    g.finish();
}

fn bench_queue(c: &mut Criterion) {
    let mut g = c.benchmark_group("hold/queue");
    g.throughput(Throughput::Elements(BATCH));
    for &n in &SIZES {
        let mut q: EventQueue<u64> = EventQueue::with_capacity(n);
        let mut rng = stream_rng(1, "prefill");
        for i in 0..n {
            q.schedule(
                SimTime::ZERO + exp_delay(&mut rng),
                ComponentId(0),
                i as u64,
            );
        }
        let mut rng = stream_rng(1, "hold");
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    for _ in 0..BATCH {
                        let (t, _seq, target, p) = q.pop().expect("hold keeps N pending");
                        q.schedule(t + exp_delay(&mut rng), target, p.wrapping_add(1));
                    }
                }
                start.elapsed()
            });
        });
        assert_eq!(q.len(), n);
    }
    g.finish();
}

fn bench_binary_heap(c: &mut Criterion) {
    let mut g = c.benchmark_group("hold/binary_heap_keys");
    g.throughput(Throughput::Elements(BATCH));
    for &n in &SIZES {
        // (time, seq) packed into one u128, min-first via Reverse.
        let mut h: BinaryHeap<Reverse<u128>> = BinaryHeap::with_capacity(n);
        let mut seq = 0u64;
        let mut rng = stream_rng(1, "prefill");
        for _ in 0..n {
            h.push(Reverse(
                u128::from(exp_delay(&mut rng).0) << 64 | u128::from(seq),
            ));
            seq += 1;
        }
        let mut rng = stream_rng(1, "hold");
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    for _ in 0..BATCH {
                        let Reverse(k) = h.pop().expect("hold keeps N pending");
                        let t = SimTime((k >> 64) as u64) + exp_delay(&mut rng);
                        h.push(Reverse(u128::from(t.0) << 64 | u128::from(seq)));
                        seq += 1;
                    }
                }
                start.elapsed()
            });
        });
        assert_eq!(h.len(), n);
    }
    g.finish();
}

/// Cost of the random draw alone (ChaCha8 + `Exp1` + conversion), for reference.
fn bench_draw(c: &mut Criterion) {
    let mut g = c.benchmark_group("hold/draw_only");
    g.throughput(Throughput::Elements(BATCH));
    let mut rng = stream_rng(1, "hold");
    g.bench_function("exp1", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            let mut acc = SimTime::ZERO;
            for _ in 0..iters {
                for _ in 0..BATCH {
                    acc += exp_delay(&mut rng);
                }
            }
            black_box(acc);
            start.elapsed()
        });
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // No plots: with the crate's `plotters` features (ab_glyph, no system fonts) criterion's
    // plotting backend finds no font and panics; the numbers are what matter here.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .sample_size(30)
        .without_plots();
    targets = bench_simulation, bench_queue, bench_binary_heap, bench_draw
}
criterion_main!(benches);
