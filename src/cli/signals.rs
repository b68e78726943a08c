//! Ctrl-C and SIGTERM for the commands that change things (`up`, `down`, `verify`).
//!
//! The first signal triggers the engine's [`Interrupt`]: steps finish the calls in flight, save
//! their results and stop. A second one exits at once with code 130, saying what that leaves:
//! for `up` and `down` nothing to fear (every state write is atomic, the same command resumes).

use super::exit;
use crate::engine::Interrupt;

/// Wires Ctrl-C and SIGTERM to `interrupt` (must be called inside a tokio runtime); `left` says
/// what exiting at once on a second signal leaves behind.
pub fn install(interrupt: &Interrupt, left: String) {
    let interrupt = interrupt.clone();
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        loop {
            let sigterm = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = sigterm => {}
            }
            if interrupt.is_triggered() {
                eprintln!("plink: interrupted again; exiting now ({left})");
                std::process::exit(i32::from(exit::INTERRUPTED));
            }
            eprintln!(
                "plink: stopping after the calls in flight finish and state is saved (Ctrl-C \
                 again to quit now)"
            );
            interrupt.trigger();
        }
    });
}

/// What a second signal leaves for a command whose state writes are atomic.
pub fn resumable(command: &str) -> String {
    format!("state is consistent: run `plink {command}` again to resume")
}
