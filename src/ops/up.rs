//! `plink up`: converge the deployment.

use std::sync::Arc;

use anyhow::Context;

/// The clouds cannot be reached or refuse the credentials (exit code 8).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("AWS: {0}")]
    Aws(String),
    #[error("Databricks: {0}")]
    Databricks(String),
}

use super::Deployment;
use crate::aws::AwsConnect;
use crate::databricks::{AccountClient, Settings, resolve_from_process_env};
use crate::engine::{Engine, EventSink, Interrupt, RunReport, StepError};
use crate::resources::{Env, Options, wait_scale_from_env};

/// Options of `plink up`.
#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Allow switching a workspace that is bound to another NCC.
    pub replace_ncc_binding: bool,
    /// Allow switching a workspace bound to another network policy.
    pub replace_policy_binding: bool,
    /// Leave dry run despite denials the workflow file does not handle.
    pub accept_denials: bool,
    /// Apply IP access list changes that block an operator network.
    pub allow_lockout: bool,
}

impl UpOptions {
    /// The resources' options for an `up` (or a plan of one).
    pub fn resources(&self) -> Options {
        Options {
            replace_ncc_binding: self.replace_ncc_binding,
            replace_policy_binding: self.replace_policy_binding,
            accept_denials: self.accept_denials,
            allow_lockout: self.allow_lockout,
            ..Options::default()
        }
    }
}

/// Runs the workflow's step graph to convergence.
///
/// The lock is taken before any cloud call, so a second `up` on the same deployment is refused
/// before it can do anything.
///
/// # Errors
/// Failures to start (state locked or unreadable, credentials missing); step failures are in
/// the returned [`RunReport`].
pub async fn run(
    deployment: &Deployment,
    options: &UpOptions,
    events: EventSink,
    interrupt: Interrupt,
) -> anyhow::Result<RunReport> {
    let graph = deployment.graph();
    let store = Arc::new(deployment.open_state("up", false).await?);
    let env =
        Arc::new(connect_interruptible(deployment, options.resources(), &interrupt, "up").await?);
    // Issue #16: every check first, all problems at once, before the first mutating call.
    super::preflight::run(deployment, &env, &store)
        .await
        .into_result(deployment)?;
    let engine = Engine::new(graph.up_steps(&env))?
        .with_events(events)
        .with_interrupt(interrupt);
    Ok(engine.run(store).await)
}

/// [`connect`], given up at once on Ctrl-C: connecting may retry for minutes (an unreachable
/// Databricks host) and nothing has been written yet, so there is nothing to wait for.
///
/// # Errors
/// As [`connect`]; [`StepError::Interrupted`] (exit 130) when interrupted.
pub async fn connect_interruptible(
    deployment: &Deployment,
    options: Options,
    interrupt: &Interrupt,
    command: &str,
) -> anyhow::Result<Env> {
    tokio::select! {
        env = connect(deployment, options) => env,
        () = interrupt.triggered() => Err(anyhow::Error::new(StepError::Interrupted).context(
            format!(
                "interrupted while connecting to AWS and Databricks; nothing was changed (run \
                 `plink {command}` again)"
            ),
        )),
    }
}

/// The region of the AWS clients of a kind that makes no AWS call.
const NO_REGION: &str = "us-east-1";

/// Builds the cloud clients from the workflow's settings and the standard environments
/// (AWS default credential chain; Databricks unified auth).
///
/// # Errors
/// Missing or invalid credentials, with what was looked for and where.
pub async fn connect(deployment: &Deployment, options: Options) -> anyhow::Result<Env> {
    let clouds = &deployment.workflow.clouds;
    let wait_scale = wait_scale_from_env();
    let mut aws = match &clouds.region {
        Some(region) => {
            let mut aws = AwsConnect::new(region.as_str());
            if let Some(p) = &clouds.aws_profile {
                aws = aws.profile(p);
            }
            if let Some(r) = &clouds.aws_role_arn {
                aws = aws.role_arn(r);
            }
            aws.connect()
                .await
                .map_err(|e| ConnectError::Aws(e.to_string()))?
        }
        // No AWS call is made for this kind: clients that never resolve credentials (so none
        // are needed), in a region nothing reads.
        None => AwsConnect::new(NO_REGION).lazy().await,
    };
    aws.budget_scale = wait_scale;
    let settings = Settings {
        profile: clouds.databricks_profile.clone(),
        account_id: clouds.databricks_account_id.clone(),
        ..Settings::default()
    };
    let resolved =
        resolve_from_process_env(&settings).map_err(|e| ConnectError::Databricks(e.to_string()))?;
    let databricks = AccountClient::new(&resolved).context("Databricks client")?;
    databricks
        .authenticate()
        .await
        .map_err(|e| ConnectError::Databricks(e.to_string()))?;
    Ok(Env {
        aws,
        databricks,
        deployment: deployment.name().to_owned(),
        region: clouds
            .region
            .as_ref()
            .map_or(String::new(), |r| r.as_str().to_owned()),
        options,
        wait_scale,
        workspaces: Default::default(),
        nccs_listed: Default::default(),
        made: Default::default(),
        rules_read: Default::default(),
        memo: Default::default(),
    })
}
