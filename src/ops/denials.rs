//! `plink denials`: what serverless compute was denied, and what to add to the workflow file
//! (issue #11 item 3) — the step from the dry run's log to the allowlist that nobody automated.

use std::time::{Duration, SystemTime};

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use super::Deployment;
use crate::config;
use crate::engine::StepError;
use crate::resources::network_policy::body;
use crate::resources::network_policy::denials::{
    self, Inbound, Outbound, WarehouseRef, find_warehouse,
};
use crate::resources::{Env, Options};
use crate::workflow::network_policy::{self, Config};

/// What the user asked.
#[derive(Debug, Clone)]
pub struct DenialsOptions {
    /// How far back to read (`--since`, default 7 days).
    pub since: Duration,
    /// `--warehouse`: instead of `databricks.warehouse_id`.
    pub warehouse: Option<String>,
}

/// One denial, and whether the workflow file handles it.
#[derive(Debug, Clone, Serialize)]
pub struct Judged<T> {
    #[serde(flatten)]
    pub denial: T,
    /// Why the file's policy handles it (allowed, or denied on purpose); `None`: it does not.
    pub handled: Option<String>,
}

/// What `plink denials` reports (`--json` prints exactly this).
#[derive(Debug, Clone, Serialize)]
pub struct DenialsReport {
    pub deployment: String,
    pub workflow: String,
    pub network_policy_id: String,
    pub warehouse: WarehouseRef,
    pub workspace_ids: Vec<i64>,
    /// The start of the window (RFC 3339).
    pub since: String,
    pub outbound: Vec<Judged<Outbound>>,
    /// Read only when the file has an `[ingress]` table (`ingress_read`).
    pub inbound: Vec<Judged<Inbound>>,
    /// Whether `system.access.inbound_network` was read: an empty `inbound` then means no
    /// ingress denial, not "not looked at".
    pub ingress_read: bool,
    /// The workflow file's lines that would handle every unhandled denial (empty: none needed).
    pub add: Vec<String>,
    /// Denials no line of the file can handle (an IP address: only DNS names are allowed).
    pub cannot_allow: Vec<String>,
}

/// Reads the denial logs of `deployment`'s workspaces.
///
/// # Errors
/// The deployment is not a network policy, names no warehouse, or a read failed.
pub async fn run(
    deployment: &Deployment,
    options: &DenialsOptions,
) -> anyhow::Result<DenialsReport> {
    let source = &deployment.workflow.source;
    if deployment.kind().name() != network_policy::NAME {
        anyhow::bail!(
            "{}: plink denials reads the denial logs of kind \"{}\" deployments; this one is kind \"{}\"",
            source.display(),
            network_policy::NAME,
            deployment.kind().name()
        );
    }
    let file = config::read(source)?;
    let c = network_policy::config::parse(source, &file.text)?;
    let (warehouse_id, written_at) = match (&options.warehouse, c.warehouse()) {
        (Some(flag), _) => (flag.clone(), "--warehouse".to_owned()),
        (None, Some(file)) => file,
        (None, None) => anyhow::bail!(StepError::needs_user(
            format!(
                "{}: no SQL warehouse to read the denial logs with",
                source.display()
            ),
            "set databricks.warehouse_id in the workflow file, or pass --warehouse ID",
        )),
    };
    let env = super::up::connect(deployment, Options::default()).await?;
    let ids = &c.databricks.workspace_ids;
    let warehouse = find_warehouse(&env, &warehouse_id, ids, &written_at)
        .await?
        .ok_or_else(|| {
            StepError::needs_user(
                format!("the workspaces refuse plink's requests to SQL warehouse {warehouse_id}"),
                "context-based ingress denies plink: add an [[ingress.allow]] rule for this machine and run `plink up`",
            )
        })?;
    let since = crate::resources::network_policy::rfc3339(SystemTime::now() - options.since);
    // Judged against the policy as `up` would write it: the live one with the file's fields.
    let live = env
        .databricks
        .get_network_policy(&c.policy_id)
        .await
        .ok()
        .unwrap_or_else(|| Value::Object(Default::default()));
    let policy = body::merge(&live, &network_policy::owned(&c));
    let outbound: Vec<Judged<Outbound>> = denials::outbound(&env, &warehouse, ids, &since)
        .await?
        .into_iter()
        .map(|d| Judged {
            handled: denials::egress_handles(&policy, &d),
            denial: d,
        })
        .collect();
    let inbound: Vec<Judged<Inbound>> = match &c.ingress {
        None => Vec::new(),
        Some(i) => {
            let section = match i.enforcement {
                network_policy::Enforcement::Enforced => "ingress",
                network_policy::Enforcement::DryRun => "ingress_dry_run",
            };
            denials::inbound(&env, &warehouse, ids, &since)
                .await?
                .into_iter()
                .map(|d| Judged {
                    handled: denials::ingress_handles(&policy, section, &d),
                    denial: d,
                })
                .collect()
        }
    };
    let (add, cannot_allow) = suggestions(&env, &c, &policy, &outbound, &inbound).await?;
    Ok(DenialsReport {
        deployment: deployment.name().to_owned(),
        workflow: source.display().to_string(),
        network_policy_id: c.policy_id.clone(),
        warehouse,
        workspace_ids: ids.clone(),
        since,
        outbound,
        inbound,
        ingress_read: c.ingress.is_some(),
        add,
        cannot_allow,
    })
}

/// The lines of the workflow file that handle every unhandled denial: each list key of
/// `[egress]` rewritten whole (the file's entries, then the new ones), and one
/// `[[ingress.allow]]` rule per source address.
async fn suggestions(
    env: &Env,
    c: &Config,
    policy: &Value,
    outbound: &[Judged<Outbound>],
    inbound: &[Judged<Inbound>],
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let mut add = Vec::new();
    let mut cannot = Vec::new();
    let egress = c.egress.as_ref();
    let mut domains = egress
        .and_then(|e| e.allowed_domains.clone())
        .unwrap_or_default();
    let mut buckets: Vec<(String, String)> = egress
        .and_then(|e| e.allowed_storage.clone())
        .unwrap_or_default();
    let (domains_before, buckets_before) = (domains.len(), buckets.len());
    for d in outbound.iter().filter(|d| d.handled.is_none()) {
        let d = &d.denial;
        match d.destination_type.as_str() {
            "DNS" => {
                let name = d.destination.to_ascii_lowercase();
                if !domains.contains(&name) {
                    domains.push(name);
                }
            }
            "STORAGE" => {
                let Some(bucket) = denials::storage_bucket(&d.destination) else {
                    continue;
                };
                if buckets.iter().any(|(b, _)| b == &bucket) {
                    continue;
                }
                // The log does not say the bucket's region; the workspace's is the likely one
                // (a bucket in another region must be listed with its own, field update §2.1).
                let ws = d
                    .workspace_ids
                    .first()
                    .and_then(|w| w.parse::<i64>().ok())
                    .unwrap_or(c.databricks.workspace_ids[0]);
                let region = env
                    .databricks
                    .get_workspace(ws)
                    .await
                    .ok()
                    .and_then(|w| w.aws_region)
                    .unwrap_or_else(|| "us-east-1".to_owned());
                buckets.push((bucket, region));
            }
            _ => cannot.push(format!(
                "{} {}: a network policy allows DNS names and buckets only; allow the name the code uses instead",
                d.destination_type.to_lowercase(),
                d.destination
            )),
        }
    }
    if domains.len() > domains_before {
        add.push(format!("allowed_domains = {}", toml_list(&domains)));
    }
    if buckets.len() > buckets_before {
        let items: Vec<String> = buckets
            .iter()
            .map(|(b, r)| format!("{{ bucket = {b:?}, region = {r:?} }}"))
            .collect();
        add.push(format!("allowed_storage = [{}]", items.join(", ")));
    }
    if !add.is_empty() {
        if egress.is_none() {
            // A file without `[egress]` takes over the policy's egress mode, as it is now.
            let mode = body::get(policy, &["egress", "network_access", "restriction_mode"])
                .and_then(Value::as_str)
                .unwrap_or("RESTRICTED_ACCESS");
            add.insert(0, format!("restriction_mode = {mode:?}"));
        }
        add.insert(0, "[egress]".to_owned());
    }
    let mut sources: Vec<&Inbound> = Vec::new();
    for d in inbound.iter().filter(|d| d.handled.is_none()) {
        if !sources
            .iter()
            .any(|s| s.source_ip == d.denial.source_ip && s.principal_id == d.denial.principal_id)
        {
            sources.push(&d.denial);
        }
    }
    for s in sources {
        let who = if s.principal_type == "PRINCIPAL_TYPE_SERVICE_PRINCIPAL" {
            "service_principal_ids"
        } else {
            "user_ids"
        };
        if !add.is_empty() {
            add.push(String::new());
        }
        add.push("[[ingress.allow]]".to_owned());
        add.push(format!(
            "label = \"{}-{}\"",
            "denied",
            s.source_ip.replace('.', "-")
        ));
        add.push(format!("ips = [\"{}/32\"]", s.source_ip));
        add.push(format!("{who} = [{}]", s.principal_id));
    }
    Ok((add, cannot))
}

fn toml_list(items: &[String]) -> String {
    format!(
        "[{}]",
        items
            .iter()
            .map(|i| format!("{i:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// `7d`, `12h`, `30m` (humantime's units).
///
/// # Errors
/// Not a duration.
pub fn parse_since(raw: &str) -> anyhow::Result<Duration> {
    humantime::parse_duration(raw)
        .with_context(|| format!("--since {raw:?}: expected a duration like 7d, 12h or 30m"))
}
