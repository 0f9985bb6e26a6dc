//! kubesim's side of the peer comparison in `benches/peers/` (SimPy, salabim, Ciw).
//!
//! Two subcommands, each printing one JSON object on stdout:
//!
//! - `hold <pending> <events> [seed]`: the engine's hold model, as in `benches/engine_hold.rs`
//!   (`hold/simulation`): `pending` events are prefilled at Exp(mean 1 s) times; each processed
//!   event reschedules itself at now + Exp(1 s) through [`Simulation`] with one component, so
//!   the queue stays at `pending`. `events` are timed after the prefill. Prints
//!   `{"model":"hold","pending":..,"events":..,"wall_s":..,"events_per_s":..}`.
//! - `mmc <c> <sim_secs> [seed]`: M/M/c with mu = 1/s and rho = 0.9 (lambda = 0.9 c per second)
//!   through the real traffic code ([`mmc_spec`]: a Service over one pod with `c` workers),
//!   run for `sim_secs` simulated seconds. Prints engine events, completed customers
//!   (succeeded requests), wall time, events/s, customers/s, the measured mean wait in queue
//!   and Erlang C's.
//!
//! Run: `cargo run --release --example peers -- hold 100000 10000000`

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use kubesim::cluster::traffic::theory::{erlang_c_mean_wait, mmc_spec};
use kubesim::cluster::world::World;
use kubesim::engine::{
    Component, Context, SimDuration, SimRng, SimTime, Simulation, StepOutcome, stream_rng,
};
use rand::RngExt;
use rand_distr::Exp1;

/// One Exp(mean 1 s) delay.
#[inline]
fn exp_delay(rng: &mut SimRng) -> SimDuration {
    let x: f64 = rng.sample(Exp1);
    SimDuration::from_secs_f64(x)
}

/// The hold model's single component: on each event, reschedules itself Exp(1 s) later.
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

/// Runs the hold model: `pending` events in the queue, `events` timed steps.
fn hold(pending: usize, events: u64, seed: u64) -> Result<String, String> {
    let mut sim: Simulation<u64, u64> = Simulation::new(seed, 0);
    let id = sim.add_component(Box::new(Hold));
    let mut rng = stream_rng(seed, "prefill");
    for i in 0..pending {
        sim.schedule(SimTime::ZERO + exp_delay(&mut rng), id, i as u64);
    }
    let start = Instant::now();
    for _ in 0..events {
        if sim.step() != StepOutcome::Processed {
            return Err("hold model ran out of events".into());
        }
    }
    let wall = start.elapsed().as_secs_f64();
    if *sim.state() != events || sim.pending() != pending {
        return Err("hold model lost events".into());
    }
    Ok(format!(
        "{{\"model\":\"hold\",\"pending\":{pending},\"events\":{events},\"wall_s\":{wall:.6},\"events_per_s\":{:.1}}}",
        events as f64 / wall
    ))
}

/// Runs M/M/c (mu = 1/s, rho = 0.9) for `secs` simulated seconds.
fn mmc(c: u32, secs: u64, seed: u64) -> Result<String, String> {
    let mu = 1.0;
    let lambda = 0.9 * f64::from(c) * mu;
    let spec = Arc::new(mmc_spec(c, lambda, mu, SimDuration::from_secs(secs), seed));
    let start = Instant::now();
    let mut w = World::new(spec);
    w.advance(SimTime(secs * 1_000_000_000), u64::MAX);
    let out = w.finish();
    let wall = start.elapsed().as_secs_f64();
    let st = out
        .recorder
        .traffic
        .sources
        .first()
        .ok_or("M/M/c scenario has no traffic source")?;
    Ok(format!(
        "{{\"model\":\"mmc\",\"c\":{c},\"sim_s\":{secs},\"events\":{},\"customers\":{},\"wall_s\":{wall:.6},\"events_per_s\":{:.1},\"customers_per_s\":{:.1},\"mean_wait_s\":{:.6},\"erlang_c_wait_s\":{:.6}}}",
        out.events_processed,
        st.succeeded,
        out.events_processed as f64 / wall,
        st.succeeded as f64 / wall,
        st.mean_wait_secs(),
        erlang_c_mean_wait(c, lambda, mu),
    ))
}

/// Parses argument `i` as a number, naming it in the error.
fn arg<T: std::str::FromStr>(args: &[String], i: usize, name: &str) -> Result<T, String> {
    args.get(i)
        .ok_or_else(|| format!("missing <{name}>"))?
        .parse()
        .map_err(|_| format!("<{name}> must be a non-negative integer"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seed = |i: usize| arg(&args, i, "seed").or_else(|e| args.get(i).map_or(Ok(1), |_| Err(e)));
    let result = match args.first().map(String::as_str) {
        Some("hold") => (|| {
            hold(
                arg(&args, 1, "pending")?,
                arg(&args, 2, "events")?,
                seed(3)?,
            )
        })(),
        Some("mmc") => (|| mmc(arg(&args, 1, "c")?, arg(&args, 2, "sim_secs")?, seed(3)?))(),
        _ => Err(
            "usage: peers hold <pending> <events> [seed] | peers mmc <c> <sim_secs> [seed]".into(),
        ),
    };
    match result {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
