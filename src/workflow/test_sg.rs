//! A test-only workflow kind built from existing resources: the VPC and subnets of its `[aws]`
//! table, and a security group allowing TCP 443 from them. Adding it touched this file and one
//! line of the registry (issue #9: that is all a new kind needs); the tests check that its file
//! is read with its own tables and that everything a command needs is derived from it.

use serde::Deserialize;
use toml::Spanned;

use super::privatelink::network;
use super::{Clouds, Graph, Loaded, WorkflowKind};
use crate::config::{self, ConfigError, RawAws, RawDeployment, Table, Timeouts, WorkflowText};
use crate::resources::network::NetworkRecord;
use crate::resources::security_group::{SecurityGroup, SecurityGroupInputs};

#[derive(Debug)]
pub struct TestSecurityGroup;

/// Its file: `kind`, `[deployment]` and `[aws]`, nothing else.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    kind: Option<Spanned<String>>,
    deployment: Table<RawDeployment>,
    aws: Table<RawAws>,
    /// Read with the header, the same for every kind (`config::read`).
    #[serde(rename = "state")]
    _state: Option<crate::config::ReadByHeader>,
}

impl WorkflowKind for TestSecurityGroup {
    fn name(&self) -> &'static str {
        "test-security-group"
    }

    fn load(&self, file: &WorkflowText) -> Result<Loaded, ConfigError> {
        let (deployment, aws) = config::decode_file(&file.path, &file.text, |v, raw: RawFile| {
            let head = v.head(raw.kind.as_ref(), &raw.deployment, raw.aws.0);
            Some((head.deployment?, head.aws?))
        })?;
        let graph = Graph::new()
            .node("vpc", &[], network(&aws), |_| Ok(()))
            .node(
                "group",
                &["vpc"],
                SecurityGroup {
                    name: format!("plink-{}-test", deployment.as_str()),
                    existing: None,
                    release_timeout: Timeouts::default().endpoint,
                },
                |up| {
                    let net: NetworkRecord = up.record("vpc");
                    Ok(SecurityGroupInputs {
                        cidrs: net.subnet_cidrs(),
                        vpc_id: net.vpc()?,
                    })
                },
            );
        let summary = format!("region {}", aws.region.as_str());
        let clouds = Clouds::new(&aws, None);
        Loaded::new(
            &TestSecurityGroup,
            file,
            &deployment,
            clouds,
            summary,
            Ok(graph),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::{load, names};

    const FILE: &str = r#"
kind = "test-security-group"
[deployment]
name = "test-sg"
[aws]
region = "us-east-1"
vpc = { id = "vpc-0123456789abcdef0" }
subnets = { ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"] }
"#;

    #[test]
    fn a_kind_is_registered_by_one_line_and_reads_its_own_tables() {
        assert!(names().contains(&"test-security-group"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.toml");
        std::fs::write(&path, FILE).unwrap();
        let loaded = load(&path).expect("valid");
        assert_eq!(loaded.kind.name(), "test-security-group");
        assert_eq!(loaded.graph.display_order(), vec!["vpc", "group"]);
        assert_eq!(loaded.graph.teardown_order(), vec!["down_group"]);
        // Another kind's table is not one of this kind's.
        std::fs::write(&path, format!("{FILE}[nlb]\nname = \"x\"\n")).unwrap();
        let error = load(&path).unwrap_err().to_string();
        assert!(
            error.contains("nlb: unknown key; expected one of: kind, deployment, aws"),
            "{error}"
        );
    }
}
