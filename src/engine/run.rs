use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backoff::backoff::Backoff;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::mpsc;

use super::{
    EngineError, ErrorClass, EventKind, EventSink, Interrupt, RetryPolicy, Step, StepContext,
    StepError, StepId,
};
use crate::state::{StateStore, StepStatus};

/// Runs a workflow graph against one deployment's state.
pub struct Engine {
    pub(super) steps: Vec<Arc<dyn Step>>,
    pub(super) retry: RetryPolicy,
    events: EventSink,
    interrupt: Interrupt,
}

/// How one step ended in a run.
#[derive(Debug)]
pub enum StepOutcome {
    Done,
    Failed(StepError),
    /// Not started because a dependency failed.
    Blocked {
        by: StepId,
    },
    /// Stopped (or never started) because of Ctrl-C.
    Interrupted,
}

/// The result of a run, step by step, in graph order.
#[derive(Debug)]
pub struct RunReport {
    pub outcomes: Vec<(StepId, StepOutcome)>,
}

impl RunReport {
    /// Every step is done.
    pub fn succeeded(&self) -> bool {
        self.outcomes
            .iter()
            .all(|(_, o)| matches!(o, StepOutcome::Done))
    }

    /// The run was stopped by Ctrl-C.
    pub fn interrupted(&self) -> bool {
        self.outcomes
            .iter()
            .any(|(_, o)| matches!(o, StepOutcome::Interrupted))
    }

    /// The steps that failed, with their errors.
    pub fn failures(&self) -> impl Iterator<Item = (StepId, &StepError)> {
        self.outcomes.iter().filter_map(|(id, o)| match o {
            StepOutcome::Failed(e) => Some((*id, e)),
            _ => None,
        })
    }
}

impl Engine {
    /// An engine for `steps`, checked for unknown dependencies, duplicates and cycles.
    ///
    /// # Errors
    /// [`EngineError`] describing the first graph defect found.
    pub fn new(steps: Vec<Arc<dyn Step>>) -> Result<Self, EngineError> {
        let mut ids = BTreeSet::new();
        if let Some(dup) = steps.iter().map(|s| s.id()).find(|id| !ids.insert(*id)) {
            return Err(EngineError::DuplicateStep(dup.to_owned()));
        }
        for s in &steps {
            for d in s.depends_on() {
                if !ids.contains(d) {
                    return Err(EngineError::UnknownDependency {
                        step: s.id().to_owned(),
                        dependency: d.to_owned(),
                    });
                }
            }
        }
        check_acyclic(&steps)?;
        Ok(Self {
            steps,
            retry: RetryPolicy::step_default(),
            events: EventSink::none(),
            interrupt: Interrupt::new(),
        })
    }

    /// How transient step errors are retried.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Where progress events go.
    pub fn with_events(mut self, events: EventSink) -> Self {
        self.events = events;
        self
    }

    /// The stop signal (Ctrl-C) this run obeys.
    pub fn with_interrupt(mut self, interrupt: Interrupt) -> Self {
        self.interrupt = interrupt;
        self
    }

    /// Runs every step whose dependencies are done, concurrently, until all are done, one fails
    /// (its dependents are then blocked, independent branches go on), or Ctrl-C.
    ///
    /// # Guarantees
    /// Everything a step recorded before it stopped is in the state file; running the graph again
    /// resumes from there.
    pub async fn run(&self, store: Arc<StateStore>) -> RunReport {
        let by_id: BTreeMap<StepId, Arc<dyn Step>> =
            self.steps.iter().map(|s| (s.id(), s.clone())).collect();
        // Per step, the dependencies it still waits for: done, or only recorded for its
        // early dependencies.
        let mut waiting_on: BTreeMap<StepId, BTreeSet<StepId>> = self
            .steps
            .iter()
            .map(|s| (s.id(), s.depends_on().into_iter().collect()))
            .collect();
        let early: BTreeMap<StepId, Vec<StepId>> = self
            .steps
            .iter()
            .map(|s| (s.id(), s.early_deps()))
            .collect();
        let mut started: BTreeSet<StepId> = BTreeSet::new();
        let mut outcomes: BTreeMap<StepId, StepOutcome> = BTreeMap::new();
        let mut running = FuturesUnordered::new();
        let (recorded_tx, mut recorded_rx) = mpsc::unbounded_channel::<StepId>();

        let mut ready: Vec<StepId> = self
            .steps
            .iter()
            .filter(|s| s.depends_on().is_empty())
            .map(|s| s.id())
            .collect();
        loop {
            for id in ready.drain(..) {
                if !started.insert(id) {
                    continue;
                }
                if self.interrupt.is_triggered() {
                    outcomes.insert(id, StepOutcome::Interrupted);
                    continue;
                }
                let step = by_id[id].clone();
                let cx = StepContext::new(
                    id,
                    store.clone(),
                    self.events.clone(),
                    self.interrupt.clone(),
                )
                .telling(recorded_tx.clone());
                running.push(async move {
                    let outcome = self.run_step(step.as_ref(), &cx).await;
                    (id, outcome)
                });
            }
            // A step that recorded satisfies its early dependents; one that is done, all.
            let (id, satisfies_all) = tokio::select! {
                next = running.next() => {
                    let Some((id, outcome)) = next else { break };
                    let done = matches!(outcome, StepOutcome::Done);
                    outcomes.insert(id, outcome);
                    if !done {
                        continue;
                    }
                    (id, true)
                }
                Some(id) = recorded_rx.recv() => (id, false),
            };
            for (step, deps) in &mut waiting_on {
                if started.contains(step) || !deps.contains(id) {
                    continue;
                }
                if satisfies_all || early[step].contains(&id) {
                    deps.remove(id);
                    if deps.is_empty() {
                        ready.push(step);
                    }
                }
            }
        }

        // Whatever did not run was blocked by a failed dependency, or by the interrupt.
        for s in &self.steps {
            if outcomes.contains_key(s.id()) {
                continue;
            }
            let outcome = match blocking_dependency(s.as_ref(), &outcomes) {
                Some(by) => {
                    self.events
                        .emit(s.id(), EventKind::Blocked { by: by.to_owned() });
                    StepOutcome::Blocked { by }
                }
                None => StepOutcome::Interrupted,
            };
            outcomes.insert(s.id(), outcome);
        }
        let outcomes = self
            .steps
            .iter()
            .map(|s| {
                (
                    s.id(),
                    outcomes.remove(s.id()).expect("every step has an outcome"),
                )
            })
            .collect();
        RunReport { outcomes }
    }

    async fn run_step(&self, step: &dyn Step, cx: &StepContext) -> StepOutcome {
        let id = step.id();
        let started = Instant::now();
        self.events.emit(
            id,
            EventKind::Started {
                description: step.describe(),
            },
        );
        let mut backoff = self.retry.backoff();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let err = match step.apply(cx).await {
                Ok(()) => {
                    if let Err(e) = cx.set_status(StepStatus::Done, None) {
                        return self.failed(id, e);
                    }
                    self.events.emit(id, EventKind::Finished);
                    tracing::debug!(step = id, elapsed = ?started.elapsed(), "step done");
                    return StepOutcome::Done;
                }
                Err(StepError::Interrupted) => {
                    self.events.emit(id, EventKind::Interrupted);
                    return StepOutcome::Interrupted;
                }
                Err(e) => e,
            };
            if err.class() != ErrorClass::Retryable {
                let _ = cx.set_status(StepStatus::Failed, Some(err.to_string()));
                return self.failed(id, err);
            }
            let Some(delay) = backoff.next_backoff() else {
                let err = StepError::RetriesExhausted {
                    attempts: attempt,
                    elapsed: Duration::from_secs(started.elapsed().as_secs()),
                    last: Box::new(err),
                };
                let _ = cx.set_status(StepStatus::Failed, Some(err.to_string()));
                return self.failed(id, err);
            };
            self.events.emit(
                id,
                EventKind::Retrying {
                    attempt,
                    delay,
                    error: err.to_string(),
                },
            );
            if cx.pause(delay).await.is_err() {
                self.events.emit(id, EventKind::Interrupted);
                return StepOutcome::Interrupted;
            }
        }
    }

    fn failed(&self, id: StepId, err: StepError) -> StepOutcome {
        self.events.emit(
            id,
            EventKind::Failed {
                error: err.to_string(),
            },
        );
        StepOutcome::Failed(err)
    }
}

fn blocking_dependency(
    step: &dyn Step,
    outcomes: &BTreeMap<StepId, StepOutcome>,
) -> Option<StepId> {
    step.depends_on().into_iter().find(|d| {
        matches!(
            outcomes.get(d),
            Some(StepOutcome::Failed(_) | StepOutcome::Blocked { .. })
        )
    })
}

fn check_acyclic(steps: &[Arc<dyn Step>]) -> Result<(), EngineError> {
    // Kahn's algorithm: whatever cannot be ordered is on a cycle.
    let mut indegree: BTreeMap<StepId, usize> = steps
        .iter()
        .map(|s| (s.id(), s.depends_on().len()))
        .collect();
    let mut queue: Vec<StepId> = indegree
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(id, _)| *id)
        .collect();
    let mut ordered = 0;
    while let Some(id) = queue.pop() {
        ordered += 1;
        for s in steps {
            if s.depends_on().contains(&id) {
                let n = indegree.get_mut(s.id()).expect("known");
                *n -= 1;
                if *n == 0 {
                    queue.push(s.id());
                }
            }
        }
    }
    if ordered == steps.len() {
        return Ok(());
    }
    let stuck = indegree
        .iter()
        .find(|(_, n)| **n > 0)
        .map(|(id, _)| *id)
        .unwrap_or_default();
    Err(EngineError::Cycle(stuck.to_owned()))
}
