//! An account network policy (reference §5.1; issue #11): serverless egress and context-based
//! ingress, read, merged and written back so that only the fields the workflow file sets are
//! plink's ([`body`]).
//!
//! Identity: the `network_policy_id` the file names (client-chosen, so the natural key is exact:
//! found before made, and a create whose answer was lost is found by it). A policy that existed
//! before plink is adopted: plink writes only its fields, and `down` releases it. Leaving dry
//! run is refused while the denial logs show what the new policy would break ([`denials`]),
//! unless `--accept-denials`.

pub mod body;
pub mod denials;

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::preflight::{Finding, lookups};
use super::{Change, Cx, Env, Found, Observation, Res, Resource, Teardown, TeardownAction, errors};
use crate::databricks::ErrorKind;
use crate::engine::StepError;
use crate::state::Intent;
use body::Owned;
use denials::WarehouseRef;

/// A network policy holds at most this many destinations (reference §5.1; each workspace of
/// `allowed_databricks_destinations` counts one).
pub const MAX_DESTINATIONS: usize = 2000;

/// How far back the denial logs are read when the dry run's start is unknown (an adopted
/// policy that was already in dry run).
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// The policy the workflow wants.
pub struct NetworkPolicy {
    /// `network_policy_id`.
    pub id: String,
    /// The fields the workflow file sets.
    pub owned: Vec<Owned>,
}

/// What upstream decides: where the denial logs are read, for which workspaces.
pub struct PolicyInputs {
    pub warehouse: Option<WarehouseRef>,
    pub workspace_ids: Vec<i64>,
}

/// What the state keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicyRecord {
    pub network_policy_id: String,
    pub created_by_plink: bool,
    /// When plink first saw the egress in dry run (RFC 3339): the start of the window the
    /// enforcement guard reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub egress_dry_run_since: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress_dry_run_since: Option<String>,
}

/// Ingress rules enforced without a dry run first could lock everyone out, plink included.
fn ingress_without_dry_run(policy: &str) -> StepError {
    StepError::needs_user(
        format!(
            "network policy {policy}: refusing to enforce ingress rules that never ran in dry run: \
             nothing shows yet whom they would deny (plink, or you, could be locked out of the workspaces)"
        ),
        "set [ingress] enforcement = \"dry-run\" first and check `plink denials`, or pass --accept-denials",
    )
}

const ACCEPT_HINT: &str = "add what should be allowed to the workflow file (`plink denials` prints the exact lines), \
     or pass --accept-denials to enforce anyway";

impl NetworkPolicy {
    fn created_by_plink(&self, cx: &Cx<'_>) -> bool {
        let rec: PolicyRecord = cx.recorded();
        if rec.network_policy_id == self.id && rec.created_by_plink {
            return true;
        }
        cx.pending_intent().is_some_and(|i| {
            i.action == "create_network_policy" && i.natural_key.get("id") == Some(&self.id)
        })
    }

    /// What `down` does to the policy, the one lookup of its teardown and of its plan: nothing
    /// (`None`) when there is none; delete it when plink created it (or `--delete-adopted`),
    /// else release it.
    async fn doomed(&self, cx: &Cx<'_>) -> Res<Option<TeardownAction>> {
        if self.get(cx.env).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(
            if self.created_by_plink(cx) || cx.env.delete_adopted() {
                TeardownAction::Delete
            } else {
                TeardownAction::Release
            },
        ))
    }

    async fn get(&self, env: &Env) -> Res<Option<Value>> {
        match env.databricks.get_network_policy(&self.id).await {
            Ok(p) => Ok(Some(p)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(errors::databricks(
                &format!("reading network policy {}", self.id),
                e,
            )),
        }
    }

    /// A new policy's body: the file's fields over an egress that allows everything (every
    /// policy has an egress, reference §5.1; a file with only `[ingress]` leaves egress open).
    fn new_body(&self) -> Value {
        let base = json!({
            "network_policy_id": self.id,
            "egress": {"network_access": {"restriction_mode": "FULL_ACCESS"}},
        });
        body::merge(&base, &self.owned)
    }

    fn check_limit(&self, merged: &Value) -> Res<()> {
        let count = body::destination_count(merged);
        if count > MAX_DESTINATIONS {
            return Err(StepError::needs_user(
                format!(
                    "network policy {} would hold {count} destinations (the workflow file's and those already in it); \
                     Databricks allows {}",
                    self.id, MAX_DESTINATIONS
                ),
                "remove destinations from the workflow file or from the policy",
            ));
        }
        Ok(())
    }

    /// Refuses to leave dry run while the dry run logged denials `merged` does not handle.
    async fn guard(
        &self,
        cx: &Cx<'_>,
        inputs: &PolicyInputs,
        live: &Value,
        merged: &Value,
    ) -> Res<()> {
        let enforced = |b: &Value| body::get(b, &["ingress", "public_access"]).is_some();
        if enforced(merged)
            && !enforced(live)
            && !body::ingress_dry_run(live)
            && !cx.env.options.accept_denials
        {
            return Err(ingress_without_dry_run(&self.id));
        }
        let egress = body::egress_dry_run(live) && !body::egress_dry_run(merged);
        let ingress = body::ingress_dry_run(live)
            && !body::ingress_dry_run(merged)
            && body::get(merged, &["ingress", "public_access"]).is_some();
        if !(egress || ingress) || cx.env.options.accept_denials {
            return Ok(());
        }
        let Some(warehouse) = &inputs.warehouse else {
            return Err(StepError::needs_user(
                format!(
                    "network policy {}: leaving dry run needs the denial logs, and the workflow file names no SQL warehouse",
                    self.id
                ),
                "set databricks.warehouse_id to a SQL warehouse of one of the workspaces, or pass --accept-denials",
            ));
        };
        let rec: PolicyRecord = cx.recorded();
        let mut unhandled = Vec::new();
        if egress {
            let since = window_start(rec.egress_dry_run_since.as_deref());
            for d in denials::outbound(cx.env, warehouse, &inputs.workspace_ids, &since).await? {
                if d.access_type == "DRY_RUN_DENIAL"
                    && denials::egress_handles(merged, &d).is_none()
                {
                    unhandled.push(format!(
                        "{} {} ({} attempt(s), last {})",
                        d.destination_type.to_lowercase(),
                        d.destination,
                        d.attempts,
                        d.last_seen
                    ));
                }
            }
        }
        if ingress {
            let since = window_start(rec.ingress_dry_run_since.as_deref());
            for d in denials::inbound(cx.env, warehouse, &inputs.workspace_ids, &since).await? {
                if d.access_type == "DRY_RUN_DENIAL"
                    && denials::ingress_handles(merged, "ingress", &d).is_none()
                {
                    unhandled.push(format!(
                        "{} from {} by {} {} ({} attempt(s))",
                        d.request_type, d.source_ip, d.principal_type, d.principal_id, d.attempts
                    ));
                }
            }
        }
        if unhandled.is_empty() {
            return Ok(());
        }
        Err(StepError::needs_user(
            format!(
                "network policy {}: refusing to switch to enforced: the dry run logged denials the workflow file does not allow: {}",
                self.id,
                unhandled.join("; ")
            ),
            ACCEPT_HINT,
        ))
    }
}

/// The start of the guard's window: the recorded start of the dry run, else [`DEFAULT_WINDOW`]
/// ago.
fn window_start(recorded: Option<&str>) -> String {
    recorded.map_or_else(
        || rfc3339(SystemTime::now() - DEFAULT_WINDOW),
        str::to_owned,
    )
}

/// `t` as RFC 3339 in UTC, to the second.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

#[async_trait]
impl Resource for NetworkPolicy {
    type Inputs = PolicyInputs;
    type Live = Value;
    type Record = PolicyRecord;
    /// The whole merged body, carried by the first change (one `PUT` writes every field).
    type Fix = Option<Value>;

    const NOUN: &'static str = "network policy";
    const FOUND_BY: &'static str =
        "found by id (adopted: plink writes only the fields of the workflow file)";

    fn describe(&self) -> String {
        format!("network policy {}", self.id)
    }

    fn label(&self, _: &Self::Live) -> String {
        self.id.clone()
    }

    async fn find(&self, cx: &Cx<'_>, _: &Self::Inputs) -> Res<Found<Self::Live>> {
        let rec: PolicyRecord = cx.recorded();
        let recorded = rec.network_policy_id == self.id;
        Ok(match self.get(cx.env).await? {
            Some(live) => {
                if !recorded && !self.created_by_plink(cx) && !cx.step.is_plan() {
                    cx.note(format!(
                        "adopting existing network policy {}: plink writes only the fields of the workflow file, and down leaves it",
                        self.id
                    ));
                }
                Found::of(live, recorded)
            }
            None => Found::Missing {
                gone: recorded.then(|| self.id.clone()),
            },
        })
    }

    /// A new policy's limits (destinations per policy; ingress only in dry run), or an existing
    /// one's merged body and its dry-run guard when the workspaces' record is there.
    async fn preflight(&self, cx: &Cx<'_>, inputs: Option<&Self::Inputs>) -> Vec<Finding> {
        if cx.has_record() {
            return Vec::new();
        }
        let none = PolicyInputs {
            warehouse: None,
            workspace_ids: Vec::new(),
        };
        let compare = inputs.is_some();
        let inputs = inputs.unwrap_or(&none);
        lookups(self, cx, inputs, compare, "policy.id", "the network policy").await
    }

    async fn check_create(&self, cx: &Cx<'_>, _: &Self::Inputs) -> Res<()> {
        let body = self.new_body();
        if body::get(&body, &["ingress", "public_access"]).is_some()
            && !cx.env.options.accept_denials
        {
            return Err(ingress_without_dry_run(&self.id));
        }
        self.check_limit(&body)
    }

    /// Creates it. Never retried blindly: the id is the natural key, so the next attempt finds
    /// a create that landed.
    async fn create(&self, cx: &Cx<'_>, _: &Self::Inputs) -> Res<Option<Self::Live>> {
        cx.begin(Intent::new("create_network_policy").key("id", &self.id))?;
        match cx
            .env
            .databricks
            .create_network_policy(&self.new_body())
            .await
        {
            Ok(p) => Ok(Some(p)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(StepError::retryable(format!(
                "network policy {} appeared meanwhile: {e}",
                self.id
            ))),
            Err(e) => Err(errors::databricks(
                &format!("creating network policy {}", self.id),
                e,
            )),
        }
    }

    /// The owned fields that differ; leaving dry run is checked against the denial logs first.
    async fn compare(
        &self,
        cx: &Cx<'_>,
        inputs: &Self::Inputs,
        live: &Self::Live,
    ) -> Res<Vec<Change<Self::Fix>>> {
        let differing = body::differences(live, &self.owned);
        if differing.is_empty() {
            return Ok(Vec::new());
        }
        let merged = body::merge(live, &self.owned);
        self.check_limit(&merged)?;
        self.guard(cx, inputs, live, &merged).await?;
        let mut fix = Some(merged);
        Ok(differing
            .into_iter()
            .map(|o| {
                let text = body::describe(o, live);
                Change::new(text.clone(), text, fix.take())
            })
            .collect())
    }

    /// Writes the merged body back (`PUT` replaces the whole policy: the body is the live one
    /// with the owned fields set, so nothing of anyone else's is lost).
    async fn update(
        &self,
        cx: &Cx<'_>,
        _: &Self::Inputs,
        _: &Self::Live,
        fix: &Self::Fix,
    ) -> Res<()> {
        let Some(merged) = fix else {
            return Ok(());
        };
        cx.begin(Intent::new("update_network_policy").key("id", &self.id))?;
        cx.env
            .databricks
            .replace_network_policy(&self.id, merged)
            .await
            .map_err(|e| errors::databricks(&format!("writing network policy {}", self.id), e))?;
        Ok(())
    }

    async fn refresh(&self, cx: &Cx<'_>, _: &Self::Live) -> Res<Option<Self::Live>> {
        self.get(cx.env).await
    }

    async fn record(&self, cx: &Cx<'_>, _: &Self::Inputs, live: &Self::Live) -> Res<Self::Record> {
        let previous: PolicyRecord = cx.recorded();
        let now = rfc3339(SystemTime::now());
        let since =
            |dry: bool, was: Option<String>| dry.then(|| was.unwrap_or_else(|| now.clone()));
        Ok(PolicyRecord {
            network_policy_id: self.id.clone(),
            created_by_plink: self.created_by_plink(cx),
            egress_dry_run_since: since(body::egress_dry_run(live), previous.egress_dry_run_since),
            ingress_dry_run_since: since(
                body::ingress_dry_run(live),
                previous.ingress_dry_run_since,
            ),
        })
    }

    fn summary(&self, live: &Self::Live) -> String {
        let mode = body::get(live, &["egress", "network_access", "restriction_mode"])
            .and_then(Value::as_str)
            .unwrap_or("-");
        format!(
            "network policy {} (egress {mode}{}{})",
            self.id,
            if body::egress_dry_run(live) {
                ", dry run"
            } else {
                ""
            },
            if body::ingress_dry_run(live) {
                "; ingress in dry run"
            } else {
                ""
            }
        )
    }

    async fn observe(
        &self,
        env: &Env,
        rec: &Self::Record,
        _: Option<&Self::Inputs>,
    ) -> Observation {
        let mut o = Observation::default();
        match self.get(env).await {
            Ok(None) => {
                o.set("network_policy_id", &self.id);
                o.set("exists", false);
                o.line("policy", format!("{} MISSING", self.id));
            }
            Ok(Some(live)) => {
                let drift: Vec<String> = body::differences(&live, &self.owned)
                    .into_iter()
                    .map(|d| body::describe(d, &live))
                    .collect();
                o.set("network_policy_id", &self.id);
                o.set("created_by_plink", rec.created_by_plink);
                o.set("egress_dry_run", body::egress_dry_run(&live));
                o.set("ingress_dry_run", body::ingress_dry_run(&live));
                o.set("destinations", body::destination_count(&live));
                o.set("drift", &drift);
                o.line("policy", self.summary(&live));
                for d in drift {
                    o.line("drift", d);
                }
            }
            Err(e) => o.error("network policy", e),
        }
        o
    }

    /// What `down` would do to the policy ([`doomed`](Self::doomed)).
    async fn teardown_plan(&self, cx: &Cx<'_>, _: Option<&Self::Inputs>) -> Res<Vec<Teardown>> {
        Ok(self
            .doomed(cx)
            .await?
            .map(|action| {
                let detail = match action {
                    TeardownAction::Release => format!(
                        "network policy {}: plink did not create it, so it stays, with the fields plink wrote (--delete-adopted deletes it)",
                        self.id
                    ),
                    _ => format!("network policy {}", self.id),
                };
                Teardown::new(action, &self.id, detail)
            })
            .into_iter()
            .collect())
    }

    /// Deletes the policy plink created (its workspaces were bound back first: `bind` tears
    /// down before it); an adopted one is released.
    async fn teardown(&self, cx: &Cx<'_>, _: Option<&Self::Inputs>) -> Res<()> {
        match self.doomed(cx).await? {
            None => return Ok(()),
            Some(TeardownAction::Delete) => {}
            Some(_) => {
                cx.note(format!(
                    "releasing network policy {}: plink did not create it, so it stays (with the fields plink wrote)",
                    self.id
                ));
                return Ok(());
            }
        }
        cx.begin(Intent::new("delete_network_policy").key("id", &self.id))?;
        match cx.env.databricks.delete_network_policy(&self.id).await {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) if e.kind() == ErrorKind::InvalidState => {
                return Err(StepError::needs_user(
                    format!("network policy {} cannot be deleted: {}", self.id, e.summary()),
                    "bind the workspaces plink did not bind to another policy (or default-policy), then run `plink down` again",
                )
                .with_source(e));
            }
            Err(e) => {
                return Err(errors::databricks(
                    &format!("deleting network policy {}", self.id),
                    e,
                ));
            }
        }
        cx.step.record(&super::Deleted {
            deleted: vec![self.id.clone()],
        })?;
        Ok(())
    }
}
