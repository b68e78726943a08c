//! `network`: resolve the VPC and subnets (by id or tag) and check they can carry the workflow.
//! Read-only: it never changes anything.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::outputs::{NetworkOut, SubnetOut};
use super::{Env, errors};
use crate::aws::{SubnetSelector, VpcSelector};
use crate::config;
use crate::engine::{Planned, Step, StepContext, StepError, StepId};

pub struct NetworkStep(pub Env);

#[async_trait]
impl Step for NetworkStep {
    fn id(&self) -> StepId {
        "network"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec![]
    }

    fn describe(&self) -> String {
        "resolve the VPC and subnets".into()
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        cx.record(&self.resolve().await?)
    }

    async fn plan(&self, cx: &StepContext) -> Result<Planned, StepError> {
        let network = self.resolve().await?;
        let subnets: Vec<&str> = network.subnets.iter().map(|s| s.id.as_str()).collect();
        let what = format!("VPC {}, subnets {}", network.vpc_id, subnets.join(", "));
        let planned = match cx.recorded::<NetworkOut>() {
            Some(rec) if rec == network => Planned::no_change(what),
            Some(_) => Planned::update(format!(
                "{what} (changed since the last run; up records them, resources already made keep their subnets)"
            )),
            None => Planned::adopt(format!("{what} (read only: plink never changes them)")),
        };
        Ok(planned.with_outputs(&network))
    }
}

impl NetworkStep {
    /// Resolves the VPC and subnets and checks them; reads only.
    async fn resolve(&self) -> Result<NetworkOut, StepError> {
        let env = &self.0;
        let aws_cfg = &env.workflow.aws;
        let vpc_selector = match &aws_cfg.vpc {
            config::VpcSelector::Id(id) => VpcSelector::Id(id.clone()),
            config::VpcSelector::Tags(tags) => VpcSelector::Tags(pairs(tags)),
        };
        let vpc = env
            .aws
            .find_vpc(&vpc_selector)
            .await
            .map_err(|e| errors::aws("finding the VPC (aws.vpc)", e))?;
        let subnet_selector = match &aws_cfg.subnets {
            config::SubnetSelector::Ids(ids) => SubnetSelector::Ids(ids.clone()),
            config::SubnetSelector::Tags(tags) => SubnetSelector::Tags(pairs(tags)),
        };
        let mut subnets = env
            .aws
            .find_subnets(&vpc.id, &subnet_selector)
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
        Ok(NetworkOut {
            vpc_id: vpc.id.clone(),
            account_id: vpc
                .owner_id
                .clone()
                .unwrap_or_else(|| env.aws.account_id.clone()),
            subnets: subnets
                .iter()
                .map(|s| SubnetOut {
                    id: s.id.clone(),
                    availability_zone: s.availability_zone.clone(),
                    cidr: s.cidr_block.clone(),
                })
                .collect(),
        })
    }
}

fn pairs(tags: &BTreeMap<String, String>) -> Vec<(String, String)> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}
