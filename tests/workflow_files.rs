//! Workflow files: the examples in `workflows/` and the exact error message of every error class
//! (file, line:column, key path, expectation).
//!
//! Regression tests are named `regression_<what went wrong>`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{
    ConfigError, DiagnosticKind, DomainNames, GovShard, NccSelector, Partition, Region,
    SecurityGroups, SubnetSelector, Timeouts, VpcSelector, Workflow, databricks_principal,
};

/// The config toolkit, with the `s3-privatelink` kind's file reading (the kind these files are).
mod config {
    pub use plink::config::*;
    pub use plink::workflow::s3_privatelink::config::{Config as Workflow, load, parse};
}

/// A minimal valid file; tests edit it line by line, so line numbers below are meaningful.
const GOOD: &str = r#"[deployment]
name = "demo-s3"

[aws]
region = "us-east-1"
vpc = { tags = { Name = "plink-demo-vpc" } }
subnets = { tags = { plink-demo = "private" } }

[databricks]
workspace_ids = [1111111111111111]
ncc = { name = "plink-demo-ncc" }
"#;

const FILE: &str = "workflows/bad.toml";

fn workflows_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows")
}

/// GOOD with 1-based line `n` replaced by `text` (which may hold several lines, or none).
fn edit(edits: &[(usize, &str)]) -> String {
    let mut lines: Vec<String> = GOOD.lines().map(str::to_owned).collect();
    for &(n, text) in edits {
        lines[n - 1] = text.to_owned();
    }
    lines.join("\n") + "\n"
}

/// GOOD plus `text` appended.
fn append(text: &str) -> String {
    format!("{GOOD}{text}")
}

fn parse(text: &str) -> Result<Workflow, ConfigError> {
    config::parse(Path::new(FILE), text)
}

/// The rendered error lines of an invalid file.
fn errors(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(workflow) => panic!("expected an error, got {workflow:#?}\n--- file ---\n{text}"),
        Err(error) => error.to_string().lines().map(str::to_owned).collect(),
    }
}

/// The single rendered error of an invalid file.
fn error(text: &str) -> String {
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    errors.into_iter().next().unwrap()
}

fn kinds(text: &str) -> Vec<DiagnosticKind> {
    parse(text)
        .unwrap_err()
        .diagnostics()
        .iter()
        .map(|d| d.kind)
        .collect()
}

fn ok(text: &str) -> Workflow {
    parse(text).unwrap_or_else(|error| panic!("{error}\n--- file ---\n{text}"))
}

// ---------------------------------------------------------------------------------------------
// The examples in workflows/

#[test]
fn every_example_in_workflows_parses() {
    let mut count = 0;
    for entry in fs::read_dir(workflows_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            // Each by its own kind.
            plink::workflow::load(&path).unwrap_or_else(|error| panic!("{error}"));
            count += 1;
        }
    }
    assert!(count >= 3, "only {count} examples found");
}

#[test]
fn demo_matches_the_local_stack_fixtures() {
    let w = config::load(&workflows_dir().join("s3-privatelink.toml")).unwrap();
    assert_eq!(w.deployment.as_str(), "demo-s3");
    assert_eq!(w.aws.region.as_str(), "us-east-1");
    assert_eq!(w.aws.partition, Partition::Aws);
    assert_eq!(
        (w.aws.profile.as_deref(), w.aws.role_arn.as_deref()),
        (None, None)
    );
    let tags = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
    assert_eq!(w.aws.vpc, VpcSelector::Tags(tags("Name", "plink-demo-vpc")));
    assert_eq!(
        w.aws.subnets,
        SubnetSelector::Tags(tags("plink-demo", "private"))
    );
    assert_eq!(w.endpoint.service_name, "com.amazonaws.us-east-1.s3");
    assert_eq!(w.endpoint.security_groups, SecurityGroups::CreateManaged);
    let policy = w.endpoint.policy.as_ref().expect("the demo has a policy");
    assert!(policy.path.ends_with("workflows/s3-endpoint-policy.json"));
    assert!(!policy.json.contains(char::is_whitespace), "minified");
    for needle in [
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
        "aws:PrincipalAccount",
    ] {
        assert!(policy.json.contains(needle), "{needle}");
    }
    let value: serde_json::Value = serde_json::from_str(&policy.json).unwrap();
    assert!(value.is_object());
    assert_eq!(w.databricks.workspace_ids, vec![1111111111111111]);
    assert_eq!(
        w.databricks.ncc,
        NccSelector::Name(config::NccName::new("plink-demo-ncc").unwrap())
    );
    assert_eq!(w.databricks.domain_names, DomainNames::FromEndpoint);
    assert_eq!(w.databricks.profile, None);
    assert_eq!(w.databricks.account_id, None);
    assert_eq!(
        w.databricks.principal_arn,
        "arn:aws:iam::565502421330:role/private-connectivity-role-us-east-1"
    );
    assert_eq!(w.nlb.name, "plink-demo-s3");
    assert_eq!(w.nlb.target_group_name, "plink-demo-s3-tg");
    assert!(w.nlb.cross_zone);
    assert_eq!(w.timeouts, Timeouts::default());
}

#[test]
fn reference_file_spells_out_exactly_the_defaults() {
    // reference.toml writes every default explicitly; the demo omits them. Same workflow.
    let reference = config::load(&workflows_dir().join("reference.toml")).unwrap();
    let demo = config::load(&workflows_dir().join("s3-privatelink.toml")).unwrap();
    assert_eq!(
        Workflow {
            source: demo.source.clone(),
            ..reference
        },
        demo
    );
}

#[test]
fn reference_file_mentions_every_key() {
    let text = fs::read_to_string(workflows_dir().join("reference.toml")).unwrap();
    for key in [
        "name",
        "region",
        "profile",
        "role_arn",
        "vpc",
        "subnets",
        "service_name",
        "security_group_ids",
        "policy_file",
        "target_group_name",
        "cross_zone",
        "account_id",
        "workspace_ids",
        "domain_names",
        "ncc",
        "gov_shard",
        "endpoint",
        "load_balancer",
        "endpoint_service",
        "rule_endpoint",
        "rule_established",
        "workspace",
        "backend",
        "bucket",
        "key",
        "kms_key_id",
    ] {
        assert!(
            text.contains(&format!("{key} = ")),
            "reference.toml lacks {key}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// [state] (issue #14): read once for every kind

/// Each example of `workflows/` with `table` appended, read by its kind from a file of its own.
fn each_example_with(table: &str) -> Vec<Result<plink::workflow::Loaded, ConfigError>> {
    let dir = tempfile::tempdir().unwrap();
    let mut workflows = Vec::new();
    for entry in fs::read_dir(workflows_dir()).unwrap() {
        let path = entry.unwrap().path();
        let copy = dir.path().join(path.file_name().unwrap());
        if path.extension().is_some_and(|e| e == "toml") {
            if !path.ends_with("reference.toml") {
                let text = fs::read_to_string(&path).unwrap();
                fs::write(&copy, format!("{text}\n{table}")).unwrap();
                workflows.push(copy);
            }
        } else {
            // The files the workflows name (an endpoint policy).
            fs::copy(&path, &copy).unwrap();
        }
    }
    let out: Vec<_> = workflows.iter().map(|w| plink::workflow::load(w)).collect();
    assert!(out.len() >= 5, "only {} examples", out.len());
    out
}

#[test]
fn every_kind_takes_the_state_table_and_reads_it_the_same() {
    let table = r#"[state]
backend = "s3"
bucket = "acme-plink-state"
key = "/plink/prod/"
region = "eu-west-1"
kms_key_id = "alias/plink-state"
role_arn = "arn:aws:iam::123456789012:role/plink-state"
"#;
    for loaded in each_example_with(table) {
        let loaded = loaded.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            loaded.state,
            config::StateBackend::S3(config::S3StateSettings {
                bucket: "acme-plink-state".into(),
                key: "plink/prod".into(),
                region: Some(Region::new("eu-west-1").unwrap()),
                kms_key_id: Some("alias/plink-state".into()),
                role_arn: Some("arn:aws:iam::123456789012:role/plink-state".into()),
            }),
            "{}",
            loaded.source.display()
        );
    }
    for loaded in each_example_with("[state]\nbackend = \"local\"\n") {
        assert_eq!(loaded.unwrap().state, config::StateBackend::Local);
    }
}

#[test]
fn state_table_errors_name_the_key_and_what_was_expected() {
    let table = r#"[state]
backend = "local"
bucket = "acme-plink-state"
"#;
    for loaded in each_example_with(table) {
        let e = loaded.unwrap_err().to_string();
        assert!(
            e.contains(": state.bucket: only taken with backend = \"s3\""),
            "{e}"
        );
    }
    let table = r#"[state]
backend = "s3"
kms_key_id = "plink"
region = "moon-1"
"#;
    let e = each_example_with(table).remove(0).unwrap_err().to_string();
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 3, "{e}");
    assert!(lines[0].ends_with("state.bucket: expected bucket = \"…\" with backend = \"s3\": the bucket that holds the states"), "{e}");
    assert!(
        lines[1].contains("state.kms_key_id: expected a KMS key id"),
        "{e}"
    );
    assert!(lines[2].contains("state.region:"), "{e}");
    let first_error = |table: &str| each_example_with(table).remove(0).unwrap_err().to_string();
    let e = first_error("[state]\nbackend = \"dynamodb\"\n");
    assert!(
        e.contains("state.backend: expected \"s3\" or \"local\", found \"dynamodb\""),
        "{e}"
    );
    let e = first_error("[state]\nprefix = \"x\"\n");
    assert!(
        e.contains("state.prefix: unknown key; expected one of: backend, bucket, key, region, kms_key_id, role_arn"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// Defaults

#[test]
fn defaults_are_applied() {
    let w = ok(GOOD);
    assert_eq!(w.source, PathBuf::from(FILE));
    assert_eq!(w.endpoint.service_name, "com.amazonaws.us-east-1.s3");
    assert_eq!(w.endpoint.security_groups, SecurityGroups::CreateManaged);
    assert_eq!(w.endpoint.policy, None);
    assert_eq!(w.nlb.name, "plink-demo-s3");
    assert_eq!(w.nlb.target_group_name, "plink-demo-s3-tg");
    assert!(w.nlb.cross_zone);
    assert_eq!(w.databricks.domain_names, DomainNames::FromEndpoint);
    assert_eq!(w.databricks.gov_shard, None);
    let t = w.timeouts;
    let min = |m: u64| Duration::from_secs(m * 60);
    assert_eq!(
        [
            t.endpoint,
            t.load_balancer,
            t.endpoint_service,
            t.rule_endpoint,
            t.rule_established,
            t.workspace
        ],
        [min(10), min(15), min(10), min(30), min(30), min(20)]
    );
}

#[test]
fn explicit_values_override_defaults() {
    let w = ok(&edit(&[
        (
            2,
            "name = \"demo-s3\"\n[nlb]\ncross_zone = false\nname = \"my-nlb\"",
        ),
        (
            10,
            "workspace_ids = [2222222222222222, 1111111111111111]\ndomain_names = [\"db.example.com\", \"*.s3.example.com\"]\naccount_id = \"ABCDEF01-2345-6789-abcd-ef0123456789\"",
        ),
        (
            11,
            "ncc = { id = \"D6DF3889-EEFC-4DDB-BBB4-613EFCB30035\" }\n[timeouts]\nworkspace = \"1h 30m\"\nendpoint = \"90s\"",
        ),
    ]));
    assert!(!w.nlb.cross_zone);
    assert_eq!(w.nlb.name, "my-nlb");
    assert_eq!(w.nlb.target_group_name, "plink-demo-s3-tg");
    assert_eq!(
        w.databricks.workspace_ids,
        vec![2222222222222222, 1111111111111111]
    );
    assert_eq!(
        w.databricks.domain_names,
        DomainNames::Explicit(vec!["db.example.com".into(), "*.s3.example.com".into()])
    );
    // UUIDs are normalised to lowercase.
    assert_eq!(
        w.databricks.account_id.as_deref(),
        Some("abcdef01-2345-6789-abcd-ef0123456789")
    );
    assert_eq!(
        w.databricks.ncc,
        NccSelector::Id("d6df3889-eefc-4ddb-bbb4-613efcb30035".into())
    );
    assert_eq!(w.timeouts.workspace, Duration::from_secs(5400));
    assert_eq!(w.timeouts.endpoint, Duration::from_secs(90));
    assert_eq!(w.timeouts.rule_established, Duration::from_secs(1800));
}

#[test]
fn workflow_serializes_for_json_output() {
    let json = serde_json::to_value(ok(GOOD)).unwrap();
    assert_eq!(json["deployment"], "demo-s3");
    assert_eq!(json["aws"]["partition"], "aws");
    assert_eq!(json["aws"]["vpc"]["tags"]["Name"], "plink-demo-vpc");
    assert_eq!(json["endpoint"]["security_groups"], "create_managed");
    assert_eq!(json["databricks"]["domain_names"], "from_endpoint");
    assert_eq!(json["databricks"]["ncc"]["name"], "plink-demo-ncc");
    assert_eq!(json["timeouts"]["rule_established"], "30m");
}

// ---------------------------------------------------------------------------------------------
// The error messages quoted in the design brief, reproduced exactly.

#[test]
fn bad_subnet_id_names_file_line_column_and_index() {
    let text = r#"# A broken workflow file.
[deployment]
name = "demo-s3"

[aws]
region = "us-east-1"
vpc = { tags = { Name = "plink-demo-vpc" } }

[aws.subnets]
ids = [
  # one per availability zone
  "subnet-0123456789abcdef0",
  # the second one has a typo
      "sub-12",
]

[databricks]
workspace_ids = [1111111111111111]
ncc = { name = "plink-demo-ncc" }
"#;
    assert_eq!(
        error(text),
        r#"workflows/bad.toml:14:7: aws.subnets.ids[1]: expected a subnet id like "subnet-0123456789abcdef0", found "sub-12""#
    );
}

#[test]
fn unknown_key_lists_the_expected_keys() {
    let text = r#"# A broken workflow file.
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
    assert_eq!(
        error(text),
        "workflows/bad.toml:9:1: aws.vpcc: unknown key; expected one of: region, profile, role_arn, vpc, subnets"
    );
    assert_eq!(kinds(text), [DiagnosticKind::UnknownKey]);
}

#[test]
fn wrong_type_says_expected_and_found() {
    let text = "# A broken workflow file.\n".to_owned() + &edit(&[(2, "name = 5")]);
    assert_eq!(
        error(&text),
        "workflows/bad.toml:3:8: deployment.name: expected a string, found an integer"
    );
    assert_eq!(kinds(&text), [DiagnosticKind::WrongType]);
}

#[test]
fn missing_required_key_has_no_position() {
    let text = edit(&[(10, "")]);
    assert_eq!(
        error(&text),
        "workflows/bad.toml: databricks.workspace_ids: required key missing"
    );
    assert_eq!(kinds(&text), [DiagnosticKind::MissingKey]);
}

#[test]
fn too_many_domain_names_cites_the_databricks_limit() {
    let names: Vec<String> = (0..11).map(|i| format!("\"h{i}.example.com\"")).collect();
    let text = format!(
        "# A broken workflow file.\n#\n#\n#\n#\n#\n#\n#\n{}domain_names = [{}]\n",
        GOOD,
        names.join(", ")
    );
    assert_eq!(text.lines().count(), 20);
    assert_eq!(
        error(&text),
        "workflows/bad.toml:20:16: databricks.domain_names: at most 10 domain names per rule (Databricks limit), found 11"
    );
    assert_eq!(kinds(&text), [DiagnosticKind::InvalidValue]);
}

// ---------------------------------------------------------------------------------------------
// Unknown keys, at every level

#[test]
fn unknown_keys_at_every_level() {
    let cases: &[(&str, &str, &str)] = &[
        (
            &format!("bogus = 1\n{GOOD}"),
            "1:1: bogus",
            "kind, deployment, aws, endpoint, nlb, databricks, timeouts, state",
        ),
        (
            &edit(&[(2, "name = \"demo-s3\"\nbogus = 1")]),
            "3:1: deployment.bogus",
            "name",
        ),
        (
            &edit(&[(5, "region = \"us-east-1\"\nbogus = 1")]),
            "6:1: aws.bogus",
            "region, profile, role_arn, vpc, subnets",
        ),
        (
            &edit(&[(6, "vpc = { id = \"vpc-0123abcd\", bogus = 1 }")]),
            "6:30: aws.vpc.bogus",
            "id, tags",
        ),
        (
            &edit(&[(7, "subnets = { idz = [] }")]),
            "7:13: aws.subnets.idz",
            "ids, tags",
        ),
        (
            &append("[endpoint]\nbogus = 1\n"),
            "13:1: endpoint.bogus",
            "service_name, security_group_ids, policy_file",
        ),
        (
            &append("[nlb]\nbogus = 1\n"),
            "13:1: nlb.bogus",
            "name, target_group_name, cross_zone",
        ),
        (
            &append("bogus = 1\n"),
            "12:1: databricks.bogus",
            "profile, account_id, workspace_ids, domain_names, ncc, gov_shard",
        ),
        (
            &edit(&[(11, "ncc = { name = \"plink-demo-ncc\", bogus = 1 }")]),
            "11:34: databricks.ncc.bogus",
            "name, id",
        ),
        (
            &append("[timeouts]\nbogus = \"1m\"\n"),
            "13:1: timeouts.bogus",
            "endpoint, load_balancer, endpoint_service, rule_endpoint, rule_established, workspace",
        ),
    ];
    for (text, at, expected) in cases {
        let (position, key) = at.split_once(": ").unwrap();
        let expected_list = if expected.contains(", ") {
            format!("expected one of: {expected}")
        } else {
            format!("expected: {expected}")
        };
        assert_eq!(
            error(text),
            format!("{FILE}:{position}: {key}: unknown key; {expected_list}"),
            "--- file ---\n{text}"
        );
        assert_eq!(kinds(text), [DiagnosticKind::UnknownKey]);
    }
}

#[test]
fn unknown_table_in_dotted_header() {
    assert_eq!(
        error(&append("[aws.vpcs]\nid = \"vpc-0123abcd\"\n")),
        "workflows/bad.toml:12:6: aws.vpcs: unknown key; expected one of: region, profile, role_arn, vpc, subnets"
    );
}

#[test]
fn tag_names_are_free_form_not_unknown_keys() {
    let w = ok(&edit(&[(
        6,
        r#"vpc = { tags = { "plink:owner" = "me", Name = "x", env = "" } }"#,
    )]));
    let VpcSelector::Tags(tags) = w.aws.vpc else {
        panic!()
    };
    assert_eq!(tags.len(), 3);
    assert_eq!(tags["plink:owner"], "me");
}

// ---------------------------------------------------------------------------------------------
// Type errors

#[test]
fn type_errors() {
    let cases: &[(String, &str)] = &[
        (
            edit(&[(5, "region = true")]),
            "5:10: aws.region: expected a string, found a boolean",
        ),
        (
            edit(&[(5, "region = 1.5")]),
            "5:10: aws.region: expected a string, found a float",
        ),
        (
            edit(&[(5, "region = [\"us-east-1\"]")]),
            "5:10: aws.region: expected a string, found an array",
        ),
        (
            edit(&[(6, "vpc = \"vpc-0123abcd\"")]),
            "6:7: aws.vpc: expected a table, found a string",
        ),
        (
            edit(&[(6, "vpc = { tags = { Name = 1 } }")]),
            "6:25: aws.vpc.tags.Name: expected a string, found an integer",
        ),
        (
            edit(&[(7, "subnets = { ids = \"subnet-0123abcd\" }")]),
            "7:19: aws.subnets.ids: expected an array, found a string",
        ),
        (
            edit(&[(10, "workspace_ids = \"1111111111111111\"")]),
            "10:17: databricks.workspace_ids: expected an array, found a string",
        ),
        (
            edit(&[(10, "workspace_ids = [1111111111111111, \"2\"]")]),
            "10:36: databricks.workspace_ids[1]: expected an integer, found a string",
        ),
        (
            edit(&[(11, "ncc = \"plink-demo-ncc\"")]),
            "11:7: databricks.ncc: expected a table, found a string",
        ),
        (
            append("[nlb]\ncross_zone = \"yes\"\n"),
            "13:14: nlb.cross_zone: expected a boolean (true or false), found a string",
        ),
        (
            append("[timeouts]\nendpoint = 600\n"),
            "13:12: timeouts.endpoint: expected a duration string like \"10m\" or \"90s\", found an integer",
        ),
        (
            edit(&[
                (1, "aws = 3\n[deployment]"),
                (4, ""),
                (5, ""),
                (6, ""),
                (7, ""),
            ]),
            "1:7: aws: expected a table, found an integer",
        ),
        (
            append("[[endpoint]]\n"),
            "12:1: endpoint: expected a table, found an array",
        ),
        (
            edit(&[(6, "vpc = [\"vpc-0123abcd\"]")]),
            "6:7: aws.vpc: expected a table, found an array",
        ),
        (
            edit(&[(11, "ncc = []")]),
            "11:7: databricks.ncc: expected a table, found an array",
        ),
        (
            edit(&[(6, "vpc = 1979-05-27")]),
            "6:7: aws.vpc: expected a table, found a date-time",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(
            error(text),
            format!("{FILE}:{expected}"),
            "--- file ---\n{text}"
        );
        assert_eq!(kinds(text), [DiagnosticKind::WrongType]);
    }
}

#[test]
fn regression_datetime_is_reported_as_a_date_time_not_a_table() {
    // toml hands date-times to serde as maps; the message said "found a table".
    assert_eq!(
        error(&edit(&[(5, "region = 1979-05-27")])),
        "workflows/bad.toml:5:10: aws.region: expected a string, found a date-time"
    );
}

#[test]
fn regression_integer_overflow_is_not_expected_an_integer_found_an_integer() {
    assert_eq!(
        error(&edit(&[(10, "workspace_ids = [99999999999999999999]")])),
        "workflows/bad.toml:10:18: databricks.workspace_ids[0]: expected an integer, found an integer out of range"
    );
}

#[test]
fn regression_spanned_wrapper_never_leaks_into_key_paths() {
    // serde_path_to_error records toml::Spanned's private field as a path segment.
    for text in [
        edit(&[(6, "vpc = { tags = { Name = 1 } }")]),
        edit(&[(7, "subnets = { ids = [1] }")]),
        append("[timeouts]\nworkspace = 1\n"),
    ] {
        let message = error(&text);
        assert!(!message.contains('$'), "{message}");
        assert!(!message.contains("serde"), "{message}");
    }
}

// ---------------------------------------------------------------------------------------------
// Missing keys

#[test]
fn missing_keys() {
    let cases: &[(String, &str)] = &[
        (String::new(), "deployment"),
        (edit(&[(1, ""), (2, "")]), "deployment"),
        (edit(&[(2, "")]), "deployment.name"),
        (edit(&[(4, ""), (5, ""), (6, ""), (7, "")]), "aws"),
        (edit(&[(5, "")]), "aws.region"),
        (edit(&[(6, "")]), "aws.vpc"),
        (edit(&[(7, "")]), "aws.subnets"),
        (edit(&[(9, ""), (10, ""), (11, "")]), "databricks"),
        (edit(&[(11, "")]), "databricks.ncc"),
    ];
    for (text, key) in cases {
        assert_eq!(
            error(text),
            format!("{FILE}: {key}: required key missing"),
            "--- file ---\n{text}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// TOML syntax

#[test]
fn syntax_errors_keep_tomls_line_and_column() {
    let cases: &[(String, &str)] = &[
        (
            edit(&[(2, "name = \"demo-s3")]),
            "2:16: invalid TOML: invalid basic string, expected `\"`",
        ),
        (
            edit(&[(4, "[aws")]),
            "4:5: invalid TOML: unclosed table, expected `]`",
        ),
        (
            edit(&[(5, "region = \"us-east-1\"\nregion = \"us-west-2\"")]),
            "6:1: invalid TOML: duplicate key",
        ),
        (
            edit(&[(5, "region = us-east-1")]),
            "5:10: invalid TOML: string values must be quoted, expected literal string",
        ),
    ];
    for (text, expected) in cases {
        let message = error(text);
        assert!(
            message.starts_with(&format!("{FILE}:{}", expected.split_once(": ").unwrap().0)),
            "{message}"
        );
        assert_eq!(message, format!("{FILE}:{expected}"));
        assert_eq!(kinds(text), [DiagnosticKind::Syntax]);
    }
}

// ---------------------------------------------------------------------------------------------
// Semantic errors (one per check)

#[test]
fn semantic_errors() {
    let cases: &[(String, &str)] = &[
        // deployment
        (
            edit(&[(2, "name = \"Demo\"")]),
            r#"2:8: deployment.name: expected a deployment name of 2-23 characters: a lowercase letter, then lowercase letters, digits or '-' (^[a-z][a-z0-9-]{1,22}$), found "Demo""#,
        ),
        (
            edit(&[(2, "name = \"abcdefghijklmnopqrstuvwx\"")]),
            r#"2:8: deployment.name: expected a deployment name of 2-23 characters: a lowercase letter, then lowercase letters, digits or '-' (^[a-z][a-z0-9-]{1,22}$), found "abcdefghijklmnopqrstuvwx""#,
        ),
        // region
        (
            edit(&[(5, "region = \"useast1\"")]),
            r#"5:10: aws.region: expected an AWS region like "us-east-1", found "useast1""#,
        ),
        (
            edit(&[(5, "region = \"cn-north-1\"")]),
            r#"5:10: aws.region: AWS China regions are not supported (Databricks serverless private connectivity exists in the aws and aws-us-gov partitions only), found "cn-north-1""#,
        ),
        (
            edit(&[(5, "region = \"zz-east-1\"")]),
            r#"5:10: aws.region: expected a region of the aws partition (af-…, ap-…, ca-…, eu-…, il-…, me-…, mx-…, sa-…, us-…) or of aws-us-gov (us-gov-…), found "zz-east-1""#,
        ),
        // profile and role
        (
            edit(&[(5, "region = \"us-east-1\"\nprofile = \"my profile\"")]),
            r#"6:11: aws.profile: expected a profile name without whitespace or brackets, found "my profile""#,
        ),
        (
            edit(&[(
                5,
                "region = \"us-east-1\"\nrole_arn = \"arn:aws:iam::123:role/x\"",
            )]),
            r#"6:12: aws.role_arn: expected an IAM role ARN like "arn:aws:iam::123456789012:role/plink", found "arn:aws:iam::123:role/x""#,
        ),
        (
            edit(&[(
                5,
                "region = \"us-east-1\"\nrole_arn = \"arn:aws-us-gov:iam::123456789012:role/x\"",
            )]),
            r#"6:12: aws.role_arn: role is in partition aws-us-gov but region us-east-1 is in partition aws, found "arn:aws-us-gov:iam::123456789012:role/x""#,
        ),
        // vpc
        (
            edit(&[(6, "vpc = { id = \"vpc-12\" }")]),
            r#"6:14: aws.vpc.id: expected a VPC id like "vpc-0123456789abcdef0", found "vpc-12""#,
        ),
        (
            edit(&[(6, "vpc = {}")]),
            r#"6:7: aws.vpc: expected exactly one of "id" or "tags", found neither"#,
        ),
        (
            edit(&[(
                6,
                "vpc = { id = \"vpc-0123abcd\", tags = { Name = \"x\" } }",
            )]),
            r#"6:7: aws.vpc: expected exactly one of "id" or "tags", found both"#,
        ),
        (
            edit(&[(6, "vpc = { tags = {} }")]),
            r#"6:16: aws.vpc.tags: expected at least one tag, like { Name = "my-vpc" }, found an empty table"#,
        ),
        (
            edit(&[(6, "vpc = { tags = { \"\" = \"x\" } }")]),
            r#"6:23: aws.vpc.tags."": expected a non-empty tag key"#,
        ),
        // subnets
        (
            edit(&[(7, "subnets = { ids = [\"subnet-0123abcd\"] }")]),
            "7:19: aws.subnets.ids: expected at least 2 subnets in different availability zones (the load balancer and the endpoint need two), found 1",
        ),
        (
            edit(&[(
                7,
                "subnets = { ids = [\"subnet-0123abcd\", \"subnet-0123abcd\"] }",
            )]),
            r#"7:39: aws.subnets.ids[1]: duplicate of aws.subnets.ids[0] ("subnet-0123abcd")"#,
        ),
        (
            edit(&[(
                7,
                "subnets = { ids = [\"subnet-0123ABCD\", \"subnet-0123abcd\"] }",
            )]),
            r#"7:20: aws.subnets.ids[0]: expected a subnet id like "subnet-0123456789abcdef0", found "subnet-0123ABCD""#,
        ),
        (
            edit(&[(7, "subnets = { ids = [], tags = { a = \"b\" } }")]),
            r#"7:11: aws.subnets: expected exactly one of "ids" or "tags", found both"#,
        ),
        // endpoint
        (
            append("[endpoint]\nservice_name = \"com.amazonaws.us-west-2.s3\"\n"),
            r#"13:16: endpoint.service_name: expected a service in the workflow's region us-east-1 (aws.region), found "com.amazonaws.us-west-2.s3""#,
        ),
        (
            append("[endpoint]\nservice_name = \"s3.amazonaws.com\"\n"),
            r#"13:16: endpoint.service_name: expected a VPC endpoint service name like "com.amazonaws.us-east-1.s3", found "s3.amazonaws.com""#,
        ),
        (
            append("[endpoint]\nsecurity_group_ids = [\"sg-0123abcd\", \"sg-xyz\"]\n"),
            r#"13:38: endpoint.security_group_ids[1]: expected a security group id like "sg-0123456789abcdef0", found "sg-xyz""#,
        ),
        (
            append("[endpoint]\nsecurity_group_ids = []\n"),
            "13:22: endpoint.security_group_ids: expected at least one security group id (omit the key to let plink create one), found an empty array",
        ),
        // nlb
        (
            append("[nlb]\nname = \"-nlb\"\n"),
            r#"13:8: nlb.name: "-nlb" is not a valid load balancer name (must not start or end with '-')"#,
        ),
        (
            append("[nlb]\nname = \"internal-nlb\"\n"),
            r#"13:8: nlb.name: "internal-nlb" is not a valid load balancer name (must not start with "internal-")"#,
        ),
        (
            append("[nlb]\ntarget_group_name = \"abcdefghijklmnopqrstuvwxyz0123456\"\n"),
            r#"13:21: nlb.target_group_name: "abcdefghijklmnopqrstuvwxyz0123456" is not a valid target group name (1-32 characters, found 33)"#,
        ),
        (
            append("[nlb]\ntarget_group_name = \"my_tg\"\n"),
            r#"13:21: nlb.target_group_name: "my_tg" is not a valid target group name (only letters, digits and '-')"#,
        ),
        // databricks
        (
            append("profile = \"\"\n"),
            r#"12:11: databricks.profile: expected a profile name without whitespace or brackets, found """#,
        ),
        (
            append("account_id = \"1234\"\n"),
            r#"12:14: databricks.account_id: expected a Databricks account id (a UUID like "01234567-89ab-cdef-0123-456789abcdef"), found "1234""#,
        ),
        (
            edit(&[(10, "workspace_ids = []")]),
            "10:17: databricks.workspace_ids: expected at least one workspace id, found an empty array",
        ),
        (
            edit(&[(10, "workspace_ids = [0]")]),
            "10:18: databricks.workspace_ids[0]: expected a positive workspace id, found 0",
        ),
        (
            edit(&[(10, "workspace_ids = [7, 7]")]),
            "10:21: databricks.workspace_ids[1]: duplicate of databricks.workspace_ids[0] (7)",
        ),
        (
            edit(&[(
                10,
                &format!(
                    "workspace_ids = [{}]",
                    (1..=51)
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )]),
            "10:17: databricks.workspace_ids: at most 50 workspaces per NCC (Databricks limit), found 51",
        ),
        (
            append("domain_names = []\n"),
            "12:16: databricks.domain_names: expected at least one domain name (omit the key to use the endpoint's DNS name), found an empty array",
        ),
        (
            append("domain_names = [\"db.example.com\", \"DB.example.com\"]\n"),
            r#"12:35: databricks.domain_names[1]: duplicate of databricks.domain_names[0] ("DB.example.com")"#,
        ),
        (
            append("domain_names = [\"db.*.example.com\"]\n"),
            r#"12:17: databricks.domain_names[0]: expected a fully qualified domain name (labels of letters, digits and '-' (a wildcard only as a leading "*.")), found "db.*.example.com""#,
        ),
        (
            append(&format!(
                "domain_names = [\"{}.example.com\"]\n",
                "a".repeat(64)
            )),
            &format!(
                r#"12:17: databricks.domain_names[0]: expected a fully qualified domain name (labels of 1-63 characters), found "{}.example.com""#,
                "a".repeat(64)
            ),
        ),
        (
            edit(&[(11, "ncc = { name = \"nc\" }")]),
            r#"11:16: databricks.ncc.name: expected an NCC name of 3-30 letters, digits, '-' or '_' (^[0-9a-zA-Z-_]{3,30}$), found "nc""#,
        ),
        (
            edit(&[(11, "ncc = { id = \"plink-demo-ncc\" }")]),
            r#"11:14: databricks.ncc.id: expected an NCC id (a UUID like "01234567-89ab-cdef-0123-456789abcdef"), found "plink-demo-ncc""#,
        ),
        (
            edit(&[(11, "ncc = { }")]),
            r#"11:7: databricks.ncc: expected exactly one of "name" or "id", found neither"#,
        ),
        (
            append("gov_shard = \"navy\"\n"),
            r#"12:13: databricks.gov_shard: expected "civilian" or "dod", found "navy""#,
        ),
        (
            append("gov_shard = \"dod\"\n"),
            "12:13: databricks.gov_shard: only valid for GovCloud (us-gov-*) regions, but the region is us-east-1",
        ),
        // timeouts
        (
            append("[timeouts]\nworkspace = \"0s\"\n"),
            r#"13:13: timeouts.workspace: expected a duration greater than zero, found "0s""#,
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(
            error(text),
            format!("{FILE}:{expected}"),
            "--- file ---\n{text}"
        );
        assert_eq!(kinds(text), [DiagnosticKind::InvalidValue]);
    }
}

#[test]
fn unparsable_duration_includes_humantimes_reason() {
    let message = error(&append("[timeouts]\nrule_endpoint = \"10 parsecs\"\n"));
    assert!(
        message.starts_with(
            r#"workflows/bad.toml:13:17: timeouts.rule_endpoint: expected a duration like "90s", "10m" or "1h 30m", found "10 parsecs" ("#
        ),
        "{message}"
    );
    assert!(message.contains("parsecs"), "{message}");
}

#[test]
fn regression_trailing_hyphen_deployment_name_breaks_the_default_nlb_name() {
    // "demo-" matches the deployment-name pattern, but "plink-demo-" is not a valid NLB name.
    // The error must point at deployment.name and say how to fix it.
    assert_eq!(
        errors(&edit(&[(2, "name = \"demo-\"")])),
        [
            r#"workflows/bad.toml:2:8: nlb.name: the default name derived from deployment.name: "plink-demo-" is not a valid load balancer name (must not start or end with '-'); shorten or change the deployment name, or set nlb.name"#
        ]
    );
    // Setting nlb.name is the documented way out; the target group default "plink-demo--tg" fits.
    let w = ok(&append("[nlb]\nname = \"demo-nlb\"\n").replace("\"demo-s3\"", "\"demo-\""));
    assert_eq!(w.nlb.target_group_name, "plink-demo--tg");
}

#[test]
fn longest_deployment_name_fits_every_derived_name() {
    let name = "a".repeat(config::DEPLOYMENT_NAME_MAX);
    let w = ok(&edit(&[(2, &format!("name = \"{name}\""))]));
    assert!(w.nlb.name.len() <= config::ELB_NAME_MAX);
    assert_eq!(w.nlb.target_group_name.len(), config::ELB_NAME_MAX);
}

// ---------------------------------------------------------------------------------------------
// Several problems at once

#[test]
fn all_semantic_errors_are_reported_together_in_file_order() {
    let text = edit(&[
        (2, "name = \"Demo\""),
        (6, "vpc = { id = \"vpc-1\" }"),
        (7, "subnets = { ids = [\"subnet-0123abcd\", \"sub-12\"] }"),
        (10, "workspace_ids = [-1, 1, 1]"),
        (
            11,
            "ncc = { name = \"plink-demo-ncc\" }\ngov_shard = \"dod\"\n[timeouts]\nendpoint = \"0m\"",
        ),
    ]);
    assert_eq!(
        errors(&text),
        [
            r#"workflows/bad.toml:2:8: deployment.name: expected a deployment name of 2-23 characters: a lowercase letter, then lowercase letters, digits or '-' (^[a-z][a-z0-9-]{1,22}$), found "Demo""#,
            r#"workflows/bad.toml:6:14: aws.vpc.id: expected a VPC id like "vpc-0123456789abcdef0", found "vpc-1""#,
            r#"workflows/bad.toml:7:39: aws.subnets.ids[1]: expected a subnet id like "subnet-0123456789abcdef0", found "sub-12""#,
            "workflows/bad.toml:10:18: databricks.workspace_ids[0]: expected a positive workspace id, found -1",
            "workflows/bad.toml:10:25: databricks.workspace_ids[2]: duplicate of databricks.workspace_ids[1] (1)",
            "workflows/bad.toml:12:13: databricks.gov_shard: only valid for GovCloud (us-gov-*) regions, but the region is us-east-1",
            r#"workflows/bad.toml:14:12: timeouts.endpoint: expected a duration greater than zero, found "0m""#,
        ]
    );
    assert_eq!(parse(&text).unwrap_err().diagnostics().len(), 7);
}

#[test]
fn regression_gov_shard_is_checked_even_when_another_aws_key_is_invalid() {
    // The region used to come from the validated [aws] table as a whole, so a bad VPC id hid
    // every region-dependent error below it.
    let text = edit(&[
        (6, "vpc = {}"),
        (11, "ncc = { name = \"ncc-1\" }\ngov_shard = \"dod\""),
    ]);
    assert_eq!(errors(&text).len(), 2, "{:#?}", errors(&text));
}

#[test]
fn an_invalid_region_does_not_cascade() {
    // Only the region is reported, not the service name or principal derived from it.
    let text = edit(&[(5, "region = \"mars-1\"")]);
    assert_eq!(
        errors(&text),
        [
            r#"workflows/bad.toml:5:10: aws.region: expected an AWS region like "us-east-1", found "mars-1""#
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// GovCloud and the Databricks principal

fn gov(shard: &str) -> String {
    edit(&[
        (5, "region = \"us-gov-west-1\""),
        (
            11,
            &format!("ncc = {{ name = \"plink-demo-ncc\" }}\n{shard}"),
        ),
    ])
}

#[test]
fn govcloud_principals() {
    let civilian = ok(&gov("gov_shard = \"civilian\""));
    assert_eq!(civilian.aws.partition, Partition::AwsUsGov);
    assert_eq!(civilian.databricks.gov_shard, Some(GovShard::Civilian));
    assert_eq!(
        civilian.databricks.principal_arn,
        "arn:aws-us-gov:iam::347038500609:role/private-connectivity-role-us-gov-west-1"
    );
    assert_eq!(
        civilian.endpoint.service_name,
        "com.amazonaws.us-gov-west-1.s3"
    );
    let dod = ok(&gov("gov_shard = \"dod\""));
    assert_eq!(
        dod.databricks.principal_arn,
        "arn:aws-us-gov:iam::347034940029:role/private-connectivity-role-us-gov-west-1"
    );
}

#[test]
fn govcloud_requires_gov_shard() {
    assert_eq!(
        error(&gov("")),
        r#"workflows/bad.toml: databricks.gov_shard: required for GovCloud region us-gov-west-1: set gov_shard = "civilian" or "dod" (the Databricks GovCloud deployment of your account)"#
    );
    assert_eq!(kinds(&gov("")), [DiagnosticKind::MissingKey]);
}

#[test]
fn govcloud_east_is_rejected_clearly() {
    let text = gov("gov_shard = \"civilian\"").replace("us-gov-west-1", "us-gov-east-1");
    assert_eq!(
        error(&text),
        "workflows/bad.toml:5:10: aws.region: Databricks serverless private connectivity in GovCloud is documented for us-gov-west-1 only, found us-gov-east-1"
    );
}

#[test]
fn commercial_principal_follows_the_region() {
    let w = ok(&edit(&[(5, "region = \"eu-central-1\"")]));
    assert_eq!(
        w.databricks.principal_arn,
        "arn:aws:iam::565502421330:role/private-connectivity-role-eu-central-1"
    );
}

#[test]
fn a_wildcard_principal_can_never_be_produced() {
    // Through the file: wildcards and odd characters never get past the region check.
    for region in [
        "*",
        "us-east-*",
        "us-*-1",
        "us-east-1*",
        "us-east-1/*",
        "arn:aws:*",
    ] {
        let text = edit(&[(5, &format!("region = \"{region}\""))]);
        let errors = errors(&text);
        assert!(errors[0].contains("aws.region"), "{errors:?}");
    }
    // Through the API: every region that validates yields a scoped role ARN.
    let mut regions: Vec<String> = Vec::new();
    for prefix in [
        "us", "eu", "ap", "ca", "sa", "me", "af", "il", "mx", "xx", "cn",
    ] {
        for direction in [
            "east",
            "west",
            "central",
            "southeast",
            "northeast",
            "north",
            "south",
        ] {
            for n in 1..=9 {
                regions.push(format!("{prefix}-{direction}-{n}"));
                regions.push(format!("{prefix}-gov-{direction}-{n}"));
            }
        }
    }
    let mut produced = 0;
    for name in &regions {
        let Ok(region) = Region::new(name) else {
            continue;
        };
        for shard in [None, Some(GovShard::Civilian), Some(GovShard::Dod)] {
            if let Ok(arn) = databricks_principal(&region, shard) {
                produced += 1;
                assert!(!arn.contains('*'), "{arn}");
                assert!(
                    arn.starts_with("arn:aws:iam::565502421330:role/private-connectivity-role-")
                        || arn.starts_with("arn:aws-us-gov:iam::3470"),
                    "{arn}"
                );
                assert!(
                    arn.ends_with(&format!("private-connectivity-role-{region}")),
                    "{arn}"
                );
            }
        }
    }
    assert!(produced > 100, "{produced}");
}

// ---------------------------------------------------------------------------------------------
// Files: missing, unreadable, not UTF-8, policy files

#[test]
fn missing_file_has_its_own_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let error = config::load(&path).unwrap_err();
    assert!(matches!(error, ConfigError::NotFound { .. }));
    assert_eq!(
        error.to_string(),
        format!("{}: workflow file not found", path.display())
    );
    assert!(error.diagnostics().is_empty());
}

#[test]
fn a_directory_is_unreadable_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let error = config::load(dir.path()).unwrap_err();
    assert!(matches!(error, ConfigError::Unreadable { .. }), "{error:?}");
    assert!(
        error.to_string().starts_with(&format!(
            "{}: cannot read workflow file: ",
            dir.path().display()
        )),
        "{error}"
    );
}

#[test]
fn non_utf8_file_reports_the_position_of_the_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.toml");
    fs::write(&path, b"[deployment]\nname = \"d\xe9mo\"\n").unwrap();
    let error = config::load(&path).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}:2:10: workflow file is not valid UTF-8 (TOML files must be UTF-8)",
            path.display()
        )
    );
}

#[test]
fn load_reports_the_path_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    fs::write(&path, edit(&[(2, "name = 5")])).unwrap();
    assert_eq!(
        config::load(&path).unwrap_err().to_string(),
        format!(
            "{}:2:8: deployment.name: expected a string, found an integer",
            path.display()
        )
    );
}

/// Writes a workflow with `policy_file = "<policy_name>"` and, if given, the policy itself.
fn with_policy(policy_name: &str, policy: Option<&[u8]>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wf.toml");
    fs::write(
        &path,
        append(&format!("[endpoint]\npolicy_file = \"{policy_name}\"\n")),
    )
    .unwrap();
    if let Some(policy) = policy {
        fs::write(dir.path().join(policy_name), policy).unwrap();
    }
    (dir, path)
}

#[test]
fn policy_file_is_resolved_against_the_workflow_file_and_minified() {
    let (dir, path) = with_policy(
        "policy.json",
        Some(b"{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [ { \"Sid\": \"a b\" } ]\n}\n"),
    );
    let w = config::load(&path).unwrap();
    let policy = w.endpoint.policy.unwrap();
    assert_eq!(policy.path, dir.path().join("policy.json"));
    assert_eq!(
        policy.json,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"a b"}]}"#
    );
}

#[test]
fn policy_file_errors() {
    let cases: &[(Option<&[u8]>, &str)] = &[
        (None, "not found"),
        (
            Some(b"{ \"Version\": "),
            "is not valid JSON: EOF while parsing a value at line 1 column 13",
        ),
        (
            Some(b"[1, 2]"),
            "must contain a JSON object (an IAM policy document), found an array",
        ),
        (Some(b"\xff"), "is not valid UTF-8"),
    ];
    for (content, expected) in cases {
        let (dir, path) = with_policy("policy.json", *content);
        let policy = dir.path().join("policy.json");
        let error = config::load(&path).unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "{}:13:15: endpoint.policy_file: policy file {} {expected}",
                path.display(),
                policy.display()
            )
        );
    }
}

#[test]
fn policy_file_size_is_limited() {
    let statement = format!("{{\"Sid\":\"{}\"}}", "x".repeat(config::MAX_POLICY_CHARS));
    let big = format!("{{\"Statement\":[{statement}]}}");
    let (_dir, path) = with_policy("big.json", Some(big.as_bytes()));
    let error = config::load(&path).unwrap_err().to_string();
    assert!(
        error.ends_with("characters minified; AWS allows at most 20480"),
        "{error}"
    );
}

#[test]
fn error_display_is_one_line_per_problem_and_never_panics_on_odd_input() {
    let odd = [
        "\u{feff}",
        "\0",
        "[deployment]\nname = \"\u{1F600}\"\n",
        "= = =",
        "[a.b.c.d.e.f]\n",
        "deployment = { name = [[[[[]]]]] }",
        &"[".repeat(10_000),
    ];
    for text in odd {
        let Err(error) = parse(text) else { continue };
        let rendered = error.to_string();
        assert_eq!(
            rendered.lines().count(),
            error.diagnostics().len(),
            "{rendered}"
        );
        assert!(
            rendered.lines().all(|line| line.starts_with(FILE)),
            "{rendered}"
        );
    }
}

#[test]
fn the_teardown_order_documented_in_the_readme_is_the_one_derived_from_the_graph() {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let line = readme
        .lines()
        .find_map(|l| l.strip_prefix("teardown order: "))
        .expect("README.md documents the teardown order");
    let documented: Vec<&str> = line.split(" → ").collect();
    let demo = plink::workflow::load(&workflows_dir().join("s3-privatelink.toml")).unwrap();
    assert_eq!(documented, demo.graph.teardown_order());
}

#[test]
fn the_teardown_graph_is_the_reverse_graph_through_nodes_with_nothing_to_tear_down() {
    let demo = plink::workflow::load(&workflows_dir().join("s3-privatelink.toml")).unwrap();
    let graph: BTreeMap<&str, Vec<&str>> = demo.graph.teardown_graph().into_iter().collect();
    let expected: BTreeMap<&str, Vec<&str>> = [
        // Its dependents (established, bind) tear nothing down: first.
        ("accept", vec![]),
        ("rule", vec!["down_connections"]),
        // bind depends on the NCC but tears nothing down: the NCC waits for the rule only.
        ("ncc", vec!["down_rule"]),
        ("endpoint_service", vec!["down_connections", "down_rule"]),
        ("listener", vec!["down_endpoint_service"]),
        // targets tear nothing down: the target group waits for the listener only.
        ("target_group", vec!["down_listener"]),
        (
            "load_balancer",
            vec!["down_endpoint_service", "down_listener"],
        ),
        ("endpoint", vec!["down_rule"]),
        ("security_group", vec!["down_endpoint"]),
    ]
    .into_iter()
    .collect();
    assert_eq!(graph, expected);
}
