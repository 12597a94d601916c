//! The bounds that keep every request inside AWS's hard limits, and the defaults of the settings
//! that have one. docs/LIMITS.md derives the worst cases from these numbers and the template's
//! parameter ranges; `tests/test_limits.py` reads them from this file, so a change here that breaks
//! a bound fails the tests.

/// Default of `MaxRequestBytes`: the largest request file accepted (1 GiB).
pub const DEFAULT_MAX_REQUEST_BYTES: u64 = 1_073_741_824;
/// Default of `MaxRequestUsers`: the most distinct users one request may list.
pub const DEFAULT_MAX_REQUEST_USERS: u64 = 10_000_000;
/// Default of `MaxPartBytes`: the deletion guide's 50 MB (the quotas page says 100 MB).
pub const DEFAULT_MAX_PART_BYTES: u64 = 50_000_000;
/// Default of `ShardUsers`.
pub const DEFAULT_SHARD_USERS: u64 = 1000;
/// Default of `PinpointShardConcurrency`.
pub const DEFAULT_SHARD_CONCURRENCY: u32 = 4;

/// Default of `PollIntervalSeconds`: seconds between two checks of a deletion job.
pub const DEFAULT_POLL_SECONDS: u64 = 300;
/// Default of `MaxJobWaitSeconds`: how long a deletion job is waited for (2 days).
pub const DEFAULT_MAX_JOB_WAIT_SECONDS: u64 = 172_800;
/// Default of `PinpointRequestsPerSecond`: the account's DeleteUserEndpoints quota.
pub const DEFAULT_PINPOINT_REQUESTS_PER_SECOND: f64 = 100.0;
/// Default of `CustomerProfilesSearchRequestsPerSecond`: the account's SearchProfiles quota, 100
/// TPS by default ("Customer Profiles API throttling quotas",
/// https://docs.aws.amazon.com/connect/latest/adminguide/amazon-connect-service-limits.html).
pub const DEFAULT_PROFILES_SEARCH_REQUESTS_PER_SECOND: f64 = 100.0;
/// Default of `CustomerProfilesDeleteRequestsPerSecond`: the account's DeleteProfile quota, 100
/// TPS by default (same page).
pub const DEFAULT_PROFILES_DELETE_REQUESTS_PER_SECOND: f64 = 100.0;
/// Default of `PacingHeadroom`: the share of each API's quota left to live traffic (the
/// contact center's own SearchProfiles calls count against the same account quota).
pub const DEFAULT_PACING_HEADROOM: f64 = 0.2;
/// Default of `PINPOINT_CONCURRENCY`: erase calls in flight at once in one shard.
pub const DEFAULT_ERASE_CONCURRENCY: usize = 16;
/// Default of `PINPOINT_MAX_ATTEMPTS`: attempts per user and destination on errors other than
/// throttling (throttling is retried for as long as the invocation has time).
pub const DEFAULT_ERASE_MAX_ATTEMPTS: u32 = 8;
/// Default of `PINPOINT_HANDBACK_SECONDS`: how close to its deadline a shard is handed back.
pub const DEFAULT_HANDBACK_SECONDS: u64 = 30;
/// Default of `FUNCTION_TIMEOUT_SECONDS`: the erase and finalize functions' Timeout (Lambda's
/// most, 900 s), used when a runtime reports no usable deadline.
pub const DEFAULT_FUNCTION_TIMEOUT_SECONDS: u64 = 900;
/// Default of `ReceiptLockDays`: how long a locked receipt is retained.
pub const DEFAULT_RECEIPT_LOCK_DAYS: u64 = 365;

/// Longest wait for a quiet dataset group before its deletion jobs (`QuiesceMaxWaitSeconds`):
/// 6 hours, longer than a typical import or training.
pub const DEFAULT_QUIESCE_MAX_WAIT_SECONDS: u64 = 21_600;
/// Seconds between checks while waiting for a quiet dataset group.
pub const DEFAULT_QUIESCE_POLL_SECONDS: u64 = 300;
/// Seconds between checks of a retraining or campaign update (trainings take hours).
pub const DEFAULT_MODEL_POLL_SECONDS: u64 = 600;
/// Longest wait for the retraining after the deletion (2 days, as for a deletion job).
pub const DEFAULT_MAX_MODEL_WAIT_SECONDS: u64 = 172_800;
/// Most checks the models step makes in each of its two loops (before the jobs, after them):
/// each round adds events to the parent execution's history (Wait, Task with its retries,
/// Choice), which holds at most 25,000 ("Step Functions service quotas"); docs/LIMITS.md has
/// the worst case. A check at most every MaxModelWaitSeconds / 300 keeps a 2-day wait to one
/// check every 10 minutes.
pub const MAX_MODEL_POLLS: u32 = 300;

/// Most shards one request is cut into: a shard is one child execution of the Pinpoint map, one
/// progress object the finalize step reads, one entry of the manifest it holds in memory.
pub const MAX_SHARDS: u64 = 10_000;

/// Most status checks of one deletion job. Each check is about 9 events in the child
/// execution's history (27 with every retry of the check spent), and a history holds 25,000.
pub const MAX_JOB_POLLS: u32 = 800;

/// Most times one shard is handed back near its invocation's deadline and called again. Each
/// round is about 7 events in the shard's child execution (25 with every retry spent).
pub const MAX_SHARD_HANDBACKS: u32 = 800;

/// Object versions one DeleteObjects call may name ("DeleteObjects": up to 1,000 keys).
pub const DELETE_BATCH: usize = 1000;

/// Most bytes the duplicate detection holds per distinct user (`FingerprintSet`: 16-byte
/// fingerprints in tables grown by half at 85 % load, so at least 56.7 % full: 28.3 bytes).
pub const FINGERPRINT_BYTES_PER_USER: u64 = 29;

/// Most characters of the reason the finalize step hands back to the state machine (the whole
/// reason is in the receipt): an error's cause can hold 32,768 and is already in the state.
pub const MAX_OUTPUT_REASON_CHARS: usize = 1000;

/// Most characters of a deletion job's failure reason carried in a child execution's state
/// (Personalize gives the field no maximum); the receipt of a job looked up again has it whole.
pub const MAX_FAILURE_REASON_CHARS: usize = 4096;

/// The largest state payload Step Functions accepts, in bytes ("Step Functions service quotas":
/// 256 KiB for a task, activity or execution input or output, UTF-8).
pub const STATE_PAYLOAD_BYTES: usize = 262_144;

/// Users per shard for a request of at most `max_request_users`: the configured size, raised so
/// that no request has more than [`MAX_SHARDS`] shards.
pub fn shard_users(configured: u64, max_request_users: u64) -> u64 {
    configured
        .max(max_request_users.div_ceil(MAX_SHARDS))
        .max(1)
}

/// Seconds between two checks of a deletion job: the configured interval, raised so that the
/// checks of a job waited on for `max_wait_seconds` stay within [`MAX_JOB_POLLS`].
pub fn poll_interval(configured: u64, max_wait_seconds: u64) -> u64 {
    configured
        .max(max_wait_seconds.div_ceil(MAX_JOB_POLLS as u64))
        .max(1)
}

/// At most `max` characters of `text` (an ellipsis marks a cut).
pub fn truncate_chars(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_text_is_cut_at_a_character_boundary() {
        assert_eq!(truncate_chars("short".into(), 10), "short");
        let cut = truncate_chars("é".repeat(1500), 1000);
        assert_eq!(cut.chars().count(), 1001);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn no_request_has_more_than_the_maximum_of_shards() {
        for (configured, max_users) in [
            (1, 25_000_000),
            (1000, 10_000_000),
            (1, 1),
            (10_000, 25_000_000),
            (50, 10_000),
        ] {
            let per_shard = shard_users(configured, max_users);
            assert!(per_shard >= configured);
            assert!(
                max_users.div_ceil(per_shard) <= MAX_SHARDS,
                "{configured} {max_users}"
            );
        }
        assert_eq!(shard_users(1000, 10_000_000), 1000, "the default is kept");
        assert_eq!(
            shard_users(50, 10_000),
            50,
            "a small deployment keeps small shards"
        );
    }

    #[test]
    fn a_job_is_never_checked_more_than_the_maximum_of_times_within_its_wait() {
        for (configured, wait) in [(1, 2_592_000), (300, 172_800), (1, 60), (86_400, 60)] {
            let every = poll_interval(configured, wait);
            assert!(every >= configured);
            assert!(
                wait.div_ceil(every) <= MAX_JOB_POLLS as u64,
                "{configured} {wait}"
            );
        }
        assert_eq!(poll_interval(300, 172_800), 300, "the default is kept");
    }
}
