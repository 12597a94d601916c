//! One pacing budget for every erase invocation of a deployment, whatever its request: each
//! running invocation holds a lease (a small S3 object under `<work>pacing/`) and takes an equal
//! share of each API's quota, less a headroom left to live traffic. Two requests erasing at once
//! therefore share the account's quota instead of each taking all of it.
//!
//! A lease's key carries its expiry (the invocation's deadline), so counting the active ones is
//! one listing, no reads: `<work>pacing/<until, epoch seconds>-<request ID>-<shard>`. A crashed
//! invocation's lease stops counting at its deadline. The share is refreshed at every checkpoint;
//! an invocation that started a moment before another may run at its larger share until its next
//! checkpoint (at most `CHECKPOINT_USERS` users), and any throttling that causes is absorbed by
//! the limiters (it never fails a user).
//!
//! S3 relied on: ListObjectsV2 is strongly consistent, so a lease written is listed at once
//! (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::naming::RequestId;
use crate::ports::ObjectStore;
use crate::rate_limit::RateLimiter;

/// Most leases one listing reads (ListObjectsV2's page): far above any Map's MaxConcurrency
/// times the executions a deployment runs at once.
pub const MAX_LEASES_LISTED: usize = 1000;

/// The folder (under the work prefix) holding the leases.
pub fn lease_prefix(work_prefix: &str) -> String {
    format!("{work_prefix}pacing/")
}

/// The key of a lease held until `until` by shard `shard` of request `id`.
pub fn lease_key(work_prefix: &str, until: SystemTime, id: &RequestId, shard: u32) -> String {
    let secs = until.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{}{secs:010}-{id}-{shard}", lease_prefix(work_prefix))
}

/// How many of these lease keys are still held at `now` (at least 1: the caller's own, even
/// when its lease could not be written or listed).
pub fn active(keys: &[String], work_prefix: &str, now: SystemTime) -> usize {
    let prefix = lease_prefix(work_prefix);
    let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    keys.iter()
        .filter_map(|k| k.strip_prefix(&prefix))
        .filter_map(|rest| rest.split_once('-'))
        .filter_map(|(until, _)| until.parse::<u64>().ok())
        .filter(|until| *until > now)
        .count()
        .max(1)
}

/// The quotas this function's calls count against: each limiter with the account's rate for
/// its API (requests per second), and the share of every quota left to live traffic.
pub struct Budget<'a> {
    quotas: Vec<(&'a RateLimiter, f64)>,
    headroom: f64,
}

impl<'a> Budget<'a> {
    /// A budget over these (limiter, account rate) pairs, leaving `headroom` (0 to 0.9) of each.
    pub fn new(quotas: Vec<(&'a RateLimiter, f64)>, headroom: f64) -> Self {
        Budget {
            quotas,
            headroom: headroom.clamp(0.0, 0.9),
        }
    }

    /// Whether the budget paces nothing (no limiter given).
    pub fn is_empty(&self) -> bool {
        self.quotas.is_empty()
    }

    /// The rate one of `holders` invocations may use of an API whose quota is `rate`.
    pub fn share(&self, rate: f64, holders: usize) -> f64 {
        rate * (1.0 - self.headroom) / holders.max(1) as f64
    }

    /// How each quota is used now, for the shard's progress record (`erasure status`):
    /// `throttled_before` adds throttles counted by earlier invocations, per API, and
    /// `since` is each limiter's count when this invocation started (same order as the quotas).
    pub async fn usage(
        &self,
        holders: usize,
        since: &[u64],
        throttled_before: &[crate::shard_progress::QuotaUse],
    ) -> Vec<crate::shard_progress::QuotaUse> {
        let mut out = Vec::with_capacity(self.quotas.len());
        for (i, (limiter, rate)) in self.quotas.iter().enumerate() {
            let before = throttled_before
                .iter()
                .find(|q| q.api == limiter.api())
                .map_or(0, |q| q.throttled);
            let now = limiter.throttles();
            out.push(crate::shard_progress::QuotaUse {
                api: limiter.api().to_string(),
                account_rate: *rate,
                share: self.share(*rate, holders),
                current_rate: limiter.rate().await,
                holders: holders as u32,
                throttled: before + now.saturating_sub(since.get(i).copied().unwrap_or(now)),
            });
        }
        out
    }

    /// Each limiter's throttle count now (see [`Budget::usage`]).
    pub fn throttle_counts(&self) -> Vec<u64> {
        self.quotas.iter().map(|(l, _)| l.throttles()).collect()
    }

    /// Sets every limiter's ceiling to its share among `holders` invocations.
    pub async fn apply(&self, holders: usize) {
        for (limiter, rate) in &self.quotas {
            limiter.set_ceiling(self.share(*rate, holders)).await;
        }
    }
}

/// A lease held by one invocation of the erase step.
pub struct Lease<'a, S> {
    store: &'a S,
    bucket: String,
    key: String,
    work_prefix: String,
    held: bool,
}

impl<'a, S: ObjectStore> Lease<'a, S> {
    /// Writes the lease (held until `until`). A lease that cannot be written is not fatal: the
    /// invocation still paces itself by the others it sees, and a warning says so.
    pub async fn take(
        store: &'a S,
        bucket: &str,
        work_prefix: &str,
        until: SystemTime,
        id: &RequestId,
        shard: u32,
    ) -> Lease<'a, S> {
        let key = lease_key(work_prefix, until, id, shard);
        let held = match store
            .put(bucket, &key, Vec::new(), "application/octet-stream", None)
            .await
        {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "pacing lease not written: other invocations will not count this one");
                false
            }
        };
        Lease {
            store,
            bucket: bucket.to_string(),
            key,
            work_prefix: work_prefix.to_string(),
            held,
        }
    }

    /// Counts the invocations holding a lease now and sets the budget's shares. A listing that
    /// fails keeps the shares as they were.
    pub async fn refresh(&self, budget: &Budget<'_>, now: SystemTime) -> Option<usize> {
        match self
            .store
            .list_keys(
                &self.bucket,
                &lease_prefix(&self.work_prefix),
                MAX_LEASES_LISTED,
            )
            .await
        {
            Ok(keys) => {
                let mut holders = active(&keys, &self.work_prefix, now);
                if !self.held {
                    holders += 1; // this invocation, which the listing cannot show
                }
                budget.apply(holders).await;
                Some(holders)
            }
            Err(e) => {
                tracing::warn!(error = %e, "pacing leases not listed: keeping the current share");
                None
            }
        }
    }

    /// Deletes the lease (best effort: it stops counting at its expiry anyway).
    pub async fn release(self) {
        if self.held {
            if let Err(e) = self
                .store
                .delete_version(&self.bucket, &self.key, None)
                .await
            {
                tracing::warn!(error = %e, "pacing lease not deleted: it stops counting at its expiry");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use std::time::Duration;

    fn id() -> RequestId {
        "0123456789abcdef0123456789abcdef"
            .parse()
            .expect("a request ID")
    }

    #[test]
    fn only_leases_not_yet_expired_count_and_never_fewer_than_one() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let keys = vec![
            lease_key("work/", now + Duration::from_secs(60), &id(), 0),
            lease_key("work/", now + Duration::from_secs(900), &id(), 1),
            lease_key("work/", now - Duration::from_secs(1), &id(), 2),
            "work/pacing/garbage".to_string(),
            "work/elsewhere/2000000000-x-1".to_string(),
        ];
        assert_eq!(active(&keys, "work/", now), 2);
        assert_eq!(active(&[], "work/", now), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn two_invocations_share_each_quota_less_the_headroom() {
        let store = MemoryStore::default();
        let (search, delete) = (RateLimiter::new(10.0), RateLimiter::new(10.0));
        let budget = Budget::new(vec![(&search, 10.0), (&delete, 20.0)], 0.2);
        let now = SystemTime::now();
        let until = now + Duration::from_secs(900);
        let first = Lease::take(&store, "b", "work/", until, &id(), 0).await;
        assert_eq!(first.refresh(&budget, now).await, Some(1));
        assert_eq!(search.ceiling().await, 8.0);
        let second = Lease::take(&store, "b", "work/", until, &id(), 1).await;
        assert_eq!(second.refresh(&budget, now).await, Some(2));
        assert_eq!(first.refresh(&budget, now).await, Some(2));
        assert_eq!((search.ceiling().await, delete.ceiling().await), (4.0, 8.0));
        second.release().await;
        assert_eq!(first.refresh(&budget, now).await, Some(1));
        assert_eq!(delete.ceiling().await, 16.0);
        first.release().await;
        assert!(store
            .list_keys("b", "work/pacing/", 10)
            .await
            .expect("listed")
            .is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_usage_record_counts_the_shards_throttles_over_its_invocations_only() {
        let limiter = RateLimiter::for_api("SearchProfiles", 100.0);
        limiter.throttled().await; // before this invocation: another shard's
        let budget = Budget::new(vec![(&limiter, 100.0)], 0.2);
        let since = budget.throttle_counts();
        limiter.throttled().await;
        limiter.throttled().await;
        let earlier = crate::shard_progress::QuotaUse {
            api: "SearchProfiles".into(),
            account_rate: 100.0,
            share: 80.0,
            current_rate: 80.0,
            holders: 1,
            throttled: 5,
        };
        let [u] = budget
            .usage(2, &since, &[earlier])
            .await
            .try_into()
            .expect("one");
        assert_eq!(
            (u.api.as_str(), u.share, u.holders),
            ("SearchProfiles", 40.0, 2)
        );
        assert_eq!(u.throttled, 5 + 2);
        assert_eq!(u.current_rate, 12.5, "halved three times from 100");
    }

    #[tokio::test(start_paused = true)]
    async fn a_lease_that_cannot_be_written_still_counts_its_holder() {
        let store = MemoryStore::default();
        store.deny_puts_under("work/pacing/");
        let limiter = RateLimiter::new(100.0);
        let budget = Budget::new(vec![(&limiter, 100.0)], 0.0);
        let now = SystemTime::now();
        let other = lease_key("work/", now + Duration::from_secs(60), &id(), 7);
        store.insert("b", &other, Vec::new());
        let lease = Lease::take(&store, "b", "work/", now, &id(), 0).await;
        assert_eq!(lease.refresh(&budget, now).await, Some(2));
        assert_eq!(limiter.ceiling().await, 50.0);
    }
}
