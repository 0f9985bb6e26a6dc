//! Draws the growth curve written by `benches/scale/growth.sh` with kubesim's own chart code:
//! `growth-cpu.{svg,png}` (CPU time per run against the scale factor, with the line a linear
//! growth from 1x would follow) and `growth-rate.{svg,png}` (events per CPU second).
//!
//! Run: `growth-plot <growth.csv> <out dir>`; the CSV's columns are those `growth.sh` writes
//! (`scale,nodes,pods,requests,events,user_s,sys_s,wall_s,max_rss_kb,load_1m`).

use std::path::Path;
use std::process::ExitCode;

use kubesim::report::charts::{Chart, Series, render};

/// One run of the growth curve.
struct Row {
    scale: f64,
    events: f64,
    /// User + system CPU seconds.
    cpu_s: f64,
}

/// Reads the rows of `path` (header first).
fn read(path: &Path) -> Result<Vec<Row>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty file")?.split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or(format!("no column {name:?}"))
    };
    let (scale, events, user, sys) = (col("scale")?, col("events")?, col("user_s")?, col("sys_s")?);
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |c: usize| -> Result<f64, String> {
            f.get(c).and_then(|v| v.trim().parse().ok()).ok_or(format!(
                "{}:{}: column {} is not a number",
                path.display(),
                i + 2,
                c + 1
            ))
        };
        rows.push(Row {
            scale: num(scale)?,
            events: num(events)?,
            cpu_s: num(user)? + num(sys)?,
        });
    }
    if rows.is_empty() {
        return Err(format!("{}: no rows", path.display()));
    }
    Ok(rows)
}

fn run(csv: &Path, out: &Path) -> Result<(), String> {
    let rows = read(csv)?;
    let base = &rows[0];
    let line = |name: &str, points: Vec<(f64, f64)>| Series {
        name: name.to_string(),
        points,
        band: vec![],
    };
    let cpu = Chart::Lines {
        title: "24 h scale scenario: CPU time against size (nodes, pods and request rate x k)"
            .into(),
        x_label: "scale factor k (1 = 1,000 nodes, 500 req/s)".into(),
        y_label: "CPU time per run (user + system), s".into(),
        series: vec![
            line(
                "measured",
                rows.iter().map(|r| (r.scale, r.cpu_s)).collect(),
            ),
            line(
                "linear from 1x",
                rows.iter()
                    .map(|r| (r.scale, base.cpu_s * r.scale / base.scale))
                    .collect(),
            ),
        ],
        markers: vec![],
        categories: vec![],
    };
    let rate = Chart::Lines {
        title: "24 h scale scenario: simulation speed against size".into(),
        x_label: "scale factor k (1 = 1,000 nodes, 500 req/s)".into(),
        y_label: "events per CPU second (millions)".into(),
        series: vec![line(
            "events / CPU s",
            rows.iter()
                .map(|r| (r.scale, r.events / r.cpu_s.max(1e-9) / 1e6))
                .collect(),
        )],
        markers: vec![],
        categories: vec![],
    };
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    render(out, "growth-cpu", &cpu).map_err(|e| e.to_string())?;
    render(out, "growth-rate", &rate).map_err(|e| e.to_string())?;
    println!(
        "wrote {0}/growth-cpu.svg and {0}/growth-rate.svg",
        out.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [csv, out] = args.as_slice() else {
        eprintln!("usage: growth-plot <growth.csv> <out dir>");
        return ExitCode::from(2);
    };
    match run(Path::new(csv), Path::new(out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
