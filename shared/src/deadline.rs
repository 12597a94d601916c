//! An invocation's deadline, as the steps that work against it (the shard loop, the purge) read it.

use std::time::{Duration, SystemTime};

/// The invocation's deadline: the one the Lambda runtime reports, or, when that one has already
/// passed as the invocation starts (a local runtime such as `cargo lambda watch` reports 0),
/// the function's timeout from now. On AWS the reported deadline is always ahead.
pub fn invocation_deadline(
    reported: SystemTime,
    now: SystemTime,
    function_timeout: Duration,
) -> SystemTime {
    if reported > now {
        reported
    } else {
        now + function_timeout
    }
}

/// Whether the deadline is closer than `margin` (never without a deadline).
pub fn near(deadline: Option<SystemTime>, margin: Duration) -> bool {
    deadline.is_some_and(|d| {
        d.duration_since(SystemTime::now())
            .map(|left| left < margin)
            .unwrap_or(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn a_deadline_already_past_at_the_start_means_the_timeout_from_now() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let t = Duration::from_secs(900);
        let ahead = now + Duration::from_secs(60);
        assert_eq!(invocation_deadline(ahead, now, t), ahead);
        assert_eq!(invocation_deadline(UNIX_EPOCH, now, t), now + t);
        assert_eq!(invocation_deadline(now, now, t), now + t);
    }

    #[test]
    fn near_means_within_the_margin_and_never_without_a_deadline() {
        let margin = Duration::from_secs(30);
        assert!(!near(None, margin));
        assert!(near(
            Some(SystemTime::now() + Duration::from_secs(10)),
            margin
        ));
        assert!(!near(
            Some(SystemTime::now() + Duration::from_secs(60)),
            margin
        ));
        assert!(near(Some(UNIX_EPOCH), margin), "already past");
    }
}
