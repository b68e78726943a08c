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

/// What running the same command again does after an error that lost nothing.
///
/// The engine knows no command line: the caller words the advice (e.g. "run `<command>` again
/// to resume waiting") with the command it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// A wait ran out of time; running again resumes the wait.
    Wait,
    /// A service kept failing transiently; running again later retries.
    Later,
}

/// The underlying error of a [`StepError`] (an AWS or Databricks client error, usually), kept
/// as its [`source`](std::error::Error::source) for `-v` output.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The error of one step.
///
/// The message (`Display`) is what the user sees by default. The client error it was built from,
/// if any, is its [`source`](std::error::Error::source) (see [`StepError::with_source`]), with the
/// details a support case needs (AWS request id, Databricks error code and request id).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Transient; retried by the engine with capped exponential backoff and jitter.
    #[error("{message}")]
    Retryable {
        message: String,
        #[source]
        source: Option<Cause>,
    },

    /// Permanent failure of the step.
    #[error("{message}{}", hint_suffix(hint))]
    Terminal {
        message: String,
        hint: Option<String>,
        #[source]
        source: Option<Cause>,
    },

    /// The user must do something; `hint` says what.
    #[error("{message}\n  hint: {hint}")]
    NeedsUser {
        message: String,
        hint: String,
        #[source]
        source: Option<Cause>,
    },

    /// A wait ran out of time. Nothing is lost: running again resumes the wait
    /// ([`Resume::Wait`]).
    #[error("timed out after {} waiting for {what} (last seen: {last_seen})", humantime::format_duration(*waited))]
    Timeout {
        what: String,
        waited: Duration,
        last_seen: String,
    },

    /// A transient error outlasted the step's retry policy; running again later retries
    /// ([`Resume::Later`]). `last` is the last attempt's error, and the `source` (as a
    /// `Box<StepError>`, whose own source is the client error).
    #[error("still failing after {attempts} attempts over {}: {last}\n  hint: the service keeps failing transiently", humantime::format_duration(*elapsed))]
    RetriesExhausted {
        attempts: u32,
        elapsed: Duration,
        #[source]
        last: Box<StepError>,
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
            source: None,
        }
    }

    /// A permanent error without a hint.
    pub fn terminal(message: impl Into<String>) -> Self {
        Self::Terminal {
            message: message.into(),
            hint: None,
            source: None,
        }
    }

    /// A permanent error with a hint of what to do.
    pub fn terminal_with_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::Terminal {
            message: message.into(),
            hint: Some(hint.into()),
            source: None,
        }
    }

    /// An error the user must fix.
    pub fn needs_user(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::NeedsUser {
            message: message.into(),
            hint: hint.into(),
            source: None,
        }
    }

    /// The same error, caused by `source` (e.g. the client error it was built from); the message
    /// is unchanged. Only [`Retryable`](Self::Retryable), [`Terminal`](Self::Terminal) and
    /// [`NeedsUser`](Self::NeedsUser) carry a source; other variants are returned as they are.
    pub fn with_source(mut self, source: impl Into<Cause>) -> Self {
        match &mut self {
            Self::Retryable { source: s, .. }
            | Self::Terminal { source: s, .. }
            | Self::NeedsUser { source: s, .. } => *s = Some(source.into()),
            Self::Timeout { .. }
            | Self::RetriesExhausted { .. }
            | Self::Interrupted
            | Self::State(_) => {}
        }
        self
    }

    /// How the engine treats this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Retryable { .. } => ErrorClass::Retryable,
            Self::NeedsUser { .. } => ErrorClass::NeedsUser,
            Self::Terminal { .. }
            | Self::Timeout { .. }
            | Self::RetriesExhausted { .. }
            | Self::Interrupted
            | Self::State(_) => ErrorClass::Terminal,
        }
    }

    /// Whether running the same command again picks up where this error stopped, and how.
    pub fn resume(&self) -> Option<Resume> {
        match self {
            Self::Timeout { .. } => Some(Resume::Wait),
            Self::RetriesExhausted { .. } => Some(Resume::Later),
            _ => None,
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

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("the client failed (request id r-42)")]
    struct ClientError;

    #[test]
    fn constructors_carry_no_source_and_with_source_keeps_the_message() {
        let plain = StepError::needs_user("no access", "grant it");
        assert!(plain.source().is_none());
        let text = plain.to_string();
        let caused = StepError::needs_user("no access", "grant it").with_source(ClientError);
        assert_eq!(caused.to_string(), text);
        assert_eq!(caused.class(), ErrorClass::NeedsUser);
        let source = caused.source().expect("a source");
        assert!(source.is::<ClientError>());
        assert!(source.to_string().contains("r-42"));
        for e in [
            StepError::retryable("x").with_source(ClientError),
            StepError::terminal("x").with_source(ClientError),
            StepError::terminal_with_hint("x", "y").with_source(ClientError),
        ] {
            assert!(e.source().is_some_and(|s| s.is::<ClientError>()), "{e:?}");
        }
    }

    #[test]
    fn resumable_errors_say_so_without_naming_a_command() {
        let timeout = StepError::Timeout {
            what: "the NLB".into(),
            waited: Duration::from_secs(600),
            last_seen: "provisioning".into(),
        };
        assert_eq!(timeout.resume(), Some(Resume::Wait));
        assert_eq!(
            timeout.to_string(),
            "timed out after 10m waiting for the NLB (last seen: provisioning)"
        );
        let exhausted = StepError::RetriesExhausted {
            attempts: 3,
            elapsed: Duration::from_secs(61),
            last: Box::new(StepError::retryable("HTTP 503").with_source(ClientError)),
        };
        assert_eq!(exhausted.resume(), Some(Resume::Later));
        assert_eq!(exhausted.class(), ErrorClass::Terminal);
        assert_eq!(
            exhausted.to_string(),
            "still failing after 3 attempts over 1m 1s: HTTP 503\n  hint: the service keeps \
             failing transiently"
        );
        // The chain reaches the client error through the last attempt.
        let last = exhausted.source().expect("the last attempt");
        assert!(last.source().is_some_and(|s| s.is::<ClientError>()));
        assert_eq!(StepError::terminal("x").resume(), None);
        assert_eq!(StepError::Interrupted.resume(), None);
    }
}
