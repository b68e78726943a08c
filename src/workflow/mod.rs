//! What to do: the step graph of each workflow.
//!
//! `s3-privatelink` (seed 001): an S3 interface endpoint, an internal NLB with an IP target group
//! holding the endpoint's ENI IPs and a TCP:443 listener, a VPC endpoint service on the NLB, a
//! Databricks NCC and private endpoint rule, acceptance of the rule's connection, the wait for
//! ESTABLISHED, and the binding of the NCC to the workspaces.

/// The name recorded in state files for this workflow.
pub const S3_PRIVATELINK: &str = "s3-privatelink";

/// The steps of `s3-privatelink`, in an order compatible with their dependencies (used for display).
pub const STEP_ORDER: &[&str] = &[
    "network",
    "security_group",
    "endpoint",
    "load_balancer",
    "target_group",
    "targets",
    "listener",
    "endpoint_service",
    "ncc",
    "rule",
    "accept",
    "established",
    "bind",
];
