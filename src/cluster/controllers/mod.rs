//! Controllers: reconcile loops driven by watch events through a [`workqueue::WorkQueue`].

pub mod cronjob;
pub mod deployment;
pub mod job;
pub mod nodelifecycle;
pub mod nodes;
pub mod ranking;
pub mod replicaset;
pub mod rolling;
pub mod statefulset;
pub mod tainteviction;
pub mod workqueue;
pub mod zone_eviction;
