//! A validator's secret signing key.

use core::fmt;

use k256::ecdsa::{SigningKey, VerifyingKey};
use k256::elliptic_curve::rand_core::CryptoRngCore;
use k256::elliptic_curve::zeroize::Zeroizing;

use super::{EvmAddress, Signature};
use crate::hash::keccak256;
use crate::{Checkpoint, Error, Hash32, SigningDomain};

/// A validator gateway's secp256k1 secret key, with the address that names it.
///
/// Security: the secret scalar lives in k256's `SigningKey`, which zeroizes it on drop; `Debug`
/// prints only the address, so the key never reaches a log through `{:?}`. There is no `Clone`:
/// copies of a secret are made on purpose ([`ValidatorKey::secret_bytes`]), never by accident.
pub struct ValidatorKey {
    key: SigningKey,
    address: EvmAddress,
}

impl ValidatorKey {
    /// The key whose secret scalar is the big-endian `bytes`; fails if it is zero or not below
    /// the curve order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, Error> {
        let key = SigningKey::from_slice(bytes).map_err(|_| Error::Decode {
            what: "validator key",
            reason: "a secp256k1 secret key must be in 1..n-1".to_owned(),
        })?;
        Ok(Self::from_signing_key(key))
    }

    /// A fresh random key from a cryptographic RNG (e.g. `rand_core::OsRng`).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Self::from_signing_key(SigningKey::random(rng))
    }

    fn from_signing_key(key: SigningKey) -> Self {
        let address = address_of(key.verifying_key());
        ValidatorKey { key, address }
    }

    /// The validator's address (what `ecrecover` returns for its signatures).
    pub fn address(&self) -> EvmAddress {
        self.address
    }

    /// The secret scalar, big-endian, in a buffer wiped when dropped: for writing key files.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes().into())
    }

    /// Signs a raw 32-byte digest: RFC 6979 deterministic nonce, s normalised to the low half,
    /// v = 27 + recovery id.
    pub fn sign(&self, digest: &Hash32) -> Signature {
        // Both failure cases are cryptographically negligible (probability about 2^-128 each):
        // k256 fails only if RFC 6979 yields r = 0 or s = 0, and the "x reduced" recovery ids
        // (2, 3) need r's point to have x >= n. Neither can be made to happen by an attacker,
        // since the nonce derives from our secret.
        let (sig, recid) = self
            .key
            .sign_prehash_recoverable(&digest.0)
            .expect("RFC 6979 signing fails only with negligible probability");
        assert!(
            !recid.is_x_reduced(),
            "recovery id with reduced x has negligible probability"
        );
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&sig.to_bytes());
        out[64] = 27 + u8::from(recid.is_y_odd());
        Signature(out)
    }

    /// This validator's attestation of `checkpoint` on the lane `domain`.
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint, domain: &SigningDomain) -> Signature {
        self.sign(&checkpoint.signing_digest(domain))
    }
}

impl fmt::Debug for ValidatorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ValidatorKey(<redacted> {})", self.address)
    }
}

/// The Ethereum address of a public key: the last 20 bytes of keccak-256 of its uncompressed
/// encoding without the 0x04 tag.
pub(crate) fn address_of(key: &VerifyingKey) -> EvmAddress {
    let point = key.to_encoded_point(false);
    let hash = keccak256(&point.as_bytes()[1..]);
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash.0[12..]);
    EvmAddress(out)
}
