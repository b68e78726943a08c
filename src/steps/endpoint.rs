//! `endpoint`: the S3 interface VPC endpoint in the chosen subnets, until `available`, and its
//! ENIs' private IPs (the NLB's targets). Found again by recorded id, then by plink's tags; made
//! with a deterministic `ClientToken`, so a create retried after a crash returns the first one.

use async_trait::async_trait;

use super::outputs::{EndpointOut, NetworkOut, SecurityGroupOut};
use super::{Env, errors};
use crate::aws::{CreateInterfaceEndpoint, PlinkTags, TagQuery, VpcEndpoint};
use crate::engine::{Poll, Step, StepContext, StepError, StepId};
use crate::state::Intent;

pub struct EndpointStep(pub Env);

/// States an endpoint never leaves: it must be replaced.
const DEAD: &[&str] = &["deleting", "deleted", "failed", "rejected", "expired"];

#[async_trait]
impl Step for EndpointStep {
    fn id(&self) -> StepId {
        "endpoint"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec!["network", "security_group"]
    }

    fn describe(&self) -> String {
        format!(
            "interface endpoint {}",
            self.0.workflow.endpoint.service_name
        )
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let env = &self.0;
        let network: NetworkOut = cx.output("network")?;
        let groups: SecurityGroupOut = cx.output("security_group")?;
        let endpoint = match self.find(cx).await? {
            Some(e) => e,
            None => {
                let token = cx.token("create_vpc_endpoint");
                cx.begin(
                    Intent::new("create_vpc_endpoint")
                        .token(&token)
                        .key("vpc_id", &network.vpc_id)
                        .key("service", &env.workflow.endpoint.service_name),
                )?;
                env.aws
                    .create_interface_endpoint(&CreateInterfaceEndpoint {
                        vpc_id: network.vpc_id.clone(),
                        service_name: env.workflow.endpoint.service_name.clone(),
                        subnet_ids: network.subnets.iter().map(|s| s.id.clone()).collect(),
                        security_group_ids: groups.security_group_ids.clone(),
                        policy_document: env
                            .workflow
                            .endpoint
                            .policy
                            .as_ref()
                            .map(|p| p.json.clone()),
                        client_token: token,
                        tags: PlinkTags::new(env.workflow.deployment.as_str(), "endpoint")
                            .with_name(format!("plink-{}", env.workflow.deployment.as_str())),
                    })
                    .await
                    .map_err(|e| errors::aws("creating the interface endpoint", e))?
            }
        };
        cx.record(&serde_json::json!({ "vpc_endpoint_id": endpoint.id }))?;

        let endpoint = if endpoint.is_available() {
            endpoint
        } else {
            let policy = env.wait(5, 15, env.workflow.timeouts.endpoint);
            cx.wait_for(
                "the interface endpoint to be available",
                &policy,
                || async {
                    let e = env
                        .aws
                        .describe_vpc_endpoint(&endpoint.id)
                        .await
                        .map_err(|e| errors::aws("reading the interface endpoint", e))?
                        .ok_or_else(|| {
                            StepError::retryable(format!(
                                "endpoint {} not visible yet",
                                endpoint.id
                            ))
                        })?;
                    if e.is_available() {
                        Ok(Poll::Ready(e))
                    } else if DEAD.contains(&e.state.as_str()) {
                        Err(StepError::terminal_with_hint(
                            format!(
                                "interface endpoint {} is {}{}",
                                e.id,
                                e.state,
                                e.failure_reason
                                    .as_deref()
                                    .map(|r| format!(": {r}"))
                                    .unwrap_or_default()
                            ),
                            "run `plink up` again to create a new one",
                        ))
                    } else {
                        Ok(Poll::Pending(format!("state={}", e.state)))
                    }
                },
            )
            .await?
        };

        let mut enis = env
            .aws
            .endpoint_network_interfaces(&endpoint)
            .await
            .map_err(|e| errors::aws("reading the endpoint's ENIs", e))?;
        enis.sort_by(|a, b| a.id.cmp(&b.id));
        let dns_name = endpoint
            .dns_names
            .iter()
            .min_by_key(|d| d.len())
            .cloned()
            .unwrap_or_default();
        cx.record(&EndpointOut {
            vpc_endpoint_id: endpoint.id.clone(),
            dns_name,
            network_interface_ids: enis.iter().map(|e| e.id.clone()).collect(),
            ips: enis.iter().map(|e| e.private_ip.clone()).collect(),
        })
    }
}

impl EndpointStep {
    /// The recorded endpoint if it still lives, else one tagged for this deployment and step.
    /// A dead one is forgotten: the next create gets a new token (a new generation).
    async fn find(&self, cx: &StepContext) -> Result<Option<VpcEndpoint>, StepError> {
        let env = &self.0;
        if let Some(id) = cx
            .recorded_raw()
            .get("vpc_endpoint_id")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
        {
            match env
                .aws
                .describe_vpc_endpoint(&id)
                .await
                .map_err(|e| errors::aws("reading the interface endpoint", e))?
            {
                Some(e) if !DEAD.contains(&e.state.as_str()) => return Ok(Some(e)),
                _ => {
                    cx.note(format!(
                        "recorded endpoint {id} is gone; creating a new one"
                    ));
                    cx.forget(&[
                        "vpc_endpoint_id",
                        "dns_name",
                        "network_interface_ids",
                        "ips",
                    ])?;
                }
            }
        }
        let query = TagQuery {
            deployment: Some(env.workflow.deployment.as_str().to_owned()),
            step: Some("endpoint".into()),
        };
        let mut found = env
            .aws
            .find_vpc_endpoints(&query)
            .await
            .map_err(|e| errors::aws("looking up tagged endpoints", e))?;
        found.retain(|e| !DEAD.contains(&e.state.as_str()));
        found.sort_by(|a, b| a.id.cmp(&b.id));
        if found.len() > 1 {
            cx.note(format!(
                "several tagged endpoints exist ({}); using {}",
                found
                    .iter()
                    .map(|e| e.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                found[0].id
            ));
        }
        Ok(found.into_iter().next())
    }
}
