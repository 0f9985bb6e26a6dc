//! Golden summaries: every shipped scenario's `summary.json` content is pinned (insta). A
//! change in the model's behaviour shows up here as a reviewable diff.

use std::path::Path;
use std::sync::Arc;

use kubesim::experiment::{self, Limits, Summary};
use kubesim::scenario;

fn summary_of(path: &str) -> Summary {
    let loaded = scenario::load_path(Path::new(path)).expect("shipped scenario loads");
    let result = experiment::run(Arc::new(loaded.spec), Limits::default(), &mut |_| {});
    Summary::of(&result)
}

#[test]
fn every_shipped_scenario_has_a_golden_summary() {
    let mut files: Vec<_> = std::fs::read_dir("scenarios")
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for f in files {
        let name = f.file_stem().expect("stem").to_string_lossy().to_string();
        let mut s = summary_of(&f.to_string_lossy());
        s.versions.kubesim = "<version>".into();
        insta::assert_json_snapshot!(name, s);
    }
}
