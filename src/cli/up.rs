use clap::Args;

use super::{Target, each, exit};
use crate::ops;

/// The command's name, for the advice to run it again.
const COMMAND: &str = "up";

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    target: Target,

    #[command(flatten)]
    flags: UpFlags,
}

/// What `up` may do beyond the workflow file; `plan` takes them too, to plan that run.
#[derive(Debug, Args)]
pub struct UpFlags {
    /// Allow binding the NCC to a workspace that is bound to another NCC (a binding can be
    /// switched, never removed).
    #[arg(long)]
    replace_ncc_binding: bool,

    /// Allow binding the network policy to a workspace bound to another policy (`down` binds
    /// it back).
    #[arg(long)]
    replace_policy_binding: bool,

    /// Leave dry run although the denial logs show destinations (or requests) the workflow
    /// file does not allow: they are blocked from then on.
    #[arg(long)]
    accept_denials: bool,

    /// Apply IP access list changes even when they block a network of access.operator_cidrs.
    #[arg(long)]
    allow_lockout: bool,
}

impl UpFlags {
    pub fn options(&self) -> ops::up::UpOptions {
        ops::up::UpOptions {
            replace_ncc_binding: self.replace_ncc_binding,
            replace_policy_binding: self.replace_policy_binding,
            accept_denials: self.accept_denials,
            allow_lockout: self.allow_lockout,
        }
    }
}

/// `plink up`: converge the deployments, with a live progress view.
pub async fn run(args: UpArgs) -> anyhow::Result<u8> {
    let options = &args.flags.options();
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
