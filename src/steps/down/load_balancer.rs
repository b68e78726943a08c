//! `down_load_balancer`: delete plink's NLB and wait until it is gone.

use async_trait::async_trait;

use super::outputs::Deleted;
use super::{Down, records};
use crate::aws::{ErrorKind, LoadBalancer};
use crate::engine::{Poll, Step, StepContext, StepError, StepId};
use crate::state::Intent;
use crate::steps::errors;

pub struct DownLoadBalancer(pub Down);

/// The deployment's NLB if it still exists, whoever created it: the recorded one, else the one
/// named `nlb.name`.
pub(super) async fn find(d: &Down, cx: &StepContext) -> Result<Option<LoadBalancer>, StepError> {
    let aws = &d.env.aws;
    let rec: records::LoadBalancer = records::of(cx, "load_balancer");
    if let Some(arn) = &rec.load_balancer_arn
        && let Some(lb) = aws
            .describe_load_balancer(arn)
            .await
            .map_err(|e| errors::aws("reading the NLB", e))?
    {
        return Ok(Some(lb));
    }
    aws.find_load_balancer(&d.env.workflow.nlb.name)
        .await
        .map_err(|e| errors::aws("looking up the NLB by name", e))
}

/// The deployment's NLB if it still exists and plink may delete it (see [`Down::owns`]).
pub(super) async fn locate(d: &Down, cx: &StepContext) -> Result<Option<LoadBalancer>, StepError> {
    let Some(lb) = find(d, cx).await? else {
        return Ok(None);
    };
    let tags = d
        .env
        .aws
        .elb_tags(std::slice::from_ref(&lb.arn))
        .await
        .map_err(|e| errors::aws("reading the NLB's tags", e))?;
    let owned = d.owns(
        cx,
        &tags.get(&lb.arn).cloned().unwrap_or_default(),
        "load_balancer",
        &format!("load balancer {}", lb.name),
    );
    Ok(owned.then_some(lb))
}

#[async_trait]
impl Step for DownLoadBalancer {
    fn id(&self) -> StepId {
        "down_load_balancer"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec!["down_listener"]
    }

    fn describe(&self) -> String {
        format!("delete the NLB {}", self.0.env.workflow.nlb.name)
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let d = &self.0;
        let aws = &d.env.aws;
        let Some(lb) = locate(d, cx).await? else {
            return Ok(());
        };
        cx.begin(
            Intent::new("delete_load_balancer")
                .key("load_balancer_arn", &lb.arn)
                .key("name", &lb.name),
        )?;
        match aws.delete_load_balancer(&lb.arn).await {
            Ok(()) => {}
            // The endpoint service is still going away (AWS: ResourceInUse).
            Err(e) if e.kind == ErrorKind::Conflict => {
                return Err(StepError::retryable(format!(
                    "deleting the NLB: {}",
                    e.summary()
                )));
            }
            Err(e) => return Err(errors::aws("deleting the NLB", e)),
        }
        cx.record(&Deleted {
            deleted: vec![lb.arn.clone()],
        })?;
        let policy = d.env.wait(5, 15, d.env.workflow.timeouts.load_balancer);
        cx.wait_for("the NLB to be gone", &policy, || async {
            match aws
                .describe_load_balancer(&lb.arn)
                .await
                .map_err(|e| errors::aws("reading the NLB", e))?
            {
                None => Ok(Poll::Ready(())),
                Some(now) => Ok(Poll::Pending(format!("state={}", now.state))),
            }
        })
        .await
    }
}
