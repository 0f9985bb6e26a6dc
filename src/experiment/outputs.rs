//! Writing a run's files: `events.csv`, `timeseries.csv`, `summary.json`, each to a temporary
//! name first and then renamed into place.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::engine::SimTime;
use crate::experiment::run::RunResult;
use crate::experiment::summary::Summary;

/// `time_s` as written in the CSV files: seconds with microsecond precision, e.g. `72.250000`.
pub fn format_time_s(t: SimTime) -> String {
    let ns = t.as_nanos();
    format!("{}.{:06}", ns / 1_000_000_000, (ns % 1_000_000_000) / 1_000)
}

/// Write `bytes` to `dir/name` through a temporary file and a rename.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(name);
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, &path)?;
    Ok(path)
}

fn csv_bytes<F>(header: &[&str], fill: F) -> io::Result<Vec<u8>>
where
    F: FnOnce(&mut csv::Writer<&mut Vec<u8>>) -> csv::Result<()>,
{
    let mut buf = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut buf);
        w.write_record(header).map_err(io::Error::other)?;
        fill(&mut w).map_err(io::Error::other)?;
        w.flush()?;
    }
    Ok(buf)
}

/// Write the three output files of `result` into `dir` (created if needed); returns the summary.
pub fn write_outputs(dir: &Path, result: &RunResult) -> io::Result<Summary> {
    fs::create_dir_all(dir)?;
    let rec = &result.output.recorder;
    let events = csv_bytes(
        &["time_s", "seq", "kind", "object", "reason", "message"],
        |w| {
            for e in &rec.events {
                w.write_record([
                    format_time_s(e.time).as_str(),
                    e.seq.to_string().as_str(),
                    e.kind,
                    e.object.as_str(),
                    e.reason,
                    e.message.as_str(),
                ])?;
            }
            Ok(())
        },
    )?;
    write_atomic(dir, "events.csv", &events)?;
    let series = csv_bytes(&["time_s", "metric", "object", "value"], |w| {
        for s in &rec.samples {
            w.write_record([
                format_time_s(s.time).as_str(),
                s.metric,
                &*s.object,
                s.value.to_string().as_str(),
            ])?;
        }
        Ok(())
    })?;
    write_atomic(dir, "timeseries.csv", &series)?;
    let summary = Summary::of(result);
    let mut json = serde_json::to_vec_pretty(&summary).map_err(io::Error::other)?;
    json.push(b'\n');
    write_atomic(dir, "summary.json", &json)?;
    Ok(summary)
}
