//! The AWS side of plink: typed, small operations over `aws-sdk-ec2` and
//! `aws-sdk-elasticloadbalancingv2`, one concept per module.
//!
//! [`AwsConnect::connect`] builds [`AwsClients`]; every operation is a method on it, grouped by
//! concept: [`vpc`] (VPC, subnets, security group), [`endpoint`] (the S3 interface endpoint and
//! its ENIs), [`load_balancer`], [`target_group`] (+ targets and health), [`listener`],
//! [`endpoint_service`] (+ allowed principals) and [`endpoint_connection`] (accept/reject).
//!
//! Conventions, so that the step engine can converge after any crash (field notes §C.3–C.4):
//! - creates take the deterministic client token or name the caller derives from its state —
//!   nothing here generates random tokens — and the [`PlinkTags`] to put on the resource;
//! - lookups return `Ok(None)` when the resource does not exist, deletes succeed when it is
//!   already gone;
//! - states are the AWS wire strings; unknown values are never success;
//! - every error is an [`AwsError`] with a [`ErrorKind`]; per-item failures of batch calls are
//!   errors too.

mod connect;
pub mod endpoint;
pub mod endpoint_connection;
pub mod endpoint_service;
mod error;
pub mod iam;
pub mod instance;
pub mod listener;
pub mod load_balancer;
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
