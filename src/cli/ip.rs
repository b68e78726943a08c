use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::exit;
use crate::ops::{self, Deployment};

#[derive(Debug, Args)]
pub struct IpArgs {
    #[command(subcommand)]
    command: IpCommand,
}

#[derive(Debug, Subcommand)]
enum IpCommand {
    /// For each address and workspace: allowed or blocked, and by which list — now, and once
    /// `up` has applied the workflow file (both, when they differ). Only reads.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// An `ip-access-lists` workflow file.
    #[arg(value_name = "WORKFLOW")]
    workflow: PathBuf,

    /// IPv4 addresses to check.
    #[arg(value_name = "ADDRESS", required = true, num_args = 1..)]
    addresses: Vec<String>,

    /// State file to use instead of .plink/<deployment>/state.json, or the S3 prefix of a team's
    /// states (s3://bucket/prefix/).
    #[arg(long, value_name = "PATH|s3://BUCKET/PREFIX/")]
    state: Option<crate::ops::StateChoice>,

    /// Print the answers as JSON.
    #[arg(long)]
    json: bool,
}

/// `plink ip check`.
pub async fn run(args: IpArgs) -> anyhow::Result<u8> {
    let IpCommand::Check(args) = args.command;
    let deployment = Deployment::load(&args.workflow, args.state.as_ref())?;
    let checks = ops::ip_check::run(&deployment, &args.addresses).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&checks)?);
        return Ok(exit::OK);
    }
    for c in &checks {
        if c.live == c.file {
            println!(
                "{:<15}  workspace {}  {}",
                c.address, c.workspace_id, c.live
            );
        } else {
            println!(
                "{:<15}  workspace {}  now {}; after up {}",
                c.address, c.workspace_id, c.live, c.file
            );
        }
    }
    Ok(exit::OK)
}
