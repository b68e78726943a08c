//! [`DatabricksError`]: every failure of a call, its [`ErrorKind`] and its [`ErrorClass`], and the
//! parsing of error bodies (API reference §7.1–7.2).
//!
//! # Error bodies understood
//! - JSON `{"error_code", "message", "details": [...]}`; a non-string `error_code` (legacy
//!   endpoints put the HTTP status there) is treated as absent; `details[]` give the request id
//!   (`RequestInfo`) and a retry delay (`RetryInfo`);
//! - legacy JSON `{"error": "..."}`, OAuth `{"error", "error_description"}`,
//!   `{"errorCode", "errorSummary"}`, SCIM `{"detail", "scimType"}`;
//! - plain text `ERROR_CODE: message` (regex `^([A-Z_]+): (.*)$`, some account-level APIs);
//! - HTML with `<pre>message</pre>` (or its `<title>`);
//! - an empty body: the message is the HTTP status text.
//!
//! # Guarantees
//! No error ever contains the `Authorization` header, a client secret or a token: request headers
//! and bodies are never copied into errors, and server text is redacted (see `secret::redact`)
//! before it is stored.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What went wrong, independent of the wire details. Error codes are checked before the status
/// (as the SDKs do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 404, `RESOURCE_DOES_NOT_EXIST`, `NOT_FOUND`.
    NotFound,
    /// 400 without a more specific code; also `BAD_REQUEST`.
    BadRequest,
    /// `INVALID_PARAMETER_VALUE`, or a request refused client-side before it was sent.
    InvalidParameter,
    /// `INVALID_STATE` (e.g. an NCC still attached to workspaces).
    InvalidState,
    /// 401, `UNAUTHENTICATED`, or the token endpoint refused the credentials.
    Unauthenticated,
    /// 403, `PERMISSION_DENIED`.
    PermissionDenied,
    /// `ALREADY_EXISTS`, `RESOURCE_ALREADY_EXISTS`.
    AlreadyExists,
    /// 409 or `ABORTED` (a concurrent modification).
    Conflict,
    /// `QUOTA_EXCEEDED`, or `RESOURCE_EXHAUSTED` with a status other than 429 (a limit such as
    /// 30 private endpoints per region).
    QuotaExceeded,
    /// `FEATURE_DISABLED`.
    FeatureDisabled,
    /// 429, `REQUEST_LIMIT_EXCEEDED`, or `RESOURCE_EXHAUSTED` with status 429 (throttling).
    TooManyRequests,
    /// 502, 503, `TEMPORARILY_UNAVAILABLE`.
    Unavailable,
    /// 500 and other 5xx, `UNKNOWN`, `DATA_LOSS`, `INTERNAL_ERROR`.
    Internal,
    /// 501, `NOT_IMPLEMENTED`.
    NotImplemented,
    /// 504, `DEADLINE_EXCEEDED`, or no answer within the request timeout (idempotent requests).
    Timeout,
    /// A create (POST) failed in a way that does not tell whether the server committed it
    /// (transport error, timeout, 5xx). Look the resource up by its natural key before retrying.
    Ambiguous,
    /// The connection failed (refused, reset, DNS, TLS) on an idempotent request.
    Transport,
    /// A success answer could not be decoded.
    Decode,
    /// Anything else.
    Other,
}

/// What a caller (the engine) should do with an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorClass {
    /// Transient: retry the step later. For [`ErrorKind::Ambiguous`] look up before re-creating.
    Retryable,
    /// Retrying will not help; the error says why.
    Terminal,
    /// A person must act (credentials, permissions, limits); the hint says what to do.
    NeedsUser {
        /// What to do.
        hint: String,
    },
}

/// A failed Databricks call.
///
/// # Guarantees
/// `Display` names the method, the path, the HTTP status, the error code, the message and the
/// request id when known; it never contains a secret.
#[derive(Debug, Clone)]
pub struct DatabricksError {
    // Boxed: errors travel through every `Result` of the client and should stay one word wide.
    inner: Box<Inner>,
}

#[derive(Debug, Clone)]
struct Inner {
    kind: ErrorKind,
    status: Option<u16>,
    error_code: Option<String>,
    message: String,
    request_id: Option<String>,
    method: String,
    path: String,
    retry_after: Option<Duration>,
    hint: Option<String>,
    /// The SQLSTATE of a failed SQL statement.
    sql_state: Option<String>,
    /// Set for token endpoint errors: the message is complete on its own.
    complete_message: bool,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl DatabricksError {
    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// What to do about it; see [`ErrorClass`].
    pub fn class(&self) -> ErrorClass {
        use ErrorKind::*;
        let hint = |default: &str| ErrorClass::NeedsUser {
            hint: self
                .inner
                .hint
                .clone()
                .unwrap_or_else(|| default.to_owned()),
        };
        match self.inner.kind {
            TooManyRequests | Unavailable | Internal | Timeout | Ambiguous | Transport
            | Conflict => ErrorClass::Retryable,
            Unauthenticated => hint(
                "check the credentials (client_id/client_secret or token) and account_id; an \
                 OAuth secret may have expired or been revoked",
            ),
            PermissionDenied => hint(
                "the service principal needs the account admin role: grant it in the Databricks \
                 account console (User management → Service principals → Roles)",
            ),
            QuotaExceeded => hint(
                "a Databricks account limit was reached (10 NCCs per region, 30 private endpoints \
                 per region, 50 workspaces per NCC, 10 domain names per rule); delete unused ones \
                 or ask Databricks for a higher limit",
            ),
            FeatureDisabled => hint(
                "the feature is not enabled for this account: check the pricing tier (Enterprise) \
                 and the previews enabled in the account console",
            ),
            NotFound | BadRequest | InvalidParameter | InvalidState | AlreadyExists
            | NotImplemented | Decode | Other => ErrorClass::Terminal,
        }
    }

    /// HTTP status, if an answer was received.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The Databricks `error_code` (or OAuth `error`), if the body had one.
    pub fn error_code(&self) -> Option<&str> {
        self.inner.error_code.as_deref()
    }

    /// The server's message (or a description of the client-side failure).
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The request id from the error details or the `x-request-id` header.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// HTTP method of the failed request.
    pub fn method(&self) -> &str {
        &self.inner.method
    }

    /// Path of the failed request (no host, no query).
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// The delay the server asked for (`Retry-After`, or `RetryInfo.retry_delay`).
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The SQLSTATE of a SQL statement that failed (`status.sql_state`, e.g. `42601`).
    pub fn sql_state(&self) -> Option<&str> {
        self.inner.sql_state.as_deref()
    }

    /// Whether the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        self.inner.kind == ErrorKind::NotFound
    }

    /// Whether a create may have been committed although it failed; see [`ErrorKind::Ambiguous`].
    pub fn is_ambiguous(&self) -> bool {
        self.inner.kind == ErrorKind::Ambiguous
    }

    // -- constructors (crate-internal) ------------------------------------------------------

    fn new(kind: ErrorKind, method: &str, path: &str, message: String) -> Self {
        let inner = Inner {
            kind,
            status: None,
            error_code: None,
            message,
            request_id: None,
            method: method.to_owned(),
            path: path.to_owned(),
            retry_after: None,
            hint: None,
            sql_state: None,
            complete_message: false,
            source: None,
        };
        Self {
            inner: Box::new(inner),
        }
    }

    /// An error answer. `secrets` are redacted from the server's text.
    pub(crate) fn from_response(
        method: &str,
        path: &str,
        status: u16,
        header_request_id: Option<String>,
        body: &[u8],
        secrets: &[&str],
    ) -> Self {
        let parsed = super::error_body::parse_error_body(status, body);
        let kind = kind_for(status, parsed.error_code.as_deref());
        let mut err = Self::new(
            kind,
            method,
            path,
            super::secret::redact(&parsed.message, secrets),
        );
        err.inner.status = Some(status);
        err.inner.error_code = parsed.error_code;
        err.inner.request_id = parsed.request_id.or(header_request_id);
        err.inner.retry_after = parsed.retry_delay;
        err
    }

    /// A transport failure (no answer).
    pub(crate) fn transport(
        method: &str,
        path: &str,
        err: reqwest::Error,
        timeout: Duration,
    ) -> Self {
        let (kind, message) = if err.is_timeout() {
            let phase = if err.is_connect() {
                "connecting"
            } else {
                "waiting for the answer"
            };
            (
                ErrorKind::Timeout,
                format!("timed out {phase} (request timeout {timeout:?})"),
            )
        } else {
            (
                ErrorKind::Transport,
                format!("transport error: {}", root_cause(&err)),
            )
        };
        let mut e = Self::new(kind, method, path, message);
        e.inner.source = Some(Arc::new(err));
        e
    }

    /// A success answer that could not be decoded.
    pub(crate) fn decode(method: &str, path: &str, detail: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::Decode,
            method,
            path,
            format!("the request succeeded but its answer could not be decoded: {detail}"),
        )
    }

    /// A request refused client-side, before anything was sent.
    pub(crate) fn invalid_argument(method: &str, path: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, method, path, message.into())
    }

    /// A SQL statement that did not succeed although its requests did (the Statement Execution
    /// API answers HTTP 200 with `status.state` `FAILED`, `CANCELED` or `CLOSED`), or that was
    /// still running at its deadline. The server's
    /// `message` is kept whole (the user must see it), with the SQLSTATE appended unless it
    /// already names it.
    pub(crate) fn statement(
        kind: ErrorKind,
        method: &str,
        path: &str,
        error_code: Option<String>,
        message: String,
        sql_state: Option<String>,
    ) -> Self {
        let message = match &sql_state {
            Some(state) if !message.contains(state.as_str()) => {
                format!("{message} (SQLSTATE {state})")
            }
            _ => message,
        };
        let mut err = Self::new(kind, method, path, message);
        err.inner.error_code = error_code;
        err.inner.sql_state = sql_state;
        err
    }

    /// Marks a failed create as [`ErrorKind::Ambiguous`], keeping status, code and message.
    pub(crate) fn into_ambiguous(mut self) -> Self {
        self.inner.kind = ErrorKind::Ambiguous;
        self
    }

    /// An error of the token endpoint whose message is complete on its own.
    pub(crate) fn into_token_error(
        mut self,
        kind: ErrorKind,
        message: String,
        hint: Option<String>,
    ) -> Self {
        self.inner.kind = kind;
        self.inner.message = message;
        self.inner.hint = hint;
        self.inner.complete_message = true;
        self
    }

    /// Prefers `Retry-After` (when the answer has one) to the body's delay.
    pub(crate) fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.inner.retry_after = retry_after.or(self.inner.retry_after);
        self
    }

    /// The error without its Databricks error code and request id: method, path, HTTP status
    /// and message (for default output; `Display` has everything).
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = self.write(&mut out, false);
        out
    }

    fn write(&self, f: &mut impl fmt::Write, details: bool) -> fmt::Result {
        if self.inner.complete_message {
            f.write_str(&self.inner.message)?;
        } else {
            write!(f, "{} {}: ", self.inner.method, self.inner.path)?;
            if details {
                if let Some(status) = self.inner.status {
                    write!(f, "HTTP {status} ")?;
                }
                if let Some(code) = &self.inner.error_code {
                    write!(f, "{code}: ")?;
                }
            } else if let Some(status) = self.inner.status {
                write!(f, "HTTP {status}: ")?;
            }
            f.write_str(&self.inner.message)?;
        }
        if let Some(id) = self.inner.request_id.as_ref().filter(|_| details) {
            write!(f, " (request id {id})")?;
        }
        if self.inner.kind == ErrorKind::Ambiguous {
            f.write_str("; the create may have been committed: look up before retrying")?;
        }
        Ok(())
    }
}

impl fmt::Display for DatabricksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, true)
    }
}

impl std::error::Error for DatabricksError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// `Result` helpers.
pub trait ResultExt<T> {
    /// `Ok(Some(v))` on success, `Ok(None)` if the resource does not exist
    /// ([`ErrorKind::NotFound`]), the error otherwise.
    ///
    /// # Errors
    /// Any error other than not-found.
    fn optional(self) -> Result<Option<T>, DatabricksError>;
}

impl<T> ResultExt<T> for Result<T, DatabricksError> {
    fn optional(self) -> Result<Option<T>, DatabricksError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Classification

/// The kind of an error answer: the error code first, then the status (GO-http error mapping).
pub(crate) fn kind_for(status: u16, code: Option<&str>) -> ErrorKind {
    use ErrorKind::*;
    let by_code = code.and_then(|code| {
        Some(match code {
            "INVALID_PARAMETER_VALUE" | "INVALID_PARAMETER" | "MALFORMED_REQUEST" => {
                InvalidParameter
            }
            "INVALID_STATE" => InvalidState,
            "BAD_REQUEST" => BadRequest,
            "RESOURCE_DOES_NOT_EXIST" | "NOT_FOUND" => NotFound,
            "ALREADY_EXISTS" | "RESOURCE_ALREADY_EXISTS" => AlreadyExists,
            "ABORTED" | "RESOURCE_CONFLICT" => Conflict,
            "REQUEST_LIMIT_EXCEEDED" => TooManyRequests,
            "RESOURCE_EXHAUSTED" if status == 429 => TooManyRequests,
            "RESOURCE_EXHAUSTED" | "QUOTA_EXCEEDED" => QuotaExceeded,
            "FEATURE_DISABLED" => FeatureDisabled,
            "TEMPORARILY_UNAVAILABLE" => Unavailable,
            "UNAUTHENTICATED" | "invalid_client" | "unauthorized_client" | "invalid_grant" => {
                Unauthenticated
            }
            "PERMISSION_DENIED" | "access_denied" => PermissionDenied,
            "DEADLINE_EXCEEDED" => Timeout,
            "NOT_IMPLEMENTED" => NotImplemented,
            "UNKNOWN" | "DATA_LOSS" | "INTERNAL_ERROR" => Internal,
            _ => return None,
        })
    });
    by_code.unwrap_or(match status {
        400 => BadRequest,
        401 => Unauthenticated,
        403 => PermissionDenied,
        404 => NotFound,
        409 => Conflict,
        429 => TooManyRequests,
        499 | 502 | 503 => Unavailable,
        501 => NotImplemented,
        504 => Timeout,
        500..=599 => Internal,
        _ => Other,
    })
}

/// The innermost cause of a transport error (e.g. "Connection refused (os error 111)").
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_prefers_the_code() {
        use ErrorKind::*;
        let cases = [
            (400, Some("RESOURCE_DOES_NOT_EXIST"), NotFound),
            (429, Some("RESOURCE_EXHAUSTED"), TooManyRequests),
            (400, Some("RESOURCE_EXHAUSTED"), QuotaExceeded),
            (418, Some("SOMETHING_NEW"), Other),
            (503, None, Unavailable),
            (504, None, Timeout),
        ];
        for (status, code, kind) in cases {
            assert_eq!(kind_for(status, code), kind, "{status} {code:?}");
        }
    }
}
