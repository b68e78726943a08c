//! A fresh `plink up` builds the whole path; a second one changes nothing.

use std::time::Duration;

use crate::common::Stack;
use crate::common::checks::{assert_converged, assert_one_rule_ever};
use crate::common::{Workdir, WorkflowSpec, status_outputs};

#[test]
fn fresh_up_establishes_the_rule_binds_the_workspace_and_creates_one_of_each() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::default());
    let run = stack.up(&wd);
    run.assert_code(0);
    let c = assert_converged(&stack, &wd, &run);
    assert_one_rule_ever(&c, "fresh up");
    assert!(
        run.stderr.contains("deployment demo-s3 is up"),
        "{}",
        run.transcript()
    );

    // Every endpoint ENI IP is a target of the NLB's target group.
    let ips = wd.step("endpoint").unwrap()["outputs"]["ips"]
        .as_array()
        .map(|a| a.len())
        .unwrap_or(0);
    assert_eq!(ips, 2, "one ENI per subnet: {:#}", wd.state_required());
    assert_eq!(c.inventory.targets, ips, "{}", c.inventory);

    // The allowed principals are exactly the region's Databricks principal (never `*`).
    assert_eq!(
        stack.allowed_principals("us-east-1", &c.service_id),
        vec![crate::common::cloud::databricks_principal("us-east-1")]
    );

    // `status --json` shows the ids and ESTABLISHED.
    stack.clear_all_calls();
    let report = stack.status_json(&wd);
    let mutating = stack.mutating_calls();
    assert!(
        mutating.is_empty(),
        "`plink status` changed something: {mutating:#?}"
    );
    assert_eq!(report["deployment"], "demo-s3", "{report:#}");
    assert_eq!(report["exists"], true, "{report:#}");
    let vpce = status_outputs(&report, "endpoint")["vpc_endpoint_id"].clone();
    let customer_endpoint = stack
        .block_on(stack.aws("us-east-1").ec2.describe_vpc_endpoints().send())
        .expect("DescribeVpcEndpoints")
        .vpc_endpoints()[0]
        .vpc_endpoint_id()
        .unwrap()
        .to_owned();
    assert_eq!(vpce, customer_endpoint.as_str(), "{report:#}");
    assert_eq!(
        status_outputs(&report, "endpoint_service")["service_id"],
        c.service_id.as_str()
    );
    assert_eq!(status_outputs(&report, "ncc")["ncc_id"], c.ncc_id.as_str());
    assert_eq!(
        status_outputs(&report, "rule")["rule_id"],
        c.rule_id.as_str()
    );
    assert_eq!(
        status_outputs(&report, "rule")["vpc_endpoint_id"],
        c.rule_vpce.as_str()
    );
    assert_eq!(
        status_outputs(&report, "established")["connection_state"],
        "ESTABLISHED",
        "{report:#}"
    );
    assert_eq!(
        status_outputs(&report, "accept")["accepted_vpc_endpoint_id"],
        c.rule_vpce.as_str(),
        "{report:#}"
    );
    let steps = report["steps"].as_array().unwrap();
    assert!(
        steps.iter().all(|s| s["status"] == "done"),
        "every step done: {report:#}"
    );
    // … and its live section what the clouds say now.
    let live = &report["live"];
    assert!(live.is_object(), "no live section: {report:#}");
    assert_eq!(live["errors"], serde_json::json!([]), "{live:#}");
    assert_eq!(live["rule"]["rule_id"], c.rule_id.as_str(), "{live:#}");
    assert_eq!(live["rule"]["connection_state"], "ESTABLISHED", "{live:#}");
    assert_eq!(live["endpoint_state"], "available", "{live:#}");
    assert_eq!(live["load_balancer_state"], "active", "{live:#}");
    assert_eq!(live["endpoint_service_state"], "Available", "{live:#}");
    assert_eq!(
        live["allowed_principals"],
        serde_json::json!([crate::common::cloud::databricks_principal("us-east-1")]),
        "{live:#}"
    );
    assert_eq!(live["unregistered_ips"], serde_json::json!([]), "{live:#}");
    assert_eq!(live["stale_targets"], serde_json::json!([]), "{live:#}");
    let conns = live["connections"].as_array().expect("connections");
    assert_eq!(conns.len(), 1, "{live:#}");
    assert_eq!(conns[0]["vpc_endpoint_id"], c.rule_vpce.as_str());
    assert_eq!(conns[0]["owner"], crate::common::cloud::DATABRICKS_AWS);
    assert_eq!(conns[0]["state"], "available");
    assert_eq!(conns[0]["is_rule_endpoint"], true);
    let ws = live["workspaces"].as_array().expect("workspaces");
    assert_eq!(ws.len(), 1, "{live:#}");
    assert_eq!(ws[0]["workspace_id"], 1111111111111111_i64);
    assert_eq!(ws[0]["bound_to_deployment_ncc"], true, "{live:#}");

    // The table form says the same.
    let table = stack
        .plink(&wd)
        .args(["status", wd.workflow.to_str().unwrap()])
        .run();
    table.assert_code(0);
    assert!(table.stdout.contains(&c.rule_id), "{}", table.transcript());
}

#[test]
fn second_up_makes_zero_mutating_calls_and_leaves_the_state_serial_unchanged() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::default());
    stack.up(&wd).assert_code(0);
    let serial = wd.serial();
    let state_before = std::fs::read_to_string(wd.state_path()).unwrap();
    stack.clear_all_calls();

    let run = stack.up(&wd);
    run.assert_code(0);
    let mutating = stack.mutating_calls();
    assert!(
        mutating.is_empty(),
        "the second `plink up` changed something:\n{}\n{}",
        mutating
            .iter()
            .map(|c| format!("  {c}\n"))
            .collect::<String>(),
        run.transcript()
    );
    assert_eq!(
        wd.serial(),
        serial,
        "the state was written again\n{}",
        run.transcript()
    );
    assert_eq!(
        std::fs::read_to_string(wd.state_path()).unwrap(),
        state_before,
        "the state file changed"
    );
    let (aws, databricks) = (
        stack.calls(crate::common::Emu::Aws),
        stack.calls(crate::common::Emu::Databricks),
    );
    eprintln!(
        "e2e: second up made {} AWS and {} Databricks API calls, none mutating",
        aws.len(),
        databricks.len()
    );
    // Issue #13: a converged `up` reads each resource once, at most 15 requests in all.
    assert!(
        aws.len() + databricks.len() <= 15,
        "a converged up made {} requests:\n{}",
        aws.len() + databricks.len(),
        aws.iter()
            .chain(&databricks)
            .map(|c| format!("  {c}\n"))
            .collect::<String>()
    );
    let c = assert_converged(&stack, &wd, &run);
    assert_one_rule_ever(&c, "second up");
}

#[test]
fn up_in_another_region_allows_that_regions_principal_and_binds_its_workspace() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec {
        deployment: "west".into(),
        ..WorkflowSpec::in_region("us-west-2", &[3333333333333333])
    });
    let run = stack.up(&wd);
    run.assert_code(0);
    let c = assert_converged(&stack, &wd, &run);
    assert_one_rule_ever(&c, "us-west-2");
    assert_eq!(
        stack.allowed_principals("us-west-2", &c.service_id),
        vec![crate::common::cloud::databricks_principal("us-west-2")]
    );
    // Nothing landed in the other region.
    let east = stack.inventory("us-east-1", &wd.spec.ncc_name);
    assert_eq!(
        (
            east.endpoints,
            east.load_balancers,
            east.endpoint_services,
            east.nccs
        ),
        (0, 0, 0, 0),
        "{east}"
    );
}

#[test]
fn workspace_of_another_region_stops_up_in_preflight_with_exit_4_and_says_why() {
    let stack = Stack::start();
    // 3333333333333333 is in us-west-2; the deployment in us-east-1.
    let wd = Workdir::new(WorkflowSpec::in_region("us-east-1", &[3333333333333333]));
    let run = stack.up(&wd);
    run.assert_code(4);
    assert!(
        run.stderr
            .contains("workspace 3333333333333333 is in us-west-2"),
        "{}",
        run.transcript()
    );
    assert!(run.stderr.contains("fix:"), "no fix\n{}", run.transcript());
    // Issue #16: stopped before anything was created (it used to stop at `bind`, after the
    // whole PrivateLink path was up and billed).
    assert!(
        stack.mutating_calls().is_empty(),
        "{:#?}",
        stack.mutating_calls()
    );
    assert_eq!(wd.status_of("established"), None);
    assert_eq!(
        stack
            .workspace(3333333333333333)
            .network_connectivity_config_id,
        None
    );
}

/// Out of band: another NCC, bound to workspace 2222222222222222; its id.
fn someone_elses_ncc_on_workspace_2(stack: &Stack) -> String {
    let db = stack.databricks();
    let other = stack
        .block_on(db.create_ncc("someone-elses-ncc", "us-east-1"))
        .expect("create NCC");
    let other_id = other.network_connectivity_config_id.clone();
    stack
        .block_on(db.update_workspace_ncc(2222222222222222, &other_id))
        .expect("bind");
    other_id
}

/// The binding records `other_id` as the NCC it replaced.
fn assert_replaced(wd: &Workdir, other_id: &str) {
    let bind = wd.step("bind").expect("bind recorded");
    assert_eq!(
        bind["outputs"]["workspaces"][0]["replaced_ncc_id"], other_id,
        "{bind:#}"
    );
}

#[test]
fn workspace_bound_to_another_ncc_needs_the_replace_flag_then_is_switched() {
    let stack = Stack::start();
    let other_id = someone_elses_ncc_on_workspace_2(&stack);

    let wd = Workdir::new(WorkflowSpec::in_region("us-east-1", &[2222222222222222]));
    let run = stack.up(&wd);
    run.assert_code(4);
    assert!(
        run.stderr.contains("bound to another NCC") && run.stderr.contains("--replace-ncc-binding"),
        "{}",
        run.transcript()
    );
    assert_eq!(
        stack
            .workspace(2222222222222222)
            .network_connectivity_config_id
            .as_deref(),
        Some(other_id.as_str())
    );

    let run = stack
        .plink(&wd)
        .args(["up", "--replace-ncc-binding", wd.workflow.to_str().unwrap()])
        .run();
    run.assert_code(0);
    let ours = stack
        .ncc_named("plink-demo-ncc", "us-east-1")
        .expect("our NCC");
    assert_eq!(
        stack
            .workspace(2222222222222222)
            .network_connectivity_config_id
            .as_deref(),
        Some(ours.network_connectivity_config_id.as_str())
    );
    assert_replaced(&wd, &other_id);
}

#[test]
fn a_run_stopped_while_a_switched_workspace_updates_keeps_the_ncc_it_replaced() {
    // Regression: the binding was recorded only once the workspace ran again, so a run stopped
    // during that update left its PATCH "in flight" and lost the NCC the workspace had before
    // (`down --rebind-to`'s natural target).
    let stack = Stack::start();
    let other_id = someone_elses_ncc_on_workspace_2(&stack);
    // The workspace takes 600 s real (3 s scaled) to update: plink is inside that wait.
    stack.set_delays(serde_json::json!({"workspace_update": 600.0}));
    let wd = Workdir::new(WorkflowSpec::in_region("us-east-1", &[2222222222222222]));
    let wf = wd.workflow.to_str().unwrap().to_owned();
    let mut bg = stack
        .plink(&wd)
        .args(["up", "--replace-ncc-binding", &wf])
        .code(130)
        .spawn();
    bg.interrupt_when(
        "the workspace switched",
        Duration::from_secs(60),
        Duration::from_millis(100),
        || {
            stack
                .workspace(2222222222222222)
                .network_connectivity_config_id
                .as_deref()
                != Some(other_id.as_str())
        },
    );
    bg.wait();
    let bind = wd.step("bind").expect("bind recorded");
    assert!(bind["intent"].is_null(), "{bind:#}");
    assert_replaced(&wd, &other_id);
    stack.set_delays(serde_json::json!({"workspace_update": 5.0}));
    stack
        .plink(&wd)
        .args(["up", "--replace-ncc-binding", &wf])
        .code(0)
        .run();
    assert_replaced(&wd, &other_id);
}

#[test]
fn a_state_file_of_plink_0_1_0_is_read_and_resumed() {
    // Written by plink 0.1.0 after a full `up` on another stack: every resource it records is
    // gone here, so `up` must read it, find each one gone, and converge in the same lineage.
    let old: serde_json::Value = serde_json::from_str(include_str!(
        "../fixtures/state-v0.1.0-s3-privatelink-up.json"
    ))
    .unwrap();
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::default());
    std::fs::create_dir_all(wd.state_path().parent().unwrap()).unwrap();
    wd.write_state(&old);
    let run = stack.up(&wd);
    run.assert_code(0);
    let c = assert_converged(&stack, &wd, &run);
    assert_one_rule_ever(&c, "up from an old state");
    let state = wd.state_required();
    assert_eq!(state["lineage"], old["lineage"], "{state:#}");
    assert!(
        state["serial"].as_u64() > old["serial"].as_u64(),
        "{state:#}"
    );
    assert!(run.stderr.contains("is gone"), "{}", run.transcript());
}
