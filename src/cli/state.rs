//! `plink state pull | push | migrate`: a deployment's state between the local file and S3
//! (issue #14).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::exit;
use crate::ops::state_copy::{self, Copied, Transfer};
use crate::ops::{Deployment, StateChoice};

#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(subcommand)]
    command: StateCommand,
}

#[derive(Debug, Subcommand)]
enum StateCommand {
    /// Copy the deployment's state from S3 to a local file; S3 keeps it.
    Pull(PullArgs),
    /// Copy the deployment's state from a local file to S3; the file stays.
    Push(PushArgs),
    /// Move the deployment's state to another place (a file or S3): the old place then says
    /// where it went, and a command pointed at it is refused (exit 7) with the new one.
    Migrate(MigrateArgs),
}

/// The workflow file and where its state is now.
#[derive(Debug, Args)]
struct Source {
    /// The workflow file (TOML) of the deployment.
    #[arg(value_name = "WORKFLOW")]
    workflow: PathBuf,

    /// Where the state is, instead of the workflow file's [state] (or .plink/<deployment>/):
    /// a file, or a team's S3 prefix, s3://bucket/prefix/
    #[arg(long, value_name = "PATH|s3://BUCKET/PREFIX/")]
    state: Option<StateChoice>,

    /// Print what was copied as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct PullArgs {
    #[command(flatten)]
    source: Source,

    /// The local file to write (default .plink/<deployment>/state.json here).
    #[arg(long, value_name = "PATH")]
    to: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct PushArgs {
    #[command(flatten)]
    source: Source,

    /// The local file to read (default .plink/<deployment>/state.json here).
    #[arg(long, value_name = "PATH")]
    from: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct MigrateArgs {
    #[command(flatten)]
    source: Source,

    /// Where the state goes: a file, or s3://bucket/prefix/
    #[arg(long, value_name = "PATH|s3://BUCKET/PREFIX/")]
    to: StateChoice,
}

/// `plink state …`.
pub async fn run(args: StateArgs) -> anyhow::Result<u8> {
    let (source, operation) = match &args.command {
        StateCommand::Pull(a) => (&a.source, "state pull"),
        StateCommand::Push(a) => (&a.source, "state push"),
        StateCommand::Migrate(a) => (&a.source, "state migrate"),
    };
    let here = Deployment::load(&source.workflow, source.state.as_ref())?;
    let local = |path: &Option<PathBuf>| {
        StateChoice::File(path.clone().unwrap_or_else(|| here.local_default()))
    };
    let (from, to, transfer) = match &args.command {
        StateCommand::Pull(a) => (here.clone(), here.with_state(&local(&a.to)), Transfer::Copy),
        StateCommand::Push(a) => (
            here.with_state(&local(&a.from)),
            here.clone(),
            Transfer::Copy,
        ),
        StateCommand::Migrate(a) => (here.clone(), here.with_state(&a.to), Transfer::Move),
    };
    if !matches!(args.command, StateCommand::Migrate(_)) && here.remote.is_none() {
        eprintln!(
            "plink: error: `plink {operation}` copies between a local file and S3, and the state of {} is a file ({}): give --state s3://bucket/prefix/, or [state] backend = \"s3\" in the workflow file",
            here.name(),
            here.paths.state.display()
        );
        return Ok(exit::USAGE);
    }
    if from.paths.state == to.paths.state {
        eprintln!(
            "plink: error: the state of {} is already at {}",
            here.name(),
            to.paths.state.display()
        );
        return Ok(exit::USAGE);
    }
    let copied = state_copy::copy(&from, &to, transfer, operation).await?;
    if source.json {
        println!("{}", serde_json::to_string_pretty(&copied)?);
    } else {
        println!("{}", summary(&copied));
    }
    Ok(exit::OK)
}

/// One line per fact: what was copied, and what to do next after a move.
fn summary(c: &Copied) -> String {
    let what = format!(
        "state of {} (lineage {}, serial {})",
        c.deployment, c.lineage, c.serial
    );
    let mut out = if c.written {
        format!(
            "plink: copied the {what}\n  from {}\n  to   {}",
            c.from.display(),
            c.to.display()
        )
    } else {
        format!(
            "plink: the {what} was already at {}: nothing written",
            c.to.display()
        )
    };
    if c.moved {
        out.push_str(&format!(
            "\nplink: {} now says where the state went. From now on give --state {} (or set [state] in the workflow file to it)",
            c.from.display(),
            c.state_arg
        ));
    }
    out
}
