//! Workflow kinds other than `s3-privatelink`, each from its example file in `workflows/`.

use crate::common::workdir::repo_file;
use crate::common::{Stack, Workdir, WorkflowSpec};

#[test]
fn nlb_service_up_establishes_and_binds_plans_clean_and_down_leaves_nothing_of_plink() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::default());
    // Two ports (PostgreSQL and a pooler in front of it): a target group and a listener each.
    let text =
        repo_file("workflows/nlb-service.toml").replace("ports = [5432]", "ports = [5432, 6432]");
    let wf = wd.write("nlb-service.toml", &text);
    let wf = wf.to_str().unwrap();
    let run = stack.plink(&wd).args(["up", wf]).code(0).run();
    assert!(
        run.stderr.contains("deployment demo-pg is up"),
        "{}",
        run.transcript()
    );

    // ESTABLISHED, bound, one listener and target group for the port, the two IPs registered,
    // the rule with the file's domain names.
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(wd.path().join(".plink/demo-pg/state.json")).unwrap(),
    )
    .unwrap();
    let steps = &state["steps"];
    assert_eq!(state["workflow"], "nlb-service", "{state:#}");
    assert_eq!(
        steps["established"]["outputs"]["connection_state"],
        "ESTABLISHED"
    );
    assert_eq!(
        steps["rule"]["outputs"]["domain_names"],
        serde_json::json!(["pg.plink-demo.internal"])
    );
    assert_eq!(
        steps["targets_5432"]["outputs"]["registered_ips"],
        serde_json::json!(["10.20.1.50", "10.20.2.50"])
    );
    assert_eq!(
        steps["targets_6432"]["outputs"]["registered_ips"],
        serde_json::json!(["10.20.1.50", "10.20.2.50"])
    );
    // `status` shows every port's targets.
    let status = stack
        .plink(&wd)
        .args(["status", "--json", wf])
        .code(0)
        .run()
        .json();
    assert_eq!(
        status["live"]["targets"].as_array().map(Vec::len),
        Some(4),
        "{status:#}"
    );
    let inv = stack.inventory("us-east-1", "plink-demo-pg-ncc");
    assert_eq!(
        (
            inv.load_balancers,
            inv.target_groups,
            inv.listeners,
            inv.targets
        ),
        (1, 2, 2, 4),
        "{inv}"
    );
    assert_eq!(
        (inv.endpoint_services, inv.nccs, inv.live_rules),
        (1, 1, 1),
        "{inv}"
    );
    assert_eq!(
        inv.endpoints, 0,
        "no interface endpoint for IP targets: {inv}"
    );
    assert_eq!(
        stack
            .workspace(2222222222222222)
            .network_connectivity_config_id,
        stack
            .ncc_named("plink-demo-pg-ncc", "us-east-1")
            .map(|n| n.network_connectivity_config_id)
    );

    // A second `up` changes nothing; `plan` agrees.
    stack.clear_all_calls();
    stack.plink(&wd).args(["up", wf]).code(0).run();
    assert!(
        stack.mutating_calls().is_empty(),
        "{:?}",
        stack.mutating_calls()
    );
    stack.plink(&wd).args(["plan", wf]).code(0).run();

    // `down`, switching the workspace to a parking NCC, leaves nothing of plink's.
    let parking = stack.block_on(stack.databricks().create_ncc("parking-ncc", "us-east-1"));
    let parking = parking.expect("parking NCC").network_connectivity_config_id;
    stack
        .plink(&wd)
        .args(["down", "--rebind-to", &parking, wf])
        .code(0)
        .run();
    let inv = stack.inventory("us-east-1", "plink-demo-pg-ncc");
    assert_eq!(
        (
            inv.load_balancers,
            inv.target_groups,
            inv.listeners,
            inv.endpoint_services,
            inv.nccs,
            inv.live_rules
        ),
        (0, 0, 0, 0, 0, 0),
        "{inv}"
    );
}

#[test]
fn nlb_service_in_front_of_an_aws_service_targets_its_interface_endpoint() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::default());
    let text = repo_file("workflows/nlb-service.toml")
        .replace("ports = [5432]", "ports = [443]")
        .replace(
            "targets = { ips = [\"10.20.1.50\", \"10.20.2.50\"] }",
            "targets = { aws_service = \"com.amazonaws.us-east-1.kinesis-streams\" }",
        )
        .replace("pg.plink-demo.internal", "kinesis.us-east-1.amazonaws.com");
    assert!(text.contains("aws_service"));
    let wf = wd.write("kinesis.toml", &text);
    let wf = wf.to_str().unwrap();
    stack.plink(&wd).args(["up", wf]).code(0).run();
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(wd.path().join(".plink/demo-pg/state.json")).unwrap(),
    )
    .unwrap();
    let steps = &state["steps"];
    assert_eq!(
        steps["established"]["outputs"]["connection_state"],
        "ESTABLISHED"
    );
    // The target group holds exactly the endpoint's ENI IPs.
    let sorted = |v: &serde_json::Value| {
        let mut ips: Vec<String> = serde_json::from_value(v.clone()).unwrap_or_default();
        ips.sort();
        ips
    };
    let eni_ips = sorted(&steps["endpoint"]["outputs"]["ips"]);
    assert_eq!(eni_ips.len(), 2, "{state:#}");
    assert_eq!(
        sorted(&steps["targets_443"]["outputs"]["registered_ips"]),
        eni_ips,
        "{state:#}"
    );
    let inv = stack.inventory("us-east-1", "plink-demo-pg-ncc");
    assert_eq!(
        (inv.endpoints, inv.security_groups, inv.targets),
        (1, 1, 2),
        "{inv}"
    );
    stack.clear_all_calls();
    stack.plink(&wd).args(["up", wf]).code(0).run();
    assert!(
        stack.mutating_calls().is_empty(),
        "{:?}",
        stack.mutating_calls()
    );
}
