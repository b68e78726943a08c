//! Workflow kinds other than `s3-privatelink`, each from its example file in `workflows/`.

use crate::common::workdir::repo_file;
use crate::common::{Emu, Kind, Run, Stack, Workdir, WorkflowSpec};

/// A second `up` changes nothing (zero mutating calls on either cloud); `plan` agrees.
fn up_again_changes_nothing(stack: &Stack, wd: &Workdir, wf: &str) {
    stack.clear_all_calls();
    stack.plink(wd).args(["up", wf]).code(0).run();
    assert!(
        stack.mutating_calls().is_empty(),
        "{:?}",
        stack.mutating_calls()
    );
    stack.plink(wd).args(["plan", wf]).code(0).run();
}

/// `down`, switching the workspaces to a parking NCC made for it (a binding cannot be removed).
fn down_to_parking(stack: &Stack, wd: &Workdir, wf: &str) -> Run {
    let parking = stack.block_on(stack.databricks().create_ncc("parking-ncc", "us-east-1"));
    let parking = parking.expect("parking NCC").network_connectivity_config_id;
    stack
        .plink(wd)
        .args(["down", "--rebind-to", &parking, wf])
        .code(0)
        .run()
}

/// The id of the local stack's fixture subnet `key` (`private-a`, `private-b`) in us-east-1.
fn fixture_subnet(stack: &Stack, key: &str) -> String {
    stack.fixtures(Emu::Aws)["regions"]["us-east-1"]["subnets"][key]["id"]
        .as_str()
        .expect("fixture subnet")
        .to_owned()
}

#[test]
fn nlb_service_up_establishes_and_binds_plans_clean_and_down_leaves_nothing_of_plink() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::of(Kind::NlbService));
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
    let state = wd.state_required();
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
    up_again_changes_nothing(&stack, &wd, wf);

    // `down`, switching the workspace to a parking NCC, leaves nothing of plink's.
    down_to_parking(&stack, &wd, wf);
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
    let wd = Workdir::new(WorkflowSpec::of(Kind::NlbService));
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
    let state = wd.state_required();
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
    up_again_changes_nothing(&stack, &wd, wf);
}

/// Launches an instance in the fixture subnet `subnet` (`private-a`, `private-b`) at `ip`.
fn launch(stack: &Stack, subnet: &str, ip: &str) -> String {
    let subnet = fixture_subnet(stack, subnet);
    let ec2 = stack.aws("us-east-1").ec2;
    stack.block_on(async {
        let out = ec2
            .run_instances()
            .image_id("ami-12345678")
            .min_count(1)
            .max_count(1)
            .subnet_id(subnet)
            .private_ip_address(ip)
            .send()
            .await
            .expect("RunInstances");
        out.instances()[0].instance_id().unwrap().to_owned()
    })
}

#[test]
fn nlb_service_targets_ec2_instances_and_follows_a_replaced_one() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::of(Kind::NlbService));
    let a = launch(&stack, "private-a", "10.20.1.61");
    let b = launch(&stack, "private-b", "10.20.2.62");
    let with = |ids: &[&str]| {
        let list = ids
            .iter()
            .map(|i| format!("\"{i}\""))
            .collect::<Vec<_>>()
            .join(", ");
        repo_file("workflows/nlb-service.toml").replace(
            "targets = { ips = [\"10.20.1.50\", \"10.20.2.50\"] }",
            &format!("targets = {{ instances = [{list}] }}"),
        )
    };
    let wf = wd.write("api.toml", &with(&[&a, &b]));
    let wf = wf.to_str().unwrap();
    // Regression: the plan said "register the endpoint's ENI IPs" for a service's addresses.
    let plan = stack.plink(&wd).args(["plan", wf]).code(10).run();
    assert!(
        plan.stdout
            .contains("register the service's addresses as targets")
            && !plan.stdout.contains("ENI"),
        "{}",
        plan.transcript()
    );
    stack.plink(&wd).args(["up", wf]).code(0).run();
    let registered = |wd: &Workdir| {
        let state = wd.state_required();
        (
            state["steps"]["targets_5432"]["outputs"]["registered_ips"].clone(),
            state["steps"]["established"]["outputs"]["connection_state"].clone(),
        )
    };
    assert_eq!(
        registered(&wd),
        (
            serde_json::json!(["10.20.1.61", "10.20.2.62"]),
            serde_json::json!("ESTABLISHED")
        )
    );
    let inv = stack.inventory("us-east-1", "plink-demo-pg-ncc");
    assert_eq!(inv.targets, 2, "{inv}");
    up_again_changes_nothing(&stack, &wd, wf);

    // Instance b is replaced by c (another address): plan says the addresses moved, up registers
    // the new one and deregisters the old one.
    let c = launch(&stack, "private-b", "10.20.2.63");
    wd.write("api.toml", &with(&[&a, &c]));
    let plan = stack.plink(&wd).args(["plan", wf]).code(10).run();
    assert!(
        plan.stdout
            .contains("the service's addresses moved from [10.20.1.61, 10.20.2.62] to [10.20.1.61, 10.20.2.63]"),
        "{}",
        plan.transcript()
    );
    stack.plink(&wd).args(["up", wf]).code(0).run();
    assert_eq!(
        registered(&wd).0,
        serde_json::json!(["10.20.1.61", "10.20.2.63"])
    );
    let live = stack
        .plink(&wd)
        .args(["status", "--json", wf])
        .code(0)
        .run()
        .json();
    let mut ips: Vec<String> = live["live"]["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .filter(|t| t["state"] != "draining")
        .map(|t| t["ip"].as_str().unwrap().to_owned())
        .collect();
    ips.sort();
    assert_eq!(ips, ["10.20.1.61", "10.20.2.63"], "{live:#}");
    stack.plink(&wd).args(["plan", wf]).code(0).run();
}

/// The policy of `bucket` as a JSON value (`null` when it has none).
fn bucket_policy(stack: &Stack, bucket: &str) -> serde_json::Value {
    stack.block_on(async {
        let aws = stack.clients().await;
        match aws.bucket_policy(bucket).await.expect("GetBucketPolicy") {
            Some(text) => serde_json::from_str(&text).expect("policy JSON"),
            None => serde_json::Value::Null,
        }
    })
}

fn put_bucket_policy(stack: &Stack, bucket: &str, policy: &serde_json::Value) {
    stack.block_on(async {
        let aws = stack.clients().await;
        match policy {
            serde_json::Value::Null => aws.delete_bucket_policy(bucket).await,
            p => aws.put_bucket_policy(bucket, &p.to_string()).await,
        }
        .expect("write the bucket policy");
    });
}

/// The `Sid`s of a policy's statements, in order.
fn sids(policy: &serde_json::Value) -> Vec<String> {
    policy["Statement"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|s| s["Sid"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn s3_native_merges_policies_establishes_enables_repairs_drift_and_down_restores_the_policies() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::of(Kind::S3Native));
    let wf = wd.write("s3n.toml", &repo_file("workflows/s3-native.toml"));
    let wf = wf.to_str().unwrap();
    let logs_before = bucket_policy(&stack, "plink-demo-logs");
    assert_eq!(sids(&logs_before), ["DenyInsecureTransport"]);
    assert_eq!(
        bucket_policy(&stack, "plink-demo-data"),
        serde_json::Value::Null
    );

    stack.plink(&wd).args(["up", wf]).code(0).run();
    let state = wd.state_required();
    let steps = &state["steps"];
    assert_eq!(state["workflow"], "s3-native", "{state:#}");
    assert_eq!(
        steps["established"]["outputs"]["connection_state"],
        "ESTABLISHED"
    );
    assert_eq!(steps["enabled"]["outputs"]["enabled"], true);
    let rule = stack
        .live_rule("plink-demo-s3n-ncc", "us-east-1")
        .expect("one live rule");
    assert_eq!(
        rule.endpoint_service.as_deref(),
        Some("com.amazonaws.us-east-1.s3")
    );
    assert_eq!(rule.resource_names, ["plink-demo-data", "plink-demo-logs"]);
    assert_eq!(rule.enabled, Some(true));
    let vpce = rule.vpc_endpoint_id.clone().expect("the rule's endpoint");
    // plink's statement allows exactly that endpoint; the other team's statement stays first.
    let logs = bucket_policy(&stack, "plink-demo-logs");
    assert_eq!(
        sids(&logs),
        ["DenyInsecureTransport", "PlinkDemoS3n"],
        "{logs:#}"
    );
    assert_eq!(logs["Statement"][0], logs_before["Statement"][0]);
    assert_eq!(
        logs["Statement"][1]["Condition"]["StringEquals"]["aws:SourceVpce"],
        vpce.as_str()
    );
    assert_ne!(logs["Statement"][1]["Principal"], "*");
    assert_eq!(
        sids(&bucket_policy(&stack, "plink-demo-data")),
        ["PlinkDemoS3n"]
    );
    assert_eq!(
        stack
            .workspace(2222222222222222)
            .network_connectivity_config_id,
        stack
            .ncc_named("plink-demo-s3n-ncc", "us-east-1")
            .map(|n| n.network_connectivity_config_id)
    );

    // A second `up` changes nothing; `plan` agrees.
    up_again_changes_nothing(&stack, &wd, wf);

    // Drift: plink's statement removed out of band, and the rule disabled.
    put_bucket_policy(&stack, "plink-demo-logs", &logs_before);
    stack
        .block_on(stack.databricks().update_rule(
            &rule.network_connectivity_config_id,
            &rule.rule_id,
            &[plink::databricks::RuleField::Enabled],
            &plink::databricks::UpdateRule {
                enabled: Some(false),
                ..Default::default()
            },
        ))
        .expect("disable the rule");
    let plan = stack.plink(&wd).args(["plan", wf]).code(10).run();
    assert!(
        plan.stdout
            .contains("bucket plink-demo-logs: statement PlinkDemoS3n missing")
            && plan.stdout.contains("is not enabled: up enables it"),
        "{}",
        plan.transcript()
    );
    let status = stack.plink(&wd).args(["status", "--json", wf]).run().json();
    assert!(
        status["live"]["bucket_policies"]
            .as_array()
            .is_some_and(|l| l.iter().any(|b| b["statement"] == "missing")),
        "{status:#}"
    );
    stack.plink(&wd).args(["up", wf]).code(0).run();
    assert_eq!(
        sids(&bucket_policy(&stack, "plink-demo-logs")),
        ["DenyInsecureTransport", "PlinkDemoS3n"]
    );
    let rule = stack.live_rule("plink-demo-s3n-ncc", "us-east-1").unwrap();
    assert_eq!(rule.enabled, Some(true));
    stack.plink(&wd).args(["plan", wf]).code(0).run();

    // The bucket list changes: the rule follows, and the dropped bucket loses plink's statement.
    wd.write(
        "s3n.toml",
        &repo_file("workflows/s3-native.toml").replace(
            "buckets = [\"plink-demo-data\", \"plink-demo-logs\"]",
            "buckets = [\"plink-demo-logs\"]",
        ),
    );
    let plan = stack.plink(&wd).args(["plan", wf]).code(10).run();
    assert!(
        plan.stdout
            .contains("bucket plink-demo-data is no longer listed"),
        "{}",
        plan.transcript()
    );
    stack.plink(&wd).args(["up", wf]).code(0).run();
    let rule = stack.live_rule("plink-demo-s3n-ncc", "us-east-1").unwrap();
    assert_eq!(rule.resource_names, ["plink-demo-logs"]);
    assert_eq!(
        bucket_policy(&stack, "plink-demo-data"),
        serde_json::Value::Null
    );
    stack.plink(&wd).args(["plan", wf]).code(0).run();

    // `down` (switching the workspace to a parking NCC) leaves the policies as they were.
    down_to_parking(&stack, &wd, wf);
    assert_eq!(bucket_policy(&stack, "plink-demo-logs"), logs_before);
    assert_eq!(
        bucket_policy(&stack, "plink-demo-data"),
        serde_json::Value::Null
    );
    assert!(stack.ncc_named("plink-demo-s3n-ncc", "us-east-1").is_none());
}

#[test]
fn s3_native_print_mode_waits_for_the_printed_statement_and_touches_no_policy() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::of(Kind::S3Native));
    let text = repo_file("workflows/s3-native.toml")
        .replace(
            "buckets = [\"plink-demo-data\", \"plink-demo-logs\"]",
            "buckets = [\"plink-demo-data\"]",
        )
        .replace("bucket_policy = \"manage\"", "bucket_policy = \"print\"");
    let wf = wd.write("s3n.toml", &text);
    let wf = wf.to_str().unwrap().to_owned();
    let mut up = stack.plink(&wd).args(["up", &wf]).code(0).spawn();
    // Once Databricks reported its endpoint, another team adds the statement plink prints.
    let vpce = loop {
        let state = wd.state().unwrap_or_default();
        if let Some(v) = state["steps"]["rule"]["outputs"]["vpc_endpoint_id"].as_str() {
            break v.to_owned();
        }
        assert!(!up.exited(), "up ended before the rule had an endpoint");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        bucket_policy(&stack, "plink-demo-data"),
        serde_json::Value::Null,
        "print mode never writes a policy"
    );
    let statement = serde_json::json!({
        "Sid": "PlinkDemoS3n",
        "Effect": "Allow",
        "Principal": { "AWS": "arn:aws:iam::123456789012:root" },
        "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:GetBucketLocation"],
        "Resource": ["arn:aws:s3:::plink-demo-data", "arn:aws:s3:::plink-demo-data/*"],
        "Condition": { "StringEquals": { "aws:SourceVpce": vpce } },
    });
    put_bucket_policy(
        &stack,
        "plink-demo-data",
        &serde_json::json!({ "Version": "2012-10-17", "Statement": [statement] }),
    );
    let run = up.wait();
    assert!(
        run.stderr
            .contains("add this statement to the policy of bucket plink-demo-data")
            && run.stderr.contains(&vpce),
        "{}",
        run.transcript()
    );
    let state = wd.state_required();
    assert_eq!(state["steps"]["enabled"]["outputs"]["enabled"], true);
    // `down` leaves the other team's policy alone and says what to remove; `plan --destroy`
    // says so first (a release: left in place).
    let plan = stack
        .plink(&wd)
        .args(["plan", "--destroy", "--json", &wf])
        .code(10)
        .run()
        .json();
    assert!(
        plan["steps"].as_array().into_iter().flatten().any(|s| {
            s["step"] == "down_bucket_policy"
                && s["action"] == "release"
                && s["id"] == "plink-demo-data"
        }),
        "{plan:#}"
    );
    let down = down_to_parking(&stack, &wd, &wf);
    assert!(
        down.stderr
            .contains("remove statement PlinkDemoS3n from the policy of bucket plink-demo-data"),
        "{}",
        down.transcript()
    );
    assert_eq!(
        sids(&bucket_policy(&stack, "plink-demo-data")),
        ["PlinkDemoS3n"]
    );
}

/// The RDS client of the customer account.
fn rds(stack: &Stack) -> aws_sdk_rds::Client {
    stack.block_on(async { stack.clients().await.rds })
}

/// A DB subnet group over the demo VPC's two private subnets.
fn db_subnet_group(stack: &Stack) {
    let subnet = |k: &str| fixture_subnet(stack, k);
    let rds = rds(stack);
    stack
        .block_on(
            rds.create_db_subnet_group()
                .db_subnet_group_name("plink-demo-db")
                .db_subnet_group_description("demo")
                .subnet_ids(subnet("private-a"))
                .subnet_ids(subnet("private-b"))
                .send(),
        )
        .expect("CreateDBSubnetGroup");
}

/// The IPs registered on port 5432, from the state.
fn registered_5432(wd: &Workdir) -> serde_json::Value {
    wd.state_required()["steps"]["targets_5432"]["outputs"]["registered_ips"].clone()
}

fn with_targets(targets: &str) -> String {
    repo_file("workflows/nlb-service.toml").replace(
        "targets = { ips = [\"10.20.1.50\", \"10.20.2.50\"] }",
        &format!("targets = {{ {targets} }}"),
    )
}

#[test]
fn nlb_service_targets_an_rds_instance_and_follows_its_failover() {
    let stack = Stack::start();
    db_subnet_group(&stack);
    let rds = rds(&stack);
    let address = |rds: &aws_sdk_rds::Client| {
        stack
            .block_on(
                rds.describe_db_instances()
                    .db_instance_identifier("orders")
                    .send(),
            )
            .expect("DescribeDBInstances")
            .db_instances()[0]
            .endpoint()
            .and_then(|e| e.address())
            .unwrap()
            .to_owned()
    };
    stack
        .block_on(
            rds.create_db_instance()
                .db_instance_identifier("orders")
                .db_instance_class("db.t3.micro")
                .engine("postgres")
                .db_subnet_group_name("plink-demo-db")
                .multi_az(true)
                .send(),
        )
        .expect("CreateDBInstance");
    let wd = Workdir::new(WorkflowSpec::of(Kind::NlbService));
    let wf = wd.write("db.toml", &with_targets("rds_instance = \"orders\""));
    let wf = wf.to_str().unwrap();
    stack.plink(&wd).args(["up", wf]).code(0).run();
    let before = address(&rds);
    assert_eq!(registered_5432(&wd), serde_json::json!([before]));
    stack.plink(&wd).args(["plan", wf]).code(0).run();

    // A Multi-AZ failover moves the address: plan and status report it, up re-registers.
    stack
        .block_on(
            rds.reboot_db_instance()
                .db_instance_identifier("orders")
                .force_failover(true)
                .send(),
        )
        .expect("RebootDBInstance with failover");
    let after = address(&rds);
    assert_ne!(after, before);
    let plan = stack.plink(&wd).args(["plan", wf]).code(10).run();
    assert!(
        plan.stdout.contains(&format!(
            "the service's addresses moved from [{before}] to [{after}]"
        )),
        "{}",
        plan.transcript()
    );
    let status = stack.plink(&wd).args(["status", wf]).run();
    assert!(
        status.stdout.contains(&after) || status.stderr.contains(&after),
        "status shows the moved address\n{}",
        status.transcript()
    );
    stack.plink(&wd).args(["up", wf]).code(0).run();
    assert_eq!(registered_5432(&wd), serde_json::json!([after]));
    stack.plink(&wd).args(["plan", wf]).code(0).run();
}

#[test]
fn nlb_service_targets_an_aurora_writer_and_follows_a_cluster_failover() {
    let stack = Stack::start();
    db_subnet_group(&stack);
    let rds = rds(&stack);
    stack
        .block_on(
            rds.create_db_cluster()
                .db_cluster_identifier("ledger")
                .engine("aurora-postgresql")
                .master_username("plink")
                .master_user_password("plink-secret")
                .db_subnet_group_name("plink-demo-db")
                .send(),
        )
        .expect("CreateDBCluster");
    for member in ["ledger-1", "ledger-2"] {
        stack
            .block_on(
                rds.create_db_instance()
                    .db_instance_identifier(member)
                    .db_instance_class("db.r6g.large")
                    .engine("aurora-postgresql")
                    .db_cluster_identifier("ledger")
                    .send(),
            )
            .expect("CreateDBInstance (cluster member)");
    }
    let writer = |rds: &aws_sdk_rds::Client| {
        stack
            .block_on(
                rds.describe_db_clusters()
                    .db_cluster_identifier("ledger")
                    .send(),
            )
            .expect("DescribeDBClusters")
            .db_clusters()[0]
            .endpoint()
            .unwrap()
            .to_owned()
    };
    let wd = Workdir::new(WorkflowSpec::of(Kind::NlbService));
    let wf = wd.write("ledger.toml", &with_targets("rds_cluster = \"ledger\""));
    let wf = wf.to_str().unwrap();
    stack.plink(&wd).args(["up", wf]).code(0).run();
    let before = writer(&rds);
    assert_eq!(registered_5432(&wd), serde_json::json!([before]));

    stack
        .block_on(
            rds.failover_db_cluster()
                .db_cluster_identifier("ledger")
                .send(),
        )
        .expect("FailoverDBCluster");
    let after = writer(&rds);
    assert_ne!(after, before);
    stack.plink(&wd).args(["plan", wf]).code(10).run();
    stack.plink(&wd).args(["up", wf]).code(0).run();
    assert_eq!(registered_5432(&wd), serde_json::json!([after]));
    stack.plink(&wd).args(["plan", wf]).code(0).run();
}
