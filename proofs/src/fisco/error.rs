//! Why FISCO BCOS data was refused. Every variant fails closed: a header, receipt or proof
//! that cannot be fully checked is never treated as proven.

/// Why FISCO BCOS data failed to decode or verify.
///
/// Kept beside the crate's [`crate::Error`] because these checks are FISCO BCOS's alone; the
/// adapters convert it into their own error at their boundary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FiscoError {
    /// Bytes that should hold a TARS-encoded structure do not decode as one.
    #[error("cannot decode the TARS {what}: {reason}")]
    Tars {
        /// What was being decoded, e.g. "Transaction".
        what: &'static str,
        /// What was wrong at which point.
        reason: String,
    },
    /// A field has a value FISCO BCOS never produces (so it could only come from a forger or
    /// a parser confused about field boundaries; see `docs/fisco.md`, "Receipt hash").
    #[error("{field} is malformed: {reason}")]
    Malformed {
        /// The field, e.g. `logEntries[0].address`.
        field: String,
        /// What was expected.
        reason: String,
    },
    /// A Merkle proof is empty, too long, or its groups are cut short.
    #[error("malformed Merkle proof: {reason}")]
    MalformedProof {
        /// What was wrong.
        reason: String,
    },
    /// A Merkle proof does not lead from the leaf to the header's root.
    #[error(
        "the {tree} proof does not reach the header's root {root} (the {tree} was changed, or \
         the proof belongs to another block)"
    )]
    ProofMismatch {
        /// "receipt" or "transaction".
        tree: &'static str,
        /// Hex of the root the header commits to.
        root: String,
    },
    /// A leaf is absent from a group of its Merkle proof.
    #[error("the {tree} hash {leaf} is not in level {level} of its proof")]
    LeafNotInProof {
        /// "receipt" or "transaction".
        tree: &'static str,
        /// Hex of the hash looked for.
        leaf: String,
        /// Level of the proof (0 = leaves).
        level: usize,
    },
    /// The sealer configuration cannot give Byzantine safety.
    #[error("sealer set refused: {reason}")]
    SealerSet {
        /// Why, with the fix.
        reason: String,
    },
    /// A public key or node id is not a point of the chain's curve.
    #[error("invalid {mode} public key {key}: {reason}")]
    InvalidPublicKey {
        /// The crypto mode, "ecdsa" or "sm".
        mode: &'static str,
        /// Hex of the key (public data).
        key: String,
        /// What was wrong.
        reason: String,
    },
    /// A signature has the wrong length or form for the chain's crypto mode (e.g. an SM2
    /// signature on an ECDSA chain).
    #[error(
        "signature {index} has {len} bytes, not the {expected} of a {mode} signature (is the \
         chain's crypto mode configured right?)"
    )]
    SignatureForm {
        /// Position in the signature list.
        index: usize,
        /// Its length.
        len: usize,
        /// The length the mode needs.
        expected: usize,
        /// The configured mode.
        mode: &'static str,
    },
    /// A signature does not verify under the key it names.
    #[error("signature {index} of block {number} does not verify: forged, or over another block")]
    BadSignature {
        /// Block number.
        number: i64,
        /// Position in the signature list.
        index: usize,
    },
    /// A signature was made by a key that is not a configured sealer.
    #[error("signature {index} of block {number} is by {key}, which is not a configured sealer")]
    UnknownSealer {
        /// Block number.
        number: i64,
        /// Position in the signature list.
        index: usize,
        /// Hex of the signer's 64-byte public key.
        key: String,
    },
    /// A signature's sealer index does not name the key that made it.
    #[error(
        "signature {index} of block {number} names sealer index {sealer_index}, which is not \
         the key that signed"
    )]
    SealerIndexMismatch {
        /// Block number.
        number: i64,
        /// Position in the signature list.
        index: usize,
        /// The index it claims.
        sealer_index: i64,
    },
    /// Two signatures are by the same sealer.
    #[error("block {number} carries two signatures of sealer {key}; each sealer counts once")]
    DuplicateSealer {
        /// Block number.
        number: i64,
        /// Hex of the sealer's public key.
        key: String,
    },
    /// Fewer distinct configured sealers signed than the quorum needs.
    #[error(
        "block {number} is signed by {signed} distinct sealers, fewer than the quorum of \
         {quorum} of {sealers}"
    )]
    BelowQuorum {
        /// Block number.
        number: i64,
        /// Distinct configured sealers that signed.
        signed: usize,
        /// The quorum (2f+1).
        quorum: usize,
        /// Configured sealers.
        sealers: usize,
    },
    /// A value the caller asserted does not match what the data says.
    #[error("{what}: expected {expected}, found {found}")]
    Mismatch {
        /// What was compared.
        what: &'static str,
        /// The expected value.
        expected: String,
        /// The value found.
        found: String,
    },
    /// A receipt's transaction did not succeed.
    #[error("the receipt's transaction failed with status {status}; it emitted nothing")]
    ReceiptFailed {
        /// FISCO BCOS's status code.
        status: i32,
    },
    /// A log of the Outbox is not a well-formed `Dispatch` of a message.
    #[error("log {index} of the Outbox is refused")]
    Event {
        /// Position among the receipt's logs.
        index: usize,
        /// Why.
        #[source]
        source: crate::Error,
    },
}
