use clap::Args;

use super::Target;
use crate::ops;
use crate::state::UnlockOutcome;

#[derive(Debug, Args)]
pub struct UnlockArgs {
    #[command(flatten)]
    target: Target,

    /// Break the lock even though a live process holds it (that process loses exclusivity).
    #[arg(long)]
    force: bool,
}

/// `plink unlock`: release a lock left behind, or with --force one a live process holds.
pub fn run(args: UnlockArgs) -> anyhow::Result<u8> {
    let deployment = ops::Deployment::load(&args.target.workflow, args.target.state.as_deref())?;
    let lock = deployment.paths.lock();
    match crate::state::unlock(&lock, args.force)? {
        UnlockOutcome::WasFree { stale_info: None } => println!("{}: not locked", lock.display()),
        UnlockOutcome::WasFree {
            stale_info: Some(i),
        } => {
            println!(
                "{}: cleared stale lock info of `plink {}` (pid {} on {})",
                lock.display(),
                i.operation,
                i.pid,
                i.host
            )
        }
        UnlockOutcome::HeldBy(info) => {
            let who = info.map_or_else(
                || "another process".to_owned(),
                |i| {
                    format!(
                        "`plink {}` (pid {} on {}, since {})",
                        i.operation, i.pid, i.host, i.since
                    )
                },
            );
            eprintln!(
                "plink: {} is held by {who}, which is still running. Stop it first, or use --force \
                 (two commands on one deployment can then race).",
                lock.display()
            );
            return Ok(super::exit::LOCKED);
        }
        UnlockOutcome::Forced(_) => println!("{}: lock broken (--force)", lock.display()),
    }
    Ok(super::exit::OK)
}
