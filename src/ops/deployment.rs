use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::aws::{AwsClients, AwsConnect};
use crate::config::{ConfigError, StateBackend};
use crate::state::remote::{RemoteState, S3Location};
use crate::state::{StateError, StateFile, StatePaths, StateStore, read_moved, read_state};
use crate::workflow::{self, Graph, Loaded, WorkflowKind};

/// A workflow file read by its kind, and where its state lives.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub workflow: Loaded,
    /// The state file; with `remote`, only how messages name the S3 object.
    pub paths: StatePaths,
    /// The state is on S3, shared by a team's machines (issue #14).
    pub remote: Option<S3Location>,
}

/// `--state`: a state file (one workflow), or an S3 prefix under which each deployment's state
/// lives (`s3://bucket/prefix/`, any number of workflows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateChoice {
    File(PathBuf),
    S3(S3Location),
}

impl std::str::FromStr for StateChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.starts_with("s3://") {
            S3Location::parse(s).map(StateChoice::S3)
        } else {
            Ok(StateChoice::File(PathBuf::from(s)))
        }
    }
}

/// As `--state` takes it: the file's absolute path (it is read from other working
/// directories: `plink state migrate` writes it where the state was), or `s3://bucket/prefix/`.
impl std::fmt::Display for StateChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateChoice::File(p) => {
                let p = std::path::absolute(p).unwrap_or_else(|_| p.clone());
                write!(f, "{}", p.display())
            }
            StateChoice::S3(at) if at.prefix.is_empty() => write!(f, "s3://{}/", at.bucket),
            StateChoice::S3(at) => write!(f, "s3://{}/{}/", at.bucket, at.prefix),
        }
    }
}

/// Where a deployment's state is when nothing says otherwise: `.plink/<deployment>/state.json`
/// under the current directory.
fn local_default(deployment: &str) -> StatePaths {
    StatePaths::for_deployment(Path::new("."), deployment)
}

impl StateChoice {
    /// `deployment`'s state file (for S3: how messages name the object) and S3 location.
    fn locate(&self, deployment: &str) -> (StatePaths, Option<S3Location>) {
        match self {
            StateChoice::File(p) => (StatePaths::at(p), None),
            StateChoice::S3(at) => (StatePaths::at(at.state_url(deployment)), Some(at.clone())),
        }
    }
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
        "--state names one state file: give exactly one workflow file with it ({0} deployments given), or an s3:// prefix"
    )]
    StateWithSeveral(usize),
}

impl Deployment {
    /// Loads `file`; the state is `state` if given (`--state`), else where the file's `[state]`
    /// says, else `.plink/<deployment>/state.json` under the current directory.
    ///
    /// # Errors
    /// [`ConfigError`] when the workflow file is missing or invalid, or names an unknown kind.
    pub fn load(file: &Path, state: Option<&StateChoice>) -> Result<Self, ConfigError> {
        let workflow = workflow::load(file)?;
        let name = workflow.deployment.as_str();
        // `--state` replaces `[state]` as a whole: one place says where the state is.
        let choice = state.cloned().or_else(|| match &workflow.state {
            StateBackend::S3(settings) => {
                Some(StateChoice::S3(S3Location::from_settings(settings)))
            }
            StateBackend::Local => None,
        });
        let (paths, remote) = match &choice {
            Some(choice) => choice.locate(name),
            None => (local_default(name), None),
        };
        Ok(Self {
            workflow,
            paths,
            remote,
        })
    }

    /// Locks and loads the deployment's state for `operation`: the file, or the object on S3;
    /// `read_only` for a command that never writes it (see [`StateStore::open_read_only`]).
    ///
    /// # Errors
    /// The [`StateError`]s of [`StateStore::open`] and [`StateStore::open_s3`];
    /// [`StateError::Moved`] when `plink state migrate` moved the state elsewhere.
    pub async fn open_state(
        &self,
        operation: &str,
        read_only: bool,
    ) -> Result<StateStore, StateError> {
        let store = self.open_store(operation, read_only).await?;
        // Only a state never written here can have been moved away: one check (one request on
        // S3) on a deployment's first run, none after.
        if store.snapshot().serial == 0
            && let Some(moved) = store.moved()?
        {
            return Err(StateError::Moved {
                path: self.paths.state.clone(),
                moved,
            });
        }
        Ok(store)
    }

    /// [`open_state`](Self::open_state) without asking whether the state moved (a copy's
    /// destination: `plink state migrate` back to where it was).
    pub(crate) async fn open_store(
        &self,
        operation: &str,
        read_only: bool,
    ) -> Result<StateStore, StateError> {
        let (name, kind) = (self.name(), self.kind().name());
        match &self.remote {
            Some(at) => {
                let aws = self.state_clients(at).await;
                StateStore::open_s3(aws, at.clone(), name, kind, operation, read_only).await
            }
            None if read_only => {
                StateStore::open_read_only(self.paths.clone(), name, kind, operation)
            }
            None => StateStore::open(self.paths.clone(), name, kind, operation),
        }
    }

    /// The deployment's state as it is now, without locking it (`status`); `None` when it never
    /// ran.
    ///
    /// # Errors
    /// The state cannot be read (or, on S3, reached); [`StateError::Moved`] when `plink state
    /// migrate` moved it elsewhere.
    pub async fn read_state(&self) -> Result<Option<StateFile>, StateError> {
        let (state, moved) = match &self.remote {
            Some(at) => {
                let aws = self.state_clients(at).await;
                let (remote, state) = RemoteState::load(aws, at.clone(), self.name()).await?;
                let moved = match state {
                    Some(_) => None,
                    None => remote.moved().await?,
                };
                (state, moved)
            }
            None => {
                let state = read_state(&self.paths)?;
                let moved = match state {
                    Some(_) => None,
                    None => read_moved(&self.paths)?,
                };
                (state, moved)
            }
        };
        match moved {
            Some(moved) => Err(StateError::Moved {
                path: self.paths.state.clone(),
                moved,
            }),
            None => Ok(state),
        }
    }

    /// The same deployment with its state at `state` instead (`plink state` copies between
    /// two places).
    pub fn with_state(&self, state: &StateChoice) -> Self {
        let (paths, remote) = state.locate(self.name());
        Self {
            workflow: self.workflow.clone(),
            paths,
            remote,
        }
    }

    /// The local file the state would be in without `--state` or `[state]`.
    pub fn local_default(&self) -> PathBuf {
        local_default(self.name()).state
    }

    /// Where the state is, as `--state` would say it.
    pub fn state_choice(&self) -> StateChoice {
        match &self.remote {
            Some(at) => StateChoice::S3(at.clone()),
            None => StateChoice::File(self.paths.state.clone()),
        }
    }

    /// The AWS clients of the state bucket at `at`: the credential chain and `aws.profile` of
    /// the workflow file, then `at`'s role if it has one; in `at`'s region, else the workflow's
    /// (`us-east-1` for account-wide kinds). No call is made until the state is read.
    pub async fn state_clients(&self, at: &S3Location) -> AwsClients {
        let clouds = &self.workflow.clouds;
        let region = at
            .region
            .as_deref()
            .or(clouds.region.as_ref().map(|r| r.as_str()))
            .unwrap_or("us-east-1");
        let mut aws = AwsConnect::new(region);
        if let Some(p) = &clouds.aws_profile {
            aws = aws.profile(p);
        }
        if let Some(role) = &at.role_arn {
            aws = aws.role_arn(role);
        }
        aws.lazy().await
    }

    /// Loads every workflow file of `targets` (files, or directories whose `*.toml` files are
    /// taken in name order). All files are validated before anything runs, and each deployment
    /// name may appear once.
    ///
    /// # Errors
    /// [`DeploymentSetError`], listing every invalid file at once.
    pub fn load_all(
        targets: &[PathBuf],
        state: Option<&StateChoice>,
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
        if matches!(state, Some(StateChoice::File(_))) && files.len() > 1 {
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
