//! Erasing one shard: every user in it, in every configured destination (each an
//! [`ErasureTarget`], paced by itself), resuming from the shard's progress object after a crash
//! or a hand-back, handing the rest back near the invocation's deadline, and trying again the
//! users an earlier execution recorded as failed. One loop, for every kind of destination.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

mod attempt;
mod batch;

pub use attempt::backoff;
use attempt::erase_batch;
use batch::{give_up, next_batch, positions, record};

use crate::config;
use crate::deadline::near;
use crate::error::{ConfigError, ErasureError};
use crate::limits;
use crate::naming::RequestId;
use crate::payload::{ShardResult, ShardSpec};
use crate::ports::{ErasureTarget, ObjectStore};
use crate::request_csv::{read_all, BadRowPolicy};
use crate::shard_progress::{self, ShardProgress, TargetProgress};

/// Settings of the erase step.
#[derive(Debug, Clone)]
pub struct EraseConfig {
    /// Pinpoint applications to erase from (may be empty).
    pub application_ids: Vec<String>,
    /// This function's share of the DeleteUserEndpoints quota, requests per second.
    pub rate_per_second: f64,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Attempts per user and destination before the user is recorded as failed.
    pub max_attempts: u32,
    /// Where progress objects and failed-user lists go.
    pub work_prefix: String,
    /// How close to the invocation's deadline the step stops and hands the rest back.
    pub handback_margin: Duration,
    /// The function's timeout: the deadline when the runtime reports none that is usable.
    pub function_timeout: Duration,
}

impl EraseConfig {
    /// Reads PINPOINT_APPLICATION_IDS, PINPOINT_ACCOUNT_RATE_PER_SECOND, PINPOINT_SHARD_CONCURRENCY
    /// (the map's MaxConcurrency: each function takes that share of the account's rate),
    /// PINPOINT_CONCURRENCY, PINPOINT_MAX_ATTEMPTS, WORK_PREFIX, PINPOINT_HANDBACK_SECONDS and
    /// FUNCTION_TIMEOUT_SECONDS.
    pub fn from_env() -> Result<Self, ConfigError> {
        let account_rate: f64 = config::number(
            "PINPOINT_ACCOUNT_RATE_PER_SECOND",
            limits::DEFAULT_PINPOINT_REQUESTS_PER_SECOND,
        )?;
        let shards_at_once: f64 = config::number(
            "PINPOINT_SHARD_CONCURRENCY",
            f64::from(limits::DEFAULT_SHARD_CONCURRENCY),
        )?;
        if !(account_rate > 0.0 && shards_at_once >= 1.0) {
            return Err(ConfigError {
                name: "PINPOINT_ACCOUNT_RATE_PER_SECOND",
                problem: "the rate must be positive and the shard concurrency at least 1".into(),
            });
        }
        Ok(EraseConfig {
            application_ids: config::optional_list("PINPOINT_APPLICATION_IDS"),
            rate_per_second: account_rate / shards_at_once,
            concurrency: config::number("PINPOINT_CONCURRENCY", limits::DEFAULT_ERASE_CONCURRENCY)?
                .max(1),
            max_attempts: config::number(
                "PINPOINT_MAX_ATTEMPTS",
                limits::DEFAULT_ERASE_MAX_ATTEMPTS,
            )?
            .max(1),
            work_prefix: config::prefix("WORK_PREFIX", "work/")?,
            handback_margin: Duration::from_secs(config::number(
                "PINPOINT_HANDBACK_SECONDS",
                limits::DEFAULT_HANDBACK_SECONDS,
            )?),
            function_timeout: Duration::from_secs(config::number(
                "FUNCTION_TIMEOUT_SECONDS",
                limits::DEFAULT_FUNCTION_TIMEOUT_SECONDS,
            )?),
        })
    }
}

/// Users handled between two progress records: what a crash can make the retry redo.
pub const CHECKPOINT_USERS: usize = 100;

/// Why users of a shard handed back `limits::MAX_SHARD_HANDBACKS` times are given up.
pub const HANDBACKS_SPENT: &str =
    "the shard was handed back at its deadline too many times (throttled for hours)";

/// Erases every user of the shard in every destination. Returns `complete: false` when it
/// handed the rest back (near its deadline, or still throttled at it).
pub async fn handle<S: ObjectStore, T: ErasureTarget>(
    cfg: &EraseConfig,
    store: &S,
    targets: &[T],
    deadline: Option<SystemTime>,
    shard: ShardSpec,
) -> Result<ShardResult, ErasureError> {
    let id = shard.request_id.clone();
    if targets.is_empty() {
        // No destination configured (Pinpoint's resources are no longer reachable for most
        // accounts): nothing to call, nothing to record.
        return Ok(ShardProgress::default().result(&shard, true));
    }
    let mut progress = shard_progress::load(store, &id, &cfg.work_prefix, &shard)
        .await?
        .unwrap_or_default();
    if shard.execution.is_some() && progress.execution != shard.execution {
        progress.start_again(shard.execution.clone());
        if progress.to_retry() > 0 {
            tracing::info!(request_id = %id, shard = shard.index, retry = progress.to_retry(), "a new execution of the request: trying the users recorded as failed again");
        }
    }
    if progress.complete {
        tracing::info!(request_id = %id, shard = shard.index, "shard already erased; returning its recorded result");
        return Ok(progress.result(&shard, true));
    }
    if progress.handled() > 0 {
        tracing::info!(request_id = %id, shard = shard.index, done = progress.handled(), "resuming the shard where an earlier attempt stopped");
    }
    let body = store.get(&shard.bucket, &shard.key).await?;
    let read = read_all(&body, BadRowPolicy::RejectFile);
    if read.verdict.is_err() || read.ids.len() as u64 != shard.users {
        return Err(ErasureError::Invalid(format!(
            "shard {} does not hold the {} users it should",
            shard.index, shard.users
        )));
    }
    let users = read.ids;
    for t in targets {
        if !progress.targets.iter().any(|p| p.id() == t.id()) {
            progress.targets.push(TargetProgress::new(t.id()));
        }
    }
    let checkpoint = Checkpoint {
        store,
        id: &id,
        work_prefix: &cfg.work_prefix,
        shard: &shard,
    };
    let mut progressed = false;
    for ti in 0..progress.targets.len() {
        let Some(target) = targets.iter().find(|t| t.id() == progress.targets[ti].id()) else {
            continue; // recorded by an earlier configuration; left as it was
        };
        if progress.targets[ti].finished(users.len()) {
            continue;
        }
        // A shard handed back too often gives its remaining users up as failed (listed, with
        // this reason) rather than loop on: each round adds to its child execution's history,
        // which AWS caps at 25,000 events (docs/LIMITS.md).
        let usable = if progress.handbacks >= limits::MAX_SHARD_HANDBACKS {
            Err(HANDBACKS_SPENT)
        } else {
            match target.check().await {
                Ok(()) => Ok(()),
                // Retrying the shard later may work: let Step Functions do it.
                Err(e) if e.is_retryable() => return Err(e),
                Err(e) => {
                    tracing::error!(target_id = %target.id(), error = %e, "destination unusable; its users are recorded as failed");
                    Err(target.unusable(&e))
                }
            }
        };
        match usable {
            Ok(()) => {
                while let Some(batch) = next_batch(&progress.targets[ti], users.len()) {
                    // Hand back only after some progress in this invocation, so the loop ends.
                    if progressed && near(deadline, cfg.handback_margin) {
                        tracing::info!(request_id = %id, shard = shard.index, "deadline near: handing the rest of the shard back");
                        return checkpoint.hand_back(&mut progress).await;
                    }
                    let positions = positions(&batch, &progress.targets[ti]);
                    let fates = erase_batch(cfg, target, deadline, &users, positions).await;
                    let (moved, out_of_time) =
                        record(&mut progress.targets[ti], batch, fates, users.len());
                    progressed |= moved;
                    if out_of_time {
                        tracing::warn!(request_id = %id, shard = shard.index, target_id = %target.id(), "still throttled near the deadline: handing the rest of the shard back");
                        return checkpoint.hand_back(&mut progress).await;
                    }
                    checkpoint.save(&progress).await?;
                }
            }
            Err(why) => give_up(&mut progress.targets[ti], users.len(), why),
        }
        list_failed(cfg, store, &id, &shard, &users, &mut progress.targets[ti]).await?;
    }
    progress.complete = true;
    checkpoint.save(&progress).await?;
    let result = progress.result(&shard, true);
    {
        use crate::metrics::{emit, names};
        let sum = |f: fn(&crate::payload::AppShardResult) -> u64| {
            result.applications.iter().map(f).sum::<u64>()
        };
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

/// Where a shard's progress object goes.
struct Checkpoint<'a, S> {
    store: &'a S,
    id: &'a RequestId,
    work_prefix: &'a str,
    shard: &'a ShardSpec,
}

impl<S: ObjectStore> Checkpoint<'_, S> {
    async fn save(&self, progress: &ShardProgress) -> Result<(), ErasureError> {
        shard_progress::save(self.store, self.id, self.work_prefix, self.shard, progress).await
    }

    /// Saves the progress with one more hand-back counted, and returns `complete: false`: the
    /// state machine calls the step again for the rest.
    async fn hand_back(&self, progress: &mut ShardProgress) -> Result<ShardResult, ErasureError> {
        progress.handbacks += 1;
        self.save(progress).await?;
        Ok(progress.result(self.shard, false))
    }
}

/// Writes the destination's failed users (IDs in the clear, inside the request's work folder)
/// and sets its counts.
async fn list_failed(
    cfg: &EraseConfig,
    store: &impl ObjectStore,
    id: &RequestId,
    shard: &ShardSpec,
    users: &[String],
    t: &mut TargetProgress,
) -> Result<(), ErasureError> {
    if !t.failed.is_empty() {
        let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
        let mut csv = b"USER_ID,REASON\n".to_vec();
        t.failed.sort();
        for (i, why) in &t.failed {
            *reasons.entry(why.clone()).or_default() += 1;
            let Some(user) = users.get(*i as usize) else {
                continue;
            };
            let mut line = Vec::new();
            crate::request_csv::encode_line(user, &mut line);
            line.pop();
            csv.extend_from_slice(&line);
            csv.extend_from_slice(format!(",{why}\n").as_bytes());
        }
        let key = id.failed_users_key(&cfg.work_prefix, t.id(), shard.index);
        store
            .put(&shard.bucket, &key, csv, "text/csv", None)
            .await?;
        t.result.failure_reasons = reasons;
        t.result.failed_users_key = Some(key);
    }
    t.result.users_processed = t.done;
    t.result.failed_users = t.failed.len() as u64;
    tracing::info!(
        request_id = %id,
        shard = shard.index,
        target_id = %t.id(),
        users = t.result.users_processed,
        deleted = t.result.endpoints_deleted,
        without_data = t.result.users_without_endpoints,
        failed = t.result.failed_users,
        "shard erased in application"
    );
    Ok(())
}

#[cfg(test)]
mod tests;
