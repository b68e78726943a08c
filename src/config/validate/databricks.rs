/*!
`[databricks]`: the NCC, its private endpoint rule, the workspaces and the principal.
*/

use std::ops::Range;

use toml::Spanned;

use super::{MAX_WORKSPACES_PER_NCC, Validator, check_profile};
use crate::config::dns::{MAX_DOMAIN_NAMES, check_domain_name};
use crate::config::error::{Diagnostic, DiagnosticKind};
use crate::config::ids::check_uuid;
use crate::config::names::NccName;
use crate::config::principal::{PrincipalError, databricks_principal};
use crate::config::raw::{RawDatabricks, RawDatabricksAccount, RawNcc, SpannedStrings, Table};
use crate::config::region::{GovShard, Region};
use crate::config::workflow::{DatabricksAccount, DatabricksSettings, DomainNames, NccSelector};

impl Validator<'_> {
    pub(crate) fn databricks(
        &mut self,
        raw: RawDatabricks,
        region: Option<&Region>,
        region_span: Range<usize>,
    ) -> Option<DatabricksSettings> {
        let profile = self.check_optional(raw.profile.as_ref(), "databricks.profile", |p| {
            check_profile(p)
        });
        let account_id =
            self.check_optional(raw.account_id.as_ref(), "databricks.account_id", |id| {
                check_uuid(id, "a Databricks account id").map(|()| id.to_ascii_lowercase())
            });
        let workspace_ids = self.workspace_ids(&raw.workspace_ids, Some(MAX_WORKSPACES_PER_NCC));
        let domain_names = match &raw.domain_names {
            None => Some(DomainNames::FromEndpoint),
            Some(names) => self.domain_names(names).map(DomainNames::Explicit),
        };
        let ncc = self.ncc(&raw.ncc);
        let gov_shard = self.check_optional(raw.gov_shard.as_ref(), "databricks.gov_shard", |s| {
            GovShard::new(s)
        });
        let principal_arn = match (region, gov_shard) {
            (Some(region), Some(shard)) => {
                self.principal(region, shard, &raw.gov_shard, region_span)
            }
            _ => None,
        };
        Some(DatabricksSettings {
            profile: profile?,
            account_id: account_id?,
            workspace_ids: workspace_ids?,
            domain_names: domain_names?,
            ncc: ncc?,
            gov_shard: gov_shard?,
            principal_arn: principal_arn?,
        })
    }

    /// `[databricks]` of the kinds without an NCC.
    pub(crate) fn databricks_account(
        &mut self,
        raw: &RawDatabricksAccount,
    ) -> Option<DatabricksAccount> {
        let profile = self.check_optional(raw.profile.as_ref(), "databricks.profile", |p| {
            check_profile(p)
        });
        let account_id =
            self.check_optional(raw.account_id.as_ref(), "databricks.account_id", |id| {
                check_uuid(id, "a Databricks account id").map(|()| id.to_ascii_lowercase())
            });
        let workspace_ids = self.workspace_ids(&raw.workspace_ids, None);
        let warehouse_id =
            self.check_optional(raw.warehouse_id.as_ref(), "databricks.warehouse_id", |id| {
                check_warehouse_id(id)
            });
        Some(DatabricksAccount {
            profile: profile?,
            account_id: account_id?,
            workspace_ids: workspace_ids?,
            warehouse_id: warehouse_id?,
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

    /// `databricks.workspace_ids`, at most `max` (the NCC's limit) when given.
    fn workspace_ids(
        &mut self,
        raw: &Spanned<Vec<Spanned<i64>>>,
        max: Option<usize>,
    ) -> Option<Vec<i64>> {
        let key = "databricks.workspace_ids";
        if self.reject_empty(raw, key, "workspace id") {
            return None;
        }
        let within_limit =
            max.is_none_or(|max| self.within_limit(raw, key, max, "workspaces per NCC"));
        let ids = self.unique_items(raw, key, |&id| {
            if id > 0 {
                Ok(id)
            } else {
                Err(format!("expected a positive workspace id, found {id}"))
            }
        });
        ids.filter(|_| within_limit)
    }

    fn domain_names(&mut self, raw: &SpannedStrings) -> Option<Vec<String>> {
        let key = "databricks.domain_names";
        let what = "domain name (omit the key to use the endpoint's DNS name)";
        if self.reject_empty(raw, key, what) {
            return None;
        }
        let within_limit = self.within_limit(raw, key, MAX_DOMAIN_NAMES, "domain names per rule");
        let names = self.unique_items(raw, key, |name| {
            check_domain_name(name).map(|()| name.to_ascii_lowercase())
        });
        names.filter(|_| within_limit)
    }

    /// Reports a list longer than the Databricks limit `max` (of `what`: `workspaces per NCC`).
    fn within_limit<T>(
        &mut self,
        raw: &Spanned<Vec<T>>,
        key: &str,
        max: usize,
        what: &str,
    ) -> bool {
        let count = raw.get_ref().len();
        if count > max {
            self.report(
                Some(raw.span()),
                key,
                format_args!("at most {max} {what} (Databricks limit), found {count}"),
            );
        }
        count <= max
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

/// A SQL warehouse id: 16 hexadecimal digits (what the SQL warehouses API returns, e.g.
/// `a1b2c3d4e5f61111`).
pub(crate) fn check_warehouse_id(id: &str) -> Result<String, String> {
    if id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(format!(
            "expected a SQL warehouse id (16 hexadecimal digits, like \"a1b2c3d4e5f61111\"), found {id:?}"
        ))
    }
}
