//! The vocabulary of a plan: what `apply` would do to each step, and the report of a whole graph.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{StepError, StepId};

/// What `apply` would do to a step's resource now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanAction {
    /// Everything is as it should be: `apply` would only read.
    NoChange,
    /// Missing (never made, or deleted out of band): `apply` would create it.
    Create,
    /// It exists but is not recorded (found by tag or natural key, or the user's own): `apply`
    /// would record it instead of creating another.
    Adopt,
    /// It exists but differs (drift, or the workflow file changed): `apply` would change it in
    /// place.
    Update,
    /// It exists but can never become right (e.g. a rejected rule): `apply` would delete it and
    /// make a new one.
    Replace,
    /// It exists and is right so far, but `apply` would still act or wait on it (a rule
    /// `PENDING`, a resource provisioning), or stop and ask the user (the detail says what).
    Wait,
    /// A dependency will be created or replaced, so this step cannot be evaluated yet.
    Later {
        /// The dependency that comes first.
        after: StepId,
    },
}

impl PlanAction {
    /// The stable name used in `--json` and in the summary.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NoChange => "no_change",
            Self::Create => "create",
            Self::Adopt => "adopt",
            Self::Update => "update",
            Self::Replace => "replace",
            Self::Wait => "wait",
            Self::Later { .. } => "later",
        }
    }

    /// Whether `up` would do something here. Only [`NoChange`](Self::NoChange) is not a change;
    /// [`Wait`](Self::Wait) is (up would still wait or stop).
    pub fn is_change(&self) -> bool {
        !matches!(self, Self::NoChange)
    }

    /// Whether the steps after this one must be planned [`Later`](Self::Later): their inputs
    /// do not exist yet.
    pub fn defers_dependents(&self) -> bool {
        matches!(self, Self::Create | Self::Replace | Self::Later { .. })
    }
}

/// A step's plan: the action, one line saying why or what, and the outputs `apply` would
/// record when they can be known without changing anything.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub action: PlanAction,
    /// E.g. `recorded NLB plink-demo-s3 is gone`, `register 10.20.1.7; deregister 10.20.1.9`.
    pub detail: String,
    /// What `apply` would record (the live values), read by dependents' plans through
    /// [`StepContext::output`](super::StepContext::output) instead of older or missing records.
    pub outputs: Option<Map<String, Value>>,
}

impl Planned {
    /// A plan of `action` saying `detail`.
    pub fn new(action: PlanAction, detail: impl Into<String>) -> Self {
        Self {
            action,
            detail: detail.into(),
            outputs: None,
        }
    }

    pub fn no_change(detail: impl Into<String>) -> Self {
        Self::new(PlanAction::NoChange, detail)
    }

    pub fn create(detail: impl Into<String>) -> Self {
        Self::new(PlanAction::Create, detail)
    }

    pub fn adopt(detail: impl Into<String>) -> Self {
        Self::new(PlanAction::Adopt, detail)
    }

    pub fn update(detail: impl Into<String>) -> Self {
        Self::new(PlanAction::Update, detail)
    }

    pub fn replace(detail: impl Into<String>) -> Self {
        Self::new(PlanAction::Replace, detail)
    }

    pub fn wait(detail: impl Into<String>) -> Self {
        Self::new(PlanAction::Wait, detail)
    }

    /// The outputs `apply` would record (a struct or map serializing to an object; anything else
    /// is ignored).
    pub fn with_outputs<T: Serialize>(mut self, outputs: &T) -> Self {
        if let Ok(Value::Object(map)) = serde_json::to_value(outputs) {
            self.outputs = Some(map);
        }
        self
    }
}

/// How one step came out of a plan.
#[derive(Debug)]
pub enum PlanOutcome {
    Planned(Planned),
    /// The step's plan failed: `apply` would fail the same way, or a read failed.
    Failed(StepError),
    /// Not evaluated because a dependency's plan failed.
    Blocked {
        by: StepId,
    },
}

/// One step of a plan, in graph order.
#[derive(Debug)]
pub struct StepPlan {
    pub step: StepId,
    /// The step's one-line description (what resource it is about).
    pub describe: String,
    pub outcome: PlanOutcome,
}

impl StepPlan {
    /// The planned action, if the step was planned.
    pub fn action(&self) -> Option<&PlanAction> {
        match &self.outcome {
            PlanOutcome::Planned(p) => Some(&p.action),
            _ => None,
        }
    }
}

/// The plan of a whole graph, step by step, in definition order.
#[derive(Debug)]
pub struct PlanReport {
    pub steps: Vec<StepPlan>,
}

impl PlanReport {
    /// Whether `up` would change anything (a failed or blocked step counts: `up` would not
    /// converge either).
    pub fn has_changes(&self) -> bool {
        self.steps
            .iter()
            .any(|s| s.action().is_none_or(PlanAction::is_change))
    }

    /// The steps whose plan failed, with their errors.
    pub fn failures(&self) -> impl Iterator<Item = (StepId, &StepError)> {
        self.steps.iter().filter_map(|s| match &s.outcome {
            PlanOutcome::Failed(e) => Some((s.step, e)),
            _ => None,
        })
    }

    /// The plan of `step`, if it is in the graph.
    pub fn step(&self, step: &str) -> Option<&StepPlan> {
        self.steps.iter().find(|s| s.step == step)
    }
}
