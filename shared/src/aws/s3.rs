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

/// Deletes every object under a prefix (the workflow's own work folder of a request).
pub async fn delete_prefix(
    client: &Client,
    bucket: &str,
    prefix: &str,
) -> Result<u64, ErasureError> {
    let mut deleted = 0;
    let mut token = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|e| from_sdk("ListObjectsV2", &e, true))?;
        for obj in page.contents() {
            if let Some(k) = obj.key() {
                client
                    .delete_object()
                    .bucket(bucket)
                    .key(k)
                    .send()
                    .await
                    .map_err(|e| from_sdk("DeleteObject", &e, true))?;
                deleted += 1;
            }
        }
        match page.next_continuation_token() {
            Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
            _ => return Ok(deleted),
        }
    }
}
