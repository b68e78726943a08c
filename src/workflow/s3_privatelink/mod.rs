//! `s3-privatelink` (seed 001): an S3 interface endpoint, an internal NLB with an IP target group
//! holding the endpoint's ENI IPs and a TCP:443 listener, a VPC endpoint service on the NLB, a
//! Databricks NCC and private endpoint rule, acceptance of the rule's connection, the wait for
//! ESTABLISHED, and the binding of the NCC to the workspaces.
//!
//! The node ids are the step names of state files (and the `plink:step` tag of what each
//! created): they never change.

use std::collections::BTreeMap;

pub mod config;

use super::{Clouds, Graph, Loaded, WorkflowKind, graph_error};
use crate::aws::{SubnetSelector, VpcSelector};
use crate::config::{
    self as toolkit, ConfigError, DomainNames, NccSelector, SecurityGroups, WorkflowText,
};
use crate::resources::acceptance::{AcceptanceInputs, ConnectionAcceptance};
use crate::resources::binding::{Binding, BindingInputs, BindingRecord};
use crate::resources::endpoint::{Endpoint, EndpointInputs, EndpointRecord};
use crate::resources::endpoint_service::{
    EndpointService, EndpointServiceInputs, EndpointServiceRecord,
};
use crate::resources::listener::{Listener, ListenerInputs};
use crate::resources::load_balancer::{LoadBalancer, LoadBalancerInputs, LoadBalancerRecord};
use crate::resources::ncc::{Ncc, NccChoice, NccInputs, NccRecord};
use crate::resources::network::{Network, NetworkRecord};
use crate::resources::rule::{Established, EstablishedInputs, Rule, RuleInputs, RuleRecord};
use crate::resources::security_group::{SecurityGroup, SecurityGroupInputs, SecurityGroupRecord};
use crate::resources::target_group::{TargetGroup, TargetGroupInputs, TargetGroupRecord};
use crate::resources::targets::{Targets, TargetsInputs};
use crate::resources::{Res, need};

pub use config::Config;

/// The kind's name (the default of workflow files, which predate kinds).
pub const NAME: &str = toolkit::DEFAULT_KIND;

/// S3 over TLS: the NLB passes TCP through to the endpoint's ENIs.
pub const PORT: i32 = 443;

/// The `s3-privatelink` kind.
#[derive(Debug)]
pub struct S3PrivateLink;

impl WorkflowKind for S3PrivateLink {
    fn name(&self) -> &'static str {
        NAME
    }

    fn summary(&self) -> &'static str {
        "S3 through an interface endpoint behind an internal NLB, privately from Databricks serverless (seed 001)"
    }

    fn load(&self, file: &WorkflowText) -> Result<Loaded, ConfigError> {
        let config = config::parse(&file.path, &file.text)?;
        Ok(Loaded {
            source: config.source.clone(),
            kind: &S3PrivateLink,
            deployment: config.deployment.clone(),
            clouds: Clouds::new(&config.aws, Some(&config.databricks)),
            summary: format!(
                "region {}, {} workspace(s)",
                config.aws.region.as_str(),
                config.databricks.workspace_ids.len()
            ),
            graph: Self::graph(&config).map_err(|e| graph_error(&config.source, e))?,
        })
    }
}

impl S3PrivateLink {
    /// The graph of an `s3-privatelink` deployment.
    ///
    /// # Errors
    /// A setting no resource can use (validation rules it out).
    pub fn graph(w: &Config) -> Res<Graph> {
        let deployment = w.deployment.as_str();
        let t = &w.timeouts;
        let domain_names = w.databricks.domain_names.clone();
        Ok(Graph::new()
            .node("network", &[], network(&w.aws), |_| Ok(()))
            .node(
                "security_group",
                &["network"],
                SecurityGroup {
                    name: format!("plink-{deployment}-endpoint"),
                    existing: match &w.endpoint.security_groups {
                        SecurityGroups::CreateManaged => None,
                        SecurityGroups::Existing(ids) => Some(ids.clone()),
                    },
                    release_timeout: t.endpoint,
                },
                |up| {
                    let net: NetworkRecord = up.record("network");
                    Ok(SecurityGroupInputs {
                        cidrs: net.subnet_cidrs(),
                        vpc_id: net.vpc()?,
                    })
                },
            )
            .node(
                "endpoint",
                &["network", "security_group"],
                Endpoint {
                    service_name: w.endpoint.service_name.clone(),
                    policy: w.endpoint.policy.as_ref().map(|p| p.json.clone()),
                    name: format!("plink-{deployment}"),
                    timeout: t.endpoint,
                },
                |up| {
                    let net: NetworkRecord = up.record("network");
                    let groups: SecurityGroupRecord = up.record("security_group");
                    Ok(EndpointInputs {
                        subnet_ids: net.subnet_ids(),
                        vpc_id: net.vpc()?,
                        security_group_ids: groups.security_group_ids,
                    })
                },
            )
            .node(
                "load_balancer",
                &["network"],
                LoadBalancer {
                    name: w.nlb.name.clone(),
                    cross_zone: w.nlb.cross_zone,
                    timeout: t.load_balancer,
                },
                |up| {
                    let net: NetworkRecord = up.record("network");
                    Ok(LoadBalancerInputs {
                        subnet_ids: net.subnet_ids(),
                        vpc_id: net.vpc()?,
                    })
                },
            )
            .node(
                "target_group",
                &["network"],
                TargetGroup {
                    name: w.nlb.target_group_name.clone(),
                    port: PORT,
                },
                |up| {
                    let net: NetworkRecord = up.record("network");
                    Ok(TargetGroupInputs { vpc_id: net.vpc()? })
                },
            )
            .node(
                "targets",
                &["endpoint", "target_group"],
                Targets { port: PORT },
                |up| {
                    let endpoint: EndpointRecord = up.record("endpoint");
                    let tg: TargetGroupRecord = up.record("target_group");
                    Ok(TargetsInputs {
                        target_group_arn: need(&tg.target_group_arn, "the target group")?,
                        ips: endpoint.ips,
                    })
                },
            )
            .node(
                "listener",
                &["load_balancer", "target_group"],
                Listener { port: PORT },
                |up| {
                    let lb: LoadBalancerRecord = up.record("load_balancer");
                    let tg: TargetGroupRecord = up.record("target_group");
                    Ok(ListenerInputs {
                        load_balancer_arn: need(&lb.load_balancer_arn, "the NLB")?,
                        load_balancer_name: lb.name,
                        target_group_arn: need(&tg.target_group_arn, "the target group")?,
                        target_group_name: tg.name,
                    })
                },
            )
            .node(
                "endpoint_service",
                // The listener first: a service offered before traffic can flow would be
                // accepted into a dead end.
                &["load_balancer", "listener"],
                EndpointService {
                    principal: w.databricks.principal_arn.clone(),
                    name: format!("plink-{deployment}"),
                    timeout: t.endpoint_service,
                },
                |up| {
                    let lb: LoadBalancerRecord = up.record("load_balancer");
                    Ok(EndpointServiceInputs {
                        load_balancer_arn: need(&lb.load_balancer_arn, "the NLB")?,
                        load_balancer_name: lb.name,
                    })
                },
            )
            .node(
                "ncc",
                // After `network`: a VPC or subnets that cannot carry the workflow stop the run
                // before anything is created, NCC included (one of only 10 per region).
                &["network"],
                Ncc {
                    choice: match &w.databricks.ncc {
                        NccSelector::Name(name) => NccChoice::Named(name.as_str().to_owned()),
                        NccSelector::Id(id) => NccChoice::Id(id.clone()),
                    },
                    workspace_timeout: t.workspace,
                },
                |up| {
                    // For teardown: the NCCs `up --replace-ncc-binding` switched away from.
                    let bind: BindingRecord = up.record("bind");
                    Ok(NccInputs {
                        replaced_ncc_ids: bind
                            .workspaces
                            .into_iter()
                            .filter_map(|w| w.replaced_ncc_id.map(|r| (w.workspace_id, r)))
                            .collect(),
                    })
                },
            )
            .node(
                "rule",
                &["ncc", "endpoint_service", "endpoint"],
                Rule {
                    timeout: t.rule_endpoint,
                },
                move |up| {
                    let ncc: NccRecord = up.record("ncc");
                    let service: EndpointServiceRecord = up.record("endpoint_service");
                    let domain_names = match &domain_names {
                        DomainNames::Explicit(names) => names.clone(),
                        DomainNames::FromEndpoint => {
                            vec![up.record::<EndpointRecord>("endpoint").dns_name]
                        }
                    };
                    Ok(RuleInputs {
                        ncc_id: need(&ncc.ncc_id, "the NCC")?,
                        service_name: need(&service.service_name, "the service name")?,
                        domain_names,
                    })
                },
            )
            .node_torn_down_as(
                "accept",
                &["rule", "endpoint_service"],
                ConnectionAcceptance::new(&w.databricks.principal_arn, t.rule_established)?,
                |up| {
                    let service: EndpointServiceRecord = up.record("endpoint_service");
                    let rule: RuleRecord = up.record("rule");
                    Ok(AcceptanceInputs {
                        service_id: need(&service.service_id, "the service id")?,
                        rule_vpc_endpoint_id: rule.vpc_endpoint_id,
                    })
                },
                // The name `plink down` has always recorded the rejected connections under.
                "down_connections",
            )
            .node(
                "established",
                &["accept"],
                Established {
                    timeout: t.rule_established,
                },
                |up| {
                    let ncc: NccRecord = up.record("ncc");
                    let rule: RuleRecord = up.record("rule");
                    Ok(EstablishedInputs {
                        ncc_id: need(&ncc.ncc_id, "the NCC")?,
                        rule_id: need(&rule.rule_id, "the rule")?,
                    })
                },
            )
            .node(
                "bind",
                // The NCC too: an NCC kept by `down` keeps its bindings' record.
                &["established", "ncc"],
                Binding {
                    workspace_ids: w.databricks.workspace_ids.clone(),
                    timeout: t.workspace,
                },
                |up| {
                    let ncc: NccRecord = up.record("ncc");
                    Ok(BindingInputs {
                        ncc_id: need(&ncc.ncc_id, "the NCC")?,
                    })
                },
            ))
    }
}

/// The VPC and subnets of `[aws]`.
pub(crate) fn network(aws: &toolkit::AwsSettings) -> Network {
    Network {
        vpc: match &aws.vpc {
            toolkit::VpcSelector::Id(id) => VpcSelector::Id(id.clone()),
            toolkit::VpcSelector::Tags(tags) => VpcSelector::Tags(pairs(tags)),
        },
        subnets: match &aws.subnets {
            toolkit::SubnetSelector::Ids(ids) => SubnetSelector::Ids(ids.clone()),
            toolkit::SubnetSelector::Tags(tags) => SubnetSelector::Tags(pairs(tags)),
        },
    }
}

fn pairs(tags: &BTreeMap<String, String>) -> Vec<(String, String)> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}
