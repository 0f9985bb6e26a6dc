//! Per-replica Services: a Service may select one StatefulSet replica by the identity labels
//! the StatefulSet controller puts on each pod (`statefulset.kubernetes.io/pod-name:
//! <set>-<ordinal>`, `apps.kubernetes.io/pod-index: <ordinal>`, upstream
//! `stateful_set_utils.go`); one naming no possible replica is refused when Traffic uses it.

fn scenario(selector: &str) -> String {
    format!(
        r#"apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {{name: per-replica}}
spec: {{seed: 1, duration: 1m}}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {{name: general}}
spec: {{count: 1, capacity: {{cpu: "4", memory: 16Gi}}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: cache}}
spec:
  serviceName: cache
  replicas: 3
  selector: {{matchLabels: {{app: cache}}}}
  template:
    metadata: {{labels: {{app: cache}}}}
    spec:
      containers: [{{name: cache, image: "cache:v1", resources: {{requests: {{cpu: 500m}}}}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: shard}}
spec: {{selector: {selector}, ports: [{{port: 6379}}]}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Traffic
metadata: {{name: users}}
spec: {{service: shard, rate: 5/s}}
"#
    )
}

#[test]
fn a_service_may_select_one_replica_by_its_identity_labels() {
    let accepted = [
        "{statefulset.kubernetes.io/pod-name: cache-1}",
        "{apps.kubernetes.io/pod-index: \"2\"}",
        "{statefulset.kubernetes.io/pod-name: cache-0, app: cache}",
        "{statefulset.kubernetes.io/pod-name: cache-1, apps.kubernetes.io/pod-index: \"1\"}",
        // A replica a later scale-up may add counts too.
        "{statefulset.kubernetes.io/pod-name: cache-7}",
    ];
    for sel in accepted {
        let r = kubesim::scenario::load_str("s.yaml", &scenario(sel));
        assert!(r.is_ok(), "{sel}: {:?}", r.err().map(|e| e.to_string()));
    }
    let refused = [
        "{statefulset.kubernetes.io/pod-name: other-1}",
        "{statefulset.kubernetes.io/pod-name: cache-x}",
        "{statefulset.kubernetes.io/pod-name: cache-01}",
        "{statefulset.kubernetes.io/pod-name: cache-1, apps.kubernetes.io/pod-index: \"2\"}",
        "{statefulset.kubernetes.io/pod-name: cache-1, app: web}",
    ];
    for sel in refused {
        let err = kubesim::scenario::load_str("s.yaml", &scenario(sel))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("selects no pods"), "{sel}: got {err:?}");
    }
}
