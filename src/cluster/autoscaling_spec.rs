//! The validated description of the autoscalers of a run: `autoscaling/v2`
//! HorizontalPodAutoscalers, KEDA `ScaledObject`s, the cluster autoscaler's node groups and
//! options. Produced by [`crate::scenario`]; read by [`crate::cluster::autoscaling`].
//!
//! Units: CPU and metric values are milli-units (`500m` = 500, `2` = 2000), as upstream's
//! `MilliValue`; times are [`SimDuration`].

use crate::cluster::spec::Diurnal;
use crate::engine::{SimDuration, SimTime};

/// `autoscaling/v2` `HPAScalingPolicyType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalingPolicyType {
    /// `Pods`: change by at most `value` pods per period.
    Pods,
    /// `Percent`: change by at most `value` percent of the replicas at the start of the period.
    Percent,
}

/// `autoscaling/v2` `HPAScalingPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalingPolicy {
    /// `type`.
    pub kind: ScalingPolicyType,
    /// `value` (> 0).
    pub value: i32,
    /// `periodSeconds` (1..=1800).
    pub period_seconds: i32,
}

/// `autoscaling/v2` `ScalingPolicySelect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectPolicy {
    /// The policy allowing the largest change (the default).
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// `autoscaling/v2` `HPAScalingRules` with upstream's defaults filled in
/// (`pkg/apis/autoscaling/v2/defaults.go`, `GenerateHPAScaleUpRules` /
/// `GenerateHPAScaleDownRules`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScalingRules {
    /// `stabilizationWindowSeconds`; `None` for scale-down means the controller's
    /// `--horizontal-pod-autoscaler-downscale-stabilization` (300 s).
    pub stabilization_window_seconds: Option<i32>,
    /// `selectPolicy`.
    pub select_policy: SelectPolicy,
    /// `policies`.
    pub policies: Vec<ScalingPolicy>,
}

impl ScalingRules {
    /// Upstream's default scale-up rules: no stabilization, `Max` of 4 pods and 100 % per 15 s.
    pub fn default_scale_up() -> Self {
        ScalingRules {
            stabilization_window_seconds: Some(0),
            select_policy: SelectPolicy::Max,
            policies: vec![
                ScalingPolicy {
                    kind: ScalingPolicyType::Pods,
                    value: 4,
                    period_seconds: 15,
                },
                ScalingPolicy {
                    kind: ScalingPolicyType::Percent,
                    value: 100,
                    period_seconds: 15,
                },
            ],
        }
    }

    /// Upstream's default scale-down rules: the controller's stabilization window, 100 % per 15 s.
    pub fn default_scale_down() -> Self {
        ScalingRules {
            stabilization_window_seconds: None,
            select_policy: SelectPolicy::Max,
            policies: vec![ScalingPolicy {
                kind: ScalingPolicyType::Percent,
                value: 100,
                period_seconds: 15,
            }],
        }
    }
}

/// `spec.behavior` with defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HpaBehavior {
    /// `scaleUp`.
    pub scale_up: ScalingRules,
    /// `scaleDown`.
    pub scale_down: ScalingRules,
}

/// `autoscaling/v2` `MetricTarget`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricTarget {
    /// `Utilization`: `averageUtilization` percent of the pods' requests (Resource metrics only).
    Utilization(i32),
    /// `AverageValue`: target per pod, milli-units.
    AverageValue(i64),
    /// `Value`: target of the total, milli-units (External and Object metrics).
    Value(i64),
}

/// What a metric measures, among what kubesim can serve.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricSource {
    /// `type: Resource`, `resource.name: cpu` (from the pods' CPU usage, as metrics-server).
    ResourceCpu,
    /// `type: Pods` metric `requests_per_second`: each Ready pod's share of the request rate
    /// of the Services that select it (requests split evenly over their endpoints).
    PodsRequestRate,
    /// `type: External` metric `requests_per_second` with `selector.matchLabels.service`: the
    /// request rate sent to that Service (index into `ClusterSpec::services`).
    ExternalRequestRate {
        /// Service index.
        service: usize,
    },
    /// `type: External` metric `requests_in_flight` (`selector.matchLabels.service`): the
    /// requests to that Service not yet answered — a queue length (also KEDA's queue trigger).
    ExternalInFlight {
        /// Service index.
        service: usize,
    },
    /// `type: Resource`, `resource.name: memory`: each Running pod's memory in use, from its
    /// Behavior's `memoryLeak` (`initial` + `rate` x time since the pod started, at most the
    /// container's memory limit when it has one), milli-bytes as upstream's `MilliValue`.
    ResourceMemory,
    /// `type: Object` metric `requests_per_second` of `describedObject: {kind: Service}`: the
    /// request rate sent to that Service (index into `ClusterSpec::services`).
    ObjectRequestRate {
        /// Service index.
        service: usize,
    },
    /// `type: Object` metric `requests_in_flight` of `describedObject: {kind: Service}`: the
    /// requests to that Service not yet answered.
    ObjectInFlight {
        /// Service index.
        service: usize,
    },
}

/// One entry of `spec.metrics`.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSpec {
    /// What it measures.
    pub source: MetricSource,
    /// Its target.
    pub target: MetricTarget,
    /// Name for outputs (`cpu`, `requests_per_second`).
    pub name: String,
}

/// An `autoscaling/v2` HorizontalPodAutoscaler whose `scaleTargetRef` is a Deployment.
#[derive(Clone, Debug, PartialEq)]
pub struct HpaSpec {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// Name of the target Deployment (same namespace).
    pub target: String,
    /// `spec.minReplicas` (default 1; 0 only through KEDA).
    pub min_replicas: i32,
    /// `spec.maxReplicas`.
    pub max_replicas: i32,
    /// `spec.metrics` (default: cpu at 80 % utilization, as upstream's defaulting).
    pub metrics: Vec<MetricSpec>,
    /// `spec.behavior` with defaults filled in, or `None` when absent (then upstream uses its
    /// older rules: `max(2 * current, 4)` per sync and the 300 s downscale stabilization).
    pub behavior: Option<HpaBehavior>,
}

/// A KEDA trigger (`spec.triggers[]`), the subset kubesim serves.
#[derive(Clone, Debug, PartialEq)]
pub struct KedaTrigger {
    /// What it measures.
    pub kind: KedaTriggerKind,
    /// `metadata.targetValue` / `threshold`: target per replica (`AverageValue`), milli-units.
    pub target: i64,
    /// `metadata.activationTargetValue` / `activationThreshold`: the scaler is active when the
    /// value is above it (KEDA default 0), milli-units.
    pub activation: i64,
}

/// Trigger kinds.
#[derive(Clone, Debug, PartialEq)]
pub enum KedaTriggerKind {
    /// Request rate of a Service (index into `ClusterSpec::services`), per second: what the
    /// KEDA HTTP add-on or a `prometheus` trigger on `rate(requests[1m])` would see.
    RequestRate {
        /// Service index.
        service: usize,
    },
    /// Requests waiting or in service at the Service's pods (the length of its queue).
    QueueLength {
        /// Service index.
        service: usize,
    },
}

/// A KEDA `ScaledObject` (`keda.sh/v1alpha1`) on a Deployment.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaledObjectSpec {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// Target Deployment name.
    pub target: String,
    /// `pollingInterval` (default 30 s).
    pub polling_interval: SimDuration,
    /// `cooldownPeriod` (default 300 s): wait after the last active trigger before scaling to 0.
    pub cooldown_period: SimDuration,
    /// `minReplicaCount` (default 0).
    pub min_replicas: i32,
    /// `maxReplicaCount` (default 100).
    pub max_replicas: i32,
    /// `idleReplicaCount`, if set (must be below `minReplicaCount`).
    pub idle_replicas: Option<i32>,
    /// The triggers.
    pub triggers: Vec<KedaTrigger>,
    /// `advanced.horizontalPodAutoscalerConfig.behavior`, passed to the HPA KEDA creates.
    pub behavior: Option<HpaBehavior>,
}

/// A `kubesim` CPU load curve for a workload without traffic (`Behavior` `spec.cpuLoad`): the
/// workload's total CPU demand, shared evenly by its Running and Ready pods.
#[derive(Clone, Debug, PartialEq)]
pub struct CpuLoad {
    /// Base total demand, millicores.
    pub total_milli: f64,
    /// Diurnal modulation of the base, if any.
    pub diurnal: Option<Diurnal>,
    /// Changes of the base: from `at` on, the base is the value (millicores); sorted by time.
    pub steps: Vec<(SimTime, f64)>,
}

impl CpuLoad {
    /// The total demand at `t`, millicores.
    pub fn total_at(&self, t: SimTime) -> f64 {
        let mut base = self.total_milli;
        for (at, v) in &self.steps {
            if *at <= t {
                base = *v;
            }
        }
        match &self.diurnal {
            Some(d) => {
                let day = 86_400.0;
                let x = (t.as_nanos() as f64 / 1e9 - d.peak_at.as_nanos() as f64 / 1e9) / day;
                (base * (1.0 + d.amplitude * (2.0 * std::f64::consts::PI * x).cos())).max(0.0)
            }
            None => base,
        }
    }
}

/// How the cluster autoscaler picks among node groups that can help (`--expander`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expander {
    /// Any group at random (the upstream default).
    Random,
    /// The group leaving the least idle CPU (then memory) after the pods are placed.
    LeastWaste,
    /// The group with the highest `priority` (ties at random).
    Priority,
    /// The cheapest group for the pods (price per node-hour times nodes needed).
    Price,
}

/// A node group: a `NodePool` with `autoscaling: {min, max}`.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeGroupSpec {
    /// Pool name.
    pub pool: String,
    /// Fewest nodes (scale-down stops there).
    pub min: u32,
    /// Most nodes.
    pub max: u32,
    /// Probability that one requested node never registers (kubesim's failure model).
    pub failure_probability: f64,
    /// Priority for the `priority` expander (higher wins; default 0).
    pub priority: i32,
}

/// Cluster autoscaler options (upstream flags, `cluster-autoscaler/FAQ.md` "What are the
/// parameters to CA?"), all overridable in the `Scenario`'s `spec.clusterAutoscaler`.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterAutoscalerSpec {
    /// `--scan-interval` (10 s).
    pub scan_interval: SimDuration,
    /// `--expander` (random).
    pub expander: Expander,
    /// `--scale-down-enabled` (true).
    pub scale_down_enabled: bool,
    /// `--scale-down-utilization-threshold` (0.5).
    pub scale_down_utilization_threshold: f64,
    /// `--scale-down-unneeded-time` (10 m).
    pub scale_down_unneeded_time: SimDuration,
    /// `--scale-down-delay-after-add` (10 m).
    pub scale_down_delay_after_add: SimDuration,
    /// `--scale-down-delay-after-failure` (3 m).
    pub scale_down_delay_after_failure: SimDuration,
    /// `--max-node-provision-time` (15 m): a node not registered by then is given up on.
    pub max_node_provision_time: SimDuration,
    /// `--max-graceful-termination-sec` (600 s): how long a drain waits for pods.
    pub max_graceful_termination: SimDuration,
    /// `--new-pod-scale-up-delay` (0 s): pods younger than this do not trigger a scale-up.
    pub new_pod_scale_up_delay: SimDuration,
    /// `--max-empty-bulk-delete` (10): most empty nodes deleted in one loop.
    pub max_empty_bulk_delete: u32,
    /// Initial back-off of a node group after a failed scale-up
    /// (`--initial-node-group-backoff-duration`, 5 m), doubling up to
    /// `--max-node-group-backoff-duration` (30 m).
    pub initial_backoff: SimDuration,
    /// `--max-node-group-backoff-duration` (30 m).
    pub max_backoff: SimDuration,
}

impl Default for ClusterAutoscalerSpec {
    fn default() -> Self {
        ClusterAutoscalerSpec {
            scan_interval: SimDuration::from_secs(10),
            expander: Expander::Random,
            scale_down_enabled: true,
            scale_down_utilization_threshold: 0.5,
            scale_down_unneeded_time: SimDuration::from_secs(600),
            scale_down_delay_after_add: SimDuration::from_secs(600),
            scale_down_delay_after_failure: SimDuration::from_secs(180),
            max_node_provision_time: SimDuration::from_secs(900),
            max_graceful_termination: SimDuration::from_secs(600),
            new_pod_scale_up_delay: SimDuration::ZERO,
            max_empty_bulk_delete: 10,
            initial_backoff: SimDuration::from_secs(300),
            max_backoff: SimDuration::from_secs(1800),
        }
    }
}

/// HPA controller options (kube-controller-manager flags).
#[derive(Clone, Debug, PartialEq)]
pub struct HpaControllerSpec {
    /// `--horizontal-pod-autoscaler-sync-period` (15 s).
    pub sync_period: SimDuration,
    /// `--horizontal-pod-autoscaler-tolerance` (0.1).
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (5 m).
    pub cpu_initialization_period: SimDuration,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (30 s).
    pub initial_readiness_delay: SimDuration,
    /// `--horizontal-pod-autoscaler-downscale-stabilization` (5 m).
    pub downscale_stabilization: SimDuration,
}

impl Default for HpaControllerSpec {
    fn default() -> Self {
        HpaControllerSpec {
            sync_period: SimDuration::from_secs(15),
            tolerance: 0.1,
            cpu_initialization_period: SimDuration::from_secs(300),
            initial_readiness_delay: SimDuration::from_secs(30),
            downscale_stabilization: SimDuration::from_secs(300),
        }
    }
}

/// Everything about autoscaling in a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AutoscalingSpec {
    /// HorizontalPodAutoscalers, in file order.
    pub hpas: Vec<HpaSpec>,
    /// KEDA ScaledObjects, in file order.
    pub scaled_objects: Vec<ScaledObjectSpec>,
    /// Node groups (pools with `autoscaling`), in file order; empty = no cluster autoscaler.
    pub node_groups: Vec<NodeGroupSpec>,
    /// Cluster autoscaler options.
    pub cluster_autoscaler: ClusterAutoscalerSpec,
    /// HPA controller options.
    pub hpa_controller: HpaControllerSpec,
    /// CPU load curves by workload name (from `Behavior` `spec.cpuLoad`).
    pub cpu_load: std::collections::BTreeMap<String, CpuLoad>,
}

/// A metrics adapter in a serving pod (kubesim `Behavior` `spec.serving.metricsAdapter`): a
/// helper container that converts the application's own metrics to a standard interface — the
/// classic case an exporter (StatsD's `statsd_exporter`, say) turning what the application
/// emits into a Prometheus counter, `http_requests_total`. Prometheus scrapes it every
/// `scrape_interval`, and prometheus-adapter serves the custom metrics API
/// (`custom.metrics.k8s.io`) by evaluating `rate(http_requests_total[rate_window])`, which is
/// what an HPA's `Pods` metric `requests_per_second` then reads. Its resource requests are
/// those of the adapter container in the pod template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricsAdapterSpec {
    /// Prometheus' scrape interval for the pods (a ServiceMonitor's `interval`). kubesim's
    /// default is 30 s, a quarter of the default window as Prometheus advises (Prometheus' own
    /// `global.scrape_interval` default, 1 m, would leave a 2 m window one finished scrape at
    /// times).
    pub scrape_interval: SimDuration,
    /// The range of the adapter's `rate()` query (prometheus-adapter's configuration
    /// walkthrough uses `[2m]`); longer than two scrape intervals, so that the range always
    /// holds two finished scrapes, the least a rate needs (Prometheus advises four).
    pub rate_window: SimDuration,
    /// CPU time the adapter spends per request the application serves (ns of CPU: the
    /// application pushes one StatsD line per request, the exporter parses it), added to the
    /// pod's CPU usage.
    pub cpu_per_request: SimDuration,
}

impl Default for MetricsAdapterSpec {
    /// Scrape every 30 s, `rate(...[2m])`, no CPU per request.
    fn default() -> Self {
        MetricsAdapterSpec {
            scrape_interval: SimDuration::from_secs(30),
            rate_window: SimDuration::from_secs(120),
            cpu_per_request: SimDuration::ZERO,
        }
    }
}
