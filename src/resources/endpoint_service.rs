//! A VPC endpoint service on the NLB, acceptance required, until `Available`, with its
//! permissions: the only allowed principal is the Databricks role of the region and partition
//! (reference §8.2). Never `*`: a wildcard found on plink's service is removed.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::acceptance::reject_live;
use super::preflight::{
    AWS_CREDENTIALS, Finding, PLACEHOLDER_SERVICE, ec2_permission, placeholder_nlb_arn,
};
use super::{
    Change, Cx, Env, Found, Observation, Ownership, Readiness, Res, Resource, errors, with_tagged,
};
use crate::aws::{CreateEndpointService, EndpointService as AwsService, TagQuery, Tags};
use crate::engine::StepError;
use crate::state::Intent;

/// The endpoint service the workflow wants.
pub struct EndpointService {
    /// The Databricks principal of the region (never `*`).
    pub principal: String,
    /// Its `Name` tag.
    pub name: String,
    pub timeout: Duration,
}

/// What upstream decides: the NLB behind the service.
pub struct EndpointServiceInputs {
    pub load_balancer_arn: String,
    pub load_balancer_name: String,
}

/// What the state keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointServiceRecord {
    pub service_id: String,
    pub service_name: String,
    pub allowed_principal: String,
}

/// A permission change.
pub enum Permission {
    RemoveWildcard,
    AllowDatabricks,
}

const DEAD: &[&str] = &["Deleting", "Deleted", "Failed"];

fn live(s: &AwsService) -> bool {
    !DEAD.contains(&s.state.as_str())
}

impl EndpointService {
    async fn describe_id(env: &Env, id: &str) -> Res<Option<AwsService>> {
        env.aws
            .describe_endpoint_service(id)
            .await
            .map_err(|e| errors::aws("reading the endpoint service", e))
    }

    async fn tagged(cx: &Cx<'_>) -> Res<Vec<AwsService>> {
        cx.env
            .aws
            .find_endpoint_services(&cx.tagged())
            .await
            .map_err(|e| errors::aws("looking up tagged endpoint services", e))
    }

    /// The deployment's endpoint services that still exist: the recorded one, and any carrying
    /// plink's tags for this deployment (a create whose answer was lost).
    pub(super) async fn all(cx: &Cx<'_>) -> Res<Vec<AwsService>> {
        let rec: EndpointServiceRecord = cx.recorded();
        let recorded = match rec.service_id.as_str() {
            "" => None,
            id => Self::describe_id(cx.env, id).await?,
        };
        let mut found = with_tagged(recorded, Self::tagged(cx).await?, |s| &s.id);
        found.retain(|s| !s.state.eq_ignore_ascii_case("Deleted"));
        Ok(found)
    }
}

#[async_trait]
impl Resource for EndpointService {
    type Inputs = EndpointServiceInputs;
    type Live = AwsService;
    type Record = EndpointServiceRecord;
    type Fix = Permission;

    const NOUN: &'static str = "endpoint service";
    const WAITS_FOR: &'static str = "the endpoint service to be Available";
    const POLL_SECS: (u64, u64) = (5, 15);
    const FOUND_BY: &'static str = "found on the NLB";

    fn describe(&self) -> String {
        "VPC endpoint service (acceptance required, Databricks principal only)".into()
    }

    fn label(&self, live: &Self::Live) -> String {
        live.id.clone()
    }

    fn summary(&self, live: &Self::Live) -> String {
        format!(
            "endpoint service {} allows only the Databricks principal",
            live.id
        )
    }

    /// Recorded id, else the service on the NLB, else one tagged for this deployment.
    /// Whether the credentials may create the service and allow the principal (EC2 `DryRun`),
    /// unless it exists.
    async fn preflight(&self, cx: &Cx<'_>, inputs: Option<&Self::Inputs>) -> Vec<Finding> {
        if cx.has_record() {
            return Vec::new();
        }
        let aws = &cx.env.aws;
        let nlb = inputs.map_or_else(
            || placeholder_nlb_arn(&aws.region, &aws.account_id),
            |i| i.load_balancer_arn.clone(),
        );
        let create = aws.dry_run_create_endpoint_service(&nlb, &cx.tags()).await;
        // The service plink makes then allows the Databricks principal, and only it.
        let allow = aws
            .dry_run_allow_principal(PLACEHOLDER_SERVICE, &self.principal)
            .await;
        [
            ec2_permission(
                AWS_CREDENTIALS,
                "CreateVpcEndpointServiceConfiguration",
                create,
            ),
            ec2_permission(
                AWS_CREDENTIALS,
                "ModifyVpcEndpointServicePermissions",
                allow,
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    async fn find(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Found<Self::Live>> {
        let rec: EndpointServiceRecord = cx.recorded();
        let mut gone = None;
        if !rec.service_id.is_empty() {
            match Self::describe_id(cx.env, &rec.service_id).await? {
                Some(s) if live(&s) => return Ok(Found::Recorded(s)),
                _ => gone = Some(rec.service_id),
            }
        }
        if cx.on_made_now(&inputs.load_balancer_arn) {
            return Ok(Found::Missing { gone });
        }
        if let Some(s) = cx
            .env
            .aws
            .find_endpoint_service_by_nlb(&inputs.load_balancer_arn)
            .await
            .map_err(|e| errors::aws("looking up the endpoint service of the NLB", e))?
            .filter(live)
        {
            return Ok(Found::Unrecorded { resource: s, gone });
        }
        let tagged = Self::tagged(cx)
            .await?
            .into_iter()
            .filter(live)
            .find(|s| s.nlb_arns.contains(&inputs.load_balancer_arn));
        Ok(Found::by_key(tagged, gone))
    }

    fn create_detail(&self, inputs: &Self::Inputs) -> String {
        format!(
            "endpoint service on NLB {} (acceptance required), allowing only {}",
            inputs.load_balancer_name, self.principal
        )
    }

    async fn create(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Option<Self::Live>> {
        let token = cx.token("create_vpc_endpoint_service");
        cx.begin(
            Intent::new("create_vpc_endpoint_service")
                .token(&token)
                .key("load_balancer_arn", &inputs.load_balancer_arn),
        )?;
        cx.env
            .aws
            .create_endpoint_service(&CreateEndpointService {
                nlb_arns: vec![inputs.load_balancer_arn.clone()],
                client_token: token,
                tags: cx.tags().with_name(&self.name),
            })
            .await
            .map(|service| Some(cx.made_now(service, |x| &x.id)))
            .map_err(|e| errors::aws("creating the endpoint service", e))
    }

    /// plink accepts connections itself, so the service must require acceptance; `*` is never
    /// allowed, the Databricks principal always.
    async fn compare(
        &self,
        cx: &Cx<'_>,
        _: &Self::Inputs,
        service: &Self::Live,
    ) -> Res<Vec<Change<Self::Fix>>> {
        if !service.acceptance_required {
            return Err(StepError::needs_user(
                format!(
                    "endpoint service {} does not require acceptance",
                    service.id
                ),
                "plink accepts connections itself and needs acceptance required: turn it on for this service",
            ));
        }
        // A service made in this run allows no one yet.
        let allowed = if cx.on_made_now(&service.id) {
            Vec::new()
        } else {
            cx.env
                .aws
                .allowed_principals(&service.id)
                .await
                .map_err(|e| errors::aws("reading allowed principals", e))?
        };
        let mut changes = Vec::new();
        if allowed.iter().any(|p| p.principal == "*") {
            changes.push(Change::new(
                "the wildcard principal `*` is allowed: up removes it",
                "removing the wildcard principal `*` from plink's endpoint service",
                Permission::RemoveWildcard,
            ));
        }
        if !allowed.iter().any(|p| p.principal == self.principal) {
            changes.push(Change::new(
                format!("{} is not allowed: up allows it", self.principal),
                "",
                Permission::AllowDatabricks,
            ));
        }
        Ok(changes)
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        _: &Self::Inputs,
        service: &Self::Live,
        fix: &Self::Fix,
    ) -> Res<()> {
        let aws = &cx.env.aws;
        match fix {
            Permission::RemoveWildcard => {
                cx.begin(
                    Intent::new("remove_principal")
                        .key("service_id", &service.id)
                        .key("principal", "*"),
                )?;
                aws.remove_principal(&service.id, "*")
                    .await
                    .map_err(|e| errors::aws("removing the wildcard principal", e))
            }
            Permission::AllowDatabricks => {
                cx.begin(
                    Intent::new("allow_principal")
                        .key("service_id", &service.id)
                        .key("principal", &self.principal),
                )?;
                aws.allow_principal(&service.id, &self.principal)
                    .await
                    .map_err(|e| errors::aws("allowing the Databricks principal", e))
            }
        }
    }

    /// The allowed principals are read apart from the service's configuration, which does not
    /// change.
    fn updated(&self, service: &Self::Live, _: &Self::Fix) -> Option<Self::Live> {
        Some(service.clone())
    }

    fn readiness(&self, s: &Self::Live) -> Readiness {
        match s.state.as_str() {
            "Available" => Readiness::Ready,
            state if DEAD.contains(&state) => Readiness::Failed(StepError::terminal(format!(
                "endpoint service {} is {state}",
                s.id
            ))),
            state => Readiness::Pending(format!("state={state}")),
        }
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn refresh(&self, cx: &Cx<'_>, s: &Self::Live) -> Res<Option<Self::Live>> {
        Self::describe_id(cx.env, &s.id).await
    }

    async fn record(&self, _: &Cx<'_>, _: &Self::Inputs, s: &Self::Live) -> Res<Self::Record> {
        Ok(EndpointServiceRecord {
            service_id: s.id.clone(),
            service_name: s.name.clone(),
            allowed_principal: self.principal.clone(),
        })
    }

    async fn observe(
        &self,
        env: &Env,
        rec: &Self::Record,
        _: Option<&Self::Inputs>,
    ) -> Observation {
        let mut o = Observation::default();
        o.set("allowed_principals", Vec::<String>::new());
        let (mut state, mut allowed) = ("-".to_owned(), Vec::new());
        if !rec.service_id.is_empty() {
            match env.aws.describe_endpoint_service(&rec.service_id).await {
                Ok(found) => {
                    state = found.map_or_else(|| "missing".into(), |s| s.state);
                    o.set("endpoint_service_state", &state);
                }
                Err(err) => o.error("endpoint service", err),
            }
            match env.aws.allowed_principals(&rec.service_id).await {
                Ok(p) => allowed = p.into_iter().map(|p| p.principal).collect::<Vec<_>>(),
                Err(err) => o.error("allowed principals", err),
            }
        }
        o.line(
            "endpoint service",
            format!("{state} allowed [{}]", allowed.join(", ")),
        );
        o.set("allowed_principals", allowed);
        o
    }

    /// The service tagged for this deployment (a create whose answer was lost).
    async fn recover(&self, cx: &Cx<'_>, _: Option<&Self::Inputs>) -> Res<Option<Self::Record>> {
        Ok(Self::all(cx)
            .await?
            .into_iter()
            .next()
            .map(|s| EndpointServiceRecord {
                service_id: s.id,
                service_name: s.name,
                allowed_principal: self.principal.clone(),
            }))
    }

    async fn locate(&self, cx: &Cx<'_>, _: Option<&Self::Inputs>) -> Res<Vec<Self::Live>> {
        Self::all(cx).await
    }

    async fn ownership(&self, cx: &Cx<'_>, s: &Self::Live) -> Res<Ownership> {
        Ok(cx.owner(&s.tags))
    }

    async fn delete(&self, cx: &Cx<'_>, service: &Self::Live) -> Res<()> {
        if service.state.eq_ignore_ascii_case("Deleting") {
            return Ok(());
        }
        cx.begin(
            Intent::new("delete_vpc_endpoint_service")
                .key("service_id", &service.id)
                .key("service_name", &service.name),
        )?;
        let ids = std::slice::from_ref(&service.id);
        match cx.env.aws.delete_endpoint_services(ids).await {
            Ok(()) => Ok(()),
            // A connection arrived after the connections were rejected: reject it too, retry.
            Err(e) if e.has_code("ExistingVpcEndpointConnections") => {
                reject_live(cx, service, None, None, self.timeout).await?;
                Err(StepError::retryable(format!(
                    "endpoint service {} still had connections; rejected them",
                    service.id
                )))
            }
            Err(e) => Err(errors::aws_delete("deleting the endpoint service", e)),
        }
    }

    fn deleted(&self, s: &Self::Live) -> bool {
        s.state.eq_ignore_ascii_case("Deleted")
    }

    async fn inventory(&self, env: &Env) -> Res<Vec<(String, Tags)>> {
        Ok(env
            .aws
            .find_endpoint_services(&TagQuery::any_deployment())
            .await
            .map_err(|e| errors::aws("listing tagged endpoint services", e))?
            .into_iter()
            .filter(|s| !self.deleted(s))
            .map(|s| (s.id, s.tags))
            .collect())
    }
}
