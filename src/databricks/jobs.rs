//! One-time runs (Jobs API 2.2, `/api/2.2/jobs/runs/*`) on serverless compute, on the workspace's
//! host: what `plink verify` submits to probe the path from inside a workspace (issue #15;
//! `localstack/CONTRACT.md` "Verify task").

use serde::Deserialize;
use serde_json::json;

use super::client::ApiRequest;
use super::error::DatabricksError;
use super::sql::WorkspaceClient;

const RUNS: &str = "/api/2.2/jobs/runs";

/// A one-time run of one serverless `spark_python_task`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitRun {
    pub run_name: String,
    /// At most 64 characters; the same token always gives the same run (Jobs API
    /// `idempotency_token`), so a submit whose answer was lost can be sent again.
    pub idempotency_token: String,
    /// A workspace **file** (not a notebook).
    pub python_file: String,
    pub parameters: Vec<String>,
    /// The platform stops the run after this long (`timeout_seconds`).
    pub timeout_seconds: u64,
}

/// A run's state (`RunState`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RunState {
    /// `PENDING`, `QUEUED`, `RUNNING`, `TERMINATING`, `TERMINATED`, `SKIPPED`,
    /// `INTERNAL_ERROR`, `BLOCKED`, `WAITING_FOR_RETRY`.
    pub life_cycle_state: String,
    /// Once terminated: `SUCCESS`, `FAILED`, `TIMEDOUT`, `CANCELED`, …
    pub result_state: Option<String>,
    pub state_message: String,
}

impl RunState {
    /// Whether the run will not change any more.
    pub fn is_final(&self) -> bool {
        matches!(
            self.life_cycle_state.as_str(),
            "TERMINATED" | "SKIPPED" | "INTERNAL_ERROR"
        )
    }

    /// `TERMINATED/SUCCESS`, `INTERNAL_ERROR`, `RUNNING`: how messages show it.
    pub fn show(&self) -> String {
        match &self.result_state {
            Some(r) => format!("{}/{r}", self.life_cycle_state),
            None => self.life_cycle_state.clone(),
        }
    }
}

/// One task of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RunTask {
    pub run_id: i64,
    pub task_key: String,
    pub state: RunState,
}

/// A run (`runs/get`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Run {
    pub run_id: i64,
    pub state: RunState,
    pub tasks: Vec<RunTask>,
    pub run_page_url: Option<String>,
}

/// What a task printed (`runs/get-output`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RunOutput {
    /// The task's stdout (a `spark_python_task`'s), possibly truncated.
    pub logs: Option<String>,
    pub logs_truncated: bool,
    /// Why the task failed, when it did.
    pub error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Submitted {
    run_id: i64,
}

impl WorkspaceClient {
    /// Submits a one-time run on serverless compute (`POST …/runs/submit`; no cluster spec,
    /// `environment_key` with environment version 2). Retried like a read: the idempotency
    /// token makes a replayed submit return the run of the first one.
    ///
    /// # Errors
    /// The server's error (`InvalidParameter`, `ResourceDoesNotExist`, …).
    pub async fn submit_run(&self, run: &SubmitRun) -> Result<i64, DatabricksError> {
        let body = json!({
            "run_name": run.run_name,
            "idempotency_token": run.idempotency_token,
            "timeout_seconds": run.timeout_seconds,
            "tasks": [{
                "task_key": "verify",
                "environment_key": "plink",
                "spark_python_task": {
                    "python_file": run.python_file,
                    "source": "WORKSPACE",
                    "parameters": run.parameters,
                },
            }],
            "environments": [{"environment_key": "plink", "spec": {"environment_version": "2"}}],
        });
        let path = format!("{RUNS}/submit");
        let answer: Submitted = self.call(ApiRequest::post_replayable(path, body)).await?;
        Ok(answer.run_id)
    }

    /// A run and its tasks (`GET …/runs/get`). Retried.
    ///
    /// # Errors
    /// The server's error (`NotFound`/`InvalidParameter` for an unknown run).
    pub async fn get_run(&self, run_id: i64) -> Result<Run, DatabricksError> {
        let request = ApiRequest::get(format!("{RUNS}/get")).query("run_id", run_id.to_string());
        self.call(request).await
    }

    /// What one **task** run printed (`GET …/runs/get-output`; a multi-task parent is refused).
    /// Retried.
    ///
    /// # Errors
    /// The server's error.
    pub async fn get_run_output(&self, task_run_id: i64) -> Result<RunOutput, DatabricksError> {
        let request =
            ApiRequest::get(format!("{RUNS}/get-output")).query("run_id", task_run_id.to_string());
        self.call(request).await
    }

    /// Cancels a run (`POST …/runs/cancel`); cancelling a finished run changes nothing.
    /// Retried.
    ///
    /// # Errors
    /// The server's error.
    pub async fn cancel_run(&self, run_id: i64) -> Result<(), DatabricksError> {
        let body = json!({ "run_id": run_id });
        self.send(ApiRequest::post_replayable(format!("{RUNS}/cancel"), body))
            .await
            .map(drop)
    }
}
