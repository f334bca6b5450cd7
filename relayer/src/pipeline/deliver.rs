//! The deliver stage of one lane: lease pending messages covered by the latest checkpoint
//! with enough signatures, skip those the destination already delivered, prove the rest from
//! the in-memory log, submit, and hand each submission to the confirm stage without waiting
//! for it (up to `max_in_flight` batches in flight, bounded by a semaphore).
//!
//! Submitting is sign → record → broadcast: the adapter hands each signed transaction to a
//! [`StoreRecorder`], which records it in the store (`mark_submitted`, with its raw bytes)
//! before the adapter broadcasts it. A transaction recorded and then refused by the node goes
//! back to pending; one recorded by a run that died before broadcasting it is sent again,
//! itself, by the next run's confirm stage, before any lane sends anything new (`Recovery`).

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use causeway_adapters::chain::BoxFuture;
use causeway_adapters::{DeliveryBatch, DeliveryItem, DeliveryStatus, Recorder, SignedSubmission};
use causeway_proofs::MessageId;
use tokio::sync::{Semaphore, mpsc, watch};

use super::limits::RateWindow;
use super::log::OriginLogs;
use super::metrics::{LaneMetrics, add};
use super::outage::{Outage, OutageStep};
use super::settle::{FailedAttempt, InFlight, confirm_delivered, record_failures, record_refusals};
use super::{LaneConfig, StageContext, blocking, cancellable};
use crate::store::{LeaseRequest, LeaseToken, LeasedMessage, Result, Submission, SubmissionId};

/// Runs until cancelled.
#[allow(clippy::too_many_arguments)] // one per channel and shared part of its lane
pub(crate) async fn deliver(
    ctx: StageContext,
    lane: LaneConfig,
    metrics: Arc<LaneMetrics>,
    logs: Arc<RwLock<OriginLogs>>,
    mut checkpoint_rx: watch::Receiver<()>,
    in_flight: Arc<Semaphore>,
    rate: Arc<RateWindow>,
    out: mpsc::Sender<InFlight>,
) {
    let l = lane.lane();
    if lane.limits.attest_only {
        // The gateway said so at start-up; its lane is attested, the other members deliver.
        tracing::debug!(lane = %l, "attest-only lane: no delivery rounds");
        return;
    }
    if lane.limits.paused {
        tracing::warn!(
            lane = %l,
            "the lane is paused: its messages are observed, logged and attested, and delivered \
             once `paused` is removed from its configuration"
        );
    }
    // Nothing new is sent before every lane followed its left-overs once (see `Recovery`).
    if !ctx.recovery.wait(&ctx.cancel).await {
        return;
    }
    // A round that fails (the store or the destination away) is logged once when it starts
    // failing and once when it works again, and tried again with a backoff, not at every poll.
    let mut outage = Outage::default();
    let mut backoff = ctx.config.deliver_poll;
    loop {
        if ctx.cancel.is_cancelled() {
            return;
        }
        let round = deliver_once(&ctx, &lane, &metrics, &logs, &in_flight, &rate, &out).await;
        if round.is_ok() {
            backoff = ctx.config.deliver_poll;
            if let Some(ended) = outage.succeeded(Instant::now()) {
                tracing::info!(
                    lane = %l,
                    failed_rounds = ended.failures,
                    down_ms = ended.lasted.as_millis() as u64,
                    "delivery rounds work again"
                );
            }
        }
        let failed = match round {
            Ok(true) => continue,
            Ok(false) => false,
            Err(e) => {
                let error = &e as &dyn std::error::Error;
                match outage.failed(Instant::now()) {
                    OutageStep::Began => tracing::warn!(
                        lane = %l,
                        error,
                        "delivery round failed; retrying with a backoff of up to {} s (one line \
                         when rounds work again, a reminder every 5 minutes until then)",
                        MAX_ROUND_BACKOFF.as_secs()
                    ),
                    OutageStep::Remind { failures, lasted } => tracing::warn!(
                        lane = %l,
                        error,
                        failed_rounds = failures,
                        down_s = lasted.as_secs(),
                        "delivery rounds still fail"
                    ),
                    OutageStep::Quiet => {
                        tracing::debug!(lane = %l, error, "delivery round failed")
                    }
                }
                true
            }
        };
        if failed {
            tokio::select! {
                () = ctx.cancel.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = backoff
                .saturating_mul(2)
                .min(MAX_ROUND_BACKOFF.max(ctx.config.deliver_poll));
            continue;
        }
        // Nothing to do: wait for a new checkpoint or the poll interval.
        tokio::select! {
            () = ctx.cancel.cancelled() => return,
            _ = checkpoint_rx.changed() => {}
            () = tokio::time::sleep(ctx.config.deliver_poll) => {}
        }
    }
}

/// The longest wait between delivery rounds that fail one after the other (the first waits a
/// poll interval, each next one twice as long).
const MAX_ROUND_BACKOFF: Duration = Duration::from_secs(5);

/// One lease-prove-submit round; `Ok(true)` when it did work (look again at once).
async fn deliver_once(
    ctx: &StageContext,
    lane: &LaneConfig,
    metrics: &Arc<LaneMetrics>,
    logs: &RwLock<OriginLogs>,
    in_flight: &Arc<Semaphore>,
    rate: &RateWindow,
    out: &mpsc::Sender<InFlight>,
) -> Result<bool> {
    if lane.limits.paused {
        return Ok(false);
    }
    // A rate-limited lane takes no more than its window has left (reserved before the lease:
    // delivery rounds run concurrently).
    let reservation = rate.reserve(lane.limits.rate, lane.batch_size);
    if reservation.allowed == 0 {
        return Ok(false);
    }
    let mut sent = 0;
    let outcome = deliver_reserved(
        ctx,
        lane,
        metrics,
        logs,
        in_flight,
        reservation.allowed,
        &mut sent,
        out,
    )
    .await;
    rate.settle(reservation, sent);
    outcome
}

/// [`deliver_once`] for at most `limit` messages; `sent` counts those it submitted.
#[allow(clippy::too_many_arguments)]
async fn deliver_reserved(
    ctx: &StageContext,
    lane: &LaneConfig,
    metrics: &Arc<LaneMetrics>,
    logs: &RwLock<OriginLogs>,
    in_flight: &Arc<Semaphore>,
    limit: usize,
    sent: &mut usize,
    out: &mpsc::Sender<InFlight>,
) -> Result<bool> {
    let l = lane.lane();
    let threshold = lane.validators.threshold();
    let store = Arc::clone(&ctx.store);
    let Some(checkpoint) = blocking(&ctx.cancel, "read checkpoint", move || {
        store.latest_checkpoint(l, threshold)
    })
    .await?
    else {
        return Ok(false);
    };
    // Backpressure: no lease is taken while the lane has its fill of submissions in flight.
    let permit = tokio::select! {
        () = ctx.cancel.cancelled() => return Ok(false),
        p = Arc::clone(in_flight).acquire_owned() => match p {
            Ok(p) => p,
            Err(_) => return Ok(false),
        },
    };

    let store = Arc::clone(&ctx.store);
    let (owner, limit, lease_for, policy, rota, now) = (
        ctx.config.owner.clone(),
        limit,
        ctx.config.lease_for,
        ctx.config.retry,
        lane.rota,
        ctx.clock.now(),
    );
    let covered_by = checkpoint.checkpoint.size();
    // A checkpoint recorded by another instance on the store may be ahead of this one's
    // in-memory log for a moment (it catches up every poll): no proof can be built against it
    // before, so nothing is leased.
    let known = logs
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .size();
    if known.0 < covered_by.0 {
        drop(permit);
        return Ok(false);
    }
    // The lease's end by this instance's monotonic clock (see `clock_skew`).
    let leased_at = tokio::time::Instant::now();
    let leased = blocking(&ctx.cancel, "lease pending", move || {
        store.lease_pending(&LeaseRequest {
            lane: l,
            owner: &owner,
            limit,
            lease_for,
            covered_by,
            policy,
            rota,
            now,
        })
    })
    .await?;
    let Some(lease) = leased.first().map(|m| m.lease) else {
        drop(permit);
        return Ok(false);
    };
    #[cfg(feature = "test-faults")]
    super::faults::after_lease(l, &leased, &ctx.cancel).await;

    // The destination's replay record first: a message leased again after a restart (or an
    // expired lease) may have been delivered by a submission this instance no longer knows.
    let all: Vec<MessageId> = leased.iter().map(|m| m.message.id()).collect();
    let mut todo: Vec<LeasedMessage> = Vec::with_capacity(leased.len());
    let mut done: Vec<MessageId> = Vec::new();
    let mut refused: Vec<MessageId> = Vec::new();
    // One read for the whole batch (the EVM Inbox answers it in one call).
    let Some(statuses) = cancellable(&ctx.cancel, lane.destination.delivery_statuses(&all)).await
    else {
        return Ok(false);
    };
    let statuses = match statuses {
        Ok(s) => s,
        Err(e) => {
            add(&metrics.submit_failures, 1);
            tracing::warn!(
                lane = %l,
                messages = all.len(),
                retryable = e.is_retryable(),
                error = &e as &dyn std::error::Error,
                "destination status read failed; messages back to pending with backoff"
            );
            fail_leased(
                ctx,
                lane,
                metrics,
                lease,
                &all,
                &format!("delivery status: {e}"),
            )
            .await?;
            return Ok(false);
        }
    };
    for (m, status) in leased.into_iter().zip(statuses) {
        match status {
            DeliveryStatus::NotDelivered => todo.push(m),
            DeliveryStatus::Delivered | DeliveryStatus::Failed => done.push(m.message.id()),
            DeliveryStatus::Refused => refused.push(m.message.id()),
        }
    }
    add(&metrics.already_delivered, done.len() as u64);
    // The block is unknown here (the delivery happened in a submission we lost); 0 marks it.
    confirm_delivered(ctx, metrics, done, 0).await?;
    record_refusals(
        ctx,
        lane,
        metrics,
        &refused,
        "recorded refused at the destination",
        FailedAttempt::Leased(lease),
    )
    .await?;
    if todo.is_empty() {
        return Ok(true);
    }

    let batch = {
        let logs = logs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let alg = checkpoint.checkpoint.hash_algorithm();
        let mut items = Vec::with_capacity(todo.len());
        for m in &todo {
            items.push(DeliveryItem {
                message: m.message.clone(),
                proof: logs.inclusion_proof(alg, m.leaf_index, covered_by)?,
            });
        }
        DeliveryBatch {
            checkpoint: checkpoint.checkpoint,
            signatures: checkpoint.signatures.iter().map(|s| s.signature).collect(),
            items,
        }
    };
    let ids = batch.ids();
    // Nothing is sent under a lease that may already look expired to an instance whose clock
    // runs ahead of this one's by up to `clock_skew` (it would lease and send the same messages).
    let used = leased_at.elapsed();
    if used + ctx.config.clock_skew >= ctx.config.lease_for {
        tracing::warn!(
            lane = %l,
            messages = ids.len(),
            used_ms = used.as_millis() as u64,
            lease_ms = ctx.config.lease_for.as_millis() as u64,
            "the lease was nearly over before the batch could be sent; not sending it"
        );
        fail_leased(
            ctx,
            lane,
            metrics,
            lease,
            &ids,
            "the lease was nearly over before the batch could be sent (slow destination reads?)",
        )
        .await?;
        return Ok(true);
    }
    *sent = ids.len();
    let recorder = StoreRecorder {
        ctx,
        lease,
        recorded: Mutex::new(Vec::new()),
        left_out: Mutex::new(Vec::new()),
    };
    let started = std::time::Instant::now();
    let submitted = cancellable(
        &ctx.cancel,
        lane.destination.submit_recorded(&batch, &recorder),
    )
    .await;
    metrics.submit_seconds.since(started);
    let recorded = recorder
        .recorded
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let left_out = recorder
        .left_out
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(submitted) = submitted else {
        // Cancelled mid-submit: what was recorded is followed by the next run (and sent
        // again if it never left); the rest of the lease expires.
        return Ok(false);
    };
    // On an error nothing new was sent: what was recorded goes back to pending with it.
    let (submissions, failure) = match submitted {
        Ok(s) => (s, None),
        Err(e) => {
            add(&metrics.submit_failures, 1);
            tracing::warn!(
                lane = %l,
                messages = ids.len(),
                retryable = e.is_retryable(),
                error = &e as &dyn std::error::Error,
                "submit failed; messages back to pending with backoff"
            );
            (Vec::new(), Some(format!("submit: {e}")))
        }
    };
    let permit = Arc::new(permit);
    let mut returned: Vec<SubmissionId> = Vec::with_capacity(submissions.len());
    let mut sent: Vec<MessageId> = Vec::with_capacity(ids.len());
    for sub in submissions {
        add(&metrics.submissions, 1);
        add(&metrics.messages_submitted, sub.messages.len() as u64);
        sent.extend(sub.messages.iter().copied());
        let submission = SubmissionId::of(&sub.handle);
        returned.push(submission);
        let record = recorded.iter().find(|r| r.submission == submission);
        if record.is_none() {
            // The adapter broke its contract (sent without recording): follow it anyway.
            tracing::error!(lane = %l, %submission,
                "the destination adapter sent a submission it did not record");
        }
        let flight = InFlight {
            submission,
            signed: record
                .filter(|r| !r.signed.is_empty())
                .map(|r| Arc::clone(&r.signed)),
            handle: sub.handle,
            ids: sub.messages,
            _permit: Some(Arc::clone(&permit)),
            taken_over_at: None,
            sent_at: std::time::Instant::now(),
            // Renewed at the first confirm tick: the follow lease is what is left of the
            // delivery lease, maybe little.
            renewed_at: std::time::Instant::now()
                .checked_sub(ctx.config.lease_for)
                .unwrap_or_else(std::time::Instant::now),
        };
        if out.send(flight).await.is_err() {
            return Ok(false);
        }
    }
    // Recorded and not returned: refused by the node, never sent. Back to pending.
    unsend(
        ctx,
        lane,
        metrics,
        &recorded,
        &returned,
        failure
            .as_deref()
            .unwrap_or("signed and recorded, but the destination refused the transaction"),
    )
    .await?;
    // Neither recorded nor sent: still leased. Left out for a reason of its own, or not sent.
    let unrecorded: Vec<MessageId> = ids
        .into_iter()
        .filter(|id| !sent.contains(id) && !recorded.iter().any(|r| r.ids.contains(id)))
        .collect();
    let unsent = fail_left_out(ctx, lane, metrics, lease, unrecorded, &left_out).await?;
    if !unsent.is_empty() {
        fail_leased(
            ctx,
            lane,
            metrics,
            lease,
            &unsent,
            failure
                .as_deref()
                .unwrap_or("not sent by the destination adapter"),
        )
        .await?;
    }
    Ok(true)
}

/// One submission the deliver stage recorded in the store before the adapter broadcast it.
struct Recorded {
    submission: SubmissionId,
    ids: Vec<MessageId>,
    signed: Arc<[u8]>,
}

/// Records each signed submission of one batch in the store (sign → record → broadcast): a
/// crash before the broadcast leaves the very transaction for the next run to send.
struct StoreRecorder<'a> {
    ctx: &'a StageContext,
    lease: LeaseToken,
    /// What it recorded, in order; a part signed again (another nonce) replaces its entry.
    recorded: Mutex<Vec<Recorded>>,
    /// Messages the adapter left out, with why.
    left_out: Mutex<Vec<(MessageId, String)>>,
}

impl Recorder for StoreRecorder<'_> {
    fn record<'a>(
        &'a self,
        signed: &'a SignedSubmission,
    ) -> BoxFuture<'a, core::result::Result<(), causeway_adapters::Error>> {
        Box::pin(async move {
            let ctx = self.ctx;
            // A part signed again after the node refused its first signature: its messages
            // are submitted in that first record, which this one replaces.
            let replaces = self
                .recorded
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .find(|r| signed.messages.iter().any(|id| r.ids.contains(id)))
                .map(|r| r.submission);
            let store = Arc::clone(&ctx.store);
            let (owner, lease, now) = (ctx.config.owner.clone(), self.lease, ctx.clock.now());
            let bytes: Arc<[u8]> = Arc::from(signed.signed.as_slice());
            let (ids, handle, kept) = (
                signed.messages.clone(),
                signed.handle.clone(),
                Arc::clone(&bytes),
            );
            blocking(&ctx.cancel, "mark submitted", move || {
                store.mark_submitted(&Submission {
                    owner: &owner,
                    lease,
                    ids: &ids,
                    handle: &handle,
                    signed: (!kept.is_empty()).then_some(&kept[..]),
                    replaces,
                    now,
                })
            })
            .await
            .map_err(|e| causeway_adapters::Error::NotRecorded {
                reason: e.to_string(),
            })?;
            let mut recorded = self
                .recorded
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            recorded.retain(|r| Some(r.submission) != replaces);
            recorded.push(Recorded {
                submission: SubmissionId::of(&signed.handle),
                ids: signed.messages.clone(),
                signed: bytes,
            });
            Ok(())
        })
    }

    fn left_out(&self, id: &MessageId, reason: &causeway_adapters::RevertReason) {
        self.left_out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((*id, reason.to_string()));
    }
}

/// Sends back to pending (one failed attempt) the recorded submissions not in `sent`: they
/// were recorded and then never broadcast.
async fn unsend(
    ctx: &StageContext,
    lane: &LaneConfig,
    metrics: &Arc<LaneMetrics>,
    recorded: &[Recorded],
    sent: &[SubmissionId],
    reason: &str,
) -> Result<()> {
    for r in recorded.iter().filter(|r| !sent.contains(&r.submission)) {
        record_failures(
            ctx,
            lane,
            metrics,
            &r.ids,
            reason,
            FailedAttempt::Submitted(r.submission),
        )
        .await?;
    }
    Ok(())
}

/// Records a failed attempt, with its own reason, for each of `unsent` the adapter left out of
/// the batch (its delivery alone reverts); returns the others.
async fn fail_left_out(
    ctx: &StageContext,
    lane: &LaneConfig,
    metrics: &Arc<LaneMetrics>,
    lease: LeaseToken,
    unsent: Vec<MessageId>,
    left_out: &[(MessageId, String)],
) -> Result<Vec<MessageId>> {
    let mut rest = Vec::with_capacity(unsent.len());
    for id in unsent {
        match left_out.iter().find(|(l, _)| *l == id) {
            Some((_, reason)) => {
                let reason = format!("its delivery alone reverts: {reason}");
                fail_leased(ctx, lane, metrics, lease, &[id], &reason).await?;
            }
            None => rest.push(id),
        }
    }
    Ok(rest)
}

/// Records a failed attempt for messages still leased by this instance.
async fn fail_leased(
    ctx: &StageContext,
    lane: &LaneConfig,
    metrics: &Arc<LaneMetrics>,
    lease: LeaseToken,
    ids: &[MessageId],
    reason: &str,
) -> Result<()> {
    record_failures(
        ctx,
        lane,
        metrics,
        ids,
        reason,
        FailedAttempt::Leased(lease),
    )
    .await
}
