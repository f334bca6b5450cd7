//! DHKEM(X25519, HKDF-SHA256), KEM id 0x0020 (RFC 9180 §4.1, §7.1).

use core::fmt;

use rand_core::CryptoRngCore;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{labeled_expand, labeled_extract};
use crate::Error;
use crate::keys::{KEY_LEN, KeyPair, PublicKey};

/// The KEM identifier.
pub const KEM_ID: u16 = 0x0020;
/// `Nsecret`, `Nenc`, `Npk`, `Nsk` of DHKEM(X25519, HKDF-SHA256): all 32.
pub const NSECRET: usize = 32;

/// `suite_id` of the KEM: `"KEM" ‖ I2OSP(kem_id, 2)`.
const SUITE_ID: [u8; 5] = [b'K', b'E', b'M', 0x00, 0x20];

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

/// DeriveKeyPair(ikm) (RFC 9180 §7.1.3): deterministic key pair from input keying material.
pub fn derive_key_pair(ikm: &[u8]) -> KeyPair {
    let dkp_prk = labeled_extract(&SUITE_ID, b"", b"dkp_prk", &[ikm]);
    let mut sk = Zeroizing::new([0u8; KEY_LEN]);
    labeled_expand(&SUITE_ID, &dkp_prk, b"sk", &[], sk.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    KeyPair::from_secret_bytes(*sk)
}

/// GenerateKeyPair(): DeriveKeyPair of `Nsk` random bytes (RFC 9180 §4). Drawing the ikm rather
/// than the scalar lets a test replay a published ikmE through an RNG that returns it.
pub fn generate_key_pair(rng: &mut impl CryptoRngCore) -> KeyPair {
    let mut ikm = Zeroizing::new([0u8; KEY_LEN]);
    rng.fill_bytes(ikm.as_mut());
    derive_key_pair(ikm.as_ref())
}

/// ExtractAndExpand(dh, kem_context).
fn extract_and_expand(dh: &[&[u8]], kem_context: &[&[u8]]) -> SharedSecret {
    let eae_prk = labeled_extract(&SUITE_ID, b"", b"eae_prk", dh);
    let mut out = Zeroizing::new([0u8; NSECRET]);
    labeled_expand(
        &SUITE_ID,
        &eae_prk,
        b"shared_secret",
        kem_context,
        out.as_mut(),
    )
    .expect("32 bytes is a valid HKDF-SHA256 output length");
    SharedSecret(out)
}

/// Encap(pkR): a fresh ephemeral key pair from `rng`, the shared secret and `enc`.
pub fn encap(
    pk_r: &PublicKey,
    rng: &mut impl CryptoRngCore,
) -> Result<(SharedSecret, EncappedKey), Error> {
    let ephemeral = generate_key_pair(rng);
    let dh = ephemeral.diffie_hellman(pk_r.as_bytes())?;
    let enc = EncappedKey(*ephemeral.public_key().as_bytes());
    let ss = extract_and_expand(&[dh.as_ref()], &[enc.as_bytes(), pk_r.as_bytes()]);
    Ok((ss, enc))
}

/// Decap(enc, skR).
pub fn decap(enc: &EncappedKey, sk_r: &KeyPair) -> Result<SharedSecret, Error> {
    let dh = sk_r.diffie_hellman(enc.as_bytes())?;
    Ok(extract_and_expand(
        &[dh.as_ref()],
        &[enc.as_bytes(), sk_r.public_key().as_bytes()],
    ))
}

/// AuthEncap(pkR, skS): like [`encap`], and also authenticates the sender's key `sk_s`.
pub fn auth_encap(
    pk_r: &PublicKey,
    sk_s: &KeyPair,
    rng: &mut impl CryptoRngCore,
) -> Result<(SharedSecret, EncappedKey), Error> {
    let ephemeral = generate_key_pair(rng);
    let dh_e = ephemeral.diffie_hellman(pk_r.as_bytes())?;
    let dh_s = sk_s.diffie_hellman(pk_r.as_bytes())?;
    let enc = EncappedKey(*ephemeral.public_key().as_bytes());
    let ss = extract_and_expand(
        &[dh_e.as_ref(), dh_s.as_ref()],
        &[
            enc.as_bytes(),
            pk_r.as_bytes(),
            sk_s.public_key().as_bytes(),
        ],
    );
    Ok((ss, enc))
}

/// AuthDecap(enc, skR, pkS).
pub fn auth_decap(
    enc: &EncappedKey,
    sk_r: &KeyPair,
    pk_s: &PublicKey,
) -> Result<SharedSecret, Error> {
    let dh_e = sk_r.diffie_hellman(enc.as_bytes())?;
    let dh_s = sk_r.diffie_hellman(pk_s.as_bytes())?;
    Ok(extract_and_expand(
        &[dh_e.as_ref(), dh_s.as_ref()],
        &[
            enc.as_bytes(),
            sk_r.public_key().as_bytes(),
            pk_s.as_bytes(),
        ],
    ))
}
