use clap::Args;

use super::{Target, each, exit, logging, render};
use crate::engine::{EventSink, Interrupt};
use crate::ops;

/// The command's name, for the advice to run it again.
const COMMAND: &str = "up";

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    target: Target,

    /// Allow binding the NCC to a workspace that is bound to another NCC (a binding can be
    /// switched, never removed).
    #[arg(long)]
    replace_ncc_binding: bool,
}

/// `plink up`: converge the deployments, with a live progress view.
pub async fn run(args: UpArgs) -> anyhow::Result<u8> {
    let options = ops::up::UpOptions {
        replace_ncc_binding: args.replace_ncc_binding,
    };
    each::run_live(
        COMMAND,
        args.target.load()?,
        args.target.parallel,
        |d, events, interrupt| {
            let options = options.clone();
            async move { one(&d, &options, events, interrupt).await }
        },
    )
    .await
}

async fn one(
    deployment: &ops::Deployment,
    options: &ops::up::UpOptions,
    events: EventSink,
    interrupt: Interrupt,
) -> anyhow::Result<u8> {
    let name = deployment.name();
    let report = ops::up::run(deployment, options, events, interrupt).await?;
    if report.interrupted() {
        eprintln!(
            "plink: {name}: interrupted; everything done so far is saved. Run `plink {COMMAND}` \
             again to resume."
        );
        return Ok(exit::INTERRUPTED);
    }
    let mut code = exit::OK;
    for (step, error) in report.failures() {
        eprintln!(
            "plink: {name}: step `{step}` failed: {}",
            render::step_error(error, COMMAND, logging::verbosity())
        );
        code = code.max(exit::step_code(error));
    }
    if code == exit::OK {
        eprintln!("plink: deployment {name} is up");
    }
    Ok(code)
}
