use std::path::{Path, PathBuf};

/// Where a deployment's state, backup and lock live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePaths {
    pub state: PathBuf,
}

impl StatePaths {
    /// The default location: `<root>/.plink/<deployment>/state.json`.
    pub fn for_deployment(root: &Path, deployment: &str) -> Self {
        Self {
            state: root.join(".plink").join(deployment).join("state.json"),
        }
    }

    /// An explicit state file (`--state PATH`).
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { state: path.into() }
    }

    /// The previous version of the state file, kept by every write.
    pub fn backup(&self) -> PathBuf {
        with_suffix(&self.state, ".bak")
    }

    pub fn lock(&self) -> PathBuf {
        with_suffix(&self.state, ".lock")
    }

    /// Where `plink state migrate` says the state went ([`Moved`](super::Moved)).
    pub fn moved(&self) -> PathBuf {
        with_suffix(&self.state, ".moved")
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        self.state
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
