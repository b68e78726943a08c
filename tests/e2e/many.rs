//! Several deployments in one command: concurrently, sharing an NCC where the files say so,
//! within the Databricks limits; and the orphan scan.

use crate::common::Stack;
use crate::common::cloud::{established, rule_state};
use crate::common::{Workdir, WorkflowSpec};

fn spec(deployment: &str, ncc: &str, workspaces: &[i64]) -> WorkflowSpec {
    WorkflowSpec {
        deployment: deployment.into(),
        ncc_name: ncc.into(),
        workspace_ids: workspaces.to_vec(),
        ..WorkflowSpec::default()
    }
}

#[test]
fn three_deployments_run_together_and_share_one_ncc() {
    let stack = Stack::start();
    let wd = Workdir::new(spec("team-a", "shared-ncc", &[1111111111111111]));
    let b = wd.write(
        "b.toml",
        &spec("team-b", "shared-ncc", &[2222222222222222]).render(),
    );
    let c = wd.write(
        "c.toml",
        &spec("team-c", "shared-ncc", &[1111111111111111]).render(),
    );
    let run = stack
        .plink(&wd)
        .args([
            "up",
            "--parallel",
            "3",
            wd.workflow.to_str().unwrap(),
            b.to_str().unwrap(),
            c.to_str().unwrap(),
        ])
        .run();
    run.assert_code(0);
    for name in ["team-a", "team-b", "team-c"] {
        assert!(
            run.stderr.contains(&format!("deployment {name} is up")),
            "{}",
            run.transcript()
        );
    }
    // One NCC, never a duplicate from the concurrent creates; one ESTABLISHED rule per deployment.
    let shared: Vec<_> = stack
        .nccs()
        .into_iter()
        .filter(|n| n.name == "shared-ncc")
        .collect();
    assert_eq!(shared.len(), 1, "{shared:?}");
    let ncc_id = &shared[0].network_connectivity_config_id;
    let rules: Vec<_> = stack
        .rules(ncc_id)
        .into_iter()
        .filter(|r| !r.deactivated)
        .collect();
    assert_eq!(rules.len(), 3, "{rules:?}");
    assert!(
        rules.iter().all(established),
        "{:?}",
        rules.iter().map(rule_state).collect::<Vec<_>>()
    );
    for ws in [1111111111111111, 2222222222222222] {
        assert_eq!(
            stack
                .workspace(ws)
                .network_connectivity_config_id
                .as_deref(),
            Some(ncc_id.as_str())
        );
    }
    // Exactly one of them created the NCC; the others adopted it.
    let created: usize = ["team-a", "team-b", "team-c"]
        .iter()
        .filter(|d| {
            let state: serde_json::Value = serde_json::from_slice(
                &std::fs::read(wd.path().join(format!(".plink/{d}/state.json"))).unwrap(),
            )
            .unwrap();
            state["steps"]["ncc"]["outputs"]["created_by_plink"] == true
        })
        .count();
    assert_eq!(created, 1);

    // status and plan take several files too; a converged set plans no change.
    let run = stack
        .plink(&wd)
        .args([
            "plan",
            wd.workflow.to_str().unwrap(),
            b.to_str().unwrap(),
            c.to_str().unwrap(),
        ])
        .run();
    run.assert_code(0);
    let run = stack
        .plink(&wd)
        .args([
            "status",
            "--json",
            wd.workflow.to_str().unwrap(),
            b.to_str().unwrap(),
        ])
        .run();
    run.assert_code(0);
    assert_eq!(
        run.json().as_array().map(Vec::len),
        Some(2),
        "{}",
        run.transcript()
    );
}

#[test]
fn a_deployment_over_the_ncc_limit_fails_clearly_while_the_others_finish() {
    let stack = Stack::start();
    let db = stack.databricks();
    for i in 0..9 {
        stack
            .block_on(db.create_ncc(&format!("someone-{i}"), "us-east-1"))
            .expect("NCC");
    }
    // Room for one more NCC in us-east-1: the two deployments want two.
    let wd = Workdir::new(spec("team-a", "ncc-a", &[1111111111111111]));
    let b = wd.write(
        "b.toml",
        &spec("team-b", "ncc-b", &[2222222222222222]).render(),
    );
    let run = stack
        .plink(&wd)
        .args(["up", wd.workflow.to_str().unwrap(), b.to_str().unwrap()])
        .run();
    run.assert_code(4);
    let up: Vec<_> = ["team-a", "team-b"]
        .iter()
        .filter(|d| run.stderr.contains(&format!("deployment {d} is up")))
        .collect();
    assert_eq!(up.len(), 1, "exactly one finishes\n{}", run.transcript());
    assert!(
        run.stderr.contains("10 NCCs in us-east-1 (limit 10)"),
        "{}",
        run.transcript()
    );
    assert_eq!(
        stack
            .nccs()
            .iter()
            .filter(|n| n.region == "us-east-1")
            .count(),
        10
    );
}

#[test]
fn invalid_file_among_several_runs_nothing() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::default());
    let bad = wd.write("bad.toml", "[deployment]\nname = 7\n");
    stack.clear_calls(crate::common::Emu::Aws);
    let run = stack
        .plink(&wd)
        .args(["up", wd.workflow.to_str().unwrap(), bad.to_str().unwrap()])
        .run();
    run.assert_code(3);
    assert!(
        run.stderr.contains("bad.toml:2:8: deployment.name"),
        "{}",
        run.transcript()
    );
    assert!(
        stack.calls(crate::common::Emu::Aws).is_empty(),
        "nothing may run when one file is invalid"
    );
    assert!(!wd.path().join(".plink").exists());
}

#[test]
fn orphans_are_the_tagged_resources_no_state_records() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::default());
    stack.up(&wd).assert_code(0);
    let wf = wd.workflow.to_str().unwrap();
    let run = stack.plink(&wd).args(["status", "--orphans", wf]).run();
    run.assert_code(0);
    assert!(run.stdout.contains("no orphans"), "{}", run.transcript());

    // The state is lost: every resource plink made is now an orphan of demo-s3.
    std::fs::rename(wd.path().join(".plink"), wd.path().join("lost")).unwrap();
    let run = stack
        .plink(&wd)
        .args(["status", "--orphans", "--json", wf])
        .run();
    run.assert_code(0);
    let orphans = run.json();
    let kinds: std::collections::BTreeSet<String> = orphans
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap().to_owned())
        .collect();
    for kind in [
        "interface endpoint",
        "endpoint service",
        "security group",
        "load balancer",
        "target group",
        "listener",
    ] {
        assert!(kinds.contains(kind), "{kind} missing from {orphans:#}");
    }
    assert!(
        orphans
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["deployment"] == "demo-s3")
    );
}
