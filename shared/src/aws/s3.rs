//! S3: read the request exactly as uploaded, write and remove the workflow's own objects.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

use super::errors::from_sdk;
use crate::error::ErasureError;

/// Opens the request object: the given version when there is one, else only if its ETag still
/// matches (a file replaced since upload is a different request).
pub async fn open_request(
    client: &Client,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    etag: &str,
) -> Result<(ByteStream, u64, String), ErasureError> {
    let req = client.get_object().bucket(bucket).key(key);
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
    Ok((out.body, size, etag))
}

/// Reads a whole (small) object the workflow wrote.
pub async fn read_object(
    client: &Client,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, ErasureError> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| from_sdk("GetObject", &e, true))?;
    let data = out
        .body
        .collect()
        .await
        .map_err(|_| ErasureError::Transient("GetObject: the body could not be read".into()))?;
    Ok(data.into_bytes().to_vec())
}

/// Writes an object.
pub async fn put(
    client: &Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    content_type: &str,
) -> Result<(), ErasureError> {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(body))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| from_sdk("PutObject", &e, true))
}

/// Deletes every version and delete marker of every object under a prefix (the workflow's own
/// work folder of a request): in a versioned bucket a plain delete only hides the data.
pub async fn purge_prefix(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<u64, ErasureError> {
    let mut deleted = 0;
    let mut key_marker = None;
    let mut version_marker = None;
    loop {
        let page = client
            .list_object_versions()
            .bucket(bucket)
            .prefix(prefix)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
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
            );
        for (key, version) in versions {
            if let Some(key) = key {
                delete_version(client, bucket, key, version).await?;
                deleted += 1;
            }
        }
        if page.is_truncated() != Some(true) {
            return Ok(deleted);
        }
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
    }
}

/// Deletes one version of an object for good (or the object, when the bucket is unversioned).
/// An object already gone counts as deleted.
pub async fn delete_version(
    client: &Client,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<(), ErasureError> {
    client
        .delete_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(
            version_id
                .filter(|v| !v.is_empty() && *v != "null")
                .map(str::to_string),
        )
        .send()
        .await
        .map(|_| ())
        .or_else(|e| match from_sdk("DeleteObject", &e, true) {
            ErasureError::NotFound(_) => Ok(()),
            other => Err(other),
        })
}

/// Writes a receipt, locked against deletion until `retain_until` (RFC 3339) in `mode`
/// (GOVERNANCE or COMPLIANCE) when a lock is configured; the bucket must have Object Lock on.
pub async fn put_locked(
    client: &Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    content_type: &str,
    lock: Option<(&str, aws_smithy_types::DateTime)>,
) -> Result<(), ErasureError> {
    let mut req = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(ByteStream::from(body));
    if let Some((mode, until)) = lock {
        req = req
            .object_lock_mode(aws_sdk_s3::types::ObjectLockMode::from(mode))
            .object_lock_retain_until_date(until)
            // Object Lock needs an integrity checksum on the request.
            .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256);
    }
    req.send()
        .await
        .map(|_| ())
        .map_err(|e| from_sdk("PutObject", &e, true))
}

/// Sets Object Lock retention on an object already written (the user index, written before the
/// outcome was known).
pub async fn lock(
    client: &Client,
    bucket: &str,
    key: &str,
    mode: &str,
    until: aws_smithy_types::DateTime,
) -> Result<(), ErasureError> {
    let retention = aws_sdk_s3::types::ObjectLockRetention::builder()
        .mode(aws_sdk_s3::types::ObjectLockRetentionMode::from(mode))
        .retain_until_date(until)
        .build();
    client
        .put_object_retention()
        .bucket(bucket)
        .key(key)
        .retention(retention)
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| from_sdk("PutObjectRetention", &e, true))
}

/// Writes one object from pieces handed over in order, holding at most one piece: a single
/// PutObject when it is one piece, else a multipart upload (every piece but the last must be
/// at least 5 MiB). An upload that fails is aborted; S3's lifecycle rule clears any left over.
pub struct PieceWriter {
    bucket: String,
    key: String,
    content_type: &'static str,
    upload_id: Option<String>,
    done: Vec<aws_sdk_s3::types::CompletedPart>,
    held: Option<Vec<u8>>,
}

impl PieceWriter {
    /// A writer for `key`; nothing is sent until the second piece or [`PieceWriter::finish`].
    pub fn new(bucket: &str, key: &str, content_type: &'static str) -> Self {
        PieceWriter {
            bucket: bucket.to_string(),
            key: key.to_string(),
            content_type,
            upload_id: None,
            done: Vec::new(),
            held: None,
        }
    }

    /// Adds the next piece.
    pub async fn push(&mut self, client: &Client, piece: Vec<u8>) -> Result<(), ErasureError> {
        if let Some(prev) = self.held.replace(piece) {
            if let Err(e) = self.send_piece(client, prev).await {
                self.abort(client).await;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Sends what is held and completes the object.
    pub async fn finish(mut self, client: &Client) -> Result<(), ErasureError> {
        let last = self.held.take().unwrap_or_default();
        if self.upload_id.is_none() {
            return put(client, &self.bucket, &self.key, last, self.content_type).await;
        }
        let result = async {
            self.send_piece(client, last).await?;
            let parts = aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .set_parts(Some(std::mem::take(&mut self.done)))
                .build();
            client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(self.upload_id.clone().unwrap_or_default())
                .multipart_upload(parts)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| from_sdk("CompleteMultipartUpload", &e, true))
        }
        .await;
        if result.is_err() {
            self.abort(client).await;
        }
        result
    }

    async fn send_piece(&mut self, client: &Client, body: Vec<u8>) -> Result<(), ErasureError> {
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let out = client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .content_type(self.content_type)
                    .send()
                    .await
                    .map_err(|e| from_sdk("CreateMultipartUpload", &e, true))?;
                let id = out.upload_id().unwrap_or_default().to_string();
                if id.is_empty() {
                    return Err(ErasureError::Service(
                        "CreateMultipartUpload returned no upload ID".into(),
                    ));
                }
                self.upload_id = Some(id.clone());
                id
            }
        };
        let number = self.done.len() as i32 + 1;
        let out = client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| from_sdk("UploadPart", &e, true))?;
        self.done.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag().map(str::to_string))
                .build(),
        );
        Ok(())
    }

    /// Gives the object up: nothing of it stays (a multipart upload is aborted).
    pub async fn abort(&mut self, client: &Client) {
        self.held = None;
        if let Some(id) = self.upload_id.take() {
            // Best effort: the bucket's lifecycle rule aborts what this cannot.
            let _ = client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(id)
                .send()
                .await;
        }
    }
}
