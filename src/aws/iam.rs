//! The least-privilege IAM policy for exactly the AWS actions plink calls (`plink iam-policy`).
//!
//! [`ACTIONS`] is the single list; `tests/iam_policy.rs` reads every SDK call in `src/aws/` and
//! fails when the two disagree, so the policy cannot drift from the code.

use serde_json::{Value, json};

use super::tags::{MANAGED_BY_PLINK, TAG_MANAGED_BY};
use Access::{BucketPolicy, ChangeTagged, Create, Read, SharedState};

/// How an action is granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Describe/list: on every resource (read-only, no resource-level scoping exists for most).
    Read,
    /// Creates a resource: allowed anywhere (creates involve several resource types — VPC,
    /// subnets, groups — whose tags plink does not control).
    Create,
    /// Changes or deletes an existing resource: only resources tagged `plink:managed-by=plink`.
    ChangeTagged,
    /// Writes a bucket policy (`s3-native`): buckets carry no plink tag, so the statement
    /// names all buckets; narrow its `Resource` to yours.
    BucketPolicy,
    /// Reads and writes the state and its lock on S3 (`--state s3://…`): the statement names
    /// all buckets; narrow its `Resource` to your state bucket and prefix.
    SharedState,
}

const EC2: &str = "ec2";
const ELB: &str = "elasticloadbalancing";
const RDS: &str = "rds";
const S3: &str = "s3";

/// Every AWS API action plink calls, with its service prefix and access class.
pub const ACTIONS: &[(&str, &str, Access)] = &[
    (EC2, "DescribeVpcs", Read),
    (EC2, "DescribeSubnets", Read),
    (EC2, "DescribeInstances", Read),
    (EC2, "DescribeSecurityGroups", Read),
    (EC2, "DescribeNetworkInterfaces", Read),
    (EC2, "DescribeVpcEndpoints", Read),
    (EC2, "DescribeVpcEndpointConnections", Read),
    (EC2, "DescribeVpcEndpointServiceConfigurations", Read),
    (EC2, "DescribeVpcEndpointServicePermissions", Read),
    (EC2, "CreateSecurityGroup", Create),
    (EC2, "CreateVpcEndpoint", Create),
    (EC2, "CreateVpcEndpointServiceConfiguration", Create),
    (EC2, "AuthorizeSecurityGroupIngress", ChangeTagged),
    (EC2, "ModifyVpcEndpointServicePermissions", ChangeTagged),
    (EC2, "AcceptVpcEndpointConnections", ChangeTagged),
    (EC2, "RejectVpcEndpointConnections", ChangeTagged),
    (EC2, "DeleteSecurityGroup", ChangeTagged),
    (EC2, "DeleteVpcEndpoints", ChangeTagged),
    (EC2, "DeleteVpcEndpointServiceConfigurations", ChangeTagged),
    (ELB, "DescribeLoadBalancers", Read),
    (ELB, "DescribeLoadBalancerAttributes", Read),
    (ELB, "DescribeTargetGroups", Read),
    (ELB, "DescribeTargetHealth", Read),
    (ELB, "DescribeListeners", Read),
    (ELB, "DescribeTags", Read),
    (ELB, "CreateLoadBalancer", Create),
    (ELB, "CreateTargetGroup", Create),
    (ELB, "CreateListener", Create),
    (ELB, "ModifyLoadBalancerAttributes", ChangeTagged),
    (ELB, "SetSecurityGroups", ChangeTagged),
    (ELB, "RegisterTargets", ChangeTagged),
    (ELB, "DeregisterTargets", ChangeTagged),
    (ELB, "DeleteListener", ChangeTagged),
    (ELB, "DeleteTargetGroup", ChangeTagged),
    (ELB, "DeleteLoadBalancer", ChangeTagged),
    (RDS, "DescribeDBInstances", Read),
    (RDS, "DescribeDBClusters", Read),
    (RDS, "DescribeDBSubnetGroups", Read),
    (S3, "GetBucketLocation", Read),
    (S3, "GetBucketPolicy", Read),
    (S3, "PutBucketPolicy", BucketPolicy),
    (S3, "DeleteBucketPolicy", BucketPolicy),
    (S3, "GetBucketVersioning", SharedState),
    (S3, "GetObject", SharedState),
    (S3, "PutObject", SharedState),
    (S3, "DeleteObject", SharedState),
];

/// The actions of one class, as `service:Action` strings.
pub fn actions(access: Access) -> Vec<String> {
    ACTIONS
        .iter()
        .filter(|(_, _, a)| *a == access)
        .map(|(svc, action, _)| format!("{svc}:{action}"))
        .collect()
}

/// The IAM policy document.
///
/// Tagging on create needs `ec2:CreateTags` / `elasticloadbalancing:AddTags`, allowed only as
/// part of plink's own create calls. Changes and deletes are limited to resources carrying
/// plink's `plink:managed-by` tag, so the policy cannot touch anything plink did not create.
pub fn policy_document() -> Value {
    let tagged = json!({ "StringEquals": { format!("aws:ResourceTag/{TAG_MANAGED_BY}"): MANAGED_BY_PLINK } });
    let creates = |prefix: &str| -> Vec<String> {
        ACTIONS
            .iter()
            .filter(|(svc, _, a)| *svc == prefix && *a == Access::Create)
            .map(|(_, action, _)| (*action).to_owned())
            .collect()
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Sid": "PlinkRead", "Effect": "Allow", "Action": actions(Access::Read), "Resource": "*" },
            { "Sid": "PlinkCreate", "Effect": "Allow", "Action": actions(Access::Create), "Resource": "*" },
            { "Sid": "PlinkChangeOwnResources", "Effect": "Allow", "Action": actions(Access::ChangeTagged), "Resource": "*", "Condition": tagged },
            { "Sid": "PlinkBucketPolicies", "Effect": "Allow", "Action": actions(Access::BucketPolicy), "Resource": "arn:aws:s3:::*" },
            { "Sid": "PlinkSharedState", "Effect": "Allow", "Action": actions(Access::SharedState), "Resource": ["arn:aws:s3:::*", "arn:aws:s3:::*/*"] },
            {
                "Sid": "PlinkTagOnCreateEc2", "Effect": "Allow", "Action": ["ec2:CreateTags"], "Resource": "*",
                "Condition": { "StringEquals": { "ec2:CreateAction": creates(EC2) } }
            },
            {
                "Sid": "PlinkTagOnCreateElb", "Effect": "Allow", "Action": ["elasticloadbalancing:AddTags"], "Resource": "*",
                "Condition": { "StringEquals": { "elasticloadbalancing:CreateAction": creates(ELB) } }
            }
        ]
    })
}
