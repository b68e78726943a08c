//! Crash/resume guarantees of the step engine, with in-memory fakes of the cloud steps.
//!
//! A crash is injected after every possible number of durable events (state writes and cloud
//! commits), which covers every step boundary and every gap between an intent and its result;
//! then the run resumes in a fresh engine from the state file alone.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use plink::engine::{Engine, Interrupt, RetryPolicy, StepOutcome};
use plink::state::{StateError, StateFile, StatePaths, StateStore, StepStatus};
use support::fake_cloud::{CrashSwitch, FakeCloud};
use support::fake_steps::{Concurrency, privatelink_graph};

const KINDS: [&str; 10] = [
    "vpce", "nlb", "tg", "targets", "listener", "vpce-svc", "ncc", "rule", "accept", "binding",
];

fn open(dir: &Path, switch: Option<Arc<CrashSwitch>>) -> Result<Arc<StateStore>, StateError> {
    let store = StateStore::open(
        StatePaths::for_deployment(dir, "demo"),
        "demo",
        "test",
        "up",
    )?;
    Ok(Arc::new(match switch {
        Some(s) => store.with_write_hook(Arc::new(move |_| s.tick())),
        None => store,
    }))
}

async fn run(
    dir: &Path,
    cloud: &FakeCloud,
    switch: Option<Arc<CrashSwitch>>,
) -> plink::engine::RunReport {
    if let Some(s) = &switch {
        cloud.set_crash(s.clone());
    } else {
        cloud.set_crash(CrashSwitch::never());
    }
    let store = open(dir, switch).expect("open state");
    let engine = Engine::new(privatelink_graph(
        cloud,
        &Arc::new(Concurrency::default()),
        Duration::ZERO,
    ))
    .unwrap()
    .with_retry(RetryPolicy::fast());
    engine.run(store).await
}

/// The parts of the state that must not depend on how the run was interrupted.
fn essence(state: &StateFile) -> Vec<(String, StepStatus, String, bool)> {
    state
        .steps
        .iter()
        .map(|(id, r)| {
            (
                id.clone(),
                r.status,
                serde_json::to_string(&r.outputs).unwrap(),
                r.intent.is_some(),
            )
        })
        .collect()
}

fn read(dir: &Path) -> StateFile {
    plink::state::read_state(&StatePaths::for_deployment(dir, "demo"))
        .unwrap()
        .expect("state exists")
}

async fn reference_run() -> (StateFile, i64) {
    let dir = tempfile::tempdir().unwrap();
    let cloud = FakeCloud::new(2);
    let switch = CrashSwitch::never();
    let report = run(dir.path(), &cloud, Some(switch.clone())).await;
    assert!(report.succeeded(), "{report:?}");
    (read(dir.path()), switch.events())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_at_every_durable_event_then_resume_converges_without_duplicates() {
    let (expected, events) = reference_run().await;
    assert!(
        events > 20,
        "the graph should have many crash points, got {events}"
    );
    for crash_after in 0..events {
        let dir = tempfile::tempdir().unwrap();
        let cloud = FakeCloud::new(2);
        let crashed = run(dir.path(), &cloud, Some(CrashSwitch::after(crash_after))).await;
        assert!(
            !crashed.succeeded(),
            "crash after {crash_after} events should stop the run"
        );

        let resumed = run(dir.path(), &cloud, None).await;
        assert!(
            resumed.succeeded(),
            "resume after crash at {crash_after}: {resumed:?}"
        );
        assert_eq!(
            essence(&read(dir.path())),
            essence(&expected),
            "crash at {crash_after}"
        );
        for kind in KINDS {
            assert_eq!(
                cloud.count(kind),
                1,
                "crash at {crash_after}: {kind} exists {} times: {:?}",
                cloud.count(kind),
                cloud.ids()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_crashes_in_one_deployment_still_converge() {
    let (expected, events) = reference_run().await;
    let dir = tempfile::tempdir().unwrap();
    let cloud = FakeCloud::new(2);
    // Crash every few events until the run gets through.
    let mut runs = 0;
    loop {
        runs += 1;
        let report = run(dir.path(), &cloud, Some(CrashSwitch::after(3))).await;
        if report.succeeded() {
            break;
        }
        assert!(runs < events * 2, "no progress after {runs} runs");
    }
    assert!(
        runs > 3,
        "the crash budget should have interrupted several runs"
    );
    assert_eq!(essence(&read(dir.path())), essence(&expected));
    assert_eq!(cloud.total_creates() as usize, KINDS.len());
}

#[tokio::test]
async fn converged_run_creates_nothing_and_does_not_rewrite_state() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = FakeCloud::new(1);
    assert!(run(dir.path(), &cloud, None).await.succeeded());
    let before = read(dir.path());
    let creates = cloud.total_creates();
    assert!(run(dir.path(), &cloud, None).await.succeeded());
    assert_eq!(cloud.total_creates(), creates);
    assert_eq!(
        read(dir.path()).serial,
        before.serial,
        "a converged run writes nothing"
    );
}

#[tokio::test]
async fn resource_deleted_out_of_band_is_recreated_once() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = FakeCloud::new(0);
    assert!(run(dir.path(), &cloud, None).await.succeeded());
    let nlb = cloud.find_by_name("nlb", "nlb").unwrap();
    cloud.delete(&nlb);
    assert!(run(dir.path(), &cloud, None).await.succeeded());
    assert_eq!(cloud.count("nlb"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn independent_steps_run_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = FakeCloud::new(0);
    let concurrency = Arc::new(Concurrency::default());
    let store = open(dir.path(), None).unwrap();
    let engine = Engine::new(privatelink_graph(
        &cloud,
        &concurrency,
        Duration::from_millis(50),
    ))
    .unwrap();
    assert!(engine.run(store).await.succeeded());
    let max = concurrency.max.load(std::sync::atomic::Ordering::SeqCst);
    // endpoint, load_balancer, target_group and ncc have no dependencies.
    assert!(
        max >= 4,
        "expected the 4 independent roots to overlap, max concurrency was {max}"
    );
    // No wall-clock assertion: timings belong in benchmarks, and a loaded CI machine would make
    // one flaky. The overlap count above is the observable proof of concurrency.
}

#[tokio::test]
async fn second_concurrent_run_is_refused_with_who_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open(dir.path(), None).unwrap();
    let err = open(dir.path(), None).unwrap_err();
    let StateError::Locked {
        info: Some(info), ..
    } = &err
    else {
        panic!("expected Locked, got {err:?}")
    };
    assert_eq!(info.pid, std::process::id());
    assert_eq!(info.operation, "up");
    let msg = err.to_string();
    assert!(
        msg.contains("locked by `plink up`") && msg.contains("plink unlock"),
        "{msg}"
    );
}

#[tokio::test]
async fn lock_is_released_when_the_holder_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path(), None).unwrap());
    open(dir.path(), None).expect("lock free again");
}

#[tokio::test]
async fn interrupt_stops_after_persisting_and_resume_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = FakeCloud::new(1_000_000); // never ready on its own
    let interrupt = Interrupt::new();
    let store = open(dir.path(), None).unwrap();
    let engine = Engine::new(privatelink_graph(
        &cloud,
        &Arc::new(Concurrency::default()),
        Duration::ZERO,
    ))
    .unwrap()
    .with_interrupt(interrupt.clone());
    let trigger = {
        let interrupt = interrupt.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            interrupt.trigger();
        })
    };
    let report = engine.run(store).await;
    trigger.await.unwrap();
    assert!(report.interrupted(), "{report:?}");
    assert!(
        report
            .outcomes
            .iter()
            .all(|(_, o)| !matches!(o, StepOutcome::Failed(_))),
        "{report:?}"
    );
    let state = read(dir.path());
    assert!(
        state
            .step("endpoint")
            .is_some_and(|r| r.outputs.contains_key("id")),
        "created ids persisted before stopping"
    );

    cloud.make_all_ready();
    let mut cloud = cloud;
    cloud.ready_after = 0;
    let resumed = run(dir.path(), &cloud, None).await;
    assert!(resumed.succeeded(), "{resumed:?}");
    for kind in KINDS {
        assert_eq!(cloud.count(kind), 1, "{kind}");
    }
}

/// A step that records `{"id": …}`, then holds until `release` is notified (or fails after a
/// second), logging what it does.
struct Holding {
    id: plink::engine::StepId,
    deps: Vec<plink::engine::StepId>,
    early: Vec<plink::engine::StepId>,
    /// Notified by this step when it starts (`None`: notifies nothing).
    releases: Option<Arc<tokio::sync::Notify>>,
    /// What this step waits for after recording (`None`: finishes at once).
    held_by: Option<Arc<tokio::sync::Notify>>,
    log: Arc<std::sync::Mutex<Vec<String>>>,
}

#[async_trait::async_trait]
impl plink::engine::Step for Holding {
    fn id(&self) -> plink::engine::StepId {
        self.id
    }
    fn depends_on(&self) -> Vec<plink::engine::StepId> {
        self.deps.clone()
    }
    fn early_deps(&self) -> Vec<plink::engine::StepId> {
        self.early.clone()
    }
    fn describe(&self) -> String {
        self.id.into()
    }
    async fn apply(&self, cx: &plink::engine::StepContext) -> Result<(), plink::engine::StepError> {
        let say = |what: &str| self.log.lock().unwrap().push(format!("{} {what}", self.id));
        say("started");
        for d in &self.deps {
            let up: serde_json::Value = cx.output(d)?;
            assert!(up.get("id").is_some(), "{}: {d} recorded nothing", self.id);
        }
        if let Some(r) = &self.releases {
            r.notify_one();
        }
        cx.record(&serde_json::json!({ "id": self.id }))?;
        if let Some(gate) = &self.held_by {
            tokio::time::timeout(Duration::from_secs(1), gate.notified())
                .await
                .map_err(|_| plink::engine::StepError::terminal("never released"))?;
        }
        say("done");
        Ok(())
    }
}

/// Issue #13 item 2: a step whose dependency is `early` starts once that dependency recorded
/// its resource, while it still waits (the listener on a provisioning NLB); an ordinary
/// dependent still waits for the end.
#[tokio::test]
async fn an_early_dependent_starts_once_its_dependency_recorded_an_ordinary_one_at_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let gate = Arc::new(tokio::sync::Notify::new());
    let step = |id, deps: &[plink::engine::StepId], early: &[plink::engine::StepId]| Holding {
        id,
        deps: deps.to_vec(),
        early: early.to_vec(),
        releases: None,
        held_by: None,
        log: log.clone(),
    };
    let nlb = Holding {
        held_by: Some(gate.clone()),
        ..step("nlb", &[], &[])
    };
    // The NLB is released only by the listener: were the listener not started early, the NLB
    // would fail ("never released") and block everything after it.
    let listener = Holding {
        releases: Some(gate.clone()),
        ..step("listener", &["nlb"], &["nlb"])
    };
    let service = step("service", &["nlb", "listener"], &[]);
    let steps: Vec<Arc<dyn plink::engine::Step>> =
        vec![Arc::new(nlb), Arc::new(listener), Arc::new(service)];
    let report = Engine::new(steps)
        .unwrap()
        .run(open(dir.path(), None).unwrap())
        .await;
    assert!(report.succeeded(), "{report:?}");
    let log = log.lock().unwrap().clone();
    let at = |e: &str| {
        log.iter()
            .position(|l| l == e)
            .unwrap_or_else(|| panic!("{e}: {log:?}"))
    };
    assert!(at("listener started") < at("nlb done"), "{log:?}");
    assert!(at("nlb done") < at("service started"), "{log:?}");
}

/// An early dependency that fails before recording anything blocks its dependents, as an
/// ordinary one does.
#[tokio::test]
async fn an_early_dependency_failing_before_it_recorded_blocks_its_dependent() {
    struct Failing;
    #[async_trait::async_trait]
    impl plink::engine::Step for Failing {
        fn id(&self) -> plink::engine::StepId {
            "nlb"
        }
        fn depends_on(&self) -> Vec<plink::engine::StepId> {
            Vec::new()
        }
        fn describe(&self) -> String {
            "nlb".into()
        }
        async fn apply(
            &self,
            _: &plink::engine::StepContext,
        ) -> Result<(), plink::engine::StepError> {
            Err(plink::engine::StepError::terminal("no NLB today"))
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let listener = Holding {
        id: "listener",
        deps: vec!["nlb"],
        early: vec!["nlb"],
        releases: None,
        held_by: None,
        log: Arc::default(),
    };
    let steps: Vec<Arc<dyn plink::engine::Step>> = vec![Arc::new(Failing), Arc::new(listener)];
    let report = Engine::new(steps)
        .unwrap()
        .run(open(dir.path(), None).unwrap())
        .await;
    assert!(
        matches!(
            report.outcomes.iter().find(|(id, _)| *id == "listener"),
            Some((_, StepOutcome::Blocked { by: "nlb" }))
        ),
        "{report:?}"
    );
}
