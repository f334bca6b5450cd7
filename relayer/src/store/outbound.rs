//! What the gateway keeps for applications' sends and private messages ([`OutboundStore`]):
//! the send requests `POST /v1/messages` recorded (durably, before answering) and the dispatcher
//! works through, the envelopes of private messages (sealed here or fetched from the sender's
//! gateway), and the record of every grant and revocation made through this gateway.

use core::fmt;
use std::time::Duration;

use causeway_proofs::{Address32, Domain, Hash32, MessageId};

use super::{LeaseOwner, Result, UnixMillis};

/// A send request's number in the store (what `POST /v1/messages` answers with).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SendRequestId(pub u64);

impl fmt::Display for SendRequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Public (the body is the payload) or private (the body is a commitment and disclosures).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SendKind {
    /// The payload goes on chain as the body.
    Public,
    /// The payload is sealed in an envelope; the chain sees its commitment.
    Private,
}

impl SendKind {
    /// `public` or `private`.
    pub fn as_str(self) -> &'static str {
        match self {
            SendKind::Public => "public",
            SendKind::Private => "private",
        }
    }
}

/// Where a send request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SendState {
    /// Recorded; not yet sealed for a nonce.
    Accepted,
    /// Sealed for one Outbox nonce (its message id known); being sent.
    Sealed,
    /// On chain under its message id.
    Dispatched,
    /// Given up (the error says why).
    Failed,
}

impl SendState {
    /// `accepted`, `sealed`, `dispatched` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            SendState::Accepted => "accepted",
            SendState::Sealed => "sealed",
            SendState::Dispatched => "dispatched",
            SendState::Failed => "failed",
        }
    }

    /// The state named `name`.
    pub fn from_name(name: &str) -> Option<SendState> {
        [
            SendState::Accepted,
            SendState::Sealed,
            SendState::Dispatched,
            SendState::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// A request to record ([`OutboundStore::record_send_requests`]).
#[derive(Clone, Copy, Debug)]
pub struct NewSendRequest<'a> {
    /// The origin domain (whose Outbox dispatches it).
    pub origin: Domain,
    /// The destination domain.
    pub destination: Domain,
    /// The recipient on the destination.
    pub recipient: Address32,
    /// Public or private.
    pub kind: SendKind,
    /// The body (public) or the JSON payload (private).
    pub payload: &'a [u8],
    /// Private: the member organisations that may read it (auditors included).
    pub readers: &'a [String],
    /// Private: the fields whose values and proofs go on chain.
    pub disclose: &'a [String],
    /// Who asks (for the audit trail).
    pub actor: &'a str,
}

/// A stored send request.
#[derive(Clone, PartialEq, Eq)]
pub struct SendRequest {
    /// Its number.
    pub id: SendRequestId,
    /// Origin domain.
    pub origin: Domain,
    /// Destination domain.
    pub destination: Domain,
    /// Recipient.
    pub recipient: Address32,
    /// Public or private.
    pub kind: SendKind,
    /// The payload, until the message is on chain.
    pub payload: Option<Vec<u8>>,
    /// Private: the reading members.
    pub readers: Vec<String>,
    /// Private: the disclosed fields.
    pub disclose: Vec<String>,
    /// Where it is.
    pub state: SendState,
    /// The Outbox nonce it was sealed for.
    pub nonce: Option<u64>,
    /// Its message id, once sealed for a nonce.
    pub message_id: Option<MessageId>,
    /// The dispatch transaction.
    pub tx_hash: Option<Hash32>,
    /// Dispatch attempts that failed.
    pub attempts: u32,
    /// The last failure.
    pub error: Option<String>,
    /// When it was recorded.
    pub created_at: UnixMillis,
    /// When it last changed.
    pub updated_at: UnixMillis,
    /// The dispatcher holding it ([`OutboundStore::lease_send_requests`]), until it records an
    /// outcome (dispatched, or a failure that sends it back or gives it up); `None` if never
    /// leased or released since.
    pub lease: Option<SendLease>,
    /// Put off until then ([`OutboundStore::defer_send_request`]): not leased before.
    pub retry_at: Option<UnixMillis>,
    /// How often it was put off since its last outcome.
    pub deferrals: u32,
    /// Since when its nonce has been held by a transaction not yet final ([`Holdup::Contended`]),
    /// in the episode still going on.
    pub contended_since: Option<UnixMillis>,
}

/// A send request's lease: the one dispatcher, among every replica on the store, that may
/// seal, submit and record the outcome of the request ([`OutboundStore::lease_send_requests`]).
/// Every write about the request names it, and is refused ([`crate::Error::SendLeaseLost`])
/// once the request was leased again (by anyone: each lease moves its generation) or
/// released, so a dispatcher that paused past its lease cannot overwrite the new holder's
/// record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendLease {
    /// The request.
    pub request: SendRequestId,
    /// Its holder.
    pub owner: LeaseOwner,
    /// Which lease of the request this is: grows by one with every lease, so a write naming
    /// an earlier one is fenced off.
    pub generation: u64,
    /// When it ends (on the database's clock for PostgreSQL); after that another dispatcher
    /// may take the request, and resumes from what was recorded under this lease.
    pub until: UnixMillis,
}

/// Where a failed attempt leaves a send request ([`OutboundStore::record_send_failure`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AfterFailure {
    /// Back to accepted, to be sealed again for the nonce the Outbox shows next: only once
    /// the sealed message can no longer land (the Outbox is past its nonce without it). Not
    /// counted as an attempt: another dispatch took the nonce, which is progress, so these
    /// are bounded by the other senders' messages, not by the request's attempts.
    SealAgain,
    /// Stays sealed (same nonce, message id and body), to be sent again: its message can still
    /// land at its nonce, so sealing it for another would risk sending it twice. Counted, and
    /// not leased again before `after` has passed (on the lease clock, as
    /// [`OutboundStore::defer_send_request`] puts a request off), so that a refusal that lasts a
    /// while does not use the request's attempts up in as many polls.
    SendAgain {
        /// How long the request waits before it is sent again.
        after: Duration,
    },
    /// Failed for good.
    GiveUp,
}

/// Why an attempt is put off without being counted ([`OutboundStore::defer_send_request`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Holdup {
    /// Something not the request's own failed (the origin's node, the store): tried again later.
    Fault,
    /// Its nonce is held by a transaction not yet final: an episode begins (its start is kept,
    /// [`SendRequest::contended_since`]) or goes on.
    Contended,
    /// The origin refused the sender account as a whole (out of funds for gas, the node's pool
    /// full for it), not this request: released with its reason, but no deferral is counted
    /// (the dispatcher backs off as a whole, not the request).
    Sender,
}

/// A request for [`OutboundStore::lease_send_requests`].
#[derive(Clone, Copy, Debug)]
pub struct SendLeaseRequest<'a> {
    /// Requests of this origin (whose Outbox the dispatcher sends on).
    pub origin: Domain,
    /// Who takes them: one dispatcher; one live instance per name on a store
    /// ([`DeliveryStore::claim_owner`](super::DeliveryStore::claim_owner)).
    pub owner: &'a LeaseOwner,
    /// At most this many.
    pub limit: usize,
    /// How long the lease lasts ([`OutboundStore::renew_send_lease`] extends it).
    pub lease_for: Duration,
    /// The current time.
    pub now: UnixMillis,
}

impl fmt::Debug for SendRequest {
    /// Never prints the payload (a private one is plaintext).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendRequest")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("state", &self.state)
            .field("message_id", &self.message_id)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

/// An envelope to store.
#[derive(Clone, Copy, Debug)]
pub struct NewEnvelope<'a> {
    /// The message it belongs to.
    pub message_id: MessageId,
    /// Its origin.
    pub origin: Domain,
    /// Its destination.
    pub destination: Domain,
    /// Its Outbox nonce.
    pub nonce: u64,
    /// Its sender.
    pub sender: Address32,
    /// The on-chain commitment it opens against.
    pub commitment: [u8; 32],
    /// The envelope bytes.
    pub bytes: &'a [u8],
    /// The public disclosure (AnchoredDisclosure JSON), if fields are disclosed.
    pub disclosure: Option<&'a str>,
    /// The member it was fetched from (`None`: sealed here).
    pub fetched_from: Option<&'a str>,
}

/// A stored envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvelopeRecord {
    /// The message it belongs to.
    pub message_id: MessageId,
    /// Its origin.
    pub origin: Domain,
    /// Its destination.
    pub destination: Domain,
    /// Its Outbox nonce.
    pub nonce: u64,
    /// Its sender.
    pub sender: Address32,
    /// The on-chain commitment.
    pub commitment: [u8; 32],
    /// The envelope bytes, with the grant history as it is now.
    pub bytes: Vec<u8>,
    /// The public disclosure JSON, if any.
    pub disclosure: Option<String>,
    /// The member it was fetched from (`None`: sealed here).
    pub fetched_from: Option<String>,
    /// When it was stored.
    pub created_at: UnixMillis,
}

/// A grant or a revocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrantKind {
    /// Access given.
    Grant,
    /// Access withdrawn.
    Revoke,
}

impl GrantKind {
    /// `grant` or `revoke`.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantKind::Grant => "grant",
            GrantKind::Revoke => "revoke",
        }
    }
}

/// A grant or revocation made through this gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRecord {
    /// Its place in the record (grows).
    pub seq: u64,
    /// The message whose envelope it changed.
    pub message_id: MessageId,
    /// Grant or revocation.
    pub kind: GrantKind,
    /// The member that signed it.
    pub grantor: String,
    /// The member it gives access to or withdraws it from.
    pub grantee: String,
    /// The history's chain hash after it (identifies the history up to it).
    pub chain: Hash32,
    /// Who asked.
    pub actor: String,
    /// When.
    pub at: UnixMillis,
}

/// A grant to record with the envelope it produced ([`OutboundStore::record_grant`]).
#[derive(Clone, Copy, Debug)]
pub struct NewGrant<'a> {
    /// The message.
    pub message_id: MessageId,
    /// The envelope with the new history entry.
    pub bytes: &'a [u8],
    /// Grant or revocation.
    pub kind: GrantKind,
    /// The signing member.
    pub grantor: &'a str,
    /// The member concerned.
    pub grantee: &'a str,
    /// The history's chain hash after the entry.
    pub chain: Hash32,
    /// Who asked.
    pub actor: &'a str,
    /// Now.
    pub now: UnixMillis,
}

/// Send requests, envelopes and grants.
pub trait OutboundStore: Send + Sync {
    /// Records `requests` in one transaction (durable when it returns), each audited as
    /// `message.send` by its actor; their numbers, in order.
    fn record_send_requests(
        &self,
        requests: &[NewSendRequest<'_>],
        now: UnixMillis,
    ) -> Result<Vec<SendRequestId>>;

    /// The request `id`, or `None`.
    fn send_request(&self, id: SendRequestId) -> Result<Option<SendRequest>>;

    /// Up to `limit` requests of `origin` still to dispatch (accepted or sealed), oldest first,
    /// whoever holds them.
    fn open_send_requests(&self, origin: Domain, limit: usize) -> Result<Vec<SendRequest>>;

    /// Leases to `req.owner` up to `req.limit` requests of `req.origin` still to dispatch
    /// (accepted or sealed), oldest first: those no one holds, those whose lease ended (their
    /// holder stopped or stalled: taken over, to be resumed from what it recorded), and
    /// `req.owner`'s own (a restart under the same name). Each gets the next generation and
    /// ends at `now + lease_for`; while it is live no other owner gets the request, from this
    /// handle or any other on the same database.
    fn lease_send_requests(&self, req: &SendLeaseRequest<'_>) -> Result<Vec<SendRequest>>;

    /// Extends `lease` to `now + lease_for`; the extended lease. Fails with
    /// [`crate::Error::SendLeaseLost`] once the request was leased again or released.
    fn renew_send_lease(
        &self,
        lease: &SendLease,
        lease_for: Duration,
        now: UnixMillis,
    ) -> Result<SendLease>;

    /// Marks the request of `lease` sealed for `nonce` as `message_id`, storing its envelope
    /// (private) in the same transaction: recorded before anything is sent. A request sealed
    /// before (another nonce) is sealed again; its earlier envelope, never dispatched, is
    /// replaced, and the transaction recorded for it is forgotten (the next one is another).
    ///
    /// This and every write below is fenced by `lease`: it fails with
    /// [`crate::Error::SendLeaseLost`], changing nothing, once the request was leased again
    /// (the lease expired and another dispatcher took it) or released by an outcome.
    fn record_sealed(
        &self,
        lease: &SendLease,
        nonce: u64,
        message_id: MessageId,
        envelope: Option<&NewEnvelope<'_>>,
        now: UnixMillis,
    ) -> Result<()>;

    /// Records `tx_hash` as the transaction the sealed request is being sent in, before it is
    /// broadcast, so a restart can ask the chain about it (a dispatcher whose transaction id
    /// is known in advance: Fabric, FISCO BCOS). The request stays sealed, and leased.
    fn record_submitted(&self, lease: &SendLease, tx_hash: Hash32, now: UnixMillis) -> Result<()>;

    /// Marks the request dispatched in `tx_hash`, clears its payload and releases the lease.
    fn record_dispatched(&self, lease: &SendLease, tx_hash: Hash32, now: UnixMillis) -> Result<()>;

    /// Records a failed attempt with its reason, and releases the lease: `then` says whether
    /// the request is sealed again (accepted; a lost nonce, not counted; leased again at once),
    /// sent again as sealed (counted; only a sealed request, else
    /// [`crate::Error::SendRequestState`]; leased again once its `after` has passed on the
    /// lease clock), or failed for good (counted).
    fn record_send_failure(
        &self,
        lease: &SendLease,
        reason: &str,
        then: AfterFailure,
        now: UnixMillis,
    ) -> Result<()>;

    /// Puts the request of `lease` off for `delay` without counting an attempt, and releases the
    /// lease: `reason` is kept as its error (what it waits for), and no dispatcher leases it
    /// again before then (on the lease clock), so the requests behind it go ahead. Counts the
    /// deferral ([`SendRequest::deferrals`]); [`Holdup::Contended`] starts or continues a
    /// contention episode. Fenced by `lease`, like the writes above; an outcome recorded later
    /// (sealed, dispatched, a failed attempt) clears all of it.
    fn defer_send_request(
        &self,
        lease: &SendLease,
        reason: &str,
        delay: Duration,
        holdup: Holdup,
        now: UnixMillis,
    ) -> Result<()>;

    /// Stores a fetched envelope; `false` if one is already stored for the message (kept).
    fn store_envelope(&self, envelope: &NewEnvelope<'_>, now: UnixMillis) -> Result<bool>;

    /// The envelope of `id`, or `None`.
    fn envelope(&self, id: MessageId) -> Result<Option<EnvelopeRecord>>;

    /// Replaces the envelope of `grant.message_id` with `grant.bytes` and records the grant or
    /// revocation, audited, in one transaction.
    fn record_grant(&self, grant: &NewGrant<'_>) -> Result<GrantRecord>;

    /// The grants and revocations of `id` made through this gateway, oldest first.
    fn grants(&self, id: MessageId) -> Result<Vec<GrantRecord>>;
}
