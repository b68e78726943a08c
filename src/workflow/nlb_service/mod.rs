//! `nlb-service` (issue #10): any TCP service in the VPC, privately from Databricks serverless:
//! an internal NLB with one target group and listener per port holding the service's IPs, a VPC
//! endpoint service allowing only the Databricks principal, an NCC private endpoint rule with the
//! domain names serverless code will use, acceptance of exactly the rule's connection,
//! ESTABLISHED, and the binding of the NCC to the workspaces. It shares every resource kind with
//! `s3-privatelink` (which is this path with an S3 interface endpoint as the target).
//!
//! Node ids are state step names and `plink:step` tags: per port, `target_group_<port>`,
//! `targets_<port>`, `listener_<port>`.

pub mod config;

use config::ServiceTargets;

use super::privatelink::{Path, PortNodes, RuleNames, TargetIps};
use super::reach::{self, Destination, Reach};
use super::{Clouds, Graph, Loaded, WorkflowKind, intern};
use crate::config::{ConfigError, WorkflowText};
use crate::resources::Res;
use crate::resources::network::{AddressSource, ServiceAddresses};

pub use config::Config;

/// The kind's name.
pub const NAME: &str = "nlb-service";

/// The `nlb-service` kind.
#[derive(Debug)]
pub struct NlbService;

impl WorkflowKind for NlbService {
    fn name(&self) -> &'static str {
        NAME
    }

    fn load(&self, file: &WorkflowText) -> Result<Loaded, ConfigError> {
        let c = config::parse(&file.path, &file.text)?;
        let summary = format!(
            "region {}, ports {:?}, {} workspace(s)",
            c.aws.region.as_str(),
            c.service.ports,
            c.databricks.workspace_ids.len()
        );
        let clouds = Clouds::new(&c.aws, Some(&c.databricks));
        // Each domain name serverless code uses, on each port of the service.
        let (hosts, notes) = reach::concrete(&c.domain_names);
        let destinations = hosts
            .iter()
            .flat_map(|host| {
                c.service.ports.iter().map(|&port| Destination::Tcp {
                    host: host.clone(),
                    port,
                    tls: false,
                })
            })
            .collect();
        let reach = Reach::fixed(c.databricks.workspace_ids.clone(), destinations, notes);
        let loaded = Loaded::new(
            &NlbService,
            file,
            &c.deployment,
            clouds,
            summary,
            Self::graph(&c),
        )?;
        Ok(loaded.reaching(Some(reach)))
    }
}

impl NlbService {
    /// The graph of an `nlb-service` deployment: the PrivateLink path with a target group and a
    /// listener per port, holding the file's IPs, or the ENI IPs of the AWS service's interface
    /// endpoint.
    ///
    /// # Errors
    /// A setting no resource can use (validation rules it out).
    pub fn graph(w: &Config) -> Res<Graph> {
        let deployment = w.deployment.as_str();
        let path = Path {
            deployment,
            aws: &w.aws,
            nlb: &w.nlb,
            databricks: &w.databricks,
            timeouts: &w.timeouts,
        };
        let source = match &w.service.targets {
            ServiceTargets::Ips(ips) => Some(AddressSource::Ips(ips.clone())),
            ServiceTargets::Instances(ids) => Some(AddressSource::Instances(ids.clone())),
            ServiceTargets::RdsInstance(id) => Some(AddressSource::RdsInstance(id.clone())),
            ServiceTargets::RdsCluster(id) => Some(AddressSource::RdsCluster(id.clone())),
            ServiceTargets::AwsService(_) => None,
        };
        let service = source.map(|source| ServiceAddresses {
            source,
            ports: w.service.ports.clone(),
            written_at: w.service.written_at.clone(),
        });
        let mut graph = path.network(Graph::new(), service);
        let endpoint: &[&str] = match &w.service.targets {
            ServiceTargets::AwsService(name) => {
                graph =
                    path.interface_endpoint(graph, name, "service.targets.aws_service", None, None);
                &["endpoint"]
            }
            _ => &[],
        };
        graph = path.load_balancer(graph);
        let mut listeners = Vec::new();
        for &port in &w.service.ports {
            let nodes = PortNodes {
                target_group: intern(format!("target_group_{port}")),
                targets: intern(format!("targets_{port}")),
                listener: intern(format!("listener_{port}")),
            };
            let ips = match &w.service.targets {
                ServiceTargets::AwsService(_) => TargetIps::EndpointEnis("endpoint"),
                _ => TargetIps::Service,
            };
            graph = path.port(graph, port, &nodes, format!("pl-{deployment}-{port}"), ips);
            listeners.push(nodes.listener);
        }
        let names = RuleNames::Fixed(w.domain_names.clone());
        path.databricks_side(graph, &listeners, names, endpoint)
    }
}
