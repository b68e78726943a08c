use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::{
    ErrorClass, EventKind, EventSink, Interrupt, Poll, StepError, StepId, WaitPolicy,
    idempotency_token,
};
use crate::state::{Intent, StateStore, StepStatus};

/// The outputs dependencies planned during one [`Engine::plan`](super::Engine::plan), by step.
pub(crate) type PlanOverlay = Arc<Mutex<BTreeMap<StepId, Map<String, Value>>>>;

/// What a running step can see and do: read other steps' outputs, persist intents and results,
/// derive idempotency tokens, wait, and report progress.
///
/// During a plan the store refuses every write, and [`output`](Self::output) sees what the
/// dependencies planned (their live values) over what they recorded.
#[derive(Clone)]
pub struct StepContext {
    step: StepId,
    store: Arc<StateStore>,
    events: EventSink,
    interrupt: Interrupt,
    planned: Option<PlanOverlay>,
    /// Told the step's id after each [`record`](Self::record) (the engine starts the steps
    /// that need this one only recorded, see [`Step::early_deps`](super::Step::early_deps)).
    recorded: Option<mpsc::UnboundedSender<StepId>>,
}

impl StepContext {
    pub(crate) fn new(
        step: StepId,
        store: Arc<StateStore>,
        events: EventSink,
        interrupt: Interrupt,
    ) -> Self {
        Self {
            step,
            store,
            events,
            interrupt,
            planned: None,
            recorded: None,
        }
    }

    /// This context, telling `recorded` each time the step records.
    pub(crate) fn telling(mut self, recorded: mpsc::UnboundedSender<StepId>) -> Self {
        self.recorded = Some(recorded);
        self
    }

    /// A context for [`Step::plan`](super::Step::plan): no events, and dependencies' planned
    /// outputs from `planned`.
    pub(crate) fn for_plan(step: StepId, store: Arc<StateStore>, planned: PlanOverlay) -> Self {
        Self {
            planned: Some(planned),
            ..Self::new(step, store, EventSink::none(), Interrupt::new())
        }
    }

    /// A context for a preflight (issue #16): a plan's, over `store` (read only), sharing
    /// `learned` with the other nodes' preflights ([`learned`](Self::learned)).
    pub(crate) fn for_preflight(
        step: StepId,
        store: Arc<StateStore>,
        learned: PlanOverlay,
    ) -> Self {
        Self::for_plan(step, store, learned)
    }

    /// During a preflight or plan: what a read-only lookup found of this step's resource, as
    /// its record would be, so that the preflights downstream check with real values (the VPC
    /// `network` resolved) before anything is recorded. Never written to the state.
    pub fn learned<T: Serialize>(&self, outputs: &T) {
        if let (Some(planned), Ok(Value::Object(map))) =
            (&self.planned, serde_json::to_value(outputs))
        {
            planned
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(self.step, map);
        }
    }

    /// Whether this context belongs to a plan (nothing may be changed).
    pub fn is_plan(&self) -> bool {
        self.planned.is_some()
    }

    /// The step this context belongs to.
    pub fn step(&self) -> StepId {
        self.step
    }

    /// The outputs `dependency` recorded, as `T`; during a plan, with what it planned on top.
    ///
    /// # Errors
    /// Terminal if the dependency recorded nothing or something that is not a `T` (a bug in the
    /// workflow graph, or a state file edited by hand).
    pub fn output<T: DeserializeOwned>(&self, dependency: StepId) -> Result<T, StepError> {
        let mut outputs = self.outputs_of(dependency);
        if let Some(planned) = &self.planned
            && let Some(live) = planned
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(dependency)
        {
            outputs.extend(live.clone());
        }
        serde_json::from_value(Value::Object(outputs)).map_err(|e| {
            StepError::terminal(format!(
                "step `{}` needs the outputs of `{dependency}`, which are missing or malformed in the state file: {e}",
                self.step
            ))
        })
    }

    /// This step's own recorded outputs as `T`, or `None` if they do not (yet) form a `T`.
    pub fn recorded<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_value(Value::Object(self.outputs_of(self.step))).ok()
    }

    /// What `step` recorded (empty when nothing), without a plan's overlay.
    pub fn outputs_of(&self, step: &str) -> Map<String, Value> {
        self.store
            .snapshot()
            .step(step)
            .map(|r| r.outputs.clone())
            .unwrap_or_default()
    }

    /// The intent a previous run wrote and never resolved: its call may or may not have happened.
    pub fn pending_intent(&self) -> Option<Intent> {
        self.intent_of(self.step)
    }

    /// The intent `step` left unresolved, if any: a teardown looks for what that call may have
    /// created before its result was recorded.
    pub fn intent_of(&self, step: StepId) -> Option<Intent> {
        self.store
            .snapshot()
            .step(step)
            .and_then(|r| r.intent.clone())
    }

    /// The deterministic idempotency token for `purpose` in this step (see [`idempotency_token`]).
    pub fn token(&self, purpose: &str) -> String {
        let state = self.store.snapshot();
        let generation = state.step(self.step).map_or(0, |r| r.generation);
        idempotency_token(&state.lineage, self.step, purpose, generation)
    }

    /// Persists `intent` (fsynced) before a mutating call.
    ///
    /// # Errors
    /// [`StepError::State`] if the state cannot be written: the call must then not be made.
    pub fn begin(&self, intent: Intent) -> Result<(), StepError> {
        self.events.emit(
            self.step,
            EventKind::Note(format!("{} ...", intent.action.replace('_', " "))),
        );
        self.store.update(|s| {
            let rec = s.step_mut(self.step);
            rec.intent = Some(intent);
            rec.status = StepStatus::Running;
        })?;
        Ok(())
    }

    /// Merges `outputs` (a struct or map serializing to an object) into this step's record and
    /// resolves any pending intent, in one durable write. Writes nothing if nothing changed, so a
    /// converged run leaves the state file as it was.
    ///
    /// # Errors
    /// [`StepError::State`] if the state cannot be written.
    pub fn record<T: Serialize>(&self, outputs: &T) -> Result<(), StepError> {
        let new = match serde_json::to_value(outputs) {
            Ok(Value::Object(map)) => map,
            Ok(other) => {
                return Err(StepError::terminal(format!(
                    "step `{}` recorded a non-object: {other}",
                    self.step
                )));
            }
            Err(e) => {
                return Err(StepError::terminal(format!(
                    "step `{}` outputs do not serialize: {e}",
                    self.step
                )));
            }
        };
        let current = self.store.snapshot();
        let rec = current.step(self.step);
        let unchanged = rec.is_some_and(|r| {
            r.intent.is_none() && new.iter().all(|(k, v)| r.outputs.get(k) == Some(v))
        });
        if !unchanged {
            self.store.update(|s| {
                let rec = s.step_mut(self.step);
                rec.outputs.extend(new);
                rec.intent = None;
                rec.updated_at = crate::state::now_rfc3339();
            })?;
        }
        if let Some(tx) = &self.recorded {
            // The engine may have finished its loop (the run is ending): nobody to tell.
            let _ = tx.send(self.step);
        }
        Ok(())
    }

    /// Forgets everything this step recorded because the resource it describes is gone, and
    /// moves to a new generation so the next create uses a fresh idempotency token.
    ///
    /// # Errors
    /// [`StepError::State`] if the state cannot be written.
    pub fn forget_all(&self) -> Result<(), StepError> {
        self.store.update(|s| {
            let rec = s.step_mut(self.step);
            rec.outputs.clear();
            rec.intent = None;
            rec.generation += 1;
        })?;
        Ok(())
    }

    /// Says something about progress (shown live and in the logs).
    pub fn note(&self, message: impl Into<String>) {
        self.events.emit(self.step, EventKind::Note(message.into()));
    }

    /// Whether the user asked to stop.
    pub fn interrupted(&self) -> bool {
        self.interrupt.is_triggered()
    }

    /// Polls `probe` until it reports [`Poll::Ready`]: at once, then as `policy` says (none
    /// before its prior, then every 10 % of the time waited, capped), for at most
    /// `policy.timeout`.
    ///
    /// Retryable probe errors (throttling, a network blip) count as "not yet" and polling goes on;
    /// other errors end the wait. Ctrl-C ends it with [`StepError::Interrupted`] between polls.
    ///
    /// # Errors
    /// [`StepError::Timeout`] naming `what` and the last state seen; the probe's own error;
    /// [`StepError::Interrupted`].
    pub async fn wait_for<T, F, Fut>(
        &self,
        what: &str,
        policy: &WaitPolicy,
        probe: F,
    ) -> Result<T, StepError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Poll<T>, StepError>>,
    {
        self.poll_until(what, policy, None, probe).await
    }

    /// [`wait_for`](Self::wait_for) when the caller has just looked and seen `seen` (not
    /// ready): the first poll is the policy's first, not an immediate look that could only
    /// see the same (issue #13: no request that cannot tell anything new).
    ///
    /// # Errors
    /// As [`wait_for`](Self::wait_for).
    pub async fn wait_after<T, F, Fut>(
        &self,
        what: &str,
        policy: &WaitPolicy,
        seen: String,
        probe: F,
    ) -> Result<T, StepError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Poll<T>, StepError>>,
    {
        self.poll_until(what, policy, Some(seen), probe).await
    }

    async fn poll_until<T, F, Fut>(
        &self,
        what: &str,
        policy: &WaitPolicy,
        seen: Option<String>,
        mut probe: F,
    ) -> Result<T, StepError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Poll<T>, StepError>>,
    {
        let started = Instant::now();
        let mut last_seen = String::from("nothing yet");
        let mut answer = seen.map(Poll::Pending);
        loop {
            let polled = match answer.take() {
                Some(seen) => Ok(seen),
                None => probe().await,
            };
            match polled {
                Ok(Poll::Ready(value)) => return Ok(value),
                Ok(Poll::Pending(seen)) => {
                    if seen != last_seen {
                        self.events.emit(
                            self.step,
                            EventKind::Waiting {
                                what: what.to_owned(),
                                last_seen: seen.clone(),
                            },
                        );
                    }
                    last_seen = seen;
                }
                Err(e) if e.class() == ErrorClass::Retryable => {
                    last_seen = format!("transient error: {e}");
                }
                Err(e) => return Err(e),
            }
            let waited = started.elapsed();
            if waited >= policy.timeout {
                return Err(StepError::Timeout {
                    what: what.to_owned(),
                    waited,
                    last_seen,
                });
            }
            let delay = policy.next_delay(waited).min(policy.timeout - waited);
            self.pause(delay).await?;
        }
    }

    /// Sleeps `delay` unless interrupted first.
    ///
    /// # Errors
    /// [`StepError::Interrupted`] if Ctrl-C arrives.
    pub async fn pause(&self, delay: std::time::Duration) -> Result<(), StepError> {
        if self.interrupted() {
            return Err(StepError::Interrupted);
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => Ok(()),
            _ = self.interrupt.triggered() => Err(StepError::Interrupted),
        }
    }

    /// Records the step's status (and error), writing only when something changes.
    pub(crate) fn set_status(
        &self,
        status: StepStatus,
        error: Option<String>,
    ) -> Result<(), StepError> {
        let snapshot = self.store.snapshot();
        if let Some(rec) = snapshot.step(self.step)
            && rec.status == status
            && rec.error == error
        {
            return Ok(());
        }
        self.store.update(|s| {
            let rec = s.step_mut(self.step);
            rec.status = status;
            rec.error = error;
            rec.updated_at = crate::state::now_rfc3339();
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::{Duration, Instant};

    use super::{EventSink, Interrupt, Poll, StepContext, WaitPolicy};
    use crate::state::{StatePaths, StateStore};

    fn context(dir: &std::path::Path) -> StepContext {
        let store =
            StateStore::open(StatePaths::for_deployment(dir, "d"), "d", "w", "up").expect("state");
        StepContext::new("s", Arc::new(store), EventSink::none(), Interrupt::new())
    }

    /// `wait_for` looks at once; `wait_after` (the caller just looked) first at the prior.
    #[tokio::test]
    async fn wait_after_skips_the_look_at_once_that_wait_for_makes() {
        let dir = tempfile::tempdir().unwrap();
        let cx = context(dir.path());
        let prior = Duration::from_millis(200);
        let policy = WaitPolicy::new(prior, prior, Duration::from_secs(5));
        for after in [false, true] {
            let (looks, start) = (AtomicU32::new(0), Instant::now());
            let first = std::sync::Mutex::new(None);
            let probe = || async {
                first.lock().unwrap().get_or_insert(start.elapsed());
                Ok(match looks.fetch_add(1, Ordering::SeqCst) {
                    0 if !after => Poll::Pending("not yet".to_owned()),
                    _ => Poll::Ready(()),
                })
            };
            if after {
                cx.wait_after("it", &policy, "not yet".into(), probe).await
            } else {
                cx.wait_for("it", &policy, probe).await
            }
            .unwrap();
            let first = first.lock().unwrap().expect("looked");
            if after {
                assert_eq!(looks.load(Ordering::SeqCst), 1, "one look, at the prior");
                assert!(first >= prior, "first look after {first:?}");
            } else {
                assert_eq!(
                    looks.load(Ordering::SeqCst),
                    2,
                    "at once, then at the prior"
                );
                assert!(first < prior, "first look after {first:?}");
            }
        }
    }
}
