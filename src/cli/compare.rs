//! `kubesim compare`: baseline vs candidate, with thresholds that exit 1.

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_BAD_INPUT, EXIT_EXPECTATION_FAILED};
use crate::experiment::compare::{CompareError, Threshold, check, compare};

/// Arguments of `kubesim compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Baseline: a run's or a sweep's output folder.
    pub baseline: PathBuf,
    /// Candidate: the same kind of folder.
    pub candidate: PathBuf,
    /// Fail (exit 1) if a metric changes past a bound: 'METRIC > +5%', 'METRIC < -10%' (relative
    /// change of the mean) or 'METRIC > 0' (absolute change). Repeatable.
    #[arg(long = "fail-if", value_name = "RULE")]
    pub fail_if: Vec<String>,
    /// Shorthand: METRIC=PCT fails if the metric rises by more than PCT percent. Repeatable.
    #[arg(long, value_name = "METRIC=PCT")]
    pub threshold: Vec<String>,
    /// Show only metrics that changed.
    #[arg(long)]
    pub changed: bool,
}

fn fmt(x: f64) -> String {
    if x.is_nan() {
        "–".to_string()
    } else if x.fract() == 0.0 && x.abs() < 1e12 {
        format!("{x:.0}")
    } else {
        format!("{x:.4}")
    }
}

/// `kubesim compare`.
pub fn compare_cmd(args: CompareArgs) -> u8 {
    let mut thresholds = Vec::new();
    for t in &args.fail_if {
        match Threshold::parse(t) {
            Ok(t) => thresholds.push(t),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    for t in &args.threshold {
        match Threshold::parse_pct(t) {
            Ok(t) => thresholds.push(t),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    let diffs = match compare(&args.baseline, &args.candidate) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    println!(
        "A = {}, B = {}; diff = mean(B) - mean(A), 95% CI by Welch where both sides have 2+ runs",
        args.baseline.display(),
        args.candidate.display()
    );
    println!(
        "{:<40} {:>14} {:>14} {:>14} {:>12} {:>9}",
        "metric", "A", "B", "diff", "± 95% CI", "change"
    );
    let mut at = None;
    for d in &diffs {
        if args.changed && d.diff == 0.0 {
            continue;
        }
        if at != Some(&d.at) && !d.at.is_empty() {
            println!("{}", d.at);
        }
        at = Some(&d.at);
        println!(
            "{:<40} {:>14} {:>14} {:>14} {:>12} {:>9}",
            d.metric,
            fmt(d.a.mean),
            fmt(d.b.mean),
            fmt(d.diff),
            d.half_width.map_or("–".to_string(), fmt),
            d.relative_pct
                .map_or("n/a".to_string(), |p| format!("{p:+.1}%"))
        );
    }
    match check(&diffs, &thresholds) {
        Ok(v) if v.is_empty() => {
            if !thresholds.is_empty() {
                println!("all {} threshold(s) held", thresholds.len());
            }
            0
        }
        Ok(v) => {
            for x in &v {
                println!(
                    "REGRESSION {}: {}{} {} -> {} ({})",
                    x.threshold.text,
                    if x.diff.at.is_empty() {
                        String::new()
                    } else {
                        format!("{}: ", x.diff.at)
                    },
                    x.diff.metric,
                    fmt(x.diff.a.mean),
                    fmt(x.diff.b.mean),
                    x.diff
                        .relative_pct
                        .map_or("n/a".to_string(), |p| format!("{p:+.1}%"))
                );
            }
            EXIT_EXPECTATION_FAILED
        }
        Err(e @ CompareError::Threshold(_)) | Err(e @ CompareError::Input { .. }) => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}
