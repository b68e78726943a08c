//! The S3 buckets of an `s3-native` rule, checked before anything is created: each exists and is
//! in the deployment's region (an S3 rule reaches buckets of its NCC's region only, reference
//! §2 `resource_names`). Read-only: plink never creates or deletes a bucket.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::preflight::Finding;
use super::{Change, Cx, Found, Res, Resource, errors};
use crate::aws::ErrorKind;
use crate::engine::StepError;

/// The buckets of the workflow file (`s3.buckets`).
pub struct Buckets {
    pub names: Vec<String>,
    /// Where each is written in the workflow file (`file:line:column: key`), for errors.
    pub written_at: Vec<String>,
}

/// What the state keeps: the buckets checked, in the file's order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BucketsRecord {
    pub buckets: Vec<String>,
}

#[async_trait]
impl Resource for Buckets {
    type Inputs = ();
    type Live = BucketsRecord;
    type Record = BucketsRecord;
    type Fix = ();

    const NOUN: &'static str = "buckets";
    const FOUND_BY: &'static str = "(read only: plink never creates or deletes a bucket)";
    const TEARS_DOWN: bool = false;

    fn describe(&self) -> String {
        "check the S3 buckets (they exist, in the deployment's region)".into()
    }

    fn label(&self, live: &Self::Live) -> String {
        live.buckets.join(", ")
    }

    /// Every bucket, each its own finding (issue #16: all problems at once), unless a run
    /// checked them already.
    async fn preflight(&self, cx: &Cx<'_>, _: Option<&()>) -> Vec<Finding> {
        if cx.has_record() {
            return Vec::new();
        }
        let mut findings = Vec::new();
        for (i, bucket) in self.names.iter().enumerate() {
            let result = Self::check_one(cx, bucket, "").await;
            findings.extend(Finding::of(&format!("s3.buckets[{i}]"), bucket, &result));
        }
        findings
    }

    async fn find(&self, cx: &Cx<'_>, _: &()) -> Res<Found<Self::Live>> {
        Ok(Found::of(self.check(cx).await?, cx.has_record()))
    }

    fn create_detail(&self, _: &()) -> String {
        "the buckets".into()
    }

    async fn create(&self, _: &Cx<'_>, _: &()) -> Res<Option<Self::Live>> {
        Err(StepError::terminal("plink never creates a bucket"))
    }

    /// The file's list changed since the last run: the rule and the policies follow.
    async fn compare(&self, cx: &Cx<'_>, _: &(), live: &Self::Live) -> Res<Vec<Change<()>>> {
        let recorded: BucketsRecord = cx.recorded();
        Ok(if cx.has_record() && &recorded != live {
            vec![Change::new(
                format!(
                    "the bucket list changed from [{}] to [{}]; up updates the rule and the policies",
                    recorded.buckets.join(", "),
                    live.buckets.join(", ")
                ),
                "",
                (),
            )]
        } else {
            Vec::new()
        })
    }

    async fn record(&self, _: &Cx<'_>, _: &(), live: &Self::Live) -> Res<Self::Record> {
        Ok(live.clone())
    }

    async fn recover(&self, _: &Cx<'_>, _: Option<&()>) -> Res<Option<Self::Record>> {
        Ok(Some(BucketsRecord {
            buckets: self.names.clone(),
        }))
    }
}

impl Buckets {
    /// Checks every bucket: it exists (for this account) and is in the deployment's region.
    async fn check(&self, cx: &Cx<'_>) -> Res<BucketsRecord> {
        for (bucket, at) in self.names.iter().zip(&self.written_at) {
            Self::check_one(cx, bucket, &format!("{at}: ")).await?;
        }
        Ok(BucketsRecord {
            buckets: self.names.clone(),
        })
    }

    /// Checks `bucket`; its errors start with `at` (where the file names it, or nothing).
    async fn check_one(cx: &Cx<'_>, bucket: &str, at: &str) -> Res<()> {
        let region = cx.env.region();
        let found = match cx.env.aws.bucket_region(bucket).await {
            Ok(found) => found,
            Err(e) if e.kind == ErrorKind::NotFound => {
                return Err(StepError::needs_user(
                    format!("{at}bucket {bucket} does not exist"),
                    "check the bucket name in s3.buckets",
                ));
            }
            Err(e) => return Err(errors::aws(&format!("reading bucket {bucket}"), e)),
        };
        if found != region {
            return Err(StepError::needs_user(
                format!("{at}bucket {bucket} is in {found}, the deployment in {region}"),
                "an S3 rule reaches buckets of its NCC's region only: list buckets of aws.region, or deploy once more in the bucket's region",
            ));
        }
        Ok(())
    }
}
