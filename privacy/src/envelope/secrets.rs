//! The content key and everything derived from it.
//!
//! ```text
//! prk            = HKDF-Extract(salt = "causeway/envelope/v1", ikm = content key)
//! D              = SHA-256(preamble ‖ recipient count ‖ recipient blocks)     (the "core" header)
//! key commitment = HKDF-Expand(prk, "key commitment"          ‖ D, 32)
//! payload key    = HKDF-Expand(prk, "payload key"             ‖ D, 32)   AES-256-GCM
//! nonce prefix   = HKDF-Expand(prk, "payload nonce prefix"    ‖ D, 7)
//! salts key      = HKDF-Expand(prk, "disclosure salts" ‖ envelope id ‖ context, 32)
//! ```
//!
//! The salts key is the PRK of the selective-disclosure salts (see
//! [`crate::disclosure::CommitmentOpening::derive`]): it cannot depend on `D`, which contains
//! the disclosure root those salts produce. Every reader can thus rebuild the disclosure tree
//! from the plaintext, check it against the header, and disclose fields later.
//!
//! Security decisions:
//! - AES-GCM is not key-committing (invisible salamanders, T44). The key commitment is
//!   HMAC-SHA256-based and therefore collision resistant in the content key: two different
//!   content keys cannot match one commitment, so two recipients who unwrap different keys
//!   cannot both pass the check, and it is checked (in constant time) before any chunk is
//!   decrypted.
//! - The payload key is derived, never the raw content key, and it binds `D`: chunks moved to
//!   another header, or a header with an altered context or recipient list, fail.
//! - Labels are distinct and `D` has a fixed length, so no two derivations share an input.

use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use super::header::{RecipientBlock, TAG_LEN, WRAPPED_LEN};
use super::history::HistoryEntry;
use crate::Error;
use crate::hpke::{self, Aead, EncappedKey};
use crate::keys::{KeyId, KeyPair, PublicKey};

/// Bytes of the STREAM nonce prefix (12-byte nonce = prefix ‖ u32 counter ‖ last flag).
pub(crate) const NONCE_PREFIX_LEN: usize = 7;

const EXTRACT_SALT: &[u8] = b"causeway/envelope/v1";
const WRAP_INFO: &[u8] = b"causeway/envelope/v1/wrap";
const GRANT_INFO: &[u8] = b"causeway/envelope/v1/grant";

/// The random 256-bit key of one envelope. Zeroized on drop.
pub(crate) struct ContentKey(Zeroizing<[u8; 32]>);

impl ContentKey {
    pub(crate) fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(k.as_mut());
        ContentKey(k)
    }

    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
        ContentKey(Zeroizing::new(bytes))
    }

    fn from_plaintext(pt: &[u8]) -> Option<Self> {
        let mut k = Zeroizing::new([0u8; 32]);
        if pt.len() != 32 {
            return None;
        }
        k.copy_from_slice(pt);
        Some(ContentKey(k))
    }
}

/// The PRK of the disclosure salts of the envelope `id` under `context`.
pub(crate) fn disclosure_salts_key(
    content_key: &ContentKey,
    id: &super::EnvelopeId,
    context: &super::EnvelopeContext,
) -> Zeroizing<[u8; 32]> {
    let hk = Hkdf::<Sha256>::new(Some(EXTRACT_SALT), content_key.0.as_ref());
    let mut key = Zeroizing::new([0u8; 32]);
    hk.expand_multi_info(
        &[b"disclosure salts", &id.0, &context.to_bytes()],
        key.as_mut(),
    )
    .expect("32 bytes is a valid HKDF-SHA256 output length");
    key
}

/// Everything derived from the content key and the core header digest.
pub(crate) struct EnvelopeKeys {
    pub(crate) key_commitment: [u8; TAG_LEN],
    pub(crate) payload_key: Zeroizing<[u8; 32]>,
    pub(crate) nonce_prefix: [u8; NONCE_PREFIX_LEN],
}

impl EnvelopeKeys {
    pub(crate) fn derive(content_key: &ContentKey, core_digest: &[u8; 32]) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(EXTRACT_SALT), content_key.0.as_ref());
        let expand = |label: &[u8], out: &mut [u8]| {
            hk.expand_multi_info(&[label, core_digest], out)
                .expect("outputs of at most 32 bytes are valid for HKDF-SHA256");
        };
        let mut key_commitment = [0u8; TAG_LEN];
        expand(b"key commitment", &mut key_commitment);
        let mut payload_key = Zeroizing::new([0u8; 32]);
        expand(b"payload key", payload_key.as_mut());
        let mut nonce_prefix = [0u8; NONCE_PREFIX_LEN];
        expand(b"payload nonce prefix", &mut nonce_prefix);
        EnvelopeKeys {
            key_commitment,
            payload_key,
            nonce_prefix,
        }
    }

    /// Checks the header's key commitment in constant time.
    pub(crate) fn check_commitment(&self, header_commitment: &[u8; TAG_LEN]) -> Result<(), Error> {
        if bool::from(self.key_commitment.ct_eq(header_commitment)) {
            Ok(())
        } else {
            Err(Error::KeyCommitmentMismatch)
        }
    }
}

fn info(prefix: &[u8], digest: &[u8; 32]) -> Vec<u8> {
    [prefix, digest].concat()
}

fn to_wrapped(ct: Vec<u8>) -> [u8; WRAPPED_LEN] {
    let mut out = [0u8; WRAPPED_LEN];
    out.copy_from_slice(&ct);
    out
}

/// Wraps the content key for `recipient` (HPKE base mode, AES-256-GCM). `info` binds the
/// preamble (magic, version, suite, envelope id, context); `aad` is the recipient's key id.
pub(crate) fn wrap(
    content_key: &ContentKey,
    recipient: &PublicKey,
    preamble_digest: &[u8; 32],
    rng: &mut impl CryptoRngCore,
) -> Result<RecipientBlock, Error> {
    let key_id = recipient.key_id();
    let (enc, ct) = hpke::seal_base(
        Aead::Aes256Gcm,
        recipient,
        &info(WRAP_INFO, preamble_digest),
        &key_id.0,
        content_key.0.as_ref(),
        rng,
    )?;
    Ok(RecipientBlock {
        key_id,
        enc,
        wrapped: to_wrapped(ct),
    })
}

/// Unwraps a recipient block with the recipient's key.
pub(crate) fn unwrap(
    block: &RecipientBlock,
    key: &KeyPair,
    preamble_digest: &[u8; 32],
) -> Result<ContentKey, Error> {
    open_content_key(
        key,
        &block.enc,
        &info(WRAP_INFO, preamble_digest),
        &block.key_id.0,
        &block.wrapped,
    )
}

/// Opens a wrapped content key (a recipient's or a grantee's) with `key`. A small-order `enc`
/// is worth naming ([`Error::ZeroSharedSecret`]); every other failure is one opaque
/// [`Error::UnwrapFailed`].
fn open_content_key(
    key: &KeyPair,
    enc: &EncappedKey,
    info: &[u8],
    aad: &[u8],
    wrapped: &[u8; WRAPPED_LEN],
) -> Result<ContentKey, Error> {
    let failed = || Error::UnwrapFailed {
        key_id: key.key_id(),
    };
    let pt = Zeroizing::new(
        hpke::open_base(Aead::Aes256Gcm, enc, key, info, aad, wrapped).map_err(|e| match e {
            Error::ZeroSharedSecret => e,
            _ => failed(),
        })?,
    );
    ContentKey::from_plaintext(&pt).ok_or_else(failed)
}

/// Wraps the content key for a grantee. `info` binds the core header digest; `aad` the grantor
/// and grantee key ids. Returns `(enc, wrapped)`.
pub(crate) fn wrap_grant(
    content_key: &ContentKey,
    grantor: &KeyId,
    grantee: &PublicKey,
    core_digest: &[u8; 32],
    rng: &mut impl CryptoRngCore,
) -> Result<(EncappedKey, [u8; WRAPPED_LEN]), Error> {
    let aad = [grantor.0, grantee.key_id().0].concat();
    let (enc, ct) = hpke::seal_base(
        Aead::Aes256Gcm,
        grantee,
        &info(GRANT_INFO, core_digest),
        &aad,
        content_key.0.as_ref(),
        rng,
    )?;
    Ok((enc, to_wrapped(ct)))
}

/// Unwraps a grant block with the grantee's key.
pub(crate) fn unwrap_grant(
    block: &HistoryEntry,
    key: &KeyPair,
    core_digest: &[u8; 32],
) -> Result<ContentKey, Error> {
    let aad = [block.actor.key_id().0, block.subject.0].concat();
    open_content_key(
        key,
        &block.enc,
        &info(GRANT_INFO, core_digest),
        &aad,
        &block.wrapped,
    )
}
