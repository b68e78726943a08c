//! An NCC private endpoint rule for an endpoint service, until Databricks reports the VPC endpoint
//! it opened (`vpc_endpoint_id`, empty in the create response — reference §3.3); and its
//! condition [`Established`], the wait no peer tool makes (field notes §0.2: Terraform counts
//! `PENDING` as success).
//!
//! Databricks creates have no idempotency token: the rule's natural key is the endpoint service
//! it points at, listed before every create; deployments of one run count the regional limit
//! and create in turns. A rule in a state it cannot leave (failed, rejected, expired, or for an
//! endpoint service that was replaced) is replaced.
//!
//! Teardown deletes the deployment's rules. Databricks deactivates a deleted rule and keeps its
//! VPC endpoint connected for a while (reference §3.7): that connection was rejected just
//! before (the rule depends on its acceptance, so the acceptance is torn down first).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::preflight::Finding;
use super::{
    Change, Cx, Env, Found, Observation, Readiness, Res, Resource, Teardown, TeardownAction, errors,
};
use crate::databricks::{
    ConnectionState, CreateRule, ErrorKind, PrivateEndpointRule, RuleField, UpdateRule,
};
use crate::engine::{Condition, StepError};
use crate::state::Intent;

/// Databricks limit: private endpoints per region per account (reference §8.1).
pub const MAX_RULES_PER_REGION: usize = 30;

/// A `PENDING` rule expires after this long (reference §3.2, §8.1).
const PENDING_EXPIRY: Duration = Duration::from_secs(14 * 24 * 3600);

/// Why plink rejects the connection of a rule it deletes (shown on `down`).
pub const DEACTIVATION_NOTE: &str = "Databricks does not delete a rule at once: it deactivates it \
     and keeps its VPC endpoint connected to your endpoint service for up to a day (its docs allow \
     up to 7 days). plink rejects that connection itself so that the endpoint service can be \
     deleted now.";

/// The rule the workflow wants.
pub struct Rule {
    /// How long Databricks may take to open its endpoint.
    pub timeout: Duration,
    /// What the rule reaches, for messages (`the endpoint service`, `S3 buckets a, b`).
    pub reaches: String,
}

/// What upstream decides: the NCC, the endpoint service, and what the rule reaches: domain
/// names (a customer endpoint service) or buckets (`resource_names`, the regional S3 service).
pub struct RuleInputs {
    pub ncc_id: String,
    pub service_name: String,
    pub domain_names: Vec<String>,
    /// Non-empty exactly for an S3 rule (`s3-native`).
    pub resource_names: Vec<String>,
}

impl RuleInputs {
    /// The field the rule's target is in, and its wanted value.
    fn target(&self) -> (RuleField, &[String]) {
        if self.resource_names.is_empty() {
            (RuleField::DomainNames, &self.domain_names)
        } else {
            (RuleField::ResourceNames, &self.resource_names)
        }
    }

    /// Whether `rule` is this deployment's by its natural key: the endpoint service, and for an
    /// S3 rule (whose service, the regional S3 one, other deployments share) the same buckets.
    fn is_key_of(&self, rule: &PrivateEndpointRule) -> bool {
        same_target(rule, &self.service_name, &self.resource_names)
    }
}

/// `rule` points at `service` and, when `buckets` is not empty, names the same buckets.
fn same_target(rule: &PrivateEndpointRule, service: &str, buckets: &[String]) -> bool {
    rule.endpoint_service.as_deref() == Some(service)
        && (buckets.is_empty() || sorted(&rule.resource_names) == sorted(buckets))
}

fn sorted(names: &[String]) -> Vec<&str> {
    let mut v: Vec<&str> = names.iter().map(String::as_str).collect();
    v.sort_unstable();
    v
}

/// The value of `field` on the rule.
fn current(rule: &PrivateEndpointRule, field: RuleField) -> &[String] {
    match field {
        RuleField::ResourceNames => &rule.resource_names,
        _ => &rule.domain_names,
    }
}

/// What the state keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuleRecord {
    pub rule_id: String,
    pub endpoint_service: String,
    pub domain_names: Vec<String>,
    /// The buckets of an S3 rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_id: Option<String>,
}

/// What teardown records (under `down_rule`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleDown {
    pub ncc_id: String,
    pub deleted_rule_ids: Vec<String>,
    /// The Databricks VPC endpoints of those rules (they stay connected until rejected or purged).
    pub vpc_endpoint_ids: Vec<String>,
}

/// The rule in `status`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RuleView {
    pub rule_id: String,
    pub connection_state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_left_before_expiry: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    pub deactivated: bool,
    /// S3 rules only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

fn is_failed(rule: &PrivateEndpointRule) -> bool {
    rule.connection_state
        .as_ref()
        .is_some_and(ConnectionState::is_failed)
}

/// Databricks has not reported its VPC endpoint yet (the rule is `CREATING`).
fn waiting_for_endpoint(rule: &PrivateEndpointRule) -> bool {
    rule.vpc_endpoint_id().is_none()
        || rule.connection_state.as_ref() == Some(&ConnectionState::Creating)
}

/// The rule is not in a state it cannot leave by waiting.
fn not_failed(rule: &PrivateEndpointRule) -> Readiness {
    if is_failed(rule) {
        Readiness::Failed(failed(rule))
    } else {
        Readiness::Ready
    }
}

/// Databricks reported the VPC endpoint it opened for the rule.
fn endpoint_reported(rule: &PrivateEndpointRule) -> Readiness {
    if waiting_for_endpoint(rule) {
        Readiness::Pending(format!("rule {}", state_text(rule)))
    } else {
        Readiness::Ready
    }
}

/// The rule is `ESTABLISHED` (a `PENDING` one says how long it has left).
fn established(rule: &PrivateEndpointRule) -> Readiness {
    match &rule.connection_state {
        Some(ConnectionState::Established) => Readiness::Ready,
        Some(ConnectionState::Pending) => Readiness::Pending(pending_text(rule)),
        _ => Readiness::Pending(state_text(rule)),
    }
}

/// How messages name a rule field.
fn words(field: RuleField) -> &'static str {
    match field {
        RuleField::ResourceNames => "buckets",
        RuleField::Enabled => "enabled",
        RuleField::DomainNames => "domain names",
    }
}

/// `ESTABLISHED`, `PENDING`, … as Databricks says it.
pub fn state_text(rule: &PrivateEndpointRule) -> String {
    rule.connection_state
        .as_ref()
        .map_or_else(|| "without a state".to_owned(), |s| s.as_str().to_owned())
}

/// `PENDING, 13 day(s) left before it expires`.
pub fn pending_text(rule: &PrivateEndpointRule) -> String {
    match days_left(rule) {
        Some(days) => format!("PENDING, {days} day(s) left before it expires"),
        None => "PENDING".to_owned(),
    }
}

/// Whole days before a `PENDING` rule expires, from its creation time.
pub fn days_left(rule: &PrivateEndpointRule) -> Option<u64> {
    let created = Duration::from_millis(u64::try_from(rule.creation_time?).ok()?);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    let left = (created + PENDING_EXPIRY).saturating_sub(now);
    Some(left.as_secs() / (24 * 3600))
}

/// The error for a rule in a state it cannot leave by waiting, saying what to do.
pub fn failed(rule: &PrivateEndpointRule) -> StepError {
    let detail = rule
        .error_message
        .as_deref()
        .filter(|m| !m.is_empty())
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    let (what, hint) = match rule.connection_state {
        Some(ConnectionState::CreateFailed) => (
            "Databricks could not create its endpoint to the endpoint service",
            "check that the endpoint service exists in the NCC's region and allows the Databricks principal; \
             then run `plink up` again (it replaces the failed rule)",
        ),
        Some(ConnectionState::Rejected) => (
            "the connection was rejected on the endpoint service",
            "someone or something rejected it on the AWS side; run `plink up` again to replace the rule and accept the new connection",
        ),
        Some(ConnectionState::Disconnected) => (
            "the connection was removed by the endpoint service owner",
            "run `plink up` again to replace the rule (and check nothing deletes the connection)",
        ),
        Some(ConnectionState::Expired) => (
            "the connection was not accepted within 14 days",
            "run `plink up` again to replace the rule; plink accepts the new connection itself",
        ),
        _ => (
            "the rule is in an unexpected state",
            "run `plink status` and check the rule in the account console",
        ),
    };
    StepError::needs_user(
        format!(
            "rule {} is {}{detail}: {what}",
            rule.rule_id,
            state_text(rule)
        ),
        hint,
    )
}

/// Reads the rule, and leaves the read for the node that looks at it next ([`Env::take_rule`]).
async fn get_rule(env: &Env, ncc_id: &str, rule_id: &str) -> Res<PrivateEndpointRule> {
    let rule = env
        .databricks
        .get_rule(ncc_id, rule_id)
        .await
        .map_err(|e| errors::databricks("reading the rule", e))?;
    env.leave_rule(&rule);
    Ok(rule)
}

/// The recorded rule, for its conditions (which never create it): as the node before last read
/// it in this run, else read now.
async fn the_rule(cx: &Cx<'_>, inputs: &EstablishedInputs) -> Res<Found<PrivateEndpointRule>> {
    if let Some(rule) = cx.env.take_rule(&inputs.rule_id) {
        return Ok(Found::Recorded(rule));
    }
    get_rule(cx.env, &inputs.ncc_id, &inputs.rule_id)
        .await
        .map(Found::Recorded)
}

/// `rule` read again (the wait of the rule and of its conditions).
async fn reread(cx: &Cx<'_>, rule: &PrivateEndpointRule) -> Res<Option<PrivateEndpointRule>> {
    get_rule(cx.env, &rule.network_connectivity_config_id, &rule.rule_id)
        .await
        .map(Some)
}

#[async_trait]
impl Resource for Rule {
    type Inputs = RuleInputs;
    type Live = PrivateEndpointRule;
    type Record = RuleRecord;
    type Fix = (RuleField, Vec<String>);

    const NOUN: &'static str = "rule";
    const WAITS_FOR: &'static str = "Databricks to open its VPC endpoint";
    // CREATING → PENDING takes ~90 s (field update §5.1, from the field README; issue #13:
    // ~1.5 min), the one published figure: no range, so the prior is that figure. It is the time
    // AWS takes to provision the VPC endpoint Databricks makes for the rule (the field README's
    // "90s wait"), the lower end of an interface endpoint's 1.5–2.5 min (same table).
    const POLL_SECS: (u64, u64) = (90, 60);
    const FOUND_BY: &'static str = "found in the NCC";

    fn describe(&self) -> String {
        format!("private endpoint rule for {}", self.reaches)
    }

    fn label(&self, live: &Self::Live) -> String {
        live.rule_id.clone()
    }

    fn summary(&self, live: &Self::Live) -> String {
        format!("rule {} {}", live.rule_id, state_text(live))
    }

    /// The recorded rule, else a live rule of the NCC for the same endpoint service (natural
    /// key). A failed one, or a recorded one for another endpoint service (plink's service was
    /// replaced), is to be replaced: the previous run stopped on it and told the user what to do.
    async fn find(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Found<Self::Live>> {
        let rec: RuleRecord = cx.recorded();
        let recorded = Some(rec.rule_id).filter(|r| !r.is_empty());
        // An NCC made in this run has no rule yet.
        if cx.on_made_now(&inputs.ncc_id) {
            return Ok(Found::Missing { gone: recorded });
        }
        // The recorded rule as the NCC's read of this run showed it; anything else (no record,
        // not there, deactivated) is looked up in the NCC's list.
        let known = recorded
            .as_deref()
            .and_then(|id| cx.env.take_rule(id))
            .filter(|r| !r.deactivated && r.network_connectivity_config_id == inputs.ncc_id);
        let (rule, is_recorded) = match known {
            Some(rule) => (rule, true),
            None => {
                let rules = cx
                    .env
                    .databricks
                    .list_rules(&inputs.ncc_id)
                    .await
                    .map_err(|e| errors::databricks("listing the NCC's rules", e))?;
                let live: Vec<PrivateEndpointRule> =
                    rules.into_iter().filter(|r| !r.deactivated).collect();
                let by_id = live.iter().find(|r| Some(&r.rule_id) == recorded.as_ref());
                let by_key = live.iter().find(|r| inputs.is_key_of(r));
                match (by_id, by_key) {
                    (Some(rule), _) => (rule.clone(), true),
                    (None, Some(rule)) => (rule.clone(), false),
                    (None, None) => return Ok(Found::Missing { gone: recorded }),
                }
            }
        };
        cx.env.leave_rule(&rule);
        let why = match rule.endpoint_service.as_deref() {
            Some(other) if other != inputs.service_name => format!(
                "points at endpoint service {other}, not at plink's {}",
                inputs.service_name
            ),
            _ if is_failed(&rule) => format!("is {}", state_text(&rule)),
            _ => return Ok(Found::of(rule, is_recorded)),
        };
        Ok(Found::Replace {
            why,
            resource: rule,
        })
    }

    fn create_detail(&self, inputs: &Self::Inputs) -> String {
        let (field, names) = inputs.target();
        format!(
            "private endpoint rule for {} with {} [{}]",
            inputs.service_name,
            words(field),
            names.join(", ")
        )
    }

    /// Deployments of one run count the regional limit and create in turns.
    fn turn(&self, env: &Env) -> Option<String> {
        env.turn("rules")
    }

    /// The region's rule limit, unless the rule exists (a recorded one is `up`'s to check).
    async fn preflight(&self, cx: &Cx<'_>, inputs: Option<&Self::Inputs>) -> Vec<Finding> {
        if cx.has_record() {
            return Vec::new();
        }
        let none = RuleInputs {
            ncc_id: String::new(),
            service_name: String::new(),
            domain_names: Vec::new(),
            resource_names: Vec::new(),
        };
        let result = self.check_create(cx, inputs.unwrap_or(&none)).await;
        Finding::of("databricks.ncc", "private endpoint rules", &result)
    }

    /// Counts the live rules of every NCC of the region against the regional limit: from the
    /// rules each NCC carries (reference §2.1), else from its list of rules (one list of NCCs
    /// instead of one list per NCC, issue #13). The NCCs as this run listed them while nothing
    /// of this process changed the account since (the preflight's list, the NCC's lookup and
    /// its create), else listed now: the rules other deployments of the same `up` made count.
    async fn check_create(&self, cx: &Cx<'_>, _: &Self::Inputs) -> Res<()> {
        let (db, region) = (&cx.env.databricks, cx.env.region());
        // The live rules of each NCC: the limit is the region's, shared by its NCCs (reference
        // §8.1: "30 private endpoints per region, distributed across 1–10 NCCs"), so the
        // refusal says where they are.
        let mut per_ncc = Vec::new();
        for ncc in cx.env.nccs_for_limits().await? {
            let id = &ncc.network_connectivity_config_id;
            let carried = ncc.egress_config.and_then(|e| e.target_rules);
            let rules = match carried {
                Some(t) => t.aws_private_endpoint_rules,
                None if cx.on_made_now(id) => continue, // no rule yet
                None => db
                    .list_rules(id)
                    .await
                    .map_err(|e| errors::databricks("listing rules", e))?,
            };
            let live = rules.iter().filter(|r| !r.deactivated).count();
            if live > 0 {
                per_ncc.push((live, ncc.name));
            }
        }
        let count: usize = per_ncc.iter().map(|(n, _)| n).sum();
        if count >= MAX_RULES_PER_REGION {
            per_ncc.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            let where_: Vec<String> = per_ncc
                .iter()
                .map(|(n, name)| format!("{n} in NCC {name}"))
                .collect();
            return Err(StepError::needs_user(
                format!(
                    "the account already has {count} private endpoint rules in {region} (limit {MAX_RULES_PER_REGION}, \
                     shared by the region's NCCs: {})",
                    where_.join(", ")
                ),
                "delete unused rules of those NCCs (deleted rules are purged a day later), or ask Databricks for a higher limit",
            ));
        }
        Ok(())
    }

    async fn create(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Option<Self::Live>> {
        let mut intent = Intent::new("create_private_endpoint_rule")
            .key("ncc_id", &inputs.ncc_id)
            .key("endpoint_service", &inputs.service_name);
        if !inputs.resource_names.is_empty() {
            intent = intent.key("resource_names", inputs.resource_names.join(","));
        }
        cx.begin(intent)?;
        let body = match inputs.target() {
            (RuleField::ResourceNames, buckets) => {
                CreateRule::resource_names(&inputs.service_name, buckets.iter().cloned())
            }
            (_, names) => CreateRule::domain_names(&inputs.service_name, names.iter().cloned()),
        };
        // No idempotency token exists for this POST: it is sent once; any failure that may have
        // committed it is retried by the engine, whose next attempt lists the rules first.
        cx.env
            .databricks
            .create_rule(&inputs.ncc_id, &body)
            .await
            .map(Some)
            .map_err(|e| match e.kind() {
                ErrorKind::AlreadyExists => StepError::retryable(format!(
                    "a rule for {} appeared meanwhile: {e}",
                    inputs.service_name
                )),
                _ => errors::databricks("creating the private endpoint rule", e),
            })
    }

    async fn remove_to_replace(
        &self,
        cx: &Cx<'_>,
        inputs: &Self::Inputs,
        rule: &Self::Live,
    ) -> Res<()> {
        let ncc_id = &inputs.ncc_id;
        cx.begin(Intent::new("delete_rule_to_replace").key("rule_id", &rule.rule_id))?;
        cx.env
            .databricks
            .delete_rule_if_exists(ncc_id, &rule.rule_id)
            .await
            .map(|_| ())
            .map_err(|e| errors::databricks("deleting the rule to replace", e))
    }

    /// The domain names, or an S3 rule's buckets, are the only mutable part (full
    /// replacement, reference §3.6).
    async fn compare(
        &self,
        _: &Cx<'_>,
        inputs: &Self::Inputs,
        rule: &Self::Live,
    ) -> Result<Vec<Change<Self::Fix>>, StepError> {
        let (field, wanted) = inputs.target();
        let now = current(rule, field);
        let same = match field {
            // Buckets are a set; domain names keep the file's order.
            RuleField::ResourceNames => sorted(now) == sorted(wanted),
            _ => now == wanted,
        };
        if same {
            return Ok(Vec::new());
        }
        Ok(vec![Change::new(
            format!(
                "{} [{}] → [{}]",
                words(field),
                now.join(", "),
                wanted.join(", ")
            ),
            format!("updating {} {now:?} → {wanted:?}", words(field)),
            (field, wanted.to_vec()),
        )])
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        inputs: &Self::Inputs,
        rule: &Self::Live,
        (field, names): &Self::Fix,
    ) -> Res<()> {
        let mut update = UpdateRule::default();
        match field {
            RuleField::ResourceNames => update.resource_names = Some(names.clone()),
            _ => update.domain_names = Some(names.clone()),
        }
        cx.begin(
            Intent::new(format!("update_rule_{}", field.as_str())).key("rule_id", &rule.rule_id),
        )?;
        cx.env
            .databricks
            .update_rule(&inputs.ncc_id, &rule.rule_id, &[*field], &update)
            .await
            .map(|_| ())
            .map_err(|e| errors::databricks(&format!("updating the rule's {}", words(*field)), e))
    }

    fn readiness(&self, rule: &Self::Live) -> Readiness {
        not_failed.and(endpoint_reported).check(rule)
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn refresh(&self, cx: &Cx<'_>, rule: &Self::Live) -> Res<Option<Self::Live>> {
        reread(cx, rule).await
    }

    async fn record(
        &self,
        _: &Cx<'_>,
        inputs: &Self::Inputs,
        rule: &Self::Live,
    ) -> Res<Self::Record> {
        Ok(RuleRecord {
            rule_id: rule.rule_id.clone(),
            endpoint_service: rule
                .endpoint_service
                .clone()
                .unwrap_or_else(|| inputs.service_name.clone()),
            domain_names: rule.domain_names.clone(),
            resource_names: rule.resource_names.clone(),
            vpc_endpoint_id: rule.vpc_endpoint_id().map(str::to_owned),
        })
    }

    async fn observe(
        &self,
        env: &Env,
        rec: &Self::Record,
        inputs: Option<&Self::Inputs>,
    ) -> Observation {
        let mut o = Observation::default();
        let Some(inputs) = inputs.filter(|i| !i.ncc_id.is_empty() && !rec.rule_id.is_empty())
        else {
            return o;
        };
        let view = match env.databricks.get_rule(&inputs.ncc_id, &rec.rule_id).await {
            Ok(r) => RuleView {
                connection_state: r
                    .connection_state
                    .as_ref()
                    .map_or_else(|| "unknown".into(), |s| s.as_str().to_owned()),
                days_left_before_expiry: (r.connection_state == Some(ConnectionState::Pending))
                    .then(|| days_left(&r))
                    .flatten(),
                vpc_endpoint_id: r.vpc_endpoint_id().map(str::to_owned),
                error_message: r.error_message.clone().filter(|m| !m.is_empty()),
                deactivated: r.deactivated,
                enabled: r.enabled.filter(|_| !r.resource_names.is_empty()),
                rule_id: r.rule_id,
            },
            Err(err) if err.is_not_found() => RuleView {
                rule_id: rec.rule_id.clone(),
                connection_state: "missing".into(),
                ..RuleView::default()
            },
            Err(err) => {
                o.error("rule", err);
                return o;
            }
        };
        let days = view
            .days_left_before_expiry
            .map(|d| format!(", {d} day(s) left before it expires"))
            .unwrap_or_default();
        let error = view
            .error_message
            .as_ref()
            .map(|e| format!(" — {e}"))
            .unwrap_or_default();
        let enabled = match view.enabled {
            Some(true) => ", enabled",
            Some(false) => ", NOT enabled",
            None => "",
        };
        o.line(
            "rule",
            format!(
                "{} {} vpc_endpoint_id {}{enabled}{days}{error}",
                view.rule_id,
                view.connection_state,
                view.vpc_endpoint_id.as_deref().unwrap_or("-")
            ),
        );
        o.set("rule", view);
        o
    }

    /// What `down` would delete: the rules [`Rule::doomed`] finds.
    async fn teardown_plan(
        &self,
        cx: &Cx<'_>,
        inputs: Option<&Self::Inputs>,
    ) -> Res<Vec<Teardown>> {
        Ok(self
            .doomed(cx, inputs)
            .await?
            .map(|(_, rules)| {
                rules
                    .into_iter()
                    .map(|r| {
                        Teardown::new(
                            TeardownAction::Delete,
                            r.rule_id.clone(),
                            format!("private endpoint rule {}", r.rule_id),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Deletes the deployment's rules: the recorded one, and any rule of the NCC for plink's
    /// endpoint service (recorded, or named by a create intent whose answer was lost).
    async fn teardown(&self, cx: &Cx<'_>, inputs: Option<&Self::Inputs>) -> Res<()> {
        let db = &cx.env.databricks;
        let Some((ncc_id, ours)) = self.doomed(cx, inputs).await? else {
            return Ok(());
        };
        if ours.is_empty() {
            return Ok(());
        }
        let mut out = RuleDown {
            ncc_id: ncc_id.clone(),
            ..RuleDown::default()
        };
        for rule in ours {
            cx.begin(
                Intent::new("delete_private_endpoint_rule")
                    .key("ncc_id", &ncc_id)
                    .key("rule_id", &rule.rule_id),
            )?;
            db.delete_rule_if_exists(&ncc_id, &rule.rule_id)
                .await
                .map_err(|e| errors::databricks("deleting the private endpoint rule", e))?;
            out.deleted_rule_ids.push(rule.rule_id.clone());
            out.vpc_endpoint_ids
                .extend(rule.vpc_endpoint_id().map(str::to_owned));
            cx.step.record(&out)?;
        }
        cx.note(DEACTIVATION_NOTE);
        Ok(())
    }
}

impl Rule {
    /// The NCC and the deployment's live rules in it, which `down` deletes: the recorded one,
    /// and any rule for plink's endpoint service (recorded, wanted, or named by a create intent
    /// whose answer was lost). `None`: no NCC known, or it is gone.
    async fn doomed(
        &self,
        cx: &Cx<'_>,
        inputs: Option<&RuleInputs>,
    ) -> Res<Option<(String, Vec<PrivateEndpointRule>)>> {
        let db = &cx.env.databricks;
        let rec: RuleRecord = cx.recorded();
        let Some(ncc_id) = inputs.map(|i| i.ncc_id.clone()).filter(|i| !i.is_empty()) else {
            return Ok(None);
        };
        let rules = match db.list_rules(&ncc_id).await {
            Ok(rules) => rules,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(errors::databricks("listing the NCC's rules", e)),
        };
        // The natural keys plink's rule may have: recorded, wanted, or named by a create intent
        // whose answer was lost (an S3 rule's with its buckets).
        let mut keys: Vec<(String, Vec<String>)> =
            vec![(rec.endpoint_service.clone(), rec.resource_names.clone())];
        keys.extend(inputs.map(|i| (i.service_name.clone(), i.resource_names.clone())));
        keys.extend(cx.pending_intent().and_then(|i| {
            let service = i.natural_key.get("endpoint_service")?.clone();
            let buckets = i
                .natural_key
                .get("resource_names")
                .map_or_else(Vec::new, |b| {
                    b.split(',')
                        .filter(|b| !b.is_empty())
                        .map(str::to_owned)
                        .collect()
                });
            Some((service, buckets))
        }));
        keys.retain(|(s, _)| !s.is_empty());
        let ours: Vec<_> = rules
            .into_iter()
            .filter(|r| !r.deactivated)
            .filter(|r| {
                r.rule_id == rec.rule_id
                    || keys.iter().any(|(s, buckets)| same_target(r, s, buckets))
            })
            .collect();
        Ok(Some((ncc_id, ours)))
    }
}

/// The rule's condition `ESTABLISHED`: a node of its own in the graph (its wait outlives the
/// acceptance of the connection, and resuming it must not repeat the rule's steps).
pub struct Established {
    pub timeout: Duration,
}

/// What upstream decides: which rule.
pub struct EstablishedInputs {
    pub ncc_id: String,
    pub rule_id: String,
}

/// What the state keeps: the rule's final state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EstablishedRecord {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub connection_state: String,
}

#[async_trait]
impl Resource for Established {
    type Inputs = EstablishedInputs;
    type Live = PrivateEndpointRule;
    type Record = EstablishedRecord;
    type Fix = ();

    const NOUN: &'static str = "rule";
    const WAITS_FOR: &'static str = "the rule to become ESTABLISHED";
    // 1–5 min after the acceptance or the bucket policy (field update §5.1): nothing to see
    // before the first minute.
    const POLL_SECS: (u64, u64) = (60, 60);
    const TEARS_DOWN: bool = false;

    fn describe(&self) -> String {
        "rule ESTABLISHED".into()
    }

    fn label(&self, live: &Self::Live) -> String {
        live.rule_id.clone()
    }

    fn summary(&self, live: &Self::Live) -> String {
        format!("rule {} {}", live.rule_id, state_text(live))
    }

    async fn find(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Found<Self::Live>> {
        the_rule(cx, inputs).await
    }

    /// `ESTABLISHED` is ready; a failed state is an error saying what to do; anything else
    /// (`PENDING`, `CREATING`, a state this plink does not know) keeps waiting, never success.
    fn readiness(&self, rule: &Self::Live) -> Readiness {
        not_failed.and(established).check(rule)
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn refresh(&self, cx: &Cx<'_>, rule: &Self::Live) -> Res<Option<Self::Live>> {
        reread(cx, rule).await
    }

    async fn record(&self, _: &Cx<'_>, _: &Self::Inputs, rule: &Self::Live) -> Res<Self::Record> {
        Ok(EstablishedRecord {
            connection_state: match &rule.connection_state {
                Some(s @ ConnectionState::Established) => s.as_str().to_owned(),
                _ => String::new(),
            },
        })
    }
}

/// An S3 rule's `enabled`: ignored at create, refused before `ESTABLISHED` (reference §3.3,
/// field update §1.4), so a node of its own after `established`. Disabled out of band, it is
/// drift `up` repairs.
pub struct Enabled;

/// What the state keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnabledRecord {
    pub enabled: bool,
}

fn is_enabled(rule: &PrivateEndpointRule) -> Readiness {
    if rule.enabled == Some(true) {
        Readiness::Ready
    } else {
        Readiness::Pending("enabled=false".into())
    }
}

#[async_trait]
impl Resource for Enabled {
    type Inputs = EstablishedInputs;
    type Live = PrivateEndpointRule;
    type Record = EnabledRecord;
    type Fix = ();

    const NOUN: &'static str = "rule";
    const WAITS_FOR: &'static str = "the rule to be enabled";
    const POLL_SECS: (u64, u64) = (2, 10);
    const TEARS_DOWN: bool = false;

    fn describe(&self) -> String {
        "enable the S3 rule".into()
    }

    fn label(&self, live: &Self::Live) -> String {
        live.rule_id.clone()
    }

    fn summary(&self, live: &Self::Live) -> String {
        format!("rule {} enabled", live.rule_id)
    }

    async fn find(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Found<Self::Live>> {
        the_rule(cx, inputs).await
    }

    async fn compare(
        &self,
        _: &Cx<'_>,
        _: &Self::Inputs,
        rule: &Self::Live,
    ) -> Res<Vec<Change<()>>> {
        Ok(match is_enabled(rule) {
            Readiness::Ready => Vec::new(),
            _ => vec![Change::new(
                "is not enabled: up enables it",
                format!("enabling rule {}", rule.rule_id),
                (),
            )],
        })
    }

    /// `PATCH ?update_mask=enabled` (idempotent: the client retries it).
    async fn update(
        &self,
        cx: &Cx<'_>,
        inputs: &Self::Inputs,
        rule: &Self::Live,
        _: &(),
    ) -> Res<()> {
        cx.begin(Intent::new("enable_rule").key("rule_id", &rule.rule_id))?;
        let update = UpdateRule {
            enabled: Some(true),
            ..UpdateRule::default()
        };
        cx.env
            .databricks
            .update_rule(
                &inputs.ncc_id,
                &rule.rule_id,
                &[RuleField::Enabled],
                &update,
            )
            .await
            .map(|_| ())
            .map_err(|e| errors::databricks("enabling the rule", e))
    }

    fn readiness(&self, rule: &Self::Live) -> Readiness {
        not_failed.and(is_enabled).check(rule)
    }

    async fn refresh(&self, cx: &Cx<'_>, rule: &Self::Live) -> Res<Option<Self::Live>> {
        reread(cx, rule).await
    }

    async fn record(&self, _: &Cx<'_>, _: &Self::Inputs, rule: &Self::Live) -> Res<Self::Record> {
        Ok(EnabledRecord {
            enabled: rule.enabled == Some(true),
        })
    }
}
