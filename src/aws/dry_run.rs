//! EC2 creates and modifications asked with `DryRun=true`: whether the caller may make them,
//! without making them (issue #16, the preflight's permission checks).
//!
//! AWS answers a dry run with the error `DryRunOperation` when the request would have been
//! allowed and `UnauthorizedOperation` when it would not (EC2 API reference, "Common
//! parameters": `DryRun`); nothing is created. A dry run still counts against its action's
//! request bucket ("Each request that you make removes one token from the API's bucket", EC2 API
//! throttling), so it takes a token of the request budget like the real call: ten deployments'
//! preflights would otherwise empty `CreateVpcEndpoint`'s bucket (4, then 0.3/s) before their
//! creates (`make bench`, 10 deployments: 24 `RequestLimitExceeded`). Each request
//! carries the same `TagSpecifications` as the real create, so a missing `ec2:CreateTags` (which
//! a create that tags needs too) is found as well. ELBv2, Databricks and S3 have no dry run.

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::operation::RequestId;
use aws_sdk_ec2::types::ResourceType;

use super::error::{Result, ec2_error};
use super::{AwsClients, PlinkTags};

/// The answer of a dry run: `Ok(())` only if AWS answered without an error (it never should);
/// otherwise the error, whose code says it all (`DryRunOperation`: allowed).
type DryRun = Result<()>;

/// A dry run of `operation`: its token of the request budget first, then `request` (not sent
/// before it is awaited) and what AWS answered, as a [`DryRun`].
async fn dry_run<O, E>(
    clients: &AwsClients,
    operation: &'static str,
    request: impl Future<Output = std::result::Result<O, SdkError<E>>>,
) -> DryRun
where
    E: ProvideErrorMetadata + RequestId + std::error::Error + Send + Sync + 'static,
{
    clients.spend("ec2", operation).await;
    request.await.map(|_| ()).map_err(ec2_error(operation))
}

impl AwsClients {
    /// `CreateSecurityGroup` in `vpc_id`, tagged with `tags`, as a dry run.
    pub async fn dry_run_create_security_group(&self, vpc_id: &str, tags: &PlinkTags) -> DryRun {
        dry_run(
            self,
            "CreateSecurityGroup",
            self.ec2
                .create_security_group()
                .dry_run(true)
                .vpc_id(vpc_id)
                .group_name("plink-preflight")
                .description("plink preflight (dry run)")
                .tag_specifications(tags.ec2_spec(ResourceType::SecurityGroup))
                .send(),
        )
        .await
    }

    /// `CreateVpcEndpoint` (interface) of `service_name` in `vpc_id`, as a dry run.
    pub async fn dry_run_create_vpc_endpoint(
        &self,
        vpc_id: &str,
        service_name: &str,
        subnet_ids: &[String],
        tags: &PlinkTags,
    ) -> DryRun {
        dry_run(
            self,
            "CreateVpcEndpoint",
            self.ec2
                .create_vpc_endpoint()
                .dry_run(true)
                .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Interface)
                .vpc_id(vpc_id)
                .service_name(service_name)
                .set_subnet_ids(Some(subnet_ids.to_vec()))
                .tag_specifications(tags.ec2_spec(ResourceType::VpcEndpoint))
                .send(),
        )
        .await
    }

    /// `CreateVpcEndpointServiceConfiguration` on `nlb_arn`, as a dry run.
    pub async fn dry_run_create_endpoint_service(&self, nlb_arn: &str, tags: &PlinkTags) -> DryRun {
        dry_run(
            self,
            "CreateVpcEndpointServiceConfiguration",
            self.ec2
                .create_vpc_endpoint_service_configuration()
                .dry_run(true)
                .network_load_balancer_arns(nlb_arn)
                .acceptance_required(true)
                .tag_specifications(tags.ec2_spec(ResourceType::VpcEndpointService))
                .send(),
        )
        .await
    }

    /// `AuthorizeSecurityGroupIngress` of TCP 443 on `group_id`, as a dry run.
    pub async fn dry_run_authorize_https(&self, group_id: &str) -> DryRun {
        let permission = aws_sdk_ec2::types::IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .ip_ranges(
                aws_sdk_ec2::types::IpRange::builder()
                    .cidr_ip("10.0.0.0/8")
                    .build(),
            )
            .build();
        dry_run(
            self,
            "AuthorizeSecurityGroupIngress",
            self.ec2
                .authorize_security_group_ingress()
                .dry_run(true)
                .group_id(group_id)
                .ip_permissions(permission)
                .send(),
        )
        .await
    }

    /// `ModifyVpcEndpointServicePermissions` adding `principal` to `service_id`, as a dry run.
    pub async fn dry_run_allow_principal(&self, service_id: &str, principal: &str) -> DryRun {
        dry_run(
            self,
            "ModifyVpcEndpointServicePermissions",
            self.ec2
                .modify_vpc_endpoint_service_permissions()
                .dry_run(true)
                .service_id(service_id)
                .add_allowed_principals(principal)
                .send(),
        )
        .await
    }

    /// `AcceptVpcEndpointConnections` of `vpce_id` on `service_id`, as a dry run.
    pub async fn dry_run_accept_connection(&self, service_id: &str, vpce_id: &str) -> DryRun {
        dry_run(
            self,
            "AcceptVpcEndpointConnections",
            self.ec2
                .accept_vpc_endpoint_connections()
                .dry_run(true)
                .service_id(service_id)
                .vpc_endpoint_ids(vpce_id)
                .send(),
        )
        .await
    }
}
