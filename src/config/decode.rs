/*!
TOML text → a raw file type (a kind's, or the header), with errors rewritten into
[`Diagnostic`]s.

toml gives the byte span of an error and serde's standard message ("invalid type: integer `5`,
expected a string"); `serde_path_to_error` gives the key path. This module joins the three and
rephrases serde's wording into the file's vocabulary (tables, arrays, keys), e.g.
`deployment.name: expected a string, found an integer`. Serde and toml stop at the first such
error, so there is at most one diagnostic from here; semantic checks (which collect all problems)
run afterwards on the decoded structs.
*/

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

use super::error::{Diagnostic, DiagnosticKind};
use super::source::SourceText;

/// Parses and decodes a workflow file into `T`.
///
/// # Errors
/// One diagnostic for a TOML syntax error, an unknown key, a value of the wrong type or a missing
/// required key.
pub(crate) fn decode<T: DeserializeOwned>(
    file: &Path,
    src: &SourceText<'_>,
    text: &str,
) -> Result<T, Diagnostic> {
    let deserializer = toml::de::Deserializer::parse(text).map_err(|error| Diagnostic {
        file: file.to_owned(),
        location: error.span().map(|span| src.location(span.start)),
        key: None,
        kind: DiagnosticKind::Syntax,
        message: format!("invalid TOML: {}", one_line(error.message())),
    })?;
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let mut key = key_path(error.path());
        let inner = error.into_inner();
        let span = inner.span();
        let found = span.clone().map_or("", |span| src.slice(span));
        let (kind, message) = rephrase(inner.message(), &mut key, found);
        Diagnostic {
            file: file.to_owned(),
            // A missing key has no position of its own (toml reports the enclosing table).
            location: match kind {
                DiagnosticKind::MissingKey => None,
                _ => span.map(|span| src.location(span.start)),
            },
            key: (!key.is_empty()).then_some(key),
            kind,
            message,
        }
    })
}

/// The private key toml uses to pass a date-time through serde as a map.
const TOML_DATETIME: &str = "$__toml_private_datetime";

/// `aws.subnets.ids[1]`, skipping the internal segments of `toml::Spanned` and quoting keys that
/// are not bare TOML keys (`aws.vpc.tags."plink:owner"`).
fn key_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if key.starts_with("$__serde_spanned_private") || key.starts_with(TOML_DATETIME) {
                    continue;
                }
                push_key(&mut out, key);
            }
            Segment::Unknown => push_key(&mut out, "?"),
        }
    }
    out
}

/// Appends `.key` (or `key` at the start) to a key path, quoting non-bare keys.
pub(crate) fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare || key == "?" {
        path.push_str(key);
    } else {
        path.push_str(&format!("{key:?}"));
    }
}

/// Serde's standard messages → (kind, message in the file's vocabulary); `found` is the text
/// the error's span covers, and a missing key is appended to `key`. Unrecognised messages are
/// kept verbatim, so nothing is ever lost.
fn rephrase(message: &str, key: &mut String, found: &str) -> (DiagnosticKind, String) {
    let message = one_line(message);
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((unexpected, expected)) = rest.rsplit_once(", expected ")
    {
        let found = describe_found(unexpected, found);
        let expected = describe_expected(expected);
        return (
            DiagnosticKind::WrongType,
            format!("expected {expected}, found {found}"),
        );
    }
    if let Some(rest) = message.strip_prefix("invalid value: ")
        && let Some((found, expected)) = rest.rsplit_once(", expected ")
    {
        let message = format!("expected {expected}, found {found}");
        return (DiagnosticKind::InvalidValue, message);
    }
    if message.starts_with(&format!("unknown field `{TOML_DATETIME}")) {
        // A date-time where a table is expected reaches the table as a map with a private key.
        let message = "expected a table, found a date-time".to_owned();
        return (DiagnosticKind::WrongType, message);
    }
    if message.starts_with("unknown field `") {
        // "unknown field `x`, expected one of `a`, `b`" / "expected `a` or `b`" / "there are no fields"
        let names: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
        let message = match names.get(1..).unwrap_or(&[]) {
            [] => "unknown key; this table takes no keys".to_owned(),
            [only] => format!("unknown key; expected: {only}"),
            many => format!("unknown key; expected one of: {}", many.join(", ")),
        };
        return (DiagnosticKind::UnknownKey, message);
    }
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some(field) = rest.strip_suffix('`')
    {
        push_key(key, field);
        return (
            DiagnosticKind::MissingKey,
            "required key missing".to_owned(),
        );
    }
    (DiagnosticKind::InvalidValue, message)
}

/// serde's `Unexpected` ("integer `5`", "string \"x\"", "map", ...) → "an integer", "a table", ...
fn describe_found(unexpected: &str, text: &str) -> &'static str {
    // serde's wording for integers beyond 64 bits: "integer `…` as i128".
    if unexpected.contains("` as ") {
        return "an integer out of range";
    }
    let kind = unexpected.split([' ', '`']).next().unwrap_or("");
    match kind {
        "integer" => "an integer",
        "floating" => "a float",
        "boolean" => "a boolean",
        "string" | "character" => "a string",
        "sequence" => "an array",
        // toml hands a date-time to serde as a map; only the text tells them apart.
        "map" if text.starts_with(|c: char| c.is_ascii_digit()) => "a date-time",
        "map" => "a table",
        _ => "a value of another type",
    }
}

/// serde's `Expected` for primitives ("i64", "a sequence", "struct X") → the file's vocabulary.
fn describe_expected(expected: &str) -> String {
    match expected {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer".to_owned(),
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a non-negative integer".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a sequence" => "an array".to_owned(),
        "a map" => "a table".to_owned(),
        "a boolean" => "a boolean (true or false)".to_owned(),
        other if other.starts_with("struct ") => "a table".to_owned(),
        other => other.to_owned(),
    }
}

/// toml messages may span lines; a diagnostic is one line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_bare_keys_are_quoted() {
        let mut path = "aws.vpc.tags".to_owned();
        push_key(&mut path, "plink:owner");
        assert_eq!(path, r#"aws.vpc.tags."plink:owner""#);
    }

    #[test]
    fn unknown_messages_are_kept() {
        let (kind, message) = rephrase("something new", &mut "a".to_owned(), "");
        assert_eq!(kind, DiagnosticKind::InvalidValue);
        assert_eq!(message, "something new");
    }
}
