//! The relayer's error type: one enum for the crate, each variant naming what went wrong and
//! carrying the facts an operator or the calling stage needs to act on it.

use causeway_proofs::{Domain, Hash32, LogSize, MessageId, Nonce};

use crate::store::{DeliveryStateKind, Lane, LeaseOwner};

/// A boxed error from a storage backend (SQLite today, PostgreSQL later).
pub type BackendError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything the relayer and its store can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage backend failed while doing `op`; the transaction was rolled back.
    #[error("store: {op} failed")]
    Backend {
        /// What the store was doing.
        op: &'static str,
        /// The backend's own error.
        #[source]
        source: BackendError,
    },

    /// Another process held the database lock for longer than the configured busy timeout.
    /// Transient: the call changed nothing and may be retried.
    #[error("store: {op} gave up waiting for the database lock (busy)")]
    Busy {
        /// What the store was doing.
        op: &'static str,
    },

    /// The database server could not be reached, or dropped the connection, during `op`
    /// (PostgreSQL down, restarting or out of connections). Transient: the call changed
    /// nothing and may be retried once the server is back.
    #[error("store: {op} failed: the database is unavailable ({reason}); retrying once it is back")]
    Unavailable {
        /// What the store was doing.
        op: &'static str,
        /// What the client saw (never the password).
        reason: String,
    },

    /// The database was written by a newer build (its schema is ahead of the migrations this
    /// build embeds). Refusing to open it, and on PostgreSQL every write of a replica still
    /// running when a newer one migrated it, protects it from being written with old
    /// assumptions.
    #[error(
        "store schema version {found} is newer than this build supports ({supported}): a newer \
         build migrated the database; run that build (upgrade this gateway or replica)"
    )]
    SchemaTooNew {
        /// The highest migration recorded in the database.
        found: u32,
        /// The highest migration this build embeds.
        supported: u32,
    },

    /// A store opened read-only ([`SqliteStore::open_read_only`](crate::store::SqliteStore::open_read_only),
    /// [`PgStore::open_read_only`](crate::store::PgStore::open_read_only)) is at an older schema
    /// than this build reads, and a reader never migrates it.
    #[error(
        "store schema version {found} is older than this build reads ({expected}): start the \
         gateway with this build once (it migrates the store), or read it with the build that \
         wrote it"
    )]
    SchemaTooOld {
        /// The highest migration recorded in the database.
        found: u32,
        /// The schema version this build reads.
        expected: u32,
    },

    /// A stored value could not be decoded: the database was edited by hand or is damaged.
    #[error("store holds a corrupt {what}: {reason}")]
    Corrupt {
        /// Which value.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// A submission handle longer than the store keeps.
    #[error("submission handle of {len} bytes is longer than the {max} bytes the store keeps")]
    HandleTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// A signed transaction longer than the store keeps.
    #[error(
        "signed submission of {len} bytes is longer than the {max} bytes the store keeps; \
         lower the lane's batch size"
    )]
    SignedTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// A value does not fit the store's 63-bit integer columns.
    #[error("{what} {value} exceeds the store's integer range (at most 2^63 - 1)")]
    OutOfRange {
        /// Which value.
        what: &'static str,
        /// The value.
        value: u64,
    },

    /// The origin already emitted a different message under this nonce: two conflicting
    /// messages for one (origin, nonce), which only a faulty or malicious source produces.
    /// Evidence of equivocation; the whole batch was refused.
    #[error(
        "equivocation on origin {origin} nonce {nonce}: stored message {stored}, offered {offered}"
    )]
    Equivocation {
        /// The origin domain.
        origin: Domain,
        /// The nonce used twice.
        nonce: Nonce,
        /// The message already accepted under it.
        stored: MessageId,
        /// The conflicting message.
        offered: MessageId,
    },

    /// A message was offered to another origin's batch (or a checkpoint to another origin's lane).
    #[error("message or checkpoint of origin {actual} offered for origin {expected}")]
    WrongOrigin {
        /// The origin the call was about.
        expected: Domain,
        /// The origin the value names.
        actual: Domain,
    },

    /// An event was observed in a block beyond the cursor its batch advances to: the batch must
    /// cover every event it carries.
    #[error("event {id} from block {block} lies beyond the batch's cursor at block {cursor}")]
    EventBeyondCursor {
        /// The event's message.
        id: MessageId,
        /// The block it was observed in.
        block: u64,
        /// The block the batch advances the cursor to.
        cursor: u64,
    },

    /// A source cursor may only move forward (rollbacks go through `rollback_to`).
    #[error("cursor of origin {origin} at block {stored} cannot move back to block {offered}")]
    CursorRegression {
        /// The origin domain.
        origin: Domain,
        /// The stored cursor's block.
        stored: u64,
        /// The block offered.
        offered: u64,
    },

    /// The same height was offered with another block hash than the stored cursor's: the origin
    /// reorganised at or below a block this store already treats as final.
    #[error(
        "cursor of origin {origin} at block {block}: stored hash {stored}, offered hash {offered}"
    )]
    CursorConflict {
        /// The origin domain.
        origin: Domain,
        /// The block height.
        block: u64,
        /// The stored hash.
        stored: Hash32,
        /// The hash offered.
        offered: Hash32,
    },

    /// `rollback_to` was asked to move a cursor forward.
    #[error("rollback of origin {origin} to block {target} is ahead of its cursor at {stored}")]
    RollbackForward {
        /// The origin domain.
        origin: Domain,
        /// The stored cursor's block.
        stored: u64,
        /// The requested block.
        target: u64,
    },

    /// A rollback would remove events already appended to the origin's log. Accepted events are
    /// final by contract (adapters emit only finalised events) and may already be attested, so
    /// a reorg beneath them means the origin broke its finality rule: an operator must look.
    #[error(
        "cannot roll origin {origin} back to block {target}: leaf {leaf_index} ({id}) from block \
         {block} is already in the log; a log never forgets a message it accepted (it may be \
         attested already): roll back no lower than block {block}, or treat the lost blocks as an \
         incident for the consortium"
    )]
    RollbackBelowFinal {
        /// The origin domain.
        origin: Domain,
        /// The requested block.
        target: u64,
        /// The first logged event above the target.
        id: MessageId,
        /// Its leaf index.
        leaf_index: u64,
        /// Its block.
        block: u64,
    },

    /// A checkpoint for a size this store already holds with another root or hash algorithm.
    #[error("lane {lane}: checkpoint at size {size} has root {stored}, offered {offered}")]
    CheckpointConflict {
        /// The lane.
        lane: Lane,
        /// The log size.
        size: LogSize,
        /// The stored root.
        stored: Hash32,
        /// The conflicting root.
        offered: Hash32,
    },

    /// A checkpoint larger than the log this store holds: the gateway cannot have rebuilt that
    /// root itself, nor build inclusion proofs against it.
    #[error("lane {lane}: checkpoint size {size} exceeds the stored log size {log_size}")]
    CheckpointBeyondLog {
        /// The lane.
        lane: Lane,
        /// The checkpoint's size.
        size: LogSize,
        /// Leaves stored for the origin.
        log_size: LogSize,
    },

    /// No API token has this number.
    #[error("no API token {id} in the store (fix: `causeway token list` shows the tokens)")]
    UnknownToken {
        /// The number asked for.
        id: u64,
    },

    /// No send request has this number.
    #[error("no send request {id} in the store")]
    UnknownSendRequest {
        /// The number asked for.
        id: u64,
    },

    /// No envelope is stored for this message.
    #[error("no envelope for message {id} in the store")]
    UnknownEnvelope {
        /// The message asked for.
        id: MessageId,
    },

    /// A send request cannot move as asked (it is not in the state the step needs).
    #[error("send request {id} is {state}, so it cannot be {action}")]
    SendRequestState {
        /// The request.
        id: u64,
        /// Its state.
        state: String,
        /// What was attempted.
        action: &'static str,
    },

    /// The caller's lease on a send request is gone: it expired and another dispatcher leased
    /// the request (it resumes from what was recorded), or an outcome released it. Nothing was
    /// changed; drop the request (it is someone else's now).
    #[error(
        "send request {id} is no longer leased to {owner} (generation {generation}; holder now: \
         {holder:?}): another dispatcher took it over or it was settled; drop it"
    )]
    SendLeaseLost {
        /// The request.
        id: u64,
        /// Who claimed it.
        owner: LeaseOwner,
        /// The generation it claimed.
        generation: u64,
        /// Who holds it now, if anyone.
        holder: Option<LeaseOwner>,
    },

    /// An API token cannot be recorded as given.
    #[error("invalid API token: {reason}")]
    InvalidToken {
        /// What is wrong (and what is allowed).
        reason: String,
    },

    /// No message with this id was ever accepted.
    #[error("no message {id} in the store")]
    UnknownMessage {
        /// The id asked for.
        id: MessageId,
    },

    /// The message's delivery is not in a state that allows `action`.
    #[error("cannot {action} message {id}: its delivery is {state}")]
    InvalidTransition {
        /// The message.
        id: MessageId,
        /// What was attempted.
        action: &'static str,
        /// Its current state.
        state: DeliveryStateKind,
    },

    /// The caller's lease on the message is gone (it expired and another instance took it, or
    /// the message moved on). Nothing was changed; drop the message from the batch.
    #[error("lease on message {id} is not held by {owner} (holder: {holder:?}, state {state})")]
    LeaseLost {
        /// The message.
        id: MessageId,
        /// Who claimed it.
        owner: LeaseOwner,
        /// Who holds it now, if anyone.
        holder: Option<LeaseOwner>,
        /// Its current state.
        state: DeliveryStateKind,
    },

    /// An operator's tool holds the store for maintenance (`causeway store rollback`): no
    /// instance starts until it is done.
    #[error(
        "the store {store} is held for maintenance (causeway store rollback is running): start \
         the gateway once it has finished"
    )]
    StoreInMaintenance {
        /// The store (its file).
        store: String,
    },

    /// Instances run on the store, so an operator's tool that must run alone does not.
    #[error(
        "a gateway is running on {store} (instances: {owners}): stop it first, then run this again"
    )]
    StoreInUse {
        /// The store (its file).
        store: String,
        /// The running instances' names, comma-separated.
        owners: String,
    },

    /// Another live instance runs under this instance's name on the same store. Two instances
    /// with one name would each take the other's submissions for its own.
    #[error(
        "another relayer instance named {owner} is running on the store {store}: give this one \
         another name (or stop the other)"
    )]
    OwnerInUse {
        /// The name.
        owner: LeaseOwner,
        /// The store (its file).
        store: String,
    },

    /// A chain adapter failed while the pipeline was doing `op` (added for the pipeline).
    #[error("pipeline: {op} failed")]
    Chain {
        /// What the pipeline was doing.
        op: &'static str,
        /// The adapter's error.
        #[source]
        source: causeway_adapters::Error,
    },

    /// A proof or checkpoint operation failed while the pipeline was doing `op`.
    #[error("pipeline: {op} failed")]
    Proof {
        /// What the pipeline was doing.
        op: &'static str,
        /// The proofs crate's error.
        #[source]
        source: causeway_proofs::Error,
    },

    /// The relayer's configuration is unusable (checked when it is spawned).
    #[error("relayer configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },

    /// A blocking store call's worker thread panicked or was cancelled.
    #[error("pipeline: blocking task for {op} did not finish")]
    TaskFailed {
        /// What the task was doing.
        op: &'static str,
    },

    /// A crash injected by a test failpoint: the write ran but was never committed.
    #[cfg(feature = "failpoints")]
    #[error("injected crash before commit during {op}")]
    InjectedCrash {
        /// What the store was doing.
        op: &'static str,
    },
}

impl Error {
    /// Whether a reader (which never migrates) can read a store at schema `found` with a build
    /// that reads `latest`: the same check for both backends' read-only opens.
    pub(crate) fn check_read_only_schema(found: u32, latest: u32) -> Result<(), Error> {
        match found.cmp(&latest) {
            core::cmp::Ordering::Greater => Err(Error::SchemaTooNew {
                found,
                supported: latest,
            }),
            core::cmp::Ordering::Less => Err(Error::SchemaTooOld {
                found,
                expected: latest,
            }),
            core::cmp::Ordering::Equal => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    /// A cause is printed once: the message names the step, `source()` carries the cause, so
    /// `{err:#}` and tracing's `error.sources` show it exactly once.
    #[test]
    fn a_wrapped_cause_is_returned_not_repeated_in_the_message() {
        let err = Error::Backend {
            op: "lease",
            source: "disk I/O error".into(),
        };
        assert_eq!(err.to_string(), "store: lease failed");
        assert_eq!(
            err.source().map(ToString::to_string).as_deref(),
            Some("disk I/O error")
        );
    }
}
