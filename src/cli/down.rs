use clap::Args;

use super::Target;

#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    target: Target,
}

/// `plink down`: arrives with the lifecycle work (issue #5).
pub async fn run(args: DownArgs) -> anyhow::Result<u8> {
    let _ = crate::ops::Deployment::load(&args.target.workflow, args.target.state.as_deref())?;
    anyhow::bail!(
        "`plink down` is not implemented yet (it lands with the lifecycle work, issue #5); nothing was changed"
    )
}
