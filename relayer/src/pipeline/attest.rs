//! The attest stage of one lane: whenever the origin's log grows, build the checkpoint of the
//! root this gateway rebuilt itself, gather signatures through the [`SignatureCollector`],
//! check each against the lane's validator set, and record them.
//!
//! With a networked collector, other members' signatures arrive on the lane's
//! [`SignatureCollector::subscribe`] channel. Each is recovered with the lane's own signing
//! domain and must be of a validator of the lane; it waits (bounded) until this gateway's log
//! reaches its size; then, if its root is the one this gateway rebuilt for that size, it counts
//! and this gateway co-signs that size too (so members converge on common checkpoints without
//! trusting one another, DESIGN "The gateway service"). A root that differs is a *root mismatch*:
//! logged, counted, never signed. A validator that signed two roots for one size has
//! *equivocated*: the store keeps both signed checkpoints as evidence and stops counting its
//! signatures on the lane.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use std::time::Duration;

use causeway_proofs::attestation::recover;
use causeway_proofs::{
    Checkpoint, EvmAddress, Hash32, HashAlgorithm, LogSize, SigningDomain, ValidatorSet,
};
use tokio::sync::{mpsc, watch};

use super::log::OriginLogs;
use super::metrics::{LaneMetrics, add};
use super::{
    AttestLaneConfig, LaneConfig, PeerSignature, SignatureCollector, SignatureRequest,
    StageContext, blocking, sleep_or_cancel,
};
use crate::Error;
use crate::store::{
    CheckpointRecord, Lane, MemberSignatureOutcome, MemberSignatureRecord, Result,
    ValidatorSignature,
};

/// What the attest stage of one lane needs: the lane, what its signatures are made for and
/// counted against, and when this gateway signs of its own accord.
pub(crate) struct AttestSpec {
    lane: Lane,
    signing_domain: SigningDomain,
    validators: ValidatorSet,
    hash_algorithm: HashAlgorithm,
    /// Shortest time between two own checkpoints (`None`: only by `every_entries`).
    every: Option<Duration>,
    /// Sign at once when the log grew by this many entries since the last own checkpoint.
    every_entries: Option<u64>,
}

impl AttestSpec {
    /// A delivered lane: own checkpoints at most every `interval`.
    pub(crate) fn of_lane(lane: &LaneConfig, interval: Duration) -> Self {
        AttestSpec {
            lane: lane.lane(),
            signing_domain: lane.signing_domain,
            validators: lane.validators.clone(),
            hash_algorithm: lane.hash_algorithm,
            every: Some(interval),
            every_entries: None,
        }
    }

    /// An attested-only lane (a public Anchor's), on its own schedule.
    pub(crate) fn of_attest_lane(lane: &AttestLaneConfig) -> Self {
        AttestSpec {
            lane: lane.lane(),
            signing_domain: lane.signing_domain,
            validators: lane.validators.clone(),
            hash_algorithm: lane.hash_algorithm,
            every: lane.every,
            every_entries: lane.every_entries,
        }
    }

    fn lane(&self) -> Lane {
        self.lane
    }

    /// When this gateway may next sign of its own accord, having last done so at `at` for
    /// `highest` and the log now at `size`: `None` now, else the instant (or never, when only
    /// the number of entries decides and it is not reached).
    fn wait_until(
        &self,
        at: tokio::time::Instant,
        highest: LogSize,
        size: LogSize,
    ) -> Option<Option<tokio::time::Instant>> {
        if self
            .every_entries
            .is_some_and(|n| size.0.saturating_sub(highest.0) >= n)
        {
            return None;
        }
        match self.every.map(|every| at.checked_add(every)) {
            Some(Some(ready)) if tokio::time::Instant::now() >= ready => None,
            Some(ready) => Some(ready),
            None => Some(None),
        }
    }
}

/// Most signatures of one validator kept waiting for this gateway's log to reach their size;
/// past it that validator's farthest sizes are dropped (the nearest are settled first; a member
/// re-sends its latest when it reconnects and co-signs this gateway's own sizes, so nothing is
/// lost for good). Counted per validator, so one member sending far-future sizes can only push
/// out its own signatures, never an honest member's.
const MAX_WAITING_PER_VALIDATOR: usize = 256;

/// Most sizes remembered as signed by this gateway in this run (to co-sign each size once).
const MAX_REMEMBERED: usize = 4096;

/// Runs until cancelled (or the origin stops growing for good).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn attest(
    ctx: StageContext,
    lane: AttestSpec,
    metrics: Arc<LaneMetrics>,
    logs: Arc<RwLock<OriginLogs>>,
    collector: Arc<dyn SignatureCollector>,
    mut size_rx: watch::Receiver<LogSize>,
    checkpoint_tx: watch::Sender<()>,
    mut members: Option<mpsc::Receiver<PeerSignature>>,
) {
    let l = lane.lane();
    let mut attest = Attest {
        ctx: &ctx,
        lane: &lane,
        metrics: &metrics,
        logs: &logs,
        collector: collector.as_ref(),
        checkpoint_tx: &checkpoint_tx,
        signed: BTreeSet::new(),
        waiting: BTreeMap::new(),
    };
    let mut highest = LogSize(0);
    // When this gateway last signed of its own accord (see `checkpoint_interval`).
    let mut last_signed: Option<tokio::time::Instant> = None;
    loop {
        let size = *size_rx.borrow_and_update();
        if size > highest {
            if let Some(at) = last_signed
                && let Some(ready) = lane.wait_until(at, highest, size)
            {
                // Too soon after the last one: sign the latest size once the interval has
                // passed (or, on a lane signed by the number of entries, once enough
                // arrived), serving members' signatures meanwhile.
                let by_entries = lane.every_entries.is_some();
                tokio::select! {
                    () = ctx.cancel.cancelled() => return,
                    () = sleep_until(ready) => {}
                    changed = size_rx.changed(), if by_entries => if changed.is_err() { return },
                    Some(signature) = next(&mut members) => {
                        let size = *size_rx.borrow();
                        attest.member_signature(signature, size).await;
                    }
                }
                continue;
            }
            last_signed = Some(tokio::time::Instant::now());
            match attest.sign(size).await {
                Ok(()) => highest = size,
                Err(e) => {
                    tracing::warn!(
                        lane = %l,
                        size = size.0,
                        error = &e as &dyn std::error::Error,
                        "checkpoint not signed; retrying",
                    );
                    if !sleep_or_cancel(&ctx.cancel, ctx.config.deliver_poll).await {
                        return;
                    }
                    continue;
                }
            }
        }
        attest.release_waiting(size).await;
        tokio::select! {
            () = ctx.cancel.cancelled() => return,
            changed = size_rx.changed() => if changed.is_err() { return },
            Some(signature) = next(&mut members) => {
                let size = *size_rx.borrow();
                attest.member_signature(signature, size).await;
            }
        }
    }
}

/// Sleeps until `ready`, or for ever when there is no such instant.
async fn sleep_until(ready: Option<tokio::time::Instant>) {
    match ready {
        Some(ready) => tokio::time::sleep_until(ready).await,
        None => std::future::pending().await,
    }
}

/// The next member signature, or never when there is no channel (or it closed).
async fn next(members: &mut Option<mpsc::Receiver<PeerSignature>>) -> Option<PeerSignature> {
    match members {
        Some(rx) => match rx.recv().await {
            Some(s) => Some(s),
            None => {
                *members = None;
                std::future::pending().await
            }
        },
        None => std::future::pending().await,
    }
}

/// One lane's attest state.
struct Attest<'a> {
    ctx: &'a StageContext,
    lane: &'a AttestSpec,
    metrics: &'a LaneMetrics,
    logs: &'a RwLock<OriginLogs>,
    collector: &'a dyn SignatureCollector,
    checkpoint_tx: &'a watch::Sender<()>,
    /// Sizes this gateway signed in this run.
    signed: BTreeSet<LogSize>,
    /// Members' signatures over sizes beyond this gateway's log, by (size, validator).
    /// Keyed by the root too: two roots one validator signed for one size both wait, so that
    /// once settled they are equivocation evidence (keyed by size and validator alone, the later
    /// replaced the earlier and only a root mismatch was seen).
    waiting: BTreeMap<(LogSize, EvmAddress, Hash32), PeerSignature>,
}

impl Attest<'_> {
    /// Signs the checkpoint of this gateway's own root at `size` and records it with every
    /// signature the collector returned that checks out.
    async fn sign(&mut self, size: LogSize) -> Result<()> {
        let l = self.lane.lane();
        let started = std::time::Instant::now();
        let checkpoint = self.own_checkpoint(size)?;
        let request = SignatureRequest {
            checkpoint,
            domain: self.lane.signing_domain,
        };
        let collected = self.collector.collect(&request).await?;
        let digest = checkpoint.signing_digest(&self.lane.signing_domain);
        let mut signatures = Vec::with_capacity(collected.len());
        for (position, sig) in collected.into_iter().enumerate() {
            match recover(&digest, &sig.signature, position) {
                Ok(signer) if signer == sig.validator && self.lane.validators.contains(&signer) => {
                    signatures.push(sig);
                }
                Ok(signer) => tracing::warn!(
                    lane = %l,
                    claimed = %sig.validator,
                    recovered = %signer,
                    "dropping a signature from outside the validator set or of another signer"
                ),
                Err(e) => {
                    tracing::warn!(lane = %l, error = &e as &dyn std::error::Error, "dropping a malformed signature")
                }
            }
        }
        let store = Arc::clone(&self.ctx.store);
        let now = self.ctx.clock.now();
        let outcome = blocking(&self.ctx.cancel, "record checkpoint", move || {
            store.record_checkpoint(&CheckpointRecord {
                lane: l,
                checkpoint,
                signatures: &signatures,
                now,
            })
        })
        .await?;
        add(&self.metrics.checkpoints, 1);
        self.metrics.attest_seconds.since(started);
        self.remember_signed(size);
        self.checkpoint_tx.send_replace(());
        if outcome.total_signatures < self.lane.validators.threshold() {
            tracing::debug!(
                lane = %l,
                size = size.0,
                signatures = outcome.total_signatures,
                threshold = self.lane.validators.threshold(),
                "checkpoint below threshold; waiting for more signatures"
            );
        }
        Ok(())
    }

    /// The checkpoint of the root this gateway rebuilt itself for `size` (never a root from a
    /// member or the destination).
    fn own_checkpoint(&self, size: LogSize) -> Result<Checkpoint> {
        let root = self
            .logs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .root_at(self.lane.hash_algorithm, size)?;
        Checkpoint::new(
            self.lane.lane().origin,
            self.lane.hash_algorithm,
            size,
            root,
        )
        .map_err(|source| Error::Proof {
            op: "build checkpoint",
            source,
        })
    }

    fn remember_signed(&mut self, size: LogSize) {
        self.signed.insert(size);
        while self.signed.len() > MAX_REMEMBERED {
            self.signed.pop_first();
        }
    }

    /// Checks a member's signature: well formed, of the lane's origin and hash, recovering to
    /// the validator it names with the lane's own signing domain, of a validator of the lane.
    /// Then handles it now (`log_size` reached its size) or keeps it waiting.
    async fn member_signature(&mut self, peer: PeerSignature, log_size: LogSize) {
        let l = self.lane.lane();
        let cp = peer.checkpoint;
        let validator = peer.signature.validator;
        add(&self.metrics.member_signatures, 1);
        let refuse = |reason: &str| {
            add(&self.metrics.invalid_member_signatures, 1);
            tracing::warn!(lane = %l, %validator, size = cp.size().0, reason, "dropping a member's signature");
        };
        if cp.origin() != l.origin || cp.hash_algorithm() != self.lane.hash_algorithm {
            return refuse("it is of another origin or hash algorithm than the lane's");
        }
        if !self.lane.validators.contains(&validator) {
            return refuse("its validator is not one of the lane's");
        }
        let digest = cp.signing_digest(&self.lane.signing_domain);
        match recover(&digest, &peer.signature.signature, 0) {
            Ok(signer) if signer == validator => {}
            Ok(_) => {
                return refuse(
                    "the signature is not the named validator's over this lane's checkpoint",
                );
            }
            Err(_) => return refuse("the signature is malformed"),
        }
        if cp.size() > log_size {
            self.waiting.insert((cp.size(), validator, cp.root()), peer);
            let mine: Vec<(LogSize, EvmAddress, Hash32)> = self
                .waiting
                .keys()
                .filter(|(_, v, _)| *v == validator)
                .copied()
                .collect();
            for key in mine
                .iter()
                .rev()
                .take(mine.len().saturating_sub(MAX_WAITING_PER_VALIDATOR))
            {
                self.waiting.remove(key);
            }
            return;
        }
        self.settle(peer).await;
    }

    /// Handles the waiting signatures whose size this gateway's log has reached.
    async fn release_waiting(&mut self, log_size: LogSize) {
        while let Some(entry) = self.waiting.first_entry() {
            if entry.key().0 > log_size {
                break;
            }
            let peer = entry.remove();
            self.settle(peer).await;
        }
    }

    /// Compares a checked member signature with this gateway's own root at its size, records it,
    /// and co-signs the size when the roots agree.
    async fn settle(&mut self, peer: PeerSignature) {
        let l = self.lane.lane();
        let cp = peer.checkpoint;
        let validator = peer.signature.validator;
        let own = match self.own_checkpoint(cp.size()) {
            Ok(own) => own,
            Err(e) => {
                tracing::warn!(lane = %l, size = cp.size().0, error = &e as &dyn std::error::Error, "cannot rebuild the root a member signed");
                return;
            }
        };
        let matches_own_root = own.root() == cp.root();
        let store = Arc::clone(&self.ctx.store);
        let record = MemberSignatureRecord {
            lane: l,
            domain: self.lane.signing_domain,
            checkpoint: cp,
            signature: ValidatorSignature {
                validator,
                signature: peer.signature.signature,
            },
            matches_own_root,
            now: self.ctx.clock.now(),
        };
        let outcome = blocking(&self.ctx.cancel, "record a member's signature", move || {
            store.record_member_signature(&record)
        })
        .await;
        match outcome {
            Ok(MemberSignatureOutcome::Counted { .. }) => {
                self.checkpoint_tx.send_replace(());
                if !self.signed.contains(&cp.size())
                    && let Err(e) = self.sign(cp.size()).await
                {
                    tracing::warn!(lane = %l, size = cp.size().0, error = &e as &dyn std::error::Error, "could not co-sign a member's checkpoint");
                }
            }
            Ok(MemberSignatureOutcome::RootMismatch) => {
                add(&self.metrics.root_mismatches, 1);
                tracing::warn!(
                    lane = %l, %validator, size = cp.size().0,
                    signed = %cp.root(), own = %own.root(),
                    "root mismatch: a member's validator signed another root than the one this \
                     gateway rebuilt for that size; not counted, not co-signed"
                );
            }
            Ok(MemberSignatureOutcome::Equivocation(_)) => {
                add(&self.metrics.equivocations, 1);
                // The store logged it with the evidence's details.
            }
            Ok(MemberSignatureOutcome::Excluded) => {}
            Err(e) => {
                tracing::warn!(lane = %l, %validator, size = cp.size().0, error = &e as &dyn std::error::Error, "could not record a member's signature");
            }
        }
    }
}
