//! The command line around `up`: the lock between two commands, and invalid workflow files.

use std::time::Duration;

use serde_json::json;

use crate::common::checks::{assert_converged, assert_one_rule_ever};
use crate::common::{Emu, Plink, Stack, Workdir, WorkflowSpec, wait_until};

#[test]
fn second_concurrent_up_on_the_same_state_exits_6_naming_the_lock_holder() {
    let stack = Stack::start();
    // The first `up` stays in the rule wait until released.
    stack.set_delays(json!({"rule_creating": 1.0e7}));
    let wd = Workdir::new(WorkflowSpec::default());
    let mut first = stack.spawn_up(&wd);
    let pid = first.pid();
    wait_until(
        "the first up to hold the lock",
        Duration::from_secs(60),
        || {
            assert!(
                !first.exited(),
                "the first up ended:\n{}",
                first.wait().transcript()
            );
            std::fs::read_to_string(wd.lock_path())
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .is_some_and(|info| info["pid"] == pid)
        },
    );

    let second = stack.up(&wd);
    second.assert_code(6);
    let holder = format!("locked by `plink up` (pid {pid} on ");
    assert!(
        second.stderr.contains(&holder) && second.stderr.contains("user plink-e2e"),
        "the message does not name the holder ({holder}…)\n{}",
        second.transcript()
    );
    assert!(
        second.stderr.contains("plink unlock"),
        "{}",
        second.transcript()
    );

    // Reading is not locked out.
    let status = stack
        .plink(&wd)
        .args(["status", wd.workflow.to_str().unwrap(), "--json"])
        .run();
    status.assert_code(0);

    // kill -9 of the holder leaves no lock behind: the next `up` runs and finishes the job.
    first.kill9();
    let killed = first.wait();
    assert_eq!(killed.signal, Some(9), "{}", killed.transcript());
    stack.set_delays(json!({"rule_creating": 30.0}));
    let third = stack.up(&wd);
    third.assert_code(0);
    let c = assert_converged(&stack, &wd, &third);
    assert_one_rule_ever(&c, "after the lock holder was killed");
}

/// `plink validate FILE` in `dir`.
fn validate(dir: &std::path::Path, file: &str) -> (Option<i32>, String, String) {
    let run = Plink::new(dir).args(["validate", file]).run();
    (run.code, run.stdout, run.stderr)
}

const UNKNOWN_KEY: &str = r#"# A broken workflow file.
[deployment]
name = "demo-s3"

[aws]
region = "us-east-1"
vpc = { tags = { Name = "plink-demo-vpc" } }
subnets = { tags = { plink-demo = "private" } }
vpcc = { id = "vpc-0123456789abcdef0" }

[databricks]
workspace_ids = [1111111111111111]
ncc = { name = "plink-demo-ncc" }
"#;

const BAD_SUBNET: &str = r#"[deployment]
name = "demo-s3"

[aws]
region = "us-east-1"
vpc = { tags = { Name = "plink-demo-vpc" } }
subnets = { ids = ["subnet-0123456789abcdef0", "sub-12"] }

[databricks]
workspace_ids = [1111111111111111]
ncc = { name = "plink-demo-ncc" }
"#;

#[test]
fn validate_on_broken_files_exits_3_with_the_precise_message() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "unknown-key.toml",
            UNKNOWN_KEY,
            "plink: error: unknown-key.toml:9:1: aws.vpcc: unknown key; expected one of: region, \
             profile, role_arn, vpc, subnets",
        ),
        (
            "bad-subnet.toml",
            BAD_SUBNET,
            r#"plink: error: bad-subnet.toml:7:48: aws.subnets.ids[1]: expected a subnet id like "subnet-0123456789abcdef0", found "sub-12""#,
        ),
    ];
    for (name, text, expected) in cases {
        std::fs::write(dir.path().join(name), text).unwrap();
        let (code, stdout, stderr) = validate(dir.path(), name);
        assert_eq!(code, Some(3), "{name}\n{stdout}{stderr}");
        assert_eq!(stderr.trim_end(), expected, "{name}");
        assert_eq!(stdout, "", "{name}");
    }
    // A missing file is an invalid workflow too, and says which file.
    let (code, _, stderr) = validate(dir.path(), "nope.toml");
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("nope.toml"), "{stderr}");
}

#[test]
fn up_on_an_invalid_workflow_exits_3_and_makes_no_cloud_call() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::default());
    let bad = wd.write("bad.toml", UNKNOWN_KEY);
    stack.clear_all_calls();
    let run = stack.plink(&wd).args(["up", bad.to_str().unwrap()]).run();
    run.assert_code(3);
    assert!(
        run.stderr.contains("aws.vpcc: unknown key"),
        "{}",
        run.transcript()
    );
    assert!(stack.calls(Emu::Aws).is_empty(), "AWS was called");
    assert!(
        stack.calls(Emu::Databricks).is_empty(),
        "Databricks was called"
    );
    assert!(wd.state().is_none(), "a state file was written");
}
