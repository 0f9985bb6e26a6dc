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

/// The run of the scenario in `path` after replacing `from` by `to` in its text.
fn run_with(path: &str, edits: &[(&str, &str)]) -> RunOutput {
    let mut text = std::fs::read_to_string(path).expect("shipped scenario");
    for (from, to) in edits {
        assert!(text.contains(from), "{path}: no {from:?}");
        text = text.replacen(from, to, 1);
    }
    let loaded = scenario::load_str(path, &text).expect("edited scenario loads");
    let mut w = World::new(Arc::new(loaded.spec));
    let end = w.end();
    w.advance(end, u64::MAX);
    w.finish()
}

const LEADER: &str = "scenarios/patterns/leader-election.yaml";

#[test]
fn the_failover_gap_grows_with_the_lease_duration() {
    let gap = |lease: &str| {
        let s = summary_with(LEADER, &[("leaseDuration: 15s", lease)]);
        assert_eq!(metric(&s, "leader.controller-lease.failovers"), 2.0);
        assert_eq!(metric(&s, "leader.controller-lease.has_leader_at_end"), 1.0);
        metric(&s, "leader.controller-lease.max_gap_s")
    };
    // A standby takes over once the lease was not renewed for leaseDuration, counted from when
    // it last saw the lease change (up to one retryPeriod before the kill) and checked every
    // retryPeriod x (1 + 1.2 U): the gap is leaseDuration - 2 s .. leaseDuration + 4.4 s.
    let short = gap("leaseDuration: 5s");
    let long = gap("leaseDuration: 30s");
    for (lease, g) in [(5.0, short), (30.0, long)] {
        assert!(
            g > lease - 2.0 && g < lease + 4.5,
            "lease {lease} s: gap {g} s"
        );
    }
    assert!(long > short + 20.0, "{short} vs {long}");
}

const STATEFUL: &str = "scenarios/patterns/stateful-service.yaml";

/// When `pod`'s first container start was recorded, seconds.
fn first_started(out: &RunOutput, pod: &str) -> f64 {
    let suffix = format!("/{pod}");
    out.recorder
        .events
        .iter()
        .find(|e| e.reason == "Started" && e.object.ends_with(&suffix))
        .map(|e| e.time.as_secs_f64())
        .unwrap_or_else(|| panic!("{pod} never started"))
}

#[test]
fn ordered_ready_starts_the_replicas_one_after_another_parallel_at_once() {
    let ordered = run_with(STATEFUL, &[]);
    let parallel = run_with(
        STATEFUL,
        &[(
            "\n  podManagementPolicy: OrderedReady",
            "\n  podManagementPolicy: Parallel",
        )],
    );
    let starts = |o: &RunOutput| -> Vec<f64> {
        (0..4)
            .map(|i| first_started(o, &format!("db-{i}")))
            .collect()
    };
    let (o, p) = (starts(&ordered), starts(&parallel));
    // OrderedReady: db-i+1 is created once db-i is Ready (5 s after it started), then pulls
    // (3 s) and starts (10 s): 18 s apart, plus scheduling and kubelet latencies.
    for w in o.windows(2) {
        let gap = w[1] - w[0];
        assert!((18.0..20.0).contains(&gap), "ordered starts {o:?}");
    }
    // Parallel: all four start together.
    let spread =
        p.iter().cloned().fold(f64::MIN, f64::max) - p.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread < 1.0, "parallel starts {p:?}");
    // The set is whole after about 4 start-ups instead of one.
    let whole = |s: &[f64]| s.iter().cloned().fold(f64::MIN, f64::max) + 5.0;
    let ratio = whole(&o) / whole(&p);
    assert!((3.5..4.5).contains(&ratio), "{o:?} vs {p:?}");
}

#[test]
fn the_partition_stages_the_roll_and_replicas_stay_in_their_volume_zone() {
    let staged = summary_with(STATEFUL, &[]);
    assert_eq!(metric(&staged, "statefulset.db.updated_replicas"), 2.0);
    assert_eq!(metric(&staged, "pods.created"), 6.0);
    let full = summary_with(STATEFUL, &[("partition: 2", "partition: 0")]);
    assert_eq!(metric(&full, "statefulset.db.updated_replicas"), 4.0);
    assert_eq!(metric(&full, "pods.created"), 8.0);
    assert_eq!(metric(&full, "statefulset.db.ready_replicas"), 4.0);
    // Every replacement runs in the zone of its replica's volume.
    let out = run_with(STATEFUL, &[("partition: 2", "partition: 0")]);
    let mut checked = 0;
    for pod in out.store.pods.values() {
        if pod.workload != "db" && !pod.name.starts_with("db-") {
            continue;
        }
        let Some(node) = &pod.node else { continue };
        let zone = out.store.nodes[node]
            .labels
            .get("topology.kubernetes.io/zone")
            .cloned();
        let claim = out
            .store
            .volume_claims
            .iter()
            .find(|(k, _)| k.ends_with(&format!("data-{}", pod.name)))
            .map(|(_, c)| c.zone.clone())
            .unwrap_or_else(|| panic!("no claim for {}", pod.name));
        assert_eq!(zone, claim, "{}", pod.name);
        checked += 1;
    }
    assert_eq!(checked, 4);
}

const SHARDED: &str = "scenarios/patterns/sharded-service.yaml";

#[test]
fn the_hot_shard_queues_while_the_others_idle_and_more_shards_do_not_help() {
    let p99 = |s: &Summary, t: &str| metric(s, &format!("traffic.{t}.latency.p99"));
    let skewed = summary_with(SHARDED, &[]);
    assert!(
        p99(&skewed, "hot-users") > 2.0 * p99(&skewed, "cold-users-1"),
        "{} vs {}",
        p99(&skewed, "hot-users"),
        p99(&skewed, "cold-users-1")
    );
    // Without skew the shard that was hot answers like the others.
    let even = summary_with(SHARDED, &[("rate: 90/s", "rate: 20/s")]);
    let ratio = p99(&even, "hot-users") / p99(&even, "cold-users-1");
    assert!((0.7..1.4).contains(&ratio), "{ratio}");
    // Six shards instead of three: the new ones take none of shard 0's keys.
    let more = summary_with(SHARDED, &[("replicas: 3", "replicas: 6")]);
    assert_eq!(metric(&more, "statefulset.cache.ready_replicas"), 6.0);
    assert!(
        p99(&more, "hot-users") > 2.0 * p99(&more, "cold-users-1"),
        "{} vs {}",
        p99(&more, "hot-users"),
        p99(&more, "cold-users-1")
    );
}

const AMBASSADOR: &str = "scenarios/patterns/ambassador.yaml";

/// CPU seconds the pods whose key starts with `prefix` used over the run, from the sampled
/// `pod.cpu_usage_millicores` (millicores over each `sampleEvery`).
fn cpu_seconds(r: &experiment::RunResult, prefix: &str, every_s: f64) -> f64 {
    r.output
        .recorder
        .samples
        .iter()
        .filter(|s| s.metric == "pod.cpu_usage_millicores" && s.object.starts_with(prefix))
        .map(|s| s.value / 1000.0 * every_s)
        .sum()
}

/// The run of the scenario in `path` after the edits, with its summary.
fn result_with(path: &str, edits: &[(&str, &str)]) -> (experiment::RunResult, Summary) {
    let mut text = std::fs::read_to_string(path).expect("shipped scenario");
    for (from, to) in edits {
        assert!(text.contains(from), "{path}: no {from:?}");
        text = text.replacen(from, to, 1);
    }
    let loaded = scenario::load_str(path, &text).expect("edited scenario loads");
    let r = experiment::run(Arc::new(loaded.spec), Limits::default(), &mut |_| {});
    let s = Summary::of(&r);
    (r, s)
}

#[test]
fn an_ambassador_retries_away_backend_errors_for_a_latency_per_call() {
    let (r, s) = result_with(AMBASSADOR, &[]);
    // Three calls to a backend failing 5 % of them: 1 - 0.95^3 = 14.3 % of the direct
    // requests fail; the ambassador's two retries leave 3 x 0.05^3 = 0.04 %.
    let direct = metric(&s, "traffic.direct-users.error_rate");
    let proxied = metric(&s, "traffic.proxied-users.error_rate");
    assert!((0.12..0.165).contains(&direct), "{direct}");
    assert!(proxied < 0.003, "{proxied}");
    // Its CPU: 2 ms of the application per request plus 1 ms of the ambassador per call, three
    // calls: 5 ms against 2 ms.
    let per_request = |app: &str| {
        cpu_seconds(&r, &format!("default/{app}-"), 10.0)
            / metric(&s, &format!("traffic.{app}-users.requests"))
    };
    let ratio = per_request("proxied") / per_request("direct");
    assert!((ratio - 2.5).abs() < 0.1, "{ratio}");
    // Its latency: once per outbound call, three calls per request.
    let p50 = |s: &Summary, t: &str| metric(s, &format!("traffic.{t}-users.latency.p50"));
    let none = summary_with(
        AMBASSADOR,
        &[("ambassador: {latency: 1ms", "ambassador: {latency: 0ms")],
    );
    let five = summary_with(
        AMBASSADOR,
        &[("ambassador: {latency: 1ms", "ambassador: {latency: 5ms")],
    );
    let added = p50(&five, "proxied") - p50(&none, "proxied");
    assert!((added - 0.015).abs() < 0.001, "{added}");
    assert!((p50(&s, "proxied") - p50(&none, "proxied") - 0.003).abs() < 0.001);
    // Each call's edge latency carries the ambassador's 5 ms.
    let edge = |s: &Summary| metric(s, "graph.call.proxied->cache.latency.p50");
    assert!((edge(&five) - edge(&none) - 0.005).abs() < 0.0005);
    // The direct service does not move.
    let moved = p50(&five, "direct") / p50(&none, "direct");
    assert!((moved - 1.0).abs() < 0.03, "{moved}");
}

#[test]
fn an_ambassador_container_packs_fewer_pods_per_node() {
    let loaded = scenario::load_path(Path::new(AMBASSADOR)).expect("loads");
    let req = |name: &str| {
        let d = loaded
            .spec
            .deployments
            .iter()
            .find(|d| d.name == name)
            .expect("deployment");
        d.template.pod_requests().cpu_milli
    };
    assert_eq!((req("direct"), req("proxied")), (250, 350));
    // Alone on the pool (the cache and the direct app scaled to 0), as many replicas as can
    // be: 2-CPU nodes hold 5 pods of 350m, 8 of 250m.
    let fill = |edits: &[(&str, &str)]| {
        let mut all = vec![
            (
                "  replicas: 3\n  selector: {matchLabels: {app: direct}}",
                "  replicas: 0\n  selector: {matchLabels: {app: direct}}",
            ),
            ("  replicas: 4\n", "  replicas: 0\n"),
            (
                "  replicas: 3\n  selector: {matchLabels: {app: proxied}}",
                "  replicas: 40\n  selector: {matchLabels: {app: proxied}}",
            ),
        ];
        all.extend_from_slice(edits);
        let out = run_with(AMBASSADOR, &all);
        let mut per_node: std::collections::BTreeMap<String, u32> = Default::default();
        for p in out.store.pods.values() {
            if let Some(n) = &p.node {
                *per_node.entry(n.clone()).or_default() += 1;
            }
        }
        per_node.into_values().collect::<Vec<_>>()
    };
    assert_eq!(fill(&[]), vec![5, 5, 5, 5]);
    let without = fill(&[(
        "      - {name: ambassador, image: \"envoy:v1.32\", resources: {requests: {cpu: 100m, memory: 64Mi}}}\n",
        "",
    )]);
    assert_eq!(without, vec![8, 8, 8, 8]);
}

const ADAPTER: &str = "scenarios/patterns/adapter.yaml";

/// When the HPA `hpa` first rescaled, seconds.
fn first_rescale(out: &RunOutput, hpa: &str) -> f64 {
    out.recorder
        .events
        .iter()
        .find(|e| e.reason == "SuccessfulRescale" && e.object == format!("default/{hpa}"))
        .map(|e| e.time.as_secs_f64())
        .unwrap_or_else(|| panic!("{hpa} never rescaled"))
}

#[test]
fn a_metrics_adapter_makes_the_hpa_react_later_and_costs_requests() {
    let out = run_with(ADAPTER, &[]);
    // The load quadruples at 180 s. The instant HPA sees it at its next sync; through the
    // adapter (15 s scrapes, a 2-minute rate window) the rate is first above the tolerance
    // 30 s later.
    let (instant, adapted) = (
        first_rescale(&out, "instant"),
        first_rescale(&out, "adapted"),
    );
    assert_eq!(instant, 195.0);
    assert!(adapted >= instant + 15.0, "{adapted} vs {instant}");
    // Meanwhile the two saturated pods refuse the excess.
    let s = summary_with(ADAPTER, &[]);
    let failed = |s: &Summary, t: &str| metric(s, &format!("traffic.{t}-users.failed"));
    assert!(
        failed(&s, "adapted") > 2.0 * failed(&s, "instant"),
        "{} vs {}",
        failed(&s, "adapted"),
        failed(&s, "instant")
    );
    // The knob: a longer rate window averages the old rate in for longer.
    let window = |w: &str| summary_with(ADAPTER, &[("rateWindow: 2m", w)]);
    let (short, long) = (window("rateWindow: 1m"), window("rateWindow: 5m"));
    assert!(failed(&short, "adapted") < failed(&s, "adapted"));
    assert!(failed(&long, "adapted") > 1.5 * failed(&s, "adapted"));
    // Without the adapter, the same app reads the instant rate: it reacts with the other.
    let plain = run_with(
        ADAPTER,
        &[(
            "    metricsAdapter: {scrapeInterval: 15s, rateWindow: 2m, cpuPerRequest: 0.5ms}\n",
            "",
        )],
    );
    assert_eq!(
        first_rescale(&plain, "adapted"),
        first_rescale(&plain, "instant")
    );
}

#[test]
fn a_metrics_adapter_costs_its_requests_and_cpu_per_request() {
    let loaded = scenario::load_path(Path::new(ADAPTER)).expect("loads");
    let d = |name: &str| {
        loaded
            .spec
            .deployments
            .iter()
            .find(|d| d.name == name)
            .expect("deployment")
            .template
            .pod_requests()
    };
    assert_eq!((d("instant").cpu_milli, d("adapted").cpu_milli), (250, 300));
    assert_eq!(
        (d("instant").memory_bytes, d("adapted").memory_bytes),
        (256 << 20, 288 << 20)
    );
    // Before the surge both apps serve 40 req/s: 10 ms of CPU per request, plus 0.5 ms for the
    // adapter's parsing.
    let no_surge = ("{at: 3m, rate: 320/s}", "{at: 3m, rate: 40/s}");
    let (r, s) = result_with(ADAPTER, &[no_surge, no_surge]);
    let per_request = |app: &str| {
        cpu_seconds(&r, &format!("default/{app}-"), 15.0)
            / metric(&s, &format!("traffic.{app}-users.succeeded"))
    };
    let ratio = per_request("adapted") / per_request("instant");
    assert!((ratio - 1.05).abs() < 0.02, "{ratio}");
}

const LOCALIZED: &str = "scenarios/failures/statefulset-zone-outage.yaml";

#[test]
fn a_zone_bound_replica_waits_for_capacity_in_its_zone_while_the_deployment_moves() {
    let at = |t: &str| summary_with(LOCALIZED, &[("- {at: 30m, addNodes", t)]);
    let (late, early) = (at("- {at: 30m, addNodes"), at("- {at: 12m, addNodes"));
    let recovery = |s: &Summary| metric(s, "failure.0.time_to_full_recovery_s");
    // Full recovery (the database's replica back) follows zone b's new machines, minute for
    // minute.
    let gained = recovery(&late) - recovery(&early);
    assert!((gained - 18.0 * 60.0).abs() < 30.0, "{gained}");
    // The stateless Deployment was replaced elsewhere after the same 50 s + 300 s either way.
    let first = |s: &Summary| metric(s, "failure.0.time_to_first_replacement_s");
    assert!((first(&late) - first(&early)).abs() < 1.0);
    assert!((340.0..360.0).contains(&first(&late)), "{}", first(&late));
    for s in [&late, &early] {
        assert_eq!(metric(s, "statefulset.db.ready_replicas"), 3.0);
        assert_eq!(metric(s, "deployment.shop.ready_replicas"), 6.0);
    }
}
