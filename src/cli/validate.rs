use clap::Args;

use super::Target;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    target: Target,
}

/// `plink validate`: parse and check every file (all errors at once); one line per file.
pub fn run(args: ValidateArgs) -> anyhow::Result<u8> {
    for d in args.target.load()? {
        let workflow = &d.workflow;
        println!(
            "{}: ok (deployment {}, region {}, {} workspace(s))",
            workflow.source.display(),
            workflow.deployment.as_str(),
            workflow.aws.region.as_str(),
            workflow.databricks.workspace_ids.len()
        );
    }
    Ok(super::exit::OK)
}
