//! The `ip-access-lists` kind (issue #12) from its example `workflows/ip-access-lists.toml`: the
//! lists and the switch on two workspaces, drift made in the console and repaired, `plink ip check`
//! against the emulator's real enforcement, the lockout guard (and `--allow-lockout`), lists plink
//! did not create (left alone, counted against the 1000-value limit, deleted only when
//! `exclusive`), `down` putting the switch back, and bad input refused before anything changes.
//!
//! The emulator enforces a workspace's enabled lists on every workspace-API request while its
//! `enableIpAccessLists` is on; a request's source address is the header `X-Plink-Source-Ip`, else
//! the TCP peer (127.0.0.1: plink's own address, and the out-of-band "console" changes below).

use serde_json::Value;

use crate::common::workdir::repo_file;
use crate::common::{Call, Plink, Run, Stack, Workdir, edit_once, line_of, says, says_at};
use plink::databricks::{IpAccessList, WorkspaceClient};

const EXAMPLE: &str = "workflows/ip-access-lists.toml";
const DEPLOYMENT: &str = "demo-ipacl";
/// The example's workspaces: both get "corp-vpn" and "known-bad", B also "analytics-office".
const WS_A: i64 = 1111111111111111;
const WS_B: i64 = 2222222222222222;
const BOTH: [i64; 2] = [WS_A, WS_B];

// --- the workflow file ---

/// The example's "corp-vpn" addresses, as written.
const CORP_VPN: &str = "addresses = [\"203.0.113.0/24\", \"127.0.0.1\", \"198.51.100.0/25\"]";
/// The example's "known-bad" addresses.
const KNOWN_BAD: &str = "addresses = [\"198.51.100.66\", \"192.0.2.0/24\"]";
/// The example's operator networks.
const OPERATORS: &str = "operator_cidrs = [\"127.0.0.1/32\", \"203.0.113.0/24\"]";

// --- the workspaces, as the console sees them ---

/// A client of workspace `ws`'s API, as an admin in the console (from 127.0.0.1).
fn console(stack: &Stack, ws: i64) -> WorkspaceClient {
    let db = stack.databricks();
    let w = stack
        .block_on(db.get_workspace(ws))
        .expect("read the workspace");
    db.workspace(&w).expect("the workspace's client")
}

/// Every IP access list of workspace `ws`, by label.
fn lists(stack: &Stack, ws: i64) -> Vec<IpAccessList> {
    let mut all = stack
        .block_on(console(stack, ws).list_ip_access_lists())
        .expect("list the IP access lists");
    all.sort_by(|a, b| a.label.cmp(&b.label));
    all
}

/// The labels of workspace `ws`'s lists, sorted.
fn labels(stack: &Stack, ws: i64) -> Vec<String> {
    lists(stack, ws).into_iter().map(|l| l.label).collect()
}

/// List `label` of workspace `ws`, which must exist.
fn list(stack: &Stack, ws: i64, label: &str) -> IpAccessList {
    lists(stack, ws)
        .into_iter()
        .find(|l| l.label == label)
        .unwrap_or_else(|| panic!("no list {label:?} on workspace {ws}"))
}

/// Whether workspace `ws` enforces its lists (`enableIpAccessLists`).
fn switched_on(stack: &Stack, ws: i64) -> bool {
    stack
        .block_on(console(stack, ws).ip_access_enabled())
        .expect("read enableIpAccessLists")
}

/// Both workspaces: the switch and the lists (to assert "nothing changed").
fn snapshot(stack: &Stack) -> Vec<(i64, bool, Vec<IpAccessList>)> {
    BOTH.iter()
        .map(|&ws| (ws, switched_on(stack, ws), lists(stack, ws)))
        .collect()
}

/// Creates a list on workspace `ws` out of band; returns its id.
fn create_list(stack: &Stack, ws: i64, label: &str, list_type: &str, values: &[String]) -> String {
    stack
        .block_on(console(stack, ws).create_ip_access_list(label, list_type, values))
        .expect("create an IP access list")
        .list_id
}

/// Rewrites list `l` of workspace `ws` out of band.
fn update_list(stack: &Stack, ws: i64, l: &IpAccessList, values: &[String], enabled: bool) {
    stack
        .block_on(console(stack, ws).update_ip_access_list(
            &l.list_id,
            &l.list_type,
            values,
            enabled,
        ))
        .expect("update an IP access list");
}

/// Deletes list `l` of workspace `ws` out of band.
fn delete_list(stack: &Stack, ws: i64, l: &IpAccessList) {
    stack
        .block_on(console(stack, ws).delete_ip_access_list(&l.list_id))
        .expect("delete an IP access list");
}

/// Switches workspace `ws`'s lists on or off out of band.
fn switch(stack: &Stack, ws: i64, on: bool) {
    stack
        .block_on(console(stack, ws).set_ip_access_enabled(on))
        .expect("set enableIpAccessLists");
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

/// `n` distinct /24 blocks in 10.0.0.0/8 (values of a big list).
fn blocks(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("10.{}.{}.0/24", i / 256, i % 256))
        .collect()
}

/// The calls that changed something, on either emulator.
fn writes(stack: &Stack) -> Vec<Call> {
    stack.mutating_calls()
}

// --- requests "from" an address ---

/// What workspace `ws` answers a request from each `(ws, source)` (`GET /api/2.0/ip-access-lists`
/// with the service principal's account token on the account host, `X-Databricks-Workspace-Id`
/// naming the workspace and `X-Plink-Source-Ip` the source): `true` for 200, `false` for the IP
/// ACL's 403 (any other answer fails the test).
fn reach(stack: &Stack, probes: &[(i64, &str)]) -> Vec<bool> {
    let host = stack.var("DATABRICKS_HOST").to_owned();
    let http = reqwest::Client::new();
    stack.block_on(async {
        // A fresh token per batch: the emulator's tokens live seconds at the tests' time scale.
        let url = format!(
            "{host}/oidc/accounts/{}/v1/token",
            stack.var("DATABRICKS_ACCOUNT_ID")
        );
        let resp = http
            .post(&url)
            .basic_auth(
                stack.var("DATABRICKS_CLIENT_ID"),
                Some(stack.var("DATABRICKS_CLIENT_SECRET")),
            )
            .form(&[("grant_type", "client_credentials"), ("scope", "all-apis")])
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        assert!(resp.status().is_success(), "token: {}", resp.status());
        let token: Value = resp.json().await.expect("token JSON");
        let token = token["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        let mut out = Vec::new();
        for &(ws, source) in probes {
            let resp = http
                .get(format!("{host}/api/2.0/ip-access-lists"))
                .bearer_auth(&token)
                .header("X-Databricks-Workspace-Id", ws.to_string())
                .header("X-Plink-Source-Ip", source)
                .send()
                .await
                .unwrap_or_else(|e| panic!("GET from {source} on {ws}: {e}"));
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap_or_default();
            match status {
                200 => out.push(true),
                403 => {
                    let refusal = format!(
                        "Source IP address: {source} is blocked by Databricks IP ACL for workspace: {ws}"
                    );
                    assert!(body.contains(&refusal), "403 from {source} on {ws}: {body}");
                    out.push(false);
                }
                other => panic!("GET from {source} on {ws}: {other} {body}"),
            }
        }
        out
    })
}

/// Whether workspace `ws` lets a request from `source` in.
fn reaches(stack: &Stack, ws: i64, source: &str) -> bool {
    reach(stack, &[(ws, source)])[0]
}

/// One answer of `plink ip check --json`.
#[derive(Debug, Clone, PartialEq)]
struct Check {
    address: String,
    workspace_id: i64,
    /// (allowed, why) now and once `up` has applied the file.
    live: (bool, String),
    file: (bool, String),
}

/// `plink ip check --json <wf> <addresses…>`, which must exit 0.
fn ip_check(stack: &Stack, wd: &Workdir, wf: &str, addresses: &[&str]) -> Vec<Check> {
    let mut args = vec!["ip", "check", "--json", wf];
    args.extend_from_slice(addresses);
    let out = stack.plink(wd).args(args).code(0).run().json();
    let verdict = |v: &Value| {
        let allowed = match v["verdict"].as_str() {
            Some("allowed") => true,
            Some("blocked") => false,
            other => panic!("verdict {other:?} in {out:#}"),
        };
        (allowed, v["why"].as_str().expect("why").to_owned())
    };
    let checks: Vec<Check> = out
        .as_array()
        .expect("an array of answers")
        .iter()
        .map(|c| Check {
            address: c["address"].as_str().expect("address").to_owned(),
            workspace_id: c["workspace_id"].as_i64().expect("workspace_id"),
            live: verdict(&c["live"]),
            file: verdict(&c["file"]),
        })
        .collect();
    assert_eq!(checks.len(), addresses.len() * BOTH.len(), "{out:#}");
    checks
}

/// Asserts every `live` verdict of `checks` is what the emulator does with a request from that
/// address to that workspace.
fn agrees_with_the_emulator(stack: &Stack, checks: &[Check]) {
    let probes: Vec<(i64, &str)> = checks
        .iter()
        .map(|c| (c.workspace_id, c.address.as_str()))
        .collect();
    let real = reach(stack, &probes);
    let disagree: Vec<String> = checks
        .iter()
        .zip(&real)
        .filter(|(c, real)| c.live.0 != **real)
        .map(|(c, real)| {
            format!(
                "{} on {}: ip check says {} ({}), the emulator {}",
                c.address,
                c.workspace_id,
                if c.live.0 { "allowed" } else { "blocked" },
                c.live.1,
                if *real {
                    "lets it in"
                } else {
                    "refuses it (403)"
                }
            )
        })
        .collect();
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}

/// The verdict of `checks` for `address` on `ws`.
fn verdict<'a>(checks: &'a [Check], address: &str, ws: i64) -> &'a Check {
    checks
        .iter()
        .find(|c| c.address == address && c.workspace_id == ws)
        .unwrap_or_else(|| panic!("no answer for {address} on {ws}: {checks:?}"))
}

// --- the tests ---

#[test]
fn up_creates_allow_and_block_lists_on_two_workspaces_and_console_edits_are_drift_that_up_repairs()
{
    let stack = Stack::start();
    let (wd, wf) = Workdir::holding(DEPLOYMENT, "ip.toml", &repo_file(EXAMPLE));
    for ws in BOTH {
        assert!(lists(&stack, ws).is_empty());
        assert!(!switched_on(&stack, ws));
    }
    // Before: nothing is enforced, `plan` has changes.
    assert!(reaches(&stack, WS_A, "8.8.8.8"));
    let plan = stack.plink(&wd).args(["plan", &wf]).code(10).run();
    says(&plan, "create allow list \"corp-vpn\" (3 value(s))");
    says(&plan, "switch IP access lists on");

    stack.plink(&wd).args(["up", &wf]).code(0).run();
    for ws in BOTH {
        assert!(switched_on(&stack, ws), "workspace {ws} enforces its lists");
        let corp = list(&stack, ws, "corp-vpn");
        assert_eq!(
            (corp.list_type.as_str(), corp.enabled),
            ("ALLOW", true),
            "{corp:?}"
        );
        assert_eq!(
            corp.ip_addresses,
            ["203.0.113.0/24", "127.0.0.1", "198.51.100.0/25"]
        );
        let bad = list(&stack, ws, "known-bad");
        assert_eq!(
            (bad.list_type.as_str(), bad.enabled),
            ("BLOCK", true),
            "{bad:?}"
        );
        assert_eq!(bad.ip_addresses, ["198.51.100.66", "192.0.2.0/24"]);
    }
    assert_eq!(labels(&stack, WS_A), ["corp-vpn", "known-bad"]);
    assert_eq!(
        labels(&stack, WS_B),
        ["analytics-office", "corp-vpn", "known-bad"]
    );
    assert_eq!(
        list(&stack, WS_B, "analytics-office").ip_addresses,
        ["100.64.10.0/24"]
    );
    let state = wd.state_required();
    assert_eq!(state["workflow"], "ip-access-lists", "{state:#}");
    let rec = &state["steps"][format!("ip_{WS_B}")]["outputs"];
    assert_eq!(rec["enabled_before"], false, "{state:#}");
    assert_eq!(rec["lists"].as_array().map(Vec::len), Some(3), "{state:#}");
    assert!(
        rec["lists"]
            .as_array()
            .is_some_and(|l| l.iter().all(|m| m["created"] == true)),
        "{state:#}"
    );
    // Enforced: an address in no allow list is refused, one in corp-vpn gets in.
    assert_eq!(
        reach(
            &stack,
            &[
                (WS_A, "8.8.8.8"),
                (WS_A, "203.0.113.7"),
                (WS_B, "198.51.100.66")
            ]
        ),
        [false, true, false]
    );

    // Converged: `plan` is clean, a second `up` writes nothing.
    stack.plink(&wd).args(["plan", &wf]).code(0).run();
    stack.clear_all_calls();
    stack.plink(&wd).args(["up", &wf]).code(0).run();
    assert!(writes(&stack).is_empty(), "{:?}", writes(&stack));

    // In the console: corp-vpn of A loses 198.51.100.0/25 and gains 10.0.0.0/8; known-bad of B
    // is disabled.
    let corp_a = list(&stack, WS_A, "corp-vpn");
    let edited = strings(&["203.0.113.0/24", "127.0.0.1", "10.0.0.0/8"]);
    update_list(&stack, WS_A, &corp_a, &edited, true);
    let bad_b = list(&stack, WS_B, "known-bad");
    update_list(&stack, WS_B, &bad_b, &bad_b.ip_addresses, false);
    // The emulator enforces the edited lists.
    assert_eq!(
        reach(
            &stack,
            &[
                (WS_A, "10.1.2.3"),
                (WS_A, "198.51.100.7"),
                (WS_B, "198.51.100.66")
            ]
        ),
        [true, false, true]
    );

    // `plan` shows both, each on its workspace, and changes nothing.
    let drifted = snapshot(&stack);
    stack.clear_all_calls();
    let plan = stack.plink(&wd).args(["plan", &wf]).code(10).run();
    let line = |ws: i64| {
        plan.stdout
            .lines()
            .find(|l| l.contains(&format!("ip_{ws}")))
            .unwrap_or_else(|| panic!("no line for {ws}\n{}", plan.transcript()))
            .to_owned()
    };
    assert!(
        line(WS_A).contains("update allow list \"corp-vpn\" (3 value(s))"),
        "{}",
        plan.transcript()
    );
    assert!(
        line(WS_B).contains("update block list \"known-bad\" (2 value(s))"),
        "{}",
        plan.transcript()
    );
    assert!(!line(WS_A).contains("known-bad"), "{}", plan.transcript());
    assert!(!line(WS_B).contains("corp-vpn"), "{}", plan.transcript());
    assert!(writes(&stack).is_empty(), "{:?}", writes(&stack));
    assert_eq!(snapshot(&stack), drifted);
    // `status` reports it as drift too.
    let status = stack.plink(&wd).args(["status", &wf]).code(0).run();
    says(&status, "DRIFT");

    // `up` repairs both in place (one update per workspace, the same lists).
    stack.clear_all_calls();
    stack.plink(&wd).args(["up", &wf]).code(0).run();
    let fixes: Vec<String> = writes(&stack).iter().map(|c| c.action.clone()).collect();
    assert_eq!(fixes.len(), 2, "{fixes:?}");
    assert!(fixes.iter().all(|a| a.starts_with("PATCH ")), "{fixes:?}");
    let corp = list(&stack, WS_A, "corp-vpn");
    assert_eq!(corp.list_id, corp_a.list_id);
    assert_eq!(
        corp.ip_addresses,
        ["203.0.113.0/24", "127.0.0.1", "198.51.100.0/25"]
    );
    let bad = list(&stack, WS_B, "known-bad");
    assert_eq!(
        (bad.list_id.as_str(), bad.enabled),
        (bad_b.list_id.as_str(), true)
    );
    assert_eq!(
        reach(
            &stack,
            &[
                (WS_A, "10.1.2.3"),
                (WS_A, "198.51.100.7"),
                (WS_B, "198.51.100.66")
            ]
        ),
        [false, true, false]
    );
    stack.plink(&wd).args(["plan", &wf]).code(0).run();

    // A list deleted and the switch turned off in the console: drift too, repaired.
    delete_list(&stack, WS_A, &list(&stack, WS_A, "known-bad"));
    switch(&stack, WS_B, false);
    let plan = stack.plink(&wd).args(["plan", &wf]).code(10).run();
    says(&plan, "create block list \"known-bad\" (2 value(s))");
    says(&plan, "switch IP access lists on");
    stack.plink(&wd).args(["up", &wf]).code(0).run();
    assert_eq!(labels(&stack, WS_A), ["corp-vpn", "known-bad"]);
    assert!(switched_on(&stack, WS_B));
    stack.plink(&wd).args(["plan", &wf]).code(0).run();
}

#[test]
fn ip_check_agrees_with_the_emulators_enforcement_address_by_address_on_both_workspaces() {
    let stack = Stack::start();
    let (wd, wf) = Workdir::holding(DEPLOYMENT, "ip.toml", &repo_file(EXAMPLE));
    // Someone else's block list on A, written in the console with host bits set (Databricks
    // takes "198.51.100.10/30" as the block 198.51.100.8/30): it stays (not exclusive) and
    // blocks inside corp-vpn.
    create_list(
        &stack,
        WS_A,
        "audit-quarantine",
        "BLOCK",
        &strings(&["198.51.100.10/30"]),
    );

    // Inside and outside the allow lists, inside the block lists, and the edges of each block:
    // its first and last address and the ones just outside.
    let addresses = [
        "127.0.0.1",
        "203.0.113.7",
        "203.0.112.255",
        "203.0.113.0",
        "203.0.113.255",
        "203.0.114.0",
        "198.51.100.7",
        "198.51.100.8",
        "198.51.100.11",
        "198.51.100.12",
        "198.51.99.255",
        "198.51.100.0",
        "198.51.100.65",
        "198.51.100.66",
        "198.51.100.67",
        "198.51.100.127",
        "198.51.100.128",
        "192.0.1.255",
        "192.0.2.0",
        "192.0.2.255",
        "192.0.3.0",
        "100.64.9.255",
        "100.64.10.0",
        "100.64.10.255",
        "100.64.11.0",
        "8.8.8.8",
        "10.0.0.1",
    ];

    // Before `up`: nothing enforced, and ip check says so; its `file` verdicts are the forecast.
    let before = ip_check(&stack, &wd, &wf, &addresses);
    assert!(
        before.iter().all(|c| c.live.0),
        "IP access lists are off: {before:?}"
    );
    agrees_with_the_emulator(&stack, &before);

    stack.plink(&wd).args(["up", &wf]).code(0).run();
    let after = ip_check(&stack, &wd, &wf, &addresses);
    agrees_with_the_emulator(&stack, &after);
    for (b, a) in before.iter().zip(&after) {
        assert_eq!((&b.address, b.workspace_id), (&a.address, a.workspace_id));
        assert_eq!(
            b.file, a.live,
            "the forecast before up is what up did: {a:?}"
        );
        assert_eq!(a.file, a.live, "converged: {a:?}");
    }

    // The verdicts themselves (so the agreement above is not vacuous), with the list that decides.
    let expect = |address: &str, ws: i64, allowed: bool, why: &str| {
        let c = verdict(&after, address, ws);
        assert_eq!(c.live, (allowed, why.to_owned()), "{c:?}");
    };
    let corp = "allow list \"corp-vpn\"";
    let bad = "block list \"known-bad\"";
    let quarantine = "block list \"audit-quarantine\"";
    let outside = "in no allow list";
    for ws in BOTH {
        expect("127.0.0.1", ws, true, corp);
        expect("203.0.113.0", ws, true, corp);
        expect("203.0.113.255", ws, true, corp);
        expect("203.0.112.255", ws, false, outside);
        expect("203.0.114.0", ws, false, outside);
        expect("198.51.100.0", ws, true, corp);
        expect("198.51.100.127", ws, true, corp);
        expect("198.51.100.128", ws, false, outside);
        expect("198.51.99.255", ws, false, outside);
        expect("198.51.100.65", ws, true, corp);
        expect("198.51.100.66", ws, false, bad);
        expect("198.51.100.67", ws, true, corp);
        expect("192.0.2.0", ws, false, bad);
        expect("192.0.2.255", ws, false, bad);
        expect("192.0.1.255", ws, false, outside);
        expect("192.0.3.0", ws, false, outside);
        expect("100.64.9.255", ws, false, outside);
        expect("100.64.11.0", ws, false, outside);
        expect("8.8.8.8", ws, false, outside);
    }
    let office = "allow list \"analytics-office\"";
    expect("100.64.10.0", WS_B, true, office);
    expect("100.64.10.255", WS_B, true, office);
    expect("100.64.10.0", WS_A, false, outside);
    // The console's list, as Databricks reads it: 198.51.100.8/30, on A only.
    expect("198.51.100.7", WS_A, true, corp);
    expect("198.51.100.8", WS_A, false, quarantine);
    expect("198.51.100.11", WS_A, false, quarantine);
    expect("198.51.100.12", WS_A, true, corp);
    expect("198.51.100.8", WS_B, true, corp);

    // The text form says the same.
    let text = stack
        .plink(&wd)
        .args(["ip", "check", &wf, "198.51.100.66", "100.64.10.1"])
        .code(0)
        .run();
    says(
        &text,
        &format!("198.51.100.66    workspace {WS_A}  BLOCKED (block list \"known-bad\")"),
    );
    says(
        &text,
        &format!("100.64.10.1      workspace {WS_B}  allowed (allow list \"analytics-office\")"),
    );

    // A list disabled in the console counts for nothing, for ip check as for Databricks; the
    // forecast says `up` enables it again.
    let bad_a = list(&stack, WS_A, "known-bad");
    update_list(&stack, WS_A, &bad_a, &bad_a.ip_addresses, false);
    let drifted = ip_check(&stack, &wd, &wf, &addresses);
    agrees_with_the_emulator(&stack, &drifted);
    let c = verdict(&drifted, "192.0.2.0", WS_A);
    assert_eq!(c.live, (false, outside.to_owned()), "{c:?}");
    assert_eq!(c.file, (false, bad.to_owned()), "{c:?}");
    let c = verdict(&drifted, "198.51.100.66", WS_A);
    assert_eq!(c.live, (true, corp.to_owned()), "{c:?}");
    assert_eq!(c.file, (false, bad.to_owned()), "{c:?}");
}

#[test]
fn a_change_that_would_block_an_operator_network_is_refused_before_any_call_and_applied_only_with_allow_lockout()
 {
    let stack = Stack::start();
    // An automation network, 198.18.0.0/24, is an operator network and in corp-vpn.
    let example = repo_file(EXAMPLE);
    let text = edit_once(
        &example,
        OPERATORS,
        "operator_cidrs = [\"127.0.0.1/32\", \"203.0.113.0/24\", \"198.18.0.0/24\"]",
    );
    let with_automation = edit_once(
        &text,
        CORP_VPN,
        "addresses = [\"203.0.113.0/24\", \"127.0.0.1\", \"198.51.100.0/25\", \"198.18.0.0/24\"]",
    );
    let (wd, wf) = Workdir::holding(DEPLOYMENT, "ip.toml", &with_automation);

    // A block list made in the console on A, written with host bits ("203.0.113.130/30" is the
    // block 203.0.113.128/30 to Databricks), covers part of the operator network 203.0.113.0/24:
    // switching A's lists on would block it. Refused in the preflight (issue #16: nothing is
    // changed while any check fails), so B, which has no such list, is not touched either.
    let quarantine = create_list(
        &stack,
        WS_A,
        "audit-quarantine",
        "BLOCK",
        &strings(&["203.0.113.130/30"]),
    );
    stack.clear_all_calls();
    let refused = stack.plink(&wd).args(["up", &wf]).code(4).run();
    says(
        &refused,
        &format!(
            "workspace {WS_A}: refusing to switch IP access lists on: operator network 203.0.113.0/24 \
             would be blocked (block list \"audit-quarantine\")"
        ),
    );
    assert!(!switched_on(&stack, WS_A));
    assert_eq!(
        labels(&stack, WS_A),
        ["audit-quarantine"],
        "nothing written on A"
    );
    assert!(!switched_on(&stack, WS_B));
    assert!(stack.mutating_calls().is_empty());
    let l = list(&stack, WS_A, "audit-quarantine");
    assert_eq!(l.list_id, quarantine);
    delete_list(&stack, WS_A, &l);

    stack.plink(&wd).args(["up", &wf]).code(0).run();
    let automation: Vec<(i64, &str)> = BOTH.iter().map(|&ws| (ws, "198.18.0.5")).collect();
    assert_eq!(reach(&stack, &automation), [true, true]);
    let converged = snapshot(&stack);

    // Out of corp-vpn: it would be in no allow list. Refused before any write, on both
    // workspaces, naming the network and the list; `plan` says the same.
    let without = text;
    wd.write("ip.toml", &without);
    stack.clear_all_calls();
    for command in ["up", "plan"] {
        let refused = stack.plink(&wd).args([command, &wf]).code(4).run();
        for ws in BOTH {
            says(
                &refused,
                &format!(
                    "workspace {ws}: refusing to update allow list \"corp-vpn\" (3 value(s)) \
                     (removes 198.18.0.0/24): operator network 198.18.0.0/24 would be blocked \
                     (not (wholly) in any allow list)"
                ),
            );
        }
        says(&refused, "--allow-lockout");
    }
    assert!(writes(&stack).is_empty(), "{:?}", writes(&stack));
    assert_eq!(snapshot(&stack), converged);
    assert_eq!(reach(&stack, &automation), [true, true]);

    // Into a block list (corp-vpn unchanged): refused, naming that list.
    let blocked = edit_once(
        &with_automation,
        KNOWN_BAD,
        "addresses = [\"198.51.100.66\", \"192.0.2.0/24\", \"198.18.0.128/25\"]",
    );
    wd.write("ip.toml", &blocked);
    let refused = stack.plink(&wd).args(["up", &wf]).code(4).run();
    says(
        &refused,
        &format!(
            "workspace {WS_A}: refusing to update block list \"known-bad\" (3 value(s)) \
             (adds 198.18.0.128/25): operator network 198.18.0.0/24 would be blocked \
             (block list \"known-bad\")"
        ),
    );
    assert!(writes(&stack).is_empty(), "{:?}", writes(&stack));
    assert_eq!(snapshot(&stack), converged);

    // ip check shows what the refused file would do.
    wd.write("ip.toml", &without);
    let checks = ip_check(&stack, &wd, &wf, &["198.18.0.5"]);
    for c in &checks {
        assert_eq!(
            c.live,
            (true, "allow list \"corp-vpn\"".to_owned()),
            "{c:?}"
        );
        assert_eq!(c.file, (false, "in no allow list".to_owned()), "{c:?}");
    }

    // Intended: applied with --allow-lockout, and the emulator really refuses that network now,
    // while corp-vpn's other networks (and plink) still get in.
    stack
        .plink(&wd)
        .args(["up", "--allow-lockout", &wf])
        .code(0)
        .run();
    for ws in BOTH {
        assert_eq!(
            list(&stack, ws, "corp-vpn").ip_addresses,
            ["203.0.113.0/24", "127.0.0.1", "198.51.100.0/25"]
        );
    }
    assert_eq!(reach(&stack, &automation), [false, false]);
    assert_eq!(
        reach(&stack, &[(WS_A, "203.0.113.7"), (WS_B, "127.0.0.1")]),
        [true, true]
    );
    let checks = ip_check(&stack, &wd, &wf, &["198.18.0.5"]);
    assert!(checks.iter().all(|c| !c.live.0), "{checks:?}");

    // plink's own address out of corp-vpn: refused by the guard; with --allow-lockout, by
    // Databricks itself (it never lets a caller block itself), and nothing changes either way.
    let no_local = edit_once(
        &without,
        CORP_VPN,
        "addresses = [\"203.0.113.0/24\", \"198.51.100.0/25\"]",
    );
    wd.write("ip.toml", &no_local);
    let before = snapshot(&stack);
    let refused = stack.plink(&wd).args(["up", &wf]).code(4).run();
    says(&refused, "operator network 127.0.0.1 would be blocked");
    let refused = stack
        .plink(&wd)
        .args(["up", "--allow-lockout", &wf])
        .code(4)
        .run();
    says(&refused, "Databricks refuses");
    assert_eq!(snapshot(&stack), before);
}

#[test]
fn lists_plink_did_not_create_are_left_alone_and_counted_and_deleted_only_when_exclusive() {
    let stack = Stack::start();
    let example = repo_file(EXAMPLE);
    // A team's list on each workspace, made before plink.
    for ws in BOTH {
        create_list(
            &stack,
            ws,
            "legacy-office",
            "ALLOW",
            &strings(&["10.20.0.0/16"]),
        );
    }
    let (wd, wf) = Workdir::holding(DEPLOYMENT, "ip.toml", &example);

    // `up` leaves it as it was, and counts it.
    stack.plink(&wd).args(["up", &wf]).code(0).run();
    let theirs: Vec<IpAccessList> = BOTH
        .iter()
        .map(|&ws| list(&stack, ws, "legacy-office"))
        .collect();
    for (ws, l) in BOTH.iter().zip(&theirs) {
        assert_eq!(
            (l.ip_addresses.as_slice(), l.enabled),
            (&["10.20.0.0/16".to_owned()][..], true)
        );
        assert!(labels(&stack, *ws).contains(&"corp-vpn".to_owned()));
    }
    assert_eq!(
        labels(&stack, WS_A),
        ["corp-vpn", "known-bad", "legacy-office"]
    );
    // Its allow list counts with plink's: the team's network gets in.
    assert!(reaches(&stack, WS_A, "10.20.3.4"));
    stack.plink(&wd).args(["plan", &wf]).code(0).run();
    let status = stack.plink(&wd).args(["status", &wf]).code(0).run();
    says(
        &status,
        &format!("workspace {WS_A}: on, 3 list(s) (2 of plink's)"),
    );
    says(
        &status,
        &format!("workspace {WS_B}: on, 4 list(s) (3 of plink's)"),
    );

    // `down` deletes plink's lists only.
    let down = stack.plink(&wd).args(["down", &wf]).code(0).run();
    for ws in BOTH {
        assert_eq!(
            labels(&stack, ws),
            ["legacy-office"],
            "{}",
            down.transcript()
        );
        assert!(!switched_on(&stack, ws));
    }
    assert_eq!(
        BOTH.iter()
            .map(|&ws| list(&stack, ws, "legacy-office"))
            .collect::<Vec<_>>(),
        theirs
    );

    // Grown to 990 values on A and 989 on B, with a file of 13 (A) and 14 (B) values: over the
    // 1000 Databricks allows. Refused before any write (`plan` too), naming the limit.
    update_list(&stack, WS_A, &theirs[0], &blocks(990), true);
    update_list(&stack, WS_B, &theirs[1], &blocks(989), true);
    let partners: Vec<String> = (1..=8).map(|i| format!("\"172.16.0.{i}\"")).collect();
    let bigger = format!(
        "{example}\n[[lists]]\nlabel = \"partners\"\ntype = \"allow\"\naddresses = [{}]\n",
        partners.join(", ")
    );
    wd.write("ip.toml", &bigger);
    let before = snapshot(&stack);
    stack.clear_all_calls();
    for command in ["up", "plan"] {
        let refused = stack.plink(&wd).args([command, &wf]).code(4).run();
        says(
            &refused,
            &format!(
                "workspace {WS_A}: 13 values in the workflow file's lists + 990 in lists plink does not manage \
                 exceed the 1000 Databricks allows"
            ),
        );
        says(
            &refused,
            &format!("workspace {WS_B}: 14 values in the workflow file's lists + 989"),
        );
        says(&refused, "access.exclusive = true");
    }
    assert!(writes(&stack).is_empty(), "{:?}", writes(&stack));
    assert_eq!(snapshot(&stack), before);

    // Exactly at the limit (known-bad 5 values longer: 10 on A, 11 on B): fine.
    let extra: Vec<String> = (1..=5).map(|i| format!("\"192.0.3.{i}\"")).collect();
    let full = edit_once(
        &example,
        KNOWN_BAD,
        &format!(
            "addresses = [\"198.51.100.66\", \"192.0.2.0/24\", {}]",
            extra.join(", ")
        ),
    );
    wd.write("ip.toml", &full);
    stack.plink(&wd).args(["up", &wf]).code(0).run();
    // Then corp-vpn takes those 5 values from known-bad: the total stays at 1000, so known-bad
    // must shrink before corp-vpn grows (Databricks checks the limit after each call).
    let moved = edit_once(
        &example,
        CORP_VPN,
        &format!(
            "addresses = [\"203.0.113.0/24\", \"127.0.0.1\", \"198.51.100.0/25\", {}]",
            (1..=5)
                .map(|i| format!("\"198.18.1.{i}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    wd.write("ip.toml", &moved);
    stack.plink(&wd).args(["up", &wf]).code(0).run();
    for ws in BOTH {
        assert_eq!(list(&stack, ws, "corp-vpn").ip_addresses.len(), 8);
        assert_eq!(list(&stack, ws, "known-bad").ip_addresses.len(), 2);
    }
    stack.plink(&wd).args(["plan", &wf]).code(0).run();

    // `exclusive = true`: plink owns every list, so the team's is to be deleted; `plan` lists
    // the deletion and `up` makes it (the values it frees are the ones plink's lists need).
    let exclusive = edit_once(&bigger, "exclusive = false", "exclusive = true");
    wd.write("ip.toml", &exclusive);
    stack.clear_all_calls();
    let plan = stack.plink(&wd).args(["plan", &wf]).code(10).run();
    for ws in BOTH {
        let line = plan
            .stdout
            .lines()
            .find(|l| l.contains(&format!("ip_{ws}")))
            .unwrap_or_else(|| panic!("no line for {ws}\n{}", plan.transcript()));
        assert!(
            line.contains("delete list \"legacy-office\""),
            "{}",
            plan.transcript()
        );
    }
    assert!(writes(&stack).is_empty(), "{:?}", writes(&stack));
    stack.plink(&wd).args(["up", &wf]).code(0).run();
    assert_eq!(labels(&stack, WS_A), ["corp-vpn", "known-bad", "partners"]);
    assert_eq!(
        labels(&stack, WS_B),
        ["analytics-office", "corp-vpn", "known-bad", "partners"]
    );
    assert!(!reaches(&stack, WS_A, "10.20.3.4"));
    stack.plink(&wd).args(["plan", &wf]).code(0).run();

    // A list made in the console now is deleted by the next `up` (and planned as such).
    create_list(&stack, WS_B, "shadow-it", "ALLOW", &strings(&["127.0.0.1"]));
    let plan = stack.plink(&wd).args(["plan", &wf]).code(10).run();
    says(&plan, "delete list \"shadow-it\"");
    stack.plink(&wd).args(["up", &wf]).code(0).run();
    assert!(!labels(&stack, WS_B).contains(&"shadow-it".to_owned()));

    stack.plink(&wd).args(["down", &wf]).code(0).run();
    for ws in BOTH {
        assert!(lists(&stack, ws).is_empty());
        assert!(!switched_on(&stack, ws));
    }
}

#[test]
fn down_puts_the_switch_back_as_it_was_and_deletes_only_plinks_lists() {
    let stack = Stack::start();
    // A: off before plink. B: on before plink, with the team's allow list (plink's address in it).
    let theirs = create_list(
        &stack,
        WS_B,
        "their-office",
        "ALLOW",
        &strings(&["127.0.0.1"]),
    );
    switch(&stack, WS_B, true);
    assert_eq!(
        reach(&stack, &[(WS_B, "127.0.0.1"), (WS_B, "203.0.113.7")]),
        [true, false]
    );
    let (wd, wf) = Workdir::holding(DEPLOYMENT, "ip.toml", &repo_file(EXAMPLE));
    stack.plink(&wd).args(["up", &wf]).code(0).run();
    for ws in BOTH {
        assert!(switched_on(&stack, ws));
    }
    assert_eq!(
        labels(&stack, WS_B),
        ["analytics-office", "corp-vpn", "known-bad", "their-office"]
    );
    let state = wd.state_required();
    assert_eq!(
        state["steps"][format!("ip_{WS_A}")]["outputs"]["enabled_before"],
        false,
        "{state:#}"
    );
    assert_eq!(
        state["steps"][format!("ip_{WS_B}")]["outputs"]["enabled_before"],
        true,
        "{state:#}"
    );
    assert!(reaches(&stack, WS_B, "203.0.113.7"));

    // On B, going back to the team's list alone would block the operator network
    // 203.0.113.0/24 again: `down` refuses that step (A is torn down regardless).
    let b_up = lists(&stack, WS_B);
    let refused = stack.plink(&wd).args(["down", &wf]).code(4).run();
    says(
        &refused,
        &format!(
            "workspace {WS_B}: refusing to delete list \"corp-vpn\": operator network 203.0.113.0/24 would be blocked"
        ),
    );
    says(&refused, "--allow-lockout");
    assert!(lists(&stack, WS_A).is_empty());
    assert!(!switched_on(&stack, WS_A), "off before plink: off after");
    assert_eq!(lists(&stack, WS_B), b_up, "nothing written on B");
    assert!(switched_on(&stack, WS_B));

    // Intended: B goes back to exactly what it was — on, the team's list only.
    stack
        .plink(&wd)
        .args(["down", "--allow-lockout", &wf])
        .code(0)
        .run();
    assert!(switched_on(&stack, WS_B), "on before plink: stays on");
    let left = lists(&stack, WS_B);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(
        (left[0].list_id.as_str(), left[0].ip_addresses.as_slice()),
        (theirs.as_str(), &["127.0.0.1".to_owned()][..])
    );
    assert_eq!(
        reach(
            &stack,
            &[
                (WS_B, "127.0.0.1"),
                (WS_B, "203.0.113.7"),
                (WS_A, "8.8.8.8")
            ]
        ),
        [true, false, true]
    );
    assert!(lists(&stack, WS_A).is_empty());
    assert!(!switched_on(&stack, WS_A), "off before plink: off after");

    // The team's list covers the operator networks too: a second deployment goes up and down
    // without a flag, and B is left on with the team's list as it was.
    let mut office = left[0].clone();
    update_list(
        &stack,
        WS_B,
        &office,
        &strings(&["127.0.0.1", "203.0.113.0/24"]),
        true,
    );
    office = list(&stack, WS_B, "their-office");
    let (wd, wf) = Workdir::holding(DEPLOYMENT, "ip.toml", &repo_file(EXAMPLE));
    stack.plink(&wd).args(["up", &wf]).code(0).run();
    stack.plink(&wd).args(["down", &wf]).code(0).run();
    assert!(switched_on(&stack, WS_B), "on before plink: stays on");
    assert_eq!(lists(&stack, WS_B), [office]);
    assert!(lists(&stack, WS_A).is_empty());
    assert!(!switched_on(&stack, WS_A));
}

#[test]
fn bad_input_is_refused_naming_file_line_and_key_before_anything_changes() {
    let stack = Stack::start();
    let example = repo_file(EXAMPLE);
    let before = snapshot(&stack);
    stack.clear_all_calls();

    // (file name, text, the line and key the message must name, what it says)
    let mut cases: Vec<(&str, String, usize, &str, String)> = Vec::new();
    // One value added to a list of the example: where it is written, and what the error says.
    let mut bad_value = |name, list: &str, value: &str, key, what: &str| {
        let written = list.replace("]", &format!(", \"{value}\"]"));
        let text = edit_once(&example, list, &written);
        cases.push((
            name,
            text.clone(),
            line_of(&text, value),
            key,
            what.to_owned(),
        ));
    };
    bad_value(
        "ipv6.toml",
        KNOWN_BAD,
        "2001:db8::1",
        "lists[1].addresses[2]",
        "2001:db8::1 is an IPv6 address",
    );
    bad_value(
        "prefix.toml",
        KNOWN_BAD,
        "10.0.0.0/33",
        "lists[1].addresses[2]",
        "10.0.0.0/33: the prefix length must be 0 to 32",
    );
    bad_value(
        "host-bits.toml",
        KNOWN_BAD,
        "10.0.0.1/8",
        "lists[1].addresses[2]",
        "10.0.0.1/8 has host bits set (the block is 10.0.0.0/8)",
    );
    bad_value(
        "overlap.toml",
        CORP_VPN,
        "198.51.100.64/26",
        "lists[0].addresses[3]",
        "198.51.100.64/26 overlaps 198.51.100.0/25",
    );
    let text = edit_once(
        &example,
        "label = \"analytics-office\"",
        "label = \"corp-vpn\"",
    );
    cases.push((
        "duplicate.toml",
        text.clone(),
        // The third list's label, not the first's.
        text.lines()
            .enumerate()
            .filter(|(_, l)| l.contains("label = \"corp-vpn\""))
            .map(|(i, _)| i + 1)
            .nth(1)
            .expect("a second corp-vpn"),
        "lists[2].label",
        "label \"corp-vpn\" is used by an earlier list".into(),
    ));
    // 1001 values (generated) in one list: over the limit, wherever they are.
    let many: Vec<String> = (0..1001)
        .map(|i| format!("\"10.{}.{}.{}\"", i / 65536, (i / 256) % 256, i % 256))
        .collect();
    let text = format!(
        "{example}\n[[lists]]\nlabel = \"huge\"\ntype = \"block\"\naddresses = [{}]\nworkspaces = [{WS_A}]\n",
        many.join(", ")
    );
    cases.push((
        "too-many.toml",
        text.clone(),
        // Reported at the first list.
        line_of(&text, "label = \"corp-vpn\"") - 1,
        "lists",
        format!(
            "workspace {WS_A}: at most 1000 addresses and CIDR blocks across all IP access lists \
             (Databricks limit), found 1006"
        ),
    ));

    for (name, text, line, key, what) in &cases {
        let (wd, wf) = Workdir::holding(DEPLOYMENT, name, text);
        let place = format!("{name}:{line}:");
        let check = |run: &Run| {
            says_at(run, &place, key);
            says(run, what);
        };
        check(&stack.plink(&wd).args(["up", &wf]).code(3).run());
        check(&stack.plink(&wd).args(["plan", &wf]).code(3).run());
        check(
            &stack
                .plink(&wd)
                .args(["ip", "check", &wf, "203.0.113.7"])
                .code(3)
                .run(),
        );
        assert!(wd.state().is_none(), "{name}: no state written");
    }

    // Nothing changed: no list, the switches off, no write at all.
    assert!(writes(&stack).is_empty(), "{:?}", writes(&stack));
    assert_eq!(snapshot(&stack), before);
    for (_, on, l) in &before {
        assert!(!on && l.is_empty(), "{before:?}");
    }
}

#[test]
fn ip_check_on_a_workflow_of_another_kind_fails_clearly() {
    // No stack and no cloud configured: the kind is checked before anything is read.
    let (wd, _) = Workdir::holding(DEPLOYMENT, "ip.toml", &repo_file(EXAMPLE));
    let other = wd.write(
        "egress.toml",
        &repo_file("workflows/network-policy-egress.toml"),
    );
    let other = other.to_str().expect("utf-8 path");
    let run = Plink::in_workdir(&wd)
        .args(["ip", "check", other, "203.0.113.7"])
        .code(1)
        .run();
    says(
        &run,
        "egress.toml: plink ip check reads kind \"ip-access-lists\" deployments; this one is kind \"network-policy\"",
    );
    assert!(run.stdout.is_empty(), "{}", run.transcript());

    // And so is something that is not an IPv4 address (a block, IPv6).
    let (wd, wf) = Workdir::holding(DEPLOYMENT, "ip.toml", &repo_file(EXAMPLE));
    for bad in ["203.0.113.0/24", "2001:db8::1"] {
        let run = Plink::in_workdir(&wd)
            .args(["ip", "check", &wf, "203.0.113.7", bad])
            .code(1)
            .run();
        says(
            &run,
            &format!("{bad:?}: expected an IPv4 address like 203.0.113.7"),
        );
    }
}
