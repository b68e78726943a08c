//! Bearer tokens: a personal access token as is, or OAuth M2M (client credentials) tokens from
//! `POST {host}/oidc/accounts/{account_id}/v1/token` (account host) or `POST {host}/oidc/v1/token`
//! (a workspace's own host), cached and refreshed (API reference §1.2).
//!
//! # Guarantees
//! - The client secret goes only into the `Authorization: Basic` header of token requests
//!   (`client_id:client_secret`, not URL-escaped, as the Python SDK sends it); the body is
//!   `grant_type=client_credentials&scope=all-apis`.
//! - A token is reused until a refresh margin before its expiry: 20 % of its lifetime, but at
//!   least `min(60 s, half the lifetime)` (a one-hour token is refreshed 12 minutes early, a
//!   two-second test token one second early).
//! - Single flight: however many callers need a new token at once, one token request is made;
//!   the others wait for it and share its token, or its error.
//! - Tokens and secrets never appear in logs or errors.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use super::error::{DatabricksError, ErrorKind};
use super::http::Transport;
use super::retry::Replay;
use super::secret::Secret;

/// The token endpoint of a workspace host (§1.2).
const WORKSPACE_TOKEN_PATH: &str = "/oidc/v1/token";

/// Lifetime assumed when the token answer has no `expires_in` (Databricks tokens last one hour).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// The credentials side of the client.
pub(crate) enum Auth {
    /// A personal access token; it cannot be refreshed.
    Pat(Secret),
    /// OAuth M2M.
    M2m(Box<M2mTokenSource>),
}

impl Auth {
    /// The bearer token to use now.
    pub(crate) async fn token(&self) -> Result<Secret, DatabricksError> {
        match self {
            Auth::Pat(token) => Ok(token.clone()),
            Auth::M2m(source) => source.token().await,
        }
    }

    /// Token requests made so far.
    pub(crate) fn fetches(&self) -> u64 {
        match self {
            Auth::Pat(_) => 0,
            Auth::M2m(source) => source.fetches.load(Ordering::Relaxed),
        }
    }

    /// The OAuth service principal's application id (`None` with a PAT): its workspace home
    /// folder is `/Users/<application id>` (issue #15: where `verify` uploads its task).
    pub(crate) fn client_id(&self) -> Option<&str> {
        match self {
            Auth::Pat(_) => None,
            Auth::M2m(source) => Some(&source.client_id),
        }
    }

    /// The long-lived credential, for redaction.
    pub(crate) fn credential(&self) -> &str {
        match self {
            Auth::Pat(token) => token.expose(),
            Auth::M2m(source) => source.client_secret.expose(),
        }
    }

    /// The same credentials on a workspace's own host (`transport`): a PAT as is, an OAuth
    /// service principal with its own token cache there (§1.2: a workspace-level token).
    pub(crate) fn for_workspace(&self, transport: Arc<Transport>) -> Self {
        match self {
            Auth::Pat(token) => Auth::Pat(token.clone()),
            Auth::M2m(source) => Auth::M2m(Box::new(source.for_workspace(transport))),
        }
    }
}

struct Cached {
    token: Secret,
    refresh_at: Instant,
}

/// OAuth M2M tokens of one service principal, cached; see the module docs.
pub(crate) struct M2mTokenSource {
    transport: Arc<Transport>,
    account_id: String,
    token_path: String,
    client_id: String,
    client_secret: Secret,
    cache: Mutex<Option<Cached>>,
    /// Held during a token request; the latest one's error, shared with the callers that waited.
    flight: tokio::sync::Mutex<Option<DatabricksError>>,
    /// Incremented (under `flight`) when a token request ends.
    generation: AtomicU64,
    fetches: AtomicU64,
}

impl M2mTokenSource {
    /// Account-level tokens: `POST {account host}/oidc/accounts/{account_id}/v1/token`.
    pub(crate) fn new(
        transport: Arc<Transport>,
        account_id: &str,
        client_id: &str,
        client_secret: Secret,
    ) -> Self {
        let token_path = format!(
            "/oidc/accounts/{}/v1/token",
            super::http::segment(account_id)
        );
        Self::with_path(transport, account_id, token_path, client_id, client_secret)
    }

    /// Workspace-level tokens of the same service principal: `POST {workspace host}/oidc/v1/token`,
    /// same client auth and body (§1.2).
    pub(crate) fn for_workspace(&self, transport: Arc<Transport>) -> Self {
        Self::with_path(
            transport,
            &self.account_id,
            WORKSPACE_TOKEN_PATH.to_owned(),
            &self.client_id,
            self.client_secret.clone(),
        )
    }

    fn with_path(
        transport: Arc<Transport>,
        account_id: &str,
        token_path: String,
        client_id: &str,
        client_secret: Secret,
    ) -> Self {
        Self {
            transport,
            account_id: account_id.to_owned(),
            token_path,
            client_id: client_id.to_owned(),
            client_secret,
            cache: Mutex::new(None),
            flight: tokio::sync::Mutex::new(None),
            generation: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
        }
    }

    /// A valid token, from the cache or from one (shared) token request.
    ///
    /// # Errors
    /// The token request's error, classified for the user (see [`Self::token_error`]).
    pub(crate) async fn token(&self) -> Result<Secret, DatabricksError> {
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let seen = self.generation.load(Ordering::Acquire);
        let mut last_error = self.flight.lock().await;
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        if self.generation.load(Ordering::Acquire) != seen
            && let Some(err) = &*last_error
        {
            // We queued behind a token request that just failed: share its error instead of
            // hammering the token endpoint with the same bad credentials.
            return Err(err.clone());
        }
        let result = self.fetch().await;
        *last_error = result.as_ref().err().cloned();
        self.generation.fetch_add(1, Ordering::Release);
        result
    }

    fn fresh(&self) -> Option<Secret> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .as_ref()
            .filter(|c| Instant::now() < c.refresh_at)
            .map(|c| c.token.clone())
    }

    /// Forgets `token` after the API refused it, so that the next [`Self::token`] fetches anew.
    pub(crate) fn invalidate(&self, token: &Secret) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.as_ref().is_some_and(|c| &c.token == token) {
            *cache = None;
        }
    }

    async fn fetch(&self) -> Result<Secret, DatabricksError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let body = self
            .transport
            .send(
                &Method::POST,
                &self.token_path,
                // Minting a token has no side effect worth protecting: retry like a GET.
                Replay::Idempotent,
                &[self.client_secret.expose()],
                |builder| {
                    builder
                        .basic_auth(&self.client_id, Some(self.client_secret.expose()))
                        .form(&[("grant_type", "client_credentials"), ("scope", "all-apis")])
                },
            )
            .await
            .map_err(|e| self.token_error(e))?;
        let (token, lifetime) = parse_token_answer(&body).ok_or_else(|| {
            DatabricksError::decode(
                "POST",
                &self.token_path,
                "the token answer has no usable access_token/expires_in",
            )
        })?;
        let refresh_at = Instant::now() + lifetime.saturating_sub(refresh_margin(lifetime));
        *self.cache.lock().unwrap_or_else(|e| e.into_inner()) = Some(Cached {
            token: token.clone(),
            refresh_at,
        });
        tracing::debug!(
            client_id = %self.client_id,
            lifetime_s = lifetime.as_secs(),
            "obtained an OAuth M2M token"
        );
        Ok(token)
    }

    /// Rewrites a token-endpoint failure into a message for a person:
    /// "authentication failed for client_id X at HOST: invalid_client (…)".
    fn token_error(&self, err: DatabricksError) -> DatabricksError {
        let (client_id, host, account_id) =
            (&self.client_id, self.transport.host(), &self.account_id);
        let prefix = format!("authentication failed for client_id {client_id} at {host}");
        let hint = format!(
            "check client_id {client_id} and its OAuth secret, and that the service principal \
             belongs to Databricks account {account_id} (an OAuth secret may have expired or been \
             revoked)"
        );
        let detail = match (err.error_code(), err.message()) {
            (Some(code), message) if !message.is_empty() => format!("{code} ({message})"),
            (Some(code), _) => code.to_owned(),
            (None, message) => message.to_owned(),
        };
        match err.status() {
            Some(status @ (400 | 401 | 403)) => {
                let kind = match status {
                    403 => ErrorKind::PermissionDenied,
                    _ => ErrorKind::Unauthenticated,
                };
                err.into_token_error(kind, format!("{prefix}: {detail}"), Some(hint))
            }
            Some(404) => {
                let message = format!(
                    "{prefix}: the token endpoint {} does not exist ({detail})",
                    self.token_path
                );
                let hint = if self.token_path == WORKSPACE_TOKEN_PATH {
                    format!(
                        "check the workspace host ({host}): it is derived from the workspace's \
                         deployment_name and the account host"
                    )
                } else {
                    format!(
                        "check the host ({host}) and the account id ({account_id}): the host must \
                         be the account console, e.g. https://accounts.cloud.databricks.com"
                    )
                };
                err.into_token_error(ErrorKind::Unauthenticated, message, Some(hint))
            }
            _ => {
                let kind = err.kind();
                let message =
                    format!("cannot get an OAuth token for client_id {client_id} at {host}: {err}");
                err.into_token_error(kind, message, None)
            }
        }
    }
}

/// How long before expiry a token is replaced; see the module docs.
pub(crate) fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 5).max(Duration::from_secs(60).min(lifetime / 2))
}

/// `access_token` and the lifetime (`expires_in`, a number or a numeric string).
fn parse_token_answer(body: &[u8]) -> Option<(Secret, Duration)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let token = value
        .get("access_token")?
        .as_str()
        .filter(|t| !t.is_empty())?;
    let lifetime = match value.get("expires_in") {
        None | Some(Value::Null) => DEFAULT_LIFETIME,
        Some(Value::Number(n)) => Duration::from_secs(n.as_u64()?),
        Some(Value::String(s)) => Duration::from_secs(s.trim().parse().ok()?),
        Some(_) => return None,
    };
    Some((Secret::new(token), lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_scale_with_lifetime() {
        for (lifetime, margin) in [(3600, 720), (2, 1), (200, 60)] {
            let got = refresh_margin(Duration::from_secs(lifetime));
            assert_eq!(got, Duration::from_secs(margin), "{lifetime} s");
        }
    }

    #[test]
    fn token_answers() {
        let (t, l) = parse_token_answer(
            br#"{"access_token":"oauth-token","expires_in":"3600","token_type":"Bearer"}"#,
        )
        .unwrap();
        assert_eq!(t.expose(), "oauth-token");
        assert_eq!(l, Duration::from_secs(3600));
        assert!(parse_token_answer(br#"{"expires_in":3600}"#).is_none());
        assert!(parse_token_answer(br#"{"access_token":"x","expires_in":"soon"}"#).is_none());
    }
}
