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

use super::s3_privatelink::network;
use super::{Clouds, Graph, Loaded, WorkflowKind, graph_error, intern};
use crate::config::{ConfigError, NccSelector, WorkflowText};
use config::ServiceTargets;

use crate::resources::acceptance::{AcceptanceInputs, ConnectionAcceptance};
use crate::resources::binding::{Binding, BindingInputs, BindingRecord};
use crate::resources::endpoint::{Endpoint, EndpointInputs, EndpointRecord};
use crate::resources::endpoint_service::{
    EndpointService, EndpointServiceInputs, EndpointServiceRecord,
};
use crate::resources::listener::{Listener, ListenerInputs};
use crate::resources::load_balancer::{LoadBalancer, LoadBalancerInputs, LoadBalancerRecord};
use crate::resources::ncc::{Ncc, NccChoice, NccInputs, NccRecord};
use crate::resources::network::NetworkRecord;
use crate::resources::rule::{Established, EstablishedInputs, Rule, RuleInputs, RuleRecord};
use crate::resources::security_group::{SecurityGroup, SecurityGroupInputs, SecurityGroupRecord};
use crate::resources::target_group::{TargetGroup, TargetGroupInputs, TargetGroupRecord};
use crate::resources::targets::{Targets, TargetsInputs};
use crate::resources::{Res, need};

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

    fn summary(&self) -> &'static str {
        "any TCP service in the VPC behind an internal NLB, privately from Databricks serverless"
    }

    fn load(&self, file: &WorkflowText) -> Result<Loaded, ConfigError> {
        let config = config::parse(&file.path, &file.text)?;
        Ok(Loaded {
            source: config.source.clone(),
            kind: &NlbService,
            deployment: config.deployment.clone(),
            clouds: Clouds::new(&config.aws, Some(&config.databricks)),
            summary: format!(
                "region {}, ports {:?}, {} workspace(s)",
                config.aws.region.as_str(),
                config.service.ports,
                config.databricks.workspace_ids.len()
            ),
            graph: Self::graph(&config).map_err(|e| graph_error(&config.source, e))?,
        })
    }
}

impl NlbService {
    /// The graph of an `nlb-service` deployment.
    ///
    /// # Errors
    /// A setting no resource can use (validation rules it out).
    pub fn graph(w: &Config) -> Res<Graph> {
        let deployment = w.deployment.as_str();
        let t = &w.timeouts;
        let mut graph = Graph::new()
            .node("network", &[], network(&w.aws), |_| Ok(()))
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
            );
        // Targets named by an AWS service: its interface endpoint (and the security group on
        // its ENIs), whose ENI IPs the target groups hold, exactly as for S3 in `s3-privatelink`.
        let service_endpoint = match &w.service.targets {
            ServiceTargets::Ips(_) => None,
            ServiceTargets::AwsService(name) => {
                graph = graph
                    .node(
                        "security_group",
                        &["network"],
                        SecurityGroup {
                            name: format!("plink-{deployment}-endpoint"),
                            existing: None,
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
                            service_name: name.clone(),
                            policy: None,
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
                    );
                Some("endpoint")
            }
        };
        let mut listeners = vec!["load_balancer"];
        for &port in &w.service.ports {
            let tg = intern(format!("target_group_{port}"));
            let targets = intern(format!("targets_{port}"));
            let listener = intern(format!("listener_{port}"));
            let ips = match &w.service.targets {
                ServiceTargets::Ips(ips) => ips.clone(),
                ServiceTargets::AwsService(_) => Vec::new(),
            };
            let targets_deps: Vec<&'static str> =
                service_endpoint.into_iter().chain([tg]).collect();
            graph = graph
                .node(
                    tg,
                    &["network"],
                    TargetGroup {
                        name: format!("pl-{deployment}-{port}"),
                        port: i32::from(port),
                    },
                    |up| {
                        let net: NetworkRecord = up.record("network");
                        Ok(TargetGroupInputs { vpc_id: net.vpc()? })
                    },
                )
                .node(
                    targets,
                    &targets_deps,
                    Targets {
                        port: i32::from(port),
                    },
                    move |up| {
                        let rec: TargetGroupRecord = up.record(tg);
                        let ips = match service_endpoint {
                            // The endpoint's ENI IPs, as they are now.
                            Some(endpoint) => up.record::<EndpointRecord>(endpoint).ips,
                            None => ips.clone(),
                        };
                        Ok(TargetsInputs {
                            target_group_arn: need(&rec.target_group_arn, "the target group")?,
                            ips,
                        })
                    },
                )
                .node(
                    listener,
                    &["load_balancer", tg],
                    Listener {
                        port: i32::from(port),
                    },
                    move |up| {
                        let lb: LoadBalancerRecord = up.record("load_balancer");
                        let rec: TargetGroupRecord = up.record(tg);
                        Ok(ListenerInputs {
                            load_balancer_arn: need(&lb.load_balancer_arn, "the NLB")?,
                            load_balancer_name: lb.name,
                            target_group_arn: need(&rec.target_group_arn, "the target group")?,
                            target_group_name: rec.name,
                        })
                    },
                );
            listeners.push(listener);
        }
        let domain_names = w.domain_names.clone();
        Ok(graph
            .node(
                "endpoint_service",
                // Every listener first: a service offered before traffic can flow would be
                // accepted into a dead end.
                &listeners,
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
                &["network"],
                Ncc {
                    choice: match &w.databricks.ncc {
                        NccSelector::Name(name) => NccChoice::Named(name.as_str().to_owned()),
                        NccSelector::Id(id) => NccChoice::Id(id.clone()),
                    },
                    workspace_timeout: t.workspace,
                },
                |up| {
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
                &["ncc", "endpoint_service"],
                Rule {
                    timeout: t.rule_endpoint,
                },
                move |up| {
                    let ncc: NccRecord = up.record("ncc");
                    let service: EndpointServiceRecord = up.record("endpoint_service");
                    Ok(RuleInputs {
                        ncc_id: need(&ncc.ncc_id, "the NCC")?,
                        service_name: need(&service.service_name, "the service name")?,
                        domain_names: domain_names.clone(),
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
