//! The state's bytes: what a state file or object holds, read strictly and written the same way
//! everywhere (the file store and S3 share it).

use std::path::Path;

use super::{SCHEMA_VERSION, StateError, StateFile};

/// The state in `text`, read from `path` (a file, or an S3 object's URL), whose previous
/// version is at `backup`, if any.
///
/// # Errors
/// [`StateError::Unreadable`] (empty, truncated or corrupt), [`StateError::NewerSchema`].
pub(super) fn parse_state(
    text: &[u8],
    path: &Path,
    backup: Option<std::path::PathBuf>,
) -> Result<StateFile, StateError> {
    let unreadable = |what, e: &serde_json::Error| StateError::Unreadable {
        path: path.to_owned(),
        what,
        line: e.line(),
        column: e.column(),
        detail: e.to_string(),
        backup: backup.clone(),
    };
    let value: serde_json::Value = serde_json::from_slice(text).map_err(|e| {
        let what = if e.is_eof() {
            "truncated or empty"
        } else {
            "not valid JSON"
        };
        unreadable(what, &e)
    })?;
    let found = value
        .get("schema_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if found > u64::from(SCHEMA_VERSION) {
        return Err(StateError::NewerSchema {
            path: path.to_owned(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    serde_json::from_value(value).map_err(|e| unreadable("not a plink state file", &e))
}

/// `value` as the state files are written: pretty JSON and a final newline.
pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let mut body = serde_json::to_vec_pretty(value).expect("state serializes");
    body.push(b'\n');
    body
}
