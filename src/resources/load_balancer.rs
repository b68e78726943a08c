//! The internal NLB across the deployment's subnets, cross-zone as the workflow says, until
//! `active`. Its name is the natural key (CreateLoadBalancer is idempotent by name).

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Change, Cx, Env, Found, Observation, Ownership, Readiness, Res, Resource, errors};
use crate::aws::{CreateLoadBalancer, LoadBalancer as AwsLoadBalancer, TagQuery, Tags};
use crate::engine::StepError;
use crate::state::Intent;

/// The NLB the workflow wants.
pub struct LoadBalancer {
    /// `nlb.name`: the natural key.
    pub name: String,
    /// `nlb.cross_zone`.
    pub cross_zone: bool,
    pub timeout: Duration,
}

/// What upstream decides: the VPC and subnets.
pub struct LoadBalancerInputs {
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
}

/// What the state keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadBalancerRecord {
    pub load_balancer_arn: String,
    pub name: String,
    pub dns_name: String,
}

impl LoadBalancerRecord {
    fn of(lb: &AwsLoadBalancer) -> Self {
        Self {
            load_balancer_arn: lb.arn.clone(),
            name: lb.name.clone(),
            dns_name: lb.dns_name.clone(),
        }
    }
}

impl LoadBalancer {
    async fn describe_arn(env: &Env, arn: &str) -> Res<Option<AwsLoadBalancer>> {
        env.aws
            .describe_load_balancer(arn)
            .await
            .map_err(|e| errors::aws("reading the NLB", e))
    }

    /// The recorded NLB if it exists, else the one named `nlb.name`, whoever created it.
    pub(super) async fn existing(&self, cx: &Cx<'_>) -> Res<Found<AwsLoadBalancer>> {
        let rec: LoadBalancerRecord = cx.recorded();
        let mut gone = None;
        if !rec.load_balancer_arn.is_empty() {
            if let Some(lb) = Self::describe_arn(cx.env, &rec.load_balancer_arn).await? {
                return Ok(Found::Recorded(lb));
            }
            gone = Some(format!("{} ({})", rec.name, rec.load_balancer_arn));
        }
        let by_name = cx
            .env
            .aws
            .find_load_balancer(&self.name)
            .await
            .map_err(|e| errors::aws("looking up the NLB by name", e))?;
        Ok(Found::by_key(by_name, gone))
    }
}

#[async_trait]
impl Resource for LoadBalancer {
    type Inputs = LoadBalancerInputs;
    type Live = AwsLoadBalancer;
    type Record = LoadBalancerRecord;
    type Fix = bool;

    const NOUN: &'static str = "NLB";
    const KIND: &'static str = "load balancer";
    const WAITS_FOR: &'static str = "the NLB to be active";
    // Provisioning takes ~2–5 min (field update §5.1; ">2 minutes", kubernetes #44695):
    // nothing to see before the second minute.
    const POLL_SECS: (u64, u64) = (120, 30);
    const FOUND_BY: &'static str = "found by name";

    fn describe(&self) -> String {
        format!("internal NLB {}", self.name)
    }

    fn label(&self, live: &Self::Live) -> String {
        live.name.clone()
    }

    fn summary(&self, live: &Self::Live) -> String {
        format!("NLB {} active", live.name)
    }

    async fn find(&self, cx: &Cx<'_>, _: &Self::Inputs) -> Res<Found<Self::Live>> {
        self.existing(cx).await
    }

    fn create_detail(&self, inputs: &Self::Inputs) -> String {
        format!(
            "internal NLB {} across {} subnets",
            self.name,
            inputs.subnet_ids.len()
        )
    }

    async fn create(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Option<Self::Live>> {
        cx.begin(Intent::new("create_load_balancer").key("name", &self.name))?;
        cx.env
            .aws
            .create_load_balancer(&CreateLoadBalancer {
                name: self.name.clone(),
                subnet_ids: inputs.subnet_ids.clone(),
                security_group_ids: Vec::new(),
                tags: cx.tags().with_name(&self.name),
            })
            .await
            .map(|lb| Some(cx.made_now(lb, |x| &x.arn)))
            .map_err(|e| errors::aws("creating the NLB", e))
    }

    /// plink needs an internal network load balancer in the deployment's VPC; cross-zone load
    /// balancing as `nlb.cross_zone` says (drift).
    async fn compare(
        &self,
        cx: &Cx<'_>,
        inputs: &Self::Inputs,
        lb: &Self::Live,
    ) -> Res<Vec<Change<Self::Fix>>> {
        if !(lb.vpc_id == inputs.vpc_id && lb.type_ == "network" && lb.scheme == "internal") {
            return Err(StepError::needs_user(
                format!(
                    "load balancer {} exists but is a {} {} load balancer in {}",
                    lb.name, lb.scheme, lb.type_, lb.vpc_id
                ),
                "plink needs an internal network load balancer in the deployment's VPC: choose another nlb.name",
            ));
        }
        // An NLB made in this run has cross-zone load balancing off, the NLB default
        // (elasticloadbalancing/latest/network/network-load-balancers.html#cross-zone-load-balancing).
        let enabled = !cx.on_made_now(&lb.arn)
            && cx
                .env
                .aws
                .cross_zone_enabled(&lb.arn)
                .await
                .map_err(|e| errors::aws("reading NLB attributes", e))?;
        if enabled == self.cross_zone {
            return Ok(Vec::new());
        }
        let (now, want) = if self.cross_zone {
            ("off", "on")
        } else {
            ("on", "off")
        };
        Ok(vec![Change::new(
            format!("cross-zone load balancing is {now}: up turns it {want}"),
            format!("setting cross-zone load balancing {want}"),
            self.cross_zone,
        )])
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        _: &Self::Inputs,
        lb: &Self::Live,
        want: &Self::Fix,
    ) -> Res<()> {
        cx.begin(
            Intent::new("set_cross_zone")
                .key("load_balancer_arn", &lb.arn)
                .key("enabled", want.to_string()),
        )?;
        cx.env
            .aws
            .set_cross_zone(&lb.arn, *want)
            .await
            .map_err(|e| errors::aws("setting cross-zone load balancing", e))
    }

    /// Cross-zone load balancing is an attribute: the description does not change.
    fn updated(&self, lb: &Self::Live, _: &Self::Fix) -> Option<Self::Live> {
        Some(lb.clone())
    }

    fn readiness(&self, lb: &Self::Live) -> Readiness {
        if lb.is_active() {
            Readiness::Ready
        } else if lb.is_failed() {
            Readiness::Failed(StepError::terminal(format!(
                "NLB {} failed: {}",
                lb.name,
                lb.state_reason.clone().unwrap_or_default()
            )))
        } else {
            Readiness::Pending(format!("state={}", lb.state))
        }
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn refresh(&self, cx: &Cx<'_>, lb: &Self::Live) -> Res<Option<Self::Live>> {
        Self::describe_arn(cx.env, &lb.arn).await
    }

    async fn record(&self, _: &Cx<'_>, _: &Self::Inputs, lb: &Self::Live) -> Res<Self::Record> {
        Ok(LoadBalancerRecord::of(lb))
    }

    async fn observe(
        &self,
        env: &Env,
        rec: &Self::Record,
        _: Option<&Self::Inputs>,
    ) -> Observation {
        let mut o = Observation::default();
        let mut state = "-".to_owned();
        if !rec.load_balancer_arn.is_empty() {
            match env.aws.describe_load_balancer(&rec.load_balancer_arn).await {
                Ok(found) => {
                    state = found.map_or_else(|| "missing".into(), |l| l.state);
                    o.set("load_balancer_state", &state);
                }
                Err(err) => o.error("load balancer", err),
            }
        }
        o.line("load balancer", state);
        o
    }

    /// The NLB named `nlb.name`, whoever created it.
    async fn recover(&self, cx: &Cx<'_>, _: Option<&Self::Inputs>) -> Res<Option<Self::Record>> {
        Ok(self
            .existing(cx)
            .await?
            .live()
            .as_ref()
            .map(LoadBalancerRecord::of))
    }

    async fn locate(&self, cx: &Cx<'_>, _: Option<&Self::Inputs>) -> Res<Vec<Self::Live>> {
        Ok(self.existing(cx).await?.live().into_iter().collect())
    }

    async fn ownership(&self, cx: &Cx<'_>, lb: &Self::Live) -> Res<Ownership> {
        elb_ownership(cx, &lb.arn, "reading the NLB's tags").await
    }

    fn deleted_id(&self, lb: &Self::Live) -> String {
        lb.arn.clone()
    }

    async fn delete(&self, cx: &Cx<'_>, lb: &Self::Live) -> Res<()> {
        cx.begin(
            Intent::new("delete_load_balancer")
                .key("load_balancer_arn", &lb.arn)
                .key("name", &lb.name),
        )?;
        // A conflict: the endpoint service is still going away (AWS: ResourceInUse).
        cx.env
            .aws
            .delete_load_balancer(&lb.arn)
            .await
            .map_err(|e| errors::aws_delete("deleting the NLB", e))
    }

    async fn inventory(&self, env: &Env) -> Res<Vec<(String, Tags)>> {
        let lbs = env
            .aws
            .find_load_balancers(&TagQuery::any_deployment())
            .await
            .map_err(|e| errors::aws("listing tagged load balancers", e))?;
        elb_inventory(env, lbs.into_iter().map(|l| l.arn).collect()).await
    }
}

/// Whether the ELB resource `arn` carries plink's tags for this node of this deployment.
pub(super) async fn elb_ownership(cx: &Cx<'_>, arn: &str, what: &str) -> Res<Ownership> {
    let tags = cx
        .env
        .aws
        .elb_tags(&[arn.to_owned()])
        .await
        .map_err(|e| errors::aws(what, e))?;
    Ok(cx.owner(&tags.get(arn).cloned().unwrap_or_default()))
}

/// `arns` with their tags, keeping those with plink's (for the orphan scan).
pub(super) async fn elb_inventory(env: &Env, arns: Vec<String>) -> Res<Vec<(String, Tags)>> {
    let tags = env
        .aws
        .elb_tags(&arns)
        .await
        .map_err(|e| errors::aws("reading tags", e))?;
    let any = TagQuery::any_deployment();
    Ok(arns
        .into_iter()
        .filter_map(|arn| {
            let t = tags.get(&arn).cloned().unwrap_or_default();
            any.matches(&t).then_some((arn, t))
        })
        .collect())
}
