use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The state schema this plink reads and writes. A file with a higher number is refused.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole state of one deployment.
///
/// It records ids and facts only, never a secret: credentials come from the environment or the
/// user's profiles on every run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateFile {
    pub schema_version: u32,
    /// Identifies this deployment's history; never changes once created.
    pub lineage: String,
    /// Incremented by every write.
    pub serial: u64,
    pub deployment: String,
    pub workflow: String,
    /// `plink <version>` that wrote the file last.
    pub written_by: String,
    pub updated_at: String,
    #[serde(default)]
    pub steps: BTreeMap<String, StepRecord>,
    /// When `plink down` last finished tearing the deployment down (RFC 3339); the lineage and
    /// serial go on, so a later `up` starts a new life of the same deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroyed_at: Option<String>,
}

impl StateFile {
    /// A new, empty state for `deployment` (not yet written anywhere).
    pub fn new(deployment: &str, workflow: &str) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            deployment: deployment.to_owned(),
            workflow: workflow.to_owned(),
            written_by: writer(),
            updated_at: now_rfc3339(),
            steps: BTreeMap::new(),
            destroyed_at: None,
        }
    }

    /// The record of `step`, created on first use.
    pub fn step_mut(&mut self, step: &str) -> &mut StepRecord {
        self.steps.entry(step.to_owned()).or_default()
    }

    pub fn step(&self, step: &str) -> Option<&StepRecord> {
        self.steps.get(step)
    }

    /// What `step` recorded, as `T`; `None` when it recorded nothing or something else.
    pub fn outputs<T: serde::de::DeserializeOwned>(&self, step: &str) -> Option<T> {
        serde_json::from_value(Value::Object(self.step(step)?.outputs.clone())).ok()
    }
}

/// Left where a state was by `plink state migrate`, in its place: where it went. A command on
/// the old location is refused with it rather than starting a second, empty state of the same
/// deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    /// Where the state is now, as `--state` takes it (a file path or `s3://bucket/prefix/`).
    pub moved_to: String,
    pub lineage: String,
    pub serial: u64,
    /// When (RFC 3339).
    pub at: String,
}

impl Moved {
    /// The marker for `state`, moved to `to`.
    pub fn new(state: &StateFile, to: &str) -> Self {
        Self {
            moved_to: to.to_owned(),
            lineage: state.lineage.clone(),
            serial: state.serial,
            at: now_rfc3339(),
        }
    }
}

/// What is known about one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub status: StepStatus,
    /// A mutating call that was started and whose result was not recorded yet: on resume the step
    /// looks for what it may have created (token, tags, natural key) before trying again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<Intent>,
    /// Ids and facts the step recorded (e.g. `vpc_endpoint_id`), read by later steps and `status`.
    #[serde(default)]
    pub outputs: Map<String, Value>,
    /// Bumped when a resource the step created is gone and must be created anew, so that a new
    /// idempotency token is used (an old token would return the deleted resource).
    #[serde(default)]
    pub generation: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub updated_at: String,
}

impl Default for StepRecord {
    fn default() -> Self {
        Self {
            status: StepStatus::Pending,
            intent: None,
            outputs: Map::new(),
            generation: 0,
            error: None,
            updated_at: now_rfc3339(),
        }
    }
}

/// Where a step stands, as last recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Pending,
    Running,
    Done,
    Failed,
}

impl std::fmt::Display for StepStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        })
    }
}

/// A write-ahead record of a mutating call (field notes §C.1, Pulumi's pending operations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// What was about to be done, e.g. `create_vpc_endpoint`.
    pub action: String,
    /// The idempotency token sent with the call, where the API takes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// How to find the result without its id (name, tags, endpoint service, ...).
    #[serde(default)]
    pub natural_key: BTreeMap<String, String>,
    pub started_at: String,
}

impl Intent {
    pub fn new(action: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            token: None,
            natural_key: BTreeMap::new(),
            started_at: now_rfc3339(),
        }
    }

    /// The idempotency token the call carries.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// One part of the natural key the result can be found by.
    pub fn key(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.natural_key.insert(name.into(), value.into());
        self
    }
}

pub(crate) fn writer() -> String {
    format!("plink {}", env!("CARGO_PKG_VERSION"))
}

pub(crate) fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
