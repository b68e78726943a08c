use clap::Args;

use super::{Target, each, exit};
use crate::ops::denials::{DenialsOptions, DenialsReport, parse_since};
use crate::ops::{self};

#[derive(Debug, Args)]
pub struct DenialsArgs {
    #[command(flatten)]
    target: Target,

    /// How far back to read the logs: 7d, 12h, 30m.
    #[arg(long, value_name = "DURATION", default_value = "7d")]
    since: String,

    /// The SQL warehouse that runs the queries, instead of databricks.warehouse_id.
    #[arg(long, value_name = "ID")]
    warehouse: Option<String>,

    /// Print the report as JSON (the same facts as the table).
    #[arg(long)]
    json: bool,
}

/// `plink denials`: only reads.
pub async fn run(args: DenialsArgs) -> anyhow::Result<u8> {
    let options = &DenialsOptions {
        since: parse_since(&args.since)?,
        warehouse: args
            .warehouse
            .as_deref()
            .map(crate::config::check_warehouse_id)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--warehouse: {e}"))?,
    };
    each::report(
        "denials",
        &args.target,
        args.json,
        |d| async move { Ok((exit::OK, ops::denials::run(&d, options).await?)) },
        render,
    )
    .await
}

fn render(r: &DenialsReport) -> String {
    let mut out = format!(
        "deployment {} — network policy {}, workspace(s) {:?}, since {} (SQL warehouse {} in workspace {})\n",
        r.deployment,
        r.network_policy_id,
        r.workspace_ids,
        r.since,
        r.warehouse.warehouse_id,
        r.warehouse.workspace_id
    );
    if r.outbound.is_empty() {
        out.push_str("\negress: no denials\n");
    } else {
        out.push_str(&format!(
            "\negress denials ({}):\n  {:<40} {:<8} {:<15} {:>8}  {:<24} {:<24} {:<20} {}\n",
            r.outbound.len(),
            "DESTINATION",
            "TYPE",
            "ACCESS",
            "ATTEMPTS",
            "FIRST SEEN",
            "LAST SEEN",
            "COMPUTE",
            "IN THE FILE"
        ));
        for j in &r.outbound {
            let d = &j.denial;
            out.push_str(&format!(
                "  {:<40} {:<8} {:<15} {:>8}  {:<24} {:<24} {:<20} {}\n",
                d.destination,
                d.destination_type,
                d.access_type,
                d.attempts,
                d.first_seen,
                d.last_seen,
                d.computes.join(", "),
                j.handled.as_deref().unwrap_or("NOT ALLOWED")
            ));
        }
    }
    if !r.inbound.is_empty() {
        out.push_str(&format!(
            "\ningress denials ({}):\n  {:<16} {:<14} {:<40} {:<15} {:>8}  {:<24} {}\n",
            r.inbound.len(),
            "SOURCE",
            "REQUEST",
            "IDENTITY",
            "ACCESS",
            "ATTEMPTS",
            "LAST SEEN",
            "IN THE FILE"
        ));
        for j in &r.inbound {
            let d = &j.denial;
            out.push_str(&format!(
                "  {:<16} {:<14} {:<40} {:<15} {:>8}  {:<24} {}\n",
                d.source_ip,
                d.request_type,
                format!("{} {}", d.principal_type, d.principal_id),
                d.access_type,
                d.attempts,
                d.last_seen,
                j.handled.as_deref().unwrap_or("NOT ALLOWED")
            ));
        }
    }
    for c in &r.cannot_allow {
        out.push_str(&format!("\nnote: {c}"));
    }
    if r.add.is_empty() {
        out.push_str("\nthe workflow file handles every denial\n");
    } else {
        out.push_str(&format!(
            "\nto allow them, set these keys in {} (then `plink up`):\n\n{}\n",
            r.workflow,
            r.add.join("\n")
        ));
    }
    out
}
