//! A short, always-on version of the fuzz targets in `fuzz/` (which need a nightly toolchain and
//! run for minutes): random YAML-ish text, and random edits of the shipped scenarios, never make
//! the loader or the quantity / duration parsers panic, and every refusal is one line.

use proptest::prelude::*;

use kubesim::scenario::duration::{format_duration, parse_duration};
use kubesim::scenario::load_str;
use kubesim::scenario::quantity::parse_quantity;

/// Words the loader cares about, so random text often gets past the YAML parser and into the
/// typed readers.
const WORDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "spec",
    "v1",
    "apps/v1",
    "kubesim.dev/v1alpha1",
    "autoscaling/v2",
    "policy/v1",
    "Scenario",
    "NodePool",
    "Deployment",
    "Service",
    "Traffic",
    "Timeline",
    "Behavior",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Job",
    "Node",
    "duration",
    "count",
    "capacity",
    "cpu",
    "memory",
    "replicas",
    "selector",
    "matchLabels",
    "template",
    "containers",
    "image",
    "labels",
    "at",
    "scale",
    "deployment",
    "addNodes",
    "pool",
    "drainNode",
    "node",
    "rate",
    "service",
    "minAvailable",
    "maxReplicas",
    "scaleTargetRef",
    "1h",
    "90s",
    "-1",
    "0",
    "500m",
    "1.5Gi",
    "1e308",
    "10/s",
    "100%",
    "null",
    "~",
    "true",
    "web",
    "pool-0",
    "app",
    "\"\"",
    "'x'",
    "&a",
    "*a",
    "!!str",
    "? ",
    "|",
    ">",
];
const PUNCT: &[&str] = &[
    ": ", ", ", "{", "}", "[", "]", "\n", "\n  ", "\n    ", "\n- ", "\n---\n", " ", "#",
];

fn yamlish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(WORDS).prop_map(str::to_string),
            3 => prop::sample::select(PUNCT).prop_map(str::to_string),
            1 => "[ -~]{0,6}",
            1 => any::<char>().prop_map(String::from),
        ],
        0..80,
    )
    .prop_map(|parts| parts.concat())
}

fn shipped() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut out = Vec::new();
    for dir in [root.clone(), root.join("failures"), root.join("patterns")] {
        for e in std::fs::read_dir(dir).expect("scenarios") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "yaml") {
                out.push(std::fs::read_to_string(p).expect("read"));
            }
        }
    }
    out.sort();
    out
}

fn one_line(text: &str) -> Result<(), TestCaseError> {
    if let Err(e) = load_str("t.yaml", text) {
        let msg = e.to_string();
        prop_assert!(!msg.contains('\n') && !msg.contains('\r'), "{msg:?}");
        prop_assert!(msg.starts_with("t.yaml:"), "{msg}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn yamlish_text_never_panics_the_loader(text in yamlish()) {
        one_line(&text)?;
        // The same words under a valid head, so the typed readers see them.
        one_line(&format!(
            "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nmetadata: {{name: s}}\nspec: {{duration: 1h}}\n---\n{text}"
        ))?;
    }

    #[test]
    fn edited_shipped_scenarios_never_panic_the_loader(
        which in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..8, yamlish()), 1..4),
    ) {
        let all = shipped();
        let mut text = which.get(&all).clone();
        for (at, cut, insert) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            let mut j = (i + cut).min(text.len());
            while !text.is_char_boundary(j) {
                j += 1;
            }
            text.replace_range(i..j, &insert);
        }
        one_line(&text)?;
    }

    #[test]
    fn quantities_and_durations_never_panic(text in "[-+0-9.eEkKMGTPimnu/sdh ]{0,24}") {
        if let Ok(q) = parse_quantity(&text) {
            let _ = (q.milli_value(), q.value(), q.as_f64());
            let back = parse_quantity(&q.to_string());
            prop_assert_eq!(back.ok(), Some(q), "{:?}", text);
        }
        if let Ok(ns) = parse_duration(&text) {
            prop_assert_eq!(parse_duration(&format_duration(ns)).ok(), Some(ns), "{:?}", text);
        }
    }
}
