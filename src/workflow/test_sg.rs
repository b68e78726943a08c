//! A test-only workflow kind built from existing resources: the VPC and subnets, and a security
//! group allowing TCP 443 from them. Adding it touched this file and one line of the registry
//! (issue #9: that is all a new kind needs); the tests check that everything a command needs is
//! derived from it.

use super::{Graph, WorkflowKind};
use crate::aws::{SubnetSelector, VpcSelector};
use crate::config::Workflow;
use crate::engine::StepError;
use crate::resources::Res;
use crate::resources::network::{Network, NetworkRecord};
use crate::resources::security_group::{SecurityGroup, SecurityGroupInputs};

#[derive(Debug)]
pub struct TestSecurityGroup;

impl WorkflowKind for TestSecurityGroup {
    fn name(&self) -> &'static str {
        "test-security-group"
    }

    fn summary(&self) -> &'static str {
        "a security group in the VPC (tests only)"
    }

    fn graph(&self, w: &Workflow) -> Res<Graph> {
        let (vpc, subnets) = match (&w.aws.vpc, &w.aws.subnets) {
            (crate::config::VpcSelector::Id(v), crate::config::SubnetSelector::Ids(s)) => {
                (VpcSelector::Id(v.clone()), SubnetSelector::Ids(s.clone()))
            }
            _ => return Err(StepError::terminal("the test kind takes ids only")),
        };
        Ok(Graph::new()
            .node("vpc", &[], Network { vpc, subnets }, |_| Ok(()))
            .node(
                "group",
                &["vpc"],
                SecurityGroup {
                    name: format!("plink-{}-test", w.deployment.as_str()),
                    existing: None,
                    release_timeout: w.timeouts.endpoint,
                },
                |up| {
                    let net: NetworkRecord = up.record("vpc");
                    Ok(SecurityGroupInputs {
                        cidrs: net.subnet_cidrs(),
                        vpc_id: net.vpc()?,
                    })
                },
            ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{find, names};

    const FILE: &str = r#"
kind = "test-security-group"
[deployment]
name = "test-sg"
[aws]
region = "us-east-1"
vpc = { id = "vpc-0123456789abcdef0" }
subnets = { ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"] }
[databricks]
account_id = "00000000-0000-0000-0000-000000000000"
workspace_ids = [1]
ncc = { name = "plink-test" }
"#;

    #[test]
    fn a_kind_is_registered_by_one_line_and_chosen_by_the_kind_key() {
        assert!(names().contains(&"test-security-group"));
        let w = crate::config::parse(std::path::Path::new("t.toml"), FILE).expect("valid");
        assert_eq!(w.kind.name, "test-security-group");
        let graph = find(&w.kind.name).unwrap().graph(&w).unwrap();
        assert_eq!(graph.display_order(), vec!["vpc", "group"]);
        assert_eq!(graph.teardown_order(), vec!["down_group"]);
    }
}
