//! `listener`: TCP:443 on the NLB, forwarding to the target group. Found by (NLB, port).

use async_trait::async_trait;

use super::outputs::{ListenerOut, LoadBalancerOut, TargetGroupOut};
use super::target_group::PORT;
use super::{Env, errors};
use crate::aws::{CreateListener, PlinkTags};
use crate::engine::{Step, StepContext, StepError, StepId};
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
        let existing = env
            .aws
            .find_listener(&lb.load_balancer_arn, PORT)
            .await
            .map_err(|e| errors::aws("looking up the listener", e))?;
        let listener = match existing {
            Some(l) if l.target_group_arns.contains(&tg.target_group_arn) => l,
            Some(l) => {
                return Err(StepError::needs_user(
                    format!(
                        "the NLB's listener on port {PORT} ({}) forwards to {:?}, not to {}",
                        l.arn, l.target_group_arns, tg.name
                    ),
                    "the NLB is plink's: delete that listener, or point nlb.name at another load balancer",
                ));
            }
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
}
