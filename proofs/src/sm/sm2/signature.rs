//! SM2 signatures: the (r, s) pair, verification (GB/T 32918.2 clause 7) and signing
//! (clause 6), by the RustCrypto `sm2` crate's `dsa` module. Ours are only what it cannot do:
//! identities that are not UTF-8, prehashed values other than 32 bytes (OpenSSL's
//! convention), and signing with a given k for known-answer tests.

use core::fmt;

use ::sm2::dsa::signature::Verifier as _;
use ::sm2::dsa::signature::hazmat::{PrehashVerifier as _, RandomizedPrehashSigner as _};
use ::sm2::dsa::{Signature as LibSignature, SigningKey, VerifyingKey};
use ::sm2::elliptic_curve::ops::Reduce;
use ::sm2::elliptic_curve::point::AffineCoordinates;
use ::sm2::elliptic_curve::rand_core::CryptoRngCore;
use ::sm2::elliptic_curve::zeroize::Zeroize;
use ::sm2::elliptic_curve::{Curve, Group, PrimeField};
use ::sm2::{FieldBytes, NonZeroScalar, ProjectivePoint, Scalar, Sm2, U256};

use super::key::nonzero_scalar;
use super::{MAX_USER_ID_LEN, Sm2PublicKey, Sm2SecretKey, message_digest};
use crate::{Error, Hash32};

/// Longest prehashed value [`verify_prehash`] accepts: 64 bytes, a SHA-512 digest.
pub const MAX_PREHASH_LEN: usize = 64;

/// An SM2 signature (r, s), both in 1..n-1 (steps B1 and B2 of GB/T 32918.2 clause 7.1 are
/// checked when it is built, so a signature that exists passed them).
///
/// SM2 signatures are not malleable the way ECDSA's are: (r, n - s) does not verify, so no
/// low-s rule is needed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sm2Signature {
    r: [u8; 32],
    s: [u8; 32],
}

impl Sm2Signature {
    /// Parses the 64-byte big-endian r ‖ s (FISCO BCOS's form, before the appended public key).
    ///
    /// Fails with [`Error::Sm2InvalidSignature`] for another length or an r or s that is zero or
    /// not below the group order n.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let rs: &[u8; 64] = bytes
            .try_into()
            .map_err(|_| invalid_signature("a signature is 64 bytes r ‖ s"))?;
        let (r, s) = rs.split_at(32);
        Self::from_scalars(
            r.try_into()
                .map_err(|_| invalid_signature("r is 32 bytes"))?,
            s.try_into()
                .map_err(|_| invalid_signature("s is 32 bytes"))?,
        )
    }

    /// The signature with big-endian components `r` and `s`; fails with
    /// [`Error::Sm2InvalidSignature`] unless both are in 1..n-1.
    pub fn from_scalars(r: &[u8; 32], s: &[u8; 32]) -> Result<Self, Error> {
        if nonzero_scalar(r).is_none() {
            return Err(invalid_signature(
                "r is zero or not below the group order n",
            ));
        }
        if nonzero_scalar(s).is_none() {
            return Err(invalid_signature(
                "s is zero or not below the group order n",
            ));
        }
        Ok(Sm2Signature { r: *r, s: *s })
    }

    /// r, big-endian.
    pub fn r(&self) -> &[u8; 32] {
        &self.r
    }

    /// s, big-endian.
    pub fn s(&self) -> &[u8; 32] {
        &self.s
    }

    /// The 64-byte encoding r ‖ s.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.r);
        out[32..].copy_from_slice(&self.s);
        out
    }

    /// The `sm2` crate's form (which checks r and s again).
    fn to_lib(self) -> LibSignature {
        LibSignature::from_scalars(self.r, self.s)
            .expect("r and s were checked to be in 1..n-1 when the signature was built")
    }

    /// Ours from the `sm2` crate's signature, whose r and s are non-zero scalars.
    fn from_lib(signature: &LibSignature) -> Self {
        Sm2Signature {
            r: signature.r_bytes().into(),
            s: signature.s_bytes().into(),
        }
    }
}

impl fmt::Debug for Sm2Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sm2Signature")
            .field("r", &format_args!("0x{}", hex::encode(self.r)))
            .field("s", &format_args!("0x{}", hex::encode(self.s)))
            .finish()
    }
}

fn invalid_signature(reason: &'static str) -> Error {
    Error::Sm2InvalidSignature { reason }
}

/// Verifies `signature` over message `msg` by `public_key` under identity `user_id`
/// (usually [`super::DEFAULT_USER_ID`]): e = SM3(Z_A ‖ M) and steps B1–B7, by the `sm2`
/// crate's verifier.
///
/// Fails with [`Error::Sm2VerificationFailed`] if the signature does not verify, or
/// [`Error::Sm2UserIdTooLong`].
pub fn verify(
    public_key: &Sm2PublicKey,
    user_id: &[u8],
    msg: &[u8],
    signature: &Sm2Signature,
) -> Result<(), Error> {
    check_user_id(user_id)?;
    match core::str::from_utf8(user_id) {
        Ok(distid) => verifying_key(public_key, distid)?
            .verify(msg, &signature.to_lib())
            .map_err(|_| Error::Sm2VerificationFailed),
        // The crate takes the identity as `&str`; GB/T 32918 allows any bytes. Only then is Z
        // ours ([`super::za`]), and the crate verifies the resulting e.
        Err(_) => verify_digest(
            public_key,
            &message_digest(public_key, user_id, msg)?,
            signature,
        ),
    }
}

/// Verifies `signature` over the already computed digest e = SM3(Z_A ‖ M) (steps B1–B7 of
/// GB/T 32918.2 clause 7.1, by the `sm2` crate's prehash verifier).
///
/// The caller is responsible for e binding Z_A: verifying an e that was not computed with
/// [`super::message_digest`] (or the same formula) drops the identity binding of SM2.
pub fn verify_digest(
    public_key: &Sm2PublicKey,
    e: &Hash32,
    signature: &Sm2Signature,
) -> Result<(), Error> {
    // The crate's prehash verifier does not read the identifier (Z is only for messages).
    verifying_key(public_key, "")?
        .verify_prehash(&e.0, &signature.to_lib())
        .map_err(|_| Error::Sm2VerificationFailed)
}

/// Verifies `signature` over a prehashed value of 1 to [`MAX_PREHASH_LEN`] bytes, read as a
/// big-endian integer and reduced mod n: OpenSSL's `EVP_PKEY_verify` convention for SM2, whose
/// published vectors also use 64-byte SHA-512 values. For SM3 digests this equals
/// [`verify_digest`].
///
/// Fails with [`Error::Sm2InvalidPrehash`] for an empty or longer value, else as
/// [`verify_digest`].
pub fn verify_prehash(
    public_key: &Sm2PublicKey,
    prehash: &[u8],
    signature: &Sm2Signature,
) -> Result<(), Error> {
    if prehash.is_empty() || prehash.len() > MAX_PREHASH_LEN {
        return Err(Error::Sm2InvalidPrehash {
            len: prehash.len(),
            max: MAX_PREHASH_LEN,
        });
    }
    // The crate's verifier takes exactly 32 bytes, and reduces them mod n. Ours: the reduction
    // of a shorter or longer value to the 32-byte e the crate then verifies.
    let mut wide = [0u8; 64];
    wide[64 - prehash.len()..].copy_from_slice(prehash);
    let (high, low) = wide.split_at(32);
    // value = high · 2^256 + low, and 2^256 ≡ 2^256 - n (mod n) because n > 2^255.
    let two_256_mod_n = Scalar::reduce(U256::ZERO.wrapping_sub(&Sm2::ORDER));
    let e = Scalar::reduce_bytes(FieldBytes::from_slice(high)) * two_256_mod_n
        + Scalar::reduce_bytes(FieldBytes::from_slice(low));
    verify_digest(public_key, &Hash32(e.to_repr().into()), signature)
}

/// The `sm2` crate's verifying key for `public_key` and identity `distid`.
fn verifying_key(public_key: &Sm2PublicKey, distid: &str) -> Result<VerifyingKey, Error> {
    // Fails only for the identity (never a `Sm2PublicKey`) or an over-long identity (checked
    // by the callers).
    VerifyingKey::from_affine(distid, *public_key.point()).map_err(|_| Error::Sm2InvalidPublicKey {
        reason: "the sm2 crate refused the key",
    })
}

/// The identity's bit length must fit ENTL's 16 bits.
fn check_user_id(user_id: &[u8]) -> Result<(), Error> {
    if user_id.len() > MAX_USER_ID_LEN {
        return Err(Error::Sm2UserIdTooLong {
            len: user_id.len(),
            max: MAX_USER_ID_LEN,
        });
    }
    Ok(())
}

/// Signs message `msg` under identity `user_id`: e = SM3(Z_A ‖ M), then [`sign_digest`].
///
/// Fails with [`Error::Sm2UserIdTooLong`], or as [`sign_digest`].
pub fn sign(
    secret_key: &Sm2SecretKey,
    user_id: &[u8],
    msg: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Sm2Signature, Error> {
    let e = message_digest(&secret_key.public_key(), user_id, msg)?;
    sign_digest(secret_key, &e, rng)
}

/// How often [`sign_digest`] asks the crate again after a refused nonce (probability about
/// 2^-255 each) before it blames the random number generator.
const SIGN_ATTEMPTS: usize = 8;

/// Signs the digest e (GB/T 32918.2 clause 6.1, steps A3–A7) with the `sm2` crate's signer:
/// the nonce k is RFC 6979's, hedged with 32 fresh bytes from `rng` (so a weak `rng` alone
/// does not reveal the key, and a fault cannot repeat k across messages).
///
/// Fails with [`Error::Sm2SigningFailed`] if `rng` fails repeatedly.
pub fn sign_digest(
    secret_key: &Sm2SecretKey,
    e: &Hash32,
    rng: &mut impl CryptoRngCore,
) -> Result<Sm2Signature, Error> {
    // The crate's `SigningKey` reads the identifier only to compute Z for messages.
    let signing_key = SigningKey::from_nonzero_scalar("", secret_key.scalar())
        .map_err(|_| Error::Sm2InvalidSecretKey)?;
    for _ in 0..SIGN_ATTEMPTS {
        // A refusal is the crate's "return to A3" (r = 0, r + k = n) or an RNG error.
        if let Ok(signature) = signing_key.sign_prehash_with_rng(&mut *rng, &e.0) {
            return Ok(Sm2Signature::from_lib(&signature));
        }
    }
    Err(Error::Sm2SigningFailed {
        reason: "no nonce was accepted: the random number generator is failing",
    })
}

/// Signs the digest e with the caller's nonce `k` (big-endian, in 1..n-1): **for known-answer
/// tests only**, to reproduce published (r, s) values such as GB/T 32918.5 Annex A. Ours: the
/// `sm2` crate always derives k itself (RFC 6979), so it cannot reproduce a published k.
///
/// Security: a production signer must never choose k itself; two signatures with one k, or a
/// k with a few known bits, reveal the secret key. Use [`sign_digest`].
///
/// Fails with [`Error::Sm2SigningFailed`] if k is out of range or the standard's step A6/A7
/// rejects it (r = 0, r + k = n or s = 0).
pub fn sign_digest_with_k(
    secret_key: &Sm2SecretKey,
    e: &Hash32,
    k: &[u8; 32],
) -> Result<Sm2Signature, Error> {
    let mut k = nonzero_scalar(k).ok_or(Error::Sm2SigningFailed {
        reason: "k is zero or not below the group order n",
    })?;
    let signature = sign_scalar(
        secret_key,
        &Scalar::reduce_bytes(FieldBytes::from_slice(&e.0)),
        &k,
    );
    k.zeroize();
    signature
}

/// Steps A4–A7 with e reduced mod n.
fn sign_scalar(
    secret_key: &Sm2SecretKey,
    e: &Scalar,
    k: &NonZeroScalar,
) -> Result<Sm2Signature, Error> {
    // A4: (x1, y1) = [k]G, never the identity since 0 < k < n.
    let x1 = (ProjectivePoint::generator() * **k).to_affine().x();
    // A5: r = (e + x1) mod n; retry if r = 0 or r + k = n.
    let r = *e + Scalar::reduce_bytes(&x1);
    if bool::from(r.is_zero() | (r + **k).is_zero()) {
        return Err(Error::Sm2SigningFailed {
            reason: "r = 0 or r + k = n for this k",
        });
    }
    // A6: s = ((1 + d)^-1 · (k - r · d)) mod n; retry if s = 0.
    let mut d = secret_key.scalar();
    let mut inverse = Option::<Scalar>::from((Scalar::ONE + *d).invert())
        .expect("1 + d is non-zero because Sm2SecretKey excludes d = n - 1");
    let s = inverse * (**k - r * *d);
    d.zeroize();
    inverse.zeroize();
    if bool::from(s.is_zero()) {
        return Err(Error::Sm2SigningFailed {
            reason: "s = 0 for this k",
        });
    }
    Ok(Sm2Signature {
        r: r.to_repr().into(),
        s: s.to_repr().into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_256_mod_n_is_right() {
        // n = FFFFFFFE FFFFFFFF FFFFFFFF FFFFFFFF 7203DF6B 21C6052B 53BBF409 39D54123
        // (GB/T 32918.5), so 2^256 - n = 1 00000000 00000000 00000000 8DFC2094 DE39FAD4 AC440BF6 C62ABEDD.
        let v = Scalar::reduce(U256::ZERO.wrapping_sub(&Sm2::ORDER));
        assert_eq!(
            hex::encode(v.to_repr()),
            "000000010000000000000000000000008dfc2094de39fad4ac440bf6c62abedd"
        );
    }

    #[test]
    fn prehash_of_32_bytes_equals_digest_path() {
        let key = Sm2SecretKey::from_bytes(&[0x42; 32]).expect("valid scalar");
        let e = Hash32([0xee; 32]);
        let sig = sign_digest_with_k(&key, &e, &[0x11; 32]).expect("k is valid");
        assert_eq!(verify_digest(&key.public_key(), &e, &sig), Ok(()));
        assert_eq!(verify_prehash(&key.public_key(), &e.0, &sig), Ok(()));
        // A 64-byte value with 32 leading zero bytes is the same integer.
        let mut wide = [0u8; 64];
        wide[32..].copy_from_slice(&e.0);
        assert_eq!(verify_prehash(&key.public_key(), &wide, &sig), Ok(()));
        assert!(matches!(
            verify_prehash(&key.public_key(), &[], &sig),
            Err(Error::Sm2InvalidPrehash { len: 0, .. })
        ));
        assert!(matches!(
            verify_prehash(&key.public_key(), &[0u8; 65], &sig),
            Err(Error::Sm2InvalidPrehash { len: 65, .. })
        ));
    }
}
