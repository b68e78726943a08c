//! A Databricks network connectivity configuration (NCC): adopted by id, or by name and region,
//! or created. Databricks creates have no idempotency token: the name and region are the
//! natural key, listed before every create, and deployments of one run that share an NCC take
//! turns ([`Resource::turn`]).
//!
//! Teardown deletes it only if plink created it (or `--delete-adopted`), it has no other live
//! rule, and no workspace is bound to it. A binding cannot be removed, only switched
//! (databricks-sdk-go #1030, TF #3741): with `--rebind-to <ncc-id>` the bound workspaces are
//! switched first; without it the NCC is kept and reported. Databricks refuses the delete with
//! `INVALID_STATE` for a while after the last rule or binding went away (reference §2.5, TF PR
//! #5648): those refusals are retried for at most [`DELETE_SETTLE_TIMEOUT`].

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::binding::{bound_workspaces, wait_running};
use super::preflight::{Finding, lookups};
use super::{Cx, Env, Found, Res, Resource, Teardown, TeardownAction, errors};
use crate::databricks::{ErrorKind, NetworkConnectivityConfig, ResultExt};
use crate::engine::{Poll, StepError};
use crate::state::Intent;

/// Databricks limit: NCCs per region per account (docs "Requirements"; reference §8.1).
pub const MAX_NCCS_PER_REGION: usize = 10;

/// How long the NCC delete is retried while Databricks still sees a rule or binding that is gone
/// (TF PR #5648 proposed 15 minutes).
pub const DELETE_SETTLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The NCC the workflow uses.
pub struct Ncc {
    pub choice: NccChoice,
    /// How long a workspace switched by `--rebind-to` may take to be `RUNNING` again.
    pub workspace_timeout: Duration,
}

/// Which NCC.
pub enum NccChoice {
    /// Create it, or adopt the NCC with this name in the deployment's region.
    Named(String),
    /// Adopt this existing NCC.
    Id(String),
}

/// What the graph gives the NCC: for teardown, the NCCs the workspaces were bound to before
/// plink switched them (the natural `--rebind-to` targets).
#[derive(Default)]
pub struct NccInputs {
    pub replaced_ncc_ids: Vec<(i64, String)>,
    /// The deployment's own rule(s) in it, which `down` deletes before the NCC: not "other
    /// live rules" for `plan --destroy`, made while they still live.
    pub own_rule_ids: Vec<String>,
}

/// What the state keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NccRecord {
    pub ncc_id: String,
    pub name: String,
    pub region: String,
    /// False when plink adopted an NCC that existed before (it is then never deleted by plink).
    pub created_by_plink: bool,
}

/// What became of the deployment's NCC on `down`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NccOutcome {
    /// plink created it and deleted it.
    Deleted,
    /// plink adopted it: left in place, forgotten by the state.
    Released,
    /// plink created it but could not delete it: workspaces are still bound to it (a binding can
    /// be switched, never removed) or it has other live rules. It stays in the state.
    Kept,
    /// It no longer existed.
    Gone,
}

/// A workspace `down --rebind-to` switched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rebound {
    pub workspace_id: i64,
    pub from_ncc_id: String,
    pub to_ncc_id: String,
}

/// What teardown records (under `down_ncc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NccDown {
    pub ncc_id: String,
    pub name: String,
    pub outcome: NccOutcome,
    pub created_by_plink: bool,
    /// Workspaces still bound to it (when kept or released).
    pub bound_workspaces: Vec<i64>,
    /// Live private endpoint rules that are not this deployment's (when kept).
    pub other_rule_ids: Vec<String>,
    /// Workspaces switched to another NCC by `--rebind-to`.
    pub rebound: Vec<Rebound>,
    /// The NCC each bound workspace had before `plink up --replace-ncc-binding` switched it, if
    /// plink recorded one (the natural `--rebind-to` target).
    pub previous_ncc_ids: Vec<String>,
}

impl Ncc {
    /// The workflow file's key that names the NCC.
    fn key(&self) -> &'static str {
        match self.choice {
            NccChoice::Named(_) => "databricks.ncc.name",
            NccChoice::Id(_) => "databricks.ncc.id",
        }
    }

    /// The NCC named by id; else the recorded one, else the one named so in the region.
    async fn lookup(&self, cx: &Cx<'_>) -> Res<Found<NetworkConnectivityConfig>> {
        let db = &cx.env.databricks;
        let rec: NccRecord = cx.recorded();
        let name = match &self.choice {
            NccChoice::Id(id) => {
                let ncc = Self::get_by_id(cx.env, id).await?;
                let recorded = rec.ncc_id == ncc.network_connectivity_config_id;
                return Ok(Found::of(ncc, recorded));
            }
            NccChoice::Named(name) => name,
        };
        let mut gone = None;
        if !rec.ncc_id.is_empty() {
            match db.get_ncc(&rec.ncc_id).await {
                Ok(ncc) => return Ok(Found::Recorded(ncc)),
                Err(e) if e.kind() == ErrorKind::NotFound => gone = Some(rec.ncc_id),
                Err(e) => return Err(errors::databricks("reading the recorded NCC", e)),
            }
        }
        let by_name = Self::nccs(cx).await?.into_iter().find(|n| &n.name == name);
        if let Some(ncc) = &by_name
            && !Self::created_by_plink(cx, ncc)
            && !cx.step.is_plan()
        {
            cx.note(format!(
                "adopting existing NCC {name} ({})",
                ncc.network_connectivity_config_id
            ));
        }
        Ok(Found::by_key(by_name, gone))
    }

    /// The region's NCCs for the lookup by name: in `up`, the list the preflight's lookup made
    /// moments before, once, if no request of this process changed the account since
    /// ([`memo`](super::memo)); else listed now (and kept, by a preflight or plan, for the
    /// lookup that follows it).
    async fn nccs(cx: &Cx<'_>) -> Res<Vec<NetworkConnectivityConfig>> {
        let (env, key) = (cx.env, format!("{}:nccs", cx.node));
        let epoch = env.databricks.mutations();
        if let Some(nccs) = env.memo.take(&key, epoch) {
            return Ok(nccs);
        }
        let nccs = env.nccs_in_region().await?;
        if cx.step.is_plan() {
            env.memo.keep(&key, epoch, nccs.clone());
        }
        Ok(nccs)
    }

    /// The NCC named by id, in the deployment's region.
    async fn get_by_id(env: &Env, id: &str) -> Res<NetworkConnectivityConfig> {
        let db = &env.databricks;
        let ncc = db.get_ncc(id).await.map_err(|e| match e.kind() {
            ErrorKind::NotFound => StepError::needs_user(
                format!(
                    "NCC {id} (databricks.ncc.id) does not exist in account {}",
                    db.account_id()
                ),
                "check the id, or name the NCC with databricks.ncc.name to have plink create it",
            ),
            _ => errors::databricks("reading the NCC", e),
        })?;
        if ncc.region != env.region() {
            return Err(StepError::needs_user(
                format!(
                    "NCC {} is in region {}, the deployment in {}",
                    ncc.network_connectivity_config_id,
                    ncc.region,
                    env.region()
                ),
                "an NCC can only serve workspaces and endpoint services of its own region: use an NCC of this region",
            ));
        }
        Ok(ncc)
    }

    /// Whether the NCC is plink's: the record says so for the recorded one; another one (found
    /// by name) only when a create intent is pending (plink's create whose answer was lost).
    /// An NCC found by name after the recorded one vanished is someone else's: never deleted.
    fn created_by_plink(cx: &Cx<'_>, live: &NetworkConnectivityConfig) -> bool {
        let rec: NccRecord = cx.recorded();
        if rec.ncc_id == live.network_connectivity_config_id {
            return rec.created_by_plink;
        }
        cx.pending_intent()
            .is_some_and(|i| i.action == "create_ncc")
    }

    /// The deployment's NCC as the state knows it: recorded, else one its unresolved create
    /// intent may have made (found by name and region: then it is plink's).
    async fn ours(cx: &Cx<'_>) -> Res<Option<NccRecord>> {
        let rec: NccRecord = cx.recorded();
        if !rec.ncc_id.is_empty() {
            return Ok(Some(rec));
        }
        let Some(intent) = cx.pending_intent().filter(|i| i.action == "create_ncc") else {
            return Ok(None);
        };
        let (Some(name), Some(region)) = (
            intent.natural_key.get("name"),
            intent.natural_key.get("region"),
        ) else {
            return Ok(None);
        };
        let all = cx
            .env
            .databricks
            .list_nccs()
            .await
            .map_err(|e| errors::databricks("listing NCCs", e))?;
        Ok(all
            .into_iter()
            .find(|n| &n.name == name && &n.region == region)
            .map(|n| NccRecord {
                ncc_id: n.network_connectivity_config_id,
                name: n.name,
                region: n.region,
                created_by_plink: true,
            }))
    }
}

#[async_trait]
impl Resource for Ncc {
    type Inputs = NccInputs;
    type Live = NetworkConnectivityConfig;
    type Record = NccRecord;
    type Fix = ();

    const NOUN: &'static str = "NCC";

    fn describe(&self) -> String {
        match &self.choice {
            NccChoice::Named(name) => format!("Databricks NCC {name}"),
            NccChoice::Id(id) => format!("Databricks NCC {id}"),
        }
    }

    fn label(&self, live: &Self::Live) -> String {
        format!("{} ({})", live.name, live.network_connectivity_config_id)
    }

    fn found_by(&self) -> &'static str {
        match self.choice {
            NccChoice::Named(_) => "found by name",
            NccChoice::Id(_) => "(yours, named by id)",
        }
    }

    /// [`lookup`](Ncc::lookup), leaving the NCC's rules for the rule node.
    async fn find(&self, cx: &Cx<'_>, _: &Self::Inputs) -> Res<Found<Self::Live>> {
        let found = self.lookup(cx).await?;
        if let Found::Recorded(ncc) | Found::Unrecorded { resource: ncc, .. } = &found {
            // The NCC carries its rules (reference §2.1): the rule node starts from this read
            // (issue #13).
            let rules = ncc
                .egress_config
                .iter()
                .filter_map(|e| e.target_rules.as_ref())
                .flat_map(|t| &t.aws_private_endpoint_rules);
            for rule in rules {
                cx.env.leave_rule(rule);
            }
        }
        Ok(found)
    }

    /// Deployments of one run that share this NCC, or count the regional limit, take turns.
    fn turn(&self, env: &Env) -> Option<String> {
        env.turn("ncc")
    }

    /// The regional limit, checked before a create (a refused create would say less).
    /// The NCC named by id exists in the region; one named by name exists, or there is room
    /// for it (at most 10 per region): its own lookup and limit check, unless recorded.
    async fn preflight(&self, cx: &Cx<'_>, inputs: Option<&Self::Inputs>) -> Vec<Finding> {
        if !cx.recorded::<NccRecord>().ncc_id.is_empty() {
            return Vec::new();
        }
        let none = NccInputs::default();
        lookups(
            self,
            cx,
            inputs.unwrap_or(&none),
            false,
            self.key(),
            "the NCC",
        )
        .await
    }

    async fn check_create(&self, cx: &Cx<'_>, _: &Self::Inputs) -> Res<()> {
        let in_region = cx.env.nccs_for_limits().await?.len();
        check_limit(in_region, cx.env.databricks.account_id(), cx.env.region())
    }

    /// Creates the NCC. Never retried blindly (no idempotency token): the next attempt lists first.
    async fn create(&self, cx: &Cx<'_>, _: &Self::Inputs) -> Res<Option<Self::Live>> {
        let NccChoice::Named(name) = &self.choice else {
            return Err(StepError::terminal("an NCC named by id is never created"));
        };
        let db = &cx.env.databricks;
        let region = cx.env.region();
        cx.begin(
            Intent::new("create_ncc")
                .key("name", name)
                .key("region", region),
        )?;
        let before = db.mutations();
        match db.create_ncc(name, region).await {
            Ok(ncc) => {
                // The region's NCCs as listed by the lookup, plus this one: still current.
                cx.env.ncc_created(&ncc, before);
                Ok(Some(
                    cx.made_now(ncc, |n| &n.network_connectivity_config_id),
                ))
            }
            // Another writer won the race, or our earlier create landed: adopt on the next try.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(StepError::retryable(format!(
                "NCC {name} appeared meanwhile: {e}"
            ))),
            Err(e) => Err(errors::databricks("creating the NCC", e)),
        }
    }

    async fn record(&self, cx: &Cx<'_>, _: &Self::Inputs, ncc: &Self::Live) -> Res<Self::Record> {
        Ok(NccRecord {
            ncc_id: ncc.network_connectivity_config_id.clone(),
            name: ncc.name.clone(),
            region: ncc.region.clone(),
            created_by_plink: matches!(self.choice, NccChoice::Named(_))
                && Self::created_by_plink(cx, ncc),
        })
    }

    /// The NCC a create intent whose answer was lost made (by name and region).
    async fn recover(&self, cx: &Cx<'_>, _: Option<&Self::Inputs>) -> Res<Option<Self::Record>> {
        Self::ours(cx).await
    }

    /// What the teardown would decide now: release an adopted NCC, keep one with other live
    /// rules or bound workspaces (without `--rebind-to`), else delete it.
    async fn teardown_plan(
        &self,
        cx: &Cx<'_>,
        inputs: Option<&Self::Inputs>,
    ) -> Res<Vec<Teardown>> {
        let db = &cx.env.databricks;
        let Some(ncc) = Self::ours(cx).await? else {
            return Ok(Vec::new());
        };
        let live = db
            .get_ncc(&ncc.ncc_id)
            .await
            .optional()
            .map_err(|e| errors::databricks("reading the NCC", e))?;
        if live.is_none() {
            return Ok(Vec::new());
        }
        let what = format!("NCC {} ({})", ncc.name, ncc.ncc_id);
        let one = |action, why: String| Ok(vec![Teardown::new(action, &ncc.ncc_id, why)]);
        if !ncc.created_by_plink && !cx.env.delete_adopted() {
            return one(
                TeardownAction::Release,
                format!("{what}: plink adopted it, so it stays (--delete-adopted deletes it)"),
            );
        }
        let own = inputs
            .map(|i| i.own_rule_ids.as_slice())
            .unwrap_or_default();
        let others: Vec<String> = db
            .list_rules(&ncc.ncc_id)
            .await
            .map_err(|e| errors::databricks("listing the NCC's rules", e))?
            .into_iter()
            .filter(|r| !r.deactivated && !own.contains(&r.rule_id))
            .map(|r| r.rule_id)
            .collect();
        if !others.is_empty() {
            return one(
                TeardownAction::Keep,
                format!(
                    "{what}: it has {} other live private endpoint rule(s) ({})",
                    others.len(),
                    others.join(", ")
                ),
            );
        }
        let bound = bound_workspaces(db, &ncc.ncc_id).await?;
        match (&cx.env.options.down.rebind_to, bound.is_empty()) {
            (_, true) => one(TeardownAction::Delete, what),
            (None, false) => one(
                TeardownAction::Keep,
                format!(
                    "{what}: workspace(s) {bound:?} are still bound to it; a binding cannot be \
                     removed, only switched (down --rebind-to <ncc-id>), so down keeps it and exits 11"
                ),
            ),
            (Some(to), false) => one(
                TeardownAction::Delete,
                format!("{what}, after switching workspace(s) {bound:?} to NCC {to} (--rebind-to)"),
            ),
        }
    }

    async fn teardown(&self, cx: &Cx<'_>, inputs: Option<&Self::Inputs>) -> Res<()> {
        let db = &cx.env.databricks;
        let Some(ncc) = Self::ours(cx).await? else {
            return Ok(());
        };
        let mut out = NccDown {
            ncc_id: ncc.ncc_id.clone(),
            name: ncc.name.clone(),
            outcome: NccOutcome::Kept,
            created_by_plink: ncc.created_by_plink,
            bound_workspaces: Vec::new(),
            other_rule_ids: Vec::new(),
            // Workspaces a killed run already switched are no longer bound: keep their record.
            rebound: cx
                .step
                .recorded::<NccDown>()
                .filter(|r| r.ncc_id == ncc.ncc_id)
                .map(|r| r.rebound)
                .unwrap_or_default(),
            previous_ncc_ids: Vec::new(),
        };
        let Some(live) = db
            .get_ncc(&ncc.ncc_id)
            .await
            .optional()
            .map_err(|e| errors::databricks("reading the NCC", e))?
        else {
            out.outcome = NccOutcome::Gone;
            return cx.step.record(&out);
        };
        out.bound_workspaces = bound_workspaces(db, &ncc.ncc_id).await?;
        out.previous_ncc_ids = inputs
            .map(|i| {
                i.replaced_ncc_ids
                    .iter()
                    .filter(|(ws, _)| out.bound_workspaces.contains(ws))
                    .map(|(_, id)| id.clone())
                    .collect()
            })
            .unwrap_or_default();
        out.previous_ncc_ids.sort();
        out.previous_ncc_ids.dedup();

        if !ncc.created_by_plink && !cx.env.delete_adopted() {
            cx.note(format!(
                "releasing NCC {} ({}): plink adopted it, so it stays (--delete-adopted deletes it)",
                ncc.name, ncc.ncc_id
            ));
            out.outcome = NccOutcome::Released;
            return cx.step.record(&out);
        }

        let rules = db
            .list_rules(&ncc.ncc_id)
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
            return cx.step.record(&out);
        }

        if !out.bound_workspaces.is_empty() {
            let Some(to) = cx.env.options.down.rebind_to.clone() else {
                for ws in &out.bound_workspaces {
                    cx.note(format!(
                        "workspace {ws} is still bound to NCC {}; a binding cannot be removed, only \
                         switched (--rebind-to <ncc-id>), so the NCC is kept",
                        ncc.name
                    ));
                }
                return cx.step.record(&out);
            };
            if to == ncc.ncc_id {
                return Err(StepError::needs_user(
                    format!("--rebind-to names the deployment's own NCC ({to})"),
                    "name another NCC of the same region to switch the workspaces to",
                ));
            }
            check_rebind_target(cx.env, &to).await?;
            for ws in out.bound_workspaces.clone() {
                rebind(cx, ws, &ncc.ncc_id, &to, self.workspace_timeout).await?;
                out.rebound.push(Rebound {
                    workspace_id: ws,
                    from_ncc_id: ncc.ncc_id.clone(),
                    to_ncc_id: to.clone(),
                });
                out.bound_workspaces.retain(|w| *w != ws);
                cx.step.record(&out)?;
            }
        }

        delete(cx, &live).await?;
        out.outcome = NccOutcome::Deleted;
        cx.step.record(&out)
    }
}

/// Refuses a create that the regional limit would refuse.
fn check_limit(in_region: usize, account: &str, region: &str) -> Res<()> {
    if in_region < MAX_NCCS_PER_REGION {
        return Ok(());
    }
    Err(StepError::needs_user(
        format!(
            "account {account} already has {in_region} NCCs in {region} (limit {MAX_NCCS_PER_REGION})"
        ),
        "reuse one of them (databricks.ncc.name or .id), or delete an unused NCC",
    ))
}

/// Checks the NCC named by `--rebind-to`: it exists and is in the deployment's region.
///
/// # Errors
/// [`StepError::NeedsUser`] saying what is wrong with it.
pub async fn check_rebind_target(env: &Env, ncc_id: &str) -> Res<NetworkConnectivityConfig> {
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

/// Switches workspace `ws` from `from` to `to` and waits until it is RUNNING on `to`.
async fn rebind(cx: &Cx<'_>, ws: i64, from: &str, to: &str, timeout: Duration) -> Res<()> {
    cx.begin(
        Intent::new("rebind_workspace")
            .key("workspace_id", ws.to_string())
            .key("from_ncc_id", from)
            .key("to_ncc_id", to),
    )?;
    // PATCH is idempotent: the client retries it on transient errors.
    let seen = cx
        .env
        .databricks
        .update_workspace_ncc(ws, to)
        .await
        .map_err(|e| errors::databricks(&format!("switching workspace {ws} to NCC {to}"), e))?;
    cx.note(format!("workspace {ws}: switched from NCC {from} to {to}"));
    wait_running(cx, ws, &seen, to, timeout).await
}

/// Deletes the NCC, retrying Databricks' eventually consistent `INVALID_STATE` refusals.
async fn delete(cx: &Cx<'_>, ncc: &NetworkConnectivityConfig) -> Res<()> {
    let db = &cx.env.databricks;
    let id = &ncc.network_connectivity_config_id;
    cx.begin(
        Intent::new("delete_ncc")
            .key("ncc_id", id)
            .key("name", &ncc.name),
    )?;
    let policy = cx.env.wait(5, 30, DELETE_SETTLE_TIMEOUT);
    cx.step
        .wait_for(
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
