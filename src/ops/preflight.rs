//! The preflight `up` and `plan` run before anything else (issue #16): every node's read-only
//! checks, every problem in one list, each with its place in the workflow file, and not one
//! mutating call — so that a workflow that cannot converge leaves nothing billed behind.
//!
//! Checks whose answer can change before the create runs (a quota) are made again by the
//! create itself (`check_create`): passing the preflight is not a promise.

use std::sync::Arc;

use serde::Serialize;

use super::Deployment;
use crate::resources::Env;
use crate::resources::preflight::Finding;
use crate::state::StateStore;

/// What the preflight found, each finding placed in the workflow file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Preflight {
    pub findings: Vec<PlacedFinding>,
}

/// A finding and the node of the workflow's graph that made it.
#[derive(Debug, Clone, Serialize)]
pub struct PlacedFinding {
    pub step: String,
    #[serde(flatten)]
    pub finding: Finding,
}

/// The preflight found problems: `up` stopped before its first mutating call (exit 4).
#[derive(Debug, thiserror::Error)]
#[error("{}", render(deployment, findings))]
pub struct PreflightFailed {
    pub deployment: String,
    pub findings: Vec<PlacedFinding>,
}

impl Preflight {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.findings.is_empty()
    }

    /// `Ok` if every check passed, else the error listing every finding.
    ///
    /// # Errors
    /// [`PreflightFailed`] with every finding.
    pub fn into_result(self, deployment: &Deployment) -> Result<(), PreflightFailed> {
        if self.passed() {
            return Ok(());
        }
        Err(PreflightFailed {
            deployment: deployment.name().to_owned(),
            findings: self.findings,
        })
    }
}

/// Every node's preflight, on the state as `store` holds it (read only here).
pub async fn run(deployment: &Deployment, env: &Arc<Env>, store: &StateStore) -> Preflight {
    // A read-only copy: a preflight can never write the state, even by mistake.
    let store = Arc::new(StateStore::read_only(
        deployment.paths.clone(),
        store.snapshot(),
        "preflight",
    ));
    let findings = deployment
        .graph()
        .preflight(env, &store)
        .await
        .into_iter()
        .map(|(step, mut finding)| {
            finding.place = deployment.workflow.place(&finding.key);
            PlacedFinding {
                step: step.to_owned(),
                finding,
            }
        })
        .collect();
    Preflight { findings }
}

/// The findings as the CLI prints them: a header, then one entry per finding.
pub fn render(deployment: &str, findings: &[PlacedFinding]) -> String {
    let mut out = format!(
        "deployment {deployment}: the preflight found {} problem(s); nothing was created or changed:",
        findings.len()
    );
    for f in findings {
        out.push_str(&format!("\n  {}", f.finding));
    }
    out
}
