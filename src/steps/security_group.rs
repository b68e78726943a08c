//! `security_group`: the groups on the endpoint's ENIs — the user's, or one plink creates that
//! allows TCP 443 from the subnets' CIDRs (where the NLB's traffic and health checks come from;
//! seed 001 step 1, SRA note "or the target group will report unhealthy").

use async_trait::async_trait;

use super::outputs::{NetworkOut, SecurityGroupOut};
use super::{Env, errors};
use crate::aws::{CreateSecurityGroup, PlinkTags};
use crate::config::SecurityGroups;
use crate::engine::{Step, StepContext, StepError, StepId};
use crate::state::Intent;

pub struct SecurityGroupStep(pub Env);

#[async_trait]
impl Step for SecurityGroupStep {
    fn id(&self) -> StepId {
        "security_group"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec!["network"]
    }

    fn describe(&self) -> String {
        "security group of the endpoint (TCP 443 from the NLB subnets)".into()
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let env = &self.0;
        let network: NetworkOut = cx.output("network")?;
        if let SecurityGroups::Existing(ids) = &env.workflow.endpoint.security_groups {
            for id in ids {
                let found = env
                    .aws
                    .describe_security_group(id)
                    .await
                    .map_err(|e| errors::aws("reading a security group", e))?;
                match found {
                    Some(sg) if sg.vpc_id.as_deref() == Some(network.vpc_id.as_str()) => {}
                    Some(sg) => {
                        return Err(StepError::needs_user(
                            format!(
                                "security group {id} belongs to {}, not to {}",
                                sg.vpc_id.unwrap_or_default(),
                                network.vpc_id
                            ),
                            "endpoint.security_group_ids must be groups of the deployment's VPC",
                        ));
                    }
                    None => {
                        return Err(StepError::needs_user(
                            format!("security group {id} does not exist"),
                            "check endpoint.security_group_ids",
                        ));
                    }
                }
            }
            return cx.record(&SecurityGroupOut {
                security_group_ids: ids.clone(),
                created_by_plink: false,
            });
        }

        let name = format!("plink-{}-endpoint", env.workflow.deployment.as_str());
        let cidrs: Vec<String> = network.subnets.iter().map(|s| s.cidr.clone()).collect();
        let recorded = cx
            .recorded::<SecurityGroupOut>()
            .and_then(|r| r.security_group_ids.into_iter().next());
        let mut group = match recorded {
            Some(id) => env
                .aws
                .describe_security_group(&id)
                .await
                .map_err(|e| errors::aws("reading the security group", e))?,
            None => None,
        };
        if group.is_none() {
            group = env
                .aws
                .find_security_group(&network.vpc_id, &name)
                .await
                .map_err(|e| errors::aws("finding the security group", e))?;
        }
        let group = match group {
            Some(g) => g,
            None => {
                // Group names are unique per VPC: the name is the natural key (no client token).
                cx.begin(
                    Intent::new("create_security_group")
                        .key("vpc_id", &network.vpc_id)
                        .key("name", &name),
                )?;
                env.aws
                    .create_security_group(&CreateSecurityGroup {
                        vpc_id: network.vpc_id.clone(),
                        name: name.clone(),
                        description: format!(
                            "plink {}: TCP 443 from the NLB subnets to the S3 endpoint",
                            env.workflow.deployment.as_str()
                        ),
                        ingress_cidrs: cidrs.clone(),
                        tags: PlinkTags::new(env.workflow.deployment.as_str(), "security_group")
                            .with_name(&name),
                    })
                    .await
                    .map_err(|e| {
                        // The name is taken: most likely our own create, committed but its answer
                        // lost (the SDK's retry then hits the duplicate). Find it by name again.
                        if e.has_code("InvalidGroup.Duplicate") {
                            StepError::retryable(format!(
                                "security group {name} already exists; adopting it: {e}"
                            ))
                        } else {
                            errors::aws("creating the security group", e)
                        }
                    })?
            }
        };
        cx.record(&SecurityGroupOut {
            security_group_ids: vec![group.id.clone()],
            created_by_plink: true,
        })?;
        // Drift repair: every subnet CIDR must be allowed in on 443.
        let missing: Vec<String> = cidrs
            .into_iter()
            .filter(|c| !group.https_ingress_cidrs.contains(c))
            .collect();
        if !missing.is_empty() {
            cx.note(format!("allowing TCP 443 from {}", missing.join(", ")));
            cx.begin(
                Intent::new("allow_https_from")
                    .key("security_group_id", &group.id)
                    .key("cidrs", missing.join(",")),
            )?;
            env.aws
                .allow_https_from(&group.id, &missing)
                .await
                .map_err(|e| errors::aws("adding ingress rules", e))?;
            cx.record(&SecurityGroupOut {
                security_group_ids: vec![group.id.clone()],
                created_by_plink: true,
            })?;
        }
        Ok(())
    }
}
