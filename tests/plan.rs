//! `plink plan` and drift, end to end against private local stacks: a plan before `up`, a
//! clean plan after it (without a single mutating call), then every drift case made out of
//! band — planned (exit 10), flagged by `status`, repaired by `up`, and clean again.
//!
//! On the shared harness (`tests/common/`): one stack per test, the demo workflow verbatim.

mod common;

use std::time::Duration;

use common::{Emu, Run, Stack, Workdir, eventually};
use plink::aws::AwsClients;
use plink::databricks::{AccountClient, ConnectionState};
use serde_json::Value;

const PRINCIPAL: &str = "arn:aws:iam::565502421330:role/private-connectivity-role-us-east-1";
const WORKSPACE: i64 = 1111111111111111;

/// The demo workflow (verbatim) on its own stack.
struct Deployment {
    stack: Stack,
    wd: Workdir,
}

impl Deployment {
    fn new() -> Self {
        Self {
            stack: Stack::start(),
            wd: Workdir::demo(),
        }
    }

    /// `plink ARGS WORKFLOW`.
    fn plink(&self, args: &[&str]) -> Run {
        self.stack
            .plink(&self.wd)
            .args(args.iter().copied())
            .workflow()
            .run()
    }

    /// `plink up EXTRA… WORKFLOW`, which must succeed.
    fn up(&self, extra: &[&str]) {
        self.stack
            .plink(&self.wd)
            .arg("up")
            .args(extra.iter().copied())
            .workflow()
            .code(0)
            .run();
    }

    /// `plink plan --json EXTRA…`: the exit code (-1 when killed) and the plan.
    fn plan(&self, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["plan", "--json"];
        args.extend_from_slice(extra);
        let run = self.plink(&args);
        (run.code.unwrap_or(-1), run.json())
    }

    /// `plink status --json`'s live drift lines.
    fn drift(&self) -> Vec<String> {
        let run = self.plink(&["status", "--json"]);
        run.assert_code(0);
        let report = run.json();
        let live = report
            .get("live")
            .unwrap_or_else(|| panic!("no live view: {report:#}"));
        live["drift"]
            .as_array()
            .unwrap_or_else(|| panic!("no drift list: {live:#}"))
            .iter()
            .map(|l| l.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// What step `step` recorded under `key`.
    fn output(&self, step: &str, key: &str) -> Value {
        self.wd.state_required()["steps"][step]["outputs"][key].clone()
    }

    /// [`output`](Self::output) as a string.
    fn output_str(&self, step: &str, key: &str) -> String {
        self.output(step, key)
            .as_str()
            .unwrap_or_else(|| panic!("{step}.{key} is not a string"))
            .to_owned()
    }

    /// plink's AWS clients of the customer account.
    async fn aws(&self) -> AwsClients {
        self.stack.clients().await
    }

    /// plink's Databricks account client with the stack's service principal.
    fn databricks(&self) -> AccountClient {
        self.stack.databricks()
    }

    /// Empties both emulators' call logs.
    fn clear_calls(&self) {
        self.stack.clear_all_calls();
    }

    /// The mutating calls in both emulators' logs since the last clear (`service action`).
    fn mutating_calls(&self) -> Vec<String> {
        let mut found = Vec::new();
        for emu in [Emu::Aws, Emu::Databricks] {
            let calls = self.stack.calls(emu);
            assert!(!calls.is_empty(), "{emu:?}: no call logged at all");
            found.extend(
                calls
                    .iter()
                    .filter(|c| c.mutating)
                    .map(|c| format!("{} {}", c.service, c.action)),
            );
        }
        found
    }
}

/// The planned action of `step` in a `plan --json` document.
fn action(plan: &Value, step: &str) -> String {
    step_of(plan, step)["action"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The planned detail of `step`.
fn detail(plan: &Value, step: &str) -> String {
    step_of(plan, step)["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn step_of<'a>(plan: &'a Value, step: &str) -> &'a Value {
    plan["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["step"] == step))
        .unwrap_or_else(|| panic!("no step {step} in {plan:#}"))
}

/// The steps whose action is not `no_change`, as `step=action`.
fn changes(plan: &Value) -> Vec<String> {
    plan["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["action"] != "no_change")
        .map(|s| {
            format!(
                "{}={}",
                s["step"].as_str().unwrap_or_default(),
                s["action"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// Plans (JSON) and reads `status` drift without any mutating call; returns the plan, which
/// must have exit code 10 and exactly `expected` (`step=action`) as its changes.
async fn planned_drift(d: &Deployment, expected: &[&str]) -> Value {
    d.clear_calls();
    let (code, plan) = d.plan(&[]);
    assert_eq!(code, 10, "plan exit code: {plan:#}");
    assert_eq!(plan["changes"], true);
    assert_eq!(changes(&plan), expected, "{plan:#}");
    let drift = d.drift();
    for change in expected.iter().filter(|c| !c.ends_with("=later")) {
        let (step, act) = change.split_once('=').unwrap();
        assert!(
            drift
                .iter()
                .any(|l| l.starts_with(&format!("{step}: {act}: "))),
            "status does not flag {change}: {drift:#?}"
        );
    }
    assert_eq!(
        d.mutating_calls(),
        Vec::<String>::new(),
        "plan and status must only read"
    );
    plan
}

/// `up EXTRA` repairs, then the plan is clean and `status` flags nothing.
fn repaired(d: &Deployment, extra: &[&str]) {
    d.up(extra);
    let (code, plan) = d.plan(&[]);
    assert_eq!(code, 0, "plan after the repair: {plan:#}");
    assert_eq!(d.drift(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_before_up_plans_every_step_and_creates_nothing() {
    let d = Deployment::new();
    d.clear_calls();
    let (code, plan) = d.plan(&[]);
    assert_eq!(code, 10, "{plan:#}");
    assert_eq!(plan["state_exists"], false);
    assert_eq!(plan["steps"].as_array().map(Vec::len), Some(13), "{plan:#}");
    assert_eq!(action(&plan, "network"), "adopt");
    for step in ["security_group", "load_balancer", "target_group", "ncc"] {
        assert_eq!(action(&plan, step), "create", "{step}: {plan:#}");
    }
    for step in [
        "endpoint",
        "targets",
        "listener",
        "endpoint_service",
        "rule",
        "accept",
        "established",
        "bind",
    ] {
        assert_eq!(action(&plan, step), "later", "{step}: {plan:#}");
    }
    assert_eq!(plan["summary"]["create"], 4);
    assert_eq!(plan["summary"]["later"], 8);

    let human = d.plink(&["plan"]);
    assert_eq!(human.code, Some(10), "{}", human.transcript());
    assert!(
        human
            .stdout
            .contains("4 to create, 1 to adopt, 0 to change"),
        "{}",
        human.transcript()
    );
    assert!(
        !d.wd.path().join(".plink").exists(),
        "a plan of a deployment that never ran leaves no state, directory or lock"
    );
    assert_eq!(d.mutating_calls(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_then_plan_reports_no_change_without_any_mutating_call() {
    let d = Deployment::new();
    d.up(&[]);
    let before = std::fs::read(d.wd.state_path()).unwrap();
    d.clear_calls();

    let (code, plan) = d.plan(&[]);
    assert_eq!(code, 0, "{plan:#}");
    assert_eq!(plan["changes"], false);
    assert_eq!(plan["summary"]["no_change"], 13, "{plan:#}");
    let human = d.plink(&["plan"]);
    assert_eq!(human.code, Some(0), "{}", human.transcript());
    assert!(
        human.stdout.contains("no changes"),
        "{}",
        human.transcript()
    );
    assert_eq!(d.drift(), Vec::<String>::new());

    assert_eq!(
        d.mutating_calls(),
        Vec::<String>::new(),
        "plan and status only read"
    );
    assert_eq!(
        std::fs::read(d.wd.state_path()).unwrap(),
        before,
        "plan never writes state"
    );

    // A plan while another command holds the lock is refused (exit 6), like `terraform plan`.
    let paths = plink::state::StatePaths::at(d.wd.state_path());
    let _held = plink::state::StateStore::open(paths, "demo-s3", "s3-privatelink", "up").unwrap();
    let locked = d.plink(&["plan"]);
    assert_eq!(locked.code, Some(6), "{}", locked.transcript());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_drift_is_planned_flagged_and_repaired() {
    let d = Deployment::new();
    d.up(&[]);
    let aws = d.aws().await;

    // 1. In place: a target deregistered, the endpoint's ENIs moved (new IP), the Databricks
    //    principal replaced by `*`, cross-zone off, the security group missing a subnet CIDR.
    let tg = d.output_str("target_group", "target_group_arn");
    let ips: Vec<String> = serde_json::from_value(d.output("endpoint", "ips")).unwrap();
    let vpce = d.output_str("endpoint", "vpc_endpoint_id");
    let subnets = d.output("network", "subnets");
    let moved_subnet = subnets[1]["id"].as_str().unwrap();
    let new_ips = eventually("a new ENI IP", Duration::from_secs(20), || async {
        for (remove, add) in [(Some(moved_subnet), None), (None, Some(moved_subnet))] {
            aws.ec2
                .modify_vpc_endpoint()
                .vpc_endpoint_id(&vpce)
                .set_remove_subnet_ids(remove.map(|s| vec![s.to_owned()]))
                .set_add_subnet_ids(add.map(|s| vec![s.to_owned()]))
                .send()
                .await
                .unwrap();
        }
        let now = aws.endpoint_ips(&vpce).await.unwrap();
        (now.len() == 2 && now.iter().any(|ip| !ips.contains(ip))).then_some(now)
    })
    .await;
    let fresh_ip = new_ips.iter().find(|ip| !ips.contains(ip)).unwrap().clone();
    let old_ip = ips.iter().find(|ip| !new_ips.contains(ip)).unwrap().clone();
    let kept_ip = ips.iter().find(|ip| new_ips.contains(ip)).unwrap().clone();
    aws.deregister_ip_targets(&tg, std::slice::from_ref(&kept_ip), 443)
        .await
        .unwrap();
    let service = d.output_str("endpoint_service", "service_id");
    aws.remove_principal(&service, PRINCIPAL).await.unwrap();
    // (plink's client refuses to allow `*`: someone else's tool did it.)
    aws.ec2
        .modify_vpc_endpoint_service_permissions()
        .service_id(&service)
        .add_allowed_principals("*")
        .send()
        .await
        .unwrap();
    let lb = d.output_str("load_balancer", "load_balancer_arn");
    aws.set_cross_zone(&lb, false).await.unwrap();
    let sg = d.output("security_group", "security_group_ids")[0]
        .as_str()
        .unwrap()
        .to_owned();
    let cidr = subnets[0]["cidr"].as_str().unwrap();
    common::cloud::revoke_tcp_ingress(&aws, &sg, cidr, 443).await;

    let plan = planned_drift(
        &d,
        &[
            "security_group=update",
            "load_balancer=update",
            "targets=update",
            "endpoint_service=update",
        ],
    )
    .await;
    let targets = detail(&plan, "targets");
    let mut register = [kept_ip.clone(), fresh_ip.clone()];
    register.sort();
    assert!(
        targets.contains(&format!("register {}", register.join(", "))),
        "{targets}"
    );
    assert!(
        targets.contains(&format!("deregister {old_ip}")),
        "{targets}"
    );
    assert!(detail(&plan, "endpoint_service").contains('*'));
    assert!(detail(&plan, "endpoint_service").contains(PRINCIPAL));
    assert!(detail(&plan, "load_balancer").contains("cross-zone"));
    assert!(detail(&plan, "security_group").contains(cidr));
    repaired(&d, &[]);
    let registered: Vec<String> = aws
        .target_health(&tg)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.ip)
        .collect();
    let mut want = new_ips.clone();
    want.sort();
    assert_eq!(registered, want);
    let principals: Vec<String> = aws
        .allowed_principals(&service)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.principal)
        .collect();
    assert_eq!(principals, vec![PRINCIPAL.to_owned()]);
    assert!(aws.cross_zone_enabled(&lb).await.unwrap());

    // 2. The listener deleted.
    aws.delete_listener(&d.output_str("listener", "listener_arn"))
        .await
        .unwrap();
    let plan = planned_drift(
        &d,
        &[
            "listener=create",
            "endpoint_service=later",
            "rule=later",
            "accept=later",
            "established=later",
            "bind=later",
        ],
    )
    .await;
    assert!(detail(&plan, "listener").contains("is gone"), "{plan:#}");
    repaired(&d, &[]);

    // 3. The NLB and the target group deleted (after the endpoint service that holds the NLB).
    let conns: Vec<String> = aws
        .endpoint_connections(&service, None)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.vpce_id)
        .collect();
    aws.reject_endpoint_connections(&service, &conns)
        .await
        .unwrap();
    aws.delete_endpoint_services(std::slice::from_ref(&service))
        .await
        .unwrap();
    aws.delete_load_balancer(&lb).await.unwrap();
    aws.delete_target_group(&tg).await.unwrap();
    let plan = planned_drift(
        &d,
        &[
            "load_balancer=create",
            "target_group=create",
            "targets=later",
            "listener=later",
            "endpoint_service=later",
            "rule=later",
            "accept=later",
            "established=later",
            "bind=later",
        ],
    )
    .await;
    assert!(
        detail(&plan, "load_balancer").contains("recorded NLB plink-demo-s3"),
        "{plan:#}"
    );
    assert!(
        detail(&plan, "load_balancer").contains("is gone"),
        "{plan:#}"
    );
    repaired(&d, &[]);
    assert_ne!(d.output_str("endpoint_service", "service_id"), service);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn databricks_drift_is_planned_flagged_and_repaired() {
    let d = Deployment::new();
    d.up(&[]);
    let db = d.databricks();
    let aws = d.aws().await;
    let ncc = d.output_str("ncc", "ncc_id");
    let later = ["accept=later", "established=later", "bind=later"];

    // 1. The rule deleted.
    db.delete_rule(&ncc, &d.output_str("rule", "rule_id"))
        .await
        .unwrap();
    let mut expected = vec!["rule=create"];
    expected.extend(later);
    let plan = planned_drift(&d, &expected).await;
    assert!(detail(&plan, "rule").contains("is gone"), "{plan:#}");
    repaired(&d, &[]);

    // 2. The connection rejected on the endpoint service: Databricks marks the rule
    //    REJECTED (DISCONNECTED once it was established).
    let rule = d.output_str("rule", "rule_id");
    let service = d.output_str("endpoint_service", "service_id");
    aws.reject_endpoint_connections(&service, &[d.output_str("rule", "vpc_endpoint_id")])
        .await
        .unwrap();
    let state = eventually("the rule to fail", Duration::from_secs(20), || async {
        let r = db.get_rule(&ncc, &rule).await.ok()?;
        r.connection_state.filter(ConnectionState::is_failed)
    })
    .await;
    let mut expected = vec!["rule=replace"];
    expected.extend(later);
    let plan = planned_drift(&d, &expected).await;
    assert!(
        detail(&plan, "rule").contains(state.as_str()),
        "{state}: {plan:#}"
    );
    repaired(&d, &[]);
    assert_ne!(d.output_str("rule", "rule_id"), rule);

    // 3. The domain names changed in the workflow file.
    let text = std::fs::read_to_string(&d.wd.workflow).unwrap();
    std::fs::write(
        &d.wd.workflow,
        text.replace(
            "ncc = { name = \"plink-demo-ncc\" }",
            "ncc = { name = \"plink-demo-ncc\" }\ndomain_names = [\"bucket.s3.plink-demo.internal\"]",
        ),
    )
    .unwrap();
    let plan = planned_drift(&d, &["rule=update"]).await;
    assert!(
        detail(&plan, "rule").contains("bucket.s3.plink-demo.internal"),
        "{plan:#}"
    );
    repaired(&d, &[]);

    // 4. The workspace switched to another NCC made out of band: `up` stops there unless told
    //    to switch it back.
    let other = db.create_ncc("plink-other-ncc", "us-east-1").await.unwrap();
    db.update_workspace_ncc(WORKSPACE, &other.network_connectivity_config_id)
        .await
        .unwrap();
    let plan = planned_drift(&d, &["bind=wait"]).await;
    assert!(
        detail(&plan, "bind").contains("--replace-ncc-binding"),
        "{plan:#}"
    );
    let (code, plan) = d.plan(&["--replace-ncc-binding"]);
    assert_eq!(code, 10);
    assert_eq!(changes(&plan), ["bind=update"], "{plan:#}");
    let refused = d.plink(&["up"]);
    assert_eq!(refused.code, Some(4), "{}", refused.transcript());
    assert!(
        refused.stderr.contains("--replace-ncc-binding"),
        "{}",
        refused.transcript()
    );
    repaired(&d, &["--replace-ncc-binding"]);
    let ws = db.get_workspace(WORKSPACE).await.unwrap();
    assert_eq!(
        ws.network_connectivity_config_id.as_deref(),
        Some(ncc.as_str())
    );
}
