//! The validated description of Argo Rollouts objects (`argoproj.io/v1alpha1` `Rollout` and
//! `AnalysisTemplate`), as [`crate::scenario`] produces it. Field names are Argo's; defaults are
//! Argo's (`pkg/apis/rollouts/v1alpha1/types.go`, `utils/defaults/defaults.go`), cited per field.

use crate::cluster::spec::{IntOrPercent, LabelSelector, PodTemplateSpec};
use crate::engine::SimDuration;

/// Every Argo Rollouts object of a scenario.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ArgoSpec {
    /// Rollouts, in file order.
    pub rollouts: Vec<RolloutSpec>,
    /// AnalysisTemplates, in file order (steps refer to them by index).
    pub analysis_templates: Vec<AnalysisTemplateSpec>,
}

/// An Argo Rollouts `Rollout`: a Deployment-like workload whose updates follow a canary or
/// blue-green strategy.
#[derive(Clone, Debug, PartialEq)]
pub struct RolloutSpec {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `spec.replicas` (default 1).
    pub replicas: i32,
    /// `spec.selector`.
    pub selector: LabelSelector,
    /// `spec.template`.
    pub template: PodTemplateSpec,
    /// `spec.minReadySeconds` (default 0).
    pub min_ready_seconds: i32,
    /// `spec.revisionHistoryLimit` (Argo default 10).
    pub revision_history_limit: i32,
    /// `spec.progressDeadlineSeconds` (Argo default 600).
    pub progress_deadline_seconds: i32,
    /// `spec.paused`.
    pub paused: bool,
    /// `spec.strategy`.
    pub strategy: RolloutStrategy,
}

/// `spec.strategy`: exactly one of `canary` or `blueGreen`.
#[derive(Clone, Debug, PartialEq)]
pub enum RolloutStrategy {
    /// `spec.strategy.canary`.
    Canary(CanarySpec),
    /// `spec.strategy.blueGreen`.
    BlueGreen(BlueGreenSpec),
}

/// `spec.strategy.canary`.
#[derive(Clone, Debug, PartialEq)]
pub struct CanarySpec {
    /// `steps[]`; empty = go to 100% at once (with the surge bounds).
    pub steps: Vec<CanaryStep>,
    /// `maxSurge` (Argo default 25%, rounded up).
    pub max_surge: IntOrPercent,
    /// `maxUnavailable` (Argo default 25%, rounded down).
    pub max_unavailable: IntOrPercent,
    /// `canaryService`: index in `ClusterSpec::services`; its selector gets the canary hash.
    pub canary_service: Option<usize>,
    /// `stableService`: index in `ClusterSpec::services`; its selector gets the stable hash.
    pub stable_service: Option<usize>,
    /// `trafficRouting` given: requests to `stableService` are split by weight at the Service
    /// level (as Istio's VirtualService does), and the stable ReplicaSet stays at full size.
    pub traffic_routing: bool,
    /// `scaleDownDelaySeconds`: with traffic routing, how long the old stable ReplicaSet is
    /// kept after promotion (Argo default 30).
    pub scale_down_delay_seconds: i32,
    /// `abortScaleDownDelaySeconds`: with traffic routing, how long the canary is kept after
    /// an abort (Argo default 30).
    pub abort_scale_down_delay_seconds: i32,
    /// `analysis`: a background analysis running from `startingStep` to the end of the update.
    pub analysis: Option<BackgroundAnalysis>,
}

/// `spec.strategy.canary.analysis`.
#[derive(Clone, Debug, PartialEq)]
pub struct BackgroundAnalysis {
    /// `templates[].templateName`, as indices into [`ArgoSpec::analysis_templates`].
    pub templates: Vec<usize>,
    /// `startingStep` (default 0: from the start).
    pub starting_step: usize,
}

/// One `steps[]` entry.
#[derive(Clone, Debug, PartialEq)]
pub enum CanaryStep {
    /// `setWeight: N`: N% of traffic (and, without traffic routing, of replicas) to the canary.
    SetWeight(i32),
    /// `pause: {duration}`; `None` = until promoted from the Timeline.
    Pause(Option<SimDuration>),
    /// `analysis: {templates}`: run the templates; success goes on, failure aborts.
    Analysis(Vec<usize>),
}

/// `spec.strategy.blueGreen`.
#[derive(Clone, Debug, PartialEq)]
pub struct BlueGreenSpec {
    /// `activeService` (required): index in `ClusterSpec::services`.
    pub active_service: usize,
    /// `previewService`: index in `ClusterSpec::services`.
    pub preview_service: Option<usize>,
    /// `autoPromotionEnabled` (default true).
    pub auto_promotion_enabled: bool,
    /// `autoPromotionSeconds` (default 0: promote as soon as the new ReplicaSet is available).
    pub auto_promotion_seconds: i32,
    /// `scaleDownDelaySeconds` (default 30): the old ReplicaSet's life after promotion.
    pub scale_down_delay_seconds: i32,
    /// `abortScaleDownDelaySeconds` (default 30): the new ReplicaSet's life after an abort.
    pub abort_scale_down_delay_seconds: i32,
    /// `previewReplicaCount`: size of the new ReplicaSet before promotion (default: replicas).
    pub preview_replica_count: Option<i32>,
}

/// An `AnalysisTemplate` (`argoproj.io/v1alpha1`).
#[derive(Clone, Debug, PartialEq)]
pub struct AnalysisTemplateSpec {
    /// `metadata.name`.
    pub name: String,
    /// `spec.metrics[]`.
    pub metrics: Vec<MetricSpec>,
}

/// One `spec.metrics[]` entry of an AnalysisTemplate.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSpec {
    /// `name`.
    pub name: String,
    /// `interval` between measurements (default: none, so one measurement).
    pub interval: Option<SimDuration>,
    /// `initialDelay` before the first measurement (default 0).
    pub initial_delay: SimDuration,
    /// `count`: measurements to take; `None` with an interval = until the update ends
    /// (Argo's default 0 = unlimited); without an interval, 1.
    pub count: Option<u32>,
    /// `successCondition`.
    pub success_condition: Option<crate::cluster::argo::analysis::Condition>,
    /// `failureCondition`.
    pub failure_condition: Option<crate::cluster::argo::analysis::Condition>,
    /// `failureLimit` (Argo default 0): more failed measurements fail the run.
    pub failure_limit: i32,
    /// `inconclusiveLimit` (Argo default 0).
    pub inconclusive_limit: i32,
    /// `consecutiveErrorLimit` (Argo default 4).
    pub consecutive_error_limit: i32,
    /// `provider.kubesim`: what is measured.
    pub query: MetricQuery,
}

/// What a measurement reads from the traffic model (`provider: {kubesim: {...}}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricQuery {
    /// The quantity.
    pub metric: MetricKind,
    /// Whose requests: the canary's (new) pods, the stable pods, or all of the Rollout's.
    pub version: VersionSelector,
}

/// A quantity measured over the interval before a measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    /// 5xx answers / answers served (0..1).
    ErrorRate,
    /// 99th percentile of the try latency (arrival at the pod's queue to answer), seconds.
    LatencyP99,
    /// Median try latency, seconds.
    LatencyP50,
    /// Answers served per second.
    RequestRate,
}

/// Which pods a metric looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionSelector {
    /// The pods of the update's new (canary / preview) pod template.
    Canary,
    /// The pods of the stable template.
    Stable,
    /// Every pod of the Rollout.
    All,
}

/// A `kubectl argo rollouts` command from the Timeline (`argo: {rollout, action}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgoCommand {
    /// `promote`: go past the current pause step (or an inconclusive analysis); a blue-green
    /// update switches its active Service.
    Promote,
    /// `abort`: the canary is scaled down and all traffic goes back to the stable version.
    Abort,
    /// `retry`: an aborted update starts again from its first step.
    Retry,
    /// `pause`: set `spec.paused` (steps stop advancing).
    Pause,
    /// `resume`: clear `spec.paused`.
    Resume,
    /// `set image`: a new pod template, which starts an update.
    SetImage {
        /// Container name; `None` = the first container.
        container: Option<String>,
        /// New image.
        image: String,
    },
}

impl ArgoCommand {
    /// The command as `kubectl argo rollouts` spells it.
    pub fn describe(&self) -> String {
        match self {
            ArgoCommand::Promote => "promote".into(),
            ArgoCommand::Abort => "abort".into(),
            ArgoCommand::Retry => "retry".into(),
            ArgoCommand::Pause => "pause".into(),
            ArgoCommand::Resume => "resume".into(),
            ArgoCommand::SetImage { container, image } => {
                format!("set image {}={image}", container.as_deref().unwrap_or("*"))
            }
        }
    }
}

/// What a Rollout controller sets on a Service: the `rollouts-pod-template-hash` added to its
/// selector (Argo injects it into `stableService`, `canaryService`, `activeService` and
/// `previewService`), and, for a canary with traffic routing, the share of the Service's
/// requests the mesh sends to the canary Service instead (the VirtualService weights).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceRoute {
    /// Required value of the `rollouts-pod-template-hash` label; `None` = selector unchanged.
    pub hash: Option<String>,
    /// `(canary Service index, weight 0..=100)`: that percentage of requests goes there.
    pub canary: Option<(usize, i32)>,
}

/// The label Argo Rollouts puts on its ReplicaSets' pods and Services' selectors
/// (`rollouts-pod-template-hash`, upstream `DefaultRolloutUniqueLabelKey`).
pub const ROLLOUT_HASH_LABEL: &str = "rollouts-pod-template-hash";
