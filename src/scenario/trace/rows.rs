//! A lazy CSV row reader that knows where it is: each row's 1-based line and, for errors, the
//! column's name. Rows are read one at a time into a reused record, never the whole file.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::cluster::trace::TraceError;
use crate::engine::{SimDuration, SimTime};

/// One CSV file read row by row.
pub(crate) struct Rows {
    /// The file as named in messages.
    pub file: String,
    reader: csv::Reader<BufReader<File>>,
    /// The current row.
    pub record: csv::StringRecord,
    /// Column names (from the header, or the published schema for header-less formats).
    pub columns: Vec<String>,
    /// 1-based line of the current row.
    pub line: u64,
}

impl Rows {
    /// Open `path`. With `schema = None` the first row is the header (column names); with
    /// `Some(names)` the file has no header and its columns are `names` in order.
    pub fn open(path: &Path, schema: Option<&[&str]>) -> Result<Rows, TraceError> {
        let file = path.display().to_string();
        let f = File::open(path).map_err(|e| TraceError {
            file: file.clone(),
            line: 0,
            column: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            // Fields are trimmed when read (`Rows::text`, `str::trim`, the same Unicode
            // whitespace as `csv::Trim::All`), which spares the reader a copy of every record.
            .trim(csv::Trim::None)
            .from_reader(BufReader::with_capacity(1 << 16, f));
        let mut rows = Rows {
            file,
            reader,
            record: csv::StringRecord::new(),
            columns: Vec::new(),
            line: 0,
        };
        match schema {
            Some(names) => rows.columns = names.iter().map(|s| s.to_string()).collect(),
            None => {
                if !rows.advance()? {
                    return Err(rows.err("", "the file is empty: expected a header row"));
                }
                rows.columns = rows.record.iter().map(|s| s.trim().to_string()).collect();
            }
        }
        Ok(rows)
    }

    /// Read the next row into [`Rows::record`]; false at the end of the file.
    pub fn advance(&mut self) -> Result<bool, TraceError> {
        loop {
            match self.reader.read_record(&mut self.record) {
                Ok(false) => return Ok(false),
                Ok(true) => {
                    self.line = self.record.position().map_or(self.line + 1, |p| p.line());
                    // Skip blank lines.
                    if self.record.len() == 1 && self.record[0].trim().is_empty() {
                        continue;
                    }
                    return Ok(true);
                }
                Err(e) => {
                    let line = e.position().map_or(self.line + 1, |p| p.line());
                    return Err(TraceError {
                        file: self.file.clone(),
                        line,
                        column: String::new(),
                        message: format!("malformed CSV: {e}"),
                    });
                }
            }
        }
    }

    /// An error at the current row in `column`.
    pub fn err(&self, column: &str, message: impl Into<String>) -> TraceError {
        TraceError {
            file: self.file.clone(),
            line: self.line,
            column: column.to_string(),
            message: message.into(),
        }
    }

    /// Index of a column, or an error naming the missing column (`required`), or `None`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Index of a required column; an error at the header if it is absent.
    pub fn require(&self, name: &str) -> Result<usize, TraceError> {
        self.index(name).ok_or_else(|| TraceError {
            file: self.file.clone(),
            line: 1,
            column: name.to_string(),
            message: format!(
                "missing column (the header has: {})",
                self.columns.join(", ")
            ),
        })
    }

    /// The text of column `i` of the current row, trimmed (`""` when the row is short).
    pub fn text(&self, i: usize) -> &str {
        self.record.get(i).unwrap_or("").trim()
    }

    /// Column `i` as a non-empty string.
    pub fn string(&self, i: usize) -> Result<String, TraceError> {
        let t = self.text(i);
        if t.is_empty() {
            return Err(self.err(&self.columns[i], "empty value"));
        }
        Ok(t.to_string())
    }

    /// Column `i` as a finite number.
    pub fn number(&self, i: usize) -> Result<f64, TraceError> {
        let t = self.text(i);
        match t.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(self.err(&self.columns[i], format!("expected a number, found {t:?}"))),
        }
    }

    /// Column `i` as a number `>= 0`.
    pub fn non_negative(&self, i: usize) -> Result<f64, TraceError> {
        let v = self.number(i)?;
        if v < 0.0 {
            return Err(self.err(&self.columns[i], format!("must be >= 0, found {v}")));
        }
        Ok(v)
    }

    /// Column `i` as a whole number `>= 0`.
    pub fn whole(&self, i: usize) -> Result<i64, TraceError> {
        let t = self.text(i);
        match t.parse::<i64>() {
            Ok(v) if v >= 0 => Ok(v),
            _ => Err(self.err(
                &self.columns[i],
                format!("expected a whole number >= 0, found {t:?}"),
            )),
        }
    }

    /// Column `i` as an integer (may be negative).
    pub fn int(&self, i: usize) -> Result<i64, TraceError> {
        let t = self.text(i);
        t.parse::<i64>().map_err(|_| {
            self.err(
                &self.columns[i],
                format!("expected an integer, found {t:?}"),
            )
        })
    }

    /// Column `i`, seconds (decimal), as a time since the start of the run.
    pub fn seconds(&self, i: usize) -> Result<SimTime, TraceError> {
        Ok(SimTime::ZERO + self.duration_secs(i)?)
    }

    /// Column `i`, seconds (decimal, >= 0), as a duration.
    pub fn duration_secs(&self, i: usize) -> Result<SimDuration, TraceError> {
        let v = self.non_negative(i)?;
        if v > 1e9 {
            return Err(self.err(&self.columns[i], format!("{v} s is beyond any run")));
        }
        Ok(SimDuration::from_secs_f64(v))
    }
}
