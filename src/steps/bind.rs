//! `bind`: attach the NCC to each workspace and wait until it is `RUNNING` (reference §4).
//!
//! A binding can be switched but never removed (databricks-sdk-go #1030, TF #3741), and binding
//! silently replaces another NCC (TF #5399): plink refuses to replace one unless asked.

use async_trait::async_trait;

use super::outputs::{BindOut, BoundWorkspace, NccOut};
use super::{Env, errors};
use crate::databricks::{ErrorKind, Workspace, WorkspaceStatus};
use crate::engine::{PlanAction, Planned, Poll, Step, StepContext, StepError, StepId};
use crate::state::Intent;

pub struct BindStep(pub Env);

#[async_trait]
impl Step for BindStep {
    fn id(&self) -> StepId {
        "bind"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec!["established"]
    }

    fn describe(&self) -> String {
        format!(
            "bind the NCC to workspace(s) {:?}",
            self.0.workflow.databricks.workspace_ids
        )
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let env = &self.0;
        let ncc: NccOut = cx.output("ncc")?;
        let previous = cx
            .recorded::<BindOut>()
            .map(|b| b.workspaces)
            .unwrap_or_default();
        let mut bound = Vec::new();
        for &id in &env.workflow.databricks.workspace_ids {
            let replaced = previous
                .iter()
                .find(|w| w.workspace_id == id)
                .and_then(|w| w.replaced_ncc_id.clone());
            let replaced = self.bind_one(cx, id, &ncc.ncc_id).await?.or(replaced);
            bound.push(BoundWorkspace {
                workspace_id: id,
                ncc_id: ncc.ncc_id.clone(),
                replaced_ncc_id: replaced,
            });
            cx.record(&BindOut {
                workspaces: bound.clone(),
            })?;
        }
        Ok(())
    }

    async fn plan(&self, cx: &StepContext) -> Result<Planned, StepError> {
        let ncc: NccOut = cx.output("ncc")?;
        let mut lines = Vec::new();
        for &id in &self.0.workflow.databricks.workspace_ids {
            lines.push(self.plan_one(id, &ncc.ncc_id).await?);
        }
        // The line that needs the most attention sets the action: a stop or a wait, then a change.
        let action = [PlanAction::Wait, PlanAction::Update]
            .into_iter()
            .find(|a| lines.iter().any(|l| &l.action == a))
            .unwrap_or(PlanAction::NoChange);
        let detail: Vec<String> = lines.into_iter().map(|l| l.detail).collect();
        Ok(Planned::new(action, detail.join("; ")))
    }
}

impl BindStep {
    /// Binds one workspace; returns the NCC it replaced, if any.
    async fn bind_one(
        &self,
        cx: &StepContext,
        id: i64,
        ncc_id: &str,
    ) -> Result<Option<String>, StepError> {
        let env = &self.0;
        let db = &env.databricks;
        let ws = self.workspace(id).await?;
        let binding = self.binding(&ws, ncc_id)?;
        let mut replaced = None;
        match &binding {
            Binding::Ours { .. } => {}
            Binding::Elsewhere(other) if !env.replace_ncc_binding => {
                return Err(StepError::needs_user(
                    format!(
                        "workspace {id} is bound to another NCC ({other}); binding this one would replace it"
                    ),
                    REPLACE_HINT,
                ));
            }
            Binding::Elsewhere(other) => {
                cx.note(format!(
                    "workspace {id}: replacing NCC {other} (--replace-ncc-binding)"
                ));
                replaced = Some(other.clone());
            }
            Binding::Unbound => {}
        }
        if !matches!(binding, Binding::Ours { .. }) {
            cx.begin(
                Intent::new("bind_ncc")
                    .key("workspace_id", id.to_string())
                    .key("ncc_id", ncc_id),
            )?;
            // PATCH is idempotent: the client retries it on transient errors.
            db.update_workspace_ncc(id, ncc_id)
                .await
                .map_err(|e| errors::databricks(&format!("binding workspace {id}"), e))?;
        }
        if !matches!(binding, Binding::Ours { running: true }) {
            let policy = env.wait(5, 30, env.workflow.timeouts.workspace);
            cx.wait_for(
                &format!("workspace {id} to be RUNNING"),
                &policy,
                || async {
                    let ws = db
                        .get_workspace(id)
                        .await
                        .map_err(|e| errors::databricks(&format!("reading workspace {id}"), e))?;
                    match &ws.workspace_status {
                        Some(WorkspaceStatus::Running)
                            if ws.network_connectivity_config_id.as_deref() == Some(ncc_id) =>
                        {
                            Ok(Poll::Ready(()))
                        }
                        Some(WorkspaceStatus::Failed | WorkspaceStatus::Banned) => {
                            Err(StepError::needs_user(
                                format!(
                                    "workspace {id} is {}: {}",
                                    ws.workspace_status.as_ref().map_or("", |s| s.as_str()),
                                    ws.workspace_status_message
                                        .as_deref()
                                        .unwrap_or("no message")
                                ),
                                "check the workspace in the account console",
                            ))
                        }
                        status => Ok(Poll::Pending(format!(
                            "status {}, NCC {}",
                            status.as_ref().map_or("unknown", |s| s.as_str()),
                            ws.network_connectivity_config_id
                                .as_deref()
                                .unwrap_or("none")
                        ))),
                    }
                },
            )
            .await?;
        }
        Ok(replaced)
    }

    /// What `bind_one` would do to workspace `id`, in one plan line.
    async fn plan_one(&self, id: i64, ncc_id: &str) -> Result<Planned, StepError> {
        let ws = self.workspace(id).await?;
        Ok(match self.binding(&ws, ncc_id)? {
            Binding::Ours { running: true } => {
                Planned::no_change(format!("workspace {id} bound, RUNNING"))
            }
            Binding::Ours { running: false } => Planned::wait(format!(
                "workspace {id} bound, {}: up waits until it is RUNNING",
                ws.workspace_status
                    .as_ref()
                    .map_or("no status", |s| s.as_str())
            )),
            Binding::Unbound => Planned::update(format!("workspace {id}: up binds the NCC")),
            Binding::Elsewhere(other) if self.0.replace_ncc_binding => Planned::update(format!(
                "workspace {id} is bound to another NCC ({other}): up switches it to this one (--replace-ncc-binding)"
            )),
            Binding::Elsewhere(other) => Planned::wait(format!(
                "workspace {id} is bound to another NCC ({other}): up stops here; {REPLACE_HINT}"
            )),
        })
    }

    /// Workspace `id`, which must exist.
    async fn workspace(&self, id: i64) -> Result<Workspace, StepError> {
        let db = &self.0.databricks;
        db.get_workspace(id).await.map_err(|e| match e.kind() {
            ErrorKind::NotFound => StepError::needs_user(
                format!(
                    "workspace {id} does not exist in account {}",
                    db.account_id()
                ),
                "check databricks.workspace_ids in the workflow file",
            ),
            _ => errors::databricks(&format!("reading workspace {id}"), e),
        })
    }

    /// Where the workspace's binding stands against `ncc_id`; a workspace of another region
    /// needs the user.
    fn binding(&self, ws: &Workspace, ncc_id: &str) -> Result<Binding, StepError> {
        if let Some(region) = ws.aws_region.as_deref()
            && region != self.0.region()
        {
            return Err(StepError::needs_user(
                format!(
                    "workspace {} is in {region}, the NCC in {}",
                    ws.workspace_id,
                    self.0.region()
                ),
                "an NCC can only be bound to workspaces of its own region: list only workspaces of this region",
            ));
        }
        let current = ws
            .network_connectivity_config_id
            .clone()
            .filter(|c| !c.is_empty());
        Ok(match current {
            Some(c) if c == ncc_id => Binding::Ours {
                running: running(ws),
            },
            Some(other) => Binding::Elsewhere(other),
            None => Binding::Unbound,
        })
    }
}

/// A workspace's binding, seen from the deployment's NCC.
enum Binding {
    /// Bound to the deployment's NCC.
    Ours { running: bool },
    /// Bound to no NCC.
    Unbound,
    /// Bound to another NCC: switching it needs `--replace-ncc-binding`.
    Elsewhere(String),
}

const REPLACE_HINT: &str = "a workspace has one NCC, which can be switched but never removed: run `plink up --replace-ncc-binding` \
                         to switch it (its other private endpoint rules stop applying to this workspace)";

fn running(ws: &Workspace) -> bool {
    ws.workspace_status == Some(WorkspaceStatus::Running)
}
