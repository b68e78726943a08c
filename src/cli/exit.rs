//! Exit codes, documented in the README and `plink --help`.
//!
//! One place maps every error to its code, by looking at the typed error anywhere in the
//! `anyhow` chain (cargo's `CliError` pattern).

use crate::config::ConfigError;
use crate::engine::{EngineError, ErrorClass, StepError};
use crate::ops::DeploymentSetError;
use crate::ops::preflight::PreflightFailed;
use crate::ops::up::ConnectError;
use crate::state::StateError;

// What each code means is in [`HELP`], shown by `plink --help`.
pub const OK: u8 = 0;
pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;
pub const INVALID_WORKFLOW: u8 = 3;
pub const STEP_FAILED: u8 = 4;
pub const TIMED_OUT: u8 = 5;
pub const LOCKED: u8 = 6;
pub const STATE_UNREADABLE: u8 = 7;
pub const CANNOT_CONNECT: u8 = 8;
pub const PLAN_HAS_CHANGES: u8 = 10;
pub const NCC_KEPT: u8 = 11;
pub const INTERRUPTED: u8 = 130;

/// The exit code for `error`.
pub fn code_for(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<StateError>() {
            return state_code(e);
        }
        if cause.downcast_ref::<ConfigError>().is_some()
            || cause.downcast_ref::<DeploymentSetError>().is_some()
        {
            return INVALID_WORKFLOW;
        }
        if let Some(e) = cause.downcast_ref::<EngineError>() {
            return match e {
                EngineError::State(s) => state_code(s),
                _ => FAILURE,
            };
        }
        if let Some(e) = cause.downcast_ref::<StepError>() {
            return step_code(e);
        }
        if cause.downcast_ref::<PreflightFailed>().is_some() {
            return STEP_FAILED;
        }
        if cause.downcast_ref::<ConnectError>().is_some() {
            return CANNOT_CONNECT;
        }
        // `plink verify` on a kind that opens no path, or a workspace not the deployment's.
        if cause
            .downcast_ref::<crate::ops::verify::VerifyError>()
            .is_some()
        {
            return USAGE;
        }
    }
    FAILURE
}

/// The exit code for a failed step.
pub fn step_code(e: &StepError) -> u8 {
    match e {
        StepError::Timeout { .. } => TIMED_OUT,
        StepError::Interrupted => INTERRUPTED,
        StepError::State(s) => state_code(s),
        _ => match e.class() {
            ErrorClass::Retryable | ErrorClass::Terminal | ErrorClass::NeedsUser => STEP_FAILED,
        },
    }
}

fn state_code(e: &StateError) -> u8 {
    match e {
        StateError::Locked { .. } => LOCKED,
        StateError::Unreadable { .. }
        | StateError::NewerSchema { .. }
        | StateError::WrongDeployment { .. }
        | StateError::WrongKind { .. }
        | StateError::Moved { .. }
        | StateError::Missing { .. }
        | StateError::OtherLineage { .. }
        | StateError::Newer { .. } => STATE_UNREADABLE,
        // Another machine wrote the shared state: like a lock, someone else is at work.
        StateError::Stale { .. } => LOCKED,
        // A state bucket that is missing or refuses the credentials, before anything else.
        StateError::Remote { .. } => CANNOT_CONNECT,
        StateError::Io { .. } | StateError::Hook(_) | StateError::ReadOnly { .. } => FAILURE,
    }
}

/// The table shown in `plink --help`.
pub const HELP: &str = "\
Exit codes:
  0    success (plan: no changes)
  1    unexpected failure
  2    bad command-line usage
  3    invalid workflow file (nothing was touched)
  4    a step failed and needs you (the message says what to do)
  5    a wait timed out (state saved; running the same `up` or `down` again resumes)
  6    the deployment is locked by another plink command (on S3: or another machine wrote
       its state meanwhile; nothing was written)
  7    the state cannot be read or used here (left untouched; the message says why: corrupt,
       another deployment or kind, moved by `state migrate`, another history)
  8    cannot connect or authenticate to AWS or Databricks, or reach the state bucket (the
       message says which setting)
  10   plan: `up` would change something
  11   down: torn down except the NCC, kept because workspaces are still bound to it
       (use --rebind-to) or it has other rules
  130  interrupted (state saved; running the same `up` or `down` again resumes)";
