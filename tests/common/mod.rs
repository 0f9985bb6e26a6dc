//! Helpers shared by the integration tests that build a scenario from YAML text.

use std::sync::Arc;

use kubesim::cluster::world::{RunOutput, World};
use kubesim::scenario::load_str;

/// Load `yaml` (panicking with the loader's located error if it is refused) and run it to its
/// end.
pub fn run(yaml: &str) -> RunOutput {
    let loaded = load_str("t.yaml", yaml).unwrap_or_else(|e| panic!("{e}"));
    let mut w = World::new(Arc::new(loaded.spec));
    let end = w.end();
    w.advance(end, u64::MAX);
    w.finish()
}
