//! The durable step engine.
//!
//! A workflow is a graph of [`Step`]s with explicit dependencies. [`Engine::run`] starts every
//! step whose dependencies are done, so independent steps run concurrently. Each step is
//! level-triggered (field notes §C.3–C.4, kops/kube-rs): it looks for what exists (recorded id,
//! then tag or natural key), creates only what is missing — writing an [`Intent`](crate::state::Intent)
//! first and its result right after — and then waits for the target state. Running a step again
//! is always safe, which is what makes a killed run resumable: the next run simply runs the graph
//! again, and steps that are already converged only read.
//!
//! [`Engine::plan`] asks every step what `apply` would do now ([`Step::plan`]) against a store
//! that refuses writes, in dependency order, without any mutating call.

mod condition;
mod context;
mod error;
mod events;
mod interrupt;
mod plan;
mod planner;
mod retry;
mod run;
mod step;
mod token;
mod wait;

pub use condition::{And, Condition, Or, Readiness};
pub(crate) use context::PlanOverlay;
pub use context::StepContext;
pub use error::{Cause, EngineError, ErrorClass, Resume, StepError};
pub use events::{Event, EventKind, EventSink};
pub use interrupt::Interrupt;
pub use plan::{PlanAction, PlanOutcome, PlanReport, Planned, StepPlan};
pub use retry::RetryPolicy;
pub use run::{Engine, RunReport, StepOutcome};
pub use step::{Step, StepId};
pub use token::idempotency_token;
pub use wait::{Poll, WaitPolicy};
