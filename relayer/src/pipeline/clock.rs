//! The pipeline's clock: wall time at start plus tokio's monotonic time since, so tests on
//! tokio's paused clock control the times the store sees (leases, backoff).

use crate::store::UnixMillis;

/// Wall-clock milliseconds that advance with tokio's clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    wall: UnixMillis,
    start: tokio::time::Instant,
}

impl Clock {
    /// A clock reading the wall time now.
    pub(crate) fn start() -> Self {
        Clock {
            wall: UnixMillis::now(),
            start: tokio::time::Instant::now(),
        }
    }

    /// The current time.
    pub(crate) fn now(&self) -> UnixMillis {
        self.wall.saturating_add(self.start.elapsed())
    }
}
