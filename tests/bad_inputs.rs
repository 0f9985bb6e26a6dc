//! The bad-input catalogue on files: every file under `tests/data/bad/` is a scenario the loader
//! must refuse with exactly the one-line message below (`file:line:col: path: message (did you
//! mean "x"?)`, `{file}` standing for the file's path), through the library and, for every
//! file, through `kubesim validate` (exit code 2, no panic). tests/loader_errors.rs holds more
//! cases written inline.

use std::path::{Path, PathBuf};

use kubesim::scenario::{SizeLimits, load_path, load_path_with_limits, load_str};

/// `(file, expected message)`.
const CASES: &[(&str, &str)] = &[
    (
        "01-yaml-tab-indent.yaml",
        "{file}:9:2: invalid YAML: tabs disallowed within this context (block indentation)",
    ),
    (
        "02-yaml-unclosed-quote.yaml",
        "{file}:8:18: invalid YAML: unclosed quote",
    ),
    (
        "03-yaml-duplicate-key.yaml",
        "{file}:9:1: invalid YAML: duplicate mapping key: metadata",
    ),
    (
        "04-yaml-bad-indent.yaml",
        "{file}:10:2: invalid YAML: while parsing a block mapping, did not find expected key",
    ),
    (
        "05-yaml-unclosed-flow.yaml",
        "{file}:8:11: invalid YAML: unclosed bracket '{'",
    ),
    (
        "06-type-replicas-quoted.yaml",
        "{file}:15:13: Deployment/web: spec.replicas: expected an integer, found string \"3\"",
    ),
    (
        "07-type-containers-mapping.yaml",
        "{file}:19:19: Deployment/web: spec.template.spec.containers: expected a list, found a mapping",
    ),
    (
        "08-type-seed-string.yaml",
        "{file}:4:28: Scenario/s: spec.seed: expected an integer, found string \"lucky\"",
    ),
    (
        "09-type-metadata-list.yaml",
        "{file}:8:11: Node: metadata: expected a mapping, found a list",
    ),
    (
        "10-type-bool-as-string.yaml",
        "{file}:15:11: Deployment/web: spec.paused: expected a boolean (true or false), found string \"yes\"",
    ),
    (
        "11-kind-unknown-no-suggestion.yaml",
        "{file}:7:7: kind: unknown kind \"Gizmo\"",
    ),
    (
        "12-kind-case-typo.yaml",
        "{file}:7:7: kind: unknown kind \"service\" (did you mean \"Service\"?)",
    ),
    (
        "13-apiversion-hpa-v1.yaml",
        "{file}:22:13: apiVersion: apiVersion \"autoscaling/v1\" is not supported for kind HorizontalPodAutoscaler; expected \"autoscaling/v2\"",
    ),
    (
        "14-field-service-typo.yaml",
        "{file}:25:8: Service/web: spec.selectr: unknown field \"selectr\" (did you mean \"selector\"?)",
    ),
    (
        "15-field-traffic-typo.yaml",
        "{file}:30:22: Traffic/u: spec.rtae: unknown field \"rtae\" (did you mean \"rate\"?)",
    ),
    (
        "16-field-hpa-typo.yaml",
        "{file}:28:3: HorizontalPodAutoscaler/web: spec.maxReplica: unknown field \"maxReplica\" (did you mean \"maxReplicas\"?)",
    ),
    (
        "17-field-scenario-typo.yaml",
        "{file}:4:8: Scenario/s: spec.duraton: unknown field \"duraton\" (did you mean \"duration\"?)",
    ),
    (
        "18-field-nodepool-typo.yaml",
        "{file}:9:8: NodePool/pool: spec.cuont: unknown field \"cuont\" (did you mean \"count\"?)",
    ),
    (
        "19-ref-hpa-missing-deployment.yaml",
        "{file}:26:65: HorizontalPodAutoscaler/web: spec.scaleTargetRef.name: no Deployment named \"api\"; known: web",
    ),
    (
        "20-ref-traffic-missing-service.yaml",
        "{file}:30:17: Traffic/u: spec.service: no Service named \"webb\"; known: web (did you mean \"web\"?)",
    ),
    (
        "21-ref-service-selects-nothing.yaml",
        "{file}:30:17: Traffic/u: spec.service: Service \"web\" selects no pods: no Deployment, ReplicaSet, Job, Rollout, StatefulSet or CronJob template in namespace \"default\" has the labels app=wbe; its requests could never be served",
    ),
    (
        "22-ref-destinationrule-missing-host.yaml",
        "{file}:30:14: DestinationRule/r: spec.host: no Service named \"api\"; known: web",
    ),
    (
        "23-ref-scaledobject-missing-deployment.yaml",
        "{file}:31:26: ScaledObject/so: spec.scaleTargetRef.name: no Deployment named \"api\"; known: web",
    ),
    (
        "24-ref-timeline-drain-unknown-node.yaml",
        "{file}:26:30: Timeline/t: spec[0].drainNode.node: no node named \"pool-9\" at the start of the run or added by the timeline (did you mean \"pool-0\"?)",
    ),
    (
        "25-ref-timeline-unknown-zone.yaml",
        "{file}:26:31: Timeline/t: spec[0].zoneOutage.zone: no zone named \"c\"; known: a, b (did you mean \"a\"?)",
    ),
    (
        "26-ref-behavior-duplicate.yaml",
        "{file}:30:18: Behavior/b: spec.workload: workload \"web\" already has a Behavior (at {file}:25:18)",
    ),
    (
        "27-hpa-min-above-max.yaml",
        "{file}:28:16: HorizontalPodAutoscaler/web: spec.maxReplicas: must be greater than or equal to `minReplicas` (7)",
    ),
    (
        "28-hpa-max-zero.yaml",
        "{file}:28:16: HorizontalPodAutoscaler/web: spec.maxReplicas: must be greater than or equal to 1, found 0",
    ),
    (
        "29-hpa-two-for-one-deployment.yaml",
        "{file}:35:65: HorizontalPodAutoscaler/web: spec.scaleTargetRef.name: Deployment \"web\" already has an autoscaler (at {file}:26:65)",
    ),
    (
        "30-dup-service-name.yaml",
        "{file}:29:18: Service/web: metadata.name: duplicate Service name \"web\" (first defined at {file}:24:18)",
    ),
    (
        "31-dup-nodepool-name.yaml",
        "{file}:24:18: NodePool/pool: metadata.name: duplicate NodePool name \"pool\" (first defined at {file}:8:18)",
    ),
    (
        "32-dup-node-name.yaml",
        "{file}:13:18: Node/n1: metadata.name: duplicate Node name \"n1\" (first defined at {file}:8:18)",
    ),
    (
        "33-pdb-both-bounds.yaml",
        "{file}:25:25: PodDisruptionBudget/p: spec.maxUnavailable: minAvailable and maxUnavailable cannot be both set",
    ),
    (
        "34-pdb-percent-over-100.yaml",
        "{file}:25:22: PodDisruptionBudget/p: spec.minAvailable: must not be greater than 100%",
    ),
    (
        "35-pdb-negative.yaml",
        "{file}:25:24: PodDisruptionBudget/p: spec.maxUnavailable: value should not be negative",
    ),
    (
        "36-timeline-negative-at.yaml",
        "{file}:26:8: Timeline/t: spec[0].at: invalid duration \"-5m\": durations cannot be negative",
    ),
    (
        "37-timeline-verb-typo.yaml",
        "{file}:26:12: Timeline/t: spec[0].drainNod: unknown field \"drainNod\" (did you mean \"drainNode\"?)",
    ),
    (
        "38-timeline-after-end-addnodes.yaml",
        "{file}:26:8: Timeline/t: spec[0].at: is after the end of the run (Scenario spec.duration is 1h)",
    ),
    (
        "39-timeline-not-a-list.yaml",
        "{file}:25:7: Timeline/t: spec: expected a list, found a mapping",
    ),
    (
        "40-timeline-scale-negative.yaml",
        "{file}:26:47: Timeline/t: spec[0].scale.replicas: must be greater than or equal to 0, found -2",
    ),
    (
        "41-quantity-memory-GB.yaml",
        "{file}:9:47: NodePool/pool: spec.capacity.memory: invalid quantity \"8GB\": unknown suffix \"GB\" (did you mean \"G\" or \"Gi\"?); expected a number with an optional suffix: n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<exp> (e.g. \"500m\", \"1.5Gi\", \"129e6\")",
    ),
    (
        "42-quantity-negative-cpu.yaml",
        "{file}:9:34: NodePool/pool: spec.capacity.cpu: must be greater than or equal to 0",
    ),
    (
        "43-quantity-huge.yaml",
        "{file}:9:47: NodePool/pool: spec.capacity.memory: quantity \"1e300\" is out of range: its value in units does not fit in a 64-bit integer",
    ),
    (
        "44-quantity-empty.yaml",
        "{file}:9:34: NodePool/pool: spec.capacity.cpu: empty quantity: expected a number with an optional suffix: n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<exp> (e.g. \"500m\", \"1.5Gi\", \"129e6\")",
    ),
    (
        "45-duration-trailing-number.yaml",
        "{file}:4:18: Scenario/s: spec.duration: invalid duration \"1h30\": missing unit after \"30\"; expected a number followed by a unit (ns, us, ms, s, m, h, d), e.g. \"90s\", \"1h30m\", \"250ms\"",
    ),
    (
        "46-duration-two-dots.yaml",
        "{file}:4:18: Scenario/s: spec.duration: invalid duration \"1.5.3s\": more than one decimal point; expected a number followed by a unit (ns, us, ms, s, m, h, d), e.g. \"90s\", \"1h30m\", \"250ms\"",
    ),
    (
        "47-duration-negative.yaml",
        "{file}:4:18: Scenario/s: spec.duration: invalid duration \"-1h\": durations cannot be negative",
    ),
    (
        "48-duration-zero.yaml",
        "{file}:4:18: Scenario/s: spec.duration: must be greater than 0",
    ),
    (
        "49-sample-every-zero.yaml",
        "{file}:4:35: Scenario/s: spec.sampleEvery: must be greater than 0",
    ),
    (
        "50-nodepool-count-negative.yaml",
        "{file}:9:15: NodePool/pool: spec.count: must be greater than or equal to 0, found -1",
    ),
    (
        "51-replicas-ten-billion.yaml",
        "{file}:15:13: Deployment/web: spec.replicas: must be at most 1000000, found 10000000000",
    ),
    (
        "52-traffic-negative-rate.yaml",
        "{file}:30:28: Traffic/u: spec.rate: invalid rate \"-10/s\": a rate cannot be negative; expected a number of events per time unit, e.g. \"800/s\", \"30/m\", \"5/h\", \"12.5/s\" (a bare number means per second)",
    ),
    (
        "53-traffic-bad-rate-unit.yaml",
        "{file}:30:28: Traffic/u: spec.rate: invalid rate \"10/x\": unknown time unit \"x\"; expected one of ns, us, ms, s, m, h, d; expected a number of events per time unit, e.g. \"800/s\", \"30/m\", \"5/h\", \"12.5/s\" (a bare number means per second)",
    ),
    (
        "54-job-negative-parallelism.yaml",
        "{file}:26:16: Job/j: spec.parallelism: must be greater than or equal to 0, found -1",
    ),
    (
        "55-guard-too-many-pods.yaml",
        "{file}:13:18: Deployment/web: metadata.name: too many pods: the scenario may ask for 1200000 pods in all, 600000 of them here; at most 1000000 are allowed (raise the limit with --max-pods N)",
    ),
    (
        "56-guard-hpa-max-too-many-pods.yaml",
        "{file}:35:18: HorizontalPodAutoscaler/web: metadata.name: too many pods: the scenario may ask for 1000010 pods in all, 1000000 of them here; at most 1000000 are allowed (raise the limit with --max-pods N)",
    ),
    (
        "57-rollout-setweight-over-100.yaml",
        "{file}:34:27: Rollout/r: spec.strategy.canary.steps[0].setWeight: must be at most 100, found 150",
    ),
    (
        "58-label-key-invalid.yaml",
        "{file}:18:35: Deployment/web: spec.template.metadata.labels.-bad: invalid label key \"-bad\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
    ),
    (
        "59-empty-file.yaml",
        "{file}:0:0: no Scenario document: exactly one (apiVersion: kubesim.dev/v1alpha1, kind: Scenario) is required",
    ),
    (
        "60-scalar-document.yaml",
        "{file}:6:1: expected a mapping (a Kubernetes object or a kubesim document), found string \"just a string\"",
    ),
    (
        "61-client-breaker-threshold-over-100.yaml",
        "{file}:34:41: Traffic/u: spec.clientBreaker.failureRateThreshold: must be a percentage greater than 0 and at most 100 (resilience4j's bounds)",
    ),
    (
        "62-client-breaker-zero-window.yaml",
        "{file}:36:24: Traffic/u: spec.clientBreaker.slidingWindowSize: must be greater than or equal to 1, found 0",
    ),
    (
        "63-client-breaker-window-type-typo.yaml",
        "{file}:34:38: Traffic/u: spec.clientBreaker.slidingWindowType: unsupported value \"TIME_BASE\"; supported values: COUNT_BASED, TIME_BASED (did you mean \"TIME_BASED\"?)",
    ),
    (
        "64-client-breaker-wait-under-1ms.yaml",
        "{file}:34:44: Traffic/u: spec.clientBreaker.waitDurationInOpenState: must be at least 1ms (resilience4j counts it in whole milliseconds)",
    ),
    (
        "65-client-breaker-field-typo.yaml",
        "{file}:34:19: Traffic/u: spec.clientBreaker.minimumNumberOfCall: unknown field \"minimumNumberOfCall\" (did you mean \"minimumNumberOfCalls\"?)",
    ),
    (
        "66-metrics-adapter-window-too-short.yaml",
        "{file}:26:55: Behavior/web: spec.serving.metricsAdapter.rateWindow: the rate window (1m) must be longer than two scrape intervals (30s): rate() needs two samples in its range",
    ),
    (
        "67-ambassador-field-typo.yaml",
        "{file}:26:32: Behavior/web: spec.serving.ambassador.cpuPerRequest: unknown field \"cpuPerRequest\"; valid fields here: latency, cpuPerCall",
    ),
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad")
}

#[test]
fn every_file_is_in_the_table_and_the_table_is_large() {
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .expect("tests/data/bad")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    let listed: Vec<&str> = CASES.iter().map(|(f, _)| *f).collect();
    assert_eq!(files, listed, "tests/data/bad and CASES differ");
    assert!(CASES.len() >= 40);
}

#[test]
fn every_bad_file_gives_its_exact_message() {
    let mut failures = Vec::new();
    for (file, expected) in CASES {
        let path = dir().join(file);
        let want = expected.replace("{file}", &path.display().to_string());
        match load_path(&path) {
            Ok(_) => failures.push(format!("{file}: loaded without error")),
            Err(e) => {
                let got = e.to_string();
                if got != want {
                    failures.push(format!("{file}:\n  expected: {want}\n  got:      {got}"));
                }
                assert_eq!(e.file, path.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_bad_file_exits_2_through_the_binary() {
    let mut failures = Vec::new();
    for (file, expected) in CASES {
        let path = dir().join(file);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_kubesim"))
            .arg("validate")
            .arg(&path)
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&o.stderr);
        let want = format!(
            "error: {}\n",
            expected.replace("{file}", &path.display().to_string())
        );
        if o.status.code() != Some(2) || !err.ends_with(&want) || err.contains("panicked") {
            failures.push(format!("{file}: exit {:?}, stderr {err}", o.status.code()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `kubesim run` refuses them the same way (a sample: syntax, reference, guard), before
/// running anything.
#[test]
fn run_refuses_bad_files_with_exit_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for file in [
        "02-yaml-unclosed-quote.yaml",
        "21-ref-service-selects-nothing.yaml",
        "55-guard-too-many-pods.yaml",
    ] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_kubesim"))
            .args(["run", "--no-report", "--out"])
            .arg(tmp.path().join("out"))
            .arg(dir().join(file))
            .output()
            .expect("runs");
        assert_eq!(o.status.code(), Some(2), "{file}");
        assert!(!tmp.path().join("out").exists(), "{file}: no output folder");
    }
}

/// The size limits are the defaults unless the CLI raises them: the same file loads with a
/// higher `--max-pods`, and a lower `--max-nodes` refuses a small cluster.
#[test]
fn size_limits_can_be_raised_and_lowered() {
    let path = dir().join("55-guard-too-many-pods.yaml");
    let raised = SizeLimits {
        max_pods: 2_000_000,
        ..SizeLimits::default()
    };
    assert!(load_path_with_limits(&path, &raised).is_ok());
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(["run", "--max-nodes", "1", "--no-report"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.yaml"))
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("too many nodes") && err.contains("at most 1 are allowed"),
        "{err}"
    );
}

/// Every command that loads a scenario takes the size-limit flags the error message names:
/// `validate`, `explain` and `sweep` (for every point) refuse the quickstart under
/// `--max-nodes 1`, and `validate` accepts the too-many-pods file under a raised `--max-pods`.
#[test]
fn every_loading_command_takes_the_size_limit_flags() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let quickstart = root.join("scenarios/quickstart.yaml");
    let tmp = tempfile::tempdir().expect("tempdir");
    let sweep_out = tmp.path().join("sweep");
    let sweep_out = sweep_out.to_str().expect("utf-8 path");
    let runs: [(&str, Vec<&str>, &Path); 3] = [
        (
            "validate",
            vec!["validate", "--max-nodes", "1"],
            &quickstart,
        ),
        (
            "explain",
            vec!["explain", "--pod", "web", "--max-nodes", "1"],
            &quickstart,
        ),
        (
            "sweep",
            vec![
                "sweep",
                "--max-nodes",
                "1",
                "--no-report",
                "--jobs",
                "1",
                "--out",
                sweep_out,
            ],
            &root.join("scenarios/sweeps/quickstart-capacity.yaml"),
        ),
    ];
    for (what, args, file) in runs {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_kubesim"))
            .args(&args)
            .arg(file)
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{what}: {err}");
        assert!(
            err.contains("too many nodes") && err.contains("at most 1 are allowed"),
            "{what}: {err}"
        );
    }
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(["validate", "--max-pods", "2000000"])
        .arg(dir().join("55-guard-too-many-pods.yaml"))
        .output()
        .expect("runs");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

const BASE: &str = "apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: s}
spec: {duration: 1h}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: pool}
spec: {count: 2, capacity: {cpu: \"4\", memory: 8Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: \"web:v1\"}]
---
";

/// Valid in Kubernetes but most likely a typo: a PDB or an unused Service that selects no
/// workload's pods is a warning (upstream's disruption controller says `NoPods`), not an error.
#[test]
fn selecting_nothing_is_a_warning_unless_traffic_needs_it() {
    let text = format!(
        "{BASE}apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: p}}\nspec: {{minAvailable: 1, selector: {{matchLabels: {{app: wbe}}}}}}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: s}}\nspec: {{selector: {{app: api}}}}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: ok}}\nspec: {{selector: {{app: web}}}}\n"
    );
    let loaded = load_str("t.yaml", &text).expect("warnings only");
    let shown: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "t.yaml:23:18: PodDisruptionBudget/p: metadata.name: this PodDisruptionBudget selects no pods of any Deployment, ReplicaSet, Job, Rollout, StatefulSet or CronJob",
            "t.yaml:28:18: Service/s: metadata.name: this Service selects no pods of any Deployment, ReplicaSet, Job, Rollout, StatefulSet or CronJob",
        ]
    );
}
