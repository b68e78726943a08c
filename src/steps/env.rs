use std::sync::Arc;
use std::time::Duration;

use crate::aws::AwsClients;
use crate::config::Workflow;
use crate::databricks::AccountClient;
use crate::engine::WaitPolicy;

/// What every step of `s3-privatelink` shares: the validated workflow and the cloud clients.
pub struct StepEnv {
    pub workflow: Arc<Workflow>,
    pub aws: AwsClients,
    pub databricks: AccountClient,
    /// Allow switching a workspace bound to another NCC (`--replace-ncc-binding`).
    pub replace_ncc_binding: bool,
    /// Poll intervals are divided by this (1 against real clouds; the local stack runs on
    /// scaled time, see `PLINK_WAIT_SCALE` in the README).
    pub wait_scale: u32,
}

impl StepEnv {
    /// A wait polling from `initial` up to `max_interval` seconds, for at most `timeout`.
    pub fn wait(&self, initial_secs: u64, max_secs: u64, timeout: Duration) -> WaitPolicy {
        WaitPolicy::new(
            Duration::from_secs(initial_secs),
            Duration::from_secs(max_secs),
            timeout,
        )
        .scaled_down(self.wait_scale)
    }

    /// The region of the deployment.
    pub fn region(&self) -> &str {
        self.workflow.aws.region.as_str()
    }
}

/// Reads `PLINK_WAIT_SCALE` (default 1; values below 1 are taken as 1).
pub fn wait_scale_from_env() -> u32 {
    std::env::var("PLINK_WAIT_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v| *v >= 1)
        .unwrap_or(1)
}

/// Shared handle type for steps.
pub type Env = Arc<StepEnv>;
