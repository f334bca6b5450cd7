//! X25519 privacy keys: [`PublicKey`] (parsed from the configuration), [`KeyId`] (what envelope
//! headers name), and [`KeyPair`] (an organisation's private key, zeroized on drop, never
//! printed).
//!
//! Security decisions:
//! - A [`PublicKey`] that exists is canonical and of large order: small-order points are refused
//!   when the key is registered (T43), not only when a shared secret turns out all-zero.
//! - Every Diffie-Hellman result is additionally checked against all-zero in constant time,
//!   as RFC 9180 §7.1.4 requires of DHKEM.

mod file;
mod xeddsa;

pub use xeddsa::{SIGNATURE_LEN, Signature};

use core::fmt;
use core::str::FromStr;

use base64::Engine as _;
use rand_core::CryptoRngCore;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::Error;

/// Length of an X25519 public or private key.
pub const KEY_LEN: usize = 32;

/// Length of a [`KeyId`] in bytes.
pub const KEY_ID_LEN: usize = 16;

/// An X25519 public key: canonical encoding, not of small order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; KEY_LEN]);

impl PublicKey {
    /// Checks and wraps 32 bytes. Refuses small-order points (with or without bit 255 set,
    /// canonical or not) and non-canonical encodings.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Result<Self, Error> {
        // Small order first, so that e.g. p+1 (non-canonical *and* small order) reports the
        // more serious problem. A clamped scalar is a multiple of 8 and below 8 times the
        // prime-order subgroups' orders (curve and twist), so the product is the identity
        // exactly when the point's order divides 8: this test is exhaustive, unlike a blocklist.
        let probe = StaticSecret::from([0x5a; KEY_LEN]);
        let shared = probe.diffie_hellman(&x25519_dalek::PublicKey::from(bytes));
        if !shared.was_contributory() {
            return Err(Error::LowOrderPublicKey {
                key_hex: hex::encode(bytes),
            });
        }
        if !is_canonical(&bytes) {
            return Err(Error::NonCanonicalPublicKey {
                key_hex: hex::encode(bytes),
            });
        }
        Ok(PublicKey(bytes))
    }

    /// Checks and wraps a byte slice, which must be exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let array: [u8; KEY_LEN] = bytes.try_into().map_err(|_| Error::InvalidKeyLength {
            what: "X25519 public key",
            expected: KEY_LEN,
            actual: bytes.len(),
        })?;
        Self::from_bytes(array)
    }

    /// The 32-byte encoding.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The key's id: the first 16 bytes of SHA-256 of its encoding.
    pub fn key_id(&self) -> KeyId {
        let digest = Sha256::digest(self.0);
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        KeyId(id)
    }

    /// Lowercase hex, 64 digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Standard base64 with padding, 44 characters (the [`Display`](fmt::Display) form).
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }
}

/// Whether `u` is the canonical encoding of a field element: bit 255 clear and value < p.
fn is_canonical(u: &[u8; KEY_LEN]) -> bool {
    if u[31] & 0x80 != 0 {
        return false;
    }
    // p = 2^255 - 19 = 0x7fff..ffed (little-endian: ed ff .. ff 7f). Values >= p with bit 255
    // clear are p .. 2^255-1: last byte 0x7f, bytes 1..31 all 0xff, first byte >= 0xed.
    let top_all_ones = u[31] == 0x7f && u[1..31].iter().all(|b| *b == 0xff);
    !(top_all_ones && u[0] >= 0xed)
}

impl FromStr for PublicKey {
    type Err = Error;

    /// Parses 64 hex digits (optionally `0x`-prefixed) or base64 (standard or URL-safe, with or
    /// without padding) of 32 bytes, as the configuration carries them.
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        let digits = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .unwrap_or(s);
        if digits.len() == 2 * KEY_LEN && digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut out = [0u8; KEY_LEN];
            hex::decode_to_slice(digits, &mut out).map_err(|e| Error::PublicKeyEncoding {
                reason: e.to_string(),
            })?;
            return Self::from_bytes(out);
        }
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            if let Ok(bytes) = engine.decode(s) {
                return Self::from_slice(&bytes).map_err(|e| match e {
                    Error::InvalidKeyLength { actual, .. } => Error::PublicKeyEncoding {
                        reason: format!("base64 decodes to {actual} bytes, expected {KEY_LEN}"),
                    },
                    other => other,
                });
            }
        }
        Err(Error::PublicKeyEncoding {
            reason: format!(
                "expected 64 hex digits or base64 of 32 bytes, got {} characters",
                s.len()
            ),
        })
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

causeway_proofs::serde_as_text!(PublicKey, PublicKey::to_base64);

/// A public key's id: the first 16 bytes of SHA-256 of the key. Public; envelope headers name
/// recipients by it. Displayed as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub [u8; KEY_ID_LEN]);

impl KeyId {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_ID_LEN] {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", hex::encode(self.0))
    }
}

impl FromStr for KeyId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let mut out = [0u8; KEY_ID_LEN];
        hex::decode_to_slice(s.trim(), &mut out).map_err(|e| Error::PublicKeyEncoding {
            reason: format!("key id must be {} hex digits: {e}", 2 * KEY_ID_LEN),
        })?;
        Ok(KeyId(out))
    }
}

causeway_proofs::serde_as_text!(KeyId, KeyId::to_string);

/// An X25519 private key with its public key and id. The secret is zeroized on drop and never
/// printed; the type is deliberately not `Clone` (share it behind an `Arc`).
pub struct KeyPair {
    secret: StaticSecret,
    public: PublicKey,
    id: KeyId,
}

impl KeyPair {
    /// A fresh key pair from the operating system's random number generator.
    pub fn generate() -> Self {
        Self::generate_with_rng(&mut rand_core::OsRng)
    }

    /// A fresh key pair from `rng`.
    pub fn generate_with_rng(rng: &mut impl CryptoRngCore) -> Self {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill_bytes(bytes.as_mut());
        Self::from_secret_bytes(*bytes)
    }

    /// The key pair of a 32-byte X25519 private key (clamped when used, RFC 7748 §5).
    pub fn from_secret_bytes(bytes: [u8; KEY_LEN]) -> Self {
        let secret = StaticSecret::from(bytes);
        let raw = x25519_dalek::PublicKey::from(&secret).to_bytes();
        // X25519 of the base point with a clamped scalar is canonical and of large order.
        let public = PublicKey(raw);
        let id = public.key_id();
        KeyPair { secret, public, id }
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The public key's id.
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// The raw private key, for serialisation by this crate only.
    pub(crate) fn secret_bytes(&self) -> &[u8; KEY_LEN] {
        self.secret.as_bytes()
    }

    /// X25519(private key, `peer`) for any 32-byte peer encoding (bit 255 masked, as RFC 7748
    /// specifies), refusing an all-zero result in constant time (RFC 9180 §7.1.4).
    pub fn diffie_hellman(&self, peer: &[u8; KEY_LEN]) -> Result<Zeroizing<[u8; KEY_LEN]>, Error> {
        let shared = self
            .secret
            .diffie_hellman(&x25519_dalek::PublicKey::from(*peer));
        let out = Zeroizing::new(shared.to_bytes());
        if bool::from(out.ct_eq(&[0u8; KEY_LEN])) {
            return Err(Error::ZeroSharedSecret);
        }
        Ok(out)
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("id", &self.id)
            .field("public", &self.public)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn canonical_boundaries() {
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(!is_canonical(&p));
        let mut p_minus_1 = p;
        p_minus_1[0] = 0xec;
        assert!(is_canonical(&p_minus_1));
        let mut high = [9u8; 32];
        high[31] |= 0x80;
        assert!(!is_canonical(&high));
        assert!(is_canonical(&[9u8; 32]));
    }

    #[test]
    fn public_key_text_forms_round_trip() {
        let kp = KeyPair::from_secret_bytes([7; 32]);
        let pk = *kp.public_key();
        assert_eq!(pk.to_hex().parse::<PublicKey>().unwrap(), pk);
        assert_eq!(
            format!("0x{}", pk.to_hex()).parse::<PublicKey>().unwrap(),
            pk
        );
        assert_eq!(pk.to_base64().parse::<PublicKey>().unwrap(), pk);
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pk.as_bytes());
        assert_eq!(url.parse::<PublicKey>().unwrap(), pk);
        let id = pk.key_id();
        assert_eq!(id.to_string().parse::<KeyId>().unwrap(), id);
        assert_eq!(id.to_string().len(), 32);
    }

    #[test]
    fn debug_redacts_secret() {
        let secret = [0x42u8; 32];
        let kp = KeyPair::from_secret_bytes(secret);
        let shown = format!("{kp:?}");
        assert!(shown.contains("redacted"));
        assert!(!shown.contains(&hex::encode(secret)));
        assert!(!shown.contains(&base64::engine::general_purpose::STANDARD.encode(secret)));
    }
}
