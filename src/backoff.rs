//! The one exponential backoff: delivery retries, reconnecting socket clients, the Telegram
//! poller and the scheduler's pause while the store refuses writes all wait by it.

use std::time::Duration;

/// Exponential backoff: `min`, doubling per consecutive failure, capped at `max`, each wait up
/// to 20 % shorter at random so that replicas, channels and bots restarted together (a power
/// cut in the office) do not retry in step.
///
/// Jitter only shortens. Delivery used to spread ±20 % around the doubling; the downward spread
/// is the safer of the two because `max` then holds as a promise (a failing message is tried
/// again within 5 minutes, a lost connection within a minute) and nothing waits longer than the
/// operator configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    /// 1 s doubling to 60 s: the socket clients' and the Telegram poller's reconnects.
    fn default() -> Self {
        Backoff {
            min: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The wait after `failures` consecutive failures (1 = the first; 0 reads as 1); `unit` is
    /// a random number in `[0, 1]` (0 for no jitter). A `max` below `min` reads as `min`.
    pub fn delay(&self, failures: u32, unit: f64) -> Duration {
        let exp = failures.saturating_sub(1).min(16);
        let cap = self.max.max(self.min);
        let base = self.min.saturating_mul(1u32 << exp).min(cap);
        base.mul_f64(1.0 - 0.2 * unit.clamp(0.0, 1.0))
    }

    /// [`delay`](Self::delay) with a fresh random jitter.
    pub fn jittered(&self, failures: u32) -> Duration {
        self.delay(failures, fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters_downwards() {
        let b = Backoff::default();
        assert_eq!(b.delay(1, 0.0), Duration::from_secs(1));
        assert_eq!(b.delay(2, 0.0), Duration::from_secs(2));
        assert_eq!(b.delay(6, 0.0), Duration::from_secs(32));
        assert_eq!(b.delay(7, 0.0), Duration::from_secs(60));
        assert_eq!(b.delay(u32::MAX, 0.0), Duration::from_secs(60));
        assert_eq!(b.delay(1, 1.0), Duration::from_millis(800));
        assert_eq!(b.delay(0, 0.5), Duration::from_millis(900));
        for _ in 0..100 {
            let d = b.jittered(20);
            assert!(
                d >= Duration::from_secs(48) && d <= Duration::from_secs(60),
                "{d:?}"
            );
        }
        // A max below min is read as min.
        let odd = Backoff {
            min: Duration::from_secs(5),
            max: Duration::from_secs(1),
        };
        assert_eq!(odd.delay(3, 0.0), Duration::from_secs(5));
    }

    #[test]
    fn delivery_retries_stay_within_their_cap() {
        let b = Backoff {
            min: Duration::from_secs(2),
            max: Duration::from_secs(300),
        };
        assert_eq!(b.delay(1, 0.0), Duration::from_secs(2));
        assert_eq!(b.delay(8, 0.0), Duration::from_secs(256));
        for attempts in [9, 17, 1000] {
            let d = b.jittered(attempts);
            assert!(
                d >= Duration::from_secs(240) && d <= Duration::from_secs(300),
                "{d:?}"
            );
        }
    }

    #[test]
    fn the_store_pause_without_jitter_doubles_from_one_to_thirty_seconds() {
        let b = Backoff {
            min: Duration::from_secs(1),
            max: Duration::from_secs(30),
        };
        let waits: Vec<u64> = (1..=7).map(|n| b.delay(n, 0.0).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
    }
}
