//! Requests still on the legal clock: one small record per request file not yet COMPLETED,
//! `receipts/open/<sha256>.json`, so that a request nobody finished is noticed before its
//! deadline (the `watch-deadlines` function and the template's `RequestsNearDeadlineAlarm`).
//!
//! - The prepare step opens the record when it accepts a request (not a plan, not a rejected
//!   file: a REJECTED receipt already fails the execution and raises the failed-executions
//!   alarm; the corrected file opens its own record).
//! - The finalize step closes it (a delete) when the receipt is COMPLETED, and otherwise
//!   records the latest outcome and receipt on it. A retry of the request reads the same bytes,
//!   so it closes the same record.
//! - The watcher counts the open records whose deadline is near or past.
//!
//! The record holds a SHA-256, times, a request ID and a receipt key: no user ID. It lives
//! under `receipts/`, which the bucket policy lets only the workflow write or delete, so
//! nobody silences the alarm by deleting a record through IAM.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::error::ErasureError;
use crate::legal_clock::{self, Regime};
use crate::naming::RequestId;
use crate::payload::Outcome;
use crate::ports::ObjectStore;

/// One open request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenRequest {
    /// The request file's SHA-256 (the record's name).
    pub request_sha256: String,
    /// When the request was first received (RFC 3339): the legal clock's start.
    pub received_at: String,
    /// The request ID of the upload that opened it.
    pub request_id: RequestId,
    /// The latest receipt's outcome, once one was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_outcome: Option<Outcome>,
    /// The latest receipt's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_receipt: Option<String>,
    /// The deadline under the deployment's `LegalDeadline` (absent with `none`, and in records
    /// written before it was recorded): what `erasure status --list` shows as days left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respond_by: Option<legal_clock::RespondBy>,
}

/// `receipts/open/<sha256>.json`.
pub fn key(receipt_prefix: &str, sha256: &str) -> String {
    format!("{receipt_prefix}open/{sha256}.json")
}

/// The folder the watcher lists.
pub fn folder(receipt_prefix: &str) -> String {
    format!("{receipt_prefix}open/")
}

/// Opens (or re-opens) the record of an accepted request.
pub async fn open(
    store: &impl ObjectStore,
    bucket: &str,
    receipt_prefix: &str,
    record: &OpenRequest,
) -> Result<(), ErasureError> {
    let body = serde_json::to_vec(record).map_err(|e| ErasureError::Invalid(e.to_string()))?;
    store
        .put(
            bucket,
            &key(receipt_prefix, &record.request_sha256),
            body,
            "application/json",
            None,
        )
        .await
}

/// After a receipt: a COMPLETED request's record is deleted; any other outcome of a request
/// (not a plan, not a file rejected before it was read) keeps it open with that outcome.
pub async fn settle(
    store: &impl ObjectStore,
    bucket: &str,
    receipt_prefix: &str,
    receipt: &crate::receipt::Receipt,
    receipt_key: &str,
) -> Result<(), ErasureError> {
    let (Some(sha), Some(received_at)) = (
        receipt.request.sha256.as_deref(),
        receipt.received_at.as_deref(),
    ) else {
        return Ok(());
    };
    match receipt.outcome {
        Outcome::Planned | Outcome::Rejected => Ok(()),
        Outcome::Completed => {
            store
                .delete_version(bucket, &key(receipt_prefix, sha), None)
                .await
        }
        outcome => {
            let record = OpenRequest {
                request_sha256: sha.to_string(),
                received_at: received_at.to_string(),
                request_id: receipt.request_id.clone(),
                last_outcome: Some(outcome),
                last_receipt: Some(receipt_key.to_string()),
                respond_by: receipt.respond_by.clone(),
            };
            open(store, bucket, receipt_prefix, &record).await
        }
    }
}

/// Where one open request stands against its deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Standing {
    /// The request file's SHA-256.
    pub request_sha256: String,
    /// When it was received.
    pub received_at: String,
    /// The last day to answer (YYYY-MM-DD).
    pub due: String,
    /// Days from today to `due`: 0 on the day, negative once past.
    pub days_left: i64,
    /// The latest receipt's outcome, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_outcome: Option<Outcome>,
    /// The latest receipt's key, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_receipt: Option<String>,
}

/// What the watcher found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Watch {
    /// Open records read.
    pub open: u64,
    /// Open requests due within the alarm's days (or past due).
    pub near_deadline: u64,
    /// Open requests past their due date.
    pub past_due: u64,
    /// Records that could not be read as one (counted near: an unreadable record must not
    /// hide a request).
    pub unreadable: u64,
    /// The near ones, soonest first.
    pub near: Vec<Standing>,
}

/// Weighs the open records against today: a request is near when `days_left <= alarm_days`.
/// Without a regime (`LegalDeadline=none`) no request has a deadline, so none is near.
pub fn weigh(
    records: &[Result<OpenRequest, String>],
    regime: Regime,
    today: Date,
    alarm_days: i64,
) -> Watch {
    let mut w = Watch {
        open: records.len() as u64,
        near_deadline: 0,
        past_due: 0,
        unreadable: 0,
        near: Vec::new(),
    };
    for r in records {
        let Ok(r) = r else {
            w.unreadable += 1;
            continue;
        };
        let Some(received) = legal_clock::date_of(&r.received_at) else {
            w.unreadable += 1;
            continue;
        };
        let Some(by) = legal_clock::respond_by(regime, received) else {
            continue;
        };
        let Ok(due) = Date::parse(
            &by.due,
            time::macros::format_description!("[year]-[month]-[day]"),
        ) else {
            w.unreadable += 1;
            continue;
        };
        let days_left = (due - today).whole_days();
        if days_left < 0 {
            w.past_due += 1;
        }
        if days_left <= alarm_days {
            w.near.push(Standing {
                request_sha256: r.request_sha256.clone(),
                received_at: r.received_at.clone(),
                due: by.due,
                days_left,
                last_outcome: r.last_outcome,
                last_receipt: r.last_receipt.clone(),
            });
        }
    }
    w.near.sort_by(|a, b| {
        a.days_left
            .cmp(&b.days_left)
            .then(a.request_sha256.cmp(&b.request_sha256))
    });
    w.near_deadline = w.near.len() as u64 + w.unreadable;
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use time::macros::date;

    fn record(sha: char, received_at: &str) -> OpenRequest {
        OpenRequest {
            request_sha256: sha.to_string().repeat(64),
            received_at: received_at.into(),
            request_id: RequestId::derive("b", "requests/r.csv", "e"),
            last_outcome: None,
            last_receipt: None,
            respond_by: None,
        }
    }

    #[test]
    fn a_request_is_near_within_the_alarm_days_and_counted_past_due_after_its_date() {
        // GDPR: received 2 November 2026 → due Wednesday 2 December 2026.
        let records = vec![
            Ok(record('a', "2026-11-02T10:00:00Z")),
            // Received today: due 4 January 2027 (2 January is a Saturday), 33 days left.
            Ok(record('b', "2026-12-02T09:00:00Z")),
            // Received 1 October: due Monday 2 November, a month ago.
            Ok(record('c', "2026-10-01T23:59:59Z")),
        ];
        let w = weigh(&records, Regime::Gdpr, date!(2026 - 12 - 02), 7);
        assert_eq!((w.open, w.near_deadline, w.past_due), (3, 2, 1));
        let near: Vec<(&str, i64)> = w
            .near
            .iter()
            .map(|s| (s.due.as_str(), s.days_left))
            .collect();
        assert_eq!(near, vec![("2026-11-02", -30), ("2026-12-02", 0)]);
        // With 40 days of warning, today's request is near too.
        assert_eq!(
            weigh(&records, Regime::Gdpr, date!(2026 - 12 - 02), 40).near_deadline,
            3
        );
        // CCPA counts 45 calendar days: 2 November + 45 = 17 December, 15 days left.
        let w = weigh(&records[..1], Regime::Ccpa, date!(2026 - 12 - 02), 14);
        assert_eq!(w.near_deadline, 0);
        assert_eq!(
            weigh(&records[..1], Regime::Ccpa, date!(2026 - 12 - 02), 15).near[0].days_left,
            15
        );
    }

    #[test]
    fn without_a_regime_nothing_is_near_and_an_unreadable_record_is_never_hidden() {
        let records = vec![
            Ok(record('a', "2020-01-01T00:00:00Z")),
            Err("not JSON".to_string()),
            Ok(record('b', "yesterday")),
        ];
        let w = weigh(&records, Regime::None, date!(2026 - 12 - 02), 7);
        assert_eq!((w.open, w.near_deadline, w.unreadable), (3, 2, 2));
        assert!(w.near.is_empty());
    }

    fn receipt(outcome: Outcome) -> crate::receipt::Receipt {
        let mut r: crate::receipt::Receipt =
            serde_json::from_str(include_str!("../../tests/receipts/completed.json"))
                .expect("the fixture is a receipt");
        r.outcome = outcome;
        r.request.sha256 = Some("f".repeat(64));
        r.received_at = Some("2026-12-01T08:00:00Z".into());
        r
    }

    #[tokio::test]
    async fn a_completed_receipt_closes_the_record_and_any_other_keeps_it_with_its_outcome() {
        let store = MemoryStore::default();
        let k = key("receipts/", &"f".repeat(64));
        for (outcome, open_after) in [
            (Outcome::Partial, true),
            (Outcome::Completed, false),
            (Outcome::Failed, true),
            (Outcome::Aborted, true),
        ] {
            settle(
                &store,
                "b",
                "receipts/",
                &receipt(outcome),
                "receipts/x.json",
            )
            .await
            .expect("settled");
            let now = store.get_now("b", &k);
            assert_eq!(now.is_some(), open_after, "{outcome:?}");
            if let Some(body) = now {
                let r: OpenRequest = serde_json::from_slice(&body).expect("a record");
                assert_eq!(r.last_outcome, Some(outcome));
                assert_eq!(r.received_at, "2026-12-01T08:00:00Z");
                assert_eq!(r.last_receipt.as_deref(), Some("receipts/x.json"));
            }
        }
        // Plans and rejected files never open one.
        store.insert_delete_marker("b", &k);
        for outcome in [Outcome::Planned, Outcome::Rejected] {
            settle(
                &store,
                "b",
                "receipts/",
                &receipt(outcome),
                "receipts/x.json",
            )
            .await
            .expect("settled");
            assert!(store.get_now("b", &k).is_none(), "{outcome:?}");
        }
    }
}
