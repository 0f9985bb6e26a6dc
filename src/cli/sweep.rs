//! `kubesim sweep` and `kubesim merge`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::{EXIT_BAD_INPUT, EXIT_INTERNAL};
use crate::experiment::sweep::{Shard, SweepError, SweepOptions, merge, run_sweep_until_stopped};
use crate::scenario;

/// Arguments of `kubesim sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Sweep file (.yaml with one `kind: Sweep` document).
    pub file: PathBuf,
    /// Worker threads [default: the number of CPUs].
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Output folder [default: out/<sweep name>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only the points with `point % N == I`: `I/N`, or `auto/N` to take I from
    /// JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID (Slurm array).
    #[arg(long)]
    pub shard: Option<String>,
    /// Do not draw charts and report.html.
    #[arg(long)]
    pub no_report: bool,
    /// The size limits every point's scenario is checked against.
    #[command(flatten)]
    pub limits: super::run::SizeLimitArgs,
}

/// Arguments of `kubesim merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard folders of one sweep.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Do not draw charts and report.html.
    #[arg(long)]
    pub no_report: bool,
}

fn sweep_error(e: &SweepError) -> u8 {
    match e {
        SweepError::Scenario(se) => {
            super::run::report_error(se);
            EXIT_BAD_INPUT
        }
        SweepError::Invalid { .. } => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
        SweepError::Io { .. } => {
            eprintln!("error: {e}");
            EXIT_INTERNAL
        }
    }
}

/// `kubesim sweep`.
pub fn sweep(args: SweepArgs) -> u8 {
    let spec = match scenario::load_sweep(&args.file) {
        Ok(mut s) => {
            s.limits = args.limits.limits();
            s
        }
        Err(e) => {
            super::run::report_error(&e);
            return EXIT_BAD_INPUT;
        }
    };
    let shard = match &args.shard {
        Some(s) => match Shard::parse(s, |k| std::env::var(k).ok()) {
            Ok(s) => s,
            Err(msg) => {
                eprintln!("error: {msg}");
                return EXIT_BAD_INPUT;
            }
        },
        None => Shard::ALL,
    };
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    if jobs == 0 {
        eprintln!("error: --jobs must be at least 1");
        return EXIT_BAD_INPUT;
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(&spec.name));
    let owned = (0..spec.point_count()).filter(|p| shard.has(*p)).count() as u64
        * u64::from(spec.replications);
    let bar = ProgressBar::new(owned);
    if std::io::stderr().is_terminal() {
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{bar:40}] {pos}/{len} runs {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let started = Instant::now();
    let stop = super::interrupt::stop_flag();
    let result =
        run_sweep_until_stopped(&spec, &out, SweepOptions { jobs, shard }, stop, &|_row| {
            bar.inc(1)
        });
    bar.finish_and_clear();
    let outcome = match result {
        Ok(o) => o,
        Err(e) => return sweep_error(&e),
    };
    let wall = started.elapsed().as_secs_f64();
    for w in &outcome.warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "{}: {} points x {} replications{}: {} runs ({} resumed, {} run now) in {:.2}s wall on {} thread(s), {:.1} runs/s",
        spec.name,
        spec.point_count(),
        spec.replications,
        if shard == Shard::ALL {
            String::new()
        } else {
            format!(", shard {}/{}", shard.index, shard.count)
        },
        outcome.runs_total,
        outcome.runs_resumed,
        outcome.runs_executed,
        wall,
        jobs,
        outcome.runs_executed as f64 / wall.max(1e-9)
    );
    if !outcome.missing_metrics.is_empty() {
        eprintln!(
            "warning: no run had metric(s) {} (see docs/OUTPUTS.md for the keys of summary.json `metrics`)",
            outcome.missing_metrics.join(", ")
        );
    }
    if outcome.expectation_failures > 0 {
        println!(
            "  {} run(s) failed an expectation of the scenario (column expectations_passed)",
            outcome.expectation_failures
        );
    }
    println!("  wrote {}/{{results.csv,aggregate.csv}}", out.display());
    if outcome.interrupted {
        eprintln!(
            "warning: sweep interrupted: {} of {} runs done; the outputs cover those; run the same command again to resume",
            outcome.runs_resumed + outcome.runs_executed,
            outcome.runs_total
        );
        return super::interrupt::EXIT_INTERRUPTED;
    }
    if !args.no_report && shard == Shard::ALL {
        return super::report::draw(&out);
    }
    0
}

/// `kubesim merge`.
pub fn merge_cmd(args: MergeArgs) -> u8 {
    match merge(&args.dirs, &args.out) {
        Ok(n) => {
            println!(
                "merged {} folder(s): {n} runs into {}",
                args.dirs.len(),
                args.out.display()
            );
            if args.no_report {
                0
            } else {
                super::report::draw(&args.out)
            }
        }
        Err(e) => sweep_error(&e),
    }
}
