//! Workspace IP access lists and their switch (API reference §6.1, §6.2), on the workspace's own
//! host: `/api/2.0/ip-access-lists` and `/api/2.0/workspace-conf` (`enableIpAccessLists`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::ApiRequest;
use super::error::DatabricksError;
use super::http::segment;
use super::sql::WorkspaceClient;

const LISTS: &str = "/api/2.0/ip-access-lists";
const CONF: &str = "/api/2.0/workspace-conf";
/// The workspace-conf key of the switch; its values are the strings `"true"` / `"false"`.
pub const ENABLE_KEY: &str = "enableIpAccessLists";

/// One IP access list (`IpAccessListInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IpAccessList {
    pub list_id: String,
    pub label: String,
    /// `ALLOW` or `BLOCK`.
    pub list_type: String,
    pub ip_addresses: Vec<String>,
    pub enabled: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Lists {
    ip_access_lists: Vec<IpAccessList>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct One {
    ip_access_list: IpAccessList,
}

impl WorkspaceClient {
    /// Every IP access list of the workspace (not paged). Retried.
    ///
    /// # Errors
    /// The server's error (`PermissionDenied` when the lists block plink's own address).
    pub async fn list_ip_access_lists(&self) -> Result<Vec<IpAccessList>, DatabricksError> {
        let lists: Lists = self.call(ApiRequest::get(LISTS.into())).await?;
        Ok(lists.ip_access_lists)
    }

    /// Creates a list. **Not retried** (no idempotency token): after an ambiguous error, look
    /// it up by label with [`Self::list_ip_access_lists`] before creating it again.
    ///
    /// # Errors
    /// The server's error: `QuotaExceeded` past 1000 values, `InvalidState` when the change
    /// would block the caller.
    pub async fn create_ip_access_list(
        &self,
        label: &str,
        list_type: &str,
        ip_addresses: &[String],
    ) -> Result<IpAccessList, DatabricksError> {
        let body = json!({"label": label, "list_type": list_type, "ip_addresses": ip_addresses});
        let one: One = self.call(ApiRequest::create(LISTS.into(), body)).await?;
        Ok(one.ip_access_list)
    }

    /// Sets a list's type, addresses and enabled flag (`PATCH`; the label stays). Retried: the
    /// same values twice are harmless.
    ///
    /// # Errors
    /// As [`Self::create_ip_access_list`]; `NotFound` when it is gone.
    pub async fn update_ip_access_list(
        &self,
        list_id: &str,
        list_type: &str,
        ip_addresses: &[String],
        enabled: bool,
    ) -> Result<(), DatabricksError> {
        let body =
            json!({"list_type": list_type, "ip_addresses": ip_addresses, "enabled": enabled});
        let path = format!("{LISTS}/{}", segment(list_id));
        self.send(ApiRequest::patch(path, body)).await.map(drop)
    }

    /// Deletes a list. Retried.
    ///
    /// # Errors
    /// `NotFound` when it is already gone (also after a retried delete that had succeeded).
    pub async fn delete_ip_access_list(&self, list_id: &str) -> Result<(), DatabricksError> {
        let path = format!("{LISTS}/{}", segment(list_id));
        self.send(ApiRequest::delete(path)).await.map(drop)
    }

    /// Whether the lists are enforced (`enableIpAccessLists`; unset means off). Retried.
    ///
    /// # Errors
    /// The server's error.
    pub async fn ip_access_enabled(&self) -> Result<bool, DatabricksError> {
        let conf: Value = self
            .call(ApiRequest::get(CONF.into()).query("keys", ENABLE_KEY.into()))
            .await?;
        Ok(conf.get(ENABLE_KEY).and_then(Value::as_str) == Some("true"))
    }

    /// Switches enforcement on or off (`PATCH` with a string value; the answer may be empty).
    /// Retried.
    ///
    /// # Errors
    /// The server's error (`InvalidState` when switching on would block the caller).
    pub async fn set_ip_access_enabled(&self, enabled: bool) -> Result<(), DatabricksError> {
        let body = json!({ ENABLE_KEY: enabled.to_string() });
        self.send(ApiRequest::patch(CONF.into(), body))
            .await
            .map(drop)
    }
}
