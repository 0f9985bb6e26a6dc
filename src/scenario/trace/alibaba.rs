//! Alibaba cluster-trace v2017 and v2018 (github.com/alibaba/clusterdata): the machine table,
//! the batch task table and the batch instance table, per the published schemas
//! (`cluster-trace-v2017/schema.csv`, `cluster-trace-v2018/schema.md`). The files have no
//! header; columns are taken by position as the schemas list them.
//!
//! Each batch *instance* becomes a trace pod: it arrives at its `start_time` (the traces record
//! no submission time), runs for `end_time - start_time`, requests its task's `plan_cpu` /
//! `plan_mem`, and belongs to the group `job`. Only instances with status `Terminated` or
//! `Failed` and `end_time > start_time` are replayed (others did not run to an end inside the
//! trace window). The instance file must be sorted by start time (`sort -t, -k1,1n` for v2017,
//! `sort -t, -k6,6n` for v2018); a row out of order is an error naming its line. Times are
//! seconds from the trace's start, used as they are.
//!
//! Units (the schemas' normalizations, to the document's `machine`):
//! - v2017: `plan_cpu` is CPUs per instance -> x 1000 millicores; `plan_mem` is memory
//!   normalized to [0, 1] -> x `machine.memory` bytes. `server_event.csv` gives each machine's
//!   CPUs (x 1000 millicores) and normalized memory ([0, 1] x `machine.memory`); `add` events
//!   register a machine, `remove` and `harderror` events delete it.
//! - v2018: `plan_cpu` is "100 is 1 core" -> x 10 millicores; `plan_mem` is normalized to
//!   [0, 100] -> / 100 x `machine.memory`. `machine_meta.csv` gives `cpu_num` (x 1000
//!   millicores) and `mem_size` ([0, 100] -> / 100 x `machine.memory`); each machine is
//!   registered at time 0 with its first row's capacity (later status rows are ignored).

use std::collections::BTreeMap;
use std::path::Path;

use crate::cluster::spec::Labels;
use crate::cluster::trace::{PodArrivals, TraceError, TraceNodeEvent, TracePod, TraceSpec};
use crate::engine::SimTime;

use super::rows::Rows;
use super::{NodeTable, denormalize, node_spec};

const V2017_SERVER: &[&str] = &[
    "timestamp",
    "machine_id",
    "event_type",
    "event_detail",
    "cpus",
    "memory",
    "disk",
];
const V2017_TASK: &[&str] = &[
    "create_timestamp",
    "end_timestamp",
    "job_id",
    "task_id",
    "instances",
    "status",
    "plan_cpu",
    "plan_mem",
];
const V2017_INSTANCE: &[&str] = &[
    "start_timestamp",
    "end_timestamp",
    "job_id",
    "task_id",
    "machine_id",
    "status",
    "seq_no",
    "total_seq_no",
    "cpu_max",
    "cpu_avg",
    "mem_max",
    "mem_avg",
];
const V2018_MACHINE: &[&str] = &[
    "machine_id",
    "time_stamp",
    "failure_domain_1",
    "failure_domain_2",
    "cpu_num",
    "mem_size",
    "status",
];
const V2018_TASK: &[&str] = &[
    "task_name",
    "instance_num",
    "job_name",
    "task_type",
    "status",
    "start_time",
    "end_time",
    "plan_cpu",
    "plan_mem",
];
const V2018_INSTANCE: &[&str] = &[
    "instance_name",
    "task_name",
    "job_name",
    "task_type",
    "status",
    "start_time",
    "end_time",
    "machine_id",
    "seq_no",
    "total_seq_no",
    "cpu_avg",
    "cpu_max",
    "mem_avg",
    "mem_max",
];

/// Column index of `name` in a schema (the schemas above are the source of truth).
fn col(schema: &[&str], name: &str) -> usize {
    schema.iter().position(|c| *c == name).unwrap_or(0)
}

/// v2017 `server_event.csv` -> node events.
pub(crate) fn read_servers_v2017(path: &Path, spec: &TraceSpec) -> Result<NodeTable, TraceError> {
    let s = V2017_SERVER;
    let mut rows = Rows::open(path, Some(s))?;
    let mut table = NodeTable::default();
    while rows.advance()? {
        let at = rows.seconds(col(s, "timestamp"))?;
        let id = rows.string(col(s, "machine_id"))?;
        let name = format!("m-{id}");
        match rows.text(col(s, "event_type")) {
            "add" => {
                let cpus = rows.non_negative(col(s, "cpus"))?;
                let mem = rows.non_negative(col(s, "memory"))?;
                let node = node_spec(
                    &name,
                    (cpus * 1000.0).round() as i64,
                    denormalize(mem, 1.0, spec.machine.memory_bytes),
                    spec.max_pods,
                    Labels::new(),
                );
                table.push(
                    &rows,
                    TraceNodeEvent::Add {
                        at,
                        node: Box::new(node),
                    },
                )?;
            }
            "remove" | "harderror" => table.push(&rows, TraceNodeEvent::Remove { at, name })?,
            "softerror" => {}
            other => {
                return Err(rows.err(
                    "event_type",
                    format!("expected add, softerror, harderror or remove, found {other:?}"),
                ));
            }
        }
    }
    Ok(table)
}

/// v2018 `machine_meta.csv` -> one node per machine, registered at time 0.
pub(crate) fn read_machines_v2018(path: &Path, spec: &TraceSpec) -> Result<NodeTable, TraceError> {
    let s = V2018_MACHINE;
    let mut rows = Rows::open(path, Some(s))?;
    let mut table = NodeTable::default();
    let mut seen: BTreeMap<String, ()> = BTreeMap::new();
    while rows.advance()? {
        let id = rows.string(col(s, "machine_id"))?;
        let cpus = rows.non_negative(col(s, "cpu_num"))?;
        let mem = rows.non_negative(col(s, "mem_size"))?;
        if seen.insert(id.clone(), ()).is_some() {
            continue;
        }
        let node = node_spec(
            &id,
            (cpus * 1000.0).round() as i64,
            denormalize(mem, 100.0, spec.machine.memory_bytes),
            spec.max_pods,
            Labels::new(),
        );
        table.push(
            &rows,
            TraceNodeEvent::Add {
                at: SimTime::ZERO,
                node: Box::new(node),
            },
        )?;
    }
    Ok(table)
}

/// Which version's columns and units.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    V2017,
    V2018,
}

/// Batch instances of either version, read one row per arrival.
pub(crate) struct AlibabaPods {
    version: Version,
    rows: Rows,
    /// (job, task) -> (millicores, bytes) per instance.
    tasks: BTreeMap<(String, String), (i64, i64)>,
    last: SimTime,
}

/// Most tasks a task table may hold (about 14 M in the full v2018 trace).
const MAX_TASKS: usize = 50_000_000;

impl AlibabaPods {
    /// v2017 `batch_task.csv` (read whole) and `batch_instance.csv` (lazily).
    pub fn open_v2017(
        tasks: &Path,
        instances: &Path,
        spec: &TraceSpec,
    ) -> Result<Self, TraceError> {
        let s = V2017_TASK;
        let mut rows = Rows::open(tasks, Some(s))?;
        let mut map = BTreeMap::new();
        while rows.advance()? {
            let key = (
                rows.string(col(s, "job_id"))?,
                rows.string(col(s, "task_id"))?,
            );
            let cpu = rows.non_negative(col(s, "plan_cpu"))?;
            let mem = rows.non_negative(col(s, "plan_mem"))?;
            if map.len() >= MAX_TASKS {
                return Err(rows.err("", format!("more than {MAX_TASKS} tasks")));
            }
            map.insert(
                key,
                (
                    (cpu * 1000.0).round() as i64,
                    denormalize(mem, 1.0, spec.machine.memory_bytes),
                ),
            );
        }
        Ok(AlibabaPods {
            version: Version::V2017,
            rows: Rows::open(instances, Some(V2017_INSTANCE))?,
            tasks: map,
            last: SimTime::ZERO,
        })
    }

    /// v2018 `batch_task.csv` (read whole) and `batch_instance.csv` (lazily).
    pub fn open_v2018(
        tasks: &Path,
        instances: &Path,
        spec: &TraceSpec,
    ) -> Result<Self, TraceError> {
        let s = V2018_TASK;
        let mut rows = Rows::open(tasks, Some(s))?;
        let mut map = BTreeMap::new();
        while rows.advance()? {
            let key = (
                rows.string(col(s, "job_name"))?,
                rows.string(col(s, "task_name"))?,
            );
            let cpu = rows.non_negative(col(s, "plan_cpu"))?;
            let mem = rows.non_negative(col(s, "plan_mem"))?;
            if map.len() >= MAX_TASKS {
                return Err(rows.err("", format!("more than {MAX_TASKS} tasks")));
            }
            map.insert(
                key,
                (
                    (cpu * 10.0).round() as i64,
                    denormalize(mem, 100.0, spec.machine.memory_bytes),
                ),
            );
        }
        Ok(AlibabaPods {
            version: Version::V2018,
            rows: Rows::open(instances, Some(V2018_INSTANCE))?,
            tasks: map,
            last: SimTime::ZERO,
        })
    }

    fn read(&mut self) -> Result<Option<TracePod>, TraceError> {
        let (s, start_c, end_c, job_c, task_c) = match self.version {
            Version::V2017 => (
                V2017_INSTANCE,
                "start_timestamp",
                "end_timestamp",
                "job_id",
                "task_id",
            ),
            Version::V2018 => (
                V2018_INSTANCE,
                "start_time",
                "end_time",
                "job_name",
                "task_name",
            ),
        };
        loop {
            let r = &mut self.rows;
            if !r.advance()? {
                return Ok(None);
            }
            let status = r.text(col(s, "status"));
            if status != "Terminated" && status != "Failed" {
                continue;
            }
            let start = r.whole(col(s, start_c))?;
            let end = match r.text(col(s, end_c)) {
                "" => 0,
                _ => r.whole(col(s, end_c))?,
            };
            if end <= start {
                continue;
            }
            let job = r.string(col(s, job_c))?;
            let task = r.string(col(s, task_c))?;
            let Some(&(cpu, mem)) = self.tasks.get(&(job.clone(), task.clone())) else {
                return Err(r.err(
                    task_c,
                    format!("no task {task:?} of job {job:?} in the task table"),
                ));
            };
            let id = match self.version {
                Version::V2017 => {
                    format!("j{job}-t{task}-{}", r.text(col(s, "seq_no")))
                }
                Version::V2018 => format!("{job}-{}", r.string(col(s, "instance_name"))?),
            };
            let arrival = SimTime::ZERO + crate::engine::SimDuration::from_secs(start as u64);
            if arrival < self.last {
                return Err(r.err(
                    start_c,
                    format!(
                        "instances must be sorted by start time: {start} is before the previous row's {}",
                        self.last.as_nanos() / 1_000_000_000
                    ),
                ));
            }
            self.last = arrival;
            return Ok(Some(TracePod {
                id,
                arrival,
                cpu_milli: cpu,
                memory_bytes: mem,
                duration: crate::engine::SimDuration::from_secs((end - start) as u64),
                priority: 0,
                group: Some(job),
            }));
        }
    }
}

impl PodArrivals for AlibabaPods {
    fn next_pod(&mut self) -> Option<Result<TracePod, TraceError>> {
        self.read().transpose()
    }
}
