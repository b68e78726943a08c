//! `plink status`: what the state file records, step by step.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::Deployment;
use crate::resources::Options;
use crate::state::{Intent, StateError, StateFile, StepStatus};
use crate::workflow::Graph;

/// The live facts (`--json` prints them under `live`): what each resource of the graph observed
/// ([`crate::resources::Resource::observe`]), the plan's findings as drift, and the probes that
/// failed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LiveView {
    #[serde(flatten)]
    pub fields: Map<String, Value>,
    /// The table's lines (label, text), in graph order.
    #[serde(skip)]
    pub lines: Vec<(String, String)>,
    /// Out-of-band changes and unfinished work, one line per step `up` would act on
    /// (`step: action: detail`), from the same checks as `plink plan`.
    pub drift: Vec<String>,
    /// Probes that failed (e.g. missing permissions), one line each.
    pub errors: Vec<String>,
}

/// The recorded view of a deployment (`--json` prints exactly this).
#[derive(Debug, Clone, Default, Serialize)]
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
    pub live: Option<LiveView>,
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
pub async fn report(deployment: &Deployment, offline: bool) -> anyhow::Result<StatusReport> {
    let graph = deployment.graph();
    let state = deployment.read_state().await?;
    let mut report = recorded(deployment, graph, state.clone())?;
    let Some(state) = state else {
        return Ok(report);
    };
    if offline {
        return Ok(report);
    }
    match live(deployment, graph, &state).await {
        Ok(view) => report.live = Some(view),
        Err(e) => report.live_unavailable = Some(format!("{e:#}")),
    }
    Ok(report)
}

/// The live facts, with the plan's findings as drift.
async fn live(
    deployment: &Deployment,
    graph: &Graph,
    state: &StateFile,
) -> anyhow::Result<LiveView> {
    let env = Arc::new(super::up::connect(deployment, Options::default()).await?);
    let (observed, drift) = tokio::join!(
        graph.observe(&env, state),
        super::plan::drift(env.clone(), graph, deployment, state.clone())
    );
    let mut errors = observed.errors;
    errors.extend(drift.errors);
    Ok(LiveView {
        fields: observed.fields,
        lines: observed.lines,
        drift: drift.lines,
        errors,
    })
}

/// The recorded view of `deployment`'s `state` (as read, without locking or changing it).
///
/// The workflow's steps show in graph order, including those that never ran.
///
/// # Errors
/// [`StateError::WrongKind`] when the state is of another workflow kind.
fn recorded(
    deployment: &Deployment,
    graph: &Graph,
    state: Option<StateFile>,
) -> Result<StatusReport, StateError> {
    let step_order = graph.display_order();
    let mut report = StatusReport {
        deployment: deployment.name().to_owned(),
        state_file: deployment.paths.state.display().to_string(),
        exists: state.is_some(),
        ..StatusReport::default()
    };
    let Some(state) = state else {
        report.steps = step_order.iter().map(|s| never_ran(s)).collect();
        return Ok(report);
    };
    if state.workflow != deployment.kind().name() {
        return Err(StateError::WrongKind {
            path: deployment.paths.state.clone(),
            found: state.workflow,
            expected: deployment.kind().name().to_owned(),
        });
    }
    report.serial = state.serial;
    report.lineage = Some(state.lineage.clone());
    report.updated_at = Some(state.updated_at.clone());
    report.torn_down_at = state
        .destroyed_at
        .clone()
        .filter(|_| !graph.has_up_records(&state));
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
