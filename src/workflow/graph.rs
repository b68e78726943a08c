//! A workflow kind's graph: named resource instances, their dependencies, and how each one's
//! inputs derive from the records of the nodes upstream. Everything a command needs is derived
//! from it: the `up` steps, the teardown steps (the reverse graph), the display and teardown
//! orders, the live view of `status`, and the orphan inventory.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use backoff::backoff::Backoff;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::aws::Tags;
use crate::engine::{Planned, RetryPolicy, Step, StepContext, StepId};
use crate::resources::Res;
use crate::resources::preflight::Finding;
use crate::resources::{Cx, Env, Observation, Resource, Teardown};
use crate::state::{StateFile, StateStore};

/// Where a node's inputs are read from: a running step (`up`, `plan`, teardown), or a state file
/// (`status`).
pub struct Upstream<'a> {
    source: Source<'a>,
    /// Records recovered for upstream nodes whose record the state lost (teardown only).
    recovered: Option<&'a Recovered>,
}

/// Records recovered by [`Resource::recover`], by node.
type Recovered = BTreeMap<StepId, Map<String, Value>>;

enum Source<'a> {
    Step(&'a StepContext),
    State(&'a StateFile),
}

impl Upstream<'_> {
    /// What `node` recorded (during a plan, with what it planned on top; during a teardown,
    /// what was recovered when the state lost it), read leniently: a missing or partial record
    /// gives the record type's defaults.
    pub fn record<T: DeserializeOwned + Default>(&self, node: StepId) -> T {
        if let Some(rec) = self.recovered.and_then(|r| r.get(node)) {
            return serde_json::from_value(Value::Object(rec.clone())).unwrap_or_default();
        }
        match self.source {
            Source::Step(cx) => cx.output(node).unwrap_or_default(),
            Source::State(state) => state.outputs(node).unwrap_or_default(),
        }
    }
}

/// How a node derives its resource's inputs.
type Derive<R> = Box<dyn Fn(&Upstream<'_>) -> Res<<R as Resource>::Inputs> + Send + Sync>;

/// One named resource instance of a graph.
struct Node<R: Resource> {
    id: StepId,
    deps: Vec<StepId>,
    teardown_id: StepId,
    resource: R,
    derive: Derive<R>,
}

impl<R: Resource> Node<R> {
    /// Its inputs, from the records of a running step's dependencies (and those `recovered`).
    fn inputs(&self, cx: &StepContext, recovered: Option<&Recovered>) -> Res<R::Inputs> {
        (self.derive)(&Upstream {
            source: Source::Step(cx),
            recovered,
        })
    }
}

/// A node with its resource type erased: what the graph's derivations call.
#[async_trait]
trait AnyNode: Send + Sync {
    fn id(&self) -> StepId;
    fn resource_type(&self) -> std::any::TypeId;
    fn deps(&self) -> &[StepId];
    fn teardown_id(&self) -> StepId;
    fn describe(&self) -> String;
    fn noun(&self) -> &'static str;
    fn tears_down(&self) -> bool;
    async fn converge(&self, env: &Env, cx: &StepContext) -> Res<()>;
    async fn plan(&self, env: &Env, cx: &StepContext) -> Res<Planned>;
    async fn teardown(&self, env: &Env, cx: &StepContext, recovered: &Recovered) -> Res<()>;
    async fn recover(
        &self,
        env: &Env,
        cx: &StepContext,
        recovered: &Recovered,
    ) -> Res<Option<Map<String, Value>>>;
    async fn observe(&self, env: &Env, state: &StateFile) -> Observation;
    async fn preflight(&self, env: &Env, cx: &StepContext) -> Vec<Finding>;
    async fn teardown_plan(&self, env: &Env, cx: &StepContext) -> Res<Vec<Teardown>>;
    async fn inventory(&self, env: &Env) -> Res<Vec<(String, Tags)>>;
}

#[async_trait]
impl<R: Resource> AnyNode for Node<R> {
    fn id(&self) -> StepId {
        self.id
    }

    fn resource_type(&self) -> std::any::TypeId {
        std::any::TypeId::of::<R>()
    }

    fn deps(&self) -> &[StepId] {
        &self.deps
    }

    fn teardown_id(&self) -> StepId {
        self.teardown_id
    }

    fn describe(&self) -> String {
        self.resource.describe()
    }

    fn noun(&self) -> &'static str {
        R::KIND
    }

    fn tears_down(&self) -> bool {
        self.resource.tears_down()
    }

    async fn converge(&self, env: &Env, cx: &StepContext) -> Res<()> {
        let inputs = self.inputs(cx, None)?;
        self.resource
            .converge(&Cx::new(env, cx, self.id), &inputs)
            .await
    }

    async fn plan(&self, env: &Env, cx: &StepContext) -> Res<Planned> {
        let inputs = self.inputs(cx, None)?;
        self.resource
            .plan(&Cx::new(env, cx, self.id), &inputs)
            .await
    }

    async fn teardown(&self, env: &Env, cx: &StepContext, recovered: &Recovered) -> Res<()> {
        // Upstream records may be missing (an `up` that stopped early, records lost): the
        // resource then finds what it can from its own record, tags and intent.
        let inputs = self.inputs(cx, Some(recovered)).ok();
        self.resource
            .teardown(&Cx::new(env, cx, self.id), inputs.as_ref())
            .await
    }

    async fn recover(
        &self,
        env: &Env,
        cx: &StepContext,
        recovered: &Recovered,
    ) -> Res<Option<Map<String, Value>>> {
        let inputs = self.inputs(cx, Some(recovered)).ok();
        let record = self
            .resource
            .recover(&Cx::new(env, cx, self.id), inputs.as_ref())
            .await?;
        Ok(record.and_then(|r| match serde_json::to_value(r) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        }))
    }

    async fn observe(&self, env: &Env, state: &StateFile) -> Observation {
        let up = Upstream {
            source: Source::State(state),
            recovered: None,
        };
        let inputs = (self.derive)(&up).ok();
        let record: R::Record = up.record(self.id);
        self.resource.observe(env, &record, inputs.as_ref()).await
    }

    async fn preflight(&self, env: &Env, cx: &StepContext) -> Vec<Finding> {
        // Upstream records exist only on a deployment that ran: without them, the resource
        // checks what the workflow file alone says.
        let inputs = self.inputs(cx, None).ok();
        self.resource
            .preflight(&Cx::new(env, cx, self.id), inputs.as_ref())
            .await
    }

    async fn teardown_plan(&self, env: &Env, cx: &StepContext) -> Res<Vec<Teardown>> {
        // As the teardown derives them (upstream records may be missing).
        let inputs = self.inputs(cx, None).ok();
        self.resource
            .teardown_plan(&Cx::new(env, cx, self.id), inputs.as_ref())
            .await
    }

    async fn inventory(&self, env: &Env) -> Res<Vec<(String, Tags)>> {
        self.resource.inventory(env).await
    }
}

/// How many times a preflight check failing transiently is made, apart as a step's retries
/// ([`RetryPolicy::step_default`]: about 1 s, 2 s, 4 s).
const PREFLIGHT_ATTEMPTS: u32 = 4;

/// A workflow kind's graph.
#[derive(Clone, Default)]
pub struct Graph {
    nodes: Vec<Arc<dyn AnyNode>>,
    /// Per node, the dependencies it needs only created (see [`Graph::early`]).
    early: BTreeMap<StepId, Vec<StepId>>,
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.nodes.iter().map(|n| (n.id(), n.deps())))
            .finish()
    }
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds node `id`: `resource`, after `deps`, with inputs derived by `derive` from the
    /// upstream records. Its teardown step is `down_<id>`.
    #[must_use]
    pub fn node<R: Resource>(
        self,
        id: StepId,
        deps: &[StepId],
        resource: R,
        derive: impl Fn(&Upstream<'_>) -> Res<R::Inputs> + Send + Sync + 'static,
    ) -> Self {
        self.node_torn_down_as(id, deps, resource, derive, intern(format!("down_{id}")))
    }

    /// [`node`](Self::node), with a teardown step named `teardown_id` (a name the state files of
    /// earlier plinks use).
    #[must_use]
    pub fn node_torn_down_as<R: Resource>(
        mut self,
        id: StepId,
        deps: &[StepId],
        resource: R,
        derive: impl Fn(&Upstream<'_>) -> Res<R::Inputs> + Send + Sync + 'static,
        teardown_id: StepId,
    ) -> Self {
        self.nodes.push(Arc::new(Node {
            id,
            deps: deps.to_vec(),
            teardown_id,
            resource,
            derive: Box::new(derive),
        }));
        self
    }

    /// Lets node `id` start as soon as its dependencies `deps` have recorded their resource
    /// (created, id known), while they wait for it to be ready: for a call the API accepts on a
    /// resource that is still being provisioned (issue #13; each use says why, with its
    /// source). `up` only: `plan`, `down` and the display order keep them ordinary
    /// dependencies.
    ///
    /// # Panics
    /// If `id` is not a node yet or a dep is not among its dependencies (a bug in the graph's
    /// definition, caught by every test that builds it).
    #[must_use]
    pub fn early(mut self, id: StepId, deps: &[StepId]) -> Self {
        let node = self.get(id);
        for d in deps {
            assert!(node.deps().contains(d), "`{id}` does not depend on `{d}`");
        }
        self.early.entry(id).or_default().extend_from_slice(deps);
        self
    }

    /// The first node whose resource is an `R`: its id and its teardown step's id (what a command
    /// reports about one kind of resource, e.g. the NCC `down` kept, without naming nodes).
    pub fn node_of<R: Resource>(&self) -> Option<(StepId, StepId)> {
        self.nodes
            .iter()
            .find(|n| n.resource_type() == std::any::TypeId::of::<R>())
            .map(|n| (n.id(), n.teardown_id()))
    }

    /// The node ids, in definition order.
    pub fn node_ids(&self) -> Vec<StepId> {
        self.nodes.iter().map(|n| n.id()).collect()
    }

    /// The nodes in an order compatible with their dependencies, definition order breaking ties
    /// (what progress, plan and status show). Nodes on a cycle or after an unknown dependency
    /// come last, in definition order (the engine refuses such a graph).
    pub fn display_order(&self) -> Vec<StepId> {
        let mut done: BTreeSet<StepId> = BTreeSet::new();
        let mut order = Vec::new();
        while order.len() < self.nodes.len() {
            let Some(next) = self
                .nodes
                .iter()
                .find(|n| !done.contains(n.id()) && n.deps().iter().all(|d| done.contains(d)))
            else {
                break;
            };
            done.insert(next.id());
            order.push(next.id());
        }
        for n in &self.nodes {
            if !done.contains(n.id()) {
                order.push(n.id());
            }
        }
        order
    }

    /// The teardown steps in an order compatible with theirs: the display order reversed,
    /// keeping the nodes that have something to tear down.
    pub fn teardown_order(&self) -> Vec<StepId> {
        self.torn_down().map(|n| n.teardown_id()).collect()
    }

    /// The nodes that tear something down, in teardown order.
    fn torn_down(&self) -> impl Iterator<Item = &Arc<dyn AnyNode>> {
        let order = self.display_order();
        order
            .into_iter()
            .rev()
            .map(|id| self.get(id))
            .filter(|n| n.tears_down())
    }

    fn get(&self, id: StepId) -> &Arc<dyn AnyNode> {
        self.nodes
            .iter()
            .find(|n| n.id() == id)
            .expect("a node of the graph")
    }

    /// The nodes depending on `id` directly.
    fn dependents(&self, id: StepId) -> Vec<StepId> {
        self.nodes
            .iter()
            .filter(|n| n.deps().contains(&id))
            .map(|n| n.id())
            .collect()
    }

    /// Every node's preflight (issue #16), in display order, each node's findings with its id.
    /// `store` is read only: nothing can be written. One node at a time, so that lookups the
    /// nodes share (the region's NCCs) are made once. A node whose check could not be made for
    /// a transient reason (throttled, 5xx) is asked again, [`PREFLIGHT_ATTEMPTS`] times at
    /// most, as a step would be retried.
    pub async fn preflight(
        &self,
        env: &Arc<Env>,
        store: &Arc<StateStore>,
    ) -> Vec<(StepId, Finding)> {
        let mut all = Vec::new();
        let learned = crate::engine::PlanOverlay::default();
        for id in self.display_order() {
            let node = self.get(id);
            let cx = StepContext::for_preflight(id, store.clone(), learned.clone());
            let mut backoff = RetryPolicy::step_default().backoff();
            let mut attempt = 1;
            let findings = loop {
                let findings = node.preflight(env, &cx).await;
                let transient = findings.iter().any(|f| f.retryable);
                match backoff.next_backoff() {
                    Some(delay) if transient && attempt < PREFLIGHT_ATTEMPTS => {
                        tokio::time::sleep(delay).await;
                        attempt += 1;
                    }
                    _ => break findings,
                }
            };
            all.extend(findings.into_iter().map(|f| (id, f)));
        }
        all
    }

    /// What `down` would do (`plink plan --destroy`, issue #16): per node that tears something
    /// down, in teardown order, its teardown step, what it is, and what its teardown would do
    /// now (or why that could not be read). `store` is read only.
    pub async fn teardown_plan(
        &self,
        env: &Arc<Env>,
        store: &Arc<StateStore>,
    ) -> Vec<(StepId, String, Res<Vec<Teardown>>)> {
        let mut out = Vec::new();
        for node in self.torn_down() {
            let cx = StepContext::for_preflight(node.id(), store.clone(), Default::default());
            let plan = node.teardown_plan(env, &cx).await;
            out.push((node.teardown_id(), node.describe(), plan));
        }
        out
    }

    /// The `up` graph: one engine step per node.
    pub fn up_steps(&self, env: &Arc<Env>) -> Vec<Arc<dyn Step>> {
        self.nodes
            .iter()
            .map(|n| {
                Arc::new(UpStep {
                    node: n.clone(),
                    env: env.clone(),
                    early: self.early.get(n.id()).cloned().unwrap_or_default(),
                }) as Arc<dyn Step>
            })
            .collect()
    }

    /// The teardown graph as engine steps (see [`teardown_graph`](Self::teardown_graph)).
    pub fn down_steps(&self, env: &Arc<Env>) -> Vec<Arc<dyn Step>> {
        self.teardown_graph()
            .into_iter()
            .map(|(id, deps)| {
                Arc::new(DownStep {
                    node: self.get(id).clone(),
                    env: env.clone(),
                    deps,
                    upstream: self.upstream_of(id),
                }) as Arc<dyn Step>
            })
            .collect()
    }

    /// The teardown graph, in teardown order: each node that tears something down, with the
    /// teardown steps it waits for (those of the nodes depending on it, directly or through
    /// nodes with nothing to tear down).
    pub fn teardown_graph(&self) -> Vec<(StepId, Vec<StepId>)> {
        let order = self.teardown_order();
        let through = |id| {
            if self.get(id).tears_down() {
                Vec::new()
            } else {
                self.dependents(id)
            }
        };
        self.torn_down()
            .map(|n| {
                let mut deps: Vec<StepId> = reach(self.dependents(n.id()), through)
                    .into_iter()
                    .map(|d| self.get(d))
                    .filter(|d| d.tears_down())
                    .map(|d| d.teardown_id())
                    .collect();
                deps.sort_by_key(|d| order.iter().position(|o| o == d));
                (n.id(), deps)
            })
            .collect()
    }

    /// The `up` records a finished teardown keeps: those of each resource its teardown had to
    /// leave in place (its teardown record says `"outcome": "kept"`, e.g. an NCC workspaces are
    /// still bound to), and of the nodes depending on it that tear nothing down themselves (the
    /// bindings to that NCC).
    pub fn kept_records(&self, state: &StateFile) -> BTreeSet<StepId> {
        let kept = self
            .nodes
            .iter()
            .filter(|n| {
                n.tears_down()
                    && state
                        .step(n.teardown_id())
                        .and_then(|r| r.outputs.get("outcome"))
                        .and_then(Value::as_str)
                        == Some("kept")
            })
            .map(|n| n.id())
            .collect();
        reach(kept, |id| {
            let mut deps = self.dependents(id);
            deps.retain(|d| !self.get(d).tears_down());
            deps
        })
    }

    /// Whether `state` still holds `up` records other than those a teardown kept.
    pub fn has_up_records(&self, state: &StateFile) -> bool {
        let kept = self.kept_records(state);
        self.nodes
            .iter()
            .any(|n| !kept.contains(n.id()) && state.steps.contains_key(n.id()))
    }

    /// Every node `id` depends on, directly or not, in display order.
    fn upstream_of(&self, id: StepId) -> Vec<Arc<dyn AnyNode>> {
        let up = reach(self.get(id).deps().to_vec(), |d| {
            self.get(d).deps().to_vec()
        });
        self.display_order()
            .into_iter()
            .filter(|n| up.contains(n))
            .map(|n| self.get(n).clone())
            .collect()
    }

    /// What the clouds say now about everything `state` records (merged fields of every node's
    /// observation, in display order).
    pub async fn observe(&self, env: &Env, state: &StateFile) -> Observation {
        let observations = futures::future::join_all(
            self.display_order()
                .into_iter()
                .map(|id| self.get(id).observe(env, state)),
        )
        .await;
        let mut all = Observation {
            fields: Map::new(),
            lines: Vec::new(),
            errors: Vec::new(),
        };
        for o in observations {
            for (key, value) in o.fields {
                // Several nodes of one kind (a target group per port) observe the same fields:
                // their lists are joined.
                match (all.fields.get_mut(&key), value) {
                    (Some(Value::Array(seen)), Value::Array(more)) => seen.extend(more),
                    (_, value) => {
                        all.fields.insert(key, value);
                    }
                }
            }
            all.lines.extend(o.lines);
            all.errors.extend(o.errors);
        }
        all
    }

    /// What the clouds say now about node `id` alone (`plink verify` reads one node's facts, e.g.
    /// each port's target health, issue #15); `None` for an unknown node.
    pub async fn observe_node(
        &self,
        id: &str,
        env: &Env,
        state: &StateFile,
    ) -> Option<Observation> {
        let node = self.nodes.iter().find(|n| n.id() == id)?;
        Some(node.observe(env, state).await)
    }

    /// Every live resource of the graph's kinds that carries plink's tags, any deployment:
    /// (noun, id, tags), each kind once.
    ///
    /// # Errors
    /// A read that failed.
    pub async fn inventory(&self, env: &Env) -> Res<Vec<(&'static str, String, Tags)>> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for n in &self.nodes {
            if !seen.insert(n.noun()) {
                continue;
            }
            for (id, tags) in n.inventory(env).await? {
                out.push((n.noun(), id, tags));
            }
        }
        Ok(out)
    }
}

/// Every node reached from `start` through `next`, `start` included.
fn reach(start: Vec<StepId>, next: impl Fn(StepId) -> Vec<StepId>) -> BTreeSet<StepId> {
    let mut seen = BTreeSet::new();
    let mut stack = start;
    while let Some(id) = stack.pop() {
        if seen.insert(id) {
            stack.extend(next(id));
        }
    }
    seen
}

/// `name` as a step id: engine step ids are `&'static str`, and graphs are built anew by every
/// command, so each distinct name is leaked once and reused after.
pub(crate) fn intern(name: String) -> StepId {
    static NAMES: std::sync::Mutex<BTreeSet<&'static str>> = std::sync::Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

/// A node as a step of the `up` graph.
struct UpStep {
    node: Arc<dyn AnyNode>,
    env: Arc<Env>,
    early: Vec<StepId>,
}

#[async_trait]
impl Step for UpStep {
    fn id(&self) -> StepId {
        self.node.id()
    }

    fn depends_on(&self) -> Vec<StepId> {
        self.node.deps().to_vec()
    }

    fn early_deps(&self) -> Vec<StepId> {
        self.early.clone()
    }

    fn describe(&self) -> String {
        self.node.describe()
    }

    async fn apply(&self, cx: &StepContext) -> Res<()> {
        self.node.converge(&self.env, cx).await
    }

    async fn plan(&self, cx: &StepContext) -> Res<Planned> {
        self.node.plan(&self.env, cx).await
    }
}

/// A node as a step of the teardown graph.
struct DownStep {
    node: Arc<dyn AnyNode>,
    env: Arc<Env>,
    deps: Vec<StepId>,
    /// The nodes upstream, in display order: their records are the node's inputs.
    upstream: Vec<Arc<dyn AnyNode>>,
}

#[async_trait]
impl Step for DownStep {
    fn id(&self) -> StepId {
        self.node.teardown_id()
    }

    fn depends_on(&self) -> Vec<StepId> {
        self.deps.clone()
    }

    fn describe(&self) -> String {
        format!("tear down: {}", self.node.describe())
    }

    /// Recovers the records the state lost upstream (in dependency order: a recovered record
    /// may be the input of the next recovery), then tears the node down.
    async fn apply(&self, cx: &StepContext) -> Res<()> {
        let mut recovered = Recovered::new();
        for up in &self.upstream {
            if cx.outputs_of(up.id()).is_empty()
                && let Some(record) = up.recover(&self.env, cx, &recovered).await?
            {
                recovered.insert(up.id(), record);
            }
        }
        self.node.teardown(&self.env, cx, &recovered).await
    }
}
