use clap::Args;

use super::{Target, exit, progress};
use crate::engine::{EventSink, Interrupt};
use crate::ops;

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    target: Target,

    /// Allow binding the NCC to a workspace that is bound to another NCC (a binding can be
    /// switched, never removed).
    #[arg(long)]
    replace_ncc_binding: bool,
}

/// `plink up`: converge the deployment, with a live progress view.
pub async fn run(args: UpArgs) -> anyhow::Result<u8> {
    let deployment = ops::Deployment::load(&args.target.workflow, args.target.state.as_deref())?;
    let interrupt = Interrupt::new();
    interrupt.install_signal_handlers();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let renderer = tokio::spawn(progress::render(rx));
    let options = ops::up::UpOptions {
        replace_ncc_binding: args.replace_ncc_binding,
    };
    let result = ops::up::run(&deployment, &options, EventSink::new(tx), interrupt).await;
    let _ = renderer.await;
    let report = result?;
    if report.interrupted() {
        eprintln!(
            "plink: interrupted; everything done so far is saved. Run `plink up` again to resume."
        );
        return Ok(exit::INTERRUPTED);
    }
    let mut code = exit::OK;
    for (step, error) in report.failures() {
        eprintln!("plink: step `{step}` failed: {error}");
        code = code.max(exit::step_code(error));
    }
    if code == exit::OK {
        eprintln!(
            "plink: deployment {} is up",
            deployment.workflow.deployment.as_str()
        );
    }
    Ok(code)
}
