//! # plink
//!
//! Private connectivity (AWS PrivateLink) from Databricks serverless compute to resources in a
//! customer VPC, end to end: `plink up` creates an S3 interface endpoint, an internal NLB in front
//! of it, a VPC endpoint service, a Databricks NCC with a private endpoint rule, accepts exactly the
//! connection Databricks opens, waits until the rule is `ESTABLISHED`, and binds the NCC to the
//! workspaces. Every run can be killed at any moment; the next run finishes the job.
//!
//! Architecture (one module per layer, top to bottom; `ARCHITECTURE.md` has the whole map):
//! - [`cli`]: argument parsing and rendering only; maps errors to exit codes; Ctrl-C.
//! - [`ops`]: what each command does, from a deployment's workflow kind and state.
//! - [`workflow`]: *what* to do: workflow kinds as data (their typed config and graph of
//!   resources) and the registry.
//! - [`resources`]: resource kinds, each defined once: lookup, create, compare, wait, observe,
//!   tear down.
//! - [`engine`]: *how* to run a graph durably: scheduling, intents, waits, retries, plans.
//! - [`state`]: the state file (atomic writes, backups, schema versions) and its lock.
//! - [`config`]: the workflow-file toolkit: the `kind` key, strict TOML, typed sections; each
//!   kind composes its typed config from them.
//! - [`aws`], [`databricks`]: typed cloud clients.

pub mod aws;
pub mod cli;
pub mod config;
pub mod databricks;
pub mod engine;
pub mod ops;
pub mod resources;
pub mod state;
pub mod workflow;
