//! The operator pattern: a custom controller, written against kubesim's public API, that
//! reconciles a custom resource. The resource here is a `DatabaseCluster` (in the spirit of
//! CloudNativePG, which manages its instance pods itself rather than through a StatefulSet):
//! `instances` database pods spread one per node (required pod anti-affinity on the hostname),
//! each lost instance replaced by a new one with the next serial number, a primary (the Ready
//! instance with the lowest serial, failed over when it stops being Ready), and a
//! backup every `backup_every`, run as a one-shot pod (`restartPolicy: Never`) of which the
//! newest `backups_to_keep` are kept.
//!
//! The operator is a [`Component`]: like upstream controllers it reconciles level-based and
//! idempotently from the current state (the API server's store), here on a periodic resync
//! (controller-runtime's `RequeueAfter`) rather than on watch events, and changes the cluster
//! only through API writes, which commit after the API write latency.
//!
//! The scenario: 3 nodes, a 4th added at 1 minute, and node `db-0` crashing at 3 minutes
//! (with `defaultUnreachableTolerationSeconds: 30`, its pods are evicted about 80 s later).
//! Watch the operator recreate the lost instance on the new node, fail over if the primary
//! was on `db-0`, and take and prune backups.
//!
//! Run it with `cargo run --release --example operator`.

use std::collections::BTreeMap;
use std::sync::Arc;

use kubesim::cluster::apiserver;
use kubesim::cluster::events::{ApiWrite, ControllerTimer, Event};
use kubesim::cluster::objects::{OwnerRef, Pod, PodId, PodPhase};
use kubesim::cluster::scheduling_spec::{Affinity, PodAffinityRules, PodAffinityTerm};
use kubesim::cluster::spec::{
    ContainerSpec, LabelSelector, Labels, PodTemplateSpec, Resources, RestartPolicy,
};
use kubesim::cluster::state::ClusterState;
use kubesim::cluster::world::{RunOutput, World};
use kubesim::engine::{Component, Context, SimDuration, SimTime};

/// The custom resource: what the user asks for.
#[derive(Clone, Debug)]
pub struct DatabaseCluster {
    /// `metadata.name`; pods are `<name>-<serial>` and `<name>-backup-<n>`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// Number of database instances (one primary, the others replicas).
    pub instances: u32,
    /// Database image.
    pub image: String,
    /// CPU request per instance, millicores.
    pub cpu_milli: i64,
    /// Time between backups.
    pub backup_every: SimDuration,
    /// How long one backup pod runs.
    pub backup_duration: SimDuration,
    /// Completed backup pods kept; older ones are deleted.
    pub backups_to_keep: usize,
}

/// Label every pod of a cluster carries (its value is the cluster's name).
const CLUSTER_LABEL: &str = "databasecluster.example.com/name";
/// Label saying what a pod is: `instance` or `backup`.
const ROLE_LABEL: &str = "databasecluster.example.com/role";
/// How often the operator resyncs.
const RESYNC: SimDuration = SimDuration::from_secs(5);

/// What the operator knows between reconciles (its status subresource, in a real cluster).
#[derive(Debug, Default)]
struct ClusterStatus {
    /// Name of the current primary.
    primary: Option<String>,
    /// Serial number of the last instance created.
    next_serial: u32,
    /// Backups started so far.
    backups_started: u32,
    /// Backup pods already reported complete.
    backups_done: Vec<String>,
}

/// The operator: a controller for `DatabaseCluster` resources.
pub struct DatabaseOperator {
    clusters: Vec<DatabaseCluster>,
    status: BTreeMap<String, ClusterStatus>,
}

impl DatabaseOperator {
    /// An operator reconciling `clusters`.
    pub fn new(clusters: Vec<DatabaseCluster>) -> Self {
        DatabaseOperator {
            clusters,
            status: BTreeMap::new(),
        }
    }

    /// One reconcile of cluster `c`: create missing instances, elect a primary, take and
    /// prune backups. Idempotent: running it twice at the same instant changes nothing more.
    fn reconcile(
        &mut self,
        c: &DatabaseCluster,
        state: &mut ClusterState,
        ctx: &mut Context<'_, Event>,
    ) {
        let now = ctx.now();
        let key = format!("{}/{}", c.namespace, c.name);
        let status = self.status.entry(c.name.clone()).or_default();
        let ours: Vec<&Pod> = state
            .store
            .pods
            .values()
            .filter(|p| p.namespace == c.namespace)
            .filter(|p| p.labels.get(CLUSTER_LABEL) == Some(&c.name))
            .collect();
        let role = |p: &Pod, r: &str| p.labels.get(ROLE_LABEL).map(String::as_str) == Some(r);

        // 1. Instances: keep `instances` active instance pods. A lost instance (deleted,
        //    failed, or Terminating on an unreachable node, where it stays until the node is
        //    gone) is replaced by a new one with the next serial number, as CloudNativePG does,
        //    rather than waiting for its name to be free, as a StatefulSet would.
        let mut writes = Vec::new();
        let mut log = Vec::new();
        let active = ours
            .iter()
            .filter(|p| role(p, "instance") && p.is_active())
            .count();
        for _ in active..c.instances as usize {
            status.next_serial += 1;
            let name = format!("{}-{}", c.name, status.next_serial);
            writes.push(instance_pod(c, &name));
            log.push(("CreatedInstance", format!("created instance pod {name}")));
        }

        // 2. The primary: keep it while Ready, else fail over to the Ready instance with the
        //    lowest serial number.
        let mut ready: Vec<(u32, &str)> = ours
            .iter()
            .filter(|p| role(p, "instance") && p.is_active() && p.is_ready())
            .filter_map(|p| {
                let serial = p.name.rsplit('-').next()?.parse().ok()?;
                Some((serial, p.name.as_str()))
            })
            .collect();
        ready.sort();
        let still = status
            .primary
            .as_ref()
            .is_some_and(|p| ready.iter().any(|(_, n)| n == p));
        if !still && let Some((_, next)) = ready.first() {
            let (reason, msg) = match &status.primary {
                None => ("PrimaryElected", format!("instance {next} is the primary")),
                Some(old) => (
                    "Failover",
                    format!("primary {old} is not Ready: failing over to {next}"),
                ),
            };
            log.push((reason, msg));
            status.primary = Some(next.to_string());
        }

        // 3. Backups: one per period once a primary exists; report completions; prune.
        let due = u32::try_from(now.as_nanos() / c.backup_every.as_nanos().max(1)).unwrap_or(0);
        if status.primary.is_some() && status.backups_started < due {
            status.backups_started += 1;
            let name = format!("{}-backup-{}", c.name, status.backups_started);
            writes.push(backup_pod(c, &name));
            log.push(("BackupStarted", format!("backup pod {name} created")));
        }
        let mut done: Vec<&Pod> = ours
            .iter()
            .copied()
            .filter(|p| role(p, "backup") && p.phase == PodPhase::Succeeded)
            .collect();
        done.sort_by_key(|p| p.created_at);
        for p in &done {
            if !status.backups_done.contains(&p.name) {
                status.backups_done.push(p.name.clone());
                log.push(("BackupCompleted", format!("backup {} completed", p.name)));
            }
        }
        let mut deletes: Vec<PodId> = Vec::new();
        let live: Vec<&&Pod> = done.iter().filter(|p| !p.is_terminating()).collect();
        if live.len() > c.backups_to_keep {
            for p in &live[..live.len() - c.backups_to_keep] {
                deletes.push(p.id);
                log.push(("BackupPruned", format!("deleted old backup {}", p.name)));
            }
        }

        for (reason, message) in log {
            state
                .recorder
                .event(now, "DatabaseCluster", key.clone(), reason, message);
        }
        for pod in writes {
            apiserver::write(
                ctx,
                state,
                ApiWrite::CreatePod {
                    pod: Box::new(pod),
                    generate_name: String::new(),
                },
            );
        }
        for id in deletes {
            apiserver::write(
                ctx,
                state,
                ApiWrite::DeletePod {
                    id,
                    by: format!("DatabaseCluster {key}"),
                },
            );
        }
    }
}

impl Component<Event, ClusterState> for DatabaseOperator {
    fn name(&self) -> &str {
        "database-operator"
    }

    fn handle(&mut self, event: Event, state: &mut ClusterState, ctx: &mut Context<'_, Event>) {
        if let Event::Controller(ControllerTimer::Reconcile(_)) = event {
            let clusters = self.clusters.clone();
            for c in &clusters {
                self.reconcile(c, state, ctx);
            }
            ctx.send_self(
                RESYNC,
                Event::Controller(ControllerTimer::Reconcile(String::new())),
            );
        }
    }
}

/// A pod object of cluster `c` named `name`, with `role` and `template`.
fn pod(c: &DatabaseCluster, name: &str, role: &str, template: PodTemplateSpec) -> Pod {
    let template = Arc::new(template);
    Pod {
        id: PodId(0),
        name: name.to_string(),
        namespace: c.namespace.clone(),
        labels: labels(c, role),
        owner: Some(OwnerRef {
            kind: "DatabaseCluster",
            key: format!("{}/{}", c.namespace, c.name),
        }),
        workload: c.name.clone(),
        requests: template.pod_requests(),
        non_zero_requests: template.non_zero_requests(),
        template,
        node: None,
        phase: PodPhase::Pending,
        created_at: SimTime::ZERO,
        scheduled_at: None,
        started_at: None,
        ready_since: None,
        deletion_timestamp: None,
        restart_count: 0,
        run_for: None,
    }
}

fn labels(c: &DatabaseCluster, role: &str) -> Labels {
    let mut l = Labels::new();
    l.insert(CLUSTER_LABEL.to_string(), c.name.clone());
    l.insert(ROLE_LABEL.to_string(), role.to_string());
    l
}

/// An instance pod: one per node (required anti-affinity against the other instances).
fn instance_pod(c: &DatabaseCluster, name: &str) -> Pod {
    let affinity = Affinity {
        pod_anti_affinity: PodAffinityRules {
            required: vec![PodAffinityTerm {
                label_selector: Some(LabelSelector {
                    match_labels: labels(c, "instance"),
                    match_expressions: Vec::new(),
                }),
                namespaces: Vec::new(),
                topology_key: "kubernetes.io/hostname".to_string(),
            }],
            preferred: Vec::new(),
        },
        ..Affinity::default()
    };
    let template = PodTemplateSpec {
        labels: labels(c, "instance"),
        containers: vec![container("postgres", &c.image, c.cpu_milli, 2 << 30)],
        affinity,
        ..PodTemplateSpec::default()
    };
    pod(c, name, "instance", template)
}

/// A backup pod: runs `backup_duration` once and exits 0.
fn backup_pod(c: &DatabaseCluster, name: &str) -> Pod {
    let template = PodTemplateSpec {
        labels: labels(c, "backup"),
        containers: vec![container("backup", &c.image, 250, 256 << 20)],
        restart_policy: RestartPolicy::Never,
        ..PodTemplateSpec::default()
    };
    let mut p = pod(c, name, "backup", template);
    p.run_for = Some(c.backup_duration);
    p
}

fn container(name: &str, image: &str, cpu_milli: i64, memory_bytes: i64) -> ContainerSpec {
    ContainerSpec {
        name: name.to_string(),
        image: image.to_string(),
        requests: Resources {
            cpu_milli,
            memory_bytes,
            pods: 0,
        },
        limits: Resources::default(),
        probes: Default::default(),
    }
}

/// The cluster the operator runs in (a kubesim scenario: nodes and a timeline, no workloads).
pub const SCENARIO: &str = r#"apiVersion: kubesim.dev/v1alpha1
kind: Scenario
metadata: {name: operator}
spec:
  seed: 9
  duration: 12m
  controlPlane: {defaultUnreachableTolerationSeconds: 30}
---
apiVersion: kubesim.dev/v1alpha1
kind: NodePool
metadata: {name: db}
spec: {count: 3, zones: [a, b, c], capacity: {cpu: "4", memory: 16Gi}, pricePerHour: 0.2}
---
apiVersion: kubesim.dev/v1alpha1
kind: Timeline
metadata: {name: chaos}
spec:
- {at: 1m, addNodes: {pool: db, count: 1}}
- {at: 3m, crashNode: {node: db-0}}
"#;

/// The `DatabaseCluster` the example applies.
pub fn orders() -> DatabaseCluster {
    DatabaseCluster {
        name: "orders".to_string(),
        namespace: "default".to_string(),
        instances: 3,
        image: "postgres:17".to_string(),
        cpu_milli: 1000,
        backup_every: SimDuration::from_secs(180),
        backup_duration: SimDuration::from_secs(40),
        backups_to_keep: 2,
    }
}

/// Run the scenario with the operator reconciling `cluster`.
pub fn run(cluster: DatabaseCluster) -> RunOutput {
    let loaded = kubesim::scenario::load_str("operator.yaml", SCENARIO).expect("valid scenario");
    let mut world = World::new(Arc::new(loaded.spec));
    let id = world.add_component(Box::new(DatabaseOperator::new(vec![cluster])));
    world.schedule(
        SimTime::ZERO,
        id,
        Event::Controller(ControllerTimer::Reconcile(String::new())),
    );
    let end = world.end();
    world.advance(end, u64::MAX);
    world.finish()
}

#[allow(dead_code)]
fn main() {
    let out = run(orders());
    println!("What the operator did:");
    for e in out
        .recorder
        .events
        .iter()
        .filter(|e| e.kind == "DatabaseCluster" || e.kind == "Timeline")
    {
        println!(
            "  {:>7.1}s  {:<16} {}",
            e.time.as_secs_f64(),
            e.reason,
            e.message
        );
    }
    println!("Pods at the end:");
    for p in out.store.pods.values() {
        println!(
            "  {:<18} {:<10} {:?}{}",
            p.name,
            p.node.as_deref().unwrap_or("-"),
            p.phase,
            if p.is_terminating() {
                ", Terminating"
            } else if p.is_ready() {
                ", Ready"
            } else {
                ""
            }
        );
    }
}
