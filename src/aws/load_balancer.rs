//! The internal Network Load Balancer in front of the interface endpoint.

use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::builders::DescribeLoadBalancersFluentBuilder as DescribeLoadBalancers;
use aws_sdk_elasticloadbalancingv2::types::{
    EnforceSecurityGroupInboundRulesOnPrivateLinkTrafficEnum, LoadBalancerAttribute,
    LoadBalancerSchemeEnum, LoadBalancerTypeEnum,
};

#[cfg(doc)]
use super::ErrorKind;
use super::error::{AwsError, Result, Service, elb_error, unless_not_found};
use super::tags::{PlinkTags, TagQuery};
use super::{AwsClients, or_empty};

/// The load-balancer attribute that spreads traffic over the targets of every AZ.
pub const CROSS_ZONE_ATTRIBUTE: &str = "load_balancing.cross_zone.enabled";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    pub dns_name: String,
    /// `provisioning`, `active`, `active_impaired`, `failed`, or a newer value.
    pub state: String,
    pub state_reason: Option<String>,
    /// `internal` or `internet-facing`.
    pub scheme: String,
    /// `network`, `application`, `gateway`.
    pub type_: String,
    pub vpc_id: String,
    pub subnets: Vec<LoadBalancerSubnet>,
    pub security_groups: Vec<String>,
    /// `on`/`off` when security groups are attached; `None` otherwise.
    pub enforce_security_group_inbound_rules_on_private_link_traffic: Option<String>,
}

/// A subnet (one per AZ) of a load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerSubnet {
    pub subnet_id: String,
    pub availability_zone: String,
}

impl LoadBalancer {
    /// Ready to serve.
    pub fn is_active(&self) -> bool {
        self.state == "active"
    }

    /// Provisioning failed: the load balancer will never become active.
    pub fn is_failed(&self) -> bool {
        self.state == "failed"
    }
}

/// The request to create an internal NLB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateLoadBalancer {
    /// Deterministic, ≤ 32 characters, unique per region and account: the natural key.
    pub name: String,
    /// One subnet per AZ, the interface endpoint's subnets.
    pub subnet_ids: Vec<String>,
    /// Usually empty: the NLB only forwards to the endpoint, the endpoint's SG filters.
    pub security_group_ids: Vec<String>,
    pub tags: PlinkTags,
}

fn to_load_balancer(lb: &aws_sdk_elasticloadbalancingv2::types::LoadBalancer) -> LoadBalancer {
    LoadBalancer {
        arn: or_empty(lb.load_balancer_arn()),
        name: or_empty(lb.load_balancer_name()),
        dns_name: or_empty(lb.dns_name()),
        state: or_empty(lb.state().and_then(|s| s.code())),
        state_reason: lb.state().and_then(|s| s.reason()).map(str::to_owned),
        scheme: or_empty(lb.scheme()),
        type_: or_empty(lb.r#type()),
        vpc_id: or_empty(lb.vpc_id()),
        subnets: lb
            .availability_zones()
            .iter()
            .map(|z| LoadBalancerSubnet {
                subnet_id: or_empty(z.subnet_id()),
                availability_zone: or_empty(z.zone_name()),
            })
            .collect(),
        security_groups: lb.security_groups().to_vec(),
        enforce_security_group_inbound_rules_on_private_link_traffic: lb
            .enforce_security_group_inbound_rules_on_private_link_traffic()
            .map(str::to_owned),
    }
}

/// The first load balancer a `DescribeLoadBalancers` request answers, `None` if not found.
async fn first_load_balancer(req: DescribeLoadBalancers) -> Result<Option<LoadBalancer>> {
    let out = req.send().await.map_err(elb_error("DescribeLoadBalancers"));
    Ok(unless_not_found(out)?.and_then(|out| out.load_balancers().first().map(to_load_balancer)))
}

impl AwsClients {
    /// The load balancer with this name, `None` if there is none.
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeLoadBalancers` other than `LoadBalancerNotFound`.
    pub async fn find_load_balancer(&self, name: &str) -> Result<Option<LoadBalancer>> {
        first_load_balancer(self.elb.describe_load_balancers().names(name)).await
    }

    /// The load balancer with this ARN, `None` if it does not exist (any more).
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeLoadBalancers` other than `LoadBalancerNotFound`.
    pub async fn describe_load_balancer(&self, arn: &str) -> Result<Option<LoadBalancer>> {
        first_load_balancer(self.elb.describe_load_balancers().load_balancer_arns(arn)).await
    }

    /// The load balancers carrying plink's tags for `query` (lists every load balancer of the
    /// region, then reads their tags).
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeLoadBalancers` / `DescribeTags`.
    pub async fn find_load_balancers(&self, query: &TagQuery) -> Result<Vec<LoadBalancer>> {
        let req = self.elb.describe_load_balancers();
        let all = all_items!(req, elb_error("DescribeLoadBalancers"), to_load_balancer)?;
        self.elb_matching(all, |lb| &lb.arn, query).await
    }

    /// Creates an internal network load balancer, or returns the one with this name.
    ///
    /// ELBv2 creates are idempotent by name: the same name and settings return the existing
    /// load balancer (field notes §C.3). When security groups are given, PrivateLink traffic is
    /// exempted from their inbound rules (`EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic`
    /// = off, as the Databricks guide requires); without security groups the setting does not
    /// apply and is not sent.
    ///
    /// # Errors
    /// [`ErrorKind::Conflict`] (`DuplicateLoadBalancerName`) if the name exists with other
    /// settings; [`ErrorKind::Quota`] (`TooManyLoadBalancers`); any other [`AwsError`] of
    /// `CreateLoadBalancer` / `SetSecurityGroups`.
    pub async fn create_load_balancer(&self, input: &CreateLoadBalancer) -> Result<LoadBalancer> {
        const OP: &str = "CreateLoadBalancer";
        tracing::debug!(name = %input.name, subnets = ?input.subnet_ids, "CreateLoadBalancer");
        let req = self
            .elb
            .create_load_balancer()
            .name(&input.name)
            .r#type(LoadBalancerTypeEnum::Network)
            .scheme(LoadBalancerSchemeEnum::Internal)
            .set_subnets(Some(input.subnet_ids.clone()))
            .set_security_groups(
                (!input.security_group_ids.is_empty()).then(|| input.security_group_ids.clone()),
            )
            .set_tags(Some(input.tags.elb_tags()));
        self.spend("elbv2", OP).await;
        let out = req.send().await.map_err(elb_error(OP))?;
        let Some(lb) = out.load_balancers().first().map(to_load_balancer) else {
            return Err(AwsError::no_answer(Service::Elb, OP, "load balancer"));
        };
        if !input.security_group_ids.is_empty() {
            self.spend("elbv2", "SetSecurityGroups").await;
            self.elb
                .set_security_groups()
                .load_balancer_arn(&lb.arn)
                .set_security_groups(Some(input.security_group_ids.clone()))
                .enforce_security_group_inbound_rules_on_private_link_traffic(
                    EnforceSecurityGroupInboundRulesOnPrivateLinkTrafficEnum::Off,
                )
                .send()
                .await
                .map_err(elb_error("SetSecurityGroups"))?;
        }
        Ok(lb)
    }

    /// Turns cross-zone load balancing on or off (off by default on NLBs; plink turns it on so
    /// that a target in one AZ serves clients of every AZ).
    ///
    /// # Errors
    /// Any [`AwsError`] of `ModifyLoadBalancerAttributes`.
    pub async fn set_cross_zone(&self, arn: &str, enabled: bool) -> Result<()> {
        self.spend("elbv2", "ModifyLoadBalancerAttributes").await;
        self.elb
            .modify_load_balancer_attributes()
            .load_balancer_arn(arn)
            .attributes(
                LoadBalancerAttribute::builder()
                    .key(CROSS_ZONE_ATTRIBUTE)
                    .value(enabled.to_string())
                    .build(),
            )
            .send()
            .await
            .map_err(elb_error("ModifyLoadBalancerAttributes"))?;
        Ok(())
    }

    /// Whether cross-zone load balancing is on.
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeLoadBalancerAttributes`.
    pub async fn cross_zone_enabled(&self, arn: &str) -> Result<bool> {
        let out = self
            .elb
            .describe_load_balancer_attributes()
            .load_balancer_arn(arn)
            .send()
            .await
            .map_err(elb_error("DescribeLoadBalancerAttributes"))?;
        let mut attributes = out.attributes().iter();
        Ok(attributes.any(|a| a.key() == Some(CROSS_ZONE_ATTRIBUTE) && a.value() == Some("true")))
    }

    /// Deletes a load balancer (and its listeners). One that no longer exists is fine.
    ///
    /// # Errors
    /// [`ErrorKind::Conflict`] (`ResourceInUse`) while an endpoint service still uses it; any
    /// other [`AwsError`] of `DeleteLoadBalancer`.
    pub async fn delete_load_balancer(&self, arn: &str) -> Result<()> {
        tracing::debug!(%arn, "DeleteLoadBalancer");
        let req = self.elb.delete_load_balancer().load_balancer_arn(arn);
        self.spend("elbv2", "DeleteLoadBalancer").await;
        unless_not_found(req.send().await.map_err(elb_error("DeleteLoadBalancer")))?;
        Ok(())
    }
}
