//! `endpoint_service`: the VPC endpoint service on the NLB, acceptance required, until
//! `Available`; its only allowed principal is the Databricks role of the region and partition
//! (reference §8.2). Never `*`: a wildcard found on plink's service is removed.

use async_trait::async_trait;

use super::found::{Found, gone_prefix};
use super::outputs::{EndpointServiceOut, LoadBalancerOut};
use super::{Env, errors};
use crate::aws::{CreateEndpointService, EndpointService, PlinkTags, TagQuery};
use crate::engine::{Planned, Poll, Step, StepContext, StepError, StepId};
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
        let found = self.find(cx, &lb).await?;
        if let Some(gone) = found.gone() {
            cx.note(format!(
                "recorded endpoint service {gone} is gone; creating a new one"
            ));
            cx.forget(&["service_id", "service_name", "allowed_principal"])?;
        }
        let service = match found.into_resource() {
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
        check(&service)?;
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

        let principals = self.principals(&service).await?;
        if principals.wildcard {
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
        if !principals.databricks_allowed {
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
        cx.record(&self.out(&service))
    }

    async fn plan(&self, cx: &StepContext) -> Result<Planned, StepError> {
        let lb: LoadBalancerOut = cx.output("load_balancer")?;
        let principal = &self.0.workflow.databricks.principal_arn;
        let found = self.find(cx, &lb).await?;
        let service = match &found {
            Found::Missing { gone } => {
                return Ok(Planned::create(format!(
                    "{}endpoint service on NLB {} (acceptance required), allowing only {principal}",
                    gone_prefix("endpoint service", gone.as_deref()),
                    lb.name
                )));
            }
            Found::Recorded(s) | Found::Unrecorded { resource: s, .. } => s,
        };
        check(service)?;
        let principals = self.principals(service).await?;
        let mut changes = Vec::new();
        if principals.wildcard {
            changes.push("the wildcard principal `*` is allowed: up removes it".to_owned());
        }
        if !principals.databricks_allowed {
            changes.push(format!("{principal} is not allowed: up allows it"));
        }
        let planned = match &found {
            Found::Unrecorded { gone, .. } => Planned::adopt(format!(
                "{}endpoint service {} found on the NLB{}",
                gone_prefix("endpoint service", gone.as_deref()),
                service.id,
                changes.iter().map(|c| format!("; {c}")).collect::<String>()
            )),
            _ if !changes.is_empty() => Planned::update(format!(
                "endpoint service {}: {}",
                service.id,
                changes.join("; ")
            )),
            _ if service.state != "Available" => Planned::wait(format!(
                "endpoint service {} is {}: up waits until it is Available",
                service.id, service.state
            )),
            _ => Planned::no_change(format!(
                "endpoint service {} allows only the Databricks principal",
                service.id
            )),
        };
        Ok(planned.with_outputs(&self.out(service)))
    }
}

/// Who may connect to the service, against what plink wants.
struct Principals {
    /// `*` is allowed (never wanted).
    wildcard: bool,
    /// The Databricks principal of the region is allowed.
    databricks_allowed: bool,
}

/// plink accepts connections itself: the service must require acceptance.
fn check(service: &EndpointService) -> Result<(), StepError> {
    if service.acceptance_required {
        return Ok(());
    }
    Err(StepError::needs_user(
        format!(
            "endpoint service {} does not require acceptance",
            service.id
        ),
        "plink accepts connections itself and needs acceptance required: turn it on for this service",
    ))
}

impl EndpointServiceStep {
    fn out(&self, service: &EndpointService) -> EndpointServiceOut {
        EndpointServiceOut {
            service_id: service.id.clone(),
            service_name: service.name.clone(),
            allowed_principal: self.0.workflow.databricks.principal_arn.clone(),
        }
    }

    /// The service's allowed principals, against the one Databricks needs.
    async fn principals(&self, service: &EndpointService) -> Result<Principals, StepError> {
        let allowed = self
            .0
            .aws
            .allowed_principals(&service.id)
            .await
            .map_err(|e| errors::aws("reading allowed principals", e))?;
        let principal = &self.0.workflow.databricks.principal_arn;
        Ok(Principals {
            wildcard: allowed.iter().any(|p| p.principal == "*"),
            databricks_allowed: allowed.iter().any(|p| &p.principal == principal),
        })
    }

    /// Recorded id, else the service on our NLB, else one tagged for this deployment.
    async fn find(
        &self,
        cx: &StepContext,
        lb: &LoadBalancerOut,
    ) -> Result<Found<EndpointService>, StepError> {
        let env = &self.0;
        let mut gone = None;
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
                Some(s) if live(&s) => return Ok(Found::Recorded(s)),
                _ => gone = Some(id),
            }
        }
        if let Some(s) = env
            .aws
            .find_endpoint_service_by_nlb(&lb.load_balancer_arn)
            .await
            .map_err(|e| errors::aws("looking up the endpoint service of the NLB", e))?
            .filter(live)
        {
            return Ok(Found::Unrecorded { resource: s, gone });
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
        let tagged = found
            .into_iter()
            .filter(live)
            .find(|s| s.nlb_arns.contains(&lb.load_balancer_arn));
        Ok(Found::by_key(tagged, gone))
    }
}
