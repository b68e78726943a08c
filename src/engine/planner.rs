//! [`Engine::plan`]: every step's [`Step::plan`], in dependency order, against a read-only store.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use backoff::backoff::Backoff;
use futures::stream::{FuturesUnordered, StreamExt};

use super::context::PlanOverlay;
use super::{
    Engine, ErrorClass, PlanAction, PlanOutcome, PlanReport, Planned, Step, StepContext, StepId,
    StepPlan,
};
use crate::state::StateStore;

impl Engine {
    /// What [`run`](Engine::run) would do now, step by step, without changing anything.
    ///
    /// Steps are evaluated in dependency order, independent ones concurrently. A step whose
    /// dependency plans to create or replace its resource (or is itself planned later) is
    /// [`PlanAction::Later`] without being asked: its inputs do not exist yet. A step whose
    /// dependency's plan failed is [`PlanOutcome::Blocked`]. Otherwise its [`Step::plan`] runs,
    /// seeing the dependencies' planned outputs ([`Planned::with_outputs`]) over their records.
    /// Transient errors are retried like in a run.
    ///
    /// # Guarantees
    /// Nothing is written: give it a store opened with
    /// [`StateStore::open_read_only`](crate::state::StateStore::open_read_only) (or
    /// [`StateStore::read_only`](crate::state::StateStore::read_only)), which refuses every
    /// write, so even a step that tried would fail instead of writing.
    pub async fn plan(&self, store: Arc<StateStore>) -> PlanReport {
        let overlay = PlanOverlay::default();
        let mut outcomes: BTreeMap<StepId, PlanOutcome> = BTreeMap::new();
        let mut started: BTreeSet<StepId> = BTreeSet::new();
        let mut running = FuturesUnordered::new();
        loop {
            // Decide every step whose dependencies are all decided; decisions made without
            // asking the step (later, blocked) may unlock more steps at once.
            let mut progressed = true;
            while progressed {
                progressed = false;
                for step in &self.steps {
                    let id = step.id();
                    let deps = step.depends_on();
                    if started.contains(id) || !deps.iter().all(|d| outcomes.contains_key(d)) {
                        continue;
                    }
                    started.insert(id);
                    if let Some(decided) = decided_by_dependencies(&deps, &outcomes) {
                        outcomes.insert(id, decided);
                        progressed = true;
                        continue;
                    }
                    let cx = StepContext::for_plan(id, store.clone(), overlay.clone());
                    let step = step.clone();
                    running.push(async move { (id, self.plan_step(step.as_ref(), &cx).await) });
                }
            }
            let Some((id, outcome)) = running.next().await else {
                break;
            };
            if let PlanOutcome::Planned(Planned {
                outputs: Some(outputs),
                ..
            }) = &outcome
            {
                overlay
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id, outputs.clone());
            }
            outcomes.insert(id, outcome);
        }
        let steps = self
            .steps
            .iter()
            .map(|s| StepPlan {
                step: s.id(),
                describe: s.describe(),
                outcome: outcomes
                    .remove(s.id())
                    .expect("an acyclic graph plans every step"),
            })
            .collect();
        PlanReport { steps }
    }

    async fn plan_step(&self, step: &dyn Step, cx: &StepContext) -> PlanOutcome {
        let mut backoff = self.retry.backoff();
        loop {
            match step.plan(cx).await {
                Ok(planned) => return PlanOutcome::Planned(planned),
                Err(e) if e.class() == ErrorClass::Retryable => match backoff.next_backoff() {
                    Some(delay) => {
                        tracing::debug!(step = step.id(), error = %e, ?delay, "plan retrying");
                        tokio::time::sleep(delay).await;
                    }
                    None => return PlanOutcome::Failed(e),
                },
                Err(e) => return PlanOutcome::Failed(e),
            }
        }
    }
}

/// The outcome of a step that its dependencies decide: blocked by a failed one, or later
/// than one that will be created or replaced. `None`: the step must be asked.
fn decided_by_dependencies(
    deps: &[StepId],
    outcomes: &BTreeMap<StepId, PlanOutcome>,
) -> Option<PlanOutcome> {
    let planned = |d: &StepId| match &outcomes[d] {
        PlanOutcome::Planned(p) => Some(&p.action),
        _ => None,
    };
    if let Some(&by) = deps.iter().find(|d| planned(d).is_none()) {
        return Some(PlanOutcome::Blocked { by });
    }
    deps.iter()
        .find(|d| planned(d).is_some_and(PlanAction::defers_dependents))
        .map(|&after| PlanOutcome::Planned(Planned::new(PlanAction::Later { after }, "")))
}
