//! The target group's registrations: exactly the wanted IPs (an interface endpoint's ENI IPs,
//! field notes B.2 #9: keep the NLB's targets in sync with the endpoint's ENIs; or the service's
//! addresses, `nlb-service`). Registering is idempotent; registrations go with the target group,
//! so teardown has nothing of its own to do.

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Change, Cx, Env, Found, Observation, Res, Resource, errors, without_nulls};
use crate::aws::TargetHealth;
use crate::state::Intent;

/// The registrations the workflow wants.
pub struct Targets {
    pub port: i32,
    /// Where the IPs come from, as `plan` and `status` say it ("the endpoint's ENI IPs").
    pub from: &'static str,
}

/// What upstream decides: the target group and the IPs to register.
pub struct TargetsInputs {
    pub target_group_arn: String,
    pub ips: Vec<String>,
}

/// The registered IPs (draining ones are on their way out and do not count).
pub struct Registered(pub BTreeSet<String>);

/// What the state keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TargetsRecord {
    pub registered_ips: Vec<String>,
}

/// A registration change.
pub enum Registration {
    Register(Vec<String>),
    Deregister(Vec<String>),
}

/// The registered IPs: a draining target is on its way out (deregistered out of band, say):
/// registering it again brings it back, and it needs no deregistering.
fn registered(health: &[TargetHealth]) -> BTreeSet<String> {
    health
        .iter()
        .filter(|t| t.state != "draining")
        .map(|t| t.ip.clone())
        .collect()
}

#[async_trait]
impl Resource for Targets {
    type Inputs = TargetsInputs;
    type Live = Registered;
    type Record = TargetsRecord;
    type Fix = Registration;

    const NOUN: &'static str = "targets";
    const TEARS_DOWN: bool = false;

    fn describe(&self) -> String {
        format!("register {} as targets", self.from)
    }

    fn label(&self, live: &Self::Live) -> String {
        format!(
            "[{}]",
            live.0.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    }

    fn summary(&self, live: &Self::Live) -> String {
        format!("targets {} registered", self.label(live))
    }

    async fn find(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Found<Self::Live>> {
        // A target group made in this run holds no target yet.
        if cx.on_made_now(&inputs.target_group_arn) {
            return Ok(Found::Recorded(Registered(BTreeSet::new())));
        }
        let health = cx
            .env
            .aws
            .target_health(&inputs.target_group_arn)
            .await
            .map_err(|e| errors::aws("reading the targets", e))?;
        Ok(Found::Recorded(Registered(registered(&health))))
    }

    fn create_detail(&self, inputs: &Self::Inputs) -> String {
        format!("register {}", inputs.ips.join(", "))
    }

    async fn create(&self, _: &Cx<'_>, _: &Self::Inputs) -> Res<Option<Self::Live>> {
        Ok(Some(Registered(BTreeSet::new())))
    }

    async fn compare(
        &self,
        _: &Cx<'_>,
        inputs: &Self::Inputs,
        live: &Self::Live,
    ) -> Res<Vec<Change<Self::Fix>>> {
        let wanted: BTreeSet<String> = inputs.ips.iter().cloned().collect();
        let missing: Vec<String> = wanted.difference(&live.0).cloned().collect();
        let stale: Vec<String> = live.0.difference(&wanted).cloned().collect();
        let mut changes = Vec::new();
        if !missing.is_empty() {
            changes.push(Change::new(
                format!("register {}", missing.join(", ")),
                "",
                Registration::Register(missing),
            ));
        }
        // IPs of ENIs the endpoint no longer has (it was replaced), or a service's old address:
        // they would only fail health checks.
        if !stale.is_empty() {
            changes.push(Change::new(
                format!("deregister {} (not among {})", stale.join(", "), self.from),
                format!("deregistering stale targets {}", stale.join(", ")),
                Registration::Deregister(stale),
            ));
        }
        Ok(changes)
    }

    async fn update(
        &self,
        cx: &Cx<'_>,
        inputs: &Self::Inputs,
        _: &Self::Live,
        fix: &Self::Fix,
    ) -> Res<()> {
        let (aws, tg) = (&cx.env.aws, &inputs.target_group_arn);
        let (action, ips, what) = match fix {
            Registration::Register(ips) => ("register_targets", ips, "registering targets"),
            Registration::Deregister(ips) => ("deregister_targets", ips, "deregistering targets"),
        };
        cx.begin(
            Intent::new(action)
                .key("target_group_arn", tg)
                .key("ips", ips.join(",")),
        )?;
        match fix {
            Registration::Register(_) => aws.register_ip_targets(tg, ips, self.port).await,
            Registration::Deregister(_) => aws.deregister_ip_targets(tg, ips, self.port).await,
        }
        .map_err(|e| errors::aws(what, e))
    }

    async fn record(&self, _: &Cx<'_>, inputs: &Self::Inputs, _: &Self::Live) -> Res<Self::Record> {
        let wanted: BTreeSet<String> = inputs.ips.iter().cloned().collect();
        Ok(TargetsRecord {
            registered_ips: wanted.into_iter().collect(),
        })
    }

    /// Registered targets and their health, against the wanted IPs.
    async fn observe(
        &self,
        env: &Env,
        _: &Self::Record,
        inputs: Option<&Self::Inputs>,
    ) -> Observation {
        let mut o = Observation::default();
        o.set("targets", Vec::<String>::new());
        o.set("unregistered_ips", Vec::<String>::new());
        o.set("stale_targets", Vec::<String>::new());
        let Some(inputs) = inputs.filter(|i| !i.target_group_arn.is_empty()) else {
            o.line("targets", "[]");
            return o;
        };
        let health = match env.aws.target_health(&inputs.target_group_arn).await {
            Ok(health) => health,
            Err(err) => {
                o.error("targets", err);
                return o;
            }
        };
        let shown: Vec<String> = health
            .iter()
            .map(|t| match &t.reason {
                Some(r) => format!("{} {} ({r})", t.ip, t.state),
                None => format!("{} {}", t.ip, t.state),
            })
            .collect();
        o.line("targets", format!("[{}]", shown.join(", ")));
        let registered = registered(&health);
        let wanted: BTreeSet<String> = inputs.ips.iter().cloned().collect();
        o.set(
            "unregistered_ips",
            wanted.difference(&registered).collect::<Vec<_>>(),
        );
        o.set(
            "stale_targets",
            registered.difference(&wanted).collect::<Vec<_>>(),
        );
        let views = health
            .into_iter()
            .map(|t| without_nulls(json!({ "ip": t.ip, "state": t.state, "reason": t.reason })));
        o.set("targets", views.collect::<Vec<_>>());
        o
    }
}
