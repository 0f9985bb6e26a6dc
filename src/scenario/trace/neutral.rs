//! The neutral trace format: `nodes.csv` and `pods.csv` with a header row (columns in any
//! order; unknown columns are ignored). Documented in `docs/SCENARIO.md`.
//!
//! `nodes.csv`: `name`, `cpu` (millicores), `memory` (bytes); optional `pods` (pod capacity,
//! default the document's `maxPods`), `labels` (`key=value` pairs separated by `;`),
//! `add_time` and `remove_time` (seconds from the start; default: present from the start and
//! never removed).
//!
//! `pods.csv`, in arrival order: `id`, `arrival` (seconds), `cpu` (millicores), `memory`
//! (bytes), `duration` (seconds it runs once started); optional `priority` (integer), `group`
//! (job or owner), `cpu_usage` and `memory_usage` (read, not simulated).

use std::path::Path;

use crate::cluster::spec::Labels;
use crate::cluster::trace::{PodArrivals, TraceError, TraceNodeEvent, TracePod};

use super::rows::Rows;
use super::{NodeTable, node_spec};

/// Read `nodes.csv` whole (one row per machine) into time-ordered node events.
pub(crate) fn read_nodes(path: &Path, max_pods: i64) -> Result<NodeTable, TraceError> {
    let mut rows = Rows::open(path, None)?;
    let name = rows.require("name")?;
    let cpu = rows.require("cpu")?;
    let memory = rows.require("memory")?;
    let pods = rows.index("pods");
    let labels = rows.index("labels");
    let add = rows.index("add_time");
    let remove = rows.index("remove_time");
    let mut table = NodeTable::default();
    while rows.advance()? {
        let n = rows.string(name)?;
        let cpu_milli = rows.whole(cpu)?;
        let mem = rows.whole(memory)?;
        let max = match pods {
            Some(i) if !rows.text(i).is_empty() => rows.whole(i)?,
            _ => max_pods,
        };
        let mut l = Labels::new();
        if let Some(i) = labels {
            for pair in rows.text(i).split(';').filter(|p| !p.is_empty()) {
                let Some((k, v)) = pair.split_once('=') else {
                    return Err(rows.err("labels", format!("expected key=value, found {pair:?}")));
                };
                l.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
        let at = match add {
            Some(i) if !rows.text(i).is_empty() => rows.seconds(i)?,
            _ => crate::engine::SimTime::ZERO,
        };
        let spec = node_spec(&n, cpu_milli, mem, max, l);
        table.push(
            &rows,
            TraceNodeEvent::Add {
                at,
                node: Box::new(spec),
            },
        )?;
        if let Some(i) = remove
            && !rows.text(i).is_empty()
        {
            let until = rows.seconds(i)?;
            if until < at {
                return Err(rows.err("remove_time", "is before add_time"));
            }
            table.push(&rows, TraceNodeEvent::Remove { at: until, name: n })?;
        }
    }
    Ok(table)
}

/// `pods.csv`, read one row per arrival.
pub(crate) struct NeutralPods {
    rows: Rows,
    cols: [usize; 5],
    priority: Option<usize>,
    group: Option<usize>,
    last: crate::engine::SimTime,
}

impl NeutralPods {
    /// Open `pods.csv` and check its header.
    pub fn open(path: &Path) -> Result<NeutralPods, TraceError> {
        let rows = Rows::open(path, None)?;
        let cols = [
            rows.require("id")?,
            rows.require("arrival")?,
            rows.require("cpu")?,
            rows.require("memory")?,
            rows.require("duration")?,
        ];
        let priority = rows.index("priority");
        let group = rows.index("group");
        Ok(NeutralPods {
            rows,
            cols,
            priority,
            group,
            last: crate::engine::SimTime::ZERO,
        })
    }

    fn read(&mut self) -> Result<Option<TracePod>, TraceError> {
        let r = &mut self.rows;
        if !r.advance()? {
            return Ok(None);
        }
        let [id, arrival, cpu, memory, duration] = self.cols;
        let pod = TracePod {
            id: r.string(id)?,
            arrival: r.seconds(arrival)?,
            cpu_milli: r.whole(cpu)?,
            memory_bytes: r.whole(memory)?,
            duration: r.duration_secs(duration)?,
            priority: match self.priority {
                Some(i) if !r.text(i).is_empty() => {
                    let p = r.int(i)?;
                    i32::try_from(p).map_err(|_| r.err("priority", "out of the int32 range"))?
                }
                _ => 0,
            },
            group: self
                .group
                .map(|i| r.text(i).to_string())
                .filter(|g| !g.is_empty()),
        };
        if pod.arrival < self.last {
            return Err(r.err(
                "arrival",
                format!(
                    "arrivals must be in time order: {} s is before the previous row's {} s",
                    pod.arrival.as_nanos() as f64 / 1e9,
                    self.last.as_nanos() as f64 / 1e9
                ),
            ));
        }
        self.last = pod.arrival;
        Ok(Some(pod))
    }
}

impl PodArrivals for NeutralPods {
    fn next_pod(&mut self) -> Option<Result<TracePod, TraceError>> {
        self.read().transpose()
    }
}
