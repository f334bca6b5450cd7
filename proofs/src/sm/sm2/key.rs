//! SM2 public and secret keys on sm2p256v1.

use core::fmt;

use ::sm2::elliptic_curve::PrimeField;
use ::sm2::elliptic_curve::rand_core::CryptoRngCore;
use ::sm2::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use ::sm2::elliptic_curve::zeroize::{Zeroize, Zeroizing};
use ::sm2::{AffinePoint, EncodedPoint, FieldBytes, NonZeroScalar, Scalar, SecretKey};

use super::P;
use crate::Error;

/// An SM2 public key: a point of sm2p256v1 other than the identity.
///
/// Parsing checks that both coordinates are below p and that the point is on the curve
/// (GB/T 32918.1 clause 6.2.1's public key validation; sm2p256v1 has cofactor 1, so every
/// such point has order n). The encodings are the uncompressed x ‖ y that FISCO BCOS uses as
/// node ids and appends to transaction signatures, with or without SEC 1's `0x04` prefix.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sm2PublicKey {
    point: AffinePoint,
    bytes: [u8; 64],
}

impl Sm2PublicKey {
    /// Parses 64 bytes x ‖ y or 65 bytes `0x04` ‖ x ‖ y (big-endian coordinates).
    ///
    /// Fails with [`Error::Sm2InvalidPublicKey`] for any other length or prefix (compressed
    /// points are not accepted), a coordinate not below p, or a point off the curve. The
    /// identity has no such encoding, so it can never be a key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let xy: &[u8] = match bytes {
            [0x04, xy @ ..] if xy.len() == 64 => xy,
            _ if bytes.len() == 64 => bytes,
            _ if bytes.len() == 65 => {
                return Err(invalid_key(
                    "a 65-byte key must start with 0x04 (uncompressed)",
                ));
            }
            _ => {
                return Err(invalid_key(
                    "a key is 64 bytes x ‖ y or 65 bytes 0x04 ‖ x ‖ y",
                ));
            }
        };
        let (x, y) = xy.split_at(32);
        // Canonical coordinates: big-endian byte arrays compare like the integers they encode.
        if x >= P.as_slice() {
            return Err(invalid_key("x coordinate is not below the field prime p"));
        }
        if y >= P.as_slice() {
            return Err(invalid_key("y coordinate is not below the field prime p"));
        }
        let encoded = EncodedPoint::from_affine_coordinates(
            FieldBytes::from_slice(x),
            FieldBytes::from_slice(y),
            false,
        );
        let point = Option::<AffinePoint>::from(AffinePoint::from_encoded_point(&encoded))
            .ok_or_else(|| invalid_key("the point is not on the curve sm2p256v1"))?;
        let mut encoding = [0u8; 64];
        encoding.copy_from_slice(xy); // 64 bytes by the match above
        Ok(Sm2PublicKey {
            point,
            bytes: encoding,
        })
    }

    /// The 64-byte encoding x ‖ y (FISCO BCOS's node id and signature suffix).
    pub fn to_bytes(&self) -> [u8; 64] {
        self.bytes
    }

    /// The 65-byte SEC 1 uncompressed encoding `0x04` ‖ x ‖ y.
    pub fn to_sec1_bytes(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        out[0] = 0x04;
        out[1..].copy_from_slice(&self.bytes);
        out
    }

    /// The curve point, for the signature arithmetic.
    pub(super) fn point(&self) -> &AffinePoint {
        &self.point
    }

    fn from_point(point: AffinePoint) -> Self {
        let encoded = point.to_encoded_point(false);
        let mut bytes = [0u8; 64];
        // A public key derived from a non-zero scalar is never the identity, so the
        // uncompressed encoding is exactly 0x04 ‖ x ‖ y.
        bytes.copy_from_slice(&encoded.as_bytes()[1..]);
        Sm2PublicKey { point, bytes }
    }
}

impl fmt::Debug for Sm2PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sm2PublicKey(0x{})", hex::encode(self.bytes))
    }
}

fn invalid_key(reason: &'static str) -> Error {
    Error::Sm2InvalidPublicKey { reason }
}

/// An SM2 secret key d in 1..n-2.
///
/// GB/T 32918.1 clause 6.1 allows d up to n-2 because signing divides by 1 + d. The scalar
/// lives in the `sm2` crate's `SecretKey`, which zeroizes it on drop; `Debug` shows only the
/// public key, and there is no `Clone`: copies of a secret are made on purpose
/// ([`Sm2SecretKey::secret_bytes`]), never by accident.
pub struct Sm2SecretKey {
    secret: SecretKey,
    public: Sm2PublicKey,
}

impl Sm2SecretKey {
    /// The key whose scalar is the big-endian `bytes`; fails with [`Error::Sm2InvalidSecretKey`]
    /// unless it is in 1..n-2.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, Error> {
        let secret = SecretKey::from_bytes(FieldBytes::from_slice(bytes))
            .map_err(|_| Error::Sm2InvalidSecretKey)?;
        Self::from_secret(secret).ok_or(Error::Sm2InvalidSecretKey)
    }

    /// A fresh uniformly random key from a cryptographic RNG (e.g. `rand_core::OsRng`).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        loop {
            // Rejects only d = n-1, with probability 2^-256.
            if let Some(key) = Self::from_secret(SecretKey::random(rng)) {
                return key;
            }
        }
    }

    /// The key's public point P = dG.
    pub fn public_key(&self) -> Sm2PublicKey {
        self.public
    }

    /// The secret scalar, big-endian, in a buffer wiped when dropped: for writing key files.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes().into())
    }

    /// The secret scalar d (callers zeroize their copy).
    pub(super) fn scalar(&self) -> NonZeroScalar {
        self.secret.to_nonzero_scalar()
    }

    /// `None` for d = n-1, the one non-zero scalar GB/T 32918 excludes.
    fn from_secret(secret: SecretKey) -> Option<Self> {
        let mut d = secret.to_nonzero_scalar();
        let excluded = bool::from((Scalar::ONE + *d).is_zero());
        d.zeroize();
        if excluded {
            return None;
        }
        let public = Sm2PublicKey::from_point(*secret.public_key().as_affine());
        Some(Sm2SecretKey { secret, public })
    }
}

impl fmt::Debug for Sm2SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sm2SecretKey")
            .field("public_key", &self.public)
            .finish_non_exhaustive()
    }
}

/// Parses a scalar in 1..n-1 from 32 big-endian bytes.
pub(super) fn nonzero_scalar(bytes: &[u8; 32]) -> Option<NonZeroScalar> {
    let scalar = Option::<Scalar>::from(Scalar::from_repr(*FieldBytes::from_slice(bytes)))?;
    Option::from(NonZeroScalar::new(scalar))
}
