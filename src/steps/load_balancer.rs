//! `load_balancer`: the internal NLB across the endpoint's subnets, cross-zone on, until
//! `active`. Its name is the natural key (CreateLoadBalancer is idempotent by name).

use async_trait::async_trait;

use super::outputs::{LoadBalancerOut, NetworkOut};
use super::{Env, errors};
use crate::aws::{CreateLoadBalancer, LoadBalancer, PlinkTags};
use crate::engine::{Poll, Step, StepContext, StepError, StepId};
use crate::state::Intent;

pub struct LoadBalancerStep(pub Env);

#[async_trait]
impl Step for LoadBalancerStep {
    fn id(&self) -> StepId {
        "load_balancer"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec!["network"]
    }

    fn describe(&self) -> String {
        format!("internal NLB {}", self.0.workflow.nlb.name)
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let env = &self.0;
        let network: NetworkOut = cx.output("network")?;
        let name = &env.workflow.nlb.name;
        let lb = match self.find(cx).await? {
            Some(lb) => lb,
            None => {
                cx.begin(Intent::new("create_load_balancer").key("name", name))?;
                env.aws
                    .create_load_balancer(&CreateLoadBalancer {
                        name: name.clone(),
                        subnet_ids: network.subnets.iter().map(|s| s.id.clone()).collect(),
                        security_group_ids: Vec::new(),
                        tags: PlinkTags::new(env.workflow.deployment.as_str(), "load_balancer")
                            .with_name(name),
                    })
                    .await
                    .map_err(|e| errors::aws("creating the NLB", e))?
            }
        };
        if lb.vpc_id != network.vpc_id || lb.type_ != "network" || lb.scheme != "internal" {
            return Err(StepError::needs_user(
                format!(
                    "load balancer {name} exists but is a {} {} load balancer in {}",
                    lb.scheme, lb.type_, lb.vpc_id
                ),
                "plink needs an internal network load balancer in the deployment's VPC: choose another nlb.name",
            ));
        }
        cx.record(&LoadBalancerOut {
            load_balancer_arn: lb.arn.clone(),
            name: lb.name.clone(),
            dns_name: lb.dns_name.clone(),
        })?;

        let want = env.workflow.nlb.cross_zone;
        if env
            .aws
            .cross_zone_enabled(&lb.arn)
            .await
            .map_err(|e| errors::aws("reading NLB attributes", e))?
            != want
        {
            cx.note(format!(
                "setting cross-zone load balancing {}",
                if want { "on" } else { "off" }
            ));
            cx.begin(
                Intent::new("set_cross_zone")
                    .key("load_balancer_arn", &lb.arn)
                    .key("enabled", want.to_string()),
            )?;
            env.aws
                .set_cross_zone(&lb.arn, want)
                .await
                .map_err(|e| errors::aws("setting cross-zone load balancing", e))?;
            cx.record(&LoadBalancerOut {
                load_balancer_arn: lb.arn.clone(),
                name: lb.name.clone(),
                dns_name: lb.dns_name.clone(),
            })?;
        }

        if !lb.is_active() {
            let policy = env.wait(10, 30, env.workflow.timeouts.load_balancer);
            cx.wait_for("the NLB to be active", &policy, || async {
                let lb = env
                    .aws
                    .describe_load_balancer(&lb.arn)
                    .await
                    .map_err(|e| errors::aws("reading the NLB", e))?
                    .ok_or_else(|| {
                        StepError::retryable(format!("NLB {} not visible yet", lb.arn))
                    })?;
                if lb.is_active() {
                    Ok(Poll::Ready(()))
                } else if lb.is_failed() {
                    Err(StepError::terminal(format!(
                        "NLB {} failed: {}",
                        lb.name,
                        lb.state_reason.unwrap_or_default()
                    )))
                } else {
                    Ok(Poll::Pending(format!("state={}", lb.state)))
                }
            })
            .await?;
        }
        Ok(())
    }
}

impl LoadBalancerStep {
    async fn find(&self, cx: &StepContext) -> Result<Option<LoadBalancer>, StepError> {
        let env = &self.0;
        if let Some(rec) = cx.recorded::<LoadBalancerOut>() {
            if let Some(lb) = env
                .aws
                .describe_load_balancer(&rec.load_balancer_arn)
                .await
                .map_err(|e| errors::aws("reading the NLB", e))?
            {
                return Ok(Some(lb));
            }
            cx.note(format!("recorded NLB {} is gone; recreating it", rec.name));
            cx.forget(&["load_balancer_arn", "dns_name"])?;
        }
        env.aws
            .find_load_balancer(&env.workflow.nlb.name)
            .await
            .map_err(|e| errors::aws("looking up the NLB by name", e))
    }
}
