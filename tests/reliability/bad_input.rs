//! Bad input suite: one table maps every kind of wrong input to its documented exit code.
//!
//! Each case runs `plink up` (or another command) against a private stack, reset before the case,
//! and checks: the exit code; that the message names what is wrong and where (file, line, key
//! path, setting, limit); no panic and no backtrace (`RUST_BACKTRACE=1` is set); and, as the case
//! says, that no cloud was called at all and no `.plink/` directory appeared (invalid workflow,
//! unreadable state, held lock), that nothing was created (zero mutating calls, no state file),
//! or that the state files are byte for byte what they were.
//!
//! Cases already covered elsewhere are not repeated: `tests/cli.rs` (missing AWS credentials,
//! truncated state for `up`/`status`, lock held for `up`/`unlock`), `tests/e2e/cli.rs` (unknown
//! `aws.vpcc`, bad subnet id, a concurrent `up`), `tests/workflow_files.rs` (every message of the
//! workflow parser, at the library level).

use std::any::Any;
use std::path::Path;

use plink::state::{StatePaths, StateStore};

use crate::common::{Emu, Stack};
use crate::common::{Plink, Run, Workdir, WorkflowSpec, repo_file};
use crate::scripted_server::{Reply, TestServer};
use crate::suite::{PHASES, Phase, no_panic, table};

/// What a case must leave behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaves {
    /// No call to either cloud, no `.plink/` directory: refused before anything (exit 3).
    NoCallNoDir,
    /// No mutating call and no state file (exit 8: nothing could be done).
    NoMutationNoState,
    /// No mutating call at all (a state file recording the failed step is fine).
    NoMutation,
    /// No call to either cloud; the state files are byte for byte what they were.
    NoCallStateUntouched,
}

/// What a case prepared: things that must live during the run, and environment changes.
#[derive(Default)]
struct Prepared {
    guard: Option<Box<dyn Any>>,
    /// `(name, Some(value))` sets, `(name, None)` removes.
    env: Vec<(String, Option<String>)>,
}

/// The workflow text of a case; only fixture-based texts look at the stack (then it is given).
type Text = Box<dyn Fn(Option<&Stack>) -> String>;
type Prepare = Box<dyn Fn(&Stack, &Workdir) -> Prepared>;

struct Case {
    name: &'static str,
    /// The command; the workflow file (`case.toml`) is appended.
    command: &'static str,
    workflow: Text,
    prepare: Option<Prepare>,
    code: i32,
    says: Vec<String>,
    leaves: Leaves,
}

// --- workflow texts -----------------------------------------------------------------------------

fn demo() -> String {
    repo_file("workflows/s3-privatelink.toml")
}

fn unchanged() -> Text {
    Box::new(|_| demo())
}

/// The demo with `old` replaced by `new` (which must be there).
fn edit(old: &'static str, new: impl Into<String>) -> Text {
    let new = new.into();
    Box::new(move |_| {
        let d = demo();
        assert!(d.contains(old), "the demo workflow has no {old:?}");
        d.replace(old, &new)
    })
}

/// The `s3-native` example with `old` replaced by `new` (which must be there).
fn s3_edit(old: &'static str, new: impl Into<String>) -> Text {
    let new = new.into();
    Box::new(move |_| {
        let d = repo_file("workflows/s3-native.toml");
        assert!(d.contains(old), "the s3-native example has no {old:?}");
        d.replace(old, &new)
    })
}

/// The `nlb-service` example with `old` replaced by `new` (which must be there).
fn service_edit(old: &'static str, new: impl Into<String>) -> Text {
    let new = new.into();
    Box::new(move |_| {
        let d = repo_file("workflows/nlb-service.toml");
        assert!(d.contains(old), "the nlb-service example has no {old:?}");
        d.replace(old, &new)
    })
}

fn append(more: &'static str) -> Text {
    Box::new(move |_| format!("{}\n{more}", demo()))
}

fn whole(text: &'static str) -> Text {
    Box::new(move |_| text.to_owned())
}

/// The demo with `aws.subnets` given by the ids of the named fixtures (`private-a`, `single-az`…).
fn subnets_by_fixture(names: &'static [&'static str]) -> Text {
    Box::new(move |stack| {
        let fx = stack
            .expect("a fixture-based workflow needs the stack")
            .fixtures(Emu::Aws);
        let ids: Vec<String> = names
            .iter()
            .map(|n| {
                format!(
                    "\"{}\"",
                    fx["regions"]["us-east-1"]["subnets"][n]["id"]
                        .as_str()
                        .expect("fixture subnet")
                )
            })
            .collect();
        demo().replace(
            "subnets = { tags = { plink-demo = \"private\" } }",
            &format!("subnets = {{ ids = [{}] }}", ids.join(", ")),
        )
    })
}

fn says(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| (*s).to_owned()).collect()
}

// --- preparations ---------------------------------------------------------------------------------

fn set_env(pairs: &[(&str, Option<&str>)]) -> Prepare {
    let pairs: Vec<(String, Option<String>)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
        .collect();
    Box::new(move |_, _| Prepared {
        guard: None,
        env: pairs.clone(),
    })
}

/// Writes `bytes` as the state file (and `bak` as its `.bak`).
fn state_file(bytes: Vec<u8>) -> Prepare {
    Box::new(move |_, wd| {
        let p = wd.state_path();
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &bytes).unwrap();
        std::fs::write(p.with_extension("json.bak"), b"{\"previous\": true}\n").unwrap();
        Prepared::default()
    })
}

/// A well-formed state file of `deployment` with `schema_version`.
fn state_json(deployment: &str, schema_version: u32) -> Vec<u8> {
    serde_json::to_vec_pretty(&serde_json::json!({
        "schema_version": schema_version,
        "lineage": "7d0c4a8e-0000-4000-8000-000000000001",
        "serial": 3,
        "deployment": deployment,
        "workflow": "s3-privatelink",
        "written_by": "plink 9.9.9",
        "updated_at": "2030-01-01T00:00:00Z",
        "steps": {"network": {"status": "done", "outputs": {"vpc_id": "vpc-0123456789abcdef0"},
                              "generation": 0, "updated_at": "2030-01-01T00:00:00Z"}},
        "future_field": {"from": "a newer plink"}
    }))
    .unwrap()
}

/// `n` NCCs in us-east-1 made out of band, so that the workflow's would be one too many.
fn fill_nccs(n: usize) -> Prepare {
    Box::new(move |stack, _| {
        let db = stack.databricks();
        for i in 0..n {
            stack
                .block_on(db.create_ncc(&format!("filler-{i}"), "us-east-1"))
                .expect("create a filler NCC");
        }
        Prepared::default()
    })
}

/// 30 rules (the per-region limit) on another NCC of us-east-1.
fn fill_rules() -> Prepare {
    Box::new(|stack, _| {
        let ncc = stack.create_ncc("filler-rules", "us-east-1");
        stack.fill_rules(&ncc, "us-east-1", 30);
        Prepared::default()
    })
}

/// An AWS endpoint that refuses every request as EC2 does for an unknown access key.
fn aws_refuses_credentials() -> Prepare {
    Box::new(|_, _| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = rt.block_on(TestServer::start(|_| {
            Reply::raw(
                401,
                "text/xml",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>\
                 <Code>AuthFailure</Code><Message>AWS was not able to validate the provided \
                 access credentials</Message></Error></Errors>\
                 <RequestID>2a5f8d1e-0000-4000-8000-000000000000</RequestID></Response>",
            )
        }));
        let url = server.url();
        Prepared {
            guard: Some(Box::new((server, rt))),
            env: vec![
                ("AWS_ENDPOINT_URL".into(), Some(url)),
                (
                    "AWS_ACCESS_KEY_ID".into(),
                    Some("AKIAIOSFODNN7EXAMPLE".into()),
                ),
            ],
        }
    })
}

/// Holds the deployment's lock, as another plink command would.
fn hold_lock() -> Prepare {
    Box::new(|_, wd| {
        let store = StateStore::open(
            StatePaths::for_deployment(wd.path(), "demo-s3"),
            "demo-s3",
            "s3-privatelink",
            "up",
        )
        .expect("take the lock");
        Prepared {
            guard: Some(Box::new(store)),
            env: Vec::new(),
        }
    })
}

// --- the table ------------------------------------------------------------------------------------

fn invalid(name: &'static str, workflow: Text, parts: &[&str]) -> Case {
    Case {
        name,
        command: "up",
        workflow,
        prepare: None,
        code: 3,
        says: says(parts),
        leaves: Leaves::NoCallNoDir,
    }
}

fn cases() -> Vec<Case> {
    let eleven_names = format!(
        "ncc = {{ name = \"plink-demo-ncc\" }}\ndomain_names = [{}]",
        (0..11)
            .map(|i| format!("\"a{i}.example.com\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut v = vec![
        // --- malformed workflow files: exit 3, nothing called, no .plink/ ---
        invalid(
            "type: workspace_ids is a string",
            edit(
                "workspace_ids = [1111111111111111]",
                "workspace_ids = \"1111111111111111\"",
            ),
            &["case.toml:25:17: databricks.workspace_ids: expected an array, found a string"],
        ),
        invalid(
            "type: nlb.cross_zone is a string",
            append("[nlb]\ncross_zone = \"yes\"\n"),
            &["case.toml:29:14: nlb.cross_zone: expected a boolean"],
        ),
        invalid(
            "syntax: unterminated string",
            edit("name = \"demo-s3\"", "name = \"demo-s3"),
            &["case.toml:13:16: invalid TOML"],
        ),
        invalid(
            "empty file",
            whole(""),
            &["case.toml: deployment: required key missing"],
        ),
        invalid(
            "missing [databricks]",
            whole(
                "[deployment]\nname = \"demo-s3\"\n\n[aws]\nregion = \"us-east-1\"\n\
                 vpc = { tags = { Name = \"plink-demo-vpc\" } }\n\
                 subnets = { tags = { plink-demo = \"private\" } }\n",
            ),
            &["case.toml: databricks: required key missing"],
        ),
        invalid(
            "unknown key: top-level table",
            append("[databrick]\nx = 1\n"),
            &["case.toml:28:2: databrick: unknown key; expected one of: kind, deployment, aws"],
        ),
        invalid(
            "unknown key: [deployment]",
            edit(
                "name = \"demo-s3\"",
                "name = \"demo-s3\"\nregion = \"us-east-1\"",
            ),
            &["case.toml:14:1: deployment.region: unknown key; expected: name"],
        ),
        invalid(
            "unknown key: inline table aws.vpc",
            edit(
                "vpc = { tags = { Name = \"plink-demo-vpc\" } }",
                "vpc = { tags = { Name = \"plink-demo-vpc\" }, idd = \"vpc-0123456789abcdef0\" }",
            ),
            &["case.toml:17:45: aws.vpc.idd: unknown key; expected one of: id, tags"],
        ),
        invalid(
            "unknown key: databricks.ncc",
            edit(
                "ncc = { name = \"plink-demo-ncc\" }",
                "ncc = { name = \"plink-demo-ncc\", nmae = \"x\" }",
            ),
            &["case.toml:26:34: databricks.ncc.nmae: unknown key; expected one of: name, id"],
        ),
        invalid(
            "unknown key: [timeouts]",
            append("[timeouts]\nendpoints = \"10m\"\n"),
            &["case.toml:29:1: timeouts.endpoints: unknown key; expected one of: endpoint"],
        ),
        invalid(
            "region: not a region",
            edit("region = \"us-east-1\"", "region = \"us-east\""),
            &[
                "case.toml:16:10: aws.region: expected an AWS region like \"us-east-1\", found \"us-east\"",
            ],
        ),
        invalid(
            "region: upper case",
            edit("region = \"us-east-1\"", "region = \"US-EAST-1\""),
            &[
                "case.toml:16:10: aws.region: expected an AWS region",
                "found \"US-EAST-1\"",
            ],
        ),
        invalid(
            "region: unsupported partition",
            edit("region = \"us-east-1\"", "region = \"cn-north-1\""),
            &["case.toml:16:10: aws.region: AWS China regions are not supported"],
        ),
        invalid(
            "id: VPC id",
            edit(
                "vpc = { tags = { Name = \"plink-demo-vpc\" } }",
                "vpc = { id = \"vpc-xyz\" }",
            ),
            &[
                "case.toml:17:14: aws.vpc.id: expected a VPC id like \"vpc-0123456789abcdef0\", found \"vpc-xyz\"",
            ],
        ),
        invalid(
            "id: negative workspace id",
            edit("workspace_ids = [1111111111111111]", "workspace_ids = [-5]"),
            &[
                "case.toml:25:18: databricks.workspace_ids[0]: expected a positive workspace id, found -5",
            ],
        ),
        invalid(
            "id: no workspace",
            edit("workspace_ids = [1111111111111111]", "workspace_ids = []"),
            &["databricks.workspace_ids: expected at least one workspace id"],
        ),
        invalid(
            "id: security group id",
            edit(
                "policy_file = \"s3-endpoint-policy.json\"",
                "policy_file = \"s3-endpoint-policy.json\"\nsecurity_group_ids = [\"sg-zz\"]",
            ),
            &["case.toml:23:23: endpoint.security_group_ids[0]: expected a security group id"],
        ),
        invalid(
            "name: NCC name",
            edit(
                "ncc = { name = \"plink-demo-ncc\" }",
                "ncc = { name = \"a b\" }",
            ),
            &["case.toml:26:16: databricks.ncc.name: expected an NCC name of 3-30"],
        ),
        invalid(
            "name: deployment name",
            edit("name = \"demo-s3\"", "name = \"Demo S3!\""),
            &["case.toml:13:8: deployment.name: expected a deployment name"],
        ),
        invalid(
            "subnets: empty id list",
            edit(
                "subnets = { tags = { plink-demo = \"private\" } }",
                "subnets = { ids = [] }",
            ),
            &[
                "case.toml:18:19: aws.subnets.ids: expected at least 2 subnets in different availability zones",
            ],
        ),
        invalid(
            "more than 10 domain names",
            edit("ncc = { name = \"plink-demo-ncc\" }", eleven_names),
            &[
                "databricks.domain_names: at most 10 domain names per rule (Databricks limit), found 11",
            ],
        ),
        invalid(
            "duration: unknown unit",
            append("[timeouts]\nendpoint = \"10 parsecs\"\n"),
            &[
                "case.toml:29:12: timeouts.endpoint: expected a duration",
                "unknown time unit \"parsecs\"",
            ],
        ),
        invalid(
            "policy file missing",
            edit(
                "policy_file = \"s3-endpoint-policy.json\"",
                "policy_file = \"nope.json\"",
            ),
            &["case.toml:22:15: endpoint.policy_file: policy file nope.json not found"],
        ),
        // --- nlb-service (issue #10) ---
        invalid(
            "nlb-service: a port out of range",
            service_edit("ports = [5432]", "ports = [70000]"),
            &["case.toml:23:10: service.ports[0]: expected a port from 1 to 65535, found 70000"],
        ),
        invalid(
            "nlb-service: 11 domain names",
            service_edit(
                "domain_names = [\"pg.plink-demo.internal\"]",
                format!(
                    "domain_names = [{}]",
                    (0..11)
                        .map(|i| format!("\"pg{i}.plink-demo.internal\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            &[
                "databricks.domain_names: at most 10 domain names per rule (Databricks limit), found 11",
            ],
        ),
        Case {
            name: "nlb-service: a target IP outside the VPC",
            command: "up",
            workflow: service_edit("\"10.20.2.50\"", "\"10.99.2.50\""),
            prepare: None,
            code: 4,
            says: says(&[
                "case.toml:24:34: service.targets.ips[1]: 10.99.2.50 is outside VPC vpc-",
                "(10.20.0.0/16)",
            ]),
            leaves: Leaves::NoMutation,
        },
        Case {
            name: "nlb-service: an unknown RDS identifier",
            command: "up",
            workflow: service_edit(
                "ips = [\"10.20.1.50\", \"10.20.2.50\"]",
                "rds_instance = \"no-such-db\"",
            ),
            prepare: None,
            code: 4,
            says: says(&[
                "case.toml:24:28: service.targets.rds_instance: RDS DB instance no-such-db does not exist in us-east-1",
            ]),
            leaves: Leaves::NoMutation,
        },
        Case {
            name: "nlb-service: an unknown instance id",
            command: "up",
            workflow: service_edit(
                "ips = [\"10.20.1.50\", \"10.20.2.50\"]",
                "instances = [\"i-0123456789abcdef0\"]",
            ),
            prepare: None,
            code: 4,
            says: says(&[
                "case.toml:24:26: service.targets.instances[0]: instance i-0123456789abcdef0 does not exist in us-east-1",
            ]),
            leaves: Leaves::NoMutation,
        },
        // --- s3-native (issue #10) ---
        invalid(
            "s3-native: a bucket name S3 refuses",
            s3_edit("\"plink-demo-logs\"", "\"Plink_Logs\""),
            &["case.toml:20:31: s3.buckets[1]: expected an S3 bucket name like \"my-data-bucket\""],
        ),
        invalid(
            "s3-native: domain names on an S3 rule",
            s3_edit(
                "ncc = { name = \"plink-demo-s3n-ncc\" }",
                "ncc = { name = \"plink-demo-s3n-ncc\" }\ndomain_names = [\"s3.example.com\"]",
            ),
            &["databricks.domain_names: not taken by kind \"s3-native\""],
        ),
        invalid(
            "s3-native: a VPC in [aws]",
            s3_edit(
                "region = \"us-east-1\"",
                "region = \"us-east-1\"\nvpc = { tags = { Name = \"plink-demo-vpc\" } }",
            ),
            &["aws.vpc: unknown key; expected one of: region, profile, role_arn"],
        ),
        invalid(
            "s3-native: an unknown bucket_policy mode",
            s3_edit("bucket_policy = \"manage\"", "bucket_policy = \"write\""),
            &["s3.bucket_policy: expected \"manage\" or \"print\", found \"write\""],
        ),
        Case {
            name: "s3-native: a bucket in another region",
            command: "up",
            workflow: s3_edit("\"plink-demo-logs\"", "\"plink-demo-west\""),
            prepare: None,
            code: 4,
            says: says(&[
                "case.toml:20:31: s3.buckets[1]: bucket plink-demo-west is in us-west-2, the deployment in us-east-1",
            ]),
            leaves: Leaves::NoMutation,
        },
        Case {
            name: "s3-native: a bucket that does not exist",
            command: "up",
            workflow: s3_edit("\"plink-demo-logs\"", "\"plink-no-such-bucket\""),
            prepare: None,
            code: 4,
            says: says(&["s3.buckets[1]: bucket plink-no-such-bucket does not exist"]),
            leaves: Leaves::NoMutation,
        },
        // --- semantically wrong, found in the cloud before anything is created: exit 4 ---
        Case {
            name: "VPC: tag matches nothing",
            command: "up",
            workflow: edit("Name = \"plink-demo-vpc\"", "Name = \"no-such-vpc\""),
            prepare: None,
            code: 4,
            says: says(&[
                "finding the VPC (aws.vpc)",
                "no VPC in us-east-1 matches tags Name=no-such-vpc",
            ]),
            leaves: Leaves::NoMutation,
        },
        Case {
            name: "VPC: id does not exist",
            command: "up",
            workflow: edit(
                "vpc = { tags = { Name = \"plink-demo-vpc\" } }",
                "vpc = { id = \"vpc-0123456789abcdef0\" }",
            ),
            prepare: None,
            code: 4,
            says: says(&["finding the VPC (aws.vpc)", "vpc-0123456789abcdef0"]),
            leaves: Leaves::NoMutation,
        },
        Case {
            name: "subnets: tag matches nothing",
            command: "up",
            workflow: edit("plink-demo = \"private\"", "plink-demo = \"nowhere\""),
            prepare: None,
            code: 4,
            says: says(&[
                "finding the subnets (aws.subnets)",
                "matches tags plink-demo=nowhere",
            ]),
            leaves: Leaves::NoMutation,
        },
        Case {
            name: "subnets: a single AZ (tag)",
            command: "up",
            workflow: edit("plink-demo = \"private\"", "plink-demo = \"single-az\""),
            prepare: None,
            code: 4,
            says: says(&[
                "in a single availability zone (us-east-1a)",
                "at least two availability zones",
            ]),
            leaves: Leaves::NoMutation,
        },
        Case {
            name: "subnets: two in one AZ (ids)",
            command: "up",
            workflow: subnets_by_fixture(&["private-a", "single-az"]),
            prepare: None,
            code: 4,
            says: says(&["are all in us-east-1a", "one subnet per AZ in aws.subnets"]),
            leaves: Leaves::NoMutation,
        },
        Case {
            name: "quota: an 11th NCC in the region",
            command: "up",
            workflow: unchanged(),
            prepare: Some(fill_nccs(10)),
            code: 4,
            says: says(&["already has 10 NCCs in us-east-1 (limit 10)"]),
            leaves: Leaves::NoMutation,
        },
        Case {
            name: "quota: a 31st rule in the region",
            command: "up",
            workflow: unchanged(),
            prepare: Some(fill_rules()),
            code: 4,
            says: says(&[
                "already has 30 private endpoint rules in us-east-1 (limit 30, shared by the region's NCCs: 30 in NCC filler-rules)",
            ]),
            leaves: Leaves::NoMutation,
        },
        Case {
            name: "workspace in another region",
            command: "up",
            workflow: edit(
                "workspace_ids = [1111111111111111]",
                "workspace_ids = [3333333333333333]",
            ),
            prepare: None,
            code: 4,
            says: says(&["workspace 3333333333333333 is in us-west-2, the NCC in us-east-1"]),
            leaves: Leaves::NoMutation,
        },
        Case {
            name: "workspace does not exist",
            command: "up",
            workflow: edit(
                "workspace_ids = [1111111111111111]",
                "workspace_ids = [4444444444444444]",
            ),
            prepare: None,
            code: 4,
            says: says(&[
                "workspace 4444444444444444 does not exist",
                "databricks.workspace_ids",
            ]),
            leaves: Leaves::NoMutation,
        },
        // --- credentials: exit 8, nothing created, no state file ---
        Case {
            name: "AWS: credentials refused (AuthFailure)",
            command: "up",
            workflow: unchanged(),
            prepare: Some(aws_refuses_credentials()),
            code: 8,
            says: says(&["AWS:", "AuthFailure"]),
            leaves: Leaves::NoMutationNoState,
        },
        Case {
            name: "Databricks: wrong client secret",
            command: "up",
            workflow: unchanged(),
            prepare: Some(set_env(&[(
                "DATABRICKS_CLIENT_SECRET",
                Some("not-the-secret"),
            )])),
            code: 8,
            says: says(&[
                "Databricks: authentication failed for client_id",
                "invalid_client",
            ]),
            leaves: Leaves::NoMutationNoState,
        },
        Case {
            name: "Databricks: no client secret",
            command: "up",
            workflow: unchanged(),
            prepare: Some(set_env(&[("DATABRICKS_CLIENT_SECRET", None)])),
            code: 8,
            says: says(&["Databricks: no client_secret", "DATABRICKS_CLIENT_SECRET"]),
            leaves: Leaves::NoMutationNoState,
        },
        Case {
            name: "Databricks: wrong account id",
            command: "up",
            workflow: unchanged(),
            prepare: Some(set_env(&[(
                "DATABRICKS_ACCOUNT_ID",
                Some("00000000-0000-4000-8000-000000000000"),
            )])),
            code: 8,
            says: says(&["Databricks: authentication failed"]),
            leaves: Leaves::NoMutationNoState,
        },
        Case {
            name: "Databricks: no host",
            command: "up",
            workflow: unchanged(),
            prepare: Some(set_env(&[("DATABRICKS_HOST", None)])),
            code: 8,
            says: says(&["Databricks:", "DATABRICKS_HOST"]),
            leaves: Leaves::NoMutationNoState,
        },
        // --- state files: exit 7, untouched; lock: exit 6 ---
        Case {
            name: "state: corrupt (binary garbage)",
            command: "up",
            workflow: unchanged(),
            prepare: Some(state_file(vec![0xff, 0xfe, 0x00, 0x7b, 0x22, 0x13, 0x37])),
            code: 7,
            says: says(&["state.json", "not valid JSON"]),
            leaves: Leaves::NoCallStateUntouched,
        },
        Case {
            name: "state: empty file",
            command: "up",
            workflow: unchanged(),
            prepare: Some(state_file(Vec::new())),
            code: 7,
            says: says(&["state.json", "truncated or empty"]),
            leaves: Leaves::NoCallStateUntouched,
        },
        Case {
            name: "state: JSON but not a state file",
            command: "up",
            workflow: unchanged(),
            prepare: Some(state_file(b"{\"hello\": [1, 2, 3]}\n".to_vec())),
            code: 7,
            says: says(&["state.json", "not a plink state file"]),
            leaves: Leaves::NoCallStateUntouched,
        },
        Case {
            name: "state: truncated (status)",
            command: "status",
            workflow: unchanged(),
            prepare: Some(state_file(state_json("demo-s3", 1)[..120].to_vec())),
            code: 7,
            says: says(&["state.json", "truncated"]),
            leaves: Leaves::NoCallStateUntouched,
        },
        Case {
            name: "state: newer schema",
            command: "up",
            workflow: unchanged(),
            prepare: Some(state_file(state_json("demo-s3", 2))),
            code: 7,
            says: says(&["state.json", "newer plink"]),
            leaves: Leaves::NoCallStateUntouched,
        },
        Case {
            name: "state: newer schema (status)",
            command: "status",
            workflow: unchanged(),
            prepare: Some(state_file(state_json("demo-s3", 2))),
            code: 7,
            says: says(&["state.json", "newer plink"]),
            leaves: Leaves::NoCallStateUntouched,
        },
        Case {
            name: "state: another deployment's",
            command: "up",
            workflow: unchanged(),
            prepare: Some(state_file(state_json("other-deployment", 1))),
            code: 7,
            says: says(&["state.json", "other-deployment"]),
            leaves: Leaves::NoCallStateUntouched,
        },
        Case {
            name: "lock held by another command",
            command: "up",
            workflow: unchanged(),
            prepare: Some(hold_lock()),
            code: 6,
            says: says(&["locked by `plink up`", "plink unlock"]),
            leaves: Leaves::NoCallStateUntouched,
        },
    ];
    // `down` refuses unreadable state the same way once it exists.
    if PHASES.contains(&Phase::Down) {
        v.push(Case {
            name: "state: newer schema (down)",
            command: "down",
            workflow: unchanged(),
            prepare: Some(state_file(state_json("demo-s3", 2))),
            code: 7,
            says: says(&["state.json", "newer plink"]),
            leaves: Leaves::NoCallStateUntouched,
        });
        v.push(Case {
            name: "state: corrupt (down)",
            command: "down",
            workflow: unchanged(),
            prepare: Some(state_file(b"{\"schema_version\": 1, \"lin".to_vec())),
            code: 7,
            says: says(&["state.json", "truncated"]),
            leaves: Leaves::NoCallStateUntouched,
        });
    }
    v
}

/// Every file under `dir`, with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(snapshot(&p));
            } else if !p.to_string_lossy().ends_with(".lock") {
                out.push((
                    p.display().to_string(),
                    std::fs::read(&p).unwrap_or_default(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// Runs one case on a reset stack; returns its run and what is wrong with it.
fn run_case(stack: &Stack, case: &Case) -> (Run, Vec<String>) {
    stack.reset();
    let wd = Workdir::new(WorkflowSpec::default());
    wd.write("case.toml", &(case.workflow)(Some(stack)));
    let prepared = case
        .prepare
        .as_ref()
        .map(|p| p(stack, &wd))
        .unwrap_or_default();
    let plink_dir = wd.path().join(".plink");
    let before = snapshot(&plink_dir);
    let had_dir = plink_dir.exists();
    stack.clear_all_calls();

    let run = prepared
        .env
        .iter()
        .fold(
            stack.plink(&wd).args([case.command, "case.toml"]),
            |p, (k, v)| p.env_opt(k, v.as_deref()),
        )
        .run();
    drop(prepared.guard);

    let mut wrong = Vec::new();
    if run.code != Some(case.code) {
        wrong.push(format!("exit {:?}, expected {}", run.code, case.code));
    }
    if let Err(e) = no_panic(&run) {
        wrong.push(e);
    }
    for part in &case.says {
        if !run.stderr.contains(part.as_str()) {
            wrong.push(format!("the message does not say {part:?}"));
        }
    }
    let calls: Vec<_> = stack
        .calls(Emu::Aws)
        .into_iter()
        .chain(stack.calls(Emu::Databricks))
        .collect();
    let mutating: Vec<String> = calls
        .iter()
        .filter(|c| c.mutating)
        .map(ToString::to_string)
        .collect();
    let state_exists = wd.state_path().exists();
    match case.leaves {
        Leaves::NoCallNoDir => {
            if !calls.is_empty() {
                wrong.push(format!("{} cloud call(s) were made", calls.len()));
            }
            if plink_dir.exists() && !had_dir {
                wrong.push(".plink/ was created".into());
            }
        }
        Leaves::NoMutationNoState => {
            if !mutating.is_empty() {
                wrong.push(format!("mutating calls: {mutating:?}"));
            }
            if state_exists {
                wrong.push("a state file was written".into());
            }
        }
        Leaves::NoMutation => {
            if !mutating.is_empty() {
                wrong.push(format!("mutating calls: {mutating:?}"));
            }
        }
        Leaves::NoCallStateUntouched => {
            if !calls.is_empty() {
                wrong.push(format!("{} cloud call(s) were made", calls.len()));
            }
            if snapshot(&plink_dir) != before {
                wrong.push("the state files changed".into());
            }
        }
    }
    (run, wrong)
}

#[test]
fn bad_input_each_case_gets_its_documented_exit_code_a_clear_message_and_touches_nothing() {
    let stack = Stack::start();
    let cases = cases();
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for case in &cases {
        let (run, wrong) = run_case(&stack, case);
        let first_error = run
            .stderr
            .lines()
            .find(|l| l.starts_with("plink: error:") || l.contains("failed:"))
            .unwrap_or("")
            .chars()
            .take(90)
            .collect::<String>();
        rows.push(vec![
            case.name.to_owned(),
            case.command.to_owned(),
            case.code.to_string(),
            run.code.map_or("-".into(), |c| c.to_string()),
            if wrong.is_empty() {
                "ok".into()
            } else {
                "FAIL".into()
            },
            first_error,
        ]);
        if !wrong.is_empty() {
            failures.push(format!(
                "{}:\n  - {}\n{}",
                case.name,
                wrong.join("\n  - "),
                run.transcript()
            ));
        }
    }
    eprintln!(
        "\nbad input suite: {} case(s), {} failure(s)\n{}",
        cases.len(),
        failures.len(),
        table(&["case", "cmd", "expected", "exit", "", "message"], &rows)
    );
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn bad_input_invalid_workflows_give_the_same_answer_from_validate_without_any_environment() {
    // `validate` needs no cloud and no credentials: the same files, the same exit 3 and message.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s3-endpoint-policy.json"),
        repo_file("workflows/s3-endpoint-policy.json"),
    )
    .unwrap();
    let cases: Vec<Case> = cases().into_iter().filter(|c| c.code == 3).collect();
    assert!(cases.len() >= 20, "{}", cases.len());
    for case in &cases {
        let (name, text, says) = (case.name, (case.workflow)(None), &case.says);
        std::fs::write(dir.path().join("case.toml"), text).unwrap();
        // No cloud, no credentials: only PATH, HOME and the harness's hermetic basics.
        let out = Plink::new(dir.path()).args(["validate", "case.toml"]).run();
        let stderr = &out.stderr;
        assert_eq!(out.code, Some(3), "{name}: {stderr}");
        for part in says {
            assert!(
                stderr.contains(part.as_str()),
                "{name}: {part:?} not in {stderr}"
            );
        }
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(out.stdout.is_empty(), "{name}");
        assert!(!dir.path().join(".plink").exists(), "{name}");
    }
}
