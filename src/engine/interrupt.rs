use std::sync::Arc;

use tokio::sync::watch;

/// A cooperative stop signal shared by every step of a run.
///
/// Once triggered (by the caller, e.g. on a first Ctrl-C), running steps finish the call in
/// flight, record its result, and stop at their next wait; no new step starts. What a second
/// Ctrl-C does is the caller's business (the state file is always consistent, since every write
/// is atomic, so exiting at once is safe).
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
}
