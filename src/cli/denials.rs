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
    let verdict = |handled: &Option<String>| handled.as_deref().unwrap_or("NOT ALLOWED").to_owned();
    if r.outbound.is_empty() {
        out.push_str("\negress: no denials\n");
    } else {
        out.push_str(&format!("\negress denials ({}):\n", r.outbound.len()));
        let header = [
            "DESTINATION",
            "TYPE",
            "ACCESS",
            "ATTEMPTS",
            "FIRST SEEN",
            "LAST SEEN",
            "COMPUTE",
            "IN THE FILE",
        ];
        let rows = r.outbound.iter().map(|j| {
            let d = &j.denial;
            vec![
                d.destination.clone(),
                d.destination_type.clone(),
                d.access_type.clone(),
                d.attempts.to_string(),
                d.first_seen.clone(),
                d.last_seen.clone(),
                d.computes.join(", "),
                verdict(&j.handled),
            ]
        });
        out.push_str(&table(&header, rows));
    }
    if r.inbound.is_empty() {
        if r.ingress_read {
            out.push_str("\ningress: no denials\n");
        }
    } else {
        out.push_str(&format!("\ningress denials ({}):\n", r.inbound.len()));
        let header = [
            "SOURCE",
            "REQUEST",
            "IDENTITY",
            "ACCESS",
            "ATTEMPTS",
            "FIRST SEEN",
            "LAST SEEN",
            "IN THE FILE",
        ];
        let rows = r.inbound.iter().map(|j| {
            let d = &j.denial;
            vec![
                d.source_ip.clone(),
                d.request_type.clone(),
                format!("{} {}", d.principal_type, d.principal_id),
                d.access_type.clone(),
                d.attempts.to_string(),
                d.first_seen.clone(),
                d.last_seen.clone(),
                verdict(&j.handled),
            ]
        });
        out.push_str(&table(&header, rows));
    }
    for c in &r.cannot_allow {
        out.push_str(&format!("\nnote: {c}\n"));
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

/// Rows under a header, each column as wide as its widest cell, indented by two spaces.
fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut all: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    all.extend(rows);
    let widths: Vec<usize> = (0..header.len())
        .map(|i| all.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    all.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            format!("  {}\n", cells.join("  ").trim_end())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::render;
    use crate::ops::denials::DenialsReport;
    use crate::resources::network_policy::denials::WarehouseRef;

    fn report(ingress_read: bool) -> DenialsReport {
        DenialsReport {
            deployment: "d".into(),
            workflow: "w.toml".into(),
            network_policy_id: "p".into(),
            warehouse: WarehouseRef {
                warehouse_id: "wh".into(),
                workspace_id: 1,
            },
            workspace_ids: vec![1],
            since: "2026-12-01T00:00:00Z".into(),
            outbound: Vec::new(),
            inbound: Vec::new(),
            ingress_read,
            add: Vec::new(),
            cannot_allow: Vec::new(),
        }
    }

    /// Regression: an ingress policy without denials said "egress: no denials" and nothing of
    /// ingress, as if its log had not been read.
    #[test]
    fn an_ingress_log_read_empty_says_so_and_one_not_read_says_nothing() {
        assert!(render(&report(true)).contains("\ningress: no denials\n"));
        assert!(!render(&report(false)).contains("ingress"));
    }
}
