use async_trait::async_trait;

use super::{Planned, StepContext, StepError};

/// A step's name: stable, used as its key in the state file.
pub type StepId = &'static str;

/// One unit of a workflow.
///
/// # Contract
/// [`apply`](Step::apply) converges: it may be called any number of times, after any crash, and
/// must end in the same place without creating anything twice. In practice:
/// 1. look for the resource (recorded id, then tag or natural key; also after a pending intent);
/// 2. if missing, [`StepContext::begin`] an intent, make the call (with
///    [`StepContext::token`] where the API takes an idempotency token), and
///    [`StepContext::record`] the result at once;
/// 3. wait for the target state with [`StepContext::wait_for`].
///
/// Unknown future state values keep waiting; they are never success.
///
/// [`plan`](Step::plan) says what `apply` would do now, from the same lookups (a step's "find" is
/// one function both call), without any mutating call and without writing state: the engine
/// gives it a context whose store refuses every write.
#[async_trait]
pub trait Step: Send + Sync {
    /// The step's stable id.
    fn id(&self) -> StepId;

    /// The steps whose outputs this one needs.
    fn depends_on(&self) -> Vec<StepId>;

    /// The dependencies (among [`depends_on`](Step::depends_on)) this step needs only
    /// *recorded* — their resource created and its id in the state — not finished: the engine
    /// starts the step as soon as each of these has [recorded](StepContext::record) and every
    /// other dependency is done, while they go on waiting for their resource to be ready (issue
    /// #13: start each step at the earliest point the APIs allow). Teardown and plans still
    /// treat them as ordinary dependencies.
    fn early_deps(&self) -> Vec<StepId> {
        Vec::new()
    }

    /// One line saying what the step does, for progress display.
    fn describe(&self) -> String;

    /// Brings the step's resource to its target state.
    ///
    /// # Errors
    /// A [`StepError`] classified as retryable (retried by the engine), terminal, or needing the user.
    async fn apply(&self, cx: &StepContext) -> Result<(), StepError>;

    /// What [`apply`](Step::apply) would do now: create, adopt, change, wait, or nothing.
    ///
    /// Makes only read calls and never writes state (the store of a plan refuses writes). The
    /// engine calls it only when every dependency planned no change, an adoption, an update or a
    /// wait, so the dependencies' outputs (recorded, or planned with
    /// [`Planned::with_outputs`]) are there to read.
    ///
    /// Teardown steps are never planned (only the `up` graph is) and keep the default, which
    /// refuses; every `up` step overrides it (`tests/plan.rs` plans a converged deployment, so a
    /// missing override fails there).
    ///
    /// # Errors
    /// What `apply` would fail with for the same reason (a [`StepError`] needing the user, e.g. a
    /// name taken by a resource with other settings), or a read that failed.
    async fn plan(&self, cx: &StepContext) -> Result<Planned, StepError> {
        let _ = cx;
        Err(StepError::terminal(format!(
            "step `{}` cannot be planned",
            self.id()
        )))
    }
}
