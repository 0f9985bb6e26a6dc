//! Argo Rollouts (`argoproj.io/v1alpha1`): the `Rollout` workload with its canary and
//! blue-green strategies, `AnalysisTemplate` metrics read from the traffic model, and the
//! records of each update (duration, fewest available pods, surge, blast radius).

pub mod analysis;
pub mod canary;
pub mod controller;
pub mod record;
pub mod spec;
