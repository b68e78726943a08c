//! Workspace-level calls: [`WorkspaceClient`] (from [`AccountClient::workspace`]), SQL warehouses
//! and the SQL Statement Execution API (`/api/2.0/sql/statements`), e.g. to read the system
//! table `system.access.outbound_network` (field update 2026-12 §2.2).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{AccountClient, ApiRequest, Session};
use super::error::{self, DatabricksError, ErrorKind};
use super::http::segment;
use super::model::{Warehouse, Workspace};

/// How long [`WorkspaceClient::execute`] waits for a statement by default, polling included.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(300);

/// Polling of a running statement: the first wait, doubled up to the last.
const POLL_FIRST: Duration = Duration::from_millis(100);
const POLL_MAX: Duration = Duration::from_secs(2);

const STATEMENTS: &str = "/api/2.0/sql/statements";

/// The header that selects the workspace on a unified host (reference, "Common headers").
const WORKSPACE_ID_HEADER: &str = "X-Databricks-Workspace-Id";

/// A client of one workspace's APIs.
///
/// Cheap to clone (an `Arc` inside); clones share the transport and the token cache.
#[derive(Clone)]
pub struct WorkspaceClient {
    session: Arc<Session>,
    workspace_id: i64,
    /// On a unified host the workspace is named by [`WORKSPACE_ID_HEADER`], not by the host.
    unified: bool,
}

impl std::fmt::Debug for WorkspaceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkspaceClient")
            .field("host", &self.session.transport.host())
            .field("workspace_id", &self.workspace_id)
            .field("unified", &self.unified)
            .finish_non_exhaustive()
    }
}

impl AccountClient {
    /// A client of the APIs of workspace `ws` (as returned by [`Self::get_workspace`]).
    ///
    /// # Host rule (API reference §1.1, §1.2)
    /// - Account host `https://accounts.<domain>` (`accounts.cloud.databricks.com`,
    ///   `accounts.cloud.databricks.us`): requests go to the workspace's own host
    ///   `https://<deployment_name>.<domain>`. An OAuth service principal gets workspace-level
    ///   tokens there from `POST {workspace host}/oidc/v1/token` (same client auth and body as the
    ///   account token; cached per returned client, so keep it and clone it); a PAT is sent as is.
    /// - Any other host (a unified host, the local emulator on `http://127.0.0.1:PORT`): requests
    ///   go to the account host itself, with the header `X-Databricks-Workspace-Id: <id>` and the
    ///   account token (reference "Common headers": unified hosts). The client shares this
    ///   client's transport and token cache.
    ///
    /// # Errors
    /// `InvalidParameter` without a request if the workspace's own host is needed but its
    /// `deployment_name` is missing or not a DNS label.
    pub fn workspace(&self, ws: &Workspace) -> Result<WorkspaceClient, DatabricksError> {
        let session = self.session();
        let Some(domain) = accounts_domain(session.transport.host()) else {
            return Ok(WorkspaceClient {
                session: session.clone(),
                workspace_id: ws.workspace_id,
                unified: true,
            });
        };
        let deployment = ws.deployment_name.as_deref().unwrap_or_default();
        let valid = !deployment.is_empty()
            && deployment.len() <= 63
            && deployment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid {
            let path = self.account_path(&format!("/workspaces/{}", ws.workspace_id));
            let message = format!(
                "workspace {} has no usable deployment_name ({deployment:?}): its host cannot be \
                 derived",
                ws.workspace_id
            );
            return Err(DatabricksError::invalid_argument("GET", &path, message));
        }
        let transport = Arc::new(
            session
                .transport
                .with_host(format!("https://{deployment}.{domain}")),
        );
        let auth = session.auth.for_workspace(transport.clone());
        Ok(WorkspaceClient {
            session: Arc::new(Session { transport, auth }),
            workspace_id: ws.workspace_id,
            unified: false,
        })
    }
}

/// `<domain>` of an account host `https://accounts.<domain>`; `None` for any other host, whose
/// workspaces are reached through the host itself (see [`AccountClient::workspace`]). Only the
/// `accounts.` prefix (reference §1.1) is known; other account hosts are treated as unified.
fn accounts_domain(account_host: &str) -> Option<&str> {
    account_host
        .strip_prefix("https://accounts.")
        .filter(|domain| !domain.is_empty())
}

/// A SQL statement and its named parameters (`:name` in the text).
///
/// [`WorkspaceClient::execute`] may send it twice (see there): use it for read-only statements.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub warehouse_id: String,
    pub sql: String,
    pub parameters: Vec<Parameter>,
    /// How long to wait for the result, polling included (default [`STATEMENT_TIMEOUT`]).
    pub timeout: Duration,
}

/// A named parameter: `{"name", "value", "type"}` on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    pub value: String,
    /// The SQL type the value is cast to: `STRING`, `INT`, `TIMESTAMP`, …
    pub type_name: String,
}

impl Statement {
    /// `sql` on `warehouse_id`, without parameters, with the default timeout.
    pub fn new(warehouse_id: impl Into<String>, sql: impl Into<String>) -> Self {
        Self {
            warehouse_id: warehouse_id.into(),
            sql: sql.into(),
            parameters: Vec::new(),
            timeout: STATEMENT_TIMEOUT,
        }
    }

    /// Adds the parameter `:name` of type `type_name`.
    pub fn param(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
        type_name: impl Into<String>,
    ) -> Self {
        self.parameters.push(Parameter {
            name: name.into(),
            value: value.into(),
            type_name: type_name.into(),
        });
        self
    }
}

/// The rows of a statement that succeeded: every cell as the API's JSON_ARRAY text (numbers,
/// timestamps, structs as strings), `None` for SQL NULL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl StatementResult {
    /// The index of the column `name` (exact match).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The cell of column `name` in row `row`; `None` for NULL or an unknown column or row.
    pub fn cell(&self, row: usize, name: &str) -> Option<&str> {
        let column = self.column(name)?;
        self.rows.get(row)?.get(column)?.as_deref()
    }
}

// Wire shapes of the Statement Execution API; lenient like `model`.

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StatementResponse {
    statement_id: String,
    status: StatementStatus,
    manifest: Option<Manifest>,
    result: Option<ResultData>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StatementStatus {
    state: String,
    error: Option<ServiceError>,
    sql_state: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ServiceError {
    error_code: Option<String>,
    message: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Manifest {
    schema: Schema,
    total_chunk_count: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Schema {
    columns: Vec<Column>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Column {
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResultData {
    data_array: Vec<Vec<Value>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Warehouses {
    warehouses: Vec<Warehouse>,
}

impl WorkspaceClient {
    /// The workspace id.
    pub fn workspace_id(&self) -> i64 {
        self.workspace_id
    }

    /// The host requests go to, without a trailing slash (see [`AccountClient::workspace`]).
    pub fn host(&self) -> &str {
        self.session.transport.host()
    }

    /// The workspace's SQL warehouses: `GET /api/2.0/sql/warehouses` (an empty `{}` means none).
    /// Retried.
    ///
    /// # Errors
    /// The server's error.
    pub async fn list_warehouses(&self) -> Result<Vec<Warehouse>, DatabricksError> {
        let list: Warehouses = self
            .call(ApiRequest::get("/api/2.0/sql/warehouses".into()))
            .await?;
        Ok(list.warehouses)
    }

    /// One warehouse: `GET /api/2.0/sql/warehouses/{id}`. Retried.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if it does not exist, or the server's error.
    pub async fn get_warehouse(&self, id: &str) -> Result<Warehouse, DatabricksError> {
        let path = format!("/api/2.0/sql/warehouses/{}", segment(id));
        self.call(ApiRequest::get(path)).await
    }

    /// Runs a statement and returns all its rows: `POST /api/2.0/sql/statements` (inline
    /// `JSON_ARRAY` results; the server waits up to 30 s), then `GET …/statements/{id}` while it is
    /// `PENDING` or `RUNNING` (short, growing sleeps), then `GET …/result/chunks/{i}` for every
    /// further chunk.
    ///
    /// The `POST` is replayed like a `GET` after throttling or a lost answer, unlike plink's
    /// creates: a read-only statement run twice only costs warehouse time. Do not use it for
    /// statements with side effects.
    ///
    /// # Errors
    /// - the statement `FAILED`: the server's message (with its SQLSTATE, also in
    ///   [`DatabricksError::sql_state`]) and its `error_code`'s kind (`BadRequest`, …);
    /// - `CANCELED` or `CLOSED` by someone else: [`ErrorKind::Other`];
    /// - still running after `statement.timeout`: [`ErrorKind::Timeout`] (it is canceled first);
    /// - any request's error (`NotFound` for an unknown warehouse, `InvalidParameter` for a
    ///   parameter that does not cast to its type, …).
    pub async fn execute(&self, statement: &Statement) -> Result<StatementResult, DatabricksError> {
        let started = Instant::now();
        let parameters: Vec<Value> = statement
            .parameters
            .iter()
            .map(|p| json!({ "name": p.name, "value": p.value, "type": p.type_name }))
            .collect();
        let body = json!({
            "statement": statement.sql,
            "warehouse_id": statement.warehouse_id,
            "parameters": parameters,
            "wait_timeout": self.wait_timeout(),
            // On timeout keep it running and poll, rather than cancel it.
            "on_wait_timeout": "CONTINUE",
            "disposition": "INLINE",
            "format": "JSON_ARRAY",
        });
        let mut answer: StatementResponse = self
            .call(ApiRequest::post_replayable(STATEMENTS.into(), body))
            .await?;
        let path = format!("{STATEMENTS}/{}", segment(&answer.statement_id));
        // Errors name the request that gave the final state.
        let mut last = ("POST", STATEMENTS);
        let mut wait = POLL_FIRST;
        while matches!(answer.status.state.as_str(), "PENDING" | "RUNNING") {
            let left = statement.timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(self.give_up(&path, &answer, statement.timeout).await);
            }
            tokio::time::sleep(wait.min(left)).await;
            wait = (wait * 2).min(POLL_MAX);
            answer = self.call(ApiRequest::get(path.clone())).await?;
            last = ("GET", &path);
        }
        let status = &answer.status;
        let fail = |kind, code, message: String, sql_state| {
            let (method, at) = last;
            Err(DatabricksError::statement(
                kind, method, at, code, message, sql_state,
            ))
        };
        match status.state.as_str() {
            "SUCCEEDED" => {}
            "FAILED" => {
                let (code, message) = match &status.error {
                    Some(e) => (e.error_code.clone(), e.message.clone()),
                    None => (None, String::new()),
                };
                let message = if message.is_empty() {
                    "the statement failed without a message".to_owned()
                } else {
                    message
                };
                // The kind follows the server's error_code, as for an error answer.
                let kind = error::kind_for(200, code.as_deref());
                return fail(kind, code, message, status.sql_state.clone());
            }
            other => {
                let message = format!(
                    "statement {} ended {other} without a result",
                    answer.statement_id
                );
                return fail(ErrorKind::Other, None, message, None);
            }
        }
        self.collect(&path, answer).await
    }

    /// The columns and every row of a `SUCCEEDED` answer, fetching the chunks after the first.
    async fn collect(
        &self,
        path: &str,
        answer: StatementResponse,
    ) -> Result<StatementResult, DatabricksError> {
        let manifest = answer.manifest.unwrap_or_default();
        let columns = manifest
            .schema
            .columns
            .into_iter()
            .map(|c| c.name)
            .collect();
        let mut rows: Vec<Vec<Option<String>>> = Vec::new();
        let mut add = |data: ResultData| rows.extend(data.data_array.into_iter().map(cells));
        add(answer.result.unwrap_or_default());
        for index in 1..manifest.total_chunk_count.unwrap_or(1) {
            let chunk = self
                .call(ApiRequest::get(format!("{path}/result/chunks/{index}")))
                .await?;
            add(chunk);
        }
        Ok(StatementResult { columns, rows })
    }

    /// Cancels a statement still running at the deadline (best effort: it would otherwise keep
    /// the warehouse busy) and returns the timeout error.
    async fn give_up(
        &self,
        path: &str,
        answer: &StatementResponse,
        timeout: Duration,
    ) -> DatabricksError {
        let cancel = ApiRequest::post_replayable(format!("{path}/cancel"), json!({}));
        if let Err(err) = self.send(cancel).await {
            tracing::debug!(error = %err, "cannot cancel a statement past its deadline");
        }
        let message = format!(
            "statement {} still {} after {}; canceled",
            answer.statement_id,
            answer.status.state,
            humantime::format_duration(timeout)
        );
        DatabricksError::statement(ErrorKind::Timeout, "GET", path, None, message, None)
    }

    /// `wait_timeout` of the `POST`: up to 30 s, but well within the per-request timeout (an
    /// answer that times out would be replayed and start the statement again); `0s` (answer at
    /// once, then poll) when that leaves less than the API's minimum of 5 s.
    fn wait_timeout(&self) -> String {
        let http = self.session.transport.options().http_timeout;
        match http.as_secs().saturating_sub(10).min(30) {
            secs @ 5.. => format!("{secs}s"),
            _ => "0s".to_owned(),
        }
    }

    pub(crate) async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: ApiRequest,
    ) -> Result<T, DatabricksError> {
        self.session.call(&self.route(request)).await
    }

    /// The OAuth service principal's application id, `None` with a PAT (issue #15).
    pub(crate) fn client_id(&self) -> Option<&str> {
        self.session.auth.client_id()
    }

    pub(crate) async fn send(&self, request: ApiRequest) -> Result<Vec<u8>, DatabricksError> {
        self.session.execute(&self.route(request)).await
    }

    /// Names the workspace on a unified host.
    fn route(&self, request: ApiRequest) -> ApiRequest {
        if self.unified {
            request.header(WORKSPACE_ID_HEADER, self.workspace_id.to_string())
        } else {
            request
        }
    }
}

/// One row: strings as they are, `null` as `None`, anything else (not expected in JSON_ARRAY) as
/// its JSON text.
fn cells(row: Vec<Value>) -> Vec<Option<String>> {
    row.into_iter()
        .map(|cell| match cell {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(host: &str) -> AccountClient {
        let credentials = crate::databricks::Credentials::Pat {
            token: crate::databricks::Secret::new("dapi-test"),
        };
        let config = crate::databricks::ResolvedConfig::new(host, "acct", credentials).unwrap();
        AccountClient::new(&config).unwrap()
    }

    fn ws(deployment_name: Option<&str>) -> Workspace {
        Workspace {
            workspace_id: 42,
            workspace_name: None,
            aws_region: None,
            network_connectivity_config_id: None,
            workspace_status: None,
            workspace_status_message: None,
            deployment_name: deployment_name.map(str::to_owned),
        }
    }

    #[test]
    fn workspace_host_rule() {
        let cases = [
            (
                "https://accounts.cloud.databricks.com",
                "https://dbc-123.cloud.databricks.com",
            ),
            (
                "https://accounts.cloud.databricks.us",
                "https://dbc-123.cloud.databricks.us",
            ),
        ];
        for (account_host, workspace_host) in cases {
            let client = account(account_host)
                .workspace(&ws(Some("dbc-123")))
                .unwrap();
            assert_eq!(client.host(), workspace_host);
            assert!(!client.unified);
        }
        // Unified hosts and the emulator: the account host itself, the workspace named by header.
        for host in ["http://127.0.0.1:8080", "https://myco.cloud.databricks.com"] {
            let client = account(host).workspace(&ws(None)).unwrap();
            assert_eq!(client.host(), host);
            assert!(client.unified);
        }
        let accounts = account("https://accounts.cloud.databricks.com");
        for bad in [None, Some(""), Some("evil.com/x")] {
            let err = accounts.workspace(&ws(bad)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidParameter, "{bad:?}");
        }
    }

    #[test]
    fn result_cells_by_column() {
        let result = StatementResult {
            columns: vec!["destination".into(), "attempts".into()],
            rows: vec![cells(vec![json!("pypi.org"), Value::Null])],
        };
        assert_eq!(result.column("attempts"), Some(1));
        assert_eq!(result.cell(0, "destination"), Some("pypi.org"));
        assert_eq!(result.cell(0, "attempts"), None);
        assert_eq!(result.cell(1, "destination"), None);
        assert_eq!(result.column("nope"), None);
    }
}
