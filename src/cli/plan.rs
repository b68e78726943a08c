use clap::Args;

use super::{Target, each, exit, logging, render};
use crate::engine::StepError;
use crate::ops::{self, plan_view::PlanView};
use crate::resources::DownOptions;

// The command's help text is on `Command::Plan` in `cli/mod.rs`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    target: Target,

    /// Print the plan as JSON (the same facts: deployment, changes, summary, steps with step,
    /// resource, action, detail, after, blocked_by, error).
    #[arg(long)]
    json: bool,

    /// Plan the `up` these flags would run (`--replace-ncc-binding`: switching a workspace
    /// bound to another NCC is a change, not a stop).
    #[command(flatten)]
    flags: super::up::UpFlags,

    /// Plan `plink down` instead: what it would delete, release (adopted), keep (an NCC still
    /// bound, with the workspaces named) and reject (connections). Exit 10 when `down` would
    /// do anything, 0 when nothing is left.
    #[arg(long)]
    destroy: bool,

    /// With --destroy: plan `down --rebind-to NCC_ID`.
    #[arg(long, value_name = "NCC_ID", requires = "destroy")]
    rebind_to: Option<String>,

    /// With --destroy: plan `down --delete-adopted`.
    #[arg(long, requires = "destroy")]
    delete_adopted: bool,
}

/// `plink plan`: only reads. Exit code 0 when nothing would change, 10 when something would.
///
/// # Errors
/// The workflow file is invalid, the state is locked or unreadable, credentials are missing.
pub async fn run(args: PlanArgs) -> anyhow::Result<u8> {
    let options = &args.flags.options();
    let json = args.json;
    if args.destroy {
        let down = &DownOptions {
            rebind_to: args.rebind_to,
            delete_adopted: args.delete_adopted,
            allow_lockout: false,
        };
        return each::report(
            "plan",
            &args.target,
            json,
            |d| async move { destroy(&d, down, json).await },
            render,
        )
        .await;
    }
    each::report(
        "plan",
        &args.target,
        json,
        |d| async move { one(&d, options, json).await },
        render,
    )
    .await
}

/// The plan of one deployment and its exit code.
async fn one(
    deployment: &ops::Deployment,
    options: &ops::up::UpOptions,
    json: bool,
) -> anyhow::Result<(u8, PlanView)> {
    let plan = ops::plan::run(deployment, options).await?;
    let view = PlanView::new(deployment, &plan);
    let mut code = exit::OK;
    if !view.preflight.is_empty() {
        if !json {
            eprintln!(
                "plink: {}",
                ops::preflight::render(deployment.name(), &view.preflight)
            );
        }
        code = exit::STEP_FAILED;
    }
    // A step that cannot be planned for a problem the preflight just reported is not said
    // twice (issue #16: "says it once"); its exit code still counts.
    let (said, unsaid): (Vec<_>, Vec<_>) = plan.report.failures().partition(|(step, e)| {
        let text = e.to_string();
        view.preflight
            .iter()
            .any(|f| f.step == *step && text.starts_with(&f.finding.why))
    });
    for (_, e) in &said {
        code = code.max(exit::step_code(e));
    }
    let failures = unsaid
        .into_iter()
        .map(|(step, e)| (format!("step `{step}`"), e));
    let code = exit_code(deployment, "plan", code, failures, view.changes, json);
    Ok((code, view))
}

/// A plan's exit code: the highest of `code` (what came before: the preflight's 4) and of its
/// steps that could not be planned (each said on stderr unless `json`), else 10 when something
/// would change, else 0.
fn exit_code<'a>(
    deployment: &ops::Deployment,
    command: &str,
    mut code: u8,
    failures: impl Iterator<Item = (String, &'a StepError)>,
    changes: bool,
    json: bool,
) -> u8 {
    for (step, error) in failures {
        if !json {
            eprintln!(
                "plink: {}: {step} cannot be planned: {}",
                deployment.name(),
                render::step_error(error, command, logging::verbosity())
            );
        }
        code = code.max(exit::step_code(error));
    }
    if code == exit::OK && changes {
        code = exit::PLAN_HAS_CHANGES;
    }
    code
}

/// The teardown plan of one deployment and its exit code: as a plan's (4 when a step could not
/// be planned, 10 when `down` would do anything, else 0).
async fn destroy(
    deployment: &ops::Deployment,
    options: &DownOptions,
    json: bool,
) -> anyhow::Result<(u8, PlanView)> {
    let plan = ops::plan::destroy(deployment, options).await?;
    let view = PlanView::destroy(deployment, &plan);
    let failures = plan.steps.iter().filter_map(|(step, _, result)| {
        result
            .as_ref()
            .err()
            .map(|e| (format!("teardown step `{step}`"), e))
    });
    let code = exit_code(
        deployment,
        "plan --destroy",
        exit::OK,
        failures,
        view.changes,
        json,
    );
    Ok((code, view))
}

fn render(view: &PlanView) -> String {
    let mut out = format!(
        "plan for deployment {} ({})\n",
        view.deployment,
        if view.state_exists {
            format!("state {}", view.state_file)
        } else {
            format!("never run: no state at {}", view.state_file)
        }
    );
    // The step column is as wide as its longest name (`down_target_group_5432`, …).
    let w = view.steps.iter().map(|s| s.step.len()).max().unwrap_or(0);
    for s in &view.steps {
        let detail = match (s.action.as_str(), &s.after, &s.blocked_by, &s.error) {
            (_, Some(after), _, _) => format!("after {after}: {}", s.resource),
            (_, _, Some(by), _) => format!("not planned: `{by}` could not be planned"),
            (_, _, _, Some(error)) => error.lines().next().unwrap_or_default().to_owned(),
            _ => s.detail.clone(),
        };
        out.push_str(&format!(
            "  {:<10} {:<w$} {detail}\n",
            s.action.replace('_', " "),
            s.step
        ));
    }
    out.push_str(&view.summary.line());
    out.push('\n');
    out
}
