//! Valid scenarios: the resulting `ClusterSpec` values (quantities, defaults, pool expansion,
//! timeline order) and the warnings.

use kubesim::cluster::spec::{
    BehaviorSpec, ControlPlaneSpec, DeploymentStrategy, Distribution, ExpectBound, IntOrPercent,
    Resources, SelectorOperator, TaintEffect, TimelineAction, TolerationOperator,
};
use kubesim::engine::{SimDuration, SimTime};
use kubesim::scenario::yaml::Node;
use kubesim::scenario::{build, load_path, load_str, parse_source};

const FULL: &str = r#"# A scenario using every kind kubesim reads.
apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: black-friday}
spec:
  seed: 7
  duration: 6h
  sampleEvery: 30s
  controlPlane: {watchDelay: 20ms, unschedulableRetry: 1m}
  expect:
  - {metric: pods.pending, below: 1}
  - {metric: pod_startup_seconds.p99, above: 0.5}
  - {metric: nodes.ready, equals: 5}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: general}
spec:
  count: 3
  zones: [a, b]
  capacity: {cpu: "8", memory: 32Gi}
  labels: {tier: general}
  taints: [{key: spot, value: "true", effect: PreferNoSchedule}]
  provisioningDelay: 90s
  pricePerHour: 0.38
  autoscaling: {min: 1, max: 10}
---
apiVersion: v1
kind: Node
metadata:
  name: big-1
  labels: {disk: ssd}
spec:
  taints: [{key: dedicated, value: db, effect: NoSchedule}]
  unschedulable: true
status:
  capacity: {cpu: "16", memory: 64Gi, pods: "250", ephemeral-storage: 100Gi}
  allocatable: {cpu: 15500m, memory: 60Gi}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  namespace: retail
  labels: {app: shop}
  annotations: {deployment.kubernetes.io/revision: "3"}
spec:
  replicas: 12
  selector:
    matchLabels: {app: shop}
    matchExpressions:
    - {key: tier, operator: In, values: [web, api]}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 2, maxUnavailable: "10%"}
  minReadySeconds: 5
  template:
    metadata: {labels: {app: shop, tier: web}}
    spec:
      affinity:
        nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: disk, operator: In, values: [ssd]}], matchFields: [{key: metadata.name, operator: NotIn, values: [big-2]}]}]}}
      nodeSelector: {disk: ssd}
      tolerations:
      - {key: dedicated, operator: Equal, value: db, effect: NoSchedule}
      - {operator: Exists}
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 60}
      priorityClassName: high
      terminationGracePeriodSeconds: 45
      initContainers:
      - name: migrate
        image: shop-migrate:v1
        resources: {requests: {cpu: "1", memory: 1Gi}}
      containers:
      - name: shop
        image: shop:v1
        ports: [{containerPort: 8080}]
        resources:
          requests: {cpu: 500m, memory: 512Mi}
          limits: {cpu: 1}
      - name: sidecar
        image: envoy:1.30
        resources: {limits: {cpu: 0.1, memory: 64Mi}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: batch}
spec:
  replicas: 2
  selector: {matchLabels: {app: batch}}
  template:
    metadata: {labels: {app: batch}}
    spec:
      containers: [{name: worker, image: "worker:v1", resources: {requests: {cpu: 250m, memory: "1e9"}}}]
---
apiVersion: v1
kind: Service
metadata: {name: shop}
spec: {selector: {app: shop}, ports: [{port: 80}]}
---
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {name: shop}
spec:
  imagePull: {uniform: {min: 1s, max: 3s}}
  startup: 4s
  readiness: {lognormal: {median: 2s, p99: 10s}}
  shutdown: {exponential: {mean: 500ms}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {name: batch-behaviour}
spec: {workload: batch, startup: {constant: 1s}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {name: incidents}
spec:
- {at: 4h, setImage: {deployment: shop, container: shop, image: "shop:v2"}}
- {at: 2h, addNodes: {pool: general, count: 2}}
- {at: 3h, cordon: {node: general-4}}
---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {name: ops}
spec:
- {at: 2h, scale: {deployment: shop, replicas: 20}}
- {at: 5h, uncordon: {node: big-1}}
- {at: 5h30m, removeNode: {node: general-0}}
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
description: shop first
"#;

const GI: i64 = 1 << 30;
const MI: i64 = 1 << 20;

#[test]
fn full_scenario_values() {
    let loaded = load_str("full.yaml", FULL).expect("valid scenario");
    let s = &loaded.spec;

    // Scenario.
    assert_eq!(s.name, "black-friday");
    assert_eq!(s.seed, 7);
    assert_eq!(s.duration, SimDuration::from_secs(6 * 3600));
    assert_eq!(s.sample_every, SimDuration::from_secs(30));
    let cp = ControlPlaneSpec::default();
    assert_eq!(s.control_plane.watch_delay, SimDuration::from_millis(20));
    assert_eq!(
        s.control_plane.unschedulable_retry,
        SimDuration::from_secs(60)
    );
    assert_eq!(s.control_plane.api_write_latency, cp.api_write_latency);
    assert_eq!(s.control_plane.scheduling_latency, cp.scheduling_latency);
    assert_eq!(
        s.control_plane.node_status_update_frequency,
        cp.node_status_update_frequency
    );
    assert_eq!(s.expectations.len(), 3);
    assert_eq!(s.expectations[0].metric, "pods.pending");
    assert_eq!(s.expectations[0].bound, ExpectBound::Below(1.0));
    assert_eq!(s.expectations[0].source, "full.yaml:11:5");
    assert_eq!(s.expectations[1].bound, ExpectBound::Above(0.5));
    assert_eq!(s.expectations[2].bound, ExpectBound::Equals(5.0));

    // Node pool.
    assert_eq!(s.node_pools.len(), 1);
    let pool = &s.node_pools[0];
    assert_eq!(pool.name, "general");
    assert_eq!(pool.count, 3);
    assert_eq!(pool.zones, ["a", "b"]);
    assert_eq!(
        pool.capacity,
        Resources {
            cpu_milli: 8000,
            memory_bytes: 32 * GI,
            pods: 110
        }
    );
    assert_eq!(pool.provisioning_delay, SimDuration::from_secs(90));
    assert_eq!(pool.price_per_hour, 0.38);
    assert_eq!(pool.taints[0].effect, TaintEffect::PreferNoSchedule);

    // Nodes: the Node manifest first, then the pool expanded.
    let names: Vec<&str> = s.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["big-1", "general-0", "general-1", "general-2"]);
    let big = &s.nodes[0];
    assert_eq!(
        big.allocatable,
        Resources {
            cpu_milli: 15500,
            memory_bytes: 60 * GI,
            pods: 250
        },
        "allocatable wins over capacity, per resource"
    );
    assert!(big.unschedulable);
    assert_eq!(
        big.labels.get("kubernetes.io/hostname").map(String::as_str),
        Some("big-1")
    );
    assert_eq!(big.labels.get("disk").map(String::as_str), Some("ssd"));
    assert_eq!(big.taints[0].key, "dedicated");
    assert_eq!(big.taints[0].effect, TaintEffect::NoSchedule);
    assert_eq!(big.pool, None);
    let g1 = &s.nodes[2];
    assert_eq!(g1.pool.as_deref(), Some("general"));
    assert_eq!(
        g1.labels
            .get("topology.kubernetes.io/zone")
            .map(String::as_str),
        Some("b")
    );
    assert_eq!(g1.labels.get("tier").map(String::as_str), Some("general"));
    assert_eq!(g1.price_per_hour, 0.38);
    assert_eq!(g1.allocatable.cpu_milli, 8000);

    // Deployment.
    assert_eq!(s.deployments.len(), 1);
    let d = &s.deployments[0];
    assert_eq!(d.name, "shop");
    assert_eq!(d.namespace, "retail");
    assert_eq!(d.replicas, 12);
    assert_eq!(d.min_ready_seconds, 5);
    assert_eq!(d.revision_history_limit, 10);
    assert_eq!(d.progress_deadline_seconds, 600);
    assert!(!d.paused);
    assert_eq!(
        d.strategy,
        DeploymentStrategy::RollingUpdate {
            max_surge: IntOrPercent::Int(2),
            max_unavailable: IntOrPercent::Percent(10)
        }
    );
    assert_eq!(
        d.selector.match_expressions[0].operator,
        SelectorOperator::In
    );
    assert_eq!(d.selector.match_expressions[0].values, ["web", "api"]);
    let t = &d.template;
    assert_eq!(t.labels.len(), 2);
    assert_eq!(t.node_selector.get("disk").map(String::as_str), Some("ssd"));
    assert_eq!(t.priority, 1000);
    assert_eq!(t.termination_grace_period, SimDuration::from_secs(45));
    assert_eq!(t.scheduler_name, "default-scheduler");
    assert_eq!(t.node_name, None);
    assert_eq!(t.tolerations.len(), 3);
    assert_eq!(t.tolerations[0].operator, TolerationOperator::Equal);
    assert_eq!(t.tolerations[0].effect, Some(TaintEffect::NoSchedule));
    assert_eq!(t.tolerations[1].operator, TolerationOperator::Exists);
    assert_eq!(t.tolerations[1].key, "");
    assert_eq!(t.tolerations[1].effect, None);
    assert_eq!(t.tolerations[2].toleration_seconds, Some(60));
    let shop = &t.containers[0];
    assert_eq!(shop.image, "shop:v1");
    assert_eq!(
        shop.requests,
        Resources {
            cpu_milli: 500,
            memory_bytes: 512 * MI,
            pods: 0
        }
    );
    assert_eq!(shop.limits.cpu_milli, 1000);
    assert_eq!(shop.limits.memory_bytes, 0, "no memory limit");
    let sidecar = &t.containers[1];
    assert_eq!(
        sidecar.requests,
        Resources {
            cpu_milli: 100,
            memory_bytes: 64 * MI,
            pods: 0
        },
        "requests default to limits"
    );
    assert_eq!(t.init_containers[0].requests.cpu_milli, 1000);
    // Effective pod request: 500m + 100m, raised to the init container's 1 CPU / 1Gi.
    assert_eq!(
        t.pod_requests(),
        Resources {
            cpu_milli: 1000,
            memory_bytes: GI,
            pods: 1
        }
    );

    // ReplicaSet.
    assert_eq!(s.replica_sets.len(), 1);
    let rs = &s.replica_sets[0];
    assert_eq!(rs.name, "batch");
    assert_eq!(rs.namespace, "default");
    assert_eq!(rs.replicas, 2);
    assert_eq!(rs.template.containers[0].requests.cpu_milli, 250);
    assert_eq!(
        rs.template.containers[0].requests.memory_bytes,
        1_000_000_000
    );
    assert_eq!(
        rs.template.termination_grace_period,
        SimDuration::from_secs(30)
    );

    // Behaviors, keyed by workload.
    let shop_b = &s.behaviors["shop"];
    assert_eq!(shop_b.name, "shop");
    assert_eq!(
        shop_b.image_pull,
        Distribution::Uniform {
            min: SimDuration::from_secs(1),
            max: SimDuration::from_secs(3)
        }
    );
    assert_eq!(
        shop_b.startup,
        Distribution::Constant(SimDuration::from_secs(4))
    );
    assert_eq!(
        shop_b.readiness,
        Distribution::LogNormal {
            median: SimDuration::from_secs(2),
            p99: SimDuration::from_secs(10)
        }
    );
    assert_eq!(
        shop_b.shutdown,
        Distribution::Exponential {
            mean: SimDuration::from_millis(500)
        }
    );
    let batch_b = &s.behaviors["batch"];
    assert_eq!(batch_b.name, "batch-behaviour");
    assert_eq!(
        batch_b.startup,
        Distribution::Constant(SimDuration::from_secs(1))
    );
    let defaults = BehaviorSpec::default_for("batch");
    assert_eq!(batch_b.image_pull, defaults.image_pull);
    assert_eq!(batch_b.readiness, defaults.readiness);
    assert_eq!(batch_b.shutdown, defaults.shutdown);

    // Timeline: both documents merged, sorted by time, stable within an instant.
    let hours = |h: u64, m: u64| SimTime((h * 3600 + m * 60) * 1_000_000_000);
    let got: Vec<(SimTime, &TimelineAction)> =
        s.timeline.iter().map(|e| (e.at, &e.action)).collect();
    assert_eq!(
        got,
        [
            (
                hours(2, 0),
                &TimelineAction::AddNodes {
                    pool: "general".into(),
                    count: 2
                }
            ),
            (
                hours(2, 0),
                &TimelineAction::ScaleDeployment {
                    deployment: "shop".into(),
                    replicas: 20
                }
            ),
            (
                hours(3, 0),
                &TimelineAction::Cordon {
                    node: "general-4".into(),
                    unschedulable: true
                }
            ),
            (
                hours(4, 0),
                &TimelineAction::SetImage {
                    deployment: "shop".into(),
                    container: Some("shop".into()),
                    image: "shop:v2".into()
                }
            ),
            (
                hours(5, 0),
                &TimelineAction::Cordon {
                    node: "big-1".into(),
                    unschedulable: false
                }
            ),
            (
                hours(5, 30),
                &TimelineAction::RemoveNode {
                    node: "general-0".into()
                }
            ),
        ]
    );
    assert_eq!(s.timeline[0].source, "full.yaml:119:3");
    assert_eq!(s.timeline[1].source, "full.yaml:126:3");

    // Warnings: read-but-not-simulated fields and skipped kinds, in file order.
    let warnings: Vec<String> = loaded.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        warnings,
        [
            "full.yaml:76:9: Deployment/shop: spec.template.spec.containers[0].ports: read but not simulated; ignored",
            // The Service is in namespace default, the Deployment in retail.
            "full.yaml:97:18: Service/shop: metadata.name: this Service selects no pods of any Deployment, ReplicaSet, Job, Rollout, StatefulSet or CronJob",
        ]
    );
    assert_eq!(s.ignored_fields.len(), 1);
    // The pool's autoscaling makes it a cluster-autoscaler node group.
    assert_eq!(s.autoscaling.node_groups.len(), 1);
    assert_eq!(
        (
            s.autoscaling.node_groups[0].min,
            s.autoscaling.node_groups[0].max
        ),
        (1, 10)
    );
    // The v1 Service is read (request traffic).
    assert_eq!(s.services.len(), 1);
    assert_eq!(s.services[0].name, "shop");
    assert_eq!(s.ignored_fields[0].location, "full.yaml:76:9");
    assert_eq!(
        s.ignored_fields[0].path,
        "Deployment/shop: spec.template.spec.containers[0].ports"
    );
    // Priority admission resolved the class; the required node affinity was read.
    assert_eq!(s.priority_classes.len(), 1);
    let t = &s.deployments[0].template;
    assert_eq!(t.priority_class_name.as_deref(), Some("high"));
    let req = t
        .affinity
        .node_affinity
        .required
        .as_ref()
        .expect("required");
    assert_eq!(req[0].match_expressions[0].values, ["ssd"]);
    assert_eq!(req[0].match_fields[0].key, "metadata.name");
    assert_eq!(loaded.files, [std::path::PathBuf::from("full.yaml")]);
}

const MINIMAL: &str = "apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: min}
spec: {duration: 10m}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: p}
spec: {count: 1, capacity: {cpu: 2, memory: 4Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: web}]
";

#[test]
fn defaults() {
    let s = load_str("min.yaml", MINIMAL).expect("valid").spec;
    assert_eq!(s.seed, 1);
    assert_eq!(s.sample_every, SimDuration::from_secs(10));
    assert_eq!(s.control_plane, ControlPlaneSpec::default());
    assert!(s.expectations.is_empty() && s.timeline.is_empty() && s.behaviors.is_empty());
    let pool = &s.node_pools[0];
    assert_eq!(pool.provisioning_delay, SimDuration::ZERO);
    assert_eq!(pool.price_per_hour, 0.0);
    assert_eq!(pool.capacity.pods, 110);
    assert!(pool.zones.is_empty());
    assert!(
        !s.nodes[0]
            .labels
            .contains_key("topology.kubernetes.io/zone")
    );
    let d = &s.deployments[0];
    assert_eq!(d.replicas, 1);
    assert_eq!(d.namespace, "default");
    assert_eq!(
        d.strategy,
        DeploymentStrategy::RollingUpdate {
            max_surge: IntOrPercent::Percent(25),
            max_unavailable: IntOrPercent::Percent(25)
        }
    );
    assert_eq!(d.revision_history_limit, 10);
    assert_eq!(d.progress_deadline_seconds, 600);
    assert_eq!(d.min_ready_seconds, 0);
    let c = &d.template.containers[0];
    assert_eq!(c.requests, Resources::default());
    assert_eq!(c.limits, Resources::default());
    assert_eq!(
        d.template.termination_grace_period,
        SimDuration::from_secs(30)
    );
    assert_eq!(d.template.scheduler_name, "default-scheduler");
    assert_eq!(d.template.priority, 0);
    assert_eq!(s.behavior_for("web"), BehaviorSpec::default_for("web"));
}

#[test]
fn kubectl_get_output_is_accepted() {
    // Server-populated metadata, status and defaulted fields as `kubectl get deploy -o yaml`
    // prints them, inside a `v1 List`.
    let text = format!(
        "{}---
apiVersion: v1
kind: List
metadata: {{resourceVersion: \"\"}}
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    annotations: {{deployment.kubernetes.io/revision: \"1\"}}
    creationTimestamp: \"2024-01-01T00:00:00Z\"
    generation: 1
    name: api
    namespace: default
    resourceVersion: \"12345\"
    uid: 0b6c8f3e-1111-2222-3333-444455556666
  spec:
    progressDeadlineSeconds: 600
    replicas: 3
    revisionHistoryLimit: 10
    selector: {{matchLabels: {{app: api}}}}
    strategy:
      rollingUpdate: {{maxSurge: 25%, maxUnavailable: 25%}}
      type: RollingUpdate
    template:
      metadata:
        creationTimestamp: null
        labels: {{app: api}}
      spec:
        containers:
        - image: api:v1
          imagePullPolicy: IfNotPresent
          name: api
          resources: {{}}
          terminationMessagePath: /dev/termination-log
          terminationMessagePolicy: File
        dnsPolicy: ClusterFirst
        restartPolicy: Always
        schedulerName: default-scheduler
        securityContext: {{}}
        terminationGracePeriodSeconds: 30
  status:
    availableReplicas: 3
    replicas: 3
",
        MINIMAL
    );
    let loaded = load_str("get.yaml", &text).expect("kubectl output loads");
    assert_eq!(loaded.spec.deployments.len(), 2);
    assert_eq!(loaded.spec.deployments[1].name, "api");
    assert_eq!(loaded.spec.deployments[1].replicas, 3);
    let warnings: Vec<String> = loaded.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        warnings,
        [
            "get.yaml:50:11: Deployment/api: spec.template.spec.containers[0].imagePullPolicy: read but not simulated; ignored",
            "get.yaml:60:3: Deployment/api: status: read but not simulated; ignored",
        ],
        "empty securityContext / resources give no warning"
    );
}

#[test]
fn folder_is_read_in_file_name_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (scenario, rest) = MINIMAL.split_once("---\n").expect("two parts");
    std::fs::write(dir.path().join("b-workloads.yaml"), rest).expect("write");
    std::fs::write(dir.path().join("a-scenario.yml"), scenario).expect("write");
    std::fs::write(dir.path().join("notes.txt"), "not yaml: [").expect("write");
    let loaded = load_path(dir.path()).expect("folder loads");
    let names: Vec<String> = loaded
        .files
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(names, ["a-scenario.yml", "b-workloads.yaml"]);
    assert_eq!(loaded.spec.name, "min");
    assert_eq!(loaded.spec.deployments.len(), 1);

    // A single file works too, and errors name the file.
    let file = dir.path().join("b-workloads.yaml");
    let e = load_path(&file).expect_err("no Scenario in that file");
    assert!(
        e.to_string()
            .starts_with(&format!("{}:0:0: no Scenario", file.display()))
    );
}

#[test]
fn trees_can_be_changed_before_conversion() {
    let mut src = parse_source("min.yaml", MINIMAL).expect("parses");
    let doc = src.document_mut("Deployment", "web").expect("found");
    doc.set_path(
        "spec.template.spec.containers[0].resources.requests.cpu",
        Node::String("250m".into()),
    )
    .expect("set");
    doc.set_path("spec.replicas", Node::Int(5)).expect("set");
    let (spec, _) = build(std::slice::from_ref(&src)).expect("valid");
    assert_eq!(spec.deployments[0].replicas, 5);
    assert_eq!(
        spec.deployments[0].template.containers[0]
            .requests
            .cpu_milli,
        250
    );

    // A bad value set by a program is still reported with a path (no line: it has none).
    let doc = src.document_mut("Deployment", "web").expect("found");
    doc.set_path("spec.replicas", Node::String("many".into()))
        .expect("set");
    let e = build(std::slice::from_ref(&src)).expect_err("bad replicas");
    assert_eq!(
        e.to_string(),
        "min.yaml:0:0: Deployment/web: spec.replicas: expected an integer, found string \"many\""
    );
}

#[test]
fn workloads_may_wait_for_added_nodes() {
    let text = MINIMAL.replace("count: 1,", "count: 0,")
        + "---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {name: t}
spec: [{at: 1m, addNodes: {pool: p, count: 1}}, {at: 2m, cordon: {node: p-0}}]
";
    let s = load_str("t.yaml", &text).expect("valid").spec;
    assert!(s.nodes.is_empty());
    assert_eq!(s.timeline.len(), 2);
}

#[test]
fn expectation_bounds_may_be_durations() {
    let text = MINIMAL.replace(
        "spec: {duration: 10m}",
        "spec: {duration: 10m, expect: [{metric: pod_startup_seconds.p99, below: 250ms}]}",
    );
    let s = load_str("t.yaml", &text).expect("valid").spec;
    assert_eq!(s.expectations[0].bound, ExpectBound::Below(0.25));
    assert_eq!(s.expectations[0].source, "t.yaml:4:32");
}

#[test]
fn ambassador_and_metrics_adapter_are_read_with_defaults() {
    let text = format!(
        "{MINIMAL}---
apiVersion: kubesim.dev/v1alpha1
kind: Behavior
metadata: {{name: web}}
spec:
  serving:
    ambassador: {{latency: 2ms, cpuPerCall: 500us}}
    metricsAdapter: {{scrapeInterval: 15s, cpuPerRequest: 1ms}}
  versions:
  - {{image: web:v2, ambassador: {{latency: 0ms}}, metricsAdapter: {{}}}}
"
    );
    let s = load_str("t.yaml", &text).expect("valid").spec;
    let b = s.behavior_for("web");
    let a = b.serving.ambassador.expect("ambassador");
    assert_eq!(a.latency, SimDuration::from_millis(2));
    assert_eq!(a.cpu_per_call, SimDuration::from_micros(500));
    let m = b.serving.metrics_adapter.expect("adapter");
    assert_eq!(m.scrape_interval, SimDuration::from_secs(15));
    // prometheus-adapter's walkthrough range.
    assert_eq!(m.rate_window, SimDuration::from_secs(120));
    assert_eq!(m.cpu_per_request, SimDuration::from_millis(1));
    // A version's entries replace the base's; `{}` is a 30 s scrape and the 2 m window.
    let v2 = b.serving_for("web:v2");
    assert_eq!(v2.ambassador.expect("v2").latency, SimDuration::ZERO);
    let d = v2.metrics_adapter.expect("v2");
    assert_eq!(
        (d.scrape_interval, d.rate_window),
        (SimDuration::from_secs(30), SimDuration::from_secs(120))
    );
    // Without them, none.
    let plain = load_str("min.yaml", MINIMAL).expect("valid").spec;
    let p = plain.behavior_for("web");
    assert!(p.serving.ambassador.is_none() && p.serving.metrics_adapter.is_none());
}
