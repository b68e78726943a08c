//! `plink verify` (issue #15): the static path link by link, then the probe from serverless
//! compute (a one-time run of plink's task in each workspace), against the local stack — whose
//! Databricks emulator computes the task's report from the emulated world (CONTRACT.md "Verify
//! task").
//!
//! Each break is made out of band with the stack's own clients, as `tests/plan.rs` makes drift;
//! `verify` must exit 4 naming that link, and `up` repairs it before the next one.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::workdir::repo_file;
use crate::common::{
    Emu, Kind, Run, Stack, Workdir, WorkflowSpec, cloud::revoke_tcp_ingress, eventually, says,
};
use plink::databricks::ConnectionState;

const WS: i64 = 1111111111111111;
const WS2: i64 = 2222222222222222;
const BUCKET: &str = "plink-demo-data";

/// `plink verify --json EXTRA… WORKFLOW`, which must exit `code`; its report.
fn verify(stack: &Stack, wd: &Workdir, extra: &[&str], code: i32) -> (Run, Value) {
    let run = stack
        .plink(wd)
        .args(["verify", "--json"])
        .args(extra.iter().copied())
        .workflow()
        .code(code)
        .run();
    no_secret(stack, &run);
    let report = run.json();
    (run, report)
}

/// The stack's client secret appears nowhere in what plink printed.
fn no_secret(stack: &Stack, run: &Run) {
    let secret = stack.var("DATABRICKS_CLIENT_SECRET");
    assert!(!secret.is_empty());
    assert!(
        !run.stdout.contains(secret) && !run.stderr.contains(secret),
        "the client secret in plink's output:\n{}",
        run.transcript()
    );
}

/// The workspace objects plink's task files left in `workspace` (none may be left).
fn task_files(stack: &Stack, workspace: i64) -> Vec<String> {
    let objects = stack.control(
        Emu::Databricks,
        "GET",
        &format!("/_plink/workspace-files?workspace_id={workspace}"),
        None,
    );
    objects["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["object_type"] == "FILE")
        .filter_map(|o| o["path"].as_str().map(str::to_owned))
        .filter(|p| p.contains("/.plink/verify-"))
        .collect()
}

/// The report's first broken link or destination.
fn first_broken(report: &Value) -> String {
    report["first_broken"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The verdict of link `name`.
fn link(report: &Value, name: &str) -> String {
    report["links"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["name"] == name))
        .map(|l| l["verdict"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_else(|| panic!("no link {name}: {report:#}"))
}

/// The fix of link `name` (empty without one).
fn fix(report: &Value, name: &str) -> String {
    report["links"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["name"] == name))
        .and_then(|l| l["fix"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// The report lines of workspace `ws`'s probe.
fn lines(report: &Value, ws: i64) -> Vec<Value> {
    report["probes"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["workspace_id"] == ws))
        .unwrap_or_else(|| panic!("no probe of workspace {ws}: {report:#}"))["destinations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Every link ok, every destination reached, the task file gone, exit 0.
fn reachable(stack: &Stack, wd: &Workdir, extra: &[&str], ws: i64) -> Value {
    let (run, report) = verify(stack, wd, extra, 0);
    assert_eq!(report["reachable"], true, "{}", run.transcript());
    assert!(
        report["links"]
            .as_array()
            .is_some_and(|l| !l.is_empty() && l.iter().all(|l| l["verdict"] == "ok")),
        "{report:#}"
    );
    let probed = lines(&report, ws);
    assert!(!probed.is_empty(), "{report:#}");
    for line in &probed {
        assert_eq!(line["ok"], true, "{line:#}");
        // TLS when the destination asks for it (S3 always; plain TCP to a database: none).
        let tls = &line["line"]["tls"];
        assert!(tls.is_null() || tls["ok"] == true, "{line:#}");
        assert!(line["line"].get("emulator").is_none(), "{line:#}");
    }
    assert!(
        task_files(stack, ws).is_empty(),
        "{:?}",
        task_files(stack, ws)
    );
    report
}

/// A broken path: exit 4, the first broken link is `link_name`, the task file gone.
fn broken(stack: &Stack, wd: &Workdir, extra: &[&str], link_name: &str) -> Value {
    let (run, report) = verify(stack, wd, extra, 4);
    assert_eq!(report["reachable"], false, "{report:#}");
    assert!(
        first_broken(&report).starts_with(&format!("{link_name} ")),
        "expected {link_name} first: {}\n{report:#}",
        first_broken(&report)
    );
    assert_eq!(link(&report, link_name), "broken", "{report:#}");
    assert!(task_files(stack, WS).is_empty());
    let _ = run;
    report
}

/// Repairs the deployment with `plink up EXTRA…`.
fn repair(stack: &Stack, wd: &Workdir, extra: &[&str]) {
    stack
        .plink(wd)
        .arg("up")
        .args(extra.iter().copied())
        .workflow()
        .code(0)
        .run();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_privatelink_verify_lists_the_bucket_and_names_each_break() {
    let stack = Stack::start();
    let wd = Workdir::demo();
    let bucket = ["--bucket", BUCKET];

    // Never brought up: nothing to verify yet.
    let (_, report) = verify(&stack, &wd, &bucket, 4);
    assert!(
        first_broken(&report).starts_with("deployment "),
        "{report:#}"
    );

    stack.plink(&wd).arg("up").workflow().code(0).run();

    // After `up`: every link ok; from the workspace, the bucket's name resolves to the private
    // endpoint's addresses, TLS with SNI, ListObjectsV2 200 (seed 001 after binding).
    let report = reachable(&stack, &wd, &bucket, WS);
    let line = &lines(&report, WS)[0];
    assert_eq!(line["name"], format!("s3://{BUCKET}"), "{line:#}");
    assert_eq!(line["line"]["private"], true, "{line:#}");
    assert_eq!(
        line["line"]["list_objects_v2"]["http_status"], 200,
        "{line:#}"
    );
    assert!(
        line["line"]["host"]
            .as_str()
            .is_some_and(|h| h.starts_with(&format!("{BUCKET}.vpce-"))),
        "{line:#}"
    );
    // The table says the same, and `--static` submits no run; the task never holds a secret.
    let table = stack
        .plink(&wd)
        .args(["verify", "--bucket", BUCKET])
        .workflow()
        .code(0)
        .run();
    no_secret(&stack, &table);
    says(&table, "reachable: every link ok");
    let submitted = |stack: &Stack| {
        stack
            .calls(Emu::Databricks)
            .iter()
            .any(|c| c.path.contains("/jobs/runs/submit"))
    };
    assert!(submitted(&stack));
    stack.clear_all_calls();
    let (_, report) = verify(&stack, &wd, &["--static"], 0);
    assert!(report["probes"].as_array().is_some_and(Vec::is_empty));
    assert!(!submitted(&stack));
    // Without --bucket: TLS to a name under the endpoint's wildcard.
    reachable(&stack, &wd, &[], WS);

    let aws = stack.clients().await;
    let db = stack.databricks();
    let out = |step: &str, key: &str| wd.output(step, key).expect(key);

    // 1. Targets deregistered: the NLB has nothing healthy behind it.
    let tg = out("target_group", "target_group_arn");
    let ips: Vec<String> =
        serde_json::from_value(wd.state_required()["steps"]["endpoint"]["outputs"]["ips"].clone())
            .unwrap();
    aws.deregister_ip_targets(&tg, &ips, 443).await.unwrap();
    let report = broken(&stack, &wd, &bucket, "targets");
    assert_eq!(lines(&report, WS)[0]["error"], "timeout", "{report:#}");
    repair(&stack, &wd, &[]);
    reachable(&stack, &wd, &bucket, WS);

    // 2. The security group's rule for a NLB subnet removed.
    let sg = wd.state_required()["steps"]["security_group"]["outputs"]["security_group_ids"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let subnets = wd.state_required()["steps"]["network"]["outputs"]["subnets"].clone();
    let cidr = subnets[0]["cidr"].as_str().unwrap().to_owned();
    revoke_tcp_ingress(&aws, &sg, &cidr, 443).await;
    // (The emulator lets the probe through: its NLB has no security group of its own; on AWS the
    // endpoint's group drops the NLB's traffic. The static link names it either way.)
    broken(&stack, &wd, &bucket, "security_group");
    repair(&stack, &wd, &[]);
    reachable(&stack, &wd, &bucket, WS);

    // 3. The rule's connection rejected: Databricks marks the rule REJECTED / DISCONNECTED.
    let ncc = out("ncc", "ncc_id");
    let rule = out("rule", "rule_id");
    let service = out("endpoint_service", "service_id");
    aws.reject_endpoint_connections(&service, &[out("rule", "vpc_endpoint_id")])
        .await
        .unwrap();
    eventually("the rule to fail", Duration::from_secs(20), || async {
        let r = db.get_rule(&ncc, &rule).await.ok()?;
        r.connection_state.filter(ConnectionState::is_failed)
    })
    .await;
    let report = broken(&stack, &wd, &bucket, "rule");
    assert!(fix(&report, "rule").contains("plink up"), "{report:#}");
    repair(&stack, &wd, &[]);
    reachable(&stack, &wd, &bucket, WS);

    // 4. The workspace switched to another NCC: as before binding in seed 001, the bucket's
    //    name resolves (AWS publishes the endpoint's private addresses) but the connection
    //    times out.
    let other = db.create_ncc("plink-other-ncc", "us-east-1").await.unwrap();
    db.update_workspace_ncc(WS, &other.network_connectivity_config_id)
        .await
        .unwrap();
    let report = broken(&stack, &wd, &bucket, "bind");
    let line = &lines(&report, WS)[0];
    assert_eq!(line["ok"], false, "{line:#}");
    assert_eq!(line["error"], "timeout", "{line:#}");
    assert_eq!(line["line"]["private"], true, "{line:#}");
    assert!(
        line["line"]["addresses"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "{line:#}"
    );
    assert!(
        fix(&report, "bind").contains("--replace-ncc-binding"),
        "{report:#}"
    );
    repair(&stack, &wd, &["--replace-ncc-binding"]);
    reachable(&stack, &wd, &bucket, WS);

    // A workspace that is not the deployment's, and a kind that opens no path: usage errors.
    let run = stack
        .plink(&wd)
        .args(["verify", "--workspace", "42"])
        .workflow()
        .code(2)
        .run();
    says(&run, "workspace 42 is not one of the deployment's");
}

#[test]
fn s3_native_verify_lists_each_bucket_through_the_rule() {
    let stack = Stack::start();

    // s3-native: both buckets listed through Databricks' S3 endpoint (rule enabled).
    let native = Workdir::new(WorkflowSpec::of(Kind::S3Native));
    stack.plink(&native).arg("up").workflow().code(0).run();
    // The first submit is run but its answer lost (504): plink submits again with the same
    // idempotency token and gets the same run — the stack's first (run ids are sequential).
    stack.set_faults(
        Emu::Databricks,
        json!({"seed": 1, "rules": [
            {"kind": "commit_then_timeout", "mode": "504", "delay_ms": 20, "max_count": 1,
             "match": {"method": "POST", "path_regex": "/jobs/runs/submit$"}}
        ]}),
    );
    let report = reachable(&stack, &native, &[], WS2);
    assert_eq!(stack.faults_fired(Emu::Databricks), 1);
    stack.clear_faults(Emu::Databricks);
    assert_eq!(
        report["probes"][0]["run_id"], 700000000000001_i64,
        "{report:#}"
    );
    assert_eq!(lines(&report, WS2).len(), 2, "{report:#}");
    // --bucket is only for s3-privatelink.
    stack
        .plink(&native)
        .args(["verify", "--bucket", BUCKET])
        .workflow()
        .code(2)
        .run();
    // A kind that opens no path: a usage error, before any call.
    let lists = Workdir::new(WorkflowSpec::of(Kind::IpAccessLists));
    let run = stack.plink(&lists).arg("verify").workflow().code(2).run();
    says(&run, "this ip-access-lists deployment opens none");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nlb_service_verify_connects_to_the_port_and_names_deregistered_targets() {
    let stack = Stack::start();

    // nlb-service: the database's name and port, through the NLB.
    let pg = Workdir::new(WorkflowSpec::of(Kind::NlbService));
    stack.plink(&pg).arg("up").workflow().code(0).run();
    let aws = stack.clients().await;
    let tg = pg.output("target_group_5432", "target_group_arn").unwrap();
    // Nothing answers at the service's addresses yet: the NLB's health checks fail, and the
    // targets link says so although they are registered as intended.
    let (_, report) = verify(&stack, &pg, &["--static"], 4);
    assert!(
        first_broken(&report).starts_with("targets_5432 ")
            && first_broken(&report).contains("no healthy target"),
        "{report:#}"
    );
    // The database comes up (its network interfaces hold the addresses): healthy.
    let fixtures = stack.fixtures(Emu::Aws);
    for (subnet, ip) in [("private-a", "10.20.1.50"), ("private-b", "10.20.2.50")] {
        let subnet = fixtures["regions"]["us-east-1"]["subnets"][subnet]["id"]
            .as_str()
            .unwrap();
        aws.ec2
            .create_network_interface()
            .subnet_id(subnet)
            .private_ip_address(ip)
            .send()
            .await
            .unwrap();
    }
    eventually("healthy targets", Duration::from_secs(30), || async {
        let health = aws.target_health(&tg).await.ok()?;
        health.iter().all(|t| t.state == "healthy").then_some(())
    })
    .await;
    let report = reachable(&stack, &pg, &[], WS2);
    assert_eq!(
        lines(&report, WS2)[0]["name"],
        "pg.plink-demo.internal:5432"
    );
    let aws = stack.clients().await;
    let tg = pg.output("target_group_5432", "target_group_arn").unwrap();
    aws.deregister_ip_targets(&tg, &["10.20.1.50".into(), "10.20.2.50".into()], 5432)
        .await
        .unwrap();
    let (_, report) = verify(&stack, &pg, &[], 4);
    assert!(
        first_broken(&report).starts_with("targets_5432 "),
        "{report:#}"
    );
    assert_eq!(lines(&report, WS2)[0]["error"], "timeout", "{report:#}");
    assert!(task_files(&stack, WS2).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn egress_policy_verify_reaches_the_allowlist_and_names_a_removed_destination() {
    let stack = Stack::start();

    // network-policy, enforced: the allowlist reached; a destination removed out of band is
    // named (the policy drifted) and the probe cannot resolve it any more.
    let egress = Workdir::new(WorkflowSpec::of(Kind::NetworkPolicy));
    let text = repo_file("workflows/network-policy-egress.toml")
        .replace("enforcement = \"dry-run\"", "enforcement = \"enforced\"");
    std::fs::write(&egress.workflow, &text).unwrap();
    stack
        .plink(&egress)
        .args(["up", "--accept-denials"])
        .workflow()
        .code(0)
        .run();
    let report = reachable(&stack, &egress, &[], WS);
    let names: Vec<Value> = lines(&report, WS)
        .iter()
        .map(|l| l["name"].clone())
        .collect();
    assert_eq!(
        names,
        [json!("pypi.org:443"), json!("s3://plink-demo-data")]
    );
    assert!(
        report["notes"]
            .as_array()
            .is_some_and(|n| n.iter().any(|n| n
                .as_str()
                .unwrap_or_default()
                .contains("*.pythonhosted.org"))),
        "{report:#}"
    );
    let db = stack.databricks();
    let mut body = db.get_network_policy("plink-egress-demo").await.unwrap();
    let allowed = body["egress"]["network_access"]["allowed_internet_destinations"]
        .as_array_mut()
        .unwrap();
    allowed.retain(|d| d["destination"] != "pypi.org");
    db.replace_network_policy("plink-egress-demo", &body)
        .await
        .unwrap();
    let report = broken(&stack, &egress, &[], "policy");
    assert_eq!(link(&report, &format!("egress_policy_{WS}")), "broken");
    let pypi = &lines(&report, WS)[0];
    assert_eq!(pypi["ok"], false, "{pypi:#}");
    assert_eq!(pypi["error"], "dns_failure", "{pypi:#}");
    assert!(task_files(&stack, WS).is_empty());
}

#[test]
fn before_binding_the_probe_times_out_as_in_seed_001_and_ctrl_c_cancels_the_run() {
    let stack = Stack::start();
    let wd = Workdir::demo();
    let bucket = ["--bucket", BUCKET];

    // `up` stopped before the binding: every workspace update refused, `up` killed once the rule
    // is ESTABLISHED.
    stack.set_faults(
        Emu::Databricks,
        json!({"rules": [{"kind": "http_503", "rate": 1.0,
                          "match": {"method": "PATCH", "path_regex": "/workspaces/"}}]}),
    );
    let mut up = stack.plink(&wd).arg("up").workflow().spawn();
    let killed = up.kill_when("the rule ESTABLISHED", Duration::from_secs(60), || {
        wd.output("established", "connection_state").as_deref() == Some("ESTABLISHED")
    });
    assert!(killed, "up ended before the binding");
    let _ = up.wait();
    stack.clear_faults(Emu::Databricks);

    // The bucket's name resolves to the endpoint's private addresses, and the connection times
    // out: the workspace's serverless compute has no rule for it yet.
    let report = broken(&stack, &wd, &bucket, "bind");
    let line = &lines(&report, WS)[0];
    assert_eq!(line["error"], "timeout", "{line:#}");
    assert_eq!(line["line"]["private"], true, "{line:#}");
    assert!(line["line"]["connect_ms"].is_null(), "{line:#}");
    assert!(fix(&report, "bind").contains("plink up"), "{report:#}");

    // Bound: the bucket is listed.
    repair(&stack, &wd, &[]);
    reachable(&stack, &wd, &bucket, WS);

    // Ctrl-C while the run is going: the run is cancelled, the task file deleted, exit 130.
    stack.set_delays(json!({"job_run": 60000.0}));
    stack.clear_all_calls();
    let mut verifying = stack
        .plink(&wd)
        .args(["verify", "--bucket", BUCKET])
        .workflow()
        .spawn();
    let submitted = |stack: &Stack| {
        stack
            .calls(Emu::Databricks)
            .iter()
            .any(|c| c.path.contains("/jobs/runs/submit") && c.status == Some(200))
    };
    verifying.interrupt_when(
        "a run submitted",
        Duration::from_secs(60),
        Duration::from_millis(200),
        || submitted(&stack),
    );
    let run = verifying.expect_code(Some(130)).wait();
    no_secret(&stack, &run);
    assert!(
        stack
            .calls(Emu::Databricks)
            .iter()
            .any(|c| c.path.contains("/jobs/runs/cancel") && c.status == Some(200)),
        "{}",
        run.transcript()
    );
    assert!(
        task_files(&stack, WS).is_empty(),
        "{:?}",
        task_files(&stack, WS)
    );
}
