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

use causeway_adapters::{DeliveryStatus, MessageOutcome, SubmissionOutcome};
use causeway_proofs::MessageId;

use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use super::metrics::{LaneMetrics, add};
use super::outage::{Outage, OutageStep};
use super::settle::{FailedAttempt, InFlight, confirm_delivered, record_failures, record_refusals};
use super::{LaneConfig, StageContext, blocking, cancellable, sleep_or_cancel};
use crate::store::{KeptHandle, Renewal, Result, SubmissionId, TakeOver};

/// Most left-over submitted messages read from the store on start.
const RECOVERY_LIMIT: usize = 1_000_000;

/// Runs until cancelled.
pub(crate) async fn confirm(
    ctx: StageContext,
    lane: LaneConfig,
    metrics: Arc<LaneMetrics>,
    mut input: mpsc::Receiver<InFlight>,
) {
    let l = lane.lane();
    let mut recovering = true;
    // The periodic store steps below fail at every round while the store refuses them (a
    // failover, a read-only server): one warning when they start failing, a reminder every
    // `Outage::REMIND`, one line when they work again (the store's failure metrics count each).
    let mut take_over_outage = Outage::default();
    let mut renew_outage = Outage::default();
    let taken_over: Vec<InFlight> = loop {
        match take_over(&ctx, &lane, &metrics, None).await {
            Ok(taken_over) => {
                outage_ended(&mut take_over_outage, &l, TAKE_OVER);
                break taken_over;
            }
            Err(e) => {
                outage_failed(&mut take_over_outage, &l, TAKE_OVER, &e);
                // Other lanes do not wait for this one's store or destination to come back.
                if std::mem::take(&mut recovering) {
                    ctx.recovery.lane_done();
                }
                if !sleep_or_cancel(&ctx.cancel, ctx.config.confirm_poll).await {
                    return;
                }
            }
        }
    };
    // One follow of the left-overs before any lane sends anything new (see `Recovery`), for
    // at most half a lease: a destination that does not answer holds back no lane for long.
    let deadline = Instant::now() + ctx.config.lease_for / 2;
    let Some(mut pending) = follow_all(&ctx, &lane, &metrics, taken_over, Some(deadline)).await
    else {
        return;
    };
    if recovering {
        ctx.recovery.lane_done();
    }
    metrics.in_flight_changed(pending.len() as u64);
    let cap = ctx.config.max_in_flight.max(1);
    let mut last_take_over = Instant::now();
    let mut tick = tokio::time::interval(ctx.config.confirm_poll);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = ctx.cancel.cancelled() => return,
            next = input.recv(), if pending.len() < cap => match next {
                Some(f) => {
                    pending.push(f);
                    metrics.in_flight_changed(pending.len() as u64);
                }
                None => return,
            },
            _ = tick.tick() => {
                match renew(&ctx, &lane, &mut pending).await {
                    // Only a renewal the store took ends an outage (none may have been due).
                    Ok(renewed) if renewed > 0 => outage_ended(&mut renew_outage, &l, RENEW),
                    Ok(_) => {}
                    Err(e) => outage_failed(&mut renew_outage, &l, RENEW, &e),
                }
                if last_take_over.elapsed() >= ctx.config.lease_for / 2 {
                    last_take_over = Instant::now();
                    let following: Vec<SubmissionId> = pending.iter().map(|f| f.submission).collect();
                    match take_over(&ctx, &lane, &metrics, Some(&following)).await {
                        Ok(taken) => {
                            outage_ended(&mut take_over_outage, &l, TAKE_OVER);
                            pending.extend(taken);
                        }
                        Err(e) => outage_failed(&mut take_over_outage, &l, TAKE_OVER, &e),
                    }
                }
                let Some(still) = follow_all(&ctx, &lane, &metrics, pending, None).await else {
                    return;
                };
                pending = still;
                // The gauge counts the submissions followed here, not the permits: a delivery
                // round holds one for a moment while it looks for work.
                metrics.in_flight_changed(pending.len() as u64);
            }
        }
    }
}

/// The confirm stage's periodic take-over of abandoned submissions (and of its own left-overs
/// on start), as its log lines name it.
const TAKE_OVER: &str = "taking over abandoned submissions";
/// The confirm stage's renewal of the leases on the submissions it follows.
const RENEW: &str = "renewing follow leases";

/// Logs a failure of the periodic step `what` of `lane` with `e`: a warning when an outage
/// begins (the fix: the store must take writes again), a reminder every [`Outage::REMIND`],
/// debug otherwise.
fn outage_failed(outage: &mut Outage, lane: &crate::store::Lane, what: &str, e: &crate::Error) {
    let error = e as &dyn std::error::Error;
    match outage.failed(Instant::now()) {
        OutageStep::Began => tracing::warn!(
            lane = %lane,
            error,
            "{what} failed; retrying at every poll (the store must take writes again: check that \
             it is up and writable; one line when it works again, a reminder every {} minutes \
             until then)",
            Outage::REMIND.as_secs() / 60
        ),
        OutageStep::Remind { failures, lasted } => tracing::warn!(
            lane = %lane,
            error,
            failures,
            down_s = lasted.as_secs(),
            "{what} still fails"
        ),
        OutageStep::Quiet => tracing::debug!(lane = %lane, error, "{what} failed"),
    }
}

/// Logs the end of the periodic step `what`'s outage, if one was going on.
fn outage_ended(outage: &mut Outage, lane: &crate::store::Lane, what: &str) {
    if let Some(ended) = outage.succeeded(Instant::now()) {
        tracing::info!(
            lane = %lane,
            failures = ended.failures,
            down_ms = ended.lasted.as_millis() as u64,
            "{what} works again"
        );
    }
}

/// Follows every submission of `pending` once (those reached before `deadline`); returns
/// those not settled yet (`None` if cancelled).
async fn follow_all(
    ctx: &StageContext,
    lane: &LaneConfig,
    metrics: &Arc<LaneMetrics>,
    pending: Vec<InFlight>,
    deadline: Option<Instant>,
) -> Option<Vec<InFlight>> {
    let mut still = Vec::with_capacity(pending.len());
    for flight in pending {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            still.push(flight);
            continue;
        }
        match cancellable(&ctx.cancel, follow_once(ctx, lane, metrics, &flight)).await? {
            // Only this run's own sends have a known start.
            Ok(true) if flight.taken_over_at.is_none() => {
                metrics.confirm_seconds.since(flight.sent_at)
            }
            Ok(true) => {}
            Ok(false) => still.push(flight),
            Err(e) => {
                tracing::warn!(lane = %lane.lane(), error = &e as &dyn std::error::Error, "following a submission failed");
                still.push(flight);
            }
        }
    }
    Some(still)
}

/// Follows one submission; `Ok(true)` once it is settled in the store.
async fn follow_once(
    ctx: &StageContext,
    lane: &LaneConfig,
    metrics: &Arc<LaneMetrics>,
    flight: &InFlight,
) -> Result<bool> {
    let l = lane.lane();
    let outcome = match lane
        .destination
        .outcome_recorded(&flight.handle, flight.signed.as_deref())
        .await
    {
        Ok(o) => o,
        // A handle the adapter can never read (another family, an older format): following
        // it would keep the messages submitted for ever; the replay record settles them.
        Err(e) if !e.is_retryable() => {
            tracing::warn!(
                lane = %l,
                messages = flight.ids.len(),
                error = &e as &dyn std::error::Error,
                "the submission cannot be followed; settling its messages by the destination's replay record",
            );
            settle_unknown(
                ctx,
                lane,
                metrics,
                &flight.each_with_submission(),
                "submission could not be followed",
            )
            .await?;
            return Ok(true);
        }
        Err(e) => {
            tracing::warn!(
                lane = %l,
                retryable = true,
                error = &e as &dyn std::error::Error,
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
                settle_unknown(
                    ctx,
                    lane,
                    metrics,
                    &flight.each_with_submission(),
                    "submission of a previous run stuck",
                )
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
            let mut refused = Vec::new();
            for (id, result) in &messages {
                if let MessageOutcome::Refused { reason } = result {
                    tracing::warn!(lane = %l, message_id = %id, %reason,
                        "destination refused the message for good");
                    if flight.ids.contains(id) {
                        refused.push(*id);
                    }
                    continue;
                }
                if let MessageOutcome::Failed { reason } = result {
                    add(&metrics.failed_at_recipient, 1);
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
                .filter(|id| !done.contains(id) && !refused.contains(id))
                .copied()
                .collect();
            confirm_delivered(ctx, metrics, done, block.height).await?;
            record_refusals(
                ctx,
                lane,
                metrics,
                &refused,
                "forbidden recipient",
                FailedAttempt::Submitted(flight.submission),
            )
            .await?;
            if !missing.is_empty() {
                record_failures(
                    ctx,
                    lane,
                    metrics,
                    &missing,
                    "not processed by the destination",
                    FailedAttempt::Submitted(flight.submission),
                )
                .await?;
            }
            Ok(true)
        }
        SubmissionOutcome::Reverted { block, reason } => {
            add(&metrics.reverted, 1);
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
                metrics,
                &flight.ids,
                &format!("reverted: {reason}"),
                FailedAttempt::Submitted(flight.submission),
            )
            .await?;
            Ok(true)
        }
        SubmissionOutcome::Dropped => {
            add(&metrics.reverted, 1);
            tracing::warn!(lane = %l, messages = flight.ids.len(), "submission dropped");
            settle_unknown(
                ctx,
                lane,
                metrics,
                &flight.each_with_submission(),
                "submission dropped",
            )
            .await?;
            Ok(true)
        }
    }
}

/// Settles messages whose submission's fate is unknown, by the destination's replay record:
/// each with the submission it was recorded in, so that only a message still submitted in it
/// is sent back.
async fn settle_unknown(
    ctx: &StageContext,
    lane: &LaneConfig,
    metrics: &Arc<LaneMetrics>,
    items: &[(MessageId, SubmissionId)],
    reason: &str,
) -> Result<()> {
    let mut delivered = Vec::new();
    let mut not: Vec<(MessageId, SubmissionId)> = Vec::new();
    let mut refused: Vec<(MessageId, SubmissionId)> = Vec::new();
    let ids: Vec<MessageId> = items.iter().map(|(id, _)| *id).collect();
    let statuses = lane
        .destination
        .delivery_statuses(&ids)
        .await
        .map_err(|e| crate::Error::Chain {
            op: "read delivery status",
            source: e,
        })?;
    for (&(id, submission), status) in items.iter().zip(statuses) {
        match status {
            DeliveryStatus::Delivered | DeliveryStatus::Failed => delivered.push(id),
            DeliveryStatus::Refused => refused.push((id, submission)),
            DeliveryStatus::NotDelivered => not.push((id, submission)),
        }
    }
    add(&metrics.already_delivered, delivered.len() as u64);
    // The destination block is unknown here; 0 marks it.
    confirm_delivered(ctx, metrics, delivered, 0).await?;
    for (id, submission) in refused {
        record_refusals(
            ctx,
            lane,
            metrics,
            &[id],
            "recorded refused at the destination",
            FailedAttempt::Submitted(submission),
        )
        .await?;
    }
    let mut submissions: Vec<SubmissionId> = not.iter().map(|&(_, s)| s).collect();
    submissions.sort_unstable();
    submissions.dedup();
    for submission in submissions {
        let ids: Vec<MessageId> = not
            .iter()
            .filter(|&&(_, s)| s == submission)
            .map(|&(id, _)| id)
            .collect();
        record_failures(
            ctx,
            lane,
            metrics,
            &ids,
            reason,
            FailedAttempt::Submitted(submission),
        )
        .await?;
    }
    Ok(())
}

/// Takes over the lane's submissions no instance follows any more (this owner's own, left by a
/// previous run, at once; another instance's once its follow lease expired): returns those with
/// a kept handle, to be followed, and settles the others by the destination's replay record.
/// `following`: the submissions this instance already follows, or `None` on start (when it
/// follows none, and takes its own name's left-overs at once).
async fn take_over(
    ctx: &StageContext,
    lane: &LaneConfig,
    metrics: &Arc<LaneMetrics>,
    following: Option<&[SubmissionId]>,
) -> Result<Vec<InFlight>> {
    let l = lane.lane();
    let store = Arc::clone(&ctx.store);
    let (owner, follow_for, include_own, now) = (
        ctx.config.owner.clone(),
        ctx.config.lease_for,
        following.is_none(),
        ctx.clock.now(),
    );
    let left = blocking(&ctx.cancel, "take over submitted", move || {
        store.take_over_submitted(&TakeOver {
            lane: l,
            owner: &owner,
            follow_for,
            limit: RECOVERY_LIMIT,
            include_own,
            now,
        })
    })
    .await?;
    if left.len() == RECOVERY_LIMIT {
        tracing::warn!(lane = %l, limit = RECOVERY_LIMIT,
            "more submitted messages than one take-over reads; the rest wait for the next");
    }
    let mut follow: Vec<InFlight> = Vec::new();
    let mut unknown: Vec<(MessageId, SubmissionId)> = Vec::new();
    for m in left
        .into_iter()
        .filter(|m| !following.is_some_and(|f| f.contains(&m.submission)))
    {
        match m.handle {
            KeptHandle::Kept(handle) => match follow.iter_mut().find(|f| f.handle == handle) {
                Some(f) => f.ids.push(m.id),
                None => follow.push(InFlight {
                    handle,
                    ids: vec![m.id],
                    submission: m.submission,
                    signed: None,
                    _permit: None,
                    taken_over_at: Some(Instant::now()),
                    sent_at: Instant::now(),
                    renewed_at: Instant::now(),
                }),
            },
            KeptHandle::Missing => unknown.push((m.id, m.submission)),
            KeptHandle::Unreadable { reason, .. } => {
                tracing::warn!(lane = %l, message_id = %m.id, %reason,
                    "kept submission handle does not read; settling by the replay record");
                unknown.push((m.id, m.submission));
            }
        }
    }
    for flight in &mut follow {
        let store = Arc::clone(&ctx.store);
        let submission = flight.submission;
        flight.signed = blocking(&ctx.cancel, "read signed submission", move || {
            store.signed_submission(submission)
        })
        .await?
        .map(Arc::from);
    }
    if !follow.is_empty() {
        let messages: usize = follow.iter().map(|f| f.ids.len()).sum();
        tracing::info!(lane = %l, submissions = follow.len(), messages,
            "following submissions no instance followed any more");
        add(&metrics.taken_over, follow.len() as u64);
    }
    if !unknown.is_empty() {
        tracing::info!(lane = %l, messages = unknown.len(),
            "settling taken-over submissions that have no kept handle");
        settle_unknown(
            ctx,
            lane,
            metrics,
            &unknown,
            "submission lost with a restart",
        )
        .await?;
    }
    Ok(follow)
}

/// Renews the follow leases of `pending` that are a third through; drops the submissions this
/// instance no longer follows (another took them over after a pause of this one, or their
/// messages were settled meanwhile).
/// Renews the follow leases of `pending` that are due; how many the store renewed or
/// answered for (0: none was due).
async fn renew(
    ctx: &StageContext,
    lane: &LaneConfig,
    pending: &mut Vec<InFlight>,
) -> Result<usize> {
    let l = lane.lane();
    let mut answered = 0;
    let due = ctx.config.lease_for / 3;
    let mut kept = Vec::with_capacity(pending.len());
    for mut flight in std::mem::take(pending) {
        if flight.renewed_at.elapsed() < due {
            kept.push(flight);
            continue;
        }
        let store = Arc::clone(&ctx.store);
        let (owner, submission, now) =
            (ctx.config.owner.clone(), flight.submission, ctx.clock.now());
        let until = now.saturating_add(ctx.config.lease_for);
        let renewed_at = Instant::now();
        let still = blocking(&ctx.cancel, "renew submitted", move || {
            store.renew_submitted(&Renewal {
                owner: &owner,
                submission,
                until,
                now,
            })
        })
        .await;
        if still.is_ok() {
            answered += 1;
        }
        match still {
            Ok(0) => {
                tracing::info!(lane = %l, %submission, messages = flight.ids.len(),
                    "no longer following a submission: taken over by another instance, or settled");
            }
            Ok(_) => {
                flight.renewed_at = renewed_at;
                kept.push(flight);
            }
            Err(e) => {
                kept.push(flight);
                *pending = kept;
                return Err(e);
            }
        }
    }
    *pending = kept;
    Ok(answered)
}
