use std::path::{Path, PathBuf};

use super::LockInfo;

/// Why the state could not be read, locked or written.
///
/// Every variant names the file. None of them is ever "fixed" by overwriting the file: a state
/// that cannot be read is left exactly as it is for the user to inspect.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{}: the state file is {what} (line {line}, column {column}: {detail}); it was left untouched.{}",
        path.display(),
        backup_hint(backup)
    )]
    Unreadable {
        path: PathBuf,
        what: &'static str,
        line: usize,
        column: usize,
        detail: String,
        backup: Option<PathBuf>,
    },

    #[error(
        "{}: written by a newer plink (state schema {found}; this plink reads schema {supported}); \
         upgrade plink to use it. The file was left untouched.",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: u64,
        supported: u32,
    },

    #[error(
        "{}: this state belongs to deployment \"{found}\", not \"{expected}\"; \
         point --state at the right file or fix deployment.name",
        path.display()
    )]
    WrongDeployment {
        path: PathBuf,
        found: String,
        expected: String,
    },

    #[error(
        "{}: this state was written for workflow kind \"{found}\", and the workflow file is of kind \"{expected}\"; \
         the state was left untouched: point --state at the right file, fix `kind` in the workflow file, \
         or tear the old deployment down with its own workflow file first",
        path.display()
    )]
    WrongKind {
        path: PathBuf,
        found: String,
        expected: String,
    },

    #[error("{}", locked_message(path, info))]
    Locked {
        path: PathBuf,
        info: Option<LockInfo>,
    },

    /// A write to a state opened read-only (by `plan` or `status`): a bug, never done silently.
    #[error(
        "{}: opened read-only for `plink {operation}`, which never writes state; a write was refused and nothing was written (a bug in plink)",
        path.display()
    )]
    ReadOnly { path: PathBuf, operation: String },

    /// A write to a shared state (S3) whose copy was stale: someone else wrote it since this
    /// command read it. Nothing was written.
    #[error(
        "{}: the state changed since this command read it (another machine wrote it); nothing was written: run the command again to start from the current state",
        path.display()
    )]
    Stale { path: PathBuf },

    /// The state was moved elsewhere by `plink state migrate`: this location must not start
    /// a second state of the same deployment.
    #[error("{}", moved_message(path, moved))]
    Moved { path: PathBuf, moved: super::Moved },

    /// `plink state pull/push/migrate` found no state to copy.
    #[error("{}: no state here to copy (the deployment never ran with its state here)", path.display())]
    Missing { path: PathBuf },

    /// A copy would overwrite the state of another history of the deployment.
    #[error(
        "{}: holds another history of the deployment (lineage {found}; the copy's is {incoming}); refused, nothing was written: they are not two copies of one state",
        path.display()
    )]
    OtherLineage {
        path: PathBuf,
        found: String,
        incoming: String,
    },

    /// A copy would replace a newer state with an older one.
    #[error(
        "{}: holds a newer state (serial {found}) than the copy (serial {incoming}); refused, nothing was written: copy the other way",
        path.display()
    )]
    Newer {
        path: PathBuf,
        found: u64,
        incoming: u64,
    },

    /// A shared state (S3) could not be read, written or locked. The S3 error is the cause
    /// (rendered on its own line, with its request id when verbose), not repeated here.
    #[error("{}: cannot {action}{}", path.display(), region_hint(source))]
    Remote {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: crate::aws::AwsError,
    },

    /// A test hook refused the write (used to simulate `kill -9` between two writes).
    #[error("state write refused by hook: {0}")]
    Hook(String),
}

impl StateError {
    /// [`StateError::Io`] for a failed `action` on `path`, for `map_err`.
    pub(crate) fn io<'a>(
        path: &'a Path,
        action: &'static str,
    ) -> impl Fn(std::io::Error) -> Self + 'a {
        move |source| StateError::Io {
            path: path.to_owned(),
            action,
            source,
        }
    }
}

fn backup_hint(backup: &Option<PathBuf>) -> String {
    match backup {
        Some(b) => format!(
            " The previous version is in {}: if it looks right, copy it over the state file and run the command again.",
            b.display()
        ),
        None => String::new(),
    }
}

/// What S3 answers a request sent to another region than its bucket's (a 301 without a body
/// for some operations; S3's own codes otherwise): say which setting fixes it.
fn region_hint(e: &crate::aws::AwsError) -> &'static str {
    match e.code.as_deref() {
        Some("PermanentRedirect" | "AuthorizationHeaderMalformed" | "301" | "MovedPermanently") => {
            " (the bucket is in another region: set region in [state] to the bucket's)"
        }
        _ => "",
    }
}

fn moved_message(path: &Path, moved: &super::Moved) -> String {
    let to = &moved.moved_to;
    let table = if to.starts_with("s3://") {
        " (or [state] backend = \"s3\" with that bucket and key in the workflow file)"
    } else {
        ""
    };
    format!(
        "{}: the state was moved to {to} on {} (`plink state migrate`): run with --state {to}{table}",
        path.display(),
        moved.at
    )
}

fn locked_message(path: &Path, info: &Option<LockInfo>) -> String {
    match info {
        Some(i) => format!(
            "{}: locked by `plink {}` (pid {} on {}, user {}) since {}; wait for it to finish, \
             or if that process is gone run `plink unlock` on the same workflow file",
            path.display(),
            i.operation,
            i.pid,
            i.host,
            i.who,
            i.since
        ),
        None => format!(
            "{}: locked by another plink process; wait for it to finish, or run `plink unlock`",
            path.display()
        ),
    }
}
