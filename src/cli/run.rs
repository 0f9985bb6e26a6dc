//! `kubesim run` and `kubesim validate`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::{EXIT_BAD_INPUT, EXIT_EXPECTATION_FAILED, EXIT_INTERNAL};
use crate::engine::SimDuration;
use crate::experiment::{self, Limits};
use crate::scenario::{self, Loaded, ScenarioError};

/// Arguments of `kubesim run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario file (.yaml, several documents allowed) or folder of such files.
    pub scenario: PathBuf,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output folder [default: out/<scenario name>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override the scenario's duration, e.g. 30m, 6h.
    #[arg(long)]
    pub duration: Option<String>,
    /// Print the narrated event log to stderr as the run goes.
    #[arg(long)]
    pub trace: bool,
    /// Stop after this many events; the outputs are then marked partial.
    #[arg(long)]
    pub max_events: Option<u64>,
    /// Stop after this much wall-clock time, e.g. 30s, 5m; the outputs are then marked partial.
    #[arg(long)]
    pub max_wall: Option<String>,
    /// Verify the model's invariants every simulated second; a breach stops the run (exit 3).
    #[arg(long)]
    pub check: bool,
    /// Do not draw plots/ and report.html.
    #[arg(long)]
    pub no_report: bool,
    /// The size limits the scenario is checked against.
    #[command(flatten)]
    pub limits: SizeLimitArgs,
}

/// `--max-pods` / `--max-nodes`, shared by every command that loads a scenario (`run`,
/// `validate`, `explain`, `sweep`), so the flag a size error names exists wherever it appears.
#[derive(Clone, Copy, Debug, Args)]
pub struct SizeLimitArgs {
    /// Refuse scenarios whose workloads may ask for more pods than this in total
    /// (replicas, Timeline scales, autoscaler maxReplicas, Job parallelism).
    #[arg(long, default_value_t = scenario::limits::DEFAULT_MAX_PODS)]
    pub max_pods: u64,
    /// Refuse scenarios with more nodes than this at once (Nodes, NodePools, addNodes).
    #[arg(long, default_value_t = scenario::limits::DEFAULT_MAX_NODES)]
    pub max_nodes: u64,
}

impl SizeLimitArgs {
    /// The loader's limits these flags ask for.
    pub fn limits(self) -> scenario::SizeLimits {
        scenario::SizeLimits {
            max_pods: self.max_pods,
            max_nodes: self.max_nodes,
        }
    }
}

/// Print a scenario error: with a source snippet on a terminal, as one line otherwise.
pub(super) fn report_error(e: &ScenarioError) {
    if std::io::stderr().is_terminal() {
        eprintln!("{:?}", miette::Report::new(e.clone()));
    } else {
        eprintln!("error: {e}");
    }
}

/// As [`load`], with size limits other than the defaults.
pub(crate) fn load_with_limits(path: &Path, limits: &scenario::SizeLimits) -> Result<Loaded, u8> {
    match scenario::load_path_with_limits(path, limits) {
        Ok(l) => {
            for w in &l.warnings {
                eprintln!("warning: {w}");
            }
            Ok(l)
        }
        Err(e) => {
            report_error(&e);
            Err(EXIT_BAD_INPUT)
        }
    }
}

/// `kubesim validate`, checking the scenario against `limits`.
pub fn validate(path: &Path, limits: SizeLimitArgs) -> u8 {
    match load_with_limits(path, &limits.limits()) {
        Ok(l) => {
            let s = &l.spec;
            println!(
                "{}: ok — scenario {:?}, {} node(s), {} deployment(s), {} replicaset(s), {} timeline entr{}, {} warning(s)",
                path.display(),
                s.name,
                s.nodes.len(),
                s.deployments.len(),
                s.replica_sets.len(),
                s.timeline.len(),
                if s.timeline.len() == 1 { "y" } else { "ies" },
                l.warnings.len()
            );
            0
        }
        Err(code) => code,
    }
}

/// `kubesim run`.
pub fn run(args: RunArgs) -> u8 {
    let mut loaded = match load_with_limits(&args.scenario, &args.limits.limits()) {
        Ok(l) => l,
        Err(code) => return code,
    };
    if let Some(seed) = args.seed {
        loaded.spec.seed = seed;
    }
    if let Some(d) = &args.duration {
        match scenario::duration::parse_duration(d) {
            Ok(ns) if ns > 0 => loaded.spec.duration = SimDuration::from_nanos(ns),
            Ok(_) => {
                eprintln!("error: --duration: must be greater than zero");
                return EXIT_BAD_INPUT;
            }
            Err(e) => {
                eprintln!("error: --duration: {e}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    let max_wall = match &args.max_wall {
        None => None,
        Some(w) => match scenario::duration::parse_duration(w) {
            Ok(ns) if ns > 0 => Some(std::time::Duration::from_nanos(ns)),
            Ok(_) => {
                eprintln!("error: --max-wall: must be greater than zero");
                return EXIT_BAD_INPUT;
            }
            Err(e) => {
                eprintln!("error: --max-wall: {e}");
                return EXIT_BAD_INPUT;
            }
        },
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(&loaded.spec.name));
    let spec = Arc::new(loaded.spec);

    let bar = ProgressBar::new(spec.duration.as_nanos().max(1));
    if std::io::stderr().is_terminal() {
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:40}] {percent:>3}% {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let started = Instant::now();
    let trace = args.trace;
    let stop = super::interrupt::stop_flag();
    // timeseries.csv is written as the run goes (a long run records millions of rows).
    let mut series = match experiment::TimeseriesFile::create(&out) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: writing outputs to {}: {e}", out.display());
            return EXIT_INTERNAL;
        }
    };
    let result = experiment::run::run_streaming(
        Arc::clone(&spec),
        &crate::cluster::world::WorldOptions::default(),
        Limits {
            max_events: args.max_events,
            max_wall,
            check: args.check,
        },
        stop,
        &mut series,
        &mut |p| {
            if trace {
                bar.suspend(|| {
                    for e in p.new_events {
                        eprintln!(
                            "{} {} {} {} {}",
                            e.time, e.kind, e.object, e.reason, e.message
                        );
                    }
                });
            }
            bar.set_position(p.now.as_nanos());
            bar.set_message(format!("t={} events={}", p.now, p.events_processed));
        },
    );
    bar.finish_and_clear();
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let wall = started.elapsed();

    let summary = match experiment::write_outputs_streamed(&out, &result, series) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: writing outputs to {}: {e}", out.display());
            return EXIT_INTERNAL;
        }
    };
    let m = |k: &str| summary.metrics.get(k).copied().unwrap_or(0.0);
    println!(
        "{}: {} simulated in {:.2}s wall ({} events{})",
        summary.scenario,
        result.output.end_time,
        wall.as_secs_f64(),
        summary.events_processed,
        if summary.partial { ", PARTIAL" } else { "" }
    );
    println!(
        "  pods: {} created, {} scheduled, {} ready at end, {} unscheduled at end; {} failed scheduling attempts",
        m("pods.created"),
        m("pods.scheduled"),
        m("pods.end.ready"),
        m("pods.end.unscheduled"),
        m("pods.failed_scheduling")
    );
    println!(
        "  pod start-up (created -> Ready): p50 {:.2}s, p99 {:.2}s; scheduling p99 {:.3}s; cost {:.2}",
        summary.pod_startup_seconds.p50,
        summary.pod_startup_seconds.p99,
        summary.scheduling_latency_seconds.p99,
        summary.cost
    );
    for e in &summary.expectations {
        println!(
            "  expect {} {} {}: {} (value {})",
            e.metric,
            e.op,
            e.bound,
            if e.passed { "ok" } else { "FAILED" },
            e.value.map_or("missing".to_string(), |v| v.to_string())
        );
    }
    if let Some(reason) = &summary.partial_reason {
        eprintln!("warning: run is partial: {reason}");
    }
    println!(
        "  wrote {}/{{events.csv,timeseries.csv,summary.json}}",
        out.display()
    );
    if let Some(e) = &result.input_error {
        eprintln!("error: {e}");
        return EXIT_BAD_INPUT;
    }
    if stop.load(std::sync::atomic::Ordering::SeqCst) && summary.partial {
        return super::interrupt::EXIT_INTERRUPTED;
    }
    if let Some(v) = &result.violation {
        eprintln!(
            "error: --check: invariant violated at {}: {}",
            v.at, v.message
        );
        return EXIT_INTERNAL;
    }
    if !args.no_report {
        let code = super::report::draw(&out);
        if code != 0 {
            return code;
        }
    }
    if summary.expectations_passed {
        0
    } else {
        EXIT_EXPECTATION_FAILED
    }
}
