//! `plink down` through the binary against private instances of the local stack, on the shared
//! harness (`tests/common/`: one stack per test, time scale `PLINK_E2E_TIME_SCALE`; plink polls
//! with `PLINK_WAIT_SCALE=200`).
//!
//! What is checked: after `up` then `down`, no plink-tagged resource is left in the customer
//! account (endpoints, NLBs, target groups, listeners, endpoint services, security groups) and no
//! NCC of the deployment on Databricks; a second `down` makes no mutating call and no state write;
//! `down` before any `up` touches nothing; `kill -9` during the teardown then `down` converges; an
//! adopted NCC survives; a bound workspace keeps the NCC (exit 11) until `--rebind-to`.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{Emu, Kind, Plink, Stack, Workdir, WorkflowSpec};
use plink::aws::{AwsClients, TagQuery};
use plink::databricks::AccountClient;
use serde_json::{Value, json};

const WORKSPACE: i64 = 1111111111111111;
const NCC_NAME: &str = "plink-demo-ncc";
const REGION: &str = "us-east-1";

/// One stack, one working directory holding the demo workflow, and the clients to look.
struct Case {
    stack: Stack,
    wd: Workdir,
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
        Self {
            stack: Stack::start(),
            wd: Workdir::demo(),
        }
    }

    /// The example workflow of `kind` (`workflows/<kind>.toml`), as it is.
    fn of(kind: Kind) -> Self {
        Self {
            stack: Stack::start(),
            wd: Workdir::new(WorkflowSpec::of(kind)),
        }
    }

    /// `plink ARGS WORKFLOW` on the stack, to build on (`.code(n)`, `.run()`, `.spawn()`).
    fn plink(&self, args: &[&str]) -> Plink {
        self.stack
            .plink(&self.wd)
            .args(args.iter().copied())
            .workflow()
    }

    fn up(&self) {
        self.plink(&["up"]).code(0).run();
    }

    /// Starts `plink ARGS WORKFLOW` and `kill -9`s it once `cond` has held for `hold`.
    fn kill9_when(&self, args: &[&str], what: &str, hold: Duration, cond: impl Fn(&Case) -> bool) {
        let mut bg = self.plink(args).spawn();
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
                !bg.exited(),
                "plink {args:?} ended before the kill point ({what})"
            );
            assert!(Instant::now() < deadline, "never reached: {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
        bg.kill9(); // SIGKILL
        let run = bg.wait();
        assert_eq!(run.signal, Some(9));
    }

    fn state(&self) -> Value {
        self.wd.state_required()
    }

    fn write_state(&self, state: &Value) {
        self.wd.write_state(state);
    }

    fn step(&self, step: &str) -> Option<Value> {
        self.wd.step(step)
    }

    // --- the emulators ---

    /// Changes emulator delays (real-world seconds × the time scale).
    fn set_delays(&self, delays: Value) {
        self.stack.set_delays(delays);
    }

    fn clear_calls(&self) {
        self.stack.clear_all_calls();
    }

    /// Mutating calls in both call logs.
    fn mutating_calls(&self) -> Vec<String> {
        self.stack
            .mutating_calls()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn aws(&self) -> AwsClients {
        self.stack.block_on(self.stack.clients())
    }

    fn db(&self) -> AccountClient {
        self.stack.databricks()
    }

    fn create_ncc(&self, name: &str) -> String {
        self.stack.create_ncc(name, REGION)
    }

    /// Another team's network policy `id` (egress open).
    fn create_policy(&self, id: &str) {
        let body = json!({"network_policy_id": id,
            "egress": {"network_access": {"restriction_mode": "FULL_ACCESS"}}});
        self.stack
            .block_on(self.db().create_network_policy(&body))
            .expect("create the network policy");
    }

    fn bind_policy(&self, ws: i64, policy: &str) {
        self.stack
            .block_on(self.db().set_workspace_network_policy(ws, policy))
            .expect("bind the network policy");
    }

    /// An IP access list made in workspace `ws`'s console; its id.
    fn create_ip_list(&self, ws: i64, label: &str, list_type: &str, values: &[&str]) -> String {
        let db = self.db();
        let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        self.stack.block_on(async {
            let w = db.get_workspace(ws).await.expect("read the workspace");
            db.workspace(&w)
                .expect("the workspace's client")
                .create_ip_access_list(label, list_type, &values)
                .await
                .expect("create the list")
                .list_id
        })
    }

    /// NCCs named `name` in the region.
    fn nccs_named(&self, name: &str) -> Vec<String> {
        self.stack
            .block_on(self.db().list_nccs())
            .expect("list NCCs")
            .into_iter()
            .filter(|n| n.name == name && n.region == REGION)
            .map(|n| n.network_connectivity_config_id)
            .collect()
    }

    fn live_rules(&self, ncc_id: &str) -> usize {
        self.stack
            .block_on(self.db().list_rules(ncc_id))
            .expect("list rules")
            .iter()
            .filter(|r| !r.deactivated)
            .count()
    }

    fn workspace_ncc(&self) -> Option<String> {
        self.stack
            .block_on(self.db().get_workspace(WORKSPACE))
            .expect("get workspace")
            .network_connectivity_config_id
    }

    /// Counts plink-tagged resources of the customer account (live ones).
    fn inventory(&self) -> Inventory {
        let aws = self.aws();
        let q = TagQuery::any_deployment();
        self.stack.block_on(async {
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
        self.stack
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

    let run = case.plink(&["down", "--rebind-to", &parking]).code(0).run();
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
    let workflow = plink::workflow::load(&case.wd.workflow).unwrap();
    for step in &workflow.graph.display_order() {
        assert!(
            state["steps"].get(*step).is_none(),
            "{step} still recorded: {state:#}"
        );
    }
    let status = case.plink(&["status"]).code(0).run();
    assert!(status.stdout.contains("torn down"), "{}", status.stdout);

    // Again: no mutating call anywhere, no state write.
    let serial = state["serial"].as_u64().unwrap();
    case.clear_calls();
    let run = case.plink(&["down"]).code(0).run();
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
    let run = case.plink(&["down"]).code(0).run();
    assert!(run.stderr.contains("never ran"), "{}", run.stderr);
    assert!(
        run.stderr.contains("nothing to tear down"),
        "{}",
        run.stderr
    );
    assert!(
        !case.wd.path().join(".plink").exists(),
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
        .code(4)
        .run();
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    assert_eq!(case.inventory(), one_of_each());

    let run = case.plink(&["down"]).code(11).run();
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
    case.plink(&["down"]).code(11).run();
    assert_eq!(case.state()["serial"], serial);

    // Databricks refuses the delete for a while after the binding moved (0.5 s here).
    case.set_delays(json!({"ncc_delete_settle": 250.0}));
    let parking = case.create_ncc("parking-ncc");
    let run = case.plink(&["down", "--rebind-to", &parking]).code(0).run();
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
    let run = case.plink(&["down"]).code(0).run();
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
        .code(0)
        .run();
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
    // After the kill: exit 11, the workspace is still bound.
    case.plink(&["down"]).code(11).run();
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
    case.plink(&["down", "--rebind-to", &parking]).code(0).run();
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
    case.plink(&["down", "--rebind-to", &parking]).code(0).run();
    assert_eq!(case.inventory(), Inventory::empty());
    assert!(case.nccs_named(NCC_NAME).is_empty(), "NCC {ncc} deleted");
}

#[test]
fn ctrl_c_during_down_saves_and_down_resumes() {
    let case = Case::new();
    case.up();
    case.set_delays(json!({"endpoint_deleting": 1500.0}));
    let mut bg = case.plink(&["down"]).code(130).spawn();
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
    bg.interrupt(); // Ctrl-C: exit 130
    let out = bg.wait();
    assert!(out.stderr.contains("`plink down` again"), "{}", out.stderr);
    assert!(case.state()["destroyed_at"].is_null());
    case.set_delays(json!({"endpoint_deleting": 30.0}));
    case.plink(&["down"]).code(11).run();
    assert_eq!(case.inventory(), Inventory::empty());
}

#[test]
fn down_is_refused_while_another_command_holds_the_lock() {
    // No cloud is needed: the lock is taken before any call.
    let wd = Workdir::demo();
    let paths = plink::state::StatePaths::for_deployment(wd.path(), "demo-s3");
    let held = plink::state::StateStore::open(paths, "demo-s3", "s3-privatelink", "up").unwrap();
    held.update(|s| s.step_mut("network").status = plink::state::StepStatus::Done)
        .unwrap();
    let run = Plink::in_workdir(&wd)
        .arg("down")
        .workflow()
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("DATABRICKS_HOST", "http://127.0.0.1:9")
        .code(6)
        .run();
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
    let (lb_arn, tg_arn) = case.stack.block_on(async {
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
    let run = case.plink(&["down", "--rebind-to", &parking]).code(0).run();
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
    case.stack.block_on(async {
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

#[test]
fn regression_an_ncc_found_by_name_after_the_recorded_one_vanished_is_adopted_not_plinks() {
    // The recorded NCC is gone (here: the state names one that does not exist) and an NCC of the
    // same name exists: plink cannot tell it made that one, so it adopts it, and `down` would
    // release it rather than delete it (it counted as plink's before the resource model).
    let case = Case::new();
    case.up();
    let existing = case.nccs_named(NCC_NAME).pop().unwrap();
    let mut state = case.state();
    state["steps"]["ncc"]["outputs"]["ncc_id"] = json!("00000000-0000-0000-0000-000000000000");
    case.write_state(&state);
    let run = case.plink(&["up"]).code(0).run();
    assert!(run.stderr.contains("is gone"), "{}", run.stderr);
    assert!(
        run.stderr.contains("adopting existing NCC"),
        "{}",
        run.stderr
    );
    let ncc = &case.state()["steps"]["ncc"]["outputs"];
    assert_eq!(ncc["ncc_id"], existing.as_str(), "{ncc:#}");
    assert_eq!(ncc["created_by_plink"], false, "{ncc:#}");
}

/// What `plan --destroy --json` says `down` would do: (teardown step, action, id), sorted.
/// Makes no mutating call in either emulator.
fn planned_teardown(case: &Case, args: &[&str]) -> Vec<(String, String, String)> {
    let mut argv = vec!["plan", "--destroy", "--json"];
    argv.extend_from_slice(args);
    case.clear_calls();
    let run = case.plink(&argv).code(10).run();
    assert!(
        case.mutating_calls().is_empty(),
        "plan --destroy changed something: {:?}",
        case.mutating_calls()
    );
    let view = run.json();
    let mut out: Vec<(String, String, String)> = view["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["action"] != "no_change")
        .map(|s| {
            (
                s["step"].as_str().unwrap().to_owned(),
                s["action"].as_str().unwrap().to_owned(),
                s["id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

/// What `down` did, from the records its teardown steps left: (teardown step, action, id).
fn done_teardown(case: &Case) -> Vec<(String, String, String)> {
    let state = case.state();
    let mut out = Vec::new();
    for (step, record) in state["steps"].as_object().expect("steps") {
        if !step.starts_with("down_") {
            continue;
        }
        let outputs = &record["outputs"];
        let ids = |key: &str| -> Vec<String> {
            outputs[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut push = |action: &str, id: String| out.push((step.clone(), action.to_owned(), id));
        let deleted = ids("deleted");
        for id in deleted.iter().cloned().chain(ids("deleted_rule_ids")) {
            push("delete", id);
        }
        for id in ids("rejected_vpc_endpoint_ids") {
            push("reject", id);
        }
        // A bucket policy plink's statement was taken out of, and written back.
        for bucket in ids("cleaned").into_iter().filter(|b| !deleted.contains(b)) {
            push("update", bucket);
        }
        // Workspaces bound back to their previous network policy: [[workspace, policy]] (the
        // NCC's `rebound`, workspaces switched by --rebind-to, are part of its delete).
        for pair in outputs["rebound"].as_array().into_iter().flatten() {
            if let Some(ws) = pair.as_array().and_then(|p| p.first()) {
                push("restore", ws.to_string());
            }
        }
        if outputs["enabled_restored"].is_boolean() {
            push("restore", plink::databricks::ENABLE_KEY.to_owned());
        }
        if let Some(outcome) = outputs["outcome"].as_str() {
            let action = match outcome {
                "deleted" => "delete",
                "released" => "release",
                "kept" => "keep",
                other => other,
            };
            let id = outputs["ncc_id"].as_str().unwrap_or_default().to_owned();
            push(action, id);
        }
    }
    out.sort();
    out
}

/// What the emulators' call logs (since the last clear) say was written to the user's things:
/// (action, id) of bucket policies rewritten (`update`) or deleted, network policies deleted,
/// workspaces bound to a network policy again (`restore`), IP access lists deleted and IP access
/// switches set (`restore`, `enableIpAccessLists`: the call does not name the workspace).
fn written(case: &Case) -> Vec<(String, String)> {
    let last = |path: &str| path.rsplit('/').next().unwrap_or_default().to_owned();
    let mut out: Vec<(String, String)> = case
        .stack
        .calls(Emu::Aws)
        .into_iter()
        .chain(case.stack.calls(Emu::Databricks))
        .filter(|c| c.mutating && c.status.is_some_and(|s| (200..300).contains(&s)))
        .filter_map(|c| {
            let bucket = || c.path.trim_matches('/').to_owned();
            let done = match (c.action.as_str(), c.method.as_str()) {
                ("PutBucketPolicy", _) => ("update", bucket()),
                ("DeleteBucketPolicy", _) => ("delete", bucket()),
                (_, "DELETE") if c.path.contains("/network-policies/") => ("delete", last(&c.path)),
                (_, "PUT") if c.path.ends_with("/network") => {
                    let ws = c.path.trim_end_matches("/network");
                    ("restore", last(ws))
                }
                (_, "DELETE") if c.path.starts_with("/api/2.0/ip-access-lists/") => {
                    ("delete", last(&c.path))
                }
                (_, "PATCH") if c.path == "/api/2.0/workspace-conf" => {
                    ("restore", plink::databricks::ENABLE_KEY.to_owned())
                }
                _ => return None,
            };
            Some((done.0.to_owned(), done.1))
        })
        .collect();
    out.sort();
    out
}

/// Runs `plink down ARGS` (exit `code`) and checks that it did exactly what `planned` (from
/// [`planned_teardown`]) listed: its records say so ([`done_teardown`]), except for what it
/// releases without a record, which its output names; and for the user's things plink writes
/// to (bucket policies, network policies and bindings, IP access lists), the call logs say so
/// ([`written`]).
fn down_as_planned(case: &Case, planned: &[(String, String, String)], args: &[&str], code: i32) {
    let mut argv = vec!["down"];
    argv.extend_from_slice(args);
    case.clear_calls();
    let down = case.plink(&argv).code(code).run();
    let done = done_teardown(case);
    let (unrecorded, recorded): (Vec<_>, Vec<_>) = planned
        .iter()
        .cloned()
        .partition(|t| t.1 == "release" && !done.contains(t));
    assert_eq!(
        recorded,
        done,
        "planned vs recorded:\n{}",
        down.transcript()
    );
    for (step, _, id) in &unrecorded {
        assert!(
            down.stderr.contains(id.as_str()),
            "{step}: down does not say it leaves {id}:\n{}",
            down.transcript()
        );
    }
    let mut writes: Vec<(String, String)> = planned
        .iter()
        .filter(|(step, action, _)| {
            ["down_bucket_policy", "down_policy", "down_bind", "down_ip_"]
                .iter()
                .any(|s| step.starts_with(s))
                && action != "release"
        })
        .map(|(_, action, id)| (action.clone(), id.clone()))
        .collect();
    writes.sort();
    assert_eq!(writes, written(case), "planned vs the call logs");
}

#[test]
fn plan_destroy_lists_exactly_what_down_then_deletes_rejects_and_keeps() {
    let case = Case::new();
    case.up();
    let planned = planned_teardown(&case, &[]);
    // The workspace stays bound: the NCC is kept, named with it.
    let ncc = case.nccs_named(NCC_NAME).pop().unwrap();
    assert!(
        planned.contains(&("down_ncc".into(), "keep".into(), ncc.clone())),
        "{planned:#?}"
    );
    let human = case.plink(&["plan", "--destroy"]).code(10).run();
    assert!(
        human.stdout.contains("1111111111111111") && human.stdout.contains("--rebind-to"),
        "{}",
        human.stdout
    );
    down_as_planned(&case, &planned, &[], 11);
    // Nothing left but the kept NCC: planned as kept again.
    assert_eq!(
        planned_teardown(&case, &[]),
        vec![("down_ncc".to_owned(), "keep".to_owned(), ncc)]
    );
}

#[test]
fn plan_destroy_of_an_adopted_ncc_releases_it_as_down_does() {
    let case = Case::new();
    let adopted = case.create_ncc(NCC_NAME);
    case.up();
    let planned = planned_teardown(&case, &[]);
    assert!(
        planned.contains(&("down_ncc".into(), "release".into(), adopted)),
        "{planned:#?}"
    );
    down_as_planned(&case, &planned, &[], 0);
}

#[test]
fn plan_destroy_with_rebind_to_plans_the_ncc_delete() {
    let case = Case::new();
    case.up();
    let parking = case.create_ncc("parking-ncc");
    let planned = planned_teardown(&case, &["--rebind-to", &parking]);
    down_as_planned(&case, &planned, &["--rebind-to", &parking], 0);
}

#[test]
fn plan_destroy_before_any_up_has_nothing_to_do() {
    let case = Case::new();
    let run = case.plink(&["plan", "--destroy", "--json"]).code(0).run();
    assert_eq!(run.json()["steps"], json!([]));
    assert!(case.wd.state().is_none());
}

/// Whether `planned` holds (step, action, id).
fn plans(planned: &[(String, String, String)], step: &str, action: &str, id: &str) -> bool {
    planned.contains(&(step.to_owned(), action.to_owned(), id.to_owned()))
}

/// `(step, action, id)` triples as [`planned_teardown`] gives them.
fn owned(triples: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    triples
        .iter()
        .map(|(s, a, i)| ((*s).to_owned(), (*a).to_owned(), (*i).to_owned()))
        .collect()
}

#[test]
fn plan_destroy_of_s3_native_lists_the_bucket_policies_down_rewrites_and_deletes() {
    // plink-demo-logs has another team's statement (the stack's seed), plink-demo-data no
    // policy: down takes plink's statement out of the first and deletes the second's policy.
    let case = Case::of(Kind::S3Native);
    case.up();
    let planned = planned_teardown(&case, &[]);
    assert!(
        plans(&planned, "down_bucket_policy", "update", "plink-demo-logs")
            && plans(&planned, "down_bucket_policy", "delete", "plink-demo-data"),
        "{planned:#?}"
    );
    // The workspace stays bound: the NCC is kept.
    let ncc = case.nccs_named("plink-demo-s3n-ncc").pop().unwrap();
    assert!(plans(&planned, "down_ncc", "keep", &ncc), "{planned:#?}");
    let human = case.plink(&["plan", "--destroy"]).code(10).run();
    assert!(
        human.stdout.contains(
            "down removes statement PlinkDemoS3n and writes back its 1 other statement(s)"
        ) && human.stdout.contains("update 1"),
        "{}",
        human.stdout
    );
    down_as_planned(&case, &planned, &[], 11);
}

#[test]
fn plan_destroy_of_nlb_service_lists_exactly_what_down_then_does() {
    let case = Case::of(Kind::NlbService);
    case.up();
    let parking = case.create_ncc("parking-ncc");
    let planned = planned_teardown(&case, &["--rebind-to", &parking]);
    for step in ["down_load_balancer", "down_target_group_5432", "down_ncc"] {
        assert!(
            planned.iter().any(|(s, a, _)| s == step && a == "delete"),
            "{step}: {planned:#?}"
        );
    }
    down_as_planned(&case, &planned, &["--rebind-to", &parking], 0);
}

#[test]
fn plan_destroy_of_a_network_policy_binds_back_and_deletes_as_down_does() {
    let case = Case::of(Kind::NetworkPolicy);
    case.up();
    let planned = planned_teardown(&case, &[]);
    assert_eq!(
        planned,
        owned(&[
            ("down_bind", "restore", WORKSPACE.to_string().as_str()),
            ("down_policy", "delete", "plink-egress-demo"),
        ])
    );
    down_as_planned(&case, &planned, &[], 0);
}

#[test]
fn plan_destroy_of_an_adopted_network_policy_releases_it_and_restores_the_teams_binding() {
    let case = Case::of(Kind::NetworkPolicy);
    case.create_policy("team-policy");
    case.bind_policy(WORKSPACE, "team-policy");
    case.create_policy("plink-egress-demo");
    case.plink(&["up", "--replace-policy-binding"])
        .code(0)
        .run();
    let planned = planned_teardown(&case, &[]);
    assert_eq!(
        planned,
        owned(&[
            ("down_bind", "restore", WORKSPACE.to_string().as_str()),
            ("down_policy", "release", "plink-egress-demo"),
        ])
    );
    let human = case.plink(&["plan", "--destroy"]).code(10).run();
    assert!(
        human
            .stdout
            .contains("down binds back network policy team-policy, the one it had before plink"),
        "{}",
        human.stdout
    );
    down_as_planned(&case, &planned, &[], 0);
}

#[test]
fn plan_destroy_of_ip_access_lists_restores_the_switch_deletes_plinks_lists_and_leaves_the_rest() {
    // A list with one of the file's labels existed in workspace A before plink: plink manages
    // it but did not create it, so down leaves it.
    let case = Case::of(Kind::IpAccessLists);
    let theirs = case.create_ip_list(WORKSPACE, "known-bad", "BLOCK", &["198.51.100.66"]);
    case.up();
    let planned = planned_teardown(&case, &[]);
    let a = format!("down_ip_{WORKSPACE}");
    assert!(
        plans(&planned, &a, "release", &theirs)
            && plans(&planned, &a, "restore", "enableIpAccessLists"),
        "{planned:#?}"
    );
    // A: corp-vpn; B: corp-vpn, known-bad, analytics-office.
    assert_eq!(
        planned.iter().filter(|t| t.1 == "delete").count(),
        4,
        "{planned:#?}"
    );
    down_as_planned(&case, &planned, &[], 0);
}
