//! `listener`: TCP:443 on the NLB, forwarding to the target group. Found by (NLB, port).

use async_trait::async_trait;

use super::found::{Found, gone_prefix};
use super::outputs::{ListenerOut, LoadBalancerOut, TargetGroupOut};
use super::target_group::PORT;
use super::{Env, errors};
use crate::aws::{CreateListener, Listener, PlinkTags};
use crate::engine::{Planned, Step, StepContext, StepError, StepId};
use crate::state::Intent;

pub struct ListenerStep(pub Env);

#[async_trait]
impl Step for ListenerStep {
    fn id(&self) -> StepId {
        "listener"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec!["load_balancer", "target_group"]
    }

    fn describe(&self) -> String {
        "listener TCP:443 → target group".into()
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let env = &self.0;
        let lb: LoadBalancerOut = cx.output("load_balancer")?;
        let tg: TargetGroupOut = cx.output("target_group")?;
        let found = self.find(cx, &lb, &tg).await?;
        if let Some(gone) = found.gone() {
            cx.note(format!("recorded listener {gone} is gone; recreating it"));
        }
        let listener = match found.into_resource() {
            Some(l) => l,
            None => {
                cx.begin(
                    Intent::new("create_listener")
                        .key("load_balancer_arn", &lb.load_balancer_arn)
                        .key("port", PORT.to_string()),
                )?;
                env.aws
                    .create_tcp_listener(&CreateListener {
                        load_balancer_arn: lb.load_balancer_arn.clone(),
                        port: PORT,
                        target_group_arn: tg.target_group_arn.clone(),
                        tags: PlinkTags::new(env.workflow.deployment.as_str(), "listener"),
                    })
                    .await
                    .map_err(|e| errors::aws("creating the listener", e))?
            }
        };
        cx.record(&ListenerOut {
            listener_arn: listener.arn,
        })
    }

    async fn plan(&self, cx: &StepContext) -> Result<Planned, StepError> {
        let lb: LoadBalancerOut = cx.output("load_balancer")?;
        let tg: TargetGroupOut = cx.output("target_group")?;
        let planned = match self.find(cx, &lb, &tg).await? {
            Found::Missing { gone } => {
                return Ok(Planned::create(format!(
                    "{}listener TCP:{PORT} on NLB {} forwarding to {}",
                    gone_prefix("listener", gone.as_deref()),
                    lb.name,
                    tg.name
                )));
            }
            Found::Unrecorded { resource, .. } => {
                Planned::adopt(format!("listener {} found on the NLB", resource.arn)).with_outputs(
                    &ListenerOut {
                        listener_arn: resource.arn,
                    },
                )
            }
            Found::Recorded(l) => {
                Planned::no_change(format!("listener TCP:{PORT} forwards to {}", tg.name))
                    .with_outputs(&ListenerOut {
                        listener_arn: l.arn,
                    })
            }
        };
        Ok(planned)
    }
}

impl ListenerStep {
    /// The NLB's listener on 443 (recorded or not); one forwarding elsewhere needs the user.
    async fn find(
        &self,
        cx: &StepContext,
        lb: &LoadBalancerOut,
        tg: &TargetGroupOut,
    ) -> Result<Found<Listener>, StepError> {
        let recorded = cx.recorded::<ListenerOut>().map(|l| l.listener_arn);
        let existing = self
            .0
            .aws
            .find_listener(&lb.load_balancer_arn, PORT)
            .await
            .map_err(|e| errors::aws("looking up the listener", e))?;
        match existing {
            Some(l) if !l.target_group_arns.contains(&tg.target_group_arn) => {
                Err(StepError::needs_user(
                    format!(
                        "the NLB's listener on port {PORT} ({}) forwards to {:?}, not to {}",
                        l.arn, l.target_group_arns, tg.name
                    ),
                    "the NLB is plink's: delete that listener, or point nlb.name at another load balancer",
                ))
            }
            Some(l) if recorded.as_deref() == Some(l.arn.as_str()) => Ok(Found::Recorded(l)),
            found => {
                // A recorded listener that is not the live one (or none) is gone.
                let gone = recorded.filter(|r| found.as_ref().is_none_or(|l| &l.arn != r));
                Ok(Found::by_key(found, gone))
            }
        }
    }
}
