//! How long a [`SqliteStore`](super::SqliteStore)'s transactions take, measured at its two
//! choke points (every read and every write transaction passes through one of them), waiting
//! for the connection's lock included: the figures behind the gateway's
//! `causeway_store_transaction_duration_seconds`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::pipeline::{LATENCY_BUCKETS, LatencySnapshot};

/// A read (a consistent snapshot) or a write (committed durably) transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionKind {
    /// A deferred read transaction.
    Read,
    /// An immediate write transaction and its commit.
    Write,
}

#[derive(Debug, Default)]
struct Histogram {
    /// Observations at or below each bound (not cumulative).
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
    failures: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration, failed: bool) {
        let secs = d.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        if failed {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn snapshot(&self) -> (LatencySnapshot, u64) {
        let mut cumulative = [0; LATENCY_BUCKETS.len()];
        let mut running = 0u64;
        for (c, b) in cumulative.iter_mut().zip(&self.buckets) {
            running = running.saturating_add(b.load(Ordering::Relaxed));
            *c = running;
        }
        (
            LatencySnapshot {
                cumulative,
                count: self.count.load(Ordering::Relaxed),
                sum_micros: self.sum_micros.load(Ordering::Relaxed),
            },
            self.failures.load(Ordering::Relaxed),
        )
    }
}

/// One store handle's transaction timings (cheap to clone; observing never locks).
#[derive(Clone, Debug, Default)]
pub struct StoreTimings(Arc<[Histogram; 2]>);

/// A store handle's transaction timings at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreTimingsSnapshot {
    /// Read transactions' durations.
    pub read: LatencySnapshot,
    /// Write transactions' durations.
    pub write: LatencySnapshot,
    /// Read transactions that failed.
    pub read_failures: u64,
    /// Write transactions that failed.
    pub write_failures: u64,
}

impl StoreTimings {
    /// Counts one transaction of `kind` that took `took` (and failed when `failed`).
    pub(crate) fn observe(&self, kind: TransactionKind, took: Duration, failed: bool) {
        self.0[kind as usize].observe(took, failed);
    }

    /// The figures now.
    pub fn snapshot(&self) -> StoreTimingsSnapshot {
        let (read, read_failures) = self.0[TransactionKind::Read as usize].snapshot();
        let (write, write_failures) = self.0[TransactionKind::Write as usize].snapshot();
        StoreTimingsSnapshot {
            read,
            write,
            read_failures,
            write_failures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_are_timed_apart() {
        let t = StoreTimings::default();
        t.observe(TransactionKind::Write, Duration::from_millis(2), false);
        t.observe(TransactionKind::Write, Duration::from_millis(20), true);
        t.observe(TransactionKind::Read, Duration::from_micros(500), false);
        let s = t.clone().snapshot();
        assert_eq!((s.write.count, s.write_failures), (2, 1));
        assert_eq!((s.read.count, s.read_failures), (1, 0));
        assert_eq!(s.read.cumulative[0], 1, "0.5 ms is within 1 ms");
        assert_eq!(s.write.cumulative[1], 1, "2 ms is within 2.5 ms");
        assert_eq!(s.write.sum_micros, 22_000);
    }
}
