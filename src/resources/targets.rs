//! The target group's registrations: exactly the wanted IPs (the endpoint's ENI IPs; field notes
//! B.2 #9: keep the NLB's targets in sync with the endpoint's ENIs). Registering is idempotent;
//! registrations go with the target group, so teardown has nothing of its own to do.

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{Change, Cx, Env, Found, Observation, Res, Resource, errors};
use crate::state::Intent;

/// The registrations the workflow wants.
pub struct Targets {
    pub port: i32,
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

/// One registered target in `status`.
#[derive(Debug, Clone, Serialize)]
pub struct TargetView {
    pub ip: String,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
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
        "register the endpoint's ENI IPs as targets".into()
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
        let health = cx
            .env
            .aws
            .target_health(&inputs.target_group_arn)
            .await
            .map_err(|e| errors::aws("reading the targets", e))?;
        // A draining target is on its way out (deregistered out of band, say): registering it
        // again brings it back, and it needs no deregistering.
        Ok(Found::Recorded(Registered(
            health
                .into_iter()
                .filter(|t| t.state != "draining")
                .map(|t| t.ip)
                .collect(),
        )))
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
        // IPs of ENIs the endpoint no longer has (it was replaced): they would only fail health
        // checks.
        if !stale.is_empty() {
            changes.push(Change::new(
                format!(
                    "deregister {} (no ENI IP of the endpoint)",
                    stale.join(", ")
                ),
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
        let aws = &cx.env.aws;
        let tg = &inputs.target_group_arn;
        match fix {
            Registration::Register(ips) => {
                cx.begin(
                    Intent::new("register_targets")
                        .key("target_group_arn", tg)
                        .key("ips", ips.join(",")),
                )?;
                aws.register_ip_targets(tg, ips, self.port)
                    .await
                    .map_err(|e| errors::aws("registering targets", e))
            }
            Registration::Deregister(ips) => {
                cx.begin(
                    Intent::new("deregister_targets")
                        .key("target_group_arn", tg)
                        .key("ips", ips.join(",")),
                )?;
                aws.deregister_ip_targets(tg, ips, self.port)
                    .await
                    .map_err(|e| errors::aws("deregistering targets", e))
            }
        }
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
        o.set("targets", Vec::<TargetView>::new());
        o.set("unregistered_ips", Vec::<String>::new());
        o.set("stale_targets", Vec::<String>::new());
        let Some(inputs) = inputs.filter(|i| !i.target_group_arn.is_empty()) else {
            o.line("targets", "[]");
            return o;
        };
        match env.aws.target_health(&inputs.target_group_arn).await {
            Ok(health) => {
                let shown: Vec<String> = health
                    .iter()
                    .map(|t| {
                        format!(
                            "{} {}{}",
                            t.ip,
                            t.state,
                            t.reason
                                .as_ref()
                                .map(|r| format!(" ({r})"))
                                .unwrap_or_default()
                        )
                    })
                    .collect();
                o.line("targets", format!("[{}]", shown.join(", ")));
                let registered: BTreeSet<String> = health
                    .iter()
                    .filter(|t| t.state != "draining")
                    .map(|t| t.ip.clone())
                    .collect();
                let wanted: BTreeSet<String> = inputs.ips.iter().cloned().collect();
                o.set(
                    "targets",
                    health
                        .into_iter()
                        .map(|t| TargetView {
                            ip: t.ip,
                            state: t.state,
                            reason: t.reason,
                        })
                        .collect::<Vec<_>>(),
                );
                o.set(
                    "unregistered_ips",
                    wanted.difference(&registered).collect::<Vec<_>>(),
                );
                o.set(
                    "stale_targets",
                    registered.difference(&wanted).collect::<Vec<_>>(),
                );
            }
            Err(err) => o.error("targets", err),
        }
        o
    }
}
