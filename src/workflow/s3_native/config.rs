//! The tables an `s3-native` workflow file takes, and its typed config: `[deployment]`, `[aws]`
//! (the account and region only: no VPC is involved), `[s3]` (the buckets and who writes their
//! policies: this kind's own table), `[databricks]` (without `domain_names`: an S3 rule names
//! buckets) and `[timeouts]`.

use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config::{
    self, ConfigError, DatabricksSettings, DeploymentName, DomainNames, KindName, RawDatabricks,
    RawDeployment, RawTimeouts, Region, Table, Timeouts, Validator, check_bucket_name,
};
use crate::workflow::unique_list;

/// The file as written: only these tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawFile {
    kind: Option<Spanned<String>>,
    deployment: Table<RawDeployment>,
    aws: Table<RawAwsAccount>,
    s3: Table<RawS3>,
    databricks: Table<RawDatabricks>,
    timeouts: Option<Table<RawTimeouts>>,
    /// Read with the header, the same for every kind (`config::read`).
    #[serde(rename = "state")]
    _state: Option<crate::config::ReadByHeader>,
}

/// `[aws]` of this kind: no `vpc` or `subnets` (Databricks' endpoint goes straight to S3).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawAwsAccount {
    region: Spanned<String>,
    profile: Option<Spanned<String>>,
    role_arn: Option<Spanned<String>>,
}

/// `[s3]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawS3 {
    buckets: Spanned<Vec<Spanned<String>>>,
    bucket_policy: Option<Spanned<String>>,
}

/// Who writes plink's statement into each bucket's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyMode {
    /// plink reads each policy, adds or updates only its own statement, and writes it back
    /// (the default).
    Manage,
    /// Another team owns the policies: plink prints the exact statement to add and waits.
    Print,
}

/// `[aws]`: the account and region whose buckets are used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AwsAccount {
    pub region: Region,
    pub profile: Option<String>,
    pub role_arn: Option<String>,
}

/// `[s3]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct S3Settings {
    /// `s3.buckets`: the rule's `resource_names`, in the deployment's region (checked by `up`).
    pub buckets: Vec<String>,
    /// `s3.bucket_policy`: `"manage"` (default) or `"print"`.
    pub bucket_policy: PolicyMode,
    /// Where each bucket is written (`file:line:column: key`), for the checks only the cloud
    /// can make (the bucket exists, in this region).
    pub written_at: Vec<String>,
}

/// A validated `s3-native` workflow file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    pub kind: KindName,
    pub deployment: DeploymentName,
    pub aws: AwsAccount,
    pub s3: S3Settings,
    pub databricks: DatabricksSettings,
    pub timeouts: Timeouts,
}

/// Validates the text of an `s3-native` workflow file.
///
/// # Errors
/// [`ConfigError::Invalid`] naming the file, line and key of every problem.
pub fn parse(source_name: &Path, text: &str) -> Result<Config, ConfigError> {
    config::decode_file(source_name, text, |v, raw: RawFile| {
        let deployment = v.check(&raw.deployment.name, "deployment.name", |n| {
            DeploymentName::new(n)
        });
        let region_span = raw.aws.region.span();
        let region = v.check(&raw.aws.region, "aws.region", |r| Region::new(r));
        let identity = v.aws_identity(
            raw.aws.profile.as_ref(),
            raw.aws.role_arn.as_ref(),
            region.as_ref(),
        );
        let s3 = s3(v, &raw.s3);
        if let Some(names) = &raw.databricks.domain_names {
            v.report(
                Some(names.span()),
                "databricks.domain_names",
                "not taken by kind \"s3-native\": an S3 rule names buckets (s3.buckets), not domain names",
            );
        }
        let databricks = v.databricks(raw.databricks.0, region.as_ref(), region_span);
        let timeouts = v.timeouts(raw.timeouts.map(|t| t.0));
        let (profile, role_arn) = identity?;
        Some(Config {
            kind: v.kind(raw.kind.as_ref()),
            deployment: deployment?,
            aws: AwsAccount {
                region: region?,
                profile,
                role_arn,
            },
            s3: s3?,
            databricks: databricks.filter(|d| d.domain_names == DomainNames::FromEndpoint)?,
            timeouts: timeouts?,
        })
    })
}

/// `[s3]`: bucket names (S3's naming rules, unique, at least one) and the policy mode.
fn s3(v: &mut Validator<'_>, raw: &RawS3) -> Option<S3Settings> {
    let mut written_at = Vec::new();
    let buckets = unique_list(
        v,
        &raw.buckets,
        "s3.buckets",
        "bucket name",
        &mut written_at,
        |b| check_bucket_name(b).map(|()| b.clone()),
    );
    let mode = match &raw.bucket_policy {
        None => Some(PolicyMode::Manage),
        Some(mode) => v.check(mode, "s3.bucket_policy", |m| match m.as_str() {
            "manage" => Ok(PolicyMode::Manage),
            "print" => Ok(PolicyMode::Print),
            other => Err(format!("expected \"manage\" or \"print\", found {other:?}")),
        }),
    };
    Some(S3Settings {
        buckets: buckets?,
        bucket_policy: mode?,
        written_at,
    })
}
