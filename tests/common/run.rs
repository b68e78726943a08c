//! What a `plink` command did ([`Run`]: exit code or signal, stdout, stderr, time, transcript),
//! and a command running in the background ([`Background`]: its output collected, `kill -9` when
//! a condition holds, Ctrl-C), waited for with the `PLINK_E2E_RUN_TIMEOUT` deadline.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::env::knobs;

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
    /// The exit code [`wait`](Self::wait) asserts, unless we killed it.
    expect_code: Option<i32>,
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
            expect_code: None,
        }
    }

    /// Makes [`wait`](Self::wait) assert that it exited with `code` (unless we killed it).
    pub fn expect_code(mut self, code: Option<i32>) -> Self {
        self.expect_code = code;
        self
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
    pub fn kill_when(&mut self, what: &str, timeout: Duration, cond: impl FnMut() -> bool) -> bool {
        if !self.until(what, timeout, cond) {
            return false;
        }
        self.kill9();
        self.killed
    }

    /// Polls `cond` every 5 ms; once it holds, lets the process go on for `then` and sends it
    /// SIGINT (Ctrl-C). Panics if the process exits first or after `timeout`.
    pub fn interrupt_when(
        &mut self,
        what: &str,
        timeout: Duration,
        then: Duration,
        cond: impl FnMut() -> bool,
    ) {
        assert!(
            self.until(what, timeout, cond),
            "the process ended before {what}"
        );
        std::thread::sleep(then);
        self.interrupt();
    }

    /// Polls `cond` every 5 ms until it holds (true) or the process exits (false); kills it and
    /// panics with its transcript after `timeout`.
    fn until(&mut self, what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
        let started = Instant::now();
        loop {
            if cond() {
                return true;
            }
            if self.exited() {
                return false;
            }
            if started.elapsed() > timeout {
                self.kill9();
                self.expect_code = None;
                let run = self.wait();
                panic!(
                    "timed out after {timeout:?} waiting for {what}\n{}",
                    run.transcript()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for it to exit (kills it after the `PLINK_E2E_RUN_TIMEOUT` deadline) and returns
    /// what it did; panics with the transcript if it ended by itself with another exit code than
    /// the expected one.
    pub fn wait(&mut self) -> Run {
        let deadline = knobs().run_timeout;
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
        let run = self.collect(status);
        if let Some(code) = self.expect_code
            && !self.killed
        {
            run.assert_code(code);
        }
        run
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
        if knobs().echo {
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

/// The outputs of `step` in a `status --json` report.
pub fn status_outputs(report: &Value, step: &str) -> Value {
    report["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["step"] == step))
        .map(|s| s["outputs"].clone())
        .unwrap_or_else(|| panic!("no step {step} in the status report:\n{report:#}"))
}

/// Asserts `run`'s output (stdout or stderr) says `needle`.
pub fn says(run: &Run, needle: &str) {
    assert!(
        run.stdout.contains(needle) || run.stderr.contains(needle),
        "expected {needle:?}\n{}",
        run.transcript()
    );
}

/// Asserts `run`'s stderr names `place` (`file:line:`) and, after it, `: key: ` (a workflow
/// file error: file, line and key).
pub fn says_at(run: &Run, place: &str, key: &str) {
    let at = run
        .stderr
        .find(place)
        .unwrap_or_else(|| panic!("{place} in\n{}", run.transcript()));
    assert!(
        run.stderr[at..].contains(&format!(": {key}: ")),
        "{key} after {place}\n{}",
        run.transcript()
    );
}
