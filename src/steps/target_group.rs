//! `target_group`: TCP:443, target type `ip`, TCP health check, in the deployment's VPC. The name
//! is the natural key (CreateTargetGroup is idempotent for the same settings).

use async_trait::async_trait;

use super::found::{Found, gone_prefix};
use super::outputs::{NetworkOut, TargetGroupOut};
use super::{Env, errors};
use crate::aws::{CreateTargetGroup, PlinkTags, TargetGroup};
use crate::engine::{Planned, Step, StepContext, StepError, StepId};
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
        let found = self.find(cx).await?;
        if let Some(gone) = found.gone() {
            cx.note(format!(
                "recorded target group {gone} is gone; recreating it"
            ));
            cx.forget(&["target_group_arn"])?;
        }
        let tg = match found.into_resource() {
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
        check(&tg, &network)?;
        cx.record(&out(&tg))
    }

    async fn plan(&self, cx: &StepContext) -> Result<Planned, StepError> {
        let network: NetworkOut = cx.output("network")?;
        let planned = match self.find(cx).await? {
            Found::Missing { gone } => {
                return Ok(Planned::create(format!(
                    "{}target group {} (TCP:443, ip)",
                    gone_prefix("target group", gone.as_deref()),
                    self.0.workflow.nlb.target_group_name
                )));
            }
            Found::Unrecorded { resource, gone } => {
                check(&resource, &network)?;
                Planned::adopt(format!(
                    "{}target group {} found by name",
                    gone_prefix("target group", gone.as_deref()),
                    resource.name
                ))
                .with_outputs(&out(&resource))
            }
            Found::Recorded(tg) => {
                check(&tg, &network)?;
                Planned::no_change(format!("target group {}", tg.name)).with_outputs(&out(&tg))
            }
        };
        Ok(planned)
    }
}

/// plink needs a TCP:443 target group of type `ip` in the deployment's VPC.
fn check(tg: &TargetGroup, network: &NetworkOut) -> Result<(), StepError> {
    if tg.vpc_id == network.vpc_id
        && tg.protocol == "TCP"
        && tg.port == Some(PORT)
        && tg.target_type == "ip"
    {
        return Ok(());
    }
    Err(StepError::needs_user(
        format!(
            "target group {} exists with other settings ({} {:?}, type {}, {})",
            tg.name, tg.protocol, tg.port, tg.target_type, tg.vpc_id
        ),
        "plink needs a TCP:443 target group of type ip in the deployment's VPC: choose another nlb.target_group_name",
    ))
}

fn out(tg: &TargetGroup) -> TargetGroupOut {
    TargetGroupOut {
        target_group_arn: tg.arn.clone(),
        name: tg.name.clone(),
    }
}

impl TargetGroupStep {
    /// The recorded target group, else the one named `nlb.target_group_name`.
    async fn find(&self, cx: &StepContext) -> Result<Found<TargetGroup>, StepError> {
        let env = &self.0;
        let mut gone = None;
        if let Some(rec) = cx.recorded::<TargetGroupOut>() {
            if let Some(tg) = env
                .aws
                .describe_target_group(&rec.target_group_arn)
                .await
                .map_err(|e| errors::aws("reading the target group", e))?
            {
                return Ok(Found::Recorded(tg));
            }
            gone = Some(format!("{} ({})", rec.name, rec.target_group_arn));
        }
        let by_name = env
            .aws
            .find_target_group(&env.workflow.nlb.target_group_name)
            .await
            .map_err(|e| errors::aws("looking up the target group", e))?;
        Ok(Found::by_key(by_name, gone))
    }
}
