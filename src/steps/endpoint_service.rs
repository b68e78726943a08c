//! `endpoint_service`: the VPC endpoint service on the NLB, acceptance required, until
//! `Available`; its only allowed principal is the Databricks role of the region and partition
//! (reference §8.2). Never `*`: a wildcard found on plink's service is removed.

use async_trait::async_trait;

use super::outputs::{EndpointServiceOut, LoadBalancerOut};
use super::{Env, errors};
use crate::aws::{CreateEndpointService, EndpointService, PlinkTags, TagQuery};
use crate::engine::{Poll, Step, StepContext, StepError, StepId};
use crate::state::Intent;

pub struct EndpointServiceStep(pub Env);

const DEAD: &[&str] = &["Deleting", "Deleted", "Failed"];

#[async_trait]
impl Step for EndpointServiceStep {
    fn id(&self) -> StepId {
        "endpoint_service"
    }

    fn depends_on(&self) -> Vec<StepId> {
        // The listener first: a service offered before traffic can flow would be accepted into
        // a dead end.
        vec!["load_balancer", "listener"]
    }

    fn describe(&self) -> String {
        "VPC endpoint service (acceptance required, Databricks principal only)".into()
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let env = &self.0;
        let lb: LoadBalancerOut = cx.output("load_balancer")?;
        let principal = &env.workflow.databricks.principal_arn;
        let service = match self.find(cx, &lb).await? {
            Some(s) => s,
            None => {
                let token = cx.token("create_vpc_endpoint_service");
                cx.begin(
                    Intent::new("create_vpc_endpoint_service")
                        .token(&token)
                        .key("load_balancer_arn", &lb.load_balancer_arn),
                )?;
                env.aws
                    .create_endpoint_service(&CreateEndpointService {
                        nlb_arns: vec![lb.load_balancer_arn.clone()],
                        client_token: token,
                        tags: PlinkTags::new(env.workflow.deployment.as_str(), "endpoint_service")
                            .with_name(format!("plink-{}", env.workflow.deployment.as_str())),
                    })
                    .await
                    .map_err(|e| errors::aws("creating the endpoint service", e))?
            }
        };
        if !service.acceptance_required {
            return Err(StepError::needs_user(
                format!(
                    "endpoint service {} does not require acceptance",
                    service.id
                ),
                "plink accepts connections itself and needs acceptance required: turn it on for this service",
            ));
        }
        cx.record(&serde_json::json!({ "service_id": service.id, "service_name": service.name }))?;

        if service.state != "Available" {
            let policy = env.wait(5, 15, env.workflow.timeouts.endpoint_service);
            cx.wait_for("the endpoint service to be Available", &policy, || async {
                let s = env
                    .aws
                    .describe_endpoint_service(&service.id)
                    .await
                    .map_err(|e| errors::aws("reading the endpoint service", e))?
                    .ok_or_else(|| {
                        StepError::retryable(format!(
                            "endpoint service {} not visible yet",
                            service.id
                        ))
                    })?;
                match s.state.as_str() {
                    "Available" => Ok(Poll::Ready(())),
                    state if DEAD.contains(&state) => Err(StepError::terminal(format!(
                        "endpoint service {} is {state}",
                        s.id
                    ))),
                    state => Ok(Poll::Pending(format!("state={state}"))),
                }
            })
            .await?;
        }

        let allowed = env
            .aws
            .allowed_principals(&service.id)
            .await
            .map_err(|e| errors::aws("reading allowed principals", e))?;
        if allowed.iter().any(|p| p.principal == "*") {
            cx.note("removing the wildcard principal `*` from plink's endpoint service");
            cx.begin(
                Intent::new("remove_principal")
                    .key("service_id", &service.id)
                    .key("principal", "*"),
            )?;
            env.aws
                .remove_principal(&service.id, "*")
                .await
                .map_err(|e| errors::aws("removing the wildcard principal", e))?;
        }
        if !allowed.iter().any(|p| &p.principal == principal) {
            cx.begin(
                Intent::new("allow_principal")
                    .key("service_id", &service.id)
                    .key("principal", principal),
            )?;
            env.aws
                .allow_principal(&service.id, principal)
                .await
                .map_err(|e| errors::aws("allowing the Databricks principal", e))?;
        }
        cx.record(&EndpointServiceOut {
            service_id: service.id.clone(),
            service_name: service.name.clone(),
            allowed_principal: principal.clone(),
        })
    }
}

impl EndpointServiceStep {
    /// Recorded id, else the service on our NLB, else one tagged for this deployment.
    async fn find(
        &self,
        cx: &StepContext,
        lb: &LoadBalancerOut,
    ) -> Result<Option<EndpointService>, StepError> {
        let env = &self.0;
        let live = |s: &EndpointService| !DEAD.contains(&s.state.as_str());
        if let Some(id) = cx
            .recorded_raw()
            .get("service_id")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
        {
            match env
                .aws
                .describe_endpoint_service(&id)
                .await
                .map_err(|e| errors::aws("reading the endpoint service", e))?
            {
                Some(s) if live(&s) => return Ok(Some(s)),
                _ => {
                    cx.note(format!(
                        "recorded endpoint service {id} is gone; creating a new one"
                    ));
                    cx.forget(&["service_id", "service_name", "allowed_principal"])?;
                }
            }
        }
        if let Some(s) = env
            .aws
            .find_endpoint_service_by_nlb(&lb.load_balancer_arn)
            .await
            .map_err(|e| errors::aws("looking up the endpoint service of the NLB", e))?
            .filter(live)
        {
            return Ok(Some(s));
        }
        let query = TagQuery {
            deployment: Some(env.workflow.deployment.as_str().to_owned()),
            step: Some("endpoint_service".into()),
        };
        let found = env
            .aws
            .find_endpoint_services(&query)
            .await
            .map_err(|e| errors::aws("looking up tagged endpoint services", e))?;
        Ok(found
            .into_iter()
            .filter(live)
            .find(|s| s.nlb_arns.contains(&lb.load_balancer_arn)))
    }
}
