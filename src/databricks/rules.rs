//! NCC private endpoint rules (API reference §3):
//! `/api/2.0/accounts/{account_id}/network-connectivity-configs/{ncc_id}/private-endpoint-rules`.

use serde_json::{Map, Value, json};

use super::client::{AccountClient, ApiRequest};
use super::error::{DatabricksError, ResultExt};
use super::http::segment;
use super::model::{CreateRule, PrivateEndpointRule, RuleField, RuleTarget, UpdateRule};

impl AccountClient {
    fn rules_path(&self, ncc_id: &str) -> String {
        self.account_path(&format!(
            "/network-connectivity-configs/{}/private-endpoint-rules",
            segment(ncc_id)
        ))
    }

    fn rule_path(&self, ncc_id: &str, rule_id: &str) -> String {
        format!("{}/{}", self.rules_path(ncc_id), segment(rule_id))
    }

    /// Creates a rule: `POST …/private-endpoint-rules` with the flat body
    /// `{"endpoint_service", "domain_names" | "resource_names"}`. The answer usually has
    /// `connection_state` `CREATING` and no `vpc_endpoint_id` yet: poll [`Self::get_rule`].
    ///
    /// **Not retried** (no idempotency token exists, and creates are known to time out after
    /// committing): after an [`Ambiguous`](super::ErrorKind::Ambiguous) error, look the rule up with
    /// [`Self::list_rules`] by `endpoint_service` + names before creating it again.
    ///
    /// # Errors
    /// `InvalidParameter` without a request if `endpoint_service` or the name list is empty;
    /// otherwise the server's error.
    pub async fn create_rule(
        &self,
        ncc_id: &str,
        rule: &CreateRule,
    ) -> Result<PrivateEndpointRule, DatabricksError> {
        let path = self.rules_path(ncc_id);
        let names = match &rule.target {
            RuleTarget::DomainNames(n) | RuleTarget::ResourceNames(n) => n,
        };
        if rule.endpoint_service.trim().is_empty() || names.is_empty() {
            return Err(DatabricksError::invalid_argument(
                "POST",
                &path,
                "a private endpoint rule needs an endpoint_service and at least one domain or \
                 resource name",
            ));
        }
        let body = serde_json::to_value(rule)
            .map_err(|e| DatabricksError::invalid_argument("POST", &path, e.to_string()))?;
        self.call(&ApiRequest::create(path, body)).await
    }

    /// Reads a rule: `GET …/private-endpoint-rules/{rule_id}`. Retried.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](super::ErrorKind::NotFound) if it does not exist (or was purged a
    /// day after deletion), or the server's error.
    pub async fn get_rule(
        &self,
        ncc_id: &str,
        rule_id: &str,
    ) -> Result<PrivateEndpointRule, DatabricksError> {
        self.call(&ApiRequest::get(self.rule_path(ncc_id, rule_id)))
            .await
    }

    /// Lists every rule of an NCC (deactivated ones included while the server still shows
    /// them), following `next_page_token` through all pages. Retried (each page).
    ///
    /// # Errors
    /// The server's error.
    pub async fn list_rules(
        &self,
        ncc_id: &str,
    ) -> Result<Vec<PrivateEndpointRule>, DatabricksError> {
        self.list_all(&self.rules_path(ncc_id)).await
    }

    /// Updates a rule: `PATCH …/private-endpoint-rules/{rule_id}?update_mask=a,b` with a flat
    /// body holding exactly the masked fields (an explicit `false` or empty list is sent as
    /// such). Retried (the update is idempotent).
    ///
    /// # Errors
    /// `InvalidParameter` without a request if `mask` is empty (the server would answer "Update
    /// mask must be specified") or names a field `update` has no value for; otherwise the
    /// server's error (e.g. `enabled` before `ESTABLISHED`, or on a non-S3 rule).
    pub async fn update_rule(
        &self,
        ncc_id: &str,
        rule_id: &str,
        mask: &[RuleField],
        update: &UpdateRule,
    ) -> Result<PrivateEndpointRule, DatabricksError> {
        let path = self.rule_path(ncc_id, rule_id);
        let refuse = |m: String| DatabricksError::invalid_argument("PATCH", &path, m);
        if mask.is_empty() {
            return Err(refuse("update_rule needs a non-empty update mask".into()));
        }
        let mut fields: Vec<RuleField> = mask.to_vec();
        fields.sort();
        fields.dedup();
        let mut body = Map::new();
        for field in &fields {
            let value = match field {
                RuleField::DomainNames => update.domain_names.as_ref().map(|v| json!(v)),
                RuleField::ResourceNames => update.resource_names.as_ref().map(|v| json!(v)),
                RuleField::Enabled => update.enabled.map(Value::Bool),
            };
            let Some(value) = value else {
                return Err(refuse(format!(
                    "{} is in the update mask but has no value",
                    field.as_str()
                )));
            };
            body.insert(field.as_str().to_owned(), value);
        }
        let mask = fields
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let request = ApiRequest::patch(path, Value::Object(body)).query("update_mask", mask);
        self.call(&request).await
    }

    /// Deletes a rule: `DELETE …/private-endpoint-rules/{rule_id}`; returns the rule, now
    /// `deactivated` (AWS purges it a day later). Retried.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](super::ErrorKind::NotFound) if it does not exist (also when a
    /// retried delete had in fact succeeded); see [`Self::delete_rule_if_exists`].
    pub async fn delete_rule(
        &self,
        ncc_id: &str,
        rule_id: &str,
    ) -> Result<PrivateEndpointRule, DatabricksError> {
        self.call(&ApiRequest::delete(self.rule_path(ncc_id, rule_id)))
            .await
    }

    /// [`Self::delete_rule`], with "already gone" (404) as `Ok(None)`. Retried.
    ///
    /// # Errors
    /// Any error other than not-found.
    pub async fn delete_rule_if_exists(
        &self,
        ncc_id: &str,
        rule_id: &str,
    ) -> Result<Option<PrivateEndpointRule>, DatabricksError> {
        self.delete_rule(ncc_id, rule_id).await.optional()
    }
}
