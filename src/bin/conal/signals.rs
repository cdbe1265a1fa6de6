//! Ctrl-C (SIGINT) and SIGTERM during training: the first asks the run to stop after the
//! current epoch, save its state and say how to resume (exit code 130 or 143); a second one
//! exits at once with that code. Installed only by the commands that train.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

struct Flags {
    stop: Arc<AtomicBool>,
    term: Arc<AtomicBool>,
}

static FLAGS: OnceLock<Flags> = OnceLock::new();

/// Installs the handlers (once).
pub fn install() -> std::io::Result<()> {
    if FLAGS.get().is_some() {
        return Ok(());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let term = Arc::new(AtomicBool::new(false));
    // Registered first, so that they see the flag as it was before this signal: a second
    // signal finds it set and exits at once.
    flag::register_conditional_shutdown(SIGINT, 130, Arc::clone(&stop))?;
    flag::register_conditional_shutdown(SIGTERM, 143, Arc::clone(&stop))?;
    flag::register(SIGTERM, Arc::clone(&term))?;
    flag::register(SIGINT, Arc::clone(&stop))?;
    flag::register(SIGTERM, Arc::clone(&stop))?;
    let _ = FLAGS.set(Flags { stop, term });
    Ok(())
}

/// Whether a stop was asked for.
pub fn stop_requested() -> bool {
    FLAGS.get().is_some_and(|f| f.stop.load(Ordering::Relaxed))
}

/// The exit code for the signal received: 143 for SIGTERM, else 130.
pub fn exit_code() -> u8 {
    match FLAGS.get() {
        Some(f) if f.term.load(Ordering::Relaxed) => 143,
        _ => 130,
    }
}
