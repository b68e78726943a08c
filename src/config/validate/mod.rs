/*!
Raw tables → typed sections: semantic checks, defaults and derived values.

Every check runs even after an earlier one failed, so one run reports every problem of the file
(each with its key path and line); a value is only skipped when it depends on one that is already
reported as invalid (no cascades: a bad region does not also produce a bad-principal error).
*/

use std::collections::HashMap;
use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

mod aws;
mod databricks;
mod state;

pub(crate) use databricks::check_warehouse_id;

use super::error::{Diagnostic, DiagnosticKind};
use super::names::DeploymentName;
use super::raw::{RawAws, RawDeployment, RawTimeouts};
use super::region::Region;
use super::source::SourceText;
use super::timeouts::{Timeouts, parse_timeout};
use super::workflow::{AwsSettings, DEFAULT_KIND, KindName};

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

    /// What every kind's file starts with: `kind`, `[deployment]` and `[aws]`.
    pub(crate) fn head(
        &mut self,
        kind: Option<&Spanned<String>>,
        deployment: &RawDeployment,
        aws: RawAws,
    ) -> Head {
        let region_span = aws.region.span();
        // Checked first: later checks need it even when another `[aws]` key is invalid.
        let region = self.check(&aws.region, "aws.region", |r| Region::new(r));
        Head {
            kind: self.kind(kind),
            deployment: self.check(&deployment.name, "deployment.name", |n| {
                DeploymentName::new(n)
            }),
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

    /// `[timeouts]`: each key defaults independently.
    pub(crate) fn timeouts(&mut self, raw: Option<RawTimeouts>) -> Option<Timeouts> {
        let mut timeouts = Timeouts::default();
        let Some(raw) = raw else {
            return Some(timeouts);
        };
        let mut ok = true;
        for (value, key, slot) in [
            (raw.endpoint, "timeouts.endpoint", &mut timeouts.endpoint),
            (
                raw.load_balancer,
                "timeouts.load_balancer",
                &mut timeouts.load_balancer,
            ),
            (
                raw.endpoint_service,
                "timeouts.endpoint_service",
                &mut timeouts.endpoint_service,
            ),
            (
                raw.rule_endpoint,
                "timeouts.rule_endpoint",
                &mut timeouts.rule_endpoint,
            ),
            (
                raw.rule_established,
                "timeouts.rule_established",
                &mut timeouts.rule_established,
            ),
            (raw.workspace, "timeouts.workspace", &mut timeouts.workspace),
        ] {
            match self.check_optional(value.as_ref(), key, |d| parse_timeout(&d.0)) {
                Some(Some(duration)) => *slot = duration,
                Some(None) => {}
                None => ok = false,
            }
        }
        ok.then_some(timeouts)
    }

    /// Runs `check` on an optional value: absent → `Some(None)`, valid → `Some(Some(v))`,
    /// invalid (already reported) → `None`.
    pub(crate) fn check_optional<T, U, E: Display>(
        &mut self,
        value: Option<&Spanned<T>>,
        key: &str,
        check: impl FnOnce(&T) -> Result<U, E>,
    ) -> Option<Option<U>> {
        match value {
            None => Some(None),
            Some(value) => self.check(value, key, check).map(Some),
        }
    }

    /// Reports an empty list; `what` is what one item is (`a workspace id`).
    fn reject_empty<T>(&mut self, raw: &Spanned<Vec<T>>, key: &str, what: &str) -> bool {
        let empty = raw.get_ref().is_empty();
        if empty {
            self.report(
                Some(raw.span()),
                key,
                format_args!("expected at least one {what}, found an empty array"),
            );
        }
        empty
    }

    /// Checks every item of a list with `check`, which gives the item's identity; a repeated
    /// identity is reported at the repeated entry.
    fn unique_items<T: Clone + Debug, K: Eq + Hash, E: Display>(
        &mut self,
        raw: &Spanned<Vec<Spanned<T>>>,
        key: &str,
        check: impl Fn(&T) -> Result<K, E>,
    ) -> Option<Vec<T>> {
        let mut ok = true;
        let mut seen: HashMap<K, usize> = HashMap::new();
        for (i, item) in raw.get_ref().iter().enumerate() {
            let item_key = format!("{key}[{i}]");
            let Some(identity) = self.check(item, &item_key, &check) else {
                ok = false;
                continue;
            };
            if let Some(first) = seen.insert(identity, i) {
                self.report(
                    Some(item.span()),
                    &item_key,
                    format_args!("duplicate of {key}[{first}] ({:?})", item.get_ref()),
                );
                ok = false;
            }
        }
        ok.then(|| {
            raw.get_ref()
                .iter()
                .map(|item| item.get_ref().clone())
                .collect()
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
