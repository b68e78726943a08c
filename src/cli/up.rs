use clap::Args;

use super::{Target, each, exit};
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
    let options = &ops::up::UpOptions {
        replace_ncc_binding: args.replace_ncc_binding,
    };
    each::run_live(COMMAND, &args.target, |d, events, interrupt| async move {
        let report = ops::up::run(&d, options, events, interrupt).await?;
        let code = each::run_code(COMMAND, d.name(), &report);
        if code == exit::OK {
            eprintln!("plink: deployment {} is up", d.name());
        }
        Ok(code)
    })
    .await
}
