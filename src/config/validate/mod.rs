/*!
[`RawWorkflow`] → [`Workflow`]: semantic checks, defaults and derived values.

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
use super::raw::{RawDuration, RawTimeouts, RawWorkflow};
use super::region::Region;
use super::source::SourceText;
use super::timeouts::{Timeouts, parse_timeout};
use super::workflow::{DEFAULT_KIND, KindName, Workflow};

/// Databricks limit: each NCC can be attached to up to 50 workspaces.
pub const MAX_WORKSPACES_PER_NCC: usize = 50;

/// Validates a decoded file.
///
/// # Errors
/// Every problem found, in file order.
pub(crate) fn validate(
    file: &Path,
    src: &SourceText<'_>,
    raw: RawWorkflow,
) -> Result<Workflow, Vec<Diagnostic>> {
    let mut v = Validator {
        file,
        src,
        diagnostics: Vec::new(),
    };
    // Which kinds exist is for the workflow layer to say (`crate::workflow::kind_of`); here
    // only which one the file names, and where.
    let kind = Some(match &raw.kind {
        None => KindName {
            name: DEFAULT_KIND.to_owned(),
            location: None,
        },
        Some(k) => KindName {
            name: k.get_ref().clone(),
            location: Some(src.location(k.span().start)),
        },
    });
    let deployment = v.check(&raw.deployment.name, "deployment.name", |name| {
        DeploymentName::new(name)
    });
    // The region is needed by later checks even when another `[aws]` key is invalid.
    let region_span = raw.aws.region.span();
    let region = v.check(&raw.aws.region, "aws.region", |r| Region::new(r));
    let aws = v.aws(raw.aws.0, region.as_ref());
    let endpoint = v.endpoint(raw.endpoint.map(|t| t.0), region.as_ref());
    let nlb = v.nlb(
        raw.nlb.map(|t| t.0),
        deployment.as_ref(),
        &raw.deployment.name,
    );
    let databricks = v.databricks(raw.databricks.0, region.as_ref(), region_span);
    let timeouts = v.timeouts(raw.timeouts.map(|t| t.0));

    let workflow = (|| {
        Some(Workflow {
            source: file.to_owned(),
            kind: kind?,
            deployment: deployment?,
            aws: aws?,
            endpoint: endpoint?,
            nlb: nlb?,
            databricks: databricks?,
            timeouts: timeouts?,
        })
    })();
    let mut diagnostics = v.diagnostics;
    match workflow {
        Some(workflow) if diagnostics.is_empty() => Ok(workflow),
        _ => {
            if diagnostics.is_empty() {
                // A value was dropped without a diagnostic: a bug here, but still no panic.
                diagnostics.push(Diagnostic {
                    file: file.to_owned(),
                    location: None,
                    key: None,
                    kind: DiagnosticKind::InvalidValue,
                    message: "internal error: workflow rejected without a reason (please report)"
                        .to_owned(),
                });
            }
            // File order; problems without a position (missing keys) last.
            diagnostics.sort_by_key(|d| (d.location.is_none(), d.location));
            Err(diagnostics)
        }
    }
}

struct Validator<'a> {
    file: &'a Path,
    src: &'a SourceText<'a>,
    diagnostics: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn report(&mut self, span: Option<Range<usize>>, key: &str, message: impl Display) {
        self.diagnostics.push(Diagnostic {
            file: self.file.to_owned(),
            location: span.map(|span| self.src.location(span.start)),
            key: Some(key.to_owned()),
            kind: DiagnosticKind::InvalidValue,
            message: message.to_string(),
        });
    }

    /// Runs `check` on a spanned value, reporting its error at the value's line.
    fn check<T, U, E: Display>(
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

    fn timeouts(&mut self, raw: Option<RawTimeouts>) -> Option<Timeouts> {
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
