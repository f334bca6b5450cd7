//! Settlement, shared by the deliver and confirm stages of a lane: the submission the confirm
//! stage follows ([`InFlight`]), and the two ends a delivery attempt can reach in the store:
//! delivered ([`confirm_delivered`]) or failed ([`record_failures`], back to pending with
//! backoff, or dead letter).

use std::sync::Arc;
use std::time::Instant;

use causeway_adapters::SubmissionHandle;
use causeway_proofs::MessageId;
use tokio::sync::OwnedSemaphorePermit;

use super::metrics::{LaneMetrics, add};
use super::{LaneConfig, StageContext, blocking};
use crate::store::{Confirmation, FailureOutcome, FailureReport, Result};

/// A submission being followed by the confirm stage. Holding the permit keeps the lane's
/// in-flight slot taken (submissions taken over from a previous run hold none).
pub(crate) struct InFlight {
    /// The destination adapter's handle of the submission.
    pub(crate) handle: SubmissionHandle,
    /// The messages it carries.
    pub(crate) ids: Vec<MessageId>,
    /// The lane's in-flight slot, released when the submission is settled.
    pub(crate) _permit: Option<Arc<OwnedSemaphorePermit>>,
    /// For a submission taken over from a previous run: when. The adapter of this run cannot
    /// push such a transaction along (it never sent it), so one still pending after a lease
    /// period is settled by the replay record instead.
    pub(crate) taken_over_at: Option<Instant>,
}

/// Where a failed delivery attempt stood in the store, which decides who may record it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailedAttempt {
    /// Nothing was sent: the messages are still leased by this instance (the status read or
    /// the submit failed, or the adapter left them out of every submission).
    Leased,
    /// A transaction carrying the messages was recorded as submitted and then reverted, was
    /// dropped, or left them unprocessed.
    Submitted,
}

/// Records a failed attempt per message: back to pending with the persisted backoff, or dead
/// letter once the attempts are used up. A message another instance took meanwhile, or that
/// moved on, is left alone (logged at debug).
pub(crate) async fn record_failures(
    ctx: &StageContext,
    lane: &LaneConfig,
    metrics: &Arc<LaneMetrics>,
    ids: &[MessageId],
    reason: &str,
    attempt: FailedAttempt,
) -> Result<()> {
    let l = lane.lane();
    let store = Arc::clone(&ctx.store);
    let (owner, policy, now) = (ctx.config.owner.clone(), ctx.config.retry, ctx.clock.now());
    let ids = ids.to_vec();
    let reason = reason.to_owned();
    let outcomes = blocking("record failure", move || {
        let mut outcomes = Vec::with_capacity(ids.len());
        for id in ids {
            let outcome = store.record_failure(&FailureReport {
                id,
                owner: match attempt {
                    FailedAttempt::Leased => Some(&owner),
                    FailedAttempt::Submitted => None,
                },
                reason: &reason,
                policy,
                jitter: rand::random(),
                now,
            });
            outcomes.push((id, outcome));
        }
        Ok(outcomes)
    })
    .await?;
    for (id, outcome) in outcomes {
        match outcome {
            Ok(FailureOutcome::DeadLetter { attempts }) => {
                add(&metrics.dead_letters, 1);
                tracing::warn!(lane = %l, message_id = %id, attempts, "message is a dead letter");
            }
            Ok(FailureOutcome::Retry { .. }) => {}
            // Another instance took the message meanwhile, or it moved on: nothing to record.
            Err(e) => {
                tracing::debug!(lane = %l, message_id = %id, error = &e as &dyn std::error::Error, "failure not recorded")
            }
        }
    }
    Ok(())
}

/// Dead-letters messages the destination refused for good (a forbidden recipient): no retry
/// could ever deliver them, so the backoff is skipped; an operator sees them with `reason`.
pub(crate) async fn record_refusals(
    ctx: &StageContext,
    lane: &LaneConfig,
    metrics: &Arc<LaneMetrics>,
    ids: &[MessageId],
    reason: &str,
    attempt: FailedAttempt,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let l = lane.lane();
    let store = Arc::clone(&ctx.store);
    // One failure exhausts this policy: the message becomes a dead letter at once.
    let policy = crate::store::RetryPolicy {
        max_attempts: 1,
        ..ctx.config.retry
    };
    let (owner, now) = (ctx.config.owner.clone(), ctx.clock.now());
    let ids = ids.to_vec();
    let reason = format!("refused by the destination for good: {reason}");
    let outcomes = blocking("record refusal", move || {
        Ok(ids
            .into_iter()
            .map(|id| {
                let outcome = store.record_failure(&FailureReport {
                    id,
                    owner: match attempt {
                        FailedAttempt::Leased => Some(&owner),
                        FailedAttempt::Submitted => None,
                    },
                    reason: &reason,
                    policy,
                    jitter: 0,
                    now,
                });
                (id, outcome)
            })
            .collect::<Vec<_>>())
    })
    .await?;
    for (id, outcome) in outcomes {
        match outcome {
            Ok(_) => {
                add(&metrics.dead_letters, 1);
                tracing::warn!(lane = %l, message_id = %id,
                    "destination refused the message for good; dead letter");
            }
            Err(e) => {
                tracing::debug!(lane = %l, message_id = %id, error = &e as &dyn std::error::Error, "refusal not recorded")
            }
        }
    }
    Ok(())
}

/// Records messages the destination delivered, in its block `block` (0 when the block is
/// unknown: the delivery happened in a submission this instance no longer follows).
pub(crate) async fn confirm_delivered(
    ctx: &StageContext,
    metrics: &Arc<LaneMetrics>,
    ids: Vec<MessageId>,
    block: u64,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let n = ids.len() as u64;
    let store = Arc::clone(&ctx.store);
    let metrics = Arc::clone(metrics);
    let now = ctx.clock.now();
    blocking("confirm", move || {
        store.confirm(&Confirmation {
            ids: &ids,
            block,
            now,
        })?;
        // Counted on the thread that stored it, right after the commit: the counter trails
        // the store's count by no scheduler hop (readers compare the two).
        add(&metrics.confirmed, n);
        Ok(())
    })
    .await
}
