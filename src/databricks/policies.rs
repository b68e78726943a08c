//! Account network policies (serverless egress control) and their workspace binding (API
//! reference §5; field update 2026-12 §2.1–2.3):
//! `/api/2.0/accounts/{account_id}/network-policies` and `…/workspaces/{id}/network`.
//!
//! Policies are raw JSON objects on purpose: `PUT` is a full replace and the server fills fields
//! in (`account_id`, `internet_destination_type`, `enforcement_mode`, the ingress sections it
//! defaults; field update §2.3). A typed struct would drop what it does not know and the next
//! write would erase it, so callers read, merge only the fields they own, and write the whole
//! object back.

use serde_json::{Value, json};

use super::client::{AccountClient, ApiRequest};
use super::error::DatabricksError;
use super::http::segment;
use super::model::WorkspaceNetworkOption;

const BASE: &str = "/network-policies";

impl AccountClient {
    /// Reads a policy: `GET …/network-policies/{id}`. Retried.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](super::ErrorKind::NotFound) if it does not exist (use
    /// [`ResultExt::optional`](super::ResultExt::optional)), or the server's error.
    pub async fn get_network_policy(&self, id: &str) -> Result<Value, DatabricksError> {
        self.call(&ApiRequest::get(self.policy_path(id))).await
    }

    /// Lists every policy of the account (`default-policy` included), following
    /// `next_page_token` through all pages. Retried (each page).
    ///
    /// # Errors
    /// The server's error, or [`ErrorKind::Decode`](super::ErrorKind::Decode) if the pages never
    /// end.
    pub async fn list_network_policies(&self) -> Result<Vec<Value>, DatabricksError> {
        self.list_all(&self.account_path(BASE)).await
    }

    /// Creates a policy: `POST …/network-policies` with the flat policy object, whose
    /// `network_policy_id` the client chooses (§5.1).
    ///
    /// **Not retried** (no idempotency token exists): after an
    /// [`Ambiguous`](super::ErrorKind::Ambiguous) error, look the policy up with
    /// [`Self::get_network_policy`] before creating it again.
    ///
    /// # Errors
    /// `InvalidParameter` without a request if `body.network_policy_id` is missing or does not
    /// match `^[a-zA-Z0-9_.-]{1,32}$`; otherwise the server's error (`AlreadyExists`, …).
    pub async fn create_network_policy(&self, body: &Value) -> Result<Value, DatabricksError> {
        let path = self.account_path(BASE);
        let id = body.get("network_policy_id").and_then(Value::as_str);
        let valid = id.is_some_and(|id| {
            (1..=32).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        });
        if !valid {
            let message = format!(
                "network_policy_id {:?} is invalid: 1 to 32 characters among letters, digits, \
                 '_', '.' and '-'",
                id.unwrap_or_default()
            );
            return Err(DatabricksError::invalid_argument("POST", &path, message));
        }
        self.call(&ApiRequest::create(path, body.clone())).await
    }

    /// Replaces a policy: `PUT …/network-policies/{id}` with the whole object (a full replace:
    /// fields left out are reset, so send back what [`Self::get_network_policy`] returned with
    /// only your fields changed). Retried (writing the same object twice is harmless).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](super::ErrorKind::NotFound) if it does not exist, or the server's
    /// error (e.g. `InvalidParameter` for a bad destination).
    pub async fn replace_network_policy(
        &self,
        id: &str,
        body: &Value,
    ) -> Result<Value, DatabricksError> {
        let request = ApiRequest::put(self.policy_path(id), body.clone());
        self.call(&request).await
    }

    /// Deletes a policy: `DELETE …/network-policies/{id}`. Retried.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](super::ErrorKind::NotFound) if it does not exist (also when a
    /// retried delete had in fact succeeded); the server refuses `default-policy` and, in
    /// practice, a policy still bound to a workspace (field update §2.1, TF #5623).
    pub async fn delete_network_policy(&self, id: &str) -> Result<(), DatabricksError> {
        // The answer's body (empty or `{}`) says nothing more.
        let request = ApiRequest::delete(self.policy_path(id));
        self.execute(&request).await.map(drop)
    }

    /// The policy bound to a workspace: `GET …/workspaces/{id}/network` (§5.2). Retried.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](super::ErrorKind::NotFound) if the workspace does not exist, or the
    /// server's error.
    pub async fn get_workspace_network_policy(
        &self,
        workspace_id: i64,
    ) -> Result<WorkspaceNetworkOption, DatabricksError> {
        let request = ApiRequest::get(self.network_option_path(workspace_id));
        let option: WorkspaceNetworkOption = self.call(&request).await?;
        Ok(with_workspace_id(option, workspace_id))
    }

    /// Binds a policy to a workspace: `PUT …/workspaces/{id}/network` with the flat body
    /// `{"network_policy_id", "workspace_id"}` (§5.2). The binding always exists and is only ever
    /// replaced: set `default-policy` to undo. Retried (setting the same value twice is harmless).
    ///
    /// # Errors
    /// The server's error (`NotFound` for an unknown workspace or policy, …).
    pub async fn set_workspace_network_policy(
        &self,
        workspace_id: i64,
        policy_id: &str,
    ) -> Result<WorkspaceNetworkOption, DatabricksError> {
        let body = json!({ "network_policy_id": policy_id, "workspace_id": workspace_id });
        let request = ApiRequest::put(self.network_option_path(workspace_id), body);
        let option: WorkspaceNetworkOption = self.call(&request).await?;
        Ok(with_workspace_id(option, workspace_id))
    }

    fn policy_path(&self, id: &str) -> String {
        self.account_path(&format!("{BASE}/{}", segment(id)))
    }

    fn network_option_path(&self, workspace_id: i64) -> String {
        self.account_path(&format!("/workspaces/{workspace_id}/network"))
    }
}

/// Fills a `workspace_id` the answer left out (TF #4757: the server may omit it) from the request.
fn with_workspace_id(
    mut option: WorkspaceNetworkOption,
    workspace_id: i64,
) -> WorkspaceNetworkOption {
    if option.workspace_id == 0 {
        option.workspace_id = workspace_id;
    }
    option
}
