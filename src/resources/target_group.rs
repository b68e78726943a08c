//! A target group of type `ip` with a TCP health check, in the deployment's VPC. The name is the
//! natural key (CreateTargetGroup is idempotent for the same settings).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::load_balancer::{elb_inventory, elb_ownership};
use super::{Change, Cx, Env, Found, Ownership, Res, Resource, errors};
use crate::aws::{CreateTargetGroup, TagQuery, Tags, TargetGroup as AwsTargetGroup};
use crate::engine::StepError;
use crate::state::Intent;

/// The target group the workflow wants.
pub struct TargetGroup {
    /// `nlb.target_group_name`: the natural key.
    pub name: String,
    /// The port of the targets (443 for S3 over TLS: the NLB passes TCP through).
    pub port: i32,
}

/// What upstream decides: the VPC.
pub struct TargetGroupInputs {
    pub vpc_id: String,
}

/// What the state keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TargetGroupRecord {
    pub target_group_arn: String,
    pub name: String,
}

impl TargetGroupRecord {
    fn of(tg: &AwsTargetGroup) -> Self {
        Self {
            target_group_arn: tg.arn.clone(),
            name: tg.name.clone(),
        }
    }
}

impl TargetGroup {
    /// The recorded target group if it exists, else the one with the workflow's name.
    async fn existing(&self, cx: &Cx<'_>) -> Res<Found<AwsTargetGroup>> {
        let aws = &cx.env.aws;
        let rec: TargetGroupRecord = cx.recorded();
        let mut gone = None;
        if !rec.target_group_arn.is_empty() {
            if let Some(tg) = aws
                .describe_target_group(&rec.target_group_arn)
                .await
                .map_err(|e| errors::aws("reading the target group", e))?
            {
                return Ok(Found::Recorded(tg));
            }
            gone = Some(format!("{} ({})", rec.name, rec.target_group_arn));
        }
        let by_name = aws
            .find_target_group(&self.name)
            .await
            .map_err(|e| errors::aws("looking up the target group", e))?;
        Ok(Found::by_key(by_name, gone))
    }
}

#[async_trait]
impl Resource for TargetGroup {
    type Inputs = TargetGroupInputs;
    type Live = AwsTargetGroup;
    type Record = TargetGroupRecord;
    type Fix = ();

    const NOUN: &'static str = "target group";
    const FOUND_BY: &'static str = "found by name";

    fn describe(&self) -> String {
        format!("target group {} (TCP:{}, ip)", self.name, self.port)
    }

    fn label(&self, live: &Self::Live) -> String {
        live.name.clone()
    }

    async fn find(&self, cx: &Cx<'_>, _: &Self::Inputs) -> Res<Found<Self::Live>> {
        self.existing(cx).await
    }

    async fn create(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Option<Self::Live>> {
        cx.begin(Intent::new("create_target_group").key("name", &self.name))?;
        cx.env
            .aws
            .create_target_group(&CreateTargetGroup {
                name: self.name.clone(),
                vpc_id: inputs.vpc_id.clone(),
                port: self.port,
                tags: cx.tags().with_name(&self.name),
            })
            .await
            .map(|tg| Some(cx.made_now(tg, |x| &x.arn)))
            .map_err(|e| errors::aws("creating the target group", e))
    }

    /// plink needs a TCP target group of type ip on its port in the deployment's VPC.
    async fn compare(
        &self,
        _: &Cx<'_>,
        inputs: &Self::Inputs,
        tg: &Self::Live,
    ) -> Res<Vec<Change<()>>> {
        if tg.vpc_id == inputs.vpc_id
            && tg.protocol == "TCP"
            && tg.port == Some(self.port)
            && tg.target_type == "ip"
        {
            return Ok(Vec::new());
        }
        Err(StepError::needs_user(
            format!(
                "target group {} exists with other settings ({} {:?}, type {}, {})",
                tg.name, tg.protocol, tg.port, tg.target_type, tg.vpc_id
            ),
            format!(
                "plink needs a TCP:{} target group of type ip in the deployment's VPC: choose another nlb.target_group_name",
                self.port
            ),
        ))
    }

    async fn record(&self, _: &Cx<'_>, _: &Self::Inputs, tg: &Self::Live) -> Res<Self::Record> {
        Ok(TargetGroupRecord::of(tg))
    }

    /// The target group with the workflow's name, whoever created it.
    async fn recover(&self, cx: &Cx<'_>, _: Option<&Self::Inputs>) -> Res<Option<Self::Record>> {
        Ok(self
            .existing(cx)
            .await?
            .live()
            .as_ref()
            .map(TargetGroupRecord::of))
    }

    async fn locate(&self, cx: &Cx<'_>, _: Option<&Self::Inputs>) -> Res<Vec<Self::Live>> {
        Ok(self.existing(cx).await?.live().into_iter().collect())
    }

    async fn ownership(&self, cx: &Cx<'_>, tg: &Self::Live) -> Res<Ownership> {
        elb_ownership(cx, &tg.arn, "reading the target group's tags").await
    }

    fn deleted_id(&self, tg: &Self::Live) -> String {
        tg.arn.clone()
    }

    async fn delete(&self, cx: &Cx<'_>, tg: &Self::Live) -> Res<()> {
        cx.begin(
            Intent::new("delete_target_group")
                .key("target_group_arn", &tg.arn)
                .key("name", &tg.name),
        )?;
        // A conflict: a listener still forwards to it (ResourceInUse), going away with the NLB.
        cx.env
            .aws
            .delete_target_group(&tg.arn)
            .await
            .map_err(|e| errors::aws_delete("deleting the target group", e))
    }

    async fn inventory(&self, env: &Env) -> Res<Vec<(String, Tags)>> {
        let tgs = env
            .aws
            .find_target_groups(&TagQuery::any_deployment())
            .await
            .map_err(|e| errors::aws("listing tagged target groups", e))?;
        elb_inventory(env, tgs.into_iter().map(|t| t.arn).collect()).await
    }
}
