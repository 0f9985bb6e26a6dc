//! # kubesim
//!
//! A deterministic discrete-event simulator of a Kubernetes cluster: nodes, pods, the
//! kube-scheduler, controllers and kubelets run in virtual time, and the same seed always gives
//! the same bytes out.
//!
//! ## Layers (dependencies point down only)
//!
//! | module | role |
//! |---|---|
//! | [`cli`] | clap commands; the only place that prints for humans or picks exit codes |
//! | [`report`] | charts (PNG + SVG) and `report.html`, drawn from output files only |
//! | [`experiment`] | runs scenarios and sweeps (the only rayon user), writes their output files; compare |
//! | [`scenario`] | the only YAML reader: manifests + kubesim documents -> a validated [`cluster::spec::ClusterSpec`] |
//! | [`cluster`] | the Kubernetes model: objects, API server + watch, kubelet, scheduler, controllers, metrics |
//! | [`engine`] | virtual time, event queue, components, seeded RNG streams; knows nothing of Kubernetes |
//!
//! ## Determinism contract
//!
//! 1. Time is an integer: [`engine::SimTime`] counts nanoseconds since the start of the run.
//!    Durations are parsed from text only in [`scenario`].
//! 2. Events fire in `(time, seq)` order, where `seq` is a global counter taken when the event is
//!    scheduled, so events scheduled for the same instant fire first-in first-out. Where one
//!    instant holds several phases (for example a timeline action and the metric sample at the
//!    same time), their order is the order in which they were scheduled, and that order is
//!    documented where they are scheduled.
//! 3. There is one master seed. Every component draws from its own ChaCha8 stream derived from
//!    (seed, component name) by [`engine::stream_rng`]; per-node streams are derived from
//!    (seed, "kubelet/<node>"). No OS entropy, no wall clock, no `std` hasher in model code.
//! 4. Nothing that is iterated is a `HashMap` or `HashSet`: the model uses `BTreeMap` and `Vec`
//!    with typed ids.
//! 5. There are no threads inside a run. Sweeps run whole runs in parallel (rayon), each seeded
//!    from (master seed, point, replication), and sort results by (point, replication) before
//!    writing or aggregating, so `--jobs`, shards and resuming do not change the bytes.
//! 6. Output files contain no wall-clock data.
//! 7. Tested: the same seed twice gives byte-identical outputs, another seed different ones
//!    (`tests/determinism.rs`).

pub mod cli;
pub mod cluster;
pub mod engine;
pub mod experiment;
pub mod report;
pub mod scenario;
