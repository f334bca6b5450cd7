//! The pipeline's metrics, kept apart per origin (watch, verify, append) and per lane (attest,
//! deliver, confirm), so two lanes never overwrite each other's figures. Keys are the bounded
//! identities from the configuration (an origin's domain, a lane's origin and destination
//! domains), never message ids; monitoring exports them as labels. Every update is skipped
//! while the process's metric updates are off ([`causeway_adapters::metrics::set_updates`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use causeway_adapters::metrics::updates_enabled;
use causeway_proofs::Domain;

use crate::store::Lane;

/// Adds `n` to a counter (relaxed: figures, not locks), unless metric updates are off.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    if updates_enabled() {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Merge rule of a counter or gauge: figures of several origins or lanes add up.
fn sum(a: u64, b: u64) -> u64 {
    a.saturating_add(b)
}

/// Merge rule of a high-water mark: the highest of several origins or lanes.
fn max(a: u64, b: u64) -> u64 {
    a.max(b)
}

/// Upper bounds, in seconds, of the buckets of every stage latency histogram: from a store
/// transaction (milliseconds) to a destination confirmation (tens of seconds).
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// A latency histogram over [`LATENCY_BUCKETS`] (atomic counts: observing never locks).
#[derive(Debug, Default)]
pub(crate) struct LatencyHistogram {
    /// Observations at or below each bound (not cumulative).
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl LatencyHistogram {
    /// Counts one observation of `d`.
    pub(crate) fn observe(&self, d: Duration) {
        if !updates_enabled() {
            return;
        }
        let secs = d.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| secs <= *b) {
            add(&self.buckets[i], 1);
        }
        add(&self.count, 1);
        add(
            &self.sum_micros,
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
        );
    }

    /// Counts the time since `start`.
    pub(crate) fn since(&self, start: std::time::Instant) {
        if updates_enabled() {
            self.observe(start.elapsed());
        }
    }

    fn snapshot(&self) -> LatencySnapshot {
        let mut cumulative = [0; LATENCY_BUCKETS.len()];
        let mut running = 0u64;
        for (c, b) in cumulative.iter_mut().zip(&self.buckets) {
            running = running.saturating_add(b.load(Ordering::Relaxed));
            *c = running;
        }
        LatencySnapshot {
            cumulative,
            count: self.count.load(Ordering::Relaxed),
            sum_micros: self.sum_micros.load(Ordering::Relaxed),
        }
    }
}

/// A latency histogram at one moment, in Prometheus' shape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LatencySnapshot {
    /// Observations at or below each bound of [`LATENCY_BUCKETS`] (cumulative).
    pub cumulative: [u64; LATENCY_BUCKETS.len()],
    /// Observations in all (the `+Inf` bucket).
    pub count: u64,
    /// Their sum, in microseconds.
    pub sum_micros: u64,
}

/// Merge rule of a histogram: counts and sums add up.
fn hist(a: LatencySnapshot, b: LatencySnapshot) -> LatencySnapshot {
    let mut cumulative = a.cumulative;
    for (c, o) in cumulative.iter_mut().zip(b.cumulative) {
        *c = c.saturating_add(o);
    }
    LatencySnapshot {
        cumulative,
        count: a.count.saturating_add(b.count),
        sum_micros: a.sum_micros.saturating_add(b.sum_micros),
    }
}

macro_rules! metric_set {
    (
        $(#[$live_doc:meta])* $live:ident,
        $(#[$snap_doc:meta])* $snap:ident {
            $($(#[$doc:meta])* $name:ident: $merge:ident),+ $(,)?
        }
        latencies {
            $($(#[$hdoc:meta])* $hname:ident),* $(,)?
        }
    ) => {
        $(#[$live_doc])*
        #[derive(Debug, Default)]
        pub(crate) struct $live {
            $($(#[$doc])* pub(crate) $name: AtomicU64,)+
            $($(#[$hdoc])* pub(crate) $hname: LatencyHistogram,)*
        }

        $(#[$snap_doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $snap {
            $($(#[$doc])* pub $name: u64,)+
            $($(#[$hdoc])* pub $hname: LatencySnapshot,)*
        }

        impl $live {
            /// The figures now.
            pub(crate) fn snapshot(&self) -> $snap {
                $snap {
                    $($name: self.$name.load(Ordering::Relaxed),)+
                    $($hname: self.$hname.snapshot(),)*
                }
            }
        }

        impl $snap {
            /// These figures combined with `other`'s: counters, gauges and histograms add up,
            /// high-water marks take the higher.
            pub fn merge(self, other: Self) -> Self {
                $snap {
                    $($name: $merge(self.$name, other.$name),)+
                    $($hname: hist(self.$hname, other.$hname),)*
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
        /// The highest final block the source reported (gauge; 0 before its first batch).
        final_height: max,
    }
    latencies {
        /// How long the source took to answer one `next_batch` call (chain RPC included).
        watch_seconds,
        /// How long the native proofs of one batch took to check.
        verify_seconds,
        /// How long one store transaction accepting a batch took.
        append_seconds,
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
    latencies {
        /// How long signing one checkpoint took (store record included).
        attest_seconds,
        /// How long one submit call to the destination took.
        submit_seconds,
        /// How long one submission took from being sent to being settled (confirmed delivered,
        /// reverted or dropped).
        confirm_seconds,
    }
}

impl LaneMetrics {
    /// Sets the in-flight gauge to `now` and raises the high-water mark to it.
    pub(crate) fn in_flight_changed(&self, now: u64) {
        if !updates_enabled() {
            return;
        }
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

/// Reads a running relayer's figures ([`RelayerHandle::metrics_reader`](crate::RelayerHandle::metrics_reader)):
/// cheap to clone, for a metrics scrape that runs beside the handle's owner.
#[derive(Clone, Debug)]
pub struct PipelineMetricsReader {
    pub(crate) metrics: Arc<PipelineMetrics>,
    pub(crate) health: super::Health,
}

impl PipelineMetricsReader {
    /// Every origin's and lane's figures now.
    pub fn snapshot(&self) -> PipelineMetricsSnapshot {
        self.metrics.snapshot()
    }

    /// The origins whose stages stopped on a fault an operator must look at (the log and
    /// [`RelayerHandle::progress`](crate::RelayerHandle::progress) say why).
    pub fn halted_origins(&self) -> Vec<Domain> {
        self.health.halted_origins()
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
    fn a_reader_names_the_halted_origins() {
        let health = super::super::Health::default();
        let reader = PipelineMetricsReader {
            metrics: Arc::new(PipelineMetrics::default()),
            health: health.clone(),
        };
        assert!(reader.halted_origins().is_empty());
        health.halt(format!("origin {}", Domain(31337)), "invalid proof".into());
        assert_eq!(reader.halted_origins(), vec![Domain(31337)]);
    }

    #[test]
    fn latencies_fill_cumulative_buckets_and_merge() {
        let h = LatencyHistogram::default();
        h.observe(Duration::from_micros(800));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(60));
        let s = h.snapshot();
        assert_eq!(s.count, 3);
        assert_eq!(s.sum_micros, 800 + 3_000 + 60_000_000);
        // 1 ms, 2.5 ms, 5 ms, ..., 30 s: the 60 s observation is only in +Inf (count).
        assert_eq!(&s.cumulative[..4], &[1, 1, 2, 2]);
        assert_eq!(s.cumulative[LATENCY_BUCKETS.len() - 1], 2);
        let twice = hist(s, s);
        assert_eq!((twice.count, twice.cumulative[2]), (6, 4));
    }

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
