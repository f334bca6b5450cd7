//! Public anchoring (docs/anchoring.md): each `[anchors.*]` entry's origin log is anchored on a
//! public chain's Anchor contract, so anyone can check that the consortium never rewrote it.
//!
//! Two halves. The relayer's attest stage signs the origin's SHA-256 checkpoints for the
//! Anchor's own signing domain (destination domain 0, the public chain's id, the Anchor's
//! address and its validator epoch for the origin): only roots this gateway rebuilt itself,
//! of its own accord on the anchoring's schedule, co-signing the members' checkpoints whose
//! root it rebuilt too. Those signatures travel over the peer protocol like any lane's (lane
//! `origin -> 0`), and the threshold checkpoints land in the store, so a restart resumes with
//! them. Then [`start`]'s task, one per anchoring, submits: it reads `latest(origin)` on the
//! Anchor, and once the store holds a larger threshold checkpoint and the schedule is due,
//! the member whose turn it is (a rotation on the last anchored root, the same for every
//! member) sends `anchor(cp, signatures, consistencyProof)` with the RFC 9162 proof from the
//! anchored size to the new one, built from this gateway's own log. The other members take over
//! after `takeover_secs`, one after another. A duplicate that reverts as stale is harmless and
//! counted; any other revert is logged with its reason and retried with backoff.
//!
//! Before it anchors, the task checks that the Anchor's last root is the root this gateway
//! rebuilt for that size: if not, the history on the Anchor is not this gateway's, and it
//! says so loudly (an error each time) and anchors nothing on top of it.

pub mod consistency;
mod contract;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;
use causeway_adapters::chain::RevertReason;
use causeway_config::Secret32;
use causeway_proofs::{Domain, HashAlgorithm, LogSize};
use causeway_relayer::pipeline::{AttestLaneConfig, LogReader};
use causeway_relayer::store::{Lane, Store, StoredCheckpoint};
use tokio_util::sync::CancellationToken;

pub use contract::{AnchorCallError, AnchorContract, Anchored, Landed};

/// One anchoring, wired: the Anchor on its chain, the attested lane the relayer signs, the
/// account that sends, the schedule and the turns.
pub struct WiredAnchor {
    /// Its name in the configuration (`[anchors.<name>]`, a metric label).
    pub name: String,
    /// The anchored origin.
    pub origin: Domain,
    /// The public chain's name.
    pub chain: String,
    /// The public chain's id (transactions are signed for it).
    pub(crate) chain_id: u64,
    /// The Anchor on the first node that passed the probes.
    pub(crate) contract: AnchorContract,
    /// What the relayer signs: the Anchor's signing domain, its validator set, the schedule.
    pub lane: AttestLaneConfig,
    /// The anchoring account's key.
    pub(crate) key: Arc<Secret32>,
    /// Anchor at most this often while the log grows.
    pub every: Option<Duration>,
    /// Anchor as soon as the log grew by this many entries.
    pub every_messages: Option<u64>,
    /// How long the others wait for the member whose turn it is.
    pub takeover_after: Duration,
}

impl Clone for WiredAnchor {
    fn clone(&self) -> Self {
        WiredAnchor {
            name: self.name.clone(),
            origin: self.origin,
            chain: self.chain.clone(),
            chain_id: self.chain_id,
            contract: self.contract.clone(),
            lane: self.lane.clone(),
            key: Arc::clone(&self.key),
            every: self.every,
            every_messages: self.every_messages,
            takeover_after: self.takeover_after,
        }
    }
}

impl core::fmt::Debug for WiredAnchor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WiredAnchor")
            .field("name", &self.name)
            .field("origin", &self.origin)
            .field("chain", &self.chain)
            .field("contract", &self.contract)
            .field("lane", &self.lane.lane())
            .finish_non_exhaustive()
    }
}

/// What one anchoring did since the gateway started (`/metrics`).
#[derive(Debug, Default)]
pub struct AnchorCounters {
    /// Anchor transactions this gateway broadcast.
    pub sent: AtomicU64,
    /// Of those, mined and successful.
    pub landed: AtomicU64,
    /// Attempts that reverted as stale because another member's anchor landed first
    /// (harmless).
    pub stale: AtomicU64,
    /// Attempts that failed otherwise (refused in simulation, reverted, node errors).
    pub failed: AtomicU64,
    /// The last size the Anchor holds for the origin (0: nothing anchored yet, or not read).
    pub anchored_size: AtomicU64,
}

/// The counters of every anchoring, by name (cloneable, read at each scrape).
#[derive(Clone, Debug, Default)]
pub struct AnchorMetrics {
    anchorings: Arc<Vec<(String, Arc<AnchorCounters>)>>,
}

impl AnchorMetrics {
    /// Counters for `names`.
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        AnchorMetrics {
            anchorings: Arc::new(
                names
                    .into_iter()
                    .map(|n| (n, Arc::new(AnchorCounters::default())))
                    .collect(),
            ),
        }
    }

    /// Every anchoring's counters.
    pub fn all(&self) -> &[(String, Arc<AnchorCounters>)] {
        &self.anchorings
    }

    fn of(&self, name: &str) -> Arc<AnchorCounters> {
        self.anchorings
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| Arc::clone(c))
            .unwrap_or_default()
    }
}

/// This gateway's place among the members who take turns in anchoring.
#[derive(Clone, Copy, Debug)]
pub struct Turns {
    /// How many members there are.
    pub members: u64,
    /// This gateway's position (configuration order, the same in every member's file).
    pub position: u64,
}

/// Least time between two looks at the Anchor.
const MIN_POLL: Duration = Duration::from_secs(1);
/// Longest backoff after failed attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Starts one task per anchoring, each with its name for the log; they stop when `cancel`
/// fires.
pub fn start(
    anchors: Vec<WiredAnchor>,
    store: Arc<dyn Store>,
    logs: LogReader,
    turns: Turns,
    poll: Duration,
    metrics: &AnchorMetrics,
    cancel: CancellationToken,
) -> Vec<(String, tokio::task::JoinHandle<()>)> {
    anchors
        .into_iter()
        .map(|anchor| {
            let name = format!("the anchoring {}", anchor.name);
            let task = Anchoring {
                counters: metrics.of(&anchor.name),
                anchor,
                store: Arc::clone(&store),
                logs: logs.clone(),
                turns,
                poll: poll.max(MIN_POLL),
            };
            let cancel = cancel.clone();
            (name, tokio::spawn(async move { task.run(cancel).await }))
        })
        .collect()
}

/// The submitting side of one anchoring.
struct Anchoring {
    anchor: WiredAnchor,
    store: Arc<dyn Store>,
    logs: LogReader,
    turns: Turns,
    poll: Duration,
    counters: Arc<AnchorCounters>,
}

/// What the task remembers between looks.
#[derive(Default)]
struct Seen {
    /// The Anchor's last checkpoint, as last read.
    anchored: Option<Anchored>,
    /// When this task saw it change (the schedule counts from there; `None`: not since start,
    /// so an anchor is due at once when there is something new).
    changed_at: Option<tokio::time::Instant>,
    /// Since when a new anchor has been due (the turns count from there).
    due_since: Option<tokio::time::Instant>,
    /// The current backoff after failures (zero after a success).
    backoff: Duration,
}

impl Anchoring {
    async fn run(self, cancel: CancellationToken) {
        let a = &self.anchor;
        let key = match PrivateKeySigner::from_bytes(&(*a.key.expose_secret()).into()) {
            Ok(key) => key,
            Err(e) => {
                tracing::error!(anchoring = %a.name, error = %e, "the anchoring key is unusable; nothing will be anchored (fix: anchors.{}.key_file)", a.name);
                return;
            }
        };
        tracing::info!(
            anchoring = %a.name, origin = %a.origin, chain = %a.chain,
            anchor = ?a.contract, account = %key.address(),
            "anchoring the origin's log"
        );
        let mut seen = Seen::default();
        loop {
            let wait = self.poll + seen.backoff;
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            match self.step(&key, &mut seen).await {
                Ok(()) => seen.backoff = Duration::ZERO,
                Err(()) => {
                    seen.backoff = (seen.backoff * 2).clamp(self.poll, MAX_BACKOFF);
                }
            }
        }
    }

    /// One look: read the Anchor, and anchor when due and this member's turn. `Err` after a
    /// failure (already logged and counted).
    async fn step(&self, key: &PrivateKeySigner, seen: &mut Seen) -> Result<(), ()> {
        let a = &self.anchor;
        let anchored = match a.contract.latest(a.origin).await {
            Ok(anchored) => anchored,
            Err(e) => {
                // Counted: a public chain none of whose endpoints answers is an anchoring that
                // fails (the CausewayAnchorFailing alert), whoever's turn it is.
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(anchoring = %a.name, error = %e, "cannot read the Anchor's last checkpoint on any of the chain's endpoints; retrying with backoff");
                return Err(());
            }
        };
        self.counters
            .anchored_size
            .store(anchored.size.0, Ordering::Relaxed);
        if seen.anchored != Some(anchored) {
            if seen.anchored.is_some() {
                seen.changed_at = Some(tokio::time::Instant::now());
            }
            seen.anchored = Some(anchored);
            seen.due_since = None;
        }
        // The history on the Anchor must be the one this gateway rebuilt.
        if anchored.size.0 > 0 {
            let own_size = self.logs.size(a.origin).unwrap_or(LogSize(0));
            if own_size < anchored.size {
                // Behind the Anchor (catching up after a restart): nothing to add yet.
                return Ok(());
            }
            match self
                .logs
                .root_at(a.origin, HashAlgorithm::Sha256, anchored.size)
            {
                Ok(own) if own == anchored.root => {}
                Ok(own) => {
                    tracing::error!(
                        anchoring = %a.name, size = anchored.size.0,
                        anchored = %anchored.root, own = %own,
                        "the Anchor holds another root for this size than the one this gateway \
                         rebuilt: its history is not this gateway's log; nothing is anchored on \
                         top of it (investigate the validators that signed it)"
                    );
                    return Err(());
                }
                Err(e) => {
                    tracing::warn!(anchoring = %a.name, error = %e, "cannot rebuild the anchored size's root");
                    return Err(());
                }
            }
        }
        let Some(next) = self.next_checkpoint().await? else {
            return Ok(());
        };
        if next.checkpoint.size() <= anchored.size {
            return Ok(());
        }
        if !self.due(anchored, next.checkpoint.size(), seen) {
            return Ok(());
        }
        let due_since = *seen.due_since.get_or_insert_with(tokio::time::Instant::now);
        if !self.my_turn(anchored, due_since) {
            return Ok(());
        }
        self.submit(key, anchored, &next).await
    }

    /// The largest threshold checkpoint of the anchoring's lane in the store.
    async fn next_checkpoint(&self) -> Result<Option<StoredCheckpoint>, ()> {
        let store = Arc::clone(&self.store);
        let lane: Lane = self.anchor.lane.lane();
        let threshold = self.anchor.lane.validators.threshold();
        match tokio::task::spawn_blocking(move || store.latest_checkpoint(lane, threshold)).await {
            Ok(Ok(cp)) => Ok(cp),
            Ok(Err(e)) => {
                tracing::warn!(anchoring = %self.anchor.name, error = %e, "cannot read the threshold checkpoints; retrying");
                Err(())
            }
            Err(e) => {
                tracing::warn!(anchoring = %self.anchor.name, error = %e, "the store read failed; retrying");
                Err(())
            }
        }
    }

    /// Whether the schedule calls for an anchor of `size` over `anchored`: nothing anchored
    /// yet, enough new entries, or the interval since the last anchor passed (or not seen
    /// since start).
    fn due(&self, anchored: Anchored, size: LogSize, seen: &Seen) -> bool {
        let a = &self.anchor;
        anchored.size.0 == 0
            || a.every_messages
                .is_some_and(|m| size.0.saturating_sub(anchored.size.0) >= m)
            || a.every
                .is_some_and(|every| seen.changed_at.is_none_or(|at| at.elapsed() >= every))
    }

    /// Whether this member sends now: its turn (a rotation on the anchored root, which every
    /// member reads alike), or the `k`-th member after it once `k` takeover periods passed.
    fn my_turn(&self, anchored: Anchored, due_since: tokio::time::Instant) -> bool {
        let n = self.turns.members.max(1);
        let mut word = [0u8; 8];
        word.copy_from_slice(&anchored.root.0[..8]);
        let turn = u64::from_be_bytes(word) % n;
        let behind = (self.turns.position + n - turn) % n;
        let waited = due_since.elapsed();
        behind == 0
            || self
                .anchor
                .takeover_after
                .checked_mul(u32::try_from(behind).unwrap_or(u32::MAX))
                .is_some_and(|t| waited >= t)
    }

    /// Sends the anchor of `next` over `anchored` and counts what became of it.
    async fn submit(
        &self,
        key: &PrivateKeySigner,
        anchored: Anchored,
        next: &StoredCheckpoint,
    ) -> Result<(), ()> {
        let a = &self.anchor;
        let cp = next.checkpoint;
        let proof = if anchored.size.0 == 0 {
            Vec::new()
        } else {
            match self.logs.consistency_proof(
                a.origin,
                HashAlgorithm::Sha256,
                anchored.size,
                cp.size(),
            ) {
                Ok(p) => p.path,
                Err(e) => {
                    tracing::warn!(anchoring = %a.name, error = %e, "cannot build the consistency proof; retrying");
                    self.counters.failed.fetch_add(1, Ordering::Relaxed);
                    return Err(());
                }
            }
        };
        // The store lists signatures in ascending validator order (as the contract wants);
        // the threshold is all the Anchor needs.
        let threshold = a.lane.validators.threshold();
        let signatures = &next.signatures[..threshold.min(next.signatures.len())];
        tracing::info!(
            anchoring = %a.name, from = anchored.size.0, to = cp.size().0, root = %cp.root(),
            "submitting an anchor"
        );
        match a
            .contract
            .anchor(key, a.chain_id, &cp, signatures, &proof)
            .await
        {
            Ok(Landed::Landed { tx }) => {
                self.counters.sent.fetch_add(1, Ordering::Relaxed);
                self.counters.landed.fetch_add(1, Ordering::Relaxed);
                tracing::info!(anchoring = %a.name, size = cp.size().0, root = %cp.root(), %tx, "anchored");
                Ok(())
            }
            Ok(Landed::Reverted { tx }) => {
                self.counters.sent.fetch_add(1, Ordering::Relaxed);
                // Most often another member's anchor of this size or more landed first.
                match a.contract.latest(a.origin).await {
                    Ok(now) if now.size >= cp.size() => {
                        self.counters.stale.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(anchoring = %a.name, size = cp.size().0, %tx, anchored = now.size.0, "another member's anchor landed first; this one reverted as stale (harmless)");
                        Ok(())
                    }
                    _ => {
                        self.counters.failed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(anchoring = %a.name, size = cp.size().0, %tx, "the anchor transaction reverted on chain; retrying with backoff");
                        Err(())
                    }
                }
            }
            Err(AnchorCallError::Reverted {
                reason: RevertReason::StaleCheckpoint { last, got },
            }) => {
                self.counters.stale.fetch_add(1, Ordering::Relaxed);
                tracing::info!(anchoring = %a.name, last, got, "the Anchor already holds this size or more (another member anchored first); nothing sent");
                Ok(())
            }
            Err(AnchorCallError::Reverted { reason }) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    anchoring = %a.name, size = cp.size().0, %reason,
                    "the Anchor refuses this anchor (nothing sent); retrying with backoff \
                     (fix: compare the Anchor's validator set for the origin with \
                     anchors.{}.validators, and its history with this gateway's log)",
                    a.name
                );
                Err(())
            }
            Err(e @ AnchorCallError::NotMined(_)) => {
                self.counters.sent.fetch_add(1, Ordering::Relaxed);
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(anchoring = %a.name, error = %e, "the anchor was sent but not seen mined; retrying with backoff");
                Err(())
            }
            Err(e @ (AnchorCallError::Node(_) | AnchorCallError::Refused(_))) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(anchoring = %a.name, error = %e, node = a.contract.node(), "cannot send the anchor; retrying with backoff");
                Err(())
            }
        }
    }
}
