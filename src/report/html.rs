//! `report.html`: one self-contained page (inline CSS and SVG, no scripts, no network).

use std::fmt::Write;

use super::data::{RunData, SweepData};

/// HTML-escape text.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            _ => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Verdana,sans-serif;max-width:1300px;margin:2em auto;padding:0 1em;color:#222}\
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}\
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.ok{color:#006d2c;font-weight:bold}.fail{color:#b30000;font-weight:bold}\
figure{margin:1em 0}figure svg{max-width:100%;height:auto;border:1px solid #eee}\
.muted{color:#666}";

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(title)
    )
}

fn figures(out: &mut String, svgs: &[(String, String)]) {
    out.push_str("<h2 id=\"charts\">Charts</h2>\n");
    for (title, svg) in svgs {
        let _ = writeln!(out, "<figure><figcaption>{}</figcaption>", esc(title));
        // Drop any XML prolog so the SVG can be inlined.
        let body = match svg.find("<svg") {
            Some(i) => &svg[i..],
            None => svg.as_str(),
        };
        out.push_str(body);
        out.push_str("</figure>\n");
    }
}

fn num(v: &serde_json::Value) -> String {
    match v.as_f64() {
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
        Some(x) => format!("{x:.3}"),
        None => "–".to_string(),
    }
}

/// The page of one run.
pub fn run_page(d: &RunData, svgs: &[(String, String)]) -> String {
    let s = &d.summary;
    let name = s["scenario"].as_str().unwrap_or("run");
    let m = &s["metrics"];
    let mut o = head(&format!("kubesim report: {name}"));
    let _ = writeln!(o, "<h1>{}</h1>", esc(name));
    let _ = writeln!(
        o,
        "<p class=\"muted\">kubesim {} · seed {} · report drawn from summary.json, timeseries.csv and events.csv</p>",
        esc(s["versions"]["kubesim"].as_str().unwrap_or("?")),
        num(&s["seed"])
    );
    o.push_str("<h2 id=\"brief\">Scenario in brief</h2>\n<table>\n");
    let partial = if s["partial"].as_bool().unwrap_or(false) {
        format!(
            "<span class=\"fail\">partial: {}</span>",
            esc(s["partial_reason"].as_str().unwrap_or(""))
        )
    } else {
        "complete".to_string()
    };
    for (k, v) in [
        ("duration (s)", num(&s["duration_s"])),
        ("simulated (s)", num(&s["simulated_s"])),
        ("events processed", num(&s["events_processed"])),
        ("nodes at end", num(&m["nodes.end"])),
        (
            "nodes added / removed",
            format!("{} / {}", num(&m["nodes.added"]), num(&m["nodes.removed"])),
        ),
        ("pods created", num(&m["pods.created"])),
        ("run", partial),
    ] {
        let _ = writeln!(o, "<tr><th>{}</th><td class=\"num\">{v}</td></tr>", esc(k));
    }
    o.push_str("</table>\n<h2 id=\"expectations\">Expectations</h2>\n");
    let exps = s["expectations"].as_array().cloned().unwrap_or_default();
    if exps.is_empty() {
        o.push_str("<p class=\"muted\">The scenario states no expectations.</p>\n");
    } else {
        o.push_str("<table><tr><th>metric</th><th>bound</th><th>value</th><th>verdict</th><th>written at</th></tr>\n");
        for e in &exps {
            let ok = e["passed"].as_bool().unwrap_or(false);
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{} {}</td><td class=\"num\">{}</td><td class=\"{}\">{}</td><td class=\"muted\">{}</td></tr>",
                esc(e["metric"].as_str().unwrap_or("")),
                esc(e["op"].as_str().unwrap_or("")),
                num(&e["bound"]),
                num(&e["value"]),
                if ok { "ok" } else { "fail" },
                if ok { "passed" } else { "FAILED" },
                esc(e["source"].as_str().unwrap_or(""))
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("<h2 id=\"figures\">Key figures</h2>\n<table>\n");
    for (k, key) in [
        ("pods scheduled", "pods.scheduled"),
        ("pods unscheduled at end", "pods.end.unscheduled"),
        ("failed scheduling attempts", "pods.failed_scheduling"),
        (
            "scheduling latency p50 / p99 (s)",
            "scheduling_latency_seconds",
        ),
        (
            "pod start-up (created → Ready) p50 / p99 (s)",
            "pod_startup_seconds",
        ),
        ("cost", "cost.total"),
    ] {
        let v = if m.get(format!("{key}.p50")).is_some() {
            format!(
                "{} / {}",
                num(&m[format!("{key}.p50")]),
                num(&m[format!("{key}.p99")])
            )
        } else {
            num(&m[key])
        };
        let _ = writeln!(o, "<tr><th>{}</th><td class=\"num\">{v}</td></tr>", esc(k));
    }
    o.push_str("</table>\n");
    figures(&mut o, svgs);
    o.push_str("<h2 id=\"events\">Notable events</h2>\n<p class=\"muted\">Timeline actions, node changes, client circuit breaker transitions and the first scheduling failure of each minute (events.csv has every event).</p>\n<table><tr><th>time (s)</th><th>kind</th><th>object</th><th>reason</th><th>message</th></tr>\n");
    let mut last_failed_minute = -1i64;
    let mut shown = 0;
    for e in &d.events {
        let notable = match e.kind.as_str() {
            "Timeline" | "Node" | "CircuitBreaker" => true,
            "Pod" if e.reason == "FailedScheduling" => {
                let minute = (e.time_s / 60.0) as i64;
                let first = minute != last_failed_minute;
                last_failed_minute = minute;
                first
            }
            _ => false,
        };
        if notable && shown < 300 {
            shown += 1;
            let _ = writeln!(
                o,
                "<tr><td class=\"num\">{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e.time_s,
                esc(&e.kind),
                esc(&e.object),
                esc(&e.reason),
                esc(&e.message)
            );
        }
    }
    o.push_str("</table>\n</body></html>\n");
    o
}

/// The page of one sweep.
pub fn sweep_page(d: &SweepData, svgs: &[(String, String)]) -> String {
    let meta = &d.meta;
    let mut o = head(&format!("kubesim sweep: {}", meta.name));
    let _ = writeln!(o, "<h1>Sweep {}</h1>", esc(&meta.name));
    let _ = writeln!(
        o,
        "<p class=\"muted\">report drawn from sweep.json and aggregate.csv · fingerprint {}</p>",
        esc(&meta.fingerprint)
    );
    o.push_str("<h2 id=\"brief\">Sweep in brief</h2>\n<table>\n");
    let params = if meta.parameters.is_empty() {
        "none (replications of the base scenario)".to_string()
    } else {
        meta.parameters
            .iter()
            .map(|p| esc(p))
            .collect::<Vec<_>>()
            .join("<br>")
    };
    for (k, v) in [
        ("points", meta.points.len().to_string()),
        ("replications per point", meta.replications.to_string()),
        ("master seed", meta.seed.to_string()),
        ("parameters", params),
        (
            "metrics",
            meta.metrics
                .iter()
                .map(|m| esc(m))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ] {
        let _ = writeln!(o, "<tr><th>{}</th><td>{v}</td></tr>", esc(k));
    }
    o.push_str("</table>\n");
    figures(&mut o, svgs);
    o.push_str("<h2 id=\"aggregate\">Mean and 95% confidence interval per point</h2>\n<table><tr><th>point</th>");
    for p in &meta.parameters {
        let _ = write!(o, "<th>{}</th>", esc(p));
    }
    o.push_str("<th>metric</th><th>n</th><th>mean</th><th>95% CI</th></tr>\n");
    for r in &d.rows {
        let _ = write!(o, "<tr><td class=\"num\">{}</td>", r.point);
        for v in &r.params {
            let _ = write!(
                o,
                "<td>{}</td>",
                if v.is_empty() {
                    "(base)".to_string()
                } else {
                    esc(v)
                }
            );
        }
        let mean = r.mean.map_or("–".to_string(), |m| format!("{m:.4}"));
        let ci =
            r.ci.map_or("–".to_string(), |(a, b)| format!("[{a:.4}, {b:.4}]"));
        let _ = writeln!(
            o,
            "<td>{}</td><td class=\"num\">{}</td><td class=\"num\">{mean}</td><td class=\"num\">{ci}</td></tr>",
            esc(&r.metric),
            r.n
        );
    }
    o.push_str("</table>\n</body></html>\n");
    o
}
