//! `down_target_group`: delete plink's target group (once no listener forwards to it).

use async_trait::async_trait;

use super::outputs::Deleted;
use super::{Down, records};
use crate::aws::{ErrorKind, TargetGroup};
use crate::engine::{Step, StepContext, StepError, StepId};
use crate::state::Intent;
use crate::steps::errors;

pub struct DownTargetGroup(pub Down);

#[async_trait]
impl Step for DownTargetGroup {
    fn id(&self) -> StepId {
        "down_target_group"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec!["down_listener"]
    }

    fn describe(&self) -> String {
        format!(
            "delete the target group {}",
            self.0.env.workflow.nlb.target_group_name
        )
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let d = &self.0;
        let aws = &d.env.aws;
        let Some(tg) = self.locate(cx).await? else {
            return Ok(());
        };
        cx.begin(
            Intent::new("delete_target_group")
                .key("target_group_arn", &tg.arn)
                .key("name", &tg.name),
        )?;
        match aws.delete_target_group(&tg.arn).await {
            Ok(()) => {}
            // A listener still forwards to it (ResourceInUse): it is going away with the NLB.
            Err(e) if e.kind == ErrorKind::Conflict => {
                return Err(StepError::retryable(format!(
                    "deleting the target group: {}",
                    e.summary()
                )));
            }
            Err(e) => return Err(errors::aws("deleting the target group", e)),
        }
        cx.record(&Deleted {
            deleted: vec![tg.arn],
        })
    }
}

impl DownTargetGroup {
    /// The recorded target group, else the one named `nlb.target_group_name` if it carries
    /// plink's tags for this deployment.
    async fn locate(&self, cx: &StepContext) -> Result<Option<TargetGroup>, StepError> {
        let d = &self.0;
        let aws = &d.env.aws;
        let rec: records::TargetGroup = records::of(cx, "target_group");
        let recorded = match &rec.target_group_arn {
            Some(arn) => aws
                .describe_target_group(arn)
                .await
                .map_err(|e| errors::aws("reading the target group", e))?,
            None => None,
        };
        let found = match recorded {
            Some(tg) => Some(tg),
            None => aws
                .find_target_group(&d.env.workflow.nlb.target_group_name)
                .await
                .map_err(|e| errors::aws("looking up the target group by name", e))?,
        };
        let Some(tg) = found else { return Ok(None) };
        let tags = aws
            .elb_tags(std::slice::from_ref(&tg.arn))
            .await
            .map_err(|e| errors::aws("reading the target group's tags", e))?;
        let owned = d.owns(
            cx,
            &tags.get(&tg.arn).cloned().unwrap_or_default(),
            "target_group",
            &format!("target group {}", tg.name),
        );
        Ok(owned.then_some(tg))
    }
}
