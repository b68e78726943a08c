//! The probe of `plink verify` (issue #15 item 1, second half): in each workspace, plink uploads
//! its task (`task.py`) as a workspace file, submits it as a one-time run on serverless compute,
//! waits for it, reads what the task printed (one JSON line per destination,
//! `localstack/CONTRACT.md` "Verify task"), and deletes the file whatever happened — cancelling
//! a run it gave up on (timeout, Ctrl-C).

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::databricks::{DatabricksError, Run, SubmitRun, WorkspaceClient};
use crate::engine::{Interrupt, WaitPolicy};
use crate::resources::Env;
use crate::workflow::reach::Destination;

/// The task, as uploaded: stdlib Python, no secret (it gets only the destinations).
pub const TASK: &str = include_str!("task.py");

/// How long a run may take, queueing on serverless compute included, before plink cancels it.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// What a destination's report line says (the task's JSON, its emulator-only field dropped).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reached {
    pub name: String,
    pub ok: bool,
    pub error: Option<String>,
    pub message: Option<String>,
    /// The whole line, as the task printed it (without `emulator`).
    pub line: Value,
}

impl Reached {
    /// One line of the report: `ok   s3://bucket  10.0.1.5, 10.0.2.7 (private) 3 ms TLSv1.3 …`.
    pub fn show(&self) -> String {
        let l = &self.line;
        let addresses: Vec<&str> = l["addresses"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut parts = Vec::new();
        if !addresses.is_empty() {
            let private = if l["private"].as_bool() == Some(true) {
                "private"
            } else {
                "public"
            };
            parts.push(format!("{} ({private})", addresses.join(", ")));
        }
        if let Some(ms) = l["connect_ms"].as_u64() {
            parts.push(format!("connect {ms} ms"));
        }
        match &l["tls"] {
            Value::Object(t) if t.get("ok").and_then(Value::as_bool) == Some(true) => {
                parts.push(format!(
                    "TLS {}",
                    t.get("version").and_then(Value::as_str).unwrap_or("ok")
                ))
            }
            Value::Object(_) => parts.push("TLS failed".into()),
            _ => {}
        }
        if let Some(status) = l["list_objects_v2"]["http_status"].as_u64() {
            parts.push(format!("ListObjectsV2 {status}"));
        }
        if let Some(e) = &self.error {
            parts.push(format!(
                "{e}: {}",
                self.message.as_deref().unwrap_or_default()
            ));
        }
        parts.join(", ")
    }
}

/// The probe of one workspace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkspaceProbe {
    pub workspace_id: i64,
    pub run_id: Option<i64>,
    /// The run's final state (`TERMINATED/SUCCESS`, …).
    pub run_state: Option<String>,
    pub destinations: Vec<Reached>,
    /// Why the probe did not give a report (the run failed, the workspace refused plink, …).
    pub error: Option<String>,
    /// Whether the uploaded task file was deleted.
    pub cleaned_up: bool,
}

impl WorkspaceProbe {
    /// Whether every destination was reached.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.destinations.iter().all(|d| d.ok)
    }
}

/// Probes `destinations` from workspace `workspace_id`. `nonce` is this invocation's: the run's
/// idempotency token is derived from the deployment, the workspace and it, so a retried submit
/// returns the same run and another `verify` makes a new one. Never fails: what went wrong is in
/// [`WorkspaceProbe::error`].
pub async fn workspace(
    env: &Env,
    workspace_id: i64,
    destinations: &[Destination],
    nonce: &str,
    interrupt: &Interrupt,
) -> WorkspaceProbe {
    let mut probe = WorkspaceProbe {
        workspace_id,
        run_id: None,
        run_state: None,
        destinations: Vec::new(),
        error: None,
        cleaned_up: false,
    };
    let client = match env.workspace(workspace_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            probe.error = Some(format!("workspace {workspace_id} does not exist"));
            return probe;
        }
        Err(e) => {
            probe.error = Some(e.to_string());
            return probe;
        }
    };
    let token = token(&env.deployment, workspace_id, nonce);
    let file = match upload(&client, &env.deployment, &token).await {
        Ok(file) => file,
        Err(e) => {
            probe.error = Some(format!("uploading the task: {e}"));
            return probe;
        }
    };
    let submit = SubmitRun {
        run_name: format!("plink verify {}", env.deployment),
        idempotency_token: token,
        python_file: file.clone(),
        parameters: vec![parameter(destinations)],
        timeout_seconds: RUN_TIMEOUT.as_secs(),
    };
    let outcome = tokio::select! {
        r = run(env, &client, &submit, &mut probe) => r,
        () = interrupt.triggered() => Err("interrupted".to_owned()),
    };
    if let Err(e) = outcome {
        // A run plink gave up on is cancelled: it would only spend serverless compute.
        if let Some(id) = probe.run_id {
            if let Err(c) = client.cancel_run(id).await {
                tracing::warn!(run_id = id, "cancelling the verify run: {c}");
            }
        }
        probe.error = Some(e);
    }
    probe.cleaned_up = match client.delete_path(&file, false).await {
        Ok(()) => true,
        Err(e) => {
            let left = format!("the task file {file} could not be deleted: {e}");
            probe.error = Some(match probe.error.take() {
                Some(first) => format!("{first}; {left}"),
                None => left,
            });
            false
        }
    };
    probe
}

/// Submits the run, waits until it ends and reads its report into `probe`.
async fn run(
    env: &Env,
    client: &WorkspaceClient,
    submit: &SubmitRun,
    probe: &mut WorkspaceProbe,
) -> Result<(), String> {
    let fail = |what: &str, e: DatabricksError| format!("{what}: {e}");
    let run_id = client
        .submit_run(submit)
        .await
        .map_err(|e| fail("submitting the run", e))?;
    probe.run_id = Some(run_id);
    let run = wait(env, client, run_id).await?;
    probe.run_state = Some(run.state.show());
    let Some(task) = run.tasks.first() else {
        return Err(format!("run {run_id} has no task"));
    };
    let output = client
        .get_run_output(task.run_id)
        .await
        .map_err(|e| fail("reading the run's output", e))?;
    if run.state.result_state.as_deref() != Some("SUCCESS") {
        return Err(format!(
            "run {run_id} ended {}: {}",
            run.state.show(),
            output
                .error
                .as_deref()
                .filter(|e| !e.is_empty())
                .unwrap_or(&run.state.state_message)
        ));
    }
    probe.destinations = report(output.logs.as_deref().unwrap_or_default());
    if probe.destinations.len() != submit_count(submit) {
        return Err(format!(
            "run {run_id} reported {} of {} destinations{}",
            probe.destinations.len(),
            submit_count(submit),
            if output.logs_truncated {
                " (its output was truncated)"
            } else {
                ""
            }
        ));
    }
    Ok(())
}

fn submit_count(submit: &SubmitRun) -> usize {
    submit
        .parameters
        .first()
        .and_then(|p| serde_json::from_str::<Vec<Value>>(p).ok())
        .map_or(0, |v| v.len())
}

/// Polls the run until it ends (the engine's wait policy: first look after the earliest a
/// serverless run is expected to finish, then every 10 % of the time waited), at most
/// [`RUN_TIMEOUT`].
async fn wait(env: &Env, client: &WorkspaceClient, run_id: i64) -> Result<Run, String> {
    let policy = env.wait(15, 30, RUN_TIMEOUT);
    let started = Instant::now();
    loop {
        let run = client
            .get_run(run_id)
            .await
            .map_err(|e| format!("reading run {run_id}: {e}"))?;
        if run.state.is_final() {
            return Ok(run);
        }
        let waited = started.elapsed();
        if waited >= policy.timeout {
            return Err(format!(
                "run {run_id} still {} after {} s: cancelled",
                run.state.show(),
                waited.as_secs()
            ));
        }
        tokio::time::sleep(next(&policy, waited)).await;
    }
}

fn next(policy: &WaitPolicy, waited: Duration) -> Duration {
    policy
        .next_delay(waited)
        .min(policy.timeout.saturating_sub(waited))
}

/// Uploads the task into the caller's home folder, under `.plink/`, named after the token (one
/// file per invocation and workspace: two `verify` runs never share one). Returns its path.
async fn upload(
    client: &WorkspaceClient,
    deployment: &str,
    token: &str,
) -> Result<String, DatabricksError> {
    let folder = format!("{}/.plink", client.home_folder().await?);
    client.mkdirs(&folder).await?;
    let file = format!("{folder}/verify-{deployment}-{token}.py");
    client.import_file(&file, TASK.as_bytes()).await?;
    Ok(file)
}

/// The run's idempotency token: at most 64 characters (Jobs API), the same for a retried submit
/// of this invocation, another for the next.
fn token(deployment: &str, workspace_id: i64, nonce: &str) -> String {
    let mut hash = Sha256::new();
    for part in [deployment, &workspace_id.to_string(), nonce] {
        hash.update(part.as_bytes());
        hash.update([0u8]);
    }
    let hex: String = hash
        .finalize()
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("plink-verify-{hex}")
}

/// The report lines of a task's stdout (lines starting with `{"plink_verify":`; the rest is not
/// the report), without the emulator's `emulator` debugging field.
pub fn report(logs: &str) -> Vec<Reached> {
    logs.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("{\"plink_verify\":"))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|mut line| {
            if let Value::Object(m) = &mut line {
                m.remove("emulator");
            }
            let text = |k: &str| line.get(k).and_then(Value::as_str).map(str::to_owned);
            Reached {
                name: text("name").unwrap_or_default(),
                ok: line.get("ok").and_then(Value::as_bool) == Some(true),
                error: text("error"),
                message: text("message"),
                line,
            }
        })
        .collect()
}

/// The task's parameter: the destinations as one JSON array, as a string.
pub fn parameter(destinations: &[Destination]) -> String {
    // Serializing plain enums and strings cannot fail.
    serde_json::to_string(destinations).unwrap_or_else(|_| "[]".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines_are_the_plink_verify_ones() {
        let logs = "starting\n{\"plink_verify\": 1, \"index\": 0, \"name\": \"s3://b\", \"ok\": false, \
                    \"error\": \"timeout\", \"message\": \"no answer\", \"addresses\": [\"10.0.1.5\"], \
                    \"private\": true, \"emulator\": {\"path\": \"none\"}}\n{\"other\": 1}\n";
        let lines = report(logs);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].name, "s3://b");
        assert!(!lines[0].ok);
        assert_eq!(lines[0].error.as_deref(), Some("timeout"));
        assert!(lines[0].line.get("emulator").is_none());
        assert_eq!(lines[0].show(), "10.0.1.5 (private), timeout: no answer");
    }

    #[test]
    fn tokens_are_per_invocation_and_fit() {
        let a = token("demo", 1, "n1");
        assert_eq!(a, token("demo", 1, "n1"));
        assert_ne!(a, token("demo", 1, "n2"));
        assert_ne!(a, token("demo", 2, "n1"));
        assert!(a.len() <= 64);
    }

    #[test]
    fn the_task_takes_no_secret() {
        for word in [
            "Authorization",
            "Bearer",
            "AWS_SECRET",
            "DATABRICKS_",
            "client_secret",
        ] {
            assert!(!TASK.contains(word), "{word} in task.py");
        }
    }

    #[test]
    fn the_parameter_follows_the_contract() {
        let p = parameter(&[
            Destination::S3 {
                bucket: "b".into(),
                region: "us-east-1".into(),
                endpoint: Some("vpce-1.s3.us-east-1.vpce.amazonaws.com".into()),
            },
            Destination::Tcp {
                host: "pg.internal".into(),
                port: 5432,
                tls: false,
            },
        ]);
        assert_eq!(
            p,
            r#"[{"kind":"s3","bucket":"b","region":"us-east-1","endpoint":"vpce-1.s3.us-east-1.vpce.amazonaws.com"},{"kind":"tcp","host":"pg.internal","port":5432,"tls":false}]"#
        );
    }
}
