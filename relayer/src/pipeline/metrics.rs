//! [`PipelineMetrics`]: the pipeline's counters (monitoring exports them; labels come from
//! fixed enums, never from message ids).

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! metrics {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {
        /// Counters shared by the pipeline's stages (relaxed atomics: figures, not locks).
        #[derive(Debug, Default)]
        pub struct PipelineMetrics {
            $($(#[$doc])* pub $name: AtomicU64,)+
        }

        /// A copy of [`PipelineMetrics`] at one moment.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct PipelineMetricsSnapshot {
            $($(#[$doc])* pub $name: u64,)+
        }

        impl PipelineMetrics {
            /// The counters now.
            pub fn snapshot(&self) -> PipelineMetricsSnapshot {
                PipelineMetricsSnapshot {
                    $($name: self.$name.load(Ordering::Relaxed),)+
                }
            }
        }
    };
}

metrics! {
    /// Messages yielded by the sources.
    observed,
    /// Messages whose native proof verified.
    verified,
    /// Messages newly accepted into the store and the logs.
    accepted,
    /// Retryable source errors (each followed by a backoff).
    source_errors,
    /// Native proofs that failed (each halts its origin).
    invalid_proofs,
    /// Checkpoints signed and recorded.
    checkpoints,
    /// Submissions sent to destinations.
    submissions,
    /// Messages sent in submissions.
    messages_submitted,
    /// Messages found already delivered by the destination before a (re)submission.
    already_delivered,
    /// Delivery rounds that failed at the destination (status read or submit; the messages
    /// went back to pending with backoff).
    submit_failures,
    /// Messages confirmed delivered.
    confirmed,
    /// Messages the recipient refused (confirmed, retryable at the destination).
    failed_at_recipient,
    /// Submissions that reverted or were dropped (messages back to pending).
    reverted,
    /// Submissions of a previous run followed by their kept handles after a restart.
    taken_over,
    /// Messages that became dead letters.
    dead_letters,
    /// Submissions in flight now (gauge).
    in_flight,
    /// Most submissions ever in flight at once on one lane.
    max_in_flight,
}

impl PipelineMetrics {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn in_flight_changed(&self, now: u64) {
        self.in_flight.store(now, Ordering::Relaxed);
        self.max_in_flight.fetch_max(now, Ordering::Relaxed);
    }
}
