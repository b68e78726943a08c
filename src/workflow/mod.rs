//! What to do: workflow kinds as data.
//!
//! A workflow kind is its graph ([`Graph`]): named resource instances (`crate::resources`),
//! their dependencies, and how each one's inputs derive from the workflow file and the records
//! upstream. Every command derives from it: `up` runs the graph, `plan` plans it, `down` runs the
//! reverse graph, `status` observes it, `status --orphans` walks its kinds' inventories; display
//! and teardown orders are computed, never written.
//!
//! The registry ([`KINDS`]) maps the `kind` key of a workflow file to its kind. Adding a kind
//! means a folder here and one line in [`KINDS`] (see `ARCHITECTURE.md`).

mod graph;
pub mod s3_privatelink;
#[cfg(test)]
mod test_sg;

pub use graph::{Graph, Upstream};

use crate::config::{ConfigError, Diagnostic, DiagnosticKind, Workflow};
use crate::resources::Res;

/// A workflow kind.
pub trait WorkflowKind: Send + Sync + std::fmt::Debug {
    /// Its name: the value of `kind` in workflow files, recorded in state files.
    fn name(&self) -> &'static str;

    /// One line saying what it sets up.
    fn summary(&self) -> &'static str;

    /// Its graph for `workflow`.
    ///
    /// # Errors
    /// A setting of the file that no resource can use (the user must fix the file).
    fn graph(&self, workflow: &Workflow) -> Res<Graph>;
}

/// The registry: every workflow kind, by name.
pub static KINDS: &[&dyn WorkflowKind] = &[
    &s3_privatelink::S3PrivateLink,
    #[cfg(test)]
    &test_sg::TestSecurityGroup,
];

/// The kind named `name`.
pub fn find(name: &str) -> Option<&'static dyn WorkflowKind> {
    KINDS.iter().copied().find(|k| k.name() == name)
}

/// The names of every kind.
pub fn names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name()).collect()
}

/// The kind `workflow` names.
///
/// # Errors
/// [`ConfigError::Invalid`] naming the file, line and key when no kind has that name.
pub fn kind_of(workflow: &Workflow) -> Result<&'static dyn WorkflowKind, ConfigError> {
    let name = &workflow.kind.name;
    find(name).ok_or_else(|| ConfigError::Invalid {
        diagnostics: vec![Diagnostic {
            file: workflow.source.clone(),
            location: workflow.kind.location,
            key: Some("kind".into()),
            kind: DiagnosticKind::InvalidValue,
            message: format!(
                "unknown workflow kind \"{name}\"; expected one of: {}",
                names().join(", ")
            ),
        }],
    })
}

/// The `up` steps of `workflow`, in display order (derived from its kind's graph).
///
/// # Errors
/// An unknown kind, or a kind that cannot build its graph from the file.
pub fn step_order(workflow: &Workflow) -> anyhow::Result<Vec<crate::engine::StepId>> {
    Ok(kind_of(workflow)?.graph(workflow)?.display_order())
}
