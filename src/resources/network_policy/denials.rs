//! What the denial logs say, and whether a policy handles it (issue #11 item 3).
//!
//! Serverless egress denials are in `system.access.outbound_network` (field update §2.2), ingress
//! denials in `system.access.inbound_network` (§2.3); both are read with the SQL Statement
//! Execution API on a warehouse of one of the workspaces. A denial is *handled* by a policy body
//! when the body would allow the destination (or request), or denies it on purpose (a blocked
//! domain, a deny rule): `plink denials` lists the others, and `up` refuses to leave dry run
//! while there are any.

use std::net::Ipv4Addr;

use serde::Serialize;
use serde_json::Value;

use super::body::get;
use crate::databricks::{ErrorKind, Statement, StatementResult};
use crate::engine::StepError;
use crate::resources::{Env, Res, errors};

/// Where the statements run: a SQL warehouse and the workspace it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct WarehouseRef {
    pub warehouse_id: String,
    pub workspace_id: i64,
}

/// The SQL warehouse `id` in one of `workspace_ids`. `None`: every workspace refused plink's
/// requests (context-based ingress locks plink out: the policy must still be writable through
/// the account API, so this is not an error here).
///
/// # Errors
/// [`StepError::NeedsUser`](crate::engine::StepError) naming `written_at` (where the id is
/// written: the file's `file:line:column: key`, or the flag) when no workspace has it.
pub async fn find_warehouse(
    env: &Env,
    id: &str,
    workspace_ids: &[i64],
    written_at: &str,
) -> Res<Option<WarehouseRef>> {
    let mut refused = 0;
    for &ws in workspace_ids {
        let what = format!("looking for SQL warehouse {id} in workspace {ws}");
        let Some(client) = env.workspace(ws).await? else {
            continue;
        };
        match client.get_warehouse(id).await {
            Ok(_) => {
                return Ok(Some(WarehouseRef {
                    warehouse_id: id.to_owned(),
                    workspace_id: ws,
                }));
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) if e.kind() == ErrorKind::PermissionDenied => refused += 1,
            Err(e) => return Err(errors::databricks(&what, e)),
        }
    }
    if refused > 0 {
        return Ok(None);
    }
    Err(StepError::needs_user(
        format!("{written_at}: SQL warehouse {id} is not in workspace(s) {workspace_ids:?}"),
        "name a SQL warehouse of one of the workspaces (the SQL Warehouses page, or GET /api/2.0/sql/warehouses)",
    ))
}

/// Blocked destinations of serverless egress, one per destination and access type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outbound {
    /// `DNS`, `IP` or `STORAGE`.
    pub destination_type: String,
    pub destination: String,
    /// `DROP` (enforced) or `DRY_RUN_DENIAL`.
    pub access_type: String,
    pub attempts: u64,
    pub first_seen: String,
    pub last_seen: String,
    /// The compute that tried it (`network_source_type`: `General Compute`, `DBSQL`, …).
    pub computes: Vec<String>,
    pub workspace_ids: Vec<String>,
}

/// Denied requests to the workspaces, one per source, identity and access type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inbound {
    pub source_ip: String,
    /// `WORKSPACE_API` or `WORKSPACE_UI`.
    pub request_type: String,
    /// `PRINCIPAL_TYPE_USER` or `PRINCIPAL_TYPE_SERVICE_PRINCIPAL`.
    pub principal_type: String,
    pub principal_id: String,
    /// The deny rule that matched; `None`: no allow rule matched.
    pub rule_label: Option<String>,
    /// `DENIED` or `DRY_RUN_DENIAL`.
    pub access_type: String,
    pub attempts: u64,
    pub first_seen: String,
    pub last_seen: String,
    pub workspace_ids: Vec<String>,
}

const OUTBOUND: &str = "SELECT destination_type, destination, access_type, COUNT(*) AS attempts, \
     MIN(event_time) AS first_seen, MAX(event_time) AS last_seen, \
     collect_set(network_source_type) AS computes, collect_set(workspace_id) AS workspace_ids \
     FROM system.access.outbound_network \
     WHERE workspace_id IN ({workspaces}) AND event_time >= :since \
     GROUP BY destination_type, destination, access_type \
     ORDER BY attempts DESC, destination";

const INBOUND: &str = "SELECT network_source.ip_address AS source_ip, request_type, \
     identity.principal_type AS principal_type, CAST(identity.principal_id AS STRING) AS principal_id, \
     rule_label, access_type, COUNT(*) AS attempts, \
     MIN(event_time) AS first_seen, MAX(event_time) AS last_seen, \
     collect_set(workspace_id) AS workspace_ids \
     FROM system.access.inbound_network \
     WHERE workspace_id IN ({workspaces}) AND event_time >= :since \
     GROUP BY ALL ORDER BY attempts DESC, source_ip";

/// Runs `template` for `workspace_ids` since `since` (RFC 3339) on `warehouse`.
async fn query(
    env: &Env,
    warehouse: &WarehouseRef,
    template: &str,
    workspace_ids: &[i64],
    since: &str,
) -> Res<StatementResult> {
    let what = format!(
        "reading the denial logs on SQL warehouse {}",
        warehouse.warehouse_id
    );
    let client = env
        .workspace(warehouse.workspace_id)
        .await?
        .ok_or_else(|| {
            StepError::needs_user(
                format!(
                    "{what}: workspace {} no longer exists",
                    warehouse.workspace_id
                ),
                "name a SQL warehouse of one of the workspaces",
            )
        })?;
    // Workspace ids are typed parameters (`workspace_id` is a string column): nothing from a
    // file or flag is pasted into the SQL text.
    let names: Vec<String> = (0..workspace_ids.len()).map(|i| format!(":w{i}")).collect();
    let mut statement = Statement::new(
        &warehouse.warehouse_id,
        template.replace("{workspaces}", &names.join(", ")),
    )
    .param("since", since, "TIMESTAMP");
    for (i, id) in workspace_ids.iter().enumerate() {
        statement = statement.param(format!("w{i}"), id.to_string(), "STRING");
    }
    client
        .execute(&statement)
        .await
        .map_err(|e| errors::databricks(&what, e))
}

/// The egress denials of `workspace_ids` since `since`.
///
/// # Errors
/// The statement failed (an unknown warehouse, a table not enabled, a lock-out by ingress rules).
pub async fn outbound(
    env: &Env,
    warehouse: &WarehouseRef,
    workspace_ids: &[i64],
    since: &str,
) -> Res<Vec<Outbound>> {
    let result = query(env, warehouse, OUTBOUND, workspace_ids, since).await?;
    Ok(rows(&result)
        .map(|r| Outbound {
            destination_type: r.text("destination_type"),
            destination: r.text("destination"),
            access_type: r.text("access_type"),
            attempts: r.count("attempts"),
            first_seen: r.text("first_seen"),
            last_seen: r.text("last_seen"),
            computes: r.set("computes"),
            workspace_ids: r.set("workspace_ids"),
        })
        .collect())
}

/// The ingress denials of `workspace_ids` since `since`.
///
/// # Errors
/// As [`outbound`].
pub async fn inbound(
    env: &Env,
    warehouse: &WarehouseRef,
    workspace_ids: &[i64],
    since: &str,
) -> Res<Vec<Inbound>> {
    let result = query(env, warehouse, INBOUND, workspace_ids, since).await?;
    Ok(rows(&result)
        .map(|r| Inbound {
            source_ip: r.text("source_ip"),
            request_type: r.text("request_type"),
            principal_type: r.text("principal_type"),
            principal_id: r.text("principal_id"),
            rule_label: r.optional("rule_label"),
            access_type: r.text("access_type"),
            attempts: r.count("attempts"),
            first_seen: r.text("first_seen"),
            last_seen: r.text("last_seen"),
            workspace_ids: r.set("workspace_ids"),
        })
        .collect())
}

/// One row of a result, read by column name.
struct Row<'a> {
    result: &'a StatementResult,
    cells: &'a [Option<String>],
}

fn rows(result: &StatementResult) -> impl Iterator<Item = Row<'_>> {
    result.rows.iter().map(move |cells| Row { result, cells })
}

impl Row<'_> {
    fn optional(&self, column: &str) -> Option<String> {
        let i = self.result.columns.iter().position(|c| c == column)?;
        self.cells.get(i).cloned().flatten()
    }

    fn text(&self, column: &str) -> String {
        self.optional(column).unwrap_or_default()
    }

    fn count(&self, column: &str) -> u64 {
        self.text(column).parse().unwrap_or(0)
    }

    /// An array cell (its JSON text), sorted.
    fn set(&self, column: &str) -> Vec<String> {
        let mut items: Vec<String> = serde_json::from_str::<Vec<Value>>(&self.text(column))
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect();
        items.sort();
        items
    }
}

// --- whether a policy body handles a denial ---------------------------------------------------

/// Why `body`'s egress handles the denied destination `d`, or `None` when it does not (the
/// destination would be blocked, unintended). Mirrors the documented matching: a DNS name is
/// allowed by the same name or by `*.<parent>` for its sub-domains; a bucket by an `AWS_S3`
/// storage destination of that name; an IP address never.
pub fn egress_handles(body: &Value, d: &Outbound) -> Option<String> {
    let access = get(body, &["egress", "network_access"]);
    let list = |key: &str| -> Vec<Value> {
        access
            .and_then(|a| a.get(key))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    if access
        .and_then(|a| a.get("restriction_mode"))
        .and_then(Value::as_str)
        == Some("FULL_ACCESS")
        && d.destination_type != "DNS"
    {
        return Some("the policy allows all egress".to_owned());
    }
    match d.destination_type.as_str() {
        "DNS" => {
            let matches = |key: &str| {
                list(key).into_iter().find_map(|e| {
                    let pattern = e.get("destination")?.as_str()?.to_owned();
                    dns_matches(&d.destination, &pattern).then_some(pattern)
                })
            };
            if let Some(p) = matches("blocked_internet_destinations") {
                return Some(format!("blocked on purpose ({p})"));
            }
            if access
                .and_then(|a| a.get("restriction_mode"))
                .and_then(Value::as_str)
                == Some("FULL_ACCESS")
            {
                return Some("the policy allows all egress".to_owned());
            }
            matches("allowed_internet_destinations").map(|p| format!("allowed by {p}"))
        }
        "STORAGE" => {
            let bucket = storage_bucket(&d.destination)?;
            list("allowed_storage_destinations")
                .iter()
                .any(|s| s.get("bucket_name").and_then(Value::as_str) == Some(bucket.as_str()))
                .then(|| format!("allowed bucket {bucket}"))
        }
        _ => None,
    }
}

/// The bucket of `s3://bucket/path`.
pub fn storage_bucket(destination: &str) -> Option<String> {
    let rest = destination.strip_prefix("s3://").unwrap_or(destination);
    let bucket = rest.split('/').next()?;
    (!bucket.is_empty()).then(|| bucket.to_owned())
}

/// `name` matches `pattern` (case-insensitive; `*.example.com` matches sub-domains only).
pub fn dns_matches(name: &str, pattern: &str) -> bool {
    let (name, pattern) = (name.to_ascii_lowercase(), pattern.to_ascii_lowercase());
    match pattern.strip_prefix("*.") {
        Some(parent) => name.ends_with(&format!(".{parent}")),
        None => name == pattern,
    }
}

/// Why the public-access rules of `section` (`ingress` or `ingress_dry_run`) of `body` handle
/// the denied request `d`, or `None`. Deny rules first (a match denies on purpose), then in
/// `RESTRICTED_ACCESS` an allow rule must match. Unsure is unhandled: an API-read-only rule is
/// not taken to cover a request whose method the log does not say.
pub fn ingress_handles(body: &Value, section: &str, d: &Inbound) -> Option<String> {
    let public = get(body, &[section, "public_access"])?;
    let rules = |key: &str| {
        public
            .get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let label = |r: &Value| {
        r.get("label")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    if let Some(r) = rules("deny_rules").iter().find(|r| rule_matches(r, d)) {
        return Some(format!("denied on purpose by rule {:?}", label(r)));
    }
    if public.get("restriction_mode").and_then(Value::as_str) != Some("RESTRICTED_ACCESS") {
        return Some("public access is not restricted".to_owned());
    }
    rules("allow_rules")
        .iter()
        .find(|r| rule_matches(r, d))
        .map(|r| format!("allowed by rule {:?}", label(r)))
}

fn rule_matches(rule: &Value, d: &Inbound) -> bool {
    let origin_ok = match rule.get("origin") {
        None => true,
        Some(o) if o.get("all_ip_ranges").is_some_and(|v| v != false) => true,
        Some(o) => {
            let ranges = |key: &str| {
                o.get(key)
                    .and_then(|r| r.get("ip_ranges"))
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .any(|c| in_range(&d.source_ip, c))
                    })
            };
            match (ranges("included_ip_ranges"), ranges("excluded_ip_ranges")) {
                (Some(inside), _) => inside,
                (None, Some(inside)) => !inside,
                (None, None) => true,
            }
        }
    };
    let destination_ok = match rule.get("destination") {
        None => true,
        Some(dest) if dest.get("all_destinations").is_some_and(|v| v != false) => true,
        Some(dest) => match d.request_type.as_str() {
            "WORKSPACE_API" => dest.get("workspace_api").is_some_and(|api| {
                api.get("scope_qualifier").and_then(Value::as_str)
                    != Some("API_SCOPE_QUALIFIER_READ")
            }),
            "WORKSPACE_UI" => dest.get("workspace_ui").is_some(),
            _ => false,
        },
    };
    let identity_ok = match rule.get("authentication") {
        None => true,
        Some(auth) => match auth.get("identity_type").and_then(Value::as_str) {
            Some("IDENTITY_TYPE_ALL_USERS") => d.principal_type == "PRINCIPAL_TYPE_USER",
            Some("IDENTITY_TYPE_ALL_SERVICE_PRINCIPALS") => {
                d.principal_type == "PRINCIPAL_TYPE_SERVICE_PRINCIPAL"
            }
            Some("IDENTITY_TYPE_SELECTED_IDENTITIES") => auth
                .get("identities")
                .and_then(Value::as_array)
                .is_some_and(|ids| {
                    ids.iter().any(|i| {
                        i.get("principal_id")
                            .map(|p| p.to_string().trim_matches('"').to_owned())
                            == Some(d.principal_id.clone())
                    })
                }),
            _ => true,
        },
    };
    origin_ok && destination_ok && identity_ok
}

/// `ip` lies in `cidr` (an IPv4 address or block).
pub fn in_range(ip: &str, cidr: &str) -> bool {
    let (net, bits) = cidr.split_once('/').unwrap_or((cidr, "32"));
    let (Ok(ip), Ok(net), Ok(bits)) = (
        ip.parse::<Ipv4Addr>(),
        net.parse::<Ipv4Addr>(),
        bits.parse::<u32>(),
    ) else {
        return false;
    };
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits.min(32))
    };
    u32::from(ip) & mask == u32::from(net) & mask
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn out(kind: &str, dest: &str) -> Outbound {
        Outbound {
            destination_type: kind.into(),
            destination: dest.into(),
            access_type: "DRY_RUN_DENIAL".into(),
            attempts: 1,
            first_seen: String::new(),
            last_seen: String::new(),
            computes: vec![],
            workspace_ids: vec![],
        }
    }

    #[test]
    fn egress_denials_are_handled_by_allowed_blocked_and_buckets() {
        let body = json!({"egress": {"network_access": {"restriction_mode": "RESTRICTED_ACCESS",
            "allowed_internet_destinations": [{"destination": "pypi.org"}, {"destination": "*.github.com"}],
            "blocked_internet_destinations": [{"destination": "evil.example"}],
            "allowed_storage_destinations": [{"bucket_name": "data"}]}}});
        assert!(egress_handles(&body, &out("DNS", "PyPI.org")).is_some());
        assert!(egress_handles(&body, &out("DNS", "api.github.com")).is_some());
        assert!(
            egress_handles(&body, &out("DNS", "github.com")).is_none(),
            "wildcards do not cover the apex"
        );
        assert!(
            egress_handles(&body, &out("DNS", "evil.example"))
                .unwrap()
                .contains("on purpose")
        );
        assert!(egress_handles(&body, &out("STORAGE", "s3://data/raw/x")).is_some());
        assert!(egress_handles(&body, &out("STORAGE", "s3://other/raw")).is_none());
        assert!(egress_handles(&body, &out("IP", "192.0.2.1")).is_none());
    }

    #[test]
    fn ingress_rules_match_source_destination_and_identity() {
        let body = json!({"ingress": {"public_access": {"restriction_mode": "RESTRICTED_ACCESS",
            "allow_rules": [{"label": "office", "origin": {"included_ip_ranges": {"ip_ranges": ["203.0.113.0/24"]}},
                             "authentication": {"identity_type": "IDENTITY_TYPE_ALL_SERVICE_PRINCIPALS"}}]}}});
        let req = |ip: &str, who: &str| Inbound {
            source_ip: ip.into(),
            request_type: "WORKSPACE_API".into(),
            principal_type: who.into(),
            principal_id: "42".into(),
            rule_label: None,
            access_type: "DRY_RUN_DENIAL".into(),
            attempts: 1,
            first_seen: String::new(),
            last_seen: String::new(),
            workspace_ids: vec![],
        };
        assert!(
            ingress_handles(
                &body,
                "ingress",
                &req("203.0.113.7", "PRINCIPAL_TYPE_SERVICE_PRINCIPAL")
            )
            .is_some()
        );
        assert!(
            ingress_handles(
                &body,
                "ingress",
                &req("198.51.100.1", "PRINCIPAL_TYPE_SERVICE_PRINCIPAL")
            )
            .is_none()
        );
        assert!(
            ingress_handles(&body, "ingress", &req("203.0.113.7", "PRINCIPAL_TYPE_USER")).is_none()
        );
        assert!(in_range("10.1.2.3", "10.0.0.0/8") && !in_range("11.0.0.1", "10.0.0.0/8"));
        assert!(in_range("1.2.3.4", "0.0.0.0/0") && in_range("1.2.3.4", "1.2.3.4"));
    }
}
