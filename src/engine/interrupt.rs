use std::sync::Arc;

use tokio::sync::watch;

/// A cooperative stop signal shared by every step of a run.
///
/// The first Ctrl-C (or SIGTERM) sets it: running steps finish the call in flight, record its
/// result, and stop at their next wait; no new step starts. A second Ctrl-C exits at once (the
/// state file is always consistent, since every write is atomic).
#[derive(Debug, Clone)]
pub struct Interrupt {
    tx: Arc<watch::Sender<bool>>,
    rx: watch::Receiver<bool>,
}

impl Default for Interrupt {
    fn default() -> Self {
        Self::new()
    }
}

impl Interrupt {
    pub fn new() -> Self {
        let (tx, rx) = watch::channel(false);
        Self {
            tx: Arc::new(tx),
            rx,
        }
    }

    /// Asks every step to stop at its next safe point.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once the interrupt is triggered.
    pub async fn triggered(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|set| *set).await;
    }

    /// Wires Ctrl-C and SIGTERM to this interrupt (must be called inside a tokio runtime).
    pub fn install_signal_handlers(&self) {
        let this = self.clone();
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
                if this.is_triggered() {
                    eprintln!(
                        "plink: interrupted again; exiting now (state is consistent: run the same command again to resume)"
                    );
                    std::process::exit(130);
                }
                eprintln!(
                    "plink: stopping after the calls in flight finish and state is saved (Ctrl-C again to quit now)"
                );
                this.trigger();
            }
        });
    }
}
