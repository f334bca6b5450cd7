//! Bounded retries with exponential backoff and full jitter, for chain calls that failed with a
//! retryable [`Error`] (see [`Error::is_retryable`]).
//!
//! Full jitter (a uniformly random delay between zero and the exponential cap, as in AWS'
//! "Exponential Backoff and Jitter") keeps many relayers that failed together from retrying in
//! lockstep against the same node. A node's own `Retry-After` hint wins over the computed delay.

use core::future::Future;
use std::time::Duration;

use rand::Rng;

use crate::Error;

/// Longest wait a node's `Retry-After` hint can impose on one retry.
const MAX_HINT: Duration = Duration::from_secs(60);

/// How often and how patiently to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Cap of the first backoff; doubled after each failure.
    pub initial_delay: Duration,
    /// Largest backoff cap.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Five attempts, 250 ms doubling up to 8 s (at most about 15 s of waiting in all).
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// No retries: the first error is returned.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_attempts: 1,
        initial_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
    };

    /// The backoff cap before attempt `attempt + 1` (attempt counts from 0 = first failure).
    pub fn cap(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.initial_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// The delay before the next attempt after failure number `attempt` (from 0) with `error`:
    /// the node's hint when it gave one, else a uniformly random duration up to [`Self::cap`].
    pub fn delay(&self, attempt: u32, error: &Error) -> Duration {
        if let Some(hint) = error.retry_after() {
            return hint.min(MAX_HINT);
        }
        let cap = self.cap(attempt);
        if cap.is_zero() {
            return cap;
        }
        let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::thread_rng().gen_range(0..=nanos))
    }
}

/// Runs `op` until it succeeds, fails with a non-retryable error, or `policy.max_attempts` are
/// used up (then the last error is returned). `what` names the operation in the logs.
pub async fn retry<T, F, Fut>(
    policy: &RetryPolicy,
    what: &'static str,
    mut op: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut attempt = 0u32;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_retryable() && attempt + 1 < policy.max_attempts => {
                let delay = policy.delay(attempt, &e);
                tracing::debug!(operation = what, attempt, ?delay, error = %e, "retrying");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn unavailable() -> Error {
        Error::RpcUnavailable {
            endpoint: "http://x".into(),
            source: "refused".into(),
        }
    }

    #[test]
    fn caps_double_and_saturate() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        assert_eq!(p.cap(0), Duration::from_millis(100));
        assert_eq!(p.cap(1), Duration::from_millis(200));
        assert_eq!(p.cap(3), Duration::from_millis(800));
        assert_eq!(p.cap(4), Duration::from_secs(1));
        assert_eq!(p.cap(60), Duration::from_secs(1));
        for attempt in 0..8 {
            assert!(p.delay(attempt, &unavailable()) <= p.cap(attempt));
        }
    }

    #[test]
    fn jitter_spreads_delays() {
        let p = RetryPolicy {
            max_attempts: 3,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(1),
        };
        let delays: std::collections::HashSet<_> =
            (0..32).map(|_| p.delay(0, &unavailable())).collect();
        assert!(delays.len() > 1, "full jitter gives different delays");
    }

    #[test]
    fn rate_limit_hint_wins() {
        let p = RetryPolicy::default();
        let e = Error::RateLimited {
            endpoint: "http://x".into(),
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(p.delay(0, &e), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_retryable_errors_until_success() {
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let out = retry(&RetryPolicy::default(), "test", move || {
            let c = c.clone();
            async move {
                if c.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(unavailable())
                } else {
                    Ok(7)
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(out, 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn stops_at_non_retryable_and_at_the_attempt_limit() {
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let err = retry(&RetryPolicy::default(), "test", move || {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(Error::InvalidNativeProof {
                    reason: "bad".into(),
                })
            }
        })
        .await
        .unwrap_err();
        assert!(matches!(err, Error::InvalidNativeProof { .. }));
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let policy = RetryPolicy {
            max_attempts: 4,
            ..RetryPolicy::default()
        };
        let err = retry(&policy, "test", move || {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(unavailable())
            }
        })
        .await
        .unwrap_err();
        assert!(matches!(err, Error::RpcUnavailable { .. }));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }
}
