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

use reqwest::header::{ACCEPT, RETRY_AFTER};
use reqwest::{Method, RequestBuilder};

use super::config::{ConfigError, ResolvedConfig, is_loopback};
use super::error::DatabricksError;
use super::retry::{self, Replay, RetryPolicy, Verdict};

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

/// The HTTP client of one host and the retry loop; shared by the API client and the token source.
pub(crate) struct Transport {
    client: reqwest::Client,
    host: String,
    options: ClientOptions,
    retries: AtomicU64,
}

impl Transport {
    pub(crate) fn new(
        config: &ResolvedConfig,
        options: ClientOptions,
    ) -> Result<Self, ConfigError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("plink/", env!("CARGO_PKG_VERSION")))
            .timeout(options.http_timeout)
            .connect_timeout(options.connect_timeout)
            .redirect(reqwest::redirect::Policy::none());
        if config.host.host_str().is_some_and(is_loopback) {
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        Ok(Self {
            client,
            host: config.host_str().to_owned(),
            options,
            retries: AtomicU64::new(0),
        })
    }

    /// A transport to `host` (without a trailing slash) on the same HTTP client (pool, timeouts,
    /// proxy rule) and options, with its own retry counter. Only for a host of the same kind: a
    /// workspace host derived from an `https://accounts.` host (neither is loopback).
    pub(crate) fn with_host(&self, host: String) -> Self {
        Self {
            client: self.client.clone(),
            host,
            options: self.options.clone(),
            retries: AtomicU64::new(0),
        }
    }

    /// The options of this transport.
    pub(crate) fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// The host, without a trailing slash.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// Retries performed so far (each extra attempt counts one).
    pub(crate) fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    pub(crate) fn count_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Sends `method path` until it succeeds, fails for good, or the retry budget is spent (see
    /// [`retry`] for the rules), and returns the success answer's body. `complete` adds the
    /// credentials and the body to each attempt's request; `secrets` are redacted from server text
    /// copied into errors.
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
        complete: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Vec<u8>, DatabricksError> {
        let url = format!("{}{path}", self.host);
        let started = Instant::now();
        let policy = &self.options.retry;
        let mut backoff = policy.backoff();
        let mut attempt = 1u32;
        loop {
            let request = self
                .client
                .request(method.clone(), &url)
                .header(ACCEPT, "application/json");
            let attempted = self.attempt(complete(request), method, path, replay, secrets);
            let (err, verdict) = match attempted.await {
                Ok(body) => {
                    tracing::debug!(%method, path, attempt, "databricks request succeeded");
                    return Ok(body);
                }
                Err(failure) => failure,
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

    /// One attempt: the success answer's body, or the error and what to do about it.
    async fn attempt(
        &self,
        request: RequestBuilder,
        method: &Method,
        path: &str,
        replay: Replay,
        secrets: &[&str],
    ) -> Result<Vec<u8>, (DatabricksError, Verdict)> {
        let no_answer = |e: reqwest::Error| {
            let verdict = retry::verdict_for_transport(replay, &e);
            let timeout = self.options.http_timeout;
            (
                DatabricksError::transport(method.as_str(), path, e, timeout),
                verdict,
            )
        };
        let response = request.send().await.map_err(no_answer)?;
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let request_id = header("x-request-id").or_else(|| header("x-databricks-request-id"));
        let retry_after = retry::parse_retry_after(response.headers().get(RETRY_AFTER));
        let body = response.bytes().await.map_err(no_answer)?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        let status = status.as_u16();
        let err = DatabricksError::from_response(
            method.as_str(),
            path,
            status,
            request_id,
            &body,
            secrets,
        )
        .with_retry_after(retry_after);
        tracing::debug!(%method, path, status, code = err.error_code(), "databricks error answer");
        let verdict = retry::verdict_for_answer(replay, status, err.error_code());
        Err((err, verdict))
    }
}

/// Percent-encodes one path segment (ids come from callers and state files).
pub(crate) fn segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
