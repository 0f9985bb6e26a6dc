//! Writing a run's files: `events.csv`, `timeseries.csv`, `summary.json`, each to a temporary
//! name first and then renamed into place.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::cluster::metrics::SampleRow;
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

/// `timeseries.csv` written as the run goes: rows are appended to a temporary file
/// (`.timeseries.csv.tmp`) through a buffer, and [`TimeseriesFile::finish`] renames it into
/// place, so a run that is killed never leaves a `timeseries.csv` that looks whole. The bytes
/// are those [`write_outputs`] writes from rows held in memory.
///
/// A write error is kept (later rows are dropped) and returned by `finish`. Dropped without
/// `finish`, it removes its temporary file.
pub struct TimeseriesFile {
    tmp: PathBuf,
    path: PathBuf,
    writer: Option<csv::Writer<io::BufWriter<fs::File>>>,
    error: Option<io::Error>,
    /// Reused text buffers for `time_s` and `value`.
    time: String,
    value: String,
}

/// Buffer of the time-series writer, bytes.
const SERIES_BUFFER: usize = 1 << 20;

impl TimeseriesFile {
    /// Create `dir` if needed and start `dir/.timeseries.csv.tmp` with the header row.
    pub fn create(dir: &Path) -> io::Result<TimeseriesFile> {
        fs::create_dir_all(dir)?;
        let name = "timeseries.csv";
        let tmp = dir.join(format!(".{name}.tmp"));
        let file = io::BufWriter::with_capacity(SERIES_BUFFER, fs::File::create(&tmp)?);
        let mut writer = csv::Writer::from_writer(file);
        writer
            .write_record(["time_s", "metric", "object", "value"])
            .map_err(io::Error::other)?;
        Ok(TimeseriesFile {
            tmp,
            path: dir.join(name),
            writer: Some(writer),
            error: None,
            time: String::new(),
            value: String::new(),
        })
    }

    /// Append rows (after an earlier error, nothing is written).
    fn append(&mut self, rows: &[SampleRow]) {
        use std::fmt::Write as _;
        let Some(w) = self.writer.as_mut() else {
            return;
        };
        if self.error.is_some() {
            return;
        }
        for s in rows {
            self.time.clear();
            push_time_s(&mut self.time, s.time);
            self.value.clear();
            let _ = write!(self.value, "{}", s.value);
            if let Err(e) = w.write_record([
                self.time.as_str(),
                s.metric,
                &*s.object,
                self.value.as_str(),
            ]) {
                self.error = Some(io::Error::other(e));
                return;
            }
        }
    }

    /// Flush, sync and rename the file to `timeseries.csv`; returns its path, or the first
    /// error met while writing.
    pub fn finish(mut self) -> io::Result<PathBuf> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let writer = self.writer.take().expect("finish runs once");
        let file = writer
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?
            .into_inner()
            .map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.tmp, &self.path)?;
        Ok(self.path.clone())
    }
}

impl Drop for TimeseriesFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

impl crate::experiment::run::SampleSink for TimeseriesFile {
    fn write_rows(&mut self, rows: &[SampleRow]) {
        self.append(rows);
    }
}

/// Appends `t` as [`format_time_s`] writes it.
fn push_time_s(out: &mut String, t: SimTime) {
    use std::fmt::Write as _;
    let ns = t.as_nanos();
    let _ = write!(
        out,
        "{}.{:06}",
        ns / 1_000_000_000,
        (ns % 1_000_000_000) / 1_000
    );
}

/// Write the three output files of `result` into `dir` (created if needed); returns the summary.
pub fn write_outputs(dir: &Path, result: &RunResult) -> io::Result<Summary> {
    let series = TimeseriesFile::create(dir)?;
    write_outputs_streamed(dir, result, series)
}

/// As [`write_outputs`], for a run whose time series went to `series` as it ran
/// ([`crate::experiment::run_streaming`]): rows still in the recorder are appended, then
/// `events.csv`, `timeseries.csv` (renamed into place) and `summary.json` are written, in
/// that order.
pub fn write_outputs_streamed(
    dir: &Path,
    result: &RunResult,
    mut series: TimeseriesFile,
) -> io::Result<Summary> {
    fs::create_dir_all(dir)?;
    let rec = &result.output.recorder;
    series.append(&rec.samples);
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
    series.finish()?;
    let summary = Summary::of(result);
    let mut json = serde_json::to_vec_pretty(&summary).map_err(io::Error::other)?;
    json.push(b'\n');
    write_atomic(dir, "summary.json", &json)?;
    Ok(summary)
}
