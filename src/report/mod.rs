//! Charts (PNG + SVG, plotters with an embedded DejaVu Sans) and a self-contained
//! `report.html`, built from a run's or a sweep's output files only, so `kubesim report DIR`
//! redraws them without re-running. Sits between `experiment` (whose output formats it reads)
//! and `cli`.
//!
//! A run folder (`summary.json`, `timeseries.csv`, `events.csv`) gets `plots/timeseries`,
//! `plots/pods_by_phase`, `plots/node_cpu_heatmap`, `plots/latency_cdf`; a sweep folder
//! (`sweep.json`, `aggregate.csv`) gets `plots/sweep_<metric>` (mean with 95% band against the
//! first parameter, one line per value of the others) and, when it has exactly two parameters,
//! `plots/grid_<metric>` (a heatmap of the mean over the grid with a colour bar). Both get
//! `report.html` with every chart inlined as SVG.

pub mod charts;
pub mod data;
mod html;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use charts::{Chart, Series, render};
use data::{RunData, SweepData, read_run, read_sweep};

/// Why a report could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The folder holds neither a run's nor a sweep's outputs.
    #[error("{0}: no summary.json (a run) or sweep.json (a sweep) here")]
    NotAnOutputFolder(PathBuf),
    /// An input file is missing or malformed.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An output could not be written.
    #[error("{path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// What was drawn.
#[derive(Clone, Debug)]
pub struct Drawn {
    /// Chart names (files `plots/NAME.svg` and `plots/NAME.png`).
    pub charts: Vec<String>,
    /// The report file.
    pub html: PathBuf,
}

/// Draw the charts and `report.html` for the run or sweep in `dir`.
pub fn report_dir(dir: &Path) -> Result<Drawn, ReportError> {
    let plots = dir.join("plots");
    fs::create_dir_all(&plots).map_err(|e| ReportError::Write {
        path: plots.clone(),
        message: e.to_string(),
    })?;
    let (charts, page) = if dir.join("sweep.json").is_file() {
        let d = read_sweep(dir)?;
        let charts = sweep_charts(&d);
        let svgs = draw_all(&plots, &charts)?;
        (charts, html::sweep_page(&d, &svgs))
    } else if dir.join("summary.json").is_file() {
        let d = read_run(dir)?;
        let charts = run_charts(&d);
        let svgs = draw_all(&plots, &charts)?;
        (charts, html::run_page(&d, &svgs))
    } else {
        return Err(ReportError::NotAnOutputFolder(dir.to_path_buf()));
    };
    let html_path = crate::experiment::outputs::write_atomic(dir, "report.html", page.as_bytes())
        .map_err(|e| ReportError::Write {
        path: dir.join("report.html"),
        message: e.to_string(),
    })?;
    Ok(Drawn {
        charts: charts.into_iter().map(|(n, _)| n).collect(),
        html: html_path,
    })
}

fn draw_all(
    plots: &Path,
    charts: &[(String, Chart)],
) -> Result<Vec<(String, String)>, ReportError> {
    charts
        .iter()
        .map(|(name, c)| Ok((c.title().to_string(), render(plots, name, c)?)))
        .collect()
}

fn series(d: &RunData, metric: &str, object: &str, name: &str, scale: f64) -> Option<Series> {
    let pts = d.series.get(&(metric.to_string(), object.to_string()))?;
    Some(Series {
        name: name.to_string(),
        points: pts.iter().map(|(t, v)| (t / scale, *v)).collect(),
        band: Vec::new(),
    })
}

/// Time axis unit for a run of `end_s` seconds: (divisor, label).
fn time_unit(end_s: f64) -> (f64, &'static str) {
    if end_s > 4.0 * 3600.0 {
        (3600.0, "time (hours)")
    } else if end_s > 120.0 {
        (60.0, "time (minutes)")
    } else {
        (1.0, "time (seconds)")
    }
}

/// The charts of one run.
pub fn run_charts(d: &RunData) -> Vec<(String, Chart)> {
    let end = d.summary["simulated_s"].as_f64().unwrap_or(1.0);
    let (scale, x_label) = time_unit(end);
    let mut out = Vec::new();

    let markers: Vec<(f64, String)> = d
        .events
        .iter()
        .filter(|e| e.kind == "Timeline")
        .map(|e| (e.time_s / scale, format!("{} {}", e.reason, e.object)))
        .collect();
    let lines: Vec<Series> = [
        ("pods.ready", "pods ready"),
        ("pods.unscheduled", "pods unscheduled"),
        ("nodes.ready", "nodes ready"),
    ]
    .iter()
    .filter_map(|(m, n)| series(d, m, "", n, scale))
    .collect();
    out.push((
        "timeseries".to_string(),
        Chart::Lines {
            title: "Pods and nodes over time (dashed: Timeline actions)".to_string(),
            x_label: x_label.to_string(),
            y_label: "count".to_string(),
            series: lines,
            markers,
            categories: Vec::new(),
        },
    ));

    let phases: Vec<Series> = ["Running", "Pending", "Succeeded", "Failed", "Unknown"]
        .iter()
        .filter_map(|p| series(d, "pods.phase", p, p, scale))
        .filter(|s| s.points.iter().any(|p| p.1 != 0.0))
        .collect();
    out.push((
        "pods_by_phase".to_string(),
        Chart::Stacked {
            title: "Pods by phase (stacked)".to_string(),
            x_label: x_label.to_string(),
            y_label: "pods".to_string(),
            series: phases,
        },
    ));

    let columns: Vec<f64> = d
        .series
        .get(&("nodes.total".to_string(), String::new()))
        .map(|v| v.iter().map(|(t, _)| t / scale).collect())
        .unwrap_or_default();
    let mut rows = Vec::new();
    let mut values = Vec::new();
    for ((metric, node), pts) in &d.series {
        if metric != "node.cpu_requested_ratio" {
            continue;
        }
        let by_t: BTreeMap<u64, f64> = pts
            .iter()
            .map(|(t, v)| ((t / scale).to_bits(), *v))
            .collect();
        rows.push(node.clone());
        values.push(
            columns
                .iter()
                .map(|c| by_t.get(&c.to_bits()).copied().unwrap_or(0.0))
                .collect(),
        );
    }
    out.push((
        "node_cpu_heatmap".to_string(),
        Chart::Heatmap {
            title: "CPU requested / allocatable per node".to_string(),
            x_label: x_label.to_string(),
            rows,
            columns,
            values,
            max: 1.0,
        },
    ));

    // Per pod, from events.csv: first scheduling attempt, Scheduled, Started.
    type Times = (Option<f64>, Option<f64>, Option<f64>);
    let mut pods: BTreeMap<&str, Times> = BTreeMap::new();
    for e in d.events.iter().filter(|e| e.kind == "Pod") {
        let p = pods.entry(e.object.as_str()).or_default();
        match e.reason.as_str() {
            "FailedScheduling" => p.0 = p.0.or(Some(e.time_s)),
            "Scheduled" => {
                p.0 = p.0.or(Some(e.time_s));
                p.1 = p.1.or(Some(e.time_s));
            }
            "Started" => p.2 = p.2.or(Some(e.time_s)),
            _ => {}
        }
    }
    let ecdf = |name: &str, mut v: Vec<f64>| -> Series {
        v.sort_by(f64::total_cmp);
        let n = v.len() as f64;
        let mut points = Vec::with_capacity(v.len() * 2);
        for (i, x) in v.iter().enumerate() {
            points.push((*x, i as f64 / n));
            points.push((*x, (i + 1) as f64 / n));
        }
        Series {
            name: format!("{name} (n={})", v.len()),
            points,
            band: Vec::new(),
        }
    };
    let wait: Vec<f64> = pods.values().filter_map(|p| Some(p.1? - p.0?)).collect();
    let start: Vec<f64> = pods.values().filter_map(|p| Some(p.2? - p.1?)).collect();
    out.push((
        "latency_cdf".to_string(),
        Chart::Lines {
            title: "Pod latency CDF (from events.csv)".to_string(),
            x_label: "seconds".to_string(),
            y_label: "fraction of pods".to_string(),
            series: vec![
                ecdf("first scheduling attempt -> Scheduled", wait),
                ecdf("Scheduled -> Started (pull + start)", start),
            ],
            markers: Vec::new(),
            categories: Vec::new(),
        },
    ));
    out
}

/// File-name-safe form of a metric key.
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The charts of a sweep: per metric, mean and 95% band against the first parameter, one line
/// per combination of the other parameters.
pub fn sweep_charts(d: &SweepData) -> Vec<(String, Chart)> {
    let mut out = Vec::new();
    let x_name = d
        .meta
        .parameters
        .first()
        .cloned()
        .unwrap_or_else(|| "point".to_string());
    // X values: numeric if every first-parameter value parses, else categories in first-seen order.
    let firsts: Vec<String> = d
        .rows
        .iter()
        .map(|r| {
            r.params
                .first()
                .cloned()
                .unwrap_or_else(|| r.point.to_string())
        })
        .collect();
    let numeric = firsts.iter().all(|v| v.parse::<f64>().is_ok());
    let mut categories: Vec<String> = Vec::new();
    for v in &firsts {
        if !categories.contains(v) {
            categories.push(v.clone());
        }
    }
    for metric in &d.meta.metrics {
        let mut groups: BTreeMap<String, Series> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        for (r, first) in d.rows.iter().zip(&firsts) {
            if &r.metric != metric {
                continue;
            }
            let Some(mean) = r.mean else { continue };
            let x = if numeric {
                first.parse::<f64>().unwrap_or(0.0)
            } else {
                categories.iter().position(|c| c == first).unwrap_or(0) as f64
            };
            let key: Vec<String> = d
                .meta
                .parameters
                .iter()
                .zip(&r.params)
                .skip(1)
                .map(|(p, v)| {
                    let short = p.rsplit(['.', ':']).next().unwrap_or(p);
                    format!("{short}={}", if v.is_empty() { "base" } else { v })
                })
                .collect();
            let key = if key.is_empty() {
                "mean".to_string()
            } else {
                key.join(", ")
            };
            if !order.contains(&key) {
                order.push(key.clone());
            }
            let s = groups.entry(key.clone()).or_insert_with(|| Series {
                name: key,
                points: Vec::new(),
                band: Vec::new(),
            });
            s.points.push((x, mean));
            if let Some((lo, hi)) = r.ci {
                s.band.push((x, lo, hi));
            }
        }
        let mut series: Vec<Series> = order.iter().filter_map(|k| groups.remove(k)).collect();
        for s in &mut series {
            s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
            s.band.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        out.push((
            format!("sweep_{}", slug(metric)),
            Chart::Lines {
                title: format!(
                    "{metric}: mean and 95% CI over {} replications",
                    d.meta.replications
                ),
                x_label: x_name.clone(),
                y_label: metric.clone(),
                series,
                markers: Vec::new(),
                categories: if numeric {
                    Vec::new()
                } else {
                    categories.clone()
                },
            },
        ));
    }
    out.extend(sweep_grids(d));
    out
}

/// The unit of a sweep parameter, from its path (`Kind/name:field.path`): what an axis label
/// shows after the path.
pub fn parameter_unit(path: &str) -> &'static str {
    let (kind, field) = path.split_once(':').unwrap_or(("", path));
    let last = field.rsplit('.').next().unwrap_or(field);
    if kind.starts_with("NodePool/") && last == "count" {
        "nodes"
    } else if last.ends_with("eplicas") || last.ends_with("ReplicaCount") {
        "pods"
    } else if last == "averageUtilization" {
        "% of request"
    } else if last == "cpu" {
        "CPU cores, m = 1/1000"
    } else if last == "memory" {
        "bytes, Ki/Mi/Gi"
    } else if last == "rate" {
        "requests/s"
    } else if last == "pricePerHour" {
        "per node-hour"
    } else if last.ends_with("Seconds") || last == "pollingInterval" || last == "cooldownPeriod" {
        "s"
    } else if last.ends_with("Delay")
        || last.ends_with("Time")
        || last.ends_with("Period")
        || last == "duration"
        || last == "timeout"
    {
        "duration"
    } else {
        "value"
    }
}

/// The unit of a summary metric key (`docs/OUTPUTS.md`), for a colour scale or an axis.
pub fn metric_unit(metric: &str) -> &'static str {
    if metric.ends_with("per_million_requests") {
        "currency per million requests"
    } else if metric.starts_with("cost.") && metric.ends_with("fraction") {
        "fraction"
    } else if metric.starts_with("cost.") {
        "currency"
    } else if metric.contains("seconds") || metric.ends_with("_s") || metric.contains("latency") {
        "s"
    } else if metric.contains("rate") || metric.contains("ratio") || metric.contains("fraction") {
        "fraction"
    } else if metric.contains("node_hours") {
        "node-hours"
    } else {
        "count"
    }
}

/// For a sweep over exactly two parameters: per metric, a heatmap of its mean over the grid
/// (`plots/grid_<metric>`), the first parameter across, the second up, values in the order
/// the sweep lists them.
pub fn sweep_grids(d: &SweepData) -> Vec<(String, Chart)> {
    let params = &d.meta.parameters;
    if params.len() != 2 {
        return Vec::new();
    }
    let shown =
        |v: Option<&Option<String>>| v.cloned().flatten().unwrap_or_else(|| "(base)".to_string());
    let mut xs: Vec<String> = Vec::new();
    let mut ys: Vec<String> = Vec::new();
    for p in &d.meta.points {
        let (x, y) = (shown(p.first()), shown(p.get(1)));
        if !xs.contains(&x) {
            xs.push(x);
        }
        if !ys.contains(&y) {
            ys.push(y);
        }
    }
    let cell_of = |point: usize| -> Option<(usize, usize)> {
        let p = d.meta.points.get(point)?;
        let x = xs.iter().position(|v| *v == shown(p.first()))?;
        let y = ys.iter().position(|v| *v == shown(p.get(1)))?;
        Some((x, y))
    };
    let label = |p: &str| format!("{p} ({})", parameter_unit(p));
    d.meta
        .metrics
        .iter()
        .map(|metric| {
            let mut cells: Vec<((usize, usize), Option<f64>)> = (0..d.meta.points.len())
                .filter_map(|i| Some((cell_of(i)?, None)))
                .collect();
            for r in d.rows.iter().filter(|r| &r.metric == metric) {
                if let Some(cell) = cell_of(r.point)
                    && let Some(c) = cells.iter_mut().find(|(k, _)| *k == cell)
                {
                    c.1 = r.mean;
                }
            }
            let unit = metric_unit(metric);
            (
                format!("grid_{}", slug(metric)),
                Chart::Grid {
                    title: format!(
                        "{metric} ({unit}): mean of {} replications per point",
                        d.meta.replications
                    ),
                    x_label: label(&params[0]),
                    y_label: label(&params[1]),
                    x_ticks: xs.clone(),
                    y_ticks: ys.clone(),
                    cells,
                    value_label: unit.to_string(),
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
