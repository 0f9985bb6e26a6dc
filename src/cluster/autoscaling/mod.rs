//! Autoscalers: the HorizontalPodAutoscaler controller ([`hpa`]), KEDA's operator for
//! `ScaledObject`s ([`keda`]) and the cluster autoscaler ([`cluster_autoscaler`]), with their
//! pure parts in their own modules: the replica calculator ([`replicas`]), the HPA behavior
//! normalization ([`behavior`]), and the "would these pods fit on a new node" simulation
//! ([`simulator`]) built on the scheduler's own filter plugins.
//!
//! Metrics they read ([`metrics`]): pod CPU usage from the traffic model
//! (`ClusterState::pod_cpu_usage`, millicores over the last sample interval, like
//! metrics-server), or from a workload's `cpuLoad` curve when it has no traffic; request rates
//! and requests in flight per Service from the traffic model's counters — for a `Pods` request
//! rate whose pods carry a metrics adapter, through the scrape-and-`rate()` pipeline of
//! [`adapter`].

pub mod adapter;
pub mod behavior;
pub mod cluster_autoscaler;
pub mod hpa;
pub mod keda;
pub mod metrics;
pub mod replicas;
pub mod simulator;

/// Autoscaler timers. Each is emitted and consumed by the component named.
#[derive(Clone, Copy, Debug)]
pub enum AutoscalingTimer {
    /// The HPA controller's periodic sync of every HPA (`--horizontal-pod-autoscaler-sync-period`).
    HpaSync,
    /// KEDA polls the triggers of the ScaledObject with this index (`pollingInterval`).
    KedaPoll(u32),
    /// The cluster autoscaler's main loop (`--scan-interval`).
    CaScan,
    /// The cluster autoscaler retries the evictions of a node it is removing.
    CaDrain,
    /// Prometheus scrapes the metrics adapter behind the HPA with this index (in the HPA
    /// controller's order: the scenario's, then KEDA's), every `scrapeInterval`; handled by
    /// the HPA controller, which owns that pipeline ([`adapter`]).
    AdapterScrape(u32),
}

/// What the autoscalers recorded over a run (for `summary.json`).
#[derive(Clone, Debug, Default)]
pub struct AutoscalingRecord {
    /// True when the run has any autoscaler (then the summary carries the keys below).
    pub active: bool,
    /// HPA rescales up.
    pub hpa_scale_ups: u64,
    /// HPA rescales down.
    pub hpa_scale_downs: u64,
    /// KEDA activations (0 -> 1 replicas).
    pub keda_activations: u64,
    /// KEDA deactivations (to 0 or idle replicas).
    pub keda_deactivations: u64,
    /// Cluster autoscaler scale-ups (one per node group increase).
    pub ca_scale_ups: u64,
    /// Nodes the cluster autoscaler asked for.
    pub ca_nodes_requested: u64,
    /// Of which never registered (failed provisioning).
    pub ca_nodes_failed: u64,
    /// Nodes the cluster autoscaler removed.
    pub ca_nodes_removed: u64,
    /// Pods that waited for capacity (found unschedulable, bound later): created -> bound.
    pub pending_for_capacity: crate::cluster::metrics::LatencyHistogram,
}
