//! The live part of `plink status`: what the clouds say now about the recorded resources.
//! Only reads; every probe that fails says so in its own field instead of failing the report.
//! Drift is not judged here: [`LiveView::drift`] comes from the plan ([`super::plan::drift`]),
//! so `status` and `plan` can never disagree.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use crate::state::StateFile;
use crate::steps::StepEnv;
use crate::steps::outputs::{
    BindOut, EndpointOut, EndpointServiceOut, LoadBalancerOut, NccOut, RuleOut, TargetGroupOut,
};

/// The live facts (`--json` prints them under `live`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct LiveView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_state: Option<String>,
    /// The endpoint's ENI IPs now.
    pub endpoint_ips: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer_state: Option<String>,
    /// Registered targets and their health.
    pub targets: Vec<TargetView>,
    /// ENI IPs not registered as targets (drift).
    pub unregistered_ips: Vec<String>,
    /// Registered targets that are no ENI IP of the endpoint (drift).
    pub stale_targets: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_service_state: Option<String>,
    pub allowed_principals: Vec<String>,
    /// Every connection to the endpoint service, as the AWS side sees it.
    pub connections: Vec<ConnectionView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleView>,
    pub workspaces: Vec<WorkspaceView>,
    /// Out-of-band changes and unfinished work, one line per step `up` would act on
    /// (`step: action: detail`), from the same checks as `plink plan`.
    pub drift: Vec<String>,
    /// Probes that failed (e.g. missing permissions), one line each.
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetView {
    pub ip: String,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConnectionView {
    pub vpc_endpoint_id: String,
    pub owner: String,
    pub state: String,
    /// True for the connection of plink's rule.
    pub is_rule_endpoint: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    pub rule_id: String,
    pub connection_state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_left_before_expiry: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    pub deactivated: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkspaceView {
    pub workspace_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_ncc_id: Option<String>,
    /// The workspace is bound to the deployment's NCC.
    pub bound_to_deployment_ncc: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

fn output<T: serde::de::DeserializeOwned>(state: &StateFile, step: &str) -> Option<T> {
    let rec = state.step(step)?;
    serde_json::from_value(Value::Object(rec.outputs.clone())).ok()
}

/// Reads the live state of everything `state` records.
pub async fn observe(env: &StepEnv, state: &StateFile) -> LiveView {
    let mut view = LiveView::default();
    let aws = &env.aws;
    let db = &env.databricks;

    if let Some(ep) = output::<EndpointOut>(state, "endpoint") {
        match aws.describe_vpc_endpoint(&ep.vpc_endpoint_id).await {
            Ok(Some(e)) => {
                view.endpoint_state = Some(e.state.clone());
                match aws.endpoint_network_interfaces(&e).await {
                    Ok(enis) => {
                        view.endpoint_ips = enis.into_iter().map(|n| n.private_ip).collect()
                    }
                    Err(err) => view.errors.push(format!("endpoint ENIs: {err}")),
                }
            }
            Ok(None) => view.endpoint_state = Some("missing".into()),
            Err(err) => view.errors.push(format!("endpoint: {err}")),
        }
        view.endpoint_ips.sort();
    }
    if let Some(lb) = output::<LoadBalancerOut>(state, "load_balancer") {
        match aws.describe_load_balancer(&lb.load_balancer_arn).await {
            Ok(found) => {
                view.load_balancer_state = Some(found.map_or_else(|| "missing".into(), |l| l.state))
            }
            Err(err) => view.errors.push(format!("load balancer: {err}")),
        }
    }
    if let Some(tg) = output::<TargetGroupOut>(state, "target_group") {
        match aws.target_health(&tg.target_group_arn).await {
            Ok(health) => {
                view.targets = health
                    .into_iter()
                    .map(|t| TargetView {
                        ip: t.ip,
                        state: t.state,
                        reason: t.reason,
                    })
                    .collect();
                // Draining targets are on their way out (as for the `targets` step).
                let registered: BTreeSet<&String> = view
                    .targets
                    .iter()
                    .filter(|t| t.state != "draining")
                    .map(|t| &t.ip)
                    .collect();
                let current: BTreeSet<&String> = view.endpoint_ips.iter().collect();
                view.unregistered_ips = current
                    .difference(&registered)
                    .map(|s| (*s).clone())
                    .collect();
                view.stale_targets = registered
                    .difference(&current)
                    .map(|s| (*s).clone())
                    .collect();
            }
            Err(err) => view.errors.push(format!("targets: {err}")),
        }
    }
    let rule = output::<RuleOut>(state, "rule");
    if let Some(svc) = output::<EndpointServiceOut>(state, "endpoint_service") {
        match aws.describe_endpoint_service(&svc.service_id).await {
            Ok(found) => {
                view.endpoint_service_state =
                    Some(found.map_or_else(|| "missing".into(), |s| s.state))
            }
            Err(err) => view.errors.push(format!("endpoint service: {err}")),
        }
        match aws.allowed_principals(&svc.service_id).await {
            Ok(p) => view.allowed_principals = p.into_iter().map(|p| p.principal).collect(),
            Err(err) => view.errors.push(format!("allowed principals: {err}")),
        }
        match aws.endpoint_connections(&svc.service_id, None).await {
            Ok(conns) => {
                let ours = rule.as_ref().and_then(|r| r.vpc_endpoint_id.clone());
                view.connections = conns
                    .into_iter()
                    .map(|c| ConnectionView {
                        is_rule_endpoint: Some(&c.vpce_id) == ours.as_ref(),
                        vpc_endpoint_id: c.vpce_id,
                        owner: c.owner,
                        state: c.state,
                    })
                    .collect();
            }
            Err(err) => view.errors.push(format!("endpoint connections: {err}")),
        }
    }
    let ncc = output::<NccOut>(state, "ncc");
    if let (Some(ncc), Some(rule)) = (&ncc, &rule) {
        match db.get_rule(&ncc.ncc_id, &rule.rule_id).await {
            Ok(r) => {
                view.rule = Some(RuleView {
                    connection_state: r
                        .connection_state
                        .as_ref()
                        .map_or_else(|| "unknown".into(), |s| s.as_str().to_owned()),
                    days_left_before_expiry: (r.connection_state
                        == Some(crate::databricks::ConnectionState::Pending))
                    .then(|| crate::steps::days_left(&r))
                    .flatten(),
                    vpc_endpoint_id: r.vpc_endpoint_id().map(str::to_owned),
                    error_message: r.error_message.clone().filter(|m| !m.is_empty()),
                    deactivated: r.deactivated,
                    rule_id: r.rule_id,
                })
            }
            Err(err) if err.is_not_found() => {
                view.rule = Some(RuleView {
                    rule_id: rule.rule_id.clone(),
                    connection_state: "missing".into(),
                    vpc_endpoint_id: None,
                    days_left_before_expiry: None,
                    error_message: None,
                    deactivated: false,
                })
            }
            Err(err) => view.errors.push(format!("rule: {err}")),
        }
    }
    let bound: Vec<i64> = output::<BindOut>(state, "bind")
        .map(|b| b.workspaces.iter().map(|w| w.workspace_id).collect())
        .unwrap_or_default();
    let mut ids: Vec<i64> = env.workflow.databricks.workspace_ids.clone();
    ids.extend(
        bound
            .into_iter()
            .filter(|b| !env.workflow.databricks.workspace_ids.contains(b)),
    );
    for id in ids {
        match db.get_workspace(id).await {
            Ok(ws) => view.workspaces.push(WorkspaceView {
                workspace_id: id,
                bound_to_deployment_ncc: ncc.as_ref().is_some_and(|n| {
                    ws.network_connectivity_config_id.as_deref() == Some(n.ncc_id.as_str())
                }),
                bound_ncc_id: ws.network_connectivity_config_id.filter(|s| !s.is_empty()),
                status: ws.workspace_status.map(|s| s.as_str().to_owned()),
            }),
            Err(err) => view.errors.push(format!("workspace {id}: {err}")),
        }
    }
    view
}
