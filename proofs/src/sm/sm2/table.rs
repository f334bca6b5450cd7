//! [`Sm2KeyVerifier`]: SM2 verification (GB/T 32918.2 clause 7.1, steps B1–B7) for a public key
//! that verifies many signatures, such as a FISCO BCOS sealer's: its identity hash Z_A is
//! computed once, and both scalar multiplications of B6 (s·G and t·P_A) read precomputed
//! fixed-base tables instead of doubling, about five times faster than the `sm2` crate's generic
//! `s·G + t·P` on this machine (BENCHMARKS.md, issue 14).
//!
//! Why our own code here (STYLE: say why where you write your own): the `sm2` crate offers no
//! precomputation for a fixed point. This module uses only the crate's curve arithmetic
//! (complete projective addition formulas, so no case — identity, equal points — needs
//! handling) and touches no secret: verification reads public values only, so it need not be
//! constant-time. Every result is checked against the crate's verifier in the tests.

use std::sync::LazyLock;

use ::sm2::elliptic_curve::group::Group;
use ::sm2::elliptic_curve::ops::Reduce;
use ::sm2::elliptic_curve::point::AffineCoordinates;
use ::sm2::{FieldBytes, ProjectivePoint, Scalar};

use super::{Sm2PublicKey, Sm2Signature, za};
use crate::{Error, Hash32, HashAlgorithm};

/// Bits of the scalar each table row covers.
const WINDOW: usize = 8;
/// Rows: 256 bits in windows of 8.
const ROWS: usize = 256 / WINDOW;
/// Non-zero multiples per row: 1..=255.
const PER_ROW: usize = (1 << WINDOW) - 1;

/// j · 2^(8i) · P for every row i and j in 1..=255: a scalar multiple is one addition per
/// non-zero byte of the scalar (at most 32), no doubling.
struct FixedBaseTable {
    rows: Vec<Vec<ProjectivePoint>>,
}

impl FixedBaseTable {
    fn new(point: ProjectivePoint) -> Self {
        let mut rows = Vec::with_capacity(ROWS);
        let mut base = point;
        for _ in 0..ROWS {
            let mut row = Vec::with_capacity(PER_ROW);
            let mut multiple = base;
            row.push(multiple);
            for _ in 1..PER_ROW {
                multiple += base;
                row.push(multiple);
            }
            rows.push(row);
            for _ in 0..WINDOW {
                base = base.double();
            }
        }
        FixedBaseTable { rows }
    }

    /// k · P, for k given big-endian (the row of byte i from the right is 2^(8i)).
    fn mul(&self, k: &FieldBytes) -> ProjectivePoint {
        let mut sum = ProjectivePoint::IDENTITY;
        for (row, byte) in self.rows.iter().zip(k.iter().rev()) {
            if *byte != 0 {
                sum += row[usize::from(*byte) - 1];
            }
        }
        sum
    }
}

/// The generator's table, built on first use and shared.
static GENERATOR: LazyLock<FixedBaseTable> =
    LazyLock::new(|| FixedBaseTable::new(ProjectivePoint::generator()));

/// A public key prepared to verify many signatures under one identity (see the module's docs).
pub struct Sm2KeyVerifier {
    za: Hash32,
    table: FixedBaseTable,
}

impl std::fmt::Debug for Sm2KeyVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sm2KeyVerifier")
            .field("za", &self.za)
            .finish_non_exhaustive()
    }
}

impl Sm2KeyVerifier {
    /// Prepares `public_key` under identity `user_id` (usually [`super::DEFAULT_USER_ID`]):
    /// Z_A and the key's table (255 × 32 points, about the work of twenty verifications).
    ///
    /// Fails with [`Error::Sm2UserIdTooLong`].
    pub fn new(public_key: &Sm2PublicKey, user_id: &[u8]) -> Result<Self, Error> {
        Ok(Sm2KeyVerifier {
            za: za(public_key, user_id)?,
            table: FixedBaseTable::new(ProjectivePoint::from(*public_key.point())),
        })
    }

    /// Verifies `signature` over message `msg`: e = SM3(Z_A ‖ M), then B1–B7. The same
    /// verdict as [`super::verify`] with this key and identity.
    ///
    /// Fails with [`Error::Sm2VerificationFailed`].
    pub fn verify(&self, msg: &[u8], signature: &Sm2Signature) -> Result<(), Error> {
        let mut input = Vec::with_capacity(32 + msg.len());
        input.extend_from_slice(&self.za.0);
        input.extend_from_slice(msg);
        let e = HashAlgorithm::Sm3.digest(&input);
        self.verify_digest(&e, signature)
    }

    /// Verifies `signature` over the digest e = SM3(Z_A ‖ M) (steps B1–B7).
    ///
    /// Fails with [`Error::Sm2VerificationFailed`].
    pub fn verify_digest(&self, e: &Hash32, signature: &Sm2Signature) -> Result<(), Error> {
        // B1, B2: r and s in 1..n-1 (an `Sm2Signature` holds no other).
        let r =
            <Scalar as Reduce<::sm2::U256>>::reduce_bytes(FieldBytes::from_slice(signature.r()));
        let s =
            <Scalar as Reduce<::sm2::U256>>::reduce_bytes(FieldBytes::from_slice(signature.s()));
        // B5: t = r + s mod n, not zero.
        let t = r + s;
        if bool::from(t.is_zero()) {
            return Err(Error::Sm2VerificationFailed);
        }
        // B6: (x1, y1) = s·G + t·P_A, not the identity.
        let point = GENERATOR.mul(&s.to_bytes()) + self.table.mul(&t.to_bytes());
        if bool::from(point.is_identity()) {
            return Err(Error::Sm2VerificationFailed);
        }
        let x1 = point.to_affine().x();
        // B7: R = e + x1 mod n must be r.
        let e = <Scalar as Reduce<::sm2::U256>>::reduce_bytes(FieldBytes::from_slice(&e.0));
        let big_r = e + <Scalar as Reduce<::sm2::U256>>::reduce_bytes(&x1);
        if big_r == r {
            Ok(())
        } else {
            Err(Error::Sm2VerificationFailed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm::sm2::{DEFAULT_USER_ID, Sm2SecretKey, sign, verify};

    #[test]
    fn the_table_verifier_agrees_with_the_crate_on_good_and_bad_signatures() {
        let mut rng = rand_core::OsRng;
        for round in 0..8u8 {
            let secret = Sm2SecretKey::generate(&mut rng);
            let public = secret.public_key();
            let fast = Sm2KeyVerifier::new(&public, DEFAULT_USER_ID).expect("prepared");
            let other = Sm2SecretKey::generate(&mut rng).public_key();
            let other_fast = Sm2KeyVerifier::new(&other, DEFAULT_USER_ID).expect("prepared");
            for i in 0..8u8 {
                let msg = [round, i, 0xab];
                let sig = sign(&secret, DEFAULT_USER_ID, &msg, &mut rng).expect("signs");
                assert!(verify(&public, DEFAULT_USER_ID, &msg, &sig).is_ok());
                assert!(fast.verify(&msg, &sig).is_ok());
                // Another message, another key, a changed r or s: refused by both.
                let wrong = [round, i, 0xac];
                assert!(verify(&public, DEFAULT_USER_ID, &wrong, &sig).is_err());
                assert!(fast.verify(&wrong, &sig).is_err());
                assert!(other_fast.verify(&msg, &sig).is_err());
                let mut r = *sig.r();
                r[31] ^= 1;
                if let Ok(bent) = Sm2Signature::from_scalars(&r, sig.s()) {
                    assert!(verify(&public, DEFAULT_USER_ID, &msg, &bent).is_err());
                    assert!(fast.verify(&msg, &bent).is_err());
                }
                let mut s = *sig.s();
                s[0] ^= 0x40;
                if let Ok(bent) = Sm2Signature::from_scalars(sig.r(), &s) {
                    assert!(verify(&public, DEFAULT_USER_ID, &msg, &bent).is_err());
                    assert!(fast.verify(&msg, &bent).is_err());
                }
            }
        }
    }

    #[test]
    fn table_multiples_are_the_crates_scalar_multiples() {
        let mut rng = rand_core::OsRng;
        let secret = Sm2SecretKey::generate(&mut rng);
        let point = ProjectivePoint::from(*secret.public_key().point());
        let table = FixedBaseTable::new(point);
        for k in [
            Scalar::ONE,
            Scalar::from(255u64),
            Scalar::from(256u64),
            -Scalar::ONE,
            Scalar::from(0x0100_00ff_ff00_0001u64),
        ] {
            assert_eq!(table.mul(&k.to_bytes()), point * k);
        }
        assert!(bool::from(
            table.mul(&Scalar::ZERO.to_bytes()).is_identity()
        ));
    }
}
