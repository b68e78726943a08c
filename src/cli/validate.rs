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
        // Where the state is, when it is not the default file: a team checks it before CI runs.
        let state = match &d.remote {
            Some(_) => format!(", state {}", d.paths.state.display()),
            None => String::new(),
        };
        println!(
            "{}: ok (deployment {}, {}{state})",
            workflow.source.display(),
            workflow.deployment.as_str(),
            workflow.summary
        );
    }
    Ok(super::exit::OK)
}
