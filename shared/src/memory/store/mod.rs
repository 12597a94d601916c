//! A versioned bucket (or several) in memory, with S3's semantics where the steps rely on them:
//! every put is a new version, a delete marker hides an object, deleting a version is for good,
//! a multipart object exists only once completed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::error::ErasureError;
use crate::ports::{Lock, ObjectStore, Opened, Refused, VersionRef};

mod setup;

#[derive(Debug, Clone)]
struct Version {
    id: String,
    /// None: a delete marker.
    body: Option<Vec<u8>>,
    lock: Option<Lock>,
}

/// A multipart upload under way: its bucket, key, and the parts so far by number.
type Upload = (String, String, BTreeMap<i32, Vec<u8>>);

#[derive(Default)]
struct State {
    /// (bucket, key) -> versions, oldest first.
    objects: BTreeMap<(String, String), Vec<Version>>,
    next_version: u64,
    uploads: HashMap<String, Upload>,
    calls: HashMap<&'static str, u64>,
    failing: HashMap<&'static str, u64>,
    failing_after: HashMap<&'static str, (u64, u64)>,
    refused_keys: Vec<String>,
    denied_put_prefixes: Vec<String>,
    largest_delete_batch: usize,
    chunk_bytes: Option<usize>,
}

/// A versioned object store in memory.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut state)
    }

    /// Counts a call of `op` and fails it if a failure is pending for it.
    fn call(&self, op: &'static str) -> Result<(), ErasureError> {
        self.with(|s| {
            *s.calls.entry(op).or_default() += 1;
            if let Some((skip, n)) = s.failing_after.get_mut(op) {
                if *skip > 0 {
                    *skip -= 1;
                } else if *n > 0 {
                    *n -= 1;
                    return Err(ErasureError::Transient(format!("{op}: injected failure")));
                }
            }
            match s.failing.get_mut(op) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    Err(ErasureError::Transient(format!("{op}: injected failure")))
                }
                _ => Ok(()),
            }
        })
    }
}

fn push(
    s: &mut State,
    bucket: &str,
    key: &str,
    body: Option<Vec<u8>>,
    lock: Option<Lock>,
) -> String {
    s.next_version += 1;
    let id = format!("v{:06}", s.next_version);
    s.objects
        .entry((bucket.to_string(), key.to_string()))
        .or_default()
        .push(Version {
            id: id.clone(),
            body,
            lock,
        });
    id
}

fn current<'a>(s: &'a State, bucket: &str, key: &str) -> Option<&'a Version> {
    s.objects
        .get(&(bucket.to_string(), key.to_string()))
        .and_then(|v| v.last())
        .filter(|v| v.body.is_some())
}

fn not_found(key: &str) -> ErasureError {
    ErasureError::NotFound(format!("GetObject: NoSuchKey: {key}"))
}

impl ObjectStore for MemoryStore {
    async fn open_request(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        etag: &str,
    ) -> Result<Opened, ErasureError> {
        self.call("GetObject")?;
        let (body, chunk) = self.with(|s| {
            let versions = s.objects.get(&(bucket.to_string(), key.to_string()));
            let found = match version_id {
                Some(v) => versions.and_then(|vs| vs.iter().find(|x| x.id == v)),
                None => versions.and_then(|vs| vs.last()),
            };
            (found.and_then(|v| v.body.clone()), s.chunk_bytes)
        });
        let body = body.ok_or_else(|| {
            ErasureError::NotFound(format!(
                "the request object is gone or was replaced since upload ({key})"
            ))
        })?;
        let size = body.len() as u64;
        let chunk = chunk.unwrap_or(1 << 20);
        let chunks: Vec<Result<Vec<u8>, ErasureError>> =
            body.chunks(chunk).map(|c| Ok(c.to_vec())).collect();
        Ok(Opened {
            body: Box::pin(futures::stream::iter(chunks)),
            size,
            etag: etag.trim_matches('"').to_string(),
        })
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, ErasureError> {
        self.call("GetObject")?;
        self.get_now(bucket, key).ok_or_else(|| not_found(key))
    }

    async fn get_tagged(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<(Vec<u8>, String)>, ErasureError> {
        self.call("GetObject")?;
        Ok(self.with(|s| {
            current(s, bucket, key).and_then(|v| v.body.clone().map(|b| (b, v.id.clone())))
        }))
    }

    async fn put_if(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        expected: Option<&str>,
    ) -> Result<bool, ErasureError> {
        self.call("PutObject")?;
        Ok(self.with(|s| {
            // A version's ID stands for its ETag here.
            let now = current(s, bucket, key).map(|v| v.id.clone());
            if now.as_deref() != expected {
                return false;
            }
            push(s, bucket, key, Some(body), None);
            true
        }))
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        _content_type: &str,
        lock: Option<Lock>,
    ) -> Result<(), ErasureError> {
        self.call("PutObject")?;
        self.with(|s| {
            if s.denied_put_prefixes.iter().any(|p| key.starts_with(p)) {
                return Err(ErasureError::Forbidden(format!(
                    "PutObject: AccessDenied: {key}"
                )));
            }
            push(s, bucket, key, Some(body), lock);
            Ok(())
        })
    }

    async fn lock(&self, bucket: &str, key: &str, lock: Lock) -> Result<(), ErasureError> {
        self.call("PutObjectRetention")?;
        self.with(|s| {
            let v = s
                .objects
                .get_mut(&(bucket.to_string(), key.to_string()))
                .and_then(|v| v.last_mut())
                .filter(|v| v.body.is_some())
                .ok_or_else(|| not_found(key))?;
            v.lock = Some(lock);
            Ok(())
        })
    }

    async fn delete_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<(), ErasureError> {
        self.call("DeleteObject")?;
        self.with(|s| {
            let entry = (bucket.to_string(), key.to_string());
            match version_id {
                Some(id) => {
                    if let Some(vs) = s.objects.get_mut(&entry) {
                        vs.retain(|v| v.id != id);
                        if vs.is_empty() {
                            s.objects.remove(&entry);
                        }
                    }
                }
                // Without a version ID a versioned bucket adds a delete marker.
                None => {
                    push(s, bucket, key, None, None);
                }
            }
        });
        Ok(())
    }

    async fn list_versions(
        &self,
        bucket: &str,
        prefix: &str,
        max: usize,
    ) -> Result<Vec<VersionRef>, ErasureError> {
        self.call("ListObjectVersions")?;
        Ok(self.with(|s| {
            s.objects
                .iter()
                .filter(|((b, k), _)| b == bucket && k.starts_with(prefix))
                .flat_map(|((_, k), vs)| {
                    vs.iter().rev().map(|v| VersionRef {
                        key: k.clone(),
                        version_id: Some(v.id.clone()),
                    })
                })
                .take(max)
                .collect()
        }))
    }

    async fn list_keys(
        &self,
        bucket: &str,
        prefix: &str,
        max: usize,
    ) -> Result<Vec<String>, ErasureError> {
        self.call("ListObjectsV2")?;
        Ok(self
            .keys_under(bucket, prefix)
            .into_iter()
            .take(max)
            .collect())
    }

    async fn delete_versions(
        &self,
        bucket: &str,
        versions: Vec<VersionRef>,
    ) -> Result<Vec<Refused>, ErasureError> {
        self.call("DeleteObjects")?;
        Ok(self.with(|s| {
            s.largest_delete_batch = s.largest_delete_batch.max(versions.len());
            let mut refused = Vec::new();
            for v in versions {
                if s.refused_keys.contains(&v.key) {
                    refused.push(Refused {
                        key: v.key,
                        code: "AccessDenied".into(),
                    });
                    continue;
                }
                let entry = (bucket.to_string(), v.key);
                if let Some(vs) = s.objects.get_mut(&entry) {
                    vs.retain(|x| Some(&x.id) != v.version_id.as_ref());
                    if vs.is_empty() {
                        s.objects.remove(&entry);
                    }
                }
            }
            refused
        }))
    }

    async fn start_upload(
        &self,
        bucket: &str,
        key: &str,
        _content_type: &str,
    ) -> Result<String, ErasureError> {
        self.call("CreateMultipartUpload")?;
        Ok(self.with(|s| {
            s.next_version += 1;
            let id = format!("upload-{}", s.next_version);
            s.uploads
                .insert(id.clone(), (bucket.into(), key.into(), BTreeMap::new()));
            id
        }))
    }

    async fn upload_part(
        &self,
        _bucket: &str,
        _key: &str,
        upload_id: &str,
        number: i32,
        body: Vec<u8>,
    ) -> Result<String, ErasureError> {
        self.call("UploadPart")?;
        self.with(|s| {
            let (_, _, parts) = s
                .uploads
                .get_mut(upload_id)
                .ok_or_else(|| ErasureError::NotFound("UploadPart: NoSuchUpload".into()))?;
            parts.insert(number, body);
            Ok(format!("etag-{number}"))
        })
    }

    async fn complete_upload(
        &self,
        _bucket: &str,
        _key: &str,
        upload_id: &str,
        parts: Vec<(i32, String)>,
    ) -> Result<(), ErasureError> {
        self.call("CompleteMultipartUpload")?;
        self.with(|s| {
            let (bucket, key, held) = s.uploads.remove(upload_id).ok_or_else(|| {
                ErasureError::NotFound("CompleteMultipartUpload: NoSuchUpload".into())
            })?;
            let mut body = Vec::new();
            for (n, _) in parts {
                body.extend_from_slice(held.get(&n).ok_or_else(|| {
                    ErasureError::Invalid("CompleteMultipartUpload: InvalidPart".into())
                })?);
            }
            push(s, &bucket, &key, Some(body), None);
            Ok(())
        })
    }

    async fn abort_upload(
        &self,
        _bucket: &str,
        _key: &str,
        upload_id: &str,
    ) -> Result<(), ErasureError> {
        self.call("AbortMultipartUpload")?;
        self.with(|s| {
            s.uploads.remove(upload_id);
        });
        Ok(())
    }
}
