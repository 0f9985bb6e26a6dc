//! Test helpers for the scheduler's unit tests.

use std::sync::Arc;

use crate::cluster::objects::{Pod, PodId, PodPhase};
use crate::cluster::spec::{PodTemplateSpec, Resources};
use crate::engine::SimTime;

/// A bare pending pod in `default`.
pub fn pod() -> Pod {
    Pod {
        id: PodId(0),
        name: "p".into(),
        namespace: "default".into(),
        labels: Default::default(),
        owner: None,
        workload: "w".into(),
        template: Arc::new(PodTemplateSpec::default()),
        requests: Resources::default(),
        non_zero_requests: Resources::default(),
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
