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
