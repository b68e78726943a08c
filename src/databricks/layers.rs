//! The attribute layers of config resolution (explicit settings, environment, config-file
//! profile), the reading of the config file, and the messages that say where a missing value was
//! looked for. The rules are documented in [`super::config`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::secret::Secret;
use super::settings::{ConfigError, Credentials, Settings, Source};

const DEFAULT_CONFIG_FILE: &str = "~/.databrickscfg";
const DEFAULT_PROFILE: &str = "DEFAULT";
const SETTINGS_SECTION: &str = "__settings__";

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Host,
    AccountId,
    ClientId,
    ClientSecret,
    Token,
    AuthType,
    Profile,
    ConfigFile,
    HttpTimeoutSeconds,
    RetryTimeoutSeconds,
}

impl Key {
    pub(crate) const ALL: [Key; 10] = [
        Key::Host,
        Key::AccountId,
        Key::ClientId,
        Key::ClientSecret,
        Key::Token,
        Key::AuthType,
        Key::Profile,
        Key::ConfigFile,
        Key::HttpTimeoutSeconds,
        Key::RetryTimeoutSeconds,
    ];

    /// The config-file key (also the attribute name in messages) and the environment variable.
    fn names(self) -> (&'static str, Option<&'static str>) {
        match self {
            Key::Host => ("host", Some("DATABRICKS_HOST")),
            Key::AccountId => ("account_id", Some("DATABRICKS_ACCOUNT_ID")),
            Key::ClientId => ("client_id", Some("DATABRICKS_CLIENT_ID")),
            Key::ClientSecret => ("client_secret", Some("DATABRICKS_CLIENT_SECRET")),
            Key::Token => ("token", Some("DATABRICKS_TOKEN")),
            Key::AuthType => ("auth_type", Some("DATABRICKS_AUTH_TYPE")),
            Key::Profile => ("profile", Some("DATABRICKS_CONFIG_PROFILE")),
            Key::ConfigFile => ("config_file", Some("DATABRICKS_CONFIG_FILE")),
            Key::HttpTimeoutSeconds => ("http_timeout_seconds", None),
            Key::RetryTimeoutSeconds => ("retry_timeout_seconds", None),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        self.names().0
    }

    fn env(self) -> Option<&'static str> {
        self.names().1
    }
}

/// What happened to the config file; used to say where a missing value was looked for.
pub(crate) enum FileStatus {
    Loaded { path: PathBuf, profile: String },
    Skipped { path: String },
    Missing { path: PathBuf },
    NoProfile { path: PathBuf, profile: String },
    NoHome,
}

/// Resolved values so far, one slot per [`Key`]. Deliberately not `Debug`: it holds secrets as
/// plain strings until they are wrapped into [`Secret`].
#[derive(Default)]
pub(crate) struct Layers {
    values: [Option<(String, Source)>; Key::ALL.len()],
}

impl Layers {
    pub(crate) fn get(&self, key: Key) -> Option<&(String, Source)> {
        self.values[key as usize].as_ref()
    }

    fn value(&self, key: Key) -> Option<&str> {
        self.get(key).map(|(v, _)| v.as_str())
    }

    /// Sets `key` unless it is already set or `value` is empty.
    fn fill(&mut self, key: Key, value: Option<&str>, source: impl FnOnce() -> Source) {
        let slot = &mut self.values[key as usize];
        if slot.is_none()
            && let Some(v) = value.map(str::trim).filter(|v| !v.is_empty())
        {
            *slot = Some((v.to_owned(), source()));
        }
    }

    pub(crate) fn explicit(&mut self, s: &Settings) {
        let path = s
            .config_file
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned());
        for (key, value) in [
            (Key::Host, s.host.as_deref()),
            (Key::AccountId, s.account_id.as_deref()),
            (Key::ClientId, s.client_id.as_deref()),
            (
                Key::ClientSecret,
                s.client_secret.as_ref().map(Secret::expose),
            ),
            (Key::Token, s.token.as_ref().map(Secret::expose)),
            (Key::AuthType, s.auth_type.as_deref()),
            (Key::Profile, s.profile.as_deref()),
            (Key::ConfigFile, path.as_deref()),
        ] {
            self.fill(key, value, || Source::Explicit);
        }
    }

    pub(crate) fn environment(&mut self, env: &impl Fn(&str) -> Option<String>) {
        for key in Key::ALL {
            if let Some(var) = key.env() {
                let value = env(var);
                self.fill(key, value.as_deref(), || Source::Env(var));
            }
        }
    }

    /// Reads the config file if the rules say so and fills unset attributes from the profile.
    pub(crate) fn load_file(
        &mut self,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<FileStatus, ConfigError> {
        let named = self.value(Key::Profile).map(str::to_owned);
        let raw_path = self
            .value(Key::ConfigFile)
            .unwrap_or(DEFAULT_CONFIG_FILE)
            .to_owned();
        // A host or a credential attribute makes the Go SDK skip an un-named config file.
        let configured_elsewhere = [Key::Host, Key::ClientId, Key::ClientSecret, Key::Token]
            .into_iter()
            .any(|k| self.value(k).is_some());
        if named.is_none() && configured_elsewhere {
            return Ok(FileStatus::Skipped { path: raw_path });
        }
        let Some(path) = expand_home(&raw_path, env) else {
            return match named {
                Some(_) => Err(ConfigError::NoHome { path: raw_path }),
                None => Ok(FileStatus::NoHome),
            };
        };
        let unreadable = |e: &dyn std::fmt::Display| ConfigError::ConfigFileUnreadable {
            path: path.clone(),
            reason: e.to_string(),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return match named {
                    Some(profile) => Err(ConfigError::ConfigFileMissing { profile, path }),
                    None => Ok(FileStatus::Missing { path }),
                };
            }
            Err(e) => return Err(unreadable(&e)),
        };
        let options = ini::ParseOption {
            enabled_quote: false,
            enabled_escape: false,
            ..ini::ParseOption::default()
        };
        let ini = ini::Ini::load_from_str_opt(&text, options).map_err(|e| unreadable(&e))?;

        let default_profile = ini
            .section(Some(SETTINGS_SECTION))
            .and_then(|s| s.get("default_profile"))
            .map(strip_inline_comment)
            .filter(|p| !p.is_empty())
            .map(str::to_owned);
        let must_exist = named.is_some() || default_profile.is_some();
        let profile = named
            .or(default_profile)
            .unwrap_or_else(|| DEFAULT_PROFILE.to_owned());

        let mut entries: Vec<(&str, &str)> = Vec::new();
        if profile == DEFAULT_PROFILE {
            entries.extend(ini.general_section().iter());
        }
        if let Some(section) = ini.section(Some(profile.as_str())) {
            entries.extend(section.iter());
        }
        if entries.is_empty() {
            if must_exist {
                let mut available = ini
                    .sections()
                    .flatten()
                    .filter(|s| *s != SETTINGS_SECTION)
                    .collect::<Vec<_>>()
                    .join(", ");
                if available.is_empty() {
                    available = "none".into();
                }
                return Err(ConfigError::ProfileNotFound {
                    profile,
                    path,
                    available,
                });
            }
            return Ok(FileStatus::NoProfile { path, profile });
        }
        let in_file = |k: &Key| !matches!(k, Key::Profile | Key::ConfigFile);
        for key in Key::ALL.into_iter().filter(in_file) {
            // A later duplicate in the named section wins over the general section.
            let value = entries
                .iter()
                .rev()
                .find(|(k, _)| *k == key.name())
                .map(|(_, v)| strip_inline_comment(v));
            self.fill(key, value, || Source::File {
                path: path.clone(),
                profile: profile.clone(),
            });
        }
        tracing::debug!(profile = %profile, path = %path.display(), "loaded Databricks config profile");
        Ok(FileStatus::Loaded { path, profile })
    }

    /// The value of a required attribute, or an error saying where it was looked for.
    pub(crate) fn require(
        &self,
        key: Key,
        file: &FileStatus,
    ) -> Result<(String, Source), ConfigError> {
        self.get(key).cloned().ok_or_else(|| ConfigError::Missing {
            field: key.name(),
            message: missing_message(key.name(), key.env().unwrap_or(""), file),
        })
    }

    pub(crate) fn credentials(&self, file: &FileStatus) -> Result<Credentials, ConfigError> {
        let m2m = || -> Result<Credentials, ConfigError> {
            Ok(Credentials::OAuthM2m {
                client_id: self.require(Key::ClientId, file)?.0,
                client_secret: Secret::new(self.require(Key::ClientSecret, file)?.0),
            })
        };
        let pat = || -> Result<Credentials, ConfigError> {
            let token = Secret::new(self.require(Key::Token, file)?.0);
            Ok(Credentials::Pat { token })
        };
        match self.get(Key::AuthType) {
            Some((t, _)) if t == "oauth-m2m" => return m2m(),
            Some((t, _)) if t == "pat" => return pat(),
            Some((t, source)) => {
                return Err(ConfigError::UnsupportedAuthType {
                    value: t.clone(),
                    origin: source.clone(),
                });
            }
            None => {}
        }
        let client = self.get(Key::ClientId).or(self.get(Key::ClientSecret));
        match (self.get(Key::Token), client) {
            (Some((_, pat_source)), Some((_, m2m_source))) => Err(ConfigError::ConflictingAuth {
                pat: pat_source.clone(),
                m2m: m2m_source.clone(),
            }),
            (Some(_), None) => pat(),
            (None, Some(_)) => m2m(),
            (None, None) => Err(ConfigError::NoCredentials(no_credentials_message(file))),
        }
    }

    /// The attribute as a whole number of seconds, or `default` if it is unset.
    pub(crate) fn seconds(&self, key: Key, default: Duration) -> Result<Duration, ConfigError> {
        let Some((value, source)) = self.get(key) else {
            return Ok(default);
        };
        match value.parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
            _ => Err(ConfigError::InvalidValue {
                key: key.name(),
                value: value.clone(),
                origin: source.clone(),
                reason: "expected a positive whole number of seconds".into(),
            }),
        }
    }
}

fn missing_message(field: &str, env: &str, file: &FileStatus) -> String {
    match file {
        FileStatus::Loaded { path, profile } => format!(
            "no {field} for profile [{profile}] in {}; set {env} or add {field} to the profile",
            path.display()
        ),
        FileStatus::Skipped { path } => format!(
            "no {field} in the explicit settings or the environment; set {env} ({path} was not read \
             because a host or credentials are set explicitly or in the environment; name a profile \
             with DATABRICKS_CONFIG_PROFILE to use it)"
        ),
        FileStatus::Missing { path } => format!(
            "no {field}: {env} is not set and {} does not exist; set {env} or create that file \
             with a profile containing {field}",
            path.display()
        ),
        FileStatus::NoProfile { path, profile } => format!(
            "no {field}: {env} is not set and {} has no [{profile}] profile; set {env}, name a \
             profile with DATABRICKS_CONFIG_PROFILE, or add {field} to a [{profile}] profile",
            path.display()
        ),
        FileStatus::NoHome => format!(
            "no {field}: {env} is not set and ~/.databrickscfg cannot be located (HOME is not \
             set); set {env} or DATABRICKS_CONFIG_FILE"
        ),
    }
}

fn no_credentials_message(file: &FileStatus) -> String {
    let how = "set DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET (OAuth M2M, recommended) or \
               DATABRICKS_TOKEN";
    match file {
        FileStatus::Loaded { path, profile } => format!(
            "no credentials for profile [{profile}] in {}; {how}, or add client_id and \
             client_secret to the profile",
            path.display()
        ),
        FileStatus::Skipped { path } => format!(
            "no credentials in the explicit settings or the environment ({path} was not read); \
             {how}, or name a profile with DATABRICKS_CONFIG_PROFILE"
        ),
        FileStatus::Missing { path } => format!(
            "no credentials: none in the environment and {} does not exist; {how}",
            path.display()
        ),
        FileStatus::NoProfile { path, profile } => format!(
            "no credentials: none in the environment and {} has no [{profile}] profile; {how}, \
             or name a profile with DATABRICKS_CONFIG_PROFILE",
            path.display()
        ),
        FileStatus::NoHome => format!(
            "no credentials: none in the environment and ~/.databrickscfg cannot be located \
             (HOME is not set); {how}"
        ),
    }
}

/// Drops an inline comment: `#` or `;` preceded by whitespace (gopkg.in/ini
/// `SpaceBeforeInlineComment`, databricks-sdk-go issue #594: secrets may contain `#`).
fn strip_inline_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    let cut = (1..bytes.len())
        .find(|&i| matches!(bytes[i], b'#' | b';') && matches!(bytes[i - 1], b' ' | b'\t'));
    match cut {
        Some(i) => value[..i].trim(),
        None => value.trim(),
    }
}

fn expand_home(raw: &str, env: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let Some(rest) = raw.strip_prefix('~') else {
        return Some(PathBuf::from(raw));
    };
    let home = env("HOME")
        .or_else(|| env("USERPROFILE"))
        .filter(|h| !h.is_empty())?;
    let rest = rest.trim_start_matches(['/', '\\']);
    Some(if rest.is_empty() {
        PathBuf::from(home)
    } else {
        Path::new(&home).join(rest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_comments_need_a_space() {
        assert_eq!(strip_inline_comment("abc#def"), "abc#def");
        assert_eq!(strip_inline_comment("abc #def"), "abc");
        assert_eq!(strip_inline_comment("abc\t; x"), "abc");
        assert_eq!(strip_inline_comment("  v  "), "v");
    }
}
