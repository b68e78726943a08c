//! The request core: one `reqwest` client, timeouts, and the retry loop shared by API calls and
//! token requests.
//!
//! # Guarantees
//! - Every request carries `Accept: application/json` and `User-Agent: plink/<version>`; bodies
//!   are JSON (API calls) or form-encoded (token requests).
//! - TLS certificates are always verified; redirects are not followed (a redirect to a sign-in
//!   page is reported as an error instead of being followed with credentials); proxies from the
//!   environment are bypassed for loopback hosts (the local emulator).
//! - Log lines carry method, path, status, attempt and wait, never headers or bodies.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{HeaderValue, RETRY_AFTER};

use super::config::{ConfigError, ResolvedConfig};
use super::error::DatabricksError;
use super::retry::{self, Replay, RetryPolicy, Verdict};

/// `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("plink/", env!("CARGO_PKG_VERSION"));

/// Transport settings of an [`AccountClient`](super::AccountClient).
#[derive(Debug, Clone, PartialEq)]
pub struct ClientOptions {
    /// Timeout of one attempt, from sending to the end of the answer. Default 60 s.
    pub http_timeout: Duration,
    /// Timeout of establishing a connection. Default 10 s.
    pub connect_timeout: Duration,
    /// Automatic retries; see [`RetryPolicy`].
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            http_timeout: super::config::DEFAULT_HTTP_TIMEOUT,
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }
}

impl ClientOptions {
    /// Defaults, with the timeouts of a resolved configuration (`http_timeout_seconds`,
    /// `retry_timeout_seconds`).
    pub fn from_config(config: &ResolvedConfig) -> Self {
        Self {
            http_timeout: config.http_timeout,
            retry: RetryPolicy::default().with_budget(config.retry_timeout),
            ..Self::default()
        }
    }
}

/// A complete success answer.
pub(crate) struct Answer {
    pub body: Vec<u8>,
}

/// Why one attempt failed.
enum Failure {
    Answer(DatabricksError),
    Transport(reqwest::Error),
}

/// The HTTP client and the retry loop; shared by the API client and the token source.
pub(crate) struct Transport {
    client: reqwest::Client,
    options: ClientOptions,
    retries: AtomicU64,
}

impl Transport {
    pub(crate) fn new(options: ClientOptions, loopback: bool) -> Result<Self, ConfigError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(options.http_timeout)
            .connect_timeout(options.connect_timeout)
            .redirect(reqwest::redirect::Policy::none());
        if loopback {
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        Ok(Self {
            client,
            options,
            retries: AtomicU64::new(0),
        })
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Retries performed so far (each extra attempt counts one).
    pub(crate) fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    pub(crate) fn count_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Sends the request made by `build` (called once per attempt) until it succeeds, fails for
    /// good, or the retry budget is spent; see [`retry`] for the rules.
    ///
    /// `secrets` are redacted from server text copied into errors.
    ///
    /// # Errors
    /// The last attempt's error; [`super::ErrorKind::Ambiguous`] for a create whose outcome is
    /// unknown.
    pub(crate) async fn send(
        &self,
        method: &Method,
        path: &str,
        replay: Replay,
        secrets: &[&str],
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Answer, DatabricksError> {
        let started = Instant::now();
        let policy = &self.options.retry;
        let mut backoff = policy.backoff();
        let mut attempt = 1u32;
        loop {
            let (err, verdict) = match self.attempt(build(), method, path, secrets).await {
                Ok(answer) => {
                    tracing::debug!(%method, path, attempt, "databricks request succeeded");
                    return Ok(answer);
                }
                Err(Failure::Answer(err)) => {
                    let status = err.status().unwrap_or_default();
                    let verdict = retry::verdict_for_answer(replay, status, err.error_code());
                    (err, verdict)
                }
                Err(Failure::Transport(e)) => {
                    let verdict = retry::verdict_for_transport(replay, &e);
                    let err = DatabricksError::transport(
                        method.as_str(),
                        path,
                        e,
                        self.options.http_timeout,
                    );
                    (err, verdict)
                }
            };
            match verdict {
                Verdict::Fail => return Err(err),
                Verdict::FailAmbiguous => return Err(err.into_ambiguous()),
                Verdict::Retry => {}
            }
            let Some(wait) = policy.next_wait(&mut backoff, err.retry_after(), started.elapsed())
            else {
                tracing::debug!(%method, path, attempt, error = %err, "retry budget spent");
                return Err(err);
            };
            tracing::debug!(
                %method,
                path,
                attempt,
                wait_ms = wait.as_millis() as u64,
                error = %err,
                "retrying databricks request"
            );
            tokio::time::sleep(wait).await;
            self.count_retry();
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        request: reqwest::RequestBuilder,
        method: &Method,
        path: &str,
        secrets: &[&str],
    ) -> Result<Answer, Failure> {
        let response = request.send().await.map_err(Failure::Transport)?;
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let request_id = header("x-request-id").or_else(|| header("x-databricks-request-id"));
        let retry_after = retry::parse_retry_after(response.headers().get(RETRY_AFTER));
        let body = response.bytes().await.map_err(Failure::Transport)?;
        if status.is_success() {
            return Ok(Answer {
                body: body.to_vec(),
            });
        }
        let err = DatabricksError::from_response(
            method.as_str(),
            path,
            status.as_u16(),
            request_id,
            &body,
            secrets,
        )
        .with_retry_after(retry_after);
        tracing::debug!(%method, path, status = status.as_u16(), code = err.error_code(), "databricks error answer");
        Err(Failure::Answer(err))
    }
}
