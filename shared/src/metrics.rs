//! CloudWatch Embedded Metric Format: one JSON line on stdout per emission, which Lambda's log
//! pipeline turns into metrics (no API call, no extra permission). Namespace from
//! `METRICS_NAMESPACE` (the template's `MetricsNamespace`), no dimensions: the alarms watch the
//! totals. Values are counts, never identifiers.

use std::io::Write;

/// Metric names the template's alarms and dashboards use.
pub mod names {
    /// Users handled without failure, per destination (application or domain).
    pub const USERS_ERASED: &str = "UsersErased";
    /// Pinpoint endpoints deleted.
    pub const ENDPOINTS_DELETED: &str = "EndpointsDeleted";
    /// Customer Profiles profiles deleted.
    pub const PROFILES_DELETED: &str = "ProfilesDeleted";
    /// Users whose profiles came back after deletion (an integration re-created them).
    pub const PROFILES_REAPPEARED: &str = "ProfilesReappeared";
    /// Users whose data could not be erased in a destination.
    pub const FAILED_USERS: &str = "FailedUsers";
    /// Personalize deletion jobs that completed.
    pub const JOBS_COMPLETED: &str = "JobsCompleted";
    /// Personalize deletion jobs that failed or were given up on.
    pub const JOBS_FAILED: &str = "JobsFailed";
    /// Request files rejected.
    pub const REQUESTS_REJECTED: &str = "RequestsRejected";
    /// Requests not COMPLETED, on the legal clock (the deadline watcher, each run).
    pub const OPEN_REQUESTS: &str = "OpenRequests";
    /// Open requests due within `DeadlineAlarmDays`, or past due, or unreadable.
    pub const REQUESTS_NEAR_DEADLINE: &str = "RequestsNearDeadline";
    /// Open requests past their due date.
    pub const REQUESTS_PAST_DEADLINE: &str = "RequestsPastDeadline";
}

/// The EMF line for these counts at `timestamp_ms` (empty when there is nothing to emit).
pub fn line(namespace: &str, timestamp_ms: u128, counts: &[(&str, u64)]) -> String {
    if counts.is_empty() {
        return String::new();
    }
    let mut doc = serde_json::Map::new();
    let metrics: Vec<serde_json::Value> = counts
        .iter()
        .map(|(name, _)| serde_json::json!({ "Name": name, "Unit": "Count" }))
        .collect();
    doc.insert(
        "_aws".into(),
        serde_json::json!({
            "Timestamp": timestamp_ms as u64,
            "CloudWatchMetrics": [{ "Namespace": namespace, "Dimensions": [[]], "Metrics": metrics }],
        }),
    );
    for (name, value) in counts {
        doc.insert((*name).into(), serde_json::json!(value));
    }
    serde_json::Value::Object(doc).to_string()
}

/// Writes the counts as one EMF line on stdout.
pub fn emit(counts: &[(&str, u64)]) {
    let namespace =
        std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| "ErasureWorkflow".to_string());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let l = line(&namespace, now, counts);
    if !l.is_empty() {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{l}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_an_emf_document() {
        let l = line(
            "Ns",
            1_700_000_000_000,
            &[(names::JOBS_FAILED, 2), (names::USERS_ERASED, 7)],
        );
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000u64);
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "Ns");
        assert_eq!(cw["Dimensions"], serde_json::json!([[]]));
        assert_eq!(cw["Metrics"][0]["Name"], "JobsFailed");
        assert_eq!(v["JobsFailed"], 2);
        assert_eq!(v["UsersErased"], 7);
        assert!(line("Ns", 0, &[]).is_empty());
    }
}
