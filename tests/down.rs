//! `plink down` through the binary against private instances of the local stack
//! (`tests/support_aws`: one stack per test, time scale 0.002; plink polls with
//! `PLINK_WAIT_SCALE=200`).
//!
//! What is checked: after `up` then `down`, no plink-tagged resource is left in the customer
//! account (endpoints, NLBs, target groups, listeners, endpoint services, security groups) and no
//! NCC of the deployment on Databricks; a second `down` makes no mutating call and no state write;
//! `down` before any `up` touches nothing; `kill -9` during the teardown then `down` converges; an
//! adopted NCC survives; a bound workspace keeps the NCC (exit 11) until `--rebind-to`.

#[path = "support_aws/mod.rs"]
mod support_aws;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use plink::aws::{AwsClients, TagQuery};
use plink::databricks::{AccountClient, Settings};
use serde_json::{Value, json};
use support_aws::LocalStack;

const WORKSPACE: i64 = 1111111111111111;
const NCC_NAME: &str = "plink-demo-ncc";
const REGION: &str = "us-east-1";

/// One stack, one working directory holding the demo workflow, and the clients to look.
struct Case {
    stack: LocalStack,
    rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    workflow: PathBuf,
}

/// What a plink run printed and how it ended.
struct Run {
    code: Option<i32>,
    stderr: String,
    stdout: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn expect(self, code: i32, what: &str) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "{what}: expected exit {code}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Resources carrying plink's ownership tags (any deployment) in the customer account.
#[derive(Debug, Default, PartialEq)]
struct Inventory {
    endpoints: usize,
    load_balancers: usize,
    target_groups: usize,
    listeners: usize,
    endpoint_services: usize,
    security_groups: usize,
}

impl Inventory {
    fn empty() -> Self {
        Self::default()
    }
}

impl Case {
    fn new() -> Self {
        let stack = LocalStack::start();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::Builder::new()
            .prefix("plink-down-test-")
            .tempdir()
            .unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
        std::fs::copy(
            root.join("s3-endpoint-policy.json"),
            dir.path().join("s3-endpoint-policy.json"),
        )
        .unwrap();
        let workflow = dir.path().join("s3-privatelink.toml");
        std::fs::copy(root.join("s3-privatelink.toml"), &workflow).unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Self {
            stack,
            rt,
            dir,
            workflow,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_plink"));
        cmd.args(args)
            .arg(&self.workflow)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .env("USER", "plink-down-test")
            .env("PLINK_WAIT_SCALE", "200")
            .stdin(Stdio::null());
        for (k, v) in self.stack.exports() {
            cmd.env(k, v);
        }
        cmd
    }

    /// `plink ARGS WORKFLOW`, to completion (killed after two minutes).
    fn plink(&self, args: &[&str]) -> Run {
        let child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn plink");
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut child = child;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Run::from(child.wait_with_output().unwrap())
    }

    fn up(&self) {
        self.plink(&["up"]).expect(0, "plink up");
    }

    /// Starts `plink ARGS WORKFLOW` and `kill -9`s it once `cond` has held for `hold`.
    fn kill9_when(&self, args: &[&str], what: &str, hold: Duration, cond: impl Fn(&Case) -> bool) {
        let mut child: Child = self
            .command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn plink");
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut since: Option<Instant> = None;
        loop {
            if since.is_none() && cond(self) {
                since = Some(Instant::now());
            }
            if since.is_some_and(|t| t.elapsed() >= hold) {
                break;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "plink {args:?} ended before the kill point ({what})"
            );
            assert!(Instant::now() < deadline, "never reached: {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
    }

    fn state_path(&self) -> PathBuf {
        self.dir.path().join(".plink/demo-s3/state.json")
    }

    fn state(&self) -> Value {
        let text = std::fs::read_to_string(self.state_path()).expect("state file");
        serde_json::from_str(&text).expect("state JSON")
    }

    fn write_state(&self, state: &Value) {
        std::fs::write(self.state_path(), serde_json::to_vec_pretty(state).unwrap()).unwrap();
    }

    fn step(&self, step: &str) -> Option<Value> {
        std::fs::read_to_string(self.state_path())
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|s| s["steps"].get(step).cloned())
    }

    // --- the emulators ---

    fn control(
        &self,
        port_var: &str,
        method: reqwest::Method,
        route: &str,
        body: Option<Value>,
    ) -> Value {
        let url = format!(
            "http://127.0.0.1:{}/_plink/{route}",
            self.stack.var(port_var)
        );
        self.rt.block_on(async {
            let mut req = reqwest::Client::new().request(method, &url);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.expect("control route");
            assert!(resp.status().is_success(), "{url}: {}", resp.status());
            resp.json().await.unwrap_or(Value::Null)
        })
    }

    /// Changes emulator delays (real-world seconds × the time scale 0.002).
    fn set_delays(&self, delays: Value) {
        self.control(
            "PLINK_STACK_AWS_PORT",
            reqwest::Method::POST,
            "config",
            Some(json!({ "delays": delays })),
        );
    }

    fn clear_calls(&self) {
        for port in ["PLINK_STACK_AWS_PORT", "PLINK_STACK_DB_PORT"] {
            self.control(port, reqwest::Method::DELETE, "calls", None);
        }
    }

    /// Mutating calls in both call logs, as `service action`.
    fn mutating_calls(&self) -> Vec<String> {
        let mut out = Vec::new();
        for port in ["PLINK_STACK_AWS_PORT", "PLINK_STACK_DB_PORT"] {
            let calls = self.control(port, reqwest::Method::GET, "calls", None);
            for c in calls.as_array().cloned().unwrap_or_default() {
                if c["mutating"] == true {
                    out.push(format!("{} {} {}", c["service"], c["action"], c["path"]));
                }
            }
        }
        out
    }

    fn aws(&self) -> AwsClients {
        self.rt.block_on(self.stack.clients())
    }

    fn db(&self) -> AccountClient {
        let env: BTreeMap<String, String> = self.stack.exports().clone();
        let config = plink::databricks::resolve(&Settings::default(), |k| env.get(k).cloned())
            .expect("Databricks settings from the stack's exports");
        AccountClient::new(&config).expect("Databricks client")
    }

    fn create_ncc(&self, name: &str) -> String {
        self.rt
            .block_on(self.db().create_ncc(name, REGION))
            .expect("create NCC")
            .network_connectivity_config_id
    }

    /// NCCs named `name` in the region.
    fn nccs_named(&self, name: &str) -> Vec<String> {
        self.rt
            .block_on(self.db().list_nccs())
            .expect("list NCCs")
            .into_iter()
            .filter(|n| n.name == name && n.region == REGION)
            .map(|n| n.network_connectivity_config_id)
            .collect()
    }

    fn live_rules(&self, ncc_id: &str) -> usize {
        self.rt
            .block_on(self.db().list_rules(ncc_id))
            .expect("list rules")
            .iter()
            .filter(|r| !r.deactivated)
            .count()
    }

    fn workspace_ncc(&self) -> Option<String> {
        self.rt
            .block_on(self.db().get_workspace(WORKSPACE))
            .expect("get workspace")
            .network_connectivity_config_id
    }

    /// Counts plink-tagged resources of the customer account (live ones).
    fn inventory(&self) -> Inventory {
        let aws = self.aws();
        let q = TagQuery::any_deployment();
        self.rt.block_on(async {
            let gone = |s: &str| s.eq_ignore_ascii_case("deleted");
            let endpoints = aws.find_vpc_endpoints(&q).await.unwrap();
            let lbs = aws.find_load_balancers(&q).await.unwrap();
            let tgs = aws.find_target_groups(&q).await.unwrap();
            let services = aws.find_endpoint_services(&q).await.unwrap();
            let mut listeners = 0;
            let all_lbs = aws.elb.describe_load_balancers().send().await.unwrap();
            for lb in all_lbs.load_balancers() {
                let arns: Vec<String> = aws
                    .listeners(lb.load_balancer_arn().unwrap())
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|l| l.arn)
                    .collect();
                listeners += aws.elb_arns_matching(&arns, &q).await.unwrap().len();
            }
            let sgs = aws
                .ec2
                .describe_security_groups()
                .set_filters(Some(q.ec2_filters()))
                .send()
                .await
                .unwrap();
            Inventory {
                endpoints: endpoints.iter().filter(|e| !gone(&e.state)).count(),
                load_balancers: lbs.len(),
                target_groups: tgs.len(),
                listeners,
                endpoint_services: services.iter().filter(|s| !gone(&s.state)).count(),
                security_groups: sgs.security_groups().len(),
            }
        })
    }

    /// States of the connections to `service_id`, by endpoint id.
    fn connections(&self, service_id: &str) -> BTreeMap<String, String> {
        let aws = self.aws();
        self.rt
            .block_on(aws.endpoint_connections(service_id, None))
            .map(|c| c.into_iter().map(|c| (c.vpce_id, c.state)).collect())
            .unwrap_or_default()
    }
}

fn one_of_each() -> Inventory {
    Inventory {
        endpoints: 1,
        load_balancers: 1,
        target_groups: 1,
        listeners: 1,
        endpoint_services: 1,
        security_groups: 1,
    }
}

#[test]
fn up_then_down_leaves_nothing_of_plink_and_down_again_is_a_no_op() {
    let case = Case::new();
    case.up();
    assert_eq!(case.inventory(), one_of_each());
    let ours = case.nccs_named(NCC_NAME);
    assert_eq!(ours.len(), 1);
    let parking = case.create_ncc("parking-ncc");

    let run = case
        .plink(&["down", "--rebind-to", &parking])
        .expect(0, "down --rebind-to");
    assert!(run.stderr.contains("deactivates"), "{}", run.stderr);
    assert!(run.stderr.contains("is torn down"), "{}", run.stderr);
    assert_eq!(case.inventory(), Inventory::empty());
    assert!(
        case.nccs_named(NCC_NAME).is_empty(),
        "the deployment's NCC is deleted"
    );
    assert_eq!(case.nccs_named("parking-ncc"), vec![parking.clone()]);
    assert_eq!(case.workspace_ncc().as_deref(), Some(parking.as_str()));

    // Databricks' endpoint was rejected by plink (not left connected for a day).
    let state = case.state();
    let rejected = state["steps"]["down_connections"]["outputs"]["rejected_vpc_endpoint_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(rejected.len(), 1, "{state:#}");
    // The state keeps its lineage, notes the teardown and forgets the up records.
    assert!(state["destroyed_at"].is_string(), "{state:#}");
    let workflow = plink::config::load(&case.workflow).unwrap();
    for step in &plink::workflow::step_order(&workflow).unwrap() {
        assert!(
            state["steps"].get(*step).is_none(),
            "{step} still recorded: {state:#}"
        );
    }
    let status = case.plink(&["status"]).expect(0, "status");
    assert!(status.stdout.contains("torn down"), "{}", status.stdout);

    // Again: no mutating call anywhere, no state write.
    let serial = state["serial"].as_u64().unwrap();
    case.clear_calls();
    let run = case.plink(&["down"]).expect(0, "second down");
    assert!(
        run.stderr.contains("nothing left to tear down"),
        "{}",
        run.stderr
    );
    assert_eq!(case.mutating_calls(), Vec::<String>::new());
    assert_eq!(case.state()["serial"].as_u64(), Some(serial));
}

#[test]
fn down_before_any_up_is_a_no_op_with_a_clear_message() {
    let case = Case::new();
    case.clear_calls();
    let run = case.plink(&["down"]).expect(0, "down before up");
    assert!(run.stderr.contains("never ran"), "{}", run.stderr);
    assert!(
        run.stderr.contains("nothing to tear down"),
        "{}",
        run.stderr
    );
    assert!(
        !case.dir.path().join(".plink").exists(),
        "down created state files"
    );
    assert_eq!(case.mutating_calls(), Vec::<String>::new());
}

#[test]
fn a_bound_workspace_keeps_the_ncc_until_rebind_to() {
    let case = Case::new();
    case.up();
    let ncc = case.nccs_named(NCC_NAME).pop().unwrap();

    // A --rebind-to that cannot work is refused before anything is deleted.
    let run = case
        .plink(&[
            "down",
            "--rebind-to",
            "00000000-0000-4000-8000-000000000000",
        ])
        .expect(4, "down --rebind-to <missing NCC>");
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    assert_eq!(case.inventory(), one_of_each());

    let run = case
        .plink(&["down"])
        .expect(11, "down with a bound workspace");
    for text in [
        "workspace 1111111111111111 is still bound",
        "cannot remove",
        "--rebind-to <ncc-id>",
        "torn down, except its NCC",
    ] {
        assert!(
            run.stderr.contains(text),
            "missing {text:?}:\n{}",
            run.stderr
        );
    }
    assert_eq!(case.inventory(), Inventory::empty());
    assert_eq!(case.nccs_named(NCC_NAME), vec![ncc.clone()], "NCC kept");
    assert_eq!(case.live_rules(&ncc), 0, "the rule is deactivated");
    assert_eq!(case.workspace_ncc().as_deref(), Some(ncc.as_str()));
    assert_eq!(
        case.state()["steps"]["ncc"]["outputs"]["ncc_id"].as_str(),
        Some(ncc.as_str()),
        "the kept NCC stays in the state"
    );
    // Repeated without the flag: same answer, nothing changes.
    let serial = case.state()["serial"].clone();
    case.plink(&["down"]).expect(11, "down again");
    assert_eq!(case.state()["serial"], serial);

    // Databricks refuses the delete for a while after the binding moved (0.5 s here).
    case.set_delays(json!({"ncc_delete_settle": 250.0}));
    let parking = case.create_ncc("parking-ncc");
    let run = case
        .plink(&["down", "--rebind-to", &parking])
        .expect(0, "down --rebind-to");
    assert!(run.stderr.contains("switched from NCC"), "{}", run.stderr);
    assert!(
        run.stderr.contains("refused"),
        "the settle refusals were retried:\n{}",
        run.stderr
    );
    assert!(case.nccs_named(NCC_NAME).is_empty());
    assert_eq!(case.workspace_ncc().as_deref(), Some(parking.as_str()));
    assert!(case.state()["steps"].get("ncc").is_none());
}

#[test]
fn an_adopted_ncc_survives_down_unless_delete_adopted() {
    let case = Case::new();
    let adopted = case.create_ncc(NCC_NAME);
    case.up();
    assert_eq!(
        case.state()["steps"]["ncc"]["outputs"]["created_by_plink"],
        false
    );
    let run = case.plink(&["down"]).expect(0, "down with an adopted NCC");
    assert!(run.stderr.contains("released"), "{}", run.stderr);
    assert_eq!(case.inventory(), Inventory::empty());
    assert_eq!(
        case.nccs_named(NCC_NAME),
        vec![adopted.clone()],
        "adopted NCC survives"
    );
    assert_eq!(case.live_rules(&adopted), 0, "plink's rule is deleted");
    assert!(
        case.state()["steps"].get("ncc").is_none(),
        "released from the state"
    );

    // Brought up again, then removed for good with --delete-adopted.
    case.up();
    let parking = case.create_ncc("parking-ncc");
    case.plink(&["down", "--delete-adopted", "--rebind-to", &parking])
        .expect(0, "down --delete-adopted");
    assert!(case.nccs_named(NCC_NAME).is_empty());
    assert_eq!(case.inventory(), Inventory::empty());
}

#[test]
fn kill9_during_down_then_down_converges() {
    let case = Case::new();
    case.up();
    let service_id = case.state()["steps"]["endpoint_service"]["outputs"]["service_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Deleting the endpoint takes 3 s: kill while plink waits for it to be gone.
    case.set_delays(json!({"endpoint_deleting": 1500.0}));
    case.kill9_when(
        &["down"],
        "while waiting for the endpoint to be gone",
        Duration::from_millis(200),
        |c| {
            c.step("down_endpoint").is_some_and(|r| {
                r["outputs"]["deleted"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
            })
        },
    );
    assert_ne!(
        case.step("down_endpoint").unwrap()["status"],
        "done",
        "the wait was over before the kill"
    );
    assert!(case.state()["destroyed_at"].is_null());
    case.set_delays(json!({"endpoint_deleting": 30.0}));
    case.plink(&["down"])
        .expect(11, "down after kill -9 (workspace still bound)");
    assert_eq!(case.inventory(), Inventory::empty());
    assert!(
        case.connections(&service_id).is_empty(),
        "the endpoint service is gone"
    );

    // The NCC delete is refused for 3 s after the binding moves: kill while plink retries it.
    case.set_delays(json!({"ncc_delete_settle": 1500.0}));
    let parking = case.create_ncc("parking-ncc");
    case.kill9_when(
        &["down", "--rebind-to", &parking],
        "while the NCC delete is refused",
        Duration::from_millis(200),
        |c| {
            c.step("down_ncc")
                .is_some_and(|r| r["intent"]["action"] == "delete_ncc")
        },
    );
    assert_eq!(
        case.nccs_named(NCC_NAME).len(),
        1,
        "killed before the NCC went"
    );
    case.set_delays(json!({"ncc_delete_settle": 30.0}));
    case.plink(&["down", "--rebind-to", &parking])
        .expect(0, "down --rebind-to after kill -9");
    assert!(case.nccs_named(NCC_NAME).is_empty());
    assert_eq!(case.workspace_ncc().as_deref(), Some(parking.as_str()));
    assert!(case.state()["destroyed_at"].is_string());
}

#[test]
fn down_finds_what_up_created_but_never_recorded() {
    let case = Case::new();
    case.up();
    let ncc = case.nccs_named(NCC_NAME).pop().unwrap();
    // As if `up` had been killed after each create call and before recording its answer: the
    // records are gone, the intents are left.
    let mut state = case.state();
    let steps = state["steps"].as_object_mut().unwrap();
    let pending = |action: &str, key: Value| {
        json!({"status": "running", "outputs": {}, "generation": 0, "updated_at": "",
               "intent": {"action": action, "natural_key": key, "started_at": ""}})
    };
    steps.insert(
        "ncc".into(),
        pending("create_ncc", json!({"name": NCC_NAME, "region": REGION})),
    );
    for (step, action) in [
        ("endpoint", "create_vpc_endpoint"),
        ("load_balancer", "create_load_balancer"),
        ("target_group", "create_target_group"),
        ("listener", "create_listener"),
        ("endpoint_service", "create_vpc_endpoint_service"),
        ("security_group", "create_security_group"),
        ("rule", "create_private_endpoint_rule"),
    ] {
        steps.insert(step.into(), pending(action, json!({})));
    }
    case.write_state(&state);

    let parking = case.create_ncc("parking-ncc");
    case.plink(&["down", "--rebind-to", &parking])
        .expect(0, "down from intents only");
    assert_eq!(case.inventory(), Inventory::empty());
    assert!(case.nccs_named(NCC_NAME).is_empty(), "NCC {ncc} deleted");
}

#[test]
fn ctrl_c_during_down_saves_and_down_resumes() {
    let case = Case::new();
    case.up();
    case.set_delays(json!({"endpoint_deleting": 1500.0}));
    let child = case
        .command(&["down"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn plink");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !case.step("down_endpoint").is_some_and(|r| {
        r["outputs"]["deleted"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    }) {
        assert!(Instant::now() < deadline, "never waited for the endpoint");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = Run::from(child.wait_with_output().unwrap()).expect(130, "down after Ctrl-C");
    assert!(out.stderr.contains("`plink down` again"), "{}", out.stderr);
    assert!(case.state()["destroyed_at"].is_null());
    case.set_delays(json!({"endpoint_deleting": 30.0}));
    case.plink(&["down"]).expect(11, "down resumed");
    assert_eq!(case.inventory(), Inventory::empty());
}

#[test]
fn down_is_refused_while_another_command_holds_the_lock() {
    // No cloud is needed: the lock is taken before any call.
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    std::fs::copy(
        root.join("s3-endpoint-policy.json"),
        dir.path().join("s3-endpoint-policy.json"),
    )
    .unwrap();
    let workflow = dir.path().join("s3-privatelink.toml");
    std::fs::copy(root.join("s3-privatelink.toml"), &workflow).unwrap();
    let paths = plink::state::StatePaths::for_deployment(dir.path(), "demo-s3");
    let held = plink::state::StateStore::open(paths, "demo-s3", "s3-privatelink", "up").unwrap();
    held.update(|s| s.step_mut("network").status = plink::state::StepStatus::Done)
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_plink"))
        .arg("down")
        .arg(&workflow)
        .current_dir(dir.path())
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("DATABRICKS_HOST", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let run = Run::from(out).expect(6, "down while `up` holds the lock");
    assert!(
        run.stderr.contains("locked by `plink up`"),
        "{}",
        run.stderr
    );
}

#[test]
fn aws_resources_adopted_by_name_are_released_not_deleted() {
    use aws_sdk_elasticloadbalancingv2::types::{
        LoadBalancerSchemeEnum, LoadBalancerTypeEnum, ProtocolEnum, TargetTypeEnum,
    };
    use plink::aws::{SubnetSelector, VpcSelector};

    let case = Case::new();
    let aws = case.aws();
    // Someone else's NLB and target group, named as the workflow names them, without plink's tags.
    let (lb_arn, tg_arn) = case.rt.block_on(async {
        let vpc = aws
            .find_vpc(&VpcSelector::Tags(vec![(
                "Name".into(),
                "plink-demo-vpc".into(),
            )]))
            .await
            .unwrap();
        let subnets = aws
            .find_subnets(
                &vpc.id,
                &SubnetSelector::Tags(vec![("plink-demo".into(), "private".into())]),
            )
            .await
            .unwrap();
        let lb = aws
            .elb
            .create_load_balancer()
            .name("plink-demo-s3")
            .r#type(LoadBalancerTypeEnum::Network)
            .scheme(LoadBalancerSchemeEnum::Internal)
            .set_subnets(Some(subnets.iter().map(|s| s.id.clone()).collect()))
            .send()
            .await
            .unwrap();
        let tg = aws
            .elb
            .create_target_group()
            .name("plink-demo-s3-tg")
            .protocol(ProtocolEnum::Tcp)
            .port(443)
            .vpc_id(&vpc.id)
            .target_type(TargetTypeEnum::Ip)
            .send()
            .await
            .unwrap();
        (
            lb.load_balancers()[0]
                .load_balancer_arn()
                .unwrap()
                .to_owned(),
            tg.target_groups()[0].target_group_arn().unwrap().to_owned(),
        )
    });
    case.up();
    // Adopted, not duplicated.
    let state = case.state();
    assert_eq!(
        state["steps"]["load_balancer"]["outputs"]["load_balancer_arn"],
        lb_arn.as_str(),
        "{state:#}"
    );
    assert_eq!(
        state["steps"]["target_group"]["outputs"]["target_group_arn"],
        tg_arn.as_str(),
        "{state:#}"
    );

    let parking = case.create_ncc("parking-ncc");
    let run = case
        .plink(&["down", "--rebind-to", &parking])
        .expect(0, "down");
    assert!(
        run.stderr.contains("releasing load balancer plink-demo-s3"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("releasing target group plink-demo-s3-tg"),
        "{}",
        run.stderr
    );
    // Everything plink created is gone; what it adopted is still there.
    assert_eq!(case.inventory(), Inventory::empty());
    case.rt.block_on(async {
        assert!(
            aws.describe_load_balancer(&lb_arn).await.unwrap().is_some(),
            "the adopted NLB must survive"
        );
        assert!(
            aws.describe_target_group(&tg_arn).await.unwrap().is_some(),
            "the adopted target group must survive"
        );
    });
}
