//! `plink iam-policy` lists exactly the AWS actions the code calls: every SDK call in `src/aws/`
//! is read from the source and compared with the policy's table.

use std::collections::BTreeSet;
use std::path::Path;

use plink::aws::iam::{self, ACTIONS};

/// `describe_vpc_endpoints` → `DescribeVpcEndpoints`.
fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| w[..1].to_uppercase() + &w[1..])
        .collect()
}

/// Every `.ec2.<op>(` / `.elb.<op>(` / `.s3.<op>(` / `.rds.<op>(` call in `src/aws/`, whitespace and line breaks allowed.
fn calls_in_source() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/aws");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let compact: String = text.split_whitespace().collect();
        for (client, prefix) in [
            (".ec2.", "ec2"),
            (".elb.", "elasticloadbalancing"),
            (".s3.", "s3"),
            (".rds.", "rds"),
        ] {
            for piece in compact.split(client).skip(1) {
                let op: String = piece
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !op.is_empty() && piece[op.len()..].starts_with('(') {
                    // IAM action names are case-insensitive (`DescribeDBInstances` is the SDK's
                    // `describe_db_instances`).
                    found.insert(format!("{prefix}:{}", pascal(&op)).to_lowercase());
                }
            }
        }
    }
    found
}

#[test]
fn policy_lists_exactly_the_actions_the_code_calls() {
    let in_code = calls_in_source();
    assert!(
        in_code.len() > 20,
        "the scan should find the SDK calls: {in_code:?}"
    );
    let in_policy: BTreeSet<String> = ACTIONS
        .iter()
        .map(|(svc, action, _)| format!("{svc}:{action}").to_lowercase())
        .collect();
    let missing: Vec<_> = in_code.difference(&in_policy).collect();
    let unused: Vec<_> = in_policy.difference(&in_code).collect();
    assert!(
        missing.is_empty(),
        "called by the code but not in the policy: {missing:?}"
    );
    assert!(
        unused.is_empty(),
        "in the policy but never called: {unused:?}"
    );
}

#[test]
fn policy_document_is_valid_and_never_grants_everything() {
    let doc = iam::policy_document();
    let text = doc.to_string();
    assert!(
        !text.contains("\"ec2:*\"")
            && !text.contains("\"elasticloadbalancing:*\"")
            && !text.contains("\"*:*\"")
    );
    let statements = doc["Statement"].as_array().unwrap();
    let granted: usize = statements
        .iter()
        .filter(|s| !s["Sid"].as_str().unwrap().starts_with("PlinkTagOnCreate"))
        .map(|s| s["Action"].as_array().unwrap().len())
        .sum();
    assert_eq!(granted, ACTIONS.len());
    let change = statements
        .iter()
        .find(|s| s["Sid"] == "PlinkChangeOwnResources")
        .unwrap();
    assert_eq!(
        change["Condition"]["StringEquals"]["aws:ResourceTag/plink:managed-by"],
        "plink"
    );
}

#[test]
fn the_command_prints_the_document() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plink"))
        .arg("iam-policy")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, iam::policy_document());
}
