//! Finalisation after the real steps ran on the in-memory store, jobs and destination: the
//! outcome, what the receipt says, the evidence, the lock, the purge of every version, the
//! two-phase receipt and its retry, and the receipt of an execution stopped early.

use super::*;
use crate::clock::epoch_rfc3339;
use sha2::{Digest, Sha256};

mod models;
mod profiles;
mod world;
use crate::memory::Behaviour;
use crate::payload::{ExecutionInput, JobState};
use crate::receipt::{Outcome, PurgeAction};
use world::*;

/// The key as the function hands it over: a read that may still be under way.
async fn key(h: Option<&UserHasher>) -> Result<Option<&UserHasher>, ErasureError> {
    Ok(h)
}

/// A key read that fails (SSM unreachable).
async fn unreadable_key<'h>() -> Result<Option<&'h UserHasher>, ErasureError> {
    Err(ErasureError::Transient(
        "GetParameter: injected failure".into(),
    ))
}

/// The first invocation does not wait for the key before its first reads, and needs none when
/// it finds its receipt written: an unreadable key then fails nothing. A receipt still to
/// write waits for it, and its failure is retryable with nothing written.
#[tokio::test]
async fn the_key_is_waited_for_only_when_a_receipt_is_to_be_written() {
    let w = World::with_users(3);
    let out = w.run().await.unwrap();
    let again = dispatch(
        &cfg(),
        &w.services(),
        unreadable_key(),
        None,
        status_change(&w, "FAILED"),
    )
    .await
    .expect("the receipt exists: no key needed");
    assert!(again.is_none());
    assert_eq!(out.outcome, Outcome::Completed);

    let w = World::with_users(3);
    w.prepare().await;
    w.run_jobs().await;
    let err = dispatch(
        &cfg(),
        &w.services(),
        unreadable_key(),
        None,
        status_change(&w, "ABORTED"),
    )
    .await
    .unwrap_err();
    assert!(err.is_retryable());
    let receipt = id().receipt_key_for("receipts/", "exec-1");
    assert!(
        w.store.get_now(BUCKET, &receipt).is_none(),
        "no receipt without the key"
    );
}

#[tokio::test]
async fn a_completed_request_is_purged_to_the_last_version_and_its_receipt_locked() {
    let w = World::with_users(25);
    let out = w.run().await.unwrap();
    assert_eq!(out.outcome, Outcome::Completed);
    assert!(out.reason.is_none());
    let r = w.receipt(&out);
    assert_eq!(r.personalize.len(), 1);
    assert_eq!(r.personalize[0].status, JobState::Completed);
    // No upload time in the input: the legal clock starts at the execution's start.
    assert_eq!(r.received_at.as_deref(), Some(r.started_at.as_str()));
    let due = r.respond_by.as_ref().expect("a GDPR deadline");
    assert_eq!(due.regime, "GDPR");
    assert!(due.due.as_str() > &r.started_at[..10] && due.extendable_to > due.due);
    let [app] = r.pinpoint.as_slice() else {
        panic!("one destination")
    };
    assert_eq!(
        (app.users_processed, app.endpoints_deleted, app.failed_users),
        (25, 25, 0)
    );

    // The request's copies of user IDs are gone, every version (progress objects have many).
    let purge = r.purge.as_ref().expect("a purge section");
    assert_eq!(purge.request_object, PurgeAction::Deleted);
    assert!(purge.incomplete.is_none());
    assert!(
        purge.work_objects_deleted > 10,
        "{}",
        purge.work_objects_deleted
    );
    assert_eq!(w.work_versions(), 0);
    assert_eq!(w.store.versions_under(BUCKET, REQUEST), 0);

    // Two versions of the receipt: before the purge, then with what it deleted; both locked.
    assert_eq!(w.store.versions_under(BUCKET, &out.receipt.key), 2);
    assert!(about_lock_days(w.store.lock_of(BUCKET, &out.receipt.key)));
    let ix = r
        .evidence
        .as_ref()
        .and_then(|e| e.user_index.clone())
        .expect("an index");
    assert_eq!(ix.rows, 25);
    assert!(about_lock_days(w.store.lock_of(BUCKET, &ix.key)));
    assert!(
        !w.receipt_objects().contains("final-user"),
        "no raw ID under receipts/"
    );
}

#[tokio::test]
async fn users_that_could_not_be_erased_are_hashed_into_evidence_and_the_request_kept() {
    let w = World::with_users(12);
    w.target.always(
        &user(4),
        Behaviour::Fail(ErasureError::Forbidden("denied".into())),
    );
    let out = w.run().await.unwrap();
    assert_eq!(out.outcome, Outcome::Partial);
    assert!(out
        .reason
        .as_deref()
        .unwrap_or("")
        .contains("1 access denied"));
    let r = w.receipt(&out);
    let failed = r
        .evidence
        .as_ref()
        .and_then(|e| e.failed_users.clone())
        .expect("a failed-users file");
    assert_eq!(failed.rows, 1);
    let body = w.store.get_now(BUCKET, &failed.key).expect("the file");
    assert_eq!(failed.sha256, hex::encode(Sha256::digest(&body)));
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains(&hasher().hash(&user(4))) && text.contains(",app,"));
    assert!(!w.receipt_objects().contains("final-user"), "hashes only");
    // Kept so the request can be run again; only the lifecycle rule removes it.
    assert_eq!(
        r.purge.as_ref().map(|p| p.request_object),
        Some(PurgeAction::Kept)
    );
    assert_eq!(w.store.versions_under(BUCKET, REQUEST), 1);
    assert!(w.work_versions() > 0);
    assert_eq!(w.store.versions_under(BUCKET, &out.receipt.key), 1);
}

#[tokio::test]
async fn a_job_that_failed_fails_the_request() {
    let w = World::with_users(5);
    w.jobs.script(&[JobState::InProgress, JobState::Failed]);
    let out = w.run().await.unwrap();
    assert_eq!(out.outcome, Outcome::Failed);
    let r = w.receipt(&out);
    assert_eq!(r.personalize[0].status, JobState::Failed);
    assert!(r.personalize[0].failure_reason.is_some());
    assert_eq!(
        r.purge.as_ref().map(|p| p.request_object),
        Some(PurgeAction::Kept)
    );
}

/// The receipt is written before the purge; a purge that breaks off (the invocation dies) is
/// finished by the retry from that receipt, without gathering again from work objects the purge
/// may already have deleted.
#[tokio::test]
async fn a_retry_finishes_the_purge_its_receipt_left_pending() {
    let w = World::with_users(25);
    w.store.fail_next("DeleteObjects", 1);
    let err = w.run().await.unwrap_err();
    assert!(err.is_retryable());
    let key = id().receipt_key_for("receipts/", "exec-1");
    let pending: Receipt =
        serde_json::from_slice(&w.store.get_now(BUCKET, &key).expect("written first")).unwrap();
    assert_eq!(
        pending.purge.as_ref().map(|p| p.request_object),
        Some(PurgeAction::Pending)
    );
    let lookups = w.jobs.calls("ListDataDeletionJobs");

    let prepared: Prepared = serde_json::from_slice(
        &w.store
            .get_now(BUCKET, &id().prepared_key("work/"))
            .unwrap(),
    )
    .unwrap();
    let out = w.finalize(prepared).await.unwrap();
    assert_eq!(out.outcome, Outcome::Completed);
    assert_eq!(
        w.jobs.calls("ListDataDeletionJobs"),
        lookups,
        "not gathered again"
    );
    let r = w.receipt(&out);
    assert_eq!(
        r.purge.as_ref().map(|p| p.request_object),
        Some(PurgeAction::Deleted)
    );
    assert_eq!(r.pinpoint, pending.pinpoint, "the same findings");
    assert_eq!(w.work_versions(), 0);
}

#[tokio::test]
async fn a_refused_delete_is_said_in_the_receipt_which_is_written_anyway() {
    let w = World::with_users(5);
    w.store.refuse_deletes_of(&id().manifest_key("work/"));
    let out = w.run().await.unwrap();
    assert_eq!(out.outcome, Outcome::Completed);
    let purge = w.receipt(&out).purge.expect("a purge section");
    let why = purge.incomplete.expect("why the purge stopped");
    assert!(why.contains("lifecycle rule"), "{why}");
    assert_eq!(purge.request_object, PurgeAction::Deleted);
}

#[tokio::test]
async fn a_rejected_request_gets_its_receipt_and_leaves_nothing() {
    let w = World::new(b"USER_ID\n\"unterminated\n");
    let prepared = w.prepare().await;
    assert_eq!(prepared.verdict, Verdict::Rejected);
    let out = w.finalize(prepared).await.unwrap();
    assert_eq!(out.outcome, Outcome::Rejected);
    let r = w.receipt(&out);
    assert_eq!(
        r.request.rejection_code.as_deref(),
        Some("UNTERMINATED_QUOTE")
    );
    assert_eq!(
        r.purge.map(|p| p.request_object),
        Some(PurgeAction::Deleted)
    );
    assert_eq!(w.store.versions_under(BUCKET, REQUEST), 0);
    assert_eq!(w.work_versions(), 0);
}

fn status_change(w: &World, status: &str) -> serde_json::Value {
    serde_json::json!({
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": "arn:aws:states:us-east-1:1:execution:sm:exec-1",
            "name": "exec-1",
            "status": status,
            "startDate": 1_796_000_000_000i64,
            "input": serde_json::to_string(&ExecutionInput {
                execution: None,
                ..w.input.clone()
            }).unwrap(),
        }
    })
}

/// Stopped by an operator after the jobs were created but before any shard ran: the receipt is
/// built from what the steps recorded (the prepared copy, the jobs by name), says ABORTED and
/// why, and the request is kept.
#[tokio::test]
async fn an_execution_stopped_early_gets_an_aborted_receipt_of_what_was_done() {
    let w = World::with_users(15);
    w.prepare().await;
    w.run_jobs().await;
    let h = hasher();
    let out = dispatch(
        &cfg(),
        &w.services(),
        key(Some(&h)),
        None,
        status_change(&w, "ABORTED"),
    )
    .await
    .unwrap();
    let out = out.expect("a receipt written");
    assert_eq!(out.outcome, Outcome::Aborted);
    let r = w.receipt(&out);
    assert!(r
        .reason
        .as_deref()
        .unwrap_or("")
        .contains("stopped by an operator"));
    assert_eq!(r.personalize.len(), 1);
    assert_eq!(
        r.personalize[0].status,
        JobState::Completed,
        "found by its name"
    );
    assert_eq!(r.request.valid_users, 15);
    assert_eq!(
        r.started_at,
        epoch_rfc3339(1_796_000_000),
        "the execution's own start"
    );
    assert_eq!(r.purge.map(|p| p.request_object), Some(PurgeAction::Kept));
    assert_eq!(w.target.total_calls(), 0);
}

#[tokio::test]
async fn status_changes_that_are_not_a_request_ending_early_are_left_alone() {
    let w = World::with_users(3);
    let out = w.run().await.unwrap();
    let written = w.store.versions_under(BUCKET, &out.receipt.key);
    let h = hasher();
    // The execution already wrote its receipt: kept as it is.
    let again = dispatch(
        &cfg(),
        &w.services(),
        key(Some(&h)),
        None,
        status_change(&w, "FAILED"),
    )
    .await
    .unwrap();
    assert!(again.is_none());
    assert_eq!(w.store.versions_under(BUCKET, &out.receipt.key), written);
    // A status that is not an early end.
    let running = dispatch(
        &cfg(),
        &w.services(),
        key(Some(&h)),
        None,
        status_change(&w, "SUCCEEDED"),
    )
    .await
    .unwrap();
    assert!(running.is_none());
    // A map's child execution (its input is not a request).
    let mut child = status_change(&w, "ABORTED");
    child["detail"]["input"] = serde_json::json!("{\"index\":3}");
    let child = dispatch(&cfg(), &w.services(), key(Some(&h)), None, child)
        .await
        .unwrap();
    assert!(child.is_none());
}

#[tokio::test]
async fn an_unexpected_payload_is_refused_with_a_clear_error() {
    let w = World::with_users(1);
    let err = dispatch(
        &cfg(),
        &w.services(),
        key(None),
        None,
        serde_json::json!({"hello": 1}),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ErasureError::Invalid(ref m) if m.contains("unexpected input")));
}
