//! Finalisation: decide the outcome, write the receipt.

use std::future::Future;
use std::time::{Duration, SystemTime};

mod cleanup;
mod ended_early;
mod findings;

use cleanup::{purge, write_failed_evidence};
pub use ended_early::{handle_status_change, handle_status_change_with_key};
use findings::{gather, Scope};

use crate::clock::now_rfc3339;
use crate::config;
use crate::error::{ConfigError, ErasureError};
use crate::limits;
use crate::naming::RequestId;
use crate::payload::{FinalizeEvent, Prepared};
use crate::payload::{FinalizeInput, FinalizeOutput, S3Ref, Verdict};
use crate::ports::{DeletionJobs, Lock, LockMode, ObjectStore};
use crate::receipt::{
    Deployment, Evidence, Findings, Outcome, PrecededBy, Purge, PurgeAction, Receipt,
};
use crate::user_hash::{UserHasher, ALGORITHM};

/// Time kept back from the purge for writing the receipt after it.
const RECEIPT_MARGIN: Duration = Duration::from_secs(60);

/// Settings of finalisation.
#[derive(Debug, Clone)]
pub struct FinalizeConfig {
    /// Where receipts go.
    pub receipt_prefix: String,
    /// What the workflow erases from, and where (so a missing destination shows in the receipt).
    pub deployment: Deployment,
    /// Where work objects go.
    pub work_prefix: String,
    /// Object Lock on receipts: mode and days, or none.
    pub lock: Option<(LockMode, u64)>,
    /// The function's timeout: the deadline when the runtime reports none that is usable.
    pub function_timeout: Duration,
    /// The law whose deadline the receipt records (`LegalDeadline`).
    pub legal: crate::legal_clock::Regime,
}

impl FinalizeConfig {
    /// Reads RECEIPT_PREFIX, PINPOINT_APPLICATION_IDS and CUSTOMER_PROFILES_DOMAIN_NAMES (either
    /// may be empty), CUSTOMER_PROFILES_SEARCH_KEY, ACCOUNT_ID (the template's AWS::AccountId),
    /// AWS_REGION (set by Lambda), WORK_PREFIX, RECEIPT_LOCK_MODE, RECEIPT_LOCK_DAYS and
    /// FUNCTION_TIMEOUT_SECONDS.
    pub fn from_env() -> Result<Self, ConfigError> {
        let mode = config::or_default("RECEIPT_LOCK_MODE", "NONE").to_ascii_uppercase();
        let days = || config::number("RECEIPT_LOCK_DAYS", limits::DEFAULT_RECEIPT_LOCK_DAYS);
        let lock = match mode.as_str() {
            "NONE" | "" => None,
            "GOVERNANCE" => Some((LockMode::Governance, days()?)),
            "COMPLIANCE" => Some((LockMode::Compliance, days()?)),
            _ => {
                return Err(ConfigError {
                    name: "RECEIPT_LOCK_MODE",
                    problem: format!("{mode:?} is not NONE, GOVERNANCE or COMPLIANCE"),
                })
            }
        };
        Ok(FinalizeConfig {
            receipt_prefix: config::prefix("RECEIPT_PREFIX", "receipts/")?,
            deployment: Deployment {
                application_ids: config::optional_list("PINPOINT_APPLICATION_IDS"),
                domain_names: config::optional_list("CUSTOMER_PROFILES_DOMAIN_NAMES"),
                search_key: Some(config::or_default("CUSTOMER_PROFILES_SEARCH_KEY", ""))
                    .filter(|k| !k.is_empty()),
                account: Some(config::or_default("ACCOUNT_ID", "")).filter(|a| !a.is_empty()),
                // Lambda sets AWS_REGION in every function's environment
                // (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
                region: Some(config::or_default(
                    "AWS_REGION",
                    &config::or_default("AWS_DEFAULT_REGION", ""),
                ))
                .filter(|r| !r.is_empty()),
            },
            work_prefix: config::prefix("WORK_PREFIX", "work/")?,
            lock,
            function_timeout: Duration::from_secs(config::number(
                "FUNCTION_TIMEOUT_SECONDS",
                limits::DEFAULT_FUNCTION_TIMEOUT_SECONDS,
            )?),
            legal: crate::legal_clock::Regime::from_env()?,
        })
    }
}

/// What finalisation works with.
pub struct Services<'a, S, J> {
    /// The bucket: manifests, results, progress, evidence, receipt, purge.
    pub store: &'a S,
    /// Personalize's jobs, found by name.
    pub jobs: &'a J,
}

/// Gathers what the erasure steps did, writes the evidence, deletes the request's copies of user
/// IDs when nothing is left to do with them, writes the receipt and returns the outcome.
pub async fn handle(
    cfg: &FinalizeConfig,
    clients: &Services<'_, impl ObjectStore, impl DeletionJobs>,
    hasher: Option<&UserHasher>,
    deadline: Option<SystemTime>,
    input: FinalizeInput,
) -> Result<FinalizeOutput, ErasureError> {
    handle_with_key(cfg, clients, async { Ok(hasher) }, deadline, input).await
}

/// [`handle`] with the key still being read (the function's first invocation reads it beside
/// the receipt's gathering): waited for only once the receipt is built, and not at all when an
/// earlier attempt's receipt is found.
pub async fn handle_with_key<'h>(
    cfg: &FinalizeConfig,
    clients: &Services<'_, impl ObjectStore, impl DeletionJobs>,
    hasher: impl Future<Output = Result<Option<&'h UserHasher>, ErasureError>>,
    deadline: Option<SystemTime>,
    input: FinalizeInput,
) -> Result<FinalizeOutput, ErasureError> {
    let id = input.request.request_id.clone();
    // A retried invocation (the last one timed out, or failed after writing the receipt) finds
    // the receipt it wrote: it finishes that receipt's purge instead of gathering again from
    // work objects the purge may already have deleted.
    let key = id.receipt_key_for(&cfg.receipt_prefix, &input.execution.name);
    if let Some(earlier) = read_receipt(clients.store, &input.request.bucket, &key).await? {
        tracing::info!(request_id = %id, "the receipt exists; finishing what it left to do");
        let out = finish(cfg, clients.store, &id, &input, earlier.clone(), deadline).await?;
        point_to_plan(cfg, clients.store, &input.request.bucket, &key, &earlier).await?;
        crate::open_requests::settle(
            clients.store,
            &input.request.bucket,
            &cfg.receipt_prefix,
            &earlier,
            &key,
        )
        .await?;
        return Ok(out);
    }
    let found = findings(
        cfg,
        clients,
        &id,
        input.prepared.as_ref(),
        input.results.as_deref(),
    )
    .await?;
    let mut receipt = Receipt::build(&input, found.as_ref(), &cfg.deployment, now_rfc3339());
    stamp_legal_clock(cfg, &mut receipt);
    if receipt.outcome != Outcome::Planned {
        receipt.preceded_by =
            preceding_plan(cfg, clients.store, &input.request.bucket, &receipt).await?;
    }
    let hasher = hasher.await?;
    let out = conclude(
        cfg,
        clients.store,
        hasher,
        &id,
        &input,
        found.as_ref(),
        receipt.clone(),
        deadline,
    )
    .await?;
    point_to_plan(cfg, clients.store, &input.request.bucket, &key, &receipt).await?;
    crate::open_requests::settle(
        clients.store,
        &input.request.bucket,
        &cfg.receipt_prefix,
        &receipt,
        &key,
    )
    .await?;
    Ok(out)
}

/// The legal clock on a request's receipt (not a plan's): it starts at receipt, the first
/// upload of these bytes, or (when the event gave no time) the execution's start.
fn stamp_legal_clock(cfg: &FinalizeConfig, receipt: &mut Receipt) {
    if receipt.outcome == Outcome::Planned {
        return;
    }
    let received = receipt
        .received_at
        .clone()
        .unwrap_or_else(|| receipt.started_at.clone());
    receipt.respond_by = crate::legal_clock::date_of(&received)
        .and_then(|d| crate::legal_clock::respond_by(cfg.legal, d));
    receipt.received_at = Some(received);
}

/// What a plan pointer (`receipts/plans/<sha256>.json`) holds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlanPointer {
    plan_receipt: String,
    execution_name: String,
    planned_at: String,
    request_sha256: String,
}

/// After a plan's receipt: points `receipts/plans/<sha256>.json` at it, so that the request
/// of the same bytes names it. The latest plan of a file wins.
async fn point_to_plan(
    cfg: &FinalizeConfig,
    store: &impl ObjectStore,
    bucket: &str,
    receipt_key: &str,
    receipt: &Receipt,
) -> Result<(), ErasureError> {
    let Some(sha) = receipt
        .request
        .sha256
        .as_deref()
        .filter(|_| receipt.outcome == Outcome::Planned)
    else {
        return Ok(());
    };
    let pointer = PlanPointer {
        plan_receipt: receipt_key.to_string(),
        execution_name: receipt.execution_name.clone(),
        planned_at: receipt.finished_at.clone(),
        request_sha256: sha.to_string(),
    };
    let body = serde_json::to_vec(&pointer).map_err(|e| ErasureError::Invalid(e.to_string()))?;
    let key = RequestId::plan_pointer_key(&cfg.receipt_prefix, sha);
    store
        .put(bucket, &key, body, "application/json", lock_until(cfg))
        .await
}

/// The plan made of the same bytes before this request, if any. A pointer that cannot be read
/// for want of permission is left out (the receipt still stands), any other error is retried.
async fn preceding_plan(
    cfg: &FinalizeConfig,
    store: &impl ObjectStore,
    bucket: &str,
    receipt: &Receipt,
) -> Result<Option<PrecededBy>, ErasureError> {
    let Some(sha) = receipt.request.sha256.as_deref() else {
        return Ok(None);
    };
    let key = RequestId::plan_pointer_key(&cfg.receipt_prefix, sha);
    let body = match store.get(bucket, &key).await {
        Ok(b) => b,
        Err(ErasureError::NotFound(_)) => return Ok(None),
        Err(ErasureError::Forbidden(e)) => {
            tracing::warn!(error = %e, "the plan pointer could not be read; the receipt names no plan");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let Ok(p) = serde_json::from_slice::<PlanPointer>(&body) else {
        tracing::warn!(key = %key, "an unreadable plan pointer was ignored");
        return Ok(None);
    };
    Ok(Some(PrecededBy {
        plan_receipt: p.plan_receipt,
        execution_name: p.execution_name,
        planned_at: p.planned_at,
        request_sha256: p.request_sha256,
    }))
}

/// The receipt of this execution, if it was written already.
async fn read_receipt(
    store: &impl ObjectStore,
    bucket: &str,
    key: &str,
) -> Result<Option<Receipt>, ErasureError> {
    match store.get(bucket, key).await {
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
    clients: &Services<'_, impl ObjectStore, impl DeletionJobs>,
    id: &RequestId,
    prepared: Option<&Prepared>,
    results: Option<&[crate::payload::MapRunOutput]>,
) -> Result<Option<Findings>, ErasureError> {
    let Some(p) = prepared.filter(|p| p.verdict == Verdict::Accepted) else {
        return Ok(None);
    };
    let scope = Scope {
        work_prefix: &cfg.work_prefix,
        destinations: !(cfg.deployment.application_ids.is_empty()
            && cfg.deployment.domain_names.is_empty()),
        plan: p.request.mode == crate::payload::Mode::Plan,
    };
    gather(clients.store, clients.jobs, id, &scope, p, results)
        .await
        .map(Some)
}

/// Writes the evidence, purges what may go (within the time left), writes the receipt.
#[allow(clippy::too_many_arguments)]
async fn conclude(
    cfg: &FinalizeConfig,
    store: &impl ObjectStore,
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
        let failed = write_failed_evidence(store, &bucket, id, cfg, h, found, lock).await?;
        let prepared = input.prepared.as_ref();
        if let Some(ix) = prepared.and_then(|p| p.user_index.as_ref()) {
            if let Some(lock) = lock {
                store.lock(&ix.bucket, &ix.key, lock).await?;
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
            request_object: PurgeAction::Pending,
            work_objects_deleted: 0,
            incomplete: Some("the purge runs after this version of the receipt".into()),
        });
        write_receipt(cfg, store, id, &bucket, &receipt).await?;
        return finish(cfg, store, id, input, receipt, deadline).await;
    }
    receipt.purge = Some(Purge {
        request_object: PurgeAction::Kept,
        work_objects_deleted: 0,
        incomplete: None,
    });
    write_receipt(cfg, store, id, &bucket, &receipt).await
}

/// Whether a request with this outcome has nothing left to do with its copies of user IDs.
fn purges(outcome: Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Completed | Outcome::Rejected | Outcome::Planned
    )
}

/// Runs the purge a receipt still has pending (within the time left) and writes the receipt
/// again with what it deleted; a receipt with nothing pending is returned as it is.
async fn finish(
    cfg: &FinalizeConfig,
    store: &impl ObjectStore,
    id: &RequestId,
    input: &FinalizeInput,
    mut receipt: Receipt,
    deadline: Option<SystemTime>,
) -> Result<FinalizeOutput, ErasureError> {
    let bucket = input.request.bucket.clone();
    let pending = receipt
        .purge
        .as_ref()
        .is_some_and(|p| p.request_object == PurgeAction::Pending);
    if !pending {
        return Ok(output(cfg, id, &bucket, &receipt));
    }
    let stop_by = deadline.map(|d| d.checked_sub(RECEIPT_MARGIN).unwrap_or(d));
    receipt.purge = Some(purge(store, id, cfg, input, stop_by).await?);
    write_receipt(cfg, store, id, &bucket, &receipt).await
}

/// Writes the receipt (locked when a lock is configured) and says where it is.
async fn write_receipt(
    cfg: &FinalizeConfig,
    store: &impl ObjectStore,
    id: &RequestId,
    bucket: &str,
    receipt: &Receipt,
) -> Result<FinalizeOutput, ErasureError> {
    let key = id.receipt_key_for(&cfg.receipt_prefix, &receipt.execution_name);
    let body =
        serde_json::to_vec_pretty(receipt).map_err(|e| ErasureError::Invalid(e.to_string()))?;
    store
        .put(bucket, &key, body, "application/json", lock_until(cfg))
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
fn lock_until(cfg: &FinalizeConfig) -> Option<Lock> {
    cfg.lock.map(|(mode, days)| Lock {
        mode,
        until: SystemTime::now() + Duration::from_secs(days * 86_400),
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
/// event for an execution that ended without reaching the finalize step (None: nothing to hand
/// back, the event has no caller waiting).
pub async fn dispatch<'h>(
    cfg: &FinalizeConfig,
    clients: &Services<'_, impl ObjectStore, impl DeletionJobs>,
    hasher: impl Future<Output = Result<Option<&'h UserHasher>, ErasureError>>,
    deadline: Option<SystemTime>,
    payload: serde_json::Value,
) -> Result<Option<FinalizeOutput>, ErasureError> {
    use crate::telemetry::{request_span, Instrument};
    let event: FinalizeEvent = serde_json::from_value(payload).map_err(|e| {
        ErasureError::Invalid(format!(
            "unexpected input ({e}): neither the state machine's finalize input nor an \
             execution status-change event"
        ))
    })?;
    // Boxed: the steps' futures nested in the function's own are deeper than the compiler
    // lays out by default (its query depth limit), and one allocation an invocation is nothing.
    match event {
        FinalizeEvent::StatusChange(event) => {
            Box::pin(handle_status_change_with_key(
                cfg, clients, hasher, deadline, event,
            ))
            .await
        }
        FinalizeEvent::Workflow(input) => {
            let span = request_span(input.as_ref());
            Box::pin(handle_with_key(cfg, clients, hasher, deadline, *input))
                .instrument(span)
                .await
                .map(Some)
        }
    }
}

#[cfg(test)]
mod tests;
