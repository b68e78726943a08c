use std::time::Duration;

use super::RetryPolicy;

/// One observation made while waiting.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll<T> {
    /// The target state is reached.
    Ready(T),
    /// Not yet; the text says what was seen (e.g. `state=provisioning`). Unknown future state
    /// values belong here too: they are never taken for success.
    Pending(String),
}

/// How to poll one condition: capped exponential backoff with jitter, bounded by `timeout`.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitPolicy {
    pub initial: Duration,
    pub max_interval: Duration,
    pub timeout: Duration,
}

impl WaitPolicy {
    /// A wait that gives up after `timeout`, polling from `initial` up to `max_interval`.
    pub fn new(initial: Duration, max_interval: Duration, timeout: Duration) -> Self {
        Self {
            initial,
            max_interval,
            timeout,
        }
    }

    /// Divides every interval by `factor` (tests and the local stack run on scaled time).
    pub fn scaled_down(mut self, factor: u32) -> Self {
        let f = factor.max(1);
        self.initial /= f;
        self.max_interval /= f;
        self
    }

    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            initial: self.initial,
            max_interval: self.max_interval,
            multiplier: 1.5,
            jitter: 0.3,
            max_elapsed: None,
        }
    }
}
