//! The Databricks account API client against a scripted local HTTP server.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use plink::databricks::{
    AccountClient, ClientOptions, ConfigError, ConnectionState, CreateRule, Credentials,
    DatabricksError, ErrorClass, ErrorKind, ResolvedConfig, ResultExt, RetryPolicy, RuleField,
    Secret, Settings, Source, Statement, UpdateRule, Workspace, WorkspaceNetworkOption,
    WorkspaceStatus, resolve,
};
use serde_json::json;
use support::scripted_server::{Recorded, Reply, Sequence, TestServer, TokenIssuer};

const ACCOUNT: &str = "00000000-0000-0000-0000-00000000a001";
const CLIENT_ID: &str = "plink-sp";
const SECRET: &str = "s3cr3t#tail";
/// base64("plink-sp:s3cr3t#tail")
const BASIC: &str = "Basic cGxpbmstc3A6czNjcjN0I3RhaWw=";
const NCC_ID: &str = "d6df3889-eefc-4ddb-bbb4-613efcb30035";
const RULE_ID: &str = "728c1541-d6d1-4290-9a53-cdf01dd32d60";

fn ncc_path() -> String {
    format!("/api/2.0/accounts/{ACCOUNT}/network-connectivity-configs")
}

fn rules_path() -> String {
    format!("{}/{NCC_ID}/private-endpoint-rules", ncc_path())
}

fn ncc_json(id: &str, name: &str) -> serde_json::Value {
    json!({
        "network_connectivity_config_id": id,
        "account_id": ACCOUNT,
        "name": name,
        "region": "us-east-1",
        "creation_time": 1_700_000_000_000_i64,
        "updated_time": 1_700_000_000_000_i64,
        "egress_config": {"default_rules": {"aws_stable_ip_rule": {"cidr_blocks": ["10.0.0.0/24"]}}}
    })
}

fn rule_json(state: &str) -> serde_json::Value {
    json!({
        "rule_id": RULE_ID,
        "network_connectivity_config_id": NCC_ID,
        "account_id": ACCOUNT,
        "connection_state": state,
        "endpoint_service": "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
        "domain_names": ["db.internal.example.com"],
        "vpc_endpoint_id": "vpce-0123456789abcdef0",
        "creation_time": 1_700_000_000_000_i64,
        "deactivated": false
    })
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        initial_interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(40),
        multiplier: 2.0,
        randomization_factor: 0.5,
        budget: Duration::from_secs(3),
    }
}

fn options(retry: RetryPolicy) -> ClientOptions {
    ClientOptions {
        http_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        retry,
    }
}

fn m2m(server: &TestServer) -> ResolvedConfig {
    ResolvedConfig::new(
        &server.url(),
        ACCOUNT,
        Credentials::OAuthM2m {
            client_id: CLIENT_ID.into(),
            client_secret: Secret::new(SECRET),
        },
    )
    .unwrap()
}

fn client(server: &TestServer) -> AccountClient {
    AccountClient::with_options(&m2m(server), options(fast_retries())).unwrap()
}

/// A server issuing tokens (1 h) and answering API requests with `api`.
async fn server_with(api: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> TestServer {
    let tokens = TokenIssuer::new(3600);
    TestServer::start(move |r| {
        if r.path.starts_with("/oidc/") {
            tokens.issue()
        } else {
            api(r)
        }
    })
    .await
}

/// A server issuing tokens and answering API requests from a sequence.
async fn scripted(replies: Vec<Reply>) -> TestServer {
    let seq = Sequence::new(replies);
    server_with(move |_| seq.next()).await
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn write_cfg(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn assert_no_secret(text: &str) {
    assert!(!text.contains(SECRET), "secret leaked: {text}");
    assert!(!text.contains("s3cr3t"), "secret leaked: {text}");
}

// =============================================================================================
// Configuration

#[test]
fn config_explicit_beats_env_beats_profile() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_cfg(
        dir.path(),
        "cfg",
        "[plink-acct]\nhost = https://file.example.com\naccount_id = file-acct\n\
         client_id = file-id\nclient_secret = file-secret\n",
    );
    let settings = Settings {
        host: Some("https://explicit.example.com".into()),
        ..Settings::default()
    };
    let resolved = resolve(
        &settings,
        env(&[
            ("DATABRICKS_CONFIG_FILE", &cfg),
            ("DATABRICKS_CONFIG_PROFILE", "plink-acct"),
            ("DATABRICKS_ACCOUNT_ID", "env-acct"),
            ("DATABRICKS_CLIENT_ID", "env-id"),
        ]),
    )
    .unwrap();
    assert_eq!(resolved.host_str(), "https://explicit.example.com");
    assert_eq!(resolved.account_id, "env-acct");
    assert_eq!(
        resolved.credentials,
        Credentials::OAuthM2m {
            client_id: "env-id".into(),
            client_secret: Secret::new("file-secret"),
        }
    );
    assert_eq!(resolved.source("host"), Some(&Source::Explicit));
    assert_eq!(
        resolved.source("account_id"),
        Some(&Source::Env("DATABRICKS_ACCOUNT_ID"))
    );
    assert_eq!(
        resolved.source("client_secret"),
        Some(&Source::File {
            path: cfg.clone().into(),
            profile: "plink-acct".into()
        })
    );
    assert_eq!(resolved.profile.as_deref(), Some("plink-acct"));
    let described = resolved.describe();
    assert!(described.contains("env-id"), "{described}");
    assert!(!described.contains("file-secret"), "{described}");
    assert!(!format!("{resolved:?}").contains("file-secret"));
}

#[test]
fn config_file_not_read_when_env_has_credentials_and_no_profile_is_named() {
    let home = tempfile::tempdir().unwrap();
    write_cfg(
        home.path(),
        ".databrickscfg",
        "[DEFAULT]\nhost = https://file.example.com\naccount_id = file-acct\n",
    );
    let home_str = home.path().to_string_lossy().into_owned();
    let err = resolve(
        &Settings::default(),
        env(&[
            ("HOME", &home_str),
            ("DATABRICKS_HOST", "https://accounts.cloud.databricks.com"),
            ("DATABRICKS_CLIENT_ID", "id"),
            ("DATABRICKS_CLIENT_SECRET", "secret"),
        ]),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            ConfigError::Missing {
                field: "account_id",
                ..
            }
        ),
        "{text}"
    );
    assert!(text.contains("DATABRICKS_ACCOUNT_ID"), "{text}");
    assert!(text.contains("was not read"), "{text}");

    // Naming the profile makes the file count again.
    let ok = resolve(
        &Settings::default(),
        env(&[
            ("HOME", &home_str),
            ("DATABRICKS_CONFIG_PROFILE", "DEFAULT"),
            ("DATABRICKS_HOST", "https://accounts.cloud.databricks.com"),
            ("DATABRICKS_CLIENT_ID", "id"),
            ("DATABRICKS_CLIENT_SECRET", "secret"),
        ]),
    )
    .unwrap();
    assert_eq!(ok.account_id, "file-acct");
    assert_eq!(ok.host_str(), "https://accounts.cloud.databricks.com");
}

#[test]
fn config_default_profile_and_settings_default_profile() {
    let home = tempfile::tempdir().unwrap();
    let home_str = home.path().to_string_lossy().into_owned();
    // Keys before the first section belong to [DEFAULT].
    write_cfg(
        home.path(),
        ".databrickscfg",
        "host = https://accounts.cloud.databricks.com\naccount_id = default-acct\n\
         token = dapi-default\n\n[other]\nhost = https://accounts.cloud.databricks.com\n\
         account_id = other-acct\nclient_id = other-id\nclient_secret = other-secret\n",
    );
    let r = resolve(&Settings::default(), env(&[("HOME", &home_str)])).unwrap();
    assert_eq!(r.account_id, "default-acct");
    assert_eq!(r.credentials.auth_type(), "pat");
    assert_eq!(r.profile.as_deref(), Some("DEFAULT"));

    let cfg = write_cfg(
        home.path(),
        "with-settings",
        "[__settings__]\ndefault_profile = other\n\n[DEFAULT]\naccount_id = default-acct\n\n\
         [other]\nhost = https://accounts.cloud.databricks.com\naccount_id = other-acct\n\
         client_id = other-id\nclient_secret = other-secret\n",
    );
    let r = resolve(
        &Settings {
            config_file: Some(cfg.into()),
            ..Settings::default()
        },
        env(&[]),
    )
    .unwrap();
    assert_eq!(r.account_id, "other-acct");
    assert_eq!(r.profile.as_deref(), Some("other"));
    assert_eq!(r.credentials.auth_type(), "oauth-m2m");
}

#[test]
fn config_missing_secret_names_profile_file_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_cfg(
        dir.path(),
        "databrickscfg",
        "[plink-acct]\nhost = https://accounts.cloud.databricks.com\naccount_id = a\nclient_id = x\n",
    );
    let err = resolve(
        &Settings {
            profile: Some("plink-acct".into()),
            ..Settings::default()
        },
        env(&[("DATABRICKS_CONFIG_FILE", &cfg)]),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "no client_secret for profile [plink-acct] in {cfg}; set DATABRICKS_CLIENT_SECRET or \
             add client_secret to the profile"
        )
    );
}

#[test]
fn config_named_profile_and_file_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_cfg(
        dir.path(),
        "cfg",
        "[a]\nhost = https://h\n[b]\nhost = https://h\n",
    );
    let err = resolve(
        &Settings {
            profile: Some("plink-acct".into()),
            config_file: Some(cfg.clone().into()),
            ..Settings::default()
        },
        env(&[]),
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::ProfileNotFound { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("{cfg} has no [plink-acct] profile configured (profiles found: a, b)")
    );

    let missing = dir.path().join("nope").to_string_lossy().into_owned();
    let err = resolve(
        &Settings::default(),
        env(&[
            ("DATABRICKS_CONFIG_FILE", &missing),
            ("DATABRICKS_CONFIG_PROFILE", "x"),
        ]),
    )
    .unwrap_err();
    assert!(
        matches!(err, ConfigError::ConfigFileMissing { .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&missing));

    // Without a named profile a missing file is fine, but the error says where plink looked.
    let err = resolve(
        &Settings::default(),
        env(&[("DATABRICKS_CONFIG_FILE", &missing)]),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "no host: DATABRICKS_HOST is not set and {missing} does not exist; set \
             DATABRICKS_HOST or create that file with a profile containing host"
        )
    );
}

#[test]
fn config_host_must_be_https_except_loopback() {
    let base = [
        ("DATABRICKS_ACCOUNT_ID", "a"),
        ("DATABRICKS_TOKEN", "dapi-x"),
    ];
    let with_host = |host: &str| {
        let mut pairs = base.to_vec();
        pairs.push(("DATABRICKS_HOST", host));
        resolve(&Settings::default(), env(&pairs))
    };
    let err = with_host("http://accounts.cloud.databricks.com").unwrap_err();
    assert!(matches!(err, ConfigError::InvalidHost { .. }), "{err}");
    assert!(err.to_string().contains("loopback"), "{err}");
    for ok in [
        "http://127.0.0.1:4566",
        "http://localhost:4566",
        "http://[::1]:4566",
        "https://accounts.cloud.databricks.com/",
    ] {
        assert!(with_host(ok).is_ok(), "{ok}");
    }
    assert_eq!(
        with_host("accounts.cloud.databricks.com")
            .unwrap()
            .host_str(),
        "https://accounts.cloud.databricks.com"
    );
}

#[test]
fn config_pat_conflicts_and_auth_type() {
    let base = [
        ("DATABRICKS_HOST", "https://accounts.cloud.databricks.com"),
        ("DATABRICKS_ACCOUNT_ID", "a"),
    ];
    let with = |extra: &[(&str, &str)]| {
        let mut pairs = base.to_vec();
        pairs.extend_from_slice(extra);
        resolve(&Settings::default(), env(&pairs))
    };
    let pat = with(&[("DATABRICKS_TOKEN", "dapi-123456")]).unwrap();
    assert_eq!(
        pat.credentials,
        Credentials::Pat {
            token: Secret::new("dapi-123456")
        }
    );
    let err = with(&[
        ("DATABRICKS_TOKEN", "dapi-123456"),
        ("DATABRICKS_CLIENT_ID", "id"),
        ("DATABRICKS_CLIENT_SECRET", "sec-123456"),
    ])
    .unwrap_err();
    assert!(matches!(err, ConfigError::ConflictingAuth { .. }), "{err}");
    assert!(!err.to_string().contains("dapi-123456"));
    let forced = with(&[
        ("DATABRICKS_TOKEN", "dapi-123456"),
        ("DATABRICKS_CLIENT_ID", "id"),
        ("DATABRICKS_CLIENT_SECRET", "sec-123456"),
        ("DATABRICKS_AUTH_TYPE", "oauth-m2m"),
    ])
    .unwrap();
    assert_eq!(forced.credentials.auth_type(), "oauth-m2m");
    let err = with(&[("DATABRICKS_AUTH_TYPE", "azure-cli")]).unwrap_err();
    assert!(
        matches!(err, ConfigError::UnsupportedAuthType { .. }),
        "{err}"
    );
    let err = with(&[("DATABRICKS_CLIENT_ID", "id")]).unwrap_err();
    assert!(err.to_string().starts_with("no client_secret"), "{err}");
}

#[test]
fn config_secret_may_contain_hash_and_timeouts_come_from_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_cfg(
        dir.path(),
        "cfg",
        "[p]\nhost = https://accounts.cloud.databricks.com\naccount_id = a\nclient_id = id\n\
         client_secret = s3cr3t#tail ; the comment\nhttp_timeout_seconds = 7\n\
         retry_timeout_seconds = 42\n",
    );
    let r = resolve(
        &Settings {
            profile: Some("p".into()),
            config_file: Some(cfg.into()),
            ..Settings::default()
        },
        env(&[]),
    )
    .unwrap();
    match &r.credentials {
        Credentials::OAuthM2m { client_secret, .. } => assert_eq!(client_secret.expose(), SECRET),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.http_timeout, Duration::from_secs(7));
    assert_eq!(r.retry_timeout, Duration::from_secs(42));
    assert_eq!(
        ClientOptions::from_config(&r).retry.budget,
        Duration::from_secs(42)
    );
}

#[test]
fn secrets_never_print() {
    let secret = Secret::new(SECRET);
    assert_eq!(format!("{secret}"), "***");
    assert_eq!(format!("{secret:?}"), "***");
    let settings = Settings {
        client_secret: Some(secret.clone()),
        token: Some(secret.clone()),
        ..Settings::default()
    };
    assert_no_secret(&format!("{settings:?}"));
    let creds = Credentials::OAuthM2m {
        client_id: CLIENT_ID.into(),
        client_secret: secret,
    };
    assert_no_secret(&format!("{creds:?}"));
    let config =
        ResolvedConfig::new("https://accounts.cloud.databricks.com", ACCOUNT, creds).unwrap();
    assert_no_secret(&format!("{config:?}"));
    assert_no_secret(&config.describe());
    let client = AccountClient::new(&config).unwrap();
    assert_no_secret(&format!("{client:?}"));
}

// =============================================================================================
// Tokens

#[tokio::test]
async fn token_request_shape_and_bearer_use() {
    let server = server_with(|_| Reply::json(200, ncc_json(NCC_ID, "plink-ncc"))).await;
    let c = client(&server);
    let ncc = c.get_ncc(NCC_ID).await.unwrap();
    assert_eq!(ncc.name, "plink-ncc");
    assert_eq!(
        ncc.egress_config
            .unwrap()
            .default_rules
            .unwrap()
            .aws_stable_ip_rule
            .unwrap()
            .cidr_blocks,
        vec!["10.0.0.0/24"]
    );

    let tokens = server.token_requests();
    assert_eq!(tokens.len(), 1);
    let t = &tokens[0];
    assert_eq!(t.method, "POST");
    assert_eq!(t.path, format!("/oidc/accounts/{ACCOUNT}/v1/token"));
    assert_eq!(t.header("authorization"), Some(BASIC));
    assert_eq!(
        t.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        t.form_field("grant_type").as_deref(),
        Some("client_credentials")
    );
    assert_eq!(t.form_field("scope").as_deref(), Some("all-apis"));
    assert_eq!(t.body_str(), "grant_type=client_credentials&scope=all-apis");

    let api = server.api_requests();
    assert_eq!(api.len(), 1);
    let a = &api[0];
    assert!(a.is("GET", &format!("{}/{NCC_ID}", ncc_path())), "{a:?}");
    assert_eq!(a.header("authorization"), Some("Bearer tok-1"));
    assert_eq!(a.header("accept"), Some("application/json"));
    assert_eq!(
        a.header("user-agent"),
        Some(concat!("plink/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(c.token_fetches(), 1);
    assert_eq!(c.retries(), 0);
}

#[tokio::test]
async fn token_is_cached_and_fetched_once_for_concurrent_callers() {
    // The token endpoint is slow, so all callers queue behind the same request.
    let tokens = TokenIssuer::new(3600);
    let server = TestServer::start(move |r| {
        if r.path.starts_with("/oidc/") {
            Reply::After(Duration::from_millis(200), Box::new(tokens.issue()))
        } else {
            Reply::json(200, ncc_json(NCC_ID, "plink-ncc"))
        }
    })
    .await;
    let c = client(&server);
    let calls = (0..20).map(|_| {
        let c = c.clone();
        tokio::spawn(async move { c.get_ncc(NCC_ID).await })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.unwrap().unwrap();
    }
    for _ in 0..5 {
        c.get_ncc(NCC_ID).await.unwrap();
    }
    assert_eq!(server.token_requests().len(), 1);
    assert_eq!(server.api_requests().len(), 25);
    assert!(
        server
            .api_requests()
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer tok-1"))
    );
    assert_eq!(c.token_fetches(), 1);
}

#[tokio::test]
async fn token_is_refreshed_before_expiry() {
    // A 2 s token is replaced 1 s before it expires.
    let tokens = TokenIssuer::new(2);
    let server = TestServer::start(move |r| {
        if r.path.starts_with("/oidc/") {
            tokens.issue()
        } else {
            Reply::json(200, ncc_json(NCC_ID, "plink-ncc"))
        }
    })
    .await;
    let c = client(&server);
    c.get_ncc(NCC_ID).await.unwrap();
    c.get_ncc(NCC_ID).await.unwrap();
    assert_eq!(server.token_requests().len(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    c.get_ncc(NCC_ID).await.unwrap();
    assert_eq!(server.token_requests().len(), 2);
    let api = server.api_requests();
    assert_eq!(api[1].header("authorization"), Some("Bearer tok-1"));
    assert_eq!(api[2].header("authorization"), Some("Bearer tok-2"));
}

#[tokio::test]
async fn unauthorized_drops_the_token_and_replays_once() {
    let unauthenticated = json!({"error_code": "UNAUTHENTICATED", "message": "Token expired"});
    let server = scripted(vec![
        Reply::json(401, unauthenticated.clone()),
        Reply::json(200, ncc_json(NCC_ID, "plink-ncc")),
    ])
    .await;
    let c = client(&server);
    c.get_ncc(NCC_ID).await.unwrap();
    let api = server.api_requests();
    assert_eq!(api.len(), 2);
    assert_eq!(api[0].header("authorization"), Some("Bearer tok-1"));
    assert_eq!(api[1].header("authorization"), Some("Bearer tok-2"));
    assert_eq!(server.token_requests().len(), 2);
    assert_eq!(c.retries(), 1);

    // A second 401 is returned: exactly one replay.
    let server = scripted(vec![Reply::json(401, unauthenticated)]).await;
    let c = client(&server);
    let err = c.get_ncc(NCC_ID).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(matches!(err.class(), ErrorClass::NeedsUser { .. }));
    assert_eq!(server.api_requests().len(), 2);
    assert_eq!(server.token_requests().len(), 2);
}

#[tokio::test]
async fn token_rejection_is_a_clear_needs_user_error_without_secrets() {
    let server = TestServer::start(|r| {
        if r.path.starts_with("/oidc/") {
            // A server that echoes the secret must not make it leak.
            Reply::json(
                401,
                json!({"error": "invalid_client",
                       "error_description": format!("Client authentication failed for {SECRET}")}),
            )
        } else {
            Reply::json(200, ncc_json(NCC_ID, "x"))
        }
    })
    .await;
    let c = client(&server);
    let err = c.get_ncc(NCC_ID).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "authentication failed for client_id {CLIENT_ID} at {}: invalid_client (Client \
             authentication failed for ***)",
            server.url()
        )
    );
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    match err.class() {
        ErrorClass::NeedsUser { hint } => assert!(hint.contains(CLIENT_ID), "{hint}"),
        other => panic!("{other:?}"),
    }
    assert_no_secret(&err.to_string());
    assert_no_secret(&format!("{err:?}"));
    assert!(server.api_requests().is_empty());
    // A 401 is not retried.
    assert_eq!(server.token_requests().len(), 1);
}

#[tokio::test]
async fn concurrent_callers_share_one_failed_token_request() {
    let server = TestServer::start(|_| {
        Reply::After(
            Duration::from_millis(150),
            Box::new(Reply::json(
                400,
                json!({"error": "invalid_client", "error_description": "bad"}),
            )),
        )
    })
    .await;
    let c = client(&server);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.get_ncc(NCC_ID).await })
        })
        .collect();
    for call in calls {
        assert_eq!(
            call.await.unwrap().unwrap_err().kind(),
            ErrorKind::Unauthenticated
        );
    }
    assert_eq!(server.token_requests().len(), 1);
}

#[tokio::test]
async fn pat_is_sent_as_bearer_and_not_replayed_on_401() {
    let server = TestServer::start(|_| {
        Reply::json(
            401,
            json!({"error_code": "UNAUTHENTICATED", "message": "no"}),
        )
    })
    .await;
    let config = ResolvedConfig::new(
        &server.url(),
        ACCOUNT,
        Credentials::Pat {
            token: Secret::new("dapi-abcdef"),
        },
    )
    .unwrap();
    let c = AccountClient::with_options(&config, options(fast_retries())).unwrap();
    let err = c.list_workspaces().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].header("authorization"), Some("Bearer dapi-abcdef"));
    assert!(!err.to_string().contains("dapi-abcdef"));
    assert_eq!(c.token_fetches(), 0);
}

// =============================================================================================
// Retries

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = scripted(vec![
        Reply::json(
            429,
            json!({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}),
        )
        .with_header("Retry-After", "1"),
        Reply::json(200, ncc_json(NCC_ID, "plink-ncc")),
    ])
    .await;
    let c = client(&server);
    c.get_ncc(NCC_ID).await.unwrap();
    let api = server.api_requests();
    assert_eq!(api.len(), 2);
    let waited = api[1].at.duration_since(api[0].at);
    assert!(waited >= Duration::from_secs(1), "waited only {waited:?}");
    assert!(waited < Duration::from_secs(2), "waited {waited:?}");
    assert_eq!(c.retries(), 1);
}

#[tokio::test]
async fn idempotent_calls_retry_unavailability_and_gateways() {
    let server = scripted(vec![
        Reply::empty(503),
        Reply::raw(502, "text/html", "<html><title>Bad Gateway</title></html>"),
        Reply::empty(504),
        Reply::json(
            400,
            json!({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "try again"}),
        ),
        Reply::json(200, json!([])),
    ])
    .await;
    let c = client(&server);
    assert!(c.list_workspaces().await.unwrap().is_empty());
    assert_eq!(server.api_requests().len(), 5);
    assert_eq!(c.retries(), 4);
}

#[tokio::test]
async fn idempotent_calls_retry_transport_errors() {
    let server = scripted(vec![Reply::Drop, Reply::json(200, rule_json("PENDING"))]).await;
    let c = client(&server);
    let rule = c.get_rule(NCC_ID, RULE_ID).await.unwrap();
    assert_eq!(rule.connection_state, Some(ConnectionState::Pending));
    assert_eq!(server.api_requests().len(), 2);
    assert_eq!(c.retries(), 1);
}

#[tokio::test]
async fn connection_refused_is_retried_until_the_budget_is_spent() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = ResolvedConfig::new(
        &format!("http://127.0.0.1:{port}"),
        ACCOUNT,
        Credentials::Pat {
            token: Secret::new("dapi-abcdef"),
        },
    )
    .unwrap();
    let retry = fast_retries().with_budget(Duration::from_millis(300));
    let c = AccountClient::with_options(&config, options(retry)).unwrap();
    let started = Instant::now();
    let err = c.get_ncc(NCC_ID).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert_eq!(err.class(), ErrorClass::Retryable);
    assert!(err.status().is_none());
    assert!(c.retries() >= 3, "retries: {}", c.retries());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn budget_spent_returns_the_last_error() {
    let server = scripted(vec![Reply::json(
        503,
        json!({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "down for maintenance"}),
    )])
    .await;
    let retry = fast_retries().with_budget(Duration::from_millis(250));
    let c = AccountClient::with_options(&m2m(&server), options(retry)).unwrap();
    let err = c.list_nccs().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.message(), "down for maintenance");
    let n = server.api_requests().len() as u64;
    assert!(n >= 3, "{n}");
    assert_eq!(c.retries(), n - 1);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = scripted(vec![Reply::json(
        400,
        json!({"error_code": "INVALID_PARAMETER_VALUE", "message": "bad id"}),
    )])
    .await;
    let c = client(&server);
    let err = c.get_ncc("not-a-uuid").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidParameter);
    assert_eq!(err.class(), ErrorClass::Terminal);
    assert_eq!(server.api_requests().len(), 1);
    assert_eq!(c.retries(), 0);
}

#[tokio::test]
async fn creates_are_never_retried_blindly() {
    for (reply, expected_status) in [
        (Reply::empty(503), Some(503)),
        (Reply::Drop, None),
        (
            Reply::json(
                500,
                json!({"error_code": "INTERNAL_ERROR", "message": "boom"}),
            ),
            Some(500),
        ),
        (
            Reply::raw(504, "text/plain", "upstream timed out"),
            Some(504),
        ),
    ] {
        let server = scripted(vec![reply, Reply::json(200, ncc_json(NCC_ID, "plink-ncc"))]).await;
        let c = client(&server);
        let err = c.create_ncc("plink-ncc", "us-east-1").await.unwrap_err();
        assert_eq!(server.api_requests().len(), 1, "{err}");
        assert_eq!(err.kind(), ErrorKind::Ambiguous, "{err}");
        assert!(err.is_ambiguous());
        assert_eq!(err.class(), ErrorClass::Retryable);
        assert_eq!(err.status(), expected_status);
        assert_eq!(err.method(), "POST");
        assert!(
            err.to_string()
                .ends_with("the create may have been committed: look up before retrying"),
            "{err}"
        );
        assert_eq!(c.retries(), 0);
    }
}

#[tokio::test]
async fn creates_time_out_ambiguously() {
    let server = scripted(vec![Reply::After(
        Duration::from_secs(3),
        Box::new(Reply::json(200, rule_json("CREATING"))),
    )])
    .await;
    let opts = ClientOptions {
        http_timeout: Duration::from_millis(300),
        ..options(fast_retries())
    };
    let c = AccountClient::with_options(&m2m(&server), opts).unwrap();
    let err = c
        .create_rule(
            NCC_ID,
            &CreateRule::domain_names("com.amazonaws.vpce.us-east-1.vpce-svc-1", ["a.example.com"]),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Ambiguous, "{err}");
    assert_eq!(server.api_requests().len(), 1);
}

#[tokio::test]
async fn creates_are_retried_only_with_proof_of_rejection() {
    let server = scripted(vec![
        Reply::json(
            429,
            json!({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "rate limited"}),
        ),
        Reply::json(200, ncc_json(NCC_ID, "plink-ncc")),
    ])
    .await;
    let c = client(&server);
    let ncc = c.create_ncc("plink-ncc", "us-east-1").await.unwrap();
    assert_eq!(ncc.network_connectivity_config_id, NCC_ID);
    assert_eq!(server.api_requests().len(), 2);
    assert_eq!(c.retries(), 1);

    // A bare 429 proves nothing about who answered: returned as is, not ambiguous, not retried.
    let server = scripted(vec![Reply::empty(429)]).await;
    let c = client(&server);
    let err = c.create_ncc("plink-ncc", "us-east-1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooManyRequests);
    assert_eq!(server.api_requests().len(), 1);
}

// =============================================================================================
// Paging

#[tokio::test]
async fn lists_follow_next_page_token_through_all_pages() {
    let server = server_with(|r| {
        let items = |ids: &[&str]| {
            ids.iter()
                .map(|id| ncc_json(id, &format!("ncc-{id}")))
                .collect::<Vec<_>>()
        };
        match r.query_param("page_token").as_deref() {
            None => Reply::json(
                200,
                json!({"items": items(&["a", "b"]), "next_page_token": "p2"}),
            ),
            Some("p2") => Reply::json(
                200,
                json!({"items": items(&["c"]), "next_page_token": "p3"}),
            ),
            Some("p3") => Reply::json(200, json!({"items": items(&["d"]), "next_page_token": ""})),
            Some(other) => Reply::json(400, json!({"message": format!("bad token {other}")})),
        }
    })
    .await;
    let c = client(&server);
    let nccs = c.list_nccs().await.unwrap();
    let ids: Vec<_> = nccs
        .iter()
        .map(|n| n.network_connectivity_config_id.as_str())
        .collect();
    assert_eq!(ids, ["a", "b", "c", "d"]);
    let api = server.api_requests();
    assert_eq!(api.len(), 3);
    assert!(api.iter().all(|r| r.path == ncc_path()));
    assert_eq!(api[0].query, None);
    assert_eq!(api[1].query_param("page_token").as_deref(), Some("p2"));
    assert_eq!(api[2].query_param("page_token").as_deref(), Some("p3"));
}

#[tokio::test]
async fn list_rules_pages_and_tolerates_missing_items() {
    let server = server_with(|r| match r.query_param("page_token").as_deref() {
        None => Reply::json(
            200,
            json!({"items": [rule_json("PENDING")], "next_page_token": "x"}),
        ),
        Some("x") => Reply::json(200, json!({"next_page_token": "y"})),
        _ => Reply::json(200, json!({"items": [rule_json("ESTABLISHED")]})),
    })
    .await;
    let c = client(&server);
    let rules = c.list_rules(NCC_ID).await.unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(
        rules[1].connection_state,
        Some(ConnectionState::Established)
    );
    assert!(server.api_requests().iter().all(|r| r.path == rules_path()));
}

#[tokio::test]
async fn a_repeated_page_token_is_an_error_not_a_loop() {
    let server =
        server_with(|_| Reply::json(200, json!({"items": [], "next_page_token": "same"}))).await;
    let c = client(&server);
    let err = c.list_nccs().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(server.api_requests().len(), 2);
}

// =============================================================================================
// Error bodies

#[tokio::test]
async fn every_error_body_shape_is_parsed() {
    struct Case {
        reply: Reply,
        kind: ErrorKind,
        code: Option<&'static str>,
        message: &'static str,
        request_id: Option<&'static str>,
    }
    let cases = vec![
        Case {
            reply: Reply::json(
                404,
                json!({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "NCC x does not exist",
                       "details": [{"@type": "type.googleapis.com/google.rpc.RequestInfo",
                                    "request_id": "req-123", "serving_data": ""}]}),
            ),
            kind: ErrorKind::NotFound,
            code: Some("RESOURCE_DOES_NOT_EXIST"),
            message: "NCC x does not exist",
            request_id: Some("req-123"),
        },
        Case {
            reply: Reply::json(
                400,
                json!({"error_code": 400, "message": "legacy numeric code"}),
            ),
            kind: ErrorKind::BadRequest,
            code: None,
            message: "legacy numeric code",
            request_id: None,
        },
        Case {
            reply: Reply::json(403, json!({"error": "User is not an account admin"})),
            kind: ErrorKind::PermissionDenied,
            code: None,
            message: "User is not an account admin",
            request_id: None,
        },
        Case {
            reply: Reply::json(
                401,
                json!({"error": "invalid_token", "error_description": "token is malformed"}),
            ),
            kind: ErrorKind::Unauthenticated,
            code: Some("invalid_token"),
            message: "token is malformed",
            request_id: None,
        },
        Case {
            reply: Reply::raw(
                400,
                "text/plain",
                "INVALID_STATE: NCC is attached to workspaces",
            ),
            kind: ErrorKind::InvalidState,
            code: Some("INVALID_STATE"),
            message: "NCC is attached to workspaces",
            request_id: None,
        },
        Case {
            reply: Reply::raw(
                409,
                "text/html",
                "<html><body><h1>Error</h1><pre>Conflict &amp; more</pre></body></html>",
            ),
            kind: ErrorKind::Conflict,
            code: None,
            message: "Conflict & more",
            request_id: None,
        },
        Case {
            reply: Reply::empty(404).with_header("x-request-id", "hdr-7"),
            kind: ErrorKind::NotFound,
            code: None,
            message: "Not Found",
            request_id: Some("hdr-7"),
        },
        Case {
            reply: Reply::json(
                400,
                json!({"error_code": "RESOURCE_EXHAUSTED", "message": "30 private endpoints per region"}),
            ),
            kind: ErrorKind::QuotaExceeded,
            code: Some("RESOURCE_EXHAUSTED"),
            message: "30 private endpoints per region",
            request_id: None,
        },
        Case {
            reply: Reply::json(400, json!({"error_code": "SOMETHING_NEW", "message": "m"})),
            kind: ErrorKind::BadRequest,
            code: Some("SOMETHING_NEW"),
            message: "m",
            request_id: None,
        },
        Case {
            reply: Reply::raw(500, "text/plain", "something\nbroke"),
            kind: ErrorKind::Internal,
            code: None,
            message: "something\nbroke",
            request_id: None,
        },
    ];
    for case in cases {
        let server = scripted(vec![case.reply.clone()]).await;
        let c = AccountClient::with_options(&m2m(&server), options(RetryPolicy::none())).unwrap();
        let err: DatabricksError = c.get_ncc(NCC_ID).await.unwrap_err();
        assert_eq!(err.kind(), case.kind, "{err}");
        assert_eq!(err.error_code(), case.code, "{err}");
        assert_eq!(err.message(), case.message, "{err}");
        assert_eq!(err.request_id(), case.request_id, "{err}");
        assert_eq!(err.method(), "GET");
        assert_eq!(err.path(), format!("{}/{NCC_ID}", ncc_path()));
        assert_no_secret(&format!("{err} {err:?}"));
        assert!(!format!("{err} {err:?}").contains("tok-1"));
    }
}

#[tokio::test]
async fn error_display_names_method_path_status_code_and_request_id() {
    let server = scripted(vec![Reply::json(
        404,
        json!({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "gone",
               "details": [{"request_id": "r-1"}]}),
    )])
    .await;
    let c = client(&server);
    let err = c.get_rule(NCC_ID, RULE_ID).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "GET {}/{RULE_ID}: HTTP 404 RESOURCE_DOES_NOT_EXIST: gone (request id r-1)",
            rules_path()
        )
    );
    assert!(
        c.get_rule(NCC_ID, RULE_ID)
            .await
            .optional()
            .unwrap()
            .is_none()
    );
}

// =============================================================================================
// Typed API

#[tokio::test]
async fn unknown_enum_values_are_kept_and_unknown_fields_ignored() {
    let server = server_with(|r| {
        if r.path.contains("/workspaces") {
            Reply::json(
                200,
                json!({"workspace_id": 1234567890123456_i64, "workspace_status": "MIGRATING",
                       "aws_region": "us-east-1", "brand_new_field": {"x": 1}}),
            )
        } else {
            let mut rule = rule_json("QUARANTINED");
            rule["gcp_endpoint"] = json!({"psc_endpoint_uri": "x"});
            rule["future_field"] = json!(42);
            Reply::json(200, rule)
        }
    })
    .await;
    let c = client(&server);
    let rule = c.get_rule(NCC_ID, RULE_ID).await.unwrap();
    assert_eq!(
        rule.connection_state,
        Some(ConnectionState::Unknown("QUARANTINED".into()))
    );
    assert_eq!(rule.vpc_endpoint_id(), Some("vpce-0123456789abcdef0"));
    let ws = c.get_workspace(1234567890123456).await.unwrap();
    assert_eq!(ws.workspace_id, 1234567890123456);
    assert_eq!(
        ws.workspace_status,
        Some(WorkspaceStatus::Unknown("MIGRATING".into()))
    );
}

#[tokio::test]
async fn create_ncc_sends_a_flat_body_and_validates_the_name() {
    let server = scripted(vec![Reply::json(200, ncc_json(NCC_ID, "plink-ncc-use1"))]).await;
    let c = client(&server);
    let ncc = c.create_ncc("plink-ncc-use1", "us-east-1").await.unwrap();
    assert_eq!(ncc.region, "us-east-1");
    let api = server.api_requests();
    assert!(api[0].is("POST", &ncc_path()));
    assert_eq!(api[0].header("content-type"), Some("application/json"));
    assert_eq!(
        api[0].body_json(),
        json!({"name": "plink-ncc-use1", "region": "us-east-1"})
    );

    let err = c.create_ncc("has space", "us-east-1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidParameter);
    let err = c.create_ncc("ab", "us-east-1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidParameter);
    assert_eq!(server.api_requests().len(), 1);
}

#[tokio::test]
async fn rules_create_update_delete_shapes() {
    let server = server_with(|r| match r.method.as_str() {
        "POST" => Reply::json(200, {
            let mut rule = rule_json("CREATING");
            rule["vpc_endpoint_id"] = json!("");
            rule
        }),
        "PATCH" => Reply::json(200, rule_json("ESTABLISHED")),
        "DELETE" if r.path.ends_with("/gone") => Reply::json(
            404,
            json!({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such rule"}),
        ),
        "DELETE" => Reply::json(200, {
            let mut rule = rule_json("ESTABLISHED");
            rule["deactivated"] = json!(true);
            rule["deactivated_at"] = json!(1_700_000_100_000_i64);
            rule
        }),
        _ => Reply::empty(405),
    })
    .await;
    let c = client(&server);

    let svc = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0";
    let created = c
        .create_rule(
            NCC_ID,
            &CreateRule::domain_names(svc, ["db.internal.example.com"]),
        )
        .await
        .unwrap();
    assert_eq!(created.connection_state, Some(ConnectionState::Creating));
    assert_eq!(created.vpc_endpoint_id(), None);
    c.create_rule(
        NCC_ID,
        &CreateRule::resource_names("com.amazonaws.us-east-1.s3", ["my-bucket"]),
    )
    .await
    .unwrap();

    let update = UpdateRule {
        domain_names: Some(vec!["a.example.com".into(), "b.example.com".into()]),
        resource_names: Some(vec!["not-sent".into()]),
        enabled: Some(false),
    };
    let updated = c
        .update_rule(
            NCC_ID,
            RULE_ID,
            &[
                RuleField::Enabled,
                RuleField::DomainNames,
                RuleField::Enabled,
            ],
            &update,
        )
        .await
        .unwrap();
    assert_eq!(updated.connection_state, Some(ConnectionState::Established));

    // Refused client-side, nothing sent.
    let err = c
        .update_rule(NCC_ID, RULE_ID, &[], &update)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidParameter);
    assert!(err.to_string().contains("update mask"), "{err}");
    let err = c
        .update_rule(
            NCC_ID,
            RULE_ID,
            &[RuleField::Enabled],
            &UpdateRule::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidParameter);
    let err = c
        .create_rule(NCC_ID, &CreateRule::domain_names(svc, Vec::<String>::new()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidParameter);

    let deleted = c.delete_rule(NCC_ID, RULE_ID).await.unwrap();
    assert!(deleted.deactivated);
    assert_eq!(deleted.deactivated_at, Some(1_700_000_100_000));
    assert_eq!(c.delete_rule_if_exists(NCC_ID, "gone").await.unwrap(), None);

    let api = server.api_requests();
    assert_eq!(api.len(), 5);
    assert!(api[0].is("POST", &rules_path()));
    assert_eq!(
        api[0].body_json(),
        json!({"endpoint_service": svc, "domain_names": ["db.internal.example.com"]})
    );
    assert_eq!(
        api[1].body_json(),
        json!({"endpoint_service": "com.amazonaws.us-east-1.s3", "resource_names": ["my-bucket"]})
    );
    assert!(api[2].is("PATCH", &format!("{}/{RULE_ID}", rules_path())));
    assert_eq!(
        api[2].query_param("update_mask").as_deref(),
        Some("domain_names,enabled")
    );
    assert_eq!(
        api[2].body_json(),
        json!({"domain_names": ["a.example.com", "b.example.com"], "enabled": false})
    );
    assert!(api[3].is("DELETE", &format!("{}/{RULE_ID}", rules_path())));
    assert!(api[4].is("DELETE", &format!("{}/gone", rules_path())));
}

#[tokio::test]
async fn workspaces_list_get_and_bind_ncc() {
    let ws = |ncc: Option<&str>| {
        json!({"workspace_id": 1234567890123456_i64, "workspace_name": "prod",
               "aws_region": "us-east-1", "workspace_status": "RUNNING",
               "network_connectivity_config_id": ncc, "creation_time": 1_600_000_000_000_i64})
    };
    let server = server_with(move |r| match r.method.as_str() {
        "GET" if r.path.ends_with("/workspaces") => Reply::json(200, json!([ws(None)])),
        "GET" => Reply::json(200, ws(None)),
        "PATCH" => Reply::json(200, ws(Some(NCC_ID))),
        _ => Reply::empty(405),
    })
    .await;
    let c = client(&server);
    let all = c.list_workspaces().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].workspace_status, Some(WorkspaceStatus::Running));
    assert_eq!(all[0].network_connectivity_config_id, None);
    let one = c.get_workspace(1234567890123456).await.unwrap();
    assert_eq!(one.workspace_name.as_deref(), Some("prod"));
    let bound = c
        .update_workspace_ncc(1234567890123456, NCC_ID)
        .await
        .unwrap();
    assert_eq!(
        bound.network_connectivity_config_id.as_deref(),
        Some(NCC_ID)
    );

    let api = server.api_requests();
    let ws_path = format!("/api/2.0/accounts/{ACCOUNT}/workspaces");
    assert!(api[0].is("GET", &ws_path));
    assert!(api[1].is("GET", &format!("{ws_path}/1234567890123456")));
    assert!(api[2].is("PATCH", &format!("{ws_path}/1234567890123456")));
    assert_eq!(
        api[2].query_param("update_mask").as_deref(),
        Some("network_connectivity_config_id")
    );
    assert_eq!(
        api[2].body_json(),
        json!({"network_connectivity_config_id": NCC_ID})
    );
}

#[tokio::test]
async fn delete_ncc_accepts_empty_and_object_answers() {
    let server = scripted(vec![
        Reply::empty(200),
        Reply::json(200, json!({})),
        Reply::json(
            400,
            json!({"error_code": "INVALID_STATE",
                   "message": "NCC has one or more private endpoint rules"}),
        ),
    ])
    .await;
    let c = client(&server);
    c.delete_ncc(NCC_ID).await.unwrap();
    c.delete_ncc(NCC_ID).await.unwrap();
    let err = c.delete_ncc(NCC_ID).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
    let api = server.api_requests();
    assert!(
        api.iter()
            .all(|r| r.is("DELETE", &format!("{}/{NCC_ID}", ncc_path())))
    );
}

#[tokio::test]
async fn clones_share_token_cache_and_counters() {
    let server = scripted(vec![Reply::empty(503), Reply::json(200, json!([]))]).await;
    let a = client(&server);
    let b = a.clone();
    a.list_workspaces().await.unwrap();
    b.list_workspaces().await.unwrap();
    assert_eq!(server.token_requests().len(), 1);
    assert_eq!(a.retries(), 1);
    assert_eq!(b.retries(), 1);
}

// =============================================================================================
// Network policies (reference §5)

const WS_ID: i64 = 1234567890123456;

fn policies_path() -> String {
    format!("/api/2.0/accounts/{ACCOUNT}/network-policies")
}

/// A policy as the server returns it: with fields it filled in and one plink does not know.
fn policy_json(id: &str) -> serde_json::Value {
    json!({
        "network_policy_id": id,
        "account_id": ACCOUNT,
        "egress": {"network_access": {
            "restriction_mode": "RESTRICTED_ACCESS",
            "allowed_internet_destinations": [
                {"destination": "pypi.org", "internet_destination_type": "DNS_NAME"}],
            "policy_enforcement": {"enforcement_mode": "ENFORCED"}}},
        "ingress": {"private_access": {"restriction_mode": "ALLOW_ALL_REGISTERED_ENDPOINTS"}},
        "some_future_field": {"kept": true}
    })
}

#[tokio::test]
async fn network_policies_are_raw_json_and_creates_validate_the_id() {
    let server = server_with(|r| match r.method.as_str() {
        "GET" if r.path == policies_path() => Reply::json(
            200,
            json!({"items": [policy_json("default-policy"), policy_json("plink-np")]}),
        ),
        "GET" | "POST" => Reply::json(200, policy_json("plink-np")),
        "DELETE" => Reply::empty(200),
        _ => Reply::empty(405),
    })
    .await;
    let c = client(&server);
    let policy = c.get_network_policy("plink-np").await.unwrap();
    assert_eq!(policy, policy_json("plink-np"), "unknown fields survive");
    let all = c.list_network_policies().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["network_policy_id"], "default-policy");
    let body = json!({"network_policy_id": "plink-np",
                      "egress": {"network_access": {"restriction_mode": "FULL_ACCESS"}}});
    let created = c.create_network_policy(&body).await.unwrap();
    assert_eq!(created["account_id"], ACCOUNT);
    c.delete_network_policy("plink-np").await.unwrap();

    for bad in [
        json!({"network_policy_id": "has space"}),
        json!({"network_policy_id": "x".repeat(33)}),
        json!({"network_policy_id": ""}),
        json!({"egress": {}}),
    ] {
        let err = c.create_network_policy(&bad).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidParameter, "{bad}");
    }

    let api = server.api_requests();
    assert_eq!(api.len(), 4, "invalid ids are refused before any request");
    assert!(api[0].is("GET", &format!("{}/plink-np", policies_path())));
    assert!(api[1].is("GET", &policies_path()));
    assert!(api[2].is("POST", &policies_path()));
    assert_eq!(api[2].body_json(), body, "the body is the flat policy");
    assert!(api[3].is("DELETE", &format!("{}/plink-np", policies_path())));
}

#[tokio::test]
async fn network_policy_create_is_not_replayed_after_a_503() {
    let server = scripted(vec![
        Reply::empty(503),
        Reply::json(200, policy_json("plink-np")),
    ])
    .await;
    let c = client(&server);
    let err = c
        .create_network_policy(&json!({"network_policy_id": "plink-np"}))
        .await
        .unwrap_err();
    assert!(err.is_ambiguous(), "{err}");
    assert_eq!(server.api_requests().len(), 1);
    assert_eq!(c.retries(), 0);
}

#[tokio::test]
async fn network_policy_replace_is_a_put_replayed_after_a_503() {
    let server = scripted(vec![
        Reply::empty(503),
        Reply::json(200, policy_json("plink-np")),
    ])
    .await;
    let c = client(&server);
    let body = policy_json("plink-np");
    let replaced = c.replace_network_policy("plink-np", &body).await.unwrap();
    assert_eq!(replaced, body);
    let api = server.api_requests();
    assert_eq!(api.len(), 2);
    for r in &api {
        assert!(
            r.is("PUT", &format!("{}/plink-np", policies_path())),
            "{r:?}"
        );
        assert_eq!(r.body_json(), body, "the whole object is sent back");
    }
    assert_eq!(c.retries(), 1);
}

#[tokio::test]
async fn workspace_network_option_tolerates_a_missing_workspace_id() {
    // TF #4757: the answer may leave out workspace_id.
    let server = scripted(vec![
        Reply::json(200, json!({"network_policy_id": "default-policy"})),
        Reply::json(200, json!({"network_policy_id": "plink-np"})),
    ])
    .await;
    let c = client(&server);
    let option = c.get_workspace_network_policy(WS_ID).await.unwrap();
    assert_eq!(
        option,
        WorkspaceNetworkOption {
            workspace_id: WS_ID,
            network_policy_id: "default-policy".into()
        }
    );
    let option = c
        .set_workspace_network_policy(WS_ID, "plink-np")
        .await
        .unwrap();
    assert_eq!(option.workspace_id, WS_ID);
    assert_eq!(option.network_policy_id, "plink-np");
    let api = server.api_requests();
    let path = format!("/api/2.0/accounts/{ACCOUNT}/workspaces/{WS_ID}/network");
    assert!(api[0].is("GET", &path));
    assert!(api[1].is("PUT", &path));
    assert_eq!(
        api[1].body_json(),
        json!({"network_policy_id": "plink-np", "workspace_id": WS_ID})
    );
}

// =============================================================================================
// Workspace APIs: warehouses and statements

const WAREHOUSE: &str = "a1b2c3d4e5f61111";
const STATEMENT_ID: &str = "01f0-statement";

fn workspace_json() -> serde_json::Value {
    json!({"workspace_id": WS_ID, "workspace_name": "prod", "deployment_name": "dbc-plink",
           "aws_region": "us-east-1", "workspace_status": "RUNNING"})
}

fn statement_path() -> String {
    format!("/api/2.0/sql/statements/{STATEMENT_ID}")
}

fn succeeded(rows: serde_json::Value, chunks: u64) -> serde_json::Value {
    json!({
        "statement_id": STATEMENT_ID,
        "status": {"state": "SUCCEEDED"},
        "manifest": {"format": "JSON_ARRAY", "total_chunk_count": chunks,
                     "schema": {"column_count": 2, "columns": [
                         {"name": "destination", "type_name": "STRING", "position": 0},
                         {"name": "attempts", "type_name": "LONG", "position": 1}]}},
        "result": {"chunk_index": 0, "row_offset": 0, "data_array": rows}
    })
}

fn state(state: &str) -> serde_json::Value {
    json!({"statement_id": STATEMENT_ID, "status": {"state": state}})
}

/// The workspace client of [`WS_ID`] on the scripted (loopback, hence unified) host.
async fn workspace_client(
    server: &TestServer,
) -> (AccountClient, plink::databricks::WorkspaceClient) {
    workspace_client_with(server, options(fast_retries())).await
}

async fn workspace_client_with(
    server: &TestServer,
    options: ClientOptions,
) -> (AccountClient, plink::databricks::WorkspaceClient) {
    let c = AccountClient::with_options(&m2m(server), options).unwrap();
    let ws: Workspace = serde_json::from_value(workspace_json()).unwrap();
    assert_eq!(ws.deployment_name.as_deref(), Some("dbc-plink"));
    let w = c.workspace(&ws).unwrap();
    (c, w)
}

#[tokio::test]
async fn workspace_client_on_a_loopback_host_names_the_workspace_by_header() {
    let server = server_with(|r| match r.path.as_str() {
        "/api/2.0/sql/warehouses" => Reply::json(
            200,
            json!({"warehouses": [{"id": WAREHOUSE, "name": "plink-demo-warehouse",
                                   "state": "RUNNING", "cluster_size": "2X-Small"}]}),
        ),
        p if p.ends_with(WAREHOUSE) => Reply::json(200, json!({"id": WAREHOUSE, "name": "w"})),
        _ => Reply::json(
            404,
            json!({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no such warehouse"}),
        ),
    })
    .await;
    let (c, w) = workspace_client(&server).await;
    assert_eq!(w.host(), server.url());
    assert_eq!(w.workspace_id(), WS_ID);
    let all = w.list_warehouses().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].id, WAREHOUSE);
    assert_eq!(all[0].state.as_deref(), Some("RUNNING"));
    let one = w.get_warehouse(WAREHOUSE).await.unwrap();
    assert_eq!(one.state, None);
    let err = w.get_warehouse("nope").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    // The account client's token, fetched once from the account token endpoint, serves both.
    c.list_network_policies().await.unwrap_err();

    let api = server.api_requests();
    assert!(api[0].is("GET", "/api/2.0/sql/warehouses"));
    assert!(api[1].is("GET", &format!("/api/2.0/sql/warehouses/{WAREHOUSE}")));
    for r in &api[..3] {
        assert_eq!(
            r.header("x-databricks-workspace-id"),
            Some("1234567890123456")
        );
        assert_eq!(r.header("authorization"), Some("Bearer tok-1"));
    }
    assert_eq!(
        api[3].header("x-databricks-workspace-id"),
        None,
        "account calls have none"
    );
    let tokens = server.token_requests();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].path, format!("/oidc/accounts/{ACCOUNT}/v1/token"));
}

#[tokio::test]
async fn warehouses_empty_answer_is_no_warehouses() {
    let server = scripted(vec![Reply::json(200, json!({}))]).await;
    let (_, w) = workspace_client(&server).await;
    assert!(w.list_warehouses().await.unwrap().is_empty());
}

#[tokio::test]
async fn statement_succeeding_at_once_sends_the_documented_body() {
    let rows = json!([["pypi.org", "4"], ["example.com", null]]);
    let server = scripted(vec![
        Reply::json(200, succeeded(rows.clone(), 1)),
        Reply::json(200, succeeded(rows, 1)),
    ])
    .await;
    // The default 60 s request timeout leaves room for the server's 30 s wait.
    let default_timeout = ClientOptions {
        http_timeout: Duration::from_secs(60),
        ..options(fast_retries())
    };
    let (_, w) = workspace_client_with(&server, default_timeout).await;
    let statement = Statement::new(
        WAREHOUSE,
        "SELECT destination, COUNT(*) AS attempts FROM system.access.outbound_network \
         WHERE event_time >= :since GROUP BY ALL",
    )
    .param("since", "2026-12-01T00:00:00Z", "TIMESTAMP");
    let result = w.execute(&statement).await.unwrap();
    assert_eq!(result.columns, vec!["destination", "attempts"]);
    assert_eq!(
        result.rows,
        vec![
            vec![Some("pypi.org".to_owned()), Some("4".to_owned())],
            vec![Some("example.com".to_owned()), None],
        ]
    );
    assert_eq!(result.column("attempts"), Some(1));
    assert_eq!(result.cell(0, "attempts"), Some("4"));

    let api = server.api_requests();
    assert_eq!(api.len(), 1);
    assert!(api[0].is("POST", "/api/2.0/sql/statements"));
    assert_eq!(
        api[0].header("x-databricks-workspace-id"),
        Some("1234567890123456")
    );
    assert_eq!(
        api[0].body_json(),
        json!({
            "statement": statement.sql,
            "warehouse_id": WAREHOUSE,
            "parameters": [{"name": "since", "value": "2026-12-01T00:00:00Z", "type": "TIMESTAMP"}],
            "wait_timeout": "30s",
            "on_wait_timeout": "CONTINUE",
            "disposition": "INLINE",
            "format": "JSON_ARRAY"
        })
    );

    // A short request timeout: the server answers at once (`0s`) and the client polls, so that
    // no answer times out and gets replayed.
    let (_, w) = workspace_client(&server).await;
    w.execute(&statement).await.unwrap();
    let api = server.api_requests();
    assert_eq!(api[1].body_json()["wait_timeout"], "0s");
}

#[tokio::test]
async fn statement_without_rows_and_a_replayed_post() {
    // A read-only statement is replayed after a 503, unlike a create.
    let mut empty = succeeded(json!([]), 1);
    empty.as_object_mut().unwrap().remove("result");
    let server = scripted(vec![Reply::empty(503), Reply::json(200, empty)]).await;
    let (c, w) = workspace_client(&server).await;
    let result = w
        .execute(&Statement::new(WAREHOUSE, "SELECT 1"))
        .await
        .unwrap();
    assert_eq!(result.columns.len(), 2);
    assert!(result.rows.is_empty());
    assert_eq!(server.api_requests().len(), 2);
    assert_eq!(
        c.retries(),
        1,
        "the unified host shares the account transport"
    );
}

#[tokio::test]
async fn statement_pending_is_polled_until_it_succeeds() {
    let server = scripted(vec![
        Reply::json(200, state("PENDING")),
        Reply::json(200, state("RUNNING")),
        Reply::json(200, succeeded(json!([["pypi.org", "1"]]), 1)),
    ])
    .await;
    let (_, w) = workspace_client(&server).await;
    let started = Instant::now();
    let result = w
        .execute(&Statement::new(WAREHOUSE, "SELECT 1"))
        .await
        .unwrap();
    assert_eq!(result.rows.len(), 1);
    assert!(started.elapsed() < Duration::from_secs(2), "short sleeps");
    let api = server.api_requests();
    assert_eq!(api.len(), 3);
    assert!(api[0].is("POST", "/api/2.0/sql/statements"));
    assert!(api[1].is("GET", &statement_path()));
    assert!(api[2].is("GET", &statement_path()));
    assert!(api[1].header("x-databricks-workspace-id").is_some());
}

#[tokio::test]
async fn statement_still_running_at_the_deadline_is_canceled() {
    let server = server_with(|r| match r.method.as_str() {
        "POST" if r.path.ends_with("/cancel") => Reply::json(200, json!({})),
        _ => Reply::json(200, state("RUNNING")),
    })
    .await;
    let (_, w) = workspace_client(&server).await;
    let mut statement = Statement::new(WAREHOUSE, "SELECT 1");
    statement.timeout = Duration::from_millis(400);
    let err = w.execute(&statement).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.class(), ErrorClass::Retryable);
    let api = server.api_requests();
    assert!(
        api.last()
            .unwrap()
            .is("POST", &format!("{}/cancel", statement_path()))
    );
}

#[tokio::test]
async fn statement_failure_carries_the_message_and_sql_state() {
    let message = "[PARSE_SYNTAX_ERROR] Syntax error at or near 'FORM'. SQLSTATE: 42601";
    let server = scripted(vec![Reply::json(
        200,
        json!({"statement_id": STATEMENT_ID,
               "status": {"state": "FAILED", "sql_state": "42601",
                          "error": {"error_code": "BAD_REQUEST", "message": message}}}),
    )])
    .await;
    let (_, w) = workspace_client(&server).await;
    let err = w
        .execute(&Statement::new(WAREHOUSE, "SELECT * FORM t"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadRequest);
    assert_eq!(err.class(), ErrorClass::Terminal);
    assert_eq!(err.message(), message);
    assert_eq!(err.sql_state(), Some("42601"));
    assert_eq!(err.error_code(), Some("BAD_REQUEST"));
    assert!(err.summary().contains(message), "{}", err.summary());

    // Without the SQLSTATE in the text, it is appended.
    let server = scripted(vec![
        Reply::json(200, state("PENDING")),
        Reply::json(
            200,
            json!({"statement_id": STATEMENT_ID,
                   "status": {"state": "FAILED", "sql_state": "42P01",
                              "error": {"message": "table not found"}}}),
        ),
    ])
    .await;
    let (_, w) = workspace_client(&server).await;
    let err = w
        .execute(&Statement::new(WAREHOUSE, "SELECT 1"))
        .await
        .unwrap_err();
    assert_eq!(err.message(), "table not found (SQLSTATE 42P01)");
    assert_eq!(err.method(), "GET");
    assert_eq!(err.path(), statement_path());
}

#[tokio::test]
async fn statement_results_are_read_across_chunks() {
    let server = server_with(|r| match (r.method.as_str(), r.path.as_str()) {
        ("POST", _) => Reply::json(200, succeeded(json!([["a", "1"], ["b", "2"]]), 2)),
        (_, p) if p.ends_with("/result/chunks/1") => Reply::json(
            200,
            json!({"chunk_index": 1, "row_offset": 2, "data_array": [["c", "3"]]}),
        ),
        _ => Reply::empty(404),
    })
    .await;
    let (_, w) = workspace_client(&server).await;
    let result = w
        .execute(&Statement::new(WAREHOUSE, "SELECT 1"))
        .await
        .unwrap();
    let firsts: Vec<_> = (0..result.rows.len())
        .map(|i| result.cell(i, "destination").unwrap())
        .collect();
    assert_eq!(firsts, ["a", "b", "c"]);
    let api = server.api_requests();
    assert_eq!(api.len(), 2);
    assert!(api[1].is("GET", &format!("{}/result/chunks/1", statement_path())));
}
