//! The determinism contract: the same seed twice gives byte-identical output files, another
//! seed gives different ones.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use kubesim::experiment::{self, Limits};
use kubesim::scenario;

fn run_to(dir: &Path, seed: Option<u64>) -> Vec<Vec<u8>> {
    let mut loaded =
        scenario::load_path(Path::new("scenarios/quickstart.yaml")).expect("quickstart loads");
    if let Some(s) = seed {
        loaded.spec.seed = s;
    }
    let result = experiment::run(Arc::new(loaded.spec), Limits::default(), &mut |_| {});
    experiment::write_outputs(dir, &result).expect("outputs written");
    ["events.csv", "timeseries.csv", "summary.json"]
        .iter()
        .map(|f| fs::read(dir.join(f)).expect("file exists"))
        .collect()
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_does_not() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let a = run_to(&tmp.path().join("a"), None);
    let b = run_to(&tmp.path().join("b"), None);
    assert_eq!(a, b, "two runs with the same seed differ");
    let c = run_to(&tmp.path().join("c"), Some(4242));
    assert_ne!(a[0], c[0], "events.csv does not depend on the seed");
    assert_ne!(a[2], c[2], "summary.json does not depend on the seed");
    // No temporary files are left behind.
    for entry in fs::read_dir(tmp.path().join("a")).expect("dir") {
        let name = entry.expect("entry").file_name();
        assert!(
            !name.to_string_lossy().ends_with(".tmp"),
            "leftover {name:?}"
        );
    }
}

#[test]
fn progress_slicing_does_not_change_the_run() {
    // The trace hash covers every event's (time, seq, target): equal hashes, equal runs.
    let loaded = scenario::load_path(Path::new("scenarios/quickstart.yaml")).expect("loads");
    let spec = Arc::new(loaded.spec);
    let sliced = experiment::run(Arc::clone(&spec), Limits::default(), &mut |_| {});
    let mut world = kubesim::cluster::world::World::new(spec);
    world.advance(world.end(), u64::MAX);
    let whole = world.finish();
    assert_eq!(sliced.output.trace_hash, whole.trace_hash);
    assert_eq!(sliced.output.events_processed, whole.events_processed);
}

/// Streaming the time series to its file as the run goes (what `kubesim run` does) writes the
/// same bytes as keeping the rows and writing them at the end, including a run cut short; and
/// the rows leave the recorder as they go.
#[test]
fn streamed_outputs_equal_in_memory_outputs() {
    use kubesim::cluster::world::WorldOptions;
    use std::sync::atomic::AtomicBool;
    let tmp = tempfile::tempdir().expect("tempdir");
    let loaded = scenario::load_path(Path::new("scenarios/quickstart.yaml")).expect("loads");
    let spec = Arc::new(loaded.spec);
    for max_events in [None, Some(300)] {
        let limits = Limits {
            max_events,
            ..Limits::default()
        };
        let kept = tmp.path().join(format!("kept-{max_events:?}"));
        let result = experiment::run(Arc::clone(&spec), limits, &mut |_| {});
        assert!(!result.output.recorder.samples.is_empty());
        experiment::write_outputs(&kept, &result).expect("written");

        let streamed = tmp.path().join(format!("streamed-{max_events:?}"));
        let mut series = experiment::TimeseriesFile::create(&streamed).expect("created");
        let result = experiment::run_streaming(
            Arc::clone(&spec),
            &WorldOptions::default(),
            limits,
            &AtomicBool::new(false),
            &mut series,
            &mut |_| {},
        )
        .expect("runs");
        assert!(
            result.output.recorder.samples.is_empty(),
            "rows were streamed"
        );
        assert_eq!(
            result.partial.is_some(),
            max_events.is_some(),
            "the cut run is partial"
        );
        assert!(
            !streamed.join("timeseries.csv").exists(),
            "no timeseries.csv before the run is finished"
        );
        experiment::write_outputs_streamed(&streamed, &result, series).expect("written");
        for f in ["events.csv", "timeseries.csv", "summary.json"] {
            assert_eq!(
                fs::read(kept.join(f)).expect("kept"),
                fs::read(streamed.join(f)).expect("streamed"),
                "{f} with max_events {max_events:?}"
            );
        }
        assert!(!streamed.join(".timeseries.csv.tmp").exists());
    }
}
