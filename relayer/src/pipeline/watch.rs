//! The watch stage of one origin: pull batches from the source, starting at the stored cursor,
//! and hand them to the verify stage (backing off on retryable source faults).

use std::sync::Arc;
use std::time::Duration;

use causeway_adapters::{BlockId, Cursor, SourceBatch};
use tokio::sync::mpsc;

use super::metrics::{OriginMetrics, add};
use super::{OriginConfig, StageContext, blocking, sleep_or_cancel};
use crate::store::SourceCursor;

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
pub(crate) async fn watch(
    ctx: StageContext,
    origin: OriginConfig,
    metrics: Arc<OriginMetrics>,
    out: mpsc::Sender<SourceBatch>,
) {
    let domain = origin.source.domain();
    let store = Arc::clone(&ctx.store);
    let stored = match blocking(&ctx.cancel, "read cursor", move || store.cursor(domain)).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(
                origin = %domain,
                error = &e as &dyn std::error::Error,
                "cannot read the source cursor; origin halted",
            );
            ctx.health.halt(format!("origin {domain}"), e.to_string());
            return;
        }
    };
    let mut cursor = to_adapter_cursor(stored, origin.start_height);
    let mut failures: u32 = 0;
    loop {
        let asked = std::time::Instant::now();
        let next = tokio::select! {
            () = ctx.cancel.cancelled() => return,
            r = origin.source.next_batch(&cursor) => r,
        };
        metrics.watch_seconds.since(asked);
        match next {
            Ok(batch) => {
                failures = 0;
                let caught_up = batch.caught_up();
                let advanced = batch.cursor != cursor;
                cursor = batch.cursor.clone();
                add(&metrics.observed, batch.messages.len() as u64);
                metrics
                    .final_height
                    .fetch_max(batch.final_height, std::sync::atomic::Ordering::Relaxed);
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
                add(&metrics.source_errors, 1);
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
                    error = &e as &dyn std::error::Error,
                    "source fault; backing off"
                );
                if !sleep_or_cancel(&ctx.cancel, delay).await {
                    return;
                }
            }
            Err(e) => {
                let reason = match &e {
                    causeway_adapters::Error::ReorgBelowCursor { height, .. } => format!(
                        "{e}. Block {height} and the ones above it were taken as final and are gone. \
                         If no accepted message came from them, stop the gateway, run \
                         `causeway store rollback --db <store file> --origin {domain} --to <height> --hash <hash>` \
                         with the last block below {height} both forks share, and start it again \
                         (`causeway store cursor` shows where the cursor is); the store refuses if \
                         accepted messages came from above it: then the origin's log holds events \
                         that are no longer on chain, an incident for the consortium"
                    ),
                    _ => e.to_string(),
                };
                tracing::error!(
                    origin = %domain,
                    error = &e as &dyn std::error::Error,
                    fix = %reason,
                    "source failed permanently; origin halted",
                );
                ctx.health.halt(format!("origin {domain}"), reason);
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

#[cfg(test)]
mod tests {
    use causeway_proofs::Hash32;

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
