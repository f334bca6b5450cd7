//! Bounded exponential backoff with jitter for delivery retries.
//!
//! The delay before attempt `n + 1` (after `n` failures) is drawn from `[d/2, d]` with
//! `d = min(max_delay, base_delay * 2^(n-1))` ("equal jitter"): it grows exponentially so a
//! failing destination is not flooded, never exceeds `max_delay`, never drops below half the
//! exponential step, and spreads instances that failed together. After `max_attempts` failures
//! the message stops retrying and becomes a visible dead letter.

use std::time::Duration;

/// How a lane retries failed deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The delay after the first failure (before jitter).
    pub base_delay: Duration,
    /// The largest delay ever used.
    pub max_delay: Duration,
    /// Failures after which a message becomes a dead letter (at least 1).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 1 s doubling up to 10 min, 12 attempts (about 40 minutes of trying in all).
    fn default() -> Self {
        RetryPolicy {
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(600),
            max_attempts: 12,
        }
    }
}

impl RetryPolicy {
    /// The delay after `attempts` failures (`attempts >= 1`; 0 is treated as 1), with `jitter`
    /// random bits choosing the point in `[d/2, d]`.
    pub fn delay(&self, attempts: u32, jitter: u64) -> Duration {
        let base = millis(self.base_delay);
        let max = millis(self.max_delay);
        let doublings = attempts.saturating_sub(1).min(63);
        let step = base.saturating_mul(1u64 << doublings).min(max);
        let floor = step / 2;
        let span = step - floor;
        let extra = jitter % span.saturating_add(1);
        Duration::from_millis(floor + extra)
    }

    /// Whether `attempts` failures use up the policy's attempts.
    pub fn exhausted(&self, attempts: u32) -> bool {
        attempts >= self.max_attempts.max(1)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grows_exponentially_within_bounds() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1_000),
            max_attempts: 5,
        };
        // Step d for attempts 1..: 100, 200, 400, 800, 1000, 1000 (capped).
        let steps = [100u64, 200, 400, 800, 1_000, 1_000, 1_000];
        for (i, step) in steps.iter().enumerate() {
            let attempts = u32::try_from(i + 1).expect("small");
            let lo = p.delay(attempts, 0);
            let hi = p.delay(attempts, step / 2);
            assert_eq!(
                lo,
                Duration::from_millis(step / 2),
                "attempt {attempts} floor"
            );
            assert_eq!(
                hi,
                Duration::from_millis(*step),
                "attempt {attempts} ceiling"
            );
            for jitter in [1u64, 7, 12_345, u64::MAX] {
                let d = p.delay(attempts, jitter);
                assert!(
                    d >= lo && d <= hi,
                    "attempt {attempts} jitter {jitter}: {d:?}"
                );
            }
        }
        assert_eq!(p.delay(u32::MAX, u64::MAX), p.delay(40, u64::MAX));
        assert!(p.delay(u32::MAX, u64::MAX) <= Duration::from_millis(1_000));
    }

    #[test]
    fn attempts_are_bounded() {
        let p = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        assert!(!p.exhausted(2));
        assert!(p.exhausted(3));
        let zero = RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::default()
        };
        assert!(
            zero.exhausted(1),
            "a zero bound still stops after one failure"
        );
    }
}
