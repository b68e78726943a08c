//! The PrivateLink handshake going wrong on the AWS side: a rejected connection, a foreign
//! connection on the same service, a Databricks principal missing from the allowed principals.

use std::time::Duration;

use serde_json::json;

use crate::common::checks::{assert_converged, is_live};
use crate::common::cloud::{DATABRICKS_AWS, FOREIGN, databricks_principal};
use crate::common::{Emu, Stack, wait_until};
use crate::common::{Workdir, WorkflowSpec};

const WAIT: Duration = Duration::from_secs(60);

/// Holds Databricks' rules in CREATING (so nothing connects yet) until `release_rules`.
fn hold_rules(stack: &Stack) {
    stack.set_delays(json!({"rule_creating": 1.0e7}));
}

fn release_rules(stack: &Stack) {
    stack.set_delays(json!({"rule_creating": 30.0}));
}

/// Waits until plink recorded the endpoint service (and so waited for it to be Available).
fn wait_for_service(
    stack: &Stack,
    wd: &Workdir,
    bg: &mut crate::common::Background,
) -> (String, String) {
    wait_until("the endpoint_service step to be done", WAIT, || {
        assert!(
            !bg.exited(),
            "plink exited early:\n{}",
            bg.wait().transcript()
        );
        wd.status_of("endpoint_service").as_deref() == Some("done")
    });
    stack
        .endpoint_service(&wd.spec.region)
        .expect("an endpoint service")
}

/// The message of a run stopped by a rejected connection: exit 4, REJECTED, what to do.
fn assert_rejected_message(run: &crate::common::Run) {
    run.assert_code(4);
    assert!(
        run.stderr.contains("REJECTED"),
        "no REJECTED in the message\n{}",
        run.transcript()
    );
    assert!(
        run.stderr.contains("plink up` again"),
        "the message does not say what to do (run `plink up` again)\n{}",
        run.transcript()
    );
}

/// After a rejection, `plink up` again replaces the rule and converges on a new connection.
fn up_again_replaces_the_rejected_rule(stack: &Stack, wd: &Workdir, rejected_vpce: &str) {
    stack.clear_faults(Emu::Aws);
    let again = stack.up(wd);
    again.assert_code(0);
    let c = assert_converged(stack, wd, &again);
    assert_ne!(
        c.rule_vpce, rejected_vpce,
        "the rejected connection was reused"
    );
}

/// Rejects Databricks' connection on the customer's service; returns its vpce id.
fn reject_databricks_connection(stack: &Stack) -> String {
    let (service_id, _) = stack.endpoint_service("us-east-1").expect("service");
    let conns = stack.connections("us-east-1");
    let dbx = conns
        .iter()
        .find(|c| c.owner == DATABRICKS_AWS && is_live(&c.state))
        .unwrap_or_else(|| panic!("no live Databricks connection: {conns:?}"));
    let failures = stack.reject_connection("us-east-1", &service_id, &dbx.vpc_endpoint_id);
    assert!(failures.is_empty(), "{failures:?}");
    dbx.vpc_endpoint_id.clone()
}

#[test]
fn rejected_connection_while_waiting_for_established_exits_4_saying_rejected_and_what_to_do() {
    let stack = Stack::start();
    // ESTABLISHED 1000 s real (2 s scaled) after acceptance: the connection is rejected meanwhile.
    stack.set_delays(json!({"rule_establish": 1000.0}));
    let wd = Workdir::new(WorkflowSpec::default());
    let mut bg = stack.spawn_up(&wd);
    wait_until("plink's accept to be done", WAIT, || {
        assert!(
            !bg.exited(),
            "plink exited before accepting:\n{}",
            bg.wait().transcript()
        );
        wd.status_of("accept").as_deref() == Some("done")
    });
    let rejected = reject_databricks_connection(&stack);
    let run = bg.wait();
    assert_rejected_message(&run);
    stack.set_delays(json!({"rule_establish": 60.0}));
    up_again_replaces_the_rejected_rule(&stack, &wd, &rejected);
}

#[test]
fn regression_connection_rejected_before_the_accept_lands_is_reported_as_rejected_with_a_hint() {
    // Found by this suite: when the connection is rejected between plink's look and its
    // AcceptVpcEndpointConnections, `accept` failed with the raw AWS per-item error
    // ("InvalidVpcEndpointState ... cannot be accepted because it is in state 'rejected'") and no
    // hint, instead of the rule's REJECTED diagnosis and what to do.
    let stack = Stack::start();
    // plink's accept is held 2 s at the door; meanwhile the connection is rejected out of band.
    // Not its preflight's dry run of the same action, which comes first.
    stack.set_faults(
        Emu::Aws,
        json!({"seed": 1, "rules": [{
            "kind": "slow", "rate": 1.0, "max_count": 1, "delay_ms": 2000,
            "match": {"action": "AcceptVpcEndpointConnections", "dry_run": false}
        }]}),
    );
    let wd = Workdir::new(WorkflowSpec::default());
    let mut bg = stack.spawn_up(&wd);
    wait_until("plink's AcceptVpcEndpointConnections", WAIT, || {
        assert!(
            !bg.exited(),
            "plink exited before accepting:\n{}",
            bg.wait().transcript()
        );
        stack.faults_fired(Emu::Aws) >= 1
    });
    assert_eq!(
        stack
            .connections("us-east-1")
            .iter()
            .find(|c| c.owner == DATABRICKS_AWS)
            .map(|c| c.state.clone()),
        Some("pendingAcceptance".to_owned())
    );
    let rejected = reject_databricks_connection(&stack);
    let run = bg.wait();
    assert_rejected_message(&run);
    up_again_replaces_the_rejected_rule(&stack, &wd, &rejected);
}

#[test]
fn foreign_pending_connection_is_left_pending_and_mentioned_only_the_rules_own_is_accepted() {
    let stack = Stack::start();
    hold_rules(&stack);
    let wd = Workdir::new(WorkflowSpec::default());
    let mut bg = stack.spawn_up(&wd);
    let (service_id, service_name) = wait_for_service(&stack, &wd, &mut bg);

    // Another account is allowed and connects before Databricks does.
    let foreign_root = format!("arn:aws:iam::{FOREIGN}:root");
    stack.modify_principals("us-east-1", &service_id, &[&foreign_root], &[]);
    let foreign = stack.create_foreign_endpoint(FOREIGN, "us-east-1", &service_name);
    assert_eq!(
        stack.connection_states("us-east-1")[&foreign],
        "pendingAcceptance"
    );
    release_rules(&stack);

    let run = bg.wait();
    run.assert_code(0);
    assert_eq!(
        stack.connection_states("us-east-1")[&foreign],
        "pendingAcceptance",
        "plink touched the foreign connection\n{}",
        run.transcript()
    );
    assert!(
        !stack
            .calls(Emu::Aws)
            .iter()
            .any(|c| c.action == "RejectVpcEndpointConnections"),
        "plink rejected something"
    );
    assert!(
        run.stderr.contains(&foreign),
        "the foreign pending connection {foreign} is not mentioned\n{}",
        run.transcript()
    );
    let c = assert_converged(&stack, &wd, &run);
    let report = stack.status_json(&wd);
    let conns = report["live"]["connections"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let shown: Vec<_> = conns
        .iter()
        .map(|c| {
            (
                c["vpc_endpoint_id"].as_str().unwrap_or("").to_owned(),
                c["is_rule_endpoint"] == true,
            )
        })
        .collect();
    assert!(
        shown.contains(&(foreign.clone(), false)),
        "status does not show the foreign connection: {report:#}"
    );
    assert!(shown.contains(&(c.rule_vpce.clone(), true)), "{report:#}");
    let accepted = wd.output("accept", "accepted_vpc_endpoint_id");
    assert_eq!(accepted.as_deref(), Some(c.rule_vpce.as_str()));
    assert_eq!(
        wd.output("accept", "owner").as_deref(),
        Some(DATABRICKS_AWS)
    );
}

#[test]
fn missing_databricks_principal_gives_create_failed_exit_4_with_a_hint_then_up_recovers() {
    let stack = Stack::start();
    hold_rules(&stack);
    let wd = Workdir::new(WorkflowSpec::default());
    let mut bg = stack.spawn_up(&wd);
    let (service_id, _) = wait_for_service(&stack, &wd, &mut bg);
    let principal = databricks_principal("us-east-1");
    stack.modify_principals("us-east-1", &service_id, &[], &[&principal]);
    assert!(
        stack
            .allowed_principals("us-east-1", &service_id)
            .is_empty()
    );
    release_rules(&stack);

    let run = bg.wait();
    run.assert_code(4);
    assert!(
        run.stderr.contains("CREATE_FAILED"),
        "no CREATE_FAILED in the message\n{}",
        run.transcript()
    );
    assert!(
        run.stderr.contains("principal"),
        "the message gives no hint about the allowed principal\n{}",
        run.transcript()
    );
    let rule = stack
        .live_rule("plink-demo-ncc", "us-east-1")
        .expect("the failed rule");
    assert_eq!(crate::common::cloud::rule_state(&rule), "CREATE_FAILED");

    // Follow the hint: allow the principal again, run `plink up` again.
    stack.modify_principals("us-east-1", &service_id, &[&principal], &[]);
    let again = stack.up(&wd);
    again.assert_code(0);
    let c = assert_converged(&stack, &wd, &again);
    assert_ne!(c.rule_id, rule.rule_id, "the failed rule was kept");
    assert!(
        c.inventory
            .connections
            .iter()
            .filter(|x| is_live(&x.state))
            .count()
            == 1
    );
}
