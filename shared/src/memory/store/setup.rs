//! What a test does to the in-memory store besides the workflow's own calls: put objects in
//! place, inject failures and refusals, and look at what is left.

use super::{current, push, MemoryStore};
use crate::ports::Lock;

impl MemoryStore {
    /// Writes an object version directly (test set-up); returns its version ID.
    pub fn insert(&self, bucket: &str, key: &str, body: Vec<u8>) -> String {
        self.with(|s| push(s, bucket, key, Some(body), None))
    }

    /// Hides an object behind a delete marker (test set-up).
    pub fn insert_delete_marker(&self, bucket: &str, key: &str) {
        self.with(|s| push(s, bucket, key, None, None));
    }

    /// The current version's bytes, if the object exists.
    pub fn get_now(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.with(|s| current(s, bucket, key).and_then(|v| v.body.clone()))
    }

    /// The retention of an object's current version.
    pub fn lock_of(&self, bucket: &str, key: &str) -> Option<Lock> {
        self.with(|s| current(s, bucket, key).and_then(|v| v.lock))
    }

    /// Versions and delete markers under a prefix.
    pub fn versions_under(&self, bucket: &str, prefix: &str) -> usize {
        self.with(|s| {
            s.objects
                .iter()
                .filter(|((b, k), _)| b == bucket && k.starts_with(prefix))
                .map(|(_, v)| v.len())
                .sum()
        })
    }

    /// Keys with a current version under a prefix.
    pub fn keys_under(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.with(|s| {
            s.objects
                .iter()
                .filter(|((b, k), v)| {
                    b == bucket
                        && k.starts_with(prefix)
                        && v.last().is_some_and(|v| v.body.is_some())
                })
                .map(|((_, k), _)| k.clone())
                .collect()
        })
    }

    /// After the next `skip` calls of `op` succeed, the `n` after them fail (transient).
    pub fn fail_after(&self, op: &'static str, skip: u64, n: u64) {
        self.with(|s| {
            s.failing_after.insert(op, (skip, n));
        });
    }

    /// Calls made of one operation (S3's names: PutObject, DeleteObjects, UploadPart, ...).
    pub fn calls(&self, op: &str) -> u64 {
        self.with(|s| s.calls.get(op).copied().unwrap_or(0))
    }

    /// The next `n` calls of `op` fail with a transient error.
    pub fn fail_next(&self, op: &'static str, n: u64) {
        self.with(|s| {
            s.failing.insert(op, n);
        });
    }

    /// Batch deletes refuse (AccessDenied) every version of this key.
    pub fn refuse_deletes_of(&self, key: &str) {
        self.with(|s| s.refused_keys.push(key.to_string()));
    }

    /// Puts under this prefix are refused (AccessDenied).
    pub fn deny_puts_under(&self, prefix: &str) {
        self.with(|s| s.denied_put_prefixes.push(prefix.to_string()));
    }

    /// Multipart uploads started and neither completed nor aborted.
    pub fn open_uploads(&self) -> usize {
        self.with(|s| s.uploads.len())
    }

    /// The most versions one batch delete named.
    pub fn largest_delete_batch(&self) -> usize {
        self.with(|s| s.largest_delete_batch)
    }

    /// Reads hand out the body in chunks of this size (S3 sends what it sends).
    pub fn set_chunk_bytes(&self, n: usize) {
        self.with(|s| s.chunk_bytes = Some(n.max(1)));
    }
}
