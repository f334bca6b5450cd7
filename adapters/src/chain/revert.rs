//! [`RevertReason`]: why a destination refused a delivery, in the protocol's own error names.

use core::fmt;

use causeway_proofs::{Domain, Hash32, MessageId};
use serde::{Deserialize, Serialize};

/// Why a destination refused a transaction. The named variants are Causeway's protocol errors
/// (the custom errors of the Solidity Inbox and Anchor, which the other families' destinations
/// reuse); the others cover what any contract may do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "error")]
#[non_exhaustive]
pub enum RevertReason {
    /// A checkpoint with a zero root.
    ZeroRoot,
    /// A message whose origin is not the checkpoint's origin.
    WrongDomain {
        /// The checkpoint's origin.
        expected: Domain,
        /// The message's origin.
        actual: Domain,
    },
    /// A message for another destination.
    WrongDestination {
        /// The destination's own domain.
        expected: Domain,
        /// The message's destination.
        actual: Domain,
    },
    /// A signature from an address outside the validator set.
    UnknownValidator {
        /// The recovered signer, 0x-hex.
        signer: String,
    },
    /// The same validator twice.
    DuplicateSigner {
        /// The repeated signer, 0x-hex.
        signer: String,
    },
    /// Signers not strictly ascending.
    SignersNotAscending {
        /// Position of the offending signature.
        position: u64,
    },
    /// A malleable (high-s) signature.
    HighS {
        /// Position of the offending signature.
        position: u64,
    },
    /// A signature that does not recover.
    InvalidSignature {
        /// Position of the offending signature.
        position: u64,
    },
    /// Fewer valid distinct signatures than the threshold.
    BelowThreshold {
        /// Valid distinct signatures.
        valid: u64,
        /// Required.
        threshold: u64,
    },
    /// An inclusion proof that does not lead to the checkpoint's root.
    InvalidProof,
    /// The message was already delivered (the replay guard).
    AlreadyDelivered {
        /// Its id.
        id: MessageId,
    },
    /// A recipient the destination never calls (itself, its admin, a denied target).
    ForbiddenRecipient {
        /// The recipient, 0x-hex.
        recipient: String,
    },
    /// Deliveries from this origin are paused.
    Paused {
        /// The paused origin.
        origin: Domain,
    },
    /// An admin function called by someone else.
    NotAdmin,
    /// A validator set the destination refuses.
    InvalidValidatorSet {
        /// Its reason.
        reason: String,
    },
    /// A message version the destination does not speak.
    UnsupportedVersion {
        /// The version.
        version: u8,
    },
    /// A log hash algorithm the destination does not support.
    UnsupportedHash {
        /// The algorithm id.
        hash_algorithm: u8,
    },
    /// An anchored checkpoint not consistent with the previous one.
    InconsistentCheckpoint,
    /// An anchored checkpoint older than the last one.
    StaleCheckpoint {
        /// The last anchored size.
        last: u64,
        /// The refused size.
        got: u64,
    },
    /// `retry` of a message that is not recorded as failed.
    NotFailed {
        /// Its id.
        id: MessageId,
    },
    /// A contract deployed or handed over to the zero address as admin.
    ZeroAdmin,
    /// Message bytes shorter than the header.
    MessageTooShort,
    /// A message body over the limit.
    BodyTooLarge,
    /// `Outbox.dispatchAt`: the next nonce is `actual`, not the `expected` one the message was
    /// sealed for (another dispatch took it first).
    NonceTaken {
        /// The nonce the dispatch named.
        expected: u64,
        /// The Outbox's next nonce.
        actual: u64,
    },
    /// Not enough gas left to give the recipient its full budget.
    InsufficientGas {
        /// Gas left.
        available: u64,
        /// Gas required.
        required: u64,
    },
    /// No validator set is configured for this origin.
    UnknownOrigin {
        /// The origin.
        origin: Domain,
    },
    /// The admin tried to replace an origin's validator set after its bootstrap.
    AlreadyConfigured {
        /// The origin.
        origin: Domain,
    },
    /// A validator-set change is already pending for this origin.
    ChangePending {
        /// The origin.
        origin: Domain,
        /// The pending change's epoch.
        epoch: u64,
    },
    /// No validator-set change is pending for this origin.
    NoPendingChange {
        /// The origin.
        origin: Domain,
    },
    /// A pending validator-set change applied before its delay ended.
    ChangeNotReady {
        /// When it becomes applicable (unix seconds).
        executable_at: u64,
        /// The block's time.
        now: u64,
    },
    /// A proposed validator-set change names another epoch than the next unused one.
    WrongEpoch {
        /// The epoch it must name.
        expected: u64,
        /// The epoch it named.
        actual: u64,
    },
    /// A pause by an account that is neither a current validator of the origin nor the admin.
    NotValidator {
        /// The account.
        account: String,
    },
    /// `unpause` of an origin that is not paused.
    NotPaused {
        /// The origin.
        origin: Domain,
    },
    /// A rate limit with a message count but no window, or the reverse.
    InvalidRateLimit,
    /// A signed checkpoint whose root differs from the root the destination already accepted
    /// for the same origin and log size: the validators' threshold equivocated.
    ConflictingCheckpoint {
        /// The origin.
        origin: Domain,
        /// The log size.
        size: u64,
        /// The root accepted first.
        known: Hash32,
        /// The conflicting root offered.
        offered: Hash32,
    },
    /// The transaction ran out of gas.
    OutOfGas,
    /// A plain `Error(string)` revert.
    Message {
        /// Its text.
        message: String,
    },
    /// A Solidity `Panic(uint256)` (assertion, overflow, ...).
    Panic {
        /// The panic code.
        code: u64,
    },
    /// Revert data this adapter cannot name (hex), or none at all.
    Unknown {
        /// The raw revert data, 0x-hex (may be "0x").
        data: String,
    },
}

impl RevertReason {
    /// Whether the reason can come from one message of a batch rather than from what the
    /// whole batch shares (its checkpoint, signatures, lane): a batch that reverts for such a
    /// reason is worth cutting in halves to find the message behind it, so that only that
    /// message waits. Reasons no contract of ours names (a panic, a string, nothing) count as
    /// possibly one message's.
    pub fn may_be_one_message(&self) -> bool {
        matches!(
            self,
            RevertReason::WrongDomain { .. }
                | RevertReason::WrongDestination { .. }
                | RevertReason::InvalidProof
                | RevertReason::AlreadyDelivered { .. }
                | RevertReason::ForbiddenRecipient { .. }
                | RevertReason::UnsupportedVersion { .. }
                | RevertReason::MessageTooShort
                | RevertReason::BodyTooLarge
                | RevertReason::InsufficientGas { .. }
                | RevertReason::OutOfGas
                | RevertReason::Message { .. }
                | RevertReason::Panic { .. }
                | RevertReason::Unknown { .. }
        )
    }

    /// A short, stable name (the Solidity error name, snake case), e.g. for metric labels.
    pub fn name(&self) -> &'static str {
        match self {
            RevertReason::ZeroRoot => "zero_root",
            RevertReason::WrongDomain { .. } => "wrong_domain",
            RevertReason::WrongDestination { .. } => "wrong_destination",
            RevertReason::UnknownValidator { .. } => "unknown_validator",
            RevertReason::DuplicateSigner { .. } => "duplicate_signer",
            RevertReason::SignersNotAscending { .. } => "signers_not_ascending",
            RevertReason::HighS { .. } => "high_s",
            RevertReason::InvalidSignature { .. } => "invalid_signature",
            RevertReason::BelowThreshold { .. } => "below_threshold",
            RevertReason::InvalidProof => "invalid_proof",
            RevertReason::AlreadyDelivered { .. } => "already_delivered",
            RevertReason::ForbiddenRecipient { .. } => "forbidden_recipient",
            RevertReason::Paused { .. } => "paused",
            RevertReason::NotAdmin => "not_admin",
            RevertReason::InvalidValidatorSet { .. } => "invalid_validator_set",
            RevertReason::UnsupportedVersion { .. } => "unsupported_version",
            RevertReason::UnsupportedHash { .. } => "unsupported_hash",
            RevertReason::InconsistentCheckpoint => "inconsistent_checkpoint",
            RevertReason::StaleCheckpoint { .. } => "stale_checkpoint",
            RevertReason::NotFailed { .. } => "not_failed",
            RevertReason::ZeroAdmin => "zero_admin",
            RevertReason::MessageTooShort => "message_too_short",
            RevertReason::BodyTooLarge => "body_too_large",
            RevertReason::NonceTaken { .. } => "nonce_taken",
            RevertReason::InsufficientGas { .. } => "insufficient_gas",
            RevertReason::UnknownOrigin { .. } => "unknown_origin",
            RevertReason::AlreadyConfigured { .. } => "already_configured",
            RevertReason::ChangePending { .. } => "change_pending",
            RevertReason::NoPendingChange { .. } => "no_pending_change",
            RevertReason::ChangeNotReady { .. } => "change_not_ready",
            RevertReason::WrongEpoch { .. } => "wrong_epoch",
            RevertReason::NotValidator { .. } => "not_validator",
            RevertReason::NotPaused { .. } => "not_paused",
            RevertReason::InvalidRateLimit => "invalid_rate_limit",
            RevertReason::ConflictingCheckpoint { .. } => "conflicting_checkpoint",
            RevertReason::OutOfGas => "out_of_gas",
            RevertReason::Message { .. } => "message",
            RevertReason::Panic { .. } => "panic",
            RevertReason::Unknown { .. } => "unknown",
        }
    }

    /// Whether sending the same batch again later could succeed without changing it: a paused
    /// origin, too little gas, or a revert the adapter cannot name. Proof, signature, domain and
    /// replay errors are permanent for that batch.
    pub fn may_succeed_later(&self) -> bool {
        matches!(
            self,
            RevertReason::Paused { .. }
                | RevertReason::InsufficientGas { .. }
                | RevertReason::OutOfGas
                | RevertReason::UnknownOrigin { .. }
                | RevertReason::Unknown { .. }
        )
    }
}

impl fmt::Display for RevertReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RevertReason::WrongDomain { expected, actual } => {
                write!(f, "WrongDomain(expected {expected}, actual {actual})")
            }
            RevertReason::WrongDestination { expected, actual } => {
                write!(f, "WrongDestination(expected {expected}, actual {actual})")
            }
            RevertReason::UnknownValidator { signer } => write!(f, "UnknownValidator({signer})"),
            RevertReason::DuplicateSigner { signer } => write!(f, "DuplicateSigner({signer})"),
            RevertReason::SignersNotAscending { position } => {
                write!(f, "SignersNotAscending({position})")
            }
            RevertReason::HighS { position } => write!(f, "HighS({position})"),
            RevertReason::InvalidSignature { position } => {
                write!(f, "InvalidSignature({position})")
            }
            RevertReason::BelowThreshold { valid, threshold } => {
                write!(f, "BelowThreshold(valid {valid}, threshold {threshold})")
            }
            RevertReason::AlreadyDelivered { id } => write!(f, "AlreadyDelivered({id})"),
            RevertReason::ForbiddenRecipient { recipient } => {
                write!(f, "ForbiddenRecipient({recipient})")
            }
            RevertReason::Paused { origin } => write!(f, "Paused({origin})"),
            RevertReason::InvalidValidatorSet { reason } => {
                write!(f, "InvalidValidatorSet({reason:?})")
            }
            RevertReason::UnsupportedVersion { version } => {
                write!(f, "UnsupportedVersion({version})")
            }
            RevertReason::UnsupportedHash { hash_algorithm } => {
                write!(f, "UnsupportedHash({hash_algorithm})")
            }
            RevertReason::StaleCheckpoint { last, got } => {
                write!(f, "StaleCheckpoint(last {last}, got {got})")
            }
            RevertReason::NotFailed { id } => write!(f, "NotFailed({id})"),
            RevertReason::InsufficientGas {
                available,
                required,
            } => write!(
                f,
                "InsufficientGas(available {available}, required {required})"
            ),
            RevertReason::UnknownOrigin { origin } => write!(f, "UnknownOrigin({origin})"),
            RevertReason::AlreadyConfigured { origin } => write!(f, "AlreadyConfigured({origin})"),
            RevertReason::ChangePending { origin, epoch } => {
                write!(f, "ChangePending({origin}, epoch {epoch})")
            }
            RevertReason::NoPendingChange { origin } => write!(f, "NoPendingChange({origin})"),
            RevertReason::ChangeNotReady { executable_at, now } => {
                write!(
                    f,
                    "ChangeNotReady(executable at {executable_at}, now {now})"
                )
            }
            RevertReason::WrongEpoch { expected, actual } => {
                write!(f, "WrongEpoch(expected {expected}, got {actual})")
            }
            RevertReason::NotValidator { account } => write!(f, "NotValidator({account})"),
            RevertReason::NotPaused { origin } => write!(f, "NotPaused({origin})"),
            RevertReason::InvalidRateLimit => f.write_str("InvalidRateLimit"),
            RevertReason::ConflictingCheckpoint {
                origin,
                size,
                known,
                offered,
            } => write!(
                f,
                "ConflictingCheckpoint({origin}, size {size}, known {known}, offered {offered})"
            ),
            RevertReason::Message { message } => write!(f, "Error({message:?})"),
            RevertReason::Panic { code } => write!(f, "Panic(0x{code:02x})"),
            RevertReason::Unknown { data } => write!(f, "unknown revert data {data}"),
            RevertReason::ZeroRoot => f.write_str("ZeroRoot"),
            RevertReason::InvalidProof => f.write_str("InvalidProof"),
            RevertReason::NotAdmin => f.write_str("NotAdmin"),
            RevertReason::InconsistentCheckpoint => f.write_str("InconsistentCheckpoint"),
            RevertReason::ZeroAdmin => f.write_str("ZeroAdmin"),
            RevertReason::MessageTooShort => f.write_str("MessageTooShort"),
            RevertReason::BodyTooLarge => f.write_str("BodyTooLarge"),
            RevertReason::NonceTaken { expected, actual } => {
                write!(f, "NonceTaken(expected {expected}, actual {actual})")
            }
            RevertReason::OutOfGas => f.write_str("out of gas"),
        }
    }
}
