//! Reliability and security suites (issue #6): the `plink` binary against private instances of
//! the local cloud stack, on the shared harness of `tests/common/`.
//!
//! Modules under `tests/reliability/`:
//! - `suite`: seeded randomness, orphan scan by plink's tags, lost-state tracking, the
//!   `up`/`down` phases, report tables;
//! - `crash`: SIGKILL at random moments of `up` (and `down`), resume until done (with the state
//!   on S3: after `unlock --force`), then count duplicates, orphans and lost state on the
//!   emulators themselves;
//! - `faults`: `up` (and `down`) under the emulators' fault plans, with a table of faults,
//!   extra calls and retries;
//! - `bad_input`: a table of malformed or wrong inputs, each mapped to its exit code;
//! - `security`: secrets, file modes, TLS, hostile connections, the allowed principal.
//!
//! How to run each suite (short CI mode, full mode) and the figures of the last full run:
//! `RELIABILITY.md`. Every knob (`PLINK_E2E_STACKS`, `PLINK_CRASH_*`, `PLINK_FAULT_*`, …) is
//! parsed in `tests/common/env.rs`.

mod common;

#[path = "support/scripted_server.rs"]
mod scripted_server;

#[allow(dead_code)]
#[path = "reliability/suite.rs"]
mod suite;

#[path = "reliability/crash.rs"]
mod crash;

#[path = "reliability/faults.rs"]
mod faults;

#[path = "reliability/bad_input.rs"]
mod bad_input;

#[path = "reliability/security.rs"]
mod security;
