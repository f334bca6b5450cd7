//! The values that cross the [`Store`](super::Store) seam: requests for the mutating calls and
//! the records the queries return.

use core::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use causeway_adapters::SubmissionHandle;
use causeway_proofs::attestation::Equivocation;
use causeway_proofs::bundle::{NativeProof, SourceReference};
use causeway_proofs::hash::keccak256;
use causeway_proofs::{
    Checkpoint, Domain, EvmAddress, Hash32, LeafIndex, LogSize, Message, MessageId, Signature,
    SigningDomain,
};

use super::RetryPolicy;

/// A point in time: milliseconds since the Unix epoch. Passed into every call that depends on
/// time, so tests control the clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMillis(pub u64);

impl UnixMillis {
    /// The wall clock now (0 if the clock is set before 1970).
    pub fn now() -> Self {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        UnixMillis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }

    /// This instant plus `d`, saturating at the end of time.
    pub fn saturating_add(self, d: Duration) -> Self {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        UnixMillis(self.0.saturating_add(ms))
    }

    /// How long after `earlier` this instant is (zero if it is not later).
    pub fn saturating_since(self, earlier: UnixMillis) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// A lane: messages from one origin domain to one destination domain. Deliveries are leased
/// per lane because a destination accepts a batch under one checkpoint of one origin's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lane {
    /// Where the messages were emitted.
    pub origin: Domain,
    /// Where they are delivered.
    pub destination: Domain,
}

impl fmt::Display for Lane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}->{}", self.origin, self.destination)
    }
}

/// How far a source watcher has processed an origin chain: the last block whose events are all
/// in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SourceCursor {
    /// The block's height.
    pub block_number: u64,
    /// The block's hash, so a restart can check the chain still has that block.
    pub block_hash: Hash32,
}

/// One final, verified event from an origin chain: the message and where it was seen.
#[derive(Clone, Debug, PartialEq)]
pub struct AcceptedEvent {
    /// The canonical message.
    pub message: Message,
    /// Where it was observed (block, transaction, log index).
    pub source: SourceReference,
    /// The origin chain's own proof of it, already checked by the verify stage.
    pub native_proof: Option<NativeProof>,
}

/// A batch for [`SourceStore::accept_events`](super::SourceStore::accept_events): the final
/// events of a block range of `origin`, in the chain's order, and the cursor at the range's end.
#[derive(Clone, Copy, Debug)]
pub struct AcceptBatch<'a> {
    /// The origin domain every event must belong to.
    pub origin: Domain,
    /// The events, in origin-chain order (block, transaction, log index).
    pub events: &'a [AcceptedEvent],
    /// The cursor to store with them: the last block of the range.
    pub cursor: SourceCursor,
    /// The current time.
    pub now: UnixMillis,
}

/// What [`SourceStore::accept_events`](super::SourceStore::accept_events) did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptOutcome {
    /// The messages appended to the log, with the leaf index each got, in order.
    pub appended: Vec<(LeafIndex, MessageId)>,
    /// Events already in the store (a replay after a crash): left as they were.
    pub already_known: usize,
    /// The origin's log size after the batch.
    pub log_size: LogSize,
}

/// Who holds a lease: one relayer instance. One name, one live instance per store
/// ([`DeliveryStore::claim_owner`](super::DeliveryStore::claim_owner)); a stable name lets a
/// restarted instance take its own submissions back at once.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeaseOwner(pub String);

impl LeaseOwner {
    /// A name no other process has: `causeway-<pid>-<random>`. The default, so that two
    /// instances started without a name never share one.
    pub fn unique() -> Self {
        LeaseOwner(format!(
            "causeway-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ))
    }
}

/// Holds an instance's name on a store ([`DeliveryStore::claim_owner`](super::DeliveryStore::claim_owner))
/// until dropped (or the process ends).
pub struct OwnerClaim(pub Box<dyn std::any::Any + Send + Sync>);

impl fmt::Debug for OwnerClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OwnerClaim")
    }
}

impl fmt::Display for LeaseOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A request for [`DeliveryStore::lease_pending`](super::DeliveryStore::lease_pending).
#[derive(Clone, Copy, Debug)]
pub struct LeaseRequest<'a> {
    /// The lane to take work from.
    pub lane: Lane,
    /// Who takes it.
    pub owner: &'a LeaseOwner,
    /// At most this many messages.
    pub limit: usize,
    /// How long the lease lasts; after that another instance may take the messages.
    pub lease_for: Duration,
    /// Only messages whose leaf index is below this size: the size of the checkpoint the batch
    /// will be delivered under, so every leased message can be proven against it.
    pub covered_by: LogSize,
    /// The attempt bound: a message whose lease expired without an outcome has used an attempt
    /// (its holder stopped, or failed before recording anything), and is a dead letter once
    /// they are used up.
    pub policy: RetryPolicy,
    /// Whose turn it is, when several member gateways deliver the lane (`None`: every message
    /// is this instance's to deliver).
    pub rota: Option<Rota>,
    /// The current time.
    pub now: UnixMillis,
}

/// Turns in delivering a lane's messages between the consortium's member gateways, so that each
/// message is normally sent once (relayers are untrusted and any member may deliver anything;
/// the turns only save gas). Runs of [`Rota::run`] consecutive leaves belong to the members in
/// rotation; the member whose run it is may deliver a message as soon as it is due, the next one
/// [`Rota::grace`] later (it then first asks the destination whether the message is still
/// undelivered), the one after that two graces later, and so on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rota {
    /// Members taking turns (at least 1).
    pub members: u32,
    /// This gateway's place among them (below `members`).
    pub position: u32,
    /// Consecutive leaves in one member's run (at least 1).
    pub run: u64,
    /// How long each next member waits after the one before it.
    pub grace: Duration,
}

impl Rota {
    /// How long after a message is due this gateway may take it: 0 in its own runs.
    pub fn wait(&self, leaf_index: LeafIndex) -> Duration {
        let members = u64::from(self.members.max(1));
        let owner = (leaf_index.0 / self.run.max(1)) % members;
        let rank = (u64::from(self.position) + members - owner) % members;
        self.grace
            .saturating_mul(u32::try_from(rank).unwrap_or(u32::MAX))
    }
}

/// A message handed out by [`DeliveryStore::lease_pending`](super::DeliveryStore::lease_pending).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeasedMessage {
    /// Its position in the origin's log.
    pub leaf_index: LeafIndex,
    /// The message.
    pub message: Message,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When the lease ends.
    pub lease_until: UnixMillis,
    /// The lease it was handed out under (the same for every message of one lease call).
    pub lease: LeaseToken,
}

/// The last error (and dead-letter reason) of a message whose lease expired without an outcome:
/// its holder stopped, or failed before recording anything. Such an expiry uses an attempt.
pub const LEASE_EXPIRED_REASON: &str = "its lease expired without an outcome (the instance holding it stopped, or failed before recording anything)";

/// One lease call's token: every message it leased carries it, and every write about that
/// lease ([`Submission`], [`Attempt::Leased`]) names it. Tokens only grow, store-wide; a write
/// naming a token the message no longer carries is refused ([`crate::Error::LeaseLost`]),
/// however the owner is named, so an instance that paused past its lease cannot overwrite the
/// work of the instance that leased the message next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeaseToken(pub u64);

impl fmt::Display for LeaseToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lease {}", self.0)
    }
}

/// A submission's identity in the store, whatever the destination's chain family: keccak-256
/// of the adapter handle's data (its JSON), the same for every message the submission carries.
/// A display id that groups messages sent together; following the submission takes the
/// handle itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubmissionId(pub Hash32);

impl SubmissionId {
    /// The id of the submission `handle` refers to.
    pub fn of(handle: &SubmissionHandle) -> Self {
        SubmissionId(keccak256(handle.data.to_string().as_bytes()))
    }
}

impl fmt::Display for SubmissionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A submission carrying leased messages (a transaction, or the destination family's
/// equivalent), recorded by [`DeliveryStore::mark_submitted`](super::DeliveryStore::mark_submitted).
#[derive(Clone, Copy, Debug)]
pub struct Submission<'a> {
    /// The lease holder.
    pub owner: &'a LeaseOwner,
    /// The lease the messages were taken under.
    pub lease: LeaseToken,
    /// The messages the submission delivers.
    pub ids: &'a [MessageId],
    /// The destination adapter's handle of the submission, stored as is (its JSON, at most
    /// [`Submission::MAX_HANDLE_LEN`] bytes): what a restarted relayer follows it with. The
    /// store reads nothing of a family's own fields; the [`SubmissionId`] is derived from it.
    pub handle: &'a SubmissionHandle,
    /// The signed transaction, recorded before it is broadcast (at most
    /// [`Submission::MAX_SIGNED_LEN`] bytes): whoever follows the submission after a crash sends
    /// these bytes again ([`DeliveryStore::signed_submission`](super::DeliveryStore::signed_submission)).
    /// Kept until none of its messages is submitted any more.
    pub signed: Option<&'a [u8]>,
    /// A submission of the same messages this one replaces: recorded by `owner` under this
    /// lease and never broadcast (the node refused it, and the adapter signed them again with
    /// another nonce). The messages must still be submitted in it.
    pub replaces: Option<SubmissionId>,
    /// The current time.
    pub now: UnixMillis,
}

impl Submission<'_> {
    /// Longest handle kept, as JSON (an EVM handle with a dozen replacement hashes is under
    /// 1 KiB).
    pub const MAX_HANDLE_LEN: usize = 16 * 1024;
    /// Longest signed transaction kept (an EVM node takes transactions of at most 128 KiB; a
    /// Fabric envelope of a large batch is a few MiB).
    pub const MAX_SIGNED_LEN: usize = 16 * 1024 * 1024;
}

/// A request for [`DeliveryStore::take_over_submitted`](super::DeliveryStore::take_over_submitted).
#[derive(Clone, Copy, Debug)]
pub struct TakeOver<'a> {
    /// The lane.
    pub lane: Lane,
    /// Who takes the submissions over.
    pub owner: &'a LeaseOwner,
    /// How long the new holder may follow them before it must renew
    /// ([`DeliveryStore::renew_submitted`](super::DeliveryStore::renew_submitted)).
    pub follow_for: Duration,
    /// At most this many messages.
    pub limit: usize,
    /// `owner`'s own submitted messages too, whatever their lease (a restart under the same
    /// name: nothing of this process follows them yet). Without it, `owner`'s own are never
    /// taken, even once their follow lease ended: they are this instance's, in flight between
    /// its stages (a running instance never takes its own work over from itself).
    pub include_own: bool,
    /// The current time.
    pub now: UnixMillis,
}

/// A renewal of the lease under which one instance follows a submission, for
/// [`DeliveryStore::renew_submitted`](super::DeliveryStore::renew_submitted).
#[derive(Clone, Copy, Debug)]
pub struct Renewal<'a> {
    /// The instance following the submission.
    pub owner: &'a LeaseOwner,
    /// The submission.
    pub submission: SubmissionId,
    /// The new end of its lease.
    pub until: UnixMillis,
    /// The current time.
    pub now: UnixMillis,
}

/// Messages the destination reports delivered in a final block, recorded by
/// [`DeliveryStore::confirm`](super::DeliveryStore::confirm).
#[derive(Clone, Copy, Debug)]
pub struct Confirmation<'a> {
    /// The delivered messages.
    pub ids: &'a [MessageId],
    /// The destination block that holds the delivery.
    pub block: u64,
    /// The current time.
    pub now: UnixMillis,
}

/// A failed delivery attempt, recorded by
/// [`DeliveryStore::record_failure`](super::DeliveryStore::record_failure).
#[derive(Clone, Copy, Debug)]
pub struct FailureReport<'a> {
    /// The message.
    pub id: MessageId,
    /// Which attempt failed: the state the message must still be in for the failure to count.
    pub attempt: Attempt<'a>,
    /// What went wrong, kept as the message's last error (and dead-letter reason).
    pub reason: &'a str,
    /// The backoff and attempt bound.
    pub policy: RetryPolicy,
    /// Random bits for the backoff's jitter (see [`RetryPolicy::delay`]).
    pub jitter: u64,
    /// The current time.
    pub now: UnixMillis,
}

/// The attempt a [`FailureReport`] is about. A report about an attempt the message has moved on
/// from (leased again, submitted in another submission, settled) is refused and changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt<'a> {
    /// The attempt failed before anything was submitted: the message must still be leased by
    /// `owner` under `lease`.
    Leased {
        /// The lease holder.
        owner: &'a LeaseOwner,
        /// Its lease.
        lease: LeaseToken,
    },
    /// The submission reverted or was reorganised out: the message must still be submitted in
    /// `submission`.
    Submitted {
        /// The submission that failed.
        submission: SubmissionId,
    },
}

/// What [`DeliveryStore::record_failure`](super::DeliveryStore::record_failure) decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Back to pending, eligible again at `next_attempt_at`.
    Retry {
        /// Failed attempts so far.
        attempts: u32,
        /// When it may be leased again.
        next_attempt_at: UnixMillis,
    },
    /// The attempts are used up: the message waits in the dead-letter state for an operator.
    DeadLetter {
        /// Failed attempts so far.
        attempts: u32,
    },
}

/// The state of one message's delivery to its destination.
///
/// `Pending -> Leased -> Submitted -> Confirmed`; a failure under a lease or of a submitted
/// transaction goes back to `Pending` (with backoff) or, once the attempts are used up, to
/// `DeadLetter`, from which only an explicit retry brings it back. `Confirmed` is final.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting to be leased (once `next_attempt_at` has passed).
    Pending,
    /// Taken by a relayer instance until `until`.
    Leased {
        /// The holder.
        owner: LeaseOwner,
        /// When the lease ends.
        until: UnixMillis,
    },
    /// Sent in a submission that is not yet final.
    Submitted {
        /// Who sent it.
        owner: LeaseOwner,
        /// The submission that carries it.
        submission: SubmissionId,
        /// When it was recorded.
        submitted_at: UnixMillis,
    },
    /// Delivered in a final destination block.
    Confirmed {
        /// That block.
        block: u64,
    },
    /// Given up after the maximum attempts; retried only on demand.
    DeadLetter {
        /// The last failure.
        reason: String,
    },
}

impl DeliveryState {
    /// The state without its data.
    pub fn kind(&self) -> DeliveryStateKind {
        match self {
            DeliveryState::Pending => DeliveryStateKind::Pending,
            DeliveryState::Leased { .. } => DeliveryStateKind::Leased,
            DeliveryState::Submitted { .. } => DeliveryStateKind::Submitted,
            DeliveryState::Confirmed { .. } => DeliveryStateKind::Confirmed,
            DeliveryState::DeadLetter { .. } => DeliveryStateKind::DeadLetter,
        }
    }
}

/// The delivery states as a fixed set (metric label values, error facts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeliveryStateKind {
    /// See [`DeliveryState::Pending`].
    Pending,
    /// See [`DeliveryState::Leased`].
    Leased,
    /// See [`DeliveryState::Submitted`].
    Submitted,
    /// See [`DeliveryState::Confirmed`].
    Confirmed,
    /// See [`DeliveryState::DeadLetter`].
    DeadLetter,
}

impl DeliveryStateKind {
    /// Every state, in pipeline order.
    pub const ALL: [DeliveryStateKind; 5] = [
        DeliveryStateKind::Pending,
        DeliveryStateKind::Leased,
        DeliveryStateKind::Submitted,
        DeliveryStateKind::Confirmed,
        DeliveryStateKind::DeadLetter,
    ];

    /// The stable lowercase name (stored in the database and used as a metric label).
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStateKind::Pending => "pending",
            DeliveryStateKind::Leased => "leased",
            DeliveryStateKind::Submitted => "submitted",
            DeliveryStateKind::Confirmed => "confirmed",
            DeliveryStateKind::DeadLetter => "dead_letter",
        }
    }

    /// The state named `s` by [`DeliveryStateKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for DeliveryStateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One message's delivery: its state and retry bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The lane it travels.
    pub lane: Lane,
    /// Where it stands.
    pub state: DeliveryState,
    /// Failed attempts since acceptance (or since the last dead-letter retry).
    pub attempts: u32,
    /// When it may next be leased (meaningful while pending).
    pub next_attempt_at: UnixMillis,
    /// The most recent failure, if any.
    pub last_error: Option<String>,
}

/// Everything the store holds about one message.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageRecord {
    /// The message.
    pub message: Message,
    /// Its position in the origin's log.
    pub leaf_index: LeafIndex,
    /// Where it was observed.
    pub source: SourceReference,
    /// The origin chain's proof of it.
    pub native_proof: Option<NativeProof>,
    /// When it was accepted.
    pub accepted_at: UnixMillis,
    /// Its delivery.
    pub delivery: Delivery,
}

/// Messages per delivery state on one lane.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateCounts {
    /// Waiting to be leased.
    pub pending: u64,
    /// Leased.
    pub leased: u64,
    /// Submitted, not yet final.
    pub submitted: u64,
    /// Delivered.
    pub confirmed: u64,
    /// Given up.
    pub dead_letter: u64,
}

impl StateCounts {
    /// The count for `kind`.
    pub fn get(&self, kind: DeliveryStateKind) -> u64 {
        match kind {
            DeliveryStateKind::Pending => self.pending,
            DeliveryStateKind::Leased => self.leased,
            DeliveryStateKind::Submitted => self.submitted,
            DeliveryStateKind::Confirmed => self.confirmed,
            DeliveryStateKind::DeadLetter => self.dead_letter,
        }
    }

    /// A mutable reference to the count for `kind`.
    pub fn get_mut(&mut self, kind: DeliveryStateKind) -> &mut u64 {
        match kind {
            DeliveryStateKind::Pending => &mut self.pending,
            DeliveryStateKind::Leased => &mut self.leased,
            DeliveryStateKind::Submitted => &mut self.submitted,
            DeliveryStateKind::Confirmed => &mut self.confirmed,
            DeliveryStateKind::DeadLetter => &mut self.dead_letter,
        }
    }
}

/// Backlog figures for one lane (the metrics' and status page's view).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaneStats {
    /// The lane.
    pub lane: Lane,
    /// Messages per state.
    pub counts: StateCounts,
    /// When the oldest message not yet delivered (pending, leased or submitted) was accepted.
    pub oldest_pending_since: Option<UnixMillis>,
}

impl LaneStats {
    /// How long the oldest undelivered message has been waiting at `now`.
    pub fn oldest_pending_age(&self, now: UnixMillis) -> Option<Duration> {
        self.oldest_pending_since.map(|t| now.saturating_since(t))
    }
}

/// What one validator signed on a lane, as this gateway recorded it (its own signatures and the
/// ones other members sent over this gateway's own roots), for the status page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidatorActivity {
    /// The validator's address.
    pub validator: EvmAddress,
    /// How many of the lane's checkpoints carry its signature.
    pub checkpoints: u64,
    /// The largest log size it signed.
    pub last_size: LogSize,
    /// When its most recent signature was recorded.
    pub last_recorded_at: UnixMillis,
}

/// The most recently confirmed delivery of a lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastDelivery {
    /// When the confirmation was recorded.
    pub confirmed_at: UnixMillis,
    /// The destination block that carried it.
    pub block: u64,
}

/// A message of a lane in the dead-letter state, as listed by
/// [`QueryStore::dead_letters`](super::QueryStore::dead_letters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    /// The message.
    pub id: MessageId,
    /// Its position in the origin's log.
    pub leaf_index: LeafIndex,
    /// Failed attempts before it was given up.
    pub attempts: u32,
    /// Why it was given up (the last failure).
    pub reason: String,
    /// When it became a dead letter.
    pub since: UnixMillis,
}

/// One validator's signature over a checkpoint, with the address it recovers to (checked by the
/// caller against the lane's signing digest before it is recorded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ValidatorSignature {
    /// The validator's address.
    pub validator: EvmAddress,
    /// Its signature.
    pub signature: Signature,
}

/// A checkpoint and signatures for [`CheckpointStore::record_checkpoint`](super::CheckpointStore::record_checkpoint).
#[derive(Clone, Copy, Debug)]
pub struct CheckpointRecord<'a> {
    /// The lane the signatures are for (the signing domain names the destination).
    pub lane: Lane,
    /// The checkpoint of `lane.origin`'s log.
    pub checkpoint: Checkpoint,
    /// Signatures gathered so far (verified by the caller); more may be added later.
    pub signatures: &'a [ValidatorSignature],
    /// The current time.
    pub now: UnixMillis,
}

/// What [`CheckpointStore::record_checkpoint`](super::CheckpointStore::record_checkpoint) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointOutcome {
    /// Signatures from validators not seen before for this checkpoint.
    pub new_signatures: usize,
    /// Distinct validators that have signed it now.
    pub total_signatures: usize,
}

/// Another member's validator signature for
/// [`CheckpointStore::record_member_signature`](super::CheckpointStore::record_member_signature).
#[derive(Clone, Copy, Debug)]
pub struct MemberSignatureRecord {
    /// The lane.
    pub lane: Lane,
    /// The lane's signing domain (kept in equivocation evidence, so that anyone can check it).
    pub domain: SigningDomain,
    /// The checkpoint the validator signed, of `lane.origin`'s log.
    pub checkpoint: Checkpoint,
    /// The validator and its signature (recovered and checked against the lane's validator set
    /// by the caller).
    pub signature: ValidatorSignature,
    /// Whether `checkpoint`'s root is the one this gateway rebuilt itself for that size: only then
    /// does the signature count.
    pub matches_own_root: bool,
    /// The current time.
    pub now: UnixMillis,
}

/// What [`CheckpointStore::record_member_signature`](super::CheckpointStore::record_member_signature)
/// did with a signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberSignatureOutcome {
    /// Over this gateway's own root: recorded (or already there); the checkpoint now has this many
    /// signatures that count.
    Counted {
        /// Distinct validators whose signatures count for the checkpoint now.
        total_signatures: usize,
    },
    /// Over another root than this gateway's own (a root mismatch): kept, never counted.
    RootMismatch,
    /// The validator had signed another root for the same lane and size: evidence recorded, and
    /// from now on its signatures do not count on the lane.
    Equivocation(Box<Equivocation>),
    /// The validator equivocated on this lane before: ignored.
    Excluded,
}

/// A recorded checkpoint with its signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The lane.
    pub lane: Lane,
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// One signature per validator, in strictly ascending validator order (the order the
    /// Inbox requires).
    pub signatures: Vec<ValidatorSignature>,
    /// When it was first recorded.
    pub recorded_at: UnixMillis,
}

/// A message in the `Submitted` state, as listed by
/// [`QueryStore::submitted`](super::QueryStore::submitted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmittedMessage {
    /// The message.
    pub id: MessageId,
    /// Its position in the origin's log.
    pub leaf_index: LeafIndex,
    /// Who sent it.
    pub owner: LeaseOwner,
    /// The submission that carries it.
    pub submission: SubmissionId,
    /// The destination adapter's handle of that submission, as far as the store has it.
    pub handle: KeptHandle,
    /// When the submission was recorded.
    pub submitted_at: UnixMillis,
}

/// What the store has of a submitted message's adapter handle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeptHandle {
    /// The handle as the adapter made it: the submission can be followed to its outcome.
    Kept(SubmissionHandle),
    /// None: the row was submitted by a build that kept no handles (store schema 1).
    Missing,
    /// A handle is stored but does not read as one (written by a build with another handle
    /// shape): kept as stored, with why it does not read.
    Unreadable {
        /// The stored JSON.
        json: String,
        /// Why it is not a handle.
        reason: String,
    },
}

impl KeptHandle {
    /// Reads a stored handle column.
    pub(crate) fn from_column(json: Option<String>) -> Self {
        match json {
            None => KeptHandle::Missing,
            Some(json) => match serde_json::from_str(&json) {
                Ok(handle) => KeptHandle::Kept(handle),
                Err(e) => KeptHandle::Unreadable {
                    json,
                    reason: e.to_string(),
                },
            },
        }
    }
}
