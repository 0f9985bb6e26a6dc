//! Workload traces: the kubesim `Trace` document, and the readers that turn trace files into
//! the model's pull-based sources ([`PodArrivals`], [`NodeEvents`]).
//!
//! Pod tables are read lazily, one row per arrival, as the replay pulls them, so memory does
//! not grow with the trace. Node tables (one row per machine or machine event, thousands of
//! rows) are read whole when the trace is opened and sorted by time. The Alibaba importers
//! also read the task table whole (requests are per task; instances reference them), so their
//! memory grows with the number of tasks, not instances.
//!
//! Errors: a missing file, a missing column and any malformed node row are found when the
//! scenario is loaded (exit 2 before the run). A malformed pod row is found when the replay
//! reaches it: the run stops there, its outputs are written marked partial, and the CLI exits
//! 2. Every error names `file:line` and the column.
//!
//! Formats and unit conversions are documented per module: [`neutral`], [`alibaba`],
//! [`google`].

pub mod alibaba;
pub mod google;
pub mod neutral;
mod rows;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cluster::metrics::EventLevel;
use crate::cluster::spec::{Labels, NodeSpec, Resources};
use crate::cluster::trace::{
    NodeEvents, PodArrivals, TraceError, TraceNodeEvent, TraceSources, TraceSpec,
};

use super::manifests::Meta;
use super::reader::{Cx, Fields, Map, R};
use rows::Rows;

/// The formats and the files each needs (`required`, `optional`).
pub const FORMATS: &[(&str, &[&str], &[&str])] = &[
    ("neutral", &["nodes", "pods"], &[]),
    (
        "alibaba-v2017",
        &["serverEvents", "tasks", "instances"],
        &[],
    ),
    ("alibaba-v2018", &["machines", "tasks", "instances"], &[]),
    ("google-2019", &["machineEvents", "instanceEvents"], &[]),
];

const TRACE_SPEC: Fields = Fields::read(&[
    "format",
    "files",
    "namespace",
    "machine",
    "maxPods",
    "nodeMetrics",
    "events",
]);
const MACHINE: Fields = Fields::read(&["cpu", "memory"]);

/// Read a `Trace` document's spec. Files are resolved against the folder of the file the
/// document is in, and opened once to check they exist and have the columns the format needs.
pub(crate) fn read_trace(cx: &mut Cx, doc: &Map, meta: Meta) -> R<TraceSpec> {
    let spec_v = doc.req(cx, "spec")?;
    let spec = spec_v.map(cx, &TRACE_SPEC)?;
    let names: Vec<&'static str> = FORMATS.iter().map(|f| f.0).collect();
    let format = spec.req(cx, "format")?.one_of(cx, &names)?;
    let (_, required, optional) = FORMATS
        .iter()
        .find(|f| f.0 == format)
        .copied()
        .unwrap_or(FORMATS[0]);
    let files_v = spec.req(cx, "files")?;
    let base = Path::new(&cx.src.name)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut files = BTreeMap::new();
    for (key, pos, v) in files_v.pairs(cx)? {
        if !required.contains(&key.as_str()) && !optional.contains(&key.as_str()) {
            let all: Vec<&str> = required.iter().chain(optional.iter()).copied().collect();
            return Err(cx.err(
                pos,
                &format!("spec.files.{key}"),
                format!(
                    "format {format} reads no file called {key:?} (it reads: {})",
                    all.join(", ")
                ),
            ));
        }
        let rel = v.nonempty_string(cx)?;
        files.insert(key, base.join(rel));
    }
    for r in required {
        if !files.contains_key(*r) {
            return Err(files_v.err(cx, format!("format {format} needs spec.files.{r}")));
        }
    }
    let machine = match spec.get("machine") {
        Some(v) => {
            let m = v.map(cx, &MACHINE)?;
            Resources {
                cpu_milli: m.req(cx, "cpu")?.cpu_milli(cx)?,
                memory_bytes: m.req(cx, "memory")?.whole_quantity(cx)?,
                pods: 0,
            }
        }
        None => DEFAULT_MACHINE,
    };
    let max_pods = match spec.get("maxPods") {
        Some(v) => v.int_in(cx, 1, 1_000_000)?,
        None => 110,
    };
    let node_metrics = match spec.get("nodeMetrics") {
        Some(v) => v.bool(cx)?,
        None => false,
    };
    let events = match spec.get("events") {
        Some(v) => match v.one_of(cx, &["all", "warnings", "none"])? {
            "all" => EventLevel::All,
            "none" => EventLevel::None,
            _ => EventLevel::Warnings,
        },
        None => EventLevel::Warnings,
    };
    let t = TraceSpec {
        name: meta.name,
        namespace: if meta.namespace.is_empty() {
            "default".to_string()
        } else {
            meta.namespace
        },
        format: format.to_string(),
        files,
        machine,
        max_pods,
        node_metrics,
        events,
    };
    // Validate eagerly what is cheap: files exist, headers, the whole node table.
    if let Err(e) = open(&t) {
        return Err(spec_v.err(cx, format!("trace {}: {e}", t.format)));
    }
    Ok(t)
}

/// The machine normalized traces refer to when the document gives none: 64 cores, 256 GiB
/// (the benchmark's node; set `spec.machine` to the real machine size of the trace).
pub const DEFAULT_MACHINE: Resources = Resources {
    cpu_milli: 64_000,
    memory_bytes: 256 * 1024 * 1024 * 1024,
    pods: 0,
};

/// Open the sources of `spec`: node tables are read whole, pod tables lazily.
pub fn open(spec: &TraceSpec) -> Result<TraceSources, TraceError> {
    let file = |k: &str| -> &Path { spec.files.get(k).map_or(Path::new(""), PathBuf::as_path) };
    let (nodes, pods): (NodeTable, Box<dyn PodArrivals>) = match spec.format.as_str() {
        "neutral" => (
            neutral::read_nodes(file("nodes"), spec.max_pods)?,
            Box::new(neutral::NeutralPods::open(file("pods"))?),
        ),
        "alibaba-v2017" => (
            alibaba::read_servers_v2017(file("serverEvents"), spec)?,
            Box::new(alibaba::AlibabaPods::open_v2017(
                file("tasks"),
                file("instances"),
                spec,
            )?),
        ),
        "alibaba-v2018" => (
            alibaba::read_machines_v2018(file("machines"), spec)?,
            Box::new(alibaba::AlibabaPods::open_v2018(
                file("tasks"),
                file("instances"),
                spec,
            )?),
        ),
        "google-2019" => (
            google::read_machines(file("machineEvents"), spec)?,
            Box::new(google::GooglePods::open(file("instanceEvents"), spec)?),
        ),
        other => {
            return Err(TraceError {
                file: String::new(),
                line: 0,
                column: String::new(),
                message: format!("unknown trace format {other:?}"),
            });
        }
    };
    let mut nodes = nodes;
    nodes.finish();
    Ok(TraceSources {
        pods,
        nodes: Box::new(nodes),
    })
}

/// A node table read whole: events sorted by time (stable, so file order within one instant).
#[derive(Default)]
pub(crate) struct NodeTable {
    events: Vec<TraceNodeEvent>,
    next: usize,
}

/// Most node events a trace may hold (a machine table of 10^6 rows is far beyond any public
/// trace; the limit refuses absurd input before it exhausts memory).
const MAX_NODE_EVENTS: usize = 1_000_000;

impl NodeTable {
    fn push(&mut self, rows: &Rows, e: TraceNodeEvent) -> Result<(), TraceError> {
        if self.events.len() >= MAX_NODE_EVENTS {
            return Err(rows.err("", format!("more than {MAX_NODE_EVENTS} node events")));
        }
        self.events.push(e);
        Ok(())
    }

    fn finish(&mut self) {
        self.events.sort_by_key(TraceNodeEvent::at);
    }
}

impl NodeEvents for NodeTable {
    fn next_node_event(&mut self) -> Option<Result<TraceNodeEvent, TraceError>> {
        let e = self.events.get(self.next)?.clone();
        self.next += 1;
        Some(Ok(e))
    }
}

/// A trace node: allocatable as given, `kubernetes.io/hostname` set, no taints.
pub(crate) fn node_spec(
    name: &str,
    cpu_milli: i64,
    memory_bytes: i64,
    max_pods: i64,
    mut labels: Labels,
) -> NodeSpec {
    labels
        .entry("kubernetes.io/hostname".to_string())
        .or_insert_with(|| name.to_string());
    NodeSpec {
        name: name.to_string(),
        labels,
        taints: Vec::new(),
        allocatable: Resources {
            cpu_milli,
            memory_bytes,
            pods: max_pods,
        },
        unschedulable: false,
        pool: None,
        price_per_hour: 0.0,
    }
}

/// Normalized `value` (where `full` means the whole machine) of `machine` units, rounded down.
pub(crate) fn denormalize(value: f64, full: f64, machine: i64) -> i64 {
    ((value / full) * machine as f64).floor() as i64
}
