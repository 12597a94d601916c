//! Erasing one shard: every user in it, in every configured destination (each an
//! [`ErasureTarget`], paced by itself), resuming from the shard's progress object after a crash
//! or a hand-back, handing the rest back near the invocation's deadline, and trying again the
//! users an earlier execution recorded as failed. One loop, for every kind of destination.

use std::collections::BTreeMap;
use std::time::SystemTime;

mod attempt;
mod batch;

pub use attempt::backoff;
use attempt::erase_batch;
use batch::{give_up, next_batch, positions, record};

mod config;
pub use config::{EraseConfig, ProfilesConfig};

use crate::deadline::near;
use crate::error::ErasureError;
use crate::limits;
use crate::naming::RequestId;
use crate::pacing::{Budget, Lease};
use crate::payload::{ShardResult, ShardSpec, TargetKind};
use crate::ports::{ErasureTarget, ObjectStore};
use crate::request_csv::{read_all, BadRowPolicy};
use crate::shard_progress::{self, ShardProgress, TargetProgress};

/// Users handled between two progress records: what a crash can make the retry redo.
pub const CHECKPOINT_USERS: usize = 100;

/// Why users of a shard handed back `limits::MAX_SHARD_HANDBACKS` times are given up.
pub const HANDBACKS_SPENT: &str =
    "the shard was handed back at its deadline too many times (throttled for hours)";

/// Erases every user of the shard in every destination. Returns `complete: false` when it
/// handed the rest back (near its deadline, or still throttled at it). While it runs it holds a
/// pacing lease, so every erase invocation of the deployment shares `budget`'s quotas.
pub async fn handle<S: ObjectStore, T: ErasureTarget>(
    cfg: &EraseConfig,
    store: &S,
    targets: &[T],
    budget: &Budget<'_>,
    deadline: Option<SystemTime>,
    shard: ShardSpec,
) -> Result<ShardResult, ErasureError> {
    if targets.is_empty() {
        // No destination configured: nothing to call, nothing to record.
        return Ok(ShardProgress::default().result(&shard, true));
    }
    if budget.is_empty() {
        // No quota to share (no limiter): no lease either.
        let pace = Pace {
            lease: None,
            budget,
        };
        return erase_shard(cfg, store, targets, &pace, deadline, shard).await;
    }
    let until = deadline.unwrap_or_else(|| SystemTime::now() + cfg.function_timeout);
    let lease = Lease::take(
        store,
        &shard.bucket,
        &cfg.work_prefix,
        until,
        &shard.request_id,
        shard.index,
    )
    .await;
    lease.refresh(budget, SystemTime::now()).await;
    let pace = Pace {
        lease: Some(&lease),
        budget,
    };
    let result = erase_shard(cfg, store, targets, &pace, deadline, shard).await;
    lease.release().await;
    result
}

/// The lease an invocation holds and the budget it shares: refreshed at every checkpoint.
struct Pace<'a, S> {
    lease: Option<&'a Lease<'a, S>>,
    budget: &'a Budget<'a>,
}

async fn erase_shard<S: ObjectStore, T: ErasureTarget>(
    cfg: &EraseConfig,
    store: &S,
    targets: &[T],
    pace: &Pace<'_, S>,
    deadline: Option<SystemTime>,
    shard: ShardSpec,
) -> Result<ShardResult, ErasureError> {
    let id = shard.request_id.clone();
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
        if !progress.targets.iter().any(|p| p.is(t.kind(), t.id())) {
            progress.targets.push(TargetProgress::new(t.kind(), t.id()));
        }
    }
    let checkpoint = Checkpoint {
        store,
        id: &id,
        work_prefix: &cfg.work_prefix,
        shard: &shard,
        pace,
        since: pace.budget.throttle_counts(),
        before: progress.pacing.clone(),
    };
    let mut progressed = false;
    for ti in 0..progress.targets.len() {
        let recorded = &progress.targets[ti];
        let Some(target) = targets.iter().find(|t| recorded.is(t.kind(), t.id())) else {
            continue; // recorded by an earlier configuration; left as it was
        };
        if progress.targets[ti].finished(users.len()) {
            // Finished by an earlier invocation that may have stopped before its failed users
            // were listed and recorded: list them now (the same key; writing it again is harmless).
            let t = &progress.targets[ti];
            if !t.failed.is_empty() && t.result.failed_users_key.is_none() {
                list_failed(cfg, store, &id, &shard, &users, &mut progress.targets[ti]).await?;
                checkpoint.save(&mut progress).await?;
            }
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
                    tracing::error!(target = %target.kind(), target_id = %target.id(), error = %e, "destination unusable; its users are recorded as failed");
                    let why = target.unusable(&e);
                    // One reason for the whole destination, in the receipt's entry.
                    progress.targets[ti].result.unusable = Some(why.to_string());
                    Err(why)
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
                    let fates =
                        erase_batch(cfg, target, shard.mode, deadline, &users, positions).await;
                    let (moved, out_of_time) =
                        record(&mut progress.targets[ti], batch, fates, users.len());
                    progressed |= moved;
                    if out_of_time {
                        tracing::warn!(request_id = %id, shard = shard.index, target_id = %target.id(), "still throttled near the deadline: handing the rest of the shard back");
                        return checkpoint.hand_back(&mut progress).await;
                    }
                    checkpoint.save(&mut progress).await?;
                }
            }
            Err(why) => give_up(&mut progress.targets[ti], users.len(), why),
        }
        list_failed(cfg, store, &id, &shard, &users, &mut progress.targets[ti]).await?;
        if !progress.targets[ti].failed.is_empty() {
            // Record the list's key and reasons before the next destination: a crash there must
            // not leave failed users counted but unlisted.
            checkpoint.save(&mut progress).await?;
        }
    }
    progress.complete = true;
    checkpoint.save(&mut progress).await?;
    let result = progress.result(&shard, true);
    if shard.mode == crate::payload::Mode::Erase {
        emit_metrics(&result);
    }
    Ok(result)
}

/// The shard's counts as metrics, per kind of destination.
fn emit_metrics(result: &ShardResult) {
    use crate::metrics::{emit, names};
    let sum = |kind: Option<TargetKind>, f: fn(&crate::payload::TargetShardResult) -> u64| {
        result
            .targets
            .iter()
            .filter(|t| kind.is_none_or(|k| t.kind == k))
            .map(f)
            .sum::<u64>()
    };
    emit(&[
        (
            names::USERS_ERASED,
            sum(None, |a| a.users_processed.saturating_sub(a.failed_users)),
        ),
        (
            names::ENDPOINTS_DELETED,
            sum(Some(TargetKind::Pinpoint), |a| a.items_deleted),
        ),
        (
            names::PROFILES_DELETED,
            sum(Some(TargetKind::CustomerProfiles), |a| a.items_deleted),
        ),
        (names::PROFILES_REAPPEARED, sum(None, |a| a.reappeared)),
        (names::FAILED_USERS, sum(None, |a| a.failed_users)),
    ]);
}

/// Where a shard's progress object goes, and the pacing it refreshes at each save.
struct Checkpoint<'a, S> {
    store: &'a S,
    id: &'a RequestId,
    work_prefix: &'a str,
    shard: &'a ShardSpec,
    pace: &'a Pace<'a, S>,
    /// The limiters' throttle counts when this invocation started.
    since: Vec<u64>,
    /// The pacing recorded by earlier invocations of the shard (their throttles count too).
    before: Vec<shard_progress::QuotaUse>,
}

impl<S: ObjectStore> Checkpoint<'_, S> {
    /// Refreshes the pacing share from the leases and records it, with the progress.
    async fn save(&self, progress: &mut ShardProgress) -> Result<(), ErasureError> {
        let holders = match self.pace.lease {
            Some(lease) => lease.refresh(self.pace.budget, SystemTime::now()).await,
            None => None,
        };
        if !self.pace.budget.is_empty() {
            let holders = holders
                .or_else(|| progress.pacing.first().map(|q| q.holders as usize))
                .unwrap_or(1);
            progress.pacing = self
                .pace
                .budget
                .usage(holders, &self.since, &self.before)
                .await;
        }
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
        let key = id.failed_users_key(&cfg.work_prefix, t.kind(), t.id(), shard.index);
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
        target = %t.kind(),
        target_id = %t.id(),
        users = t.result.users_processed,
        deleted = t.result.items_deleted,
        without_data = t.result.users_without_items,
        failed = t.result.failed_users,
        "shard erased in application"
    );
    Ok(())
}

#[cfg(test)]
mod tests;
