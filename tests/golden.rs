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

fn yaml_files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("scenario folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_shipped_scenario_has_a_golden_summary() {
    let files = yaml_files("scenarios");
    assert!(!files.is_empty());
    for f in files {
        let name = f.file_stem().expect("stem").to_string_lossy().to_string();
        let mut s = summary_of(&f.to_string_lossy());
        s.versions.kubesim = "<version>".into();
        insta::assert_json_snapshot!(name, s);
    }
}

#[test]
fn every_failure_scenario_has_a_golden_summary() {
    let files = yaml_files("scenarios/failures");
    assert!(!files.is_empty());
    for f in files {
        let stem = f.file_stem().expect("stem").to_string_lossy().to_string();
        let mut s = summary_of(&f.to_string_lossy());
        assert!(s.expectations_passed, "{stem}: {:?}", s.expectations);
        s.versions.kubesim = "<version>".into();
        insta::assert_json_snapshot!(format!("failures__{stem}"), s);
    }
}

#[test]
fn every_pattern_scenario_has_a_golden_summary() {
    let files = yaml_files("scenarios/patterns");
    assert!(!files.is_empty());
    for f in files {
        let stem = f.file_stem().expect("stem").to_string_lossy().to_string();
        let mut s = summary_of(&f.to_string_lossy());
        assert!(s.expectations_passed, "{stem}: {:?}", s.expectations);
        s.versions.kubesim = "<version>".into();
        insta::assert_json_snapshot!(format!("patterns__{stem}"), s);
    }
}

#[test]
fn every_capacity_scenario_has_a_golden_summary() {
    let files = yaml_files("scenarios/capacity");
    assert!(!files.is_empty());
    for f in files {
        let stem = f.file_stem().expect("stem").to_string_lossy().to_string();
        let mut s = summary_of(&f.to_string_lossy());
        assert!(s.expectations_passed, "{stem}: {:?}", s.expectations);
        s.versions.kubesim = "<version>".into();
        insta::assert_json_snapshot!(format!("capacity__{stem}"), s);
    }
}
