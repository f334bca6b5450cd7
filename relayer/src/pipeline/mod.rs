//! The relayer pipeline: watch -> verify -> append -> attest -> deliver -> confirm.
//!
//! Each stage is its own tokio task, in a file named after it; stages are joined by bounded
//! channels (a slow stage makes the one before it wait, memory stays bounded) and stopped by
//! one [`CancellationToken`]. Per origin: a *watch* task pulls
//! [`SourceBatch`](causeway_adapters::SourceBatch)es from the stored cursor, a *verify* task
//! re-checks every native proof, an *append* task makes the batch durable
//! ([`SourceStore::accept_events`](crate::store::SourceStore::accept_events)) and then appends
//! it to the in-memory Merkle logs (`log.rs`, the data structure). Per lane: an *attest* task
//! signs the root it rebuilt itself through a [`SignatureCollector`], a *deliver* task leases
//! covered messages from the store and submits them (many submissions in flight, bounded by a
//! semaphore), a *confirm* task follows each submission to its outcome. What deliver and
//! confirm share (the followed submission, recording a delivery or a failure) is `settle.rs`.
//!
//! The store is the source of truth: every stage reads its work from it or writes its result
//! to it before moving on, so a new [`Relayer`] on the same database resumes where the last
//! one stopped (see [`Relayer::spawn`] for the restart rules). Store calls block, so they run
//! on `spawn_blocking`.

mod append;
mod attest;
mod clock;
mod config;
mod confirm;
mod deliver;
#[cfg(feature = "test-faults")]
pub mod faults;
mod limits;
mod log;
mod metrics;
pub mod outage;
mod settle;
mod signer;
mod verify;
mod watch;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use causeway_proofs::Domain;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use config::{AttestLaneConfig, LaneConfig, OriginConfig, PipelineConfig};
pub use limits::{DeliveryRate, LaneLimits};
pub use log::LogReader;
pub use metrics::{
    LATENCY_BUCKETS, LaneMetricsSnapshot, LatencySnapshot, OriginMetricsSnapshot,
    PipelineMetricsReader, PipelineMetricsSnapshot,
};
pub use signer::{LocalSigner, MultiSigner, PeerSignature, SignatureCollector, SignatureRequest};

use crate::Error;
use crate::store::Result;
use crate::store::{LaneStats, Store};

use clock::Clock;
use log::OriginLogs;
use metrics::PipelineMetrics;

/// Builds a relayer: origins (a source and its verifier), lanes (a destination and its trust
/// settings), a signature collector and the store.
pub struct Relayer {
    store: Arc<dyn Store>,
    config: PipelineConfig,
    collector: Arc<dyn SignatureCollector>,
    origins: BTreeMap<Domain, OriginConfig>,
    lanes: Vec<LaneConfig>,
    attest_lanes: Vec<AttestLaneConfig>,
}

impl Relayer {
    /// A relayer over `store` that signs checkpoints through `collector`.
    pub fn new(
        store: Arc<dyn Store>,
        collector: Arc<dyn SignatureCollector>,
        config: PipelineConfig,
    ) -> Self {
        Relayer {
            store,
            config,
            collector,
            origins: BTreeMap::new(),
            lanes: Vec::new(),
            attest_lanes: Vec::new(),
        }
    }

    /// Watches an origin chain (replacing an earlier configuration of the same domain).
    pub fn origin(mut self, origin: OriginConfig) -> Self {
        self.origins.insert(origin.source.domain(), origin);
        self
    }

    /// Delivers the messages of one lane (its origin must be configured with
    /// [`Relayer::origin`]).
    pub fn lane(mut self, lane: LaneConfig) -> Self {
        self.lanes.push(lane);
        self
    }

    /// Signs and exchanges the checkpoints of one lane the pipeline does not deliver (a public
    /// Anchor's; its origin must be configured with [`Relayer::origin`]).
    pub fn attest_lane(mut self, lane: AttestLaneConfig) -> Self {
        self.attest_lanes.push(lane);
        self
    }

    /// Starts every stage and returns the handle that observes and stops them.
    ///
    /// Restart rules: the watch stage resumes from the stored cursor; the in-memory logs are
    /// rebuilt from the stored leaves; messages leased by a previous run come back when their
    /// lease expires and are checked against the destination's replay record
    /// ([`delivery_status`](causeway_adapters::Destination::delivery_status)) before they are
    /// submitted again; submissions this owner had in flight are followed again from their
    /// kept handles on start (those without one are settled by the same check: delivered ones
    /// are confirmed, the others go back to pending), and those of an instance that stopped
    /// are taken over the same way once their follow lease ends.
    ///
    /// Must be called inside a tokio runtime. Fails with [`Error::OwnerInUse`] if another live
    /// instance runs under this one's name on the store, with [`Error::Config`] if a lane's origin
    /// is not configured, two lanes share an origin and destination, or a lane's signing
    /// domain names other domains than its origin and destination; fails if the store cannot
    /// be read.
    pub async fn spawn(self) -> Result<RelayerHandle> {
        self.check()?;
        // Off the async threads: a store call may block (PostgreSQL's client drives its own
        // runtime, which cannot start on one of ours).
        let claim = {
            let (store, owner) = (Arc::clone(&self.store), self.config.owner.clone());
            tokio::task::spawn_blocking(move || store.claim_owner(&owner))
                .await
                .map_err(|_| Error::TaskFailed {
                    op: "claim the instance name",
                })??
        };
        let cancel = CancellationToken::new();
        let mut metrics = PipelineMetrics::default();
        let health = Health::default();
        let clock = Clock::start();
        let mut tasks = JoinSet::new();
        let ctx = StageContext {
            store: Arc::clone(&self.store),
            config: Arc::new(self.config.clone()),
            health: health.clone(),
            cancel: cancel.clone(),
            clock,
            recovery: Recovery::new(self.lanes.len()),
        };

        let mut readers = BTreeMap::new();
        for (domain, origin) in &self.origins {
            let lanes: Vec<&LaneConfig> = self
                .lanes
                .iter()
                .filter(|l| l.lane().origin == *domain)
                .collect();
            let attest_lanes: Vec<&AttestLaneConfig> = self
                .attest_lanes
                .iter()
                .filter(|l| l.lane().origin == *domain)
                .collect();
            let algorithms = lanes
                .iter()
                .map(|l| l.hash_algorithm)
                .chain(attest_lanes.iter().map(|l| l.hash_algorithm))
                .collect::<Vec<_>>();
            let logs = OriginLogs::rebuild(&ctx, *domain, &algorithms).await?;
            let logs = Arc::new(std::sync::RwLock::new(logs));
            readers.insert(*domain, Arc::clone(&logs));
            let size = logs
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .size();
            let (size_tx, size_rx) = tokio::sync::watch::channel(size);
            let cap = self.config.channel_capacity.max(1);
            let (observed_tx, observed_rx) = mpsc::channel(cap);
            let (verified_tx, verified_rx) = mpsc::channel(cap);
            tasks.spawn(
                watch::watch(
                    ctx.clone(),
                    origin.clone(),
                    metrics.origin(*domain),
                    observed_tx,
                )
                .instrument(tracing::info_span!("watch", origin = %domain)),
            );
            tasks.spawn(
                verify::verify(
                    ctx.clone(),
                    origin.clone(),
                    metrics.origin(*domain),
                    observed_rx,
                    verified_tx,
                )
                .instrument(tracing::info_span!("verify", origin = %domain)),
            );
            tasks.spawn(
                append::append(
                    ctx.clone(),
                    *domain,
                    metrics.origin(*domain),
                    Arc::clone(&logs),
                    verified_rx,
                    size_tx,
                )
                .instrument(tracing::info_span!("append", origin = %domain)),
            );
            for lane in attest_lanes {
                let members = self.collector.subscribe(lane.lane());
                tasks.spawn(
                    attest::attest(
                        ctx.clone(),
                        attest::AttestSpec::of_attest_lane(lane),
                        metrics.lane(lane.lane()),
                        Arc::clone(&logs),
                        Arc::clone(&self.collector),
                        size_rx.clone(),
                        tokio::sync::watch::Sender::new(()),
                        members,
                    )
                    .instrument(tracing::info_span!("attest", lane = %lane.lane())),
                );
            }
            for lane in lanes {
                let lane_metrics = metrics.lane(lane.lane());
                let (checkpoint_tx, checkpoint_rx) = tokio::sync::watch::channel(());
                let members = self.collector.subscribe(lane.lane());
                tasks.spawn(
                    attest::attest(
                        ctx.clone(),
                        attest::AttestSpec::of_lane(lane, self.config.checkpoint_interval),
                        Arc::clone(&lane_metrics),
                        Arc::clone(&logs),
                        Arc::clone(&self.collector),
                        size_rx.clone(),
                        checkpoint_tx,
                        members,
                    )
                    .instrument(tracing::info_span!("attest", lane = %lane.lane())),
                );
                let in_flight = Arc::new(Semaphore::new(self.config.max_in_flight.max(1)));
                let rate = Arc::new(limits::RateWindow::default());
                let (submitted_tx, submitted_rx) = mpsc::channel(self.config.max_in_flight.max(1));
                for worker in 0..self.config.deliver_workers.max(1) {
                    tasks.spawn(
                        deliver::deliver(
                            ctx.clone(),
                            lane.clone(),
                            Arc::clone(&lane_metrics),
                            Arc::clone(&logs),
                            checkpoint_rx.clone(),
                            Arc::clone(&in_flight),
                            Arc::clone(&rate),
                            submitted_tx.clone(),
                        )
                        .instrument(tracing::info_span!("deliver", lane = %lane.lane(), worker)),
                    );
                }
                drop((checkpoint_rx, submitted_tx));
                tasks.spawn(
                    confirm::confirm(ctx.clone(), lane.clone(), lane_metrics, submitted_rx)
                        .instrument(tracing::info_span!("confirm", lane = %lane.lane())),
                );
            }
        }

        Ok(RelayerHandle {
            _claim: claim,
            store: self.store,
            cancel,
            tasks,
            metrics: Arc::new(metrics),
            health,
            logs: LogReader::new(readers),
        })
    }

    fn check(&self) -> Result<()> {
        if self.config.clock_skew >= self.config.lease_for {
            return Err(Error::Config {
                reason: format!(
                    "clock_skew ({:?}) must be less than lease_for ({:?}): nothing would ever be sent under a lease",
                    self.config.clock_skew, self.config.lease_for
                ),
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for lane in &self.lanes {
            let l = lane.lane();
            if !self.origins.contains_key(&l.origin) {
                return Err(Error::Config {
                    reason: format!("lane {l} has no configured origin {}", l.origin),
                });
            }
            if !seen.insert(l) {
                return Err(Error::Config {
                    reason: format!("lane {l} is configured twice"),
                });
            }
            if lane.signing_domain.origin != l.origin {
                return Err(Error::Config {
                    reason: format!(
                        "lane {l}: signing domain names origin {}",
                        lane.signing_domain.origin
                    ),
                });
            }
            if lane.signing_domain.destination != l.destination {
                return Err(Error::Config {
                    reason: format!(
                        "lane {l}: signing domain names destination {}",
                        lane.signing_domain.destination
                    ),
                });
            }
            if lane.batch_size == 0 {
                return Err(Error::Config {
                    reason: format!("lane {l}: batch size must be at least 1"),
                });
            }
        }
        for lane in &self.attest_lanes {
            let l = lane.lane();
            if !self.origins.contains_key(&l.origin) {
                return Err(Error::Config {
                    reason: format!("attested lane {l} has no configured origin {}", l.origin),
                });
            }
            if !seen.insert(l) {
                return Err(Error::Config {
                    reason: format!("lane {l} is configured twice"),
                });
            }
            if lane.every.is_none() && lane.every_entries.is_none_or(|n| n == 0) {
                return Err(Error::Config {
                    reason: format!(
                        "attested lane {l} has no schedule: set an interval or a number of entries"
                    ),
                });
            }
        }
        Ok(())
    }
}

/// A running relayer: observe its progress, stop it.
pub struct RelayerHandle {
    /// This instance's name on the store, held until the handle drops.
    _claim: crate::store::OwnerClaim,
    store: Arc<dyn Store>,
    cancel: CancellationToken,
    tasks: JoinSet<()>,
    metrics: Arc<PipelineMetrics>,
    health: Health,
    logs: LogReader,
}

/// What the relayer has done so far: the store's counts per lane and state, and the origins
/// and lanes that halted (with why).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Per lane, messages per delivery state (from the store).
    pub lanes: Vec<LaneStats>,
    /// Origins or lanes that stopped on a fault an operator must look at, with the reason.
    pub halted: BTreeMap<String, String>,
}

impl RelayerHandle {
    /// The store's per-lane counts and the halted parts.
    pub async fn progress(&self) -> Result<Progress> {
        let store = Arc::clone(&self.store);
        let lanes = blocking(&self.cancel, "read lane stats", move || store.lane_stats()).await?;
        Ok(Progress {
            lanes,
            halted: self.health.halted(),
        })
    }

    /// The pipeline's counters and gauges, per origin and per lane.
    pub fn metrics(&self) -> PipelineMetricsSnapshot {
        self.metrics.snapshot()
    }

    /// A cloneable reader of the same figures, for a metrics scrape beside the handle's owner.
    pub fn metrics_reader(&self) -> PipelineMetricsReader {
        PipelineMetricsReader {
            metrics: Arc::clone(&self.metrics),
            health: self.health.clone(),
        }
    }

    /// A cloneable reader of the origins' in-memory logs (roots and consistency proofs, for
    /// anchoring).
    pub fn logs(&self) -> LogReader {
        self.logs.clone()
    }

    /// Stops every stage and waits for them to finish. Work in progress is abandoned at a
    /// safe point: everything already acknowledged is in the store.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        while let Some(joined) = self.tasks.join_next().await {
            if let Err(e) = joined
                && e.is_panic()
            {
                tracing::error!(
                    error = &e as &dyn std::error::Error,
                    "pipeline task panicked"
                );
            }
        }
    }
}

impl Drop for RelayerHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Origins and lanes that halted, shared by the stages.
#[derive(Clone, Debug, Default)]
pub(crate) struct Health(Arc<Mutex<BTreeMap<String, String>>>);

impl Health {
    fn halt(&self, what: String, reason: String) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(what, reason);
    }

    fn halted(&self) -> BTreeMap<String, String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The origins that halted (every stage halts an origin under `origin {domain}`).
    pub(crate) fn halted_origins(&self) -> Vec<Domain> {
        self.halted()
            .keys()
            .filter_map(|k| k.strip_prefix("origin ")?.parse().ok().map(Domain))
            .collect()
    }
}

/// What every stage task holds.
#[derive(Clone)]
pub(crate) struct StageContext {
    store: Arc<dyn Store>,
    config: Arc<PipelineConfig>,
    health: Health,
    cancel: CancellationToken,
    clock: Clock,
    recovery: Recovery,
}

/// The lanes whose confirm stage has not yet followed, once, the submissions a previous run
/// left. No lane sends anything new before none is left: a submission recorded and never
/// broadcast (a crash in between) is sent again byte for byte by that first follow, before a
/// new transaction could take its nonce. A lane is done after at most half a lease of
/// following, or at its first failed take-over (its store or destination down), so one lane
/// never holds the others back for long; a recorded transaction whose nonce a new one takes
/// anyway is reported dropped and its messages are sent again.
#[derive(Clone, Debug)]
pub(crate) struct Recovery {
    left: Arc<tokio::sync::watch::Sender<usize>>,
}

impl Recovery {
    /// `lanes` lanes to recover.
    fn new(lanes: usize) -> Self {
        Recovery {
            left: Arc::new(tokio::sync::watch::Sender::new(lanes)),
        }
    }

    /// One lane has followed its left-overs once.
    pub(crate) fn lane_done(&self) {
        self.left.send_modify(|n| *n = n.saturating_sub(1));
    }

    /// Waits until every lane is done; `false` if cancelled first.
    pub(crate) async fn wait(&self, cancel: &CancellationToken) -> bool {
        let mut rx = self.left.subscribe();
        tokio::select! {
            () = cancel.cancelled() => false,
            r = rx.wait_for(|n| *n == 0) => r.is_ok(),
        }
    }
}

/// Runs a blocking store call on tokio's blocking pool, again while the database is busy
/// ([`retry_busy`]).
async fn blocking<T: Send + 'static>(
    cancel: &CancellationToken,
    op: &'static str,
    f: impl FnMut() -> Result<T> + Send + 'static,
) -> Result<T> {
    let cancel = cancel.clone();
    tokio::task::spawn_blocking(move || retry_busy(op, &cancel, f))
        .await
        .map_err(|_| Error::TaskFailed { op })?
}

/// First wait after the store reports the database busy; doubled per retry.
const BUSY_FIRST_WAIT: std::time::Duration = std::time::Duration::from_millis(10);
/// Longest wait between retries of a busy store call.
const BUSY_MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Calls `f` until the store answers something other than [`Error::Busy`]: busy is a state
/// (another process holds the lock past the busy timeout; the call changed nothing), not a
/// verdict, so no stage halts or drops an outcome over it. Waits with capped exponential
/// backoff on the calling (blocking) thread, and says so in the log. Gives up (returning the
/// busy error) once `cancel` fires, so that a shutdown never waits on a lock held for ever.
fn retry_busy<T>(
    op: &'static str,
    cancel: &CancellationToken,
    mut f: impl FnMut() -> Result<T>,
) -> Result<T> {
    let mut wait = BUSY_FIRST_WAIT;
    let mut retries: u64 = 0;
    loop {
        match f() {
            Err(e @ Error::Busy { .. }) if cancel.is_cancelled() => return Err(e),
            Err(Error::Busy { .. }) => {
                retries += 1;
                if retries.is_power_of_two() {
                    tracing::warn!(
                        op,
                        retries,
                        wait_ms = wait.as_millis() as u64,
                        "store busy (another process holds the database lock); retrying"
                    );
                }
                std::thread::sleep(wait);
                wait = (wait * 2).min(BUSY_MAX_WAIT);
            }
            Err(e @ Error::Unavailable { .. }) if cancel.is_cancelled() => return Err(e),
            // The database server is down or unreachable (PostgreSQL): wait for it like for a
            // lock. A write whose commit was cut off may have landed; its retry then meets the
            // state it left, as after a crash.
            Err(Error::Unavailable { reason, .. }) => {
                retries += 1;
                if retries.is_power_of_two() {
                    tracing::warn!(
                        op,
                        retries,
                        wait_ms = wait.as_millis() as u64,
                        reason = %reason,
                        "store unavailable (is the database server up?); retrying"
                    );
                }
                std::thread::sleep(wait);
                wait = (wait * 2).min(BUSY_MAX_WAIT);
            }
            other => return other,
        }
    }
}

/// Runs `fut` unless cancelled first (`None`). Abandoning a chain call is safe: whatever it
/// did is found again through the store and the destination's replay record.
async fn cancellable<T>(
    cancel: &CancellationToken,
    fut: impl core::future::Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        () = cancel.cancelled() => None,
        v = fut => Some(v),
    }
}

/// Sleeps for `d` unless cancelled first; returns `false` when cancelled.
async fn sleep_or_cancel(cancel: &CancellationToken, d: std::time::Duration) -> bool {
    tokio::select! {
        () = cancel.cancelled() => false,
        () = tokio::time::sleep(d) => true,
    }
}
