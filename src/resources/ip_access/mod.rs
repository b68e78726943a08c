//! A workspace's IP access lists and their switch (reference §6.1–6.2; issue #12), on the
//! workspace's own API.
//!
//! Identity: each list by its label (the natural key: found before made, so a create whose answer
//! was lost is found by it). Lists plink did not create are left alone and counted against the
//! 1000-value limit, unless `exclusive`. Before any change, the configuration each step would
//! leave is evaluated as Databricks does ([`eval`]) for the operator networks, and a change that
//! would block one is refused (unless `--allow-lockout`): once locked out, nothing — plink
//! included — can undo it from there.

pub mod eval;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::preflight::{Finding, lookups};
use super::{Change, Cx, Env, Found, Observation, Res, Resource, Teardown, TeardownAction, errors};
use crate::config::Ipv4Net;
use crate::databricks::{ENABLE_KEY, ErrorKind, IpAccessList, WorkspaceClient};
use crate::engine::StepError;
use crate::state::Intent;
use eval::{Acl, AclList};

/// At most this many values across all lists of a workspace (reference §6.1).
pub const MAX_VALUES: usize = 1000;

/// One list the workflow wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredList {
    pub label: String,
    pub allow: bool,
    pub nets: Vec<Ipv4Net>,
    pub enabled: bool,
}

impl DesiredList {
    fn list_type(&self) -> &'static str {
        if self.allow { "ALLOW" } else { "BLOCK" }
    }

    fn values(&self) -> Vec<String> {
        self.nets.iter().map(ToString::to_string).collect()
    }
}

/// The IP access configuration of one workspace.
pub struct IpAccess {
    pub workspace_id: i64,
    pub lists: Vec<DesiredList>,
    /// The switch.
    pub enabled: bool,
    /// plink owns every list of the workspace (deletes the others).
    pub exclusive: bool,
    /// Networks that must never be blocked.
    pub operators: Vec<Ipv4Net>,
}

/// The workspace as read.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub lists: Vec<IpAccessList>,
    pub enabled: bool,
}

/// What the state keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IpAccessRecord {
    pub workspace_id: i64,
    /// The lists plink manages.
    pub lists: Vec<ManagedList>,
    /// The switch before plink changed it (what `down` restores).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled_before: Option<bool>,
}

/// What teardown records (under `down_ip_<workspace id>`): the lists deleted, and the switch
/// put back as it was before plink (absent: left as it was).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IpAccessDown {
    pub workspace_id: i64,
    pub deleted: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled_restored: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagedList {
    pub label: String,
    pub list_id: String,
    /// plink created it (else it existed with this label and is only managed: `down` leaves it).
    pub created: bool,
}

/// One change, in the order it is applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Switch(bool),
    Delete {
        list_id: String,
        label: String,
    },
    Create(DesiredList),
    /// `changed`: what differs from the live list, in words.
    Update {
        list_id: String,
        list: DesiredList,
        changed: String,
    },
}

const LOCKOUT_HINT: &str = "fix the lists or access.operator_cidrs in the workflow file, or pass --allow-lockout if blocking that network is intended";

/// A workspace's lists as [`eval`] sees them: each value as Databricks reads it (host bits
/// cleared); a value that does not parse counts for nothing.
fn acl_of(lists: &[IpAccessList], enabled: bool) -> Acl {
    Acl {
        enabled,
        lists: lists
            .iter()
            .map(|l| AclList {
                label: l.label.clone(),
                allow: l.list_type == "ALLOW",
                enabled: l.enabled,
                nets: l
                    .ip_addresses
                    .iter()
                    .filter_map(|a| Ipv4Net::parse_lenient(a).ok())
                    .collect(),
            })
            .collect(),
    }
}

/// The addresses of a live list, normalised (for comparison with the file's).
fn live_nets(l: &IpAccessList) -> Vec<String> {
    let mut v: Vec<String> = l
        .ip_addresses
        .iter()
        .map(|a| Ipv4Net::parse(a).map_or_else(|_| a.clone(), |n| n.to_string()))
        .collect();
    v.sort();
    v
}

impl IpAccess {
    /// The client of the workspace's API.
    pub async fn client(env: &Env, id: i64) -> Res<WorkspaceClient> {
        env.workspace(id).await?.ok_or_else(|| {
            StepError::needs_user(
                format!(
                    "workspace {id} does not exist in account {}",
                    env.databricks.account_id()
                ),
                "check databricks.workspace_ids in the workflow file",
            )
        })
    }

    /// A workspace call's error: a refusal by the workspace's own controls is said as such.
    pub fn error(
        id: i64,
        host: &str,
        what: &str,
        e: crate::databricks::DatabricksError,
    ) -> StepError {
        match e.kind() {
            ErrorKind::PermissionDenied => StepError::needs_user(
                format!("workspace {id} ({host}) refuses plink's request ({what}): {}", e.summary()),
                "its IP access lists (or ingress rules) block this machine's address: change them from an allowed \
                 network or the account console, then run plink again",
            )
            .with_source(e),
            ErrorKind::QuotaExceeded => StepError::needs_user(
                format!("workspace {id}: Databricks refuses {what}: {}", e.summary()),
                "at most 1000 addresses and CIDR blocks across all IP access lists of a workspace: shorten the lists \
                 (the lists plink does not manage count too), or set access.exclusive = true",
            )
            .with_source(e),
            ErrorKind::InvalidState => StepError::needs_user(
                format!("workspace {id}: Databricks refuses {what}: {}", e.summary()),
                "the change would block the address plink calls from: add it to an allow list (and to access.operator_cidrs)",
            )
            .with_source(e),
            _ => errors::databricks(&format!("workspace {id} ({host}): {what}"), e),
        }
    }

    /// The workspace's lists and switch as they are (lookups, `status`, `plink ip check`).
    ///
    /// # Errors
    /// The workspace cannot be reached or refuses plink.
    pub async fn read(&self, env: &Env) -> Res<Snapshot> {
        let c = Self::client(env, self.workspace_id).await?;
        let id = self.workspace_id;
        let lists = c
            .list_ip_access_lists()
            .await
            .map_err(|e| Self::error(id, c.host(), "listing IP access lists", e))?;
        let enabled = c
            .ip_access_enabled()
            .await
            .map_err(|e| Self::error(id, c.host(), "reading enableIpAccessLists", e))?;
        Ok(Snapshot { lists, enabled })
    }

    /// Whether plink manages the live list `l` (its label is the file's, or plink created it).
    fn managed(&self, rec: &IpAccessRecord, l: &IpAccessList) -> bool {
        self.lists.iter().any(|d| d.label == l.label)
            || rec
                .lists
                .iter()
                .any(|m| m.list_id == l.list_id && m.created)
    }

    /// The changes from `live` to what the file wants, in a safe order: a switch-off first;
    /// allow lists (those covering the operator networks first) before deletions; block lists
    /// after them; a switch-on last. When that order would pass the 1000-value limit in between
    /// (a list grows before another shrinks or goes), the steps that free values go first.
    pub fn steps(&self, rec: &IpAccessRecord, live: &Snapshot) -> Vec<Step> {
        let mut out = Vec::new();
        if live.enabled && !self.enabled {
            out.push(Step::Switch(false));
        }
        let mut upserts = Vec::new();
        for d in &self.lists {
            let mut want: Vec<String> = d.values();
            want.sort();
            match live.lists.iter().find(|l| l.label == d.label) {
                None => upserts.push(Step::Create(d.clone())),
                Some(l)
                    if l.list_type != d.list_type()
                        || live_nets(l) != want
                        || l.enabled != d.enabled =>
                {
                    upserts.push(Step::Update {
                        list_id: l.list_id.clone(),
                        list: d.clone(),
                        changed: changed(l, d, &want),
                    });
                }
                Some(_) => {}
            }
        }
        let covers = |s: &Step| match s {
            Step::Create(d) | Step::Update { list: d, .. } => {
                d.allow
                    && self
                        .operators
                        .iter()
                        .any(|o| d.nets.iter().any(|n| n.overlaps(*o)))
            }
            _ => false,
        };
        let allow =
            |s: &Step| matches!(s, Step::Create(d) | Step::Update { list: d, .. } if d.allow);
        upserts.sort_by_key(|s| (!allow(s), !covers(s)));
        let (allows, blocks): (Vec<Step>, Vec<Step>) = upserts.into_iter().partition(allow);
        out.extend(allows);
        for l in &live.lists {
            let ours_but_gone = !self.lists.iter().any(|d| d.label == l.label)
                && rec
                    .lists
                    .iter()
                    .any(|m| m.list_id == l.list_id && m.created);
            if ours_but_gone || (self.exclusive && !self.managed(rec, l)) {
                out.push(Step::Delete {
                    list_id: l.list_id.clone(),
                    label: l.label.clone(),
                });
            }
        }
        out.extend(blocks);
        if !live.enabled && self.enabled {
            out.push(Step::Switch(true));
        }
        if peak(live, &out) > MAX_VALUES {
            // In this order some step would pass the limit Databricks enforces after each call:
            // the steps that free values go first (the guard still evaluates every step). Sorted
            // by what each adds, the count never exceeds the larger of now and the end.
            let now = |label: &str| {
                live.lists
                    .iter()
                    .filter(|l| l.label == label)
                    .map(|l| l.ip_addresses.len() as i64)
                    .sum::<i64>()
            };
            out.sort_by_key(|s| match s {
                Step::Switch(false) => i64::MIN,
                Step::Switch(true) => i64::MAX,
                Step::Delete { label, .. } => -now(label),
                Step::Create(d) => d.nets.len() as i64,
                Step::Update { list, .. } => list.nets.len() as i64 - now(&list.label),
            });
        }
        out
    }

    /// The configuration after applying `step` to `acl`.
    fn apply(acl: &mut Acl, step: &Step) {
        let entry = |d: &DesiredList| AclList {
            label: d.label.clone(),
            allow: d.allow,
            enabled: d.enabled,
            nets: d.nets.clone(),
        };
        match step {
            Step::Switch(on) => acl.enabled = *on,
            Step::Delete { label, .. } => acl.lists.retain(|l| &l.label != label),
            Step::Create(d) => acl.lists.push(entry(d)),
            Step::Update { list, .. } => {
                acl.lists.retain(|l| l.label != list.label);
                acl.lists.push(entry(list));
            }
        }
    }

    /// Refuses `steps` when the configuration after any of them would block an operator
    /// network (the guard of issue #12 item 3), unless `--allow-lockout`.
    pub fn guard(&self, env: &Env, live: &Snapshot, steps: &[Step]) -> Res<()> {
        if env.options.allow_lockout {
            return Ok(());
        }
        let mut acl = acl_of(&live.lists, live.enabled);
        for step in steps {
            Self::apply(&mut acl, step);
            let blocked = acl.lockout(&self.operators);
            if !blocked.is_empty() {
                let nets: Vec<String> = blocked
                    .iter()
                    .map(|(net, why)| format!("operator network {net} would be blocked ({why})"))
                    .collect();
                return Err(StepError::needs_user(
                    format!(
                        "workspace {}: refusing to {}: {}",
                        self.workspace_id,
                        describe(step),
                        nets.join("; ")
                    ),
                    LOCKOUT_HINT,
                ));
            }
        }
        Ok(())
    }

    /// The 1000-value limit, counting the lists plink does not manage.
    fn check_quota(&self, rec: &IpAccessRecord, live: &Snapshot) -> Res<()> {
        let ours: usize = self.lists.iter().map(|d| d.nets.len()).sum();
        let others: usize = live
            .lists
            .iter()
            .filter(|l| !self.exclusive && !self.managed(rec, l))
            .map(|l| l.ip_addresses.len())
            .sum();
        if ours + others > MAX_VALUES {
            return Err(StepError::needs_user(
                format!(
                    "workspace {}: {ours} values in the workflow file's lists + {others} in lists plink does not manage \
                     exceed the {MAX_VALUES} Databricks allows",
                    self.workspace_id
                ),
                "shorten the lists, or set access.exclusive = true to replace the others",
            ));
        }
        Ok(())
    }

    /// The configuration the file leads to (for `plink ip check`): `live` after every step.
    pub fn planned(&self, rec: &IpAccessRecord, live: &Snapshot) -> Acl {
        let mut acl = acl_of(&live.lists, live.enabled);
        for step in self.steps(rec, live) {
            Self::apply(&mut acl, &step);
        }
        acl
    }

    /// The live configuration as [`eval`] sees it.
    pub fn acl(live: &Snapshot) -> Acl {
        acl_of(&live.lists, live.enabled)
    }
}

/// The values of each list, by label.
fn counts(live: &Snapshot) -> Vec<(String, usize)> {
    live.lists
        .iter()
        .map(|l| (l.label.clone(), l.ip_addresses.len()))
        .collect()
}

fn total(counts: &[(String, usize)]) -> usize {
    counts.iter().map(|(_, n)| n).sum()
}

/// `counts` after `step`.
fn apply_count(counts: &mut Vec<(String, usize)>, step: &Step) {
    match step {
        Step::Switch(_) => {}
        Step::Delete { label, .. } => counts.retain(|(l, _)| l != label),
        Step::Create(d) => counts.push((d.label.clone(), d.nets.len())),
        Step::Update { list, .. } => {
            counts.retain(|(l, _)| l != &list.label);
            counts.push((list.label.clone(), list.nets.len()));
        }
    }
}

/// The most values the workspace holds at any point of `steps` from `live`.
fn peak(live: &Snapshot, steps: &[Step]) -> usize {
    let mut now = counts(live);
    let mut most = total(&now);
    for step in steps {
        apply_count(&mut now, step);
        most = most.max(total(&now));
    }
    most
}

/// What differs between the live list `l` and the file's `d` (whose values are `want`).
fn changed(l: &IpAccessList, d: &DesiredList, want: &[String]) -> String {
    let mut parts = Vec::new();
    if l.list_type != d.list_type() {
        parts.push(format!("type {} → {}", l.list_type, d.list_type()));
    }
    let have = live_nets(l);
    let added: Vec<&str> = want
        .iter()
        .filter(|w| !have.contains(w))
        .map(String::as_str)
        .collect();
    let removed: Vec<&str> = have
        .iter()
        .filter(|h| !want.contains(h))
        .map(String::as_str)
        .collect();
    if !added.is_empty() {
        parts.push(format!("adds {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("removes {}", removed.join(", ")));
    }
    if l.enabled != d.enabled {
        parts.push(
            if d.enabled {
                "enables it"
            } else {
                "disables it"
            }
            .to_owned(),
        );
    }
    parts.join("; ")
}

/// One step in words.
fn describe(step: &Step) -> String {
    let values = |d: &DesiredList| {
        format!(
            "{} list {:?} ({} value(s){})",
            if d.allow { "allow" } else { "block" },
            d.label,
            d.nets.len(),
            if d.enabled { "" } else { ", disabled" }
        )
    };
    match step {
        Step::Switch(true) => "switch IP access lists on".into(),
        Step::Switch(false) => "switch IP access lists off".into(),
        Step::Delete { label, .. } => format!("delete list {label:?}"),
        Step::Create(d) => format!("create {}", values(d)),
        Step::Update { list, changed, .. } => format!("update {} ({changed})", values(list)),
    }
}

#[async_trait]
impl Resource for IpAccess {
    type Inputs = ();
    type Live = Snapshot;
    type Record = IpAccessRecord;
    type Fix = Step;

    const NOUN: &'static str = "IP access lists";

    fn describe(&self) -> String {
        format!(
            "IP access lists of workspace {} ({} list(s), {})",
            self.workspace_id,
            self.lists.len(),
            if self.enabled { "on" } else { "off" }
        )
    }

    fn label(&self, _: &Self::Live) -> String {
        format!("of workspace {}", self.workspace_id)
    }

    fn creates(&self) -> bool {
        false
    }

    /// The workspace's lists as they are, and what `up` would make of them: the 1000-value
    /// limit and the lockout guard (issue #16), unless a run already manages them.
    async fn preflight(&self, cx: &Cx<'_>, _: Option<&()>) -> Vec<Finding> {
        if cx.has_record() {
            return Vec::new();
        }
        let what = format!("the IP access lists of workspace {}", self.workspace_id);
        lookups(self, cx, &(), true, "lists", &what).await
    }

    async fn find(&self, cx: &Cx<'_>, _: &()) -> Res<Found<Self::Live>> {
        Ok(Found::Recorded(self.read(cx.env).await?))
    }

    async fn compare(&self, cx: &Cx<'_>, _: &(), live: &Self::Live) -> Res<Vec<Change<Step>>> {
        let rec: IpAccessRecord = cx.recorded();
        self.check_quota(&rec, live)?;
        let steps = self.steps(&rec, live);
        self.guard(cx.env, live, &steps)?;
        Ok(steps
            .into_iter()
            .map(|s| {
                let text = describe(&s);
                Change::new(text.clone(), text, s)
            })
            .collect())
    }

    /// One call per step, intent first. A created list is recorded at once (by label: a lost
    /// answer is found by it on the next run).
    async fn update(&self, cx: &Cx<'_>, _: &(), _: &Self::Live, step: &Step) -> Res<()> {
        let id = self.workspace_id;
        let c = Self::client(cx.env, id).await?;
        let what = describe(step);
        let fail = |e| Self::error(id, c.host(), &what, e);
        let intent = |action: &str, key: &str| {
            Intent::new(action)
                .key("workspace_id", id.to_string())
                .key("label", key)
        };
        match step {
            Step::Switch(on) => {
                cx.begin(intent("switch_ip_access_lists", &on.to_string()))?;
                c.set_ip_access_enabled(*on).await.map_err(fail)?;
            }
            Step::Delete { list_id, label } => {
                cx.begin(intent("delete_ip_access_list", label))?;
                match c.delete_ip_access_list(list_id).await {
                    Err(e) if e.kind() != ErrorKind::NotFound => return Err(fail(e)),
                    _ => {}
                }
            }
            Step::Create(d) => {
                cx.begin(intent("create_ip_access_list", &d.label))?;
                let made = c
                    .create_ip_access_list(&d.label, d.list_type(), &d.values())
                    .await
                    .map_err(fail)?;
                if !d.enabled {
                    c.update_ip_access_list(&made.list_id, d.list_type(), &d.values(), false)
                        .await
                        .map_err(fail)?;
                }
                let mut rec: IpAccessRecord = cx.recorded();
                rec.workspace_id = id;
                rec.lists.retain(|m| m.label != d.label);
                rec.lists.push(ManagedList {
                    label: d.label.clone(),
                    list_id: made.list_id,
                    created: true,
                });
                cx.step.record(&rec)?;
            }
            Step::Update { list_id, list, .. } => {
                cx.begin(intent("update_ip_access_list", &list.label))?;
                c.update_ip_access_list(list_id, list.list_type(), &list.values(), list.enabled)
                    .await
                    .map_err(fail)?;
            }
        }
        Ok(())
    }

    async fn refresh(&self, cx: &Cx<'_>, _: &Self::Live) -> Res<Option<Self::Live>> {
        self.read(cx.env).await.map(Some)
    }

    async fn record(&self, cx: &Cx<'_>, _: &(), live: &Self::Live) -> Res<Self::Record> {
        let previous: IpAccessRecord = cx.recorded();
        let pending = cx
            .pending_intent()
            .filter(|i| i.action == "create_ip_access_list")
            .and_then(|i| i.natural_key.get("label").cloned());
        let lists = self
            .lists
            .iter()
            .filter_map(|d| {
                let l = live.lists.iter().find(|l| l.label == d.label)?;
                let created = previous
                    .lists
                    .iter()
                    .any(|m| m.label == d.label && m.created)
                    || pending.as_deref() == Some(d.label.as_str());
                Some(ManagedList {
                    label: d.label.clone(),
                    list_id: l.list_id.clone(),
                    created,
                })
            })
            .collect();
        Ok(IpAccessRecord {
            workspace_id: self.workspace_id,
            lists,
            enabled_before: previous.enabled_before.or(Some(live.enabled)),
        })
    }

    fn summary(&self, live: &Self::Live) -> String {
        format!(
            "IP access lists of workspace {}: {} list(s), {}",
            self.workspace_id,
            live.lists.len(),
            if live.enabled { "on" } else { "off" }
        )
    }

    async fn observe(&self, env: &Env, rec: &Self::Record, _: Option<&()>) -> Observation {
        let mut o = Observation::default();
        match self.read(env).await {
            Ok(live) => {
                let steps = self.steps(rec, &live);
                o.line(
                    "ip access",
                    format!(
                        "workspace {}: {}, {} list(s) ({} of plink's)",
                        self.workspace_id,
                        if live.enabled { "on" } else { "off" },
                        live.lists.len(),
                        live.lists.iter().filter(|l| self.managed(rec, l)).count()
                    ),
                );
                o.set(
                    &format!("ip_access_{}", self.workspace_id),
                    serde_json::json!({
                        "enabled": live.enabled,
                        "lists": live.lists,
                        "drift": steps.iter().map(describe).collect::<Vec<_>>(),
                    }),
                );
            }
            Err(e) => o.error(&format!("workspace {}", self.workspace_id), e),
        }
        o
    }

    /// What `down` would do ([`doomed`](IpAccess::doomed)): delete plink's lists, put the
    /// switch back (`restore`), leave the lists plink manages but did not create (`release`).
    async fn teardown_plan(&self, cx: &Cx<'_>, _: Option<&()>) -> Res<Vec<Teardown>> {
        let ws = self.workspace_id;
        let (_, steps, left) = self.doomed(cx).await?;
        let mut out: Vec<Teardown> = steps
            .iter()
            .filter_map(|step| match step {
                // The step (`down_ip_<workspace>`) names the workspace; the id, its switch.
                Step::Switch(on) => Some(Teardown::new(
                    TeardownAction::Restore,
                    ENABLE_KEY,
                    format!(
                        "workspace {ws}: down sets {ENABLE_KEY} back to {on}, as it was before plink"
                    ),
                )),
                Step::Delete { list_id, label } => Some(Teardown::new(
                    TeardownAction::Delete,
                    list_id,
                    format!("IP access list {label:?} of workspace {ws}"),
                )),
                // A teardown creates and rewrites nothing (`doomed` makes neither).
                Step::Create(_) | Step::Update { .. } => None,
            })
            .collect();
        out.extend(left.into_iter().map(|l| {
            let detail = format!(
                "IP access list {:?} of workspace {ws}: plink did not create it, so it stays",
                l.label
            );
            Teardown::new(TeardownAction::Release, l.list_id, detail)
        }));
        Ok(out)
    }

    /// Deletes the lists plink created and puts the switch back as it was, after the same
    /// lockout check ([`doomed`](IpAccess::doomed)).
    async fn teardown(&self, cx: &Cx<'_>, _: Option<&()>) -> Res<()> {
        let (live, steps, left) = self.doomed(cx).await?;
        for l in left {
            cx.note(format!(
                "workspace {}: leaving list {:?} ({}): plink did not create it",
                self.workspace_id, l.label, l.list_id
            ));
        }
        let mut out = IpAccessDown {
            workspace_id: self.workspace_id,
            ..IpAccessDown::default()
        };
        for step in &steps {
            self.update(cx, &(), &live, step).await?;
            match step {
                Step::Delete { list_id, .. } => out.deleted.push(list_id.clone()),
                Step::Switch(on) => out.enabled_restored = Some(*on),
                Step::Create(_) | Step::Update { .. } => {}
            }
        }
        cx.step.record(&out)?;
        Ok(())
    }
}

impl IpAccess {
    /// What `down` does to the workspace, the one lookup of its teardown and of its plan: the
    /// workspace as read now; the steps, in order — the switch put back as it was before plink
    /// (off first, on last) and the lists plink created deleted — refused by the lockout guard
    /// as `up`'s are; and the lists plink manages without having created them (left).
    async fn doomed(&self, cx: &Cx<'_>) -> Res<(Snapshot, Vec<Step>, Vec<IpAccessList>)> {
        let rec: IpAccessRecord = cx.recorded();
        let live = self.read(cx.env).await?;
        let mut steps = Vec::new();
        let mut left = Vec::new();
        let restore = rec.enabled_before.filter(|&b| b != live.enabled);
        if restore == Some(false) {
            steps.push(Step::Switch(false));
        }
        let pending = cx
            .pending_intent()
            .filter(|i| i.action == "create_ip_access_list")
            .and_then(|i| i.natural_key.get("label").cloned());
        for l in &live.lists {
            let created = rec
                .lists
                .iter()
                .any(|m| m.list_id == l.list_id && m.created)
                || pending.as_deref() == Some(l.label.as_str());
            if created {
                steps.push(Step::Delete {
                    list_id: l.list_id.clone(),
                    label: l.label.clone(),
                });
            } else if self.managed(&rec, l) {
                left.push(l.clone());
            }
        }
        if restore == Some(true) {
            steps.push(Step::Switch(true));
        }
        self.guard(cx.env, &live, &steps)?;
        Ok((live, steps, left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(label: &str, allow: bool, n: u32) -> DesiredList {
        DesiredList {
            label: label.into(),
            allow,
            nets: (0..n)
                .map(|i| Ipv4Net::parse(&format!("10.{}.{}.0/24", i / 256, i % 256)).unwrap())
                .collect(),
            enabled: true,
        }
    }

    fn live(label: &str, list_type: &str, n: usize) -> IpAccessList {
        IpAccessList {
            list_id: format!("id-{label}"),
            label: label.into(),
            list_type: list_type.into(),
            ip_addresses: (0..n)
                .map(|i| format!("172.16.{}.{}", i / 256, i % 256))
                .collect(),
            enabled: true,
        }
    }

    fn kinds(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| match s {
                Step::Switch(on) => format!("switch {on}"),
                Step::Delete { label, .. } => format!("delete {label}"),
                Step::Create(d) => format!("create {}", d.label),
                Step::Update { list, .. } => format!("update {}", list.label),
            })
            .collect()
    }

    #[test]
    fn steps_that_free_values_go_first_only_when_the_safe_order_would_pass_the_limit() {
        let ip = |lists| IpAccess {
            workspace_id: 1,
            lists,
            enabled: true,
            exclusive: true,
            operators: vec![Ipv4Net::parse("127.0.0.1").unwrap()],
        };
        // Room enough: allow lists before deletions, the switch last.
        let snap = Snapshot {
            lists: vec![live("theirs", "ALLOW", 10)],
            enabled: false,
        };
        let r = ip(vec![desired("ours", true, 5), desired("bad", false, 2)]);
        assert_eq!(
            kinds(&r.steps(&IpAccessRecord::default(), &snap)),
            ["create ours", "delete theirs", "create bad", "switch true"]
        );
        // 990 values elsewhere: deleting them first keeps the count at or under 1000.
        let snap = Snapshot {
            lists: vec![live("theirs", "ALLOW", 990)],
            enabled: false,
        };
        let r = ip(vec![desired("ours", true, 11), desired("bad", false, 2)]);
        let steps = r.steps(&IpAccessRecord::default(), &snap);
        assert_eq!(
            kinds(&steps),
            ["delete theirs", "create bad", "create ours", "switch true"]
        );
        assert!(peak(&snap, &steps) <= MAX_VALUES);
    }
}
