//! Running the `plink` binary against a stack: a temporary working directory holding the workflow
//! file (a copy of `workflows/s3-privatelink.toml` and its policy, with optional edits) and the
//! state (`.plink/<deployment>/`), a hermetic environment (the stack's exports, `HOME` in the
//! temp dir, `PLINK_WAIT_SCALE`), foreground runs with a deadline, and background runs that are
//! `kill -9`ed when a condition holds.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::stack::Stack;

/// `PLINK_WAIT_SCALE` given to plink: the stack runs on scaled time, so plink polls as fast.
pub const WAIT_SCALE: &str = "200";

/// How long a foreground `plink` may run before the test kills it and fails.
fn run_deadline() -> Duration {
    Duration::from_secs(
        std::env::var("PLINK_E2E_RUN_TIMEOUT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(120),
    )
}

// --- workflow files --------------------------------------------------------------------------------

/// Edits applied to the demo workflow (`workflows/s3-privatelink.toml`).
#[derive(Debug, Clone)]
pub struct WorkflowSpec {
    pub deployment: String,
    pub region: String,
    pub workspace_ids: Vec<i64>,
    /// `aws.subnets = { tags = { K = V } }`.
    pub subnets_tag: (String, String),
    /// `databricks.domain_names`; `None` keeps the default (the endpoint's DNS name).
    pub domain_names: Option<Vec<String>>,
    pub ncc_name: String,
}

impl Default for WorkflowSpec {
    fn default() -> Self {
        Self {
            deployment: "demo-s3".into(),
            region: "us-east-1".into(),
            workspace_ids: vec![1111111111111111],
            subnets_tag: ("plink-demo".into(), "private".into()),
            domain_names: None,
            ncc_name: "plink-demo-ncc".into(),
        }
    }
}

impl WorkflowSpec {
    /// The demo workflow moved to `region` (its VPC fixture exists there too) and `workspaces`.
    pub fn in_region(region: &str, workspaces: &[i64]) -> Self {
        Self {
            region: region.into(),
            workspace_ids: workspaces.to_vec(),
            ..Self::default()
        }
    }

    /// The TOML text of the edited demo workflow.
    pub fn render(&self) -> String {
        let demo = repo_file("workflows/s3-privatelink.toml");
        let mut doc: toml::Table = toml::from_str(&demo).expect("the demo workflow parses");
        let table = |doc: &mut toml::Table, name: &str| -> toml::Table {
            doc.get(name)
                .and_then(|v| v.as_table())
                .cloned()
                .unwrap_or_default()
        };
        let mut deployment = table(&mut doc, "deployment");
        deployment.insert("name".into(), self.deployment.clone().into());
        doc.insert("deployment".into(), deployment.into());

        let mut aws = table(&mut doc, "aws");
        aws.insert("region".into(), self.region.clone().into());
        let mut tags = toml::Table::new();
        tags.insert(
            self.subnets_tag.0.clone(),
            self.subnets_tag.1.clone().into(),
        );
        let mut subnets = toml::Table::new();
        subnets.insert("tags".into(), tags.into());
        aws.insert("subnets".into(), subnets.into());
        doc.insert("aws".into(), aws.into());

        let mut db = table(&mut doc, "databricks");
        db.insert(
            "workspace_ids".into(),
            toml::Value::Array(
                self.workspace_ids
                    .iter()
                    .map(|i| toml::Value::Integer(*i))
                    .collect(),
            ),
        );
        let mut ncc = toml::Table::new();
        ncc.insert("name".into(), self.ncc_name.clone().into());
        db.insert("ncc".into(), ncc.into());
        if let Some(names) = &self.domain_names {
            db.insert(
                "domain_names".into(),
                toml::Value::Array(names.iter().map(|n| n.clone().into()).collect()),
            );
        }
        doc.insert("databricks".into(), db.into());
        toml::to_string(&doc).expect("workflow serializes")
    }
}

/// A file of this repository.
pub fn repo_file(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// --- a working directory ----------------------------------------------------------------------------

/// A temporary working directory with a workflow file in it; plink runs there.
pub struct Workdir {
    dir: tempfile::TempDir,
    pub workflow: PathBuf,
    pub spec: WorkflowSpec,
}

impl Workdir {
    /// A working directory holding `spec`'s workflow (as `workflow.toml`) and the demo's policy
    /// file next to it.
    pub fn new(spec: WorkflowSpec) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("plink-e2e-work-")
            .tempdir()
            .expect("temp dir");
        std::fs::create_dir_all(dir.path().join("home")).expect("home dir");
        std::fs::write(
            dir.path().join("s3-endpoint-policy.json"),
            repo_file("workflows/s3-endpoint-policy.json"),
        )
        .expect("policy file");
        let workflow = dir.path().join("workflow.toml");
        std::fs::write(&workflow, spec.render()).expect("workflow file");
        Self {
            dir,
            workflow,
            spec,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes another file into the working directory; returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, text).expect("write file");
        p
    }

    /// The default state file: `.plink/<deployment>/state.json`.
    pub fn state_path(&self) -> PathBuf {
        self.path()
            .join(".plink")
            .join(&self.spec.deployment)
            .join("state.json")
    }

    /// The lock file next to the state.
    pub fn lock_path(&self) -> PathBuf {
        self.path()
            .join(".plink")
            .join(&self.spec.deployment)
            .join("state.json.lock")
    }

    /// The state file as JSON, if it exists and parses (writes are atomic renames).
    pub fn state(&self) -> Option<Value> {
        let text = std::fs::read_to_string(self.state_path()).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The state file, which must exist.
    pub fn state_required(&self) -> Value {
        self.state()
            .unwrap_or_else(|| panic!("no state at {}", self.state_path().display()))
    }

    /// The record of `step` in the state, if any.
    pub fn step(&self, step: &str) -> Option<Value> {
        self.state().and_then(|s| s["steps"].get(step).cloned())
    }

    /// An output of `step` as a string.
    pub fn output(&self, step: &str, key: &str) -> Option<String> {
        self.step(step).and_then(|r| {
            r["outputs"]
                .get(key)
                .and_then(|v| v.as_str().map(str::to_owned))
        })
    }

    /// The action of `step`'s pending intent, if any.
    pub fn intent(&self, step: &str) -> Option<String> {
        self.step(step)
            .and_then(|r| r["intent"]["action"].as_str().map(str::to_owned))
    }

    /// The recorded status of `step` (`pending`, `running`, `done`, `failed`).
    pub fn status_of(&self, step: &str) -> Option<String> {
        self.step(step)
            .and_then(|r| r["status"].as_str().map(str::to_owned))
    }

    /// The state's serial (0 if none).
    pub fn serial(&self) -> u64 {
        self.state().and_then(|s| s["serial"].as_u64()).unwrap_or(0)
    }
}

// --- runs ---------------------------------------------------------------------------------------------

/// What a plink run did.
#[derive(Debug, Clone)]
pub struct Run {
    pub args: Vec<String>,
    /// The exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    /// The signal that ended it, if any.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// Everything it printed, for assertion messages.
    pub fn transcript(&self) -> String {
        format!(
            "$ plink {}\n(exit {:?}, signal {:?}, {:.2}s)\n--- stdout ---\n{}--- stderr ---\n{}",
            self.args.join(" "),
            self.code,
            self.signal,
            self.elapsed.as_secs_f64(),
            self.stdout,
            self.stderr
        )
    }

    /// Panics with the transcript unless it exited with `code`.
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit {code}\n{}",
            self.transcript()
        );
        self
    }

    /// stdout as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.transcript()))
    }
}

fn exit_parts(status: ExitStatus) -> (Option<i32>, Option<i32>) {
    use std::os::unix::process::ExitStatusExt;
    (status.code(), status.signal())
}

/// A process running in the background, with its output collected.
pub struct Background {
    child: Option<Child>,
    args: Vec<String>,
    started: Instant,
    out: Option<JoinHandle<String>>,
    err: Option<JoinHandle<String>>,
    /// Whether we killed it (as opposed to it exiting by itself).
    pub killed: bool,
}

impl Background {
    /// Spawns `cmd` with stdout and stderr captured.
    pub fn spawn(mut cmd: Command, args: Vec<String>) -> Self {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn");
        let drain = |r: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut s = Vec::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_end(&mut s);
                }
                String::from_utf8_lossy(&s).into_owned()
            })
        };
        let out = drain(
            child
                .stdout
                .take()
                .map(|r| Box::new(r) as Box<dyn Read + Send>),
        );
        let err = drain(
            child
                .stderr
                .take()
                .map(|r| Box::new(r) as Box<dyn Read + Send>),
        );
        Self {
            child: Some(child),
            args,
            started: Instant::now(),
            out: Some(out),
            err: Some(err),
            killed: false,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Whether it has exited.
    pub fn exited(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => c.try_wait().map(|s| s.is_some()).unwrap_or(true),
            None => true,
        }
    }

    /// `kill -9` now (no-op if it already exited).
    pub fn kill9(&mut self) {
        if let Some(c) = self.child.as_mut()
            && c.try_wait().ok().flatten().is_none()
        {
            let _ = c.kill(); // SIGKILL
            self.killed = true;
        }
    }

    /// Sends SIGINT (what Ctrl-C sends) now.
    pub fn interrupt(&mut self) {
        let status = Command::new("kill")
            .args(["-INT", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -INT failed");
    }

    /// Polls `cond` every 5 ms; when it holds, `kill -9` the process and return true. Returns
    /// false if the process exited by itself first; panics after `timeout`.
    pub fn kill_when(
        &mut self,
        what: &str,
        timeout: Duration,
        mut cond: impl FnMut() -> bool,
    ) -> bool {
        let started = Instant::now();
        loop {
            if cond() {
                self.kill9();
                return self.killed;
            }
            if self.exited() {
                return false;
            }
            if started.elapsed() > timeout {
                self.kill9();
                let run = self.wait();
                panic!(
                    "timed out after {timeout:?} waiting for {what}\n{}",
                    run.transcript()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for it to exit (kills it after the run deadline) and returns what it did.
    pub fn wait(&mut self) -> Run {
        let deadline = run_deadline();
        let mut child = self.child.take().expect("waited once");
        let status = loop {
            if let Some(s) = child.try_wait().expect("try_wait") {
                break s;
            }
            if self.started.elapsed() > deadline {
                let _ = child.kill();
                let s = child.wait().expect("wait");
                let run = self.collect(s);
                panic!(
                    "still running after {deadline:?}; killed it\n{}",
                    run.transcript()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        self.collect(status)
    }

    fn collect(&mut self, status: ExitStatus) -> Run {
        let (code, signal) = exit_parts(status);
        let run = Run {
            args: self.args.clone(),
            code,
            signal,
            stdout: self
                .out
                .take()
                .map(|h| h.join().unwrap_or_default())
                .unwrap_or_default(),
            stderr: self
                .err
                .take()
                .map(|h| h.join().unwrap_or_default())
                .unwrap_or_default(),
            elapsed: self.started.elapsed(),
        };
        if std::env::var_os("PLINK_E2E_ECHO").is_some() {
            eprintln!("{}", run.transcript());
        }
        run
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Stack {
    /// A `plink` command in `wd` with a hermetic environment: only the stack's exports, `PATH`,
    /// `HOME` inside the working directory, `USER=plink-e2e`, `PLINK_WAIT_SCALE`.
    pub fn plink_command(&self, wd: &Workdir, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_plink"));
        cmd.args(args)
            .current_dir(wd.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", wd.path().join("home"))
            .env("USER", "plink-e2e")
            .env("PLINK_WAIT_SCALE", WAIT_SCALE)
            .env("NO_COLOR", "1")
            .env("RUST_BACKTRACE", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `plink ARGS` in `wd` to completion.
    pub fn plink(&self, wd: &Workdir, args: &[&str]) -> Run {
        self.spawn_plink(wd, args).wait()
    }

    /// Starts `plink ARGS` in `wd` in the background.
    pub fn spawn_plink(&self, wd: &Workdir, args: &[&str]) -> Background {
        let mut all: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        if std::env::var_os("PLINK_E2E_VERBOSE").is_some() {
            all.push("-vv".into());
        }
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        Background::spawn(self.plink_command(wd, &refs), all.clone())
    }

    /// `plink up <workflow>` in `wd`.
    pub fn up(&self, wd: &Workdir) -> Run {
        self.plink(wd, &["up", wd.workflow.to_str().expect("utf-8 path")])
    }

    /// `plink up <workflow>` in the background.
    pub fn spawn_up(&self, wd: &Workdir) -> Background {
        self.spawn_plink(wd, &["up", wd.workflow.to_str().expect("utf-8 path")])
    }

    /// `plink status <workflow> --json`, parsed.
    pub fn status_json(&self, wd: &Workdir) -> Value {
        let run = self.plink(
            wd,
            &[
                "status",
                wd.workflow.to_str().expect("utf-8 path"),
                "--json",
            ],
        );
        run.assert_code(0);
        run.json()
    }
}

/// The outputs of `step` in a `status --json` report.
pub fn status_outputs(report: &Value, step: &str) -> Value {
    report["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["step"] == step))
        .map(|s| s["outputs"].clone())
        .unwrap_or_else(|| panic!("no step {step} in the status report:\n{report:#}"))
}
