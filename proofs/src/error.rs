//! The one error type of `causeway-proofs`: every way a proof, message or signature can fail.

use crate::{Domain, EvmAddress, Hash32};

/// Why a value was rejected. Each variant names what went wrong and carries the facts needed
/// to act on it; none of them is ever a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- Merkle log -------------------------------------------------------------------------
    /// A leaf index at or beyond the log size it is proven against.
    #[error("leaf index {index} is outside a log of size {size}")]
    IndexOutOfRange {
        /// The offending index.
        index: u64,
        /// The log size it was checked against.
        size: u64,
    },
    /// A proof path with the wrong number of nodes for its (index, size) or (old, new) sizes.
    #[error("proof has {actual} nodes but {expected} are required")]
    ProofLength {
        /// Nodes the proof must have.
        expected: usize,
        /// Nodes it has.
        actual: usize,
    },
    /// A consistency proof asked for an old size larger than the new one, or for an empty old log.
    #[error("no consistency proof exists from size {old_size} to size {new_size}")]
    InvalidSizes {
        /// The older log size.
        old_size: u64,
        /// The newer log size.
        new_size: u64,
    },
    /// A proof that recomputes to a different root than the one it was checked against.
    #[error("proof recomputes root {computed} but the expected root is {expected}")]
    RootMismatch {
        /// Root recomputed from the proof.
        computed: Hash32,
        /// Root it had to match.
        expected: Hash32,
    },
    /// A zero (all-0x00) root: never a valid commitment (the Nomad failure).
    #[error("a zero root is never valid")]
    ZeroRoot,
    /// A root or proof asked of a log for a size it has not reached yet.
    #[error("log size {requested} requested, but the log holds only {size} leaves")]
    SizeBeyondLog {
        /// The size asked for.
        requested: u64,
        /// The log's current size.
        size: u64,
    },

    // ---- Messages ---------------------------------------------------------------------------
    /// Encoded bytes too short to hold a message header.
    #[error("message is {len} bytes, shorter than the {min}-byte header")]
    MessageTooShort {
        /// Bytes given.
        len: usize,
        /// Header length.
        min: usize,
    },
    /// A message body larger than the protocol allows.
    #[error("message body is {len} bytes; the maximum is {max}")]
    BodyTooLarge {
        /// Body length.
        len: usize,
        /// Maximum body length.
        max: usize,
    },
    /// A message version this build does not speak.
    #[error("unsupported message version {version}; this build speaks version {supported}")]
    UnsupportedVersion {
        /// Version found.
        version: u8,
        /// Version supported.
        supported: u8,
    },

    // ---- Checkpoints and attestations -------------------------------------------------------
    /// A checkpoint (or message) for another origin domain than the lane it is checked for.
    #[error("checkpoint is for origin domain {actual}, but this lane's origin is {expected}")]
    WrongDomain {
        /// Domain the verifier expects.
        expected: Domain,
        /// Domain found.
        actual: Domain,
    },
    /// A proof bundle signed for another lane than the one the verifier trusts (another chain
    /// id, Inbox or validator epoch): its signatures could never count here.
    #[error("bundle's signing domain has {field} = {found}, but this verifier trusts {expected}")]
    SigningDomainMismatch {
        /// Which field differs.
        field: &'static str,
        /// The verifier's own value.
        expected: String,
        /// The bundle's value.
        found: String,
    },
    /// A message for another destination than the lane it is checked for.
    #[error("message is for destination domain {actual}, but this lane delivers to {expected}")]
    WrongDestination {
        /// Destination the verifier expects.
        expected: Domain,
        /// Destination found.
        actual: Domain,
    },
    /// A signature whose recovered signer is not in the validator set.
    #[error("signature {position} recovers to {address}, which is not a configured validator")]
    UnknownValidator {
        /// Position of the signature in the list.
        position: usize,
        /// Recovered signer, 0x-hex.
        address: String,
    },
    /// The same validator counted twice.
    #[error("validator {address} signed more than once (signature {position})")]
    DuplicateSigner {
        /// Position of the repeated signature.
        position: usize,
        /// The repeated signer, 0x-hex.
        address: String,
    },
    /// Signers not in strictly ascending address order.
    #[error("signature {position} is out of order: signers must be strictly ascending by address")]
    SignersNotAscending {
        /// Position of the out-of-order signature.
        position: usize,
    },
    /// A signature with s in the upper half of the curve order (malleable).
    #[error("signature {position} has a high s value; only low-s signatures are accepted")]
    HighS {
        /// Position of the signature.
        position: usize,
    },
    /// A signature that is not 65 bytes of r ‖ s ‖ v with v in {27, 28}, or whose r or s is out of range.
    #[error("signature {position} is malformed: {reason}")]
    MalformedSignature {
        /// Position of the signature.
        position: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Fewer valid distinct signatures than the threshold.
    #[error("{valid} valid signatures from distinct validators, but the threshold is {threshold}")]
    BelowThreshold {
        /// Valid distinct signatures.
        valid: usize,
        /// Required signatures.
        threshold: usize,
    },
    /// A validator set that cannot protect anything: empty, zero or default entries, duplicates,
    /// or a threshold of zero or above its size.
    #[error("invalid validator set: {reason}")]
    InvalidValidatorSet {
        /// What is wrong with it.
        reason: String,
    },

    // ---- Encodings --------------------------------------------------------------------------
    /// Malformed hex, JSON or field in an encoded value.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// A proof bundle whose parts disagree with each other (message, proof, checkpoint).
    #[error("proof bundle is inconsistent: {reason}")]
    InconsistentBundle {
        /// Which parts disagree.
        reason: String,
    },

    // ---- EVM native proofs (module `evm`) -----------------------------------------------------
    /// Bytes that are not strict, canonical RLP (truncated, trailing bytes, non-minimal lengths or
    /// integers) or whose RLP shape is not the expected structure.
    #[error("malformed RLP in {what} at byte {offset}: {reason}")]
    Rlp {
        /// What was being decoded (receipt, log, header, trie node...).
        what: &'static str,
        /// Byte offset of the problem within that value.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// A Merkle-Patricia proof larger than the verifier accepts (checked before any hashing).
    #[error("trie proof has {actual} {what}; at most {max} are accepted")]
    MptProofTooLarge {
        /// "nodes" or "bytes".
        what: &'static str,
        /// Count found.
        actual: usize,
        /// Limit.
        max: usize,
    },
    /// A trie proof that ends before reaching the key's value or its proven absence.
    #[error("trie proof is truncated: node {index} is referenced but missing")]
    MptMissingNode {
        /// Position the missing node would have in the proof.
        index: usize,
    },
    /// A proof node whose keccak-256 is not the hash its parent (or the root) commits to.
    #[error("trie proof node {index} hashes to {computed}, but its parent commits to {expected}")]
    MptNodeHashMismatch {
        /// Position of the node in the proof.
        index: usize,
        /// Hash the root or parent node commits to.
        expected: Hash32,
        /// keccak-256 of the node given.
        computed: Hash32,
    },
    /// A proof node that is not a canonical trie node (wrong item count, bad hex-prefix path,
    /// non-canonical inlining, empty value, extension not followed by a branch...).
    #[error("trie proof node {index} is malformed: {reason}")]
    MptMalformedNode {
        /// Position of the (containing) node in the proof.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A proof with more nodes than the path to the key uses (padding is never accepted).
    #[error("trie proof has {given} nodes but the path to the key uses only {used}")]
    MptUnusedNodes {
        /// Nodes on the path.
        used: usize,
        /// Nodes given.
        given: usize,
    },
    /// A valid proof that the key is NOT in the trie, where its inclusion was required.
    #[error("the trie proof shows that key {key} is absent")]
    MptKeyAbsent {
        /// The key, 0x-hex.
        key: String,
    },
    /// A valid inclusion proof for the key whose value differs from the claimed one.
    #[error("the trie holds a different value for key {key} than the one claimed")]
    MptValueMismatch {
        /// The key, 0x-hex.
        key: String,
    },
    /// A receipt proof made against another receipts root than the block's.
    #[error("receipt proof claims receipts root {claimed}, but the block's is {expected}")]
    ReceiptsRootMismatch {
        /// Root the proof was made against.
        claimed: Hash32,
        /// Root of the block (from its header).
        expected: Hash32,
    },
    /// A receipt proof asked for a transaction index the block does not have.
    #[error("transaction index {index} is outside a block of {receipts} receipts")]
    ReceiptIndexOutOfRange {
        /// Index asked for.
        index: u64,
        /// Receipts in the block.
        receipts: usize,
    },
    /// A typed receipt envelope whose type this build does not decode.
    #[error("unsupported receipt type {tx_type:#04x}")]
    UnsupportedReceiptType {
        /// The EIP-2718 type byte.
        tx_type: u8,
    },
    /// A header whose keccak-256 is not the block hash it is presented for.
    #[error("block header hashes to {computed}, but the expected block hash is {expected}")]
    BlockHashMismatch {
        /// keccak-256 of the header bytes (or the hash a proof claims).
        computed: Hash32,
        /// Block hash the verifier trusts.
        expected: Hash32,
    },
    /// A transaction proof that does not show its transaction at the receipt's index under the
    /// block's transactions root.
    #[error(
        "the transaction proof does not show the transaction at index {tx_index} of the block: {reason}"
    )]
    TransactionProofInvalid {
        /// Index of the transaction (the receipt's) in its block.
        tx_index: u64,
        /// The broken link.
        reason: String,
    },
    /// A field of a bundle's source reference that contradicts what its native proof proves.
    #[error("the source reference says {field} = {claimed}, but the native proof shows {proven}")]
    SourceReferenceMismatch {
        /// The field (`block_hash`, `block_number`, `transaction_hash`, `event_index`, …).
        field: &'static str,
        /// What the reference claims.
        claimed: String,
        /// What the proof shows.
        proven: String,
    },
    /// The proven transaction reverted (receipt status 0): its logs never happened.
    #[error("transaction {tx_index} failed (receipt status 0); its events do not count")]
    ReceiptFailed {
        /// Index of the transaction in its block.
        tx_index: u64,
    },
    /// A log position beyond the receipt's logs.
    #[error("log {index} requested, but the receipt has {logs} logs")]
    LogIndexOutOfRange {
        /// Position requested (within the receipt).
        index: u32,
        /// Logs in the receipt.
        logs: usize,
    },
    /// A log emitted by another contract than the configured one (a look-alike contract).
    #[error("log was emitted by {actual}, not by the configured contract {expected}")]
    LogEmitterMismatch {
        /// Contract the verifier trusts.
        expected: EvmAddress,
        /// Contract that emitted the log.
        actual: EvmAddress,
    },
    /// A log with another number of topics than its event has.
    #[error("log has {actual} topics, but the event has {expected}")]
    LogTopicCount {
        /// Topics of the event (signature plus indexed fields).
        expected: usize,
        /// Topics found.
        actual: usize,
    },
    /// A log topic that differs from the expected one (event signature or indexed field).
    #[error("log topic {position} is {actual}, but {expected} is expected")]
    LogTopicMismatch {
        /// Topic position (0 = event signature).
        position: usize,
        /// Expected topic.
        expected: Hash32,
        /// Topic found.
        actual: Hash32,
    },
    /// Event data that is not exactly the ABI encoding of the expected message bytes.
    #[error("event data does not carry the expected message: {reason}")]
    EventDataMismatch {
        /// What differs.
        reason: String,
    },

    // ---- SM2 signatures and HMAC-SM3 (module `sm`) --------------------------------------------
    /// Bytes that are not an SM2 public key on sm2p256v1.
    #[error("invalid SM2 public key: {reason}")]
    Sm2InvalidPublicKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An SM2 secret key outside 1..n-2.
    #[error("invalid SM2 secret key: it must be in 1..n-2")]
    Sm2InvalidSecretKey,
    /// Bytes that are not an SM2 signature (r, s) with r and s in 1..n-1.
    #[error("invalid SM2 signature: {reason}")]
    Sm2InvalidSignature {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A user identity too long for its 16-bit bit length ENTL.
    #[error("SM2 user id is {len} bytes; at most {max} fit its 16-bit bit length")]
    Sm2UserIdTooLong {
        /// Bytes given.
        len: usize,
        /// Longest allowed.
        max: usize,
    },
    /// A prehashed SM2 input that is empty or longer than any supported digest.
    #[error("SM2 prehash is {len} bytes; 1 to {max} bytes are accepted")]
    Sm2InvalidPrehash {
        /// Bytes given.
        len: usize,
        /// Longest allowed.
        max: usize,
    },
    /// A well-formed SM2 signature that does not verify for this key and digest.
    #[error("SM2 signature does not verify")]
    Sm2VerificationFailed,
    /// An SM2 signature could not be made with the given nonce.
    #[error("SM2 signing failed: {reason}")]
    Sm2SigningFailed {
        /// Why.
        reason: &'static str,
    },
    /// An HMAC tag of another length than the verifier expects.
    #[error("HMAC tag is {actual} bytes, but {expected} are expected")]
    HmacTagLength {
        /// Length the verifier expects.
        expected: usize,
        /// Length given.
        actual: usize,
    },
    /// A truncated HMAC tag length the verifier refuses to configure.
    #[error("HMAC tags may be truncated to {min}..={max} bytes, not {len}")]
    HmacTruncation {
        /// Length requested.
        len: usize,
        /// Shortest allowed.
        min: usize,
        /// Full tag length.
        max: usize,
    },
    /// An HMAC tag that does not match the data and key.
    #[error("HMAC tag does not match")]
    HmacMismatch,
}
