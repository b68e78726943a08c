//! The security groups on the interface endpoint's ENIs: the user's, or one plink creates that
//! allows TCP 443 from the subnets' CIDRs (where the NLB's traffic and health checks come from;
//! seed 001 step 1, SRA note "or the target group will report unhealthy"). Group names are unique
//! per VPC: `plink-<deployment>-endpoint` is the natural key (no client token exists).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::preflight::{
    AWS_CREDENTIALS, Finding, PLACEHOLDER_SECURITY_GROUP, PLACEHOLDER_VPC, ec2_permission,
};
use super::{Change, Cx, Deleted, Env, Found, Res, Resource, Teardown, TeardownAction, errors};
use crate::aws::{CreateSecurityGroup, ErrorKind, SecurityGroup as AwsGroup, TagQuery, Tags};
use crate::engine::{Poll, StepError};
use crate::state::Intent;

/// The endpoint's security groups: plink's own (`None`), or the user's (never modified).
pub struct SecurityGroup {
    /// The name of plink's group, `plink-<deployment>-endpoint`.
    pub name: String,
    pub existing: Option<Vec<String>>,
    /// How long `down` waits for the endpoint's ENIs to release the group.
    pub release_timeout: std::time::Duration,
}

/// What upstream decides: the VPC and the CIDRs to allow in on 443.
pub struct SecurityGroupInputs {
    pub vpc_id: String,
    pub cidrs: Vec<String>,
}

/// The groups as found.
pub enum Groups {
    /// plink's group.
    Managed(AwsGroup),
    /// The user's groups (`endpoint.security_group_ids`).
    Users(Vec<String>),
}

/// What the state keeps: the groups on the endpoint's ENIs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityGroupRecord {
    pub security_group_ids: Vec<String>,
    /// True when plink created the group (and so deletes it on `down`); absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by_plink: Option<bool>,
}

impl SecurityGroup {
    /// The user's groups must exist in the deployment's VPC.
    async fn check_existing(&self, cx: &Cx<'_>, ids: &[String], vpc: &str) -> Res<()> {
        for id in ids {
            let found = cx
                .env
                .aws
                .describe_security_group(id)
                .await
                .map_err(|e| errors::aws("reading a security group", e))?;
            match found {
                Some(sg) if sg.vpc_id.as_deref() == Some(vpc) => {}
                Some(sg) => {
                    return Err(StepError::needs_user(
                        format!(
                            "security group {id} belongs to {}, not to {vpc}",
                            sg.vpc_id.unwrap_or_default(),
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
}

impl SecurityGroup {
    /// Whether the groups are plink's (deleted on `down`) or the user's (left alone), and their
    /// ids: recorded, or plink's found by name and tags (a create whose answer was lost).
    async fn doomed(
        &self,
        cx: &Cx<'_>,
        inputs: Option<&SecurityGroupInputs>,
    ) -> Res<(bool, Vec<String>)> {
        let aws = &cx.env.aws;
        let rec: SecurityGroupRecord = cx.recorded();
        if rec.created_by_plink == Some(false) || self.existing.is_some() {
            return Ok((false, rec.security_group_ids));
        }
        let mut ids = rec.security_group_ids.clone();
        if ids.is_empty()
            && let Some(inputs) = inputs
            && let Some(g) = aws
                .find_security_group(&inputs.vpc_id, &self.name)
                .await
                .map_err(|e| errors::aws("looking up the security group", e))?
            && cx.is_ours(&g.tags)
        {
            // Not recorded (a create whose answer was lost): plink's name, plink's tags.
            ids.push(g.id);
        }
        Ok((true, ids))
    }
}

#[async_trait]
impl Resource for SecurityGroup {
    type Inputs = SecurityGroupInputs;
    type Live = Groups;
    type Record = SecurityGroupRecord;
    type Fix = Vec<String>;

    const NOUN: &'static str = "security group";

    fn describe(&self) -> String {
        "security group of the endpoint (TCP 443 from the NLB subnets)".into()
    }

    fn label(&self, live: &Self::Live) -> String {
        match live {
            Groups::Managed(g) => g.id.clone(),
            Groups::Users(ids) => ids.join(", "),
        }
    }

    fn summary(&self, live: &Self::Live) -> String {
        match live {
            Groups::Managed(g) => format!(
                "security group {} allows TCP 443 from the NLB subnets",
                g.id
            ),
            Groups::Users(ids) => format!("your security group(s) {}", ids.join(", ")),
        }
    }

    fn found_by(&self) -> &'static str {
        match self.existing {
            Some(_) => "(yours: plink never changes them)",
            None => "found by name",
        }
    }

    /// Whether the credentials may create plink's group (EC2 `DryRun`), unless the file names
    /// its own groups or plink's exists.
    async fn preflight(&self, cx: &Cx<'_>, inputs: Option<&Self::Inputs>) -> Vec<Finding> {
        if cx.has_record() {
            return Vec::new();
        }
        if let Some(ids) = &self.existing {
            // The VPC is known once `network` resolved it (this run's preflight, or a record).
            let Some(inputs) = inputs else {
                return Vec::new();
            };
            let result = self.check_existing(cx, ids, &inputs.vpc_id).await;
            return Finding::of(
                "endpoint.security_group_ids",
                "the security groups",
                &result,
            );
        }
        let vpc = inputs.map_or(PLACEHOLDER_VPC, |i| i.vpc_id.as_str());
        let aws = &cx.env.aws;
        let create = aws.dry_run_create_security_group(vpc, &cx.tags()).await;
        // The group plink makes is then opened to the NLB subnets.
        let open = aws
            .dry_run_authorize_https(PLACEHOLDER_SECURITY_GROUP)
            .await;
        [
            ec2_permission(AWS_CREDENTIALS, "CreateSecurityGroup", create),
            ec2_permission(AWS_CREDENTIALS, "AuthorizeSecurityGroupIngress", open),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    async fn find(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Found<Self::Live>> {
        let rec: SecurityGroupRecord = cx.recorded();
        if let Some(ids) = &self.existing {
            self.check_existing(cx, ids, &inputs.vpc_id).await?;
            let recorded = &rec.security_group_ids == ids;
            return Ok(Found::of(Groups::Users(ids.clone()), recorded));
        }
        let aws = &cx.env.aws;
        let mut gone = None;
        if rec.created_by_plink == Some(true)
            && let Some(id) = rec.security_group_ids.first()
        {
            match aws
                .describe_security_group(id)
                .await
                .map_err(|e| errors::aws("reading the security group", e))?
            {
                Some(g) => return Ok(Found::Recorded(Groups::Managed(g))),
                None => gone = Some(id.clone()),
            }
        }
        let by_name = aws
            .find_security_group(&inputs.vpc_id, &self.name)
            .await
            .map_err(|e| errors::aws("finding the security group", e))?;
        Ok(Found::by_key(by_name.map(Groups::Managed), gone))
    }

    fn create_detail(&self, inputs: &Self::Inputs) -> String {
        format!(
            "security group {} allowing TCP 443 from {}",
            self.name,
            inputs.cidrs.join(", ")
        )
    }

    async fn create(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Option<Self::Live>> {
        let name = self.name.clone();
        cx.begin(
            Intent::new("create_security_group")
                .key("vpc_id", &inputs.vpc_id)
                .key("name", &name),
        )?;
        let group = cx
            .env
            .aws
            .create_security_group(&CreateSecurityGroup {
                vpc_id: inputs.vpc_id.clone(),
                name: name.clone(),
                description: format!(
                    "plink {}: TCP 443 from the NLB subnets to the S3 endpoint",
                    cx.env.deployment
                ),
                ingress_cidrs: inputs.cidrs.clone(),
                tags: cx.tags().with_name(&name),
            })
            .await
            .map_err(|e| {
                // The name is taken: most likely our own create, committed but its answer lost
                // (the SDK's retry then hits the duplicate). Find it by name again.
                if e.has_code("InvalidGroup.Duplicate") {
                    StepError::retryable(format!(
                        "security group {name} already exists; adopting it: {e}"
                    ))
                } else {
                    errors::aws("creating the security group", e)
                }
            })?;
        Ok(Some(Groups::Managed(group)))
    }

    /// Drift: every subnet CIDR must be allowed in on 443.
    async fn compare(
        &self,
        _: &Cx<'_>,
        inputs: &Self::Inputs,
        live: &Self::Live,
    ) -> Result<Vec<Change<Self::Fix>>, StepError> {
        let Groups::Managed(group) = live else {
            return Ok(Vec::new());
        };
        let missing: Vec<String> = inputs
            .cidrs
            .iter()
            .filter(|c| !group.https_ingress_cidrs.contains(c))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![Change::new(
            format!(
                "does not allow TCP 443 from {}: up adds the rule(s)",
                missing.join(", ")
            ),
            format!("allowing TCP 443 from {}", missing.join(", ")),
            missing,
        )])
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        _: &Self::Inputs,
        live: &Self::Live,
        missing: &Self::Fix,
    ) -> Res<()> {
        let Groups::Managed(group) = live else {
            return Ok(());
        };
        cx.begin(
            Intent::new("allow_https_from")
                .key("security_group_id", &group.id)
                .key("cidrs", missing.join(",")),
        )?;
        cx.env
            .aws
            .allow_https_from(&group.id, missing)
            .await
            .map_err(|e| errors::aws("adding ingress rules", e))
    }

    async fn refresh(&self, cx: &Cx<'_>, live: &Self::Live) -> Res<Option<Self::Live>> {
        let Groups::Managed(group) = live else {
            return Ok(None);
        };
        Ok(cx
            .env
            .aws
            .describe_security_group(&group.id)
            .await
            .map_err(|e| errors::aws("reading the security group", e))?
            .map(Groups::Managed))
    }

    async fn record(&self, _: &Cx<'_>, _: &Self::Inputs, live: &Self::Live) -> Res<Self::Record> {
        Ok(match live {
            Groups::Managed(g) => SecurityGroupRecord {
                security_group_ids: vec![g.id.clone()],
                created_by_plink: Some(true),
            },
            Groups::Users(ids) => SecurityGroupRecord {
                security_group_ids: ids.clone(),
                created_by_plink: Some(false),
            },
        })
    }

    /// The groups `down` would delete (plink's, still there), or release (the user's).
    async fn teardown_plan(
        &self,
        cx: &Cx<'_>,
        inputs: Option<&Self::Inputs>,
    ) -> Res<Vec<Teardown>> {
        let (mine, ids) = self.doomed(cx, inputs).await?;
        let mut out = Vec::new();
        for id in ids {
            let live = cx
                .env
                .aws
                .describe_security_group(&id)
                .await
                .map_err(|e| errors::aws("reading the security group", e))?;
            if live.is_some() {
                let (action, whose) = if mine {
                    (TeardownAction::Delete, "plink's")
                } else {
                    (
                        TeardownAction::Release,
                        "yours (endpoint.security_group_ids)",
                    )
                };
                out.push(Teardown::new(
                    action,
                    id.clone(),
                    format!("security group {id}, {whose}"),
                ));
            }
        }
        Ok(out)
    }

    /// Only the group plink created is deleted, never one the user named; it is deleted as soon
    /// as the endpoint's ENIs release it (some time after the endpoint is gone).
    async fn teardown(&self, cx: &Cx<'_>, inputs: Option<&Self::Inputs>) -> Res<()> {
        let aws = &cx.env.aws;
        let (mine, ids) = self.doomed(cx, inputs).await?;
        if !mine {
            if !ids.is_empty() {
                cx.note(format!(
                    "leaving your security group(s) {} alone (endpoint.security_group_ids)",
                    ids.join(", ")
                ));
            }
            return Ok(());
        }
        let mut out = Deleted::default();
        for id in ids {
            if aws
                .describe_security_group(&id)
                .await
                .map_err(|e| errors::aws("reading the security group", e))?
                .is_none()
            {
                continue;
            }
            cx.begin(Intent::new("delete_security_group").key("security_group_id", &id))?;
            let policy = cx.env.wait(5, 15, self.release_timeout);
            cx.step
                .wait_for(
                    &format!("security group {id} to be free"),
                    &policy,
                    || async {
                        match aws.delete_security_group(&id).await {
                            Ok(()) => Ok(Poll::Ready(())),
                            Err(e) if e.kind == ErrorKind::Conflict => {
                                Ok(Poll::Pending(format!("still in use: {}", e.message)))
                            }
                            Err(e) => Err(errors::aws("deleting the security group", e)),
                        }
                    },
                )
                .await?;
            out.deleted.push(id);
            cx.step.record(&out)?;
        }
        Ok(())
    }

    async fn inventory(&self, env: &Env) -> Res<Vec<(String, Tags)>> {
        Ok(env
            .aws
            .find_security_groups(&TagQuery::any_deployment())
            .await
            .map_err(|e| errors::aws("listing tagged security groups", e))?
            .into_iter()
            .map(|g| (g.id, g.tags))
            .collect())
    }
}
