//! `down_connections`: reject every remaining connection of plink's endpoint service.
//!
//! AWS refuses to delete a service while a connection is `pendingAcceptance`, `pending` or
//! `available` (`ExistingVpcEndpointConnections`), and the endpoint of a rule Databricks just
//! deactivated stays connected for up to a day: waiting is not an option, rejecting is.

use async_trait::async_trait;

use super::outputs::ConnectionsDown;
use super::{Down, endpoint_service, records};
use crate::aws::EndpointService;
use crate::engine::{Poll, Step, StepContext, StepError, StepId};
use crate::state::Intent;
use crate::steps::errors;

/// Connection states that keep a service from being deleted.
const LIVE: &[&str] = &["pendingAcceptance", "pending", "available"];

pub struct DownConnections(pub Down);

#[async_trait]
impl Step for DownConnections {
    fn id(&self) -> StepId {
        "down_connections"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec!["down_rule"]
    }

    fn describe(&self) -> String {
        "reject the endpoint service's remaining connections".into()
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let d = &self.0;
        for service in endpoint_service::find(d, cx).await? {
            if d.is_ours(&service.tags, "endpoint_service") || d.opts.delete_adopted {
                reject_live(d, cx, &service, None).await?;
            } else {
                // Someone else's service: only the connection plink's rule opened is plink's.
                let rule: records::Rule = records::of(cx, "rule");
                if let Some(vpce) = rule.vpc_endpoint_id.as_deref() {
                    reject_live(d, cx, &service, Some(vpce)).await?;
                }
            }
        }
        Ok(())
    }
}

/// Rejects the live connections of `service` (only `only`, when given) and waits until they
/// are gone; records them.
pub(super) async fn reject_live(
    d: &Down,
    cx: &StepContext,
    service: &EndpointService,
    only: Option<&str>,
) -> Result<(), StepError> {
    let aws = &d.env.aws;
    let only_ours = |c: &crate::aws::EndpointConnection| only.is_none_or(|v| v == c.vpce_id);
    let mut live = live_connections(d, &service.id).await?;
    live.retain(|c| only_ours(c));
    if live.is_empty() {
        return Ok(());
    }
    let rule: records::Rule = records::of(cx, "rule");
    for c in &live {
        if rule.vpc_endpoint_id.as_deref() == Some(c.vpce_id.as_str()) {
            cx.note(format!(
                "rejecting {} ({}), the endpoint of the deleted rule: Databricks would keep it \
                 connected for up to a day",
                c.vpce_id, c.state
            ));
        } else {
            cx.note(format!(
                "rejecting {} of account {} ({})",
                c.vpce_id, c.owner, c.state
            ));
        }
    }
    let ids: Vec<String> = live.iter().map(|c| c.vpce_id.clone()).collect();
    cx.begin(
        Intent::new("reject_vpc_endpoint_connections")
            .key("service_id", &service.id)
            .key("vpc_endpoint_ids", ids.join(",")),
    )?;
    if let Err(e) = aws.reject_endpoint_connections(&service.id, &ids).await {
        // A connection may leave by itself between the look and the reject: the endpoint of the
        // deleted rule is being deleted by Databricks (`InvalidVpcEndpointState … 'deleting'`).
        // Only a connection that is still live is a failure (found by the crash suite).
        let mut still = live_connections(d, &service.id).await?;
        still.retain(|c| ids.contains(&c.vpce_id));
        if !still.is_empty() {
            return Err(errors::aws(
                "rejecting the endpoint service's connections",
                e,
            ));
        }
        cx.note("the connections left by themselves meanwhile");
    }
    let mut rejected = cx
        .recorded::<ConnectionsDown>()
        .filter(|r| r.service_id == service.id)
        .map(|r| r.rejected_vpc_endpoint_ids)
        .unwrap_or_default();
    rejected.extend(ids);
    rejected.sort();
    rejected.dedup();
    cx.record(&ConnectionsDown {
        service_id: service.id.clone(),
        rejected_vpc_endpoint_ids: rejected,
    })?;
    let env = &d.env;
    let policy = env.wait(2, 10, env.workflow.timeouts.endpoint_service);
    cx.wait_for("the rejected connections to leave", &policy, || async {
        let mut left = live_connections(d, &service.id).await?;
        left.retain(|c| only_ours(c));
        if left.is_empty() {
            Ok(Poll::Ready(()))
        } else {
            Ok(Poll::Pending(
                left.iter()
                    .map(|c| format!("{} {}", c.vpce_id, c.state))
                    .collect::<Vec<_>>()
                    .join(", "),
            ))
        }
    })
    .await
}

async fn live_connections(
    d: &Down,
    service_id: &str,
) -> Result<Vec<crate::aws::EndpointConnection>, StepError> {
    match d.env.aws.endpoint_connections(service_id, None).await {
        Ok(conns) => Ok(conns
            .into_iter()
            .filter(|c| LIVE.iter().any(|s| s.eq_ignore_ascii_case(&c.state)))
            .collect()),
        // The service went away meanwhile: no connection is left.
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        Err(e) => Err(errors::aws("reading the endpoint service's connections", e)),
    }
}
