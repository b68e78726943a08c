//! The VPC and subnets a deployment uses (by id or tag), checked to carry the workflow: one subnet
//! per availability zone, at least two zones. Read-only: plink never creates or changes them.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Change, Cx, Found, Res, Resource, errors};
use crate::aws::{SubnetSelector, VpcSelector};
use crate::engine::StepError;

/// The VPC and subnets of the workflow file (`aws.vpc`, `aws.subnets`).
pub struct Network {
    pub vpc: VpcSelector,
    pub subnets: SubnetSelector,
}

/// What the state keeps: the VPC and subnets resolved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkRecord {
    pub vpc_id: String,
    /// The AWS account that owns the VPC (the customer account).
    pub account_id: String,
    pub subnets: Vec<SubnetRecord>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubnetRecord {
    pub id: String,
    pub availability_zone: String,
    pub cidr: String,
}

impl NetworkRecord {
    /// The VPC's id.
    ///
    /// # Errors
    /// Nothing recorded (a bug in the graph, or a state edited by hand).
    pub fn vpc(&self) -> Res<String> {
        super::need(&self.vpc_id, "the VPC id")
    }

    /// The subnets' ids.
    pub fn subnet_ids(&self) -> Vec<String> {
        self.subnets.iter().map(|s| s.id.clone()).collect()
    }

    /// The subnets' CIDRs (where the NLB's traffic and health checks come from).
    pub fn subnet_cidrs(&self) -> Vec<String> {
        self.subnets.iter().map(|s| s.cidr.clone()).collect()
    }
}

#[async_trait]
impl Resource for Network {
    type Inputs = ();
    type Live = NetworkRecord;
    type Record = NetworkRecord;
    type Fix = ();

    const NOUN: &'static str = "network";

    fn describe(&self) -> String {
        "resolve the VPC and subnets".into()
    }

    fn label(&self, live: &Self::Live) -> String {
        let subnets: Vec<&str> = live.subnets.iter().map(|s| s.id.as_str()).collect();
        format!("VPC {}, subnets {}", live.vpc_id, subnets.join(", "))
    }

    fn summary(&self, live: &Self::Live) -> String {
        self.label(live)
    }

    fn found_by(&self) -> &'static str {
        "(read only: plink never changes them)"
    }

    /// Resolves the VPC and subnets: recorded when they match the record, else unrecorded
    /// (the plan then says they are adopted, or changed since the last run).
    async fn find(&self, cx: &Cx<'_>, _: &()) -> Res<Found<Self::Live>> {
        let live = self.resolve(cx).await?;
        Ok(if cx.has_record() {
            Found::Recorded(live)
        } else {
            Found::Unrecorded {
                resource: live,
                gone: None,
            }
        })
    }

    fn create_detail(&self, _: &()) -> String {
        "the VPC and subnets".into()
    }

    async fn create(&self, _: &Cx<'_>, _: &()) -> Res<Option<Self::Live>> {
        Err(StepError::terminal("plink never creates a VPC or subnets"))
    }

    async fn compare(&self, cx: &Cx<'_>, _: &(), live: &Self::Live) -> Res<Vec<Change<()>>> {
        let recorded: NetworkRecord = cx.recorded();
        Ok(if cx.has_record() && &recorded != live {
            vec![Change::new(
                "changed since the last run; up records them, resources already made keep their subnets",
                "",
                (),
            )]
        } else {
            Vec::new()
        })
    }

    async fn record(&self, _: &Cx<'_>, _: &(), live: &Self::Live) -> Res<Self::Live> {
        Ok(live.clone())
    }

    async fn recover(&self, cx: &Cx<'_>, _: Option<&()>) -> Res<Option<Self::Live>> {
        self.resolve(cx).await.map(Some)
    }

    fn tears_down(&self) -> bool {
        false
    }
}

impl Network {
    /// Resolves the VPC and subnets and checks them; reads only.
    async fn resolve(&self, cx: &Cx<'_>) -> Res<NetworkRecord> {
        let aws = &cx.env.aws;
        let vpc = aws
            .find_vpc(&self.vpc)
            .await
            .map_err(|e| errors::aws("finding the VPC (aws.vpc)", e))?;
        let mut subnets = aws
            .find_subnets(&vpc.id, &self.subnets)
            .await
            .map_err(|e| errors::aws("finding the subnets (aws.subnets)", e))?;
        subnets.sort_by(|a, b| a.id.cmp(&b.id));

        // An interface endpoint takes one subnet per AZ; the NLB must span the same AZs.
        let mut by_az: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for s in &subnets {
            by_az.entry(&s.availability_zone).or_default().push(&s.id);
        }
        if let Some((az, ids)) = by_az.iter().find(|(_, ids)| ids.len() > 1) {
            return Err(StepError::needs_user(
                format!("subnets {} are all in {az}", ids.join(", ")),
                "an interface endpoint takes one subnet per availability zone: select one subnet per AZ in aws.subnets",
            ));
        }
        if by_az.len() < 2 {
            return Err(StepError::needs_user(
                format!(
                    "the selected subnets ({}) are in a single availability zone ({})",
                    subnets
                        .iter()
                        .map(|s| s.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    by_az.keys().next().copied().unwrap_or("none")
                ),
                "select subnets in at least two availability zones (the NLB and the endpoint must survive an AZ outage)",
            ));
        }
        Ok(NetworkRecord {
            vpc_id: vpc.id.clone(),
            account_id: vpc
                .owner_id
                .clone()
                .unwrap_or_else(|| aws.account_id.clone()),
            subnets: subnets
                .iter()
                .map(|s| SubnetRecord {
                    id: s.id.clone(),
                    availability_zone: s.availability_zone.clone(),
                    cidr: s.cidr_block.clone(),
                })
                .collect(),
        })
    }
}
