//! What `plink verify` probes, per workflow kind (issue #15): the destinations a kind opens a
//! path to, and the workspaces that should reach them — from the kind's typed config and the
//! state's records (the rule's domain names, known once `up` made the rule).

use serde::Serialize;

use crate::config::{DomainNames, WorkflowText};
use crate::resources::rule::RuleRecord;
use crate::state::StateFile;
use crate::workflow::{network_policy, nlb_service, s3_native, s3_privatelink};

/// One destination of the probe: the task's parameter entry (`localstack/CONTRACT.md` "Verify
/// task").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Destination {
    /// `<bucket>.<endpoint>` (or S3's regional name without one): TLS and ListObjectsV2.
    S3 {
        bucket: String,
        region: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        endpoint: Option<String>,
    },
    /// A host and port: TCP, and TLS with SNI when `tls`.
    Tcp { host: String, port: u16, tls: bool },
}

impl Destination {
    /// How the report names it (the task's default `name`).
    pub fn label(&self) -> String {
        match self {
            Self::S3 { bucket, .. } => format!("s3://{bucket}"),
            Self::Tcp { host, port, .. } => format!("{host}:{port}"),
        }
    }

    /// How a network policy names it: (`STORAGE`, `s3://bucket`) or (`DNS`, host).
    pub fn policy_destination(&self) -> (&'static str, String) {
        match self {
            Self::S3 { bucket, .. } => ("STORAGE", format!("s3://{bucket}")),
            Self::Tcp { host, .. } if host.parse::<std::net::IpAddr>().is_ok() => {
                ("IP", host.clone())
            }
            Self::Tcp { host, .. } => ("DNS", host.clone()),
        }
    }
}

/// What a kind wants verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub workspaces: Vec<i64>,
    pub destinations: Vec<Destination>,
    /// What could not be probed and why (a wildcard allowlist entry, …).
    pub notes: Vec<String>,
}

/// Why a deployment cannot be verified.
#[derive(Debug, thiserror::Error)]
pub enum DestinationsError {
    #[error(
        "`plink verify` checks the kinds that open a path (s3-privatelink, nlb-service, s3-native, network-policy with [egress]); {0} opens none"
    )]
    Unsupported(String),
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
}

/// The destinations and workspaces of the deployment read from `file`; `buckets` are the
/// buckets to list through an `s3-privatelink` endpoint (`--bucket`).
///
/// # Errors
/// The kind opens no path, or the file no longer reads.
pub fn plan(
    file: &WorkflowText,
    state: Option<&StateFile>,
    buckets: &[String],
) -> Result<Plan, DestinationsError> {
    let rule: RuleRecord = state.and_then(|s| s.outputs("rule")).unwrap_or_default();
    match file.kind.name.as_str() {
        s3_privatelink::NAME => {
            let c = s3_privatelink::config::parse(&file.path, &file.text)?;
            let names = match &c.databricks.domain_names {
                DomainNames::Explicit(names) => names.clone(),
                DomainNames::FromEndpoint => rule.domain_names,
            };
            let region = c.aws.region.as_str().to_owned();
            Ok(privatelink_s3(
                c.databricks.workspace_ids,
                &names,
                &region,
                buckets,
            ))
        }
        nlb_service::NAME => {
            let c = nlb_service::config::parse(&file.path, &file.text)?;
            let (names, notes) = concrete(&c.domain_names);
            let destinations = names
                .iter()
                .flat_map(|host| {
                    c.service.ports.iter().map(|&port| Destination::Tcp {
                        host: host.clone(),
                        port,
                        tls: false,
                    })
                })
                .collect();
            Ok(Plan {
                workspaces: c.databricks.workspace_ids,
                destinations,
                notes,
            })
        }
        s3_native::NAME => {
            let c = s3_native::config::parse(&file.path, &file.text)?;
            let region = c.aws.region.as_str().to_owned();
            Ok(Plan {
                workspaces: c.databricks.workspace_ids,
                destinations: c
                    .s3
                    .buckets
                    .iter()
                    .map(|bucket| Destination::S3 {
                        bucket: bucket.clone(),
                        region: region.clone(),
                        endpoint: None,
                    })
                    .collect(),
                notes: Vec::new(),
            })
        }
        network_policy::NAME => {
            let c = network_policy::config::parse(&file.path, &file.text)?;
            let Some(egress) = c.egress else {
                return Err(DestinationsError::Unsupported(
                    "a network-policy file without [egress]".into(),
                ));
            };
            let (hosts, notes) = concrete(&egress.allowed_domains.unwrap_or_default());
            let mut destinations: Vec<Destination> = hosts
                .into_iter()
                .map(|host| Destination::Tcp {
                    host,
                    port: 443,
                    tls: true,
                })
                .collect();
            destinations.extend(egress.allowed_storage.unwrap_or_default().into_iter().map(
                |(bucket, region)| Destination::S3 {
                    bucket,
                    region,
                    endpoint: None,
                },
            ));
            Ok(Plan {
                workspaces: c.databricks.workspace_ids,
                destinations,
                notes,
            })
        }
        other => Err(DestinationsError::Unsupported(other.to_owned())),
    }
}

/// `s3-privatelink`: each bucket through the endpoint's wildcard name (the rule's
/// `*.vpce-….s3.<region>.vpce.amazonaws.com` by default); without buckets, a TLS connection to a
/// name under that wildcard (it resolves to the endpoint's addresses like a bucket's name). Rule
/// names without a wildcard are the hosts serverless code connects to: each is probed with TLS.
fn privatelink_s3(
    workspaces: Vec<i64>,
    names: &[String],
    region: &str,
    buckets: &[String],
) -> Plan {
    let wildcard = names
        .iter()
        .find_map(|n| n.strip_prefix("*."))
        .map(str::to_owned);
    let mut notes = Vec::new();
    let tls = |host: String| Destination::Tcp {
        host,
        port: 443,
        tls: true,
    };
    let destinations = match wildcard {
        Some(e) if buckets.is_empty() => {
            notes.push(format!(
                "no --bucket given: probing TLS to a name under *.{e} (ListObjectsV2 needs a bucket)"
            ));
            vec![tls(format!("plink-verify.{e}"))]
        }
        Some(e) => buckets
            .iter()
            .map(|bucket| Destination::S3 {
                bucket: bucket.clone(),
                region: region.to_owned(),
                endpoint: Some(e.clone()),
            })
            .collect(),
        None if names.is_empty() => {
            notes.push("the rule has no domain names yet: nothing to probe (run plink up)".into());
            Vec::new()
        }
        None => {
            if !buckets.is_empty() {
                notes.push(
                    "--bucket needs a `*.` domain name on the rule: probing its names instead"
                        .into(),
                );
            }
            names.iter().cloned().map(tls).collect()
        }
    };
    Plan {
        workspaces,
        destinations,
        notes,
    }
}

/// The names that can be probed (a wildcard is a pattern, not a host), and a note per wildcard.
fn concrete(names: &[String]) -> (Vec<String>, Vec<String>) {
    let (wild, plain): (Vec<&String>, Vec<&String>) =
        names.iter().partition(|n| n.starts_with("*."));
    let notes = wild
        .iter()
        .map(|n| format!("{n} is a pattern: not probed (probe a name under it with a tcp check)"))
        .collect();
    (plain.into_iter().cloned().collect(), notes)
}

/// The task's parameter: the destinations as one JSON array, as a string.
pub fn parameter(destinations: &[Destination]) -> String {
    // Serializing plain enums and strings cannot fail.
    serde_json::to_string(destinations).unwrap_or_else(|_| "[]".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameter_follows_the_contract() {
        let p = parameter(&[
            Destination::S3 {
                bucket: "b".into(),
                region: "us-east-1".into(),
                endpoint: Some("vpce-1.s3.us-east-1.vpce.amazonaws.com".into()),
            },
            Destination::Tcp {
                host: "pg.internal".into(),
                port: 5432,
                tls: false,
            },
        ]);
        assert_eq!(
            p,
            r#"[{"kind":"s3","bucket":"b","region":"us-east-1","endpoint":"vpce-1.s3.us-east-1.vpce.amazonaws.com"},{"kind":"tcp","host":"pg.internal","port":5432,"tls":false}]"#
        );
    }

    #[test]
    fn privatelink_buckets_go_through_the_rules_wildcard() {
        let names = vec!["*.vpce-1.s3.us-east-1.vpce.amazonaws.com".to_owned()];
        let plan = privatelink_s3(vec![1], &names, "us-east-1", &["data".into()]);
        assert_eq!(
            plan.destinations[0].label(),
            "s3://data",
            "{:?}",
            plan.destinations
        );
        let plan = privatelink_s3(vec![1], &names, "us-east-1", &[]);
        assert_eq!(
            plan.destinations[0].label(),
            "plink-verify.vpce-1.s3.us-east-1.vpce.amazonaws.com:443"
        );
        // Explicit names are hosts: each probed with TLS.
        let names = vec!["bucket.s3.plink-demo.internal".to_owned()];
        let plan = privatelink_s3(vec![1], &names, "us-east-1", &["data".into()]);
        assert_eq!(
            plan.destinations,
            [Destination::Tcp {
                host: "bucket.s3.plink-demo.internal".into(),
                port: 443,
                tls: true
            }]
        );
        assert_eq!(plan.notes.len(), 1);
    }
}
