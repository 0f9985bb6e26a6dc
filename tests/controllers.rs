//! Controllers end to end on a hand-built spec: scaling a Deployment converges to exactly the
//! right pods, and no node is ever over its allocatable.

use std::collections::BTreeMap;
use std::sync::Arc;

use kubesim::cluster::spec::*;
use kubesim::cluster::world::World;
use kubesim::engine::{SimDuration, SimTime};

fn template(cpu_milli: i64, mem: i64) -> PodTemplateSpec {
    PodTemplateSpec {
        labels: BTreeMap::from([("app".to_string(), "web".to_string())]),
        containers: vec![ContainerSpec {
            name: "web".into(),
            image: "web:v1".into(),
            requests: Resources {
                cpu_milli,
                memory_bytes: mem,
                pods: 0,
            },
            limits: Resources::default(),
            probes: Default::default(),
        }],
        init_containers: vec![],
        node_selector: Labels::new(),
        node_name: None,
        tolerations: vec![],
        priority: 0,
        termination_grace_period: SimDuration::from_secs(30),
        scheduler_name: "default-scheduler".into(),
        ..PodTemplateSpec::default()
    }
}

fn spec(replicas: i32, nodes: u32, timeline: Vec<(u64, TimelineAction)>) -> ClusterSpec {
    let pool = NodePoolSpec {
        name: "general".into(),
        count: nodes,
        zones: vec!["a".into(), "b".into()],
        capacity: Resources {
            cpu_milli: 4000,
            memory_bytes: 8 << 30,
            pods: 110,
        },
        labels: Labels::new(),
        taints: vec![],
        provisioning_delay: SimDuration::from_secs(60),
        price_per_hour: 0.2,
    };
    ClusterSpec {
        name: "t".into(),
        seed: 7,
        duration: SimDuration::from_secs(600),
        sample_every: SimDuration::from_secs(10),
        control_plane: ControlPlaneSpec::default(),
        nodes: expand_pool(&pool, 0, nodes),
        node_pools: vec![pool],
        deployments: vec![DeploymentSpec {
            name: "web".into(),
            namespace: "default".into(),
            replicas,
            selector: LabelSelector {
                match_labels: BTreeMap::from([("app".to_string(), "web".to_string())]),
                match_expressions: vec![],
            },
            template: template(500, 512 << 20),
            strategy: DeploymentStrategy::RollingUpdate {
                max_surge: IntOrPercent::Percent(25),
                max_unavailable: IntOrPercent::Percent(25),
            },
            min_ready_seconds: 0,
            revision_history_limit: 10,
            progress_deadline_seconds: 600,
            paused: false,
        }],
        replica_sets: vec![],
        behaviors: BTreeMap::new(),
        timeline: timeline
            .into_iter()
            .map(|(s, action)| TimelineEntry {
                at: SimTime(s * 1_000_000_000),
                action,
                source: "test".into(),
            })
            .collect(),
        expectations: vec![],
        ignored_fields: vec![],
        priority_classes: vec![],
        scheduler: SchedulerConfigSpec::default(),
        pod_disruption_budgets: vec![],
        jobs: vec![],
        argo: Default::default(),
        trace: None,
        autoscaling: Default::default(),
        stateful: Default::default(),
        services: vec![],
        traffic: vec![],
        destination_rules: vec![],
    }
}

/// Run to the end, checking after every simulated second that no node is over its
/// allocatable and that the node aggregates equal the sum of their pods.
fn run_checked(spec: ClusterSpec) -> kubesim::cluster::world::RunOutput {
    let mut world = World::new(Arc::new(spec));
    while !world.is_done() {
        let next = world.now() + SimDuration::from_secs(1);
        world.advance(next, u64::MAX);
        let store = &world.state().store;
        for node in store.nodes.values() {
            assert!(
                node.requested.fits_within(&node.allocatable),
                "{} over allocatable at {}",
                node.name,
                world.now()
            );
            let sum = node
                .pods
                .iter()
                .map(|id| store.pods[id].requests)
                .fold(Resources::default(), |a, r| a.add(&r));
            assert_eq!(sum, node.requested, "aggregate of {}", node.name);
        }
        for pod in store.pods.values() {
            if let Some(n) = &pod.node {
                assert!(
                    store
                        .nodes
                        .get(n)
                        .is_none_or(|node| node.pods.contains(&pod.id))
                );
            }
        }
    }
    world.finish()
}

fn ready_web_pods(out: &kubesim::cluster::world::RunOutput) -> usize {
    out.store
        .pods
        .values()
        .filter(|p| p.workload == "web" && p.is_ready() && !p.is_terminating())
        .count()
}

#[test]
fn deployment_scaled_3_10_2_ends_with_exactly_2_pods() {
    let out = run_checked(spec(
        3,
        3,
        vec![
            (
                100,
                TimelineAction::ScaleDeployment {
                    deployment: "web".into(),
                    replicas: 10,
                },
            ),
            (
                300,
                TimelineAction::ScaleDeployment {
                    deployment: "web".into(),
                    replicas: 2,
                },
            ),
        ],
    ));
    assert_eq!(out.store.pods.len(), 2, "exactly two pods remain");
    assert_eq!(ready_web_pods(&out), 2);
    let d = &out.store.deployments["default/web"];
    assert_eq!(
        (
            d.replicas,
            d.status.ready_replicas,
            d.status.available_replicas
        ),
        (2, 2, 2)
    );
    assert_eq!(
        out.recorder.counters.pods_created, 10,
        "3 + 7 created, none extra"
    );
    assert_eq!(out.recorder.counters.pods_deleted, 8);
}

#[test]
fn pods_that_do_not_fit_stay_pending_until_a_node_is_added() {
    // 3 nodes x 4 CPU = 12 CPU; 30 pods x 500m = 15 CPU: 6 pods cannot fit until a 4th node.
    let out = run_checked(spec(
        30,
        3,
        vec![(
            200,
            TimelineAction::AddNodes {
                pool: "general".into(),
                count: 1,
            },
        )],
    ));
    assert_eq!(ready_web_pods(&out), 30);
    assert!(out.recorder.counters.failed_scheduling >= 6);
    let failed = out
        .recorder
        .events
        .iter()
        .find(|e| e.reason == "FailedScheduling")
        .expect("a FailedScheduling event");
    // Upstream's FitError with DefaultPreemption's PostFilter diagnosis (all pods share one
    // priority, so no node has victims).
    assert_eq!(
        failed.message,
        "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
    );
    // The new node registers after the pool's 60 s provisioning delay.
    let reg = out
        .recorder
        .events
        .iter()
        .find(|e| e.reason == "RegisteredNode" && e.object == "general-3")
        .expect("node added");
    assert_eq!(reg.time, SimTime(260_000_000_000 + 5_000_000));
}

#[test]
fn removing_a_node_reschedules_its_pods_elsewhere() {
    let out = run_checked(spec(
        6,
        3,
        vec![(
            100,
            TimelineAction::RemoveNode {
                node: "general-0".into(),
            },
        )],
    ));
    assert_eq!(ready_web_pods(&out), 6);
    assert!(
        out.store
            .pods
            .values()
            .all(|p| p.node.as_deref() != Some("general-0"))
    );
    assert!(out.recorder.events.iter().any(|e| e.reason == "PodGC"));
}
