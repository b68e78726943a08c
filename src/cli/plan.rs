use clap::Args;

use super::{Target, each, exit, logging, render};
use crate::ops::{self, plan_view::PlanView};

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
}

/// `plink plan`: only reads. Exit code 0 when nothing would change, 10 when something would.
///
/// # Errors
/// The workflow file is invalid, the state is locked or unreadable, credentials are missing.
pub async fn run(args: PlanArgs) -> anyhow::Result<u8> {
    let options = &args.flags.options();
    let json = args.json;
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
    for (step, error) in plan.report.failures() {
        if !json {
            eprintln!(
                "plink: {}: step `{step}` cannot be planned: {}",
                deployment.name(),
                render::step_error(error, "plan", logging::verbosity())
            );
        }
        code = code.max(exit::step_code(error));
    }
    if code == exit::OK && view.changes {
        code = exit::PLAN_HAS_CHANGES;
    }
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
    for s in &view.steps {
        let detail = match (s.action.as_str(), &s.after, &s.blocked_by, &s.error) {
            (_, Some(after), _, _) => format!("after {after}: {}", s.resource),
            (_, _, Some(by), _) => format!("not planned: `{by}` could not be planned"),
            (_, _, _, Some(error)) => error.lines().next().unwrap_or_default().to_owned(),
            _ => s.detail.clone(),
        };
        out.push_str(&format!(
            "  {:<10} {:<17} {detail}\n",
            s.action.replace('_', " "),
            s.step
        ));
    }
    out.push_str(&view.summary.line());
    out.push('\n');
    out
}
