//! The target group of the NLB: the interface endpoint's private IPs on TCP 443.

use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::builders::DescribeTargetGroupsFluentBuilder;
use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetDescription, TargetTypeEnum};

#[cfg(doc)]
use super::ErrorKind;
use super::error::{AwsError, Result, Service, elb_error, unless_not_found};
use super::tags::{PlinkTags, TagQuery};
use super::{AwsClients, or_empty};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    pub protocol: String,
    pub port: Option<i32>,
    /// `ip`, `instance`, `lambda`, `alb`.
    pub target_type: String,
    pub vpc_id: String,
    pub health_check_protocol: Option<String>,
    pub health_check_port: Option<String>,
    pub load_balancer_arns: Vec<String>,
}

/// The health of one registered target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    pub ip: String,
    pub port: Option<i32>,
    pub availability_zone: Option<String>,
    /// `initial`, `healthy`, `unhealthy`, `unused`, `draining`, `unavailable`, …
    pub state: String,
    /// E.g. `Elb.RegistrationInProgress`, `Target.Timeout`, `Target.NotInUse`.
    pub reason: Option<String>,
    pub description: Option<String>,
}

impl TargetHealth {
    pub fn is_healthy(&self) -> bool {
        self.state == "healthy"
    }
}

/// The request to create the TCP 443 IP target group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTargetGroup {
    /// Deterministic, ≤ 32 characters: the natural key.
    pub name: String,
    pub vpc_id: String,
    /// 443 for S3.
    pub port: i32,
    pub tags: PlinkTags,
}

fn to_target_group(tg: &aws_sdk_elasticloadbalancingv2::types::TargetGroup) -> TargetGroup {
    TargetGroup {
        arn: or_empty(tg.target_group_arn()),
        name: or_empty(tg.target_group_name()),
        protocol: or_empty(tg.protocol()),
        port: tg.port(),
        target_type: or_empty(tg.target_type()),
        vpc_id: or_empty(tg.vpc_id()),
        health_check_protocol: tg.health_check_protocol().map(|p| p.as_str().to_owned()),
        health_check_port: tg.health_check_port().map(str::to_owned),
        load_balancer_arns: tg.load_balancer_arns().to_vec(),
    }
}

fn ip_targets(ips: &[String], port: i32) -> Vec<TargetDescription> {
    ips.iter()
        .map(|ip| TargetDescription::builder().id(ip).port(port).build())
        .collect()
}

/// The first target group a `DescribeTargetGroups` request answers, `None` if not found.
async fn first_target_group(req: DescribeTargetGroupsFluentBuilder) -> Result<Option<TargetGroup>> {
    let out = req.send().await.map_err(elb_error("DescribeTargetGroups"));
    Ok(unless_not_found(out)?.and_then(|out| out.target_groups().first().map(to_target_group)))
}

impl AwsClients {
    /// The target group with this name, `None` if there is none.
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeTargetGroups` other than `TargetGroupNotFound`.
    pub async fn find_target_group(&self, name: &str) -> Result<Option<TargetGroup>> {
        first_target_group(self.elb.describe_target_groups().names(name)).await
    }

    /// The target group with this ARN, `None` if it does not exist (any more).
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeTargetGroups` other than `TargetGroupNotFound`.
    pub async fn describe_target_group(&self, arn: &str) -> Result<Option<TargetGroup>> {
        first_target_group(self.elb.describe_target_groups().target_group_arns(arn)).await
    }

    /// The target groups carrying plink's tags for `query`.
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeTargetGroups` / `DescribeTags`.
    pub async fn find_target_groups(&self, query: &TagQuery) -> Result<Vec<TargetGroup>> {
        let req = self.elb.describe_target_groups();
        let all = all_items!(req, elb_error("DescribeTargetGroups"), to_target_group)?;
        self.elb_matching(all, |tg| &tg.arn, query).await
    }

    /// Creates a TCP target group of type `ip` with a TCP health check on the traffic port, or
    /// returns the one with this name and the same settings (idempotent by name).
    ///
    /// # Errors
    /// [`ErrorKind::Conflict`] (`DuplicateTargetGroupName`) if the name exists with other
    /// settings — adopt or report drift, do not retry; [`ErrorKind::Quota`]
    /// (`TooManyTargetGroups`); any other [`AwsError`] of `CreateTargetGroup`.
    pub async fn create_target_group(&self, input: &CreateTargetGroup) -> Result<TargetGroup> {
        tracing::debug!(name = %input.name, vpc = %input.vpc_id, "CreateTargetGroup");
        let req = self
            .elb
            .create_target_group()
            .name(&input.name)
            .protocol(ProtocolEnum::Tcp)
            .port(input.port)
            .vpc_id(&input.vpc_id)
            .target_type(TargetTypeEnum::Ip)
            .health_check_enabled(true)
            .health_check_protocol(ProtocolEnum::Tcp)
            .health_check_port("traffic-port")
            .set_tags(Some(input.tags.elb_tags()));
        self.spend("elbv2", "CreateTargetGroup").await;
        let out = req.send().await.map_err(elb_error("CreateTargetGroup"))?;
        let group = out.target_groups().first().map(to_target_group);
        group.ok_or_else(|| AwsError::no_answer(Service::Elb, "CreateTargetGroup", "target group"))
    }

    /// The registered targets and their health.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] (`TargetGroupNotFound`); any other [`AwsError`] of
    /// `DescribeTargetHealth`.
    pub async fn target_health(&self, target_group_arn: &str) -> Result<Vec<TargetHealth>> {
        let req = self
            .elb
            .describe_target_health()
            .target_group_arn(target_group_arn);
        let out = req
            .send()
            .await
            .map_err(elb_error("DescribeTargetHealth"))?;
        let mut health: Vec<TargetHealth> = out
            .target_health_descriptions()
            .iter()
            .map(|d| {
                let (target, health) = (d.target(), d.target_health());
                TargetHealth {
                    ip: or_empty(target.and_then(|t| t.id())),
                    port: target.and_then(|t| t.port()),
                    availability_zone: target.and_then(|t| t.availability_zone()).map(Into::into),
                    state: or_empty(health.and_then(|h| h.state())),
                    reason: health.and_then(|h| h.reason()).map(|r| r.as_str().into()),
                    description: health.and_then(|h| h.description()).map(str::to_owned),
                }
            })
            .collect();
        health.sort_by(|a, b| a.ip.cmp(&b.ip));
        Ok(health)
    }

    /// Registers IP targets on `port`. Registering a registered target again is a no-op.
    ///
    /// # Errors
    /// [`ErrorKind::Invalid`] (`InvalidTarget`) for an IP outside the VPC; [`ErrorKind::Quota`]
    /// (`TooManyTargets`); any other [`AwsError`] of `RegisterTargets`.
    pub async fn register_ip_targets(&self, tg_arn: &str, ips: &[String], port: i32) -> Result<()> {
        self.change_ip_targets(true, tg_arn, ips, port).await
    }

    /// Deregisters IP targets (e.g. stale ENI IPs). Unknown targets are a no-op.
    ///
    /// # Errors
    /// Any [`AwsError`] of `DeregisterTargets`.
    pub async fn deregister_ip_targets(
        &self,
        tg_arn: &str,
        ips: &[String],
        port: i32,
    ) -> Result<()> {
        self.change_ip_targets(false, tg_arn, ips, port).await
    }

    /// `RegisterTargets` or `DeregisterTargets` of `ips` on `port`; nothing for no IPs.
    async fn change_ip_targets(
        &self,
        register: bool,
        tg_arn: &str,
        ips: &[String],
        port: i32,
    ) -> Result<()> {
        let operation = if register {
            "RegisterTargets"
        } else {
            "DeregisterTargets"
        };
        if ips.is_empty() {
            return Ok(());
        }
        tracing::debug!(target_group = %tg_arn, ?ips, port, operation);
        self.spend("elbv2", operation).await;
        let targets = Some(ip_targets(ips, port));
        if register {
            let req = self.elb.register_targets().target_group_arn(tg_arn);
            req.set_targets(targets)
                .send()
                .await
                .map_err(elb_error(operation))?;
        } else {
            let req = self.elb.deregister_targets().target_group_arn(tg_arn);
            req.set_targets(targets)
                .send()
                .await
                .map_err(elb_error(operation))?;
        }
        Ok(())
    }

    /// Deletes a target group. One that no longer exists is fine.
    ///
    /// # Errors
    /// [`ErrorKind::Conflict`] (`ResourceInUse`) while a listener forwards to it; any other
    /// [`AwsError`] of `DeleteTargetGroup`.
    pub async fn delete_target_group(&self, arn: &str) -> Result<()> {
        tracing::debug!(%arn, "DeleteTargetGroup");
        let req = self.elb.delete_target_group().target_group_arn(arn);
        self.spend("elbv2", "DeleteTargetGroup").await;
        unless_not_found(req.send().await.map_err(elb_error("DeleteTargetGroup")))?;
        Ok(())
    }
}
