//! What each command does, independent of how it is invoked or rendered (cargo's `ops`).

pub mod denials;
mod deployment;
pub mod down;
pub mod ip_check;
pub mod orphans;
pub mod plan;
pub mod plan_view;
pub mod preflight;
pub mod state_copy;
pub mod status;

pub use deployment::{Deployment, DeploymentSetError, StateChoice};
pub mod up;
pub mod verify;
