use std::path::Path;

use crate::config::{self, ConfigError, Workflow};
use crate::state::StatePaths;

/// A workflow file and where its state lives.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub workflow: Workflow,
    pub paths: StatePaths,
}

impl Deployment {
    /// Loads `file`; the state is `state` if given, else `.plink/<deployment>/state.json` under the
    /// current directory.
    ///
    /// # Errors
    /// [`ConfigError`] when the workflow file is missing or invalid.
    pub fn load(file: &Path, state: Option<&Path>) -> Result<Self, ConfigError> {
        let workflow = config::load(file)?;
        let paths = match state {
            Some(p) => StatePaths::at(p),
            None => StatePaths::for_deployment(Path::new("."), workflow.deployment.as_str()),
        };
        Ok(Self { workflow, paths })
    }
}
