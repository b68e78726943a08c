//! `plink down`: tear the deployment down, in reverse order, only what plink created.
//!
//! The teardown graph (the workflow kind's graph reversed, [`crate::workflow::Graph::down_steps`])
//! runs on the same engine, under the same lock, as `up`: it can be interrupted or killed at any
//! point and run again. When every teardown step is done, one durable update clears the `up`
//! records (keeping the lineage, the serial, the teardown steps' own records, and the records of
//! what a teardown had to keep) and notes `destroyed_at`, so that `status` shows the deployment
//! as torn down. An NCC that had to be kept (workspaces still bound to it) stays in the state
//! with its binding, so that a later `down --rebind-to` can finish the job.

use std::sync::Arc;

use super::Deployment;
use crate::engine::{Engine, EventSink, Interrupt, RunReport, StepError};
use crate::resources::ncc::{Ncc, NccDown, NccOutcome, NccRecord, check_rebind_target};
use crate::resources::rule::{Rule, RuleDown};
use crate::resources::{DownOptions, Options};
use crate::state::{StateStore, now_rfc3339};
use crate::workflow::Graph;

/// What `plink down` did.
#[derive(Debug)]
pub enum DownOutcome {
    /// No state file: `plink up` never ran with this state, so plink created nothing (every
    /// create is preceded by a durable intent). Nothing was read, locked or written.
    NeverUp,
    /// The teardown graph ran; see the report.
    Ran(Box<DownReport>),
}

/// The result of a teardown run.
#[derive(Debug)]
pub struct DownReport {
    pub run: RunReport,
    /// What became of the NCC (absent when the state knew no NCC).
    pub ncc: Option<NccDown>,
    /// The private endpoint rules this run deleted (Databricks deactivates them).
    pub deleted_rules: Vec<String>,
    /// Whether this run changed anything (cloud or state); false for a repeated `down`.
    pub changed: bool,
    /// When the teardown completed (this run or an earlier one), if it did.
    pub destroyed_at: Option<String>,
}

impl DownReport {
    /// Every teardown step is done.
    pub fn succeeded(&self) -> bool {
        self.run.succeeded()
    }

    /// The NCC plink created is still there (bound workspaces or other rules).
    pub fn ncc_kept(&self) -> bool {
        self.ncc
            .as_ref()
            .is_some_and(|n| n.outcome == NccOutcome::Kept)
    }
}

/// Runs the teardown graph to completion, then clears the `up` records.
///
/// # Errors
/// Failures to start (state locked or unreadable, credentials missing, `--rebind-to` naming an
/// NCC that does not exist or is in another region — checked before anything is deleted); step
/// failures are in the returned report.
pub async fn run(
    deployment: &Deployment,
    options: &DownOptions,
    events: EventSink,
    interrupt: Interrupt,
) -> anyhow::Result<DownOutcome> {
    // Without a state file nothing can have been created (intents are written before every
    // create), and reading needs no lock: a concurrent `up` is simply ordered after this.
    if deployment.read_state().await?.is_none() {
        return Ok(DownOutcome::NeverUp);
    }
    let graph = deployment.graph();
    let store = Arc::new(deployment.open_state("down", false).await?);
    let serial_before = store.snapshot().serial;
    // What the report says about the NCC and the rules, wherever the kind's graph has them.
    let ncc_node = graph.node_of::<Ncc>();
    let rule_down = graph.node_of::<Rule>().map(|(_, down)| down);
    let rule_before: Option<RuleDown> = rule_down.and_then(|d| store.snapshot().outputs(d));
    let resources = Options {
        down: options.clone(),
        allow_lockout: options.allow_lockout,
        ..Options::default()
    };
    let env = Arc::new(
        super::up::connect_interruptible(deployment, resources, &interrupt, "down").await?,
    );
    if let Some(to) = &options.rebind_to {
        let own: Option<NccRecord> = ncc_node.and_then(|(ncc, _)| store.snapshot().outputs(ncc));
        if own.is_some_and(|n| &n.ncc_id == to) {
            return Err(StepError::needs_user(
                format!("--rebind-to names the deployment's own NCC ({to})"),
                "name another NCC of the same region to switch the workspaces to",
            )
            .into());
        }
        check_rebind_target(&env, to).await?;
    }
    let engine = Engine::new(graph.down_steps(&env))?
        .with_events(events)
        .with_interrupt(interrupt);
    let run = engine.run(store.clone()).await;
    let ncc: Option<NccDown> = ncc_node.and_then(|(_, down)| store.snapshot().outputs(down));
    let rule_after: Option<RuleDown> = rule_down.and_then(|d| store.snapshot().outputs(d));
    let deleted_rules = match rule_after {
        Some(after) if Some(&after) != rule_before.as_ref() => after.deleted_rule_ids,
        _ => Vec::new(),
    };
    if run.succeeded() {
        finish(&store, graph)?;
    }
    let state = store.snapshot();
    Ok(DownOutcome::Ran(Box::new(DownReport {
        run,
        ncc,
        deleted_rules,
        changed: state.serial != serial_before,
        destroyed_at: state
            .destroyed_at
            .clone()
            .filter(|_| !graph.has_up_records(&state)),
    })))
}

/// Clears the `up` records (but those of what a teardown kept) and notes `destroyed_at`, in one
/// durable write (none if there is nothing to clear: a repeated `down` leaves the file as it
/// was).
fn finish(store: &StateStore, graph: &Graph) -> anyhow::Result<()> {
    let state = store.snapshot();
    if state.destroyed_at.is_some() && !graph.has_up_records(&state) {
        return Ok(());
    }
    let kept = graph.kept_records(&state);
    store.update(|s| {
        for node in graph.node_ids() {
            if !kept.contains(&node) {
                s.steps.remove(node);
            }
        }
        s.destroyed_at = Some(now_rfc3339());
    })?;
    Ok(())
}
