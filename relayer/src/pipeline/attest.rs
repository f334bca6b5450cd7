//! The attest stage of one lane: whenever the origin's log grows, build the checkpoint of the
//! root this gateway rebuilt itself, gather signatures through the [`SignatureCollector`],
//! check each against the lane's validator set, and record them.

use std::sync::{Arc, RwLock};

use causeway_proofs::attestation::recover;
use causeway_proofs::{Checkpoint, LogSize};
use tokio::sync::watch;

use super::log::OriginLogs;
use super::metrics::{LaneMetrics, add};
use super::{
    LaneConfig, SignatureCollector, SignatureRequest, StageContext, blocking, sleep_or_cancel,
};
use crate::Error;
use crate::store::{CheckpointRecord, Result};

/// Runs until cancelled (or the origin stops growing for good).
pub(crate) async fn attest(
    ctx: StageContext,
    lane: LaneConfig,
    metrics: Arc<LaneMetrics>,
    logs: Arc<RwLock<OriginLogs>>,
    collector: Arc<dyn SignatureCollector>,
    mut size_rx: watch::Receiver<LogSize>,
    checkpoint_tx: watch::Sender<()>,
) {
    let l = lane.lane();
    let mut signed = LogSize(0);
    loop {
        let size = *size_rx.borrow_and_update();
        if size > signed {
            match sign(&ctx, &lane, &metrics, &logs, collector.as_ref(), size).await {
                Ok(()) => {
                    signed = size;
                    checkpoint_tx.send_replace(());
                }
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
        tokio::select! {
            () = ctx.cancel.cancelled() => return,
            changed = size_rx.changed() => if changed.is_err() { return },
        }
    }
}

async fn sign(
    ctx: &StageContext,
    lane: &LaneConfig,
    metrics: &LaneMetrics,
    logs: &RwLock<OriginLogs>,
    collector: &dyn SignatureCollector,
    size: LogSize,
) -> Result<()> {
    let l = lane.lane();
    // The root comes from this gateway's own log, never from a peer or the destination.
    let root = logs
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .root_at(lane.hash_algorithm, size)?;
    let checkpoint =
        Checkpoint::new(l.origin, lane.hash_algorithm, size, root).map_err(|source| {
            Error::Proof {
                op: "build checkpoint",
                source,
            }
        })?;
    let request = SignatureRequest {
        checkpoint,
        domain: lane.signing_domain,
    };
    let collected = collector.collect(&request).await?;
    let digest = checkpoint.signing_digest(&lane.signing_domain);
    let mut signatures = Vec::with_capacity(collected.len());
    for (position, sig) in collected.into_iter().enumerate() {
        match recover(&digest, &sig.signature, position) {
            Ok(signer) if signer == sig.validator && lane.validators.contains(&signer) => {
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
    let store = Arc::clone(&ctx.store);
    let now = ctx.clock.now();
    let outcome = blocking(&ctx.cancel, "record checkpoint", move || {
        store.record_checkpoint(&CheckpointRecord {
            lane: l,
            checkpoint,
            signatures: &signatures,
            now,
        })
    })
    .await?;
    add(&metrics.checkpoints, 1);
    if outcome.total_signatures < lane.validators.threshold() {
        tracing::warn!(
            lane = %l,
            size = size.0,
            signatures = outcome.total_signatures,
            threshold = lane.validators.threshold(),
            "checkpoint below threshold; waiting for more signatures"
        );
    }
    Ok(())
}
