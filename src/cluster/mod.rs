//! The Kubernetes model: API objects and store, the API server with watches, kubelets, the
//! scheduler, controllers, the timeline and metrics. It reads no files: it is built from a
//! validated [`spec::ClusterSpec`].

pub mod apiserver;
pub mod argo;
pub mod autoscaling;
pub mod autoscaling_spec;
pub mod controllers;
pub mod crashloop;
pub mod cron;
pub mod disruption;
pub mod distribution;
pub mod drain;
pub mod events;
pub mod invariants;
pub mod job_spec;
pub mod kubelet;
pub mod leader_election;
pub mod lifecycle_spec;
pub mod metrics;
pub mod objects;
pub mod probe;
pub mod sampler;
pub mod scheduler;
pub mod scheduling_spec;
pub mod spec;
pub mod state;
pub mod stateful_events;
pub mod stateful_objects;
pub mod stateful_record;
pub mod stateful_spec;
pub mod timeline;
pub mod trace;
pub mod traffic;
pub mod wiring;
pub mod work_queue;
pub mod world;
