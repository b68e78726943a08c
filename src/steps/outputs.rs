//! What each step records in the state file, read by later steps and by `status`.
//!
//! These are the only facts plink keeps: ids and observed values, never a secret.

use serde::{Deserialize, Serialize};

/// `network`: the VPC and subnets the workflow resolved (by id or tag).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkOut {
    pub vpc_id: String,
    /// The AWS account that owns the VPC (the customer account).
    pub account_id: String,
    pub subnets: Vec<SubnetOut>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubnetOut {
    pub id: String,
    pub availability_zone: String,
    pub cidr: String,
}

/// `security_group`: the groups on the endpoint's ENIs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupOut {
    pub security_group_ids: Vec<String>,
    /// True when plink created the group (and so deletes it on `down`).
    pub created_by_plink: bool,
}

/// `endpoint`: the S3 interface endpoint and its ENIs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointOut {
    pub vpc_endpoint_id: String,
    /// The regional DNS name (`*.vpce-….s3.<region>.vpce.amazonaws.com`), default domain name of the rule.
    pub dns_name: String,
    pub network_interface_ids: Vec<String>,
    /// The ENIs' private IPs: the NLB's targets.
    pub ips: Vec<String>,
}

/// `load_balancer`: the internal NLB.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadBalancerOut {
    pub load_balancer_arn: String,
    pub name: String,
    pub dns_name: String,
}

/// `target_group`: TCP:443, target type ip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetGroupOut {
    pub target_group_arn: String,
    pub name: String,
}

/// `targets`: the IPs registered in the target group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetsOut {
    pub registered_ips: Vec<String>,
}

/// `listener`: TCP:443 forwarding to the target group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenerOut {
    pub listener_arn: String,
}

/// `endpoint_service`: the VPC endpoint service on the NLB.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointServiceOut {
    pub service_id: String,
    pub service_name: String,
    pub allowed_principal: String,
}

/// `ncc`: the Databricks network connectivity configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NccOut {
    pub ncc_id: String,
    pub name: String,
    pub region: String,
    /// False when plink adopted an NCC that existed before (it is then never deleted by plink).
    pub created_by_plink: bool,
}

/// `rule`: the private endpoint rule and the Databricks-side endpoint it opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleOut {
    pub rule_id: String,
    pub endpoint_service: String,
    pub domain_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_id: Option<String>,
}

/// `accept`: the connection plink accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptOut {
    pub accepted_vpc_endpoint_id: String,
    pub owner: String,
}

/// `established`: the rule's final state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstablishedOut {
    pub connection_state: String,
}

/// `bind`: which NCC each workspace is bound to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BindOut {
    pub workspaces: Vec<BoundWorkspace>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundWorkspace {
    pub workspace_id: i64,
    pub ncc_id: String,
    /// The NCC this workspace was bound to before plink switched it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_ncc_id: Option<String>,
}
