//! Google cluster-data 2019 (github.com/google/cluster-data, "Google cluster-usage traces v3"):
//! the `machine_events` and `instance_events` tables, as CSV exported from BigQuery with a
//! header row (nested fields flattened with dots: `resource_request.cpus`). Columns are found
//! by name; others are ignored. The collection table is not needed: instance events carry the
//! priority and requests that matter for placement.
//!
//! - `machine_events`: `time`, `machine_id`, `type` (1 ADD, 2 REMOVE, 3 UPDATE; updates are
//!   ignored), `capacity.cpus`, `capacity.memory`.
//! - `instance_events`, sorted by `time`: `time`, `type` (0 SUBMIT, 1 QUEUE, 2 ENABLE,
//!   3 SCHEDULE, 4 EVICT, 5 FAIL, 6 FINISH, 7 KILL, 8 LOST, 9 UPDATE_PENDING,
//!   10 UPDATE_RUNNING), `collection_id`, `instance_index`, `priority`,
//!   `resource_request.cpus`, `resource_request.memory`.
//!
//! An instance (`collection_id`, `instance_index`) becomes a trace pod that arrives at its
//! SUBMIT, runs for the time from its first SCHEDULE to the next EVICT / FAIL / FINISH / KILL /
//! LOST, requests the SUBMIT's `resource_request` and has the trace's `priority`; it belongs to
//! the group `collection_id`. An instance that ends before it was ever scheduled is dropped;
//! one still running at the end of the table runs until the table's last time. A resubmission
//! after an end is a new pod.
//!
//! Times are microseconds (0 = before the trace window: taken as 0; 2^63 - 1 = after it:
//! ignored). Units: CPUs and memory are normalized so the largest machine is 1 -> x the
//! document's `machine.cpu` millicores and `machine.memory` bytes.
//!
//! Streaming: pods leave in arrival order, so an instance can only be emitted once every
//! instance submitted before it has ended; memory holds the instances submitted during the
//! longest-running earlier instance's lifetime.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::cluster::spec::Labels;
use crate::cluster::trace::{PodArrivals, TraceError, TraceNodeEvent, TracePod, TraceSpec};
use crate::engine::{SimDuration, SimTime};

use super::rows::Rows;
use super::{NodeTable, denormalize, node_spec};

/// `time` value meaning "after the end of the trace window".
const AFTER_END: i64 = i64::MAX;

fn micros(t: i64) -> SimTime {
    SimTime::ZERO + SimDuration::from_nanos((t.max(0) as u64).saturating_mul(1000))
}

/// `machine_events` -> node events.
pub(crate) fn read_machines(path: &Path, spec: &TraceSpec) -> Result<NodeTable, TraceError> {
    let mut rows = Rows::open(path, None)?;
    let time = rows.require("time")?;
    let id = rows.require("machine_id")?;
    let kind = rows.require("type")?;
    let cpus = rows.require("capacity.cpus")?;
    let memory = rows.require("capacity.memory")?;
    let mut table = NodeTable::default();
    while rows.advance()? {
        let t = rows.int(time)?;
        if t == AFTER_END {
            continue;
        }
        let name = format!("m-{}", rows.string(id)?);
        match rows.int(kind)? {
            1 => {
                let node = node_spec(
                    &name,
                    denormalize(rows.non_negative(cpus)?, 1.0, spec.machine.cpu_milli),
                    denormalize(rows.non_negative(memory)?, 1.0, spec.machine.memory_bytes),
                    spec.max_pods,
                    Labels::new(),
                );
                table.push(
                    &rows,
                    TraceNodeEvent::Add {
                        at: micros(t),
                        node: Box::new(node),
                    },
                )?;
            }
            2 => table.push(
                &rows,
                TraceNodeEvent::Remove {
                    at: micros(t),
                    name,
                },
            )?,
            3 => {}
            other => {
                return Err(rows.err(
                    "type",
                    format!("expected 1 (ADD), 2 (REMOVE) or 3 (UPDATE), found {other}"),
                ));
            }
        }
    }
    Ok(table)
}

/// One instance between its SUBMIT and its emission.
struct Instance {
    id: String,
    cpu: i64,
    memory: i64,
    priority: i32,
    group: String,
    scheduled: Option<SimTime>,
    ended: Option<SimTime>,
}

/// `instance_events`, correlated per instance and emitted in arrival order.
pub(crate) struct GooglePods {
    rows: Rows,
    cols: [usize; 7],
    machine: (i64, i64),
    /// Live instance key -> its sequence number.
    live: BTreeMap<(String, String), u64>,
    /// Instances not yet emitted, by sequence number.
    pending: BTreeMap<u64, Instance>,
    /// Emission order: (arrival, sequence number).
    order: BTreeSet<(SimTime, u64)>,
    next_seq: u64,
    last_time: i64,
    eof: bool,
}

impl GooglePods {
    /// Open `instance_events` and check its header.
    pub fn open(path: &Path, spec: &TraceSpec) -> Result<Self, TraceError> {
        let rows = Rows::open(path, None)?;
        let cols = [
            rows.require("time")?,
            rows.require("type")?,
            rows.require("collection_id")?,
            rows.require("instance_index")?,
            rows.require("priority")?,
            rows.require("resource_request.cpus")?,
            rows.require("resource_request.memory")?,
        ];
        Ok(GooglePods {
            rows,
            cols,
            machine: (spec.machine.cpu_milli, spec.machine.memory_bytes),
            live: BTreeMap::new(),
            pending: BTreeMap::new(),
            order: BTreeSet::new(),
            next_seq: 0,
            last_time: 0,
            eof: false,
        })
    }

    /// Read one row and apply it; false at the end of the table.
    fn step(&mut self) -> Result<bool, TraceError> {
        let r = &mut self.rows;
        if !r.advance()? {
            return Ok(false);
        }
        let [time, kind, coll, index, prio, cpus, mem] = self.cols;
        let t = r.int(time)?;
        if t == AFTER_END {
            return Ok(true);
        }
        if t < self.last_time {
            return Err(r.err(
                "time",
                format!(
                    "events must be sorted by time: {t} is before {}",
                    self.last_time
                ),
            ));
        }
        self.last_time = t;
        let key = (r.string(coll)?, r.string(index)?);
        match r.int(kind)? {
            0 => {
                if self.live.contains_key(&key) {
                    return Ok(true);
                }
                let priority = i32::try_from(r.int(prio)?)
                    .map_err(|_| r.err("priority", "out of the int32 range"))?;
                let cpu = match r.text(cpus) {
                    "" => 0,
                    _ => denormalize(r.non_negative(cpus)?, 1.0, self.machine.0),
                };
                let memory = match r.text(mem) {
                    "" => 0,
                    _ => denormalize(r.non_negative(mem)?, 1.0, self.machine.1),
                };
                let seq = self.next_seq;
                self.next_seq += 1;
                let submit = micros(t);
                self.pending.insert(
                    seq,
                    Instance {
                        id: format!("c{}-{}-{seq}", key.0, key.1),
                        cpu,
                        memory,
                        priority,
                        group: key.0.clone(),
                        scheduled: None,
                        ended: None,
                    },
                );
                self.order.insert((submit, seq));
                self.live.insert(key, seq);
            }
            3 => {
                if let Some(i) = self.live.get(&key).and_then(|s| self.pending.get_mut(s)) {
                    i.scheduled.get_or_insert(micros(t));
                }
            }
            4..=8 => {
                if let Some(seq) = self.live.remove(&key)
                    && let Some(i) = self.pending.get_mut(&seq)
                {
                    i.ended = Some(micros(t));
                }
            }
            1 | 2 | 9 | 10 => {}
            other => {
                return Err(r.err(
                    "type",
                    format!("expected an event type 0..10, found {other}"),
                ));
            }
        }
        Ok(true)
    }

    fn read(&mut self) -> Result<Option<TracePod>, TraceError> {
        loop {
            if let Some(&(submit, seq)) = self.order.first() {
                let done = self.pending.get(&seq).is_some_and(|i| i.ended.is_some());
                if done || self.eof {
                    self.order.pop_first();
                    let Some(i) = self.pending.remove(&seq) else {
                        continue;
                    };
                    let end = i.ended.unwrap_or(micros(self.last_time));
                    let Some(start) = i.scheduled else {
                        continue;
                    };
                    return Ok(Some(TracePod {
                        id: i.id,
                        arrival: submit,
                        cpu_milli: i.cpu,
                        memory_bytes: i.memory,
                        duration: end.saturating_since(start),
                        priority: i.priority,
                        group: Some(i.group),
                    }));
                }
            } else if self.eof {
                return Ok(None);
            }
            if !self.eof && !self.step()? {
                self.eof = true;
            }
        }
    }
}

impl PodArrivals for GooglePods {
    fn next_pod(&mut self) -> Option<Result<TracePod, TraceError>> {
        self.read().transpose()
    }
}
