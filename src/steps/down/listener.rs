//! `down_listener`: delete plink's listener on the NLB (after the endpoint service, so no
//! accepted connection is cut off while it is still offered).

use async_trait::async_trait;

use super::outputs::Deleted;
use super::{Down, load_balancer, records};
use crate::engine::{Step, StepContext, StepError, StepId};
use crate::state::Intent;
use crate::steps::errors;

pub struct DownListener(pub Down);

#[async_trait]
impl Step for DownListener {
    fn id(&self) -> StepId {
        "down_listener"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec!["down_endpoint_service"]
    }

    fn describe(&self) -> String {
        "delete the listener".into()
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let d = &self.0;
        let aws = &d.env.aws;
        // Listeners live and die with their NLB.
        let Some(lb) = load_balancer::find(d, cx).await? else {
            return Ok(());
        };
        let listeners = aws
            .listeners(&lb.arn)
            .await
            .map_err(|e| errors::aws("listing the NLB's listeners", e))?;
        if listeners.is_empty() {
            return Ok(());
        }
        let rec: records::Listener = records::of(cx, "listener");
        let arns: Vec<String> = listeners.iter().map(|l| l.arn.clone()).collect();
        let tagged = aws
            .elb_arns_matching(&arns, &d.tagged("listener"))
            .await
            .map_err(|e| errors::aws("reading the listeners' tags", e))?;
        let ours: Vec<String> = arns
            .into_iter()
            .filter(|a| {
                tagged.contains(a)
                    || (d.opts.delete_adopted && rec.listener_arn.as_deref() == Some(a.as_str()))
            })
            .collect();
        let mut out = Deleted::default();
        for arn in ours {
            cx.begin(Intent::new("delete_listener").key("listener_arn", &arn))?;
            aws.delete_listener(&arn)
                .await
                .map_err(|e| errors::aws("deleting the listener", e))?;
            out.deleted.push(arn);
            cx.record(&out)?;
        }
        Ok(())
    }
}
