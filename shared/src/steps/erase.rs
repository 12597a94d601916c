//! Erasing one Pinpoint shard: every user in it, in every configured application, at a rate
//! that stays under the account's quota; throttling is retried here, other failures recorded.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;

use crate::aws::pinpoint::{self, UserErasure};
use crate::aws::s3;
use crate::config;
use crate::error::{ConfigError, ErasureError};
use crate::naming::RequestId;
use crate::payload::{AppShardResult, ShardResult, ShardSpec};
use crate::rate_limit::RateLimiter;
use crate::request_csv::{read_all, BadRowPolicy};

/// Settings of Pinpoint erasure.
#[derive(Debug, Clone)]
pub struct EraseConfig {
    /// Applications to erase from.
    pub application_ids: Vec<String>,
    /// This function's share of the DeleteUserEndpoints quota, requests per second.
    pub rate_per_second: f64,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Attempts per user and application before the user is recorded as failed.
    pub max_attempts: u32,
    /// Where failed-user lists go.
    pub work_prefix: String,
}

impl EraseConfig {
    /// Reads PINPOINT_APPLICATION_IDS, PINPOINT_ACCOUNT_RATE_PER_SECOND, PINPOINT_SHARD_CONCURRENCY
    /// (the map's MaxConcurrency: each function takes that share of the account's rate),
    /// PINPOINT_CONCURRENCY, PINPOINT_MAX_ATTEMPTS and WORK_PREFIX.
    pub fn from_env() -> Result<Self, ConfigError> {
        let account_rate: f64 = config::number("PINPOINT_ACCOUNT_RATE_PER_SECOND", 100.0)?;
        let shards_at_once: f64 = config::number("PINPOINT_SHARD_CONCURRENCY", 4.0)?;
        if !(account_rate > 0.0 && shards_at_once >= 1.0) {
            return Err(ConfigError {
                name: "PINPOINT_ACCOUNT_RATE_PER_SECOND",
                problem: "the rate must be positive and the shard concurrency at least 1".into(),
            });
        }
        Ok(EraseConfig {
            application_ids: config::list("PINPOINT_APPLICATION_IDS")?,
            rate_per_second: account_rate / shards_at_once,
            concurrency: config::number("PINPOINT_CONCURRENCY", 16usize)?.max(1),
            max_attempts: config::number("PINPOINT_MAX_ATTEMPTS", 8u32)?.max(1),
            work_prefix: config::prefix("WORK_PREFIX", "work/")?,
        })
    }
}

/// How one user ended in one application.
enum Fate {
    Deleted(u64),
    NoEndpoints,
    Failed(&'static str),
}

/// Erases every user of the shard from every application.
pub async fn handle(
    cfg: &EraseConfig,
    s3c: &aws_sdk_s3::Client,
    client: &aws_sdk_pinpoint::Client,
    limiter: &RateLimiter,
    shard: ShardSpec,
) -> Result<ShardResult, ErasureError> {
    let id = RequestId::parse(&shard.request_id)
        .ok_or_else(|| ErasureError::Invalid("the shard has a malformed request ID".into()))?;
    let body = s3::read_object(s3c, &shard.bucket, &shard.key).await?;
    let (users, _, verdict) = read_all(&body, BadRowPolicy::RejectFile);
    if verdict.is_err() || users.len() as u64 != shard.users {
        return Err(ErasureError::Invalid(format!(
            "shard {} does not hold the {} users it should",
            shard.index, shard.users
        )));
    }
    let mut applications = Vec::with_capacity(cfg.application_ids.len());
    for app in &cfg.application_ids {
        let mut result = AppShardResult {
            application_id: app.clone(),
            ..Default::default()
        };
        let mut failed: Vec<(&str, &'static str)> = Vec::new();
        match pinpoint::check_application(client, app).await {
            Ok(()) => {
                let fates: Vec<(&str, Fate)> =
                    futures::stream::iter(users.iter())
                        .map(|u| async move {
                            (u.as_str(), erase_user(cfg, client, limiter, app, u).await)
                        })
                        .buffer_unordered(cfg.concurrency)
                        .collect()
                        .await;
                for (user, fate) in fates {
                    match fate {
                        Fate::Deleted(n) => result.endpoints_deleted += n,
                        Fate::NoEndpoints => result.users_without_endpoints += 1,
                        Fate::Failed(why) => failed.push((user, why)),
                    }
                }
            }
            // Retrying the shard later may work: let Step Functions do it.
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => {
                let why = match e {
                    ErasureError::NotFound(_) => "application not found",
                    ErasureError::Forbidden(_) => {
                        "access denied (missing permission, or Pinpoint engagement features ended for this account)"
                    }
                    _ => "application check failed",
                };
                tracing::error!(application_id = %app, error = %e, "Pinpoint application unusable; its users are recorded as failed");
                failed.extend(users.iter().map(|u| (u.as_str(), why)));
            }
        }
        result.users_processed = users.len() as u64;
        result.failed_users = failed.len() as u64;
        if !failed.is_empty() {
            let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
            let mut csv = b"USER_ID,REASON\n".to_vec();
            for (user, why) in &failed {
                *reasons.entry(why.to_string()).or_default() += 1;
                let mut line = Vec::new();
                crate::request_csv::encode_line(user, &mut line);
                line.pop();
                csv.extend_from_slice(&line);
                csv.extend_from_slice(format!(",{why}\n").as_bytes());
            }
            let key = id.failed_users_key(&cfg.work_prefix, app, shard.index);
            s3::put(s3c, &shard.bucket, &key, csv, "text/csv").await?;
            result.failure_reasons = reasons;
            result.failed_users_key = Some(key);
        }
        tracing::info!(
            request_id = %id,
            shard = shard.index,
            application_id = %app,
            users = result.users_processed,
            endpoints_deleted = result.endpoints_deleted,
            without_endpoints = result.users_without_endpoints,
            failed = result.failed_users,
            "shard erased in application"
        );
        applications.push(result);
    }
    {
        use crate::metrics::{emit, names};
        let sum = |f: fn(&AppShardResult) -> u64| applications.iter().map(f).sum::<u64>();
        emit(&[
            (
                names::USERS_ERASED,
                sum(|a| a.users_processed.saturating_sub(a.failed_users)),
            ),
            (names::ENDPOINTS_DELETED, sum(|a| a.endpoints_deleted)),
            (names::FAILED_USERS, sum(|a| a.failed_users)),
        ]);
    }
    Ok(ShardResult {
        index: shard.index,
        users: shard.users,
        applications,
    })
}

async fn erase_user(
    cfg: &EraseConfig,
    client: &aws_sdk_pinpoint::Client,
    limiter: &RateLimiter,
    app: &str,
    user: &str,
) -> Fate {
    let mut attempt = 0;
    loop {
        attempt += 1;
        limiter.acquire().await;
        let err = match pinpoint::delete_user_endpoints(client, app, user).await {
            UserErasure::Deleted(n) => {
                limiter.succeeded().await;
                return Fate::Deleted(n);
            }
            UserErasure::NoEndpoints => {
                limiter.succeeded().await;
                return Fate::NoEndpoints;
            }
            UserErasure::Failed(e) => e,
        };
        if let ErasureError::Throttled(_) = err {
            limiter.throttled().await;
        }
        if !err.is_retryable() || attempt >= cfg.max_attempts {
            return Fate::Failed(match err {
                ErasureError::Throttled(_) => "still throttled after retries",
                ErasureError::Transient(_) => "service errors after retries",
                ErasureError::Forbidden(_) => "access denied",
                ErasureError::Invalid(_) => "request rejected as invalid",
                ErasureError::NotFound(_) => "not found",
                _ => "service error",
            });
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
}

/// Exponential backoff with full jitter: up to 100 ms × 2^attempt, capped at 10 s.
pub fn backoff(attempt: u32) -> Duration {
    static SEED: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let cap_ms = (100u64 << attempt.min(7)).min(10_000);
    // xorshift: jitter only needs to decorrelate concurrent retries, not be unpredictable.
    let mut x = SEED.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    Duration::from_millis(x % (cap_ms + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded() {
        for attempt in 0..20 {
            assert!(backoff(attempt) <= Duration::from_millis(10_000));
        }
        assert!(backoff(1) <= Duration::from_millis(200));
    }
}
