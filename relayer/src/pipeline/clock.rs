//! The pipeline's clock, the one time source of the leases it writes and reads.
//!
//! Wall time, never going back: each reading is the later of the wall clock now and the last
//! reading moved on by tokio's monotonic time since. A wall clock stepped forward (an NTP
//! correction, a VM resumed) is followed at once, as every other instance on the store follows
//! it; one stepped back is not (a lease end already written stays in the future it was written
//! in). Tests on tokio's paused clock still control the times the store sees (leases, backoff).
//!
//! Instances on several hosts read several clocks: the skew between them is covered by
//! [`PipelineConfig::clock_skew`](super::PipelineConfig::clock_skew), by which a lease holder
//! stops acting on a lease before its end.

use std::sync::{Arc, Mutex};

use crate::store::UnixMillis;

/// A forward step of the wall clock larger than this is logged: an instance whose clock runs
/// ahead of the others' ends their leases early.
const FORWARD_STEP_WARNING_MS: u64 = 1_000;

/// Where wall time is read (the system clock, or a test's).
pub(crate) type WallSource = fn() -> UnixMillis;

/// Wall-clock milliseconds, never decreasing, advancing with tokio's clock between readings.
#[derive(Clone, Debug)]
pub(crate) struct Clock {
    wall: WallSource,
    last: Arc<Mutex<(UnixMillis, tokio::time::Instant)>>,
}

impl Clock {
    /// A clock reading the system's wall time.
    pub(crate) fn start() -> Self {
        Self::with_wall(UnixMillis::now)
    }

    /// A clock reading wall time from `wall`.
    pub(crate) fn with_wall(wall: WallSource) -> Self {
        Clock {
            wall,
            last: Arc::new(Mutex::new((wall(), tokio::time::Instant::now()))),
        }
    }

    /// The current time.
    pub(crate) fn now(&self) -> UnixMillis {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (then, at) = *last;
        let moved = then.saturating_add(at.elapsed());
        let wall = (self.wall)();
        if wall.0 > moved.0.saturating_add(FORWARD_STEP_WARNING_MS) {
            tracing::warn!(
                step_ms = wall.0 - moved.0,
                "the wall clock stepped forward; leases and backoffs follow it (check the time \
                 source if this instance now runs ahead of the others on the store)"
            );
        }
        let now = if wall.0 > moved.0 { wall } else { moved };
        *last = (now, tokio::time::Instant::now());
        now
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    static WALL: AtomicU64 = AtomicU64::new(1_000_000);

    fn fake_wall() -> UnixMillis {
        UnixMillis(WALL.load(Ordering::SeqCst))
    }

    #[tokio::test(start_paused = true)]
    async fn follows_a_wall_clock_stepped_forward_and_never_goes_back() {
        let clock = Clock::with_wall(fake_wall);
        assert_eq!(clock.now(), UnixMillis(1_000_000));
        // Monotonic time moves the reading on while the wall clock stands still.
        tokio::time::advance(std::time::Duration::from_millis(250)).await;
        assert_eq!(clock.now(), UnixMillis(1_000_250));
        // The wall clock steps an hour forward: followed at once (before, the clock read the
        // wall time once, at start, and never saw the step).
        WALL.store(1_000_000 + 3_600_000, Ordering::SeqCst);
        assert_eq!(clock.now(), UnixMillis(4_600_000));
        // It steps back: the clock does not.
        WALL.store(1_000_000, Ordering::SeqCst);
        tokio::time::advance(std::time::Duration::from_millis(10)).await;
        assert_eq!(clock.now(), UnixMillis(4_600_010));
    }
}
