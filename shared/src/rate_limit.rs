//! A small async rate limiter: calls are spaced so a function never exceeds its share of the
//! account's quota for one API (Pinpoint's DeleteUserEndpoints, Customer Profiles'
//! SearchProfiles or DeleteProfile), and it slows down when the service throttles.
//!
//! Slots missed while the caller was busy elsewhere (a progress checkpoint written to S3, the
//! last calls of a batch draining, the gap between two shards) may be caught up, but only for a
//! short window (`CATCH_UP`): over any interval T the limiter allows at most
//! `rate × (T + CATCH_UP)` calls. Without it, every pause is lost for good and the function runs
//! below its share (measured: 88 % of the quota at 1,000/s); with it, the account stays at the
//! quota. A throttle cancels any catch-up, so slowing down is never undone by a burst.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// How far back missed slots may be caught up.
pub const CATCH_UP: Duration = Duration::from_millis(250);

/// Spaces calls at `rate` per second; `throttled()` halves the rate, `succeeded()` creeps back,
/// `set_ceiling()` moves the rate it creeps back to (this function's share of a shared budget).
pub struct RateLimiter {
    state: Mutex<State>,
    catch_up: Duration,
    /// The API it paces (for the progress record `erasure status` reads).
    api: &'static str,
    /// Throttled answers seen since it was made.
    throttles: AtomicU64,
}

struct State {
    next: Instant,
    rate: f64,
    /// The rate `succeeded()` climbs back to.
    max_rate: f64,
}

impl RateLimiter {
    /// A limiter allowing `rate` calls per second (at least 0.1), catching up `CATCH_UP`.
    pub fn new(rate: f64) -> Self {
        Self::with_catch_up(rate, CATCH_UP)
    }

    /// A limiter for the API named `api` (e.g. `DeleteUserEndpoints`), as [`RateLimiter::new`].
    pub fn for_api(api: &'static str, rate: f64) -> Self {
        RateLimiter {
            api,
            ..Self::new(rate)
        }
    }

    /// The API it paces ("" when not named).
    pub fn api(&self) -> &'static str {
        self.api
    }

    /// Throttled answers seen since it was made.
    pub fn throttles(&self) -> u64 {
        self.throttles.load(Ordering::Relaxed)
    }

    /// A limiter allowing `rate` calls per second that catches up at most `catch_up` of missed
    /// slots (zero: strict spacing, every pause lost).
    pub fn with_catch_up(rate: f64, catch_up: Duration) -> Self {
        let rate = rate.max(0.1);
        RateLimiter {
            state: Mutex::new(State {
                next: Instant::now(),
                rate,
                max_rate: rate,
            }),
            catch_up,
            api: "",
            throttles: AtomicU64::new(0),
        }
    }

    /// Waits for the next slot.
    pub async fn acquire(&self) {
        let wait_until = {
            let mut s = self.state.lock().await;
            let now = Instant::now();
            let earliest = now.checked_sub(self.catch_up).unwrap_or(now);
            let slot = if s.next > earliest { s.next } else { earliest };
            s.next = slot + Duration::from_secs_f64(1.0 / s.rate);
            slot
        };
        tokio::time::sleep_until(wait_until).await;
    }

    /// The service throttled a call: halve the rate (multiplicative decrease).
    pub async fn throttled(&self) {
        self.throttles.fetch_add(1, Ordering::Relaxed);
        let mut s = self.state.lock().await;
        s.rate = (s.rate / 2.0).max(s.max_rate / 64.0).max(0.1);
        // No catching up after a throttle: the next slot is a full (new) interval from now.
        let now = Instant::now();
        let next = now + Duration::from_secs_f64(1.0 / s.rate);
        if s.next < next {
            s.next = next;
        }
    }

    /// A call succeeded: add back a little (additive increase), up to the configured rate.
    pub async fn succeeded(&self) {
        let mut s = self.state.lock().await;
        if s.rate < s.max_rate {
            s.rate = (s.rate + s.max_rate / 100.0).min(s.max_rate);
        }
    }

    /// Moves the rate's ceiling to `rate` (at least 0.1): lower, the rate drops to it at once;
    /// higher, `succeeded()` climbs to it. Slots already handed out keep their time.
    pub async fn set_ceiling(&self, rate: f64) {
        let rate = rate.max(0.1);
        let mut s = self.state.lock().await;
        s.max_rate = rate;
        if s.rate > rate {
            s.rate = rate;
        }
    }

    /// The rate's ceiling, calls per second.
    pub async fn ceiling(&self) -> f64 {
        self.state.lock().await.max_rate
    }

    /// The current rate, calls per second.
    pub async fn rate(&self) -> f64 {
        self.state.lock().await.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_calls_at_the_rate() {
        let l = RateLimiter::new(10.0);
        let start = Instant::now();
        for _ in 0..11 {
            l.acquire().await;
        }
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(999) && elapsed <= Duration::from_millis(1001),
            "{elapsed:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn slots_missed_in_a_pause_are_caught_up_but_only_for_a_short_window() {
        let l = RateLimiter::new(100.0);
        l.acquire().await;
        // Busy elsewhere for 100 ms: the 10 slots missed go at once, the 11th waits its turn.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t = Instant::now();
        for _ in 0..10 {
            l.acquire().await;
        }
        assert_eq!(t.elapsed(), Duration::ZERO);
        l.acquire().await;
        assert_eq!(t.elapsed(), Duration::from_millis(10));
        // A long pause earns no more than CATCH_UP: over 1 s after it, at most rate x (1 s + CATCH_UP).
        tokio::time::sleep(Duration::from_secs(5)).await;
        let t = Instant::now();
        let mut n = 0;
        while t.elapsed() < Duration::from_secs(1) {
            l.acquire().await;
            n += 1;
        }
        assert!(
            (125..=127).contains(&n),
            "{n} calls in 1 s after a long pause"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_cancels_any_catch_up() {
        let l = RateLimiter::new(100.0);
        l.acquire().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        l.throttled().await;
        let t = Instant::now();
        l.acquire().await;
        assert_eq!(t.elapsed(), Duration::from_millis(20)); // one interval at the halved rate
        l.acquire().await;
        assert_eq!(t.elapsed(), Duration::from_millis(40));
    }

    #[tokio::test(start_paused = true)]
    async fn strict_spacing_without_catch_up() {
        let l = RateLimiter::with_catch_up(100.0, Duration::ZERO);
        l.acquire().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t = Instant::now();
        l.acquire().await;
        l.acquire().await;
        assert_eq!(t.elapsed(), Duration::from_millis(10));
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_halves_and_success_recovers() {
        let l = RateLimiter::new(100.0);
        l.throttled().await;
        assert_eq!(l.rate().await, 50.0);
        for _ in 0..100 {
            l.succeeded().await;
        }
        assert_eq!(l.rate().await, 100.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lower_ceiling_slows_at_once_and_a_higher_one_is_climbed_to() {
        let l = RateLimiter::new(100.0);
        l.set_ceiling(25.0).await;
        assert_eq!(l.rate().await, 25.0);
        l.acquire().await;
        let t = Instant::now();
        l.acquire().await;
        l.acquire().await;
        assert_eq!(t.elapsed(), Duration::from_millis(80)); // two intervals at 25/s
        l.set_ceiling(50.0).await;
        assert_eq!(
            l.rate().await,
            25.0,
            "a raised ceiling is climbed to, not jumped to"
        );
        for _ in 0..200 {
            l.succeeded().await;
        }
        assert_eq!(l.rate().await, 50.0);
    }
}
