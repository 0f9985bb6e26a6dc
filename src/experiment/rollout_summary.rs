//! The rollout part of `summary.json`: one entry per update of a workload's pod template and
//! one per version (workload and image) that served requests (documented in `docs/OUTPUTS.md`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cluster::metrics::Recorder;
use crate::engine::SimTime;

/// One update (Deployment rollout, Rollout canary or blue-green update).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct UpdateSummary {
    /// `Deployment` or `Rollout`.
    pub kind: String,
    /// `namespace/name`.
    pub object: String,
    /// `RollingUpdate`, `Recreate`, `canary` or `blueGreen`.
    pub strategy: String,
    /// Image before.
    pub from_image: String,
    /// Image of the new template.
    pub to_image: String,
    /// `InProgress`, `Completed`, `Aborted`, `Superseded` or `RolledBack`.
    pub outcome: String,
    /// Start, seconds since the start of the run.
    pub started_s: f64,
    /// Start to end (or to the end of the run when still in progress), seconds.
    pub duration_s: f64,
    /// Start to abort, seconds (`null` if not aborted).
    pub time_to_abort_s: Option<f64>,
    /// `spec.replicas`.
    pub replicas: i32,
    /// Fewest available pods during the update.
    pub min_available: i32,
    /// Most active pods during the update.
    pub peak_pods: i32,
    /// Pod-seconds above `replicas` (capacity used by the surge).
    pub extra_pod_seconds: f64,
    /// Requests (tries) the new version's pods served during the update.
    pub new_version_served: u64,
    /// 5xx answers the new version's pods served during the update, up to an abort: the blast
    /// radius.
    pub new_version_errors: u64,
}

/// What the pods of one version served over the run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct VersionSummary {
    /// Workload name.
    pub workload: String,
    /// Image.
    pub image: String,
    /// Tries served.
    pub served: u64,
    /// Of which 5xx.
    pub errors: u64,
    /// errors / served (0 when none served).
    pub error_rate: f64,
    /// 99th percentile of the try latency of its answers, seconds.
    pub latency_p99_s: f64,
}

/// The updates and versions of a run, and their scalar metrics into `m`.
pub fn rollout_summary(
    rec: &Recorder,
    end: SimTime,
    m: &mut BTreeMap<String, f64>,
) -> (Vec<UpdateSummary>, Vec<VersionSummary>) {
    let mut per_object: BTreeMap<String, usize> = BTreeMap::new();
    let mut updates = Vec::new();
    for u in &rec.updates {
        // Records still counting take the new version's answers up to the end of the run.
        let mut u = u.clone();
        u.refresh(&rec.traffic.versions);
        let u = &u;
        let n = per_object.entry(u.object.clone()).or_insert(0);
        let name = u.object.rsplit('/').next().unwrap_or(&u.object);
        let s = UpdateSummary {
            kind: u.kind.to_string(),
            object: u.object.clone(),
            strategy: u.strategy.to_string(),
            from_image: u.from_image.clone(),
            to_image: u.to_image.clone(),
            outcome: u.outcome.to_string(),
            started_s: u.started.as_secs_f64(),
            duration_s: u
                .finished
                .unwrap_or(end)
                .saturating_since(u.started)
                .as_secs_f64(),
            time_to_abort_s: u
                .aborted_at
                .map(|t| t.saturating_since(u.started).as_secs_f64()),
            replicas: u.replicas,
            min_available: u.min_available,
            peak_pods: u.peak_pods,
            extra_pod_seconds: u.extra_pod_seconds,
            new_version_served: u.new_version_served,
            new_version_errors: u.new_version_errors,
        };
        let p = |k: &str| format!("update.{name}.{n}.{k}");
        m.insert(p("duration_s"), s.duration_s);
        m.insert(p("aborted"), f64::from(u8::from(s.outcome == "Aborted")));
        m.insert(
            p("completed"),
            f64::from(u8::from(s.outcome == "Completed")),
        );
        m.insert(p("min_available"), f64::from(s.min_available));
        m.insert(p("peak_pods"), f64::from(s.peak_pods));
        m.insert(p("extra_pod_seconds"), s.extra_pod_seconds);
        m.insert(p("new_version_errors"), s.new_version_errors as f64);
        if let Some(t) = s.time_to_abort_s {
            m.insert(p("time_to_abort_s"), t);
        }
        *n += 1;
        updates.push(s);
    }
    if !rec.updates.is_empty() {
        m.insert(
            "analysis.measurements".into(),
            rec.analysis_measurements as f64,
        );
    }
    let versions: Vec<VersionSummary> = rec
        .traffic
        .versions
        .iter()
        .map(|v| {
            let s = VersionSummary {
                workload: v.workload.clone(),
                image: v.image.clone(),
                served: v.served,
                errors: v.errors,
                error_rate: if v.served == 0 {
                    0.0
                } else {
                    v.errors as f64 / v.served as f64
                },
                latency_p99_s: v.latency.quantile_secs(0.99),
            };
            let p = |k: &str| format!("version.{}.{}.{k}", v.workload, v.image);
            m.insert(p("served"), s.served as f64);
            m.insert(p("errors"), s.errors as f64);
            s
        })
        .collect();
    (updates, versions)
}
