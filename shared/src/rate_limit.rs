//! A small async rate limiter: calls are spaced so a function never exceeds its share of the
//! account's Pinpoint quota, and it slows down when the service throttles.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// Spaces calls at `rate` per second; `throttled()` halves the rate, `succeeded()` creeps back.
pub struct RateLimiter {
    state: Mutex<State>,
    max_rate: f64,
}

struct State {
    next: Instant,
    rate: f64,
}

impl RateLimiter {
    /// A limiter allowing `rate` calls per second (at least 0.1).
    pub fn new(rate: f64) -> Self {
        let rate = rate.max(0.1);
        RateLimiter {
            state: Mutex::new(State {
                next: Instant::now(),
                rate,
            }),
            max_rate: rate,
        }
    }

    /// Waits for the next slot.
    pub async fn acquire(&self) {
        let wait_until = {
            let mut s = self.state.lock().await;
            let now = Instant::now();
            let slot = if s.next > now { s.next } else { now };
            s.next = slot + Duration::from_secs_f64(1.0 / s.rate);
            slot
        };
        tokio::time::sleep_until(wait_until).await;
    }

    /// The service throttled a call: halve the rate (multiplicative decrease).
    pub async fn throttled(&self) {
        let mut s = self.state.lock().await;
        s.rate = (s.rate / 2.0).max(self.max_rate / 64.0).max(0.1);
    }

    /// A call succeeded: add back a little (additive increase), up to the configured rate.
    pub async fn succeeded(&self) {
        let mut s = self.state.lock().await;
        if s.rate < self.max_rate {
            s.rate = (s.rate + self.max_rate / 100.0).min(self.max_rate);
        }
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
    async fn throttling_halves_and_success_recovers() {
        let l = RateLimiter::new(100.0);
        l.throttled().await;
        assert_eq!(l.rate().await, 50.0);
        for _ in 0..100 {
            l.succeeded().await;
        }
        assert_eq!(l.rate().await, 100.0);
    }
}
