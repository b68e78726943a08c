//! Acceptance of exactly the connection the rule reports, and only if Databricks' account owns
//! it (field notes B.2 #7). Databricks opens the connection; plink only accepts it. Any other
//! pending connection on the service is left alone and reported. The batch answer's
//! `Unsuccessful` list is checked (aws-controllers-k8s #2791).
//!
//! Teardown rejects the service's remaining connections: AWS refuses to delete a service while a
//! connection is `pendingAcceptance`, `pending` or `available` (`ExistingVpcEndpointConnections`),
//! and Databricks keeps the endpoint of a deleted rule connected for up to a day: waiting is not
//! an option, rejecting is.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::preflight::{
    AWS_CREDENTIALS, Finding, PLACEHOLDER_ENDPOINT, PLACEHOLDER_SERVICE, ec2_permission,
};
use super::{
    Change, Cx, Env, Found, Observation, Readiness, Res, Resource, Teardown, TeardownAction, errors,
};
use crate::aws::{EndpointConnection, EndpointService};
use crate::databricks::ConnectionState;
use crate::engine::{Condition, Poll, StepError};
use crate::state::Intent;

/// The acceptance the workflow wants.
pub struct ConnectionAcceptance {
    /// The account allowed to connect (Databricks', from its principal ARN).
    pub owner: String,
    pub timeout: Duration,
    /// Foreign pending connections already reported (each once).
    reported: Mutex<BTreeSet<String>>,
}

impl ConnectionAcceptance {
    /// Accepts connections of the account in `principal_arn` only.
    ///
    /// # Errors
    /// The ARN names no account.
    pub fn new(principal_arn: &str, timeout: Duration) -> Res<Self> {
        Ok(Self {
            owner: databricks_account(principal_arn)?,
            timeout,
            reported: Mutex::default(),
        })
    }
}

/// What upstream decides: the service, and the rule's endpoint once Databricks reports it.
pub struct AcceptanceInputs {
    pub service_id: String,
    pub rule_id: String,
    pub rule_vpc_endpoint_id: Option<String>,
}

/// What the state keeps: the connection plink accepted (written once it is accepted).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AcceptanceRecord {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub accepted_vpc_endpoint_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub owner: String,
}

/// What teardown records (under `down_connections`): the connections rejected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectionsDown {
    pub service_id: String,
    pub rejected_vpc_endpoint_ids: Vec<String>,
}

/// Connection states that keep a service from being deleted.
const LIVE: &[&str] = &["pendingAcceptance", "pending", "available"];

impl ConnectionAcceptance {
    /// The connection plink accepted, known `available` without a call: the rule, as read in
    /// this run, is `ESTABLISHED` through it, which Databricks reports only once AWS made the
    /// connection `available` (field update §5.2). So a converged `up` reads no connection
    /// (issue #13); anything else (not accepted by plink, another endpoint, not ESTABLISHED)
    /// is looked at on AWS.
    fn known_available(
        &self,
        cx: &Cx<'_>,
        inputs: &AcceptanceInputs,
        vpce: &str,
    ) -> Option<EndpointConnection> {
        let rec: AcceptanceRecord = cx.recorded();
        let rule = cx.env.peek_rule(&inputs.rule_id)?;
        let established = rule.connection_state == Some(ConnectionState::Established);
        (established
            && rule.vpc_endpoint_id() == Some(vpce)
            && rec.accepted_vpc_endpoint_id == vpce
            && rec.owner == self.owner)
            .then(|| EndpointConnection {
                service_id: inputs.service_id.clone(),
                vpce_id: vpce.to_owned(),
                owner: rec.owner,
                state: "available".into(),
                connection_id: None,
                created: None,
            })
    }

    async fn connections(env: &Env, service_id: &str) -> Res<Vec<EndpointConnection>> {
        env.aws
            .endpoint_connections(service_id, None)
            .await
            .map_err(|e| errors::aws("reading endpoint connections", e))
    }

    /// The rule's connection, checked: only from Databricks' account, and not in a state it
    /// cannot leave.
    fn examine(&self, conn: &EndpointConnection, service_id: &str) -> Res<()> {
        let vpce = &conn.vpce_id;
        if conn.owner != self.owner {
            return Err(StepError::needs_user(
                format!(
                    "connection {vpce} is owned by account {}, not by Databricks ({}); plink will not accept it",
                    conn.owner, self.owner
                ),
                "check the rule's vpc_endpoint_id in the account console; reject that connection if you do not know it",
            ));
        }
        match conn.state.as_str() {
            "rejected" => Err(StepError::needs_user(
                format!("connection {vpce} was rejected on endpoint service {service_id}"),
                "someone rejected it on the AWS side; the rule becomes REJECTED: run `plink up` again to replace the rule and accept its new connection",
            )),
            state @ ("failed" | "expired" | "deleted" | "deleting") => Err(StepError::needs_user(
                format!("connection {vpce} is {state}"),
                "run `plink up` again: the rule will be replaced and its new connection accepted",
            )),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl Resource for ConnectionAcceptance {
    type Inputs = AcceptanceInputs;
    type Live = EndpointConnection;
    type Record = AcceptanceRecord;
    type Fix = ();

    const NOUN: &'static str = "connection";
    const WAITS_FOR: &'static str = "the connection to be accepted";
    const POLL_SECS: (u64, u64) = (5, 30);
    const FOUND_BY: &'static str = "of the rule found on the endpoint service";

    fn describe(&self) -> String {
        "accept the Databricks endpoint's connection".into()
    }

    fn label(&self, live: &Self::Live) -> String {
        live.vpce_id.clone()
    }

    fn summary(&self, live: &Self::Live) -> String {
        format!(
            "connection {} of Databricks ({}) {}",
            live.vpce_id, self.owner, live.state
        )
    }

    fn creates(&self) -> bool {
        false
    }

    /// Whether the credentials may accept the rule's connection (EC2 `DryRun`), unless plink
    /// accepted it already: found otherwise only once the rule asks, at the end of a fresh `up`.
    async fn preflight(&self, cx: &Cx<'_>, inputs: Option<&Self::Inputs>) -> Vec<Finding> {
        if cx.has_record() {
            return Vec::new();
        }
        let service = inputs.map_or(PLACEHOLDER_SERVICE, |i| i.service_id.as_str());
        let answer = cx
            .env
            .aws
            .dry_run_accept_connection(service, PLACEHOLDER_ENDPOINT)
            .await;
        ec2_permission(AWS_CREDENTIALS, "AcceptVpcEndpointConnections", answer)
            .into_iter()
            .collect()
    }

    async fn find(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Found<Self::Live>> {
        let Some(vpce) = &inputs.rule_vpc_endpoint_id else {
            return Ok(Found::Missing { gone: None });
        };
        if let Some(conn) = self.known_available(cx, inputs, vpce) {
            return Ok(Found::Recorded(conn));
        }
        let conns = Self::connections(cx.env, &inputs.service_id).await?;
        for other in conns
            .iter()
            .filter(|c| &c.vpce_id != vpce && c.is_pending_acceptance())
        {
            let first = self
                .reported
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(other.vpce_id.clone());
            if first {
                cx.note(format!(
                    "leaving pending connection {} of account {} alone (it is not the rule's endpoint)",
                    other.vpce_id, other.owner
                ));
            }
        }
        let Some(conn) = conns.into_iter().find(|c| &c.vpce_id == vpce) else {
            return Ok(Found::Missing { gone: None });
        };
        self.examine(&conn, &inputs.service_id)?;
        Ok(Found::Recorded(conn))
    }

    fn create_detail(&self, inputs: &Self::Inputs) -> String {
        match &inputs.rule_vpc_endpoint_id {
            Some(vpce) => format!("no connection from {vpce} yet"),
            None => {
                "the rule has no VPC endpoint yet: up waits for it, then accepts its connection"
                    .into()
            }
        }
    }

    async fn create(&self, _: &Cx<'_>, inputs: &Self::Inputs) -> Res<Option<Self::Live>> {
        if inputs.rule_vpc_endpoint_id.is_none() {
            return Err(StepError::terminal(
                "the rule has no vpc_endpoint_id recorded; run `plink up` again",
            ));
        }
        Ok(None)
    }

    async fn compare(
        &self,
        _: &Cx<'_>,
        _: &Self::Inputs,
        conn: &Self::Live,
    ) -> Res<Vec<Change<()>>> {
        Ok(if conn.is_pending_acceptance() {
            vec![Change::new(
                format!(
                    "of Databricks ({}) is pendingAcceptance: up accepts it",
                    self.owner
                ),
                "",
                (),
            )]
        } else {
            Vec::new()
        })
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        inputs: &Self::Inputs,
        conn: &Self::Live,
        _: &(),
    ) -> Res<()> {
        cx.begin(
            Intent::new("accept_vpc_endpoint_connection")
                .key("service_id", &inputs.service_id)
                .key("vpc_endpoint_id", &conn.vpce_id),
        )?;
        match cx
            .env
            .aws
            .accept_endpoint_connections(&inputs.service_id, std::slice::from_ref(&conn.vpce_id))
            .await
        {
            Ok(()) => Ok(()),
            // A per-item failure usually means the connection changed state under us (rejected
            // meanwhile): look again, and report what it is now.
            Err(e) if !e.unsuccessful.is_empty() => Err(StepError::retryable(format!(
                "accept refused ({}); reading the connection again",
                e.summary()
            ))),
            Err(e) => Err(errors::aws("accepting the connection", e)),
        }
    }

    /// An accepted connection is `pending` until AWS makes it `available` (field update §5.2).
    fn updated(&self, conn: &Self::Live, _: &()) -> Option<Self::Live> {
        Some(EndpointConnection {
            state: "pending".into(),
            ..conn.clone()
        })
    }

    /// Acceptable (Databricks', not dead), then accepted: `pending` or `available`. Its
    /// becoming `available` is what the rule's `ESTABLISHED` reports (the next node waits for
    /// that, and sees a connection that fails instead as the rule's failure); states this
    /// plink does not know keep waiting.
    fn readiness(&self, conn: &Self::Live) -> Readiness {
        let acceptable = |c: &EndpointConnection| match self.examine(c, &c.service_id) {
            Ok(()) => Readiness::Ready,
            Err(e) => Readiness::Failed(e),
        };
        acceptable.and(accepted).check(conn)
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn refresh(&self, cx: &Cx<'_>, conn: &Self::Live) -> Res<Option<Self::Live>> {
        Ok(Self::connections(cx.env, &conn.service_id)
            .await?
            .into_iter()
            .find(|c| c.vpce_id == conn.vpce_id))
    }

    async fn record(&self, _: &Cx<'_>, _: &Self::Inputs, conn: &Self::Live) -> Res<Self::Record> {
        Ok(if conn.is_pending_acceptance() {
            AcceptanceRecord::default()
        } else {
            AcceptanceRecord {
                accepted_vpc_endpoint_id: conn.vpce_id.clone(),
                owner: self.owner.clone(),
            }
        })
    }

    /// Every connection to the endpoint service, as the AWS side sees it.
    async fn observe(
        &self,
        env: &Env,
        _: &Self::Record,
        inputs: Option<&Self::Inputs>,
    ) -> Observation {
        let mut o = Observation::default();
        o.set("connections", Vec::<String>::new());
        let Some(inputs) = inputs.filter(|i| !i.service_id.is_empty()) else {
            return o;
        };
        let conns = match env.aws.endpoint_connections(&inputs.service_id, None).await {
            Ok(conns) => conns,
            Err(err) => {
                o.error("endpoint connections", err);
                return o;
            }
        };
        let mut views = Vec::new();
        for c in conns {
            // `is_rule_endpoint`: the connection of plink's rule.
            let ours = Some(&c.vpce_id) == inputs.rule_vpc_endpoint_id.as_ref();
            let mark = if ours { " (the rule's endpoint)" } else { "" };
            o.line(
                "connection",
                format!("{} owner {} {}{mark}", c.vpce_id, c.owner, c.state),
            );
            views.push(json!({
                "vpc_endpoint_id": c.vpce_id,
                "owner": c.owner,
                "state": c.state,
                "is_rule_endpoint": ours,
            }));
        }
        o.set("connections", views);
        o
    }

    /// The connections `down` would reject ([`ConnectionAcceptance::doomed`]).
    async fn teardown_plan(
        &self,
        cx: &Cx<'_>,
        inputs: Option<&Self::Inputs>,
    ) -> Res<Vec<Teardown>> {
        let Some((service, only, _)) = Self::doomed(cx, inputs).await? else {
            return Ok(Vec::new());
        };
        let mut live = live_connections(cx.env, &service.id).await?;
        live.retain(|c| only.as_deref().is_none_or(|v| v == c.vpce_id));
        Ok(live
            .into_iter()
            .map(|c| {
                let detail = format!(
                    "connection {} of account {} ({}) to endpoint service {}",
                    c.vpce_id, c.owner, c.state, service.id
                );
                Teardown::new(TeardownAction::Reject, c.vpce_id, detail)
            })
            .collect())
    }

    /// Rejects every remaining connection of plink's endpoint service — on a service plink did
    /// not create (and without `--delete-adopted`), only the connection of plink's rule.
    async fn teardown(&self, cx: &Cx<'_>, inputs: Option<&Self::Inputs>) -> Res<()> {
        match Self::doomed(cx, inputs).await? {
            Some((service, only, rule)) => {
                reject_live(cx, &service, only.as_deref(), rule.as_deref(), self.timeout).await
            }
            None => Ok(()),
        }
    }
}

impl ConnectionAcceptance {
    /// Which connections `down` rejects: the live endpoint service, the one connection to
    /// reject on a service plink did not create (`None`: all of them), and the rule's endpoint.
    /// `None`: nothing to reject (no service, or someone else's without plink's rule).
    async fn doomed(
        cx: &Cx<'_>,
        inputs: Option<&AcceptanceInputs>,
    ) -> Res<Option<(EndpointService, Option<String>, Option<String>)>> {
        let Some(inputs) = inputs.filter(|i| !i.service_id.is_empty()) else {
            return Ok(None);
        };
        let service = match cx
            .env
            .aws
            .describe_endpoint_service(&inputs.service_id)
            .await
        {
            Ok(Some(s)) if !s.state.eq_ignore_ascii_case("Deleted") => s,
            Ok(_) => return Ok(None),
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(errors::aws("reading the endpoint service", e)),
        };
        let rule = inputs.rule_vpc_endpoint_id.clone();
        let ours =
            crate::aws::TagQuery::deployment(cx.env.deployment.as_str()).matches(&service.tags);
        if ours || cx.env.delete_adopted() {
            Ok(Some((service, None, rule)))
        } else if let Some(vpce) = rule.clone() {
            // Someone else's service: only the connection plink's rule opened is plink's.
            Ok(Some((service, Some(vpce), rule)))
        } else {
            Ok(None)
        }
    }
}

/// The connection is accepted: `pending` (provisioning) or `available`.
fn accepted(c: &EndpointConnection) -> Readiness {
    if c.is_available() || c.state == "pending" {
        Readiness::Ready
    } else {
        Readiness::Pending(format!("state={}", c.state))
    }
}

/// Rejects the live connections of `service` (only `only`, when given) and waits until they are
/// gone; records them as [`ConnectionsDown`] in the running step.
pub(super) async fn reject_live(
    cx: &Cx<'_>,
    service: &EndpointService,
    only: Option<&str>,
    rule_vpce: Option<&str>,
    timeout: Duration,
) -> Res<()> {
    let aws = &cx.env.aws;
    let only_ours = |c: &EndpointConnection| only.is_none_or(|v| v == c.vpce_id);
    let mut live = live_connections(cx.env, &service.id).await?;
    live.retain(|c| only_ours(c));
    if live.is_empty() {
        return Ok(());
    }
    for c in &live {
        if rule_vpce == Some(c.vpce_id.as_str()) {
            cx.note(format!(
                "rejecting {} ({}), the endpoint of plink's rule: Databricks would keep it \
                 connected for up to a day after the rule is deleted",
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
        // A connection may leave by itself between the look and the reject: the endpoint of a
        // deleted rule is being deleted by Databricks (`InvalidVpcEndpointState … 'deleting'`).
        // Only a connection that is still live is a failure (found by the crash suite).
        let mut still = live_connections(cx.env, &service.id).await?;
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
        .step
        .recorded::<ConnectionsDown>()
        .filter(|r| r.service_id == service.id)
        .map(|r| r.rejected_vpc_endpoint_ids)
        .unwrap_or_default();
    rejected.extend(ids);
    rejected.sort();
    rejected.dedup();
    cx.step.record(&ConnectionsDown {
        service_id: service.id.clone(),
        rejected_vpc_endpoint_ids: rejected,
    })?;
    let policy = cx.env.wait(2, 10, timeout);
    cx.step
        .wait_for("the rejected connections to leave", &policy, || async {
            let mut left = live_connections(cx.env, &service.id).await?;
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

async fn live_connections(env: &Env, service_id: &str) -> Res<Vec<EndpointConnection>> {
    match env.aws.endpoint_connections(service_id, None).await {
        Ok(conns) => Ok(conns
            .into_iter()
            .filter(|c| LIVE.iter().any(|s| s.eq_ignore_ascii_case(&c.state)))
            .collect()),
        // The service went away meanwhile: no connection is left.
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        Err(e) => Err(errors::aws("reading the endpoint service's connections", e)),
    }
}

/// The account in the principal ARN (`arn:aws:iam::565502421330:role/…` → `565502421330`).
fn databricks_account(principal_arn: &str) -> Res<String> {
    principal_arn
        .split(':')
        .nth(4)
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
        .ok_or_else(|| {
            StepError::terminal(format!(
                "cannot read the account of principal {principal_arn}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_comes_from_the_principal_arn() {
        assert_eq!(
            databricks_account(
                "arn:aws:iam::565502421330:role/private-connectivity-role-us-east-1"
            )
            .unwrap(),
            "565502421330"
        );
        assert_eq!(
            databricks_account("arn:aws-us-gov:iam::347038500609:role/x").unwrap(),
            "347038500609"
        );
        assert!(databricks_account("*").is_err());
    }
}
