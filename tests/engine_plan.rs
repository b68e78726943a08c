//! `Engine::plan` with in-memory fakes: dependency order, `Later` for what cannot be evaluated
//! yet, drift after an out-of-band delete, and the guarantee that a plan writes and creates
//! nothing.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use plink::engine::{
    Engine, PlanAction, PlanOutcome, PlanReport, Planned, RetryPolicy, Step, StepContext,
    StepError, StepId,
};
use plink::state::{StateError, StatePaths, StateStore};
use support::fake_cloud::FakeCloud;
use support::fake_steps::{Concurrency, privatelink_graph};

const ROOTS: [&str; 4] = ["endpoint", "load_balancer", "target_group", "ncc"];

fn paths(dir: &Path) -> StatePaths {
    StatePaths::for_deployment(dir, "demo")
}

fn engine(cloud: &FakeCloud) -> Engine {
    Engine::new(privatelink_graph(
        cloud,
        &Arc::new(Concurrency::default()),
        Duration::ZERO,
    ))
    .unwrap()
    .with_retry(RetryPolicy::fast())
}

async fn up(dir: &Path, cloud: &FakeCloud) {
    let store = StateStore::open(paths(dir), "demo", "test", "up").unwrap();
    let report = engine(cloud).run(Arc::new(store)).await;
    assert!(report.succeeded(), "{report:?}");
}

async fn plan(dir: &Path, cloud: &FakeCloud) -> PlanReport {
    let store = StateStore::open_read_only(paths(dir), "demo", "test", "plan").unwrap();
    engine(cloud).plan(Arc::new(store)).await
}

fn action<'a>(report: &'a PlanReport, step: &str) -> &'a PlanAction {
    match &report
        .step(step)
        .unwrap_or_else(|| panic!("{step} planned"))
        .outcome
    {
        PlanOutcome::Planned(p) => &p.action,
        other => panic!("{step}: {other:?}"),
    }
}

#[tokio::test]
async fn fresh_deployment_creates_every_root_and_defers_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = FakeCloud::new(1);
    let report = plan(dir.path(), &cloud).await;
    for root in ROOTS {
        assert_eq!(action(&report, root), &PlanAction::Create, "{root}");
    }
    for (step, after) in [
        ("targets", "endpoint"),
        ("listener", "load_balancer"),
        ("endpoint_service", "load_balancer"),
        ("rule", "ncc"),
        ("accept", "rule"),
        ("bind", "accept"),
    ] {
        assert_eq!(
            action(&report, step),
            &PlanAction::Later { after },
            "{step}"
        );
    }
    assert!(report.has_changes());
    assert_eq!(report.steps.len(), 10);
    assert_eq!(cloud.total_creates(), 0);
    assert!(
        !dir.path().join(".plink").exists(),
        "a plan of a deployment that never ran creates no file nor directory"
    );
}

#[tokio::test]
async fn after_a_full_run_nothing_changes_and_nothing_is_written_or_created() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = FakeCloud::new(1);
    up(dir.path(), &cloud).await;
    let bytes = std::fs::read(paths(dir.path()).state).unwrap();
    let creates = cloud.total_creates();

    let report = plan(dir.path(), &cloud).await;
    for s in &report.steps {
        assert_eq!(s.action(), Some(&PlanAction::NoChange), "{s:?}");
    }
    assert!(!report.has_changes());
    assert_eq!(std::fs::read(paths(dir.path()).state).unwrap(), bytes);
    assert_eq!(cloud.total_creates(), creates);
}

#[tokio::test]
async fn deleted_resource_is_created_again_and_its_dependents_wait_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = FakeCloud::new(0);
    up(dir.path(), &cloud).await;
    let serial = plink::state::read_state(&paths(dir.path()))
        .unwrap()
        .unwrap()
        .serial;
    cloud.delete(&cloud.find_by_name("nlb", "nlb").unwrap());
    cloud.delete(&cloud.find_by_name("ncc", "ncc").unwrap());

    let report = plan(dir.path(), &cloud).await;
    assert_eq!(action(&report, "load_balancer"), &PlanAction::Create);
    assert_eq!(action(&report, "ncc"), &PlanAction::Create);
    for (step, after) in [
        ("listener", "load_balancer"),
        ("endpoint_service", "load_balancer"),
        ("rule", "ncc"),
        ("accept", "rule"),
        ("bind", "accept"),
    ] {
        assert_eq!(
            action(&report, step),
            &PlanAction::Later { after },
            "{step}"
        );
    }
    for step in ["endpoint", "target_group", "targets"] {
        assert_eq!(action(&report, step), &PlanAction::NoChange, "{step}");
    }
    let PlanOutcome::Planned(p) = &report.step("load_balancer").unwrap().outcome else {
        unreachable!()
    };
    assert!(p.detail.contains("is gone"), "{}", p.detail);
    assert_eq!(
        plink::state::read_state(&paths(dir.path()))
            .unwrap()
            .unwrap()
            .serial,
        serial,
        "a plan writes nothing"
    );

    // `up` repairs exactly that, and the plan is clean again.
    up(dir.path(), &cloud).await;
    assert_eq!(cloud.count("nlb"), 1);
    let report = plan(dir.path(), &cloud).await;
    assert!(!report.has_changes(), "{report:?}");
}

#[tokio::test]
async fn resource_found_by_name_is_adopted_and_dependents_see_its_planned_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = FakeCloud::new(0);
    // The NCC and NLB exist (made by someone else, or by a run that crashed before recording).
    cloud.create("ncc", "ncc", None).unwrap();
    cloud.create("nlb", "nlb", None).unwrap();
    let report = plan(dir.path(), &cloud).await;
    assert_eq!(action(&report, "ncc"), &PlanAction::Adopt);
    assert_eq!(action(&report, "load_balancer"), &PlanAction::Adopt);
    // The listener's natural key is built from the adopted NLB's planned id: it was evaluated.
    assert_eq!(
        action(&report, "listener"),
        &PlanAction::Later {
            after: "target_group"
        }
    );
    assert_eq!(action(&report, "endpoint_service"), &PlanAction::Create);
}

#[tokio::test]
async fn pending_resource_is_a_wait_counts_as_a_change_and_dependents_are_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = FakeCloud::new(0);
    up(dir.path(), &cloud).await;
    cloud.set_pending(&cloud.find_by_name("ncc", "ncc").unwrap(), 3);
    let report = plan(dir.path(), &cloud).await;
    assert_eq!(action(&report, "ncc"), &PlanAction::Wait);
    assert_eq!(action(&report, "rule"), &PlanAction::NoChange);
    assert!(report.has_changes(), "a wait is a change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn independent_steps_are_planned_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = FakeCloud::new(0);
    up(dir.path(), &cloud).await;
    let concurrency = Arc::new(Concurrency::default());
    let engine = Engine::new(privatelink_graph(
        &cloud,
        &concurrency,
        Duration::from_millis(50),
    ))
    .unwrap();
    let store = StateStore::open_read_only(paths(dir.path()), "demo", "test", "plan").unwrap();
    let report = engine.plan(Arc::new(store)).await;
    assert!(!report.has_changes());
    let max = concurrency.max.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        max >= 4,
        "the 4 roots should be planned together, max {max}"
    );
}

#[tokio::test]
async fn plan_is_refused_while_another_command_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let _up = StateStore::open(paths(dir.path()), "demo", "test", "up").unwrap();
    match StateStore::open_read_only(paths(dir.path()), "demo", "test", "plan") {
        Err(StateError::Locked { info, .. }) => {
            assert_eq!(info.map(|i| i.operation).as_deref(), Some("up"));
        }
        other => panic!("expected Locked, got {other:?}"),
    }
}

/// A step whose plan tries to write state (a bug the read-only store must stop).
struct WritesInPlan;

#[async_trait]
impl Step for WritesInPlan {
    fn id(&self) -> StepId {
        "writer"
    }
    fn depends_on(&self) -> Vec<StepId> {
        vec![]
    }
    fn describe(&self) -> String {
        "writes in plan".into()
    }
    async fn apply(&self, cx: &StepContext) -> Result<(), StepError> {
        cx.record(&serde_json::json!({ "written": true }))
    }
    async fn plan(&self, cx: &StepContext) -> Result<Planned, StepError> {
        assert!(cx.is_plan());
        cx.record(&serde_json::json!({ "written": "by plan" }))?;
        Ok(Planned::no_change("wrote"))
    }
}

/// A step that depends on the writer.
struct After;

#[async_trait]
impl Step for After {
    fn id(&self) -> StepId {
        "after"
    }
    fn depends_on(&self) -> Vec<StepId> {
        vec!["writer"]
    }
    fn describe(&self) -> String {
        "after the writer".into()
    }
    async fn apply(&self, _: &StepContext) -> Result<(), StepError> {
        Ok(())
    }
    async fn plan(&self, _: &StepContext) -> Result<Planned, StepError> {
        Ok(Planned::no_change(""))
    }
}

#[tokio::test]
async fn a_plan_that_tries_to_write_fails_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(vec![Arc::new(WritesInPlan), Arc::new(After)]).unwrap();
    let store = StateStore::open(paths(dir.path()), "demo", "test", "up").unwrap();
    assert!(engine.run(Arc::new(store)).await.succeeded());
    let bytes = std::fs::read(paths(dir.path()).state).unwrap();

    let store = StateStore::open_read_only(paths(dir.path()), "demo", "test", "plan").unwrap();
    let report = engine.plan(Arc::new(store)).await;
    match &report.step("writer").unwrap().outcome {
        PlanOutcome::Failed(StepError::State(StateError::ReadOnly { operation, .. })) => {
            assert_eq!(operation, "plan");
        }
        other => panic!("expected a refused write, got {other:?}"),
    }
    assert!(matches!(
        report.step("after").unwrap().outcome,
        PlanOutcome::Blocked { by: "writer" }
    ));
    assert_eq!(report.failures().count(), 1);
    assert!(report.has_changes(), "a failed plan is not a clean one");
    assert_eq!(std::fs::read(paths(dir.path()).state).unwrap(), bytes);
}
