//! S3 as the workflow's [`ObjectStore`]: read the request exactly as uploaded, write and
//! remove the workflow's own objects. A thin adapter: the rules (the purge, writing an object
//! in pieces) are in `purge.rs` and `pieces.rs`, over the trait.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier,
    ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode,
};
use aws_sdk_s3::Client;

use super::errors::from_sdk;
use crate::error::ErasureError;
use crate::ports::{Lock, ObjectStore, Opened, Refused, VersionRef};

/// An S3 client as the workflow's object store.
#[derive(Clone)]
pub struct S3Store {
    client: Client,
}

impl S3Store {
    /// Wraps a client (built once, in main).
    pub fn new(client: Client) -> Self {
        S3Store { client }
    }
}

fn version(v: Option<&str>) -> Option<String> {
    v.filter(|v| !v.is_empty() && *v != "null")
        .map(str::to_string)
}

fn until(lock: &Lock) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from(lock.until)
}

impl ObjectStore for S3Store {
    async fn open_request(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        etag: &str,
    ) -> Result<Opened, ErasureError> {
        let req = self.client.get_object().bucket(bucket).key(key);
        let req = match version_id {
            Some(v) => req.version_id(v),
            None => req.if_match(format!("\"{}\"", etag.trim_matches('"'))),
        };
        let out = req
            .send()
            .await
            .map_err(|e| match from_sdk("GetObject", &e, true) {
                ErasureError::NotFound(m) => ErasureError::NotFound(format!(
                    "the request object is gone or was replaced since upload ({m})"
                )),
                other => other,
            })?;
        let size = out.content_length().unwrap_or(0).max(0) as u64;
        let etag = out.e_tag().unwrap_or(etag).trim_matches('"').to_string();
        let body = futures::stream::unfold(out.body, |mut body| async move {
            let chunk =
                body.next().await?.map(|b| b.to_vec()).map_err(|_| {
                    ErasureError::Transient("the request body could not be read".into())
                });
            Some((chunk, body))
        });
        Ok(Opened {
            body: Box::pin(body),
            size,
            etag,
        })
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, ErasureError> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| from_sdk("GetObject", &e, true))?;
        let data =
            out.body.collect().await.map_err(|_| {
                ErasureError::Transient("GetObject: the body could not be read".into())
            })?;
        Ok(data.into_bytes().to_vec())
    }

    async fn get_tagged(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<(Vec<u8>, String)>, ErasureError> {
        let out = match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                return match from_sdk("GetObject", &e, true) {
                    ErasureError::NotFound(_) => Ok(None),
                    other => Err(other),
                }
            }
        };
        let etag = out
            .e_tag()
            .unwrap_or_default()
            .trim_matches('"')
            .to_string();
        let data =
            out.body.collect().await.map_err(|_| {
                ErasureError::Transient("GetObject: the body could not be read".into())
            })?;
        Ok(Some((data.into_bytes().to_vec(), etag)))
    }

    async fn put_if(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        expected: Option<&str>,
    ) -> Result<bool, ErasureError> {
        let req = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        let req = match expected {
            None => req.if_none_match("*"),
            Some(etag) => req.if_match(format!("\"{}\"", etag.trim_matches('"'))),
        };
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                use aws_sdk_s3::error::ProvideErrorMetadata;
                let code = e.as_service_error().and_then(|se| se.code());
                let status = e.raw_response().map(|r| r.status().as_u16());
                if matches!(
                    code,
                    Some("PreconditionFailed" | "ConditionalRequestConflict")
                ) || matches!(status, Some(412 | 409))
                {
                    Ok(false)
                } else {
                    Err(from_sdk("PutObject", &e, true))
                }
            }
        }
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
        lock: Option<Lock>,
    ) -> Result<(), ErasureError> {
        let mut req = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body));
        if let Some(lock) = lock {
            req = req
                .object_lock_mode(ObjectLockMode::from(lock.mode.as_str()))
                .object_lock_retain_until_date(until(&lock))
                // Object Lock needs an integrity checksum on the request.
                .checksum_algorithm(ChecksumAlgorithm::Sha256);
        }
        req.send()
            .await
            .map(|_| ())
            .map_err(|e| from_sdk("PutObject", &e, true))
    }

    async fn lock(&self, bucket: &str, key: &str, lock: Lock) -> Result<(), ErasureError> {
        let retention = ObjectLockRetention::builder()
            .mode(ObjectLockRetentionMode::from(lock.mode.as_str()))
            .retain_until_date(until(&lock))
            .build();
        self.client
            .put_object_retention()
            .bucket(bucket)
            .key(key)
            .retention(retention)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| from_sdk("PutObjectRetention", &e, true))
    }

    async fn delete_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<(), ErasureError> {
        self.client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version(version_id))
            .send()
            .await
            .map(|_| ())
            .or_else(|e| match from_sdk("DeleteObject", &e, true) {
                ErasureError::NotFound(_) => Ok(()),
                other => Err(other),
            })
    }

    async fn list_versions(
        &self,
        bucket: &str,
        prefix: &str,
        max: usize,
    ) -> Result<Vec<VersionRef>, ErasureError> {
        let page = self
            .client
            .list_object_versions()
            .bucket(bucket)
            .prefix(prefix)
            .max_keys(max.min(i32::MAX as usize) as i32)
            .send()
            .await
            .map_err(|e| from_sdk("ListObjectVersions", &e, true))?;
        let versions = page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                page.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            )
            .filter_map(|(key, v)| {
                key.map(|key| VersionRef {
                    key: key.to_string(),
                    version_id: version(v),
                })
            })
            .take(max)
            .collect();
        Ok(versions)
    }

    async fn list_keys(
        &self,
        bucket: &str,
        prefix: &str,
        max: usize,
    ) -> Result<Vec<String>, ErasureError> {
        let page = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .max_keys(max.min(1000) as i32)
            .send()
            .await
            .map_err(|e| from_sdk("ListObjectsV2", &e, true))?;
        Ok(page
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .take(max)
            .collect())
    }

    async fn delete_versions(
        &self,
        bucket: &str,
        versions: Vec<VersionRef>,
    ) -> Result<Vec<Refused>, ErasureError> {
        let invalid =
            |e: aws_sdk_s3::error::BuildError| ErasureError::Invalid(format!("DeleteObjects: {e}"));
        let mut objects = Vec::with_capacity(versions.len());
        for v in versions {
            objects.push(
                ObjectIdentifier::builder()
                    .key(v.key)
                    .set_version_id(v.version_id)
                    .build()
                    .map_err(invalid)?,
            );
        }
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(invalid)?;
        let out = self
            .client
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| from_sdk("DeleteObjects", &e, true))?;
        // Quiet mode lists only the keys that could not be deleted, with S3's error code.
        Ok(out
            .errors()
            .iter()
            .map(|e| Refused {
                key: e.key().unwrap_or_default().to_string(),
                code: e.code().unwrap_or("unknown error").to_string(),
            })
            .collect())
    }

    async fn start_upload(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
    ) -> Result<String, ErasureError> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| from_sdk("CreateMultipartUpload", &e, true))?;
        match out.upload_id() {
            Some(id) if !id.is_empty() => Ok(id.to_string()),
            _ => Err(ErasureError::Service(
                "CreateMultipartUpload returned no upload ID".into(),
            )),
        }
    }

    async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: i32,
        body: Vec<u8>,
    ) -> Result<String, ErasureError> {
        let out = self
            .client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| from_sdk("UploadPart", &e, true))?;
        Ok(out.e_tag().unwrap_or_default().to_string())
    }

    async fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: Vec<(i32, String)>,
    ) -> Result<(), ErasureError> {
        let parts = parts
            .into_iter()
            .map(|(n, etag)| CompletedPart::builder().part_number(n).e_tag(etag).build())
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| from_sdk("CompleteMultipartUpload", &e, true))
    }

    async fn abort_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), ErasureError> {
        self.client
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| from_sdk("AbortMultipartUpload", &e, true))
    }
}

#[cfg(test)]
#[path = "s3_tests.rs"]
mod tests;
