//! A small client of the Databricks **account** API: network connectivity configurations,
//! private endpoint rules, workspaces and network policies; and of a few **workspace** APIs
//! (SQL warehouses, statement execution) (see `shared/reference/databricks-api.md`).
//!
//! # Usage
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use plink::databricks::{AccountClient, CreateRule, Settings, resolve_from_process_env};
//!
//! let config = resolve_from_process_env(&Settings {
//!     profile: Some("plink-acct".into()),
//!     ..Settings::default()
//! })?;
//! let client = AccountClient::new(&config)?;
//! let ncc = client.create_ncc("plink-ncc-use1", "us-east-1").await?;
//! let rule = client
//!     .create_rule(
//!         &ncc.network_connectivity_config_id,
//!         &CreateRule::domain_names("com.amazonaws.vpce.us-east-1.vpce-svc-0123", ["db.example.com"]),
//!     )
//!     .await?;
//! # let _ = rule; Ok(()) }
//! ```
//!
//! # Layout
//! - [`config`] (+ `layers`): unified authentication configuration (explicit → env →
//!   `~/.databrickscfg`), with errors that say where a missing value was looked for;
//! - `secret`: [`Secret`], a string that never prints;
//! - `auth`: OAuth M2M token source (account or workspace token endpoint; cached, refreshed
//!   early, single flight);
//! - `http`, [`retry`]: the request core, timeouts and the retry rules (creates are never
//!   retried blindly);
//! - [`error`] (+ `error_body`): [`DatabricksError`], its [`ErrorKind`] and [`ErrorClass`];
//! - [`model`]: wire types; `ncc`, `rules`, `workspaces`, `policies` (network policies as raw
//!   JSON, workspace bindings): the operations on [`AccountClient`];
//! - `sql`: [`AccountClient::workspace`] (the workspace host rule) and [`WorkspaceClient`]: SQL
//!   warehouses and [`WorkspaceClient::execute`] ([`Statement`] → [`StatementResult`]);
//! - `jobs`, `workspace_files`: one-time serverless runs and workspace files (`plink verify`).

mod auth;
mod client;
pub mod config;
pub mod error;
mod error_body;
mod http;
mod ip_lists;
mod jobs;
mod layers;
pub mod model;
mod ncc;
mod policies;
pub mod retry;
mod rules;
mod secret;
mod settings;
mod sql;
mod workspace_files;
mod workspaces;

pub use client::AccountClient;
pub use config::{
    ConfigError, Credentials, ResolvedConfig, Settings, Source, resolve, resolve_from_process_env,
};
pub use error::{DatabricksError, ErrorClass, ErrorKind, ResultExt};
pub use http::ClientOptions;
pub use ip_lists::{ENABLE_KEY, IpAccessList};
pub use jobs::{Run, RunOutput, RunState, RunTask, SubmitRun};
pub use model::{
    ConnectionState, CreateRule, NetworkConnectivityConfig, PrivateEndpointRule, RuleField,
    RuleTarget, UpdateRule, Warehouse, Workspace, WorkspaceNetworkOption, WorkspaceStatus,
};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use sql::{Parameter, STATEMENT_TIMEOUT, Statement, StatementResult, WorkspaceClient};
