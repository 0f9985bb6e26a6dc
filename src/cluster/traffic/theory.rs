//! Queueing theory to validate the traffic model against, and the M/M/c scenario built in code
//! that the validation tests and the `mmc` bench run through the real traffic code.

use std::collections::BTreeMap;

use crate::cluster::spec::{
    ArrivalProcess, BehaviorSpec, ClusterSpec, ContainerSpec, ControlPlaneSpec, DeploymentSpec,
    DeploymentStrategy, Distribution, IntOrPercent, LabelSelector, Labels, LoadBalancer,
    NodePoolSpec, PodTemplateSpec, Resources, ServiceSpec, ServingSpec, TrafficSpec, expand_pool,
};
use crate::engine::SimDuration;

/// Erlang C: the probability that an arrival waits in an M/M/c queue with offered load
/// `a = lambda / mu` (requires `a < c`).
pub fn erlang_c_wait_probability(c: u32, a: f64) -> f64 {
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / f64::from(k + 1);
    }
    // term = a^c / c!
    let top = term * f64::from(c) / (f64::from(c) - a);
    top / (sum + top)
}

/// Mean wait in queue `Wq` of an M/M/c queue, seconds: `C(c, a) / (c mu - lambda)`.
pub fn erlang_c_mean_wait(c: u32, lambda: f64, mu: f64) -> f64 {
    erlang_c_wait_probability(c, lambda / mu) / (f64::from(c) * mu - lambda)
}

/// A scenario, built in code, that is an M/M/c queue: one Service over one pod with `c`
/// workers and an unbounded FIFO queue, exponential service times of mean `1 / mu`, and Poisson
/// arrivals at `lambda` per second, for `duration`. The pod becomes Ready a few seconds into
/// the run; requests before that fail with `no_endpoints` and are not part of the queue.
pub fn mmc_spec(c: u32, lambda: f64, mu: f64, duration: SimDuration, seed: u64) -> ClusterSpec {
    let labels: Labels = BTreeMap::from([("app".to_string(), "mmc".to_string())]);
    let pool = NodePoolSpec {
        name: "pool".into(),
        count: 1,
        zones: vec![],
        capacity: Resources {
            cpu_milli: 8000,
            memory_bytes: 32 << 30,
            pods: 110,
        },
        labels: Labels::new(),
        taints: vec![],
        provisioning_delay: SimDuration::ZERO,
        price_per_hour: 0.0,
    };
    let mut behavior = BehaviorSpec::default_for("mmc");
    behavior.serving = ServingSpec {
        service_time: Distribution::Exponential {
            mean: SimDuration::from_secs_f64(1.0 / mu),
        },
        concurrency: c,
        queue_limit: None,
        cpu_per_request: SimDuration::ZERO,
        error_rate: 0.0,
        sidecar: None,
    };
    ClusterSpec {
        name: format!("mm{c}"),
        seed,
        duration,
        sample_every: duration,
        control_plane: ControlPlaneSpec::default(),
        nodes: expand_pool(&pool, 0, 1),
        node_pools: vec![pool],
        deployments: vec![DeploymentSpec {
            name: "mmc".into(),
            namespace: "default".into(),
            replicas: 1,
            selector: LabelSelector {
                match_labels: labels.clone(),
                match_expressions: vec![],
            },
            template: PodTemplateSpec {
                labels: labels.clone(),
                containers: vec![ContainerSpec {
                    name: "server".into(),
                    image: "server:v1".into(),
                    requests: Resources {
                        cpu_milli: 100,
                        memory_bytes: 64 << 20,
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
        behaviors: BTreeMap::from([("mmc".to_string(), behavior)]),
        timeline: vec![],
        expectations: vec![],
        ignored_fields: vec![],
        services: vec![ServiceSpec {
            name: "mmc".into(),
            namespace: "default".into(),
            selector: labels,
            ports: vec![],
        }],
        traffic: vec![TrafficSpec {
            name: "clients".into(),
            service: 0,
            rate: lambda,
            arrival: ArrivalProcess::Poisson,
            diurnal: None,
            steps: vec![],
            timeout: None,
            retries: 0,
            retry_backoff: SimDuration::from_millis(25),
            load_balancer: LoadBalancer::Random,
            network_latency: SimDuration::ZERO,
            circuit_breaker: None,
            mode: Default::default(),
        }],
        destination_rules: vec![],
        priority_classes: vec![],
        scheduler: crate::cluster::spec::SchedulerConfigSpec::default(),
        pod_disruption_budgets: vec![],
        jobs: vec![],
        argo: Default::default(),
        trace: None,
        autoscaling: Default::default(),
        stateful: Default::default(),
        request_graphs: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_reference_values() {
        // (c, lambda, mu, Wq): M/M/1 Wq = rho / (mu - lambda); M/M/4 at rho 0.9 = 1.9694 s.
        for (c, lambda, mu, wq) in [
            (1, 0.5, 1.0, 1.0),
            (1, 0.9, 1.0, 9.0),
            (4, 3.6, 1.0, 1.9694),
            (2, 1.0, 1.0, 0.3333),
        ] {
            let got = erlang_c_mean_wait(c, lambda, mu);
            assert!((got - wq).abs() < 1e-4, "c={c} lambda={lambda}: {got}");
        }
    }
}
