//! One deployment of the demo workflow against a private local stack, driven through the
//! `plink` binary: a temporary working directory holding a copy of
//! `workflows/s3-privatelink.toml` and its policy file, the stack's exports, and scaled waits.
//! Out-of-band changes are made with the crate's own clients ([`Deployment::aws`],
//! [`Deployment::databricks`]).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use plink::aws::AwsClients;
use plink::databricks::{AccountClient, Secret, Settings, resolve};
use serde_json::Value;

use super::support_aws::LocalStack;

/// A deployment of the demo workflow on its own local stack (stopped on drop).
pub struct Deployment {
    pub stack: LocalStack,
    pub dir: tempfile::TempDir,
    pub workflow: PathBuf,
}

/// What one `plink` command did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Both streams, for assertion messages.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Stdout as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

impl Deployment {
    /// Starts a stack and copies the demo workflow into a fresh working directory.
    pub fn new() -> Self {
        let stack = LocalStack::start();
        let dir = tempfile::Builder::new()
            .prefix("plink-plan-test-")
            .tempdir()
            .expect("temp dir");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
        std::fs::copy(
            root.join("s3-endpoint-policy.json"),
            dir.path().join("s3-endpoint-policy.json"),
        )
        .expect("copy the policy file");
        let workflow = dir.path().join("s3-privatelink.toml");
        std::fs::copy(root.join("s3-privatelink.toml"), &workflow).expect("copy the workflow");
        Self {
            stack,
            dir,
            workflow,
        }
    }

    /// Runs `plink ARGS WORKFLOW` in the working directory with the stack's environment.
    pub fn plink(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_plink"));
        cmd.args(args)
            .arg(&self.workflow)
            .current_dir(self.dir.path())
            .env("PLINK_WAIT_SCALE", "200")
            // No user configuration leaks in (profiles, ~/.aws, ~/.databrickscfg).
            .env("HOME", self.dir.path())
            .env_remove("AWS_PROFILE")
            .env_remove("DATABRICKS_CONFIG_PROFILE")
            .env_remove("DATABRICKS_TOKEN");
        for (k, v) in self.stack.exports() {
            cmd.env(k, v);
        }
        Run::from(cmd.output().expect("run plink"))
    }

    /// `plink up EXTRA…`, which must succeed.
    pub fn up(&self, extra: &[&str]) {
        let mut args = vec!["up"];
        args.extend_from_slice(extra);
        let run = self.plink(&args);
        assert_eq!(run.code, 0, "plink up {extra:?}: {}", run.text());
    }

    /// `plink plan --json EXTRA…`: the exit code and the plan.
    pub fn plan(&self, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["plan", "--json"];
        args.extend_from_slice(extra);
        let run = self.plink(&args);
        (run.code, run.json())
    }

    /// `plink status --json`'s live drift lines.
    pub fn drift(&self) -> Vec<String> {
        let run = self.plink(&["status", "--json"]);
        assert_eq!(run.code, 0, "plink status: {}", run.text());
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

    /// The state file's path.
    pub fn state_path(&self) -> PathBuf {
        self.dir.path().join(".plink/demo-s3/state.json")
    }

    /// What step `step` recorded under `key`.
    pub fn output(&self, step: &str, key: &str) -> Value {
        let text = std::fs::read_to_string(self.state_path()).expect("state file");
        let state: Value = serde_json::from_str(&text).expect("state JSON");
        state["steps"][step]["outputs"][key].clone()
    }

    /// [`output`](Self::output) as a string.
    pub fn output_str(&self, step: &str, key: &str) -> String {
        self.output(step, key)
            .as_str()
            .unwrap_or_else(|| panic!("{step}.{key} is not a string"))
            .to_owned()
    }

    /// AWS clients of the customer account.
    pub async fn aws(&self) -> AwsClients {
        self.stack.clients().await
    }

    /// A Databricks account client with the stack's service principal.
    pub fn databricks(&self) -> AccountClient {
        let settings = Settings {
            host: Some(self.stack.var("DATABRICKS_HOST").to_owned()),
            account_id: Some(self.stack.var("DATABRICKS_ACCOUNT_ID").to_owned()),
            client_id: Some(self.stack.var("DATABRICKS_CLIENT_ID").to_owned()),
            client_secret: Some(Secret::new(self.stack.var("DATABRICKS_CLIENT_SECRET"))),
            ..Settings::default()
        };
        let resolved = resolve(&settings, |_| None).expect("Databricks settings");
        AccountClient::new(&resolved).expect("Databricks client")
    }

    fn call_logs(&self) -> [String; 2] {
        [
            format!(
                "http://127.0.0.1:{}/_plink/calls",
                self.stack.var("PLINK_STACK_AWS_PORT")
            ),
            format!("{}/_plink/calls", self.stack.var("DATABRICKS_HOST")),
        ]
    }

    /// Empties both emulators' call logs.
    pub async fn clear_calls(&self) {
        for url in self.call_logs() {
            let resp = reqwest::Client::new()
                .delete(&url)
                .send()
                .await
                .expect("DELETE /_plink/calls");
            assert!(resp.status().is_success(), "{url}: {}", resp.status());
        }
    }

    /// The mutating calls in both emulators' logs since the last clear (`service action`).
    pub async fn mutating_calls(&self) -> Vec<String> {
        let mut found = Vec::new();
        for url in self.call_logs() {
            let calls: Vec<Value> = reqwest::Client::new()
                .get(&url)
                .send()
                .await
                .expect("GET /_plink/calls")
                .json()
                .await
                .expect("call log JSON");
            assert!(!calls.is_empty(), "{url}: no call logged at all");
            found.extend(
                calls
                    .iter()
                    .filter(|c| c["mutating"] == Value::Bool(true))
                    .map(|c| format!("{} {}", c["service"], c["action"])),
            );
        }
        found
    }
}

/// The planned action of `step` in a `plan --json` document.
pub fn action(plan: &Value, step: &str) -> String {
    step_of(plan, step)["action"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The planned detail of `step`.
pub fn detail(plan: &Value, step: &str) -> String {
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
pub fn changes(plan: &Value) -> Vec<String> {
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
