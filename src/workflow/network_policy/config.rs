//! The tables a `network-policy` workflow file takes, and its typed config (issue #11): the
//! account and workspaces (`[databricks]`, with the SQL warehouse that reads the denial logs),
//! the policy's id (`[policy]`), and the halves of the policy plink manages: `[egress]` (seed 000)
//! and `[ingress]` (seed 002, context-based ingress). A half the file leaves out is not plink's:
//! whatever the policy says there is kept as it is.

use std::net::Ipv4Addr;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config::{
    self, ConfigError, DatabricksAccount, DeploymentName, KindName, RawDatabricksAccount,
    RawDeployment, Table, Validator, check_domain_name,
};

pub use crate::resources::network_policy::MAX_DESTINATIONS;

/// The file as written: only these tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawFile {
    kind: Option<Spanned<String>>,
    deployment: Table<RawDeployment>,
    databricks: Table<RawDatabricksAccount>,
    policy: Table<RawPolicy>,
    egress: Option<Spanned<Table<RawEgress>>>,
    ingress: Option<Spanned<Table<RawIngress>>>,
    /// Read with the header, the same for every kind (`config::read`).
    #[serde(rename = "state")]
    _state: Option<crate::config::ReadByHeader>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawPolicy {
    id: Spanned<String>,
}

type Strings = Spanned<Vec<Spanned<String>>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawEgress {
    restriction_mode: Spanned<String>,
    allowed_domains: Option<Strings>,
    blocked_domains: Option<Strings>,
    allowed_storage: Option<Spanned<Vec<Spanned<Table<RawStorage>>>>>,
    allowed_workspaces: Option<Spanned<Vec<Spanned<i64>>>>,
    enforcement: Option<Spanned<String>>,
    dry_run_products: Option<Strings>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawStorage {
    bucket: Spanned<String>,
    region: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawIngress {
    enforcement: Spanned<String>,
    public_access: Spanned<String>,
    private_access: Option<Spanned<String>>,
    cross_workspace_access: Option<Spanned<String>>,
    #[serde(default)]
    allow: Vec<Spanned<Table<RawRule>>>,
    #[serde(default)]
    deny: Vec<Spanned<Table<RawRule>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawRule {
    label: Spanned<String>,
    ips: Option<Strings>,
    excluded_ips: Option<Strings>,
    destinations: Option<Strings>,
    identities: Option<Spanned<String>>,
    user_ids: Option<Spanned<Vec<Spanned<i64>>>>,
    service_principal_ids: Option<Spanned<Vec<Spanned<i64>>>>,
}

/// `dry-run` or `enforced`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Enforcement {
    DryRun,
    Enforced,
}

/// `[egress]`: `egress.network_access` of the policy. `None` lists are not plink's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Egress {
    /// `FULL_ACCESS` or `RESTRICTED_ACCESS`.
    pub restriction_mode: String,
    pub allowed_domains: Option<Vec<String>>,
    pub blocked_domains: Option<Vec<String>>,
    /// (bucket, region) of each allowed S3 bucket.
    pub allowed_storage: Option<Vec<(String, String)>>,
    pub allowed_workspaces: Option<Vec<i64>>,
    pub enforcement: Option<Enforcement>,
    /// `DBSQL`, `ML_SERVING`: the products in dry run (empty: all of them).
    pub dry_run_products: Vec<String>,
}

/// `[ingress]`: context-based ingress (Beta), `public_access` in `ingress` (enforced) or
/// `ingress_dry_run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ingress {
    pub enforcement: Enforcement,
    /// `FULL_ACCESS` or `RESTRICTED_ACCESS`.
    pub public_access: String,
    pub private_access: Option<String>,
    pub cross_workspace_access: Option<String>,
    pub allow: Vec<IngressRule>,
    pub deny: Vec<IngressRule>,
}

/// One `[[ingress.allow]]` or `[[ingress.deny]]` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngressRule {
    pub label: String,
    pub origin: Origin,
    /// `workspace_api`, `workspace_api_read`, `workspace_ui`; empty: all destinations.
    pub destinations: Vec<String>,
    pub identities: Identities,
}

/// Where requests come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    All,
    Ips(Vec<String>),
    ExcludedIps(Vec<String>),
}

/// Who makes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Identities {
    All,
    Users,
    ServicePrincipals,
    /// (principal id, is a service principal).
    Selected(Vec<(i64, bool)>),
}

/// A validated `network-policy` workflow file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    pub kind: KindName,
    pub deployment: DeploymentName,
    pub databricks: DatabricksAccount,
    /// `policy.id`: the `network_policy_id`.
    pub policy_id: String,
    /// Where `databricks.warehouse_id` is written (`file:line:column: key`), for the check only
    /// the cloud can make (the warehouse is in one of the workspaces).
    pub warehouse_at: Option<String>,
    pub egress: Option<Egress>,
    pub ingress: Option<Ingress>,
}

impl Config {
    /// `databricks.warehouse_id`, and where the file says it (`file:line:column: key`).
    pub fn warehouse(&self) -> Option<(String, String)> {
        self.databricks
            .warehouse_id
            .clone()
            .zip(self.warehouse_at.clone())
    }
}

/// Validates the text of a `network-policy` workflow file.
///
/// # Errors
/// [`ConfigError::Invalid`] naming the file, line and key of every problem.
pub fn parse(source_name: &Path, text: &str) -> Result<Config, ConfigError> {
    config::decode_file(source_name, text, |v, raw: RawFile| {
        let deployment = v.check(&raw.deployment.name, "deployment.name", |n| {
            DeploymentName::new(n)
        });
        let databricks = v.databricks_account(&raw.databricks);
        let warehouse_at = raw
            .databricks
            .warehouse_id
            .as_ref()
            .map(|w| v.place(w.span(), "databricks.warehouse_id"));
        let policy_id = v.check(&raw.policy.id, "policy.id", |id| check_policy_id(id));
        if raw.egress.is_none() && raw.ingress.is_none() {
            v.report(
                Some(raw.policy.id.span()),
                "policy",
                "expected an [egress] or an [ingress] table (or both): the halves of the policy plink manages",
            );
        }
        let egress = match &raw.egress {
            None => Some(None),
            Some(e) => egress(v, e).map(Some),
        };
        let ingress = match &raw.ingress {
            None => Some(None),
            Some(i) => ingress(v, i).map(Some),
        };
        Some(Config {
            kind: v.kind(raw.kind.as_ref()),
            deployment: deployment?,
            databricks: databricks?,
            policy_id: policy_id?,
            warehouse_at,
            egress: egress?,
            ingress: ingress?,
        })
    })
}

/// `network_policy_id`: `^[a-zA-Z0-9_.-]{1,32}$` (reference §5.1); `default-policy` is the
/// account's reserved policy, which plink never manages.
fn check_policy_id(id: &str) -> Result<String, String> {
    let chars_ok = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if id.is_empty() || id.len() > 32 || !chars_ok {
        return Err(format!(
            "expected a network policy id of 1 to 32 letters, digits, '_', '.' or '-', found {id:?} ({} characters)",
            id.chars().count()
        ));
    }
    if id == "default-policy" {
        return Err("\"default-policy\" is the account's reserved policy (every workspace without a binding uses it): name a policy of plink's own".to_owned());
    }
    Ok(id.to_owned())
}

/// One of `allowed`, for `key`.
fn one_of(
    v: &mut Validator<'_>,
    raw: &Spanned<String>,
    key: &str,
    allowed: &[&str],
) -> Option<String> {
    v.check(raw, key, |value| {
        if allowed.contains(&value.as_str()) {
            Ok(value.clone())
        } else {
            Err(format!(
                "expected one of {}, found {value:?}",
                allowed
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    })
}

fn enforcement(v: &mut Validator<'_>, raw: &Spanned<String>, key: &str) -> Option<Enforcement> {
    one_of(v, raw, key, &["dry-run", "enforced"]).map(|e| {
        if e == "dry-run" {
            Enforcement::DryRun
        } else {
            Enforcement::Enforced
        }
    })
}

/// Checks each item of an optional list (`None`: not plink's); a repeated value is reported.
fn list<T: PartialEq + Clone, R>(
    v: &mut Validator<'_>,
    raw: Option<&Spanned<Vec<Spanned<R>>>>,
    key: &str,
    check: impl Fn(&R) -> Result<T, String>,
) -> Option<Option<Vec<T>>> {
    let Some(raw) = raw else {
        return Some(None);
    };
    let mut ok = true;
    let mut out: Vec<T> = Vec::new();
    for (i, item) in raw.get_ref().iter().enumerate() {
        let key = format!("{key}[{i}]");
        match v.check(item, &key, &check) {
            Some(value) if out.contains(&value) => {
                v.report(Some(item.span()), &key, "listed twice");
                ok = false;
            }
            Some(value) => out.push(value),
            None => ok = false,
        }
    }
    ok.then_some(Some(out))
}

fn egress(v: &mut Validator<'_>, raw: &Spanned<Table<RawEgress>>) -> Option<Egress> {
    let e = raw.get_ref();
    let mode = one_of(
        v,
        &e.restriction_mode,
        "egress.restriction_mode",
        &["FULL_ACCESS", "RESTRICTED_ACCESS"],
    );
    let domain = |name: &String| {
        check_domain_name(name)
            .map(|()| name.to_ascii_lowercase())
            .map_err(|e| e.to_string())
    };
    let allowed = list(
        v,
        e.allowed_domains.as_ref(),
        "egress.allowed_domains",
        domain,
    );
    let blocked = list(
        v,
        e.blocked_domains.as_ref(),
        "egress.blocked_domains",
        domain,
    );
    let storage = list(
        v,
        e.allowed_storage.as_ref(),
        "egress.allowed_storage",
        |s| {
            let bucket = s.bucket.get_ref().to_owned();
            let region = s.region.get_ref().to_owned();
            crate::config::Region::new(&region).map_err(|e| format!("region: {e}"))?;
            if bucket.is_empty() || bucket.contains('/') {
                return Err(format!("bucket: expected a bucket name, found {bucket:?}"));
            }
            Ok((bucket, region))
        },
    );
    let workspaces = list(
        v,
        e.allowed_workspaces.as_ref(),
        "egress.allowed_workspaces",
        |&id| {
            if id > 0 {
                Ok(id)
            } else {
                Err(format!("expected a positive workspace id, found {id}"))
            }
        },
    );
    let enforcement = match &e.enforcement {
        None => Some(None),
        Some(raw) => enforcement(v, raw, "egress.enforcement").map(Some),
    };
    let products = list(
        v,
        e.dry_run_products.as_ref(),
        "egress.dry_run_products",
        |p| match p.as_str() {
            "DBSQL" | "ML_SERVING" => Ok(p.clone()),
            other => Err(format!(
                "expected \"DBSQL\" or \"ML_SERVING\", found {other:?}"
            )),
        },
    );
    if let (Some(p), Some(Some(Enforcement::Enforced) | None)) = (&e.dry_run_products, &enforcement)
    {
        v.report(
            Some(p.span()),
            "egress.dry_run_products",
            "only taken with enforcement = \"dry-run\" (the products whose denials are only logged)",
        );
    }
    let count = [
        allowed.as_ref().and_then(|a| a.as_ref().map(Vec::len)),
        blocked.as_ref().and_then(|b| b.as_ref().map(Vec::len)),
        storage.as_ref().and_then(|s| s.as_ref().map(Vec::len)),
        workspaces.as_ref().and_then(|w| w.as_ref().map(Vec::len)),
    ]
    .into_iter()
    .flatten()
    .sum::<usize>();
    if count > MAX_DESTINATIONS {
        v.report(
            Some(raw.span()),
            "egress",
            format_args!(
                "at most {MAX_DESTINATIONS} destinations in a network policy (Databricks limit), found {count} \
                 (allowed_domains + blocked_domains + allowed_storage + allowed_workspaces)"
            ),
        );
        return None;
    }
    Some(Egress {
        restriction_mode: mode?,
        allowed_domains: allowed?,
        blocked_domains: blocked?,
        allowed_storage: storage?,
        allowed_workspaces: workspaces?,
        enforcement: enforcement?,
        dry_run_products: products?.unwrap_or_default(),
    })
}

fn ingress(v: &mut Validator<'_>, raw: &Spanned<Table<RawIngress>>) -> Option<Ingress> {
    let i = raw.get_ref();
    let enforcement = enforcement(v, &i.enforcement, "ingress.enforcement");
    let public = one_of(
        v,
        &i.public_access,
        "ingress.public_access",
        &["FULL_ACCESS", "RESTRICTED_ACCESS"],
    );
    let private = match &i.private_access {
        None => Some(None),
        Some(p) => one_of(
            v,
            p,
            "ingress.private_access",
            &["ALLOW_ALL_REGISTERED_ENDPOINTS", "RESTRICTED_ACCESS"],
        )
        .map(Some),
    };
    let cross = match &i.cross_workspace_access {
        None => Some(None),
        Some(c) => one_of(
            v,
            c,
            "ingress.cross_workspace_access",
            &["FULL_ACCESS", "LEGACY_MODE", "RESTRICTED_ACCESS"],
        )
        .map(Some),
    };
    let allow = rules(v, &i.allow, "ingress.allow");
    let deny = rules(v, &i.deny, "ingress.deny");
    if public.as_deref() == Some("RESTRICTED_ACCESS") && i.allow.is_empty() {
        v.report(
            Some(i.public_access.span()),
            "ingress.public_access",
            "RESTRICTED_ACCESS without any [[ingress.allow]] rule denies every public request, plink's included: add an allow rule",
        );
    }
    Some(Ingress {
        enforcement: enforcement?,
        public_access: public?,
        private_access: private?,
        cross_workspace_access: cross?,
        allow: allow?,
        deny: deny?,
    })
}

fn rules(
    v: &mut Validator<'_>,
    raw: &[Spanned<Table<RawRule>>],
    key: &str,
) -> Option<Vec<IngressRule>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (n, r) in raw.iter().enumerate() {
        match rule(v, r, &format!("{key}[{n}]")) {
            Some(rule) if out.iter().any(|o: &IngressRule| o.label == rule.label) => {
                v.report(
                    Some(r.get_ref().label.span()),
                    &format!("{key}[{n}].label"),
                    "label used twice",
                );
                ok = false;
            }
            Some(rule) => out.push(rule),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn rule(v: &mut Validator<'_>, raw: &Spanned<Table<RawRule>>, key: &str) -> Option<IngressRule> {
    let r = raw.get_ref();
    let label = v.check(&r.label, &format!("{key}.label"), |l| {
        if l.trim().is_empty() {
            Err("expected a non-empty label (it names the rule in the denial logs)".to_owned())
        } else {
            Ok(l.clone())
        }
    });
    let ips = list(v, r.ips.as_ref(), &format!("{key}.ips"), |ip| {
        check_ipv4_range(ip)
    });
    let excluded = list(
        v,
        r.excluded_ips.as_ref(),
        &format!("{key}.excluded_ips"),
        |ip| check_ipv4_range(ip),
    );
    let origin = match (ips?, excluded?) {
        (None, None) => Some(Origin::All),
        (Some(ips), None) => Some(Origin::Ips(ips)),
        (None, Some(ips)) => Some(Origin::ExcludedIps(ips)),
        (Some(_), Some(_)) => {
            v.report(
                Some(raw.span()),
                key,
                "expected at most one of \"ips\" or \"excluded_ips\", found both",
            );
            None
        }
    };
    let destinations = list(
        v,
        r.destinations.as_ref(),
        &format!("{key}.destinations"),
        |d| match d.as_str() {
            "workspace_api" | "workspace_api_read" | "workspace_ui" => Ok(d.clone()),
            other => Err(format!(
                "expected \"workspace_api\", \"workspace_api_read\" or \"workspace_ui\" (omit the key for all), found {other:?}"
            )),
        },
    );
    let positive = |&id: &i64| {
        if id > 0 {
            Ok(id)
        } else {
            Err(format!("expected a positive principal id, found {id}"))
        }
    };
    let users = list(v, r.user_ids.as_ref(), &format!("{key}.user_ids"), positive);
    let sps = list(
        v,
        r.service_principal_ids.as_ref(),
        &format!("{key}.service_principal_ids"),
        positive,
    );
    let kind = match &r.identities {
        None => Some(None),
        Some(i) => one_of(
            v,
            i,
            &format!("{key}.identities"),
            &["all", "users", "service_principals"],
        )
        .map(Some),
    };
    let identities = match (kind?, users?, sps?) {
        (kind, None, None) => Some(match kind.as_deref() {
            Some("users") => Identities::Users,
            Some("service_principals") => Identities::ServicePrincipals,
            _ => Identities::All,
        }),
        (None, users, sps) => Some(Identities::Selected(
            users
                .unwrap_or_default()
                .into_iter()
                .map(|u| (u, false))
                .chain(sps.unwrap_or_default().into_iter().map(|s| (s, true)))
                .collect(),
        )),
        (Some(_), _, _) => {
            v.report(
                Some(raw.span()),
                key,
                "expected \"identities\" or \"user_ids\"/\"service_principal_ids\", not both",
            );
            None
        }
    };
    Some(IngressRule {
        label: label?,
        origin: origin?,
        destinations: destinations?.unwrap_or_default(),
        identities: identities?,
    })
}

/// An IPv4 address or CIDR block (the ingress schema is IPv4-only, field update §2.3).
pub fn check_ipv4_range(raw: &str) -> Result<String, String> {
    let expected =
        || format!("expected an IPv4 address or CIDR block like \"203.0.113.0/24\", found {raw:?}");
    let (addr, bits) = match raw.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (raw, None),
    };
    addr.parse::<Ipv4Addr>().map_err(|_| expected())?;
    if let Some(bits) = bits {
        match bits.parse::<u8>() {
            Ok(b) if b <= 32 => {}
            _ => return Err(expected()),
        }
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::check_policy_id;

    #[test]
    fn policy_ids_follow_the_api_pattern() {
        assert!(check_policy_id("plink-egress.prod_1").is_ok());
        assert!(check_policy_id(&"a".repeat(32)).is_ok());
        let long = check_policy_id(&"a".repeat(33)).unwrap_err();
        assert!(long.contains("33 characters"), "{long}");
        assert!(check_policy_id("with space").is_err());
        assert!(check_policy_id("").is_err());
        assert!(check_policy_id("default-policy").is_err());
    }
}
