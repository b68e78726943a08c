//! What resource operations work with: the clouds, the deployment's identity, the command's
//! options ([`Env`]), and the running step ([`Cx`]).

use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::aws::{AwsClients, PlinkTags, TagQuery, Tags};
use std::collections::{HashMap, HashSet};

use crate::databricks::{
    AccountClient, ErrorKind, NetworkConnectivityConfig, PrivateEndpointRule, WorkspaceClient,
};
use crate::engine::{StepContext, WaitPolicy};
use crate::state::Intent;

/// What the user asked of `plink down`.
#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    /// Switch the workspaces still bound to the deployment's NCC to this NCC (same region), so
    /// that the deployment's NCC can be deleted. A binding can be switched, never removed.
    pub rebind_to: Option<String>,
    /// Delete what plink adopted (it existed before `plink up`) as well.
    pub delete_adopted: bool,
    /// Restore IP access lists even if that blocks an operator network.
    pub allow_lockout: bool,
}

/// The command's options that change what resources do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Allow switching a workspace bound to another NCC (`--replace-ncc-binding`).
    pub replace_ncc_binding: bool,
    /// Allow switching a workspace bound to another network policy (`--replace-policy-binding`).
    pub replace_policy_binding: bool,
    /// Leave dry run although the denial logs show what enforcement would block
    /// (`--accept-denials`).
    pub accept_denials: bool,
    /// Apply IP access list changes that block an operator network (`--allow-lockout`).
    pub allow_lockout: bool,
    /// `plink down`'s options.
    pub down: DownOptions,
}

/// The clouds and the deployment every resource of a run shares.
pub struct Env {
    pub aws: AwsClients,
    pub databricks: AccountClient,
    /// The deployment's name (the value of plink's `plink:deployment` tag).
    pub deployment: String,
    /// The deployment's AWS region (also the NCC's and the workspaces').
    pub region: String,
    pub options: Options,
    /// Poll intervals are divided by this (1 against real clouds; the local stack runs on
    /// scaled time, see `PLINK_WAIT_SCALE` in the README).
    pub wait_scale: u32,
    /// The clients of the workspaces' own APIs, made once per run: each keeps its host and its
    /// workspace token, so that a run reads each workspace record once.
    pub workspaces: tokio::sync::Mutex<HashMap<i64, WorkspaceClient>>,
    /// The region's NCCs as this run last listed them, and the epoch of the list
    /// ([`AccountClient::mutations`] before it; see [`Env::nccs_for_limits`]).
    pub nccs_listed: std::sync::Mutex<Option<(u64, Vec<NetworkConnectivityConfig>)>>,
    /// What lookups of the preflight answered, for the steps' own lookups (issue #13).
    pub memo: super::memo::Memo,
    /// What this run created (ids, ARNs), see [`Cx::on_made_now`].
    pub made: std::sync::Mutex<HashSet<String>>,
    /// The last read of each private endpoint rule, left by the node that made it for the next
    /// node of the same run that looks at the rule first (see [`Env::take_rule`]).
    pub rules_read: std::sync::Mutex<HashMap<String, PrivateEndpointRule>>,
}

impl Env {
    /// A wait that looks again first at `prior_secs` (the earliest the transition is expected),
    /// then every 10 % of the time waited, at most `cap_secs` apart, for at most `timeout` (see
    /// [`WaitPolicy`]).
    pub fn wait(&self, prior_secs: u64, cap_secs: u64, timeout: Duration) -> WaitPolicy {
        WaitPolicy::new(
            Duration::from_secs(prior_secs),
            Duration::from_secs(cap_secs),
            timeout,
        )
        .scaled_down(self.wait_scale)
    }

    /// Leaves `rule`, just read, for the next node to [take](Self::take_rule).
    pub fn leave_rule(&self, rule: &PrivateEndpointRule) {
        let mut read = self.rules_read.lock().unwrap_or_else(|p| p.into_inner());
        read.insert(rule.rule_id.clone(), rule.clone());
    }

    /// The last read of rule `rule_id` in this run, if any, left in place.
    pub fn peek_rule(&self, rule_id: &str) -> Option<PrivateEndpointRule> {
        let read = self.rules_read.lock().unwrap_or_else(|p| p.into_inner());
        read.get(rule_id).cloned()
    }

    /// The rule `rule_id` as the node before read it in this run, once: the nodes that follow
    /// the rule (`established`, `enabled`) start from that read instead of reading it again
    /// (a converged `up` reads each rule once, issue #13), and every later look reads it anew.
    pub fn take_rule(&self, rule_id: &str) -> Option<PrivateEndpointRule> {
        let mut read = self.rules_read.lock().unwrap_or_else(|p| p.into_inner());
        read.remove(rule_id)
    }

    /// The region of the deployment.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The key of the turns ([`Resource::turn`](super::Resource::turn)) on `what` of the
    /// Databricks account in the region.
    pub fn turn(&self, what: &str) -> Option<String> {
        Some(format!(
            "{what}:{}:{}",
            self.databricks.account_id(),
            self.region
        ))
    }

    /// The account's NCCs in the deployment's region, listed now.
    ///
    /// # Errors
    /// Listing them failed.
    pub async fn nccs_in_region(&self) -> super::Res<Vec<NetworkConnectivityConfig>> {
        // Read before the list: a change made while it is answered makes it stale.
        let epoch = self.databricks.mutations();
        let mut nccs = self
            .databricks
            .list_nccs()
            .await
            .map_err(|e| super::errors::databricks("listing NCCs", e))?;
        nccs.retain(|n| n.region == self.region);
        let mut listed = self.nccs_listed.lock().unwrap_or_else(|p| p.into_inner());
        *listed = Some((epoch, nccs.clone()));
        Ok(nccs)
    }

    /// The region's NCCs, with their rules, for a limit check: as this run last listed them
    /// when no request of this process changed the account since (another deployment of the
    /// same `up` may have added an NCC or a rule), else listed now. The NCC's lookup lists them
    /// just before its limit check, and the preflight's list serves the checks of the
    /// preflight and of a fresh `up` (issue #13).
    ///
    /// # Errors
    /// Listing them failed.
    pub async fn nccs_for_limits(&self) -> super::Res<Vec<NetworkConnectivityConfig>> {
        let listed = self
            .nccs_listed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match listed {
            Some((epoch, nccs)) if epoch == self.databricks.mutations() => Ok(nccs),
            _ => self.nccs_in_region().await,
        }
    }

    /// Adds `ncc`, which this run just created, to the run's last list when that list was
    /// current until the create (`before`: [`AccountClient::mutations`] just before it) and the
    /// create was the only change since: the list is then current again, without a request.
    pub fn ncc_created(&self, ncc: &NetworkConnectivityConfig, before: u64) {
        let now = self.databricks.mutations();
        let mut listed = self.nccs_listed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((epoch, nccs)) = listed.as_mut()
            && *epoch == before
            && now == before + 1
        {
            nccs.push(ncc.clone());
            *epoch = now;
        }
    }

    /// The client of workspace `id`'s own API (made on first use from its account record, see
    /// [`AccountClient::workspace`]); `None` when the account has no such workspace.
    ///
    /// # Errors
    /// Reading the workspace failed, or its host cannot be derived.
    pub async fn workspace(&self, id: i64) -> super::Res<Option<WorkspaceClient>> {
        let mut clients = self.workspaces.lock().await;
        if let Some(c) = clients.get(&id) {
            return Ok(Some(c.clone()));
        }
        let db = &self.databricks;
        let ws = match db.get_workspace(id).await {
            Ok(ws) => ws,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(super::errors::databricks(
                    &format!("reading workspace {id}"),
                    e,
                ));
            }
        };
        let client = db.workspace(&ws).map_err(|e| {
            super::errors::databricks(&format!("workspace {id}: its API cannot be reached"), e)
        })?;
        clients.insert(id, client.clone());
        Ok(Some(client))
    }

    /// Whether teardown deletes adopted resources too (`--delete-adopted`).
    pub fn delete_adopted(&self) -> bool {
        self.options.down.delete_adopted
    }
}

/// Reads `PLINK_WAIT_SCALE` (default 1; values below 1 are taken as 1).
pub fn wait_scale_from_env() -> u32 {
    std::env::var("PLINK_WAIT_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v| *v >= 1)
        .unwrap_or(1)
}

/// One resource operation in a running step: the [`Env`], the engine's step context, and the
/// node of the workflow graph the resource is (its record and tags are named after it; a
/// teardown step `down_<node>` reads the `<node>` record).
#[derive(Clone, Copy)]
pub struct Cx<'a> {
    pub env: &'a Env,
    pub step: &'a StepContext,
    pub node: &'static str,
}

impl<'a> Cx<'a> {
    /// The context of `node`'s resource in `step`.
    pub fn new(env: &'a Env, step: &'a StepContext, node: &'static str) -> Self {
        Self { env, step, node }
    }

    /// The tags a create of this node carries.
    pub fn tags(&self) -> PlinkTags {
        PlinkTags::new(self.env.deployment.as_str(), self.node)
    }

    /// The tag query for what this node of this deployment created.
    pub fn tagged(&self) -> TagQuery {
        TagQuery::deployment(self.env.deployment.as_str()).step(self.node)
    }

    /// Whether `tags` say this node of this deployment created the resource.
    pub fn is_ours(&self, tags: &Tags) -> bool {
        self.tagged().matches(tags)
    }

    /// Who owns a resource carrying `tags`: plink, when they are this node's of this deployment.
    pub fn owner(&self, tags: &Tags) -> super::Ownership {
        if self.is_ours(tags) {
            super::Ownership::Ours
        } else {
            super::Ownership::Adopted
        }
    }

    /// `created`, noted as made by this run under its `id` (see
    /// [`on_made_now`](Self::on_made_now)): what a create returns.
    pub fn made_now<T>(&self, created: T, id: impl FnOnce(&T) -> &String) -> T {
        let mut made = self.env.made.lock().unwrap_or_else(|p| p.into_inner());
        made.insert(id(&created).clone());
        created
    }

    /// Whether this node looks at what hangs on `parent`, which this very run created, with no
    /// call of its own pending: then nothing of this deployment does yet, and the parent has
    /// its creation defaults (a listener of an NLB made seconds ago, the permissions of a new
    /// endpoint service, this deployment's rule in a new NCC). The lookup's answer is known
    /// without a request (issue #13: a fresh `up` makes no request that cannot tell anything
    /// new). The state lock keeps other plinks of this deployment away (other deployments may
    /// add their own rules to a shared NCC, never this one's), and a pending intent (an answer
    /// lost) always looks.
    pub fn on_made_now(&self, parent: &str) -> bool {
        let made = self.env.made.lock().unwrap_or_else(|p| p.into_inner());
        made.contains(parent) && self.pending_intent().is_none()
    }

    /// What this node recorded, read leniently (a missing or partial record gives defaults).
    pub fn recorded<T: DeserializeOwned + Default>(&self) -> T {
        self.step.output(self.node).unwrap_or_default()
    }

    /// Whether this node recorded anything at all.
    pub fn has_record(&self) -> bool {
        !self.step.outputs_of(self.node).is_empty()
    }

    /// The intent this node left unresolved: its call may or may not have happened.
    pub fn pending_intent(&self) -> Option<Intent> {
        self.step.intent_of(self.node)
    }

    /// Says something about progress.
    pub fn note(&self, message: impl Into<String>) {
        self.step.note(message);
    }

    /// The deterministic idempotency token for `purpose` in this step.
    pub fn token(&self, purpose: &str) -> String {
        self.step.token(purpose)
    }

    /// Persists `intent` before a mutating call.
    ///
    /// # Errors
    /// The state cannot be written: the call must then not be made.
    pub fn begin(&self, intent: Intent) -> Result<(), crate::engine::StepError> {
        self.step.begin(intent)
    }
}
