//! The per-origin stages: watch (pull batches from the stored cursor), verify (re-check every
//! native proof) and append (accept durably, then extend the in-memory logs).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use causeway_adapters::{BlockId, Cursor, SourceBatch};
use causeway_proofs::{Domain, Hash32, LogSize};
use tokio::sync::{mpsc, watch};

use super::log::OriginLogs;
use super::metrics::PipelineMetrics;
use super::{OriginConfig, StageContext, blocking, sleep_or_cancel};
use crate::store::{AcceptBatch, AcceptedEvent, SourceCursor};

/// A batch whose proofs all verified, with the store cursor to persist with it.
pub(crate) struct VerifiedBatch {
    events: Vec<AcceptedEvent>,
    cursor: SourceCursor,
}

fn to_adapter_cursor(stored: Option<SourceCursor>, start_height: u64) -> Cursor {
    match stored {
        None => Cursor::Start {
            height: start_height,
        },
        Some(c) => Cursor::After {
            height: c.block_number,
            block_id: BlockId::from(c.block_hash.0),
        },
    }
}

/// The watch stage of one origin.
pub(crate) async fn watch(ctx: StageContext, origin: OriginConfig, out: mpsc::Sender<SourceBatch>) {
    let domain = origin.source.domain();
    let store = Arc::clone(&ctx.store);
    let stored = match blocking("read cursor", move || store.cursor(domain)).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(
                origin = %domain,
                error = %e,
                "cannot read the source cursor; origin halted",
            );
            ctx.health.halt(format!("origin {domain}"), e.to_string());
            return;
        }
    };
    let mut cursor = to_adapter_cursor(stored, origin.start_height);
    let mut failures: u32 = 0;
    loop {
        let next = tokio::select! {
            () = ctx.cancel.cancelled() => return,
            r = origin.source.next_batch(&cursor) => r,
        };
        match next {
            Ok(batch) => {
                failures = 0;
                let caught_up = batch.caught_up();
                let advanced = batch.cursor != cursor;
                cursor = batch.cursor.clone();
                PipelineMetrics::add(&ctx.metrics.observed, batch.messages.len() as u64);
                if advanced || !batch.messages.is_empty() {
                    // Bounded: waits while the verify and log stages are behind.
                    tokio::select! {
                        () = ctx.cancel.cancelled() => return,
                        sent = out.send(batch) => if sent.is_err() { return },
                    }
                }
                if caught_up && !sleep_or_cancel(&ctx.cancel, ctx.config.source_poll).await {
                    return;
                }
            }
            Err(e) if e.is_retryable() => {
                PipelineMetrics::add(&ctx.metrics.source_errors, 1);
                let delay = backoff(
                    ctx.config.source_backoff,
                    ctx.config.source_backoff_max,
                    failures,
                );
                failures = failures.saturating_add(1);
                tracing::warn!(
                    origin = %domain,
                    attempt = failures,
                    retry_in_ms = delay.as_millis() as u64,
                    error = %e,
                    "source fault; backing off"
                );
                if !sleep_or_cancel(&ctx.cancel, delay).await {
                    return;
                }
            }
            Err(e) => {
                tracing::error!(
                    origin = %domain,
                    error = %e,
                    "source failed permanently; origin halted",
                );
                ctx.health.halt(format!("origin {domain}"), e.to_string());
                return;
            }
        }
    }
}

/// `base * 2^failures`, capped at `max`.
fn backoff(base: Duration, max: Duration, failures: u32) -> Duration {
    base.checked_mul(1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX))
        .unwrap_or(max)
        .min(max)
}

/// The verify stage of one origin: every observed message's native proof is checked before
/// anything of its batch is accepted. An invalid proof halts the origin (never skipped).
pub(crate) async fn verify(
    ctx: StageContext,
    origin: OriginConfig,
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
        let checked = tokio::task::spawn_blocking(move || {
            for observed in &batch.messages {
                if let Err(e) = verifier.verify(observed) {
                    return Err((observed.id(), e.to_string()));
                }
            }
            Ok(batch)
        })
        .await;
        let batch = match checked {
            Ok(Ok(batch)) => batch,
            Ok(Err((id, reason))) => {
                PipelineMetrics::add(&ctx.metrics.invalid_proofs, 1);
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
        PipelineMetrics::add(&ctx.metrics.verified, batch.messages.len() as u64);
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

/// The log stage of one origin: accepts each verified batch durably (idempotent), then
/// appends the new leaves to the in-memory logs and announces the new size.
pub(crate) async fn append(
    ctx: StageContext,
    domain: Domain,
    logs: Arc<RwLock<OriginLogs>>,
    mut input: mpsc::Receiver<VerifiedBatch>,
    size_tx: watch::Sender<LogSize>,
) {
    loop {
        let batch = tokio::select! {
            () = ctx.cancel.cancelled() => return,
            b = input.recv() => match b { Some(b) => b, None => return },
        };
        let store = Arc::clone(&ctx.store);
        let now = ctx.clock.now();
        // Not cancelled mid-way: the accept is one transaction and finishes either way.
        let accepted = blocking("accept events", move || {
            store.accept_events(&AcceptBatch {
                origin: domain,
                events: &batch.events,
                cursor: batch.cursor,
                now,
            })
        })
        .await;
        let outcome = match accepted {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(
                    origin = %domain,
                    error = %e,
                    "accepting events failed; origin halted",
                );
                ctx.health.halt(format!("origin {domain}"), e.to_string());
                return;
            }
        };
        if outcome.appended.is_empty() {
            continue;
        }
        PipelineMetrics::add(&ctx.metrics.accepted, outcome.appended.len() as u64);
        let first = outcome.appended[0].0;
        let ids: Vec<_> = outcome.appended.iter().map(|(_, id)| *id).collect();
        let size = {
            let mut logs = logs
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Err(e) = logs.append(first, &ids) {
                tracing::error!(
                    origin = %domain,
                    error = %e,
                    "in-memory log out of step; origin halted",
                );
                ctx.health.halt(format!("origin {domain}"), e.to_string());
                return;
            }
            logs.size()
        };
        if size != outcome.log_size {
            tracing::error!(
                origin = %domain,
                memory = size.0,
                store = outcome.log_size.0,
                "in-memory log size differs from the store's; origin halted"
            );
            ctx.health
                .halt(format!("origin {domain}"), "log size mismatch".into());
            return;
        }
        size_tx.send_replace(size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let (base, max) = (Duration::from_millis(50), Duration::from_millis(500));
        let delays: Vec<u64> = (0..6)
            .map(|f| backoff(base, max, f).as_millis() as u64)
            .collect();
        assert_eq!(delays, vec![50, 100, 200, 400, 500, 500]);
        assert_eq!(backoff(base, max, u32::MAX), max);
    }

    #[test]
    fn stored_cursor_maps_to_the_adapter_cursor() {
        assert_eq!(to_adapter_cursor(None, 7), Cursor::Start { height: 7 });
        let stored = SourceCursor {
            block_number: 9,
            block_hash: Hash32([3; 32]),
        };
        assert_eq!(
            to_adapter_cursor(Some(stored), 7),
            Cursor::After {
                height: 9,
                block_id: BlockId::from([3; 32]),
            }
        );
    }
}
