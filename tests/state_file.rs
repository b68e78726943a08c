//! The state file: atomic writes, backups, permissions, and refusing what it cannot read.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use plink::state::{
    Intent, StateError, StateFile, StatePaths, StateStore, StepStatus, UnlockOutcome, read_moved,
    read_state, unlock,
};

fn paths(dir: &Path) -> StatePaths {
    StatePaths::for_deployment(dir, "demo")
}

fn write_some_state(dir: &Path, writes: usize) {
    let store = StateStore::open(paths(dir), "demo", "test", "up").unwrap();
    for i in 0..writes {
        store
            .update(|s| s.step_mut("endpoint").outputs.insert("n".into(), i.into()))
            .unwrap();
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn files_are_private_and_a_backup_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    write_some_state(dir.path(), 3);
    let p = paths(dir.path());
    assert_eq!(mode(&p.state), 0o600);
    assert_eq!(mode(&p.backup()), 0o600);
    assert_eq!(mode(&p.lock()), 0o600);
    assert_eq!(mode(p.dir()), 0o700);
    let current = read_state(&p).unwrap().unwrap();
    assert_eq!(current.serial, 3);
    assert_eq!(current.steps["endpoint"].outputs["n"], 2);
    let backup: plink::state::StateFile =
        serde_json::from_slice(&std::fs::read(p.backup()).unwrap()).unwrap();
    assert_eq!(backup.serial, 2, "the backup is the previous version");
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(p.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn lineage_is_kept_and_serial_grows() {
    let dir = tempfile::tempdir().unwrap();
    write_some_state(dir.path(), 1);
    let first = read_state(&paths(dir.path())).unwrap().unwrap();
    write_some_state(dir.path(), 2);
    let second = read_state(&paths(dir.path())).unwrap().unwrap();
    assert_eq!(first.lineage, second.lineage);
    assert_eq!(second.serial, first.serial + 2);
}

#[test]
fn intent_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::open(paths(dir.path()), "demo", "test", "up").unwrap();
    let intent = Intent::new("create_vpc_endpoint")
        .token("plink-abc")
        .key("vpc", "vpc-1");
    store
        .update(|s| {
            let r = s.step_mut("endpoint");
            r.intent = Some(intent.clone());
            r.status = StepStatus::Running;
        })
        .unwrap();
    drop(store);
    let state = read_state(&paths(dir.path())).unwrap().unwrap();
    assert_eq!(state.steps["endpoint"].intent.as_ref(), Some(&intent));
}

fn assert_refused_and_untouched(dir: &Path, content: &[u8], expect: &str) {
    let p = paths(dir);
    std::fs::create_dir_all(p.dir()).unwrap();
    std::fs::write(&p.state, content).unwrap();
    let err = StateStore::open(p.clone(), "demo", "test", "up").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(expect), "{msg}");
    assert!(
        msg.contains(&p.state.display().to_string()),
        "names the file: {msg}"
    );
    assert_eq!(
        std::fs::read(&p.state).unwrap(),
        content,
        "the file must not be overwritten"
    );
}

#[test]
fn truncated_state_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    write_some_state(dir.path(), 2);
    let full = std::fs::read(paths(dir.path()).state).unwrap();
    assert_refused_and_untouched(dir.path(), &full[..full.len() / 2], "truncated");
    // The message points at the backup, which exists.
    let err = read_state(&paths(dir.path())).unwrap_err();
    assert!(err.to_string().contains("state.json.bak"), "{err}");
}

#[test]
fn empty_and_corrupt_state_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert_refused_and_untouched(dir.path(), b"", "truncated or empty");
    assert_refused_and_untouched(
        dir.path(),
        b"{\"schema_version\": 1, oops}",
        "not valid JSON",
    );
    assert_refused_and_untouched(
        dir.path(),
        b"{\"schema_version\": 1}",
        "not a plink state file",
    );
}

#[test]
fn state_from_a_newer_plink_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let content = br#"{"schema_version": 7, "whatever": true}"#;
    assert_refused_and_untouched(dir.path(), content, "newer plink (state schema 7");
    assert!(matches!(
        read_state(&paths(dir.path())),
        Err(StateError::NewerSchema { found: 7, .. })
    ));
}

#[test]
fn state_of_another_deployment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_some_state(dir.path(), 1);
    let err = StateStore::open(paths(dir.path()), "other", "test", "up").unwrap_err();
    assert!(matches!(err, StateError::WrongDeployment { .. }), "{err}");
}

#[test]
fn unlock_reports_a_live_holder_and_force_breaks_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let holder = StateStore::open(p.clone(), "demo", "test", "down").unwrap();
    match unlock(&p.lock(), false).unwrap() {
        UnlockOutcome::HeldBy(Some(info)) => assert_eq!(info.operation, "down"),
        other => panic!("expected HeldBy, got {other:?}"),
    }
    assert!(matches!(
        unlock(&p.lock(), true).unwrap(),
        UnlockOutcome::Forced(Some(_))
    ));
    drop(holder);
    assert!(matches!(
        unlock(&p.lock(), false).unwrap(),
        UnlockOutcome::WasFree { .. }
    ));
}

/// A state file written by plink 0.1.0 (before resources and workflow kinds) after a full `up`
/// of the demo workflow.
const OLD_STATE: &str = include_str!("fixtures/state-v0.1.0-s3-privatelink-up.json");

/// Reads `node`'s outputs as `T` and writes them back: nothing may be lost or renamed.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(state: &StateFile, node: &str) {
    let outputs = serde_json::Value::Object(state.steps[node].outputs.clone());
    let record: T = serde_json::from_value(outputs.clone())
        .unwrap_or_else(|e| panic!("{node}: the record does not read: {e}"));
    assert_eq!(
        serde_json::to_value(&record).unwrap(),
        outputs,
        "{node}: the record changes when read and written again"
    );
}

#[test]
fn state_files_of_plink_0_1_0_read_into_every_record_unchanged() {
    use plink::resources::{
        acceptance, binding, endpoint, endpoint_service, listener, load_balancer, ncc, network,
        rule, security_group, target_group, targets,
    };
    let state: StateFile = serde_json::from_str(OLD_STATE).unwrap();
    assert_eq!(state.workflow, "s3-privatelink");
    round_trip::<network::NetworkRecord>(&state, "network");
    round_trip::<security_group::SecurityGroupRecord>(&state, "security_group");
    round_trip::<endpoint::EndpointRecord>(&state, "endpoint");
    round_trip::<load_balancer::LoadBalancerRecord>(&state, "load_balancer");
    round_trip::<target_group::TargetGroupRecord>(&state, "target_group");
    round_trip::<targets::TargetsRecord>(&state, "targets");
    round_trip::<listener::ListenerRecord>(&state, "listener");
    round_trip::<endpoint_service::EndpointServiceRecord>(&state, "endpoint_service");
    round_trip::<ncc::NccRecord>(&state, "ncc");
    round_trip::<rule::RuleRecord>(&state, "rule");
    round_trip::<acceptance::AcceptanceRecord>(&state, "accept");
    round_trip::<rule::EstablishedRecord>(&state, "established");
    round_trip::<binding::BindingRecord>(&state, "bind");
    // Every step of the old state is a node of today's graph.
    let workflow = plink::workflow::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/s3-privatelink.toml"),
    )
    .unwrap();
    let order = workflow.graph.display_order();
    for step in state.steps.keys() {
        assert!(
            order.contains(&step.as_str()),
            "{step} is no node of the graph"
        );
    }
    assert_eq!(order.len(), state.steps.len());
}

/// `plink state migrate` between two files: the copy is the state as it was, the old place
/// says where it went, and a migrate that died between its two steps is ended by running it again.
#[test]
fn a_moved_state_leaves_a_marker_and_a_half_done_move_is_finished_by_moving_again() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_some_state(a.path(), 3);
    let (from, to) = (paths(a.path()), paths(b.path()));
    let source = StateStore::open(from.clone(), "demo", "test", "state migrate").unwrap();
    let state = source.snapshot();
    let target = StateStore::open(to.clone(), "demo", "test", "state migrate").unwrap();
    assert!(target.import(&state).unwrap(), "written");
    // Died here, after the marker, before the old state was removed: both are on disk.
    let marker = plink::state::Moved::new(&state, "/elsewhere");
    std::fs::write(from.moved(), serde_json::to_vec(&marker).unwrap()).unwrap();
    assert!(
        !target.import(&state).unwrap(),
        "the same state: nothing written"
    );
    source.retire(&to.state.display().to_string()).unwrap();
    assert!(!from.state.exists());
    let moved = read_moved(&from).unwrap().expect("the marker");
    assert_eq!(moved.moved_to, to.state.display().to_string());
    assert_eq!(
        (moved.lineage.as_str(), moved.serial),
        (state.lineage.as_str(), 3)
    );
    assert_eq!(read_state(&to).unwrap(), Some(state.clone()));
    assert_eq!(mode(&from.moved()), 0o600);
    drop((source, target));

    // Moving back clears the marker where the state lands.
    let back = StateStore::open(from.clone(), "demo", "test", "state migrate").unwrap();
    assert!(back.import(&state).unwrap());
    assert!(
        !from.moved().exists(),
        "the marker is gone once the state is back"
    );
    assert_eq!(read_state(&from).unwrap(), Some(state));
}

#[test]
fn a_copy_never_replaces_another_history_or_a_newer_state() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_some_state(a.path(), 2);
    write_some_state(b.path(), 1);
    let older = read_state(&paths(a.path())).unwrap().unwrap();
    let other = read_state(&paths(b.path())).unwrap().unwrap();
    let here = StateStore::open(paths(a.path()), "demo", "test", "state push").unwrap();
    let e = here.import(&other).unwrap_err();
    assert!(matches!(e, StateError::OtherLineage { .. }), "{e}");
    let mut stale = older.clone();
    stale.serial = 1;
    let e = here.import(&stale).unwrap_err();
    assert!(
        matches!(
            e,
            StateError::Newer {
                found: 2,
                incoming: 1,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        read_state(&paths(a.path())).unwrap(),
        Some(older),
        "untouched"
    );
}
