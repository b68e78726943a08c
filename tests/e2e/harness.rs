//! The harness (`tests/common/`) checks itself: these tests need the local stack (or nothing at
//! all) but no working `plink up`.

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_elasticloadbalancingv2::types::{LoadBalancerSchemeEnum, LoadBalancerTypeEnum};
use serde_json::json;

use crate::common::cloud::{FOREIGN, databricks_principal};
use crate::common::env::{DEFAULT_TIME_SCALE, Knobs};
use crate::common::slots::Permit;
use crate::common::stack::parse_exports;
use crate::common::{Background, Emu, Plink, Stack, Workdir, WorkflowSpec, knobs};

#[test]
fn harness_stack_starts_answers_and_is_gone_after_drop() {
    let stack = Stack::start();
    assert!(stack.healthy(Emu::Aws) && stack.healthy(Emu::Databricks));
    for k in [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "DATABRICKS_HOST",
        "DATABRICKS_ACCOUNT_ID",
        "DATABRICKS_CLIENT_ID",
        "DATABRICKS_CLIENT_SECRET",
    ] {
        assert!(
            stack.env.get(k).is_some_and(|v| !v.is_empty()),
            "`up` exported no {k}: {:?}",
            stack.env
        );
    }
    let aws = stack.fixtures(Emu::Aws);
    assert!(aws["regions"]["us-east-1"]["vpc_id"].is_string(), "{aws:#}");
    let db = stack.fixtures(Emu::Databricks);
    let ids: Vec<i64> = db["workspaces"]
        .as_array()
        .map(|w| {
            w.iter()
                .filter_map(|w| w["workspace_id"].as_i64())
                .collect()
        })
        .unwrap_or_default();
    for id in [1111111111111111, 2222222222222222, 3333333333333333] {
        assert!(ids.contains(&id), "workspace {id} not seeded: {db:#}");
    }
    let (aws_port, db_port) = (stack.aws_port, stack.db_port);
    let pid_file = stack.run_dir().join("plink_stack.pid");
    assert!(pid_file.exists());
    drop(stack);
    for port in [aws_port, db_port] {
        assert!(
            TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(300))
                .is_err(),
            "port {port} still answers after `down`"
        );
    }
}

#[test]
fn harness_fault_plans_and_call_log_count_what_happened() {
    let stack = Stack::start();
    let aws = stack.aws("us-east-1");

    // AWS: one throttle on DescribeVpcs (the SDK retries it), then a mutating call.
    stack.set_faults(
        Emu::Aws,
        json!({"seed": 1, "rules": [
            {"kind": "aws_throttle", "rate": 1.0, "max_count": 1, "match": {"action": "DescribeVpcs"}}
        ]}),
    );
    stack.clear_all_calls();
    let vpcs = stack
        .block_on(aws.ec2.describe_vpcs().send())
        .expect("DescribeVpcs");
    assert!(!vpcs.vpcs().is_empty());
    assert_eq!(
        stack.faults_fired(Emu::Aws),
        1,
        "{:#}",
        stack.faults(Emu::Aws)
    );
    let calls = stack.calls(Emu::Aws);
    assert!(
        calls
            .iter()
            .any(|c| c.action == "DescribeVpcs" && c.fault.as_deref() == Some("aws_throttle")),
        "{calls:#?}"
    );
    let vpc_id = vpcs.vpcs()[0].vpc_id().unwrap().to_owned();
    stack
        .block_on(
            aws.ec2
                .create_security_group()
                .group_name("e2e-harness")
                .description("harness")
                .vpc_id(&vpc_id)
                .send(),
        )
        .expect("CreateSecurityGroup");

    // Databricks: one 429 with Retry-After on a GET (the client retries), then a create.
    stack.set_faults(
        Emu::Databricks,
        json!({"seed": 1, "rules": [
            {"kind": "http_429", "rate": 1.0, "max_count": 1, "retry_after": 1,
             "match": {"method": "GET", "path_regex": "network-connectivity-configs$"}}
        ]}),
    );
    assert!(stack.nccs().is_empty());
    assert_eq!(stack.faults_fired(Emu::Databricks), 1);
    let db = stack.databricks();
    stack
        .block_on(db.create_ncc("e2e-harness", "us-east-1"))
        .expect("create NCC");

    let by_service = stack.mutating_by_service();
    assert_eq!(by_service.get("ec2"), Some(&1), "{by_service:?}");
    assert_eq!(by_service.get("databricks"), Some(&1), "{by_service:?}");
    assert!(stack.saw_call(Emu::Aws, "CreateSecurityGroup"));
    assert!(
        stack
            .calls(Emu::Databricks)
            .iter()
            .any(|c| c.method == "POST"
                && c.path.ends_with("/network-connectivity-configs")
                && c.mutating)
    );

    stack.clear_all_calls();
    assert!(stack.calls(Emu::Aws).is_empty() && stack.calls(Emu::Databricks).is_empty());
    stack.clear_faults(Emu::Aws);
    stack.clear_faults(Emu::Databricks);
    assert_eq!(stack.faults(Emu::Aws)["rules"], json!([]));

    // Delays can be changed at run time.
    let cfg = stack.set_delays(json!({"rule_creating": 1234.0}));
    assert_eq!(cfg["delays"]["rule_creating"], 1234.0);
    assert_eq!(stack.config()["delays"]["rule_creating"], 1234.0);
}

#[test]
fn harness_inventory_and_connection_helpers_work_on_a_hand_made_service() {
    let stack = Stack::start();
    let region = "us-east-1";
    let empty = stack.inventory(region, "plink-demo-ncc");
    assert_eq!(
        (
            empty.endpoints,
            empty.security_groups,
            empty.load_balancers,
            empty.target_groups
        ),
        (0, 0, 0, 0),
        "{empty}"
    );
    assert_eq!(
        (empty.endpoint_services, empty.nccs, empty.rules),
        (0, 0, 0),
        "{empty}"
    );
    assert!(empty.connections.is_empty());

    // An NLB and an endpoint service on it, by hand.
    let aws = stack.aws(region);
    let fixtures = stack.fixtures(Emu::Aws);
    let subnets: Vec<String> = ["private-a", "private-b"]
        .iter()
        .map(|k| {
            fixtures["regions"][region]["subnets"][k]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let lb = stack
        .block_on(
            aws.elb
                .create_load_balancer()
                .name("e2e-harness")
                .r#type(LoadBalancerTypeEnum::Network)
                .scheme(LoadBalancerSchemeEnum::Internal)
                .set_subnets(Some(subnets))
                .send(),
        )
        .expect("CreateLoadBalancer");
    let lb_arn = lb.load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_owned();
    let svc = stack
        .block_on(
            aws.ec2
                .create_vpc_endpoint_service_configuration()
                .acceptance_required(true)
                .network_load_balancer_arns(&lb_arn)
                .send(),
        )
        .expect("CreateVpcEndpointServiceConfiguration");
    let svc = svc.service_configuration().unwrap();
    let (service_id, service_name) = (
        svc.service_id().unwrap().to_owned(),
        svc.service_name().unwrap().to_owned(),
    );
    assert_eq!(
        stack.endpoint_service(region),
        Some((service_id.clone(), service_name.clone()))
    );

    let dbx = databricks_principal(region);
    let foreign_root = format!("arn:aws:iam::{FOREIGN}:root");
    stack.modify_principals(region, &service_id, &[&dbx, &foreign_root], &[]);
    let mut allowed = stack.allowed_principals(region, &service_id);
    allowed.sort();
    assert_eq!(allowed, vec![foreign_root.clone(), dbx.clone()]);
    stack.modify_principals(region, &service_id, &[], &[&dbx]);
    assert_eq!(
        stack.allowed_principals(region, &service_id),
        vec![foreign_root]
    );

    // Wait for the service to be Available, then connect as the foreign account.
    crate::common::wait_until(
        "the service to be Available",
        Duration::from_secs(10),
        || {
            stack
                .block_on(
                    aws.ec2
                        .describe_vpc_endpoint_service_configurations()
                        .send(),
                )
                .map(|o| {
                    o.service_configurations()[0]
                        .service_state()
                        .map(|s| s.as_str().to_owned())
                        == Some("Available".into())
                })
                .unwrap_or(false)
        },
    );
    let vpce = stack.create_foreign_endpoint(FOREIGN, region, &service_name);
    let conns = stack.connections(region);
    assert_eq!(conns.len(), 1, "{conns:?}");
    assert_eq!(conns[0].vpc_endpoint_id, vpce);
    assert_eq!(conns[0].owner, FOREIGN);
    assert_eq!(conns[0].state, "pendingAcceptance");
    assert!(
        stack
            .reject_connection(region, &service_id, &vpce)
            .is_empty()
    );
    assert_eq!(stack.connection_states(region)[&vpce], "rejected");

    let inv = stack.inventory(region, "plink-demo-ncc");
    assert_eq!(
        (inv.load_balancers, inv.endpoint_services, inv.endpoints),
        (1, 1, 0),
        "{inv}"
    );
    assert_eq!(inv.databricks_endpoints, 0, "{inv}");

    // A reset wipes it all and seeds the fixtures again.
    stack.reset();
    let wiped = stack.inventory(region, "plink-demo-ncc");
    assert_eq!(
        (wiped.load_balancers, wiped.endpoint_services),
        (0, 0),
        "{wiped}"
    );
    assert!(wiped.connections.is_empty());
    assert!(stack.fixtures(Emu::Aws)["regions"][region]["vpc_id"].is_string());
}

#[test]
fn harness_kill9_helper_kills_a_dummy_process_when_its_condition_holds() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(format!(
        "sleep 0.3; : > '{}'; exec sleep 30",
        marker.display()
    ));
    let started = Instant::now();
    let mut bg = Background::spawn(cmd, vec!["dummy".into()]);
    let killed = bg.kill_when("the marker", Duration::from_secs(10), || marker.exists());
    let run = bg.wait();
    assert!(killed, "{}", run.transcript());
    assert_eq!(run.signal, Some(9), "{}", run.transcript());
    assert!(started.elapsed() < Duration::from_secs(10));

    // A process that ends by itself first is reported as such, not as killed.
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg("echo bye; exit 3");
    let mut bg = Background::spawn(cmd, vec!["dummy".into()]);
    assert!(!bg.kill_when("never", Duration::from_secs(10), || false));
    let run = bg.wait();
    assert_eq!(run.code, Some(3));
    assert_eq!(run.stdout, "bye\n");
}

#[test]
fn harness_workflow_copies_are_valid_for_plink() {
    // validate touches no cloud: no stack needed, only the binary and the temp dir.
    for spec in [
        WorkflowSpec::default(),
        WorkflowSpec {
            domain_names: Some(vec!["db.example.internal".into()]),
            deployment: "other-name".into(),
            ..WorkflowSpec::in_region("us-west-2", &[3333333333333333])
        },
    ] {
        let wd = Workdir::new(spec.clone());
        let run = Plink::new(wd.path())
            .args(["validate", "workflow.toml"])
            .run();
        let stdout = &run.stdout;
        assert_eq!(
            run.code,
            Some(0),
            "{}\n{stdout}{}",
            spec.render(),
            run.stderr
        );
        assert_eq!(
            stdout.trim(),
            format!(
                "workflow.toml: ok (deployment {}, region {}, 1 workspace(s))",
                spec.deployment, spec.region
            )
        );
    }
}

#[test]
fn exports_are_parsed_as_the_shell_would() {
    let env = parse_exports(
        "export A=1\nexport B='x y'\nexport C='it'\"'\"'s'\nnoise\nexport D=http://127.0.0.1:5\n",
    );
    assert_eq!(env["A"], "1");
    assert_eq!(env["B"], "x y");
    assert_eq!(env["C"], "it's");
    assert_eq!(env["D"], "http://127.0.0.1:5");
    assert_eq!(env.len(), 4);
}

#[test]
fn harness_knobs_are_parsed_in_one_place_with_their_defaults() {
    let none = Knobs::parse(|_| None);
    assert_eq!(none.stacks, 2);
    assert_eq!(none.time_scale, DEFAULT_TIME_SCALE);
    assert_eq!(none.run_timeout, Duration::from_secs(120));
    assert!(!none.verbose && !none.echo);
    assert!(none.localstack_dir.ends_with("localstack"), "{none:?}");
    assert_eq!(
        (
            none.crash_seed,
            none.crash_runs,
            none.fault_runs,
            none.fault_seed
        ),
        (None, None, None, None)
    );

    let set = |k: &str| -> Option<String> {
        match k {
            "PLINK_LOCALSTACK_DIR" => Some("/elsewhere".into()),
            "PLINK_E2E_STACKS" => Some("3".into()),
            "PLINK_E2E_TIME_SCALE" => Some("0.01".into()),
            "PLINK_E2E_RUN_TIMEOUT" => Some("30".into()),
            "PLINK_E2E_VERBOSE" | "PLINK_E2E_ECHO" => Some(String::new()),
            "PLINK_CRASH_SEED" => Some("0x1f".into()),
            "PLINK_CRASH_WORKERS" => Some("4".into()),
            "PLINK_FAULT_SEED" => Some("7".into()),
            _ => None,
        }
    };
    let k = Knobs::parse(set);
    assert_eq!(k.localstack_dir, std::path::PathBuf::from("/elsewhere"));
    assert_eq!((k.stacks, k.time_scale.as_str()), (3, "0.01"));
    assert_eq!(k.run_timeout, Duration::from_secs(30));
    assert!(k.verbose && k.echo);
    assert_eq!((k.crash_seed, k.crash_workers), (Some(31), Some(4)));
    assert_eq!(k.fault_seed, Some(7));

    // A typo never silently becomes the default.
    for (var, value) in [
        ("PLINK_E2E_STACKS", "two"),
        ("PLINK_E2E_STACKS", "0"),
        ("PLINK_E2E_TIME_SCALE", "fast"),
        ("PLINK_CRASH_SEED", "0xzz"),
    ] {
        let parsed =
            std::panic::catch_unwind(|| Knobs::parse(|k| (k == var).then(|| value.to_owned())));
        assert!(parsed.is_err(), "{var}={value} was accepted");
    }
}

#[test]
fn harness_plink_builder_composes_args_env_and_expected_code() {
    let wd = Workdir::demo();
    let p = Plink::in_workdir(&wd)
        .arg("status")
        .workflow()
        .args(["--json"])
        .env("A_KNOB", "1")
        .env("DROPPED", "x")
        .env_remove("DROPPED")
        .env_opt("ALSO_DROPPED", None);
    let want = vec!["status", wd.workflow_arg(), "--json"];
    assert_eq!(p.argv(), want);
    let cmd = p.command();
    let envs: std::collections::BTreeMap<_, _> = cmd
        .get_envs()
        .map(|(k, v)| (k.to_string_lossy().into_owned(), v.map(|v| v.to_owned())))
        .collect();
    assert_eq!(envs["A_KNOB"].as_deref(), Some("1".as_ref()));
    assert_eq!(envs["HOME"].as_deref(), Some(wd.home().as_os_str()));
    assert_eq!(envs["USER"].as_deref(), Some("plink-e2e".as_ref()));
    assert!(!envs.contains_key("DROPPED") && !envs.contains_key("ALSO_DROPPED"));
    assert!(
        !envs
            .keys()
            .any(|k| k.starts_with("AWS_") || k.starts_with("DATABRICKS_")),
        "no cloud without a stack: {envs:?}"
    );
    assert_eq!(cmd.get_current_dir(), Some(wd.path()));

    // The demo, verbatim, is valid; `.code()` is checked by `run()`.
    let run = Plink::in_workdir(&wd)
        .arg("validate")
        .workflow()
        .code(0)
        .run();
    assert_eq!(
        run.stdout.trim(),
        format!(
            "{}: ok (deployment demo-s3, region us-east-1, 1 workspace(s))",
            wd.workflow_arg()
        )
    );
    let wrong = std::panic::catch_unwind(|| {
        Plink::new(wd.path())
            .args(["validate", "nope.toml"])
            .code(0)
            .run()
    });
    let msg = wrong.expect_err("exit 3 is not the expected 0");
    let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("expected exit 0") && msg.contains("$ plink validate nope.toml"),
        "{msg}"
    );
}

#[test]
fn harness_stacks_never_exceed_the_slot_limit() {
    let max = knobs().stacks;
    let peak = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..max + 1 {
            s.spawn(|| {
                let stack = Stack::start();
                peak.fetch_max(Permit::in_use(), std::sync::atomic::Ordering::SeqCst);
                assert!(stack.healthy(Emu::Aws));
            });
        }
    });
    let peak = peak.into_inner();
    assert!(
        (1..=max).contains(&peak),
        "{peak} stacks at once, limit {max}"
    );
}
