//! The failure part of a `Behavior` document: `spec.failures` and the same fields per image in
//! `spec.versions[]` (crashes, hangs, never-ready versions, memory leaks, batch run times).

use crate::cluster::spec::HealthSpec;

use super::duration::parse_rate_per_second;
use super::kubesim_docs::read_distribution;
use super::quantity::parse_quantity;
use super::reader::{Cx, Fields, Map, R, Val};
use super::yaml::Node;

/// Keys of `spec.failures` (and, besides serving keys, of each `spec.versions[]` entry).
pub(crate) const HEALTH_KEYS: &[&str] = &[
    "crashOnStart",
    "meanTimeBetweenCrashes",
    "meanTimeToHang",
    "neverReady",
    "memoryLeak",
    "runTime",
];
const FAILURES: Fields = Fields::read(HEALTH_KEYS);
/// Every key a `spec.versions[]` entry may have (serving and failures).
const VERSION_ALL: Fields = Fields::read(&[
    "image",
    "serviceTime",
    "concurrency",
    "queueLimit",
    "cpuPerRequest",
    "errorRate",
    "sidecar",
    "ambassador",
    "metricsAdapter",
    "crashOnStart",
    "meanTimeBetweenCrashes",
    "meanTimeToHang",
    "neverReady",
    "memoryLeak",
    "runTime",
]);
const MEMORY_LEAK: Fields = Fields::read(&["rate", "initial"]);

fn read_fields(cx: &mut Cx, m: &Map, mut h: HealthSpec) -> R<HealthSpec> {
    if let Some(v) = m.get("crashOnStart") {
        h.crash_on_start = v.bool(cx)?;
    }
    if let Some(v) = m.get("meanTimeBetweenCrashes") {
        h.mean_time_between_crashes = Some(v.positive_duration(cx)?);
    }
    if let Some(v) = m.get("meanTimeToHang") {
        h.mean_time_to_hang = Some(v.positive_duration(cx)?);
    }
    if let Some(v) = m.get("neverReady") {
        h.never_ready = v.bool(cx)?;
    }
    if let Some(v) = m.get("memoryLeak") {
        let l = v.map(cx, &MEMORY_LEAK)?;
        let rv = l.req(cx, "rate")?;
        h.memory_leak_per_sec = read_bytes_rate(cx, &rv)?;
        if let Some(iv) = l.get("initial") {
            h.memory_initial = iv.whole_quantity(cx)?;
        }
    }
    if let Some(v) = m.get("runTime") {
        h.run_time = Some(read_distribution(cx, &v)?);
    }
    Ok(h)
}

/// A memory growth rate `<quantity>/<unit>` (`10Mi/m`, `10Mi/min`, `1Gi/h`, `512Ki/s`) in
/// bytes per second.
fn read_bytes_rate(cx: &Cx, v: &Val) -> R<f64> {
    let Node::String(s) = v.node() else {
        return Err(v.expected(cx, "a memory rate such as 10Mi/min"));
    };
    let Some((q, per)) = s.split_once('/') else {
        return Err(v.err(cx, "expected <quantity>/<time unit>, such as 10Mi/min"));
    };
    let bytes = parse_quantity(q)
        .map_err(|e| v.err(cx, e.to_string()))?
        .value()
        .map_err(|e| v.err(cx, e.to_string()))?;
    if bytes < 0 {
        return Err(v.err(cx, "must be greater than or equal to 0"));
    }
    let per = if per == "min" { "m" } else { per };
    let per_sec =
        parse_rate_per_second(&format!("1/{per}")).map_err(|e| v.err(cx, e.to_string()))?;
    Ok(bytes as f64 * per_sec)
}

/// `spec.failures` of a Behavior.
pub(crate) fn read_failures(cx: &mut Cx, v: &Val) -> R<HealthSpec> {
    let m = v.map(cx, &FAILURES)?;
    read_fields(cx, &m, HealthSpec::default())
}

/// The failure fields of `spec.versions[]`, per image; fields not given inherit from `base`.
/// (The serving fields of the same entries are read by the traffic reader.)
pub(crate) fn read_version_health(
    cx: &mut Cx,
    v: &Val,
    base: &HealthSpec,
) -> R<Vec<(String, HealthSpec)>> {
    let mut out = Vec::new();
    for item in v.seq(cx)? {
        let m = item.map(cx, &VERSION_ALL)?;
        let image = m.req(cx, "image")?.nonempty_string(cx)?;
        let h = read_fields(cx, &m, base.clone())?;
        out.push((image, h));
    }
    Ok(out)
}
