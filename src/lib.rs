//! # plink
//!
//! Private connectivity (AWS PrivateLink) from Databricks serverless compute to resources in a
//! customer VPC, end to end: `plink up` creates an S3 interface endpoint, an internal NLB in front
//! of it, a VPC endpoint service, a Databricks NCC with a private endpoint rule, accepts exactly the
//! connection Databricks opens, waits until the rule is `ESTABLISHED`, and binds the NCC to the
//! workspaces. Every run can be killed at any moment; the next run finishes the job.
//!
//! Architecture (one module per layer, top to bottom):
//! - [`cli`]: argument parsing and rendering only; maps errors to exit codes.
//! - [`config`]: workflow files (TOML), parsed strictly and validated into a typed [`config::Workflow`].
//! - [`workflow`]: *what* to do: the step graph of each workflow.
//! - [`engine`]: *how* to run it durably: scheduling, intents, waits, retries, interrupts.
//! - [`state`]: the state file (atomic writes, backups, schema versions) and its lock.
//! - [`databricks`]: a small Databricks account API client (unified auth, OAuth M2M).

pub mod aws;
pub mod cli;
pub mod config;
pub mod databricks;
pub mod engine;
pub mod ops;
pub mod resources;
pub mod state;
pub mod steps;
pub mod workflow;
