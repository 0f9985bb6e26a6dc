//! The command line: `kubesim run`, `validate`, `explain`, `sweep`, `merge`, `report` and `compare`. The only place that prints for
//! humans and picks exit codes (0 ok, 1 an expectation failed, 2 bad input or usage, 3 internal
//! error).

mod compare;
pub mod explain;
mod interrupt;
mod report;
mod run;
mod sweep;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code: an expectation failed.
pub const EXIT_EXPECTATION_FAILED: u8 = 1;
/// Exit code: bad input or usage.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code: internal error (for example an output file could not be written).
pub const EXIT_INTERNAL: u8 = 3;

/// kubesim: a deterministic discrete-event simulator of a Kubernetes cluster.
#[derive(Debug, Parser)]
#[command(name = "kubesim", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario and write events.csv, timeseries.csv and summary.json.
    Run(run::RunArgs),
    /// Check a scenario without running it; prints warnings, exits 2 on errors.
    Validate {
        /// Scenario file (.yaml, several documents allowed) or folder of such files.
        scenario: std::path::PathBuf,
        /// The size limits the scenario is checked against.
        #[command(flatten)]
        limits: run::SizeLimitArgs,
    },
    /// Explain one pod's scheduling attempt: each node's filter verdict and scores.
    Explain(explain::ExplainArgs),
    /// Run a sweep (points x replications of a scenario) on several threads; writes
    /// results.csv and aggregate.csv, resumes an interrupted sweep.
    Sweep(sweep::SweepArgs),
    /// Join the output folders of a sweep's shards into one, byte-identical to an unsharded run.
    Merge(sweep::MergeArgs),
    /// Redraw plots/ and report.html of a run or sweep folder from its output files.
    Report {
        /// A run's or a sweep's output folder.
        dir: std::path::PathBuf,
    },
    /// Compare two runs or two sweeps metric by metric; exits 1 if a --fail-if threshold breaks.
    Compare(compare::CompareArgs),
}

/// Parse the process arguments and run; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_BAD_INPUT } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Validate { scenario, limits } => run::validate(&scenario, limits),
        Command::Explain(args) => explain::explain(args),
        Command::Sweep(args) => sweep::sweep(args),
        Command::Merge(args) => sweep::merge_cmd(args),
        Command::Report { dir } => report::draw(&dir),
        Command::Compare(args) => compare::compare_cmd(args),
    };
    ExitCode::from(code)
}
