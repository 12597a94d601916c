//! Which users of a shard come next in a destination, and how a batch's fates move its progress.

use super::attempt::Fate;
use super::CHECKPOINT_USERS;
use crate::payload::REAPPEARED_REASON;
use crate::ports::Erased;
use crate::shard_progress::TargetProgress;

/// The users to handle next in one destination.
pub(super) enum Batch {
    /// Positions an earlier execution recorded as failed (they come first).
    Retry(Vec<u64>),
    /// The next checkpoint's worth in order, from `from` to `to`, less those already handled.
    Next { from: usize, to: usize },
}

pub(super) fn next_batch(t: &TargetProgress, users: usize) -> Option<Batch> {
    if !t.retry.is_empty() {
        return Some(Batch::Retry(
            t.retry.iter().take(CHECKPOINT_USERS).copied().collect(),
        ));
    }
    let from = t.done as usize;
    (from < users).then(|| Batch::Next {
        from,
        to: (from + CHECKPOINT_USERS).min(users),
    })
}

pub(super) fn positions(batch: &Batch, t: &TargetProgress) -> Vec<usize> {
    match batch {
        Batch::Retry(list) => list.iter().map(|i| *i as usize).collect(),
        Batch::Next { from, to } => (*from..*to)
            .filter(|i| !t.ahead.contains(&(*i as u64)))
            .collect(),
    }
}

/// Counts what a batch did. Returns (whether it moved on, whether a user was still throttled
/// at the deadline). Progress in order counts users from the start of the shard: it moves up to
/// the first user still throttled; users after that one who were handled are counted now and
/// remembered (`ahead`), so nobody is asked twice.
pub(super) fn record(
    t: &mut TargetProgress,
    batch: Batch,
    fates: Vec<(usize, Fate)>,
    users: usize,
) -> (bool, bool) {
    let first_out_of_time = fates
        .iter()
        .filter(|(_, f)| matches!(f, Fate::OutOfTime))
        .map(|(i, _)| *i)
        .min();
    let mut handled = Vec::new();
    for (i, fate) in fates {
        match fate {
            Fate::Erased(Erased::Deleted(n)) => t.result.items_deleted += n,
            Fate::Erased(Erased::NothingThere) => t.result.users_without_items += 1,
            Fate::Erased(Erased::Reappeared(n)) => {
                t.result.items_deleted += n;
                t.failed.push((i as u64, REAPPEARED_REASON.to_string()));
            }
            Fate::Failed(why) => t.failed.push((i as u64, why.to_string())),
            Fate::OutOfTime => continue,
        }
        handled.push(i as u64);
    }
    match batch {
        Batch::Retry(_) => {
            t.retry
                .retain(|i| (*i as usize) < users && !handled.contains(i));
            (!handled.is_empty(), first_out_of_time.is_some())
        }
        Batch::Next { from, to } => {
            let finished = first_out_of_time.unwrap_or(to);
            t.ahead
                .extend(handled.into_iter().filter(|i| *i as usize > finished));
            t.ahead.retain(|i| *i as usize >= finished);
            t.done = finished as u64;
            (finished > from, finished < to)
        }
    }
}

/// Every user not yet handled in an unusable destination is listed as failed with `why`.
pub(super) fn give_up(t: &mut TargetProgress, users: usize, why: &str) {
    let retry = std::mem::take(&mut t.retry);
    t.failed
        .extend(retry.into_iter().map(|i| (i, why.to_string())));
    let ahead = std::mem::take(&mut t.ahead);
    t.failed.extend(
        (t.done..users as u64)
            .filter(|i| !ahead.contains(i))
            .map(|i| (i, why.to_string())),
    );
    t.done = users as u64;
}
