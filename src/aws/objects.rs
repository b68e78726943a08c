//! S3 objects written only on a condition (issue #14: the state and its lock on S3): a read gives
//! the object's ETag, a write names the ETag it replaces (`If-Match`) or that there is none
//! (`If-None-Match: *`), a delete names the ETag it removes. S3 evaluates the condition and the
//! write atomically (conditional writes, since 2024), so two writers never both succeed.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, ServerSideEncryption};

use super::AwsClients;
use super::error::{AwsError, ErrorKind, Service};

/// An object as read: its body and its ETag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub body: Vec<u8>,
    pub etag: String,
}

/// What a conditional write replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// No object may exist (`If-None-Match: *`).
    Absent,
    /// The object with this ETag (`If-Match`).
    Etag(String),
}

/// How objects are encrypted at rest: SSE-S3, or SSE-KMS with a key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Encryption {
    #[default]
    S3Managed,
    Kms(String),
}

/// Why a conditional write or delete did not happen.
#[derive(Debug)]
pub enum Refused {
    /// The condition did not hold: another writer changed the object (or it exists / is gone).
    Precondition,
    /// The call failed.
    Failed(AwsError),
}

impl AwsClients {
    /// The object at `bucket`/`key`; `None` when there is none.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when the bucket does not exist; any other [`AwsError`] of
    /// `GetObject`.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<Object>, AwsError> {
        let sent = self.s3.get_object().bucket(bucket).key(key).send().await;
        let out = match sent.map_err(|e| AwsError::from_sdk(Service::S3, "GetObject", e)) {
            Ok(out) => out,
            Err(e) if e.code.as_deref() == Some("NoSuchKey") => return Ok(None),
            Err(e) => return Err(e),
        };
        let etag = out.e_tag().unwrap_or_default().to_owned();
        let body = out.body.collect().await.map_err(|e| {
            AwsError::local(
                Service::S3,
                "GetObject",
                ErrorKind::Transport,
                &format!("reading s3://{bucket}/{key}: {e}"),
            )
        })?;
        Ok(Some(Object {
            body: body.into_bytes().to_vec(),
            etag,
        }))
    }

    /// Writes `body` at `bucket`/`key` if `expect` holds, encrypted as `encryption` says;
    /// returns the new ETag.
    ///
    /// # Errors
    /// [`Refused::Precondition`] when `expect` does not hold (HTTP 412, or 409 for a concurrent
    /// conditional write); [`Refused::Failed`] otherwise.
    pub async fn put_object_if(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        expect: &Expect,
        encryption: &Encryption,
    ) -> Result<String, Refused> {
        let mut req = self.put_request(bucket, key, body, encryption);
        req = match expect {
            Expect::Absent => req.if_none_match("*"),
            Expect::Etag(etag) => req.if_match(etag),
        };
        let out = req
            .send()
            .await
            .map_err(|e| refused(AwsError::from_sdk(Service::S3, "PutObject", e)))?;
        Ok(out.e_tag().unwrap_or_default().to_owned())
    }

    /// Writes `body` at `bucket`/`key` whatever is there (a backup copy), encrypted.
    ///
    /// # Errors
    /// Any [`AwsError`] of `PutObject`.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        encryption: &Encryption,
    ) -> Result<(), AwsError> {
        self.put_request(bucket, key, body, encryption)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk(Service::S3, "PutObject", e))
    }

    /// A `PutObject` of `body` at `bucket`/`key`, encrypted as `encryption` says.
    fn put_request(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        encryption: &Encryption,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        let req = self
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        match encryption {
            Encryption::S3Managed => req.server_side_encryption(ServerSideEncryption::Aes256),
            Encryption::Kms(key_id) => req
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(key_id),
        }
    }

    /// Deletes the object at `bucket`/`key` if its ETag is still `etag` (`If-Match`).
    ///
    /// # Errors
    /// [`Refused::Precondition`] when the object changed or is gone; [`Refused::Failed`]
    /// otherwise.
    pub async fn delete_object_if(
        &self,
        bucket: &str,
        key: &str,
        etag: &str,
    ) -> Result<(), Refused> {
        self.delete_request(bucket, key)
            .if_match(etag)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| refused(AwsError::from_sdk(Service::S3, "DeleteObject", e)))
    }

    /// Deletes the object at `bucket`/`key`, if there is one (S3 answers a missing key with
    /// success).
    ///
    /// # Errors
    /// Any [`AwsError`] of `DeleteObject`.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), AwsError> {
        self.delete_request(bucket, key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk(Service::S3, "DeleteObject", e))
    }

    fn delete_request(
        &self,
        bucket: &str,
        key: &str,
    ) -> aws_sdk_s3::operation::delete_object::builders::DeleteObjectFluentBuilder {
        self.s3.delete_object().bucket(bucket).key(key)
    }

    /// Whether `bucket` keeps object versions (then an overwritten state stays readable).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when the bucket does not exist; any other [`AwsError`] of
    /// `GetBucketVersioning`.
    pub async fn bucket_versioned(&self, bucket: &str) -> Result<bool, AwsError> {
        let out = self
            .s3
            .get_bucket_versioning()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(Service::S3, "GetBucketVersioning", e))?;
        Ok(out.status() == Some(&BucketVersioningStatus::Enabled))
    }
}

/// A failed conditional call: a precondition (412; 409 `ConditionalRequestConflict` when another
/// conditional write of the same key is in flight) or anything else.
fn refused(e: AwsError) -> Refused {
    if matches!(
        e.code.as_deref(),
        Some("PreconditionFailed" | "ConditionalRequestConflict")
    ) {
        Refused::Precondition
    } else {
        Refused::Failed(e)
    }
}
