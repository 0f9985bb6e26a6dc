//! Random small scenarios never breach the model's invariants (the same checks `--check` runs),
//! and always converge: every Deployment ends with its replicas when the nodes can hold them.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;

use kubesim::cluster::invariants;
use kubesim::cluster::spec::*;
use kubesim::cluster::world::World;
use kubesim::engine::{SimDuration, SimTime};

fn template(app: &str, cpu: i64) -> PodTemplateSpec {
    PodTemplateSpec {
        labels: BTreeMap::from([("app".to_string(), app.to_string())]),
        containers: vec![ContainerSpec {
            name: app.into(),
            image: format!("{app}:v1"),
            requests: Resources {
                cpu_milli: cpu,
                memory_bytes: 256 << 20,
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

fn action(kind: u8, d: usize, n: u32, deployments: usize, nodes: u32) -> TimelineAction {
    let deployment = format!("app{}", d % deployments);
    let node = format!("pool-{}", n % nodes);
    match kind % 7 {
        0 => TimelineAction::ScaleDeployment {
            deployment,
            replicas: (n % 15) as i32,
        },
        1 => TimelineAction::SetImage {
            deployment,
            container: None,
            image: format!("img:v{n}"),
        },
        2 => TimelineAction::AddNodes {
            pool: "pool".into(),
            count: 1 + n % 2,
        },
        3 => TimelineAction::RemoveNode { node },
        4 => TimelineAction::Cordon {
            node,
            unschedulable: n.is_multiple_of(2),
        },
        5 => TimelineAction::Rollout {
            deployment,
            op: RolloutOp::Undo { to_revision: None },
        },
        _ => TimelineAction::Rollout {
            deployment,
            op: if n.is_multiple_of(2) {
                RolloutOp::Pause
            } else {
                RolloutOp::Resume
            },
        },
    }
}

#[allow(clippy::type_complexity)]
fn scenario(
    seed: u64,
    nodes: u32,
    node_cpu: i64,
    deployments: Vec<(i32, i64, bool)>,
    actions: Vec<(u64, u8, usize, u32)>,
) -> ClusterSpec {
    let pool = NodePoolSpec {
        name: "pool".into(),
        count: nodes,
        zones: vec!["a".into(), "b".into()],
        capacity: Resources {
            cpu_milli: node_cpu,
            memory_bytes: 16 << 30,
            pods: 30,
        },
        labels: Labels::new(),
        taints: vec![],
        provisioning_delay: SimDuration::from_secs(30),
        price_per_hour: 0.1,
    };
    let count = deployments.len();
    let mut timeline: Vec<TimelineEntry> = actions
        .into_iter()
        .map(|(at, kind, d, n)| TimelineEntry {
            at: SimTime(at * 1_000_000_000),
            action: action(kind, d, n, count, nodes),
            source: "prop".into(),
        })
        .collect();
    timeline.sort_by_key(|e| e.at);
    ClusterSpec {
        name: "prop".into(),
        seed,
        duration: SimDuration::from_secs(900),
        sample_every: SimDuration::from_secs(30),
        control_plane: ControlPlaneSpec::default(),
        nodes: expand_pool(&pool, 0, nodes),
        node_pools: vec![pool],
        deployments: deployments
            .into_iter()
            .enumerate()
            .map(|(i, (replicas, cpu, recreate))| {
                let app = format!("app{i}");
                DeploymentSpec {
                    name: app.clone(),
                    namespace: "default".into(),
                    replicas,
                    selector: LabelSelector {
                        match_labels: BTreeMap::from([("app".to_string(), app.clone())]),
                        match_expressions: vec![],
                    },
                    template: template(&app, cpu),
                    strategy: if recreate {
                        DeploymentStrategy::Recreate
                    } else {
                        DeploymentStrategy::RollingUpdate {
                            max_surge: IntOrPercent::Percent(25),
                            max_unavailable: IntOrPercent::Percent(25),
                        }
                    },
                    min_ready_seconds: 0,
                    revision_history_limit: 2,
                    progress_deadline_seconds: 600,
                    paused: false,
                }
            })
            .collect(),
        replica_sets: vec![],
        behaviors: BTreeMap::new(),
        timeline,
        expectations: vec![],
        ignored_fields: vec![],
        priority_classes: vec![],
        pod_disruption_budgets: vec![],
        jobs: vec![],
        argo: Default::default(),
        trace: None,
        autoscaling: Default::default(),
        stateful: Default::default(),
        services: vec![],
        traffic: vec![],
        destination_rules: vec![],
        scheduler: SchedulerConfigSpec::default(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn random_scenarios_never_breach_an_invariant(
        seed in 0u64..1000,
        nodes in 1u32..5,
        node_cpu in 1000i64..8000,
        deployments in prop::collection::vec((0i32..12, 100i64..2500, any::<bool>()), 1..4),
        actions in prop::collection::vec((0u64..600, any::<u8>(), 0usize..4, 0u32..40), 0..8),
    ) {
        let mut world = World::new(Arc::new(scenario(seed, nodes, node_cpu, deployments, actions)));
        let mut last = SimTime::ZERO;
        while !world.is_done() {
            let next = world.now() + SimDuration::from_secs(1);
            world.advance(next, u64::MAX);
            prop_assert!(world.now() >= last, "time went back");
            last = world.now();
            if let Err(v) = invariants::check(world.state(), world.now()) {
                prop_assert!(false, "invariant violated at {}: {}", v.at, v.message);
            }
        }
    }
}
