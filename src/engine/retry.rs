use std::time::Duration;

use backoff::ExponentialBackoff;
use backoff::backoff::Backoff;

/// Capped exponential backoff with jitter, built on the `backoff` crate, for step retries (waits
/// have their own schedule: [`super::WaitPolicy`]).
///
/// Each interval is `initial × multiplier^n`, capped at `max_interval`, then randomized by
/// ±`jitter` so that many clients do not retry in lockstep (field notes §C.7), bounded by
/// `max_elapsed`.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub initial: Duration,
    pub max_interval: Duration,
    pub multiplier: f64,
    /// Randomization factor in `0.0..=1.0`.
    pub jitter: f64,
    /// Give up after this long; `None` means the caller bounds it.
    pub max_elapsed: Option<Duration>,
}

impl RetryPolicy {
    /// Step retries on transient errors: 1 s, doubling, capped at 30 s, for up to 10 minutes.
    pub fn step_default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max_interval: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.5,
            max_elapsed: Some(Duration::from_secs(600)),
        }
    }

    /// A fast policy for tests: milliseconds instead of seconds.
    pub fn fast() -> Self {
        Self {
            initial: Duration::from_millis(1),
            max_interval: Duration::from_millis(10),
            multiplier: 2.0,
            jitter: 0.5,
            max_elapsed: Some(Duration::from_secs(5)),
        }
    }

    /// A fresh backoff iterator for one retry or wait sequence.
    pub fn backoff(&self) -> impl Backoff + Send + use<> {
        let mut b = ExponentialBackoff {
            current_interval: self.initial,
            initial_interval: self.initial,
            randomization_factor: self.jitter,
            multiplier: self.multiplier,
            max_interval: self.max_interval,
            max_elapsed_time: self.max_elapsed,
            ..ExponentialBackoff::default()
        };
        b.reset();
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_grow_are_capped_and_jittered() {
        let policy = RetryPolicy {
            initial: Duration::from_millis(100),
            max_interval: Duration::from_millis(800),
            multiplier: 2.0,
            jitter: 0.5,
            max_elapsed: None,
        };
        let mut b = policy.backoff();
        let delays: Vec<Duration> = (0..12).map(|_| b.next_backoff().unwrap()).collect();
        assert!(delays[0] >= Duration::from_millis(50) && delays[0] <= Duration::from_millis(150));
        assert!(
            delays.iter().all(|d| *d <= Duration::from_millis(1200)),
            "{delays:?}"
        );
        assert!(
            delays[11] >= Duration::from_millis(400),
            "capped, not collapsed: {delays:?}"
        );
        // Jitter: a long run of intervals is not all the same value.
        let tail: std::collections::BTreeSet<_> = delays[6..].iter().collect();
        assert!(tail.len() > 1, "jitter expected: {delays:?}");
    }
}
