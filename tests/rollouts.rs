//! Deployment rollouts end to end: the bounds upstream's rolling update keeps at every instant,
//! the final state, Recreate, proportional scaling, and a blocked rollout.

use std::collections::BTreeMap;
use std::sync::Arc;

use kubesim::cluster::spec::*;
use kubesim::cluster::world::{RunOutput, World};
use kubesim::engine::{SimDuration, SimTime};

fn spec(
    replicas: i32,
    strategy: DeploymentStrategy,
    nodes: u32,
    cpu_per_node: i64,
    timeline: Vec<(u64, TimelineAction)>,
) -> ClusterSpec {
    let pool = NodePoolSpec {
        name: "general".into(),
        count: nodes,
        zones: vec![],
        capacity: Resources {
            cpu_milli: cpu_per_node,
            memory_bytes: 64 << 30,
            pods: 110,
        },
        labels: Labels::new(),
        taints: vec![],
        provisioning_delay: SimDuration::ZERO,
        price_per_hour: 0.0,
    };
    let labels = BTreeMap::from([("app".to_string(), "web".to_string())]);
    ClusterSpec {
        name: "rollout".into(),
        seed: 3,
        duration: SimDuration::from_secs(1200),
        sample_every: SimDuration::from_secs(60),
        control_plane: ControlPlaneSpec::default(),
        nodes: expand_pool(&pool, 0, nodes),
        node_pools: vec![pool],
        deployments: vec![DeploymentSpec {
            name: "web".into(),
            namespace: "default".into(),
            replicas,
            selector: LabelSelector {
                match_labels: labels.clone(),
                match_expressions: vec![],
            },
            template: PodTemplateSpec {
                labels,
                containers: vec![ContainerSpec {
                    name: "web".into(),
                    image: "web:v1".into(),
                    requests: Resources {
                        cpu_milli: 1000,
                        memory_bytes: 1 << 30,
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
            },
            strategy,
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

fn set_image(at: u64) -> (u64, TimelineAction) {
    (
        at,
        TimelineAction::SetImage {
            deployment: "web".into(),
            container: None,
            image: "web:v2".into(),
        },
    )
}

struct Bounds {
    max_pods: usize,
    min_available: i32,
}

/// Run to the end; from `check_from` on, check every 100 ms that the pods (not terminating)
/// never exceed `max_pods` and the available ones never drop below `min_available`.
fn run_bounded(spec: ClusterSpec, check_from: u64, b: Bounds) -> RunOutput {
    let mut world = World::new(Arc::new(spec));
    let from = SimTime(check_from * 1_000_000_000);
    while !world.is_done() {
        let next = world.now() + SimDuration::from_millis(100);
        world.advance(next, u64::MAX);
        if world.now() < from {
            continue;
        }
        let store = &world.state().store;
        let live = store.pods.values().filter(|p| !p.is_terminating()).count();
        assert!(
            live <= b.max_pods,
            "{live} pods > {} at {}",
            b.max_pods,
            world.now()
        );
        let available: i32 = store
            .replica_sets
            .values()
            .map(|rs| rs.status.available_replicas)
            .sum();
        assert!(
            available >= b.min_available,
            "{available} available < {} at {}",
            b.min_available,
            world.now()
        );
    }
    world.finish()
}

fn sizes(out: &RunOutput) -> Vec<(String, i32)> {
    let mut v: Vec<(String, i32)> = out
        .store
        .replica_sets
        .values()
        .map(|rs| (rs.template.containers[0].image.clone(), rs.replicas))
        .collect();
    v.sort();
    v
}

fn rolling(s: IntOrPercent, u: IntOrPercent) -> DeploymentStrategy {
    DeploymentStrategy::RollingUpdate {
        max_surge: s,
        max_unavailable: u,
    }
}

#[test]
fn replicas_10_with_default_25_percent_bounds() {
    // maxSurge 25% of 10 rounds up to 3, maxUnavailable rounds down to 2.
    let out = run_bounded(
        spec(
            10,
            rolling(IntOrPercent::Percent(25), IntOrPercent::Percent(25)),
            4,
            8000,
            vec![set_image(120)],
        ),
        100,
        Bounds {
            max_pods: 13,
            min_available: 8,
        },
    );
    assert_eq!(
        sizes(&out),
        vec![("web:v1".to_string(), 0), ("web:v2".to_string(), 10)]
    );
    let ready_v2 = out
        .store
        .pods
        .values()
        .filter(|p| p.is_ready() && p.template.containers[0].image == "web:v2")
        .count();
    assert_eq!(ready_v2, 10);
    assert_eq!(out.store.pods.len(), 10);
    assert!(
        out.recorder
            .events
            .iter()
            .any(|e| e.reason == "NewReplicaSetAvailable")
    );
    assert_eq!(
        out.recorder.rollout_durations.count(),
        2,
        "the initial rollout and the update"
    );
}

#[test]
fn replicas_3_with_max_surge_1_max_unavailable_0_never_drops_below_3() {
    let out = run_bounded(
        spec(
            3,
            rolling(IntOrPercent::Int(1), IntOrPercent::Int(0)),
            2,
            8000,
            vec![set_image(120)],
        ),
        100,
        Bounds {
            max_pods: 4,
            min_available: 3,
        },
    );
    assert_eq!(
        sizes(&out),
        vec![("web:v1".to_string(), 0), ("web:v2".to_string(), 3)]
    );
}

#[test]
fn replicas_4_with_max_surge_0_max_unavailable_1_never_exceeds_4() {
    let out = run_bounded(
        spec(
            4,
            rolling(IntOrPercent::Int(0), IntOrPercent::Int(1)),
            2,
            8000,
            vec![set_image(120)],
        ),
        100,
        Bounds {
            max_pods: 4,
            min_available: 3,
        },
    );
    assert_eq!(
        sizes(&out),
        vec![("web:v1".to_string(), 0), ("web:v2".to_string(), 4)]
    );
}

#[test]
fn recreate_removes_every_old_pod_before_creating_new_ones() {
    let mut world = World::new(Arc::new(spec(
        4,
        DeploymentStrategy::Recreate,
        2,
        8000,
        vec![set_image(120)],
    )));
    while !world.is_done() {
        let next = world.now() + SimDuration::from_millis(100);
        world.advance(next, u64::MAX);
        let store = &world.state().store;
        let v1 = store
            .pods
            .values()
            .filter(|p| p.template.containers[0].image == "web:v1")
            .count();
        let v2 = store
            .pods
            .values()
            .filter(|p| p.template.containers[0].image == "web:v2")
            .count();
        assert!(
            v1 == 0 || v2 == 0,
            "old and new pods together at {}",
            world.now()
        );
    }
    let out = world.finish();
    // The new ReplicaSet is created only after the last old pod is gone.
    let last_old_gone = out
        .recorder
        .events
        .iter()
        .filter(|e| e.reason == "Terminated")
        .map(|e| e.time)
        .max()
        .expect("old pods terminated");
    let new_created = out
        .recorder
        .events
        .iter()
        .find(|e| {
            e.reason == "ScalingReplicaSet"
                && e.time > SimTime(120_000_000_000)
                && e.message.contains("from 0 to 4")
        })
        .expect("new ReplicaSet created")
        .time;
    assert!(
        new_created > last_old_gone,
        "{new_created} <= {last_old_gone}"
    );
    assert_eq!(
        sizes(&out),
        vec![("web:v1".to_string(), 0), ("web:v2".to_string(), 4)]
    );
}

#[test]
fn a_rollout_that_cannot_progress_blocks_and_reports_the_deadline() {
    // Two nodes with room for exactly 4 pods of 1 CPU: with maxUnavailable 0 the surge pod can
    // never be scheduled, so the old pods stay and the rollout times out after 600 s.
    let out = run_bounded(
        spec(
            4,
            rolling(IntOrPercent::Int(1), IntOrPercent::Int(0)),
            2,
            2000,
            vec![set_image(120)],
        ),
        100,
        Bounds {
            max_pods: 5,
            min_available: 4,
        },
    );
    assert_eq!(
        sizes(&out),
        vec![("web:v1".to_string(), 4), ("web:v2".to_string(), 1)]
    );
    let e = out
        .recorder
        .events
        .iter()
        .find(|e| e.reason == "ProgressDeadlineExceeded")
        .expect("deadline reported");
    let t = e.time.as_secs_f64();
    assert!((720.0..722.0).contains(&t), "deadline at {t}");
}

#[test]
fn scaling_mid_rollout_scales_proportionally() {
    // 10 replicas, maxSurge 3, maxUnavailable 2; the update starts at 120 s and the Deployment
    // is scaled to 15 one second later, in the middle of the rollout; it ends at 15 new pods.
    let out = run_bounded(
        spec(
            10,
            rolling(IntOrPercent::Int(3), IntOrPercent::Int(2)),
            4,
            8000,
            vec![
                set_image(120),
                (
                    121,
                    TimelineAction::ScaleDeployment {
                        deployment: "web".into(),
                        replicas: 15,
                    },
                ),
            ],
        ),
        100,
        Bounds {
            max_pods: 18,
            min_available: 8,
        },
    );
    assert_eq!(
        sizes(&out),
        vec![("web:v1".to_string(), 0), ("web:v2".to_string(), 15)]
    );
}

fn rollout(at: u64, op: RolloutOp) -> (u64, TimelineAction) {
    (
        at,
        TimelineAction::Rollout {
            deployment: "web".into(),
            op,
        },
    )
}

#[test]
fn undo_restores_the_previous_template() {
    let out = run_bounded(
        spec(
            6,
            rolling(IntOrPercent::Percent(25), IntOrPercent::Percent(25)),
            2,
            8000,
            vec![
                set_image(120),
                rollout(400, RolloutOp::Undo { to_revision: None }),
            ],
        ),
        100,
        Bounds {
            max_pods: 8,
            min_available: 5,
        },
    );
    assert_eq!(
        sizes(&out),
        vec![("web:v1".to_string(), 6), ("web:v2".to_string(), 0)]
    );
    assert_eq!(
        out.store.deployments["default/web"].template.containers[0].image,
        "web:v1"
    );
    let ready_v1 = out
        .store
        .pods
        .values()
        .filter(|p| p.is_ready() && p.template.containers[0].image == "web:v1")
        .count();
    assert_eq!(ready_v1, 6);
}

#[test]
fn a_paused_deployment_does_not_roll_out_until_resumed() {
    let out = run_bounded(
        spec(
            4,
            rolling(IntOrPercent::Percent(25), IntOrPercent::Percent(25)),
            2,
            8000,
            vec![
                rollout(100, RolloutOp::Pause),
                set_image(120),
                rollout(500, RolloutOp::Resume),
            ],
        ),
        100,
        Bounds {
            max_pods: 5,
            min_available: 3,
        },
    );
    let created = out
        .recorder
        .events
        .iter()
        .find(|e| e.reason == "ScalingReplicaSet" && e.time > SimTime(100_000_000_000))
        .expect("the rollout happens")
        .time;
    assert!(
        created >= SimTime(500_000_000_000),
        "rolled out while paused at {created}"
    );
    assert_eq!(
        sizes(&out),
        vec![("web:v1".to_string(), 0), ("web:v2".to_string(), 4)]
    );
}
