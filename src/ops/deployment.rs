use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::ConfigError;
use crate::state::StatePaths;
use crate::workflow::{self, Graph, Loaded, WorkflowKind};

/// A workflow file read by its kind, and where its state lives.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub workflow: Loaded,
    pub paths: StatePaths,
}

/// Why a set of workflow files cannot be used together (exit code 3, like an invalid file).
#[derive(Debug, thiserror::Error)]
pub enum DeploymentSetError {
    /// One or more files are invalid: every error of every file, one per line.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ConfigError>),
    #[error("{}: no workflow files (*.toml) in this directory", .0.display())]
    EmptyDirectory(PathBuf),
    #[error("{}: cannot list the directory: {}", .0.display(), .1)]
    Unlistable(PathBuf, std::io::Error),
    #[error("deployment \"{name}\" is defined twice: {} and {}", .first.display(), .second.display())]
    DuplicateDeployment {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error(
        "--state names one state file: give exactly one workflow file with it ({0} deployments given)"
    )]
    StateWithSeveral(usize),
}

impl Deployment {
    /// Loads `file`; the state is `state` if given, else `.plink/<deployment>/state.json` under the
    /// current directory.
    ///
    /// # Errors
    /// [`ConfigError`] when the workflow file is missing or invalid, or names an unknown kind.
    pub fn load(file: &Path, state: Option<&Path>) -> Result<Self, ConfigError> {
        let workflow = workflow::load(file)?;
        let paths = match state {
            Some(p) => StatePaths::at(p),
            None => StatePaths::for_deployment(Path::new("."), workflow.deployment.as_str()),
        };
        Ok(Self { workflow, paths })
    }

    /// Loads every workflow file of `targets` (files, or directories whose `*.toml` files are
    /// taken in name order). All files are validated before anything runs, and each deployment
    /// name may appear once.
    ///
    /// # Errors
    /// [`DeploymentSetError`], listing every invalid file at once.
    pub fn load_all(
        targets: &[PathBuf],
        state: Option<&Path>,
    ) -> Result<Vec<Self>, DeploymentSetError> {
        let mut files = Vec::new();
        for target in targets {
            if target.is_dir() {
                let mut found: Vec<PathBuf> = std::fs::read_dir(target)
                    .map_err(|e| DeploymentSetError::Unlistable(target.clone(), e))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
                    .collect();
                if found.is_empty() {
                    return Err(DeploymentSetError::EmptyDirectory(target.clone()));
                }
                found.sort();
                files.extend(found);
            } else {
                files.push(target.clone());
            }
        }
        if state.is_some() && files.len() > 1 {
            return Err(DeploymentSetError::StateWithSeveral(files.len()));
        }
        let mut loaded = Vec::new();
        let mut errors = Vec::new();
        for file in &files {
            match Self::load(file, state) {
                Ok(d) => loaded.push(d),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(DeploymentSetError::Invalid(errors));
        }
        let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
        for d in &loaded {
            let name = d.workflow.deployment.as_str().to_owned();
            if let Some(first) = seen.insert(name.clone(), d.workflow.source.clone()) {
                return Err(DeploymentSetError::DuplicateDeployment {
                    name,
                    first,
                    second: d.workflow.source.clone(),
                });
            }
        }
        Ok(loaded)
    }

    /// The deployment's workflow kind.
    pub fn kind(&self) -> &'static dyn WorkflowKind {
        self.workflow.kind
    }

    /// The graph of the deployment's kind.
    pub fn graph(&self) -> &Graph {
        &self.workflow.graph
    }

    /// The deployment's name.
    pub fn name(&self) -> &str {
        self.workflow.deployment.as_str()
    }
}
