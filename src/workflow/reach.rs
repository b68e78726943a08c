//! What a workflow kind opens a path to, for `plink verify` (issue #15): data each kind fills
//! from its config when it reads a file ([`Loaded::reaching`](super::Loaded::reaching)), resolved
//! with the state's records and the command line (`--bucket`) when `verify` runs.

use serde::Serialize;

use crate::config::DomainNames;

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

    /// TLS on 443 to `host`.
    pub fn https(host: String) -> Self {
        Self::Tcp {
            host,
            port: 443,
            tls: true,
        }
    }

    /// A bucket by its regional S3 name.
    pub fn bucket(bucket: String, region: &str) -> Self {
        Self::S3 {
            bucket,
            region: region.to_owned(),
            endpoint: None,
        }
    }
}

/// What a deployment of a kind should reach, from which workspaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub workspaces: Vec<i64>,
    pub to: Targets,
}

/// The destinations, as far as the file decides them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// Known from the file alone; what cannot be probed is in `notes`.
    Fixed {
        destinations: Vec<Destination>,
        notes: Vec<String>,
    },
    /// Buckets (`--bucket`) through an S3 interface endpoint, under the rule's domain names:
    /// the file's, or the endpoint's wildcard name recorded once `up` made the rule.
    S3ThroughRule { names: DomainNames, region: String },
}

/// The destinations `verify` probes, and what it cannot probe.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resolved {
    pub destinations: Vec<Destination>,
    pub notes: Vec<String>,
}

impl Reach {
    /// Destinations known from the file; wildcard names among `hosts` (patterns, not hosts)
    /// become notes.
    pub fn fixed(workspaces: Vec<i64>, destinations: Vec<Destination>, notes: Vec<String>) -> Self {
        Self {
            workspaces,
            to: Targets::Fixed {
                destinations,
                notes,
            },
        }
    }

    /// Whether `--bucket` means something here.
    pub fn takes_buckets(&self) -> bool {
        matches!(self.to, Targets::S3ThroughRule { .. })
    }

    /// The destinations, given the rule's recorded domain names and `buckets` (`--bucket`).
    pub fn resolve(&self, recorded_names: &[String], buckets: &[String]) -> Resolved {
        match &self.to {
            Targets::Fixed {
                destinations,
                notes,
            } => Resolved {
                destinations: destinations.clone(),
                notes: notes.clone(),
            },
            Targets::S3ThroughRule { names, region } => {
                let names = match names {
                    DomainNames::Explicit(names) => names.as_slice(),
                    DomainNames::FromEndpoint => recorded_names,
                };
                through_rule(names, region, buckets)
            }
        }
    }
}

/// Each bucket through the endpoint's wildcard name (the rule's
/// `*.vpce-….s3.<region>.vpce.amazonaws.com` by default); without buckets, a TLS connection to a
/// name under that wildcard (it resolves to the endpoint's addresses like a bucket's name). Rule
/// names without a wildcard are the hosts serverless code connects to: each is probed with TLS.
fn through_rule(names: &[String], region: &str, buckets: &[String]) -> Resolved {
    let wildcard = names
        .iter()
        .find_map(|n| n.strip_prefix("*."))
        .map(str::to_owned);
    let mut notes = Vec::new();
    let destinations = match wildcard {
        Some(e) if buckets.is_empty() => {
            notes.push(format!(
                "no --bucket given: probing TLS to a name under *.{e} (ListObjectsV2 needs a bucket)"
            ));
            vec![Destination::https(format!("plink-verify.{e}"))]
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
            names.iter().cloned().map(Destination::https).collect()
        }
    };
    Resolved {
        destinations,
        notes,
    }
}

/// The names that can be probed (a wildcard is a pattern, not a host), and a note per wildcard.
pub fn concrete(names: &[String]) -> (Vec<String>, Vec<String>) {
    let (wild, plain): (Vec<&String>, Vec<&String>) =
        names.iter().partition(|n| n.starts_with("*."));
    let notes = wild
        .iter()
        .map(|n| format!("{n} is a pattern: not probed (probe a name under it with a tcp check)"))
        .collect();
    (plain.into_iter().cloned().collect(), notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privatelink_buckets_go_through_the_rules_wildcard() {
        let names = vec!["*.vpce-1.s3.us-east-1.vpce.amazonaws.com".to_owned()];
        let r = through_rule(&names, "us-east-1", &["data".into()]);
        assert_eq!(
            r.destinations[0].label(),
            "s3://data",
            "{:?}",
            r.destinations
        );
        let r = through_rule(&names, "us-east-1", &[]);
        assert_eq!(
            r.destinations[0].label(),
            "plink-verify.vpce-1.s3.us-east-1.vpce.amazonaws.com:443"
        );
        // Explicit names are hosts: each probed with TLS.
        let names = vec!["bucket.s3.plink-demo.internal".to_owned()];
        let r = through_rule(&names, "us-east-1", &["data".into()]);
        assert_eq!(
            r.destinations,
            [Destination::https("bucket.s3.plink-demo.internal".into())]
        );
        assert_eq!(r.notes.len(), 1);
    }

    #[test]
    fn wildcards_are_patterns_not_hosts() {
        let (hosts, notes) = concrete(&["*.example.com".into(), "pypi.org".into()]);
        assert_eq!(hosts, ["pypi.org"]);
        assert_eq!(notes.len(), 1);
    }
}
