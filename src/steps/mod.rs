//! The steps of the `s3-privatelink` workflow (seed 001), one file each.
//!
//! Every step follows the engine's contract ([`crate::engine::Step`]): find what exists
//! (recorded id, then plink's tags or the natural key), create only what is missing — intent
//! first, deterministic idempotency token where the API takes one — record the result at once,
//! then wait for the target state.

mod accept;
mod bind;
pub mod coordination;
pub mod down;
mod endpoint;
mod endpoint_service;
mod env;
pub mod errors;
mod established;
mod found;
mod listener;
mod load_balancer;
mod ncc;
mod network;
pub mod outputs;
mod rule;
mod security_group;
mod target_group;
mod targets;

use std::sync::Arc;

pub use down::{DownOptions, s3_privatelink_down};
pub use env::{Env, StepEnv, wait_scale_from_env};
pub use established::{days_left, pending_text};

use crate::engine::Step;

/// The step graph of `s3-privatelink`. Independent branches (endpoint, NLB, target group, NCC)
/// run concurrently; see [`crate::workflow::STEP_ORDER`] for a display order.
pub fn s3_privatelink(env: Env) -> Vec<Arc<dyn Step>> {
    vec![
        Arc::new(network::NetworkStep(env.clone())),
        Arc::new(security_group::SecurityGroupStep(env.clone())),
        Arc::new(endpoint::EndpointStep(env.clone())),
        Arc::new(load_balancer::LoadBalancerStep(env.clone())),
        Arc::new(target_group::TargetGroupStep(env.clone())),
        Arc::new(targets::TargetsStep(env.clone())),
        Arc::new(listener::ListenerStep(env.clone())),
        Arc::new(endpoint_service::EndpointServiceStep(env.clone())),
        Arc::new(ncc::NccStep(env.clone())),
        Arc::new(rule::RuleStep(env.clone())),
        Arc::new(accept::AcceptStep(env.clone())),
        Arc::new(established::EstablishedStep(env.clone())),
        Arc::new(bind::BindStep(env)),
    ]
}
