//! `kubesim report`: redraw charts and report.html from a run's or a sweep's output files.

use std::path::Path;

use super::EXIT_INTERNAL;
use crate::report::{ReportError, report_dir};

/// Draw the charts and `report.html` of the run or sweep in `dir`; returns an exit code
/// (2 if `dir` holds no outputs, 3 if drawing failed).
pub fn draw(dir: &Path) -> u8 {
    match report_dir(dir) {
        Ok(d) => {
            println!(
                "  wrote {}/plots/{{{}}}.{{png,svg}} and {}",
                dir.display(),
                d.charts.join(","),
                d.html.display()
            );
            0
        }
        Err(e @ (ReportError::NotAnOutputFolder(_) | ReportError::Read { .. })) => {
            eprintln!("error: {e}");
            super::EXIT_BAD_INPUT
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_INTERNAL
        }
    }
}
