//! Autoscalers end to end: the HPA scales up under load and back down only after its
//! stabilization window; the cluster autoscaler adds a node for unschedulable pods after the
//! pool's provisioning delay, gives up on a node that never registers, and removes an
//! underused node after 10 minutes; KEDA scales from and to zero; the loader's checks.

use std::sync::Arc;

use kubesim::cluster::world::{RunOutput, World};
use kubesim::scenario;

fn run_str(text: &str) -> RunOutput {
    let loaded = scenario::load_str("test.yaml", text).unwrap_or_else(|e| panic!("{e}"));
    let mut w = World::new(Arc::new(loaded.spec));
    let end = w.end();
    w.advance(end, u64::MAX);
    w.finish()
}

/// `(time in s, message)` of the event-log rows with this reason.
fn rows(out: &RunOutput, reason: &str) -> Vec<(f64, String)> {
    out.recorder
        .events
        .iter()
        .filter(|e| e.reason == reason)
        .map(|e| (e.time.as_secs_f64(), format!("{} {}", e.object, e.message)))
        .collect()
}

const POOL: &str = r#"
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: general}
spec: {count: 2, capacity: {cpu: "4", memory: 16Gi}, pricePerHour: 0.1}
"#;

fn web(replicas: i32, cpu: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: web, image: web:v1, resources: {{requests: {{cpu: {cpu}, memory: 256Mi}}}}}}
"#
    )
}

fn scenario(duration: &str, extra: &str) -> String {
    format!(
        "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nmetadata: {{name: t}}\nspec: {{seed: 3, duration: {duration}, sampleEvery: 15s{extra}}}\n"
    )
}

/// An HPA on `web`: 2 to 10 replicas at 50 % CPU utilization, `extra` appended to its spec.
fn web_cpu_hpa(extra: &str) -> String {
    format!(
        r#"
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: web}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - {{type: Resource, resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 50}}}}}}{extra}
"#
    )
}

#[test]
fn hpa_scales_up_under_load_and_down_after_the_stabilization_window() {
    // The workload's CPU demand: 500m, 3000m from 2 m, 500m from 12 m. Requests 500m, target
    // 50 %: the HPA wants 2 replicas, then 12 (capped at 10), then 2 again.
    let text = [
        scenario("25m", ""),
        POOL.into(),
        web(2, "500m"),
        r#"
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {name: web}
spec:
  cpuLoad: {total: 500m, steps: [{at: 2m, total: 3000m}, {at: 12m, total: 500m}]}
"#
        .into(),
        web_cpu_hpa(""),
    ]
    .join("---\n");
    let out = run_str(&text);
    let rescales = rows(&out, "SuccessfulRescale");
    assert!(!rescales.is_empty(), "no rescale");
    let (t_up, m_up) = &rescales[0];
    // The load rises at 120 s; the first sample that sees it is at 135 s, the sync at 135 s.
    assert!(
        (120.0..=150.0).contains(t_up),
        "first scale-up at {t_up}: {m_up}"
    );
    // Without behavior: at most max(2 * current, 4) per sync: 2 -> 4 -> 8 -> 10.
    let sizes: Vec<&str> = rescales
        .iter()
        .map(|(_, m)| {
            m.split("New size: ")
                .nth(1)
                .unwrap()
                .split(';')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(&sizes[..3], &["4", "8", "10"], "{rescales:?}");
    // The load falls at 720 s; the scale-down waits for the 300 s window: not before 1020 s.
    let downs: Vec<&(f64, String)> = rescales.iter().filter(|(t, _)| *t > 700.0).collect();
    assert!(!downs.is_empty(), "no scale-down: {rescales:?}");
    let (t_down, m_down) = downs[0];
    assert!(
        (1020.0..=1080.0).contains(t_down),
        "scale-down at {t_down}: {m_down}"
    );
    assert!(m_down.contains("New size: 2"), "{m_down}");
    let d = out.store.deployments.get("default/web").unwrap();
    assert_eq!(d.replicas, 2);
    // The time series records desired and current replicas at every sync.
    let desired = out
        .recorder
        .samples
        .iter()
        .filter(|s| s.metric == "hpa.desired_replicas")
        .count();
    assert!(desired >= 25 * 60 / 15 - 2, "{desired} samples");
}

#[test]
fn hpa_first_scale_down_waits_a_window_from_its_first_sync() {
    // 6 replicas of 500m at 100m of total demand: the HPA wants minReplicas (2) from its
    // first metrics. Upstream's `recordInitialRecommendation` seeds its recommendations with
    // the 6 replicas it found at its first reconcile, so the scale-down to 2 waits out the
    // 300 s window from that first sync (15 s) instead of happening at once.
    for behavior in [
        "",
        "\n  behavior: {scaleDown: {stabilizationWindowSeconds: 300}}",
    ] {
        let text = [
            scenario("12m", ""),
            POOL.into(),
            web(6, "500m"),
            "apiVersion: kubesim.dev/v1alpha1\nkind: Behavior\nmetadata: {name: web}\nspec: {cpuLoad: {total: 100m}}\n".into(),
            web_cpu_hpa(behavior),
        ]
        .join("---\n");
        let out = run_str(&text);
        let rescales = rows(&out, "SuccessfulRescale");
        assert!(!rescales.is_empty(), "no scale-down ({behavior:?})");
        let (t, m) = &rescales[0];
        assert!(m.contains("New size: 2"), "{rescales:?}");
        assert!(
            (315.0..=360.0).contains(t),
            "first scale-down at {t} s, expected one window after the first sync ({behavior:?}): {rescales:?}"
        );
    }
}

#[test]
fn hpa_with_default_behavior_scales_1_5_10_20() {
    // `behavior: {}` gets upstream's default rules: +max(4 pods, 100 %) per 15 s.
    let text = [
        scenario("5m", ""),
        r#"
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: big}
spec: {count: 4, capacity: {cpu: "64", memory: 256Gi}}
"#
        .into(),
        web(1, "100m"),
        r#"
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {name: web}
spec:
  cpuLoad: {total: 100000m}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  maxReplicas: 40
  behavior: {}
"#
        .into(),
    ]
    .join("---\n");
    let out = run_str(&text);
    let sizes: Vec<String> = rows(&out, "SuccessfulRescale")
        .into_iter()
        .map(|(_, m)| {
            m.split("New size: ")
                .nth(1)
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(&sizes[..4], &["5", "10", "20", "40"], "{sizes:?}");
}

#[test]
fn cluster_autoscaler_adds_a_node_after_the_provisioning_delay_and_removes_it_after_10m() {
    // Two 4-CPU nodes, 4 pods of 1.5 CPU fit (2 per node); at 1 m the Deployment is scaled to
    // 6: two pods are unschedulable. The pool provisions in 60 s. At 5 m it is scaled back to 4:
    // the new node is underused and goes 10 m after it became unneeded.
    let text = [
        scenario("30m", ""),
        r#"
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: general}
spec: {count: 2, capacity: {cpu: "4", memory: 16Gi}, provisioningDelay: 60s, pricePerHour: 0.1,
       autoscaling: {min: 2, max: 5}}
"#
        .into(),
        web(4, "1500m"),
        r#"
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {name: t}
spec:
- {at: 1m, scale: {deployment: web, replicas: 6}}
- {at: 5m, scale: {deployment: web, replicas: 4}}
"#
        .into(),
    ]
    .join("---\n");
    let out = run_str(&text);
    let failed = rows(&out, "FailedScheduling");
    let t_fail = failed.first().expect("pods were unschedulable").0;
    let ups = rows(&out, "ScaledUpGroup");
    assert_eq!(ups.len(), 1, "{ups:?}");
    let t_up = ups[0].0;
    assert!(
        t_up >= t_fail && t_up <= t_fail + 10.0,
        "scale-up at {t_up}, pods unschedulable at {t_fail}"
    );
    assert!(ups[0].1.contains("size to 3 instead of 2"), "{:?}", ups[0]);
    let reg = rows(&out, "RegisteredNode");
    let (t_reg, node) = reg
        .iter()
        .find(|(_, m)| m.starts_with("general-2"))
        .expect("new node");
    assert!(
        (t_up + 60.0..=t_up + 61.0).contains(t_reg),
        "{node} registered at {t_reg}, scale-up at {t_up}"
    );
    // Both extra pods bound to the new node.
    let bound = out
        .recorder
        .events
        .iter()
        .filter(|e| e.reason == "Scheduled" && e.message.ends_with("general-2"))
        .count();
    assert_eq!(bound, 2);
    // Scale-down: the new node's pods go at 5 m; it is empty (utilization 0) from then on, but
    // nothing is removed within 10 m of the scale-up nor within 10 m of becoming unneeded.
    let removed = rows(&out, "RemovingNode");
    assert_eq!(removed.len(), 1, "{removed:?}");
    let (t_rm, who) = &removed[0];
    assert!(who.starts_with("general-2"), "{who}");
    assert!(
        (300.0 + 600.0..=300.0 + 600.0 + 30.0).contains(t_rm),
        "removed at {t_rm}"
    );
    assert_eq!(out.store.nodes.len(), 2);
    let a = &out.recorder.autoscaling;
    assert_eq!((a.ca_nodes_requested, a.ca_nodes_removed), (1, 1));
    assert_eq!(a.pending_for_capacity.count(), 2);
}

#[test]
fn failed_provisioning_backs_the_group_off() {
    let text = [
        scenario(
            "12m",
            ", clusterAutoscaler: {maxNodeProvisionTime: 2m, initialNodeGroupBackoffDuration: 3m}",
        ),
        r#"
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: general}
spec: {count: 1, capacity: {cpu: "4", memory: 16Gi}, provisioningDelay: 30s,
       autoscaling: {min: 1, max: 3, failureProbability: 1}}
"#
        .into(),
        web(3, "1500m"),
    ]
    .join("---\n");
    let out = run_str(&text);
    let ups = rows(&out, "ScaledUpGroup");
    let fails = rows(&out, "FailedToScaleUpGroup");
    assert!(!ups.is_empty() && !fails.is_empty(), "{ups:?} {fails:?}");
    // Given up 2 m after the request; the next attempt waits for the 3 m back-off.
    assert!(
        (fails[0].0 - ups[0].0 - 120.0).abs() <= 10.0,
        "{ups:?} {fails:?}"
    );
    if ups.len() > 1 {
        assert!(ups[1].0 >= fails[0].0 + 180.0, "{ups:?} {fails:?}");
    }
    assert_eq!(out.store.nodes.len(), 1);
    assert!(out.recorder.autoscaling.ca_nodes_failed >= 1);
}

#[test]
fn keda_scales_from_zero_on_requests_and_back_to_zero_after_cooldown() {
    let text = [
        scenario("20m", ""),
        POOL.into(),
        web(0, "250m"),
        r#"
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: kubesim.dev/v1alpha1
kind: Traffic
metadata: {name: users}
spec: {service: web, rate: 0/s, steps: [{at: 2m, rate: 30/s}, {at: 6m, rate: 0/s}]}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: web}
spec:
  scaleTargetRef: {name: web}
  pollingInterval: 30
  cooldownPeriod: 300
  maxReplicaCount: 8
  triggers:
  - type: kubesim-request-rate
    metadata: {service: web, targetValue: "10", activationTargetValue: "1"}
"#
        .into(),
    ]
    .join("---\n");
    let out = run_str(&text);
    let on = rows(&out, "KEDAScaleTargetActivated");
    let off = rows(&out, "KEDAScaleTargetDeactivated");
    assert_eq!(on.len(), 1, "{on:?}");
    // Traffic starts at 120 s; the poll at 150 s sees it.
    assert!((120.0..=150.0).contains(&on[0].0), "{on:?}");
    // KEDA's HPA takes it from 1 to 3 (30 req/s at 10 per replica).
    let hpa = rows(&out, "SuccessfulRescale");
    assert!(
        hpa.iter()
            .any(|(_, m)| m.contains("keda-hpa-web") && m.contains("New size: 3")),
        "{hpa:?}"
    );
    // Traffic stops at 360 s: the last active poll is at 360 s at the latest, then 300 s of
    // cooldown.
    assert_eq!(off.len(), 1, "{off:?}");
    assert!(
        (360.0 + 270.0..=360.0 + 330.0).contains(&off[0].0),
        "{off:?}"
    );
    assert_eq!(
        out.store.deployments.get("default/web").unwrap().replicas,
        0
    );
}

#[test]
fn loader_rejects_dangling_and_bad_autoscalers() {
    let base = [scenario("1m", ""), POOL.into(), web(1, "100m")].join("---\n");
    let cases = [
        (
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  scaleTargetRef: {kind: Deployment, name: wbe}\n  maxReplicas: 3\n",
            "spec.scaleTargetRef.name: no Deployment named \"wbe\"",
        ),
        (
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  scaleTargetRef: {kind: Deployment, name: web}\n  minReplicas: 4\n  maxReplicas: 3\n",
            "spec.maxReplicas: must be greater than or equal to `minReplicas` (4)",
        ),
        (
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  scaleTargetRef: {kind: Deployment, name: web}\n  maxReplicas: 3\n  behavior: {scaleUp: {policies: [{type: Pods, value: 4, periodSeconds: 3600}]}}\n",
            "periodSeconds: must be at most 1800",
        ),
        (
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  scaleTargetRef: {kind: Deployment, name: web}\n  maxReplicas: 3\n  metrics:\n  - type: External\n    external:\n      metric: {name: requests_per_second, selector: {matchLabels: {service: nope}}}\n      target: {type: Value, value: 10}\n",
            "no Service named \"nope\"",
        ),
        (
            "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: s}\nspec:\n  scaleTargetRef: {name: web}\n  triggers: [{type: kafka, metadata: {}}]\n",
            "unsupported value \"kafka\"",
        ),
        (
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  scaleTargetRef: {kind: Deployment, name: web}\n  maxReplicas: 3\n  metrics:\n  - type: Object\n    object:\n      describedObject: {apiVersion: v1, kind: Service, name: nope}\n      metric: {name: requests_per_second}\n      target: {type: Value, value: 10}\n",
            "no Service named \"nope\"",
        ),
        (
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  scaleTargetRef: {kind: Deployment, name: web}\n  maxReplicas: 3\n  metrics:\n  - type: Object\n    object:\n      describedObject: {apiVersion: v1, kind: Service, name: web}\n      metric: {name: requests_per_second}\n      target: {type: Utilization, averageUtilization: 10}\n",
            "Utilization is only valid for Resource metrics",
        ),
        (
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  scaleTargetRef: {kind: Deployment, name: web}\n  maxReplicas: 3\n  metrics:\n  - {type: Resource, resource: {name: memory, target: {type: Value, value: 1Gi}}}\n",
            "a Resource metric target must be Utilization or AverageValue",
        ),
    ];
    for (doc, want) in cases {
        let text = format!("{base}---\n{doc}");
        let err = scenario::load_str("test.yaml", &text)
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{err}\nwanted: {want}");
        assert!(
            err.starts_with("error: test.yaml:") || err.starts_with("test.yaml:"),
            "{err}"
        );
    }
    // A NodePool with autoscaling is no longer warned about.
    let ok = format!(
        "{}---\napiVersion: kubesim.dev/v1alpha1\nkind: NodePool\nmetadata: {{name: more}}\nspec: {{count: 0, capacity: {{cpu: \"2\", memory: 4Gi}}, autoscaling: {{min: 0, max: 3}}}}\n",
        base
    );
    let loaded = scenario::load_str("test.yaml", &ok).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.spec.autoscaling.node_groups.len(), 1);
}

#[test]
fn hpa_on_memory_follows_a_leak() {
    // Each pod starts at 100Mi and leaks 10Mi per minute; requests 200Mi, target 100 %: the
    // first pods pass their request at 10 minutes and the HPA adds pods; memory has no CPU
    // readiness rules, so the new pods (low usage) count at once and pull the average down.
    let text = [
        scenario("16m", ""),
        POOL.into(),
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: web:v1, resources: {requests: {cpu: 100m, memory: 200Mi}, limits: {memory: 1Gi}}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {name: web}
spec:
  startup: 1s
  failures: {memoryLeak: {initial: 100Mi, rate: 10Mi/min}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 6
  metrics:
  - {type: Resource, resource: {name: memory, target: {type: Utilization, averageUtilization: 100}}}
"#
        .into(),
    ]
    .join("---\n");
    let out = run_str(&text);
    let rescales = rows(&out, "SuccessfulRescale");
    assert!(!rescales.is_empty(), "no rescale");
    // At 100Mi + 10Mi/min the average passes 110 % of 200Mi (the tolerance) after 12 minutes.
    let (t, m) = &rescales[0];
    assert!((700.0..=780.0).contains(t), "first rescale at {t}: {m}");
    assert!(m.contains("memory above target"), "{m}");
    // The reported utilization is in percent of the memory request.
    let util: Vec<f64> = out
        .recorder
        .samples
        .iter()
        .filter(|s| s.metric == "hpa.metric" && &*s.object == "default/web:memory")
        .map(|s| s.value)
        .collect();
    assert!(util.iter().any(|u| (50.0..=60.0).contains(u)), "{util:?}");
    assert!(util.iter().any(|u| *u >= 110.0), "{util:?}");
}

#[test]
fn hpa_on_an_object_metric_of_a_service() {
    // 40 req/s to the Service; an Object metric on it with a Value target of 10 req/s per the
    // whole object: ratio 4, so 2 ready pods become ceil(4 x 2) = 8 (the default policy allows
    // it in steps); with AverageValue 10 per pod it would be ceil(40 / 10) = 4.
    for (target, want) in [
        ("{type: Value, value: 10}", 8),
        ("{type: AverageValue, averageValue: 10}", 4),
    ] {
        let text = [
            scenario("4m", ""),
            POOL.into(),
            web(2, "100m"),
            format!(
                r#"
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec: {{selector: {{app: web}}, ports: [{{port: 80}}]}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Traffic
metadata: {{name: users}}
spec: {{service: web, rate: 40/s, arrival: constant}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {{name: web}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: web}}
  minReplicas: 1
  maxReplicas: 20
  behavior: {{scaleUp: {{policies: [{{type: Pods, value: 20, periodSeconds: 15}}]}}}}
  metrics:
  - type: Object
    object:
      describedObject: {{apiVersion: v1, kind: Service, name: web}}
      metric: {{name: requests_per_second}}
      target: {target}
"#
            ),
        ]
        .join("---\n");
        let out = run_str(&text);
        let rescales = rows(&out, "SuccessfulRescale");
        assert!(!rescales.is_empty(), "{target}: no rescale");
        assert!(
            rescales[0].1.contains(&format!("New size: {want};")),
            "{target}: {rescales:?}"
        );
        assert!(rescales[0].1.contains("requests_per_second above target"));
    }
    // An Object metric of an Ingress is a warning, not an error.
    let text = [
        scenario("1m", ""),
        POOL.into(),
        web(1, "100m"),
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  scaleTargetRef: {kind: Deployment, name: web}\n  maxReplicas: 3\n  metrics:\n  - type: Object\n    object:\n      describedObject: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: main}\n      metric: {name: requests-per-second}\n      target: {type: Value, value: 10k}\n".into(),
    ]
    .join("---\n");
    let loaded = scenario::load_str("test.yaml", &text).unwrap();
    assert!(
        loaded.warnings.iter().any(|w| w
            .to_string()
            .contains("Object metrics of kind Ingress are not simulated")),
        "{:?}",
        loaded.warnings
    );
}
