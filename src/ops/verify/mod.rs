//! `plink verify` (issue #15): is the path open, and does serverless compute get through?
//!
//! First the static path ([`path`]): one link per node of the workflow kind's graph, judged by the
//! resource kinds' own lookups (the plan `up` would make), in the order a packet meets them, then
//! the egress policy bound to each workspace. Then, unless `--static`, the probe ([`probe`]): a
//! one-time serverless run in each workspace that resolves, connects, shakes hands (TLS with SNI)
//! and, for S3, lists the bucket, as seed 001's notebook does. Reachable means every link is ok
//! and every destination was reached; the first broken link (or unreached destination) is what
//! the exit code 4 names.

pub mod path;
pub mod probe;

use std::sync::Arc;

use serde::Serialize;

use self::path::{Link, Verdict};
use self::probe::WorkspaceProbe;
use super::Deployment;
use crate::engine::Interrupt;
use crate::resources::Options;
use crate::resources::rule::RuleRecord;
use crate::workflow::reach::Destination;

/// What the command line asked for.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Only this workspace (one of the deployment's).
    pub workspace: Option<i64>,
    /// The static path only: no run is submitted.
    pub static_only: bool,
    /// Buckets to list through an `s3-privatelink` endpoint.
    pub buckets: Vec<String>,
}

/// Why `verify` cannot start.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(
        "`plink verify` checks the deployments that open a path (s3-privatelink, nlb-service, s3-native, network-policy with [egress]); this {0} deployment opens none"
    )]
    OpensNoPath(String),
    #[error("workspace {0} is not one of the deployment's ({1:?})")]
    NotAWorkspace(i64, Vec<i64>),
    #[error("--bucket is for s3-privatelink deployments (the other kinds name their destinations)")]
    BucketsNotUsed,
}

/// Everything `verify` found (`--json` prints exactly this).
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub deployment: String,
    pub kind: String,
    pub workspaces: Vec<i64>,
    pub destinations: Vec<Destination>,
    /// What could not be probed, and why.
    pub notes: Vec<String>,
    /// The static path, in order.
    pub links: Vec<Link>,
    /// One per workspace (absent with `--static`).
    pub probes: Vec<WorkspaceProbe>,
    /// Every link ok and every destination reached.
    pub reachable: bool,
    /// What exit code 4 names: the first broken link, else the first unreached destination.
    pub first_broken: Option<String>,
}

/// Verifies `deployment`: reads only (the state is neither locked nor written), except the task
/// file it uploads and deletes and the run it submits in each workspace.
///
/// # Errors
/// The kind opens no path, `--workspace` is not the deployment's, the state cannot be read, or the
/// clouds cannot be reached.
pub async fn run(
    deployment: &Deployment,
    options: &VerifyOptions,
    interrupt: &Interrupt,
) -> anyhow::Result<VerifyReport> {
    let kind = deployment.kind().name();
    let Some(reach) = &deployment.workflow.reach else {
        return Err(VerifyError::OpensNoPath(kind.to_owned()).into());
    };
    if !options.buckets.is_empty() && !reach.takes_buckets() {
        return Err(VerifyError::BucketsNotUsed.into());
    }
    let state = deployment.read_state().await?;
    // The rule's names as `up` recorded them (the endpoint's, when the file names none).
    let rule: RuleRecord = state
        .as_ref()
        .and_then(|s| s.outputs("rule"))
        .unwrap_or_default();
    let plan = reach.resolve(&rule.domain_names, &options.buckets);
    let workspaces = match options.workspace {
        Some(w) if reach.workspaces.contains(&w) => vec![w],
        Some(w) => return Err(VerifyError::NotAWorkspace(w, reach.workspaces.clone()).into()),
        None => reach.workspaces.clone(),
    };
    let env = Arc::new(super::up::connect(deployment, Options::default()).await?);
    let shown = deployment.workflow.source.display().to_string();
    let mut links = path::links(env.clone(), deployment, state, &shown).await;
    links.extend(path::egress(&env, &workspaces, &plan.destinations).await);

    let mut probes = Vec::new();
    if !options.static_only && !plan.destinations.is_empty() {
        let nonce = uuid::Uuid::new_v4().to_string();
        probes = futures::future::join_all(
            workspaces
                .iter()
                .map(|&ws| probe::workspace(&env, ws, &plan.destinations, &nonce, interrupt)),
        )
        .await;
    }
    let first_broken = first_broken(&links, &probes);
    let reachable = first_broken.is_none()
        && links.iter().all(|l| l.verdict == Verdict::Ok)
        && (options.static_only || !probes.is_empty());
    Ok(VerifyReport {
        deployment: deployment.name().to_owned(),
        kind: kind.to_owned(),
        workspaces,
        destinations: plan.destinations,
        notes: plan.notes,
        links,
        probes,
        reachable,
        first_broken,
    })
}

/// The first broken link (`rule: replace: rule … is REJECTED`), else the first destination a
/// workspace did not reach, else a probe that gave no report.
fn first_broken(links: &[Link], probes: &[WorkspaceProbe]) -> Option<String> {
    if let Some(l) = links.iter().find(|l| l.verdict == Verdict::Broken) {
        return Some(format!("{} ({}): {}", l.name, l.what, l.detail));
    }
    for p in probes {
        if let Some(d) = p.destinations.iter().find(|d| !d.ok) {
            return Some(format!(
                "probe from workspace {}: {} not reached: {}",
                p.workspace_id,
                d.name,
                d.show()
            ));
        }
        if let Some(e) = &p.error {
            return Some(format!("probe from workspace {}: {e}", p.workspace_id));
        }
    }
    None
}
