//! The append stage of one origin: accept each verified batch durably, then extend the origin's
//! in-memory Merkle logs and announce the new size to the lanes' attest stages.

use std::sync::{Arc, RwLock};

use causeway_proofs::{Domain, LeafIndex, LogSize, MessageId};
use tokio::sync::{mpsc, watch};

use super::log::OriginLogs;
use super::metrics::{OriginMetrics, add};
use super::verify::VerifiedBatch;
use super::{StageContext, blocking};
use crate::store::{AcceptBatch, AcceptOutcome, Result};

/// Runs until cancelled or the origin halts. The accept is idempotent (a batch replayed after a
/// crash appends nothing), and the in-memory logs move only after the store has the batch.
/// Between batches, every source poll interval, the logs also catch up with what other
/// instances on the store appended (an instance whose source is behind, or idle, still proves
/// the messages they accepted).
pub(crate) async fn append(
    ctx: StageContext,
    domain: Domain,
    metrics: Arc<OriginMetrics>,
    logs: Arc<RwLock<OriginLogs>>,
    mut input: mpsc::Receiver<VerifiedBatch>,
    size_tx: watch::Sender<LogSize>,
) {
    let mut idle = tokio::time::interval(ctx.config.source_poll);
    idle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let halt = |what: &str, e: &crate::Error| {
        tracing::error!(origin = %domain, error = e as &dyn std::error::Error, "{what}; origin halted");
        ctx.health.halt(format!("origin {domain}"), e.to_string());
    };
    loop {
        let outcome = tokio::select! {
            () = ctx.cancel.cancelled() => return,
            b = input.recv() => {
                let Some(batch) = b else { return };
                let store = Arc::clone(&ctx.store);
                let now = ctx.clock.now();
                let started = std::time::Instant::now();
                // Not cancelled mid-way: the accept is one transaction and finishes either way.
                let accepted = blocking(&ctx.cancel, "accept events", move || {
                    store.accept_events(&AcceptBatch {
                        origin: domain,
                        events: &batch.events,
                        cursor: batch.cursor,
                        now,
                    })
                })
                .await;
                metrics.append_seconds.since(started);
                match accepted {
                    Ok(o) => o,
                    Err(e) => return halt("accepting events failed", &e),
                }
            }
            _ = idle.tick() => {
                let store = Arc::clone(&ctx.store);
                match blocking(&ctx.cancel, "read log size", move || store.log_size(domain)).await {
                    // Another instance on the store appended: catch up below.
                    Ok(size) if size.0 > read(&logs).size().0 => AcceptOutcome {
                        appended: Vec::new(),
                        already_known: 0,
                        log_size: size,
                    },
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::warn!(origin = %domain, error = &e as &dyn std::error::Error, "reading the log size failed");
                        continue;
                    }
                }
            }
        };
        add(&metrics.accepted, outcome.appended.len() as u64);
        let size = match catch_up(&ctx, domain, &logs, &outcome).await {
            Ok(size) => size,
            Err(e) => return halt("in-memory log out of step with the store", &e),
        };
        if size == *size_tx.borrow() {
            continue;
        }
        size_tx.send_replace(size);
    }
}

/// Leaves read from the store per call when catching up.
const CATCH_UP_PAGE: usize = 10_000;

/// Brings the in-memory logs to the store's log size after an accept: with the batch's own
/// leaves when they are exactly what is missing, else from the store's leaves. The store's log
/// is the one truth: instances sharing a store append to it in turn, and each catches up with
/// what the others appended (accepting a batch another instance stored first appends nothing).
async fn catch_up(
    ctx: &StageContext,
    origin: Domain,
    logs: &Arc<RwLock<OriginLogs>>,
    outcome: &AcceptOutcome,
) -> Result<LogSize> {
    let target = outcome.log_size;
    let mut size = read(logs).size();
    if size.0 > target.0 {
        return Err(crate::Error::Config {
            reason: format!(
                "the in-memory log of origin {origin} has {} leaves, more than the store's {}",
                size.0, target.0
            ),
        });
    }
    if let Some(&(first, _)) = outcome.appended.first()
        && first.0 == size.0
        && size.0 + outcome.appended.len() as u64 == target.0
    {
        let ids: Vec<MessageId> = outcome.appended.iter().map(|(_, id)| *id).collect();
        let mut logs = logs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        logs.append(first, &ids)?;
        return Ok(logs.size());
    }
    while size.0 < target.0 {
        let store = Arc::clone(&ctx.store);
        let limit = usize::try_from(target.0 - size.0)
            .unwrap_or(usize::MAX)
            .min(CATCH_UP_PAGE);
        let from = LeafIndex(size.0);
        let page = blocking(&ctx.cancel, "read log leaves", move || {
            store.leaves(origin, from, limit)
        })
        .await?;
        if page.is_empty() {
            return Err(crate::Error::Config {
                reason: format!(
                    "the store's log of origin {origin} reports {} leaves but has none from {}",
                    target.0, size.0
                ),
            });
        }
        let mut logs = logs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        logs.append(from, &page)?;
        size = logs.size();
    }
    tracing::debug!(origin = %origin, size = size.0, "in-memory log caught up with the store");
    Ok(size)
}

fn read(logs: &RwLock<OriginLogs>) -> std::sync::RwLockReadGuard<'_, OriginLogs> {
    logs.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
