//! Finalisation: decide the outcome, write the receipt.

use crate::aws::{personalize, s3};
use crate::config;
use crate::error::{ConfigError, ErasureError};
use crate::evidence::{failed_evidence_line, split_failed_line, FAILED_HEADER};
use crate::naming::RequestId;
use crate::payload::{
    CaughtError, FinalizeInput, FinalizeOutput, S3Ref, ShardResult, ShardSpec, Verdict,
};
use crate::payload::{EvidenceFile, Prepared};
use crate::payload::{
    ExecutionFacts, ExecutionInput, JobItem, JobRef, JobStatus, ShardItem, StatusChangeEvent,
};
use crate::receipt::{Evidence, Outcome, Purge, Receipt};
use crate::steps::now_rfc3339;
use crate::steps::{epoch_rfc3339, erase};
use crate::user_hash::{UserHasher, ALGORITHM};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Settings of finalisation.
#[derive(Debug, Clone)]
pub struct FinalizeConfig {
    /// Where receipts go.
    pub receipt_prefix: String,
    /// The Pinpoint applications the workflow erases from (so a missing one shows in the receipt).
    pub application_ids: Vec<String>,
    /// Where work objects go.
    pub work_prefix: String,
    /// Object Lock on receipts: mode (GOVERNANCE or COMPLIANCE) and days, or none.
    pub lock: Option<(String, u64)>,
}

impl FinalizeConfig {
    /// Reads RECEIPT_PREFIX, PINPOINT_APPLICATION_IDS, WORK_PREFIX, RECEIPT_LOCK_MODE, RECEIPT_LOCK_DAYS.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mode = config::or_default("RECEIPT_LOCK_MODE", "NONE").to_ascii_uppercase();
        let lock = match mode.as_str() {
            "NONE" | "" => None,
            "GOVERNANCE" | "COMPLIANCE" => Some((mode, config::number("RECEIPT_LOCK_DAYS", 365)?)),
            _ => {
                return Err(ConfigError {
                    name: "RECEIPT_LOCK_MODE",
                    problem: format!("{mode:?} is not NONE, GOVERNANCE or COMPLIANCE"),
                })
            }
        };
        Ok(FinalizeConfig {
            receipt_prefix: config::prefix("RECEIPT_PREFIX", "receipts/")?,
            application_ids: config::list("PINPOINT_APPLICATION_IDS")?,
            work_prefix: config::prefix("WORK_PREFIX", "work/")?,
            lock,
        })
    }
}

/// Writes the evidence, deletes the request's copies of user IDs when nothing is left to do with
/// them, writes the receipt and returns the outcome.
pub async fn handle(
    cfg: &FinalizeConfig,
    client: &aws_sdk_s3::Client,
    hasher: Option<&UserHasher>,
    input: FinalizeInput,
) -> Result<FinalizeOutput, ErasureError> {
    let id = RequestId::parse(&input.request.request_id).ok_or_else(|| {
        ErasureError::Invalid("the execution input has a malformed request ID".into())
    })?;
    let input = with_shard_results(cfg, client, &id, input).await?;
    let receipt = Receipt::build(&input, &cfg.application_ids, now_rfc3339());
    conclude(cfg, client, hasher, &id, &input, receipt).await
}

/// Progress objects read at once when the shards' results are gathered.
const PROGRESS_READS: usize = 32;

/// The Pinpoint map reads its shards from the manifest and hands back only each shard's index
/// and, for a shard that failed for good, the error's name: a full result per shard would not
/// fit in a state payload for millions of users. The counts come from each shard's progress
/// object, the shard list from the prepared copy of the request in S3. A shard with neither an
/// error nor a finished progress record counts as failed (`ShardNotFinished`), never as done.
async fn with_shard_results(
    cfg: &FinalizeConfig,
    client: &aws_sdk_s3::Client,
    id: &RequestId,
    mut input: FinalizeInput,
) -> Result<FinalizeInput, ErasureError> {
    let from_manifest = input.prepared.as_ref().is_some_and(|p| {
        p.verdict == Verdict::Accepted && p.shard_count > 0 && p.pinpoint_shards.is_empty()
    });
    let Some((jobs, items)) = input.results.take().filter(|_| from_manifest) else {
        return Ok(input);
    };
    let bytes = s3::read_object(
        client,
        &input.request.bucket,
        &id.prepared_key(&cfg.work_prefix),
    )
    .await?;
    let full: Prepared = serde_json::from_slice(&bytes).map_err(|_| {
        ErasureError::Invalid("the prepared copy of the request is unreadable".into())
    })?;
    let errors: HashMap<u32, CaughtError> = items
        .into_iter()
        .filter_map(|i| i.error.map(|e| (i.index, e)))
        .collect();
    let recorded: Vec<Result<(ShardSpec, Option<ShardResult>), ErasureError>> =
        futures::stream::iter(full.pinpoint_shards.iter().cloned())
            .map(|spec| async move {
                let r = erase::recorded(client, id, &cfg.work_prefix, &spec).await?;
                Ok((spec, r))
            })
            .buffered(PROGRESS_READS)
            .collect()
            .await;
    let mut shards = Vec::with_capacity(recorded.len());
    for r in recorded {
        let (spec, result) = r?;
        let (applications, error) = match (errors.get(&spec.index), result) {
            (Some(e), _) => (Vec::new(), Some(e.clone())),
            (None, Some(r)) if r.complete => (r.applications, None),
            (None, _) => (
                Vec::new(),
                Some(CaughtError {
                    error: "ShardNotFinished".into(),
                    cause: "the shard's progress record does not say it finished".into(),
                }),
            ),
        };
        shards.push(ShardItem {
            index: spec.index,
            users: spec.users,
            applications,
            error,
        });
    }
    input.results = Some((jobs, shards));
    input.prepared = Some(full);
    Ok(input)
}

/// Writes the evidence, purges what may go, writes the receipt.
async fn conclude(
    cfg: &FinalizeConfig,
    client: &aws_sdk_s3::Client,
    hasher: Option<&UserHasher>,
    id: &RequestId,
    input: &FinalizeInput,
    mut receipt: Receipt,
) -> Result<FinalizeOutput, ErasureError> {
    let id = id.clone();
    let bucket = input.request.bucket.clone();
    let lock = cfg.lock.as_ref().map(|(mode, days)| {
        let until = std::time::SystemTime::now() + std::time::Duration::from_secs(days * 86_400);
        (mode.as_str(), aws_smithy_types::DateTime::from(until))
    });

    if let Some(h) = hasher {
        let failed = write_failed_evidence(client, &bucket, &id, cfg, h, input, lock).await?;
        let prepared = input.prepared.as_ref();
        if let Some(ix) = prepared.and_then(|p| p.user_index.as_ref()) {
            if let Some((mode, until)) = lock {
                s3::lock(client, &ix.bucket, &ix.key, mode, until).await?;
            }
        }
        receipt.evidence = Some(Evidence {
            hash_algorithm: ALGORITHM.into(),
            shard_users: prepared.map(|p| p.shard_users).unwrap_or(0),
            user_index: prepared.and_then(|p| p.user_index.clone()),
            failed_users: failed,
        });
    }
    receipt.purge = Some(purge(client, &id, cfg, input, receipt.outcome).await?);

    let key = id.receipt_key_for(&cfg.receipt_prefix, &receipt.execution_name);
    let body =
        serde_json::to_vec_pretty(&receipt).map_err(|e| ErasureError::Invalid(e.to_string()))?;
    s3::put_locked(client, &bucket, &key, body, "application/json", lock).await?;
    tracing::info!(
        request_id = %id,
        outcome = ?receipt.outcome,
        receipt = %key,
        "receipt written"
    );
    Ok(FinalizeOutput {
        outcome: receipt.outcome,
        reason: receipt.reason,
        receipt: S3Ref {
            bucket: input.request.bucket.clone(),
            key,
        },
    })
}

/// The function's entry: the state machine's [`FinalizeInput`], or EventBridge's status-change
/// event for an execution that was stopped or timed out.
pub async fn dispatch(
    cfg: &FinalizeConfig,
    client: &aws_sdk_s3::Client,
    personalize_client: &aws_sdk_personalize::Client,
    hasher: Option<&UserHasher>,
    payload: serde_json::Value,
) -> Result<serde_json::Value, ErasureError> {
    use crate::telemetry::{request_span, Instrument};
    let invalid = |e: serde_json::Error| ErasureError::Invalid(format!("unexpected input: {e}"));
    if payload.get("detail-type").is_some() {
        let event: StatusChangeEvent = serde_json::from_value(payload).map_err(invalid)?;
        let out = handle_status_change(cfg, client, personalize_client, hasher, event).await?;
        return serde_json::to_value(out).map_err(invalid);
    }
    let input: FinalizeInput = serde_json::from_value(payload).map_err(invalid)?;
    let span = request_span(&input);
    let out = handle(cfg, client, hasher, input).instrument(span).await?;
    serde_json::to_value(out).map_err(invalid)
}

/// An execution that ended without reaching FinalizeErasure (an operator's StopExecution, or a
/// timeout), as EventBridge reports it: the receipt is rebuilt from what the steps recorded in
/// S3 and Personalize (preparation's output, each job by its deterministic name, each shard's
/// progress object), with outcome ABORTED (or FAILED for a timeout). Other statuses, and
/// executions that already have a receipt, are left alone.
pub async fn handle_status_change(
    cfg: &FinalizeConfig,
    client: &aws_sdk_s3::Client,
    personalize_client: &aws_sdk_personalize::Client,
    hasher: Option<&UserHasher>,
    event: StatusChangeEvent,
) -> Result<Option<FinalizeOutput>, ErasureError> {
    let d = &event.detail;
    let (outcome, what) = match d.status.as_str() {
        "ABORTED" => (
            Outcome::Aborted,
            "was stopped by an operator (StopExecution)",
        ),
        "TIMED_OUT" => (Outcome::Failed, "timed out"),
        _ => return Ok(None),
    };
    let input: ExecutionInput = serde_json::from_str(d.input.as_deref().unwrap_or("null"))
        .map_err(|_| ErasureError::Invalid("the event carries no execution input".into()))?;
    let id = RequestId::parse(&input.request.request_id).ok_or_else(|| {
        ErasureError::Invalid("the execution input has a malformed request ID".into())
    })?;
    let bucket = input.request.bucket.clone();
    let key = id.receipt_key_for(&cfg.receipt_prefix, &d.name);
    if s3::read_object(client, &bucket, &key).await.is_ok() {
        tracing::info!(request_id = %id, status = %d.status, "the execution already wrote its receipt; keeping it");
        return Ok(None);
    }
    let prepared: Option<Prepared> =
        match s3::read_object(client, &bucket, &id.prepared_key(&cfg.work_prefix)).await {
            Ok(b) => serde_json::from_slice(&b).ok(),
            Err(ErasureError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
    let mut jobs = Vec::new();
    let mut shards = Vec::new();
    if let Some(p) = &prepared {
        for spec in &p.personalize_jobs {
            let name = id.job_name(&spec.dataset_group_arn, spec.part);
            let arn = personalize::find_by_name(personalize_client, &spec.dataset_group_arn, &name)
                .await?;
            let (job, check) = match arn {
                Some(arn) => {
                    let j = personalize::describe(personalize_client, &arn).await?;
                    let check = JobStatus {
                        done: matches!(j.status.as_str(), "COMPLETED" | "FAILED"),
                        status: j.status,
                        num_deleted: j.num_deleted,
                        failure_reason: j.failure_reason,
                        created_at: j.created_epoch.map(epoch_rfc3339),
                        updated_at: j.updated_epoch.map(epoch_rfc3339),
                        next_poll_seconds: 0,
                    };
                    let job = JobRef {
                        job_arn: arn,
                        job_name: name,
                        reused: true,
                        next_poll_seconds: 0,
                    };
                    (Some(job), Some(check))
                }
                None => (None, None),
            };
            jobs.push(JobItem {
                spec: spec.clone(),
                job,
                check,
                error: None,
            });
        }
        for spec in &p.pinpoint_shards {
            let recorded = erase::recorded(client, &id, &cfg.work_prefix, spec).await?;
            shards.push(ShardItem {
                index: spec.index,
                users: spec.users,
                applications: recorded.map(|r| r.applications).unwrap_or_default(),
                error: None,
            });
        }
    }
    let finput = FinalizeInput {
        request: input.request.clone(),
        prepared,
        results: Some((jobs, shards)),
        error: None,
        execution: ExecutionFacts {
            name: d.name.clone(),
            start_time: d
                .start_date
                .map(|ms| epoch_rfc3339(ms / 1000))
                .unwrap_or_default(),
        },
    };
    let mut receipt = Receipt::build(&finput, &cfg.application_ids, now_rfc3339());
    let done_so_far = match &receipt.reason {
        Some(r) => format!("what was not finished: {r}"),
        None => "every step it had started had finished".into(),
    };
    receipt.outcome = outcome;
    receipt.reason = Some(format!(
        "the execution {what} before it finished; this receipt records what was done up to then ({done_so_far})"
    ));
    tracing::info!(request_id = %id, status = %d.status, "writing the receipt of an execution that did not finish");
    conclude(cfg, client, hasher, &id, &finput, receipt)
        .await
        .map(Some)
}

/// Hashes the erase step's failed lists (work objects, IDs in the clear) into the receipt's
/// failed-users file (hashes only).
async fn write_failed_evidence(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    id: &RequestId,
    cfg: &FinalizeConfig,
    hasher: &UserHasher,
    input: &FinalizeInput,
    lock: Option<(&str, aws_smithy_types::DateTime)>,
) -> Result<Option<EvidenceFile>, ErasureError> {
    let Some((_, shards)) = &input.results else {
        return Ok(None);
    };
    let mut body = format!("{FAILED_HEADER}\n").into_bytes();
    let mut rows = 0u64;
    for shard in shards {
        for app in &shard.applications {
            let Some(key) = &app.failed_users_key else {
                continue;
            };
            let list = s3::read_object(client, bucket, key).await?;
            let text = String::from_utf8_lossy(&list);
            for line in text.lines().skip(1) {
                if let Some((user, reason)) = split_failed_line(line) {
                    body.extend_from_slice(
                        failed_evidence_line(&hasher.hash(&user), &app.application_id, reason)
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
    s3::put_locked(client, bucket, &key, body, "text/csv", lock).await?;
    Ok(Some(EvidenceFile {
        bucket: bucket.to_string(),
        key,
        rows,
        sha256,
    }))
}

/// Once every job that reads them has ended, the request's copies of user IDs go: the uploaded
/// version of the request file and every version under its work folder. A request that did not
/// complete keeps them, so it can be retried; the lifecycle rule expires them later.
async fn purge(
    client: &aws_sdk_s3::Client,
    id: &RequestId,
    cfg: &FinalizeConfig,
    input: &FinalizeInput,
    outcome: Outcome,
) -> Result<Purge, ErasureError> {
    if !matches!(outcome, Outcome::Completed | Outcome::Rejected) {
        return Ok(Purge {
            request_object: "KEPT".into(),
            work_objects_deleted: 0,
        });
    }
    let read = input
        .prepared
        .as_ref()
        .map(|p: &Prepared| &p.request)
        .unwrap_or(&input.request);
    s3::delete_version(client, &read.bucket, &read.key, read.version_id.as_deref()).await?;
    let work_objects_deleted =
        s3::purge_prefix(client, &read.bucket, &id.work_folder(&cfg.work_prefix)).await?;
    tracing::info!(request_id = %id, work_objects_deleted, "request file and work objects deleted");
    Ok(Purge {
        request_object: "DELETED".into(),
        work_objects_deleted,
    })
}
