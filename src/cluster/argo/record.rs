//! What the run records about each update of a workload's pod template (a Rollout's canary or
//! blue-green update, and a Deployment's rollout): how long it took, how it ended, the fewest
//! available pods and the extra pods it used on the way, and what the new version served.

use crate::cluster::traffic::stats::VersionStats;
use crate::engine::SimTime;

/// (served, 5xx) totals of the pods of `image` of `workload`.
pub fn version_totals(versions: &[VersionStats], workload: &str, image: &str) -> (u64, u64) {
    versions
        .iter()
        .filter(|v| v.workload == workload && v.image == image)
        .fold((0, 0), |(s, e), v| (s + v.served, e + v.errors))
}

/// One update (new pod template) of a workload, from the new ReplicaSet's creation to its end.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateRecord {
    /// `Rollout` or `Deployment`.
    pub kind: &'static str,
    /// `namespace/name`.
    pub object: String,
    /// `canary`, `blueGreen`, `RollingUpdate` or `Recreate`.
    pub strategy: &'static str,
    /// First container's image before the update.
    pub from_image: String,
    /// First container's image of the new template.
    pub to_image: String,
    /// `spec.replicas` when it started.
    pub replicas: i32,
    /// When the new ReplicaSet was created.
    pub started: SimTime,
    /// When it ended (completed, aborted and scaled down, or superseded); `None` = running.
    pub finished: Option<SimTime>,
    /// `InProgress`, `Completed`, `Aborted`, `Superseded` (another template came first) or
    /// `RolledBack` (the template went back to the stable one).
    pub outcome: &'static str,
    /// When it was aborted, if it was.
    pub aborted_at: Option<SimTime>,
    /// Fewest available pods (all ReplicaSets) seen during the update.
    pub min_available: i32,
    /// Most pods (all ReplicaSets, active) seen during the update.
    pub peak_pods: i32,
    /// Pod-seconds above `replicas` during the update: the capacity the surge used.
    pub extra_pod_seconds: f64,
    /// Answers served by the new version's pods since the update started, until it was aborted
    /// or the next update of the workload started (or the run ended).
    pub new_version_served: u64,
    /// 5xx answers served by the new version's pods over the same span: the blast radius of a
    /// bad version.
    pub new_version_errors: u64,
    /// Workload name (for the per-version counters).
    pub workload: String,
    /// The new version's (served, 5xx) totals when the update started.
    pub baseline: (u64, u64),
    /// True while the new version's answers still count (until an abort, or the next update).
    pub counting: bool,
    /// Time of the last observation.
    pub last_observed: SimTime,
    /// Active pods at the last observation.
    pub last_pods: i32,
}

impl UpdateRecord {
    /// A new record for an update starting at `now` with `pods` active and `available`
    /// available pods.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        kind: &'static str,
        object: String,
        strategy: &'static str,
        from_image: String,
        to_image: String,
        replicas: i32,
        now: SimTime,
        pods: i32,
        available: i32,
    ) -> Self {
        UpdateRecord {
            kind,
            object,
            strategy,
            from_image,
            to_image,
            replicas,
            started: now,
            finished: None,
            outcome: "InProgress",
            aborted_at: None,
            min_available: available,
            peak_pods: pods,
            extra_pod_seconds: 0.0,
            new_version_served: 0,
            new_version_errors: 0,
            workload: String::new(),
            baseline: (0, 0),
            counting: true,
            last_observed: now,
            last_pods: pods,
        }
    }

    /// Account the time since the last observation at the pod count then, and take a new
    /// observation: `pods` active, `available` available at `now`.
    pub fn observe(&mut self, now: SimTime, pods: i32, available: i32) {
        if self.finished.is_some() {
            return;
        }
        let dt = now.saturating_since(self.last_observed).as_secs_f64();
        self.extra_pod_seconds += f64::from((self.last_pods - self.replicas).max(0)) * dt;
        self.last_observed = now;
        self.last_pods = pods;
        self.min_available = self.min_available.min(available);
        self.peak_pods = self.peak_pods.max(pods);
    }

    /// Set the workload and take the baseline of the new version's counters from `versions`.
    pub fn count_from(&mut self, workload: &str, versions: &[VersionStats]) {
        self.workload = workload.to_string();
        self.baseline = version_totals(versions, workload, &self.to_image);
    }

    /// Bring the new version's counts up to date (while counting).
    pub fn refresh(&mut self, versions: &[VersionStats]) {
        if !self.counting {
            return;
        }
        let (s, e) = version_totals(versions, &self.workload, &self.to_image);
        self.new_version_served = s.saturating_sub(self.baseline.0);
        self.new_version_errors = e.saturating_sub(self.baseline.1);
    }

    /// Bring the counts up to date and stop counting (abort, or the next update started).
    pub fn stop_counting(&mut self, versions: &[VersionStats]) {
        self.refresh(versions);
        self.counting = false;
    }

    /// Close the record at `now` with `outcome`.
    pub fn finish(&mut self, now: SimTime, outcome: &'static str) {
        if self.finished.is_some() {
            return;
        }
        let pods = self.last_pods;
        let available = self.min_available;
        self.observe(now, pods, available);
        self.finished = Some(now);
        self.outcome = outcome;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surge_pod_seconds_and_min_available() {
        let t = |s: u64| SimTime(s * 1_000_000_000);
        let mut r = UpdateRecord::start(
            "Rollout",
            "default/a".into(),
            "canary",
            "a:v1".into(),
            "a:v2".into(),
            4,
            t(0),
            4,
            4,
        );
        r.observe(t(10), 5, 4); // 4 pods for 10 s: no surge
        r.observe(t(20), 6, 3); // 5 pods for 10 s: 10 pod-seconds
        r.observe(t(25), 4, 4); // 6 pods for 5 s: 10 more
        r.finish(t(30), "Completed");
        assert_eq!(r.extra_pod_seconds, 20.0);
        assert_eq!(r.min_available, 3);
        assert_eq!(r.peak_pods, 6);
        assert_eq!(r.finished, Some(t(30)));
        r.observe(t(40), 10, 0);
        assert_eq!(r.peak_pods, 6, "a finished record does not change");
    }
}
