//! Workspaces (API reference §4): `/api/2.0/accounts/{account_id}/workspaces`.

use serde_json::json;

use super::client::{AccountClient, ApiRequest};
use super::error::DatabricksError;
use super::model::Workspace;

impl AccountClient {
    /// Lists the account's workspaces (the answer is a bare JSON array, not paged). Retried.
    ///
    /// # Errors
    /// The server's error.
    pub async fn list_workspaces(&self) -> Result<Vec<Workspace>, DatabricksError> {
        self.call(&ApiRequest::get(self.account_path("/workspaces")))
            .await
    }

    /// Reads a workspace: `GET …/workspaces/{workspace_id}`. Retried.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](super::ErrorKind::NotFound) if it does not exist, or the server's
    /// error.
    pub async fn get_workspace(&self, workspace_id: i64) -> Result<Workspace, DatabricksError> {
        self.call(&ApiRequest::get(
            self.account_path(&format!("/workspaces/{workspace_id}")),
        ))
        .await
    }

    /// Attaches an NCC to a workspace:
    /// `PATCH …/workspaces/{id}?update_mask=network_connectivity_config_id` with the flat body
    /// `{"network_connectivity_config_id": …}`; returns the updated workspace. Retried (setting
    /// the same value twice is harmless).
    ///
    /// # Caveats
    /// A workspace has at most one NCC: this silently replaces another one, and an NCC cannot be
    /// detached again (only switched). Check [`Workspace::network_connectivity_config_id`]
    /// first. The workspace may go through `PROVISIONING`; poll [`Self::get_workspace`] until
    /// `RUNNING`.
    ///
    /// # Errors
    /// The server's error (e.g. region mismatch, more than 50 workspaces on the NCC).
    pub async fn update_workspace_ncc(
        &self,
        workspace_id: i64,
        ncc_id: &str,
    ) -> Result<Workspace, DatabricksError> {
        let path = self.account_path(&format!("/workspaces/{workspace_id}"));
        let body = json!({ "network_connectivity_config_id": ncc_id });
        let request = ApiRequest::patch(path, body)
            .query("update_mask", "network_connectivity_config_id".to_owned());
        self.call(&request).await
    }
}
