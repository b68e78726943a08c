//! Lenient views of what the `up` steps recorded.
//!
//! Teardown must work from any point an `up` stopped at: a step may have recorded only part of
//! its outputs (the endpoint records its id before waiting, the endpoint service its id and name)
//! or nothing at all. Every field is therefore optional, and a missing record reads as empty.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::super::outputs::BoundWorkspace;
use crate::engine::{StepContext, StepId};

/// What `step` recorded, read leniently (missing or partial records give the defaults).
pub fn of<T: DeserializeOwned + Default>(cx: &StepContext, step: StepId) -> T {
    cx.output(step).unwrap_or_default()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Network {
    pub vpc_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SecurityGroup {
    pub security_group_ids: Vec<String>,
    pub created_by_plink: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Endpoint {
    pub vpc_endpoint_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoadBalancer {
    pub load_balancer_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TargetGroup {
    pub target_group_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Listener {
    pub listener_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EndpointService {
    pub service_id: Option<String>,
    pub service_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Ncc {
    pub ncc_id: Option<String>,
    pub name: Option<String>,
    pub created_by_plink: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Rule {
    pub rule_id: Option<String>,
    pub endpoint_service: Option<String>,
    pub vpc_endpoint_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Bind {
    pub workspaces: Vec<BoundWorkspace>,
}
