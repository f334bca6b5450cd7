//! DHKEM(X25519, HKDF-SHA256), KEM id 0x0020 (RFC 9180 §4.1, §7.1), from the `hpke` crate.
//!
//! This module only converts between our key types and the crate's: the key derivation, the
//! Diffie-Hellman steps, the all-zero check and ExtractAndExpand are `hpke`'s
//! (`hpke::kem::X25519HkdfSha256`). The stand-alone Encap/Decap functions are kept for the
//! RFC 9180 vector tests, which check the shared secret the setup functions do not expose.

use core::fmt;

use hpke::{Deserializable as _, Kem as _, Serializable as _};
use rand_core::CryptoRngCore;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::Error;
use crate::keys::{KEY_LEN, KeyPair, PublicKey};

/// The `hpke` crate's DHKEM(X25519, HKDF-SHA256).
pub(crate) type Kem = hpke::kem::X25519HkdfSha256;
/// The `hpke` crate's X25519 private key (a `StaticSecret`, zeroized on drop).
pub(crate) type LibPrivateKey = <Kem as hpke::Kem>::PrivateKey;
/// The `hpke` crate's X25519 public key.
pub(crate) type LibPublicKey = <Kem as hpke::Kem>::PublicKey;
/// The `hpke` crate's encapsulated key.
pub(crate) type LibEncappedKey = <Kem as hpke::Kem>::EncappedKey;

/// The KEM identifier.
pub const KEM_ID: u16 = <Kem as hpke::Kem>::KEM_ID;
/// `Nsecret`, `Nenc`, `Npk`, `Nsk` of DHKEM(X25519, HKDF-SHA256): all 32.
pub const NSECRET: usize = 32;

/// The encapsulated key `enc` (the ephemeral public key). Any 32 bytes: decapsulation refuses
/// those of small order by the all-zero check.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncappedKey(pub [u8; KEY_LEN]);

impl EncappedKey {
    /// From a slice of exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        bytes
            .try_into()
            .map(EncappedKey)
            .map_err(|_| Error::InvalidKeyLength {
                what: "HPKE encapsulated key",
                expected: KEY_LEN,
                actual: bytes.len(),
            })
    }

    /// The encoding.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The `hpke` crate's form (any 32 bytes are accepted, as RFC 9180 DeserializePublicKey
    /// for X25519 does).
    pub(crate) fn to_lib(self) -> LibEncappedKey {
        LibEncappedKey::from_bytes(&self.0).expect("X25519 accepts every 32-byte encoding")
    }

    fn from_lib(enc: &LibEncappedKey) -> Self {
        let mut out = [0u8; KEY_LEN];
        out.copy_from_slice(&enc.to_bytes());
        EncappedKey(out)
    }
}

impl fmt::Debug for EncappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncappedKey({})", hex::encode(self.0))
    }
}

/// The KEM shared secret. Zeroized on drop; compares only in constant time (no `PartialEq`).
pub struct SharedSecret(Zeroizing<[u8; NSECRET]>);

impl SharedSecret {
    /// The secret bytes.
    pub fn as_bytes(&self) -> &[u8; NSECRET] {
        &self.0
    }

    /// Copies the crate's shared secret (which zeroizes itself on drop) into ours.
    fn from_lib(ss: &hpke::kem::SharedSecret<Kem>) -> Self {
        let mut out = Zeroizing::new([0u8; NSECRET]);
        out.copy_from_slice(&ss.0);
        SharedSecret(out)
    }
}

impl ConstantTimeEq for SharedSecret {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&*other.0)
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

/// Our private key in the `hpke` crate's type. Both wrap an x25519-dalek `StaticSecret`
/// (zeroized on drop); the crate's constructor takes a slice, so the copy goes through it.
pub(crate) fn lib_private_key(key: &KeyPair) -> LibPrivateKey {
    LibPrivateKey::from_bytes(key.secret_bytes()).expect("an X25519 private key is 32 bytes")
}

/// Our public key in the `hpke` crate's type.
pub(crate) fn lib_public_key(key: &PublicKey) -> LibPublicKey {
    LibPublicKey::from_bytes(key.as_bytes()).expect("an X25519 public key is 32 bytes")
}

/// The crate's X25519 Encap/Decap fail only on an all-zero Diffie-Hellman output (RFC 9180
/// §7.1.4), reported as `EncapError`/`DecapError` ("the only possible error" in its docs of
/// `setup_sender`/`setup_receiver`); we name it.
pub(crate) fn kem_error(_: hpke::HpkeError) -> Error {
    Error::ZeroSharedSecret
}

/// DeriveKeyPair(ikm) (RFC 9180 §7.1.3): deterministic key pair from input keying material.
pub fn derive_key_pair(ikm: &[u8]) -> KeyPair {
    let (sk, _) = Kem::derive_keypair(ikm);
    // Written straight into a zeroized buffer (`to_bytes` would leave an unwiped copy).
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    sk.write_exact(bytes.as_mut());
    KeyPair::from_secret_bytes(*bytes)
}

/// GenerateKeyPair(): DeriveKeyPair of `Nsk` random bytes (RFC 9180 §4), as the crate's
/// Encap draws its ephemeral key, so a test can replay a published ikmE through an RNG that
/// returns it.
pub fn generate_key_pair(rng: &mut impl CryptoRngCore) -> KeyPair {
    let mut ikm = Zeroizing::new([0u8; KEY_LEN]);
    rng.fill_bytes(ikm.as_mut());
    derive_key_pair(ikm.as_ref())
}

/// Encap(pkR): a fresh ephemeral key pair from `rng`, the shared secret and `enc`.
pub fn encap(
    pk_r: &PublicKey,
    rng: &mut impl CryptoRngCore,
) -> Result<(SharedSecret, EncappedKey), Error> {
    // `Kem::encap`/`decap` are public but doc-hidden in hpke 0.12 (pinned): they are the only
    // way to reach the shared secret, which the RFC vectors publish and our tests check.
    let (ss, enc) = Kem::encap(&lib_public_key(pk_r), None, rng).map_err(kem_error)?;
    Ok((SharedSecret::from_lib(&ss), EncappedKey::from_lib(&enc)))
}

/// Decap(enc, skR).
pub fn decap(enc: &EncappedKey, sk_r: &KeyPair) -> Result<SharedSecret, Error> {
    let ss = Kem::decap(&lib_private_key(sk_r), None, &enc.to_lib()).map_err(kem_error)?;
    Ok(SharedSecret::from_lib(&ss))
}

/// AuthEncap(pkR, skS): like [`encap`], and also authenticates the sender's key `sk_s`.
pub fn auth_encap(
    pk_r: &PublicKey,
    sk_s: &KeyPair,
    rng: &mut impl CryptoRngCore,
) -> Result<(SharedSecret, EncappedKey), Error> {
    let sender = (lib_private_key(sk_s), lib_public_key(sk_s.public_key()));
    let (ss, enc) =
        Kem::encap(&lib_public_key(pk_r), Some((&sender.0, &sender.1)), rng).map_err(kem_error)?;
    Ok((SharedSecret::from_lib(&ss), EncappedKey::from_lib(&enc)))
}

/// AuthDecap(enc, skR, pkS).
pub fn auth_decap(
    enc: &EncappedKey,
    sk_r: &KeyPair,
    pk_s: &PublicKey,
) -> Result<SharedSecret, Error> {
    let ss = Kem::decap(
        &lib_private_key(sk_r),
        Some(&lib_public_key(pk_s)),
        &enc.to_lib(),
    )
    .map_err(kem_error)?;
    Ok(SharedSecret::from_lib(&ss))
}
