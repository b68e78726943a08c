//! The tables an `ip-access-lists` workflow file takes (issue #12, seed 003): `[deployment]`,
//! `[databricks]` (the account and the workspaces), `[access]` (the switch, the operator networks
//! that must never be blocked, exclusivity) and `[[lists]]` (each list by label).

use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config::{
    self, ConfigError, DatabricksAccount, DeploymentName, Ipv4Net, KindName, RawDatabricksAccount,
    RawDeployment, Table, Validator,
};

pub use crate::resources::ip_access::MAX_VALUES;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawFile {
    kind: Option<Spanned<String>>,
    deployment: Table<RawDeployment>,
    databricks: Table<RawDatabricksAccount>,
    access: Table<RawAccess>,
    #[serde(default)]
    lists: Vec<Spanned<Table<RawList>>>,
    /// Read with the header, the same for every kind (`config::read`).
    #[serde(rename = "state")]
    _state: Option<crate::config::ReadByHeader>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawAccess {
    enabled: Option<bool>,
    operator_cidrs: Spanned<Vec<Spanned<String>>>,
    exclusive: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawList {
    label: Spanned<String>,
    #[serde(rename = "type")]
    list_type: Spanned<String>,
    addresses: Spanned<Vec<Spanned<String>>>,
    enabled: Option<bool>,
    workspaces: Option<Spanned<Vec<Spanned<i64>>>>,
}

/// One `[[lists]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListSpec {
    pub label: String,
    pub allow: bool,
    pub nets: Vec<Ipv4Net>,
    pub enabled: bool,
    /// The workspaces it applies to (all of the file's by default).
    pub workspaces: Vec<i64>,
}

/// A validated `ip-access-lists` workflow file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    pub kind: KindName,
    pub deployment: DeploymentName,
    pub databricks: DatabricksAccount,
    /// `access.enabled`: the switch (`enableIpAccessLists`), default on.
    pub enabled: bool,
    /// `access.operator_cidrs`: the networks admins and automation use; never blocked.
    pub operators: Vec<Ipv4Net>,
    /// `access.exclusive`: plink owns every list of the workspaces.
    pub exclusive: bool,
    pub lists: Vec<ListSpec>,
}

/// Validates the text of an `ip-access-lists` workflow file.
///
/// # Errors
/// [`ConfigError::Invalid`] naming the file, line and key of every problem.
pub fn parse(source_name: &Path, text: &str) -> Result<Config, ConfigError> {
    config::decode_file(source_name, text, |v, raw: RawFile| {
        let deployment = v.check(&raw.deployment.name, "deployment.name", |n| {
            DeploymentName::new(n)
        });
        if let Some(w) = &raw.databricks.warehouse_id {
            v.report(
                Some(w.span()),
                "databricks.warehouse_id",
                "not taken by kind \"ip-access-lists\" (no system table is read)",
            );
        }
        let databricks = v.databricks_account(&raw.databricks);
        let operators = nets(v, &raw.access.operator_cidrs, "access.operator_cidrs");
        if raw.access.operator_cidrs.get_ref().is_empty() {
            v.report(
                Some(raw.access.operator_cidrs.span()),
                "access.operator_cidrs",
                "expected at least one network (the addresses admins and automation use, plink's included): \
                 the lockout guard keeps them from being blocked",
            );
        }
        let all_ws = databricks
            .as_ref()
            .map(|d| d.workspace_ids.clone())
            .unwrap_or_default();
        let mut lists = Vec::new();
        let mut ok = true;
        for (i, raw_list) in raw.lists.iter().enumerate() {
            match list(v, raw_list, i, &all_ws, &lists) {
                Some(l) => lists.push(l),
                None => ok = false,
            }
        }
        for &ws in &all_ws {
            let count: usize = lists
                .iter()
                .filter(|l| l.workspaces.contains(&ws))
                .map(|l| l.nets.len())
                .sum();
            if count > MAX_VALUES {
                v.report(
                    raw.lists.first().map(Spanned::span),
                    "lists",
                    format_args!(
                        "workspace {ws}: at most {MAX_VALUES} addresses and CIDR blocks across all IP access lists \
                         (Databricks limit), found {count}"
                    ),
                );
                ok = false;
            }
        }
        Some(Config {
            kind: v.kind(raw.kind.as_ref()),
            deployment: deployment?,
            databricks: databricks?,
            enabled: raw.access.enabled.unwrap_or(true),
            operators: operators?,
            exclusive: raw.access.exclusive.unwrap_or(false),
            lists: ok.then_some(lists)?,
        })
    })
}

/// A list of addresses and blocks: each parsed (IPv4, no host bits), none twice, none
/// overlapping another of the same list.
fn nets(
    v: &mut Validator<'_>,
    raw: &Spanned<Vec<Spanned<String>>>,
    key: &str,
) -> Option<Vec<Ipv4Net>> {
    let mut out: Vec<Ipv4Net> = Vec::new();
    let mut ok = true;
    for (i, item) in raw.get_ref().iter().enumerate() {
        let key = format!("{key}[{i}]");
        let Some(net) = v.check(item, &key, |s| Ipv4Net::parse(s)) else {
            ok = false;
            continue;
        };
        if let Some(other) = out.iter().find(|o| o.overlaps(net)) {
            let what = if *other == net {
                "listed twice"
            } else {
                "overlaps"
            };
            v.report(
                Some(item.span()),
                &key,
                format_args!("{net} {what} {other}"),
            );
            ok = false;
            continue;
        }
        out.push(net);
    }
    ok.then_some(out)
}

fn list(
    v: &mut Validator<'_>,
    raw: &Spanned<Table<RawList>>,
    i: usize,
    all_ws: &[i64],
    earlier: &[ListSpec],
) -> Option<ListSpec> {
    let r = raw.get_ref();
    let key = format!("lists[{i}]");
    let label = v.check(&r.label, &format!("{key}.label"), |l| {
        if l.trim().is_empty() {
            Err(
                "expected a non-empty label (it names the list: plink finds it by label)"
                    .to_owned(),
            )
        } else if earlier.iter().any(|e| &e.label == l) {
            Err(format!(
                "label {l:?} is used by an earlier list: labels name lists, so they must be unique"
            ))
        } else {
            Ok(l.clone())
        }
    });
    let allow = v.check(&r.list_type, &format!("{key}.type"), |t| match t.as_str() {
        "allow" => Ok(true),
        "block" => Ok(false),
        other => Err(format!("expected \"allow\" or \"block\", found {other:?}")),
    });
    let nets = nets(v, &r.addresses, &format!("{key}.addresses"));
    if r.addresses.get_ref().is_empty() {
        v.report(
            Some(r.addresses.span()),
            &format!("{key}.addresses"),
            "expected at least one address or CIDR block",
        );
    }
    let workspaces = match &r.workspaces {
        None => Some(all_ws.to_vec()),
        Some(ws) => {
            let mut ok = true;
            for (j, w) in ws.get_ref().iter().enumerate() {
                if !all_ws.contains(w.get_ref()) {
                    v.report(
                        Some(w.span()),
                        &format!("{key}.workspaces[{j}]"),
                        format_args!(
                            "workspace {} is not in databricks.workspace_ids",
                            w.get_ref()
                        ),
                    );
                    ok = false;
                }
            }
            ok.then(|| ws.get_ref().iter().map(|w| *w.get_ref()).collect())
        }
    };
    Some(ListSpec {
        label: label?,
        allow: allow?,
        nets: nets.filter(|n| !n.is_empty())?,
        enabled: r.enabled.unwrap_or(true),
        workspaces: workspaces?,
    })
}
