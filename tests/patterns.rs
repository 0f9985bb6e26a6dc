//! The pattern library (`scenarios/patterns/`, docs/PATTERNS.md): each pattern's scenario run
//! with its knob at two settings, asserting the effect the pattern teaches.

use std::path::Path;
use std::sync::Arc;

use kubesim::cluster::world::{RunOutput, World};
use kubesim::experiment::{self, Limits, Summary};
use kubesim::scenario;

/// The summary of the scenario in `path` after replacing `from` by `to` in its text (each
/// replacement must apply).
fn summary_with(path: &str, edits: &[(&str, &str)]) -> Summary {
    let mut text = std::fs::read_to_string(path).expect("shipped scenario");
    for (from, to) in edits {
        assert!(text.contains(from), "{path}: no {from:?}");
        text = text.replacen(from, to, 1);
    }
    let loaded = scenario::load_str(path, &text).expect("edited scenario loads");
    let result = experiment::run(Arc::new(loaded.spec), Limits::default(), &mut |_| {});
    Summary::of(&result)
}

fn metric(s: &Summary, key: &str) -> f64 {
    *s.metrics
        .get(key)
        .unwrap_or_else(|| panic!("no metric {key}: {:?}", s.metrics.keys()))
}

fn run(path: &str) -> RunOutput {
    let loaded = scenario::load_path(Path::new(path)).expect("shipped scenario loads");
    let mut w = World::new(Arc::new(loaded.spec));
    let end = w.end();
    w.advance(end, u64::MAX);
    w.finish()
}

const INIT: &str = "scenarios/patterns/init-containers.yaml";

#[test]
fn init_containers_run_one_after_another_before_the_app() {
    let out = run(INIT);
    // Follow one pod: its init containers complete in order, the second starting only after
    // the first (its run time plus its image pull, 20 s + 3 s), then the app starts.
    let pod = out
        .recorder
        .events
        .iter()
        .find(|e| e.reason == "Started")
        .map(|e| e.object.clone())
        .expect("a pod started");
    let rows: Vec<_> = out
        .recorder
        .events
        .iter()
        .filter(|e| e.object == pod)
        .collect();
    let at = |needle: &str| {
        rows.iter()
            .find(|e| e.message.contains(needle))
            .map(|e| e.time.as_secs_f64())
            .unwrap_or_else(|| panic!("{pod}: no {needle:?} in {rows:?}"))
    };
    let first = at("Init container wait-for-db terminated with exit code 0");
    let second = at("Init container migrate terminated with exit code 0");
    let started = at("Started containers");
    assert!(
        first < second && second < started,
        "{first} {second} {started}"
    );
    // migrate: its image pulled after wait-for-db exited (3 s, serialized), then 20 s run.
    assert!(
        (second - first - 23.0).abs() < 0.01,
        "migrate done {} s after wait-for-db",
        second - first
    );
    // The app: its image pulled (3 s), then start-up (2 s).
    assert!(
        (started - second - 5.0).abs() < 0.01,
        "{}",
        started - second
    );
}

#[test]
fn init_container_run_time_adds_to_pod_startup() {
    let base = summary_with(INIT, &[]);
    let longer = summary_with(INIT, &[("migrate: 20s", "migrate: 50s")]);
    let none = summary_with(INIT, &[("wait-for-db: 5s\n    migrate: 20s", "")]);
    let p50 = |s: &Summary| metric(s, "pod_startup_seconds.p50");
    // Every second of migration is a second more before each pod is Ready.
    assert!(
        (p50(&longer) - p50(&base) - 30.0).abs() < 0.01,
        "{} vs {}",
        p50(&longer),
        p50(&base)
    );
    // Without run times the init containers still cost their image pulls (2 x 3 s).
    assert!(
        (p50(&base) - p50(&none) - 25.0).abs() < 0.01,
        "{} vs {}",
        p50(&base),
        p50(&none)
    );
}

#[test]
fn an_init_container_request_counts_when_it_is_the_largest() {
    // 1 CPU for migrate: effective request max(1000m, 250m) = 1 CPU, so 3 x 4 CPU hold 12
    // pods and the 13th stays Pending; with a 100m migrate (max(100m, 250m) = 250m) all fit.
    let big = summary_with(INIT, &[("replicas: 6", "replicas: 13")]);
    assert_eq!(metric(&big, "pods.end.unscheduled"), 1.0);
    let small = summary_with(
        INIT,
        &[
            ("replicas: 6", "replicas: 13"),
            ("{cpu: \"1\", memory: 512Mi}", "{cpu: 100m, memory: 512Mi}"),
        ],
    );
    assert_eq!(metric(&small, "pods.end.unscheduled"), 0.0);
}

const CONFIG: &str = "scenarios/patterns/config-rollout.yaml";

#[test]
fn a_checksum_annotation_change_rolls_the_deployment_once() {
    let s = summary_with(CONFIG, &[]);
    // The initial creation and the config change; the same checksum again rolls nothing.
    assert_eq!(metric(&s, "rollouts.completed"), 2.0);
    assert_eq!(metric(&s, "pods.created"), 16.0);
    assert_eq!(metric(&s, "update.web.0.min_available"), 8.0);
    assert_eq!(metric(&s, "traffic.users.failed"), 0.0);
    // Without the change, nothing rolls.
    let same = summary_with(
        CONFIG,
        &[
            (
                "checksum/config: 7c04e9d5}}}\n- {at: 2m",
                "checksum/config: 3f9a61c2}}}\n- {at: 2m",
            ),
            (
                "checksum/config: 7c04e9d5}}}\n",
                "checksum/config: 3f9a61c2}}}\n",
            ),
        ],
    );
    assert_eq!(metric(&same, "rollouts.completed"), 1.0);
    assert_eq!(metric(&same, "pods.created"), 8.0);
}

#[test]
fn more_surge_rolls_faster_with_more_pods_at_the_peak() {
    let one = summary_with(CONFIG, &[]);
    let all = summary_with(CONFIG, &[("maxSurge: 1,", "maxSurge: 100%,")]);
    let d = |s: &Summary| metric(s, "update.web.0.duration_s");
    assert!(d(&all) * 4.0 < d(&one), "{} vs {}", d(&all), d(&one));
    assert_eq!(metric(&one, "update.web.0.peak_pods"), 9.0);
    assert_eq!(metric(&all, "update.web.0.peak_pods"), 16.0);
}

#[test]
fn more_work_queue_workers_shorten_the_makespan() {
    let path = "scenarios/failures/batch-work-queue.yaml";
    let m = |p: &str| {
        let s = summary_with(path, &[("parallelism: 4", p)]);
        metric(&s, "job.render.makespan_s")
    };
    let (four, eight) = (m("parallelism: 4"), m("parallelism: 8"));
    // 60 tasks of 30 s on average: about 450 s with 4 workers, 225 s with 8, plus start-up.
    assert!((400.0..560.0).contains(&four), "{four}");
    assert!(eight < 0.6 * four, "{eight} vs {four}");
}

#[test]
fn a_smaller_canary_step_has_a_smaller_blast_radius() {
    let path = "scenarios/patterns/canary.yaml";
    let errors = |w: &str| {
        let s = summary_with(path, &[("- setWeight: 20", w)]);
        assert_eq!(metric(&s, "update.shop.0.aborted"), 1.0);
        metric(&s, "update.shop.0.new_version_errors")
    };
    let (ten, fifty) = (errors("- setWeight: 10"), errors("- setWeight: 50"));
    assert!(ten > 0.0 && ten * 2.0 < fifty, "{ten} vs {fifty}");
    // And the canary's blast radius is far below the plain rolling update's.
    let rolling = summary_with("scenarios/patterns/rolling-update.yaml", &[]);
    assert!(errors("- setWeight: 20") * 4.0 < metric(&rolling, "update.shop.0.new_version_errors"));
}

const NO_PDB: &str = "scenarios/patterns/no-pdb.yaml";

#[test]
fn a_pdb_turns_drain_downtime_into_a_slower_drain() {
    let none = summary_with(NO_PDB, &[]);
    let down = metric(&none, "traffic.users.failed.no_endpoints");
    // About 20 s (pull 10 + start 5 + ready 5) at 20 req/s.
    assert!((300.0..500.0).contains(&down), "{down}");
    assert_eq!(metric(&none, "evictions.blocked"), 0.0);
    // Removing the PDB entirely is the same run as maxUnavailable = replicas.
    let removed = summary_with(
        NO_PDB,
        &[(
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web}\nspec:\n  maxUnavailable: 3\n  selector: {matchLabels: {app: web}}\n---\n",
            "",
        )],
    );
    assert_eq!(metric(&removed, "traffic.users.failed.no_endpoints"), down);
    let pdb = summary_with(
        NO_PDB,
        &[("  maxUnavailable: 3\n", "  maxUnavailable: 1\n")],
    );
    assert_eq!(metric(&pdb, "traffic.users.failed.no_endpoints"), 0.0);
    assert!(metric(&pdb, "evictions.blocked") > 0.0);
    assert_eq!(metric(&pdb, "evictions"), 3.0);
}

const SINGLETON: &str = "scenarios/patterns/singleton-drain.yaml";

#[test]
fn a_singleton_is_down_during_a_drain_and_two_replicas_are_not() {
    let one = summary_with(SINGLETON, &[]);
    let down = metric(&one, "traffic.users.failed.no_endpoints");
    // About 23 s (pull 10 + start 5 + ready 8) at 20 req/s.
    assert!((380.0..560.0).contains(&down), "{down}");
    let two = summary_with(SINGLETON, &[("  replicas: 1\n", "  replicas: 2\n")]);
    assert_eq!(metric(&two, "traffic.users.failed.no_endpoints"), 0.0);
    assert_eq!(metric(&two, "evictions"), 1.0);
    // A PDB with minAvailable 1 on a singleton refuses every eviction: no downtime, and the
    // node never drains.
    let pdb = format!(
        "{}---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: api}}\nspec: {{minAvailable: 1, selector: {{matchLabels: {{app: api}}}}}}\n",
        std::fs::read_to_string(SINGLETON).expect("scenario")
    );
    let loaded = scenario::load_str(SINGLETON, &pdb).expect("loads");
    let s = Summary::of(&experiment::run(
        Arc::new(loaded.spec),
        Limits::default(),
        &mut |_| {},
    ));
    assert_eq!(metric(&s, "evictions"), 0.0);
    assert!(metric(&s, "evictions.blocked") > 10.0);
    assert_eq!(metric(&s, "traffic.users.failed.no_endpoints"), 0.0);
}

const FARM: &str = "scenarios/patterns/too-small-farm.yaml";

#[test]
fn three_workers_cannot_absorb_the_loss_of_one_and_four_can() {
    let three = summary_with(FARM, &[]);
    assert_eq!(metric(&three, "pods.end.unscheduled"), 3.0);
    assert_eq!(metric(&three, "deployment.app.ready_replicas"), 6.0);
    // The control plane is half of the node hours with 3 workers.
    let share = |s: &Summary| s.node_hours["control-plane"] / s.node_hours.values().sum::<f64>();
    assert!((share(&three) - 0.5).abs() < 0.01, "{}", share(&three));
    let four = summary_with(
        FARM,
        &[(
            "spec: {count: 3, zones: [a, b, c], capacity: {cpu: 3500m",
            "spec: {count: 4, zones: [a, b, c], capacity: {cpu: 3500m",
        )],
    );
    assert_eq!(metric(&four, "pods.end.unscheduled"), 0.0);
    assert_eq!(metric(&four, "deployment.app.ready_replicas"), 9.0);
    assert!(share(&four) < share(&three));
}
