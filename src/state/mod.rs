//! Durable state: one JSON file per deployment, written atomically, with a backup and a lock.
//!
//! Layout (default `.plink/<deployment>/`, or wherever `--state PATH` points):
//! - `state.json`: the current state ([`StateFile`]), mode 0600;
//! - `state.json.bak`: the previous version, kept by every write;
//! - `state.json.lock`: the advisory lock, holding [`LockInfo`] while a command runs;
//! - `state.json.moved`: in place of `state.json` once `plink state migrate` moved it ([`Moved`]).
//!
//! Or on S3, shared by a team's machines and CI ([`remote`], issue #14): the same files as
//! objects, written on conditions, with a lock object.
//!
//! Crash-safety follows the field notes (§C.1, §C.5): intents are written and fsynced before every
//! mutating cloud call, results right after; every write is "temporary file, fsync, rename, fsync
//! the directory", so a reader sees either the old or the new file, never a mix.

mod codec;
mod error;
mod lock;
mod model;
mod paths;
pub mod remote;
mod store;

pub use error::StateError;
pub use lock::{LockInfo, StateLock, UnlockOutcome, unlock};
pub(crate) use model::now_rfc3339;
pub use model::{Intent, Moved, SCHEMA_VERSION, StateFile, StepRecord, StepStatus};
pub use paths::StatePaths;
pub use store::{StateStore, WriteHook, read_moved, read_state};
