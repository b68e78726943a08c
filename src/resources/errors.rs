//! Mapping client errors to the engine's classes (retryable, terminal, needs the user).
//!
//! The step error's message is the client error's summary; the client error itself is kept as the
//! step error's [`source`](std::error::Error::source), so that `-v` output can show the AWS
//! request id, or the Databricks error code and request id.

use crate::aws::{AwsError, ErrorKind};
use crate::databricks::{DatabricksError, ErrorClass as DbClass};
use crate::engine::StepError;

/// A Databricks error as a step error, keeping the client's classification and hint.
pub fn databricks(context: &str, e: DatabricksError) -> StepError {
    let message = format!("{context}: {}", e.summary());
    let err = match e.class() {
        DbClass::Retryable => StepError::retryable(message),
        DbClass::Terminal => StepError::terminal(message),
        DbClass::NeedsUser { hint } => StepError::needs_user(message, hint),
    };
    err.with_source(e)
}

/// An AWS error as a step error: throttling, 5xx and transport failures are retried (every
/// AWS create of plink is idempotent by token or name); missing permissions and quotas need the
/// user; anything else is terminal.
pub fn aws(context: &str, e: AwsError) -> StepError {
    let message = format!("{context}: {}", e.summary());
    let err = match (e.is_retryable(), e.hint()) {
        (true, _) => StepError::retryable(message),
        (false, Some(hint)) => StepError::needs_user(message, hint),
        (false, None) => StepError::terminal(message),
    };
    err.with_source(e)
}

/// An AWS error of a lookup of what the workflow file names: nothing or too much matches
/// (`NotFound`, `Invalid`) is the file's to fix, with `hint`; anything else as [`aws`]. Without
/// it, the preflight took a VPC that no tag matches for a read it could not make and told the
/// user to check the credentials' permissions.
pub fn aws_lookup(context: &str, hint: &str, e: AwsError) -> StepError {
    match e.kind {
        ErrorKind::NotFound | ErrorKind::Invalid => {
            StepError::needs_user(format!("{context}: {}", e.summary()), hint).with_source(e)
        }
        _ => aws(context, e),
    }
}

/// An AWS error of a delete: a conflict (something that is going away still uses it) is
/// retried; anything else as [`aws`].
pub fn aws_delete(context: &str, e: AwsError) -> StepError {
    if e.kind == ErrorKind::Conflict {
        return StepError::retryable(format!("{context}: {}", e.summary()));
    }
    aws(context, e)
}
