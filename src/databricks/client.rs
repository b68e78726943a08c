//! [`AccountClient`]: authenticated, retried, typed calls to the account API. The operations are
//! in `ncc.rs`, `rules.rs`, `workspaces.rs` and `policies.rs`; `sql.rs` derives the
//! [`WorkspaceClient`](super::WorkspaceClient) of a workspace from it. Both send their requests
//! through a [`Session`] (one host's transport and credentials).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::auth::{Auth, M2mTokenSource};
use super::config::{ConfigError, Credentials, ResolvedConfig};
use super::error::DatabricksError;
use super::http::{ClientOptions, Transport, segment};
use super::model::Page;
use super::retry::Replay;

/// Upper bound on the pages of one list call (a server that keeps answering with a token must
/// not hold the client forever).
const MAX_PAGES: usize = 1000;

/// Per account, how many requests other than `GET` every client of this process has sent to it
/// (see [`AccountClient::mutations`]).
static MUTATIONS: LazyLock<Mutex<HashMap<String, u64>>> = LazyLock::new(Mutex::default);

/// A client of the Databricks account API of one account.
///
/// Cheap to clone (an `Arc` inside); clones share the connection pool, the token cache and the
/// retry counter.
///
/// # Guarantees
/// - Each call is authenticated with a bearer token (OAuth M2M, cached and refreshed, or a PAT).
///   On a 401 the cached OAuth token is dropped and the request is replayed once.
/// - Idempotent calls are retried on throttling, unavailability and transport errors; creates
///   are not (see [`super::retry`]). Each method's documentation says which applies.
#[derive(Clone)]
pub struct AccountClient {
    session: Arc<Session>,
    account_id: Arc<str>,
}

/// The transport and the credentials of one host: what an [`AccountClient`] and the
/// [`WorkspaceClient`](super::WorkspaceClient)s on the same host share.
pub(crate) struct Session {
    pub(crate) transport: Arc<Transport>,
    pub(crate) auth: Auth,
}

impl std::fmt::Debug for AccountClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountClient")
            .field("host", &self.session.transport.host())
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

impl AccountClient {
    /// A client with the timeouts of `config` and default retries.
    ///
    /// # Errors
    /// [`ConfigError::HttpClient`] if the HTTP client cannot be initialised.
    pub fn new(config: &ResolvedConfig) -> Result<Self, ConfigError> {
        Self::with_options(config, ClientOptions::from_config(config))
    }

    /// A client with explicit transport options (tests use millisecond retry policies).
    ///
    /// # Errors
    /// [`ConfigError::HttpClient`] if the HTTP client cannot be initialised.
    pub fn with_options(
        config: &ResolvedConfig,
        options: ClientOptions,
    ) -> Result<Self, ConfigError> {
        let transport = Arc::new(Transport::new(config, options)?);
        let auth = match &config.credentials {
            Credentials::Pat { token } => Auth::Pat(token.clone()),
            Credentials::OAuthM2m {
                client_id,
                client_secret,
            } => Auth::M2m(Box::new(M2mTokenSource::new(
                transport.clone(),
                &config.account_id,
                client_id,
                client_secret.clone(),
            ))),
        };
        Ok(Self {
            session: Arc::new(Session { transport, auth }),
            account_id: config.account_id.as_str().into(),
        })
    }

    /// The account id.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The session of the account host (for the workspace clients of a unified host).
    pub(crate) fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// Automatic retries performed so far by this client and its clones: each extra attempt
    /// (after a throttle, an unavailability, a transport error, or a 401 replay) counts one.
    pub fn retries(&self) -> u64 {
        self.session.transport.retries()
    }

    /// Obtains a token now (OAuth M2M; a no-op with a PAT), so that wrong credentials are reported
    /// before any step runs rather than by the first step that calls the API.
    ///
    /// # Errors
    /// The token endpoint's refusal (`Unauthenticated`, needs the user) or a transport error.
    pub async fn authenticate(&self) -> Result<(), DatabricksError> {
        self.session.auth.token().await.map(|_| ())
    }

    /// OAuth token requests made so far (0 with a PAT).
    pub fn token_fetches(&self) -> u64 {
        self.session.auth.fetches()
    }

    /// `/api/2.0/accounts/{account_id}` followed by `rest` (which starts with `/`).
    pub(crate) fn account_path(&self, rest: &str) -> String {
        format!("/api/2.0/accounts/{}{rest}", segment(&self.account_id))
    }

    /// Sends `request` and decodes a JSON answer.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        request: &ApiRequest,
    ) -> Result<T, DatabricksError> {
        let answer = self.session.call(request).await;
        self.count(request);
        answer
    }

    /// How many requests that may change something (every method but `GET`) the clients of this
    /// process have sent to this account so far, each counted once its answer (or error) is in.
    /// An answer read when this count was `n` is still the latest if the count is still `n`:
    /// nothing of this process changed the account in between (issue #13: the memo of lookups,
    /// `resources::memo`).
    pub fn mutations(&self) -> u64 {
        let counts = MUTATIONS.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(&*self.account_id).copied().unwrap_or(0)
    }

    /// Counts `request` in [`mutations`](Self::mutations) unless it is a `GET`. After the answer,
    /// and also after an error (a failed request may still have changed something).
    fn count(&self, request: &ApiRequest) {
        if request.method != Method::GET {
            let mut counts = MUTATIONS.lock().unwrap_or_else(|p| p.into_inner());
            *counts.entry(self.account_id.to_string()).or_default() += 1;
        }
    }

    /// GETs every page of a `{"items", "next_page_token"}` list.
    pub(crate) async fn list_all<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Vec<T>, DatabricksError> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut request = ApiRequest::get(path.to_owned());
            if let Some(t) = &token {
                request = request.query("page_token", t.clone());
            }
            let page: Page<T> = self.call(&request).await?;
            items.extend(page.items);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                None => return Ok(items),
                Some(next) if token.as_ref() == Some(&next) => {
                    return Err(DatabricksError::decode(
                        "GET",
                        path,
                        format!("the server returned the same next_page_token {next:?} twice"),
                    ));
                }
                Some(next) => token = Some(next),
            }
        }
        Err(DatabricksError::decode(
            "GET",
            path,
            format!("more than {MAX_PAGES} pages"),
        ))
    }

    /// Sends `request` and returns the answer's body.
    pub(crate) async fn execute(&self, request: &ApiRequest) -> Result<Vec<u8>, DatabricksError> {
        let answer = self.session.execute(request).await;
        self.count(request);
        answer
    }
}

impl Session {
    /// Sends `request` and decodes a JSON answer.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        request: &ApiRequest,
    ) -> Result<T, DatabricksError> {
        let body = self.execute(request).await?;
        serde_json::from_slice(&body)
            .map_err(|e| DatabricksError::decode(request.method.as_str(), &request.path, e))
    }

    /// Sends `request` (with a bearer token; a 401 drops an OAuth token and replays once) and
    /// returns the answer's body.
    pub(crate) async fn execute(&self, request: &ApiRequest) -> Result<Vec<u8>, DatabricksError> {
        let mut replayed_after_401 = false;
        loop {
            let token = self.auth.token().await?;
            let secrets = [token.expose(), self.auth.credential()];
            let complete = |builder: reqwest::RequestBuilder| {
                // reqwest leaves out an empty query.
                let mut builder = builder.bearer_auth(token.expose()).query(&request.query);
                for (name, value) in &request.headers {
                    builder = builder.header(*name, value);
                }
                match &request.body {
                    Some(body) => builder.json(body),
                    None => builder,
                }
            };
            let (method, path) = (&request.method, &request.path);
            let result = self
                .transport
                .send(method, path, request.replay, &secrets, complete)
                .await;
            match result {
                // A 401 is decided before the request is processed, so replaying is safe even
                // for a create; the token may have been revoked or expired early. A PAT cannot be
                // replaced.
                Err(err) if err.status() == Some(401) && !replayed_after_401 => {
                    let Auth::M2m(source) = &self.auth else {
                        return Err(err);
                    };
                    tracing::debug!(
                        method = %request.method,
                        path = %request.path,
                        "token refused (401): fetching a new one and replaying once"
                    );
                    source.invalidate(&token);
                    self.transport.count_retry();
                    replayed_after_401 = true;
                }
                other => return other,
            }
        }
    }
}

/// One API request.
pub(crate) struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    /// Headers besides the credentials (e.g. `X-Databricks-Workspace-Id` on a unified host).
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Value>,
    pub replay: Replay,
}

impl ApiRequest {
    pub(crate) fn get(path: String) -> Self {
        Self::new(Method::GET, path, None, Replay::Idempotent)
    }

    pub(crate) fn delete(path: String) -> Self {
        Self::new(Method::DELETE, path, None, Replay::Idempotent)
    }

    pub(crate) fn patch(path: String, body: Value) -> Self {
        Self::new(Method::PATCH, path, Some(body), Replay::Idempotent)
    }

    /// A full replace (`PUT`): sending it twice leaves the same object.
    pub(crate) fn put(path: String, body: Value) -> Self {
        Self::new(Method::PUT, path, Some(body), Replay::Idempotent)
    }

    /// A `POST` without side effects (a read-only query), replayed like a `GET`. Never use it for
    /// a create.
    pub(crate) fn post_replayable(path: String, body: Value) -> Self {
        Self::new(Method::POST, path, Some(body), Replay::Idempotent)
    }

    /// A create: never replayed without proof that it was not processed.
    pub(crate) fn create(path: String, body: Value) -> Self {
        Self::new(Method::POST, path, Some(body), Replay::Create)
    }

    pub(crate) fn query(mut self, name: &'static str, value: String) -> Self {
        self.query.push((name, value));
        self
    }

    pub(crate) fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    fn new(method: Method, path: String, body: Option<Value>, replay: Replay) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            headers: Vec::new(),
            body,
            replay,
        }
    }
}
