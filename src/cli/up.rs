use clap::Args;

use super::{Target, each, exit, progress};
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

/// `plink up`: converge the deployments, with a live progress view.
pub async fn run(args: UpArgs) -> anyhow::Result<u8> {
    let deployments = args.target.load()?;
    let many = deployments.len() > 1;
    let interrupt = Interrupt::new();
    interrupt.install_signal_handlers();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let renderer = tokio::spawn(progress::render(rx));
    let sink = EventSink::new(tx);
    let options = ops::up::UpOptions {
        replace_ncc_binding: args.replace_ncc_binding,
    };
    let code = each::run(deployments, args.target.parallel, |d| {
        let events = if many {
            sink.for_deployment(d.name())
        } else {
            sink.clone()
        };
        let (interrupt, options) = (interrupt.clone(), options.clone());
        async move { one(&d, &options, events, interrupt).await }
    })
    .await;
    drop(sink);
    let _ = renderer.await;
    code
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
            "plink: {name}: interrupted; everything done so far is saved. Run `plink up` again to resume."
        );
        return Ok(exit::INTERRUPTED);
    }
    let mut code = exit::OK;
    for (step, error) in report.failures() {
        eprintln!("plink: {name}: step `{step}` failed: {error}");
        code = code.max(exit::step_code(error));
    }
    if code == exit::OK {
        eprintln!("plink: deployment {name} is up");
    }
    Ok(code)
}
