//! `down_security_group`: delete the endpoint's security group — only the one plink created,
//! never one the user named in `endpoint.security_group_ids`.

use async_trait::async_trait;

use super::outputs::Deleted;
use super::{Down, records};
use crate::aws::ErrorKind;
use crate::config::SecurityGroups;
use crate::engine::{Poll, Step, StepContext, StepError, StepId};
use crate::state::Intent;
use crate::steps::errors;

pub struct DownSecurityGroup(pub Down);

#[async_trait]
impl Step for DownSecurityGroup {
    fn id(&self) -> StepId {
        "down_security_group"
    }

    fn depends_on(&self) -> Vec<StepId> {
        // The endpoint's ENIs use the group until the endpoint is gone.
        vec!["down_endpoint"]
    }

    fn describe(&self) -> String {
        "delete the security group plink created".into()
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let d = &self.0;
        let aws = &d.env.aws;
        let rec: records::SecurityGroup = records::of(cx, "security_group");
        let users = matches!(
            d.env.workflow.endpoint.security_groups,
            SecurityGroups::Existing(_)
        );
        if rec.created_by_plink == Some(false) || users {
            if !rec.security_group_ids.is_empty() {
                cx.note(format!(
                    "leaving your security group(s) {} alone (endpoint.security_group_ids)",
                    rec.security_group_ids.join(", ")
                ));
            }
            return Ok(());
        }
        let mut ids = rec.security_group_ids.clone();
        if ids.is_empty() {
            // Not recorded (a create whose answer was lost): the group plink names in the VPC,
            // if it carries plink's tags for this deployment.
            let network: records::Network = records::of(cx, "network");
            if let Some(vpc) = &network.vpc_id {
                let name = format!("plink-{}-endpoint", d.deployment());
                if let Some(g) = aws
                    .find_security_group(vpc, &name)
                    .await
                    .map_err(|e| errors::aws("looking up the security group", e))?
                    && d.is_ours(&g.tags, "security_group")
                {
                    ids.push(g.id);
                }
            }
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
            // The endpoint's ENIs release the group some time after the endpoint is gone.
            let policy = d.env.wait(5, 15, d.env.workflow.timeouts.endpoint);
            cx.wait_for(
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
            cx.record(&out)?;
        }
        Ok(())
    }
}
