//! Bad scenario inputs: each must be refused with the exact one-line message
//! `file:line:col: path: message (did you mean "x"?)`, and no input may make the loader panic.

use kubesim::scenario::{load_path, load_str};

const SCENARIO: &str = "apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: s}
spec: {duration: 1h}
---
";

const POOL: &str = "apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: pool}
spec: {count: 2, capacity: {cpu: \"4\", memory: 8Gi}}
---
";

const DEPLOYMENT: &str = "apiVersion: apps/v1
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

/// Scenario, pool and deployment: 20 lines, ending with `---`.
fn base() -> String {
    format!("{SCENARIO}{POOL}{DEPLOYMENT}")
}

/// A Deployment named `web` with `body` (indented under `spec:`) after the preamble.
fn deployment_with(spec_body: &str) -> String {
    format!(
        "{SCENARIO}{POOL}apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n{spec_body}\n"
    )
}

/// A Deployment whose only container has `container_extra` (indented 8 spaces).
fn container_with(container_extra: &str) -> String {
    deployment_with(&format!(
        "  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n      - name: web\n        image: web:v1\n{container_extra}"
    ))
}

fn timeline(entries: &str) -> String {
    format!(
        "{}apiVersion: kubesim.dev/v1alpha1\nkind: Timeline\nmetadata: {{name: t}}\nspec:\n{entries}\n",
        base()
    )
}

fn behavior(spec: &str) -> String {
    format!(
        "{}apiVersion: kubesim.dev/v1alpha1\nkind: Behavior\nmetadata: {{name: web}}\nspec: {spec}\n",
        base()
    )
}

/// The Deployment `web` of [`base`] with `extra` lines appended to its pod spec (indented 6);
/// `extra` may continue with more documents.
fn pod_spec_with(extra: &str) -> String {
    format!(
        "{SCENARIO}{POOL}{}{extra}\n",
        DEPLOYMENT.trim_end_matches("---\n")
    )
}

fn cases() -> Vec<(&'static str, String, &'static str)> {
    vec![
        (
            "node affinity In without values",
            pod_spec_with("      affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: disk, operator: In}]}]}}}"),
            "t.yaml:20:122: Deployment/web: spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values: must be specified when `operator` is 'In' or 'NotIn'",
        ),
        (
            "node affinity Gt with two values",
            pod_spec_with("      affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: disk, operator: Gt, values: [\"1\", \"2\"]}]}]}}}"),
            "t.yaml:20:156: Deployment/web: spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values: must be specified single value when `operator` is 'Lt' or 'Gt'",
        ),
        (
            "node affinity operator typo",
            pod_spec_with("      affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: disk, operator: Inn, values: [a]}]}]}}}"),
            "t.yaml:20:144: Deployment/web: spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator: unsupported value \"Inn\"; supported values: In, NotIn, Exists, DoesNotExist, Gt, Lt (did you mean \"In\"?)",
        ),
        (
            "matchFields key other than metadata.name",
            pod_spec_with("      affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchFields: [{key: metadata.nam, operator: In, values: [a]}]}]}}}"),
            "t.yaml:20:123: Deployment/web: spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].key: not a valid field selector key \"metadata.nam\"; supported: metadata.name (did you mean \"metadata.name\"?)",
        ),
        (
            "preferred weight 0",
            pod_spec_with("      affinity: {nodeAffinity: {preferredDuringSchedulingIgnoredDuringExecution: [{weight: 0, preference: {matchExpressions: [{key: a, operator: Exists}]}}]}}"),
            "t.yaml:20:92: Deployment/web: spec.template.spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: must be in the range 1-100, found 0",
        ),
        (
            "pod anti-affinity empty topologyKey",
            pod_spec_with("      affinity: {podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{labelSelector: {matchLabels: {app: web}}, topologyKey: \"\"}]}}"),
            "t.yaml:20:141: Deployment/web: spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: can not be empty",
        ),
        (
            "pod affinity field typo",
            pod_spec_with("      affinity: {podAffinity: {requiredDuringSchedulingIgnoredDuringExecution: [{labelSelector: {matchLabels: {app: web}}, topologyKye: zone}]}}"),
            "t.yaml:20:124: Deployment/web: spec.template.spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKye: unknown field \"topologyKye\" (did you mean \"topologyKey\"?)",
        ),
        (
            "maxSkew 0",
            pod_spec_with("      topologySpreadConstraints: [{maxSkew: 0, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}]"),
            "t.yaml:20:45: Deployment/web: spec.template.spec.topologySpreadConstraints[0].maxSkew: must be greater than zero, found 0",
        ),
        (
            "whenUnsatisfiable typo",
            pod_spec_with("      topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedul}]"),
            "t.yaml:20:86: Deployment/web: spec.template.spec.topologySpreadConstraints[0].whenUnsatisfiable: unsupported value \"DoNotSchedul\"; supported values: DoNotSchedule, ScheduleAnyway (did you mean \"DoNotSchedule\"?)",
        ),
        (
            "minDomains with ScheduleAnyway",
            pod_spec_with("      topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway, minDomains: 2}]"),
            "t.yaml:20:114: Deployment/web: spec.template.spec.topologySpreadConstraints[0].minDomains: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway",
        ),
        (
            "duplicate spread constraint",
            pod_spec_with("      topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}, {maxSkew: 2, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}]"),
            "t.yaml:20:102: Deployment/web: spec.template.spec.topologySpreadConstraints[1]: Duplicate value: {\"zone\", DoNotSchedule}: a topologyKey and whenUnsatisfiable pair may appear once",
        ),
        (
            "matchLabelKeys also in labelSelector",
            pod_spec_with("      topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}, matchLabelKeys: [app]}]"),
            "t.yaml:20:160: Deployment/web: spec.template.spec.topologySpreadConstraints[0].matchLabelKeys[0]: exists in both matchLabelKeys and labelSelector",
        ),
        (
            "unknown PriorityClass",
            pod_spec_with("      priorityClassName: hihg\n---\napiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: high}\nvalue: 1000"),
            "t.yaml:20:26: Deployment/web: spec.template.spec.priorityClassName: no PriorityClass with name \"hihg\" was found (did you mean \"high\"?)",
        ),
        (
            "priority differs from the class",
            pod_spec_with("      priorityClassName: high\n      priority: 5\n---\napiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: high}\nvalue: 1000"),
            "t.yaml:21:17: Deployment/web: spec.template.spec.priority: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name",
        ),
        (
            "preemptionPolicy differs from the global default class",
            pod_spec_with("      preemptionPolicy: Never\n---\napiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: high}\nvalue: 1000\nglobalDefault: true"),
            "t.yaml:20:25: Deployment/web: spec.template.spec.preemptionPolicy: the string value of PreemptionPolicy (Never) must not be provided in pod spec; priority admission controller computed PreemptLowerPriority from the given PriorityClass name",
        ),
        (
            "schedulerName without a profile",
            pod_spec_with("      schedulerName: bin-packer"),
            "t.yaml:20:22: Deployment/web: spec.template.spec.schedulerName: no scheduler profile named \"bin-packer\"; profiles: default-scheduler (add one to a KubeSchedulerConfiguration document)",
        ),
        (
            "PriorityClass value above the user limit",
            pod_spec_with("---\napiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: huge}\nvalue: 2000000000"),
            "t.yaml:24:8: PriorityClass/huge: value: maximum allowed value of a user defined priority is 1000000000, found 2000000000",
        ),
        (
            "two global default PriorityClasses",
            pod_spec_with("---\napiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: a}\nvalue: 1\nglobalDefault: true\n---\napiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: b}\nvalue: 2\nglobalDefault: true"),
            "t.yaml:31:16: PriorityClass/b: globalDefault: PriorityClass a is already marked as default (at t.yaml:23:18). Only one default can exist",
        ),
        (
            "scoring strategy typo",
            pod_spec_with("---\napiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: default-scheduler\n  pluginConfig:\n  - name: NodeResourcesFit\n    args: {scoringStrategy: {type: MostAlocated}}"),
            "t.yaml:27:36: KubeSchedulerConfiguration: profiles[0].pluginConfig[0].args.scoringStrategy.type: unsupported value \"MostAlocated\"; supported values: LeastAllocated, MostAllocated, RequestedToCapacityRatio (did you mean \"MostAllocated\"?)",
        ),
        (
            "score weight above 100",
            pod_spec_with("---\napiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: default-scheduler\n  plugins: {score: {enabled: [{name: NodeResourcesFit, weight: 101}]}}"),
            "t.yaml:25:64: KubeSchedulerConfiguration: profiles[0].plugins.score.enabled[0].weight: must be at most 100, found 101",
        ),
        (
            "shape not increasing",
            pod_spec_with("---\napiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: default-scheduler\n  pluginConfig:\n  - name: NodeResourcesFit\n    args: {scoringStrategy: {type: RequestedToCapacityRatio, requestedToCapacityRatio: {shape: [{utilization: 50, score: 5}, {utilization: 10, score: 10}]}}}"),
            "t.yaml:27:140: KubeSchedulerConfiguration: profiles[0].pluginConfig[0].args.scoringStrategy.requestedToCapacityRatio.shape[1].utilization: utilization values must be sorted in increasing order",
        ),
        (
            "extension point typo",
            pod_spec_with("---\napiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: default-scheduler\n  plugins: {filtre: {enabled: [{name: X}]}}"),
            "t.yaml:25:13: KubeSchedulerConfiguration: profiles[0].plugins.filtre: unknown field \"filtre\" (did you mean \"filter\"?)",
        ),
        (
            "duplicate profile",
            pod_spec_with("---\napiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: default-scheduler\n- schedulerName: default-scheduler"),
            "t.yaml:25:18: KubeSchedulerConfiguration: profiles[1].schedulerName: duplicate schedulerName \"default-scheduler\" (first at t.yaml:24:18)",
        ),
        (
            "yaml syntax error",
            "a: [1, 2\nb: c\n".to_string(),
            "t.yaml:2:2: invalid YAML: illegal placement of ':' indicator",
        ),
        (
            "missing apiVersion",
            "kind: Scenario\nmetadata: {name: s}\n".to_string(),
            "t.yaml:1:1: apiVersion: required field is missing",
        ),
        (
            "missing kind",
            "apiVersion: v1\nmetadata: {name: s}\n".to_string(),
            "t.yaml:1:1: kind: required field is missing",
        ),
        (
            "unknown kind with a typo",
            format!("{SCENARIO}apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {{name: web}}\n"),
            "t.yaml:7:7: kind: unknown kind \"Deploymnet\" (did you mean \"Deployment\"?)",
        ),
        (
            "wrong apiVersion for the kind",
            format!("{SCENARIO}apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {{name: web}}\n"),
            "t.yaml:6:13: apiVersion: apiVersion \"extensions/v1beta1\" is not supported for kind Deployment; expected \"apps/v1\"",
        ),
        (
            "a document that is not a mapping",
            format!("{SCENARIO}- a\n- b\n"),
            "t.yaml:6:1: expected a mapping (a Kubernetes object or a kubesim document), found a list",
        ),
        (
            "unknown field with a typo",
            deployment_with("  replcas: 3"),
            "t.yaml:15:3: Deployment/web: spec.replcas: unknown field \"replcas\" (did you mean \"replicas\"?)",
        ),
        (
            "unknown field without a near name",
            deployment_with("  colour: blue"),
            "t.yaml:15:3: Deployment/web: spec.colour: unknown field \"colour\"; valid fields here: replicas, selector, template, strategy, minReadySeconds, revisionHistoryLimit, progressDeadlineSeconds, paused",
        ),
        (
            "unknown field in metadata",
            format!("{SCENARIO}apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, lables: {{a: b}}}}\n"),
            "t.yaml:8:23: Deployment/web: metadata.lables: unknown field \"lables\" (did you mean \"labels\"?)",
        ),
        (
            "wrong type",
            deployment_with("  replicas: ten"),
            "t.yaml:15:13: Deployment/web: spec.replicas: expected an integer, found string \"ten\"",
        ),
        (
            "bad quantity",
            container_with("        resources: {requests: {cpu: 1.5GB}}"),
            "t.yaml:22:37: Deployment/web: spec.template.spec.containers[0].resources.requests.cpu: invalid quantity \"1.5GB\": unknown suffix \"GB\" (did you mean \"G\" or \"Gi\"?); expected a number with an optional suffix: n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or e<exp> (e.g. \"500m\", \"1.5Gi\", \"129e6\")",
        ),
        (
            "bad duration",
            "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nmetadata: {name: s}\nspec: {duration: 5 minutes}\n".to_string(),
            "t.yaml:4:18: Scenario/s: spec.duration: invalid duration \"5 minutes\": spaces are not allowed (did you mean \"5m\"?); expected a number followed by a unit (ns, us, ms, s, m, h, d), e.g. \"90s\", \"1h30m\", \"250ms\"",
        ),
        (
            "duration without a unit",
            "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nmetadata: {name: s}\nspec: {duration: 60}\n".to_string(),
            "t.yaml:4:18: Scenario/s: spec.duration: expected a duration such as 90s, 5m or 250ms, found integer 60; add a unit, e.g. 60s",
        ),
        (
            "duration longer than a year",
            "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nmetadata: {name: s}\nspec: {duration: 400d}\n".to_string(),
            "t.yaml:4:18: Scenario/s: spec.duration: must be at most 365d",
        ),
        (
            "negative replicas",
            deployment_with("  replicas: -1"),
            "t.yaml:15:13: Deployment/web: spec.replicas: must be greater than or equal to 0, found -1",
        ),
        (
            "absurd replicas",
            deployment_with("  replicas: 5000000"),
            "t.yaml:15:13: Deployment/web: spec.replicas: must be at most 1000000, found 5000000",
        ),
        (
            "zero node capacity",
            format!("{SCENARIO}apiVersion: kubesim.dev/v1alpha1\nkind: NodePool\nmetadata: {{name: pool}}\nspec: {{count: 2, capacity: {{cpu: \"0\", memory: 8Gi}}}}\n"),
            "t.yaml:9:34: NodePool/pool: spec.capacity.cpu: must be greater than 0",
        ),
        (
            "pool with no pod capacity",
            format!("{SCENARIO}apiVersion: kubesim.dev/v1alpha1\nkind: NodePool\nmetadata: {{name: pool}}\nspec: {{count: 2, capacity: {{cpu: \"4\", memory: 8Gi, pods: 0}}}}\n"),
            "t.yaml:9:58: NodePool/pool: spec.capacity.pods: must be greater than 0",
        ),
        (
            "node without memory",
            format!("{SCENARIO}apiVersion: v1\nkind: Node\nmetadata: {{name: n1}}\nstatus:\n  capacity: {{cpu: \"4\"}}\n"),
            "t.yaml:10:3: Node/n1: status.allocatable.memory: a node needs memory: set status.allocatable.memory or status.capacity.memory to more than 0",
        ),
        (
            "selector does not match the template",
            deployment_with("  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: shop}}\n    spec:\n      containers: [{name: web, image: web}]"),
            "t.yaml:17:24: Deployment/web: spec.template.metadata.labels: `selector` does not match template `labels`",
        ),
        (
            "empty selector",
            deployment_with("  selector: {}\n  template:\n    spec:\n      containers: [{name: web, image: web}]"),
            "t.yaml:15:13: Deployment/web: spec.selector: empty selector is invalid for deployment",
        ),
        (
            "duplicate names",
            format!("{}{DEPLOYMENT}", base()),
            "t.yaml:23:18: Deployment/web: metadata.name: duplicate Deployment name \"web\" (first defined at t.yaml:13:18)",
        ),
        (
            "Behavior for a workload that does not exist",
            format!("{}apiVersion: kubesim.dev/v1alpha1\nkind: Behavior\nmetadata: {{name: slow}}\nspec: {{workload: wbe, startup: 3s}}\n", base()),
            "t.yaml:24:18: Behavior/slow: spec.workload: no Deployment, ReplicaSet, StatefulSet, Job, CronJob or Rollout named \"wbe\"; known: web (did you mean \"web\"?)",
        ),
        (
            "uniform with min above max",
            behavior("{imagePull: {uniform: {min: 8s, max: 2s}}}"),
            "t.yaml:24:44: Behavior/web: spec.imagePull.uniform.max: must be greater than or equal to min",
        ),
        (
            "unknown distribution",
            behavior("{startup: {normal: {mean: 2s}}}"),
            "t.yaml:24:18: Behavior/web: spec.startup.normal: unknown field \"normal\"; valid fields here: constant, uniform, exponential, lognormal",
        ),
        (
            "timeline entry after the end of the run",
            timeline("- {at: 2h, scale: {deployment: web, replicas: 3}}"),
            "t.yaml:25:8: Timeline/t: spec[0].at: is after the end of the run (Scenario spec.duration is 1h)",
        ),
        (
            "updateTemplate without annotations",
            timeline("- {at: 20m, updateTemplate: {deployment: web, annotations: {}}}"),
            "t.yaml:25:60: Timeline/t: spec[0].updateTemplate.annotations: at least one annotation is required",
        ),
        (
            "updateTemplate with a non-string annotation",
            timeline("- {at: 20m, updateTemplate: {deployment: web, annotations: {checksum/config: 42}}}"),
            "t.yaml:25:78: Timeline/t: spec[0].updateTemplate.annotations.checksum/config: expected a string, found integer 42; put the value in quotes",
        ),
        (
            "Behavior run time for an init container the workload lacks",
            behavior("{initContainers: {migrate: 10s}}"),
            "t.yaml:24:25: Behavior/web: spec.initContainers.migrate: no init container of web named \"migrate\"; there is no init container of web",
        ),
        (
            "unknown timeline verb",
            timeline("- {at: 20m, scael: {deployment: web, replicas: 3}}"),
            "t.yaml:25:13: Timeline/t: spec[0].scael: unknown field \"scael\" (did you mean \"scale\"?)",
        ),
        (
            "unsupported timeline verb",
            timeline("- at: 20m\n  load: {service: web}"),
            "t.yaml:26:3: Timeline/t: spec[0].load: timeline verb \"load\" is not supported yet; supported verbs: scale, setImage, addNodes, removeNode, cordon, uncordon, rollout, crashNode, recoverNode, zoneOutage, partition, kubeletStop, apiServerDown, slowNode, drainNode, argo, killLeader, updateStatefulSet, updateTemplate",
        ),
        (
            "unknown rollout action",
            timeline("- at: 20m\n  rollout: {deployment: web, action: undoo}"),
            "t.yaml:26:38: Timeline/t: spec[0].rollout.action: unknown rollout action \"undoo\"; expected one of undo, pause, resume (did you mean \"undo\"?)",
        ),
        (
            "rollout toRevision with pause",
            timeline("- at: 20m\n  rollout: {deployment: web, action: pause, toRevision: 2}"),
            "t.yaml:26:38: Timeline/t: spec[0].rollout.action: toRevision is only valid with action undo",
        ),
        (
            "timeline entry with two actions",
            timeline("- {at: 1m, cordon: {node: pool-0}, uncordon: {node: pool-0}}"),
            "t.yaml:25:36: Timeline/t: spec[0].uncordon: a timeline entry has exactly one action, and this one already has \"cordon\"",
        ),
        (
            "timeline entry without at",
            timeline("- {cordon: {node: pool-0}}"),
            "t.yaml:25:3: Timeline/t: spec[0].at: required field is missing",
        ),
        (
            "timeline scales a deployment that does not exist",
            timeline("- {at: 1m, scale: {deployment: webb, replicas: 3}}"),
            "t.yaml:25:32: Timeline/t: spec[0].scale.deployment: no Deployment named \"webb\"; known: web (did you mean \"web\"?)",
        ),
        (
            "timeline cordons a node that never exists",
            timeline("- {at: 1m, cordon: {node: pool-7}}"),
            "t.yaml:25:27: Timeline/t: spec[0].cordon.node: no node named \"pool-7\" at the start of the run or added by the timeline (did you mean \"pool-0\"?)",
        ),
        (
            "timeline sets the image of a container that does not exist",
            timeline("- {at: 1m, setImage: {deployment: web, container: wbe, image: web:v2}}"),
            "t.yaml:25:51: Timeline/t: spec[0].setImage.container: Deployment web has no container \"wbe\"; its containers: web (did you mean \"web\"?)",
        ),
        (
            "timeline adds nodes to a pool that does not exist",
            timeline("- {at: 1m, addNodes: {pool: pol, count: 2}}"),
            "t.yaml:25:29: Timeline/t: spec[0].addNodes.pool: no NodePool named \"pol\"; known: pool (did you mean \"pool\"?)",
        ),
        (
            "missing Scenario",
            format!("{POOL}{DEPLOYMENT}"),
            "t.yaml:0:0: no Scenario document: exactly one (apiVersion: kubesim.dev/v1alpha1, kind: Scenario) is required",
        ),
        (
            "two Scenarios",
            format!("{SCENARIO}{SCENARIO}"),
            "t.yaml:7:7: kind: a second Scenario document; a scenario has exactly one (the first is at t.yaml:2:7)",
        ),
        (
            "huge node count",
            format!("{SCENARIO}apiVersion: kubesim.dev/v1alpha1\nkind: NodePool\nmetadata: {{name: pool}}\nspec: {{count: 1000000000, capacity: {{cpu: \"4\", memory: 8Gi}}}}\n"),
            "t.yaml:9:15: NodePool/pool: spec.count: must be at most 100000, found 1000000000",
        ),
        (
            "too many nodes in total",
            format!("{SCENARIO}apiVersion: kubesim.dev/v1alpha1\nkind: NodePool\nmetadata: {{name: a}}\nspec: {{count: 60000, capacity: {{cpu: \"4\", memory: 8Gi}}}}\n---\napiVersion: kubesim.dev/v1alpha1\nkind: NodePool\nmetadata: {{name: b}}\nspec: {{count: 60000, capacity: {{cpu: \"4\", memory: 8Gi}}}}\n"),
            "t.yaml:13:18: NodePool/b: metadata.name: too many nodes: the scenario would have 120000 nodes; at most 100000 are allowed (raise the limit with --max-nodes N)",
        ),
        (
            "maxSurge and maxUnavailable both 0",
            format!("{}  strategy:\n    rollingUpdate: {{maxSurge: 0, maxUnavailable: \"0%\"}}\n", base().trim_end_matches("---\n")),
            "t.yaml:21:50: Deployment/web: spec.strategy.rollingUpdate.maxUnavailable: may not be 0 when `maxSurge` is 0",
        ),
        (
            "maxUnavailable above 100%",
            format!("{}  strategy:\n    rollingUpdate: {{maxUnavailable: 150%}}\n", base().trim_end_matches("---\n")),
            "t.yaml:21:37: Deployment/web: spec.strategy.rollingUpdate.maxUnavailable: must not be greater than 100%",
        ),
        (
            "Recreate with rollingUpdate",
            format!("{}  strategy:\n    type: Recreate\n    rollingUpdate: {{maxSurge: 1}}\n", base().trim_end_matches("---\n")),
            "t.yaml:22:20: Deployment/web: spec.strategy.rollingUpdate: may not be specified when strategy `type` is 'Recreate'",
        ),
        (
            "taint effect typo",
            format!("{SCENARIO}apiVersion: kubesim.dev/v1alpha1\nkind: NodePool\nmetadata: {{name: pool}}\nspec:\n  count: 1\n  capacity: {{cpu: \"4\", memory: 8Gi}}\n  taints: [{{key: gpu, effect: NoScheduel}}]\n"),
            "t.yaml:12:31: NodePool/pool: spec.taints[0].effect: unsupported value \"NoScheduel\"; supported values: NoSchedule, PreferNoSchedule, NoExecute (did you mean \"NoSchedule\"?)",
        ),
        (
            "toleration Exists with a value",
            deployment_with("  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      tolerations: [{key: gpu, operator: Exists, value: \"yes\"}]\n      containers: [{name: web, image: web}]"),
            "t.yaml:19:57: Deployment/web: spec.template.spec.tolerations[0].value: value must be empty when `operator` is 'Exists'",
        ),
        (
            "request above limit",
            container_with("        resources: {requests: {cpu: \"2\"}, limits: {cpu: 500m}}"),
            "t.yaml:22:37: Deployment/web: spec.template.spec.containers[0].resources.requests.cpu: must be less than or equal to cpu limit of 500m",
        ),
        (
            "container without image",
            deployment_with("  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web}]"),
            "t.yaml:19:20: Deployment/web: spec.template.spec.containers[0].image: required field is missing",
        ),
        (
            "duplicate container name",
            deployment_with("  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: a}, {name: web, image: b}]"),
            "t.yaml:19:50: Deployment/web: spec.template.spec.containers[1].name: duplicate container name \"web\"",
        ),
        (
            "label value that is a number",
            format!("{SCENARIO}apiVersion: v1\nkind: Node\nmetadata: {{name: n1, labels: {{rack: 7}}}}\nstatus: {{capacity: {{cpu: \"4\", memory: 8Gi}}}}\n"),
            "t.yaml:8:37: Node/n1: metadata.labels.rack: expected a string, found integer 7; put the value in quotes",
        ),
        (
            "restartPolicy other than Always",
            deployment_with("  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      restartPolicy: Never\n      containers: [{name: web, image: web}]"),
            "t.yaml:19:22: Deployment/web: spec.template.spec.restartPolicy: unsupported value \"Never\"; supported values: Always",
        ),
        (
            "expectation with two bounds",
            "apiVersion: kubesim.dev/v1alpha1\nkind: Scenario\nmetadata: {name: s}\nspec:\n  duration: 1h\n  expect: [{metric: pods.pending, below: 1, above: 0}]\n".to_string(),
            "t.yaml:6:45: Scenario/s: spec.expect[0].above: give exactly one of below, above, equals",
        ),
        (
            "workloads but no nodes",
            format!("{SCENARIO}{DEPLOYMENT}"),
            "t.yaml:8:18: Deployment/web: metadata.name: this Deployment has no node to run on: add a v1 Node, a NodePool with count > 0, or a Timeline addNodes entry",
        ),
        (
            "a Node whose name a pool also creates",
            format!("{}apiVersion: v1\nkind: Node\nmetadata: {{name: pool-1}}\nstatus: {{capacity: {{cpu: \"4\", memory: 8Gi}}}}\n", base()),
            "t.yaml:8:18: NodePool/pool: metadata.name: NodePool pool would create node \"pool-1\", which is already the Node at t.yaml:23:18",
        ),
        (
            "invalid object name",
            format!("{SCENARIO}apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: Web_1}}\n"),
            "t.yaml:8:18: Deployment/Web_1: metadata.name: invalid name \"Web_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        ),
    ]
}

#[test]
fn every_bad_input_gives_its_exact_message() {
    let cases = cases();
    assert!(cases.len() >= 25);
    let mut failures = Vec::new();
    for (name, yaml, expected) in &cases {
        match load_str("t.yaml", yaml) {
            Ok(_) => failures.push(format!("{name}: loaded without error")),
            Err(e) => {
                let got = e.to_string();
                if got != *expected {
                    failures.push(format!(
                        "{name}:\n  expected: {expected}\n  got:      {got}"
                    ));
                }
                assert!(
                    !got.contains('\n'),
                    "{name}: message is not one line: {got}"
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn errors_carry_file_line_column_and_path() {
    let e = load_str("t.yaml", &deployment_with("  replcas: 3")).expect_err("typo");
    assert_eq!(e.file, "t.yaml");
    assert_eq!((e.line, e.column), (15, 3));
    assert_eq!(e.path, "Deployment/web: spec.replcas");
    assert_eq!(e.suggestion.as_deref(), Some("replicas"));
}

#[test]
fn miette_renders_the_offending_line() {
    let e = load_str("t.yaml", &deployment_with("  replicas: ten")).expect_err("bad type");
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, &e)
        .expect("render");
    assert!(out.contains("replicas: ten"), "{out}");
    assert!(out.contains("expected an integer"), "{out}");
}

#[test]
fn missing_file_and_folder_are_errors_at_line_0() {
    let e =
        load_path(std::path::Path::new("/nonexistent/kubesim/scenario.yaml")).expect_err("missing");
    assert_eq!((e.line, e.column), (0, 0));
    assert!(
        e.to_string()
            .starts_with("/nonexistent/kubesim/scenario.yaml:0:0: cannot read:"),
        "{e}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let e = load_path(dir.path()).expect_err("empty folder");
    assert!(
        e.to_string()
            .ends_with("the folder has no .yaml or .yml files"),
        "{e}"
    );
}

/// A valid scenario using most features, for the no-panic tests.
fn valid() -> String {
    format!(
        "{}apiVersion: v1\nkind: Node\nmetadata: {{name: n1, labels: {{disk: ssd}}}}\nspec:\n  taints: [{{key: a, value: b, effect: NoExecute}}]\nstatus: {{capacity: {{cpu: \"4\", memory: 8Gi}}}}\n---\napiVersion: kubesim.dev/v1alpha1\nkind: Behavior\nmetadata: {{name: web}}\nspec:\n  imagePull: {{lognormal: {{median: 2s, p99: 10s}}}}\n  startup: 3s\n---\napiVersion: kubesim.dev/v1alpha1\nkind: Timeline\nmetadata: {{name: t}}\nspec:\n- {{at: 10m, scale: {{deployment: web, replicas: 4}}}}\n- at: 20m\n  addNodes: {{pool: pool, count: 1}}\n- {{at: 30m, cordon: {{node: pool-2}}}}\n",
        base()
    )
}

#[test]
fn the_valid_scenario_loads() {
    let loaded = load_str("t.yaml", &valid()).expect("valid");
    assert_eq!(loaded.spec.nodes.len(), 3);
    assert_eq!(loaded.spec.timeline.len(), 3);
}

/// Loading may fail, but an error message is always one line.
fn one_line(r: Result<kubesim::scenario::Loaded, kubesim::scenario::ScenarioError>) {
    if let Err(e) = r {
        let msg = e.to_string();
        assert!(!msg.contains('\n') && !msg.contains('\r'), "{msg:?}");
    }
}

#[test]
fn truncated_input_never_panics() {
    let text = valid();
    for cut in 0..=text.len() {
        if text.is_char_boundary(cut) {
            one_line(load_str("t.yaml", &text[..cut]));
        }
    }
}

#[test]
fn garbled_input_never_panics() {
    let text = valid();
    let bytes = text.as_bytes();
    let replacements: &[&str] = &[
        "", "\t", ":", "- ", "[", "}", "\"", "\n", "&a *a", "!!int ", "-1", "~", "é\u{0}",
    ];
    // Replace one byte at a time with each replacement, at a stride to keep the test fast.
    for i in (0..bytes.len()).step_by(4) {
        if !text.is_char_boundary(i) || !text.is_char_boundary(i + 1) {
            continue;
        }
        for r in replacements {
            let garbled = format!("{}{}{}", &text[..i], r, &text[i + 1..]);
            one_line(load_str("t.yaml", &garbled));
        }
    }
    // Whole-structure swaps.
    for bad in [
        text.replace(':', ""),
        text.replace('{', "["),
        text.replace("---", ""),
        text.replace("  ", " "),
        text.replace('\n', "\n  "),
        text.replace("1h", "-1h"),
        text.replace("4", "-4"),
        text.repeat(2),
        text.replace("name: web", "name: \"w\\ne\\tb\""),
        text.replace("disk: ssd", "\"d\\nisk\": ssd"),
        text.replace("replicas: 4", "\"re\\nplicas\": 4"),
    ] {
        one_line(load_str("t.yaml", &bad));
    }
}

#[test]
fn hostile_yaml_is_refused_not_crashed() {
    let deep = format!("{SCENARIO}a: {}\n", "[".repeat(100_000));
    let e = load_str("t.yaml", &deep).expect_err("too deep");
    assert!(e.to_string().starts_with("t.yaml:"), "{e}");
    let laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
    assert!(load_str("t.yaml", laughs).is_err());
    let e = load_str("t.yaml", "\u{feff}\u{0}\u{1}").expect_err("binary");
    assert!(!e.to_string().contains('\n'));
}

/// The whole catalogue through the binary: `kubesim validate` exits 2 and prints exactly the
/// one-line message (with the temporary file's name), and never panics.
#[test]
fn every_bad_input_exits_2_through_the_binary() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    for (i, (name, yaml, expected)) in cases().iter().enumerate() {
        let f = tmp.path().join(format!("case{i}.yaml"));
        std::fs::write(&f, yaml).expect("write");
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_kubesim"))
            .arg("validate")
            .arg(&f)
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&o.stderr);
        let want = expected.replace("t.yaml", &f.display().to_string());
        if o.status.code() != Some(2) || !err.contains(&want) || err.contains("panicked") {
            failures.push(format!("{name}: exit {:?}, stderr {err}", o.status.code()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
