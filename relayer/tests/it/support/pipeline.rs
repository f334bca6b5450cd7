//! Shared fixtures of the pipeline tests: in-memory chains from `causeway_adapters::memory`,
//! a [`Probe`] destination wrapping one (counts deliveries, injects reverts and slow
//! confirmations), and a relayer builder with test-sized intervals.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use causeway_adapters::memory::MemoryChain;
use causeway_adapters::{
    BlockId, BlockRef, DeliveryBatch, DeliveryStatus, Destination, Error as AdapterError, Recorder,
    RevertReason, SignedSubmission, Submission, SubmissionHandle, SubmissionOutcome,
};
use causeway_proofs::bundle::ChainFamily;
use causeway_proofs::{
    Address32, Domain, HashAlgorithm, Message, MessageId, Nonce, SigningDomain, TrustAnchor,
    ValidatorKey, ValidatorSet,
};
use causeway_relayer::pipeline::{
    LaneConfig, LocalSigner, OriginConfig, PipelineConfig, PipelineMetricsSnapshot, Progress,
    SignatureCollector,
};
use causeway_relayer::store::{LaneStats, LeaseOwner, RetryPolicy, SqliteStore, StateCounts};
use causeway_relayer::{Relayer, RelayerHandle};

pub const P_ORIGIN: Domain = Domain(10);
pub const P_DEST: Domain = Domain(20);

/// `n` messages from `P_ORIGIN` to `P_DEST`, nonces `first..first + n`.
pub fn messages(first: u64, n: u64) -> Vec<Message> {
    (first..first + n)
        .map(|i| {
            Message::new(
                Nonce(i),
                P_ORIGIN,
                Address32([1; 32]),
                P_DEST,
                Address32([2; 32]),
                i.to_be_bytes().to_vec(),
            )
            .unwrap()
        })
        .collect()
}

/// Emits `msgs` on `chain`, `per_block` per block.
pub fn emit(chain: &MemoryChain, msgs: &[Message], per_block: usize) {
    for block in msgs.chunks(per_block) {
        chain.emit(block.to_vec());
    }
}

pub fn key(i: u8) -> ValidatorKey {
    ValidatorKey::from_bytes(&[i + 1; 32]).unwrap()
}

pub fn signing_domain() -> SigningDomain {
    SigningDomain {
        origin: P_ORIGIN,
        origin_chain_id: 1010,
        destination: P_DEST,
        destination_chain_id: 2020,
        inbox: SigningDomain::named_inbox("pipeline-test-inbox"),
        validator_epoch: 1,
    }
}

pub fn validators(keys: &[ValidatorKey], threshold: usize) -> ValidatorSet {
    ValidatorSet::new(keys.iter().map(ValidatorKey::address).collect(), threshold).unwrap()
}

/// A destination chain that checks signatures like the Inbox.
pub fn destination_chain(keys: &[ValidatorKey], threshold: usize) -> MemoryChain {
    MemoryChain::new(P_DEST, 0).with_trust(TrustAnchor {
        signing_domain: signing_domain(),
        validators: validators(keys, threshold),
    })
}

/// Test-sized knobs (real or paused time).
pub fn test_config() -> PipelineConfig {
    PipelineConfig {
        owner: LeaseOwner("test-relayer".into()),
        channel_capacity: 2,
        max_in_flight: 4,
        source_poll: Duration::from_millis(20),
        source_backoff: Duration::from_millis(50),
        source_backoff_max: Duration::from_millis(500),
        deliver_poll: Duration::from_millis(20),
        confirm_poll: Duration::from_millis(10),
        confirmations: 1,
        lease_for: Duration::from_millis(500),
        clock_skew: Duration::from_millis(50),
        retry: RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            max_attempts: 50,
        },
        checkpoint_interval: Duration::ZERO,
        deliver_workers: 2,
    }
}

/// Another process's exclusive write lock on the store file `db`, taken when this returns and
/// released when the returned sender sends (or drops), or after `at_most`.
pub fn hold_write_lock(
    db: &Path,
    at_most: Duration,
) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let db = db.to_path_buf();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch("BEGIN EXCLUSIVE").unwrap();
        locked_tx.send(()).unwrap();
        let _ = release_rx.recv_timeout(at_most);
        c.execute_batch("COMMIT").unwrap();
    });
    locked_rx.recv().unwrap();
    (release_tx, holder)
}

/// [`test_config`] for the instance named `name`.
pub fn named_config(name: &str) -> PipelineConfig {
    PipelineConfig {
        owner: LeaseOwner(name.into()),
        ..test_config()
    }
}

/// A relayer of one lane `P_ORIGIN -> P_DEST`.
pub fn relayer(
    db: &Path,
    source: &MemoryChain,
    destination: Arc<Probe>,
    collector: Arc<dyn SignatureCollector>,
    set: ValidatorSet,
    batch_size: usize,
    config: PipelineConfig,
) -> Relayer {
    let store = Arc::new(SqliteStore::open(db).unwrap());
    Relayer::new(store, collector, config)
        .origin(OriginConfig {
            source: Arc::new(source.clone()),
            verifier: Arc::new(source.clone()),
            start_height: 0,
        })
        .lane(LaneConfig {
            limits: Default::default(),
            destination,
            signing_domain: signing_domain(),
            validators: set,
            hash_algorithm: HashAlgorithm::Sha256,
            batch_size,
            rota: None,
        })
}

/// A relayer of the one-gateway setup most tests use: validator `key(0)` signing alone (1-of-1).
pub fn solo_relayer(
    db: &Path,
    source: &MemoryChain,
    destination: Arc<Probe>,
    batch_size: usize,
    config: PipelineConfig,
) -> Relayer {
    relayer(
        db,
        source,
        destination,
        Arc::new(LocalSigner::new(key(0))),
        validators(&[key(0)], 1),
        batch_size,
        config,
    )
}

/// The one-gateway fixture most tests start from: a fresh store file, `n` messages emitted on
/// `P_ORIGIN` (`per_block` per block) and the 1-of-1 destination chain that trusts `key(0)`.
pub struct Solo {
    _dir: tempfile::TempDir,
    /// The store file.
    pub db: PathBuf,
    /// The origin chain, messages already emitted.
    pub source: MemoryChain,
    /// The emitted messages.
    pub msgs: Vec<Message>,
    /// The destination chain (shared by every [`Solo::probe`]).
    pub chain: MemoryChain,
}

impl Solo {
    pub fn new(n: u64, per_block: usize) -> Solo {
        let dir = tempfile::tempdir().unwrap();
        let source = MemoryChain::new(P_ORIGIN, 0);
        let msgs = messages(0, n);
        emit(&source, &msgs, per_block);
        Solo {
            db: dir.path().join("relayer.db"),
            _dir: dir,
            source,
            msgs,
            chain: destination_chain(&[key(0)], 1),
        }
    }

    /// A probe over the destination chain.
    pub fn probe(&self) -> Probe {
        Probe::new(self.chain.clone())
    }

    /// The 1-of-1 relayer of this fixture's store, origin and `probe`.
    pub fn relayer(&self, probe: Arc<Probe>, batch_size: usize, config: PipelineConfig) -> Relayer {
        solo_relayer(&self.db, &self.source, probe, batch_size, config)
    }
}

/// A retry policy with these bounds.
pub fn retry_policy(base: Duration, max: Duration, max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        base_delay: base,
        max_delay: max,
        max_attempts,
    }
}

/// Asserts that no message of the lane is still on its way or given up: nothing pending,
/// leased, submitted or dead-lettered.
pub fn assert_settled(c: &StateCounts) {
    assert_eq!(
        (c.pending, c.leased, c.submitted, c.dead_letter),
        (0, 0, 0, 0),
        "{c:?}"
    );
}

/// The lane's counts (zero before its first message).
pub fn counts(p: &Progress) -> StateCounts {
    p.lanes
        .iter()
        .find(|s: &&LaneStats| s.lane.origin == P_ORIGIN && s.lane.destination == P_DEST)
        .map(|s| s.counts)
        .unwrap_or_default()
}

/// Polls the handle until `done(progress)` holds; panics after `timeout` (of tokio's clock).
pub async fn wait_until(
    handle: &RelayerHandle,
    timeout: Duration,
    done: impl Fn(&Progress) -> bool,
) -> Progress {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let p = handle.progress().await.unwrap();
        if done(&p) {
            return p;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out; progress {p:?}, metrics {:?}",
            handle.metrics()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The handle's metrics once `settled(metrics)` holds, or the last snapshot after five seconds
/// (of tokio's clock) so the caller's assertions report it. The pipeline bumps a counter right
/// after the store call it counts, on another thread, so a reader that has just seen the
/// store's count may find the counter a moment behind.
pub async fn metrics_when(
    handle: &RelayerHandle,
    settled: impl Fn(&PipelineMetricsSnapshot) -> bool,
) -> PipelineMetricsSnapshot {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let m = handle.metrics();
        if settled(&m) || tokio::time::Instant::now() >= deadline {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A destination wrapping a [`MemoryChain`]: counts every message it accepted in a successful
/// submission, can fake a reverted transaction, and can hold outcomes pending for a while.
#[derive(Debug)]
pub struct Probe {
    pub chain: MemoryChain,
    /// Upcoming submissions to "send" but report as reverted (nothing delivered).
    pub revert_next: AtomicU32,
    /// Outcome polls each submission stays pending for.
    pub pending_polls: u32,
    /// How long each delivery status read takes.
    pub status_delay: Duration,
    /// Messages whose delivery alone "reverts": left out of every submission, the recorder
    /// told why (as the EVM adapter's bisection does).
    pub left_out: Vec<MessageId>,
    delivered: Mutex<HashMap<MessageId, u32>>,
    polls: Mutex<HashMap<String, u32>>,
    outstanding: AtomicU64,
    pub max_outstanding: AtomicU64,
    fake: AtomicU64,
}

impl Probe {
    pub fn new(chain: MemoryChain) -> Self {
        Probe {
            chain,
            revert_next: AtomicU32::new(0),
            pending_polls: 0,
            status_delay: Duration::ZERO,
            left_out: Vec::new(),
            delivered: Mutex::new(HashMap::new()),
            polls: Mutex::new(HashMap::new()),
            outstanding: AtomicU64::new(0),
            max_outstanding: AtomicU64::new(0),
            fake: AtomicU64::new(0),
        }
    }

    /// How many times each message was accepted by a successful submission.
    pub fn deliveries(&self) -> HashMap<MessageId, u32> {
        self.delivered.lock().unwrap().clone()
    }

    /// Waits until `n` messages were accepted. The store records a submission before it is
    /// sent, so `submitted` in the store can run ahead of what the destination has applied: a
    /// test that stops the relayer to leave submissions in flight waits for this too.
    pub async fn wait_applied(&self, n: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.delivered.lock().unwrap().len() < n {
            assert!(
                std::time::Instant::now() < deadline,
                "only {} of {n} applied",
                self.delivered.lock().unwrap().len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Destination for Probe {
    fn domain(&self) -> Domain {
        self.chain.domain()
    }

    async fn submit_recorded(
        &self,
        batch: &DeliveryBatch,
        recorder: &dyn Recorder,
    ) -> Result<Vec<Submission>, AdapterError> {
        if self
            .revert_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            let n = self.fake.fetch_add(1, Ordering::SeqCst);
            let handle = SubmissionHandle {
                family: ChainFamily::Evm,
                data: serde_json::json!({ "probe_revert": n }),
            };
            recorder
                .record(&SignedSubmission {
                    handle: handle.clone(),
                    messages: batch.ids(),
                    signed: n.to_be_bytes().to_vec(),
                })
                .await?;
            self.track_sent();
            return Ok(vec![Submission {
                handle,
                messages: batch.ids(),
            }]);
        }
        let mut batch = batch.clone();
        batch.items.retain(|item| {
            let id = item.message.id();
            let out = self.left_out.contains(&id);
            if out {
                recorder.left_out(&id, &RevertReason::InvalidProof);
            }
            !out
        });
        if batch.items.is_empty() {
            return Err(AdapterError::Reverted {
                reason: RevertReason::InvalidProof,
            });
        }
        let batch = &batch;
        let subs = self.chain.submit_recorded(batch, recorder).await?;
        {
            let mut d = self.delivered.lock().unwrap();
            for id in batch.ids() {
                *d.entry(id).or_default() += 1;
            }
        }
        self.track_sent();
        Ok(subs)
    }

    async fn outcome_recorded(
        &self,
        handle: &SubmissionHandle,
        _signed: Option<&[u8]>,
    ) -> Result<SubmissionOutcome, AdapterError> {
        let key = handle.data.to_string();
        let polls = {
            let mut p = self.polls.lock().unwrap();
            let n = p.entry(key).or_default();
            *n += 1;
            *n
        };
        if polls <= self.pending_polls {
            return Ok(SubmissionOutcome::Pending);
        }
        let outcome = if handle.data.get("probe_revert").is_some() {
            SubmissionOutcome::Reverted {
                block: BlockRef {
                    height: 1,
                    id: BlockId::new(vec![7; 32]),
                },
                reason: RevertReason::Message {
                    message: "probe revert".into(),
                },
            }
        } else {
            self.chain.outcome(handle).await?
        };
        if polls == self.pending_polls + 1 {
            // Saturating: a submission recorded by a run stopped mid-submit (its future
            // dropped before `track_sent`) is followed by the next run without having been
            // counted as sent here.
            let _ = self
                .outstanding
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                    Some(n.saturating_sub(1))
                });
        }
        Ok(outcome)
    }

    async fn delivery_status(&self, id: &MessageId) -> Result<DeliveryStatus, AdapterError> {
        tokio::time::sleep(self.status_delay).await;
        self.chain.delivery_status(id).await
    }
}

impl Probe {
    fn track_sent(&self) {
        let now = self.outstanding.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_outstanding.fetch_max(now, Ordering::SeqCst);
    }
}
