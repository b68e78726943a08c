//! `plink status --orphans`: AWS resources carrying plink's tags that no known state records —
//! left by a state file that was deleted, or by a run whose record was lost.
//!
//! Known states are those of the given workflow files (wherever they are: a file or S3) and every
//! `.plink/*/state.json` under the current directory. Databricks NCCs and rules cannot carry
//! tags, so they are not scanned.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::Deployment;
use crate::aws::tags::TAG_DEPLOYMENT;
use crate::resources::Options;
use crate::state::{StatePaths, read_state};

/// One plink-tagged resource no known state records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Orphan {
    pub kind: &'static str,
    pub id: String,
    pub region: String,
    /// The `plink:deployment` tag.
    pub deployment: String,
    pub reason: String,
}

/// Every id and ARN recorded in a state, per deployment: the states of `deployments` wherever
/// they are (a file, or S3), and every `.plink/*/state.json` under `root`.
async fn known_ids(deployments: &[Deployment], root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut states = Vec::new();
    for d in deployments {
        // An unreadable state is reported by the commands that need it; here it is just unknown.
        if let Ok(Some(state)) = d.read_state().await {
            states.push(state);
        }
    }
    let given: Vec<&Path> = deployments
        .iter()
        .map(|d| d.paths.state.as_path())
        .collect();
    if let Ok(entries) = std::fs::read_dir(root.join(".plink")) {
        for e in entries.flatten() {
            let state = e.path().join("state.json");
            if state.is_file()
                && !given.contains(&state.as_path())
                && let Ok(Some(state)) = read_state(&StatePaths::at(state))
            {
                states.push(state);
            }
        }
    }
    let mut known: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for state in states {
        let ids = known.entry(state.deployment.clone()).or_default();
        for rec in state.steps.values() {
            collect_strings(&Value::Object(rec.outputs.clone()), ids);
        }
    }
    known
}

fn collect_strings(v: &Value, into: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            into.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, into)),
        Value::Object(map) => map.values().for_each(|i| collect_strings(i, into)),
        _ => {}
    }
}

/// Scans the regions (and accounts) of `deployments` for orphans.
///
/// # Errors
/// A connection or read failure.
pub async fn scan(deployments: &[Deployment], root: &Path) -> anyhow::Result<Vec<Orphan>> {
    let known = known_ids(deployments, root).await;
    let mut seen_targets = BTreeSet::new();
    let mut orphans = Vec::new();
    for d in deployments {
        let clouds = &d.workflow.clouds;
        // A kind without AWS resources has no tagged inventory to scan.
        let Some(region) = &clouds.region else {
            continue;
        };
        if !seen_targets.insert((
            region.as_str().to_owned(),
            clouds.aws_profile.clone(),
            clouds.aws_role_arn.clone(),
        )) {
            continue;
        }
        let env = super::up::connect(d, Options::default()).await?;
        // The resource kinds of every deployment given for the same account and region, each
        // once (the inventories list every deployment's resources, not only this one's).
        let mut inventory = Vec::new();
        let mut seen = BTreeSet::new();
        for other in deployments.iter().filter(|o| &o.workflow.clouds == clouds) {
            for (noun, id, tags) in other.graph().inventory(&env).await? {
                if seen.insert(id.clone()) {
                    inventory.push((noun, id, tags));
                }
            }
        }
        for (kind, id, tags) in inventory {
            let deployment = tags.get(TAG_DEPLOYMENT).cloned().unwrap_or_default();
            let reason = match known.get(&deployment) {
                None => format!("no known state for deployment \"{deployment}\""),
                Some(ids) if !ids.contains(&id) => {
                    format!("not recorded in the state of \"{deployment}\"")
                }
                Some(_) => continue,
            };
            orphans.push(Orphan {
                kind,
                id,
                region: env.region.clone(),
                deployment,
                reason,
            });
        }
    }
    Ok(orphans)
}
