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
pub struct EventSink(Option<UnboundedSender<Event>>);

impl EventSink {
    /// Events are sent to `tx`.
    pub fn new(tx: UnboundedSender<Event>) -> Self {
        Self(Some(tx))
    }

    /// Events are dropped.
    pub fn none() -> Self {
        Self(None)
    }

    /// Sends one event (never blocks; a closed renderer is ignored).
    pub fn emit(&self, step: &str, kind: EventKind) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(Event {
                step: step.to_owned(),
                at: Instant::now(),
                kind,
            });
        }
    }
}
