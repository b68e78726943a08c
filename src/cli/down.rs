use clap::Args;

use super::{Target, each, exit};
use crate::ops::{self, down::DownOutcome};
use crate::resources::DownOptions;
use crate::resources::ncc::{NccDown, NccOutcome};
use crate::resources::rule::DEACTIVATION_NOTE;

const AFTER_HELP: &str = "\
What it removes, in reverse order of `up`, and only what plink created (AWS resources carrying
plink's tags for this deployment; what `up` adopted by name is released and left in place,
unless --delete-adopted):
  1. the private endpoint rule. Databricks deactivates a deleted rule and keeps its VPC endpoint
     connected for up to a day (its docs: up to 7 days), so plink rejects that connection itself;
  2. every remaining connection of plink's endpoint service, then the endpoint service;
  3. the listener, the NLB (until gone) and the target group;
  4. the S3 interface endpoint (until gone) and the security group plink created (never the
     groups named in endpoint.security_group_ids);
  5. the NCC, if plink created it, it has no other rule and no workspace is bound to it.
Adopted resources (an NCC that existed, an NLB or target group found by name without plink's
tags) are released from the state and left in place, unless --delete-adopted.

A workspace's NCC binding cannot be removed, only switched to another NCC. For every workspace
still bound to the deployment's NCC, plink says so and keeps the NCC (exit code 11), unless
--rebind-to names an NCC of the same region to switch those workspaces to.

It can be interrupted or killed at any point: run it again to resume. Run again after it
finished, it changes nothing.

Exit codes of `down`: 0 torn down, or nothing to tear down · 11 torn down except the NCC, which
was kept (the notice says why) · 4, 5, 6, 7, 8, 130 as listed in `plink --help` (run `down` again).";

/// The command's name, for the advice to run it again.
const COMMAND: &str = "down";

#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct DownArgs {
    #[command(flatten)]
    target: Target,

    /// Switch every workspace still bound to the deployment's NCC to NCC_ID (an NCC of the same
    /// region), so that the deployment's NCC can be deleted. Databricks cannot remove a binding,
    /// only switch it; without this flag the NCC is kept and reported.
    #[arg(long, value_name = "NCC_ID")]
    rebind_to: Option<String>,

    /// Also delete what plink adopted instead of creating: an NCC that existed before `plink up`
    /// (or named by id), an NLB or target group found by the workflow's names without plink's
    /// tags. Without this flag adopted resources are only released from the state.
    #[arg(long)]
    delete_adopted: bool,

    /// Restore the IP access lists switch even if that blocks an operator network.
    #[arg(long)]
    allow_lockout: bool,
}

/// `plink down`: tear the deployments down, with a live progress view.
pub async fn run(args: DownArgs) -> anyhow::Result<u8> {
    let options = &DownOptions {
        rebind_to: args.rebind_to,
        delete_adopted: args.delete_adopted,
        allow_lockout: args.allow_lockout,
    };
    each::run_live(COMMAND, &args.target, |d, events, interrupt| async move {
        let outcome = ops::down::run(&d, options, events, interrupt).await?;
        Ok(one(&d, outcome))
    })
    .await
}

/// Says what `down` did to one deployment; its exit code.
fn one(deployment: &ops::Deployment, outcome: DownOutcome) -> u8 {
    let name = deployment.name();
    let report = match outcome {
        DownOutcome::NeverUp => {
            eprintln!(
                "plink: deployment {name} has no state at {}: `plink up` never ran with it, so \
                 plink created nothing and there is nothing to tear down",
                deployment.paths.state.display()
            );
            return exit::OK;
        }
        DownOutcome::Ran(report) => report,
    };
    let code = each::run_code(COMMAND, name, &report.run);
    if code != exit::OK {
        if !report.run.interrupted() {
            eprintln!(
                "plink: {name}: the teardown is not finished; run `plink {COMMAND}` again to \
                 resume it"
            );
        }
        return code;
    }
    if !report.deleted_rules.is_empty() {
        eprintln!("plink: note: {DEACTIVATION_NOTE}");
    }
    let workflow = deployment.workflow.source.display().to_string();
    if let Some(ncc) = &report.ncc
        && (report.changed || ncc.outcome == NccOutcome::Kept)
    {
        eprint!(
            "{}",
            ncc_text(
                ncc,
                &workflow,
                deployment
                    .workflow
                    .clouds
                    .region
                    .as_ref()
                    .map_or("", |r| r.as_str())
            )
        );
    }
    if report.ncc_kept() {
        eprintln!("plink: deployment {name} is torn down, except its NCC (see above)");
        return exit::NCC_KEPT;
    }
    if report.changed {
        eprintln!("plink: deployment {name} is torn down");
    } else {
        eprintln!(
            "plink: deployment {name}: nothing left to tear down{}",
            report
                .destroyed_at
                .as_deref()
                .map(|t| format!(" (torn down at {t})"))
                .unwrap_or_default()
        );
    }
    exit::OK
}

/// What became of the NCC, in words.
fn ncc_text(ncc: &NccDown, workflow: &str, region: &str) -> String {
    let what = format!("NCC {} ({})", ncc.name, ncc.ncc_id);
    let list = |ids: &[i64]| {
        ids.iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = String::new();
    for r in &ncc.rebound {
        out.push_str(&format!(
            "plink: workspace {} switched from NCC {} to {} (--rebind-to)\n",
            r.workspace_id, r.from_ncc_id, r.to_ncc_id
        ));
    }
    match ncc.outcome {
        NccOutcome::Deleted => out.push_str(&format!("plink: {what} deleted\n")),
        NccOutcome::Gone => out.push_str(&format!("plink: {what} was already gone\n")),
        NccOutcome::Released => {
            out.push_str(&format!(
                "plink: {what} was adopted, not created, by plink: released from the state and \
                 left in place (--delete-adopted deletes it)\n"
            ));
            if !ncc.bound_workspaces.is_empty() {
                out.push_str(&format!(
                    "plink: workspace(s) {} stay bound to it (a binding cannot be removed)\n",
                    list(&ncc.bound_workspaces)
                ));
            }
        }
        NccOutcome::Kept if !ncc.other_rule_ids.is_empty() => out.push_str(&format!(
            "plink: {what} was kept: it has {} other live private endpoint rule(s) ({}), which \
             are not this deployment's.\n  Remove them, or leave the NCC; `plink down {workflow}` \
             deletes it once it has none.\n",
            ncc.other_rule_ids.len(),
            ncc.other_rule_ids.join(", ")
        )),
        NccOutcome::Kept => {
            for ws in &ncc.bound_workspaces {
                out.push_str(&format!(
                    "plink: workspace {ws} is still bound to {what}.\n"
                ));
            }
            out.push_str(&format!(
                "plink: {what} was kept. Databricks cannot remove a workspace's NCC binding, only \
                 switch it to another NCC,\n  and an NCC with bound workspaces cannot be deleted. \
                 To delete it, switch the workspace(s) to another NCC of {region}:\n    \
                 plink down {workflow} --rebind-to <ncc-id>\n"
            ));
            for prev in &ncc.previous_ncc_ids {
                out.push_str(&format!(
                    "  (before `plink up --replace-ncc-binding`, the workspace was bound to NCC \
                     {prev}: --rebind-to {prev} restores that)\n"
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_hints_name_down() {
        let timeout = crate::engine::StepError::Timeout {
            what: "the endpoint to be deleted".into(),
            waited: std::time::Duration::from_secs(60),
            last_seen: "deleting".into(),
        };
        let text = crate::cli::render::step_error(&timeout, COMMAND, 0);
        assert!(
            text.ends_with("; run `plink down` again to resume waiting"),
            "{text}"
        );
    }

    #[test]
    fn a_kept_ncc_says_why_and_what_to_run() {
        let ncc = NccDown {
            ncc_id: "n-1".into(),
            name: "plink-demo-ncc".into(),
            outcome: NccOutcome::Kept,
            created_by_plink: true,
            bound_workspaces: vec![1111111111111111],
            other_rule_ids: vec![],
            rebound: vec![],
            previous_ncc_ids: vec!["n-0".into()],
        };
        let text = ncc_text(&ncc, "wf.toml", "us-east-1");
        assert!(
            text.contains("workspace 1111111111111111 is still bound"),
            "{text}"
        );
        assert!(text.contains("cannot remove"), "{text}");
        assert!(
            text.contains("plink down wf.toml --rebind-to <ncc-id>"),
            "{text}"
        );
        assert!(text.contains("--rebind-to n-0 restores"), "{text}");
    }
}
