//! Loading and atomically writing the state file.

use std::fs::{self, DirBuilder, File};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use super::codec::{parse_state, to_json};
use super::model::{now_rfc3339, writer};
use super::remote::{RemoteLock, RemoteState, S3Location};
use super::{StateError, StateFile, StateLock, StatePaths};

/// Called before every write; an error refuses the write (and every later one is refused too).
/// Tests use it to stop a run at an exact point, the way `kill -9` would.
pub type WriteHook = Arc<dyn Fn(&StateFile) -> Result<(), String> + Send + Sync>;

/// The state of one deployment, held under its lock for the duration of a command.
///
/// # Guarantees
/// - Every [`update`](Self::update) is durable when it returns: the new file is fsynced, renamed
///   over the old one, and the directory is fsynced. The previous version is kept as `.bak`.
/// - The file and its backup are created with mode 0600, the directory with 0700.
/// - A state that could not be read is never written over (opening fails instead).
/// - A store opened read-only ([`open_read_only`](Self::open_read_only),
///   [`read_only`](Self::read_only)) refuses every [`update`](Self::update): nothing can write.
pub struct StateStore {
    paths: StatePaths,
    current: Mutex<StateFile>,
    write_hook: Option<WriteHook>,
    /// `Some(operation)` when opened read-only for that command.
    read_only: Option<String>,
    /// Where writes go: the file at `paths`, or an S3 object.
    remote: Option<Mutex<RemoteState>>,
    _lock: Option<Held>,
}

/// The lock a store holds until it is dropped.
#[derive(Debug)]
enum Held {
    /// Held for its `Drop` (the kernel releases the `flock` with the file).
    File {
        _lock: StateLock,
    },
    S3(Option<RemoteLock>),
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Held::S3(lock) = self
            && let Some(lock) = lock.take()
        {
            // Best effort: a lock left behind is reported with its age, and `unlock --force`
            // removes it.
            if let Err(e) = run_blocking(lock.release()) {
                tracing::warn!(error = %e, "could not release the state lock on S3");
            }
        }
    }
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

impl StateStore {
    /// Locks and loads the state at `paths` for `operation`; a missing file gives a new, empty
    /// state for `deployment` (written on the first update).
    ///
    /// # Errors
    /// [`StateError::Locked`] if another command holds the lock; [`StateError::Unreadable`],
    /// [`StateError::NewerSchema`], [`StateError::WrongDeployment`] or [`StateError::WrongKind`] if
    /// the file cannot be used;
    /// [`StateError::Io`] otherwise.
    pub fn open(
        paths: StatePaths,
        deployment: &str,
        workflow: &str,
        operation: &str,
    ) -> Result<Self, StateError> {
        ensure_dir(paths.dir())?;
        let lock = StateLock::acquire(&paths.lock(), operation)?;
        let current = load(&paths, deployment, workflow)?;
        Ok(Self::new(
            paths,
            current,
            None,
            Some(Held::File { _lock: lock }),
        ))
    }

    /// Locks and loads `deployment`'s state on S3 at `location` for `operation` (the same
    /// checks as [`open`](Self::open)); `read_only` for a command that never writes it.
    ///
    /// # Errors
    /// [`StateError::Locked`] with the holder's details; [`StateError::Remote`] when the bucket
    /// is missing or refuses the credentials; the state errors of [`open`](Self::open).
    pub async fn open_s3(
        aws: crate::aws::AwsClients,
        location: S3Location,
        deployment: &str,
        workflow: &str,
        operation: &str,
        read_only: bool,
    ) -> Result<Self, StateError> {
        let lock = RemoteLock::acquire(&aws, &location, deployment, operation).await?;
        let held = Held::S3(Some(lock));
        let (remote, state) = RemoteState::load(aws, location, deployment).await?;
        let paths = StatePaths::at(remote.url());
        let current = checked(&paths, state, deployment, workflow)?;
        let mut store = Self::new(paths, current, read_only.then_some(operation), Some(held));
        store.remote = Some(Mutex::new(remote));
        Ok(store)
    }

    /// Locks and loads the state like [`open`](Self::open), for a command that must never write
    /// it (`plan`): every [`update`](Self::update) is refused with [`StateError::ReadOnly`].
    ///
    /// The lock is taken so that the command sees a state no other command is changing (as
    /// `terraform plan` does). When the state directory does not exist (the deployment never
    /// ran), nothing is created, not even the directory or the lock file: there is nothing to
    /// protect.
    ///
    /// # Errors
    /// As [`open`](Self::open), except that a missing directory is not created.
    pub fn open_read_only(
        paths: StatePaths,
        deployment: &str,
        workflow: &str,
        operation: &str,
    ) -> Result<Self, StateError> {
        let lock = if paths.dir().is_dir() {
            Some(Held::File {
                _lock: StateLock::acquire(&paths.lock(), operation)?,
            })
        } else {
            None
        };
        let current = load(&paths, deployment, workflow)?;
        Ok(Self::new(paths, current, Some(operation), lock))
    }

    /// A read-only store over `state`, without taking the lock (for `status`, which must work
    /// while another command runs). Every [`update`](Self::update) is refused.
    pub fn read_only(paths: StatePaths, state: StateFile, operation: &str) -> Self {
        Self::new(paths, state, Some(operation), None)
    }

    fn new(
        paths: StatePaths,
        state: StateFile,
        read_only: Option<&str>,
        lock: Option<Held>,
    ) -> Self {
        Self {
            paths,
            current: Mutex::new(state),
            write_hook: None,
            read_only: read_only.map(str::to_owned),
            remote: None,
            _lock: lock,
        }
    }

    /// Installs a hook run before every write (see [`WriteHook`]).
    pub fn with_write_hook(mut self, hook: WriteHook) -> Self {
        self.write_hook = Some(hook);
        self
    }

    pub fn paths(&self) -> &StatePaths {
        &self.paths
    }

    pub fn snapshot(&self) -> StateFile {
        self.guard().clone()
    }

    /// Applies `change` and writes the result durably before returning.
    ///
    /// Writes are serialized, so concurrent steps never lose each other's records. If the write
    /// fails, the in-memory state is rolled back to what is on disk.
    ///
    /// # Errors
    /// [`StateError::Io`] or [`StateError::Hook`] when the write fails;
    /// [`StateError::ReadOnly`] (and no change, even in memory) when opened read-only.
    pub fn update<R>(&self, change: impl FnOnce(&mut StateFile) -> R) -> Result<R, StateError> {
        if let Some(operation) = &self.read_only {
            return Err(StateError::ReadOnly {
                path: self.paths.state.clone(),
                operation: operation.clone(),
            });
        }
        let mut guard = self.guard();
        let before = guard.clone();
        let result = change(&mut guard);
        guard.serial += 1;
        guard.updated_at = now_rfc3339();
        guard.written_by = writer();
        match self.persist(&guard, &before) {
            Ok(()) => Ok(result),
            Err(e) => {
                *guard = before;
                Err(e)
            }
        }
    }

    /// Writes `state` durably where the store writes (the hook first), `before` being what it
    /// replaces.
    fn persist(&self, state: &StateFile, before: &StateFile) -> Result<(), StateError> {
        if let Some(operation) = &self.read_only {
            return Err(StateError::ReadOnly {
                path: self.paths.state.clone(),
                operation: operation.clone(),
            });
        }
        if let Some(hook) = &self.write_hook {
            hook(state).map_err(StateError::Hook)?;
        }
        match &self.remote {
            None => write_atomic(&self.paths, state),
            Some(remote) => run_blocking(self.remote(remote).write(state, Some(before))),
        }
    }

    fn remote<'r>(&self, remote: &'r Mutex<RemoteState>) -> MutexGuard<'r, RemoteState> {
        remote.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes `incoming`, another copy of this deployment's state (`plink state pull`, `push`,
    /// `migrate`), the state here, exactly as it is: same lineage, serial and records. Returns
    /// `false` when that very state was already here (nothing written: a copy run twice).
    ///
    /// # Guarantees
    /// A state of another history, or a newer one, is never replaced; the write is as durable
    /// (and, on S3, as conditional) as every other.
    ///
    /// # Errors
    /// [`StateError::OtherLineage`], [`StateError::Newer`]; the errors of a write.
    pub fn import(&self, incoming: &StateFile) -> Result<bool, StateError> {
        let mut guard = self.guard();
        let here = &*guard;
        let path = || self.paths.state.clone();
        if here.serial > 0 {
            if here.lineage != incoming.lineage {
                return Err(StateError::OtherLineage {
                    path: path(),
                    found: here.lineage.clone(),
                    incoming: incoming.lineage.clone(),
                });
            }
            if here.serial > incoming.serial {
                return Err(StateError::Newer {
                    path: path(),
                    found: here.serial,
                    incoming: incoming.serial,
                });
            }
        }
        let fresh = here != incoming;
        if fresh {
            self.persist(incoming, here)?;
            *guard = incoming.clone();
        }
        self.clear_moved()?;
        Ok(fresh)
    }

    /// Where `plink state migrate` moved this state, when there is none here.
    ///
    /// # Errors
    /// The marker cannot be read.
    pub fn moved(&self) -> Result<Option<super::Moved>, StateError> {
        match &self.remote {
            None => read_moved(&self.paths),
            Some(remote) => run_blocking(self.remote(remote).moved()),
        }
    }

    /// Once the state is copied to `to` (as `--state` names it; `plink state migrate`): writes
    /// where it went in its place, then removes it here, so that no command goes on with this
    /// copy. The marker is written first: a crash in between leaves the state readable, and
    /// migrating again ends the job.
    ///
    /// # Errors
    /// The marker cannot be written or the state removed.
    pub fn retire(&self, to: &str) -> Result<(), StateError> {
        let state = self.guard();
        let moved = super::Moved::new(&state, to);
        match &self.remote {
            Some(remote) => run_blocking(self.remote(remote).retire(&moved)),
            None => {
                let io = |action| StateError::io(&self.paths.state, action);
                write_file(&self.paths.moved(), self.paths.dir(), &to_json(&moved))
                    .map_err(io("say where the state moved"))?;
                fs::remove_file(&self.paths.state).map_err(io("remove the moved state"))?;
                sync_dir(self.paths.dir()).map_err(io("fsync the state directory"))
            }
        }
    }

    fn clear_moved(&self) -> Result<(), StateError> {
        match &self.remote {
            Some(remote) => run_blocking(self.remote(remote).clear_moved()),
            None => match fs::remove_file(self.paths.moved()) {
                Err(e) if e.kind() != ErrorKind::NotFound => Err(StateError::io(
                    &self.paths.state,
                    "remove the marker of a moved state",
                )(e)),
                _ => Ok(()),
            },
        }
    }

    fn guard(&self) -> MutexGuard<'_, StateFile> {
        // A panic while holding the guard cannot leave a half-applied change on disk (the write
        // happens after the change), so the poisoned value is still a consistent snapshot.
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The state at `paths`, or a new one for `deployment` when there is no file yet.
fn load(paths: &StatePaths, deployment: &str, workflow: &str) -> Result<StateFile, StateError> {
    checked(paths, read_state(paths)?, deployment, workflow)
}

/// `state` (read from `paths`) if it is `deployment`'s of kind `workflow`, a new one if none.
fn checked(
    paths: &StatePaths,
    state: Option<StateFile>,
    deployment: &str,
    workflow: &str,
) -> Result<StateFile, StateError> {
    match state {
        Some(state) if state.deployment != deployment => Err(StateError::WrongDeployment {
            path: paths.state.clone(),
            found: state.deployment,
            expected: deployment.to_owned(),
        }),
        // A state of another workflow kind records other resources under other names: running
        // this kind's graph on it would misread it (issue #9).
        Some(state) if state.workflow != workflow => Err(StateError::WrongKind {
            path: paths.state.clone(),
            found: state.workflow,
            expected: workflow.to_owned(),
        }),
        Some(state) => Ok(state),
        None => Ok(StateFile::new(deployment, workflow)),
    }
}

/// Reads the state at `paths` without locking it (for `status` and `plan`).
///
/// # Errors
/// [`StateError::Unreadable`] (empty, truncated or corrupt file), [`StateError::NewerSchema`],
/// [`StateError::Io`]. A missing file is `Ok(None)`.
pub fn read_state(paths: &StatePaths) -> Result<Option<StateFile>, StateError> {
    let path = &paths.state;
    let text = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StateError::io(path, "read the state file")(source)),
    };
    let backup = Some(paths.backup()).filter(|b| b.exists());
    parse_state(&text, path, backup).map(Some)
}

fn ensure_dir(dir: &Path) -> Result<(), StateError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(StateError::io(dir, "create the state directory"))
}

/// Temporary file in the same directory, fsync, keep the old file as `.bak`, rename, fsync the
/// directory (field notes §C.5; cargo's `write_atomic` plus the directory fsync).
fn write_atomic(paths: &StatePaths, state: &StateFile) -> Result<(), StateError> {
    let dir = paths.dir();
    let io = |action| StateError::io(&paths.state, action);
    let tmp = temp_file(dir, &to_json(state)).map_err(io("write a temporary state file"))?;
    if paths.state.exists() {
        keep_backup(paths).map_err(io("keep the previous state as .bak"))?;
    }
    tmp.persist(&paths.state)
        .map_err(|e| io("rename the new state into place")(e.error))?;
    sync_dir(dir).map_err(io("fsync the state directory"))
}

/// `body` in a new, fsynced file of `dir`, mode 0600 (tempfile's), to be renamed into place.
fn temp_file(dir: &Path, body: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".state.")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(body)?;
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

/// `body` at `path` in `dir`, atomically and durably (no backup: for the marker of a move).
fn write_file(path: &Path, dir: &Path, body: &[u8]) -> std::io::Result<()> {
    temp_file(dir, body)?.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all())
}

/// Where `plink state migrate` moved the state at `paths`, if it did.
///
/// # Errors
/// [`StateError::Io`] when the marker exists but cannot be read.
pub fn read_moved(paths: &StatePaths) -> Result<Option<super::Moved>, StateError> {
    match fs::read(paths.moved()) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StateError::io(&paths.state, "read where the state moved")(
            e,
        )),
    }
}

/// Makes `.bak` a copy of the current state file, atomically (hard link, then rename).
fn keep_backup(paths: &StatePaths) -> std::io::Result<()> {
    let backup = paths.backup();
    let staging = paths.dir().join(".state.bak.tmp");
    let _ = fs::remove_file(&staging);
    if fs::hard_link(&paths.state, &staging).is_err() {
        fs::copy(&paths.state, &staging)?;
    }
    fs::rename(&staging, &backup)
}

/// Runs `future` (an S3 call of the state) to its end from synchronous code: the engine writes
/// state from within its steps. On the command line's multi-threaded runtime the worker yields
/// its tasks meanwhile; elsewhere (a test's single-threaded runtime, no runtime) the call runs on
/// a thread of its own.
fn run_blocking<F>(future: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| handle.block_on(future))
        }
        _ => std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime for the state's S3 call")
                        .block_on(future)
                })
                .join()
                .expect("the state's S3 call does not panic")
        }),
    }
}
