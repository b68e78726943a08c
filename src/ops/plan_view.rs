//! The facts of a plan with stable names: what `plink plan --json` prints and the human output
//! is rendered from.

use serde::Serialize;

use super::Deployment;
use super::plan::{DestroyPlan, Plan};
use crate::engine::{PlanAction, PlanOutcome};
use crate::resources::TeardownAction;

/// A plan, ready to print.
#[derive(Debug, Clone, Serialize)]
pub struct PlanView {
    pub deployment: String,
    pub state_file: String,
    /// False when the deployment never ran (no state file yet).
    pub state_exists: bool,
    /// Whether `up` would change anything (the exit code is 10 then, 0 otherwise).
    pub changes: bool,
    pub summary: PlanSummary,
    pub steps: Vec<StepPlanView>,
    /// What the preflight found (issue #16): `up` would stop before changing anything, and
    /// the plan exits 4.
    pub preflight: Vec<super::preflight::PlacedFinding>,
}

/// How many steps got each action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    pub create: usize,
    pub adopt: usize,
    /// Changed in place: by `up`; with `--destroy`, by `down` (plink's part taken out of what
    /// is the user's, e.g. its statement out of a bucket policy).
    pub update: usize,
    pub replace: usize,
    pub wait: usize,
    pub later: usize,
    pub no_change: usize,
    /// Steps whose plan failed (`error` says why).
    pub failed: usize,
    /// Steps not planned because a dependency's plan failed.
    pub blocked: usize,
    /// `plan --destroy`: what `down` would delete, restore (put back as before plink), release
    /// (adopted: left in place), keep (an NCC still bound) and reject (connections). Zero in a
    /// plan of `up`.
    pub delete: usize,
    pub restore: usize,
    pub release: usize,
    pub keep: usize,
    pub reject: usize,
    /// Whether this counts a plan of `down` (`plan --destroy`): how [`line`](Self::line) words it.
    #[serde(skip)]
    pub destroy: bool,
}

/// One step of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct StepPlanView {
    pub step: String,
    /// What the step is about (its one-line description).
    pub resource: String,
    /// `no_change`, `create`, `adopt`, `update`, `replace`, `wait`, `later`, `failed`, `blocked`.
    pub action: String,
    /// What `up` would do and why (empty for `later` and `blocked`).
    pub detail: String,
    /// For `later`: the dependency that comes first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// For `blocked`: the dependency whose plan failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<String>,
    /// For `failed`: the error (with its hint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `plan --destroy`: the id `down` records for what it deletes, updates, restores, releases,
    /// keeps or rejects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl PlanView {
    /// The view of `plan` for `deployment`.
    pub fn new(deployment: &Deployment, plan: &Plan) -> Self {
        let mut summary = PlanSummary::default();
        let steps = plan
            .report
            .steps
            .iter()
            .map(|s| {
                let mut view = StepPlanView {
                    step: s.step.to_owned(),
                    resource: s.describe.clone(),
                    action: String::new(),
                    detail: String::new(),
                    after: None,
                    blocked_by: None,
                    error: None,
                    id: None,
                };
                match &s.outcome {
                    PlanOutcome::Planned(p) => {
                        *summary.count(&p.action) += 1;
                        view.action = p.action.name().to_owned();
                        view.detail = p.detail.clone();
                        if let PlanAction::Later { after } = &p.action {
                            view.after = Some((*after).to_owned());
                        }
                    }
                    PlanOutcome::Failed(e) => {
                        summary.failed += 1;
                        view.action = "failed".into();
                        view.error = Some(e.to_string());
                    }
                    PlanOutcome::Blocked { by } => {
                        summary.blocked += 1;
                        view.action = "blocked".into();
                        view.blocked_by = Some((*by).to_owned());
                    }
                }
                view
            })
            .collect();
        Self {
            deployment: deployment.name().to_owned(),
            state_file: deployment.paths.state.display().to_string(),
            state_exists: plan.state_exists,
            changes: plan.report.has_changes(),
            summary,
            steps,
            preflight: plan.preflight.findings.clone(),
        }
    }
}

impl PlanView {
    /// The view of what `plink down` would do (`plan --destroy`), in the shape of a plan: one
    /// step entry per thing `down` would delete, update, restore, release, keep or reject
    /// (`no_change` for a node with nothing left to tear down).
    pub fn destroy(deployment: &Deployment, plan: &DestroyPlan) -> Self {
        let mut summary = PlanSummary {
            destroy: true,
            ..PlanSummary::default()
        };
        let mut steps = Vec::new();
        for (step, resource, result) in &plan.steps {
            let entry = |action: &str| StepPlanView {
                step: step.clone(),
                resource: resource.clone(),
                action: action.to_owned(),
                detail: String::new(),
                after: None,
                blocked_by: None,
                error: None,
                id: None,
            };
            match result {
                Err(e) => {
                    summary.failed += 1;
                    steps.push(StepPlanView {
                        error: Some(e.to_string()),
                        ..entry("failed")
                    });
                }
                Ok(items) if items.is_empty() => {
                    summary.no_change += 1;
                    steps.push(StepPlanView {
                        detail: "nothing to tear down".into(),
                        ..entry("no_change")
                    });
                }
                Ok(items) => {
                    for t in items {
                        *match t.action {
                            TeardownAction::Delete => &mut summary.delete,
                            TeardownAction::Release => &mut summary.release,
                            TeardownAction::Keep => &mut summary.keep,
                            TeardownAction::Reject => &mut summary.reject,
                            TeardownAction::Update => &mut summary.update,
                            TeardownAction::Restore => &mut summary.restore,
                        } += 1;
                        steps.push(StepPlanView {
                            detail: t.detail.clone(),
                            id: Some(t.id.clone()),
                            ..entry(t.action.name())
                        });
                    }
                }
            }
        }
        Self {
            deployment: deployment.name().to_owned(),
            state_file: deployment.paths.state.display().to_string(),
            state_exists: plan.state_exists,
            changes: summary.tears_down() > 0,
            summary,
            steps,
            preflight: Vec::new(),
        }
    }
}

impl PlanSummary {
    /// How many things `down` would do (0 in a plan of `up`).
    fn tears_down(&self) -> usize {
        if !self.destroy {
            return 0;
        }
        self.delete + self.update + self.restore + self.release + self.keep + self.reject
    }

    fn count(&mut self, action: &PlanAction) -> &mut usize {
        match action {
            PlanAction::NoChange => &mut self.no_change,
            PlanAction::Create => &mut self.create,
            PlanAction::Adopt => &mut self.adopt,
            PlanAction::Update => &mut self.update,
            PlanAction::Replace => &mut self.replace,
            PlanAction::Wait => &mut self.wait,
            PlanAction::Later { .. } => &mut self.later,
        }
    }

    /// `3 to create, 0 to adopt, 1 to change, 0 to replace, 0 to wait on, 8 later, 1 unchanged`
    /// (the last counts only when not zero), or `no changes` when `up` would only read.
    pub fn line(&self) -> String {
        let always = [
            (self.create, "to create"),
            (self.adopt, "to adopt"),
            (self.update, "to change"),
            (self.replace, "to replace"),
            (self.wait, "to wait on"),
        ];
        if self.destroy {
            let failed = if self.failed > 0 {
                format!(", {} failed", self.failed)
            } else {
                String::new()
            };
            if self.tears_down() == 0 {
                return format!("down would do nothing: nothing left to tear down{failed}");
            }
            // What only some kinds' teardowns do is said when it happens.
            let some = [(self.update, "update"), (self.restore, "restore")]
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, what)| format!(", {what} {n}"))
                .collect::<String>();
            return format!(
                "down would delete {}{some}, release {}, keep {}, reject {} connection(s){failed}",
                self.delete, self.release, self.keep, self.reject,
            );
        }
        let if_any = [
            (self.later, "later (after their dependencies)"),
            (self.failed, "failed"),
            (self.blocked, "blocked"),
            (self.no_change, "unchanged"),
        ];
        let parts: Vec<String> = always
            .iter()
            .chain(if_any.iter().filter(|(n, _)| *n > 0))
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
        let total: usize = always.iter().chain(&if_any).map(|(n, _)| n).sum();
        if self.no_change == total {
            return format!("no changes: up would only read ({total} steps unchanged)");
        }
        parts.join(", ")
    }
}
