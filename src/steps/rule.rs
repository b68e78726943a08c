//! `rule`: the NCC private endpoint rule for the endpoint service, until Databricks reports the
//! VPC endpoint it opened (`vpc_endpoint_id`, empty in the create response — reference §3.3).

use async_trait::async_trait;

use super::outputs::{EndpointOut, EndpointServiceOut, NccOut, RuleOut};
use super::{Env, coordination, errors};
use crate::config::DomainNames;
use crate::databricks::{
    ConnectionState, CreateRule, ErrorKind, PrivateEndpointRule, RuleField, UpdateRule,
};
use crate::engine::{Planned, Poll, Step, StepContext, StepError, StepId};
use crate::state::Intent;

/// Databricks limit: private endpoints per region per account (reference §8.1).
pub const MAX_RULES_PER_REGION: usize = 30;

pub struct RuleStep(pub Env);

#[async_trait]
impl Step for RuleStep {
    fn id(&self) -> StepId {
        "rule"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec!["ncc", "endpoint_service", "endpoint"]
    }

    fn describe(&self) -> String {
        "private endpoint rule for the endpoint service".into()
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let env = &self.0;
        let db = &env.databricks;
        let ncc: NccOut = cx.output("ncc")?;
        let service: EndpointServiceOut = cx.output("endpoint_service")?;
        let domain_names = self.domain_names(cx)?;

        // Deployments of one run count the regional limit and create in turn (see coordination).
        let turn = coordination::lock(format!("rules:{}:{}", db.account_id(), env.region())).await;
        let found = self.find(cx, &ncc, &service).await?;
        let mut rule = match found {
            RuleFound::Live { rule, .. } => rule,
            RuleFound::Replace { rule, why } => {
                cx.note(format!(
                    "rule {} {why}; deleting it to create a new one",
                    rule.rule_id
                ));
                cx.begin(Intent::new("delete_rule_to_replace").key("rule_id", &rule.rule_id))?;
                db.delete_rule_if_exists(&ncc.ncc_id, &rule.rule_id)
                    .await
                    .map_err(|e| errors::databricks("deleting the rule to replace", e))?;
                cx.forget(&["rule_id", "vpc_endpoint_id"])?;
                self.create(cx, &ncc, &service, &domain_names).await?
            }
            RuleFound::Missing { gone } => {
                if gone.is_some() {
                    cx.note("the recorded rule is gone; creating a new one");
                    cx.forget(&["rule_id", "vpc_endpoint_id"])?;
                }
                self.create(cx, &ncc, &service, &domain_names).await?
            }
        };
        drop(turn);
        cx.record(&out(&rule, &service))?;

        // Drift repair: the domain names are the only mutable part (full replacement, §3.6).
        if rule.domain_names != domain_names {
            cx.note(format!(
                "updating domain names {:?} → {:?}",
                rule.domain_names, domain_names
            ));
            let update = UpdateRule {
                domain_names: Some(domain_names.clone()),
                ..UpdateRule::default()
            };
            cx.begin(Intent::new("update_rule_domain_names").key("rule_id", &rule.rule_id))?;
            rule = db
                .update_rule(
                    &ncc.ncc_id,
                    &rule.rule_id,
                    &[RuleField::DomainNames],
                    &update,
                )
                .await
                .map_err(|e| errors::databricks("updating the rule's domain names", e))?;
            cx.record(&out(&rule, &service))?;
        }

        if waiting_for_endpoint(&rule) {
            let policy = env.wait(10, 60, env.workflow.timeouts.rule_endpoint);
            rule = cx
                .wait_for("Databricks to open its VPC endpoint", &policy, || async {
                    let rule = db
                        .get_rule(&ncc.ncc_id, &rule.rule_id)
                        .await
                        .map_err(|e| errors::databricks("reading the rule", e))?;
                    match (&rule.connection_state, rule.vpc_endpoint_id()) {
                        (Some(state), _) if state.is_failed() => Err(failed(&rule)),
                        (Some(ConnectionState::Creating) | None, _) | (_, None) => {
                            Ok(Poll::Pending(format!("rule {}", state_text(&rule))))
                        }
                        (Some(_), Some(_)) => Ok(Poll::Ready(rule)),
                    }
                })
                .await?;
        } else if is_failed(&rule) {
            return Err(failed(&rule));
        }
        cx.record(&out(&rule, &service))
    }

    async fn plan(&self, cx: &StepContext) -> Result<Planned, StepError> {
        let ncc: NccOut = cx.output("ncc")?;
        let service: EndpointServiceOut = cx.output("endpoint_service")?;
        let domain_names = self.domain_names(cx)?;
        let (rule, recorded) = match self.find(cx, &ncc, &service).await? {
            RuleFound::Missing { gone } => {
                self.check_quota().await?;
                let gone = gone.map(|g| format!("recorded rule {g} is gone; "));
                return Ok(Planned::create(format!(
                    "{}private endpoint rule for {} with domain names [{}]",
                    gone.unwrap_or_default(),
                    service.service_name,
                    domain_names.join(", ")
                )));
            }
            RuleFound::Replace { rule, why } => {
                return Ok(Planned::replace(format!(
                    "rule {} {why}: up deletes it and creates a new one",
                    rule.rule_id
                )));
            }
            RuleFound::Live { rule, recorded } => (rule, recorded),
        };
        let mut changes = Vec::new();
        if rule.domain_names != domain_names {
            changes.push(format!(
                "domain names [{}] → [{}]",
                rule.domain_names.join(", "),
                domain_names.join(", ")
            ));
        }
        let planned = if !recorded {
            Planned::adopt(format!(
                "rule {} for {} found in the NCC{}",
                rule.rule_id,
                service.service_name,
                changes.iter().map(|c| format!("; {c}")).collect::<String>()
            ))
        } else if !changes.is_empty() {
            Planned::update(format!("rule {}: {}", rule.rule_id, changes.join("; ")))
        } else if waiting_for_endpoint(&rule) {
            Planned::wait(format!(
                "rule {} is {}: up waits for Databricks to open its VPC endpoint",
                rule.rule_id,
                state_text(&rule)
            ))
        } else {
            Planned::no_change(format!("rule {} {}", rule.rule_id, state_text(&rule)))
        };
        Ok(planned.with_outputs(&out(&rule, &service)))
    }
}

/// What the rule lookup found.
enum RuleFound {
    /// A live rule for the endpoint service; `recorded` unless found by natural key.
    Live {
        rule: PrivateEndpointRule,
        recorded: bool,
    },
    /// A rule that can never work again (failed, or for an endpoint service that was
    /// replaced): `apply` deletes it and creates a new one.
    Replace {
        rule: PrivateEndpointRule,
        why: String,
    },
    /// No rule: `apply` creates one. `gone` is the recorded rule id when it vanished.
    Missing { gone: Option<String> },
}

impl RuleStep {
    /// The domain names the rule must have: the workflow's, else the endpoint's DNS name.
    fn domain_names(&self, cx: &StepContext) -> Result<Vec<String>, StepError> {
        Ok(match &self.0.workflow.databricks.domain_names {
            DomainNames::Explicit(names) => names.clone(),
            DomainNames::FromEndpoint => vec![cx.output::<EndpointOut>("endpoint")?.dns_name],
        })
    }

    /// The recorded rule, else a live rule of the NCC for the same endpoint service (natural
    /// key). A failed one, or a recorded one for another endpoint service (plink's service was
    /// replaced), is to be replaced: the previous run stopped on it and told the user what to fix.
    async fn find(
        &self,
        cx: &StepContext,
        ncc: &NccOut,
        service: &EndpointServiceOut,
    ) -> Result<RuleFound, StepError> {
        let db = &self.0.databricks;
        let rules = db
            .list_rules(&ncc.ncc_id)
            .await
            .map_err(|e| errors::databricks("listing the NCC's rules", e))?;
        let live: Vec<PrivateEndpointRule> = rules.into_iter().filter(|r| !r.deactivated).collect();
        let recorded = cx.recorded::<RuleOut>().map(|r| r.rule_id);
        let by_id = live.iter().find(|r| Some(&r.rule_id) == recorded.as_ref());
        let by_key = live
            .iter()
            .find(|r| r.endpoint_service.as_deref() == Some(service.service_name.as_str()));
        let (rule, is_recorded) = match (by_id, by_key) {
            (Some(rule), _) => (rule.clone(), true),
            (None, Some(rule)) => (rule.clone(), false),
            (None, None) => return Ok(RuleFound::Missing { gone: recorded }),
        };
        if let Some(other) = rule
            .endpoint_service
            .as_deref()
            .filter(|s| *s != service.service_name)
        {
            return Ok(RuleFound::Replace {
                why: format!(
                    "points at endpoint service {other}, not at plink's {}",
                    service.service_name
                ),
                rule,
            });
        }
        if is_failed(&rule) {
            return Ok(RuleFound::Replace {
                why: format!("is {}", state_text(&rule)),
                rule,
            });
        }
        Ok(RuleFound::Live {
            rule,
            recorded: is_recorded,
        })
    }

    async fn create(
        &self,
        cx: &StepContext,
        ncc: &NccOut,
        service: &EndpointServiceOut,
        domain_names: &[String],
    ) -> Result<PrivateEndpointRule, StepError> {
        let env = &self.0;
        let db = &env.databricks;
        self.check_quota().await?;
        cx.begin(
            Intent::new("create_private_endpoint_rule")
                .key("ncc_id", &ncc.ncc_id)
                .key("endpoint_service", &service.service_name),
        )?;
        // No idempotency token exists for this POST: it is sent once; any failure that may have
        // committed it is retried by the engine, whose next attempt lists the rules first (`find`).
        db.create_rule(
            &ncc.ncc_id,
            &CreateRule::domain_names(&service.service_name, domain_names.iter().cloned()),
        )
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::AlreadyExists => StepError::retryable(format!(
                "a rule for {} appeared meanwhile: {e}",
                service.service_name
            )),
            _ => errors::databricks("creating the private endpoint rule", e),
        })
    }

    /// Counts the live rules of every NCC of the region against the regional limit.
    async fn check_quota(&self) -> Result<(), StepError> {
        let db = &self.0.databricks;
        let region = self.0.region();
        let nccs = db
            .list_nccs()
            .await
            .map_err(|e| errors::databricks("listing NCCs", e))?;
        let mut count = 0;
        for ncc in nccs.iter().filter(|n| n.region == region) {
            let rules = db
                .list_rules(&ncc.network_connectivity_config_id)
                .await
                .map_err(|e| errors::databricks("listing rules", e))?;
            count += rules.iter().filter(|r| !r.deactivated).count();
        }
        if count >= MAX_RULES_PER_REGION {
            return Err(StepError::needs_user(
                format!(
                    "the account already has {count} private endpoint rules in {region} (limit {MAX_RULES_PER_REGION})"
                ),
                "delete unused rules (deleted rules are purged a day later), or ask Databricks for a higher limit",
            ));
        }
        Ok(())
    }
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

pub(crate) fn state_text(rule: &PrivateEndpointRule) -> String {
    rule.connection_state
        .as_ref()
        .map_or_else(|| "without a state".to_owned(), |s| s.as_str().to_owned())
}

/// The error for a rule in a state it cannot leave by waiting, saying what to do.
pub(crate) fn failed(rule: &PrivateEndpointRule) -> StepError {
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

fn out(rule: &PrivateEndpointRule, service: &EndpointServiceOut) -> RuleOut {
    RuleOut {
        rule_id: rule.rule_id.clone(),
        endpoint_service: rule
            .endpoint_service
            .clone()
            .unwrap_or_else(|| service.service_name.clone()),
        domain_names: rule.domain_names.clone(),
        vpc_endpoint_id: rule.vpc_endpoint_id().map(str::to_owned),
    }
}
