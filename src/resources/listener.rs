//! A TCP listener on the NLB forwarding to the target group. Found by (NLB, port): an NLB has at
//! most one listener per port. Listeners live and die with their NLB.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::load_balancer::{elb_inventory, elb_ownership};
use super::{Cx, Env, Found, Ownership, Res, Resource, errors};
use crate::aws::{CreateListener, Listener as AwsListener, TagQuery, Tags};
use crate::engine::StepError;
use crate::state::Intent;

/// The listener the workflow wants.
pub struct Listener {
    pub port: i32,
}

/// What upstream decides: the NLB and the target group.
pub struct ListenerInputs {
    pub load_balancer_arn: String,
    pub load_balancer_name: String,
    pub target_group_arn: String,
    pub target_group_name: String,
}

/// What the state keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListenerRecord {
    pub listener_arn: String,
}

#[async_trait]
impl Resource for Listener {
    type Inputs = ListenerInputs;
    type Live = AwsListener;
    type Record = ListenerRecord;
    type Fix = ();

    const NOUN: &'static str = "listener";
    const FOUND_BY: &'static str = "found on the NLB";

    fn describe(&self) -> String {
        format!("listener TCP:{} → target group", self.port)
    }

    fn label(&self, live: &Self::Live) -> String {
        live.arn.clone()
    }

    fn summary(&self, _: &Self::Live) -> String {
        format!("listener TCP:{} forwards to the target group", self.port)
    }

    /// The NLB's listener on the port (recorded or not); one forwarding elsewhere needs the user.
    async fn find(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Found<Self::Live>> {
        let rec: ListenerRecord = cx.recorded();
        let recorded = Some(rec.listener_arn).filter(|a| !a.is_empty());
        if cx.on_made_now(&inputs.load_balancer_arn) {
            return Ok(Found::Missing { gone: recorded });
        }
        let existing = cx
            .env
            .aws
            .find_listener(&inputs.load_balancer_arn, self.port)
            .await
            .map_err(|e| errors::aws("looking up the listener", e))?;
        match existing {
            Some(l) if !l.target_group_arns.contains(&inputs.target_group_arn) => {
                Err(StepError::needs_user(
                    format!(
                        "the NLB's listener on port {} ({}) forwards to {:?}, not to {}",
                        self.port, l.arn, l.target_group_arns, inputs.target_group_name
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

    fn create_detail(&self, inputs: &Self::Inputs) -> String {
        format!(
            "listener TCP:{} on NLB {} forwarding to {}",
            self.port, inputs.load_balancer_name, inputs.target_group_name
        )
    }

    async fn create(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Option<Self::Live>> {
        cx.begin(
            Intent::new("create_listener")
                .key("load_balancer_arn", &inputs.load_balancer_arn)
                .key("port", self.port.to_string()),
        )?;
        cx.env
            .aws
            .create_tcp_listener(&CreateListener {
                load_balancer_arn: inputs.load_balancer_arn.clone(),
                port: self.port,
                target_group_arn: inputs.target_group_arn.clone(),
                tags: cx.tags(),
            })
            .await
            .map(Some)
            .map_err(|e| errors::aws("creating the listener", e))
    }

    async fn record(&self, _: &Cx<'_>, _: &Self::Inputs, l: &Self::Live) -> Res<Self::Record> {
        Ok(ListenerRecord {
            listener_arn: l.arn.clone(),
        })
    }

    /// The NLB's listeners that carry plink's tags, and the recorded one (deleted only with
    /// `--delete-adopted` when it carries none).
    async fn locate(&self, cx: &Cx<'_>, inputs: Option<&Self::Inputs>) -> Res<Vec<Self::Live>> {
        let Some(inputs) = inputs else {
            return Ok(Vec::new());
        };
        let aws = &cx.env.aws;
        let listeners = match aws.listeners(&inputs.load_balancer_arn).await {
            Ok(l) => l,
            Err(e) if e.is_not_found() => return Ok(Vec::new()),
            Err(e) => return Err(errors::aws("listing the NLB's listeners", e)),
        };
        if listeners.is_empty() {
            return Ok(Vec::new());
        }
        let rec: ListenerRecord = cx.recorded();
        let arns: Vec<String> = listeners.iter().map(|l| l.arn.clone()).collect();
        let tagged = aws
            .elb_arns_matching(&arns, &cx.tagged())
            .await
            .map_err(|e| errors::aws("reading the listeners' tags", e))?;
        Ok(listeners
            .into_iter()
            .filter(|l| tagged.contains(&l.arn) || rec.listener_arn == l.arn)
            .collect())
    }

    async fn ownership(&self, cx: &Cx<'_>, l: &Self::Live) -> Res<Ownership> {
        elb_ownership(cx, &l.arn, "reading the listener's tags").await
    }

    async fn delete(&self, cx: &Cx<'_>, l: &Self::Live) -> Res<()> {
        cx.begin(Intent::new("delete_listener").key("listener_arn", &l.arn))?;
        cx.env
            .aws
            .delete_listener(&l.arn)
            .await
            .map_err(|e| errors::aws("deleting the listener", e))
    }

    async fn inventory(&self, env: &Env) -> Res<Vec<(String, Tags)>> {
        let any = TagQuery::any_deployment();
        let lbs = env
            .aws
            .find_load_balancers(&any)
            .await
            .map_err(|e| errors::aws("listing tagged load balancers", e))?;
        let mut arns = Vec::new();
        for lb in &lbs {
            arns.extend(
                env.aws
                    .listeners(&lb.arn)
                    .await
                    .map_err(|e| errors::aws("listing listeners", e))?
                    .into_iter()
                    .map(|l| l.arn),
            );
        }
        elb_inventory(env, arns).await
    }
}
