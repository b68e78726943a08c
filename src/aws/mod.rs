//! The AWS side of plink: typed, small operations over `aws-sdk-ec2` and
//! `aws-sdk-elasticloadbalancingv2`, one concept per module.
//!
//! [`AwsConnect::connect`] builds [`AwsClients`]; every operation is a method on it, in the
//! module of its concept: [`vpc`] (+ subnets, security group), [`endpoint`] (the S3 interface
//! endpoint and its ENIs), [`load_balancer`], [`target_group`] (+ targets), [`listener`],
//! [`endpoint_service`] (+ allowed principals), [`endpoint_connection`] (accept/reject),
//! [`objects`] (S3 objects written on a condition: the shared state and its lock).
//!
//! Conventions, so that the step engine can converge after any crash (field notes §C.3–C.4):
//! - creates take the deterministic client token or name the caller derives from its state —
//!   nothing here generates random tokens — and the [`PlinkTags`] to put on the resource;
//! - lookups return `Ok(None)` when the resource does not exist, deletes succeed when it is
//!   already gone;
//! - states are the AWS wire strings; unknown values are never success;
//! - every error is an [`AwsError`] with a [`ErrorKind`]; per-item failures of batch calls are
//!   errors too.

/// Every item of a paginated request, each converted by `$convert`: a
/// `Result<Vec<_>, AwsError>` (`$to_error` maps the SDK error, e.g. `ec2_error("DescribeVpcs")`).
/// A macro because the SDK's paginators share no trait that a function could be generic over.
macro_rules! all_items {
    ($request:expr, $to_error:expr, $convert:expr) => {
        $request
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err($to_error)
            .map(|items| items.iter().map($convert).collect::<Vec<_>>())
    };
}

pub mod budget;
mod connect;
mod dry_run;
pub mod endpoint;
pub mod endpoint_connection;
pub mod endpoint_service;
mod error;
pub mod iam;
pub mod instance;
pub mod listener;
pub mod load_balancer;
pub mod objects;
pub mod rds;
pub mod s3;
pub mod tags;
pub mod target_group;
pub mod vpc;

pub use connect::{AwsClients, AwsConnect, SESSION_NAME};
pub use endpoint::{CreateInterfaceEndpoint, EndpointNetworkInterface, VpcEndpoint};
pub use endpoint_connection::EndpointConnection;
pub use endpoint_service::{AllowedPrincipal, CreateEndpointService, EndpointService};
pub use error::{AwsError, ErrorKind, Service, UnsuccessfulItem, classify};
pub use instance::Instance;
pub use listener::{CreateListener, Listener};
pub use load_balancer::{CreateLoadBalancer, LoadBalancer, LoadBalancerSubnet};
pub use tags::{PlinkTags, TagQuery, Tags};
pub use target_group::{CreateTargetGroup, TargetGroup, TargetHealth};
pub use vpc::{CreateSecurityGroup, SecurityGroup, Subnet, SubnetSelector, Vpc, VpcSelector};

/// An optional SDK string or enum value as an owned string, empty when absent.
fn or_empty(value: Option<impl AsRef<str>>) -> String {
    value.map(|v| v.as_ref().to_owned()).unwrap_or_default()
}
