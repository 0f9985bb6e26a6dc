//! Reading a run's output files (`summary.json`, `timeseries.csv`, `events.csv`) and a sweep's
//! (`sweep.json`, `aggregate.csv`) back for charts and the report. Nothing here re-runs anything.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::ReportError;

/// One row of `events.csv`.
#[derive(Clone, Debug)]
pub struct EventRow {
    /// Seconds since the start.
    pub time_s: f64,
    /// Object kind (`Pod`, `Node`, `Timeline`, ...).
    pub kind: String,
    /// `namespace/name` or name.
    pub object: String,
    /// Reason (`Scheduled`, `FailedScheduling`, ...).
    pub reason: String,
    /// Message.
    pub message: String,
}

/// A run's outputs as read back.
#[derive(Clone, Debug)]
pub struct RunData {
    /// `summary.json`.
    pub summary: serde_json::Value,
    /// `timeseries.csv` by (metric, object): `(time_s, value)` in file order.
    pub series: BTreeMap<(String, String), Vec<(f64, f64)>>,
    /// `events.csv` rows in order.
    pub events: Vec<EventRow>,
}

fn read_text(path: &Path) -> Result<String, ReportError> {
    fs::read_to_string(path).map_err(|e| ReportError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn bad(path: &Path, message: impl Into<String>) -> ReportError {
    ReportError::Read {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Read the run outputs in `dir`.
pub fn read_run(dir: &Path) -> Result<RunData, ReportError> {
    let sp = dir.join("summary.json");
    let summary: serde_json::Value =
        serde_json::from_str(&read_text(&sp)?).map_err(|e| bad(&sp, e.to_string()))?;
    let tp = dir.join("timeseries.csv");
    let text = read_text(&tp)?;
    let mut series: BTreeMap<(String, String), Vec<(f64, f64)>> = BTreeMap::new();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    for rec in r.records() {
        let rec = rec.map_err(|e| bad(&tp, e.to_string()))?;
        let t: f64 = rec
            .get(0)
            .unwrap_or("")
            .parse()
            .map_err(|_| bad(&tp, "bad time_s"))?;
        let v: f64 = rec
            .get(3)
            .unwrap_or("")
            .parse()
            .map_err(|_| bad(&tp, "bad value"))?;
        series
            .entry((
                rec.get(1).unwrap_or("").to_string(),
                rec.get(2).unwrap_or("").to_string(),
            ))
            .or_default()
            .push((t, v));
    }
    let ep = dir.join("events.csv");
    let text = read_text(&ep)?;
    let mut events = Vec::new();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    for rec in r.records() {
        let rec = rec.map_err(|e| bad(&ep, e.to_string()))?;
        let f = |i: usize| rec.get(i).unwrap_or("").to_string();
        events.push(EventRow {
            time_s: f(0).parse().map_err(|_| bad(&ep, "bad time_s"))?,
            kind: f(2),
            object: f(3),
            reason: f(4),
            message: f(5),
        });
    }
    Ok(RunData {
        summary,
        series,
        events,
    })
}

/// One row of `aggregate.csv`.
#[derive(Clone, Debug)]
pub struct AggRow {
    /// Point index.
    pub point: usize,
    /// Parameter values as text (empty: base value).
    pub params: Vec<String>,
    /// Metric key.
    pub metric: String,
    /// Replications with a value.
    pub n: usize,
    /// Mean (None if n = 0).
    pub mean: Option<f64>,
    /// 95% interval (None if n < 2).
    pub ci: Option<(f64, f64)>,
}

/// A sweep's outputs as read back.
#[derive(Clone, Debug)]
pub struct SweepData {
    /// `sweep.json`.
    pub meta: crate::experiment::sweep::SweepMeta,
    /// `aggregate.csv` rows.
    pub rows: Vec<AggRow>,
}

/// Read the sweep outputs in `dir`.
pub fn read_sweep(dir: &Path) -> Result<SweepData, ReportError> {
    let meta = crate::experiment::sweep::SweepMeta::read(dir).map_err(|e| ReportError::Read {
        path: dir.join("sweep.json"),
        message: e.to_string(),
    })?;
    let ap = dir.join("aggregate.csv");
    let text = read_text(&ap)?;
    let p = meta.parameters.len();
    let mut rows = Vec::new();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    for rec in r.records() {
        let rec = rec.map_err(|e| bad(&ap, e.to_string()))?;
        let f = |i: usize| rec.get(i).unwrap_or("");
        let num = |i: usize| f(i).parse::<f64>().ok();
        rows.push(AggRow {
            point: f(0).parse().map_err(|_| bad(&ap, "bad point"))?,
            params: (0..p).map(|i| f(1 + i).to_string()).collect(),
            metric: f(1 + p).to_string(),
            n: f(2 + p).parse().unwrap_or(0),
            mean: num(3 + p),
            ci: num(5 + p).zip(num(6 + p)),
        });
    }
    Ok(SweepData { meta, rows })
}
