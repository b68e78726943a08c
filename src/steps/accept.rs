//! `accept`: accept exactly the connection the rule reports, and only if Databricks' account
//! owns it (field notes B.2 #7). Any other pending connection on the service is left alone and
//! reported. The batch answer's `Unsuccessful` list is checked (aws-controllers-k8s #2791).

use std::collections::BTreeSet;

use async_trait::async_trait;

use super::outputs::{AcceptOut, EndpointServiceOut, RuleOut};
use super::{Env, errors};
use crate::aws::EndpointConnection;
use crate::engine::{Planned, Poll, Step, StepContext, StepError, StepId};
use crate::state::Intent;

pub struct AcceptStep(pub Env);

#[async_trait]
impl Step for AcceptStep {
    fn id(&self) -> StepId {
        "accept"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec!["rule", "endpoint_service"]
    }

    fn describe(&self) -> String {
        "accept the Databricks endpoint's connection".into()
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let env = &self.0;
        let rule: RuleOut = cx.output("rule")?;
        let service: EndpointServiceOut = cx.output("endpoint_service")?;
        let vpce = rule.vpc_endpoint_id.clone().ok_or_else(|| {
            StepError::terminal("the rule has no vpc_endpoint_id recorded; run `plink up` again")
        })?;
        let owner = databricks_account(&env.workflow.databricks.principal_arn)?;
        let reported = std::sync::Mutex::new(BTreeSet::new());
        let policy = env.wait(5, 30, env.workflow.timeouts.rule_established);
        cx.wait_for(&format!("connection {vpce} to be available"), &policy, || async {
            let conns = self.connections(&service).await?;
            for other in conns.iter().filter(|c| c.vpce_id != vpce && c.state == "pendingAcceptance") {
                if reported.lock().expect("not poisoned").insert(other.vpce_id.clone()) {
                    cx.note(format!(
                        "leaving pending connection {} of account {} alone (it is not the rule's endpoint)",
                        other.vpce_id, other.owner
                    ));
                }
            }
            match examine(&conns, &vpce, &owner, &service)? {
                Connection::Available => Ok(Poll::Ready(())),
                Connection::PendingAcceptance => {
                    cx.begin(Intent::new("accept_vpc_endpoint_connection").key("service_id", &service.service_id).key("vpc_endpoint_id", &vpce))?;
                    if let Err(e) = env.aws.accept_endpoint_connections(&service.service_id, std::slice::from_ref(&vpce)).await {
                        // A per-item failure usually means the connection changed state under us
                        // (rejected meanwhile): poll again and report what it is now.
                        if e.unsuccessful.is_empty() {
                            return Err(errors::aws("accepting the connection", e));
                        }
                        return Ok(Poll::Pending(format!("accept refused ({}); reading the connection again", e.summary())));
                    }
                    cx.record(&AcceptOut { accepted_vpc_endpoint_id: vpce.clone(), owner: owner.clone() })?;
                    Ok(Poll::Pending("accepted".into()))
                }
                Connection::NotYet(seen) => Ok(Poll::Pending(seen)),
            }
        })
        .await?;
        cx.record(&AcceptOut {
            accepted_vpc_endpoint_id: vpce,
            owner,
        })
    }

    async fn plan(&self, cx: &StepContext) -> Result<Planned, StepError> {
        let rule: RuleOut = cx.output("rule")?;
        let service: EndpointServiceOut = cx.output("endpoint_service")?;
        let owner = databricks_account(&self.0.workflow.databricks.principal_arn)?;
        let Some(vpce) = rule.vpc_endpoint_id else {
            return Ok(Planned::wait(
                "the rule has no VPC endpoint yet: up waits for it, then accepts its connection",
            ));
        };
        let conns = self.connections(&service).await?;
        let out = AcceptOut {
            accepted_vpc_endpoint_id: vpce.clone(),
            owner: owner.clone(),
        };
        let planned = match examine(&conns, &vpce, &owner, &service)? {
            Connection::Available => Planned::no_change(format!(
                "connection {vpce} of Databricks ({owner}) available"
            ))
            .with_outputs(&out),
            Connection::PendingAcceptance => Planned::update(format!(
                "connection {vpce} of Databricks ({owner}) is pendingAcceptance: up accepts it"
            )),
            Connection::NotYet(seen) => Planned::wait(format!(
                "connection {vpce}: {seen}; up waits until it is available"
            )),
        };
        Ok(planned)
    }
}

/// Where the rule's connection stands, as far as accepting it goes.
enum Connection {
    Available,
    PendingAcceptance,
    /// Not there yet, or accepted and provisioning (or a state this plink does not know).
    NotYet(String),
}

/// Finds the rule's connection among the service's and checks it may be accepted: only from
/// Databricks' account, and not in a state it cannot leave.
fn examine(
    conns: &[EndpointConnection],
    vpce: &str,
    owner: &str,
    service: &EndpointServiceOut,
) -> Result<Connection, StepError> {
    let Some(conn) = conns.iter().find(|c| c.vpce_id == vpce) else {
        return Ok(Connection::NotYet(format!("no connection from {vpce} yet")));
    };
    if conn.owner != owner {
        return Err(StepError::needs_user(
            format!(
                "connection {vpce} is owned by account {}, not by Databricks ({owner}); plink will not accept it",
                conn.owner
            ),
            "check the rule's vpc_endpoint_id in the account console; reject that connection if you do not know it",
        ));
    }
    match conn.state.as_str() {
        "available" => Ok(Connection::Available),
        "pendingAcceptance" => Ok(Connection::PendingAcceptance),
        "rejected" => Err(StepError::needs_user(
            format!(
                "connection {vpce} was rejected on endpoint service {}",
                service.service_id
            ),
            "someone rejected it on the AWS side; the rule becomes REJECTED: run `plink up` again to replace the rule and accept its new connection",
        )),
        state @ ("failed" | "expired" | "deleted" | "deleting") => Err(StepError::needs_user(
            format!("connection {vpce} is {state}"),
            "run `plink up` again: the rule will be replaced and its new connection accepted",
        )),
        // `pending` (accepted, provisioning) or a state this plink does not know.
        state => Ok(Connection::NotYet(format!("state={state}"))),
    }
}

impl AcceptStep {
    async fn connections(
        &self,
        service: &EndpointServiceOut,
    ) -> Result<Vec<EndpointConnection>, StepError> {
        self.0
            .aws
            .endpoint_connections(&service.service_id, None)
            .await
            .map_err(|e| errors::aws("reading endpoint connections", e))
    }
}

/// The account in the principal ARN (`arn:aws:iam::565502421330:role/…` → `565502421330`).
fn databricks_account(principal_arn: &str) -> Result<String, StepError> {
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
