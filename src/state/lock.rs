//! The advisory lock that keeps two commands off the same state.
//!
//! It is an OS file lock (`flock` via `std::fs::File::try_lock`) on `state.json.lock`, so it is
//! released by the kernel when the holder dies, even by `kill -9`: a crashed run never leaves a
//! lock behind that blocks the resume. The file also holds [`LockInfo`] (who, pid, host, since)
//! so a refused command can say who holds it. The file is never deleted on release (only emptied):
//! deleting it would let two processes lock two different inodes of the same path.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::StateError;
use super::model::now_rfc3339;

/// Who holds a lock, written into the lock file while it is held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub id: String,
    pub operation: String,
    pub who: String,
    pub host: String,
    pub pid: u32,
    pub since: String,
    pub version: String,
}

impl LockInfo {
    /// The holder an unreadable lock object stands for (its body is not plink's).
    pub(super) fn unknown() -> Self {
        Self {
            id: String::new(),
            operation: "(unknown)".into(),
            who: "unknown".into(),
            host: "unknown".into(),
            pid: 0,
            since: "an unknown time".into(),
            version: String::new(),
        }
    }

    pub(super) fn current(operation: &str) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.to_owned(),
            who: std::env::var("USER")
                .or_else(|_| std::env::var("LOGNAME"))
                .unwrap_or_else(|_| "unknown".into()),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
            since: now_rfc3339(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct StateLock {
    file: File,
}

impl StateLock {
    /// Takes the lock at `path` for `operation` (`up`, `down`, ...) without waiting.
    ///
    /// # Errors
    /// [`StateError::Locked`] with the holder's [`LockInfo`] when another process holds it;
    /// [`StateError::Io`] when the file cannot be created or written.
    pub fn acquire(path: &Path, operation: &str) -> Result<Self, StateError> {
        let mut file = open_lock_file(path)?;
        if !try_lock(&file, path)? {
            return Err(StateError::Locked {
                path: path.to_owned(),
                info: read_info(&mut file),
            });
        }
        let body = serde_json::to_vec_pretty(&LockInfo::current(operation)).expect("serializes");
        let io = StateError::io(path, "write the lock file");
        file.set_len(0).map_err(&io)?;
        file.seek(SeekFrom::Start(0)).map_err(&io)?;
        file.write_all(&body).map_err(&io)?;
        file.sync_all().map_err(&io)?;
        Ok(Self { file })
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // Empty the info first so nobody reads a stale holder; the kernel drops the lock with the fd.
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// What `plink unlock` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnlockOutcome {
    /// Nobody held the lock (nothing to do, or stale info was cleared).
    WasFree { stale_info: Option<LockInfo> },
    /// A live process holds it and `force` was not given.
    HeldBy(Option<LockInfo>),
    /// `force` removed the lock file although a process held it.
    Forced(Option<LockInfo>),
}

/// Clears a lock left behind, or with `force` breaks one that a live process holds.
///
/// # Guarantees
/// Without `force` it never takes a lock away from a running process.
///
/// # Errors
/// [`StateError::Io`] when the lock file cannot be opened or removed.
pub fn unlock(path: &Path, force: bool) -> Result<UnlockOutcome, StateError> {
    if !path.exists() {
        return Ok(UnlockOutcome::WasFree { stale_info: None });
    }
    let mut file = open_lock_file(path)?;
    if try_lock(&file, path)? {
        let stale_info = read_info(&mut file);
        let _ = file.set_len(0);
        let _ = file.unlock();
        return Ok(UnlockOutcome::WasFree { stale_info });
    }
    let info = read_info(&mut file);
    if !force {
        return Ok(UnlockOutcome::HeldBy(info));
    }
    std::fs::remove_file(path).map_err(StateError::io(path, "remove the lock file"))?;
    Ok(UnlockOutcome::Forced(info))
}

/// Locks `file` without waiting: `false` when another process holds the lock.
fn try_lock(file: &File, path: &Path) -> Result<bool, StateError> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(source)) => Err(StateError::io(path, "lock")(source)),
    }
}

fn open_lock_file(path: &Path) -> Result<File, StateError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(StateError::io(path, "open the lock file"))
}

fn read_info(file: &mut File) -> Option<LockInfo> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}
