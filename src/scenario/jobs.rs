//! `batch/v1` Job manifests, with upstream's defaults and validation.
//!
//! Upstream references (Kubernetes v1.32):
//! - defaults: `pkg/apis/batch/v1/defaults.go` (`SetDefaults_Job`: completions and parallelism
//!   both 1 when neither is set, parallelism 1 when unset, backoffLimit 6, completionMode
//!   NonIndexed);
//! - validation: `pkg/apis/batch/validation/validation.go` (`validateJobSpec`: parallelism,
//!   completions and backoffLimit non-negative, activeDeadlineSeconds positive, Indexed needs
//!   completions, the template's restartPolicy must be `OnFailure` or `Never`).

use crate::cluster::spec::{CompletionMode, JobSpec};

use super::manifests::{MAX_REPLICAS, Meta, read_template_with};
use super::reader::{Cx, Fields, Map, R, join};

/// The document fields of a Job.
pub(crate) const JOB_DOC: Fields = Fields {
    read: &["apiVersion", "kind", "metadata", "spec"],
    warn: &[],
    silent: &["status"],
};

const JOB_SPEC: Fields = Fields {
    read: &[
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
        "completionMode",
        "template",
    ],
    warn: &[
        "ttlSecondsAfterFinished",
        "podFailurePolicy",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
        "successPolicy",
        "suspend",
        "podReplacementPolicy",
        "managedBy",
    ],
    // The selector is generated from the Job's uid upstream; kubesim links pods by owner.
    silent: &["selector", "manualSelector"],
};

/// Most `activeDeadlineSeconds` kubesim accepts (about 31 years; larger would overflow time).
const MAX_DEADLINE_SECONDS: i64 = 1_000_000_000;

/// A `batch/v1` Job.
pub(crate) fn read_job(cx: &mut Cx, doc: &Map, meta: Meta) -> R<JobSpec> {
    let spec = doc.req(cx, "spec")?.map(cx, &JOB_SPEC)?;
    let parallelism = match spec.get("parallelism") {
        Some(v) => Some(v.int_in(cx, 0, MAX_REPLICAS)? as i32),
        None => None,
    };
    let completions = match spec.get("completions") {
        Some(v) => Some(v.int_in(cx, 0, MAX_REPLICAS)? as i32),
        // SetDefaults_Job: both unset -> both 1; only parallelism set -> completions nil.
        None if parallelism.is_none() => Some(1),
        None => None,
    };
    let backoff_limit = match spec.get("backoffLimit") {
        Some(v) => v.int_in(cx, 0, i32::MAX as i64)? as i32,
        None => 6,
    };
    let active_deadline_seconds = match spec.get("activeDeadlineSeconds") {
        Some(v) => Some(v.int_in(cx, 1, MAX_DEADLINE_SECONDS)?),
        None => None,
    };
    let completion_mode = match spec.get("completionMode") {
        Some(v) => match v.one_of(cx, &["NonIndexed", "Indexed"])? {
            "Indexed" => {
                if completions.is_none() {
                    return Err(v.err(
                        cx,
                        "when completion mode is Indexed, spec.completions is required",
                    ));
                }
                CompletionMode::Indexed
            }
            _ => CompletionMode::NonIndexed,
        },
        None => CompletionMode::NonIndexed,
    };
    let template_v = spec.req(cx, "template")?;
    // The pod default (Always) is not valid for a Job, so restartPolicy must be written.
    let spec_y = template_v.y.get("spec");
    if let Some(pod_spec) = spec_y
        && pod_spec.get("restartPolicy").is_none()
        && matches!(pod_spec.node, super::yaml::Node::Map(_))
    {
        return Err(cx.err(
            pod_spec.pos,
            &join(&join(&template_v.path, "spec"), "restartPolicy"),
            "required field is missing: a Job's pods must use restartPolicy OnFailure or Never",
        ));
    }
    let (template, _) = read_template_with(cx, &template_v, &["OnFailure", "Never"])?;
    Ok(JobSpec {
        name: meta.name,
        namespace: meta.namespace,
        parallelism: parallelism.unwrap_or(1),
        completions,
        backoff_limit,
        active_deadline_seconds,
        completion_mode,
        template,
    })
}
