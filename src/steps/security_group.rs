//! `security_group`: the groups on the endpoint's ENIs — the user's, or one plink creates that
//! allows TCP 443 from the subnets' CIDRs (where the NLB's traffic and health checks come from;
//! seed 001 step 1, SRA note "or the target group will report unhealthy").

use async_trait::async_trait;

use super::found::{Found, gone_prefix};
use super::outputs::{NetworkOut, SecurityGroupOut};
use super::{Env, errors};
use crate::aws::{CreateSecurityGroup, PlinkTags, SecurityGroup};
use crate::config::SecurityGroups;
use crate::engine::{Planned, Step, StepContext, StepError, StepId};
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
            self.check_existing(ids, &network).await?;
            return cx.record(&existing_out(ids));
        }
        let name = self.name();
        let cidrs = subnet_cidrs(&network);
        let group = match self.find(cx, &network).await?.into_resource() {
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
        cx.record(&managed_out(&group))?;
        // Drift repair: every subnet CIDR must be allowed in on 443.
        let missing = missing_cidrs(&group, &cidrs);
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
            cx.record(&managed_out(&group))?;
        }
        Ok(())
    }

    async fn plan(&self, cx: &StepContext) -> Result<Planned, StepError> {
        let env = &self.0;
        let network: NetworkOut = cx.output("network")?;
        if let SecurityGroups::Existing(ids) = &env.workflow.endpoint.security_groups {
            self.check_existing(ids, &network).await?;
            let out = existing_out(ids);
            let what = format!("your security group(s) {}", ids.join(", "));
            let planned = if cx.recorded::<SecurityGroupOut>().as_ref() == Some(&out) {
                Planned::no_change(what)
            } else {
                Planned::adopt(what)
            };
            return Ok(planned.with_outputs(&out));
        }
        let cidrs = subnet_cidrs(&network);
        let found = self.find(cx, &network).await?;
        let group = match &found {
            Found::Missing { gone } => {
                return Ok(Planned::create(format!(
                    "{}security group {} allowing TCP 443 from {}",
                    gone_prefix("security group", gone.as_deref()),
                    self.name(),
                    cidrs.join(", ")
                )));
            }
            Found::Recorded(g) | Found::Unrecorded { resource: g, .. } => g,
        };
        let missing = missing_cidrs(group, &cidrs);
        let planned = match (&found, missing.is_empty()) {
            (_, false) => Planned::update(format!(
                "security group {} does not allow TCP 443 from {}: up adds the rule(s)",
                group.id,
                missing.join(", ")
            )),
            (Found::Unrecorded { gone, .. }, true) => Planned::adopt(format!(
                "{}security group {} ({}) found by name",
                gone_prefix("security group", gone.as_deref()),
                group.id,
                group.name
            )),
            _ => Planned::no_change(format!(
                "security group {} allows TCP 443 from {}",
                group.id,
                cidrs.join(", ")
            )),
        };
        Ok(planned.with_outputs(&managed_out(group)))
    }
}

impl SecurityGroupStep {
    /// The name of the group plink manages (unique in the VPC: its natural key).
    fn name(&self) -> String {
        format!("plink-{}-endpoint", self.0.workflow.deployment.as_str())
    }

    /// The user's groups must exist in the deployment's VPC.
    async fn check_existing(&self, ids: &[String], network: &NetworkOut) -> Result<(), StepError> {
        for id in ids {
            let found = self
                .0
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
        Ok(())
    }

    /// plink's group: the recorded id, else by name in the VPC.
    async fn find(
        &self,
        cx: &StepContext,
        network: &NetworkOut,
    ) -> Result<Found<SecurityGroup>, StepError> {
        let env = &self.0;
        let recorded = cx
            .recorded::<SecurityGroupOut>()
            .filter(|r| r.created_by_plink)
            .and_then(|r| r.security_group_ids.into_iter().next());
        let mut gone = None;
        if let Some(id) = recorded {
            match env
                .aws
                .describe_security_group(&id)
                .await
                .map_err(|e| errors::aws("reading the security group", e))?
            {
                Some(g) => return Ok(Found::Recorded(g)),
                None => gone = Some(id),
            }
        }
        let by_name = env
            .aws
            .find_security_group(&network.vpc_id, &self.name())
            .await
            .map_err(|e| errors::aws("finding the security group", e))?;
        Ok(Found::by_key(by_name, gone))
    }
}

fn subnet_cidrs(network: &NetworkOut) -> Vec<String> {
    network.subnets.iter().map(|s| s.cidr.clone()).collect()
}

/// The subnet CIDRs the group does not allow in on 443.
fn missing_cidrs(group: &SecurityGroup, cidrs: &[String]) -> Vec<String> {
    cidrs
        .iter()
        .filter(|c| !group.https_ingress_cidrs.contains(c))
        .cloned()
        .collect()
}

fn existing_out(ids: &[String]) -> SecurityGroupOut {
    SecurityGroupOut {
        security_group_ids: ids.to_vec(),
        created_by_plink: false,
    }
}

fn managed_out(group: &SecurityGroup) -> SecurityGroupOut {
    SecurityGroupOut {
        security_group_ids: vec![group.id.clone()],
        created_by_plink: true,
    }
}
