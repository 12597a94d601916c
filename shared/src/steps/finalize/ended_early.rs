//! The receipt of an execution that ended before the finalize state (stopped, timed out, failed
//! by Step Functions itself), from EventBridge's status-change event.

use std::time::SystemTime;

use super::{conclude, findings, finish, read_receipt, FinalizeConfig, Services};
use crate::clock::{epoch_rfc3339, now_rfc3339};
use crate::error::ErasureError;
use crate::payload::StatusChangeEvent;
use crate::payload::{ExecutionFacts, ExecutionInput, FinalizeInput, FinalizeOutput, Prepared};
use crate::ports::{DeletionJobs, ObjectStore};
use crate::receipt::{Outcome, Receipt};
use crate::user_hash::UserHasher;

/// An execution that ended without reaching FinalizeErasure, as EventBridge reports it: stopped
/// by an operator (ABORTED), timed out, or failed by Step Functions itself (a payload over 256 KiB
/// or a history over 25,000 events end an execution FAILED, and no Catch can take them). The
/// receipt is rebuilt from what the steps recorded in S3 and Personalize (preparation's output,
/// each job by its deterministic name, each shard's progress object). An execution that already
/// has its receipt (a FAILED one usually ends after writing it), one of a Distributed Map's child
/// executions (its input is not a request), and other statuses are left alone.
pub async fn handle_status_change(
    cfg: &FinalizeConfig,
    clients: &Services<'_, impl ObjectStore, impl DeletionJobs>,
    hasher: Option<&UserHasher>,
    deadline: Option<SystemTime>,
    event: StatusChangeEvent,
) -> Result<Option<FinalizeOutput>, ErasureError> {
    handle_status_change_with_key(cfg, clients, async { Ok(hasher) }, deadline, event).await
}

/// [`handle_status_change`] with the key still being read: waited for only before the receipt
/// is concluded.
pub async fn handle_status_change_with_key<'h>(
    cfg: &FinalizeConfig,
    clients: &Services<'_, impl ObjectStore, impl DeletionJobs>,
    hasher: impl std::future::Future<Output = Result<Option<&'h UserHasher>, ErasureError>>,
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
    let id = input.request.request_id.clone();
    let store = clients.store;
    let bucket = input.request.bucket.clone();
    let key = id.receipt_key_for(&cfg.receipt_prefix, &d.name);
    if let Some(earlier) = read_receipt(store, &bucket, &key).await? {
        tracing::info!(request_id = %id, status = %d.status, "the execution already wrote its receipt; keeping it");
        let finput = FinalizeInput {
            request: input.request.clone(),
            prepared: None,
            results: None,
            error: None,
            execution: ExecutionFacts::default(),
        };
        // A purge it left pending (the execution ended between the two writes) is finished.
        return finish(cfg, store, &id, &finput, earlier, deadline)
            .await
            .map(|_| None);
    }
    let prepared: Option<Prepared> =
        match store.get(&bucket, &id.prepared_key(&cfg.work_prefix)).await {
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
    let mut receipt = Receipt::build(&finput, found.as_ref(), &cfg.deployment, now_rfc3339());
    super::stamp_legal_clock(cfg, &mut receipt);
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
    let hasher = hasher.await?;
    let out = conclude(
        cfg,
        store,
        hasher,
        &id,
        &finput,
        found.as_ref(),
        receipt.clone(),
        deadline,
    )
    .await?;
    crate::open_requests::settle(
        store,
        &finput.request.bucket,
        &cfg.receipt_prefix,
        &receipt,
        &key,
    )
    .await?;
    Ok(Some(out))
}
