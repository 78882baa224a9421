//! Ctrl-C (SIGINT) handling: the first one ends the measured run early, so the report of what
//! was measured so far is still printed; a second one exits at once.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// True once the user asked the run to end.
pub fn requested() -> bool {
    INTERRUPTED.load(Relaxed)
}

/// Marks the run as interrupted (also used by tests).
pub fn request() {
    INTERRUPTED.store(true, Relaxed);
}

/// Installs the handler on the current tokio runtime.
pub fn install() {
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        eprintln!("weir bench: interrupted; finishing the run (Ctrl-C again to exit now)");
        request();
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
}
