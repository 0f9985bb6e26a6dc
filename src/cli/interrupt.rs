//! Ctrl-C (SIGINT, and SIGTERM / SIGHUP) for `kubesim run` and `kubesim sweep`: the first signal
//! asks the run to stop at its next event boundary, write what it produced and mark it partial
//! (`summary.json`: `"partial": true`, reason `interrupted ...`); a second one exits at once
//! (every output is written to a temporary name and renamed, so no half file is left that looks
//! whole).
//!
//! The handler only sets a flag; the run loop in [`crate::experiment::run`] reads it between
//! batches of events. The model never sees a signal.

use std::sync::atomic::{AtomicBool, Ordering};

/// Exit code of a run or sweep stopped by a signal (128 + SIGINT, the shell convention).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Set by the first signal.
static STOP: AtomicBool = AtomicBool::new(false);

/// Install the handler (once per process) and return the flag it sets. If the handler cannot
/// be installed (another one is already there), the flag is still returned and never set, and
/// a signal keeps its default action.
pub fn stop_flag() -> &'static AtomicBool {
    // The `ctrlc` crate runs the closure on its own thread, not in the signal handler, so it
    // may print and exit.
    let installed = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            eprintln!("\ninterrupted again: exiting without writing outputs");
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        eprintln!(
            "\ninterrupted: stopping at the next event, writing partial outputs (Ctrl-C again to exit at once)"
        );
    });
    if let Err(e) = installed {
        eprintln!("warning: cannot handle Ctrl-C: {e}");
    }
    &STOP
}
