//! `plink verify WORKFLOW [--workspace ID] [--static] [--bucket NAME] [--json]` (issue #15).

use clap::Args;

use super::{Target, each, exit, signals};
use crate::engine::Interrupt;
use crate::ops::verify::path::Verdict;
use crate::ops::verify::{VerifyOptions, VerifyReport};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    target: Target,

    /// Only this workspace (one of the deployment's databricks.workspace_ids).
    #[arg(long, value_name = "ID")]
    workspace: Option<i64>,

    /// Check the static path only: submit no run.
    #[arg(long = "static")]
    static_only: bool,

    /// s3-privatelink: a bucket to list (ListObjectsV2) through the endpoint; repeatable.
    #[arg(long = "bucket", value_name = "NAME")]
    buckets: Vec<String>,

    /// Print the report as JSON (the same facts as the table).
    #[arg(long)]
    json: bool,
}

/// `plink verify`: exit 0 when every destination is reachable, 4 naming the first broken link.
pub async fn run(args: VerifyArgs) -> anyhow::Result<u8> {
    let options = &VerifyOptions {
        workspace: args.workspace,
        static_only: args.static_only,
        buckets: args.buckets.clone(),
    };
    // Ctrl-C: the runs in flight are cancelled and the task files deleted before plink exits.
    let interrupt = &Interrupt::new();
    // Exiting at once skips the cleanup that the first signal lets run.
    let left = "the task file may be left under .plink/ in the workspaces' home folder, and \
                a submitted run may still finish";
    signals::install(interrupt, left.to_owned());
    each::report(
        "verify",
        &args.target,
        args.json,
        |d| async move {
            let report = crate::ops::verify::run(&d, options, interrupt).await?;
            let code = if interrupt.is_triggered() {
                exit::INTERRUPTED
            } else if report.reachable {
                exit::OK
            } else {
                exit::STEP_FAILED
            };
            Ok((code, report))
        },
        render,
    )
    .await
}

fn render(r: &VerifyReport) -> String {
    let mut out = format!(
        "verify {} ({}), workspace(s) {:?}\n\nstatic path:\n",
        r.deployment, r.kind, r.workspaces
    );
    // The link column is as wide as its longest name (`egress_policy_<workspace id>`, …).
    let w = r.links.iter().map(|l| l.name.len()).max().unwrap_or(0);
    for l in &r.links {
        let verdict = match l.verdict {
            Verdict::Ok => "ok",
            Verdict::Broken => "BROKEN",
            Verdict::Unknown => "?",
        };
        out.push_str(&format!(
            "  {verdict:<7} {:<w$} {}: {}\n",
            l.name, l.what, l.detail
        ));
        if let Some(fix) = &l.fix {
            out.push_str(&format!("  {:<7} {:<w$} fix: {fix}\n", "", ""));
        }
    }
    for note in &r.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    for p in &r.probes {
        out.push_str(&format!(
            "\nprobe from workspace {} (run {}, {}):\n",
            p.workspace_id,
            p.run_id
                .map_or_else(|| "not submitted".to_owned(), |id| id.to_string()),
            p.run_state.as_deref().unwrap_or("no result")
        ));
        for d in &p.destinations {
            let verdict = if d.ok { "ok" } else { "FAILED" };
            out.push_str(&format!("  {verdict:<7} {:<40} {}\n", d.name, d.show()));
        }
        if let Some(e) = &p.error {
            out.push_str(&format!("  error: {e}\n"));
        }
        if !p.cleaned_up && p.run_id.is_some() {
            out.push_str("  the task file could not be deleted (see the error)\n");
        }
    }
    match &r.first_broken {
        None if r.reachable => {
            out.push_str("\nreachable: every link ok, every destination reached\n")
        }
        None => out.push_str("\nnot verified: nothing was probed\n"),
        Some(b) => out.push_str(&format!("\nNOT REACHABLE: {b}\n")),
    }
    out
}
