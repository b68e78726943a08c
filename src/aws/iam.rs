//! The least-privilege IAM policy for exactly the AWS actions plink calls (`plink iam-policy`).
//!
//! [`ACTIONS`] is the single list; `tests/iam_policy.rs` reads every SDK call in `src/aws/` and
//! fails when the two disagree, so the policy cannot drift from the code.

use serde_json::{Value, json};

use super::tags::{MANAGED_BY_PLINK, TAG_MANAGED_BY};

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
}

/// Every AWS API action plink calls, with its service prefix and access class.
pub const ACTIONS: &[(&str, &str, Access)] = &[
    ("ec2", "DescribeVpcs", Access::Read),
    ("ec2", "DescribeSubnets", Access::Read),
    ("ec2", "DescribeInstances", Access::Read),
    ("rds", "DescribeDBInstances", Access::Read),
    ("rds", "DescribeDBClusters", Access::Read),
    ("rds", "DescribeDBSubnetGroups", Access::Read),
    ("s3", "GetBucketLocation", Access::Read),
    ("s3", "GetBucketPolicy", Access::Read),
    ("s3", "PutBucketPolicy", Access::BucketPolicy),
    ("s3", "DeleteBucketPolicy", Access::BucketPolicy),
    ("ec2", "DescribeSecurityGroups", Access::Read),
    ("ec2", "DescribeNetworkInterfaces", Access::Read),
    ("ec2", "DescribeVpcEndpoints", Access::Read),
    ("ec2", "DescribeVpcEndpointConnections", Access::Read),
    (
        "ec2",
        "DescribeVpcEndpointServiceConfigurations",
        Access::Read,
    ),
    ("ec2", "DescribeVpcEndpointServicePermissions", Access::Read),
    ("ec2", "CreateSecurityGroup", Access::Create),
    ("ec2", "CreateVpcEndpoint", Access::Create),
    (
        "ec2",
        "CreateVpcEndpointServiceConfiguration",
        Access::Create,
    ),
    ("ec2", "AuthorizeSecurityGroupIngress", Access::ChangeTagged),
    (
        "ec2",
        "ModifyVpcEndpointServicePermissions",
        Access::ChangeTagged,
    ),
    ("ec2", "AcceptVpcEndpointConnections", Access::ChangeTagged),
    ("ec2", "RejectVpcEndpointConnections", Access::ChangeTagged),
    ("ec2", "DeleteSecurityGroup", Access::ChangeTagged),
    ("ec2", "DeleteVpcEndpoints", Access::ChangeTagged),
    (
        "ec2",
        "DeleteVpcEndpointServiceConfigurations",
        Access::ChangeTagged,
    ),
    (
        "elasticloadbalancing",
        "DescribeLoadBalancers",
        Access::Read,
    ),
    (
        "elasticloadbalancing",
        "DescribeLoadBalancerAttributes",
        Access::Read,
    ),
    ("elasticloadbalancing", "DescribeTargetGroups", Access::Read),
    ("elasticloadbalancing", "DescribeTargetHealth", Access::Read),
    ("elasticloadbalancing", "DescribeListeners", Access::Read),
    ("elasticloadbalancing", "DescribeTags", Access::Read),
    ("elasticloadbalancing", "CreateLoadBalancer", Access::Create),
    ("elasticloadbalancing", "CreateTargetGroup", Access::Create),
    ("elasticloadbalancing", "CreateListener", Access::Create),
    (
        "elasticloadbalancing",
        "ModifyLoadBalancerAttributes",
        Access::ChangeTagged,
    ),
    (
        "elasticloadbalancing",
        "SetSecurityGroups",
        Access::ChangeTagged,
    ),
    (
        "elasticloadbalancing",
        "RegisterTargets",
        Access::ChangeTagged,
    ),
    (
        "elasticloadbalancing",
        "DeregisterTargets",
        Access::ChangeTagged,
    ),
    (
        "elasticloadbalancing",
        "DeleteListener",
        Access::ChangeTagged,
    ),
    (
        "elasticloadbalancing",
        "DeleteTargetGroup",
        Access::ChangeTagged,
    ),
    (
        "elasticloadbalancing",
        "DeleteLoadBalancer",
        Access::ChangeTagged,
    ),
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
            {
                "Sid": "PlinkTagOnCreateEc2", "Effect": "Allow", "Action": ["ec2:CreateTags"], "Resource": "*",
                "Condition": { "StringEquals": { "ec2:CreateAction": creates("ec2") } }
            },
            {
                "Sid": "PlinkTagOnCreateElb", "Effect": "Allow", "Action": ["elasticloadbalancing:AddTags"], "Resource": "*",
                "Condition": { "StringEquals": { "elasticloadbalancing:CreateAction": creates("elasticloadbalancing") } }
            }
        ]
    })
}
