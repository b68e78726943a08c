//! The state and its lock on S3 (`plink::state::remote`, issue #14) against the local stack's S3:
//! conditional writes that refuse a stale writer, a lock that refuses a second holder with its
//! details, `unlock --force` that removes exactly the lock it read, the previous version kept,
//! encryption at rest, and a missing bucket reported as such.

mod common;

use common::Stack;
use plink::aws::AwsClients;
use plink::aws::objects::Encryption;
use plink::state::remote::{RemoteLock, RemoteState, S3Location, unlock};
use plink::state::{StateError, StateFile, UnlockOutcome};

/// A bucket of its own for one test, and the location of states under `team/`.
async fn bucket(aws: &AwsClients, name: &str) -> S3Location {
    aws.s3
        .create_bucket()
        .bucket(name)
        .send()
        .await
        .expect("create the test bucket");
    S3Location::parse(&format!("s3://{name}/team/")).expect("location")
}

fn state(deployment: &str, serial: u64) -> StateFile {
    let mut s = StateFile::new(deployment, "s3-privatelink");
    s.serial = serial;
    s
}

#[tokio::test]
async fn a_write_from_a_stale_copy_fails_and_changes_nothing() {
    let stack = Stack::start();
    let aws = stack.clients().await;
    let at = bucket(&aws, "plink-state-stale").await;

    let (mut a, none) = RemoteState::load(aws.clone(), at.clone(), "d")
        .await
        .unwrap();
    assert!(none.is_none());
    a.write(&state("d", 1), None).await.expect("first write");
    let (mut b, seen) = RemoteState::load(aws.clone(), at.clone(), "d")
        .await
        .unwrap();
    assert_eq!(seen.map(|s| s.serial), Some(1));
    a.write(&state("d", 2), None).await.expect("a writes on");

    let err = b.write(&state("d", 99), None).await.unwrap_err();
    assert!(matches!(err, StateError::Stale { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("s3://plink-state-stale/team/d/state.json: the state changed"),
        "{err}"
    );
    let (_, now) = RemoteState::load(aws.clone(), at, "d").await.unwrap();
    assert_eq!(
        now.map(|s| s.serial),
        Some(2),
        "the stale write changed nothing"
    );
}

#[tokio::test]
async fn two_writers_of_a_new_state_create_it_once() {
    let stack = Stack::start();
    let aws = stack.clients().await;
    let at = bucket(&aws, "plink-state-new").await;
    let (mut a, _) = RemoteState::load(aws.clone(), at.clone(), "d")
        .await
        .unwrap();
    let (mut b, _) = RemoteState::load(aws.clone(), at.clone(), "d")
        .await
        .unwrap();
    a.write(&state("d", 1), None)
        .await
        .expect("the first creates it");
    let err = b.write(&state("d", 1), None).await.unwrap_err();
    assert!(matches!(err, StateError::Stale { .. }), "{err}");
}

#[tokio::test]
async fn the_lock_refuses_a_second_holder_and_force_unlock_removes_exactly_the_lock_it_read() {
    let stack = Stack::start();
    let aws = stack.clients().await;
    let at = bucket(&aws, "plink-state-lock").await;

    let first = RemoteLock::acquire(&aws, &at, "d", "up")
        .await
        .expect("free");
    let err = RemoteLock::acquire(&aws, &at, "d", "down")
        .await
        .unwrap_err();
    let StateError::Locked {
        info: Some(info), ..
    } = &err
    else {
        panic!("expected Locked with the holder, got {err:?}")
    };
    assert_eq!(
        (info.operation.as_str(), info.pid),
        ("up", std::process::id())
    );
    assert!(
        err.to_string()
            .contains("s3://plink-state-lock/team/d/state.json.lock: locked by `plink up`"),
        "{err}"
    );

    // Without force, nothing is removed: S3 cannot tell whether the holder still runs.
    let held = unlock(&aws, &at, "d", false).await.unwrap();
    assert!(matches!(held, UnlockOutcome::HeldBy(Some(_))), "{held:?}");
    assert!(RemoteLock::acquire(&aws, &at, "d", "up").await.is_err());

    // `kill -9`: the holder never releases. Force removes that lock...
    let forced = unlock(&aws, &at, "d", true).await.unwrap();
    assert!(
        matches!(forced, UnlockOutcome::Forced(Some(_))),
        "{forced:?}"
    );
    // ... a new command takes the lock, and the old holder's late release leaves it alone.
    let second = RemoteLock::acquire(&aws, &at, "d", "up")
        .await
        .expect("free again");
    first
        .release()
        .await
        .expect("a release of a removed lock is no error");
    assert!(
        RemoteLock::acquire(&aws, &at, "d", "up").await.is_err(),
        "the newer lock survived the old holder's release"
    );
    second.release().await.unwrap();
    assert!(matches!(
        unlock(&aws, &at, "d", false).await.unwrap(),
        UnlockOutcome::WasFree { .. }
    ));
}

#[tokio::test]
async fn the_previous_state_is_kept_and_every_object_is_encrypted() {
    let stack = Stack::start();
    let aws = stack.clients().await;
    let at = bucket(&aws, "plink-state-bak").await;
    let (mut store, _) = RemoteState::load(aws.clone(), at.clone(), "d")
        .await
        .unwrap();
    store.write(&state("d", 1), None).await.unwrap();
    store
        .write(&state("d", 2), Some(&state("d", 1)))
        .await
        .unwrap();
    let backup = aws
        .get_object("plink-state-bak", "team/d/state.json.bak")
        .await
        .unwrap()
        .expect("a .bak object without bucket versioning");
    let kept: StateFile = serde_json::from_slice(&backup.body).unwrap();
    assert_eq!(kept.serial, 1);
    for key in ["team/d/state.json", "team/d/state.json.bak"] {
        let head = aws
            .s3
            .head_object()
            .bucket("plink-state-bak")
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.server_side_encryption().map(|e| e.as_str()),
            Some("AES256"),
            "{key}"
        );
    }
    let kms = S3Location {
        encryption: Encryption::Kms("alias/plink-state".into()),
        ..at
    };
    let _lock = RemoteLock::acquire(&aws, &kms, "e", "up").await.unwrap();
    let head = aws
        .s3
        .head_object()
        .bucket("plink-state-bak")
        .key("team/e/state.json.lock")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption().map(|e| e.as_str()),
        Some("aws:kms")
    );
}

#[tokio::test]
async fn a_missing_bucket_is_reported_with_its_url_before_anything_is_written() {
    let stack = Stack::start();
    let aws = stack.clients().await;
    let at = S3Location::parse("s3://plink-no-such-bucket/team").unwrap();
    let err = RemoteState::load(aws.clone(), at.clone(), "d")
        .await
        .unwrap_err();
    assert!(
        matches!(err, StateError::Remote { .. })
            && err
                .to_string()
                .starts_with("s3://plink-no-such-bucket/team/d/state.json: cannot"),
        "{err}"
    );
    assert!(RemoteLock::acquire(&aws, &at, "d", "up").await.is_err());
}

#[test]
fn s3_urls_are_read_strictly() {
    let at = S3Location::parse("s3://team-states/plink/prod/").unwrap();
    assert_eq!(
        (at.bucket.as_str(), at.prefix.as_str()),
        ("team-states", "plink/prod")
    );
    assert_eq!(
        at.state_url("d").display().to_string(),
        "s3://team-states/plink/prod/d/state.json"
    );
    let bare = S3Location::parse("s3://team-states").unwrap();
    assert_eq!(
        bare.state_url("d").display().to_string(),
        "s3://team-states/d/state.json"
    );
    for bad in ["team-states/x", "s3://", "s3://Team_States/x", "s3://ab/"] {
        assert!(S3Location::parse(bad).is_err(), "{bad}");
    }
}
