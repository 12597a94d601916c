//! What finalisation leaves and removes: the failed users' evidence (hashes only), and the purge
//! of the request's copies of user IDs.

use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::FinalizeConfig;
use crate::error::ErasureError;
use crate::evidence::{failed_evidence_line, split_failed_line, FAILED_HEADER};
use crate::naming::RequestId;
use crate::payload::{EvidenceFile, FinalizeInput, Prepared};
use crate::ports::{Lock, ObjectStore};
use crate::purge::purge_prefix;
use crate::receipt::{Findings, Purge, PurgeAction};
use crate::user_hash::UserHasher;

/// Hashes the erase step's failed lists (work objects, IDs in the clear) into the receipt's
/// failed-users file (hashes only).
pub(super) async fn write_failed_evidence(
    store: &impl ObjectStore,
    bucket: &str,
    id: &RequestId,
    cfg: &FinalizeConfig,
    hasher: &UserHasher,
    found: Option<&Findings>,
    lock: Option<Lock>,
) -> Result<Option<EvidenceFile>, ErasureError> {
    let Some(found) = found else {
        return Ok(None);
    };
    let mut body = format!("{FAILED_HEADER}\n").into_bytes();
    let mut rows = 0u64;
    for shard in &found.shards {
        for app in &shard.targets {
            let Some(key) = &app.failed_users_key else {
                continue;
            };
            let list = store.get(bucket, key).await?;
            let text = String::from_utf8_lossy(&list);
            for line in text.lines().skip(1) {
                if let Some((user, reason)) = split_failed_line(line) {
                    body.extend_from_slice(
                        failed_evidence_line(&hasher.hash(&user), app.kind, &app.target_id, reason)
                            .as_bytes(),
                    );
                    rows += 1;
                }
            }
        }
    }
    if rows == 0 {
        return Ok(None);
    }
    let key = id.failed_users_evidence_key(&cfg.receipt_prefix);
    let sha256 = hex::encode(Sha256::digest(&body));
    store.put(bucket, &key, body, "text/csv", lock).await?;
    Ok(Some(EvidenceFile {
        bucket: bucket.to_string(),
        key,
        rows,
        sha256,
    }))
}

/// Once every job that reads them has ended, the request's copies of user IDs go: the uploaded
/// version of the request file and every version under its work folder. A request that did not
/// complete keeps them, so it can be retried; the lifecycle rule expires them later. The purge
/// stops at `stop_by` or at a refused delete and says so: the receipt is written in any case.
pub(super) async fn purge(
    store: &impl ObjectStore,
    id: &RequestId,
    cfg: &FinalizeConfig,
    input: &FinalizeInput,
    stop_by: Option<SystemTime>,
) -> Result<Purge, ErasureError> {
    let read = input
        .prepared
        .as_ref()
        .map(|p: &Prepared| &p.request)
        .unwrap_or(&input.request);
    let mut problems = Vec::new();
    let request_object = match store
        .delete_version(&read.bucket, &read.key, read.version_id.as_deref())
        .await
    {
        Ok(()) => PurgeAction::Deleted,
        Err(e) if !e.is_retryable() => {
            problems.push(format!("the request file could not be deleted ({e})"));
            PurgeAction::NotDeleted
        }
        Err(e) => return Err(e),
    };
    let work = purge_prefix(
        store,
        &read.bucket,
        &id.work_folder(&cfg.work_prefix),
        stop_by,
    )
    .await?;
    if let Some(why) = &work.incomplete {
        problems.push(format!("the work folder's purge stopped: {why}"));
    }
    tracing::info!(
        request_id = %id,
        work_objects_deleted = work.deleted,
        request_object = ?request_object,
        complete = problems.is_empty(),
        "request file and work objects purged"
    );
    Ok(Purge {
        request_object,
        work_objects_deleted: work.deleted,
        incomplete: (!problems.is_empty()).then(|| {
            format!(
                "{}; the bucket's lifecycle rule expires what is left",
                problems.join("; ")
            )
        }),
    })
}
