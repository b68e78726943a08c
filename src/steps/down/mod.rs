//! The teardown graph of `s3-privatelink` (`plink down`), one file per step.
//!
//! The same engine runs it as the `up` graph, with the dependencies reversed:
//!
//! ```text
//! down_rule ─┬─ down_connections ─ down_endpoint_service ─ down_listener ─┬─ down_load_balancer
//!            │                                                            └─ down_target_group
//!            ├─ down_endpoint ─ down_security_group
//!            └─ down_ncc
//! ```
//!
//! Every step follows the engine's contract from the other side (kube-rs finalizers: cleanup
//! tolerates apply never having run):
//! - it finds its resources from what the `up` steps recorded, and — so that a crash between a
//!   create and its record leaves nothing behind — by plink's tags for this deployment, the
//!   natural key, or the `up` step's unresolved intent;
//! - "already gone" and "never created" are success;
//! - it writes an intent before each delete and records what it did (`deleted`, `rejected`, …);
//! - it deletes **only what plink created**: AWS resources carrying plink's tags for this
//!   deployment (a resource `up` adopted by name, recorded or not, carries none and is released);
//!   a user-supplied security group never; adopted resources and an adopted NCC only with
//!   `--delete-adopted`.
//!
//! `up` records are cleared by `ops::down` once every step is done, not here: until then a
//! resumed `down` (after `kill -9`) reads them again.

mod connections;
mod endpoint;
mod endpoint_service;
mod listener;
mod load_balancer;
mod ncc;
pub mod outputs;
mod records;
mod rule;
mod security_group;
mod target_group;

use std::sync::Arc;

use crate::aws::{TagQuery, Tags};
use crate::engine::{Step, StepContext};

use super::Env;
pub use ncc::{DELETE_SETTLE_TIMEOUT, check_rebind_target};

/// What the user asked of `plink down`.
#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    /// Switch the workspaces still bound to the deployment's NCC to this NCC (same region), so
    /// that the deployment's NCC can be deleted. A binding can be switched, never removed.
    pub rebind_to: Option<String>,
    /// Delete the NCC even if plink adopted it (it existed before `plink up`).
    pub delete_adopted: bool,
}

/// What every teardown step shares.
#[derive(Clone)]
pub(crate) struct Down {
    pub env: Env,
    pub opts: Arc<DownOptions>,
}

impl Down {
    /// The deployment's name (the value of plink's `plink:deployment` tag).
    pub fn deployment(&self) -> &str {
        self.env.workflow.deployment.as_str()
    }

    /// The tag query for what `step` of this deployment created.
    pub fn tagged(&self, step: &str) -> TagQuery {
        TagQuery::deployment(self.deployment()).step(step)
    }

    /// Whether `tags` say the resource was created by `step` of this deployment.
    pub fn is_ours(&self, tags: &Tags, step: &str) -> bool {
        self.tagged(step).matches(tags)
    }

    /// Whether teardown may delete `what`: plink created it (its tags say so — recorded or not,
    /// an AWS resource plink adopted by name carries none), or the user passed
    /// `--delete-adopted`. Says so when it leaves something in place.
    pub fn owns(&self, cx: &StepContext, tags: &Tags, step: &str, what: &str) -> bool {
        if self.is_ours(tags, step) {
            return true;
        }
        if self.opts.delete_adopted {
            cx.note(format!(
                "deleting {what} although plink did not create it (--delete-adopted)"
            ));
            return true;
        }
        cx.note(format!("releasing {what}: plink did not create it (no plink tags for this deployment), so it stays"));
        false
    }
}

/// The teardown steps in an order compatible with their dependencies (for display).
pub const STEP_ORDER: &[&str] = &[
    "down_rule",
    "down_connections",
    "down_endpoint_service",
    "down_listener",
    "down_load_balancer",
    "down_target_group",
    "down_endpoint",
    "down_security_group",
    "down_ncc",
];

/// Why plink rejects the connection of a rule it just deleted (shown by `down_rule`).
pub const DEACTIVATION_NOTE: &str = "Databricks does not delete a rule at once: it deactivates it \
     and keeps its VPC endpoint connected to your endpoint service for up to a day (its docs allow \
     up to 7 days). plink rejects that connection itself so that the endpoint service can be \
     deleted now.";

/// The teardown graph of `s3-privatelink`.
pub fn s3_privatelink_down(env: Env, options: DownOptions) -> Vec<Arc<dyn Step>> {
    let d = Down {
        env,
        opts: Arc::new(options),
    };
    vec![
        Arc::new(rule::DownRule(d.clone())),
        Arc::new(connections::DownConnections(d.clone())),
        Arc::new(endpoint_service::DownEndpointService(d.clone())),
        Arc::new(listener::DownListener(d.clone())),
        Arc::new(load_balancer::DownLoadBalancer(d.clone())),
        Arc::new(target_group::DownTargetGroup(d.clone())),
        Arc::new(endpoint::DownEndpoint(d.clone())),
        Arc::new(security_group::DownSecurityGroup(d.clone())),
        Arc::new(ncc::DownNcc(d)),
    ]
}
