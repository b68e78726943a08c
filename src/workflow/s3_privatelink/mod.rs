//! `s3-privatelink` (seed 001): an S3 interface endpoint, an internal NLB with an IP target group
//! holding the endpoint's ENI IPs and a TCP:443 listener, a VPC endpoint service on the NLB, a
//! Databricks NCC and private endpoint rule, acceptance of the rule's connection, the wait for
//! ESTABLISHED, and the binding of the NCC to the workspaces.
//!
//! The node ids are the step names of state files (and the `plink:step` tag of what each
//! created): they never change.

pub mod config;

use super::privatelink::{Path, PortNodes, RuleNames, TargetIps};
use super::reach::{Reach, Targets};
use super::{Clouds, Graph, Loaded, WorkflowKind};
use crate::config::{self as toolkit, ConfigError, DomainNames, SecurityGroups, WorkflowText};
use crate::resources::Res;

pub use config::Config;

/// The kind's name (the default of workflow files, which predate kinds).
pub const NAME: &str = toolkit::DEFAULT_KIND;

/// S3 over TLS: the NLB passes TCP through to the endpoint's ENIs.
pub const PORT: u16 = 443;

/// The `s3-privatelink` kind.
#[derive(Debug)]
pub struct S3PrivateLink;

impl WorkflowKind for S3PrivateLink {
    fn name(&self) -> &'static str {
        NAME
    }

    fn load(&self, file: &WorkflowText) -> Result<Loaded, ConfigError> {
        let c = config::parse(&file.path, &file.text)?;
        let summary = format!(
            "region {}, {} workspace(s)",
            c.aws.region.as_str(),
            c.databricks.workspace_ids.len()
        );
        let clouds = Clouds::new(&c.aws, Some(&c.databricks));
        // Buckets through the endpoint, under the rule's names (the endpoint's, by default).
        let reach = Reach {
            workspaces: c.databricks.workspace_ids.clone(),
            to: Targets::S3ThroughRule {
                names: c.databricks.domain_names.clone(),
                region: c.aws.region.as_str().to_owned(),
            },
        };
        let loaded = Loaded::new(
            &S3PrivateLink,
            file,
            &c.deployment,
            clouds,
            summary,
            Self::graph(&c),
        )?;
        Ok(loaded.reaching(Some(reach)))
    }
}

impl S3PrivateLink {
    /// The graph of an `s3-privatelink` deployment: the PrivateLink path with the S3 interface
    /// endpoint as the target of port 443, and the endpoint's DNS name as the rule's default
    /// domain name.
    ///
    /// # Errors
    /// A setting no resource can use (validation rules it out).
    pub fn graph(w: &Config) -> Res<Graph> {
        let path = Path {
            deployment: w.deployment.as_str(),
            aws: &w.aws,
            nlb: &w.nlb,
            databricks: &w.databricks,
            timeouts: &w.timeouts,
        };
        let existing = match &w.endpoint.security_groups {
            SecurityGroups::CreateManaged => None,
            SecurityGroups::Existing(ids) => Some(ids.clone()),
        };
        let graph = path.network(Graph::new(), None);
        let graph = path.interface_endpoint(
            graph,
            &w.endpoint.service_name,
            "endpoint.service_name",
            w.endpoint.policy.as_ref().map(|p| p.json.clone()),
            existing,
        );
        let graph = path.load_balancer(graph);
        let graph = path.port(
            graph,
            PORT,
            &PortNodes {
                target_group: "target_group",
                targets: "targets",
                listener: "listener",
            },
            w.nlb.target_group_name.clone(),
            TargetIps::EndpointEnis("endpoint"),
        );
        let names = match &w.databricks.domain_names {
            DomainNames::Explicit(names) => RuleNames::Fixed(names.clone()),
            DomainNames::FromEndpoint => RuleNames::EndpointDns("endpoint"),
        };
        path.databricks_side(graph, &["listener"], names, &["endpoint"])
    }
}
