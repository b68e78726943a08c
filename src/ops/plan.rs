//! `plink plan`: what `up` would do now, from the workflow file, the state and the live
//! resources, without changing anything; and the same findings as drift for `plink status`.

use std::sync::Arc;
use std::time::Duration;

use super::Deployment;
use super::up::{UpOptions, connect};
use crate::engine::StepError;
use crate::engine::{Engine, PlanAction, PlanOutcome, PlanReport, RetryPolicy};
use crate::resources::{DownOptions, Env, Options, Teardown};
use crate::state::{StateFile, StateStore};
use crate::workflow::Graph;

/// A plan and what it was made from.
#[derive(Debug)]
pub struct Plan {
    pub report: PlanReport,
    /// False when the deployment never ran (no state file): everything is planned from scratch.
    pub state_exists: bool,
    /// What the preflight found (`up` would stop there, exit 4).
    pub preflight: super::preflight::Preflight,
}

/// Plans the deployment: what `plink up` with `options` would do now.
///
/// Takes the lock like `up` (a plan while another command changes the state is refused), but
/// the store refuses every write and no mutating call is made. A deployment that never ran
/// gets no state file, directory or lock file.
///
/// # Errors
/// Failures to start: the state is locked or unreadable, credentials are missing. A step whose
/// plan fails is in the report ([`PlanOutcome::Failed`]).
pub async fn run(deployment: &Deployment, options: &UpOptions) -> anyhow::Result<Plan> {
    let graph = deployment.graph();
    let store = Arc::new(deployment.open_state("plan", true).await?);
    // A state that was never written is the new one the store starts from (serial 0).
    let state_exists = store.snapshot().serial > 0;
    let env = Arc::new(connect(deployment, options.resources()).await?);
    // Issue #16: the findings `up` would stop with, then what it would do.
    let preflight = super::preflight::run(deployment, &env, &store).await;
    let engine = Engine::new(graph.up_steps(&env))?;
    Ok(Plan {
        report: engine.plan(store).await,
        state_exists,
        preflight,
    })
}

/// What `plink down` would do now (`plan --destroy`, issue #16), per teardown step.
#[derive(Debug)]
pub struct DestroyPlan {
    /// False when the deployment never ran: `down` has nothing to do.
    pub state_exists: bool,
    /// Per node that tears something down, in teardown order: its teardown step, what it is,
    /// and what `down` would do to it (or why that could not be read).
    pub steps: Vec<(String, String, Result<Vec<Teardown>, StepError>)>,
}

/// Plans the teardown: what `plink down` with `options` would do now (the
/// [`Teardown`](crate::resources::Teardown)s of each node), from each kind's own teardown
/// lookups. Locks and reads like [`run`]; writes and changes nothing.
///
/// # Errors
/// Failures to start: the state is locked or unreadable, credentials are missing.
pub async fn destroy(
    deployment: &Deployment,
    options: &DownOptions,
) -> anyhow::Result<DestroyPlan> {
    // As `down`: without a state file, `up` never ran and nothing was created.
    if deployment.read_state().await?.is_none() {
        return Ok(DestroyPlan {
            state_exists: false,
            steps: Vec::new(),
        });
    }
    let store = Arc::new(deployment.open_state("plan", true).await?);
    let resources = Options {
        down: options.clone(),
        ..Options::default()
    };
    let env = Arc::new(connect(deployment, resources).await?);
    let steps = deployment
        .graph()
        .teardown_plan(&env, &store)
        .await
        .into_iter()
        .map(|(step, what, plan)| (step.to_owned(), what, plan))
        .collect();
    Ok(DestroyPlan {
        state_exists: true,
        steps,
    })
}

/// What the plan finds out of place, for `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drift {
    /// One line per step `up` would act on: `step: action: detail`.
    pub lines: Vec<String>,
    /// Steps that could not be checked, with why.
    pub errors: Vec<String>,
}

/// The plan's findings on `state` as drift: every step whose plan is not "no change" (steps
/// planned later, after a dependency, are implied by that dependency's line).
///
/// Does not lock the state (`status` must work while `up` runs) and never writes it. Transient
/// errors are retried for at most 30 seconds.
pub async fn drift(
    env: Arc<Env>,
    graph: &Graph,
    deployment: &Deployment,
    state: StateFile,
) -> Drift {
    let store = Arc::new(StateStore::read_only(
        deployment.paths.clone(),
        state,
        "status",
    ));
    let engine = match Engine::new(graph.up_steps(&env)) {
        Ok(engine) => engine.with_retry(RetryPolicy {
            max_elapsed: Some(Duration::from_secs(30)),
            ..RetryPolicy::step_default()
        }),
        Err(e) => {
            return Drift {
                lines: Vec::new(),
                errors: vec![format!("drift: {e}")],
            };
        }
    };
    let report = engine.plan(store).await;
    let mut drift = Drift::default();
    for step in &report.steps {
        match &step.outcome {
            PlanOutcome::Planned(p)
                if p.action.is_change() && !matches!(p.action, PlanAction::Later { .. }) =>
            {
                drift
                    .lines
                    .push(format!("{}: {}: {}", step.step, p.action.name(), p.detail));
            }
            PlanOutcome::Planned(_) | PlanOutcome::Blocked { .. } => {}
            PlanOutcome::Failed(e) => drift.errors.push(format!(
                "drift of {}: {}",
                step.step,
                e.to_string().lines().next().unwrap_or_default()
            )),
        }
    }
    drift
}
