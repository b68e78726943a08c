//! `endpoint`: the S3 interface VPC endpoint in the chosen subnets, until `available`, and its
//! ENIs' private IPs (the NLB's targets). Found again by recorded id, then by plink's tags; made
//! with a deterministic `ClientToken`, so a create retried after a crash returns the first one.

use async_trait::async_trait;

use super::found::{Found, gone_prefix};
use super::outputs::{EndpointOut, NetworkOut, SecurityGroupOut};
use super::{Env, errors};
use crate::aws::{CreateInterfaceEndpoint, PlinkTags, TagQuery, VpcEndpoint};
use crate::engine::{Planned, Poll, Step, StepContext, StepError, StepId};
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
        let found = self.find(cx).await?;
        if let Some(gone) = found.gone() {
            cx.note(format!(
                "recorded endpoint {gone} is gone; creating a new one"
            ));
            cx.forget(&[
                "vpc_endpoint_id",
                "dns_name",
                "network_interface_ids",
                "ips",
            ])?;
        }
        let endpoint = match found.into_resource() {
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

        cx.record(&self.outputs(&endpoint).await?)
    }

    async fn plan(&self, cx: &StepContext) -> Result<Planned, StepError> {
        let env = &self.0;
        let network: NetworkOut = cx.output("network")?;
        let found = self.find(cx).await?;
        let endpoint = match &found {
            Found::Missing { gone } => {
                let subnets: Vec<&str> = network.subnets.iter().map(|s| s.id.as_str()).collect();
                return Ok(Planned::create(format!(
                    "{}interface endpoint to {} in {}",
                    gone_prefix("endpoint", gone.as_deref()),
                    env.workflow.endpoint.service_name,
                    subnets.join(", ")
                )));
            }
            Found::Recorded(e) | Found::Unrecorded { resource: e, .. } => e,
        };
        let out = self.outputs(endpoint).await?;
        let planned = match &found {
            Found::Unrecorded { gone, .. } => Planned::adopt(format!(
                "{}endpoint {} found by plink's tags",
                gone_prefix("endpoint", gone.as_deref()),
                endpoint.id
            )),
            _ if !endpoint.is_available() => Planned::wait(format!(
                "endpoint {} is {}: up waits until it is available",
                endpoint.id, endpoint.state
            )),
            _ => {
                let recorded = cx.recorded::<EndpointOut>().map(|r| r.ips);
                match recorded {
                    Some(ips) if ips != out.ips => Planned::no_change(format!(
                        "endpoint {} available; its ENI IPs changed from [{}] to [{}]",
                        endpoint.id,
                        ips.join(", "),
                        out.ips.join(", ")
                    )),
                    _ => Planned::no_change(format!(
                        "endpoint {} available, ENI IPs [{}]",
                        endpoint.id,
                        out.ips.join(", ")
                    )),
                }
            }
        };
        Ok(planned.with_outputs(&out))
    }
}

impl EndpointStep {
    /// What the step records about a live endpoint: its DNS name and its ENIs' IPs.
    async fn outputs(&self, endpoint: &VpcEndpoint) -> Result<EndpointOut, StepError> {
        let mut enis = self
            .0
            .aws
            .endpoint_network_interfaces(endpoint)
            .await
            .map_err(|e| errors::aws("reading the endpoint's ENIs", e))?;
        enis.sort_by(|a, b| a.id.cmp(&b.id));
        let dns_name = endpoint
            .dns_names
            .iter()
            .min_by_key(|d| d.len())
            .cloned()
            .unwrap_or_default();
        Ok(EndpointOut {
            vpc_endpoint_id: endpoint.id.clone(),
            dns_name,
            network_interface_ids: enis.iter().map(|e| e.id.clone()).collect(),
            ips: enis.iter().map(|e| e.private_ip.clone()).collect(),
        })
    }

    /// The recorded endpoint if it still lives, else one tagged for this deployment and step.
    /// A dead one is reported gone (`apply` forgets it: the next create gets a new token, a new
    /// generation).
    async fn find(&self, cx: &StepContext) -> Result<Found<VpcEndpoint>, StepError> {
        let env = &self.0;
        let mut gone = None;
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
                Some(e) if !DEAD.contains(&e.state.as_str()) => return Ok(Found::Recorded(e)),
                _ => gone = Some(id),
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
        Ok(Found::by_key(found.into_iter().next(), gone))
    }
}
