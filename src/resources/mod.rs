//! Resource kinds, each defined once.
//!
//! A resource kind (one file each) says everything plink knows about one kind of cloud object,
//! through the [`Resource`] contract:
//! - **identity and lookup** ([`Resource::find`]): the recorded id first, then plink's tags or the
//!   natural key, so that a create whose answer was lost is found instead of made twice;
//! - **creation** ([`Resource::create`]): an intent is written first, with a deterministic
//!   idempotency token where the API takes one;
//! - **comparison** with the desired spec ([`Resource::compare`]): no change, changes made in
//!   place ([`Resource::update`]), or a replacement ([`Found::Replace`]);
//! - **readiness** ([`Resource::readiness`]): the wait condition, composed from small
//!   [`Condition`](crate::engine::Condition)s (kube-runtime style), polled with
//!   [`Resource::refresh`];
//! - **the record** ([`Resource::Record`]): the one type the state keeps for it (lenient: every
//!   field has a default, so the partial record of an interrupted run still reads);
//! - **observation** for `plink status` ([`Resource::observe`]);
//! - **teardown** ([`Resource::teardown`]): everything plink may delete (recorded, tagged, or
//!   left by an unresolved intent), only if plink owns it (its tags say so) or the user asked,
//!   deleted and waited gone; and **recovery** ([`Resource::recover`]) of its record when the
//!   state lost it, for the teardown of what depends on it;
//! - **inventory** for `plink status --orphans` ([`Resource::inventory`]).
//!
//! Nothing else restates these facts: `up` and `plan` are [`converge`] and [`plan`], `down` is
//! [`Resource::teardown`], `status` is [`Resource::observe`] plus the plan's drift, and the
//! orphan scan walks every kind's inventory. A workflow kind (`crate::workflow`) only says which
//! resources it has, how they depend on each other and how each spec derives from the config and
//! the upstream records.

mod contract;
mod cx;
pub mod errors;
mod found;
mod generic;

pub mod acceptance;
pub mod binding;
pub mod bucket_policy;
pub mod buckets;
pub mod coordination;
pub mod endpoint;
pub mod endpoint_service;
pub mod ip_access;
pub mod listener;
pub mod load_balancer;
pub mod memo;
pub mod ncc;
pub mod network;
pub mod network_policy;
pub mod policy_binding;
pub mod preflight;
pub mod rule;
pub mod security_group;
pub mod target_group;
pub mod targets;

/// What every resource operation returns.
pub type Res<T> = Result<T, crate::engine::StepError>;

/// `value` if it is recorded, else the error that `what` is missing from the state file (a bug
/// in the graph, or a state edited by hand: the engine runs the nodes upstream first).
///
/// # Errors
/// [`StepError::Terminal`](crate::engine::StepError::Terminal) naming `what`.
pub fn need(value: &str, what: &str) -> Res<String> {
    if value.is_empty() {
        return Err(crate::engine::StepError::terminal(format!(
            "{what} is missing or malformed in the state file"
        )));
    }
    Ok(value.to_owned())
}

pub use crate::engine::Readiness;
pub use contract::{
    Change, Deleted, Observation, Ownership, Resource, Teardown, TeardownAction, without_nulls,
};
pub use cx::{Cx, DownOptions, Env, Options, wait_scale_from_env};
pub use found::{Found, gone_prefix, with_tagged};
pub use generic::{converge, plan, teardown_deleting, teardown_plan_deleting};
