//! The VPC endpoint service on the NLB, and who may connect to it.

use aws_sdk_ec2::operation::describe_vpc_endpoint_service_configurations::builders::DescribeVpcEndpointServiceConfigurationsFluentBuilder as DescribeServices;
use aws_sdk_ec2::types::ResourceType;

use super::error::{
    AwsError, ErrorKind, Result, Service, check_unsuccessful, ec2_error, ignore_codes,
    unless_not_found,
};
use super::tags::{PlinkTags, TagQuery, Tags, from_ec2};
use super::{AwsClients, or_empty};

/// A VPC endpoint service (the provider side of PrivateLink).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointService {
    /// `vpce-svc-…`
    pub id: String,
    /// `com.amazonaws.vpce.<region>.vpce-svc-…`: what Databricks' NCC rule points at.
    pub name: String,
    /// `Pending`, `Available`, `Deleting`, `Deleted`, `Failed`, or a newer value.
    pub state: String,
    pub acceptance_required: bool,
    pub nlb_arns: Vec<String>,
    pub availability_zones: Vec<String>,
    pub base_endpoint_dns_names: Vec<String>,
    pub private_dns_name: Option<String>,
    pub tags: Tags,
}

impl EndpointService {
    pub fn is_available(&self) -> bool {
        self.state == "Available"
    }

    pub fn is_gone(&self) -> bool {
        matches!(self.state.as_str(), "Deleting" | "Deleted" | "Failed")
    }
}

/// A principal allowed to connect to an endpoint service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedPrincipal {
    /// An IAM ARN, e.g. `arn:aws:iam::565502421330:role/private-connectivity-role-us-east-1`.
    pub principal: String,
    /// `Role`, `Account`, `User`, `All`, …
    pub principal_type: Option<String>,
    pub permission_id: Option<String>,
}

/// The request to create an endpoint service. Acceptance is always required: plink accepts
/// exactly the connection Databricks opens, nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateEndpointService {
    pub nlb_arns: Vec<String>,
    /// Deterministic idempotency token from the step engine (≤ 64 ASCII characters).
    pub client_token: String,
    pub tags: PlinkTags,
}

fn to_service(s: &aws_sdk_ec2::types::ServiceConfiguration) -> EndpointService {
    EndpointService {
        id: or_empty(s.service_id()),
        name: or_empty(s.service_name()),
        state: or_empty(s.service_state()),
        acceptance_required: s.acceptance_required().unwrap_or(false),
        nlb_arns: s.network_load_balancer_arns().to_vec(),
        availability_zones: s.availability_zones().to_vec(),
        base_endpoint_dns_names: s.base_endpoint_dns_names().to_vec(),
        private_dns_name: s.private_dns_name().map(str::to_owned),
        tags: from_ec2(s.tags()),
    }
}

/// Refuses the wildcard principal: with `*`, any AWS account could open connections, and
/// plink's promise is that only Databricks' role can.
fn check_principal(operation: &'static str, principal: &str) -> Result<()> {
    let p = principal.trim();
    if p == "*" || p.is_empty() || p.ends_with(":*") || p.ends_with("/*") {
        let message = format!(
            "refusing principal `{principal}`: only an explicit IAM ARN (the Databricks role) \
             may be allowed, never a wildcard"
        );
        let kind = ErrorKind::Invalid;
        return Err(AwsError::local(Service::Ec2, operation, kind, message));
    }
    Ok(())
}

/// Every endpoint service a `DescribeVpcEndpointServiceConfigurations` request answers.
async fn describe_services(req: DescribeServices) -> Result<Vec<EndpointService>> {
    let to_error = ec2_error("DescribeVpcEndpointServiceConfigurations");
    all_items!(req, to_error, to_service)
}

impl AwsClients {
    /// The endpoint service with this id, `None` if it does not exist.
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeVpcEndpointServiceConfigurations` other than
    /// `InvalidVpcEndpointServiceId.NotFound`.
    pub async fn describe_endpoint_service(
        &self,
        service_id: &str,
    ) -> Result<Option<EndpointService>> {
        let req = self
            .ec2
            .describe_vpc_endpoint_service_configurations()
            .service_ids(service_id);
        let found = unless_not_found(describe_services(req).await)?;
        Ok(found.and_then(|all| all.into_iter().find(|s| s.id == service_id)))
    }

    /// The endpoint services carrying plink's tags for `query`.
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeVpcEndpointServiceConfigurations`.
    pub async fn find_endpoint_services(&self, query: &TagQuery) -> Result<Vec<EndpointService>> {
        let req = self
            .ec2
            .describe_vpc_endpoint_service_configurations()
            .set_filters(Some(query.ec2_filters()));
        describe_services(req).await
    }

    /// The endpoint service that uses this NLB, if any (an NLB serves at most one service).
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeVpcEndpointServiceConfigurations`.
    pub async fn find_endpoint_service_by_nlb(
        &self,
        nlb_arn: &str,
    ) -> Result<Option<EndpointService>> {
        // No server-side filter on the NLB: list the account's services (few) and match.
        let req = self.ec2.describe_vpc_endpoint_service_configurations();
        let all = describe_services(req).await?;
        let uses_nlb = |s: &EndpointService| s.nlb_arns.iter().any(|a| a == nlb_arn);
        Ok(all.into_iter().find(|s| !s.is_gone() && uses_nlb(s)))
    }

    /// Creates an endpoint service on the NLB with acceptance required.
    ///
    /// Idempotent through `client_token` (same token and parameters → the same service).
    ///
    /// # Errors
    /// [`ErrorKind::Conflict`] (`IdempotentParameterMismatch`); any other [`AwsError`] of
    /// `CreateVpcEndpointServiceConfiguration`.
    pub async fn create_endpoint_service(
        &self,
        input: &CreateEndpointService,
    ) -> Result<EndpointService> {
        let operation = "CreateVpcEndpointServiceConfiguration";
        tracing::debug!(nlbs = ?input.nlb_arns, token = %input.client_token, "CreateVpcEndpointServiceConfiguration");
        let req = self
            .ec2
            .create_vpc_endpoint_service_configuration()
            .set_network_load_balancer_arns(Some(input.nlb_arns.clone()))
            .acceptance_required(true)
            .client_token(&input.client_token)
            .tag_specifications(input.tags.ec2_spec(ResourceType::VpcEndpointService));
        self.spend("ec2", operation).await;
        let out = req.send().await.map_err(ec2_error(operation))?;
        out.service_configuration()
            .map(to_service)
            .ok_or_else(|| AwsError::no_answer(Service::Ec2, operation, "service configuration"))
    }

    /// The principals allowed to connect.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if the service does not exist; any other [`AwsError`] of
    /// `DescribeVpcEndpointServicePermissions`.
    pub async fn allowed_principals(&self, service_id: &str) -> Result<Vec<AllowedPrincipal>> {
        let req = self
            .ec2
            .describe_vpc_endpoint_service_permissions()
            .service_id(service_id);
        let to_error = ec2_error("DescribeVpcEndpointServicePermissions");
        all_items!(req, to_error, |p| AllowedPrincipal {
            principal: or_empty(p.principal()),
            principal_type: p.principal_type().map(|t| t.as_str().to_owned()),
            permission_id: p.service_permission_id().map(str::to_owned),
        })
    }

    /// Allows `principal` (an explicit IAM ARN) to connect. Allowing it again is a no-op.
    ///
    /// # Errors
    /// [`ErrorKind::Invalid`] without any call if `principal` is `*` or another wildcard; any
    /// [`AwsError`] of `ModifyVpcEndpointServicePermissions`.
    pub async fn allow_principal(&self, service_id: &str, principal: &str) -> Result<()> {
        check_principal("ModifyVpcEndpointServicePermissions", principal)?;
        tracing::debug!(service = %service_id, %principal, "allow principal");
        self.spend("ec2", "ModifyVpcEndpointServicePermissions")
            .await;
        self.ec2
            .modify_vpc_endpoint_service_permissions()
            .service_id(service_id)
            .add_allowed_principals(principal)
            .send()
            .await
            .map_err(ec2_error("ModifyVpcEndpointServicePermissions"))?;
        Ok(())
    }

    /// Removes `principal` from the allowed principals (e.g. a stale or foreign one found by
    /// `plink status`). Removing an absent principal is fine.
    ///
    /// # Errors
    /// Any [`AwsError`] of `ModifyVpcEndpointServicePermissions`.
    pub async fn remove_principal(&self, service_id: &str, principal: &str) -> Result<()> {
        self.spend("ec2", "ModifyVpcEndpointServicePermissions")
            .await;
        let sent = self
            .ec2
            .modify_vpc_endpoint_service_permissions()
            .service_id(service_id)
            .remove_allowed_principals(principal)
            .send()
            .await
            .map_err(ec2_error("ModifyVpcEndpointServicePermissions"));
        // Removing a principal that is not there: nothing to do.
        ignore_codes(sent, &["InvalidPrincipal.NotFound", "InvalidParameter"])
    }

    /// Deletes endpoint services. Services that no longer exist are fine.
    ///
    /// # Errors
    /// [`ErrorKind::Conflict`] (`ExistingVpcEndpointConnections`) while a connection is
    /// `available` or `pendingAcceptance` — reject it first
    /// ([`reject_endpoint_connections`](Self::reject_endpoint_connections)); any other failed
    /// item or [`AwsError`] of `DeleteVpcEndpointServiceConfigurations`.
    pub async fn delete_endpoint_services(&self, service_ids: &[String]) -> Result<()> {
        if service_ids.is_empty() {
            return Ok(());
        }
        let operation = "DeleteVpcEndpointServiceConfigurations";
        tracing::debug!(?service_ids, "DeleteVpcEndpointServiceConfigurations");
        let req = self
            .ec2
            .delete_vpc_endpoint_service_configurations()
            .set_service_ids(Some(service_ids.to_vec()));
        self.spend("ec2", operation).await;
        let out = req.send().await.map_err(ec2_error(operation))?;
        check_unsuccessful(operation, out.unsuccessful())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_refused() {
        let wildcards = [
            "*",
            " * ",
            "",
            "arn:aws:iam::123456789012:*",
            "arn:aws:iam::1:role/*",
        ];
        for p in wildcards {
            assert!(check_principal("X", p).is_err(), "{p:?}");
        }
        let databricks = "arn:aws:iam::565502421330:role/private-connectivity-role-us-east-1";
        assert!(check_principal("X", databricks).is_ok());
    }
}
