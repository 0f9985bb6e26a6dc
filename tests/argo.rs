//! Argo Rollouts end to end: a canary of a bad version aborted by its analysis (and its blast
//! radius against a plain rolling update's), traffic routing by weight, blue-green preview and
//! promotion, and the loader's errors for Rollout and AnalysisTemplate documents.
//!
//! Deployment rollouts (progressDeadlineSeconds reported, `rollout undo` restoring the previous
//! template, upstream's rolling-update tables) are tested in `tests/rollouts.rs`
//! (`a_rollout_that_cannot_progress_blocks_and_reports_the_deadline`,
//! `undo_restores_the_previous_template`).

use std::path::Path;
use std::sync::Arc;

use kubesim::cluster::world::World;
use kubesim::engine::{SimDuration, SimTime};
use kubesim::experiment::{self, Limits, Summary};
use kubesim::scenario;

fn summary_of(path: &str) -> Summary {
    let loaded = scenario::load_path(Path::new(path)).expect("shipped scenario loads");
    let result = experiment::run(Arc::new(loaded.spec), Limits::default(), &mut |_| {});
    Summary::of(&result)
}

fn v2_errors(s: &Summary) -> u64 {
    s.served_by_version
        .iter()
        .filter(|v| v.image == "shop:v2")
        .map(|v| v.errors)
        .sum()
}

#[test]
fn a_canary_of_a_bad_version_is_aborted_and_hurts_fewer_requests_than_a_rolling_update() {
    let canary = summary_of("scenarios/patterns/canary.yaml");
    let rolling = summary_of("scenarios/patterns/rolling-update.yaml");
    let u = &canary.updates[0];
    assert_eq!(u.kind, "Rollout");
    assert_eq!(u.outcome, "Aborted");
    // setWeight 20 (pods ready ~11 s), pause 20 s, one 10 s measurement: about 41 s.
    let t = u.time_to_abort_s.expect("aborted");
    assert!((30.0..60.0).contains(&t), "time to abort {t}");
    // The canary's 2 of 10 pods served about a fifth of the traffic at a 20% error rate.
    let rate = u.new_version_errors as f64 / u.new_version_served as f64;
    assert!((0.12..0.28).contains(&rate), "canary error rate {rate}");
    // After the abort no v2 pod is left, and every pod is v1 again.
    assert_eq!(canary.metrics["pods.end.ready"], 10.0);
    let r = &rolling.updates[0];
    assert_eq!(
        (r.kind.as_str(), r.outcome.as_str()),
        ("Deployment", "Completed")
    );
    // The blast radius: 5xx answers served by v2 over the same run.
    let (c, p) = (v2_errors(&canary), v2_errors(&rolling));
    assert!(c > 0 && c * 10 < p, "canary {c} vs rolling update {p}");
    assert_eq!(
        u.new_version_errors, c,
        "all of v2's errors came before the abort"
    );
    // The rolling update surged (maxSurge 25% of 10 = 3) and kept 8 available (25% down).
    assert_eq!((r.peak_pods, r.min_available), (13, 8));
    assert!(r.extra_pod_seconds > 0.0);
}

const ROUTED: &str = r#"
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: routed}
spec: {seed: 3, duration: 200s, sampleEvery: 10s}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: general}
spec: {count: 2, capacity: {cpu: "8", memory: 16Gi}}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "web:v1", resources: {requests: {cpu: 100m}}}]
  strategy:
    canary:
      canaryService: web-canary
      stableService: web
      trafficRouting: {istio: {virtualService: {name: web}}}
      steps: [{setWeight: 25}, {pause: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-canary}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {name: web}
spec: {startup: 1s, readiness: 1s, serving: {serviceTime: 5ms, concurrency: 8}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Traffic
metadata: {name: users}
spec: {service: web, rate: 200/s}
---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {name: t}
spec:
- {at: 20s, argo: {rollout: web, action: setImage, image: "web:v2"}}
"#;

fn served(w: &World, image: &str) -> u64 {
    w.state()
        .recorder
        .traffic
        .versions
        .iter()
        .filter(|v| v.image == image)
        .map(|v| v.served)
        .sum()
}

#[test]
fn traffic_routing_splits_requests_by_weight_and_keeps_the_stable_at_full_size() {
    let loaded = scenario::load_str("routed.yaml", ROUTED).expect("loads");
    let mut w = World::new(Arc::new(loaded.spec));
    w.advance(SimTime::ZERO + SimDuration::from_secs(60), u64::MAX);
    let (a1, a2) = (served(&w, "web:v1"), served(&w, "web:v2"));
    w.advance(SimTime::ZERO + SimDuration::from_secs(200), u64::MAX);
    let (b1, b2) = (served(&w, "web:v1") - a1, served(&w, "web:v2") - a2);
    let share = b2 as f64 / (b1 + b2) as f64;
    assert!((0.22..0.28).contains(&share), "canary share {share}");
    // ceil(25% of 4) = 1 canary pod; the stable stays at 4 with traffic routing.
    let mut sizes: Vec<(String, i32)> = w
        .state()
        .store
        .replica_sets
        .values()
        .map(|rs| (rs.template.containers[0].image.clone(), rs.replicas))
        .collect();
    sizes.sort();
    assert_eq!(sizes, vec![("web:v1".into(), 4), ("web:v2".into(), 1)]);
}

#[test]
fn blue_green_previews_then_switches_the_active_service_on_promotion() {
    let loaded = scenario::load_path(Path::new("scenarios/patterns/blue-green.yaml")).unwrap();
    let mut w = World::new(Arc::new(loaded.spec));
    // Before the promotion (2 min) only the smoke tests (2 req/s) reach v2 via the preview.
    w.advance(SimTime::ZERO + SimDuration::from_secs(119), u64::MAX);
    let before = served(&w, "shop:v2");
    assert!(
        (40..=130).contains(&before),
        "v2 served {before} before promotion"
    );
    w.advance(SimTime::ZERO + SimDuration::from_secs(240), u64::MAX);
    let after = served(&w, "shop:v2") - before;
    assert!(after > 3500, "v2 served {after} after promotion");
    // v1 is scaled down scaleDownDelaySeconds (30 s) after the promotion.
    let v1 = w
        .state()
        .recorder
        .events
        .iter()
        .find(|e| e.reason == "ScalingReplicaSet" && e.message.contains("from 6 to 0"))
        .expect("v1 scaled down");
    let t = v1.time.as_secs_f64();
    assert!((150.0..151.0).contains(&t), "scaled down at {t}");
}

fn load_err(text: &str) -> String {
    scenario::load_str("bad.yaml", text)
        .expect_err("must fail")
        .to_string()
}

fn with_rollout(strategy: &str, extra: &str) -> String {
    format!(
        r#"apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {{name: x}}
spec: {{duration: 1m}}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {{name: p}}
spec: {{count: 1, capacity: {{cpu: "2", memory: 1Gi}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec: {{selector: {{app: web}}}}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {{name: web}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: web, image: "web:v1"}}]}}
  strategy:
{strategy}
{extra}"#
    )
}

#[test]
fn bad_rollouts_and_templates_are_refused_with_located_errors() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "    canary: {steps: [{setWieght: 20}]}",
            "",
            "bad.yaml:25:23: Rollout/web: spec.strategy.canary.steps[0].setWieght: unknown field \"setWieght\" (did you mean \"setWeight\"?)",
        ),
        (
            "    canary: {steps: [{experiment: {}}]}",
            "",
            "canary step \"experiment\" is not simulated",
        ),
        (
            "    canary: {steps: [{setWeight: 120}]}",
            "",
            "spec.strategy.canary.steps[0].setWeight",
        ),
        (
            "    canary: {stableService: web, trafficRouting: {istio: {}}}",
            "",
            "canaryService and stableService are required with trafficRouting",
        ),
        (
            "    canary: {canaryService: wbe}",
            "",
            "no Service named \"wbe\" in namespace default",
        ),
        (
            "    blueGreen: {activeService: web, previewService: web}",
            "",
            "previewService must not be the activeService",
        ),
        ("    {}", "", "a strategy is required: canary or blueGreen"),
        (
            "    canary: {steps: [{analysis: {templates: [{templateName: error-rates}]}}]}",
            "---\napiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: error-rate}\nspec: {metrics: [{name: m, provider: {kubesim: {metric: errorRate}}}]}\n",
            "no AnalysisTemplate named \"error-rates\" (did you mean \"error-rate\"?)",
        ),
        (
            "    canary: {}",
            "---\napiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: t}\nspec: {metrics: [{name: m, successCondition: 'result <', provider: {kubesim: {metric: errorRate}}}]}\n",
            "invalid condition \"result <\": expected `result` or a number at the end",
        ),
        (
            "    canary: {}",
            "---\napiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: t}\nspec: {metrics: [{name: m, provider: {prometheus: {query: x}}}]}\n",
            "metric provider \"prometheus\" is not simulated; use provider.kubesim",
        ),
        (
            "    canary: {}",
            "---\napiVersion: kubesim.dev/v1alpha1\nkind: Timeline\nmetadata: {name: t}\nspec: [{at: 10s, argo: {rollout: wbe, action: promote}}]\n",
            "no Rollout named \"wbe\"",
        ),
        (
            "    canary: {}",
            "---\napiVersion: kubesim.dev/v1alpha1\nkind: Timeline\nmetadata: {name: t}\nspec: [{at: 10s, argo: {rollout: web, action: promot}}]\n",
            "spec[0].argo.action",
        ),
    ];
    for (strategy, extra, want) in cases {
        let e = load_err(&with_rollout(strategy, extra));
        assert!(e.contains(want), "{strategy} / {extra}:\n{e}");
    }
    // And a good one loads.
    scenario::load_str(
        "ok.yaml",
        &with_rollout(
            "    canary: {steps: [{setWeight: 50}, {pause: {duration: 30}}]}",
            "",
        ),
    )
    .expect("valid rollout");
}

#[test]
fn a_canary_that_crashes_on_start_reports_the_progress_deadline() {
    let text = ROUTED
        .replace(
            "  replicas: 4\n",
            "  replicas: 4\n  progressDeadlineSeconds: 30\n",
        )
        .replace(
            "spec: {startup: 1s, readiness: 1s, serving: {serviceTime: 5ms, concurrency: 8}}",
            "spec: {startup: 1s, readiness: 1s, serving: {serviceTime: 5ms, concurrency: 8},\n       versions: [{image: \"web:v2\", crashOnStart: true}]}",
        );
    let loaded = scenario::load_str("stuck.yaml", &text).expect("loads");
    let mut w = World::new(Arc::new(loaded.spec));
    w.advance(SimTime::ZERO + SimDuration::from_secs(200), u64::MAX);
    let ev = w
        .state()
        .recorder
        .events
        .iter()
        .find(|e| e.reason == "ProgressDeadlineExceeded")
        .expect("deadline reported");
    // The update starts at 20 s (+ the command's latency); 30 s without a canary pod available.
    let t = ev.time.as_secs_f64();
    assert!((50.0..51.0).contains(&t), "reported at {t}");
    // The stable version kept serving everything.
    assert_eq!(served(&w, "web:v2"), 0);
}
