//! An interface VPC endpoint (S3 for seed 001) in the chosen subnets, until `available`, and its
//! ENIs' private IPs (the NLB's targets). Found by recorded id, then by plink's tags; made with a
//! deterministic `ClientToken`, so a create retried after a crash returns the first one.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::preflight::{AWS_CREDENTIALS, Finding, PLACEHOLDER_VPC, ec2_permission};
use super::{
    Cx, Env, Found, Observation, Ownership, Readiness, Res, Resource, errors, with_tagged,
};
use crate::aws::{CreateInterfaceEndpoint, TagQuery, Tags, VpcEndpoint};
use crate::engine::StepError;
use crate::state::Intent;

/// The interface endpoint the workflow wants.
pub struct Endpoint {
    /// The service, e.g. `com.amazonaws.us-east-1.s3`.
    pub service_name: String,
    /// The workflow file's key naming it (`endpoint.service_name`, or
    /// `service.targets.aws_service` for an AWS service behind the NLB of `nlb-service`): where
    /// the preflight says a service that does not exist is named.
    pub service_key: &'static str,
    /// The endpoint policy (JSON); `None` = full access.
    pub policy: Option<String>,
    /// Its `Name` tag.
    pub name: String,
    pub timeout: Duration,
}

/// What upstream decides: where the endpoint goes.
pub struct EndpointInputs {
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
}

/// What the state keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointRecord {
    pub vpc_endpoint_id: String,
    /// The regional DNS name (`*.vpce-….s3.<region>.vpce.amazonaws.com`), default domain name of
    /// the rule.
    pub dns_name: String,
    pub network_interface_ids: Vec<String>,
    /// The ENIs' private IPs: the NLB's targets.
    pub ips: Vec<String>,
}

/// States an endpoint never leaves: it must be replaced.
const DEAD: &[&str] = &["deleting", "deleted", "failed", "rejected", "expired"];

fn dead(e: &VpcEndpoint) -> bool {
    DEAD.contains(&e.state.as_str())
}

impl Endpoint {
    async fn describe_id(env: &Env, id: &str) -> Res<Option<VpcEndpoint>> {
        env.aws
            .describe_vpc_endpoint(id)
            .await
            .map_err(|e| errors::aws("reading the interface endpoint", e))
    }

    /// Every endpoint tagged for this node of this deployment, oldest id first.
    async fn tagged(cx: &Cx<'_>) -> Res<Vec<VpcEndpoint>> {
        let mut found = cx
            .env
            .aws
            .find_vpc_endpoints(&cx.tagged())
            .await
            .map_err(|e| errors::aws("looking up tagged endpoints", e))?;
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }
}

#[async_trait]
impl Resource for Endpoint {
    type Inputs = EndpointInputs;
    type Live = VpcEndpoint;
    type Record = EndpointRecord;
    type Fix = ();

    const NOUN: &'static str = "endpoint";
    const KIND: &'static str = "interface endpoint";
    const WAITS_FOR: &'static str = "the interface endpoint to be available";
    // `pending` → `available` takes ~1.5–2.5 min (field update §5.1; the field README's "90s
    // wait for AWS to provision the VPC endpoint"): nothing to see before 90 s, the lower end.
    const POLL_SECS: (u64, u64) = (90, 15);

    fn describe(&self) -> String {
        format!("interface endpoint {}", self.service_name)
    }

    fn label(&self, live: &Self::Live) -> String {
        live.id.clone()
    }

    fn summary(&self, live: &Self::Live) -> String {
        format!("endpoint {} available", live.id)
    }

    /// The recorded endpoint if it still lives, else one tagged for this deployment and node.
    /// A dead one is reported gone (`up` forgets it: the next create gets a new token).
    /// Whether the credentials may create the endpoint (EC2 `DryRun`), unless it exists.
    async fn preflight(&self, cx: &Cx<'_>, inputs: Option<&Self::Inputs>) -> Vec<Finding> {
        if cx.has_record() {
            return Vec::new();
        }
        let (vpc, subnets) = inputs.map_or((PLACEHOLDER_VPC, &[][..]), |i| {
            (i.vpc_id.as_str(), i.subnet_ids.as_slice())
        });
        let answer = cx
            .env
            .aws
            .dry_run_create_vpc_endpoint(vpc, &self.service_name, subnets, &cx.tags())
            .await;
        match answer {
            // The file's service name is wrong (AWS: `InvalidServiceName`).
            Err(e) if e.has_code("InvalidServiceName") => vec![Finding::new(
                self.service_key,
                "the endpoint's service",
                format!(
                    "no service {} in {}: {}",
                    self.service_name,
                    cx.env.region(),
                    e.summary()
                ),
                "name a service of the region (aws ec2 describe-vpc-endpoint-services lists them)",
            )],
            answer => ec2_permission(AWS_CREDENTIALS, "CreateVpcEndpoint", answer)
                .into_iter()
                .collect(),
        }
    }

    async fn find(&self, cx: &Cx<'_>, _: &Self::Inputs) -> Res<Found<Self::Live>> {
        let rec: EndpointRecord = cx.recorded();
        let mut gone = None;
        if !rec.vpc_endpoint_id.is_empty() {
            match Self::describe_id(cx.env, &rec.vpc_endpoint_id).await? {
                Some(e) if !dead(&e) => return Ok(Found::Recorded(e)),
                _ => gone = Some(rec.vpc_endpoint_id),
            }
        }
        let mut found = Self::tagged(cx).await?;
        found.retain(|e| !dead(e));
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

    fn create_detail(&self, inputs: &Self::Inputs) -> String {
        format!(
            "interface endpoint to {} in {}",
            self.service_name,
            inputs.subnet_ids.join(", ")
        )
    }

    async fn create(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Option<Self::Live>> {
        let token = cx.token("create_vpc_endpoint");
        cx.begin(
            Intent::new("create_vpc_endpoint")
                .token(&token)
                .key("vpc_id", &inputs.vpc_id)
                .key("service", &self.service_name),
        )?;
        cx.env
            .aws
            .create_interface_endpoint(&CreateInterfaceEndpoint {
                vpc_id: inputs.vpc_id.clone(),
                service_name: self.service_name.clone(),
                subnet_ids: inputs.subnet_ids.clone(),
                security_group_ids: inputs.security_group_ids.clone(),
                policy_document: self.policy.clone(),
                client_token: token,
                tags: cx.tags().with_name(&self.name),
            })
            .await
            .map(Some)
            .map_err(|e| errors::aws("creating the interface endpoint", e))
    }

    fn readiness(&self, e: &Self::Live) -> Readiness {
        if e.is_available() {
            Readiness::Ready
        } else if dead(e) {
            Readiness::Failed(StepError::terminal_with_hint(
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
            Readiness::Pending(format!("state={}", e.state))
        }
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn refresh(&self, cx: &Cx<'_>, live: &Self::Live) -> Res<Option<Self::Live>> {
        Self::describe_id(cx.env, &live.id).await
    }

    /// Its DNS name and its ENIs' IPs. The IPs are read only when the ENIs are not those
    /// recorded: an ENI's primary private IP is fixed for its life (EC2 can change only its
    /// secondary addresses), so a converged run makes no `DescribeNetworkInterfaces` (issue #13).
    async fn record(
        &self,
        cx: &Cx<'_>,
        _: &Self::Inputs,
        endpoint: &Self::Live,
    ) -> Res<Self::Record> {
        let dns_name = endpoint
            .dns_names
            .iter()
            .min_by_key(|d| d.len())
            .cloned()
            .unwrap_or_default();
        let mut ids = endpoint.network_interface_ids.clone();
        ids.sort();
        let known: EndpointRecord = cx.recorded();
        let (network_interface_ids, ips) = if !ids.is_empty()
            && known.vpc_endpoint_id == endpoint.id
            && known.network_interface_ids == ids
            && known.ips.len() == ids.len()
        {
            (known.network_interface_ids, known.ips)
        } else {
            let mut enis = cx
                .env
                .aws
                .endpoint_network_interfaces(endpoint)
                .await
                .map_err(|e| errors::aws("reading the endpoint's ENIs", e))?;
            enis.sort_by(|a, b| a.id.cmp(&b.id));
            (
                enis.iter().map(|e| e.id.clone()).collect(),
                enis.iter().map(|e| e.private_ip.clone()).collect(),
            )
        };
        Ok(EndpointRecord {
            vpc_endpoint_id: endpoint.id.clone(),
            dns_name,
            network_interface_ids,
            ips,
        })
    }

    async fn observe(
        &self,
        env: &Env,
        rec: &Self::Record,
        _: Option<&Self::Inputs>,
    ) -> Observation {
        let mut o = Observation::default();
        let (mut state, mut ips) = ("-".to_owned(), Vec::new());
        if !rec.vpc_endpoint_id.is_empty() {
            match env.aws.describe_vpc_endpoint(&rec.vpc_endpoint_id).await {
                Ok(found) => {
                    state = found.as_ref().map_or("missing".into(), |e| e.state.clone());
                    o.set("endpoint_state", &state);
                    if let Some(e) = found {
                        match env.aws.endpoint_network_interfaces(&e).await {
                            Ok(enis) => ips = enis.into_iter().map(|n| n.private_ip).collect(),
                            Err(err) => o.error("endpoint ENIs", err),
                        }
                    }
                }
                Err(err) => o.error("endpoint", err),
            }
        }
        ips.sort();
        o.line("endpoint", format!("{state} ips [{}]", ips.join(", ")));
        o.set("endpoint_ips", ips);
        o
    }

    /// The recorded endpoint and every endpoint carrying plink's tags for this deployment that is
    /// not deleted yet.
    async fn locate(&self, cx: &Cx<'_>, _: Option<&Self::Inputs>) -> Res<Vec<Self::Live>> {
        let rec: EndpointRecord = cx.recorded();
        let recorded = match rec.vpc_endpoint_id.as_str() {
            "" => None,
            id => Self::describe_id(cx.env, id).await?,
        };
        let mut found = with_tagged(recorded, Self::tagged(cx).await?, |e| &e.id);
        found.retain(|e| !self.deleted(e));
        Ok(found)
    }

    async fn ownership(&self, cx: &Cx<'_>, live: &Self::Live) -> Res<Ownership> {
        Ok(cx.owner(&live.tags))
    }

    async fn delete(&self, cx: &Cx<'_>, live: &Self::Live) -> Res<()> {
        if live.state.eq_ignore_ascii_case("deleting") {
            return Ok(());
        }
        cx.begin(Intent::new("delete_vpc_endpoints").key("vpc_endpoint_ids", &live.id))?;
        cx.env
            .aws
            .delete_vpc_endpoints(std::slice::from_ref(&live.id))
            .await
            .map_err(|e| errors::aws("deleting the interface endpoint", e))
    }

    fn deleted(&self, e: &Self::Live) -> bool {
        e.state.eq_ignore_ascii_case("deleted")
    }

    async fn inventory(&self, env: &Env) -> Res<Vec<(String, Tags)>> {
        Ok(env
            .aws
            .find_vpc_endpoints(&TagQuery::any_deployment())
            .await
            .map_err(|e| errors::aws("listing tagged endpoints", e))?
            .into_iter()
            .filter(|e| !self.deleted(e))
            .map(|e| (e.id, e.tags))
            .collect())
    }
}
