//! Running scenarios and writing their outputs (`events.csv`, `timeseries.csv`,
//! `summary.json`). Output files are written to a temporary name and renamed, so a killed run
//! never leaves a half file that looks whole.

pub mod outputs;
pub mod rollout_summary;
pub mod run;
pub mod summary;

pub use outputs::write_outputs;
pub use run::{Limits, Progress, RunResult, run};
pub use summary::{ExpectationResult, Summary};
