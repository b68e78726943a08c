use clap::Args;

use super::Target;
use crate::config;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    target: Target,
}

/// `plink validate`: parse and check the file; print a one-line summary.
pub fn run(args: ValidateArgs) -> anyhow::Result<u8> {
    let workflow = config::load(&args.target.workflow)?;
    println!(
        "{}: ok (deployment {}, region {}, {} workspace(s))",
        args.target.workflow.display(),
        workflow.deployment.as_str(),
        workflow.aws.region.as_str(),
        workflow.databricks.workspace_ids.len()
    );
    Ok(super::exit::OK)
}
