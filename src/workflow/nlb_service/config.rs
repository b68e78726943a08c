//! The tables an `nlb-service` workflow file takes, and its typed config: `[deployment]`,
//! `[aws]`, `[service]` (the ports and the targets behind the NLB: this kind's own table),
//! `[nlb]`, `[databricks]` (with `domain_names` required: the names serverless code will use)
//! and `[timeouts]`.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config::{
    self, AwsIdKind, AwsSettings, ConfigError, DatabricksSettings, DeploymentName, DomainNames,
    KindName, NlbSettings, RawAws, RawDatabricks, RawDeployment, RawNlb, RawTimeouts, Table,
    Timeouts, Validator,
};
use crate::workflow::unique_list;

/// At most this many ports (one listener and one target group each; an NLB takes 50).
pub const MAX_PORTS: usize = 10;

/// The file as written: only these tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawFile {
    kind: Option<Spanned<String>>,
    deployment: Table<RawDeployment>,
    aws: Table<RawAws>,
    service: Table<RawService>,
    nlb: Option<Table<RawNlb>>,
    databricks: Table<RawDatabricks>,
    timeouts: Option<Table<RawTimeouts>>,
    /// Read with the header, the same for every kind (`config::read`).
    #[serde(rename = "state")]
    _state: Option<crate::config::ReadByHeader>,
}

/// `[service]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawService {
    ports: Spanned<Vec<Spanned<i64>>>,
    targets: Spanned<Table<RawTargets>>,
}

/// `service.targets = { ips = [ … ] }`, `{ instances = [ "i-…" ] }`, `{ rds_instance = "…" }`,
/// `{ rds_cluster = "…" }` or `{ aws_service = "com.amazonaws.<region>.<name>" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawTargets {
    ips: Option<Spanned<Vec<Spanned<String>>>>,
    instances: Option<Spanned<Vec<Spanned<String>>>>,
    rds_instance: Option<Spanned<String>>,
    rds_cluster: Option<Spanned<String>>,
    aws_service: Option<Spanned<String>>,
}

/// `[service]`: what the NLB forwards to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceSettings {
    /// `service.ports`: one listener and one target group each (1–10, unique).
    pub ports: Vec<u16>,
    pub targets: ServiceTargets,
    /// Where each IP address or instance id is written (`file:line:column: key`): the VPC
    /// check `up` and `plan` make against the cloud names it.
    pub written_at: Vec<String>,
}

/// `service.targets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceTargets {
    /// The private IPv4 addresses of the service (unique).
    Ips(Vec<String>),
    /// EC2 instances: their primary private IPs are registered, read again on every run (a
    /// replaced instance's new address is drift that `up` repairs).
    Instances(Vec<String>),
    /// An RDS DB instance: the address its endpoint resolves to, read on every run (a Multi-AZ
    /// failover moves it: drift `up` repairs).
    RdsInstance(String),
    /// An Aurora cluster: the address its writer endpoint resolves to (a failover moves it).
    RdsCluster(String),
    /// An AWS service without a first-party private path: plink creates its interface endpoint
    /// (and a security group allowing TCP 443 from the subnets) and targets the endpoint's ENI
    /// IPs, as `s3-privatelink` does for S3.
    AwsService(String),
}

/// A validated `nlb-service` workflow file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    pub kind: KindName,
    pub deployment: DeploymentName,
    pub aws: AwsSettings,
    pub service: ServiceSettings,
    pub nlb: NlbSettings,
    pub databricks: DatabricksSettings,
    /// `databricks.domain_names` (required for this kind).
    pub domain_names: Vec<String>,
    pub timeouts: Timeouts,
}

/// Validates the text of an `nlb-service` workflow file.
///
/// # Errors
/// [`ConfigError::Invalid`] naming the file, line and key of every problem.
pub fn parse(source_name: &Path, text: &str) -> Result<Config, ConfigError> {
    config::decode_file(source_name, text, |v, raw: RawFile| {
        let head = v.head(raw.kind.as_ref(), &raw.deployment, raw.aws.0);
        let region = head.region.as_ref();
        let service = service(v, &raw.service, region.map(|r| r.as_str()));
        if let Some(tg) = raw.nlb.as_ref().and_then(|n| n.target_group_name.as_ref()) {
            v.report(
                Some(tg.span()),
                "nlb.target_group_name",
                "not taken by kind \"nlb-service\": each port has its own target group, named pl-<deployment>-<port>",
            );
        }
        let nlb = v.nlb(
            raw.nlb.map(|t| t.0),
            head.deployment.as_ref(),
            &raw.deployment.name,
        );
        let domains_span = raw.databricks.domain_names.as_ref().map(|d| d.span());
        let databricks = v.databricks(raw.databricks.0, region, head.region_span.clone());
        let domain_names = match databricks.as_ref().map(|d| &d.domain_names) {
            Some(DomainNames::Explicit(names)) => Some(names.clone()),
            Some(DomainNames::FromEndpoint) => {
                v.report(
                    domains_span,
                    "databricks.domain_names",
                    "required for kind \"nlb-service\": the names serverless code uses to reach the service (1-10)",
                );
                None
            }
            None => None,
        };
        let timeouts = v.timeouts(raw.timeouts.map(|t| t.0));
        Some(Config {
            kind: head.kind,
            deployment: head.deployment?,
            aws: head.aws?,
            service: service?,
            nlb: nlb?,
            databricks: databricks?,
            domain_names: domain_names?,
            timeouts: timeouts?,
        })
    })
}

/// `[service]`: the ports (1–65535, unique, at most [`MAX_PORTS`]) and the targets: IPv4
/// addresses (unique, at least one), or an AWS service of the region (then only port 443, where
/// its interface endpoint answers).
fn service(
    v: &mut Validator<'_>,
    raw: &RawService,
    region: Option<&str>,
) -> Option<ServiceSettings> {
    let mut ok = true;
    let ports = raw.ports.get_ref();
    if ports.is_empty() || ports.len() > MAX_PORTS {
        v.report(
            Some(raw.ports.span()),
            "service.ports",
            format!("expected 1 to {MAX_PORTS} ports, found {}", ports.len()),
        );
        ok = false;
    }
    let mut seen = BTreeSet::new();
    let mut valid_ports = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let key = format!("service.ports[{i}]");
        match v.check(port, &key, |p| {
            u16::try_from(*p)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("expected a port from 1 to 65535, found {p}"))
        }) {
            Some(p) if !seen.insert(p) => {
                v.report(Some(port.span()), &key, format!("port {p} is listed twice"));
                ok = false;
            }
            Some(p) => valid_ports.push(p),
            None => ok = false,
        }
    }
    let targets = raw.targets.get_ref();
    let mut written_at = Vec::new();
    let given: Vec<&str> = [
        ("ips", targets.ips.is_some()),
        ("instances", targets.instances.is_some()),
        ("rds_instance", targets.rds_instance.is_some()),
        ("rds_cluster", targets.rds_cluster.is_some()),
        ("aws_service", targets.aws_service.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, set)| set.then_some(key))
    .collect();
    let rds =
        |v: &mut Validator<'_>, id: &Spanned<String>, key: &str, written_at: &mut Vec<String>| {
            let checked = v.check(id, key, |id| check_rds_identifier(id).map(|()| id.clone()));
            if checked.is_some() {
                written_at.push(v.place(id.span(), key));
            }
            checked
        };
    let targets = match (
        &targets.ips,
        &targets.instances,
        &targets.rds_instance,
        &targets.rds_cluster,
        &targets.aws_service,
    ) {
        _ if given.len() != 1 => {
            let found = match given.as_slice() {
                [] => "none".to_owned(),
                keys => format!("{} ({})", keys.len(), keys.join(", ")),
            };
            v.report(
                Some(raw.targets.span()),
                "service.targets",
                format!(
                    "expected exactly one of \"ips\", \"instances\", \"rds_instance\", \"rds_cluster\" or \"aws_service\", found {found}"
                ),
            );
            None
        }
        (Some(ips), ..) => unique_list(
            v,
            ips,
            "service.targets.ips",
            "IP address",
            &mut written_at,
            |s| {
                s.parse::<Ipv4Addr>().map(|a| a.to_string()).map_err(|_| {
                    format!("expected an IPv4 address like \"10.0.1.25\", found {s:?}")
                })
            },
        )
        .map(ServiceTargets::Ips),
        (_, Some(ids), ..) => unique_list(
            v,
            ids,
            "service.targets.instances",
            "instance id",
            &mut written_at,
            |s| {
                config::check_aws_id(s, AwsIdKind::Instance)
                    .map(|()| s.clone())
                    .map_err(|e| e.to_string())
            },
        )
        .map(ServiceTargets::Instances),
        (_, _, Some(id), ..) => rds(v, id, "service.targets.rds_instance", &mut written_at)
            .map(ServiceTargets::RdsInstance),
        (_, _, _, Some(id), _) => rds(v, id, "service.targets.rds_cluster", &mut written_at)
            .map(ServiceTargets::RdsCluster),
        (_, _, _, _, None) => None,
        (.., Some(name)) => {
            if valid_ports != [443] && ok {
                v.report(
                    Some(raw.ports.span()),
                    "service.ports",
                    "an AWS service's interface endpoint answers on 443 only: expected [443]",
                );
                ok = false;
            }
            v.check(name, "service.targets.aws_service", |n| {
                let prefix = region.map(|r| format!("com.amazonaws.{r}."));
                match prefix {
                    Some(p)
                        if n.strip_prefix(&p).is_some_and(|rest| {
                            !rest.is_empty()
                                && rest
                                    .chars()
                                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
                        }) =>
                    {
                        Ok(ServiceTargets::AwsService(n.clone()))
                    }
                    Some(p) => Err(format!(
                        "expected an AWS service of the deployment's region like \"{p}secretsmanager\", found {n:?}"
                    )),
                    None => Err(String::from("the region is invalid")),
                }
            })
        }
    };
    match (ok, targets) {
        (true, Some(targets)) => Some(ServiceSettings {
            ports: valid_ports,
            targets,
            written_at,
        }),
        _ => None,
    }
}

/// An RDS DB instance or cluster identifier: 1 to 63 letters, digits and hyphens, starting with
/// a letter, no two hyphens in a row, not ending with a hyphen.
fn check_rds_identifier(id: &str) -> Result<(), String> {
    let ok = (1..=63).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !id.contains("--")
        && !id.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected an RDS identifier like \"orders-db\" (letters, digits and hyphens, starting with a letter), found {id:?}"
        ))
    }
}
