//! Container probes in manifests: `livenessProbe`, `readinessProbe`, `startupProbe`.
//!
//! kubesim reads the probe's timing; the handler (`httpGet`, `tcpSocket`, `exec`, `grpc`) is
//! accepted but not run: whether a probe succeeds is decided by the workload's `Behavior` (see
//! [`crate::cluster::probe`]). Defaults and validation as upstream (`SetDefaults_Probe`,
//! `validateProbe`): a field left at 0 takes its default (period 10 s, timeout 1 s, success
//! threshold 1, failure threshold 3); liveness and startup probes need `successThreshold: 1`.

use crate::cluster::spec::{ContainerProbes, ProbeSpec};
use crate::engine::SimDuration;

use super::reader::{Cx, Fields, Map, R};

const PROBE: Fields = Fields {
    read: &[
        "initialDelaySeconds",
        "periodSeconds",
        "timeoutSeconds",
        "successThreshold",
        "failureThreshold",
    ],
    warn: &["terminationGracePeriodSeconds"],
    silent: &["exec", "httpGet", "tcpSocket", "grpc"],
};

/// The probes of a container mapping.
pub(crate) fn read_probes(cx: &mut Cx, c: &Map) -> R<ContainerProbes> {
    let mut out = ContainerProbes::default();
    for (key, slot) in [
        ("livenessProbe", &mut out.liveness),
        ("readinessProbe", &mut out.readiness),
        ("startupProbe", &mut out.startup),
    ] {
        let Some(v) = c.get(key) else { continue };
        let m = v.map(cx, &PROBE)?;
        let mut p = ProbeSpec::default();
        let secs = |cx: &Cx, name: &str| -> R<Option<u64>> {
            match m.get(name) {
                Some(v) => Ok(Some(v.int_in(cx, 0, i64::from(i32::MAX))?.unsigned_abs())),
                None => Ok(None),
            }
        };
        if let Some(s) = secs(cx, "initialDelaySeconds")? {
            p.initial_delay = SimDuration::from_secs(s);
        }
        if let Some(s) = secs(cx, "periodSeconds")?.filter(|s| *s > 0) {
            p.period = SimDuration::from_secs(s);
        }
        if let Some(s) = secs(cx, "timeoutSeconds")?.filter(|s| *s > 0) {
            p.timeout = SimDuration::from_secs(s);
        }
        if let Some(s) = secs(cx, "failureThreshold")?.filter(|s| *s > 0) {
            p.failure_threshold = s as u32;
        }
        if let Some(s) = secs(cx, "successThreshold")?.filter(|s| *s > 0) {
            if s != 1
                && key != "readinessProbe"
                && let Some(at) = m.get("successThreshold")
            {
                return Err(at.err(cx, "must be 1 for liveness and startup probes"));
            }
            p.success_threshold = s as u32;
        }
        *slot = Some(p);
    }
    Ok(out)
}
