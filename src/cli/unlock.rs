use clap::Args;

use crate::ops;
use crate::state::UnlockOutcome;

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The workflow file (TOML) whose deployment to unlock.
    #[arg(value_name = "WORKFLOW")]
    workflow: std::path::PathBuf,

    /// State file to use instead of .plink/<deployment>/state.json, or the S3 prefix of a team's
    /// states (s3://bucket/prefix/).
    #[arg(long, value_name = "PATH|s3://BUCKET/PREFIX/")]
    state: Option<ops::StateChoice>,

    /// Break the lock even though a live process holds it (that process loses exclusivity).
    #[arg(long)]
    force: bool,
}

/// `plink unlock`: release a lock left behind, or with --force one a live process holds.
pub async fn run(args: UnlockArgs) -> anyhow::Result<u8> {
    let deployment = ops::Deployment::load(&args.workflow, args.state.as_ref())?;
    let lock = deployment.paths.lock();
    let outcome = match &deployment.remote {
        // On S3 a lock does not die with its holder: it is reported with its age, and --force
        // removes exactly the lock read (issue #14).
        Some(at) => {
            let aws = deployment.state_clients(at).await;
            crate::state::remote::unlock(&aws, at, deployment.name(), args.force).await?
        }
        None => crate::state::unlock(&lock, args.force)?,
    };
    match outcome {
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
            let still = if deployment.remote.is_some() {
                "which may still be running (S3 cannot tell): if it is gone, use --force"
            } else {
                "which is still running. Stop it first, or use --force"
            };
            eprintln!(
                "plink: {} is held by {who}, {still} (two commands on one deployment can then race).",
                lock.display()
            );
            return Ok(super::exit::LOCKED);
        }
        UnlockOutcome::Forced(_) => println!("{}: lock broken (--force)", lock.display()),
    }
    Ok(super::exit::OK)
}
