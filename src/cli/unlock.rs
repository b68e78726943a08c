use clap::Args;

use crate::ops;
use crate::state::UnlockOutcome;

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The workflow file (TOML) whose deployment to unlock.
    #[arg(value_name = "WORKFLOW")]
    workflow: std::path::PathBuf,

    /// State file to use instead of .plink/<deployment>/state.json.
    #[arg(long, value_name = "PATH")]
    state: Option<std::path::PathBuf>,

    /// Break the lock even though a live process holds it (that process loses exclusivity).
    #[arg(long)]
    force: bool,
}

/// `plink unlock`: release a lock left behind, or with --force one a live process holds.
pub fn run(args: UnlockArgs) -> anyhow::Result<u8> {
    let deployment = ops::Deployment::load(&args.workflow, args.state.as_deref())?;
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
