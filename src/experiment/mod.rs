//! Running scenarios and writing their outputs (`events.csv`, `timeseries.csv`,
//! `summary.json`); sweeps over rayon with shards, resume and merge ([`sweep`]); comparing two
//! runs or sweeps ([`compare`]). Output files are written to a temporary name and renamed, so a
//! killed run never leaves a half file that looks whole. The only user of rayon.

pub mod compare;
pub mod outputs;
pub mod rollout_summary;
pub mod run;
pub mod stateful_summary;
pub mod stats;
pub mod summary;
pub mod sweep;

pub use outputs::{TimeseriesFile, write_outputs, write_outputs_streamed};
pub use run::{Limits, Progress, RunResult, SampleSink, run, run_streaming, run_until_stopped};
pub use summary::{ExpectationResult, Summary};
pub use sweep::{Shard, SweepOptions, SweepOutcome, merge, run_sweep, run_sweep_until_stopped};
