//! Spec types for the container lifecycle: `restartPolicy` and the `Behavior` fields that say
//! how a container fails (crashes, hangs, memory leaks, versions that never become ready).
//! Re-exported from [`crate::cluster::spec`].

use crate::cluster::spec::Distribution;
use crate::engine::SimDuration;

pub use crate::cluster::probe::{ContainerProbes, ProbeSpec};

/// `spec.restartPolicy` of a pod, as upstream `core/v1` `RestartPolicy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RestartPolicy {
    /// Restart every container that exits (the default; the only value workload controllers
    /// other than Job accept).
    #[default]
    Always,
    /// Restart a container that exits with a non-zero code.
    OnFailure,
    /// Never restart: the pod ends `Succeeded` or `Failed`.
    Never,
}

impl RestartPolicy {
    /// Upstream spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            RestartPolicy::Always => "Always",
            RestartPolicy::OnFailure => "OnFailure",
            RestartPolicy::Never => "Never",
        }
    }

    /// True if a container that exited (`failed` = non-zero exit code) is restarted.
    pub fn restarts(&self, failed: bool) -> bool {
        match self {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => failed,
            RestartPolicy::Never => false,
        }
    }
}

/// How a container fails and uses memory (kubesim `Behavior` `spec.failures`, or per image in
/// `spec.versions[]`). kubesim's own model: Kubernetes says nothing about it. Everything is off
/// by default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HealthSpec {
    /// `crashOnStart`: the process exits with an error as soon as it starts (a bad
    /// configuration): the CrashLoopBackOff case.
    pub crash_on_start: bool,
    /// `meanTimeBetweenCrashes`: while running, the process exits with an error after an
    /// exponentially distributed time with this mean (`None` = never).
    pub mean_time_between_crashes: Option<SimDuration>,
    /// `meanTimeToHang`: while running, the process stops answering (probes fail, it stays
    /// up) after an exponentially distributed time with this mean (`None` = never).
    pub mean_time_to_hang: Option<SimDuration>,
    /// `neverReady`: the readiness probe never succeeds (without a readiness probe the kubelet
    /// still reports the pod Ready, as upstream).
    pub never_ready: bool,
    /// `memory.initial`: memory in use right after the start, bytes.
    pub memory_initial: i64,
    /// `memory.leak`: growth of memory in use while running, bytes per second (0 = none). When
    /// usage exceeds the container's memory limit the kernel OOM-kills it.
    pub memory_leak_per_sec: f64,
    /// `runTime`: how long the main process runs before it exits successfully (code 0), for
    /// batch pods; `None` = it serves until stopped.
    pub run_time: Option<Distribution>,
}
