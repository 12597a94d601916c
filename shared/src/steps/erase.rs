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
use crate::limits;
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
    /// How close to the invocation's deadline the step stops and hands the rest back.
    pub handback_margin: Duration,
    /// The function's timeout: the deadline when the runtime reports none that is usable.
    pub function_timeout: Duration,
}

/// The invocation's deadline: the one the Lambda runtime reports, or, when that one has already
/// passed as the invocation starts (a local runtime such as `cargo lambda watch` reports 0),
/// the function's timeout from now. On AWS the reported deadline is always ahead.
pub fn invocation_deadline(
    reported: std::time::SystemTime,
    now: std::time::SystemTime,
    function_timeout: Duration,
) -> std::time::SystemTime {
    if reported > now {
        reported
    } else {
        now + function_timeout
    }
}

impl EraseConfig {
    /// Reads PINPOINT_APPLICATION_IDS, PINPOINT_ACCOUNT_RATE_PER_SECOND, PINPOINT_SHARD_CONCURRENCY
    /// (the map's MaxConcurrency: each function takes that share of the account's rate),
    /// PINPOINT_CONCURRENCY, PINPOINT_MAX_ATTEMPTS, WORK_PREFIX, PINPOINT_HANDBACK_SECONDS and
    /// FUNCTION_TIMEOUT_SECONDS.
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
            application_ids: config::optional_list("PINPOINT_APPLICATION_IDS"),
            rate_per_second: account_rate / shards_at_once,
            concurrency: config::number("PINPOINT_CONCURRENCY", 16usize)?.max(1),
            max_attempts: config::number("PINPOINT_MAX_ATTEMPTS", 8u32)?.max(1),
            work_prefix: config::prefix("WORK_PREFIX", "work/")?,
            handback_margin: Duration::from_secs(config::number(
                "PINPOINT_HANDBACK_SECONDS",
                30u64,
            )?),
            function_timeout: Duration::from_secs(config::number(
                "FUNCTION_TIMEOUT_SECONDS",
                900u64,
            )?),
        })
    }
}

/// How one user ended in one application.
enum Fate {
    Deleted(u64),
    NoEndpoints,
    Failed(&'static str),
    /// Still throttled when the invocation's time ran out: not done, to be asked again.
    OutOfTime,
}

/// Erases every user of the shard from every application, resuming from the shard's progress
/// object when an earlier attempt got part of the way (a killed process, a timeout), and handing
/// back `complete: false` when the invocation's deadline is near so the workflow continues it.
pub async fn handle(
    cfg: &EraseConfig,
    s3c: &aws_sdk_s3::Client,
    client: &aws_sdk_pinpoint::Client,
    limiter: &RateLimiter,
    deadline: Option<std::time::SystemTime>,
    shard: ShardSpec,
) -> Result<ShardResult, ErasureError> {
    let id = RequestId::parse(&shard.request_id)
        .ok_or_else(|| ErasureError::Invalid("the shard has a malformed request ID".into()))?;
    if cfg.application_ids.is_empty() {
        // No Pinpoint application configured (Pinpoint's resources are no longer reachable for
        // most accounts): nothing to call, nothing to record.
        return Ok(ShardResult {
            index: shard.index,
            users: shard.users,
            applications: Vec::new(),
            complete: true,
        });
    }
    let progress_key = id.shard_progress_key(&cfg.work_prefix, shard.index);
    let mut progress: ShardProgress = match s3::read_object(s3c, &shard.bucket, &progress_key).await
    {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|_| {
            ErasureError::Invalid(format!(
                "shard {}'s progress object is unreadable",
                shard.index
            ))
        })?,
        Err(ErasureError::NotFound(_)) => ShardProgress::default(),
        Err(e) => return Err(e),
    };
    // A new execution for the same request (an operator's redrive) tries again the users an
    // earlier one recorded as failed; users already erased are never asked again.
    let redriven = shard.execution.is_some() && progress.execution != shard.execution;
    if redriven {
        // A new child execution: a history of its own, so its own hand-back rounds.
        progress.handbacks = 0;
    }
    if redriven && progress.applications.iter().any(|a| !a.failed.is_empty()) {
        for a in &mut progress.applications {
            let failed = std::mem::take(&mut a.failed);
            a.retry.extend(failed.into_iter().map(|(i, _)| i));
            a.result.failure_reasons.clear();
            a.result.failed_users_key = None;
        }
        progress.complete = false;
        tracing::info!(request_id = %id, shard = shard.index, retry = progress.retry_users(), "a new execution of the request: trying the users recorded as failed again");
    }
    if shard.execution.is_some() {
        progress.execution.clone_from(&shard.execution);
    }
    if progress.complete {
        tracing::info!(request_id = %id, shard = shard.index, "shard already erased; returning its recorded result");
        return Ok(progress.result(&shard, true));
    }
    if progress.resumed_from_users() > 0 {
        tracing::info!(request_id = %id, shard = shard.index, done = progress.resumed_from_users(), "resuming the shard where an earlier attempt stopped");
    }
    let body = s3::read_object(s3c, &shard.bucket, &shard.key).await?;
    let (users, _, verdict) = read_all(&body, BadRowPolicy::RejectFile);
    if verdict.is_err() || users.len() as u64 != shard.users {
        return Err(ErasureError::Invalid(format!(
            "shard {} does not hold the {} users it should",
            shard.index, shard.users
        )));
    }
    for app in &cfg.application_ids {
        if !progress
            .applications
            .iter()
            .any(|a| &a.result.application_id == app)
        {
            progress.applications.push(AppProgress {
                result: AppShardResult {
                    application_id: app.clone(),
                    ..Default::default()
                },
                done: 0,
                failed: Vec::new(),
                ahead: Vec::new(),
                retry: Vec::new(),
            });
        }
    }
    let mut progressed = false;
    for ai in 0..progress.applications.len() {
        let app = progress.applications[ai].result.application_id.clone();
        if !cfg.application_ids.contains(&app)
            || (progress.applications[ai].done as usize >= users.len()
                && progress.applications[ai].retry.is_empty())
        {
            continue;
        }
        // A shard handed back too often gives its remaining users up as failed (listed, with
        // this reason) rather than loop on: each round adds to its child execution's history,
        // which AWS caps at 25,000 events (docs/LIMITS.md).
        let usable = if progress.handbacks >= limits::MAX_SHARD_HANDBACKS {
            Err(ErasureError::Service(HANDBACKS_SPENT.into()))
        } else {
            pinpoint::check_application(client, &app).await
        };
        match usable {
            Ok(()) => {
                // Users an earlier execution recorded as failed, first (see `redriven`).
                while !progress.applications[ai].retry.is_empty() {
                    if progressed && near(deadline, cfg.handback_margin) {
                        tracing::info!(request_id = %id, shard = shard.index, "deadline near: handing the rest of the shard back");
                        return hand_back(s3c, &shard, &progress_key, &mut progress).await;
                    }
                    let batch: Vec<u64> = progress.applications[ai]
                        .retry
                        .iter()
                        .take(CHECKPOINT_USERS)
                        .copied()
                        .collect();
                    let fates: Vec<(u64, Fate)> = futures::stream::iter(batch)
                        .filter_map(|i| {
                            let user = users.get(i as usize);
                            async move { user.map(|u| (i, u)) }
                        })
                        .map(|(i, user)| {
                            let app = &app;
                            async move {
                                (
                                    i,
                                    erase_user(cfg, client, limiter, deadline, app, user).await,
                                )
                            }
                        })
                        .buffer_unordered(cfg.concurrency)
                        .collect()
                        .await;
                    let a = &mut progress.applications[ai];
                    let mut out_of_time = false;
                    let mut handled = Vec::new();
                    for (i, fate) in fates {
                        match fate {
                            Fate::Deleted(n) => a.result.endpoints_deleted += n,
                            Fate::NoEndpoints => a.result.users_without_endpoints += 1,
                            Fate::Failed(why) => a.failed.push((i, why.to_string())),
                            Fate::OutOfTime => {
                                out_of_time = true;
                                continue;
                            }
                        }
                        handled.push(i);
                    }
                    // Positions past the shard's end (a changed shard) cannot be retried.
                    a.retry
                        .retain(|i| (*i as usize) < users.len() && !handled.contains(i));
                    progressed |= !handled.is_empty();
                    if out_of_time {
                        tracing::warn!(request_id = %id, shard = shard.index, application_id = %app, "still throttled near the deadline: handing the rest of the shard back");
                        return hand_back(s3c, &shard, &progress_key, &mut progress).await;
                    }
                    save(s3c, &shard.bucket, &progress_key, &progress).await?;
                }
                while (progress.applications[ai].done as usize) < users.len() {
                    // Hand back only after some progress in this invocation, so the loop always ends.
                    if progressed && near(deadline, cfg.handback_margin) {
                        tracing::info!(request_id = %id, shard = shard.index, "deadline near: handing the rest of the shard back");
                        return hand_back(s3c, &shard, &progress_key, &mut progress).await;
                    }
                    let from = progress.applications[ai].done as usize;
                    let to = (from + CHECKPOINT_USERS).min(users.len());
                    let ahead = &progress.applications[ai].ahead;
                    let todo: Vec<usize> = (from..to)
                        .filter(|i| !ahead.contains(&(*i as u64)))
                        .collect();
                    let fates: Vec<(usize, Fate)> = futures::stream::iter(todo)
                        .map(|i| {
                            let (user, app) = (&users[i], &app);
                            async move {
                                (
                                    i,
                                    erase_user(cfg, client, limiter, deadline, app, user).await,
                                )
                            }
                        })
                        .buffer_unordered(cfg.concurrency)
                        .collect()
                        .await;
                    // Progress counts users from the start of the shard: it moves up to the
                    // first user still throttled at the deadline; users after that one who were
                    // handled are counted now and remembered, so nobody is asked twice.
                    let finished = fates
                        .iter()
                        .filter(|(_, f)| matches!(f, Fate::OutOfTime))
                        .map(|(i, _)| *i)
                        .min()
                        .unwrap_or(to);
                    let a = &mut progress.applications[ai];
                    for (i, fate) in fates {
                        match fate {
                            Fate::Deleted(n) => a.result.endpoints_deleted += n,
                            Fate::NoEndpoints => a.result.users_without_endpoints += 1,
                            Fate::Failed(why) => a.failed.push((i as u64, why.to_string())),
                            Fate::OutOfTime => continue,
                        }
                        if i > finished {
                            a.ahead.push(i as u64);
                        }
                    }
                    a.done = finished as u64;
                    a.ahead.retain(|i| *i >= finished as u64);
                    progressed |= finished > from;
                    if finished < to {
                        tracing::warn!(request_id = %id, shard = shard.index, application_id = %app, "still throttled near the deadline: handing the rest of the shard back");
                        return hand_back(s3c, &shard, &progress_key, &mut progress).await;
                    }
                    save(s3c, &shard.bucket, &progress_key, &progress).await?;
                }
            }
            // Retrying the shard later may work: let Step Functions do it.
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => {
                let why = match &e {
                    ErasureError::NotFound(_) => "application not found",
                    ErasureError::Forbidden(_) => {
                        "access denied (missing permission, or Pinpoint engagement features ended for this account)"
                    }
                    ErasureError::Service(m) if m == HANDBACKS_SPENT => HANDBACKS_SPENT,
                    _ => "application check failed",
                };
                tracing::error!(application_id = %app, error = %e, "Pinpoint application unusable; its users are recorded as failed");
                let a = &mut progress.applications[ai];
                let retry = std::mem::take(&mut a.retry);
                a.failed
                    .extend(retry.into_iter().map(|i| (i, why.to_string())));
                let from = a.done;
                let ahead = std::mem::take(&mut a.ahead);
                a.failed.extend(
                    (from..users.len() as u64)
                        .filter(|i| !ahead.contains(i))
                        .map(|i| (i, why.to_string())),
                );
                a.done = users.len() as u64;
            }
        }
        let a = &mut progress.applications[ai];
        if !a.failed.is_empty() {
            let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
            let mut csv = b"USER_ID,REASON\n".to_vec();
            a.failed.sort();
            for (i, why) in &a.failed {
                *reasons.entry(why.clone()).or_default() += 1;
                let mut line = Vec::new();
                crate::request_csv::encode_line(&users[*i as usize], &mut line);
                line.pop();
                csv.extend_from_slice(&line);
                csv.extend_from_slice(format!(",{why}\n").as_bytes());
            }
            let key = id.failed_users_key(&cfg.work_prefix, &app, shard.index);
            s3::put(s3c, &shard.bucket, &key, csv, "text/csv").await?;
            a.result.failure_reasons = reasons;
            a.result.failed_users_key = Some(key);
        }
        a.result.users_processed = a.done;
        a.result.failed_users = a.failed.len() as u64;
        tracing::info!(
            request_id = %id,
            shard = shard.index,
            application_id = %app,
            users = a.result.users_processed,
            endpoints_deleted = a.result.endpoints_deleted,
            without_endpoints = a.result.users_without_endpoints,
            failed = a.result.failed_users,
            "shard erased in application"
        );
    }
    progress.complete = true;
    save(s3c, &shard.bucket, &progress_key, &progress).await?;
    let result = progress.result(&shard, true);
    {
        use crate::metrics::{emit, names};
        let sum = |f: fn(&AppShardResult) -> u64| result.applications.iter().map(f).sum::<u64>();
        emit(&[
            (
                names::USERS_ERASED,
                sum(|a| a.users_processed.saturating_sub(a.failed_users)),
            ),
            (names::ENDPOINTS_DELETED, sum(|a| a.endpoints_deleted)),
            (names::FAILED_USERS, sum(|a| a.failed_users)),
        ]);
    }
    Ok(result)
}

/// What a shard's progress object records, as a result (for the receipt of a stopped execution).
pub async fn recorded(
    s3c: &aws_sdk_s3::Client,
    id: &RequestId,
    work_prefix: &str,
    shard: &ShardSpec,
) -> Result<Option<ShardResult>, ErasureError> {
    let key = id.shard_progress_key(work_prefix, shard.index);
    match s3::read_object(s3c, &shard.bucket, &key).await {
        Ok(bytes) => {
            let p: ShardProgress = serde_json::from_slice(&bytes).map_err(|_| {
                ErasureError::Invalid(format!(
                    "shard {}'s progress object is unreadable",
                    shard.index
                ))
            })?;
            Ok(Some(p.result(shard, p.complete)))
        }
        Err(ErasureError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Users erased between two progress records: what a crash can make the retry redo.
const CHECKPOINT_USERS: usize = 100;

/// Why users of a shard handed back `limits::MAX_SHARD_HANDBACKS` times are given up.
const HANDBACKS_SPENT: &str =
    "the shard was handed back at its deadline too many times (throttled for hours)";

/// Saves the shard's progress with one more hand-back counted, and returns `complete: false`:
/// the state machine calls the step again for the rest.
async fn hand_back(
    s3c: &aws_sdk_s3::Client,
    shard: &ShardSpec,
    progress_key: &str,
    progress: &mut ShardProgress,
) -> Result<ShardResult, ErasureError> {
    progress.handbacks += 1;
    save(s3c, &shard.bucket, progress_key, progress).await?;
    Ok(progress.result(shard, false))
}

/// How far a shard got, kept in its progress object (user positions, never IDs).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShardProgress {
    applications: Vec<AppProgress>,
    complete: bool,
    /// The execution that last worked on the shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    execution: Option<String>,
    /// Times the shard was handed back unfinished (bounded by `limits::MAX_SHARD_HANDBACKS`).
    #[serde(default, skip_serializing_if = "is_zero")]
    handbacks: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppProgress {
    result: AppShardResult,
    /// Users of the shard handled so far, in order (a retry starts here).
    done: u64,
    /// Positions in the shard of users that failed, with why.
    failed: Vec<(u64, String)>,
    /// Positions past `done` of users already handled (and counted) by an invocation that
    /// handed the shard back at an earlier user still throttled: not asked again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ahead: Vec<u64>,
    /// Positions of users a new execution tries again (an earlier one recorded them as failed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    retry: Vec<u64>,
}

impl ShardProgress {
    fn resumed_from_users(&self) -> u64 {
        self.applications.iter().map(|a| a.done).sum()
    }

    fn retry_users(&self) -> usize {
        self.applications.iter().map(|a| a.retry.len()).sum()
    }

    fn result(&self, shard: &ShardSpec, complete: bool) -> ShardResult {
        ShardResult {
            index: shard.index,
            users: shard.users,
            applications: self
                .applications
                .iter()
                .map(|a| {
                    let mut r = a.result.clone();
                    r.users_processed = a.done;
                    // Users waiting for their retry have not been erased: failed until then.
                    r.failed_users = (a.failed.len() + a.retry.len()) as u64;
                    r
                })
                .collect(),
            complete,
        }
    }
}

/// Whether the invocation's deadline is closer than `margin` (never without a deadline).
fn near(deadline: Option<std::time::SystemTime>, margin: std::time::Duration) -> bool {
    deadline.is_some_and(|d| {
        d.duration_since(std::time::SystemTime::now())
            .map(|left| left < margin)
            .unwrap_or(true)
    })
}

async fn save(
    s3c: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    progress: &ShardProgress,
) -> Result<(), ErasureError> {
    let body = serde_json::to_vec(progress).map_err(|e| ErasureError::Invalid(e.to_string()))?;
    s3::put(s3c, bucket, key, body, "application/json").await
}

/// Throttled calls of one user with no deadline to stop at (outside Lambda) before giving up.
const THROTTLED_CALLS_WITHOUT_DEADLINE: u32 = 1000;

/// Deletes one user's endpoints in one application. Throttling is the quota speaking, not a
/// failure: it slows the limiter down and is retried for as long as the invocation has time
/// (the user is then handed back, never dropped). Other retryable errors get `max_attempts`.
async fn erase_user(
    cfg: &EraseConfig,
    client: &aws_sdk_pinpoint::Client,
    limiter: &RateLimiter,
    deadline: Option<std::time::SystemTime>,
    app: &str,
    user: &str,
) -> Fate {
    let mut attempt = 0;
    let mut throttled = 0u32;
    loop {
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
            throttled += 1;
            let out_of_time = match deadline {
                Some(d) => d
                    .duration_since(std::time::SystemTime::now())
                    .map(|left| left < cfg.handback_margin / 2)
                    .unwrap_or(true),
                None => throttled >= THROTTLED_CALLS_WITHOUT_DEADLINE,
            };
            if out_of_time {
                return Fate::OutOfTime;
            }
            // The limiter already spaces calls at the lowered rate; a short jittered pause
            // keeps the throttled calls of one batch from coming back together.
            tokio::time::sleep(backoff(throttled.min(3))).await;
            continue;
        }
        attempt += 1;
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
    fn a_deadline_already_past_at_the_start_means_the_timeout_from_now() {
        use std::time::{Duration, SystemTime, UNIX_EPOCH};
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let t = Duration::from_secs(900);
        let ahead = now + Duration::from_secs(60);
        assert_eq!(invocation_deadline(ahead, now, t), ahead);
        assert_eq!(invocation_deadline(UNIX_EPOCH, now, t), now + t);
        assert_eq!(invocation_deadline(now, now, t), now + t);
        let _ = SystemTime::now();
    }

    #[test]
    fn backoff_is_bounded() {
        for attempt in 0..20 {
            assert!(backoff(attempt) <= Duration::from_millis(10_000));
        }
        assert!(backoff(1) <= Duration::from_millis(200));
    }

    /// A shard handed back MAX_SHARD_HANDBACKS times stops: its remaining users are listed as
    /// failed with the reason (in the failed list and the counts), none is dropped, and no
    /// Pinpoint call is made, so its child execution's history stays bounded.
    #[tokio::test]
    async fn a_shard_handed_back_too_often_lists_its_remaining_users_as_failed() {
        use aws_sdk_s3::operation::get_object::GetObjectOutput;
        use aws_sdk_s3::operation::put_object::PutObjectOutput;
        use aws_sdk_s3::primitives::ByteStream;
        use aws_smithy_mocks::{mock, mock_client, RuleMode};
        use std::sync::{Arc, Mutex};

        let progress = serde_json::json!({
            "applications": [{"result": {"applicationId": "app", "usersProcessed": 100,
                "endpointsDeleted": 100, "usersWithoutEndpoints": 0, "failedUsers": 0},
                "done": 100, "failed": []}],
            "complete": false,
            "handbacks": limits::MAX_SHARD_HANDBACKS,
        });
        let shard_csv = (0..250).fold("USER_ID\n".to_string(), |mut s, i| {
            s.push_str(&format!("handback-user-{i}\n"));
            s
        });
        let read_progress = mock!(aws_sdk_s3::Client::get_object)
            .match_requests(|r| r.key().is_some_and(|k| k.contains("/progress/")))
            .then_output(move || {
                GetObjectOutput::builder()
                    .body(ByteStream::from(serde_json::to_vec(&progress).unwrap()))
                    .build()
            });
        let read_shard = mock!(aws_sdk_s3::Client::get_object)
            .match_requests(|r| r.key().is_some_and(|k| k.contains("/shard-")))
            .then_output(move || {
                GetObjectOutput::builder()
                    .body(ByteStream::from(shard_csv.clone().into_bytes()))
                    .build()
            });
        type Written = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
        let written: Written = Arc::default();
        let w = written.clone();
        let put = mock!(aws_sdk_s3::Client::put_object)
            .match_requests(move |r| {
                let body = r.body().bytes().map(<[u8]>::to_vec).unwrap_or_default();
                w.lock()
                    .unwrap()
                    .push((r.key().unwrap_or_default().to_string(), body));
                true
            })
            .then_output(|| PutObjectOutput::builder().build());
        let s3 = mock_client!(
            aws_sdk_s3,
            RuleMode::MatchAny,
            [&read_progress, &read_shard, &put]
        );
        // No rule: any Pinpoint call would fail the test.
        let pinpoint = mock_client!(aws_sdk_pinpoint, RuleMode::MatchAny, []);
        let cfg = EraseConfig {
            application_ids: vec!["app".into()],
            rate_per_second: 100.0,
            concurrency: 4,
            max_attempts: 3,
            work_prefix: "work/".into(),
            handback_margin: Duration::from_secs(30),
            function_timeout: Duration::from_secs(900),
        };
        let shard = ShardSpec {
            request_id: "0".repeat(32),
            bucket: "b".into(),
            key: format!("work/{}/pinpoint/shard-00003.csv", "0".repeat(32)),
            index: 3,
            users: 250,
            execution: None,
        };
        let limiter = RateLimiter::new(100.0);
        let out = handle(&cfg, &s3, &pinpoint, &limiter, None, shard)
            .await
            .unwrap();
        assert!(out.complete);
        let [app] = out.applications.as_slice() else {
            panic!("one application")
        };
        assert_eq!((app.users_processed, app.failed_users), (250, 150));
        assert_eq!(app.failure_reasons.get(HANDBACKS_SPENT), Some(&150));
        let written = written.lock().unwrap();
        let (_, failed) = written
            .iter()
            .find(|(k, _)| k.contains("/failed/"))
            .expect("the failed list");
        let failed = String::from_utf8_lossy(failed);
        assert_eq!(
            failed.lines().count(),
            151,
            "header and every user not erased"
        );
        assert!(failed.contains("handback-user-100,") && failed.contains("handback-user-249,"));
        assert!(
            !failed.contains("handback-user-99,"),
            "users already erased are not failed"
        );
    }
}
