use clap::Args;

use super::Target;

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    target: Target,

    /// Print the plan as JSON.
    #[arg(long)]
    json: bool,
}

/// `plink plan`: arrives with the lifecycle work (issue #5).
pub async fn run(args: PlanArgs) -> anyhow::Result<u8> {
    let _ = crate::ops::Deployment::load(&args.target.workflow, args.target.state.as_deref())?;
    let _ = args.json;
    anyhow::bail!(
        "`plink plan` is not implemented yet (it lands with the lifecycle work, issue #5); nothing was read or changed"
    )
}
