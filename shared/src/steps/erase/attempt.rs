//! Erasing users in one destination: each user tried until erased, failed for good, or out of
//! time while throttled; `concurrency` users at a time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use futures::StreamExt;

use super::EraseConfig;
use crate::deadline::near;
use crate::error::ErasureError;
use crate::payload::Mode;
use crate::ports::{Erased, ErasureTarget, Holding};

/// Throttled calls of one user with no deadline to stop at (outside Lambda) before giving up.
pub(super) const THROTTLED_CALLS_WITHOUT_DEADLINE: u32 = 1000;

/// How one user ended in one destination.
pub(super) enum Fate {
    Erased(Erased),
    Failed(&'static str),
    /// Still throttled when the invocation's time ran out: not done, to be asked again.
    OutOfTime,
}

/// Erases the users at these positions, `concurrency` at a time (positions past the shard's
/// end, from a changed shard, are skipped).
pub(super) async fn erase_batch<T: ErasureTarget>(
    cfg: &EraseConfig,
    target: &T,
    mode: Mode,
    deadline: Option<SystemTime>,
    users: &[String],
    positions: Vec<usize>,
) -> Vec<(usize, Fate)> {
    futures::stream::iter(positions)
        .filter_map(|i| async move { users.get(i).map(|u| (i, u)) })
        .map(|(i, user)| async move { (i, erase_user(cfg, target, mode, deadline, user).await) })
        .buffer_unordered(cfg.concurrency)
        .collect()
        .await
}

/// One user in one destination. Throttling is the quota speaking, not a failure: the target
/// slows down, and the user is tried again for as long as the invocation has time (then handed
/// back, never dropped). Other retryable errors get `max_attempts`. In a plan, the same loop
/// only reads (`preview`): what would be deleted is counted as deleted, and the plan's receipt
/// names it so.
pub(super) async fn erase_user<T: ErasureTarget>(
    cfg: &EraseConfig,
    target: &T,
    mode: Mode,
    deadline: Option<SystemTime>,
    user: &str,
) -> Fate {
    let mut attempt = 0;
    let mut throttled = 0u32;
    loop {
        let answer = match mode {
            Mode::Erase => target.erase(user).await,
            Mode::Plan => target.preview(user).await.map(|held| match held {
                Holding::Items(n) => Erased::Deleted(n),
                Holding::Nothing => Erased::NothingThere,
            }),
        };
        let err = match answer {
            Ok(erased) => return Fate::Erased(erased),
            Err(e) => e,
        };
        if let ErasureError::Throttled(_) = err {
            throttled += 1;
            let out_of_time = match deadline {
                Some(_) => near(deadline, cfg.handback_margin / 2),
                None => throttled >= THROTTLED_CALLS_WITHOUT_DEADLINE,
            };
            if out_of_time {
                return Fate::OutOfTime;
            }
            // The target already spaces calls at its lowered rate; a short jittered pause keeps
            // the throttled calls of one batch from coming back together.
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
        ^ SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    Duration::from_millis(x % (cap_ms + 1))
}
