//! When a request is sent again, and how long to wait first (API reference §7.3–7.5).
//!
//! # Rules
//! - **Idempotent requests** (GET, DELETE, PATCH, PUT, and the token request) are retried on 429,
//!   502, 503, 504, on the error codes `REQUEST_LIMIT_EXCEEDED`, `RESOURCE_EXHAUSTED`,
//!   `TEMPORARILY_UNAVAILABLE` whatever the status, and on transport errors (refused, reset,
//!   timeout).
//! - **Creates** (POST) are never retried blindly, because the Databricks create APIs take no
//!   idempotency token and a create that timed out has often been committed (terraform-provider-
//!   databricks #4138, #5292). A create is retried only with proof that the server did not
//!   process it:
//!   - the connection could not be established (nothing was sent), or
//!   - the answer is 429 or 503 **and** its body is a Databricks error (JSON or `CODE: message`)
//!     whose `error_code` is `REQUEST_LIMIT_EXCEEDED`, `RESOURCE_EXHAUSTED` or
//!     `TEMPORARILY_UNAVAILABLE`: the API's own throttling or admission control refused it. A bare
//!     429/503 (empty, HTML) may come from a proxy after the request was forwarded: a bare 503
//!     is ambiguous, a bare 429 is returned as is (not retried, not ambiguous).
//!
//!   Any other transport error, timeout or 5xx fails with [`ErrorKind::Ambiguous`]: the caller
//!   must look the resource up by its natural key before creating it again.
//! - A 401 is not handled here: the client drops its cached token and replays the request once
//!   (a 401 is issued before the request is processed, so this is safe even for creates).
//! - Waits: capped exponential backoff with jitter from the `backoff` crate (default 1 s, ×2,
//!   ±50 %, at most 30 s), and never shorter than the server's `Retry-After`
//!   (`max(backoff, Retry-After)`). The whole call, waits included, stays within a budget
//!   (default 5 min, `retry_timeout_seconds`); when the next wait would exceed it the last error
//!   is returned.
//!
//! [`ErrorKind::Ambiguous`]: super::error::ErrorKind::Ambiguous

use std::time::Duration;

use backoff::ExponentialBackoff;
use backoff::backoff::Backoff;

/// Error codes that mean "throttled or temporarily refused, nothing was done".
const RETRYABLE_CODES: [&str; 3] = [
    "REQUEST_LIMIT_EXCEEDED",
    "RESOURCE_EXHAUSTED",
    "TEMPORARILY_UNAVAILABLE",
];

/// Backoff and budget of the automatic retries of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// First wait (before jitter). Default 1 s.
    pub initial_interval: Duration,
    /// Longest wait from the backoff (a longer `Retry-After` is still honoured). Default 30 s.
    pub max_interval: Duration,
    /// Growth factor of the wait. Default 2.
    pub multiplier: f64,
    /// Jitter: each wait is drawn from `[w·(1−f), w·(1+f)]`. Default 0.5.
    pub randomization_factor: f64,
    /// Overall time of one call, attempts and waits included, after which no retry is started.
    /// Default 5 min.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(30),
            multiplier: 2.0,
            randomization_factor: 0.5,
            budget: super::config::DEFAULT_RETRY_TIMEOUT,
        }
    }
}

impl RetryPolicy {
    /// No automatic retries at all.
    pub fn none() -> Self {
        Self {
            budget: Duration::ZERO,
            ..Self::default()
        }
    }

    /// The same policy with another budget.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// A fresh backoff sequence. The budget is enforced by the caller (so that `Retry-After` waits
    /// count against it), hence no `max_elapsed_time` here.
    pub(crate) fn backoff(&self) -> ExponentialBackoff {
        backoff::ExponentialBackoffBuilder::new()
            .with_initial_interval(self.initial_interval)
            .with_max_interval(self.max_interval)
            .with_multiplier(self.multiplier)
            .with_randomization_factor(self.randomization_factor)
            .with_max_elapsed_time(None)
            .build()
    }

    /// The next wait, or `None` when it would exceed the budget.
    pub(crate) fn next_wait(
        &self,
        backoff: &mut ExponentialBackoff,
        retry_after: Option<Duration>,
        elapsed: Duration,
    ) -> Option<Duration> {
        let step = backoff.next_backoff()?.min(self.max_interval);
        let wait = retry_after.map_or(step, |ra| ra.max(step));
        (elapsed + wait <= self.budget).then_some(wait)
    }
}

/// Whether a request may be replayed after a failure whose outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// GET, DELETE, PATCH, PUT, token requests.
    Idempotent,
    /// POST creates.
    Create,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Wait and send again.
    Retry,
    /// Return the error.
    Fail,
    /// Return the error as [`super::error::ErrorKind::Ambiguous`].
    FailAmbiguous,
}

/// Verdict for an error answer; `error_code` is the code parsed from a Databricks error body.
pub(crate) fn verdict_for_answer(replay: Replay, status: u16, error_code: Option<&str>) -> Verdict {
    let throttling_code = error_code.is_some_and(|c| RETRYABLE_CODES.contains(&c));
    match replay {
        Replay::Idempotent if matches!(status, 429 | 502 | 503 | 504) || throttling_code => {
            Verdict::Retry
        }
        Replay::Idempotent => Verdict::Fail,
        Replay::Create if matches!(status, 429 | 503) && throttling_code => Verdict::Retry,
        Replay::Create if status >= 500 => Verdict::FailAmbiguous,
        Replay::Create => Verdict::Fail,
    }
}

/// Verdict for a transport error (no complete answer).
pub(crate) fn verdict_for_transport(replay: Replay, err: &reqwest::Error) -> Verdict {
    if err.is_builder() || is_tls_failure(err) {
        return Verdict::Fail;
    }
    match replay {
        Replay::Idempotent => Verdict::Retry,
        // The connection was never established: nothing was sent.
        Replay::Create if err.is_connect() => Verdict::Retry,
        Replay::Create => Verdict::FailAmbiguous,
    }
}

/// Whether a connection failed in its TLS handshake: the server's certificate is not trusted (or
/// not for this host), or the peer does not speak TLS. Retrying cannot fix that, so the error is
/// returned at once instead of after the whole retry budget. The TLS stack reports these as an
/// `io::Error` of kind `InvalidData` under the connect error (tokio-rustls; hyper-util wraps it in
/// another `io::Error`); a refused or reset connection has another kind and is still retried.
fn is_tls_failure(err: &reqwest::Error) -> bool {
    if !err.is_connect() {
        return false;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        source = match e.downcast_ref::<std::io::Error>() {
            Some(io) if io.kind() == std::io::ErrorKind::InvalidData => return true,
            // `io::Error::source` skips the error it wraps; look at that error itself.
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    false
}

/// `Retry-After` in whole seconds (the HTTP-date form is not used by Databricks and is ignored).
pub(crate) fn parse_retry_after(value: Option<&reqwest::header::HeaderValue>) -> Option<Duration> {
    let secs: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_need_proof_and_idempotent_requests_retry() {
        use Verdict::*;
        let (c, i) = (Replay::Create, Replay::Idempotent);
        let cases = [
            (c, 429, Some("REQUEST_LIMIT_EXCEEDED"), Retry),
            (c, 503, Some("TEMPORARILY_UNAVAILABLE"), Retry),
            (c, 503, None, FailAmbiguous),
            (c, 504, Some("TEMPORARILY_UNAVAILABLE"), FailAmbiguous),
            (c, 429, None, Fail),
            (c, 500, None, FailAmbiguous),
            (c, 400, None, Fail),
            (i, 429, None, Retry),
            (i, 502, None, Retry),
            (i, 503, None, Retry),
            (i, 504, None, Retry),
            (i, 500, None, Fail),
            (i, 404, None, Fail),
            (i, 400, Some("RESOURCE_EXHAUSTED"), Retry),
        ];
        for (replay, status, code, verdict) in cases {
            let got = verdict_for_answer(replay, status, code);
            assert_eq!(got, verdict, "{replay:?} {status} {code:?}");
        }
    }

    #[test]
    fn waits_honour_retry_after_and_budget() {
        let p = RetryPolicy {
            initial_interval: Duration::from_millis(10),
            max_interval: Duration::from_millis(20),
            budget: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        let mut b = p.backoff();
        let w = p
            .next_wait(&mut b, Some(Duration::from_secs(2)), Duration::ZERO)
            .unwrap();
        assert_eq!(w, Duration::from_secs(2));
        for _ in 0..10 {
            assert!(p.next_wait(&mut b, None, Duration::ZERO).unwrap() <= p.max_interval);
        }
        assert_eq!(
            p.next_wait(&mut b, Some(Duration::from_secs(6)), Duration::ZERO),
            None
        );
        assert_eq!(p.next_wait(&mut b, None, Duration::from_secs(5)), None);
        assert_eq!(
            RetryPolicy::none().next_wait(&mut b, None, Duration::ZERO),
            None
        );
    }
}
