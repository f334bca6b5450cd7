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
use crate::store::{
    Attempt, Confirmation, FailureOutcome, FailureReport, LeaseToken, Result, SubmissionId,
};

/// A submission being followed by the confirm stage. Holding the permit keeps the lane's
/// in-flight slot taken (submissions taken over from a previous run hold none).
pub(crate) struct InFlight {
    /// The destination adapter's handle of the submission.
    pub(crate) handle: SubmissionHandle,
    /// The messages it carries.
    pub(crate) ids: Vec<MessageId>,
    /// The submission's id in the store (of `handle`).
    pub(crate) submission: SubmissionId,
    /// Its signed transaction as recorded, sent again by the adapter should the chain not
    /// know it (`None`: recorded without, by an older build or a family that keeps none).
    pub(crate) signed: Option<Arc<[u8]>>,
    /// The lane's in-flight slot, released when the submission is settled.
    pub(crate) _permit: Option<Arc<OwnedSemaphorePermit>>,
    /// For a submission taken over from a previous run or another instance: when. The adapter
    /// of this run cannot push such a transaction along (it never sent it), so one still
    /// pending after a lease period is settled by the replay record instead.
    pub(crate) taken_over_at: Option<Instant>,
    /// When its follow lease in the store was last set (renewed well before it ends, so that
    /// no other instance takes the submission over while this one follows it).
    pub(crate) renewed_at: Instant,
    /// When this run sent it (for a taken-over submission: when it was taken over).
    pub(crate) sent_at: Instant,
}

impl InFlight {
    /// Each message with this submission's id.
    pub(crate) fn each_with_submission(&self) -> Vec<(MessageId, SubmissionId)> {
        self.ids.iter().map(|&id| (id, self.submission)).collect()
    }
}

/// Where a failed delivery attempt stood in the store, which decides who may record it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailedAttempt {
    /// Nothing was sent: the messages are still leased by this instance under this lease (the
    /// status read or the submit failed, or the adapter left them out of every submission).
    Leased(LeaseToken),
    /// The submission carrying the messages was recorded and then reverted, was dropped, or
    /// left them unprocessed.
    Submitted(SubmissionId),
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
    record(
        ctx,
        lane,
        metrics,
        ids,
        reason.to_owned(),
        attempt,
        ctx.config.retry,
    )
    .await
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
    // One failure exhausts this policy: the message becomes a dead letter at once.
    let policy = crate::store::RetryPolicy {
        max_attempts: 1,
        ..ctx.config.retry
    };
    let reason = format!("refused by the destination for good: {reason}");
    record(ctx, lane, metrics, ids, reason, attempt, policy).await
}

/// One failure report per message under `policy`.
async fn record(
    ctx: &StageContext,
    lane: &LaneConfig,
    metrics: &Arc<LaneMetrics>,
    ids: &[MessageId],
    reason: String,
    attempt: FailedAttempt,
    policy: crate::store::RetryPolicy,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let l = lane.lane();
    let store = Arc::clone(&ctx.store);
    let (owner, now, cancel) = (
        ctx.config.owner.clone(),
        ctx.clock.now(),
        ctx.cancel.clone(),
    );
    let ids = ids.to_vec();
    let outcomes = blocking(&ctx.cancel, "record failure", move || {
        let mut outcomes = Vec::with_capacity(ids.len());
        for &id in &ids {
            let outcome = super::retry_busy("record failure", &cancel, || {
                store.record_failure(&FailureReport {
                    id,
                    attempt: match attempt {
                        FailedAttempt::Leased(lease) => Attempt::Leased {
                            owner: &owner,
                            lease,
                        },
                        FailedAttempt::Submitted(submission) => Attempt::Submitted { submission },
                    },
                    reason: &reason,
                    policy,
                    jitter: rand::random(),
                    now,
                })
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
    blocking(&ctx.cancel, "confirm", move || {
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
