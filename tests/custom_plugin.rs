//! The custom-plugin example (`examples/custom_plugin.rs`), run as a test: registering a Score
//! plugin by name and enabling it in a profile changes where the pods land.

#[path = "../examples/custom_plugin.rs"]
mod example;

#[test]
fn a_registered_plugin_changes_placement() {
    let without = example::placement(false);
    let with = example::placement(true);
    assert_eq!(without.values().sum::<usize>(), 6, "{without:?}");
    assert_eq!(with.values().sum::<usize>(), 6, "{with:?}");
    // Without the plugin the default profile spreads over both pools.
    assert!(
        without.get("ondemand").copied().unwrap_or(0) > 0,
        "{without:?}"
    );
    // With it every pod prefers the spot pool (weight 5 x 100 outweighs the defaults).
    assert_eq!(with.get("spot"), Some(&6), "{with:?}");
}

#[test]
fn an_unregistered_plugin_is_an_error_not_a_panic() {
    let loaded = kubesim::scenario::load_str("c.yaml", &example::scenario(true)).expect("valid");
    let err = kubesim::cluster::world::World::with_options(
        std::sync::Arc::new(loaded.spec),
        &kubesim::cluster::world::WorldOptions::default(),
    )
    .err()
    .expect("PreferSpot is not built in");
    assert!(err.contains("\"PreferSpot\" is not registered"), "{err}");
}
