//! [`Plink`]: one `plink` command, built fluently — where it runs, its arguments, its
//! environment, the exit code it must end with — then run to completion ([`Plink::run`]) or
//! started in the background ([`Plink::spawn`]).
//!
//! The environment is hermetic: nothing of the caller's leaks in (no profile, no `~/.aws`, no
//! `~/.databrickscfg`). Only `PATH`, a private `HOME`, `USER=plink-e2e`, `NO_COLOR=1`,
//! `RUST_BACKTRACE=1` and `PLINK_WAIT_SCALE` (the stack runs on scaled time, so plink polls as
//! fast), plus the stack's exports for a command on a stack ([`Stack::plink`]).
//!
//! ```text
//! stack.plink(&wd).arg("up").workflow().code(0).run();
//! stack.plink(&wd).args(["down", "--rebind-to", &ncc]).workflow().spawn();
//! stack.plink(&wd).arg("up").workflow().env("DATABRICKS_HOST", &dead).code(4).run();
//! Plink::new(dir.path()).args(["validate", "case.toml"]).code(3).run();
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use super::env::knobs;
use super::run::{Background, Run};
use super::stack::Stack;
use super::workdir::Workdir;

/// `PLINK_WAIT_SCALE` given to plink: the stack runs on scaled time, so plink polls as fast.
pub const WAIT_SCALE: &str = "200";

/// `USER` of every plink run (lock files name it).
pub const USER: &str = "plink-e2e";

/// A `plink` command being built.
#[derive(Debug, Clone)]
#[must_use = "a Plink does nothing until .run() or .spawn()"]
pub struct Plink {
    dir: PathBuf,
    workflow: Option<PathBuf>,
    /// Where the working directory's state is (`--state s3://…`), given with the workflow file.
    state_args: Vec<String>,
    args: Vec<String>,
    env: BTreeMap<String, String>,
    verbose: bool,
    code: Option<i32>,
}

impl Plink {
    /// `plink` in `dir`, with `HOME=dir` and no cloud configured.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        let mut env = BTreeMap::new();
        for (k, v) in [
            ("USER", USER),
            ("PLINK_WAIT_SCALE", WAIT_SCALE),
            ("NO_COLOR", "1"),
            ("RUST_BACKTRACE", "1"),
        ] {
            env.insert(k.to_owned(), v.to_owned());
        }
        if let Some(path) = std::env::var_os("PATH") {
            env.insert("PATH".into(), path.to_string_lossy().into_owned());
        }
        env.insert("HOME".into(), dir.to_string_lossy().into_owned());
        Self {
            dir,
            workflow: None,
            state_args: Vec::new(),
            args: Vec::new(),
            env,
            verbose: false,
            code: None,
        }
    }

    /// `plink` in the working directory `wd`, with its private `HOME`; [`workflow`](Self::workflow)
    /// adds its workflow file (and where its state is).
    pub fn in_workdir(wd: &Workdir) -> Self {
        let mut p = Self::new(wd.path()).env("HOME", wd.home().to_string_lossy());
        p.workflow = Some(wd.workflow.clone());
        p.state_args = wd.state_args();
        p
    }

    /// Against `stack`: its exports join the environment, and `PLINK_E2E_VERBOSE` adds `-vv`.
    pub fn on(mut self, stack: &Stack) -> Self {
        for (k, v) in &stack.env {
            self.env.insert(k.clone(), v.clone());
        }
        self.verbose = knobs().verbose;
        self
    }

    /// One more argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// More arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// The working directory's workflow file as the next argument, followed by `--state s3://…`
    /// when the directory keeps its state on S3 ([`Workdir::on_s3`]): the two name the
    /// deployment.
    pub fn workflow(self) -> Self {
        let wf = self
            .workflow
            .clone()
            .expect("no workflow file: use Plink::in_workdir or Stack::plink");
        let state = self.state_args.clone();
        self.arg(wf.to_str().expect("utf-8 path")).args(state)
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: impl AsRef<str>) -> Self {
        self.env.insert(key.to_owned(), value.as_ref().to_owned());
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(mut self, key: &str) -> Self {
        self.env.remove(key);
        self
    }

    /// Sets (`Some`) or removes (`None`) an environment variable.
    pub fn env_opt(self, key: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.env(key, v),
            None => self.env_remove(key),
        }
    }

    /// The exit code the command must end with: [`run`](Self::run) (or the
    /// [`Background::wait`] of [`spawn`](Self::spawn), unless the test killed it) panics with the
    /// transcript otherwise.
    pub fn code(mut self, code: i32) -> Self {
        self.code = Some(code);
        self
    }

    /// The arguments plink gets (with `-vv` under `PLINK_E2E_VERBOSE`).
    pub fn argv(&self) -> Vec<String> {
        let mut all = self.args.clone();
        if self.verbose {
            all.push("-vv".into());
        }
        all
    }

    /// The command, to run by other means (e.g. under a wrapper).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_plink"));
        cmd.args(self.argv())
            .current_dir(&self.dir)
            .env_clear()
            .envs(&self.env);
        cmd
    }

    /// Starts it in the background.
    pub fn spawn(self) -> Background {
        Background::spawn(self.command(), self.argv()).expect_code(self.code)
    }

    /// Runs it to completion (killed after `PLINK_E2E_RUN_TIMEOUT`).
    pub fn run(self) -> Run {
        self.spawn().wait()
    }
}

impl Stack {
    /// A `plink` command in `wd` against this stack.
    pub fn plink(&self, wd: &Workdir) -> Plink {
        Plink::in_workdir(wd).on(self)
    }

    /// `plink up <workflow>` in `wd`.
    pub fn up(&self, wd: &Workdir) -> Run {
        self.plink(wd).arg("up").workflow().run()
    }

    /// `plink up <workflow>` in the background.
    pub fn spawn_up(&self, wd: &Workdir) -> Background {
        self.plink(wd).arg("up").workflow().spawn()
    }

    /// `plink status <workflow> --json`, which must exit 0, parsed.
    pub fn status_json(&self, wd: &Workdir) -> Value {
        self.plink(wd)
            .arg("status")
            .workflow()
            .arg("--json")
            .code(0)
            .run()
            .json()
    }
}
