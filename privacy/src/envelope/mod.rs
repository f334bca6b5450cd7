//! Envelopes: a payload encrypted once, readable by several recipients, committed on chain.
//!
//! A random 256-bit content key encrypts the payload (AES-256-GCM in a STREAM of 64 KiB
//! chunks); the content key is wrapped for each recipient with HPKE base mode
//! (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM); an explicit key commitment makes the
//! envelope key-committing, so all recipients read the same plaintext or nothing.
//!
//! # Byte format (version 1, suite 1; integers big-endian)
//!
//! ```text
//! offset          size      field
//! 0               4         magic "CWEV"
//! 4               1         version = 1
//! 5               1         suite = 1
//! 6               16        envelope id (random)
//! 22              48        context: origin u32 ‖ destination u32 ‖ nonce u64 ‖ sender [32]
//! 70              2         n = recipient count, 1..=1024
//! 72              96·n      recipient blocks: key id [16] ‖ enc [32] ‖ wrapped content key [32+16]
//! 72+96n          32        key commitment
//! 104+96n         2         g = grant count, n+g <= 1024
//! 106+96n         144·g     grant blocks: grantor id [16] ‖ grantee id [16] ‖ enc [32] ‖
//!                           wrapped content key [48] ‖ grant tag [32]
//! 106+96n+144g    ...       chunk stream to the end of the input: ceil(L / 65536) chunks (at
//!                           least one), each AES-256-GCM ciphertext ‖ 16-byte tag
//! ```
//!
//! What authenticates what (see `secrets.rs` for the derivations):
//! - each recipient wrap binds, through HPKE `info`, the preamble (magic … context), and through
//!   its `aad` the recipient's key id; HPKE's `kem_context` binds `enc` and the recipient key;
//! - the key commitment, an HMAC-based PRF output under the content key, covers the preamble and
//!   every recipient block, and is checked in constant time before anything is decrypted;
//! - the payload key and nonce prefix are derived from the content key *and* that same header
//!   digest, so the chunks belong to exactly this header;
//! - grants (added later without touching the payload) are chained tags under a key derived
//!   the same way (see [`crate::grant`]).
//!
//! What a reader of the bytes learns without a key: the context, the recipients' and
//! grantees' key ids, who granted to whom, and the payload length to within 16 bytes per chunk.
//!
//! # Releasing plaintext
//!
//! [`open`] streams: a chunk is written to the caller's writer only after its tag verified, and
//! the final chunk only after it verified as final, but truncation or tampering of a *later*
//! chunk is only detected later. **If [`open`] returns `Err`, everything it wrote is
//! unauthenticated and must be discarded.** [`open_to_vec`] returns the plaintext only when
//! the whole envelope authenticated.

mod commitment;
mod header;
mod secrets;
mod stream;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::io::{Read, Write};

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

pub use commitment::{CommitmentSalt, PayloadCommitment};
pub use header::{
    CONTEXT_LEN, ENVELOPE_ID_LEN, EnvelopeContext, EnvelopeHeader, EnvelopeId, MAGIC, MAX_READERS,
    SUITE, VERSION,
};
pub use stream::{CHUNK_SIZE, CHUNK_TAG_LEN};

pub(crate) use header::GrantBlock;
pub(crate) use secrets::{ContentKey, EnvelopeKeys, wrap_grant};

use crate::Error;
use crate::keys::{KeyPair, PublicKey};
use commitment::CommitmentHasher;
use stream::ChunkCipher;

/// What to seal: the message context and the recipients' public keys.
#[derive(Clone, Copy, Debug)]
pub struct SealRequest<'a> {
    /// The message the payload belongs to.
    pub context: EnvelopeContext,
    /// Who may open it (1 to [`MAX_READERS`], distinct).
    pub recipients: &'a [PublicKey],
}

/// The outcome of sealing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// The new envelope's id.
    pub envelope_id: EnvelopeId,
    /// The salted plaintext commitment: the message body to put on chain.
    pub commitment: PayloadCommitment,
    /// Plaintext bytes sealed.
    pub plaintext_len: u64,
    /// Envelope bytes written (header and chunks).
    pub envelope_len: u64,
}

/// How the opener holds access to an envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// As the original recipient at this position.
    Recipient {
        /// Position among the recipient blocks.
        index: usize,
    },
    /// Through the grant at this position.
    Grantee {
        /// Position among the grant blocks.
        index: usize,
    },
}

/// The outcome of opening: everything needed to check the payload against the chain.
#[derive(Clone, Debug)]
pub struct Opened {
    /// The envelope's id.
    pub envelope_id: EnvelopeId,
    /// The authenticated message context. The caller checks it is the message it expected.
    pub context: EnvelopeContext,
    /// How the opener was given access.
    pub access: Access,
    /// Plaintext bytes.
    pub plaintext_len: u64,
    /// The recomputed salted plaintext commitment. Compare it with the message body on chain
    /// ([`Opened::verify_commitment`]).
    pub commitment: PayloadCommitment,
    /// The commitment's salt, to reveal (with the plaintext) to whoever must check the
    /// commitment.
    pub commitment_salt: CommitmentSalt,
}

impl Opened {
    /// `Ok` if the plaintext's commitment equals `on_chain` (constant time).
    pub fn verify_commitment(&self, on_chain: &PayloadCommitment) -> Result<(), Error> {
        self.commitment.verify(on_chain)
    }
}

/// Seals `plaintext` for the request's recipients, writing the envelope to `out`, with the
/// operating system's random number generator.
///
/// The header is written first, then one chunk per 64 KiB read, so memory stays bounded. On
/// `Err` (a read or write failure), what was written is an incomplete envelope: discard it.
pub fn seal(
    request: &SealRequest<'_>,
    plaintext: impl Read,
    out: impl Write,
) -> Result<Sealed, Error> {
    seal_with_rng(request, plaintext, out, &mut rand_core::OsRng)
}

/// [`seal`] with the given random number generator (content key, envelope id, ephemeral keys).
pub fn seal_with_rng(
    request: &SealRequest<'_>,
    plaintext: impl Read,
    mut out: impl Write,
    rng: &mut impl CryptoRngCore,
) -> Result<Sealed, Error> {
    if request.recipients.is_empty() {
        return Err(Error::NoRecipients);
    }
    header::check_readers(request.recipients.len())?;
    let mut seen = BTreeSet::new();
    for pk in request.recipients {
        if !seen.insert(pk.key_id()) {
            return Err(Error::DuplicateRecipient {
                key_id: pk.key_id(),
            });
        }
    }

    let content_key = ContentKey::generate(rng);
    let mut id = [0u8; ENVELOPE_ID_LEN];
    rng.fill_bytes(&mut id);
    let mut header = EnvelopeHeader {
        id: EnvelopeId(id),
        context: request.context,
        recipients: Vec::with_capacity(request.recipients.len()),
        key_commitment: [0u8; 32],
        grants: Vec::new(),
    };
    let preamble_digest = header.preamble_digest();
    for pk in request.recipients {
        header
            .recipients
            .push(secrets::wrap(&content_key, pk, &preamble_digest, rng)?);
    }
    let keys = EnvelopeKeys::derive(&content_key, &header.core_digest());
    header.key_commitment = keys.key_commitment;

    header.write_to(&mut out)?;
    let cipher = ChunkCipher::new(&keys);
    let mut hasher = CommitmentHasher::new(&request.context, &keys.commitment_salt);
    let (plaintext_len, chunks_len) =
        stream::seal_chunks(&cipher, &mut hasher, plaintext, &mut out)?;
    out.flush().map_err(|source| Error::Io {
        during: "writing the envelope",
        source,
    })?;
    Ok(Sealed {
        envelope_id: header.id,
        commitment: hasher.finish(),
        plaintext_len,
        envelope_len: header.encoded_len() as u64 + chunks_len,
    })
}

/// Seals an in-memory payload; returns the envelope bytes.
pub fn seal_to_vec(
    request: &SealRequest<'_>,
    plaintext: &[u8],
) -> Result<(Vec<u8>, Sealed), Error> {
    let mut out = Vec::new();
    let sealed = seal(request, plaintext, &mut out)?;
    Ok((out, sealed))
}

impl EnvelopeHeader {
    /// Unwraps the content key with `key` and authenticates the whole header: the key
    /// commitment, then every grant tag.
    pub(crate) fn unlock(
        &self,
        key: &KeyPair,
    ) -> Result<(ContentKey, EnvelopeKeys, Access), Error> {
        let id = key.key_id();
        let core_digest = self.core_digest();
        let (content_key, access) =
            if let Some(index) = self.recipients.iter().position(|r| r.key_id == id) {
                let ck = secrets::unwrap(&self.recipients[index], key, &self.preamble_digest())?;
                (ck, Access::Recipient { index })
            } else if let Some(index) = self.grants.iter().position(|g| g.grantee == id) {
                let ck = secrets::unwrap_grant(&self.grants[index], key, &core_digest)?;
                (ck, Access::Grantee { index })
            } else {
                return Err(Error::NotARecipient { key_id: id });
            };
        let keys = EnvelopeKeys::derive(&content_key, &core_digest);
        keys.check_commitment(&self.key_commitment)?;
        keys.check_grants(&self.grants)?;
        Ok((content_key, keys, access))
    }

    /// Opens the payload chunks that follow this header (read from `body`), writing plaintext
    /// to `out`. **On `Err`, discard everything written to `out`.**
    pub fn open_payload(
        &self,
        key: &KeyPair,
        body: impl Read,
        out: impl Write,
    ) -> Result<Opened, Error> {
        let (_, keys, access) = self.unlock(key)?;
        let cipher = ChunkCipher::new(&keys);
        let mut hasher = CommitmentHasher::new(&self.context, &keys.commitment_salt);
        let plaintext_len = stream::open_chunks(&cipher, &mut hasher, body, out)?;
        Ok(Opened {
            envelope_id: self.id,
            context: self.context,
            access,
            plaintext_len,
            commitment: hasher.finish(),
            commitment_salt: keys.commitment_salt,
        })
    }
}

/// Opens the envelope read from `envelope` with `key`, streaming the plaintext to `out`.
///
/// **On `Err`, everything written to `out` is unauthenticated and must be discarded** (write to
/// a temporary location and move it into place on `Ok`). Memory use is bounded by one chunk.
pub fn open(key: &KeyPair, mut envelope: impl Read, out: impl Write) -> Result<Opened, Error> {
    let header = EnvelopeHeader::read_from(&mut envelope)?;
    header.open_payload(key, envelope, out)
}

/// Opens an in-memory envelope. Returns the plaintext only if the whole envelope
/// authenticated; on error, the partial plaintext is zeroized and nothing is returned.
pub fn open_to_vec(key: &KeyPair, envelope: &[u8]) -> Result<(Vec<u8>, Opened), Error> {
    // Sized once so no reallocation leaves an unzeroized copy behind (plaintext < envelope).
    let mut out = Zeroizing::new(Vec::with_capacity(envelope.len()));
    let opened = open(key, envelope, &mut *out)?;
    Ok((core::mem::take(&mut *out), opened))
}
