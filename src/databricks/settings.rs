//! What a Databricks configuration is made of: the settings given explicitly, where each
//! resolved attribute came from, the credentials, and why a resolution failed. Shared by the
//! layers that fill the settings (`layers.rs`) and the resolution itself (`config.rs`), so that
//! neither depends on the other for these types.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::secret::Secret;

/// Settings given explicitly (flags, workflow file). Every field is optional; unset fields are
/// filled from the environment and then from the config file.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Account console URL, e.g. `https://accounts.cloud.databricks.com`.
    pub host: Option<String>,
    /// Databricks account id (UUID).
    pub account_id: Option<String>,
    /// OAuth M2M: the service principal's application id.
    pub client_id: Option<String>,
    /// OAuth M2M: the service principal's OAuth secret.
    pub client_secret: Option<Secret>,
    /// Personal access token (alternative to OAuth M2M).
    pub token: Option<Secret>,
    /// Forces an authentication method: `oauth-m2m` or `pat`.
    pub auth_type: Option<String>,
    /// Profile of the config file to use.
    pub profile: Option<String>,
    /// Config file to read instead of `~/.databrickscfg`.
    pub config_file: Option<PathBuf>,
    /// Per-request timeout (file key `http_timeout_seconds`).
    pub http_timeout: Option<Duration>,
    /// Overall retry budget of one call (file key `retry_timeout_seconds`).
    pub retry_timeout: Option<Duration>,
}

/// Where a resolved attribute came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// [`Settings`].
    Explicit,
    /// An environment variable.
    Env(&'static str),
    /// A profile of a config file.
    File { path: PathBuf, profile: String },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Explicit => f.write_str("explicit setting"),
            Source::Env(var) => write!(f, "environment variable {var}"),
            Source::File { path, profile } => {
                write!(f, "profile [{profile}] in {}", path.display())
            }
        }
    }
}

/// How plink authenticates to the account API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// OAuth machine-to-machine (client credentials of a service principal); recommended.
    OAuthM2m {
        /// The service principal's application id.
        client_id: String,
        client_secret: Secret,
    },
    /// A personal access token, sent as is.
    Pat { token: Secret },
}

impl Credentials {
    /// The SDK name of the method: `oauth-m2m` or `pat`.
    pub fn auth_type(&self) -> &'static str {
        match self {
            Credentials::OAuthM2m { .. } => "oauth-m2m",
            Credentials::Pat { .. } => "pat",
        }
    }
}

/// Why a configuration could not be resolved. Every message names what is missing and where it
/// was looked for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required attribute is missing.
    #[error("{message}")]
    Missing {
        field: &'static str,
        message: String,
    },
    /// No credentials at all.
    #[error("{0}")]
    NoCredentials(String),
    /// Both a token and OAuth client credentials were found.
    #[error(
        "more than one authentication method configured: pat (token from {pat}) and oauth-m2m \
         (client_id/client_secret from {m2m}); remove one or set auth_type"
    )]
    ConflictingAuth { pat: Source, m2m: Source },
    /// `auth_type` names a method plink does not implement.
    #[error("auth_type {value:?} (from {origin}) is not supported; use oauth-m2m or pat")]
    UnsupportedAuthType { value: String, origin: Source },
    /// A named profile is not in the config file.
    #[error("{} has no [{profile}] profile configured (profiles found: {available})", path.display())]
    ProfileNotFound {
        profile: String,
        path: PathBuf,
        available: String,
    },
    /// A profile was named but the config file does not exist.
    #[error("profile [{profile}] was requested but the config file {} does not exist", path.display())]
    ConfigFileMissing { profile: String, path: PathBuf },
    /// The config file exists but cannot be read or parsed.
    #[error("cannot read the config file {}: {reason}", path.display())]
    ConfigFileUnreadable { path: PathBuf, reason: String },
    /// A profile was named but the home directory is unknown.
    #[error("cannot locate {path}: HOME is not set; set DATABRICKS_CONFIG_FILE")]
    NoHome { path: String },
    /// The host is not an acceptable URL.
    #[error("host {host:?} is not valid: {reason}")]
    InvalidHost {
        /// The host as given, never with user info.
        host: String,
        reason: String,
    },
    /// An attribute has a malformed value.
    #[error("{key} = {value:?} (from {origin}) is not valid: {reason}")]
    InvalidValue {
        key: &'static str,
        value: String,
        origin: Source,
        reason: String,
    },
    /// The HTTP client could not be initialised (TLS backend).
    #[error("cannot initialise the HTTP client: {0}")]
    HttpClient(String),
}
