use clap::Args;

use super::{Target, each};
use crate::ops::{self, status::LiveView, status::StatusReport};

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    target: Target,

    /// Print the report as JSON (same facts as the table).
    #[arg(long)]
    json: bool,

    /// Only what the state file records; do not ask the clouds.
    #[arg(long, conflicts_with = "orphans")]
    offline: bool,

    /// List the AWS resources carrying plink's tags that no known state records (states of the
    /// given workflows and of every .plink/*/state.json here), in the workflows' regions.
    #[arg(long)]
    orphans: bool,
}

/// `plink status`: only reads.
pub async fn run(args: StatusArgs) -> anyhow::Result<u8> {
    if args.orphans {
        return orphans(&args.target.load()?, args.json).await;
    }
    let offline = args.offline;
    each::report(
        "status",
        &args.target,
        args.json,
        |d| async move { Ok((super::exit::OK, ops::status::report(&d, offline).await?)) },
        render,
    )
    .await
}

/// `plink status --orphans`.
async fn orphans(deployments: &[ops::Deployment], json: bool) -> anyhow::Result<u8> {
    let found = ops::orphans::scan(deployments, std::path::Path::new(".")).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else if found.is_empty() {
        println!("no orphans: every plink-tagged resource is recorded in a known state");
    } else {
        for o in &found {
            println!("{:<20} {} ({}): {}", o.kind, o.id, o.region, o.reason);
        }
        println!(
            "{} orphan(s): adopt them with `plink up` on their workflow, or delete them by hand",
            found.len()
        );
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
    if let Some(at) = &report.torn_down_at {
        out.push_str(&format!("  torn down by `plink down` at {at}\n"));
    }
    // Wide enough for the longest step id (`down_endpoint_service`).
    let w = report
        .steps
        .iter()
        .map(|s| s.step.len())
        .max()
        .unwrap_or(0)
        .max(18);
    for step in &report.steps {
        let facts: Vec<String> = step
            .outputs
            .iter()
            .map(|(k, v)| format!("{k}={}", plain(v)))
            .collect();
        out.push_str(&format!(
            "  {:<w$} {:<8} {}\n",
            step.step,
            step.status.to_string(),
            facts.join(" ")
        ));
        // Under the step, past its name and status columns.
        let mut note = |text: String| out.push_str(&format!("  {:<w$} {:<8} {text}\n", "", ""));
        if let Some(intent) = &step.pending_intent {
            note(format!(
                "in flight since {}: {} (its result was not recorded; the next `plink up` or \
                 `plink down` looks for it)",
                intent.started_at, intent.action
            ));
        }
        if let Some(error) = &step.error {
            note(format!(
                "last error: {}",
                error.lines().next().unwrap_or_default()
            ));
        }
    }
    if let Some(reason) = &report.live_unavailable {
        out.push_str(&format!("live view unavailable: {reason}\n"));
    }
    if let Some(live) = &report.live {
        out.push_str(&render_live(live));
    }
    out
}

fn render_live(live: &LiveView) -> String {
    let mut out = String::from("live:\n");
    for (label, text) in &live.lines {
        out.push_str(&format!("  {label:<18} {text}\n"));
    }
    for d in &live.drift {
        out.push_str(&format!("  DRIFT              {d}\n"));
    }
    for e in &live.errors {
        out.push_str(&format!("  could not read     {e}\n"));
    }
    out
}

/// A recorded value in one short token: strings bare, lists comma-joined, objects by their id.
fn plain(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(plain).collect::<Vec<_>>().join(",")
        ),
        Value::Object(map) => ["id", "workspace_id"]
            .iter()
            .find_map(|k| map.get(*k))
            .map_or_else(|| v.to_string(), plain),
        other => other.to_string(),
    }
}
