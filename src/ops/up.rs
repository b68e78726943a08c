//! `plink up`: converge the deployment.

use crate::engine::{EventSink, Interrupt, RunReport};

use super::Deployment;

/// Options of `plink up`.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Allow switching a workspace that is bound to another NCC.
    pub replace_ncc_binding: bool,
}

/// Runs the workflow's step graph to convergence.
///
/// # Errors
/// Failures to start (state locked or unreadable, clients unavailable); step failures are in the
/// returned [`RunReport`].
pub async fn run(
    deployment: &Deployment,
    options: &UpOptions,
    events: EventSink,
    interrupt: Interrupt,
) -> anyhow::Result<RunReport> {
    let _ = (deployment, options, events, interrupt);
    anyhow::bail!(
        "the cloud steps of `plink up` are being wired in (issue #4); nothing was changed"
    )
}
