//! "The deployment is up", checked on the emulators and in the state file.

use super::cloud::{DATABRICKS_AWS, Inventory, established, rule_state};
use super::run::Run;
use super::stack::Stack;
use super::workdir::{Kind, Workdir, WorkflowSpec};

use plink::databricks::WorkspaceStatus;

/// What a converged deployment consists of (ids as seen on the emulators).
#[derive(Debug, Clone)]
pub struct Converged {
    pub inventory: Inventory,
    pub ncc_id: String,
    pub rule_id: String,
    pub rule_vpce: String,
    pub service_id: String,
}

/// What the suites count on the emulators, by name: plink's resources (AWS, Databricks,
/// bucket statements), live Databricks connections, rules ever made.
pub fn counts(inv: &Inventory) -> Vec<(&'static str, usize)> {
    let live_dbx = inv
        .connections
        .iter()
        .filter(|c| c.owner == DATABRICKS_AWS && is_live(&c.state))
        .count();
    vec![
        ("endpoint", inv.endpoints),
        ("security group", inv.security_groups),
        ("load balancer", inv.load_balancers),
        ("target group", inv.target_groups),
        ("listener", inv.listeners),
        ("endpoint service", inv.endpoint_services),
        ("Databricks endpoint", inv.databricks_endpoints),
        ("live Databricks connection", live_dbx),
        ("NCC", inv.nccs),
        ("live rule", inv.live_rules),
        ("rule (ever)", inv.rules),
        ("bucket statement", inv.bucket_statements),
    ]
}

/// What [`counts`] gives for a converged deployment of `spec`.
pub fn expected(spec: &WorkflowSpec) -> Vec<usize> {
    match spec.kind {
        Kind::S3PrivateLink => vec![1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0],
        // The example: IP targets, one port.
        Kind::NlbService => vec![0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0],
        // Databricks' endpoint goes to S3 itself: no connection to a service of the customer.
        Kind::S3Native => vec![0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1, spec.buckets().len()],
        // Account-wide: nothing in AWS, no NCC (its checks are `suite::check_policy_*`).
        Kind::NetworkPolicy | Kind::IpAccessLists => vec![0; 12],
    }
}

/// The counts above what a converged deployment has: `(what, found, expected)`.
pub fn excess(spec: &WorkflowSpec, inv: &Inventory) -> Vec<(&'static str, usize, usize)> {
    counts(inv)
        .into_iter()
        .zip(expected(spec))
        .filter(|((what, n), e)| *what != "live rule" && n > e)
        .map(|((what, n), e)| (what, n, e))
        .collect()
}

/// Asserts the deployment of `wd` is up: exactly one live resource of each kind (one live rule,
/// whose connection is `available`), the rule ESTABLISHED, every workspace bound to the NCC and
/// RUNNING, every step `done` without a pending intent, and the state's ids matching the
/// emulators'. `run` is the last plink run (for failure messages).
pub fn assert_converged(stack: &Stack, wd: &Workdir, run: &Run) -> Converged {
    let spec = &wd.spec;
    let ctx = || {
        format!(
            "{}\n--- state ---\n{:#}",
            run.transcript(),
            wd.state().unwrap_or_default()
        )
    };
    let inv = stack.inventory(&spec.region, &spec.ncc_name);
    let live_dbx_conns: Vec<_> = inv
        .connections
        .iter()
        .filter(|c| c.owner == DATABRICKS_AWS && is_live(&c.state))
        .collect();
    let wrong: Vec<String> = counts(&inv)
        .into_iter()
        .zip(expected(spec))
        .filter(|((what, n), e)| *what != "rule (ever)" && n != e)
        .map(|((what, n), e)| format!("{n} × {what}, expected {e}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "not exactly what a converged {} deployment has: {} ({inv})\n{}",
        spec.kind.name(),
        wrong.join(", "),
        ctx()
    );

    let ncc = stack
        .ncc_named(&spec.ncc_name, &spec.region)
        .expect("the NCC");
    let rule = stack
        .live_rule(&spec.ncc_name, &spec.region)
        .expect("the live rule");
    assert!(
        established(&rule),
        "rule {} is {}, not ESTABLISHED\n{}",
        rule.rule_id,
        rule_state(&rule),
        ctx()
    );
    let rule_vpce = rule.vpc_endpoint_id().expect("rule vpce id").to_owned();
    let mut service_id = String::new();
    if spec.kind == Kind::S3Native {
        assert_eq!(
            rule.endpoint_service,
            Some(format!("com.amazonaws.{}.s3", spec.region)),
            "{}",
            ctx()
        );
        assert_eq!(
            rule.enabled,
            Some(true),
            "the rule is not enabled\n{}",
            ctx()
        );
    } else {
        let (id, service_name) = stack
            .endpoint_service(&spec.region)
            .expect("an endpoint service");
        assert_eq!(
            rule.endpoint_service.as_deref(),
            Some(service_name.as_str()),
            "the rule points at another service\n{}",
            ctx()
        );
        let conn = live_dbx_conns[0];
        assert_eq!(
            conn.vpc_endpoint_id,
            rule_vpce,
            "the live connection is not the rule's\n{}",
            ctx()
        );
        assert_eq!(conn.state, "available", "the rule's connection\n{}", ctx());
        assert_eq!(
            wd.output("endpoint_service", "service_id").as_deref(),
            Some(id.as_str()),
            "{}",
            ctx()
        );
        service_id = id;
    }

    for &id in &spec.workspace_ids {
        let ws = stack.workspace(id);
        assert_eq!(
            ws.network_connectivity_config_id.as_deref(),
            Some(ncc.network_connectivity_config_id.as_str()),
            "workspace {id} is not bound to the NCC\n{}",
            ctx()
        );
        assert_eq!(
            ws.workspace_status,
            Some(WorkspaceStatus::Running),
            "workspace {id}\n{}",
            ctx()
        );
    }

    // The state file: every step done, nothing in flight, ids matching the emulators'.
    let state = wd.state_required();
    let workflow = plink::workflow::load(&wd.workflow).unwrap();
    for step in workflow.graph.display_order() {
        let rec = &state["steps"][step];
        assert_eq!(rec["status"], "done", "step {step} is not done\n{}", ctx());
        assert!(
            rec.get("intent").is_none(),
            "step {step} has a pending intent\n{}",
            ctx()
        );
    }
    assert_eq!(
        wd.output("ncc", "ncc_id").as_deref(),
        Some(ncc.network_connectivity_config_id.as_str()),
        "{}",
        ctx()
    );
    assert_eq!(
        wd.output("rule", "rule_id").as_deref(),
        Some(rule.rule_id.as_str()),
        "{}",
        ctx()
    );
    assert_eq!(
        wd.output("established", "connection_state").as_deref(),
        Some("ESTABLISHED"),
        "{}",
        ctx()
    );
    Converged {
        inventory: inv,
        ncc_id: ncc.network_connectivity_config_id,
        rule_id: rule.rule_id,
        rule_vpce,
        service_id,
    }
}

/// Connection states that hold a live connection.
pub fn is_live(state: &str) -> bool {
    matches!(state, "pendingAcceptance" | "pending" | "available")
}

/// Asserts no rule was ever created twice (deactivated ones count too).
pub fn assert_one_rule_ever(c: &Converged, context: &str) {
    assert_eq!(
        c.inventory.rules, 1,
        "{context}: a second rule was created: {}",
        c.inventory
    );
}
