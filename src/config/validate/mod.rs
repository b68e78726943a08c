/*!
Raw tables → typed sections: semantic checks, defaults and derived values.

Every check runs even after an earlier one failed, so one run reports every problem of the file
(each with its key path and line); a value is only skipped when it depends on one that is already
reported as invalid (no cascades: a bad region does not also produce a bad-principal error).
*/

use std::fmt::Display;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

mod aws;
mod databricks;

use super::error::{Diagnostic, DiagnosticKind};
use super::names::DeploymentName;
use super::raw::{RawAws, RawDeployment, RawDuration, RawTimeouts};
use super::region::Region;
use super::source::SourceText;
use super::timeouts::{Timeouts, parse_timeout};
use super::workflow::AwsSettings;
use super::workflow::{DEFAULT_KIND, KindName};

/// `kind`, `[deployment]` and `[aws]`, checked ([`Validator::head`]); `None` where invalid
/// (already reported).
pub(crate) struct Head {
    pub kind: KindName,
    pub deployment: Option<DeploymentName>,
    pub region: Option<Region>,
    /// Where `aws.region` is written (checks that derive from the region point at it).
    pub region_span: Range<usize>,
    pub aws: Option<AwsSettings>,
}

/// Databricks limit: each NCC can be attached to up to 50 workspaces.
pub const MAX_WORKSPACES_PER_NCC: usize = 50;

/// The semantic checks of a decoded file: a kind's validation calls the section checks it
/// needs (`deployment`, `aws`, `endpoint`, `nlb`, `databricks`, `timeouts`, …), each of which
/// reports every problem it finds and gives `None` for an invalid section, then
/// [`finish`](Validator::finish)es with the typed file.
pub(crate) struct Validator<'a> {
    file: &'a Path,
    src: &'a SourceText<'a>,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Validator<'a> {
    /// A validator for `file`, whose text is `src`.
    pub(crate) fn new(file: &'a Path, src: &'a SourceText<'a>) -> Self {
        Self {
            file,
            src,
            diagnostics: Vec::new(),
        }
    }

    /// The typed file if every check passed, else every problem found, in file order.
    ///
    /// # Errors
    /// Every problem found (problems without a position, missing keys, last).
    pub(crate) fn finish<T>(self, typed: Option<T>) -> Result<T, Vec<Diagnostic>> {
        let mut diagnostics = self.diagnostics;
        match typed {
            Some(typed) if diagnostics.is_empty() => Ok(typed),
            _ => {
                if diagnostics.is_empty() {
                    // A value was dropped without a diagnostic: a bug here, but still no panic.
                    diagnostics.push(Diagnostic {
                        file: self.file.to_owned(),
                        location: None,
                        key: None,
                        kind: DiagnosticKind::InvalidValue,
                        message:
                            "internal error: workflow rejected without a reason (please report)"
                                .to_owned(),
                    });
                }
                diagnostics.sort_by_key(|d| (d.location.is_none(), d.location));
                Err(diagnostics)
            }
        }
    }

    /// `kind`, and where the file says it (which kinds exist is for the workflow layer to say).
    pub(crate) fn kind(&self, raw: Option<&Spanned<String>>) -> KindName {
        match raw {
            None => KindName {
                name: DEFAULT_KIND.to_owned(),
                location: None,
            },
            Some(k) => KindName {
                name: k.get_ref().clone(),
                location: Some(self.src.location(k.span().start)),
            },
        }
    }

    /// `[deployment]`.
    pub(crate) fn deployment(&mut self, raw: &RawDeployment) -> Option<DeploymentName> {
        self.check(&raw.name, "deployment.name", |name| {
            DeploymentName::new(name)
        })
    }

    /// `aws.region`, needed by later checks even when another `[aws]` key is invalid.
    pub(crate) fn region(&mut self, raw: &Spanned<String>) -> Option<Region> {
        self.check(raw, "aws.region", |r| Region::new(r))
    }

    /// What every kind's file starts with: `kind`, `[deployment]` and `[aws]`.
    pub(crate) fn head(
        &mut self,
        kind: Option<&Spanned<String>>,
        deployment: &RawDeployment,
        aws: RawAws,
    ) -> Head {
        let region_span = aws.region.span();
        let region = self.region(&aws.region);
        Head {
            kind: self.kind(kind),
            deployment: self.deployment(deployment),
            aws: self.aws(aws, region.as_ref()),
            region,
            region_span,
        }
    }
}

impl Validator<'_> {
    /// Where `key` is written (`file:line:column: key`), for a check only the cloud can make
    /// later (an address outside the VPC), whose error must still name the file, line and key.
    pub(crate) fn place(&self, span: Range<usize>, key: &str) -> String {
        let at = self.src.location(span.start);
        format!("{}:{}:{}: {key}", self.file.display(), at.line, at.column)
    }

    pub(crate) fn report(&mut self, span: Option<Range<usize>>, key: &str, message: impl Display) {
        self.diagnostics.push(Diagnostic {
            file: self.file.to_owned(),
            location: span.map(|span| self.src.location(span.start)),
            key: Some(key.to_owned()),
            kind: DiagnosticKind::InvalidValue,
            message: message.to_string(),
        });
    }

    /// Runs `check` on a spanned value, reporting its error at the value's line.
    pub(crate) fn check<T, U, E: Display>(
        &mut self,
        value: &Spanned<T>,
        key: &str,
        check: impl FnOnce(&T) -> Result<U, E>,
    ) -> Option<U> {
        match check(value.get_ref()) {
            Ok(ok) => Some(ok),
            Err(error) => {
                self.report(Some(value.span()), key, error);
                None
            }
        }
    }

    /// "exactly one of" for inline tables like `vpc = { id = … }`.
    fn exactly_one(&mut self, span: Range<usize>, key: &str, a: &str, b: &str, both: bool) {
        let found = if both { "both" } else { "neither" };
        self.report(
            Some(span),
            key,
            format_args!("expected exactly one of {a:?} or {b:?}, found {found}"),
        );
    }

    /// `[timeouts]`.
    pub(crate) fn timeouts(&mut self, raw: Option<RawTimeouts>) -> Option<Timeouts> {
        let defaults = Timeouts::default();
        let Some(raw) = raw else {
            return Some(defaults);
        };
        let mut one = |value: &Option<Spanned<RawDuration>>, key: &str, default| match value {
            None => Some(default),
            Some(value) => self.check(value, key, |d| parse_timeout(&d.0)),
        };
        let endpoint = one(&raw.endpoint, "timeouts.endpoint", defaults.endpoint);
        let load_balancer = one(
            &raw.load_balancer,
            "timeouts.load_balancer",
            defaults.load_balancer,
        );
        let endpoint_service = one(
            &raw.endpoint_service,
            "timeouts.endpoint_service",
            defaults.endpoint_service,
        );
        let rule_endpoint = one(
            &raw.rule_endpoint,
            "timeouts.rule_endpoint",
            defaults.rule_endpoint,
        );
        let rule_established = one(
            &raw.rule_established,
            "timeouts.rule_established",
            defaults.rule_established,
        );
        let workspace = one(&raw.workspace, "timeouts.workspace", defaults.workspace);
        Some(Timeouts {
            endpoint: endpoint?,
            load_balancer: load_balancer?,
            endpoint_service: endpoint_service?,
            rule_endpoint: rule_endpoint?,
            rule_established: rule_established?,
            workspace: workspace?,
        })
    }
}

/// A profile name (AWS shared config or `~/.databrickscfg`): non-empty, no whitespace or
/// brackets (it becomes an INI section name).
fn check_profile(name: &str) -> Result<String, String> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '[' || c == ']')
    {
        Err(format!(
            "expected a profile name without whitespace or brackets, found {name:?}"
        ))
    } else {
        Ok(name.to_owned())
    }
}

/// An optional key that was checked: absent → `Some(None)`, valid → `Some(Some(v))`,
/// invalid (already reported) → `None`.
fn optional<T>(checked: Option<Option<T>>) -> Option<Option<T>> {
    match checked {
        None => Some(None),
        Some(valid) => valid.map(Some),
    }
}
