//! `plink status`: what the state file records, step by step.

use serde::Serialize;
use serde_json::{Map, Value};

use super::Deployment;
use crate::state::{Intent, StateError, StateFile, StepStatus, read_state};

/// The recorded view of a deployment (`--json` prints exactly this).
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub deployment: String,
    pub state_file: String,
    /// False when the deployment has never run (no state file yet).
    pub exists: bool,
    pub serial: u64,
    pub lineage: Option<String>,
    pub updated_at: Option<String>,
    /// When `plink down` tore the deployment down, if nothing has been brought up since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub torn_down_at: Option<String>,
    pub steps: Vec<StepView>,
    /// What the clouds say now (absent when the deployment never ran or `--offline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<super::live::LiveView>,
    /// Why the live view is missing, when it could not be read (e.g. no credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_unavailable: Option<String>,
}

/// One step as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub step: String,
    pub status: StepStatus,
    pub outputs: Map<String, Value>,
    /// A call that was started and never recorded: its resource may exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_intent: Option<Intent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The recorded view plus, when the clouds can be reached, the live one. Never writes.
///
/// # Errors
/// [`StateError`] when the state file exists but cannot be read; cloud failures only fill
/// `live_unavailable` or the live view's `errors`.
pub async fn report(
    deployment: &Deployment,
    step_order: &[&str],
    offline: bool,
) -> Result<StatusReport, StateError> {
    let mut report = recorded(deployment, step_order)?;
    let Some(state) = read_state(&deployment.paths)? else {
        return Ok(report);
    };
    if offline {
        return Ok(report);
    }
    match live(deployment, &state).await {
        Ok(view) => report.live = Some(view),
        Err(e) => report.live_unavailable = Some(format!("{e:#}")),
    }
    Ok(report)
}

/// The live facts, with the plan's findings as drift.
async fn live(deployment: &Deployment, state: &StateFile) -> anyhow::Result<super::live::LiveView> {
    let env = std::sync::Arc::new(
        super::up::connect(std::sync::Arc::new(deployment.workflow.clone()), false).await?,
    );
    let (mut view, drift) = tokio::join!(
        super::live::observe(&env, state),
        super::plan::drift(env.clone(), deployment, state.clone())
    );
    view.drift = drift.lines;
    view.errors.extend(drift.errors);
    Ok(view)
}

/// Reads the state of `deployment` without locking or changing it.
///
/// `step_order` lists the workflow's steps so they show in graph order, including those that
/// never ran.
///
/// # Errors
/// [`StateError`] when the state file exists but cannot be read.
pub fn recorded(deployment: &Deployment, step_order: &[&str]) -> Result<StatusReport, StateError> {
    let state = read_state(&deployment.paths)?;
    let mut report = StatusReport {
        deployment: deployment.workflow.deployment.as_str().to_owned(),
        state_file: deployment.paths.state.display().to_string(),
        exists: state.is_some(),
        serial: 0,
        lineage: None,
        updated_at: None,
        torn_down_at: None,
        steps: Vec::new(),
        live: None,
        live_unavailable: None,
    };
    let Some(state) = state else {
        report.steps = step_order.iter().map(|s| never_ran(s)).collect();
        return Ok(report);
    };
    report.serial = state.serial;
    report.lineage = Some(state.lineage.clone());
    report.updated_at = Some(state.updated_at.clone());
    report.torn_down_at = state
        .destroyed_at
        .clone()
        .filter(|_| !super::down::has_up_records(&state, true));
    let mut ids: Vec<String> = step_order.iter().map(|s| (*s).to_owned()).collect();
    ids.extend(
        state
            .steps
            .keys()
            .filter(|k| !step_order.contains(&k.as_str()))
            .cloned(),
    );
    report.steps = ids
        .iter()
        .map(|id| match state.step(id) {
            Some(rec) => StepView {
                step: id.clone(),
                status: rec.status,
                outputs: rec.outputs.clone(),
                pending_intent: rec.intent.clone(),
                error: rec.error.clone(),
            },
            None => never_ran(id),
        })
        .collect();
    Ok(report)
}

fn never_ran(step: &str) -> StepView {
    StepView {
        step: step.to_owned(),
        status: StepStatus::Pending,
        outputs: Map::new(),
        pending_intent: None,
        error: None,
    }
}
