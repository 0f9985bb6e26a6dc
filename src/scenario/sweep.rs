//! Sweep files: a `kind: Sweep` kubesim document naming a base scenario, the parameters to vary
//! (by path into the scenario's documents), the points to run, replications and metrics.
//!
//! ```yaml
//! apiVersion: kubesim.dev/v1alpha1
//! kind: Sweep
//! metadata: {name: capacity}
//! spec:
//!   scenario: ../quickstart.yaml        # relative to this file
//!   seed: 7                              # master seed of the sweep
//!   replications: 3
//!   set: {Scenario/quickstart:spec.duration: 6m}
//!   parameters:                          # a grid: every combination, first parameter outermost
//!     NodePool/general:spec.count: [2, 3, 4]
//!     Deployment/shop:spec.template.spec.containers[0].resources.requests.cpu: ["500m", "1"]
//!   metrics: [pods.end.unscheduled, pod_startup_seconds.p99, cost.total]
//! ```
//!
//! A parameter path is `Kind/name:field.path`: the document of that kind and `metadata.name`
//! in the base scenario, then a field path in it (`.` between keys, `[i]` for list items), as
//! [`Yaml::set_path`] takes it. Values are a list, `{linear: {from, to, steps}}` or
//! `{log: {from, to, steps, integer}}`. Instead of `parameters`, `points` lists explicit points
//! (`- {path: value, ...}`). The schema is documented in `docs/SWEEP.md`.
//!
//! The sweep's values are applied to the scenario's YAML trees before typed conversion, so a
//! bad value is reported like any scenario error, at the place it replaces, with the sweep point
//! named.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cluster::spec::ClusterSpec;

use super::error::{ScenarioError, Warning, suggest};
use super::limits::SizeLimits;
use super::load::{SourceFile, build_with_limits, parse_source, read_sources};
use super::reader::{Cx, Fields, Loc, R, Src, Val};
use super::yaml::{Node, Pos, Yaml};

/// Most runs (points x replications) one sweep may have.
pub const MAX_RUNS: u64 = 1_000_000;

/// Most values one `linear` or `log` range may produce.
const MAX_STEPS: i64 = 100_000;

const SWEEP_DOC: Fields = Fields::read(&["apiVersion", "kind", "metadata", "spec"]);
const SWEEP_META: Fields = Fields {
    read: &["name"],
    warn: &[],
    silent: &["labels", "annotations"],
};
const SWEEP_SPEC: Fields = Fields::read(&[
    "scenario",
    "seed",
    "replications",
    "set",
    "parameters",
    "points",
    "metrics",
]);
/// Parameter targets and each point's values (`None`: the base value).
type Design = (Vec<Target>, Vec<Vec<Option<Node>>>);

const RANGE_KINDS: Fields = Fields::read(&["linear", "log"]);
const LINEAR: Fields = Fields::read(&["from", "to", "steps"]);
const LOG: Fields = Fields::read(&["from", "to", "steps", "integer"]);

/// Where a parameter writes: a document (`kind`, `metadata.name`) and a field path in it.
#[derive(Clone, Debug)]
struct Target {
    /// `Kind/name:field.path` as written.
    text: String,
    kind: String,
    name: String,
    field: String,
    /// Where the parameter was written in the sweep file.
    loc: Loc,
}

/// A loaded sweep: the base scenario's parsed files and every point to run.
#[derive(Clone, Debug)]
pub struct SweepSpec {
    /// `metadata.name` of the Sweep document.
    pub name: String,
    /// The sweep file as given.
    pub file: PathBuf,
    /// The base scenario (file or folder), resolved against the sweep file's folder.
    pub scenario: PathBuf,
    /// Master seed: each run's seed is derived from (seed, point, replication).
    pub seed: u64,
    /// Runs per point (at least 1).
    pub replications: u32,
    /// Parameter names (`Kind/name:field.path`), in the order of the result columns.
    pub parameters: Vec<String>,
    /// Each point's value per parameter, as CSV text (`None`: the base scenario's value).
    pub points: Vec<Vec<Option<String>>>,
    /// `summary.json` metric keys to collect, in column order.
    pub metrics: Vec<String>,
    /// FNV-1a 64 (hex) of the sweep file's text and the scenario files' texts: a resumed or
    /// merged sweep must have the same fingerprint.
    pub fingerprint: String,
    /// Size limits every point's scenario is checked against (default: [`SizeLimits`]'s
    /// defaults; `kubesim sweep --max-pods N --max-nodes N` changes them). Not part of the
    /// fingerprint: a sweep resumed with other limits is the same sweep.
    pub limits: SizeLimits,
    /// Values per point, as YAML nodes (same shape as `points`).
    values: Vec<Vec<Option<Node>>>,
    targets: Vec<Target>,
    /// `set:` overrides applied to every point first.
    set: Vec<(Target, Node)>,
    base: Vec<SourceFile>,
}

/// The text of a parameter value as written in `results.csv`: integers and strings as they
/// are, decimals in Rust's shortest round-trip form, booleans `true`/`false`.
pub fn value_text(node: &Node) -> String {
    match node {
        Node::Null => String::new(),
        Node::Bool(b) => b.to_string(),
        Node::Int(i) => i.to_string(),
        Node::Float(f) => f.to_string(),
        Node::String(s) => s.clone(),
        Node::Seq(_) | Node::Map(_) => node.describe(),
    }
}

fn fnv(h: u64, bytes: &[u8]) -> u64 {
    let mut h = h;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Load a sweep file and the scenario it names, checking every parameter path against the
/// scenario's documents.
pub fn load_sweep(path: &Path) -> Result<SweepSpec, ScenarioError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ScenarioError::file_level(&shown, format!("cannot read: {e}")))?;
    let file = parse_source(&shown, &text)?;
    let docs: Vec<&Yaml> = file
        .documents
        .iter()
        .filter(|d| !matches!(d.node, Node::Null))
        .collect();
    let src = Src {
        name: shown.clone(),
        text: Arc::clone(&file.text),
    };
    let mut warnings = Vec::new();
    let mut cx = Cx {
        src: &src,
        label: "Sweep".to_string(),
        warnings: &mut warnings,
    };
    let [doc] = docs.as_slice() else {
        return Err(ScenarioError::file_level(
            &shown,
            format!(
                "a sweep file holds exactly one document (kind: Sweep), found {}",
                docs.len()
            ),
        ));
    };
    let root = Val {
        y: doc,
        path: String::new(),
    };
    let m = root.map(&mut cx, &SWEEP_DOC)?;
    let api = m.req(&cx, "apiVersion")?;
    if api.string(&cx)? != "kubesim.dev/v1alpha1" {
        return Err(api.err(&cx, "expected apiVersion \"kubesim.dev/v1alpha1\""));
    }
    let kind = m.req(&cx, "kind")?;
    let k = kind.string(&cx)?;
    if k != "Sweep" {
        return Err(kind
            .err(&cx, format!("expected kind \"Sweep\", found {k:?}"))
            .with_suggestion(suggest(&k, ["Sweep"])));
    }
    let meta = m.req(&cx, "metadata")?.map(&mut cx, &SWEEP_META)?;
    let name = meta.req(&cx, "name")?.nonempty_string(&cx)?;
    cx.label = format!("Sweep/{name}");
    let spec = m.req(&cx, "spec")?.map(&mut cx, &SWEEP_SPEC)?;

    let scenario_v = spec.req(&cx, "scenario")?;
    let scenario_rel = scenario_v.nonempty_string(&cx)?;
    let scenario = match path.parent() {
        Some(dir) => dir.join(&scenario_rel),
        None => PathBuf::from(&scenario_rel),
    };
    let (base, _) = read_sources(&scenario).map_err(|e| {
        if e.line == 0 {
            scenario_v.err(
                &cx,
                format!("scenario {}: {}", scenario.display(), e.message),
            )
        } else {
            e
        }
    })?;
    let mut h = fnv(0xcbf2_9ce4_8422_2325, text.as_bytes());
    for f in &base {
        h = fnv(h, &[0]);
        h = fnv(h, f.text.as_bytes());
    }

    let seed = match spec.get("seed") {
        Some(v) => {
            let s = v.int(&cx)?;
            u64::try_from(s).map_err(|_| {
                v.err(
                    &cx,
                    format!("must be an integer from 0 to {}, found {s}", u64::MAX),
                )
            })?
        }
        None => 0,
    };
    let replications = match spec.get("replications") {
        Some(v) => u32::try_from(v.int_in(&cx, 1, i64::from(u32::MAX))?).unwrap_or(1),
        None => 1,
    };

    let mut set = Vec::new();
    if let Some(v) = spec.get("set") {
        for (key, pos, val) in v.pairs(&cx)? {
            let t = target(&cx, &base, &key, pos, &val.path)?;
            set.push((t, val.y.node.clone()));
        }
    }

    let (targets, values) = match (spec.get("parameters"), spec.get("points")) {
        (Some(p), Some(_)) => {
            return Err(p.err(
                &cx,
                "give either parameters (a grid) or points (explicit points), not both",
            ));
        }
        (Some(p), None) => grid(&cx, &base, &p)?,
        (None, Some(p)) => explicit_points(&cx, &base, &p)?,
        (None, None) => (Vec::new(), vec![Vec::new()]),
    };
    let runs = (values.len() as u64).saturating_mul(u64::from(replications));
    if runs > MAX_RUNS {
        return Err(cx.err(
            spec.pos,
            "spec",
            format!("the sweep has {runs} runs (points x replications); at most {MAX_RUNS} are supported"),
        ));
    }

    let metrics_v = spec.req(&cx, "metrics")?;
    let mut metrics: Vec<String> = Vec::new();
    for v in metrics_v.seq(&cx)? {
        let s = v.nonempty_string(&cx)?;
        if metrics.contains(&s) {
            return Err(v.err(&cx, format!("metric {s:?} is listed twice")));
        }
        metrics.push(s);
    }
    if metrics.is_empty() {
        return Err(metrics_v.err(
            &cx,
            "list at least one metric (a key of summary.json `metrics`)",
        ));
    }

    let sweep = SweepSpec {
        name,
        file: path.to_path_buf(),
        scenario,
        seed,
        replications,
        parameters: targets.iter().map(|t| t.text.clone()).collect(),
        points: values
            .iter()
            .map(|p| p.iter().map(|v| v.as_ref().map(value_text)).collect())
            .collect(),
        metrics,
        fingerprint: format!("{h:016x}"),
        limits: SizeLimits::default(),
        values,
        targets,
        set,
        base,
    };
    // Check every path once against the base documents (values are checked per point by build).
    let mut probe = sweep.base.clone();
    for (t, node) in &sweep.set {
        apply(&mut probe, t, node.clone())?;
    }
    for t in &sweep.targets {
        apply(&mut probe, t, Node::Null)?;
    }
    Ok(sweep)
}

/// Parse `Kind/name:field.path`, checking the document exists.
fn target(cx: &Cx, base: &[SourceFile], key: &str, pos: Pos, path: &str) -> R<Target> {
    let loc = cx.loc(pos, path);
    let Some((doc, field)) = key.split_once(':') else {
        return Err(loc.err(format!(
            "invalid parameter {key:?}: expected Kind/name:field.path, e.g. NodePool/general:spec.count"
        )));
    };
    let Some((kind, name)) = doc.split_once('/') else {
        return Err(loc.err(format!(
            "invalid parameter {key:?}: expected Kind/name before ':', e.g. NodePool/general"
        )));
    };
    let exists = base
        .iter()
        .any(|f| f.documents.iter().any(|d| doc_is(d, kind, name)));
    if !exists {
        let all: Vec<String> = base
            .iter()
            .flat_map(|f| f.documents.iter())
            .filter_map(|d| {
                let k = d.get("kind")?.as_str()?;
                let n = d.get("metadata")?.get("name")?.as_str()?;
                Some(format!("{k}/{n}"))
            })
            .collect();
        return Err(loc
            .err(format!("the scenario has no document {doc}"))
            .with_suggestion(suggest(doc, all.iter().map(String::as_str))));
    }
    if field.is_empty() {
        return Err(loc.err(format!(
            "invalid parameter {key:?}: no field path after ':'"
        )));
    }
    Ok(Target {
        text: key.to_string(),
        kind: kind.to_string(),
        name: name.to_string(),
        field: field.to_string(),
        loc,
    })
}

fn doc_is(d: &Yaml, kind: &str, name: &str) -> bool {
    d.get("kind").and_then(Yaml::as_str) == Some(kind)
        && d.get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Yaml::as_str)
            == Some(name)
}

/// Set `node` at `t` in `files`; a path error is located at the parameter in the sweep file.
fn apply(files: &mut [SourceFile], t: &Target, node: Node) -> R<()> {
    for f in files.iter_mut() {
        if let Some(doc) = f.document_mut(&t.kind, &t.name) {
            return doc
                .set_path(&t.field, node)
                .map_err(|e| t.loc.err(format!("cannot set {}: {e}", t.field)));
        }
    }
    Err(t.loc.err(format!(
        "the scenario has no document {}/{}",
        t.kind, t.name
    )))
}

/// `parameters:` — a grid, first parameter outermost.
fn grid(cx: &Cx, base: &[SourceFile], v: &Val) -> R<Design> {
    let mut targets = Vec::new();
    let mut axes: Vec<Vec<Node>> = Vec::new();
    for (key, pos, val) in v.pairs(cx)? {
        targets.push(target(cx, base, &key, pos, &val.path)?);
        axes.push(values_of(cx, &val)?);
    }
    let mut points: Vec<Vec<Option<Node>>> = vec![Vec::new()];
    for axis in &axes {
        let total = (points.len() as u64).saturating_mul(axis.len() as u64);
        if total > MAX_RUNS {
            return Err(v.err(cx, format!("the grid has more than {MAX_RUNS} points")));
        }
        let mut next = Vec::with_capacity(total as usize);
        for p in &points {
            for x in axis {
                let mut q = p.clone();
                q.push(Some(x.clone()));
                next.push(q);
            }
        }
        points = next;
    }
    Ok((targets, points))
}

/// `points:` — explicit points; a parameter a point does not name keeps the base value.
fn explicit_points(cx: &Cx, base: &[SourceFile], v: &Val) -> R<Design> {
    let mut targets: Vec<Target> = Vec::new();
    let mut rows: Vec<Vec<(usize, Node)>> = Vec::new();
    let items = v.seq(cx)?;
    if items.is_empty() {
        return Err(v.err(cx, "list at least one point"));
    }
    for item in items {
        let mut row = Vec::new();
        for (key, pos, val) in item.pairs(cx)? {
            let i = match targets.iter().position(|t| t.text == key) {
                Some(i) => i,
                None => {
                    targets.push(target(cx, base, &key, pos, &val.path)?);
                    targets.len() - 1
                }
            };
            if matches!(val.node(), Node::Seq(_) | Node::Map(_)) {
                return Err(val.expected(cx, "a single value (a number or a string)"));
            }
            row.push((i, val.node().clone()));
        }
        rows.push(row);
    }
    let points = rows
        .into_iter()
        .map(|row| {
            let mut p = vec![None; targets.len()];
            for (i, n) in row {
                if let Some(slot) = p.get_mut(i) {
                    *slot = Some(n);
                }
            }
            p
        })
        .collect();
    Ok((targets, points))
}

/// A parameter's values: a list, `{linear: ...}` or `{log: ...}`.
fn values_of(cx: &Cx, v: &Val) -> R<Vec<Node>> {
    match v.node() {
        Node::Seq(_) => {
            let items = v.seq(cx)?;
            if items.is_empty() {
                return Err(v.err(cx, "list at least one value"));
            }
            items
                .iter()
                .map(|i| match i.node() {
                    Node::Seq(_) | Node::Map(_) | Node::Null => {
                        Err(i.expected(cx, "a single value (a number or a string)"))
                    }
                    n => Ok(n.clone()),
                })
                .collect()
        }
        Node::Map(_) => {
            let mut scratch = Vec::new();
            let mut cx2 = Cx {
                src: cx.src,
                label: cx.label.clone(),
                warnings: &mut scratch,
            };
            let m = v.map(&mut cx2, &RANGE_KINDS)?;
            match (m.get("linear"), m.get("log")) {
                (Some(l), None) => {
                    let r = l.map(&mut cx2, &LINEAR)?;
                    let (from, to, steps) = range_bounds(&cx2, &r)?;
                    let ints = matches!(r.req(&cx2, "from")?.node(), Node::Int(_))
                        && matches!(r.req(&cx2, "to")?.node(), Node::Int(_));
                    Ok(linear(from, to, steps, ints))
                }
                (None, Some(l)) => {
                    let r = l.map(&mut cx2, &LOG)?;
                    let (from, to, steps) = range_bounds(&cx2, &r)?;
                    if from <= 0.0 || to <= 0.0 {
                        return Err(l.err(&cx2, "a log range needs from > 0 and to > 0"));
                    }
                    let integer = match r.get("integer") {
                        Some(b) => b.bool(&cx2)?,
                        None => false,
                    };
                    Ok(log_range(from, to, steps, integer))
                }
                _ => Err(v.err(
                    &cx2,
                    "expected a list of values, {linear: {from, to, steps}} or {log: {from, to, steps}}",
                )),
            }
        }
        _ => Err(v.expected(
            cx,
            "a list of values, {linear: {from, to, steps}} or {log: {from, to, steps}}",
        )),
    }
}

fn range_bounds(cx: &Cx, r: &super::reader::Map) -> R<(f64, f64, usize)> {
    let from = r.req(cx, "from")?.number(cx)?;
    let to = r.req(cx, "to")?.number(cx)?;
    let steps = r.req(cx, "steps")?.int_in(cx, 1, MAX_STEPS)?;
    Ok((from, to, usize::try_from(steps).unwrap_or(1)))
}

/// `steps` evenly spaced values from `from` to `to` inclusive. With integer ends and integral
/// values the values are integers.
pub fn linear(from: f64, to: f64, steps: usize, ints: bool) -> Vec<Node> {
    let xs: Vec<f64> = if steps == 1 {
        vec![from]
    } else {
        let n = (steps - 1) as f64;
        (0..steps)
            .map(|i| from + (to - from) * (i as f64) / n)
            .collect()
    };
    let all_integral = xs.iter().all(|x| x.fract() == 0.0 && x.abs() < 9.0e15);
    xs.into_iter()
        .map(|x| {
            if ints && all_integral {
                Node::Int(x as i128)
            } else {
                Node::Float(x)
            }
        })
        .collect()
}

/// `steps` values from `from` to `to` evenly spaced in logarithm, each rounded to 6 significant
/// digits (so the values do not depend on the last bit of the platform's `powf`). With
/// `integer`, values are rounded to the nearest integer and repeats removed.
pub fn log_range(from: f64, to: f64, steps: usize, integer: bool) -> Vec<Node> {
    let mut out: Vec<Node> = Vec::new();
    for i in 0..steps {
        let x = if steps == 1 || i == 0 {
            from
        } else if i + 1 == steps {
            to
        } else {
            from * (to / from).powf(i as f64 / (steps - 1) as f64)
        };
        let x: f64 = format!("{x:.5e}").parse().unwrap_or(x);
        let node = if integer {
            Node::Int(x.round() as i128)
        } else {
            Node::Float(x)
        };
        if integer && out.last() == Some(&node) {
            continue;
        }
        out.push(node);
    }
    out
}

impl SweepSpec {
    /// Number of points.
    pub fn point_count(&self) -> usize {
        self.values.len()
    }

    /// The cluster spec of point `point` (0-based): the base scenario with the `set` overrides
    /// and the point's values applied. An invalid value is the scenario loader's located error,
    /// with the point named.
    pub fn point_spec(&self, point: usize) -> Result<(ClusterSpec, Vec<Warning>), ScenarioError> {
        let mut files = self.base.clone();
        for (t, node) in &self.set {
            apply(&mut files, t, node.clone())?;
        }
        let Some(values) = self.values.get(point) else {
            return Err(ScenarioError::file_level(
                &self.file.display().to_string(),
                format!("no point {point}"),
            ));
        };
        for (t, v) in self.targets.iter().zip(values) {
            if let Some(node) = v {
                apply(&mut files, t, node.clone())?;
            }
        }
        build_with_limits(&files, &self.limits).map_err(|mut e| {
            let desc: Vec<String> = self
                .parameters
                .iter()
                .zip(self.points.get(point).into_iter().flatten())
                .filter_map(|(p, v)| v.as_ref().map(|v| format!("{p}={v}")))
                .collect();
            e.message = format!("{} (sweep point {point}: {})", e.message, desc.join(", "));
            e
        })
    }
}

#[cfg(test)]
#[path = "tests/sweep_tests.rs"]
mod tests;
