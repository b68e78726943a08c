//! `down_ncc`: delete the deployment's NCC — only if plink created it (or `--delete-adopted`),
//! it has no other live rule, and no workspace is bound to it.
//!
//! A binding cannot be removed, only switched (databricks-sdk-go #1030, TF #3741): with
//! `--rebind-to <ncc-id>` the bound workspaces are switched to that NCC first; without it the NCC
//! is kept and reported. Databricks refuses the delete with `INVALID_STATE` for a while after the
//! last rule or binding went away (reference §2.5, TF PR #5648): those refusals are retried with
//! backoff for at most [`DELETE_SETTLE_TIMEOUT`].

use std::time::Duration;

use async_trait::async_trait;

use super::outputs::{NccDown, NccOutcome, Rebound};
use super::{Down, records};
use crate::databricks::{
    AccountClient, ErrorKind, NetworkConnectivityConfig, ResultExt, WorkspaceStatus,
};
use crate::engine::{Poll, Step, StepContext, StepError, StepId};
use crate::state::Intent;
use crate::steps::{StepEnv, errors};

/// How long the NCC delete is retried while Databricks still sees a rule or binding that is gone
/// (TF PR #5648 proposed 15 minutes).
pub const DELETE_SETTLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

pub struct DownNcc(pub Down);

/// The deployment's NCC as the state knows it.
pub(super) struct OurNcc {
    pub id: String,
    pub name: String,
    pub created_by_plink: bool,
}

/// The NCC recorded by the `ncc` step, else one its unresolved `create_ncc` intent may have made
/// (found by name and region: then it is plink's). `None` when the state knows no NCC.
pub(super) async fn locate(d: &Down, cx: &StepContext) -> Result<Option<OurNcc>, StepError> {
    let rec: records::Ncc = records::of(cx, "ncc");
    if let Some(id) = rec.ncc_id {
        return Ok(Some(OurNcc {
            id,
            name: rec.name.unwrap_or_default(),
            created_by_plink: rec.created_by_plink.unwrap_or(false),
        }));
    }
    let Some(intent) = cx.intent_of("ncc").filter(|i| i.action == "create_ncc") else {
        return Ok(None);
    };
    let (Some(name), Some(region)) = (
        intent.natural_key.get("name"),
        intent.natural_key.get("region"),
    ) else {
        return Ok(None);
    };
    let all = d
        .env
        .databricks
        .list_nccs()
        .await
        .map_err(|e| errors::databricks("listing NCCs", e))?;
    Ok(all
        .into_iter()
        .find(|n| &n.name == name && &n.region == region)
        .map(|n| OurNcc {
            id: n.network_connectivity_config_id,
            name: n.name,
            created_by_plink: true,
        }))
}

/// Checks the NCC named by `--rebind-to`: it exists and is in the deployment's region.
///
/// # Errors
/// [`StepError::NeedsUser`] saying what is wrong with it.
pub async fn check_rebind_target(
    env: &StepEnv,
    ncc_id: &str,
) -> Result<NetworkConnectivityConfig, StepError> {
    let db = &env.databricks;
    let ncc = db.get_ncc(ncc_id).await.map_err(|e| match e.kind() {
        ErrorKind::NotFound => StepError::needs_user(
            format!(
                "NCC {ncc_id} (--rebind-to) does not exist in account {}",
                db.account_id()
            ),
            "name an existing NCC of the deployment's region (the account console lists them under Cloud resources → Network connectivity configurations)",
        ),
        _ => errors::databricks("reading the --rebind-to NCC", e),
    })?;
    if ncc.region != env.region() {
        return Err(StepError::needs_user(
            format!(
                "NCC {ncc_id} (--rebind-to) is in {}, the deployment's workspaces in {}",
                ncc.region,
                env.region()
            ),
            "a workspace can only be bound to an NCC of its own region: name an NCC of that region",
        ));
    }
    Ok(ncc)
}

#[async_trait]
impl Step for DownNcc {
    fn id(&self) -> StepId {
        "down_ncc"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec!["down_rule"]
    }

    fn describe(&self) -> String {
        "delete the NCC if plink created it and nothing uses it".into()
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let d = &self.0;
        let db = &d.env.databricks;
        let Some(ncc) = locate(d, cx).await? else {
            return Ok(());
        };
        let mut out = NccDown {
            ncc_id: ncc.id.clone(),
            name: ncc.name.clone(),
            outcome: NccOutcome::Kept,
            created_by_plink: ncc.created_by_plink,
            bound_workspaces: Vec::new(),
            other_rule_ids: Vec::new(),
            // Workspaces a killed run already switched are no longer bound: keep their record.
            rebound: cx
                .recorded::<NccDown>()
                .filter(|r| r.ncc_id == ncc.id)
                .map(|r| r.rebound)
                .unwrap_or_default(),
            previous_ncc_ids: Vec::new(),
        };
        let Some(live) = db
            .get_ncc(&ncc.id)
            .await
            .optional()
            .map_err(|e| errors::databricks("reading the NCC", e))?
        else {
            out.outcome = NccOutcome::Gone;
            return cx.record(&out);
        };
        out.bound_workspaces = bound_workspaces(db, &ncc.id).await?;
        let bind: records::Bind = records::of(cx, "bind");
        out.previous_ncc_ids = bind
            .workspaces
            .iter()
            .filter(|w| out.bound_workspaces.contains(&w.workspace_id))
            .filter_map(|w| w.replaced_ncc_id.clone())
            .collect();
        out.previous_ncc_ids.sort();
        out.previous_ncc_ids.dedup();

        if !ncc.created_by_plink && !d.opts.delete_adopted {
            cx.note(format!(
                "releasing NCC {} ({}): plink adopted it, so it stays (--delete-adopted deletes it)",
                ncc.name, ncc.id
            ));
            out.outcome = NccOutcome::Released;
            return cx.record(&out);
        }

        let rules = db
            .list_rules(&ncc.id)
            .await
            .map_err(|e| errors::databricks("listing the NCC's rules", e))?;
        out.other_rule_ids = rules
            .iter()
            .filter(|r| !r.deactivated)
            .map(|r| r.rule_id.clone())
            .collect();
        if !out.other_rule_ids.is_empty() {
            cx.note(format!(
                "keeping NCC {}: it has {} other live private endpoint rule(s) ({})",
                ncc.name,
                out.other_rule_ids.len(),
                out.other_rule_ids.join(", ")
            ));
            return cx.record(&out);
        }

        if !out.bound_workspaces.is_empty() {
            let Some(to) = d.opts.rebind_to.clone() else {
                for ws in &out.bound_workspaces {
                    cx.note(format!(
                        "workspace {ws} is still bound to NCC {}; a binding cannot be removed, only \
                         switched (--rebind-to <ncc-id>), so the NCC is kept",
                        ncc.name
                    ));
                }
                return cx.record(&out);
            };
            if to == ncc.id {
                return Err(StepError::needs_user(
                    format!("--rebind-to names the deployment's own NCC ({to})"),
                    "name another NCC of the same region to switch the workspaces to",
                ));
            }
            check_rebind_target(&d.env, &to).await?;
            for ws in out.bound_workspaces.clone() {
                self.rebind(cx, ws, &ncc.id, &to).await?;
                out.rebound.push(Rebound {
                    workspace_id: ws,
                    from_ncc_id: ncc.id.clone(),
                    to_ncc_id: to.clone(),
                });
                out.bound_workspaces.retain(|w| *w != ws);
                cx.record(&out)?;
            }
        }

        self.delete(cx, &live).await?;
        out.outcome = NccOutcome::Deleted;
        cx.record(&out)
    }
}

impl DownNcc {
    /// Switches workspace `ws` from `from` to `to` and waits until it is RUNNING on `to`.
    async fn rebind(
        &self,
        cx: &StepContext,
        ws: i64,
        from: &str,
        to: &str,
    ) -> Result<(), StepError> {
        let env = &self.0.env;
        let db = &env.databricks;
        cx.begin(
            Intent::new("rebind_workspace")
                .key("workspace_id", ws.to_string())
                .key("from_ncc_id", from)
                .key("to_ncc_id", to),
        )?;
        // PATCH is idempotent: the client retries it on transient errors.
        db.update_workspace_ncc(ws, to)
            .await
            .map_err(|e| errors::databricks(&format!("switching workspace {ws} to NCC {to}"), e))?;
        cx.note(format!("workspace {ws}: switched from NCC {from} to {to}"));
        let policy = env.wait(5, 30, env.workflow.timeouts.workspace);
        cx.wait_for(
            &format!("workspace {ws} to be RUNNING on NCC {to}"),
            &policy,
            || async {
                let w = db
                    .get_workspace(ws)
                    .await
                    .map_err(|e| errors::databricks(&format!("reading workspace {ws}"), e))?;
                match &w.workspace_status {
                    Some(WorkspaceStatus::Running)
                        if w.network_connectivity_config_id.as_deref() == Some(to) =>
                    {
                        Ok(Poll::Ready(()))
                    }
                    Some(WorkspaceStatus::Failed | WorkspaceStatus::Banned) => {
                        Err(StepError::needs_user(
                            format!(
                                "workspace {ws} is {}: {}",
                                w.workspace_status.as_ref().map_or("", |s| s.as_str()),
                                w.workspace_status_message
                                    .as_deref()
                                    .unwrap_or("no message")
                            ),
                            "check the workspace in the account console",
                        ))
                    }
                    status => Ok(Poll::Pending(format!(
                        "status {}, NCC {}",
                        status.as_ref().map_or("unknown", |s| s.as_str()),
                        w.network_connectivity_config_id
                            .as_deref()
                            .unwrap_or("none")
                    ))),
                }
            },
        )
        .await
    }

    /// Deletes the NCC, retrying Databricks' eventually consistent `INVALID_STATE` refusals.
    async fn delete(
        &self,
        cx: &StepContext,
        ncc: &NetworkConnectivityConfig,
    ) -> Result<(), StepError> {
        let env = &self.0.env;
        let db = &env.databricks;
        let id = &ncc.network_connectivity_config_id;
        cx.begin(
            Intent::new("delete_ncc")
                .key("ncc_id", id)
                .key("name", &ncc.name),
        )?;
        let policy = env.wait(5, 30, DELETE_SETTLE_TIMEOUT);
        cx.wait_for(
            "Databricks to accept the NCC delete (refused for a while after its last rule or binding goes)",
            &policy,
            || async {
                match db.delete_ncc(id).await {
                    Ok(()) => Ok(Poll::Ready(())),
                    // A retried delete that had succeeded.
                    Err(e) if e.is_not_found() => Ok(Poll::Ready(())),
                    Err(e) if e.kind() == ErrorKind::InvalidState => {
                        Ok(Poll::Pending(format!("refused: {}", e.message())))
                    }
                    Err(e) => Err(errors::databricks("deleting the NCC", e)),
                }
            },
        )
        .await
    }
}

/// The workspaces bound to `ncc_id`, sorted.
async fn bound_workspaces(db: &AccountClient, ncc_id: &str) -> Result<Vec<i64>, StepError> {
    let mut ids: Vec<i64> = db
        .list_workspaces()
        .await
        .map_err(|e| errors::databricks("listing workspaces", e))?
        .into_iter()
        .filter(|w| w.network_connectivity_config_id.as_deref() == Some(ncc_id))
        .map(|w| w.workspace_id)
        .collect();
    ids.sort_unstable();
    Ok(ids)
}
