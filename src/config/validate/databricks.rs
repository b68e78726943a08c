/*!
`[databricks]`: the NCC, its private endpoint rule, the workspaces and the principal.
*/

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

use super::{MAX_WORKSPACES_PER_NCC, Validator, check_profile, optional};
use crate::config::dns::{MAX_DOMAIN_NAMES, check_domain_name};
use crate::config::error::{Diagnostic, DiagnosticKind};
use crate::config::ids::check_uuid;
use crate::config::names::NccName;
use crate::config::principal::{PrincipalError, databricks_principal};
use crate::config::raw::{RawDatabricks, RawNcc, SpannedStrings, Table};
use crate::config::region::{GovShard, Region};
use crate::config::workflow::{DatabricksSettings, DomainNames, NccSelector};

impl Validator<'_> {
    pub(crate) fn databricks(
        &mut self,
        raw: RawDatabricks,
        region: Option<&Region>,
        region_span: Range<usize>,
    ) -> Option<DatabricksSettings> {
        let profile = raw
            .profile
            .as_ref()
            .map(|p| self.check(p, "databricks.profile", |p| check_profile(p)));
        let account_id = raw.account_id.as_ref().map(|id| {
            self.check(id, "databricks.account_id", |id| {
                check_uuid(id, "a Databricks account id").map(|()| id.to_ascii_lowercase())
            })
        });
        let workspace_ids = self.workspace_ids(&raw.workspace_ids);
        let domain_names = match &raw.domain_names {
            None => Some(DomainNames::FromEndpoint),
            Some(names) => self.domain_names(names).map(DomainNames::Explicit),
        };
        let ncc = self.ncc(&raw.ncc);
        let gov_shard = raw
            .gov_shard
            .as_ref()
            .map(|shard| self.check(shard, "databricks.gov_shard", |s| GovShard::new(s)));
        let principal_arn = match (region, &gov_shard) {
            (Some(region), None) => self.principal(region, None, &raw.gov_shard, region_span),
            (Some(region), Some(Some(shard))) => {
                self.principal(region, Some(*shard), &raw.gov_shard, region_span)
            }
            _ => None,
        };
        Some(DatabricksSettings {
            profile: optional(profile)?,
            account_id: optional(account_id)?,
            workspace_ids: workspace_ids?,
            domain_names: domain_names?,
            ncc: ncc?,
            gov_shard: optional(gov_shard)?,
            principal_arn: principal_arn?,
        })
    }

    fn principal(
        &mut self,
        region: &Region,
        shard: Option<GovShard>,
        raw_shard: &Option<Spanned<String>>,
        region_span: Range<usize>,
    ) -> Option<String> {
        match databricks_principal(region, shard) {
            Ok(arn) => Some(arn),
            Err(error @ PrincipalError::GovShardRequired { .. }) => {
                self.diagnostics.push(Diagnostic {
                    file: self.file.to_owned(),
                    location: None,
                    key: Some("databricks.gov_shard".to_owned()),
                    kind: DiagnosticKind::MissingKey,
                    message: error.to_string(),
                });
                None
            }
            Err(error @ PrincipalError::UnsupportedGovRegion { .. }) => {
                self.report(Some(region_span), "aws.region", error);
                None
            }
            Err(error @ PrincipalError::GovShardNotApplicable { .. }) => {
                self.report(
                    raw_shard.as_ref().map(Spanned::span),
                    "databricks.gov_shard",
                    error,
                );
                None
            }
        }
    }

    fn workspace_ids(&mut self, raw: &Spanned<Vec<Spanned<i64>>>) -> Option<Vec<i64>> {
        let key = "databricks.workspace_ids";
        let ids = raw.get_ref();
        if ids.is_empty() {
            self.report(
                Some(raw.span()),
                key,
                "expected at least one workspace id, found an empty array",
            );
            return None;
        }
        let mut ok = true;
        if ids.len() > MAX_WORKSPACES_PER_NCC {
            self.report(
                Some(raw.span()),
                key,
                format_args!(
                    "at most {MAX_WORKSPACES_PER_NCC} workspaces per NCC (Databricks limit), \
                     found {}",
                    ids.len()
                ),
            );
            ok = false;
        }
        let mut seen: HashMap<i64, usize> = HashMap::new();
        for (i, id) in ids.iter().enumerate() {
            let item_key = format!("{key}[{i}]");
            let value = *id.get_ref();
            if value <= 0 {
                self.report(
                    Some(id.span()),
                    &item_key,
                    format_args!("expected a positive workspace id, found {value}"),
                );
                ok = false;
            } else if let Some(first) = seen.insert(value, i) {
                self.report(
                    Some(id.span()),
                    &item_key,
                    format_args!("duplicate of {key}[{first}] ({value})"),
                );
                ok = false;
            }
        }
        ok.then(|| ids.iter().map(|id| *id.get_ref()).collect())
    }

    fn domain_names(&mut self, raw: &SpannedStrings) -> Option<Vec<String>> {
        let key = "databricks.domain_names";
        let names = raw.get_ref();
        let mut ok = true;
        if names.is_empty() {
            self.report(
                Some(raw.span()),
                key,
                "expected at least one domain name (omit the key to use the endpoint's DNS \
                 name), found an empty array",
            );
            return None;
        }
        if names.len() > MAX_DOMAIN_NAMES {
            self.report(
                Some(raw.span()),
                key,
                format_args!(
                    "at most {MAX_DOMAIN_NAMES} domain names per rule (Databricks limit), found {}",
                    names.len()
                ),
            );
            ok = false;
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, name) in names.iter().enumerate() {
            let item_key = format!("{key}[{i}]");
            if self
                .check(name, &item_key, |n| check_domain_name(n))
                .is_none()
            {
                ok = false;
            } else if let Some(first) = seen.insert(name.get_ref().to_ascii_lowercase(), i) {
                self.report(
                    Some(name.span()),
                    &item_key,
                    format_args!("duplicate of {key}[{first}] ({:?})", name.get_ref()),
                );
                ok = false;
            }
        }
        ok.then(|| names.iter().map(|n| n.get_ref().clone()).collect())
    }

    fn ncc(&mut self, raw: &Spanned<Table<RawNcc>>) -> Option<NccSelector> {
        let inner = raw.get_ref();
        match (&inner.name, &inner.id) {
            (Some(name), None) => self
                .check(name, "databricks.ncc.name", |n| NccName::new(n))
                .map(NccSelector::Name),
            (None, Some(id)) => self
                .check(id, "databricks.ncc.id", |id| {
                    check_uuid(id, "an NCC id").map(|()| id.to_ascii_lowercase())
                })
                .map(NccSelector::Id),
            (name, _) => {
                self.exactly_one(raw.span(), "databricks.ncc", "name", "id", name.is_some());
                None
            }
        }
    }
}
