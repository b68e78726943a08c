//! Building the EC2, ELBv2, S3 and RDS clients.
//!
//! Credentials and endpoints come from aws-config's default chain, exactly as in every AWS tool:
//! environment (`AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`,
//! `AWS_ENDPOINT_URL_EC2`, `AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2`, …), shared config and
//! credentials files (profiles, SSO, `role_arn`/`source_profile`, `endpoint_url`), web identity,
//! container and instance metadata. An explicit role is assumed on top of that chain.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::{ProvideCredentials, SharedCredentialsProvider};

use super::error::{AwsError, ErrorKind, Result, Service, chain, ec2_error};
use super::tags::filter;

/// Session name of assumed roles, visible in CloudTrail.
pub const SESSION_NAME: &str = "plink";

/// How to reach AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsConnect {
    /// The region of every resource (e.g. `us-east-1`).
    pub region: String,
    /// A named profile of the shared config files; `None` = `AWS_PROFILE` or `default`.
    pub profile: Option<String>,
    /// A role to assume with the credentials of the chain (session name [`SESSION_NAME`]).
    pub role_arn: Option<String>,
    /// Attempts per call in the SDK's standard retry mode (throttling, 5xx, transport errors).
    pub max_attempts: u32,
    /// Limit of one attempt of a call.
    pub attempt_timeout: Duration,
    /// Limit of one call with all its retries.
    pub operation_timeout: Duration,
    /// Limit of TCP/TLS connection set-up.
    pub connect_timeout: Duration,
}

impl AwsConnect {
    /// The defaults: standard retries with 5 attempts, 20 s per attempt, 90 s per call.
    pub fn new(region: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            profile: None,
            role_arn: None,
            max_attempts: 5,
            attempt_timeout: Duration::from_secs(20),
            operation_timeout: Duration::from_secs(90),
            connect_timeout: Duration::from_secs(5),
        }
    }

    #[must_use]
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    #[must_use]
    pub fn role_arn(mut self, role_arn: impl Into<String>) -> Self {
        self.role_arn = Some(role_arn.into());
        self
    }

    /// Builds the clients, checks that credentials resolve and finds the caller's account id.
    ///
    /// # Errors
    /// - [`ErrorKind::AccessDenied`] if no credentials can be resolved (the message says which
    ///   provider failed, never a secret);
    /// - [`ErrorKind::Invalid`] if the account id cannot be determined (see
    ///   [`AwsClients::account_id`]);
    /// - any [`AwsError`] of the `DescribeVpcs`/`DescribeSecurityGroups` calls used for it.
    pub async fn connect(&self) -> Result<AwsClients> {
        let config = self.load_config().await;
        let account_id = resolve_account(&config).await?;
        let mut clients = AwsClients::from_config(&config, self.region.clone(), String::new());
        clients.account_id = match account_id {
            Some(id) => id,
            None => clients.account_id_from_ec2().await?,
        };
        tracing::debug!(region = %self.region, account = %clients.account_id, "connected to AWS");
        Ok(clients)
    }

    /// Clients built without a call: credentials resolve on their first request and the account
    /// is not looked up (kinds that make no AWS call; the state bucket, whose first request
    /// reports refused credentials itself).
    pub async fn lazy(&self) -> AwsClients {
        AwsClients::from_config(
            &self.load_config().await,
            self.region.clone(),
            String::new(),
        )
    }

    /// The shared SDK configuration (default chain, retries, timeouts, optional assumed role).
    pub async fn load_config(&self) -> SdkConfig {
        let region = Region::new(self.region.clone());
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(region.clone())
            .retry_config(RetryConfig::standard().with_max_attempts(self.max_attempts))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(self.connect_timeout)
                    .operation_attempt_timeout(self.attempt_timeout)
                    .operation_timeout(self.operation_timeout)
                    .build(),
            );
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        let base = loader.load().await;
        let Some(role_arn) = &self.role_arn else {
            return base;
        };
        let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
            .session_name(SESSION_NAME)
            .region(region)
            .configure(&base)
            .build()
            .await;
        let provider = SharedCredentialsProvider::new(provider);
        base.into_builder().credentials_provider(provider).build()
    }
}

/// Resolves credentials once (so that a missing or broken setup fails early and clearly) and
/// returns the account id they carry, if they do (SSO, assumed roles, `aws_account_id` in a
/// profile, `AWS_ACCOUNT_ID`).
async fn resolve_account(config: &SdkConfig) -> Result<Option<String>> {
    const OP: &str = "ResolveCredentials";
    let denied =
        |msg: &str| AwsError::local(Service::Credentials, OP, ErrorKind::AccessDenied, msg);
    let Some(provider) = config.credentials_provider() else {
        return Err(denied("no AWS credentials provider is configured"));
    };
    // `CredentialsError`'s text names the failing provider and its reason, never a secret.
    let creds = provider
        .provide_credentials()
        .await
        .map_err(|e| denied(&format!("cannot resolve AWS credentials: {}", chain(&e))))?;
    Ok(creds.account_id().map(|a| a.as_str().to_owned()))
}

/// The clients plink uses, for one region and one identity; cheap to clone (the SDK clients are
/// reference-counted). Its methods are in the module of each concept (see [`crate::aws`]).
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub ec2: aws_sdk_ec2::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub s3: aws_sdk_s3::Client,
    pub rds: aws_sdk_rds::Client,
    /// The caller's account.
    ///
    /// Taken from the credentials when they carry it, otherwise from EC2: the owner of the
    /// default VPC (a default VPC is never shared), else the owner of the account's security
    /// groups. This avoids a direct `aws-sdk-sts` dependency for one `GetCallerIdentity` call.
    pub account_id: String,
    pub region: String,
    /// The request budget's refill is this many times faster (the local stack's scaled time;
    /// 1 against AWS).
    pub budget_scale: u32,
}

impl AwsClients {
    /// Clients from an already loaded configuration (tests, or callers with their own chain).
    pub fn from_config(config: &SdkConfig, region: String, account_id: String) -> Self {
        Self {
            ec2: aws_sdk_ec2::Client::new(config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(config)
                    // An endpoint override (the local stack, a proxy) cannot take the bucket in
                    // its host name.
                    .force_path_style(config.endpoint_url().is_some())
                    .build(),
            ),
            rds: aws_sdk_rds::Client::new(config),
            account_id,
            region,
            budget_scale: 1,
        }
    }

    /// Takes a token of the request budget for `service`'s `action` (see [`super::budget`]),
    /// waiting until there is one.
    pub(crate) async fn spend(&self, service: &str, action: &str) {
        super::budget::spend(
            &self.account_id,
            &self.region,
            service,
            action,
            self.budget_scale,
        )
        .await;
    }

    async fn account_id_from_ec2(&self) -> Result<String> {
        let default_vpc = filter("is-default", ["true"]);
        let req = self.ec2.describe_vpcs().filters(default_vpc);
        let vpcs = req.send().await.map_err(ec2_error("DescribeVpcs"))?;
        if let Some(owner) = vpcs.vpcs().iter().find_map(|v| v.owner_id()) {
            return Ok(owner.to_owned());
        }
        // No default VPC: security groups are visible to their owner only (unless explicitly
        // shared), so one owner among them is the caller.
        let req = self.ec2.describe_security_groups().max_results(50);
        let groups = req
            .send()
            .await
            .map_err(ec2_error("DescribeSecurityGroups"))?;
        let mut owners: Vec<&str> = groups
            .security_groups()
            .iter()
            .filter_map(|g| g.owner_id())
            .collect();
        owners.sort_unstable();
        owners.dedup();
        if let [one] = owners[..] {
            return Ok(one.to_owned());
        }
        let message = "cannot tell the AWS account id from EC2 (no default VPC, security groups of \
                       several owners); set AWS_ACCOUNT_ID or `aws_account_id` in the profile";
        let kind = ErrorKind::Invalid;
        Err(AwsError::local(Service::Ec2, "DescribeVpcs", kind, message))
    }
}
