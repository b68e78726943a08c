//! One error type for every AWS call, classified so that callers can decide what to do.
//!
//! Classification follows the AWS error codes (field notes §C.8): the SDK's `ProvideErrorMetadata`
//! gives the code and message of service errors; transport failures (no answer, timeouts,
//! unparseable answers) have no code and are always worth a retry.
//!
//! Batch calls (`AcceptVpcEndpointConnections`, `RejectVpcEndpointConnections`,
//! `DeleteVpcEndpoints`, `DeleteVpcEndpointServiceConfigurations`) answer HTTP 200 with per-item
//! failures in `Unsuccessful`. They are never ignored (aws-controllers-k8s/community#2791): such an
//! answer becomes an [`AwsError`] whose [`unsuccessful`](AwsError::unsuccessful) lists the items and
//! whose kind is classified from the items' codes.

use std::fmt;

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::operation::RequestId;
use aws_sdk_ec2::types::UnsuccessfulItem as Ec2Unsuccessful;

/// The result of an AWS operation.
pub type Result<T, E = AwsError> = std::result::Result<T, E>;

/// The AWS service a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Amazon EC2 (VPCs, subnets, security groups, VPC endpoints, endpoint services).
    Ec2,
    /// Elastic Load Balancing v2 (load balancers, target groups, listeners).
    Elb,
    /// Amazon S3 (bucket policies, `s3-native`).
    S3,
    /// Amazon RDS (database targets of `nlb-service`).
    Rds,
    /// Credentials resolution (profiles, SSO, assume role), before any service call.
    Credentials,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ec2 => "ec2",
            Self::Elb => "elasticloadbalancing",
            Self::S3 => "s3",
            Self::Rds => "rds",
            Self::Credentials => "credentials",
        })
    }
}

/// What kind of failure an [`AwsError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The resource does not exist (or no longer exists).
    NotFound,
    /// The request was throttled; retry later.
    Throttled,
    /// The service failed (5xx, `ServiceUnavailable`, `InternalError`); retry later.
    Unavailable,
    /// No usable answer: connection failure, timeout, unparseable response. The request may have
    /// been processed, so only retry calls that are idempotent (all plink creates carry a token
    /// or a natural key).
    Transport,
    /// Missing, invalid or expired credentials, or a missing permission.
    AccessDenied,
    /// The resource exists with other settings, or is still in use.
    Conflict,
    /// An account quota is exhausted.
    Quota,
    /// Any other client error: the request is wrong and retrying it will not help.
    Invalid,
}

/// One failed item of a batch call (`Unsuccessful` in an HTTP 200 answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsuccessfulItem {
    /// The resource the item was about (a `vpce-…` or `vpce-svc-…` id).
    pub resource_id: String,
    pub code: Option<String>,
    pub message: Option<String>,
}

impl fmt::Display for UnsuccessfulItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.resource_id)?;
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => write!(f, "{c}: {m}"),
            (Some(c), None) => f.write_str(c),
            (None, Some(m)) => f.write_str(m),
            (None, None) => f.write_str("failed (no reason given)"),
        }
    }
}

/// The error of one AWS operation.
///
/// The message never contains credentials: it is built from the error code and message AWS
/// returns (with access key ids masked) or from the transport error, never from the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}", self.summary(), self.hint().map_or(String::new(), |h| format!("\n  hint: {h}")))]
pub struct AwsError {
    pub service: Service,
    /// The API action, e.g. `CreateVpcEndpoint`.
    pub operation: &'static str,
    /// The AWS error code, e.g. `InvalidVpcID.NotFound`; `None` for transport failures and for
    /// errors found by plink itself (e.g. "no VPC matches").
    pub code: Option<String>,
    pub message: String,
    pub kind: ErrorKind,
    /// The request id AWS returned, for support cases.
    pub request_id: Option<String>,
    /// The failed items of a batch call; empty otherwise.
    pub unsuccessful: Vec<UnsuccessfulItem>,
}

const ACCESS_HINT: &str = "check which AWS credentials are in use (AWS_PROFILE, --profile, \
     --role-arn, environment) and that they grant the permissions listed by `plink iam-policy`";
const QUOTA_HINT: &str = "request a higher quota in Service Quotas, or delete unused resources";

/// `map_err` adapter for an EC2 call: `.map_err(ec2_error("DescribeVpcs"))`.
pub(crate) fn ec2_error<E>(operation: &'static str) -> impl FnOnce(SdkError<E>) -> AwsError
where
    E: ProvideErrorMetadata + RequestId + std::error::Error + Send + Sync + 'static,
{
    move |err| AwsError::from_sdk(Service::Ec2, operation, err)
}

/// `map_err` adapter for an ELBv2 call: `.map_err(elb_error("DescribeTags"))`.
pub(crate) fn elb_error<E>(operation: &'static str) -> impl FnOnce(SdkError<E>) -> AwsError
where
    E: ProvideErrorMetadata + RequestId + std::error::Error + Send + Sync + 'static,
{
    move |err| AwsError::from_sdk(Service::Elb, operation, err)
}

/// `Ok(())` also when the call failed with one of `codes` (e.g. a rule that already exists);
/// every other error is returned.
pub(crate) fn ignore_codes<T>(result: Result<T>, codes: &[&str]) -> Result<()> {
    match result {
        Err(e) if !codes.iter().any(|c| e.has_code(c)) => Err(e),
        _ => Ok(()),
    }
}

/// `Err` listing the failed items of a batch delete or reject, unless every one only says "not
/// found" (gone is what the caller wanted).
pub(crate) fn check_unsuccessful(operation: &'static str, items: &[Ec2Unsuccessful]) -> Result<()> {
    match AwsError::from_unsuccessful(operation, items) {
        Some(err) if !err.is_not_found() => Err(err),
        _ => Ok(()),
    }
}

impl AwsError {
    /// An error found by plink itself (no AWS error code), e.g. an ambiguous tag lookup.
    pub fn local(
        service: Service,
        operation: &'static str,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Self {
        Self {
            service,
            operation,
            code: None,
            message: message.into(),
            kind,
            request_id: None,
            unsuccessful: Vec::new(),
        }
    }

    /// A create call answered without the resource it made (`what`): worth a retry.
    pub(crate) fn no_answer(service: Service, operation: &'static str, what: &str) -> Self {
        let message = format!("the answer carries no {what}");
        Self::local(service, operation, ErrorKind::Transport, message)
    }

    /// Converts an SDK error of either client.
    pub fn from_sdk<E>(service: Service, operation: &'static str, err: SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + RequestId + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        match &err {
            SdkError::ServiceError(service_err) => {
                let e = service_err.err();
                let code = e.code().map(str::to_owned);
                let message = e
                    .message()
                    .map(redact)
                    .unwrap_or_else(|| format!("HTTP {}", status.unwrap_or_default()));
                let kind = classify(code.as_deref(), status);
                Self {
                    code,
                    request_id: e.request_id().map(str::to_owned),
                    ..Self::local(service, operation, kind, message)
                }
            }
            SdkError::ConstructionFailure(_) => {
                let message = format!("request not sent: {}", redact(&chain(&err)));
                Self::local(service, operation, ErrorKind::Invalid, message)
            }
            _ => {
                // Timeout, dispatch failure, unparseable response: the request may have been
                // processed. A 5xx that could not even be parsed is still the service's fault.
                let kind = match status {
                    Some(s) if s >= 500 => ErrorKind::Unavailable,
                    Some(429) => ErrorKind::Throttled,
                    _ => ErrorKind::Transport,
                };
                let prefix = status.map(|s| format!("HTTP {s}: ")).unwrap_or_default();
                let message = format!("{prefix}{}", redact(&chain(&err)));
                Self {
                    // An answer that could not be parsed may still name its request.
                    request_id: err.request_id().map(str::to_owned),
                    ..Self::local(service, operation, kind, message)
                }
            }
        }
    }

    /// Builds the error of a batch call from its `Unsuccessful` items; `None` if there are none.
    pub fn from_unsuccessful(operation: &'static str, items: &[Ec2Unsuccessful]) -> Option<Self> {
        if items.is_empty() {
            return None;
        }
        let items: Vec<UnsuccessfulItem> = items
            .iter()
            .map(|i| UnsuccessfulItem {
                resource_id: i.resource_id().unwrap_or("?").to_owned(),
                code: i.error().and_then(|e| e.code()).map(str::to_owned),
                message: i.error().and_then(|e| e.message()).map(redact),
            })
            .collect();
        // The kind is the first item's, unless every item only says "not found".
        let kind = items
            .iter()
            .map(|i| classify(i.code.as_deref(), None))
            .find(|k| *k != ErrorKind::NotFound)
            .unwrap_or(ErrorKind::NotFound);
        let listed: Vec<String> = items.iter().map(ToString::to_string).collect();
        let message = format!("{} item(s) failed: {}", items.len(), listed.join("; "));
        Some(Self {
            code: items.iter().find_map(|i| i.code.clone()),
            unsuccessful: items,
            ..Self::local(Service::Ec2, operation, kind, message)
        })
    }

    /// Whether retrying the same call later may succeed (throttling, 5xx, transport).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Throttled | ErrorKind::Unavailable | ErrorKind::Transport
        )
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// The error without its hint: service, operation, code and message.
    pub fn summary(&self) -> String {
        let (service, operation, message) = (self.service, self.operation, &self.message);
        match &self.code {
            // Batch failures list each item with its own code in the message.
            Some(c) if self.unsuccessful.is_empty() => {
                format!("{service} {operation}: {c}: {message}")
            }
            _ => format!("{service} {operation}: {message}"),
        }
    }

    /// [`summary`](Self::summary) followed by the request id AWS returned, if any (for `-v`
    /// output and support cases; the default message leaves it out).
    pub fn summary_with_request_id(&self) -> String {
        match &self.request_id {
            Some(id) => format!("{} (request id {id})", self.summary()),
            None => self.summary(),
        }
    }

    /// What the user can do about it, for access and quota errors.
    pub fn hint(&self) -> Option<&'static str> {
        match self.kind {
            ErrorKind::AccessDenied => Some(ACCESS_HINT),
            ErrorKind::Quota => Some(QUOTA_HINT),
            _ => None,
        }
    }
}

/// Classifies an AWS error code (and the HTTP status when there is one).
pub fn classify(code: Option<&str>, status: Option<u16>) -> ErrorKind {
    let Some(code) = code else {
        return match status {
            Some(429) => ErrorKind::Throttled,
            Some(401 | 403) => ErrorKind::AccessDenied,
            Some(404) => ErrorKind::NotFound,
            Some(s) if s >= 500 => ErrorKind::Unavailable,
            Some(_) => ErrorKind::Invalid,
            None => ErrorKind::Transport,
        };
    };
    // Codes sometimes come with an `Exception` suffix (JSON protocols, some proxies), RDS's
    // with `Fault` (`DBClusterNotFoundFault`).
    let bare = code.strip_suffix("Exception").unwrap_or(code);
    let bare = bare.strip_suffix("Fault").unwrap_or(bare);
    let is_quota =
        bare.ends_with("LimitExceeded") || bare.starts_with("TooMany") || bare.ends_with("Limit");
    match bare {
        "Throttling"
        | "Throttled"
        | "RequestLimitExceeded"
        | "TooManyRequests"
        | "RequestThrottled"
        | "SlowDown"
        | "EC2Throttled"
        | "PriorRequestNotComplete"
        | "BandwidthLimitExceeded" => ErrorKind::Throttled,
        "ServiceUnavailable"
        | "InternalError"
        | "InternalFailure"
        | "Unavailable"
        | "InsufficientCapacity"
        | "RequestTimeout" => ErrorKind::Unavailable,
        "UnauthorizedOperation"
        | "AccessDenied"
        | "AuthFailure"
        | "InvalidClientTokenId"
        | "ExpiredToken"
        | "SignatureDoesNotMatch"
        | "MissingAuthenticationToken"
        | "UnrecognizedClient"
        | "OptInRequired"
        | "Blocked"
        | "IncompleteSignature" => ErrorKind::AccessDenied,
        "DuplicateLoadBalancerName"
        | "DuplicateTargetGroupName"
        | "DuplicateListener"
        | "DuplicateTagKeys"
        | "IdempotentParameterMismatch"
        | "ExistingVpcEndpointConnections"
        | "DependencyViolation"
        | "ResourceInUse"
        | "InvalidGroup.Duplicate"
        | "InvalidGroup.InUse"
        | "IncorrectState"
        | "InvalidState"
        | "OperationNotPermitted" => ErrorKind::Conflict,
        // S3 names its absences `NoSuch…` (NoSuchBucket, NoSuchBucketPolicy).
        _ if bare.ends_with("NotFound") || bare.starts_with("NoSuch") => ErrorKind::NotFound,
        _ if is_quota => ErrorKind::Quota,
        _ => match status {
            Some(s) if s >= 500 => ErrorKind::Unavailable,
            Some(401 | 403) => ErrorKind::AccessDenied,
            _ => ErrorKind::Invalid,
        },
    }
}

/// An error and its sources, `outer: inner: innermost` (without the `Debug` dump that
/// `DisplayErrorContext` appends).
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && parts.last() != Some(&text) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Masks AWS access key ids (`AKIA…`, `ASIA…`) that some error messages echo back.
fn redact(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let is_key = (rest.starts_with("AKIA") || rest.starts_with("ASIA"))
            && rest.len() >= 20
            && rest.as_bytes()[4..20]
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if is_key {
            out.push_str(&rest[..4]);
            out.push_str("****************");
            i += 20;
        } else {
            let ch = rest.chars().next().expect("non-empty");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// `Ok(None)` when the call failed because the resource does not exist (any more): lookups and
/// deletes treat "not found" as an answer, not an error.
///
/// # Errors
/// Every other error of `result`.
pub fn unless_not_found<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        use ErrorKind::*;
        let cases = [
            ("InvalidVpcEndpointId.NotFound", NotFound),
            ("InvalidVpcEndpointServiceId.NotFound", NotFound),
            ("LoadBalancerNotFound", NotFound),
            ("TargetGroupNotFound", NotFound),
            ("ListenerNotFound", NotFound),
            ("InvalidGroup.NotFound", NotFound),
            ("InvalidSubnetID.NotFound", NotFound),
            ("InvalidVpcID.NotFound", NotFound),
            ("Throttling", Throttled),
            ("ThrottlingException", Throttled),
            ("RequestLimitExceeded", Throttled),
            ("TooManyRequestsException", Throttled),
            ("RequestThrottled", Throttled),
            ("SlowDown", Throttled),
            ("EC2ThrottledException", Throttled),
            ("ServiceUnavailable", Unavailable),
            ("InternalError", Unavailable),
            ("Unavailable", Unavailable),
            ("UnauthorizedOperation", AccessDenied),
            ("AccessDenied", AccessDenied),
            ("AccessDeniedException", AccessDenied),
            ("AuthFailure", AccessDenied),
            ("InvalidClientTokenId", AccessDenied),
            ("ExpiredToken", AccessDenied),
            ("DuplicateLoadBalancerName", Conflict),
            ("DuplicateTargetGroupName", Conflict),
            ("IdempotentParameterMismatch", Conflict),
            ("ExistingVpcEndpointConnections", Conflict),
            ("DependencyViolation", Conflict),
            ("ResourceInUse", Conflict),
            ("VpcEndpointLimitExceeded", Quota),
            ("TooManyLoadBalancers", Quota),
            ("TooManyTargets", Quota),
            ("InvalidParameterValue", Invalid),
            ("InvalidConfigurationRequest", Invalid),
        ];
        for (code, kind) in cases {
            assert_eq!(classify(Some(code), Some(400)), kind, "{code}");
        }
        assert_eq!(classify(None, Some(503)), Unavailable);
        assert_eq!(classify(Some("Whatever"), Some(502)), Unavailable);
        assert_eq!(classify(None, None), Transport);
    }

    #[test]
    fn access_key_ids_are_masked() {
        let masked = redact("key AKIAIOSFODNN7EXAMPLE is bad");
        assert_eq!(masked, "key AKIA**************** is bad");
        assert_eq!(redact("ASIA short"), "ASIA short");
        assert_eq!(redact("ünïcode"), "ünïcode");
    }

    #[test]
    fn unsuccessful_items_become_an_error() {
        use aws_sdk_ec2::types::{UnsuccessfulItem as Item, UnsuccessfulItemError as ItemError};
        assert!(AwsError::from_unsuccessful("AcceptVpcEndpointConnections", &[]).is_none());
        let item = |id: &str, code: &str| {
            Item::builder()
                .resource_id(id)
                .error(ItemError::builder().code(code).message("nope").build())
                .build()
        };
        let items = [item("vpce-1", "InvalidVpcEndpointId.NotFound")];
        let err = AwsError::from_unsuccessful("AcceptVpcEndpointConnections", &items).unwrap();
        assert_eq!(err.kind, ErrorKind::NotFound);
        assert_eq!(err.unsuccessful.len(), 1);
        assert!(err.to_string().contains("vpce-1"), "{err}");
        let items = [
            item("vpce-svc-2", "InvalidVpcEndpointServiceId.NotFound"),
            item("vpce-svc-1", "ExistingVpcEndpointConnections"),
        ];
        let operation = "DeleteVpcEndpointServiceConfigurations";
        let err = AwsError::from_unsuccessful(operation, &items).unwrap();
        assert_eq!(err.kind, ErrorKind::Conflict);
    }
}
