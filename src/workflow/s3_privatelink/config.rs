//! The tables an `s3-privatelink` workflow file takes, and its typed config: `[deployment]`,
//! `[aws]`, `[endpoint]`, `[nlb]`, `[databricks]`, `[timeouts]` (each checked by the config
//! toolkit's section checks; `workflows/reference.toml` lists every key).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config::{
    self, AwsSettings, ConfigError, DatabricksSettings, DeploymentName, EndpointSettings, KindName,
    NlbSettings, RawAws, RawDatabricks, RawDeployment, RawEndpoint, RawNlb, RawTimeouts, Table,
    Timeouts,
};

/// The file as written: only these tables (an unknown one is an error naming what is allowed).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawFile {
    kind: Option<Spanned<String>>,
    deployment: Table<RawDeployment>,
    aws: Table<RawAws>,
    endpoint: Option<Table<RawEndpoint>>,
    nlb: Option<Table<RawNlb>>,
    databricks: Table<RawDatabricks>,
    timeouts: Option<Table<RawTimeouts>>,
    /// Read with the header, the same for every kind (`config::read`).
    #[serde(rename = "state")]
    _state: Option<crate::config::ReadByHeader>,
}

/// A validated `s3-privatelink` workflow file ("validate high"): every value checked, every
/// default applied, every derived value (names, the Databricks principal) computed. Code past
/// this point never re-checks the file and never sees an `Option` that means "use the default".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    /// The file it came from, as given to [`load`] / [`parse`].
    pub source: PathBuf,
    /// `kind` (this one, named or by default).
    pub kind: KindName,
    /// `deployment.name`: names the state and derived AWS names, and tags every resource.
    pub deployment: DeploymentName,
    /// `[aws]`: where the customer side lives.
    pub aws: AwsSettings,
    /// `[endpoint]`: the S3 interface endpoint.
    pub endpoint: EndpointSettings,
    /// `[nlb]`: the internal network load balancer in front of the endpoint.
    pub nlb: NlbSettings,
    /// `[databricks]`: the NCC, its private endpoint rule and the workspaces to bind.
    pub databricks: DatabricksSettings,
    /// `[timeouts]`: wait limits.
    pub timeouts: Timeouts,
}

/// Reads and validates an `s3-privatelink` workflow file.
///
/// # Errors
/// [`ConfigError::NotFound`], [`ConfigError::Unreadable`] or [`ConfigError::NotUtf8`] if the file
/// cannot be read as text; otherwise as [`parse`].
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    parse(path, &config::read(path)?.text)
}

/// Validates the text of an `s3-privatelink` workflow file; `source_name` is used in messages
/// and to resolve `endpoint.policy_file` (relative to its directory), the only file read.
///
/// # Errors
/// [`ConfigError::Invalid`] with one diagnostic for a TOML syntax error, an unknown key, a value
/// of the wrong type or a missing key (decoding stops there), or with every semantic problem
/// found (all checks run).
pub fn parse(source_name: &Path, text: &str) -> Result<Config, ConfigError> {
    config::decode_file(source_name, text, |v, raw: RawFile| {
        let head = v.head(raw.kind.as_ref(), &raw.deployment, raw.aws.0);
        let region = head.region.as_ref();
        let endpoint = v.endpoint(raw.endpoint.map(|t| t.0), region);
        let nlb = v.nlb(
            raw.nlb.map(|t| t.0),
            head.deployment.as_ref(),
            &raw.deployment.name,
        );
        let databricks = v.databricks(raw.databricks.0, region, head.region_span.clone());
        let timeouts = v.timeouts(raw.timeouts.map(|t| t.0));
        Some(Config {
            source: source_name.to_owned(),
            kind: head.kind,
            deployment: head.deployment?,
            aws: head.aws?,
            endpoint: endpoint?,
            nlb: nlb?,
            databricks: databricks?,
            timeouts: timeouts?,
        })
    })
}
