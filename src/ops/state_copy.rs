//! `plink state pull | push | migrate` (issue #14): a deployment's state copied or moved between
//! the local file and S3, exactly as it is (lineage, serial, records).
//!
//! Both places are locked for the whole copy. A copy never replaces a state of another history
//! (lineage) or a newer one (serial), and copying the same state twice writes nothing, so a
//! copy that died halfway is finished by running it again.

use std::path::PathBuf;

use serde::Serialize;

use super::Deployment;
use crate::state::StateError;

/// What becomes of the state where it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// It stays (`pull`, `push`): two copies, of which the next command uses the one it is
    /// pointed at.
    Copy,
    /// It is replaced by where it went (`migrate`): one state, and a command pointed at the old
    /// place is refused with the new one.
    Move,
}

/// What a copy did.
#[derive(Debug, Clone, Serialize)]
pub struct Copied {
    pub deployment: String,
    pub from: PathBuf,
    pub to: PathBuf,
    /// The destination as `--state` takes it (what to give from now on, after a move).
    pub state_arg: String,
    pub lineage: String,
    pub serial: u64,
    /// `false`: that very state was already there (nothing was written).
    pub written: bool,
    /// The old place now says where the state went (`migrate`).
    pub moved: bool,
}

/// Copies (or moves) the state of `from` to where `to` keeps it; `operation` names the
/// command in the locks.
///
/// # Guarantees
/// Nothing is written unless the destination is empty, holds an older state of the same
/// lineage, or the same state. The source is retired (`Move`) only once the destination is
/// written.
///
/// # Errors
/// [`StateError::Missing`] when there is no state to copy; [`StateError::Moved`] when it was
/// moved away already; [`StateError::OtherLineage`], [`StateError::Newer`]; the lock and I/O
/// errors of either place.
pub async fn copy(
    from: &Deployment,
    to: &Deployment,
    transfer: Transfer,
    operation: &str,
) -> Result<Copied, StateError> {
    let source = from
        .open_state(operation, transfer == Transfer::Copy)
        .await?;
    let state = source.snapshot();
    if state.serial == 0 {
        return Err(StateError::Missing {
            path: from.paths.state.clone(),
        });
    }
    let destination = to.open_store(operation, false).await?;
    let written = destination.import(&state)?;
    let moved = transfer == Transfer::Move;
    let state_arg = to.state_choice().to_string();
    if moved {
        source.retire(&state_arg)?;
    }
    Ok(Copied {
        deployment: from.name().to_owned(),
        from: from.paths.state.clone(),
        to: to.paths.state.clone(),
        state_arg,
        lineage: state.lineage,
        serial: state.serial,
        written,
        moved,
    })
}
