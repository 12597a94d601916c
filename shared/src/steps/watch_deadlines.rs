//! The deadline watcher (a scheduled function): reads every open request's record
//! (`receipts/open/`, see [`crate::open_requests`]), weighs each against its legal deadline, and
//! emits `OpenRequests`, `RequestsNearDeadline` and `RequestsPastDeadline` on every run, zeros
//! included, so the template's alarm sees the watcher alive. It logs the near ones by the
//! request file's SHA-256 and their receipt's key: never a user ID.

use time::Date;

use crate::config;
use crate::error::{ConfigError, ErasureError};
use crate::legal_clock::Regime;
use crate::metrics::{self, names};
use crate::open_requests::{self, OpenRequest, Watch};
use crate::ports::ObjectStore;

/// The most records one run reads: far above the requests a team keeps open at once. Past it,
/// the run fails (the alarm on the watcher's errors fires) rather than count a part as all.
pub const MAX_OPEN_RECORDS: usize = 10_000;

/// Settings of the watcher.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// The request bucket.
    pub bucket: String,
    /// Where receipts go (the records are under `<prefix>open/`).
    pub receipt_prefix: String,
    /// Which law's clock (`LegalDeadline`).
    pub legal: Regime,
    /// A request is near its deadline when this many days or fewer are left.
    pub alarm_days: i64,
}

impl WatchConfig {
    /// Reads BUCKET_NAME, RECEIPT_PREFIX, LEGAL_DEADLINE and DEADLINE_ALARM_DAYS (0 to 89).
    pub fn from_env() -> Result<Self, ConfigError> {
        let alarm_days: i64 = config::number("DEADLINE_ALARM_DAYS", 7)?;
        if !(0..=89).contains(&alarm_days) {
            return Err(ConfigError {
                name: "DEADLINE_ALARM_DAYS",
                problem: format!("{alarm_days} is not between 0 and 89"),
            });
        }
        Ok(WatchConfig {
            bucket: config::required("BUCKET_NAME")?,
            receipt_prefix: config::prefix("RECEIPT_PREFIX", "receipts/")?,
            legal: Regime::from_env()?,
            alarm_days,
        })
    }
}

/// One run: reads the open records, weighs them against `today` (UTC), emits the metrics and
/// returns what it found.
pub async fn handle(
    cfg: &WatchConfig,
    store: &impl ObjectStore,
    today: Date,
) -> Result<Watch, ErasureError> {
    let folder = open_requests::folder(&cfg.receipt_prefix);
    let keys = store
        .list_keys(&cfg.bucket, &folder, MAX_OPEN_RECORDS + 1)
        .await?;
    if keys.len() > MAX_OPEN_RECORDS {
        return Err(ErasureError::Invalid(format!(
            "more than {MAX_OPEN_RECORDS} open requests under {folder}: the watcher reads at most that many"
        )));
    }
    let mut records: Vec<Result<OpenRequest, String>> = Vec::with_capacity(keys.len());
    for key in keys.iter().filter(|k| k.ends_with(".json")) {
        match store.get(&cfg.bucket, key).await {
            Ok(body) => records.push(
                serde_json::from_slice::<OpenRequest>(&body).map_err(|e| format!("{key}: {e}")),
            ),
            // Closed between the listing and the read: the request completed.
            Err(ErasureError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    for r in &records {
        if let Err(problem) = r {
            tracing::error!(%problem, "an open-request record is unreadable; counted as near its deadline");
        }
    }
    let watch = open_requests::weigh(&records, cfg.legal, today, cfg.alarm_days);
    for s in &watch.near {
        tracing::warn!(
            request_sha256 = %s.request_sha256,
            received_at = %s.received_at,
            due = %s.due,
            days_left = s.days_left,
            last_outcome = ?s.last_outcome,
            last_receipt = s.last_receipt.as_deref().unwrap_or("none yet"),
            "a request not COMPLETED is near its legal deadline"
        );
    }
    tracing::info!(
        open = watch.open,
        near_deadline = watch.near_deadline,
        past_due = watch.past_due,
        "deadlines weighed"
    );
    metrics::emit(&[
        (names::OPEN_REQUESTS, watch.open),
        (names::REQUESTS_NEAR_DEADLINE, watch.near_deadline),
        (names::REQUESTS_PAST_DEADLINE, watch.past_due),
    ]);
    Ok(watch)
}

/// Today's date in UTC.
pub fn today_utc() -> Date {
    time::OffsetDateTime::now_utc().date()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use crate::naming::RequestId;
    use time::macros::date;

    fn cfg() -> WatchConfig {
        WatchConfig {
            bucket: "b".into(),
            receipt_prefix: "receipts/".into(),
            legal: Regime::Gdpr,
            alarm_days: 7,
        }
    }

    fn put(store: &MemoryStore, sha: char, received_at: &str) {
        let r = OpenRequest {
            request_sha256: sha.to_string().repeat(64),
            received_at: received_at.into(),
            request_id: RequestId::derive("b", "requests/r.csv", "e"),
            last_outcome: Some(crate::payload::Outcome::Partial),
            last_receipt: Some("receipts/erasure-x.json".into()),
            respond_by: None,
        };
        store.insert(
            "b",
            &open_requests::key("receipts/", &r.request_sha256),
            serde_json::to_vec(&r).expect("json"),
        );
    }

    #[tokio::test]
    async fn counts_the_open_requests_in_the_bucket_and_names_the_near_ones() {
        let store = MemoryStore::default();
        put(&store, 'a', "2026-11-20T10:00:00Z"); // due 21 December: 19 days
        put(&store, 'b', "2026-10-28T10:00:00Z"); // due Saturday 28 Nov → Monday 30 Nov: past
        put(&store, 'c', "2026-11-27T10:00:00Z"); // due Sunday 27 Dec → Monday 28 Dec: 26 days
                                                  // A closed record (a delete marker) is not open; a receipt beside the folder is not one.
        put(&store, 'd', "2026-10-01T10:00:00Z");
        store.insert_delete_marker("b", &open_requests::key("receipts/", &"d".repeat(64)));
        store.insert("b", "receipts/erasure-x.json", b"{}".to_vec());
        store.insert("b", "receipts/open/broken.json", b"not json".to_vec());
        let w = handle(&cfg(), &store, date!(2026 - 12 - 02))
            .await
            .expect("ran");
        assert_eq!((w.open, w.past_due, w.unreadable), (4, 1, 1));
        assert_eq!(w.near_deadline, 2, "the past one and the unreadable one");
        assert_eq!(w.near[0].request_sha256, "b".repeat(64));
        assert_eq!(
            (w.near[0].due.as_str(), w.near[0].days_left),
            ("2026-11-30", -2)
        );
        let w = handle(
            &WatchConfig {
                alarm_days: 19,
                ..cfg()
            },
            &store,
            date!(2026 - 12 - 02),
        )
        .await
        .expect("ran");
        assert_eq!(w.near_deadline, 3);
    }

    #[tokio::test]
    async fn a_store_error_fails_the_run_rather_than_report_nothing_open() {
        let store = MemoryStore::default();
        put(&store, 'a', "2026-11-20T10:00:00Z");
        store.fail_next("GetObject", 1);
        assert!(handle(&cfg(), &store, date!(2026 - 12 - 02)).await.is_err());
    }
}
