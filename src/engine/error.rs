use std::time::Duration;

use crate::state::StateError;

/// How the engine must treat an error (field notes §C.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Transient (throttling, 5xx, network): the engine retries the step with backoff.
    Retryable,
    /// Will not get better by retrying; the run stops for this branch.
    Terminal,
    /// The user must act (fix a setting, a permission, a quota); the message says what.
    NeedsUser,
}

/// The error of one step.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Transient; retried by the engine with capped exponential backoff and jitter.
    #[error("{message}")]
    Retryable { message: String },

    /// Permanent failure of the step.
    #[error("{message}{}", hint_suffix(hint))]
    Terminal {
        message: String,
        hint: Option<String>,
    },

    /// The user must do something; `hint` says what.
    #[error("{message}\n  hint: {hint}")]
    NeedsUser { message: String, hint: String },

    /// A wait ran out of time. Nothing is lost: the next `plink up` resumes the wait.
    #[error("timed out after {} waiting for {what} (last seen: {last_seen}); run `plink up` again to resume waiting", humantime::format_duration(*waited))]
    Timeout {
        what: String,
        waited: Duration,
        last_seen: String,
    },

    /// Stopped by Ctrl-C after persisting everything done so far.
    #[error("interrupted")]
    Interrupted,

    /// The state could not be written: the run cannot go on safely.
    #[error(transparent)]
    State(#[from] StateError),
}

fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_ref()
        .map(|h| format!("\n  hint: {h}"))
        .unwrap_or_default()
}

impl StepError {
    /// A transient error.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::Retryable {
            message: message.into(),
        }
    }

    /// A permanent error without a hint.
    pub fn terminal(message: impl Into<String>) -> Self {
        Self::Terminal {
            message: message.into(),
            hint: None,
        }
    }

    /// A permanent error with a hint of what to do.
    pub fn terminal_with_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::Terminal {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// An error the user must fix.
    pub fn needs_user(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::NeedsUser {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// How the engine treats this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Retryable { .. } => ErrorClass::Retryable,
            Self::NeedsUser { .. } => ErrorClass::NeedsUser,
            Self::Terminal { .. } | Self::Timeout { .. } | Self::Interrupted | Self::State(_) => {
                ErrorClass::Terminal
            }
        }
    }
}

/// Why a run could not start or had to stop as a whole.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("workflow graph: step `{step}` depends on unknown step `{dependency}`")]
    UnknownDependency { step: String, dependency: String },
    #[error("workflow graph: step `{0}` is defined twice")]
    DuplicateStep(String),
    #[error("workflow graph: dependency cycle through `{0}`")]
    Cycle(String),
    #[error(transparent)]
    State(#[from] StateError),
}
