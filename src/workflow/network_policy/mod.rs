//! `network-policy` (issue #11, seeds 000 and 002): one account network policy — serverless
//! egress allowlists and context-based ingress rules — bound to the file's workspaces. Dry run
//! first; `plink denials` reads what the dry run would have blocked; `up` leaves dry run only
//! when the file handles every denial (or `--accept-denials`).
//!
//! Graph: `workspaces` (read only: they exist, none is bound to someone else's policy, the SQL
//! warehouse is theirs) → `policy` → `bind`. Node ids are state step names.

pub mod config;

use serde_json::{Value, json};

use super::reach::{self, Destination, Reach};
use super::{Clouds, Graph, Loaded, WorkflowKind};
use crate::config::{ConfigError, WorkflowText};
use crate::resources::need;
use crate::resources::network_policy::body::Owned;
use crate::resources::network_policy::{NetworkPolicy, PolicyInputs, PolicyRecord};
use crate::resources::policy_binding::{
    PolicyBinding, PolicyBindingInputs, PolicyWorkspaces, WorkspacesRecord,
};

pub use config::{Config, Enforcement, MAX_DESTINATIONS};

/// The kind's name.
pub const NAME: &str = "network-policy";

/// The `network-policy` kind.
#[derive(Debug)]
pub struct NetworkPolicyKind;

impl WorkflowKind for NetworkPolicyKind {
    fn name(&self) -> &'static str {
        NAME
    }

    fn load(&self, file: &WorkflowText) -> Result<Loaded, ConfigError> {
        let c = config::parse(&file.path, &file.text)?;
        let halves: Vec<String> = [
            c.egress
                .as_ref()
                .map(|e| format!("egress {}", mode(e.enforcement))),
            c.ingress
                .as_ref()
                .map(|i| format!("ingress {}", mode(Some(i.enforcement)))),
        ]
        .into_iter()
        .flatten()
        .collect();
        let summary = format!(
            "network policy {} ({}), {} workspace(s)",
            c.policy_id,
            halves.join(", "),
            c.databricks.workspace_ids.len()
        );
        let clouds = Clouds::databricks_only(&c.databricks);
        // The egress side opens a path: each allowed domain (TLS on 443) and bucket.
        let reach = c.egress.as_ref().map(|egress| {
            let domains = egress.allowed_domains.clone().unwrap_or_default();
            let (hosts, notes) = reach::concrete(&domains);
            let storage = egress.allowed_storage.clone().unwrap_or_default();
            let destinations = (hosts.into_iter().map(Destination::https))
                .chain(storage.into_iter().map(|(b, r)| Destination::bucket(b, &r)))
                .collect();
            Reach::fixed(c.databricks.workspace_ids.clone(), destinations, notes)
        });
        let loaded = Loaded::new(
            &NetworkPolicyKind,
            file,
            &c.deployment,
            clouds,
            summary,
            Ok(graph(&c)),
        )?;
        Ok(loaded.reaching(reach))
    }
}

fn mode(e: Option<Enforcement>) -> &'static str {
    match e {
        Some(Enforcement::DryRun) => "dry run",
        _ => "enforced",
    }
}

/// The graph of a `network-policy` deployment.
pub fn graph(c: &Config) -> Graph {
    let workspace_ids = c.databricks.workspace_ids.clone();
    let ids = workspace_ids.clone();
    Graph::new()
        .node(
            "workspaces",
            &[],
            PolicyWorkspaces {
                policy_id: c.policy_id.clone(),
                workspace_ids: workspace_ids.clone(),
                warehouse: c.warehouse(),
            },
            |_| Ok(()),
        )
        .node(
            "policy",
            &["workspaces"],
            NetworkPolicy {
                id: c.policy_id.clone(),
                owned: owned(c),
            },
            move |up| {
                let ws: WorkspacesRecord = up.record("workspaces");
                Ok(PolicyInputs {
                    warehouse: ws.warehouse,
                    workspace_ids: ids.clone(),
                })
            },
        )
        .node(
            "bind",
            &["policy"],
            PolicyBinding {
                workspace_ids,
                timeout: std::time::Duration::from_secs(300),
            },
            |up| {
                let policy: PolicyRecord = up.record("policy");
                Ok(PolicyBindingInputs {
                    policy_id: need(&policy.network_policy_id, "the network policy")?,
                })
            },
        )
}

const ACCESS: [&str; 2] = ["egress", "network_access"];

fn access(key: &'static str) -> Vec<&'static str> {
    vec![ACCESS[0], ACCESS[1], key]
}

/// The fields of the policy the file sets (see [`crate::resources::network_policy::body`]).
pub fn owned(c: &Config) -> Vec<Owned> {
    let mut out = Vec::new();
    if let Some(e) = &c.egress {
        out.push(Owned::set(
            &access("restriction_mode"),
            "egress restriction mode",
            json!(e.restriction_mode),
        ));
        let dns = |names: &[String]| -> Value {
            names
                .iter()
                .map(|n| json!({"destination": n, "internet_destination_type": "DNS_NAME"}))
                .collect()
        };
        if let Some(names) = &e.allowed_domains {
            out.push(Owned::set(
                &access("allowed_internet_destinations"),
                "egress allowed domains",
                dns(names),
            ));
        }
        if let Some(names) = &e.blocked_domains {
            out.push(Owned::set(
                &access("blocked_internet_destinations"),
                "egress blocked domains",
                dns(names),
            ));
        }
        if let Some(buckets) = &e.allowed_storage {
            let list: Value = buckets
                .iter()
                .map(|(b, r)| json!({"bucket_name": b, "region": r, "storage_destination_type": "AWS_S3"}))
                .collect();
            out.push(Owned::set(
                &access("allowed_storage_destinations"),
                "egress allowed storage",
                list,
            ));
        }
        if let Some(ids) = &e.allowed_workspaces {
            let list = if ids.is_empty() {
                json!([])
            } else {
                json!([{"workspace_ids": ids}])
            };
            out.push(Owned::set(
                &access("allowed_databricks_destinations"),
                "egress allowed workspaces",
                list,
            ));
        }
        if let Some(enforcement) = e.enforcement {
            let mode = match enforcement {
                Enforcement::DryRun => "DRY_RUN",
                Enforcement::Enforced => "ENFORCED",
            };
            out.push(Owned::set(
                &access("policy_enforcement"),
                "egress enforcement",
                json!({"enforcement_mode": mode, "dry_run_mode_product_filter": e.dry_run_products}),
            ));
        }
    }
    if let Some(i) = &c.ingress {
        let (used, other) = match i.enforcement {
            Enforcement::Enforced => ("ingress", "ingress_dry_run"),
            Enforcement::DryRun => ("ingress_dry_run", "ingress"),
        };
        let rules = |rules: &[config::IngressRule]| -> Value { rules.iter().map(rule).collect() };
        out.push(Owned::set(
            &[used, "public_access"],
            "ingress public access",
            json!({"restriction_mode": i.public_access, "allow_rules": rules(&i.allow), "deny_rules": rules(&i.deny)}),
        ));
        out.push(Owned::absent(
            &[other, "public_access"],
            "ingress public access (other mode)",
        ));
        if let Some(m) = &i.private_access {
            out.push(Owned::set(
                &[used, "private_access", "restriction_mode"],
                "ingress private access",
                json!(m),
            ));
        }
        if let Some(m) = &i.cross_workspace_access {
            out.push(Owned::set(
                &[used, "cross_workspace_access", "restriction_mode"],
                "ingress cross-workspace access",
                json!(m),
            ));
        }
    }
    out
}

/// One ingress rule as the API spells it (reference §6.5).
fn rule(r: &config::IngressRule) -> Value {
    use config::{Identities, Origin};
    let origin = match &r.origin {
        Origin::All => json!({"all_ip_ranges": true}),
        Origin::Ips(ips) => json!({"included_ip_ranges": {"ip_ranges": ips}}),
        Origin::ExcludedIps(ips) => json!({"excluded_ip_ranges": {"ip_ranges": ips}}),
    };
    let has = |d: &str| r.destinations.iter().any(|x| x == d);
    let destination = if r.destinations.is_empty() {
        json!({"all_destinations": true})
    } else {
        let mut d = serde_json::Map::new();
        if has("workspace_api") || has("workspace_api_read") {
            let qualifier = if has("workspace_api") {
                "API_SCOPE_QUALIFIER_ALL"
            } else {
                "API_SCOPE_QUALIFIER_READ"
            };
            d.insert(
                "workspace_api".into(),
                json!({"scope_qualifier": qualifier}),
            );
        }
        if has("workspace_ui") {
            d.insert("workspace_ui".into(), json!({"all_destinations": true}));
        }
        Value::Object(d)
    };
    let authentication = match &r.identities {
        Identities::All => Value::Null,
        Identities::Users => json!({"identity_type": "IDENTITY_TYPE_ALL_USERS"}),
        Identities::ServicePrincipals => {
            json!({"identity_type": "IDENTITY_TYPE_ALL_SERVICE_PRINCIPALS"})
        }
        Identities::Selected(ids) => json!({
            "identity_type": "IDENTITY_TYPE_SELECTED_IDENTITIES",
            "identities": ids.iter().map(|(id, sp)| json!({
                "principal_id": id,
                "principal_type": if *sp { "PRINCIPAL_TYPE_SERVICE_PRINCIPAL" } else { "PRINCIPAL_TYPE_USER" },
            })).collect::<Vec<_>>(),
        }),
    };
    let mut out = json!({"label": r.label, "origin": origin, "destination": destination});
    if !authentication.is_null() {
        out["authentication"] = authentication;
    }
    out
}
