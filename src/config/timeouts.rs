/*!
How long plink waits for each asynchronous cloud state before giving up (resumably).
*/

use std::time::Duration;

use serde::{Serialize, Serializer};

/// Wait limits, one per asynchronous state change. Every field defaults independently; a timeout
/// ends the run with a resumable error, it never deletes anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timeouts {
    /// Interface endpoint `available` (default 10m).
    #[serde(serialize_with = "human")]
    pub endpoint: Duration,
    /// Network load balancer `active` (default 15m).
    #[serde(serialize_with = "human")]
    pub load_balancer: Duration,
    /// VPC endpoint service `Available` (default 10m).
    #[serde(serialize_with = "human")]
    pub endpoint_service: Duration,
    /// Private endpoint rule leaves `CREATING` and reports its `vpc_endpoint_id` (default 30m).
    #[serde(serialize_with = "human")]
    pub rule_endpoint: Duration,
    /// Rule `ESTABLISHED` after the connection is accepted (default 30m).
    #[serde(serialize_with = "human")]
    pub rule_established: Duration,
    /// Workspace `RUNNING` again after binding the NCC (default 20m).
    #[serde(serialize_with = "human")]
    pub workspace: Duration,
}

const MINUTE: u64 = 60;

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            endpoint: Duration::from_secs(10 * MINUTE),
            load_balancer: Duration::from_secs(15 * MINUTE),
            endpoint_service: Duration::from_secs(10 * MINUTE),
            rule_endpoint: Duration::from_secs(30 * MINUTE),
            rule_established: Duration::from_secs(30 * MINUTE),
            workspace: Duration::from_secs(20 * MINUTE),
        }
    }
}

/// Durations serialize as humantime strings (`"10m"`), the way they are written in the file.
fn human<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_duration(*duration))
}

/// Parses a timeout value.
///
/// # Errors
/// A message if the text is not a humantime duration or is zero.
pub(crate) fn parse_timeout(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => Err(format!(
            "expected a duration greater than zero, found {text:?}"
        )),
        Ok(duration) => Ok(duration),
        Err(error) => Err(format!(
            "expected a duration like \"90s\", \"10m\" or \"1h 30m\", found {text:?} ({error})"
        )),
    }
}
