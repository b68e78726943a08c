//! The VPC and subnets a deployment uses (by id or tag), checked to carry the workflow: one subnet
//! per availability zone, at least two zones; and, for a service behind the NLB (`nlb-service`),
//! the service's addresses, checked to lie in the VPC (issue #10). Read-only: plink never creates
//! or changes them. Being the first node, a check that fails here stops the run before anything
//! is created.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::memo::NEVER_CHANGED;
use super::preflight::Finding;
use super::{Change, Cx, Found, Res, Resource, errors};
use crate::aws::{AwsClients, ErrorKind, SubnetSelector, Vpc, VpcSelector};
use crate::engine::StepError;

/// The VPC and subnets of the workflow file (`aws.vpc`, `aws.subnets`).
pub struct Network {
    pub vpc: VpcSelector,
    pub subnets: SubnetSelector,
    /// The addresses of the service behind the NLB, if the kind has one.
    pub service: Option<ServiceAddresses>,
}

/// Where the addresses of a service behind the NLB come from.
pub struct ServiceAddresses {
    pub source: AddressSource,
    /// The ports the NLB forwards (a database must answer on one of them).
    pub ports: Vec<u16>,
    /// Where each value is written in the workflow file (`file:line:column: key`), for errors.
    pub written_at: Vec<String>,
}

/// The service's addresses as the workflow file gives them.
pub enum AddressSource {
    /// IPv4 addresses.
    Ips(Vec<String>),
    /// EC2 instance ids: their primary private IPs, read on every run.
    Instances(Vec<String>),
    /// An RDS DB instance: the address its endpoint resolves to (a failover moves it).
    RdsInstance(String),
    /// An Aurora cluster: the address its writer endpoint resolves to.
    RdsCluster(String),
}

/// What the state keeps: the VPC and subnets resolved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkRecord {
    pub vpc_id: String,
    /// The AWS account that owns the VPC (the customer account).
    pub account_id: String,
    pub subnets: Vec<SubnetRecord>,
    /// The addresses of the service behind the NLB (`nlb-service`), sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub target_ips: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubnetRecord {
    pub id: String,
    pub availability_zone: String,
    pub cidr: String,
}

impl NetworkRecord {
    /// The VPC's id.
    ///
    /// # Errors
    /// Nothing recorded (a bug in the graph, or a state edited by hand).
    pub fn vpc(&self) -> Res<String> {
        super::need(&self.vpc_id, "the VPC id")
    }

    /// The subnets' ids.
    pub fn subnet_ids(&self) -> Vec<String> {
        self.subnets.iter().map(|s| s.id.clone()).collect()
    }

    /// The subnets' CIDRs (where the NLB's traffic and health checks come from).
    pub fn subnet_cidrs(&self) -> Vec<String> {
        self.subnets.iter().map(|s| s.cidr.clone()).collect()
    }
}

#[async_trait]
impl Resource for Network {
    type Inputs = ();
    type Live = NetworkRecord;
    type Record = NetworkRecord;
    type Fix = ();

    const NOUN: &'static str = "network";
    const FOUND_BY: &'static str = "(read only: plink never changes them)";
    const TEARS_DOWN: bool = false;

    fn describe(&self) -> String {
        match self.service {
            Some(_) => "resolve the VPC, subnets and the service's addresses".into(),
            None => "resolve the VPC and subnets".into(),
        }
    }

    fn label(&self, live: &Self::Live) -> String {
        let subnets: Vec<&str> = live.subnets.iter().map(|s| s.id.as_str()).collect();
        let targets = match live.target_ips.as_slice() {
            [] => String::new(),
            ips => format!(", service at {}", ips.join(", ")),
        };
        format!(
            "VPC {}, subnets {}{targets}",
            live.vpc_id,
            subnets.join(", ")
        )
    }

    fn summary(&self, live: &Self::Live) -> String {
        self.label(live)
    }

    /// The VPC and subnets (and the service's addresses) resolve and can carry the workflow,
    /// unless a run resolved them already (a change since is `plan`'s and `up`'s to say).
    async fn preflight(&self, cx: &Cx<'_>, _: Option<&()>) -> Vec<Finding> {
        if cx.has_record() {
            return Vec::new();
        }
        let e = match self.resolve(cx).await {
            Ok(live) => {
                // The preflights downstream check with this VPC and these subnets, and the
                // step's own lookup starts from them.
                cx.step.learned(&live);
                cx.env.memo.keep(&memo_key(cx), NEVER_CHANGED, live);
                return Vec::new();
            }
            Err(e) => e,
        };
        // The message names the key when it is one of the service's addresses.
        let text = e.to_string();
        let key = if text.contains("subnet") {
            "aws.subnets"
        } else {
            "aws.vpc"
        };
        vec![Finding::from_error(key, "the VPC and subnets", &e)]
    }

    /// Resolves the VPC and subnets: recorded when they match the record, else unrecorded
    /// (the plan then says they are adopted, or changed since the last run). The first lookup
    /// after the preflight takes what the preflight resolved moments before (issue #13: plink
    /// never changes them, so nothing of this run can have).
    async fn find(&self, cx: &Cx<'_>, _: &()) -> Res<Found<Self::Live>> {
        let live = match cx.env.memo.take(&memo_key(cx), NEVER_CHANGED) {
            Some(live) => live,
            None => self.resolve(cx).await?,
        };
        Ok(Found::of(live, cx.has_record()))
    }

    fn create_detail(&self, _: &()) -> String {
        "the VPC and subnets".into()
    }

    async fn create(&self, _: &Cx<'_>, _: &()) -> Res<Option<Self::Live>> {
        Err(StepError::terminal("plink never creates a VPC or subnets"))
    }

    async fn compare(&self, cx: &Cx<'_>, _: &(), live: &Self::Live) -> Res<Vec<Change<()>>> {
        let recorded: NetworkRecord = cx.recorded();
        if !cx.has_record() || &recorded == live {
            return Ok(Vec::new());
        }
        let plan = if recorded.target_ips != live.target_ips {
            // An instance replaced, or the file's list changed: the targets follow.
            format!(
                "the service's addresses moved from [{}] to [{}]; up registers the new ones",
                recorded.target_ips.join(", "),
                live.target_ips.join(", ")
            )
        } else {
            "changed since the last run; up records them, resources already made keep their subnets"
                .to_owned()
        };
        Ok(vec![Change::new(plan, "", ())])
    }

    async fn record(&self, _: &Cx<'_>, _: &(), live: &Self::Live) -> Res<Self::Live> {
        Ok(live.clone())
    }

    async fn recover(&self, cx: &Cx<'_>, _: Option<&()>) -> Res<Option<Self::Live>> {
        self.resolve(cx).await.map(Some)
    }
}

/// Where the preflight leaves what it resolved for the step's lookup.
fn memo_key(cx: &Cx<'_>) -> String {
    format!("{}:resolved", cx.node)
}

impl Network {
    /// Resolves the VPC and subnets and checks them; reads only.
    async fn resolve(&self, cx: &Cx<'_>) -> Res<NetworkRecord> {
        let aws = &cx.env.aws;
        let vpc = aws.find_vpc(&self.vpc).await.map_err(|e| {
            errors::aws_lookup(
                "finding the VPC (aws.vpc)",
                "check aws.vpc (its id or tags) and aws.region in the workflow file",
                e,
            )
        })?;
        let mut subnets = aws
            .find_subnets(&vpc.id, &self.subnets)
            .await
            .map_err(|e| {
                errors::aws_lookup(
                    "finding the subnets (aws.subnets)",
                    "check aws.subnets (their ids or tags): they must be subnets of aws.vpc",
                    e,
                )
            })?;
        subnets.sort_by(|a, b| a.id.cmp(&b.id));

        // An interface endpoint takes one subnet per AZ; the NLB must span the same AZs.
        let mut by_az: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for s in &subnets {
            by_az.entry(&s.availability_zone).or_default().push(&s.id);
        }
        if let Some((az, ids)) = by_az.iter().find(|(_, ids)| ids.len() > 1) {
            return Err(StepError::needs_user(
                format!("subnets {} are all in {az}", ids.join(", ")),
                "an interface endpoint takes one subnet per availability zone: select one subnet per AZ in aws.subnets",
            ));
        }
        if by_az.len() < 2 {
            return Err(StepError::needs_user(
                format!(
                    "the selected subnets ({}) are in a single availability zone ({})",
                    subnets
                        .iter()
                        .map(|s| s.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    by_az.keys().next().copied().unwrap_or("none")
                ),
                "select subnets in at least two availability zones (the NLB and the endpoint must survive an AZ outage)",
            ));
        }
        let target_ips = match &self.service {
            Some(service) => service.resolve(aws, &vpc).await?,
            None => Vec::new(),
        };
        Ok(NetworkRecord {
            target_ips,
            vpc_id: vpc.id.clone(),
            account_id: vpc
                .owner_id
                .clone()
                .unwrap_or_else(|| aws.account_id.clone()),
            subnets: subnets
                .iter()
                .map(|s| SubnetRecord {
                    id: s.id.clone(),
                    availability_zone: s.availability_zone.clone(),
                    cidr: s.cidr_block.clone(),
                })
                .collect(),
        })
    }
}

impl ServiceAddresses {
    /// The service's addresses, sorted, each checked to lie in `vpc` (an NLB forwards only to
    /// addresses it can reach, and a typo here would register a black hole).
    async fn resolve(&self, aws: &AwsClients, vpc: &Vpc) -> Res<Vec<String>> {
        let ips: Vec<(String, &str)> = match &self.source {
            AddressSource::Ips(ips) => ips
                .iter()
                .zip(&self.written_at)
                .map(|(ip, at)| (ip.clone(), at.as_str()))
                .collect(),
            AddressSource::Instances(ids) => self.instance_ips(aws, vpc, ids).await?,
            AddressSource::RdsInstance(id) => {
                vec![(self.db_ip(aws, vpc, id, false).await?, self.at(0))]
            }
            AddressSource::RdsCluster(id) => {
                vec![(self.db_ip(aws, vpc, id, true).await?, self.at(0))]
            }
        };
        for (ip, at) in &ips {
            if !vpc.cidr_blocks.iter().any(|c| in_cidr(ip, c)) {
                return Err(StepError::needs_user(
                    format!(
                        "{at}: {ip} is outside VPC {} ({})",
                        vpc.id,
                        vpc.cidr_blocks.join(", ")
                    ),
                    "the NLB forwards only to addresses of its VPC: list the service's private addresses in that VPC",
                ));
            }
        }
        let mut ips: Vec<String> = ips.into_iter().map(|(ip, _)| ip).collect();
        ips.sort();
        ips.dedup();
        Ok(ips)
    }

    fn at(&self, n: usize) -> &str {
        self.written_at
            .get(n)
            .map_or("service.targets", String::as_str)
    }

    /// The address a database's endpoint (the writer's, for a cluster) resolves to now: it
    /// must be in `vpc`, answer on one of the NLB's ports, and not be going away.
    async fn db_ip(&self, aws: &AwsClients, vpc: &Vpc, id: &str, cluster: bool) -> Res<String> {
        let what = if cluster { "DB cluster" } else { "DB instance" };
        let at = self.at(0);
        let found = if cluster {
            aws.db_cluster(id).await
        } else {
            aws.db_instance(id).await
        };
        let db = found.map_err(|e| match e.kind {
            ErrorKind::NotFound => StepError::needs_user(
                format!("{at}: RDS {what} {id} does not exist in {}", aws.region),
                "check the identifier, and that aws.region is the database's region",
            ),
            _ => errors::aws(&format!("reading RDS {what} {id}"), e),
        })?;
        let problem = if db.vpc_id.as_deref() != Some(vpc.id.as_str()) {
            Some(format!(
                "RDS {what} {id} is in VPC {}, not in the deployment's VPC {}",
                db.vpc_id.as_deref().unwrap_or("none"),
                vpc.id
            ))
        } else if matches!(
            db.status.as_str(),
            "deleting" | "failed" | "stopped" | "stopping"
        ) {
            Some(format!("RDS {what} {id} is {}", db.status))
        } else if !self.ports.contains(&db.port) {
            Some(format!(
                "RDS {what} {id} answers on port {}, which is not in service.ports {:?}",
                db.port, self.ports
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(StepError::needs_user(
                format!("{at}: {problem}"),
                "name an available database of the deployment's VPC, and list its port in service.ports",
            ));
        }
        if db.address.is_empty() {
            // Still being created: its endpoint comes with it.
            return Err(StepError::retryable(format!(
                "RDS {what} {id} has no endpoint yet ({})",
                db.status
            )));
        }
        // On AWS the endpoint is a DNS name that resolves to the writer's private IP, from
        // anywhere; a failover points it at another one.
        let addrs = tokio::net::lookup_host((db.address.as_str(), db.port))
            .await
            .map_err(|e| {
                StepError::retryable(format!("resolving {} (RDS {what} {id}): {e}", db.address))
            })?;
        addrs
            .filter_map(|a| match a.ip() {
                std::net::IpAddr::V4(ip) => Some(ip.to_string()),
                std::net::IpAddr::V6(_) => None,
            })
            .next()
            .ok_or_else(|| {
                StepError::needs_user(
                    format!(
                        "{at}: {} (RDS {what} {id}) resolves to no IPv4 address",
                        db.address
                    ),
                    "an NLB IP target needs an IPv4 address",
                )
            })
    }

    /// The primary private IP of each instance, which must be in `vpc` and not terminated.
    async fn instance_ips<'a>(
        &'a self,
        aws: &AwsClients,
        vpc: &Vpc,
        ids: &[String],
    ) -> Res<Vec<(String, &'a str)>> {
        let at = |id: &str| {
            ids.iter()
                .position(|i| i == id)
                .and_then(|n| self.written_at.get(n))
                .map_or("service.targets.instances", String::as_str)
        };
        let found = aws.instances(ids).await.map_err(|e| {
            match ids
                .iter()
                .find(|id| e.is_not_found() && e.message.contains(id.as_str()))
            {
                Some(id) => StepError::needs_user(
                    format!("{}: instance {id} does not exist in {}", at(id), aws.region),
                    "check the instance id, and that aws.region is the instance's region",
                ),
                None => errors::aws("reading the instances (service.targets.instances)", e),
            }
        })?;
        let mut ips = Vec::new();
        for id in ids {
            let problem = match found.iter().find(|i| &i.id == id) {
                None => format!("instance {id} does not exist in {}", aws.region),
                Some(i) if i.vpc_id.as_deref() != Some(vpc.id.as_str()) => format!(
                    "instance {id} is in VPC {}, not in the deployment's VPC {}",
                    i.vpc_id.as_deref().unwrap_or("none"),
                    vpc.id
                ),
                Some(i) if matches!(i.state.as_str(), "shutting-down" | "terminated") => {
                    format!("instance {id} is {}", i.state)
                }
                Some(i) => match &i.private_ip {
                    Some(ip) => {
                        ips.push((ip.clone(), at(id)));
                        continue;
                    }
                    None => format!("instance {id} has no private IPv4 address"),
                },
            };
            return Err(StepError::needs_user(
                format!("{}: {problem}", at(id)),
                "name running instances of the deployment's VPC in service.targets.instances",
            ));
        }
        Ok(ips)
    }
}

/// Whether IPv4 address `ip` lies in `cidr` (`10.20.0.0/16`); anything unreadable does not.
fn in_cidr(ip: &str, cidr: &str) -> bool {
    let (Ok(ip), Some((net, len))) = (ip.parse::<Ipv4Addr>(), cidr.split_once('/')) else {
        return false;
    };
    let (Ok(net), Ok(len)) = (net.parse::<Ipv4Addr>(), len.parse::<u32>()) else {
        return false;
    };
    let mask = u32::MAX.checked_shl(32 - len.min(32)).unwrap_or(0);
    len <= 32 && u32::from(ip) & mask == u32::from(net) & mask
}

#[cfg(test)]
mod tests {
    use super::in_cidr;

    #[test]
    fn addresses_are_matched_against_cidr_blocks() {
        assert!(in_cidr("10.20.1.50", "10.20.0.0/16"));
        assert!(!in_cidr("10.21.1.50", "10.20.0.0/16"));
        assert!(in_cidr("192.168.7.9", "0.0.0.0/0"));
        assert!(in_cidr("10.0.0.1", "10.0.0.1/32"));
        assert!(!in_cidr("10.0.0.2", "10.0.0.1/32"));
        assert!(!in_cidr("10.0.0.x", "10.0.0.0/8"));
        assert!(!in_cidr("10.0.0.1", "10.0.0.0/33"));
    }
}
