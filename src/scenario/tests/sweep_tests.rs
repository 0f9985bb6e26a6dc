use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

const BASE: &str = "apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: s}
spec: {seed: 1, duration: 1m}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: general}
spec: {count: 2, capacity: {cpu: \"4\", memory: 8Gi}}
";

fn sweep(spec: &str) -> Result<SweepSpec, ScenarioError> {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "base.yaml", BASE);
    let text = format!(
        "apiVersion: kubesim.dev/v1alpha1\nkind: Sweep\nmetadata: {{name: t}}\nspec:\n  scenario: base.yaml\n{spec}"
    );
    let p = write(tmp.path(), "sweep.yaml", &text);
    load_sweep(&p)
}

#[test]
fn grid_is_the_product_first_parameter_outermost() {
    let s = sweep(
        "  parameters:\n    NodePool/general:spec.count: [1, 2]\n    Scenario/s:spec.duration: [1m, 2m, 3m]\n  metrics: [cost.total]\n",
    )
    .expect("loads");
    assert_eq!(s.point_count(), 6);
    assert_eq!(s.points[0], vec![Some("1".into()), Some("1m".into())]);
    assert_eq!(s.points[1], vec![Some("1".into()), Some("2m".into())]);
    assert_eq!(s.points[5], vec![Some("2".into()), Some("3m".into())]);
    let (spec, _) = s.point_spec(4).expect("builds");
    assert_eq!(spec.nodes.len(), 2);
    assert_eq!(spec.duration.as_secs_f64(), 120.0);
}

#[test]
fn ranges() {
    let cases: &[(&str, &[&str])] = &[
        (
            "{linear: {from: 10, to: 40, steps: 4}}",
            &["10", "20", "30", "40"],
        ),
        ("{linear: {from: 0, to: 1, steps: 3}}", &["0", "0.5", "1"]),
        ("{linear: {from: 5, to: 5, steps: 1}}", &["5"]),
        ("{log: {from: 1, to: 100, steps: 3}}", &["1", "10", "100"]),
        (
            "{log: {from: 1, to: 10, steps: 3}}",
            &["1", "3.16228", "10"],
        ),
        (
            "{log: {from: 1, to: 4, steps: 7, integer: true}}",
            &["1", "2", "3", "4"],
        ),
    ];
    for (range, want) in cases {
        let s = sweep(&format!(
            "  parameters:\n    NodePool/general:spec.count: {range}\n  metrics: [cost.total]\n"
        ))
        .unwrap_or_else(|e| panic!("{range}: {e}"));
        let got: Vec<String> = s
            .points
            .iter()
            .map(|p| p[0].clone().unwrap_or_default())
            .collect();
        assert_eq!(got, *want, "{range}");
    }
}

#[test]
fn explicit_points_keep_base_values_for_unnamed_parameters() {
    let s = sweep(
        "  replications: 2\n  seed: 9\n  points:\n    - {NodePool/general:spec.count: 1}\n    - {Scenario/s:spec.duration: 2m}\n  metrics: [cost.total]\n",
    )
    .expect("loads");
    assert_eq!(
        s.parameters,
        ["NodePool/general:spec.count", "Scenario/s:spec.duration"]
    );
    assert_eq!(s.points[1], vec![None, Some("2m".into())]);
    assert_eq!((s.seed, s.replications), (9, 2));
    assert_eq!(s.point_spec(1).expect("builds").0.nodes.len(), 2);
}

#[test]
fn errors_are_located() {
    let cases: &[(&str, &str)] = &[
        (
            "  parameters:\n    NodePool/genral:spec.count: [1]\n  metrics: [a]\n",
            "sweep.yaml:7:5: Sweep/t: spec.parameters.NodePool/genral:spec.count: the scenario has no document NodePool/genral (did you mean \"NodePool/general\"?)",
        ),
        (
            "  parameters:\n    NodePool/general: [1]\n  metrics: [a]\n",
            "expected Kind/name:field.path",
        ),
        (
            "  parameters:\n    NodePool/general:spec.count: []\n  metrics: [a]\n",
            "sweep.yaml:7:34: Sweep/t: spec.parameters.NodePool/general:spec.count: list at least one value",
        ),
        ("  metrics: []\n", "list at least one metric"),
        ("  metrcs: [a]\n", "(did you mean \"metrics\"?)"),
        (
            "  parameters:\n    NodePool/general:spec.count[0]: [1]\n  metrics: [a]\n",
            "cannot set spec.count[0]: spec.count is integer 2, not a list",
        ),
        (
            "  parameters:\n    NodePool/general:spec.count: {log: {from: 0, to: 4, steps: 2}}\n  metrics: [a]\n",
            "a log range needs from > 0",
        ),
        (
            "  parameters:\n    NodePool/general:spec.count: [1]\n  points: []\n  metrics: [a]\n",
            "not both",
        ),
        (
            "  replications: 0\n  metrics: [a]\n",
            "must be greater than or equal to 1",
        ),
    ];
    for (spec, want) in cases {
        let e = sweep(spec).expect_err(spec).to_string();
        assert!(e.contains(want), "{spec}\n got: {e}\nwant: {want}");
    }
}

#[test]
fn a_bad_value_names_the_point_and_the_scenario_place() {
    let s = sweep("  parameters:\n    NodePool/general:spec.count: [1, -3]\n  metrics: [a]\n")
        .expect("loads");
    assert!(s.point_spec(0).is_ok());
    let e = s.point_spec(1).expect_err("negative").to_string();
    assert!(
        e.contains("base.yaml:9:15: NodePool/general: spec.count"),
        "{e}"
    );
    assert!(
        e.contains("(sweep point 1: NodePool/general:spec.count=-3)"),
        "{e}"
    );
}

#[test]
fn the_example_sweep_loads() {
    let s = load_sweep(Path::new("scenarios/sweeps/quickstart-capacity.yaml")).expect("loads");
    assert_eq!(s.point_count(), 6);
    for p in 0..s.point_count() {
        s.point_spec(p).expect("every point builds");
    }
}
