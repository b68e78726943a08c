//! The `plink` binary without any cloud: help, exit codes, validation, locks, unreadable state.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use plink::state::{StatePaths, StateStore};

fn plink(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plink"))
        .args(args)
        .current_dir(dir)
        // No cloud is reachable: make sure nothing tries a real one.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("DATABRICKS_HOST", "http://127.0.0.1:9")
        .env_remove("DATABRICKS_CONFIG_PROFILE")
        .output()
        .expect("run plink")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The demo workflow copied into `dir` (with its policy file), so state lands in `dir/.plink`.
fn demo_workflow(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    std::fs::copy(
        root.join("s3-endpoint-policy.json"),
        dir.join("s3-endpoint-policy.json"),
    )
    .unwrap();
    let path = dir.join("s3-privatelink.toml");
    std::fs::copy(root.join("s3-privatelink.toml"), &path).unwrap();
    path
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for cmd in ["up", "status", "plan", "down", "validate", "unlock"] {
        let out = plink(dir.path(), &[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{cmd} --help: {}", text(&out));
        assert!(
            text(&out).contains("WORKFLOW"),
            "{cmd} --help names its argument"
        );
    }
    let out = plink(dir.path(), &["--help"]);
    assert!(text(&out).contains("Exit codes:"), "{}", text(&out));
}

#[test]
fn verbose_flag_is_accepted_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let wf = demo_workflow(dir.path());
    let wf = wf.to_str().unwrap();
    for args in [
        vec!["-v", "validate", wf],
        vec!["validate", "-vv", wf],
        vec!["validate", wf, "-v"],
    ] {
        let out = plink(dir.path(), &args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
    }
}

#[test]
fn bad_usage_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(plink(dir.path(), &["frobnicate"]).status.code(), Some(2));
    assert_eq!(plink(dir.path(), &["up"]).status.code(), Some(2));
}

#[test]
fn validate_ok_and_precise_errors() {
    let dir = tempfile::tempdir().unwrap();
    let wf = demo_workflow(dir.path());
    let out = plink(dir.path(), &["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("ok (deployment demo-s3"));

    let bad = dir.path().join("bad.toml");
    let good = std::fs::read_to_string(&wf).unwrap();
    std::fs::write(&bad, good.replace("[aws]", "[aws]\nvpcc = 1")).unwrap();
    let out = plink(dir.path(), &["validate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let msg = text(&out);
    assert!(
        msg.contains("bad.toml:") && msg.contains("aws.vpcc: unknown key"),
        "{msg}"
    );
    assert!(
        !msg.contains("panicked") && !msg.contains("backtrace"),
        "{msg}"
    );

    let out = plink(dir.path(), &["validate", "missing.toml"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}

#[test]
fn invalid_workflow_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[deployment]\nname = \"x\"\n").unwrap();
    let out = plink(dir.path(), &["up", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        !dir.path().join(".plink").exists(),
        "no state directory may be created"
    );
}

#[test]
fn second_command_on_a_locked_deployment_exits_6_and_names_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let wf = demo_workflow(dir.path());
    let _held = StateStore::open(
        StatePaths::for_deployment(dir.path(), "demo-s3"),
        "demo-s3",
        "s3-privatelink",
        "up",
    )
    .unwrap();
    let out = plink(dir.path(), &["up", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let msg = text(&out);
    assert!(
        msg.contains("locked by `plink up`")
            && msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );

    // `unlock` refuses to break a live holder without --force.
    let out = plink(dir.path(), &["unlock", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
}

#[test]
fn unreadable_state_exits_7_and_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let wf = demo_workflow(dir.path());
    let state = dir.path().join(".plink/demo-s3/state.json");
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    std::fs::write(&state, b"{\"schema_version\": 1, \"lineage\": \"x\", \"ser").unwrap();
    for cmd in ["up", "status"] {
        let out = plink(dir.path(), &[cmd, wf.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(7), "{cmd}: {}", text(&out));
        assert!(text(&out).contains("truncated"), "{}", text(&out));
    }
    assert_eq!(
        std::fs::read(&state).unwrap(),
        b"{\"schema_version\": 1, \"lineage\": \"x\", \"ser"
    );

    std::fs::write(&state, br#"{"schema_version": 99}"#).unwrap();
    let out = plink(dir.path(), &["up", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    assert!(text(&out).contains("newer plink"), "{}", text(&out));
}

#[test]
fn status_of_a_deployment_that_never_ran() {
    let dir = tempfile::tempdir().unwrap();
    let wf = demo_workflow(dir.path());
    let out = plink(dir.path(), &["status", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("never run"), "{}", text(&out));
    let out = plink(dir.path(), &["status", "--json", wf.to_str().unwrap()]);
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    assert_eq!(json["exists"], false);
    // The workflow's steps, in the order derived from its graph.
    let step_order = plink::workflow::load(&wf).unwrap().graph.display_order();
    assert_eq!(json["steps"].as_array().unwrap().len(), step_order.len());
}

#[test]
fn unlock_without_a_lock_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let wf = demo_workflow(dir.path());
    let out = plink(dir.path(), &["unlock", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn state_flag_points_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let wf = demo_workflow(dir.path());
    let custom = dir.path().join("custom/state.json");
    let _held =
        StateStore::open(StatePaths::at(&custom), "demo-s3", "s3-privatelink", "down").unwrap();
    let out = plink(
        dir.path(),
        &[
            "up",
            "--state",
            custom.to_str().unwrap(),
            wf.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(
        text(&out).contains("custom/state.json.lock"),
        "{}",
        text(&out)
    );
}

#[test]
fn missing_credentials_exit_8_and_name_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let wf = demo_workflow(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_plink"))
        .args(["up", wf.to_str().unwrap()])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(8), "{}", text(&out));
    let msg = text(&out);
    assert!(
        msg.contains("AWS") && msg.to_lowercase().contains("credentials"),
        "{msg}"
    );
    assert!(!msg.contains("panicked"), "{msg}");
}

#[test]
fn an_unknown_workflow_kind_names_the_file_line_and_the_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let wf = demo_workflow(dir.path());
    let text_before = std::fs::read_to_string(&wf).unwrap();
    std::fs::write(&wf, format!("kind = \"s3-privatelnk\"\n{text_before}")).unwrap();
    let out = plink(dir.path(), &["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("s3-privatelink.toml:1:8: kind: unknown workflow kind \"s3-privatelnk\"; expected one of: s3-privatelink"),
        "{}",
        text(&out)
    );
    // Naming the default kind is the same as naming none.
    std::fs::write(&wf, format!("kind = \"s3-privatelink\"\n{text_before}")).unwrap();
    let out = plink(dir.path(), &["validate", wf.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_state_of_another_workflow_kind_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let wf = demo_workflow(dir.path());
    let state = dir.path().join(".plink/demo-s3/state.json");
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    let other = include_str!("fixtures/state-v0.1.0-s3-privatelink-up.json").replace(
        "\"workflow\": \"s3-privatelink\"",
        "\"workflow\": \"ip-access-lists\"",
    );
    assert!(other.contains("ip-access-lists"));
    std::fs::write(&state, &other).unwrap();
    for cmd in ["up", "plan", "down", "status"] {
        let out = plink(dir.path(), &[cmd, wf.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(7), "{cmd}: {}", text(&out));
        assert!(
            text(&out).contains("workflow kind \"ip-access-lists\"")
                && text(&out).contains("\"s3-privatelink\""),
            "{cmd}: {}",
            text(&out)
        );
    }
    assert_eq!(std::fs::read_to_string(&state).unwrap(), other);
}

#[test]
fn nlb_service_files_are_checked_with_their_own_tables_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let good = std::fs::read_to_string(root.join("nlb-service.toml")).unwrap();
    let wf = dir.path().join("svc.toml");
    let check = |file: &str, code: i32, expected: &[&str]| {
        std::fs::write(&wf, file).unwrap();
        let out = plink(dir.path(), &["validate", wf.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(code), "{}", text(&out));
        for e in expected {
            assert!(text(&out).contains(e), "{e}\n{}", text(&out));
        }
    };
    check(
        &good,
        0,
        &["ok (deployment demo-pg, region us-east-1, ports [5432]"],
    );
    check(
        &good.replace("ports = [5432]", "ports = [5432, 0, 5432]"),
        3,
        &[
            "svc.toml:23:16: service.ports[1]: expected a port from 1 to 65535, found 0",
            "svc.toml:23:19: service.ports[2]: port 5432 is listed twice",
        ],
    );
    check(
        &good.replace("\"10.20.2.50\"", "\"10.20.2\""),
        3,
        &["service.targets.ips[1]: expected an IPv4 address like \"10.0.1.25\", found \"10.20.2\""],
    );
    check(
        &good.replace("domain_names = [\"pg.plink-demo.internal\"]", ""),
        3,
        &["databricks.domain_names: required for kind \"nlb-service\""],
    );
    check(
        &good.replace(
            "targets = { ips = [\"10.20.1.50\", \"10.20.2.50\"] }",
            "targets = { aws_service = \"com.amazonaws.us-east-1.secretsmanager\" }",
        ),
        3,
        &["service.ports: an AWS service's interface endpoint answers on 443 only: expected [443]"],
    );
    check(
        &good.replace(
            "targets = { ips = [\"10.20.1.50\", \"10.20.2.50\"] }",
            "targets = { ips = [\"10.20.1.50\"], aws_service = \"com.amazonaws.us-east-1.sqs\" }",
        ),
        3,
        &[
            "service.targets: expected exactly one of \"ips\", \"instances\", \"rds_instance\", \"rds_cluster\" or \"aws_service\", found 2 (ips, aws_service)",
        ],
    );
    check(
        &good.replace(
            "targets = { ips = [\"10.20.1.50\", \"10.20.2.50\"] }",
            "targets = { rds_instance = \"orders--db\" }",
        ),
        3,
        &["service.targets.rds_instance: expected an RDS identifier like \"orders-db\""],
    );
    check(
        &good.replace(
            "targets = { ips = [\"10.20.1.50\", \"10.20.2.50\"] }",
            "targets = { instances = [\"i-0123456789abcdef0\", \"i-12\", \"i-0123456789abcdef0\"] }",
        ),
        3,
        &[
            "service.targets.instances[1]: expected an EC2 instance id like \"i-0123456789abcdef0\", found \"i-12\"",
            "service.targets.instances[2]: i-0123456789abcdef0 is listed twice",
        ],
    );
    check(
        &good.replace(
            "targets = { ips = [\"10.20.1.50\", \"10.20.2.50\"] }",
            "targets = { instances = [] }",
        ),
        3,
        &["service.targets.instances: expected at least one instance id"],
    );
    // Another kind's table is not this kind's.
    check(
        &format!("{good}\n[endpoint]\npolicy_file = \"p.json\"\n"),
        3,
        &[
            "endpoint: unknown key; expected one of: kind, deployment, aws, service, nlb, databricks, timeouts, state",
        ],
    );
}
