//! A private instance of the local cloud stack (`localstack/up` … `localstack/down`) per test,
//! and its control routes (`/_plink/faults`, `/_plink/calls`, `/_plink/config`, …).
//!
//! - [`Stack::start`] is the only way a test starts a stack: it waits for one of the
//!   `PLINK_E2E_STACKS` slots, runs `$PLINK_LOCALSTACK_DIR/up` with a private `PLINK_STACK_DIR`
//!   and the time scale `PLINK_E2E_TIME_SCALE`, and parses its `export K=V` lines.
//! - Dropping the stack runs `down` (also while a test panics, then with the stack's log tail),
//!   then frees the slot.
//! - A stack that cannot start (e.g. its Python dependencies are missing) FAILS the test with the
//!   `up` output and the log: `.ci/run` installs them, so a missing install is a real failure.
//! - The stack's helpers are synchronous and also work from `#[tokio::test]`s (they then run on
//!   the stack's own runtime from a helper thread).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::env::knobs;
use super::slots::Permit;

/// Which emulator a control route acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emu {
    Aws,
    Databricks,
}

/// One entry of `/_plink/calls`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Call {
    pub t: f64,
    pub service: String,
    pub action: String,
    pub method: String,
    pub path: String,
    pub status: Option<u16>,
    pub mutating: bool,
    pub fault: Option<String>,
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} -> {}{}",
            self.service,
            self.action,
            self.path,
            self.status.map_or("-".to_owned(), |s| s.to_string()),
            self.fault
                .as_deref()
                .map(|x| format!(" (fault {x})"))
                .unwrap_or_default()
        )
    }
}

pub struct Stack {
    /// The `export` lines of `up`, as a map.
    pub env: BTreeMap<String, String>,
    pub aws_port: u16,
    pub db_port: u16,
    localstack: PathBuf,
    run_dir: tempfile::TempDir,
    /// `None` only while dropping (shut down without blocking: a test may drop its stack inside
    /// an async runtime).
    rt: Option<tokio::runtime::Runtime>,
    http: reqwest::Client,
    // Declared last: the slot is freed only after `down` ran (Drop body) and the fields above.
    _permit: Permit,
}

impl Stack {
    /// Starts a private stack (waits for a free slot first). Panics with the `up` output and the
    /// stack log if it cannot start.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a private stack with extra environment for `up` (e.g. `PLINK_STACK_DELAYS`).
    pub fn start_with(extra_env: &[(&str, &str)]) -> Self {
        let permit = Permit::acquire();
        let localstack = knobs().localstack_dir.clone();
        let time_scale = knobs().time_scale.clone();
        let up = localstack.join("up");
        // The stack is part of the repository: its absence is a failure, never a skip.
        assert!(
            up.is_file(),
            "no local stack at {} (set PLINK_LOCALSTACK_DIR to a directory with an `up` script)",
            up.display()
        );
        let run_dir = tempfile::Builder::new()
            .prefix("plink-e2e-stack-")
            .tempdir()
            .expect("temp dir for the stack");
        let started = Instant::now();
        let mut cmd = Command::new(&up);
        cmd.env("PLINK_STACK_DIR", run_dir.path())
            .env("PLINK_STACK_TIME_SCALE", &time_scale)
            // Free ports, whatever the caller's environment says.
            .env_remove("PLINK_STACK_AWS_PORT")
            .env_remove("PLINK_STACK_DB_PORT")
            .env_remove("PLINK_STACK_DELAYS");
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", up.display()));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            let log = log_tail(run_dir.path(), 80);
            // Stop whatever may have started before failing.
            let _ = Command::new(localstack.join("down"))
                .env("PLINK_STACK_DIR", run_dir.path())
                .output();
            panic!(
                "the local stack did not start ({} exited with {}).\n\
                 If its Python dependencies are missing, install them with `{}` (`.ci/run` \
                 does).\n--- up stdout ---\n{stdout}\n--- up stderr ---\n{stderr}\n\
                 --- stack log ---\n{log}",
                up.display(),
                out.status,
                localstack.join("install").display()
            );
        }
        let env = parse_exports(&stdout);
        let port = |k: &str| -> u16 {
            env.get(k)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("`up` printed no {k}:\n{stdout}\n{stderr}"))
        };
        let (aws_port, db_port) = (port("PLINK_STACK_AWS_PORT"), port("PLINK_STACK_DB_PORT"));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        let stack = Stack {
            env,
            aws_port,
            db_port,
            localstack,
            run_dir,
            rt: Some(rt),
            http,
            _permit: permit,
        };
        eprintln!(
            "stack: up in {:.1}s (aws :{}, databricks :{}, time scale {time_scale})",
            started.elapsed().as_secs_f64(),
            stack.aws_port,
            stack.db_port
        );
        stack
    }

    /// An export of `up`, which must exist.
    pub fn var(&self, name: &str) -> &str {
        self.env
            .get(name)
            .unwrap_or_else(|| panic!("{name} not exported by localstack/up: {:?}", self.env))
    }

    /// The stack's run directory (`PLINK_STACK_DIR`: pid file, state.json, log).
    pub fn run_dir(&self) -> &Path {
        self.run_dir.path()
    }

    /// The last `lines` lines of the stack's log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(self.run_dir.path(), lines)
    }

    /// Runs `fut` on the stack's runtime (the tests themselves are synchronous), from anywhere
    /// ([`block_on`]).
    pub fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: std::future::Future + Send,
        F::Output: Send,
    {
        block_on(&self.runtime(), fut)
    }

    /// A handle on the stack's runtime, for clients built on it that outlive a borrow of the
    /// stack (e.g. [`S3State`](super::s3_state::S3State) inside a working directory).
    pub fn runtime(&self) -> tokio::runtime::Handle {
        self.rt
            .as_ref()
            .expect("the stack's runtime")
            .handle()
            .clone()
    }

    /// `http://127.0.0.1:<port>` of `emu`.
    pub fn base(&self, emu: Emu) -> String {
        let port = match emu {
            Emu::Aws => self.aws_port,
            Emu::Databricks => self.db_port,
        };
        format!("http://127.0.0.1:{port}")
    }

    /// A control route: `method` on `path` of `emu`, JSON in and out; panics on a non-2xx.
    pub fn control(&self, emu: Emu, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base(emu));
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        self.block_on(async {
            let mut req = self.http.request(method.clone(), &url);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let resp = req
                .send()
                .await
                .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            assert!(status.is_success(), "{method} {url} -> {status}: {text}");
            serde_json::from_str(&text).unwrap_or(Value::Null)
        })
    }

    // --- fault plans ---

    /// Sets the fault plan of `emu` (CONTRACT.md "Fault plan").
    pub fn set_faults(&self, emu: Emu, plan: Value) -> Value {
        self.control(emu, "POST", "/_plink/faults", Some(plan))
    }

    /// Denies the IAM `actions` (`"s3:PutObject"`, `"ec2:Create*"`) to every caller of the AWS
    /// emulator until the next reset: they answer 403 as AWS does and change nothing.
    pub fn deny(&self, actions: &[&str]) -> Value {
        self.control(
            Emu::Aws,
            "POST",
            "/_plink/deny",
            Some(json!({ "actions": actions })),
        )
    }

    /// Clears the fault plan of `emu`.
    pub fn clear_faults(&self, emu: Emu) {
        self.control(emu, "DELETE", "/_plink/faults", None);
    }

    /// The fault plan of `emu`, with counters (`matched`, `fired`) per rule.
    pub fn faults(&self, emu: Emu) -> Value {
        self.control(emu, "GET", "/_plink/faults", None)
    }

    /// How many faults `emu` injected so far under its current plan.
    pub fn faults_fired(&self, emu: Emu) -> u64 {
        self.faults(emu)["rules"]
            .as_array()
            .map(|rules| rules.iter().filter_map(|r| r["fired"].as_u64()).sum())
            .unwrap_or(0)
    }

    // --- call log ---

    /// The call log of `emu`.
    pub fn calls(&self, emu: Emu) -> Vec<Call> {
        serde_json::from_value(self.control(emu, "GET", "/_plink/calls", None))
            .expect("call log entries")
    }

    /// Clears the call log of `emu`.
    pub fn clear_calls(&self, emu: Emu) {
        self.control(emu, "DELETE", "/_plink/calls", None);
    }

    /// Clears the call logs of both emulators.
    pub fn clear_all_calls(&self) {
        self.clear_calls(Emu::Aws);
        self.clear_calls(Emu::Databricks);
    }

    /// The mutating calls in both call logs.
    pub fn mutating_calls(&self) -> Vec<Call> {
        let mut out: Vec<Call> = self
            .calls(Emu::Aws)
            .into_iter()
            .chain(self.calls(Emu::Databricks))
            .filter(|c| c.mutating)
            .collect();
        out.sort_by(|a, b| a.t.total_cmp(&b.t));
        out
    }

    /// Mutating calls per service (`ec2`, `elbv2`, `databricks`, …) in both call logs.
    pub fn mutating_by_service(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for c in self.mutating_calls() {
            *out.entry(c.service).or_insert(0) += 1;
        }
        out
    }

    /// Whether the call log of `emu` holds a call of `action` (AWS action name, or Databricks
    /// `METHOD /path` prefix) that was answered with a 2xx.
    pub fn saw_call(&self, emu: Emu, action: &str) -> bool {
        self.calls(emu).iter().any(|c| {
            (c.action == action || c.action.starts_with(action))
                && c.status.is_some_and(|s| (200..300).contains(&s))
        })
    }

    // --- config / reset / fixtures ---

    /// Changes emulator delays at run time (real-world seconds, scaled by the time scale).
    pub fn set_delays(&self, delays: Value) -> Value {
        self.control(
            Emu::Aws,
            "POST",
            "/_plink/config",
            Some(json!({ "delays": delays })),
        )
    }

    /// Time scale and delays.
    pub fn config(&self) -> Value {
        self.control(Emu::Aws, "GET", "/_plink/config", None)
    }

    /// Wipes both emulators and seeds the fixtures again.
    pub fn reset(&self) {
        self.control(Emu::Aws, "POST", "/_plink/reset", None);
    }

    /// Seeded fixtures of `emu`.
    pub fn fixtures(&self, emu: Emu) -> Value {
        self.control(emu, "GET", "/_plink/fixtures", None)
    }

    /// Whether `emu` answers its health route.
    pub fn healthy(&self, emu: Emu) -> bool {
        let url = format!("{}/_plink/health", self.base(emu));
        self.block_on(async {
            match self
                .http
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
            {
                Ok(r) => r.status().is_success(),
                Err(_) => false,
            }
        })
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- stack: log tail ({}) ---\n{}\n--- end of stack log ---",
                self.run_dir.path().display(),
                self.log_tail(60)
            );
        }
        match Command::new(self.localstack.join("down"))
            .env("PLINK_STACK_DIR", self.run_dir.path())
            .output()
        {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "stack: `down` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => eprintln!("stack: cannot run `down`: {e}"),
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Runs `fut` on `rt` to completion from synchronous code. Inside an async test (a runtime is
/// current on this thread, where blocking would panic) it runs there from a helper thread, so it
/// may be called from anywhere.
pub fn block_on<F>(rt: &tokio::runtime::Handle, fut: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_err() {
        return rt.block_on(fut);
    }
    std::thread::scope(|s| {
        s.spawn(|| rt.block_on(fut))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn log_tail(run_dir: &Path, lines: usize) -> String {
    match std::fs::read_to_string(run_dir.join("plink_stack.log")) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(no log: {e})"),
    }
}

/// Parses `export NAME=value` lines (values as printed by Python's `shlex.quote`).
pub fn parse_exports(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), unquote(v)))
        .collect()
}

/// Undoes `shlex.quote`: `'a'"'"'b'` → `a'b`; bare words stay as they are.
fn unquote(v: &str) -> String {
    let mut out = String::new();
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    out.push(c);
                }
            }
            '"' => {
                for c in chars.by_ref() {
                    if c == '"' {
                        break;
                    }
                    out.push(c);
                }
            }
            c => out.push(c),
        }
    }
    out
}
