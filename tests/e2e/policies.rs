//! The `network-policy` kind (issue #11) from its examples `workflows/network-policy-egress.toml`
//! and `workflows/network-policy-ingress.toml`: the dry run → denials → allowlist → enforced loop,
//! drift of the owned fields only, adoption of an existing policy and of a bound workspace, the
//! ingress lock-out guard, and bad input refused before anything changes.
//!
//! The emulator judges simulated serverless traffic (`POST /_plink/traffic`) and plink's own
//! workspace requests (from 127.0.0.1, as service principal 4242424242424242) against the bound
//! policy and logs denials in the system tables `plink denials` reads.

use serde_json::{Value, json};

use crate::common::workdir::repo_file;
use crate::common::{Call, Emu, Run, Stack, Workdir, edit_once, line_of, says, says_at};
use plink::databricks::ResultExt;

const EGRESS_EXAMPLE: &str = "workflows/network-policy-egress.toml";
const INGRESS_EXAMPLE: &str = "workflows/network-policy-ingress.toml";
/// The egress example's policy, deployment and workspace.
const EGRESS_POLICY: &str = "plink-egress-demo";
const EGRESS_DEPLOYMENT: &str = "demo-egress";
const WS_EGRESS: i64 = 1111111111111111;
/// The ingress example's.
const INGRESS_POLICY: &str = "plink-ingress-demo";
const INGRESS_DEPLOYMENT: &str = "demo-ingress";
const WS_INGRESS: i64 = 2222222222222222;
const DEFAULT_POLICY: &str = "default-policy";

/// `text` with its `enforcement = "dry-run"` switched to `"enforced"`.
fn enforced(text: &str) -> String {
    edit_once(
        text,
        "enforcement = \"dry-run\"",
        "enforcement = \"enforced\"",
    )
}

/// `plink up --accept-denials` on the ingress example's deployment; its policy then enforces
/// restricted public access (returned as read).
fn up_accepting_denials(stack: &Stack, wd: &Workdir, wf: &str) -> Value {
    stack
        .plink(wd)
        .args(["up", "--accept-denials", wf])
        .code(0)
        .run();
    let live = policy(stack, INGRESS_POLICY).expect("the policy");
    assert_eq!(
        live["ingress"]["public_access"]["restriction_mode"], "RESTRICTED_ACCESS",
        "{live:#}"
    );
    live
}

/// Network policy `id` as the account API returns it; `None` when there is none.
fn policy(stack: &Stack, id: &str) -> Option<Value> {
    stack
        .block_on(stack.databricks().get_network_policy(id))
        .optional()
        .expect("read the network policy")
}

/// The ids of every network policy of the account, sorted.
fn policy_ids(stack: &Stack) -> Vec<String> {
    let all = stack
        .block_on(stack.databricks().list_network_policies())
        .expect("list network policies");
    let mut ids: Vec<String> = all
        .iter()
        .map(|p| {
            p["network_policy_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    ids.sort();
    ids
}

/// Writes policy `id` out of band (a full replace).
fn replace_policy(stack: &Stack, id: &str, body: &Value) {
    stack
        .block_on(stack.databricks().replace_network_policy(id, body))
        .expect("replace the network policy");
}

/// Creates policy `body` out of band.
fn create_policy(stack: &Stack, body: &Value) {
    stack
        .block_on(stack.databricks().create_network_policy(body))
        .expect("create a network policy");
}

/// The network policy workspace `ws` is bound to.
fn bound(stack: &Stack, ws: i64) -> String {
    stack
        .block_on(stack.databricks().get_workspace_network_policy(ws))
        .expect("read the workspace's network policy")
        .network_policy_id
}

/// Binds workspace `ws` to `policy` out of band.
fn bind(stack: &Stack, ws: i64, policy: &str) {
    stack
        .block_on(stack.databricks().set_workspace_network_policy(ws, policy))
        .expect("bind the workspace");
}

/// The Databricks calls that change something: every mutating call of the call logs but
/// statement execution (`POST /api/2.0/sql/statements` runs the read-only `SELECT` of the denial
/// logs; the call log counts every `POST` as mutating).
fn writes(stack: &Stack) -> Vec<Call> {
    stack
        .mutating_calls()
        .into_iter()
        .filter(|c| !(c.method == "POST" && c.path.ends_with("/api/2.0/sql/statements")))
        .collect()
}

/// Simulated serverless egress from workspace `ws`: `count` attempts to each DNS name; returns
/// (destination, allowed, access type) of every attempt.
fn egress_traffic(
    stack: &Stack,
    ws: i64,
    count: u32,
    names: &[&str],
) -> Vec<(String, bool, Option<String>)> {
    let destinations: Vec<Value> = names
        .iter()
        .map(|n| json!({"type": "DNS", "name": n}))
        .collect();
    let out = stack.control(
        Emu::Databricks,
        "POST",
        "/_plink/traffic",
        Some(json!({"workspace_id": ws, "count": count, "destinations": destinations})),
    );
    out["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| {
            (
                a["destination"].as_str().unwrap_or_default().to_owned(),
                a["allowed"].as_bool().expect("allowed"),
                a["access_type"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// One request to workspace `ws` from `source_ip` as the service principal; whether it was let in.
fn inbound_allowed(stack: &Stack, ws: i64, source_ip: &str) -> bool {
    let out = stack.control(
        Emu::Databricks,
        "POST",
        "/_plink/traffic",
        Some(
            json!({"direction": "inbound", "workspace_id": ws, "source_ip": source_ip,
                    "request_type": "WORKSPACE_API", "method": "GET",
                    "identity": "service_principal", "count": 1}),
        ),
    );
    out["attempts"][0]["allowed"].as_bool().expect("allowed")
}

/// `plink denials --json <wf>`, which must exit 0.
fn denials(stack: &Stack, wd: &Workdir, wf: &str) -> Value {
    stack
        .plink(wd)
        .args(["denials", "--json", wf])
        .code(0)
        .run()
        .json()
}

/// The egress denials of a `denials --json` report: (destination, access type, attempts,
/// handled), sorted by destination.
fn outbound(report: &Value) -> Vec<(String, String, u64, Option<String>)> {
    let mut out: Vec<_> = report["outbound"]
        .as_array()
        .expect("outbound")
        .iter()
        .map(|d| {
            (
                d["destination"].as_str().unwrap_or_default().to_owned(),
                d["access_type"].as_str().unwrap_or_default().to_owned(),
                d["attempts"].as_u64().expect("attempts"),
                d["handled"].as_str().map(str::to_owned),
            )
        })
        .collect();
    out.sort();
    out
}

/// A policy's `egress.network_access.<key>` destinations (`destination` or `bucket_name`), sorted.
fn destinations(policy: &Value, key: &str) -> Vec<String> {
    let mut out: Vec<String> = policy["egress"]["network_access"][key]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|d| d["destination"].as_str().or(d["bucket_name"].as_str()))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn enforcement_mode(policy: &Value) -> Option<&str> {
    policy["egress"]["network_access"]["policy_enforcement"]["enforcement_mode"].as_str()
}

#[test]
fn egress_dry_run_lists_the_denials_and_enforces_only_once_the_file_allows_them() {
    let stack = Stack::start();
    let example = repo_file(EGRESS_EXAMPLE);
    let (wd, wf) = Workdir::holding(EGRESS_DEPLOYMENT, "egress.toml", &example);
    assert!(policy(&stack, EGRESS_POLICY).is_none());
    assert_eq!(bound(&stack, WS_EGRESS), DEFAULT_POLICY);

    // From nothing: a dry-run policy, bound.
    stack.plink(&wd).args(["up", &wf]).code(0).run();
    let live = policy(&stack, EGRESS_POLICY).expect("the policy exists");
    assert_eq!(enforcement_mode(&live), Some("DRY_RUN"), "{live:#}");
    assert_eq!(
        live["egress"]["network_access"]["restriction_mode"],
        "RESTRICTED_ACCESS"
    );
    assert_eq!(
        destinations(&live, "allowed_internet_destinations"),
        ["*.pythonhosted.org", "pypi.org"]
    );
    assert_eq!(bound(&stack, WS_EGRESS), EGRESS_POLICY);
    let state = wd.state_required();
    assert_eq!(state["workflow"], "network-policy", "{state:#}");
    assert_eq!(
        state["steps"]["policy"]["outputs"]["created_by_plink"],
        true
    );

    // Serverless compute reaches three domains, one of them allowed: the dry run lets all
    // through and logs the two others.
    let attempts = egress_traffic(
        &stack,
        WS_EGRESS,
        3,
        &["pypi.org", "api.example.com", "huggingface.co"],
    );
    assert_eq!(attempts.len(), 9);
    assert!(
        attempts.iter().all(|(_, allowed, _)| *allowed),
        "{attempts:?}"
    );
    let report = denials(&stack, &wd, &wf);
    assert_eq!(report["ingress_read"], false, "{report:#}");
    let dry = |d: &str| (d.to_owned(), "DRY_RUN_DENIAL".to_owned(), 3, None);
    assert_eq!(
        outbound(&report),
        [dry("api.example.com"), dry("huggingface.co")],
        "{report:#}"
    );
    assert_eq!(
        report["add"],
        json!([
            "[egress]",
            "allowed_domains = [\"pypi.org\", \"*.pythonhosted.org\", \"api.example.com\", \"huggingface.co\"]"
        ]),
        "{report:#}"
    );

    // Enforced with only one of them allowed: refused, naming the other; nothing is written.
    let one = edit_once(
        &example,
        "allowed_domains = [\"pypi.org\", \"*.pythonhosted.org\"]",
        "allowed_domains = [\"pypi.org\", \"*.pythonhosted.org\", \"api.example.com\"]",
    );
    let one = enforced(&one);
    wd.write("egress.toml", &one);
    stack.clear_all_calls();
    let refused = stack.plink(&wd).args(["up", &wf]).code(4).run();
    says(&refused, "refusing to switch to enforced");
    says(&refused, "dns huggingface.co (3 attempt(s)");
    says(&refused, "--accept-denials");
    assert!(
        !refused.stderr.contains("dns api.example.com"),
        "{}",
        refused.transcript()
    );
    assert!(writes(&stack).is_empty(), "{:?}", writes(&stack));
    assert!(
        stack.saw_call(Emu::Databricks, "POST /api/2.0/sql/statements"),
        "the guard read the denial logs"
    );
    assert_eq!(policy(&stack, EGRESS_POLICY).as_ref(), Some(&live));
    assert_eq!(bound(&stack, WS_EGRESS), EGRESS_POLICY);
    // `plan` says the same.
    let plan = stack.plink(&wd).args(["plan", &wf]).code(4).run();
    says(&plan, "dns huggingface.co");

    // Both allowed: enforced.
    let both = edit_once(
        &one,
        "\"api.example.com\"]",
        "\"api.example.com\", \"huggingface.co\"]",
    );
    wd.write("egress.toml", &both);
    stack.plink(&wd).args(["up", &wf]).code(0).run();
    let live = policy(&stack, EGRESS_POLICY).expect("the policy");
    assert_ne!(enforcement_mode(&live), Some("DRY_RUN"), "{live:#}");
    assert_eq!(
        destinations(&live, "allowed_internet_destinations"),
        [
            "*.pythonhosted.org",
            "api.example.com",
            "huggingface.co",
            "pypi.org"
        ]
    );

    // The next traffic to them goes through; a fourth domain is dropped.
    let attempts = egress_traffic(
        &stack,
        WS_EGRESS,
        1,
        &["api.example.com", "huggingface.co", "tracker.example.net"],
    );
    assert_eq!(
        attempts,
        [
            ("api.example.com".to_owned(), true, None),
            ("huggingface.co".to_owned(), true, None),
            (
                "tracker.example.net".to_owned(),
                false,
                Some("DROP".to_owned())
            ),
        ]
    );
    let report = denials(&stack, &wd, &wf);
    let rows = outbound(&report);
    assert!(
        rows.contains(&("tracker.example.net".to_owned(), "DROP".to_owned(), 1, None)),
        "{report:#}"
    );
    assert!(
        rows.iter()
            .filter(|r| r.1 == "DRY_RUN_DENIAL")
            .all(|r| r.3.is_some()),
        "the old denials are handled now: {report:#}"
    );

    // Converged: `plan` is clean and a second `up` changes nothing.
    stack.plink(&wd).args(["plan", &wf]).code(0).run();
    stack.clear_all_calls();
    stack.plink(&wd).args(["up", &wf]).code(0).run();
    assert!(
        stack.mutating_calls().is_empty(),
        "{:?}",
        stack.mutating_calls()
    );
}

#[test]
fn drift_of_an_owned_field_is_planned_and_repaired_and_fields_plink_does_not_own_are_kept() {
    let stack = Stack::start();
    let (wd, wf) = Workdir::holding(EGRESS_DEPLOYMENT, "egress.toml", &repo_file(EGRESS_EXAMPLE));
    stack.plink(&wd).args(["up", &wf]).code(0).run();
    stack.plink(&wd).args(["plan", &wf]).code(0).run();

    // Out of band: one allowed domain removed (plink's), a blocked domain and ingress private
    // access set (not in the file: not plink's).
    let mut body = policy(&stack, EGRESS_POLICY).expect("the policy");
    let access = &mut body["egress"]["network_access"];
    access["allowed_internet_destinations"]
        .as_array_mut()
        .expect("allowed domains")
        .retain(|d| d["destination"] != "*.pythonhosted.org");
    access["blocked_internet_destinations"] =
        json!([{"destination": "evil.example.com", "internet_destination_type": "DNS_NAME"}]);
    body["ingress"] =
        json!({"private_access": {"restriction_mode": "ALLOW_ALL_REGISTERED_ENDPOINTS"}});
    replace_policy(&stack, EGRESS_POLICY, &body);
    let drifted = policy(&stack, EGRESS_POLICY).expect("the policy");
    assert_eq!(
        destinations(&drifted, "allowed_internet_destinations"),
        ["pypi.org"]
    );
    let private = drifted["ingress"]["private_access"].clone();
    assert_eq!(
        private["restriction_mode"], "ALLOW_ALL_REGISTERED_ENDPOINTS",
        "{drifted:#}"
    );

    // `plan` names the owned field only.
    let plan = stack.plink(&wd).args(["plan", &wf]).code(10).run();
    says(&plan, "egress allowed domains: adds *.pythonhosted.org");
    for unowned in ["blocked", "evil.example.com", "ingress", "private"] {
        assert!(
            !plan.stdout.contains(unowned),
            "{unowned:?} is not plink's\n{}",
            plan.transcript()
        );
    }

    // `up` repairs it and keeps the rest.
    stack.plink(&wd).args(["up", &wf]).code(0).run();
    let repaired = policy(&stack, EGRESS_POLICY).expect("the policy");
    assert_eq!(
        destinations(&repaired, "allowed_internet_destinations"),
        ["*.pythonhosted.org", "pypi.org"]
    );
    assert_eq!(
        destinations(&repaired, "blocked_internet_destinations"),
        ["evil.example.com"],
        "{repaired:#}"
    );
    assert_eq!(
        repaired["ingress"]["private_access"], private,
        "{repaired:#}"
    );
    assert_eq!(enforcement_mode(&repaired), Some("DRY_RUN"));
    stack.plink(&wd).args(["plan", &wf]).code(0).run();
}

#[test]
fn an_existing_policy_is_adopted_a_workspace_bound_elsewhere_is_switched_only_when_asked_and_down_binds_it_back()
 {
    let stack = Stack::start();
    let (wd, wf) = Workdir::holding(EGRESS_DEPLOYMENT, "egress.toml", &repo_file(EGRESS_EXAMPLE));
    // Another team's policy, bound to the workspace; and a policy of the example's id, with a
    // field the file does not set.
    create_policy(
        &stack,
        &json!({"network_policy_id": "team-policy",
                "egress": {"network_access": {"restriction_mode": "FULL_ACCESS"}}}),
    );
    bind(&stack, WS_EGRESS, "team-policy");
    create_policy(
        &stack,
        &json!({"network_policy_id": EGRESS_POLICY,
                "egress": {"network_access": {"restriction_mode": "FULL_ACCESS",
                    "blocked_internet_destinations": [{"destination": "tracker.example.com"}]}}}),
    );
    let before = policy(&stack, EGRESS_POLICY).expect("the existing policy");
    let ids = policy_ids(&stack);

    // The workspace is bound to someone else's policy: refused, nothing written.
    stack.clear_all_calls();
    let refused = stack.plink(&wd).args(["up", &wf]).code(4).run();
    says(
        &refused,
        &format!("workspace {WS_EGRESS} is bound to network policy team-policy"),
    );
    says(&refused, "--replace-policy-binding");
    assert!(writes(&stack).is_empty(), "{:?}", writes(&stack));
    assert_eq!(policy(&stack, EGRESS_POLICY).as_ref(), Some(&before));
    assert_eq!(policy_ids(&stack), ids);
    assert_eq!(bound(&stack, WS_EGRESS), "team-policy");

    // Asked to: the policy is adopted (plink's fields written, the rest kept) and bound.
    let up = stack
        .plink(&wd)
        .args(["up", "--replace-policy-binding", &wf])
        .code(0)
        .run();
    says(&up, "adopting existing network policy plink-egress-demo");
    let adopted = policy(&stack, EGRESS_POLICY).expect("the policy");
    assert_eq!(
        adopted["egress"]["network_access"]["restriction_mode"],
        "RESTRICTED_ACCESS"
    );
    assert_eq!(
        destinations(&adopted, "allowed_internet_destinations"),
        ["*.pythonhosted.org", "pypi.org"]
    );
    assert_eq!(
        destinations(&adopted, "allowed_storage_destinations"),
        ["plink-demo-data"]
    );
    assert_eq!(enforcement_mode(&adopted), Some("DRY_RUN"));
    assert_eq!(
        destinations(&adopted, "blocked_internet_destinations"),
        ["tracker.example.com"]
    );
    assert_eq!(bound(&stack, WS_EGRESS), EGRESS_POLICY);
    let state = wd.state_required();
    let steps = &state["steps"];
    assert_eq!(
        steps["policy"]["outputs"]["created_by_plink"], false,
        "{state:#}"
    );
    assert_eq!(
        steps["bind"]["outputs"]["workspaces"][0]["previous_policy_id"],
        "team-policy"
    );
    assert_eq!(policy_ids(&stack), ids, "nothing created");
    // Bound now: no flag needed any more.
    stack.plink(&wd).args(["plan", &wf]).code(0).run();

    // `down` binds the workspace back to the team's policy and leaves the adopted one as
    // plink wrote it.
    let down = stack.plink(&wd).args(["down", &wf]).code(0).run();
    says(&down, "releasing network policy plink-egress-demo");
    assert_eq!(bound(&stack, WS_EGRESS), "team-policy");
    assert_eq!(policy(&stack, EGRESS_POLICY).as_ref(), Some(&adopted));
    assert_eq!(policy_ids(&stack), ids);
}

#[test]
fn ingress_rules_locking_plink_out_are_refused_enforced_only_when_accepted_and_repaired_through_the_account_api()
 {
    let stack = Stack::start();
    let example = repo_file(INGRESS_EXAMPLE);
    let with_local = "ips = [\"127.0.0.1/32\", \"198.51.100.0/24\"]";
    let without_local = "ips = [\"198.51.100.0/24\"]";
    let locked = edit_once(&example, with_local, without_local);
    let (wd, wf) = Workdir::holding(INGRESS_DEPLOYMENT, "ingress.toml", &locked);

    // Dry run: the rules are only logged, and plink's own requests are among the denials.
    stack.plink(&wd).args(["up", &wf]).code(0).run();
    let dry = policy(&stack, INGRESS_POLICY).expect("the policy");
    assert_eq!(
        dry["ingress_dry_run"]["public_access"]["restriction_mode"], "RESTRICTED_ACCESS",
        "{dry:#}"
    );
    assert!(dry["ingress"].get("public_access").is_none(), "{dry:#}");
    assert_eq!(bound(&stack, WS_INGRESS), INGRESS_POLICY);
    let report = denials(&stack, &wd, &wf);
    assert_eq!(report["ingress_read"], true, "{report:#}");
    let inbound = report["inbound"].as_array().expect("inbound");
    assert!(
        inbound.iter().any(|d| d["source_ip"] == "127.0.0.1"
            && d["principal_id"] == "4242424242424242"
            && d["access_type"] == "DRY_RUN_DENIAL"
            && d["handled"].is_null()),
        "{report:#}"
    );
    assert!(
        report["add"]
            .as_array()
            .is_some_and(|a| a.contains(&json!("ips = [\"127.0.0.1/32\"]"))),
        "{report:#}"
    );

    // Enforcing it would lock plink out: refused, naming plink's address; nothing written.
    let enforcing = enforced(&locked);
    wd.write("ingress.toml", &enforcing);
    stack.clear_all_calls();
    let refused = stack.plink(&wd).args(["up", &wf]).code(4).run();
    says(&refused, "refusing to switch to enforced");
    says(
        &refused,
        "WORKSPACE_API from 127.0.0.1 by PRINCIPAL_TYPE_SERVICE_PRINCIPAL 4242424242424242",
    );
    assert!(writes(&stack).is_empty(), "{:?}", writes(&stack));
    assert_eq!(policy(&stack, INGRESS_POLICY).as_ref(), Some(&dry));

    // Accepted: enforced, and the lock-out is real — plink's workspace requests get 403.
    let live = up_accepting_denials(&stack, &wd, &wf);
    assert!(
        live.get("ingress_dry_run")
            .is_none_or(|d| d.get("public_access").is_none()),
        "{live:#}"
    );
    stack.clear_all_calls();
    let locked_out = stack.plink(&wd).args(["denials", &wf]).code(4).run();
    says(&locked_out, "the workspaces refuse plink's requests");
    let refused_calls: Vec<Call> = stack
        .calls(Emu::Databricks)
        .into_iter()
        .filter(|c| c.path.starts_with("/api/2.0/sql/") && c.status == Some(403))
        .collect();
    assert!(
        !refused_calls.is_empty(),
        "403 from the workspace API: {:?}",
        stack.calls(Emu::Databricks)
    );
    // The rules hold as written: the automation range gets in, plink's address does not.
    assert!(inbound_allowed(&stack, WS_INGRESS, "198.51.100.7"));
    assert!(!inbound_allowed(&stack, WS_INGRESS, "127.0.0.1"));

    // 127.0.0.1 back in the file: `up` repairs it through the account API (already enforced:
    // no guard, and no denial logs needed), and plink gets in again.
    let repaired = edit_once(&enforcing, without_local, with_local);
    wd.write("ingress.toml", &repaired);
    let up = stack.plink(&wd).args(["up", &wf]).code(0).run();
    says(&up, "the workspaces refuse plink's requests");
    let live = policy(&stack, INGRESS_POLICY).expect("the policy");
    let automation = live["ingress"]["public_access"]["allow_rules"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["label"] == "automation"))
        .cloned()
        .unwrap_or_else(|| panic!("the automation rule: {live:#}"));
    assert_eq!(
        automation["origin"]["included_ip_ranges"]["ip_ranges"],
        json!(["127.0.0.1/32", "198.51.100.0/24"])
    );
    assert!(inbound_allowed(&stack, WS_INGRESS, "127.0.0.1"));
    let report = denials(&stack, &wd, &wf);
    assert_eq!(report["add"], json!([]), "{report:#}");
    stack.plink(&wd).args(["plan", &wf]).code(0).run();
}

#[test]
fn bad_input_is_refused_naming_file_line_and_key_before_anything_changes() {
    let stack = Stack::start();
    let example = repo_file(EGRESS_EXAMPLE);
    let ids = policy_ids(&stack);
    stack.clear_all_calls();

    // (file text, expected exit, the line and key the message must name, and what it says)
    let long_id = "a".repeat(33);
    let mut cases: Vec<(String, &str, i32, usize, String, String)> = Vec::new();
    let text = edit_once(
        &example,
        "id = \"plink-egress-demo\"",
        &format!("id = \"{long_id}\""),
    );
    cases.push((
        text.clone(),
        "long-id.toml",
        3,
        line_of(&text, &long_id),
        "policy.id".into(),
        "33 characters".into(),
    ));
    let text = edit_once(&example, "\"*.pythonhosted.org\"", "\"api..example.com\"");
    cases.push((
        text.clone(),
        "bad-domain.toml",
        3,
        line_of(&text, "api..example.com"),
        "egress.allowed_domains[1]".into(),
        "api..example.com".into(),
    ));
    let many: Vec<String> = (0..2001).map(|i| format!("\"d{i}.example.com\"")).collect();
    let text = edit_once(
        &example,
        "allowed_domains = [\"pypi.org\", \"*.pythonhosted.org\"]",
        &format!("allowed_domains = [{}]", many.join(", ")),
    );
    // Over the limit: 2001 domains and the example's bucket.
    cases.push((
        text.clone(),
        "too-many.toml",
        3,
        line_of(&text, "[egress]"),
        "egress".into(),
        "at most 2000 destinations".into(),
    ));
    let text = edit_once(
        &example,
        "warehouse_id = \"a1b2c3d4e5f61111\"",
        "warehouse_id = \"ffffffffffffffff\"",
    );
    cases.push((
        text.clone(),
        "no-warehouse.toml",
        4,
        line_of(&text, "ffffffffffffffff"),
        "databricks.warehouse_id".into(),
        "SQL warehouse ffffffffffffffff is not in workspace(s) [1111111111111111]".into(),
    ));

    for (text, name, code, line, key, what) in &cases {
        let (wd, wf) = Workdir::holding(EGRESS_DEPLOYMENT, name, text);
        let place = format!("{name}:{line}:");
        let check = |run: &Run| {
            says_at(run, &place, key);
            says(run, what);
        };
        check(&stack.plink(&wd).args(["up", &wf]).code(*code).run());
        check(&stack.plink(&wd).args(["plan", &wf]).code(*code).run());
        if *code == 4 {
            // `plink denials` checks the warehouse the same way.
            check(&stack.plink(&wd).args(["denials", &wf]).code(4).run());
        }
    }

    // Nothing changed: no policy created, the binding as it was, no write at all.
    assert_eq!(policy_ids(&stack), ids);
    assert!(policy(&stack, EGRESS_POLICY).is_none());
    assert_eq!(bound(&stack, WS_EGRESS), DEFAULT_POLICY);
    assert!(writes(&stack).is_empty(), "{:?}", writes(&stack));
}

#[test]
fn ingress_rules_are_never_enforced_without_a_dry_run_first_unless_accepted() {
    // The lock-out guard has nothing to read for a policy whose rules never ran in dry run, so
    // a file that enforces ingress from the start is refused before anything is created.
    let stack = Stack::start();
    let (wd, wf) = Workdir::holding(
        INGRESS_DEPLOYMENT,
        "ingress.toml",
        &enforced(&repo_file(INGRESS_EXAMPLE)),
    );
    let run = stack.plink(&wd).args(["up", &wf]).code(4).run();
    says(&run, "never ran in dry run");
    says(&run, "--accept-denials");
    assert_eq!(policy(&stack, INGRESS_POLICY), None);
    assert_eq!(bound(&stack, WS_INGRESS), DEFAULT_POLICY);
    stack.plink(&wd).args(["plan", &wf]).code(4).run();

    up_accepting_denials(&stack, &wd, &wf);
    assert_eq!(bound(&stack, WS_INGRESS), INGRESS_POLICY);
    stack.plink(&wd).args(["plan", &wf]).code(0).run();
}
