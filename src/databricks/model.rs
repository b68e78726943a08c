//! Wire types of the APIs plink uses (API reference §2.1, §3.1, §4.2, §5.2; SQL warehouses).
//! Network policies themselves stay raw JSON (see `policies.rs`).
//!
//! # Guarantees
//! - Unknown fields are ignored and missing optional fields default, so a richer server answer
//!   never fails to decode.
//! - Enums keep values they do not know as `Unknown(String)` instead of failing: a new
//!   `connection_state` added by Databricks is reported, not fatal.
//! - Request bodies are flat objects (the API takes the inner object, not a wrapper).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Declares a string enum with a catch-all `Unknown(String)` variant, (de)serialized as its
/// wire string.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this version of plink does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )*
                    Self::Unknown(s) => s,
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $( $wire => Self::$variant, )*
                    _ => Self::Unknown(s),
                }
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_owned()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// `connection_state` of a private endpoint rule (§3.2).
    pub enum ConnectionState {
        /// Endpoint creation in progress; becomes `PENDING` on success.
        Creating = "CREATING",
        /// Creation failed; see `error_message`.
        CreateFailed = "CREATE_FAILED",
        /// Created; waiting for the endpoint service owner to accept the connection.
        Pending = "PENDING",
        /// Accepted and usable by serverless compute (rules are effective only in this state).
        Established = "ESTABLISHED",
        /// Rejected by the endpoint service owner.
        Rejected = "REJECTED",
        /// Removed by the endpoint service owner; delete the rule.
        Disconnected = "DISCONNECTED",
        /// Not accepted within 14 days.
        Expired = "EXPIRED",
    }
}

impl ConnectionState {
    /// Whether the rule can no longer become `ESTABLISHED` by waiting (`CREATE_FAILED`,
    /// `REJECTED`, `DISCONNECTED`, `EXPIRED`).
    pub fn is_failed(&self) -> bool {
        matches!(
            self,
            Self::CreateFailed | Self::Rejected | Self::Disconnected | Self::Expired
        )
    }
}

string_enum! {
    /// `workspace_status` (§4.3).
    pub enum WorkspaceStatus {
        NotProvisioned = "NOT_PROVISIONED",
        /// Being provisioned or updated.
        Provisioning = "PROVISIONING",
        Running = "RUNNING",
        Failed = "FAILED",
        Banned = "BANNED",
        Cancelling = "CANCELLING",
    }
}

/// A network connectivity configuration (NCC), §2.1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkConnectivityConfig {
    /// Server-assigned id (UUID).
    pub network_connectivity_config_id: String,
    /// Name, `^[0-9a-zA-Z-_]{3,30}$`.
    #[serde(default)]
    pub name: String,
    /// Region, e.g. `us-east-1`.
    #[serde(default)]
    pub region: String,
    /// Egress configuration (output only).
    pub egress_config: Option<NccEgressConfig>,
}

/// `egress_config` of an NCC.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NccEgressConfig {
    /// Default rules (stable egress IPs).
    pub default_rules: Option<NccEgressDefaultRules>,
    /// The NCC's private endpoint rules, as the API mirrors them here (reference §2.1).
    pub target_rules: Option<NccEgressTargetRules>,
}

/// `egress_config.target_rules`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NccEgressTargetRules {
    #[serde(default)]
    pub aws_private_endpoint_rules: Vec<PrivateEndpointRule>,
}

/// `egress_config.default_rules`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NccEgressDefaultRules {
    /// AWS: the CIDRs serverless egress originates from.
    pub aws_stable_ip_rule: Option<AwsStableIpRule>,
}

/// `aws_stable_ip_rule`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AwsStableIpRule {
    #[serde(default)]
    pub cidr_blocks: Vec<String>,
}

/// An NCC private endpoint rule, AWS fields (§3.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivateEndpointRule {
    /// Server-assigned id (UUID).
    pub rule_id: String,
    #[serde(default)]
    pub network_connectivity_config_id: String,
    /// Connection state; `None` only if the server omitted it.
    pub connection_state: Option<ConnectionState>,
    pub creation_time: Option<i64>,
    /// True once deletion has started (the rule is purged a day later).
    #[serde(default)]
    pub deactivated: bool,
    pub deactivated_at: Option<i64>,
    /// Details of `CREATE_FAILED` and similar states.
    pub error_message: Option<String>,
    /// AWS endpoint service name (immutable).
    pub endpoint_service: Option<String>,
    /// Target FQDNs (customer endpoint services).
    #[serde(default)]
    pub domain_names: Vec<String>,
    /// S3 bucket names (S3 rules, `s3-native`).
    #[serde(default)]
    pub resource_names: Vec<String>,
    /// S3 rules only: whether the endpoint is active (settable once `ESTABLISHED`).
    pub enabled: Option<bool>,
    /// The Databricks-owned VPC endpoint whose connection must be accepted; empty at first.
    pub vpc_endpoint_id: Option<String>,
}

impl PrivateEndpointRule {
    /// The VPC endpoint id, if the server has assigned one (an empty string counts as none).
    pub fn vpc_endpoint_id(&self) -> Option<&str> {
        self.vpc_endpoint_id.as_deref().filter(|id| !id.is_empty())
    }
}

/// What a new rule reaches: exactly one of `domain_names` / `resource_names`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleTarget {
    /// FQDNs served through a customer VPC endpoint service (at most 10).
    DomainNames(Vec<String>),
    /// S3 bucket names (first-party S3 endpoint service).
    ResourceNames(Vec<String>),
}

/// Body of `create_rule`: `{"endpoint_service", "domain_names" | "resource_names"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateRule {
    /// Full AWS endpoint service name, e.g. `com.amazonaws.vpce.us-east-1.vpce-svc-…` or
    /// `com.amazonaws.us-east-1.s3`.
    pub endpoint_service: String,
    /// The target, flattened into the body as its one key.
    #[serde(flatten)]
    pub target: RuleTarget,
}

impl CreateRule {
    /// A rule to a customer endpoint service serving `domain_names`.
    pub fn domain_names(
        endpoint_service: impl Into<String>,
        domain_names: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            endpoint_service: endpoint_service.into(),
            target: RuleTarget::DomainNames(domain_names.into_iter().map(Into::into).collect()),
        }
    }

    /// A rule to S3 buckets.
    pub fn resource_names(
        endpoint_service: impl Into<String>,
        resource_names: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            endpoint_service: endpoint_service.into(),
            target: RuleTarget::ResourceNames(resource_names.into_iter().map(Into::into).collect()),
        }
    }
}

/// A field of a rule that `update_rule` can change; the names are the `update_mask` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleField {
    /// `domain_names` (full replacement).
    DomainNames,
    /// `resource_names` (full replacement).
    ResourceNames,
    /// `enabled` (S3 rules only, once `ESTABLISHED`).
    Enabled,
}

impl RuleField {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleField::DomainNames => "domain_names",
            RuleField::ResourceNames => "resource_names",
            RuleField::Enabled => "enabled",
        }
    }
}

/// New values for `update_rule`; only the fields named in the mask are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateRule {
    pub domain_names: Option<Vec<String>>,
    pub resource_names: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// A workspace (§4.2); fields plink does not use are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    pub workspace_id: i64,
    pub workspace_name: Option<String>,
    pub aws_region: Option<String>,
    pub network_connectivity_config_id: Option<String>,
    pub workspace_status: Option<WorkspaceStatus>,
    pub workspace_status_message: Option<String>,
    /// The first label of the workspace's own host, `https://<deployment_name>.<domain>` (§1.1).
    pub deployment_name: Option<String>,
}

/// The network policy bound to a workspace (§5.2): every workspace has exactly one,
/// `default-policy` unless set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceNetworkOption {
    #[serde(default)]
    pub workspace_id: i64,
    #[serde(default)]
    pub network_policy_id: String,
}

/// A SQL warehouse (`GET /api/2.0/sql/warehouses`, the SDK's `EndpointInfo`); other fields are
/// ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warehouse {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// `STARTING`, `RUNNING`, `STOPPING`, `STOPPED`, `DELETED`, …
    pub state: Option<String>,
}

/// One page of a list answer: `{"items": [...], "next_page_token": "..."}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Page<T> {
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_states_are_kept() {
        let s: ConnectionState = serde_json::from_str("\"QUARANTINED\"").unwrap();
        assert_eq!(s, ConnectionState::Unknown("QUARANTINED".into()));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"QUARANTINED\"");
        let s: ConnectionState = serde_json::from_str("\"ESTABLISHED\"").unwrap();
        assert_eq!(s, ConnectionState::Established);
    }

    #[test]
    fn create_rule_is_flat() {
        let body = serde_json::to_value(CreateRule::resource_names(
            "com.amazonaws.us-east-1.s3",
            ["b"],
        ))
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"endpoint_service": "com.amazonaws.us-east-1.s3", "resource_names": ["b"]})
        );
    }
}
