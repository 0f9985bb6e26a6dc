//! The only YAML reader: Kubernetes manifests and kubesim documents in, a validated, typed
//! [`ClusterSpec`](crate::cluster::spec::ClusterSpec) out.
//!
//! A scenario is a `.yaml` / `.yml` file of one or more documents, or a folder of such files
//! (read in file-name order). [`load_path`] and [`load_str`] do everything in one call:
//!
//! 1. [`yaml`]: the text becomes a tree of located nodes (every key, value and list item keeps
//!    its line and column); a syntax error is located.
//! 2. Each document is dispatched on `apiVersion` + `kind` and read with a key-tracking reader:
//!    an unknown field is an error at that field with the nearest valid name as a suggestion; a
//!    field kubesim reads but does not simulate is a [`Warning`]; a wrong type says what was
//!    expected. Kubernetes field names, defaults and validation messages are upstream's.
//! 3. Cross-document checks: unique names, references (Behavior workloads, Timeline targets),
//!    timeline within the run, limits on absurd sizes, somewhere for workloads to run.
//!
//! Every failure is a [`ScenarioError`] whose one-line `Display` is
//! `file:line:col: path: message (did you mean "x"?)`; no input makes the loader panic.
//! The schema is documented in `docs/SCENARIO.md`.
//!
//! For changing a scenario before it is converted (sweep parameters), use [`read_sources`] /
//! [`parse_source`], edit the trees with [`yaml::Yaml::set_path`] (find a document with
//! [`SourceFile::document_mut`]), then [`build`].

mod argo_docs;
mod autoscaling_docs;
mod control_plane_docs;
pub mod duration;
pub mod error;
mod graph_docs;
mod health_docs;
mod jobs;
mod kubesim_docs;
pub mod limits;
mod load;
mod manifests;
mod policy;
mod probes;
pub mod quantity;
mod rate_trace;
mod reader;
mod scheduling;
mod stateful_docs;
pub mod sweep;
pub mod trace;
mod traffic_docs;
pub mod yaml;

pub use error::{ScenarioError, Warning, edit_distance, suggest};
pub use limits::SizeLimits;
pub use load::{
    Loaded, SourceFile, build, build_with_limits, load_path, load_path_with_limits, load_str,
    parse_source, read_sources,
};
pub use sweep::{SweepSpec, load_sweep};
