//! `targets`: the target group holds exactly the endpoint's ENI IPs (field notes B.2 #9: keep
//! the NLB's targets in sync with the endpoint's ENIs). Registering is idempotent.

use std::collections::BTreeSet;

use async_trait::async_trait;

use super::outputs::{EndpointOut, TargetGroupOut, TargetsOut};
use super::target_group::PORT;
use super::{Env, errors};
use crate::engine::{Step, StepContext, StepError, StepId};
use crate::state::Intent;

pub struct TargetsStep(pub Env);

#[async_trait]
impl Step for TargetsStep {
    fn id(&self) -> StepId {
        "targets"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec!["endpoint", "target_group"]
    }

    fn describe(&self) -> String {
        "register the endpoint's ENI IPs as targets".into()
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let env = &self.0;
        let endpoint: EndpointOut = cx.output("endpoint")?;
        let tg: TargetGroupOut = cx.output("target_group")?;
        let health = env
            .aws
            .target_health(&tg.target_group_arn)
            .await
            .map_err(|e| errors::aws("reading the targets", e))?;
        let registered: BTreeSet<String> = health.iter().map(|t| t.ip.clone()).collect();
        let wanted: BTreeSet<String> = endpoint.ips.iter().cloned().collect();

        let missing: Vec<String> = wanted.difference(&registered).cloned().collect();
        if !missing.is_empty() {
            cx.begin(
                Intent::new("register_targets")
                    .key("target_group_arn", &tg.target_group_arn)
                    .key("ips", missing.join(",")),
            )?;
            env.aws
                .register_ip_targets(&tg.target_group_arn, &missing, PORT)
                .await
                .map_err(|e| errors::aws("registering targets", e))?;
        }
        // IPs of ENIs the endpoint no longer has (it was replaced): they would only fail health checks.
        let stale: Vec<String> = registered.difference(&wanted).cloned().collect();
        if !stale.is_empty() {
            cx.note(format!("deregistering stale targets {}", stale.join(", ")));
            cx.begin(
                Intent::new("deregister_targets")
                    .key("target_group_arn", &tg.target_group_arn)
                    .key("ips", stale.join(",")),
            )?;
            env.aws
                .deregister_ip_targets(&tg.target_group_arn, &stale, PORT)
                .await
                .map_err(|e| errors::aws("deregistering targets", e))?;
        }
        cx.record(&TargetsOut {
            registered_ips: wanted.into_iter().collect(),
        })
    }
}
