//! Mapping client errors to the engine's classes (retryable, terminal, needs the user).

use crate::aws::{AwsError, ErrorKind as AwsErrorKind};
use crate::databricks::{DatabricksError, ErrorClass as DbClass};
use crate::engine::StepError;

/// A Databricks error as a step error, keeping the client's classification and hint.
pub fn databricks(context: &str, e: DatabricksError) -> StepError {
    let message = format!("{context}: {e}");
    match e.class() {
        DbClass::Retryable => StepError::retryable(message),
        DbClass::Terminal => StepError::terminal(message),
        DbClass::NeedsUser { hint } => StepError::needs_user(message, hint),
    }
}

/// An AWS error as a step error: throttling, 5xx and transport failures are retried (every
/// AWS create of plink is idempotent by token or name); missing permissions and quotas need the
/// user; anything else is terminal.
pub fn aws(context: &str, e: AwsError) -> StepError {
    if e.is_retryable() {
        return StepError::retryable(format!("{context}: {e}"));
    }
    // The error's text carries its hint on a line of its own.
    let text = e.to_string();
    match (e.kind, text.split_once("\n  hint: ")) {
        (AwsErrorKind::AccessDenied | AwsErrorKind::Quota, Some((message, hint))) => {
            StepError::needs_user(format!("{context}: {message}"), hint)
        }
        _ => StepError::terminal(format!("{context}: {text}")),
    }
}
