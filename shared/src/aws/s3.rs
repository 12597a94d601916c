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

/// How far a purge of a prefix got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    /// Object versions and delete markers deleted.
    pub deleted: u64,
    /// Why it stopped before the prefix was empty, if it did.
    pub incomplete: Option<String>,
}

/// Deletes every version and delete marker of every object under a prefix (the workflow's own
/// work folder of a request): in a versioned bucket a plain delete only hides the data. It lists
/// up to 1,000 versions at a time and deletes them with one DeleteObjects call ("DeleteObjects":
/// up to 1,000 keys a request, each named with its version ID), until the prefix is empty or
/// `stop_by` is reached; a refused delete stops it too. It never fails on a refused delete or a
/// deadline: it says so in [`Purged::incomplete`] (the bucket's lifecycle rule expires the rest).
pub async fn purge_prefix(
    client: &Client,
    bucket: &str,
    prefix: &str,
    stop_by: Option<std::time::SystemTime>,
) -> Result<Purged, ErasureError> {
    let mut done = Purged::default();
    loop {
        if stop_by.is_some_and(|t| std::time::SystemTime::now() >= t) {
            done.incomplete = Some(format!(
                "the function's time ran out after {} object versions",
                done.deleted
            ));
            return Ok(done);
        }
        // Every page starts from the beginning: what the last page named is gone by now.
        let page = client
            .list_object_versions()
            .bucket(bucket)
            .prefix(prefix)
            .max_keys(crate::limits::DELETE_BATCH as i32)
            .send()
            .await
            .map_err(|e| from_sdk("ListObjectVersions", &e, true))?;
        let mut batch = Vec::new();
        let listed = page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                page.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            );
        for (key, version) in listed {
            let Some(key) = key else { continue };
            let id = aws_sdk_s3::types::ObjectIdentifier::builder()
                .key(key)
                .set_version_id(
                    version
                        .filter(|v| !v.is_empty() && *v != "null")
                        .map(str::to_string),
                )
                .build()
                .map_err(|e| ErasureError::Invalid(format!("DeleteObjects: {e}")))?;
            batch.push(id);
        }
        if batch.is_empty() {
            return Ok(done);
        }
        let n = batch.len() as u64;
        let delete = aws_sdk_s3::types::Delete::builder()
            .set_objects(Some(batch))
            .quiet(true)
            .build()
            .map_err(|e| ErasureError::Invalid(format!("DeleteObjects: {e}")))?;
        let out = match client
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => match from_sdk("DeleteObjects", &e, true) {
                ErasureError::Forbidden(m) => {
                    done.incomplete = Some(format!("the delete was refused ({m})"));
                    return Ok(done);
                }
                other => return Err(other),
            },
        };
        // Quiet mode lists only the keys that could not be deleted, with S3's error code.
        let refused = out.errors();
        done.deleted += n - refused.len() as u64;
        if let Some(first) = refused.first() {
            done.incomplete = Some(format!(
                "{} object versions could not be deleted (first: {})",
                refused.len(),
                first.code().unwrap_or("unknown error")
            ));
            return Ok(done);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
    use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
    use aws_sdk_s3::types::{DeleteMarkerEntry, Error as S3Error, ObjectVersion};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A bucket of `versions` object versions and `markers` delete markers under one prefix, as
    /// ListObjectVersions pages them (at most `max_keys` at a time); DeleteObjects removes what
    /// it names, refusing the keys `refuse` matches.
    fn bucket_with(
        versions: usize,
        markers: usize,
        refuse: fn(&str) -> bool,
    ) -> (aws_sdk_s3::Client, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let left = Arc::new(AtomicUsize::new(versions + markers));
        let calls = Arc::new(AtomicUsize::new(0));
        let (l1, l2, c) = (left.clone(), left.clone(), calls.clone());
        let list = mock!(aws_sdk_s3::Client::list_object_versions).then_output(move || {
            let n = l1.load(Ordering::SeqCst);
            let page = n.min(crate::limits::DELETE_BATCH);
            let mut out = ListObjectVersionsOutput::builder().is_truncated(n > page);
            for i in 0..page {
                let key = format!("work/r/k{i}");
                if i % 10 == 0 && i / 10 < markers {
                    out = out.delete_markers(
                        DeleteMarkerEntry::builder()
                            .key(key)
                            .version_id(format!("m{i}"))
                            .build(),
                    );
                } else {
                    out = out.versions(
                        ObjectVersion::builder()
                            .key(key)
                            .version_id(format!("v{i}"))
                            .build(),
                    );
                }
            }
            out.build()
        });
        let delete = mock!(aws_sdk_s3::Client::delete_objects)
            .match_requests(move |r| {
                c.fetch_add(1, Ordering::SeqCst);
                let named = r.delete().map(|d| d.objects().len()).unwrap_or(0);
                assert!(
                    named <= crate::limits::DELETE_BATCH,
                    "{named} keys in one call"
                );
                assert!(r.delete().and_then(|d| d.quiet()) == Some(true));
                assert!(r
                    .delete()
                    .is_some_and(|d| d.objects().iter().all(|o| o.version_id().is_some())));
                true
            })
            .then_output(move || {
                // Every key but the refused ones goes.
                let n = l2.load(Ordering::SeqCst).min(crate::limits::DELETE_BATCH);
                let refused: Vec<usize> =
                    (0..n).filter(|i| refuse(&format!("work/r/k{i}"))).collect();
                l2.fetch_sub(n - refused.len(), Ordering::SeqCst);
                let mut out = DeleteObjectsOutput::builder();
                for i in refused {
                    out = out.errors(
                        S3Error::builder()
                            .key(format!("work/r/k{i}"))
                            .code("AccessDenied")
                            .build(),
                    );
                }
                out.build()
            });
        let client = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&list, &delete]);
        (client, left, calls)
    }

    #[tokio::test]
    async fn a_purge_deletes_every_version_and_marker_a_thousand_at_a_time() {
        let (client, left, calls) = bucket_with(2_450, 50, |_| false);
        let done = purge_prefix(&client, "b", "work/r/", None).await.unwrap();
        assert_eq!(
            done,
            Purged {
                deleted: 2_500,
                incomplete: None
            }
        );
        assert_eq!(left.load(Ordering::SeqCst), 0);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "2,500 versions: three DeleteObjects calls"
        );
    }

    #[tokio::test]
    async fn a_refused_delete_stops_the_purge_and_says_so_instead_of_failing() {
        let (client, left, _) = bucket_with(1_500, 0, |k| k == "work/r/k7");
        let done = purge_prefix(&client, "b", "work/r/", None).await.unwrap();
        assert_eq!(done.deleted, 999);
        let why = done.incomplete.expect("incomplete");
        assert!(
            why.contains("1 object versions could not be deleted") && why.contains("AccessDenied"),
            "{why}"
        );
        assert_eq!(left.load(Ordering::SeqCst), 501);
    }

    #[tokio::test]
    async fn a_purge_past_its_time_stops_and_says_so() {
        let (client, left, calls) = bucket_with(10, 0, |_| false);
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(1);
        let done = purge_prefix(&client, "b", "work/r/", Some(past))
            .await
            .unwrap();
        assert_eq!(done.deleted, 0);
        assert!(done.incomplete.unwrap().contains("time ran out"));
        assert_eq!(
            (left.load(Ordering::SeqCst), calls.load(Ordering::SeqCst)),
            (10, 0)
        );
    }
}
