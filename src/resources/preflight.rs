//! The preflight (issue #16): what each resource kind checks with read-only calls before `up`
//! makes its first mutating call, so that a workflow that cannot converge stops before anything
//! billed exists, with every problem in one list.
//!
//! A kind's [`Resource::preflight`](super::Resource::preflight) returns [`Finding`]s, built
//! from the same lookups `up` makes ([`Resource::find`](super::Resource::find),
//! [`Resource::check_create`](super::Resource::check_create), the kind's own checks): the error
//! `up` would have stopped with becomes a finding ([`Finding::from_error`]) instead of a
//! second copy of the check. Permissions that only a create would reveal are asked of EC2 with
//! `DryRun` ([`ec2_permission`]).

use serde::Serialize;

use super::{Cx, Found, Resource};
use crate::aws::{AwsError, ErrorKind};
use crate::engine::{ErrorClass, StepError};

/// One problem the preflight found: what, where in the workflow file, why, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The workflow file's key it concerns (`databricks.workspace_ids[0]`, `aws` for the
    /// credentials of the `[aws]` table).
    pub key: String,
    /// `file:line:column: key` (set by the runner from the file's text).
    pub place: String,
    /// What was checked (`workspace 1234`, `ec2:CreateVpcEndpoint`).
    pub what: String,
    /// Why it fails.
    pub why: String,
    /// What to do.
    pub fix: String,
    /// The check could not be made for a transient reason (throttled, 5xx): the runner asks
    /// again before reporting it.
    #[serde(skip)]
    pub retryable: bool,
}

impl Finding {
    /// A finding about `key`: `what` fails because `why`; `fix` says what to do.
    pub fn new(
        key: impl Into<String>,
        what: impl Into<String>,
        why: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        let key = key.into();
        Self {
            place: key.clone(),
            key,
            what: what.into(),
            why: why.into(),
            fix: fix.into(),
            retryable: false,
        }
    }

    /// The error `up` would have stopped with, as a finding about `key`. An error that is not
    /// the user's to fix (a read refused, a server failing) means the check could not be made:
    /// it says so, and it still counts (issue #16 item 2).
    pub fn from_error(key: impl Into<String>, what: impl Into<String>, e: &StepError) -> Self {
        let (why, fix) = match e {
            StepError::NeedsUser { message, hint, .. } => (message.clone(), hint.clone()),
            other => (
                format!("cannot be checked: {}", first_line(&other.to_string())),
                "make sure the credentials may read it (`plink iam-policy` lists the actions), \
                 then run again"
                    .to_owned(),
            ),
        };
        Self {
            retryable: e.class() == ErrorClass::Retryable,
            ..Self::new(key, what, why, fix)
        }
    }

    /// Every finding of `result`: none when it is `Ok`.
    pub fn of<T>(key: &str, what: &str, result: &Result<T, StepError>) -> Vec<Self> {
        match result {
            Ok(_) => Vec::new(),
            Err(e) => vec![Self::from_error(key, what, e)],
        }
    }
}

impl std::fmt::Display for Finding {
    /// `file:line:column: key: why; fix` (the shape of the file's own validation errors).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}\n    fix: {}", self.place, self.why, self.fix)
    }
}

/// A kind's own lookups as its preflight: [`find`](Resource::find), then for what is missing
/// [`check_create`](Resource::check_create) (its limits), and for what exists, when `compare`,
/// [`compare`](Resource::compare) (its checks that the resource is usable); the error `up`
/// would stop with becomes a finding about `key`.
pub async fn lookups<R: Resource + ?Sized>(
    r: &R,
    cx: &Cx<'_>,
    inputs: &R::Inputs,
    compare: bool,
    key: &str,
    what: &str,
) -> Vec<Finding> {
    let result = match r.find(cx, inputs).await {
        Ok(Found::Missing { .. }) => r.check_create(cx, inputs).await,
        Ok(
            Found::Recorded(live)
            | Found::Unrecorded { resource: live, .. }
            | Found::Replace { resource: live, .. },
        ) if compare => r.compare(cx, inputs, &live).await.map(|_| ()),
        Ok(_) => Ok(()),
        Err(e) => Err(e),
    };
    Finding::of(key, what, &result)
}

/// The VPC a dry run names before the `network` node recorded the real one (a fresh
/// deployment): AWS checks the permission before it looks the VPC up.
pub const PLACEHOLDER_VPC: &str = "vpc-00000000000000000";

/// The security group, endpoint service and endpoint a modification's dry run names before they
/// exist (same reason as [`PLACEHOLDER_VPC`]).
pub const PLACEHOLDER_SECURITY_GROUP: &str = "sg-00000000000000000";
pub const PLACEHOLDER_SERVICE: &str = "vpce-svc-00000000000000000";
pub const PLACEHOLDER_ENDPOINT: &str = "vpce-00000000000000000";

/// The NLB a dry run names before the NLB exists (same reason as [`PLACEHOLDER_VPC`]).
pub fn placeholder_nlb_arn(region: &str, account: &str) -> String {
    format!(
        "arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/net/plink-preflight/0000000000000000"
    )
}

/// The key of findings about the AWS credentials: the `[aws]` table, which chooses them
/// (`aws.profile`, `aws.role_arn`, else the standard chain).
pub const AWS_CREDENTIALS: &str = "aws";

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// The answer of an EC2 call made with `DryRun=true`, as a finding about `key` when the
/// caller lacks `action` (AWS: `DryRunOperation` means the request would have succeeded,
/// `UnauthorizedOperation` that the caller may not make it; ec2 API reference, "DryRun").
///
/// Any other answer (a placeholder id not found, a parameter refused) comes after the
/// permission check, so it proves nothing is missing; it is not a finding. A throttled or
/// failed answer is retried by the runner.
pub fn ec2_permission(key: &str, action: &str, answer: Result<(), AwsError>) -> Option<Finding> {
    let e = match answer {
        Ok(()) => return None,
        Err(e) if e.has_code("DryRunOperation") => return None,
        Err(e) => e,
    };
    if e.has_code("UnauthorizedOperation") || e.kind == ErrorKind::AccessDenied {
        // The action AWS names (`ec2:CreateTags` for a create that tags), else the one asked.
        let summary = e.summary();
        let denied = summary
            .split("perform: ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map_or_else(|| format!("ec2:{action}"), str::to_owned);
        return Some(Finding::new(
            key,
            denied.clone(),
            format!("the AWS credentials may not call {denied}, which up needs for {action}"),
            format!(
                "allow {denied} to the credentials of [aws] (`plink iam-policy` prints the whole \
                 policy plink needs), then run again"
            ),
        ));
    }
    e.is_retryable().then(|| Finding {
        retryable: true,
        ..Finding::new(
            key,
            format!("ec2:{action}"),
            format!("cannot be checked: {}", first_line(&e.summary())),
            "run again",
        )
    })
}
