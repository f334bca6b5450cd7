//! SM2 digital signatures (GB/T 32918.2-2016 = GM/T 0003.2-2012) on the recommended curve
//! sm2p256v1 (GB/T 32918.5-2017 = GM/T 0003.5-2012).
//!
//! A signature signs e = SM3(Z ‖ M), where Z ([`za`]) binds the signer's identity and public
//! key to the curve. Verification ([`verify`], [`verify_digest`], [`verify_prehash`]) and
//! signing ([`sign`], [`sign_digest`]) are the RustCrypto `sm2` crate's `dsa` module
//! (`VerifyingKey`/`SigningKey` with a distinguishing identifier). Ours, because that crate
//! cannot express them: [`za`] and [`message_digest`] (it keeps Z private and takes the
//! identity as UTF-8 text, while GB/T 32918 allows any bytes), the reduction of prehashed
//! values other than 32 bytes (OpenSSL's published vectors use 64-byte ones), and
//! [`sign_digest_with_k`] (it derives k itself, so it cannot replay a published k).
//!
//! One difference from the code this replaced: at step B6 the crate reads the x coordinate of
//! [s]G + [t]P without first refusing the identity (x then reads as 0). The identity arises
//! only for s + t·d ≡ 0 (mod n), which needs the secret key d: it is the "k = 0" signature of
//! the key's holder, never a forgery.
//!
//! Security decisions, all checked on construction so that a value that exists is valid:
//! a [`Sm2PublicKey`] is a point of sm2p256v1 with canonical coordinates (never the identity);
//! a [`Sm2Signature`] has r and s in 1..n-1 (step B1/B2); a [`Sm2SecretKey`] is in 1..n-2 (so
//! that 1 + d is invertible) and is zeroized on drop.

mod key;
mod signature;
mod table;

pub use key::{Sm2PublicKey, Sm2SecretKey};
pub use signature::{
    MAX_PREHASH_LEN, Sm2Signature, sign, sign_digest, sign_digest_with_k, verify, verify_digest,
    verify_prehash,
};
pub use table::Sm2KeyVerifier;

use crate::{Error, Hash32, HashAlgorithm};

/// The user identity (ID) both signer and verifier use when none is agreed otherwise: the
/// ASCII string `1234567812345678` of GM/T 0009-2012, also the default of OpenSSL, GmSSL and
/// FISCO BCOS.
pub const DEFAULT_USER_ID: &[u8] = b"1234567812345678";

/// Longest user identity in bytes: ENTL, its length in *bits*, is a 16-bit field.
pub const MAX_USER_ID_LEN: usize = (u16::MAX / 8) as usize;

/// Decodes 64 hex digits at compile time (a bad digit fails the build).
const fn hex32(s: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("not a hex digit"),
        }
    }
    let s = s.as_bytes();
    assert!(s.len() == 64, "32 bytes take 64 hex digits");
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(s[2 * i]) << 4) | nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

// Curve parameters of sm2p256v1, GB/T 32918.5-2017 clause 5 (also the `curve` block of
// shared/vectors/sm/sm2_signature_vectors.json). The `sm2` crate holds the same values for its
// arithmetic; a unit test below checks that its generator agrees with ours, and the published Z
// of Annex A (tests/it/sm2.rs) checks all four.

/// The field prime p.
const P: [u8; 32] = hex32("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF");
/// Coefficient a of y² = x³ + ax + b (a = p - 3).
const A: [u8; 32] = hex32("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC");
/// Coefficient b.
const B: [u8; 32] = hex32("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93");
/// x coordinate of the base point G.
const GX: [u8; 32] = hex32("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7");
/// y coordinate of the base point G.
const GY: [u8; 32] = hex32("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0");

/// Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ Gx ‖ Gy ‖ Px ‖ Py) (GB/T 32918.2 clause 5.5): the hash that
/// binds a signer's identity `user_id` and public key to every message it signs. ENTL is the
/// bit length of `user_id` as a 16-bit big-endian integer.
///
/// Fails with [`Error::Sm2UserIdTooLong`] if `user_id` exceeds [`MAX_USER_ID_LEN`] bytes.
pub fn za(public_key: &Sm2PublicKey, user_id: &[u8]) -> Result<Hash32, Error> {
    let entl = u16::try_from(user_id.len())
        .ok()
        .and_then(|len| len.checked_mul(8))
        .ok_or(Error::Sm2UserIdTooLong {
            len: user_id.len(),
            max: MAX_USER_ID_LEN,
        })?;
    let mut input = Vec::with_capacity(2 + user_id.len() + 6 * 32);
    input.extend_from_slice(&entl.to_be_bytes());
    input.extend_from_slice(user_id);
    for part in [&A, &B, &GX, &GY] {
        input.extend_from_slice(part);
    }
    input.extend_from_slice(&public_key.to_bytes());
    Ok(HashAlgorithm::Sm3.digest(&input))
}

/// e = SM3(Z_A ‖ M) (GB/T 32918.2 clause 6.1, steps A1–A2): the digest an SM2 signature of
/// `msg` by `public_key` under identity `user_id` actually signs.
///
/// Fails with [`Error::Sm2UserIdTooLong`] if `user_id` exceeds [`MAX_USER_ID_LEN`] bytes.
pub fn message_digest(
    public_key: &Sm2PublicKey,
    user_id: &[u8],
    msg: &[u8],
) -> Result<Hash32, Error> {
    let z = za(public_key, user_id)?;
    let mut input = Vec::with_capacity(32 + msg.len());
    input.extend_from_slice(&z.0);
    input.extend_from_slice(msg);
    Ok(HashAlgorithm::Sm3.digest(&input))
}

#[cfg(test)]
mod tests {
    use ::sm2::ProjectivePoint;
    use ::sm2::elliptic_curve::Group;
    use ::sm2::elliptic_curve::sec1::ToEncodedPoint;

    use super::*;

    #[test]
    fn our_curve_constants_match_the_sm2_crate() {
        let g = ProjectivePoint::generator()
            .to_affine()
            .to_encoded_point(false);
        assert_eq!(g.x().map(|x| x.to_vec()), Some(GX.to_vec()));
        assert_eq!(g.y().map(|y| y.to_vec()), Some(GY.to_vec()));
        // a = p - 3 (GB/T 32918.5 clause 5): only the last byte differs, by 3.
        assert_eq!(A[..31], P[..31]);
        assert_eq!(A[31] + 3, P[31]);
    }

    #[test]
    fn user_id_length_is_bounded_by_entl() {
        let key = Sm2SecretKey::from_bytes(&[7u8; 32])
            .expect("7…7 is a valid scalar")
            .public_key();
        assert!(za(&key, &vec![0u8; MAX_USER_ID_LEN]).is_ok());
        assert_eq!(
            za(&key, &vec![0u8; MAX_USER_ID_LEN + 1]),
            Err(Error::Sm2UserIdTooLong {
                len: MAX_USER_ID_LEN + 1,
                max: MAX_USER_ID_LEN
            })
        );
        assert!(za(&key, b"").is_ok());
    }
}
