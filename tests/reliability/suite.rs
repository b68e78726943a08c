//! What the reliability suites share: seeded randomness, the phases a deployment goes through (`up`, then `down` once it exists), checks made on the emulators
//! themselves (duplicates, orphans by plink's tags, lost state) and report tables.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::common::Stack;
use crate::common::checks::{assert_converged, counts, excess};
use crate::common::cloud::Inventory;
use crate::common::{Kind, Run, Workdir, WorkflowSpec};

/// Tag key plink puts on every AWS resource it creates (`src/aws/tags.rs`).
pub const TAG_DEPLOYMENT: &str = "plink:deployment";

// --- seeded randomness ------------------------------------------------------------------------

/// SplitMix64: small, fast, and the same sequence for the same seed on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `[0, max)`.
    pub fn up_to(&mut self, max: Duration) -> Duration {
        max.mul_f64(self.unit())
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of run `index` of a suite seeded with `seed`: each run replays on its own.
pub fn run_seed(seed: u64, index: usize) -> u64 {
    mix(seed ^ mix(index as u64 + 1))
}

/// `seed` if one was given (`PLINK_CRASH_SEED`, …), else one from the clock. Returns (seed, given).
pub fn seed_or_random(seed: Option<u64>) -> (u64, bool) {
    match seed {
        Some(seed) => (seed, true),
        None => (random_u64(), false),
    }
}

/// A random number (from the clock and the pid).
pub fn random_u64() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    mix(nanos ^ u64::from(std::process::id()))
}

// --- phases -------------------------------------------------------------------------------------

/// One command a deployment goes through. A suite runs every phase of [`PHASES`] in order on the
/// same working directory; `down` is one more phase (lifecycle work, issue #5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Up,
    Down,
}

/// The phases the suites drive, in order.
pub const PHASES: &[Phase] = &[Phase::Up, Phase::Down];

/// NCC created out of band in the workflow's region so that `down` can switch the workspaces to
/// it (`--rebind-to`) and delete the deployment's NCC (a binding cannot be removed, only switched).
pub const REBIND_NCC: &str = "plink-rebind-target";

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Up => "up",
            Phase::Down => "down",
        }
    }

    /// `plink <phase> <workflow> [--state s3://…] …`.
    pub fn args(self, d: &Deployment) -> Vec<String> {
        let wf = d.wd.workflow.to_str().expect("utf-8 path").to_owned();
        let mut a = vec![self.name().into(), wf];
        a.extend(d.wd.state_args());
        if let (Phase::Down, Some(ncc)) = (self, &d.rebind_to) {
            a.push("--rebind-to".into());
            a.push(ncc.clone());
        }
        a
    }

    /// What the clouds must look like after the phase succeeded; problems found.
    pub fn check(self, stack: &Stack, d: &Deployment, last: &Run) -> Findings {
        match self {
            Phase::Up => check_up(stack, d, last),
            Phase::Down => check_down(stack, d),
        }
    }
}

/// A working directory (workflow + state) and what its phases need.
pub struct Deployment {
    pub wd: Workdir,
    /// The NCC `down` switches the workspaces to.
    pub rebind_to: Option<String>,
}

impl Deployment {
    /// A fresh working directory with the demo workflow; creates the rebind NCC when `down` is
    /// one of the phases.
    pub fn new(stack: &Stack, wd: Workdir) -> Self {
        let rebind_to = (PHASES.contains(&Phase::Down) && wd.spec.kind.has_ncc()).then(|| {
            let db = stack.databricks();
            stack
                .block_on(db.create_ncc(REBIND_NCC, &wd.spec.region))
                .expect("create the rebind NCC")
                .network_connectivity_config_id
        });
        Self { wd, rebind_to }
    }

    /// Runs `phase` to completion.
    pub fn run(&self, stack: &Stack, phase: Phase, extra: &[&str]) -> Run {
        stack
            .plink(&self.wd)
            .args(phase.args(self))
            .args(extra.iter().copied())
            .run()
    }
}

// --- findings -----------------------------------------------------------------------------------

/// What the checks found after a phase.
#[derive(Debug, Default, Clone)]
pub struct Findings {
    /// Resources that exist more than once (each extra copy counts one).
    pub duplicates: usize,
    /// Resources tagged by plink (or named like the deployment's) that the state does not track.
    pub orphans: usize,
    /// Recorded ids the state forgot, unreadable state, lineage changes, serials going back.
    pub lost_state: usize,
    /// Everything else that is wrong (missing resources, not converged, …), with details.
    pub problems: Vec<String>,
}

impl Findings {
    pub fn merge(&mut self, other: Findings) {
        self.duplicates += other.duplicates;
        self.orphans += other.orphans;
        self.lost_state += other.lost_state;
        self.problems.extend(other.problems);
    }

    pub fn problem(&mut self, p: impl Into<String>) {
        self.problems.push(p.into());
    }

    pub fn is_clean(&self) -> bool {
        self.duplicates == 0
            && self.orphans == 0
            && self.lost_state == 0
            && self.problems.is_empty()
    }
}

/// Runs `f`, turning a panic (a harness assertion) into `Err(message)`.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panic".into())
    })
}

/// Extra copies per kind of resource: every count above what a converged deployment has.
pub fn duplicates(spec: &WorkflowSpec, inv: &Inventory) -> Vec<String> {
    excess(spec, inv)
        .into_iter()
        .map(|(what, n, e)| format!("{} × {what}", n - e + 1))
        .collect()
}

/// After `up`: one of everything (counted on the emulators), the harness's "converged" checks,
/// no orphan, no lost state.
fn check_up(stack: &Stack, d: &Deployment, last: &Run) -> Findings {
    let mut f = Findings::default();
    let spec = &d.wd.spec;
    match spec.kind {
        Kind::NetworkPolicy => return check_policy(stack, d, true),
        Kind::IpAccessLists => return check_ip_access(stack, d, true),
        _ => {}
    }
    let inv = stack.inventory(&spec.region, &spec.ncc_name);
    f.duplicates = excess(spec, &inv).iter().map(|(_, n, e)| n - e).sum();
    if f.duplicates > 0 {
        f.problem(format!(
            "duplicates: {} ({inv})",
            duplicates(spec, &inv).join(", ")
        ));
    }
    if let Err(msg) = catch(|| assert_converged(stack, &d.wd, last)) {
        f.problem(format!("not converged: {msg}"));
    }
    let orphans = orphans(stack, &d.wd);
    f.orphans = orphans.len();
    if !orphans.is_empty() {
        f.problem(format!("orphans: {orphans:?}"));
    }
    plink_agrees(stack, &d.wd, &mut f);
    f
}

/// After `down`: nothing plink created is left (AWS, the NCC), the workspaces are on the rebind
/// NCC, and the state says so.
fn check_down(stack: &Stack, d: &Deployment) -> Findings {
    let mut f = Findings::default();
    let spec = &d.wd.spec;
    match spec.kind {
        Kind::NetworkPolicy => return check_policy(stack, d, false),
        Kind::IpAccessLists => return check_ip_access(stack, d, false),
        _ => {}
    }
    let inv = stack.inventory(&spec.region, &spec.ncc_name);
    // Everything of plink's (the Databricks endpoints and rules ever made are Databricks' to
    // purge, a day after the rule's delete).
    let kept_by_databricks = [
        "Databricks endpoint",
        "live Databricks connection",
        "rule (ever)",
    ];
    let left = counts(&inv)
        .into_iter()
        .filter(|(what, _)| !kept_by_databricks.contains(what));
    for (what, n) in left {
        if n > 0 {
            f.orphans += n;
            f.problem(format!("{n} × {what} left after down ({inv})"));
        }
    }
    // The other teams' statements are all still there (the fixtures hold one).
    if inv.other_statements != 1 {
        f.problem(format!(
            "{} statement(s) of others in the bucket policies after down, expected 1 ({inv})",
            inv.other_statements
        ));
    }
    let tagged = tagged_resources(stack, &spec.region, &spec.deployment);
    if !tagged.is_empty() {
        f.orphans += tagged.len();
        f.problem(format!("tagged resources left after down: {tagged:?}"));
    }
    if let Some(target) = &d.rebind_to {
        for &id in &spec.workspace_ids {
            let ws = stack.workspace(id);
            if ws.network_connectivity_config_id.as_deref() != Some(target.as_str()) {
                f.problem(format!(
                    "workspace {id} is bound to {:?}, not the rebind NCC {target}",
                    ws.network_connectivity_config_id
                ));
            }
        }
    }
    plink_agrees(stack, &d.wd, &mut f);
    match d.wd.state() {
        Some(state) => {
            let ids = state_ids(&state);
            if !ids.is_empty() {
                f.problem(format!("the state still records {ids:?} after down"));
            }
        }
        None => f.lost_state += 1,
    }
    f
}

/// A `network-policy` deployment after `up` (`up == true`) or `down`: on a reset stack the
/// account holds exactly the example's policy (no duplicate, no orphan) bound to the
/// workspaces, with no pending intent; after `down`, only `default-policy`, the workspaces back
/// on it, and nothing recorded.
fn check_policy(stack: &Stack, d: &Deployment, up: bool) -> Findings {
    let mut f = Findings::default();
    let state = d.wd.state().unwrap_or_default();
    let recorded = state["steps"]["policy"]["outputs"]["network_policy_id"]
        .as_str()
        .map(str::to_owned);
    let db = stack.databricks();
    let policies: Vec<String> = stack
        .block_on(db.list_network_policies())
        .expect("list network policies")
        .iter()
        .filter_map(|p| p["network_policy_id"].as_str().map(str::to_owned))
        .filter(|id| id != "default-policy")
        .collect();
    let bound_to = |id: i64| {
        stack
            .block_on(db.get_workspace_network_policy(id))
            .expect("workspace network option")
            .network_policy_id
    };
    if up {
        let Some(ours) = recorded else {
            f.lost_state += 1;
            f.problem(format!("no network policy recorded after up: {state:#}"));
            return f;
        };
        let others: Vec<&String> = policies.iter().filter(|p| **p != ours).collect();
        f.orphans += others.len();
        if !others.is_empty() {
            f.problem(format!("policies the state does not record: {others:?}"));
        }
        if !policies.contains(&ours) {
            f.problem(format!("the recorded policy {ours} does not exist"));
        }
        if state["steps"]["policy"]["outputs"]["created_by_plink"] != true {
            f.problem("the policy plink created is not recorded as plink's".to_owned());
        }
        for &id in &d.wd.spec.workspace_ids {
            let now = bound_to(id);
            if now != ours {
                f.problem(format!("workspace {id} is on {now}, not {ours}"));
            }
        }
        if let Some(steps) = state["steps"].as_object() {
            for (step, rec) in steps {
                if !rec["intent"].is_null() {
                    f.problem(format!("step {step} has a pending intent after up"));
                }
            }
        }
    } else {
        f.orphans += policies.len();
        if !policies.is_empty() {
            f.problem(format!("policies left after down: {policies:?}"));
        }
        for &id in &d.wd.spec.workspace_ids {
            let now = bound_to(id);
            if now != "default-policy" {
                f.problem(format!(
                    "workspace {id} is on {now} after down, not default-policy"
                ));
            }
        }
        if let Some(id) = recorded {
            f.problem(format!("the state still records policy {id} after down"));
        }
    }
    f
}

/// An `ip-access-lists` deployment after `up` or `down`, per workspace of the example: after
/// `up` each of its labels exactly once (a second list of a label is a duplicate), the switch on,
/// and the state recording exactly the live ids of plink's lists; after `down` none of them, the
/// switch back off (the stack starts with it off), nothing recorded.
fn check_ip_access(stack: &Stack, d: &Deployment, up: bool) -> Findings {
    let mut f = Findings::default();
    let state = d.wd.state().unwrap_or_default();
    let text = std::fs::read_to_string(&d.wd.workflow).expect("the workflow");
    let doc: toml::Table = toml::from_str(&text).expect("the workflow parses");
    let db = stack.databricks();
    for &ws in &d.wd.spec.workspace_ids {
        let labels: Vec<String> = doc["lists"]
            .as_array()
            .expect("lists")
            .iter()
            .filter(|l| {
                l.get("workspaces")
                    .and_then(|w| w.as_array())
                    .is_none_or(|w| w.iter().any(|v| v.as_integer() == Some(ws)))
            })
            .map(|l| l["label"].as_str().unwrap().to_owned())
            .collect();
        let (lists, enabled) = stack.block_on(async {
            let w = db.get_workspace(ws).await.expect("workspace");
            let c = db.workspace(&w).expect("workspace client");
            (
                c.list_ip_access_lists().await.expect("lists"),
                c.ip_access_enabled().await.expect("switch"),
            )
        });
        let recorded: BTreeSet<String> = state["steps"][format!("ip_{ws}")]["outputs"]["lists"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["list_id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for label in &labels {
            let n = lists.iter().filter(|l| &l.label == label).count();
            match (up, n) {
                (true, 1) | (false, 0) => {}
                (true, 0) => f.problem(format!("workspace {ws}: no list {label:?} after up")),
                (true, n) => {
                    f.duplicates += n - 1;
                    f.problem(format!("workspace {ws}: {n} lists {label:?}"));
                }
                (false, n) => {
                    f.orphans += n;
                    f.problem(format!(
                        "workspace {ws}: {n} list(s) {label:?} left after down"
                    ));
                }
            }
        }
        let ours: BTreeSet<String> = lists
            .iter()
            .filter(|l| labels.contains(&l.label))
            .map(|l| l.list_id.clone())
            .collect();
        if up && ours != recorded {
            f.lost_state += 1;
            f.problem(format!(
                "workspace {ws}: live lists {ours:?}, recorded {recorded:?}"
            ));
        }
        if !up && !recorded.is_empty() {
            f.problem(format!(
                "workspace {ws}: the state still records {recorded:?} after down"
            ));
        }
        if enabled != up {
            f.problem(format!(
                "workspace {ws}: the switch is {enabled} after {}",
                if up { "up" } else { "down" }
            ));
        }
    }
    if up && let Some(steps) = state["steps"].as_object() {
        for (step, rec) in steps {
            if !rec["intent"].is_null() {
                f.problem(format!("step {step} has a pending intent after up"));
            }
        }
    }
    f
}

// --- orphans ------------------------------------------------------------------------------------

/// Every AWS resource of the customer account in `region` tagged `plink:deployment=deployment`
/// (security groups, endpoints that are not being deleted, endpoint services, load balancers,
/// target groups, listeners), as (kind, id).
pub fn tagged_resources(stack: &Stack, region: &str, deployment: &str) -> Vec<(String, String)> {
    let aws = stack.aws(region);
    let ours = |key: Option<&str>, value: Option<&str>| {
        key == Some(TAG_DEPLOYMENT) && value == Some(deployment)
    };
    stack.block_on(async {
        let mut out = Vec::new();
        let sgs = aws
            .ec2
            .describe_security_groups()
            .send()
            .await
            .expect("DescribeSecurityGroups");
        for g in sgs.security_groups() {
            if g.tags().iter().any(|t| ours(t.key(), t.value())) {
                out.push((
                    "security_group".into(),
                    g.group_id().unwrap_or("").to_owned(),
                ));
            }
        }
        let eps = aws
            .ec2
            .describe_vpc_endpoints()
            .send()
            .await
            .expect("DescribeVpcEndpoints");
        for e in eps.vpc_endpoints() {
            let dying = matches!(
                e.state()
                    .map(|s| s.as_str().to_ascii_lowercase())
                    .as_deref(),
                Some("deleted" | "deleting")
            );
            if !dying && e.tags().iter().any(|t| ours(t.key(), t.value())) {
                out.push((
                    "endpoint".into(),
                    e.vpc_endpoint_id().unwrap_or("").to_owned(),
                ));
            }
        }
        let svcs = aws
            .ec2
            .describe_vpc_endpoint_service_configurations()
            .send()
            .await
            .expect("DescribeVpcEndpointServiceConfigurations");
        for s in svcs.service_configurations() {
            if s.tags().iter().any(|t| ours(t.key(), t.value())) {
                out.push((
                    "endpoint_service".into(),
                    s.service_id().unwrap_or("").to_owned(),
                ));
            }
        }
        let lbs = aws
            .elb
            .describe_load_balancers()
            .send()
            .await
            .expect("DescribeLoadBalancers");
        let mut elb_arns: Vec<(String, String)> = Vec::new();
        for lb in lbs.load_balancers() {
            let arn = lb.load_balancer_arn().unwrap_or("").to_owned();
            let ls = aws
                .elb
                .describe_listeners()
                .load_balancer_arn(&arn)
                .send()
                .await
                .expect("DescribeListeners");
            for l in ls.listeners() {
                elb_arns.push(("listener".into(), l.listener_arn().unwrap_or("").to_owned()));
            }
            elb_arns.push(("load_balancer".into(), arn));
        }
        let tgs = aws
            .elb
            .describe_target_groups()
            .send()
            .await
            .expect("DescribeTargetGroups");
        for tg in tgs.target_groups() {
            elb_arns.push((
                "target_group".into(),
                tg.target_group_arn().unwrap_or("").to_owned(),
            ));
        }
        for chunk in elb_arns.chunks(20) {
            let tags = aws
                .elb
                .describe_tags()
                .set_resource_arns(Some(chunk.iter().map(|(_, a)| a.clone()).collect()))
                .send()
                .await
                .expect("DescribeTags (ELBv2)");
            for desc in tags.tag_descriptions() {
                if desc.tags().iter().any(|t| ours(t.key(), t.value())) {
                    let arn = desc.resource_arn().unwrap_or("").to_owned();
                    let kind = chunk
                        .iter()
                        .find(|(_, a)| *a == arn)
                        .map(|(k, _)| k.clone())
                        .unwrap_or_default();
                    out.push((kind, arn));
                }
            }
        }
        out.sort();
        out
    })
}

/// The resource ids recorded in a state file, by `step.output` (security groups only when plink
/// created them).
pub fn state_ids(state: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(steps) = state["steps"].as_object() else {
        return out;
    };
    // `down` keeps records of its own (`down_*`: what it deleted); only `up`'s steps track
    // live resources.
    for (step, rec) in steps.iter().filter(|(step, _)| !step.starts_with("down_")) {
        let outputs = &rec["outputs"];
        for key in [
            "vpc_endpoint_id",
            "load_balancer_arn",
            "target_group_arn",
            "listener_arn",
            "service_id",
            "ncc_id",
            "rule_id",
            "accepted_vpc_endpoint_id",
        ] {
            if let Some(id) = outputs[key].as_str() {
                out.insert(format!("{step}.{key}"), id.to_owned());
            }
        }
        if let Some(groups) = outputs["security_group_ids"].as_array() {
            let ids: Vec<&str> = groups.iter().filter_map(Value::as_str).collect();
            out.insert(format!("{step}.security_group_ids"), ids.join(","));
        }
    }
    out
}

/// Resources plink made that its state does not track: AWS resources tagged with the
/// deployment whose ids are not in the state, NCCs named like the workflow's other than the
/// recorded one, and rules of the recorded NCC other than the recorded rule.
pub fn orphans(stack: &Stack, wd: &Workdir) -> Vec<String> {
    let spec = &wd.spec;
    let state = wd.state().unwrap_or_default();
    let recorded: BTreeSet<String> = state_ids(&state)
        .into_values()
        .flat_map(|v| v.split(',').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let mut out: Vec<String> = tagged_resources(stack, &spec.region, &spec.deployment)
        .into_iter()
        .filter(|(_, id)| !recorded.contains(id))
        .map(|(kind, id)| format!("{kind} {id}"))
        .collect();
    let ncc_id = state["steps"]["ncc"]["outputs"]["ncc_id"].as_str();
    let rule_id = state["steps"]["rule"]["outputs"]["rule_id"].as_str();
    for n in stack.nccs() {
        if n.name == spec.ncc_name && n.region == spec.region {
            if Some(n.network_connectivity_config_id.as_str()) != ncc_id {
                out.push(format!("NCC {}", n.network_connectivity_config_id));
            } else {
                for r in stack.rules(&n.network_connectivity_config_id) {
                    if Some(r.rule_id.as_str()) != rule_id {
                        out.push(format!("rule {}", r.rule_id));
                    }
                }
            }
        }
    }
    out
}

/// What `plink status --orphans --json` reports (plink's own scan of its tags): must agree with
/// [`orphans`] that nothing is left untracked.
pub fn plink_orphans(stack: &Stack, wd: &Workdir) -> Result<Vec<Value>, String> {
    let run = stack
        .plink(wd)
        .arg("status")
        .workflow()
        .args(["--orphans", "--json"])
        .run();
    if run.code != Some(0) {
        return Err(format!("`status --orphans` failed\n{}", run.transcript()));
    }
    serde_json::from_str::<Vec<Value>>(&run.stdout).map_err(|e| {
        format!(
            "`status --orphans --json` is not a JSON array ({e})\n{}",
            run.transcript()
        )
    })
}

fn plink_agrees(stack: &Stack, wd: &Workdir, f: &mut Findings) {
    match plink_orphans(stack, wd) {
        Ok(found) if found.is_empty() => {}
        Ok(found) => {
            f.orphans += found.len();
            f.problem(format!("`plink status --orphans` reports {found:?}"));
        }
        Err(e) => f.problem(e),
    }
}

// --- lost state ---------------------------------------------------------------------------------

/// Watches the state across kills, wherever plink keeps it (the file, or the object on S3): it
/// must stay readable, keep its lineage, never go back in serial, and (during `up`) never forget
/// or change an id it recorded.
#[derive(Debug, Default)]
pub struct StateTracker {
    lineage: Option<String>,
    serial: u64,
    ids: BTreeMap<String, String>,
    /// Whether recorded ids must be kept (true during `up`; `down` removes them).
    pub keep_ids: bool,
    pub problems: Vec<String>,
}

impl StateTracker {
    pub fn new() -> Self {
        Self {
            keep_ids: true,
            ..Self::default()
        }
    }

    /// Looks at the state of `wd` now (`when` names the moment for messages).
    pub fn observe(&mut self, wd: &Workdir, when: &str) {
        let bytes = match wd.state_bytes() {
            Ok(Some(b)) => b,
            Ok(None) => {
                if self.lineage.is_some() {
                    self.problems.push(format!(
                        "{when}: the state is gone ({})",
                        wd.state_location()
                    ));
                }
                return;
            }
            Err(e) => {
                self.problems
                    .push(format!("{when}: cannot read the state: {e}"));
                return;
            }
        };
        let state: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => {
                self.problems.push(format!(
                    "{when}: the state is unreadable ({e}): {:?}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                ));
                return;
            }
        };
        let lineage = state["lineage"].as_str().map(str::to_owned);
        if self.lineage.is_some() && lineage != self.lineage {
            self.problems.push(format!(
                "{when}: lineage changed from {:?} to {lineage:?}",
                self.lineage
            ));
        }
        self.lineage = lineage;
        let serial = state["serial"].as_u64().unwrap_or(0);
        if serial < self.serial {
            self.problems.push(format!(
                "{when}: serial went back from {} to {serial}",
                self.serial
            ));
        }
        self.serial = serial;
        let ids = state_ids(&state);
        if self.keep_ids {
            for (key, id) in &self.ids {
                match ids.get(key) {
                    Some(now) if now == id => {}
                    Some(now) => self
                        .problems
                        .push(format!("{when}: {key} changed from {id} to {now}")),
                    None => self
                        .problems
                        .push(format!("{when}: {key} ({id}) was forgotten")),
                }
            }
            self.ids.extend(ids);
        } else {
            self.ids = ids;
        }
    }
}

// --- output -------------------------------------------------------------------------------------

/// No panic, no backtrace, no Rust debug noise in what plink printed.
pub fn no_panic(run: &Run) -> Result<(), String> {
    let all = format!("{}{}", run.stdout, run.stderr);
    for bad in [
        "panicked at",
        "stack backtrace",
        "RUST_BACKTRACE",
        "note: run with",
        "thread 'main'",
    ] {
        if all.contains(bad) {
            return Err(format!("`{bad}` in the output\n{}", run.transcript()));
        }
    }
    if run.signal.is_some() {
        return Err(format!(
            "killed by signal {:?}\n{}",
            run.signal,
            run.transcript()
        ));
    }
    Ok(())
}

/// A plain-text table with aligned columns.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::from("|");
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            let _ = write!(
                s,
                " {c}{} |",
                " ".repeat(w.saturating_sub(c.chars().count()))
            );
        }
        s
    };
    let mut out = line(headers.iter().map(|h| (*h).to_owned()).collect());
    out.push('\n');
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.clone()));
        out.push('\n');
    }
    out
}

/// Seconds with one decimal.
pub fn secs(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64())
}
