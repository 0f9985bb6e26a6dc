//! Loading: files and folders to located trees ([`parse_source`], [`read_sources`]), trees to a
//! validated [`ClusterSpec`] ([`build`]), and the one-call forms [`load_path`] / [`load_str`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cluster::spec::{
    BehaviorSpec, ClusterSpec, DeploymentSpec, IgnoredField, NodePoolSpec, NodeSpec,
    ReplicaSetSpec, TimelineAction, TimelineEntry, expand_pool,
};
use crate::engine::SimTime;

use super::duration::format_duration;
use super::error::{ScenarioError, Warning, suggest};
use super::kubesim_docs::{
    BehaviorDoc, KUBESIM_DOC, KUBESIM_META, RawAction, RawEntry, Ref, ScenarioDoc, read_behavior,
    read_node_pool, read_scenario, read_timeline,
};
use super::limits::{SizeLimits, check_total};
use super::manifests::{
    OBJECT_META, node_doc_fields, read_deployment, read_meta, read_node, read_replica_set,
    workload_doc_fields,
};
use super::reader::{Cx, Fields, Loc, R, Src, Val};
use super::scheduling::{
    PriorityRefs, SCHEDULER_CONFIG_API, SchedulerConfigDoc, apply_scheduler_config,
    priority_class_doc_fields, priority_refs, read_priority_class, read_scheduler_config,
    resolve_priority, scheduler_config_doc_fields,
};
use super::traffic_docs::{
    DESTINATION_RULE_DOC, DestinationRuleDoc, SERVICE_DOC, TrafficDoc, read_destination_rule,
    read_service, read_traffic,
};
use super::yaml::{Node, Pos, Yaml, parse_documents};
use crate::cluster::spec::{DestinationRuleSpec, Labels, ServiceSpec, TrafficSpec};

/// The result of loading a scenario.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The validated cluster description.
    pub spec: ClusterSpec,
    /// Fields read but not simulated and documents skipped, in input order (also in
    /// `spec.ignored_fields`).
    pub warnings: Vec<Warning>,
    /// The files that were read, in the order they were read.
    pub files: Vec<PathBuf>,
}

/// One input file parsed into located YAML trees, before typed conversion. A caller may change
/// the trees (e.g. apply a sweep parameter with [`Yaml::set_path`]) and then call [`build`].
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// File name used in messages.
    pub name: String,
    /// The file's text (for source snippets in errors).
    pub text: Arc<str>,
    /// Its documents, in order (empty documents included as `Null`).
    pub documents: Vec<Yaml>,
}

impl SourceFile {
    /// The document with this `kind` and `metadata.name`, for changing it before [`build`].
    pub fn document_mut(&mut self, kind: &str, name: &str) -> Option<&mut Yaml> {
        self.documents.iter_mut().find(|d| {
            d.get("kind").and_then(Yaml::as_str) == Some(kind)
                && d.get("metadata")
                    .and_then(|m| m.get("name"))
                    .and_then(Yaml::as_str)
                    == Some(name)
        })
    }
}

/// Parse `text` (named `name` in messages) into documents. A YAML syntax error is a located
/// [`ScenarioError`].
pub fn parse_source(name: &str, text: &str) -> Result<SourceFile, ScenarioError> {
    let text: Arc<str> = Arc::from(text);
    match parse_documents(&text) {
        Ok(documents) => Ok(SourceFile {
            name: name.to_string(),
            text,
            documents,
        }),
        Err(e) => Err(ScenarioError::new(
            name,
            Some(&text),
            e.pos,
            "",
            format!("invalid YAML: {}", e.message),
        )),
    }
}

/// Read and parse a `.yaml` / `.yml` file, or every such file of a folder (not recursive),
/// sorted by file name. Returns the parsed files and their paths.
pub fn read_sources(path: &Path) -> Result<(Vec<SourceFile>, Vec<PathBuf>), ScenarioError> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path)
        .map_err(|e| ScenarioError::file_level(&shown, format!("cannot read: {e}")))?;
    let paths: Vec<PathBuf> = if meta.is_dir() {
        let entries = std::fs::read_dir(path)
            .map_err(|e| ScenarioError::file_level(&shown, format!("cannot read folder: {e}")))?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| {
                ScenarioError::file_level(&shown, format!("cannot read folder: {e}"))
            })?;
            let p = entry.path();
            let is_yaml = p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| x == "yaml" || x == "yml");
            if is_yaml && p.is_file() {
                files.push(p);
            }
        }
        files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
        if files.is_empty() {
            return Err(ScenarioError::file_level(
                &shown,
                "the folder has no .yaml or .yml files",
            ));
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut sources = Vec::with_capacity(paths.len());
    for p in &paths {
        let name = p.display().to_string();
        let text = std::fs::read_to_string(p)
            .map_err(|e| ScenarioError::file_level(&name, format!("cannot read: {e}")))?;
        sources.push(parse_source(&name, &text)?);
    }
    Ok((sources, paths))
}

/// Load a scenario from a `.yaml` / `.yml` file of one or more documents, or from a folder of
/// such files (sorted by file name, not recursive). A missing file or folder is an error at
/// line 0.
pub fn load_path(path: &Path) -> Result<Loaded, ScenarioError> {
    load_path_with_limits(path, &SizeLimits::default())
}

/// As [`load_path`], with size limits other than the defaults.
pub fn load_path_with_limits(path: &Path, limits: &SizeLimits) -> Result<Loaded, ScenarioError> {
    let (sources, files) = read_sources(path)?;
    let (spec, warnings) = build_with_limits(&sources, limits)?;
    Ok(Loaded {
        spec,
        warnings,
        files,
    })
}

/// Load a scenario from text; `file_name` is used in messages.
pub fn load_str(file_name: &str, text: &str) -> Result<Loaded, ScenarioError> {
    let source = parse_source(file_name, text)?;
    let (spec, warnings) = build(std::slice::from_ref(&source))?;
    Ok(Loaded {
        spec,
        warnings,
        files: vec![PathBuf::from(file_name)],
    })
}

// ---------------------------------------------------------------------------------------------
// Kinds

const KUBESIM_API: &str = "kubesim.dev/v1alpha1";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Handler {
    Node,
    Deployment,
    ReplicaSet,
    Scenario,
    NodePool,
    Behavior,
    Timeline,
    Service,
    Traffic,
    DestinationRule,
    List,
    PodDisruptionBudget,
    Job,
    Rollout,
    AnalysisTemplate,
    Trace,
    HorizontalPodAutoscaler,
    ScaledObject,
    /// A real kind kubesim does not simulate yet: warn and skip the document.
    Skip,
    PriorityClass,
    SchedulerConfig,
    StatefulSet,
    CronJob,
    LeaderElection,
    RequestGraph,
}

/// `(kind, apiVersions, handler)`. For skipped kinds any apiVersion is accepted.
const KINDS: &[(&str, &[&str], Handler)] = &[
    ("Node", &["v1"], Handler::Node),
    ("Deployment", &["apps/v1"], Handler::Deployment),
    ("ReplicaSet", &["apps/v1"], Handler::ReplicaSet),
    ("Scenario", &[KUBESIM_API], Handler::Scenario),
    ("NodePool", &[KUBESIM_API], Handler::NodePool),
    ("Behavior", &[KUBESIM_API], Handler::Behavior),
    ("Timeline", &[KUBESIM_API], Handler::Timeline),
    ("List", &["v1"], Handler::List),
    ("Traffic", &[KUBESIM_API], Handler::Traffic),
    ("RequestGraph", &[KUBESIM_API], Handler::RequestGraph),
    ("Trace", &[KUBESIM_API], Handler::Trace),
    ("StatefulSet", &["apps/v1"], Handler::StatefulSet),
    ("DaemonSet", &["apps/v1"], Handler::Skip),
    ("Job", &["batch/v1"], Handler::Job),
    ("CronJob", &["batch/v1"], Handler::CronJob),
    ("LeaderElection", &[KUBESIM_API], Handler::LeaderElection),
    (
        "HorizontalPodAutoscaler",
        &["autoscaling/v2"],
        Handler::HorizontalPodAutoscaler,
    ),
    (
        "PodDisruptionBudget",
        &["policy/v1"],
        Handler::PodDisruptionBudget,
    ),
    (
        "PriorityClass",
        &["scheduling.k8s.io/v1"],
        Handler::PriorityClass,
    ),
    (
        "KubeSchedulerConfiguration",
        &[SCHEDULER_CONFIG_API],
        Handler::SchedulerConfig,
    ),
    ("Service", &["v1"], Handler::Service),
    ("ConfigMap", &["v1"], Handler::Skip),
    ("Secret", &["v1"], Handler::Skip),
    ("Namespace", &["v1"], Handler::Skip),
    ("Pod", &["v1"], Handler::Skip),
    ("ServiceAccount", &["v1"], Handler::Skip),
    ("PersistentVolumeClaim", &["v1"], Handler::Skip),
    ("LimitRange", &["v1"], Handler::Skip),
    ("ResourceQuota", &["v1"], Handler::Skip),
    ("Ingress", &["networking.k8s.io/v1"], Handler::Skip),
    ("NetworkPolicy", &["networking.k8s.io/v1"], Handler::Skip),
    ("Rollout", &["argoproj.io/v1alpha1"], Handler::Rollout),
    (
        "AnalysisTemplate",
        &["argoproj.io/v1alpha1"],
        Handler::AnalysisTemplate,
    ),
    ("ScaledObject", &["keda.sh/v1alpha1"], Handler::ScaledObject),
    (
        "DestinationRule",
        &[
            "networking.istio.io/v1",
            "networking.istio.io/v1beta1",
            "networking.istio.io/v1alpha3",
        ],
        Handler::DestinationRule,
    ),
];

const LIST_DOC: Fields = Fields {
    read: &["apiVersion", "kind", "items"],
    warn: &[],
    silent: &["metadata"],
};

// ---------------------------------------------------------------------------------------------
// Collection of documents

struct Named<T> {
    value: T,
    /// Where `metadata.name` was written.
    loc: Loc,
}

#[derive(Default)]
struct Collected {
    scenario: Option<(ScenarioDoc, Loc)>,
    nodes: Vec<Named<NodeSpec>>,
    pools: Vec<Named<NodePoolSpec>>,
    deployments: Vec<Named<DeploymentSpec>>,
    replica_sets: Vec<Named<ReplicaSetSpec>>,
    behaviors: Vec<Named<BehaviorDoc>>,
    timelines: Vec<Named<String>>,
    timeline: Vec<RawEntry>,
    warnings: Vec<(Pos, Warning)>,
    priority_classes: Vec<Named<crate::cluster::spec::PriorityClassSpec>>,
    scheduler_config: Option<(SchedulerConfigDoc, Loc)>,
    /// Where each Deployment's template wrote its priority fields (same order as `deployments`).
    deployment_priority: Vec<PriorityRefs>,
    /// The same for stand-alone ReplicaSets.
    replica_set_priority: Vec<PriorityRefs>,
    pdbs: Vec<Named<crate::cluster::spec::PodDisruptionBudgetSpec>>,
    services: Vec<Named<ServiceSpec>>,
    traffic: Vec<Named<TrafficDoc>>,
    destination_rules: Vec<Named<DestinationRuleDoc>>,
    jobs: Vec<Named<crate::cluster::spec::JobSpec>>,
    rollouts: Vec<Named<super::argo_docs::RolloutDoc>>,
    analysis_templates: Vec<Named<crate::cluster::argo::spec::AnalysisTemplateSpec>>,
    trace: Option<crate::cluster::trace::TraceSpec>,
    hpas: Vec<Named<super::autoscaling_docs::HpaDoc>>,
    scaled_objects: Vec<Named<super::autoscaling_docs::ScaledObjectDoc>>,
    node_groups: Vec<crate::cluster::autoscaling_spec::NodeGroupSpec>,
    request_graphs: Vec<Named<super::graph_docs::RequestGraphDoc>>,
    cpu_load: BTreeMap<String, crate::cluster::autoscaling_spec::CpuLoad>,
    stateful_sets: Vec<Named<crate::cluster::stateful_spec::StatefulSetSpec>>,
    cron_jobs: Vec<Named<crate::cluster::stateful_spec::CronJobSpec>>,
    /// Leader elections with where their `spec.workload` was written.
    leader_elections: Vec<
        Named<(
            crate::cluster::stateful_spec::LeaderElectionSpec,
            Loc,
            Option<super::kubesim_docs::Ref>,
        )>,
    >,
}

/// Error at the second of two objects with the same name.
fn check_unique<T>(
    list: &[Named<T>],
    name: &str,
    loc: &Loc,
    kind: &str,
    get: impl Fn(&T) -> &str,
) -> R<()> {
    match list.iter().find(|n| get(&n.value) == name) {
        Some(first) => Err(loc.err(format!(
            "duplicate {kind} name {name:?} (first defined at {})",
            first.loc.at()
        ))),
        None => Ok(()),
    }
}

impl Collected {
    fn document(&mut self, src: &Src, doc: &Yaml) -> R<()> {
        if matches!(doc.node, Node::Null) {
            return Ok(());
        }
        let mut cx = Cx {
            src,
            label: String::new(),
            warnings: &mut self.warnings,
        };
        let root = Val {
            y: doc,
            path: String::new(),
        };
        if !matches!(doc.node, Node::Map(_)) {
            return Err(root.expected(&cx, "a mapping (a Kubernetes object or a kubesim document)"));
        }
        // apiVersion and kind first: they decide which fields are valid.
        let head = |key: &str| -> R<(String, Val)> {
            let v = match doc.get(key) {
                Some(y) if !matches!(y.node, Node::Null) => Val {
                    y,
                    path: key.to_string(),
                },
                _ => return Err(cx.err(doc.pos, key, "required field is missing")),
            };
            Ok((v.nonempty_string(&cx)?, v))
        };
        let (api, api_v) = head("apiVersion")?;
        let (kind, kind_v) = head("kind")?;
        let Some((kind_name, apis, handler)) = KINDS.iter().find(|(k, _, _)| *k == kind) else {
            return Err(kind_v
                .err(&cx, format!("unknown kind {kind:?}"))
                .with_suggestion(suggest(&kind, KINDS.iter().map(|(k, _, _)| *k))));
        };
        if *handler != Handler::Skip && !apis.contains(&api.as_str()) {
            return Err(api_v.err(
                &cx,
                format!(
                    "apiVersion {api:?} is not supported for kind {kind_name}; expected {:?}",
                    apis.join(", ")
                ),
            ));
        }
        let kind_loc = kind_v.loc(&cx);
        // Label the document before its top-level keys are checked (read_meta sets it again).
        cx.label = match doc
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Yaml::as_str)
        {
            Some(n) => format!("{kind}/{}", super::reader::printable(n)),
            None => kind.clone(),
        };
        match handler {
            Handler::Skip => {
                cx.warn(
                    kind_v.pos(),
                    "",
                    format!("kind {kind} is not simulated yet; document skipped"),
                );
                Ok(())
            }
            Handler::List => {
                let m = root.map(&mut cx, &LIST_DOC)?;
                let items: Vec<Val> = match m.get("items") {
                    Some(v) => v.seq(&cx)?,
                    None => Vec::new(),
                };
                drop(cx);
                for item in items {
                    self.document(src, item.y)?;
                }
                Ok(())
            }
            Handler::Node => {
                let m = root.map(&mut cx, node_doc_fields())?;
                let meta = read_meta(&mut cx, &m, &OBJECT_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(&self.nodes, &meta.name, &loc, "Node", |n| &n.name)?;
                let value = read_node(&mut cx, &m, meta)?;
                self.nodes.push(Named { value, loc });
                Ok(())
            }
            Handler::Deployment => {
                let m = root.map(&mut cx, workload_doc_fields())?;
                let meta = read_meta(&mut cx, &m, &OBJECT_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(&self.deployments, &meta.name, &loc, "Deployment", |d| {
                    &d.name
                })?;
                let value = read_deployment(&mut cx, &m, meta)?;
                self.deployment_priority.push(priority_refs(&cx, doc));
                self.deployments.push(Named { value, loc });
                Ok(())
            }
            Handler::ReplicaSet => {
                let m = root.map(&mut cx, workload_doc_fields())?;
                let meta = read_meta(&mut cx, &m, &OBJECT_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(&self.replica_sets, &meta.name, &loc, "ReplicaSet", |d| {
                    &d.name
                })?;
                let value = read_replica_set(&mut cx, &m, meta)?;
                self.replica_set_priority.push(priority_refs(&cx, doc));
                self.replica_sets.push(Named { value, loc });
                Ok(())
            }
            Handler::Job => {
                let m = root.map(&mut cx, &super::jobs::JOB_DOC)?;
                let meta = read_meta(&mut cx, &m, &OBJECT_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(&self.jobs, &meta.name, &loc, "Job", |j| &j.name)?;
                let value = super::jobs::read_job(&mut cx, &m, meta)?;
                self.jobs.push(Named { value, loc });
                Ok(())
            }
            Handler::StatefulSet => {
                let m = root.map(&mut cx, &super::stateful_docs::STATEFULSET_DOC)?;
                let meta = read_meta(&mut cx, &m, &OBJECT_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(&self.stateful_sets, &meta.name, &loc, "StatefulSet", |s| {
                    &s.name
                })?;
                let value = super::stateful_docs::read_stateful_set(&mut cx, &m, meta)?;
                self.stateful_sets.push(Named { value, loc });
                Ok(())
            }
            Handler::CronJob => {
                let m = root.map(&mut cx, &super::stateful_docs::CRONJOB_DOC)?;
                let meta = read_meta(&mut cx, &m, &OBJECT_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(&self.cron_jobs, &meta.name, &loc, "CronJob", |c| &c.name)?;
                let value = super::stateful_docs::read_cron_job(&mut cx, &m, meta)?;
                self.cron_jobs.push(Named { value, loc });
                Ok(())
            }
            Handler::LeaderElection => {
                let m = root.map(&mut cx, &KUBESIM_DOC)?;
                let meta = read_meta(&mut cx, &m, &KUBESIM_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(
                    &self.leader_elections,
                    &meta.name,
                    &loc,
                    "LeaderElection",
                    |l| &l.0.name,
                )?;
                // `killLeader` names these for the control plane's own Leases.
                if crate::cluster::control_plane::ControlPlaneComponent::from_name(&meta.name)
                    .is_some()
                {
                    return Err(loc.err(format!(
                        "{:?} is reserved for the control plane's own Lease (its replicas are set in `Scenario` spec.controlPlane); choose another name",
                        meta.name
                    )));
                }
                let value = super::stateful_docs::read_leader_election(&mut cx, &m, meta)?;
                self.leader_elections.push(Named { value, loc });
                Ok(())
            }
            Handler::PodDisruptionBudget => {
                let m = root.map(&mut cx, &super::policy::PDB_DOC)?;
                let meta = read_meta(&mut cx, &m, &OBJECT_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(&self.pdbs, &meta.name, &loc, "PodDisruptionBudget", |b| {
                    &b.name
                })?;
                let value = super::policy::read_pdb(&mut cx, &m, meta)?;
                self.pdbs.push(Named { value, loc });
                Ok(())
            }
            Handler::Scenario => {
                let m = root.map(&mut cx, &KUBESIM_DOC)?;
                if let Some((_, first)) = &self.scenario {
                    return Err(kind_loc.err(format!(
                        "a second Scenario document; a scenario has exactly one (the first is at {})",
                        first.at()
                    )));
                }
                let meta = read_meta(&mut cx, &m, &KUBESIM_META, kind_name)?;
                let value = read_scenario(&mut cx, &m, meta)?;
                self.scenario = Some((value, kind_loc));
                Ok(())
            }
            Handler::NodePool => {
                let m = root.map(&mut cx, &KUBESIM_DOC)?;
                let meta = read_meta(&mut cx, &m, &KUBESIM_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(&self.pools, &meta.name, &loc, "NodePool", |p| &p.name)?;
                let (value, group) = read_node_pool(&mut cx, &m, meta)?;
                self.node_groups.extend(group);
                self.pools.push(Named { value, loc });
                Ok(())
            }
            Handler::Behavior => {
                let m = root.map(&mut cx, &KUBESIM_DOC)?;
                let meta = read_meta(&mut cx, &m, &KUBESIM_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(&self.behaviors, &meta.name, &loc, "Behavior", |b| {
                    &b.spec.name
                })?;
                let value = read_behavior(&mut cx, &m, meta)?;
                self.behaviors.push(Named { value, loc });
                Ok(())
            }
            Handler::Service => {
                let m = root.map(&mut cx, &SERVICE_DOC)?;
                let meta = read_meta(&mut cx, &m, &OBJECT_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(&self.services, &meta.name, &loc, "Service", |s| &s.name)?;
                let value = read_service(&mut cx, &m, meta)?;
                self.services.push(Named { value, loc });
                Ok(())
            }
            Handler::Traffic => {
                let m = root.map(&mut cx, &KUBESIM_DOC)?;
                let meta = read_meta(&mut cx, &m, &KUBESIM_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(&self.traffic, &meta.name, &loc, "Traffic", |t| &t.name)?;
                let value = read_traffic(&mut cx, &m, meta)?;
                self.traffic.push(Named { value, loc });
                Ok(())
            }
            Handler::RequestGraph => {
                let m = root.map(&mut cx, &KUBESIM_DOC)?;
                let meta = read_meta(&mut cx, &m, &KUBESIM_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(
                    &self.request_graphs,
                    &meta.name,
                    &loc,
                    "RequestGraph",
                    |g| &g.name,
                )?;
                let value = super::graph_docs::read_request_graph(&mut cx, &m, meta)?;
                self.request_graphs.push(Named { value, loc });
                Ok(())
            }
            Handler::Trace => {
                let m = root.map(&mut cx, &KUBESIM_DOC)?;
                if self.trace.is_some() {
                    return Err(
                        kind_loc.err("a second Trace document; a scenario replays at most one")
                    );
                }
                let meta = read_meta(&mut cx, &m, &KUBESIM_META, kind_name)?;
                self.trace = Some(super::trace::read_trace(&mut cx, &m, meta)?);
                Ok(())
            }
            Handler::DestinationRule => {
                let m = root.map(&mut cx, &DESTINATION_RULE_DOC)?;
                let meta = read_meta(&mut cx, &m, &OBJECT_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(
                    &self.destination_rules,
                    &meta.name,
                    &loc,
                    "DestinationRule",
                    |d| &d.name,
                )?;
                let value = read_destination_rule(&mut cx, &m, meta)?;
                self.destination_rules.push(Named { value, loc });
                Ok(())
            }
            Handler::HorizontalPodAutoscaler => {
                let m = root.map(&mut cx, &super::autoscaling_docs::HPA_DOC)?;
                let meta = read_meta(&mut cx, &m, &OBJECT_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(
                    &self.hpas,
                    &meta.name,
                    &loc,
                    "HorizontalPodAutoscaler",
                    |h| &h.spec.name,
                )?;
                let value = super::autoscaling_docs::read_hpa(&mut cx, &m, meta)?;
                self.hpas.push(Named { value, loc });
                Ok(())
            }
            Handler::ScaledObject => {
                let m = root.map(&mut cx, &super::autoscaling_docs::SCALED_OBJECT_DOC)?;
                let meta = read_meta(&mut cx, &m, &OBJECT_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(
                    &self.scaled_objects,
                    &meta.name,
                    &loc,
                    "ScaledObject",
                    |s| &s.spec.name,
                )?;
                let value = super::autoscaling_docs::read_scaled_object(&mut cx, &m, meta)?;
                self.scaled_objects.push(Named { value, loc });
                Ok(())
            }
            Handler::Rollout => {
                let m = root.map(&mut cx, &super::argo_docs::ARGO_DOC)?;
                let meta = read_meta(&mut cx, &m, &OBJECT_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(&self.rollouts, &meta.name, &loc, "Rollout", |r| {
                    &r.spec.name
                })?;
                let value = super::argo_docs::read_rollout(&mut cx, &m, meta)?;
                self.rollouts.push(Named { value, loc });
                Ok(())
            }
            Handler::AnalysisTemplate => {
                let m = root.map(&mut cx, &super::argo_docs::ARGO_DOC)?;
                let meta = read_meta(&mut cx, &m, &OBJECT_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(
                    &self.analysis_templates,
                    &meta.name,
                    &loc,
                    "AnalysisTemplate",
                    |t| &t.name,
                )?;
                let value = super::argo_docs::read_analysis_template(&mut cx, &m, meta)?;
                self.analysis_templates.push(Named { value, loc });
                Ok(())
            }
            Handler::Timeline => {
                let m = root.map(&mut cx, &KUBESIM_DOC)?;
                let meta = read_meta(&mut cx, &m, &KUBESIM_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(&self.timelines, &meta.name, &loc, "Timeline", |t| t)?;
                let value = meta.name;
                let entries = read_timeline(&mut cx, &m)?;
                self.timelines.push(Named { value, loc });
                self.timeline.extend(entries);
                Ok(())
            }
            Handler::PriorityClass => {
                let m = root.map(&mut cx, priority_class_doc_fields())?;
                let meta = read_meta(&mut cx, &m, &OBJECT_META, kind_name)?;
                let loc = meta.name_loc.clone();
                check_unique(
                    &self.priority_classes,
                    &meta.name,
                    &loc,
                    "PriorityClass",
                    |p| &p.name,
                )?;
                let value = read_priority_class(&mut cx, &m, meta.name)?;
                if value.global_default
                    && let Some(first) = self
                        .priority_classes
                        .iter()
                        .find(|p| p.value.global_default)
                {
                    return Err(m.req(&cx, "globalDefault")?.err(
                        &cx,
                        format!(
                            "PriorityClass {} is already marked as default (at {}). Only one default can exist",
                            first.value.name,
                            first.loc.at()
                        ),
                    ));
                }
                self.priority_classes.push(Named { value, loc });
                Ok(())
            }
            Handler::SchedulerConfig => {
                let m = root.map(&mut cx, scheduler_config_doc_fields())?;
                if let Some((_, first)) = &self.scheduler_config {
                    return Err(kind_loc.err(format!(
                        "a second KubeSchedulerConfiguration document; a scenario has at most one (the first is at {})",
                        first.at()
                    )));
                }
                cx.label = kind_name.to_string();
                let value = read_scheduler_config(&mut cx, &m)?;
                self.scheduler_config = Some((value, kind_loc));
                Ok(())
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cross-document validation

/// Turn parsed files into a validated [`ClusterSpec`], with the warnings met on the way.
pub fn build(files: &[SourceFile]) -> Result<(ClusterSpec, Vec<Warning>), ScenarioError> {
    build_with_limits(files, &SizeLimits::default())
}

/// As [`build`], refusing scenarios larger than `limits`.
pub fn build_with_limits(
    files: &[SourceFile],
    limits: &SizeLimits,
) -> Result<(ClusterSpec, Vec<Warning>), ScenarioError> {
    let max_nodes = limits.max_nodes;
    let mut c = Collected::default();
    for file in files {
        let src = Src {
            name: file.name.clone(),
            text: Arc::clone(&file.text),
        };
        for doc in &file.documents {
            let first = c.warnings.len();
            c.document(&src, doc)?;
            // Warnings of one document in file order (the top-level keys are checked first).
            if let Some(added) = c.warnings.get_mut(first..) {
                added.sort_by_key(|(pos, _)| (pos.line, pos.column));
            }
        }
    }
    let Some((scenario, _)) = c.scenario.take() else {
        let name = files
            .first()
            .map(|f| f.name.as_str())
            .unwrap_or("<no input>");
        return Err(ScenarioError::file_level(
            name,
            format!(
                "no Scenario document: exactly one (apiVersion: {KUBESIM_API}, kind: Scenario) is required"
            ),
        ));
    };
    // KubeSchedulerConfiguration `leaderElection` sets kube-scheduler's election (its
    // replicas stay in the Scenario); the Scenario may not set it as well.
    let mut scenario = scenario;
    if let Some((le, at)) = c
        .scheduler_config
        .as_mut()
        .and_then(|(d, _)| d.leader_election.take())
    {
        if let Some(first) = &scenario.kube_scheduler_election_at {
            return Err(at.err(format!(
                "kube-scheduler's leader election is already set in Scenario spec.controlPlane.kubeScheduler.leaderElection (at {}); set it in one place",
                first.at()
            )));
        }
        let replicas = scenario.control_plane.kube_scheduler.replicas;
        scenario.control_plane.kube_scheduler = le;
        scenario.control_plane.kube_scheduler.replicas = replicas;
    }

    // Node count: at the start plus every addNodes, capped before anything is expanded.
    let mut total: u64 = 0;
    let over = |loc: &Loc, total: u64| {
        loc.err(format!(
            "too many nodes: the scenario would have {total} nodes; at most {max_nodes} are allowed (raise the limit with --max-nodes N)"
        ))
    };
    for n in &c.nodes {
        total += 1;
        if total > max_nodes {
            return Err(over(&n.loc, total));
        }
    }
    for p in &c.pools {
        let group_max = c
            .node_groups
            .iter()
            .find(|g| g.pool == p.value.name)
            .map_or(0, |g| g.max);
        total += u64::from(p.value.count.max(group_max));
        if total > max_nodes {
            return Err(over(&p.loc, total));
        }
    }
    for e in &c.timeline {
        if let RawAction::AddNodes { count, pool } = &e.action {
            total += u64::from(*count);
            if total > max_nodes {
                return Err(over(&pool.loc, total));
            }
        }
    }

    // Nodes at the start: Node manifests, then pools expanded in order; names unique.
    let mut node_names: BTreeMap<String, Loc> = BTreeMap::new();
    let mut nodes: Vec<NodeSpec> = Vec::new();
    for n in &c.nodes {
        node_names.insert(n.value.name.clone(), n.loc.clone());
        nodes.push(n.value.clone());
    }
    // How many nodes each pool can have during the run (start + addNodes).
    let mut pool_max: BTreeMap<&str, u32> = BTreeMap::new();
    for p in &c.pools {
        // A node group may grow up to its max (the cluster autoscaler names new nodes on).
        let group_max = c
            .node_groups
            .iter()
            .find(|g| g.pool == p.value.name)
            .map_or(0, |g| g.max);
        pool_max.insert(&p.value.name, p.value.count.max(group_max));
    }
    for e in &c.timeline {
        if let RawAction::AddNodes { pool, count } = &e.action {
            match pool_max.get_mut(pool.name.as_str()) {
                Some(m) => *m = m.saturating_add(*count),
                None => {
                    return Err(unknown_ref(
                        &pool.name,
                        &pool.loc,
                        "NodePool",
                        c.pools.iter().map(|p| p.value.name.as_str()),
                    ));
                }
            }
        }
    }
    for p in &c.pools {
        let max = pool_max
            .get(p.value.name.as_str())
            .copied()
            .unwrap_or(p.value.count);
        for i in 0..max {
            let name = format!("{}-{i}", p.value.name);
            if let Some(first) = node_names.get(&name) {
                return Err(p.loc.err(format!(
                    "NodePool {} would create node {name:?}, which is already the Node at {}",
                    p.value.name,
                    first.at()
                )));
            }
        }
        nodes.extend(expand_pool(&p.value, 0, p.value.count));
    }

    // Behaviors: the workload must exist; one Behavior per workload.
    let workload_names: Vec<&str> = c
        .deployments
        .iter()
        .map(|d| d.value.name.as_str())
        .chain(c.replica_sets.iter().map(|r| r.value.name.as_str()))
        .chain(c.jobs.iter().map(|j| j.value.name.as_str()))
        .chain(c.rollouts.iter().map(|r| r.value.spec.name.as_str()))
        .chain(c.trace.iter().map(|t| t.name.as_str()))
        .chain(c.stateful_sets.iter().map(|s| s.value.name.as_str()))
        .chain(c.cron_jobs.iter().map(|s| s.value.name.as_str()))
        .collect();
    // A Rollout and a Deployment (or ReplicaSet) share the Behavior and pod-naming space.
    for r in &c.rollouts {
        let n = r.value.spec.name.as_str();
        if c.deployments.iter().any(|d| d.value.name == n)
            || c.replica_sets.iter().any(|d| d.value.name == n)
        {
            return Err(r.loc.err(format!(
                "Rollout {n:?} has the name of a Deployment or ReplicaSet; workload names must be unique"
            )));
        }
    }
    let mut behaviors: BTreeMap<String, BehaviorSpec> = BTreeMap::new();
    let mut behavior_at: BTreeMap<String, Loc> = BTreeMap::new();
    for b in &c.behaviors {
        let w = &b.value.workload;
        if !workload_names.contains(&w.name.as_str()) {
            return Err(unknown_ref(
                &w.name,
                &w.loc,
                "Deployment, ReplicaSet, StatefulSet, Job, CronJob or Rollout",
                workload_names.iter().copied(),
            ));
        }
        if let Some(first) = behavior_at.get(&w.name) {
            return Err(w.loc.err(format!(
                "workload {:?} already has a Behavior (at {})",
                w.name,
                first.at()
            )));
        }
        behavior_at.insert(w.name.clone(), w.loc.clone());
        check_init_container_names(&c, &b.value)?;
        behaviors.insert(w.name.clone(), b.value.spec.clone());
        if let Some(l) = &b.value.cpu_load {
            c.cpu_load.insert(w.name.clone(), l.clone());
        }
    }

    // Timeline: within the run, references resolved, sorted by time (stable).
    let deployment_names: Vec<&str> = c
        .deployments
        .iter()
        .map(|d| d.value.name.as_str())
        .collect();
    let mut timeline: Vec<TimelineEntry> = Vec::with_capacity(c.timeline.len());
    for e in &c.timeline {
        if e.at > scenario.duration {
            return Err(e.at_loc.err(format!(
                "is after the end of the run (Scenario spec.duration is {})",
                format_duration(scenario.duration.0)
            )));
        }
        let action = match &e.action {
            RawAction::Scale {
                deployment,
                replicas,
            } => {
                resolve(deployment, "Deployment", &deployment_names)?;
                TimelineAction::ScaleDeployment {
                    deployment: deployment.name.clone(),
                    replicas: *replicas,
                }
            }
            RawAction::SetImage {
                deployment,
                container,
                image,
            } => {
                resolve(deployment, "Deployment", &deployment_names)?;
                if let Some(cref) = container
                    && let Some(d) = c
                        .deployments
                        .iter()
                        .find(|d| d.value.name == deployment.name)
                {
                    let names: Vec<&str> = d
                        .value
                        .template
                        .containers
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect();
                    if !names.contains(&cref.name.as_str()) {
                        return Err(cref
                            .loc
                            .err(format!(
                                "Deployment {} has no container {:?}; its containers: {}",
                                deployment.name,
                                cref.name,
                                names.join(", ")
                            ))
                            .with_suggestion(suggest(&cref.name, names.iter().copied())));
                    }
                }
                TimelineAction::SetImage {
                    deployment: deployment.name.clone(),
                    container: container.as_ref().map(|c| c.name.clone()),
                    image: image.clone(),
                }
            }
            RawAction::AddNodes { pool, count } => TimelineAction::AddNodes {
                pool: pool.name.clone(),
                count: *count,
            },
            RawAction::RemoveNode { node } => {
                resolve_node(node, &node_names, &nodes, &pool_max)?;
                TimelineAction::RemoveNode {
                    node: node.name.clone(),
                }
            }
            RawAction::Rollout { deployment, op } => {
                resolve(deployment, "Deployment", &deployment_names)?;
                TimelineAction::Rollout {
                    deployment: deployment.name.clone(),
                    op: op.clone(),
                }
            }
            RawAction::Cordon {
                node,
                unschedulable,
            } => {
                resolve_node(node, &node_names, &nodes, &pool_max)?;
                TimelineAction::Cordon {
                    node: node.name.clone(),
                    unschedulable: *unschedulable,
                }
            }
            RawAction::NodeFault {
                verb,
                node,
                duration,
                factor,
            } => {
                resolve_node(node, &node_names, &nodes, &pool_max)?;
                let node = node.name.clone();
                match *verb {
                    "crashNode" => TimelineAction::CrashNode { node },
                    "recoverNode" => TimelineAction::RecoverNode { node },
                    "partition" => TimelineAction::Partition {
                        node,
                        duration: *duration,
                    },
                    "kubeletStop" => TimelineAction::KubeletStop {
                        node,
                        duration: *duration,
                    },
                    "slowNode" => TimelineAction::SlowNode {
                        node,
                        factor: *factor,
                        duration: *duration,
                    },
                    _ => TimelineAction::DrainNode { node },
                }
            }
            RawAction::ZoneOutage { zone, duration } => {
                let mut zones: Vec<&str> = c
                    .pools
                    .iter()
                    .flat_map(|p| p.value.zones.iter().map(String::as_str))
                    .chain(c.nodes.iter().filter_map(|n| {
                        n.value
                            .labels
                            .get("topology.kubernetes.io/zone")
                            .map(String::as_str)
                    }))
                    .collect();
                zones.sort();
                zones.dedup();
                resolve(zone, "zone", &zones)?;
                TimelineAction::ZoneOutage {
                    zone: zone.name.clone(),
                    duration: *duration,
                }
            }
            RawAction::ApiServerDown { duration } => TimelineAction::ApiServerDown {
                duration: *duration,
            },
            RawAction::KillLeader { election } => {
                // A LeaderElection, or a control-plane component (its own Lease).
                let names: Vec<&str> = c
                    .leader_elections
                    .iter()
                    .map(|l| l.value.0.name.as_str())
                    .chain(
                        crate::cluster::control_plane::ControlPlaneComponent::ALL
                            .iter()
                            .map(|c| c.name()),
                    )
                    .collect();
                resolve(election, "LeaderElection", &names)?;
                use crate::cluster::control_plane::ControlPlaneComponent as Cp;
                let cp = &scenario.control_plane;
                let elect = match Cp::from_name(&election.name) {
                    Some(Cp::KubeScheduler) => Some(cp.kube_scheduler.leader_elect),
                    Some(Cp::KubeControllerManager) => {
                        Some(cp.kube_controller_manager.leader_elect)
                    }
                    None => None,
                };
                if elect == Some(false) {
                    return Err(election.loc.err(format!(
                        "{} runs without leader election (leaderElect: false in Scenario spec.controlPlane): there is no leader to kill",
                        election.name
                    )));
                }
                TimelineAction::KillLeader {
                    election: election.name.clone(),
                }
            }
            RawAction::UpdateStatefulSet {
                stateful_set,
                replicas,
                container,
                image,
                partition,
            } => {
                let names: Vec<&str> = c
                    .stateful_sets
                    .iter()
                    .map(|s| s.value.name.as_str())
                    .collect();
                resolve(stateful_set, "StatefulSet", &names)?;
                if let Some(cref) = container
                    && let Some(s) = c
                        .stateful_sets
                        .iter()
                        .find(|s| s.value.name == stateful_set.name)
                {
                    let names: Vec<&str> = s
                        .value
                        .template
                        .containers
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect();
                    resolve(cref, "container", &names)?;
                }
                if let Some(p) = partition
                    && let Some(s) = c
                        .stateful_sets
                        .iter()
                        .find(|s| s.value.name == stateful_set.name)
                    && s.value.update_strategy
                        == crate::cluster::stateful_spec::StatefulSetUpdateStrategy::OnDelete
                {
                    return Err(stateful_set.loc.err(format!(
                        "partition {p} needs updateStrategy RollingUpdate; StatefulSet {} uses OnDelete",
                        stateful_set.name
                    )));
                }
                TimelineAction::UpdateStatefulSet {
                    stateful_set: stateful_set.name.clone(),
                    replicas: *replicas,
                    container: container.as_ref().map(|c| c.name.clone()),
                    image: image.clone(),
                    partition: *partition,
                }
            }
            RawAction::Argo { rollout, command } => {
                let names: Vec<&str> = c
                    .rollouts
                    .iter()
                    .map(|r| r.value.spec.name.as_str())
                    .collect();
                resolve(rollout, "Rollout", &names)?;
                if let crate::cluster::argo::spec::ArgoCommand::SetImage {
                    container: Some(cn),
                    ..
                } = command
                    && let Some(r) = c
                        .rollouts
                        .iter()
                        .find(|r| r.value.spec.name == rollout.name)
                    && !r
                        .value
                        .spec
                        .template
                        .containers
                        .iter()
                        .any(|x| &x.name == cn)
                {
                    return Err(rollout
                        .loc
                        .err(format!("Rollout {} has no container {cn:?}", rollout.name)));
                }
                TimelineAction::Argo {
                    rollout: rollout.name.clone(),
                    command: command.clone(),
                }
            }
            RawAction::UpdateTemplate {
                deployment,
                annotations,
            } => {
                resolve(deployment, "Deployment", &deployment_names)?;
                TimelineAction::UpdateTemplate {
                    deployment: deployment.name.clone(),
                    annotations: annotations.clone(),
                }
            }
        };
        timeline.push(TimelineEntry {
            at: SimTime(e.at.0),
            action,
            source: e.source.clone(),
        });
    }
    timeline.sort_by_key(|e| e.at);

    // Request traffic: Traffic -> Service, DestinationRule host -> Service.
    let (services, traffic, destination_rules) = resolve_traffic(&c, &scenario)?;
    // Not ignored fields: reported after them, and not in `spec.ignored_fields`.
    let selects_nothing = warn_selects_nothing(&c);
    let graph_docs: Vec<(&super::graph_docs::RequestGraphDoc, &Loc)> = c
        .request_graphs
        .iter()
        .map(|g| (&g.value, &g.loc))
        .collect();
    let request_graphs = super::graph_docs::resolve_request_graphs(&graph_docs, &services, |r| {
        let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
        unknown_ref(&r.name, &r.loc, "Service", names.iter().copied())
    })?;
    let analysis_templates: Vec<crate::cluster::argo::spec::AnalysisTemplateSpec> = c
        .analysis_templates
        .iter()
        .map(|t| t.value.clone())
        .collect();
    let stateful = resolve_stateful(&c)?;
    let rollout_locs: Vec<Loc> = c.rollouts.iter().map(|r| r.loc.clone()).collect();
    let rollouts = super::argo_docs::resolve_rollouts(
        std::mem::take(&mut c.rollouts)
            .into_iter()
            .map(|r| r.value)
            .collect(),
        &services,
        &analysis_templates,
    )?;
    let argo = crate::cluster::argo::spec::ArgoSpec {
        rollouts,
        analysis_templates,
    };

    // Autoscalers: targets are Deployments, metric Services exist, one autoscaler per target.
    let autoscaling = resolve_autoscaling(&c, &deployment_names, &services, &scenario)?;

    // Size: the most pods the workloads may ask for together.
    check_pod_total(&c, &argo, &rollout_locs, limits)?;

    // Workloads need somewhere to run.
    let first_workload = c
        .deployments
        .first()
        .map(|d| (&d.loc, "Deployment"))
        .or_else(|| c.replica_sets.first().map(|r| (&r.loc, "ReplicaSet")))
        .or_else(|| c.jobs.first().map(|j| (&j.loc, "Job")))
        .or_else(|| rollout_locs.first().map(|l| (l, "Rollout")))
        .or_else(|| c.stateful_sets.first().map(|s| (&s.loc, "StatefulSet")))
        .or_else(|| c.cron_jobs.first().map(|s| (&s.loc, "CronJob")));
    let addable = timeline
        .iter()
        .any(|e| matches!(e.action, TimelineAction::AddNodes { .. }));
    if let Some((loc, kind)) = first_workload
        && nodes.is_empty()
        && !addable
    {
        return Err(loc.err(format!(
            "this {kind} has no node to run on: add a v1 Node, a NodePool with count > 0, or a Timeline addNodes entry"
        )));
    }

    // Priority admission: resolve every template's priorityClassName (or the global default).
    let classes: Vec<crate::cluster::spec::PriorityClassSpec> =
        c.priority_classes.iter().map(|p| p.value.clone()).collect();
    for (d, refs) in c.deployments.iter_mut().zip(&c.deployment_priority) {
        resolve_priority(&mut d.value.template, refs, &classes)?;
    }
    for (r, refs) in c.replica_sets.iter_mut().zip(&c.replica_set_priority) {
        resolve_priority(&mut r.value.template, refs, &classes)?;
    }
    // Scheduler profiles: every pod's schedulerName must have a profile.
    let scheduler = apply_scheduler_config(c.scheduler_config.take().map(|(d, _)| d));
    for (d, refs) in c
        .deployments
        .iter()
        .map(|d| &d.value.template)
        .zip(&c.deployment_priority)
        .chain(
            c.replica_sets
                .iter()
                .map(|r| &r.value.template)
                .zip(&c.replica_set_priority),
        )
    {
        if !scheduler.profiles.contains_key(&d.scheduler_name) {
            let names: Vec<&str> = scheduler.profiles.keys().map(String::as_str).collect();
            let loc = refs
                .scheduler_name
                .clone()
                .unwrap_or_else(|| refs.template.clone());
            return Err(loc
                .err(format!(
                    "no scheduler profile named {:?}; profiles: {} (add one to a KubeSchedulerConfiguration document)",
                    d.scheduler_name,
                    names.join(", ")
                ))
                .with_suggestion(suggest(&d.scheduler_name, names.iter().copied())));
        }
    }

    let mut warnings: Vec<Warning> = c.warnings.into_iter().map(|(_, w)| w).collect();
    let ignored_fields = warnings
        .iter()
        .map(|w| IgnoredField {
            location: w.location.clone(),
            path: w.path.clone(),
        })
        .collect();
    warnings.extend(selects_nothing);
    let spec = ClusterSpec {
        name: scenario.name,
        seed: scenario.seed,
        duration: scenario.duration,
        sample_every: scenario.sample_every,
        control_plane: scenario.control_plane,
        node_pools: c.pools.into_iter().map(|p| p.value).collect(),
        nodes,
        deployments: c.deployments.into_iter().map(|d| d.value).collect(),
        replica_sets: c.replica_sets.into_iter().map(|r| r.value).collect(),
        behaviors,
        timeline,
        expectations: scenario.expectations,
        ignored_fields,
        priority_classes: classes,
        scheduler,
        pod_disruption_budgets: c.pdbs.into_iter().map(|b| b.value).collect(),
        jobs: c.jobs.into_iter().map(|j| j.value).collect(),
        trace: c.trace,
        services,
        traffic,
        destination_rules,
        argo,
        autoscaling,
        stateful,
        request_graphs,
    };
    Ok((spec, warnings))
}

/// [`SizeLimits::max_pods`]: each workload counted at the most replicas it may want during the
/// run; over the limit, the error points at what asks for the most (a workload's `replicas`, a
/// Timeline `scale`, an autoscaler's `maxReplicas`).
fn check_pod_total(
    c: &Collected,
    argo: &crate::cluster::argo::spec::ArgoSpec,
    rollout_locs: &[Loc],
    limits: &SizeLimits,
) -> R<()> {
    let count = |n: i32| u64::try_from(n).unwrap_or(0);
    let mut items: Vec<(u64, &Loc)> = Vec::new();
    for d in &c.deployments {
        let (name, ns) = (d.value.name.as_str(), d.value.namespace.as_str());
        let scaled = c.timeline.iter().filter_map(|e| match &e.action {
            RawAction::Scale {
                deployment,
                replicas,
            } if deployment.name == name => Some((count(*replicas), &deployment.loc)),
            _ => None,
        });
        let hpas = c
            .hpas
            .iter()
            .filter(|h| h.value.target.name == name && h.value.spec.namespace == ns)
            .map(|h| (count(h.value.spec.max_replicas), &h.loc));
        let scaled_objects = c
            .scaled_objects
            .iter()
            .filter(|s| s.value.target.name == name && s.value.spec.namespace == ns)
            .map(|s| (count(s.value.spec.max_replicas), &s.loc));
        let most = scaled.chain(hpas).chain(scaled_objects).fold(
            (count(d.value.replicas), &d.loc),
            |a, b| {
                if b.0 > a.0 { b } else { a }
            },
        );
        items.push(most);
    }
    items.extend(
        c.replica_sets
            .iter()
            .map(|r| (count(r.value.replicas), &r.loc)),
    );
    items.extend(
        argo.rollouts
            .iter()
            .zip(rollout_locs)
            .map(|(r, loc)| (count(r.replicas), loc)),
    );
    items.extend(c.jobs.iter().map(|j| (count(j.value.parallelism), &j.loc)));
    items.extend(
        c.stateful_sets
            .iter()
            .map(|s| (count(s.value.replicas), &s.loc)),
    );
    check_total(&items, limits.max_pods, "pods", "--max-pods")
}

/// True if some workload's pod template in `namespace` has labels for which `selects` holds.
fn any_template(c: &Collected, namespace: &str, selects: impl Fn(&Labels) -> bool) -> bool {
    c.deployments
        .iter()
        .filter(|d| d.value.namespace == namespace)
        .map(|d| &d.value.template.labels)
        .chain(
            c.replica_sets
                .iter()
                .filter(|r| r.value.namespace == namespace)
                .map(|r| &r.value.template.labels),
        )
        .chain(
            c.jobs
                .iter()
                .filter(|j| j.value.namespace == namespace)
                .map(|j| &j.value.template.labels),
        )
        .chain(
            c.rollouts
                .iter()
                .filter(|r| r.value.spec.namespace == namespace)
                .map(|r| &r.value.spec.template.labels),
        )
        .chain(
            c.stateful_sets
                .iter()
                .filter(|s| s.value.namespace == namespace)
                .map(|s| &s.value.template.labels),
        )
        .chain(
            c.cron_jobs
                .iter()
                .filter(|j| j.value.namespace == namespace)
                .map(|j| &j.value.job_template.template.labels),
        )
        .any(selects)
}

/// Whether `svc` selects the pods of one StatefulSet replica by the identity labels the
/// StatefulSet controller adds to each pod (`statefulset.kubernetes.io/pod-name: <set>-<i>`,
/// `apps.kubernetes.io/pod-index: <i>`, upstream `stateful_set_utils.go`
/// `initIdentity`/`updateIdentity`), the rest of the selector matching the template: the
/// per-replica Service pattern. Any ordinal counts, so a replica added by a later scale-up too.
fn stateful_identity_selected(c: &Collected, svc: &ServiceSpec) -> bool {
    const POD_NAME: &str = "statefulset.kubernetes.io/pod-name";
    const POD_INDEX: &str = "apps.kubernetes.io/pod-index";
    let ordinal = |s: &str| {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    };
    c.stateful_sets
        .iter()
        .map(|s| &s.value)
        .filter(|s| s.namespace == svc.namespace)
        .any(|s| {
            let name_ord = svc.selector.get(POD_NAME).map(|v| {
                v.strip_prefix(s.name.as_str())
                    .and_then(|r| r.strip_prefix('-'))
                    .filter(|i| ordinal(i))
            });
            let index = svc.selector.get(POD_INDEX);
            if name_ord.is_none() && index.is_none() {
                return false;
            }
            let i = match (name_ord, index) {
                (Some(None), _) => return false,
                (Some(Some(a)), Some(b)) if a != b.as_str() => return false,
                (Some(Some(a)), _) => a,
                (None, Some(b)) if ordinal(b) => b.as_str(),
                (None, _) => return false,
            };
            let mut labels = s.template.labels.clone();
            labels.insert(POD_NAME.to_string(), format!("{}-{i}", s.name));
            labels.insert(POD_INDEX.to_string(), i.to_string());
            service_selects(svc, &labels)
        })
}

/// A Service's selector picks pods with all its labels; an empty selector picks none (its
/// endpoints would be managed by hand, which kubesim does not model).
fn service_selects(svc: &ServiceSpec, labels: &Labels) -> bool {
    !svc.selector.is_empty() && svc.selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Warnings for objects that select no workload's pods: a Service no Traffic uses, and a
/// PodDisruptionBudget (upstream's disruption controller reports the same as its `NoPods`
/// event, "No matching pods found"). Valid in Kubernetes, but most likely a typo here.
fn warn_selects_nothing(c: &Collected) -> Vec<Warning> {
    if c.trace.is_some() {
        return Vec::new();
    }
    let mut found = Vec::new();
    for s in &c.services {
        let used = c
            .traffic
            .iter()
            .any(|t| t.value.service.name == s.value.name);
        if !used && !any_template(c, &s.value.namespace, |l| service_selects(&s.value, l)) {
            found.push((&s.loc, "Service"));
        }
    }
    for b in &c.pdbs {
        if !any_template(c, &b.value.namespace, |l| b.value.selector.matches(l)) {
            found.push((&b.loc, "PodDisruptionBudget"));
        }
    }
    // In input order (files are read sorted by name).
    found.sort_by(|(a, _), (b, _)| {
        (&a.file, a.pos.line, a.pos.column).cmp(&(&b.file, b.pos.line, b.pos.column))
    });
    found
        .into_iter()
        .map(|(loc, kind)| Warning {
            location: loc.at(),
            path: loc.path.clone(),
            message: format!(
                "this {kind} selects no pods of any Deployment, ReplicaSet, Job, Rollout, StatefulSet or CronJob"
            ),
        })
        .collect()
}

/// A Behavior's `spec.initContainers` keys must name init containers of its workload's pod
/// template.
fn check_init_container_names(c: &Collected, b: &BehaviorDoc) -> Result<(), ScenarioError> {
    let w = b.workload.name.as_str();
    let template = c
        .deployments
        .iter()
        .find(|d| d.value.name == w)
        .map(|d| &d.value.template)
        .or_else(|| {
            c.replica_sets
                .iter()
                .find(|d| d.value.name == w)
                .map(|d| &d.value.template)
        })
        .or_else(|| {
            c.jobs
                .iter()
                .find(|d| d.value.name == w)
                .map(|d| &d.value.template)
        })
        .or_else(|| {
            c.rollouts
                .iter()
                .find(|d| d.value.spec.name == w)
                .map(|d| &d.value.spec.template)
        })
        .or_else(|| {
            c.stateful_sets
                .iter()
                .find(|d| d.value.name == w)
                .map(|d| &d.value.template)
        })
        .or_else(|| {
            c.cron_jobs
                .iter()
                .find(|d| d.value.name == w)
                .map(|d| &d.value.job_template.template)
        });
    let Some(template) = template else {
        return Ok(());
    };
    for ((name, _), loc) in b.spec.init_containers.iter().zip(&b.init_locs) {
        if !template.init_containers.iter().any(|ic| &ic.name == name) {
            return Err(unknown_ref(
                name,
                loc,
                &format!("init container of {w}"),
                template.init_containers.iter().map(|ic| ic.name.as_str()),
            ));
        }
    }
    Ok(())
}

fn unknown_ref<'a>(
    name: &str,
    loc: &Loc,
    kind: &str,
    known: impl Iterator<Item = &'a str> + Clone,
) -> ScenarioError {
    let list: Vec<&str> = known.clone().collect();
    let tail = if list.is_empty() {
        format!("there is no {kind}")
    } else {
        format!("known: {}", list.join(", "))
    };
    loc.err(format!("no {kind} named {name:?}; {tail}"))
        .with_suggestion(suggest(name, known))
}

fn resolve(r: &Ref, kind: &str, names: &[&str]) -> R<()> {
    if names.contains(&r.name.as_str()) {
        Ok(())
    } else {
        Err(unknown_ref(&r.name, &r.loc, kind, names.iter().copied()))
    }
}

/// A node reference is valid if the node exists at the start, or is `<pool>-<i>` with `i` below
/// the pool's `count` plus every `addNodes` to it.
fn resolve_node(
    r: &Ref,
    node_names: &BTreeMap<String, Loc>,
    nodes: &[NodeSpec],
    pool_max: &BTreeMap<&str, u32>,
) -> R<()> {
    // Pool nodes are covered by the `<pool>-<i>` rule below (`i < count` exist at the start).
    if node_names.contains_key(&r.name) {
        return Ok(());
    }
    for (pool, max) in pool_max {
        if let Some(idx) = r.name.strip_prefix(pool).and_then(|s| s.strip_prefix('-'))
            && !idx.is_empty()
            && idx.chars().all(|c| c.is_ascii_digit())
            && (idx == "0" || !idx.starts_with('0'))
            && idx.parse::<u32>().is_ok_and(|i| i < *max)
        {
            return Ok(());
        }
    }
    let known = nodes.iter().map(|n| n.name.as_str());
    let suggestion = suggest(&r.name, known);
    Err(r
        .loc
        .err(format!(
            "no node named {:?} at the start of the run or added by the timeline",
            r.name
        ))
        .with_suggestion(suggestion))
}

/// Resolve the request-traffic documents: every Traffic names a Service; every DestinationRule
/// host names a Service (`name`, `name.namespace` or the FQDN
/// `name.namespace.svc.cluster.local`; a short name is in the rule's namespace), at most one
/// rule per Service; rate steps lie within the run.
#[allow(clippy::type_complexity)]
fn resolve_traffic(
    c: &Collected,
    scenario: &ScenarioDoc,
) -> R<(Vec<ServiceSpec>, Vec<TrafficSpec>, Vec<DestinationRuleSpec>)> {
    let services: Vec<ServiceSpec> = c.services.iter().map(|s| s.value.clone()).collect();
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let mut traffic = Vec::new();
    for t in &c.traffic {
        let d = &t.value;
        let Some(service) = services.iter().position(|s| s.name == d.service.name) else {
            return Err(unknown_ref(
                &d.service.name,
                &d.service.loc,
                "Service",
                names.iter().copied(),
            ));
        };
        // Requests to a Service that no workload's pods can ever join would all fail: a typo
        // in the selector (or a template's labels), refused rather than run.
        let svc = &services[service];
        if c.trace.is_none()
            && !any_template(c, &svc.namespace, |l| service_selects(svc, l))
            && !stateful_identity_selected(c, svc)
        {
            let shown: Vec<String> = svc
                .selector
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            return Err(d.service.loc.err(format!(
                "Service {:?} selects no pods: no Deployment, ReplicaSet, Job, Rollout, StatefulSet or CronJob template in namespace {:?} has the labels {}; its requests could never be served",
                svc.name,
                svc.namespace,
                if shown.is_empty() { "(no selector)".to_string() } else { shown.join(",") }
            )));
        }
        let mut steps = d.steps.clone();
        if let Some((path, loc)) = &d.rate_trace {
            let file = path.display().to_string();
            let text: std::sync::Arc<str> = std::fs::read_to_string(path)
                .map_err(|e| loc.err(format!("cannot read the rate trace {file}: {e}")))?
                .into();
            steps = super::rate_trace::parse_rate_trace(
                &file,
                &text,
                SimTime::ZERO + scenario.duration,
            )?;
        }
        for (s, loc) in d.steps.iter().zip(&d.steps_loc) {
            if s.at > SimTime::ZERO + scenario.duration {
                return Err(loc.err(format!(
                    "is after the end of the run (Scenario spec.duration is {})",
                    format_duration(scenario.duration.0)
                )));
            }
        }
        traffic.push(TrafficSpec {
            name: d.name.clone(),
            service,
            rate: d.rate,
            arrival: d.arrival.clone(),
            diurnal: d.diurnal,
            steps,
            timeout: d.timeout,
            retries: d.retries,
            retry_backoff: d.retry_backoff,
            load_balancer: d.load_balancer,
            network_latency: d.network_latency,
            circuit_breaker: d.circuit_breaker,
            client_breaker: d.client_breaker,
            mode: d.mode,
        });
    }
    check_traffic_modes(c)?;
    let mut rules: Vec<DestinationRuleSpec> = Vec::new();
    let mut rule_at: BTreeMap<usize, Loc> = BTreeMap::new();
    for r in &c.destination_rules {
        let d = &r.value;
        let host = d.host.name.trim_end_matches(".svc.cluster.local");
        let (name, ns) = match host.split_once('.') {
            Some((n, ns)) => (n, ns),
            None => (host, d.namespace.as_str()),
        };
        let Some(service) = services
            .iter()
            .position(|s| s.name == name && s.namespace == ns)
        else {
            return Err(unknown_ref(
                &d.host.name,
                &d.host.loc,
                "Service",
                names.iter().copied(),
            ));
        };
        if let Some(first) = rule_at.get(&service) {
            return Err(d.host.loc.err(format!(
                "Service {name:?} already has a DestinationRule (at {})",
                first.at()
            )));
        }
        rule_at.insert(service, d.host.loc.clone());
        rules.push(DestinationRuleSpec {
            name: d.name.clone(),
            service,
            load_balancer: d.load_balancer,
            outlier_detection: d.outlier_detection,
            max_requests: d.max_requests,
            max_pending_requests: d.max_pending_requests,
        });
    }
    Ok((services, traffic, rules))
}

/// Every `Traffic` of a scenario runs in the same mode (the fluid model replaces the request
/// model for the whole run), and fluid mode has no request graphs: refuse a mix, naming both
/// places.
fn check_traffic_modes(c: &Collected) -> R<()> {
    let Some(first) = c.traffic.first() else {
        return Ok(());
    };
    let fluid_at = |t: &Named<super::traffic_docs::TrafficDoc>| {
        t.value
            .mode_loc
            .as_ref()
            .map_or_else(|| t.loc.at(), |l| l.at())
    };
    for t in &c.traffic[1..] {
        if t.value.mode.is_fluid() != first.value.mode.is_fluid() {
            let name = |x: &Named<super::traffic_docs::TrafficDoc>| {
                if x.value.mode.is_fluid() {
                    "fluid"
                } else {
                    "request"
                }
            };
            let loc = t.value.mode_loc.as_ref().unwrap_or(&t.loc);
            return Err(loc.err(format!(
                "every Traffic of a scenario uses the same mode: this one is {}, Traffic/{} (at {}) is {}",
                name(t),
                first.value.name,
                fluid_at(first),
                name(first)
            )));
        }
    }
    if first.value.mode.is_fluid()
        && let Some(g) = c.request_graphs.first()
    {
        return Err(g.value.service.loc.err(format!(
            "request graphs are not modelled in fluid traffic mode (Traffic/{} sets mode: fluid at {}); use mode: request",
            first.value.name,
            fluid_at(first)
        )));
    }
    // Fluid mode splits a Service's load over all its Ready endpoints; a singleton Service
    // routes to the elected leader only, which it does not model.
    if first.value.mode.is_fluid()
        && let Some(r) = c.leader_elections.iter().find_map(|l| l.value.2.as_ref())
    {
        return Err(r.loc.err(format!(
            "a LeaderElection's singleton service is not modelled in fluid traffic mode (Traffic/{} sets mode: fluid at {}); use mode: request",
            first.value.name,
            fluid_at(first)
        )));
    }
    if first.value.mode.is_fluid() {
        for r in &c.destination_rules {
            let d = &r.value;
            if d.outlier_detection.is_some()
                || d.max_requests != u32::MAX
                || d.max_pending_requests != u32::MAX
            {
                return Err(d.host.loc.err(format!(
                    "outlier detection and connection-pool limits are not modelled in fluid traffic mode (Traffic/{} sets mode: fluid at {}); use mode: request, or keep only trafficPolicy.loadBalancer",
                    first.value.name,
                    fluid_at(first)
                )));
            }
        }
    }
    Ok(())
}

/// Resolve the autoscalers: every HPA and ScaledObject targets a Deployment of its namespace,
/// at most one autoscaler per Deployment (two would fight, as upstream's `AmbiguousSelector`),
/// every metric or trigger Service exists.
fn resolve_autoscaling(
    c: &Collected,
    deployment_names: &[&str],
    services: &[ServiceSpec],
    scenario: &ScenarioDoc,
) -> R<crate::cluster::autoscaling_spec::AutoscalingSpec> {
    use crate::cluster::autoscaling_spec::{KedaTriggerKind, MetricSource};
    let svc_names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let find_service = |r: &super::kubesim_docs::Ref, ns: &str| -> R<usize> {
        services
            .iter()
            .position(|s| s.name == r.name && s.namespace == ns)
            .ok_or_else(|| unknown_ref(&r.name, &r.loc, "Service", svc_names.iter().copied()))
    };
    let mut owner: BTreeMap<String, Loc> = BTreeMap::new();
    let mut claim = |target: &super::kubesim_docs::Ref, ns: &str| -> R<()> {
        let ok = c
            .deployments
            .iter()
            .any(|d| d.value.name == target.name && d.value.namespace == ns);
        if !ok {
            return Err(unknown_ref(
                &target.name,
                &target.loc,
                "Deployment",
                deployment_names.iter().copied(),
            ));
        }
        let key = format!("{ns}/{}", target.name);
        if let Some(first) = owner.get(&key) {
            return Err(target.loc.err(format!(
                "Deployment {:?} already has an autoscaler (at {})",
                target.name,
                first.at()
            )));
        }
        owner.insert(key, target.loc.clone());
        Ok(())
    };
    let mut hpas = Vec::new();
    for h in &c.hpas {
        let d = &h.value;
        claim(&d.target, &d.spec.namespace)?;
        let mut spec = d.spec.clone();
        for r in &d.services {
            let s = find_service(&r.service, &spec.namespace)?;
            match &mut spec.metrics[r.index].source {
                MetricSource::ExternalRequestRate { service }
                | MetricSource::ExternalInFlight { service }
                | MetricSource::ObjectRequestRate { service }
                | MetricSource::ObjectInFlight { service } => *service = s,
                _ => {}
            }
        }
        hpas.push(spec);
    }
    let mut scaled_objects = Vec::new();
    for so in &c.scaled_objects {
        let d = &so.value;
        claim(&d.target, &d.spec.namespace)?;
        let mut spec = d.spec.clone();
        for r in &d.services {
            let s = find_service(&r.service, &spec.namespace)?;
            match &mut spec.triggers[r.index].kind {
                KedaTriggerKind::RequestRate { service }
                | KedaTriggerKind::QueueLength { service } => *service = s,
            }
        }
        scaled_objects.push(spec);
    }
    Ok(crate::cluster::autoscaling_spec::AutoscalingSpec {
        hpas,
        scaled_objects,
        node_groups: c.node_groups.clone(),
        cluster_autoscaler: scenario.cluster_autoscaler.clone(),
        hpa_controller: scenario.hpa_controller.clone(),
        cpu_load: c.cpu_load.clone(),
    })
}

/// StatefulSets, CronJobs and leader elections: names are unique across workload kinds, and a
/// LeaderElection's workload is a Deployment, StatefulSet, ReplicaSet or Rollout.
fn resolve_stateful(c: &Collected) -> R<crate::cluster::stateful_spec::StatefulSpec> {
    for s in &c.stateful_sets {
        let n = s.value.name.as_str();
        if c.deployments.iter().any(|d| d.value.name == n)
            || c.replica_sets.iter().any(|d| d.value.name == n)
        {
            return Err(s.loc.err(format!(
                "StatefulSet {n:?} has the name of a Deployment or ReplicaSet; workload names must be unique"
            )));
        }
    }
    for j in &c.cron_jobs {
        let n = j.value.name.as_str();
        if c.jobs.iter().any(|d| d.value.name == n) {
            return Err(j.loc.err(format!(
                "CronJob {n:?} has the name of a Job; workload names must be unique"
            )));
        }
    }
    let candidates: Vec<&str> = c
        .deployments
        .iter()
        .map(|d| d.value.name.as_str())
        .chain(c.stateful_sets.iter().map(|s| s.value.name.as_str()))
        .chain(c.replica_sets.iter().map(|r| r.value.name.as_str()))
        .chain(c.rollouts.iter().map(|r| r.value.spec.name.as_str()))
        .collect();
    let mut leader_elections = Vec::new();
    for l in &c.leader_elections {
        let (spec, loc, service) = &l.value;
        if !candidates.contains(&spec.workload.as_str()) {
            return Err(unknown_ref(
                &spec.workload,
                loc,
                "Deployment, StatefulSet, ReplicaSet or Rollout",
                candidates.iter().copied(),
            ));
        }
        let mut spec = spec.clone();
        if let Some(r) = service {
            let names: Vec<&str> = c.services.iter().map(|s| s.value.name.as_str()).collect();
            resolve(r, "Service", &names)?;
            spec.service = c.services.iter().position(|s| s.value.name == r.name);
        }
        leader_elections.push(spec);
    }
    Ok(crate::cluster::stateful_spec::StatefulSpec {
        stateful_sets: c.stateful_sets.iter().map(|s| s.value.clone()).collect(),
        cron_jobs: c.cron_jobs.iter().map(|s| s.value.clone()).collect(),
        leader_elections,
    })
}
