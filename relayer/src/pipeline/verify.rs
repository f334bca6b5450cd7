//! The verify stage of one origin: every observed message's native proof is re-checked before
//! anything of its batch goes on to the append stage.

use std::sync::Arc;

use causeway_adapters::{Cursor, SourceBatch};
use causeway_proofs::Hash32;
use tokio::sync::mpsc;

use super::metrics::{OriginMetrics, add};
use super::{OriginConfig, StageContext};
use crate::store::{AcceptedEvent, SourceCursor};

/// A batch whose proofs all verified, with the store cursor to persist with it.
pub(crate) struct VerifiedBatch {
    pub(crate) events: Vec<AcceptedEvent>,
    pub(crate) cursor: SourceCursor,
}

/// Runs until cancelled or the origin halts. An invalid proof halts the origin (it is never
/// skipped), and nothing of its batch is accepted.
pub(crate) async fn verify(
    ctx: StageContext,
    origin: OriginConfig,
    metrics: Arc<OriginMetrics>,
    mut input: mpsc::Receiver<SourceBatch>,
    out: mpsc::Sender<VerifiedBatch>,
) {
    let domain = origin.source.domain();
    loop {
        let batch = tokio::select! {
            () = ctx.cancel.cancelled() => return,
            b = input.recv() => match b { Some(b) => b, None => return },
        };
        let (block_number, block_id) = match &batch.cursor {
            Cursor::After { height, block_id } => (*height, block_id.clone()),
            Cursor::Start { .. } => {
                if batch.messages.is_empty() {
                    continue;
                }
                let reason = "source yielded messages without advancing its cursor".to_owned();
                tracing::error!(origin = %domain, %reason, "origin halted");
                ctx.health.halt(format!("origin {domain}"), reason);
                return;
            }
        };
        let Ok(block_hash) = <[u8; 32]>::try_from(block_id.as_bytes()) else {
            let reason = format!("cursor block id {block_id} is not 32 bytes");
            tracing::error!(origin = %domain, %reason, "origin halted");
            ctx.health.halt(format!("origin {domain}"), reason);
            return;
        };
        // Proof checks can be heavy (receipt tries): off the runtime's workers.
        let verifier = Arc::clone(&origin.verifier);
        let started = std::time::Instant::now();
        let checked =
            tokio::task::spawn_blocking(move || match verifier.verify_all(&batch.messages) {
                Ok(()) => Ok(batch),
                Err((i, e)) => Err((batch.messages[i].id(), e.to_string())),
            })
            .await;
        metrics.verify_seconds.since(started);
        let batch = match checked {
            Ok(Ok(batch)) => batch,
            Ok(Err((id, reason))) => {
                add(&metrics.invalid_proofs, 1);
                tracing::error!(
                    origin = %domain,
                    message_id = %id,
                    %reason,
                    "invalid native proof; origin halted, nothing of its batch accepted"
                );
                ctx.health.halt(
                    format!("origin {domain}"),
                    format!("invalid native proof of message {id}: {reason}"),
                );
                return;
            }
            Err(_) => {
                ctx.health
                    .halt(format!("origin {domain}"), "verify task failed".into());
                return;
            }
        };
        add(&metrics.verified, batch.messages.len() as u64);
        let events = batch
            .messages
            .into_iter()
            .map(|o| AcceptedEvent {
                message: o.message,
                source: o.source,
                native_proof: Some(o.proof),
            })
            .collect();
        let verified = VerifiedBatch {
            events,
            cursor: SourceCursor {
                block_number,
                block_hash: Hash32(block_hash),
            },
        };
        tokio::select! {
            () = ctx.cancel.cancelled() => return,
            sent = out.send(verified) => if sent.is_err() { return },
        }
    }
}
