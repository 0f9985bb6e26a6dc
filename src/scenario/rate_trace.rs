//! A `Traffic` source's arrival rate read from a CSV file (`spec.rateTrace`): a header row
//! `time,rate`, then one row per change. `time` is seconds from the start of the run (a
//! number) or a duration (`90s`, `5m`); `rate` is requests per second (a number) or a rate
//! (`800/s`, `30/m`). The rate is piecewise constant: each row's rate holds from its time to
//! the next row's. Rows must be in strictly increasing time order; blank lines and lines
//! starting with `#` are skipped. Errors name the file, line and column (1-based, in
//! characters) and the CSV column.
//!
//! The file is small (one row per change) and read whole at load time, into the same rate
//! steps a `steps:` list gives.

use std::sync::Arc;

use crate::cluster::spec::RateStep;
use crate::engine::SimTime;

use super::duration::{parse_duration, parse_rate_per_second};
use super::error::ScenarioError;
use super::yaml::Pos;

/// Most rows of a rate trace.
const MAX_ROWS: usize = 10_000_000;

/// Read the rate trace `text` of file `file`; `end` is the end of the run (rows after it are
/// refused).
pub(crate) fn parse_rate_trace(
    file: &str,
    text: &Arc<str>,
    end: SimTime,
) -> Result<Vec<RateStep>, ScenarioError> {
    let mut steps: Vec<RateStep> = Vec::new();
    let mut header_seen = false;
    let mut offset = 0usize;
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = (i + 1) as u32;
        let line_start = offset;
        offset += raw.len() + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        // Fields with their 1-based character columns and byte offsets.
        let mut fields: Vec<(&str, u32, usize)> = Vec::with_capacity(2);
        let mut col_chars = 0u32;
        let mut byte = 0usize;
        for f in line.split(',') {
            let lead = f.len() - f.trim_start().len();
            let lead_chars = f[..lead].chars().count() as u32;
            fields.push((
                f.trim(),
                col_chars + lead_chars + 1,
                line_start + byte + lead,
            ));
            col_chars += f.chars().count() as u32 + 1;
            byte += f.len() + 1;
        }
        let at = |k: usize| -> Pos {
            let (f, column, off) = fields[k.min(fields.len() - 1)];
            Pos {
                line: line_no,
                column,
                offset: Some(off),
                len: f.len(),
            }
        };
        let err = |k: usize, column: &str, msg: String| {
            ScenarioError::new(file, Some(text), at(k), format!("column {column}"), msg)
        };
        if !header_seen {
            header_seen = true;
            let names: Vec<&str> = fields.iter().map(|f| f.0).collect();
            if names != ["time", "rate"] {
                return Err(ScenarioError::new(
                    file,
                    Some(text),
                    at(0),
                    "header",
                    format!(
                        "expected the header row `time,rate`, found `{}`",
                        names.join(",")
                    ),
                ));
            }
            continue;
        }
        if fields.len() != 2 {
            return Err(err(
                fields.len().min(2),
                if fields.len() < 2 { "rate" } else { "3" },
                format!("expected 2 fields (time,rate), found {}", fields.len()),
            ));
        }
        let (ts, rs) = (fields[0].0, fields[1].0);
        let t_ns: u64 = match ts.parse::<f64>() {
            Ok(s) if s.is_finite() && s >= 0.0 => (s * 1e9).round() as u64,
            Ok(_) => return Err(err(0, "time", format!("{ts:?} must be >= 0 seconds"))),
            Err(_) => parse_duration(ts).map_err(|e| {
                err(
                    0,
                    "time",
                    format!("{ts:?} is not seconds or a duration: {e}"),
                )
            })?,
        };
        let t = SimTime(t_ns);
        if t > end {
            return Err(err(0, "time", format!("{ts} is after the end of the run")));
        }
        if let Some(prev) = steps.last()
            && t <= prev.at
        {
            return Err(err(
                0,
                "time",
                "times must increase from row to row".to_string(),
            ));
        }
        let rate = match rs.parse::<f64>() {
            Ok(r) => r,
            Err(_) => parse_rate_per_second(rs).map_err(|e| err(1, "rate", e.to_string()))?,
        };
        if !rate.is_finite() || !(0.0..=1e9).contains(&rate) {
            return Err(err(
                1,
                "rate",
                format!("{rs:?} must be a rate between 0 and 1e9 per second"),
            ));
        }
        if steps.len() >= MAX_ROWS {
            return Err(err(0, "time", format!("more than {MAX_ROWS} rows")));
        }
        steps.push(RateStep { at: t, rate });
    }
    if !header_seen {
        return Err(ScenarioError::file_level(
            file,
            "the rate trace is empty: expected the header row `time,rate`",
        ));
    }
    if steps.is_empty() {
        return Err(ScenarioError::file_level(
            file,
            "the rate trace has a header but no rows",
        ));
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<RateStep>, ScenarioError> {
        parse_rate_trace("r.csv", &Arc::from(s), SimTime(3_600_000_000_000))
    }

    #[test]
    fn reads_seconds_durations_and_rates() {
        let v = parse("time,rate\n0,10\n# peak\n90s, 800/s\n\n5m,30/m\n").unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(
            v[0],
            RateStep {
                at: SimTime(0),
                rate: 10.0
            }
        );
        assert_eq!(v[1].at, SimTime(90_000_000_000));
        assert_eq!(v[1].rate, 800.0);
        assert_eq!(v[2].at, SimTime(300_000_000_000));
        assert!((v[2].rate - 0.5).abs() < 1e-12);
    }

    #[test]
    fn errors_are_located() {
        let table: &[(&str, u32, u32, &str, &str)] = &[
            ("time,rate\n0,10\n5,abc\n", 3, 3, "column rate", "abc"),
            (
                "time,rate\n0,10\n5,-1\n",
                3,
                3,
                "column rate",
                "between 0 and 1e9",
            ),
            (
                "time,rate\n0,10\nx, 5\n",
                3,
                1,
                "column time",
                "not seconds or a duration",
            ),
            (
                "time,rate\n10,1\n  5,2\n",
                3,
                3,
                "column time",
                "times must increase",
            ),
            (
                "time,rate\n0,1\n5\n",
                3,
                1,
                "column rate",
                "expected 2 fields",
            ),
            ("t,rate\n0,1\n", 1, 1, "header", "expected the header row"),
            (
                "time,rate\n7200,1\n",
                2,
                1,
                "column time",
                "after the end of the run",
            ),
        ];
        for (text, line, col, path, msg) in table {
            let e = parse(text).unwrap_err();
            assert_eq!((e.line, e.column), (*line, *col), "{text:?}: {e}");
            assert_eq!(e.path, *path, "{text:?}");
            assert!(e.message.contains(msg), "{text:?}: {}", e.message);
        }
        assert_eq!(parse("").unwrap_err().line, 0);
        assert!(
            parse("time,rate\n")
                .unwrap_err()
                .message
                .contains("no rows")
        );
    }
}
