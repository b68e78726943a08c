//! A private instance of the project's local AWS emulator (`localstack/up`) for one test.
//!
//! The stack directory comes from `PLINK_LOCALSTACK_DIR`, default `<crate>/localstack`. When it has
//! no `up` script the tests print why and pass without running (the emulator lives in another
//! tree until the lead merges it). Each [`LocalStack`] has its own run directory (own ports, own
//! state) and is stopped on drop.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::config::Credentials;
use plink::aws::AwsClients;

/// The customer account of the emulator's fixtures.
pub const CUSTOMER_ACCOUNT: &str = "123456789012";
/// Databricks' AWS account (commercial partition).
pub const DATABRICKS_ACCOUNT: &str = "565502421330";
pub const REGION: &str = "us-east-1";

/// A private instance of the local stack, stopped on drop.
pub struct LocalStack {
    localstack_dir: PathBuf,
    run_dir: tempfile::TempDir,
    exports: BTreeMap<String, String>,
}

fn localstack_dir() -> PathBuf {
    std::env::var_os("PLINK_LOCALSTACK_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("localstack"))
}

/// Parses `export NAME=value` lines (values possibly single- or double-quoted).
pub fn parse_exports(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .or_else(|| v.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
                .unwrap_or(v);
            (k.trim().to_owned(), v.to_owned())
        })
        .collect()
}

impl LocalStack {
    /// Starts a stack in a fresh temporary run directory with time scaled by 0.002
    /// (a 60 s endpoint provisioning takes 0.12 s). `None` (after printing why) when the
    /// emulator is not in this tree.
    pub fn start() -> Self {
        let dir = localstack_dir();
        let up = dir.join("up");
        // The stack is part of the repository: its absence is a failure, never a skip.
        assert!(
            up.is_file(),
            "no local stack at {} (set PLINK_LOCALSTACK_DIR to a directory with an `up` script)",
            up.display()
        );
        let run_dir = tempfile::Builder::new()
            .prefix("plink-aws-test-")
            .tempdir()
            .expect("temp dir");
        let out = Command::new(&up)
            .env("PLINK_STACK_DIR", run_dir.path())
            .env("PLINK_STACK_TIME_SCALE", "0.002")
            .env_remove("PLINK_STACK_AWS_PORT")
            .env_remove("PLINK_STACK_DB_PORT")
            .output()
            .expect("run localstack/up");
        let stack = Self {
            localstack_dir: dir,
            exports: parse_exports(&String::from_utf8_lossy(&out.stdout)),
            run_dir,
        };
        assert!(
            out.status.success(),
            "localstack/up failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stack.exports.contains_key("AWS_ENDPOINT_URL"),
            "no AWS_ENDPOINT_URL in: {:?}",
            stack.exports
        );
        stack
    }

    pub fn var(&self, name: &str) -> &str {
        self.exports
            .get(name)
            .unwrap_or_else(|| panic!("{name} not exported by localstack/up"))
    }

    pub fn exports(&self) -> &BTreeMap<String, String> {
        &self.exports
    }

    pub fn endpoint_url(&self) -> &str {
        self.var("AWS_ENDPOINT_URL")
    }

    fn control_url(&self, route: &str) -> String {
        format!(
            "http://127.0.0.1:{}/_plink/{route}",
            self.var("PLINK_STACK_AWS_PORT")
        )
    }

    /// Clients of the fixtures' customer account with the SDK's standard retries.
    pub async fn clients(&self) -> AwsClients {
        self.clients_with(CUSTOMER_ACCOUNT, 3).await
    }

    /// Clients acting as `account` (the emulator maps a 12-digit access key id to that account),
    /// with `max_attempts` SDK attempts per call.
    pub async fn clients_with(&self, account: &str, max_attempts: u32) -> AwsClients {
        let config = self.sdk_config(account, max_attempts).await;
        AwsClients::from_config(&config, REGION.into(), account.into())
    }

    /// An SDK configuration pointing at this stack, built without touching the process
    /// environment (tests run in parallel threads).
    pub async fn sdk_config(&self, account: &str, max_attempts: u32) -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(self.endpoint_url())
            .credentials_provider(Credentials::new(
                account,
                "plink-local-stack",
                None,
                None,
                "plink-test",
            ))
            .retry_config(
                aws_config::retry::RetryConfig::standard()
                    .with_max_attempts(max_attempts)
                    .with_initial_backoff(Duration::from_millis(20)),
            )
            .load()
            .await
    }

    /// Sets the emulator's fault plan.
    pub async fn set_faults(&self, plan: serde_json::Value) {
        let resp = reqwest::Client::new()
            .post(self.control_url("faults"))
            .json(&plan)
            .send()
            .await
            .expect("POST /_plink/faults");
        assert!(
            resp.status().is_success(),
            "fault plan refused: {}",
            resp.text().await.unwrap_or_default()
        );
    }

    /// Reads the fault plan with its counters.
    pub async fn faults(&self) -> serde_json::Value {
        reqwest::Client::new()
            .get(self.control_url("faults"))
            .send()
            .await
            .expect("GET /_plink/faults")
            .json()
            .await
            .expect("fault plan JSON")
    }

    /// The seeded fixtures (VPC, subnets).
    pub async fn fixtures(&self) -> serde_json::Value {
        reqwest::Client::new()
            .get(self.control_url("fixtures"))
            .send()
            .await
            .expect("GET /_plink/fixtures")
            .json()
            .await
            .expect("fixtures JSON")
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        let result = Command::new(self.localstack_dir.join("down"))
            .env("PLINK_STACK_DIR", self.run_dir.path())
            .output();
        if let Err(e) = result {
            eprintln!("localstack/down failed: {e}");
        }
    }
}

/// Polls `check` every 20 ms until it returns `Some`, for at most `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether an IPv4 address lies inside a CIDR block.
pub fn ipv4_in_cidr(ip: &str, cidr: &str) -> bool {
    let (net, len) = cidr.split_once('/').expect("CIDR");
    let len: u32 = len.parse().expect("prefix length");
    let ip: std::net::Ipv4Addr = ip.parse().expect("IPv4");
    let net: std::net::Ipv4Addr = net.parse().expect("IPv4 network");
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    (u32::from(ip) & mask) == (u32::from(net) & mask)
}
