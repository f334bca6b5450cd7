//! The relayer's durable store: the seam between the pipeline and its database.
//!
//! [`Store`] is four small capability traits, one per kind of work, so each pipeline stage
//! depends only on what it uses:
//!
//! - [`SourceStore`]: per-origin cursors, the events accepted from the origin chain and the
//!   origin's append-only Merkle log (its leaves; roots are rebuilt in memory on restart);
//! - [`CheckpointStore`]: checkpoints per lane and the validators' signatures over them;
//! - [`DeliveryStore`]: each message's delivery state machine, leased to relayer instances;
//! - [`QueryStore`]: what the API and the metrics read;
//! - [`ApiStore`]: the HTTP API's own records (tokens, audit trail, status history, search).
//!
//! [`SqliteStore`] is the embedded implementation; [`PgStore`], for several replicas of one
//! gateway on one PostgreSQL database, implements the same traits and passes the same
//! conformance suite (`relayer/tests/it/conformance*.rs`).
//!
//! # Contract shared by every method
//!
//! - Every mutating call is one transaction: it applies entirely or not at all, and when it
//!   returns `Ok` its effect is durable (it survives a process crash and a power loss). The
//!   pipeline acknowledges nothing before that.
//! - Queries return `Ok(None)` (or an empty list) for "not found"; errors mean the store
//!   could not answer.
//! - Time is passed in ([`UnixMillis`]); the store never reads a clock.
//! - Calls block (SQLite is a blocking library). Async code calls them from
//!   `tokio::task::spawn_blocking` or a dedicated thread, never on a runtime worker.
//! - Handles are `Send + Sync`: share one as `Arc<dyn Store>` (methods on `dyn Store` need no
//!   imports; generic code imports the capability traits it calls).
//!
//! # Finality
//!
//! Only final events reach the store: source adapters wait for their chain's finality rule
//! before emitting an event, and [`SourceStore::accept_events`] appends every new event to the
//! log at once. There is deliberately no table of unfinal events: a leaf, once appended, may be
//! attested by this gateway and must never change. Reorgs of unfinal blocks are the adapter's
//! business; [`SourceStore::rollback_to`] only moves a cursor back, and refuses when logged
//! events lie above the target (a reorg beneath a final event needs an operator).

mod api;
mod backoff;
mod outbound;
mod postgres;
mod rules;
mod sqlite;
mod types;

pub use api::{
    ApiStore, AuditRecord, MessageFilter, MessageRead, MessageReadout, MessageStatus,
    MessageSummary, NewToken, ReadWait, Scope, StatusEvent, TokenId, TokenRecord,
};
pub use backoff::RetryPolicy;
pub use outbound::{
    AfterFailure, EnvelopeRecord, GrantKind, GrantRecord, Holdup, NewEnvelope, NewGrant,
    NewSendRequest, OutboundStore, SendKind, SendLease, SendLeaseRequest, SendRequest,
    SendRequestId, SendState,
};
pub use postgres::{LeaseClock, PG_SCHEMA_VERSION, PgOptions, PgStore};
pub use sqlite::{SqliteOptions, SqliteStore, StoreTimings, StoreTimingsSnapshot, TransactionKind};
pub use types::{
    AcceptBatch, AcceptOutcome, AcceptedEvent, Attempt, CheckpointOutcome, CheckpointRecord,
    Confirmation, DeadLetter, Delivery, DeliveryState, DeliveryStateKind, FailureOutcome,
    FailureReport, KeptHandle, LEASE_EXPIRED_REASON, Lane, LaneStats, LastDelivery, LeaseOwner,
    LeaseRequest, LeaseToken, LeasedMessage, MemberSignatureOutcome, MemberSignatureRecord,
    MessageRecord, OwnerClaim, Renewal, Rota, SourceCursor, StateCounts, StoredCheckpoint,
    Submission, SubmissionId, SubmittedMessage, TakeOver, UnixMillis, ValidatorActivity,
    ValidatorSignature,
};

use causeway_proofs::attestation::Equivocation;
use causeway_proofs::{Domain, LeafIndex, LogSize, Message, MessageId};

use crate::Error;

/// The store's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Per-origin source progress, accepted events and the origin's Merkle log leaves.
pub trait SourceStore: Send + Sync {
    /// The cursor of `origin`, or `None` before its first batch.
    fn cursor(&self, origin: Domain) -> Result<Option<SourceCursor>>;

    /// Accepts a batch of final, verified events of `batch.origin` and advances its cursor to
    /// `batch.cursor`, atomically: after a crash either all of it is stored or none.
    ///
    /// Each new message is appended to the origin's log at the next leaf index, in batch order,
    /// and gets a pending delivery (eligible at once). A message already stored is left alone
    /// (re-accepting after a crash is a no-op). Fails, storing nothing, with
    /// [`Error::Equivocation`] if another message is stored under the same (origin, nonce),
    /// [`Error::WrongOrigin`] for a message of another origin, [`Error::EventBeyondCursor`] for
    /// a new event from a block past the cursor, and [`Error::CursorRegression`] /
    /// [`Error::CursorConflict`] if the cursor would move back or change hash at its height.
    fn accept_events(&self, batch: &AcceptBatch<'_>) -> Result<AcceptOutcome>;

    /// Moves `origin`'s cursor back to `to` (the last block the watcher knows is canonical) and
    /// returns the previous cursor. Removes nothing: fails with [`Error::RollbackBelowFinal`] if
    /// logged events come from blocks above `to`, and [`Error::RollbackForward`] if `to` is
    /// ahead of the cursor.
    fn rollback_to(
        &self,
        origin: Domain,
        to: SourceCursor,
        now: UnixMillis,
    ) -> Result<Option<SourceCursor>>;

    /// Up to `limit` consecutive leaves of `origin`'s log from index `from` (empty past the end).
    fn leaves(&self, origin: Domain, from: LeafIndex, limit: usize) -> Result<Vec<MessageId>>;

    /// The number of leaves in `origin`'s log.
    fn log_size(&self, origin: Domain) -> Result<LogSize>;
}

/// Checkpoints of the origins' logs, per lane, and the signatures gathered for them.
pub trait CheckpointStore: Send + Sync {
    /// Records a checkpoint for `record.lane` (if new) and adds the signatures of validators not
    /// yet recorded for it; one validator counts once (a second signature of the same validator
    /// is ignored). The caller has verified each signature. Fails with
    /// [`Error::CheckpointConflict`] if the lane already has another root at that size,
    /// [`Error::CheckpointBeyondLog`] if the log is shorter than the checkpoint, and
    /// [`Error::WrongOrigin`] if the checkpoint is of another origin.
    fn record_checkpoint(&self, record: &CheckpointRecord<'_>) -> Result<CheckpointOutcome>;

    /// Records another member's validator signature (checked by the caller) in one
    /// transaction: [`MemberSignatureOutcome::Equivocation`] with the evidence, recorded, if the
    /// validator signed another root for the same lane and size before (from then on its
    /// signatures do not count on the lane, here or in [`CheckpointStore::latest_checkpoint`]);
    /// else counted like [`CheckpointStore::record_checkpoint`] when it is over this gateway's own
    /// root, and kept apart as a root mismatch when not. Fails like `record_checkpoint`.
    fn record_member_signature(
        &self,
        record: &MemberSignatureRecord,
    ) -> Result<MemberSignatureOutcome>;

    /// The equivocation evidence recorded for `lane`, oldest first.
    fn equivocations(&self, lane: Lane) -> Result<Vec<Equivocation>>;

    /// The largest checkpoint of `lane` signed by at least `min_signatures` distinct
    /// validators that did not equivocate on the lane, with those validators' signatures, or
    /// `None`.
    fn latest_checkpoint(
        &self,
        lane: Lane,
        min_signatures: usize,
    ) -> Result<Option<StoredCheckpoint>>;
}

/// The delivery state machine of every message (see [`DeliveryState`]).
pub trait DeliveryStore: Send + Sync {
    /// Leases to `req.owner` up to `req.limit` messages of `req.lane`, lowest leaf index first,
    /// that are pending with `next_attempt_at <= now` and whose leaf index is below
    /// `req.covered_by`, under a new [`LeaseToken`] that every returned message carries. While
    /// a lease is live no other call returns the message, from this handle or any other on the
    /// same database. First, every expired lease of the lane counts as a failed attempt
    /// ([`LEASE_EXPIRED_REASON`]): the message goes back to pending, eligible at once, or to
    /// dead letter once `req.policy`'s attempts are used up.
    fn lease_pending(&self, req: &LeaseRequest<'_>) -> Result<Vec<LeasedMessage>>;

    /// Records that the messages were sent in the submission `submission.handle` names (kept
    /// as is, with its [`SubmissionId`], and its signed bytes if given). Call it after signing
    /// and before broadcasting. All or nothing: fails with [`Error::LeaseLost`] if any message
    /// is not leased by `owner` under `lease` (leased again since, by anyone: drop it from the
    /// batch and re-sign), or, with `submission.replaces`, still submitted by `owner` in that
    /// submission.
    fn mark_submitted(&self, submission: &Submission<'_>) -> Result<()>;

    /// The signed bytes recorded with `submission` by [`DeliveryStore::mark_submitted`], while
    /// some of its messages is still submitted in it (`None` after, or if none were given).
    fn signed_submission(&self, submission: SubmissionId) -> Result<Option<Vec<u8>>>;

    /// Records the messages delivered in a final destination block. Any state but `Confirmed`
    /// moves to `Confirmed` (the destination's record is the truth, even if another instance
    /// delivered the message); an already confirmed message is left as it is.
    fn confirm(&self, confirmation: &Confirmation<'_>) -> Result<()>;

    /// Records a failed attempt: back to pending after the policy's backoff, or to dead letter
    /// once the attempts are used up. Fenced by [`FailureReport::attempt`]: a report about a
    /// lease the message was leased again since fails with [`Error::LeaseLost`], one about a
    /// submission it is no longer in with [`Error::InvalidTransition`], and changes nothing.
    fn record_failure(&self, report: &FailureReport<'_>) -> Result<FailureOutcome>;

    /// Sends a dead letter back to pending with its attempts reset, eligible at `now`. Fails
    /// with [`Error::InvalidTransition`] if the message is not a dead letter.
    fn retry_dead_letter(&self, id: MessageId, now: UnixMillis) -> Result<()>;

    /// Takes over, for `req.owner`, up to `req.limit` submitted messages of `req.lane` (lowest
    /// leaf index first) that no instance follows any more: another instance's whose follow
    /// lease (set when they were submitted, renewed by their follower) has expired, or, with
    /// `req.include_own`, `req.owner`'s own (a restart under the same name; without it, its own
    /// are never taken). They stay submitted in the same submission, now
    /// followed by `req.owner` until `now + follow_for`. A submitted message whose instance
    /// never returns is so settled by another, from the recorded submission.
    fn take_over_submitted(&self, req: &TakeOver<'_>) -> Result<Vec<SubmittedMessage>>;

    /// Extends the follow lease of the messages `renewal.owner` follows in
    /// `renewal.submission`; returns how many it still follows (0: another instance took the
    /// submission over, or its messages were settled: stop following it).
    fn renew_submitted(&self, renewal: &Renewal<'_>) -> Result<usize>;

    /// Claims `owner`'s name on this store for as long as the returned claim lives, and at most
    /// until the process ends: a second live instance under the same name is refused with
    /// [`Error::OwnerInUse`] (it would take the first one's submissions for its own).
    fn claim_owner(&self, owner: &LeaseOwner) -> Result<OwnerClaim>;
}

/// Reads for the API and the metrics.
pub trait QueryStore: Send + Sync {
    /// A message with its log position, source and delivery, or `None`.
    fn message(&self, id: MessageId) -> Result<Option<MessageRecord>>;

    /// The message `id` alone, without its delivery, source or native proof, or `None`: for a
    /// reader that needs only its body (the envelope follower reads every new message's).
    fn message_body(&self, id: MessageId) -> Result<Option<Message>> {
        Ok(self.message(id)?.map(|record| record.message))
    }

    /// Per-lane counts per delivery state and the oldest undelivered message, for every lane
    /// that has carried a message, ordered by lane.
    fn lane_stats(&self) -> Result<Vec<LaneStats>>;

    /// Up to `limit` messages of `lane` in the `Submitted` state, lowest leaf index first, with
    /// who sent them, in which submission, and its kept adapter handle. Added for the pipeline's restart recovery: a
    /// restarted relayer has lost the adapter handles of its in-flight submissions and must ask
    /// the destination what became of these messages.
    fn submitted(&self, lane: Lane, limit: usize) -> Result<Vec<SubmittedMessage>>;

    /// Per validator that signed a checkpoint of `lane` (as recorded: this gateway's own
    /// signatures and the counted ones of other members, equivocators' included), how many
    /// checkpoints it signed and the largest size, in ascending validator order. Root
    /// mismatches are not signatures of the lane's checkpoints and are not listed.
    fn validator_activity(&self, lane: Lane) -> Result<Vec<ValidatorActivity>>;

    /// The most recently recorded confirmation of a delivery on `lane`, or `None` before the
    /// first.
    fn last_delivery(&self, lane: Lane) -> Result<Option<LastDelivery>>;

    /// Up to `limit` dead letters of `lane`, the most recently given up first.
    fn dead_letters(&self, lane: Lane, limit: usize) -> Result<Vec<DeadLetter>>;
}

/// Everything the relayer keeps durably: the six capabilities together. Implemented for every
/// type that has them.
pub trait Store:
    SourceStore + CheckpointStore + DeliveryStore + QueryStore + ApiStore + OutboundStore
{
}

impl<
    T: SourceStore + CheckpointStore + DeliveryStore + QueryStore + ApiStore + OutboundStore + ?Sized,
> Store for T
{
}
