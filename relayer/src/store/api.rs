//! What the `/v1` HTTP API keeps in the store beside the pipeline's state: every message's
//! status history (the event stream's source), the API's bearer tokens (hashes only) and the
//! audit trail of writes ([`ApiStore`]).

use core::fmt;

use causeway_proofs::{Address32, Domain, MessageId};

use super::{DeliveryStateKind, Lane, Result, UnixMillis};

/// What a bearer token may do. The set is fixed: a token's scopes are stored by these names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// Read chains, messages, proofs and the event stream.
    Read,
    /// Send messages.
    Send,
    /// Decrypt private payloads for this organisation.
    Decrypt,
    /// Operator actions (retry a dead letter).
    Admin,
}

impl Scope {
    /// Every scope, in a fixed order.
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Send, Scope::Decrypt, Scope::Admin];

    /// The scope's name (`read`, `send`, `decrypt`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Send => "send",
            Scope::Decrypt => "decrypt",
            Scope::Admin => "admin",
        }
    }

    /// The scope named `name`, or `None`.
    pub fn from_name(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token's number in the store (shown by `causeway token list`, used to revoke it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenId(pub u64);

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A token to record ([`ApiStore::create_token`]).
#[derive(Clone, Copy, Debug)]
pub struct NewToken<'a> {
    /// A name for people (1 to 64 bytes).
    pub name: &'a str,
    /// SHA-256 of the secret (the secret itself is never stored).
    pub hash: [u8; 32],
    /// What it may do (at least one).
    pub scopes: &'a [Scope],
    /// When it stops working, if ever.
    pub expires_at: Option<UnixMillis>,
    /// Who creates it (for the audit trail).
    pub actor: &'a str,
    /// Now.
    pub now: UnixMillis,
}

/// A stored token (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// Its number.
    pub id: TokenId,
    /// Its name.
    pub name: String,
    /// SHA-256 of its secret.
    pub hash: [u8; 32],
    /// What it may do, sorted.
    pub scopes: Vec<Scope>,
    /// When it was created.
    pub created_at: UnixMillis,
    /// When it stops working, if ever.
    pub expires_at: Option<UnixMillis>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<UnixMillis>,
}

impl TokenRecord {
    /// Whether it authenticates a request at `now`: not revoked and not expired.
    pub fn is_live(&self, now: UnixMillis) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// One audited write: who did what to which object, when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Its place in the trail (grows).
    pub seq: u64,
    /// Who (`token:<id>:<name>` for the API, `cli` for `causeway token`).
    pub actor: String,
    /// What (`token.create`, `token.revoke`, `message.retry`).
    pub action: String,
    /// On what (a token id, a message id).
    pub target: String,
    /// When.
    pub at: UnixMillis,
}

/// A status a message went through, as the API names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageStatus {
    /// Accepted from its final origin block and appended to the origin's log.
    Logged,
    /// Taken by a relayer instance for delivery.
    Leased,
    /// Sent to its destination in a transaction not yet final.
    Submitted,
    /// Delivered in a final destination block.
    Confirmed,
    /// An attempt failed (the reason says why); it will be tried again.
    Failed,
    /// An operator sent the dead letter back to pending.
    Retried,
    /// Given up after the maximum attempts (the reason is the last failure).
    DeadLettered,
}

impl MessageStatus {
    /// Every status.
    pub const ALL: [MessageStatus; 7] = [
        MessageStatus::Logged,
        MessageStatus::Leased,
        MessageStatus::Submitted,
        MessageStatus::Confirmed,
        MessageStatus::Failed,
        MessageStatus::Retried,
        MessageStatus::DeadLettered,
    ];

    /// Its name (`logged`, …, `dead_lettered`), as stored and as the API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Logged => "logged",
            MessageStatus::Leased => "leased",
            MessageStatus::Submitted => "submitted",
            MessageStatus::Confirmed => "confirmed",
            MessageStatus::Failed => "failed",
            MessageStatus::Retried => "retried",
            MessageStatus::DeadLettered => "dead_lettered",
        }
    }

    /// The status named `name`, or `None`.
    pub fn from_name(name: &str) -> Option<MessageStatus> {
        MessageStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// One status change of one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusEvent {
    /// Its place in the store's sequence of events (grows; the event stream's id).
    pub seq: u64,
    /// The message.
    pub id: MessageId,
    /// Its lane.
    pub lane: Lane,
    /// What happened.
    pub status: MessageStatus,
    /// Why, for `failed` and `dead_lettered`.
    pub reason: Option<String>,
    /// When.
    pub at: UnixMillis,
}

/// A search of the stored messages ([`ApiStore::search_messages`]). Every field set narrows
/// it; results come in (accepted_at, id) order.
#[derive(Clone, Copy, Debug, Default)]
pub struct MessageFilter {
    /// Only messages from this origin.
    pub origin: Option<Domain>,
    /// Only messages to this destination.
    pub destination: Option<Domain>,
    /// Only messages from this sender.
    pub sender: Option<Address32>,
    /// Only messages whose delivery is in this state now.
    pub state: Option<DeliveryStateKind>,
    /// Only messages accepted at or after this time.
    pub since: Option<UnixMillis>,
    /// Only messages accepted before this time.
    pub until: Option<UnixMillis>,
    /// Only messages after this (accepted_at, id) (the previous page's last; keyset paging).
    pub after: Option<(UnixMillis, MessageId)>,
    /// At most this many (the store caps it at [`MessageFilter::MAX_LIMIT`]).
    pub limit: usize,
}

impl MessageFilter {
    /// The largest page a search returns.
    pub const MAX_LIMIT: usize = 1000;
}

/// One message found by [`ApiStore::search_messages`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageSummary {
    /// The message.
    pub id: MessageId,
    /// Its lane.
    pub lane: Lane,
    /// Its sender.
    pub sender: Address32,
    /// Its delivery state now.
    pub state: DeliveryStateKind,
    /// When it was accepted.
    pub accepted_at: UnixMillis,
}

/// What `GET /v1/messages/{id}` reads ([`ApiStore::message_readout`]): the presented
/// credential's token, the message, its status history and the latest checkpoint of its lane
/// signed by the lane's threshold.
#[derive(Clone, Copy)]
pub struct MessageRead<'a> {
    /// The hash of the request's credential (a bearer token's or a client certificate's).
    pub credential: &'a [u8; 32],
    /// The message.
    pub id: MessageId,
    /// The checkpoint threshold of a lane the caller serves (`None`: no checkpoint is read for
    /// the message's lane).
    pub threshold: &'a (dyn Fn(Lane) -> Option<usize> + Sync),
    /// Whether the read may wait for the store's connection.
    pub wait: ReadWait,
}

impl fmt::Debug for MessageRead<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageRead")
            .field("credential", &"<redacted>")
            .field("id", &self.id)
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

/// Whether a read may wait for the store's connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadWait {
    /// Wait for it (on a thread that may block).
    Block,
    /// Only if it is idle now: a caller on an async runtime reads at once or not at all.
    IfIdle,
}

/// What [`MessageRead`] found, read in one transaction (one snapshot). Nothing but the token
/// is read when no token has the credential's hash.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageReadout {
    /// The token the credential names, if any (its liveness and scopes are the caller's to
    /// check).
    pub token: Option<TokenRecord>,
    /// The message, if known.
    pub message: Option<super::MessageRecord>,
    /// Its status changes, oldest first.
    pub history: Vec<StatusEvent>,
    /// The latest checkpoint of its lane signed by the lane's threshold, when the lane is
    /// served (whether it covers the message is the caller's to check).
    pub checkpoint: Option<super::StoredCheckpoint>,
}

/// The API's records: tokens, audit trail, status history and search.
pub trait ApiStore: Send + Sync {
    /// `read`'s reads in one transaction, when this store offers that (`None`: it does not,
    /// and the caller makes the single reads; with [`ReadWait::IfIdle`], also `None` when the
    /// connection is in use). The API's most frequent request: one connection lock and one
    /// snapshot instead of four.
    fn message_readout(&self, read: &MessageRead<'_>) -> Option<Result<MessageReadout>> {
        let _ = read;
        None
    }

    /// Records a token and audits its creation, in one transaction; returns its number. Fails
    /// with [`Error::InvalidToken`](crate::Error::InvalidToken) for an empty or over-long name
    /// or no scope, storing nothing.
    fn create_token(&self, token: &NewToken<'_>) -> Result<TokenId>;

    /// Revokes token `id` and audits it, in one transaction. Fails with
    /// [`Error::UnknownToken`](crate::Error::UnknownToken) if there is no such token; revoking a
    /// revoked token changes nothing (and is not audited again).
    fn revoke_token(&self, id: TokenId, actor: &str, now: UnixMillis) -> Result<()>;

    /// Every token, oldest first.
    fn tokens(&self) -> Result<Vec<TokenRecord>>;

    /// The token whose secret hashes to `hash`, or `None`.
    fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>>;

    /// [`DeliveryStore::retry_dead_letter`](super::DeliveryStore::retry_dead_letter) and its
    /// audit row, in one transaction: a refused retry writes nothing.
    fn retry_dead_letter_as(&self, id: MessageId, actor: &str, now: UnixMillis) -> Result<()>;

    /// Appends one audit row: `actor` did `action` (e.g. `envelope.decrypt`) on `target` at
    /// `now`, for acts that write nothing else to the store (a decryption). The caller writes
    /// it before it acts, and does not act when it fails.
    fn audit(&self, actor: &str, action: &str, target: &str, now: UnixMillis) -> Result<()>;

    /// Up to `limit` audit rows after `after` (0: from the start), oldest first.
    fn audit_trail(&self, after: u64, limit: usize) -> Result<Vec<AuditRecord>>;

    /// Every status change of message `id`, oldest first (empty for an unknown message).
    fn message_history(&self, id: MessageId) -> Result<Vec<StatusEvent>>;

    /// Up to `limit` status changes of any message with a sequence number above `after`, in
    /// sequence order.
    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<StatusEvent>>;

    /// The highest sequence number of a status change (0 before the first).
    fn last_event_seq(&self) -> Result<u64>;

    /// The messages `filter` selects, in (accepted_at, id) order, at most `filter.limit`
    /// (capped at [`MessageFilter::MAX_LIMIT`]).
    fn search_messages(&self, filter: &MessageFilter) -> Result<Vec<MessageSummary>>;
}
