//! The command line: `kubesim run`, `kubesim validate` and `kubesim explain`. The only place that prints for
//! humans and picks exit codes (0 ok, 1 an expectation failed, 2 bad input or usage, 3 internal
//! error).

pub mod explain;
mod run;

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
    },
    /// Explain one pod's scheduling attempt: each node's filter verdict and scores.
    Explain(explain::ExplainArgs),
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
        Command::Validate { scenario } => run::validate(&scenario),
        Command::Explain(args) => explain::explain(args),
    };
    ExitCode::from(code)
}
