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
        if let Some(ns) = exact_decimal_nanos(self.text(i)) {
            return Ok(SimDuration::from_nanos(ns));
        }
        let v = self.non_negative(i)?;
        if v > 1e9 {
            return Err(self.err(&self.columns[i], format!("{v} s is beyond any run")));
        }
        Ok(SimDuration::from_secs_f64(v))
    }
}

/// Below this many nanoseconds (2^50, about 13 days) a decimal's exact value in nanoseconds is
/// what `SimDuration::from_secs_f64` makes of the nearest `f64` to it: that `f64` is off by
/// at most 2^-53 relative (0.125 ns here), the product with 1e9 by at most half an ulp
/// (0.0625 ns here), together less than the 0.5 ns that rounding forgives.
const EXACT_NANOS_LIMIT: u64 = 1 << 50;

/// `text` as whole nanoseconds when it is a plain decimal of seconds (`digits[.digits]`, at
/// most 9 decimals) below [`EXACT_NANOS_LIMIT`]; `None` for anything else (signs, exponents,
/// more decimals, larger values), which takes the `f64` path. Equal to that path's result
/// wherever it answers, and an integer parse instead of a float parse for trace timestamps.
fn exact_decimal_nanos(text: &str) -> Option<u64> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty() || int.len() > 16 || frac.len() > 9 {
        return None;
    }
    let mut whole: u64 = 0;
    for b in int.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        whole = whole * 10 + u64::from(b - b'0');
    }
    let mut part: u64 = 0;
    for b in frac.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        part = part * 10 + u64::from(b - b'0');
    }
    for _ in frac.len()..9 {
        part *= 10;
    }
    let ns = whole.checked_mul(1_000_000_000)?.checked_add(part)?;
    (ns < EXACT_NANOS_LIMIT).then_some(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn via_f64(t: &str) -> u64 {
        SimDuration::from_secs_f64(t.parse::<f64>().unwrap()).as_nanos()
    }

    /// The integer parse answers plain decimals exactly as the float path does, and declines
    /// everything else.
    #[test]
    fn exact_decimal_nanos_matches_the_float_path() {
        for t in [
            "0",
            "0.0",
            "5.",
            "0.201",
            "1.187",
            "2578",
            "427.5",
            "0.000000001",
            "0.999999999",
            "1125899.906842623",
            "1125899.906842624",
            "00012.5000",
        ] {
            match exact_decimal_nanos(t) {
                Some(ns) => assert_eq!(ns, via_f64(t), "{t}"),
                None => assert!(
                    SimDuration::from_secs_f64(t.parse::<f64>().unwrap()).as_nanos()
                        >= EXACT_NANOS_LIMIT,
                    "{t} declined"
                ),
            }
        }
        for t in [
            "",
            ".5",
            "-1",
            "+1",
            "1e3",
            "inf",
            "NaN",
            "1.0000000001",
            "1 ",
            "1.2.3",
            "0x10",
            "99999999999999999",
        ] {
            assert_eq!(exact_decimal_nanos(t), None, "{t}");
        }
        // Many decimals of every length and size.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = (x % 10) as usize;
            let whole =
                (x >> 8) % [1, 10, 1_000, 100_000, 1_000_000, 2_000_000][(x >> 4) as usize % 6];
            let frac = (x >> 30) % 1_000_000_000;
            let t = if digits == 0 {
                format!("{whole}")
            } else {
                let f = format!("{frac:09}");
                format!("{whole}.{}", &f[..digits.min(9)])
            };
            if let Some(ns) = exact_decimal_nanos(&t) {
                assert_eq!(ns, via_f64(&t), "{t}");
            }
        }
    }
}
