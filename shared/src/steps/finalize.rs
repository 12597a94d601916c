//! Finalisation: decide the outcome, write the receipt.

use std::time::{Duration, SystemTime};

use crate::aws::s3;
use crate::config;
use crate::error::{ConfigError, ErasureError};
use crate::evidence::{failed_evidence_line, split_failed_line, FAILED_HEADER};
use crate::limits;
use crate::naming::RequestId;
use crate::payload::{EvidenceFile, ExecutionFacts, ExecutionInput, Prepared, StatusChangeEvent};
use crate::payload::{FinalizeInput, FinalizeOutput, S3Ref, Verdict};
use crate::receipt::{Evidence, Findings, Outcome, Purge, Receipt};
use crate::steps::findings::{gather, Scope};
use crate::steps::{epoch_rfc3339, now_rfc3339};
use crate::user_hash::{UserHasher, ALGORITHM};
use sha2::{Digest, Sha256};

/// Time kept back from the purge for writing the receipt after it.
const RECEIPT_MARGIN: Duration = Duration::from_secs(60);

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
    /// The function's timeout: the deadline when the runtime reports none that is usable.
    pub function_timeout: Duration,
}

impl FinalizeConfig {
    /// Reads RECEIPT_PREFIX, PINPOINT_APPLICATION_IDS (may be empty), WORK_PREFIX,
    /// RECEIPT_LOCK_MODE, RECEIPT_LOCK_DAYS and FUNCTION_TIMEOUT_SECONDS.
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
            application_ids: config::optional_list("PINPOINT_APPLICATION_IDS"),
            work_prefix: config::prefix("WORK_PREFIX", "work/")?,
            lock,
            function_timeout: Duration::from_secs(config::number(
                "FUNCTION_TIMEOUT_SECONDS",
                900u64,
            )?),
        })
    }
}

/// The AWS clients finalisation uses.
pub struct Clients<'a> {
    /// S3: manifests, results, progress, evidence, receipt, purge.
    pub s3: &'a aws_sdk_s3::Client,
    /// Personalize: jobs found by name.
    pub personalize: &'a aws_sdk_personalize::Client,
}

/// Gathers what the erasure steps did, writes the evidence, deletes the request's copies of user
/// IDs when nothing is left to do with them, writes the receipt and returns the outcome.
pub async fn handle(
    cfg: &FinalizeConfig,
    clients: &Clients<'_>,
    hasher: Option<&UserHasher>,
    deadline: Option<SystemTime>,
    input: FinalizeInput,
) -> Result<FinalizeOutput, ErasureError> {
    let id = RequestId::parse(&input.request.request_id).ok_or_else(|| {
        ErasureError::Invalid("the execution input has a malformed request ID".into())
    })?;
    // A retried invocation (the last one timed out, or failed after writing the receipt) finds
    // the receipt it wrote: it finishes that receipt's purge instead of gathering again from
    // work objects the purge may already have deleted.
    let key = id.receipt_key_for(&cfg.receipt_prefix, &input.execution.name);
    if let Some(earlier) = read_receipt(clients.s3, &input.request.bucket, &key).await? {
        tracing::info!(request_id = %id, "the receipt exists; finishing what it left to do");
        return finish(cfg, clients.s3, &id, &input, earlier, deadline).await;
    }
    let found = findings(
        cfg,
        clients,
        &id,
        input.prepared.as_ref(),
        input.results.as_deref(),
    )
    .await?;
    let receipt = Receipt::build(&input, found.as_ref(), &cfg.application_ids, now_rfc3339());
    conclude(
        cfg,
        clients.s3,
        hasher,
        &id,
        &input,
        found.as_ref(),
        receipt,
        deadline,
    )
    .await
}

/// The receipt of this execution, if it was written already.
async fn read_receipt(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<Receipt>, ErasureError> {
    match s3::read_object(client, bucket, key).await {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|_| ErasureError::Invalid(format!("the receipt {key} is unreadable"))),
        Err(ErasureError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What the erasure steps of an accepted request did (none for a request never prepared or
/// rejected).
async fn findings(
    cfg: &FinalizeConfig,
    clients: &Clients<'_>,
    id: &RequestId,
    prepared: Option<&Prepared>,
    results: Option<&[crate::payload::MapRunOutput]>,
) -> Result<Option<Findings>, ErasureError> {
    let Some(p) = prepared.filter(|p| p.verdict == Verdict::Accepted) else {
        return Ok(None);
    };
    let scope = Scope {
        work_prefix: &cfg.work_prefix,
        pinpoint: !cfg.application_ids.is_empty(),
    };
    gather(clients.s3, clients.personalize, id, &scope, p, results)
        .await
        .map(Some)
}

/// Writes the evidence, purges what may go (within the time left), writes the receipt.
#[allow(clippy::too_many_arguments)]
async fn conclude(
    cfg: &FinalizeConfig,
    client: &aws_sdk_s3::Client,
    hasher: Option<&UserHasher>,
    id: &RequestId,
    input: &FinalizeInput,
    found: Option<&Findings>,
    mut receipt: Receipt,
    deadline: Option<SystemTime>,
) -> Result<FinalizeOutput, ErasureError> {
    let bucket = input.request.bucket.clone();
    let lock = lock_until(cfg);

    if let Some(h) = hasher {
        let failed = write_failed_evidence(client, &bucket, id, cfg, h, found, lock).await?;
        let prepared = input.prepared.as_ref();
        if let Some(ix) = prepared.and_then(|p| p.user_index.as_ref()) {
            if let Some((mode, until)) = lock {
                s3::lock(client, &ix.bucket, &ix.key, mode, until).await?;
            }
        }
        receipt.evidence = Some(Evidence {
            hash_algorithm: ALGORITHM.into(),
            shard_users: prepared
                .and_then(|p| p.shards.as_ref())
                .map_or(0, |s| s.users_per_shard),
            user_index: prepared.and_then(|p| p.user_index.clone()),
            failed_users: failed,
        });
    }
    if purges(receipt.outcome) {
        // Written before anything is deleted, so the record of what was done never depends on
        // the purge: a later version of the receipt says what the purge deleted.
        receipt.purge = Some(Purge {
            request_object: PURGE_PENDING.into(),
            work_objects_deleted: 0,
            incomplete: Some("the purge runs after this version of the receipt".into()),
        });
        write_receipt(cfg, client, id, &bucket, &receipt).await?;
        return finish(cfg, client, id, input, receipt, deadline).await;
    }
    receipt.purge = Some(Purge {
        request_object: "KEPT".into(),
        work_objects_deleted: 0,
        incomplete: None,
    });
    write_receipt(cfg, client, id, &bucket, &receipt).await
}

/// `requestObject` of a receipt written before its purge ran.
const PURGE_PENDING: &str = "PENDING";

/// Whether a request with this outcome has nothing left to do with its copies of user IDs.
fn purges(outcome: Outcome) -> bool {
    matches!(outcome, Outcome::Completed | Outcome::Rejected)
}

/// Runs the purge a receipt still has pending (within the time left) and writes the receipt
/// again with what it deleted; a receipt with nothing pending is returned as it is.
async fn finish(
    cfg: &FinalizeConfig,
    client: &aws_sdk_s3::Client,
    id: &RequestId,
    input: &FinalizeInput,
    mut receipt: Receipt,
    deadline: Option<SystemTime>,
) -> Result<FinalizeOutput, ErasureError> {
    let bucket = input.request.bucket.clone();
    let pending = receipt
        .purge
        .as_ref()
        .is_some_and(|p| p.request_object == PURGE_PENDING);
    if !pending {
        return Ok(output(cfg, id, &bucket, &receipt));
    }
    let stop_by = deadline.map(|d| d.checked_sub(RECEIPT_MARGIN).unwrap_or(d));
    receipt.purge = Some(purge(client, id, cfg, input, stop_by).await?);
    write_receipt(cfg, client, id, &bucket, &receipt).await
}

/// Writes the receipt (locked when a lock is configured) and says where it is.
async fn write_receipt(
    cfg: &FinalizeConfig,
    client: &aws_sdk_s3::Client,
    id: &RequestId,
    bucket: &str,
    receipt: &Receipt,
) -> Result<FinalizeOutput, ErasureError> {
    let key = id.receipt_key_for(&cfg.receipt_prefix, &receipt.execution_name);
    let body =
        serde_json::to_vec_pretty(receipt).map_err(|e| ErasureError::Invalid(e.to_string()))?;
    s3::put_locked(
        client,
        bucket,
        &key,
        body,
        "application/json",
        lock_until(cfg),
    )
    .await?;
    tracing::info!(
        request_id = %id,
        outcome = ?receipt.outcome,
        receipt = %key,
        "receipt written"
    );
    Ok(output(cfg, id, bucket, receipt))
}

/// Object Lock retention for what is written now, when a lock is configured.
fn lock_until(cfg: &FinalizeConfig) -> Option<(&str, aws_smithy_types::DateTime)> {
    cfg.lock.as_ref().map(|(mode, days)| {
        let until = SystemTime::now() + Duration::from_secs(days * 86_400);
        (mode.as_str(), aws_smithy_types::DateTime::from(until))
    })
}

/// What the finalize step hands back to the state machine.
fn output(cfg: &FinalizeConfig, id: &RequestId, bucket: &str, receipt: &Receipt) -> FinalizeOutput {
    FinalizeOutput {
        outcome: receipt.outcome,
        // The state already holds the error it came from; the whole reason is in the receipt.
        reason: receipt
            .reason
            .clone()
            .map(|r| limits::truncate_chars(r, limits::MAX_OUTPUT_REASON_CHARS)),
        receipt: S3Ref {
            bucket: bucket.to_string(),
            key: id.receipt_key_for(&cfg.receipt_prefix, &receipt.execution_name),
        },
    }
}

/// The function's entry: the state machine's [`FinalizeInput`], or EventBridge's status-change
/// event for an execution that ended without reaching the finalize step.
pub async fn dispatch(
    cfg: &FinalizeConfig,
    clients: &Clients<'_>,
    hasher: Option<&UserHasher>,
    deadline: Option<SystemTime>,
    payload: serde_json::Value,
) -> Result<serde_json::Value, ErasureError> {
    use crate::telemetry::{request_span, Instrument};
    let invalid = |e: serde_json::Error| ErasureError::Invalid(format!("unexpected input: {e}"));
    if payload.get("detail-type").is_some() {
        let event: StatusChangeEvent = serde_json::from_value(payload).map_err(invalid)?;
        let out = handle_status_change(cfg, clients, hasher, deadline, event).await?;
        return serde_json::to_value(out).map_err(invalid);
    }
    let input: FinalizeInput = serde_json::from_value(payload).map_err(invalid)?;
    let span = request_span(&input);
    let out = handle(cfg, clients, hasher, deadline, input)
        .instrument(span)
        .await?;
    serde_json::to_value(out).map_err(invalid)
}

/// An execution that ended without reaching FinalizeErasure, as EventBridge reports it: stopped
/// by an operator (ABORTED), timed out, or failed by Step Functions itself (a payload over 256 KiB
/// or a history over 25,000 events end an execution FAILED, and no Catch can take them). The
/// receipt is rebuilt from what the steps recorded in S3 and Personalize (preparation's output,
/// each job by its deterministic name, each shard's progress object). An execution that already
/// has its receipt (a FAILED one usually ends after writing it), one of a Distributed Map's child
/// executions (its input is not a request), and other statuses are left alone.
pub async fn handle_status_change(
    cfg: &FinalizeConfig,
    clients: &Clients<'_>,
    hasher: Option<&UserHasher>,
    deadline: Option<SystemTime>,
    event: StatusChangeEvent,
) -> Result<Option<FinalizeOutput>, ErasureError> {
    let d = &event.detail;
    let (outcome, what) = match d.status.as_str() {
        "ABORTED" => (
            Outcome::Aborted,
            "was stopped by an operator (StopExecution)".to_string(),
        ),
        "TIMED_OUT" => (Outcome::Failed, "timed out".to_string()),
        "FAILED" => (
            Outcome::Failed,
            format!(
                "failed ({}) before it wrote a receipt",
                d.error.as_deref().unwrap_or("no error name given")
            ),
        ),
        _ => return Ok(None),
    };
    let Ok(input) = serde_json::from_str::<ExecutionInput>(d.input.as_deref().unwrap_or("null"))
    else {
        tracing::info!(status = %d.status, "not a request's execution (a map's child execution?); left alone");
        return Ok(None);
    };
    let id = RequestId::parse(&input.request.request_id).ok_or_else(|| {
        ErasureError::Invalid("the execution input has a malformed request ID".into())
    })?;
    let client = clients.s3;
    let bucket = input.request.bucket.clone();
    let key = id.receipt_key_for(&cfg.receipt_prefix, &d.name);
    if let Some(earlier) = read_receipt(client, &bucket, &key).await? {
        tracing::info!(request_id = %id, status = %d.status, "the execution already wrote its receipt; keeping it");
        let finput = FinalizeInput {
            request: input.request.clone(),
            prepared: None,
            results: None,
            error: None,
            execution: ExecutionFacts::default(),
        };
        // A purge it left pending (the execution ended between the two writes) is finished.
        return finish(cfg, client, &id, &finput, earlier, deadline)
            .await
            .map(|_| None);
    }
    let prepared: Option<Prepared> =
        match s3::read_object(client, &bucket, &id.prepared_key(&cfg.work_prefix)).await {
            Ok(b) => serde_json::from_slice(&b).ok(),
            Err(ErasureError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
    let found = findings(cfg, clients, &id, prepared.as_ref(), None).await?;
    let finput = FinalizeInput {
        request: input.request.clone(),
        prepared,
        results: None,
        error: None,
        execution: ExecutionFacts {
            name: d.name.clone(),
            start_time: d
                .start_date
                .map(|ms| epoch_rfc3339(ms / 1000))
                .unwrap_or_default(),
        },
    };
    let mut receipt = Receipt::build(&finput, found.as_ref(), &cfg.application_ids, now_rfc3339());
    let done_so_far = match (&found, &receipt.reason) {
        (None, _) => "the request had not been prepared".to_string(),
        (Some(_), Some(r)) => format!("what was not finished: {r}"),
        (Some(_), None) => "every step it had started had finished".into(),
    };
    receipt.outcome = outcome;
    receipt.reason = Some(format!(
        "the execution {what}; this receipt records what was done up to then ({done_so_far})"
    ));
    tracing::info!(request_id = %id, status = %d.status, "writing the receipt of an execution that did not finish");
    conclude(
        cfg,
        client,
        hasher,
        &id,
        &finput,
        found.as_ref(),
        receipt,
        deadline,
    )
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
    found: Option<&Findings>,
    lock: Option<(&str, aws_smithy_types::DateTime)>,
) -> Result<Option<EvidenceFile>, ErasureError> {
    let Some(found) = found else {
        return Ok(None);
    };
    let mut body = format!("{FAILED_HEADER}\n").into_bytes();
    let mut rows = 0u64;
    for shard in &found.shards {
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
/// complete keeps them, so it can be retried; the lifecycle rule expires them later. The purge
/// stops at `stop_by` or at a refused delete and says so: the receipt is written in any case.
async fn purge(
    client: &aws_sdk_s3::Client,
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
    let request_object =
        match s3::delete_version(client, &read.bucket, &read.key, read.version_id.as_deref()).await
        {
            Ok(()) => "DELETED",
            Err(e) if !e.is_retryable() => {
                problems.push(format!("the request file could not be deleted ({e})"));
                "NOT_DELETED"
            }
            Err(e) => return Err(e),
        };
    let work = s3::purge_prefix(
        client,
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
        request_object,
        complete = problems.is_empty(),
        "request file and work objects purged"
    );
    Ok(Purge {
        request_object: request_object.into(),
        work_objects_deleted: work.deleted,
        incomplete: (!problems.is_empty()).then(|| {
            format!(
                "{}; the bucket's lifecycle rule expires what is left",
                problems.join("; ")
            )
        }),
    })
}
