//! Ctrl-C and SIGTERM for the commands that change things (`up`, `down`).
//!
//! The first signal triggers the engine's [`Interrupt`]: steps finish the calls in flight, save
//! their results and stop. A second one exits at once with code 130; the state file is always
//! consistent (every write is atomic), so the same command resumes.

use super::exit;
use crate::engine::Interrupt;

/// Wires Ctrl-C and SIGTERM to `interrupt` (must be called inside a tokio runtime).
pub fn install(interrupt: &Interrupt, command: &'static str) {
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
                eprintln!(
                    "plink: interrupted again; exiting now (state is consistent: run `plink \
                     {command}` again to resume)"
                );
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
