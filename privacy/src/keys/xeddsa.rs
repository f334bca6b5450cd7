//! XEdDSA signatures with X25519 privacy keys (Trevor Perrin, "The XEdDSA and VXEdDSA Signature
//! Schemes", Signal, revision 1, 2016-10-20, §2.3 and §3).
//!
//! Why: a grant must name its grantor in a way no other reader can forge, and every reader
//! (and the gateway's store, keyless) must be able to check it. The members' published keys are
//! X25519 keys; XEdDSA signs with exactly those, so no second key has to be distributed and
//! configured. It is what Signal uses its identity keys for. No maintained crate implements it
//! on our curve25519-dalek generation, so it is written here over curve25519-dalek's vetted
//! arithmetic (about 40 lines, every step from the specification).
//!
//! Security decisions:
//! - The nonce `r = hash1(a ‖ M ‖ Z)` takes 64 fresh random bytes `Z`, as the specification
//!   requires (a fault or a bad generator alone does not reveal the key).
//! - Verification refuses a non-canonical `s` (not below the group order) and compares the
//!   recomputed `R` by its canonical encoding, so every signature has one accepted encoding
//!   for a given `R`.
//! - Messages are domain-separated by the caller (every signed message starts with a tag).

use core::fmt;

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::{Scalar, clamp_integer};
use rand_core::CryptoRngCore;
use sha2::{Digest as _, Sha512};
use zeroize::Zeroizing;

use super::{KeyPair, PublicKey};
use crate::Error;

/// Bytes of an XEdDSA signature (`R ‖ s`).
pub const SIGNATURE_LEN: usize = 64;

/// An XEdDSA signature: `R` (32 bytes, Edwards point) ‖ `s` (32 bytes, scalar).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; SIGNATURE_LEN]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

/// `hash_i(X) = SHA-512(2^256 - 1 - i ‖ X)`, the prefix little-endian (XEdDSA §2.5).
fn hash_i(i: u8, parts: &[&[u8]]) -> Scalar {
    let mut prefix = [0xffu8; 32];
    prefix[0] = 0xff - i;
    let mut h = Sha512::new();
    h.update(prefix);
    for p in parts {
        h.update(p);
    }
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

/// `hash(X) = SHA-512(X)` reduced mod q.
fn hash(parts: &[&[u8]]) -> Scalar {
    let mut h = Sha512::new();
    for p in parts {
        h.update(p);
    }
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

impl KeyPair {
    /// Signs `message` with this privacy key (XEdDSA `xeddsa_sign`).
    pub fn sign(&self, message: &[u8], rng: &mut impl CryptoRngCore) -> Signature {
        // calculate_key_pair(k): E = kB; A = E with sign bit 0; a = ±k so that aB = A.
        let k = Zeroizing::new(Scalar::from_bytes_mod_order(clamp_integer(
            *self.secret_bytes(),
        )));
        let e = EdwardsPoint::mul_base(&k).compress();
        let negative = e.0[31] >> 7 == 1;
        let a = Zeroizing::new(if negative { -*k } else { *k });
        let mut a_point = e.0;
        a_point[31] &= 0x7f;

        let mut z = Zeroizing::new([0u8; 64]);
        rng.fill_bytes(z.as_mut());
        let r = Zeroizing::new(hash_i(1, &[a.as_bytes(), message, z.as_ref()]));
        let r_point = EdwardsPoint::mul_base(&r).compress();
        let h = hash(&[r_point.as_bytes(), &a_point, message]);
        let s = *r + h * *a;
        let mut out = [0u8; SIGNATURE_LEN];
        out[..32].copy_from_slice(r_point.as_bytes());
        out[32..].copy_from_slice(s.as_bytes());
        Signature(out)
    }
}

impl PublicKey {
    /// Checks an XEdDSA signature on `message` by this key (`xeddsa_verify`).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), Error> {
        let bad = || Error::BadSignature {
            key_id: self.key_id(),
        };
        let mut r_bytes = [0u8; 32];
        r_bytes.copy_from_slice(&signature.0[..32]);
        let mut s_bytes = [0u8; 32];
        s_bytes.copy_from_slice(&signature.0[32..]);
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)).ok_or_else(bad)?;
        // u < p holds for every PublicKey (canonical encodings only); A = convert_mont(u).
        let a_point = MontgomeryPoint(*self.as_bytes())
            .to_edwards(0)
            .ok_or_else(bad)?;
        let a_bytes = a_point.compress();
        let h = hash(&[&r_bytes, a_bytes.as_bytes(), message]);
        let r_check = EdwardsPoint::vartime_double_scalar_mul_basepoint(&(-h), &a_point, &s);
        if r_check.compress().0 == r_bytes {
            Ok(())
        } else {
            Err(bad())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The Edwards key XEdDSA derives is the birational image of the X25519 public key: the
    /// conversion both sides rely on agrees with x25519-dalek's own scalar multiplication.
    #[test]
    fn the_edwards_key_maps_to_the_x25519_public_key() {
        for seed in [1u8, 2, 0x5a, 0xff] {
            let kp = KeyPair::from_secret_bytes([seed; 32]);
            let k = Scalar::from_bytes_mod_order(clamp_integer(*kp.secret_bytes()));
            let e = EdwardsPoint::mul_base(&k);
            assert_eq!(e.to_montgomery().0, *kp.public_key().as_bytes());
        }
    }

    #[test]
    fn signatures_verify_and_nothing_else_does() {
        let mut rng = rand_core::OsRng;
        for seed in 1u8..=16 {
            let kp = KeyPair::from_secret_bytes([seed; 32]);
            let sig = kp.sign(b"message", &mut rng);
            kp.public_key().verify(b"message", &sig).unwrap();
            // Fresh Z: a second signature differs and verifies too.
            let again = kp.sign(b"message", &mut rng);
            assert_ne!(sig, again);
            kp.public_key().verify(b"message", &again).unwrap();
            assert!(kp.public_key().verify(b"messagE", &sig).is_err());
            let other = KeyPair::from_secret_bytes([seed.wrapping_add(100); 32]);
            assert!(other.public_key().verify(b"message", &sig).is_err());
            for bit in [0, 100, 255, 256, 300, 511] {
                let mut bad = sig;
                bad.0[bit / 8] ^= 1 << (bit % 8);
                assert!(
                    kp.public_key().verify(b"message", &bad).is_err(),
                    "bit {bit}"
                );
            }
            // s + q (same scalar, non-canonical encoding) is refused.
            let s = Scalar::from_canonical_bytes(sig.0[32..].try_into().unwrap()).unwrap();
            let mut wide = [0u8; 33];
            let q: [u8; 32] = [
                0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
                0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
            ];
            let mut carry = 0u16;
            for i in 0..32 {
                let v = u16::from(s.as_bytes()[i]) + u16::from(q[i]) + carry;
                wide[i] = v as u8;
                carry = v >> 8;
            }
            if carry == 0 {
                let mut bad = sig;
                bad.0[32..].copy_from_slice(&wide[..32]);
                assert!(kp.public_key().verify(b"message", &bad).is_err());
            }
        }
    }
}
