//! The preflight (issue #16): a workflow that cannot converge stops `up` and `plan` before
//! their first mutating call, with exit 4 and every problem in one list, each naming its place
//! in the workflow file and the fix; both emulators' call logs then hold no mutating call.

use serde_json::json;

use crate::common::{Emu, Kind, Run, Stack, Workdir, WorkflowSpec, repo_file};

/// A workspace of us-west-2 (the stack's seed).
const WEST: i64 = 3333333333333333;
/// No workspace of the account has this id.
const MISSING: i64 = 9999999999999999;

/// `up`, then `plan`, of `wd` both stop in the preflight (exit 4) with every one of `expected`
/// in their output, and nothing mutating reached either emulator. Returns both runs, for the
/// fixes a test checks.
fn both_stop(stack: &Stack, wd: &Workdir, expected: &[&str]) -> Stopped {
    stack.clear_all_calls();
    let up = stack.up(wd);
    up.assert_code(4);
    assert!(
        up.stderr.contains("the preflight found"),
        "{}",
        up.transcript()
    );
    for e in expected {
        assert!(up.stderr.contains(e), "`{e}` missing:\n{}", up.transcript());
    }
    assert_eq!(
        up.stderr.matches("the preflight found").count(),
        1,
        "one list:\n{}",
        up.transcript()
    );
    let plan = stack.plink(wd).arg("plan").workflow().run();
    plan.assert_code(4);
    for e in expected {
        assert!(
            plan.stderr.contains(e),
            "`{e}` missing:\n{}",
            plan.transcript()
        );
    }
    let json = stack.plink(wd).args(["plan", "--json"]).workflow().run();
    json.assert_code(4);
    let findings = json.json()["preflight"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        findings.len(),
        expected.len(),
        "{:#}",
        json.json()["preflight"]
    );
    let mutating = stack.mutating_calls();
    assert!(
        mutating.is_empty(),
        "the preflight made mutating calls:\n{}",
        mutating
            .iter()
            .map(|c| format!("  {c}\n"))
            .collect::<String>()
    );
    Stopped { up, plan }
}

/// The runs of [`both_stop`].
struct Stopped {
    up: Run,
    plan: Run,
}

/// A deployment in us-east-1 of the one workspace `id` stops in preflight saying `says`.
fn one_workspace_stops(id: i64, says: &str) {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::in_region("us-east-1", &[id]));
    both_stop(
        &stack,
        &wd,
        &[&format!(
            ": databricks.workspace_ids[0]: workspace {id} {says}"
        )],
    );
    assert!(stack.ncc_named("plink-demo-ncc", "us-east-1").is_none());
}

#[test]
fn a_workspace_of_another_region_stops_in_preflight() {
    one_workspace_stops(WEST, "is in us-west-2, the NCC in us-east-1");
}

#[test]
fn a_workspace_that_does_not_exist_stops_in_preflight() {
    one_workspace_stops(MISSING, "does not exist");
}

#[test]
fn two_problems_are_reported_at_once() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::in_region(
        "us-east-1",
        &[1111111111111111, WEST, MISSING],
    ));
    both_stop(
        &stack,
        &wd,
        &[
            &format!(": databricks.workspace_ids[1]: workspace {WEST} is in us-west-2"),
            &format!(": databricks.workspace_ids[2]: workspace {MISSING} does not exist"),
        ],
    );
}

#[test]
fn an_eleventh_ncc_in_the_region_stops_in_preflight() {
    let stack = Stack::start();
    let db = stack.databricks();
    for i in 0..10 {
        stack
            .block_on(db.create_ncc(&format!("someone-elses-{i}"), "us-east-1"))
            .expect("create NCC");
    }
    let wd = Workdir::new(WorkflowSpec::default());
    let plan = both_stop(&stack, &wd, &[": databricks.ncc.name: account "]).plan;
    assert!(
        plan.stderr.contains("NCCs in us-east-1 (limit 10)")
            && plan.stderr.contains("fix: reuse one of them"),
        "{}",
        plan.transcript()
    );
}

/// The only rule quota the references give is the region's (30 private endpoints, shared by
/// its NCCs: reference §8.1, field update §1.5); here the file's own NCC, adopted by name,
/// holds all 30. Counted from the rules each NCC of the region carries, the same count the
/// create checks again (and the server enforces).
#[test]
fn a_rule_more_than_the_ncc_and_its_region_hold_stops_in_preflight() {
    let stack = Stack::start();
    let ncc = stack.create_ncc("plink-demo-ncc", "us-east-1");
    stack.fill_rules(&ncc, "us-east-1", 30);
    let wd = Workdir::new(WorkflowSpec::default());
    let plan = both_stop(
        &stack,
        &wd,
        &[
            ": databricks.ncc: the account already has 30 private endpoint rules in us-east-1 \
           (limit 30, shared by the region's NCCs: 30 in NCC plink-demo-ncc)",
        ],
    )
    .plan;
    assert!(
        plan.stderr
            .contains("fix: delete unused rules of those NCCs"),
        "{}",
        plan.transcript()
    );
}

/// An NCC holds at most 50 workspaces (reference §8.1): the file's NCC exists, already bound to
/// 50 (workspaces beyond the stack's seed), and the file's workspace would be the 51st.
#[test]
fn a_workspace_more_than_the_ncc_holds_stops_in_preflight() {
    let stack = Stack::start();
    let ncc = stack.create_ncc("plink-demo-ncc", "us-east-1");
    stack.bind_extra_workspaces(&ncc, "us-east-1", 50);
    let wd = Workdir::new(WorkflowSpec::default());
    let plan = both_stop(
        &stack,
        &wd,
        &[&format!(
            ": databricks.workspace_ids: NCC {ncc} already has 50 workspace(s); binding 1 more \
             would pass the limit of 50"
        )],
    )
    .plan;
    assert!(
        plan.stderr
            .contains("fix: use another NCC for these workspaces (databricks.ncc)"),
        "{}",
        plan.transcript()
    );
}

/// A service name the file gives that no endpoint service has (EC2's `InvalidServiceName`, to
/// the dry run of the endpoint's create): for `s3-privatelink` at `endpoint.service_name`, for
/// `nlb-service` in front of an AWS service at `service.targets.aws_service`.
#[test]
fn an_endpoint_service_name_that_does_not_exist_stops_in_preflight_at_its_key() {
    let stack = Stack::start();
    let s3 = Workdir::new(WorkflowSpec::default());
    let text = std::fs::read_to_string(&s3.workflow).unwrap().replacen(
        "[endpoint]\n",
        "[endpoint]\nservice_name = \"com.amazonaws.us-east-1.s4\"\n",
        1,
    );
    std::fs::write(&s3.workflow, text).unwrap();
    both_stop(
        &stack,
        &s3,
        &[": endpoint.service_name: no service com.amazonaws.us-east-1.s4 in us-east-1"],
    );

    let nlb = Workdir::new(WorkflowSpec::of(Kind::NlbService));
    let text = repo_file("workflows/nlb-service.toml")
        .replace("ports = [5432]", "ports = [443]")
        .replace(
            "targets = { ips = [\"10.20.1.50\", \"10.20.2.50\"] }",
            "targets = { aws_service = \"com.amazonaws.us-east-1.no-such-service\" }",
        );
    assert!(text.contains("no-such-service"));
    std::fs::write(&nlb.workflow, text).unwrap();
    let up = both_stop(
        &stack,
        &nlb,
        &[": service.targets.aws_service: no service com.amazonaws.us-east-1.no-such-service"],
    )
    .up;
    assert!(
        up.stderr.contains(
            "fix: name a service of the region (aws ec2 describe-vpc-endpoint-services lists them)"
        ),
        "{}",
        up.transcript()
    );
}

#[test]
fn a_denied_endpoint_service_permission_stops_in_preflight() {
    let stack = Stack::start();
    stack.deny(&["ec2:CreateVpcEndpointServiceConfiguration"]);
    let wd = Workdir::new(WorkflowSpec::default());
    let up = both_stop(
        &stack,
        &wd,
        &[": aws: the AWS credentials may not call ec2:CreateVpcEndpointServiceConfiguration"],
    )
    .up;
    assert!(
        up.stderr
            .contains("fix: allow ec2:CreateVpcEndpointServiceConfiguration"),
        "{}",
        up.transcript()
    );
}

#[test]
fn a_converged_deployment_passes_the_preflight() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::default());
    stack.up(&wd).assert_code(0);
    // Denied now, but the endpoint service exists: nothing in this run needs the permission.
    stack.deny(&["ec2:CreateVpcEndpointServiceConfiguration"]);
    stack.up(&wd).assert_code(0);
    let plan = stack.plink(&wd).args(["plan", "--json"]).workflow().run();
    plan.assert_code(0);
    assert_eq!(plan.json()["preflight"], serde_json::json!([]));
}

#[test]
fn problems_of_several_resources_are_reported_together() {
    // A security group of the file that does not exist (checked in the VPC `network` resolved
    // in this same preflight), a denied permission, a workspace of another region: one list.
    let stack = Stack::start();
    stack.deny(&["ec2:CreateVpcEndpoint"]);
    let wd = Workdir::new(WorkflowSpec::in_region("us-east-1", &[WEST]));
    let text = std::fs::read_to_string(&wd.workflow).unwrap().replacen(
        "[endpoint]\n",
        "[endpoint]\nsecurity_group_ids = [\"sg-0123456789abcdef0\"]\n",
        1,
    );
    std::fs::write(&wd.workflow, text).unwrap();
    both_stop(
        &stack,
        &wd,
        &[
            ": endpoint.security_group_ids: security group sg-0123456789abcdef0 does not exist",
            ": aws: the AWS credentials may not call ec2:CreateVpcEndpoint",
            &format!(": databricks.workspace_ids[0]: workspace {WEST} is in us-west-2"),
        ],
    );
}

/// The modifications a fresh `up` makes after its creates are asked with `DryRun` too: each
/// denied one is found before anything exists, not at the end of the run.
#[test]
fn denied_modifications_of_a_fresh_up_stop_in_preflight_together() {
    let stack = Stack::start();
    let denied = [
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:ModifyVpcEndpointServicePermissions",
        "ec2:AcceptVpcEndpointConnections",
    ];
    stack.deny(&denied);
    let wd = Workdir::new(WorkflowSpec::default());
    let expected: Vec<String> = denied
        .iter()
        .map(|action| format!(": aws: the AWS credentials may not call {action}"))
        .collect();
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    both_stop(&stack, &wd, &expected);
}

/// A check that could not be made for a transient reason (throttled past the SDK's own 5
/// attempts) is made again, as a step would be retried, rather than reported: `up` goes on.
#[test]
fn a_throttled_preflight_check_is_asked_again_not_reported() {
    let stack = Stack::start();
    stack.set_faults(
        Emu::Aws,
        json!({"seed": 1, "rules": [{
            "kind": "aws_throttle", "rate": 1.0, "max_count": 5, "code": "RequestLimitExceeded",
            "match": {"action": "CreateVpcEndpointServiceConfiguration", "dry_run": true}
        }]}),
    );
    let wd = Workdir::new(WorkflowSpec::default());
    let up = stack.up(&wd);
    up.assert_code(0);
    assert!(
        !up.stderr.contains("the preflight found"),
        "{}",
        up.transcript()
    );
    assert_eq!(stack.faults_fired(Emu::Aws), 5, "{}", up.transcript());
}

#[test]
fn a_vpc_or_subnets_no_tag_matches_are_the_files_to_fix_and_said_once() {
    // Regression: a VPC that no tag matched was reported as a read that could not be made
    // ("make sure the credentials may read it"), and `plan` said it a second time as a step
    // that could not be planned.
    let stack = Stack::start();
    for (from, to, says) in [
        (
            "Name = \"plink-demo-vpc\"",
            "Name = \"plink-demo-vpx\"",
            ": aws.vpc: finding the VPC (aws.vpc): ec2 DescribeVpcs: no VPC in us-east-1 matches tags Name=plink-demo-vpx",
        ),
        (
            "plink-demo = \"private\"",
            "plink-demo = \"privat\"",
            ": aws.subnets: finding the subnets (aws.subnets): ec2 DescribeSubnets: no subnet of vpc-",
        ),
    ] {
        let wd = Workdir::new(WorkflowSpec::default());
        let text = std::fs::read_to_string(&wd.workflow).unwrap();
        assert!(text.contains(from), "{text}");
        std::fs::write(&wd.workflow, text.replace(from, to)).unwrap();
        let plan = both_stop(&stack, &wd, &[says]).plan;
        assert!(
            plan.stderr.contains("fix: check aws.")
                && !plan.stderr.contains("credentials may read")
                && !plan.stderr.contains("cannot be planned"),
            "{}",
            plan.transcript()
        );
    }
}
