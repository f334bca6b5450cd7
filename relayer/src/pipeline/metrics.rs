//! The pipeline's metrics, kept apart per origin (watch, verify, append) and per lane (attest,
//! deliver, confirm), so two lanes never overwrite each other's figures. Keys are the bounded
//! identities from the configuration (an origin's domain, a lane's origin and destination
//! domains), never message ids; monitoring exports them as labels.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use causeway_proofs::Domain;

use crate::store::Lane;

/// Adds `n` to a counter (relaxed: figures, not locks).
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Merge rule of a counter or gauge: figures of several origins or lanes add up.
fn sum(a: u64, b: u64) -> u64 {
    a.saturating_add(b)
}

/// Merge rule of a high-water mark: the highest of several origins or lanes.
fn max(a: u64, b: u64) -> u64 {
    a.max(b)
}

macro_rules! metric_set {
    (
        $(#[$live_doc:meta])* $live:ident,
        $(#[$snap_doc:meta])* $snap:ident {
            $($(#[$doc:meta])* $name:ident: $merge:ident),+ $(,)?
        }
    ) => {
        $(#[$live_doc])*
        #[derive(Debug, Default)]
        pub(crate) struct $live {
            $($(#[$doc])* pub(crate) $name: AtomicU64,)+
        }

        $(#[$snap_doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $snap {
            $($(#[$doc])* pub $name: u64,)+
        }

        impl $live {
            /// The figures now.
            pub(crate) fn snapshot(&self) -> $snap {
                $snap {
                    $($name: self.$name.load(Ordering::Relaxed),)+
                }
            }
        }

        impl $snap {
            /// These figures combined with `other`'s: counters and gauges add up, high-water
            /// marks take the higher.
            pub fn merge(self, other: Self) -> Self {
                $snap {
                    $($name: $merge(self.$name, other.$name),)+
                }
            }
        }
    };
}

metric_set! {
    /// The counters of one origin's watch, verify and append stages.
    OriginMetrics,
    /// The counters of one origin at one moment.
    OriginMetricsSnapshot {
        /// Messages yielded by the source.
        observed: sum,
        /// Messages whose native proof verified.
        verified: sum,
        /// Messages newly accepted into the store and the logs.
        accepted: sum,
        /// Retryable source errors (each followed by a backoff).
        source_errors: sum,
        /// Native proofs that failed (each halts the origin).
        invalid_proofs: sum,
    }
}

metric_set! {
    /// The counters and gauges of one lane's attest, deliver and confirm stages.
    LaneMetrics,
    /// The counters and gauges of one lane at one moment.
    LaneMetricsSnapshot {
        /// Checkpoints signed and recorded.
        checkpoints: sum,
        /// Signatures received from other members' gateways.
        member_signatures: sum,
        /// Of those, dropped: malformed, of another lane, or not of a validator of the lane.
        invalid_member_signatures: sum,
        /// Member signatures over another root than this gateway's own for that size.
        root_mismatches: sum,
        /// Validators caught signing two roots for one size (evidence recorded).
        equivocations: sum,
        /// Submissions sent to the destination.
        submissions: sum,
        /// Messages sent in submissions.
        messages_submitted: sum,
        /// Messages found already delivered by the destination before a (re)submission.
        already_delivered: sum,
        /// Delivery rounds that failed at the destination (status read or submit; the messages
        /// went back to pending with backoff).
        submit_failures: sum,
        /// Messages confirmed delivered.
        confirmed: sum,
        /// Messages the recipient refused (confirmed, retryable at the destination).
        failed_at_recipient: sum,
        /// Submissions that reverted or were dropped (messages back to pending).
        reverted: sum,
        /// Submissions of a previous run followed by their kept handles after a restart.
        taken_over: sum,
        /// Messages that became dead letters.
        dead_letters: sum,
        /// Submissions in flight now (gauge).
        in_flight: sum,
        /// Most submissions ever in flight at once on the lane.
        max_in_flight: max,
    }
}

impl LaneMetrics {
    /// Sets the in-flight gauge to `now` and raises the high-water mark to it.
    pub(crate) fn in_flight_changed(&self, now: u64) {
        self.in_flight.store(now, Ordering::Relaxed);
        self.max_in_flight.fetch_max(now, Ordering::Relaxed);
    }
}

/// Every origin's and lane's metrics, registered when the relayer starts; each stage task holds
/// its own origin's or lane's set.
#[derive(Debug, Default)]
pub(crate) struct PipelineMetrics {
    origins: BTreeMap<Domain, Arc<OriginMetrics>>,
    lanes: BTreeMap<Lane, Arc<LaneMetrics>>,
}

impl PipelineMetrics {
    /// The metrics of `origin`, registered on first use.
    pub(crate) fn origin(&mut self, origin: Domain) -> Arc<OriginMetrics> {
        Arc::clone(self.origins.entry(origin).or_default())
    }

    /// The metrics of `lane`, registered on first use.
    pub(crate) fn lane(&mut self, lane: Lane) -> Arc<LaneMetrics> {
        Arc::clone(self.lanes.entry(lane).or_default())
    }

    /// Every origin's and lane's figures now.
    pub(crate) fn snapshot(&self) -> PipelineMetricsSnapshot {
        PipelineMetricsSnapshot {
            origins: self
                .origins
                .iter()
                .map(|(d, m)| (*d, m.snapshot()))
                .collect(),
            lanes: self.lanes.iter().map(|(l, m)| (*l, m.snapshot())).collect(),
        }
    }
}

/// The pipeline's figures at one moment, per origin and per lane.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PipelineMetricsSnapshot {
    /// Per configured origin.
    pub origins: BTreeMap<Domain, OriginMetricsSnapshot>,
    /// Per configured lane.
    pub lanes: BTreeMap<Lane, LaneMetricsSnapshot>,
}

impl PipelineMetricsSnapshot {
    /// The figures of `origin` (zero for an origin the relayer does not watch).
    pub fn origin(&self, origin: Domain) -> OriginMetricsSnapshot {
        self.origins.get(&origin).copied().unwrap_or_default()
    }

    /// The figures of `lane` (zero for a lane the relayer does not serve).
    pub fn lane(&self, lane: Lane) -> LaneMetricsSnapshot {
        self.lanes.get(&lane).copied().unwrap_or_default()
    }

    /// Every origin's figures merged (see [`OriginMetricsSnapshot::merge`]).
    pub fn all_origins(&self) -> OriginMetricsSnapshot {
        self.origins
            .values()
            .fold(OriginMetricsSnapshot::default(), |a, b| a.merge(*b))
    }

    /// Every lane's figures merged (see [`LaneMetricsSnapshot::merge`]): in-flight submissions
    /// add up, `max_in_flight` is the highest of any one lane.
    pub fn all_lanes(&self) -> LaneMetricsSnapshot {
        self.lanes
            .values()
            .fold(LaneMetricsSnapshot::default(), |a, b| a.merge(*b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Lane = Lane {
        origin: Domain(1),
        destination: Domain(2),
    };
    const B: Lane = Lane {
        origin: Domain(1),
        destination: Domain(3),
    };

    #[test]
    fn each_lane_keeps_its_own_gauge_and_counters() {
        let mut metrics = PipelineMetrics::default();
        let (a, b) = (metrics.lane(A), metrics.lane(B));
        a.in_flight_changed(3);
        b.in_flight_changed(1);
        a.in_flight_changed(2);
        add(&a.confirmed, 5);
        add(&b.confirmed, 7);
        add(&metrics.origin(Domain(1)).accepted, 12);
        let snap = metrics.snapshot();
        assert_eq!((snap.lane(A).in_flight, snap.lane(A).max_in_flight), (2, 3));
        assert_eq!((snap.lane(B).in_flight, snap.lane(B).max_in_flight), (1, 1));
        assert_eq!((snap.lane(A).confirmed, snap.lane(B).confirmed), (5, 7));
        let all = snap.all_lanes();
        assert_eq!(
            (all.in_flight, all.max_in_flight, all.confirmed),
            (3, 3, 12)
        );
        assert_eq!(snap.origin(Domain(1)).accepted, 12);
        assert_eq!(snap.all_origins().accepted, 12);
        assert_eq!(
            snap.lane(Lane {
                origin: Domain(9),
                destination: Domain(2)
            }),
            LaneMetricsSnapshot::default()
        );
    }
}
