//! A token bucket per channel, so a fan-out or a retry storm stays under the platform's limit.

use std::time::Duration;
use tokio::time::Instant;

/// Allows `count` sends per `per`, refilled continuously, starting full (a weekly digest's
/// parts go out at once when the bucket allows it).
#[derive(Debug)]
pub struct TokenBucket {
    capacity: f64,
    tokens: f64,
    per_token: Duration,
    last: Instant,
    /// The platform told us to wait (429, a throttle code): nothing is sent before this.
    paused_until: Option<Instant>,
}

impl TokenBucket {
    pub fn new(count: u32, per: Duration) -> Self {
        let count = count.max(1);
        TokenBucket {
            capacity: f64::from(count),
            tokens: f64::from(count),
            per_token: per / count,
            last: Instant::now(),
            paused_until: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        if self.per_token.is_zero() {
            self.tokens = self.capacity;
            return;
        }
        let gained = elapsed.as_secs_f64() / self.per_token.as_secs_f64();
        self.tokens = (self.tokens + gained).min(self.capacity);
    }

    /// How long to wait before the next send may start; zero means "now", and takes a token.
    pub fn try_take(&mut self, now: Instant) -> Duration {
        if let Some(until) = self.paused_until {
            if until > now {
                return until - now;
            }
            self.paused_until = None;
        }
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Duration::ZERO
        } else {
            self.per_token.mul_f64(1.0 - self.tokens)
        }
    }

    /// Stops all sends for `d`, and drains the bucket so sends resume at the steady pace.
    pub fn pause(&mut self, now: Instant, d: Duration) {
        self.paused_until = Some(now + d);
        self.tokens = 0.0;
        self.last = now + d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn allows_a_burst_then_the_steady_pace() {
        let mut b = TokenBucket::new(20, Duration::from_secs(60));
        let now = Instant::now();
        for _ in 0..20 {
            assert_eq!(b.try_take(now), Duration::ZERO);
        }
        let wait = b.try_take(now);
        assert!(
            wait > Duration::from_secs(2) && wait <= Duration::from_secs(3),
            "{wait:?}"
        );
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(b.try_take(Instant::now()), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_everything() {
        let mut b = TokenBucket::new(5, Duration::from_secs(1));
        let now = Instant::now();
        b.pause(now, Duration::from_secs(10));
        assert_eq!(b.try_take(now), Duration::from_secs(10));
        tokio::time::advance(Duration::from_secs(10)).await;
        let after = b.try_take(Instant::now());
        assert!(
            after > Duration::ZERO && after <= Duration::from_millis(200),
            "{after:?}"
        );
    }
}
