//! Times as receipts and statuses write them.

/// Now, RFC 3339 (UTC).
pub fn now_rfc3339() -> String {
    epoch_rfc3339(time::OffsetDateTime::now_utc().unix_timestamp())
}

/// Seconds since the epoch as RFC 3339 (UTC).
pub fn epoch_rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}
