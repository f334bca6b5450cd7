//! The append stage of one origin: accept each verified batch durably, then extend the origin's
//! in-memory Merkle logs and announce the new size to the lanes' attest stages.

use std::sync::{Arc, RwLock};

use causeway_proofs::{Domain, LogSize};
use tokio::sync::{mpsc, watch};

use super::log::OriginLogs;
use super::metrics::{OriginMetrics, add};
use super::verify::VerifiedBatch;
use super::{StageContext, blocking};
use crate::store::AcceptBatch;

/// Runs until cancelled or the origin halts. The accept is idempotent (a batch replayed after a
/// crash appends nothing), and the in-memory logs move only after the store has the batch.
pub(crate) async fn append(
    ctx: StageContext,
    domain: Domain,
    metrics: Arc<OriginMetrics>,
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
                    error = &e as &dyn std::error::Error,
                    "accepting events failed; origin halted",
                );
                ctx.health.halt(format!("origin {domain}"), e.to_string());
                return;
            }
        };
        if outcome.appended.is_empty() {
            continue;
        }
        add(&metrics.accepted, outcome.appended.len() as u64);
        let first = outcome.appended[0].0;
        let ids: Vec<_> = outcome.appended.iter().map(|(_, id)| *id).collect();
        let size = {
            let mut logs = logs
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Err(e) = logs.append(first, &ids) {
                tracing::error!(
                    origin = %domain,
                    error = &e as &dyn std::error::Error,
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
