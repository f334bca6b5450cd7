//! The confirm stage of one lane: follow every in-flight submission to its outcome.
//!
//! - included with enough confirmations: `Delivered` and `Failed` messages are confirmed
//!   (`Failed` = the recipient refused it: the destination recorded the failure and its own
//!   `retry` re-runs the recipient, so the relayer must not send it again; it is counted in
//!   `failed_at_recipient` and logged). Messages of the submission the destination did not
//!   report on go back to pending;
//! - reverted as a whole, or dropped (and not delivered by anyone): back to pending with the
//!   persisted backoff, dead letter after the policy's maximum attempts.
//!
//! On start it takes over this owner's submissions left by a previous run: those whose adapter
//! handle the store kept are followed like any other (a transaction still pending after a
//! restart is waited for, not sent again); the others (rows from a build that kept no handle)
//! are settled by asking the destination's replay record.

use std::sync::Arc;
use std::time::Instant;

use causeway_adapters::{DeliveryStatus, MessageOutcome, SubmissionHandle, SubmissionOutcome};
use causeway_proofs::MessageId;
use std::sync::atomic::Ordering;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::MissedTickBehavior;

use super::deliver::record_failures;
use super::metrics::PipelineMetrics;
use super::{LaneConfig, StageContext, blocking, cancellable, sleep_or_cancel};
use crate::store::{Confirmation, KeptHandle, Result};

/// A submission being followed. Holding the permit keeps the lane's in-flight slot taken
/// (submissions taken over from a previous run hold none).
pub(crate) struct InFlight {
    pub(crate) handle: SubmissionHandle,
    pub(crate) ids: Vec<MessageId>,
    pub(crate) _permit: Option<Arc<OwnedSemaphorePermit>>,
    /// For a submission taken over from a previous run: when. The adapter of this run cannot
    /// push such a transaction along (it never sent it), so one still pending after a lease
    /// period is settled by the replay record instead.
    pub(crate) taken_over_at: Option<Instant>,
}

/// Most left-over submitted messages read from the store on start.
const RECOVERY_LIMIT: usize = 1_000_000;

/// Runs until cancelled.
pub(crate) async fn confirm(
    ctx: StageContext,
    lane: LaneConfig,
    mut input: mpsc::Receiver<InFlight>,
    in_flight: Arc<Semaphore>,
) {
    let l = lane.lane();
    let mut pending: Vec<InFlight> = loop {
        match recover(&ctx, &lane).await {
            Ok(taken_over) => break taken_over,
            Err(e) => {
                tracing::warn!(
                    lane = %l,
                    error = %e,
                    "settling left-over submissions failed; retrying",
                );
                if !sleep_or_cancel(&ctx.cancel, ctx.config.confirm_poll).await {
                    return;
                }
            }
        }
    };
    let cap = ctx.config.max_in_flight.max(1);
    let mut tick = tokio::time::interval(ctx.config.confirm_poll);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = ctx.cancel.cancelled() => return,
            next = input.recv(), if pending.len() < cap => match next {
                Some(f) => pending.push(f),
                None => return,
            },
            _ = tick.tick() => {
                let mut still = Vec::with_capacity(pending.len());
                for flight in pending {
                    let Some(settled) = cancellable(&ctx.cancel, settle(&ctx, &lane, &flight)).await
                    else {
                        return;
                    };
                    match settled {
                        Ok(true) => {}
                        Ok(false) => still.push(flight),
                        Err(e) => {
                            tracing::warn!(lane = %l, error = %e, "following a submission failed");
                            still.push(flight);
                        }
                    }
                }
                pending = still;
                // Settled submissions dropped their permits above.
                let busy = cap - in_flight.available_permits().min(cap);
                ctx.metrics.in_flight.store(busy as u64, Ordering::Relaxed);
            }
        }
    }
}

/// Follows one submission; `Ok(true)` once it is settled in the store.
async fn settle(ctx: &StageContext, lane: &LaneConfig, flight: &InFlight) -> Result<bool> {
    let l = lane.lane();
    let outcome = match lane.destination.outcome(&flight.handle).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(
                lane = %l,
                retryable = e.is_retryable(),
                error = %e,
                "outcome query failed",
            );
            return Ok(false);
        }
    };
    match outcome {
        SubmissionOutcome::Pending => match flight.taken_over_at {
            Some(at) if at.elapsed() > ctx.config.lease_for => {
                tracing::warn!(lane = %l, messages = flight.ids.len(),
                    "a submission of a previous run is still pending after a lease period; \
                     settling its messages by the destination's replay record");
                settle_unknown(ctx, lane, &flight.ids, "submission of a previous run stuck")
                    .await?;
                Ok(true)
            }
            _ => Ok(false),
        },
        SubmissionOutcome::Included { confirmations, .. }
            if confirmations < ctx.config.confirmations =>
        {
            Ok(false)
        }
        SubmissionOutcome::Included {
            block, messages, ..
        } => {
            let mut done = Vec::with_capacity(messages.len());
            for (id, result) in &messages {
                if let MessageOutcome::Failed { reason } = result {
                    PipelineMetrics::add(&ctx.metrics.failed_at_recipient, 1);
                    tracing::warn!(
                        lane = %l,
                        message_id = %id,
                        %reason,
                        "recipient refused the message; recorded as failed at the destination \
                         (retryable there)"
                    );
                }
                if flight.ids.contains(id) {
                    done.push(*id);
                }
            }
            let missing: Vec<MessageId> = flight
                .ids
                .iter()
                .filter(|id| !done.contains(id))
                .copied()
                .collect();
            confirm_ids(ctx, done, block.height).await?;
            if !missing.is_empty() {
                record_failures(
                    ctx,
                    lane,
                    &missing,
                    "not processed by the destination",
                    false,
                )
                .await?;
            }
            Ok(true)
        }
        SubmissionOutcome::Reverted { block, reason } => {
            PipelineMetrics::add(&ctx.metrics.reverted, 1);
            tracing::warn!(
                lane = %l,
                block = block.height,
                reason = %reason,
                messages = flight.ids.len(),
                "submission reverted; messages back to pending"
            );
            record_failures(
                ctx,
                lane,
                &flight.ids,
                &format!("reverted: {reason}"),
                false,
            )
            .await?;
            Ok(true)
        }
        SubmissionOutcome::Dropped => {
            PipelineMetrics::add(&ctx.metrics.reverted, 1);
            tracing::warn!(lane = %l, messages = flight.ids.len(), "submission dropped");
            settle_unknown(ctx, lane, &flight.ids, "submission dropped").await?;
            Ok(true)
        }
    }
}

/// Settles messages whose submission's fate is unknown, by the destination's replay record.
async fn settle_unknown(
    ctx: &StageContext,
    lane: &LaneConfig,
    ids: &[MessageId],
    reason: &str,
) -> Result<()> {
    let mut delivered = Vec::new();
    let mut not = Vec::new();
    for id in ids {
        match lane.destination.delivery_status(id).await {
            Ok(DeliveryStatus::Delivered | DeliveryStatus::Failed) => delivered.push(*id),
            Ok(DeliveryStatus::NotDelivered) => not.push(*id),
            Err(e) => {
                return Err(crate::Error::Chain {
                    op: "read delivery status",
                    source: e,
                });
            }
        }
    }
    PipelineMetrics::add(&ctx.metrics.already_delivered, delivered.len() as u64);
    // The destination block is unknown here; 0 marks it.
    confirm_ids(ctx, delivered, 0).await?;
    if !not.is_empty() {
        record_failures(ctx, lane, &not, reason, false).await?;
    }
    Ok(())
}

async fn confirm_ids(ctx: &StageContext, ids: Vec<MessageId>, block: u64) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let n = ids.len() as u64;
    let store = Arc::clone(&ctx.store);
    let now = ctx.clock.now();
    blocking("confirm", move || {
        store.confirm(&Confirmation {
            ids: &ids,
            block,
            now,
        })
    })
    .await?;
    PipelineMetrics::add(&ctx.metrics.confirmed, n);
    Ok(())
}

/// Takes over this owner's submissions left by a previous run: returns those with a kept
/// handle, to be followed, and settles the others by the destination's replay record.
async fn recover(ctx: &StageContext, lane: &LaneConfig) -> Result<Vec<InFlight>> {
    let l = lane.lane();
    let store = Arc::clone(&ctx.store);
    let left = blocking("read submitted", move || store.submitted(l, RECOVERY_LIMIT)).await?;
    if left.len() == RECOVERY_LIMIT {
        tracing::warn!(lane = %l, limit = RECOVERY_LIMIT,
            "more submitted messages than one start-up read takes; the rest wait for a restart");
    }
    let mut follow: Vec<InFlight> = Vec::new();
    let mut unknown: Vec<MessageId> = Vec::new();
    for m in left.into_iter().filter(|m| m.owner == ctx.config.owner) {
        match m.handle {
            KeptHandle::Kept(handle) => match follow.iter_mut().find(|f| f.handle == handle) {
                Some(f) => f.ids.push(m.id),
                None => follow.push(InFlight {
                    handle,
                    ids: vec![m.id],
                    _permit: None,
                    taken_over_at: Some(Instant::now()),
                }),
            },
            KeptHandle::Missing => unknown.push(m.id),
            KeptHandle::Unreadable { reason, .. } => {
                tracing::warn!(lane = %l, message_id = %m.id, %reason,
                    "kept submission handle does not read; settling by the replay record");
                unknown.push(m.id);
            }
        }
    }
    if !follow.is_empty() {
        let messages: usize = follow.iter().map(|f| f.ids.len()).sum();
        tracing::info!(lane = %l, submissions = follow.len(), messages,
            "following the submissions of a previous run");
        PipelineMetrics::add(&ctx.metrics.taken_over, follow.len() as u64);
    }
    if !unknown.is_empty() {
        tracing::info!(lane = %l, messages = unknown.len(),
            "settling submissions of a previous run that have no kept handle");
        settle_unknown(ctx, lane, &unknown, "submission lost with a restart").await?;
    }
    Ok(follow)
}
