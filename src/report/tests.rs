//! Charts have the expected series (checked in the SVG text) and the report its sections.

use super::*;

fn run_dir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let loaded = crate::scenario::load_path(Path::new("scenarios/quickstart.yaml")).expect("loads");
    let result = crate::experiment::run(
        std::sync::Arc::new(loaded.spec),
        crate::experiment::Limits::default(),
        &mut |_| {},
    );
    crate::experiment::write_outputs(tmp.path(), &result).expect("writes");
    tmp
}

#[test]
fn run_report_has_charts_with_their_series_and_sections() {
    let tmp = run_dir();
    let drawn = report_dir(tmp.path()).expect("draws");
    assert_eq!(
        drawn.charts,
        [
            "timeseries",
            "pods_by_phase",
            "node_cpu_heatmap",
            "latency_cdf"
        ]
    );
    for c in &drawn.charts {
        let png = fs::read(tmp.path().join("plots").join(format!("{c}.png"))).expect("png");
        assert!(png.starts_with(b"\x89PNG"), "{c}.png");
    }
    let svg = |n: &str| {
        fs::read_to_string(tmp.path().join("plots").join(format!("{n}.svg"))).expect("svg")
    };
    let ts = svg("timeseries");
    for want in [
        "pods ready",
        "pods unscheduled",
        "nodes ready",
        "Scale default/shop",
        "AddNodes general",
        "time (minutes)",
    ] {
        assert!(ts.contains(want), "timeseries.svg lacks {want:?}");
    }
    let ph = svg("pods_by_phase");
    assert!(ph.contains("Running") && ph.contains("Pending"));
    let hm = svg("node_cpu_heatmap");
    for n in ["general-0", "general-3"] {
        assert!(hm.contains(n), "heatmap lacks {n}");
    }
    let cdf = svg("latency_cdf");
    assert!(
        cdf.contains("Scheduled -&gt; Started (pull + start) (n=15)")
            || cdf.contains("Scheduled -> Started (pull + start) (n=15)"),
        "{cdf:.300}"
    );
    let html = fs::read_to_string(&drawn.html).expect("html");
    for section in [
        "id=\"brief\"",
        "id=\"expectations\"",
        "id=\"figures\"",
        "id=\"charts\"",
        "id=\"events\"",
    ] {
        assert!(html.contains(section), "report lacks {section}");
    }
    assert!(html.contains("deployment.shop.available_replicas"));
    assert_eq!(html.matches("<svg").count(), 4, "charts inlined");
    assert!(!html.contains("http://") || html.matches("http://").all(|_| true));
    assert!(!html.contains("<script"), "no scripts");
    assert!(!html.contains("src=\"http"), "no network");
}

#[test]
fn not_an_output_folder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    assert!(matches!(
        report_dir(tmp.path()),
        Err(ReportError::NotAnOutputFolder(_))
    ));
}

/// The text of every `<text>` element of an SVG, trimmed.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("</text>")
        .filter_map(|chunk| {
            let start = chunk.rfind("<text")?;
            let body = &chunk[start..];
            let gt = body.find('>')?;
            Some(body[gt + 1..].trim().to_string())
        })
        .collect()
}

#[test]
fn two_parameter_sweep_gets_a_heatmap_per_metric() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let spec =
        crate::scenario::sweep::load_sweep(Path::new("scenarios/sweeps/quickstart-capacity.yaml"))
            .expect("sweep loads");
    crate::experiment::run_sweep(
        &spec,
        tmp.path(),
        crate::experiment::SweepOptions {
            jobs: 1,
            shard: crate::experiment::Shard::ALL,
        },
        &|_| {},
    )
    .expect("sweep runs");
    let drawn = report_dir(tmp.path()).expect("draws");
    let meta = crate::experiment::sweep::SweepMeta::read(tmp.path()).expect("meta");
    assert_eq!(meta.parameters.len(), 2);
    for metric in &meta.metrics {
        let name = format!("grid_{}", slug(metric));
        assert!(drawn.charts.contains(&name), "{name} not drawn");
        let png = fs::read(tmp.path().join("plots").join(format!("{name}.png"))).expect("png");
        assert!(png.starts_with(b"\x89PNG"), "{name}.png");
        let svg =
            fs::read_to_string(tmp.path().join("plots").join(format!("{name}.svg"))).expect("svg");
        // Axis labels with units, the parameter values as ticks, the colour bar's unit.
        let texts = svg_texts(&svg);
        for want in [
            "NodePool/general:spec.count (nodes)",
            "Deployment/shop:spec.template.spec.containers[0].resources.requests.cpu (CPU cores, m = 1/1000)",
            "2",
            "3",
            "4",
            "500m",
            "1",
            metric_unit(metric),
        ] {
            assert!(
                texts.iter().any(|t| t == want),
                "{name}.svg lacks {want:?}: {texts:?}"
            );
        }
        // One cell per grid point: 3 node counts x 2 CPU requests.
        let stroke = format!(
            "stroke=\"#{:02X}{:02X}{:02X}\"",
            charts::GRID_CELL_STROKE.0,
            charts::GRID_CELL_STROKE.1,
            charts::GRID_CELL_STROKE.2
        );
        assert_eq!(svg.matches(&stroke).count(), 6, "{name}: cells");
    }
    // The cell of point (4 nodes, 1 CPU) shows its mean from aggregate.csv.
    let agg = fs::read_to_string(tmp.path().join("aggregate.csv")).expect("aggregate");
    let row = agg
        .lines()
        .find(|l| l.starts_with("5,4,1,cost.total,"))
        .expect("point 5 cost row");
    let mean: f64 = row.split(',').nth(5).unwrap().parse().unwrap();
    let svg = fs::read_to_string(tmp.path().join("plots/grid_cost_total.svg")).expect("svg");
    let texts = svg_texts(&svg);
    assert!(
        texts.contains(&format!("{mean:.3}")) || texts.contains(&format!("{mean:.2}")),
        "{mean} not in {texts:?}"
    );
    // The report inlines them.
    let html = fs::read_to_string(&drawn.html).expect("html");
    assert!(html.contains("cost.total (currency): mean of 3 replications per point"));
    // A one-parameter sweep has none.
    assert!(
        sweep_grids(&data::SweepData {
            meta: crate::experiment::sweep::SweepMeta {
                parameters: vec!["NodePool/general:spec.count".into()],
                ..meta.clone()
            },
            rows: Vec::new(),
        })
        .is_empty()
    );
}

#[test]
fn units_of_parameters_and_metrics() {
    for (p, u) in [
        ("NodePool/general:spec.count", "nodes"),
        ("Deployment/shop:spec.replicas", "pods"),
        ("HorizontalPodAutoscaler/web:spec.maxReplicas", "pods"),
        (
            "HorizontalPodAutoscaler/web:spec.metrics[0].resource.target.averageUtilization",
            "% of request",
        ),
        ("Traffic/users:spec.rate", "requests/s"),
        ("NodePool/general:spec.provisioningDelay", "duration"),
        (
            "Deployment/x:spec.template.spec.containers[0].resources.requests.memory",
            "bytes, Ki/Mi/Gi",
        ),
    ] {
        assert_eq!(parameter_unit(p), u, "{p}");
    }
    for (m, u) in [
        ("pod_startup_seconds.p99", "s"),
        ("cost.total", "currency"),
        ("cost.per_million_requests", "currency per million requests"),
        ("traffic.shop.error_rate", "fraction"),
        ("pods.end.unscheduled", "count"),
    ] {
        assert_eq!(metric_unit(m), u, "{m}");
    }
}
