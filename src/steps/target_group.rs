//! `target_group`: TCP:443, target type `ip`, TCP health check, in the deployment's VPC. The name
//! is the natural key (CreateTargetGroup is idempotent for the same settings).

use async_trait::async_trait;

use super::outputs::{NetworkOut, TargetGroupOut};
use super::{Env, errors};
use crate::aws::{CreateTargetGroup, PlinkTags, TargetGroup};
use crate::engine::{Step, StepContext, StepError, StepId};
use crate::state::Intent;

/// S3 over TLS: the NLB passes TCP through to the endpoint's ENIs.
pub const PORT: i32 = 443;

pub struct TargetGroupStep(pub Env);

#[async_trait]
impl Step for TargetGroupStep {
    fn id(&self) -> StepId {
        "target_group"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec!["network"]
    }

    fn describe(&self) -> String {
        format!(
            "target group {} (TCP:443, ip)",
            self.0.workflow.nlb.target_group_name
        )
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let env = &self.0;
        let network: NetworkOut = cx.output("network")?;
        let name = &env.workflow.nlb.target_group_name;
        let tg = match self.find(cx).await? {
            Some(tg) => tg,
            None => {
                cx.begin(Intent::new("create_target_group").key("name", name))?;
                env.aws
                    .create_target_group(&CreateTargetGroup {
                        name: name.clone(),
                        vpc_id: network.vpc_id.clone(),
                        port: PORT,
                        tags: PlinkTags::new(env.workflow.deployment.as_str(), "target_group")
                            .with_name(name),
                    })
                    .await
                    .map_err(|e| errors::aws("creating the target group", e))?
            }
        };
        if tg.vpc_id != network.vpc_id
            || tg.protocol != "TCP"
            || tg.port != Some(PORT)
            || tg.target_type != "ip"
        {
            return Err(StepError::needs_user(
                format!(
                    "target group {name} exists with other settings ({} {:?}, type {}, {})",
                    tg.protocol, tg.port, tg.target_type, tg.vpc_id
                ),
                "plink needs a TCP:443 target group of type ip in the deployment's VPC: choose another nlb.target_group_name",
            ));
        }
        cx.record(&TargetGroupOut {
            target_group_arn: tg.arn,
            name: tg.name,
        })
    }
}

impl TargetGroupStep {
    async fn find(&self, cx: &StepContext) -> Result<Option<TargetGroup>, StepError> {
        let env = &self.0;
        if let Some(rec) = cx.recorded::<TargetGroupOut>() {
            if let Some(tg) = env
                .aws
                .describe_target_group(&rec.target_group_arn)
                .await
                .map_err(|e| errors::aws("reading the target group", e))?
            {
                return Ok(Some(tg));
            }
            cx.note(format!(
                "recorded target group {} is gone; recreating it",
                rec.name
            ));
            cx.forget(&["target_group_arn"])?;
        }
        env.aws
            .find_target_group(&env.workflow.nlb.target_group_name)
            .await
            .map_err(|e| errors::aws("looking up the target group", e))
    }
}
