use clap::Args;

use super::Target;
use crate::ops::{self, status::StatusReport};
use crate::workflow;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    target: Target,

    /// Print the report as JSON (same facts as the table).
    #[arg(long)]
    json: bool,
}

/// `plink status`: only reads.
pub async fn run(args: StatusArgs) -> anyhow::Result<u8> {
    let deployment = ops::Deployment::load(&args.target.workflow, args.target.state.as_deref())?;
    let report = ops::status::recorded(&deployment, workflow::STEP_ORDER)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(super::exit::OK)
}

fn render(report: &StatusReport) -> String {
    let mut out = String::new();
    if !report.exists {
        out.push_str(&format!(
            "deployment {}: never run (no state at {})\n",
            report.deployment, report.state_file
        ));
        return out;
    }
    out.push_str(&format!(
        "deployment {} (state {}, serial {}, updated {})\n",
        report.deployment,
        report.state_file,
        report.serial,
        report.updated_at.as_deref().unwrap_or("-")
    ));
    for step in &report.steps {
        let facts: Vec<String> = step
            .outputs
            .iter()
            .map(|(k, v)| format!("{k}={}", plain(v)))
            .collect();
        out.push_str(&format!(
            "  {:<18} {:<8} {}\n",
            step.step,
            step.status.to_string(),
            facts.join(" ")
        ));
        if let Some(intent) = &step.pending_intent {
            out.push_str(&format!(
                "  {:<18} {:<8} in flight since {}: {} (its result was not recorded; `plink up` will look for it)\n",
                "", "", intent.started_at, intent.action
            ));
        }
        if let Some(error) = &step.error {
            out.push_str(&format!(
                "  {:<18} {:<8} last error: {}\n",
                "",
                "",
                error.lines().next().unwrap_or_default()
            ));
        }
    }
    out
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
