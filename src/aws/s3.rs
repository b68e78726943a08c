//! S3 bucket policies (`s3-native`, issue #10): read, write back merged, delete when plink's
//! statement was the last one. plink never creates or deletes a bucket.

use super::AwsClients;
use super::error::{AwsError, Service, unless_not_found};

impl AwsClients {
    /// The region of `bucket` (`GetBucketLocation`: an empty constraint is `us-east-1`, `EU`
    /// is `eu-west-1`).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](super::ErrorKind::NotFound) (`NoSuchBucket`); any other
    /// [`AwsError`] of `GetBucketLocation`.
    pub async fn bucket_region(&self, bucket: &str) -> Result<String, AwsError> {
        let out = self
            .s3
            .get_bucket_location()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::S3, "GetBucketLocation", e))?;
        Ok(match out.location_constraint().map(|c| c.as_str()) {
            None | Some("") => "us-east-1".to_owned(),
            Some("EU") => "eu-west-1".to_owned(),
            Some(region) => region.to_owned(),
        })
    }

    /// The policy of `bucket` as stored (JSON text); `None` when it has none.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`](super::ErrorKind::NotFound) for a bucket that does not exist;
    /// any other [`AwsError`] of `GetBucketPolicy`.
    pub async fn bucket_policy(&self, bucket: &str) -> Result<Option<String>, AwsError> {
        let result = self
            .s3
            .get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::S3, "GetBucketPolicy", e));
        match result {
            Ok(out) => Ok(out.policy().map(str::to_owned)),
            // A bucket without a policy; a missing bucket is an error of its own.
            Err(e) if e.code.as_deref() == Some("NoSuchBucketPolicy") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replaces the policy of `bucket` with `policy` (the caller merged it).
    ///
    /// # Errors
    /// Any [`AwsError`] of `PutBucketPolicy` (`MalformedPolicy`, access denied, …).
    pub async fn put_bucket_policy(&self, bucket: &str, policy: &str) -> Result<(), AwsError> {
        self.s3
            .put_bucket_policy()
            .bucket(bucket)
            .policy(policy)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk(Service::S3, "PutBucketPolicy", e))
    }

    /// Removes the policy of `bucket`; success when it had none or the bucket is gone.
    ///
    /// # Errors
    /// Any other [`AwsError`] of `DeleteBucketPolicy`.
    pub async fn delete_bucket_policy(&self, bucket: &str) -> Result<(), AwsError> {
        unless_not_found(
            self.s3
                .delete_bucket_policy()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk(Service::S3, "DeleteBucketPolicy", e)),
        )
        .map(|_| ())
    }
}
