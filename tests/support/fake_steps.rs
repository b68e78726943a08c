//! Steps that follow the engine's contract against the fake cloud, shaped like the real
//! PrivateLink graph (independent AWS and Databricks branches that join).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use plink::engine::{Planned, Poll, Step, StepContext, StepError, StepId, WaitPolicy};
use plink::state::Intent;
use serde::{Deserialize, Serialize};

use super::fake_cloud::FakeCloud;

/// How a fake step finds what it may have created before.
#[derive(Clone, Copy, Debug)]
pub enum Lookup {
    /// By name (ELBv2 names, Databricks natural keys).
    Name,
    /// Only by idempotency token (EC2 ClientToken): no natural key to search.
    TokenOnly,
}

#[derive(Serialize, Deserialize)]
struct Created {
    id: String,
}

#[derive(Serialize, Deserialize)]
struct Ready {
    ready: bool,
}

/// What a fake step's lookup found (shared by `apply` and `plan`).
enum Found {
    Recorded(String),
    ByName { id: String, gone: Option<String> },
    Missing { gone: Option<String> },
}

/// Tracks how many steps are inside `apply` (or `plan`) at once.
#[derive(Default)]
pub struct Concurrency {
    now: AtomicUsize,
    pub max: AtomicUsize,
}

pub struct ResourceStep {
    pub id: StepId,
    pub deps: Vec<StepId>,
    pub kind: &'static str,
    pub lookup: Lookup,
    pub cloud: FakeCloud,
    pub concurrency: Arc<Concurrency>,
    /// Extra time spent in apply, to make overlap observable.
    pub work: Duration,
}

#[async_trait]
impl Step for ResourceStep {
    fn id(&self) -> StepId {
        self.id
    }

    fn depends_on(&self) -> Vec<StepId> {
        self.deps.clone()
    }

    fn describe(&self) -> String {
        format!("create {}", self.kind)
    }

    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        let now = self.concurrency.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.concurrency.max.fetch_max(now, Ordering::SeqCst);
        let result = self.converge(cx).await;
        self.concurrency.now.fetch_sub(1, Ordering::SeqCst);
        result
    }

    async fn plan(&self, cx: &StepContext) -> Result<Planned, StepError> {
        let now = self.concurrency.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.concurrency.max.fetch_max(now, Ordering::SeqCst);
        let result = self.plan_only(cx).await;
        self.concurrency.now.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

impl ResourceStep {
    /// The natural key: the kind and the ids of the dependencies.
    fn name(&self, cx: &StepContext) -> Result<String, StepError> {
        let mut name = self.kind.to_string();
        for d in &self.deps {
            let dep: Created = cx.output(d)?;
            name.push('+');
            name.push_str(&dep.id);
        }
        Ok(name)
    }

    /// Recorded id, then natural key (never by token: a token finds nothing without creating).
    fn find(&self, cx: &StepContext, name: &str) -> Found {
        let recorded = cx.recorded::<Created>().map(|c| c.id);
        let gone = match recorded {
            Some(id) if self.cloud.exists(&id) => return Found::Recorded(id),
            other => other,
        };
        match self.lookup {
            Lookup::Name => match self.cloud.find_by_name(self.kind, name) {
                Some(id) => Found::ByName { id, gone },
                None => Found::Missing { gone },
            },
            Lookup::TokenOnly => Found::Missing { gone },
        }
    }

    async fn plan_only(&self, cx: &StepContext) -> Result<Planned, StepError> {
        let name = self.name(cx)?;
        tokio::time::sleep(self.work).await;
        Ok(match self.find(cx, &name) {
            Found::Missing { gone: Some(id) } => {
                Planned::create(format!("recorded {} {id} is gone", self.kind))
            }
            Found::Missing { gone: None } => Planned::create(format!("{} {name}", self.kind)),
            Found::ByName { id, .. } => {
                Planned::adopt(format!("{id} found by name")).with_outputs(&Created { id })
            }
            Found::Recorded(id) => match self.cloud.peek(&id) {
                Some("available") => Planned::no_change(id.clone()),
                state => Planned::wait(format!("{id} is {}", state.unwrap_or("gone"))),
            }
            .with_outputs(&Created { id }),
        })
    }

    async fn converge(&self, cx: &StepContext) -> Result<(), StepError> {
        // Dependencies must have recorded their ids.
        let name = self.name(cx)?;
        tokio::time::sleep(self.work).await;
        // A crashed process makes no more progress: end the run at once instead of retrying.
        let cloud_err = |e: String| match e.as_str() {
            "crashed" => StepError::terminal("process crashed"),
            _ => StepError::retryable(format!("cloud: {e}")),
        };

        // 1. Find: recorded id, then natural key.
        let found = match self.find(cx, &name) {
            Found::Recorded(id) | Found::ByName { id, .. } => Some(id),
            Found::Missing { .. } => None,
        };
        // 2. Create if missing, intent first.
        let id = match found {
            Some(id) => id,
            None => {
                let token = cx.token("create");
                let token = matches!(self.lookup, Lookup::TokenOnly).then_some(token);
                let mut intent = Intent::new(format!("create_{}", self.kind)).key("name", &name);
                if let Some(t) = &token {
                    intent = intent.token(t);
                }
                cx.begin(intent)?;
                self.cloud
                    .create(self.kind, &name, token.as_deref())
                    .map_err(cloud_err)?
            }
        };
        cx.record(&Created { id: id.clone() })?;
        // 3. Wait.
        let policy = WaitPolicy::new(
            Duration::from_millis(1),
            Duration::from_millis(5),
            Duration::from_secs(5),
        );
        cx.wait_for(&format!("{} available", self.kind), &policy, || async {
            match self.cloud.poll(&id).map_err(cloud_err)? {
                "available" => Ok(Poll::Ready(())),
                other => Ok(Poll::Pending(format!("state={other}"))),
            }
        })
        .await?;
        cx.record(&Ready { ready: true })
    }
}

/// The PrivateLink-shaped graph: endpoint, NLB, target group and NCC are independent.
pub fn privatelink_graph(
    cloud: &FakeCloud,
    concurrency: &Arc<Concurrency>,
    work: Duration,
) -> Vec<Arc<dyn Step>> {
    let step = |id: StepId, deps: &[StepId], kind: &'static str, lookup: Lookup| -> Arc<dyn Step> {
        Arc::new(ResourceStep {
            id,
            deps: deps.to_vec(),
            kind,
            lookup,
            cloud: cloud.clone(),
            concurrency: concurrency.clone(),
            work,
        })
    };
    vec![
        step("endpoint", &[], "vpce", Lookup::TokenOnly),
        step("load_balancer", &[], "nlb", Lookup::Name),
        step("target_group", &[], "tg", Lookup::Name),
        step(
            "targets",
            &["endpoint", "target_group"],
            "targets",
            Lookup::Name,
        ),
        step(
            "listener",
            &["load_balancer", "target_group"],
            "listener",
            Lookup::Name,
        ),
        step(
            "endpoint_service",
            &["load_balancer"],
            "vpce-svc",
            Lookup::TokenOnly,
        ),
        step("ncc", &[], "ncc", Lookup::Name),
        step("rule", &["ncc", "endpoint_service"], "rule", Lookup::Name),
        step("accept", &["rule"], "accept", Lookup::Name),
        step("bind", &["accept"], "binding", Lookup::Name),
    ]
}
