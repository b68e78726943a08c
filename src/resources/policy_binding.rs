//! The network policy of each workspace (reference §5.2): `GET/PUT
//! /workspaces/{id}/network`. Every workspace has exactly one policy (`default-policy` unless
//! bound); a binding cannot be removed, only switched.
//!
//! Two kinds: [`PolicyWorkspaces`] checks, before anything is created, that every workspace
//! exists and is not bound to a policy of someone else's (one policy per workspace: binding
//! plink's would silently replace it), and finds the SQL warehouse that reads the denial logs;
//! [`PolicyBinding`] binds them, recording each workspace's previous policy *before* switching it,
//! so that `down` binds it back (else to `default-policy`).

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::generic::plan_lines;
use super::network_policy::denials::{WarehouseRef, find_warehouse};
use super::preflight::{Finding, lookups};
use super::{Change, Cx, Env, Found, Observation, Res, Resource, Teardown, TeardownAction, errors};
use crate::databricks::ErrorKind;
use crate::engine::{Planned, StepError};
use crate::state::Intent;

/// The policy every workspace has unless bound to another one.
pub const DEFAULT_POLICY: &str = "default-policy";

const REPLACE_HINT: &str = "a workspace has one network policy: run `plink up --replace-policy-binding` to switch it to this one \
     (down binds it back to the policy it had), or remove the workspace from databricks.workspace_ids";

/// The current policy of workspace `id`; `None` when there is no such workspace.
async fn lookup(env: &Env, id: i64) -> Res<Option<String>> {
    match env.databricks.get_workspace_network_policy(id).await {
        Ok(option) => Ok(Some(option.network_policy_id)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(errors::databricks(
            &format!("reading the network policy of workspace {id}"),
            e,
        )),
    }
}

/// The current policy of workspace `id`, which must exist.
async fn policy_of(env: &Env, id: i64) -> Res<String> {
    lookup(env, id).await?.ok_or_else(|| {
        StepError::needs_user(
            format!(
                "workspace {id} does not exist in account {}",
                env.databricks.account_id()
            ),
            "check databricks.workspace_ids in the workflow file",
        )
    })
}

/// The read-only check of the workspaces and the warehouse (node `workspaces`).
pub struct PolicyWorkspaces {
    pub policy_id: String,
    pub workspace_ids: Vec<i64>,
    /// `databricks.warehouse_id`, and where the file says it (`file:line:column: key`).
    pub warehouse: Option<(String, String)>,
}

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkspacesRecord {
    /// (workspace id, its policy when checked).
    pub workspaces: Vec<(i64, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warehouse: Option<WarehouseRef>,
}

#[async_trait]
impl Resource for PolicyWorkspaces {
    type Inputs = ();
    type Live = WorkspacesRecord;
    type Record = WorkspacesRecord;
    type Fix = ();

    const NOUN: &'static str = "workspaces";
    const TEARS_DOWN: bool = false;

    fn describe(&self) -> String {
        format!(
            "the network policies of workspace(s) {:?}",
            self.workspace_ids
        )
    }

    fn label(&self, _: &Self::Live) -> String {
        format!("{:?}", self.workspace_ids)
    }

    fn creates(&self) -> bool {
        false
    }

    /// The workspaces exist and are bound to no one else's policy; the warehouse is theirs.
    async fn preflight(&self, cx: &Cx<'_>, _: Option<&()>) -> Vec<Finding> {
        if cx.has_record() {
            return Vec::new();
        }
        lookups(
            self,
            cx,
            &(),
            true,
            "databricks.workspace_ids",
            "the workspaces",
        )
        .await
    }

    async fn find(&self, cx: &Cx<'_>, _: &()) -> Res<Found<Self::Live>> {
        let mut found = WorkspacesRecord::default();
        for &id in &self.workspace_ids {
            found.workspaces.push((id, policy_of(cx.env, id).await?));
        }
        if let Some((warehouse, written_at)) = &self.warehouse {
            found.warehouse =
                find_warehouse(cx.env, warehouse, &self.workspace_ids, written_at).await?;
            if found.warehouse.is_none() && !cx.step.is_plan() {
                cx.note(format!(
                    "SQL warehouse {warehouse}: the workspaces refuse plink's requests (context-based ingress?); \
                     the denial logs cannot be read until the ingress rules let plink in"
                ));
            }
        }
        Ok(Found::Recorded(found))
    }

    /// A workspace bound to a policy other than the default and this one needs the user.
    async fn compare(&self, cx: &Cx<'_>, _: &(), live: &Self::Live) -> Res<Vec<Change<()>>> {
        let bound_elsewhere: Vec<String> = live
            .workspaces
            .iter()
            .filter(|(_, p)| p != DEFAULT_POLICY && p != &self.policy_id)
            .map(|(id, p)| format!("workspace {id} is bound to network policy {p}"))
            .collect();
        if bound_elsewhere.is_empty() {
            return Ok(Vec::new());
        }
        if cx.env.options.replace_policy_binding {
            cx.note(format!(
                "{}: switching (--replace-policy-binding)",
                bound_elsewhere.join("; ")
            ));
            return Ok(Vec::new());
        }
        Err(StepError::needs_user(
            format!(
                "{}; binding {} would replace it",
                bound_elsewhere.join("; "),
                self.policy_id
            ),
            REPLACE_HINT,
        ))
    }

    async fn record(&self, _: &Cx<'_>, _: &(), live: &Self::Live) -> Res<Self::Record> {
        Ok(live.clone())
    }

    fn summary(&self, live: &Self::Live) -> String {
        let each: Vec<String> = live
            .workspaces
            .iter()
            .map(|(id, p)| format!("{id} on {p}"))
            .collect();
        let warehouse = live.warehouse.as_ref().map_or(String::new(), |w| {
            format!(
                "; SQL warehouse {} in workspace {}",
                w.warehouse_id, w.workspace_id
            )
        });
        format!("workspace(s) {}{warehouse}", each.join(", "))
    }
}

/// The bindings (node `bind`).
pub struct PolicyBinding {
    pub workspace_ids: Vec<i64>,
    pub timeout: Duration,
}

/// What upstream decides: the policy to bind.
pub struct PolicyBindingInputs {
    pub policy_id: String,
}

/// What the state keeps: each workspace plink bound, and the policy it had before.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyBindingRecord {
    pub workspaces: Vec<BoundWorkspace>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundWorkspace {
    pub workspace_id: i64,
    pub network_policy_id: String,
    /// The policy the workspace had before plink bound it (what `down` binds back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_policy_id: Option<String>,
}

/// What the teardown records: each workspace bound back, and to which policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rebound {
    pub rebound: Vec<(i64, String)>,
}

impl PolicyBinding {
    async fn bind_one(
        &self,
        cx: &Cx<'_>,
        rec: &mut PolicyBindingRecord,
        id: i64,
        policy: &str,
    ) -> Res<()> {
        let current = policy_of(cx.env, id).await?;
        let known = rec.workspaces.iter().position(|w| w.workspace_id == id);
        let previous = known.and_then(|i| rec.workspaces[i].previous_policy_id.clone());
        let entry = BoundWorkspace {
            workspace_id: id,
            network_policy_id: policy.to_owned(),
            // First sight wins: a workspace already on this policy before plink keeps it.
            previous_policy_id: previous.or_else(|| Some(current.clone())),
        };
        match known {
            Some(i) => rec.workspaces[i] = entry,
            None => rec.workspaces.push(entry),
        }
        // Recorded before the switch: a crash after it must not lose what to bind back.
        cx.step.record(&*rec)?;
        if current == policy {
            return Ok(());
        }
        cx.note(format!(
            "workspace {id}: binding network policy {policy} (was {current})"
        ));
        cx.begin(
            Intent::new("bind_network_policy")
                .key("workspace_id", id.to_string())
                .key("network_policy_id", policy),
        )?;
        // PUT is idempotent: the client retries it on transient errors.
        cx.env
            .databricks
            .set_workspace_network_policy(id, policy)
            .await
            .map_err(|e| errors::databricks(&format!("binding workspace {id}"), e))?;
        // Recorded again: the switch happened (resolves the intent).
        cx.step.record(&*rec)
    }

    /// Where `down` binds workspace `w` back to: the one lookup of its teardown
    /// ([`unbind_one`](Self::unbind_one)) and of its plan.
    async fn back(&self, cx: &Cx<'_>, w: &BoundWorkspace) -> Res<Back> {
        let Some(current) = lookup(cx.env, w.workspace_id).await? else {
            return Ok(Back::Gone);
        };
        if current != w.network_policy_id {
            return Ok(Back::Moved(current));
        }
        let previous = w
            .previous_policy_id
            .clone()
            .filter(|p| p != &w.network_policy_id && p != DEFAULT_POLICY);
        let Some(previous) = previous else {
            return Ok(Back::To {
                policy: DEFAULT_POLICY.to_owned(),
                instead_of: None,
            });
        };
        match cx.env.databricks.get_network_policy(&previous).await {
            Ok(_) => Ok(Back::To {
                policy: previous,
                instead_of: None,
            }),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Back::To {
                policy: DEFAULT_POLICY.to_owned(),
                instead_of: Some(previous),
            }),
            Err(e) => Err(errors::databricks(
                &format!("reading network policy {previous}"),
                e,
            )),
        }
    }

    /// Binds workspace `w` back to its previous policy (if it still exists), else to the
    /// default one ([`back`](Self::back)). Says which policy it bound.
    async fn unbind_one(&self, cx: &Cx<'_>, w: &BoundWorkspace) -> Res<Option<String>> {
        let id = w.workspace_id;
        let back = match self.back(cx, w).await? {
            Back::Gone => {
                cx.note(format!(
                    "workspace {id} no longer exists: nothing to bind back"
                ));
                return Ok(None);
            }
            Back::Moved(current) => {
                cx.note(format!(
                    "workspace {id} is on network policy {current} now (not plink's {}): left as it is",
                    w.network_policy_id
                ));
                return Ok(None);
            }
            Back::To { policy, instead_of } => {
                if let Some(gone) = instead_of {
                    cx.note(format!(
                        "workspace {id}: its previous network policy {gone} no longer exists; binding {DEFAULT_POLICY}"
                    ));
                }
                policy
            }
        };
        cx.note(format!(
            "workspace {id}: binding back network policy {back}"
        ));
        cx.begin(
            Intent::new("unbind_network_policy")
                .key("workspace_id", id.to_string())
                .key("network_policy_id", &back),
        )?;
        cx.env
            .databricks
            .set_workspace_network_policy(id, &back)
            .await
            .map_err(|e| errors::databricks(&format!("binding back workspace {id}"), e))?;
        Ok(Some(back))
    }
}

/// Where `down` binds a workspace back to.
enum Back {
    /// The workspace no longer exists: nothing to bind back.
    Gone,
    /// It is on another policy than plink's now (this one): left as it is.
    Moved(String),
    /// Bound back to `policy`: the one it had before plink, else `default-policy` — instead of
    /// the previous one when that no longer exists (`instead_of`).
    To {
        policy: String,
        instead_of: Option<String>,
    },
}

#[async_trait]
impl Resource for PolicyBinding {
    type Inputs = PolicyBindingInputs;
    type Live = Vec<(i64, String)>;
    type Record = PolicyBindingRecord;
    type Fix = ();

    const NOUN: &'static str = "policy binding";

    fn describe(&self) -> String {
        format!(
            "bind the network policy to workspace(s) {:?}",
            self.workspace_ids
        )
    }

    fn label(&self, _: &Self::Live) -> String {
        format!("{:?}", self.workspace_ids)
    }

    async fn find(&self, cx: &Cx<'_>, _: &Self::Inputs) -> Res<Found<Self::Live>> {
        let mut found = Vec::new();
        for &id in &self.workspace_ids {
            found.push((id, policy_of(cx.env, id).await?));
        }
        Ok(Found::Recorded(found))
    }

    /// Binds each workspace of the file; a workspace plink bound that left the file is bound
    /// back to its previous policy first.
    async fn converge(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<()> {
        let mut rec: PolicyBindingRecord = cx.recorded();
        let left: Vec<BoundWorkspace> = rec
            .workspaces
            .iter()
            .filter(|w| !self.workspace_ids.contains(&w.workspace_id))
            .cloned()
            .collect();
        for w in left {
            self.unbind_one(cx, &w).await?;
            rec.workspaces.retain(|r| r.workspace_id != w.workspace_id);
            cx.step.record(&rec)?;
        }
        for &id in &self.workspace_ids {
            self.bind_one(cx, &mut rec, id, &inputs.policy_id).await?;
        }
        Ok(())
    }

    async fn plan(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Planned> {
        let mut lines = Vec::new();
        let rec: PolicyBindingRecord = cx.recorded();
        for w in rec
            .workspaces
            .iter()
            .filter(|w| !self.workspace_ids.contains(&w.workspace_id))
        {
            if lookup(cx.env, w.workspace_id).await?.as_deref()
                == Some(w.network_policy_id.as_str())
            {
                lines.push(Planned::update(format!(
                    "workspace {} left the file: up binds back {}",
                    w.workspace_id,
                    w.previous_policy_id.as_deref().unwrap_or(DEFAULT_POLICY)
                )));
            }
        }
        for &id in &self.workspace_ids {
            let current = policy_of(cx.env, id).await?;
            lines.push(if current == inputs.policy_id {
                Planned::no_change(format!("workspace {id} on network policy {current}"))
            } else {
                Planned::update(format!(
                    "workspace {id}: up binds network policy {} (now {current})",
                    inputs.policy_id
                ))
            });
        }
        Ok(plan_lines(lines))
    }

    async fn record(&self, cx: &Cx<'_>, _: &Self::Inputs, _: &Self::Live) -> Res<Self::Record> {
        Ok(cx.recorded())
    }

    async fn observe(
        &self,
        env: &Env,
        _: &Self::Record,
        inputs: Option<&Self::Inputs>,
    ) -> Observation {
        let mut o = Observation::default();
        let ours = inputs.map(|i| i.policy_id.as_str());
        let mut views = Vec::new();
        for &id in &self.workspace_ids {
            match policy_of(env, id).await {
                Ok(p) => {
                    let bound = ours == Some(p.as_str());
                    o.line(
                        "workspace",
                        format!(
                            "{id} on network policy {p}{}",
                            if bound {
                                ""
                            } else {
                                " (NOT this deployment's)"
                            }
                        ),
                    );
                    views.push(serde_json::json!({"workspace_id": id, "network_policy_id": p, "bound": bound}));
                }
                Err(e) => o.error(&format!("workspace {id}"), e),
            }
        }
        o.set("workspaces", views);
        o
    }

    /// What `down` would do to each workspace plink bound ([`back`](PolicyBinding::back)): bind
    /// it back (`restore`), or leave one that moved to another policy since (`release`).
    async fn teardown_plan(&self, cx: &Cx<'_>, _: Option<&Self::Inputs>) -> Res<Vec<Teardown>> {
        let rec: PolicyBindingRecord = cx.recorded();
        let mut out = Vec::new();
        for w in &rec.workspaces {
            let id = w.workspace_id;
            let (action, detail) = match self.back(cx, w).await? {
                Back::Gone => continue,
                Back::Moved(current) => (
                    TeardownAction::Release,
                    format!(
                        "workspace {id} is on network policy {current} now, not plink's {}: down leaves it as it is",
                        w.network_policy_id
                    ),
                ),
                Back::To { policy, instead_of } => (
                    TeardownAction::Restore,
                    match (instead_of, &w.previous_policy_id) {
                        (Some(gone), _) => format!(
                            "workspace {id}: down binds {policy} (its previous network policy {gone} no longer exists)"
                        ),
                        (None, Some(previous)) if previous == &policy => format!(
                            "workspace {id}: down binds back network policy {policy}, the one it had before plink"
                        ),
                        (None, _) => format!("workspace {id}: down binds {policy}"),
                    },
                ),
            };
            out.push(Teardown::new(action, id.to_string(), detail));
        }
        Ok(out)
    }

    /// Binds every workspace plink bound back to the policy it had before.
    async fn teardown(&self, cx: &Cx<'_>, _: Option<&Self::Inputs>) -> Res<()> {
        let rec: PolicyBindingRecord = cx.recorded();
        let mut out = Rebound::default();
        for w in &rec.workspaces {
            if let Some(back) = self.unbind_one(cx, w).await? {
                out.rebound.push((w.workspace_id, back));
                cx.step.record(&out)?;
            }
        }
        Ok(())
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }
}
