//! States on the stack's S3 (`--state s3://bucket/prefix/`, issue #14): the bucket, created on the
//! stack like a team creates theirs, the URL plink is given, and the objects plink keeps under it
//! (`<prefix>/<deployment>/state.json` and its `.lock`), read back through the emulator.
//!
//! ```text
//! let s3 = stack.state_bucket("plink-team-states", "team");
//! let wd = Workdir::demo().on_s3(s3.clone());     // `.workflow()` now adds `--state s3://…`
//! stack.plink(&wd).arg("up").workflow().code(0).run();
//! assert!(s3.json(&s3.lock_key("demo-s3")).is_none());
//! ```

use std::fmt;
use std::panic::AssertUnwindSafe;

use plink::aws::AwsClients;
use serde_json::Value;

use super::stack::{Call, Stack, block_on};

/// A key prefix of a bucket on one stack's S3, where plink keeps deployments' states.
pub struct S3State {
    pub bucket: String,
    /// Without leading or trailing `/`.
    pub prefix: String,
    /// Only reads objects: a panic elsewhere cannot leave it half-changed, so a [`Workdir`]
    /// holding it may still cross `catch_unwind` (the suites catch harness assertions).
    ///
    /// [`Workdir`]: super::Workdir
    aws: AssertUnwindSafe<AwsClients>,
    rt: tokio::runtime::Handle,
}

impl Clone for S3State {
    fn clone(&self) -> Self {
        Self {
            bucket: self.bucket.clone(),
            prefix: self.prefix.clone(),
            aws: AssertUnwindSafe(self.aws.0.clone()),
            rt: self.rt.clone(),
        }
    }
}

impl fmt::Debug for S3State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url())
    }
}

impl Stack {
    /// Creates `bucket` on this stack's S3 and returns `prefix` in it as the place of plink's
    /// states. A [`Stack::reset`] deletes the bucket: create it again after one.
    pub fn state_bucket(&self, bucket: &str, prefix: &str) -> S3State {
        let aws = self.block_on(async {
            let aws = self.clients().await;
            aws.s3
                .create_bucket()
                .bucket(bucket)
                .send()
                .await
                .unwrap_or_else(|e| panic!("create the state bucket {bucket}: {e:?}"));
            aws
        });
        S3State {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            aws: AssertUnwindSafe(aws),
            rt: self.runtime(),
        }
    }
}

impl S3State {
    /// `s3://bucket/prefix/`: what `--state` is given.
    pub fn url(&self) -> String {
        format!("s3://{}/{}/", self.bucket, self.prefix)
    }

    /// The key of `deployment`'s state.
    pub fn state_key(&self, deployment: &str) -> String {
        format!("{}/{deployment}/state.json", self.prefix)
    }

    /// The key of `deployment`'s lock, next to its state.
    pub fn lock_key(&self, deployment: &str) -> String {
        format!("{}.lock", self.state_key(deployment))
    }

    /// `s3://bucket/key`, as plink's messages name an object.
    pub fn object_url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// The object at `key` (a GetObject on the emulator); `Ok(None)` when there is none.
    pub fn read(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        block_on(&self.rt, self.aws.get_object(&self.bucket, key))
            .map(|o| o.map(|o| o.body))
            .map_err(|e| format!("GetObject {}: {e}", self.object_url(key)))
    }

    /// The object at `key` as JSON; `None` when there is none. Panics if it cannot be read or is
    /// not JSON.
    pub fn json(&self, key: &str) -> Option<Value> {
        self.read(key)
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|body| {
                serde_json::from_slice(&body)
                    .unwrap_or_else(|e| panic!("{} is not JSON: {e}", self.object_url(key)))
            })
    }

    /// Whether `call` (of the AWS call log) acted on this bucket: plink's own bookkeeping (the
    /// lock's create and delete, the state's writes), not a change to the deployment. plink's
    /// S3 client addresses objects path-style on a custom endpoint (`/bucket/key`).
    pub fn touches(&self, call: &Call) -> bool {
        call.service == "s3"
            && (call.path == format!("/{}", self.bucket)
                || call.path.starts_with(&format!("/{}/", self.bucket)))
    }
}
