use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

/// Something a step did, for the progress view and the logs.
#[derive(Debug, Clone)]
pub struct Event {
    pub step: String,
    pub at: Instant,
    pub kind: EventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    Started {
        description: String,
    },
    /// Waiting for `what`; `last_seen` is the latest observed state.
    Waiting {
        what: String,
        last_seen: String,
    },
    Note(String),
    Retrying {
        attempt: u32,
        delay: Duration,
        error: String,
    },
    Finished,
    Failed {
        error: String,
    },
    Blocked {
        by: String,
    },
    Interrupted,
}

/// Where events go: a channel to the renderer, or nowhere.
#[derive(Debug, Clone, Default)]
pub struct EventSink {
    tx: Option<UnboundedSender<Event>>,
    /// Put before every step name (`<deployment>/`), when one renderer shows several runs.
    prefix: String,
}

impl EventSink {
    /// Events are sent to `tx`.
    pub fn new(tx: UnboundedSender<Event>) -> Self {
        Self {
            tx: Some(tx),
            prefix: String::new(),
        }
    }

    /// Events are dropped.
    pub fn none() -> Self {
        Self::default()
    }

    /// The same sink, naming steps `<deployment>/<step>` (several deployments in one run).
    pub fn for_deployment(&self, deployment: &str) -> Self {
        Self {
            tx: self.tx.clone(),
            prefix: format!("{deployment}/"),
        }
    }

    /// Sends one event (never blocks; a closed renderer is ignored).
    pub fn emit(&self, step: &str, kind: EventKind) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Event {
                step: format!("{}{step}", self.prefix),
                at: Instant::now(),
                kind,
            });
        }
    }
}
