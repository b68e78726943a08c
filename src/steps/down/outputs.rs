//! What each teardown step records, read by `ops::down` and shown by `status`.
//!
//! Every field is always written (no `skip_serializing_if`), so that a record replaces the one
//! an earlier teardown of the same deployment left.

use serde::{Deserialize, Serialize};

/// `down_rule`: the private endpoint rules deleted (Databricks deactivates them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleDown {
    pub ncc_id: String,
    pub deleted_rule_ids: Vec<String>,
    /// The Databricks VPC endpoints of those rules (they stay connected until rejected or purged).
    pub vpc_endpoint_ids: Vec<String>,
}

/// `down_connections`: the connections rejected on plink's endpoint service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectionsDown {
    pub service_id: String,
    pub rejected_vpc_endpoint_ids: Vec<String>,
}

/// `down_endpoint_service`, `down_listener`, `down_load_balancer`, `down_target_group`,
/// `down_endpoint`, `down_security_group`: the AWS resources deleted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Deleted {
    pub deleted: Vec<String>,
}

/// What became of the deployment's NCC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NccOutcome {
    /// plink created it and deleted it.
    Deleted,
    /// plink adopted it: left in place, forgotten by the state.
    Released,
    /// plink created it but could not delete it: workspaces are still bound to it (a binding can
    /// be switched, never removed) or it has other live rules. It stays in the state.
    Kept,
    /// It no longer existed.
    Gone,
}

/// A workspace `down --rebind-to` switched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rebound {
    pub workspace_id: i64,
    pub from_ncc_id: String,
    pub to_ncc_id: String,
}

/// `down_ncc`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NccDown {
    pub ncc_id: String,
    pub name: String,
    pub outcome: NccOutcome,
    pub created_by_plink: bool,
    /// Workspaces still bound to it (when kept or released).
    pub bound_workspaces: Vec<i64>,
    /// Live private endpoint rules that are not this deployment's (when kept).
    pub other_rule_ids: Vec<String>,
    /// Workspaces switched to another NCC by `--rebind-to`.
    pub rebound: Vec<Rebound>,
    /// The NCC each bound workspace had before `plink up --replace-ncc-binding` switched it, if
    /// plink recorded one (the natural `--rebind-to` target).
    pub previous_ncc_ids: Vec<String>,
}
