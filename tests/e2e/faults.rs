//! Flaky clouds: throttling on both sides, and creates whose answers are lost after they were
//! committed.

use serde_json::json;

use crate::common::checks::{assert_converged, assert_one_rule_ever};
use crate::common::{Emu, Stack};
use crate::common::{Workdir, WorkflowSpec};

#[test]
fn throttling_on_both_clouds_still_converges_without_duplicates() {
    let stack = Stack::start();
    // ~30 % of all API calls throttled on each side: 429 + Retry-After, and AWS throttling codes.
    stack.set_faults(
        Emu::Aws,
        json!({"seed": 7, "rules": [
            {"kind": "http_429", "rate": 0.15, "retry_after": 1},
            {"kind": "aws_throttle", "rate": 0.18}
        ]}),
    );
    stack.set_faults(
        Emu::Databricks,
        json!({"seed": 11, "rules": [
            {"kind": "http_429", "rate": 0.3, "retry_after": 1}
        ]}),
    );
    let wd = Workdir::new(WorkflowSpec::default());
    let run = stack.up(&wd);
    let (aws_faults, db_faults) = (
        stack.faults_fired(Emu::Aws),
        stack.faults_fired(Emu::Databricks),
    );
    let (aws_calls, db_calls) = (
        stack.calls(Emu::Aws).len(),
        stack.calls(Emu::Databricks).len(),
    );
    eprintln!(
        "e2e: injected {aws_faults} AWS faults in {aws_calls} calls and {db_faults} Databricks \
         faults in {db_calls} calls; plink took {:.1}s",
        run.elapsed.as_secs_f64()
    );
    stack.clear_faults(Emu::Aws);
    stack.clear_faults(Emu::Databricks);
    run.assert_code(0);
    assert!(aws_faults > 0 && db_faults > 0, "no fault was injected");
    let c = assert_converged(&stack, &wd, &run);
    assert_one_rule_ever(&c, "throttling");
}

#[test]
fn lost_answers_of_committed_creates_are_found_again_never_duplicated() {
    let stack = Stack::start();
    // Every create is committed, then answered 504 (once per kind of create).
    // (CreateSecurityGroup has its own regression test below.)
    let aws_creates = [
        "CreateVpcEndpoint",
        "CreateLoadBalancer",
        "CreateTargetGroup",
        "CreateListener",
        "CreateVpcEndpointServiceConfiguration",
    ];
    let rules: Vec<_> = aws_creates
        .iter()
        .map(|a| {
            json!({"kind": "commit_then_timeout", "mode": "504", "delay_ms": 20, "max_count": 1,
                   "match": {"action": a}})
        })
        .collect();
    stack.set_faults(Emu::Aws, json!({"seed": 1, "rules": rules}));
    stack.set_faults(
        Emu::Databricks,
        json!({"seed": 1, "rules": [
            {"kind": "commit_then_timeout", "mode": "504", "delay_ms": 20, "max_count": 1,
             "match": {"method": "POST", "path_regex": "/network-connectivity-configs$"}},
            {"kind": "commit_then_timeout", "mode": "504", "delay_ms": 20, "max_count": 1,
             "match": {"method": "POST", "path_regex": "/private-endpoint-rules$"}}
        ]}),
    );
    let wd = Workdir::new(WorkflowSpec::default());
    let run = stack.up(&wd);
    let aws_fired = stack.faults_fired(Emu::Aws);
    let db_fired = stack.faults_fired(Emu::Databricks);
    let (aws_plan, db_plan) = (stack.faults(Emu::Aws), stack.faults(Emu::Databricks));
    eprintln!("e2e: {aws_fired} AWS and {db_fired} Databricks creates lost their answer");
    stack.clear_faults(Emu::Aws);
    stack.clear_faults(Emu::Databricks);
    run.assert_code(0);
    assert_eq!(db_fired, 2, "{db_plan:#}");
    assert_eq!(aws_fired, aws_creates.len() as u64, "{aws_plan:#}");
    let c = assert_converged(&stack, &wd, &run);
    assert_one_rule_ever(&c, "lost answers");
}

#[test]
fn regression_lost_answer_of_a_committed_security_group_create_is_adopted_not_a_duplicate_error() {
    // Found by this suite: CreateSecurityGroup takes no idempotency token. Its answer lost (504
    // after commit), the SDK's automatic retry got `InvalidGroup.Duplicate`, and the
    // `security_group` step failed the run (exit 4) instead of looking the group up by its name
    // (its natural key) and adopting it.
    let stack = Stack::start();
    stack.set_faults(
        Emu::Aws,
        json!({"seed": 1, "rules": [
            {"kind": "commit_then_timeout", "mode": "504", "delay_ms": 20, "max_count": 1,
             "match": {"action": "CreateSecurityGroup"}}
        ]}),
    );
    let wd = Workdir::new(WorkflowSpec::default());
    let run = stack.up(&wd);
    assert_eq!(stack.faults_fired(Emu::Aws), 1);
    stack.clear_faults(Emu::Aws);
    run.assert_code(0);
    let c = assert_converged(&stack, &wd, &run);
    assert_one_rule_ever(&c, "lost security group answer");
}
