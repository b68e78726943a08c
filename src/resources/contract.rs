//! The contract every resource kind fulfils (see the module docs of [`crate::resources`]).

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Cx, Env, Found, Res};
use crate::aws::Tags;
use crate::engine::{Planned, Poll, Readiness, StepError, WaitPolicy};

/// One difference between the live resource and what the workflow wants, and how `up` fixes it.
#[derive(Debug, Clone)]
pub struct Change<F> {
    /// What `plan` says, e.g. `cross-zone load balancing is off: up turns it on`.
    pub plan: String,
    /// What `up` says while fixing it (empty: nothing).
    pub note: String,
    /// What [`Resource::update`] is given to fix it.
    pub fix: F,
}

impl<F> Change<F> {
    /// A change `plan` describes as `plan` and `up` announces with `note`.
    pub fn new(plan: impl Into<String>, note: impl Into<String>, fix: F) -> Self {
        Self {
            plan: plan.into(),
            note: note.into(),
            fix,
        }
    }
}

/// Whether plink may delete a resource on `down`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// plink created it (its tags say so, or the state says plink created it).
    Ours,
    /// It existed before plink, or belongs to the user: released, left in place.
    Adopted,
}

/// What `status` shows of one resource: fields merged into the live view (`--json` prints them
/// under `live`), lines of the table (`label`, text), and the probes that failed.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    pub fields: Map<String, Value>,
    pub lines: Vec<(String, String)>,
    pub errors: Vec<String>,
}

impl Observation {
    /// Sets `key` to `value` (anything serializable).
    pub fn set(&mut self, key: &str, value: impl Serialize) {
        if let Ok(v) = serde_json::to_value(value) {
            self.fields.insert(key.to_owned(), v);
        }
    }

    /// Adds a line to the table `status` prints (`label` in the first column).
    pub fn line(&mut self, label: &str, text: impl Into<String>) {
        self.lines.push((label.to_owned(), text.into()));
    }

    /// Notes a probe that failed.
    pub fn error(&mut self, what: &str, e: impl std::fmt::Display) {
        self.errors.push(format!("{what}: {e}"));
    }
}

/// `value` without its null fields (`status --json` leaves out what is unknown).
pub fn without_nulls(mut value: Value) -> Value {
    if let Value::Object(fields) = &mut value {
        fields.retain(|_, v| !v.is_null());
    }
    value
}

/// What `down` would do to one live resource (`plink plan --destroy`, issue #16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TeardownAction {
    /// plink made it (or `--delete-adopted`): deleted.
    Delete,
    /// plink adopted it, or it is the user's: forgotten by the state, left in place.
    Release,
    /// plink made it but cannot delete it yet (an NCC workspaces are still bound to): kept, and
    /// `down` exits 11.
    Keep,
    /// A connection to plink's endpoint service: rejected.
    Reject,
    /// The user's, changed in place: plink's part taken out, the rest written back as it is (a
    /// bucket policy keeping its other statements).
    Update,
    /// Put back as it was before plink changed it (a workspace bound back to its previous
    /// network policy, an IP access switch set back to its recorded value).
    Restore,
}

impl TeardownAction {
    /// How `plan --destroy` names it (`--json`'s `action`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Delete => "delete",
            Self::Release => "release",
            Self::Keep => "keep",
            Self::Reject => "reject",
            Self::Update => "update",
            Self::Restore => "restore",
        }
    }
}

/// One thing `down` would do (`plink plan --destroy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Teardown {
    pub action: TeardownAction,
    /// The id `down` records for it (what [`Deleted`] lists for a deleted one).
    pub id: String,
    /// What it is and why, in words (`load balancer plink-demo`, `bound to workspace(s) [1]`).
    pub detail: String,
}

impl Teardown {
    pub fn new(action: TeardownAction, id: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            action,
            id: id.into(),
            detail: detail.into(),
        }
    }
}

/// What a teardown of the common kind records (under `down_<node>`): the ids or ARNs deleted.
///
/// Every field is always written, so a record replaces the one an earlier teardown left.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Deleted {
    pub deleted: Vec<String>,
}

/// One kind of cloud object, defined once.
///
/// A value of the implementing type carries the desired settings that the workflow file decides
/// (names, ports, flags, timeouts); [`Inputs`](Resource::Inputs) are those that upstream
/// resources decide at run time (a VPC id, an NLB's ARN).
///
/// # Guarantees
/// [`find`](Resource::find), [`compare`](Resource::compare), [`readiness`](Resource::readiness),
/// [`observe`](Resource::observe) and [`inventory`](Resource::inventory) only read, so `plan`
/// and `status` may call them. Every mutating method writes an intent
/// ([`crate::engine::StepContext::begin`]) before its call.
#[async_trait]
pub trait Resource: Send + Sync + 'static {
    /// What upstream resources decide (derived by the workflow graph from their records).
    type Inputs: Send + Sync;
    /// The resource as the cloud reports it.
    type Live: Send + Sync;
    /// What the state keeps of it: ids and observed facts, never a secret. Every field has a
    /// default (`#[serde(default)]`), so a partial record reads.
    type Record: Serialize + DeserializeOwned + Default + Send + Sync;
    /// What [`update`](Resource::update) is given to fix one [`Change`].
    type Fix: Send + Sync;

    /// The kind's noun in messages of `up` and `plan` (`recorded NLB … is gone`).
    const NOUN: &'static str;

    /// What `up` waits for, in words (`the NLB to be active`).
    const WAITS_FOR: &'static str = "the resource to be ready";

    /// How `up` polls while it waits ([`crate::engine::WaitPolicy`]): `.0` is the prior, the
    /// earliest the transition is expected (no look between the first one and it; field update
    /// §5.1 has the typical durations), `.1` the longest interval between looks; in between,
    /// every 10 % of the time waited (both divided by `PLINK_WAIT_SCALE` on the local stack).
    const POLL_SECS: (u64, u64) = (5, 15);

    /// What the kind is called in lists and teardown messages (`status --orphans`,
    /// `releasing load balancer …`).
    const KIND: &'static str = Self::NOUN;

    /// How `plan` says it was found when not recorded (`found by name`); see
    /// [`found_by`](Resource::found_by).
    const FOUND_BY: &'static str = "found by plink's tags";

    /// Whether `down` has anything to do for this kind (read-only kinds, and kinds that go
    /// with another resource, have not; the teardown graph skips them).
    const TEARS_DOWN: bool = true;

    /// One line saying what this resource is (progress view, plan, status).
    fn describe(&self) -> String;

    /// How messages name a live one (an id, or a name).
    fn label(&self, live: &Self::Live) -> String;

    // --- what up and plan do (derived; override only when the kind's flow is its own) ------

    /// Brings it to what the workflow wants (`up`); the default is [`converge`](super::converge).
    ///
    /// # Errors
    /// What the resource's calls fail with; a wait that times out.
    async fn converge(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<()> {
        super::converge(self, cx, inputs).await.map(|_| ())
    }

    /// What [`converge`](Resource::converge) would do now, without changing anything (`plan`,
    /// and the drift `status` shows); the default is [`plan`](super::plan).
    ///
    /// # Errors
    /// What `converge` would fail with for the same reason, or a read that failed.
    async fn plan(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Planned> {
        super::plan(self, cx, inputs).await
    }

    // --- identity and lookup -----------------------------------------------------------------

    /// The recorded resource if it still lives, else one found by plink's tags or the natural
    /// key; [`Found::Replace`] when what exists can never become right.
    ///
    /// # Errors
    /// A read that failed, or a resource found that plink cannot use (the user must act).
    async fn find(&self, cx: &Cx<'_>, inputs: &Self::Inputs) -> Res<Found<Self::Live>>;

    // --- creation ----------------------------------------------------------------------------

    /// What `plan` says `up` would create; the default is [`describe`](Resource::describe).
    fn create_detail(&self, _inputs: &Self::Inputs) -> String {
        self.describe()
    }

    /// The key of the lock that "look up, check the limit, create" of this kind takes, so that
    /// deployments of one process that share a resource or count a limit take turns
    /// ([`coordination`](super::coordination)). `None`: no turns.
    fn turn(&self, _env: &Env) -> Option<String> {
        None
    }

    /// Checks that a create would pass (a quota, a limit), before `plan` says "create" and
    /// before `up` creates.
    ///
    /// # Errors
    /// The create would be refused: the user must act.
    async fn check_create(&self, _cx: &Cx<'_>, _inputs: &Self::Inputs) -> Res<()> {
        Ok(())
    }

    /// Whether plink creates this kind (false: something else does, and `up` waits for it).
    fn creates(&self) -> bool {
        true
    }

    /// Creates it: intent first, then the call (with a deterministic token where the API has
    /// one). `None` (the default): plink does not create this kind, something else does
    /// (Databricks opens the connection plink accepts); `up` waits for it to appear.
    ///
    /// # Errors
    /// The create failed; a retryable error when the next attempt should look again first.
    async fn create(&self, _cx: &Cx<'_>, _inputs: &Self::Inputs) -> Res<Option<Self::Live>> {
        Ok(None)
    }

    /// Deletes what [`find`](Resource::find) reported as [`Found::Replace`] before a new one is
    /// created.
    ///
    /// # Errors
    /// The delete failed.
    async fn remove_to_replace(
        &self,
        _cx: &Cx<'_>,
        _inputs: &Self::Inputs,
        _live: &Self::Live,
    ) -> Res<()> {
        Err(StepError::terminal(format!(
            "a {} cannot be replaced by plink",
            Self::NOUN
        )))
    }

    // --- preflight ---------------------------------------------------------------------------

    /// What would stop `up` for this resource, found with read-only calls before `up` or `plan`
    /// makes any mutating call (issue #16): references of the file that do not resolve, limits
    /// a create would meet, permissions a create needs (EC2 `DryRun`). Every problem, not just
    /// the first. Built from the kind's own lookups (`find`, `check_create`), never a second
    /// copy of them; a resource the state already records was proven by the run that made it,
    /// so its preflight may read nothing (a converged `up` stays cheap). `inputs` is `None`
    /// when the records upstream do not exist yet (a fresh deployment): the preflight works
    /// from the workflow file alone. The default: nothing to check.
    async fn preflight(
        &self,
        _cx: &Cx<'_>,
        _inputs: Option<&Self::Inputs>,
    ) -> Vec<super::preflight::Finding> {
        Vec::new()
    }

    // --- comparison --------------------------------------------------------------------------

    /// Where the live resource differs from what the workflow wants (drift, or a changed file).
    /// Checks that the resource is usable at all belong here too (an error needing the user).
    ///
    /// # Errors
    /// A read that failed, or a resource plink cannot use.
    async fn compare(
        &self,
        _cx: &Cx<'_>,
        _inputs: &Self::Inputs,
        _live: &Self::Live,
    ) -> Res<Vec<Change<Self::Fix>>> {
        Ok(Vec::new())
    }

    /// Fixes one change in place (intent first).
    ///
    /// # Errors
    /// The call failed.
    async fn update(
        &self,
        _cx: &Cx<'_>,
        _inputs: &Self::Inputs,
        _live: &Self::Live,
        _fix: &Self::Fix,
    ) -> Res<()> {
        Ok(())
    }

    // --- readiness ---------------------------------------------------------------------------

    /// Where `live` stands against the target state (`available`, `active`).
    fn readiness(&self, _live: &Self::Live) -> Readiness {
        Readiness::Ready
    }

    /// What `up` waits for, and how: [`WAITS_FOR`](Resource::WAITS_FOR),
    /// [`POLL_SECS`](Resource::POLL_SECS), [`timeout`](Resource::timeout).
    fn wait(&self, env: &Env) -> (String, WaitPolicy) {
        let (initial, max) = Self::POLL_SECS;
        (
            Self::WAITS_FOR.to_owned(),
            env.wait(initial, max, self.timeout()),
        )
    }

    /// How long `up` waits at most (the workflow file's `[timeouts]`).
    fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(600)
    }

    /// The resource as [`update`](Resource::update) left it after `fix`, when its success says
    /// so without a read (the fix lives apart from the description, like an NLB's attributes;
    /// or the answer fixes the new state, like an accepted connection's); `None` (the default):
    /// `up` reads it again. Issue #13: no read that cannot tell anything new.
    fn updated(&self, _live: &Self::Live, _fix: &Self::Fix) -> Option<Self::Live> {
        None
    }

    /// The resource read again, for a wait. `None`: not visible (yet).
    ///
    /// # Errors
    /// A read that failed.
    async fn refresh(&self, _cx: &Cx<'_>, _live: &Self::Live) -> Res<Option<Self::Live>> {
        Ok(None)
    }

    // --- the record --------------------------------------------------------------------------

    /// What the state keeps of `live`.
    ///
    /// # Errors
    /// A read the record needs failed.
    async fn record(
        &self,
        cx: &Cx<'_>,
        inputs: &Self::Inputs,
        live: &Self::Live,
    ) -> Res<Self::Record>;

    /// What `plan` says when nothing is to be done.
    fn summary(&self, live: &Self::Live) -> String {
        format!("{} {}", Self::NOUN, self.label(live))
    }

    /// How `plan` says it was found when not recorded: [`FOUND_BY`](Resource::FOUND_BY).
    fn found_by(&self) -> &'static str {
        Self::FOUND_BY
    }

    // --- status ------------------------------------------------------------------------------

    /// What the clouds say now about the recorded resource (`inputs` is `None` when an
    /// upstream record is missing). Never fails: a probe that fails says so in
    /// [`Observation::errors`].
    async fn observe(
        &self,
        _env: &Env,
        _record: &Self::Record,
        _inputs: Option<&Self::Inputs>,
    ) -> Observation {
        Observation::default()
    }

    // --- teardown ----------------------------------------------------------------------------

    /// Whether `down` has anything to do for this kind: [`TEARS_DOWN`](Resource::TEARS_DOWN).
    fn tears_down(&self) -> bool {
        Self::TEARS_DOWN
    }

    /// Tears it down: finds everything plink may delete (recorded, tagged for this deployment,
    /// or left by an unresolved create intent), deletes what plink owns (or everything with
    /// `--delete-adopted`), releases the rest, and waits until it is gone. "Already gone" and
    /// "never created" are success. `inputs` is `None` when an upstream record is missing.
    ///
    /// The default deletes through [`locate`](Resource::locate),
    /// [`ownership`](Resource::ownership), [`delete`](Resource::delete) and
    /// [`gone`](Resource::gone), and records [`Deleted`].
    ///
    /// # Errors
    /// A delete or read that failed.
    async fn teardown(&self, cx: &Cx<'_>, inputs: Option<&Self::Inputs>) -> Res<()> {
        super::teardown_deleting(self, cx, inputs).await
    }

    /// What [`teardown`](Resource::teardown) would do now, without doing it (`plink plan
    /// --destroy`, issue #16): from the same lookups. The default derives it from
    /// [`locate`](Resource::locate) and [`ownership`](Resource::ownership), as the default
    /// teardown decides; a kind whose teardown is its own says it with its own lookups.
    ///
    /// # Errors
    /// A read that failed.
    async fn teardown_plan(
        &self,
        cx: &Cx<'_>,
        inputs: Option<&Self::Inputs>,
    ) -> Res<Vec<Teardown>> {
        super::teardown_plan_deleting(self, cx, inputs).await
    }

    /// Everything of this kind plink may have made for this deployment and that still exists.
    ///
    /// # Errors
    /// A read that failed.
    async fn locate(&self, _cx: &Cx<'_>, _inputs: Option<&Self::Inputs>) -> Res<Vec<Self::Live>> {
        Ok(Vec::new())
    }

    /// What this resource's record would be when the state lost it (a create whose answer was
    /// lost; a state file restored from an old copy): found by its intent, plink's tags or the
    /// natural key. The teardown of the nodes downstream reads it in place of the missing
    /// record, so that they find what depends on it. `None`: nothing to recover.
    ///
    /// # Errors
    /// A read that failed.
    async fn recover(
        &self,
        _cx: &Cx<'_>,
        _inputs: Option<&Self::Inputs>,
    ) -> Res<Option<Self::Record>> {
        Ok(None)
    }

    /// Whether plink created `live` (by its tags, or the record).
    ///
    /// # Errors
    /// Reading the tags failed.
    async fn ownership(&self, _cx: &Cx<'_>, _live: &Self::Live) -> Res<Ownership> {
        Ok(Ownership::Adopted)
    }

    /// How teardown messages name `live` (`load balancer plink-demo`).
    fn teardown_label(&self, live: &Self::Live) -> String {
        format!("{} {}", Self::KIND, self.label(live))
    }

    /// The id recorded as deleted.
    fn deleted_id(&self, live: &Self::Live) -> String {
        self.label(live)
    }

    /// Deletes `live` (intent first). `Ok(())` also when it was already going.
    ///
    /// # Errors
    /// The delete failed; retryable when something still uses it.
    async fn delete(&self, _cx: &Cx<'_>, _live: &Self::Live) -> Res<()> {
        Ok(())
    }

    /// Whether `live`, read again, is in a final deleted state (kinds that AWS keeps listing
    /// for a while after a delete).
    fn deleted(&self, _live: &Self::Live) -> bool {
        false
    }

    /// Whether a deleted `live` is gone (the wait after [`delete`](Resource::delete)): it no
    /// longer reads ([`refresh`](Resource::refresh)), or reads [`deleted`](Resource::deleted).
    ///
    /// # Errors
    /// A read that failed.
    async fn gone(&self, cx: &Cx<'_>, live: &Self::Live) -> Res<Poll<()>> {
        Ok(match self.refresh(cx, live).await? {
            Some(now) if !self.deleted(&now) => Poll::Pending(match self.readiness(&now) {
                Readiness::Pending(seen) => format!("{} {seen}", self.label(&now)),
                _ => self.label(&now),
            }),
            _ => Poll::Ready(()),
        })
    }

    // --- orphans -----------------------------------------------------------------------------

    /// Every live resource of this kind carrying plink's tags, any deployment: (id, tags).
    ///
    /// # Errors
    /// A read that failed.
    async fn inventory(&self, _env: &Env) -> Res<Vec<(String, Tags)>> {
        Ok(Vec::new())
    }
}
