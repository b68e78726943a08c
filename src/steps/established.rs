//! `established`: wait until the rule is `ESTABLISHED` — the step no peer tool takes
//! (field notes §0.2: Terraform counts `PENDING` as success).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::outputs::{EstablishedOut, NccOut, RuleOut};
use super::rule::{failed, state_text};
use super::{Env, errors};
use crate::databricks::{ConnectionState, PrivateEndpointRule};
use crate::engine::{Planned, Poll, Step, StepContext, StepError, StepId};

/// A `PENDING` rule expires after this long (reference §3.2, §8.1).
const PENDING_EXPIRY: Duration = Duration::from_secs(14 * 24 * 3600);

pub struct EstablishedStep(pub Env);

#[async_trait]
impl Step for EstablishedStep {
    fn id(&self) -> StepId {
        "established"
    }

    fn depends_on(&self) -> Vec<StepId> {
        vec!["accept"]
    }

    fn describe(&self) -> String {
        "rule ESTABLISHED".into()
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let env = &self.0;
        let policy = env.wait(10, 60, env.workflow.timeouts.rule_established);
        let state = cx
            .wait_for("the rule to become ESTABLISHED", &policy, || async {
                examine(&self.current(cx).await?)
            })
            .await?;
        cx.record(&EstablishedOut {
            connection_state: state.as_str().to_owned(),
        })
    }

    async fn plan(&self, cx: &StepContext) -> Result<Planned, StepError> {
        let rule = self.current(cx).await?;
        Ok(match examine(&rule)? {
            Poll::Ready(state) => Planned::no_change(format!("rule {} {}", rule.rule_id, state))
                .with_outputs(&EstablishedOut {
                    connection_state: state.as_str().to_owned(),
                }),
            Poll::Pending(seen) => Planned::wait(format!(
                "rule {} is {seen}: up waits until it is ESTABLISHED",
                rule.rule_id
            )),
        })
    }
}

impl EstablishedStep {
    /// The rule as Databricks reports it now.
    async fn current(&self, cx: &StepContext) -> Result<PrivateEndpointRule, StepError> {
        let ncc: NccOut = cx.output("ncc")?;
        let rule: RuleOut = cx.output("rule")?;
        self.0
            .databricks
            .get_rule(&ncc.ncc_id, &rule.rule_id)
            .await
            .map_err(|e| errors::databricks("reading the rule", e))
    }
}

/// `ESTABLISHED` is ready; a failed state is an error saying what to do; anything else
/// (`PENDING`, `CREATING`, a state this plink does not know) keeps waiting, never success.
fn examine(rule: &PrivateEndpointRule) -> Result<Poll<ConnectionState>, StepError> {
    match &rule.connection_state {
        Some(ConnectionState::Established) => Ok(Poll::Ready(ConnectionState::Established)),
        Some(s) if s.is_failed() => Err(failed(rule)),
        Some(ConnectionState::Pending) => Ok(Poll::Pending(pending_text(rule))),
        _ => Ok(Poll::Pending(state_text(rule))),
    }
}

/// `PENDING (13 days left before it expires)`.
pub fn pending_text(rule: &PrivateEndpointRule) -> String {
    match days_left(rule) {
        Some(days) => format!("PENDING, {days} day(s) left before it expires"),
        None => "PENDING".to_owned(),
    }
}

/// Whole days before a `PENDING` rule expires, from its creation time.
pub fn days_left(rule: &PrivateEndpointRule) -> Option<u64> {
    let created = Duration::from_millis(u64::try_from(rule.creation_time?).ok()?);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
    let left = (created + PENDING_EXPIRY).saturating_sub(now);
    Some(left.as_secs() / (24 * 3600))
}
