//! `s3-native` (issue #10): S3 the way Databricks now recommends it — a private endpoint rule
//! straight to the regional S3 service naming the buckets (`resource_names`), no NLB, no
//! endpoint service, no acceptance. Its three ordering traps (field update §1.4) are the graph:
//! the rule's `vpc_endpoint_id` is empty at create (`rule` waits for it); the rule reaches
//! `ESTABLISHED` only once each bucket's policy allows that `aws:SourceVpce` (`bucket_policy`
//! before `established`); `enabled` can only be set after `ESTABLISHED` (`enabled` after it).
//!
//! Node ids are state step names: `buckets`, `ncc`, `rule`, `bucket_policy`, `established`,
//! `enabled`, `bind`.

pub mod config;

use config::PolicyMode;

use super::reach::{Destination, Reach};
use super::{Clouds, Graph, Loaded, WorkflowKind, databricks_side};
use crate::config::{ConfigError, WorkflowText};
use crate::resources::bucket_policy::{self, BucketPolicies, BucketPolicyInputs};
use crate::resources::buckets::{Buckets, BucketsRecord};
use crate::resources::ncc::NccRecord;
use crate::resources::rule::{Enabled, Rule, RuleInputs, RuleRecord};
use crate::resources::{Res, need};

pub use config::Config;

/// The kind's name.
pub const NAME: &str = "s3-native";

/// The `s3-native` kind.
#[derive(Debug)]
pub struct S3Native;

impl WorkflowKind for S3Native {
    fn name(&self) -> &'static str {
        NAME
    }

    fn load(&self, file: &WorkflowText) -> Result<Loaded, ConfigError> {
        let c = config::parse(&file.path, &file.text)?;
        let summary = format!(
            "region {}, bucket(s) {}, {} workspace(s)",
            c.aws.region.as_str(),
            c.s3.buckets.join(", "),
            c.databricks.workspace_ids.len()
        );
        let clouds = Clouds {
            region: Some(c.aws.region.clone()),
            aws_profile: c.aws.profile.clone(),
            aws_role_arn: c.aws.role_arn.clone(),
            databricks_profile: c.databricks.profile.clone(),
            databricks_account_id: c.databricks.account_id.clone(),
        };
        // Each bucket by its regional name, straight to S3 through the rule.
        let region = c.aws.region.as_str();
        let buckets = c.s3.buckets.iter().cloned();
        let destinations = buckets.map(|b| Destination::bucket(b, region)).collect();
        let reach = Reach::fixed(c.databricks.workspace_ids.clone(), destinations, Vec::new());
        let loaded = Loaded::new(
            &S3Native,
            file,
            &c.deployment,
            clouds,
            summary,
            Ok(Self::graph(&c)),
        )?;
        Ok(loaded.reaching(Some(reach)))
    }
}

impl S3Native {
    /// The graph of an `s3-native` deployment.
    pub fn graph(c: &Config) -> Graph {
        let t = &c.timeouts;
        let region = c.aws.region.as_str().to_owned();
        let graph = Graph::new().node(
            "buckets",
            &[],
            Buckets {
                names: c.s3.buckets.clone(),
                written_at: c.s3.written_at.clone(),
            },
            |_| Ok(()),
        );
        // After `buckets`: a bucket that is missing or in another region stops the run before
        // anything is created.
        let graph = databricks_side::ncc(graph, &["buckets"], &c.databricks, t);
        let graph = graph
            .node(
                "rule",
                &["ncc", "buckets"],
                Rule {
                    timeout: t.rule_endpoint,
                    reaches: format!("S3 bucket(s) {}", c.s3.buckets.join(", ")),
                },
                move |up| {
                    let ncc: NccRecord = up.record("ncc");
                    let buckets: BucketsRecord = up.record("buckets");
                    Ok(RuleInputs {
                        ncc_id: need(&ncc.ncc_id, "the NCC")?,
                        service_name: format!("com.amazonaws.{region}.s3"),
                        domain_names: Vec::new(),
                        resource_names: buckets.buckets,
                    })
                },
            )
            .node(
                "bucket_policy",
                &["rule"],
                BucketPolicies {
                    sid: statement_id(c.deployment.as_str()),
                    buckets: c.s3.buckets.clone(),
                    mode: match c.s3.bucket_policy {
                        PolicyMode::Manage => bucket_policy::PolicyMode::Manage,
                        PolicyMode::Print => bucket_policy::PolicyMode::Print,
                    },
                    timeout: t.rule_established,
                },
                bucket_policy_inputs,
            );
        let graph = databricks_side::established(graph, &["rule", "bucket_policy"], t);
        let graph = graph.node(
            "enabled",
            &["established"],
            Enabled,
            databricks_side::rule_of,
        );
        databricks_side::bind(graph, "enabled", &c.databricks, t)
    }
}

fn bucket_policy_inputs(up: &super::Upstream<'_>) -> Res<BucketPolicyInputs> {
    let ncc: NccRecord = up.record("ncc");
    let rule: RuleRecord = up.record("rule");
    Ok(BucketPolicyInputs {
        vpc_endpoint_id: need(
            rule.vpc_endpoint_id.as_deref().unwrap_or_default(),
            "the rule's VPC endpoint",
        )?,
        ncc_id: need(&ncc.ncc_id, "the NCC")?,
        rule_id: need(&rule.rule_id, "the rule")?,
    })
}

/// The `Sid` of plink's statement: `Plink` and the deployment name in camel case (IAM's
/// strictest `Sid` alphabet is letters and digits), e.g. `demo-s3` → `PlinkDemoS3`.
pub fn statement_id(deployment: &str) -> String {
    let camel: String = deployment
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("Plink{camel}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn statement_ids_name_the_deployment_in_letters_and_digits() {
        assert_eq!(super::statement_id("demo-s3"), "PlinkDemoS3");
        assert_eq!(super::statement_id("lake"), "PlinkLake");
        assert_eq!(super::statement_id("a-b-2c"), "PlinkAB2c");
    }
}
