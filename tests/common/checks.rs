//! "The deployment is up", checked on the emulators and in the state file.

use super::cloud::{DATABRICKS_AWS, Inventory, established, rule_state};
use super::run::Run;
use super::stack::Stack;
use super::workdir::Workdir;

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
    let ok = inv.endpoints == 1
        && inv.security_groups == 1
        && inv.load_balancers == 1
        && inv.target_groups == 1
        && inv.listeners == 1
        && inv.endpoint_services == 1
        && inv.databricks_endpoints == 1
        && inv.nccs == 1
        && inv.live_rules == 1
        && live_dbx_conns.len() == 1;
    assert!(ok, "not exactly one of every resource: {inv}\n{}", ctx());

    let (service_id, service_name) = stack
        .endpoint_service(&spec.region)
        .expect("an endpoint service");
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
    assert_eq!(
        rule.endpoint_service.as_deref(),
        Some(service_name.as_str()),
        "the rule points at another service\n{}",
        ctx()
    );
    let rule_vpce = rule.vpc_endpoint_id().expect("rule vpce id").to_owned();
    let conn = live_dbx_conns[0];
    assert_eq!(
        conn.vpc_endpoint_id,
        rule_vpce,
        "the live connection is not the rule's\n{}",
        ctx()
    );
    assert_eq!(conn.state, "available", "the rule's connection\n{}", ctx());

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
        wd.output("endpoint_service", "service_id").as_deref(),
        Some(service_id.as_str()),
        "{}",
        ctx()
    );
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
