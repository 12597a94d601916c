//! Deleting every version and delete marker under a prefix (the request's work folder): in a
//! versioned bucket a plain delete only hides the data. Up to 1,000 versions are listed and
//! deleted with one DeleteObjects call at a time ("DeleteObjects": up to 1,000 keys a request,
//! each named with its version ID), until the prefix is empty, its time is up, or a delete is
//! refused; it says which rather than fail, and the bucket's lifecycle rule expires what is left.

use std::time::SystemTime;

use crate::error::ErasureError;
use crate::limits::DELETE_BATCH;
use crate::ports::ObjectStore;

/// How far a purge of a prefix got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purged {
    /// Object versions and delete markers deleted.
    pub deleted: u64,
    /// Why it stopped before the prefix was empty, if it did.
    pub incomplete: Option<String>,
}

/// Purges `prefix`, stopping at `stop_by` if given.
pub async fn purge_prefix<S: ObjectStore>(
    store: &S,
    bucket: &str,
    prefix: &str,
    stop_by: Option<SystemTime>,
) -> Result<Purged, ErasureError> {
    let mut done = Purged::default();
    loop {
        if stop_by.is_some_and(|t| SystemTime::now() >= t) {
            done.incomplete = Some(format!(
                "the function's time ran out after {} object versions",
                done.deleted
            ));
            return Ok(done);
        }
        // Every page starts from the beginning: what the last page named is gone by now.
        let batch = store.list_versions(bucket, prefix, DELETE_BATCH).await?;
        if batch.is_empty() {
            return Ok(done);
        }
        let n = batch.len() as u64;
        let refused = match store.delete_versions(bucket, batch).await {
            Ok(refused) => refused,
            Err(ErasureError::Forbidden(m)) => {
                done.incomplete = Some(format!("the delete was refused ({m})"));
                return Ok(done);
            }
            Err(e) => return Err(e),
        };
        done.deleted += n - refused.len() as u64;
        if let Some(first) = refused.first() {
            done.incomplete = Some(format!(
                "{} object versions could not be deleted (first: {})",
                refused.len(),
                first.code
            ));
            return Ok(done);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;

    fn bucket_with(versions: usize, markers: usize) -> MemoryStore {
        let store = MemoryStore::default();
        for i in 0..versions {
            store.insert("b", &format!("work/r/k{i:05}"), b"v".to_vec());
        }
        for i in 0..markers {
            store.insert_delete_marker("b", &format!("work/r/k{i:05}"));
        }
        store.insert("b", "work/other/keep", b"x".to_vec());
        store
    }

    #[tokio::test]
    async fn every_version_and_marker_goes_a_thousand_at_a_time() {
        let store = bucket_with(2_450, 50);
        let done = purge_prefix(&store, "b", "work/r/", None).await.unwrap();
        assert_eq!(
            done,
            Purged {
                deleted: 2_500,
                incomplete: None
            }
        );
        assert_eq!(store.versions_under("b", "work/r/"), 0);
        assert_eq!(store.versions_under("b", "work/other/"), 1, "nothing else");
        assert_eq!(store.calls("DeleteObjects"), 3);
        assert!(store.largest_delete_batch() <= DELETE_BATCH);
    }

    #[tokio::test]
    async fn a_refused_delete_stops_the_purge_and_says_so_instead_of_failing() {
        let store = bucket_with(1_500, 0);
        store.refuse_deletes_of("work/r/k00007");
        let done = purge_prefix(&store, "b", "work/r/", None).await.unwrap();
        let why = done.incomplete.expect("incomplete");
        assert!(
            why.contains("could not be deleted") && why.contains("AccessDenied"),
            "{why}"
        );
        assert_eq!(
            done.deleted, 999,
            "the first batch, less the refused version"
        );
        assert!(store.versions_under("b", "work/r/") > 0);
    }

    #[tokio::test]
    async fn a_purge_past_its_time_stops_before_deleting() {
        let store = bucket_with(10, 0);
        let past = SystemTime::now() - std::time::Duration::from_secs(1);
        let done = purge_prefix(&store, "b", "work/r/", Some(past))
            .await
            .unwrap();
        assert_eq!(done.deleted, 0);
        assert!(done.incomplete.unwrap().contains("time ran out"));
        assert_eq!(store.versions_under("b", "work/r/"), 10);
    }
}
