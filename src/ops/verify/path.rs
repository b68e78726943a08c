//! The static path of `plink verify` (issue #15 item 1, first half): one link per node of the
//! workflow kind's graph, judged by the same lookups `up` and `plan` make (each resource kind's
//! `find`, `compare` and `readiness`, through [`Engine::plan`]) — never a second copy of them —
//! ordered along the way a packet goes from a workspace to the destination, then the bound egress
//! policies ([`egress`]).

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::engine::{Engine, PlanAction, PlanOutcome, RetryPolicy, StepPlan};
use crate::ops::Deployment;
use crate::resources::Env;
use crate::resources::network_policy::denials::{Outbound, egress_handles};
use crate::state::{StateFile, StateStore};
use crate::workflow::reach::Destination;

/// A link's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    Broken,
    /// Not judged: something it depends on is broken first, or it could not be read.
    Unknown,
}

/// One link of the path: what it is, its verdict, what was seen, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// The graph node (state step) or `egress_policy`.
    pub name: String,
    /// What the link is, in words.
    pub what: String,
    pub verdict: Verdict,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Where a node sits on the path, from the workspace outwards (issue #15's order: names → rule →
/// connection → endpoint service principal → listener and target group → targets → security
/// group → workspace bound → egress policy); what a kind has that the issue does not list comes
/// next to its neighbour. Nodes of one rank keep the graph's display order.
fn rank(step: &str) -> (u8, &'static str) {
    let base = step.split('_').next().unwrap_or(step);
    match step {
        "ncc" => (0, "the NCC"),
        "rule" => (1, "the private endpoint rule and its names"),
        "accept" => (2, "the rule's connection, accepted and available"),
        "established" => (3, "the rule ESTABLISHED"),
        "enabled" => (4, "the rule enabled"),
        "buckets" => (5, "the buckets, in the region"),
        "bucket_policy" => (6, "each bucket's policy allows the rule's endpoint"),
        "endpoint_service" => (7, "the endpoint service allows the Databricks principal"),
        "load_balancer" => (8, "the NLB, active"),
        _ if base == "listener" => (9, "the listener"),
        _ if step.starts_with("target_group") => (10, "the target group"),
        _ if base == "targets" => (11, "the targets, equal to the intended IPs"),
        "security_group" => (
            12,
            "the security group allows the port from the NLB subnets",
        ),
        "endpoint" => (13, "the S3 interface endpoint and its addresses"),
        "network" => (14, "the VPC, subnets and service addresses"),
        // The NCC's bindings (PrivateLink kinds) or the policy's (network-policy).
        "bind" => (15, "the workspaces bound"),
        "workspaces" => (15, "the workspaces"),
        "policy" => (16, "the network policy"),
        _ => (17, "a step of the deployment"),
    }
}

/// The graph's links, judged by planning every node against the live resources (read only; the
/// state is neither locked nor written, as for `status`). `file` is how fixes name the workflow.
pub async fn links(
    env: Arc<Env>,
    deployment: &Deployment,
    state: Option<StateFile>,
    file: &str,
) -> Vec<Link> {
    let Some(state) = state else {
        return vec![Link {
            name: "deployment".into(),
            what: "the deployment".into(),
            verdict: Verdict::Broken,
            detail: "plink up never ran for it (no state)".into(),
            fix: Some(format!("plink up {file}")),
        }];
    };
    let store = Arc::new(StateStore::read_only(
        deployment.paths.clone(),
        state.clone(),
        "verify",
    ));
    let engine = match Engine::new(deployment.graph().up_steps(&env)) {
        Ok(engine) => engine.with_retry(RetryPolicy {
            max_elapsed: Some(Duration::from_secs(30)),
            ..RetryPolicy::step_default()
        }),
        Err(e) => {
            return vec![Link {
                name: "deployment".into(),
                what: "the deployment's graph".into(),
                verdict: Verdict::Unknown,
                detail: e.to_string(),
                fix: None,
            }];
        }
    };
    let mut steps = engine.plan(store).await.steps;
    // A stable sort: the display order breaks ties.
    steps.sort_by_key(|s| rank(s.step).0);
    let mut links: Vec<Link> = steps.iter().map(|s| link(s, file)).collect();
    for l in &mut links {
        if l.verdict == Verdict::Ok && l.name.split('_').next() == Some("targets") {
            let targets = settled_targets(&env, deployment, &state, &l.name).await;
            health(l, targets.as_ref());
        }
    }
    links
}

/// The `targets` node's targets (its own observation, as `status` shows it) once none is
/// `initial` any more: a registration `up` just made takes a while to pass the NLB's health
/// checks (field update §3.6: minutes), and is not a broken link yet. Waits at most
/// [`REGISTRATION`], with the engine's wait policy (scaled by `PLINK_WAIT_SCALE`).
async fn settled_targets(
    env: &Env,
    deployment: &Deployment,
    state: &StateFile,
    node: &str,
) -> Option<Value> {
    let policy = env.wait(10, 30, REGISTRATION);
    let started = std::time::Instant::now();
    loop {
        let seen = deployment.graph().observe_node(node, env, state).await?;
        let targets = seen.fields.get("targets").cloned();
        let registering = targets
            .as_ref()
            .and_then(Value::as_array)
            .is_some_and(|t| t.iter().any(|t| t["state"] == "initial"));
        let waited = started.elapsed();
        if !registering || waited >= policy.timeout {
            return targets;
        }
        tracing::info!(node, "targets registering: waiting for the health checks");
        tokio::time::sleep(policy.next_delay(waited).min(policy.timeout - waited)).await;
    }
}

/// How long `verify` waits for targets still registering.
const REGISTRATION: Duration = Duration::from_secs(300);

/// The targets' health (the `targets` node's own observation, as `status` shows it): registered
/// as intended is not enough, the NLB sends traffic only to `healthy` targets. None healthy:
/// broken; some: ok, naming the others.
fn health(link: &mut Link, targets: Option<&Value>) {
    let Some(targets) = targets.and_then(Value::as_array) else {
        return;
    };
    let field = |t: &Value, k: &str| {
        t.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let unhealthy: Vec<String> = targets
        .iter()
        .filter(|t| field(t, "state") != "healthy")
        .map(|t| match field(t, "reason") {
            r if r.is_empty() => format!("{} {}", field(t, "ip"), field(t, "state")),
            r => format!("{} {} ({r})", field(t, "ip"), field(t, "state")),
        })
        .collect();
    if unhealthy.is_empty() {
        link.detail.push_str(", healthy");
    } else if unhealthy.len() == targets.len() {
        link.verdict = Verdict::Broken;
        link.detail = format!("no healthy target: {}", unhealthy.join(", "));
        link.fix = Some(
            "a new registration takes minutes (Elb.RegistrationInProgress): verify again; else \
             check that the service listens on the port and allows the NLB's health checks"
                .to_owned(),
        );
    } else {
        link.detail
            .push_str(&format!("; not healthy: {}", unhealthy.join(", ")));
    }
}

/// One planned step as a link: "no change" is a working link; anything `up` would still do is a
/// broken one, `up` being its fix.
fn link(step: &StepPlan, file: &str) -> Link {
    let what = rank(step.step).1.to_owned();
    let up = format!("plink up {file}");
    let (verdict, detail, fix) = match &step.outcome {
        PlanOutcome::Planned(p) => match &p.action {
            PlanAction::NoChange => (Verdict::Ok, p.detail.clone(), None),
            PlanAction::Later { after } if p.detail.is_empty() => {
                (Verdict::Unknown, format!("after {after}"), None)
            }
            PlanAction::Later { after } => (
                Verdict::Unknown,
                format!("after {after}: {}", p.detail),
                None,
            ),
            PlanAction::Wait if p.detail.contains("--replace-ncc-binding") => (
                Verdict::Broken,
                p.detail.clone(),
                Some(format!("{up} --replace-ncc-binding")),
            ),
            PlanAction::Wait => (
                Verdict::Broken,
                p.detail.clone(),
                Some(format!("{up} (it waits for it)")),
            ),
            action => (
                Verdict::Broken,
                format!("{}: {}", action.name(), p.detail),
                Some(format!("{up} (`plink plan {file}` shows the change)")),
            ),
        },
        PlanOutcome::Failed(e) => (
            Verdict::Broken,
            e.to_string().lines().next().unwrap_or_default().to_owned(),
            Some(e.to_string().lines().skip(1).collect::<Vec<_>>().join(" "))
                .filter(|s| !s.trim().is_empty()),
        ),
        PlanOutcome::Blocked { by } => (Verdict::Unknown, format!("after {by}"), None),
    };
    Link {
        name: step.step.to_owned(),
        what,
        verdict,
        detail,
        fix,
    }
}

/// Per workspace, whether the network policy bound to it lets serverless compute reach every
/// destination (`egress.network_access`, judged as `plink denials` judges a denial). A dry-run
/// policy logs and lets through: ok, with a note.
pub async fn egress(env: &Env, workspaces: &[i64], destinations: &[Destination]) -> Vec<Link> {
    let mut links = Vec::new();
    for &ws in workspaces {
        let name = format!("egress_policy_{ws}");
        let what = format!("the egress policy bound to workspace {ws} allows the destinations");
        let unknown = |detail: String| Link {
            name: name.clone(),
            what: what.clone(),
            verdict: Verdict::Unknown,
            detail,
            fix: None,
        };
        let option = match env.databricks.get_workspace_network_policy(ws).await {
            Ok(o) => o,
            Err(e) => {
                links.push(unknown(format!("cannot read its network policy: {e}")));
                continue;
            }
        };
        let policy_id = option.network_policy_id;
        let body = match env.databricks.get_network_policy(&policy_id).await {
            Ok(b) => b,
            Err(e) => {
                links.push(unknown(format!("cannot read policy {policy_id}: {e}")));
                continue;
            }
        };
        let denied: Vec<String> = destinations
            .iter()
            .filter(|d| judge(&body, d).is_none())
            .map(Destination::label)
            .collect();
        let dry_run = crate::resources::network_policy::body::egress_dry_run(&body);
        links.push(match (denied.is_empty(), dry_run) {
            (true, _) => Link {
                name,
                what,
                verdict: Verdict::Ok,
                detail: format!("policy {policy_id} allows every destination"),
                fix: None,
            },
            (false, true) => Link {
                name,
                what,
                verdict: Verdict::Ok,
                detail: format!(
                    "policy {policy_id} is in dry run: it would deny {}",
                    denied.join(", ")
                ),
                fix: None,
            },
            (false, false) => Link {
                name,
                what,
                verdict: Verdict::Broken,
                detail: format!(
                    "policy {policy_id} (enforced) denies {}",
                    denied.join(", ")
                ),
                fix: Some(format!(
                    "allow them in policy {policy_id} (its [egress] allowlist) or bind another policy"
                )),
            },
        });
    }
    links
}

/// Why `body` lets serverless egress reach `d`, `None` when it denies it.
fn judge(body: &Value, d: &Destination) -> Option<String> {
    let (destination_type, destination) = d.policy_destination();
    egress_handles(
        body,
        &Outbound {
            destination_type: destination_type.into(),
            destination,
            access_type: String::new(),
            attempts: 0,
            first_seen: String::new(),
            last_seen: String::new(),
            computes: Vec::new(),
            workspace_ids: Vec::new(),
        },
    )
    .filter(|why| !why.starts_with("blocked"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ok_link() -> Link {
        Link {
            name: "targets".into(),
            what: rank("targets").1.into(),
            verdict: Verdict::Ok,
            detail: "targets [10.0.1.5, 10.0.2.5] registered".into(),
            fix: None,
        }
    }

    #[test]
    fn targets_are_broken_only_when_none_is_healthy() {
        let mut l = ok_link();
        health(
            &mut l,
            Some(
                &json!([{"ip": "10.0.1.5", "state": "healthy"}, {"ip": "10.0.2.5", "state": "healthy"}]),
            ),
        );
        assert_eq!(
            (l.verdict, l.detail.ends_with(", healthy")),
            (Verdict::Ok, true)
        );
        let mut l = ok_link();
        health(
            &mut l,
            Some(&json!([{"ip": "10.0.1.5", "state": "healthy"},
                         {"ip": "10.0.2.5", "state": "unhealthy", "reason": "Target.FailedHealthChecks"}])),
        );
        assert_eq!(l.verdict, Verdict::Ok);
        assert!(
            l.detail
                .contains("10.0.2.5 unhealthy (Target.FailedHealthChecks)"),
            "{}",
            l.detail
        );
        let mut l = ok_link();
        health(
            &mut l,
            Some(&json!([{"ip": "10.0.1.5", "state": "unhealthy"}])),
        );
        assert_eq!(l.verdict, Verdict::Broken);
        assert!(l.fix.is_some());
    }

    #[test]
    fn links_follow_the_packet_from_the_workspace() {
        let order = [
            "ncc",
            "rule",
            "accept",
            "established",
            "endpoint_service",
            "load_balancer",
            "listener_5432",
            "target_group_5432",
            "targets_5432",
            "security_group",
            "bind",
            "policy",
        ];
        let ranks: Vec<u8> = order.iter().map(|s| rank(s).0).collect();
        assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{ranks:?}");
    }
}
