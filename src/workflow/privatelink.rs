//! The PrivateLink path the kinds that offer a service in the VPC to Databricks share, node by
//! node: the VPC and subnets; an interface endpoint with its security group (when the service is
//! an AWS one); the internal NLB with a target group, its targets and a listener per port; then
//! the endpoint service, the NCC, the private endpoint rule, the acceptance of its connection,
//! ESTABLISHED and the bindings. `s3-privatelink` and `nlb-service` differ only in which of these
//! they take and where the targets and the rule's domain names come from.
//!
//! The node ids are state step names and `plink:step` tags: they never change.

use std::collections::BTreeMap;

use super::{Graph, databricks_side};
use crate::aws::{SubnetSelector, VpcSelector};
use crate::config::{self, DatabricksSettings, NlbSettings, Timeouts};
use crate::engine::StepId;
use crate::resources::acceptance::{AcceptanceInputs, ConnectionAcceptance};
use crate::resources::endpoint::{Endpoint, EndpointInputs, EndpointRecord};
use crate::resources::endpoint_service::{
    EndpointService, EndpointServiceInputs, EndpointServiceRecord,
};
use crate::resources::listener::{Listener, ListenerInputs};
use crate::resources::load_balancer::{LoadBalancer, LoadBalancerInputs, LoadBalancerRecord};
use crate::resources::ncc::NccRecord;
use crate::resources::network::{Network, NetworkRecord, ServiceAddresses};
use crate::resources::rule::{Rule, RuleInputs, RuleRecord};
use crate::resources::security_group::{SecurityGroup, SecurityGroupInputs, SecurityGroupRecord};
use crate::resources::target_group::{TargetGroup, TargetGroupInputs, TargetGroupRecord};
use crate::resources::targets::{Targets, TargetsInputs};
use crate::resources::{Res, need};

/// What the path takes from a kind's config.
pub(super) struct Path<'a> {
    pub deployment: &'a str,
    pub aws: &'a config::AwsSettings,
    pub nlb: &'a NlbSettings,
    pub databricks: &'a DatabricksSettings,
    pub timeouts: &'a Timeouts,
}

/// The node ids of one port of the NLB.
pub(super) struct PortNodes {
    pub target_group: StepId,
    pub targets: StepId,
    pub listener: StepId,
}

/// Where a port's targets come from.
pub(super) enum TargetIps {
    /// The service's addresses the `network` node resolved.
    Service,
    /// The ENI IPs of the interface endpoint of node `endpoint`, as they are now.
    EndpointEnis(StepId),
}

/// Where the rule's domain names come from.
pub(super) enum RuleNames {
    Fixed(Vec<String>),
    /// The regional DNS name of the interface endpoint of node `endpoint`.
    EndpointDns(StepId),
}

/// The VPC and subnets of an `[aws]` table.
pub(super) fn network(aws: &config::AwsSettings) -> Network {
    let pairs = |tags: &BTreeMap<String, String>| {
        tags.iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>()
    };
    Network {
        vpc: match &aws.vpc {
            config::VpcSelector::Id(id) => VpcSelector::Id(id.clone()),
            config::VpcSelector::Tags(tags) => VpcSelector::Tags(pairs(tags)),
        },
        subnets: match &aws.subnets {
            config::SubnetSelector::Ids(ids) => SubnetSelector::Ids(ids.clone()),
            config::SubnetSelector::Tags(tags) => SubnetSelector::Tags(pairs(tags)),
        },
        service: None,
    }
}

impl Path<'_> {
    /// `network`: the VPC and subnets of `[aws]`, and the addresses of the service behind the
    /// NLB if it has its own (checked to lie in the VPC).
    pub fn network(&self, graph: Graph, service: Option<ServiceAddresses>) -> Graph {
        let network = Network {
            service,
            ..network(self.aws)
        };
        graph.node("network", &[], network, |_| Ok(()))
    }

    /// `security_group` and `endpoint`: the interface endpoint of `service_name` (named by the
    /// file's `service_key`) in the subnets, with the user's security groups (`existing`) or
    /// plink's, allowing TCP 443 from them.
    pub fn interface_endpoint(
        &self,
        graph: Graph,
        service_name: &str,
        service_key: &'static str,
        policy: Option<String>,
        existing: Option<Vec<String>>,
    ) -> Graph {
        let deployment = self.deployment;
        graph
            .node(
                "security_group",
                &["network"],
                SecurityGroup {
                    name: format!("plink-{deployment}-endpoint"),
                    existing,
                    release_timeout: self.timeouts.endpoint,
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
                    service_name: service_name.to_owned(),
                    service_key,
                    policy,
                    name: format!("plink-{deployment}"),
                    timeout: self.timeouts.endpoint,
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
    }

    /// `load_balancer`: the internal NLB across the subnets.
    pub fn load_balancer(&self, graph: Graph) -> Graph {
        graph.node(
            "load_balancer",
            &["network"],
            LoadBalancer {
                name: self.nlb.name.clone(),
                cross_zone: self.nlb.cross_zone,
                timeout: self.timeouts.load_balancer,
            },
            |up| {
                let net: NetworkRecord = up.record("network");
                Ok(LoadBalancerInputs {
                    subnet_ids: net.subnet_ids(),
                    vpc_id: net.vpc()?,
                })
            },
        )
    }

    /// One port of the NLB: a target group named `target_group_name` holding `ips`, and a
    /// listener forwarding to it.
    pub fn port(
        &self,
        graph: Graph,
        port: u16,
        nodes: &PortNodes,
        target_group_name: String,
        ips: TargetIps,
    ) -> Graph {
        let port = i32::from(port);
        let (tg, targets) = (nodes.target_group, nodes.targets);
        let (targets_deps, from): (Vec<StepId>, _) = match &ips {
            TargetIps::EndpointEnis(endpoint) => (vec![endpoint, tg], "the endpoint's ENI IPs"),
            TargetIps::Service => (vec!["network", tg], "the service's addresses"),
        };
        graph
            .node(
                tg,
                &["network"],
                TargetGroup {
                    name: target_group_name,
                    port,
                },
                |up| {
                    let net: NetworkRecord = up.record("network");
                    Ok(TargetGroupInputs { vpc_id: net.vpc()? })
                },
            )
            .node(targets, &targets_deps, Targets { port, from }, move |up| {
                let rec: TargetGroupRecord = up.record(tg);
                Ok(TargetsInputs {
                    target_group_arn: need(&rec.target_group_arn, "the target group")?,
                    ips: match &ips {
                        TargetIps::Service => up.record::<NetworkRecord>("network").target_ips,
                        TargetIps::EndpointEnis(endpoint) => {
                            up.record::<EndpointRecord>(endpoint).ips
                        }
                    },
                })
            })
            .node(
                nodes.listener,
                &["load_balancer", tg],
                Listener { port },
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
            )
            // CreateListener needs the NLB's ARN, not the NLB active: AWS's own NLB tutorial
            // (elasticloadbalancing/latest/network/network-load-balancer-cli.html) runs
            // create-load-balancer, create-target-group, register-targets and create-listener
            // back to back, and a listener is normally defined with the load balancer
            // (.../network/create-listener.html). So the listener is made while the NLB
            // provisions, off the critical path (issue #13 item 2).
            .early(nodes.listener, &["load_balancer"])
    }

    /// From the endpoint service on the NLB (after `listeners`: a service offered before
    /// traffic can flow would be accepted into a dead end) to the bindings: the NCC, the rule
    /// with `names` (after `rule_after` too: the rule goes before what its traffic reaches on
    /// teardown), the acceptance of exactly its connection, ESTABLISHED, the workspaces.
    ///
    /// # Errors
    /// The Databricks principal names no account (validation rules it out).
    pub fn databricks_side(
        &self,
        graph: Graph,
        listeners: &[StepId],
        names: RuleNames,
        rule_after: &[StepId],
    ) -> Res<Graph> {
        let t = self.timeouts;
        let mut service_deps = vec!["load_balancer"];
        service_deps.extend_from_slice(listeners);
        let mut rule_deps = vec!["ncc", "endpoint_service"];
        rule_deps.extend_from_slice(rule_after);
        // The endpoint service waits for the NLB to be active (not `early`): no AWS document
        // says CreateVpcEndpointServiceConfiguration accepts a provisioning NLB, the field
        // update's planning figure orders them so (field-update-2026-12.md §5.1), and a rule's
        // connection to a service whose NLB cannot carry traffic yet would gain nothing.
        let graph = graph.node(
            "endpoint_service",
            &service_deps,
            EndpointService {
                principal: self.databricks.principal_arn.clone(),
                name: format!("plink-{}", self.deployment),
                timeout: t.endpoint_service,
            },
            |up| {
                let lb: LoadBalancerRecord = up.record("load_balancer");
                Ok(EndpointServiceInputs {
                    load_balancer_arn: need(&lb.load_balancer_arn, "the NLB")?,
                    load_balancer_name: lb.name,
                })
            },
        );
        // After `network`: a VPC or subnets that cannot carry the workflow stop the run first.
        let graph = databricks_side::ncc(graph, &["network"], self.databricks, t);
        let graph = graph
            .node(
                "rule",
                &rule_deps,
                Rule {
                    timeout: t.rule_endpoint,
                    reaches: "the endpoint service".into(),
                },
                move |up| {
                    let ncc: NccRecord = up.record("ncc");
                    let service: EndpointServiceRecord = up.record("endpoint_service");
                    Ok(RuleInputs {
                        ncc_id: need(&ncc.ncc_id, "the NCC")?,
                        service_name: need(&service.service_name, "the service name")?,
                        resource_names: Vec::new(),
                        domain_names: match &names {
                            RuleNames::Fixed(names) => names.clone(),
                            RuleNames::EndpointDns(endpoint) => {
                                vec![up.record::<EndpointRecord>(endpoint).dns_name]
                            }
                        },
                    })
                },
            )
            .node_torn_down_as(
                "accept",
                &["rule", "endpoint_service"],
                ConnectionAcceptance::new(&self.databricks.principal_arn, t.rule_established)?,
                |up| {
                    let service: EndpointServiceRecord = up.record("endpoint_service");
                    let rule: RuleRecord = up.record("rule");
                    Ok(AcceptanceInputs {
                        service_id: need(&service.service_id, "the service id")?,
                        rule_id: rule.rule_id,
                        rule_vpc_endpoint_id: rule.vpc_endpoint_id,
                    })
                },
                // The name `plink down` has always recorded the rejected connections under.
                "down_connections",
            );
        let graph = databricks_side::established(graph, &["accept"], t);
        Ok(databricks_side::bind(
            graph,
            "established",
            self.databricks,
            t,
        ))
    }
}
