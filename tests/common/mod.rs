//! The one test harness of the suites that run the `plink` binary against private instances of
//! the local cloud stack (`localstack/`: AWS + Databricks emulators): `tests/e2e.rs`,
//! `tests/down.rs`, `tests/plan.rs`, `tests/reliability.rs` and `tests/aws_client.rs` all mount it
//! with `mod common;`.
//!
//! One concept per file:
//! - [`env`]: every knob of the suites (`PLINK_LOCALSTACK_DIR`, `PLINK_E2E_*`, `PLINK_CRASH_*`,
//!   `PLINK_FAULT_*`), parsed once, in one place;
//! - [`slots`]: at most `PLINK_E2E_STACKS` stacks at once in a test binary;
//! - [`stack`]: [`Stack::start`] (the only way a test starts a stack; it takes a slot first), its
//!   exports and its control routes (fault plans, call logs, delays, reset, fixtures);
//! - [`cloud`]: typed looks at (and out-of-band changes to) the emulated clouds;
//! - [`s3_state`]: states on the stack's S3 (`--state s3://…`): the bucket, the objects plink
//!   keeps there;
//! - [`workdir`]: a temporary working directory holding a workflow file and plink's state;
//! - [`invocation`]: [`Plink`], the builder of one `plink` command (args, env, expected exit code);
//! - [`run`]: [`Run`], what a command did, and [`Background`], a command running in the
//!   background (kill -9, Ctrl-C);
//! - [`checks`]: "the deployment is up", checked on the emulators and in the state file;
//! - [`wait`]: polling until a condition holds (sync and async).
//!
//! ```text
//! let stack = Stack::start();
//! let wd = Workdir::new(WorkflowSpec::default());
//! let run = stack.plink(&wd).arg("up").workflow().code(0).run();
//! stack.plink(&wd).args(["status", "--json"]).workflow().env("K", "V").run().json();
//! Plink::new(dir).args(["validate", "x.toml"]).code(3).run();   // no stack: no cloud
//! ```

// Each test binary uses a different part of the harness.
#![allow(dead_code)]

pub mod checks;
pub mod cloud;
pub mod env;
pub mod invocation;
pub mod run;
pub mod s3_state;
pub mod slots;
pub mod stack;
pub mod wait;
pub mod workdir;

// The names tests use most, at the top (each test binary uses some of them).
#[allow(unused_imports)]
pub use env::knobs;
#[allow(unused_imports)]
pub use invocation::Plink;
#[allow(unused_imports)]
pub use run::{Background, Run, says, says_at, status_outputs};
#[allow(unused_imports)]
pub use s3_state::S3State;
#[allow(unused_imports)]
pub use stack::{Call, Emu, Stack};
#[allow(unused_imports)]
pub use wait::{eventually, wait_until};
#[allow(unused_imports)]
pub use workdir::{Kind, Workdir, WorkflowSpec, edit_once, line_of, repo_file};
