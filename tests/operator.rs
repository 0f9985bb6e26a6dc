//! The operator example (`examples/operator.rs`), run as a test: a custom controller added to
//! a run through the public API reconciles its `DatabaseCluster`: instances created and
//! replaced after a node loss, a failover, backups taken and pruned.

#[path = "../examples/operator.rs"]
#[allow(dead_code)]
mod example;

#[test]
fn the_operator_reconciles_instances_failover_and_backups() {
    let out = example::run(example::orders());
    let reasons: Vec<(&str, f64)> = out
        .recorder
        .events
        .iter()
        .filter(|e| e.kind == "DatabaseCluster")
        .map(|e| (e.reason, e.time.as_secs_f64()))
        .collect();
    let count = |r: &str| reasons.iter().filter(|(x, _)| *x == r).count();
    // Three instances at first, one more after db-0's instance was evicted (at ~180 + 50 +
    // 30 s), and three active, Ready instances at the end, one per node.
    assert_eq!(count("CreatedInstance"), 4, "{reasons:?}");
    let replaced = reasons
        .iter()
        .filter(|(r, _)| *r == "CreatedInstance")
        .map(|(_, t)| *t)
        .fold(0.0, f64::max);
    assert!((250.0..300.0).contains(&replaced), "{replaced}");
    let instances: Vec<_> = out
        .store
        .pods
        .values()
        .filter(|p| p.name.starts_with("orders-") && !p.name.contains("backup"))
        .filter(|p| p.is_active() && p.is_ready())
        .collect();
    assert_eq!(instances.len(), 3);
    let mut nodes: Vec<_> = instances.iter().filter_map(|p| p.node.clone()).collect();
    nodes.sort();
    nodes.dedup();
    assert_eq!(nodes.len(), 3, "one instance per node: {nodes:?}");
    assert!(!nodes.contains(&"db-0".to_string()));
    // The primary ran on the crashed node in this seed: one failover, after the crash.
    assert_eq!(count("PrimaryElected"), 1);
    assert_eq!(count("Failover"), 1);
    // A backup every 3 minutes (at 180, 360, 540, 720 s), each completing after 40 s plus
    // start-up; only the newest 2 completed ones are kept.
    assert_eq!(count("BackupStarted"), 4);
    assert_eq!(count("BackupCompleted"), 3);
    assert_eq!(count("BackupPruned"), 1);
    let kept = out
        .store
        .pods
        .values()
        .filter(|p| p.name.contains("backup") && !p.is_terminating())
        .count();
    // The two newest completed backups; the 4th backup's creation, written at the last
    // instant, has not committed yet.
    assert_eq!(kept, 2);
}

#[test]
fn without_the_operator_nothing_is_created() {
    let loaded = kubesim::scenario::load_str("operator.yaml", example::SCENARIO).expect("valid");
    let mut w = kubesim::cluster::world::World::new(std::sync::Arc::new(loaded.spec));
    let end = w.end();
    w.advance(end, u64::MAX);
    assert!(w.finish().store.pods.is_empty());
}
