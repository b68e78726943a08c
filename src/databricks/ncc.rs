//! Network connectivity configurations (API reference §2):
//! `/api/2.0/accounts/{account_id}/network-connectivity-configs`.

use serde_json::json;

use super::client::{AccountClient, ApiRequest};
use super::error::DatabricksError;
use super::http::segment;
use super::model::NetworkConnectivityConfig;

const BASE: &str = "/network-connectivity-configs";

impl AccountClient {
    /// Creates an NCC: `POST …/network-connectivity-configs` with `{"name", "region"}`.
    ///
    /// **Not retried** (no idempotency token exists): after an
    /// [`Ambiguous`](super::ErrorKind::Ambiguous) error, look the NCC up by `name` + `region` (with
    /// [`Self::list_nccs`]) before creating it again.
    ///
    /// # Errors
    /// `InvalidParameter` without a request if `name` does not match `^[0-9a-zA-Z-_]{3,30}$` or
    /// `region` is empty; otherwise the server's error (`QuotaExceeded` past 10 NCCs per region, …).
    pub async fn create_ncc(
        &self,
        name: &str,
        region: &str,
    ) -> Result<NetworkConnectivityConfig, DatabricksError> {
        let path = self.account_path(BASE);
        let refuse = |message: &str| Err(DatabricksError::invalid_argument("POST", &path, message));
        let valid_name = (3..=30).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid_name {
            return refuse(&format!(
                "NCC name {name:?} is invalid: 3 to 30 characters among letters, digits, '-' and '_'"
            ));
        }
        if region.trim().is_empty() {
            return refuse("NCC region must not be empty");
        }
        let body = json!({ "name": name, "region": region });
        self.call(&ApiRequest::create(path, body)).await
    }

    /// Reads an NCC: `GET …/network-connectivity-configs/{id}`. Retried.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](super::ErrorKind::NotFound) if it does not exist (use
    /// [`ResultExt::optional`](super::ResultExt::optional)), or the server's error.
    pub async fn get_ncc(
        &self,
        ncc_id: &str,
    ) -> Result<NetworkConnectivityConfig, DatabricksError> {
        let path = self.account_path(&format!("{BASE}/{}", segment(ncc_id)));
        self.call(&ApiRequest::get(path)).await
    }

    /// Lists every NCC of the account, following `next_page_token` through all pages. Retried
    /// (each page).
    ///
    /// # Errors
    /// The server's error, or [`ErrorKind::Decode`](super::ErrorKind::Decode) if the pages never
    /// end.
    pub async fn list_nccs(&self) -> Result<Vec<NetworkConnectivityConfig>, DatabricksError> {
        self.list_all(&self.account_path(BASE)).await
    }

    /// Deletes an NCC: `DELETE …/network-connectivity-configs/{id}`. Retried.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](super::ErrorKind::NotFound) if it does not exist (also when a
    /// retried delete had in fact succeeded); the server refuses while rules or workspaces still
    /// use the NCC, and that condition is eventually consistent (retry later).
    pub async fn delete_ncc(&self, ncc_id: &str) -> Result<(), DatabricksError> {
        let path = self.account_path(&format!("{BASE}/{}", segment(ncc_id)));
        // The answer's body (empty or `{}`) says nothing more.
        self.execute(&ApiRequest::delete(path)).await.map(drop)
    }
}
