//! What to do: workflow kinds as data.
//!
//! A workflow kind is its typed config (the tables its files take, read with the
//! [`crate::config`] toolkit) and its graph ([`Graph`]): named resource instances
//! (`crate::resources`), their dependencies, and how each one's inputs derive from the config
//! and the records upstream. Every command derives from it: `up` runs the graph, `plan` plans it, `down` runs the
//! reverse graph, `status` observes it, `status --orphans` walks its kinds' inventories; display
//! and teardown orders are computed, never written.
//!
//! The registry ([`KINDS`]) maps the `kind` key of a workflow file to its kind. Adding a kind
//! means a folder here and one line in [`KINDS`] (see `ARCHITECTURE.md`).

mod databricks_side;
mod graph;
pub mod ip_access_lists;
pub mod network_policy;
pub mod nlb_service;
mod privatelink;
pub mod reach;
pub mod s3_native;
pub mod s3_privatelink;
#[cfg(test)]
mod test_sg;

pub(crate) use graph::intern;
pub use graph::{Graph, Upstream};

use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::config::{
    self, AwsSettings, ConfigError, DatabricksSettings, DeploymentName, Diagnostic, DiagnosticKind,
    KindName, Region, StateBackend, Validator, WorkflowText,
};
use crate::engine::StepError;

/// A workflow kind.
pub trait WorkflowKind: Send + Sync + std::fmt::Debug {
    /// Its name: the value of `kind` in workflow files, recorded in state files.
    fn name(&self) -> &'static str;

    /// Reads a workflow file of this kind: its typed config, then its graph.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file, line and key of every problem.
    fn load(&self, file: &WorkflowText) -> Result<Loaded, ConfigError>;
}

/// A workflow file, read by its kind: everything the commands need of it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file, as given.
    pub source: PathBuf,
    pub kind: &'static dyn WorkflowKind,
    /// `deployment.name`.
    pub deployment: DeploymentName,
    /// Where the clouds are and which credentials to use.
    pub clouds: Clouds,
    /// `[state]`: where the deployment's state lives, the same for every kind.
    pub state: StateBackend,
    /// What `plink validate` says of it after `deployment <name>, ` (`region …, 2 workspace(s)`).
    pub summary: String,
    pub graph: Graph,
    /// What the deployment opens a path to (`plink verify`); `None` for a kind that opens none.
    pub reach: Option<reach::Reach>,
    /// The file's text as it was read: where each key is written, for findings the clouds
    /// reveal later ([`Loaded::place`]).
    pub text: std::sync::Arc<str>,
}

impl Loaded {
    /// What a kind read: the file, `deployment`, the clouds of its `[aws]` and
    /// `[databricks]` tables, `validate`'s line and the graph (whose error, never expected once
    /// the file is valid, becomes the file's).
    ///
    /// # Errors
    /// The graph could not be built.
    pub(crate) fn new(
        kind: &'static dyn WorkflowKind,
        file: &WorkflowText,
        deployment: &DeploymentName,
        clouds: Clouds,
        summary: String,
        graph: Result<Graph, StepError>,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            source: file.path.clone(),
            kind,
            deployment: deployment.clone(),
            clouds,
            state: file.state.clone(),
            summary,
            graph: graph.map_err(|e| graph_error(&file.path, e))?,
            reach: None,
            text: file.text.as_str().into(),
        })
    }

    /// The same, opening a path to `reach` (`plink verify`).
    #[must_use]
    pub(crate) fn reaching(self, reach: Option<reach::Reach>) -> Self {
        Self { reach, ..self }
    }

    /// `file:line:column: key`: where `key` is written (or the table that would hold it).
    pub fn place(&self, key: &str) -> String {
        config::place_of(&self.source, &self.text, key)
    }
}

/// Where the clouds of a deployment are, and which credentials to use (the rest comes from the
/// standard chains).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clouds {
    /// `aws.region`; `None` for kinds that make no AWS call (network policies are account-wide).
    pub region: Option<Region>,
    /// `aws.profile`.
    pub aws_profile: Option<String>,
    /// `aws.role_arn`.
    pub aws_role_arn: Option<String>,
    /// `databricks.profile`.
    pub databricks_profile: Option<String>,
    /// `databricks.account_id`.
    pub databricks_account_id: Option<String>,
}

impl Clouds {
    /// A kind that makes no AWS call: only the Databricks account of its `[databricks]` table.
    pub fn databricks_only(databricks: &crate::config::DatabricksAccount) -> Self {
        Self {
            region: None,
            aws_profile: None,
            aws_role_arn: None,
            databricks_profile: databricks.profile.clone(),
            databricks_account_id: databricks.account_id.clone(),
        }
    }

    /// From the `[aws]` section, and the `[databricks]` one when the kind takes it.
    pub fn new(aws: &AwsSettings, databricks: Option<&DatabricksSettings>) -> Self {
        Self {
            region: Some(aws.region.clone()),
            aws_profile: aws.profile.clone(),
            aws_role_arn: aws.role_arn.clone(),
            databricks_profile: databricks.and_then(|d| d.profile.clone()),
            databricks_account_id: databricks.and_then(|d| d.account_id.clone()),
        }
    }
}

/// The registry: every workflow kind, by name.
pub static KINDS: &[&dyn WorkflowKind] = &[
    &s3_privatelink::S3PrivateLink,
    &nlb_service::NlbService,
    &s3_native::S3Native,
    &network_policy::NetworkPolicyKind,
    &ip_access_lists::IpAccessLists,
    #[cfg(test)]
    &test_sg::TestSecurityGroup,
];

/// The kind named `name`.
pub fn find(name: &str) -> Option<&'static dyn WorkflowKind> {
    KINDS.iter().copied().find(|k| k.name() == name)
}

/// The names of every kind.
pub fn names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name()).collect()
}

/// Reads a workflow file of any kind: its `kind` key chooses who reads the rest.
///
/// # Errors
/// [`ConfigError`]: the file cannot be read, names an unknown kind, or is invalid for its kind.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let file = config::read(path)?;
    kind_of(&file.kind, path)?.load(&file)
}

/// A graph that cannot be built from a validated file (a bug: validation covers what the
/// resources need), as the file's error.
fn graph_error(source: &Path, e: StepError) -> ConfigError {
    ConfigError::Invalid {
        diagnostics: vec![Diagnostic {
            file: source.to_owned(),
            location: None,
            key: None,
            kind: DiagnosticKind::InvalidValue,
            message: format!("internal error: the workflow's graph cannot be built: {e}"),
        }],
    }
}

/// The list `key` of a kind's file: at least one value, each passing `check`, none twice; where
/// each is written goes to `written_at`.
pub(crate) fn unique_list(
    v: &mut Validator<'_>,
    raw: &Spanned<Vec<Spanned<String>>>,
    key: &str,
    noun: &str,
    written_at: &mut Vec<String>,
    check: impl Fn(&String) -> Result<String, String>,
) -> Option<Vec<String>> {
    let mut ok = true;
    if raw.get_ref().is_empty() {
        v.report(
            Some(raw.span()),
            key,
            format!("expected at least one {noun}"),
        );
        ok = false;
    }
    let mut valid: Vec<String> = Vec::new();
    for (i, item) in raw.get_ref().iter().enumerate() {
        let key = format!("{key}[{i}]");
        match v.check(item, &key, &check) {
            Some(value) if valid.contains(&value) => {
                v.report(Some(item.span()), &key, format!("{value} is listed twice"));
                ok = false;
            }
            Some(value) => {
                written_at.push(v.place(item.span(), &key));
                valid.push(value);
            }
            None => ok = false,
        }
    }
    ok.then_some(valid)
}

/// The kind a file names.
///
/// # Errors
/// [`ConfigError::Invalid`] naming the file, line and key when no kind has that name.
pub fn kind_of(kind: &KindName, source: &Path) -> Result<&'static dyn WorkflowKind, ConfigError> {
    let name = &kind.name;
    find(name).ok_or_else(|| ConfigError::Invalid {
        diagnostics: vec![Diagnostic {
            file: source.to_owned(),
            location: kind.location,
            key: Some("kind".into()),
            kind: DiagnosticKind::InvalidValue,
            message: format!(
                "unknown workflow kind \"{name}\"; expected one of: {}",
                names().join(", ")
            ),
        }],
    })
}
