//! `load_balancer`: the internal NLB across the endpoint's subnets, cross-zone on, until
//! `active`. Its name is the natural key (CreateLoadBalancer is idempotent by name).

use async_trait::async_trait;

use super::found::{Found, gone_prefix};
use super::outputs::{LoadBalancerOut, NetworkOut};
use super::{Env, errors};
use crate::aws::{CreateLoadBalancer, LoadBalancer, PlinkTags};
use crate::engine::{Planned, Poll, Step, StepContext, StepError, StepId};
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
        let found = self.find(cx).await?;
        if let Some(gone) = found.gone() {
            cx.note(format!("recorded NLB {gone} is gone; recreating it"));
            cx.forget(&["load_balancer_arn", "dns_name"])?;
        }
        let lb = match found.into_resource() {
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
        check(&lb, &network)?;
        cx.record(&out(&lb))?;

        let want = env.workflow.nlb.cross_zone;
        if self.cross_zone_differs(&lb).await? {
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
            cx.record(&out(&lb))?;
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
    async fn plan(&self, cx: &StepContext) -> Result<Planned, StepError> {
        let env = &self.0;
        let network: NetworkOut = cx.output("network")?;
        let found = self.find(cx).await?;
        let lb = match &found {
            Found::Missing { gone } => {
                return Ok(Planned::create(format!(
                    "{}internal NLB {} across {} subnets",
                    gone_prefix("NLB", gone.as_deref()),
                    env.workflow.nlb.name,
                    network.subnets.len()
                )));
            }
            Found::Recorded(lb) | Found::Unrecorded { resource: lb, .. } => lb,
        };
        check(lb, &network)?;
        let mut changes = Vec::new();
        if self.cross_zone_differs(lb).await? {
            let (now, want) = if env.workflow.nlb.cross_zone {
                ("off", "on")
            } else {
                ("on", "off")
            };
            changes.push(format!(
                "cross-zone load balancing is {now}: up turns it {want}"
            ));
        }
        let planned = match &found {
            Found::Unrecorded { gone, .. } => Planned::adopt(format!(
                "{}NLB {} found by name{}",
                gone_prefix("NLB", gone.as_deref()),
                lb.name,
                changes.iter().map(|c| format!("; {c}")).collect::<String>()
            )),
            _ if !changes.is_empty() => {
                Planned::update(format!("NLB {}: {}", lb.name, changes.join("; ")))
            }
            _ if !lb.is_active() => Planned::wait(format!(
                "NLB {} is {}: up waits until it is active",
                lb.name, lb.state
            )),
            _ => Planned::no_change(format!("NLB {} active", lb.name)),
        };
        Ok(planned.with_outputs(&out(lb)))
    }
}

impl LoadBalancerStep {
    /// The recorded NLB, else the one named `nlb.name`.
    async fn find(&self, cx: &StepContext) -> Result<Found<LoadBalancer>, StepError> {
        let env = &self.0;
        let mut gone = None;
        if let Some(rec) = cx.recorded::<LoadBalancerOut>() {
            if let Some(lb) = env
                .aws
                .describe_load_balancer(&rec.load_balancer_arn)
                .await
                .map_err(|e| errors::aws("reading the NLB", e))?
            {
                return Ok(Found::Recorded(lb));
            }
            gone = Some(format!("{} ({})", rec.name, rec.load_balancer_arn));
        }
        let by_name = env
            .aws
            .find_load_balancer(&env.workflow.nlb.name)
            .await
            .map_err(|e| errors::aws("looking up the NLB by name", e))?;
        Ok(Found::by_key(by_name, gone))
    }

    /// Whether cross-zone load balancing differs from `nlb.cross_zone` (drift).
    async fn cross_zone_differs(&self, lb: &LoadBalancer) -> Result<bool, StepError> {
        let enabled = self
            .0
            .aws
            .cross_zone_enabled(&lb.arn)
            .await
            .map_err(|e| errors::aws("reading NLB attributes", e))?;
        Ok(enabled != self.0.workflow.nlb.cross_zone)
    }
}

/// plink needs an internal network load balancer in the deployment's VPC.
fn check(lb: &LoadBalancer, network: &NetworkOut) -> Result<(), StepError> {
    if lb.vpc_id == network.vpc_id && lb.type_ == "network" && lb.scheme == "internal" {
        return Ok(());
    }
    Err(StepError::needs_user(
        format!(
            "load balancer {} exists but is a {} {} load balancer in {}",
            lb.name, lb.scheme, lb.type_, lb.vpc_id
        ),
        "plink needs an internal network load balancer in the deployment's VPC: choose another nlb.name",
    ))
}

fn out(lb: &LoadBalancer) -> LoadBalancerOut {
    LoadBalancerOut {
        load_balancer_arn: lb.arn.clone(),
        name: lb.name.clone(),
        dns_name: lb.dns_name.clone(),
    }
}
