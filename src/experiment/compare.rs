//! `compare`: two runs (their `summary.json`) or two sweeps (their `sweep.json` +
//! `results.csv`), metric by metric: the difference B − A, its 95% confidence interval (Welch,
//! for sweeps with at least two replications per side), the relative change, and thresholds
//! (`latency.p99 > +5%`) that make a policy regression fail CI.
//!
//! Two sweeps with the same parameters and points are compared point by point; otherwise every
//! run of each side is pooled per metric.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::experiment::stats::{Estimate, estimate, welch_half_width};
use crate::experiment::sweep::read_sweep_dir;

/// Why two folders could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A folder is not a run or sweep output, or a file is malformed.
    #[error("{path}: {message}")]
    Input {
        /// The folder or file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A threshold is malformed or names a metric the two sides do not share.
    #[error("{0}")]
    Threshold(String),
}

/// The direction of a threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Fail if the change is greater than the bound.
    Above,
    /// Fail if the change is less than the bound.
    Below,
}

/// A regression threshold: `METRIC > BOUND` or `METRIC < BOUND`, where BOUND with `%` is the
/// relative change of the mean (B − A) / |A| in percent, and without `%` the absolute change
/// B − A in the metric's unit.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    /// Metric key.
    pub metric: String,
    /// Direction.
    pub op: Op,
    /// Bound (percent if `relative`).
    pub bound: f64,
    /// Whether `bound` is a percentage.
    pub relative: bool,
    /// As written.
    pub text: String,
}

impl Threshold {
    /// Parse `METRIC > +5%`, `METRIC < -10%`, `METRIC > 0` (`--fail-if`).
    pub fn parse(text: &str) -> Result<Threshold, CompareError> {
        let bad = |why: &str| {
            CompareError::Threshold(format!(
                "--fail-if {text:?}: {why}; expected METRIC > BOUND or METRIC < BOUND, e.g. 'pod_startup_seconds.p99 > +5%' or 'pods.end.unscheduled > 0'"
            ))
        };
        let (i, op) = match (text.find('>'), text.find('<')) {
            (Some(i), None) => (i, Op::Above),
            (None, Some(i)) => (i, Op::Below),
            _ => return Err(bad("one of > or < is needed")),
        };
        let metric = text[..i].trim();
        let mut rhs = text[i + 1..].trim();
        if metric.is_empty() {
            return Err(bad("no metric"));
        }
        let relative = rhs.ends_with('%');
        if relative {
            rhs = rhs[..rhs.len() - 1].trim_end();
        }
        let bound: f64 = rhs
            .parse()
            .ok()
            .filter(|b: &f64| b.is_finite())
            .ok_or_else(|| bad(&format!("{rhs:?} is not a number")))?;
        Ok(Threshold {
            metric: metric.to_string(),
            op,
            bound,
            relative,
            text: text.to_string(),
        })
    }

    /// Parse `METRIC=PCT` (`--threshold`): fail if the metric rises by more than PCT percent.
    pub fn parse_pct(text: &str) -> Result<Threshold, CompareError> {
        let Some((m, p)) = text.split_once('=') else {
            return Err(CompareError::Threshold(format!(
                "--threshold {text:?}: expected METRIC=PERCENT, e.g. pod_startup_seconds.p99=5"
            )));
        };
        let t = Threshold::parse(&format!(
            "{} > {}%",
            m.trim(),
            p.trim().trim_end_matches('%')
        ))?;
        Ok(Threshold {
            text: text.to_string(),
            ..t
        })
    }
}

/// One compared metric (at one point for point-by-point sweeps).
#[derive(Clone, Debug)]
pub struct Diff {
    /// `point N (param=value, ...)` for point-by-point sweeps; empty otherwise.
    pub at: String,
    /// Metric key.
    pub metric: String,
    /// Side A.
    pub a: Estimate,
    /// Side B.
    pub b: Estimate,
    /// B − A of the means.
    pub diff: f64,
    /// Half-width of the 95% interval of `diff` (Welch); `None` with fewer than two values a side.
    pub half_width: Option<f64>,
    /// (B − A) / |A| in percent; `None` when A's mean is 0 (and B's is not).
    pub relative_pct: Option<f64>,
}

/// A threshold that a diff broke.
#[derive(Clone, Debug)]
pub struct Violation {
    /// The threshold.
    pub threshold: Threshold,
    /// The diff that broke it.
    pub diff: Diff,
}

/// One side: per comparison key (`at`), metric values.
type Side = BTreeMap<String, BTreeMap<String, Vec<f64>>>;

fn input(path: &Path, message: impl Into<String>) -> CompareError {
    CompareError::Input {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

enum Loaded {
    Run(BTreeMap<String, f64>),
    Sweep(
        crate::experiment::sweep::SweepMeta,
        Vec<crate::experiment::sweep::RunRow>,
    ),
}

fn load(dir: &Path) -> Result<Loaded, CompareError> {
    if dir.join("sweep.json").is_file() {
        let (meta, rows) = read_sweep_dir(dir).map_err(|e| input(dir, e.to_string()))?;
        return Ok(Loaded::Sweep(meta, rows.into_values().collect()));
    }
    let p = dir.join("summary.json");
    let text = fs::read_to_string(&p)
        .map_err(|_| input(dir, "no summary.json (a run) or sweep.json (a sweep) here"))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| input(&p, e.to_string()))?;
    let metrics = v["metrics"]
        .as_object()
        .ok_or_else(|| input(&p, "no `metrics` object"))?
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
        .collect();
    Ok(Loaded::Run(metrics))
}

fn sweep_side(
    meta: &crate::experiment::sweep::SweepMeta,
    rows: &[crate::experiment::sweep::RunRow],
    by_point: bool,
) -> Side {
    let mut side: Side = BTreeMap::new();
    for r in rows {
        let at = if by_point {
            let desc: Vec<String> = meta
                .parameters
                .iter()
                .zip(meta.points.get(r.point).into_iter().flatten())
                .filter_map(|(p, v)| v.as_ref().map(|v| format!("{p}={v}")))
                .collect();
            format!("point {:>4} ({})", r.point, desc.join(", "))
        } else {
            String::new()
        };
        let e = side.entry(at).or_default();
        for (m, v) in meta.metrics.iter().zip(&r.metrics) {
            if let Some(v) = v {
                e.entry(m.clone()).or_default().push(*v);
            }
        }
    }
    side
}

/// Compare the outputs in `a` (baseline) and `b` (candidate): every metric both have, in key
/// order (per point for matching sweeps).
pub fn compare(a: &Path, b: &Path) -> Result<Vec<Diff>, CompareError> {
    let (sa, sb) = match (load(a)?, load(b)?) {
        (Loaded::Run(x), Loaded::Run(y)) => {
            let wrap = |m: BTreeMap<String, f64>| -> Side {
                let mut s = Side::new();
                s.insert(
                    String::new(),
                    m.into_iter().map(|(k, v)| (k, vec![v])).collect(),
                );
                s
            };
            (wrap(x), wrap(y))
        }
        (Loaded::Sweep(ma, ra), Loaded::Sweep(mb, rb)) => {
            let by_point = ma.parameters == mb.parameters && ma.points == mb.points;
            (
                sweep_side(&ma, &ra, by_point),
                sweep_side(&mb, &rb, by_point),
            )
        }
        _ => {
            return Err(input(
                b,
                format!(
                    "{} and {} are not both runs or both sweeps",
                    a.display(),
                    b.display()
                ),
            ));
        }
    };
    let mut out = Vec::new();
    for (at, ma) in &sa {
        let Some(mb) = sb.get(at) else { continue };
        for (metric, va) in ma {
            let Some(vb) = mb.get(metric) else { continue };
            let ea = estimate(va);
            let eb = estimate(vb);
            let diff = eb.mean - ea.mean;
            let relative_pct = if ea.mean != 0.0 {
                Some(diff / ea.mean.abs() * 100.0)
            } else if diff == 0.0 {
                Some(0.0)
            } else {
                None
            };
            out.push(Diff {
                at: at.clone(),
                metric: metric.clone(),
                a: ea,
                b: eb,
                diff,
                half_width: welch_half_width(&ea, &eb),
                relative_pct,
            });
        }
    }
    Ok(out)
}

/// The thresholds broken by `diffs`. A threshold naming a metric no diff has is an error. A
/// relative threshold on a metric whose baseline mean is 0 counts any change in the
/// threshold's direction as infinite.
pub fn check(diffs: &[Diff], thresholds: &[Threshold]) -> Result<Vec<Violation>, CompareError> {
    let mut out = Vec::new();
    for t in thresholds {
        let matching: Vec<&Diff> = diffs.iter().filter(|d| d.metric == t.metric).collect();
        if matching.is_empty() {
            let names: Vec<&str> = diffs.iter().map(|d| d.metric.as_str()).collect();
            let hint = crate::scenario::suggest(&t.metric, names.iter().copied())
                .map(|s| format!(" (did you mean {s:?}?)"))
                .unwrap_or_default();
            return Err(CompareError::Threshold(format!(
                "threshold {:?}: metric {:?} is not in both outputs{hint}",
                t.text, t.metric
            )));
        }
        for d in matching {
            let change = if t.relative {
                d.relative_pct.unwrap_or(if d.diff > 0.0 {
                    f64::INFINITY
                } else {
                    f64::NEG_INFINITY
                })
            } else {
                d.diff
            };
            let broken = match t.op {
                Op::Above => change > t.bound,
                Op::Below => change < t.bound,
            };
            if broken {
                out.push(Violation {
                    threshold: t.clone(),
                    diff: d.clone(),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(metric: &str, a: f64, b: f64) -> Diff {
        let ea = estimate(&[a]);
        let eb = estimate(&[b]);
        Diff {
            at: String::new(),
            metric: metric.to_string(),
            a: ea,
            b: eb,
            diff: b - a,
            half_width: None,
            relative_pct: (a != 0.0).then(|| (b - a) / a.abs() * 100.0),
        }
    }

    #[test]
    fn thresholds_parse() {
        let t = Threshold::parse("latency.p99 > +5%").expect("parses");
        assert_eq!(
            (t.metric.as_str(), t.op, t.bound, t.relative),
            ("latency.p99", Op::Above, 5.0, true)
        );
        let t = Threshold::parse("pods.end.unscheduled>0").expect("parses");
        assert_eq!((t.op, t.bound, t.relative), (Op::Above, 0.0, false));
        let t = Threshold::parse("cost.total < -10 %").expect("parses");
        assert_eq!((t.op, t.bound, t.relative), (Op::Below, -10.0, true));
        let t = Threshold::parse_pct("cost.total=5").expect("parses");
        assert_eq!((t.op, t.bound, t.relative), (Op::Above, 5.0, true));
        for bad in ["latency.p99", "> 5%", "a > b", "a > 5 < 3", "a > inf"] {
            assert!(Threshold::parse(bad).is_err(), "{bad}");
        }
        assert!(Threshold::parse_pct("a5").is_err());
    }

    #[test]
    fn thresholds_check() {
        let diffs = [
            diff("p99", 100.0, 104.0),
            diff("unscheduled", 0.0, 2.0),
            diff("cost", 10.0, 8.0),
        ];
        // (threshold, broken?)
        let cases = [
            ("p99 > +5%", false),
            ("p99 > +3%", true),
            ("p99 > 3", true),
            ("p99 > 4", false),
            ("unscheduled > 0", true),
            ("unscheduled > +50%", true),
            ("cost < -10%", true),
            ("cost < -25%", false),
            ("cost > 0%", false),
        ];
        for (text, broken) in cases {
            let t = Threshold::parse(text).expect("parses");
            let v = check(&diffs, &[t]).expect("checks");
            assert_eq!(!v.is_empty(), broken, "{text}");
        }
        let e =
            check(&diffs, &[Threshold::parse("p98 > 1%").expect("parses")]).expect_err("unknown");
        assert!(e.to_string().contains("did you mean \"p99\""), "{e}");
    }
}
