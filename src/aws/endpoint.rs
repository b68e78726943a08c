//! The S3 interface VPC endpoint and its network interfaces.

use aws_sdk_ec2::types::{ResourceType, VpcEndpointType};

use super::error::{
    AwsError, ErrorKind, Result, Service, check_unsuccessful, ec2_error, unless_not_found,
};
use super::tags::{PlinkTags, TagQuery, Tags, from_ec2};
use super::{AwsClients, or_empty};

/// An interface VPC endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpcEndpoint {
    pub id: String,
    /// `pendingAcceptance`, `pending`, `available`, `deleting`, `deleted`, `rejected`, `failed`,
    /// `expired`, or a newer value (never to be taken for success).
    pub state: String,
    pub vpc_id: String,
    pub service_name: String,
    /// `Interface`, `Gateway`, …
    pub endpoint_type: String,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    /// The endpoint's ENIs: one per subnet, created by AWS, not taggable at creation
    /// (field notes §C.4), so tracked by id.
    pub network_interface_ids: Vec<String>,
    pub dns_names: Vec<String>,
    pub private_dns_enabled: bool,
    pub owner_id: Option<String>,
    /// Why the endpoint failed, when it did.
    pub failure_reason: Option<String>,
    pub tags: Tags,
}

impl VpcEndpoint {
    /// Ready for traffic.
    pub fn is_available(&self) -> bool {
        self.state == "available"
    }

    /// Gone or going: a new endpoint has to be made.
    pub fn is_gone(&self) -> bool {
        matches!(
            self.state.as_str(),
            "deleting" | "deleted" | "rejected" | "failed" | "expired"
        )
    }
}

/// The request to create an interface endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateInterfaceEndpoint {
    pub vpc_id: String,
    /// E.g. [`AwsClients::s3_service_name`].
    pub service_name: String,
    /// One subnet per AZ, the same AZs as the NLB's.
    pub subnet_ids: Vec<String>,
    /// Empty = the VPC's default security group.
    pub security_group_ids: Vec<String>,
    /// An endpoint policy (JSON); `None` = full access.
    pub policy_document: Option<String>,
    /// Deterministic idempotency token from the step engine (≤ 64 ASCII characters).
    pub client_token: String,
    pub tags: PlinkTags,
}

/// One network interface of an interface endpoint: the NLB's targets are their private IPs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointNetworkInterface {
    pub id: String,
    pub subnet_id: String,
    pub availability_zone: String,
    pub private_ip: String,
    /// `in-use`, `available`, …
    pub status: String,
}

/// The strings `field` gives for the items that have one.
fn strings<'a, T>(items: &'a [T], field: impl Fn(&'a T) -> Option<&'a str>) -> Vec<String> {
    items.iter().filter_map(field).map(str::to_owned).collect()
}

fn to_endpoint(e: &aws_sdk_ec2::types::VpcEndpoint) -> VpcEndpoint {
    VpcEndpoint {
        id: or_empty(e.vpc_endpoint_id()),
        state: or_empty(e.state()),
        vpc_id: or_empty(e.vpc_id()),
        service_name: or_empty(e.service_name()),
        endpoint_type: or_empty(e.vpc_endpoint_type()),
        subnet_ids: e.subnet_ids().to_vec(),
        security_group_ids: strings(e.groups(), |g| g.group_id()),
        network_interface_ids: e.network_interface_ids().to_vec(),
        dns_names: strings(e.dns_entries(), |d| d.dns_name()),
        private_dns_enabled: e.private_dns_enabled().unwrap_or(false),
        owner_id: e.owner_id().map(str::to_owned),
        failure_reason: e
            .failure_reason()
            .map(str::to_owned)
            .or_else(|| e.last_error().and_then(|l| l.message()).map(str::to_owned)),
        tags: from_ec2(e.tags()),
    }
}

impl AwsClients {
    /// `com.amazonaws.<region>.s3`, the S3 interface endpoint service of this region.
    pub fn s3_service_name(&self) -> String {
        format!("com.amazonaws.{}.s3", self.region)
    }

    /// The endpoint with this id, `None` if it does not exist.
    ///
    /// A deleted endpoint stays visible for a while in state `deleted`; see
    /// [`VpcEndpoint::is_gone`].
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeVpcEndpoints` other than `InvalidVpcEndpointId.NotFound`.
    pub async fn describe_vpc_endpoint(&self, id: &str) -> Result<Option<VpcEndpoint>> {
        let req = self.ec2.describe_vpc_endpoints().vpc_endpoint_ids(id);
        let found = all_items!(req, ec2_error("DescribeVpcEndpoints"), to_endpoint);
        Ok(unless_not_found(found)?.and_then(|all| all.into_iter().find(|e| e.id == id)))
    }

    /// The endpoints carrying plink's tags for `query`, including ones being deleted.
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeVpcEndpoints`.
    pub async fn find_vpc_endpoints(&self, query: &TagQuery) -> Result<Vec<VpcEndpoint>> {
        let req = self
            .ec2
            .describe_vpc_endpoints()
            .set_filters(Some(query.ec2_filters()));
        all_items!(req, ec2_error("DescribeVpcEndpoints"), to_endpoint)
    }

    /// Creates an interface endpoint.
    ///
    /// Idempotent through `client_token`: the same token with the same parameters returns the
    /// endpoint the first call made (EC2 idempotency; field notes §C.3). A resumed step therefore
    /// re-issues the create with its recorded token instead of searching for the endpoint.
    ///
    /// # Errors
    /// [`ErrorKind::Conflict`] (`IdempotentParameterMismatch`) if the token was used with other
    /// parameters; [`ErrorKind::Quota`]
    /// (`VpcEndpointLimitExceeded`); any other [`AwsError`] of `CreateVpcEndpoint`.
    pub async fn create_interface_endpoint(
        &self,
        input: &CreateInterfaceEndpoint,
    ) -> Result<VpcEndpoint> {
        tracing::debug!(vpc = %input.vpc_id, service = %input.service_name, token = %input.client_token, "CreateVpcEndpoint");
        let req = self
            .ec2
            .create_vpc_endpoint()
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .vpc_id(&input.vpc_id)
            .service_name(&input.service_name)
            .set_subnet_ids(Some(input.subnet_ids.clone()))
            .set_security_group_ids(
                (!input.security_group_ids.is_empty()).then(|| input.security_group_ids.clone()),
            )
            .set_policy_document(input.policy_document.clone())
            // Private DNS stays off. Databricks reaches this endpoint as plain TCP pass-through
            // via the NLB: the names resolve on the Databricks side (the NCC rule's domain
            // names), not in this VPC, so private DNS would add nothing for plink — and it would
            // silently move every S3 call made inside the customer's VPC onto the interface
            // endpoint (cost, policy). The Databricks SRA module does the same.
            .private_dns_enabled(false)
            .client_token(&input.client_token)
            .tag_specifications(input.tags.ec2_spec(ResourceType::VpcEndpoint));
        self.spend("ec2", "CreateVpcEndpoint").await;
        let out = req.send().await.map_err(ec2_error("CreateVpcEndpoint"))?;
        out.vpc_endpoint()
            .map(to_endpoint)
            .ok_or_else(|| AwsError::no_answer(Service::Ec2, "CreateVpcEndpoint", "endpoint"))
    }

    /// The endpoint's network interfaces and their private IPv4 addresses, sorted by AZ.
    ///
    /// Empty while the endpoint is `pending` (AWS adds the ENIs while provisioning).
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeNetworkInterfaces` (an ENI deleted meanwhile gives
    /// `InvalidNetworkInterfaceID.NotFound`, a [`NotFound`](ErrorKind::NotFound)).
    pub async fn endpoint_network_interfaces(
        &self,
        endpoint: &VpcEndpoint,
    ) -> Result<Vec<EndpointNetworkInterface>> {
        if endpoint.network_interface_ids.is_empty() {
            return Ok(Vec::new());
        }
        let req = self
            .ec2
            .describe_network_interfaces()
            .set_network_interface_ids(Some(endpoint.network_interface_ids.clone()));
        let mut enis = all_items!(req, ec2_error("DescribeNetworkInterfaces"), |n| {
            EndpointNetworkInterface {
                id: or_empty(n.network_interface_id()),
                subnet_id: or_empty(n.subnet_id()),
                availability_zone: or_empty(n.availability_zone()),
                private_ip: or_empty(n.private_ip_address()),
                status: or_empty(n.status()),
            }
        })?;
        enis.sort_by(|a, b| (&a.availability_zone, &a.id).cmp(&(&b.availability_zone, &b.id)));
        Ok(enis)
    }

    /// The private IPs of an endpoint known only by id (sorted by AZ, empty while `pending`).
    ///
    /// # Errors
    /// Any [`AwsError`] of `DescribeVpcEndpoints` / `DescribeNetworkInterfaces`;
    /// [`NotFound`](ErrorKind::NotFound) if the endpoint does not exist.
    pub async fn endpoint_ips(&self, endpoint_id: &str) -> Result<Vec<String>> {
        let Some(endpoint) = self.describe_vpc_endpoint(endpoint_id).await? else {
            let msg = format!("VPC endpoint {endpoint_id} does not exist");
            let (op, kind) = ("DescribeVpcEndpoints", ErrorKind::NotFound);
            return Err(AwsError::local(Service::Ec2, op, kind, msg));
        };
        let enis = self.endpoint_network_interfaces(&endpoint).await?;
        let ips = enis.into_iter().map(|e| e.private_ip);
        Ok(ips.filter(|ip| !ip.is_empty()).collect())
    }

    /// Deletes endpoints. Endpoints that no longer exist are fine.
    ///
    /// # Errors
    /// An [`AwsError`] listing the endpoints AWS reported in `Unsuccessful` (other than
    /// not-found ones), or any [`AwsError`] of `DeleteVpcEndpoints`.
    pub async fn delete_vpc_endpoints(&self, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        tracing::debug!(?ids, "DeleteVpcEndpoints");
        let req = self
            .ec2
            .delete_vpc_endpoints()
            .set_vpc_endpoint_ids(Some(ids.to_vec()));
        self.spend("ec2", "DeleteVpcEndpoints").await;
        let out = req.send().await.map_err(ec2_error("DeleteVpcEndpoints"))?;
        check_unsuccessful("DeleteVpcEndpoints", out.unsuccessful())
    }
}
