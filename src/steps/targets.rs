//! `targets`: the target group holds exactly the endpoint's ENI IPs (field notes B.2 #9: keep
//! the NLB's targets in sync with the endpoint's ENIs). Registering is idempotent.

use std::collections::BTreeSet;

use async_trait::async_trait;

use super::outputs::{EndpointOut, TargetGroupOut, TargetsOut};
use super::target_group::PORT;
use super::{Env, errors};
use crate::engine::{Planned, Step, StepContext, StepError, StepId};
use crate::state::Intent;

pub struct TargetsStep(pub Env);

#[async_trait]
impl Step for TargetsStep {
    fn id(&self) -> StepId {
        "targets"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec!["endpoint", "target_group"]
    }

    fn describe(&self) -> String {
        "register the endpoint's ENI IPs as targets".into()
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let env = &self.0;
        let tg: TargetGroupOut = cx.output("target_group")?;
        let diff = self.diff(cx).await?;
        if !diff.missing.is_empty() {
            cx.begin(
                Intent::new("register_targets")
                    .key("target_group_arn", &tg.target_group_arn)
                    .key("ips", diff.missing.join(",")),
            )?;
            env.aws
                .register_ip_targets(&tg.target_group_arn, &diff.missing, PORT)
                .await
                .map_err(|e| errors::aws("registering targets", e))?;
        }
        // IPs of ENIs the endpoint no longer has (it was replaced): they would only fail health checks.
        if !diff.stale.is_empty() {
            cx.note(format!(
                "deregistering stale targets {}",
                diff.stale.join(", ")
            ));
            cx.begin(
                Intent::new("deregister_targets")
                    .key("target_group_arn", &tg.target_group_arn)
                    .key("ips", diff.stale.join(",")),
            )?;
            env.aws
                .deregister_ip_targets(&tg.target_group_arn, &diff.stale, PORT)
                .await
                .map_err(|e| errors::aws("deregistering targets", e))?;
        }
        cx.record(&diff.outputs())
    }

    async fn plan(&self, cx: &StepContext) -> Result<Planned, StepError> {
        let diff = self.diff(cx).await?;
        let mut changes = Vec::new();
        if !diff.missing.is_empty() {
            changes.push(format!("register {}", diff.missing.join(", ")));
        }
        if !diff.stale.is_empty() {
            changes.push(format!(
                "deregister {} (no ENI IP of the endpoint)",
                diff.stale.join(", ")
            ));
        }
        let planned = if changes.is_empty() {
            Planned::no_change(format!("targets [{}] registered", diff.wanted.join(", ")))
        } else {
            Planned::update(changes.join("; "))
        };
        Ok(planned.with_outputs(&diff.outputs()))
    }
}

/// The target group's registered IPs against the endpoint's ENI IPs.
struct TargetDiff {
    /// The endpoint's ENI IPs, sorted.
    wanted: Vec<String>,
    /// ENI IPs not registered.
    missing: Vec<String>,
    /// Registered IPs that are no ENI IP of the endpoint.
    stale: Vec<String>,
}

impl TargetDiff {
    fn outputs(&self) -> TargetsOut {
        TargetsOut {
            registered_ips: self.wanted.clone(),
        }
    }
}

impl TargetsStep {
    /// Compares the live targets with the endpoint's ENI IPs; reads only.
    async fn diff(&self, cx: &StepContext) -> Result<TargetDiff, StepError> {
        let endpoint: EndpointOut = cx.output("endpoint")?;
        let tg: TargetGroupOut = cx.output("target_group")?;
        let health = self
            .0
            .aws
            .target_health(&tg.target_group_arn)
            .await
            .map_err(|e| errors::aws("reading the targets", e))?;
        // A draining target is on its way out (deregistered out of band, say): registering it
        // again brings it back, and it needs no deregistering.
        let registered: BTreeSet<String> = health
            .iter()
            .filter(|t| t.state != "draining")
            .map(|t| t.ip.clone())
            .collect();
        let wanted: BTreeSet<String> = endpoint.ips.iter().cloned().collect();
        Ok(TargetDiff {
            missing: wanted.difference(&registered).cloned().collect(),
            stale: registered.difference(&wanted).cloned().collect(),
            wanted: wanted.into_iter().collect(),
        })
    }
}
