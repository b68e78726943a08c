//! The state and its lock on S3, for teams and CI (issue #14): many machines, one state.
//!
//! Layout under `s3://<bucket>/<prefix>/<deployment>/`, like the local one:
//! - `state.json`: the current state. Every write is one conditional `PutObject`: `If-Match` the
//!   ETag this command read (or wrote last), `If-None-Match: *` for a new state. A writer whose
//!   copy is stale fails ([`StateError::Stale`]) and writes nothing: no lost update.
//! - `state.json.bak`: the version each write replaced, when the bucket keeps no object
//!   versions (with versioning, S3 keeps it).
//! - `state.json.lock`: the lock, an object created with `If-None-Match: *` holding [`LockInfo`],
//!   released by a delete conditional on its ETag. Unlike `flock`, a `kill -9` leaves it behind:
//!   the next command is refused with the holder and its age, and [`unlock`] with `force`
//!   removes exactly that lock (conditional on its ETag), never a newer one.
//!
//! - `state.json.moved`: in place of the state once `plink state migrate` moved it elsewhere.
//!
//! Every object is written with server-side encryption (SSE-S3, or SSE-KMS with the given key);
//! the state holds no secret anyway.

use std::path::PathBuf;

use super::codec::{parse_state, to_json};
use super::lock::UnlockOutcome;
use super::{LockInfo, Moved, StateError, StateFile};
use crate::aws::AwsClients;
use crate::aws::objects::{Encryption, Expect, Refused};
use crate::config::S3StateSettings;

/// Where the states of a team live: a bucket and a key prefix (`--state s3://bucket/prefix/`, or
/// `[state]` in the workflow file), and how to reach and encrypt them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// The key prefix, without leading or trailing `/` (may be empty).
    pub prefix: String,
    pub encryption: Encryption,
    /// The bucket's region (`state.region`); `None`: the workflow's region.
    pub region: Option<String>,
    /// A role to assume for the bucket (`state.role_arn`); `None`: the credentials as they are.
    pub role_arn: Option<String>,
}

impl S3Location {
    /// Reads `s3://bucket[/prefix[/]]` (SSE-S3, the workflow's region and credentials).
    ///
    /// # Errors
    /// What is wrong with `url`, in words.
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("`{url}` is not an s3:// URL (expected s3://bucket/prefix/)"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        crate::config::check_bucket_name(bucket)?;
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            encryption: Encryption::default(),
            region: None,
            role_arn: None,
        })
    }

    /// The location `[state]` with `backend = "s3"` describes (validated with the file).
    pub fn from_settings(s: &S3StateSettings) -> Self {
        Self {
            bucket: s.bucket.clone(),
            prefix: s.key.clone(),
            encryption: s
                .kms_key_id
                .clone()
                .map_or(Encryption::S3Managed, Encryption::Kms),
            region: s.region.as_ref().map(|r| r.as_str().to_owned()),
            role_arn: s.role_arn.clone(),
        }
    }

    /// The key of `deployment`'s `file` (`state.json`, `state.json.lock`, …).
    fn key(&self, deployment: &str, file: &str) -> String {
        if self.prefix.is_empty() {
            format!("{deployment}/{file}")
        } else {
            format!("{}/{deployment}/{file}", self.prefix)
        }
    }

    /// `s3://bucket/key` of `deployment`'s state: how messages name it.
    pub fn state_url(&self, deployment: &str) -> PathBuf {
        PathBuf::from(format!(
            "s3://{}/{}",
            self.bucket,
            self.key(deployment, STATE)
        ))
    }

    fn lock_url(&self, deployment: &str) -> PathBuf {
        PathBuf::from(format!(
            "s3://{}/{}",
            self.bucket,
            self.key(deployment, LOCK)
        ))
    }
}

const STATE: &str = "state.json";
const BACKUP: &str = "state.json.bak";
const LOCK: &str = "state.json.lock";
const MOVED: &str = "state.json.moved";

/// One deployment's state on S3, as this command last read or wrote it.
#[derive(Debug)]
pub struct RemoteState {
    aws: AwsClients,
    location: S3Location,
    deployment: String,
    /// The ETag of the state object this command last saw; `None`: there is none yet.
    etag: Option<String>,
    /// Whether the bucket keeps object versions (then no `.bak` object is needed); asked on the
    /// first write that replaces a state, so a read (`status`) makes one request.
    versioned: Option<bool>,
}

impl RemoteState {
    /// Reads `deployment`'s state at `location`; `None` when there is none yet.
    ///
    /// # Errors
    /// [`StateError::Remote`] when the bucket does not exist or refuses the credentials (the
    /// message says which); [`StateError::Unreadable`] or [`StateError::NewerSchema`] for an
    /// object that is not a state this plink reads.
    pub async fn load(
        aws: AwsClients,
        location: S3Location,
        deployment: &str,
    ) -> Result<(Self, Option<StateFile>), StateError> {
        let url = location.state_url(deployment);
        let remote = |action, source| StateError::Remote {
            path: url.clone(),
            action,
            source,
        };
        let key = location.key(deployment, STATE);
        let object = aws
            .get_object(&location.bucket, &key)
            .await
            .map_err(|e| remote("read the state", e))?;
        let (etag, state) = match object {
            None => (None, None),
            Some(o) => {
                let state = parse_state(&o.body, &url, None)?;
                (Some(o.etag), Some(state))
            }
        };
        let me = Self {
            aws,
            location,
            deployment: deployment.to_owned(),
            etag,
            versioned: None,
        };
        Ok((me, state))
    }

    /// Where the state is, as messages name it.
    pub fn url(&self) -> PathBuf {
        self.location.state_url(&self.deployment)
    }

    /// Replaces the state with `state` if it is still the one this command last read or wrote
    /// (one conditional `PutObject`), then, when the bucket keeps no versions, keeps `previous`
    /// (what that write replaced, the condition guarantees it) as `.bak`.
    ///
    /// # Errors
    /// [`StateError::Stale`] when another writer changed it meanwhile (nothing was written);
    /// [`StateError::Remote`] when S3 refused or failed.
    pub async fn write(
        &mut self,
        state: &StateFile,
        previous: Option<&StateFile>,
    ) -> Result<(), StateError> {
        let bucket = &self.location.bucket;
        let expect = match &self.etag {
            Some(etag) => Expect::Etag(etag.clone()),
            None => Expect::Absent,
        };
        let key = self.location.key(&self.deployment, STATE);
        let body = to_json(state);
        let sent = self
            .aws
            .put_object_if(bucket, &key, body, &expect, &self.location.encryption)
            .await;
        let etag = match sent {
            Ok(etag) => etag,
            Err(Refused::Precondition) => return Err(StateError::Stale { path: self.url() }),
            Err(Refused::Failed(e)) => return Err(self.remote("write the state", e)),
        };
        let replaced = self.etag.replace(etag).is_some();
        let Some(previous) = previous.filter(|_| replaced) else {
            return Ok(());
        };
        let versioned = match self.versioned {
            Some(v) => v,
            None => {
                let asked = self.aws.bucket_versioned(bucket).await;
                let v = asked.map_err(|e| self.remote("read the bucket's versioning", e))?;
                *self.versioned.insert(v)
            }
        };
        if !versioned {
            let key = self.location.key(&self.deployment, BACKUP);
            self.aws
                .put_object(bucket, &key, to_json(previous), &self.location.encryption)
                .await
                .map_err(|e| self.remote("keep the previous state as .bak", e))?;
        }
        Ok(())
    }
}

impl RemoteState {
    /// Where `plink state migrate` moved this state, if it did (read when there is no state).
    ///
    /// # Errors
    /// [`StateError::Remote`] when S3 refused or failed.
    pub async fn moved(&self) -> Result<Option<Moved>, StateError> {
        let key = self.location.key(&self.deployment, MOVED);
        let object = self
            .aws
            .get_object(&self.location.bucket, &key)
            .await
            .map_err(|e| self.remote("read where the state moved", e))?;
        Ok(object.and_then(|o| serde_json::from_slice(&o.body).ok()))
    }

    /// Says where the state went (`moved`), then deletes the state, if it is still the one this
    /// command read (`plink state migrate`, once the copy is written).
    ///
    /// # Errors
    /// [`StateError::Stale`] when it changed meanwhile (the marker stays: migrate again);
    /// [`StateError::Remote`] when S3 refused or failed.
    pub async fn retire(&mut self, moved: &Moved) -> Result<(), StateError> {
        let (bucket, moved_key) = (
            &self.location.bucket,
            self.location.key(&self.deployment, MOVED),
        );
        self.aws
            .put_object(
                bucket,
                &moved_key,
                to_json(moved),
                &self.location.encryption,
            )
            .await
            .map_err(|e| self.remote("say where the state moved", e))?;
        let Some(etag) = self.etag.take() else {
            return Ok(());
        };
        let key = self.location.key(&self.deployment, STATE);
        match self.aws.delete_object_if(bucket, &key, &etag).await {
            Ok(()) => Ok(()),
            Err(Refused::Precondition) => Err(StateError::Stale { path: self.url() }),
            Err(Refused::Failed(e)) => Err(self.remote("delete the moved state", e)),
        }
    }

    /// Removes the marker of a state moved away, once a state is written here again.
    ///
    /// # Errors
    /// [`StateError::Remote`] when S3 refused or failed.
    pub async fn clear_moved(&self) -> Result<(), StateError> {
        let key = self.location.key(&self.deployment, MOVED);
        self.aws
            .delete_object(&self.location.bucket, &key)
            .await
            .map_err(|e| self.remote("remove the marker of a moved state", e))
    }

    fn remote(&self, action: &'static str, source: crate::aws::AwsError) -> StateError {
        StateError::Remote {
            path: self.url(),
            action,
            source,
        }
    }
}

/// A lock held on S3: the lock object this command created, known by its ETag.
#[derive(Debug)]
pub struct RemoteLock {
    aws: AwsClients,
    bucket: String,
    key: String,
    url: PathBuf,
    etag: String,
}

impl RemoteLock {
    /// Creates `deployment`'s lock object at `location` for `operation`, if there is none.
    ///
    /// # Errors
    /// [`StateError::Locked`] with the holder's [`LockInfo`] when the lock exists (its `since`
    /// tells its age: a holder killed with `kill -9` leaves it); [`StateError::Remote`] when S3
    /// refused or failed (a missing bucket, refused credentials).
    pub async fn acquire(
        aws: &AwsClients,
        location: &S3Location,
        deployment: &str,
        operation: &str,
    ) -> Result<Self, StateError> {
        let url = location.lock_url(deployment);
        let key = location.key(deployment, LOCK);
        let info = LockInfo::current(operation);
        let put = aws
            .put_object_if(
                &location.bucket,
                &key,
                to_json(&info),
                &Expect::Absent,
                &location.encryption,
            )
            .await;
        match put {
            Ok(etag) => Ok(Self {
                aws: aws.clone(),
                bucket: location.bucket.clone(),
                key,
                url,
                etag,
            }),
            Err(Refused::Precondition) => {
                let holder = read_lock(aws, &location.bucket, &key, &url).await?;
                Err(StateError::Locked {
                    path: url,
                    info: holder.map(|(info, _)| info),
                })
            }
            Err(Refused::Failed(e)) => Err(StateError::Remote {
                path: url,
                action: "create the lock",
                source: e,
            }),
        }
    }

    /// Deletes the lock object, if it is still this command's.
    ///
    /// # Errors
    /// [`StateError::Remote`] when S3 failed; a lock already removed (`unlock --force`) or
    /// replaced is left alone and is not an error.
    pub async fn release(self) -> Result<(), StateError> {
        match self
            .aws
            .delete_object_if(&self.bucket, &self.key, &self.etag)
            .await
        {
            Ok(()) | Err(Refused::Precondition) => Ok(()),
            Err(Refused::Failed(e)) => Err(StateError::Remote {
                path: self.url,
                action: "release the lock",
                source: e,
            }),
        }
    }
}

/// `plink unlock` on S3: reports the lock of `deployment`, and with `force` deletes exactly the
/// lock it read (conditional on its ETag: a lock taken meanwhile by another command is kept).
///
/// # Guarantees
/// Without `force` nothing is deleted: S3 cannot tell whether the holder still runs.
///
/// # Errors
/// [`StateError::Remote`] when S3 refused or failed.
pub async fn unlock(
    aws: &AwsClients,
    location: &S3Location,
    deployment: &str,
    force: bool,
) -> Result<UnlockOutcome, StateError> {
    let url = location.lock_url(deployment);
    let key = location.key(deployment, LOCK);
    let Some((info, etag)) = read_lock(aws, &location.bucket, &key, &url).await? else {
        return Ok(UnlockOutcome::WasFree { stale_info: None });
    };
    if !force {
        return Ok(UnlockOutcome::HeldBy(Some(info)));
    }
    match aws.delete_object_if(&location.bucket, &key, &etag).await {
        Ok(()) => Ok(UnlockOutcome::Forced(Some(info))),
        // Released or replaced since it was read: not the lock that was reported.
        Err(Refused::Precondition) => Ok(UnlockOutcome::WasFree { stale_info: None }),
        Err(Refused::Failed(e)) => Err(StateError::Remote {
            path: url,
            action: "remove the lock",
            source: e,
        }),
    }
}

/// The lock object's holder and ETag; `None` when there is no lock.
async fn read_lock(
    aws: &AwsClients,
    bucket: &str,
    key: &str,
    url: &std::path::Path,
) -> Result<Option<(LockInfo, String)>, StateError> {
    let object = aws
        .get_object(bucket, key)
        .await
        .map_err(|e| StateError::Remote {
            path: url.to_owned(),
            action: "read the lock",
            source: e,
        })?;
    Ok(object.map(|o| {
        let info = serde_json::from_slice(&o.body).unwrap_or_else(|_| LockInfo::unknown());
        (info, o.etag)
    }))
}
