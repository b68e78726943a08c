//! The binding of the NCC to each workspace, until the workspace is `RUNNING` on it (reference
//! §4).
//!
//! A binding can be switched but never removed (databricks-sdk-go #1030, TF #3741), and binding
//! silently replaces another NCC (TF #5399): plink refuses to replace one unless asked
//! (`--replace-ncc-binding`). Teardown has nothing of its own to do: the NCC's teardown switches
//! the bindings (`--rebind-to`) when it deletes the NCC.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::generic::plan_lines;
use super::preflight::Finding;
use super::{Cx, Env, Found, Observation, Res, Resource, errors, without_nulls};
use crate::config::{MAX_WORKSPACES_PER_NCC, NccSelector};
use crate::databricks::{AccountClient, ErrorKind, Workspace, WorkspaceStatus};
use crate::engine::{Planned, Poll, StepError};
use crate::state::Intent;

/// The bindings the workflow wants.
pub struct Binding {
    pub workspace_ids: Vec<i64>,
    pub timeout: Duration,
    /// The file's NCC, for the preflight (before the `ncc` node recorded its id): is a
    /// workspace's current NCC this one?
    pub ncc: NccSelector,
}

/// What upstream decides: the NCC to bind.
pub struct BindingInputs {
    pub ncc_id: String,
}

/// What the state keeps: which NCC each workspace is bound to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BindingRecord {
    pub workspaces: Vec<BoundWorkspace>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundWorkspace {
    pub workspace_id: i64,
    pub ncc_id: String,
    /// The NCC this workspace was bound to before plink switched it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_ncc_id: Option<String>,
}

/// A workspace's binding, seen from the deployment's NCC.
enum Bound {
    /// Bound to the deployment's NCC.
    Ours { running: bool },
    /// Bound to no NCC.
    Unbound,
    /// Bound to another NCC: switching it needs `--replace-ncc-binding`.
    Elsewhere(String),
}

const REPLACE_HINT: &str = "a workspace has one NCC, which can be switched but never removed: run `plink up --replace-ncc-binding` \
                         to switch it (its other private endpoint rules stop applying to this workspace)";

impl Binding {
    /// Workspace `id`, which must exist.
    async fn workspace(env: &Env, id: i64) -> Res<Workspace> {
        let db = &env.databricks;
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
    fn bound(env: &Env, ws: &Workspace, ncc_id: &str) -> Res<Bound> {
        if let Some(region) = ws.aws_region.as_deref()
            && region != env.region()
        {
            return Err(StepError::needs_user(
                format!(
                    "workspace {} is in {region}, the NCC in {}",
                    ws.workspace_id,
                    env.region()
                ),
                "an NCC can only be bound to workspaces of its own region: list only workspaces of this region",
            ));
        }
        let current = ws
            .network_connectivity_config_id
            .clone()
            .filter(|c| !c.is_empty());
        Ok(match current {
            Some(c) if c == ncc_id => Bound::Ours {
                running: ws.workspace_status == Some(WorkspaceStatus::Running),
            },
            Some(other) => Bound::Elsewhere(other),
            None => Bound::Unbound,
        })
    }

    /// Binds one workspace and records it in `done` (with the NCC it replaced, else
    /// `replaced_before`), then waits for it to run. Recorded before the wait, so that a run
    /// stopped while the workspace updates leaves no PATCH in flight and keeps the NCC it
    /// replaced (`down --rebind-to`'s natural target).
    async fn bind_one(
        &self,
        cx: &Cx<'_>,
        id: i64,
        ncc_id: &str,
        replaced_before: Option<String>,
        done: &mut Vec<BoundWorkspace>,
    ) -> Res<()> {
        let env = cx.env;
        let ws = Self::workspace(env, id).await?;
        let bound = Self::bound(env, &ws, ncc_id)?;
        let mut replaced = None;
        match &bound {
            Bound::Elsewhere(other) if !env.options.replace_ncc_binding => {
                return Err(StepError::needs_user(
                    format!(
                        "workspace {id} is bound to another NCC ({other}); binding this one would replace it"
                    ),
                    REPLACE_HINT,
                ));
            }
            Bound::Elsewhere(other) => {
                cx.note(format!(
                    "workspace {id}: replacing NCC {other} (--replace-ncc-binding)"
                ));
                replaced = Some(other.clone());
            }
            Bound::Ours { .. } | Bound::Unbound => {}
        }
        let seen = if matches!(bound, Bound::Ours { .. }) {
            ws
        } else {
            cx.begin(
                Intent::new("bind_ncc")
                    .key("workspace_id", id.to_string())
                    .key("ncc_id", ncc_id),
            )?;
            // PATCH is idempotent: the client retries it on transient errors.
            env.databricks
                .update_workspace_ncc(id, ncc_id)
                .await
                .map_err(|e| errors::databricks(&format!("binding workspace {id}"), e))?
        };
        done.push(BoundWorkspace {
            workspace_id: id,
            ncc_id: ncc_id.to_owned(),
            replaced_ncc_id: replaced.or(replaced_before),
        });
        cx.step.record(&BindingRecord {
            workspaces: done.clone(),
        })?;
        if !matches!(bound, Bound::Ours { running: true }) {
            wait_running(cx, id, &seen, ncc_id, self.timeout).await?;
        }
        Ok(())
    }

    /// The ids the deployment's NCC may have once `up` reached the binding: the recorded one,
    /// and the one its lookup would find — named by id, or by name in the region (the list the
    /// NCC's own preflight made just before; a recorded NCC that vanished is replaced by it).
    async fn ncc_ids(
        env: &Env,
        inputs: Option<&BindingInputs>,
        ncc: &NccSelector,
    ) -> Res<Vec<String>> {
        let mut ids: Vec<String> = inputs
            .map(|i| i.ncc_id.clone())
            .filter(|i| !i.is_empty())
            .into_iter()
            .collect();
        ids.extend(match ncc {
            NccSelector::Id(id) => Some(id.clone()),
            NccSelector::Name(name) => env
                .nccs_for_limits()
                .await?
                .into_iter()
                .find(|n| n.name == name.as_str())
                .map(|n| n.network_connectivity_config_id),
        });
        Ok(ids)
    }

    /// Workspace `id` of the file (at `key`) can be bound to the deployment's NCC (one of
    /// `ncc_ids`): it exists, is in the region, is not failed, and is bound to no other NCC
    /// unless `--replace-ncc-binding`.
    async fn preflight_one(
        &self,
        env: &Env,
        id: i64,
        ncc_ids: &[String],
        key: &str,
    ) -> Option<Finding> {
        let what = format!("workspace {id}");
        let ws = match Self::workspace(env, id).await {
            Ok(ws) => ws,
            Err(e) => return Some(Finding::from_error(key, what, &e)),
        };
        let ncc_id = ws
            .network_connectivity_config_id
            .as_ref()
            .filter(|c| ncc_ids.contains(c))
            .or(ncc_ids.first())
            .cloned()
            .unwrap_or_default();
        match Self::bound(env, &ws, &ncc_id) {
            Err(e) => Some(Finding::from_error(key, what, &e)),
            Ok(Bound::Elsewhere(other)) if !env.options.replace_ncc_binding => Some(Finding::new(
                key,
                what,
                format!(
                    "workspace {id} is bound to another NCC ({other}); binding this one would replace it"
                ),
                REPLACE_HINT,
            )),
            Ok(_) => match running_on(id, &ws, "") {
                Err(e) => Some(Finding::from_error(key, what, &e)),
                Ok(_) => None,
            },
        }
    }

    /// Room in NCC `ncc_id` for the workspaces of `adding` it does not hold yet (Databricks:
    /// 50 workspaces per NCC, field update §1.5).
    async fn check_room(&self, env: &Env, ncc_id: &str, adding: &[(usize, i64)]) -> Res<()> {
        let bound = bound_workspaces(&env.databricks, ncc_id).await?;
        let Some(new) = over_limit(&bound, adding.iter().map(|&(_, id)| id)) else {
            return Ok(());
        };
        Err(StepError::needs_user(
            format!(
                "NCC {ncc_id} already has {} workspace(s); binding {new} more would pass the limit of {MAX_WORKSPACES_PER_NCC}",
                bound.len()
            ),
            "use another NCC for these workspaces (databricks.ncc), or unbind some from this one",
        ))
    }

    /// What `bind_one` would do to workspace `id`, in one plan line.
    async fn plan_one(&self, env: &Env, id: i64, ncc_id: &str) -> Res<Planned> {
        let ws = Self::workspace(env, id).await?;
        Ok(match Self::bound(env, &ws, ncc_id)? {
            Bound::Ours { running: true } => {
                Planned::no_change(format!("workspace {id} bound, RUNNING"))
            }
            Bound::Ours { running: false } => Planned::wait(format!(
                "workspace {id} bound, {}: up waits until it is RUNNING",
                ws.workspace_status
                    .as_ref()
                    .map_or("no status", |s| s.as_str())
            )),
            Bound::Unbound => Planned::update(format!("workspace {id}: up binds the NCC")),
            Bound::Elsewhere(other) if env.options.replace_ncc_binding => Planned::update(format!(
                "workspace {id} is bound to another NCC ({other}): up switches it to this one (--replace-ncc-binding)"
            )),
            Bound::Elsewhere(other) => Planned::wait(format!(
                "workspace {id} is bound to another NCC ({other}): up stops here; {REPLACE_HINT}"
            )),
        })
    }
}

#[async_trait]
impl Resource for Binding {
    type Inputs = BindingInputs;
    type Live = Vec<Workspace>;
    type Record = BindingRecord;
    type Fix = ();

    const NOUN: &'static str = "binding";
    const TEARS_DOWN: bool = false;

    fn describe(&self) -> String {
        format!("bind the NCC to workspace(s) {:?}", self.workspace_ids)
    }

    fn label(&self, _: &Self::Live) -> String {
        format!("{:?}", self.workspace_ids)
    }

    /// Each workspace not yet recorded as bound to the deployment's NCC (issue #16).
    async fn preflight(&self, cx: &Cx<'_>, inputs: Option<&Self::Inputs>) -> Vec<Finding> {
        let env = cx.env;
        let recorded: BindingRecord = cx.recorded();
        let recorded_ncc = inputs.map_or("", |i| i.ncc_id.as_str());
        // Bound by a run of this deployment: proven, and read again by `up` itself.
        let unproven: Vec<(usize, i64)> = self
            .workspace_ids
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, id)| {
                recorded_ncc.is_empty()
                    || !recorded
                        .workspaces
                        .iter()
                        .any(|w| w.workspace_id == id && w.ncc_id == recorded_ncc)
            })
            .collect();
        if unproven.is_empty() {
            return Vec::new();
        }
        let ncc_ids = match Self::ncc_ids(env, inputs, &self.ncc).await {
            Ok(ids) => ids,
            Err(e) => return vec![Finding::from_error("databricks.ncc", "the NCC", &e)],
        };
        let mut findings = Vec::new();
        for &(i, id) in &unproven {
            let key = format!("databricks.workspace_ids[{i}]");
            findings.extend(self.preflight_one(env, id, &ncc_ids, &key).await);
        }
        // An NCC that exists (adopted, shared) may already hold workspaces: 50 at most.
        if let Some(ncc_id) = ncc_ids.last() {
            let result = self.check_room(env, ncc_id, &unproven).await;
            findings.extend(Finding::of(
                "databricks.workspace_ids",
                "the NCC's workspaces",
                &result,
            ));
        }
        findings
    }

    async fn find(&self, cx: &Cx<'_>, _: &Self::Inputs) -> Res<Found<Self::Live>> {
        let mut found = Vec::new();
        for &id in &self.workspace_ids {
            found.push(Self::workspace(cx.env, id).await?);
        }
        Ok(Found::Recorded(found))
    }

    /// Binds each workspace in turn, recording each as soon as its PATCH is answered.
    async fn converge(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<()> {
        let previous: BindingRecord = cx.recorded();
        let mut done = Vec::new();
        for &id in &self.workspace_ids {
            let replaced = previous
                .workspaces
                .iter()
                .find(|w| w.workspace_id == id)
                .and_then(|w| w.replaced_ncc_id.clone());
            self.bind_one(cx, id, &inputs.ncc_id, replaced, &mut done)
                .await?;
        }
        Ok(())
    }

    /// One line per workspace.
    async fn plan(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Planned> {
        let mut lines = Vec::new();
        for &id in &self.workspace_ids {
            lines.push(self.plan_one(cx.env, id, &inputs.ncc_id).await?);
        }
        Ok(plan_lines(lines))
    }

    async fn record(&self, cx: &Cx<'_>, _: &Self::Inputs, _: &Self::Live) -> Res<Self::Record> {
        Ok(cx.recorded())
    }

    /// Each workspace of the file, and each one the state records as bound.
    async fn observe(
        &self,
        env: &Env,
        rec: &Self::Record,
        inputs: Option<&Self::Inputs>,
    ) -> Observation {
        let mut o = Observation::default();
        let mut ids = self.workspace_ids.clone();
        ids.extend(
            rec.workspaces
                .iter()
                .map(|w| w.workspace_id)
                .filter(|id| !self.workspace_ids.contains(id)),
        );
        let ncc = inputs.map(|i| i.ncc_id.as_str()).filter(|n| !n.is_empty());
        let mut views = Vec::new();
        for id in ids {
            let ws = match env.databricks.get_workspace(id).await {
                Ok(ws) => ws,
                Err(err) => {
                    o.error(&format!("workspace {id}"), err);
                    continue;
                }
            };
            let bound_ncc = ws.network_connectivity_config_id.filter(|s| !s.is_empty());
            let ours = ncc.is_some() && bound_ncc.as_deref() == ncc;
            let status = ws.workspace_status.map(|s| s.as_str().to_owned());
            o.line(
                "workspace",
                format!(
                    "{id} {} (NCC {}), {}",
                    if ours {
                        "bound to this NCC"
                    } else {
                        "NOT bound to this NCC"
                    },
                    bound_ncc.as_deref().unwrap_or("none"),
                    status.as_deref().unwrap_or("-")
                ),
            );
            views.push(without_nulls(json!({
                "workspace_id": id,
                "bound_ncc_id": bound_ncc,
                "bound_to_deployment_ncc": ours,
                "status": status,
            })));
        }
        o.set("workspaces", views);
        o
    }
}

/// How a wait for a workspace to be `RUNNING` again after an update polls (the prior and the cap
/// of [`Env::wait`]). The only figure for an NCC binding is issue #13's "workspace update ~1 min"
/// (field update §5.1 and reference §4.4: UNCONFIRMED, likely stays `RUNNING`, and then the
/// PATCH's answer says so and nothing is waited for): nothing to see before that minute.
pub(super) const WORKSPACE_POLL_SECS: (u64, u64) = (60, 30);

/// The workspaces bound to `ncc_id`, sorted.
pub(super) async fn bound_workspaces(db: &AccountClient, ncc_id: &str) -> Res<Vec<i64>> {
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

/// Waits until workspace `id` is `RUNNING` on `ncc_id` (the SDK waiter's semantics: `FAILED` and
/// `BANNED` stop; any other status keeps waiting, reference §4.4), starting from `seen`, the
/// workspace as just read or as the PATCH answered (no look that could only see the same).
///
/// # Errors
/// [`StepError::NeedsUser`] for a failed or banned workspace; a timeout; a read failure.
pub(super) async fn wait_running(
    cx: &Cx<'_>,
    id: i64,
    seen: &Workspace,
    ncc_id: &str,
    timeout: Duration,
) -> Res<()> {
    let seen = match running_on(id, seen, ncc_id)? {
        Poll::Ready(()) => return Ok(()),
        Poll::Pending(seen) => seen,
    };
    let db = &cx.env.databricks;
    let (prior, cap) = WORKSPACE_POLL_SECS;
    let policy = cx.env.wait(prior, cap, timeout);
    cx.step
        .wait_after(
            &format!("workspace {id} to be RUNNING on NCC {ncc_id}"),
            &policy,
            seen,
            || async {
                let ws = db
                    .get_workspace(id)
                    .await
                    .map_err(|e| errors::databricks(&format!("reading workspace {id}"), e))?;
                running_on(id, &ws, ncc_id)
            },
        )
        .await
}

/// Whether workspace `id` (as `ws` shows it) is `RUNNING` on `ncc_id`; an error if it failed.
fn running_on(id: i64, ws: &Workspace, ncc_id: &str) -> Res<Poll<()>> {
    match &ws.workspace_status {
        Some(WorkspaceStatus::Running)
            if ws.network_connectivity_config_id.as_deref() == Some(ncc_id) =>
        {
            Ok(Poll::Ready(()))
        }
        Some(WorkspaceStatus::Failed | WorkspaceStatus::Banned) => Err(StepError::needs_user(
            format!(
                "workspace {id} is {}: {}",
                ws.workspace_status.as_ref().map_or("", |s| s.as_str()),
                ws.workspace_status_message
                    .as_deref()
                    .unwrap_or("no message")
            ),
            "check the workspace in the account console",
        )),
        status => Ok(Poll::Pending(format!(
            "status {}, NCC {}",
            status.as_ref().map_or("unknown", |s| s.as_str()),
            ws.network_connectivity_config_id
                .as_deref()
                .unwrap_or("none")
        ))),
    }
}

/// How many of `adding` an NCC holding `bound` would take in, when that passes the limit of
/// workspaces per NCC; `None` when they fit.
fn over_limit(bound: &[i64], adding: impl Iterator<Item = i64>) -> Option<usize> {
    let new = adding.filter(|id| !bound.contains(id)).count();
    (bound.len() + new > MAX_WORKSPACES_PER_NCC).then_some(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspaces_already_bound_to_the_ncc_take_no_room() {
        let bound: Vec<i64> = (1..=49).collect();
        assert_eq!(over_limit(&bound, [50].into_iter()), None);
        assert_eq!(over_limit(&bound, [1, 2, 50].into_iter()), None);
        assert_eq!(over_limit(&bound, [50, 51].into_iter()), Some(2));
        let full: Vec<i64> = (1..=50).collect();
        assert_eq!(over_limit(&full, [7].into_iter()), None);
        assert_eq!(over_limit(&full, [51].into_iter()), Some(1));
    }
}
