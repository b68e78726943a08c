//! Security suite: no secret anywhere plink writes, private files, TLS always verified, only the
//! rule's own connection accepted among impostors, never a `*` principal.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::checks::is_live;
use crate::common::cloud::{DATABRICKS_AWS, FOREIGN, databricks_principal, established};
use crate::common::{Background, Run, Workdir, WorkflowSpec, status_outputs};
use crate::common::{Emu, Stack, wait_until};
use crate::suite::{Deployment, PHASES, Phase, no_panic};

const WAIT: Duration = Duration::from_secs(60);

/// `plink ARGS` in `wd` with environment changes (`Some` sets, `None` removes).
fn run_env(stack: &Stack, wd: &Workdir, args: &[&str], env: &[(&str, Option<&str>)]) -> Run {
    env.iter()
        .fold(stack.plink(wd).args(args.iter().copied()), |p, (k, v)| {
            p.env_opt(k, *v)
        })
        .run()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// OAuth access tokens for the stack's service principal, from its token endpoint.
fn issue_tokens(stack: &Stack, n: usize) -> Vec<String> {
    let host = stack.env["DATABRICKS_HOST"].clone();
    let account = stack.env["DATABRICKS_ACCOUNT_ID"].clone();
    let (id, secret) = (
        stack.env["DATABRICKS_CLIENT_ID"].clone(),
        stack.env["DATABRICKS_CLIENT_SECRET"].clone(),
    );
    let http = reqwest::Client::new();
    (0..n)
        .map(|_| {
            stack.block_on(async {
                let resp: Value = http
                    .post(format!("{host}/oidc/accounts/{account}/v1/token"))
                    .basic_auth(&id, Some(&secret))
                    .form(&[("grant_type", "client_credentials"), ("scope", "all-apis")])
                    .send()
                    .await
                    .expect("token request")
                    .json()
                    .await
                    .expect("token JSON");
                resp["access_token"]
                    .as_str()
                    .expect("an access token")
                    .to_owned()
            })
        })
        .collect()
}

/// The longest common prefix of `a` and `b`.
fn common_prefix(a: &str, b: &str) -> String {
    a.chars()
        .zip(b.chars())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect()
}

/// Where each needle occurs in `haystack` (named `place`), as messages.
fn leaks(place: &str, haystack: &str, needles: &[(String, String)]) -> Vec<String> {
    needles
        .iter()
        .filter(|(_, n)| !n.is_empty() && haystack.contains(n.as_str()))
        .map(|(what, _)| format!("{what} found in {place}"))
        .collect()
}

#[test]
fn security_no_secret_in_state_files_logs_at_any_verbosity_or_json_output() {
    let stack = Stack::start();
    let suffix = format!("{:016x}", crate::suite::random_u64());
    let aws_secret = format!("rel-aws-secret-{suffix}");
    let session_token = format!("rel-aws-session-{suffix}");
    let wrong_secret = format!("rel-wrong-databricks-secret-{suffix}");
    let tokens = issue_tokens(&stack, 2);
    let prefix = common_prefix(&tokens[0], &tokens[1]);
    assert!(
        prefix.len() >= 40 && prefix.starts_with("eyJ"),
        "tokens are JWTs sharing their header and first claims: {prefix:?}"
    );
    let mut needles = vec![
        (
            "the Databricks client secret".to_owned(),
            stack.env["DATABRICKS_CLIENT_SECRET"].clone(),
        ),
        (
            "a wrong Databricks client secret".into(),
            wrong_secret.clone(),
        ),
        ("the AWS secret access key".into(), aws_secret.clone()),
        ("the AWS session token".into(), session_token.clone()),
        (
            "the stack's default AWS secret key".into(),
            stack.env["AWS_SECRET_ACCESS_KEY"].clone(),
        ),
        (
            "the start of an OAuth token (JWT header and claims)".into(),
            prefix,
        ),
        ("a JWT (`eyJ`)".into(), "eyJ".into()),
    ];
    for (i, t) in tokens.iter().enumerate() {
        needles.push((
            format!("OAuth token #{i} from the token endpoint"),
            t.clone(),
        ));
    }
    let creds: Vec<(&str, Option<&str>)> = vec![
        ("AWS_SECRET_ACCESS_KEY", Some(aws_secret.as_str())),
        ("AWS_SESSION_TOKEN", Some(session_token.as_str())),
    ];
    // Tokens live 1 s (scaled): several are fetched, and a 401 replays a request, during one run.
    stack.set_delays(json!({"token_ttl": 500.0}));

    let d = Deployment::new(&stack, Workdir::new(WorkflowSpec::default()));
    let wf = d.wd.workflow.to_str().unwrap().to_owned();
    let wf = wf.as_str();
    let mut runs: Vec<Run> = Vec::new();
    let mut run = |args: &[&str], extra: &[(&str, Option<&str>)], code: Option<i32>| {
        let mut env = creds.clone();
        env.extend_from_slice(extra);
        let r = run_env(&stack, &d.wd, args, &env);
        if let Some(c) = code {
            r.assert_code(c);
        }
        no_panic(&r).unwrap();
        runs.push(r);
    };
    // A fresh `up` at the highest verbosity (every create and wait), then at every other one.
    run(&["up", wf, "-vvv"], &[], Some(0));
    for v in [None, Some("-v"), Some("-vv")] {
        let mut a = vec!["up", wf];
        a.extend(v);
        run(&a, &[], Some(0));
    }
    // Every reading command, at the lowest and highest verbosity, in text and JSON.
    for args in [
        vec!["status", wf],
        vec!["status", wf, "--json"],
        vec!["status", wf, "--json", "-vvv"],
        vec!["status", wf, "-vvv"],
        vec!["plan", wf, "--json"],
        vec!["plan", wf, "--json", "-vvv"],
        vec!["validate", wf, "-vvv"],
        vec!["unlock", wf, "-vvv"],
    ] {
        run(&args, &[], None);
    }
    // Failures print errors with their causes: a wrong secret, then faults on both clouds.
    run(
        &["up", wf, "-vvv"],
        &[("DATABRICKS_CLIENT_SECRET", Some(wrong_secret.as_str()))],
        Some(8),
    );
    stack.set_faults(
        Emu::Aws,
        json!({"seed": 3, "rules": [{"kind": "aws_throttle", "rate": 0.3},
                                     {"kind": "http_503", "rate": 0.1}]}),
    );
    stack.set_faults(
        Emu::Databricks,
        json!({"seed": 3, "rules": [{"kind": "http_503", "rate": 0.2}]}),
    );
    run(&["up", wf, "-vvv"], &[], Some(0));
    run(&["status", wf, "--json", "-vvv"], &[], None);
    stack.clear_faults(Emu::Aws);
    stack.clear_faults(Emu::Databricks);
    if PHASES.contains(&Phase::Down) {
        let mut args: Vec<&str> = vec!["down", wf, "-vvv"];
        if let Some(ncc) = &d.rebind_to {
            args.extend(["--rebind-to", ncc.as_str()]);
        }
        run(&args, &[], Some(0));
        run(&["status", wf, "--json", "-vvv"], &[], None);
    }

    let mut found = Vec::new();
    for r in &runs {
        let place = format!("the output of `plink {}`", r.args.join(" "));
        found.extend(leaks(
            &place,
            &format!("{}\n{}", r.stdout, r.stderr),
            &needles,
        ));
    }
    let files = files_under(&d.wd.path().join(".plink"));
    assert!(
        files.iter().any(|f| f.ends_with("state.json"))
            && files.iter().any(|f| f.ends_with("state.json.bak")),
        "{files:?}"
    );
    for f in &files {
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
        found.extend(leaks(&f.display().to_string(), &text, &needles));
    }
    let json_runs = runs
        .iter()
        .filter(|r| r.args.contains(&"--json".to_owned()))
        .count();
    eprintln!(
        "security: searched {} run outputs ({json_runs} with --json) and {} state file(s) for {} \
         secret(s)",
        runs.len(),
        files.len(),
        needles.len()
    );
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
}

/// The command of `stack.plink(wd)` with `args`, but run by `sh` under `umask 000`.
fn under_umask_000(stack: &Stack, wd: &Workdir, args: &[&str]) -> Command {
    let base = stack.plink(wd).args(args.iter().copied()).command();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 000 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_plink"))
        .args(args)
        .current_dir(wd.path())
        .env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn security_state_backup_and_lock_files_are_0600_and_their_directories_0700_even_under_umask_000() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::default());
    let wf = wd.workflow.to_str().unwrap().to_owned();
    let custom = wd.path().join("elsewhere/deep/state.json");
    for args in [
        vec!["up", wf.as_str()],
        vec!["up", wf.as_str(), "--state", custom.to_str().unwrap()],
    ] {
        stack.reset();
        let run = Background::spawn(
            under_umask_000(&stack, &wd, &args),
            args.iter().map(|s| (*s).to_owned()).collect(),
        )
        .wait();
        run.assert_code(0);
    }
    let mut checked = Vec::new();
    for (dir, root) in [
        (wd.path().join(".plink/demo-s3"), wd.path().join(".plink")),
        (
            wd.path().join("elsewhere/deep"),
            wd.path().join("elsewhere"),
        ),
    ] {
        let files = files_under(&dir);
        for name in ["state.json", "state.json.bak", "state.json.lock"] {
            assert!(
                files.iter().any(|f| f.ends_with(name)),
                "no {name} in {}: {files:?}",
                dir.display()
            );
        }
        for f in &files {
            assert_eq!(mode(f), 0o600, "{} is {:o}", f.display(), mode(f));
            checked.push(f.clone());
        }
        let mut d = dir.clone();
        loop {
            assert_eq!(mode(&d), 0o700, "{} is {:o}", d.display(), mode(&d));
            if d == root {
                break;
            }
            d = d.parent().unwrap().to_owned();
        }
    }
    eprintln!("security: modes checked on {checked:?}");
}

/// A TLS server on 127.0.0.1 with a self-signed certificate (`tests/reliability/tls/`), run by
/// Python; it logs every HTTP request it gets to `log` and answers `{}`.
struct SelfSignedServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl SelfSignedServer {
    fn start(dir: &Path) -> Self {
        let tls = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reliability/tls");
        let log = dir.join("requests.log");
        let script = r#"
import http.server, ssl, sys
cert, key, log = sys.argv[1], sys.argv[2], sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        with open(log, "a") as f:
            f.write(self.command + " " + self.path + "\n")
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = answer
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(tls.join("self-signed-cert.pem"))
            .arg(tls.join("self-signed-key.pem"))
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 for the TLS server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("the server's port");
        let port = line.trim().parse().expect("a port");
        Self { child, port, log }
    }

    fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for SelfSignedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn security_tls_is_verified_plain_http_is_refused_for_real_hosts_and_there_is_no_switch_to_turn_it_off()
 {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::default());
    let wf = wd.workflow.to_str().unwrap().to_owned();

    // Plain http to anything but a loopback address: exit 8 before any request.
    for host in [
        "http://accounts.cloud.databricks.com",
        "http://10.1.2.3:8080",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
    ] {
        stack.clear_all_calls();
        let run = run_env(
            &stack,
            &wd,
            &["up", &wf],
            &[("DATABRICKS_HOST", Some(host))],
        );
        run.assert_code(8);
        no_panic(&run).unwrap();
        assert!(
            run.stderr
                .contains("plain http is allowed only for loopback hosts"),
            "{}",
            run.transcript()
        );
        assert!(stack.mutating_calls().is_empty(), "{host}");
        assert!(!wd.state_path().exists(), "{host}");
    }

    // https to a server whose certificate no one vouches for: refused, even when a
    // `~/.databrickscfg` profile and the environment ask to skip verification.
    let tmp = tempfile::tempdir().unwrap();
    let server = SelfSignedServer::start(tmp.path());
    let host = format!("https://127.0.0.1:{}", server.port);
    std::fs::write(
        wd.path().join("home/.databrickscfg"),
        format!(
            "[tls]\nhost = {host}\naccount_id = {}\nclient_id = {}\nclient_secret = {}\n\
             skip_verify = true\ninsecure = true\n",
            stack.env["DATABRICKS_ACCOUNT_ID"],
            stack.env["DATABRICKS_CLIENT_ID"],
            stack.env["DATABRICKS_CLIENT_SECRET"]
        ),
    )
    .unwrap();
    let by_env = run_env(
        &stack,
        &wd,
        &["up", &wf],
        &[
            ("DATABRICKS_HOST", Some(host.as_str())),
            ("DATABRICKS_SKIP_VERIFY", Some("true")),
            ("DATABRICKS_INSECURE", Some("true")),
        ],
    );
    let by_profile = run_env(
        &stack,
        &wd,
        &["up", &wf],
        &[
            ("DATABRICKS_HOST", None),
            ("DATABRICKS_ACCOUNT_ID", None),
            ("DATABRICKS_CLIENT_ID", None),
            ("DATABRICKS_CLIENT_SECRET", None),
            ("DATABRICKS_CONFIG_PROFILE", Some("tls")),
        ],
    );
    for run in [&by_env, &by_profile] {
        run.assert_code(8);
        // A certificate error does not heal: no retries for minutes (regression, see
        // `is_tls_failure` in src/databricks/retry.rs).
        assert!(
            run.elapsed < Duration::from_secs(20),
            "refusing an untrusted certificate took {:?}\n{}",
            run.elapsed,
            run.transcript()
        );
        no_panic(run).unwrap();
        assert!(
            run.stderr.to_lowercase().contains("certificate"),
            "the message does not name the certificate problem\n{}",
            run.transcript()
        );
    }
    assert_eq!(
        server.requests(),
        Vec::<String>::new(),
        "plink sent a request over an unverified connection"
    );
    // Control: the server does answer a client that does not verify.
    let control = Command::new("python3")
        .arg("-c")
        .arg(
            "import ssl, sys, urllib.request\n\
             ctx = ssl._create_unverified_context()\n\
             print(urllib.request.urlopen(sys.argv[1] + '/control', context=ctx).read())",
        )
        .arg(&host)
        .output()
        .expect("python3");
    assert!(control.status.success(), "{control:?}");
    assert_eq!(server.requests(), vec!["GET /control".to_owned()]);

    // And no code path can turn verification off.
    let forbidden = [
        "danger_accept_invalid_certs",
        "danger_accept_invalid_hostnames",
        "dangerous()",
        "DangerousClientConfig",
        "ServerCertVerifier",
        "skip_verify",
        "insecure",
        "tls_built_in_root_certs(false)",
    ];
    let mut hits = Vec::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for f in files_under(&src) {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in forbidden {
                if code.contains(word) {
                    hits.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "TLS verification can be weakened:\n{}",
        hits.join("\n")
    );
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    assert!(
        !manifest.contains("danger"),
        "a `dangerous` TLS feature is enabled in Cargo.toml"
    );
}

/// Holds Databricks' rules in CREATING until released.
fn hold_rules(stack: &Stack) {
    stack.set_delays(json!({"rule_creating": 1.0e7}));
}

fn release_rules(stack: &Stack) {
    stack.set_delays(json!({"rule_creating": 30.0}));
}

#[test]
fn security_only_the_rules_own_connection_owned_by_databricks_is_accepted_among_impostors() {
    let stack = Stack::start();
    hold_rules(&stack);
    let wd = Workdir::new(WorkflowSpec::default());
    let mut bg = stack.spawn_up(&wd);
    // The rule exists (CREATING) and has no endpoint yet.
    wait_until("the rule to be created", WAIT, || {
        assert!(
            !bg.exited(),
            "plink exited early:\n{}",
            bg.wait().transcript()
        );
        stack.live_rule("plink-demo-ncc", "us-east-1").is_some()
    });
    let (service_id, service_name) = stack.endpoint_service("us-east-1").expect("service");

    // Two impostors connect now, exactly when the rule's own endpoint would: a stranger, and
    // Databricks' own AWS account with an endpoint that is not the rule's.
    let foreign_root = format!("arn:aws:iam::{FOREIGN}:root");
    let databricks_root = format!("arn:aws:iam::{DATABRICKS_AWS}:root");
    stack.modify_principals(
        "us-east-1",
        &service_id,
        &[&foreign_root, &databricks_root],
        &[],
    );
    let stranger = stack.create_foreign_endpoint(FOREIGN, "us-east-1", &service_name);
    let lookalike = stack.create_foreign_endpoint(DATABRICKS_AWS, "us-east-1", &service_name);
    let states = stack.connection_states("us-east-1");
    assert_eq!(states[&stranger], "pendingAcceptance");
    assert_eq!(states[&lookalike], "pendingAcceptance");
    release_rules(&stack);

    let run = bg.wait();
    run.assert_code(0);
    no_panic(&run).unwrap();
    let rule = stack
        .live_rule("plink-demo-ncc", "us-east-1")
        .expect("the rule");
    assert!(established(&rule), "{}", run.transcript());
    let own = rule.vpc_endpoint_id().expect("rule vpce").to_owned();
    assert!(own != stranger && own != lookalike);
    let states = stack.connection_states("us-east-1");
    assert_eq!(states[&own], "available", "{states:?}");
    assert_eq!(
        states[&stranger],
        "pendingAcceptance",
        "the stranger's connection was touched\n{}",
        run.transcript()
    );
    assert_eq!(
        states[&lookalike],
        "pendingAcceptance",
        "a Databricks-owned connection that is not the rule's was touched\n{}",
        run.transcript()
    );
    assert!(
        !stack
            .calls(Emu::Aws)
            .iter()
            .any(|c| c.action == "RejectVpcEndpointConnections"),
        "plink rejected something"
    );
    assert_eq!(
        wd.output("accept", "accepted_vpc_endpoint_id").as_deref(),
        Some(own.as_str())
    );
    assert_eq!(
        wd.output("accept", "owner").as_deref(),
        Some(DATABRICKS_AWS)
    );

    // `up` again accepts nothing more; status flags only the rule's as the rule's.
    stack.clear_all_calls();
    stack.up(&wd).assert_code(0);
    assert!(
        !stack
            .mutating_calls()
            .iter()
            .any(|c| c.action.starts_with("Accept") || c.action.starts_with("Reject")),
        "{:?}",
        stack.mutating_calls()
    );
    let report = stack.status_json(&wd);
    let conns = report["live"]["connections"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for c in &conns {
        let id = c["vpc_endpoint_id"].as_str().unwrap_or("");
        assert_eq!(c["is_rule_endpoint"] == true, id == own, "{report:#}");
    }
    assert_eq!(conns.len(), 3, "{report:#}");
    let live_dbx = stack
        .connections("us-east-1")
        .into_iter()
        .filter(|c| c.owner == DATABRICKS_AWS && is_live(&c.state))
        .count();
    assert_eq!(live_dbx, 2, "the look-alike is still pending, untouched");
}

/// Every string value in a JSON document.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

#[test]
fn security_a_wildcard_principal_added_out_of_band_is_removed_by_up_and_never_shown_again() {
    let stack = Stack::start();
    let wd = Workdir::new(WorkflowSpec::default());
    stack.up(&wd).assert_code(0);
    let service_id = wd
        .output("endpoint_service", "service_id")
        .expect("service id");
    let dbx = databricks_principal("us-east-1");

    stack.modify_principals("us-east-1", &service_id, &["*"], &[]);
    let mut allowed = stack.allowed_principals("us-east-1", &service_id);
    allowed.sort();
    assert_eq!(allowed, vec!["*".to_owned(), dbx.clone()]);

    stack.clear_all_calls();
    let run = stack.up(&wd);
    run.assert_code(0);
    no_panic(&run).unwrap();
    assert_eq!(
        stack.allowed_principals("us-east-1", &service_id),
        vec![dbx.clone()],
        "`*` is still allowed\n{}",
        run.transcript()
    );
    let mutating = stack.mutating_calls();
    assert!(
        !mutating.is_empty()
            && mutating
                .iter()
                .all(|c| c.action == "ModifyVpcEndpointServicePermissions"),
        "removing `*` should be the only change: {mutating:?}"
    );

    // From now on `status` never shows `*`, in JSON or as a table, and `up` changes nothing.
    for _ in 0..2 {
        let report = stack.status_json(&wd);
        assert_eq!(
            report["live"]["allowed_principals"],
            json!([dbx]),
            "{report:#}"
        );
        assert_eq!(
            status_outputs(&report, "endpoint_service")["allowed_principal"],
            dbx.as_str()
        );
        let mut all = Vec::new();
        strings(&report, &mut all);
        assert!(!all.iter().any(|s| s == "*"), "{report:#}");
        let table = stack.plink(&wd).arg("status").workflow().run();
        table.assert_code(0);
        for line in table.stdout.lines().filter(|l| l.contains("principal")) {
            assert!(
                !line
                    .split_whitespace()
                    .any(|w| w == "*" || w == "\"*\"" || w == "*,"),
                "{line}"
            );
        }
        stack.clear_all_calls();
        stack.up(&wd).assert_code(0);
        assert!(
            stack.mutating_calls().is_empty(),
            "{:?}",
            stack.mutating_calls()
        );
    }
}
