//! Why a Fabric block, identity or signature was refused. Every variant fails closed: a block or
//! endorsement the adapter cannot fully check is never treated as proven.

use std::time::SystemTime;

/// Why Fabric data failed to decode or verify.
///
/// Kept beside the crate's [`crate::Error`] because these checks are Fabric's alone; the
/// adapters convert it into their own error at their boundary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FabricError {
    /// Bytes that should hold a protobuf message do not decode as one. prost's reason is the
    /// [`source`](std::error::Error::source), not part of the message (printed once by `{:#}`).
    #[error("cannot decode {what}")]
    Decode {
        /// Which message was being decoded, e.g. "common.Envelope of transaction 2".
        what: String,
        /// prost's error.
        #[source]
        source: prost::DecodeError,
    },
    /// A message lacks a field Fabric always sets.
    #[error("{what} is missing")]
    MissingField {
        /// The missing field, e.g. "common.Block.header".
        what: &'static str,
    },
    /// The block's `data_hash` is not SHA-256 of the concatenated data entries.
    #[error("block {number}: data_hash {claimed} does not match the data ({computed})")]
    DataHashMismatch {
        /// Block number.
        number: u64,
        /// Hex of the header's `data_hash`.
        claimed: String,
        /// Hex of SHA-256 over the data entries.
        computed: String,
    },
    /// A block's `previous_hash` is not the header hash of the block before it.
    #[error("block {number}: previous_hash {claimed} is not the previous header hash {computed}")]
    BrokenHashChain {
        /// Number of the block whose link is wrong.
        number: u64,
        /// Hex of its `previous_hash`.
        claimed: String,
        /// Hex of the previous block's header hash.
        computed: String,
    },
    /// Two blocks given as a chain are not consecutive.
    #[error("block {next} does not follow block {previous}")]
    NotConsecutive {
        /// Number of the earlier block.
        previous: u64,
        /// Number of the block after it.
        next: u64,
    },
    /// The block has no TRANSACTIONS_FILTER entry per transaction (one byte each).
    #[error(
        "block {number}: transactions filter has {filter} entries for {transactions} transactions"
    )]
    TransactionsFilterLength {
        /// Block number.
        number: u64,
        /// Number of data entries.
        transactions: usize,
        /// Length of the filter.
        filter: usize,
    },
    /// A transaction whose validation code is not VALID, where only VALID ones may be used.
    #[error("transaction {tx_id} has validation code {code}, not VALID")]
    NotValid {
        /// The transaction id.
        tx_id: String,
        /// The committer's validation code.
        code: crate::fabric::ValidationCode,
    },
    /// The valid endorsements of an action do not satisfy the endorsement policy.
    #[error("endorsement policy {policy} not satisfied: valid endorsements from {endorsed_by:?}")]
    PolicyNotSatisfied {
        /// The policy, e.g. "2 of [Org1MSP, Org2MSP]".
        policy: String,
        /// The MSPs with at least one valid endorsement.
        endorsed_by: Vec<String>,
    },
    /// No signature in the block's SIGNATURES metadata is a valid one by a trusted orderer.
    #[error("block {number} has no valid orderer signature ({signatures} present)")]
    NoValidOrdererSignature {
        /// Block number.
        number: u64,
        /// How many signatures the metadata held.
        signatures: usize,
    },
    /// A channel header's tx id is not hex(SHA-256(nonce || creator)).
    #[error("transaction id {claimed} is not derived from its nonce and creator ({computed})")]
    TxIdMismatch {
        /// The channel header's tx id.
        claimed: String,
        /// The id derived from the signature header.
        computed: String,
    },
    /// An identity's certificate is not PEM/DER X.509, or has a key that is not P-256.
    #[error("bad certificate of {mspid}: {reason}")]
    BadCertificate {
        /// The MSP the identity claims.
        mspid: String,
        /// What is wrong.
        reason: String,
    },
    /// An identity claims an MSP that is not configured.
    #[error("unknown MSP {mspid}")]
    UnknownMsp {
        /// The MSP id.
        mspid: String,
    },
    /// No configured root of the identity's MSP issued (and validly signed) its certificate.
    #[error("certificate of {mspid} is not issued by any of its MSP's root CAs")]
    UntrustedCertificate {
        /// The MSP id.
        mspid: String,
    },
    /// A certificate (of the identity or of its root) is not valid at the given time.
    #[error("certificate {subject} is not valid at {at:?} (valid {not_before:?} to {not_after:?})")]
    CertificateNotValidAt {
        /// The certificate's subject.
        subject: String,
        /// Start of its validity.
        not_before: SystemTime,
        /// End of its validity.
        not_after: SystemTime,
        /// The time it was checked at.
        at: SystemTime,
    },
    /// A certificate's key usage or basic constraints forbid the use it is put to.
    #[error("certificate {subject} may not be used for {usage}")]
    UsageNotAllowed {
        /// The certificate's subject.
        subject: String,
        /// The refused use, e.g. "signing certificates" or "an identity (it is a CA)".
        usage: &'static str,
    },
    /// A certificate (of an identity or a root) with a critical extension the verifier does
    /// not process: RFC 5280 and Go's x509 (so Fabric) refuse it.
    #[error(
        "certificate {subject} has critical extension {oid}, which Causeway does not process: refused, as Fabric refuses it"
    )]
    UnknownCriticalExtension {
        /// The certificate's subject.
        subject: String,
        /// The extension's object identifier.
        oid: String,
    },
    /// An identity whose NodeOU role cannot be told: several role OUs, or an OU that is not a
    /// readable string. Fabric refuses such an identity whatever it is used for.
    #[error("identity {subject} of {mspid} is refused: {reason}")]
    RoleRefused {
        /// The MSP id.
        mspid: String,
        /// The certificate's subject.
        subject: String,
        /// What is wrong with its organisational units.
        reason: String,
    },
    /// A trusted identity that does not play the role its use requires (e.g. a client
    /// certificate as an endorsement, where policies name `Org.peer`).
    #[error(
        "identity {subject} of {mspid} does not have the {required} role (its NodeOU role: {})",
        found.map_or_else(|| "none".to_owned(), |r| r.to_string())
    )]
    RoleNotAllowed {
        /// The MSP id.
        mspid: String,
        /// The certificate's subject.
        subject: String,
        /// The role required.
        required: crate::fabric::identity::MspRole,
        /// The role its certificate names, if exactly one.
        found: Option<crate::fabric::identity::MspRole>,
    },
    /// A transaction creator whose NodeOU role may not create transactions (an orderer, or no
    /// role where the organisations use NodeOUs).
    #[error(
        "identity {subject} of {mspid} may not create transactions: a creator must be a client, an admin or a peer (its NodeOU role: {})",
        found.map_or_else(|| "none".to_owned(), |r| r.to_string())
    )]
    CreatorRoleNotAllowed {
        /// The MSP id.
        mspid: String,
        /// The certificate's subject.
        subject: String,
        /// The role its certificate names, if exactly one.
        found: Option<crate::fabric::identity::MspRole>,
    },
    /// A block signature by a trusted orderer that is not one of the configured consenters:
    /// it does not count toward the block's quorum.
    #[error(
        "orderer {subject} of {mspid} is not one of the configured consenters: its signature does not count"
    )]
    NotAConsenter {
        /// The MSP id.
        mspid: String,
        /// The certificate's subject.
        subject: String,
    },
    /// An endorsed action's `proposal_hash` is not the hash of the proposal the transaction
    /// carries: the endorsements were made for another proposal.
    #[error(
        "transaction {tx_id}: the endorsed proposal hash {claimed} is not the hash of its proposal ({computed})"
    )]
    ProposalHashMismatch {
        /// The transaction id.
        tx_id: String,
        /// Hex of `ProposalResponsePayload.proposal_hash`.
        claimed: String,
        /// Hex of the hash of the channel header, action header and proposal payload.
        computed: String,
    },
    /// The prepared transaction a gateway returned from Endorse is not the endorser
    /// transaction of the proposal we sent: signing it would put our signature on another
    /// transaction, so it is refused unsigned.
    #[error(
        "the prepared transaction for {tx_id} differs from our proposal in its {part}: refused unsigned"
    )]
    PreparedTransactionMismatch {
        /// The id of the transaction we proposed.
        tx_id: String,
        /// What differs, e.g. "signature header (creator or nonce)".
        part: &'static str,
    },
    /// A signature is not a DER ECDSA signature with 0 < r, s < n.
    #[error("signature is not a DER-encoded ECDSA P-256 signature")]
    MalformedSignature,
    /// A signature with s > n/2: Fabric's peers refuse these (malleability).
    #[error("signature has a high S value, which Fabric refuses")]
    HighS,
    /// A signature that does not verify under the signer's key.
    #[error("signature does not verify")]
    BadSignature,
    /// An endorsed read whose proposal is dated too far from the time it is checked at: an
    /// old result replayed, or a proposal dated ahead to outlive its state.
    #[error(
        "the read was proposed at {proposed_at:?}, more than {max_age:?} from {at:?}: too old (or dated ahead) to stand for the current state"
    )]
    StaleRead {
        /// The proposal's `ChannelHeader.timestamp`.
        proposed_at: SystemTime,
        /// The time of the check.
        at: SystemTime,
        /// The largest distance allowed between the two.
        max_age: std::time::Duration,
    },
    /// A native proof that does not prove what it claims (its block, transaction or event is
    /// not the one its source reference names).
    #[error("{reason}")]
    InvalidProof {
        /// What failed.
        reason: String,
    },
    /// A `causeway.Dispatch` event emitted by another chaincode than the configured outbox (a
    /// look-alike): sources ignore it, verifiers refuse a proof of it.
    #[error("event emitted by {emitter}, not by the configured outbox {expected}")]
    ForeignEmitter {
        /// Who emitted it, e.g. "chaincode `copycat`".
        emitter: String,
        /// The configured outbox, e.g. "chaincode `causeway_outbox`".
        expected: String,
    },
    /// A verifier configuration under which nothing, or anything, would verify.
    #[error("{reason}")]
    Config {
        /// What is wrong with it.
        reason: String,
    },
}

/// Shorthand for a prost decode of `T` from `bytes`, naming `what` in the error.
pub fn decode<T: prost::Message + Default>(
    bytes: &[u8],
    what: impl FnOnce() -> String,
) -> Result<T, FabricError> {
    T::decode(bytes).map_err(|source| FabricError::Decode {
        what: what(),
        source,
    })
}
