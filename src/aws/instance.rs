//! EC2 instances named as the targets of an NLB (`nlb-service`, issue #10): read only.

use super::AwsClients;
use super::error::{AwsError, Service};

/// An EC2 instance, as far as a target needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: String,
    /// `pending`, `running`, `stopping`, `stopped`, `shutting-down`, `terminated`.
    pub state: String,
    pub vpc_id: Option<String>,
    /// The primary private IPv4 address (what an IP target group registers).
    pub private_ip: Option<String>,
}

impl AwsClients {
    /// The instances with these ids, in the order asked.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](super::ErrorKind::NotFound) when one does not exist (its id is in
    /// the message: `InvalidInstanceID.NotFound`); any other [`AwsError`] of `DescribeInstances`.
    pub async fn instances(&self, ids: &[String]) -> Result<Vec<Instance>, AwsError> {
        let pages: Vec<_> = self
            .ec2
            .describe_instances()
            .set_instance_ids(Some(ids.to_vec()))
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::from_sdk(Service::Ec2, "DescribeInstances", e))?;
        let mut found: Vec<Instance> = pages
            .iter()
            .flat_map(|p| p.reservations())
            .flat_map(|r| r.instances())
            .map(|i| Instance {
                id: i.instance_id().unwrap_or_default().to_owned(),
                state: i
                    .state()
                    .and_then(|s| s.name())
                    .map(|n| n.as_str().to_owned())
                    .unwrap_or_default(),
                vpc_id: i.vpc_id().map(str::to_owned),
                private_ip: i.private_ip_address().map(str::to_owned),
            })
            .collect();
        found.sort_by_key(|i| ids.iter().position(|id| *id == i.id));
        Ok(found)
    }
}
