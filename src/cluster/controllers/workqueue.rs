//! A controller's work queue, client-go style: a key marked dirty is reconciled once, however
//! many times it was marked before its turn; keys are processed in the order first marked.

use std::collections::BTreeSet;

use crate::cluster::events::{ControllerTimer, Event};
use crate::engine::{Context, SimDuration};

/// Dirty keys waiting for a reconcile.
#[derive(Debug, Default)]
pub struct WorkQueue {
    dirty: BTreeSet<String>,
}

impl WorkQueue {
    /// Mark `key` dirty; schedules a reconcile now unless one is already pending.
    pub fn add(&mut self, key: &str, ctx: &mut Context<'_, Event>) {
        if self.dirty.insert(key.to_string()) {
            ctx.send_self(
                SimDuration::ZERO,
                Event::Controller(ControllerTimer::Reconcile(key.to_string())),
            );
        }
    }

    /// Mark `key` dirty after `delay` (upstream `AddAfter`).
    pub fn add_after(&mut self, key: &str, delay: SimDuration, ctx: &mut Context<'_, Event>) {
        ctx.send_self(
            delay,
            Event::Controller(ControllerTimer::Reconcile(key.to_string())),
        );
    }

    /// Take `key` off the dirty set as its reconcile starts; false if it was not dirty (a
    /// delayed re-add, which still reconciles).
    pub fn done(&mut self, key: &str) -> bool {
        self.dirty.remove(key)
    }
}
