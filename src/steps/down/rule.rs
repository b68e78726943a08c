//! `down_rule`: delete the deployment's private endpoint rule(s). Databricks deactivates a deleted
//! rule and keeps its VPC endpoint connected for a while (reference §3.7), which is why
//! `down_connections` rejects that connection next.

use std::collections::BTreeSet;

use async_trait::async_trait;

use super::outputs::RuleDown;
use super::{DEACTIVATION_NOTE, Down, endpoint_service, ncc, records};
use crate::engine::{Step, StepContext, StepError, StepId};
use crate::state::Intent;
use crate::steps::errors;

pub struct DownRule(pub Down);

#[async_trait]
impl Step for DownRule {
    fn id(&self) -> StepId {
        "down_rule"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec![]
    }

    fn describe(&self) -> String {
        "delete the private endpoint rule".into()
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let d = &self.0;
        let db = &d.env.databricks;
        let Some(ncc) = ncc::locate(d, cx).await? else {
            return Ok(());
        };
        let rules = match db.list_rules(&ncc.id).await {
            Ok(rules) => rules,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(errors::databricks("listing the NCC's rules", e)),
        };
        let recorded: records::Rule = records::of(cx, "rule");
        let services = self.service_names(cx, &recorded).await?;
        let ours: Vec<_> = rules
            .iter()
            .filter(|r| !r.deactivated)
            .filter(|r| {
                recorded.rule_id.as_deref() == Some(r.rule_id.as_str())
                    || r.endpoint_service
                        .as_ref()
                        .is_some_and(|s| services.contains(s))
            })
            .collect();
        if ours.is_empty() {
            return Ok(());
        }
        let mut out = RuleDown {
            ncc_id: ncc.id.clone(),
            ..RuleDown::default()
        };
        for rule in ours {
            cx.begin(
                Intent::new("delete_private_endpoint_rule")
                    .key("ncc_id", &ncc.id)
                    .key("rule_id", &rule.rule_id),
            )?;
            db.delete_rule_if_exists(&ncc.id, &rule.rule_id)
                .await
                .map_err(|e| errors::databricks("deleting the private endpoint rule", e))?;
            out.deleted_rule_ids.push(rule.rule_id.clone());
            out.vpc_endpoint_ids
                .extend(rule.vpc_endpoint_id().map(str::to_owned));
            cx.record(&out)?;
        }
        cx.note(DEACTIVATION_NOTE);
        Ok(())
    }
}

impl DownRule {
    /// The names of the deployment's endpoint service(s): the natural key of its rules.
    async fn service_names(
        &self,
        cx: &StepContext,
        rule: &records::Rule,
    ) -> Result<BTreeSet<String>, StepError> {
        let mut names: BTreeSet<String> = BTreeSet::new();
        names.extend(rule.endpoint_service.clone());
        let service: records::EndpointService = records::of(cx, "endpoint_service");
        names.extend(service.service_name);
        // A rule create whose answer was lost names its service in the intent.
        if let Some(intent) = cx.intent_of("rule") {
            names.extend(intent.natural_key.get("endpoint_service").cloned());
        }
        if names.is_empty() {
            names.extend(
                endpoint_service::locate(&self.0, cx)
                    .await?
                    .into_iter()
                    .map(|s| s.name),
            );
        }
        Ok(names)
    }
}
