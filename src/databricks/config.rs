//! Unified authentication configuration: explicit settings → `DATABRICKS_*` environment variables →
//! a `~/.databrickscfg` profile, resolved the way the Databricks SDKs do it (API reference §1.4).
//!
//! # Resolution rules
//! 1. Loaders run in order *explicit settings → environment → config file*; each fills only the
//!    attributes still unset (an empty value counts as unset).
//! 2. The config file is read only if a profile is named (explicitly or by
//!    `DATABRICKS_CONFIG_PROFILE`), or if neither a host nor any credential attribute (`token`,
//!    `client_id`, `client_secret`) was set by the first two loaders. This is the Go SDK rule
//!    (databricks-sdk-go issue #304): credentials in the environment are not mixed with a profile
//!    nobody asked for.
//! 3. The file is `config_file` / `DATABRICKS_CONFIG_FILE`, else `~/.databrickscfg` (INI). The
//!    profile is the named one, else `[__settings__] default_profile`, else `[DEFAULT]` (keys before
//!    the first section belong to `[DEFAULT]`, as in the Go SDK's INI library). As in the Go SDK a
//!    `#` or `;` starts an inline comment only after a space, so secrets may contain `#`.
//! 4. A named profile (or a `default_profile`) that does not exist is an error; a missing file or a
//!    missing `[DEFAULT]` is not (the environment may be enough).
//! 5. Credentials: `auth_type` (`pat` | `oauth-m2m`) forces one method. Otherwise a `token` means
//!    PAT and `client_id` + `client_secret` mean OAuth M2M; both at once is an error, as in the Go
//!    SDK ("more than one authorization method configured").
//! 6. The host must be `https://…`; plain `http://` is accepted only for loopback hosts
//!    (`127.0.0.1`, `localhost`, `[::1]`: the local emulator). A host without a scheme gets
//!    `https://`. TLS certificates are always verified (there is no `skip_verify`).
//!
//! The environment is read through a lookup closure, so tests resolve against explicit maps and
//! never mutate the process environment.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;

use super::layers::{FileStatus, Key, Layers};
pub use super::settings::{ConfigError, Credentials, Settings, Source};

/// Default per-request timeout (`http_timeout_seconds`, SDK default 60 s).
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(60);
/// Default overall retry budget of one call (`retry_timeout_seconds`, SDK default 300 s).
pub const DEFAULT_RETRY_TIMEOUT: Duration = Duration::from_secs(300);

/// A complete, validated configuration.
///
/// # Guarantees
/// `host` is `https`, or `http` on a loopback host; `account_id` is non-empty; the credentials are
/// complete. `Debug` never shows a secret.
#[derive(Debug, Clone)]
pub struct ResolvedConfig {
    /// Account API host (origin), e.g. `https://accounts.cloud.databricks.com`.
    pub host: Url,
    pub account_id: String,
    pub credentials: Credentials,
    /// Per-request timeout.
    pub http_timeout: Duration,
    /// Overall retry budget of one call.
    pub retry_timeout: Duration,
    /// The profile read, if one was.
    pub profile: Option<String>,
    sources: Vec<(&'static str, Source)>,
}

impl ResolvedConfig {
    /// A configuration from explicit values only (tests, the local emulator).
    ///
    /// # Errors
    /// [`ConfigError::InvalidHost`] if `host` is not acceptable (see the module docs).
    pub fn new(
        host: &str,
        account_id: impl Into<String>,
        credentials: Credentials,
    ) -> Result<Self, ConfigError> {
        let host = parse_host(host)?;
        let account_id = account_id.into();
        if account_id.trim().is_empty() {
            return Err(ConfigError::Missing {
                field: "account_id",
                message: "no account_id: it must not be empty".into(),
            });
        }
        Ok(Self {
            host,
            account_id,
            credentials,
            http_timeout: DEFAULT_HTTP_TIMEOUT,
            retry_timeout: DEFAULT_RETRY_TIMEOUT,
            profile: None,
            sources: Vec::new(),
        })
    }

    /// The host as a string without a trailing slash (`https://accounts.cloud.databricks.com`).
    pub fn host_str(&self) -> &str {
        self.host.as_str().trim_end_matches('/')
    }

    /// Where an attribute (`host`, `account_id`, `client_id`, `client_secret`, `token`, …) came from.
    pub fn source(&self, attribute: &str) -> Option<&Source> {
        self.sources
            .iter()
            .find(|(name, _)| *name == attribute)
            .map(|(_, source)| source)
    }

    /// One line for logs: every attribute with its source; secrets are never shown.
    pub fn describe(&self) -> String {
        let from = |name: &str| {
            self.source(name)
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        };
        let auth = match &self.credentials {
            Credentials::OAuthM2m { client_id, .. } => {
                format!("oauth-m2m client_id={client_id}{}", from("client_id"))
            }
            Credentials::Pat { .. } => format!("pat{}", from("token")),
        };
        format!(
            "host={}{}, account_id={}{}, auth={auth}",
            self.host_str(),
            from("host"),
            self.account_id,
            from("account_id"),
        )
    }
}

/// Resolves a configuration from `settings`, the environment as seen through `env`, and the
/// config file.
///
/// `env` returns the value of an environment variable (`HOME` is read through it too).
///
/// # Errors
/// A [`ConfigError`] naming what is missing or invalid and where it looked; see the module docs
/// for the rules.
pub fn resolve(
    settings: &Settings,
    env: impl Fn(&str) -> Option<String>,
) -> Result<ResolvedConfig, ConfigError> {
    let mut layers = Layers::default();
    layers.explicit(settings);
    layers.environment(&env);

    let file = layers.load_file(&env)?;
    let host_raw = layers.require(Key::Host, &file)?;
    let host = parse_host(&host_raw.0)?;
    let account_id = layers.require(Key::AccountId, &file)?.0;
    let credentials = layers.credentials(&file)?;

    let http_timeout = match settings.http_timeout {
        Some(d) => d,
        None => layers.seconds(Key::HttpTimeoutSeconds, DEFAULT_HTTP_TIMEOUT)?,
    };
    let retry_timeout = match settings.retry_timeout {
        Some(d) => d,
        None => layers.seconds(Key::RetryTimeoutSeconds, DEFAULT_RETRY_TIMEOUT)?,
    };
    let profile = match &file {
        FileStatus::Loaded { profile, .. } => Some(profile.clone()),
        _ => None,
    };
    let sources = Key::ALL
        .iter()
        .filter_map(|k| layers.get(*k).map(|(_, s)| (k.name(), s.clone())))
        .collect();
    let resolved = ResolvedConfig {
        host,
        account_id,
        credentials,
        http_timeout,
        retry_timeout,
        profile,
        sources,
    };
    tracing::debug!(config = %resolved.describe(), "resolved Databricks configuration");
    Ok(resolved)
}

/// [`resolve`] against the process environment.
///
/// # Errors
/// As [`resolve`].
pub fn resolve_from_process_env(settings: &Settings) -> Result<ResolvedConfig, ConfigError> {
    resolve(settings, |name| std::env::var(name).ok())
}

/// Parses and checks a host: `https://…`, or `http://` on a loopback host only; no user info,
/// query or fragment. A host without a scheme gets `https://`.
///
/// # Errors
/// [`ConfigError::InvalidHost`].
pub fn parse_host(raw: &str) -> Result<Url, ConfigError> {
    let raw = raw.trim();
    let with_scheme = if raw.contains("://") {
        raw.to_owned()
    } else {
        format!("https://{raw}")
    };
    let invalid = |reason: &str| ConfigError::InvalidHost {
        host: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(&with_scheme).map_err(|e| invalid(&e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        // Never echo the value: it contains a credential.
        return Err(ConfigError::InvalidHost {
            host: format!("{}://***@{}", url.scheme(), url.host_str().unwrap_or("")),
            reason: "the host must not contain user info (credentials)".into(),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("the host must not contain a query or a fragment"));
    }
    let Some(host) = url.host_str() else {
        return Err(invalid("no host name"));
    };
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(invalid(
                "plain http is allowed only for loopback hosts (127.0.0.1, localhost, [::1]); use https",
            ));
        }
        other => return Err(invalid(&format!("unsupported scheme {other:?}; use https"))),
    }
    if url.path() != "/" && !url.path().is_empty() {
        return Err(invalid(
            "the host must be an origin without a path, e.g. https://accounts.cloud.databricks.com",
        ));
    }
    Ok(url)
}

/// Whether a URL host is a loopback address or `localhost`.
pub(crate) fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let accepted = [
            "https://accounts.cloud.databricks.com/",
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
        ];
        for host in accepted {
            assert!(parse_host(host).is_ok(), "{host}");
        }
        for host in [
            "http://accounts.cloud.databricks.com",
            "ftp://x",
            "https://x/login",
        ] {
            assert!(parse_host(host).is_err(), "{host}");
        }
        assert_eq!(
            parse_host("accounts.cloud.databricks.com")
                .unwrap()
                .as_str(),
            "https://accounts.cloud.databricks.com/"
        );
        let e = parse_host("https://u:hunter22@x").unwrap_err().to_string();
        assert!(!e.contains("hunter22"), "{e}");
    }
}
