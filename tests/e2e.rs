//! End-to-end tests: the `plink` binary against private instances of the local cloud stack
//! (`localstack/`: AWS + Databricks emulators).
//!
//! One test binary on the shared harness (`tests/common/`: a stack per test, at most
//! `PLINK_E2E_STACKS` at once; plink runs in a temp dir with a hermetic environment; typed looks at
//! both emulators; "converged" checks). Modules under `tests/e2e/`:
//! - `harness`: the harness checks itself (knobs, exports, stack start/stop, fault plans, call
//!   log, resource counting, the `kill -9` helper) — these need no working `plink up`;
//! - `converge`, `crash`, `handshake`, `faults`, `cli`, `many`: what `plink` guarantees;
//! - `kinds`, `policies`, `ip_access`: the other workflow kinds (`policies`: `network-policy`,
//!   issue #11; `ip_access`: `ip-access-lists`, issue #12);
//! - `shared_state`: the state and its lock on S3 (issue #14).
//!
//! Run: `cargo test --test e2e` (add `-- --nocapture` to see fault counts and timings).
//! Knobs (`tests/common/env.rs`): `PLINK_LOCALSTACK_DIR` (default `<crate>/localstack`),
//! `PLINK_E2E_STACKS` (2), `PLINK_E2E_TIME_SCALE` (0.002), `PLINK_E2E_RUN_TIMEOUT` (120 s per
//! plink run), `PLINK_E2E_VERBOSE` (pass `-vv` to plink), `PLINK_E2E_ECHO` (print every plink
//! transcript).

mod common;

#[path = "e2e/harness.rs"]
mod harness;

#[path = "e2e/converge.rs"]
mod converge;

#[path = "e2e/crash.rs"]
mod crash;

#[path = "e2e/shared_state.rs"]
mod shared_state;

#[path = "e2e/handshake.rs"]
mod handshake;

#[path = "e2e/faults.rs"]
mod faults;

#[path = "e2e/cli.rs"]
mod cli;

#[path = "e2e/many.rs"]
mod many;

#[path = "e2e/kinds.rs"]
mod kinds;

#[path = "e2e/policies.rs"]
mod policies;

#[path = "e2e/ip_access.rs"]
mod ip_access;

#[path = "e2e/waits.rs"]
mod waits;

#[path = "e2e/verify.rs"]
mod verify;

#[path = "e2e/preflight.rs"]
mod preflight;
