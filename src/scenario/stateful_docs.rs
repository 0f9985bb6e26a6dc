//! `apps/v1` StatefulSet and `batch/v1` CronJob manifests, and kubesim's `LeaderElection`
//! document, with upstream's defaults and validation.
//!
//! Upstream references (Kubernetes v1.32):
//! - StatefulSet defaults (`pkg/apis/apps/v1/defaults.go` `SetDefaults_StatefulSet`):
//!   podManagementPolicy OrderedReady, updateStrategy RollingUpdate with partition 0,
//!   replicas 1; validation (`pkg/apis/apps/validation/validation.go`): partition and
//!   minReadySeconds non-negative, `rollingUpdate` only with type RollingUpdate.
//! - CronJob defaults (`pkg/apis/batch/v1/defaults.go` `SetDefaults_CronJob`):
//!   concurrencyPolicy Allow, suspend false, successfulJobsHistoryLimit 3,
//!   failedJobsHistoryLimit 1; the schedule is a standard 5-field cron expression.
//! - LeaderElection timings: client-go `tools/leaderelection` defaults as used by
//!   kube-scheduler and kube-controller-manager (leaseDuration 15 s, renewDeadline 10 s,
//!   retryPeriod 2 s) and `NewLeaderElector`'s checks (leaseDuration > renewDeadline >
//!   JitterFactor x retryPeriod, all positive).

use crate::cluster::cron::CronSchedule;
use crate::cluster::stateful_spec::{
    ConcurrencyPolicy, CronJobSpec, LeaderElectionSpec, PodManagementPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use crate::engine::SimDuration;

use super::manifests::{Meta, read_workload_spec};
use super::reader::{Cx, Fields, Map, R};

/// The document fields of a StatefulSet.
pub(crate) const STATEFULSET_DOC: Fields = Fields {
    read: &["apiVersion", "kind", "metadata", "spec"],
    warn: &["status"],
    silent: &[],
};

const STATEFULSET_SPEC: Fields = Fields {
    read: &[
        "replicas",
        "selector",
        "template",
        "serviceName",
        "podManagementPolicy",
        "updateStrategy",
        "minReadySeconds",
        "volumeClaimTemplates",
    ],
    warn: &[
        "persistentVolumeClaimRetentionPolicy",
        "ordinals",
        "revisionHistoryLimit",
    ],
    silent: &[],
};

const UPDATE_STRATEGY: Fields = Fields::read(&["type", "rollingUpdate"]);
const STS_ROLLING_UPDATE: Fields = Fields {
    read: &["partition"],
    warn: &["maxUnavailable"],
    silent: &[],
};
const CLAIM_TEMPLATE: Fields = Fields {
    read: &["metadata"],
    // Size, class and access modes are not simulated: only the volume's zone is.
    warn: &["spec"],
    silent: &["apiVersion", "kind", "status"],
};
const CLAIM_META: Fields = Fields {
    read: &["name"],
    warn: &[],
    silent: &["labels", "annotations", "namespace"],
};

/// An `apps/v1` StatefulSet.
pub(crate) fn read_stateful_set(cx: &mut Cx, doc: &Map, meta: Meta) -> R<StatefulSetSpec> {
    let spec = doc.req(cx, "spec")?.map(cx, &STATEFULSET_SPEC)?;
    let common = read_workload_spec(cx, &spec)?;
    let service_name = match spec.get("serviceName") {
        Some(v) => v.string(cx)?,
        None => String::new(),
    };
    let pod_management_policy = match spec.get("podManagementPolicy") {
        Some(v) => match v.one_of(cx, &["OrderedReady", "Parallel"])? {
            "Parallel" => PodManagementPolicy::Parallel,
            _ => PodManagementPolicy::OrderedReady,
        },
        None => PodManagementPolicy::OrderedReady,
    };
    let update_strategy = match spec.get("updateStrategy") {
        Some(v) => {
            let m = v.map(cx, &UPDATE_STRATEGY)?;
            let ty = match m.get("type") {
                Some(t) => t.one_of(cx, &["RollingUpdate", "OnDelete"])?,
                None => "RollingUpdate",
            };
            match (ty, m.get("rollingUpdate")) {
                ("OnDelete", Some(r)) => {
                    return Err(r.err(
                        cx,
                        "rollingUpdate may only be set when type is RollingUpdate",
                    ));
                }
                ("OnDelete", None) => StatefulSetUpdateStrategy::OnDelete,
                (_, Some(r)) => {
                    let rm = r.map(cx, &STS_ROLLING_UPDATE)?;
                    let partition = match rm.get("partition") {
                        Some(p) => p.i32_min(cx, 0)?,
                        None => 0,
                    };
                    StatefulSetUpdateStrategy::RollingUpdate { partition }
                }
                (_, None) => StatefulSetUpdateStrategy::RollingUpdate { partition: 0 },
            }
        }
        None => StatefulSetUpdateStrategy::RollingUpdate { partition: 0 },
    };
    let mut volume_claim_templates: Vec<String> = Vec::new();
    if let Some(v) = spec.get("volumeClaimTemplates") {
        for item in v.seq(cx)? {
            let m = item.map(cx, &CLAIM_TEMPLATE)?;
            let md = m.req(cx, "metadata")?.map(cx, &CLAIM_META)?;
            let nv = md.req(cx, "name")?;
            let name = nv.nonempty_string(cx)?;
            if let Err(msg) = super::reader::check_dns_subdomain(&name) {
                return Err(nv.err(cx, format!("invalid name {name:?}: {msg}")));
            }
            if volume_claim_templates.contains(&name) {
                return Err(nv.err(cx, format!("duplicate volume claim template {name:?}")));
            }
            volume_claim_templates.push(name);
        }
    }
    Ok(StatefulSetSpec {
        name: meta.name,
        namespace: meta.namespace,
        replicas: common.replicas,
        selector: common.selector,
        template: common.template,
        service_name,
        pod_management_policy,
        update_strategy,
        min_ready_seconds: common.min_ready_seconds,
        volume_claim_templates,
    })
}

/// The document fields of a CronJob.
pub(crate) const CRONJOB_DOC: Fields = Fields {
    read: &["apiVersion", "kind", "metadata", "spec"],
    warn: &[],
    silent: &["status"],
};

const CRONJOB_SPEC: Fields = Fields {
    read: &[
        "schedule",
        "concurrencyPolicy",
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
        "suspend",
        "jobTemplate",
    ],
    // kubesim's clock is UTC.
    warn: &["timeZone"],
    silent: &[],
};

const JOB_TEMPLATE: Fields = Fields {
    read: &["spec"],
    warn: &[],
    silent: &["metadata"],
};

/// Most `startingDeadlineSeconds` kubesim accepts (about 31 years).
const MAX_DEADLINE_SECONDS: i64 = 1_000_000_000;

/// A `batch/v1` CronJob.
pub(crate) fn read_cron_job(cx: &mut Cx, doc: &Map, meta: Meta) -> R<CronJobSpec> {
    let spec = doc.req(cx, "spec")?.map(cx, &CRONJOB_SPEC)?;
    let sv = spec.req(cx, "schedule")?;
    let schedule_text = sv.nonempty_string(cx)?;
    let schedule = CronSchedule::parse(&schedule_text)
        .map_err(|e| sv.err(cx, format!("invalid schedule {schedule_text:?}: {e}")))?;
    let concurrency_policy = match spec.get("concurrencyPolicy") {
        Some(v) => match v.one_of(cx, &["Allow", "Forbid", "Replace"])? {
            "Forbid" => ConcurrencyPolicy::Forbid,
            "Replace" => ConcurrencyPolicy::Replace,
            _ => ConcurrencyPolicy::Allow,
        },
        None => ConcurrencyPolicy::Allow,
    };
    let starting_deadline_seconds = match spec.get("startingDeadlineSeconds") {
        Some(v) => Some(v.int_in(cx, 0, MAX_DEADLINE_SECONDS)?),
        None => None,
    };
    let successful_jobs_history_limit = match spec.get("successfulJobsHistoryLimit") {
        Some(v) => v.i32_min(cx, 0)?,
        None => 3,
    };
    let failed_jobs_history_limit = match spec.get("failedJobsHistoryLimit") {
        Some(v) => v.i32_min(cx, 0)?,
        None => 1,
    };
    let suspend = match spec.get("suspend") {
        Some(v) => v.bool(cx)?,
        None => false,
    };
    let jt = spec.req(cx, "jobTemplate")?.map(cx, &JOB_TEMPLATE)?;
    let job_meta = Meta {
        name: meta.name.clone(),
        name_loc: meta.name_loc.clone(),
        namespace: meta.namespace.clone(),
        labels: meta.labels.clone(),
    };
    let job_template = super::jobs::read_job(cx, &jt, job_meta)?;
    Ok(CronJobSpec {
        name: meta.name,
        namespace: meta.namespace,
        schedule_text,
        schedule,
        concurrency_policy,
        starting_deadline_seconds,
        successful_jobs_history_limit,
        failed_jobs_history_limit,
        suspend,
        job_template,
    })
}

const LEADER_ELECTION_SPEC: Fields = Fields::read(&[
    "workload",
    "leaseDuration",
    "renewDeadline",
    "retryPeriod",
    "service",
]);

/// A kubesim `LeaderElection` document (the workload is checked when the scenario is
/// assembled).
pub(crate) fn read_leader_election(
    cx: &mut Cx,
    doc: &Map,
    meta: Meta,
) -> R<(
    LeaderElectionSpec,
    super::reader::Loc,
    Option<super::kubesim_docs::Ref>,
)> {
    let spec_v = doc.req(cx, "spec")?;
    let spec = spec_v.map(cx, &LEADER_ELECTION_SPEC)?;
    let wv = spec.req(cx, "workload")?;
    let workload = wv.nonempty_string(cx)?;
    let workload_loc = wv.loc(cx);
    let service = match spec.get("service") {
        Some(v) => Some(super::kubesim_docs::read_ref(cx, &v)?),
        None => None,
    };
    let get = |cx: &Cx, key: &str, default: u64| -> R<SimDuration> {
        match spec.get(key) {
            Some(v) => v.positive_duration(cx),
            None => Ok(SimDuration::from_secs(default)),
        }
    };
    let lease_duration = get(cx, "leaseDuration", 15)?;
    let renew_deadline = get(cx, "renewDeadline", 10)?;
    let retry_period = get(cx, "retryPeriod", 2)?;
    // client-go NewLeaderElector.
    if lease_duration <= renew_deadline {
        let v = spec.get("leaseDuration").unwrap_or(spec_v.clone());
        return Err(v.err(cx, "leaseDuration must be greater than renewDeadline"));
    }
    let jittered = retry_period.as_secs_f64() * crate::cluster::leader_election::JITTER_FACTOR;
    if renew_deadline.as_secs_f64() <= jittered {
        let v = spec.get("renewDeadline").unwrap_or(spec_v.clone());
        return Err(v.err(
            cx,
            format!("renewDeadline must be greater than retryPeriod*JitterFactor ({jittered} s)"),
        ));
    }
    Ok((
        LeaderElectionSpec {
            name: meta.name,
            namespace: meta.namespace,
            workload,
            lease_duration,
            renew_deadline,
            retry_period,
            service: None,
        },
        workload_loc,
        service,
    ))
}
