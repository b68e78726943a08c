//! [`Secret`]: a string that never prints.

use std::fmt;

/// A credential (OAuth client secret, personal access token, access token).
///
/// # Guarantees
/// - `Debug` and `Display` print `***`, so a `Secret` inside any `#[derive(Debug)]` struct, error or
///   log line shows nothing of its value.
/// - It implements neither `Serialize` nor `Deref<Target = str>`: the only way to the value is the
///   explicit [`Secret::expose`], which is called exactly where a request is built.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself. Call it only to put the value on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Replaces every occurrence of each non-trivial secret in `text` with `***`.
///
/// Used on text that comes from a server (error messages) before it is stored in an error, in case
/// a server echoes a credential back.
pub(crate) fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        // Very short values would mangle ordinary text and are not worth hiding.
        if secret.len() >= 4 && out.contains(secret) {
            out = out.replace(secret, "***");
        }
    }
    out
}
