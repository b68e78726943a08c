/*!
Errors of the workflow-file layer: every problem found in a file is a [`Diagnostic`]; a file that
cannot be read at all gets its own [`ConfigError`] variant.
*/

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// A 1-based line and column (in characters) inside a workflow file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// The class of a [`Diagnostic`], for callers that branch on it (tests, exit codes, `--json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticKind {
    /// The file is not valid TOML.
    Syntax,
    /// A key the format does not know (typo, or a key at the wrong level).
    UnknownKey,
    /// A value of the wrong TOML type (a string where an integer is expected, ...).
    WrongType,
    /// A required key is absent.
    MissingKey,
    /// A value of the right type that fails a semantic check (syntax of an id, a limit, ...).
    InvalidValue,
}

/// One problem in a workflow file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The workflow file, as given by the caller.
    pub file: PathBuf,
    /// Where the problem is, when the file has a position for it (a missing key has none).
    pub location: Option<Location>,
    /// The key path, e.g. `aws.subnets.ids[1]`; `None` for syntax errors.
    pub key: Option<String>,
    /// What kind of problem this is.
    pub kind: DiagnosticKind,
    /// What was expected and what was found, without file, position or key.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(Location { line, column }) = self.location {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why a workflow file could not be read into its kind's typed config.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file does not exist.
    #[error("{}: workflow file not found", path.display())]
    NotFound { path: PathBuf },
    /// The file exists but cannot be read (permissions, a directory, an I/O error).
    #[error("{}: cannot read workflow file: {error}", path.display())]
    Unreadable {
        path: PathBuf,
        /// Already part of the message.
        error: std::io::Error,
    },
    /// The file is not UTF-8 (TOML files must be).
    #[error("{}:{line}:{column}: workflow file is not valid UTF-8 (TOML files must be UTF-8)", path.display())]
    NotUtf8 {
        path: PathBuf,
        /// Where the first invalid byte is.
        line: usize,
        column: usize,
    },
    /// The file was read but is not a valid workflow: every problem found, in file order.
    #[error("{}", diagnostics.iter().map(Diagnostic::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// At least one.
        diagnostics: Vec<Diagnostic>,
    },
}

impl ConfigError {
    /// The diagnostics of an [`Invalid`](ConfigError::Invalid) file; empty for I/O errors.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ConfigError::Invalid { diagnostics } => diagnostics,
            _ => &[],
        }
    }
}

/// A value that fails a syntax or semantic check; the message says what was expected and what
/// was found (for example `expected an AWS region like "us-east-1", found "useast1"`).
///
/// Returned by the validating constructors of the config newtypes ([`Region`](super::Region),
/// [`DeploymentName`](super::DeploymentName), ...), so the CLI can reuse them for flags.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

impl InvalidValue {
    /// `expected <what>, found "<found>"`.
    pub(crate) fn expected(what: impl fmt::Display, found: &str) -> Self {
        InvalidValue(format!("expected {what}, found {found:?}"))
    }
}
