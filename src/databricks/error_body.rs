//! Parsing of error bodies (API reference §7.1): every shape listed in [`super::error`].

use std::time::Duration;

use serde_json::Value;

/// What an error body says.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ParsedBody {
    pub error_code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
    pub retry_delay: Option<Duration>,
}

const MAX_TEXT: usize = 512;

pub(crate) fn parse_error_body(status: u16, body: &[u8]) -> ParsedBody {
    let status_text = || {
        reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("unknown status")
            .to_owned()
    };
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return ParsedBody {
            message: status_text(),
            ..ParsedBody::default()
        };
    }
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) {
        let s = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
        let mut parsed = ParsedBody::default();
        if map.contains_key("error_code") || map.contains_key("message") {
            // A non-string error_code (legacy endpoints put the status there) counts as absent.
            parsed.error_code = s("error_code").filter(|c| !c.is_empty());
            parsed.message = s("message").unwrap_or_default();
            let details = map.get("details").and_then(Value::as_array);
            let details = details.map(Vec::as_slice).unwrap_or_default();
            parsed.request_id = details.iter().find_map(|d| {
                let id = d.get("request_id")?.as_str()?;
                (!id.is_empty()).then(|| id.to_owned())
            });
            parsed.retry_delay = details
                .iter()
                .find_map(|d| parse_proto_duration(d.get("retry_delay")?.as_str()?));
        } else if let Some(error) = s("error") {
            match s("error_description") {
                // OAuth 2.0 (RFC 6749 §5.2).
                Some(description) => {
                    parsed.error_code = Some(error);
                    parsed.message = description;
                }
                // Legacy API 1.2.
                None => parsed.message = error,
            }
        } else if let Some(code) = s("errorCode") {
            parsed.error_code = Some(code);
            parsed.message = s("errorSummary").unwrap_or_default();
        } else if let Some(detail) = s("detail") {
            // SCIM.
            parsed.error_code = s("scimType");
            parsed.message = detail;
        }
        if parsed.message.is_empty() {
            parsed.message = status_text();
        }
        return parsed;
    }
    if let Some((code, message)) = plain_code_message(text) {
        return ParsedBody {
            error_code: Some(code.to_owned()),
            message: message.to_owned(),
            ..ParsedBody::default()
        };
    }
    if text.starts_with('<') {
        let message = between(text, "<pre>", "</pre>")
            .map(|m| unescape_html(m.trim()))
            .filter(|m| !m.is_empty())
            .or_else(|| {
                between(text, "<title>", "</title>").map(|t| {
                    format!(
                        "{} (an HTML page titled {:?} instead of an API answer: is the host the \
                         account console?)",
                        status_text(),
                        unescape_html(t.trim())
                    )
                })
            })
            .unwrap_or_else(|| {
                format!("{} (an HTML page instead of an API answer)", status_text())
            });
        return ParsedBody {
            message: truncate(&message),
            ..ParsedBody::default()
        };
    }
    ParsedBody {
        message: truncate(text),
        ..ParsedBody::default()
    }
}

/// `^([A-Z_]+): (.*)$` on the whole (trimmed) body; `.` does not match a newline.
fn plain_code_message(text: &str) -> Option<(&str, &str)> {
    let (code, message) = text.split_once(": ")?;
    let valid_code = !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
    (valid_code && !message.contains('\n')).then_some((code, message))
}

/// The text between the first `open` and the following `close`, ASCII-case-insensitively.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find(open)? + open.len();
    let end = start + lower[start..].find(close)?;
    Some(&text[start..end])
}

fn unescape_html(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn truncate(s: &str) -> String {
    if s.len() <= MAX_TEXT {
        return s.to_owned();
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// A protobuf JSON duration such as `"1.5s"`.
fn parse_proto_duration(s: &str) -> Option<Duration> {
    let secs: f64 = s.strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text() {
        assert_eq!(
            plain_code_message("INVALID_STATE: busy"),
            Some(("INVALID_STATE", "busy"))
        );
        assert_eq!(plain_code_message("Invalid: x"), None);
        assert_eq!(plain_code_message("A: b\nc"), None);
    }

    #[test]
    fn retry_delay_from_details() {
        let body = br#"{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"slow down",
            "details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retry_delay":"1.5s"}]}"#;
        let p = parse_error_body(429, body);
        assert_eq!(p.retry_delay, Some(Duration::from_millis(1500)));
    }
}
