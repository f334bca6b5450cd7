//! The one error type of `causeway-privacy`.
//!
//! Each variant names what went wrong and carries the facts needed to act on it. Decryption
//! failures are deliberately typed (an operator needs to know whether a key file is wrong or a
//! stored envelope was damaged), but none of them reveals anything about secret values: they
//! name positions and public key ids only. The HTTP edge should map every variant for which
//! [`Error::is_authentication_failure`] holds to one status, so that a remote caller cannot use
//! the variants as an oracle (the partitioning-oracle concern of Len, Grubbs and Ristenpart).

use std::io;
use std::path::PathBuf;

use crate::keys::KeyId;

/// Why a key, envelope, grant or disclosure was rejected. Never a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- keys ---------------------------------------------------------------------------------
    /// A key or encapsulated key of the wrong length.
    #[error("{what} must be {expected} bytes, got {actual}")]
    InvalidKeyLength {
        /// What was being decoded.
        what: &'static str,
        /// Required length in bytes.
        expected: usize,
        /// Length found.
        actual: usize,
    },
    /// A public key string that is neither 64 hex digits nor base64 of 32 bytes.
    #[error("cannot parse X25519 public key: {reason}")]
    PublicKeyEncoding {
        /// What the parser saw.
        reason: String,
    },
    /// A public key of small order (0, 1, the order-8 points, p-1, p, p+1, ...): any shared
    /// secret with it is all-zero, i.e. public (RFC 7748 §6.1, RFC 9180 §7.1.4).
    #[error("X25519 public key {key_hex} has small order and is refused")]
    LowOrderPublicKey {
        /// The refused key, hex.
        key_hex: String,
    },
    /// A public key encoding with bit 255 set or a coordinate >= 2^255-19. Accepting it would
    /// give one key two encodings and two key ids.
    #[error("X25519 public key {key_hex} is not canonically encoded")]
    NonCanonicalPublicKey {
        /// The refused key, hex.
        key_hex: String,
    },
    /// An XEdDSA signature that does not verify under the key it claims.
    #[error("signature by key {key_id} does not verify")]
    BadSignature {
        /// The claimed signer.
        key_id: KeyId,
    },
    /// X25519 produced the all-zero shared secret: the peer key has small order.
    #[error("X25519 produced an all-zero shared secret (peer public key of small order)")]
    ZeroSharedSecret,
    /// A key file could not be read, created or written.
    #[error("key file {path}: cannot {action}")]
    KeyFileIo {
        /// The key file.
        path: PathBuf,
        /// What was being done ("open", "read", "create", "write").
        action: &'static str,
        /// The operating-system error.
        source: io::Error,
    },
    /// A private key file that group or others may read.
    #[error(
        "key file {path} has mode {mode:o}, readable by group or others; run `chmod 600 {path}` \
         and consider the key compromised if others could have read it"
    )]
    KeyFilePermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file whose contents are not a Causeway X25519 key.
    #[error("key file {path} is malformed: {reason}")]
    KeyFileFormat {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    // ---- HPKE ---------------------------------------------------------------------------------
    /// `psk` and `psk_id` given inconsistently with the mode (RFC 9180 §5.1 VerifyPSKInputs).
    #[error("inconsistent PSK inputs for HPKE mode {mode}: {reason}")]
    PskInputs {
        /// The HPKE mode number.
        mode: u8,
        /// Which rule was broken.
        reason: &'static str,
    },
    /// An unknown HPKE AEAD identifier.
    #[error(
        "unsupported HPKE AEAD id {id:#06x}; supported: 0x0001 (AES-128-GCM), 0x0002 (AES-256-GCM)"
    )]
    UnsupportedAead {
        /// The identifier.
        id: u16,
    },
    /// AEAD decryption failed: wrong key, or ciphertext, tag, nonce or associated data altered.
    #[error("AEAD authentication failed")]
    AeadOpen,
    /// An AEAD input beyond AES-GCM's limits (2^36 - 32 bytes per message).
    #[error("AES-GCM cannot seal {len} bytes in one message")]
    AeadLimit {
        /// Plaintext length.
        len: u64,
    },
    /// A nonce counter would wrap (HPKE sequence number, envelope chunk counter). Never wraps.
    #[error("{what} counter exhausted; no further message can be sealed without reusing a nonce")]
    NonceExhausted {
        /// Which counter.
        what: &'static str,
    },
    /// An HPKE export longer than 255 * 32 bytes.
    #[error("HPKE export of {requested} bytes exceeds the maximum of {max}")]
    ExportTooLong {
        /// Bytes requested.
        requested: usize,
        /// Maximum.
        max: usize,
    },

    // ---- envelope format ----------------------------------------------------------------------
    /// The input ended inside the envelope header.
    #[error("envelope truncated inside the {what}")]
    HeaderTruncated {
        /// Which header field was being read.
        what: &'static str,
    },
    /// Not an envelope.
    #[error("not a Causeway envelope: magic bytes {found:02x?}")]
    BadMagic {
        /// The first four bytes found.
        found: [u8; 4],
    },
    /// An envelope version this build does not read.
    #[error("unsupported envelope version {found}; this build reads version {supported}")]
    UnsupportedVersion {
        /// Version found.
        found: u8,
        /// Version supported.
        supported: u8,
    },
    /// An unknown cipher-suite byte.
    #[error("unsupported envelope suite {found}; this build reads suite {supported}")]
    UnsupportedSuite {
        /// Suite found.
        found: u8,
        /// Suite supported.
        supported: u8,
    },
    /// An envelope (or seal request) with no recipient.
    #[error("an envelope needs at least one recipient")]
    NoRecipients,
    /// More recipients plus grants than an envelope may hold.
    #[error("{count} recipients and grants exceed the maximum of {max}")]
    TooManyRecipients {
        /// Recipients plus grants.
        count: usize,
        /// Maximum.
        max: usize,
    },
    /// The same key id twice among recipients and grantees.
    #[error("key {key_id} appears twice among the envelope's recipients and grantees")]
    DuplicateRecipient {
        /// The repeated key id.
        key_id: KeyId,
    },
    /// A grant whose grantor is neither a recipient nor an earlier grantee.
    #[error("grant {index} names grantor {grantor}, who holds no access to this envelope")]
    UnknownGrantor {
        /// Position of the grant.
        index: usize,
        /// The grantor key id.
        grantor: KeyId,
    },

    // ---- envelope authentication --------------------------------------------------------------
    /// The opening key is neither a recipient nor a grantee of this envelope.
    #[error("key {key_id} is not a recipient of this envelope")]
    NotARecipient {
        /// The opener's key id.
        key_id: KeyId,
    },
    /// The content key wrapped for this key did not decrypt: wrong key, or the recipient block
    /// or the envelope context was altered.
    #[error("the content key wrapped for {key_id} failed to authenticate")]
    UnwrapFailed {
        /// The opener's key id.
        key_id: KeyId,
    },
    /// The content key does not match the envelope's key commitment: the header (context or
    /// recipient list) was altered, or the sender wrapped different keys for different
    /// recipients.
    #[error("key commitment mismatch: header altered or inconsistent content keys")]
    KeyCommitmentMismatch,
    /// A grant-history entry whose signature does not verify under the key it names: forged,
    /// altered, or an earlier entry rewritten.
    #[error(
        "grant history entry {index} is not signed by {grantor}: the history was forged or \
         rewritten; fetch the envelope again from a recipient's gateway"
    )]
    GrantSignature {
        /// Position of the entry.
        index: usize,
        /// The key id the entry names as its signer.
        grantor: KeyId,
    },
    /// The opener's grant was revoked.
    #[error("the grant to {key_id} was revoked by its grantor")]
    GrantRevoked {
        /// The revoked grantee.
        key_id: KeyId,
    },
    /// A revocation its signer may not make (not the grantor of an active grant).
    #[error("grant history entry {index} is an invalid revocation: {reason}")]
    InvalidRevocation {
        /// Position of the entry.
        index: usize,
        /// Why.
        reason: String,
    },
    /// A grant-history entry that is not well formed.
    #[error("grant history entry {index} is malformed: {reason}")]
    MalformedHistory {
        /// Position of the entry.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A payload chunk that failed to authenticate (altered, reordered, dropped or replaced).
    #[error("payload chunk {index} failed to authenticate")]
    ChunkAuthentication {
        /// Zero-based chunk index.
        index: u64,
    },
    /// The chunk stream ended before its final chunk: the envelope was truncated.
    #[error("envelope payload truncated after {chunks} chunks (final chunk missing)")]
    StreamTruncated {
        /// Chunks that authenticated before the end.
        chunks: u64,
    },
    /// Bytes after the final chunk.
    #[error("data after the final payload chunk {index}")]
    TrailingData {
        /// Index of the final chunk.
        index: u64,
    },
    /// An empty final chunk after non-empty ones: never produced by a sealer.
    #[error("empty final chunk {index}; a sealer never writes one after other chunks")]
    EmptyFinalChunk {
        /// Index of the chunk.
        index: u64,
    },
    /// The envelope (or a disclosure's inputs) hashes to another message commitment than the
    /// one on chain: not the envelope of that message (e.g. re-encrypted by a co-recipient).
    #[error(
        "message commitment mismatch: this is not the envelope (or disclosure) the on-chain \
         message commits to; fetch it again from the sender's gateway"
    )]
    MessageCommitmentMismatch,
    /// The envelope names another message context than the one expected from the chain.
    #[error(
        "the envelope belongs to message {found:?}, not to the expected {expected:?}; open it \
         against the message it names"
    )]
    ContextMismatch {
        /// The context read from the chain.
        expected: Box<crate::envelope::EnvelopeContext>,
        /// The context in the envelope header.
        found: Box<crate::envelope::EnvelopeContext>,
    },
    /// A streaming open of an envelope with a disclosure tree, which only an in-memory open
    /// can check against the plaintext.
    #[error(
        "this envelope carries a selective-disclosure tree; open it with open_to_vec, which \
         checks the tree against the plaintext"
    )]
    DisclosureNeedsWholePayload,
    /// The disclosure tree in the header (or given) is not the one of the plaintext: the
    /// sender committed disclosures that do not match what it sealed.
    #[error("the disclosure tree does not match the payload it is said to commit to")]
    DisclosureRootMismatch,
    /// Fields asked to be disclosed from a payload sealed without a disclosure tree.
    #[error("this payload was sealed without a disclosure tree (seal it with seal_json)")]
    NoDisclosureTree,
    /// A grant to a key that already has access.
    #[error("key {key_id} already has access to this envelope")]
    AlreadyRecipient {
        /// The grantee's key id.
        key_id: KeyId,
    },
    /// Reading or writing a stream failed.
    #[error("I/O error while {during}")]
    Io {
        /// What was being done.
        during: &'static str,
        /// The underlying error.
        source: io::Error,
    },

    // ---- selective disclosure -----------------------------------------------------------------
    /// A payload to commit to that is not a non-empty JSON object.
    #[error("selective disclosure needs a non-empty JSON object, got {found}")]
    NotAnObject {
        /// What was given.
        found: &'static str,
    },
    /// More fields than a commitment may hold.
    #[error("{count} fields exceed the maximum of {max}")]
    TooManyFields {
        /// Fields given.
        count: usize,
        /// Maximum.
        max: usize,
    },
    /// A JSON value nested deeper than the canonical encoder accepts.
    #[error("JSON value nested deeper than {max} levels")]
    TooDeep {
        /// Maximum depth.
        max: usize,
    },
    /// A number JSON (IEEE doubles, RFC 8785) cannot carry exactly: committing it could give
    /// two different payloads one commitment.
    #[error(
        "number {number} cannot be committed exactly: {reason}; send it as a JSON string \
         (e.g. \"{number}\") or as an integer within ±9007199254740991"
    )]
    InexactNumber {
        /// The number as written (or as parsed).
        number: String,
        /// Why it is inexact.
        reason: String,
    },
    /// Payload text that is not JSON.
    #[error("the payload is not valid JSON: {reason}")]
    InvalidJson {
        /// The parser's message (position included).
        reason: String,
    },
    /// A field asked for or opened that the payload does not have.
    #[error("field {name:?} is not part of the committed payload")]
    UnknownField {
        /// The field name.
        name: String,
    },
    /// Stored commitment openings that do not fit the payload they are applied to.
    #[error("commitment opening does not match the payload: {reason}")]
    OpeningMismatch {
        /// What differs.
        reason: String,
    },
    /// A disclosure that is malformed as a whole (mixed tree sizes, unsorted or repeated names).
    #[error("malformed disclosure: {reason}")]
    MalformedDisclosure {
        /// What is wrong.
        reason: String,
    },
    /// A disclosed field whose value, salt or proof does not lead to the committed root.
    #[error("disclosed field {name:?} does not match the commitment")]
    FieldProof {
        /// The field name.
        name: String,
        /// Why the inclusion proof failed.
        source: causeway_proofs::Error,
    },
    /// A zero root: never a commitment.
    #[error("a zero payload root is never a valid commitment")]
    ZeroRoot,
}

impl Error {
    /// Whether this error means "the ciphertext, header or key did not authenticate". The
    /// gateway maps all of these to one API status so a remote party learns nothing more than
    /// "cannot open".
    pub fn is_authentication_failure(&self) -> bool {
        matches!(
            self,
            Error::ZeroSharedSecret
                | Error::AeadOpen
                | Error::NotARecipient { .. }
                | Error::UnwrapFailed { .. }
                | Error::KeyCommitmentMismatch
                | Error::GrantSignature { .. }
                | Error::GrantRevoked { .. }
                | Error::ChunkAuthentication { .. }
                | Error::StreamTruncated { .. }
                | Error::TrailingData { .. }
                | Error::EmptyFinalChunk { .. }
                | Error::MessageCommitmentMismatch
                | Error::ContextMismatch { .. }
                | Error::DisclosureRootMismatch
        )
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    /// A cause is printed once: the message says what failed, `source()` carries the OS error.
    #[test]
    fn a_key_file_error_returns_its_cause_instead_of_repeating_it() {
        let err = Error::KeyFileIo {
            path: PathBuf::from("/keys/org1.key"),
            action: "create",
            source: io::Error::new(io::ErrorKind::AlreadyExists, "File exists"),
        };
        assert_eq!(err.to_string(), "key file /keys/org1.key: cannot create");
        assert_eq!(
            err.source().map(ToString::to_string).as_deref(),
            Some("File exists")
        );
    }
}
